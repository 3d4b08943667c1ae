#!/usr/bin/env bash
# Runs an uninstrumented GStreamer program (gst-launch-1.0,
# gst-plugin-scanner, ...) in the sanitizer pass of scripts/test.sh: our
# plugin is built with -fsanitize=address,undefined, and a program that
# dlopens it must have the sanitizer runtimes loaded first. Leak checking is
# off in these programs (GStreamer's own allocations at exit are not ours to
# judge); the unit and element tests check for leaks. Installed as symlinks
# named like the program by scripts/test-sanitize.sh; stderr is also copied
# to $DASHCAM_SANITIZER_LOGS so that UBSan reports (which GCC's runtime
# always writes to stderr) are seen even when a test throws the output away.
set -u
name=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd)

if [ "$name" = gst-plugin-scanner ]; then
  real=$DASHCAM_SANITIZER_SCANNER
else
  real=
  IFS=: read -ra dirs <<<"$PATH"
  for d in "${dirs[@]}"; do
    [ "$d" = "$here" ] && continue
    [ -x "$d/$name" ] && { real=$d/$name; break; }
  done
  [ -n "$real" ] || { echo "$name: not found" >&2; exit 127; }
fi

exec 2> >(exec tee -i -a "$DASHCAM_SANITIZER_LOGS/stderr.$name.$$" >&2)
export LD_PRELOAD="$DASHCAM_SANITIZER_PRELOAD${LD_PRELOAD:+ $LD_PRELOAD}"
export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"
exec "$real" "$@"
