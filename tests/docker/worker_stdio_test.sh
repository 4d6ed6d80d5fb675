#!/usr/bin/env bash
# The existing Sagewai worker's exact container settings (--cap-drop ALL, so
# the entrypoint cannot change uid) with its stdio protocol through
# `docker exec -i`: the bash tool answers, and the container log names the
# missing capability once.
source "$(dirname "$0")/lib.sh"
require_docker
require_image base

cid=$(start_container "${WORKER_OPTS[@]}")
wait_serving "$cid" || fail "runner did not start under the worker's settings"

response=$(stdio_call "$cid" 'echo hi')
printf 'response: %s\n' "$response"
expect_eq "stdout" '"hi\n"' "$(json_get stdout <<<"$response")"
expect_eq "ok" true "$(json_get ok <<<"$response")"
expect_eq "exit_code" 0 "$(json_get exit_code <<<"$response")"
expect_eq "call_id echoed" '"c1"' "$(json_get call_id <<<"$response")"
expect_eq "error" null "$(json_get error <<<"$response")"

# Two requests on one stream: one response line each, in order.
two=$(printf '%s\n%s\n' \
  '{"jsonrpc":"2.0","id":7,"method":"exec","params":{"tool":"bash","args":{"command":"exit 3"},"call_id":"a"}}' \
  '{"jsonrpc":"2.0","id":"x","method":"nope","params":{}}' |
  docker exec -i "$cid" sagewai-tool-runner 2>/dev/null)
expect_eq "two requests, two lines" 2 "$(wc -l <<<"$two")"
expect_eq "exit 3 → ok false, exit_code 3" "false 3" \
  "$(head -n1 <<<"$two" | json_get ok) $(head -n1 <<<"$two" | json_get exit_code)"
if grep -q '"code":-32601' <<<"$(tail -n1 <<<"$two")"; then
  pass "unknown method → -32601"
else
  fail "unknown method: $(tail -n1 <<<"$two")"
fi

logs=$(docker logs "$cid" 2>&1)
warns=$(grep -c '"level":"warn".*SETUID' <<<"$logs" || true)
expect_eq "one WARN about the missing SETUID in the container log" 1 "$warns"
if ((warns != 1)); then printf '%s\n' "$logs"; fi
finish
