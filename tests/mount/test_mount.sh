#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `vdax mount` against a real backend (TAP):
#   vdax-posix on the mount compared check by check with a local run,
#   an fio verify job, vdax stats, the mount.fuse.vdax helper, unmount with
#   open files, and SIGKILL of the backend while mounted.
# usage: test_mount.sh VDAX VDAX_POSIX EXPECTED_DIFFERENCES [DAX_MODE]
# The backend: $VDAX_TEST_BACKEND = vdaxd ($VDAXD) or virtiofsd ($VIRTIOFSD).
# DAX_MODE always/inode: vdaxd gets --cache-size=$VDAX_TEST_CACHE_SIZE
# (default 8M: 4 ranges of 2 MiB, so the fio job and vdax-posix keep
# reclaiming) and the mount -o dax=MODE,cache_size=SAME; vdax stats must
# show the window counters moving. virtiofsd has no window: its runs check
# that dax=always is refused with a clear error and nothing left mounted.
VDAX=${1:?usage: test_mount.sh VDAX VDAX_POSIX EXPECTED [DAX]}
POSIX=${2:?}
EXPECTED=${3:?}
DAX=${4:-never}
CACHE=${VDAX_TEST_CACHE_SIZE:-8M}
HELPER=${MOUNT_FUSE_VDAX:-$(dirname "$0")/../../tools/mount.fuse.vdax}
kind=${VDAX_TEST_BACKEND:-vdaxd}
if [ "$kind" = vdaxd ]; then
	exe=${VDAXD:-}
else
	exe=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
fi

skip() { echo "1..0 # SKIP $*"; exit 77; }
# Mount in a private mount namespace: a process elsewhere that clones the
# namespace while we are mounted would keep a copy of the mount alive, and
# the server would not see the unmount.
if [ -z "${VDAX_MOUNT_NS:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -m --propagation private true 2>/dev/null; then
	VDAX_MOUNT_NS=1 exec unshare -m --propagation private sh "$0" "$@"
fi
[ -n "$exe" ] && [ -x "$exe" ] || skip "backend $kind not available (${exe:-unset})"
[ "$(id -u)" = 0 ] || skip "needs root (FUSE mount with allow_other, backend)"
[ -c /dev/fuse ] || skip "/dev/fuse is absent"
command -v fusermount3 >/dev/null || skip "fusermount3 not installed"
[ "$kind" = vdaxd ] || [ "$DAX" = never ] || skip "$kind has no DAX window: dax=$DAX cannot mount"
# the libvdax options of every mount; a window only with DAX
if [ "$DAX" = never ]; then
	MOPTS=dax=never
	window=
else
	MOPTS=dax=$DAX,cache_size=$CACHE
	window=--cache-size=$CACHE
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/vdax-mount-XXXXXX")
share=$dir/share
sock=$dir/fs.sock
mnt=$dir/mnt
mkdir "$share" "$mnt" "$dir/local"
bpid=
mpid=
n=0
fails=0

mounted() { awk -v m="$mnt" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; }
cleanup() {
	mounted && { fusermount3 -u -z "$mnt" 2>/dev/null || umount -l "$mnt"; }
	[ -n "$mpid" ] && kill -9 "$mpid" 2>/dev/null
	[ -n "$bpid" ] && kill -9 "$bpid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

check() { # check DESCRIPTION COMMAND...
	n=$((n + 1)); desc=$1; shift
	if "$@"; then echo "ok $n - $desc"; else echo "not ok $n - $desc"; fails=$((fails + 1)); fi
}
wait_for() { # wait_for TENTHS COMMAND...: poll until true
	t=$1; shift; i=0
	while ! "$@"; do
		i=$((i + 1)); [ $i -gt "$t" ] && return 1; sleep 0.1
	done
}
gone() { ! kill -0 "$1" 2>/dev/null; }

# One backend serves one connection: start one per mount.
start_backend() {
	rm -f "$sock"
	if [ "$kind" = vdaxd ]; then
		# shellcheck disable=SC2086 # $window: empty or one word
		# $VDAX_TEST_VDAXD_ARG: one more option (as for tests/client)
		"$exe" --socket-path="$sock" $window ${VDAX_TEST_VDAXD_ARG:+"$VDAX_TEST_VDAXD_ARG"} \
			-o source="$share",xattr,posix_lock,flock >"$dir/backend.log" 2>&1 &
	else
		"$exe" --socket-path="$sock" -o source="$share",cache=auto,xattr,posix_lock,flock,sandbox=chroot >"$dir/backend.log" 2>&1 &
	fi
	bpid=$!
	wait_for 50 test -S "$sock"
}
stop_backend() { [ -n "$bpid" ] && { kill -9 "$bpid" 2>/dev/null; wait "$bpid" 2>/dev/null; }; bpid=; }
# Foreground mount in the background, so its exit status can be checked.
start_mount() {
	"$VDAX" mount --socket "$sock" -o "$MOPTS,allow_other" -f "$mnt" 2>"$dir/mount.log" &
	mpid=$!
	wait_for 100 mounted
}
# st = exit status of the mount process, within 10 s (124: still running).
mount_status() {
	st=124
	wait_for 100 gone "$mpid" || return
	wait "$mpid"; st=$?
}

start_backend; check "backend $kind started" test -S "$sock"
start_mount; check "vdax mount -o $MOPTS is mounted" mounted
fstype=$(awk -v m="$mnt" '$5 == m { for (i = 6; i < NF; i++) if ($i == "-") { print $(i + 1); exit } }' /proc/self/mountinfo)
check "fstype is fuse.vdax ($fstype)" test "$fstype" = fuse.vdax

# ---- vdax-posix: mount vs local, check by check ----
mkdir "$mnt/px"
timeout 600 "$POSIX" "$mnt/px" >"$dir/px-mount.tap" 2>&1
timeout 600 "$POSIX" "$dir/local" >"$dir/px-local.tap" 2>&1
# "NAME STATUS" per check (STATUS ok / not)
results() { sed -n 's/^\(not ok\|ok\) [0-9]* - \([^ ]*\).*/\2 \1/p' "$1" | sed 's/ not ok$/ not/'; }
results "$dir/px-local.tap" | sort >"$dir/local.res"
results "$dir/px-mount.tap" | sort >"$dir/mount.res"
nl=$(wc -l <"$dir/local.res")
nm=$(wc -l <"$dir/mount.res")
check "vdax-posix ran on both ($nl local, $nm mount checks)" test "$nl" -gt 500 -a "$nl" -eq "$nm"
sed 's/#.*//; s/[[:space:]].*//; /^$/d' "$EXPECTED" | sort -u >"$dir/allowed"
join -a1 -a2 -e MISSING -o 0,1.2,2.2 "$dir/local.res" "$dir/mount.res" |
	awk '$2 != $3 { print $1 }' >"$dir/differ"
comm -23 "$dir/differ" "$dir/allowed" >"$dir/unexpected"
while read -r name; do
	echo "# unexpected difference: $name ($(grep "^$name " "$dir/local.res" | cut -d' ' -f2) locally)"
	grep " - $name\b" "$dir/px-mount.tap" | sed 's/^/#   mount: /'
done <"$dir/unexpected"
comm -13 "$dir/differ" "$dir/allowed" | sed 's/^/# allowed but same now: /'
check "vdax-posix on the mount = local, but for expected-differences.txt ($(wc -l <"$dir/differ") differ)" \
	test ! -s "$dir/unexpected"

# ---- fio: random read/write with verification ----
if command -v fio >/dev/null; then
	mkdir "$mnt/fio"
	fio --name=v --directory="$mnt/fio" --size=16M --rw=randrw --bs=4k \
		--verify=crc32c --do_verify=1 --verify_state_save=0 \
		--ioengine=psync --runtime=10 \
		--output="$dir/fio.log" >/dev/null 2>&1
	rc=$?
	check "fio randrw crc32c verify exits 0" test $rc -eq 0
	[ $rc -eq 0 ] || sed 's/^/# fio: /' "$dir/fio.log" | tail -20
else
	n=$((n + 1)); echo "ok $n - fio # SKIP fio not installed"
fi

# ---- O_DIRECT: the mount's page cache is bypassed, data still right ----
head -c 1048576 /dev/urandom >"$dir/direct.local"
cp "$dir/direct.local" "$share/direct.bin"
dd if="$mnt/direct.bin" of="$dir/direct.back" bs=4k iflag=direct status=none 2>"$dir/dd.err"; rc=$?
check "O_DIRECT 4k reads through the mount (rc $rc $(head -c 80 "$dir/dd.err"))" \
	sh -c "[ $rc -eq 0 ] && cmp -s '$dir/direct.local' '$dir/direct.back'"
dd if="$dir/direct.local" of="$mnt/direct.out" bs=4k oflag=direct status=none 2>"$dir/dd.err"; rc=$?
check "O_DIRECT 4k writes through the mount (rc $rc $(head -c 80 "$dir/dd.err"))" \
	sh -c "[ $rc -eq 0 ] && cmp -s '$dir/direct.local' '$share/direct.out'"

# ---- vdax stats ----
"$VDAX" stats "$mnt" >"$dir/stats" 2>&1
rc=$?
check "vdax stats exits 0" test $rc -eq 0
check "vdax stats counts the requests served" \
	sh -c "awk '\$1 == \"requests\" && \$2 > 1000 { f = 1 } END { exit !f }' '$dir/stats'"
check "vdax stats counts bytes written" \
	sh -c "awk '\$1 == \"bytes_written\" && \$2 > 0 { f = 1 } END { exit !f }' '$dir/stats'"
stat_of() { awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "none" }' "$dir/stats"; }
check "vdax stats shows the DAX mode ($(stat_of dax))" test "$(stat_of dax)" = "$DAX"
if [ "$DAX" = never ]; then
	check "vdax stats: no DAX window (window_size $(stat_of dax.window_size))" \
		test "$(stat_of dax.window_size)" = 0
	check "vdax stats: no DAX lookups (misses $(stat_of dax.misses))" \
		test "$(stat_of dax.misses)" = 0
	check "vdax stats: no READ from a window (window_reads $(stat_of window_reads))" \
		test "$(stat_of window_reads)" = 0
else
	bytes=$(numfmt --from=iec "$CACHE")
	check "vdax stats: window_size $(stat_of dax.window_size) = $CACHE" \
		test "$(stat_of dax.window_size)" = "$bytes"
	check "vdax stats: ranges_total $(stat_of dax.ranges_total) = window / 2M" \
		test "$(stat_of dax.ranges_total)" = $((bytes / 2097152))
	for k in misses hits setup_mappings remove_mappings; do
		v=$(stat_of dax.$k)
		check "vdax stats: dax.$k moved ($v)" test "$v" != none -a "$v" != 0
	done
	# more data than the window: ranges were taken back from files
	check "vdax stats: ranges reclaimed (bg $(stat_of dax.bg_reclaims), direct $(stat_of dax.direct_reclaims))" \
		test $(($(stat_of dax.bg_reclaims) + $(stat_of dax.direct_reclaims))) -gt 0
	# and they keep moving: a fresh file read through the mount
	head -c 5000000 /dev/urandom >"$share/fresh.bin"
	before=$(stat_of dax.misses)
	cmp -s "$share/fresh.bin" "$mnt/fresh.bin"; rc=$?
	check "a file written on the host reads back through the window" test $rc -eq 0
	"$VDAX" stats "$mnt" >"$dir/stats" 2>&1
	check "vdax stats: misses went up by reading it ($before -> $(stat_of dax.misses))" \
		test "$(stat_of dax.misses)" -gt "$before"
	# READs answered from the window pages (vdax_pread_window), no bounce
	check "vdax stats: READs answered from the window (window_reads $(stat_of window_reads))" \
		test "$(stat_of window_reads)" != none -a "$(stat_of window_reads)" != 0
fi
if [ "$DAX" = always ]; then
	# The kernel's random O_DIRECT READs over a file 4x the window: the
	# admission policy reads most around the window instead of remapping
	# a range per READ; every byte checked against the host's file.
	head -c $((bytes * 4)) /dev/urandom >"$share/ws.bin"
	"$VDAX" stats "$mnt" >"$dir/stats" 2>&1
	byp0=$(stat_of dax.bypasses); set0=$(stat_of dax.setup_mappings)
	bad=$(python3 - "$mnt/ws.bin" "$share/ws.bin" <<'PYEOF'
import mmap, os, random, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECT)
ref = open(sys.argv[2], 'rb')
buf = mmap.mmap(-1, 4096)  # page aligned, as O_DIRECT wants
pages = os.fstat(fd).st_size // 4096
rnd = random.Random(7)
bad = 0
for _ in range(2000):
    off = rnd.randrange(pages) * 4096
    n = os.preadv(fd, [buf], off)
    ref.seek(off)
    if n != 4096 or buf[:n] != ref.read(4096):
        bad += 1
print(bad)
PYEOF
)
	check "2000 random 4k O_DIRECT reads over 4x the window: right bytes ($bad bad)" test "$bad" = 0
	"$VDAX" stats "$mnt" >"$dir/stats" 2>&1
	byp=$(($(stat_of dax.bypasses) - byp0)); set=$(($(stat_of dax.setup_mappings) - set0))
	check "... most read around the window ($byp bypasses), no thrashing ($set setups)" \
		test "$byp" -gt 1000 -a "$set" -lt 200
fi

# ---- ls -l of a big directory: READDIRPLUS, not a LOOKUP per entry ----
mkdir "$share/big"
(cd "$share/big" && i=0 && while [ $i -lt 2000 ]; do : >"f$i"; i=$((i + 1)); done)
"$VDAX" stats "$mnt" >"$dir/stats" 2>&1
op_of() { awk -v k="op.$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' "$dir/stats"; }
rdp0=$(op_of readdirplus); lk0=$(op_of lookup)
lines=$(ls -l "$mnt/big" | grep -c ' f[0-9]*$')
"$VDAX" stats "$mnt" >"$dir/stats" 2>&1
rdp=$(($(op_of readdirplus) - rdp0)); lk=$(($(op_of lookup) - lk0))
check "ls -l lists the 2000 entries ($lines)" test "$lines" = 2000
check "ls -l of 2000 entries: READDIRPLUS served ($rdp) and few LOOKUPs ($lk)" \
	test "$rdp" -gt 0 -a "$lk" -lt 200
# attributes given with the entries are right
chmod 0600 "$share/big/f7"
sleep 1.2 # the backend's attr/entry timeout (cache=auto: 1 s)
m=$(ls -l "$mnt/big" | awk '$NF == "f7" { print $1 }')
check "ls -l after a host chmod and the timeout shows it ($m)" test "$m" = "-rw-------"

# ---- unmount with a file open ----
printf 'still here\n' >"$mnt/open.txt"
exec 3<"$mnt/open.txt"
check "umount of a busy mount fails (EBUSY)" sh -c "! fusermount3 -u '$mnt' 2>/dev/null"
fusermount3 -u -z "$mnt"; rc=$?
check "lazy unmount with an open file succeeds" test $rc -eq 0
check "the mount point is gone" sh -c "! awk -v m='$mnt' '\$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo"
check "the open file is still readable" sh -c 'read -r l <&3 && [ "$l" = "still here" ]'
exec 3<&-
mount_status
check "vdax mount exits 0 once the last file closes (status $st)" test "$st" = 0
mpid=
stop_backend

# ---- the mount.fuse.vdax helper (what mount -t fuse.vdax runs) ----
start_backend
VDAX=$VDAX sh "$HELPER" "$sock" "$mnt" -o "rw,nofail,$MOPTS,allow_other,x-systemd.automount"; rc=$?
check "mount.fuse.vdax mounts and returns" test $rc -eq 0
check "the helper's mount is live" sh -c "mounted() { awk -v m='$mnt' '\$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; }; mounted && test -s '$mnt/open.txt'"
hpid=$(pgrep -f -n "vdax mount --socket $sock") || hpid=
umount "$mnt"; rc=$?
check "umount(8) unmounts it" test $rc -eq 0
check "the daemonised mount exits after umount" sh -c "[ -z '$hpid' ] && exit 1; i=0; while kill -0 $hpid 2>/dev/null; do i=\$((i+1)); [ \$i -gt 100 ] && exit 1; sleep 0.1; done"
stop_backend

# ---- dax=always on a backend without a window ----
if [ "$kind" = virtiofsd ]; then
	start_backend
	out=$(timeout 30 "$VDAX" mount --socket "$sock" -o dax=always,allow_other "$mnt" 2>&1); rc=$?
	check "dax=always on virtiofsd: mount fails with EX_UNAVAILABLE (rc $rc)" test $rc -eq 69
	check "... saying the backend has no DAX window" \
		sh -c "echo '$out' | grep -q 'no DAX window'"
	echo "$out" | sed 's/^/#   /'
	check "... and nothing is left mounted" sh -c "! awk -v m='$mnt' '\$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo"
	check "... and no vdax mount process is left" sh -c "! pgrep -f '[v]dax mount --socket $sock' >/dev/null"
	stop_backend
fi

# ---- SIGKILL of the backend while mounted ----
start_backend
start_mount
check "mounted again" mounted
printf 'data\n' >"$mnt/k.txt"
exec 4<"$mnt/k.txt"
stop_backend
out=$(timeout 20 cat "$mnt/k.txt" 2>&1); rc=$?
check "read after backend death fails, no hang (rc $rc)" test $rc -ne 0 -a $rc -ne 124
check "... with EIO or ENOTCONN ($out)" sh -c "echo '$out' | grep -Eq 'Input/output error|Transport endpoint is not connected'"
out=$(timeout 20 ls "$mnt/newdir" 2>&1); rc=$?
check "lookup after backend death fails, no hang (rc $rc)" test $rc -ne 0 -a $rc -ne 124
out=$(timeout 20 sh -c "echo x > '$mnt/new.txt'" 2>&1); rc=$?
check "create after backend death fails, no hang (rc $rc)" test $rc -ne 0 -a $rc -ne 124
exec 4<&-
timeout 20 fusermount3 -u "$mnt"; rc=$?
[ $rc -eq 0 ] || { timeout 20 umount "$mnt"; rc=$?; }
check "unmount works with the backend dead" test $rc -eq 0
mount_status
check "vdax mount exits after unmount ($st)" test "$st" != 124
mpid=

echo "1..$n"
[ $fails -eq 0 ]
