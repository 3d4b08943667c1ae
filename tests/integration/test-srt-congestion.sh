#!/usr/bin/env bash
# Congestion loses nothing: live data that does not reach the receiver in
# time goes through the backlog, and the live session stays up.
#
# usage: test-srt-congestion.sh tbf|sndbuf|relay [dashcam-ingest options]
#
# A ~1.6 Mbit/s live dashcam pipeline (tee to looprecsink, 3 s segments,
# and srtuploadsink, default latency) streams to dashcam-ingest:
#  tbf    in a private network namespace, its loopback capped with tbf at
#         a third of the bitrate from 8 s to 20 s, then free (the sender
#         sees too-late drops and acknowledgements that come too late, the
#         receiver skips what is late);
#  sndbuf the same with a send buffer of 64 kB (uri query sndbuf=65536),
#         capped from 5 s to 11 s: it fills before libsrt's too-late drop
#         (after 1 s) empties it, and a blocking send times out; that is
#         congestion, not a lost link (asserted: the warning "send buffer
#         full" was logged);
#  relay  through tests/integration/udp_relay.py, 80 ms each way, 5 %
#         loss both ways from 8 s to 28 s (a poor mobile link: with a
#         round trip longer than the latency, a lost packet is never
#         resent in time and the receiver skips it).
# After the disturbance the pipeline runs until the backlog is drained
# (at least 10 s), then EOS.
#
# Asserts: every recorded video frame is on the server byte for byte, by
# PTS (live sessions and backlog uploads together); the live link never
# went down; something went through the backlog.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
mode=${1:?usage: test-srt-congestion.sh tbf|sndbuf|relay [ingest options]}
shift
need_cmds gst-launch-1.0 ffprobe python3 stdbuf "$INGEST"
[ "$mode" != relay ] && need_cmds ip tc

work=$(mktemp -d)
ns=
PIPE_PID=
ING_PID=
RELAY_PID=
cleanup() {
  [ -n "$PIPE_PID" ] && kill -9 "$PIPE_PID" 2>/dev/null || true
  [ -n "$ING_PID" ] && kill -9 "$ING_PID" 2>/dev/null || true
  [ -n "$RELAY_PID" ] && kill -9 "$RELAY_PID" 2>/dev/null || true
  [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true
  [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

rec=$work/rec
srv=$work/srv
log=$work/pipe.log
run=()
query=
case "$mode" in
  tbf|sndbuf)
    ns=playout-cg$$
    if ! ip netns add "$ns" 2>/dev/null; then
      ns=
      echo "SKIP: network namespaces are not allowed here"
      exit 77
    fi
    ip -n "$ns" link set lo up
    run=(ip netns exec "$ns")
    from=8
    to=20
    if [ "$mode" = sndbuf ]; then
      from=5
      to=11
      query="?sndbuf=65536"
    fi
    ;;
  relay)
    from=8
    to=28
    ;;
  *) fail "unknown mode $mode" ;;
esac

mkdir -p "$srv"
"${run[@]}" "$INGEST" --port 0 --root "$srv" "$@" >"$srv.log" 2>&1 &
ING_PID=$!
wait_for_line "$srv.log" 'listening on' 10 || fail "dashcam-ingest did not start"
port=$(grep -m1 -o 'listening on .*:[0-9]*' "$srv.log" | grep -o '[0-9]*$')
if [ "$mode" = relay ]; then
  python3 -u "$here/udp_relay.py" --to "$port" --delay-ms 80 --loss 5 \
    --loss-after "$from" --loss-for $((to - from)) >"$work/relay.log" 2>&1 &
  RELAY_PID=$!
  wait_for_line "$work/relay.log" 'relaying on' 10 || fail "the relay did not start"
  port=$(grep -o '[0-9]*$' "$work/relay.log" | head -1)
fi

# srtuploadsink's warnings name each congestion it saw
"${run[@]}" env GST_DEBUG="${GST_DEBUG:-srtuploadsink:2}" stdbuf -oL gst-launch-1.0 -e -m \
  videotestsrc is-live=true pattern=snow ! \
  video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! \
  x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=1500 ! \
  h264parse ! mpegtsmux ! tee name=t \
  t. ! queue ! looprecsink location="$rec" max-size-time=3000000000 \
  t. ! queue ! srtuploadsink uri="srt://127.0.0.1:$port$query" device-id=car42 \
      backlog-location="$rec" reconnect-max-interval=1000000000 \
  >"$log" 2>&1 &
PIPE_PID=$!
wait_for_line "$log" 'srtuploadsink-link.*state=(string)up' 30 || fail "live never came up"
t0=$(now_ms)

if [ "$mode" != relay ]; then
  sleep "$from"
  # a third of what the sender sends (bytes-sent over the first seconds)
  rate=$(($(stat -c %s "$srv"/car42/*.ts | head -1) * 8 / from / 3 / 1000))
  [ "$rate" -gt 50 ] || rate=500
  tc -n "$ns" qdisc add dev lo root tbf rate "${rate}kbit" burst 32kbit latency 400ms ||
    { echo "SKIP: tc tbf is not available"; exit 77; }
  echo "lo capped at $rate kbit/s for $((to - from)) s"
  sleep $((to - from))
  tc -n "$ns" qdisc del dev lo root
else
  sleep "$to"
fi

# segments_in STATE: how many segments had a backlog message of STATE
segments_in() {
  { grep -o "srtuploadsink-backlog, segment=(string)[^,]*, [^;]*state=(string)$1" "$log" || true; } |
    { grep -o 'segment=(string)[^,]*' || true; } | sort -u | wc -l
}

# until the backlog is drained: every queued segment done and nothing
# new queued for 5 s, at least 10 s after the disturbance; 120 s at most
sleep 10
deadline=$(($(now_ms) + 120000))
prev=-1
quiet=0
while [ "$(now_ms)" -lt "$deadline" ]; do
  q=$(segments_in queued)
  d=$(segments_in done)
  if [ "$q" -eq "$prev" ]; then quiet=$((quiet + 1)); else quiet=0; fi
  prev=$q
  [ "$q" -gt 0 ] && [ "$d" -ge "$q" ] && [ "$quiet" -ge 5 ] && break
  sleep 1
done
kill -INT "$PIPE_PID"
wait_exit "$PIPE_PID" 60 || fail "pipeline did not end at EOS"
PIPE_PID=
kill "$ING_PID"; wait "$ING_PID" 2>/dev/null || true
ING_PID=
grep -q ERROR "$log" && fail "$(grep -m3 ERROR "$log")"

downs=$(grep -c 'srtuploadsink-link, state=(string)down' "$log" || true)
[ "$downs" -eq 0 ] || fail "the live link went down $downs times: $(grep -m1 'state=(string)down' "$log")"
late=$(grep -c 'may skip them\|libsrt dropped\|send buffer full\|live queue over' "$log" || true)
n_done=$(segments_in done)
if [ "$mode" = sndbuf ]; then
  full=$(grep -c 'send buffer full' "$log" || true)
  [ "$full" -gt 0 ] || fail "the send buffer never filled ($late congestion warnings): nothing tested"
fi
[ "$n_done" -gt 0 ] || fail "nothing went through the backlog ($late congestion warnings)"
python3 "$here/ts_frames.py" "$rec" "$srv" >"$work/frames" ||
  fail "$(cat "$work/frames"); $n_done uploaded, $late congestion warnings"
pass "$mode ${*:-(default receiver)}: live stayed up, $(cat "$work/frames");" \
  "$n_done segments through the backlog, $late congestion warnings"
