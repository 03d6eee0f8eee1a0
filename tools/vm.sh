#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Boot a small Linux guest under QEMU attached to an already running
# vhost-user-fs backend (vdaxd, or QEMU's virtiofsd), mount its tag at /mnt,
# run a shell command there and power off.
#
#   tools/vm.sh --socket PATH [--tag TAG] [--cmd 'shell command'] [--timeout S]
#               [--add BINARY]... [--mount-opts OPTS] [--verbose] [--log FILE]
#
#   --socket PATH   vhost-user socket of the backend (must be listening)
#   --tag TAG       virtio-fs tag (default: vdax)
#   --cmd CMD       run CMD with sh in /mnt; without it an interactive shell
#                   on the console if stdin is a terminal (Ctrl-A x quits
#                   QEMU), else the script read from stdin
#   --timeout S     hard limit in seconds; QEMU is killed after it
#                   (default 300 with a command, none for a shell; 0 = none)
#   --add BINARY    put BINARY in the guest's PATH (/vdax/bin); repeatable
#   --mount-opts O  extra options for mount -t virtiofs
#   --dax[=SIZE]    give the device a DAX window: QEMU with the project's
#                   patches (scripts/qemu-dax.sh builds it once, ~5 min),
#                   cache-size=SIZE (a power of two >= 2M, e.g. 64M), or
#                   without SIZE the backend's own window size; mounts
#                   with -o dax=always unless --mount-opts names a dax mode
#   --allow-reboot  a reboot in the guest resets the machine (devices
#                   included) and boots it again, instead of ending QEMU;
#                   /init then runs the command again
#   --verbose       show the whole console (kernel, init), not only the
#                   command's output
#   --log FILE      keep the whole console output in FILE
#
# Environment: VDAX_CACHE (kernel cache, see scripts/guest-kernel.sh),
# VDAX_QEMU (default qemu-system-x86_64), VDAX_VM_ACCEL (default tcg),
# VDAX_VM_MEM (MiB, default 512), VDAX_VM_SMP (default 1),
# VDAX_VM_QUEUE_SIZE (default 1024).
#
# Exit status: the command's; 124 if the hard timeout hit; 125 if the guest
# did not boot, did not mount, or did not report the command's status.
set -u

repo=$(cd "$(dirname "$0")/.." && pwd)
sock=""
tag=vdax
cmd=""
have_cmd=0
timeout=""
adds=""
mopts=""
verbose=0
logkeep=""
dax=""
noreboot=-no-reboot

usage() {
	sed -n '3,/^set -u/{/^#/s/^# \{0,1\}//p}' "$0" >&2
	exit 2
}
die() {
	echo "vm.sh: $*" >&2
	exit 125
}

while [ $# -gt 0 ]; do
	case $1 in
	--socket) [ $# -ge 2 ] || usage; sock=$2; shift 2 ;;
	--socket=*) sock=${1#*=}; shift ;;
	--tag) [ $# -ge 2 ] || usage; tag=$2; shift 2 ;;
	--tag=*) tag=${1#*=}; shift ;;
	--cmd) [ $# -ge 2 ] || usage; cmd=$2; have_cmd=1; shift 2 ;;
	--cmd=*) cmd=${1#*=}; have_cmd=1; shift ;;
	--timeout) [ $# -ge 2 ] || usage; timeout=$2; shift 2 ;;
	--timeout=*) timeout=${1#*=}; shift ;;
	--add) [ $# -ge 2 ] || usage; adds="$adds
$2"; shift 2 ;;
	--add=*) adds="$adds
${1#*=}"; shift ;;
	--mount-opts) [ $# -ge 2 ] || usage; mopts=$2; shift 2 ;;
	--mount-opts=*) mopts=${1#*=}; shift ;;
	--allow-reboot) noreboot=""; shift ;;
	--dax) dax=auto; shift ;;
	--dax=*) dax=${1#*=}; shift ;;
	--verbose|-v) verbose=1; shift ;;
	--log) [ $# -ge 2 ] || usage; logkeep=$2; shift 2 ;;
	--log=*) logkeep=${1#*=}; shift ;;
	-h|--help) usage ;;
	*) echo "vm.sh: unknown argument: $1" >&2; usage ;;
	esac
done

[ -n "$sock" ] || { echo "vm.sh: --socket is required" >&2; usage; }
case $tag in *[!A-Za-z0-9._-]*|"") die "bad tag '$tag' (letters, digits, . _ - only)" ;; esac
case $mopts in *[!A-Za-z0-9.,=_-]*) die "bad mount options '$mopts'" ;; esac
[ -S "$sock" ] || die "no vhost-user socket at $sock (is the backend running?)"

interactive=0
if [ $have_cmd -eq 0 ]; then
	if [ -t 0 ]; then
		interactive=1
	else
		cmd=$(cat) || die "cannot read the command from stdin"
		have_cmd=1
	fi
fi
if [ -z "$timeout" ]; then
	if [ $interactive -eq 1 ]; then timeout=0; else timeout=300; fi
fi
case $timeout in *[!0-9]*|"") die "bad --timeout '$timeout'" ;; esac

devopts=""
qemu_extra=""
if [ -n "$dax" ]; then
	case $dax in
	auto) devopts=",dax=on" ;;
	*[!0-9KMGkmg]*|"") die "bad --dax size '$dax' (e.g. 64M)" ;;
	*) devopts=",cache-size=$dax" ;;
	esac
	case ,$mopts, in
	*,dax,*|*,dax=*) ;;
	*) mopts=${mopts:+$mopts,}dax=always ;;
	esac
	if [ -z "${VDAX_QEMU:-}" ]; then
		VDAX_QEMU=$("$repo/scripts/qemu-dax.sh") || die "no DAX-capable QEMU (see above)"
	fi
	# The patched binary is not installed: use Debian's firmware.
	qemu_extra="-L /usr/share/qemu -L /usr/share/seabios"
fi
qemu=${VDAX_QEMU:-qemu-system-x86_64}
command -v "$qemu" >/dev/null || die "$qemu not found (apt-get install qemu-system-x86)"
mem=${VDAX_VM_MEM:-512}
smp=${VDAX_VM_SMP:-1}
accel=${VDAX_VM_ACCEL:-tcg}
qsize=${VDAX_VM_QUEUE_SIZE:-1024}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vdax-vm.XXXXXX") || die "mktemp failed"
log=$tmp/console.log
qpid=""
bgpid=""
cleanup() {
	if [ -f "$tmp/qemu.pid" ]; then
		qpid=$(cat "$tmp/qemu.pid" 2>/dev/null)
		[ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null && kill -KILL "$qpid" 2>/dev/null
	fi
	# The console filter ends once QEMU is gone.
	[ -n "$bgpid" ] && wait "$bgpid" 2>/dev/null
	if [ -n "$logkeep" ] && [ -f "$log" ]; then
		cp "$log" "$logkeep" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

kout=$("$repo/scripts/guest-kernel.sh") || die "no guest kernel (see the message above)"
vmlinuz=$(printf '%s\n' "$kout" | sed -n 1p)
mods=$(printf '%s\n' "$kout" | sed -n 2p)

set --
if [ $have_cmd -eq 1 ]; then
	printf '%s\n' "$cmd" >"$tmp/cmd"
	set -- --cmd-file "$tmp/cmd"
fi
old_ifs=$IFS
IFS='
'
for b in $adds; do
	[ -n "$b" ] && set -- "$@" "$b"
done
IFS=$old_ifs
"$repo/scripts/mkinitramfs.sh" -o "$tmp/initrd.gz" --modules "$mods" "$@" ||
	die "cannot build the initramfs"

append="console=ttyS0 quiet panic=-1 no_timer_check vdax.tag=$tag"
[ -n "$mopts" ] && append="$append vdax.mopts=$mopts"

set -- -accel "$accel" -cpu max -smp "$smp" -m "${mem}M" \
	-object "memory-backend-memfd,id=mem,size=${mem}M,share=on" -numa node,memdev=mem \
	-chardev "socket,id=vfs,path=$sock" \
	-device "vhost-user-fs-pci,chardev=vfs,tag=$tag,queue-size=$qsize$devopts" \
	$qemu_extra -kernel "$vmlinuz" -initrd "$tmp/initrd.gz" -append "$append" \
	-nodefaults -no-user-config -display none $noreboot \
	-pidfile "$tmp/qemu.pid"

if [ $interactive -eq 1 ]; then
	set -- "$@" -chardev "stdio,id=con,mux=on,signal=off,logfile=$log" \
		-serial chardev:con -mon chardev=con,mode=readline
	echo "vm.sh: booting; Ctrl-A x quits QEMU, 'exit' powers the guest off" >&2
	if [ "$timeout" -gt 0 ]; then
		timeout --foreground -k 5 "$timeout" "$qemu" "$@"
	else
		"$qemu" "$@"
	fi
	qrc=$?
else
	# QEMU's console goes through a filter that shows only the command's
	# output (everything with --verbose) and keeps all of it in $log.
	# In the background, so that a signal to us is handled at once (the
	# trap kills QEMU) rather than after the pipeline ends.
	{
		if [ "$timeout" -gt 0 ]; then
			timeout -k 5 "$timeout" "$qemu" "$@" -serial stdio </dev/null 2>"$tmp/qemu.err"
		else
			"$qemu" "$@" -serial stdio </dev/null 2>"$tmp/qemu.err"
		fi
		echo $? >"$tmp/qrc"
	} | awk -v logf="$log" -v verbose=$verbose '
		{
			sub(/\r+$/, "")
			print >logf
			fflush(logf)
			if (verbose) { print; fflush(); next }
			if (state == 0) {
				if ($0 == "VDAX-BEGIN") state = 1
				next
			}
			if (state == 1) {
				i = index($0, "VDAX-EXIT=")
				if (i > 0) {
					if (i > 1) { print substr($0, 1, i - 1); fflush() }
					state = 2
					next
				}
				if ($0 == "VDAX-UMOUNT-FAILED") next
				print
				fflush()
			}
		}' &
	bgpid=$!
	wait "$bgpid"
	bgpid=""
	qrc=$(cat "$tmp/qrc" 2>/dev/null || echo 125)
fi

status=$(sed -n 's/.*VDAX-EXIT=\([0-9][0-9]*\).*/\1/p' "$log" 2>/dev/null | tail -n 1)
show_tail() {
	if [ -s "$tmp/qemu.err" ]; then
		echo "vm.sh: QEMU said:" >&2
		tail -n 20 "$tmp/qemu.err" >&2
	fi
	if [ $verbose -eq 0 ] && [ $interactive -eq 0 ] && [ -s "$log" ]; then
		echo "vm.sh: last console lines:" >&2
		tail -n 30 "$log" >&2 2>/dev/null
	fi
}
if grep -q '^VDAX-INSMOD-FAILED' "$log" 2>/dev/null; then
	echo "vm.sh: warning: a kernel module failed to load:" \
		"$(sed -n 's/^VDAX-INSMOD-FAILED=//p' "$log" | tr '\n' ' ')" >&2
fi
if grep -q '^VDAX-MOUNT-FAILED' "$log" 2>/dev/null; then
	echo "vm.sh: the guest could not mount virtio-fs tag '$tag'" >&2
	show_tail
	exit 125
fi
if grep -q '^VDAX-UMOUNT-FAILED' "$log" 2>/dev/null; then
	echo "vm.sh: warning: umount /mnt failed in the guest" >&2
fi
if [ -n "$status" ]; then
	exit "$status"
fi
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "vm.sh: timed out after ${timeout}s; QEMU killed" >&2
	show_tail
	exit 124
fi
if grep -q 'Failed to connect' "$tmp/qemu.err" 2>/dev/null; then
	echo "vm.sh: nothing is listening on $sock (is the backend running?)" >&2
elif ! grep -q '^VDAX-BOOTED' "$log" 2>/dev/null; then
	echo "vm.sh: the guest did not boot (QEMU exit status $qrc)" >&2
else
	echo "vm.sh: the guest stopped without reporting a status (QEMU exit status $qrc)" >&2
fi
show_tail
exit 125
