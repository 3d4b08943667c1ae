#!/usr/bin/env bash
# Integration test of tools/dashcam-ingest, the reference SRT ingest
# receiver, against real srt-live-transmit callers on 127.0.0.1.
#
# Usage: test-ingest.sh [PATH/TO/dashcam-ingest]   (default: $DASHCAM_INGEST)
#
# Sender facts this test is built around (srt-tools 1.5.1):
# - srt-live-transmit reads stdin while its SRT connection is still being
#   set up and throws that data away, so each sender's input is held back
#   until it prints "SRT target connected".
# - At EOF of stdin it keeps the last partial -chunk read unsent and never
#   exits; the sources are therefore cut to a multiple of 1316 bytes (7 TS
#   packets) and the sender is stopped with SIGINT once everything arrived.
# With both, the received file must be byte-identical to the source.
#
# Exit status: 0 all passed, 1 a check failed, 77 a tool is missing.

# NAME_PID and NAME_PORT variables are set through printf -v.
# shellcheck disable=SC2154

set -euo pipefail

INGEST=${1:-${DASHCAM_INGEST:-}}
if [[ -z $INGEST ]]; then
  echo "usage: $0 PATH/TO/dashcam-ingest (or set DASHCAM_INGEST)" >&2
  exit 2
fi
INGEST=$(realpath "$INGEST")
HOST=127.0.0.1
CHUNK=1316

for tool in srt-live-transmit gst-launch-1.0 md5sum timeout; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool not found"
    exit 77
  fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/test-ingest.XXXXXX")
PIDS=()
n_pass=0
n_fail=0

cleanup () {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

pass () { echo "PASS: $*"; n_pass=$((n_pass + 1)); }
fail () { echo "FAIL: $*"; n_fail=$((n_fail + 1)); }
check () {
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

# wait_for FILE PATTERN [SECONDS]: until grep -E finds PATTERN in FILE.
wait_for () {
  local file=$1 pattern=$2 tries=$(( ${3:-5} * 20 ))
  while (( tries-- > 0 )); do
    grep -Eq -- "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# wait_exists FILE [SECONDS]
wait_exists () {
  local tries=$(( ${2:-5} * 20 ))
  while (( tries-- > 0 )); do
    [[ -e $1 ]] && return 0
    sleep 0.05
  done
  return 1
}

# wait_size FILE SIZE [SECONDS]: until FILE holds SIZE bytes.
wait_size () {
  local file=$1 size=$2 tries=$(( ${3:-10} * 20 ))
  while (( tries-- > 0 )); do
    [[ -f $file && $(stat -c %s "$file") -ge $size ]] && return 0
    sleep 0.05
  done
  return 1
}

same_bytes () { [[ $(md5sum < "$1") == $(md5sum < "$2") ]]; }

# start_ingest NAME ARGS...: sets NAME_PID, NAME_PORT; log in $WORK/NAME.log
start_ingest () {
  local name=$1 log=$WORK/$1.log port
  shift
  timeout 50 "$INGEST" --port 0 "$@" > "$log" 2> "$WORK/$name.err" &
  PIDS+=($!)
  printf -v "${name}_PID" %s $!
  if ! wait_for "$log" '^listening on 127\.0\.0\.1:[0-9]+$'; then
    echo "FAIL: $name did not print 'listening on'"
    cat "$log" "$WORK/$name.err"
    exit 1
  fi
  port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$log")
  printf -v "${name}_PORT" %s "$port"
}

# start_sender NAME PORT QUERY SOURCE [GATE]: an srt-live-transmit caller
# fed SOURCE once it is connected and, if given, once file GATE exists.
# Sets NAME_PID (sender) and NAME_WPID (writer); log in $WORK/NAME.slt.
start_sender () {
  local name=$1 port=$2 query=$3 src=$4 gate=${5:-} slt=$WORK/$1.slt
  local fifo=$WORK/$1.fifo
  : > "$slt"
  mkfifo "$fifo"
  timeout 30 srt-live-transmit -a:no -chunk:$CHUNK file://con \
      "srt://$HOST:$port?$query" < "$fifo" > "$slt" 2>&1 &
  PIDS+=($!)
  printf -v "${name}_PID" %s $!
  { wait_for "$slt" 'SRT target connected' 10 || exit 0
    [[ -z $gate ]] || wait_exists "$gate" 10 || exit 0
    cat "$src"
  } > "$fifo" &
  PIDS+=($!)
  printf -v "${name}_WPID" %s $!
}

# stop_sender NAME: SIGINT makes srt-live-transmit close its socket cleanly.
stop_sender () {
  local pid=${1}_PID wpid=${1}_WPID
  kill "${!wpid}" 2>/dev/null || true
  kill -INT "${!pid}" 2>/dev/null || true
  wait "${!pid}" "${!wpid}" 2>/dev/null || true
}

# refused_sender NAME PORT QUERY: a caller that is expected to be refused.
refused_sender () {
  sleep 0.5 | timeout 10 srt-live-transmit -a:no file://con \
      "srt://$HOST:$2?$3" > "$WORK/$1.slt" 2>&1 || true
}

make_source () {
  local out=$1 pattern=$2 size
  timeout 20 gst-launch-1.0 -q videotestsrc pattern="$pattern" \
      num-buffers=150 ! video/x-raw,format=I420,width=320,height=240 \
      ! x264enc ! h264parse ! mpegtsmux ! filesink location="$out.full"
  size=$(stat -c %s "$out.full")
  head -c $(( size / CHUNK * CHUNK )) "$out.full" > "$out"
}

make_source "$WORK/a.ts" smpte
make_source "$WORK/b.ts" ball
SIZE_A=$(stat -c %s "$WORK/a.ts")
SIZE_B=$(stat -c %s "$WORK/b.ts")

ROOT=$WORK/root
start_ingest ing --root "$ROOT" --reject 'publish:banned/*'
LOG=$WORK/ing.log

# --- two callers at once ---------------------------------------------------
# Each sender's input waits for both connections, so both are open together.
start_sender a "$ing_PORT" "streamid=publish:car42/a" "$WORK/a.ts" \
    "$WORK/b.connected"
start_sender b "$ing_PORT" "streamid=#!::r=live/car43,m=publish" "$WORK/b.ts" \
    "$WORK/a.connected"
wait_for "$WORK/a.slt" 'SRT target connected' 10 && touch "$WORK/a.connected"
wait_for "$WORK/b.slt" 'SRT target connected' 10 && touch "$WORK/b.connected"
wait_size "$ROOT/car42/a.ts" "$SIZE_A" || true
wait_size "$ROOT/live/car43.ts" "$SIZE_B" || true
stop_sender a
stop_sender b
wait_for "$LOG" "^close id=[0-9]+ bytes=$SIZE_A file=car42/a.ts " || true
wait_for "$LOG" "^close id=[0-9]+ bytes=$SIZE_B file=live/car43.ts " || true

both_open () {
  # Both connect lines come before the first close line.
  awk '/^connect /{c++} /^close /{exit} END{exit !(c >= 2)}' "$LOG"
}
check "two callers connected at the same time" both_open
check "MediaMTX streamid publish:car42/a recorded to car42/a.ts, \
$SIZE_A bytes identical to the source" same_bytes "$WORK/a.ts" "$ROOT/car42/a.ts"
check "SRS streamid #!::r=live/car43,m=publish recorded to live/car43.ts, \
$SIZE_B bytes identical to the source" \
    same_bytes "$WORK/b.ts" "$ROOT/live/car43.ts"
check "close lines report the byte counts" \
    grep -Eq "^close id=[0-9]+ bytes=$SIZE_A file=car42/a.ts( |$)" "$LOG"

# --- same streamid again: a new file, never an overwrite ---------------------
start_sender a2 "$ing_PORT" "streamid=publish:car42/a" "$WORK/b.ts"
wait_size "$ROOT/car42/a.1.ts" "$SIZE_B" || true
stop_sender a2
check "second connection with the same streamid goes to car42/a.1.ts" \
    same_bytes "$WORK/b.ts" "$ROOT/car42/a.1.ts"
check "first file car42/a.ts left untouched" \
    same_bytes "$WORK/a.ts" "$ROOT/car42/a.ts"

# --- streamids that would leave root -----------------------------------------
refused_sender dotdot1 "$ing_PORT" "streamid=publish:../escape"
refused_sender dotdot2 "$ing_PORT" "streamid=publish:car42/../../escape2"
refused_sender dotdot3 "$ing_PORT" "streamid=/tmp/escape3"
check "'..' streamid refused with 1400 before accept" \
    grep -Eq '^refuse peer=127\.0\.0\.1:[0-9]+ streamid="publish:\.\./escape" reason=bad-request code=1400' "$LOG"
check "'a/../..' streamid refused" \
    grep -Eq '^refuse .*streamid="publish:car42/\.\./\.\./escape2" .*code=1400' "$LOG"
check "absolute streamid refused" \
    grep -Eq '^refuse .*streamid="/tmp/escape3" .*code=1400' "$LOG"
check "callers saw the rejection" \
    grep -q 'REJECT' "$WORK/dotdot1.slt"
outside=$(find "$WORK" -name 'escape*' | wc -l)
check "nothing written outside root" test "$outside" -eq 0
check "no connection accepted for refused streamids" \
    test "$(grep -c '^connect ' "$LOG")" -eq 3

# --- --reject ----------------------------------------------------------------
refused_sender banned "$ing_PORT" "streamid=publish:banned/car9"
check "--reject glob refuses with 1403" \
    grep -Eq '^refuse .*streamid="publish:banned/car9" reason=forbidden code=1403' "$LOG"
check "--reject leaves no file" test ! -e "$ROOT/banned"

# --- SIGTERM with a caller connected -------------------------------------------
start_sender held "$ing_PORT" "streamid=publish:car42/held" /dev/null \
    "$WORK/never"
wait_for "$LOG" '^connect .* file=car42/held.ts$' 10 || true
kill -TERM "$ing_PID"
ing_rc=0
wait "$ing_PID" || ing_rc=$?
stop_sender held
check "SIGTERM exits 0" test "$ing_rc" -eq 0
check "SIGTERM closes open connections" \
    grep -Eq '^close id=[0-9]+ bytes=0 file=car42/held.ts reason=shutdown$' "$LOG"

# --- passphrase ----------------------------------------------------------------
PASS=dashcam-test-passphrase
start_ingest enc --root "$WORK/enc" --passphrase "$PASS" --pbkeylen 32
refused_sender plain "$enc_PORT" "streamid=publish:plain"
check "unencrypted caller refused" \
    grep -q 'Password required or unexpected' "$WORK/plain.slt"
refused_sender wrong "$enc_PORT" "streamid=publish:wrong&passphrase=not-the-passphrase"
check "wrong passphrase refused" \
    grep -q 'Incorrect passphrase' "$WORK/wrong.slt"
check "refused callers left no file" \
    test ! -e "$WORK/enc/plain.ts" -a ! -e "$WORK/enc/wrong.ts"
start_sender crypt "$enc_PORT" "streamid=publish:car42/crypt&passphrase=$PASS" \
    "$WORK/a.ts"
wait_size "$WORK/enc/car42/crypt.ts" "$SIZE_A" || true
stop_sender crypt
check "encrypted caller recorded, bytes identical" \
    same_bytes "$WORK/a.ts" "$WORK/enc/car42/crypt.ts"
check "passphrase never logged" \
    bash -c "! grep -q -- '$PASS' '$WORK/enc.log' '$WORK/enc.err'"

if (( n_fail > 0 )); then
  echo "--- ingest log"; cat "$LOG" "$WORK/ing.err"
  echo "--- encrypted ingest log"; cat "$WORK/enc.log" "$WORK/enc.err"
fi
echo "$n_pass passed, $n_fail failed"
(( n_fail == 0 ))
