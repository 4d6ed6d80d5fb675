#!/usr/bin/env bash
# Makes sure a Docker engine answers `docker info`.
#
#   exit 0   the engine answers (quick when it already did)
#   exit 77  no engine and none can be started here: Docker tests skip
#            (with SAGEWAI_REQUIRE_DOCKER=1 this is exit 1 instead)
#   exit 1   something failed that should have worked
#
# When the engine does not answer and we are root, installs Debian's docker.io
# if dockerd is missing and starts dockerd in the background (log in
# $SAGEWAI_DOCKERD_LOG), falling back to the vfs storage driver when the
# default one cannot start. Idempotent; safe to run from parallel tests.
#
# SAGEWAI_RUNTIMES (comma-separated, default runc) names the OCI runtimes the
# engine must also offer. runsc (gVisor): installs Debian's runsc when missing,
# registers it in the engine's daemon.json (merged into what is there) with the
# arguments of sagewai_runsc_args, and has dockerd reload its configuration
# (SIGHUP: running containers are untouched). When that cannot be done (not
# root, no package), tests under runsc skip, or fail with
# SAGEWAI_REQUIRE_DOCKER=1.
set -euo pipefail
# shellcheck source=lib-docker.sh
source "$(dirname "$0")/lib-docker.sh"
SAGEWAI_LOG_PREFIX=ensure-docker

: "${SAGEWAI_DOCKERD_LOG:=/var/log/sagewai-dockerd.log}"
: "${SAGEWAI_DOCKERD_TIMEOUT:=60}"

# No engine: a skip, or a failure when the caller requires Docker.
no_engine() {
  if [[ ${SAGEWAI_REQUIRE_DOCKER:-0} == 1 ]]; then
    sagewai_log "FAIL: $* (SAGEWAI_REQUIRE_DOCKER=1, so this is an error)"
    exit 1
  fi
  sagewai_log "Docker tests will be skipped: $* (set SAGEWAI_REQUIRE_DOCKER=1 to make this an error)"
  exit "$SAGEWAI_SKIP_CODE"
}

install_docker() {
  command -v dockerd >/dev/null && command -v docker >/dev/null && return 0
  sagewai_log "installing Debian's docker.io"
  if ! sagewai_apt_get install -y -qq --no-install-recommends docker.io >/dev/null 2>&1; then
    sagewai_apt_get update -qq >/dev/null 2>&1 || true
    sagewai_apt_get install -y -qq --no-install-recommends docker.io >/dev/null ||
      no_engine "apt-get could not install docker.io"
  fi
  command -v dockerd >/dev/null || no_engine "docker.io installed but dockerd is not on PATH"
}

# Starts dockerd with extra arguments "$@"; returns 0 once it answers, 1 if it
# died or did not answer before the deadline (then it has been stopped).
start_dockerd() {
  local pidfile=/var/run/docker.pid
  if [[ -f $pidfile ]] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    rm -f "$pidfile"
  fi
  mkdir -p "$(dirname "$SAGEWAI_DOCKERD_LOG")"
  printf '\n=== %s: dockerd %s\n' "$(date -Is)" "$*" >>"$SAGEWAI_DOCKERD_LOG"
  # 9>&-: the daemon must not inherit the lock of sagewai_with_lock.
  setsid dockerd "$@" >>"$SAGEWAI_DOCKERD_LOG" 2>&1 </dev/null 9>&- &
  local pid=$!
  local deadline=$((SECONDS + SAGEWAI_DOCKERD_TIMEOUT))
  while ((SECONDS < deadline)); do
    if sagewai_docker_ready; then
      sagewai_log "dockerd started (pid $pid, storage driver $(docker info -f '{{.Driver}}' 2>/dev/null)," \
        "log $SAGEWAI_DOCKERD_LOG)"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  sagewai_log "dockerd $* did not come up; last log lines:"
  tail -n 5 "$SAGEWAI_DOCKERD_LOG" | sed 's/^/    /' >&2
  return 1
}

ensure_engine() {
  sagewai_docker_ready && return 0
  if [[ -n ${DOCKER_HOST:-} && ${DOCKER_HOST} != unix:///var/run/docker.sock ]]; then
    no_engine "DOCKER_HOST=$DOCKER_HOST does not answer"
  fi
  [[ $(id -u) -eq 0 ]] || no_engine "the Docker engine does not answer and only root can start dockerd here"
  install_docker
  if pgrep -x dockerd >/dev/null; then
    # Someone else's dockerd is still starting: give it the same deadline.
    local deadline=$((SECONDS + SAGEWAI_DOCKERD_TIMEOUT))
    while ((SECONDS < deadline)); do
      sagewai_docker_ready && return 0
      pgrep -x dockerd >/dev/null || break
      sleep 0.5
    done
    pgrep -x dockerd >/dev/null && no_engine "a dockerd process runs but does not answer; see its log"
  fi
  start_dockerd && return 0
  sagewai_log "retrying with the vfs storage driver (slower, but works on any filesystem)"
  start_dockerd --storage-driver=vfs && return 0
  no_engine "dockerd would not start; see $SAGEWAI_DOCKERD_LOG"
}

# The runtime is missing and cannot be had: an error when Docker is required,
# else a note (tests under that runtime then skip, the others run).
no_runtime() {
  if [[ ${SAGEWAI_REQUIRE_DOCKER:-0} == 1 ]]; then
    sagewai_log "FAIL: $* (SAGEWAI_RUNTIMES=$SAGEWAI_RUNTIMES and SAGEWAI_REQUIRE_DOCKER=1)"
    exit 1
  fi
  sagewai_log "tests under that runtime will be skipped: $*"
  exit 0
}

# The daemon.json the running dockerd reads (its --config-file, else the
# default), and its pid.
dockerd_pid() {
  local pid
  pid=$(cat /var/run/docker.pid 2>/dev/null) && kill -0 "$pid" 2>/dev/null && {
    echo "$pid"
    return 0
  }
  pgrep -xo dockerd
}
dockerd_config_file() {
  local pid=$1 prev="" arg
  while IFS= read -r -d '' arg; do
    case $prev,$arg in
    *,--config-file=*) echo "${arg#--config-file=}" && return 0 ;;
    --config-file,*) echo "$arg" && return 0 ;;
    esac
    prev=$arg
  done <"/proc/$pid/cmdline"
  echo /etc/docker/daemon.json
}

# Sets runtimes.runsc in daemon.json $1 to path $2 with runtimeArgs "${@:3}",
# keeping every other key; refuses (exit 1) to touch a file that is not a JSON
# object. Written to a temporary file and renamed: never half a file.
merge_runtime_config() {
  python3 - "$@" <<'PY'
import json, os, sys
path, runtime_path, args = sys.argv[1], sys.argv[2], sys.argv[3:]
try:
    with open(path) as f:
        text = f.read()
    config = json.loads(text) if text.strip() else {}
except FileNotFoundError:
    config = {}
except ValueError as e:
    sys.exit("%s is not valid JSON (%s): fix it first" % (path, e))
if not isinstance(config, dict) or not isinstance(config.get("runtimes", {}), dict):
    sys.exit("%s: expected a JSON object with an object \"runtimes\"" % path)
config.setdefault("runtimes", {})["runsc"] = {"path": runtime_path, "runtimeArgs": args}
os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
tmp = "%s.sagewai-%d" % (path, os.getpid())
with open(tmp, "w") as f:
    json.dump(config, f, indent=2)
    f.write("\n")
os.chmod(tmp, 0o644)
os.replace(tmp, path)
PY
}

ensure_runsc() {
  local args
  mapfile -t args < <(sagewai_runsc_args)
  sagewai_docker_has_runtime runsc "${args[@]}" && return 0
  [[ $(id -u) -eq 0 ]] || no_runtime "runsc is not registered with the engine and only root can register it"
  if ! command -v runsc >/dev/null; then
    sagewai_log "installing Debian's runsc (gVisor)"
    if ! sagewai_apt_get install -y -qq --no-install-recommends runsc >/dev/null 2>&1; then
      sagewai_apt_get update -qq >/dev/null 2>&1 || true
      sagewai_apt_get install -y -qq --no-install-recommends runsc >/dev/null ||
        no_runtime "apt-get could not install runsc"
    fi
  fi
  local runsc pid config
  runsc=$(command -v runsc) || no_runtime "runsc installed but not on PATH"
  pid=$(dockerd_pid) || no_runtime "no dockerd process here to register runsc with (a remote engine?)"
  config=$(dockerd_config_file "$pid")
  merge_runtime_config "$config" "$runsc" "${args[@]}" ||
    no_runtime "could not register runsc in $config"
  sagewai_log "registered runsc ($runsc ${args[*]}) in $config; reloading dockerd (pid $pid)"
  kill -HUP "$pid"
  local deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    sagewai_docker_has_runtime runsc "${args[@]}" && return 0
    sleep 0.2
  done
  no_runtime "dockerd did not pick up runsc from $config after a reload; see its log"
}

# Every runtime of SAGEWAI_RUNTIMES is registered (runc always is).
runtimes_ready() {
  local name args
  mapfile -t args < <(sagewai_runsc_args)
  while read -r name; do
    case $name in
    runc) ;;
    runsc) sagewai_docker_has_runtime runsc "${args[@]}" || return 1 ;;
    *) return 1 ;;
    esac
  done < <(sagewai_runtimes_wanted)
}

ensure_runtimes() {
  local name
  while read -r name; do
    case $name in
    runc) ;;
    runsc) ensure_runsc ;;
    *) sagewai_die "SAGEWAI_RUNTIMES: unknown runtime \"$name\" (known: runc, runsc)" ;;
    esac
  done < <(sagewai_runtimes_wanted)
}

if ! sagewai_docker_ready; then
  sagewai_with_lock docker ensure_engine
fi
runtimes_ready && exit 0
sagewai_with_lock docker ensure_runtimes
