#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The vdax command against a backend: output, errors and exit codes (TAP).
# DAX: against vdaxd a second daemon flavour gets --cache-size=8M (4 ranges
# of 2 MiB) for `-o dax=always,cache_size=8M --stats`; against virtiofsd
# (no window) dax=always must fail as an unavailable service.
VDAX=${1:?usage: test_cli.sh PATH-TO-vdax}
kind=${VDAX_TEST_BACKEND:-virtiofsd}
if [ "$kind" = vdaxd ]; then
	exe=${VDAXD:-}
else
	exe=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
fi
if [ -z "$exe" ] || [ ! -x "$exe" ]; then
	echo "1..0 # SKIP backend $kind not available (${exe:-unset})"; exit 77
fi
if [ "$kind" = virtiofsd ] && [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP virtiofsd needs root"; exit 77
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/vdax-cli-XXXXXX")
share=$dir/share
sock=$dir/fs.sock
mkdir "$share"
pid=
n=0
fails=0
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

# virtiofsd serves one connection: start one per command.
# start [VDAXD-OPTION...]: extra options (--cache-size=) for vdaxd only.
start() {
	rm -f "$sock"
	if [ "$kind" = vdaxd ]; then
		# $VDAX_TEST_VDAXD_ARG: one more option, as for the C tests
		"$exe" --socket-path="$sock" "$@" ${VDAX_TEST_VDAXD_ARG:+"$VDAX_TEST_VDAXD_ARG"} \
			-o source="$share" >/dev/null 2>&1 &
	else
		"$exe" --socket-path="$sock" -o source="$share",cache=auto,sandbox=chroot >/dev/null 2>&1 &
	fi
	pid=$!
	i=0
	while [ ! -S "$sock" ] && [ $i -lt 300 ]; do sleep 0.01; i=$((i + 1)); done
}
stop() { [ -n "$pid" ] && { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }; pid=; }
vd() { start; "$VDAX" --socket "$sock" "$@"; rc=$?; stop; return $rc; }
# vdaxd with an 8 MiB DAX window
vdw() { start --cache-size=8M; "$VDAX" --socket "$sock" "$@"; rc=$?; stop; return $rc; }
# stat_of NAME FILE: the value of a "name value" line, or "none"
stat_of() { awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "none" }' "$2"; }

check() { # check DESCRIPTION CONDITION...
	n=$((n + 1)); desc=$1; shift
	if "$@"; then echo "ok $n - $desc"; else echo "not ok $n - $desc"; fails=$((fails + 1)); fi
}

printf 'hello from the host\n' > "$share/h.txt"
head -c 3000000 /dev/urandom > "$dir/big.local"

out=$(vd ls /); check "ls lists h.txt" test "$out" = "h.txt"
out=$(vd ls -l /); check "ls -l shows mode and size" sh -c "echo '$out' | grep -q '^-rw-r--r-- .* 20 h.txt$'"
out=$(vd cat /h.txt); check "cat prints the file" test "$out" = "hello from the host"
vd put "$dir/big.local" /big.remote; rc=$?
check "put exits 0" test $rc -eq 0
check "put data on host" cmp -s "$dir/big.local" "$share/big.remote"
vd get /big.remote "$dir/big.back"; rc=$?
check "get exits 0" test $rc -eq 0
check "get data" cmp -s "$dir/big.local" "$dir/big.back"
vd cp /big.remote /big.copy; rc=$?
check "cp exits 0" test $rc -eq 0
check "cp data" cmp -s "$dir/big.local" "$share/big.copy"
vd mkdir /newdir; rc=$?
check "mkdir" sh -c "[ $rc -eq 0 ] && [ -d '$share/newdir' ]"
out=$(vd stat /h.txt); check "stat shows size" sh -c "echo '$out' | grep -q 'Size: 20'"
vd rm /big.copy; rc=$?
check "rm" sh -c "[ $rc -eq 0 ] && [ ! -e '$share/big.copy' ]"
out=$(vd df); check "df prints a table" sh -c "echo '$out' | grep -q 1K-blocks"

err=$(vd stat /x 2>&1 >/dev/null); rc=$?
check "stat missing: message" test "$err" = "vdax: stat /x: No such file or directory"
check "stat missing: EX_NOINPUT (66)" test $rc -eq 66
vd cat /nope >/dev/null 2>&1; check "cat missing: 66" test $? -eq 66
"$VDAX" --socket "$dir/none.sock" ls >/dev/null 2>&1
check "no backend: EX_UNAVAILABLE (69)" test $? -eq 69
"$VDAX" ls >/dev/null 2>&1; check "no --socket: EX_USAGE (64)" test $? -eq 64
"$VDAX" --socket "$sock" frobnicate >/dev/null 2>&1; check "unknown command: 64" test $? -eq 64
vd -o bogus=1 ls >/dev/null 2>&1; check "bad option: 64" test $? -eq 64
"$VDAX" --help | grep -q '^usage:'; check "--help prints usage" test $? -eq 0
"$VDAX" --help | grep -q -- '--stats'; check "--help mentions --stats" test $? -eq 0
vd -o cache_size=3M ls >/dev/null 2>&1; check "cache_size not a multiple of 2M: 64" test $? -eq 64
out=$(vd -o entries=16 ls / 2>&1); rc=$?
check "-o entries=16 is accepted (rc $rc)" sh -c "[ $rc -eq 0 ] && echo '$out' | grep -q '^h.txt$'"
"$VDAX" --socket "$sock" --stats mount "$dir/mnt" >/dev/null 2>&1
check "--stats with mount: 64" test $? -eq 64

# ---- --stats: the DAX counters on stderr, the data alone on stdout ----
vd --stats cat /h.txt >"$dir/out" 2>"$dir/err"; rc=$?
check "--stats cat (no DAX) exits 0" test $rc -eq 0
check "--stats cat (no DAX): stdout is the file alone" sh -c "printf 'hello from the host\n' | cmp -s - '$dir/out'"
check "--stats (no DAX): window_size 0 on stderr ($(stat_of window_size "$dir/err"))" \
	test "$(stat_of window_size "$dir/err")" = 0
check "--stats (no DAX): no misses ($(stat_of misses "$dir/err"))" test "$(stat_of misses "$dir/err")" = 0
if [ "$kind" = vdaxd ]; then
	vdw -o dax=always,cache_size=8M --stats cat /big.remote >"$dir/out" 2>"$dir/err"; rc=$?
	check "dax=always --stats cat exits 0 (rc $rc)" test $rc -eq 0
	check "dax=always cat: content right, stdout has no counters" cmp -s "$dir/big.local" "$dir/out"
	sed 's/^/# /' "$dir/err"
	check "dax=always --stats: window_size 8388608 ($(stat_of window_size "$dir/err"))" \
		test "$(stat_of window_size "$dir/err")" = 8388608
	check "dax=always --stats: ranges_total 4 ($(stat_of ranges_total "$dir/err"))" \
		test "$(stat_of ranges_total "$dir/err")" = 4
	# 3 000 000 bytes span two 2 MiB ranges
	check "dax=always --stats: misses >= 2 ($(stat_of misses "$dir/err"))" \
		test "$(stat_of misses "$dir/err")" -ge 2 2>/dev/null
	check "dax=always --stats: setup_mappings >= 2 ($(stat_of setup_mappings "$dir/err"))" \
		test "$(stat_of setup_mappings "$dir/err")" -ge 2 2>/dev/null
	check "dax=always --stats: every counter line is 'name number'" \
		sh -c "[ \$(wc -l <'$dir/err') -ge 14 ] && ! grep -Evq '^[a-z_]+ [0-9]+\$' '$dir/err'"

	# more than the window: ranges must be taken back to get through
	head -c 13000000 /dev/urandom >"$share/huge"
	vdw -o dax=always,cache_size=8M --stats cat /huge >"$dir/out" 2>"$dir/err"; rc=$?
	check "dax=always cat of 13 MB through 8 MiB: rc 0, content right" \
		sh -c "[ $rc -eq 0 ] && cmp -s '$share/huge' '$dir/out'"
	# taken back by the worker or the reader; a stream through a file
	# larger than the window re-maps them in place (docs/dax.md), so
	# FUSE_REMOVEMAPPING is not what to count
	check "... ranges taken back (bg $(stat_of bg_reclaims "$dir/err"), direct $(stat_of direct_reclaims "$dir/err")) to make room" \
		test $(($(stat_of bg_reclaims "$dir/err") + $(stat_of direct_reclaims "$dir/err"))) -gt 0 2>/dev/null
	check "... misses >= 7 ($(stat_of misses "$dir/err"))" \
		test "$(stat_of misses "$dir/err")" -ge 7 2>/dev/null
	rm -f "$share/huge"

	vdw -o dax=always,cache_size=8M put "$dir/big.local" /big.dax; rc=$?
	check "dax=always put: data on host" sh -c "[ $rc -eq 0 ] && cmp -s '$dir/big.local' '$share/big.dax'"

	# vdaxd without --cache-size has no window either
	err=$(vd -o dax=always cat /h.txt 2>&1 >/dev/null); rc=$?
	check "dax=always on vdaxd without --cache-size: EX_UNAVAILABLE (69, got $rc)" test $rc -eq 69
	check "... says there is no DAX window" sh -c "echo '$err' | grep -q 'no DAX window'"
else
	vd -o dax=always,cache_size=8M --stats cat /h.txt >"$dir/out" 2>"$dir/err"; rc=$?
	sed 's/^/# /' "$dir/err"
	check "dax=always on $kind: EX_UNAVAILABLE (69, got $rc)" test $rc -eq 69
	check "... says the backend has no DAX window" grep -q 'vdax: connect .*no DAX window' "$dir/err"
	check "... and prints nothing on stdout" test ! -s "$dir/out"
fi

echo "1..$n"
[ $fails -eq 0 ]
