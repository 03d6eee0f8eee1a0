#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# vdax demo, in two parts:
#   1. vdaxd shares a directory and `vdax mount` mounts it with DAX, so every
#      program can use it (scripts/demo-mount.sh): copy a tree, stream a large
#      file through the window, the window's counters before and after;
#   2. a Linux guest boots under QEMU on vdaxd (tools/vm.sh) with a DAX
#      window (QEMU with patches/qemu, built once by scripts/qemu-dax.sh):
#      the guest's own DAX client reads and writes through vdaxd's window,
#      vdaxd's mapping counters and the guest's page cache show it, and the
#      host looks at the files.
# Everything started here is stopped on exit; nothing stays mounted.
#
#   scripts/demo.sh [BUILD_DIR]      (default: build; run as root)
set -u

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
vdaxd=$build/src/daemon/vdaxd

if [ -t 1 ]; then
	B=$(printf '\033[1m'); N=$(printf '\033[0m')
else
	B=""; N=""
fi
heading() {
	printf '\n%s==> %s%s\n' "$B" "$*" "$N"
}
die() {
	echo "demo: $*" >&2
	exit 1
}

if [ ! -x "$vdaxd" ]; then
	echo "demo: vdaxd is not built yet ($vdaxd missing)." >&2
	echo "demo: build it first (make build, or ninja -C $build) and rerun." >&2
	exit 1
fi
[ "$(id -u)" -eq 0 ] || die "run as root: vdaxd serves the shared directory with its owners' ids"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (make deps)"

work=$(mktemp -d "${TMPDIR:-/tmp}/vdax-demo.XXXXXX") || die "mktemp failed"
shared=$work/shared
sock=$work/vdaxd.sock
dpid=""
cleanup() {
	if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then
		kill -TERM "$dpid" 2>/dev/null
		i=0
		while kill -0 "$dpid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -0 "$dpid" 2>/dev/null && kill -KILL "$dpid" 2>/dev/null
		wait "$dpid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

printf '%sPart 1: vdax mount — a vdaxd share with DAX, for every program%s\n' "$B" "$N"
"$repo/scripts/demo-mount.sh" "$build" || die "the mount demo failed"

printf '\n%sPart 2: a Linux guest under QEMU on vdaxd, through the DAX window%s\n' "$B" "$N"
heading "Guest kernel (fetched once into .cache/guest)"
"$repo/scripts/guest-kernel.sh" | sed -n 1p || die "no guest kernel"
heading "QEMU with a DAX window for vhost-user-fs (patches/qemu; built once, ~5 min)"
qemu_dax=$("$repo/scripts/qemu-dax.sh") || die "cannot build the DAX QEMU (see above)"
echo "$qemu_dax"

heading "Host: a sample directory to share ($shared)"
mkdir -p "$shared/docs"
echo "Hello from the host." >"$shared/hello-host.txt"
printf 'alpha\nbeta\ngamma\n' >"$shared/docs/list.txt"
dd if=/dev/urandom of="$shared/big.bin" bs=1M count=64 status=none
ls -l "$shared"

heading "Host: starting vdaxd on it, with a 32 MiB DAX window"
echo "$vdaxd --socket-path=$sock --shared-dir=$shared --cache-size=32M"
"$vdaxd" --socket-path="$sock" --shared-dir="$shared" --cache-size=32M >"$work/vdaxd.log" 2>&1 &
dpid=$!
i=0
while [ ! -S "$sock" ]; do
	if ! kill -0 "$dpid" 2>/dev/null || [ $i -ge 100 ]; then
		cat "$work/vdaxd.log" >&2
		die "vdaxd did not start"
	fi
	sleep 0.1
	i=$((i + 1))
done
echo "vdaxd running (pid $dpid), listening on $sock"

heading "Guest: booting Linux under QEMU (TCG), virtio-fs on vdaxd, mounted -o dax=always"
guest_script='
h() { printf "\n--- guest: %s\n" "$*"; }
h "uname -r; mount | grep virtiofs; the window the kernel found"
uname -r
mount | grep virtiofs
dmesg | grep "Cache len"
h "md5sum big.bin (64 MiB written by the host, read through a 32 MiB window)"
grep -E "^Cached" /proc/meminfo | sed "s/^/before: /"
md5sum big.bin
grep -E "^Cached" /proc/meminfo | sed "s/^/after:  /"
echo "(with DAX the data stays in the host page cache: the guest caches almost nothing)"
h "ls -lR /mnt"
ls -lR /mnt
h "cat hello-host.txt docs/list.txt"
cat hello-host.txt docs/list.txt
h "echo ... > hello-guest.txt; cat it"
echo "Hello from the guest ($(uname -m), kernel $(uname -r))." > hello-guest.txt
cat hello-guest.txt
h "dd 8 MiB of random data into guest.bin; md5sum it"
dd if=/dev/urandom of=guest.bin bs=1M count=8 2>/dev/null
md5sum guest.bin
h "mv docs/list.txt docs/renamed.txt; mkdir made-in-guest"
mv docs/list.txt docs/renamed.txt && mkdir made-in-guest && ls docs
'
start=$(date +%s)
VDAX_QEMU=$qemu_dax "$repo/tools/vm.sh" --socket "$sock" --dax=32M --timeout 300 --cmd "$guest_script"
rc=$?
end=$(date +%s)
echo
echo "(guest exit status $rc; boot + workload + power-off took $((end - start)) s)"
[ $rc -eq 0 ] || { echo "vdaxd log:" >&2; tail -20 "$work/vdaxd.log" >&2; die "the guest run failed"; }

heading "Host: vdaxd's DAX window counters for that guest"
grep 'dax: ' "$work/vdaxd.log" | sed 's/^\[[0-9.]*\] //'

heading "Host: the same files seen from the host"
ls -lR "$shared"
echo
cat "$shared/hello-guest.txt"
(cd "$shared" && md5sum big.bin guest.bin)

heading "Host: vdaxd is still serving; stopping it"
if kill -0 "$dpid" 2>/dev/null; then
	echo "vdaxd (pid $dpid) still running: ready for the next guest"
else
	echo "vdaxd exited unexpectedly:"
	tail -20 "$work/vdaxd.log"
fi
cleanup
dpid=""
echo "stopped; removed $work"
echo
echo "Try it yourself:"
echo "  $vdaxd --socket-path=/tmp/vdax.sock --shared-dir=DIR --cache-size=64M &"
echo "  $build/tools/vdax/vdax mount --socket /tmp/vdax.sock -o dax=always,cache_size=64M /mnt/vdax"
echo "  $build/tools/vdax/vdax stats /mnt/vdax; fusermount3 -u /mnt/vdax"
echo "  tools/vm.sh --socket /tmp/vdax.sock --dax=64M   # then a guest with a shell on /mnt (DAX)"
echo "(vdaxd serves one frontend at a time: unmount before booting the guest)"
