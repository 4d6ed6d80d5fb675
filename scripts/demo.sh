#!/usr/bin/env bash
# `make run`: the main job end to end on this machine. Starts the real
# tool-runner the way the entrypoint would (token handed over; as root, the
# runner under a user of its own and the tools under another, as in the
# images: here `daemon` and `nobody`), then drives it with the host CLI over
# gRPC and with the existing worker's stdio protocol.
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
runner_user=
if [[ $user -eq 0 ]]; then
  user=nobody
  if id daemon >/dev/null 2>&1; then
    # The socket directory belongs to the runner and no tool may write it.
    runner_user=daemon
    chown daemon:root "$dir/run"
    chmod 0750 "$dir/run"
  fi
fi
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "start: sagewai-entrypoint → sagewai-tool-runner serve (runner: ${runner_user:-as started}, tools: AGENT_USER=$user)"
SAGEWAI_RUNNER_USER="$runner_user" \
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

if [[ -n $runner_user ]]; then
  step "a tool attacks the runner: replace its socket, signal it, read its memory"
  "${cli[@]}" exec --token-file "$dir/token" -- '
    sock=$(ls -d '"$dir"'/run/tool-runner.sock)
    rm -f "$sock" 2>&1 | sed "s/^/  /"; ln -sf /tmp/evil "$sock" 2>&1 | sed "s/^/  /"
    kill -TERM $PPID 2>&1 | sed "s/^/  /"
    cat /proc/$PPID/environ 2>&1 >/dev/null | sed "s/^/  /"
    echo "tool: uid $(id -u); runner: uid $(grep ^Uid: /proc/$PPID/status | cut -f2)"' || true
fi

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

# The same job as production runs it: a hardened container per run.
if ! scripts/ensure-docker.sh >/dev/null 2>&1; then
  step "Docker: no engine could be started here; skipping the sandbox part"
  exit 0
fi
version=$(sed -nE 's/^project\([^)]*VERSION[[:space:]]+([0-9.]+).*/\1/p' CMakeLists.txt)
image="sandbox-base:$version"
step "images: build $image (cached after the first time)"
scripts/build-images.sh base >/dev/null
docker image ls "$image" --format '{{.Repository}}:{{.Tag}}  {{.Size}}'

unset SAGEWAI_RUNNER_ADDR
step "sagewai-sandbox start --image $image --json"
started=$("${cli[@]}" start --image "$image" --json)
echo "$started"
id=$(sed -nE 's/.*"sandbox_id" *: *"([^"]+)".*/\1/p' <<<"$started")
trap 'cleanup; "${cli[@]}" stop "$id" >/dev/null 2>&1 || true' EXIT

step "sagewai-sandbox exec --sandbox $id -- 'id; cat /proc/1/cmdline | tr \\0 \" \"'"
"${cli[@]}" exec --sandbox "$id" -- 'id; tr "\0" " " < /proc/1/cmdline; echo; echo "SESSION_TOKEN seen by the tool: [${SESSION_TOKEN:-}]"'

step "sagewai-sandbox fs put / cat"
printf 'hello from the host\n' | "${cli[@]}" fs put --sandbox "$id" - notes/hello.txt
"${cli[@]}" fs cat --sandbox "$id" notes/hello.txt

step "sagewai-sandbox eval: state survives between calls"
ctx=$("${cli[@]}" context create --sandbox "$id" --lang python)
"${cli[@]}" eval --sandbox "$id" --context "$ctx" 'x = 41'
"${cli[@]}" eval --sandbox "$id" --context "$ctx" 'x + 1'

step "sagewai-sandbox list; stop"
"${cli[@]}" list
"${cli[@]}" stop "$id"
trap cleanup EXIT

step "sagewai-sandbox validate $image"
"${cli[@]}" validate "$image"
