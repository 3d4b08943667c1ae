#!/usr/bin/env bash
# srtuploadsink across restarts, and uploads that are cut off:
#  A. the pipeline ends (EOS) while backlog is pending: the next run uploads
#     what is left, and nothing that was confirmed;
#  B. the pipeline is SIGKILLed while the server is away: the next run
#     recovers the partial segment and uploads everything;
#  C. the receiver dies in the middle of a backlog upload: that segment
#     stays pending and is sent again, whole.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_cmds gst-launch-1.0 ffmpeg ffprobe python3 stdbuf "$INGEST"

work=$(mktemp -d)
PIPE_PID=
cleanup() {
  [ -n "${ING_PID:-}" ] && kill -9 "$ING_PID" 2>/dev/null || true
  [ -n "$PIPE_PID" ] && kill -9 "$PIPE_PID" 2>/dev/null || true
  pkill -9 -f "looprecsink location=$work" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# segments the catalog says the server has (live or backlog)
confirmed_segments() {
  python3 - "$1/.dashcam/journal" <<'PY'
import sys, urllib.parse
up = set()
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) > 2 and f[1] in ("uploaded", "seg"):
        kv = dict(x.split("=", 1) for x in f[2:] if "=" in x)
        if f[1] == "uploaded" or kv.get("uploaded") == "1":
            up.add(urllib.parse.unquote(kv["name"]))
for n in sorted(up):
    print(n)
PY
}

wait_pipeline() {
  wait "$PIPE_PID" || fail "pipeline failed: $(grep -m3 ERROR "$1")"
  PIPE_PID=
  grep -q ERROR "$1" && fail "$(grep -m3 ERROR "$1")"
  return 0
}

check_coverage() {
  ts_coverage "$1" "$2" >"$3" || fail "not everything is on the server: $(grep -v -E ' (live|backlog)$' "$3" | tr '\n' ' ')"
}

# ---------------------------------------------------------------------------
echo "== A: EOS while backlog is pending, then a second run"
rec=$work/recA
srv=$work/srvA
start_ingest "$srv" 0
port=$ING_PORT
run_dashcam "$work/A1.log" "$rec" "srt://127.0.0.1:$port" 360 &
PIPE_PID=$!
wait_for_line "$work/A1.log" looprecsink-segment-opened 20 || fail "no segment opened"
sleep 5
kill -9 "$ING_PID"
wait_pipeline "$work/A1.log"
confirmed_segments "$rec" >"$work/A1.confirmed"
n_rec=$(ls "$rec"/*.ts | wc -l)
n_conf=$(wc -l <"$work/A1.confirmed")
[ "$n_conf" -gt 0 ] && [ "$n_conf" -lt "$n_rec" ] || fail "run 1 confirmed $n_conf of $n_rec segments"
pass "run 1: $n_conf of $n_rec segments confirmed live, the rest pending"

start_ingest "$srv" "$port"
run_dashcam "$work/A2.log" "$rec" "srt://127.0.0.1:$port" 180 &
PIPE_PID=$!
wait_pipeline "$work/A2.log"
sleep 0.5
kill "$ING_PID"; wait "$ING_PID" 2>/dev/null || true
check_coverage "$rec" "$srv" "$work/A.coverage"
while read -r name; do
  [ -e "$srv/car42/${name%.ts}.ts" ] && fail "$name was confirmed in run 1 and uploaded again"
done <"$work/A1.confirmed"
up=$(grep -c 'state=(string)done' "$work/A2.log" || true)
[ "$up" -eq $(( n_rec - n_conf )) ] || fail "run 2 uploaded $up segments, $(( n_rec - n_conf )) were pending"
pass "run 2 uploaded the $up pending segments, none twice; every segment is on the server"

# ---------------------------------------------------------------------------
echo "== B: SIGKILL while the server is away, then a second run"
rec=$work/recB
srv=$work/srvB
port=$(free_udp_port)
run_dashcam "$work/B1.log" "$rec" "srt://127.0.0.1:$port" 900 &
PIPE_PID=$!
wait_for_line "$work/B1.log" looprecsink-segment-opened 20 || fail "no segment opened"
sleep 7
pkill -9 -f "looprecsink location=$rec" || true
wait "$PIPE_PID" 2>/dev/null || true
PIPE_PID=
ls "$rec"/*.part >/dev/null 2>&1 || fail "no partial segment left by the kill"

start_ingest "$srv" "$port"
run_dashcam "$work/B2.log" "$rec" "srt://127.0.0.1:$port" 240 &
PIPE_PID=$!
wait_pipeline "$work/B2.log"
sleep 0.5
kill "$ING_PID"; wait "$ING_PID" 2>/dev/null || true
grep -q looprecsink-segment-recovered "$work/B2.log" || fail "the partial segment was not recovered"
check_coverage "$rec" "$srv" "$work/B.coverage"
pass "after the kill: $(grep -c ' backlog$' "$work/B.coverage") segments uploaded (the recovered one included), $(grep -c ' live$' "$work/B.coverage") live"

# ---------------------------------------------------------------------------
echo "== C: the receiver dies in the middle of a backlog upload"
rec=$work/recC
srv=$work/srvC
port=$(free_udp_port)
UPLOAD_PROPS="backlog-max-bitrate=300000" \
  run_dashcam "$work/C.log" "$rec" "srt://127.0.0.1:$port" 900 &
PIPE_PID=$!
wait_for_line "$work/C.log" looprecsink-segment-opened 20 || fail "no segment opened"
sleep 9
start_ingest "$srv" "$port"
wait_for_line "$work/C.log" 'srtuploadsink-backlog.*state=(string)started' 20 || fail "no backlog upload started"
first=$(grep -m1 'state=(string)started' "$work/C.log" | grep -o 'segment=(string)[^,]*' | cut -d')' -f2)
sleep 1
kill -9 "$ING_PID"
sleep 2
start_ingest "$srv" "$port"
wait_pipeline "$work/C.log"
# give the backlog the time the pipeline did not leave it
PIPE_PID=
kill "$ING_PID"; wait "$ING_PID" 2>/dev/null || true

grep -q "segment=(string)$first.*state=(string)failed" "$work/C.log" || fail "the interrupted upload of $first was not reported failed"
partial=$srv/car42/${first%.ts}.ts
[ -f "$partial" ] || fail "the receiver got nothing of $first"
[ "$(stat -c %s "$partial")" -lt "$(stat -c %s "$rec/$first")" ] || fail "the first upload of $first was not cut off"
check_coverage "$rec" "$srv" "$work/C.coverage"
grep -q "^$first backlog$" "$work/C.coverage" || fail "$first is not on the server whole"
pass "$first was cut off at $(stat -c %s "$partial") of $(stat -c %s "$rec/$first") bytes and sent again whole"
