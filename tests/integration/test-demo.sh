#!/usr/bin/env bash
# The demo (README command 1) end to end, shortened to 30 s: it must report
# that every recorded second is on the server, exit 0, and draw its
# timeline.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
demo=${DASHCAM_DEMO:?}
need_cmds "$demo" "$INGEST"

work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
timeout 150 "$demo" --location "$work/rec" --duration 30 --ingest "$INGEST" >"$work/out" 2>&1 ||
  fail "the demo failed: $(tail -15 "$work/out")"
grep -q '^every recorded second is on the server: YES$' "$work/out" || fail "$(tail -15 "$work/out")"
n_back=$(grep -c ' backlog$' "$work/out" || true)
n_live=$(grep -c ' live$' "$work/out" || true)
[ "$n_back" -ge 2 ] && [ "$n_live" -ge 2 ] ||
  fail "expected segments both live and through the backlog: $n_live live, $n_back backlog; output: $(grep -v '^\[' "$work/out")"
grep -q '<polyline' "$work/rec.timeline.svg" || fail "no timeline"
pass "demo: $n_live segments live, $n_back through the backlog, all on the server"
