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
