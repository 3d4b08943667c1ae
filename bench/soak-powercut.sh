#!/usr/bin/env bash
# soak-powercut.sh: many power cuts of a live recording. Not in CI.
#
#   bench/soak-powercut.sh [--kills N] [--out FILE]
#
# Runs tests/integration/test-powercut.sh N times over (default 100): a
# live 320x240 30 fps recording (GOP 15 frames, sync-interval 1 s, 1 s
# segments) SIGKILLed after a random 0.3-3.3 s, then recovered by the next
# start. The test fails at the first complete segment that does not play
# or start with a keyframe, at a .part left after recovery, or when a kill
# loses more than sync-interval + one GOP (+ 400 ms of measuring slack).
# This script adds the numbers: kills, partial segments recovered, segments
# checked, frames lost per kill (median, max) against the bound.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(dirname "$HERE")
BUILD_DIR="$SRC_DIR/build"
KILLS=100
OUT_FILE=

usage() { sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "soak-powercut: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR=${2:?}; shift 2 ;;
    --kills) KILLS=${2:?}; shift 2 ;;
    --out) OUT_FILE=${2:?}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
[[ "$KILLS" =~ ^[1-9][0-9]*$ ]] || die "not a positive integer: $KILLS"
PLUGIN_SO="$BUILD_DIR/plugins/dashcam/libgstdashcam.so"
[ -f "$PLUGIN_SO" ] || die "build first (ninja -C $BUILD_DIR)"

RUN_DIR=$(mktemp -d /tmp/soak-powercut.XXXXXX)
trap 'rm -rf "$RUN_DIR"' EXIT
mkdir -p "$RUN_DIR/plugin"
cp "$PLUGIN_SO" "$RUN_DIR/plugin/"
# a copy of the test, so that edits during the soak do not change it
cp "$SRC_DIR/tests/integration/test-powercut.sh" "$SRC_DIR/tests/integration/lib.sh" "$RUN_DIR/"
export GST_PLUGIN_PATH_1_0="$RUN_DIR/plugin"
export GST_REGISTRY_1_0="$RUN_DIR/registry.bin"
source_id=$(git -C "$SRC_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$SRC_DIR" diff --quiet 2>/dev/null || source_id="$source_id+changes"

log=$RUN_DIR/powercut.log
start=$(date +%s)
rc=0
bash "$RUN_DIR/test-powercut.sh" "$KILLS" >"$log" 2>&1 || rc=$?
took=$(( $(date +%s) - start ))

# "run I: killed after MS ms, kept F of ~E frames": frames lost per kill
awk '/killed after .* kept / {
    for (i = 1; i <= NF; i++) {
      if ($i == "kept") kept = $(i + 1)
      if ($i == "of") { e = $(i + 1); sub(/~/, "", e) }
    }
    print e - kept
  }' "$log" | sort -n >"$RUN_DIR/lost"
n=$(wc -l <"$RUN_DIR/lost")
med=$(awk -v n="$n" 'NR == int((n + 1) / 2)' "$RUN_DIR/lost")
max=$(tail -1 "$RUN_DIR/lost")
between=$(grep -c 'killed between two segments' "$log" || true)
recovered=$(grep -o '([0-9]* partial segments recovered)' "$log" | grep -o '[0-9]*' || echo "?")
# bound of test-powercut.sh: (sync 1000 ms + slack 400 ms) at 30 fps + GOP
bound=$(( (1000 + 400) * 30 / 1000 + 15 ))
{
  echo "## soak-powercut: $KILLS SIGKILLs of a live recording"
  echo
  echo "source $source_id, $(date -u +%FT%TZ), ${took} s, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| measure | value |"
  echo "|---|---|"
  echo "| kills done | $n of $KILLS |"
  echo "| result | $([ "$rc" = 0 ] && echo PASS || echo "FAIL: $(grep -m1 FAIL "$log")") |"
  echo "| partial segments recovered | $recovered |"
  echo "| kills between two segments (no partial file) | ${between:-0} |"
  echo "| unplayable complete segments | $([ "$rc" = 0 ] && echo 0 || echo "see the failure") |"
  echo "| frames lost per kill, median | ${med:-?} (~$(( ${med:-0} * 1000 / 30 )) ms) |"
  echo "| frames lost per kill, max | ${max:-?} (~$(( ${max:-0} * 1000 / 30 )) ms) |"
  echo "| sync-interval + one GOP | 45 frames (1.5 s) |"
  echo "| bound the test enforces (+ 400 ms measuring slack) | $bound frames |"
} | tee "${OUT_FILE:-/dev/null}"
exit "$rc"
