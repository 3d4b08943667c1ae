#!/usr/bin/env bash
# Installs s3rver (the S3 server of the object-store tests) from npm into
# DIR (default build/s3rver): DIR/node_modules/.bin/s3rver. Idempotent and
# quick when present; after this, the tests need no network (s3rver fetches
# nothing at run time). Needs node and npm (Node 20 on the CI image); says
# so and returns 0 without them: the tests that need s3rver then skip.
set -euo pipefail
dir=${1:-$(cd "$(dirname "$0")/.." && pwd)/build/s3rver}
if [ -x "$dir/node_modules/.bin/s3rver" ]; then
  exit 0
fi
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  echo "install-s3rver: no node/npm, the S3 tests will skip" >&2
  exit 0
fi
mkdir -p "$dir"
echo "install-s3rver: npm install s3rver@3.7 into $dir" >&2
npm install --prefix "$dir" --no-audit --no-fund --no-save --prefer-offline \
  --loglevel=error s3rver@3.7 >&2
