#!/usr/bin/env bash
# A local stand-in for the Dockerfile's base image, for machines that reach Debian's archive but no container
# registry.  It is NOT the official python image: Debian bookworm (debootstrap, minbase) with Debian's own
# Python 3.11, venv/pip, and Python's headers (the build stage compiles the accelerator against them), tagged
# with the Dockerfile's pinned base name so that `podman build .` (or docker) uses it unchanged.
#   sudo bash deploy/build-base.sh [TAG]        (TAG defaults to the Dockerfile's PYTHON_IMAGE)
# Where a registry is reachable, do not use this: pull the real base instead.
set -euo pipefail
cd "$(dirname "$0")/.."
default_tag=$(sed -n 's/^ARG PYTHON_IMAGE=//p' Dockerfile | head -1)
tag=${1:-docker.io/library/${default_tag}}
engine=${ENGINE:-podman}
mirror=${MIRROR:-http://deb.debian.org/debian}
rootfs=$(mktemp -d /var/tmp/a11y-base.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

debootstrap --variant=minbase \
  --include=python3,python3-venv,python-is-python3,libpython3.11-dev,ca-certificates \
  bookworm "$rootfs" "$mirror"
# Slim it as the official slim images are: no apt lists, docs or static libpython (headers stay).
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* \
       "$rootfs"/usr/share/locale/* "$rootfs"/var/cache/debconf/*-old
find "$rootfs"/usr/lib/python3.11/config-* -name 'libpython3.11*.a' -delete 2>/dev/null || true
# The official image has `python` on PATH in /usr/local/bin; scripts written for it call `python`.
ln -sf /usr/bin/python3 "$rootfs"/usr/local/bin/python
tar -C "$rootfs" -c . | "$engine" import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["python3"]' - "$tag"
echo "base stand-in imported as $tag"
