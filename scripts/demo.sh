#!/usr/bin/env bash
# `make run`: the main job end to end on this machine. Starts the real
# tool-runner the way the entrypoint would (token handed over, tools dropped
# to an unprivileged user when we are root), then drives it with the host
# CLI over gRPC and with the existing worker's stdio protocol.
set -euo pipefail
build=${1:-build}
bin="$build/bin"
for b in sagewai-entrypoint sagewai-tool-runner sagewai-sandbox; do
  [[ -x "$bin/$b" ]] || { echo "demo: $bin/$b is missing; run make build" >&2; exit 1; }
done

dir=$(mktemp -d /tmp/sagewai-demo-XXXXXX)
runner_pid=
cleanup() {
  [[ -n "$runner_pid" ]] && kill "$runner_pid" 2>/dev/null && wait "$runner_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
chmod 0755 "$dir"
mkdir -p "$dir/workspace" "$dir/run"
chmod 0777 "$dir/workspace" "$dir/run"
token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$token" > "$dir/token"
chmod 0600 "$dir/token"

user=$(id -u)
if [[ $user -eq 0 ]]; then user=nobody; fi
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "start: sagewai-entrypoint → sagewai-tool-runner serve (AGENT_USER=$user)"
SESSION_TOKEN="$token" AGENT_USER="$user" AGENT_WORKDIR="$dir/workspace" \
  PATH="$PWD/$bin:$PATH" SAGEWAI_LOG_LEVEL=info \
  "$bin/sagewai-entrypoint" -- sagewai-tool-runner serve --listen "unix://$dir/run/tool-runner.sock" \
  2> "$dir/runner.log" &
runner_pid=$!
for _ in $(seq 200); do
  "$bin/sagewai-tool-runner" health --addr "unix://$dir/run/tool-runner.sock" 2>/dev/null && break
  sleep 0.05
done
head -n 3 "$dir/runner.log"

export SAGEWAI_RUNNER_ADDR="unix://$dir/run/tool-runner.sock"
cli=("$bin/sagewai-sandbox")
step "sagewai-sandbox info"
"${cli[@]}" info --token-file "$dir/token"

step "sagewai-sandbox exec -- 'id; echo \$SESSION_TOKEN'"
"${cli[@]}" exec --token-file "$dir/token" -- 'id; echo "token visible to the tool: [${SESSION_TOKEN:-}]"' || true

step "a timeout kills the whole process tree"
"${cli[@]}" exec --token-file "$dir/token" --timeout 1 -- 'sleep 30 & sleep 30' || echo "exit code $? (124 = timeout)"

step "a wrong token is refused"
echo wrong > "$dir/wrong-token"
chmod 0600 "$dir/wrong-token"
"${cli[@]}" exec --token-file "$dir/wrong-token" -- true || echo "exit code $?"

step "the existing worker's stdio protocol (docker exec -i CID sagewai-tool-runner)"
req='{"jsonrpc":"2.0","id":1,"method":"exec","params":{"tool":"bash","args":{"command":"echo hello from stdio; whoami"},"call_id":"demo-1","timeout_s":10}}'
echo "→ $req"
printf '%s\n' "$req" | SESSION_TOKEN="$token" AGENT_USER="$user" AGENT_WORKDIR="$dir/workspace" \
  "$bin/sagewai-tool-runner" | sed 's/^/← /'

step "stop: SIGTERM → clean exit"
kill -TERM "$runner_pid"
wait "$runner_pid" && echo "entrypoint exited 0"
runner_pid=
tail -n 2 "$dir/runner.log"

if [[ -x scripts/ensure-docker.sh ]] && scripts/ensure-docker.sh >/dev/null 2>&1 && \
   [[ -f dockerfiles/base/Dockerfile ]]; then
  step "images: build sandbox-base and validate it under Docker"
  if scripts/build-images.sh base >/dev/null 2>&1 || [[ -x scripts/build-images.sh ]]; then
    "${cli[@]}" validate "sandbox-base:$(cat VERSION 2>/dev/null || echo 0.1.0)" || true
  fi
fi
