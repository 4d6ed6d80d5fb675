#!/usr/bin/env bash
# sandbox-base builds from the working tree and has the configuration the
# design fixes: entrypoint, command, work directory, agent user, binaries,
# health check, labels, README. Also the fixture the other Docker tests use.
source "$(dirname "$0")/lib.sh"
require_docker
require_image base

inspect() { docker image inspect -f "$1" "$IMAGE"; }
expect_eq "ENTRYPOINT" '["/usr/local/bin/sagewai-entrypoint"]' "$(inspect '{{json .Config.Entrypoint}}')"
expect_eq "CMD" '["sagewai-tool-runner","serve"]' "$(inspect '{{json .Config.Cmd}}')"
expect_eq "WORKDIR" /workspace "$(inspect '{{.Config.WorkingDir}}')"
expect_eq "no USER (starts as root)" "" "$(inspect '{{.Config.User}}')"
expect_eq "HEALTHCHECK runs the runner's health command" \
  '["CMD","/usr/local/bin/sagewai-entrypoint","sagewai-tool-runner","health"]' \
  "$(inspect '{{json .Config.Healthcheck.Test}}')"
expect_eq "version label" "$(sagewai_version)" "$(inspect '{{index .Config.Labels "org.opencontainers.image.version"}}')"
for label in revision source title description; do
  value=$(inspect "{{index .Config.Labels \"org.opencontainers.image.$label\"}}")
  if [[ -n $value && $value != "<no value>" ]]; then pass "label $label=$value"; else fail "label $label missing"; fi
done

# One container, the tools' view of the image, no engine defaults involved.
out=$(docker run --rm --entrypoint /bin/bash "$IMAGE" -c '
  id -u agent; id -g agent; getent passwd agent | cut -d: -f6,7
  id -u sagewai; id -g sagewai
  find /workspace /run/sagewai /home/agent -maxdepth 0 -printf "%U:%G %m\n"  # stat(1) fails under runsc (README, Runtimes)
  for b in sagewai-entrypoint sagewai-tool-runner; do
    test -x /usr/local/bin/$b && echo "$b ok"
  done
  sagewai-tool-runner --version
  test -s /usr/share/doc/sagewai/README.md && echo readme ok')
expected="1000
1000
/home/agent:/bin/bash
900
900
1000:0 775
900:0 770
1000:1000 755
sagewai-entrypoint ok
sagewai-tool-runner ok
$(sagewai_version)
readme ok"
expect_eq "agent user, directories, binaries, README" "$expected" "$out"

# Static binaries: no PT_INTERP program header, so any distro can copy them in.
for b in sagewai-entrypoint sagewai-tool-runner; do
  interp=$(docker run --rm --entrypoint python3 "$IMAGE" -c '
import struct, sys
with open(sys.argv[1], "rb") as f:
    data = f.read(1 << 16)
phoff, = struct.unpack_from("<Q", data, 0x20)
phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
types = [struct.unpack_from("<I", data, phoff + i * phentsize)[0] for i in range(phnum)]
print("dynamic" if 3 in types else "static")' "/usr/local/bin/$b")
  expect_eq "$b is static" static "$interp"
done
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
printf 'INFO: %s is %d MB\n' "$IMAGE" $((size / 1000000))
finish
