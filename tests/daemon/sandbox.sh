#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# vdaxd's default sandbox, seen from outside: the child's root is the
# shared directory, its capabilities are the kept set, seccomp kills a
# forbidden syscall. Needs root and namespaces.
#   sandbox.sh VDAXD VDAXD_TESTHOOKS UCONNECT
. "$(dirname "$0")/tap.sh"

vdaxd=$1
hooks=$2
uconnect=$3
SIGSYS=31

[ "$(id -u)" = 0 ] || skip_all "needs root (mount namespaces, pivot_root)"

tmp=$(mktemp -d) || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
share="$tmp/share"
mkdir -p "$share/dir" && : >"$share/file1" && : >"$share/.hidden"

# LeakSanitizer reads /proc/self/task, which pivot_root took away; leak
# checks run in the --sandbox=none tests instead.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS
# a SIGSYS death would otherwise leave core files around
ulimit -c 0

"$vdaxd" --shared-dir="$share" --socket-path="$tmp/s.sock" --log-level=info \
	2>"$tmp/log" &
pid=$!
if ! wait_for "$tmp/log" "ready, waiting"; then
	if grep -q "unshare" "$tmp/log"; then
		skip_all "no namespaces here: $(grep unshare "$tmp/log" | head -1)"
	fi
	ok 1 "the daemon starts with the default sandbox"
	sed 's/^/# /' "$tmp/log"
	done_testing
	exit 1
fi
ok 0 "the daemon starts with the default sandbox (namespace + seccomp kill)"

child=$(cat /proc/$pid/task/$pid/children 2>/dev/null | cut -d' ' -f1)
test -n "$child" && test -d "/proc/$child"
ok $? "the supervisor has a sandboxed child ($child)"

# the child's root is the shared directory and nothing else
want=$(ls -A "$share" | sort | tr '\n' ' ')
got=$(ls -A "/proc/$child/root/" 2>&1 | sort | tr '\n' ' ')
is "$got" "$want" "the child's / lists exactly the shared directory"
test ! -e "/proc/$child/root/etc/passwd" || test -e "$share/etc/passwd"
ok $? "the host's /etc is out of reach"
is "$(readlink /proc/$child/cwd)" "/" "the child's cwd is its new root"
test "$(readlink /proc/$child/ns/mnt)" != "$(readlink /proc/self/ns/mnt)"
ok $? "the child has its own mount namespace"
test "$(readlink /proc/$child/ns/net)" != "$(readlink /proc/self/ns/net)"
ok $? "the child has its own network namespace"
test "$(readlink /proc/$child/ns/pid)" != "$(readlink /proc/self/ns/pid)"
ok $? "the child has its own pid namespace"

# capabilities: the kept set (CHOWN DAC_OVERRIDE FOWNER FSETID SETGID SETUID
# MKNOD SETFCAP), intersected with what we had to begin with
kept=$(( (1 << 0) | (1 << 1) | (1 << 3) | (1 << 4) | (1 << 6) | (1 << 7) | (1 << 27) | (1 << 31) ))
mine=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
theirs=$(awk '/^CapEff:/ { print $2 }' /proc/$child/status)
is "$(printf '%x' $((0x$theirs)))" "$(printf '%x' $((0x$mine & kept)))" \
	"CapEff of the child is the kept set"
theirs=$(awk '/^CapPrm:/ { print $2 }' /proc/$child/status)
is "$(printf '%x' $((0x$theirs)))" "$(printf '%x' $((0x$mine & kept)))" \
	"CapPrm of the child is the kept set"
is "$(awk '/^Seccomp:/ { print $2 }' /proc/$child/status)" 2 \
	"the child runs under a seccomp filter"
is "$(awk '/^NoNewPrivs:/ { print $2 }' /proc/$child/status)" 1 \
	"the child has no_new_privs"

# serving under seccomp: a frontend comes and goes, the next one is served
"$uconnect" "$tmp/s.sock" 50; ok $? "a frontend connects"
"$uconnect" "$tmp/s.sock" 50; ok $? "a second frontend connects"
sleep 0.3
is "$(grep -c 'frontend connected' "$tmp/log")" 2 "both were accepted"
kill -0 "$child" 2>/dev/null; ok $? "the sandboxed child is still alive"

kill -TERM "$pid"
wait_exit "$pid"
is "$rc" 0 "SIGTERM to the supervisor: exit status 0"
test ! -d "/proc/$child" || [ "$(cut -d' ' -f3 /proc/$child/stat)" = Z ]
ok $? "the child is gone too"
pid=

# chroot mode
"$vdaxd" --shared-dir="$share" --socket-path="$tmp/c.sock" --sandbox=chroot \
	2>"$tmp/clog" &
pid=$!
wait_for "$tmp/clog" "ready, waiting"; ok $? "starts with --sandbox=chroot"
got=$(ls -A "/proc/$pid/root/" 2>&1 | sort | tr '\n' ' ')
is "$got" "$want" "chroot: / lists exactly the shared directory"
kill -TERM "$pid"
wait_exit "$pid"
is "$rc" 0 "chroot: SIGTERM exits 0"
pid=

# seccomp: a forbidden syscall (socket(AF_INET)) after the sandbox is up
forbidden() { # forbidden SANDBOX SECCOMP
	"$hooks" --test-forbidden-syscall --shared-dir="$share" \
		--socket-path="$tmp/h.sock" --sandbox="$1" --seccomp="$2" \
		--log-level=warn 2>>"$tmp/hlog"
	echo $?
}
is "$(forbidden namespace kill)" $((128 + SIGSYS)) \
	"namespace + seccomp=kill: killed by SIGSYS"
is "$(forbidden none kill)" $((128 + SIGSYS)) \
	"sandbox=none + seccomp=kill: killed by SIGSYS"
is "$(forbidden none trap)" $((128 + SIGSYS)) \
	"sandbox=none + seccomp=trap: dies of SIGSYS"
grep -q "forbidden syscall [0-9][0-9]* (trap)" "$tmp/hlog"
ok $? "seccomp=trap: the SIGSYS handler names the syscall"
is "$(forbidden namespace trap)" $((128 + SIGSYS)) \
	"namespace + seccomp=trap: dies of SIGSYS"
is "$(forbidden namespace log)" 0 "seccomp=log: the syscall is only logged"
is "$(forbidden namespace none)" 0 "seccomp=none: the syscall is allowed"

done_testing
