#!/usr/bin/env bash
# The full-length runs of what the suite tests in short (not in CI, about
# 12 minutes): 9 flaps of dashcam-ingest --drop-tail (SIGKILLed for 5 s
# every 15 s, 150 s of recording), then both congestion runs against both
# kinds of receiver (default: keeps reading after a disconnect;
# --drop-tail: stops at the first broken read, like SRS).
#
# usage: tests/integration/soak-srt-flaps.sh [BUILD_DIR]   (default build)
# Network namespaces (the tbf run) need root.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
export GST_PLUGIN_PATH_1_0=$build/plugins/dashcam
export GST_REGISTRY_1_0=$build/soak-registry.bin
export DASHCAM_INGEST=$build/tools/dashcam-ingest
rc=0
run() {
  echo "== $*"
  bash "$here/$@" || rc=1
}
run test-srt-flaps.sh 9 15 5
run test-srt-congestion.sh tbf
run test-srt-congestion.sh tbf --drop-tail
run test-srt-congestion.sh relay
run test-srt-congestion.sh relay --drop-tail
exit $rc
