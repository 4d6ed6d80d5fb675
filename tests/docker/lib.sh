# shellcheck shell=bash
# Shared by the Docker smoke tests: engine and image set-up, containers that
# are removed on exit, the JSON-RPC stdio call of the existing worker, and
# assertions. Source it first thing; it exits 77 (skip) when no engine can be
# had, or fails when SAGEWAI_REQUIRE_DOCKER=1.
set -euo pipefail

TESTS_DOCKER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../scripts/lib-docker.sh
source "$TESTS_DOCKER_DIR/../../scripts/lib-docker.sh"
SAGEWAI_LOG_PREFIX=$(basename "$0" .sh)

# The container settings of the existing Sagewai worker, and of production
# (what `sagewai-sandbox start`/`validate` use): the worker's plus exactly the
# capabilities the entrypoint needs to drop to the agent user.
WORKER_OPTS=(--cap-drop ALL --security-opt no-new-privileges --read-only
  --tmpfs "/tmp:rw,noexec,nosuid" --network none --pids-limit 128)
PRODUCTION_OPTS=(--cap-drop ALL --cap-add SETUID --cap-add SETGID --cap-add SETPCAP
  --security-opt no-new-privileges --read-only --tmpfs "/tmp:rw,noexec,nosuid"
  --network none --pids-limit 128)

FAILURES=0
STDIO_LOG=$(mktemp "${TMPDIR:-/tmp}/sagewai-stdio.XXXXXX")
# Every container of this run carries this label, so that the exit trap finds
# them all, also those started in a command substitution's subshell.
TEST_RUN_LABEL="sagewai.test.run=$$-$RANDOM-$(date +%s)"

cleanup_containers() {
  docker ps -aq --filter "label=$TEST_RUN_LABEL" | xargs -r docker rm -f >/dev/null 2>&1
  rm -f "$STDIO_LOG"
  return 0
}
trap cleanup_containers EXIT

pass() { printf 'PASS: %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*"
  FAILURES=$((FAILURES + 1))
}
# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
  if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi
}
# expect_contains WHAT NEEDLE HAYSTACK
expect_contains() {
  if [[ $3 == *"$2"* ]]; then pass "$1"; else fail "$1: no [$2] in:
$3"; fi
}
# Ends the test: exit 1 when any expectation failed.
finish() {
  if ((FAILURES > 0)); then
    if [[ -s $STDIO_LOG ]]; then
      echo "stderr of the stdio runner:"
      tail -n 20 "$STDIO_LOG"
    fi
    printf '%s: %d check(s) failed\n' "$SAGEWAI_LOG_PREFIX" "$FAILURES"
    exit 1
  fi
  printf '%s: all checks passed\n' "$SAGEWAI_LOG_PREFIX"
}

# Engine up, or skip (77) / fail as ensure-docker.sh decides. Also removes
# test containers left over for more than an hour by runs that were killed
# before their exit trap ran (a CTest timeout, say).
require_docker() {
  local rc=0 id created now
  "$SAGEWAI_ROOT/scripts/ensure-docker.sh" || rc=$?
  ((rc == 0)) || exit "$rc"
  require_runtime
  now=$(date +%s)
  docker ps -a --filter label=sagewai.test=1 --format '{{.ID}} {{.CreatedAt}}' |
    while read -r id created; do
      created=$(date -d "${created% *}" +%s 2>/dev/null) || continue
      if ((now - created > 3600)); then docker rm -f "$id" >/dev/null 2>&1 || true; fi
    done
  return 0
}

# The OCI runtime the containers of this test run under: SAGEWAI_TEST_RUNTIME
# (CTest sets runsc for the <name>_runsc twins), else the engine's default.
# Every `docker run` / `docker create` of the test gets `--runtime` through the
# docker function below; TEST_RUNTIME_ARGS holds the same for other commands
# (`sagewai-sandbox start|validate|doctor`).
TEST_RUNTIME=${SAGEWAI_TEST_RUNTIME:-}
TEST_RUNTIME_ARGS=()
[[ -z $TEST_RUNTIME ]] || TEST_RUNTIME_ARGS=(--runtime "$TEST_RUNTIME")
# Under gVisor's ptrace platform the container's pids limit counts the
# sandbox's own host threads and stub processes too (58 at rest, ~150 after
# three calls here, past 1024 during the zombie test's storm of 250
# processes), and the sandbox dies (exit 2) when it is reached: those
# containers get room for them (start_container puts it last, so it wins).
# The pids limit itself is tested under runc.
TEST_RUNTIME_RUN_ARGS=()
[[ -z $TEST_RUNTIME || $TEST_RUNTIME == runc ]] || TEST_RUNTIME_RUN_ARGS=(--pids-limit 4096)

docker() {
  if [[ -n $TEST_RUNTIME && (${1:-} == run || ${1:-} == create) ]]; then
    command docker "$1" --runtime "$TEST_RUNTIME" "${@:2}"
  elif [[ -n $TEST_RUNTIME && ${1:-} == container && (${2:-} == run || ${2:-} == create) ]]; then
    command docker "$1" "$2" --runtime "$TEST_RUNTIME" "${@:3}"
  else
    command docker "$@"
  fi
}

# A test under a runtime other than runc runs only when SAGEWAI_RUNTIMES asks
# for it (ensure-docker.sh has then registered it): else it skips, saying so.
require_runtime() {
  [[ -n $TEST_RUNTIME && $TEST_RUNTIME != runc ]] || return 0
  if ! sagewai_runtime_wanted "$TEST_RUNTIME"; then
    sagewai_log "skipped: SAGEWAI_RUNTIMES=${SAGEWAI_RUNTIMES:-runc} does not list $TEST_RUNTIME" \
      "(SAGEWAI_RUNTIMES=runc,$TEST_RUNTIME runs the Docker tests under it too; .ci/run does)"
    exit "$SAGEWAI_SKIP_CODE"
  fi
  if ! sagewai_docker_has_runtime "$TEST_RUNTIME"; then
    sagewai_log "the engine has no runtime $TEST_RUNTIME (scripts/ensure-docker.sh said why)"
    [[ ${SAGEWAI_REQUIRE_DOCKER:-0} == 1 ]] && exit 1
    exit "$SAGEWAI_SKIP_CODE"
  fi
  sagewai_log "containers run under --runtime $TEST_RUNTIME"
}

# The image under test: sandbox-$1:<version>, built from the working tree
# (cached layers make this quick when nothing changed). Parallel tests build
# it once.
require_image() {
  local variant=${1:-base}
  IMAGE=$(sagewai_image_tag "$variant")
  sagewai_with_lock "image-$variant" "$SAGEWAI_ROOT/scripts/build-images.sh" "$variant" ||
    sagewai_die "could not build $IMAGE"
}

# Prints the id of a new detached container of $IMAGE run with "$@" (docker
# run options); it is removed when the test exits.
start_container() {
  docker run -d --label sagewai.test=1 --label "$TEST_RUN_LABEL" "$@" \
    ${TEST_RUNTIME_RUN_ARGS[@]+"${TEST_RUNTIME_RUN_ARGS[@]}"} "$IMAGE"
}

# wait_for_log CID PATTERN [SECONDS]: true once the container log matches.
wait_for_log() {
  local deadline=$((SECONDS + ${3:-10}))
  while ((SECONDS < deadline)); do
    docker logs "$1" 2>&1 | grep -q -- "$2" && return 0
    [[ $(docker inspect -f '{{.State.Running}}' "$1") == true ]] || break
    sleep 0.1
  done
  docker logs "$1" 2>&1 | grep -q -- "$2"
}

# Waits until the runner of container $1 is serving.
wait_serving() {
  wait_for_log "$1" '"msg":"serving"' "${2:-15}" || {
    echo "container $1 never logged serving; its log:"
    docker logs "$1" 2>&1 | tail -n 20
    return 1
  }
}

# stdio_call CID COMMAND [TIMEOUT_S] [EXEC_OPTS...]: one `exec` request for the
# bash tool through `docker exec -i CID sagewai-tool-runner`, as the worker
# sends it. Prints the response line.
stdio_call() {
  local cid=$1 command=$2 timeout=${3:-30}
  shift 3 2>/dev/null || shift $#
  local request
  request=$(python3 -c '
import json, sys
print(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "exec",
                  "params": {"tool": "bash", "args": {"command": sys.argv[1]},
                             "call_id": "c1", "timeout_s": float(sys.argv[2])}}))' \
    "$command" "$timeout")
  # The runner's log lines (stderr) go to a file: shown only when asked.
  printf '%s\n' "$request" |
    timeout $((timeout + 30)) docker exec -i "$@" "$cid" sagewai-tool-runner 2>>"$STDIO_LOG"
}

# json_get FIELD: reads a response line on stdin and prints result.FIELD as
# JSON ("hi\n" with its quotes, true, 0, null), so that trailing newlines
# survive $(...).
json_get() {
  python3 -c '
import json, sys
line = sys.stdin.readline()
try:
    print(json.dumps(json.loads(line)["result"][sys.argv[1]]), end="")
except Exception as e:
    print("<no result.%s in %r: %s>" % (sys.argv[1], line[:300], e), end="")' "$1"
}

# json_str FIELD: like json_get, but a string field's raw text.
json_str() {
  python3 -c '
import json, sys
line = sys.stdin.readline()
try:
    print(json.loads(line)["result"][sys.argv[1]], end="")
except Exception as e:
    print("<no result.%s in %r: %s>" % (sys.argv[1], line[:300], e), end="")' "$1"
}

# stdio_stdout CID COMMAND [TIMEOUT_S]: the stdout of one bash call.
stdio_stdout() { stdio_call "$@" | json_str stdout; }

# wait_healthy CID [SECONDS]: true once Docker reports the container healthy
# (start it with --health-interval 1s to check quickly).
wait_healthy() {
  local deadline=$((SECONDS + ${2:-20})) status
  while ((SECONDS < deadline)); do
    status=$(docker inspect -f '{{.State.Health.Status}}' "$1")
    [[ $status == healthy ]] && return 0
    sleep 0.2
  done
  docker inspect -f '{{range .State.Health.Log}}{{.ExitCode}}: {{.Output}}{{end}}' "$1" | tail -n 3
  return 1
}

# The effective capabilities line of /proc/self/status, as a tool sees it.
TOOL_IDENTITY='echo "uid=$(id -u) gid=$(id -g) groups=$(id -G)"; grep -E "^Cap(Eff|Prm|Inh|Amb):" /proc/self/status | tr -s "\t" " "; grep NoNewPrivs /proc/self/status | tr -s "\t" " "'

# gVisor's /proc/self/status has no CapAmb or NoNewPrivs line (it has no
# ambient capabilities at all): there the same two lines come from
# prctl(2), through setpriv, with the same expected output.
if [[ -n $TEST_RUNTIME && $TEST_RUNTIME != runc ]]; then
  TOOL_IDENTITY='echo "uid=$(id -u) gid=$(id -g) groups=$(id -G)"; grep -E "^Cap(Eff|Prm|Inh):" /proc/self/status | tr -s "\t" " "; setpriv -d 2>/dev/null | sed -n "s/^Ambient capabilities: \[\(none\|unsupported\)\]$/CapAmb: 0000000000000000/p"; setpriv -d 2>/dev/null | sed -n "s/^no_new_privs: /NoNewPrivs: /p"'
fi
TOOL_IDENTITY_AGENT='uid=1000 gid=1000 groups=1000
CapInh: 0000000000000000
CapPrm: 0000000000000000
CapEff: 0000000000000000
CapAmb: 0000000000000000
NoNewPrivs: 1'
