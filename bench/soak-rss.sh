#!/usr/bin/env bash
# soak-rss.sh: memory of a live dashcam pipeline over a long run with link
# flaps. Not in CI.
#
#   bench/soak-rss.sh [--minutes M] [--segment-s S] [--flaps N] [--out FILE]
#                     [--max-files N] [--wrap "heaptrack -o FILE"]
#
# Records a live 320x240 stream (x264enc ultrafast, GOP 1 s) through a tee
# into looprecsink (S-second segments, max-files retention, as in a car) and
# srtuploadsink streaming to dashcam-ingest on 127.0.0.1. N times, evenly
# spread, dashcam-ingest is SIGKILLed and restarted on the same port ~8 s
# later: the link goes down, a gap opens, the segments of the gap go up as
# backlog after it comes back. The pipeline's RSS (/proc/PID/status VmRSS)
# is sampled every 10 s, with its anonymous part (heap, stacks) and its
# file-backed part (code pages of the libraries, which grow as code runs for
# the first time). The report gives RSS at minute 2 and at the end, the
# growth between them (target: <= 64 KB for 60 min, 2 s segments, 30
# flaps), segments recorded and backlog uploads.
#
# The plugin and dashcam-ingest are copied from the build directory at the
# start, so a rebuild during the soak does not change what is measured. Run
# it niced on a shared machine: nice -n 10 bench/soak-rss.sh ...
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(dirname "$HERE")
BUILD_DIR="$SRC_DIR/build"
MINUTES=60
SEGMENT_S=2
FLAPS=30
MAX_FILES=30
DOWN_S=8
OUT_FILE=
INTERVAL_S=10
WRAP=

usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "soak-rss: $*" >&2; exit 1; }
log() { echo "soak-rss: $(date -u +%H:%M:%S) $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR=${2:?}; shift 2 ;;
    --minutes) MINUTES=${2:?}; shift 2 ;;
    --segment-s) SEGMENT_S=${2:?}; shift 2 ;;
    --flaps) FLAPS=${2:?}; shift 2 ;;
    --max-files) MAX_FILES=${2:?}; shift 2 ;;
    --out) OUT_FILE=${2:?}; shift 2 ;;
    --wrap) WRAP=${2:?}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
for n in "$MINUTES" "$SEGMENT_S" "$MAX_FILES"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "not a positive integer: $n"
done
[[ "$FLAPS" =~ ^[0-9]+$ ]] || die "not an integer: $FLAPS"
[ "$MINUTES" -ge 3 ] || die "--minutes must be at least 3 (growth counts from minute 2)"

PLUGIN_SO="$BUILD_DIR/plugins/dashcam/libgstdashcam.so"
INGEST_BIN="$BUILD_DIR/tools/dashcam-ingest"
[ -f "$PLUGIN_SO" ] && [ -x "$INGEST_BIN" ] ||
  die "build first (ninja -C $BUILD_DIR)"

RUN_DIR=$(mktemp -d /tmp/soak-rss.XXXXXX)
PIPE_PID=
ING_PID=
cleanup() {
  [ -n "$PIPE_PID" ] && kill -9 "$PIPE_PID" 2>/dev/null || true
  [ -n "$ING_PID" ] && kill -9 "$ING_PID" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$RUN_DIR"
}
trap cleanup EXIT
mkdir -p "$RUN_DIR/plugin" "$RUN_DIR/rec" "$RUN_DIR/server"
cp "$PLUGIN_SO" "$RUN_DIR/plugin/"
cp "$INGEST_BIN" "$RUN_DIR/dashcam-ingest"
export GST_PLUGIN_PATH_1_0="$RUN_DIR/plugin"
export GST_REGISTRY_1_0="$RUN_DIR/registry.bin"
plugin_md5=$(md5sum "$PLUGIN_SO" | cut -c1-12)
source_id=$(git -C "$SRC_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$SRC_DIR" diff --quiet 2>/dev/null || source_id="$source_id+changes"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# start_ingest PORT: sets ING_PID, and PORT when 0 was asked for
start_ingest() {
  local want=$1 deadline=$(( $(now_ms) + 5000 )) got
  : >"$RUN_DIR/ingest.log"
  "$RUN_DIR/dashcam-ingest" --port "$want" --root "$RUN_DIR/server" \
    >>"$RUN_DIR/ingest.log" 2>&1 &
  ING_PID=$!
  while [ "$(now_ms)" -lt "$deadline" ]; do
    got=$(grep -m1 -o 'listening on .*:[0-9]*' "$RUN_DIR/ingest.log" |
      grep -o '[0-9]*$' || true)
    if [ -n "$got" ]; then PORT=$got; return 0; fi
    sleep 0.05
  done
  die "dashcam-ingest did not start: $(cat "$RUN_DIR/ingest.log")"
}

PORT=0
start_ingest 0
log "ingest on port $PORT, recording into $RUN_DIR/rec for $MINUTES min, ${SEGMENT_S} s segments, $FLAPS flaps"

# shellcheck disable=SC2086
$WRAP gst-launch-1.0 -e -m \
  videotestsrc is-live=true pattern=ball ! \
  video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! \
  x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=1000 ! \
  h264parse ! mpegtsmux ! tee name=t \
  t. ! queue ! looprecsink location="$RUN_DIR/rec" \
      max-size-time=$(( SEGMENT_S * 1000000000 )) max-files="$MAX_FILES" \
  t. ! queue ! srtuploadsink uri="srt://127.0.0.1:$PORT" device-id=soak \
      backlog-location="$RUN_DIR/rec" reconnect-max-interval=1000000000 \
  >"$RUN_DIR/pipeline.log" 2>&1 &
PIPE_PID=$!
if [ -n "$WRAP" ]; then
  # measure and stop gst-launch itself, not the wrapper
  for _ in $(seq 1 100); do
    real=$(pgrep -P "$PIPE_PID" -x gst-launch-1.0 || true)
    [ -n "$real" ] && break
    sleep 0.1
  done
  [ -n "$real" ] || die "no gst-launch-1.0 under the wrapper"
  WRAP_PID=$PIPE_PID
  PIPE_PID=$real
fi

samples=$RUN_DIR/rss.csv
echo "seconds,rss_kb,anon_kb,file_kb" >"$samples"
sample() {
  awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 }
    END { printf "%s,%s,%s", r, a, f }' "/proc/$PIPE_PID/status"
}
# where the anonymous memory is, from /proc/PID/smaps: the main heap, glibc's
# thread arenas (anonymous mappings at a 64 MB boundary, one arena each),
# thread stacks (8 MB mappings), the rest; and the number of threads
memory_map() {
  awk 'function hex(h,   i, v) {
      v = 0
      for (i = 1; i <= length(h); i++)
        v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
      return v
    }
    /^[0-9a-f]+-[0-9a-f]+ / {
      split($1, r, "-"); name = $6; cat = ""
      if (name == "[heap]") cat = "heap"
      else if (name == "") {
        lo = hex(r[1]); hi = hex(r[2])
        if (lo % 67108864 == 0) { cat = "arenas"; n++ }
        else if (hi - lo == 8388608) cat = "stacks"
        else cat = "other"
      }
      next
    }
    /^Rss:/ && cat != "" { kb[cat] += $2 }
    END {
      printf "heap %d KB, %d thread arenas %d KB, thread stacks %d KB, other anonymous %d KB",
        kb["heap"], n, kb["arenas"], kb["stacks"], kb["other"]
    }' "/proc/$PIPE_PID/smaps"
  printf ", %s threads" "$(awk '/^Threads:/ { print $2 }' "/proc/$PIPE_PID/status")"
}
map_start=
map_end=
total_s=$(( MINUTES * 60 ))
# flaps spread over [60 s, end - 60 s]
flap_every=0
[ "$FLAPS" -gt 0 ] && flap_every=$(( (total_s - 120) / FLAPS ))
next_flap=60
flaps_done=0
down_until=0
t0=$(now_ms)
next_sample=0
while :; do
  el=$(( ($(now_ms) - t0) / 1000 ))
  [ "$el" -ge "$total_s" ] && break
  kill -0 "$PIPE_PID" 2>/dev/null || die "the pipeline died: $(tail -5 "$RUN_DIR/pipeline.log")"
  if [ "$el" -ge "$next_sample" ]; then
    echo "$el,$(sample)" >>"$samples"
    [ -z "$map_start" ] && [ "$el" -ge 120 ] && map_start=$(memory_map)
    next_sample=$(( next_sample + INTERVAL_S ))
  fi
  if [ "$down_until" -gt 0 ] && [ "$el" -ge "$down_until" ]; then
    start_ingest "$PORT"
    down_until=0
  elif [ "$flap_every" -gt 0 ] && [ "$flaps_done" -lt "$FLAPS" ] &&
    [ "$el" -ge "$next_flap" ] && [ "$down_until" = 0 ]; then
    kill -9 "$ING_PID"
    wait "$ING_PID" 2>/dev/null || true
    flaps_done=$(( flaps_done + 1 ))
    down_until=$(( el + DOWN_S ))
    next_flap=$(( next_flap + flap_every ))
    log "flap $flaps_done: ingest killed at ${el} s"
  fi
  sleep 0.5
done
echo "$total_s,$(sample)" >>"$samples"
map_end=$(memory_map)
kill -INT "$PIPE_PID"
for _ in $(seq 1 100); do kill -0 "$PIPE_PID" 2>/dev/null || break; sleep 0.1; done
kill -9 "$PIPE_PID" 2>/dev/null || true
wait "${WRAP_PID:-$PIPE_PID}" 2>/dev/null || true
PIPE_PID=

opened=$(grep -c 'looprecsink-segment-opened' "$RUN_DIR/pipeline.log" || true)
uploads=$(grep -c 'srtuploadsink-backlog.*state=(string)done' "$RUN_DIR/pipeline.log" || true)
ups=$(grep -c 'srtuploadsink-link.*state=(string)up' "$RUN_DIR/pipeline.log" || true)
errors=$(grep -c 'ERROR' "$RUN_DIR/pipeline.log" || true)
report=$(awk -F, -v seg="$opened" -v m="$MINUTES" '
  NR == 1 { next }
  { t[n] = $1; r[n] = $2; a[n] = $3; f[n] = $4; n++ }
  END {
    for (i = 0; i < n; i++) if (t[i] >= 120) { b = i; break }
    e = n - 1; max = 0; for (i = 0; i < n; i++) if (r[i] > max) max = r[i]
    growth = r[e] - r[b]
    printf "| RSS at %d s | %d KB (anon %d, file %d) |\n", t[b], r[b], a[b], f[b]
    printf "| RSS at the end (%d min) | %d KB (anon %d, file %d) |\n", m, r[e], a[e], f[e]
    printf "| growth from minute 2 to the end | %+d KB (anon %+d, file %+d) |\n", growth, a[e] - a[b], f[e] - f[b]
    printf "| RSS max | %d KB |\n", max
    printf "| per segment (growth / segments) | %.0f bytes |\n", seg ? growth * 1024 / seg : 0
  }' "$samples")
{
  echo "## soak-rss: $MINUTES min, ${SEGMENT_S} s segments, $flaps_done link flaps"
  echo
  echo "source $source_id, plugin md5 $plugin_md5, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| measure | value |"
  echo "|---|---|"
  echo "$report"
  echo "| segments opened | $opened |"
  echo "| link up (incl. first) | $ups |"
  echo "| backlog uploads done | $uploads |"
  echo "| ERROR lines | $errors |"
  echo "| anonymous memory at minute 2 | $map_start |"
  echo "| anonymous memory at the end | $map_end |"
  echo
  echo "RSS samples (s,KB) every ${INTERVAL_S} s:"
  echo
  awk -F, 'NR > 1 { printf "%s:%s ", $1, $2 } END { print "" }' "$samples"
  echo
  echo "anonymous RSS (s,KB):"
  echo
  awk -F, 'NR > 1 { printf "%s:%s ", $1, $3 } END { print "" }' "$samples"
} | tee "${OUT_FILE:-/dev/null}"
