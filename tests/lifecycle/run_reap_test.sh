#!/usr/bin/env bash
# run (per_tool: start, command, stop, its exit code) and reap (old
# sandboxes go, those held by a live run stay).
# shellcheck source=tests/lifecycle/lib.sh disable=SC2016  # single-quoted commands run in the sandbox
source "$(dirname "$0")/lib.sh"

rc=0
"$CLI" run --image "$IMAGE" --project "$PROJECT" -- 'exit 3' || rc=$?
expect_eq "run -- 'exit 3' exits 3" 3 "$rc"
out=$("$CLI" run --image "$IMAGE" --project "$PROJECT" -- 'echo out; echo err >&2' 2>/dev/null)
expect_eq "run: the command's stdout" out "$out"
expect_eq "run leaves no container" 0 "$("$CLI" list --project "$PROJECT" --json | jq length)"
expect_eq "run leaves no state" "" "$(ls "$SAGEWAI_SANDBOX_STATE_DIR")"
rc=0
"$CLI" run --image "$IMAGE" --project "$PROJECT" --timeout 1 -- 'sleep 30' 2>/dev/null || rc=$?
expect_eq "run --timeout: 124" 124 "$rc"

# An old sandbox nobody holds, and one a live run holds.
old=$(start_sandbox --run old | jq -r .sandbox_id)
"$CLI" run --image "$IMAGE" --project "$PROJECT" --run held -- 'sleep 25; exit 4' &
run_pid=$!
held=
for _ in $(seq 600); do
  held=$("$CLI" list --project "$PROJECT" --json |
    jq -r '.[] | select(.run_id == "held" and .state == "running" and .held_by_pid != null) | .sandbox_id')
  [[ -n $held ]] && break
  sleep 0.1
done
[[ -n $held ]] || fail "the held sandbox never appeared"
listing=$("$CLI" list --project "$PROJECT" --json)
expect_eq "list: held by the run's pid" "$run_pid" \
  "$(jq -r ".[] | select(.sandbox_id == \"$held\") | .held_by_pid" <<<"$listing")"
expect_eq "list: the run's lifetime label" per_tool \
  "$(jq -r ".[] | select(.sandbox_id == \"$held\") | .lifetime" <<<"$listing")"
expect_contains "list: in use" "running, in use by run $run_pid" "$("$CLI" list --project "$PROJECT")"

rc=0
"$CLI" reap --project "$PROJECT" 2>/dev/null || rc=$?
expect_eq "reap without --older-than is a usage error" 2 "$rc"
out=$("$CLI" reap --older-than 1h --project "$PROJECT" 2>&1)
expect_not_contains "reap --older-than 1h keeps young sandboxes" "reaped sbx" "$out"
sleep 3
out=$("$CLI" reap --older-than 2s --project "$PROJECT" --dry-run)
expect_contains "reap --dry-run names the old one" "would reap $old" "$out"
expect_eq "reap --dry-run removes nothing" 2 "$("$CLI" list --project "$PROJECT" --json | jq length)"
out=$("$CLI" reap --older-than 2s --project "$PROJECT" 2>&1)
expect_contains "reap removes the old one" "reaped $old" "$out"
expect_contains "reap keeps the held one" "kept $held" "$out"
expect_contains "... naming the run's pid" "in use by run, pid $run_pid" "$out"
expect_eq "after reap: only the held one" "$held" \
  "$("$CLI" list --project "$PROJECT" --json | jq -r '.[].sandbox_id')"
expect_eq "after reap: the old state dir is gone" "" "$(find "$SAGEWAI_SANDBOX_STATE_DIR" -mindepth 1 -maxdepth 1 ! -name "$held" -printf '%f\n')"

# Stale state without a container (e.g. after an engine restart).
mkdir -m 700 "$SAGEWAI_SANDBOX_STATE_DIR/sbx-000000000000"
printf 'id=sbx-000000000000\nproject_id=%s\nstarted_at=2000-01-01T00:00:00Z\n' "$PROJECT" \
  >"$SAGEWAI_SANDBOX_STATE_DIR/sbx-000000000000/sandbox"
out=$("$CLI" reap --older-than 2s --project "$PROJECT" 2>&1)
expect_contains "reap removes stale state" "removed the state of sbx-000000000000" "$out"
expect_eq "the held run is untouched" running \
  "$(docker inspect -f '{{.State.Status}}' "sagewai-$held")"

rc=0
wait "$run_pid" || rc=$?
expect_eq "the held run finished normally" 4 "$rc"
expect_eq "and removed its sandbox" 0 "$("$CLI" list --project "$PROJECT" --json | jq length)"
finish
