# Shared helpers for the integration tests (sourced, not run).
# Every test gets GST_PLUGIN_PATH_1_0 / GST_REGISTRY_1_0 from meson.

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }

need_cmds() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || { echo "SKIP: $c is not installed"; exit 77; }
  done
}

# Number of video frames in a TS file.
ts_frames() {
  local out
  out=$(ffprobe -v error -select_streams v:0 -count_packets \
    -show_entries stream=nb_read_packets -of csv=p=0 "$1")
  out=${out%%[!0-9]*}
  echo "${out:-0}"
}

# True when ffmpeg decodes the whole video stream without an error.
ts_decodes() {
  ffmpeg -nostdin -v error -xerror -i "$1" -map 0:v -f null - >/dev/null 2>&1
}

# True when the first video packet is a keyframe.
ts_starts_with_keyframe() {
  local out
  out=$(ffprobe -v error -select_streams v:0 -read_intervals '%+#1' \
    -show_entries packet=flags -of csv=p=0 "$1")
  [ "${out:0:1}" = K ]
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# wait_for_line FILE PATTERN TIMEOUT_S: polls FILE until a line matches.
wait_for_line() {
  local file=$1 pattern=$2 deadline=$(( $(now_ms) + $3 * 1000 ))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    grep -q -- "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.02
  done
  return 1
}

# ---- SRT peers -------------------------------------------------------------

INGEST=${DASHCAM_INGEST:-dashcam-ingest}

# start_ingest ROOT [PORT] [ARGS...]: starts the reference receiver; sets
# ING_PID and ING_PORT. Its log is ROOT.log.
start_ingest() {
  local root=$1 port=${2:-0}
  shift 2 || shift $#
  mkdir -p "$root"
  "$INGEST" --port "$port" --root "$root" "$@" >>"$root.log" 2>&1 &
  ING_PID=$!
  local deadline=$(( $(now_ms) + 5000 ))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    ING_PORT=$(grep -m1 -o 'listening on .*:[0-9]*' "$root.log" 2>/dev/null | tail -1 | grep -o '[0-9]*$' || true)
    if [ "$port" != 0 ]; then
      grep -q "listening on .*:$port\$" "$root.log" && { ING_PORT=$port; return 0; }
    elif [ -n "$ING_PORT" ]; then
      return 0
    fi
    sleep 0.02
  done
  fail "dashcam-ingest did not start: $(cat "$root.log")"
}

# A free UDP port on 127.0.0.1 (for peers that cannot pick their own).
free_udp_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The live dashcam pipeline: ENCODE FRAMES, then tee to the recorder and the
# uploader. Extra uploader properties in UPLOAD_PROPS, recorder ones in
# REC_PROPS. Writes timestamped bus messages (EPOCHREALTIME prefix) to LOG.
# Usage: run_dashcam LOG REC_DIR URI FRAMES  (runs in the foreground)
run_dashcam() {
  local log=$1 rec=$2 uri=$3 frames=$4
  # shellcheck disable=SC2086
  stdbuf -oL gst-launch-1.0 -e -m \
    videotestsrc is-live=true num-buffers="$frames" pattern=ball ! \
    video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! \
    x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! \
    h264parse ! mpegtsmux ! tee name=t \
    t. ! queue ! looprecsink location="$rec" max-size-time=3000000000 ${REC_PROPS:-} \
    t. ! queue ! srtuploadsink name=up uri="$uri" device-id=car42 \
        backlog-location="$rec" reconnect-max-interval=1000000000 ${UPLOAD_PROPS:-} \
    2>&1 | while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$log"
}

# Seconds (float) of the first log line matching PATTERN, or empty.
log_time() {
  grep -m1 -- "$2" "$1" | cut -d' ' -f1
}

# ts_coverage REC_DIR SERVER_DIR: per segment, how the server has it.
ts_coverage() {
  python3 "$(dirname "${BASH_SOURCE[0]}")/ts_coverage.py" "$@"
}

# ---- background processes -------------------------------------------------

# A test tracks what it starts (track PID) and kills the rest on exit
# (for p in $BG_PIDS; do kill_tree "$p"; done).
BG_PIDS=""

# Kills PID and every process below it, children first, by PID.
kill_tree() {
  local c
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$c"; done
  kill -9 "$1" 2>/dev/null || true
}
track() { BG_PIDS="$BG_PIDS $1"; }
untrack() { BG_PIDS=$(echo " $BG_PIDS " | sed "s/ $1 / /"); }

# wait_exit PID TIMEOUT_S: waits for a background child and returns its exit
# status; kills it (and its children) and returns 124 after TIMEOUT_S.
wait_exit() {
  local pid=$1 deadline=$(( $(now_ms) + $2 * 1000 )) rc=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$(now_ms)" -ge "$deadline" ]; then
      kill_tree "$pid"
      wait "$pid" 2>/dev/null || true
      untrack "$pid"
      return 124
    fi
    sleep 0.05
  done
  wait "$pid" || rc=$?
  untrack "$pid"
  return "$rc"
}
