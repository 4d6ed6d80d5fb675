#!/usr/bin/env bash
# The impostor socket: a tool replaces /run/sagewai/tool-runner.sock with a
# listener of its own — (a) unlink and bind at the path, (b) bind beside it
# and rename over it (and `mv` from another filesystem), (c) a symlink
# swapped in for the directory entry, (d) the whole directory swapped — and
# the host's next call goes to it.
#
# Separated uids: every attempt must fail with EACCES/EPERM, as the tool
# reports it. Then the test runs the rest as if one had worked: it places the
# impostor itself (docker exec as uid 1000 — a stand-in for a tool — and
# renames its socket over the runner's from the host, or symlinks to it; and
# once a root-owned socket elsewhere on the host, which a symlink could name).
# Shared uids (user_1000, cap_drop_all): the tool's own attempts do work
# there; its impostor is the one the host meets.
#
# Against every impostor, three ways of calling: `exec --sandbox ID` (peer
# check by the runner's pid, then the challenge), `exec --addr --token-file`
# (peer check by uid), and `--addr … --peer-uid <the impostor's uid>` (the
# peer check told to trust it: the challenge alone). Each must refuse
# (non-zero, not a usage error); the bytes the impostor captured must hold
# no authorization header, no token and nothing derived from it; a peer
# check that refuses names the peer and sends nothing at all. Last, the
# runner's TCP port taken by an impostor (as after the runner died): with no
# peer check there, the challenge alone keeps the token.
# shellcheck source=tests/security/lib.sh
source "$(dirname "$0")/lib.sh" "$@"
load_sandbox
rm -f "$SEC_HOST"/cap-* "$SEC_HOST"/done-* "$SEC_HOST"/stop-* "$SEC_HOST"/imp-*
backup="$SOCKET_DIR/.sec-backup.sock"
# A run killed halfway left the real socket here.
if [[ -S $backup ]]; then mv -fT "$backup" "$SOCKET" 2>/dev/null || rm -f "$backup"; fi
real_inode=$(stat -c %i "$SOCKET")
HOST_SOCK_DIR=$(mktemp -d /tmp/sagewai-sec-host-XXXXXX)
cleanup_impostors() {
  touch "$SEC_HOST/stop-all" 2>/dev/null || true
  if [[ -e $backup && $(stat -c %i "$SOCKET" 2>/dev/null) != "$real_inode" ]]; then
    mv -f "$backup" "$SOCKET"
  fi
  rm -f "$backup"
  rm -rf "$HOST_SOCK_DIR"
  rm -f "$SEC_HOST"/cap-* "$SEC_HOST"/done-* "$SEC_HOST"/imp-* "$SEC_HOST"/*.err
  cleanup_containers
}
trap cleanup_impostors EXIT

case $SEC_STATE in
  separated) runner_uid=900 addr_flags=() ;;
  user_1000) runner_uid=1000 addr_flags=(--peer-uid 1000) ;;
  cap_drop_all) runner_uid=0 addr_flags=() ;;
esac

# The real runner is accepted both ways: a CLI that refused everyone would
# pass the rest of this test.
expect_eq "control: exec --sandbox reaches the runner" ok "$(tool 'echo ok')"
expect_eq "control: exec --addr --token-file ${addr_flags[*]} reaches the runner (uid $runner_uid)" ok \
  "$(timeout 60 "$CLI" exec --addr "unix://$SOCKET" --token-file "$TOKEN_FILE" "${addr_flags[@]}" \
    --no-stdin -- echo ok 2>&1)"

# Takes the way back to the real runner before an impostor takes the path.
keep_real_socket() { ln -f "$SOCKET" "$backup"; }
restore_real_socket() {
  # mv refuses a rename onto the same inode: nothing was replaced then.
  if [[ $(stat -c %i "$SOCKET" 2>/dev/null) == "$real_inode" ]]; then
    rm -f "$backup"
  else
    mv -f "$backup" "$SOCKET"
  fi
  expect_eq "$1: the real socket is back" "$real_inode" "$(stat -c %i "$SOCKET")"
}

# wait_impostor TAG: the impostor's "CONTAINER_PID UID" once it listens.
wait_impostor() {
  wait_until 20 test -s "$SEC_HOST/imp-$1.pid" || {
    fail "$1: the impostor never started"
    return 1
  }
  cat "$SEC_HOST/imp-$1.pid"
}

# Places a uid-1000 impostor in the container (docker exec --user, standing
# in for a tool) at /workspace/.sec/imp-TAG.sock.
container_impostor() {
  docker exec -d --user 1000:1000 --env "SEC_IMPOSTOR=${2:-forged}" "$CID" \
    python3 /workspace/.sec/probe.py impostor "/workspace/.sec/imp-$1.sock" "$1"
}

# place SCENARIO TAG: an impostor now answers at $SOCKET; sets IMP_PID (as
# the host sees it) and IMP_UID.
place() {
  local scenario=$1 tag=$2 info pid
  case $scenario in
    renamed-over | symlinked | downgrade | other-scheme)
      local behaviour=forged
      [[ $scenario == downgrade ]] && behaviour=unimplemented
      [[ $scenario == other-scheme ]] && behaviour=bearer
      container_impostor "$tag" "$behaviour"
      info=$(wait_impostor "$tag") || return 1
      read -r pid IMP_UID <<<"$info"
      if [[ $scenario != symlinked ]]; then
        mv -f "$SEC_HOST/imp-$tag.sock" "$SOCKET"
      else
        ln -s "../workspace/.sec/imp-$tag.sock" "$SOCKET_DIR/.sec-$tag.lnk"
        mv -fT "$SOCKET_DIR/.sec-$tag.lnk" "$SOCKET"
      fi
      IMP_PID=$(host_pid_of "$pid")
      ;;
    symlinked-host-root)
      # Root's socket elsewhere on the host, as a symlink made in the socket
      # directory could name (a daemon's, say).
      SEC_WORK_DIR=$SEC_HOST "$HOST_PYTHON" "$SEC_DIR/probe.py" impostor "$HOST_SOCK_DIR/$tag.sock" "$tag" \
        >/dev/null 2>&1 &
      info=$(wait_impostor "$tag") || return 1
      read -r IMP_PID IMP_UID <<<"$info"
      ln -s "$HOST_SOCK_DIR/$tag.sock" "$SOCKET_DIR/.sec-$tag.lnk"
      mv -fT "$SOCKET_DIR/.sec-$tag.lnk" "$SOCKET"
      ;;
    tcp-port)
      # The runner's TCP port, taken by whoever bound it after the runner
      # died: no peer check applies, the challenge alone must hold.
      SEC_WORK_DIR=$SEC_HOST "$HOST_PYTHON" "$SEC_DIR/probe.py" impostor tcp:127.0.0.1:0 "$tag" \
        >/dev/null 2>&1 &
      info=$(wait_impostor "$tag") || return 1
      read -r IMP_PID IMP_UID <<<"$info"
      IMP_PORT=$(cat "$SEC_HOST/imp-$tag.port")
      ;;
    tool-*)
      local report
      report=$(probe replace "${scenario#tool-}" "$tag") || true
      [[ $(json .replaced <<<"$report") == true ]] || {
        fail "$tag: the tool's attempt did not replace the socket this time: $report"
        return 1
      }
      info=$(wait_impostor "$tag") || return 1
      read -r pid IMP_UID <<<"$info"
      IMP_PID=$(host_pid_of "$pid")
      ;;
  esac
}

# Ends the impostor of TAG and waits until it has written every connection.
finish_impostor() {
  touch "$SEC_HOST/stop-$1"
  wait_until 30 test -e "$SEC_HOST/done-$1" || fail "$1: the impostor did not finish"
}

# call MODE IMPOSTOR_UID: one host call, the way MODE says; sets rc and err.
call() {
  local mode=$1 uid=$2
  local -a how
  case $mode in
    sandbox) how=(--sandbox "$SANDBOX_ID") ;;
    addr) how=(--addr "unix://$SOCKET" --token-file "$TOKEN_FILE") ;;
    peer-uid) how=(--addr "unix://$SOCKET" --token-file "$TOKEN_FILE" --peer-uid "$uid") ;;
    tcp) how=(--addr "tcp://127.0.0.1:$IMP_PORT" --token-file "$TOKEN_FILE") ;;
  esac
  rc=0
  err=$(timeout 30 "$CLI" exec "${how[@]}" --no-stdin -- true 2>&1 >/dev/null) || rc=$?
}

# scenario NAME: every way of calling against a fresh impostor of NAME.
scenario() {
  local name=$1 mode tag pid uid bytes modes=(sandbox addr peer-uid)
  [[ $name == tcp-port ]] && modes=(tcp)
  # Past the peer check (told to trust uid 1000): the challenge alone.
  [[ $name == downgrade || $name == other-scheme ]] && modes=(peer-uid)
  for mode in "${modes[@]}"; do
    tag="$name-$mode"
    keep_real_socket
    if ! place "$name" "$tag"; then
      restore_real_socket "$tag"
      continue
    fi
    pid=$IMP_PID uid=$IMP_UID
    call "$mode" "$uid"
    finish_impostor "$tag"
    shopt -s nullglob
    local caps=("$SEC_HOST/cap-$tag-"*.bin)
    shopt -u nullglob
    local what="$tag (impostor pid $pid, uid $uid)"
    if ((rc == 0)); then
      fail "$what: the CLI called the impostor and exited 0"
    elif ((rc == 2)) || [[ $err == *"unknown option"* || $err == *"unknown flag"* ]]; then
      fail "$what: usage error, so nothing was tested: $err"
    else
      pass "$what: the call failed (exit $rc): ${err//$'\n'/ | }"
    fi
    search_secrets "$what: what the impostor captured" calls "${caps[@]}"
    bytes=${SEARCH_BYTES:-}
    if [[ ${bytes:-0} != 0 ]]; then
      paths=$(jq -r '[.[] | select(.[0] == ":path") | .[1]] | join(", ")' <<<"$SEARCH_HEADERS")
      echo "  calls it received: $paths"
      # The container's own HEALTHCHECK (sagewai-tool-runner health, from
      # inside) may reach an impostor on the socket; it carries no secret
      # and is not the host's call.
      if [[ $(tr -d ' ' <<<"$paths" | tr ',' '\n' | sort -u) == /grpc.health.v1.Health/Check ]]; then
        echo "  (only the container's health check: not counted as the host's bytes)"
        bytes=0
      fi
    fi
    # The peer check must refuse before any byte, naming what it found:
    # --sandbox knows the runner's pid; --addr trusts uids 900, 0 and our own.
    if [[ $mode == sandbox || ($mode == addr && $uid != 0) ]]; then
      expect_eq "$what: the peer check sent nothing" 0 "$bytes"
      if [[ " ${err//[^0-9]/ } " == *" $pid "* || ($mode == addr && $err == *"$uid"*) ]]; then
        pass "$what: the refusal names the peer"
      else
        fail "$what: the refusal does not name the peer (pid $pid, uid $uid): $err"
      fi
    fi
    restore_real_socket "$tag"
  done
}

if shares_uid; then
  known "$SEC_STATE: tools share the runner's uid, so the kernel lets them replace its socket"
  for kind in unlink rename symlink; do
    keep_real_socket
    report=$(probe replace "$kind" "try-$kind") || true
    echo "$kind attempt: $(jq -c .steps <<<"$report" 2>/dev/null || echo "$report")"
    if [[ $(json .replaced <<<"$report") == true ]]; then
      known "$kind: the tool replaced the socket (uid $(json .uid <<<"$report"))"
      finish_impostor "try-$kind"
      restore_real_socket "try-$kind"
      scenario "tool-$kind"
    else
      restore_real_socket "try-$kind"
      known "$kind: the tool could not replace the socket here"
    fi
  done
else
  for kind in unlink rename symlink dirswap; do
    keep_real_socket
    report=$(probe replace "$kind" "try-$kind") || true
    if ! jq -e .steps <<<"$report" >/dev/null 2>&1; then
      fail "$kind: the probe printed no report: $report"
    fi
    [[ $(json .replaced <<<"$report") == true ]] && finish_impostor "try-$kind"
    while IFS=$'\t' read -r op result; do
      if [[ $kind == dirswap ]]; then
        # A mount point on a read-only root: EROFS / EBUSY are refusals too.
        case $result in
          EACCES | EPERM | EROFS | EBUSY) pass "$kind: $op: $result" ;;
          *) fail "$kind: $op: not refused ($result)" ;;
        esac
      else
        expect_refused "$kind: $op" "$result"
      fi
    done < <(json '.steps[] | [.op, .result] | @tsv' <<<"$report")
    expect_eq "$kind: the runner's socket is untouched" "$real_inode" "$(stat -c %i "$SOCKET" 2>&1)"
    restore_real_socket "try-$kind"
  done
  # As if an attempt had worked (the test places the impostor itself).
  scenario renamed-over
  scenario symlinked
  scenario symlinked-host-root
  scenario tcp-port
  # An impostor that answers the challenge as an old runner would
  # (UNIMPLEMENTED), or names another scheme: no fallback to the token.
  scenario downgrade
  scenario other-scheme
fi

expect_eq "afterwards: the runner still answers" ok "$(tool 'echo ok')"
finish
