#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 64-byte UDP over wireguard-go for several router set-ups side by side,
# with the noise of a shared machine taken out as far as it can be
# (issue 15). run.sh builds a topology per run, so its runs of two
# competitors are tens of seconds apart and a 2-CPU machine's load
# changes between them (ratios of one run spread over 0.6-1.6). Here
# every variant gets its topology once and keeps it; then ROUNDS rounds
# run one short UDP test per variant, the order rotated each round, and
# each round's figures are divided by no filter's of the same round.
# An idle topology costs nothing (wireguard-go's idle peers have no
# timers), so the variants only differ in what is measured.
#
#   WG_PAIR_N (10000) peers, WG_PAIR_ROUNDS (12), BENCH_T (2 s a test),
#   WG_PAIR_VARIANTS ("none iptables cellgate cg_nofilter"; the first is
#   the reference; any competitor or control of run.sh's task_wg;
#   "cellgate@PATH" or "cg_nofilter@PATH" runs the controller at PATH),
#   WG_PAIR_ROWS (a file: each round's ratio appended as rows of run.sh,
#   "fwd VARIANT N ROUND wg_udp_pair_ratio RATIO").
#
# Prints per variant and round: datagrams received/s over the reference's,
# the router wireguard-go's CPU seconds, and its socket's drops; then the
# median of each; the last line "name=median_ratio ...".
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"

N=${WG_PAIR_N:-10000}
ROUNDS=${WG_PAIR_ROUNDS:-12}
BENCH_T=${BENCH_T:-2}
read -r -a VARIANTS <<<"${WG_PAIR_VARIANTS:-none iptables cellgate cg_nofilter}"

[ "$(id -u)" = 0 ] || { echo "SKIP: benchmarks need root" >&2; exit 77; }
bench_begin
BASE_PFX=$PFX BASE_SH=$SH BASE_WORK=$WORK
declare -a CG_PIDS=()
RESULTS=$BASE_WORK/results
mkdir -p "$RESULTS"

# use_variant K: the globals of lib.sh (names, WORK, namespaces) for
# variant K, each in its own namespaces, interfaces and directory.
use_variant() {
	PFX=$BASE_PFX-$1 SH=$BASE_SH$1 WORK=$BASE_WORK/v$1
	R=$PFX-r CW=$PFX-cw S=$PFX-s I=$PFX-i
}

bench_teardown() {
	local k
	set +e # best effort: every variant's topology, whatever fails
	for k in "${!VARIANTS[@]}"; do
		use_variant "$k"
		topo_down
	done
	WORK=$BASE_WORK
}

setup_variant() {
	local k=$1 comp=${VARIANTS[$1]%@*} CELLGATE=$CELLGATE
	# "cellgate@PATH": another build of the controller, side by side.
	[ "$comp" = "${VARIANTS[$1]}" ] || CELLGATE=${VARIANTS[$1]#*@}
	use_variant "$k"
	mkdir -p "$WORK"
	cp "$BASE_WORK/client.key" "$BASE_WORK/router.key" "$WORK/"
	topo_wg
	case $comp in
	cellgate)
		cellgate_start "$N" bulk || die "cellgate does not start"
		CG_PIDS[k]=$CG_PID
		;;
	cg_*)
		cellgate_start "$N" bulk || die "cellgate does not start"
		cellgate_control "$comp"
		;;
	*)
		router_wg "$N" "$comp" 1
		[ "$comp" = none ] || load_rules "$comp" "$N" "${SH}w" "${SH}up" "${SH}br" "$R" >/dev/null
		;;
	esac
	client_wg "$N"
	bg_in "$S" iperf3 -s >/dev/null 2>&1
	wait_for 5 sh -c "ip netns exec $S ss -ltn | grep -q ':5201 '" || die "iperf3 -s"
}

# One UDP test of variant K; prints "pps cpu_s drops".
udp_once() {
	local pps
	use_variant "$1"
	wg_udp_begin
	pps=$(iperf_udp "$CW") || pps=0
	RESULTS=$BASE_WORK/r1
	rm -rf "$RESULTS" && mkdir -p "$RESULTS"
	wg_udp_end x "$N" 1
	printf '%s %s %s\n' "$pps" \
		"$(awk '$5 == "wg_udp_wggo_cpu_s" {print $6}' "$RESULTS/fwd.tsv")" \
		"$(awk '$5 == "wg_udp_rcvbuf_drops" {print $6}' "$RESULTS/fwd.tsv")"
}

for k in "${!VARIANTS[@]}"; do
	log "wg_pair: setting up ${VARIANTS[$k]} at N=$N"
	setup_variant "$k"
done
nv=${#VARIANTS[@]}

# The set-ups at rest, over one window: the CPU seconds of each router
# wireguard-go and of each controller (the periodic work: UAPI dumps,
# resyncs, GC, metrics), nothing else running.
idle_ticks() {
	local k w c
	for k in "${!VARIANTS[@]}"; do
		use_variant "$k"
		w=$(proc_cpu_ticks "$(router_wg_pid)")
		c=$(proc_cpu_ticks "${CG_PIDS[$k]:-0}")
		echo "$k ${w:-0} ${c:-0}"
	done
}
IDLE=${WG_PAIR_IDLE:-10}
idle_ticks >"$BASE_WORK/idle0"
sleep "$IDLE"
idle_ticks >"$BASE_WORK/idle1"
paste "$BASE_WORK/idle0" "$BASE_WORK/idle1" | while read -r k w0 c0 _ w1 c1; do
	awk -v n="${VARIANTS[$k]}" -v w=$((w1 - w0)) -v c=$((c1 - c0)) \
		-v hz="$(getconf CLK_TCK)" -v t="$IDLE" \
		'BEGIN { printf "idle %ss: %-12s wireguard-go %.2f s, controller %.2f s\n", t, n, w / hz, c / hz }'
done
: >"$BASE_WORK/rows"
for round in $(seq "$ROUNDS"); do
	for j in $(seq 0 $((nv - 1))); do
		k=$(((j + round) % nv))
		echo "$round $k $(udp_once "$k")" >>"$BASE_WORK/rows"
	done
	log "wg_pair: round $round/$ROUNDS done"
done

python3 - "$BASE_WORK/rows" "${VARIANTS[@]}" <<-'PY'
import statistics, sys
rows, names = sys.argv[1], sys.argv[2:]
by = {}
for line in open(rows):
    r, k, pps, cpu, drops = line.split()
    by[(int(r), int(k))] = (float(pps), float(cpu or 0), int(drops or 0))
rounds = sorted({r for r, _ in by})
summary = []
for k, name in enumerate(names):
    ratios = [by[(r, k)][0] / by[(r, 0)][0] for r in rounds
              if by[(r, 0)][0] > 0 and (r, k) in by]
    kpps = [by[(r, k)][0] / 1000 for r in rounds if (r, k) in by]
    cpu = [by[(r, k)][1] for r in rounds if (r, k) in by]
    drops = [by[(r, k)][2] for r in rounds if (r, k) in by]
    print("%-14s ratio %s" % (name, " ".join("%.2f" % x for x in ratios)))
    print("%-14s kpps  %s" % ("", " ".join("%.1f" % x for x in kpps)))
    print("%-14s median ratio %.3f [%.2f-%.2f], kpps %.1f, wireguard-go cpu %.2f s, drops %d"
          % ("", statistics.median(ratios), min(ratios), max(ratios),
             statistics.median(kpps), statistics.median(cpu),
             statistics.median(drops)))
    summary.append("%s=%.3f" % (name, statistics.median(ratios)))
print(" ".join(summary))
PY
if [ -n "${WG_PAIR_ROWS:-}" ]; then
	awk -v n="$N" -v names="${VARIANTS[*]}" '
		BEGIN { split(names, v, " ") }
		{ pps[$1 " " $2] = $3 }
		END { for (x in pps) { split(x, a, " ")
			ref = pps[a[1] " 0"]
			if (ref > 0)
				printf "fwd\t%s\t%s\t%s\twg_udp_pair_ratio\t%.4f\n",
					v[a[2] + 1], n, a[1], pps[x] / ref } }' \
		"$BASE_WORK/rows" >>"$WG_PAIR_ROWS"
fi
