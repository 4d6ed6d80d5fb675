#!/usr/bin/env bash
# Where one `Bash.Run` of `echo x` spends its time, for `make bench`
# (markdown on stdout). The runner, started as an image starts it, logs a
# timeline of every call at debug level (tool-runner/bash/bash_service.cc:
# admission, preparing the command, the hand-off to the supervisor thread,
# spawn up to exec, the tool until it is reaped, collecting the result); a
# persistent C++ client (tests/bench/runner_bench) gives the round trip seen
# from the host, so the rest is client, HTTP/2 and the reply's way back. The
# same run also times a local `bash -c` (the floor), the host CLI started
# once per call, and the runner's CPU time per call. Reports only.
#
#   scripts/bench-profile.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib-local-runner.sh
source "$root/scripts/lib-local-runner.sh"
build=${1:-build}
rounds=${BENCH_PROFILE_ROUNDS:-400}
cli_rounds=${BENCH_PROFILE_CLI_ROUNDS:-30}
dir=$(mktemp -d /tmp/sagewai-bench-profile-XXXXXX)
cleanup() {
  local_runner_stop || true
  rm -rf "$dir"
}
trap cleanup EXIT

SAGEWAI_LOG_LEVEL=debug local_runner_start "$build" "$dir"
runner=$LOCAL_RUNNER_SERVER_PID
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks0=$(cpu_ticks "$runner")
calls0=$(grep -c '"call timeline"' "$LOCAL_RUNNER_LOG" || true)
"$build/tests/runner_bench" --addr "$LOCAL_RUNNER_ADDR" --token-file "$LOCAL_RUNNER_TOKEN" \
  --rounds "$rounds" --calls 0 >"$dir/client.md" 2>&1 || true
ticks1=$(cpu_ticks "$runner")
calls1=$(grep -c '"call timeline"' "$LOCAL_RUNNER_LOG" || true)
calls=$((calls1 - calls0))
if ((calls < 10)); then
  echo "(profile skipped: the runner logged $calls call timelines; client output:"
  sed 's/^/    /' "$dir/client.md"
  echo ")"
  exit 0
fi

# The client's p50 of Bash.Run and of the local `bash -c`, from its table
# (the column headed "p50").
p50_of() {
  awk -F'|' -v row="$1" '
    /p50/ && !col { for (i = 1; i <= NF; i++) if ($i ~ /p50/) col = i; next }
    col && index($2, row) { v = $col; gsub(/ /, "", v); print v; exit }' "$dir/client.md"
}
client_p50=$(p50_of "Bash.Run")
local_p50=$(p50_of "local \`bash -c")

# The CLI as a script uses it: a new process, channel and handshake per call.
cli_ms=()
for _ in $(seq "$cli_rounds"); do
  t0=$(date +%s%N)
  "$build/bin/sagewai-sandbox" exec --addr "$LOCAL_RUNNER_ADDR" --peer-uid "$LOCAL_RUNNER_UID" \
    --token-file "$LOCAL_RUNNER_TOKEN" -- echo x >/dev/null
  cli_ms+=("$((($(date +%s%N) - t0) / 1000))")
done
cli_p50_us=$(printf '%s\n' "${cli_ms[@]}" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')

# Medians of each phase over the client's one-at-a-time rounds, after its
# 20 warm-up calls (--calls 0: no concurrent rows, whose calls queue).
grep '"call timeline"' "$LOCAL_RUNNER_LOG" |
  sed -n "$((calls0 + 21)),$((calls0 + 20 + rounds))p" >"$dir/timeline"
calls=$(wc -l <"$dir/timeline")
median_of() {
  sed -nE "s/.*\"$1\":([0-9]+).*/\\1/p" "$dir/timeline" | sort -n |
    awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}
declare -A phase
for key in admit_us prepare_us handoff_us spawn_us run_us collect_us total_us; do
  phase[$key]=$(median_of "$key")
done
hz=$(getconf CLK_TCK)
cpu_us=$(awk -v t=$((ticks1 - ticks0)) -v hz="$hz" -v n="$((calls1 - calls0))" 'BEGIN {printf "%.0f", t * 1e6 / hz / n}')

ms() { awk -v us="$1" 'BEGIN {printf "%.3f", us / 1000}'; }
echo "One \`Bash.Run\` of \`echo x\` over the unix socket: the runner's own timeline of $calls calls"
echo "from one persistent client (medians; each phase's median, so the rows need not add up"
echo "exactly), the client's round trip in the same run, and the host CLI started once per call."
echo
echo "| step | median ms | what it is |"
echo "|---|---|---|"
echo "| admission | $(ms "${phase[admit_us]}") | the per-call MAC check and a call slot |"
echo "| prepare | $(ms "${phase[prepare_us]}") | environment, cwd and limits of the command |"
echo "| hand-off | $(ms "${phase[handoff_us]}") | gRPC's thread → the supervisor's thread (eventfd wake-up) |"
echo "| spawn | $(ms "${phase[spawn_us]}") | pipes, clone(CLONE_VM\\|CLONE_VFORK), oom_score_adj by the spawn assistant, setpgid, dup2, uid change, chdir, up to a successful execve |"
echo "| the tool | $(ms "${phase[run_us]}") | bash's own start-up (dynamic loading), \`echo\`, exit, SIGCHLD, reaping |"
echo "| collect | $(ms "${phase[collect_us]}") | the last output read, the result built |"
echo "| **in the runner** | **$(ms "${phase[total_us]}")** | from the handler's first line to the result |"
if [[ -n $client_p50 ]]; then
  rest=$(awk -v c="$client_p50" -v r="${phase[total_us]}" 'BEGIN {printf "%.3f", c - r / 1000}')
  echo "| client, HTTP/2, serialisation, the reply | $rest | the client's round trip minus the runner's part |"
  echo "| **round trip, persistent client** | **$client_p50** | tests/bench/runner_bench, same run |"
fi
echo "| \`sagewai-sandbox exec -- echo x\` | $(ms "$cli_p50_us") | the CLI once per call: process start, channel, Auth.Challenge, peer check ($cli_rounds runs) |"
[[ -n $local_p50 ]] && echo "| local \`bash -c echo\` (for scale) | $local_p50 | fork/exec/wait on the host, no runner |"
echo
echo "Runner CPU per call: $(ms "$cpu_us") ms (utime + stime over the client's $((calls1 - calls0)) calls, warm-up included)."
echo "Compared with its floor, the tool itself (bash's start-up, $(ms "${phase[run_us]}") ms here), the runner adds"
echo "$(awk -v t="${phase[total_us]}" -v r="${phase[run_us]}" 'BEGIN {printf "%.3f", (t - r) / 1000}') ms of its own per call."

echo
echo "### Would a pre-spawned process beat the spawn?"
echo
echo "A process started before the call and waiting for its command would take the spawn off the"
echo "call's path; it still has to exec bash, and bash's start-up is most of the call."
echo "tests/bench/spawn_bench measures the most it could save, with the runner's own SpawnProcess:"
echo
"$build/tests/spawn_bench" --rounds "${BENCH_SPAWN_ROUNDS:-300}" | tee "$dir/spawn.md"
echo
saving=$(sed -nE 's/.*save at most \*\*(-?[0-9.]+) ms.*/\1/p' "$dir/spawn.md")
if [[ -n $saving && -n $client_p50 ]] &&
  awk -v s="$saving" -v c="$client_p50" 'BEGIN {exit !(s < 0.1 * c)}'; then
  echo "At most $saving ms of a $client_p50 ms round trip: the runner keeps the plain spawn. A waiting"
  echo "process would cost a pid under \`--pids-limit\`, memory, CPU to refill it (on the calls' own"
  echo "\`--cpus\` quota) and a process the agent can stop or trace while it waits, for a saving"
  echo "within this machine's noise."
else
  echo "**A waiting process would save ${saving:-?} ms of a ${client_p50:-?} ms round trip here: worth a"
  echo "second look (tool-runner/supervisor/process_group.h).**"
fi
