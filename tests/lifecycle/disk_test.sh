#!/usr/bin/env bash
# --disk is enforced (a tmpfs of that size at /workspace: writes past it fail
# with ENOSPC, and with RESOURCE_EXHAUSTED through the Filesystem service),
# and refused where it cannot be enforced.
# shellcheck source=tests/lifecycle/lib.sh disable=SC2016  # single-quoted commands run in the sandbox
source "$(dirname "$0")/lib.sh"

json=$(start_sandbox --disk 8m)
id=$(jq -r .sandbox_id <<<"$json")
expect_eq "start --json names the workspace" "tmpfs, 8 MiB" "$(jq -r .workspace <<<"$json")"
expect_eq "/workspace is an 8 MiB tmpfs" "tmpfs 8192" \
  "$("$CLI" exec --sandbox "$id" -- 'df -k --output=fstype,size /workspace | tail -n1' | xargs)"
expect_eq "writable and executable for the agent" "ran" \
  "$("$CLI" exec --sandbox "$id" -- 'printf "#!/bin/sh\necho ran\n" > /workspace/s && chmod +x /workspace/s && /workspace/s')"
rc=0
err=$("$CLI" exec --sandbox "$id" -- 'head -c 16M /dev/zero > /workspace/big' 2>&1) || rc=$?
if ((rc != 0)); then pass "writing 16 MiB into 8 MiB fails (exit $rc)"; else fail "writing past --disk succeeded"; fi
expect_contains "... with ENOSPC" "No space left on device" "$err"
size=$("$CLI" exec --sandbox "$id" -- 'stat -c %s /workspace/big')
if ((size <= 8 * 1024 * 1024)); then pass "the file stopped at $size bytes"; else fail "file is $size bytes"; fi
"$CLI" exec --sandbox "$id" -- 'rm -f /workspace/big'

if "$CLI" fs --help >/dev/null 2>&1; then
  local_file=$(mktemp)
  head -c $((12 * 1024 * 1024)) /dev/zero >"$local_file"
  rc=0
  err=$("$CLI" fs --sandbox "$id" put "$local_file" big 2>&1) || rc=$?
  rm -f "$local_file"
  if ((rc != 0)); then pass "fs put past --disk fails (exit $rc)"; else fail "fs put past --disk succeeded"; fi
  if [[ $err == *"No space left on device"* || $err == *RESOURCE_EXHAUSTED* ]]; then
    pass "... with ENOSPC / RESOURCE_EXHAUSTED: $err"
  else
    fail "fs put past --disk: [$err]"
  fi
  expect_eq "the failed put left nothing behind" "" \
    "$("$CLI" exec --sandbox "$id" -- 'ls -A /workspace | grep -v "^s$" || true')"
else
  echo "SKIP: fs (this build has no fs command)"
fi
"$CLI" stop --time 1 "$id" >/dev/null

# Where it cannot be enforced it is refused, not ignored.
workspace=$(mktemp -d)
rc=0
err=$("$CLI" start --image "$IMAGE" --project "$PROJECT" --disk 1g --workspace "$workspace" 2>&1) || rc=$?
rmdir "$workspace"
expect_eq "--disk with --workspace: usage error" 2 "$rc"
expect_contains "... saying why" "--disk cannot be enforced on --workspace" "$err"
expect_eq "... and starting nothing" 0 "$("$CLI" list --project "$PROJECT" --json | jq length)"
finish
