#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Print the guest kernel used by tools/vm.sh and the guest tests:
#
#   line 1: path of vmlinuz
#   line 2: directory holding the kernel modules the guest needs, as plain
#           (decompressed) NAME.ko files, plus a file "load-order" listing
#           the module names in insmod order (built-in modules are omitted)
#
# The kernel is Debian's linux-image-*-cloud-amd64, fetched with apt-get
# download on first use and cached under $VDAX_CACHE (default
# <repo>/.cache/guest). Set VDAX_KERNEL_VERSION (e.g. 6.1.0-56-cloud-amd64)
# to pin a version; otherwise the newest cached one is used, or the current
# one is resolved with apt-cache.
#
# Exit status: 0 on success, 1 with a message on stderr otherwise.
set -eu

MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci fuse virtiofs"

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${VDAX_CACHE:-$repo/.cache/guest}

die() {
	echo "guest-kernel: $*" >&2
	exit 1
}

mkdir -p "$cache" || die "cannot create cache directory $cache"

# A cached kernel is complete once its "ok" stamp exists.
print_cached() { # kver
	d=$cache/$1
	[ -f "$d/ok" ] || return 1
	echo "$d/vmlinuz"
	echo "$d/modules"
}

resolve_version() {
	out=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null) || out=""
	v=$(printf '%s\n' "$out" | sed -n 's/^ *Depends: linux-image-\(.*-cloud-amd64\)$/\1/p' | head -n 1)
	if [ -z "$v" ]; then
		echo "guest-kernel: linux-image-cloud-amd64 unknown to apt; running apt-get update" >&2
		apt-get update -qq >&2 || die "apt-get update failed: cannot reach the Debian mirror (set VDAX_KERNEL_VERSION or pre-fill $cache)"
		out=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null) || out=""
		v=$(printf '%s\n' "$out" | sed -n 's/^ *Depends: linux-image-\(.*-cloud-amd64\)$/\1/p' | head -n 1)
	fi
	[ -n "$v" ] || die "cannot resolve the version of linux-image-cloud-amd64 with apt-cache"
	echo "$v"
}

if [ -n "${VDAX_KERNEL_VERSION:-}" ]; then
	kver=$VDAX_KERNEL_VERSION
	print_cached "$kver" && exit 0
else
	# Newest complete cached kernel, if any: fetch once, then work offline.
	newest=$(for d in "$cache"/*-cloud-amd64; do
		[ -f "$d/ok" ] && basename "$d"; done | sort -V | tail -n 1)
	[ -n "$newest" ] && print_cached "$newest" && exit 0
	kver=$(resolve_version)
fi

command -v apt-get >/dev/null || die "apt-get not found; cannot fetch linux-image-$kver"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found"

# Serialize concurrent first fetches (tests, demo, bench may start together).
exec 9>"$cache/.lock"
if command -v flock >/dev/null; then
	flock 9
fi
print_cached "$kver" && exit 0

work=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

echo "guest-kernel: fetching linux-image-$kver (once; cached in $cache)" >&2
# apt drops privileges to _apt for downloads; give it a directory it can write.
chmod 0777 "$work"
if ! (cd "$work" && apt-get download -q "linux-image-$kver" >&2 2>"$work/apt.err"); then
	cat "$work/apt.err" >&2
	echo "guest-kernel: apt-get download failed; retrying after apt-get update" >&2
	apt-get update -qq >&2 || die "apt-get update failed: cannot reach the Debian mirror (pre-fill $cache or set VDAX_CACHE)"
	(cd "$work" && apt-get download -q "linux-image-$kver" >&2) ||
		die "cannot download linux-image-$kver: is the Debian mirror reachable?"
fi
deb=$(ls "$work"/linux-image-*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || die "apt-get download produced no .deb"
dpkg-deb -x "$deb" "$work/x" || die "dpkg-deb -x $deb failed"

dst=$work/out
mkdir -p "$dst/modules"
cp "$work/x/boot/vmlinuz-$kver" "$dst/vmlinuz" || die "no vmlinuz-$kver in the package"
cp "$work/x/boot/config-$kver" "$dst/config" 2>/dev/null || true
mdir=$work/x/lib/modules/$kver
: >"$dst/modules/load-order"
for m in $MODULES; do
	# Module file names may use '-' or '_' interchangeably.
	f=$(find "$mdir/kernel" \( -name "$m.ko" -o -name "$m.ko.*" \
		-o -name "$(echo "$m" | tr _ -).ko" -o -name "$(echo "$m" | tr _ -).ko.*" \) | head -n 1)
	if [ -z "$f" ]; then
		if grep -Eq "/($m|$(echo "$m" | tr _ -))\.ko\$" "$mdir/modules.builtin" 2>/dev/null; then
			continue # built in: nothing to load
		fi
		die "module $m is neither a module nor built into $kver"
	fi
	case $f in
	*.ko) cp "$f" "$dst/modules/$m.ko" ;;
	*.ko.xz) xz -dc "$f" >"$dst/modules/$m.ko" || die "cannot decompress $f (install xz-utils)" ;;
	*.ko.zst) zstd -qdc "$f" >"$dst/modules/$m.ko" || die "cannot decompress $f (install zstd)" ;;
	*.ko.gz) gzip -dc "$f" >"$dst/modules/$m.ko" || die "cannot decompress $f" ;;
	*) die "unknown module format: $f" ;;
	esac
	echo "$m" >>"$dst/modules/load-order"
done
touch "$dst/ok"
rm -rf "${cache:?}/$kver"
mv "$dst" "$cache/$kver"
print_cached "$kver"
