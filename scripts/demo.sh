#!/usr/bin/env bash
# README command 1: the dashcam demo.
#
# Installs what is missing, builds, then runs the real client (dashcambin:
# /dev/video0 or a moving test pattern, x264 + AAC, MPEG-TS, loop recorder,
# SRT uploader) against the reference receiver on 127.0.0.1 for a minute,
# cutting the link for 15 s in the middle. Prints a live status line, then a
# report of what reached the server live and through the backlog, and
# writes a timeline picture next to the recordings. Exits non-zero if any
# recorded second is missing on the server. With gpsfake installed, it
# replays tests/data/drive.nmea as the car's GPS: the positions go into the
# stream as KLV and the status line shows position and speed.
#
#   scripts/demo.sh [--duration S] [--location DIR] [--uri srt://HOST:PORT]
#                   [--device-id ID] [--no-outage]
set -euo pipefail
. "$(dirname "$0")/common.sh"

dashcam_install_deps
dashcam_build
dashcam_env

location=$DASHCAM_TOP/recordings
for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,15p' "$0"; exec "$DASHCAM_BUILD/tools/dashcam-demo" --help ;;
  esac
done
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --location) location=${args[$((i + 1))]} ;;
    --location=*) location=${args[$i]#--location=} ;;
  esac
done
# the report covers this run only: earlier recordings are moved aside, never
# deleted
if [ -e "$location" ] || [ -e "$location.server" ]; then
  old="$location.$(date +%Y%m%d-%H%M%S)"
  echo "demo: keeping the previous run in $old"
  mkdir -p "$old"
  for f in "$location" "$location.server" "$location.timeline.svg"; do
    if [ -e "$f" ]; then mv "$f" "$old/"; fi
  done
fi
gps=()
if command -v gpsfake >/dev/null 2>&1; then
  gps=(--gps-log "$DASHCAM_TOP/tests/data/drive.nmea")
fi
exec "$DASHCAM_BUILD/tools/dashcam-demo" --location "$location" \
  --ingest "$DASHCAM_BUILD/tools/dashcam-ingest" "${gps[@]}" "$@"
