#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# `make bench`: measure, then write BENCHMARKS.md.
#
#   bench/run.sh [BUILD_DIR] [--no-guest] [VDAX-BENCH OPTION]...
#
# 1. BUILD_DIR/bench/vdax-bench: local syscalls vs libvdax on vdaxd vs
#    libvdax on QEMU's virtiofsd, same directory, interleaved; raw numbers
#    in bench/results/<date>.json (options such as --reps, --duration,
#    --quick are passed on).
# 2. bench/guest/run.sh BUILD_DIR, if it is there and executable (a Linux
#    guest under QEMU on vdaxd vs virtiofsd); --no-guest or
#    VDAX_BENCH_GUEST=0 skips it, VDAX_BENCH_GUEST_ARGS adds its options.
# 3. BENCHMARKS.md: the report of 1, the table of 2, and the hand-written
#    analysis in bench/notes.md.
# Needs root (virtiofsd and the guest run do). Not part of `make check`.
set -u

repo=$(cd "$(dirname "$0")/.." && pwd)
build=build
guest=${VDAX_BENCH_GUEST:-1}
if [ $# -gt 0 ]; then
	case $1 in -*) ;; *) build=$1; shift ;; esac
fi
pass=""
for a in "$@"; do
	case $a in
	--no-guest) guest=0 ;;
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
[ "$(id -u)" -eq 0 ] || die "run as root (QEMU's virtiofsd needs it)"

tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/vdax-bench-run.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

date=$(date -u +%Y-%m-%d)
mkdir -p "$repo/bench/results"
json=$repo/bench/results/$date.json
echo "bench: vdax-bench (about 2 minutes)" >&2
# shellcheck disable=SC2086
"$exe" --vdaxd="$build/src/daemon/vdaxd" --json="$json" --md="$tmp/libvdax.md" $pass ||
	die "vdax-bench failed"
cat "$tmp/libvdax.md"

guest_md=""
if [ "$guest" != 0 ] && [ -x "$repo/bench/guest/run.sh" ]; then
	echo "bench: bench/guest/run.sh (a Linux guest under QEMU)" >&2
	# shellcheck disable=SC2086
	if "$repo/bench/guest/run.sh" "$build" --out "$tmp/guest.md" ${VDAX_BENCH_GUEST_ARGS:-} >&2; then
		guest_md=$tmp/guest.md
	else
		echo "bench: the guest benchmark failed; BENCHMARKS.md says so" >&2
		echo "The guest benchmark (bench/guest/run.sh) failed in this run." >"$tmp/guest.md"
		guest_md=$tmp/guest.md
	fi
fi

out=$repo/BENCHMARKS.md
{
	cat <<'EOF'
# vdax benchmarks

Written by `make bench` (`bench/run.sh`); the analysis at the end is
`bench/notes.md`. Raw numbers of every run are in `bench/results/`.

## libvdax on vdaxd vs libvdax on QEMU's virtiofsd (host, user space)

`bench/vdax-bench` drives the same directory through three columns in one
run: local syscalls (the limit: no virtio-fs at all), libvdax speaking
vhost-user to vdaxd, and libvdax speaking vhost-user to QEMU's C virtiofsd.
Every cell is measured for a fixed time, the columns interleaved (their
order rotating each repetition) so that the load of a shared machine falls
on all of them alike: compare the ratios, not the absolute figures.
Target: vdaxd/virtiofsd >= 1 on every row.

EOF
	cat "$tmp/libvdax.md"
	echo
	echo "Raw numbers: \`bench/results/$date.json\`."
	if [ -n "$guest_md" ]; then
		echo
		echo "## A Linux guest under QEMU on vdaxd vs virtiofsd"
		echo
		echo "\`bench/guest/run.sh\`: a real guest kernel's virtio-fs driver (QEMU TCG, so"
		echo "absolute times are slow; the ratio is what counts, < 1: vdaxd faster)."
		echo
		cat "$guest_md"
	fi
	if [ -f "$repo/bench/notes.md" ]; then
		echo
		cat "$repo/bench/notes.md"
	fi
} >"$out.tmp" && mv "$out.tmp" "$out"
echo "bench: wrote $out and $json" >&2
