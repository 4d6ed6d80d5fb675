#!/usr/bin/env bash
# `make bench`: performance figures, printed and written to BENCHMARKS.md with
# the machine and the date. Reports only: slow numbers never fail it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib-local-runner.sh
source "$root/scripts/lib-local-runner.sh"
build=${1:-build}
bin="$build/bin"
out=${BENCH_OUT:-BENCHMARKS.md}
dir=$(mktemp -d /tmp/sagewai-bench-XXXXXX)
cleanup() {
  local_runner_stop || true
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

SAGEWAI_LOG_LEVEL=warn local_runner_start "$build" "$dir"
idle_rss=$(awk '/VmRSS/ {print $2}' "/proc/$LOCAL_RUNNER_SERVER_PID/status")
{
  echo "## Tool-runner (bash)"
  echo
  echo "The runner as an image starts it (entrypoint → runner as \`${LOCAL_RUNNER_USER:-$(id -un)}\`, tools as \`$LOCAL_RUNNER_TOOL_USER\`), over its unix socket."
  echo
  echo "Idle runner RSS: ${idle_rss} KiB (target < 16 MiB)."
  echo
  "$build/tests/runner_bench" --addr "$LOCAL_RUNNER_ADDR" --token-file "$LOCAL_RUNNER_TOKEN" \
    --pid "$LOCAL_RUNNER_SERVER_PID" --rounds "${BENCH_ROUNDS:-300}"
} >> "$report"
local_runner_stop || true

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
