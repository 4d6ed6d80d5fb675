# A tool-runner on this machine, started the way an image starts it: the
# entrypoint hands the token over and, as root, puts the runner under a user
# of its own (`daemon`) and the tools under another (`nobody`), so every
# figure and demo step pays what production pays (uid changes included).
# Sourced by scripts/demo.sh and the bench scripts.
#
#   local_runner_start BUILD_DIR DIR   # DIR: an empty directory to work in
#   sagewai-sandbox CMD --addr "$LOCAL_RUNNER_ADDR" --token-file "$LOCAL_RUNNER_TOKEN" \
#     --peer-uid "$LOCAL_RUNNER_UID" ...
#   local_runner_stop                  # SIGTERM to PID 1; its exit code
#
# Sets LOCAL_RUNNER_PID (the entrypoint), LOCAL_RUNNER_SERVER_PID (the
# runner), LOCAL_RUNNER_ADDR, LOCAL_RUNNER_TOKEN, LOCAL_RUNNER_WORKSPACE,
# LOCAL_RUNNER_LOG, LOCAL_RUNNER_TOOL_USER, LOCAL_RUNNER_USER (empty: as
# started) and LOCAL_RUNNER_UID (what the CLI checks the socket's peer for).

local_runner_start() {
  local build=$1 dir=$2 bin
  bin=$(cd "$build/bin" && pwd)
  mkdir -p "$dir"
  chmod 0755 "$dir"
  mkdir -p "$dir/workspace" "$dir/run"
  chmod 0777 "$dir/workspace" "$dir/run"
  head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/token"
  chmod 0600 "$dir/token"
  LOCAL_RUNNER_TOOL_USER=$(id -u)
  LOCAL_RUNNER_USER=
  if [[ $LOCAL_RUNNER_TOOL_USER -eq 0 ]]; then
    LOCAL_RUNNER_TOOL_USER=nobody
    if id daemon >/dev/null 2>&1; then
      # The socket directory belongs to the runner and no tool may write it.
      LOCAL_RUNNER_USER=daemon
      chown daemon:root "$dir/run"
      chmod 0750 "$dir/run"
    fi
  fi
  LOCAL_RUNNER_UID=$(id -u "${LOCAL_RUNNER_USER:-$(id -un)}")
  LOCAL_RUNNER_ADDR="unix://$dir/run/tool-runner.sock"
  LOCAL_RUNNER_TOKEN="$dir/token"
  LOCAL_RUNNER_WORKSPACE="$dir/workspace"
  LOCAL_RUNNER_LOG="$dir/runner.log"
  SAGEWAI_RUNNER_USER="$LOCAL_RUNNER_USER" SESSION_TOKEN="$(cat "$dir/token")" \
    AGENT_USER="$LOCAL_RUNNER_TOOL_USER" AGENT_WORKDIR="$dir/workspace" \
    PATH="$bin:$PATH" SAGEWAI_LOG_LEVEL="${SAGEWAI_LOG_LEVEL:-info}" \
    "$bin/sagewai-entrypoint" -- sagewai-tool-runner serve --listen "$LOCAL_RUNNER_ADDR" \
    2>"$LOCAL_RUNNER_LOG" &
  LOCAL_RUNNER_PID=$!
  local _
  for _ in $(seq 200); do
    "$bin/sagewai-tool-runner" health --addr "$LOCAL_RUNNER_ADDR" 2>/dev/null && break
    kill -0 "$LOCAL_RUNNER_PID" 2>/dev/null || break
    sleep 0.05
  done
  if ! "$bin/sagewai-tool-runner" health --addr "$LOCAL_RUNNER_ADDR" 2>/dev/null; then
    echo "the local runner did not start; its log ($LOCAL_RUNNER_LOG):" >&2
    tail -n 5 "$LOCAL_RUNNER_LOG" >&2
    return 1
  fi
  LOCAL_RUNNER_SERVER_PID=$(awk '{print $1}' "/proc/$LOCAL_RUNNER_PID/task/$LOCAL_RUNNER_PID/children")
}

local_runner_stop() {
  [[ -n ${LOCAL_RUNNER_PID:-} ]] || return 0
  local pid=$LOCAL_RUNNER_PID rc=0
  LOCAL_RUNNER_PID=
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || rc=$?
  return "$rc"
}
