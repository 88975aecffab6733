#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Bridge anti-spoofing (issue 21, item 3): a host on the service bridge
# may send only from its own addresses. The calendar's host reaches a
# peer over WireGuard (positive control); another host sending with the
# calendar's address, or from an address nobody allowed, is dropped and
# counted (spoofed_source); bridge.allowed_sources admits an address and
# a prefix; a port that appears after the start is guarded; a container
# whose veth is re-created gets its address back; detach removes the
# port filters.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

e2e_begin s
CELL=home
N=0
API_PORT=$((20000 + RANDOM % 10000))

CAL=172.20.$N.21
EVIL=172.20.$N.60
OPS=172.20.$N.50
ALICE=10.0.$N.2
R=$(ns_of $CELL r)

# spoofed: the unattributed spoofed_source drops on /metrics.
spoofed() { metric 'cellgate_unattributed_drops_total{reason="spoofed_source"}'; }
arp_spoofed() { metric 'cellgate_unattributed_drops_total{reason="arp_spoofed"}'; }
# from NS [SRC]: what alice's address server saw of a connection from NS
# (bound to SRC when given): "ADDR:PORT", or nothing.
from() {
	ip netns exec "$(ns_of $CELL "$1")" timeout 3 socat -T2 - \
		"TCP:$ALICE:7000,connect-timeout=2${2:+,bind=$2}" </dev/null 2>/dev/null
}
seen_as() { [ "$(from "$1" "${3:-}" | cut -d: -f1)" = "$2" ]; }
guarded() {
	ip netns exec "$R" tc filter show dev "$1" ingress 2>/dev/null | grep -q 'handle 0xce11'
}

# ---- set up -------------------------------------------------------------
log "e2e: building cell '$CELL' in namespaces $PREFIX-* (work dir $WORK)"
cell_topology $CELL $N
cell_service $CELL $N cal 21
write_cell_config $CELL $N $API_PORT
sed -i "s|\"bridge\": {\"interface\": \"\([^\"]*\)\"}|\"bridge\": {\"interface\": \"\1\", \"allowed_sources\": [\"$OPS\", \"172.20.$N.80/28\"]}|" \
	"$WORK/$CELL/cellgate.json"
grep -q allowed_sources "$WORK/$CELL/cellgate.json" || die "config edit failed"
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts and answers /health"

api_ok $CELL PUT /api/services/calendar \
	"{\"endpoints\":[{\"ip\":\"$CAL\",\"proto\":\"tcp\",\"port\":80}]}" >/dev/null
check "calendar defined" test $? -eq 0
add_peer $CELL $N alice 2 ',"service_access":["calendar"]'
check "alice added" test $? -eq 0
addr_server "$(ns_of $CELL alice)" 7000
check "alice completes a WireGuard handshake" wait_handshake $CELL alice
check "the calendar's port has the anti-spoofing program" guarded "$(if_of $N cal)"

# Hosts that come after the start: their ports are guarded by the heal
# loop (link events, and a check every second).
cell_service $CELL $N evil 60
cell_service $CELL $N ops 50
check "a port created after the start is guarded within 3 s" \
	wait_for 3 guarded "$(if_of $N evil)"

# ---- the calendar's own address passes, another's does not ----------------
check "positive control: the calendar's host reaches alice as $CAL" \
	seen_as cal "$CAL"
# Its first try asks ARP for the router from the calendar's address:
# the ARP is dropped (arp_spoofed). With the router's MAC known, the
# IPv4 packets go out and are dropped (spoofed_source).
before=$(spoofed)
arp_before=$(arp_spoofed)
ip -n "$(ns_of $CELL evil)" addr add "$CAL/32" dev eth0
check "another host with the calendar's address does not reach alice" \
	sh -c "[ -z \"\$(ip netns exec $(ns_of $CELL evil) timeout 3 socat -T2 - TCP:$ALICE:7000,connect-timeout=2,bind=$CAL </dev/null 2>/dev/null)\" ]"
check "its ARP claiming the calendar's address counted ($arp_before -> $(arp_spoofed))" \
	test "$(arp_spoofed)" -gt "$arp_before"
brmac=$(ip netns exec "$R" cat "/sys/class/net/$(if_of $N br)/address")
# Set, the bridge's MAC stays: left to itself it follows the lowest of its
# ports', and the calendar's veth re-created below could change it under
# evil's permanent entry (the positive control after "anti_spoofing
# off" then timed out, as often as the new veth's random MAC was lower).
ip -n "$R" link set "$(if_of $N br)" address "$brmac"
ip -n "$(ns_of $CELL evil)" neigh replace "172.20.$N.1" lladdr "$brmac" dev eth0 nud permanent
check "with the router's MAC known, it still does not reach alice" \
	sh -c "[ -z \"\$(ip netns exec $(ns_of $CELL evil) timeout 3 socat -T2 - TCP:$ALICE:7000,connect-timeout=2,bind=$CAL </dev/null 2>/dev/null)\" ]"
after=$(spoofed)
check "spoofed_source counted ($before -> $after)" test "$after" -gt "$before"
check "the calendar still reaches alice afterwards" seen_as cal "$CAL"
ip -n "$(ns_of $CELL evil)" addr del "$CAL/32" dev eth0

before=$(spoofed)
check "a host from an address nobody allowed ($EVIL) does not reach alice" \
	sh -c "[ -z \"\$(ip netns exec $(ns_of $CELL evil) timeout 3 socat -T2 - TCP:$ALICE:7000,connect-timeout=2 </dev/null 2>/dev/null)\" ]"
check "counted as spoofed_source" test "$(spoofed)" -gt "$before"

# ---- bridge.allowed_sources ---------------------------------------------------
check "allowed_sources address: ops reaches alice as $OPS" seen_as ops "$OPS"
ip -n "$(ns_of $CELL evil)" addr add "172.20.$N.81/32" dev eth0
check "allowed_sources prefix: 172.20.$N.81 reaches alice" \
	seen_as evil "172.20.$N.81" "172.20.$N.81"
before=$(spoofed)
check "ops's address stays ops's: evil with $OPS does not reach alice" \
	sh -c "ip -n $(ns_of $CELL evil) addr add $OPS/32 dev eth0 && [ -z \"\$(ip netns exec $(ns_of $CELL evil) timeout 3 socat -T2 - TCP:$ALICE:7000,connect-timeout=2,bind=$OPS </dev/null 2>/dev/null)\" ]"
check "counted ($before -> $(spoofed))" test "$(spoofed)" -gt "$before"
ip -n "$(ns_of $CELL evil)" addr del "$OPS/32" dev eth0

# ---- the binding follows the container, not a stale port ----------------------
dump=$(ip netns exec "$R" "$CELLGATE" --config "$WORK/$CELL/cellgate.json" maps bridge_bind 2>&1)
check "cellgate maps bridge_bind shows the calendar bound" \
	sh -c 'echo "$1" | grep -q "$2"' _ "$dump" "$CAL"
calif=$(if_of $N cal)
ip -n "$R" link del "$calif"
ip link add "$calif" netns "$R" type veth peer name eth0 netns "$(ns_of $CELL cal)"
ip -n "$R" link set "$calif" master "$(if_of $N br)" up
ip -n "$(ns_of $CELL cal)" addr add "$CAL/24" dev eth0
ip -n "$(ns_of $CELL cal)" link set eth0 up
ip -n "$(ns_of $CELL cal)" route add default via "172.20.$N.1"
check "the calendar's new veth is guarded" wait_for 5 guarded "$calif"
check "the re-created calendar reaches alice again (binding forgotten with its port)" \
	wait_for 15 seen_as cal "$CAL"
check "unbinding counted on /metrics" test "$(metric cellgate_bridge_unbound_total)" -ge 1

# ---- turned off: the filters a previous run left go, nothing is checked ------
stop_controller $CELL TERM
sed -i 's|"allowed_sources"|"anti_spoofing": false, "allowed_sources"|' "$WORK/$CELL/cellgate.json"
start_controller $CELL
check "restart with bridge.anti_spoofing false" test $? = 0
check "anti_spoofing off: the port filters are removed" \
	wait_for 3 sh -c "! ip netns exec $R tc filter show dev $calif ingress | grep -q 0xce11"
check "anti_spoofing off: a host from an address nobody allowed reaches alice" \
	wait_for 20 seen_as evil "$EVIL"
stop_controller $CELL TERM
sed -i 's|"anti_spoofing": false, ||' "$WORK/$CELL/cellgate.json"
start_controller $CELL
check "on again: the ports are guarded" wait_for 3 guarded "$calif"
stop_controller $CELL TERM
ip netns exec "$R" "$CELLGATE" --config "$WORK/$CELL/cellgate.json" detach 2>/dev/null
check "detach removed the port filters" \
	sh -c "! ip netns exec $R tc filter show dev $calif ingress | grep -q 0xce11 && ! ip netns exec $R tc filter show dev $(if_of $N evil) ingress | grep -q 0xce11"

e2e_end
