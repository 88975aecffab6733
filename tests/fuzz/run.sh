#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Run libFuzzer targets for a while each: run.sh SECONDS BINARY...
#
# A target build/fuzz/fuzz_NAME starts from tests/fuzz/corpus/NAME (and
# uses tests/fuzz/NAME.dict if there is one). It fuzzes a temporary copy of
# that corpus, so what it finds never lands in the committed seeds. A
# crash, leak, timeout or out-of-memory stops the target; its input stays
# next to the binary (build/fuzz/fuzz_NAME-crash-*, -leak-*, ...) and the
# script says how to run it again. Exit status: non-zero if any target
# found something.
set -u

if [ $# -lt 2 ]; then
	echo "usage: $0 SECONDS BINARY..." >&2
	exit 2
fi
seconds=$1
shift
case $seconds in
'' | *[!0-9]*)
	echo "$0: SECONDS must be a whole number, not '$seconds'" >&2
	exit 2
	;;
esac

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/cellgate-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT INT TERM

# Later flags win: leaks are always looked for and UB always stops.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1"
export ASAN_OPTIONS UBSAN_OPTIONS

failed=""
for bin in "$@"; do
	target=$(basename "$bin")
	name=${target#fuzz_}
	seeds=$here/corpus/$name
	outdir=$(dirname "$bin")
	log=$outdir/$target.log
	if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
		echo "FAIL $target: no binary $bin or no seeds $seeds"
		failed="$failed $target"
		continue
	fi
	mkdir -p "$work/$name"
	cp "$seeds"/* "$work/$name/"
	# The options, as positional parameters: the loop list is already set.
	set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$outdir/$target-"
	[ -f "$here/$name.dict" ] && set -- "$@" -dict="$here/$name.dict"
	nseeds=$(find "$seeds" -type f | wc -l)
	echo "fuzz $target: ${seconds}s from $nseeds seeds"
	# Artefacts of an earlier run would be mistaken for new findings.
	rm -f "$outdir/$target"-crash-* "$outdir/$target"-leak-* \
		"$outdir/$target"-timeout-* "$outdir/$target"-oom-*
	"$bin" "$@" "$work/$name" >"$log" 2>&1
	rc=$?

	# "#123 DONE cov: 456 ft: 789 corp: 90/12Kb ..." is the last word.
	done_line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|NEW|REDUCE|pulse|INITED)' "$log" |
		tail -n 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(echo "$done_line" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$done_line" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$done_line" | sed -n 's/.*corp: \([^ ]*\).*/\1/p')
	artefacts=$(ls "$outdir/$target"-crash-* "$outdir/$target"-leak-* \
		"$outdir/$target"-timeout-* "$outdir/$target"-oom-* 2>/dev/null)

	if [ "$rc" -eq 0 ] && [ -z "$artefacts" ]; then
		echo "PASS $target: ${execs:-?} execs (${rate:-?}/s)," \
			"cov ${cov:-?} edges, ft ${ft:-?}, corpus ${corp:-?}"
		continue
	fi
	failed="$failed $target"
	echo "FAIL $target: exit $rc after ${execs:-?} execs," \
		"cov ${cov:-?} edges; the end of $log:"
	grep -v -E '^#[0-9]+[[:space:]]' "$log" | tail -n 40 | sed 's/^/  | /'
	if [ -n "$artefacts" ]; then
		for a in $artefacts; do
			echo "  input kept: $a"
			echo "  reproduce:  CELLGATE_FUZZ_VERBOSE=1 $bin $a"
		done
		echo "  once fixed, keep it as a regression seed in $seeds/"
	else
		echo "  no input was kept (see $log)"
	fi
done

if [ -n "$failed" ]; then
	echo "fuzz: failed:$failed"
	exit 1
fi
exit 0
