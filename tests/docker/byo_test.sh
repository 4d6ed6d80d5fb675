#!/usr/bin/env bash
# The two BYO examples of dockerfiles/byo build on sandbox-base and work like
# it: the template (sandbox-base plus a Debian package) and the BusyBox-only
# image that copies just the two static binaries. Both answer the worker's
# stdio call, drop to uid 1000 under production settings, turn healthy and
# stop quickly.
source "$(dirname "$0")/lib.sh"
require_docker
require_image base
sagewai_with_lock image-byo "$SAGEWAI_ROOT/scripts/build-images.sh" byo ||
  sagewai_die "could not build the BYO examples"

version=$(sagewai_version)
for IMAGE in "sandbox-byo-example:$version" "sandbox-byo-static:$version"; do
  cid=$(start_container "${WORKER_OPTS[@]}")
  wait_serving "$cid" || fail "$IMAGE: runner did not start (worker settings)"
  expect_eq "$IMAGE: worker stdio echo" '"hi\n"' "$(stdio_call "$cid" 'echo hi' | json_get stdout)"

  cid=$(start_container "${PRODUCTION_OPTS[@]}" --health-interval 1s)
  wait_serving "$cid" || fail "$IMAGE: runner did not start (production settings)"
  expect_eq "$IMAGE: tool identity" "uid=1000 CapEff=0000000000000000" \
    "$(stdio_stdout "$cid" 'echo "uid=$(id -u) CapEff=$(grep CapEff /proc/self/status | cut -f2)"')"
  if wait_healthy "$cid"; then pass "$IMAGE: healthy"; else fail "$IMAGE: never healthy"; fi
  t0=$(date +%s%N)
  docker stop -t 10 "$cid" >/dev/null
  ms=$((($(date +%s%N) - t0) / 1000000))
  if ((ms < 2000)); then pass "$IMAGE: stopped in $ms ms"; else fail "$IMAGE: stop took $ms ms"; fi
done

IMAGE="sandbox-byo-example:$version"
expect_eq "template: the added tool runs" "3" \
  "$(docker run --rm "${PRODUCTION_OPTS[@]}" "$IMAGE" sqlite3 :memory: 'select 1 + 2;' 2>/dev/null)"
expect_eq "template: README lists the added tool" yes \
  "$(docker run --rm --entrypoint sh "$IMAGE" -c 'grep -q sqlite3 /usr/share/doc/sagewai/README.md && echo yes')"
expect_eq "static: the image has no package manager or C library" "none" \
  "$(docker run --rm --entrypoint /bin/sh "sandbox-byo-static:$version" -c \
    'ls /usr/bin/dpkg /usr/bin/apt-get /sbin/apk /var/lib/dpkg /lib*/*/libc.so.6 /lib/libc.* /lib/ld-* 2>/dev/null ||
     echo none')"
finish
