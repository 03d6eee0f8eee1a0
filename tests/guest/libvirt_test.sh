#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# vdaxd under a real libvirt: Debian's libvirtd (installed here if missing:
# libvirt-daemon, libvirt-daemon-driver-qemu, libvirt-clients), started by
# this test in a private mount namespace (its /etc/libvirt, /run/libvirt,
# /var/lib/libvirt, ... are directories of the test, so the machine's own
# libvirt setup, if any, is not touched), defines a TCG domain with shared
# memfd memory, the guest kernel and initramfs of tools/vm.sh, and
#   <filesystem type='mount'><driver type='virtiofs'/>
#     <binary path='VDAXD'/>...
# then starts it with virsh and checks from the guest's console that the
# share is mounted and usable both ways, and that vdaxd goes away with the
# domain. TAP; exit 77 (skip) without root, QEMU, the guest kernel or
# libvirt.
#
#   libvirt_test.sh VDAXD
set -u
. "$(dirname "$0")/../daemon/tap.sh"

vdaxd=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || skip_all "needs root (libvirtd, system connection)"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 not installed"
case $vdaxd in /*) ;; *) vdaxd=$(pwd)/$vdaxd ;; esac
[ -x "$vdaxd" ] || skip_all "vdaxd not built"
kout=$("$repo/scripts/guest-kernel.sh" 2>/dev/null) || skip_all "no guest kernel"
vmlinuz=$(printf '%s\n' "$kout" | sed -n 1p)
mods=$(printf '%s\n' "$kout" | sed -n 2p)

if ! command -v libvirtd >/dev/null || ! command -v virsh >/dev/null ||
	[ ! -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients >/dev/null 2>&1 ||
		skip_all "libvirt is not installed and apt-get install failed"
fi
libvirtd=$(command -v libvirtd) || skip_all "no libvirtd"

tmp=$(mktemp -d /tmp/vdax-libvirt.XXXXXX) || exit 1
chmod 755 "$tmp"
V="virsh -q -c qemu:///system?socket=$tmp/run/libvirt-sock"
dom=vdax-libvirt-$$
cleanup() {
	$V destroy "$dom" >/dev/null 2>&1
	$V undefine "$dom" >/dev/null 2>&1
	[ -f "$tmp/run/libvirtd.pid" ] && kill "$(cat "$tmp/run/libvirtd.pid")" 2>/dev/null
	sleep 0.5
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$tmp/etc" "$tmp/run" "$tmp/lib" "$tmp/log" "$tmp/cache" "$tmp/share"
cp /etc/libvirt/*.conf "$tmp/etc/" 2>/dev/null
# The QEMU driver as root, without the pieces a container lacks (cgroup
# controllers, a /dev namespace, virtlogd, an LSM).
cat >"$tmp/etc/qemu.conf" <<'EOF'
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
EOF
cat >"$tmp/etc/libvirtd.conf" <<'EOF'
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
log_outputs = "3:stderr"
EOF
# libvirtd resolves its default QEMU user even when told to use root:
# give it one in its own namespace only.
cp /etc/passwd "$tmp/passwd"
cp /etc/group "$tmp/group"
grep -q '^libvirt-qemu:' "$tmp/passwd" ||
	echo 'libvirt-qemu:x:64055:64055::/nonexistent:/usr/sbin/nologin' >>"$tmp/passwd"
grep -q '^libvirt-qemu:' "$tmp/group" || echo 'libvirt-qemu:x:64055:' >>"$tmp/group"
grep -q '^kvm:' "$tmp/group" || echo 'kvm:x:64056:' >>"$tmp/group"
cat >"$tmp/start.sh" <<EOF
#!/bin/sh
set -e
mount --make-rprivate /
for p in etc:/etc/libvirt run:/run/libvirt lib:/var/lib/libvirt log:/var/log/libvirt cache:/var/cache/libvirt; do
	mkdir -p "\${p#*:}"
	mount --bind "$tmp/\${p%%:*}" "\${p#*:}"
done
mount --bind "$tmp/passwd" /etc/passwd
mount --bind "$tmp/group" /etc/group
exec "$libvirtd" --pid-file="$tmp/run/libvirtd.pid"
EOF
chmod +x "$tmp/start.sh"
unshare -m "$tmp/start.sh" >"$tmp/libvirtd.log" 2>&1 &
up=1
for _ in $(seq 100); do
	$V version >/dev/null 2>&1 && { up=0; break; }
	sleep 0.2
done
if [ $up -ne 0 ]; then
	diag "$(tail -n 5 "$tmp/libvirtd.log")"
	skip_all "libvirtd did not start in a private mount namespace"
fi
ok 0 "libvirtd started (its own /etc/libvirt, /run/libvirt, ...)"

# The guest: write a file, read the host's, list the share.
echo "written by the host" >"$tmp/share/from-host.txt"
cat >"$tmp/cmd" <<'EOF'
echo "written by the guest under libvirt" > from-guest.txt
echo "R:host:$(cat from-host.txt)"
echo "R:ls:$(ls | tr '\n' ' ')"
sync
EOF
"$repo/scripts/mkinitramfs.sh" -o "$tmp/initrd.gz" --modules "$mods" \
	--cmd-file "$tmp/cmd" || { ok 1 "initramfs built"; done_testing; exit; }

cat >"$tmp/dom.xml" <<EOF
<domain type='qemu'>
  <name>$dom</name>
  <memory unit='MiB'>512</memory>
  <vcpu>1</vcpu>
  <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$vmlinuz</kernel>
    <initrd>$tmp/initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 vdax.tag=vdax</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <filesystem type='mount' accessmode='passthrough'>
      <driver type='virtiofs' queue='1024'/>
      <binary path='$vdaxd' xattr='on'/>
      <source dir='$tmp/share'/>
      <target dir='vdax'/>
    </filesystem>
    <serial type='file'><source path='$tmp/console.log'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
$V define "$tmp/dom.xml" >/dev/null 2>"$tmp/virsh.err"
ok $? "virsh define: a domain with <filesystem><driver type='virtiofs'/><binary path='vdaxd'/>"
$V start "$dom" >/dev/null 2>>"$tmp/virsh.err"
ok $? "virsh start: libvirt starts vdaxd and QEMU"
[ -s "$tmp/virsh.err" ] && diag "$(cat "$tmp/virsh.err")"

for _ in $(seq 300); do
	grep -q '^VDAX-EXIT=' "$tmp/console.log" 2>/dev/null && break
	sleep 0.5
done
con=$(tr -d '\r' <"$tmp/console.log" 2>/dev/null)
cmdline=$(grep -a 'vdaxd' "$tmp/log/qemu/$dom.log" 2>/dev/null | tail -n 1)
diag "libvirt ran: $cmdline"
printf '%s\n' "$con" | grep -q '^VDAX-MOUNTED$'
ok $? "the guest mounted the share (console: VDAX-MOUNTED)"
is "$(printf '%s\n' "$con" | sed -n 's/^VDAX-EXIT=//p')" 0 "the guest's command ran to the end"
is "$(printf '%s\n' "$con" | sed -n 's/^R:host://p')" "written by the host" \
	"the guest reads the host's file"
is "$(cat "$tmp/share/from-guest.txt" 2>/dev/null)" "written by the guest under libvirt" \
	"the host sees the guest's file"
printf '%s\n' "$con" | grep -q '^R:ls:.*from-guest.txt'
ok $? "the guest lists the share"
printf '%s\n' "$cmdline" | grep -q -- "--fd="
ok $? "libvirt passed the listening socket (--fd=N)"
vpid=$(pgrep -f "^$vdaxd --fd=" | head -n 1)
[ -n "$vpid" ]
ok $? "vdaxd runs under libvirt (pid ${vpid:-none})"
$V destroy "$dom" >/dev/null 2>&1
gone=1
for _ in $(seq 50); do
	[ -z "$vpid" ] || ! kill -0 "$vpid" 2>/dev/null && { gone=0; break; }
	sleep 0.2
done
ok $gone "vdaxd is gone with the domain (virsh destroy)"
# The session (unprivileged) connection: libvirt runs the daemon as the
# user, with --uid-map/--gid-map from libvirt 10 on (qemu_virtiofs.c,
# qemuVirtioFSPrepareIdMap); test_vdaxd_opts runs that command line.
# Debian 12's libvirt 9.0 refuses virtiofs there itself: say so.
sess=$tmp/session
mkdir -p "$sess/home" "$sess/xdg"
chown -R 65534:65534 "$sess"
sed "s|<name>$dom</name>|<name>$dom-s</name>|" "$tmp/dom.xml" >"$sess/dom.xml"
chmod 644 "$sess/dom.xml"
as_user() {
	setpriv --reuid=65534 --regid=65534 --clear-groups env LIBVIRT_AUTOSTART=0 HOME="$sess/home" \
		XDG_RUNTIME_DIR="$sess/xdg" XDG_CONFIG_HOME="$sess/home/.config" \
		XDG_CACHE_HOME="$sess/home/.cache" "$@"
}
if command -v setpriv >/dev/null; then
	as_user "$libvirtd" --timeout=30 >"$sess/libvirtd.log" 2>&1 &
	spid=$!
	out=
	for _ in $(seq 50); do
		out=$(as_user virsh -q -c qemu:///session define "$sess/dom.xml" 2>&1) && break
		case $out in *"session mode"*) break ;; esac
		sleep 0.2
	done
	case $out in
	*"not yet supported in session mode"*)
		tap_n=$((tap_n + 1))
		echo "ok $tap_n - session connection # SKIP this libvirt ($(virsh -v)) refuses virtiofs in session mode (libvirt >= 10 passes --uid-map/--gid-map, see test_vdaxd_opts)"
		;;
	*)
		ok 1 "session connection: define a virtiofs domain ($out)"
		;;
	esac
	as_user virsh -q -c qemu:///session undefine "$dom-s" >/dev/null 2>&1
	kill "$spid" 2>/dev/null
	[ -f "$sess/xdg/libvirt/libvirtd.pid" ] &&
		kill "$(cat "$sess/xdg/libvirt/libvirtd.pid")" 2>/dev/null
	wait "$spid" 2>/dev/null
fi
if [ "$tap_failed" -ne 0 ]; then
	diag "console tail:"
	diag "$(tail -n 20 "$tmp/console.log" 2>/dev/null)"
	diag "vdaxd log: $(tail -n 10 "$tmp/log/qemu/$dom-fs0-virtiofsd.log" 2>/dev/null)"
fi
done_testing
