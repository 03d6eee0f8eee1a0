#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The vdax command against a backend: output, errors and exit codes (TAP).
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
start() {
	rm -f "$sock"
	if [ "$kind" = vdaxd ]; then
		"$exe" --socket-path="$sock" -o source="$share" >/dev/null 2>&1 &
	else
		"$exe" --socket-path="$sock" -o source="$share",cache=auto,sandbox=chroot >/dev/null 2>&1 &
	fi
	pid=$!
	i=0
	while [ ! -S "$sock" ] && [ $i -lt 300 ]; do sleep 0.01; i=$((i + 1)); done
}
stop() { [ -n "$pid" ] && { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }; pid=; }
vd() { start; "$VDAX" --socket "$sock" "$@"; rc=$?; stop; return $rc; }

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

echo "1..$n"
[ $fails -eq 0 ]
