#!/usr/bin/env bash
# gpsklvsrc in dashcambin, against real gpsd instances run by gpsfake on
# tests/data/drive.nmea (72 s, 5 fixes a second, no fix for the first 4 s
# and in a 6 s tunnel). Three live dashcams run at once:
#
# A (issue 13, criteria 1 and 4): 78 s of video, gpsfake started once the
#   source is trying to connect; uri to the reference receiver. Every
#   segment has a KLV data stream ffprobe lists (KLVA); klv-check reads back
#   every fix of the log exactly once from the segments, positions within
#   1e-6 degree, inside its segment's video, and stamped when gpsfake sent
#   it: timestamp minus the time sent is the same for all fixes within
#   100 ms (the video frames carry the running time of their capture on
#   the same clock). The same holds for the file the SRT receiver wrote
#   live. Every frame is recorded.
# B (criterion 3): 30 s (900 frames); gpsd absent for the first 5 s, then
#   a gpsfake, killed (-9, with its gpsd) after 7 s, started again 5 s
#   later. The recording never stalls: all 900 frames are recorded; the
#   source reports connecting (with the error), no-fix, fix, connecting
#   after the kill, and fix again; its KLV never pauses more than ~1 s.
# GPX sidecars (criterion 2, in part): each of A's segments has NAME.gpx,
#   well-formed (valid against the GPX 1.1 schema when DASHCAM_GPX_XSD
#   names gpx.xsd), and together they hold every fix of the log once.
#   C, a third dashcam on A's gpsd, is killed -9 mid-segment; a restart on
#   its directory with recorder::max-files=2 recovers the cut segment and
#   writes its GPX from its own TS, and retention deletes the older
#   segments with their sidecars: every segment with fixes has a sidecar
#   with as many track points as its TS has fixes, no sidecar is left
#   without its segment, and no .part is left.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_cmds gst-launch-1.0 ffprobe python3 stdbuf gpsfake "$INGEST"
KLV_CHECK=${DASHCAM_KLV_CHECK:-klv-check}
LOG_NMEA=$here/../data/drive.nmea
gst-inspect-1.0 gpsklvsrc >/dev/null 2>&1 ||
  { echo "SKIP: gpsklvsrc not built (libgps-dev missing)"; exit 77; }

work=$(mktemp -d)
cleanup() {
  local p
  for p in $BG_PIDS; do kill_tree "$p"; done
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

free_tcp_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# dashcam NAME FRAMES GPS [URI]: a live dashcambin in the background; sets
# NAME_PID, bus messages in $work/NAME.log, segments in $work/NAME.
dashcam() {
  local name=$1 frames=$2 gps=$3 uri=${4:-}
  stdbuf -oL gst-launch-1.0 -e -m videotestsrc is-live=true pattern=ball \
    num-buffers="$frames" ! video/x-raw,width=320,height=240,framerate=30/1 ! \
    dashcambin location="$work/$name" segment-duration=10000000000 \
      bitrate=500 gps="$gps" ${uri:+uri=$uri device-id=car42} \
    >"$work/$name.log" 2>&1 &
  printf -v "${name}_PID" %s $!
  track $!
}

# gpsfake NAME PORT [ARGS]: sets NAME_PID. With -l, $work/NAME.log gets
# each sentence as it is sent, after the time on the monotonic clock, the
# pipeline's (the realtime clock may run at another rate: 0.5 % faster on
# one test machine).
start_gpsfake() {
  local name=$1 port=$2
  shift 2
  PYTHONUNBUFFERED=1 gpsfake -q -c 0.1 -P "$port" "$@" "$LOG_NMEA" \
    > >(python3 -u -c 'import sys, time
for l in sys.stdin:
    print("%.6f %s" % (time.monotonic(), l.rstrip()), flush=True)' \
        >"$work/$name.log") 2>&1 &
  printf -v "${name}_PID" %s $!
  track $!
}

# has_klv FILE: ffprobe lists a KLV (KLVA) data stream.
has_klv() {
  local out
  out=$(ffprobe -v error -show_entries stream=codec_type,codec_tag_string \
    -of csv=p=0 "$1")
  grep -qx 'data,KLVA' <<<"$out"
}

states() {
  grep -o 'gpsklvsrc-state, state=(string)[a-z-]*' "$1" | sed 's/.*)//' |
    uniq | tr '\n' ' '
}

start_ingest "$work/server"
port_a=$(free_tcp_port)
port_b=$(free_tcp_port)
dashcam a 2340 "127.0.0.1:$port_a" "srt://127.0.0.1:$ING_PORT"
dashcam b 900 "127.0.0.1:$port_b"
t0=$(now_ms)
wait_for_line "$work/a.log" 'state=(string)connecting' 20 ||
  fail "A: no gpsklvsrc-state connecting message"
start_gpsfake fa "$port_a" -1 -l
dashcam c 100000 "127.0.0.1:$port_a"

# B: gpsd absent, there, killed, back
sleep_until() {
  local d=$(( t0 + $1 * 1000 - $(now_ms) ))
  [ "$d" -le 0 ] || sleep "$((d / 1000)).$(printf %03d $((d % 1000)))"
}
sleep_until 5
start_gpsfake fb "$port_b"
sleep_until 12
kill_tree "$fb_PID"
untrack "$fb_PID"
wait "$fb_PID" 2>/dev/null || true
sleep_until 17
start_gpsfake fb2 "$port_b"
sleep_until 25
kill_tree "$c_PID"
untrack "$c_PID"
wait "$c_PID" 2>/dev/null || true

wait_exit "$b_PID" 90 || fail "B: the pipeline did not end (rc $?): $(tail -5 "$work/b.log")"
wait_exit "$a_PID" 150 || fail "A: the pipeline did not end (rc $?): $(tail -5 "$work/a.log")"

# ---- B: criterion 3 -------------------------------------------------------
seen=$(states "$work/b.log")
echo "B: states: $seen"
[[ $seen =~ ^connecting\ no-fix\ .*fix\ connecting\ .*fix ]] ||
  fail "B: expected connecting, no-fix, fix, connecting, fix; got: $seen"
grep -q "state=(string)connecting.*error=(string)" "$work/b.log" ||
  fail "B: no error in the connecting message"
pass "B: gpsklvsrc-state messages: $seen"
frames=0
for f in "$work"/b/*.ts; do frames=$((frames + $(ts_frames "$f"))); done
[ "$frames" = 900 ] || fail "B: $frames frames recorded, not 900"
pass "B: all 900 frames of the 30 s live run recorded"
"$KLV_CHECK" --track "$work/b.track" "$work"/b/*.ts || fail "B: KLV unreadable"
gap=$(awk 'NR > 1 && $1 - p > g { g = $1 - p } { p = $1 } END { printf "%.2f", g }' "$work/b.track")
n=$(wc -l <"$work/b.track")
awk -v g="$gap" 'BEGIN { exit !(g <= 1.3) }' ||
  fail "B: the KLV stream paused $gap s"
awk '$5 >= 2' "$work/b.track" | grep -q . || fail "B: no fix recorded"
pass "B: $n KLV sets, longest pause $gap s, fixes after the restart"

# ---- A: criteria 1 and 4 --------------------------------------------------
frames=0
for f in "$work"/a/*.ts; do
  frames=$((frames + $(ts_frames "$f")))
  has_klv "$f" || fail "A: ffprobe lists no KLV data stream in $f"
done
n_seg=$(ls "$work"/a/*.ts | wc -l)
pass "A: ffprobe lists a KLVA data stream in each of the $n_seg segments"
[ "$frames" = 2340 ] || fail "A: $frames frames recorded, not 2340"
pass "A: all 2340 frames recorded"
"$KLV_CHECK" --nmea "$LOG_NMEA" --sent "$work/fa.log" "$work"/a/*.ts | tee "$work/a.check" ||
  fail "A: the segments do not carry the log's fixes"
pass "A: every fix of the log read back once from the segments"
live=$(ls "$work"/server/car42/*.ts | head -1)
has_klv "$live" || fail "A: no KLV data stream in the receiver's $live"
"$KLV_CHECK" --nmea "$LOG_NMEA" --sent "$work/fa.log" "$live" | tee "$work/a-live.check" ||
  fail "A: the receiver's file does not carry the log's fixes"
pass "A: the SRT receiver's file has the KLV stream and every fix"
# ---- GPX sidecars ----------------------------------------------------------
xsd_args=()
[ -n "${DASHCAM_GPX_XSD:-}" ] && xsd_args=(--schema "$DASHCAM_GPX_XSD")
for f in "$work"/a/*.ts; do
  g=${f%.ts}.gpx
  [ -f "$g" ] || fail "A: no GPX sidecar for $(basename "$f")"
  xmllint --noout "${xsd_args[@]}" "$g" 2>"$work/xmllint.err" ||
    fail "A: $(basename "$g") is not valid: $(head -3 "$work/xmllint.err")"
done
grep -ho '<time>[^<]*</time>' "$work"/a/*.gpx | sort >"$work/gpx-times"
n_gpx=$(wc -l <"$work/gpx-times")
n_uniq=$(uniq "$work/gpx-times" | wc -l)
n_log=$(grep -c '^\$GPRMC,[0-9.]*,A,' "$LOG_NMEA")
[ "$n_gpx" = "$n_log" ] && [ "$n_uniq" = "$n_log" ] ||
  fail "A: the GPX sidecars hold $n_gpx track points ($n_uniq times), the log $n_log fixes"
pass "A: $n_seg GPX sidecars${xsd_args:+ valid against gpx.xsd} (well-formed), $n_gpx track points: every fix of the log once"

# C: recovery after kill -9 rebuilds the cut segment's GPX
stdbuf -oL gst-launch-1.0 -e -m videotestsrc is-live=true num-buffers=30 ! \
  video/x-raw,width=320,height=240,framerate=30/1 ! \
  dashcambin location="$work/c" recorder::max-files=2 >"$work/c2.log" 2>&1 ||
  fail "C: the restart failed: $(tail -3 "$work/c2.log")"
grep -q 'looprecsink-segment-recovered' "$work/c2.log" ||
  fail "C: no segment recovered after the kill"
with_gpx=0
for f in "$work"/c/*.ts; do
  "$KLV_CHECK" --track "$work/c.track" "$f" >/dev/null || fail "C: $f unreadable"
  fixes=$(awk '$5 >= 2' "$work/c.track" | wc -l)
  g=${f%.ts}.gpx
  if [ "$fixes" -gt 0 ]; then
    [ -f "$g" ] || fail "C: no GPX sidecar for $(basename "$f") ($fixes fixes)"
    pts=$(grep -o '<trkpt ' "$g" | wc -l)
    [ "$pts" = "$fixes" ] || fail "C: $(basename "$g") has $pts track points, its TS $fixes fixes"
    with_gpx=$((with_gpx + 1))
  fi
done
[ "$with_gpx" -ge 1 ] || fail "C: no segment with fixes left"
grep -q 'looprecsink-segment-deleted.*reason=(string)max-files' "$work/c2.log" ||
  fail "C: retention deleted nothing"
for g in "$work"/c/*.gpx; do
  [ -f "${g%.gpx}.ts" ] || fail "C: $(basename "$g") outlived its segment"
done
! ls "$work"/c/*.part >/dev/null 2>&1 || fail "C: .part files left: $(ls "$work"/c/*.part)"
pass "C: after kill -9, recovery and retention, $with_gpx segment(s) with fixes, each with its GPX, no sidecar without its segment"
echo "8 passed, 0 failed"
