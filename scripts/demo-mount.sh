#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Demo: a vdaxd share mounted for every program on the machine by `vdax mount`.
# usage: scripts/demo-mount.sh BUILD_DIR   (root: FUSE mount and vdaxd)
set -eu
B=$(cd "${1:?usage: demo-mount.sh BUILD_DIR}" && pwd)
VDAX=$B/tools/vdax/vdax
VDAXD=$B/src/daemon/vdaxd
export LD_LIBRARY_PATH=$B/src/client${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

dir=$(mktemp -d "${TMPDIR:-/tmp}/vdax-demo-mount-XXXXXX")
share=$dir/share mnt=$dir/mnt sock=$dir/fs.sock
mkdir "$share" "$mnt"
dpid=
cleanup() {
	if awk -v m="$mnt" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; then
		fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt"
	fi
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
step() { printf '\n== %s\n' "$*"; }

step "vdaxd exports $share"
echo "hello from the host" > "$share/hello.txt"
"$VDAXD" --socket-path="$sock" -o source="$share",xattr,posix_lock,flock >"$dir/vdaxd.log" 2>&1 &
dpid=$!
i=0; while [ ! -S "$sock" ]; do i=$((i + 1)); [ $i -gt 100 ] && { echo "vdaxd did not start"; exit 1; }; sleep 0.05; done

step "vdax mount --socket $sock -o dax=never,allow_other $mnt"
"$VDAX" mount --socket "$sock" -o dax=never,allow_other "$mnt"
grep " $mnt " /proc/self/mounts
ls -l "$mnt"
cat "$mnt/hello.txt"

step "vdax stats (before)"
"$VDAX" stats "$mnt"

step "copy a tree in (cp -a /usr/share/doc/fuse3*)"
mkdir "$mnt/tree"
cp -a /usr/share/doc/fuse3* /usr/share/doc/libc6 "$mnt/tree/" 2>/dev/null || true
find "$mnt/tree" | wc -l | sed 's/$/ entries through the mount/'
find "$share/tree" | wc -l | sed 's/$/ entries on the host/'

step "write and read back a 64 MiB file"
dd if=/dev/urandom of="$dir/big" bs=1M count=64 status=none
cp "$dir/big" "$mnt/big"
dd if="$mnt/big" of=/dev/null bs=1M 2>&1 | tail -1
cmp "$dir/big" "$share/big" && echo "host copy identical"
cmp "$dir/big" "$mnt/big" && echo "read back identical"

step "vdax stats (after)"
"$VDAX" stats "$mnt"

step "unmount, stop vdaxd"
fusermount3 -u "$mnt"
kill "$dpid"; wait "$dpid" 2>/dev/null || true; dpid=
echo "nothing left mounted:"; grep -c " $mnt " /proc/self/mounts || true
