#!/usr/bin/env bash
# The runner's and PID 1's memory and descriptors, from a tool: reading
# /proc/PID/{environ,mem}, listing /proc/PID/fd and opening its entries by
# number (the memfd that carried the token among them), pidfd_getfd(2),
# process_vm_readv(2), and PTRACE_ATTACH / PTRACE_SEIZE. Every one must be
# refused (EACCES/EPERM), in every start state: the runner is not dumpable,
# and neither is PID 1, even where they share the tools' uid. Whatever the
# tool could read anywhere in /proc goes to the host, which searches it for
# the token and the key derived from it.
# shellcheck source=tests/security/lib.sh
source "$(dirname "$0")/lib.sh" "$@"
load_sandbox
rm -f "$SEC_HOST/proc-dump.bin"

report=$(probe proc) || true
jq -e .targets <<<"$report" >/dev/null 2>&1 || { fail "the probe printed no report: $report"; finish; }
[[ $(jq '[.targets[] | select(.role == "runner")] | length' <<<"$report") == 1 ]] ||
  fail "no runner (comm sagewai-tool-r*, child of PID 1) in the container's /proc"
echo "tool uid $(json .uid <<<"$report"); targets: $(jq -c '.targets | to_entries | map("\(.key)=\(.value.role)/\(.value.comm)")' <<<"$report")"

# The memfd that carried the token, as `ls -l` would show it.
runner=$(jq -r '.targets | to_entries[] | select(.value.role == "runner") | .key' <<<"$report")
echo "ls -l /proc/$runner/fd from a tool: $(tool "ls -l /proc/$runner/fd 2>&1; exit 0" | tr '\n' ' ')"

checks=(environ mem fd_list fd_open pidfd_getfd process_vm_readv ptrace_attach ptrace_seize)
while IFS=$'\t' read -r pid role; do
  for check in "${checks[@]}"; do
    result=$(json ".targets[\"$pid\"].$check" <<<"$report")
    if [[ $check == fd_list && $result == ok ]] &&
      jq -e ".targets[\"$pid\"].fds | all(. == \"EACCES\" or . == \"EPERM\")" <<<"$report" >/dev/null; then
      # Root (cap_drop_all) owns a non-dumpable process's /proc files: it may
      # list the numbers, but not follow them.
      pass "$role ($pid) fd_list: only numbers (every readlink refused)"
      continue
    fi
    expect_refused "$role ($pid) $check" "$result"
  done
  # What the tool may see anyway (not secret), for the record.
  echo "  $role ($pid): cmdline $(json ".targets[\"$pid\"].cmdline" <<<"$report"), maps $(json ".targets[\"$pid\"].maps" <<<"$report"), exe $(json ".targets[\"$pid\"].exe" <<<"$report")"
  if [[ $(json ".targets[\"$pid\"].fds // empty" <<<"$report") != "" ]]; then
    echo "  $role ($pid) descriptors: $(jq -c ".targets[\"$pid\"].fds" <<<"$report")"
  fi
done < <(jq -r '.targets | to_entries[] | [.key, .value.role] | @tsv' <<<"$report")

# Nothing the tool read anywhere holds the token or its key.
if [[ -f $SEC_HOST/proc-dump.bin ]]; then
  search_secrets "what a tool read from /proc" dump "$SEC_HOST/proc-dump.bin"
else
  fail "the probe wrote no dump"
fi
rm -f "$SEC_HOST/proc-dump.bin"
finish
