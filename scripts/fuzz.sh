#!/usr/bin/env bash
# Runs every libFuzzer fuzzer of tests/fuzz for a bounded time, one at a
# time: scripts/fuzz.sh [SECONDS_PER_FUZZER] (default 30; 8 fuzzers, so the
# default stays under 5 minutes). Configures and builds the separate clang
# build dir (SAGEWAI_FUZZ_BUILD_DIR, default build-fuzz) when needed. Each
# fuzzer starts from a copy of its committed corpus, so new inputs never
# land in the tree. Fails when any fuzzer crashes, leaks, times out or
# breaks an invariant, and prints the reproducer's path (kept under
# BUILD_DIR/fuzz-artifacts/<name>/) and how to replay it.
set -euo pipefail

seconds=${1:-30}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_FUZZER]" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SAGEWAI_FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${JOBS:-2}

# clang and its libFuzzer/sanitizer runtimes (a no-op when installed).
if [[ -z "${SAGEWAI_FUZZ_CXX:-}" ]]; then
  "$root/scripts/install-deps.sh" clang-14 libclang-rt-14-dev
fi
cxx=${SAGEWAI_FUZZ_CXX:-}
if [[ -z "$cxx" ]]; then
  for c in clang++-14 clang++; do
    if command -v "$c" >/dev/null; then cxx=$c; break; fi
  done
fi
if [[ -z "$cxx" ]]; then
  echo "fuzz: clang++ not found (apt-get install clang-14); the fuzzers need libFuzzer" >&2
  exit 1
fi

if ! grep -qs '^SAGEWAI_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
  launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" \
    -DSAGEWAI_FUZZ=ON "${launcher[@]}" >/dev/null
fi
cmake --build "$build" -j "$jobs" --target fuzzers

work=$(mktemp -d "${TMPDIR:-/tmp}/sagewai-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
artifacts="$build/fuzz-artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

failed=0
total_start=$(date +%s)
rows=()
for fuzzer in "$build"/fuzz/*_fuzz; do
  name=$(basename "$fuzzer" _fuzz)
  seeds="$root/tests/fuzz/corpus/$name"
  corpus="$work/$name"
  mkdir -p "$corpus" "$artifacts/$name"
  cp -r "$seeds"/. "$corpus"/
  dict=()
  if [[ -f "$root/tests/fuzz/$name.dict" ]]; then dict=(-dict="$root/tests/fuzz/$name.dict"); fi
  log="$artifacts/$name/fuzz.log"
  echo "fuzz: $name for ${seconds}s ($(ls "$seeds" | wc -l) seeds)"
  rc=0
  "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$name/" "${dict[@]}" "$corpus" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  result=ok
  if ((rc != 0)); then
    result="FAILED (exit $rc)"
    failed=1
    echo "fuzz: $name failed; log: $log" >&2
    grep -E 'ERROR|invariant failed|SUMMARY' "$log" | head -5 >&2 || true
    for repro in $(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log"); do
      echo "fuzz: reproducer: $repro (replay: $fuzzer $repro)" >&2
    done
  fi
  rows+=("$(printf '%-16s %6s %7s %10s %8s  %s' "$name" "$(ls "$seeds" | wc -l)" \
    "$(ls "$corpus" | wc -l)" "${execs:-?}" "${rate:-?}" "$result")")
done

printf '%-16s %6s %7s %10s %8s  %s\n' fuzzer seeds corpus execs exec/s result
printf '%s\n' "${rows[@]}"
echo "fuzz: total $(($(date +%s) - total_start))s"
exit "$failed"
