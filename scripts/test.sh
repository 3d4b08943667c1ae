#!/usr/bin/env bash
# README command 2: installs what is missing, builds, runs every test, and
# ends with "N passed, N failed" (test cases: each Check test counts).
set -euo pipefail
. "$(dirname "$0")/common.sh"

dashcam_install_deps
dashcam_build

rc=0
meson test -C "$DASHCAM_BUILD" --print-errorlogs --no-rebuild "$@" || rc=$?

# Fuzzing (the full run only): each libFuzzer harness ~30 s on its corpus;
# one test per harness in the count below.
fuzz_results=
if [ $# -eq 0 ]; then
  fuzz_results=${DASHCAM_FUZZ_BUILD:-$DASHCAM_TOP/build-fuzz}/fuzz-results.txt
  rm -f "$fuzz_results"
  bash "$DASHCAM_TOP/scripts/fuzz.sh" 30 || rc=$?
fi

python3 - "$DASHCAM_BUILD/meson-logs/testlog.json" "$fuzz_results" <<'PY'
import json, os, re, sys
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
if sys.argv[2]:                  # scripts/fuzz.sh: PASS/FAIL per harness
    words = open(sys.argv[2]).read().split() if os.path.exists(sys.argv[2]) else []
    passed += words.count("PASS")
    failed += words.count("FAIL")
    if not words:
        failed += 1              # fuzz.sh stopped before running any
print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
PY
exit $rc
