#!/usr/bin/env bash
# Concurrency under a small pids limit: a sandbox started by
# `sagewai-sandbox start --pids 64` gets four times as many concurrent calls
# as the limit, and calls while one command holds every pid left. Each call
# ends inside its deadline, OK or RESOURCE_EXHAUSTED naming the limit (a call
# slot, or pids.max); afterwards Health answers, a plain call succeeds and
# `docker stop` stops the container.
#
#   pids_limit_test.sh BIN_DIR   (PYTHONPATH: the stubs of tests/python)
# PIDS_TEST_IMAGE=IMG tests that image instead of building sandbox-base (to
# compare one runner with another).
source "$(dirname "$0")/lib.sh"
require_docker
if [[ -n ${PIDS_TEST_IMAGE:-} ]]; then IMAGE=$PIDS_TEST_IMAGE; else require_image base; fi

BIN_DIR=$(cd "${1:?usage: $0 BIN_DIR}" && pwd)
CLI="$BIN_DIR/sagewai-sandbox"
[[ -x $CLI ]] || sagewai_die "$CLI is not built"
/usr/bin/python3 -c 'import grpc, health_pb2' 2>/dev/null ||
  { echo "SKIP: python3-grpcio or the stubs of tests/python (PYTHONPATH) missing"; exit 77; }
command -v jq >/dev/null || sagewai_apt_get install -y -qq --no-install-recommends jq >/dev/null ||
  sagewai_die "jq is needed and apt-get could not install it"
PIDS=64

SAGEWAI_SANDBOX_STATE_DIR=$(mktemp -d /tmp/sagewai-pids-XXXXXX)
export SAGEWAI_SANDBOX_STATE_DIR
project="pids-test-$$-$RANDOM"
stop_sandboxes() {
  local id
  for id in $("$CLI" list --project "$project" --json 2>/dev/null | jq -r '.[].sandbox_id'); do
    "$CLI" stop --time 1 "$id" >/dev/null 2>&1 || true
  done
  rm -rf "$SAGEWAI_SANDBOX_STATE_DIR"
  cleanup_containers
}
trap stop_sandboxes EXIT

json=$("$CLI" start --json --image "$IMAGE" --project "$project" --pids "$PIDS")
cid=$(jq -r .container_id <<<"$json")
expect_eq "the container's pids limit" "$PIDS" "$(docker inspect -f '{{.HostConfig.PidsLimit}}' "$cid")"

# The client's own deadlines bound every call; the timeout here only guards
# against a client that itself hangs.
if timeout 900 /usr/bin/python3 "$TESTS_DOCKER_DIR/pids_limit_client.py" \
  "$(jq -r .addr <<<"$json")" "$(jq -r .token_file <<<"$json")" "$PIDS"; then
  pass "calls under --pids $PIDS"
else
  fail "calls under --pids $PIDS (see above)"
fi
expect_eq "the runner is still the container's child" true \
  "$(docker inspect -f '{{.State.Running}}' "$cid")"
runner_log=$(docker logs "$cid" 2>&1)
if [[ $runner_log != *'"msg":"call limit from the pids limit"'* ]]; then
  fail "the runner did not log its call limit from the pids limit"
fi

if docker stop -t 5 "$cid" >/dev/null; then pass "docker stop returned"; else fail "docker stop"; fi
expect_eq "the container stopped" false "$(docker inspect -f '{{.State.Running}}' "$cid")"
expect_eq "the runner exited cleanly (PID 1's status)" 0 \
  "$(docker inspect -f '{{.State.ExitCode}}' "$cid")"
crash=$(docker logs "$cid" 2>&1 | grep -iE 'terminate called|assertion|abort|panic' || true)
[[ -z $crash ]] || fail "the runner's log shows a crash: ${crash:0:300}"
finish
