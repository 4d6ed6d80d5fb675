# shellcheck shell=bash
# Shell helpers shared by the image scripts and the Docker smoke tests.
# Source it; it defines functions and a few variables and changes nothing else.

SAGEWAI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Exit code that means "no Docker engine here, skip" (CTest SKIP_RETURN_CODE).
SAGEWAI_SKIP_CODE=77

# The image variants, in build order (each one builds on an earlier one).
SAGEWAI_VARIANTS=(base general ml ops erp ecommerce api)

sagewai_log() { printf '%s: %s\n' "${SAGEWAI_LOG_PREFIX:-$(basename "$0")}" "$*" >&2; }
sagewai_die() {
  sagewai_log "$*"
  exit 1
}

# The product version: the one in the top-level CMakeLists.txt project() call.
sagewai_version() {
  local v
  v=$(sed -nE 's/^project\([^)]*VERSION[[:space:]]+([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' \
    "$SAGEWAI_ROOT/CMakeLists.txt" | head -n1)
  [[ -n $v ]] || sagewai_die "no VERSION in the project() call of $SAGEWAI_ROOT/CMakeLists.txt"
  printf '%s\n' "$v"
}

# The commit the images are built from ("unknown" outside a git checkout).
sagewai_revision() {
  local rev
  rev=$(git -C "$SAGEWAI_ROOT" rev-parse HEAD 2>/dev/null) || rev=unknown
  if [[ $rev != unknown ]] && ! git -C "$SAGEWAI_ROOT" diff --quiet HEAD -- 2>/dev/null; then
    rev="$rev-dirty"
  fi
  printf '%s\n' "$rev"
}

sagewai_base_image() { printf '%s\n' "${BASE_IMAGE:-debian:bookworm-slim}"; }

sagewai_image_tag() { printf 'sandbox-%s:%s\n' "$1" "$(sagewai_version)"; }

# Runs "$@" while holding an exclusive lock named $1 (parallel CTest jobs
# must not start two engines or build the same image twice at once).
sagewai_with_lock() {
  local name=$1
  shift
  local file=/run/lock/sagewai-$name.lock
  # flock needs only a readable file; another user's lock file is fine.
  [[ -r $file ]] || : >>"$file" 2>/dev/null || file="${TMPDIR:-/tmp}/sagewai-$name-$(id -u).lock"
  [[ -r $file ]] || : >>"$file"
  (
    flock -w 3600 9 || sagewai_die "timed out waiting for lock $file"
    "$@"
  ) 9<"$file"
}

# True when the Docker engine answers within a few seconds.
sagewai_docker_ready() { timeout 15 docker info >/dev/null 2>&1; }

# Runs apt-get non-interactively, as root or through sudo.
sagewai_apt_get() {
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || return 1
    sudo=(sudo -n)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"
}
