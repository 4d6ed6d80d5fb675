#!/usr/bin/env bash
# scripts/check-includes.sh: the real tree passes; a tree with one violation of
# each rule fails and names every offending file:line.
set -euo pipefail

src=${1:?usage: check_includes_test.sh SOURCE_DIR}
check="$src/scripts/check-includes.sh"

"$check" "$src" || { echo "FAIL: the source tree breaks the include rule" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{common,cli,entrypoint,tool-runner/core,tests/runner}
printf '#include "common/log.h"\n#include "tool-runner/core/auth.h"\n' >"$tmp/cli/a.cc"
printf '#include "cli/flags.h"\n' >"$tmp/tool-runner/core/b.cc"
printf '#include <string>\n#include "entrypoint/child.h"\n' >"$tmp/common/c.h"
printf '#include "tool-runner/core/auth.h"\n' >"$tmp/entrypoint/d.cc"
printf '#include "tool-runner/core/auth.h"\n#include "cli/flags.h"\n' >"$tmp/tests/runner/e.cc"
printf '#include "absl/status/status.h"\n#include "sagewai/sandbox/v1/sandbox.pb.h"\n' \
  >"$tmp/common/ok.cc"

if "$check" "$tmp" 2>"$tmp/out"; then
  echo "FAIL: violations were not detected" >&2
  exit 1
fi
cat "$tmp/out"
for want in "cli/a.cc:2:" "tool-runner/core/b.cc:1:" "common/c.h:2:" "entrypoint/d.cc:1:"; do
  grep -q "^$want" "$tmp/out" || { echo "FAIL: no report for $want" >&2; exit 1; }
done
if grep -qE '^(tests/|common/ok.cc|cli/a.cc:1:)' "$tmp/out"; then
  echo "FAIL: an allowed include was reported" >&2
  exit 1
fi
[[ $(grep -c ': includes ' "$tmp/out") -eq 4 ]] || { echo "FAIL: expected 4 reports" >&2; exit 1; }
echo PASS
