#!/usr/bin/env bash
# A backlog receiver SIGKILLed after it acknowledged a whole segment but
# before it played the last packet out loses what its libsrt still held:
# the segment must not count as uploaded, and is sent again, whole, once
# the receiver is back.
#
# dashcam-ingest --drop-tail (live and backlog receiver) starts 5 s after
# the recording, so the first segments go through the backlog (backlog
# latency 3 s). When srtuploadsink's debug log says the first upload is
# acknowledged and names the time left to its playout, the receiver is
# SIGKILLed (well before that time), and restarted 3 s later on the same
# port.
#
# Asserts: the killed receiver did not write the segment whole (else the
# kill came too late and proves nothing); no `done` for it before the
# restart; after the restart it is uploaded again and `done`, and the
# server holds a copy md5-identical to the recording.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_cmds gst-launch-1.0 md5sum stdbuf "$INGEST"

work=$(mktemp -d)
PIPE_PID=
cleanup() {
  [ -n "${ING_PID:-}" ] && kill -9 "$ING_PID" 2>/dev/null || true
  [ -n "$PIPE_PID" ] && kill_tree "$PIPE_PID"
  [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

rec=$work/rec
srv=$work/srv
log=$work/pipe.log
port=$(free_udp_port)
# the debug line "NAME acknowledged, played out in N ms" times the kill
GST_DEBUG=srtuploadsink:5 GST_DEBUG_NO_COLOR=1 run_dashcam "$log" "$rec" \
  "srt://127.0.0.1:$port" 750 &
PIPE_PID=$!
wait_for_line "$log" looprecsink-segment-opened 20 || fail "no segment opened"
sleep 5
start_ingest "$srv" "$port" --drop-tail
wait_for_line "$log" ' acknowledged, played out in ' 30 ||
  fail "no backlog upload was acknowledged"
kill -9 "$ING_PID"
wait "$ING_PID" 2>/dev/null || true
t_kill=$EPOCHREALTIME
line=$(grep -m1 ' acknowledged, played out in ' "$log")
first=$(sed 's/.* \([^ ]*\) acknowledged, played out in.*/\1/' <<<"$line")
left=$(sed 's/.* played out in \(-\{0,1\}[0-9]*\) ms.*/\1/' <<<"$line")
[ -f "$rec/$first" ] || fail "cannot tell the segment from: $line"
echo "killed the receiver $left ms before $first's playout (by our clock)"
[ "$left" -gt 300 ] || fail "the upload was acknowledged too late to kill in time ($line)"
sleep 3
t_back=$EPOCHREALTIME
start_ingest "$srv" "$port" --drop-tail

# until the segment is done again (or 60 s)
wait_for_line "$log" "segment=(string)$first,.*state=(string)done" 60 ||
  fail "$first was never uploaded after the receiver came back"
# EOS: SIGINT to gst-launch itself (run_dashcam runs it in a subshell)
gst_pid=$(ps -o pid=,comm= --ppid "$PIPE_PID" | awk '$2 == "gst-launch-1.0" { print $1 }')
[ -n "$gst_pid" ] && kill -INT "$gst_pid"
wait_exit "$PIPE_PID" 60 || fail "pipeline did not end at EOS"
PIPE_PID=
sleep 0.5
kill "$ING_PID"; wait "$ING_PID" 2>/dev/null || true
ING_PID=

# the copy the killed receiver wrote (if any) must be short of the segment
killed_copy=$srv/car42/${first%.ts}.ts
want=$(md5sum <"$rec/$first")
if [ -f "$killed_copy" ] && [ "$(md5sum <"$killed_copy")" = "$want" ]; then
  fail "the killed receiver had written $first whole: the kill came too late to test anything"
fi
# done only after the receiver came back, never for the killed attempt
t_done=$(grep "segment=(string)$first,.*state=(string)done" "$log" | awk 'NR == 1 { print $1 }')
awk -v d="$t_done" -v b="$t_back" 'BEGIN { exit !(d > b) }' ||
  fail "$first was reported done at $t_done, before the receiver came back at $t_back (killed at $t_kill)"
found=
for f in "$srv"/car42/"${first%.ts}".*ts; do
  [ -f "$f" ] && [ "$(md5sum <"$f")" = "$want" ] && found=$f
done
[ -n "$found" ] || fail "no md5-identical copy of $first on the server: $(ls -l "$srv"/car42/)"
pass "$first: receiver killed ${left} ms before its playout, not done then;" \
  "uploaded again after the restart, ${found##*/} md5-identical"
