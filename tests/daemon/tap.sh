# SPDX-License-Identifier: GPL-2.0-or-later
# TAP helpers for the vdaxd shell tests (sourced).

tap_n=0
tap_failed=0

ok() { # ok COND_STATUS DESCRIPTION
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		tap_failed=$((tap_failed + 1))
		echo "not ok $tap_n - $2"
	fi
}

is() { # is GOT WANT DESCRIPTION
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		echo "#   got '$1', want '$2'"
	fi
}

diag() { echo "# $*"; }

skip_all() { echo "1..0 # SKIP $*"; exit 77; }

done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}

# wait_for FILE PATTERN [TENTHS]: poll FILE until it contains PATTERN.
wait_for() {
	_i=0
	while [ "$_i" -lt "${3:-100}" ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# wait_exit PID [TENTHS]: wait for a child of this shell; status in $rc.
wait_exit() {
	_i=0
	while kill -0 "$1" 2>/dev/null; do
		# a zombie still answers kill -0; wait reaps it below
		if [ "$(cut -d' ' -f3 /proc/"$1"/stat 2>/dev/null)" = Z ]; then
			break
		fi
		if [ "$_i" -ge "${2:-100}" ]; then
			kill -KILL "$1" 2>/dev/null
			wait "$1" 2>/dev/null
			rc=timeout
			return 1
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
	wait "$1"
	rc=$?
	return 0
}
