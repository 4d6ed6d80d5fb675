#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need. Idempotent and
# non-interactive; uses sudo when not root; does nothing when all is present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libcap-ng-dev libabsl-dev libprotobuf-dev protobuf-compiler
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc
  libre2-dev libc-ares-dev zlib1g-dev libssl-dev
  libgtest-dev libgmock-dev
  python3-grpcio python3-protobuf python3-matplotlib python3-hpack
  util-linux procps
)
# Extra packages a caller wants too (e.g. the benchmark's tools).
if [[ $# -gt 0 ]]; then packages+=("$@"); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
