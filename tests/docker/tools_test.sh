#!/usr/bin/env bash
# The base image's tools work for the agent under production settings with a
# read-only root filesystem and a noexec /tmp: each one runs, HOME and /tmp
# take writes, /tmp refuses to execute, a mounted /workspace is writable and
# files land there owned by uid 1000.
source "$(dirname "$0")/lib.sh"
require_docker
require_image base

scratch=$(mktemp -d)
chmod 0777 "$scratch"
trap 'cleanup_containers; rm -rf "$scratch"' EXIT
cid=$(start_container "${PRODUCTION_OPTS[@]}" -v "$scratch:/workspace")
wait_serving "$cid" || fail "runner did not start"

probe='set -e
bash --version | head -n1 | cut -d" " -f1-3
ls --version | head -n1 | cut -d" " -f1
find --version | head -n1 | cut -d" " -f1
echo abc | grep -o b
echo abc | sed s/a/x/
echo 1 2 | awk "{print \$1 + \$2}"
ps -o comm= -p $$
python3 -c "import json, ssl, sqlite3; print(json.dumps({\"py\": 3}))"
git --version | cut -d" " -f1-2
curl --version | head -n1 | cut -d" " -f1
echo "{\"a\": 1}" | jq .a
echo needle | rg -c needle
test -s /etc/ssl/certs/ca-certificates.crt && echo ca-certificates
tar --version | head -n1 | cut -d" " -f1
xz --version | head -n1 | cut -d" " -f1
unzip -v | head -n1 | cut -d" " -f1'
expected='GNU bash, version
ls
find
b
xbc
3
bash
{"py": 3}
git version
curl
1
1
ca-certificates
tar
xz
UnZip'
expect_eq "every tool of the README runs" "$expected" "$(stdio_stdout "$cid" "$probe")"

expect_eq "writes: HOME, /tmp, git config, python tempfile" "ok" "$(stdio_stdout "$cid" '
  set -e
  echo x > "$HOME/f" && echo y > /tmp/f
  git config --global init.defaultBranch main
  python3 -c "import tempfile; tempfile.NamedTemporaryFile()"
  echo ok')"
expect_eq "/tmp is noexec" "refused" "$(stdio_stdout "$cid" '
  printf "#!/bin/sh\necho ran\n" > /tmp/x.sh && chmod +x /tmp/x.sh
  /tmp/x.sh 2>/dev/null || echo refused')"
expect_eq "the root filesystem is read-only" "refused" \
  "$(stdio_stdout "$cid" 'touch /usr/local/bin/x 2>/dev/null || echo refused')"
expect_eq "/workspace (mounted) is the cwd and writable" "/workspace" \
  "$(stdio_stdout "$cid" 'pwd; git init -q repo && echo data > repo/file')"
expect_eq "files in /workspace belong to uid 1000 on the host" 1000 \
  "$(stat -c %u "$scratch/repo/file" 2>/dev/null)"
finish
