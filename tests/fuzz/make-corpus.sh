#!/usr/bin/env bash
# Regenerates the seed corpora in tests/fuzz/corpus/ from real data: a few
# KB of x264enc/x265enc (+ AAC) ! mpegtsmux output, the journals
# and files that looprecsink and srtuploadsink leave in a recording
# directory (also after a SIGKILL mid-segment), and the templates and
# formats of the README and the tests. Not run by CI: the corpus is
# committed. Needs the normal build (scripts/test.sh or ninja -C build).
#
#   tests/fuzz/make-corpus.sh
set -euo pipefail
[ -n "${CORPUS_TRACE:-}" ] && set -x
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${DASHCAM_BUILD:-$top/build}
out=$top/tests/fuzz/corpus
export GST_PLUGIN_PATH_1_0=$build/plugins/dashcam
export GST_REGISTRY_1_0=$build/registry-corpus.bin

tmp=$(mktemp -d /tmp/dashcam-corpus-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

rm -rf "$out"
mkdir -p "$out"/{ts,catalog,recover,template,naming}

launch() { gst-launch-1.0 -q "$@" >/dev/null; }

video() {   # video N-FRAMES [LIVE]
  echo "videotestsrc pattern=ball num-buffers=$1 is-live=${2:-false} !" \
    "video/x-raw,width=64,height=48,framerate=30/1,format=I420"
}
h264="x264enc key-int-max=5 speed-preset=ultrafast bitrate=64 ! h264parse"

# seed = settings bytes + data
seed() {   # seed FILE SETTINGS-BYTES(printf) DATA-FILE
  { printf "$2"; cat "$3"; } > "$1"
}

# --- TS parser and segmenter ---------------------------------------------
launch $(video 12) ! $h264 ! mpegtsmux ! filesink location="$tmp/h264.ts"
launch $(video 12) ! x264enc key-int-max=6 bframes=2 speed-preset=ultrafast \
  bitrate=64 ! h264parse ! mpegtsmux name=m ! filesink location="$tmp/h264-aac.ts" \
  audiotestsrc num-buffers=6 samplesperbuffer=1024 ! audioconvert ! avenc_aac ! aacparse ! m.
launch $(video 8) ! x265enc key-int-max=4 speed-preset=ultrafast bitrate=64 \
  ! h265parse ! mpegtsmux ! filesink location="$tmp/h265.ts"
# settings: bits 0-1 target duration, 2-3 max bytes, 4 running times,
# 5 split request; second byte: chunk sizes
seed "$out/ts/h264-100ms" '\x01\x07' "$tmp/h264.ts"
seed "$out/ts/h264-maxbytes-rt" '\x14\x2a' "$tmp/h264.ts"
seed "$out/ts/h264-bframes-aac-rt" '\x11\x03' "$tmp/h264-aac.ts"
seed "$out/ts/h264-bframes-aac" '\x02\x09' "$tmp/h264-aac.ts"
seed "$out/ts/h265" '\x01\x05' "$tmp/h265.ts"
seed "$out/ts/h264-split-request" '\x21\x11' "$tmp/h264.ts"

# --- recording directories -------------------------------------------------
ingest_log=$tmp/ingest.log
"$build/tools/dashcam-ingest" --port 0 --root "$tmp/server" --quiet \
  > "$ingest_log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  grep -q "listening on" "$ingest_log" && break
  sleep 0.1
done
port=$(grep -o "listening on [^ ]*" "$ingest_log" | grep -o '[0-9]*$')

# two runs, 300 ms segments, max-files=3: open, close, deleted records
for n in 40 30; do
  launch $(video $n) ! $h264 ! mpegtsmux ! looprecsink location="$tmp/rec" \
    max-size-time=300000000 max-files=3
done
# live and backlog upload: uploaded records
launch $(video 45 true) ! $h264 ! mpegtsmux ! tee name=t \
  t. ! queue ! looprecsink location="$tmp/up" max-size-time=500000000 \
  t. ! queue ! srtuploadsink uri="srt://127.0.0.1:$port" device-id=fuzz \
      backlog-location="$tmp/up"
# many 100 ms segments, then a restart that compacts the journal
launch $(video 120) ! x264enc key-int-max=3 speed-preset=ultrafast bitrate=64 \
  ! h264parse ! mpegtsmux ! looprecsink location="$tmp/compact" \
  max-size-time=100000000 max-files=2
launch $(video 9) ! $h264 ! mpegtsmux ! looprecsink location="$tmp/compact" \
  max-size-time=100000000 max-files=2
# a power cut: SIGKILL in the middle of a segment
gst-launch-1.0 -q $(video 300 true) ! $h264 ! mpegtsmux ! looprecsink \
  location="$tmp/cut" max-size-time=500000000 sync-interval=100000000 \
  >/dev/null 2>&1 &
pids+=($!)
sleep 1.6
kill -KILL "${pids[-1]}"
wait "${pids[-1]}" 2>/dev/null || true

python3 - "$tmp" "$out" <<'PY'
import os, sys, zlib

tmp, out = sys.argv[1:3]
SEP = b"@@file@@"

def journal(d):
    return open(os.path.join(d, ".dashcam", "journal"), "rb").read()

def record(body):
    return b"%08x %s\n" % (zlib.crc32(body), body)

def segments(j):
    """name -> index of the segments the journal lists, as the catalog
    reads it"""
    segs = {}
    for line in j.split(b"\n"):
        if len(line) < 10 or b"%08x" % zlib.crc32(line[9:]) != line[:8]:
            continue
        f = line[9:].split(b" ")
        kv = dict(t.split(b"=", 1) for t in f[1:] if b"=" in t)
        name = kv.get(b"name")
        if name is None:
            continue
        if f[0] in (b"open", b"close", b"seg"):
            segs[name] = int(kv.get(b"index", segs.get(name, 0)))
        elif f[0] == b"deleted":
            segs.pop(name, None)
    return segs

def catalog_seed(path, j, cut=None):
    cut = len(j) // 2 if cut is None else cut
    open(path, "wb").write(b"\x01" + bytes([(cut >> 8) & 0xff, cut & 0xff]) + j)

def recover_seed(path, d, j, trim=None):
    segs = sorted(segments(j).items(), key=lambda kv: (kv[1], kv[0]))
    parts = [b"\x01" + j]
    known = set()
    for name, _ in segs:
        name = name.decode()
        known |= {name, name + ".part"}
        for mode, fn in ((0, name + ".part"), (1, name)):
            p = os.path.join(d, fn)
            if os.path.isfile(p):
                data = open(p, "rb").read()
                if trim and mode == 0:
                    data = data[:trim]
                parts.append(bytes([mode]) + data)
                break
        else:
            parts.append(b"\x03")
    for fn in sorted(os.listdir(d)):
        if fn not in known and os.path.isfile(os.path.join(d, fn)):
            parts.append(b"\x00" + open(os.path.join(d, fn), "rb").read())
    open(path, "wb").write(SEP.join(parts))

rec, up = journal(tmp + "/rec"), journal(tmp + "/up")
compact, cut = journal(tmp + "/compact"), journal(tmp + "/cut")
catalog_seed(out + "/catalog/two-runs-max-files", rec)
catalog_seed(out + "/catalog/uploaded", up)
catalog_seed(out + "/catalog/compacted", compact)
catalog_seed(out + "/catalog/power-cut", cut)
# lock and unlock records as the lock signal writes them
names = sorted(segments(rec), key=lambda n: segments(rec)[n])
locks = record(b"lock name=" + names[0]) + record(b"lock name=" + names[-1]) \
    + record(b"unlock name=" + names[0])
catalog_seed(out + "/catalog/locks", rec + locks)
# enough records for compaction (64 + 4 per segment) in a few KB
many = b"".join(record(b"%s name=%s" % (t, n)) for _ in range(12)
                for n in names[-3:] for t in (b"lock", b"unlock"))
catalog_seed(out + "/catalog/compaction-due", rec + many)
# the journal torn in its last line, as a power cut leaves it
catalog_seed(out + "/catalog/torn", rec[:-17], 0)

recover_seed(out + "/recover/power-cut", tmp + "/cut", cut)
recover_seed(out + "/recover/power-cut-torn-packet", tmp + "/cut", cut,
             trim=1000)
recover_seed(out + "/recover/two-runs-max-files", tmp + "/rec", rec)
PY

# --- streamid templates: settings, wall clock (LE), template, device,
#     segment, URI ------------------------------------------------------------
wall='\x00\x60\xe2\xbb\x14\x60\x06\x00'   # 2026-11-18 (1795000000 s)
tmpl() { printf "$1$wall%s\n%s\n%s\n%s" "$3" "$4" "$5" "$6" > "$out/template/$2"; }
tmpl '\x00' live-default 'publish:{device}/{start}' car42 '' \
  '127.0.0.1:8890?latency=200'
tmpl '\x03' backlog-default 'publish:{device}/{segment}' \
  0b7e5b36a1c94c1d8d1f5a2e3c4b5a69 20261122T143000Z-000123 \
  'srt://ingest.example.com:8890?passphrase=0123456789abcdef&pbkeylen=16'
tmpl '\x00' srs '#!::r=live/{device},m=publish' car42 '' \
  'srt://[::1]:9000?streamid=%23!::r=live/car42,m=publish'
tmpl '\x01' mediamtx 'publish:dashcam/{device}-{start}' car42 '' \
  'srt://10.0.0.1:8890?mode=caller&latency=125'
tmpl '\x01' unknown-placeholder '{device}/{segmnt}' car42 '' 'srt://host'

# --- filename formats: wall clock (LE), index (LE), format ------------------
index='\x40\xe2\x01\x00\x00\x00\x00\x00'   # 123456
fmt() { printf "$wall$index%s" "$2" > "$out/naming/$1"; }
fmt default '%Y%m%dT%H%M%SZ-{index}.ts'
fmt device '{device}-{index}.ts'
fmt index-start '{index}-{start}.ts'
fmt slash-date '%D-{index}'
fmt no-index '%Y%m%dT%H%M%SZ.ts'
fmt dotdot 'x..{index}.ts'
fmt iso '%F_%H-%M-%S_{index}.mpg'

ls -l "$out"/*
