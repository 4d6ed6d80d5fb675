# shellcheck shell=bash
# Shared by the lifecycle tests: the freshly built sagewai-sandbox against a
# real Docker engine, on a small image made from the freshly built binaries
# (image.sh). Each test has its own state directory and project id, so that
# parallel tests and the operator's own sandboxes never meet; whatever a test
# started is stopped when it exits. Exits 77 (skip) when no engine can be
# had, or fails when SAGEWAI_REQUIRE_DOCKER=1.
#
#   source lib.sh BIN_DIR
set -euo pipefail

LIFECYCLE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib-docker.sh
source "$LIFECYCLE_DIR/../../scripts/lib-docker.sh"
SAGEWAI_LOG_PREFIX=$(basename "$0" .sh)

BIN_DIR=$(cd "${1:?usage: $0 BIN_DIR}" && pwd)
CLI="$BIN_DIR/sagewai-sandbox"
FAILURES=0

pass() { printf 'PASS: %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*"
  FAILURES=$((FAILURES + 1))
}
# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
  if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi
}
# expect_contains WHAT NEEDLE HAYSTACK
expect_contains() {
  if [[ $3 == *"$2"* ]]; then pass "$1"; else fail "$1: [$2] not in [$3]"; fi
}
expect_not_contains() {
  if [[ $3 != *"$2"* ]]; then pass "$1"; else fail "$1: [$2] unexpectedly in [$3]"; fi
}
finish() {
  if ((FAILURES > 0)); then
    printf '%s: %d check(s) failed\n' "$SAGEWAI_LOG_PREFIX" "$FAILURES"
    exit 1
  fi
  printf '%s: all checks passed\n' "$SAGEWAI_LOG_PREFIX"
}

# Engine up, or skip (77) / fail as ensure-docker.sh decides.
rc=0
"$SAGEWAI_ROOT/scripts/ensure-docker.sh" || rc=$?
((rc == 0)) || exit "$rc"

# jq reads the CLI's --json output.
if ! command -v jq >/dev/null; then
  sagewai_apt_get install -y -qq --no-install-recommends jq >/dev/null 2>&1 ||
    { sagewai_apt_get update -qq >/dev/null 2>&1 || true; sagewai_apt_get install -y -qq jq >/dev/null; } ||
    sagewai_die "jq is needed and apt-get could not install it"
fi

# The test image (and a broken one), built once per set of binaries.
IMAGE=$(sagewai_with_lock lifecycle-image bash "$LIFECYCLE_DIR/image.sh" "$BIN_DIR" | tail -n 1)
[[ $IMAGE == sagewai-lifecycle-test:* ]] || sagewai_die "image.sh did not name an image: $IMAGE"
# shellcheck disable=SC2034  # for the tests that source this
BROKEN_IMAGE="${IMAGE/sagewai-lifecycle-test:/sagewai-lifecycle-test:broken-}"

SAGEWAI_SANDBOX_STATE_DIR=$(mktemp -d /tmp/sagewai-lc-XXXXXX)
export SAGEWAI_SANDBOX_STATE_DIR
PROJECT="lifecycle-test-$$-$RANDOM"
unset SAGEWAI_SANDBOX SAGEWAI_RUNNER_ADDR SAGEWAI_RUNNER_TOKEN

cleanup_sandboxes() {
  local id
  for id in $("$CLI" list --project "$PROJECT" --json 2>/dev/null | jq -r '.[].sandbox_id'); do
    "$CLI" stop --time 1 "$id" >/dev/null 2>&1 || true
  done
  rm -rf "$SAGEWAI_SANDBOX_STATE_DIR"
}
trap cleanup_sandboxes EXIT

# start [OPTIONS...]: the JSON line of `start --json` with our project and image.
start_sandbox() {
  "$CLI" start --json --image "$IMAGE" --project "$PROJECT" "$@"
}
