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

# The OCI runtimes asked for in SAGEWAI_RUNTIMES (comma-separated, e.g.
# "runc,runsc"; default "runc"), one per line.
sagewai_runtimes_wanted() { tr ',' '\n' <<<"${SAGEWAI_RUNTIMES:-runc}" | tr -d ' \t' | sed '/^$/d'; }

# True when SAGEWAI_RUNTIMES lists runtime $1.
sagewai_runtime_wanted() { sagewai_runtimes_wanted | grep -qx -- "$1"; }

# The arguments `dockerd` gives gVisor (runtimeArgs in daemon.json), one per
# line. Each one is needed on this Debian runsc (0.0~20221219):
#   --platform=ptrace  works on any kernel without extra devices; the kvm
#                      platform needs /dev/kvm and hangs at boot inside a VM
#                      without nested virtualisation, and this release has no
#                      systrap platform.
#   --network=none     the release takes any namespace that has
#                      /proc/sys/net/core/rmem_default for the host's and
#                      refuses to start ("cannot run with network enabled in
#                      root network namespace"); newer kernels have that file
#                      in every namespace. Sandboxes run with --network none
#                      anyway; under runsc, --network bridge has loopback only.
#   --host-uds=create  lets the runner's listening socket in the bind-mounted
#                      /run/sagewai be a host socket the CLI can connect to
#                      (without it the socket exists only inside gVisor).
#                      "create" suffices: the sandbox never connects out to a
#                      host socket.
sagewai_runsc_args() { printf '%s\n' --platform=ptrace --network=none --host-uds=create; }

# Prints the runtimeArgs of runtime $1 as the engine has it registered, one per
# line; false when it is not registered (or the engine does not answer).
sagewai_docker_runtime_args() {
  local json
  json=$(timeout 15 docker info -f '{{json .Runtimes}}' 2>/dev/null) || return 1
  python3 -c '
import json, sys
runtime = json.loads(sys.argv[1] or "{}").get(sys.argv[2])
if runtime is None:
    sys.exit(1)
for arg in runtime.get("runtimeArgs") or []:
    print(arg)' "$json" "$1"
}

# True when the engine has runtime $1 registered with at least the arguments
# "${@:2}".
sagewai_docker_has_runtime() {
  local name=$1 have arg
  shift
  have=$(sagewai_docker_runtime_args "$name") || return 1
  for arg in "$@"; do
    grep -qxF -- "$arg" <<<"$have" || return 1
  done
}
