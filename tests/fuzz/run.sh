#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Fuzz every target for SECONDS (default 300) each: `make fuzz`.
#   tests/fuzz/run.sh [SECONDS]
# Configures build-fuzz with clang (-Dfuzz=true) if needed, builds the
# targets, runs each on a working copy of its seed corpus
# (build-fuzz/fuzz-runs/<target>/corpus) and reports. Findings are left in
# build-fuzz/fuzz-runs/<target>/ (crash-*, leak-*, timeout-*, oom-*); to
# keep one as a regression input, copy it to
# tests/fuzz/corpus/<target>/regress-<name>.
set -u
secs=${1:-300}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILD:-$top/build-fuzz}
targets="fuzz-vhost-msg fuzz-virtq fuzz-fuse"

command -v clang >/dev/null 2>&1 || { echo "run.sh: clang is needed" >&2; exit 1; }
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$top" -Dfuzz=true -Dguest_tests=false || exit 1
else
	meson configure "$build" -Dfuzz=true >/dev/null || exit 1
fi
tgts=""
for t in $targets; do tgts="$tgts tests/fuzz/$t"; done
# shellcheck disable=SC2086
ninja -C "$build" -j2 $tgts || exit 1

status=0
report=""
for t in $targets; do
	work=$build/fuzz-runs/$t
	mkdir -p "$work"
	log=$work/log
	"$here/run-target.sh" "$build/tests/fuzz/$t" "$here/corpus/$t" "$work" "$secs" \
		>"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	found=$(ls "$work" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | tr '\n' ' ')
	if [ $rc -eq 0 ] && [ -z "$found" ]; then
		line="PASS  $t: ${execs:-?} runs, ${cov:-cov: ?}"
	else
		line="FAIL  $t (exit $rc): ${found:-see $log}"
		status=1
	fi
	echo "$line"
	report="$report$line
"
done
echo "----"
printf '%s' "$report"
echo "logs and findings: $build/fuzz-runs/"
exit $status
