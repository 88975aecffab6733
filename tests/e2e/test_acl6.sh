#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The ACL matrix over IPv6 (issue 17) on real WireGuard (wireguard-go) in
# namespaces: services with IPv6 endpoints on the bridge, alice allowed to
# the calendar, bob denied it (drop counter delta, with his own service as
# positive control), peer to peer denied by default and allowed with both
# flags, no internet without internet_access (no_internet counted; bob,
# who has it, reaches the internet host). Then what the operator sees:
# cellgate maps ct6_tcp and cellgate monitor --json with IPv6 tuples.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

e2e_begin w
CELL=home
N=7
API_PORT=$((20000 + RANDOM % 10000))
A6=fd10:$N::1
CAL6=fd20:$N::21
FILES6=fd20:$N::22
INET6=2001:db8:$N::2
R=$(ns_of $CELL r)

cg() { ip netns exec "$R" "$CELLGATE" --config "$WORK/$CELL/cellgate.json" "$@"; }
# tcp6_server NS PORT BANNER / tcp6_get NS ADDR PORT: as tcp_server and
# tcp_get, over IPv6.
tcp6_server() {
	bg_in "$1" socat "TCP6-LISTEN:$2,fork,reuseaddr" "SYSTEM:echo $3" \
		</dev/null >>"$WORK/servers.log" 2>&1
}
tcp6_get() {
	ip netns exec "$1" timeout 3 socat -T2 - "TCP6:[$2]:$3,connect-timeout=2" </dev/null 2>/dev/null
}
reach6() { [ "$(tcp6_get "$(ns_of $CELL "$1")" "$2" "$3")" = "$4" ]; }
blocked6() { [ -z "$(tcp6_get "$(ns_of $CELL "$1")" "$2" "$3")" ]; }
# svc6 NAME OCTET: a service namespace on the bridge with an IPv6 address.
svc6() {
	local s
	cell_service $CELL $N "$1" "$2"
	s=$(ns_of $CELL "$1")
	ip -n "$s" -6 addr add "fd20:$N::$2/64" dev eth0 nodad
	ip -n "$s" -6 route add default via "fd20:$N::1"
}
# peer6 NAME OCTET: the peer's WireGuard carries IPv6 too.
peer6() {
	local p ifn
	p=$(ns_of $CELL "$1")
	ifn=$(cat "$WORK/$CELL/$1.if")
	ip netns exec "$p" wg set "$ifn" peer "$(wg pubkey <"$WORK/$CELL/wg.key")" allowed-ips 0.0.0.0/0,::/0
	ip -n "$p" -6 addr add "fd10:$N::$2/64" dev "$ifn" nodad
	ip -n "$p" -6 route add default dev "$ifn"
}
# grew PEER REASON BEFORE: the drop counter grew past BEFORE.
grew() { test "$(drops "$1" "$2")" -gt "${3:-0}"; }

# ---- set up -------------------------------------------------------------
log "e2e: building IPv6 cell '$CELL' in namespaces $PREFIX-* (work dir $WORK)"
cell_topology $CELL $N
ip netns exec "$R" sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n "$R" addr add "fd20:$N::1/64" dev "$(if_of $N br)" nodad
ip -n "$R" addr add "2001:db8:$N::1/64" dev "$(if_of $N up)" nodad
ip -n "$(ns_of $CELL inet)" addr add "$INET6/64" dev eth0 nodad
# No NAT66 yet: the internet host routes the cell's subnet6 back.
ip -n "$(ns_of $CELL inet)" -6 route add "fd10:$N::/64" via "2001:db8:$N::1"
svc6 cal 21
svc6 files 22
tcp6_server "$(ns_of $CELL cal)" 80 calendar
tcp6_server "$(ns_of $CELL files)" 80 files
tcp6_server "$(ns_of $CELL inet)" 80 internet
write_cell_config $CELL $N $API_PORT
sed -i "s|\"address\": \"10.0.$N.1/24\",|&\n  \"address6\": \"$A6/64\",|" "$WORK/$CELL/cellgate.json"
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts with wireguard.address6"

api_ok $CELL PUT /api/services/calendar \
	"{\"endpoints\":[{\"ip\":\"$CAL6\",\"proto\":\"tcp\",\"port\":80}]}" >/dev/null &&
	api_ok $CELL PUT /api/services/files \
		"{\"endpoints\":[{\"ip\":\"$FILES6\",\"proto\":\"tcp\",\"port\":80}]}" >/dev/null
check "services with IPv6 endpoints defined" test $? -eq 0
add_peer $CELL $N alice 2 ",\"ip6\":\"fd10:$N::2\",\"service_access\":[\"calendar\"]" &&
	add_peer $CELL $N bob 3 ",\"ip6\":\"fd10:$N::3\",\"service_access\":[\"files\"],\"internet_access\":true"
check "peers with ip6 added" test $? -eq 0
peer6 alice 2
peer6 bob 3
tcp6_server "$(ns_of $CELL alice)" 7000 alice-here
tcp6_server "$(ns_of $CELL bob)" 7000 bob-here
check "alice completes a WireGuard handshake" wait_handshake $CELL alice
check "bob completes a WireGuard handshake" wait_handshake $CELL bob

# ---- the matrix ------------------------------------------------------------
# The first flow on the IPv6 path: neighbour discovery on the bridge
# (router <-> calendar) may still be under way; one retry window.
check "alice -> calendar6 allowed" wait_for 6 reach6 alice $CAL6 80 calendar
check "bob -> files6 allowed (positive control)" reach6 bob $FILES6 80 files
d=$(drops bob service_denied)
check "bob -> calendar6 denied" blocked6 bob $CAL6 80
check "... counted as bob's service_denied" grew bob service_denied "$d"

d=$(drops alice peer_isolation)
check "alice -> bob over IPv6 denied by default" blocked6 alice fd10:$N::3 7000
check "... counted as alice's peer_isolation" grew alice peer_isolation "$d"
api_ok $CELL PUT /api/peers/alice '{"peer_to_peer":true}' >/dev/null
check "alice -> bob still denied with only alice opted in" blocked6 alice fd10:$N::3 7000
api_ok $CELL PUT /api/peers/bob '{"peer_to_peer":true}' >/dev/null
check "alice -> bob allowed once both opted in" reach6 alice fd10:$N::3 7000 bob-here
check "bob -> alice allowed once both opted in" reach6 bob fd10:$N::2 7000 alice-here

check "bob -> the internet over IPv6 (internet_access, positive control)" \
	reach6 bob $INET6 80 internet
d=$(drops alice no_internet)
check "alice -> the internet over IPv6 denied" blocked6 alice $INET6 80
check "... counted as alice's no_internet" grew alice no_internet "$d"
check "no 'ipv6' drop for alice or bob" \
	test "$(drops alice ipv6)" = 0 -a "$(drops bob ipv6)" = 0

# ---- what the operator sees ------------------------------------------------
# A flow held open so the table shows it (socat keeps it while it waits).
ip netns exec "$(ns_of $CELL alice)" timeout 5 socat -T4 - "TCP6:[$CAL6]:80" </dev/null >/dev/null 2>&1 &
held=$!
sleep 0.5
check "cellgate maps ct6_tcp: alice's flow to the calendar, readable" \
	like "\"source\":\"\\[fd10:$N::2\\]:[0-9]+\",\"destination\":\"\\[$CAL6\\]:80\"" \
	"$(cg maps ct6_tcp --json | tr -d ' \n')"
check "GET /api/status: cg_ct6_tcp's occupancy counts the flow" \
	test "$(api_ok $CELL GET /api/status | jq '[.. | objects | select(.name? == "cg_ct6_tcp") | .entries] | first // 0')" -ge 1
check "/metrics: cellgate_conntrack_entries counts it in table tcp6" \
	test "$(api_ok $CELL GET /metrics | awk '/^cellgate_conntrack_entries\{table="tcp6"/ { n += $2 } END { print n + 0 }')" -ge 1
mon=$WORK/monitor.json
ip netns exec "$R" timeout 10 "$CELLGATE" --config "$WORK/$CELL/cellgate.json" \
	monitor --json --count 1 --reason service_denied >"$mon" 2>/dev/null &
monpid=$!
sleep 1
tcp6_get "$(ns_of $CELL bob)" $CAL6 80 >/dev/null
wait $monpid
check "cellgate monitor --json: bob's IPv6 drop with its tuple" \
	like "\"identity\":\"bob\",\"proto\":\"tcp\",\"source\":\"\\[fd10:$N::3\\]:[0-9]+\",\"destination\":\"\\[$CAL6\\]:80\".*\"reason\":\"service_denied\"" \
	"$(tr -d ' ' <"$mon")"
wait $held

# ---- bridge anti-spoofing over IPv6 (issue 21, item 3) -------------------------
# A host on the bridge sends only from its own addresses: the calendar's
# host reaches alice as $CAL6; another host with that address, or with an
# address nobody allowed, does not, and the drops are counted.
spoofed6() {
	echo $(($(metric 'cellgate_unattributed_drops_total{reason="spoofed_source"}') + \
		$(metric 'cellgate_unattributed_drops_total{reason="arp_spoofed"}')))
}
# The bridge keeps the MAC its hosts know: left to itself it follows its
# lowest port's, and evil's new veth could change it under the
# calendar's neighbour entry (as in test_spoof).
ip -n "$R" link set "$(if_of $N br)" address "$(ip netns exec "$R" cat "/sys/class/net/$(if_of $N br)/address")"
svc6 evil 60
# A port made after the start is guarded by the controller's link events
# or its check every second: not before then.
guarded() { ip netns exec "$R" tc filter show dev "$1" ingress 2>/dev/null | grep -q 'handle 0xce11'; }
check "evil's port is guarded" wait_for 5 guarded "$(if_of $N evil)"
check "positive control: the calendar's host reaches alice from $CAL6" \
	sh -c "[ \"\$(ip netns exec $(ns_of $CELL cal) timeout 3 socat -T2 - 'TCP6:[fd10:$N::2]:7000,connect-timeout=2,bind=[$CAL6]' </dev/null 2>/dev/null)\" = alice-here ]"
check "cellgate maps bridge_bind6: the calendar's address bound to its port" \
	like "\"address\":\"$CAL6\"" "$(cg maps bridge_bind6 --json | tr -d ' \n')"
before=$(spoofed6)
ip -n "$(ns_of $CELL evil)" -6 addr add "$CAL6/128" dev eth0 nodad
check "another host with the calendar's IPv6 address does not reach alice" \
	sh -c "[ -z \"\$(ip netns exec $(ns_of $CELL evil) timeout 3 socat -T2 - 'TCP6:[fd10:$N::2]:7000,connect-timeout=2,bind=[$CAL6]' </dev/null 2>/dev/null)\" ]"
check "... counted as spoofed_source/arp_spoofed ($before -> $(spoofed6))" \
	test "$(spoofed6)" -gt "$before"
ip -n "$(ns_of $CELL evil)" -6 addr del "$CAL6/128" dev eth0
before=$(spoofed6)
check "a host from an IPv6 address nobody allowed (fd20:$N::60) does not reach alice" \
	sh -c "[ -z \"\$(ip netns exec $(ns_of $CELL evil) timeout 3 socat -T2 - 'TCP6:[fd10:$N::2]:7000,connect-timeout=2' </dev/null 2>/dev/null)\" ]"
check "... counted ($before -> $(spoofed6))" test "$(spoofed6)" -gt "$before"
check "the calendar still reaches alice afterwards" \
	sh -c "[ \"\$(ip netns exec $(ns_of $CELL cal) timeout 3 socat -T2 - 'TCP6:[fd10:$N::2]:7000,connect-timeout=2,bind=[$CAL6]' </dev/null 2>/dev/null)\" = alice-here ]"

stop_controller $CELL
e2e_end
