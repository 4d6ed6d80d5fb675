#!/usr/bin/env bash
# A fork bomb through the stdio bash tool under the worker's --pids-limit 128:
# the call ends at its timeout (the whole process group killed), and both the
# stdio path and the serving runner answer afterwards.
source "$(dirname "$0")/lib.sh"
require_docker
require_image base

cid=$(start_container "${PRODUCTION_OPTS[@]}")
wait_serving "$cid" || fail "runner did not start"

t0=$SECONDS
response=$(stdio_call "$cid" 'bomb() { bomb | bomb & }; bomb; sleep 30' 5)
printf 'bomb call took %d s: %s\n' $((SECONDS - t0)) "${response:0:300}"
if grep -q '"error":"[^"]*timeout' <<<"$response"; then
  pass "bomb call ended with a timeout error"
else
  fail "bomb call did not report a timeout"
fi

# Answering again once the bomb is gone (docker exec itself needs free pids).
answered=
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
  if [[ $(stdio_call "$cid" 'echo alive' 10 2>/dev/null | json_get stdout) == '"alive\n"' ]]; then
    answered=yes
    break
  fi
  sleep 1
done
expect_eq "stdio runner answers after the bomb" yes "$answered"
expect_eq "serving runner healthy after the bomb" 0 \
  "$(docker exec "$cid" sagewai-entrypoint sagewai-tool-runner health >/dev/null 2>&1; echo $?)"
expect_eq "processes left of the bomb" 0 \
  "$(docker exec "$cid" sh -c 'ps -eo args= | grep -c "^bash -c bomb" || true')"
expect_eq "container still running" true "$(docker inspect -f '{{.State.Running}}' "$cid")"
finish
