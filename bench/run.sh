#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# `make bench`: measure, plot, then write BENCHMARKS.md.
#
#   bench/run.sh [BUILD_DIR] [--no-guest] [--quick] [VDAX-BENCH OPTION]...
#
# 1. bench/guest/run.sh BUILD_DIR --raw: a Linux guest under QEMU (TCG) on
#    vdaxd and on QEMU's virtiofsd (skipped with --no-guest or
#    VDAX_BENCH_GUEST=0; VDAX_BENCH_GUEST_ARGS adds its options); the
#    backends are interleaved, one guest boot per backend per repetition.
# 2. BUILD_DIR/bench/vdax-bench: local syscalls, libvdax with and without
#    DAX on vdaxd (one request queue per online CPU, at most 4), libvdax on QEMU's virtiofsd, `vdax mount` with and
#    without DAX, on the same directory, interleaved; the guest's figures
#    merged in as two more columns; then the cold whole-process
#    `vdax cat` runs (a fresh vdaxd per run). Options such as --reps,
#    --duration, --quick are passed on.
# 3. bench/guest-dax/run.sh BUILD_DIR: fio in a Linux guest on vdaxd with a
#    DAX window (QEMU with patches/qemu, scripts/qemu-dax.sh), on vdaxd
#    without one and on QEMU's virtiofsd, interleaved; and the guest's page
#    cache before and after a 256 MiB read (skipped with --no-guest).
#    gnuplot: bench/results/STAMP-workloads.png and STAMP-wsratio.png.
# 4. BENCHMARKS.md: the report, the plots, the guest table, the copy and
#    map-floor tables (bench/copy-band, bench/map-floor: the host kernel's
#    own cost of one 2 MiB range of a stream) and the hand-written analysis
#    in bench/notes.md. Raw numbers in
#    bench/results/STAMP.json (STAMP = UTC date and time).
# Needs root (virtiofsd, FUSE mounts and the guest run do). Not part of
# `make check`. About 25 minutes; --quick (one short run) about 6.
set -u

repo=$(cd "$(dirname "$0")/.." && pwd)
build=build
guest=${VDAX_BENCH_GUEST:-1}
quick=0
if [ $# -gt 0 ]; then
	case $1 in -*) ;; *) build=$1; shift ;; esac
fi
pass=""
for a in "$@"; do
	case $a in
	--no-guest) guest=0 ;;
	--quick) quick=1; pass="$pass $a" ;;
	-h|--help) sed -n '3,/^set -u/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
	*) pass="$pass $a" ;;
	esac
done
case $build in /*) ;; *) build=$repo/$build ;; esac

die() {
	echo "bench: $*" >&2
	exit 1
}
exe=$build/bench/vdax-bench
[ -x "$exe" ] || die "$exe not built (ninja -C $build; is subdir('bench') in meson.build?)"
[ "$(id -u)" -eq 0 ] || die "run as root (QEMU's virtiofsd and FUSE mounts need it)"

tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/vdax-bench-run.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
results=$repo/bench/results
mkdir -p "$results"
json=$results/$stamp.json
start=$(date +%s)

guest_args=""
guest_md=""
if [ "$guest" != 0 ] && [ -x "$repo/bench/guest/run.sh" ]; then
	greps=5
	[ "$quick" = 1 ] && greps=1
	echo "bench: [1/3] bench/guest/run.sh: a Linux guest under QEMU TCG, $greps repetitions, one boot per backend each, alternating (about 2 minutes)" >&2
	# shellcheck disable=SC2086
	if "$repo/bench/guest/run.sh" "$build" --reps "$greps" --out "$tmp/guest.md" \
		--raw "$tmp/guest.raw" ${VDAX_BENCH_GUEST_ARGS:-} >&2; then
		guest_md=$tmp/guest.md
		guest_args="--guest=$tmp/guest.raw"
	else
		echo "bench: the guest benchmark failed; BENCHMARKS.md says so" >&2
		echo "The guest benchmark (bench/guest/run.sh) failed in this run." >"$tmp/guest.md"
		guest_md=$tmp/guest.md
	fi
fi

echo "bench: [2/3] vdax-bench: 6 host columns x 15 rows x 1 and 4 threads, then the cold \`vdax cat\` runs (about 9 minutes; --quick: 1)" >&2
# shellcheck disable=SC2086
"$exe" --vdaxd="$build/src/daemon/vdaxd" --vdax="$build/tools/vdax/vdax" \
	--json="$json" --md="$tmp/libvdax.md" --plots="$tmp/plots" $guest_args $pass ||
	die "vdax-bench failed"

# The three daemons side by side: vdaxd, QEMU's C virtiofsd, the Rust one.
three_md=""
three_png=""
cpu_md=""
rust=$("$repo/scripts/rust-virtiofsd.sh" 2>/dev/null | head -n 1) || rust=""
if [ -n "$rust" ] && [ -x "$rust" ]; then
	echo "bench: three daemons: vdaxd, QEMU's virtiofsd, the Rust virtiofsd (about 2 minutes)" >&2
	reps3=3
	[ "$quick" = 1 ] && reps3=1
	if "$exe" --vdaxd="$build/src/daemon/vdaxd" --rust="$rust" --only=vdaxd,virtiofsd,rust \
		--workloads=meta,walk,readdir,randread,randwrite,seqread,seqwrite --reps=$reps3 \
		--json="$results/$stamp-three.json" --md="$tmp/three-full.md" >&2 &&
		python3 "$repo/bench/three-daemons.py" "$tmp/three-full.md" >"$tmp/three.md"; then
		three_md=$tmp/three.md
		if command -v gnuplot >/dev/null 2>&1 &&
			python3 "$repo/bench/three-daemons.py" "$tmp/three-full.md" \
				--plot "$results/$stamp-three.png" >/dev/null; then
			three_png=bench/results/$stamp-three.png
		fi
	fi
	# What each daemon's CPU costs per operation: the rows above are set
	# by the client on this machine, this says what the daemon spends.
	if command -v perf >/dev/null 2>&1; then
		echo "bench: three daemons: CPU time per operation under perf (about 3 minutes)" >&2
		cpu_reps=3
		[ "$quick" = 1 ] && cpu_reps=1
		if python3 "$repo/bench/daemon-cpu.py" "$build" "$rust" --reps $cpu_reps \
			--workloads meta,walk,readdir,randread,randwrite >"$tmp/cpu.md"; then
			cpu_md=$tmp/cpu.md
		fi
	else
		echo "bench: no perf (linux-perf): no CPU-per-operation table" >&2
	fi
else
	echo "bench: the Rust virtiofsd cannot be fetched (scripts/rust-virtiofsd.sh); no three-daemon table" >&2
fi

dax_md=""
if [ "$guest" != 0 ] && [ -x "$repo/bench/guest-dax/run.sh" ]; then
	dreps=3
	[ "$quick" = 1 ] && dreps=1
	echo "bench: [3/3] bench/guest-dax/run.sh: fio in a guest with and without DAX, $dreps repetitions (about $((dreps * 4)) minutes), then plots" >&2
	if "$repo/bench/guest-dax/run.sh" "$build" --reps "$dreps" --out "$tmp/dax.md" \
		--raw "$results/$stamp-guest-dax.raw" >&2; then
		dax_md=$tmp/dax.md
	else
		echo "The guest DAX benchmark (bench/guest-dax/run.sh) failed in this run." >"$tmp/dax.md"
		dax_md=$tmp/dax.md
	fi
else
	echo "bench: [3/3] plots" >&2
fi
plots=""
if command -v gnuplot >/dev/null 2>&1; then
	if gnuplot "$tmp/plots/plots.gp" 2>"$tmp/gnuplot.err"; then
		cp "$tmp/plots/workloads.png" "$results/$stamp-workloads.png"
		cp "$tmp/plots/wsratio.png" "$results/$stamp-wsratio.png"
		plots=1
	else
		cat "$tmp/gnuplot.err" >&2
		echo "bench: gnuplot failed; no plots" >&2
	fi
else
	echo "bench: gnuplot not installed (scripts/deps.sh installs gnuplot-nox); no plots" >&2
fi

out=$repo/BENCHMARKS.md
{
	cat <<'EOF'
# vdax benchmarks

Written by `make bench` (`bench/run.sh`); the analysis at the end is
`bench/notes.md`. Raw numbers of every run are in `bench/results/`.

## The columns, in one run

`bench/vdax-bench` drives one directory (on the host's file system, files
in the host page cache) through every column in the same run:

- **local**: plain system calls on the directory: the limit, no virtio-fs.
- **dax**: libvdax with DAX (`dax=always`) on vdaxd `--cache-size`: file data
  is `memcpy` to and from the daemon's mapping of the file (the DAX window)
  once a 2 MiB range is set up; no request per read or write.
- **vdaxd**: libvdax without DAX on vdaxd: every read and write is a
  FUSE_READ/FUSE_WRITE request through the virtqueues.
- **virtiofsd**: libvdax on QEMU's C virtiofsd (no DAX window there).
- **mnt-dax**, **mnt**: `vdax mount` (libvdax behind a FUSE mount in the host
  kernel) with and without DAX; the workload uses ordinary system calls on
  the mount, so every operation crosses the host kernel's FUSE and the
  `vdax mount` process, then libvdax.
- **guest-vdaxd**, **guest-virtiofsd**: a real Linux guest (QEMU TCG, one
  vCPU) on vdaxd and on virtiofsd, from `bench/guest/run.sh`, merged into
  the rows they have an equivalent for (cold caches, one thread; see the
  guest section).

Host cells are measured for a fixed time, the columns interleaved in
slices (order rotating) so that the load of a shared machine falls on all
of them alike: **compare the ratios, not the absolute figures**.

**The machine.** 2 vCPUs shared with other engineers' builds and tests;
every column's client, daemon and (for the mounts) FUSE server run on the
same 2 cores, so a request-per-operation column pays two or three context
switches per operation, and 4 client threads plus the daemon's queue
threads oversubscribe the CPUs: the 4-thread figures mostly measure
scheduling. The guest is emulated (TCG: no KVM), so its kernel runs maybe
10-50x slower than native and its absolute times say little about a real
VM; the guest-vdaxd/guest-virtiofsd ratio still compares the two daemons
under the same driver. DAX in a guest needs a VMM that maps the window
(stock QEMU's vhost-user-fs has none): the guest DAX rows, on QEMU with the
project's patches, are in their own section below.

EOF
	cat "$tmp/libvdax.md"
	echo
	echo "Raw numbers: \`bench/results/$stamp.json\` (every repetition, the DAX counters per row)."
	if [ -n "$plots" ]; then
		echo
		echo "### Plots"
		echo
		echo "![throughput per workload](bench/results/$stamp-workloads.png)"
		echo
		echo "![random reads vs working set / window](bench/results/$stamp-wsratio.png)"
	fi
	if [ -n "$guest_md" ]; then
		echo
		echo "## The Linux guest under QEMU on vdaxd vs virtiofsd"
		echo
		echo "\`bench/guest/run.sh\`: a real guest kernel's virtio-fs driver (QEMU TCG, so"
		echo "absolute times are slow; the ratio is what counts, < 1: vdaxd faster)."
		echo "The backends are interleaved: one guest boot per backend per repetition,"
		echo "alternating which goes first, so a changing load falls on both alike."
		echo "Rows merged above: meta = create+stat+unlink of the files (the stat"
		echo "after dropping the guest's caches), walk = the cold stat phase, readdir"
		echo "= listing the 1000-file directory cold, seq/rand/mmap reads of a file"
		echo "just written, the guest's page cache dropped (the host's is warm)."
		echo
		cat "$guest_md"
	fi
	if [ -n "$three_md" ]; then
		echo
		echo "## Three daemons: vdaxd, QEMU's C virtiofsd, the Rust virtiofsd"
		echo
		echo "libvdax (no DAX) on each daemon, the three interleaved in one run"
		echo "(\`vdax-bench --only=vdaxd,virtiofsd,rust\`): medians, and the ratios of the"
		echo "medians. The Rust virtiofsd is Debian 13's, run with its own loader and"
		echo "libraries (\`scripts/rust-virtiofsd.sh\`). Raw: \`bench/results/$stamp-three.json\`."
		echo
		cat "$three_md"
		if [ -n "$three_png" ]; then
			echo
			echo "![vdaxd against the two other daemons, per row]($three_png)"
		fi
		if [ -n "$cpu_md" ]; then
			echo
			echo "CPU time each daemon spent per unit of work in a run of its own"
			echo "(\`bench/daemon-cpu.py\`: \`perf record -e cpu-clock\` over an interleaved"
			echo "vdax-bench run, each daemon's samples over the operations it served;"
			echo "> 1 in the ratio columns: vdaxd spends less):"
			echo
			cat "$cpu_md"
		fi
	fi
	if [ -n "$dax_md" ]; then
		echo
		echo "## What DAX buys a Linux guest"
		echo
		echo "\`bench/guest-dax/run.sh\`: fio in a Linux 6.1 guest (QEMU TCG, one vCPU, 512 MiB)"
		echo "mounted \`-o dax=always\` on vdaxd \`--cache-size=2G\` through QEMU with"
		echo "\`patches/qemu\` (**dax**), on vdaxd without a window (**no-DAX**) and on QEMU's"
		echo "virtiofsd, interleaved in one run. The data path with DAX is the guest's"
		echo "own \`fs/fuse/dax.c\`: each 2 MiB range is one FUSE_SETUPMAPPING, then loads"
		echo "and stores into the host's page cache. The published ratios are from the"
		echo "virtio-fs DAX work on KVM. Under TCG every guest system call costs tens of"
		echo "microseconds of emulation, which caps a 4 KiB psync loop at a few tens of"
		echo "MiB/s whatever the data path: the ratios of psync rows are squeezed toward"
		echo "1, the mmap rows (no system call per access) show the window's full gain."
		echo
		cat "$dax_md"
	fi
	if [ -x "$build/bench/copy-band" ]; then
		echo
		echo "## Copying file data: glibc memcpy() against vdx_copy()"
		echo
		echo "\`bench/copy-band\`: 128 MiB from a page-aligned source into one buffer, in"
		echo "pieces, the buffer at four offsets into its page (16: a \`malloc()\`ed buffer"
		echo "of 128 KiB or more), best of 5 interleaved. libvdax copies window and reply"
		echo "data with \`vdx_copy()\` (docs/dax.md, \"Copies out of the window\")."
		echo "Outside the band (offsets 0, 48, 64) a piece larger than 256 KiB goes to"
		echo "\`memcpy()\` in 256 KiB pieces (the 1 MiB rows there); the 4 KiB and 128 KiB"
		echo "rows at those offsets, and 1 MiB at offset 16, run the same \`memcpy()\` in"
		echo "both columns: their differences there are the noise."
		echo
		"$build/bench/copy-band"
	fi
	if [ -x "$build/bench/map-floor" ]; then
		echo
		echo "## The floor of a stream through the window"
		echo
		echo "\`bench/map-floor\`: what one 2 MiB range of a stream costs the host kernel"
		echo "alone, with no daemon, no request and no wake-up: \`mmap()\` the file's"
		echo "range aside, \`mremap()\` it over the window slot it recycles (the old"
		echo "range's page tables zapped, the TLB flushed on the other CPU, where a"
		echo "thread of the process runs), fill the page tables as libvdax's read-ahead"
		echo "does, and copy the range out in two 1 MiB \`vdx_copy()\`s. Median of 5"
		echo "passes over 256 MiB through a 16-range window, on the directory the"
		echo "benchmark used. The last column is the most a stream could move with"
		echo "every CPU doing only this, which no frontend that asks a daemon for its"
		echo "mappings can reach (bench/notes.md compares it with the stream rows)."
		echo
		"$build/bench/map-floor" "${TMPDIR:-/var/tmp}" 256 ||
			echo "(map-floor failed in this run)"
	fi
	if [ -f "$repo/bench/notes.md" ]; then
		echo
		cat "$repo/bench/notes.md"
	fi
} >"$out.tmp" && mv "$out.tmp" "$out"
echo "bench: wrote $out and $json in $(( $(date +%s) - start )) s" >&2
