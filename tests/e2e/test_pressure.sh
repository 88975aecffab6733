#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Limits under pressure (issue 21, item 4).
#
# 1. Flow budgets: alice floods new flows (a fixed count of UDP datagrams,
#    each to a port of its own, masqueraded to the internet host) while
#    bob's TCP transfer (iperf3, masqueraded too) runs. alice holds at
#    most conntrack.per_peer_max flows, the rest of hers are dropped and
#    counted as flow_budget against her alone; bob's transfer goes on to
#    its end and bob has no drop; bob opens new flows during the flood.
# 2. The admin API under 500 idle connections (several loopback source
#    addresses, reopened when cut) and 200 concurrent clients doing GETs
#    and PUTs (tests/tools/api_load.py): every request sent is answered;
#    the latencies are printed, not asserted.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
command -v iperf3 >/dev/null || skip "iperf3 is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"

e2e_begin p
CELL=home
N=0
API_PORT=$((20000 + RANDOM % 10000))
R=$(ns_of $CELL r)
INET=$(ns_of $CELL inet)
INET_IP=203.0.113.2
BUDGET=${PRESSURE_BUDGET:-256}
FLOOD=${PRESSURE_FLOOD:-3000}
D="$WORK/$CELL"

# peer_drops NAME: every drop counter of the peer, as "reason=n ...".
peer_drops() {
	api_ok $CELL GET "/api/peers/$1" | jq -r '.counters.drops | to_entries | map("\(.key)=\(.value)") | join(" ")'
}
drop_total() {
	api_ok $CELL GET "/api/peers/$1" | jq '[.counters.drops[]] | add'
}
# flows_of NAME: conntrack entries the peer opened, from the pinned maps.
flows_of() {
	local id
	id=$(ip netns exec "$R" "$CELLGATE" --config "$D/cellgate.json" --json maps budget |
		jq --arg p "$1" '[.[] | select(.identity == $p) | .flows] | add // 0')
	echo "${id:-0}"
}

# ---- set up -------------------------------------------------------------
log "e2e: building cell '$CELL' in namespaces $PREFIX-* (work dir $WORK)"
cell_topology $CELL $N
write_cell_config $CELL $N $API_PORT
sed -i "s|^  \"api\": |  \"conntrack\": {\"per_peer_max\": $BUDGET},\n  \"api\": |" "$D/cellgate.json"
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts with conntrack.per_peer_max $BUDGET"
add_peer $CELL $N alice 2 ',"internet_access":true' &&
	add_peer $CELL $N bob 3 ',"internet_access":true' &&
	add_peer $CELL $N carol 4 ''
check "three peers" test $? -eq 0
check "alice completes a WireGuard handshake" wait_handshake $CELL alice
check "bob completes a WireGuard handshake" wait_handshake $CELL bob
addr_server "$INET" 80
bg_in "$INET" iperf3 -s -p 5201
wait_for 5 ip netns exec "$INET" sh -c 'ss -ltn | grep -q ":5201 "'

# reaches_inet PEER: a new TCP flow of PEER is answered, masqueraded.
reaches_inet() { like '^203\.0\.113\.1:[0-9]+$' "$(tcp_get "$(ns_of $CELL "$1")" $INET_IP 80)"; }
# The first connection after the handshake is sometimes lost on the way
# (wireguard-go); the controls retry for 10 s, the flood's checks do not.
check "positive control: alice reaches the internet host" wait_for 10 reaches_inet alice
check "positive control: bob too" wait_for 10 reaches_inet bob

# ---- 1. a flood of new flows from alice ------------------------------------
if [ "${PRESSURE_ONLY:-}" != api ]; then
a_budget0=$(drops alice flow_budget)
a_rx0=$(api_ok $CELL GET /api/peers/alice | jq .counters.rx_packets)
b_drops0=$(drop_total bob)
ip netns exec "$(ns_of $CELL bob)" timeout 40 iperf3 -c $INET_IP -p 5201 -t 8 -J \
	>"$WORK/iperf.json" 2>"$WORK/iperf.err" &
iperf_pid=$!
sleep 1
# FLOOD datagrams, each a flow of its own (source port fixed, destination
# port varies), paced so that wireguard-go's queues do not drop them.
# The internet host drops the flood (no port unreachable back): alice's
# flows stay unreplied, and held, for the test's length.
ip netns exec "$INET" iptables -A INPUT -p udp --dport 10000:60000 -j DROP
ip netns exec "$(ns_of $CELL alice)" timeout 60 python3 - "$INET_IP" "$FLOOD" <<'EOF'
import socket, sys, time
dst, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    s.sendto(b"x" * 32, (dst, 10000 + i))
    if i % 50 == 49:
        time.sleep(0.01)
EOF
sleep 1
seen=$(tcp_get "$(ns_of $CELL bob)" $INET_IP 80)
check "during the flood bob opens a new flow ($seen)" like "^203\.0\.113\.1:[0-9]+$" "$seen"
budget_before_new=$(drops alice flow_budget)
check "alice's next new flow is refused while she holds her budget" \
	test -z "$(tcp_get "$(ns_of $CELL alice)" $INET_IP 80)"
wait "$iperf_pid"
iperf_rc=$?
a_budget1=$(drops alice flow_budget)
a_rx1=$(api_ok $CELL GET /api/peers/alice | jq .counters.rx_packets)
b_drops1=$(drop_total bob)
sent=$(jq '.end.sum_sent.bytes // 0' "$WORK/iperf.json")
recv=$(jq '.end.sum_received.bytes // 0' "$WORK/iperf.json")
a_flows=$(flows_of alice)
if [ -n "${PRESSURE_DEBUG:-}" ]; then
	ip netns exec "$R" "$CELLGATE" --config "$D/cellgate.json" --json maps budget
	ip netns exec "$R" "$CELLGATE" --config "$D/cellgate.json" --json maps ct_other | jq -c '.[0:2], length'
	grep -i "gc\|conntrack" "$D/cellgate.log" | tail -5
fi
dropped=$((a_budget1 - a_budget0))
admitted=$((a_rx1 - a_rx0))
echo "# flood: $FLOOD datagrams from alice; dropped as flow_budget $dropped; alice's rx packets +$admitted; alice holds $a_flows flows (budget $BUDGET)"
echo "# bob's iperf3 during the flood: rc $iperf_rc, sent $sent B, received $recv B, $(jq -r '.end.sum_received.bits_per_second // 0 | . / 1e6 | floor' "$WORK/iperf.json") Mbit/s; bob's drops +$((b_drops1 - b_drops0))"
check "bob's transfer ran to its end during the flood (iperf3 rc $iperf_rc, $recv B)" \
	test "$iperf_rc" = 0 -a "$recv" -gt 0
check "bob's established flow was never reset: iperf3 reports no error" \
	test "$(jq -r '.error // empty' "$WORK/iperf.json")" = ""
check "bob has no drop ($(peer_drops bob))" test "$b_drops1" = "$b_drops0"
# wireguard-go loses some datagrams of the burst before the programs see
# them (about 10% here): what arrived is admitted or dropped, and at
# least 80% must arrive.
echo "# of $FLOOD datagrams, $((dropped + admitted)) reached wg0 ingress: $admitted admitted, $dropped dropped (flow_budget)"
check "alice's flood is counted as flow_budget drops ($dropped, at least $((FLOOD * 80 / 100 - BUDGET)))" \
	test "$dropped" -ge $((FLOOD * 80 / 100 - BUDGET))
check "alice's new flows admitted during the flood stay within her budget ($admitted <= $BUDGET)" \
	test "$admitted" -le "$BUDGET"
check "alice's refused new TCP flow is counted too" test "$a_budget1" -gt "$budget_before_new"
check "alice holds at most her budget ($a_flows <= $BUDGET)" test "$a_flows" -le "$BUDGET" -a "$a_flows" -gt 0
nat=$(ip netns exec "$R" "$CELLGATE" --config "$D/cellgate.json" --json maps nat |
	jq '[.[] | select((.source // "") | startswith("10.0.0.2:"))] | length')
check "alice's NAT entries stay within her budget ($nat <= $BUDGET)" test "${nat:-0}" -le "$BUDGET"
m=$(metric "cellgate_peer_drops_total{peer=\"alice\",reason=\"flow_budget\"}")
check "/metrics has alice's flow_budget drops ($m)" test "${m%.*}" -ge "$dropped"

fi

# ---- 2. the admin API under 500 idle connections and 200 clients ------------------
for idle in ${PRESSURE_IDLE_STEPS:-}; do
	echo "# api load, $idle idle: $(ip netns exec "$R" timeout 120 python3 "$here/../tools/api_load.py" --port "$API_PORT" \
		--token-file "$D/api.token" --idle $idle --idle-sources 10 --clients 200 \
		--requests 5 --put-peer carol)"
done
out=$(ip netns exec "$R" timeout 120 python3 "$here/../tools/api_load.py" --port "$API_PORT" \
	--token-file "$D/api.token" --idle 500 --idle-sources 10 --clients 200 \
	--requests 5 --put-peer carol)
echo "# api load: $out"
sent=$(echo "$out" | jq .sent)
answered=$(echo "$out" | jq .answered)
check "500 idle connections were opened ($(echo "$out" | jq .idle_opened_before_clients) before the clients)" \
	test "$(echo "$out" | jq .idle_opened)" -ge 500
check "every legit request answered ($answered of $sent)" test "${sent:-0}" -gt 0 -a "$answered" = "$sent"
check "the API still answers after the load" api_ok $CELL GET /api/status
check "0 errors in the log" test "$(grep -c 'cellgate error:' "$D/cellgate.log")" = 0
grep -E ' (error|warn)' "$D/cellgate.log" | grep -v libbpf | cut -c26- | sort | uniq -c | sort -rn | head -12 | sed 's/^/# log: /'

e2e_end
