#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Demo: a vdaxd share mounted for every program on the machine by `vdax mount`,
# with file data moving through a 64 MiB DAX window (vdaxd --cache-size=64M,
# mount -o dax=always,cache_size=64M). `vdax stats` before and after shows the
# window counters move: a 256 MiB file streams through the 64 MiB window, so
# ranges are set up, reclaimed and set up again.
# usage: scripts/demo-mount.sh BUILD_DIR   (root: FUSE mount and vdaxd)
set -eu
B=$(cd "${1:?usage: demo-mount.sh BUILD_DIR}" && pwd)
VDAX=$B/tools/vdax/vdax
VDAXD=$B/src/daemon/vdaxd
WINDOW=64M
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
# the DAX window lines of `vdax stats`, and the mount's byte counters
dax_lines() { grep -E '^(dax|bytes_read|bytes_written)' "$1"; }

step "vdaxd exports $share with a $WINDOW DAX window"
echo "hello from the host" > "$share/hello.txt"
"$VDAXD" --socket-path="$sock" --cache-size=$WINDOW -o source="$share",xattr,posix_lock,flock >"$dir/vdaxd.log" 2>&1 &
dpid=$!
i=0; while [ ! -S "$sock" ]; do i=$((i + 1)); [ $i -gt 100 ] && { echo "vdaxd did not start"; exit 1; }; sleep 0.05; done

step "vdax mount --socket $sock -o dax=always,cache_size=$WINDOW,allow_other $mnt"
"$VDAX" mount --socket "$sock" -o dax=always,cache_size=$WINDOW,allow_other "$mnt"
grep " $mnt " /proc/self/mounts
ls -l "$mnt"
cat "$mnt/hello.txt"

step "vdax stats (before)"
"$VDAX" stats "$mnt" >"$dir/stats.0"
dax_lines "$dir/stats.0"

step "copy a tree in (cp -a /usr/share/doc/fuse3* /usr/share/doc/libc6), read it back"
mkdir "$mnt/tree"
cp -a /usr/share/doc/fuse3* /usr/share/doc/libc6 "$mnt/tree/" 2>/dev/null || true
find "$mnt/tree" | wc -l | sed 's/$/ entries through the mount/'
find "$share/tree" | wc -l | sed 's/$/ entries on the host/'
diff -r "$share/tree" "$mnt/tree" && echo "tree identical through the mount"
"$VDAX" stats "$mnt" >"$dir/stats.1"

step "a 256 MiB file written on the host, read through the $WINDOW window"
dd if=/dev/urandom of="$share/big" bs=1M count=256 status=none
dd if="$mnt/big" of=/dev/null bs=1M 2>&1 | tail -1
cmp "$share/big" "$mnt/big" && echo "read back identical"

step "write 64 MiB through the mount"
dd if=/dev/urandom of="$dir/w" bs=1M count=64 status=none
cp "$dir/w" "$mnt/w"
cmp "$dir/w" "$share/w" && echo "host copy identical"

step "vdax stats (after)"
"$VDAX" stats "$mnt" >"$dir/stats.2"
"$VDAX" stats "$mnt" | grep -Ev '^(dax|bytes_read|bytes_written)'

step "DAX window counters: before / after the tree / at the end"
awk 'FNR == 1 { f++ } /^(dax|bytes_)/ { v[$1, f] = $2; if (f == 1) k[++n] = $1 }
     END { for (i = 1; i <= n; i++)
		printf "%-22s %12s %12s %12s\n", k[i], v[k[i], 1], v[k[i], 2], v[k[i], 3] }' \
	"$dir/stats.0" "$dir/stats.1" "$dir/stats.2"

step "unmount, stop vdaxd"
fusermount3 -u "$mnt"
kill "$dpid"; wait "$dpid" 2>/dev/null || true; dpid=
echo "nothing left mounted:"; grep -c " $mnt " /proc/self/mounts || true
