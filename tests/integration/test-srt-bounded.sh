#!/usr/bin/env bash
# Every wait of srtuploadsink is bounded: ^C (SIGINT to gst-launch -e,
# which sends EOS, then goes to NULL) ends the pipeline in under 3 s
#   1. while the server's name is being looked up and DNS never answers
#      (a resolv.conf bind-mounted in a mount namespace points at a local
#      UDP port that swallows the queries; a car modem without service);
#   2. while connecting to a server that never answers the handshake;
#   3. while a backlog upload is being sent, with link-timeout=60 s;
#   4. while the live receiver is frozen (SIGSTOP) with link-timeout=60 s,
#      so EOS finds a link that is up but silent.
# In 1 the pipeline also goes PLAYING and records meanwhile.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_cmds gst-launch-1.0 ffprobe python3 stdbuf unshare mount "$INGEST"

unshare -m true 2>/dev/null || { echo "SKIP: mount namespaces are not allowed here"; exit 77; }

work=$(mktemp -d)
PIPE_PID=
SWALLOW_PID=
failed=0
bad() { echo "FAIL: $*" >&2; failed=1; }
cleanup() {
  local p
  for p in $PIPE_PID $SWALLOW_PID ${ING_PID:-} $BG_PIDS; do
    kill -CONT "$p" 2>/dev/null || true
    kill_tree "$p"
  done
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# A UDP "server" that reads and never answers: ADDR PORT... (one socket each)
python3 - "$work/swallow.ready" <<'PY' &
import socket, sys, select
socks = []
for host, port in (("127.0.0.1", 0),):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    socks.append(s)
# a DNS server address of our own on the loopback (any 127/8 works)
dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(2, 250):
    try:
        dns.bind(("127.83.%d.1" % i, 53))
        break
    except OSError:
        continue
socks.append(dns)
open(sys.argv[1], "w").write("%d %s\n" % (socks[0].getsockname()[1], dns.getsockname()[0]))
while True:
    for s in select.select(socks, [], [])[0]:
        s.recv(65536)
PY
SWALLOW_PID=$!
for _ in $(seq 100); do [ -s "$work/swallow.ready" ] && break; sleep 0.05; done
# (port 53 needs root, as the mount namespace does)
read -r silent_port dns_ip <"$work/swallow.ready" 2>/dev/null ||
  { echo "SKIP: cannot bind a DNS port on the loopback"; exit 77; }
echo "nameserver $dns_ip" >"$work/resolv.conf"
echo "silent SRT server 127.0.0.1:$silent_port, silent DNS server $dns_ip:53"

# run_case NAME URI WAIT_PATTERN [PROPS...]: the dashcam pipeline (in a
# mount namespace with the silent DNS server) until WAIT_PATTERN is in its
# log, then SIGINT; it must be gone within 3 s. Sets STOP_S.
run_case() {
  local name=$1 uri=$2 pattern=$3 log=$work/$1.log t0 t1
  shift 3
  # shellcheck disable=SC2016
  unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$work/resolv.conf" \
    stdbuf -oL gst-launch-1.0 -e -m \
    videotestsrc is-live=true pattern=ball ! \
    video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! \
    x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! \
    h264parse ! mpegtsmux ! tee name=t \
    t. ! queue ! looprecsink location="$work/rec-$name" max-size-time=1000000000 \
    t. ! queue ! srtuploadsink uri="$uri" device-id=car42 \
        backlog-location="$work/rec-$name" "$@" >"$log" 2>&1 &
  PIPE_PID=$!
  if ! wait_for_line "$log" "$pattern" 30; then
    bad "$name: never saw \"$pattern\": $(tail -3 "$log")"
    kill_tree "$PIPE_PID"; PIPE_PID=; return 1
  fi
  [ -z "${BEFORE_INT:-}" ] || eval "$BEFORE_INT"
  t0=$(now_ms)
  kill -INT "$PIPE_PID"
  if ! wait_exit "$PIPE_PID" 20; then
    bad "$name: gst-launch failed or hung after SIGINT: $(grep -m2 ERROR "$log")"
  fi
  PIPE_PID=
  t1=$(now_ms)
  STOP_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1000 }')
  if [ $((t1 - t0)) -ge 3000 ]; then
    bad "$name: stopping took $STOP_S s"
  else
    pass "$name: stopped $STOP_S s after SIGINT"
  fi
}

echo "== 1. DNS never answers"
BEFORE_INT="sleep 2" run_case dns "srt://srt.dashcam-test.lan:9000" \
  'Setting pipeline to PLAYING' || true
n=$(find "$work/rec-dns" -name '*.ts' | wc -l)
[ "$n" -ge 1 ] || bad "dns: nothing was recorded while the name was looked up"
grep -q 'srtuploadsink-link, state=(string)up' "$work/dns.log" && bad "dns: the link went up?"

echo "== 2. EOS during a connection attempt"
run_case connect "srt://127.0.0.1:$silent_port" \
  'srtuploadsink-link, state=(string)connecting' reconnect-max-interval=20000000000 || true

echo "== 3. ^C during a backlog upload, link-timeout 60 s"
port=$(free_udp_port)
( sleep 3; exec "$INGEST" --port "$port" --root "$work/srv" >"$work/srv.log" 2>&1 ) &
ING_PID=$!
run_case upload "srt://127.0.0.1:$port" \
  'srtuploadsink-backlog, .*state=(string)started' link-timeout=60000000000 \
  backlog-max-bitrate=100000 reconnect-max-interval=500000000 || true

echo "== 4. ^C with the live receiver frozen, link-timeout 60 s"
BEFORE_INT="kill -STOP $ING_PID; sleep 1" run_case frozen "srt://127.0.0.1:$port" \
  'srtuploadsink-link, state=(string)up' link-timeout=60000000000 || true
kill -CONT "$ING_PID" 2>/dev/null || true

[ "$failed" -eq 0 ] || fail "see the FAIL lines above"
pass "srtuploadsink stops in under 3 s whatever the network does"
