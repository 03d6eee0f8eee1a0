#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The whole test suite, as CI runs it:
#   1. a normal build running every test (unit, integration, conformance, guest);
#   2. an ASan+UBSan build running every suite again (the guest ones boot
#      Linux on an ASan vdaxd);
#   3. a ThreadSanitizer build running the concurrency tests;
#   4. a clang libFuzzer build running each fuzz target for 30 s on its corpus;
#   5. valgrind memcheck, once, over the tests that run the daemon's and the
#      library's layers in-process (normal build).
# Before them, scripts/qemu-dax.sh builds the DAX-capable QEMU once (cached)
# for the guest-dax tests.
# Ends with "N passed, N failed[, N skipped]", counting every TAP check.
set -u
cd "$(dirname "$0")/.."
./scripts/deps.sh || exit 1
# The guest DAX tests need QEMU with the project's window patches: build it
# once here (about 5 minutes, cached in .cache/qemu-dax) rather than inside
# a test's time limit. A failure is not fatal here: those tests then fail.
if [ "$(id -u)" -eq 0 ] || ./scripts/qemu-dax.sh --check >/dev/null; then
	./scripts/qemu-dax.sh >/dev/null || echo "check: the DAX QEMU did not build; the guest-dax tests will fail" >&2
fi

setup() { # dir, extra meson args...
	d=$1; shift
	if [ ! -f "$d/build.ninja" ]; then
		meson setup "$d" "$@" >"$d.setup.log" 2>&1 || { cat "$d.setup.log"; return 1; }
	fi
	ninja -C "$d" >"$d.ninja.log" 2>&1 || { tail -50 "$d.ninja.log"; return 1; }
}

logs=""
rc=0
J=${VDAX_TEST_JOBS:-2}

if setup build -Dwerror=true; then
	meson test -C build --num-processes "$J" --print-errorlogs >build.test.log 2>&1
	logs="$logs normal=build/meson-logs/testlog.json"
else
	echo "normal build failed"; rc=1
fi

if setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C build-asan --num-processes "$J" \
		--print-errorlogs >build-asan.test.log 2>&1
	logs="$logs asan+ubsan=build-asan/meson-logs/testlog.json"
else
	echo "asan build failed"; rc=1
fi

if meson introspect --tests build 2>/dev/null | grep -q ':tsan"'; then
	if setup build-tsan -Db_sanitize=thread -Db_lundef=false -Dguest_tests=false; then
		TSAN_OPTIONS=halt_on_error=1 meson test -C build-tsan --num-processes "$J" --suite tsan \
			--print-errorlogs >build-tsan.test.log 2>&1
		logs="$logs tsan=build-tsan/meson-logs/testlog.json"
	else
		echo "tsan build failed"; rc=1
	fi
fi

# Fuzzers: only their targets are built (with clang); 30 s each on the corpus.
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz -Dfuzz=true -Dguest_tests=false >build-fuzz.setup.log 2>&1 ||
		{ cat build-fuzz.setup.log; rc=1; }
fi
if [ -f build-fuzz/build.ninja ] &&
	ninja -C build-fuzz tests/fuzz/fuzz-vhost-msg tests/fuzz/fuzz-virtq tests/fuzz/fuzz-fuse \
		>build-fuzz.ninja.log 2>&1; then
	meson test -C build-fuzz --no-rebuild --suite fuzz --num-processes 1 \
		--print-errorlogs >build-fuzz.test.log 2>&1
	logs="$logs fuzz=build-fuzz/meson-logs/testlog.json"
else
	tail -30 build-fuzz.ninja.log 2>/dev/null; echo "fuzz build failed"; rc=1
fi

# valgrind: in-process tests only (a spawned daemon would not be under it).
if [ -f build/build.ninja ] && command -v valgrind >/dev/null; then
	meson test -C build --no-rebuild \
		--wrapper='valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --quiet' \
		test_virtq test_vu_msg fuse_dispatch fuse_ops fuse_security fuse_dax \
		vhost_backend client-malformed dax_window dax_tree \
		--print-errorlogs >build-valgrind.test.log 2>&1
	logs="$logs valgrind=build/meson-logs/testlog-valgrind.json"  # meson names it after the wrapper
fi

# shellcheck disable=SC2086
python3 scripts/summarize.py $logs || rc=1
[ $rc -eq 0 ] || echo "see build*.test.log and build*/meson-logs/testlog.txt for details" >&2
exit $rc
