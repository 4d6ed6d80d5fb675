#!/usr/bin/env bash
# The sandbox the attacks of one start state share (the CTest fixture of
# security_STATE_*):
#
#   sandbox.sh start STATE WORK_DIR BIN_DIR   start it, write WORK_DIR/STATE.env
#   sandbox.sh stop STATE WORK_DIR            stop it, remove its state
#
# Started by the freshly built `sagewai-sandbox start --image
# sandbox-base:<version>` (the image built from the working tree), with
# the production flags; for user_1000 and cap_drop_all through
# start_state_docker.sh, which changes exactly one thing in start's
# `docker run`. SAGEWAI_SECURITY_IMAGE names another image to attack.
# Every sandbox is in project sagewai-security with a run id of
# its own; those of runs killed before their cleanup are reaped after an hour.
set -euo pipefail
action=${1:?usage: sandbox.sh start|stop STATE WORK_DIR [BIN_DIR]}
shift
# shellcheck source=tests/security/lib.sh
source "$(dirname "$0")/lib.sh" "$1" "$2"
PROJECT=sagewai-security

stop_sandbox() {
  [[ -f $SEC_ENV ]] || return 0
  unset SANDBOX_ID SAGEWAI_SANDBOX_STATE_DIR
  # shellcheck source=/dev/null
  source "$SEC_ENV"
  if [[ -n ${SANDBOX_ID:-} ]]; then
    SAGEWAI_SANDBOX_STATE_DIR=$SAGEWAI_SANDBOX_STATE_DIR "$CLI" stop --time 1 "$SANDBOX_ID" || true
  fi
  [[ -n ${SAGEWAI_SANDBOX_STATE_DIR:-} ]] && rm -rf "$SAGEWAI_SANDBOX_STATE_DIR"
  rm -f "$SEC_ENV"
}

if [[ $action == stop ]]; then
  stop_sandbox
  echo "stopped the sandbox of $SEC_STATE"
  exit 0
fi
[[ $action == start ]] || sagewai_die "unknown action $action"
stop_sandbox
BIN_DIR=$(cd "${3:?usage: sandbox.sh start STATE WORK_DIR BIN_DIR}" && pwd)
CLI="$BIN_DIR/sagewai-sandbox"

rc=0
"$SAGEWAI_ROOT/scripts/ensure-docker.sh" || rc=$?
if ((rc == 77)); then
  printf 'SEC_SKIP=%q\n' "no Docker engine here (scripts/ensure-docker.sh)" >"$SEC_ENV"
  exit 77
fi
((rc == 0)) || exit "$rc"
# SAGEWAI_SECURITY_IMAGE: attack that image instead (a BYO image, say).
if [[ -n ${SAGEWAI_SECURITY_IMAGE:-} ]]; then IMAGE=$SAGEWAI_SECURITY_IMAGE; else require_image base; fi

# jq reads the CLI's JSON; python3-hpack decodes what impostors captured.
need=()
command -v jq >/dev/null || need+=(jq)
"$HOST_PYTHON" -c 'import hpack' 2>/dev/null || need+=(python3-hpack)
if ((${#need[@]})); then
  sagewai_apt_get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
    { sagewai_apt_get update -qq >/dev/null 2>&1 || true; sagewai_apt_get install -y -qq "${need[@]}" >/dev/null; } ||
    sagewai_die "${need[*]} needed and apt-get could not install them"
fi

"$CLI" reap --older-than 1h --project "$PROJECT" >/dev/null 2>&1 || true
SAGEWAI_SANDBOX_STATE_DIR=$(mktemp -d /tmp/sagewai-sec-XXXXXX)
export SAGEWAI_SANDBOX_STATE_DIR
start_opts=(--json --image "$IMAGE" --project "$PROJECT" --run "sec-$SEC_STATE-$$-$RANDOM")
case $SEC_STATE in
  separated) ;;
  user_1000 | cap_drop_all)
    export SEC_START_STATE=$SEC_STATE
    start_opts+=(--docker "$SEC_DIR/start_state_docker.sh")
    ;;
  *) sagewai_die "unknown start state $SEC_STATE" ;;
esac
if ! json=$("$CLI" start "${start_opts[@]}"); then
  rm -rf "$SAGEWAI_SANDBOX_STATE_DIR"
  sagewai_die "sagewai-sandbox start ${start_opts[*]} failed"
fi
id=$(jq -r .sandbox_id <<<"$json")
sandbox_dir="$SAGEWAI_SANDBOX_STATE_DIR/$id"
{
  printf 'CLI=%q\n' "$CLI"
  printf 'IMAGE=%q\n' "$IMAGE"
  printf 'SAGEWAI_SANDBOX_STATE_DIR=%q\n' "$SAGEWAI_SANDBOX_STATE_DIR"
  printf 'SANDBOX_ID=%q\n' "$id"
  printf 'CID=%q\n' "$(jq -r .container_id <<<"$json")"
  printf 'TOKEN_FILE=%q\n' "$(jq -r .token_file <<<"$json")"
  printf 'SOCKET_DIR=%q\n' "$sandbox_dir/run"
  printf 'SOCKET=%q\n' "$sandbox_dir/run/tool-runner.sock"
  printf 'HOST_WS=%q\n' "$sandbox_dir/workspace"
} >"$SEC_ENV"
echo "started sandbox $id ($SEC_STATE) from $IMAGE"
