#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Run one libFuzzer target for a bounded time on its seed corpus.
#   run-target.sh BINARY REPO_CORPUS WORK_DIR SECONDS [extra libFuzzer args]
# New inputs go into WORK_DIR/corpus (a copy of the seeds), never into the
# repository; crashes, leaks and timeouts are saved as WORK_DIR/crash-*,
# leak-*, timeout-*. Exit status: libFuzzer's (0 = nothing found).
set -eu
bin=$1 seeds=$2 work=$3 secs=$4
shift 4
mkdir -p "$work/corpus"
if [ -d "$seeds" ]; then
	cp -n "$seeds"/* "$work/corpus/" 2>/dev/null || true
fi
echo "# $(basename "$bin"): ${secs}s, corpus $work/corpus (+ $seeds read-only)"
exec "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$work/" "$@" \
	"$work/corpus" "$seeds"
