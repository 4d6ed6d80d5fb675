#!/usr/bin/env bash
# start → exec / fs / eval (--sandbox ID, and --addr/--token-file from
# start --json) → list → stop, and the production settings of the container.
# shellcheck source=tests/lifecycle/lib.sh disable=SC2016  # single-quoted commands run in the sandbox
source "$(dirname "$0")/lib.sh"

json=$(start_sandbox --run run-basic --env GREETING=hello)
id=$(jq -r .sandbox_id <<<"$json")
addr=$(jq -r .addr <<<"$json")
token_file=$(jq -r .token_file <<<"$json")
cid=$(jq -r .container_id <<<"$json")
if [[ $id =~ ^sbx-[0-9a-f]{12}$ ]]; then pass "start --json: sandbox_id $id"; else fail "sandbox_id [$id]"; fi
expect_eq "addr is the socket in the state dir" \
  "unix://$SAGEWAI_SANDBOX_STATE_DIR/$id/run/tool-runner.sock" "$addr"
expect_eq "container_id is the full id" "$cid" "$(docker inspect -f '{{.Id}}' "$cid")"
expect_eq "token file 0600" 600 "$(stat -c %a "$token_file")"
expect_eq "state dir 0700" 700 "$(stat -c %a "$SAGEWAI_SANDBOX_STATE_DIR/$id")"
expect_eq "token is 64 hex digits" 64 "$(tr -d '\n' <"$token_file" | grep -cE '^[0-9a-f]{64}$' | sed 's/1/64/')"

# exec through --sandbox, exit codes pass through, tools run as the agent.
expect_eq "exec --sandbox" "uid=1000 hello" \
  "$("$CLI" exec --sandbox "$id" -- 'echo "uid=$(id -u) $GREETING"')"
rc=0
"$CLI" exec --sandbox "$id" -- 'exit 7' || rc=$?
expect_eq "exec --sandbox passes the exit code" 7 "$rc"
expect_eq "exec with --addr/--token-file from start --json" "ok" \
  "$("$CLI" exec --addr "$addr" --token-file "$token_file" -- echo ok)"
expect_eq "\$SAGEWAI_SANDBOX" "env" "$(SAGEWAI_SANDBOX=$id "$CLI" exec -- echo env)"
expect_eq "--sandbox=ID and a command with its own --sandbox word" "--sandbox x" \
  "$("$CLI" exec --sandbox="$id" echo --sandbox x)"
out=$("$CLI" exec --sandbox "$id" --addr unix:///x -- true 2>&1) && rc=0 || rc=$?
expect_eq "--sandbox with --addr is a usage error" 2 "$rc"
info=$("$CLI" info --sandbox "$id" --json)
expect_eq "info --sandbox: the runner's uid" 900 "$(jq -r .uid <<<"$info")"
expect_eq "info --sandbox: the tools' uid" 1000 "$(jq -r .tool_uid <<<"$info")"

# fs and eval, when this build has them.
if "$CLI" fs --help >/dev/null 2>&1; then
  local_file=$(mktemp)
  head -c 100000 /dev/urandom >"$local_file"
  "$CLI" fs --sandbox "$id" put "$local_file" data.bin >/dev/null
  expect_eq "fs put/cat --sandbox round trip" "$(sha256sum <"$local_file")" \
    "$("$CLI" fs --sandbox "$id" cat data.bin | sha256sum)"
  rm -f "$local_file"
else
  echo "SKIP: fs (this build has no fs command)"
fi
if jq -e '.capabilities | index("code_eval.bash")' <<<"$info" >/dev/null; then
  expect_eq "eval --sandbox" 42 "$("$CLI" eval --sandbox "$id" --lang bash 'echo $((6 * 7))')"
else
  echo "SKIP: eval (the runner offers no code_eval.bash: $(jq -c .capabilities <<<"$info"))"
fi

# The production settings and the worker's labels.
inspect() { docker inspect -f "$1" "$cid"; }
expect_eq "read-only root" true "$(inspect '{{.HostConfig.ReadonlyRootfs}}')"
expect_eq "cap-drop ALL" '["ALL"]' "$(inspect '{{json .HostConfig.CapDrop}}')"
expect_eq "cap-add SETUID SETGID SETPCAP" "SETGID SETPCAP SETUID" \
  "$(inspect '{{range .HostConfig.CapAdd}}{{println .}}{{end}}' | sed 's/^CAP_//' | sort | xargs)"
expect_eq "no-new-privileges" '["no-new-privileges"]' "$(inspect '{{json .HostConfig.SecurityOpt}}')"
expect_eq "network none" none "$(inspect '{{.HostConfig.NetworkMode}}')"
expect_eq "limits: pids, memory, cpus" "256 1073741824 1000000000" \
  "$(inspect '{{.HostConfig.PidsLimit}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}')"
expect_contains "noexec /tmp" noexec "$(inspect '{{index .HostConfig.Tmpfs "/tmp"}}')"
expect_not_contains "the token is not in the command line" "$(cat "$token_file")" \
  "$(inspect '{{json .Args}} {{json .Config.Cmd}} {{json .Path}}')"
label() { inspect "{{index .Config.Labels \"sagewai.$1\"}}"; }
expect_eq "label sandbox_id" "$id" "$(label sandbox_id)"
expect_eq "label run_id" run-basic "$(label run_id)"
expect_eq "label project_id" "$PROJECT" "$(label project_id)"
expect_eq "label image" "$IMAGE" "$(label image)"
expect_eq "label lifetime" per_run "$(label lifetime)"
if [[ $(label started_at) =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]]; then
  pass "label started_at $(label started_at)"
else
  fail "label started_at [$(label started_at)]"
fi

# list shows it, as a table and as JSON.
listing=$("$CLI" list --project "$PROJECT" --json)
expect_eq "list --json: ours" "$id run-basic $PROJECT $IMAGE per_run running sagewai-sandbox" \
  "$(jq -r '.[0] | "\(.sandbox_id) \(.run_id) \(.project_id) \(.image) \(.lifetime) \(.state) \(.managed_by)"' <<<"$listing")"
table=$("$CLI" list --project "$PROJECT")
expect_eq "list: header" "SANDBOX RUN PROJECT IMAGE AGE STATE" "$(head -n1 <<<"$table" | tr -s ' ')"
expect_contains "list: our row" "$id  run-basic  $PROJECT  $IMAGE" "$table"

# stop: graceful, then nothing is left.
out=$("$CLI" stop "$id")
expect_contains "stop says what it did" "removed container ${cid:0:12}" "$out"
expect_eq "stop: the container is gone" "" "$(docker ps -aq --filter "label=sagewai.sandbox_id=$id")"
expect_eq "stop: the state dir is gone" "" "$(ls "$SAGEWAI_SANDBOX_STATE_DIR")"
rc=0
err=$("$CLI" exec --sandbox "$id" -- true 2>&1) || rc=$?
expect_eq "exec --sandbox of a stopped sandbox: exit 69" 69 "$rc"
expect_contains "... naming list" "sagewai-sandbox list" "$err"
rc=0
"$CLI" stop "$id" 2>/dev/null || rc=$?
expect_eq "stop of an unknown sandbox: exit 1" 1 "$rc"

# The plain output names the id, the address and the token file.
text=$("$CLI" start --image "$IMAGE" --project "$PROJECT" 2>/dev/null)
id2=$(awk '$1 == "sandbox" {print $2}' <<<"$text")
expect_contains "start: addr line" "addr        unix://$SAGEWAI_SANDBOX_STATE_DIR/$id2/run/tool-runner.sock" "$text"
expect_contains "start: token_file line" "token_file  $SAGEWAI_SANDBOX_STATE_DIR/$id2/token" "$text"
"$CLI" stop --time 1 "$id2" >/dev/null
finish
