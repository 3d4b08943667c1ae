#!/usr/bin/env bash
# A segment file that cannot be created for a reason other than a full disk
# (EACCES: the directory lost its write permission while recording): the
# recorder stops with an error naming the file and the cause, does not
# claim that the disk is full, and the next start finds the directory in
# order (the segment before is recovered, the catalog does not list the
# segment that never existed).
#
# Root ignores file modes: the recorder runs without CAP_DAC_OVERRIDE and
# CAP_DAC_READ_SEARCH (setpriv), as a dashcam's recorder user would.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_cmds gst-launch-1.0 setpriv ffmpeg stdbuf

work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  chmod 755 "$work/rec" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
rec=$work/rec
mkdir -p "$rec"
log=$work/rec.log

drop=
[ "$(id -u)" = 0 ] && drop="setpriv --bounding-set=-dac_override,-dac_read_search,-fowner --"
# shellcheck disable=SC2086
$drop stdbuf -oL gst-launch-1.0 -m \
    videotestsrc is-live=true pattern=ball num-buffers=300 ! \
    video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! \
    x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! \
    h264parse ! mpegtsmux ! \
    looprecsink location="$rec" max-size-time=1000000000 >"$log" 2>&1 &
pid=$!
wait_for_line "$log" looprecsink-segment-opened 30 || fail "never opened a segment: $(tail -3 "$log")"
chmod 555 "$rec"
rc=0
wait_exit "$pid" 30 || rc=$?
pid=
[ "$rc" != 124 ] || fail "the recorder did not stop within 30 s"
[ "$rc" != 0 ] || fail "the recorder ended without an error"
grep -q 'Could not open file ".*\.ts\.part" for writing' "$log" ||
  fail "no error naming the file: $(grep -m3 ERROR "$log")"
grep -q 'Permission denied' "$log" || fail "the error does not say why"
if grep -q 'Disk full' "$log"; then fail "a permission error was reported as a full disk"; fi

# the next start, with the permission back: the first segment (its rename
# failed too) is recovered and plays; nothing is missing from the catalog
chmod 755 "$rec"
out=$work/recover.log
GST_DEBUG=looprecsink:2 gst-launch-1.0 -m fakesrc num-buffers=0 ! \
  video/mpegts,systemstream=true ! looprecsink location="$rec" >"$out" 2>&1 ||
  fail "recovery run failed: $(tail -3 "$out")"
grep -q looprecsink-segment-recovered "$out" || fail "the first segment was not recovered"
if grep -q 'is gone' "$out"; then fail "the catalog lists a segment that never existed: $(grep 'is gone' "$out")"; fi
n=0
for f in "$rec"/*.ts; do
  ts_decodes "$f" || fail "$f does not decode"
  n=$(( n + 1 ))
done
[ "$n" -ge 1 ] || fail "no segment kept"
pass "permission denied on a new segment: an error naming it, $n segment(s) kept and playable"
