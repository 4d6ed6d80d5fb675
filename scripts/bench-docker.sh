#!/usr/bin/env bash
# Docker figures for `make bench` (markdown sections on stdout; scripts/bench.sh
# puts them under "## docker" in BENCHMARKS.md): why the gRPC path beats
# `docker exec`, measured side by side in one run on one machine.
#
#   - warm: `echo` into one running sandbox over its unix socket vs the
#     existing worker's `docker exec -i CID sagewai-tool-runner` (one JSON-RPC
#     line) and vs `bash -c echo` forked inside the same container, same
#     container, interleaved (tests/lifecycle/lifecycle_bench): p50, p99, ratios
#   - cold: `sagewai-sandbox start` + first result vs `docker run` + first
#     `docker exec`; start-to-SERVING vs a bare `docker run --rm IMAGE true`
#   - throughput at 1/16/256 callers into the sandbox under the worker's
#     limits, failures by gRPC status code (tests/bench/runner_bench)
#   - idle RSS of PID 1 and the runner inside the container; image sizes
#
# Reports, never asserts. Without an engine or the image it prints why and
# skips the Docker parts (it never builds images: `make images` does).
#
#   scripts/bench-docker.sh BUILD_DIR
#   BENCH_DOCKER_IMAGE=sandbox-general:0.1.0 BENCH_DOCKER_COLD_RUNS=3 scripts/bench-docker.sh build
#   BENCH_DOCKER_ROUNDS (40): rounds of the warm table; BENCH_DOCKER_CALLS
#   (2000): calls per throughput row
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib-docker.sh
source "$root/scripts/lib-docker.sh"
build=$(cd "${1:-build}" && pwd)
cli="$build/bin/sagewai-sandbox"
rounds=${BENCH_DOCKER_ROUNDS:-40}
cold_runs=${BENCH_DOCKER_COLD_RUNS:-5}
calls=${BENCH_DOCKER_CALLS:-2000}
version=$(sagewai_version)
image=${BENCH_DOCKER_IMAGE:-sandbox-base:$version}

skip() {
  printf 'Docker benchmarks skipped: %s.\n' "$*"
  exit 0
}
command -v docker >/dev/null || skip "no docker CLI on this machine"
sagewai_docker_ready || skip "the Docker engine does not answer (scripts/ensure-docker.sh starts one)"
docker image inspect "$image" >/dev/null 2>&1 ||
  skip "the image $image is not built (make images, or set BENCH_DOCKER_IMAGE)"
[[ -x $cli ]] || skip "$cli is not built"
command -v jq >/dev/null || sagewai_apt_get install -y -qq --no-install-recommends jq >/dev/null 2>&1 ||
  skip "jq is not installed (apt-get install jq)"

work=$(mktemp -d /tmp/sagewai-bench-docker-XXXXXX)
export SAGEWAI_SANDBOX_STATE_DIR="$work/state"
project="bench-$$"
containers=()
cleanup() {
  local id
  for id in $("$cli" list --project "$project" --json 2>/dev/null | jq -r '.[].sandbox_id'); do
    "$cli" stop --time 1 "$id" >/dev/null 2>&1 || true
  done
  ((${#containers[@]})) && docker rm -f "${containers[@]}" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

log() { printf 'bench-docker: %s\n' "$*" >&2; }
now_ns() { date +%s%N; }
ms_since() { echo $((($(now_ns) - $1) / 1000000)); }
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# shellcheck disable=SC2054  # the commas are mount options
worker_opts=(--cap-drop ALL --security-opt no-new-privileges --read-only
  --tmpfs /tmp:rw,noexec,nosuid --network none --pids-limit 256 --memory 1g --cpus 1)
# The same limits through `sagewai-sandbox start`, whatever its defaults.
start_limits=(--pids 256 --mem 1g --cpu 1)
# What the engine applied to a container: "pids 256, memory 1024 MiB, cpus 1".
limits_of() {
  docker inspect -f '{{.HostConfig.PidsLimit}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}' "$1" |
    awk '{printf "pids %s, memory %d MiB, cpus %g", $1, $2 / 1048576, $3 / 1e9}'
}
echo_line='{"jsonrpc":"2.0","id":1,"method":"exec","params":{"tool":"bash","args":{"command":"echo x"},"call_id":"b","timeout_s":30}}'

echo "- engine: Docker $(docker version -f '{{.Server.Version}}'), storage driver $(docker info -f '{{.Driver}}'), cgroup v$(docker info -f '{{.CgroupVersion}}'); image $image"
echo

# --- one running sandbox ------------------------------------------------------
json=$("$cli" start --json --image "$image" --project "$project" "${start_limits[@]}")
id=$(jq -r .sandbox_id <<<"$json")
addr=$(jq -r .addr <<<"$json")
token_file=$(jq -r .token_file <<<"$json")
cid=$(jq -r .container_id <<<"$json")
log "sandbox $id (container ${cid:0:12})"

# Idle RSS first, before any call has warmed anything up.
sleep 1
pid1=$(docker inspect -f '{{.State.Pid}}' "$cid")
runner_pid=$(awk '{print $1}' "/proc/$pid1/task/$pid1/children" 2>/dev/null)
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo "?"; }
pid1_rss=$(rss "$pid1")
runner_rss=$(rss "$runner_pid")

log "echo round trip, $rounds rounds"
echo "### echo round trip into one running sandbox ($rounds rounds, interleaved)"
echo
echo "Each round: 5 gRPC calls, 5 \`bash -c echo\` inside the container (timed there with"
echo "\$EPOCHREALTIME by one bash loop that a Bash.Run starts, untimed), 5 on the host, 1 \`docker exec\`."
echo "Sandbox limits: $(limits_of "$cid")."
echo
"$build/tests/lifecycle_bench" --addr "$addr" --token-file "$token_file" --container "$cid" \
  --rounds "$rounds"

# --- cold path ----------------------------------------------------------------
log "cold path, $cold_runs runs of each"
start_first=() run_exec_first=() start_serving=() bare=() docker_run_part=() serving_part=()
for _ in $(seq "$cold_runs"); do
  # `sagewai-sandbox start` (to SERVING), then the first result over gRPC.
  t0=$(now_ns)
  j=$("$cli" start --json --image "$image" --project "$project" "${start_limits[@]}")
  start_serving+=("$(ms_since "$t0")")
  sid=$(jq -r .sandbox_id <<<"$j")
  "$cli" exec --sandbox "$sid" -- echo x >/dev/null
  start_first+=("$(ms_since "$t0")")
  docker_run_part+=("$(jq -r .docker_run_ms <<<"$j")")
  serving_part+=("$(jq -r .serving_ms <<<"$j")")
  "$cli" stop --time 1 "$sid" >/dev/null

  # The worker's way: docker run, then the first docker exec.
  t0=$(now_ns)
  c=$(docker run -d "${worker_opts[@]}" "$image")
  containers+=("$c")
  printf '%s\n' "$echo_line" | docker exec -i "$c" sagewai-tool-runner >/dev/null 2>&1
  run_exec_first+=("$(ms_since "$t0")")
  docker rm -f "$c" >/dev/null

  t0=$(now_ns)
  docker run --rm "$image" true
  bare+=("$(ms_since "$t0")")
done
m_start_first=$(median "${start_first[@]}")
m_run_exec=$(median "${run_exec_first[@]}")
m_serving=$(median "${start_serving[@]}")
m_bare=$(median "${bare[@]}")
echo "### cold path (median of $cold_runs, interleaved)"
echo
echo "| path | ms |"
echo "|---|---|"
echo "| \`sagewai-sandbox start\` → SERVING, then first \`exec\` result | $m_start_first |"
echo "| worker: \`docker run -d\` → first \`docker exec -i … sagewai-tool-runner\` result | $m_run_exec |"
echo "| \`sagewai-sandbox start\` → SERVING (whole CLI call) | $m_serving |"
echo "| … of which \`docker run -d\` / SERVING after it returned | $(median "${docker_run_part[@]}") / $(median "${serving_part[@]}") |"
echo "| bare \`docker run --rm IMAGE true\` | $m_bare |"
echo
echo "start → SERVING minus bare \`docker run --rm true\`: **$((m_serving - m_bare)) ms** (target ≤ 50 ms)."
echo

# --- throughput -------------------------------------------------------------------
# Each call forks a bash inside the sandbox, so at 256 callers the worker's
# --pids-limit 256 itself refuses some forks: measured with it, and again in a
# sandbox with --pids 1024 to see the runner rather than the limit.
throughput() {
  "$build/tests/runner_bench" --addr "$1" --token-file "$2" --pid "$3" --rounds 0 \
    --calls "$calls" | sed '/^### /,/^$/d'
}
# The CFS quota's throttling of the container with PID 1 `$1`: "periods
# throttled throttled_ms" from its cpu.stat (cgroup v1 or v2).
cpu_throttling() {
  local rel file
  rel=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print $3; exit}' "/proc/$1/cgroup")
  file=/sys/fs/cgroup/cpu$rel/cpu.stat
  if [[ -z $rel ]]; then
    rel=$(awk -F: '$1 == "0" {print $3; exit}' "/proc/$1/cgroup")
    file=/sys/fs/cgroup$rel/cpu.stat
  fi
  [[ -r $file ]] || return 0
  awk '/^nr_periods/ {p = $2} /^nr_throttled/ {t = $2}
       /^throttled_time/ {ms = $2 / 1e6} /^throttled_usec/ {ms = $2 / 1e3}
       END {printf "%d %d %.0f\n", p, t, ms}' "$file"
}
log "throughput, about $calls calls per row"
echo "### throughput into the sandbox (runner_bench over its socket, about $calls calls per row)"
echo
echo "The worker's limits ($(limits_of "$cid")); runner RSS sampled on the host:"
echo
before=$(cpu_throttling "$pid1")
throughput "$addr" "$token_file" "$runner_pid"
after=$(cpu_throttling "$pid1")
if [[ -n $before && -n $after ]]; then
  read -r p0 t0 ms0 <<<"$before"
  read -r p1 t1 ms1 <<<"$after"
  echo "The \`--cpus 1\` quota during these rows: $((t1 - t0)) of $((p1 - p0)) scheduling periods throttled,"
  echo "$((ms1 - ms0)) ms in all (the container's cpu.stat)."
  echo
fi
j=$("$cli" start --json --image "$image" --project "$project" "${start_limits[@]}" --pids 1024)
big_cid=$(jq -r .container_id <<<"$j")
big_pid1=$(docker inspect -f '{{.State.Pid}}' "$big_cid")
echo "The same with $(limits_of "$big_cid") (failures above at 256 callers that are gone here"
echo "are forks the pids limit refused):"
echo
throughput "$(jq -r .addr <<<"$j")" "$(jq -r .token_file <<<"$j")" \
  "$(awk '{print $1}' "/proc/$big_pid1/task/$big_pid1/children")"
"$cli" stop --time 1 "$(jq -r .sandbox_id <<<"$j")" >/dev/null

# --- files ------------------------------------------------------------------------
echo "### files"
echo
echo "Files into and out of a sandbox (\`fs put\`/\`fs cat\` vs \`docker cp\` and a local \`cp\`): see the files section (scripts/bench-fs.sh)."
echo

# --- memory and sizes ---------------------------------------------------------------
echo "### idle memory and image sizes (one sample)"
echo
echo "Idle RSS inside the sandbox: PID 1 (sagewai-entrypoint) ${pid1_rss} KiB (target < 1 MiB), runner ${runner_rss} KiB (target < 16 MiB)."
echo
echo "| image | size |"
echo "|---|---|"
for v in "${SAGEWAI_VARIANTS[@]}"; do
  tag=$(sagewai_image_tag "$v")
  if size=$(docker image inspect -f '{{.Size}}' "$tag" 2>/dev/null); then
    echo "| $tag | $(awk -v b="$size" 'BEGIN {printf "%.0f MB", b / 1e6}') |"
  else
    echo "| $tag | not built |"
  fi
done
echo
