#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What DAX buys a real Linux guest: fio in a guest under QEMU (TCG) on
#   dax        vdaxd --cache-size, the patched QEMU (cache-size=), -o dax=always
#   nodax      vdaxd without a window, stock QEMU
#   virtiofsd  QEMU's C virtiofsd, stock QEMU
# in one run, the three interleaved (one boot each per repetition, the order
# rotating). Prints a Markdown section: the fio rows with DAX / no-DAX beside
# the published ratios, the window's mapping counts, and the guest's page
# cache (Cached in /proc/meminfo) before and after reading a 256 MiB file.
#
#   bench/guest-dax/run.sh [BUILD_DIR] [--reps N] [--runtime S] [--out FILE]
#                          [--raw FILE]
#
# fio jobs (4 KiB blocks, one job each, --runtime S, time based), the shapes
# the DAX work was published with: seqread-psync, randread-psync,
# randread-mmap, seqwrite-psync; each on a 1 GiB file (larger than the
# guest's page cache: 512 MiB of RAM), caches dropped first, and on a 64 MiB
# file that fits, read once before. Both daemons run with their default
# cache=auto, under which Linux drops a file's page cache at each open
# (no FOPEN_KEEP_CACHE), so the re-read is mostly served from the host too.
# The window is 2 GiB, so both files fit in it. Host files stay in the host's
# page cache.
# Needs root. Environment: VIRTIOFSD (default /usr/lib/qemu/virtiofsd).
set -u

repo=$(cd "$(dirname "$0")/../.." && pwd)
build=build
reps=3
runtime=5
out=""
raw=""
while [ $# -gt 0 ]; do
	case $1 in
	--reps) reps=$2; shift 2 ;;
	--runtime) runtime=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--raw) raw=$2; shift 2 ;;
	-h|--help) sed -n '3,/^set -u/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
	-*) echo "bench-dax: unknown option $1" >&2; exit 2 ;;
	*) build=$1; shift ;;
	esac
done
for v in "$reps" "$runtime"; do
	case $v in ''|*[!0-9]*|0) echo "bench-dax: counts must be positive integers" >&2; exit 2 ;; esac
done
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
vdaxd=$build/src/daemon/vdaxd
virtiofsd=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
die() {
	echo "bench-dax: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "run as root"
[ -x "$vdaxd" ] || die "$vdaxd not built"
fio=$(command -v fio) || die "fio not installed (scripts/deps.sh installs it)"
qemu_dax=$("$repo/scripts/qemu-dax.sh") || die "no DAX-capable QEMU"
backends="dax nodax"
[ -x "$virtiofsd" ] && backends="$backends virtiofsd"

work=$(mktemp -d "${TMPDIR:-/var/tmp}/vdax-bench-dax.XXXXXX") || die "mktemp failed"
dpid=""
stop_daemon() {
	if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then
		kill -TERM "$dpid" 2>/dev/null
		i=0
		while kill -0 "$dpid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$dpid" 2>/dev/null
		wait "$dpid" 2>/dev/null
	fi
	dpid=""
}
trap 'stop_daemon; rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

shared=$work/shared
mkdir -p "$shared"
echo "bench-dax: making the files (1 GiB, 64 MiB, 256 MiB) in the host page cache" >&2
dd if=/dev/urandom of="$shared/big" bs=1M count=1024 status=none
dd if=/dev/urandom of="$shared/small" bs=1M count=64 status=none
dd if=/dev/urandom of="$shared/mem" bs=1M count=256 status=none
cat "$shared/big" "$shared/small" "$shared/mem" >/dev/null

# The guest's part: one line "F <backend> <job> <file> <read KiB/s> <write KiB/s>"
# per fio job, "M <backend> <before kB> <after kB>" for the page cache.
cat >"$work/guest.sh" <<EOF
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
job() { # name rw engine file
	fio --minimal --name=\$1 --filename=/mnt/\$4 --rw=\$2 --ioengine=\$3 --bs=4k \\
		--runtime=$runtime --time_based --size=\$(stat -c %s /mnt/\$4) 2>/dev/null |
		awk -F';' -v b=\$B -v j=\$1 -v f=\$4 '{ print "F", b, j, f, \$7, \$48 }'
}
for f in big small; do
	if [ \$f = big ]; then drop; else cat /mnt/small > /dev/null; fi
	job seqread-psync read psync \$f
	[ \$f = big ] && drop
	job randread-psync randread psync \$f
	[ \$f = big ] && drop
	job randread-mmap randread mmap \$f
	[ \$f = big ] && drop
	job seqwrite-psync write psync \$f
done
drop
a=\$(awk '/^Cached:/ { print \$2 }' /proc/meminfo)
cat /mnt/mem > /dev/null
b=\$(awk '/^Cached:/ { print \$2 }' /proc/meminfo)
echo "M \$B \$a \$b"
EOF

rawf=$work/raw
: >"$rawf"
nb=$(echo $backends | wc -w)
total=$((reps * nb))
run=0
r=1
while [ $r -le "$reps" ]; do
	# Rotate the order from one repetition to the next.
	set -- $backends
	i=1
	while [ $i -lt "$r" ]; do
		first=$1
		shift
		set -- "$@" "$first"
		i=$((i + 1))
	done
	order="$*"
	for b in $order; do
		run=$((run + 1))
		echo "bench-dax: [$run/$total] repetition $r, $b" >&2
		sock=$work/$b.sock
		rm -f "$sock"
		case $b in
		dax) "$vdaxd" --socket-path="$sock" --shared-dir="$shared" --cache-size=2G \
			>"$work/$b.log" 2>&1 & ;;
		nodax) "$vdaxd" --socket-path="$sock" --shared-dir="$shared" \
			>"$work/$b.log" 2>&1 & ;;
		virtiofsd) "$virtiofsd" --socket-path="$sock" -o source="$shared" -o cache=auto \
			>"$work/$b.log" 2>&1 & ;;
		esac
		dpid=$!
		i=0
		while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		[ -S "$sock" ] || { cat "$work/$b.log" >&2; die "$b did not start"; }
		if [ $b = dax ]; then
			set -- --dax=2G
			q=$qemu_dax
		else
			set --
			q=qemu-system-x86_64
		fi
		VDAX_QEMU=$q "$repo/tools/vm.sh" --socket "$sock" "$@" --add "$fio" --timeout 900 \
			--cmd "B=$b; . /vdax/bin/guest.sh" --add "$work/guest.sh" \
			>"$work/out.$b.$r" 2>"$work/err.$b.$r" ||
			{ cat "$work/err.$b.$r" >&2; echo "bench-dax: the $b guest failed" >&2; }
		stop_daemon
		grep -E '^[FM] ' "$work/out.$b.$r" | sed "s/^/$r /" >>"$rawf"
		if [ $b = dax ]; then
			c=$(sed -n 's/.*dax: frontend gone: \([0-9]*\) mappings set up, \([0-9]*\) removed.*/\1 \2/p' \
				"$work/$b.log" | tail -n 1)
			echo "$r C $b ${c:-0 0}" >>"$rawf"
		fi
	done
	r=$((r + 1))
done
[ -n "$raw" ] && cp "$rawf" "$raw"

python3 - "$rawf" "$reps" "$runtime" >"$work/out.md" <<'PYEOF'
import statistics, sys
raw, reps, runtime = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
bw, mem, maps = {}, {}, []
for line in open(raw):
    f = line.split()
    if f[1] == 'F':
        _, _, b, job, fname, rd, wr = f
        v = float(wr if 'write' in job else rd) / 1024.0  # MiB/s
        bw.setdefault((job, fname), {}).setdefault(b, []).append(v)
    elif f[1] == 'M':
        mem.setdefault(f[2], []).append((int(f[3]), int(f[4])))
    elif f[1] == 'C':
        maps.append((int(f[3]), int(f[4])))
published = {'seqread-psync': '6.7x (SSD) / 18x (ramfs)', 'randread-psync': '7.5x / 16x',
             'randread-mmap': '15x', 'seqwrite-psync': '-'}
med = lambda v: statistics.median(v) if v else float('nan')
print('| fio job (4 KiB) | file | dax MiB/s | no-DAX MiB/s | virtiofsd MiB/s | DAX / no-DAX | published |')
print('|---|---|---:|---:|---:|---:|---|')
for fname, label in (('big', '1 GiB, cold'), ('small', '64 MiB, re-read')):
    for job in ('seqread-psync', 'randread-psync', 'randread-mmap', 'seqwrite-psync'):
        d = bw.get((job, fname), {})
        a, n, v = med(d.get('dax', [])), med(d.get('nodax', [])), med(d.get('virtiofsd', []))
        ratio = a / n if n and n == n and a == a else float('nan')
        print('| %s | %s | %.1f | %.1f | %.1f | **%.2fx** | %s |' % (
            job, label, a, n, v, ratio, published[job] if fname == 'big' else '-'))
print()
print('Medians of %d repetitions, %d s per job. Window mapping counts of the dax '
      'runs (vdaxd\'s own, set up / removed): %s.' % (
          reps, runtime, ', '.join('%d / %d' % m for m in maps) or 'none'))
print()
print('| guest page cache (`Cached`), reading a 256 MiB file | before | after | grew by |')
print('|---|---:|---:|---:|')
for b in ('dax', 'nodax', 'virtiofsd'):
    if b in mem:
        x, y = mem[b][-1]
        print('| %s | %d MiB | %d MiB | %d MiB |' % (b, x // 1024, y // 1024, (y - x) // 1024))
PYEOF
if [ -n "$out" ]; then cp "$work/out.md" "$out"; else cat "$work/out.md"; fi
