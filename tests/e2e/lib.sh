# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Building blocks for cells in network namespaces, shared by the end-to-end
# tests and the demo. A cell is:
#
#   peer namespaces (wireguard-go)            inet namespace (203.0.113.2)
#        \  underlay bridge "ul" (192.168.10N.0/24)   /
#         [ router namespace: cellgate, wg (10.0.N.1/24), bridge "br" ]
#                                      |
#                service namespaces on 172.20.N.0/24 (socat servers)
#
# Everything a cell creates is named from one prefix, so concurrent runs
# (a demo and a test) never collide: namespaces "$PREFIX-<cell>-<role>",
# interfaces "<short><cell index><role>" (15 chars at most, and unique
# machine-wide because wireguard-go's UAPI socket path is global).
#
# Callers set PREFIX (namespaces), SHORT (<= 6 chars, interfaces) and
# WORK (a directory for configs, keys, logs and PID files). Role names of
# services and peers are at most 6 characters.

CELLGATE=${CELLGATE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/cellgate}
WAIT_STEP=0.1

# PIDs of background processes we started, killed by cleanup.
declare -a STARTED_PIDS=()

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Run "$@" in the background inside namespace ns and remember the PID.
# `ip netns exec` execs the command, so $! is the command's own PID.
bg_in() {
	local ns=$1; shift
	ip netns exec "$ns" "$@" &
	STARTED_PIDS+=($!)
	LAST_PID=$!
	echo "$LAST_PID" >>"$WORK/pids" # for a teardown from another shell
}

# wait_for SECONDS CMD...: poll until CMD succeeds; fail after SECONDS.
wait_for() {
	local limit=$1; shift
	local steps=$((limit * 10)) i
	for ((i = 0; i < steps; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep "$WAIT_STEP"
	done
	return 1
}

ns_of() { echo "$PREFIX-$1-$2"; }              # cell role
if_of() { echo "${SHORT}$1$2"; }               # cell-index role

# cell_topology NAME INDEX: namespaces, underlay, bridge, inet link.
# INDEX (0-9) picks the cell's subnets: 10.0.INDEX.0/24, 172.20.INDEX.0/24.
cell_topology() {
	local cell=$1 n=$2
	local r i
	r=$(ns_of "$cell" r)
	ip netns add "$r"
	ip -n "$r" link set lo up
	ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
	# Underlay bridge the peers reach the router's WireGuard port on.
	# It gets a MAC of its own: left unset, a bridge takes the lowest of
	# its ports' and changes it when a port with a lower one joins; a
	# peer that resolved the router before then keeps sending to the old
	# MAC, which the bridge takes in as another host's frame and IP
	# drops (test_exits' bob, one run in seven). (The service bridge's
	# hosts come before the controller, and test_spoof pins its MAC
	# itself where a host comes later.)
	ip -n "$r" link add ul address "02:00:00:00:0$n:01" type bridge
	ip -n "$r" addr add "192.168.10$n.1/24" dev ul
	ip -n "$r" link set ul up
	# Service bridge.
	ip -n "$r" link add "$(if_of "$n" br)" type bridge
	ip -n "$r" addr add "172.20.$n.1/24" dev "$(if_of "$n" br)"
	ip -n "$r" link set "$(if_of "$n" br)" up
	# "Internet": one host behind the router's uplink.
	i=$(ns_of "$cell" inet)
	ip netns add "$i"
	ip -n "$i" link set lo up
	ip link add "$(if_of "$n" up)" netns "$r" type veth peer name eth0 netns "$i"
	ip -n "$r" addr add "203.0.113.1/24" dev "$(if_of "$n" up)"
	ip -n "$r" link set "$(if_of "$n" up)" up
	ip -n "$i" addr add 203.0.113.2/24 dev eth0
	ip -n "$i" link set eth0 up
	# Offloads stay at the veth defaults: the internet host sends partial
	# checksums, as any container does (test_nat.sh checks both kinds).
	# No NAT yet: the internet host routes the cell's subnets back.
	ip -n "$i" route add "10.0.$n.0/24" via 203.0.113.1
	mkdir -p "$WORK/$cell"
	echo "$n" >"$WORK/$cell/index"
}

# cell_service CELL INDEX NAME LAST_OCTET: a namespace on the bridge.
cell_service() {
	local cell=$1 n=$2 name=$3 octet=$4
	local r s
	r=$(ns_of "$cell" r)
	s=$(ns_of "$cell" "$name")
	ip netns add "$s"
	ip -n "$s" link set lo up
	ip link add "$(if_of "$n" "$name")" netns "$r" type veth peer name eth0 netns "$s"
	ip -n "$r" link set "$(if_of "$n" "$name")" master "$(if_of "$n" br)" up
	ip -n "$s" addr add "172.20.$n.$octet/24" dev eth0
	ip -n "$s" link set eth0 up
	ip -n "$s" route add default via "172.20.$n.1"
}

# tcp_server NS PORT BANNER: answer every connection with BANNER.
tcp_server() {
	bg_in "$1" socat "TCP-LISTEN:$2,fork,reuseaddr" "SYSTEM:echo $3" \
		</dev/null >>"$WORK/servers.log" 2>&1
}

# http_server NS PORT TEXT: a one-line HTTP/1.0 server (for curl). The
# response is a file: socat's address syntax would mangle escapes.
http_server() {
	local f
	f=$(mktemp "$WORK/http.XXXXXX")
	printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n%s\n' "$3" >"$f"
	bg_in "$1" socat "TCP-LISTEN:$2,fork,reuseaddr" "SYSTEM:cat $f" \
		</dev/null >>"$WORK/servers.log" 2>&1
}

# udp_server NS PORT BANNER: answer every datagram with BANNER.
udp_server() {
	bg_in "$1" socat "UDP-RECVFROM:$2,fork,reuseaddr" "SYSTEM:echo $3" \
		</dev/null >>"$WORK/servers.log" 2>&1
}

# addr_server NS PORT [udp]: answer with the client's address and port as
# the server sees them ("203.0.113.1:40000"), to check what NAT did.
addr_server() {
	local ns=$1 port=$2 f
	f=$(mktemp "$WORK/peer.XXXXXX.sh")
	printf '#!/bin/sh\necho "$SOCAT_PEERADDR:$SOCAT_PEERPORT"\n' >"$f"
	chmod +x "$f"
	if [ "${3:-}" = udp ]; then
		bg_in "$ns" socat "UDP-RECVFROM:$port,fork,reuseaddr" "SYSTEM:$f" \
			</dev/null >>"$WORK/servers.log" 2>&1
	else
		bg_in "$ns" socat "TCP-LISTEN:$port,fork,reuseaddr" "SYSTEM:$f" \
			</dev/null >>"$WORK/servers.log" 2>&1
	fi
}

# tcp_get NS IP PORT: print what the server at IP:PORT says (2 s limit).
tcp_get() {
	ip netns exec "$1" timeout 3 socat -T2 - "TCP:$2:$3,connect-timeout=2" </dev/null 2>/dev/null
}

udp_get() {
	echo ping | ip netns exec "$1" timeout 3 socat -T2 - "UDP:$2:$3" 2>/dev/null
}

# write_cell_config CELL INDEX API_PORT: the controller's bootstrap config.
write_cell_config() {
	local cell=$1 n=$2 port=$3
	local d="$WORK/$cell"
	mkdir -p "$d/state" "$d/bpf"
	mountpoint -q "$d/bpf" || mount -t bpf bpf "$d/bpf"
	[ -f "$d/wg.key" ] || (umask 077 && wg genkey >"$d/wg.key")
	cat >"$d/cellgate.json" <<-EOF
	{
	  "cell_name": "$cell",
	  "domain": "$cell.cell",
	  "wireguard": {"interface": "$(if_of "$n" wg)", "address": "10.0.$n.1/24",
	                "listen_port": 51820, "private_key_file": "$d/wg.key",
	                "endpoint": "192.168.10$n.1:51820"},
	  "bridge": {"interface": "$(if_of "$n" br)"},
	  "uplink": {"interface": "$(if_of "$n" up)"},
	  "api": {"listen": "127.0.0.1:$port", "token_file": "$d/api.token"},
	  "state_dir": "$d/state",
	  "bpffs": "$d/bpf",
	  "limits": {"max_peers": 1024, "conntrack_tcp": 16384, "conntrack_other": 8192}
	}
	EOF
}

# enable_metrics CELL PORT: a metrics listener (no token) on
# 127.0.0.1:PORT in the router namespace. Call it before start_controller.
enable_metrics() {
	sed -i "s|^  \"api\": |  \"metrics\": {\"listen\": \"127.0.0.1:$2\"},\n  \"api\": |" \
		"$WORK/$1/cellgate.json"
}

# link_wan CELL_A INDEX_A CELL_B INDEX_B: a "wan" link between two cells'
# routers (198.18.INDEX_A.0/30), each cell's endpoint on it, so the cells
# can reach each other's WireGuard and pairing listener. Call it after
# write_cell_config, before start_controller.
link_wan() {
	local a=$1 na=$2 b=$3 nb=$4
	local ra rb
	ra=$(ns_of "$a" r)
	rb=$(ns_of "$b" r)
	ip link add "${SHORT}w$na" netns "$ra" type veth peer name "${SHORT}w$nb" netns "$rb"
	ip -n "$ra" addr add "198.18.$na.1/30" dev "${SHORT}w$na"
	ip -n "$ra" link set "${SHORT}w$na" up
	ip -n "$rb" addr add "198.18.$na.2/30" dev "${SHORT}w$nb"
	ip -n "$rb" link set "${SHORT}w$nb" up
	sed -i "s/\"endpoint\": \"[0-9.]*:51820\"/\"endpoint\": \"198.18.$na.1:51820\"/" "$WORK/$a/cellgate.json"
	sed -i "s/\"endpoint\": \"[0-9.]*:51820\"/\"endpoint\": \"198.18.$na.2:51820\"/" "$WORK/$b/cellgate.json"
}

# start_controller CELL: run cellgate in the cell's router namespace.
start_controller() {
	local cell=$1 d="$WORK/$1"
	bg_in "$(ns_of "$cell" r)" "$CELLGATE" --config "$d/cellgate.json" run \
		</dev/null >>"$d/cellgate.log" 2>&1
	echo "$LAST_PID" >"$d/cellgate.pid"
	wait_for 10 api "$cell" GET /health || {
		tail -20 "$d/cellgate.log" >&2
		return 1
	}
	return 0
}

# state_of STATE_FILE: the state as the controller loads it, the snapshot
# with the lines of its journal applied (state.json.journal.<G> from the
# snapshot's "journal" on; ctl/state/state_journal.c), pretty-printed.
state_of() {
	local f=$1 g files=() snap='{"version":1,"services":[],"peers":[]}'
	[ -e "$f" ] && snap=$(cat "$f")
	g=$(echo "$snap" | jq -r '.journal // 0') || return 1
	while [ -e "$f.journal.$g" ]; do
		files+=("$f.journal.$g")
		g=$((g + 1))
	done
	# Removal as the controller does it: forwards keep their order, the
	# other lists move their last element into the hole.
	jq -n --slurpfile s <(echo "$snap") '
		def key($k): {forward: "id", cell: "cell_name"}[$k] // "name";
		def apply($c): ($c.kind + "s") as $l | key($c.kind) as $k |
			if $c.op == "add" then .[$l] += [$c.record]
			elif $c.op == "replace" then
				.[$l] |= map(if .[$k] == $c.name then $c.record else . end)
			elif $c.kind == "forward" then
				.[$l] |= map(select(.[$k] != $c.name))
			else
				(.[$l] | map(.[$k]) | index($c.name)) as $i |
				.[$l] |= (.[$i] = .[-1] | del(.[-1]))
			end;
		reduce inputs as $line ($s[0]; reduce $line.changes[] as $c (.; apply($c)))
		| del(.journal)' /dev/null ${files[@]+"${files[@]}"}
}

# state_bytes STATE_FILE: the snapshot and its journal files as they are
# (what a rejected call must leave unchanged).
state_bytes() {
	cat "$1" "$1".journal.* 2>/dev/null
}

stop_controller() {
	local d="$WORK/$1" sig=${2:-TERM} pid
	pid=$(cat "$d/cellgate.pid" 2>/dev/null) || return 0
	kill "-$sig" "$pid" 2>/dev/null
	wait_for 10 sh -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null # reap it quietly (no "Killed" job notice)
	rm -f "$d/cellgate.pid"
}

# api CELL METHOD PATH [BODY]: call the admin API from the router
# namespace; prints the body, then the status on the last line.
api() {
	local cell=$1 method=$2 path=$3 body=${4-} d="$WORK/$1" port
	port=$(sed -n 's/.*"api": {"listen": "127.0.0.1:\([0-9]*\)".*/\1/p' "$d/cellgate.json")
	ip netns exec "$(ns_of "$cell" r)" curl -sS -m 5 -X "$method" \
		-H "Authorization: Bearer $(cat "$d/api.token" 2>/dev/null)" \
		${body:+-H "Content-Type: application/json" --data-binary "$body"} \
		-w '\n%{http_code}' "http://127.0.0.1:$port$path"
}

# api_ok CELL METHOD PATH [BODY]: like api, but fail unless 2xx.
api_ok() {
	local out code
	out=$(api "$@") || return 1
	code=${out##*$'\n'}
	[ "${code:0:1}" = 2 ] || { log "API $2 $3 -> $out"; return 1; }
	printf '%s\n' "${out%$'\n'*}"
}

# add_peer CELL INDEX NAME OCTET JSON_EXTRA: a WireGuard peer namespace
# running wireguard-go (a kernel WireGuard link with WG_PEERS=kernel),
# registered with the cell's API.
add_peer() {
	local cell=$1 n=$2 name=$3 octet=$4 extra=${5:-}
	local p d="$WORK/$cell" key pub rpub ifn
	p=$(ns_of "$cell" "$name")
	ifn=$(if_of "$n" "$name")
	ip netns add "$p"
	ip -n "$p" link set lo up
	ip link add "${ifn}u" netns "$(ns_of "$cell" r)" type veth peer name eth0 netns "$p"
	ip -n "$(ns_of "$cell" r)" link set "${ifn}u" master ul up
	ip -n "$p" addr add "192.168.10$n.$octet/24" dev eth0
	ip -n "$p" link set eth0 up
	key="$d/$name.key"
	(umask 077 && wg genkey >"$key")
	pub=$(wg pubkey <"$key")
	rpub=$(wg pubkey <"$d/wg.key")
	api_ok "$cell" POST /api/peers \
		"{\"name\":\"$name\",\"public_key\":\"$pub\",\"ip\":\"10.0.$n.$octet\"$extra}" >/dev/null || return 1
	if [ "${WG_PEERS:-go}" = kernel ]; then
		# Kernel WireGuard (tests/kernels/, Debian's 6.1): a link.
		ip -n "$p" link add "$ifn" type wireguard || return 1
	else
		WG_PROCESS_FOREGROUND=1 bg_in "$p" wireguard-go "$ifn" \
			</dev/null >>"$d/$name.wg.log" 2>&1
		echo "$LAST_PID" >"$d/$name.wg.pid"
		wait_for 5 test -S "/var/run/wireguard/$ifn.sock" || return 1
	fi
	ip netns exec "$p" wg set "$ifn" private-key "$key" \
		peer "$rpub" endpoint "192.168.10$n.1:51820" allowed-ips 0.0.0.0/0 \
		persistent-keepalive 25
	ip -n "$p" addr add "10.0.$n.$octet/24" dev "$ifn"
	ip -n "$p" link set "$ifn" up
	ip -n "$p" route add default dev "$ifn"
	echo "$ifn" >"$d/$name.if"
}

# peer_from_config CELL INDEX NAME OCTET CONF: a peer namespace whose
# WireGuard is configured from a wg-quick client config rendered by the
# cell (Address/DNS are wg-quick fields: applied with ip, not wg).
peer_from_config() {
	local cell=$1 n=$2 name=$3 octet=$4 conf=$5
	local p d="$WORK/$cell" ifn addr
	p=$(ns_of "$cell" "$name")
	ifn=$(if_of "$n" "$name")
	ip netns add "$p"
	ip -n "$p" link set lo up
	ip link add "${ifn}u" netns "$(ns_of "$cell" r)" type veth peer name eth0 netns "$p"
	ip -n "$(ns_of "$cell" r)" link set "${ifn}u" master ul up
	ip -n "$p" addr add "192.168.10$n.$octet/24" dev eth0
	ip -n "$p" link set eth0 up
	WG_PROCESS_FOREGROUND=1 bg_in "$p" wireguard-go "$ifn" \
		</dev/null >>"$d/$name.wg.log" 2>&1
	wait_for 5 test -S "/var/run/wireguard/$ifn.sock" || return 1
	grep -Ev '^(Address|DNS) *=' "$conf" >"$d/$name.wg.conf"
	ip netns exec "$p" wg setconf "$ifn" "$d/$name.wg.conf" || return 1
	addr=$(sed -n 's/^Address *= *//p' "$conf")
	ip -n "$p" addr add "$addr" dev "$ifn"
	ip -n "$p" link set "$ifn" up
	ip -n "$p" route add default dev "$ifn"
	echo "$ifn" >"$d/$name.if"
}

# The ACL walk of cell $CELL, as every suite spells it:
# reach PEER IP PORT BANNER: a TCP connection from PEER gets BANNER;
# blocked PEER IP PORT: it gets nothing; ureach: reach over UDP.
reach() { [ "$(tcp_get "$(ns_of $CELL "$1")" "$2" "$3")" = "$4" ]; }
blocked() { [ -z "$(tcp_get "$(ns_of $CELL "$1")" "$2" "$3")" ]; }
ureach() { [ "$(udp_get "$(ns_of $CELL "$1")" "$2" "$3")" = "$4" ]; }
# drops PEER REASON: the peer's drop counter for REASON, from the API.
drops() {
	api_ok $CELL GET "/api/peers/$1" |
		sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}
# metric SERIES: its value on cell $CELL's /metrics, 0 when absent.
metric() {
	api_ok $CELL GET /metrics | awk -v m="$1" '$1 == m { print $2; f = 1 } END { if (!f) print 0 }'
}

# wait_handshake CELL NAME: until the peer completed a WireGuard handshake.
# The first handshake after links come up is often lost and retried only
# after 5 s, so poll instead of sleeping.
wait_handshake() {
	local p ifn
	p=$(ns_of "$1" "$2")
	ifn=$(cat "$WORK/$1/$2.if")
	wait_for 20 sh -c "ip netns exec $p wg show $ifn latest-handshakes | awk '{exit !(\$2 > 0)}'"
}

# teardown: stop every process we started (by PID), delete every namespace
# with our prefix, unmount our bpffs mounts.
teardown() {
	local pid ns m f
	for f in "$WORK"/*/cellgate.pid; do
		[ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	[ -f "$WORK/pids" ] && mapfile -t -O "${#STARTED_PIDS[@]}" STARTED_PIDS <"$WORK/pids"
	for pid in "${STARTED_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	# wireguard-go daemons the controllers started (state_dir/wireguard-go.pid)
	for f in "$WORK"/*/state/wireguard-go.pid; do
		[ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null
	done
	for ns in $(ip netns list | awk '{print $1}' | grep "^$PREFIX-"); do
		ip netns delete "$ns" 2>/dev/null
	done
	for m in $(awk -v w="$WORK" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r); do
		umount "$m" 2>/dev/null
	done
	for pid in "${STARTED_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	return 0
}

# ---- a test's life ----------------------------------------------------------

# e2e_begin LETTER: names for this run from a random tag (namespaces
# "cg<LETTER>-<tag>-*", interfaces "<LETTER><tag>*"), the tools checked
# (or skipped), a work directory, and everything removed on exit.
e2e_begin() {
	local tag
	tag=$(printf '%04x' $((RANDOM % 65536)))
	PREFIX="cg$1-$tag"
	SHORT="$1$tag"
	require_tools
	WORK=$(mktemp -d "/run/cellgate-e2e.$tag.XXXX")
	trap 'teardown 2>/dev/null; rm -rf "$WORK"' EXIT
}

# TAP-style results.
n_tests=0
n_failed=0
ok() { n_tests=$((n_tests + 1)); echo "ok $n_tests - $*"; }
not_ok() {
	n_tests=$((n_tests + 1)); n_failed=$((n_failed + 1))
	echo "not ok $n_tests - $*"
}
# check DESCRIPTION CMD...: ok if CMD succeeds.
check() {
	local what=$1; shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
# like PATTERN STRING: STRING matches the extended regex PATTERN.
like() { [[ $2 =~ $1 ]]; }
# status_of OUTPUT: the HTTP status api() printed on its last line.
status_of() { echo "${1##*$'\n'}"; }
# e2e_end: the summary, and the exit status.
e2e_end() {
	echo "# $n_tests tests, $n_failed failed"
	[ "$n_failed" = 0 ]
}

# skip REASON: exit with the automake/TAP skip code.
skip() {
	echo "SKIP: $*"
	exit 77
}

require_tools() {
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, BPF)"
	local t
	for t in ip wg wireguard-go socat curl tc bpftool; do
		command -v "$t" >/dev/null || skip "$t is not installed (scripts/deps.sh installs it)"
	done
	[ -x "$CELLGATE" ] || skip "$CELLGATE is not built (make)"
	ip netns add "$PREFIX-probe" 2>/dev/null || skip "cannot create network namespaces"
	ip netns delete "$PREFIX-probe"
}
