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

sagewai_docker_ready && exit 0
sagewai_with_lock docker ensure_engine
