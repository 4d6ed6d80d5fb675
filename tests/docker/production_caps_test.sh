#!/usr/bin/env bash
# Production settings: --cap-drop ALL plus exactly SETUID, SETGID and SETPCAP.
# The runner becomes user sagewai (900) and PID 1 follows it; tools run as
# uid 1000 with no capabilities (also the bounding set) and no_new_privs,
# through both the stdio path and the serving runner; the health check passes.
source "$(dirname "$0")/lib.sh"
require_docker
require_image base

cid=$(start_container "${PRODUCTION_OPTS[@]}" --health-interval 1s)
wait_serving "$cid" || fail "runner did not start under production settings"

expect_eq "stdio tool identity" "$TOOL_IDENTITY_AGENT" "$(stdio_stdout "$cid" "$TOOL_IDENTITY")"
expect_eq "stdio tool bounding set" "CapBnd: 0000000000000000" \
  "$(stdio_stdout "$cid" 'grep CapBnd /proc/self/status | tr -s "\t" " "')"
# The serving runner (child of PID 1) and PID 1 itself.
expect_eq "serving runner runs as sagewai" "900 sagewai-tool-runner serve" \
  "$(docker exec "$cid" ps -o uid=,args= --ppid 1 | awk '{sub(".*/", "", $2); print $1, $2, $3}' | head -n1)"
expect_eq "PID 1 runs as sagewai" 900 "$(docker exec "$cid" ps -o uid= -p 1 | tr -d ' ')"
runner=$(docker exec "$cid" ps -o pid= --ppid 1 | head -n1 | tr -d ' ')
expect_eq "the runner keeps only SETUID and SETGID, permitted" \
  "CapPrm: 00000000000000c0 CapEff: 0000000000000000 CapBnd: 0000000000000000" \
  "$(docker exec "$cid" grep -E '^Cap(Prm|Eff|Bnd):' "/proc/$runner/status" | tr -s '\t\n' '  ' | sed 's/ $//')"
expect_eq "the stdio runner runs as sagewai too" 900 \
  "$(stdio_stdout "$cid" 'grep ^Uid: /proc/$PPID/status | cut -f2')"
expect_eq "HOME is writable by the tools" ok \
  "$(stdio_stdout "$cid" 'touch "$HOME/.probe" && git config --global user.name probe && echo ok')"
if wait_healthy "$cid"; then pass "health check healthy"; else fail "health check never healthy"; fi
if docker logs "$cid" 2>&1 | grep -q '"level":"warn".*SETUID'; then
  fail "a WARN about SETUID although the capabilities were given"
else
  pass "no WARN about SETUID"
fi
finish
