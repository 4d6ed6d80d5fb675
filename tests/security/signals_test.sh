#!/usr/bin/env bash
# Signals: from a tool, `kill -TERM` and `kill -KILL` of the runner (and of
# any helper process of its own) and of PID 1 fail with EPERM ("Operation
# not permitted"); after a tool runs `kill -9 -1` (every process it may
# signal), the same runner still answers. The permission check is the same
# for every signal, so `kill -0` goes first: when it is allowed the test
# fails without sending TERM or KILL, leaving the sandbox to the other tests.
# In the shared-uid start states a tool can signal them (known, reported);
# nothing is sent there beyond kill -0.
# shellcheck source=tests/security/lib.sh disable=SC2016  # single-quoted commands run in the sandbox
source "$(dirname "$0")/lib.sh" "$@"
load_sandbox

runners=$(probe runners)
runner=$(json '.[0] // empty' <<<"$runners")
[[ -n $runner ]] || { fail "no runner found in the container's /proc: $runners"; finish; }
targets="1 $(json '.[]' <<<"$runners" | xargs)"
echo "targets: PID 1 and the runner's processes $runners"

# One tool call: for each target, kill -0, and -TERM/-KILL only after kill -0
# was refused. Lines: "PID SIGNAL rc=N MESSAGE".
out=$(tool '
for pid in '"$targets"'; do
  for sig in 0 TERM KILL; do
    msg=$(kill -s "$sig" "$pid" 2>&1); rc=$?
    echo "$pid $sig rc=$rc ${msg##*: }"
    if [[ $sig == 0 && $rc == 0 ]]; then break; fi
  done
done
exit 0') || true
echo "$out"
all_refused=1
for pid in $targets; do
  role=runner
  [[ $pid == 1 ]] && role="PID 1"
  [[ $pid != 1 && $pid != "$runner" ]] && role="runner helper"
  line0=$(grep "^$pid 0 " <<<"$out" || echo "$pid 0 rc=? (no answer)")
  if [[ $line0 == *"rc=0"* ]]; then
    all_refused=0
    if shares_uid; then
      known "$role ($pid): a tool may signal it here (kill -0 succeeded; TERM and KILL not sent)"
    else
      fail "$role ($pid): a tool may signal it (kill -0 succeeded; TERM and KILL not sent)"
    fi
    continue
  fi
  for sig in 0 TERM KILL; do
    line=$(grep "^$pid $sig " <<<"$out" || echo "$pid $sig rc=? (no answer)")
    if shares_uid; then
      known "$role ($pid) kill -$sig from a tool: ${line#* * }"
    else
      expect_contains "$role ($pid) kill -$sig from a tool fails with EPERM" "Operation not permitted" "$line"
    fi
  done
done

if ((all_refused)); then
  before=$(tool 'cat /proc/1/stat | cut -d" " -f22')
  out=$(tool 'kill -9 -1; echo "kill -9 -1: rc=$?"; exit 0' 2>&1) || true
  echo "$out"
  expect_eq "after kill -9 -1 in a tool: the runner answers" alive "$(tool 'echo alive')"
  expect_eq "... the same runner" "$runners" "$(probe runners)"
  expect_eq "... the same PID 1" "$before" "$(tool 'cat /proc/1/stat | cut -d" " -f22')"
else
  echo "kill -9 -1: not sent (a tool may signal the runner or PID 1: it would end the sandbox)"
fi
finish
