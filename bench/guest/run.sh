#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest benchmark: the same workload in a Linux guest under QEMU (TCG) on
# vdaxd, on QEMU's virtiofsd and on the Rust virtiofsd, in one run, several
# repetitions each, interleaved (one boot per backend per repetition,
# alternating order); prints a Markdown table of the median times and the
# ratios vdaxd/virtiofsd and vdaxd/Rust (< 1: vdaxd faster).
#
#   bench/guest/run.sh [BUILD_DIR] [--reps N] [--files N] [--randreads N]
#                      [--mib N] [--only vdaxd|virtiofsd|rust] [--no-rust]
#                      [--out FILE] [--raw FILE]
#
# Workload, per repetition, in the guest on the mounted backend:
#   create/stat/readdir/unlink N empty files (bench/guest/vdax-bench.c;
#   caches dropped before the stat and before the listing)
#   sequential write of a MiB-sized file with dd (bs=1M, conv=fsync)
#   sequential read of it with dd after dropping the guest's caches
#   N random 4 KiB preads of it after dropping the guest's caches
#   N random 4 KiB copies from a MAP_SHARED mapping of it, caches dropped
# --raw FILE: the repetitions as "guest-BACKEND ROW REP VALUE" lines in
# vdax-bench's rows and units (vdax-bench --guest=FILE merges them).
# Absolute numbers under TCG are slow and noisy; compare the ratio.
# Needs root. Environment: VDAXD_ARGS, VIRTIOFSD_ARGS, RUST_ARGS (extra
# daemon args), VIRTIOFSD (default /usr/lib/qemu/virtiofsd), RUST_VIRTIOFSD
# (default: Debian 13's, fetched once by scripts/rust-virtiofsd.sh; skipped
# with a message if that fails), CC (default cc).
set -u

repo=$(cd "$(dirname "$0")/../.." && pwd)
build=build
reps=5
nfiles=1000
nrand=4000
mib=64
only=""
norust=""
out=""
raw=""
while [ $# -gt 0 ]; do
	case $1 in
	--reps) reps=$2; shift 2 ;;
	--files) nfiles=$2; shift 2 ;;
	--randreads) nrand=$2; shift 2 ;;
	--mib) mib=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--no-rust) norust=1; shift ;;
	--out) out=$2; shift 2 ;;
	--raw) raw=$2; shift 2 ;;
	-h|--help) sed -n '3,/^set -u/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
	-*) echo "bench: unknown option $1" >&2; exit 2 ;;
	*) build=$1; shift ;;
	esac
done
for v in "$reps" "$nfiles" "$nrand" "$mib"; do
	case $v in ''|*[!0-9]*|0) echo "bench: counts must be positive integers" >&2; exit 2 ;; esac
done
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
vdaxd=$build/src/daemon/vdaxd
virtiofsd=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}

die() {
	echo "bench: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "run as root (the daemons serve the directory as root)"

backends=""
if [ -z "$only" ] || [ "$only" = vdaxd ]; then
	if [ -x "$vdaxd" ]; then backends="$backends vdaxd"; else echo "bench: $vdaxd not built; skipping vdaxd" >&2; fi
fi
if [ -z "$only" ] || [ "$only" = virtiofsd ]; then
	if [ -x "$virtiofsd" ]; then backends="$backends virtiofsd"; else echo "bench: $virtiofsd missing; skipping it" >&2; fi
fi
if [ -z "$norust" ] && { [ -z "$only" ] || [ "$only" = rust ]; }; then
	rust=${RUST_VIRTIOFSD:-$("$repo/scripts/rust-virtiofsd.sh" 2>/dev/null | head -n 1)}
	if [ -n "$rust" ] && [ -x "$rust" ]; then backends="$backends rust"; else echo "bench: the Rust virtiofsd is not available (scripts/rust-virtiofsd.sh); skipping it" >&2; fi
fi
[ -n "$backends" ] || die "no backend to measure"

work=$(mktemp -d "${TMPDIR:-/var/tmp}/vdax-bench.XXXXXX") || die "mktemp failed"
dpid=""
stop_daemon() {
	if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then
		kill -TERM "$dpid" 2>/dev/null
		i=0
		while kill -0 "$dpid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$dpid" 2>/dev/null
	fi
	[ -n "$dpid" ] && wait "$dpid" 2>/dev/null
	dpid=""
}
cleanup() {
	stop_daemon
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

${CC:-cc} -O2 -static -std=gnu11 -Wall -Wextra -o "$work/vdax-bench" "$repo/bench/guest/vdax-bench.c" ||
	die "cannot build bench/guest/vdax-bench.c statically (libc6-dev has libc.a)"

# One boot per backend per repetition, the backends alternating (and the
# one that goes first alternating too), so that a load that changes during
# the run falls on both alike; lines "B:<metric>:<rep>:<us>". The guest
# script's first line (which repetition) is written per boot.
cat >"$work/guest.body" <<EOF
nfiles=$nfiles; nrand=$nrand; mib=$mib
EOF
cat >>"$work/guest.body" <<'EOF'
t() { vdax-bench now; }
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
while [ $i -le $last ]; do
	rm -rf bench.d && mkdir bench.d || exit 1
	vdax-bench files bench.d $nfiles | while read -r k v; do echo "B:$k:$i:$v"; done
	drop
	t0=$(t); dd if=/dev/zero of=seq.bin bs=1M count=$mib conv=fsync 2>/dev/null || exit 1; t1=$(t)
	echo "B:seqwrite:$i:$((t1 - t0))"
	drop
	t0=$(t); dd if=seq.bin of=/dev/null bs=1M 2>/dev/null || exit 1; t1=$(t)
	echo "B:seqread:$i:$((t1 - t0))"
	drop
	vdax-bench randread seq.bin $nrand $i | while read -r k v; do echo "B:$k:$i:$v"; done
	drop
	vdax-bench mmapread seq.bin $nrand $i | while read -r k v; do echo "B:$k:$i:$v"; done
	rm -rf bench.d seq.bin
	echo "rep $i done" >&2
	i=$((i + 1))
done
EOF

# run_one BACKEND REP: start the daemon, boot the guest for repetition REP.
run_one() {
	be=$1
	rep=$2
	shared=$work/shared-$be
	sock=$work/$be.sock
	mkdir -p "$shared"
	rm -f "$sock"
	if [ "$be" = vdaxd ]; then
		# shellcheck disable=SC2086
		"$vdaxd" --socket-path="$sock" --shared-dir="$shared" ${VDAXD_ARGS:-} >>"$work/$be.log" 2>&1 &
	elif [ "$be" = rust ]; then
		# shellcheck disable=SC2086
		"$rust" --socket-path="$sock" --shared-dir="$shared" --cache=auto ${RUST_ARGS:-} \
			>>"$work/$be.log" 2>&1 &
	else
		# shellcheck disable=SC2086
		"$virtiofsd" --socket-path="$sock" -o source="$shared" -o cache=auto ${VIRTIOFSD_ARGS:-} \
			>>"$work/$be.log" 2>&1 &
	fi
	dpid=$!
	i=0
	while [ ! -S "$sock" ]; do
		if ! kill -0 "$dpid" 2>/dev/null || [ $i -ge 100 ]; then
			cat "$work/$be.log" >&2
			die "$be did not start"
		fi
		sleep 0.1
		i=$((i + 1))
	done
	echo "bench: $be: repetition $rep of $reps ($nfiles files, $mib MiB, $nrand random reads)" >&2
	{
		echo "i=$rep; last=$rep"
		cat "$work/guest.body"
	} >"$work/guest.sh"
	# A repetition takes 10-30 s. A guest that stops (seen three times in
	# one session, after its workload, in umount: bench/notes.md, "Guest
	# runs that stop at unmount") costs one repetition of its column,
	# counted under the table, instead of the whole bench.
	"$repo/tools/vm.sh" --socket "$sock" --timeout 180 --add "$work/vdax-bench" \
		--cmd "$(cat "$work/guest.sh")" >"$work/$be.out"
	rc=$?
	stop_daemon
	if [ $rc -eq 124 ]; then
		echo "bench: the guest on $be hung (repetition $rep); not counted" >&2
		echo "$be" >>"$work/hangs"
		return 0
	fi
	if [ $rc -ne 0 ]; then
		cat "$work/$be.out" >&2
		tail -20 "$work/$be.log" >&2
		die "the guest run on $be (repetition $rep) failed (status $rc)"
	fi
	sed -n "s/^B:/$be:/p" "$work/$be.out" >>"$work/results"
}

: >"$work/results"
: >"$work/hangs"
r=1
while [ "$r" -le "$reps" ]; do
	# odd repetitions in the listed order, even ones in the reverse order
	order=$backends
	if [ $((r % 2)) -eq 0 ]; then
		order=""
		for be in $backends; do order="$be $order"; done
	fi
	for be in $order; do
		run_one "$be" "$r"
	done
	r=$((r + 1))
done

table=$(awk -F: -v order="create stat readdir unlink seqwrite seqread randread mmapread" \
	-v nfiles="$nfiles" -v mib="$mib" -v nrand="$nrand" -v reps="$reps" '
	{ v[$1, $2, ++n[$1, $2]] = $4; seen[$1] = 1 }
	function median(be, m,    k, i, j, t, a) {
		k = n[be, m]
		if (!k) return -1
		for (i = 1; i <= k; i++) a[i] = v[be, m, i]
		for (i = 2; i <= k; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	function fmt(us) { return us < 0 ? "n/a" : sprintf("%.1f", us / 1000) }
	END {
		desc["create"] = "create " nfiles " files"
		desc["stat"] = "stat " nfiles " files"
		desc["unlink"] = "unlink " nfiles " files"
		desc["readdir"] = "list the " nfiles "-file directory (cold)"
		desc["mmapread"] = nrand " random 4 KiB mmap reads (cold)"
		desc["seqwrite"] = "write " mib " MiB (dd bs=1M, fsync)"
		desc["seqread"] = "read " mib " MiB (dd bs=1M, cold)"
		desc["randread"] = nrand " random 4 KiB reads (cold)"
		print "| workload (median of " reps ") | vdaxd ms | virtiofsd ms | Rust virtiofsd ms | vdaxd/virtiofsd | vdaxd/Rust |"
		print "|---|---:|---:|---:|---:|---:|"
		cnt = split(order, o, " ")
		for (i = 1; i <= cnt; i++) {
			a = median("vdaxd", o[i]); b = median("virtiofsd", o[i])
			c = median("rust", o[i])
			r = (a >= 0 && b > 0) ? sprintf("%.2f", a / b) : "n/a"
			q = (a >= 0 && c > 0) ? sprintf("%.2f", a / c) : "n/a"
			printf "| %s | %s | %s | %s | %s | %s |\n", desc[o[i]], fmt(a), fmt(b), fmt(c), r, q
		}
	}' "$work/results")
hangs=$(sort "$work/hangs" | uniq -c | awk '{ printf "%s%s: %d", (NR > 1 ? "; " : ""), $2, $1 }')
if [ -n "$hangs" ]; then
	table="$table

Guest runs that stopped and are not counted (cut at 180 s): $hangs of
$reps."
fi

if [ -n "$raw" ]; then
	# rates in vdax-bench's units, per repetition
	awk -F: -v nfiles="$nfiles" -v mib="$mib" -v nrand="$nrand" '
	{ v[$1, $2, $3] = $4; if ($3 > maxr) maxr = $3; be[$1] = 1 }
	function out(b, row, r, x) { if (x > 0) printf "guest-%s %s %d %.6g\n", b, row, r, x }
	END {
		for (b in be) for (r = 1; r <= maxr; r++) {
			c = v[b, "create", r]; s = v[b, "stat", r]; u = v[b, "unlink", r]
			if (c > 0 && s > 0 && u > 0) out(b, "meta", r, nfiles / ((c + s + u) / 1e6))
			if (s > 0) out(b, "walk", r, nfiles / (s / 1e6))
			if (v[b, "readdir", r] > 0) out(b, "readdir", r, nfiles / (v[b, "readdir", r] / 1e6))
			if (v[b, "seqwrite", r] > 0) out(b, "seqwrite", r, mib / (v[b, "seqwrite", r] / 1e6))
			if (v[b, "seqread", r] > 0) out(b, "seqread", r, mib / (v[b, "seqread", r] / 1e6))
			if (v[b, "randread", r] > 0) out(b, "randread", r, nrand / (v[b, "randread", r] / 1e6))
			if (v[b, "mmapread", r] > 0) out(b, "mmapread", r, nrand / (v[b, "mmapread", r] / 1e6))
		}
	}' "$work/results" >"$raw"
fi

echo
kver=$(basename "$(dirname "$("$repo/scripts/guest-kernel.sh" | sed -n 1p)")")
echo "Guest benchmark: Linux $kver, QEMU TCG, 1 vCPU, $(date -u +%Y-%m-%d)"
echo
echo "$table"
if [ -n "$out" ]; then
	{
		echo "Guest benchmark, QEMU TCG, $(date -u +%Y-%m-%dT%H:%MZ)"
		echo
		echo "$table"
	} >"$out"
	echo
	echo "bench: table written to $out"
fi
