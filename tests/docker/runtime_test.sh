#!/usr/bin/env bash
# The CLI under the runtime of this run (runc, or runsc for the _runsc twin):
# `doctor --runtime R` finds it working, `validate --runtime R` passes every
# check on sandbox-base, and a sandbox that `start --runtime R` made answers
# `exec --sandbox ID` — its peer check included (under gVisor the runner's
# socket on the host belongs to the sandbox's runsc-gofer).
#
#   runtime_test.sh BIN_DIR
source "$(dirname "$0")/lib.sh"
require_docker
require_image base

BIN_DIR=$(cd "${1:?usage: $0 BIN_DIR}" && pwd)
CLI="$BIN_DIR/sagewai-sandbox"
[[ -x $CLI ]] || sagewai_die "$CLI is not built"
runtime=${TEST_RUNTIME:-runc}
SAGEWAI_SANDBOX_STATE_DIR=$(mktemp -d /tmp/sagewai-runtime-XXXXXX)
export SAGEWAI_SANDBOX_STATE_DIR
sandbox=""
cleanup() {
  [[ -z $sandbox ]] || "$CLI" stop --time 1 "$sandbox" >/dev/null 2>&1 || true
  rm -rf "$SAGEWAI_SANDBOX_STATE_DIR"
  cleanup_containers
}
trap cleanup EXIT

# expect_line WHAT PATTERN TEXT: TEXT has a line matching the grep -E PATTERN.
expect_line() {
  if grep -qE -- "$2" <<<"$3"; then pass "$1"; else fail "$1: no line like [$2] in:
$3"; fi
}

rc=0
out=$("$CLI" doctor --image "$IMAGE" --runtime "$runtime") || rc=$?
expect_eq "doctor --runtime $runtime: exit 0" 0 "$rc"
expect_line "doctor: $runtime works" "^✓ runtime $runtime .*: works \\(docker run --rm true in [0-9]+ ms\\)$" "$out"

rc=0
out=$("$CLI" validate --runtime "$runtime" "$IMAGE" 2>&1) || rc=$?
expect_eq "validate --runtime $runtime: exit 0" 0 "$rc"
expect_line "validate --runtime $runtime: every check passes" "^PASS — " "$out"
if grep -q '^✗' <<<"$out"; then fail "validate --runtime $runtime: $(grep -A1 '^✗' <<<"$out")"; fi

# start's own default pids limit (4096 under runsc: README, Runtimes), then
# a few calls that fork: the sandbox survives them.
json=$("$CLI" start --json --runtime "$runtime" --image "$IMAGE")
sandbox=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["sandbox_id"])' <<<"$json")
cid=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["container_id"])' <<<"$json")
expect_eq "start --runtime: the container's runtime" "$runtime" \
  "$(docker inspect -f '{{.HostConfig.Runtime}}' "$cid")"
rc=0
out=$("$CLI" exec --sandbox "$sandbox" -- 'echo "hi from $(id -un)"; exit 3' 2>&1) || rc=$?
expect_eq "exec --sandbox (peer check by pid): output" "hi from agent" "$out"
expect_eq "exec --sandbox: the command's exit code" 3 "$rc"
out=$("$CLI" exec --sandbox "$sandbox" -- 'for i in $(seq 100); do (sleep 0.2) & done; wait; echo forked' 2>&1)
expect_eq "exec --sandbox: 100 processes at once under the default pids limit" "forked" "$out"
"$CLI" stop --time 1 "$sandbox" >/dev/null && sandbox=""
expect_eq "stop: the container is gone" "" "$(docker ps -aq --filter "id=$cid")"
finish
