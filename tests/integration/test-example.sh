#!/usr/bin/env bash
# The example application: SIGUSR1 (the G-sensor) locks the segments around
# now; Ctrl-C ends the recording cleanly.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
app=${DASHCAM_APP:-}
[ -n "$app" ] && [ -x "$app" ] || { echo "SKIP: examples not built"; exit 77; }
need_cmds ffprobe ffmpeg

work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
"$app" "$work/rec" >"$work/out" 2>&1 &
pid=$!
wait_for_line "$work/out" looprecsink-segment-closed 20 || fail "no segment: $(cat "$work/out")"
kill -USR1 "$pid"
wait_for_line "$work/out" 'looprecsink-segment-locked' 10 || fail "no lock: $(cat "$work/out")"
sleep 3
kill -INT "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "the app did not stop on Ctrl-C"
wait "$pid" || fail "the app failed: $(tail -5 "$work/out")"
pid=

grep -q 'stopping: EOS' "$work/out" || fail "no EOS on Ctrl-C"
ls "$work"/rec/*.part >/dev/null 2>&1 && fail "a segment was left incomplete"
locked=$(python3 - "$work/rec/.dashcam/journal" <<'PY'
import sys
locked = set()
for line in open(sys.argv[1]):
    f = line.split()
    kv = dict(x.split("=", 1) for x in f[2:] if "=" in x)
    if len(f) > 1 and f[1] == "lock":
        locked.add(kv["name"])
    if len(f) > 1 and f[1] in ("close", "seg") and kv.get("locked") == "1":
        locked.add(kv["name"])
print("\n".join(sorted(locked)))
PY
)
[ -n "$locked" ] || fail "no segment is locked in the catalog"
for name in $locked; do
  [ -f "$work/rec/$name" ] || fail "locked segment $name is gone"
  ts_decodes "$work/rec/$name" || fail "locked segment $name does not decode"
done
pass "SIGUSR1 locked $(echo "$locked" | wc -l) segments, Ctrl-C stopped cleanly"
