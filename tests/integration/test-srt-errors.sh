#!/usr/bin/env bash
# srtuploadsink encryption and bad input, everything on 127.0.0.1.
#
# Start errors: a uri that is not srt://host:port (or whose sndbuf is
# not a number of bytes fit for a few packets), a passphrase of the
# wrong length, an unknown placeholder in streamid-format or
# backlog-streamid-format, a device-id holding a character that separates
# a server's streamid fields (: , / space) or making the streamid longer
# than 512 bytes each make the pipeline fail at start with an ERROR that
# names the property (and never echoes a passphrase or a streamid secret).
#
# Link errors (3 s live pipelines, 90 frames): an unencrypted receiver
# refuses an encrypting sender and an encrypted receiver refuses an
# unencrypted one (bad-passphrase), a wrong passphrase gives bad-passphrase,
# a refused streamid gives rejected (and is retried), a port without a
# listener gives unreachable. None of them is fatal: the pipeline records
# and ends normally, the link never goes up, the receiver writes nothing.
#
# Encryption: the encrypted receiver gets a decodable stream. The passphrase
# is in no bus message (gst-launch -m) and no debug line at GST_DEBUG=*:9
# (except GStreamer core's own logging of gst-launch's command line), and,
# set with g_object_set by a small C program, in no debug line at all, no
# message and no `stats` (read every 500 ms).
#
# All checks run; the script fails at the end if any failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_cmds gst-launch-1.0 ffmpeg ffprobe python3 stdbuf "$INGEST"

PW=dcam-Secret-7b3f9e21   # 20 characters, nowhere else in any output
FRAMES=90
MIN_FRAMES=$((FRAMES - 30))

work=$(mktemp -d)
failed=0

# A failed check: report it and go on; the script exits 1 at the end.
bad() { echo "FAIL: $*" >&2; failed=1; }

cleanup() {
  local p
  for p in $BG_PIDS; do kill_tree "$p"; done
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

stop_ingest() {
  kill "$ING_PID" 2>/dev/null || true
  wait_exit "$ING_PID" 10 || true
}

# Link messages of a -m log as "state reason" lines.
link_states() {
  grep -o 'srtuploadsink-link, state=(string)[a-z]*, reason=(string)[a-z-]*' "$1" |
    sed -E 's/.*state=\(string\)([a-z]*), reason=\(string\)([a-z-]*)/\1 \2/' || true
}

# ts files a receiver root holds.
received() { find "$1" -name '*.ts' -size +0 2>/dev/null | sort; }

# ---------------------------------------------------------------------------
echo "== bad properties fail at start, naming the property"

# start_error CASE PROPERTY PROPS...: srtuploadsink with PROPS must fail at
# start with an ERROR naming PROPERTY.
start_error() {
  local name=$1 prop=$2 out=$work/start-$1.log pid rc=0 line
  shift 2
  gst-launch-1.0 fakesrc num-buffers=1 ! video/mpegts,systemstream=true ! \
    srtuploadsink "$@" >"$out" 2>&1 &
  pid=$!; track $pid
  wait_exit "$pid" 20 || rc=$?
  if [ "$rc" -eq 124 ]; then bad "$name ($*): still running after 20 s"; return; fi
  if [ "$rc" -eq 0 ]; then bad "$name ($*): the pipeline ran"; return; fi
  line=$(grep -m1 '^ERROR: from element .*srtuploadsink' "$out" || true)
  if [ -z "$line" ]; then
    bad "$name ($*): no ERROR from srtuploadsink: $(head -5 "$out")"
  elif ! grep -Eq "(^|[^a-z-])$prop([^a-z-]|$)" <<<"$line"; then
    bad "$name ($*): the error does not name \"$prop\": $line"
  elif grep -qF -e "$PW" -e tooshort9 "$out"; then
    bad "$name ($*): the output shows the passphrase: $(grep -F -e "$PW" -e tooshort9 "$out" | head -2)"
  else
    pass "$name: exit status $rc, ${line#ERROR: from element }"
  fi
}

start_error not-srt uri uri=http://x:1
start_error no-port uri uri=srt://hostonly
start_error short-passphrase passphrase uri=srt://127.0.0.1:9 passphrase=tooshort9
start_error long-passphrase passphrase uri=srt://127.0.0.1:9 \
  "passphrase=$(printf 'x%.0s' $(seq 80))"
start_error streamid-placeholder streamid-format uri=srt://127.0.0.1:9 \
  'streamid-format=publish:{nope}'
start_error backlog-placeholder backlog-streamid-format uri=srt://127.0.0.1:9 \
  'backlog-streamid-format=x/{nope}'
# A {device} that would change the streamid's fields, or make it too long
start_error device-colon device-id uri=srt://127.0.0.1:9 device-id=car:42
start_error device-space device-id uri=srt://127.0.0.1:9 'device-id="car 42"'
start_error device-slash device-id uri=srt://127.0.0.1:9 device-id=fleet/car42
start_error device-too-long streamid-format uri=srt://127.0.0.1:9 \
  "device-id=$(printf 'c%.0s' $(seq 500))"
# a template with a password: the error shows it masked
start_error streamid-secret streamid-format uri=srt://127.0.0.1:9 \
  "streamid-format=publish:{nope}:user:$PW"
start_error backlog-streamid-secret backlog-streamid-format uri=srt://127.0.0.1:9 \
  "backlog-streamid-format=\"#!::r={nope},s=$PW\""
# A uri may carry the passphrase in its query (as srtsink's): a bad one must
# not show it in the error.
start_error uri-query-passphrase uri "uri=srt://127.0.0.1?passphrase=$PW"
# a send buffer too small for a few packets, or not a number
start_error uri-query-sndbuf uri "uri=srt://127.0.0.1:9?sndbuf=1000"
start_error backlog-uri-query-sndbuf backlog-uri uri=srt://127.0.0.1:9 \
  "backlog-uri=srt://127.0.0.1:9?sndbuf=64k"

# ---------------------------------------------------------------------------
# link_error CASE REASON URI [UPLOAD_PROPS]: a 3 s pipeline to URI; the
# link goes down with REASON (only), never up, and the pipeline ends well.
link_error() {
  local name=$1 reason=$2 uri=$3 log=$work/$1.log pid rc=0 states others
  UPLOAD_PROPS=${4:-} run_dashcam "$log" "$work/rec-$name" "$uri" "$FRAMES" &
  pid=$!; track $pid
  wait_exit "$pid" 40 || rc=$?
  states=$(link_states "$log")
  if [ "$rc" -ne 0 ]; then
    bad "$name: the pipeline failed (exit status $rc): $(grep ERROR "$log" | head -3)"
  elif grep -q ERROR "$log"; then
    bad "$name: the pipeline posted an error: $(grep ERROR "$log" | head -3)"
  elif grep -q '^up ' <<<"$states"; then
    bad "$name: the link went up: $(tr '\n' ';' <<<"$states")"
  elif ! grep -qx "down $reason" <<<"$states"; then
    bad "$name: no link down with reason $reason: $(tr '\n' ';' <<<"$states")"
  else
    others=$(grep '^down ' <<<"$states" | grep -vx "down $reason" || true)
    if [ -n "$others" ]; then
      bad "$name: other reasons than $reason: $(tr '\n' ';' <<<"$others")"
    else
      pass "$name: state=down reason=$reason ($(grep -m1 -o 'state=(string)down.*detail=(string)[^;]*' "$log" | sed 's/.*detail=(string)//; s/\\//g'))"
    fi
  fi
}

echo "== an unencrypted receiver refuses an encrypting sender"
start_ingest "$work/plain" 0
track "$ING_PID"
link_error plain-receiver bad-passphrase "srt://127.0.0.1:$ING_PORT" "passphrase=$PW"
stop_ingest
[ -z "$(received "$work/plain")" ] || bad "the unencrypted receiver wrote $(received "$work/plain")"

echo "== an encrypted receiver"
enc=$work/enc
start_ingest "$enc" 0 --passphrase "$PW"
track "$ING_PID"
enc_port=$ING_PORT

link_error wrong-passphrase bad-passphrase "srt://127.0.0.1:$enc_port" "passphrase=wrong-$PW"
link_error no-passphrase bad-passphrase "srt://127.0.0.1:$enc_port"
[ -z "$(received "$enc")" ] || bad "the encrypted receiver wrote $(received "$enc") for refused callers"

# check_encrypted CASE LOG BEFORE: the sender went up, and the one file the
# encrypted receiver has beyond BEFORE (its list of files) decodes from its
# first byte.
check_encrypted() {
  local name=$1 log=$2 before=$3 f n
  if ! grep -q 'srtuploadsink-link, state=(string)up' "$log"; then
    bad "$name: the encrypted link never went up: $(link_states "$log" | tr '\n' ';')"
    return
  fi
  f=$(comm -13 <(echo "$before") <(received "$enc") | grep . || true)
  if [ -z "$f" ] || [ "$(wc -l <<<"$f")" -ne 1 ]; then
    bad "$name: expected one new file on the encrypted receiver, got: ${f:-none}"
    return
  fi
  wait_for_line "$enc.log" "close id=.* file=${f#"$enc"/} " 10 ||
    bad "$name: the receiver did not close ${f#"$enc"/}"
  n=$(ts_frames "$f")
  if ! ts_starts_with_keyframe "$f" || ! ts_decodes "$f"; then
    bad "$name: ${f#"$enc"/} does not decode from its first byte"
  elif [ "$n" -lt "$MIN_FRAMES" ]; then
    bad "$name: ${f#"$enc"/} has $n frames of $FRAMES"
  else
    pass "$name: the encrypted receiver got ${f#"$enc"/}, $n of $FRAMES frames, decodes"
  fi
}

echo "== encrypted live with gst-launch -m at GST_DEBUG=*:9"
launch_log=$work/encrypted.log
before=$(received "$enc")
GST_DEBUG='*:9' GST_DEBUG_NO_COLOR=1 GST_DEBUG_FILE=$work/debug-launch.log \
  UPLOAD_PROPS="passphrase=$PW" \
  run_dashcam "$launch_log" "$work/rec-encrypted" "srt://127.0.0.1:$enc_port" "$FRAMES" &
pid=$!; track $pid
rc=0; wait_exit "$pid" 60 || rc=$?
[ "$rc" -eq 0 ] || bad "encrypted pipeline failed (exit status $rc)"
check_encrypted gst-launch "$launch_log" "$before"
if grep -qF "$PW" "$launch_log"; then
  bad "the passphrase is in the bus messages: $(grep -F "$PW" "$launch_log" | head -2)"
else
  pass "no bus message ($(grep -c 'Got message' "$launch_log") of them) shows the passphrase"
fi
# gst-launch's own command line is logged by GStreamer core (gstparse.c,
# parse.l, types.h): not the element's doing; anything else is.
core=$(grep -aF "$PW" "$work/debug-launch.log" | grep -acE ' (gstparse\.c|parse\.l|types\.h):' || true)
leaks=$(grep -aF "$PW" "$work/debug-launch.log" | grep -avE ' (gstparse\.c|parse\.l|types\.h):' || true)
if [ -n "$leaks" ]; then
  bad "the passphrase is in the debug log: $(head -3 <<<"$leaks" | cut -c1-300)"
else
  pass "no debug line of $(grep -ac . "$work/debug-launch.log") shows the passphrase, but for $core of GStreamer core's parser logging the command line"
fi

echo "== encrypted live set by g_object_set at GST_DEBUG=*:9, with stats"
if command -v cc >/dev/null && pkg-config --exists gstreamer-1.0 2>/dev/null; then
  cat >"$work/dcrun.c" <<'EOF'
/* dcrun PIPELINE TIMEOUT_S: runs PIPELINE (its srtuploadsink named "up"),
 * sets "passphrase" from $DC_PASSPHRASE with g_object_set, prints element
 * messages, errors, and the "stats" property every 500 ms and at the end. */
#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>

static GstElement *up;
static GMainLoop *loop;
static int rc = 0;

static void
print_stats (const char *when)
{
  GstStructure *s = NULL;
  gchar *str;

  g_object_get (up, "stats", &s, NULL);
  str = s ? gst_structure_to_string (s) : g_strdup ("(none)");
  printf ("%s stats: %s\n", when, str);
  fflush (stdout);
  g_free (str);
  if (s)
    gst_structure_free (s);
}

static gboolean
tick (gpointer data)
{
  print_stats ("tick");
  return G_SOURCE_CONTINUE;
}

static gboolean
too_long (gpointer data)
{
  printf ("TIMEOUT\n");
  rc = 2;
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_bus (GstBus * bus, GstMessage * m, gpointer data)
{
  GError *e = NULL;
  gchar *dbg = NULL, *str;

  switch (GST_MESSAGE_TYPE (m)) {
    case GST_MESSAGE_ELEMENT:
      str = gst_structure_to_string (gst_message_get_structure (m));
      printf ("message from %s: %s\n", GST_MESSAGE_SRC_NAME (m), str);
      g_free (str);
      break;
    case GST_MESSAGE_ERROR:
      gst_message_parse_error (m, &e, &dbg);
      printf ("ERROR: from %s: %s (%s)\n", GST_MESSAGE_SRC_NAME (m),
          e->message, dbg ? dbg : "");
      g_clear_error (&e);
      g_free (dbg);
      rc = 1;
      g_main_loop_quit (loop);
      break;
    case GST_MESSAGE_WARNING:
      gst_message_parse_warning (m, &e, &dbg);
      printf ("WARNING: from %s: %s (%s)\n", GST_MESSAGE_SRC_NAME (m),
          e->message, dbg ? dbg : "");
      g_clear_error (&e);
      g_free (dbg);
      break;
    case GST_MESSAGE_EOS:
      g_main_loop_quit (loop);
      break;
    default:
      break;
  }
  fflush (stdout);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  GError *err = NULL;
  GstElement *pipe;
  const gchar *pw;

  gst_init (&argc, &argv);
  if (argc != 3)
    return 3;
  pipe = gst_parse_launch (argv[1], &err);
  if (pipe == NULL) {
    printf ("ERROR: %s\n", err->message);
    return 3;
  }
  up = gst_bin_get_by_name (GST_BIN (pipe), "up");
  if (up == NULL)
    return 3;
  pw = g_getenv ("DC_PASSPHRASE");
  if (pw)
    g_object_set (up, "passphrase", pw, NULL);
  loop = g_main_loop_new (NULL, FALSE);
  gst_bus_add_watch (GST_ELEMENT_BUS (pipe), on_bus, NULL);
  g_timeout_add (500, tick, NULL);
  g_timeout_add_seconds (atoi (argv[2]), too_long, NULL);
  if (gst_element_set_state (pipe, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    printf ("ERROR: could not go PLAYING\n");
    rc = 1;
  } else {
    g_main_loop_run (loop);
  }
  print_stats ("end");
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (up);
  gst_object_unref (pipe);
  return rc;
}
EOF
  # shellcheck disable=SC2046
  cc -o "$work/dcrun" "$work/dcrun.c" $(pkg-config --cflags --libs gstreamer-1.0) ||
    fail "could not build the stats reader"
  desc="videotestsrc is-live=true num-buffers=$FRAMES pattern=ball !
    video/x-raw,format=I420,width=320,height=240,framerate=30/1 !
    x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 !
    h264parse ! mpegtsmux ! tee name=t
    t. ! queue ! looprecsink location=$work/rec-dcrun max-size-time=3000000000
    t. ! queue ! srtuploadsink name=up uri=srt://127.0.0.1:$enc_port device-id=car42
        backlog-location=$work/rec-dcrun reconnect-max-interval=1000000000"
  out=$work/dcrun.out
  before=$(received "$enc")
  DC_PASSPHRASE=$PW GST_DEBUG='*:9' GST_DEBUG_NO_COLOR=1 \
    GST_DEBUG_FILE=$work/debug-dcrun.log "$work/dcrun" "$desc" 30 >"$out" 2>&1 &
  pid=$!; track $pid
  rc=0; wait_exit "$pid" 40 || rc=$?
  [ "$rc" -eq 0 ] || bad "dcrun failed (exit status $rc): $(grep -E 'ERROR|TIMEOUT' "$out" | head -3)"
  check_encrypted g_object_set "$out" "$before"
  if ! grep -Eq 'stats: srtuploadsink-stats, state=\(string\)up, .*bytes-sent=\(guint64\)[1-9]' "$out"; then
    bad "stats never showed the link up with bytes sent: $(grep -m1 stats "$out")"
  elif grep -qF "$PW" "$out"; then
    bad "the passphrase is in messages or stats: $(grep -F "$PW" "$out" | head -2 | cut -c1-300)"
  else
    pass "no message ($(grep -c '^message' "$out")) and no stats ($(grep -c ' stats: ' "$out")) show the passphrase; last: $(grep ' stats: ' "$out" | tail -1 | cut -c1-160)..."
  fi
  n=$(grep -acF "$PW" "$work/debug-dcrun.log" || true)
  if [ "$n" -ne 0 ]; then
    bad "the passphrase is in $n debug lines: $(grep -aF "$PW" "$work/debug-dcrun.log" | head -3 | cut -c1-300)"
  else
    pass "no debug line of $(grep -ac . "$work/debug-dcrun.log") at GST_DEBUG=*:9 shows the passphrase"
  fi
else
  echo "NOTE: no C compiler or gstreamer-1.0 headers: stats and the strict log check are not run"
fi

echo "== a passphrase in uri and another in backlog-uri, each to its link; secrets in streamids"
# Each link has its own copy: the live receiver wants PW, the backlog
# receiver PW2 (of another length); both must connect, and every uploaded
# segment must be byte-identical on the backlog receiver. The streamids
# carry credentials (MediaMTX user:pass live, SRT access control s= for the
# backlog): they are masked in every message and debug line.
# 16 s: the backlog receiver is not the live one, so an upload is done
# only once libsrt would have noticed it gone silent after the playout
# (~8 s after the segment closed).
PW2=dcam-Other-4c1d0a9e5f77e3  # 26 characters
enc_pid=$ING_PID
start_ingest "$work/enc2" 0 --passphrase "$PW2"
track "$ING_PID"
ing2_pid=$ING_PID
ing2_port=$ING_PORT
log=$work/two-passphrases.log
before=$(received "$enc")
SID1=sidSecret1e4a   # in the streamids only
SID2=sidSecret2b9c
GST_DEBUG='*:9' GST_DEBUG_NO_COLOR=1 GST_DEBUG_FILE=$work/debug-two.log \
UPLOAD_PROPS="backlog-policy=all backlog-uri=srt://127.0.0.1:$ing2_port?passphrase=$PW2
  streamid-format=publish:{device}/{start}:dashcam:$SID1
  backlog-streamid-format=\"#!::r={device}/{segment},m=publish,u=dashcam,s=$SID2\"" \
  run_dashcam "$log" "$work/rec-two" "srt://127.0.0.1:$enc_port?passphrase=$PW" 480 &
pid=$!; track $pid
rc=0; wait_exit "$pid" 60 || rc=$?
[ "$rc" -eq 0 ] || bad "two passphrases: the pipeline failed (exit status $rc)"
FRAMES=480 check_encrypted two-passphrases-live "$log" "$before"
done_segs=$(grep -o 'srtuploadsink-backlog, segment=(string)[^,]*, .*state=(string)done' "$log" |
  sed -E 's/.*segment=\(string\)([^,]*),.*/\1/' || true)
n=0
for seg in $done_segs; do
  if cmp -s "$work/rec-two/$seg" "$work/enc2/car42/${seg%.ts}.ts"; then
    n=$((n + 1))
  else
    bad "two passphrases: $seg is not byte-identical on the backlog receiver"
  fi
done
if [ "$n" -eq 0 ]; then
  bad "two passphrases: no backlog upload done: $(grep -o 'srtuploadsink-backlog.*' "$log" | head -3)"
else
  pass "two passphrases: live decodes, $n backlog segments byte-identical"
fi
if grep -qF -e "$PW2" -e "$PW" -e "$SID1" -e "$SID2" "$log"; then
  bad "a secret is in the bus messages: $(grep -F -e "$PW2" -e "$PW" -e "$SID1" -e "$SID2" "$log" | head -2)"
elif ! grep -q 'state=(string)up, reason=(string)connected, streamid=(string)"\?publish:car42/[0-9-]*:dashcam:\\\*\\\*\\\*' "$log"; then
  bad "the link message does not show the masked streamid: $(grep -m1 -o 'state=(string)up.*' "$log")"
else
  pass "no bus message shows a passphrase or a streamid secret; up: $(grep -m1 -o 'reason=(string)connected, streamid=(string)[^,]*' "$log")"
fi
leaks=$(grep -aF -e "$SID1" -e "$SID2" -e "$PW2" "$work/debug-two.log" |
  grep -avE ' (gstparse\.c|parse\.l|types\.h):' || true)
if [ -n "$leaks" ]; then
  bad "a streamid secret is in the debug log: $(head -3 <<<"$leaks" | cut -c1-300)"
else
  pass "no debug line of $(grep -ac . "$work/debug-two.log") shows a streamid secret, but for GStreamer core's parser logging the command line"
fi
rm -f "$work/debug-two.log"
kill "$ing2_pid" 2>/dev/null || true
wait_exit "$ing2_pid" 10 || true
ING_PID=$enc_pid
stop_ingest

echo "== a refused streamid"
start_ingest "$work/rej" 0 --reject 'publish:car42/*'
track "$ING_PID"
link_error rejected rejected "srt://127.0.0.1:$ING_PORT"
stop_ingest
refusals=$(grep -c '^refuse .*code=1403' "$work/rej.log" || true)
[ "$refusals" -ge 2 ] || bad "the rejected streamid was tried $refusals times (a rejection must be retried)"
[ -z "$(received "$work/rej")" ] || bad "the receiver wrote $(received "$work/rej") for a refused streamid"
echo "   the receiver refused $refusals attempts"

echo "== no listener"
link_error unreachable unreachable "srt://127.0.0.1:$(free_udp_port)"

# ---------------------------------------------------------------------------
if [ "$failed" -ne 0 ]; then
  echo "FAIL: see the FAIL lines above" >&2
  exit 1
fi
pass "encryption and bad input"
