#!/usr/bin/env bash
# `make bench`: performance figures, printed and written to BENCHMARKS.md with
# the machine and the date. Reports only: slow numbers never fail it.
set -euo pipefail
build=${1:-build}
bin="$build/bin"
out=${BENCH_OUT:-BENCHMARKS.md}
dir=$(mktemp -d /tmp/sagewai-bench-XXXXXX)
runner_pid=
cleanup() {
  [[ -n "$runner_pid" ]] && kill "$runner_pid" 2>/dev/null && wait "$runner_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

report="$dir/report.md"
{
  echo "# Benchmarks"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "- version: $("$bin/sagewai-tool-runner" --version)"
  echo "- timings on shared machines are noisy: read the ratios, measured side by side in one run"
  echo
  echo "## Sizes"
  echo
  echo "| binary | stripped size | target |"
  echo "|---|---|---|"
  for b in sagewai-entrypoint:1MiB sagewai-tool-runner:16MiB; do
    name=${b%%:*}
    strip -o "$dir/$name" "$bin/$name"
    echo "| $name | $(stat -c %s "$dir/$name") bytes | ≤ ${b##*:} |"
  done
  echo
} > "$report"

mkdir -p "$dir/ws"
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/token"
"$bin/sagewai-tool-runner" serve --listen "unix://$dir/runner.sock" --token-file "$dir/token" \
  --workdir "$dir/ws" 2> "$dir/runner.log" &
runner_pid=$!
for _ in $(seq 200); do
  "$bin/sagewai-tool-runner" health --addr "unix://$dir/runner.sock" 2>/dev/null && break
  sleep 0.05
done
idle_rss=$(awk '/VmRSS/ {print $2}' "/proc/$runner_pid/status")
{
  echo "## Tool-runner (bash)"
  echo
  echo "Idle runner RSS: ${idle_rss} KiB (target < 16 MiB)."
  echo
  "$build/tests/runner_bench" --addr "unix://$dir/runner.sock" --token-file "$dir/token" \
    --pid "$runner_pid" --rounds "${BENCH_ROUNDS:-300}"
} >> "$report"
kill "$runner_pid"; wait "$runner_pid" 2>/dev/null || true; runner_pid=

# Further sections from the other parts, when present.
for part in scripts/bench-fs.sh scripts/bench-eval.sh scripts/bench-docker.sh; do
  if [[ -x "$part" ]]; then
    echo "## $(basename "$part" .sh | sed 's/bench-//')" >> "$report"
    echo >> "$report"
    "$part" "$build" >> "$report" 2>> "$dir/bench-errors.log" || \
      echo "($part failed: $(tail -n 1 "$dir/bench-errors.log"))" >> "$report"
    echo >> "$report"
  fi
done

cp "$report" "$out"
cat "$out"
