#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Print the path of a QEMU whose vhost-user-fs-pci has a DAX window,
# building it first if needed.
#
# Stock QEMU 7.2 (Debian 12) gives a vhost-user-fs device no cache window,
# so a Linux guest cannot use DAX with any vhost-user backend. This script
# takes Debian's own qemu source package (apt-get source, after adding a
# deb-src entry for the system's suites), applies the project's patch series
# (patches/qemu/*.patch, GPL-2.0-or-later, each one explained in its header),
# builds only qemu-system-x86_64 (TCG and KVM, no optional libraries; about
# 5 minutes on 2 cores) and caches the binary under
# $VDAX_QEMU_CACHE (default <repo>/.cache/qemu-dax), keyed by the hash of
# the patch series and of this script. Later calls print the cached binary
# at once. Run the result with "-L /usr/share/qemu" (Debian's firmware).
#
#   scripts/qemu-dax.sh            build if needed, print the binary's path
#   scripts/qemu-dax.sh --check    print it only if cached (exit 1 if not)
#
# Progress goes to stderr. Exit status: 0 with the path on stdout, 1 with a
# message on stderr.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${VDAX_QEMU_CACHE:-$repo/.cache/qemu-dax}
patches=$repo/patches/qemu

die() {
	echo "qemu-dax: $*" >&2
	exit 1
}

[ -d "$patches" ] || die "no patch series in $patches"
key=$(cat "$patches"/*.patch "$0" | sha256sum | cut -c1-16)
bin=$cache/$key/qemu-system-x86_64

if [ -x "$bin" ] && [ -f "$cache/$key/ok" ]; then
	echo "$bin"
	exit 0
fi
[ "${1:-}" = "--check" ] && exit 1

mkdir -p "$cache" || die "cannot create $cache"
# One build at a time (tests, demo and bench may start together).
exec 9>"$cache/.lock"
command -v flock >/dev/null && flock 9
if [ -x "$bin" ] && [ -f "$cache/$key/ok" ]; then
	echo "$bin"
	exit 0
fi

[ "$(id -u)" -eq 0 ] || die "building the DAX QEMU needs root once (apt-get source and build-deps); run: sudo $0"

# --- the source: Debian's qemu package --------------------------------------
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache showsrc qemu 2>/dev/null | grep -q '^Package: qemu$'; then
	# A deb-src entry for the suites the system already uses.
	suites=$(. /etc/os-release && echo "$VERSION_CODENAME")
	[ -n "$suites" ] || die "cannot tell the Debian release from /etc/os-release"
	echo "qemu-dax: adding deb-src entries for $suites (/etc/apt/sources.list.d/vdax-deb-src.sources)" >&2
	cat >/etc/apt/sources.list.d/vdax-deb-src.sources <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $suites $suites-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: $suites-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	apt-get update -qq >&2 || die "apt-get update failed"
fi

need="dpkg-dev libglib2.0-dev libpixman-1-dev libfdt-dev zlib1g-dev ninja-build meson python3 patch"
missing=""
for p in $need; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "qemu-dax: installing build dependencies:$missing" >&2
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
		die "apt-get install$missing failed"
fi

work=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
chmod 0777 "$work" # apt-get source downloads as _apt
echo "qemu-dax: fetching Debian's qemu source (apt-get source qemu)" >&2
(cd "$work" && apt-get source -qq qemu >"$work/source.log" 2>&1) ||
	{ tail -20 "$work/source.log" >&2; die "apt-get source qemu failed"; }
src=$(find "$work" -maxdepth 1 -type d -name 'qemu-*' | head -n 1)
[ -n "$src" ] || die "apt-get source produced no qemu-* directory"
case $(basename "$src") in
qemu-7.2*) ;;
*) echo "qemu-dax: warning: the patches are for QEMU 7.2, the source is $(basename "$src")" >&2 ;;
esac

for p in "$patches"/*.patch; do
	echo "qemu-dax: applying $(basename "$p")" >&2
	patch -d "$src" -p1 --batch --quiet <"$p" || die "$(basename "$p") does not apply"
done

# --- the build: qemu-system-x86_64 only --------------------------------------
mkdir "$work/build"
echo "qemu-dax: configuring (x86_64-softmmu, TCG + KVM, vhost-user)" >&2
(cd "$work/build" && "$src/configure" --target-list=x86_64-softmmu \
	--without-default-features --enable-tcg --enable-kvm --enable-vhost-user \
	--enable-fdt=system --disable-docs --disable-install-blobs \
	>"$work/configure.log" 2>&1) ||
	{ tail -30 "$work/configure.log" >&2; die "configure failed"; }

echo "qemu-dax: building qemu-system-x86_64 (about 5 minutes on 2 cores, once)" >&2
jobs=$(nproc 2>/dev/null || echo 2)
# ninja prints "[done/total]": pass on one line in 10 %.
{
	ninja -C "$work/build" -j "$jobs" qemu-system-x86_64 2>&1
	echo $? >"$work/build.rc"
} | awk -v logf="$work/build.log" '
	{ print > logf }
	match($0, /^\[[0-9]+\/[0-9]+\]/) {
		split(substr($0, 2, RLENGTH - 2), a, "/")
		pct = int(a[1] * 100 / a[2])
		if (pct >= next_pct) {
			printf "qemu-dax: %3d%% (%s/%s)\n", pct, a[1], a[2] > "/dev/stderr"
			next_pct = pct - pct % 10 + 10
		}
	}'
if [ "$(cat "$work/build.rc" 2>/dev/null)" != 0 ] || [ ! -x "$work/build/qemu-system-x86_64" ]; then
	tail -30 "$work/build.log" >&2
	die "the build failed (log above)"
fi

out=$cache/$key
rm -rf "$out"
mkdir -p "$out"
cp "$work/build/qemu-system-x86_64" "$out/" || die "cannot copy the binary"
(cd "$src" && ls -d debian/changelog >/dev/null 2>&1 &&
	dpkg-parsechangelog -S Version) >"$out/source-version" 2>/dev/null || true
ls "$patches"/*.patch | xargs -n 1 basename >"$out/patches"
"$out/qemu-system-x86_64" -device vhost-user-fs-pci,help 2>/dev/null |
	grep -q cache-size || die "the built QEMU has no cache-size property"
touch "$out/ok"
echo "qemu-dax: cached $out/qemu-system-x86_64" >&2
echo "$out/qemu-system-x86_64"
