#!/usr/bin/env bash
# What a receiver that stops at the first broken read (like SRS) gets.
#
# usage: test-srt-flaps.sh [FLAPS] [PERIOD_S] [DOWN_S]   (default 3 15 5)
#
# dashcam-ingest --drop-tail is the live and the backlog receiver. It is
# SIGKILLed every PERIOD_S seconds (first at 9 s, 60 ms after a segment
# starts, when the end of the one before is acknowledged but not yet
# played out) and started again on the same port DOWN_S seconds later,
# FLAPS times, during a recording in 3 s segments; the recording goes on
# 20 s after the last return, then EOS.
# A SIGKILLed receiver loses what libsrt had acknowledged but not yet
# handed out (its latency window), a --drop-tail one what was still held
# when a connection closes: both must come back through the backlog.
#
# Asserts: every recorded video frame is on the server byte for byte, by
# PTS (ts_frames.py, live sessions and backlog uploads together); every
# segment reported `done` is md5-identical to the recording in the
# receiver's last copy; every outage was reported.
#
# The suite runs 3 flaps; tests/integration/soak-srt-flaps.sh runs 9.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_cmds gst-launch-1.0 ffmpeg ffprobe python3 stdbuf md5sum "$INGEST"

flaps=${1:-3}
period=${2:-15}
down=${3:-5}
work=$(mktemp -d)
PIPE_PID=
ING_PID=
cleanup() {
  [ -n "$ING_PID" ] && kill -9 "$ING_PID" 2>/dev/null || true
  [ -n "$PIPE_PID" ] && kill_tree "$PIPE_PID"
  [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

rec=$work/rec
srv=$work/srv
log=$work/pipe.log
first=9
secs=$((10 + (flaps - 1) * period + down + 20))
frames=$((secs * 30))
port=$(free_udp_port)
start_ingest "$srv" "$port" --drop-tail
run_dashcam "$log" "$rec" "srt://127.0.0.1:$port" "$frames" &
PIPE_PID=$!
wait_for_line "$log" looprecsink-segment-opened 30 || fail "no segment opened"
t0=$(log_time "$log" looprecsink-segment-opened)
echo "recording $secs s, $flaps flaps of $down s every $period s"

at() {
  sleep "$(awk -v t0="$t0" -v t="$1" -v now="$EPOCHREALTIME" \
      'BEGIN { d = t0 + t - now; printf "%.3f", (d > 0 ? d : 0) }')"
}
# the kill comes 60 ms after a segment opened: the receiver has
# acknowledged its first packets, but not yet played out the last frame
# of the segment before
opened() { grep -c looprecsink-segment-opened "$log" || true; }
for k in $(seq 0 $((flaps - 1))); do
  at "$(awk -v f="$first" -v k="$k" -v p="$period" 'BEGIN { print f + k * p - 1.5 }')"
  n=$(opened)
  while [ "$(opened)" -eq "$n" ]; do sleep 0.005; done
  sleep 0.06
  kill -9 "$ING_PID"
  wait "$ING_PID" 2>/dev/null || true
  at "$(awk -v f="$first" -v k="$k" -v p="$period" -v d="$down" 'BEGIN { print f + k * p + d }')"
  start_ingest "$srv" "$port" --drop-tail
done
wait_exit "$PIPE_PID" $((secs + 120)) || fail "pipeline failed or hung: $(grep -m3 -E 'ERROR|WARN' "$log" || true)"
PIPE_PID=
kill "$ING_PID"; wait "$ING_PID" 2>/dev/null || true
ING_PID=
grep -q ERROR "$log" && fail "$(grep -m3 ERROR "$log")"

downs=$(grep -c 'srtuploadsink-link, state=(string)down' "$log" || true)
[ "$downs" -ge "$flaps" ] || fail "$downs outages reported of $flaps"

# every segment reported done is whole in the receiver's last copy
n_done=0
for seg in $(grep 'srtuploadsink-backlog' "$log" | grep 'state=(string)done' |
    grep -o 'segment=(string)[^,]*' | cut -d')' -f2 | sort -u); do
  stem=${seg%.ts}
  last=$(ls "$srv/car42/" | grep -E "^$stem(\.[0-9]+)?\.ts$" |
    sort -t. -k2,2n | tail -1)
  [ -n "$last" ] || fail "$seg reported done, the server has no copy"
  [ "$(md5sum <"$rec/$seg")" = "$(md5sum <"$srv/car42/$last")" ] ||
    fail "$seg reported done, the server's $last differs ($(stat -c %s "$srv/car42/$last") of $(stat -c %s "$rec/$seg") bytes)"
  n_done=$((n_done + 1))
done
[ "$n_done" -ge "$flaps" ] || fail "only $n_done segments uploaded for $flaps outages"
pass "$n_done segments reported done, each md5-identical at the receiver"

python3 "$here/ts_frames.py" "$rec" "$srv" >"$work/frames" ||
  fail "$(cat "$work/frames")"
pass "$flaps flaps against --drop-tail: $(cat "$work/frames")," \
  "$(ls "$srv/car42" | wc -l) files on the server"
