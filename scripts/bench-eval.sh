#!/usr/bin/env bash
# CodeEval latency for `make bench` (scripts/bench.sh runs it with the build
# directory): eval round trips in a warm context and one-shot, as a markdown
# table on stdout. Reports only: slow numbers never fail it.
#
#   scripts/bench-eval.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
# The system's interpreters, as an image has them (not a developer's shims).
export PATH=${BENCH_EVAL_PATH:-/usr/local/bin:/usr/bin:/bin}
bin="$build/bin"
bench="$build/tests/code_eval_bench"
if [[ ! -x "$bench" || ! -x "$bin/sagewai-tool-runner" ]]; then
  echo "bench-eval: build first ($bench or $bin/sagewai-tool-runner is missing)" >&2
  exit 1
fi
dir=$(mktemp -d /tmp/sagewai-bench-eval-XXXXXX)
runner_pid=
cleanup() {
  if [[ -n "$runner_pid" ]]; then
    kill "$runner_pid" 2>/dev/null || true
    wait "$runner_pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

mkdir -p "$dir/ws"
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/token"
SAGEWAI_LOG_LEVEL=warn "$bin/sagewai-tool-runner" serve --listen "unix://$dir/runner.sock" \
  --token-file "$dir/token" --workdir "$dir/ws" 2> "$dir/runner.log" &
runner_pid=$!
for _ in $(seq 200); do
  "$bin/sagewai-tool-runner" health --addr "unix://$dir/runner.sock" 2>/dev/null && break
  sleep 0.05
done

echo "python3: $(command -v python3 || echo none) ($(python3 --version 2>&1 || true));" \
  "node: $(command -v node || echo none); bash: $(command -v bash || echo none)"
echo
"$bench" --addr "unix://$dir/runner.sock" --token-file "$dir/token" \
  --rounds "${BENCH_EVAL_ROUNDS:-200}"
echo "Runner threads after the run: $(awk '/^Threads/ {print $2}' "/proc/$runner_pid/status")," \
  "RSS $(awk '/^VmRSS/ {print $2}' "/proc/$runner_pid/status") KiB."
