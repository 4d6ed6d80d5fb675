#!/usr/bin/env bash
# CodeEval latency for `make bench` (scripts/bench.sh runs it with the build
# directory): eval round trips in a warm context and one-shot, as a markdown
# table on stdout. Reports only: slow numbers never fail it.
#
#   scripts/bench-eval.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib-local-runner.sh
source "$root/scripts/lib-local-runner.sh"
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
cleanup() {
  local_runner_stop || true
  rm -rf "$dir"
}
trap cleanup EXIT

SAGEWAI_LOG_LEVEL=warn local_runner_start "$build" "$dir"

echo "python3: $(command -v python3 || echo none) ($(python3 --version 2>&1 || true));" \
  "node: $(command -v node || echo none); bash: $(command -v bash || echo none)"
echo
rounds=${BENCH_EVAL_ROUNDS:-200}
echo "The runner on the host as an image starts it; $rounds rounds for each warm context,"
echo "$((rounds / 10 > 5 ? rounds / 10 : 5)) for one-shot evals and new contexts (the rounds column counts the successful ones)."
echo
"$bench" --addr "$LOCAL_RUNNER_ADDR" --token-file "$LOCAL_RUNNER_TOKEN" --rounds "$rounds"
echo "Runner threads after the run: $(awk '/^Threads/ {print $2}' "/proc/$LOCAL_RUNNER_SERVER_PID/status")," \
  "RSS $(awk '/^VmRSS/ {print $2}' "/proc/$LOCAL_RUNNER_SERVER_PID/status") KiB."
