#!/usr/bin/env bash
# srtupload-bench.sh: cost and speed of srtuploadsink on 127.0.0.1. Run by
# hand, never in CI: the numbers depend on the machine and on what else it
# is doing.
#
#   bench/srtupload-bench.sh [--seconds N] [--out FILE] [--reps R]
#                            [--outage S] [--restarts K] [--build-dir DIR]
#                            [--work DIR] [--tmp DIR] [--keep]
#                            [--parts LIST]
#
# Three measurements, each printed as a markdown table:
#
# 1. CPU while streaming live. A 1280x720 30 fps H.264 MPEG-TS at ~8 Mbit/s
#    (videotestsrc pattern=snow, so every frame really costs its bits;
#    x264enc bitrate=8000 key-int-max=30 speed-preset=ultrafast) of N
#    seconds is encoded once and cached in --work. It is played in real time
#    (filesrc ! tsparse set-timestamps=true ! clocksync ! SINK) into
#      - fakesink sync=false (the baseline: reading, parsing, pacing),
#      - srtuploadsink (live only, no backlog-location),
#      - srtsink (GStreamer's, caller mode, sync=false),
#      - srt-live-transmit (Haivision's own sender), fed by the same
#        playback through a pipe (fdsink), both processes counted,
#    the last three each to a fresh dashcam-ingest on 127.0.0.1. The CPU of
#    a run is the process's user+sys time (/usr/bin/time); the sink's cost
#    is the median over --reps runs minus the baseline's median, shown in %
#    of one core over the N seconds of video (target for srtuploadsink:
#    <= 1%).
#    A fifth row is the floor under any libsrt sender: srt-floor-sender
#    (bench/srt-floor-sender.c, built with the project) connects with the
#    same library code as srtuploadsink's live link and hands the same file
#    to libsrt in 1316-byte messages from its one thread, paced at the
#    file's bitrate in FLOOR_HZ (15) bursts a second, which is how the
#    playback above delivers it (clocksync releases ~15 bursts a second
#    of this input). No GStreamer, no queue, no thread of its own: its
#    process CPU from after it read the file into memory (it reports
#    getrusage() then and at the end) is what libsrt and the kernel cost
#    for the stream.
#    The threads of each run are also sampled every 0.2 s from
#    /proc/PID/task/*/stat: the element's own threads (srtupload-*) and
#    libsrt's (SRT:*), a lower bound (the last 0.2 s are not seen) that
#    attributes the cost without the baseline's noise. The bytes the
#    receiver wrote show that each run really streamed. Runs are
#    interleaved (one of each per round, rotating order) after an untimed
#    warm-up round on a 2 s cut of the input.
#    srtsink of GStreamer 1.22 drops buffers flagged HEADER (mpegtsmux
#    output); tsparse's output carries no such flag, so srtsink gets
#    every buffer here. It closes at once at EOS, so the receiver may miss
#    the last ~latency of data (received column: ~99.8%); srtuploadsink
#    waits for the acknowledgements and lingers, hence its longer wall time.
#
#    Then the same senders connected for IDLE_S (20) seconds with nothing
#    to send (srtuploadsink and srtsink behind an appsrc that never pushes,
#    srt-live-transmit reading a silent FIFO): CPU of the process and of
#    its thread groups between two samples taken after the receiver logged
#    the connection. What libsrt costs when it only waits is a floor under
#    the streaming numbers.
#
# 2. Backlog drain rate against backlog-max-bitrate B (2 and 8 Mbit/s). A
#    live dashcam pipeline (tee to looprecsink with 3 s segments and to
#    srtuploadsink, as lib.sh's run_dashcam) streams to a port where nothing
#    listens for --outage seconds (default 20); then dashcam-ingest starts
#    there, live resumes and the missed segments are uploaded. Per upload:
#    bytes * 8 / (time of the `srtuploadsink-backlog state=done` message -
#    time of `state=started`), from the bus log timestamped with
#    EPOCHREALTIME as it is printed; overall: all bytes / (last done - first
#    started). Target: >= 90% of B. Two videos: run_dashcam's (320x240 ball,
#    ~200 kbit/s, ~80 kB segments: a connect, the pacing of a few hundred
#    packets and the wait for the last acknowledgement, so fixed costs
#    dominate) and a 640x360 pattern=snow one at x264enc bitrate=4000
#    (~1.5 MB segments: what the target is about). The receiver's copy of
#    each upload is compared with the segment's size.
#
# 3. Time from receiver restart to the first live byte. With the
#    run_dashcam pipeline (reconnect-max-interval=1 s) streaming, the
#    receiver is SIGKILLed, restarted 5 s later on the same port and root,
#    and the root is polled every 10 ms for a new live file
#    car42/YYYYmmdd-HHMMSS.ts above 0 bytes; --restarts times (default 5).
#    Also shown: restart -> `listening` line, restart -> the bus message
#    srtuploadsink-link state=up.
#
# Everything runs on 127.0.0.1; every process the script starts is tracked
# by PID and killed at exit (trap). The plugin and dashcam-ingest are copied
# from the build directory at start (their checksums are printed), so a
# rebuild during the run does not change what is measured. Work files go to
# --tmp (default /dev/shm, tmpfs: fdatasync is free, the disk plays no
# part).

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(dirname "$HERE")

BUILD_DIR="$SRC_DIR/build"
SECONDS_N=60
OUT_FILE=
REPS=3
OUTAGE=20
RESTARTS=5
WORK_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/gst-dashcam-bench"
TMP_BASE=/dev/shm
KEEP=
BITRATES=(2000000 8000000)
PARTS="1 1b 2 3"

usage () {
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  cat <<EOF

  --seconds N      length of the 8 Mbit/s input played in part 1 (default: $SECONDS_N)
  --out FILE       also write the report (markdown) to FILE
  --reps R         timed runs per contender in part 1 (default: $REPS)
  --outage S       seconds without a receiver in part 2 (default: $OUTAGE)
  --restarts K     receiver restarts in part 3 (default: $RESTARTS)
  --build-dir DIR  meson build directory (default: $SRC_DIR/build)
  --work DIR       cache for the encoded input (default: $WORK_DIR)
  --tmp DIR        directory for the run's files (default: $TMP_BASE)
  --keep           keep the run directory (logs, recordings) for inspection
  --parts LIST     which measurements, comma-separated (default: 1,1b,2,3)
EOF
}

die () {
  echo "srtupload-bench: $*" >&2
  exit 1
}

log () {
  echo "srtupload-bench: $*" >&2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_N=${2:?}; shift 2 ;;
    --out) OUT_FILE=${2:?}; shift 2 ;;
    --reps) REPS=${2:?}; shift 2 ;;
    --outage) OUTAGE=${2:?}; shift 2 ;;
    --restarts) RESTARTS=${2:?}; shift 2 ;;
    --build-dir) BUILD_DIR=${2:?}; shift 2 ;;
    --work) WORK_DIR=${2:?}; shift 2 ;;
    --tmp) TMP_BASE=${2:?}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --parts) PARTS=${2:?}; PARTS=${PARTS//,/ }; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

for n in "$SECONDS_N" "$REPS" "$OUTAGE" "$RESTARTS"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "not a positive integer: $n"
done
[ "$SECONDS_N" -ge 5 ] || die "--seconds must be at least 5"

# ---------------------------------------------------------------------------
# Environment

for tool in gst-launch-1.0 gst-inspect-1.0 ffprobe stdbuf awk python3 \
    mkfifo sha256sum /usr/bin/time srt-live-transmit; do
  command -v "$tool" >/dev/null || die "$tool not found"
done

PLUGIN_SO="$BUILD_DIR/plugins/dashcam/libgstdashcam.so"
INGEST_BIN="$BUILD_DIR/tools/dashcam-ingest"
FLOOR_BIN="$BUILD_DIR/bench/srt-floor-sender"
[ -f "$PLUGIN_SO" ] ||
  die "$PLUGIN_SO missing: build first (ninja -C $BUILD_DIR)"
[ -x "$INGEST_BIN" ] ||
  die "$INGEST_BIN missing: build first (ninja -C $BUILD_DIR)"
[ -x "$FLOOR_BIN" ] ||
  die "$FLOOR_BIN missing: build first (ninja -C $BUILD_DIR)"
[ -d "$TMP_BASE" ] || die "$TMP_BASE is not a directory"
TMP_FS=$(stat -f -c %T "$TMP_BASE")
CLK_TCK=$(getconf CLK_TCK)

RUN_DIR=$(mktemp -d "$TMP_BASE/srtupload-bench.XXXXXX")
case "$RUN_DIR" in
  *[[:space:]]*) die "temporary path has spaces: $RUN_DIR" ;;
esac

# Every process started in the background is tracked here and killed at
# exit if it still runs. untrack() once it has been waited for, so that a
# recycled PID is never signalled.
PIDS=()
track () { PIDS+=("$1"); }
untrack () {
  local i
  for i in "${!PIDS[@]}"; do
    [ "${PIDS[$i]}" = "$1" ] && unset 'PIDS[i]'
  done
  return 0
}
cleanup () {
  local pid alive=()
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      alive+=("$pid")
    fi
  done
  if [ ${#alive[@]} -gt 0 ]; then
    sleep 1
    for pid in "${alive[@]}"; do
      kill -KILL "$pid" 2>/dev/null || true
    done
  fi
  if [ -n "$KEEP" ]; then
    log "kept $RUN_DIR"
  else
    rm -rf "$RUN_DIR"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Private copies: nothing the other users of the build directory do can
# change the plugin or the receiver under us.
mkdir -p "$RUN_DIR/plugin" "$RUN_DIR/bin"
cp "$PLUGIN_SO" "$RUN_DIR/plugin/"
cp "$INGEST_BIN" "$FLOOR_BIN" "$RUN_DIR/bin/"
SOURCE_ID=unknown
if git -C "$SRC_DIR" rev-parse --short HEAD >/dev/null 2>&1; then
  SOURCE_ID=$(git -C "$SRC_DIR" rev-parse --short HEAD)
  # Read-only git: --no-optional-locks keeps it from refreshing the index.
  git --no-optional-locks -C "$SRC_DIR" diff --quiet HEAD -- gst plugins \
      tools bench/srt-floor-sender.c 2>/dev/null ||
    SOURCE_ID="$SOURCE_ID + uncommitted changes in the measured code"
fi
PLUGIN_ID="sha256 $(sha256sum "$RUN_DIR/plugin/libgstdashcam.so" | cut -c1-12),\
 built $(date -u -r "$PLUGIN_SO" +%Y-%m-%dT%H:%M:%SZ)"
INGEST_ID="sha256 $(sha256sum "$RUN_DIR/bin/dashcam-ingest" | cut -c1-12),\
 built $(date -u -r "$INGEST_BIN" +%Y-%m-%dT%H:%M:%SZ)"
export GST_PLUGIN_PATH_1_0="$RUN_DIR/plugin"
export GST_REGISTRY_1_0="$RUN_DIR/registry.bin"
export DASHCAM_INGEST="$RUN_DIR/bin/dashcam-ingest"
unset GST_DEBUG GST_TRACERS

# start_ingest, free_udp_port, wait_for_line, now_ms
# shellcheck disable=SC1091
. "$SRC_DIR/tests/integration/lib.sh"

gst-inspect-1.0 srtuploadsink >/dev/null 2>&1 ||
  die "srtuploadsink not found in $PLUGIN_SO"
for el in filesrc tsparse clocksync fakesink srtsink videotestsrc x264enc \
    h264parse mpegtsmux tee queue looprecsink; do
  gst-inspect-1.0 "$el" >/dev/null 2>&1 || die "GStreamer element $el missing"
done

# ---------------------------------------------------------------------------
# Helpers

# Prefixes every line of stdin with $EPOCHREALTIME as it is read.
stamp () {
  local line
  while IFS= read -r line; do
    printf '%s %s\n' "$EPOCHREALTIME" "$line"
  done
}

# spawn_stamped LOG CMD...: runs CMD in the background, its output line
# buffered and timestamped into LOG, through a FIFO so that both the
# command and the timestamper have a PID we know. Sets SPAWN_PID and
# STAMP_PID.
FIFO_N=0
spawn_stamped () {
  local log=$1 fifo
  shift
  FIFO_N=$((FIFO_N + 1))
  fifo="$RUN_DIR/fifo.$FIFO_N"
  mkfifo "$fifo"
  stamp <"$fifo" >"$log" &
  STAMP_PID=$!
  track "$STAMP_PID"
  stdbuf -oL -eL "$@" >"$fifo" 2>&1 &
  SPAWN_PID=$!
  track "$SPAWN_PID"
}

# wait_pid PID TIMEOUT_S: waits for a child, KILLs it after TIMEOUT_S.
# Returns its exit status (137 when killed).
wait_pid () {
  local pid=$1 deadline=$(( $(now_ms) + $2 * 1000 )) rc=0 st
  while kill -0 "$pid" 2>/dev/null && [ "$(now_ms)" -lt "$deadline" ]; do
    # a zombie passes kill -0: look at its state
    read -r st 2>/dev/null <"/proc/$pid/stat" || break
    st=${st##*) }
    [ "${st%% *}" = Z ] && break
    sleep 0.05
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || rc=$?
  untrack "$pid"
  return "$rc"
}

# stop_ingest: lets the receiver write what libsrt still holds for a caller
# that left (it keeps reading for latency + 1 s), then stops it.
stop_ingest () {
  local log=$1 opened closed deadline=$(( $(now_ms) + 3000 ))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    opened=$(grep -c '^connect id=' "$log" || true)
    closed=$(grep -c '^close id=' "$log" || true)
    [ "$closed" -ge "$opened" ] && break
    sleep 0.05
  done
  kill -TERM "$ING_PID" 2>/dev/null || true
  wait_pid "$ING_PID" 5 || true
}

median () {
  sort -g | awk '{ v[NR] = $1 }
      END { if (NR == 0) print "nan";
            else if (NR % 2) print v[(NR + 1) / 2];
            else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# "min median max" of numbers on stdin, printf format $1
min_med_max () {
  sort -g | awk -v f="$1" '{ v[NR] = $1 }
      END { if (NR == 0) { print "nan nan nan"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
            printf f " " f " " f "\n", v[1], m, v[NR] }'
}

fsum () {
  find "$@" -type f -name '*.ts' -printf '%s\n' 2>/dev/null |
      awk '{ s += $1 } END { printf "%d", s }'
}

# ---------------------------------------------------------------------------
# Part 1 input

SRC_TS="$WORK_DIR/src-${SECONDS_N}s-720p30-8M-snow.ts"

make_source () {
  local tmp="$SRC_TS.tmp.$$" size dur rate

  mkdir -p "$WORK_DIR"
  log "encoding the ${SECONDS_N} s 8 Mbit/s source once into $SRC_TS"
  gst-launch-1.0 -q videotestsrc num-buffers=$((SECONDS_N * 30)) \
      pattern=snow ! \
      video/x-raw,format=I420,width=1280,height=720,framerate=30/1 ! \
      x264enc bitrate=8000 key-int-max=30 speed-preset=ultrafast ! \
      h264parse ! mpegtsmux ! filesink location="$tmp" ||
    { rm -f "$tmp"; die "encoding the source failed"; }
  size=$(stat -c %s "$tmp")
  dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$tmp")
  rate=$(awk -v s="$size" -v d="$dur" 'BEGIN { printf "%d", s * 8 / d }')
  if ! awk -v d="$dur" -v n="$SECONDS_N" -v r="$rate" \
      'BEGIN { exit !(d > n - 1 && d < n + 1 && r > 7.5e6 && r < 9.6e6) }'; then
    rm -f "$tmp"
    die "encoded source is $size bytes, $dur s ($rate bit/s): expected ~8.4 Mbit/s"
  fi
  mv "$tmp" "$SRC_TS"
}

# ---------------------------------------------------------------------------
# Part 1: CPU of live streaming

# Bursts a second of the libsrt floor sender: what clocksync does with the
# 8 Mbit/s input (its thread waits ~15 times a second).
FLOOR_HZ=15

# Per-thread CPU ticks of the last sample: TID -> comm, TID -> ticks.
declare -A T_COMM T_TICKS

sample_threads () {
  local f line rest tid
  local -a fld
  for f in /proc/"$1"/task/*/stat; do
    read -r line <"$f" || continue
    tid=${f%/stat}
    tid=${tid##*/}
    rest=${line##*) }
    read -r -a fld <<<"$rest"
    T_COMM[$tid]=${line#*(}
    T_COMM[$tid]=${T_COMM[$tid]%)*}
    T_TICKS[$tid]=$(( fld[11] + fld[12] ))
  done 2>/dev/null
}

# Seconds of sampled CPU of the threads whose name starts with $1.
thread_cpu () {
  local tid t=0
  for tid in "${!T_COMM[@]}"; do
    case "${T_COMM[$tid]}" in
      "$1"*) t=$((t + T_TICKS[$tid])) ;;
    esac
  done
  awk -v t="$t" -v h="$CLK_TCK" 'BEGIN { printf "%.2f", t / h }'
}

# run_play NAME INPUT: one real-time playback; sets RESULT to
# "rc wall cpu elem_cpu srt_cpu bytes_received". Runs in this shell (not
# in $(...)), so that the trap knows every PID it starts.
run_play () {
  local name=$1 in=$2 dir="$RUN_DIR/p1/$1" tpid cpid="" rc=0 i
  local wall user sys bytes=0
  local -a sink
  rm -rf "$dir" "$dir.log"
  mkdir -p "$dir"
  case "$name" in
    baseline)
      sink=(fakesink sync=false) ;;
    srtuploadsink)
      start_ingest "$dir/srv" 0 >&2
      sink=(srtuploadsink "uri=srt://127.0.0.1:$ING_PORT" device-id=car42) ;;
    srtsink)
      start_ingest "$dir/srv" 0 >&2
      sink=(srtsink "uri=srt://127.0.0.1:$ING_PORT?mode=caller"
          streamid=bench/srtsink sync=false) ;;
    srt-live-transmit)
      start_ingest "$dir/srv" 0 >&2
      sink=(fdsink fd=1 sync=false) ;;
    srt-floor)
      start_ingest "$dir/srv" 0 >&2 ;;
  esac
  [ "$name" = baseline ] || track "$ING_PID"

  T_COMM=() T_TICKS=()
  if [ "$name" = srt-live-transmit ]; then
    # libsrt alone, in Haivision's own sender, fed through a FIFO by the
    # same playback; /usr/bin/time counts both processes. srt-live-transmit
    # does not end at the end of its input: it is interrupted (SIGINT, a
    # clean exit) once the playback ended and the latency passed.
    mkfifo "$dir/fifo"
    /usr/bin/time -f '%e %U %S' -o "$dir/time" \
        bash -c 'srt-live-transmit -q file://con \
            "srt://127.0.0.1:$2?streamid=bench/slt" <"$3" & s=$!
          gst-launch-1.0 -q filesrc location="$1" ! \
            tsparse set-timestamps=true ! clocksync ! \
            fdsink fd=1 sync=false >"$3"
          sleep 0.5; kill -INT $s; wait $s' _ "$in" "$ING_PORT" "$dir/fifo" \
        >"$dir/gst.log" 2>&1 &
  elif [ "$name" = srt-floor ]; then
    /usr/bin/time -f '%e %U %S' -o "$dir/time" \
        "$RUN_DIR/bin/srt-floor-sender" --port "$ING_PORT" \
        --seconds "$IN_SECS" --hz "$FLOOR_HZ" --streamid bench/floor "$in" \
        >"$dir/gst.log" 2>&1 &
  else
    /usr/bin/time -f '%e %U %S' -o "$dir/time" \
        gst-launch-1.0 -q filesrc location="$in" ! \
        tsparse set-timestamps=true ! clocksync ! "${sink[@]}" \
        >"$dir/gst.log" 2>&1 &
  fi
  tpid=$!
  track "$tpid"
  for ((i = 0; i < 200 && ${#cpid} == 0; i++)); do
    cpid=$(cat "/proc/$tpid/task/$tpid/children" 2>/dev/null || true)
    cpid=${cpid%% *}
    [ -n "$cpid" ] || sleep 0.01
  done
  [ -n "$cpid" ] && track "$cpid"
  while [ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null; do
    if [ "$name" = srt-live-transmit ]; then
      # the sampled process is srt-live-transmit, a child of bash -c
      for i in $(cat "/proc/$cpid/task/$cpid/children" 2>/dev/null); do
        case "$(cat "/proc/$i/comm" 2>/dev/null)" in srt-live-trans*)
          sample_threads "$i" ;; esac
      done
    else
      sample_threads "$cpid"
    fi
    sleep 0.2
  done
  wait "$tpid" || rc=$?
  untrack "$tpid"
  [ -n "$cpid" ] && untrack "$cpid"
  if [ "$name" != baseline ]; then
    stop_ingest "$dir/srv.log"
    bytes=$(fsum "$dir/srv")
  fi
  read -r wall user sys < <(tail -n 1 "$dir/time")
  if [ "$name" = srt-floor ]; then
    # reading the file into memory is not libsrt's cost: the floor sender
    # reports its CPU from after that
    local fu fs
    read -r fu fs < <(sed -n \
        's/^cpu after loading the file: user \([0-9.]*\) sys \([0-9.]*\) s$/\1 \2/p' \
        "$dir/gst.log") || true
    [ -n "$fs" ] && user=$fu sys=$fs
  fi
  if [ "$rc" -ne 0 ]; then
    log "$name exited with $rc:"
    tail -n 5 "$dir/gst.log" | sed 's/^/    /' >&2
  fi
  RESULT="$rc $wall $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
  RESULT="$RESULT $(thread_cpu srtupload) $(thread_cpu SRT:) $bytes"
}

part1 () {
  local in="$RUN_DIR/in.ts" warm="$RUN_DIR/warm.ts" r k n name line
  local -a contenders=(baseline srtuploadsink srtsink srt-live-transmit
      srt-floor)

  [ -s "$SRC_TS" ] || make_source
  cp "$SRC_TS" "$in"
  IN_BYTES=$(stat -c %s "$in")
  IN_DUR=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$in")
  IN_RATE=$(awk -v s="$IN_BYTES" -v d="$IN_DUR" 'BEGIN { printf "%.2f", s * 8 / d / 1e6 }')
  IN_INFO=$(ffprobe -v error -select_streams v:0 -show_entries \
      stream=codec_name,profile,width,height,avg_frame_rate -of csv=p=0 "$in" |
      head -n 1)
  IN_SECS=$(awk -v d="$IN_DUR" 'BEGIN { printf "%.0f", d }')
  # 2 s, cut at a TS packet boundary
  head -c $((188 * 11000)) "$in" >"$warm"

  log "part 1: warm-up round"
  for name in "${contenders[@]}"; do
    IN_SECS=2 run_play "$name" "$warm"
    [ "${RESULT%% *}" = 0 ] || log "warm-up: $name failed"
  done
  P1_RESULTS="$RUN_DIR/p1.results"
  : >"$P1_RESULTS"
  n=${#contenders[@]}
  for ((r = 0; r < REPS; r++)); do
    for ((k = 0; k < n; k++)); do
      name=${contenders[$(((k + r) % n))]}
      run_play "$name" "$in"
      line=$RESULT
      log "part 1, round $((r + 1))/$REPS: $name: rc wall cpu elem srt bytes = $line"
      echo "$name $line" >>"$P1_RESULTS"
    done
  done
}

report1 () {
  local name base cpu range wall elem srt bytes runs pct sinkcpu sinkpct
  local label
  base=$(awk '$1 == "baseline" && $2 == 0 { print $4 }' "$P1_RESULTS" | median)
  echo "### 1. CPU while streaming ${IN_RATE} Mbit/s live for ${IN_SECS} s"
  echo
  echo "Input: ${IN_INFO//,/ } H.264 in MPEG-TS, $((IN_BYTES / 1000)) kB," \
      "${IN_DUR} s = ${IN_RATE} Mbit/s; played with \`filesrc ! tsparse" \
      "set-timestamps=true ! clocksync ! SINK\`; $REPS runs each" \
      "(interleaved, after a warm-up); medians. \"sink\" = run minus" \
      "baseline; % of one core over the ${IN_SECS} s of video." \
      "Sampled threads: srtupload-* (the element's) and SRT:* (libsrt's)," \
      "a lower bound."
  echo
  echo "| run | CPU s | CPU min-max s | wall s | % of one core |" \
      "sink CPU s | sink % of one core | srtupload-* threads s |" \
      "SRT:* threads s | received MB | received / input | runs ok |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for name in baseline srtuploadsink srtsink srt-live-transmit srt-floor; do
    cpu=$(awk -v c="$name" '$1 == c && $2 == 0 { print $4 }' "$P1_RESULTS" | median)
    range=$(awk -v c="$name" '$1 == c && $2 == 0 { print $4 }' "$P1_RESULTS" |
        sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 }
            END { print (NR ? lo "-" hi : "nan") }')
    wall=$(awk -v c="$name" '$1 == c && $2 == 0 { print $3 }' "$P1_RESULTS" | median)
    elem=$(awk -v c="$name" '$1 == c && $2 == 0 { print $5 }' "$P1_RESULTS" | median)
    srt=$(awk -v c="$name" '$1 == c && $2 == 0 { print $6 }' "$P1_RESULTS" | median)
    bytes=$(awk -v c="$name" '$1 == c && $2 == 0 { print $7 }' "$P1_RESULTS" | median)
    runs=$(awk -v c="$name" '$1 == c { n++; if ($2 == 0) ok++ }
        END { print ok + 0 "/" n + 0 }' "$P1_RESULTS")
    pct=$(awk -v c="$cpu" -v d="$IN_DUR" 'BEGIN {
        if (c == "nan") print "nan"; else printf "%.2f%%", c / d * 100 }')
    if [ "$name" = baseline ]; then
      sinkcpu="-" sinkpct="-" label="baseline (fakesink sync=false)"
      recv="-" ratio="-"
    elif [ "$name" = srt-floor ]; then
      # no playback to take away: the whole process is the sender
      sinkcpu=$cpu sinkpct=$pct
      recv=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
      ratio=$(awk -v b="$bytes" -v i="$IN_BYTES" 'BEGIN { printf "%.1f%%", b / i * 100 }')
      label="libsrt floor (srt-floor-sender, ${FLOOR_HZ} bursts/s)"
    else
      sinkcpu=$(awk -v c="$cpu" -v b="$base" 'BEGIN {
          if (c == "nan" || b == "nan") print "nan"; else printf "%.2f", c - b }')
      sinkpct=$(awk -v c="$sinkcpu" -v d="$IN_DUR" 'BEGIN {
          if (c == "nan") print "nan"; else printf "%.2f%%", c / d * 100 }')
      recv=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
      ratio=$(awk -v b="$bytes" -v i="$IN_BYTES" 'BEGIN { printf "%.1f%%", b / i * 100 }')
      label=$name
    fi
    [ "$name" = srtsink ] && label="srtsink (GStreamer)"
    [ "$name" = srt-live-transmit ] &&
      label="srt-live-transmit (libsrt alone, fed by a pipe)"
    echo "| $label | $cpu | $range | $wall | $pct | $sinkcpu | $sinkpct |" \
        "$elem | $srt | $recv | $ratio | $runs |"
  done
  echo
  sinkpct=$(awk -v c="$(awk '$1 == "srtuploadsink" && $2 == 0 { print $4 }' \
      "$P1_RESULTS" | median)" -v b="$base" -v d="$IN_DUR" 'BEGIN {
      if (c == "nan" || b == "nan") print "nan"; else printf "%.2f", (c - b) / d * 100 }')
  if awk -v x="$sinkpct" 'BEGIN { exit !(x != "nan" && x <= 1) }'; then
    echo "**srtuploadsink: ${sinkpct}% of one core (target <= 1%: met).**"
  else
    echo "**srtuploadsink: ${sinkpct}% of one core (target <= 1%: MISSED).**"
  fi
  local cmp=""
  for name in srtsink srt-live-transmit; do
    cmp="$cmp, $name $(awk -v c="$(awk -v n="$name" '$1 == n && $2 == 0 { print $4 }' \
        "$P1_RESULTS" | median)" -v b="$base" -v d="$IN_DUR" 'BEGIN {
        if (c == "nan" || b == "nan") print "nan"; else printf "%.2f", (c - b) / d * 100 }')%"
  done
  cmp="$cmp, libsrt floor $(awk -v c="$(awk '$1 == "srt-floor" && $2 == 0 { print $4 }' \
      "$P1_RESULTS" | median)" -v d="$IN_DUR" 'BEGIN {
      if (c == "nan") print "nan"; else printf "%.2f", c / d * 100 }')%"
  echo
  echo "Same measure for the other libsrt senders: ${cmp#, }."
  echo
}

# ---------------------------------------------------------------------------
# Part 1b: connected and idle

IDLE_S=20

# Ticks of process $1 (all its threads) and of its thread groups; prints
# "total srt elem".
idle_sample () {
  local total
  total=$(awk '{ sub(/^.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' \
      "/proc/$1/stat" 2>/dev/null || echo 0)
  T_COMM=() T_TICKS=()
  sample_threads "$1"
  echo "$total $(thread_cpu SRT:) $(thread_cpu srtupload)"
}

# run_idle NAME: sets RESULT to "ok total_s srt_s elem_s" over IDLE_S.
run_idle () {
  local name=$1 dir="$RUN_DIR/p1b/$1" pid spid="" i ok=0 a b
  rm -rf "$dir"
  mkdir -p "$dir"
  start_ingest "$dir/srv" 0 >&2
  track "$ING_PID"
  case "$name" in
    srtuploadsink|srtsink)
      local -a sink=(srtuploadsink "uri=srt://127.0.0.1:$ING_PORT"
          device-id=car42)
      [ "$name" = srtsink ] &&
        sink=(srtsink "uri=srt://127.0.0.1:$ING_PORT?mode=caller"
            streamid=bench/srtsink)
      gst-launch-1.0 -q appsrc is-live=true \
          caps=video/mpegts,systemstream=true,packetsize=188 ! \
          "${sink[@]}" >"$dir/gst.log" 2>&1 &
      pid=$!
      track "$pid" ;;
    srt-live-transmit)
      mkfifo "$dir/fifo"
      srt-live-transmit -q file://con \
          "srt://127.0.0.1:$ING_PORT?streamid=bench/slt" <"$dir/fifo" \
          >"$dir/gst.log" 2>&1 &
      pid=$!
      track "$pid"
      # holds the FIFO open without writing
      sleep $((IDLE_S + 30)) >"$dir/fifo" &
      spid=$!
      track "$spid" ;;
  esac
  for ((i = 0; i < 500; i++)); do
    grep -q '^connect id=' "$dir/srv.log" 2>/dev/null && { ok=1; break; }
    sleep 0.01
  done
  if [ "$ok" = 1 ]; then
    sleep 1
    a=$(idle_sample "$pid")
    sleep "$IDLE_S"
    b=$(idle_sample "$pid")
    kill -0 "$pid" 2>/dev/null || ok=0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  wait_pid "$pid" 5 || true
  if [ -n "$spid" ]; then
    kill -TERM "$spid" 2>/dev/null || true
    wait_pid "$spid" 5 || true
  fi
  stop_ingest "$dir/srv.log"
  if [ "$ok" = 1 ]; then
    RESULT="1 $(awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " ");
        split(b, y, " ");
        printf "%.2f %.2f %.2f", (y[1] - x[1]) / '"$CLK_TCK"', y[2] - x[2],
            y[3] - x[3] }')"
  else
    log "$name: no idle connection measured (see $dir)"
    RESULT="0 nan nan nan"
  fi
}

part1b () {
  local name
  P1B_RESULTS="$RUN_DIR/p1b.results"
  : >"$P1B_RESULTS"
  for name in srtuploadsink srtsink srt-live-transmit; do
    run_idle "$name"
    log "part 1b: $name idle ${IDLE_S} s: ok total srt elem = $RESULT"
    echo "$name $RESULT" >>"$P1B_RESULTS"
  done
}

report1b () {
  local name ok total srt elem label
  echo "### 1b. Connected, nothing to send, ${IDLE_S} s"
  echo
  echo "The senders of part 1 connected to dashcam-ingest, idle" \
      "(srtuploadsink and srtsink behind an appsrc that never pushes," \
      "srt-live-transmit reading a silent FIFO); CPU between two samples" \
      "${IDLE_S} s apart, in % of one core."
  echo
  echo "| sender | process CPU s | % of one core | SRT:* threads s |" \
      "SRT:* % of one core | srtupload-* threads s |"
  echo "|---|---:|---:|---:|---:|---:|"
  while read -r name ok total srt elem; do
    label=$name
    [ "$name" = srtsink ] && label="srtsink (GStreamer)"
    [ "$name" = srt-live-transmit ] &&
      label="srt-live-transmit (libsrt alone)"
    if [ "$ok" != 1 ]; then
      echo "| $label | failed | | | | |"
      continue
    fi
    echo "| $label | $total | $(awk -v t="$total" -v d="$IDLE_S" \
        'BEGIN { printf "%.2f%%", t / d * 100 }') | $srt |" \
        "$(awk -v t="$srt" -v d="$IDLE_S" \
        'BEGIN { printf "%.2f%%", t / d * 100 }') | $elem |"
  done <"$P1B_RESULTS"
  echo
}

# ---------------------------------------------------------------------------
# Parts 2 and 3: the live dashcam pipeline

# Video of run_dashcam (lib.sh) and the bigger variant for part 2.
VIDEO_SMALL=(videotestsrc is-live=true pattern=ball !
    'video/x-raw,format=I420,width=320,height=240,framerate=30/1' !
    x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30)
VIDEO_BIG=(videotestsrc is-live=true pattern=snow !
    'video/x-raw,format=I420,width=640,height=360,framerate=30/1' !
    x264enc tune=zerolatency speed-preset=ultrafast bitrate=4000
    key-int-max=30)

# start_dashcam LOG REC URI small|big [SRTUPLOADSINK PROPS...]: run_dashcam's
# pipeline in the background, without a frame limit (stopped with SIGINT,
# -e: EOS). Sets DC_PID.
start_dashcam () {
  local log=$1 rec=$2 uri=$3 video=$4
  local -a v
  shift 4
  if [ "$video" = big ]; then v=("${VIDEO_BIG[@]}"); else v=("${VIDEO_SMALL[@]}"); fi
  spawn_stamped "$log" gst-launch-1.0 -e -m "${v[@]}" ! \
      h264parse ! mpegtsmux ! tee name=t \
      t. ! queue ! looprecsink location="$rec" max-size-time=3000000000 \
      t. ! queue ! srtuploadsink name=up uri="$uri" device-id=car42 \
          backlog-location="$rec" reconnect-max-interval=1000000000 "$@"
  DC_PID=$SPAWN_PID
  DC_STAMP_PID=$STAMP_PID
}

stop_dashcam () {
  local rc=0
  kill -INT "$DC_PID" 2>/dev/null || true
  wait_pid "$DC_PID" 20 || rc=$?
  wait_pid "$DC_STAMP_PID" 5 || true
  [ "$rc" -eq 0 ] || log "dashcam pipeline exited with $rc"
}

# backlog_events LOG: "time segment state bytes" per srtuploadsink-backlog
# message.
backlog_events () {
  grep 'srtuploadsink-backlog' "$1" | awk '{
      t = $1; seg = ""; st = ""; b = 0
      if (match($0, /segment=\(string\)"?[^,";]*/)) {
        seg = substr($0, RSTART, RLENGTH); sub(/^segment=\(string\)"?/, "", seg) }
      if (match($0, /state=\(string\)[a-z]*/)) {
        st = substr($0, RSTART + 14, RLENGTH - 14) }
      if (match($0, /bytes=\(guint64\)[0-9]*/)) {
        b = substr($0, RSTART + 15, RLENGTH - 15) }
      print t, seg, st, b }'
}

# run_backlog VIDEO B: one outage-and-drain run; appends per-upload lines
# "video B segment bytes started done server_bytes" to P2_UPLOADS and one
# summary line "video B queued done failed rec_bytes rec_segments
# rec_seconds" to P2_RUNS.
run_backlog () {
  local video=$1 b=$2 dir="$RUN_DIR/p2/$1-$2" port t_up deadline
  local q d last_q now maxwait ev
  mkdir -p "$dir"
  port=$(free_udp_port)
  log "part 2: $video video, backlog-max-bitrate=$b: no receiver for $OUTAGE s"
  start_dashcam "$dir/bus.log" "$dir/rec" "srt://127.0.0.1:$port" "$video" \
      backlog-max-bitrate="$b"
  wait_for_line "$dir/bus.log" looprecsink-segment-opened 30 ||
    die "part 2: the dashcam pipeline did not start: $(tail -3 "$dir/bus.log")"
  sleep "$OUTAGE"
  start_ingest "$dir/srv" "$port" >&2
  track "$ING_PID"
  wait_for_line "$dir/bus.log" 'srtuploadsink-link.*state=(string)up' 15 ||
    die "part 2: live did not come back"
  t_up=$(now_ms)
  # Until every queued segment is done, at least 5 s after live came back
  # (the segment open at that time is queued when it closes).
  maxwait=$(awk -v o="$OUTAGE" -v b="$b" -v v="$video" 'BEGIN {
      r = (v == "big") ? 4.5e6 : 0.3e6; printf "%d", 60 + 3 * o * r / b }')
  deadline=$((t_up + maxwait * 1000))
  while :; do
    now=$(now_ms)
    ev=$(backlog_events "$dir/bus.log")
    q=$(awk '$3 == "queued" { print $2 }' <<<"$ev" | sort -u | wc -l)
    d=$(awk '$3 == "done" { print $2 }' <<<"$ev" | sort -u | wc -l)
    last_q=$(awk '$3 == "queued" { t = $1 } END { printf "%d", t * 1000 }' <<<"$ev")
    if [ "$q" -gt 0 ] && [ "$d" -ge "$q" ] && [ $((now - t_up)) -ge 5000 ] &&
        [ $((now - last_q)) -ge 1000 ]; then
      break
    fi
    if [ "$now" -ge "$deadline" ]; then
      log "part 2: gave up after $maxwait s: $d of $q queued segments done"
      break
    fi
    sleep 0.5
  done
  stop_dashcam
  stop_ingest "$dir/srv.log"

  backlog_events "$dir/bus.log" | awk -v v="$video" -v b="$b" '
      $3 == "started" { st[$2] = $1 }
      $3 == "done" && ($2 in st) { print v, b, $2, $4, st[$2], $1 }' |
  while read -r v bb seg bytes t0 t1; do
    local stem=${seg%.ts} sb=0 f
    for f in "$dir/srv/car42/$stem.ts" "$dir/srv/car42/$stem".[0-9]*.ts; do
      [ -f "$f" ] || continue
      [ "$(stat -c %s "$f")" -gt "$sb" ] && sb=$(stat -c %s "$f")
    done
    echo "$v $bb $seg $bytes $t0 $t1 $sb"
  done >>"$P2_UPLOADS"
  ev=$(backlog_events "$dir/bus.log")
  echo "$video $b $(awk '$3 == "queued" { print $2 }' <<<"$ev" | sort -u | wc -l)" \
      "$(awk '$3 == "done"' <<<"$ev" | wc -l)" \
      "$(awk '$3 == "failed"' <<<"$ev" | wc -l)" \
      "$(find "$dir/rec" -maxdepth 1 -name '*.ts' -printf '%s\n' |
          awk '{ s += $1; n++ } END { printf "%d %d", s, n }')" \
      "$(grep -c 'looprecsink-segment-closed' "$dir/bus.log" || true)" \
      >>"$P2_RUNS"
}

part2 () {
  local video b
  P2_UPLOADS="$RUN_DIR/p2.uploads"
  P2_RUNS="$RUN_DIR/p2.runs"
  : >"$P2_UPLOADS"
  : >"$P2_RUNS"
  for video in big small; do
    for b in "${BITRATES[@]}"; do
      run_backlog "$video" "$b"
    done
  done
}

report2 () {
  local video b n failed seg rates ovh overall ratio_med ratio_all complete
  local segkb mb label paced verdict=''
  echo "### 2. Backlog drain rate against backlog-max-bitrate"
  echo
  echo "No receiver for the first $OUTAGE s of a live dashcam pipeline" \
      "(3 s segments), then dashcam-ingest; per upload: bytes * 8 / (done -" \
      "started) from the bus log; overall: all bytes / (last done - first" \
      "started). Overhead = (done - started) - bytes * 8 / B, the time" \
      "not explained by the pacing. \"complete\" = the receiver's copy has" \
      "the segment's size. Paced = bytes * 8 / (start of the next upload -" \
      "this start): the send phase alone, when uploads follow each other."
  echo
  echo "| video | B Mbit/s | uploads (failed) | MB | segment kB median |" \
      "per-upload Mbit/s min / median / max | per-upload / B median |" \
      "overhead ms min / median / max | paced Mbit/s median |" \
      "overall Mbit/s | overall / B | complete on server |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for video in big small; do
    for b in "${BITRATES[@]}"; do
      awk -v v="$video" -v b="$b" '$1 == v && $2 == b' "$P2_UPLOADS" \
          >"$RUN_DIR/p2.sel"
      n=$(wc -l <"$RUN_DIR/p2.sel")
      failed=$(awk -v v="$video" -v b="$b" '$1 == v && $2 == b { print $5 }' "$P2_RUNS")
      if [ "$video" = big ]; then
        label="640x360 snow, x264 4 Mbit/s"
      else
        label="320x240 ball (run_dashcam)"
      fi
      if [ "$n" -eq 0 ]; then
        echo "| $label | $(awk -v b="$b" 'BEGIN { print b / 1e6 }') | 0 (${failed:-?}) |" \
            "- | - | - | - | - | - | - | - | - |"
        [ "$video" = big ] &&
          verdict="$verdict${verdict:+;} B = $b: no upload done (MISSED)"
        continue
      fi
      mb=$(awk '{ s += $4 } END { printf "%.1f", s / 1e6 }' "$RUN_DIR/p2.sel")
      segkb=$(awk '{ print $4 / 1000 }' "$RUN_DIR/p2.sel" | median |
          awk '{ printf "%.0f", $1 }')
      rates=$(awk '{ print $4 * 8 / ($6 - $5) / 1e6 }' "$RUN_DIR/p2.sel" |
          min_med_max %.2f)
      ovh=$(awk -v b="$b" '{ print (($6 - $5) - $4 * 8 / b) * 1000 }' \
          "$RUN_DIR/p2.sel" | min_med_max %.0f)
      paced=$(sort -k5,5g "$RUN_DIR/p2.sel" | awk 'NR > 1 {
          print pb * 8 / ($5 - ps) / 1e6 } { pb = $4; ps = $5 }' | median |
          awk '{ if ($1 == "nan") print "-"; else printf "%.2f", $1 }')
      ratio_med=$(awk -v b="$b" '{ print $4 * 8 / ($6 - $5) / b * 100 }' \
          "$RUN_DIR/p2.sel" | median | awk '{ printf "%.0f", $1 }')
      overall=$(awk 'NR == 1 || $5 < t0 { t0 = $5 } $6 > t1 { t1 = $6 }
          { s += $4 } END { printf "%.2f", s * 8 / (t1 - t0) / 1e6 }' \
          "$RUN_DIR/p2.sel")
      ratio_all=$(awk -v o="$overall" -v b="$b" 'BEGIN { printf "%.0f", o * 1e6 / b * 100 }')
      complete=$(awk '$7 == $4 { c++ } END { print c + 0 "/" NR }' "$RUN_DIR/p2.sel")
      # shellcheck disable=SC2086
      echo "| $label | $(awk -v b="$b" 'BEGIN { print b / 1e6 }') | $n ($failed) |" \
          "$mb | $segkb | $(printf '%s / %s / %s' $rates) | ${ratio_med}% |" \
          "$(printf '%s / %s / %s' $ovh) | $paced | $overall | ${ratio_all}% |" \
          "$complete |"
      if [ "$video" = big ]; then
        verdict="$verdict$(awk -v b="$b" -v r="$ratio_all" -v m="$ratio_med" \
            -v sep="${verdict:+;}" 'BEGIN {
            printf "%s B = %g Mbit/s: overall %d%% (%s), per-upload median %d%% (%s)",
                sep, b / 1e6, r, (r >= 90 ? "met" : "MISSED"),
                m, (m >= 90 ? "met" : "MISSED") }')"
      fi
    done
  done
  echo
  echo "Recordings (segments closed, bytes): $(awk '{ printf "%s%s %s Mbit/s: %d segments, %.1f MB", (NR > 1 ? "; " : ""), $1, $2 / 1e6, $8, $6 / 1e6 }' "$P2_RUNS")."
  echo
  echo "**Drain rate of the 640x360 video's ~1.5 MB segments, target >= 90%" \
      "of B:$verdict.**"
  echo
}

# ---------------------------------------------------------------------------
# Part 3: receiver restart to first live byte

is_live_name () {
  [[ "$1" =~ ^[0-9]{8}-[0-9]{6}(\.[0-9]+)?\.ts$ ]]
}

part3 () {
  local dir="$RUN_DIR/p3" srv port k f name t0 t_listen t_first t_up
  local n_listen deadline
  local -A seen
  P3_RESULTS="$RUN_DIR/p3.results"
  : >"$P3_RESULTS"
  mkdir -p "$dir"
  srv="$dir/srv"
  start_ingest "$srv" 0 >&2
  track "$ING_PID"
  port=$ING_PORT
  log "part 3: $RESTARTS receiver restarts (SIGKILL, 5 s, restart) on port $port"
  start_dashcam "$dir/bus.log" "$dir/rec" "srt://127.0.0.1:$port" small
  wait_for_line "$dir/bus.log" 'srtuploadsink-link.*state=(string)up' 30 ||
    die "part 3: the live link did not come up"
  sleep 3
  for ((k = 1; k <= RESTARTS; k++)); do
    seen=()
    for f in "$srv"/car42/*.ts; do
      [ -e "$f" ] && seen[${f##*/}]=1
    done
    # (stderr: no "Killed" job notice from bash)
    { kill -KILL "$ING_PID"; wait_pid "$ING_PID" 5 || true; } 2>/dev/null
    sleep 5
    n_listen=$(grep -c '^listening on' "$srv.log" || true)
    t0=$EPOCHREALTIME
    "$DASHCAM_INGEST" --port "$port" --root "$srv" >>"$srv.log" 2>&1 &
    ING_PID=$!
    track "$ING_PID"
    t_listen='' t_first=''
    deadline=$(awk -v t="$t0" 'BEGIN { printf "%d", t + 30 }')
    while [ -z "$t_first" ] && [ "${EPOCHREALTIME%.*}" -lt "$deadline" ]; do
      if [ -z "$t_listen" ] &&
          [ "$(grep -c '^listening on' "$srv.log" || true)" -gt "$n_listen" ]; then
        t_listen=$EPOCHREALTIME
      fi
      for f in "$srv"/car42/*.ts; do
        name=${f##*/}
        if [ -z "${seen[$name]:-}" ] && is_live_name "$name" && [ -s "$f" ]; then
          t_first=$EPOCHREALTIME
          break
        fi
      done
      [ -n "$t_first" ] || sleep 0.01
    done
    t_up=$(awk -v t="$t0" '$1 > t && /srtuploadsink-link/ &&
        /state=\(string\)up/ { print $1; exit }' "$dir/bus.log")
    echo "$k $t0 ${t_listen:-nan} ${t_up:-nan} ${t_first:-nan}" >>"$P3_RESULTS"
    log "part 3, restart $k: listening +$(awk -v a="${t_listen:-0}" -v b="$t0" \
        'BEGIN { printf "%.3f", a - b }') s, link up +$(awk -v a="${t_up:-0}" \
        -v b="$t0" 'BEGIN { printf "%.3f", a - b }') s, first live byte +$(awk \
        -v a="${t_first:-0}" -v b="$t0" 'BEGIN { printf "%.3f", a - b }') s"
    sleep 3
  done
  stop_dashcam
  stop_ingest "$srv.log"
}

report3 () {
  local col label
  echo "### 3. Receiver restart to first live byte"
  echo
  echo "run_dashcam's pipeline (320x240, reconnect-max-interval=1 s," \
      "link-timeout 2 s) streaming; dashcam-ingest SIGKILLed, restarted" \
      "5 s later on the same port; time from the restart (exec) to: its" \
      "\`listening\` line, the bus message \`srtuploadsink-link state=up\`," \
      "the new live file car42/YYYYmmdd-HHMMSS.ts above 0 bytes (polled" \
      "every 10 ms). $RESTARTS restarts."
  echo
  echo "| restart -> | min s | median s | max s | all s |"
  echo "|---|---:|---:|---:|---|"
  for col in 3 4 5; do
    case $col in
      3) label="receiver listening" ;;
      4) label="link up (bus message)" ;;
      5) label="**first live byte on disk**" ;;
    esac
    # shellcheck disable=SC2046
    echo "| $label | $(awk -v c="$col" '$c != "nan" { print $c - $2 }' \
        "$P3_RESULTS" | min_med_max %.3f | awk '{ print $1 " | " $2 " | " $3 }') |" \
        "$(awk -v c="$col" '{ printf "%s%s", (NR > 1 ? ", " : ""),
            ($c == "nan" ? "none" : sprintf("%.3f", $c - $2)) }' "$P3_RESULTS") |"
  done
  echo
}

# ---------------------------------------------------------------------------
# Runs and report

LOAD_START=$(uptime)
T_START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
want () { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
for p in $PARTS; do
  case "$p" in 1|1b|2|3) ;; *) die "--parts: unknown part \"$p\"" ;; esac
done
want 1 && part1
want 1b && part1b
want 2 && part2
want 3 && part3
LOAD_END=$(uptime)

report () {
  echo "## srtuploadsink benchmark, $T_START"
  echo
  echo "- command: \`bench/srtupload-bench.sh --seconds $SECONDS_N --reps $REPS" \
      "--outage $OUTAGE --restarts $RESTARTS --parts ${PARTS// /,}\`"
  echo "- machine: $(nproc) cores, $(uname -sr);" \
      "GStreamer $(gst-launch-1.0 --version | awk 'NR == 2 { print $2 }')," \
      "libsrt $(pkg-config --modversion srt 2>/dev/null || echo '?')"
  echo "- plugin: $PLUGIN_SO ($PLUGIN_ID); dashcam-ingest: $INGEST_BIN" \
      "($INGEST_ID); source $SOURCE_ID"
  echo "- files in $TMP_BASE ($TMP_FS); all traffic on 127.0.0.1; SRT" \
      "latency 125 ms (both sinks' default)"
  echo "- uptime at start: $LOAD_START"
  echo "- uptime at end: $LOAD_END"
  echo
  if want 1; then report1; fi
  if want 1b; then report1b; fi
  if want 2; then report2; fi
  if want 3; then report3; fi
}

report >"$RUN_DIR/report.md"
cat "$RUN_DIR/report.md"
if [ -n "$OUT_FILE" ]; then
  cp "$RUN_DIR/report.md" "$OUT_FILE"
fi
