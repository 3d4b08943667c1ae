#!/usr/bin/env bash
# objstore-bench.sh: how close dashcamobjstore's paced uploads come to the
# asked bitrate (libcurl's CURLOPT_MAX_SEND_SPEED_LARGE), over nginx (HTTP
# PUT + HEAD) and s3rver behind the verifying proxy (S3 multipart, 5 MiB
# parts), on 127.0.0.1. Run by hand, never in CI.
#
#   bench/objstore-bench.sh [--mb N] [--rates "2 8"] [--build-dir DIR]
#
# The rate of a run is the body bytes sent over the whole upload's wall
# time (for S3 that includes the initiate and complete requests and
# hashing each part before it is sent; for HTTP the HEAD). Prints a
# markdown table; the element's target is >= 90 % of backlog-max-bitrate.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
mb=12
rates="2 8"
while [ $# -gt 0 ]; do
  case $1 in
    --mb) mb=$2; shift 2 ;;
    --rates) rates=$2; shift 2 ;;
    --build-dir) build=$(cd "$2" && pwd); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
tool=$build/bench/objstore-upload
export DASHCAM_S3RVER=$build/s3rver/node_modules/.bin/s3rver
work=$(mktemp -d /tmp/objstore-bench-XXXXXX)
pids=()
cleanup() {
  exec 3>&- 4>&- 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# start_peer KIND FD: the peer reads commands from a fifo kept open on FD
start_peer() {
  mkfifo "$work/$1.in"
  /usr/bin/python3 "$top/tests/peers/objstore-peer.py" "$1" "$work/$1" \
    --lifetime 3600 <"$work/$1.in" >"$work/$1.out" &
  pids+=($!)
  eval "exec $2>\"$work/$1.in\""
  for _ in $(seq 200); do
    [ -s "$work/$1.out" ] && break
    sleep 0.1
  done
}
json() { python3 -c "import json,sys; print(json.loads(sys.argv[1])['$2'])" "$1"; }

start_peer nginx 3
start_peer s3 4
ng=$(head -1 "$work/nginx.out")
s3=$(head -1 "$work/s3.out")
head -c $((mb * 1024 * 1024)) /dev/urandom >"$work/seg.ts"

echo "load: $(cut -d' ' -f1-3 /proc/loadavg), file: $mb MiB"
echo
echo "| transport | asked Mbit/s | seconds | achieved Mbit/s | of asked |"
echo "|---|---|---|---|---|"
for r in $rates; do
  bps=$((r * 1000000))
  out=$("$tool" --bitrate $bps --ca-file "$(json "$ng" ca)" \
    "https://localhost:$(json "$ng" https_port)/bench" "$work/seg.ts" \
    "r$r.ts")
  set -- $out
  echo "| HTTPS PUT (nginx) | $r | ${3#seconds=} | ${4#mbit=} | $(python3 -c "print('%.0f %%' % (${4#mbit=} / $r * 100))") |"
  out=$(AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER "$tool" \
    --bitrate $bps --part-size $((5 * 1024 * 1024)) \
    --endpoint "http://127.0.0.1:$(json "$s3" port)" \
    "s3://dashcam-test/bench" "$work/seg.ts" "r$r.ts")
  set -- $out
  echo "| S3 multipart (s3rver + proxy), ${5#parts=} parts | $r | ${3#seconds=} | ${4#mbit=} | $(python3 -c "print('%.0f %%' % (${4#mbit=} / $r * 100))") |"
done
