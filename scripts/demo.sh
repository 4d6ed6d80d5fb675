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

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib-local-runner.sh
source "$root/scripts/lib-local-runner.sh"
dir=$(mktemp -d /tmp/sagewai-demo-XXXXXX)
cleanup() {
  local_runner_stop || true
  rm -rf "$dir"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "start: sagewai-entrypoint → sagewai-tool-runner serve"
local_runner_start "$build" "$dir"
echo "runner: ${LOCAL_RUNNER_USER:-as started} (uid $LOCAL_RUNNER_UID), tools: AGENT_USER=$LOCAL_RUNNER_TOOL_USER"
head -n 3 "$LOCAL_RUNNER_LOG"
token=$(cat "$LOCAL_RUNNER_TOKEN")
user=$LOCAL_RUNNER_TOOL_USER
runner_user=$LOCAL_RUNNER_USER

export SAGEWAI_RUNNER_ADDR="$LOCAL_RUNNER_ADDR"
cli=("$bin/sagewai-sandbox")
# The local runner runs as its own user: the CLI checks the socket's peer for it.
local_cli() { "${cli[@]}" "$1" --peer-uid "$LOCAL_RUNNER_UID" --token-file "$LOCAL_RUNNER_TOKEN" "${@:2}"; }
step "sagewai-sandbox info"
local_cli info

step "sagewai-sandbox exec -- 'id; echo \$SESSION_TOKEN'"
local_cli exec -- 'id; echo "token visible to the tool: [${SESSION_TOKEN:-}]"' || true

if [[ -n $runner_user ]]; then
  step "a tool attacks the runner: replace its socket, signal it, read its memory"
  local_cli exec -- '
    sock='"$dir"'/run/tool-runner.sock
    rm -f "$sock" 2>&1 | sed "s/^/  /"; ln -sf /tmp/evil "$sock" 2>&1 | sed "s/^/  /"
    kill -TERM $PPID 2>&1 | sed "s/^/  /"
    cat /proc/$PPID/environ 2>&1 >/dev/null | sed "s/^/  /"
    echo "tool: uid $(id -u); runner: uid $(grep ^Uid: /proc/$PPID/status | cut -f2)"' || true
fi

step "a timeout kills the whole process tree"
local_cli exec --timeout 1 -- 'sleep 30 & sleep 30' || echo "exit code $? (124 = timeout)"

step "a wrong token is refused"
echo wrong > "$dir/wrong-token"
chmod 0600 "$dir/wrong-token"
"${cli[@]}" exec --peer-uid "$LOCAL_RUNNER_UID" --token-file "$dir/wrong-token" -- true || echo "exit code $?"

step "the existing worker's stdio protocol (docker exec -i CID sagewai-tool-runner)"
req='{"jsonrpc":"2.0","id":1,"method":"exec","params":{"tool":"bash","args":{"command":"echo hello from stdio; whoami"},"call_id":"demo-1","timeout_s":10}}'
echo "→ $req"
printf '%s\n' "$req" | SESSION_TOKEN="$token" AGENT_USER="$user" AGENT_WORKDIR="$dir/workspace" \
  "$bin/sagewai-tool-runner" | sed 's/^/← /'

step "stop: SIGTERM → clean exit"
local_runner_stop && echo "entrypoint exited 0"
tail -n 2 "$LOCAL_RUNNER_LOG"

# The same job as production runs it: a hardened container per run.
[[ ${SAGEWAI_DEMO_LOCAL_ONLY:-} == 1 ]] && exit 0
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
