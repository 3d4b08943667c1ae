#!/usr/bin/env bash
# README command 1: the dashcam demo.
#
# Installs what is missing, builds, then records a live camera (/dev/video0
# when there is one, else a moving test pattern) into keyframe-aligned loop
# segments and prints each segment as it is completed. Stops after
# --duration seconds or at Ctrl-C, always closing the last segment.
#
#   scripts/demo.sh [--duration S] [--location DIR] [--segment S] [--max-files N]
set -euo pipefail
. "$(dirname "$0")/common.sh"

duration=60
location=$DASHCAM_TOP/recordings
segment=10
max_files=30
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --location) location=$2; shift 2 ;;
    --segment) segment=$2; shift 2 ;;
    --max-files) max_files=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

dashcam_install_deps
dashcam_build
dashcam_env

if [ -e /dev/video0 ]; then
  camera="v4l2src device=/dev/video0 ! videoconvert ! videoscale ! videorate"
  echo "camera: /dev/video0"
else
  camera="videotestsrc is-live=true pattern=ball motion=wavy"
  echo "camera: none found, using a moving test pattern"
fi
echo "recording ${duration}s into $location, ${segment}s segments, keeping $max_files"
echo

segment_ns=$(( segment * 1000000000 ))
# shellcheck disable=SC2086
timeout -s INT --kill-after=20 "$duration" \
  gst-launch-1.0 -e -m $camera \
    ! video/x-raw,format=I420,width=1280,height=720,framerate=30/1 \
    ! x264enc tune=zerolatency speed-preset=veryfast bitrate=4000 key-int-max=30 \
    ! h264parse ! mpegtsmux \
    ! looprecsink name=recorder location="$location" \
        max-size-time=$segment_ns max-files="$max_files" 2>&1 |
  awk '
    function field(name,   m) {
      if (match($0, name "=\\([a-z0-9]+\\)[^,]*")) {
        m = substr($0, RSTART, RLENGTH); sub(/^[^)]*\)/, "", m); sub(/;$/, "", m); return m
      }
      return ""
    }
    /looprecsink-segment-closed/ {
      n++
      printf "segment %s  %s  %.2f s  %d KB  (%s)\n", field("index"),
        field("location"), field("duration") / 1e9, field("size") / 1024,
        field("reason")
      fflush()
    }
    /looprecsink-segment-deleted/ {
      printf "deleted %s (%s)\n", field("location"), field("reason"); fflush()
    }
    /looprecsink-segment-recovered/ {
      printf "recovered %s after a power cut\n", field("location"); fflush()
    }
    /^ERROR|WARNING/ { print; fflush() }
    END { printf "\n%d segments recorded\n", n }
  '
echo "files in $location:"
ls -l "$location" | tail -n +2
