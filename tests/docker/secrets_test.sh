#!/usr/bin/env bash
# SESSION_TOKEN, CONTROL_PLANE_URL and SESSION_ID given with `docker run -e`
# never reach a tool: not in its environment, not in /proc/1/environ, also
# not for a process that may read PID 1's memory (CAP_SYS_PTRACE).
source "$(dirname "$0")/lib.sh"
require_docker
require_image base

token="tok-$RANDOM$RANDOM-secret"
url="https://control-plane.invalid/$RANDOM"
session="sess-$RANDOM$RANDOM"
secret_env=(-e "SESSION_TOKEN=$token" -e "CONTROL_PLANE_URL=$url" -e "SESSION_ID=$session"
  -e "HOST_VISIBLE=plain-value")

# check_hidden NAME TEXT: none of the three values appears in TEXT, and no
# line of it sets one of the three variables.
check_hidden() {
  local name=$1 text=$2 leaked=
  for v in "$token" "$url" "$session"; do
    grep -qF -- "$v" <<<"$text" && leaked+=" $v"
  done
  for v in SESSION_TOKEN CONTROL_PLANE_URL SESSION_ID; do
    grep -q "^$v=" <<<"$text" && leaked+=" $v="
  done
  if [[ -z $leaked ]]; then pass "$name: no control-plane value"; else fail "$name: leaked$leaked"; fi
}

for mode in worker production; do
  if [[ $mode == worker ]]; then opts=("${WORKER_OPTS[@]}"); else opts=("${PRODUCTION_OPTS[@]}"); fi
  cid=$(start_container "${opts[@]}" "${secret_env[@]}")
  wait_serving "$cid" || fail "$mode: runner did not start"
  env_out=$(stdio_stdout "$cid" 'env')
  if grep -q '^HOST_VISIBLE=plain-value$' <<<"$env_out"; then
    pass "$mode: ordinary variables reach the tool"
  else
    fail "$mode: HOST_VISIBLE missing from the tool's environment"
  fi
  check_hidden "$mode: tool environment" "$env_out"
  check_hidden "$mode: /proc/1/environ from a tool" \
    "$(stdio_stdout "$cid" 'tr "\0" "\n" < /proc/1/environ 2>&1; tr "\0" "\n" < /proc/$PPID/environ 2>&1')"
  check_hidden "$mode: every process's environ from a tool" \
    "$(stdio_stdout "$cid" 'for f in /proc/[0-9]*/environ; do tr "\0" "\n" < $f; done 2>/dev/null')"
  check_hidden "$mode: container log" "$(docker logs "$cid" 2>&1)"
done

# A root process with CAP_SYS_PTRACE can read PID 1's environ: the bytes
# there must have been overwritten.
cid=$(start_container --cap-drop ALL --cap-add SETUID --cap-add SETGID --cap-add SETPCAP \
  --cap-add SYS_PTRACE --network none "${secret_env[@]}")
wait_serving "$cid" || fail "ptrace: runner did not start"
pid1_env=$(docker exec "$cid" sh -c 'tr "\0" "\n" < /proc/1/environ' 2>&1)
if grep -q '^HOSTNAME=\|^PATH=' <<<"$pid1_env"; then
  pass "/proc/1/environ readable with CAP_SYS_PTRACE"
else
  fail "/proc/1/environ not readable even with CAP_SYS_PTRACE: $pid1_env"
fi
check_hidden "/proc/1/environ read with CAP_SYS_PTRACE" "$pid1_env"
finish
