#!/usr/bin/env bash
# Power cut: a live recording is SIGKILLed at random moments, again and again.
# After every kill, the next start must recover the partial segment (cut to
# whole frames, renamed, looprecsink-segment-recovered; a kill between two
# segments leaves none, and nothing may be recovered then), every complete
# segment must play, no .part file may remain, and the recording may lose at
# most sync-interval + one GOP (+ a measuring slack) before the kill.
#
#   test-powercut.sh [ITERATIONS]     (20 in the test suite; soak: 200)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_cmds gst-launch-1.0 ffmpeg ffprobe stdbuf

iterations=${1:-20}
sync_ms=1000
gop_frames=15
fps=30
slack_ms=400

work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
rec=$work/rec
declare -A checked
recovered=0

record_cmd() {
  exec stdbuf -oL gst-launch-1.0 -m \
    videotestsrc is-live=true pattern=ball ! \
    video/x-raw,format=I420,width=320,height=240,framerate=$fps/1 ! \
    x264enc tune=zerolatency speed-preset=ultrafast key-int-max=$gop_frames ! \
    h264parse ! mpegtsmux ! \
    looprecsink location="$rec" max-size-time=1000000000 \
      sync-interval=$(( sync_ms * 1000000 ))
}

for i in $(seq 1 "$iterations"); do
  log=$work/rec.$i.log
  record_cmd >"$log" 2>&1 &
  pid=$!
  wait_for_line "$log" looprecsink-segment-opened 20 || fail "run $i never opened a segment"
  t0=$(now_ms)
  sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", 0.3 + (r % 3000) / 1000 }')"
  kill -9 "$pid"
  t1=$(now_ms)
  { wait "$pid"; } 2>/dev/null || true
  pid=

  # a kill between closing a segment (rename, directory and catalog
  # syncs) and opening the next leaves no partial file: nothing to recover
  # then, and the frame count below still shows that nothing was lost
  part=1
  ls "$rec"/*.part >/dev/null 2>&1 || part=0

  # the next start recovers
  out=$work/recover.$i.log
  gst-launch-1.0 -m fakesrc num-buffers=0 ! video/mpegts,systemstream=true ! \
    looprecsink location="$rec" >"$out" 2>&1 || fail "run $i: recovery run failed: $(tail -3 "$out")"
  # a partial file with a whole frame is recovered; one killed before its
  # first frame reached the disk is removed as empty
  if [ "$part" = 1 ]; then
    grep -qE 'looprecsink-segment-recovered|looprecsink-segment-deleted.*reason=\(string\)empty' "$out" ||
      fail "run $i: the partial file was neither recovered nor removed"
  else
    grep -q looprecsink-segment-recovered "$out" &&
      fail "run $i: recovered a segment without a partial file"
    echo "run $i: killed between two segments (no partial file)"
  fi
  grep -q looprecsink-segment-recovered "$out" && recovered=$(( recovered + 1 ))
  if ls "$rec"/*.part >/dev/null 2>&1; then fail "run $i: .part left after recovery"; fi
  grep -q 'ERROR' "$out" && fail "run $i: $(grep ERROR "$out")"

  # every new segment plays; count what this run kept
  frames=0
  for f in "$rec"/*.ts; do
    [ -n "${checked[$f]:-}" ] && continue
    checked[$f]=1
    ts_starts_with_keyframe "$f" || fail "run $i: $f does not start with a keyframe"
    ts_decodes "$f" || fail "run $i: $f does not decode"
    frames=$(( frames + $(ts_frames "$f") ))
  done

  alive_ms=$(( t1 - t0 ))
  expected=$(( alive_ms * fps / 1000 ))
  allowed=$(( (sync_ms + slack_ms) * fps / 1000 + gop_frames ))
  lost=$(( expected - frames ))
  [ "$lost" -le "$allowed" ] || fail "run $i: killed after ${alive_ms} ms, kept $frames frames of ~$expected (lost $lost > $allowed)"
  echo "run $i: killed after ${alive_ms} ms, kept $frames of ~$expected frames"
done

[ "$recovered" -gt 0 ] || fail "no partial file was ever recovered"
pass "$iterations power cuts ($recovered partial segments recovered), every segment playable"
