#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The control plane at fleet scale on kernel WireGuard (issue 16), run
# inside the Debian 6.1 VM by tests/kernels/guest.sh, step "scale", which
# runs only when CGK_STEPS names it (`make bench-kernels`): wireguard-go
# holds at most 65,536 peers, so 100k peers are measured here, on the
# kernel's WireGuard programmed over generic netlink.
#
# For each N of CGK_SCALE_N ("10 100000"), with the benchmarks' topology
# and generators (tests/bench/lib.sh, gen.py):
#   1. start from a state file of N peers until the API answers, and the
#      controller's own phases (its "started in" log line);
#   2. PUTS changes of one peer's service_access, each timed (p50, p99);
#   3. the periodic work: the controller's tick CPU over one full map
#      resync (30 s) and its WireGuard reconciles (every 5 s), idle;
#   4. its memory (VmRSS, VmHWM);
#   5. POST /api/peers/import of N peers into an empty cell (the VM's
#      kernel has no nf_tables: iptables-restore is compared on the host,
#      docs/BENCHMARKS.md).
# Rows "N<TAB>name<TAB>value" in $CGK_RESULTS/scale.tsv (or ./scale.tsv);
# tests/kernels/scale_report.sh renders them. No figure is asserted:
# speed is reported, never tested (a timed assertion under qemu would be
# noise); the script fails only when something does not work.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/../bench/lib.sh"

N_LIST=${CGK_SCALE_N:-10 100000}
PUTS=${CGK_SCALE_PUTS:-200}
IDLE_S=${CGK_SCALE_IDLE_S:-31} # one map resync (30 s) and six reconciles
OUT=${CGK_RESULTS:-.}/scale.tsv
RESULTS=$(mktemp -d) # emit's rows of the bench helpers (unused here)
: >"$OUT"

[ -d /sys/module/wireguard ] ||
	{ echo "SKIP: no kernel WireGuard (modprobe wireguard)"; exit 77; }

row() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$OUT"; echo "N=$1 $2 $3"; }
token() { cat "$WORK/cg/api.token"; }
rss_kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }

# The controller at debug level: its start phases and tick CPU are logged.
start_cell() {
	local n=$1 state=$2 t0 t1
	cellgate_config "$n"
	sed -i 's/"log_level": "warn"/"log_level": "debug"/' "$WORK/cg/cellgate.json"
	rm -f "$WORK/cg/state/"* 2>/dev/null || true
	[ "$state" = bulk ] && $GEN state "$n" "$CLIENT_PUB" >"$WORK/cg/state/state.json"
	: >"$WORK/cellgate.log"
	t0=$(date +%s%N)
	bg_in "$R" "$CELLGATE" --config "$WORK/cg/cellgate.json" run \
		</dev/null >>"$WORK/cellgate.log" 2>&1
	CG_PID=$LAST_PID
	wait_for 900 cg_api GET /health || {
		tail -5 "$WORK/cellgate.log" >&2
		die "cellgate does not start with $n peers"
	}
	t1=$(date +%s%N)
	START_S=$(secs "$t0" "$t1")
}

stop_cell() {
	kill_pid "$CG_PID"
	# The kernel device outlives the controller: a fresh one per run.
	ip -n "$R" link del "${SH}w" 2>/dev/null || true
	umount "$WORK/cg/bpf" 2>/dev/null || true
	rm -rf "$WORK/cg/bpf"
}

# p50 and p99 of the PUT times (ms) in FILE ("code seconds" lines).
put_quantiles() {
	awk '$1 == 200 { print $2 * 1000 }' "$1" | sort -n | awk '
		{ v[NR] = $1 }
		END {
			if (!NR) { print "NA NA"; exit }
			i50 = int(NR * 0.50 + 0.5); i99 = int(NR * 0.99 + 0.5)
			if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1
			printf "%.3f %.3f\n", v[i50], v[i99]
		}'
}

measure() {
	local n=$1 phases q cpu0 cpu1 out code
	start_cell "$n" bulk
	row "$n" start_s "$START_S"
	phases=$(grep -o 'started in .*' "$WORK/cellgate.log" | tail -n 1)
	row "$n" start_phases "\"${phases:-?}\""
	row "$n" wg_backend "$(ip netns exec "$R" wg show "${SH}w" peers >/dev/null 2>&1 &&
		[ ! -S "/var/run/wireguard/${SH}w.sock" ] && echo kernel || echo userspace)"
	row "$n" wg_peers "$(ip netns exec "$R" wg show "${SH}w" peers | grep -c .)"

	$GEN curl-puts "$PUTS" "http://127.0.0.1:$API_PORT/api/peers/p$((n - 1))" \
		"$(token)" >"$WORK/puts"
	ip netns exec "$R" curl -s -K "$WORK/puts" >"$WORK/puts.out" || true
	read -r p50 p99 <<<"$(put_quantiles "$WORK/puts.out")"
	row "$n" put_p50_ms "$p50"
	row "$n" put_p99_ms "$p99"

	cpu0=$(cg_api GET /metrics | awk '$1 == "cellgate_tick_cpu_seconds_total" {print $2}')
	sleep "$IDLE_S"
	cpu1=$(cg_api GET /metrics | awk '$1 == "cellgate_tick_cpu_seconds_total" {print $2}')
	row "$n" tick_cpu_ms_per_s "$(awk -v a="${cpu0:-0}" -v b="${cpu1:-0}" -v s="$IDLE_S" \
		'BEGIN { printf "%.2f", (b - a) * 1000 / s }')"
	row "$n" tick_max "\"$(grep -o 'tick CPU: .*' "$WORK/cellgate.log" |
		sort -t, -k3 | tail -n 1)\""
	cg_api GET /health >/dev/null
	row "$n" rss_mib "$(awk -v k="$(rss_kib "$CG_PID" VmRSS)" 'BEGIN { printf "%.1f", k / 1024 }')"
	row "$n" rss_peak_mib "$(awk -v k="$(rss_kib "$CG_PID" VmHWM)" 'BEGIN { printf "%.1f", k / 1024 }')"
	stop_cell

	start_cell "$n" empty
	# The imported peers use the service gen.py's state file carries.
	cg_api PUT /api/services/calendar \
		"{\"endpoints\":[{\"ip\":\"$SERVER\",\"proto\":\"any\",\"port\":0}]}" >/dev/null
	$GEN import "$n" "$CLIENT_PUB" >"$WORK/import.json"
	out=$(ip netns exec "$R" curl -sS -m 900 -o "$WORK/import.out" \
		-w '%{http_code} %{time_total}' -X POST \
		-H "Authorization: Bearer $(token)" \
		-H "Content-Type: application/json" --data-binary @"$WORK/import.json" \
		"http://127.0.0.1:$API_PORT/api/peers/import") || out="000 0"
	code=${out%% *}
	[ "$code" = 201 ] || die "import of $n peers: HTTP $code: $(head -c 300 "$WORK/import.out")"
	row "$n" import_s "${out#* }"
	row "$n" import_phases "\"$(grep -o 'imported .*' "$WORK/cellgate.log" | tail -n 1)\""
	row "$n" wg_peers_after_import "$(ip netns exec "$R" wg show "${SH}w" peers | grep -c .)"
	stop_cell
}

bench_begin
topo_wg
for n in $N_LIST; do
	echo "# N=$n"
	measure "$n"
done
rm -rf "$RESULTS"
echo "# scale: done"
