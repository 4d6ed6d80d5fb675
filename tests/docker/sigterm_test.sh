#!/usr/bin/env bash
# `docker stop -t 10` (SIGTERM to PID 1) ends the container in well under
# 2 s, with the runner's own exit code passed on: 0 for a clean shutdown, or
# 143 (128 + SIGTERM) if the runner died of the signal. Under the worker's
# and the production settings, and with a tool call in flight.
source "$(dirname "$0")/lib.sh"
require_docker
require_image base

# stop_and_check NAME CID: docker stop, then time and exit code.
stop_and_check() {
  local name=$1 cid=$2 t0 t1 ms code
  t0=$(date +%s%N)
  docker stop -t 10 "$cid" >/dev/null
  t1=$(date +%s%N)
  ms=$(((t1 - t0) / 1000000))
  code=$(docker inspect -f '{{.State.ExitCode}}' "$cid")
  printf 'INFO: %s: docker stop took %d ms, exit code %s\n' "$name" "$ms" "$code"
  if ((ms < 2000)); then pass "$name: stopped in $ms ms"; else fail "$name: docker stop took $ms ms"; fi
  case $code in
    0 | 143) pass "$name: exit code $code" ;;
    *) fail "$name: exit code $code (expected 0 or 143)" ;;
  esac
}

cid=$(start_container "${WORKER_OPTS[@]}")
wait_serving "$cid" || fail "runner did not start (worker settings)"
stop_and_check "worker settings, idle" "$cid"

cid=$(start_container "${PRODUCTION_OPTS[@]}")
wait_serving "$cid" || fail "runner did not start (production settings)"
stop_and_check "production settings, idle" "$cid"

# A long tool call through the stdio path while the container stops.
cid=$(start_container "${PRODUCTION_OPTS[@]}")
wait_serving "$cid" || fail "runner did not start (production settings, busy)"
stdio_call "$cid" 'sleep 60' 90 >/dev/null 2>&1 &
sleep 0.5
stop_and_check "production settings, a call in flight" "$cid"
wait

finish
