#!/usr/bin/env bash
# README command 2: installs what is missing, builds, runs every test, then
# the sanitizer pass (scripts/test-sanitize.sh: a second build with
# AddressSanitizer and UBSan, the unit, element and most integration
# tests), and ends with "N passed, N failed, N skipped" over both passes
# (test cases: each Check test counts). Arguments go to `meson test` in both
# passes (e.g. --suite libs); DASHCAM_SANITIZE=0 skips the sanitizer pass.
set -euo pipefail
. "$(dirname "$0")/common.sh"

dashcam_install_deps
dashcam_build

rc=0
meson test -C "$DASHCAM_BUILD" --print-errorlogs --no-rebuild "$@" || rc=$?
logs=("$DASHCAM_BUILD/meson-logs/testlog.json")

if [ "${DASHCAM_SANITIZE:-1}" != 0 ]; then
  san=${DASHCAM_SANITIZE_BUILD:-$DASHCAM_TOP/build-sanitize}
  rm -f "$san/meson-logs/testlog.json" "$san/meson-logs/sanitizer.json"
  DASHCAM_SANITIZE_BUILD=$san bash "$DASHCAM_TOP/scripts/test-sanitize.sh" "$@" || rc=$?
  if [ ! -f "$san/meson-logs/sanitizer.json" ]; then
    # it did not get as far as its report check (e.g. the build failed)
    mkdir -p "$san/meson-logs"
    echo '{"name": "sanitizer-pass", "result": "FAIL"}' >"$san/meson-logs/sanitizer.json"
  fi
  logs+=("$san/meson-logs/testlog.json" "$san/meson-logs/sanitizer.json")
fi

# Fuzzing (the full run only): each libFuzzer harness ~30 s on its corpus
# (scripts/fuzz.sh); one test per harness in the count below.
if [ $# -eq 0 ] && [ "${DASHCAM_FUZZ:-1}" != 0 ]; then
  fuzz_results=${DASHCAM_FUZZ_BUILD:-$DASHCAM_TOP/build-fuzz}/fuzz-results.txt
  rm -f "$fuzz_results"
  bash "$DASHCAM_TOP/scripts/fuzz.sh" 30 || rc=$?
  fuzz_json=${fuzz_results%.txt}.json
  python3 - "$fuzz_results" "$fuzz_json" <<'PY'
import json, os, sys
src, out = sys.argv[1:]
lines = open(src).read().splitlines() if os.path.exists(src) else []
with open(out, "w") as o:
    for line in lines:
        w = line.split()
        if len(w) >= 2 and w[0] in ("PASS", "FAIL"):
            o.write(json.dumps({"name": w[1],
                "result": "OK" if w[0] == "PASS" else "FAIL"}) + "\n")
    if not lines:   # fuzz.sh stopped before running any
        o.write(json.dumps({"name": "fuzz", "result": "FAIL"}) + "\n")
PY
  logs+=("$fuzz_json")
fi

python3 "$DASHCAM_TOP/scripts/test-summary.py" "${logs[@]}"
exit $rc
