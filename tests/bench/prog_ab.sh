#!/bin/bash
# SPDX-License-Identifier: MIT
#
# prog_ab: prog_bench's ratios (x one hash lookup) of two builds, measured
# alternately in one sitting: A, B, A, B... and the median of each
# metric's values per build. Other work on the machine shifts a single
# run's ratios by 10-30% (single-timed paths most); alternating rounds
# and medians let a change of a few tenths show through.
#
# Usage: tests/bench/prog_ab.sh [-r ROUNDS] [-o ONLY] [-n N] A B [C...]
#   A, B...: a git ref (built from `git archive` into build/ab/<ref>) or a
#            directory holding bench/prog_bench and bench/baseline.bpf.o
#            (a build directory: "build" is the worktree's own).
#   -o ONLY: prog_bench's --only (e.g. wg_ingress.new); default all paths
#   -r ROUNDS (default 5), -n N peers (default 1000).
# SINGLE and REPEAT in the environment override prog_bench's --single
# (default 4000) and --repeat (default 200000).
#
# Prints one row per metric: its median per build, then B/A.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rounds=5 only="" n=1000
while getopts "r:o:n:" opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	o) only=$OPTARG ;;
	n) n=$OPTARG ;;
	*) sed -n '11,17p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { sed -n '11,17p' "$0" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "prog_ab: SKIP: BPF_PROG_TEST_RUN needs root"; exit 77; }

# A directory as is; a git ref built once into build/ab/<ref>.
build_dir() {
	local d
	if [ -x "$1/bench/prog_bench" ]; then
		(cd "$1" && pwd)
		return
	fi
	git -C "$ROOT" rev-parse --verify -q "$1^{commit}" >/dev/null ||
		{ echo "prog_ab: $1 is neither a build directory nor a git ref" >&2; exit 2; }
	d=$ROOT/build/ab/$(echo "$1" | tr '/' '_')
	if [ ! -x "$d/build/bench/prog_bench" ]; then
		rm -rf "$d" && mkdir -p "$d"
		git -C "$ROOT" archive "$1" | tar -x -C "$d"
		make -C "$d" -j"$(nproc)" build/bench/prog_bench \
			build/bench/baseline.bpf.o >"$d.log" 2>&1 ||
			{ echo "prog_ab: building $1 failed: $d.log" >&2; exit 1; }
	fi
	echo "$d/build"
}

dirs=()
for a in "$@"; do dirs+=("$(build_dir "$a")"); done
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT

for ((r = 1; r <= rounds; r++)); do
	for i in "${!dirs[@]}"; do
		d=${dirs[$i]}
		"$d/bench/prog_bench" --n "$n" --runs 1 \
			--repeat "${REPEAT:-200000}" --single "${SINGLE:-4000}" \
			${only:+--only "$only"} --baseline "$d/bench/baseline.bpf.o" \
			2>/dev/null |
			awk -v b="$i" '$5 ~ /\.vs_lookup$/ { print b "\t" $5 "\t" $6 }' \
				>>"$rows"
	done
done

python3 - "$rows" "$@" <<'EOF'
import collections, statistics, sys

vals = collections.defaultdict(list)
order = []
for line in open(sys.argv[1]):
    b, metric, v = line.split("\t")
    metric = metric[: -len(".vs_lookup")]
    if metric not in order:
        order.append(metric)
    vals[(metric, int(b))].append(float(v))
names = sys.argv[2:]
print("metric".ljust(26) + "".join(n[-12:].rjust(13) for n in names) + "   B/A")
for m in order:
    med = [statistics.median(vals[(m, i)]) if vals[(m, i)] else None
           for i in range(len(names))]
    cells = "".join(("%.2f" % x if x is not None else "-").rjust(13) for x in med)
    ratio = "%.2f" % (med[1] / med[0]) if med[0] and med[1] else "-"
    print(m.ljust(26) + cells + ratio.rjust(6))
EOF
