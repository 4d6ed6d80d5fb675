#!/usr/bin/env bash
# Builds the sandbox images sandbox-<variant>:<version> from the repository.
#
#   scripts/build-images.sh [VARIANT...]   default: all seven, in order
#   scripts/build-images.sh byo            the two BYO examples of dockerfiles/byo
#   scripts/build-images.sh --sizes        print the size of every built image
#   scripts/build-images.sh --check        check the Dockerfiles against the version
#
# A variant's parents are built first when missing (ml needs general needs
# base). The version is the project() VERSION of CMakeLists.txt; the revision
# label is the newest commit that touched the image's inputs, so a commit that
# changes nothing an image is made of leaves its layers cached.
# Environment: BASE_IMAGE (default debian:bookworm-slim), SAGEWAI_BUILD_JOBS
# (compile jobs in the builder stage, default 2), DOCKER_BUILD_ARGS (extra
# arguments for docker build, e.g. --no-cache).
set -euo pipefail
# shellcheck source=lib-docker.sh
source "$(dirname "$0")/lib-docker.sh"
SAGEWAI_LOG_PREFIX=build-images
cd "$SAGEWAI_ROOT"

VERSION=$(sagewai_version)

# Parent variant of each variant ("" = built from the Debian base image).
parent_of() {
  case $1 in
    base) echo "" ;;
    general) echo base ;;
    ml | ops | erp | ecommerce | api) echo general ;;
    byo | byo-static) echo base ;;
    *) sagewai_die "unknown variant '$1' (known: ${SAGEWAI_VARIANTS[*]} byo byo-static)" ;;
  esac
}

dockerfile_of() {
  case $1 in
    byo) echo dockerfiles/byo/Dockerfile ;;
    byo-static) echo dockerfiles/byo/static/Dockerfile ;;
    *) echo "dockerfiles/$1/Dockerfile" ;;
  esac
}

# Build context: the repository root, except for the BYO examples, which
# build from their own folder exactly as a user's copy would.
context_of() {
  case $1 in
    byo) echo dockerfiles/byo ;;
    byo-static) echo dockerfiles/byo/static ;;
    *) echo . ;;
  esac
}

tag_of() {
  case $1 in
    byo) echo "sandbox-byo-example:$VERSION" ;;
    byo-static) echo "sandbox-byo-static:$VERSION" ;;
    *) sagewai_image_tag "$1" ;;
  esac
}

# Paths whose content makes up the image of variant $1 (and of its parents).
inputs_of() {
  local v=$1 p
  p=$(parent_of "$v")
  if [[ -n $p ]]; then
    inputs_of "$p"
  else
    echo CMakeLists.txt cmake proto common entrypoint tool-runner cli scripts/install-deps.sh .dockerignore
  fi
  case $v in
    byo | byo-static) echo dockerfiles/byo ;;
    *) echo "dockerfiles/$v" ;;
  esac
}

revision_of() {
  local paths rev
  # shellcheck disable=SC2207
  paths=($(inputs_of "$1"))
  rev=$(git log -1 --format=%H -- "${paths[@]}" 2>/dev/null) || rev=
  [[ -n $rev ]] || rev=unknown
  if [[ $rev != unknown && -n $(git status --porcelain -- "${paths[@]}" 2>/dev/null) ]]; then
    rev="$rev-dirty"
  fi
  echo "$rev"
}

source_url() {
  local url
  url=$(git config --get remote.origin.url 2>/dev/null) || url=
  case $url in
    git@github.com:*) url="https://github.com/${url#git@github.com:}" ;;
    http://* | https://*) ;;
    *) url= ;;
  esac
  echo "${url%.git}"
}

build_one() {
  local v=$1 tag dockerfile p t0=$SECONDS
  tag=$(tag_of "$v")
  dockerfile=$(dockerfile_of "$v")
  [[ -f $dockerfile ]] || sagewai_die "$dockerfile does not exist"
  p=$(parent_of "$v")
  if [[ -n $p ]] && ! docker image inspect "$(tag_of "$p")" >/dev/null 2>&1; then
    build_one "$p"
  fi
  local args=(
    --build-arg "BASE_IMAGE=$(sagewai_base_image)"
    --build-arg "SAGEWAI_VERSION=$VERSION"
    --build-arg "REVISION=$(revision_of "$v")"
    --build-arg "JOBS=${SAGEWAI_BUILD_JOBS:-2}"
  )
  local url
  url=$(source_url)
  [[ -n $url ]] && args+=(--build-arg "SOURCE_URL=$url")
  # shellcheck disable=SC2206  # DOCKER_BUILD_ARGS is a list of words by design
  args+=(${DOCKER_BUILD_ARGS:-})
  local old_id
  old_id=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null) || old_id=
  sagewai_log "building $tag from $dockerfile"
  local log
  log=$(mktemp "${TMPDIR:-/tmp}/sagewai-build-$v.XXXXXX.log")
  # The legacy builder's deprecation notice is noise here: BuildKit is not
  # needed and not always installed.
  if ! docker build "${args[@]}" -f "$dockerfile" -t "$tag" "$(context_of "$v")" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    sagewai_die "docker build of $tag failed (full log: $log)"
  fi
  rm -f "$log"
  sagewai_log "built $tag in $((SECONDS - t0)) s, $(image_size "$tag")"
  if [[ -n $old_id && $old_id != "$(docker image inspect -f '{{.Id}}' "$tag")" ]]; then
    REPLACED=("$old_id" "${REPLACED[@]}")
  fi
}

# Removes the images this run replaced (children first) and all but the
# newest builder stage, unless something still uses them: otherwise every
# rebuild would leave a gigabyte behind. `docker rmi` without -f refuses
# images with children or containers, and ones that got another tag are kept.
remove_replaced_images() {
  local id
  for id in "${REPLACED[@]}"; do
    [[ $(docker image inspect -f '{{len .RepoTags}}' "$id" 2>/dev/null) == 0 ]] || continue
    docker rmi "$id" >/dev/null 2>&1 || true
  done
  docker images -q --filter dangling=true --filter label=org.sagewai.stage=builder |
    tail -n +2 | xargs -r docker rmi >/dev/null 2>&1 || true
}

image_size() {
  docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1e6 }'
}

print_sizes() {
  local v tag
  for v in "${SAGEWAI_VARIANTS[@]}" byo byo-static; do
    tag=$(tag_of "$v")
    if docker image inspect "$tag" >/dev/null 2>&1; then
      printf '%-32s %s\n' "$tag" "$(image_size "$tag")"
    else
      printf '%-32s %s\n' "$tag" "(not built)"
    fi
  done
}

# Every version a Dockerfile names (ARG SAGEWAI_VERSION defaults, literal
# sandbox-<variant>:X.Y.Z references) must be the project version, so that a
# plain `docker build` builds on the right parent.
check_versions() {
  local f bad=0 v
  while IFS= read -r f; do
    while IFS= read -r v; do
      if [[ $v != "$VERSION" ]]; then
        sagewai_log "$f names version $v, but CMakeLists.txt says $VERSION"
        bad=1
      fi
    done < <(sed -nE -e 's/^ARG SAGEWAI_VERSION=(.*)$/\1/p' \
      -e 's/.*sandbox-[a-z-]+:([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' "$f")
  done < <(find dockerfiles -name Dockerfile | sort)
  ((bad == 0)) && sagewai_log "Dockerfiles agree with version $VERSION"
  return "$bad"
}

case ${1:-} in
  --sizes) print_sizes; exit 0 ;;
  --check) check_versions; exit $? ;;
  -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

variants=("$@")
((${#variants[@]})) || variants=("${SAGEWAI_VARIANTS[@]}")
for v in "${variants[@]}"; do parent_of "$v" >/dev/null; done

rc=0
"$SAGEWAI_ROOT/scripts/ensure-docker.sh" || rc=$?
if ((rc != 0)); then
  ((rc == SAGEWAI_SKIP_CODE)) && sagewai_log "no Docker engine: cannot build images"
  exit "$rc"
fi
"$SAGEWAI_ROOT/scripts/ensure-base-image.sh"
REPLACED=()
for v in "${variants[@]}"; do
  if [[ $v == byo ]]; then
    build_one byo
    build_one byo-static
  else
    build_one "$v"
  fi
done
remove_replaced_images
