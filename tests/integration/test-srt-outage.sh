#!/usr/bin/env bash
# srtuploadsink through a tunnel: the receiver is SIGKILLed at t=8 s and
# comes back at t=16 s during a 40 s recording with 3 s segments; the wall
# clock jumps back an hour in the middle of the outage. Then: a server that
# only comes up 10 s after the pipeline started.
#
# Asserts: the recorder never stalls (3 s +- 1 frame, every frame kept);
# link down reported within link-timeout + 1 s; live back within 1 s of the
# receiver's return, starting on a keyframe; every segment overlapping the
# outage arrives through the backlog byte-identical; segments streamed
# fully live are not uploaded again; every recorded byte is on the server.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_cmds gst-launch-1.0 ffmpeg ffprobe python3 stdbuf "$INGEST"

work=$(mktemp -d)
PIPE_PID=
cleanup() {
  [ -n "${ING_PID:-}" ] && kill -9 "$ING_PID" 2>/dev/null || true
  [ -n "$PIPE_PID" ] && kill -9 "$PIPE_PID" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# seconds since T0 as a float: at T
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# Segment list from the -closed messages: "name rt_ns duration_ns".
closed_segments() {
  grep 'looprecsink-segment-closed' "$1" |
    sed -E 's/.*location=\(string\)([^,]*), index.*running-time=\(guint64\)([0-9]+), duration=\(guint64\)([0-9]+).*/\1 \2 \3/' |
    while read -r loc rt dur; do echo "$(basename "$loc") $rt $dur"; done
}

check_recorder() {
  local log=$1 rec=$2 frames=$3 n=0 total=0 name rt dur last
  last=$(closed_segments "$log" | tail -1 | cut -d' ' -f1)
  while read -r name rt dur; do
    n=$((n + 1))
    if [ "$name" != "$last" ]; then
      le "$(awk -v d="$dur" 'BEGIN { x = d / 1e9 - 3; print (x < 0 ? -x : x) }')" 0.034 ||
        fail "$name lasts $dur ns: the recorder stalled"
    fi
    total=$((total + $(ts_frames "$rec/$name")))
  done < <(closed_segments "$log")
  [ "$total" -eq "$frames" ] || fail "the recording has $total frames of $frames"
  pass "recorder: $n segments of 3 s, all $frames frames"
}

# Every segment overlapping [from, to] (seconds of running time) came
# through the backlog; every one ending before from - 1 s did not.
check_backlog() {
  local log=$1 cov=$2 from=$3 to=$4 name rt dur s e state
  while read -r name rt dur; do
    s=$(awk -v x="$rt" 'BEGIN { printf "%.3f", x / 1e9 }')
    e=$(awk -v x="$rt" -v d="$dur" 'BEGIN { printf "%.3f", (x + d) / 1e9 }')
    state=$(grep "^$name " "$cov" | cut -d' ' -f2)
    if le "$s" "$to" && le "$from" "$e"; then
      [ "$state" = backlog ] || fail "$name [$s, $e) overlaps the outage [$from, $to] but is $state"
    elif le "$e" "$(awk -v f="$from" 'BEGIN { print f - 1 }')"; then
      [ "$state" = live ] || fail "$name [$s, $e) was streamed live but is $state"
    fi
  done < <(closed_segments "$log")
}

check_live_file() {
  local f=$1
  ts_starts_with_keyframe "$f" || fail "$f does not start with a keyframe"
  ts_decodes "$f" || fail "$f does not decode from its first byte"
}

# ---------------------------------------------------------------------------
echo "== outage: receiver killed at 8 s, back at 16 s, clock jumps back 1 h"
rec=$work/rec
srv=$work/srv
echo 0 >"$work/clock-offset"
export GST_DASHCAM_CLOCK_OFFSET="@$work/clock-offset"
start_ingest "$srv" 0
port=$ING_PORT
run_dashcam "$work/pipe.log" "$rec" "srt://127.0.0.1:$port" 1200 &
PIPE_PID=$!
wait_for_line "$work/pipe.log" looprecsink-segment-opened 20 || fail "no segment opened"
t0=$(log_time "$work/pipe.log" looprecsink-segment-opened)

sleep "$(awk -v t0="$t0" -v now="$EPOCHREALTIME" 'BEGIN { printf "%.3f", t0 + 8 - now }')"
kill -9 "$ING_PID"
t_kill=$EPOCHREALTIME
sleep 4
echo -3600 >"$work/clock-offset"
sleep "$(awk -v t0="$t0" -v now="$EPOCHREALTIME" 'BEGIN { printf "%.3f", t0 + 16 - now }')"
# the receiver's start: the link can come up before start_ingest returns
t_back=$EPOCHREALTIME
start_ingest "$srv" "$port"
wait "$PIPE_PID" || fail "pipeline failed: $(grep -E 'ERROR' "$work/pipe.log" | head -3)"
PIPE_PID=
sleep 0.5
kill "$ING_PID"; wait "$ING_PID" 2>/dev/null || true
unset GST_DASHCAM_CLOCK_OFFSET

grep -q 'ERROR' "$work/pipe.log" && fail "$(grep ERROR "$work/pipe.log" | head -3)"
check_recorder "$work/pipe.log" "$rec" 1200

t_down=$(log_time "$work/pipe.log" 'srtuploadsink-link, state=(string)down')
[ -n "$t_down" ] || fail "the outage was never reported"
d=$(since "$t_down" "$t_kill")
le "$d" 3.0 || fail "link down reported $d s after the kill (link-timeout 2 s + 1 s)"
pass "link down reported after $d s ($(grep -m1 -o 'state=(string)down, reason=(string)[a-z-]*' "$work/pipe.log"))"

t_up=$(awk -v tb="$t_back" '/srtuploadsink-link, state=\(string\)up/ && $1 > tb { print $1; exit }' "$work/pipe.log")
[ -n "$t_up" ] || fail "live never came back"
d=$(since "$t_up" "$t_back")
le "$d" 1.0 || fail "live came back $d s after the receiver"
pass "live back $d s after the receiver returned"

mapfile -t lives < <(ls "$srv"/car42/ | grep -E '^[0-9]{8}-[0-9]{6}(\.[0-9]+)?\.ts$')
[ "${#lives[@]}" -eq 2 ] || fail "expected 2 live sessions, got: ${lives[*]}"
for f in "${lives[@]}"; do check_live_file "$srv/car42/$f"; done
pass "both live sessions start with PAT/PMT and a keyframe"

ts_coverage "$rec" "$srv" >"$work/coverage" || fail "not everything is on the server: $(grep -v -E ' (live|backlog)$' "$work/coverage")"
from=$(since "$t_kill" "$t0")
to=$(since "$t_back" "$t0")
check_backlog "$work/pipe.log" "$work/coverage" "$from" "$to"
pass "every segment is on the server: $(grep -c ' live$' "$work/coverage") live, $(grep -c ' backlog$' "$work/coverage") through the backlog (outage $from-$to s)"

# ---------------------------------------------------------------------------
echo "== server comes up 10 s after the pipeline"
rec=$work/rec2
srv=$work/srv2
port=$(free_udp_port)
run_dashcam "$work/pipe2.log" "$rec" "srt://127.0.0.1:$port" 600 &
PIPE_PID=$!
wait_for_line "$work/pipe2.log" looprecsink-segment-opened 20 || fail "no segment opened"
t0=$(log_time "$work/pipe2.log" looprecsink-segment-opened)
sleep "$(awk -v t0="$t0" -v now="$EPOCHREALTIME" 'BEGIN { printf "%.3f", t0 + 10 - now }')"
# the receiver's start: the link can come up before start_ingest returns
t_back=$EPOCHREALTIME
start_ingest "$srv" "$port"
wait "$PIPE_PID" || fail "pipeline failed"
PIPE_PID=
sleep 0.5
kill "$ING_PID"; wait "$ING_PID" 2>/dev/null || true

check_recorder "$work/pipe2.log" "$rec" 600
grep -q 'reason=(string)unreachable' "$work/pipe2.log" || fail "no unreachable reason while the server was away"
ts_coverage "$rec" "$srv" >"$work/coverage2" || fail "not everything is on the server: $(grep -v -E ' (live|backlog)$' "$work/coverage2")"
check_backlog "$work/pipe2.log" "$work/coverage2" 0 "$(since "$t_back" "$t0")"
for f in "$srv"/car42/[0-9]*-[0-9]*.ts; do check_live_file "$f"; done
pass "the first 10 s arrived through the backlog: $(grep -c ' backlog$' "$work/coverage2") segments"
