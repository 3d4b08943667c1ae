#!/usr/bin/env bash
# The sanitizer pass, run by scripts/test.sh after the normal one (alone:
# `bash scripts/test-sanitize.sh [MESON-TEST-ARGS]`). Builds ./build-sanitize
# with -Db_sanitize=address,undefined and runs every test except those in
# the suite "no-sanitize" (tests/meson.build says which and why).
#
# Every AddressSanitizer/LeakSanitizer report, of any process (tests, tools,
# gst-launch-1.0), goes to a file in build-sanitize/sanitizer-logs; UBSan
# stops the process at its first report (halt_on_error=1). After the run,
# each report file and each UBSan report copied from gst-launch-1.0 & co.
# counts as one failed test in build-sanitize/meson-logs/sanitizer.json
# (testlog.json's format), which scripts/test.sh adds to its closing line.
# LeakSanitizer ignores only the GLib/GStreamer allocations listed in
# tests/sanitize/lsan.supp. Writes nothing to the normal build.
set -euo pipefail
. "$(dirname "$0")/common.sh"
DASHCAM_BUILD=${DASHCAM_SANITIZE_BUILD:-$DASHCAM_TOP/build-sanitize}

dashcam_build -Db_sanitize=address,undefined -Db_lundef=false

logs=$DASHCAM_BUILD/sanitizer-logs
bin=$DASHCAM_BUILD/sanitizer-bin
rm -rf "$logs" "$bin"
mkdir -p "$logs" "$bin"
# uninstrumented programs that load our plugin get the runtimes preloaded
for p in gst-launch-1.0 gst-inspect-1.0 gst-plugin-scanner; do
  ln -s "$DASHCAM_TOP/tests/sanitize/wrap.sh" "$bin/$p"
done
export DASHCAM_SANITIZER_LOGS=$logs
export DASHCAM_SANITIZER_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
export DASHCAM_SANITIZER_SCANNER
DASHCAM_SANITIZER_SCANNER=$(pkg-config --variable=pluginscannerdir gstreamer-1.0)/gst-plugin-scanner
export GST_PLUGIN_SCANNER_1_0=$bin/gst-plugin-scanner
export PATH=$bin:$PATH
# GLib has no frame pointers: only the slow unwinder sees past g_malloc
# (which the suppressions need); 12 frames keep it affordable
export ASAN_OPTIONS=log_path=$logs/asan:fast_unwind_on_malloc=0:malloc_context_size=12
export LSAN_OPTIONS=suppressions=$DASHCAM_TOP/tests/sanitize/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

rc=0
meson test -C "$DASHCAM_BUILD" --print-errorlogs --no-rebuild \
  --timeout-multiplier 2 --no-suite no-sanitize "$@" || rc=$?

# every report is a failure, also those of processes whose exit status a
# test does not look at
python3 - "$logs" "$DASHCAM_BUILD/meson-logs/sanitizer.json" <<'PY' || rc=1
import glob, json, os, re, sys
logs, out = sys.argv[1:]
bad = []
for f in sorted(glob.glob(os.path.join(logs, "*"))):
    text = open(f, errors="replace").read()
    if os.path.basename(f).startswith("stderr."):
        n = len(re.findall(r"runtime error:|==\d+==ERROR: \w+Sanitizer", text))
        if n == 0:
            os.unlink(f)
            continue
    bad.append(f)
    sys.stdout.write("==== sanitizer report %s\n%s\n" % (f, text))
with open(out, "w") as o:
    for f in bad:
        o.write(json.dumps({"name": "sanitizer/" + os.path.basename(f),
                            "result": "FAIL", "stdout": ""}) + "\n")
print("sanitizer pass: %d report file(s) in %s" % (len(bad), logs))
sys.exit(1 if bad else 0)
PY
exit $rc
