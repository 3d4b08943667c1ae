#!/usr/bin/env bash
# looprec-bench.sh: throughput of looprecsink against a plain copy,
# splitmuxsink and ffmpeg's segment muxer. Run by hand, never in CI: the
# numbers depend on the machine and on what else it is doing.
#
#   bench/looprec-bench.sh [--build-dir DIR] [--reps N] [--out FILE]
#                          [--copies K] [--work DIR] [--tmp DIR] [--timeout S]
#
# Input. A 60 s 720p30 ~4 Mbit/s H.264 MPEG-TS (~31 MB) is encoded once with
# x264enc and cached in --work (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/gst-dashcam-bench); encoding takes about a
# minute on 2 cores. Copying 31 MB takes ~0.04 s, far too short to measure a
# sink, so the measured input is that file concatenated --copies times
# (default 16, ~500 MB, 16 min of video) into one file on tmpfs.
#
# Why concatenate rather than repeat each run: one long run per measurement
# keeps process start-up and plugin loading (~30 ms) out of the result and
# keeps the sinks in their steady state. At each join the timestamps jump
# back 60 s (and continuity counters break). Checked with GStreamer 1.22 and
# ffmpeg 5.1: looprecsink takes the jump for a new stream and starts a new
# segment at its first keyframe (6 segments per copy); ffmpeg offsets the
# discontinuity (mpegts is a TS_DISCONT format) and keeps cutting every
# ~10 s (also 6 per copy); tsdemux smooths the jump too and splitmuxsink
# cuts a few extra short segments (100 for 16 copies). So every contender
# does the same work on the same bytes; the segments column shows it.
#
# Output goes to a tmpfs directory (--tmp, default /dev/shm), so what is
# measured is the CPU and copying cost of each sink, not the disk: on tmpfs
# fdatasync() returns at once. On a real SD card or SSD, looprecsink's
# periodic fdatasync (sync-interval) costs far more than shown here. And
# sync-interval counts wall-clock time: a run of under a second does no
# periodic sync at all (strace: 288 fdatasync calls with and without it,
# all at segment close), so the two looprecsink rows differ only by noise.
#
# Method. Each contender runs --reps times (default 5); the reps are
# interleaved (one run of every contender per round, in a rotating order) so
# that load from other work on the machine spreads over all contenders
# instead of hitting one. One untimed warm-up round on the 60 s file builds
# the private registry, faults in the libraries and checks every pipeline
# works, and one untimed full-size copy faults in the memory the outputs
# will use (in a VM the first one was 3x slower). Output directories are
# emptied before every run. Every run is wrapped in `timeout` (splitmuxsink
# sometimes never finishes at EOS): a run that times out counts as a hang,
# not in the medians. A run that exits non-zero, or leaves no segments or
# under 95% of the input's bytes, counts as failed. Reported: median wall
# time, median user+sys CPU seconds (/usr/bin/time, or bash's `time` when
# missing), throughput = input bytes / median wall time (MB = 10^6 bytes),
# the ratio to the floor (filesrc ! filesink), and the fastest and slowest
# run: with another build running on 2 cores, the same pipeline's time
# varied by up to 60%, so the verdict also compares the best runs, the
# least disturbed ones. All GStreamer contenders read with filesrc's
# default 4096-byte blocks.
#
# The plugin is copied from the build directory at start, so a rebuild
# during the run does not change what is measured; its checksum is printed.
#
# Targets (verdict line): looprecsink (default sync-interval) reaches
# >= 0.9x the floor's throughput and beats splitmuxsink and ffmpeg.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(dirname "$HERE")

BUILD_DIR="$SRC_DIR/build"
REPS=5
OUT_FILE=
COPIES=16
WORK_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/gst-dashcam-bench"
TMP_BASE=/dev/shm
TIMEOUT=120
SEG_NS=10000000000

usage () {
  sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  cat <<EOF

  --build-dir DIR  meson build directory (default: $SRC_DIR/build)
  --reps N         timed runs per contender (default: $REPS)
  --out FILE       also write the report (markdown) to FILE
  --copies K       copies of the 60 s file in the input (default: $COPIES)
  --work DIR       cache for the encoded 60 s file (default: $WORK_DIR)
  --tmp DIR        tmpfs directory for input and outputs (default: $TMP_BASE)
  --timeout S      seconds before a run counts as a hang (default: $TIMEOUT)
EOF
}

die () {
  echo "looprec-bench: $*" >&2
  exit 1
}

log () {
  echo "looprec-bench: $*" >&2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR=${2:?}; shift 2 ;;
    --reps) REPS=${2:?}; shift 2 ;;
    --out) OUT_FILE=${2:?}; shift 2 ;;
    --copies) COPIES=${2:?}; shift 2 ;;
    --work) WORK_DIR=${2:?}; shift 2 ;;
    --tmp) TMP_BASE=${2:?}; shift 2 ;;
    --timeout) TIMEOUT=${2:?}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

for n in "$REPS" "$COPIES" "$TIMEOUT"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "not a positive integer: $n"
done

# ---------------------------------------------------------------------------
# Environment

for tool in gst-launch-1.0 gst-inspect-1.0 ffmpeg ffprobe timeout awk; do
  command -v "$tool" >/dev/null || die "$tool not found"
done

PLUGIN_SO="$BUILD_DIR/plugins/dashcam/libgstdashcam.so"
[ -f "$PLUGIN_SO" ] ||
  die "$PLUGIN_SO missing: build first (ninja -C $BUILD_DIR)"

[ -d "$TMP_BASE" ] || die "$TMP_BASE is not a directory"
TMP_FS=$(stat -f -c %T "$TMP_BASE")
[ "$TMP_FS" = tmpfs ] ||
  log "warning: $TMP_BASE is $TMP_FS, not tmpfs: disk cost will show"

TIME_BIN=
if [ -x /usr/bin/time ]; then
  TIME_BIN=/usr/bin/time
fi

RUN_DIR=$(mktemp -d "$TMP_BASE/looprec-bench.XXXXXX")
cleanup () {
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A private copy of the plugin and a private registry: nothing the other
# users of the build directory do can change the plugin under us.
mkdir -p "$RUN_DIR/plugin"
cp "$PLUGIN_SO" "$RUN_DIR/plugin/"
# Read-only git: --no-optional-locks keeps it from refreshing the index.
SOURCE_ID=unknown
if git -C "$SRC_DIR" rev-parse --short HEAD >/dev/null 2>&1; then
  SOURCE_ID=$(git -C "$SRC_DIR" rev-parse --short HEAD)
  git --no-optional-locks -C "$SRC_DIR" diff --quiet HEAD -- gst plugins \
      2>/dev/null || SOURCE_ID="$SOURCE_ID + uncommitted changes"
fi
PLUGIN_ID="sha256 $(sha256sum "$RUN_DIR/plugin/libgstdashcam.so" | cut -c1-12),\
 built $(date -u -r "$PLUGIN_SO" +%Y-%m-%dT%H:%M:%SZ)"
export GST_PLUGIN_PATH_1_0="$RUN_DIR/plugin"
export GST_REGISTRY_1_0="$RUN_DIR/registry.bin"
unset GST_DEBUG GST_TRACERS

gst-inspect-1.0 looprecsink >/dev/null 2>&1 ||
  die "looprecsink not found in $PLUGIN_SO"
for el in filesrc filesink tsdemux h264parse splitmuxsink mpegtsmux \
    videotestsrc x264enc; do
  gst-inspect-1.0 "$el" >/dev/null 2>&1 || die "GStreamer element $el missing"
done

# ---------------------------------------------------------------------------
# Input

SRC_TS="$WORK_DIR/src-60s-720p30-4M.ts"

make_source () {
  local tmp="$SRC_TS.tmp.$$" size dur

  mkdir -p "$WORK_DIR"
  log "encoding the 60 s source once into $SRC_TS (about a minute)"
  # horizontal-speed makes the picture move, so x264 spends its bitrate
  # as it would on road video; I420 keeps it 8-bit 4:2:0.
  gst-launch-1.0 -q videotestsrc num-buffers=1800 pattern=smpte \
      horizontal-speed=4 ! \
      video/x-raw,format=I420,width=1280,height=720,framerate=30/1 ! \
      x264enc bitrate=4000 speed-preset=veryfast key-int-max=30 ! \
      h264parse ! mpegtsmux ! filesink location="$tmp" ||
    { rm -f "$tmp"; die "encoding the source failed"; }
  size=$(stat -c %s "$tmp")
  dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$tmp")
  if [ "$size" -lt 20000000 ] || [ "$size" -gt 45000000 ] ||
      ! awk -v d="$dur" 'BEGIN { exit !(d > 59 && d < 61) }'; then
    rm -f "$tmp"
    die "encoded source is $size bytes, ${dur} s: expected ~31 MB, 60 s"
  fi
  mv "$tmp" "$SRC_TS"
}

[ -s "$SRC_TS" ] || make_source
SRC_BYTES=$(stat -c %s "$SRC_TS")

need=$((SRC_BYTES * COPIES * 5 / 2))
avail=$(($(stat -f -c '%a * %S' "$TMP_BASE")))
[ "$avail" -gt "$need" ] ||
  die "$TMP_BASE has $((avail / 1000000)) MB free, need $((need / 1000000))"

IN="$RUN_DIR/in.ts"
for ((i = 0; i < COPIES; i++)); do
  cat "$SRC_TS"
done >"$IN"
IN_BYTES=$(stat -c %s "$IN")
OUT="$RUN_DIR/out"

# ---------------------------------------------------------------------------
# Contenders: CONTENDERS holds the names, LABELS the table rows, and
# contender_cmd the command line of each.

CONTENDERS=(floor looprecsink looprecsink-sync0 splitmuxsink ffmpeg)
LABELS=(
  "floor (filesrc ! filesink)"
  "looprecsink"
  "looprecsink sync-interval=0"
  "splitmuxsink muxer=mpegtsmux"
  "ffmpeg -f segment"
)

contender_cmd () {
  local in=$2 out=$3

  case "$1" in
    floor)
      echo gst-launch-1.0 -q filesrc location="$in" ! \
          filesink location="$out/out.ts" ;;
    looprecsink)
      echo gst-launch-1.0 -q filesrc location="$in" ! \
          looprecsink location="$out" max-size-time=$SEG_NS ;;
    looprecsink-sync0)
      echo gst-launch-1.0 -q filesrc location="$in" ! \
          looprecsink location="$out" max-size-time=$SEG_NS sync-interval=0 ;;
    splitmuxsink)
      echo gst-launch-1.0 -q filesrc location="$in" ! tsdemux ! h264parse ! \
          splitmuxsink muxer=mpegtsmux max-size-time=$SEG_NS \
          location="$out/seg%05d.ts" ;;
    ffmpeg)
      echo ffmpeg -nostdin -v error -i "$in" -c copy -map 0 -f segment \
          -segment_time 10 "$out/seg%05d.ts" ;;
  esac
}

# Runs one contender on @in into a fresh $OUT; prints
# "status wall cpu segments bytes" (status: ok, hang or fail).
# The paths have no spaces (mktemp under $TMP_BASE), so word splitting of
# contender_cmd's output is safe; checked below.
run_one () {
  local name=$1 in=$2 in_bytes=$3 rc=0 wall user sys segs bytes status
  local tfile="$RUN_DIR/time" lfile="$RUN_DIR/$name.log"
  local -a cmd

  read -r -a cmd <<<"$(contender_cmd "$name" "$in" "$OUT")"
  rm -rf "$OUT"
  mkdir -p "$OUT"
  if [ -n "$TIME_BIN" ]; then
    "$TIME_BIN" -f '%e %U %S' -o "$tfile" \
        timeout -k 5 "$TIMEOUT" "${cmd[@]}" >"$lfile" 2>&1 || rc=$?
  else
    local TIMEFORMAT='%R %U %S'
    { time timeout -k 5 "$TIMEOUT" "${cmd[@]}" >"$lfile" 2>&1 || rc=$?; } \
        2>"$tfile"
  fi
  # GNU time puts "Command exited with non-zero status" first
  read -r wall user sys < <(tail -n 1 "$tfile")
  segs=$(find "$OUT" -type f -name '*.ts' | wc -l)
  bytes=$(find "$OUT" -type f -name '*.ts' -printf '%s\n' |
      awk '{ s += $1 } END { printf "%d", s }')
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    status=hang
  elif [ "$rc" -ne 0 ] || [ "$segs" -eq 0 ] ||
      [ "$bytes" -lt $((in_bytes * 95 / 100)) ]; then
    status=fail
    log "$name failed (rc $rc, $segs segments, $bytes bytes):"
    tail -n 5 "$lfile" | sed 's/^/    /' >&2
  else
    status=ok
  fi
  echo "$status $wall $(awk -v u="$user" -v s="$sys" \
      'BEGIN { printf "%.2f", u + s }') $segs $bytes"
}

case "$IN$OUT" in
  *[[:space:]]*) die "temporary path has spaces: $RUN_DIR" ;;
esac

# ---------------------------------------------------------------------------
# Runs

LOAD_START=$(uptime)
log "input: $SRC_TS x $COPIES = $IN_BYTES bytes in $IN"
log "warm-up round on the 60 s file"
for name in "${CONTENDERS[@]}"; do
  read -r status _ <<<"$(run_one "$name" "$SRC_TS" "$SRC_BYTES")"
  [ "$status" = ok ] || log "warm-up: $name: $status"
done
# The first time a VM's guest writes this much to tmpfs, the host faults
# the memory in: the first full-size run was 3x slower. Take that hit here.
run_one floor "$IN" "$IN_BYTES" >/dev/null

RESULTS="$RUN_DIR/results"
: >"$RESULTS"
n=${#CONTENDERS[@]}
LOAD_MAX=0
for ((r = 0; r < REPS; r++)); do
  LOAD_MAX=$(awk -v m="$LOAD_MAX" '{ print ($1 > m ? $1 : m) }' /proc/loadavg)
  for ((k = 0; k < n; k++)); do
    name=${CONTENDERS[$(((k + r) % n))]}
    line=$(run_one "$name" "$IN" "$IN_BYTES")
    log "round $((r + 1))/$REPS: $name: $line"
    echo "$name $line" >>"$RESULTS"
  done
done
rm -rf "$OUT"
LOAD_END=$(uptime)

# ---------------------------------------------------------------------------
# Report

median () {
  sort -g | awk '{ v[NR] = $1 }
      END { if (NR == 0) print "nan";
            else if (NR % 2) print v[(NR + 1) / 2];
            else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

declare -A WALL RANGE CPU THR SEGS OUTMB RUNS
for name in "${CONTENDERS[@]}"; do
  RANGE[$name]=$(awk -v c="$name" '$1 == c && $2 == "ok" { print $3 }' \
      "$RESULTS" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 }
          END { print (NR ? lo "-" hi : "nan") }')
  WALL[$name]=$(awk -v c="$name" '$1 == c && $2 == "ok" { print $3 }' \
      "$RESULTS" | median)
  CPU[$name]=$(awk -v c="$name" '$1 == c && $2 == "ok" { print $4 }' \
      "$RESULTS" | median)
  THR[$name]=$(awk -v w="${WALL[$name]}" -v b="$IN_BYTES" \
      'BEGIN { if (w == "nan" || w <= 0) print "nan";
               else printf "%.1f", b / 1e6 / w }')
  SEGS[$name]=$(awk -v c="$name" '$1 == c { print $5 }' "$RESULTS" | sort -n |
      awk 'NR == 1 { lo = $1 } { hi = $1 }
           END { print (lo == hi ? lo : lo "-" hi) }')
  OUTMB[$name]=$(awk -v c="$name" '$1 == c { print $6 }' "$RESULTS" |
      median | awk '{ printf "%.1f", $1 / 1e6 }')
  RUNS[$name]=$(awk -v c="$name" '$1 == c { n[$2]++ }
      END { s = (n["ok"] + 0) " ok";
            if (n["hang"]) s = s ", " n["hang"] " hang";
            if (n["fail"]) s = s ", " n["fail"] " failed";
            print s }' "$RESULTS")
done

ratio () {
  awk -v a="$1" -v b="$2" 'BEGIN {
      if (a == "nan" || b == "nan" || b <= 0) print "nan";
      else printf "%.2f", a / b }'
}

verdict () {
  local fl=${THR[floor]} x who met=MET text

  x=$(ratio "${THR[looprecsink]}" "$fl")
  if awk -v x="$x" 'BEGIN { exit !(x != "nan" && x >= 0.9) }'; then
    text="${x}x the floor (>= 0.90x: met)"
  else
    met=MISSED
    text="${x}x the floor (>= 0.90x: MISSED, $(awk -v x="$x" 'BEGIN {
        if (x == "nan") print "no result";
        else printf "%.0f%% short of it", (0.9 - x) / 0.9 * 100 }'))"
  fi
  for who in splitmuxsink ffmpeg; do
    x=$(ratio "${THR[looprecsink]}" "${THR[$who]}")
    if awk -v x="$x" 'BEGIN { exit !(x != "nan" && x > 1) }'; then
      text="$text, ${x}x $who (faster: met)"
    elif [ "$x" = nan ]; then
      text="$text, no result to compare with $who"
    else
      met=MISSED
      text="$text, ${x}x $who (faster: MISSED)"
    fi
  done
  # best runs: the least disturbed by other work, a check on the medians
  echo "**Verdict: targets $met.** looprecsink (default sync-interval)" \
      "throughput is $text; with sync-interval=0 it is" \
      "$(ratio "${THR[looprecsink-sync0]}" "$fl")x the floor; best run" \
      "against best run, looprecsink is" \
      "$(ratio "${RANGE[floor]%-*}" "${RANGE[looprecsink]%-*}")x the floor."
}

report () {
  echo "## looprecsink benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "- machine: $(nproc) cores, $(uname -sr);" \
      "GStreamer $(gst-launch-1.0 --version | awk 'NR == 2 { print $2 }')," \
      "ffmpeg $(ffmpeg -version | awk 'NR == 1 { print $3 }')"
  echo "- plugin: $PLUGIN_SO ($PLUGIN_ID; source $SOURCE_ID)"
  echo "- input: 60 s 720p30 H.264 TS ($((SRC_BYTES / 1000)) kB) x $COPIES" \
      "concatenated = $(awk -v b="$IN_BYTES" \
          'BEGIN { printf "%.1f", b / 1e6 }') MB;" \
      "10 s segments; $REPS timed runs each, interleaved, after a warm-up"
  echo "- all output written to $TMP_BASE ($TMP_FS): measures the sinks'" \
      "CPU and copy cost, not the disk (fdatasync is free on tmpfs)"
  echo "- load at start: ${LOAD_START#*load average: };" \
      "at end: ${LOAD_END#*load average: };" \
      "highest 1-min load at a round start: $LOAD_MAX" \
      "(includes this benchmark's own runs)"
  echo "- timing: ${TIME_BIN:-bash time}; MB = 10^6 bytes; medians over" \
      "the runs that finished (a hang is a run killed after ${TIMEOUT} s);" \
      "CPU s = user + sys"
  echo
  echo "| contender | median wall s | CPU s | MB/s | x floor | segments |" \
      "output MB | runs | wall min-max s |"
  echo "|---|---:|---:|---:|---:|---:|---:|---|---:|"
  for ((k = 0; k < n; k++)); do
    local name=${CONTENDERS[$k]}
    echo "| ${LABELS[$k]} | ${WALL[$name]} | ${CPU[$name]} |" \
        "${THR[$name]} | $(ratio "${THR[$name]}" "${THR[floor]}") |" \
        "${SEGS[$name]} | ${OUTMB[$name]} | ${RUNS[$name]} |" \
        "${RANGE[$name]} |"
  done
  echo
  verdict
}

report | sed -e 's/\bnanx\b/n\/a/g' -e 's/\bnan\b/n\/a/g' >"$RUN_DIR/report.md"
cat "$RUN_DIR/report.md"
if [ -n "$OUT_FILE" ]; then
  cp "$RUN_DIR/report.md" "$OUT_FILE"
fi
