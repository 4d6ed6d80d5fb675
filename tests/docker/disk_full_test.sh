#!/usr/bin/env bash
# Full disks: a sandbox started with `--disk 8m` (a tmpfs /workspace) and the
# image's 64 MiB /tmp tmpfs. A put that does not fit fails with "No space
# left on device" (RESOURCE_EXHAUSTED), the file it would have replaced
# keeps its content, the space of the half-written copy comes back (no temp
# file left), and once room is made the same runner writes again.
#
#   disk_full_test.sh BIN_DIR
source "$(dirname "$0")/lib.sh"
require_docker
require_image base

BIN_DIR=$(cd "${1:?usage: $0 BIN_DIR}" && pwd)
CLI="$BIN_DIR/sagewai-sandbox"
[[ -x $CLI ]] || sagewai_die "$CLI is not built"
SAGEWAI_SANDBOX_STATE_DIR=$(mktemp -d /tmp/sagewai-disk-XXXXXX)
export SAGEWAI_SANDBOX_STATE_DIR
work=$(mktemp -d /tmp/sagewai-disk-work-XXXXXX)
sandbox=""
cleanup() {
  [[ -z $sandbox ]] || "$CLI" stop --time 1 "$sandbox" >/dev/null 2>&1 || true
  rm -rf "$SAGEWAI_SANDBOX_STATE_DIR" "$work"
  cleanup_containers
}
trap cleanup EXIT
runtime=()
[[ -z $TEST_RUNTIME ]] || runtime=(--runtime "$TEST_RUNTIME")

json=$("$CLI" start --json --disk 8m --image "$IMAGE" "${runtime[@]}")
sandbox=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["sandbox_id"])' <<<"$json")
sx() { "$CLI" exec --sandbox "$sandbox" -- "$1"; }
used_kib() { sx "df -k $1 | awk 'NR == 2 {print \$3}'"; }

head -c $((1 << 20)) /dev/urandom >"$work/keep"
head -c $((16 << 20)) /dev/urandom >"$work/big"
keep_sha=$(sha256sum <"$work/keep" | cut -d' ' -f1)
rc=0
"$CLI" fs put --sandbox "$sandbox" "$work/keep" keep || rc=$?
expect_eq "put 1 MiB into an 8 MiB /workspace" 0 "$rc"
before=$(used_kib /workspace)

rc=0
err=$("$CLI" fs put --sandbox "$sandbox" "$work/big" keep 2>&1) || rc=$?
expect_eq "put 16 MiB over it: refused" 1 "$rc"
expect_contains "put 16 MiB: says why" "No space left on device" "$err"
expect_eq "the old content survives" "$keep_sha" "$(sx 'sha256sum keep | cut -d" " -f1')"
expect_eq "no half-written copy holds space" "$before" "$(used_kib /workspace)"
# (find, not ls: ls DIR fails under this gVisor release; README, Runtimes)
expect_eq "no new name in /workspace" "keep" "$(sx 'find /workspace -mindepth 1 -printf "%f\\n"')"

# /tmp: filled by a tool, then a put there fails the same way.
out=$(sx 'head -c 100m /dev/zero > /tmp/fill 2>/dev/null; echo "head exit $?"')
expect_eq "a tool filling /tmp gets its own error" "head exit 1" "$out"
rc=0
err=$("$CLI" fs put --sandbox "$sandbox" "$work/keep" /tmp/k 2>&1) || rc=$?
expect_eq "put into a full /tmp: refused" 1 "$rc"
expect_contains "put into a full /tmp: says why" "No space left on device" "$err"
expect_eq "nothing named /tmp/k" "absent" "$(sx 'test -e /tmp/k && echo present || echo absent')"

# Room again: the same runner writes.
sx 'rm -f /tmp/fill' >/dev/null
rc=0
"$CLI" fs put --sandbox "$sandbox" "$work/keep" /tmp/k || rc=$?
expect_eq "after rm, the put to /tmp works" 0 "$rc"
expect_eq "and has the right content" "$keep_sha" "$(sx 'sha256sum /tmp/k | cut -d" " -f1')"
expect_eq "the runner still answers" "ok" "$(sx 'echo ok')"
finish
