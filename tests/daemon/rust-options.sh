#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Every option in the Rust virtiofsd's own --help (and its -o forms) is
# either accepted by vdaxd or refused with a reason that vdaxd(1) lists:
# never "unrecognized option", never silently ignored.
#   rust-options.sh VDAXD RUST_VIRTIOFSD MANPAGE
. "$(dirname "$0")/tap.sh"

vdaxd=$1
rust=$2
man=$3
EX_USAGE=64

[ -x "$rust" ] || skip_all "the Rust virtiofsd is not available"
help=$("$rust" --help 2>&1) || skip_all "the Rust virtiofsd does not run"
opts=$(printf '%s\n' "$help" | sed -n 's/^ *\(-[a-zA-Z], \)\{0,1\}\(--[a-z][a-z0-9-]*\).*/\2/p' | sort -u)
[ -n "$opts" ] || skip_all "no options found in the Rust virtiofsd's --help"
diag "the Rust virtiofsd's options: $(echo $opts)"

# A value each option accepts, from the Rust daemon's --help.
value() {
	case $1 in
	--shared-dir) echo /tmp ;;
	--tag) echo myfs ;;
	--socket | --socket-path) echo /tmp/rust-options.sock ;;
	--socket-group) echo root ;;
	--fd) echo 3 ;;
	--thread-pool-size) echo 0 ;;
	--xattrmap) echo :ok:all::: ;;
	--sandbox) echo none ;;
	--seccomp) echo trap ;;
	--inode-file-handles) echo prefer ;;
	--cache) echo metadata ;;
	--modcaps) echo +chown ;;
	--log-level) echo trace ;;
	--rlimit-nofile) echo 0 ;;
	--uid-map | --gid-map) echo :0:1000:1: ;;
	--translate-uid | --translate-gid) echo map:0:0:1 ;;
	--migration-mode) echo find-paths ;;
	--migration-on-error) echo abort ;;
	*) return 1 ;;
	esac
}
takes_value() { # the Rust help shows "--name <VALUE>" or "--name=<VALUE>"
	printf '%s\n' "$help" | grep -Eq -- "^ *(-[a-zA-Z], )?$1[ =]<"
}

for o in $opts; do
	case $o in --help | --version | --print-capabilities) continue ;; esac
	if takes_value "$o"; then
		v=$(value "$o") || { ok 1 "$o: the test knows a value for it"; continue; }
		arg="$o=$v"
	else
		arg=$o
	fi
	# --print-capabilities: parse everything, start nothing
	out=$("$vdaxd" "$arg" --print-capabilities 2>&1); rc=$?
	if [ "$rc" -eq 0 ]; then
		ok 0 "$arg: accepted"
		continue
	fi
	reason=$(printf '%s\n' "$out" | grep -m1 "is not supported\|not supported:")
	if [ "$rc" -eq $EX_USAGE ] && [ -n "$reason" ]; then
		# the refusal has a reason, and the man page lists the option
		grep -q -- "$(printf '%s' "$o" | sed 's/-/\\\\-/g')" "$man"
		ok $? "$arg: refused with a reason vdaxd(1) lists ($reason)"
	else
		ok 1 "$arg: accepted or refused with a reason (status $rc: $out)"
	fi
done

# --print-capabilities lists only what is real: separate-options (the
# options above), and not migrate-precopy (the Rust daemon's, but vdaxd has
# no migration); the installed vhost-user JSON (built next to vdaxd) says
# the same type and names vdaxd.
caps=$("$vdaxd" --print-capabilities)
json=$(dirname "$vdaxd")/../../share/50-vdaxd.json
if command -v python3 >/dev/null 2>&1; then
	printf '%s' "$caps" | python3 -c 'import json,sys
d = json.load(sys.stdin)
sys.exit(0 if d["type"] == "fs" and d["features"] == ["separate-options"] else 1)'
	ok $? "--print-capabilities: type fs, features exactly [separate-options]"
	if [ -f "$json" ]; then
		python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["type"] == "fs" and d["binary"].endswith("/vdaxd") else 1)' "$json"
		ok $? "50-vdaxd.json: type fs, binary .../vdaxd, as --print-capabilities"
	fi
fi
printf '%s\n' "$help" | grep -q -- "--migration-mode" &&
	! printf '%s' "$caps" | grep -q migrate-precopy
ok $? "no migrate-precopy: migration is one of the refused options"

# Every --inode-file-handles value of the Rust daemon's --help, and its
# deprecated "fallback" (= prefer); an unknown one is a usage error.
for v in never prefer mandatory fallback; do
	"$vdaxd" --inode-file-handles=$v --print-capabilities >/dev/null 2>&1
	ok $? "--inode-file-handles=$v: accepted"
done
"$vdaxd" --inode-file-handles=sometimes --print-capabilities >/dev/null 2>&1
[ $? -eq $EX_USAGE ]
ok $? "--inode-file-handles=sometimes: a usage error"

# The -o forms of the Rust daemon's compat list.
for o in xattr no_xattr readdirplus no_readdirplus writeback no_writeback \
	allow_direct_io no_allow_direct_io announce_submounts killpriv_v2 \
	no_killpriv_v2 no_posix_lock no_flock no_posix_acl no_security_label \
	posix_acl security_label \
	cache=metadata loglevel=debug \
	sandbox=chroot source=/tmp modcaps=+chown xattrmap=:ok:all::: \
	inode_file_handles=prefer inode_file_handles=mandatory; do
	"$vdaxd" -o "$o" --print-capabilities >/dev/null 2>&1
	ok $? "-o $o: accepted"
done

done_testing
