#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Per-peer service ACLs on real WireGuard (wireguard-go) in namespaces:
# the allow/deny matrix decided by real TCP/UDP connections, drops
# counted per peer with a reason, enforcement while the controller is
# killed, state kept across a restart, deletion, drift repair, detach
# leaving foreign tc filters alone.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

e2e_begin e
CELL=home
N=0
API_PORT=$((20000 + RANDOM % 10000))

CAL=172.20.$N.21
FILES=172.20.$N.22

# ---- set up -------------------------------------------------------------
log "e2e: building cell '$CELL' in namespaces $PREFIX-* (work dir $WORK)"
cell_topology $CELL $N
cell_service $CELL $N cal 21
cell_service $CELL $N files 22
tcp_server "$(ns_of $CELL cal)" 80 calendar
tcp_server "$(ns_of $CELL files)" 80 files
udp_server "$(ns_of $CELL files)" 53 dns
tcp_server "$(ns_of $CELL inet)" 80 internet
write_cell_config $CELL $N $API_PORT
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts and answers /health"

api_ok $CELL PUT /api/services/calendar \
	"{\"endpoints\":[{\"ip\":\"$CAL\",\"proto\":\"tcp\",\"port\":80}]}" >/dev/null &&
api_ok $CELL PUT /api/services/files \
	"{\"endpoints\":[{\"ip\":\"$FILES\",\"proto\":\"tcp\",\"port\":80},{\"ip\":\"$FILES\",\"proto\":\"udp\",\"port\":53}]}" >/dev/null
check "services defined through the API" test $? -eq 0

add_peer $CELL $N alice 2 ',"service_access":["calendar"]' &&
add_peer $CELL $N bob 3 ',"service_access":["files"],"internet_access":true'
check "peers added through the API" test $? -eq 0
tcp_server "$(ns_of $CELL bob)" 7000 bob-here
tcp_server "$(ns_of $CELL alice)" 7000 alice-here
check "alice completes a WireGuard handshake" wait_handshake $CELL alice
check "bob completes a WireGuard handshake" wait_handshake $CELL bob

# ---- the matrix ------------------------------------------------------------
check "alice -> calendar allowed" reach alice $CAL 80 calendar
check "alice -> files denied" blocked alice $FILES 80
check "bob -> files allowed" reach bob $FILES 80 files
check "bob -> files dns (udp) allowed" ureach bob $FILES 53 dns
check "bob -> calendar denied" blocked bob $CAL 80
check "alice -> bob denied (device isolation by default)" blocked alice 10.0.$N.3 7000
check "alice -> router address denied (no service there)" blocked alice 10.0.$N.1 22
check "bob -> internet allowed (internet_access)" reach bob 203.0.113.2 80 internet
check "alice -> internet denied" blocked alice 203.0.113.2 80
check "internet -> alice denied (unsolicited)" \
	test -z "$(tcp_get "$(ns_of $CELL inet)" 10.0.$N.2 7000)"

check "alice's service_denied drops counted" test "$(drops alice service_denied)" -ge 1
check "alice's peer_isolation drops counted" test "$(drops alice peer_isolation)" -ge 1
check "alice's not_a_service drops counted" test "$(drops alice not_a_service)" -ge 1
check "alice's no_internet drops counted" test "$(drops alice no_internet)" -ge 1
check "alice's unsolicited drops counted (egress)" test "$(drops alice unsolicited)" -ge 1
check "bob's rx bytes counted" test "$(api_ok $CELL GET /api/peers/bob | sed -n 's/.*"rx_bytes":\([0-9]*\).*/\1/p')" -gt 0

# Peer to peer needs both sides.
api_ok $CELL PUT /api/peers/alice '{"peer_to_peer":true}' >/dev/null
check "alice -> bob still denied with only alice opted in" blocked alice 10.0.$N.3 7000
api_ok $CELL PUT /api/peers/bob '{"peer_to_peer":true}' >/dev/null
check "alice -> bob allowed once both opted in" reach alice 10.0.$N.3 7000 bob-here
check "bob -> alice allowed once both opted in" reach bob 10.0.$N.2 7000 alice-here

# A change is enforced when the API answers.
api_ok $CELL PUT /api/peers/alice '{"service_access":["calendar","files"]}' >/dev/null
check "granting files: alice -> files allowed at once" reach alice $FILES 80 files
api_ok $CELL PUT /api/peers/alice '{"service_access":["files"]}' >/dev/null
check "revoking calendar: alice -> calendar denied at once" blocked alice $CAL 80

# ---- bpftool shows named fields ---------------------------------------------
dump=$(bpftool map dump pinned "$WORK/$CELL/bpf/cg_peers" 2>&1)
check "bpftool dump of cg_peers shows named fields" \
	sh -c 'echo "$1" | grep -q "\"peer_to_peer\"" && echo "$1" | grep -q CG_KIND_PEER' _ "$dump"
dump=$(bpftool map dump pinned "$WORK/$CELL/bpf/cg_ct_tcp" 2>&1)
check "bpftool dump of cg_ct_tcp shows conntrack states" \
	sh -c 'echo "$1" | grep -q CG_CT_' _ "$dump"

# ---- filtering survives kill -9 of the controller ---------------------------
# Traffic runs while the controller dies.
(for i in $(seq 1 20); do tcp_get "$(ns_of $CELL alice)" $FILES 80 >/dev/null; done) &
traffic=$!
stop_controller $CELL KILL
wait $traffic
check "after kill -9: alice -> files still allowed" reach alice $FILES 80 files
check "after kill -9: alice -> calendar still denied" blocked alice $CAL 80
check "after kill -9: bob -> calendar still denied" blocked bob $CAL 80

# A stale entry written while the controller is down (as a crash between
# saving and applying could leave) must be gone after the restart: id 7,
# kind CG_KIND_PEER, no services, for 10.0.N.99.
bpftool map update pinned "$WORK/$CELL/bpf/cg_peers" key 10 0 $N 99 \
	value 7 0 0 0 1 0 0 0 1 0 0 0 0 0 0 0 $(printf '0 %.0s' $(seq 40))

# ---- restart keeps state and replaces programs in place ----------------------
prog_before=$(ip netns exec "$(ns_of $CELL r)" tc filter show dev "$(if_of $N wg)" ingress | grep -o 'id [0-9]*')
start_controller $CELL
check "controller restarts" test $? -eq 0
prog_after=$(ip netns exec "$(ns_of $CELL r)" tc filter show dev "$(if_of $N wg)" ingress | grep -o 'id [0-9]*')
check "restart replaced the ingress program ($prog_before -> $prog_after)" \
	test -n "$prog_after" -a "$prog_before" != "$prog_after"
n_filters=$(ip netns exec "$(ns_of $CELL r)" tc filter show dev "$(if_of $N wg)" ingress | grep -c 'handle 0xce11')
check "exactly one cellgate ingress filter after restart" test "$n_filters" = 1
n_peers=$(api_ok $CELL GET /api/peers | grep -o '"name"' | wc -l)
n_services=$(api_ok $CELL GET /api/services | grep -o '"name"' | wc -l)
check "state kept across restart ($n_peers peers, $n_services services)" \
	test "$n_peers" = 2 -a "$n_services" = 2
check "restart removed a stale cg_peers entry" \
	sh -c "! bpftool map dump pinned $WORK/$CELL/bpf/cg_peers | grep -q '10,0,$N,99'"
check "after restart: alice -> files allowed" reach alice $FILES 80 files
check "after restart: alice -> calendar denied" blocked alice $CAL 80

# ---- WireGuard drift repair ---------------------------------------------------
bob_pub=$(wg pubkey <"$WORK/$CELL/bob.key")
ip netns exec "$(ns_of $CELL r)" wg set "$(if_of $N wg)" peer "$bob_pub" remove
check "a peer removed behind cellgate's back is restored" \
	wait_for 15 sh -c "ip netns exec $(ns_of $CELL r) wg show $(if_of $N wg) allowed-ips | grep -q '$bob_pub.*10.0.$N.3/32'"
check "the repair is counted" \
	sh -c 'echo "$1" | grep -q "\"wireguard_repairs\":[1-9]"' _ "$(api_ok $CELL GET /api/status)"

# ---- deletion removes everything it owned ------------------------------------
api_ok $CELL DELETE /api/peers/bob >/dev/null
check "deleted bob -> files denied" blocked bob $FILES 80
check "deleted bob is gone from cg_peers" \
	sh -c "! bpftool map dump pinned $WORK/$CELL/bpf/cg_peers | grep -q '10,0,$N,3'"
check "deleted bob is gone from WireGuard" \
	sh -c "! ip netns exec $(ns_of $CELL r) wg show $(if_of $N wg) peers | grep -q '$bob_pub'"

# ---- bad input changes nothing -------------------------------------------------
before=$(state_bytes "$WORK/$CELL/state/state.json")
out=$(api $CELL POST /api/peers '{"name":"eve","public_key":"nope","ip":"10.0.0.9"}')
check "bad key -> 400 naming public_key" sh -c 'echo "$1" | tail -1 | grep -q 400 && echo "$1" | grep -q "\"field\":\"public_key\""' _ "$out"
out=$(api $CELL POST /api/peers "{\"name\":\"alice\",\"public_key\":\"$(wg genkey | wg pubkey)\",\"ip\":\"10.0.$N.9\"}")
check "duplicate name -> 409" test "${out##*$'\n'}" = 409
out=$(api $CELL PUT /api/peers/alice '{"service_access":["nosuch"]}')
check "unknown service -> 400" test "${out##*$'\n'}" = 400
out=$(api $CELL PUT /api/services/x '{"endpoints":[{"ip":"1.2.3.4","proto":"tcp","port":99999}]}')
check "out-of-range port -> 400" test "${out##*$'\n'}" = 400
check "token required" sh -c "[ \"\$(ip netns exec $(ns_of $CELL r) curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$API_PORT/api/peers)\" = 401 ]"
check "state file unchanged by rejected calls" test "$before" = "$(state_bytes "$WORK/$CELL/state/state.json")"

# ---- detach removes only what cellgate created ---------------------------------
r=$(ns_of $CELL r)
wgif=$(if_of $N wg)
# This kernel has cls_bpf only: the foreign filter is a BPF program too.
ip netns exec "$r" tc filter add dev "$wgif" ingress prio 100 handle 0x77 \
	bpf da obj "$here/../../build/tests/foreign_pass.bpf.o" sec tc
stop_controller $CELL TERM
ip netns exec "$r" "$CELLGATE" --config "$WORK/$CELL/cellgate.json" detach 2>/dev/null
check "detach removed cellgate's filter" \
	sh -c "! ip netns exec $r tc filter show dev $wgif ingress | grep -q 0xce11"
check "detach kept a foreign filter" \
	sh -c "ip netns exec $r tc filter show dev $wgif ingress | grep -q foreign_pass"
check "detach unpinned the maps" test ! -e "$WORK/$CELL/bpf/cg_peers"
check "without cellgate, nothing filters: alice -> calendar reachable" reach alice $CAL 80 calendar

e2e_end
