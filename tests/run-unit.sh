#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Run the unit test binaries given as arguments (check + ASan/UBSan), print
# a summary, and exit non-zero if any of them failed.
#
# Each test runs in check's default fork mode, so a crashing test fails
# alone and the others still run. LeakSanitizer works in those children:
# a test that leaks makes its child exit non-zero, which check reports as
# an error of that very test ("Early exit with return value 1"), with the
# leak report on stderr. (CK_FORK=no is honoured for debugging; leaks are
# then found when the whole binary exits, not per test.)
set -u

if [ $# -eq 0 ]; then
	echo "usage: $0 TEST_BINARY..." >&2
	exit 2
fi

# Ours last: later flags win, so leaks are always looked for.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1"
export ASAN_OPTIONS UBSAN_OPTIONS
# Sanitizers slow things down; give each test more than check's 4 s.
CK_DEFAULT_TIMEOUT="${CK_DEFAULT_TIMEOUT:-30}"
export CK_DEFAULT_TIMEOUT

log=$(mktemp "${TMPDIR:-/tmp}/cellgate-unit.XXXXXX") || exit 2
trap 'rm -f "$log"' EXIT INT TERM

total=0
bad=0
binaries=0
failed_binaries=""

for bin in "$@"; do
	name=$(basename "$bin")
	binaries=$((binaries + 1))
	if [ ! -x "$bin" ]; then
		echo "FAIL $name: not an executable"
		bad=$((bad + 1))
		failed_binaries="$failed_binaries $name"
		continue
	fi
	"$bin" >"$log" 2>&1
	rc=$?
	cat "$log"
	# check's summary: "NN%: Checks: N, Failures: F, Errors: E"
	summary=$(grep -E '^[0-9]+%: Checks: [0-9]+' "$log" | tail -n 1)
	checks=$(echo "$summary" | sed -n 's/.*Checks: \([0-9]*\).*/\1/p')
	failures=$(echo "$summary" | sed -n 's/.*Failures: \([0-9]*\).*/\1/p')
	errors=$(echo "$summary" | sed -n 's/.*Errors: \([0-9]*\).*/\1/p')
	checks=${checks:-0}
	failures=${failures:-0}
	errors=${errors:-0}
	total=$((total + checks))
	note=""
	if grep -q 'LeakSanitizer' "$log"; then
		note=" (memory leaks)"
	elif grep -qE 'AddressSanitizer|runtime error:' "$log"; then
		note=" (sanitizer errors)"
	fi
	if [ "$rc" -ne 0 ] || [ -z "$summary" ] ||
		[ "$failures" -ne 0 ] || [ "$errors" -ne 0 ]; then
		echo "FAIL $name: $checks checks, $failures failures," \
			"$errors errors, exit $rc$note"
		bad=$((bad + failures + errors))
		[ "$failures" -eq 0 ] && [ "$errors" -eq 0 ] &&
			bad=$((bad + 1))
		failed_binaries="$failed_binaries $name"
	else
		echo "PASS $name: $checks checks"
	fi
	echo
done

echo "unit tests: $binaries binaries, $total checks, $bad failed"
if [ -n "$failed_binaries" ]; then
	echo "failed:$failed_binaries"
	exit 1
fi
exit 0
