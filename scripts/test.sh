#!/usr/bin/env bash
# README command 2: installs what is missing, builds, runs every test, and
# ends with "N passed, N failed" (test cases: each Check test counts).
set -euo pipefail
. "$(dirname "$0")/common.sh"

dashcam_install_deps
dashcam_build

rc=0
meson test -C "$DASHCAM_BUILD" --print-errorlogs --no-rebuild "$@" || rc=$?

python3 - "$DASHCAM_BUILD/meson-logs/testlog.json" <<'PY'
import json, re, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    res = t.get("result")
    out = t.get("stdout") or ""
    m = re.search(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)", out)
    if res == "SKIP":
        skipped += 1
    elif m:
        n, f, e = map(int, m.groups())
        failed += f + e
        passed += n - f - e
        if res != "OK" and f + e == 0:
            failed += 1          # crashed or timed out outside a check
    elif res == "OK":
        passed += 1
    else:
        failed += 1
print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
PY
exit $rc
