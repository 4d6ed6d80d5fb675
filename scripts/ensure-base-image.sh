#!/usr/bin/env bash
# Makes sure the base OS image of the sandbox images exists locally:
# $BASE_IMAGE (default debian:bookworm-slim).
#
# Order: the tag already exists → done; `docker pull` (short timeout) →
# done; otherwise build it here with debootstrap (variant minbase) from this
# machine's own Debian mirror and `docker import` it, trimmed like the slim
# images (no docs/man/locales, apt lists and caches cleaned, sources pointing
# at that mirror plus its security-updates source when the machine has one).
#
# The mirror is read from this machine's apt sources at run time; override it
# with DEBIAN_MIRROR (and DEBIAN_SECURITY_MIRROR, "none" to leave it out).
# Needs a running engine (scripts/ensure-docker.sh) and root for debootstrap.
set -euo pipefail
# shellcheck source=lib-docker.sh
source "$(dirname "$0")/lib-docker.sh"
SAGEWAI_LOG_PREFIX=ensure-base-image

IMAGE=$(sagewai_base_image)
SUITE=${DEBIAN_SUITE:-bookworm}
PULL_TIMEOUT=${SAGEWAI_PULL_TIMEOUT:-30}

# Prints "URI SUITE" for every enabled `deb` source of this machine, in the
# order apt reads them (one-line .list files and deb822 .sources files).
host_apt_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r $f ]] || continue
    awk '
      { sub(/#.*/, "") }
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if (i + 1 <= NF) print $i, $(i + 1)
      }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r $f ]] || continue
    awk '
      function flush(   i, j, nu, ns, u, s) {
        if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled !~ /^[ \t]*no/) {
          nu = split(uris, u, /[ \t]+/); ns = split(suites, s, /[ \t]+/)
          for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++)
            if (u[i] != "" && s[j] != "") print u[i], s[j]
        }
        types = uris = suites = enabled = ""; last = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]/ { if (last == "uris") uris = uris " " $0
                 else if (last == "suites") suites = suites " " $0
                 next }
      {
        key = tolower($0); sub(/:.*/, "", key)
        val = $0; sub(/^[^:]*:[ \t]*/, "", val)
        last = key
        if (key == "types") types = val
        else if (key == "uris") uris = val
        else if (key == "suites") suites = val
        else if (key == "enabled") enabled = tolower(val)
      }
      END { flush() }' "$f"
  done
}

# The first http(s) URI this machine uses for suite $1.
host_uri_for_suite() {
  host_apt_sources | awk -v s="$1" '$2 == s && $1 ~ /^https?:\/\// { print $1; exit }'
}

pick_mirrors() {
  MIRROR=${DEBIAN_MIRROR:-$(host_uri_for_suite "$SUITE")}
  [[ -n $MIRROR ]] || sagewai_die "this machine's apt sources have no http(s) source for suite" \
    "'$SUITE'; set DEBIAN_MIRROR to a Debian mirror URL (the part before /dists)"
  MIRROR=${MIRROR%/}
  SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-$(host_uri_for_suite "$SUITE-security")}
  [[ $SECURITY_MIRROR == none ]] && SECURITY_MIRROR=
  SECURITY_MIRROR=${SECURITY_MIRROR%/}
  UPDATES_SUITE=
  if [[ -n ${DEBIAN_MIRROR:-} || -n $(host_uri_for_suite "$SUITE-updates") ]]; then
    UPDATES_SUITE="$SUITE-updates"
  fi
}

install_tools() {
  local need=()
  command -v debootstrap >/dev/null || need+=(debootstrap)
  [[ -r /usr/share/keyrings/debian-archive-keyring.gpg ]] || need+=(debian-archive-keyring)
  ((${#need[@]} == 0)) && return 0
  sagewai_log "installing ${need[*]}"
  if ! sagewai_apt_get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
    sagewai_apt_get update -qq >/dev/null 2>&1 || true
    sagewai_apt_get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
      sagewai_die "apt-get could not install ${need[*]}"
  fi
}

# Writes the apt and dpkg configuration of a slim image into rootfs $1.
configure_slim_rootfs() {
  local root=$1
  rm -f "$root/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n' \
      "$MIRROR" "$SUITE${UPDATES_SUITE:+ $UPDATES_SUITE}"
    printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    if [[ -n $SECURITY_MIRROR ]]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' \
        "$SECURITY_MIRROR" "$SUITE"
      printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    fi
  } >"$root/etc/apt/sources.list.d/debian.sources"

  cat >"$root/etc/dpkg/dpkg.cfg.d/sagewai-slim" <<'EOF'
# Container image: no documentation, manual pages or translations are
# installed (copyright notices are kept).
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  cat >"$root/etc/apt/apt.conf.d/sagewai-slim" <<'EOF'
// Container image: downloaded packages and the binary caches never stay in a
// layer, no translated package descriptions, compressed package lists.
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
Acquire::CompressionTypes::Order:: "gz";
APT::AutoRemove::SuggestsImportant "false";
EOF
  # Services never start inside an image build.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"

  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/{man,info,groff,lintian,linda}/*
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
  rm -f "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
  find "$root/var/log" -type f -delete
  # The engine provides these at run time; the builder's values must not leak in.
  : >"$root/etc/resolv.conf"
  : >"$root/etc/hostname"
  find "$root/dev" -mindepth 1 -delete
}

build_with_debootstrap() {
  [[ $(id -u) -eq 0 ]] || sagewai_die "cannot pull $IMAGE and debootstrap needs root;" \
    "run as root or load the image with docker load"
  install_tools
  pick_mirrors
  sagewai_log "building $IMAGE with debootstrap (minbase, $SUITE) from the machine's Debian mirror"

  local work root tmp_tag=sagewai-debootstrap:tmp container=sagewai-base-upgrade-$$
  work=$(mktemp -d /var/tmp/sagewai-rootfs.XXXXXX)
  root=$work/rootfs
  # shellcheck disable=SC2064  # expand now: the trap runs after locals are gone
  trap "rm -rf --one-file-system '$work'; docker rm -f $container >/dev/null 2>&1 || true;
        docker rmi $tmp_tag >/dev/null 2>&1 || true" EXIT

  local include=()
  [[ $MIRROR == https://* ]] && include=(--include=ca-certificates)
  local t0=$SECONDS
  if ! debootstrap --variant=minbase "${include[@]}" "$SUITE" "$root" "$MIRROR" \
    >"$work/debootstrap.log" 2>&1; then
    tail -n 20 "$work/debootstrap.log" >&2
    sagewai_die "debootstrap $SUITE from the machine's mirror failed (log above)"
  fi
  sagewai_log "debootstrap took $((SECONDS - t0)) s"
  configure_slim_rootfs "$root"
  tar --numeric-owner --xattrs -C "$root" -c . | docker import - "$tmp_tag" >/dev/null

  # Security and point-release updates, then one flat layer again.
  docker run --name "$container" "$tmp_tag" bash -ec '
    export DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes
    apt-get update -qq
    apt-get -y -qq upgrade >/dev/null
    apt-get clean
    rm -rf /var/lib/apt/lists/* /var/log/apt/* /var/log/dpkg.log /var/cache/debconf/*-old /var/lib/dpkg/*-old' ||
    sagewai_die "updating the new rootfs inside a container failed (can containers reach the mirror?)"
  docker export "$container" | docker import \
    --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL org.opencontainers.image.description=\"Debian $SUITE minbase, built locally with debootstrap\"" \
    - "$IMAGE" >/dev/null
  sagewai_log "built $IMAGE in $((SECONDS - t0)) s ($(docker image inspect -f '{{.Size}}' "$IMAGE" |
    awk '{printf "%.0f MB", $1 / 1e6}'))"
}

ensure_base_image() {
  docker image inspect "$IMAGE" >/dev/null 2>&1 && return 0
  if timeout "$PULL_TIMEOUT" docker pull -q "$IMAGE" >/dev/null 2>&1; then
    sagewai_log "pulled $IMAGE"
    return 0
  fi
  sagewai_log "cannot pull $IMAGE (no registry reachable?)"
  build_with_debootstrap
}

sagewai_docker_ready || sagewai_die "the Docker engine does not answer; run scripts/ensure-docker.sh"
docker image inspect "$IMAGE" >/dev/null 2>&1 && exit 0
sagewai_with_lock base-image ensure_base_image
