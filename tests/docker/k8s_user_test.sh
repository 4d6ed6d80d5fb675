#!/usr/bin/env bash
# Kubernetes-like start: --user 1000:1000 (runAsUser), no privilege to drop.
# Tools run as uid 1000 with no capabilities; the health check passes. The
# runner cannot give tools a uid of their own here and says so, once.
source "$(dirname "$0")/lib.sh"
require_docker
require_image base

cid=$(start_container --user 1000:1000 --cap-drop ALL --security-opt no-new-privileges \
  --read-only --tmpfs /tmp:rw,noexec,nosuid --network none --pids-limit 128 --health-interval 1s)
wait_serving "$cid" || fail "runner did not start as --user 1000:1000"

expect_eq "stdio tool identity" "$TOOL_IDENTITY_AGENT" "$(stdio_stdout "$cid" "$TOOL_IDENTITY")"
expect_eq "PID 1 runs as 1000" 1000 "$(docker exec "$cid" ps -o uid= -p 1 | tr -d ' ')"
expect_eq "HOME is writable by the tools" ok \
  "$(stdio_stdout "$cid" 'touch "$HOME/.probe" && echo ok')"
if wait_healthy "$cid"; then pass "health check healthy"; else fail "health check never healthy"; fi
if docker logs "$cid" 2>&1 | grep -q '"level":"\(warn\|error\)".*\(cannot switch\|setgroups\)'; then
  fail "a WARN about dropping privileges although there is nothing to drop"
else
  pass "no WARN about dropping privileges"
fi
expect_eq "one WARN: tools share the runner's uid" 1 \
  "$(docker logs "$cid" 2>&1 | grep -c '"level":"warn".*tools run under the runner.s own uid')"
finish
