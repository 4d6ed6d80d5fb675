#!/usr/bin/env bash
# A tool allocating past the sandbox's memory limit (start --mem 256m): the
# kernel's OOM killer ends it, its result says oom_killed (the CLI says so
# and exits 137), the runner survives (oom_score_adj) and the next call
# works; a command the runner kills itself (a timeout) is not called an OOM.
#
# The result fields themselves (signal 9, oom_killed, a code-eval
# interpreter's context_dead + oom_killed) are checked over the socket by
# oom_client.py.
#
#   oom_test.sh BIN_DIR   (PYTHONPATH: the stubs of tests/python)
source "$(dirname "$0")/lib.sh"
require_docker
require_image base
/usr/bin/python3 -c 'import grpc, sagewai.sandbox.v1.sandbox_pb2' 2>/dev/null ||
  { echo "SKIP: python3-grpcio or the stubs of tests/python (PYTHONPATH) missing"; exit 77; }

BIN_DIR=$(cd "${1:?usage: $0 BIN_DIR}" && pwd)
CLI="$BIN_DIR/sagewai-sandbox"
[[ -x $CLI ]] || sagewai_die "$CLI is not built"
SAGEWAI_SANDBOX_STATE_DIR=$(mktemp -d /tmp/sagewai-oom-XXXXXX)
export SAGEWAI_SANDBOX_STATE_DIR
sandbox=""
cleanup() {
  [[ -z $sandbox ]] || "$CLI" stop --time 1 "$sandbox" >/dev/null 2>&1 || true
  rm -rf "$SAGEWAI_SANDBOX_STATE_DIR"
  cleanup_containers
}
trap cleanup EXIT

json=$("$CLI" start --json --mem 256m --image "$IMAGE")
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1" <<<"$json"; }
sandbox=$(field sandbox_id)
# No swap either, so the limit is a hard 256 MiB wherever the host has swap.
docker update --memory 256m --memory-swap 256m "$(field container_id)" >/dev/null ||
  sagewai_die "docker update --memory-swap 256m failed"
runner_pid_before=$("$CLI" exec --sandbox "$sandbox" -- 'cat /proc/1/task/1/children')

rc=0
err=$("$CLI" exec --sandbox "$sandbox" -- \
  'python3 -c "b = bytearray(700 << 20); b[::4096] = b\"x\" * len(b[::4096]); print(len(b))"' \
  2>&1 >/dev/null) || rc=$?
expect_eq "the allocation is killed: exit 137" 137 "$rc"
expect_contains "the CLI names the OOM killer" "killed by the kernel's OOM killer" "$err"

rc=0
out=$("$CLI" exec --sandbox "$sandbox" -- 'echo ok' 2>&1) || rc=$?
expect_eq "the next call works" "ok" "$out"
expect_eq "the runner is the same process" "$runner_pid_before" \
  "$("$CLI" exec --sandbox "$sandbox" -- 'cat /proc/1/task/1/children')"

rc=0
err=$("$CLI" exec --sandbox "$sandbox" --timeout 1 -- 'exec sleep 30' 2>&1) || rc=$?
expect_eq "a timeout is exit 124" 124 "$rc"
if [[ $err == *"OOM killer"* ]]; then fail "a timeout called an OOM kill: $err"; else pass "a timeout is not an OOM kill"; fi

if timeout 600 /usr/bin/python3 "$TESTS_DOCKER_DIR/oom_client.py" "$(field addr)" \
  "$(field token_file)"; then
  pass "result fields over the socket"
else
  fail "result fields over the socket (see above)"
fi
expect_eq "the runner is still the same process" "$runner_pid_before" \
  "$("$CLI" exec --sandbox "$sandbox" -- 'cat /proc/1/task/1/children')"
finish
