#!/usr/bin/env bash
# `make run`'s first half (the runner on this machine, no Docker) must keep
# working: the CLI's checks and the runner's start-up rules change under it.
#   demo_local_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
out=$(cd "$src" && SAGEWAI_DEMO_LOCAL_ONLY=1 scripts/demo.sh "$build" 2>&1) || {
  printf '%s\n' "$out"
  echo "FAIL: scripts/demo.sh exited non-zero"
  exit 1
}
fail=0
expect() {
  if ! grep -qF -- "$1" <<<"$out"; then
    echo "FAIL: the demo's output lacks: $1"
    fail=1
  fi
}
expect "token visible to the tool: []"
expect "exit code 124 (124 = timeout)"
expect "exit code 77"
expect '"ok":true'
expect "entrypoint exited 0"
if [[ $(id -u) -eq 0 ]]; then
  expect "tool: uid 65534; runner: uid $(id -u daemon)"
fi
((fail == 0)) || printf '%s\n' "$out"
exit "$fail"
