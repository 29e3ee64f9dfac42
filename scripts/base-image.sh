#!/usr/bin/env bash
# Makes the images' base, debian:bookworm-slim, available to podman as BASE_IMAGE
# (default localhost/debian:bookworm-slim). From a registry when one answers; otherwise (no
# registry is reachable on the project's machines) built here: debootstrap a minimal Debian 12
# from the machine's own Debian mirror, slimmed the way Debian's -slim images are (no docs, man
# pages or locales; dpkg told to keep them out), imported with `podman import`.
#   scripts/base-image.sh            (idempotent: an existing image is kept)
#   BASE_FROM=debootstrap scripts/base-image.sh   (never try a registry)
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/containers/containers.conf}
image=${BASE_IMAGE:-localhost/debian:bookworm-slim}
from=${BASE_FROM:-auto}

if podman image exists "$image"; then
  echo "base-image: $image present"
  exit 0
fi
if [ "$from" != debootstrap ] &&
  timeout 60 podman pull -q docker.io/library/debian:bookworm-slim >/dev/null 2>&1; then
  podman tag docker.io/library/debian:bookworm-slim "$image"
  echo "base-image: $image from docker.io/library/debian:bookworm-slim"
  exit 0
fi

# The machine's Debian mirror (deb822 or one-line sources), else Debian's own.
mirror=$(grep -h -m1 -E '^URIs: .*/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null |
  awk '{print $2}' | head -1 || true)
[ -n "$mirror" ] || mirror=$(grep -h -m1 -E '^deb .*/debian/? bookworm' /etc/apt/sources.list 2>/dev/null |
  awk '{print $2}' | head -1 || true)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
security=${mirror%/debian}/debian-security

rootfs=$(mktemp -d /tmp/gv-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "base-image: debootstrap bookworm from $mirror (a minute or two)"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
  tail -20 "$rootfs.log" >&2
  exit 1
}
rm -f "$rootfs.log"

cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'CFG'
# As Debian's -slim images: documentation, man pages and translations stay out.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
CFG
cat >"$rootfs/etc/apt/apt.conf.d/slim" <<'CFG'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
CFG
rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$rootfs"/usr/share/{man,info,groff,lintian,linda,locale}/* "$rootfs"/var/cache/apt/*.bin \
  "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log \
  "$rootfs"/var/cache/debconf/*-old
tar -C "$rootfs" --numeric-owner -c . |
  podman import --quiet --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' - "$image" >/dev/null
echo "base-image: $image built by debootstrap ($(podman image inspect -f '{{.Size}}' "$image") bytes)"
