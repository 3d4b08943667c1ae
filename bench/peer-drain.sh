#!/usr/bin/env bash
# peer-drain.sh: what each SRT receiver keeps when the caller hangs up.
# Not in CI; the numbers go to tests/PEERS.md.
#
#   bench/peer-drain.sh [--build-dir DIR] [--hold S]
#
# Pushes one 5 s 2 Mbit/s TS through `filesrc ! srtsink` as fast as libsrt
# takes it, then closes the connection at EOS (hold 0) or HOLD seconds later
# (default 4), into: dashcam-ingest, dashcam-ingest --drop-tail,
# srt-live-transmit, ffmpeg. Prints the bytes each receiver wrote.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(dirname "$HERE")
BUILD_DIR="$SRC_DIR/build"
HOLD=4

while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR=${2:?}; shift 2 ;;
    --hold) HOLD=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "peer-drain: unknown option $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=../tests/integration/lib.sh
. "$SRC_DIR/tests/integration/lib.sh"
INGEST=$BUILD_DIR/tools/dashcam-ingest
[ -x "$INGEST" ] || { echo "peer-drain: build first ($INGEST)" >&2; exit 1; }

WORK=$(mktemp -d)
cleanup() {
  local p
  for p in $BG_PIDS; do kill_tree "$p"; done
  rm -rf "$WORK"
}
trap cleanup EXIT

gst-launch-1.0 -q videotestsrc num-buffers=150 ! \
  video/x-raw,width=640,height=360,framerate=30/1 ! \
  x264enc tune=zerolatency bitrate=2000 key-int-max=30 ! h264parse ! \
  mpegtsmux ! filesink location="$WORK/in.ts"
IN_SIZE=$(stat -c %s "$WORK/in.ts")

# send PORT HOLD: the whole file, EOS, HOLD seconds, then close
send() {
  /usr/bin/python3 - "$WORK/in.ts" "$1" "$2" <<'PY'
import sys, time, gi
gi.require_version('Gst', '1.0')
from gi.repository import Gst
Gst.init(None)
path, port, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
p = Gst.parse_launch(f'filesrc location={path} blocksize=1316 ! srtsink '
                     f'uri=srt://127.0.0.1:{port} wait-for-connection=true '
                     'async=false sync=false')
p.set_state(Gst.State.PLAYING)
p.get_bus().timed_pop_filtered(20 * Gst.SECOND,
                               Gst.MessageType.EOS | Gst.MessageType.ERROR)
time.sleep(hold)
p.set_state(Gst.State.NULL)
PY
}

# measure NAME HOLD: bytes the receiver NAME wrote
measure() {
  local name=$1 hold=$2 port pid out=$WORK/$1-$2
  port=$(free_udp_port)
  mkdir -p "$out"
  case "$name" in
    ingest) "$INGEST" -q -p "$port" -r "$out" >/dev/null 2>&1 & pid=$! ;;
    ingest-drop-tail) "$INGEST" -q -p "$port" -r "$out" --drop-tail >/dev/null 2>&1 & pid=$! ;;
    srt-live-transmit) srt-live-transmit -q "srt://:$port?mode=listener" file://con >"$out/out.ts" 2>/dev/null & pid=$! ;;
    ffmpeg) ffmpeg -v quiet -nostdin -i "srt://127.0.0.1:$port?mode=listener" -c copy -f mpegts "$out/out.ts" 2>/dev/null & pid=$! ;;
  esac
  track "$pid"
  sleep 1
  timeout 40 bash -c "$(declare -f send); WORK=$WORK send $port $hold" >/dev/null 2>&1 || true
  sleep 3
  kill "$pid" 2>/dev/null || true
  wait_exit "$pid" 5 || true
  find "$out" -type f -name "*.ts" -printf "%s\n" | awk "{s+=\$1} END {print s+0}"
}

printf 'input: %d bytes\n' "$IN_SIZE"
printf '%-20s %12s %12s\n' receiver "hold 0" "hold $HOLD"
for r in ${PEERS:-ingest ingest-drop-tail srt-live-transmit ffmpeg}; do
  printf '%-20s %12s %12s\n' "$r" "$(measure "$r" 0)" "$(measure "$r" "$HOLD")"
done
