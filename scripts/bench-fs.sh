#!/usr/bin/env bash
# Filesystem throughput for `make bench`: a 1 GiB file copied into and out of
# a sandbox through the runner's unix socket (`sagewai-sandbox fs put` and
# `fs cat`, the destination fsynced either way), next to a local `cp` + fsync
# of the same file on the same disk in the same run, and next to `docker cp`
# into and out of a running container when `docker info` works. Median of
# BENCH_FS_RUNS (3) runs. Prints a markdown table; slow numbers never fail it.
#
#   scripts/bench-fs.sh BUILD_DIR
#   BENCH_FS_MB=256 scripts/bench-fs.sh build      # a smaller file
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib-local-runner.sh
source "$root/scripts/lib-local-runner.sh"
build=${1:-build}
bin="$(cd "$build" && pwd)/bin"
size_mb=${BENCH_FS_MB:-1024}
runs=${BENCH_FS_RUNS:-3}
# The build directory's disk is the one the figures are about.
dir=$(mktemp -d "${BENCH_FS_DIR:-$build}/bench-fs-XXXXXX")
dir=$(cd "$dir" && pwd)
chmod 0755 "$dir"  # the runner and tool users reach the workspace inside
container=

cleanup() {
  local_runner_stop || true
  if [[ -n $container ]]; then docker rm -f "$container" >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

log() { printf 'bench-fs: %s\n' "$*" >&2; }
now_ns() { date +%s%N; }

# Runs "$@" and prints how long it took in milliseconds (at least 1).
timed_ms() {
  local start end
  start=$(now_ns)
  "$@" >&2
  end=$(now_ns)
  local ms=$(((end - start) / 1000000))
  echo $((ms > 0 ? ms : 1))
}

median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
mib_per_s() { awk -v mb="$size_mb" -v ms="$1" 'BEGIN {printf "%.0f MiB/s", mb * 1000 / ms}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# --- the runner -----------------------------------------------------------
SAGEWAI_LOG_LEVEL=warn local_runner_start "$build" "$dir/runner"
cli=("$bin/sagewai-sandbox" fs --addr "$LOCAL_RUNNER_ADDR" --token-file "$LOCAL_RUNNER_TOKEN"
  --peer-uid "$LOCAL_RUNNER_UID")
"${cli[@]}" ls >/dev/null || {
  log "the runner did not answer; see $LOCAL_RUNNER_LOG"
  exit 1
}

# --- what Docker offers -----------------------------------------------------
docker_image=
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  version=$("$bin/sagewai-tool-runner" --version)
  for image in "sandbox-base:$version" debian:bookworm-slim; do
    if docker image inspect "$image" >/dev/null 2>&1; then
      docker_image=$image
      break
    fi
  done
  if [[ -n $docker_image ]]; then
    container=$(docker run -d --rm --entrypoint sleep "$docker_image" 3600 2>/dev/null) || container=
  fi
fi

# --- the file ---------------------------------------------------------------
log "writing a ${size_mb} MiB test file"
head -c "$((size_mb * 1024 * 1024))" /dev/urandom >"$dir/src"
cat "$dir/src" >/dev/null # warm: every contender reads it from the page cache

put_ms=() get_ms=() cp_ms=() dput_ms=() dget_ms=()
for run in $(seq "$runs"); do
  log "run $run of $runs"
  rm -f "$dir/copy" "$LOCAL_RUNNER_WORKSPACE/bench.bin" "$dir/out"
  sync
  # shellcheck disable=SC2016 # expanded by the inner shell
  cp_ms+=("$(timed_ms sh -c 'cp "$1" "$2" && sync "$2"' sh "$dir/src" "$dir/copy")")
  rm -f "$dir/copy"
  sync
  put_ms+=("$(timed_ms "${cli[@]}" put "$dir/src" bench.bin)")
  sync
  # shellcheck disable=SC2016 # expanded by the inner shell
  get_ms+=("$(timed_ms sh -c '"$@" cat bench.bin > "$0" && sync "$0"' "$dir/out" "${cli[@]}")")
  if ! cmp -s "$dir/src" "$dir/out"; then
    log "the file read back differs from the one sent"
    exit 1
  fi
  rm -f "$dir/out"
  if [[ -n $container ]]; then
    docker exec "$container" rm -f /tmp/bench.bin
    sync
    dput_ms+=("$(timed_ms docker cp "$dir/src" "$container:/tmp/bench.bin")")
    sync
    dget_ms+=("$(timed_ms docker cp "$container:/tmp/bench.bin" "$dir/out")")
    rm -f "$dir/out"
  fi
done
peak_rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$LOCAL_RUNNER_SERVER_PID/status")

cp_t=$(median "${cp_ms[@]}")
put_t=$(median "${put_ms[@]}")
get_t=$(median "${get_ms[@]}")

echo "${size_mb} MiB file, median of $runs runs, on the disk of \`$build\`. \"Through the runner\":"
echo "\`sagewai-sandbox fs put\` / \`fs cat\` over the unix socket, the destination fsynced."
echo "Targets: within 1.5x of the local copy; at least 3x faster than \`docker cp\`."
echo
if [[ -n $container ]]; then
  dput_t=$(median "${dput_ms[@]}")
  dget_t=$(median "${dget_ms[@]}")
  echo "| direction | through the runner | local cp + fsync | runner time ÷ local | docker cp | docker cp time ÷ runner |"
  echo "|---|---|---|---|---|---|"
  echo "| into the sandbox | $(mib_per_s "$put_t") | $(mib_per_s "$cp_t") | $(ratio "$put_t" "$cp_t")x | $(mib_per_s "$dput_t") | $(ratio "$dput_t" "$put_t")x |"
  echo "| out of the sandbox | $(mib_per_s "$get_t") | $(mib_per_s "$cp_t") | $(ratio "$get_t" "$cp_t")x | $(mib_per_s "$dget_t") | $(ratio "$dget_t" "$get_t")x |"
else
  echo "| direction | through the runner | local cp + fsync | runner time ÷ local |"
  echo "|---|---|---|---|"
  echo "| into the sandbox | $(mib_per_s "$put_t") | $(mib_per_s "$cp_t") | $(ratio "$put_t" "$cp_t")x |"
  echo "| out of the sandbox | $(mib_per_s "$get_t") | $(mib_per_s "$cp_t") | $(ratio "$get_t" "$cp_t")x |"
  echo
  echo "(\`docker cp\` not measured: no Docker engine answered \`docker info\`, or no image to run.)"
fi
echo
echo "Runner peak RSS over all transfers: $((peak_rss_kb / 1024)) MiB."
