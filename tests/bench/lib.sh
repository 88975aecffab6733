# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Building blocks of the benchmarks (tests/bench/run.sh): namespaces, the
# competitors, the traffic tools, result rows.
#
# Over WireGuard (items 2, 4, 5 and the enforcement latency):
#
#   $PFX-cw: wireguard-go client, the last of the N peers (10.0.x.y/15)
#        | underlay 192.168.200.0/24
#   $PFX-r: router: WireGuard $SH"w" 10.0.0.1/15, bridge $SH"br"
#        |  172.20.0.1/24, uplink $SH"up" 203.0.113.1/24; the competitor
#        |                         \
#   $PFX-s: server 172.20.0.21      $PFX-i: "internet" 203.0.113.2
#
# Over veth (item 2, the filter's cost without WireGuard):
#
#   $PFX-vc (10.0.x.y/15) -- $PFX-vr (router) -- $PFX-vs (172.20.0.21)
#
# Everything is named from one random tag: namespaces "cgb-<tag>-*",
# interfaces "b<tag>*" (wireguard-go's UAPI sockets are machine-wide), so
# a benchmark never touches what it did not create.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CELLGATE=${CELLGATE:-$BENCH_ROOT/build/cellgate}
PROG_BENCH=${PROG_BENCH:-$BENCH_ROOT/build/bench/prog_bench}
CONN_STORM=${CONN_STORM:-$BENCH_ROOT/build/tests/conn_storm}
GEN="python3 $BENCH_ROOT/tests/bench/gen.py"

SERVER=172.20.0.21 # the "calendar" host: iperf3 and conn_storm servers
UPLINK_IP=203.0.113.1
INET_IP=203.0.113.2
FWD_PORT=9100 # the port forward (gen.py's FWD_PORT)
MASQ_PORT=9000 # conn_storm server on the internet host
API_PORT=8479 # cellgate's API, inside the router namespace

declare -a BENCH_PIDS=()

log() { printf '%s\n' "$*" >&2; }
die() { log "bench: error: $*"; exit 1; }

# ---- names, life and death ----------------------------------------------------

bench_begin() {
	local tag
	tag=$(printf '%04x' $((RANDOM % 65536)))
	PFX="cgb-$tag"
	SH="b$tag"
	WORK=$(mktemp -d "/run/cellgate-bench.$tag.XXXX")
	trap 'bench_teardown 2>/dev/null; rm -rf "$WORK"' EXIT
	trap 'exit 130' INT TERM
	(umask 077 && wg genkey >"$WORK/client.key" && wg genkey >"$WORK/router.key")
	CLIENT_PUB=$(wg pubkey <"$WORK/client.key")
	ROUTER_PUB=$(wg pubkey <"$WORK/router.key")
}

# bg_in NS CMD...: run CMD in namespace NS in the background, PID kept.
bg_in() {
	local ns=$1; shift
	ip netns exec "$ns" "$@" &
	BENCH_PIDS+=($!)
	LAST_PID=$!
}

kill_pid() {
	kill -TERM "$1" 2>/dev/null || return 0
	wait_for 5 sh -c "! kill -0 $1" || kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null || true
}

# wait_for SECONDS CMD...: poll every 20 ms until CMD succeeds.
wait_for() {
	local limit=$1; shift
	local end=$(($(date +%s%N) + limit * 1000000000))
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.02
	done
}

# Remove one topology (all namespaces, processes and mounts of it).
topo_down() {
	local pid ns m
	for pid in "${BENCH_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for f in "$WORK"/*.wgpid "$WORK"/cg/state/wireguard-go.pid; do
		[ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null
		rm -f "$f"
	done
	for pid in "${BENCH_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	BENCH_PIDS=()
	for ns in $(ip netns list | awk '{print $1}' | grep "^$PFX-" || true); do
		ip netns delete "$ns" 2>/dev/null || true
	done
	for m in $(awk -v w="$WORK" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r); do
		umount "$m" 2>/dev/null || true
	done
	# Interfaces of deleted namespaces vanish with them; wireguard-go
	# leaves its UAPI socket behind when it is killed.
	rm -f /var/run/wireguard/"$SH"*.sock
	rm -rf "$WORK/cg"
}

bench_teardown() { topo_down; }

ns_new() {
	ip netns add "$1"
	ip -n "$1" link set lo up
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
}

# peer_ip I: the address gen.py gives peer I (10.0.0.2 + I).
peer_ip() {
	local a=$((10 * 16777216 + 2 + $1))
	echo "$((a >> 24)).$(((a >> 16) & 255)).$(((a >> 8) & 255)).$((a & 255))"
}

# ---- the WireGuard topology -----------------------------------------------------

topo_wg() {
	R=$PFX-r CW=$PFX-cw S=$PFX-s I=$PFX-i
	local n
	for n in "$R" "$CW" "$S" "$I"; do ns_new "$n"; done
	ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
	ip link add "${SH}ul" netns "$R" type veth peer name eth0 netns "$CW"
	ip -n "$R" addr add 192.168.200.1/24 dev "${SH}ul"
	ip -n "$R" link set "${SH}ul" up
	ip -n "$CW" addr add 192.168.200.2/24 dev eth0
	ip -n "$CW" link set eth0 up
	ip -n "$R" link add "${SH}br" type bridge
	ip -n "$R" addr add 172.20.0.1/24 dev "${SH}br"
	ip -n "$R" link set "${SH}br" up
	ip link add "${SH}s" netns "$R" type veth peer name eth0 netns "$S"
	ip -n "$R" link set "${SH}s" master "${SH}br" up
	ip -n "$S" addr add "$SERVER/24" dev eth0
	ip -n "$S" link set eth0 up
	ip -n "$S" route add default via 172.20.0.1
	ip link add "${SH}up" netns "$R" type veth peer name eth0 netns "$I"
	ip -n "$R" addr add "$UPLINK_IP/24" dev "${SH}up"
	ip -n "$R" link set "${SH}up" up
	ip -n "$I" addr add "$INET_IP/24" dev eth0
	ip -n "$I" link set eth0 up
	# The internet host stands for a wire: complete checksums (XDP sees
	# partial ones from a local stack as they are; see the README).
	ip netns exec "$I" ethtool -K eth0 tx off >/dev/null
}

# The router's WireGuard for the competitors other than cellgate: what PIC
# runs, wireguard-go with the N peers (`wg setconf`, timed: row wg_setconf_s).
# router_wg N COMPETITOR RUN
router_wg() {
	local n=$1 comp=$2 run=$3 t0 t1
	WG_PROCESS_FOREGROUND=1 bg_in "$R" wireguard-go "${SH}w"
	echo "$LAST_PID" >"$WORK/router.wgpid"
	wait_for 5 test -S "/var/run/wireguard/${SH}w.sock" || die "router wireguard-go"
	$GEN wg-conf "$n" "$CLIENT_PUB" "$(cat "$WORK/router.key")" >"$WORK/wg.conf"
	t0=$(date +%s%N)
	ip netns exec "$R" wg setconf "${SH}w" "$WORK/wg.conf"
	t1=$(date +%s%N)
	emit ctl "$comp" "$n" "$run" wg_setconf_s "$(secs "$t0" "$t1")"
	ip -n "$R" addr add 10.0.0.1/15 dev "${SH}w"
	ip -n "$R" link set "${SH}w" up
}

# The client: wireguard-go with the tested peer's key, everything over it.
client_wg() {
	local n=$1 ip
	ip=$(peer_ip $((n - 1)))
	WG_PROCESS_FOREGROUND=1 bg_in "$CW" wireguard-go "${SH}c"
	echo "$LAST_PID" >"$WORK/client.wgpid"
	wait_for 5 test -S "/var/run/wireguard/${SH}c.sock" || die "client wireguard-go"
	ip netns exec "$CW" wg set "${SH}c" private-key "$WORK/client.key" \
		peer "$ROUTER_PUB" endpoint 192.168.200.1:51820 \
		allowed-ips 0.0.0.0/0 persistent-keepalive 25
	ip -n "$CW" addr add "$ip/15" dev "${SH}c"
	ip -n "$CW" link set "${SH}c" up
	ip -n "$CW" route add default dev "${SH}c"
	# The first handshake after links come up is often lost and retried
	# only after 5 s: poll for it, bounded.
	wait_for 30 sh -c "ip netns exec $CW wg show ${SH}c latest-handshakes | awk '{exit !(\$2 > 0)}'" ||
		die "no WireGuard handshake"
}

# ---- competitors -------------------------------------------------------------------

# load_rules KIND N WG UPLINK BRIDGE NS: PIC's rules (iptables) or the
# set-based ones (ipset), loaded in NS; prints the seconds it took.
load_rules() {
	local kind=$1 n=$2 wg=$3 up=$4 br=$5 ns=$6 t0 t1
	if [ "$kind" = iptables ]; then
		$GEN pic-rules "$n" "$wg" "$up" "$br" >"$WORK/rules"
		t0=$(date +%s%N)
		ip netns exec "$ns" iptables-restore <"$WORK/rules"
		t1=$(date +%s%N)
	else
		$GEN ipset "$n" "$wg" "$up" "$br" >"$WORK/ipset.all"
		sed '/^COMMIT-IPSET$/,$d' "$WORK/ipset.all" >"$WORK/ipset"
		sed '1,/^COMMIT-IPSET$/d' "$WORK/ipset.all" >"$WORK/rules"
		t0=$(date +%s%N)
		ip netns exec "$ns" ipset restore <"$WORK/ipset"
		ip netns exec "$ns" iptables-restore <"$WORK/rules"
		t1=$(date +%s%N)
	fi
	secs "$t0" "$t1"
}

# ipset sets live in the network namespace; removed with it.

# cellgate's config for the router namespace; max_peers fits N.
cellgate_config() {
	local n=$1 max=$(($1 + 16))
	[ "$max" -lt 1024 ] && max=1024
	mkdir -p "$WORK/cg/state" "$WORK/cg/bpf"
	mountpoint -q "$WORK/cg/bpf" || mount -t bpf bpf "$WORK/cg/bpf"
	cp "$WORK/router.key" "$WORK/cg/wg.key"
	cat >"$WORK/cg/cellgate.json" <<-EOF
	{
	  "cell_name": "bench", "domain": "bench.cell",
	  "wireguard": {"interface": "${SH}w", "address": "10.0.0.1/15",
	                "listen_port": 51820, "private_key_file": "$WORK/cg/wg.key",
	                "endpoint": "192.168.200.1:51820"},
	  "bridge": {"interface": "${SH}br"},
	  "uplink": {"interface": "${SH}up"},
	  "api": {"listen": "127.0.0.1:$API_PORT", "token_file": "$WORK/cg/api.token"},
	  "state_dir": "$WORK/cg/state",
	  "bpffs": "$WORK/cg/bpf",
	  "log_level": "warn",
	  "limits": {"max_peers": $max}
	}
	EOF
}

# cellgate_start N STATE: the controller in $R with a state file of N peers
# (STATE: "bulk") or none ("empty"); sets CG_PID, and CG_START_S to the
# seconds from exec to the API answering, which comes after the maps are
# written, the programs attached and WireGuard programmed
# (controller_start). Not in a subshell: CG_PID must survive.
cellgate_start() {
	local n=$1 t0 t1
	cellgate_config "$n"
	[ "$2" = bulk ] && $GEN state "$n" "$CLIENT_PUB" >"$WORK/cg/state/state.json"
	t0=$(date +%s%N)
	bg_in "$R" "$CELLGATE" --config "$WORK/cg/cellgate.json" run \
		</dev/null >>"$WORK/cellgate.log" 2>&1
	CG_PID=$LAST_PID
	wait_for 600 cg_api GET /health || {
		tail -5 "$WORK/cellgate.log" >&2
		return 1
	}
	t1=$(date +%s%N)
	CG_START_S=$(secs "$t0" "$t1")
}

# cellgate_control KIND: turn a running cellgate into a control row.
#   cg_detached  the controller runs, its programs detached
#   cg_stopped   the programs attached, the controller stopped
#   cg_nofilter  neither: only the wireguard-go cellgate started
cellgate_control() {
	case $1 in
	cg_detached | cg_nofilter)
		ip netns exec "$R" "$CELLGATE" --config "$WORK/cg/cellgate.json" \
			detach >>"$WORK/cellgate.log" 2>&1 ;;
	esac
	case $1 in
	cg_stopped | cg_nofilter) kill_pid "$CG_PID" ;;
	esac
}

# bpf_stats_begin IFNAME / bpf_stats_end COMP N RUN: the tc programs' own
# ns per packet on IFNAME during a traffic run (kernel.bpf_stats_enabled,
# machine-wide, put back as it was): rows bpf_ns.<prog name>.
bpf_stats_begin() {
	BPF_STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
	BPF_STATS_IDS=$(ip netns exec "$R" bpftool -j net show dev "$1" |
		jq -r '.[0].tc[]?.id' | sort -u)
	BPF_STATS0=$(bpf_stats_now)
}

bpf_stats_now() {
	local id
	for id in $BPF_STATS_IDS; do
		bpftool -j prog show id "$id" |
			jq -r '"\(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"'
	done
}

bpf_stats_end() {
	sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_OLD"
	printf '%s\n' "$BPF_STATS0" >"$WORK/stats0"
	bpf_stats_now | awk -v f="$WORK/stats0" '
		BEGIN { while ((getline l < f) > 0) { split(l, a, " "); t[a[1]] = a[2]; c[a[1]] = a[3] } }
		$3 > c[$1] { printf "%s %.1f\n", $1, ($2 - t[$1]) / ($3 - c[$1]) }' |
		while read -r name ns; do emit fwd "$1" "$2" "$3" "bpf_ns.$name" "$ns"; done
}

# perf_begin COMP N / perf_end: the machine's CPUs sampled during the run
# (linux-perf), top symbols in RESULTS/perf-COMP-N.txt; fails without
# perf or with BENCH_PERF=0.
perf_begin() {
	PERF_PID=
	[ "${BENCH_PERF:-1}" = 1 ] && command -v perf >/dev/null || return 1
	perf record -a -g -F 499 -o "$WORK/perf.data" >/dev/null 2>&1 &
	PERF_PID=$!
	PERF_OUT="$RESULTS/perf-$1-$2.txt"
}

perf_end() {
	[ -n "${PERF_PID:-}" ] || return 0
	kill -INT "$PERF_PID" 2>/dev/null
	wait "$PERF_PID" 2>/dev/null || true
	perf report -i "$WORK/perf.data" --no-children -g none --sort comm,sym \
		--stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -25 >"$PERF_OUT"
	rm -f "$WORK/perf.data"
	PERF_PID=
}

# wg_udp_begin / wg_udp_end COMP N RUN: around a UDP run over wireguard-go,
# where the datagrams the router did not forward went: the CPU seconds
# the router's wireguard-go used (wg_udp_wggo_cpu_s) and the datagrams
# the kernel dropped because its UDP socket was full
# (wg_udp_rcvbuf_drops, UdpRcvbufErrors of the router's namespace).
router_wg_pid() {
	cat "$WORK/cg/state/wireguard-go.pid" "$WORK/router.wgpid" 2>/dev/null | head -1
}

proc_cpu_ticks() {
	# utime + stime, fields 14 and 15 after the "(comm)" one
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}'
}

udp_rcvbuf_errors() {
	ip netns exec "$R" awk '/^Udp:/ && $2 ~ /^[0-9]/ {print $6}' /proc/net/snmp
}

wg_udp_begin() {
	WG_UDP_PID=$(router_wg_pid)
	WG_UDP_T0=$(proc_cpu_ticks "$WG_UDP_PID")
	WG_UDP_D0=$(udp_rcvbuf_errors)
}

wg_udp_end() {
	local t1 d1 hz
	t1=$(proc_cpu_ticks "$WG_UDP_PID")
	d1=$(udp_rcvbuf_errors)
	hz=$(getconf CLK_TCK)
	[ -n "$WG_UDP_T0" ] && [ -n "$t1" ] &&
		emit fwd "$1" "$2" "$3" wg_udp_wggo_cpu_s \
			"$(awk -v a="$WG_UDP_T0" -v b="$t1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')"
	[ -n "$WG_UDP_D0" ] && [ -n "$d1" ] &&
		emit fwd "$1" "$2" "$3" wg_udp_rcvbuf_drops "$((d1 - WG_UDP_D0))"
	return 0
}

# cg_api METHOD PATH [BODY]: the admin API, body on stdout, 2xx or fail.
cg_api() {
	ip netns exec "$R" curl -sSf -m 30 -X "$1" \
		-H "Authorization: Bearer $(cat "$WORK/cg/api.token" 2>/dev/null)" \
		${3:+-H "Content-Type: application/json" --data-binary "$3"} \
		"http://127.0.0.1:$API_PORT$2"
}

# ---- traffic ---------------------------------------------------------------------------

# iperf3 client from NS to the server; prints bits/s (TCP) or received
# datagrams/s (UDP, 64-byte payloads, unlimited rate).
iperf_tcp() {
	ip netns exec "$1" timeout $((BENCH_T + 15)) iperf3 -c "$SERVER" \
		-t "$BENCH_T" -J --connect-timeout 3000 2>/dev/null |
		jq -e '.end.sum_received.bits_per_second'
}

iperf_udp() {
	ip netns exec "$1" timeout $((BENCH_T + 15)) iperf3 -c "$SERVER" -u \
		-l 64 -b 0 -t "$BENCH_T" -J --connect-timeout 3000 2>/dev/null |
		jq -e '.end.sum | (.packets - .lost_packets) / .seconds'
}

# conn_rate CLIENT_NS SERVER_NS DST_IP DST_PORT LISTEN_PORT: K concurrent
# TCP connections opened and round-tripped at once (tests/tools/
# conn_storm); prints connections/s, or fails if any did not make it.
conn_rate() {
	local cns=$1 sns=$2 ip=$3 port=$4 lport=$5 out spid
	bg_in "$sns" "$CONN_STORM" server "$lport" "$BENCH_CONNS" 60 >/dev/null 2>&1
	spid=$LAST_PID
	wait_for 5 sh -c "ip netns exec $sns ss -ltn | grep -q ':$lport '" || return 1
	out=$(ip netns exec "$cns" timeout 90 "$CONN_STORM" client "$ip" "$port" \
		"$BENCH_CONNS" 60 2>&1) || { kill_pid "$spid"; return 1; }
	kill_pid "$spid"
	echo "$out" | sed -n 's/^rate: .* s, \([0-9.]*\) connections\/s$/\1/p'
}

# ---- results ---------------------------------------------------------------------------

# emit ITEM COMPETITOR N RUN METRIC VALUE: one row of build/bench/results.
emit() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS/$1.tsv"
}

# secs T0_NS T1_NS: the difference in seconds.
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", (b - a) / 1e9 }'; }

# progress TEXT: "[k/total] TEXT" on stderr.
progress() { log "[$TASK_NO/$TASK_TOTAL] $*"; }
