#!/usr/bin/env bash
# Fuzzing: builds the libFuzzer harnesses of tests/fuzz/ with clang
# (AddressSanitizer, UndefinedBehaviorSanitizer, leak checks) in
# build-fuzz/, separate from the normal gcc build, and runs each for
# SECONDS (default 30) on a copy of its committed seed corpus. Exits
# non-zero if any harness finds a crash, a leak, undefined behaviour, a
# hang or a broken invariant, and prints the reproducer's path. Writes one
# line per harness to build-fuzz/fuzz-results.json, in the form of meson's
# testlog.json (scripts/test.sh counts them).
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]     harnesses: ts catalog recover
#                                              template naming
#   build-fuzz/tests/fuzz/fuzz-NAME FILE       replays one input
set -euo pipefail
. "$(dirname "$0")/common.sh"

seconds=${1:-30}
shift || true
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  harnesses=(ts catalog recover template naming)
fi
build=${DASHCAM_FUZZ_BUILD:-$DASHCAM_TOP/build-fuzz}

# clang and its sanitizer/fuzzer runtimes: only this script needs them
dashcam_install_deps
missing=()
for p in clang libclang-rt-14-dev; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  echo "fuzz: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q \
    --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi

if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" "$DASHCAM_TOP" -Dfuzzing=enabled \
    -Dtests=disabled -Dexamples=disabled >/dev/null
fi
ninja -C "$build" fuzzers >/dev/null

results=$build/fuzz-results.json
: > "$results"
scratch=$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp )/dashcam-fuzz-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export DASHCAM_FUZZ_SCRATCH=$scratch
export LSAN_OPTIONS=suppressions=$DASHCAM_TOP/tests/fuzz/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1

failed=0
for h in "${harnesses[@]}"; do
  run=$build/fuzz-run/$h
  rm -rf "$run"
  mkdir -p "$run/corpus" "$run/artifacts"
  cp "$DASHCAM_TOP/tests/fuzz/corpus/$h/"* "$run/corpus/"
  rc=0
  "$build/tests/fuzz/fuzz-$h" -max_total_time="$seconds" -timeout=30 \
    ${DASHCAM_FUZZ_SEED:+-seed="$DASHCAM_FUZZ_SEED"} -print_final_stats=1 -artifact_prefix="$run/artifacts/" "$run/corpus" \
    > "$run/log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$run/log" | tail -1)
  repro=$(sed -n "s/.*Test unit written to //p" "$run/log" | tail -1)
  if [ "$rc" -eq 0 ] && [ -z "$repro" ]; then
    echo "fuzz: $h: ${execs:-?} inputs in ${seconds} s, nothing found"
    echo "{\"name\": \"fuzz/$h\", \"result\": \"OK\"}" >> "$results"
  else
    failed=1
    grep -E "ERROR|runtime error|invariant broken|SUMMARY|^    #[0-9] " \
      "$run/log" | head -30 >&2 || true
    echo "fuzz: $h: FAILED after ${execs:-?} inputs (exit $rc)," \
      "reproducer: ${repro:-none, see $run/log}" >&2
    echo "fuzz: replay with: $build/tests/fuzz/fuzz-$h ${repro:-FILE}" >&2
    echo "{\"name\": \"fuzz/$h\", \"result\": \"FAIL\"}" >> "$results"
  fi
done
exit $failed
