#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Install the Debian packages vdax needs to build, test, demo and benchmark.
# Idempotent: only missing packages are installed; a second run does nothing.
set -eu

PKGS="
build-essential meson ninja-build pkg-config python3
clang libclang-rt-14-dev llvm
libseccomp-dev libcap-ng-dev libfuse3-dev fuse3
qemu-system-x86 qemu-system-common qemu-utils
busybox-static cpio xz-utils zstd kmod
fio gnuplot-nox attr
libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients debian-archive-keyring
"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
