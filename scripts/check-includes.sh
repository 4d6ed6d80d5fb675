#!/usr/bin/env bash
# The layout's include rule (ARCHITECTURE.md): each binary's folder is its own,
# shared code lives in common/. Prints one line per violation (file:line: why)
# and exits 1 if there is any. tests/ are exempt: they test the binaries.
# Usage: scripts/check-includes.sh [ROOT]   (ROOT defaults to the repository)
set -euo pipefail

root=${1:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"}
cd "$root"

# What common/ may include besides itself: generated protos, Abseil, gRPC,
# protobuf and the test frameworks. Angle-bracket includes are system headers.
common_allowed='^(common|sagewai|grpc|grpcpp|google|absl|gtest|gmock)/'

violations=0
report() {
  echo "$1:$2: $3" >&2
  violations=$((violations + 1))
}

while IFS= read -r file; do
  top=${file%%/*}
  lineno=0
  while IFS= read -r line; do
    lineno=$((lineno + 1))
    [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*([\"\<])([^\"\>]+)[\"\>] ]] || continue
    quote=${BASH_REMATCH[1]}
    inc=${BASH_REMATCH[2]}
    inc_top=${inc%%/*}
    [[ $inc == */* ]] || inc_top=""
    if [[ $inc_top == tool-runner && $top != tool-runner ]]; then
      report "$file" "$lineno" "includes \"$inc\": only tool-runner/ may include tool-runner/ (move shared code to common/)"
    elif [[ $inc_top == cli && $top != cli ]]; then
      report "$file" "$lineno" "includes \"$inc\": only cli/ may include cli/ (move shared code to common/)"
    elif [[ $top == entrypoint && ( $inc_top == tool-runner || $inc_top == cli ) ]]; then
      report "$file" "$lineno" "includes \"$inc\": entrypoint/ must not include another binary's code"
    elif [[ $top == common && $quote == '"' && ! $inc =~ $common_allowed ]]; then
      report "$file" "$lineno" "includes \"$inc\": common/ may include only common/, generated protos, absl, grpc and system headers"
    fi
  done <"$file"
done < <(find common cli entrypoint tool-runner -type f \( -name '*.cc' -o -name '*.h' \) \
           2>/dev/null | sort)

if ((violations > 0)); then
  echo "check-includes: $violations include(s) break the layout rule" >&2
  exit 1
fi
