#!/usr/bin/env bash
# Filesystem calls act as the agent, never as the runner: a file the agent
# cannot read (mode 0600, made by the test as root through the bind-mounted
# workspace; owned by root, and by the runner's own uid 900) cannot be read
# through `sagewai-sandbox fs cat` either; a file `fs put` writes belongs to
# the agent; fs calls cannot remove, rename or overwrite the runner's
# socket; and the runner's own /proc/self (its environment, memory and
# descriptors — the memfd that carried the token among them), which a call
# made inside the runner could reach where a tool cannot, yields nothing of
# the token. In the shared-uid states the unreadable file belongs to a
# third uid, and the socket checks are left out (the agent owns it there).
# shellcheck source=tests/security/lib.sh
source "$(dirname "$0")/lib.sh" "$@"
load_sandbox
fs() { timeout 30 "$CLI" fs --sandbox "$SANDBOX_ID" "$@"; }

case $SEC_STATE in
  separated) agent=1000:1000 owners=(0:0 900:900) ;;
  user_1000) agent=1000:1000 owners=(4242:4242) ;;
  cap_drop_all) agent=0:0 owners=(4242:4242) ;;
esac

# expect_fs_refused WHAT RC STDERR: the runner refused (exit 1, its message
# says permission denied, not permitted or refused).
is_refused() { [[ $1 == 1 && ($2 == *[Pp]"ermission denied"* || $2 == *"not permitted"* || $2 == *refus*) ]]; }
expect_fs_refused() {
  if is_refused "$2" "$3"; then
    pass "$1: refused (${3//$'\n'/ })"
  else
    fail "$1: not refused as PERMISSION_DENIED (exit $2): $3"
  fi
}

for owner in "${owners[@]}"; do
  name=".sec-private-${owner%%:*}"
  secret="sec-private-$RANDOM$RANDOM$RANDOM"
  rm -f "$HOST_WS/$name"
  printf '%s\n' "$secret" >"$HOST_WS/$name"
  chown "$owner" "$HOST_WS/$name"
  chmod 0600 "$HOST_WS/$name"
  # Control: a tool cannot read it.
  out=$(tool "cat /workspace/$name 2>&1; echo rc=\$?") || true
  expect_contains "control: a tool cannot cat a 0600 file of $owner" "Permission denied" "$out"
  rc=0
  err=$(fs cat "$name" 2>&1 >"$SEC_HOST/fs-cat.out") || rc=$?
  expect_fs_refused "fs cat of a 0600 file of $owner" "$rc" "$err"
  if grep -q "$secret" "$SEC_HOST/fs-cat.out"; then
    fail "fs cat of a 0600 file of $owner printed its content"
  fi
  rc=0
  err=$(fs stat "$name" 2>&1 >/dev/null) || rc=$?
  if ((rc == 0)); then
    pass "fs stat of it works (the directory is the agent's)"
  else
    fail "fs stat of it: exit $rc: $err"
  fi
  rm -f "$HOST_WS/$name"
done

# What fs calls write belongs to the agent.
printf 'put by the host\n' | fs put - .sec-put.txt >/dev/null
expect_eq "fs put: the file belongs to the agent" "$agent" "$(stat -c %u:%g "$HOST_WS/.sec-put.txt")"
fs mkdir .sec-made/sub >/dev/null
expect_eq "fs mkdir: the directories belong to the agent" "$agent $agent" \
  "$(stat -c %u:%g "$HOST_WS/.sec-made" "$HOST_WS/.sec-made/sub" | xargs)"
rm -rf "$HOST_WS/.sec-put.txt" "$HOST_WS/.sec-made"

if ! shares_uid; then
  inode=$(stat -c %i "$SOCKET")
  # The way back to the runner, should a call get through.
  backup="$SOCKET_DIR/.sec-fs-backup.sock"
  ln -f "$SOCKET" "$backup"
  socket_call() {
    local what=$1 rc=0 err
    shift
    err=$("$@" 2>&1) || rc=$?
    if [[ $what == *"put over"* && $rc == 1 && $err == *"not a regular file"* ]]; then
      pass "$what: refused ($err)"
    else
      expect_fs_refused "$what" "$rc" "$err"
    fi
    if [[ $(stat -c %i "$SOCKET" 2>/dev/null) != "$inode" ]]; then
      fail "$what: the runner's socket was replaced"
      ln -f "$backup" "$SOCKET"
    fi
  }
  socket_call "fs rm of the runner's socket" fs rm /run/sagewai/tool-runner.sock
  socket_call "fs mv of the runner's socket" fs mv /run/sagewai/tool-runner.sock /run/sagewai/.sec-moved.sock
  socket_call "fs put over the runner's socket" fs put /dev/null /run/sagewai/tool-runner.sock
  socket_call "fs put of a new file in the socket directory" fs put /dev/null /run/sagewai/.sec-new
  rm -f "$backup" "$SOCKET_DIR/.sec-moved.sock" "$SOCKET_DIR/.sec-new"
fi

# The runner's own /proc/self (and PID 1's), through fs calls: the kernel
# lets a process into its own /proc/self whatever its dumpable flag, so only
# the file's owner and mode (and the fs call's fsuid) stand in the way. Every
# spelling of the runner's memory is tried, a symlink a tool made among them.
: >"$SEC_HOST/fs-dump.bin"
rpid=$("$CLI" info --sandbox "$SANDBOX_ID" --json | jq -r .pid)
tool 'ln -sfn /proc/self/mem /workspace/.sec/self-mem' >/dev/null
mem_paths=(/proc/self/mem /proc/thread-self/mem "/proc/$rpid/mem" "/proc/$rpid/task/$rpid/mem"
  /proc/self/task/../mem /workspace/.sec/self-mem)
mem_open=
for path in /proc/self/environ "/proc/$rpid/environ" "${mem_paths[@]}" /proc/1/environ /proc/1/mem; do
  rc=0
  err=$(fs cat --length 4096 "$path" 2>&1 >"$SEC_HOST/fs-proc.out") || rc=$?
  if [[ $SEC_STATE == cap_drop_all && $path == */environ && $path != /proc/1/* ]]; then
    # The agent is the runner's uid 0 here, and root owns these files.
    known "fs cat $path: exit $rc ${err//$'\n'/ } ($(stat -c %s "$SEC_HOST/fs-proc.out") bytes)"
  else
    expect_fs_refused "fs cat $path" "$rc" "$err"
  fi
  if [[ -z $mem_open && $path == *mem && $path != /proc/1/* ]] && ! is_refused "$rc" "$err"; then
    mem_open=$path
  fi
  cat "$SEC_HOST/fs-proc.out" >>"$SEC_HOST/fs-dump.bin"
done
rm -f "$HOST_WS/.sec/self-mem"
if [[ -n $mem_open ]]; then
  # It opened: read what is mapped writable (heap, arenas, stacks, data),
  # up to 16 MiB a mapping, as an agent asking for offsets would.
  regions=0
  while read -r range perms _; do
    [[ $perms == rw* ]] || continue
    lo=$((16#${range%-*})) hi=$((16#${range#*-}))
    len=$((hi - lo > 16 << 20 ? 16 << 20 : hi - lo))
    if fs cat --offset "$lo" --length "$len" "$mem_open" >>"$SEC_HOST/fs-dump.bin" 2>/dev/null; then
      regions=$((regions + 1))
    fi
  done < <(fs cat /proc/self/maps 2>/dev/null || true)
  echo "fs cat read $regions writable mappings of the runner's memory through $mem_open"
fi
rc=0
fs cat /proc/self/maps >/dev/null 2>&1 || rc=$?
# No secret, but more than a tool gets (its /proc/<runner>/maps is refused).
known "fs cat /proc/self/maps: exit $rc (the runner's address layout)"
ls_rc=0
listing=$(fs ls /proc/self/fd 2>&1) || ls_rc=$?
known "fs ls /proc/self/fd (exit $ls_rc): ${listing//$'\n'/ | }"
opened=()
for n in $({ awk '{ for (i = 2; i <= NF; i++) if ($i == "->") print $(i - 1) }' <<<"$listing"; seq 0 31; } |
  grep -E '^[0-9]+$' | sort -nu); do
  rc=0
  fs cat "/proc/self/fd/$n" >"$SEC_HOST/fs-proc.out" 2>/dev/null || rc=$?
  if ((rc == 0)); then opened+=("$n:$(stat -c %s "$SEC_HOST/fs-proc.out")B"); fi
  cat "$SEC_HOST/fs-proc.out" >>"$SEC_HOST/fs-dump.bin"
done
echo "descriptors of the fs call's process that fs cat could read: ${opened[*]:-none}"
if ((ls_rc != 0)) && [[ $listing != *[Pp]"ermission denied"* ]]; then
  fail "fs ls /proc/self/fd failed, so the descriptors were not tried: $listing"
fi
search_secrets "what fs calls read from the runner's /proc/self (descriptors read: ${opened[*]:-none})" \
  dump "$SEC_HOST/fs-dump.bin"
rm -f "$SEC_HOST/fs-dump.bin" "$SEC_HOST/fs-proc.out" "$SEC_HOST/fs-cat.out"
finish
