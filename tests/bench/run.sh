#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# cellgate against PIC's iptables, side by side (issue 7). `make bench`
# runs `run.sh full`, `make bench-quick` runs `run.sh quick`.
#
#   full   items 1-5 of docs/BENCHMARKS.md at every N of BENCH_N
#          ("10 1000 10000 100000"), BENCH_RUNS (5) runs each; writes
#          build/bench/results/*.tsv, docs/BENCHMARKS.md, docs/bench/*.png
#   quick  a subset at N = 10000, one run (under 3 minutes): prints the
#          headline ratios, the last line "name=ratio ..."; writes no docs
#   api    the control plane alone (task_api: import, PUTs, memory) at 10
#          and BENCH_N (10000), once; prints the headline; writes no docs
#   wg     the runs over wireguard-go alone (task_wg: no filter, iptables,
#          cellgate, the control cg_nofilter; BENCH_WG overrides the
#          list) at BENCH_N ("10 10000"), BENCH_RUNS (5) alternated runs;
#          prints the headline and each run's ratios; writes no docs
#
# Environment: BENCH_N, BENCH_RUNS, BENCH_T (seconds per iperf3 run, 5),
# BENCH_PAIR_ROUNDS (rounds of wg_pair.sh per N in full mode, 10; 0: none),
# BENCH_CONNS (connections per connection-rate run, 1000), BENCH_BUDGET
# (seconds allowed for one-by-one installs, 60), BENCH_CHANGES (policy
# changes timed for the enforcement latency, 200), BENCH_PUTS (PUTs timed
# against N in task_api, 200; quick 100), BENCH_KEEP=1 (add to
# the results already in build/bench/results instead of starting anew).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"

MODE=${1:-full}
case $MODE in
full)
	N_LIST=${BENCH_N:-10 1000 10000 100000}
	RUNS=${BENCH_RUNS:-5}
	BENCH_T=${BENCH_T:-5}
	REPEAT=1000000 # the issue's minimum repeat for item 1
	SINGLE=10000
	RESULTS=$BENCH_ROOT/build/bench/results
	;;
quick)
	N_LIST=10000
	RUNS=2 # alternated competitors: a median of two, still < 3 min
	BENCH_T=${BENCH_T:-3}
	REPEAT=1000000
	SINGLE=5000
	RESULTS=$BENCH_ROOT/build/bench/quick
	;;
api)
	N_LIST=${BENCH_N:-10000}
	RUNS=1
	BENCH_T=3
	REPEAT=0
	SINGLE=0
	RESULTS=$BENCH_ROOT/build/bench/api
	;;
wg)
	N_LIST=${BENCH_N:-10 10000}
	RUNS=${BENCH_RUNS:-5}
	BENCH_T=${BENCH_T:-3}
	REPEAT=0
	SINGLE=0
	RESULTS=$BENCH_ROOT/build/bench/wg
	BENCH_PERF=${BENCH_PERF:-0}
	;;
*)
	echo "usage: run.sh full|quick|api|wg" >&2
	exit 2
	;;
esac
BENCH_CONNS=${BENCH_CONNS:-1000}
PAIR_ROUNDS=${BENCH_PAIR_ROUNDS:-10} # task_wg_pair, full mode; 0: none
BUDGET=${BENCH_BUDGET:-60}
CHANGES=${BENCH_CHANGES:-200}
[ "$MODE" = quick ] && CHANGES=20
PUTS=${BENCH_PUTS:-200} # PUTs timed per N (task_api)
[ "$MODE" = quick ] && PUTS=100
# wireguard-go refuses more peers than this (device.MaxPeers, 1 << 16):
# items over WireGuard are not possible beyond it.
WG_GO_MAX_PEERS=65536

[ "$(id -u)" = 0 ] || { echo "SKIP: benchmarks need root" >&2; exit 77; }
for t in ip wg wireguard-go iptables-restore ipset iperf3 jq curl gnuplot \
	python3 "$CELLGATE" "$PROG_BENCH" "$CONN_STORM"; do
	command -v "$t" >/dev/null || die "$t is missing (make bench builds and installs it)"
done

[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$RESULTS"
mkdir -p "$RESULTS"
bench_begin
START=$(date +%s)

# ---- item 1 ---------------------------------------------------------------------

task_prog() {
	local n=$1
	progress "per-packet cost N=$n ($RUNS runs, repeat $REPEAT)"
	"$PROG_BENCH" --n "$n" --runs "$RUNS" --repeat "$REPEAT" --single "$SINGLE" \
		--baseline "$BENCH_ROOT/build/bench/baseline.bpf.o" >>"$RESULTS/prog.tsv"
}

# ---- item 3: installing N peers ------------------------------------------------------

# Per-rule `iptables -A`, the way a shell-out per rule installs them, for
# at most BUDGET seconds; beyond it, the rate of what got done gives a
# lower bound (each -A only gets slower as the chain grows).
per_rule_iptables() {
	local n=$1 ns=$PFX-x total done=0 t0 now line
	ns_new "$ns"
	$GEN pic-lines "$n" "${SH}w" "${SH}up" "${SH}br" >"$WORK/lines"
	total=$(wc -l <"$WORK/lines")
	t0=$(date +%s%N)
	while IFS= read -r line; do
		# shellcheck disable=SC2086
		ip netns exec "$ns" iptables $line
		done=$((done + 1))
		if [ $((done % 50)) = 0 ]; then
			now=$(date +%s%N)
			[ $(((now - t0) / 1000000000)) -ge "$BUDGET" ] && break
		fi
	done <"$WORK/lines"
	now=$(date +%s%N)
	if [ "$done" = "$total" ]; then
		emit ctl iptables "$n" 1 per_rule_s "$(secs "$t0" "$now")"
	else
		emit ctl iptables "$n" 1 per_rule_done "$done/$total"
		emit ctl iptables "$n" 1 per_rule_lower_s \
			"$(awk -v s="$(secs "$t0" "$now")" -v d="$done" -v t="$total" 'BEGIN { printf "%.1f", s * t / d }')"
	fi
	ip netns delete "$ns"
}

# POST /api/peers one by one (one curl process, keep-alive) for at most
# BUDGET seconds.
per_peer_cellgate() {
	local n=$1 t0 now ok
	topo_wg
	cellgate_start "$n" empty || die "cellgate does not start"
	cg_api PUT /api/services/calendar \
		"{\"endpoints\":[{\"ip\":\"$SERVER\",\"proto\":\"any\",\"port\":0}]}" >/dev/null
	$GEN curl-posts "$n" "http://127.0.0.1:$API_PORT/api/peers" \
		"$(cat "$WORK/cg/api.token")" >"$WORK/posts"
	t0=$(date +%s%N)
	ip netns exec "$R" timeout "$BUDGET" curl -s -K "$WORK/posts" >"$WORK/posts.out" || true
	now=$(date +%s%N)
	ok=$(grep -c '^20[01]$' "$WORK/posts.out" || true)
	if [ "$ok" = "$n" ]; then
		emit ctl cellgate "$n" 1 per_peer_s "$(secs "$t0" "$now")"
	else
		emit ctl cellgate "$n" 1 per_peer_done "$ok/$n"
		emit ctl cellgate "$n" 1 per_peer_lower_s \
			"$(awk -v s="$(secs "$t0" "$now")" -v d="$ok" -v t="$n" 'BEGIN { printf "%.1f", d ? s * t / d : 0 }')"
	fi
	topo_down
}

# Item 5 at N: the controller's memory, its maps', /metrics.
cellgate_memory() {
	local n=$1 run=$2 wgpid t
	emit mem cellgate "$n" "$run" rss_kib "$(awk '/^VmRSS/ {print $2}' "/proc/$CG_PID/status")"
	wgpid=$(cat "$WORK/cg/state/wireguard-go.pid" 2>/dev/null || echo 0)
	[ -r "/proc/$wgpid/status" ] &&
		emit mem wireguard-go "$n" "$run" rss_kib "$(awk '/^VmRSS/ {print $2}' "/proc/$wgpid/status")"
	cg_api GET /metrics >"$WORK/metrics"
	emit mem cellgate "$n" "$run" map_bytes \
		"$(awk '/^cellgate_map_memory_bytes/ {s += $NF} END {printf "%d", s}' "$WORK/metrics")"
	t=$(ip netns exec "$R" curl -sSf -m 30 -o /dev/null -w '%{time_total}' \
		-H "Authorization: Bearer $(cat "$WORK/cg/api.token")" \
		"http://127.0.0.1:$API_PORT/metrics")
	emit mem cellgate "$n" "$run" scrape_s "$t"
}

task_install() {
	local n=$1 r
	for r in $(seq "$RUNS"); do
		progress "install N=$n: iptables-restore, ipset, cellgate from its state, run $r/$RUNS"
		ns_new "$PFX-x"
		emit ctl iptables "$n" "$r" restore_s \
			"$(load_rules iptables "$n" "${SH}w" "${SH}up" "${SH}br" "$PFX-x")"
		ip netns delete "$PFX-x"
		ns_new "$PFX-x"
		emit ctl ipset "$n" "$r" restore_s \
			"$(load_rules ipset "$n" "${SH}w" "${SH}up" "${SH}br" "$PFX-x")"
		ip netns delete "$PFX-x"
		if [ "$n" -ge "$WG_GO_MAX_PEERS" ]; then
			emit ctl cellgate "$n" "$r" bulk_s NA
			continue
		fi
		topo_wg
		if cellgate_start "$n" bulk; then
			emit ctl cellgate "$n" "$r" bulk_s "$CG_START_S"
			cellgate_memory "$n" "$r"
		else
			emit ctl cellgate "$n" "$r" bulk_s NA
		fi
		topo_down
	done
	[ "$MODE" = quick ] && return 0
	progress "install N=$n: per-rule iptables -A (budget ${BUDGET}s)"
	per_rule_iptables "$n"
	if [ "$n" -lt "$WG_GO_MAX_PEERS" ]; then
		progress "install N=$n: cellgate POST /api/peers one by one (budget ${BUDGET}s)"
		per_peer_cellgate "$n"
	fi
}

# ---- the control plane at scale: bulk import, one PUT ----------------------------------

# task_api N RUN: POST /api/peers/import of N peers into an empty cell
# (answered once maps and WireGuard hold them), beside iptables-restore of
# PIC's rules for the same N in the same task; then PUTS changes of one
# peer's service_access (keep-alive, one curl), each timed, at that N;
# then the controller's memory after that load.
task_api() {
	local n=$1 r=$2 out code t
	if [ "$n" -ge "$WG_GO_MAX_PEERS" ]; then
		progress "api N=$n: skipped (wireguard-go holds at most $WG_GO_MAX_PEERS peers)"
		emit api cellgate "$n" "$r" import_s NA
		return 0
	fi
	progress "api N=$n run $r/$RUNS: import beside iptables-restore, $PUTS PUTs"
	ns_new "$PFX-x"
	emit api iptables "$n" "$r" restore_s \
		"$(load_rules iptables "$n" "${SH}w" "${SH}up" "${SH}br" "$PFX-x")"
	ip netns delete "$PFX-x"
	topo_wg
	cellgate_start "$n" empty || die "cellgate does not start"
	cg_api PUT /api/services/calendar \
		"{\"endpoints\":[{\"ip\":\"$SERVER\",\"proto\":\"any\",\"port\":0}]}" >/dev/null
	$GEN import "$n" "$CLIENT_PUB" >"$WORK/import.json"
	out=$(ip netns exec "$R" curl -sS -m 600 -o "$WORK/import.out" \
		-w '%{http_code} %{time_total}' -X POST \
		-H "Authorization: Bearer $(cat "$WORK/cg/api.token")" \
		-H "Content-Type: application/json" --data-binary @"$WORK/import.json" \
		"http://127.0.0.1:$API_PORT/api/peers/import") || out="000 0"
	code=${out%% *} t=${out#* }
	if [ "$code" = 201 ]; then
		emit api cellgate "$n" "$r" import_s "$t"
	else
		log "bench: import of $n peers: HTTP $code: $(head -c 300 "$WORK/import.out")"
		emit api cellgate "$n" "$r" import_s NA
	fi
	$GEN curl-puts "$PUTS" "http://127.0.0.1:$API_PORT/api/peers/p$((n - 1))" \
		"$(cat "$WORK/cg/api.token")" >"$WORK/puts"
	ip netns exec "$R" curl -s -K "$WORK/puts" >"$WORK/puts.out" || true
	awk -v n="$n" -v r="$r" '$1 == 200 { printf "api\tcellgate\t%s\t%s\tput_ms\t%.3f\n", n, r, $2 * 1000 }' \
		"$WORK/puts.out" >>"$RESULTS/api.tsv"
	cg_api GET /api/peers >/dev/null # the largest answer: a listing
	# The API gives freed pages back after each request (malloc_trim
	# once it is answered): one more request, and that trim is done.
	cg_api GET /health >/dev/null
	emit api cellgate "$n" "$r" rss_after_api_kib \
		"$(awk '/^VmRSS/ {print $2}' "/proc/$CG_PID/status")"
	emit api cellgate "$n" "$r" rss_peak_kib \
		"$(awk '/^VmHWM/ {print $2}' "/proc/$CG_PID/status")"
	t=$(ip netns exec "$R" curl -sSf -m 30 -o /dev/null -w '%{time_total}' \
		-H "Authorization: Bearer $(cat "$WORK/cg/api.token")" \
		"http://127.0.0.1:$API_PORT/metrics") || t=NA
	emit api cellgate "$n" "$r" scrape_s "$t"
	topo_down
}

# ---- items 2, 4 (and 3's enforcement latency) over wireguard-go -------------------------

# task_wg COMPETITOR N RUN: one run, on a topology of its own. Runs of the
# competitors alternate (run 1 of each, then run 2 ...), so that a change
# in the machine's load spreads over all of them.
task_wg() {
	local comp=$1 n=$2 r=$3 v
	if [ "$n" -ge "$WG_GO_MAX_PEERS" ]; then
		progress "over wireguard-go $comp N=$n: skipped (wireguard-go holds at most $WG_GO_MAX_PEERS peers)"
		emit fwd "$comp" "$n" "$r" wg_tcp_bps NA
		return 0
	fi
	progress "over wireguard-go $comp N=$n run $r/$RUNS: setting up"
	topo_wg
	case $comp in
	cellgate)
		cellgate_start "$n" bulk || die "cellgate does not start"
		cg_api POST /api/forwards "{\"id\":\"bench\",\"proto\":\"tcp\",\"public_port\":$FWD_PORT,\"target_ip\":\"$SERVER\",\"target_port\":$FWD_PORT}" >/dev/null
		;;
	cg_*)
		cellgate_start "$n" bulk || die "cellgate does not start"
		cellgate_control "$comp"
		;;
	*)
		router_wg "$n" "$comp" "$r"
		[ "$comp" = none ] || load_rules "$comp" "$n" "${SH}w" "${SH}up" "${SH}br" "$R" >/dev/null
		;;
	esac
	if [ "$comp" = none ]; then
		# No NAT: the internet host routes the cell's networks back.
		ip -n "$I" route add 10.0.0.0/15 via "$UPLINK_IP"
		ip -n "$I" route add 172.20.0.0/24 via "$UPLINK_IP"
	fi
	client_wg "$n"
	bg_in "$S" iperf3 -s >/dev/null 2>&1
	wait_for 5 sh -c "ip netns exec $S ss -ltn | grep -q ':5201 '" || die "iperf3 -s"
	progress "over wireguard-go $comp N=$n run $r/$RUNS: TCP and UDP"
	v=$(iperf_tcp "$CW") || v=NA
	emit fwd "$comp" "$n" "$r" wg_tcp_bps "$v"
	[ "$comp" = cellgate ] && bpf_stats_begin "${SH}w"
	wg_udp_begin
	v=$(iperf_udp "$CW") || v=NA
	emit fwd "$comp" "$n" "$r" wg_udp_pps "$v"
	wg_udp_end "$comp" "$n" "$r"
	[ "$comp" = cellgate ] && bpf_stats_end "$comp" "$n" "$r"
	if [ "$r" = 1 ] && perf_begin "$comp" "$n"; then
		# An extra run, not counted: sampling costs throughput.
		iperf_udp "$CW" >/dev/null || true
		perf_end
	fi
	case $comp in cg_*) topo_down; return 0 ;; esac
	if [ "$MODE" = full ]; then
		progress "over wireguard-go $comp N=$n run $r/$RUNS: connection rate, masquerade and forward"
		v=$(conn_rate "$CW" "$I" "$INET_IP" "$MASQ_PORT" "$MASQ_PORT") || v=NA
		emit conn "$comp" "$n" "$r" masq_cps "${v:-NA}"
		if [ "$comp" = none ]; then
			v=$(conn_rate "$I" "$S" "$SERVER" "$FWD_PORT" "$FWD_PORT") || v=NA
		else
			v=$(conn_rate "$I" "$S" "$UPLINK_IP" "$FWD_PORT" "$FWD_PORT") || v=NA
		fi
		emit conn "$comp" "$n" "$r" fwd_cps "${v:-NA}"
	fi
	if [ "$comp" = cellgate ] && [ "$r" = 1 ] && [ "$MODE" != wg ]; then
		progress "cellgate N=$n: enforcement latency over $CHANGES changes"
		ip netns exec "$R" "$PROG_BENCH" --n "$n" --probe "$WORK/cg/cellgate.json" \
			--changes "$CHANGES" --peer "p$((n - 1))" --peer-ip "$(peer_ip $((n - 1)))" \
			>>"$RESULTS/ctl.tsv"
		cellgate_memory "$n" traffic
	fi
	topo_down
}

# task_wg_pair N: UDP over wireguard-go again, every set-up's topology
# kept and short tests alternated in rounds (wg_pair.sh): the runs above
# are tens of seconds apart, and on a shared machine the load's drift
# between them is larger than the differences they measure. Rows
# wg_udp_pair_ratio, one per round.
task_wg_pair() {
	local n=$1
	progress "over wireguard-go N=$n: UDP in paired rounds ($PAIR_ROUNDS)"
	WG_PAIR_N=$n WG_PAIR_ROUNDS=$PAIR_ROUNDS WG_PAIR_ROWS=$RESULTS/fwd.tsv \
		WG_PAIR_VARIANTS="none iptables ipset cellgate cg_nofilter" \
		"$here/wg_pair.sh" >>"$RESULTS/wg_pair-$n.txt" 2>&1 ||
		log "bench: paired rounds at N=$n failed: see $RESULTS/wg_pair-$n.txt"
}

# ---- item 2 over veth: the filter's cost alone -------------------------------------------

topo_veth() {
	local n=$1 cip mac_c mac_r
	R=$PFX-vr VC=$PFX-vc VS=$PFX-vs
	cip=$(peer_ip $((n - 1)))
	for ns in "$R" "$VC" "$VS"; do ns_new "$ns"; done
	ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
	ip link add "${SH}vi" netns "$R" type veth peer name eth0 netns "$VC"
	ip -n "$R" addr add 10.0.0.1/15 dev "${SH}vi"
	ip -n "$R" link set "${SH}vi" up
	ip -n "$VC" addr add "$cip/15" dev eth0
	ip -n "$VC" link set eth0 up
	ip -n "$VC" route add default via 10.0.0.1
	# cellgate's wg0 programs pass IPv4 only (WireGuard carries nothing
	# else): static neighbours, so no ARP needs to cross them.
	mac_c=$(ip -n "$VC" -j link show eth0 | jq -r '.[0].address')
	mac_r=$(ip -n "$R" -j link show "${SH}vi" | jq -r '.[0].address')
	ip -n "$VC" neigh replace 10.0.0.1 lladdr "$mac_r" dev eth0 nud permanent
	ip -n "$R" neigh replace "$cip" lladdr "$mac_c" dev "${SH}vi" nud permanent
	ip link add "${SH}vo" netns "$R" type veth peer name eth0 netns "$VS"
	ip -n "$R" addr add 172.20.0.1/24 dev "${SH}vo"
	ip -n "$R" link set "${SH}vo" up
	ip -n "$VS" addr add "$SERVER/24" dev eth0
	ip -n "$VS" link set eth0 up
	ip -n "$VS" route add default via 172.20.0.1
}

task_veth() {
	local comp=$1 n=$2 r=$3 v
	progress "over veth $comp N=$n run $r/$RUNS: setting up"
	topo_veth "$n"
	case $comp in
	none) ;;
	cellgate)
		ip netns exec "$R" "$PROG_BENCH" --n "$n" --attach "${SH}vi" ;;
	*)
		load_rules "$comp" "$n" "${SH}vi" "${SH}vu" "${SH}vo" "$R" >/dev/null ;;
	esac
	bg_in "$VS" iperf3 -s >/dev/null 2>&1
	wait_for 5 sh -c "ip netns exec $VS ss -ltn | grep -q ':5201 '" || die "iperf3 -s"
	progress "over veth $comp N=$n run $r/$RUNS: TCP and UDP"
	v=$(iperf_tcp "$VC") || v=NA
	emit fwd "$comp" "$n" "$r" veth_tcp_bps "$v"
	v=$(iperf_udp "$VC") || v=NA
	emit fwd "$comp" "$n" "$r" veth_udp_pps "$v"
	topo_down
}

# ---- the plan ------------------------------------------------------------------------------

COMPETITORS="none iptables ipset cellgate"
# Control rows over wireguard-go (lib.sh, cellgate_control): where the
# WireGuard path's time goes. Quick mode keeps the cheapest telling one.
CONTROLS="cg_detached cg_stopped cg_nofilter"
[ "$MODE" = quick ] && CONTROLS=cg_nofilter
if [ "$MODE" = wg ]; then
	COMPETITORS=${BENCH_WG:-none iptables cellgate cg_nofilter}
	CONTROLS=
fi
TASKS=()
# The PUT's cost against N needs a small N to compare with: 10 always.
API_N=$(echo 10 $N_LIST | tr ' ' '\n' | sort -nu | xargs)
[ "$MODE" = wg ] && API_N=
for n in $API_N; do
	TASKS+=("task_api $n 1")
done
for n in $N_LIST; do
	[ "$MODE" = api ] && break
	if [ "$MODE" != wg ]; then
		TASKS+=("task_prog $n")
		TASKS+=("task_install $n")
	fi
	for r in $(seq "$RUNS"); do
		for c in $COMPETITORS $CONTROLS; do
			# Beyond wireguard-go's limit, one task says so.
			[ "$n" -ge "$WG_GO_MAX_PEERS" ] && [ "$r" -gt 1 ] && continue
			TASKS+=("task_wg $c $n $r")
		done
	done
	if [ "$MODE" = full ]; then
		[ "$n" -lt "$WG_GO_MAX_PEERS" ] && [ "$PAIR_ROUNDS" -gt 0 ] &&
			TASKS+=("task_wg_pair $n")
		for r in $(seq "$RUNS"); do
			for c in $COMPETITORS; do TASKS+=("task_veth $c $n $r"); done
		done
	fi
done
TASK_TOTAL=${#TASKS[@]}
TASK_NO=0
log "bench ($MODE): N = $N_LIST, $RUNS run(s); results in $RESULTS"
for t in "${TASKS[@]}"; do
	TASK_NO=$((TASK_NO + 1))
	$t
done
ELAPSED=$(($(date +%s) - START))
log "bench: measured in ${ELAPSED}s"

# ---- the report ------------------------------------------------------------------------------

{
	echo "mode	$MODE"
	echo "n_list	$(cat "$RESULTS"/*.tsv | awk -F'\t' 'NF == 6 {print $3}' | sort -nu | xargs)"
	echo "runs	$RUNS"
	echo "iperf_seconds	$BENCH_T"
	echo "conns	$BENCH_CONNS"
	echo "budget_s	$BUDGET"
	echo "changes	$CHANGES"
	echo "puts	$PUTS"
	echo "repeat	$REPEAT"
	echo "single	$SINGLE"
	echo "elapsed_s	$ELAPSED"
	echo "date	$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "kernel	$(uname -r)"
	echo "cpu	$(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1)"
	echo "nproc	$(nproc)"
	echo "memory	$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
	echo "cellgate	$(git -C "$BENCH_ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "wireguard-go	$(dpkg-query -W -f='${Version}' wireguard-go 2>/dev/null)"
	echo "iptables	$(iptables -V)"
	echo "ipset	$(ipset -v | head -1)"
	echo "iperf3	$(iperf3 -v | head -1)"
	echo "clang	$(clang --version | head -1)"
} >"$RESULTS/machine.tsv"

if [ "$MODE" = wg ]; then
	# Each run's figures over no filter's of the same run (alternated, so
	# a ratio holds when the machine's load drifts between runs).
	awk -F'\t' '$1 == "fwd" && $5 ~ /^wg_/ { v[$3 " " $4 " " $5 " " $2] = $6; k[$3 " " $5 " " $2] = 1 }
		END { for (x in k) { split(x, a, " "); line = x ":";
			for (r = 1; (a[1] " " r " " a[2] " " a[3]) in v; r++) {
				y = v[a[1] " " r " " a[2] " " a[3]]; z = v[a[1] " " r " " a[2] " none"]
				line = line sprintf(" %s", (a[2] ~ /_(tcp_bps|udp_pps)$/ && z + 0 > 0) ? sprintf("%.3f", y / z) : y) }
			print line } }' "$RESULTS/fwd.tsv" | sort >&2
fi
if [ "$MODE" != full ]; then
	python3 "$here/report.py" --results "$RESULTS" --headline
else
	python3 "$here/report.py" --results "$RESULTS" \
		--out "$BENCH_ROOT/docs/BENCHMARKS.md" --plots "$BENCH_ROOT/docs/bench"
fi
