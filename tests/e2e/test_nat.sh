#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Translation on real packets over wireguard-go in namespaces (walks 3, 5,
# 7 of DESIGN.md): masquerade for peers with internet_access (the internet
# sees the uplink address), service DNAT on the wg address (the backend
# sees the peer's real address), port forwards from the internet to a
# peer's service (TCP and UDP, source rewritten to the wg address) and to
# a bridge service (source kept), allow_from, 2,000 concurrent masqueraded
# connections without a port collision, deleting a forward removes what
# it owned.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

e2e_begin n
CELL=nat
N=3
API_PORT=$((20000 + RANDOM % 10000))
STORM=${CONN_STORM:-$here/../../build/tests/conn_storm}
STORM_N=2000

[ -x "$STORM" ] || skip "$STORM is not built (make build/tests/conn_storm)"

R=$(ns_of $CELL r)
INET=$(ns_of $CELL inet)
BPF="$WORK/$CELL/bpf"
UPLINK=203.0.113.1
WG=10.0.$N.1
ALICE=10.0.$N.2
BOB=10.0.$N.3
API=172.20.$N.10
WEB=172.20.$N.30

# ---- set up --------------------------------------------------------------
cell_topology $CELL $N
cell_service $CELL $N api 10
cell_service $CELL $N web 30
addr_server "$(ns_of $CELL api)" 3000
addr_server "$(ns_of $CELL web)" 80
addr_server "$INET" 80
addr_server "$INET" 53 udp
# A second internet source, inside the allow_from list used below.
ip -n "$INET" addr add 198.51.100.5/24 dev eth0
ip -n "$R" route add 198.51.100.0/24 via 203.0.113.2
write_cell_config $CELL $N $API_PORT
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts"

api_ok $CELL PUT /api/services/api \
	"{\"endpoints\":[{\"ip\":\"$API\",\"proto\":\"tcp\",\"port\":3000}],
	  \"dnat\":[{\"proto\":\"tcp\",\"port\":3000,\"to_ip\":\"$API\",\"to_port\":3000}]}" >/dev/null
check "a service exposed on the wg address" test $? -eq 0
add_peer $CELL $N alice 2 ',"service_access":["api"],"internet_access":true' &&
	add_peer $CELL $N bob 3 ',"service_access":["api"]'
check "peers alice (internet) and bob (none)" test $? -eq 0
addr_server "$(ns_of $CELL alice)" 2222
addr_server "$(ns_of $CELL alice)" 5353 udp
check "alice's handshake" wait_handshake $CELL alice
check "bob's handshake" wait_handshake $CELL bob

status=$(api_ok $CELL GET /api/status)
check "status: XDP on the uplink, with its mode and libxdp's way" \
	sh -c 'echo "$1" | grep -Eq "\"hook\":\"xdp\",\"attached\":true.*\"xdp_mode\":\"(native|generic)\",\"libxdp\":\"(multiprog|single-program fallback)\""' _ "$status"

# ---- masquerade (walk 3) ------------------------------------------------------
seen=$(tcp_get "$(ns_of $CELL alice)" 203.0.113.2 80)
check "alice reaches the internet, which sees the uplink address ($seen)" \
	like "^$UPLINK:[0-9]+$" "$seen"
check "bob (no internet_access) does not" \
	test -z "$(tcp_get "$(ns_of $CELL bob)" 203.0.113.2 80)"
check "ping from alice to the internet (ICMP echo id translated)" \
	sh -c "ip netns exec $(ns_of $CELL alice) ping -c1 -W2 203.0.113.2 >/dev/null"

# ---- service DNAT on the wg address (walk 5) ---------------------------------------
seen=$(tcp_get "$(ns_of $CELL alice)" $WG 3000)
check "alice -> wg address :3000 reaches the api, which sees alice ($seen)" \
	like "^$ALICE:[0-9]+$" "$seen"
seen=$(tcp_get "$(ns_of $CELL bob)" $WG 3000)
check "bob -> wg address :3000 too, seen as bob ($seen)" like "^$BOB:[0-9]+$" "$seen"
api_ok $CELL PUT /api/peers/bob '{"service_access":[]}' >/dev/null
check "without access to the service its DNAT port is denied" \
	test -z "$(tcp_get "$(ns_of $CELL bob)" $WG 3000)"

# ---- port forwards (walk 7) ----------------------------------------------------
api_ok $CELL POST /api/forwards \
	"{\"id\":\"alice-ssh\",\"proto\":\"tcp\",\"public_port\":22015,\"target_ip\":\"$ALICE\",\"target_port\":2222}" >/dev/null &&
	api_ok $CELL POST /api/forwards \
		"{\"id\":\"alice-dns\",\"proto\":\"udp\",\"public_port\":5353,\"target_ip\":\"$ALICE\",\"target_port\":5353}" >/dev/null &&
	api_ok $CELL POST /api/forwards \
		"{\"id\":\"web\",\"proto\":\"tcp\",\"public_port\":8080,\"target_ip\":\"$WEB\",\"target_port\":80}" >/dev/null &&
	api_ok $CELL POST /api/forwards \
		"{\"id\":\"web-limited\",\"proto\":\"tcp\",\"public_port\":8081,\"target_ip\":\"$WEB\",\"target_port\":80,\"allow_from\":[\"198.51.100.0/24\"]}" >/dev/null
check "forwards added through the API" test $? -eq 0

seen=$(tcp_get "$INET" $UPLINK 22015)
check "internet -> uplink:22015 -> alice's service over WireGuard, seen as the wg address ($seen)" \
	like "^$WG:[0-9]+$" "$seen"
seen=$(udp_get "$INET" $UPLINK 5353)
check "the same over UDP ($seen)" like "^$WG:[0-9]+$" "$seen"
seen=$(tcp_get "$INET" $UPLINK 8080)
check "internet -> uplink:8080 -> a bridge service, source kept ($seen)" \
	like "^203\.0\.113\.2:[0-9]+$" "$seen"
check "allow_from: a source outside the list is dropped" \
	test -z "$(tcp_get "$INET" $UPLINK 8081)"
seen=$(ip netns exec "$INET" timeout 3 socat -T2 - \
	"TCP:$UPLINK:8081,bind=198.51.100.5,connect-timeout=2" </dev/null 2>/dev/null)
check "allow_from: a source inside it passes ($seen)" like "^198\.51\.100\.5:[0-9]+$" "$seen"
fwd=$(api_ok $CELL GET /api/forwards/web-limited)
check "the forward counts what allow_from dropped" \
	sh -c 'echo "$1" | grep -Eq "\"denied\":[1-9]"' _ "$fwd"
fwd=$(api_ok $CELL GET /api/forwards/alice-ssh)
check "the forward counts what it let in" \
	sh -c 'echo "$1" | grep -Eq "\"packets\":[1-9]"' _ "$fwd"

# ---- checksum offload on the uplink's other end -------------------------------------
# Everything above ran with the internet host's veth at its defaults (tx
# checksum offload on): its TCP and UDP left partial checksums, which the
# uplink XDP program translated as such. Now as from a wire: complete.
# masq_and_forward WHAT: masquerade and forwards, both protocols.
masq_and_forward() {
	local seen
	seen=$(tcp_get "$(ns_of $CELL alice)" 203.0.113.2 80)
	check "$1: masqueraded TCP replies reach alice ($seen)" like "^$UPLINK:[0-9]+$" "$seen"
	seen=$(udp_get "$(ns_of $CELL alice)" 203.0.113.2 53)
	check "$1: masqueraded UDP replies reach alice ($seen)" like "^$UPLINK:[0-9]+$" "$seen"
	seen=$(tcp_get "$INET" $UPLINK 22015)
	check "$1: TCP through a forward to a peer ($seen)" like "^$WG:[0-9]+$" "$seen"
	seen=$(udp_get "$INET" $UPLINK 5353)
	check "$1: UDP through a forward to a peer ($seen)" like "^$WG:[0-9]+$" "$seen"
	seen=$(tcp_get "$INET" $UPLINK 8080)
	check "$1: TCP through a forward to the bridge ($seen)" like "^203\.0\.113\.2:[0-9]+$" "$seen"
}
check "the internet host's veth has tx checksum offload on (the default)" \
	sh -c "ip netns exec $INET ethtool -k eth0 | grep -q '^tx-checksumming: on'"
masq_and_forward "offload on (partial checksums)"
ip netns exec "$INET" ethtool -K eth0 tx off >/dev/null
masq_and_forward "offload off (complete checksums)"
ip netns exec "$INET" ethtool -K eth0 tx on >/dev/null

# ---- 2,000 concurrent masqueraded connections ---------------------------------------
bg_in "$INET" "$STORM" server 9000 $STORM_N 60 >"$WORK/storm-server.out" 2>&1
server_pid=$LAST_PID
wait_for 5 sh -c "ip netns exec $INET ss -ltn | grep -q ':9000 '"
out=$(ip netns exec "$(ns_of $CELL alice)" "$STORM" client 203.0.113.2 9000 $STORM_N 60 2>&1)
echo "# masquerade over wireguard-go: $(echo "$out" | sed -n 's/^rate: //p')"
check "$STORM_N concurrent masqueraded connections all round-trip ($(echo "$out" | head -1))" \
	test "$(echo "$out" | head -1)" = "client: $STORM_N/$STORM_N ok, 0 failed"
wait "$server_pid" 2>/dev/null
out=$(cat "$WORK/storm-server.out")
check "the server saw one address and $STORM_N distinct ports ($out)" \
	test "$out" = "server: $STORM_N connections from 1 distinct addresses and $STORM_N distinct source ports"

# ---- 1,000 concurrent connections through a forward (XDP) ----------------------------
api_ok $CELL POST /api/forwards \
	"{\"id\":\"storm\",\"proto\":\"tcp\",\"public_port\":9100,\"target_ip\":\"$WEB\",\"target_port\":9100}" >/dev/null
bg_in "$(ns_of $CELL web)" "$STORM" server 9100 1000 60 >"$WORK/fwd-server.out" 2>&1
server_pid=$LAST_PID
wait_for 5 sh -c "ip netns exec $(ns_of $CELL web) ss -ltn | grep -q ':9100 '"
out=$(ip netns exec "$INET" "$STORM" client $UPLINK 9100 1000 60 2>&1)
echo "# forward in XDP (veth, no WireGuard): $(echo "$out" | sed -n 's/^rate: //p')"
check "1000 concurrent connections through a forward all round-trip ($(echo "$out" | head -1))" \
	test "$(echo "$out" | head -1)" = "client: 1000/1000 ok, 0 failed"
wait "$server_pid" 2>/dev/null
out=$(cat "$WORK/fwd-server.out")
check "the target saw the client's own address on 1000 ports ($out)" \
	test "$out" = "server: 1000 connections from 1 distinct addresses and 1000 distinct source ports"

# ---- deleting a forward removes what it owned ---------------------------------------
# slot_entries SLOT: NAT entries a forward (by its slot) owns.
slot_entries() {
	bpftool -j map dump pinned "$BPF/cg_nat" | jq "[.[].formatted.value |
		select(.owner == $1 and (.kind == \"CG_NAT_FORWARD\" or .kind == \"CG_NAT_WG_SNAT\"))] | length"
}
slot=$(bpftool -j map dump pinned "$BPF/cg_forwards" |
	jq '.[].formatted | select(.key.port == 22015) | .value.fwd_id')
tcp_get "$INET" $UPLINK 22015 >/dev/null
check "forward alice-ssh owns NAT entries (slot $slot)" test "$(slot_entries "$slot")" -gt 0
out=$(api $CELL DELETE /api/forwards/alice-ssh)
check "DELETE the forward -> 204" test "${out##*$'\n'}" = 204
check "every NAT entry it owned is gone" test "$(slot_entries "$slot")" = 0
check "its port no longer forwards" test -z "$(tcp_get "$INET" $UPLINK 22015)"
check "cg_forwards no longer has it" \
	sh -c "! bpftool map dump pinned $BPF/cg_forwards | grep -q '\"port\": 22015'"

e2e_end
