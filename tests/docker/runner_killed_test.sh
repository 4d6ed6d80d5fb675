#!/usr/bin/env bash
# The runner killed with SIGKILL in the middle of a call (from the host, as
# the OOM killer or an operator would): PID 1 ends the container with its
# own exit code 3 and a log line naming the signal, and the CLI's `exec`
# says "the runner died" with the container's last log lines instead of a
# bare connection error.
#
#   runner_killed_test.sh BIN_DIR
source "$(dirname "$0")/lib.sh"
require_docker
require_image base

BIN_DIR=$(cd "${1:?usage: $0 BIN_DIR}" && pwd)
CLI="$BIN_DIR/sagewai-sandbox"
[[ -x $CLI ]] || sagewai_die "$CLI is not built"
SAGEWAI_SANDBOX_STATE_DIR=$(mktemp -d /tmp/sagewai-killed-XXXXXX)
export SAGEWAI_SANDBOX_STATE_DIR
work=$(mktemp -d /tmp/sagewai-killed-work-XXXXXX)
sandbox="" cid=""
cleanup() {
  [[ -z $sandbox ]] || "$CLI" stop --time 1 "$sandbox" >/dev/null 2>&1 || true
  [[ -z $cid ]] || command docker rm -f "$cid" >/dev/null 2>&1 || true
  rm -rf "$SAGEWAI_SANDBOX_STATE_DIR" "$work"
  cleanup_containers
}
trap cleanup EXIT

json=$("$CLI" start --json --image "$IMAGE")
sandbox=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["sandbox_id"])' <<<"$json")
cid=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["container_id"])' <<<"$json")

# A call that says it runs, then waits; its stdout is a FIFO the test reads.
mkfifo "$work/out"
"$CLI" exec --sandbox "$sandbox" -- 'echo running; exec sleep 300' >"$work/out" 2>"$work/err" &
exec_pid=$!
exec {out}<"$work/out"
read -r -t 60 first <&"$out" || true
expect_eq "the call runs" "running" "${first:-}"

pid1=$(docker inspect -f '{{.State.Pid}}' "$cid")
runner=$(pgrep -P "$pid1" | head -n 1)
[[ -n $runner ]] || fail "no runner under the container's PID 1 ($pid1)"
expect_eq "the runner is sagewai-tool-runner" "sagewai-tool-ru" "$(cat "/proc/$runner/comm" 2>/dev/null)"
kill -KILL "$runner"

rc=0
wait "$exec_pid" || rc=$?
exec {out}<&-
err=$(cat "$work/err")
expect_eq "exec: exit code 69 (unavailable)" 69 "$rc"
expect_contains "exec: says the runner died" "the runner died: container ${cid:0:12} exited with code 3" "$err"
expect_contains "exec: names the cause" "did not send" "$err"
expect_contains "exec: the container's last log lines, PID 1's among them" \
  "the tool-runner died of a signal PID 1 did not send it" "$err"
expect_contains "exec: the call's outcome is unknown" "outcome is unknown" "$err"

state=$(docker inspect -f '{{.State.Running}} {{.State.ExitCode}}' "$cid")
expect_eq "the container ended with PID 1's code for a killed runner" "false 3" "$state"
expect_contains "PID 1's log line names SIGKILL" '"signal_name":"SIGKILL"' "$(docker logs "$cid" 2>&1)"
finish
