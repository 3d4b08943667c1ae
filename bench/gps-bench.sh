#!/usr/bin/env bash
# What the GPS branch costs a live dashcam (issue 13, criterion 5: < 0.5 %
# of a core).
#
#   bench/gps-bench.sh [--seconds 60] [--reps 3] [--size 1280x720]
#
# Runs the live client (videotestsrc is-live ! dashcambin, x264enc
# veryfast, 30 fps, recording to a temp dir) for --seconds, --reps times
# each without and with gps= (gpsfake looping tests/data/drive.nmea at
# 5 fixes a second on a free port), interleaved. Per run: the process's
# CPU (user + sys) and, read from /proc/PID/task/*/schedstat (ns), the CPU
# of the GPS branch's own threads: the reader (gpsklvsrc), the source's
# streaming thread (gps:src) and its queue (gpsqueue:src); and the muxer's
# thread (mux:src) in both modes, whose difference is what muxing the KLV
# costs. The whole-process difference is printed too but is noise-bound
# (x264 varies by more than the GPS branch costs). Prints a markdown table
# of medians. Needs a build (ninja -C build) and gpsfake.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
seconds=60 reps=3 size=1280x720
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    *) sed -n '2,18p' "$0"; exit 2 ;;
  esac
done
export GST_PLUGIN_PATH_1_0=$top/build/plugins/dashcam
export GST_REGISTRY_1_0=$top/build/bench-registry.bin
command -v gpsfake >/dev/null || { echo "gpsfake is not installed"; exit 2; }
work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill_tree "$p"; done
  rm -rf "$work"
}
kill_tree() {
  local c
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$c"; done
  kill -9 "$1" 2>/dev/null || true
}
trap cleanup EXIT
hz=$(getconf CLK_TCK)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
gpsfake -q -c 0.1 -P "$port" "$top/tests/data/drive.nmea" >"$work/gpsfake.log" 2>&1 &
pids+=($!)
sleep 2

# run MODE REP: prints "process_cpu_s gps_threads_cpu_s mux_thread_cpu_s"
run() {
  local mode=$1 rep=$2 w=${size%x*} h=${size#*x} gps= pid cpu tcpu mcpu t comm
  [ "$mode" = gps ] && gps="gps=127.0.0.1:$port"
  rm -rf "$work/rec"
  # shellcheck disable=SC2086
  gst-launch-1.0 -q -e videotestsrc is-live=true pattern=ball ! \
    video/x-raw,width="$w",height="$h",framerate=30/1 ! \
    dashcambin location="$work/rec" $gps >"$work/run.log" 2>&1 &
  pid=$!
  sleep "$seconds"
  tcpu=0 mcpu=0
  for t in /proc/$pid/task/*; do
    comm=$(cat "$t/comm" 2>/dev/null || true)
    case $comm in
      gpsklvsrc|gps:src|gpsqueue:src)
        tcpu=$((tcpu + $(cut -d' ' -f1 "$t/schedstat"))) ;;
      mux:src)
        mcpu=$((mcpu + $(cut -d' ' -f1 "$t/schedstat"))) ;;
    esac
  done
  read -r -a st <"/proc/$pid/stat"
  cpu=$(( st[13] + st[14] ))
  kill -INT "$pid"
  wait "$pid" || true
  awk -v c="$cpu" -v hz="$hz" -v t="$tcpu" -v m="$mcpu" \
    'BEGIN { printf "%.2f %.3f %.3f\n", c / hz, t / 1e9, m / 1e9 }'
}

: >"$work/results"
for rep in $(seq "$reps"); do
  for mode in none gps; do
    echo "$mode $(run "$mode" "$rep")" | tee -a "$work/results" >&2
  done
done

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
p_none=$(awk '$1 == "none" { print $2 }' "$work/results" | median)
p_gps=$(awk '$1 == "gps" { print $2 }' "$work/results" | median)
t_gps=$(awk '$1 == "gps" { print $3 }' "$work/results" | median)
m_none=$(awk '$1 == "none" { print $4 }' "$work/results" | median)
m_gps=$(awk '$1 == "gps" { print $4 }' "$work/results" | median)
echo
echo "$size 30 fps, $seconds s, medians of $reps interleaved runs each:"
echo
echo "| run | process CPU s | % of one core | GPS threads CPU s | muxer thread CPU s | GPS branch (GPS threads + muxer increase) % of one core |"
echo "|---|---:|---:|---:|---:|---:|"
awk -v s="$seconds" -v a="$p_none" -v b="$p_gps" -v t="$t_gps" -v m0="$m_none" -v m1="$m_gps" 'BEGIN {
  printf "| dashcambin | %.2f | %.2f%% | - | %.3f | - |\n", a, 100 * a / s, m0
  printf "| dashcambin gps= (5 fixes/s) | %.2f | %.2f%% | %.3f | %.3f | %.3f%% |\n", b, 100 * b / s, t, m1, 100 * (t + (m1 > m0 ? m1 - m0 : 0)) / s
  printf "| difference | %+.2f | %+.2f%% | | %+.3f | |\n", b - a, 100 * (b - a) / s, m1 - m0
}'
