#!/usr/bin/env bash
# Failures a user can act on — a container that exits at start (its last log
# lines), the engine down, an image that is not there, bad options — and
# doctor's report.
# shellcheck source=tests/lifecycle/lib.sh disable=SC2016  # single-quoted commands run in the sandbox
source "$(dirname "$0")/lib.sh"

# PID 1 exits at once: the error shows its exit code and last log lines, and
# nothing is left behind.
rc=0
err=$("$CLI" start --image "$BROKEN_IMAGE" --project "$PROJECT" 2>&1) || rc=$?
expect_eq "a container that exits at start: exit 1" 1 "$rc"
expect_contains "... its exit code" "exited at start with code 3" "$err"
expect_contains "... its last log lines" "| broken-start: no runner configured" "$err"
expect_contains "... what to do" "→ PID 1 must be sagewai-entrypoint" "$err"
expect_eq "... no container left" "" "$(docker ps -aq --filter "label=sagewai.project_id=$PROJECT")"
expect_eq "... no state left" "" "$(ls "$SAGEWAI_SANDBOX_STATE_DIR")"
rc=0
"$CLI" run --image "$BROKEN_IMAGE" --project "$PROJECT" -- true 2>/dev/null || rc=$?
expect_eq "run on it: exit 1, the command never ran" 1 "$rc"

# The engine is down (DOCKER_HOST at a dead socket).
dead="unix:///tmp/sagewai-no-engine-$$.sock"
for cmd in "start --image $IMAGE" "list" "reap --older-than 1m" "stop sbx-000000000000"; do
  rc=0
  # shellcheck disable=SC2086  # word splitting of $cmd is intended
  err=$(DOCKER_HOST=$dead "$CLI" $cmd 2>&1) || rc=$?
  expect_eq "engine down: $cmd exits 69" 69 "$rc"
  expect_contains "engine down: $cmd names DOCKER_HOST" "DOCKER_HOST (now $dead)" "$err"
done
err=$(DOCKER_HOST=$dead "$CLI" start --image "$IMAGE" 2>&1) || true
expect_contains "engine down: start says so" "the Docker engine does not answer" "$err"

# A state directory so deep that the socket path cannot fit in sun_path.
long_root="$SAGEWAI_SANDBOX_STATE_DIR/$(printf 'd%.0s' {1..90})"
rc=0
err=$(SAGEWAI_SANDBOX_STATE_DIR=$long_root "$CLI" start --image "$IMAGE" --project "$PROJECT" 2>&1) || rc=$?
expect_eq "socket path too long: exit 78" 78 "$rc"
expect_contains "socket path too long: what to do" "set SAGEWAI_SANDBOX_STATE_DIR to a shorter directory" "$err"
expect_eq "socket path too long: nothing started" "" "$(docker ps -aq --filter "label=sagewai.project_id=$PROJECT")"
rm -rf "$long_root"

# An image that is neither here nor pullable.
rc=0
err=$("$CLI" start --image registry.invalid/sagewai/absent:1 --project "$PROJECT" 2>&1) || rc=$?
expect_eq "missing image: exit 1" 1 "$rc"
expect_contains "missing image: says so" "is not present locally and could not be pulled" "$err"
expect_contains "missing image: what to do" "make images" "$err"

# Usage errors start nothing.
for bad in "--network host" "--mem lots" "--cpu 0" "--env SESSION_TOKEN=x" "--disk 1q" "extra"; do
  rc=0
  # shellcheck disable=SC2086
  "$CLI" start --image "$IMAGE" --project "$PROJECT" $bad 2>/dev/null || rc=$?
  expect_eq "start $bad: usage error" 2 "$rc"
done
expect_eq "usage errors started nothing" "" "$(docker ps -aq --filter "label=sagewai.project_id=$PROJECT")"

# doctor: all there, then the engine down, an unknown runtime, a missing image.
rc=0
out=$("$CLI" doctor --image "$IMAGE" --probe) || rc=$?
expect_eq "doctor: exit 0" 0 "$rc"
expect_contains "doctor: engine and version" "✓ engine reachable at" "$out"
expect_contains "doctor: runtimes" "✓ runtimes: " "$out"
expect_contains "doctor: runc" "runc" "$out"
expect_contains "doctor: gVisor" "gVisor" "$out"
expect_contains "doctor: cgroups" "cgroup v" "$out"
expect_contains "doctor: image" "✓ image $IMAGE present" "$out"
expect_contains "doctor: state dir" "✓ state directory $SAGEWAI_SANDBOX_STATE_DIR" "$out"
expect_contains "doctor: probe" "✓ probe: start → SERVING" "$out"
expect_contains "doctor: verdict" "OK — start has what it needs" "$out"
rc=0
out=$(DOCKER_HOST=$dead "$CLI" doctor) || rc=$?
expect_eq "doctor, engine down: exit 1" 1 "$rc"
expect_contains "doctor, engine down: ✗" "✗ engine at $dead does not answer" "$out"
expect_contains "doctor, engine down: the fix" "→ start the engine" "$out"
rc=0
out=$("$CLI" doctor --image registry.invalid/sagewai/absent:1 --runtime no-such-runtime) || rc=$?
expect_eq "doctor, unknown runtime and image: exit 1" 1 "$rc"
expect_contains "doctor: unknown runtime" "✗ runtime no-such-runtime is not registered" "$out"
expect_contains "doctor: missing image" "is not present locally" "$out"
expect_contains "doctor: counts" "PROBLEMS — 2 checks failed" "$out"
finish
