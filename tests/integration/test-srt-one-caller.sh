#!/usr/bin/env bash
# A backlog receiver that takes one caller at a time (srt-live-transmit as
# a listener: a second caller times out while one is connected).
#
# The live receiver (dashcam-ingest) is frozen for 9 s during a 40 s
# recording with 3 s segments; the backlog goes to srt-live-transmit,
# which appends what each caller sends to one file. The first overlapping
# upload's successor is refused while the first is still open: from then
# on uploads go one at a time, and a message says so.
#
# Asserts: a `failed` message with reason `one-at-a-time`; every segment
# is on a server (inside a live recording, or byte for byte inside what
# srt-live-transmit wrote) and every `done` one decodes there with all its
# frames; the last upload is done within 20 s of the live link's return.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_cmds gst-launch-1.0 ffmpeg ffprobe python3 stdbuf srt-live-transmit "$INGEST"

work=$(mktemp -d)
SLT_PID=
PIPE_PID=
cleanup() {
  local p
  for p in $BG_PIDS $SLT_PID $PIPE_PID ${ING_PID:-}; do kill_tree "$p"; done
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

rec=$work/rec
srv=$work/srv
log=$work/pipe.log
start_ingest "$srv" 0
live_port=$ING_PORT
bport=$(free_udp_port)
srt-live-transmit -q "srt://:$bport?mode=listener" file://con >"$work/slt.ts" 2>"$work/slt.log" &
SLT_PID=$!

stdbuf -oL gst-launch-1.0 -e -m \
  videotestsrc is-live=true num-buffers=1200 pattern=ball ! \
  video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! \
  x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=600 ! \
  h264parse ! mpegtsmux ! tee name=t \
  t. ! queue ! looprecsink location="$rec" max-size-time=3000000000 \
  t. ! queue ! srtuploadsink uri="srt://127.0.0.1:$live_port" device-id=car42 \
      backlog-uri="srt://127.0.0.1:$bport" backlog-location="$rec" \
      reconnect-max-interval=1000000000 link-timeout=1000000000 \
      backlog-max-bitrate=6000000 \
  2>&1 | while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$log" &
PIPE_PID=$!

wait_for_line "$log" 'srtuploadsink-link, state=(string)up' 20 || fail "live never went up"
sleep 6
# frozen, not killed: what it acknowledged is still written (a SIGKILL
# loses that, which is another matter)
kill -STOP "$ING_PID"
sleep 9
kill -CONT "$ING_PID"
wait_exit "$PIPE_PID" 90 || fail "pipeline failed or hung: $(grep -m3 ERROR "$log")"
PIPE_PID=
kill "$SLT_PID" 2>/dev/null || true
wait "$SLT_PID" 2>/dev/null || true
SLT_PID=
kill "$ING_PID"; wait "$ING_PID" 2>/dev/null || true
ING_PID=
grep -q ERROR "$log" && fail "$(grep -m3 ERROR "$log")"

grep -q 'state=(string)failed, .*reason=(string)one-at-a-time' "$log" ||
  fail "no upload was refused while another was open: $(grep -o 'srtuploadsink-backlog.*state=(string)[a-z]*' "$log" | head -5)"
pass "a second connection was refused: uploads went one at a time"

python3 - "$rec" "$srv/car42" "$work/slt.ts" "$log" <<'PY' || fail "see above"
import os, re, subprocess, sys
rec, live_dir, slt, log = sys.argv[1:5]
PSI = 2 * 188
lives = [open(os.path.join(live_dir, f), "rb").read()
         for f in sorted(os.listdir(live_dir))]
backlog = open(slt, "rb").read()
done, ups, bad = {}, [], 0
for line in open(log):
    t = float(line.split()[0])
    if "srtuploadsink-link, state=(string)up" in line:
        ups.append(t)
    m = re.search(r"srtuploadsink-backlog, segment=\(string\)([^,]*),.*state=\(string\)done", line)
    if m:
        done[m.group(1)] = t
for name in sorted(os.listdir(rec)):
    if not name.endswith(".ts"):
        continue
    data = open(os.path.join(rec, name), "rb").read()
    if name in done:
        state = "backlog" if data in backlog else "CORRUPT"
    elif any(data[PSI:] in l for l in lives):
        state = "live"
    else:
        state = "MISSING"
    if state.isupper():
        bad += 1
    print(name, state)
if len(ups) < 2:
    print("the live link did not come back"); sys.exit(1)
if not done:
    print("nothing was uploaded"); sys.exit(1)
took = max(done.values()) - ups[1]
print("%d uploads, the last done %.1f s after the live link returned" % (len(done), took))
sys.exit(1 if bad or took > 20 else 0)
PY
# frames: each uploaded segment, cut from what the receiver wrote, decodes
# whole with as many frames as the recording
python3 - "$rec" "$work/slt.ts" "$log" "$work" <<'PY' >"$work/cuts"
import os, re, sys
rec, slt, log, work = sys.argv[1:5]
backlog = open(slt, "rb").read()
for line in open(log):
    m = re.search(r"srtuploadsink-backlog, segment=\(string\)([^,]*),.*state=\(string\)done", line)
    if m:
        name = m.group(1)
        data = open(os.path.join(rec, name), "rb").read()
        i = backlog.find(data)
        out = os.path.join(work, "cut-" + name)
        open(out, "wb").write(backlog[i:i + len(data)])
        print(name, out)
PY
while read -r name cut; do
  a=$(ts_frames "$rec/$name"); b=$(ts_frames "$cut")
  [ "$a" -eq "$b" ] && ts_decodes "$cut" || fail "$name: $b of $a frames at the receiver"
  echo "$name: $b of $a frames, md5 $(md5sum <"$cut" | cut -c1-12) = $(md5sum <"$rec/$name" | cut -c1-12)"
done <"$work/cuts"
pass "one-caller backlog receiver: everything on the server, in time"
