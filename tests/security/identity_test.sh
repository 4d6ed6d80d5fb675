#!/usr/bin/env bash
# Who runs as whom, as a tool sees it: the tool's `id` and /proc/self/status
# (every capability set 0, NoNewPrivs 1, exactly the agent's groups; also a
# CodeEval interpreter's, and the stdio path's); no descriptor of the runner's
# left open in a tool; the runner's /proc/PID/status (uid 900, CapPrm
# exactly CAP_SETUID|CAP_SETGID, CapEff 0, nothing inheritable, ambient or
# bounding, NoNewPrivs 1; not dumpable: its /proc files belong to root);
# PID 1 as uid 900, not the agent's; and GetInfo saying the same. In the
# shared-uid start states: the tool is still without capabilities, and
# GetInfo says tools_share_runner_uid with an identity_note.
# shellcheck source=tests/security/lib.sh disable=SC2016  # single-quoted commands run in the sandbox
source "$(dirname "$0")/lib.sh" "$@"
load_sandbox

# status_field TEXT NAME: the value of "NAME:" in /proc/PID/status text.
status_field() { awk -v n="$2:" '$1 == n { $1 = ""; sub(/^ +/, ""); print; exit }' <<<"$1"; }

case $SEC_STATE in
  separated) tool_uid=1000 runner_uid=900 ;;
  user_1000) tool_uid=1000 runner_uid=1000 ;;
  cap_drop_all) tool_uid=0 runner_uid=0 ;;
esac
agent_groups=$(docker run --rm --entrypoint id "$IMAGE" -G agent | tr ' ' '\n' | sort -n | xargs)

# --- the tool ---------------------------------------------------------------
out=$(tool 'echo "id: $(id)"; echo "id-G: $(id -G)"; cat /proc/self/status')
echo "tool: $(grep '^id: ' <<<"$out")"
expect_eq "tool uid (real effective saved fs)" "$tool_uid $tool_uid $tool_uid $tool_uid" "$(status_field "$out" Uid | xargs)"
if ((tool_uid == 1000)); then
  expect_eq "tool gid" "1000 1000 1000 1000" "$(status_field "$out" Gid | xargs)"
  expect_eq "tool groups are exactly the agent's ($agent_groups)" "$agent_groups" \
    "$({ status_field "$out" Groups | tr ' ' '\n'; echo 1000; } | grep . | sort -nu | xargs)"
  expect_eq "tool id -G" "$agent_groups" "$(sed -n 's/^id-G: //p' <<<"$out" | tr ' ' '\n' | sort -nu | xargs)"
fi
for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
  if [[ $cap == CapBnd && $SEC_STATE == user_1000 ]]; then
    # A non-root start cannot shrink the bounding set (no CAP_SETPCAP); it
    # holds only what docker run granted and is inert under no_new_privs.
    known "tool CapBnd under --user: $(status_field "$out" CapBnd)"
    continue
  fi
  expect_eq "tool $cap" 0000000000000000 "$(status_field "$out" "$cap")"
done
expect_eq "tool NoNewPrivs" 1 "$(status_field "$out" NoNewPrivs)"
echo "tool Seccomp: $(status_field "$out" Seccomp)"

# Nothing of the runner's leaks into a tool: no descriptor beyond stdio.
# (ls's own descriptor of the directory it lists aside).
fds=$(tool 'exec ls -l /proc/self/fd' | awk '$(NF-1) == "->" && $NF !~ /^\/proc\/[0-9]+\/fd$/ { print $(NF-2) "=" $NF }' | xargs)
echo "tool descriptors: $fds"
leaked=$(tr ' ' '\n' <<<"$fds" | grep -vE '^[012]=' || true)
if [[ -z $leaked ]]; then pass "a tool inherits only stdin, stdout and stderr"; else fail "a tool inherits $leaked"; fi

# A CodeEval interpreter is a tool too.
if "$CLI" info --sandbox "$SANDBOX_ID" --json | jq -e '.capabilities | index("code_eval.python")' >/dev/null; then
  ev=$(timeout 60 "$CLI" eval --sandbox "$SANDBOX_ID" --lang python \
    'print(open("/proc/self/status").read())' 2>&1) || true
  expect_eq "python eval: uid" "$tool_uid $tool_uid $tool_uid $tool_uid" "$(status_field "$ev" Uid | xargs)"
  for cap in CapPrm CapEff CapAmb; do
    expect_eq "python eval: $cap" 0000000000000000 "$(status_field "$ev" "$cap")"
  done
  expect_eq "python eval: NoNewPrivs" 1 "$(status_field "$ev" NoNewPrivs)"
else
  echo "SKIP: python eval (the runner offers no code_eval.python)"
fi

# The worker's stdio path (docker exec -i … sagewai-tool-runner): its tools
# too run as the agent, and cannot signal the gRPC runner or PID 1.
grpc_runner=$(json '.[0] // empty' <<<"$(probe runners)")
st=$(stdio_call "$CID" "cat /proc/self/status; kill -0 1 2>&1; kill -0 ${grpc_runner:-0} 2>&1; exit 0" 20 | json_str stdout)
expect_eq "stdio tool uid" "$tool_uid $tool_uid $tool_uid $tool_uid" "$(status_field "$st" Uid | xargs)"
for cap in CapPrm CapEff CapAmb; do
  expect_eq "stdio tool $cap" 0000000000000000 "$(status_field "$st" "$cap")"
done
expect_eq "stdio tool NoNewPrivs" 1 "$(status_field "$st" NoNewPrivs)"
if shares_uid; then
  known "stdio tool kill -0 of PID 1 and the runner: $(grep -c 'Operation not permitted' <<<"$st") of 2 refused"
else
  expect_eq "stdio tool: kill -0 of PID 1 and of the runner fail with EPERM" 2 \
    "$(grep -c 'Operation not permitted' <<<"$st")"
fi

# --- the runner and PID 1, as a tool reads them -----------------------------
runners=$(probe runners)
runner=$(json '.[0] // empty' <<<"$runners")
[[ -n $runner ]] || { fail "no runner in the container's /proc: $runners"; finish; }
for pid in $(json '.[]' <<<"$runners") 1; do
  st=$(tool "cat /proc/$pid/status; echo \"owner: \$(stat -c %u:%g /proc/$pid/environ)\"")
  role="runner ($pid)"
  [[ $pid == 1 ]] && role="PID 1"
  [[ $pid != 1 && $pid != "$runner" ]] && role="runner helper ($pid)"
  echo "$role: Uid $(status_field "$st" Uid | xargs), Gid $(status_field "$st" Gid | xargs)," \
    "Groups [$(status_field "$st" Groups)], CapInh $(status_field "$st" CapInh), CapPrm $(status_field "$st" CapPrm)," \
    "CapEff $(status_field "$st" CapEff), CapBnd $(status_field "$st" CapBnd), CapAmb $(status_field "$st" CapAmb)," \
    "NoNewPrivs $(status_field "$st" NoNewPrivs), /proc files owned by $(sed -n 's/^owner: //p' <<<"$st")"
  expect_eq "$role uid" "$runner_uid $runner_uid $runner_uid $runner_uid" "$(status_field "$st" Uid | xargs)"
  expect_eq "$role NoNewPrivs" 1 "$(status_field "$st" NoNewPrivs)"
  expect_eq "$role CapEff" 0000000000000000 "$(status_field "$st" CapEff)"
  # Not dumpable: the kernel gives its /proc files to root.
  expect_eq "$role is not dumpable (/proc/$pid files owned by 0:0)" 0:0 "$(sed -n 's/^owner: //p' <<<"$st")"
  if [[ $SEC_STATE == separated ]]; then
    [[ $pid == 1 ]] && continue
    for cap in CapInh CapBnd CapAmb; do
      expect_eq "$role $cap" 0000000000000000 "$(status_field "$st" "$cap")"
    done
    if [[ $pid == "$runner" && $(json 'length' <<<"$runners") == 1 ]]; then
      expect_eq "$role CapPrm: CAP_SETUID|CAP_SETGID" 00000000000000c0 "$(status_field "$st" CapPrm)"
    fi
  fi
done
if [[ $SEC_STATE == separated && $(json 'length' <<<"$runners") -gt 1 ]]; then
  # A spawner keeps SETUID/SETGID, the gRPC server none: together no more.
  prm=$(for pid in $(json '.[]' <<<"$runners"); do
    status_field "$(tool "cat /proc/$pid/status")" CapPrm
  done | sort -u | xargs)
  expect_eq "runner processes' CapPrm: none, and CAP_SETUID|CAP_SETGID" "0000000000000000 00000000000000c0" "$prm"
fi

# --- GetInfo ----------------------------------------------------------------
info=$("$CLI" info --sandbox "$SANDBOX_ID" --json)
echo "GetInfo: $(jq -c '{uid, gid, tool_uid, tool_gid, tools_share_runner_uid, identity_note, unprivileged, auth_schemes}' <<<"$info")"
expect_eq "GetInfo uid (the runner's)" "$runner_uid" "$(json .uid <<<"$info")"
expect_eq "GetInfo tool_uid" "$tool_uid" "$(json .tool_uid <<<"$info")"
if shares_uid; then
  expect_eq "GetInfo tools_share_runner_uid" true "$(json .tools_share_runner_uid <<<"$info")"
  note=$(json '.identity_note // ""' <<<"$info")
  if [[ -n $note ]]; then pass "GetInfo identity_note: $note"; else fail "GetInfo has no identity_note"; fi
  logs=$(docker logs "$CID" 2>&1)
  warns=$(grep -ci '"level":"warn".*uid' <<<"$logs" || true)
  if ((warns == 1)); then
    pass "the runner said so once at start (a WARN line)"
  else
    fail "expected one WARN about the shared uid in the container's log, found $warns: $(grep -i '"level":"warn"' <<<"$logs" | head -n 3)"
  fi
else
  expect_eq "GetInfo tools_share_runner_uid" false "$(json .tools_share_runner_uid <<<"$info")"
fi
finish
