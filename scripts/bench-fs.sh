#!/usr/bin/env bash
# Filesystem throughput for `make bench`: files copied into and out of a
# sandbox through the runner's unix socket (`sagewai-sandbox fs put` and
# `fs cat`, the destination fsynced either way), next to a local `cp` + fsync
# of the same file on the same disk, and to `docker cp` both ways (alone, as
# Docker does it, and followed by a sync so that both sides have the data on
# disk), all in the same run. Each size is measured BENCH_FS_RUNS times, the
# contenders taking turns; the tables give medians. Also: the CPU seconds
# the runner and the CLI spend per GiB moved, and the runner's peak RSS.
# Prints markdown; slow numbers never fail it.
#
#   scripts/bench-fs.sh BUILD_DIR
#   BENCH_FS_SIZES="64 1024" BENCH_FS_RUNS=5 scripts/bench-fs.sh build   # the defaults (MiB)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib-local-runner.sh
source "$root/scripts/lib-local-runner.sh"
build=${1:-build}
bin="$(cd "$build" && pwd)/bin"
read -r -a sizes <<<"${BENCH_FS_SIZES:-64 1024}"
runs=${BENCH_FS_RUNS:-5}
hz=$(getconf CLK_TCK)
# The build directory's disk is the one the figures are about.
dir=$(mktemp -d "${BENCH_FS_DIR:-$build}/bench-fs-XXXXXX")
dir=$(cd "$dir" && pwd)
chmod 0755 "$dir" # the runner and tool users reach the workspace inside
container=

cleanup() {
  local_runner_stop || true
  if [[ -n $container ]]; then docker rm -f "$container" >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

log() { printf 'bench-fs: %s\n' "$*" >&2; }
now_ns() { date +%s%N; }

# Runs "$@" and prints how long it took in milliseconds (at least 1).
timed_ms() {
  local start end
  start=$(now_ns)
  "$@" >&2
  end=$(now_ns)
  local ms=$(((end - start) / 1000000))
  echo $((ms > 0 ? ms : 1))
}

# The runner's CPU time so far, in clock ticks (utime + stime).
runner_ticks() { awk '{print $14 + $15}' "/proc/$LOCAL_RUNNER_SERVER_PID/stat"; }

# Runs the CLI command "$@" (with its children) under /usr/bin/time: prints
# "MS CLI_CPU_S RUNNER_CPU_S".
measured() {
  local t0 t1 start end
  t0=$(runner_ticks)
  start=$(now_ns)
  /usr/bin/time -o "$dir/time" -f '%U %S' "$@" >&2
  end=$(now_ns)
  t1=$(runner_ticks)
  awk -v ms=$(((end - start) / 1000000)) -v r=$((t1 - t0)) -v hz="$hz" \
    '{printf "%d %.3f %.3f\n", (ms > 0 ? ms : 1), $1 + $2, r / hz}' "$dir/time"
}

median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
mib_per_s() { awk -v mb="$1" -v ms="$2" 'BEGIN {printf "%.0f MiB/s", mb * 1000 / ms}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
per_gib() { awk -v s="$1" -v mb="$2" 'BEGIN {printf "%.2f", s * 1024 / mb}'; }

# --- the runner -----------------------------------------------------------
SAGEWAI_LOG_LEVEL=warn local_runner_start "$build" "$dir/runner"
cli=("$bin/sagewai-sandbox" fs --addr "$LOCAL_RUNNER_ADDR" --token-file "$LOCAL_RUNNER_TOKEN"
  --peer-uid "$LOCAL_RUNNER_UID")
"${cli[@]}" ls >/dev/null || {
  log "the runner did not answer; see $LOCAL_RUNNER_LOG"
  exit 1
}

# --- what Docker offers -----------------------------------------------------
docker_image=
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  version=$("$bin/sagewai-tool-runner" --version)
  for image in "sandbox-base:$version" debian:bookworm-slim; do
    if docker image inspect "$image" >/dev/null 2>&1; then
      docker_image=$image
      break
    fi
  done
  if [[ -n $docker_image ]]; then
    container=$(docker run -d --rm --entrypoint sleep "$docker_image" 3600 2>/dev/null) || container=
  fi
fi

# --- the files --------------------------------------------------------------
largest=$(printf '%s\n' "${sizes[@]}" | sort -n | tail -n 1)
log "writing a ${largest} MiB test file"
head -c "$((largest * 1024 * 1024))" /dev/urandom >"$dir/src-$largest"
for mb in "${sizes[@]}"; do
  [[ -e $dir/src-$mb ]] || head -c "$((mb * 1024 * 1024))" "$dir/src-$largest" >"$dir/src-$mb"
done
cat "$dir"/src-* >/dev/null # warm: every contender reads from the page cache

# One run of every contender for the file of $1 MiB; appends to the arrays.
declare -A cp_ms put_ms get_ms dput_ms dputs_ms dget_ms dgets_ms put_cli put_run get_cli get_run
one_run() {
  local mb=$1 src="$dir/src-$1" m d sync_ms
  rm -f "$dir/copy" "$LOCAL_RUNNER_WORKSPACE/bench.bin" "$dir/out"
  sync
  # shellcheck disable=SC2016 # expanded by the inner shell
  cp_ms[$mb]+=" $(timed_ms sh -c 'cp "$1" "$2" && sync "$2"' sh "$src" "$dir/copy")"
  rm -f "$dir/copy"
  sync
  read -r -a m <<<"$(measured "${cli[@]}" put "$src" bench.bin)"
  put_ms[$mb]+=" ${m[0]}" put_cli[$mb]+=" ${m[1]}" put_run[$mb]+=" ${m[2]}"
  sync
  # shellcheck disable=SC2016 # expanded by the inner shell
  read -r -a m <<<"$(measured sh -c '"$@" cat bench.bin > "$0" && sync "$0"' "$dir/out" "${cli[@]}")"
  get_ms[$mb]+=" ${m[0]}" get_cli[$mb]+=" ${m[1]}" get_run[$mb]+=" ${m[2]}"
  if ! cmp -s "$src" "$dir/out"; then
    log "the file read back differs from the one sent"
    exit 1
  fi
  rm -f "$dir/out"
  if [[ -n $container ]]; then
    docker exec "$container" rm -f /tmp/bench.bin
    sync
    d=$(timed_ms docker cp "$src" "$container:/tmp/bench.bin")
    sync_ms=$(timed_ms sync)
    dput_ms[$mb]+=" $d" dputs_ms[$mb]+=" $((d + sync_ms))"
    d=$(timed_ms docker cp "$container:/tmp/bench.bin" "$dir/out")
    sync_ms=$(timed_ms sync "$dir/out")
    dget_ms[$mb]+=" $d" dgets_ms[$mb]+=" $((d + sync_ms))"
    rm -f "$dir/out"
  fi
}

for run in $(seq "$runs"); do
  for mb in "${sizes[@]}"; do
    log "run $run of $runs, ${mb} MiB"
    one_run "$mb"
  done
done
peak_rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$LOCAL_RUNNER_SERVER_PID/status")

# --- the tables -------------------------------------------------------------
# shellcheck disable=SC2086 # the arrays' entries are space-separated lists
med() { median $1; }
echo "Median of $runs runs, on the disk of \`$build\`, the contenders taking turns. \"Through the"
echo "runner\": \`sagewai-sandbox fs put\` / \`fs cat\` over the unix socket, the destination"
echo "fsynced (put: by the runner before it answers; cat: \`sync\` of the file written). Local:"
echo "\`cp\` + \`sync\` of the copy. Targets: within 1.5x of the local copy; at least 3x faster"
echo "than \`docker cp\`."
echo
if [[ -n $container ]]; then
  echo "\`docker cp\` writes without fsync; \"+ sync\" adds the \`sync\` that puts its copy on disk"
  echo "too (the apples-to-apples figure)."
  echo
  echo "| size | direction | through the runner | local cp + fsync | runner time ÷ local | docker cp | docker cp + sync | docker cp time ÷ runner | (docker cp + sync) ÷ runner |"
  echo "|---|---|---|---|---|---|---|---|---|"
else
  echo "| size | direction | through the runner | local cp + fsync | runner time ÷ local |"
  echo "|---|---|---|---|---|"
fi
for mb in "${sizes[@]}"; do
  cp_t=$(med "${cp_ms[$mb]}")
  for dirn in in out; do
    if [[ $dirn == in ]]; then
      t=$(med "${put_ms[$mb]}") label="into the sandbox"
    else
      t=$(med "${get_ms[$mb]}") label="out of the sandbox"
    fi
    row="| $mb MiB | $label | $(mib_per_s "$mb" "$t") | $(mib_per_s "$mb" "$cp_t") | $(ratio "$t" "$cp_t")x |"
    if [[ -n $container ]]; then
      if [[ $dirn == in ]]; then
        d=$(med "${dput_ms[$mb]}") ds=$(med "${dputs_ms[$mb]}")
      else
        d=$(med "${dget_ms[$mb]}") ds=$(med "${dgets_ms[$mb]}")
      fi
      row+=" $(mib_per_s "$mb" "$d") | $(mib_per_s "$mb" "$ds") | $(ratio "$d" "$t")x | $(ratio "$ds" "$t")x |"
    fi
    echo "$row"
  done
done
if [[ -z $container ]]; then
  echo
  echo "(\`docker cp\` not measured: no Docker engine answered \`docker info\`, or no image to run.)"
fi
echo
echo "CPU seconds per GiB moved (user + system, medians; the CLI's include the \`sync\` after \`cat\`):"
echo
echo "| size | direction | runner | CLI |"
echo "|---|---|---|---|"
for mb in "${sizes[@]}"; do
  echo "| $mb MiB | into the sandbox | $(per_gib "$(med "${put_run[$mb]}")" "$mb") | $(per_gib "$(med "${put_cli[$mb]}")" "$mb") |"
  echo "| $mb MiB | out of the sandbox | $(per_gib "$(med "${get_run[$mb]}")" "$mb") | $(per_gib "$(med "${get_cli[$mb]}")" "$mb") |"
done
echo
echo "Runner peak RSS over all transfers: $((peak_rss_kb / 1024)) MiB."

# --- what stands between a put and its targets --------------------------------
cpus=$(nproc)
echo
echo "### What limits \`fs put\`"
echo
echo "A put proves its copy: the CLI hashes the file (SHA-256) as it sends it and the runner"
echo "hashes what it writes, then fsyncs; \`cp\` does neither (the CPU table above). Both"
echo "processes share this machine's $cpus CPUs, so a put cannot take less than its CPU seconds ÷ $cpus,"
echo "however well its hashing, sending and writing overlap:"
echo
echo "| size | put | CPU floor (runner + CLI CPU ÷ $cpus) | local cp + fsync | floor ÷ local | gap to the 1.5x target |"
echo "|---|---|---|---|---|---|"
for mb in "${sizes[@]}"; do
  t=$(med "${put_ms[$mb]}") cp_t=$(med "${cp_ms[$mb]}")
  floor=$(awk -v r="$(med "${put_run[$mb]}")" -v c="$(med "${put_cli[$mb]}")" -v n="$cpus" \
    'BEGIN {printf "%d", (r + c) * 1000 / n}')
  gap=$(awk -v t="$t" -v c="$cp_t" 'BEGIN {g = t - 1.5 * c; if (g > 0) printf "%d ms", g; else print "met"}')
  echo "| $mb MiB | $t ms | $floor ms | $cp_t ms | $(ratio "$floor" "$cp_t")x | $gap |"
done
if [[ -n $container ]]; then
  mb=$largest
  need=$(awk -v mb="$mb" -v d="$(med "${dput_ms[$mb]}")" 'BEGIN {printf "%.0f", 3 * mb * 1000 / d}')
  echo
  echo "\`docker cp\` into the sandbox writes the page cache and returns, without a sync:"
  local_rate=$(awk -v mb="$mb" -v c="$(med "${cp_ms[$mb]}")" 'BEGIN {printf "%.0f", mb * 1000 / c}')
  echo "$(mib_per_s "$mb" "$(med "${dput_ms[$mb]}")") for $mb MiB here. 3x that would be $need MiB/s with an fsync,"
  echo -n "against $local_rate MiB/s for the local \`cp\` + fsync of the same file on the same disk"
  if ((need > local_rate)); then
    echo ": the disk, not the runner, rules that target out on this machine."
  else
    echo "."
  fi
fi
