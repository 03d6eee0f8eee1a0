#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# vdaxd command line: help, version, capabilities, usage errors, and a
# start without sandbox that listens and stops on SIGTERM.
#   cli.sh VDAXD UCONNECT VERSION
. "$(dirname "$0")/tap.sh"

vdaxd=$1
uconnect=$2
version=$3
EX_USAGE=64
EX_NOINPUT=66

tmp=$(mktemp -d) || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/share"

out=$("$vdaxd" --help 2>&1); rc=$?
is "$rc" 0 "--help exits 0"
echo "$out" | grep -q -- "--shared-dir"; ok $? "--help lists --shared-dir"
echo "$out" | grep -q -- "--cache-size"; ok $? "--help lists --cache-size"

out=$("$vdaxd" --version 2>&1); rc=$?
is "$rc" 0 "--version exits 0"
is "$out" "vdaxd $version" "--version prints the project version"

# usage errors: exit status and a message naming the option
usage_error() { # usage_error NAME_IN_MESSAGE ARGS...
	_name=$1; shift
	_out=$("$vdaxd" "$@" 2>&1); _rc=$?
	is "$_rc" $EX_USAGE "usage error ($_name): exits EX_USAGE"
	echo "$_out" | grep -q -- "$_name"
	ok $? "usage error ($_name): the message names it"
}
common="--shared-dir=$tmp/share --socket-path=$tmp/s.sock"
usage_error --bogus --bogus $common
usage_error --cache --cache=sometimes $common
usage_error --cache-size --cache-size=3M $common
usage_error --cache-size --cache-size=12Q $common
usage_error --num-request-queues --num-request-queues=0 $common
usage_error --thread-pool-size --thread-pool-size=-1 $common
usage_error --sandbox --sandbox=jail $common
usage_error --seccomp --seccomp=maybe $common
usage_error --log-level --log-level=loud $common
usage_error nosuchopt -o nosuchopt $common
usage_error --shared-dir --socket-path="$tmp/s.sock"
usage_error --socket-path --shared-dir="$tmp/share"
usage_error --fd --fd=3 $common
usage_error extra $common extra

out=$("$vdaxd" --shared-dir="$tmp/nonexistent" --socket-path="$tmp/s.sock" 2>&1); rc=$?
is "$rc" $EX_NOINPUT "a missing shared directory exits EX_NOINPUT"
echo "$out" | grep -q "nonexistent"; ok $? "the message names the missing directory"

# the capabilities JSON (vhost-user.rst "Backend program conventions")
"$vdaxd" --print-capabilities >"$tmp/caps.json"; rc=$?
is "$rc" 0 "--print-capabilities exits 0"
if command -v python3 >/dev/null 2>&1; then
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d.get("type") == "fs" and isinstance(d.get("features", []), list) else 1)' \
		"$tmp/caps.json"
	ok $? "--print-capabilities is JSON with type fs (python3)"
elif command -v jq >/dev/null 2>&1; then
	jq -e '.type == "fs" and (.features | type == "array")' "$tmp/caps.json" >/dev/null
	ok $? "--print-capabilities is JSON with type fs (jq)"
else
	grep -q '"type": *"fs"' "$tmp/caps.json"
	ok $? "--print-capabilities names type fs (no JSON parser here)"
fi

# an -o spelling that is accepted; a stale socket is replaced
: >"$tmp/log"
sock="$tmp/s.sock"
"$vdaxd" -o "source=$tmp/share,cache=none,no_xattr,flock,log_level=info" \
	--socket-path="$sock" --sandbox=none --seccomp=none \
	2>"$tmp/log" &
pid=$!
wait_for "$tmp/log" "ready, waiting"; ok $? "starts with -o source=... and --sandbox=none"
test -S "$sock"; ok $? "the socket exists"
"$uconnect" "$sock" 50; ok $? "a frontend can connect"
"$uconnect" "$sock" 50; ok $? "and another one after it"
wait_for "$tmp/log" "frontend disconnected"; ok $? "the disconnect was noticed"
kill -0 "$pid"; ok $? "the daemon survives its frontend leaving"
kill -TERM "$pid"
wait_exit "$pid"
is "$rc" 0 "SIGTERM: exit status 0"
pid=

# the socket left behind is stale now: a new daemon must replace it
test -S "$sock"; ok $? "a stale socket is left behind"
"$vdaxd" --shared-dir="$tmp/share" --socket-path="$sock" \
	--sandbox=none --seccomp=none 2>"$tmp/log2" &
pid=$!
wait_for "$tmp/log2" "ready, waiting"; ok $? "restarts over the stale socket"
kill -INT "$pid"
wait_exit "$pid"
is "$rc" 0 "SIGINT: exit status 0"
pid=

# The path appears only once the daemon listens (it is bound under a
# temporary name and renamed): a frontend that connects the moment it sees
# the path is never refused. 20 starts, connecting as soon as test -S holds.
refused=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	rm -f "$sock"
	"$vdaxd" --shared-dir="$tmp/share" --socket-path="$sock" \
		--sandbox=none --seccomp=none 2>/dev/null &
	pid=$!
	j=0
	while [ ! -S "$sock" ] && [ $j -lt 100000 ]; do j=$((j + 1)); done
	"$uconnect" "$sock" 2>/dev/null || refused=$((refused + 1))
	kill -TERM "$pid" 2>/dev/null
	wait_exit "$pid"
	pid=
done
is "$refused" 0 "a frontend connecting as soon as the socket appears is never refused (20 starts)"
ls "$tmp" | grep -q '\.tmp$'
test $? -ne 0; ok $? "no temporary socket name is left behind"

# never remove something that is not a socket
: >"$tmp/notasock"
"$vdaxd" --shared-dir="$tmp/share" --socket-path="$tmp/notasock" \
	--sandbox=none --seccomp=none 2>/dev/null
rc=$?
test "$rc" -ne 0 && test -f "$tmp/notasock"
ok $? "refuses to replace a regular file at --socket-path"

done_testing
