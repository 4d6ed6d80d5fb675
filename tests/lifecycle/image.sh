#!/usr/bin/env bash
# Builds the images the lifecycle tests use from the binaries in BIN_DIR and
# prints the good one's tag last: sagewai-lifecycle-test:<hash> — like
# sandbox-base minus the toolbox — and sagewai-lifecycle-test:broken-<hash>,
# whose PID 1 exits at once after a log line. The hash covers the binaries
# and this script, so a rebuild happens only when they change; older tags of
# the test images are removed.
set -euo pipefail
# shellcheck source=scripts/lib-docker.sh
source "$(dirname "$0")/../../scripts/lib-docker.sh"
SAGEWAI_LOG_PREFIX=lifecycle-image
bin=$(cd "${1:?usage: image.sh BIN_DIR}" && pwd)

hash=$(cat "$bin/sagewai-entrypoint" "$bin/sagewai-tool-runner" "$0" | sha256sum | cut -c1-12)
tag="sagewai-lifecycle-test:$hash"
broken="sagewai-lifecycle-test:broken-$hash"
if docker image inspect "$tag" "$broken" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi
"$SAGEWAI_ROOT/scripts/ensure-base-image.sh" >&2
context=$(mktemp -d /tmp/sagewai-lc-image-XXXXXX)
trap 'rm -rf "$context"' EXIT
cp "$bin/sagewai-entrypoint" "$bin/sagewai-tool-runner" "$context/"
cat >"$context/Dockerfile" <<DOCKERFILE
FROM $(sagewai_base_image)
RUN groupadd --gid 1000 agent && useradd --uid 1000 --gid 1000 --create-home agent \
 && groupadd --system --gid 900 sagewai \
 && useradd --system --uid 900 --gid 900 --no-create-home --shell /usr/sbin/nologin sagewai \
 && install -d -o 1000 -g 0 -m 0775 /workspace && install -d -o 900 -g 0 -m 0770 /run/sagewai
COPY sagewai-entrypoint sagewai-tool-runner /usr/local/bin/
WORKDIR /workspace
ENTRYPOINT ["/usr/local/bin/sagewai-entrypoint"]
CMD ["sagewai-tool-runner", "serve"]
DOCKERFILE
docker build -q -t "$tag" "$context" >"$context/build.log" 2>&1 ||
  { cat "$context/build.log" >&2; sagewai_die "docker build $tag failed"; }
printf 'FROM %s\nCMD ["sh", "-c", "echo broken-start: no runner configured >&2; exit 3"]\n' \
  "$tag" | docker build -q -t "$broken" - >"$context/build.log" 2>&1 ||
  { cat "$context/build.log" >&2; sagewai_die "docker build $broken failed"; }
# Earlier builds of the test images are of no further use.
docker image ls --format '{{.Repository}}:{{.Tag}}' sagewai-lifecycle-test |
  grep -v -e "^$tag\$" -e "^$broken\$" | xargs -r docker rmi >/dev/null 2>&1 || true
sagewai_log "built $tag and $broken"
echo "$tag"
