# shellcheck shell=bash
# Shared by the security tests. Each test is one attack made from inside the
# agent's shell of a sandbox that sandbox.sh started (one per start state,
# reused by every attack of that state; CTest fixtures order them), and
# fails when the attack works.
#
#   source lib.sh STATE WORK_DIR
#
# STATE is the start state: separated (`sagewai-sandbox start` as shipped),
# user_1000 (the same plus --user 1000:1000) or cap_drop_all (the existing
# worker's --cap-drop ALL without SETUID/SETGID). WORK_DIR holds STATE.env,
# written by `sandbox.sh start`.
# shellcheck source=tests/docker/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../docker/lib.sh"
SEC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SEC_STATE=${1:?usage: $0 STATE WORK_DIR}
SEC_WORK=$(cd "${2:?usage: $0 STATE WORK_DIR}" && pwd)
SEC_ENV="$SEC_WORK/$SEC_STATE.env"
SAGEWAI_LOG_PREFIX="security_${SEC_STATE}_$(basename "$0" _test.sh)"

expect_contains() {
  if [[ $3 == *"$2"* ]]; then pass "$1"; else fail "$1: [$2] not in [$3]"; fi
}
# expect_errno WHAT RESULT: RESULT (an errno name or a tool's message) says
# the kernel refused: EACCES / EPERM.
expect_refused() {
  case $2 in
    EACCES | EPERM | *"Permission denied"* | *"Operation not permitted"*) pass "$1: $2" ;;
    *) fail "$1: not refused ($2)" ;;
  esac
}
# The host's Python: Debian's, where python3-hpack is installed.
HOST_PYTHON=/usr/bin/python3
[[ -x $HOST_PYTHON ]] || HOST_PYTHON=python3

# search_secrets WHAT calls|dump FILE...: capture.py over FILEs; passes or
# fails WHAT (a failure also when the search itself could not be made).
search_secrets() {
  local what=$1 analysis findings
  shift
  analysis=$("$HOST_PYTHON" "$SEC_DIR/capture.py" "$1" "$TOKEN_FILE" "${@:2}") || true
  if ! jq -e '.bytes | numbers' <<<"$analysis" >/dev/null 2>&1; then
    fail "$what: the search failed: $analysis"
    return 0
  fi
  SEARCH_BYTES=$(jq -r .bytes <<<"$analysis")
  SEARCH_HEADERS=$(jq -c .headers <<<"$analysis")
  findings=$(jq -r '.findings | join("; ")' <<<"$analysis")
  if [[ -z $findings ]]; then
    pass "$what: no token, key or authorization in the $SEARCH_BYTES bytes"
  else
    fail "$what: found $findings (in $SEARCH_BYTES bytes; headers $SEARCH_HEADERS)"
  fi
}

# Says something without passing or failing: what a start state allows.
known() { printf 'KNOWN: %s\n' "$*"; }

# True in the start states where tools share the runner's uid: there the
# kernel cannot stop a tool from replacing the socket or signalling the
# runner, and the tests check that the other layers still keep the token.
shares_uid() { [[ $SEC_STATE != separated ]]; }

# wait_until SECONDS COMMAND...: polls COMMAND until it succeeds; false at
# the deadline.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# Loads what sandbox.sh start wrote; exits 77 when it skipped (no engine)
# and fails when there is no sandbox (see the security_STATE_start test).
load_sandbox() {
  if [[ ! -f $SEC_ENV ]]; then
    echo "FAIL: no sandbox for start state $SEC_STATE ($SEC_ENV missing: see security_${SEC_STATE}_start)"
    exit 1
  fi
  # shellcheck source=/dev/null
  source "$SEC_ENV"
  if [[ -n ${SEC_SKIP:-} ]]; then
    echo "SKIP: $SEC_SKIP"
    exit 77
  fi
  export SAGEWAI_SANDBOX_STATE_DIR
  unset SAGEWAI_SANDBOX SAGEWAI_RUNNER_ADDR SAGEWAI_RUNNER_TOKEN SAGEWAI_ALLOW_BEARER
  if [[ $(docker inspect -f '{{.State.Running}}' "$CID" 2>/dev/null) != true ]]; then
    echo "FAIL: the sandbox $SANDBOX_ID (container ${CID:0:12}) is not running; its last log lines:"
    docker logs "$CID" 2>&1 | tail -n 15
    exit 1
  fi
  # The probe, where tools find it (this test's copy); captures and dumps go
  # beside it (0777: in cap_drop_all tools are uid 0 without DAC_OVERRIDE).
  SEC_HOST="$HOST_WS/.sec"
  install -d -m 0777 "$SEC_HOST"
  install -m 0644 "$SEC_DIR/probe.py" "$SEC_HOST/probe.py"
}

# tool COMMAND: runs COMMAND as a tool in the sandbox (Bash.Stream through
# the CLI, --sandbox ID: the production path); its stdout, exit code kept.
tool() { timeout 60 "$CLI" exec --sandbox "$SANDBOX_ID" --no-stdin -- "$1"; }

# probe ARGS...: tests/security/probe.py, run as a tool.
probe() { tool "python3 /workspace/.sec/probe.py $*"; }

# json EXPR: a jq expression over stdin.
json() { jq -r "$1"; }

# The runner's pid as the host sees it: the one child of the container's
# PID 1 (what the CLI's peer check expects).
runner_host_pid() {
  local init
  init=$(docker inspect -f '{{.State.Pid}}' "$CID")
  tr ' ' '\n' <"/proc/$init/task/$init/children" | grep -m1 . || true
}

# host_pid_of CONTAINER_PID: the host's pid of a process of our container.
host_pid_of() {
  local ns p
  ns=$(readlink "/proc/$(docker inspect -f '{{.State.Pid}}' "$CID")/ns/pid")
  for p in /proc/[0-9]*; do
    [[ $(readlink "$p/ns/pid" 2>/dev/null) == "$ns" ]] || continue
    if [[ $(awk '/^NSpid:/ {print $NF}' "$p/status" 2>/dev/null) == "$1" ]]; then
      echo "${p#/proc/}"
      return 0
    fi
  done
  return 1
}
