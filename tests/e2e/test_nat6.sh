#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The internet over IPv6 (issue 17) on real WireGuard (wireguard-go) in
# namespaces. First without a routed prefix: bob (internet_access) is
# masqueraded behind the uplink's IPv6 address (NAT66), which is what the
# internet host sees, over TCP, UDP and ICMPv6 echo, while the host has
# no route back to the cell's subnet6; alice (none) is denied, counted
# (no_internet), with bob as the positive control; `cellgate maps nat6`
# shows the translation; a host behind a 1280-byte link answers bob's
# big packet with Packet Too Big, which reaches bob translated (his
# kernel learns the path MTU). Then with uplink.prefix6 covering the subnet6
# (and the host routing it back): nothing is rewritten, the host sees
# bob's own address, and no NAT66 entry is made for it. Last, a service
# exposed on the wg address6 (dnat to an IPv6 backend on the bridge): bob
# reaches it and the backend sees bob's own address; alice, without
# access, is denied (service_denied counted, bob as control).
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

e2e_begin x
CELL=home
N=8
API_PORT=$((20000 + RANDOM % 10000))
SUB6=2001:db8:a$N:: # the cell's subnet6: global, routable when asked
A6=${SUB6}1
BOB6=${SUB6}3
ALICE6=${SUB6}2
UP6=2001:db8:$N::1 # the uplink's IPv6 address
INET6=2001:db8:$N::2
R=$(ns_of $CELL r)
INET=$(ns_of $CELL inet)

cg() { ip netns exec "$R" "$CELLGATE" --config "$WORK/$CELL/cellgate.json" "$@"; }
# seen6 PEER [udp]: what the internet host's address server saw of PEER's
# connection ("[addr]:port" or "addr:port", as socat prints it).
seen6() {
	local p
	p=$(ns_of $CELL "$1")
	if [ "${2:-}" = udp ]; then
		echo ping | ip netns exec "$p" timeout 3 socat -T2 - "UDP6:[$INET6]:53" 2>/dev/null
	else
		ip netns exec "$p" timeout 3 socat -T2 - "TCP6:[$INET6]:80,connect-timeout=2" </dev/null 2>/dev/null
	fi
}
# from ADDR TEXT: TEXT is the client address ADDR and a port, as socat
# prints it ("[2001:0db8:...:0001]:40000": written out in full).
full6() { python3 -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1]).exploded)' "$1"; }
from() { like "^\\[$(full6 "$1")\\]:[0-9]+$" "$2"; }
peer6() {
	local p ifn
	p=$(ns_of $CELL "$1")
	ifn=$(cat "$WORK/$CELL/$1.if")
	ip netns exec "$p" wg set "$ifn" peer "$(wg pubkey <"$WORK/$CELL/wg.key")" allowed-ips 0.0.0.0/0,::/0
	ip -n "$p" -6 addr add "$2/64" dev "$ifn" nodad
	ip -n "$p" -6 route add default dev "$ifn"
}
grew() { test "$(drops "$1" "$2")" -gt "${3:-0}"; }
nat6_rows() { cg maps nat6 --json | tr -d ' \n'; }

# ---- set up -------------------------------------------------------------
log "e2e: building cell '$CELL' (NAT66) in namespaces $PREFIX-* (work dir $WORK)"
cell_topology $CELL $N
ip netns exec "$R" sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n "$R" addr add "$UP6/64" dev "$(if_of $N up)" nodad
ip -n "$INET" addr add "$INET6/64" dev eth0 nodad
# The internet host has no route to the cell's subnet6: only NAT66 can
# bring its replies back.
# addr6_server NS ADDRESS: socat's listening ADDRESS answers with the
# client's address and port.
addr6_server() {
	local f
	f=$(mktemp "$WORK/peer6.XXXXXX.sh")
	printf '#!/bin/sh\necho "$SOCAT_PEERADDR:$SOCAT_PEERPORT"\n' >"$f"
	chmod +x "$f"
	bg_in "$1" socat "$2,fork,reuseaddr" "SYSTEM:$f" \
		</dev/null >>"$WORK/servers.log" 2>&1
}
addr6_server "$INET" TCP6-LISTEN:80
addr6_server "$INET" UDP6-RECVFROM:53
# The api backend on the bridge, IPv6 only.
ip -n "$R" addr add "fd20:$N::1/64" dev "$(if_of $N br)" nodad
cell_service $CELL $N api 10
ip -n "$(ns_of $CELL api)" -6 addr add "fd20:$N::10/64" dev eth0 nodad
ip -n "$(ns_of $CELL api)" -6 route add default via "fd20:$N::1"
addr6_server "$(ns_of $CELL api)" TCP6-LISTEN:3001
# A far host behind the internet host, over a 1280-byte link: big
# packets to it get Packet Too Big from the internet host.
FAR=$(ns_of $CELL far)
FAR6=2001:db8:f$N::2
ip netns add "$FAR"
ip -n "$FAR" link set lo up
ip link add farx netns "$INET" type veth peer name eth0 netns "$FAR"
ip -n "$INET" link set farx mtu 1280 up
ip -n "$FAR" link set eth0 mtu 1280 up
ip -n "$INET" addr add "2001:db8:f$N::1/64" dev farx nodad
ip -n "$FAR" addr add "$FAR6/64" dev eth0 nodad
ip -n "$FAR" -6 route add default via "2001:db8:f$N::1"
ip netns exec "$INET" sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n "$R" -6 route add "2001:db8:f$N::/64" via "$INET6"
write_cell_config $CELL $N $API_PORT
sed -i "s|\"address\": \"10.0.$N.1/24\",|&\n  \"address6\": \"$A6/64\",|" "$WORK/$CELL/cellgate.json"
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts with wireguard.address6 and no uplink.prefix6"
check "status: the uplink's IPv6 address read from the interface" \
	like "$UP6" "$(api_ok $CELL GET /api/status | tr -d ' \n')"

add_peer $CELL $N alice 2 ",\"ip6\":\"$ALICE6\"" &&
	add_peer $CELL $N bob 3 ",\"ip6\":\"$BOB6\",\"internet_access\":true"
check "peers alice (no internet) and bob (internet) with ip6" test $? -eq 0
peer6 alice "$ALICE6"
peer6 bob "$BOB6"
check "alice's handshake" wait_handshake $CELL alice
check "bob's handshake" wait_handshake $CELL bob

# ---- NAT66 -------------------------------------------------------------------
seen=$(seen6 bob)
check "bob -> the internet over IPv6, seen as the uplink's address ($seen)" \
	from "$UP6" "$seen"
seen=$(seen6 bob udp)
check "the same over UDP ($seen)" from "$UP6" "$seen"
check "ping -6 from bob to the internet (echo id translated)" \
	sh -c "ip netns exec $(ns_of $CELL bob) ping -6 -c1 -W2 $INET6 >/dev/null"
rows=$(nat6_rows)
check "cellgate maps nat6: bob's masquerade, both directions" \
	sh -c 'echo "$1" | grep -q "\"kind\":\"masquerade\",\"dir\":\"orig\"" &&
		echo "$1" | grep -q "\"kind\":\"masquerade\",\"dir\":\"reply\"" &&
		echo "$1" | grep -q "$2"' _ "$rows" "$BOB6"
check "bob pings the far host (small packets fit)" \
	sh -c "ip netns exec $(ns_of $CELL bob) ping -6 -c1 -W2 $FAR6 >/dev/null"
check "... bob's kernel knows no smaller path MTU yet" \
	sh -c '! ip -n "$1" -6 route get "$2" | grep -q "mtu 1280"' _ "$(ns_of $CELL bob)" "$FAR6"
ip netns exec "$(ns_of $CELL bob)" ping -6 -c1 -W2 -M do -s 1300 "$FAR6" >/dev/null 2>&1
check "Packet Too Big about bob's masqueraded ping reached him: path MTU 1280" \
	like "mtu 1280" "$(ip -n "$(ns_of $CELL bob)" -6 route get "$FAR6")"
check "/metrics: cellgate_map_entries counts cg_nat6's entries" \
	test "$(metric 'cellgate_map_entries{map="cg_nat6"}')" -ge 2
d=$(drops alice no_internet)
check "alice (no internet_access) -> the internet over IPv6 denied" \
	test -z "$(seen6 alice)"
check "... counted as alice's no_internet" grew alice no_internet "$d"
check "no 'ipv6' drop for alice or bob" \
	test "$(drops alice ipv6)" = 0 -a "$(drops bob ipv6)" = 0

# ---- a routed prefix ------------------------------------------------------------
stop_controller $CELL
sed -i "s|\"uplink\": {\"interface\": \"$(if_of $N up)\"}|\"uplink\": {\"interface\": \"$(if_of $N up)\", \"prefix6\": \"$SUB6/64\"}|" \
	"$WORK/$CELL/cellgate.json"
ip -n "$INET" -6 route add "$SUB6/64" via "$UP6"
start_controller $CELL || { not_ok "controller restarts with uplink.prefix6"; exit 1; }
ok "controller restarts with uplink.prefix6 $SUB6/64"
before=$(nat6_rows | grep -o '"kind"' | wc -l)
seen=$(seen6 bob)
check "bob -> the internet, routed: seen as bob's own address ($seen)" \
	from "$BOB6" "$seen"
seen=$(seen6 bob udp)
check "the same over UDP ($seen)" from "$BOB6" "$seen"
check "no NAT66 entry made for the routed flows" \
	test "$(nat6_rows | grep -o '"kind"' | wc -l)" -le "$before"
check "bob's routed flow tracked on wg0 (reply seen)" \
	like "\"source\":\"\\[$BOB6\\]:[0-9]+\",\"destination\":\"\\[$INET6\\]:80\"[^}]*\"reply_seen\":true" \
	"$(cg maps ct6_tcp --json | tr -d ' \n')"
d=$(drops alice no_internet)
check "alice still denied with the prefix" test -z "$(seen6 alice)"
check "... counted as alice's no_internet" grew alice no_internet "$d"

# ---- a service on the wg address6 -------------------------------------------
cg service set api --endpoint "fd20:$N::10/tcp:3001" \
	--dnat "tcp:3000:[fd20:$N::10]:3001" >/dev/null
check "cellgate service set --dnat tcp:3000:[fd20:$N::10]:3001 (IPv6 dnat)" test $? -eq 0
check "cellgate service show: the dnat with its IPv6 target" \
	like "tcp:3000:\\[fd20:$N::10\\]:3001" "$(cg service show api)"
check "GET /api/services/api: to_ip is IPv6" \
	like "\"to_ip\":\"fd20:$N::10\"" "$(api_ok $CELL GET /api/services/api | tr -d ' \n')"
api_ok $CELL PUT /api/peers/bob '{"service_access":["api"]}' >/dev/null
before=$(api_ok $CELL GET /api/services/api)
out=$(api $CELL PUT /api/services/api "{\"dnat\":[{\"proto\":\"tcp\",\"port\":3000,\"to_ip\":\"fe80::10\",\"to_port\":3001}]}")
check "a link-local dnat to_ip: 400 naming dnat[0].to_ip" \
	sh -c 'echo "$1" | tail -1 | grep -qx 400 && echo "$1" | grep -q "\"field\":\"dnat\[0\].to_ip\""' _ "$out"
check "... and nothing changed" test "$before" = "$(api_ok $CELL GET /api/services/api)"
check "cellgate maps dnat6: port 3000 to the backend" \
	like "\"proto\":\"tcp\",\"port\":3000,\"to\":\"\\[fd20:$N::10\\]:3001\",\"service\":\"api\"" \
	"$(cg maps dnat6 --json | tr -d ' \n')"
seen=$(ip netns exec "$(ns_of $CELL bob)" timeout 3 socat -T2 - "TCP6:[$A6]:3000,connect-timeout=2" </dev/null 2>/dev/null)
check "bob -> [address6]:3000 reaches the api, which sees bob ($seen)" \
	from "$BOB6" "$seen"
d=$(drops alice service_denied)
check "alice (no access to api) -> [address6]:3000 denied" test -z \
	"$(ip netns exec "$(ns_of $CELL alice)" timeout 3 socat -T2 - "TCP6:[$A6]:3000,connect-timeout=2" </dev/null 2>/dev/null)"
check "... counted as alice's service_denied" grew alice service_denied "$d"

stop_controller $CELL
e2e_end
