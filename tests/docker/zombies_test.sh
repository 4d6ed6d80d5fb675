#!/usr/bin/env bash
# An orphan storm through the stdio bash tool: 200 double-forked background
# processes whose parents exit at once. Every orphan is reaped (by the
# runner, a child subreaper, or by PID 1): no zombie is left.
source "$(dirname "$0")/lib.sh"
require_docker
require_image base

# Production settings with room for the storm (the worker's 128 pids would
# make the storm itself fail to fork, which is the fork-bomb test's subject).
opts=("${PRODUCTION_OPTS[@]}")
opts[${#opts[@]} - 1]=1024
cid=$(start_container "${opts[@]}")
wait_serving "$cid" || fail "runner did not start"

storm='for i in $(seq 200); do ( (sleep 0.$((RANDOM % 5 + 1)); exit 0) & ) ; done
       for i in $(seq 50); do ( sh -c "sleep 0.2 & exit 0" & ) ; done
       echo started'
expect_eq "storm started" '"started\n"' "$(stdio_call "$cid" "$storm" | json_get stdout)"

zombies=-1
deadline=$((SECONDS + 10))
while ((SECONDS < deadline)); do
  sleep 1
  zombies=$(docker exec "$cid" sh -c 'ps -eo stat= | grep -c "^Z" || true')
  ((zombies == 0)) && break
done
expect_eq "zombies left" 0 "$zombies"
if ((zombies != 0)); then docker exec "$cid" ps -eo pid,ppid,stat,args; fi
expect_eq "still answering" '"alive\n"' "$(stdio_call "$cid" 'echo alive' | json_get stdout)"
finish
