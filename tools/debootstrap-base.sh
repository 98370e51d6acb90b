#!/usr/bin/env bash
# The CPU image's base without a container registry: Debian 11 "bullseye" (minbase)
# from a Debian mirror with debootstrap, imported into the container engine's local
# images. `make docker-base-debootstrap` runs it; CI does, every run.
#
#   tools/debootstrap-base.sh ENGINE IMAGE [MIRROR]
#
# ENGINE: docker or podman; IMAGE: the name to give it (then build with
# DOCKER_CPU_BASE=IMAGE); MIRROR: a Debian mirror URL (default: the first Debian mirror
# this machine's apt uses, else http://deb.debian.org/debian). As root, with debootstrap
# installed (apt-get install debootstrap). The signatures of the mirror's Release files
# are checked with the host's Debian archive keyring, as debootstrap does by default.
set -euo pipefail

[ "$#" -ge 2 ] && [ "$#" -le 3 ] || { sed -n '6,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
engine="$1"; image="$2"; mirror="${3:-}"
if [ -z "$mirror" ]; then
  # one-line (deb URL suite ...) and deb822 (URIs: URL) sources; not the security archive
  mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
              2>/dev/null | sed -n -E 's#^(deb[[:space:]]+(\[[^]]*\][[:space:]]+)?|URIs:[[:space:]]*)(https?://[^[:space:]]+/debian)/?([[:space:]].*)?$#\3#p' \
            | head -n 1 || true)"
  mirror="${mirror:-http://deb.debian.org/debian}"
fi
command -v debootstrap >/dev/null || { echo "error: no debootstrap; apt-get install -y debootstrap" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "error: debootstrap needs root" >&2; exit 1; }

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
echo "debootstrap-base: bullseye (minbase) from $mirror"
debootstrap --variant=minbase bullseye "$root" "$mirror" > "$root.log" 2>&1 \
  || { tail -n 20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | "$engine" import - "$image" >/dev/null
echo "debootstrap-base: imported as $image"
