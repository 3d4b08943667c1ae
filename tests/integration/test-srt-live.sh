#!/usr/bin/env bash
# srtuploadsink live: five 10 s live dashcam pipelines (300 frames at 30 fps,
# a keyframe every 30 frames, tee to looprecsink + srtuploadsink) run at
# once, each to its own SRT listener on 127.0.0.1:
#   - the reference receiver (dashcam-ingest), default streamid
#   - the reference receiver, SRS-style streamid #!::r=live/{device},m=publish
#   - srt-live-transmit, ffmpeg and GStreamer srtsrc listeners
#
# Asserts, for every received file: it starts with PAT and PMT before any
# elementary-stream packet, the first video frame is a keyframe, ffmpeg
# decodes it from its first byte without an error, and it holds at least
# 300 - 30 frames (all but at most the first GOP) and no more than 300.
# Streamids: by default the reference receiver files the session under
# car42/YYYYmmdd-HHMMSS.ts, a UTC time within a few seconds of the
# pipeline's start; with the SRS-style format under live/car42.ts.
# Last, a file played in real time into srtuploadsink while the receiver
# only starts 0.4 s later: the first session is held from the file's first
# keyframe while connecting, and the server gets every frame of it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_cmds gst-launch-1.0 ffmpeg ffprobe python3 stdbuf ss srt-live-transmit "$INGEST"

FRAMES=300
GOP=30
MIN_FRAMES=$((FRAMES - GOP))

work=$(mktemp -d)

cleanup() {
  local p
  for p in $BG_PIDS; do kill_tree "$p"; done
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# wait_udp_port PORT TIMEOUT_S: until something listens on UDP PORT.
wait_udp_port() {
  local deadline=$(( $(now_ms) + $2 * 1000 ))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    [ -n "$(ss -Huln "sport = :$1")" ] && return 0
    sleep 0.02
  done
  return 1
}

# ts_head FILE: whole 188-byte packets in sync, and PAT then PMT come before
# the first packet of any elementary stream (decodable from the first byte).
ts_head() {
  python3 - "$1" <<'EOF'
import sys
d = open(sys.argv[1], 'rb').read()
if len(d) < 188 or len(d) % 188:
    sys.exit("size %d is not a positive multiple of 188" % len(d))
pmt_pids = set()
for off in range(0, len(d), 188):
    p = d[off:off + 188]
    if p[0] != 0x47:
        sys.exit("no sync byte at offset %d" % off)
    pid = ((p[1] & 0x1f) << 8) | p[2]
    pusi = p[1] & 0x40
    start = 4 + (1 + p[4] if p[3] & 0x20 else 0)
    if pid == 0 and pusi and not pmt_pids:
        s = p[start + 1 + p[start]:]
        n = ((s[1] & 0x0f) << 8) | s[2]
        for i in range(8, 3 + n - 4, 4):
            if (s[i] << 8) | s[i + 1]:
                pmt_pids.add(((s[i + 2] & 0x1f) << 8) | s[i + 3])
    elif pid in pmt_pids and pusi:
        sys.exit(0)
    elif pid >= 0x20 and pid != 0x1fff and pid not in pmt_pids:
        sys.exit("PID 0x%x at offset %d comes before PAT and PMT" % (pid, off))
sys.exit("no PAT and PMT")
EOF
}

# check_received NAME FILE: the acceptance checks for one received file.
check_received() {
  local name=$1 f=$2 n why
  [ -s "$f" ] || fail "$name: nothing received ($f is missing or empty)"
  why=$(ts_head "$f" 2>&1) || fail "$name: does not start with PAT and PMT: $why"
  ts_starts_with_keyframe "$f" || fail "$name: the first video frame is not a keyframe"
  ts_decodes "$f" || fail "$name: does not decode from its first byte: $(ffmpeg -nostdin -v error -xerror -i "$f" -map 0:v -f null - 2>&1 | head -3)"
  n=$(ts_frames "$f")
  [ "$n" -ge "$MIN_FRAMES" ] || fail "$name: $n frames received of $FRAMES sent (at least $MIN_FRAMES expected)"
  [ "$n" -le "$FRAMES" ] || fail "$name: $n frames received, more than the $FRAMES sent"
  pass "$name: $n of $FRAMES frames, $(stat -c %s "$f") bytes, PAT/PMT then a keyframe, decodes from the first byte"
}

# check_pipeline NAME LOG: the sender ran cleanly and went up.
check_pipeline() {
  grep -q 'ERROR' "$2" && fail "$1: the pipeline posted an error: $(grep ERROR "$2" | head -3)"
  local ups
  ups=$(grep -c 'srtuploadsink-link, state=(string)up' "$2" || true)
  [ "$ups" -eq 1 ] || fail "$1: the link went up $ups times: $(grep -o 'srtuploadsink-link.*' "$2" | head -5)"
  if grep -q 'srtuploadsink-link, state=(string)down' "$2"; then
    fail "$1: the link went down: $(grep -o 'srtuploadsink-link, state=(string)down.*' "$2" | head -1)"
  fi
  return 0
}

# ---------------------------------------------------------------------------
echo "== listeners on 127.0.0.1"
srv=$work/srv
start_ingest "$srv" 0
track "$ING_PID"
ing_port=$ING_PORT

slt_port=$(free_udp_port)
# -a:no: exit after the one caller, so that its end is observable
srt-live-transmit -q -a:no "srt://127.0.0.1:$slt_port?mode=listener" file://con \
  >"$work/slt.ts" 2>"$work/slt.err" &
SLT_PID=$!; track $SLT_PID

ff_port=$(free_udp_port)
ffmpeg -nostdin -v error -i "srt://127.0.0.1:$ff_port?mode=listener" -c copy \
  -f mpegts "$work/ffmpeg.ts" >"$work/ffmpeg.err" 2>&1 &
FF_PID=$!; track $FF_PID

gst_port=$(free_udp_port)
gst-launch-1.0 srtsrc uri="srt://127.0.0.1:$gst_port?mode=listener" ! \
  filesink location="$work/srtsrc.ts" >"$work/srtsrc.err" 2>&1 &
GST_PID=$!; track $GST_PID

wait_udp_port "$slt_port" 10 || fail "srt-live-transmit does not listen: $(cat "$work/slt.err")"
wait_udp_port "$ff_port" 10 || fail "ffmpeg does not listen: $(cat "$work/ffmpeg.err")"
wait_udp_port "$gst_port" 10 || fail "srtsrc does not listen: $(cat "$work/srtsrc.err")"
pass "dashcam-ingest on $ing_port, srt-live-transmit on $slt_port, ffmpeg on $ff_port, srtsrc on $gst_port"

# ---------------------------------------------------------------------------
echo "== five 10 s live pipelines at once"
t_start=$(date -u +%s)
echo "   started at $(date -u -d "@$t_start" +%Y%m%d-%H%M%S) UTC"
run_dashcam "$work/ref.log" "$work/rec-ref" "srt://127.0.0.1:$ing_port" "$FRAMES" &
REF_PID=$!; track $REF_PID
UPLOAD_PROPS='streamid-format=#!::r=live/{device},m=publish' \
  run_dashcam "$work/srs.log" "$work/rec-srs" "srt://127.0.0.1:$ing_port" "$FRAMES" &
SRS_PID=$!; track $SRS_PID
run_dashcam "$work/slt.log" "$work/rec-slt" "srt://127.0.0.1:$slt_port" "$FRAMES" &
P_SLT=$!; track $P_SLT
run_dashcam "$work/ff.log" "$work/rec-ff" "srt://127.0.0.1:$ff_port" "$FRAMES" &
P_FF=$!; track $P_FF
run_dashcam "$work/gst.log" "$work/rec-gst" "srt://127.0.0.1:$gst_port" "$FRAMES" &
P_GST=$!; track $P_GST

t0=$(now_ms)
for p in "ref:$REF_PID" "srs:$SRS_PID" "srt-live-transmit:$P_SLT" "ffmpeg:$P_FF" "srtsrc:$P_GST"; do
  rc=0
  wait_exit "${p#*:}" 40 || rc=$?
  [ "$rc" -eq 0 ] || fail "pipeline to ${p%%:*} failed or hung (exit status $rc)"
done
pass "all pipelines ended after $(( ($(now_ms) - t0) / 1000 )) s"

# Every third-party listener ends (or is done with its caller) once the
# sender closes its connection.
for p in "srt-live-transmit:$SLT_PID" "ffmpeg:$FF_PID" "srtsrc:$GST_PID"; do
  rc=0
  wait_exit "${p#*:}" 15 || rc=$?
  [ "$rc" -ne 124 ] || fail "${p%%:*} still runs 15 s after the caller left"
  echo "   ${p%%:*} exited with status $rc"
done
{ wait_for_line "$srv.log" 'close id=1 ' 15 && wait_for_line "$srv.log" 'close id=2 ' 15; } || fail "dashcam-ingest did not see both callers leave: $(cat "$srv.log")"
kill "$ING_PID" 2>/dev/null || true
wait_exit "$ING_PID" 10 || true

for p in ref srs slt ff gst; do check_pipeline "$p" "$work/$p.log"; done
pass "every sender went up once and never down, no errors"

# ---------------------------------------------------------------------------
echo "== reference receiver: default streamid publish:{device}/{start}"
# The session is held from the first keyframe while the first connection
# is set up, so the receiver has the stream from its start; only when that
# took longer than live-buffer-time did the first segment go through the
# backlog (publish:car42/<segment>), and then it must be the recorded file.
mapfile -t names < <(ls "$srv/car42" 2>/dev/null | grep -E '^[0-9]{8}-[0-9]{6}\.ts$')
[ "${#names[@]}" -eq 1 ] || fail "expected one live file in car42/, got: $(ls "$srv/car42" 2>/dev/null | tr '\n' ' ')"
for f in "$srv"/car42/*.ts; do
  b=$(basename "$f")
  [ "$b" = "${names[0]}" ] && continue
  rec=""
  for r in "$work/rec-ref/$b" "$work/rec-srs/$b"; do
    # whole, or cut short by the end of the pipeline (sent again next run)
    [ -f "$r" ] && cmp -s -n "$(stat -c %s "$f")" "$r" "$f" && rec=$r
  done
  [ -n "$rec" ] || fail "car42/$b is neither the live session nor (the start of) a recorded segment, byte for byte"
  echo "   note: car42/$b came through the backlog: $(stat -c %s "$f") of the $(stat -c %s "$rec") bytes of $rec"
done
name=${names[0]%.ts}
[[ "${names[0]}" =~ ^[0-9]{8}-[0-9]{6}\.ts$ ]] || fail "car42/${names[0]} is not named YYYYmmdd-HHMMSS.ts"
t_name=$(date -u -d "${name:0:4}-${name:4:2}-${name:6:2} ${name:9:2}:${name:11:2}:${name:13:2}" +%s) ||
  fail "car42/${names[0]} is not a valid time"
d=$((t_name - t_start))
{ [ "$d" -ge -1 ] && [ "$d" -le 5 ]; } ||
  fail "car42/${names[0]} is $d s from the UTC start $(date -u -d "@$t_start" +%Y%m%d-%H%M%S)"
grep -q "streamid=\"publish:car42/$name\" file=car42/$name.ts" "$srv.log" ||
  fail "dashcam-ingest did not get streamid publish:car42/$name: $(grep connect "$srv.log")"
grep -q "state=(string)up, reason=(string)connected, streamid=(string)publish:car42/$name," "$work/ref.log" ||
  fail "the link message does not carry streamid publish:car42/$name"
pass "streamid publish:car42/$name, $d s after the UTC start"
check_received "dashcam-ingest (default streamid)" "$srv/car42/$name.ts"

echo "== reference receiver: SRS-style streamid #!::r=live/{device},m=publish"
grep -q 'streamid="#!::r=live/car42,m=publish" file=live/car42.ts' "$srv.log" ||
  fail "dashcam-ingest did not file #!::r=live/car42,m=publish as live/car42.ts: $(grep connect "$srv.log")"
mapfile -t names < <(ls "$srv/live" 2>/dev/null)
[ "${names[*]:-}" = car42.ts ] || fail "expected live/car42.ts alone, got: ${names[*]:-none}"
pass "streamid #!::r=live/car42,m=publish filed as live/car42.ts"
check_received "dashcam-ingest (SRS streamid)" "$srv/live/car42.ts"

# ---------------------------------------------------------------------------
echo "== third-party listeners"
check_received "srt-live-transmit" "$work/slt.ts"
check_received "ffmpeg" "$work/ffmpeg.ts"
check_received "srtsrc" "$work/srtsrc.ts"

# ---------------------------------------------------------------------------
# A source whose first keyframe reaches the sink before the SRT connection
# is up (a file played in real time; no keyframe can be requested from
# it): the session is held from that keyframe while connecting, so the
# server gets every frame, not only those from the second GOP on.
echo "== first session held while the first connection is set up"
gst-launch-1.0 -q videotestsrc num-buffers=90 pattern=ball ! \
  video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! \
  x264enc speed-preset=ultrafast key-int-max=30 ! h264parse ! mpegtsmux ! \
  filesink location="$work/held-in.ts" >/dev/null 2>&1 || fail "encoding the input failed"
# The receiver starts 0.4 s after the pipeline: the first attempt (which
# waits up to 3 s) connects at one of its handshake retransmissions, well
# within live-buffer-time (3 s here, so that a slow machine has room).
srv2=$work/srv2
port2=$(free_udp_port)
timeout 30 gst-launch-1.0 -q filesrc location="$work/held-in.ts" ! \
  tsparse set-timestamps=true ! clocksync ! \
  srtuploadsink uri="srt://127.0.0.1:$port2" streamid-format=held/{device} \
    device-id=car42 live-buffer-time=3000000000 >"$work/held.log" 2>&1 &
HELD_PID=$!; track $HELD_PID
sleep 0.4
start_ingest "$srv2" "$port2"
track "$ING_PID"
rc=0
wait_exit "$HELD_PID" 30 || rc=$?
[ "$rc" -eq 0 ] || fail "the file pipeline failed (exit status $rc): $(tail -3 "$work/held.log")"
wait_for_line "$srv2.log" 'close id=1 ' 10 || fail "dashcam-ingest did not see the caller leave: $(cat "$srv2.log")"
n_in=$(ts_frames "$work/held-in.ts")
n=$(ts_frames "$srv2/held/car42.ts")
[ "$n" -eq "$n_in" ] || fail "the server got $n of the $n_in frames of the file"
ts_decodes "$srv2/held/car42.ts" || fail "held/car42.ts does not decode"
pass "all $n frames of the file arrived live, from its first keyframe"
