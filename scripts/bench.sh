#!/usr/bin/env bash
# `make bench`: every performance figure, each beside its reference measured
# in the same run, written as one markdown document to BENCHMARKS.md (or
# $BENCH_OUT) with the machine, its load before and after, the commit and the
# version. Reports only: slow numbers never fail it. Sections, in order:
#   sizes; the local runner (tests/bench/runner_bench); where a Bash.Run's
#   time goes (scripts/bench-profile.sh, when present); files
#   (scripts/bench-fs.sh); CodeEval (scripts/bench-eval.sh); Docker
#   (scripts/bench-docker.sh). A part that fails leaves its last error line.
#
#   scripts/bench.sh BUILD_DIR
#   BENCH_OUT=/tmp/b.md BENCH_ROUNDS=100 scripts/bench.sh build
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib-local-runner.sh
source "$root/scripts/lib-local-runner.sh"
build=$(cd "${1:-build}" && pwd)
bin="$build/bin"
out=${BENCH_OUT:-$root/BENCHMARKS.md}
rounds=${BENCH_ROUNDS:-300}
dir=$(mktemp -d /tmp/sagewai-bench-XXXXXX)
chmod 0755 "$dir" # the runner and tool users reach the local runner's directory inside
cleanup() {
  local_runner_stop || true
  rm -rf "$dir"
}
trap cleanup EXIT

log() { printf 'bench: %s\n' "$*" >&2; }
load() { awk '{print $1 " / " $2 " / " $3}' /proc/loadavg; }
load_before=$(load)
started=$SECONDS
body="$dir/body.md"
: >"$body"

# Runs one part: its markdown under "## TITLE", then how long it took. A
# failing part leaves its last error line in the document.
section() {
  local title=$1 t0=$SECONDS errors="$dir/errors.log"
  shift
  log "$title"
  {
    echo "## $title"
    echo
    local rc=0
    "$@" 2> >(tee "$errors" >&2) || rc=$?
    wait $! # the tee, so that the error file is complete
    if ((rc != 0)); then
      echo
      echo "(this part failed: $(tail -n 1 "$errors"))"
    fi
    echo
    echo "_This section took $((SECONDS - t0)) s._"
    echo
  } >>"$body"
}

sizes() {
  echo "One measurement of each (\`strip\` of the built binary)."
  echo
  echo "| binary | stripped size | target |"
  echo "|---|---|---|"
  local b name
  for b in sagewai-entrypoint:1MiB sagewai-tool-runner:16MiB; do
    name=${b%%:*}
    strip -o "$dir/$name" "$bin/$name" || return
    echo "| $name | $(stat -c %s "$dir/$name") bytes | ≤ ${b##*:} |"
  done
}

local_runner() {
  # Called on the left of `||`, where set -e does not hold: each step checks.
  SAGEWAI_LOG_LEVEL=warn local_runner_start "$build" "$dir/runner" || return
  echo "The runner as an image starts it (entrypoint → runner as" \
    "\`${LOCAL_RUNNER_USER:-$(id -un)}\`, tools as \`$LOCAL_RUNNER_TOOL_USER\`), over its unix" \
    "socket, on the host (no container limits); $rounds interleaved rounds."
  echo
  echo "Idle runner RSS: $(awk '/VmRSS/ {print $2}' "/proc/$LOCAL_RUNNER_SERVER_PID/status") KiB" \
    "(target < 16 MiB)."
  echo
  "$build/tests/runner_bench" --addr "$LOCAL_RUNNER_ADDR" --token-file "$LOCAL_RUNNER_TOKEN" \
    --pid "$LOCAL_RUNNER_SERVER_PID" --rounds "$rounds" || return
  local_runner_stop || true
}

profile() {
  local script="$root/scripts/bench-profile.sh"
  if [[ -x $script ]]; then
    "$script" "$build"
  else
    echo "(filled by scripts/bench-profile.sh)"
  fi
}

section "Sizes" sizes
section "Tool-runner on the host (bash)" local_runner
section "Where a Bash.Run's time goes" profile
section "Files" "$root/scripts/bench-fs.sh" "$build"
section "CodeEval" "$root/scripts/bench-eval.sh" "$build"
section "Docker" "$root/scripts/bench-docker.sh" "$build"

total=$((SECONDS - started))
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$root" diff --quiet HEAD -- 2>/dev/null || commit="$commit (with uncommitted changes)"
{
  echo "# Benchmarks"
  echo
  echo "Written by \`make bench\` (scripts/bench.sh); regenerate it rather than edit it."
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| date | $(date -u '+%Y-%m-%d %H:%M UTC') |"
  echo "| commit | $commit |"
  echo "| version | $("$bin/sagewai-tool-runner" --version) |"
  echo "| machine | $(nproc) CPUs (nproc), $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)," \
    "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM |"
  echo "| system | $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r) |"
  echo "| load average (1 / 5 / 15 min) | before $load_before; after $(load) |"
  echo "| whole run | $((total / 60)) min $((total % 60)) s |"
  echo
  echo "**How to read it:** absolute times move with the machine's load, so read each figure as"
  echo "the ratio to the reference measured beside it in the same run (interleaved where the"
  echo "table says so); p50 and p99 are over the number of calls or runs each table names."
  echo
  echo "## At a glance"
  echo
  echo "Every line below that states a target, as it appears in its section."
  echo
  awk '/^## / {section = substr($0, 4)}
       /\(target/ && !/^\|/ {line = $0; sub(/^- /, "", line); print "- " section ": " line}' "$body"
  echo
  cat -s "$body" # one blank line between blocks, however the parts end
} >"$dir/report.md"
cp "$dir/report.md" "$out"
cat "$out"
log "wrote $out in $((total / 60)) min $((total % 60)) s"
