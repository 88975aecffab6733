#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Rate limits for guests (issue 18, item 3): alice gets
# {"down_mbit": 20, "up_mbit": 10}; iperf3 to and from the internet
# host (masqueraded), 5 s each way, lands within 10% of the limit
# (download shaped by EDT and the fq qdisc the controller put on wg0,
# upload policed by a token bucket, its drops counted as rate_limited).
# bob, unlimited, in the same run is well above the limit; alice's limit
# removed, she is too. The figures are printed: this is the shaper's
# functional check, not a benchmark.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
command -v iperf3 >/dev/null || skip "iperf3 is not installed"

e2e_begin rl
CELL=home
N=0
API_PORT=$((20000 + RANDOM % 10000))
R=$(ns_of $CELL r)
INET=$(ns_of $CELL inet)
INET_IP=203.0.113.2
WG=$(if_of $N wg)
DOWN=${RATE_DOWN:-20}
UP=${RATE_UP:-10}
SECS=${RATE_SECS:-5}

cg() { ip netns exec "$R" "$CELLGATE" --config "$WORK/$CELL/cellgate.json" "$@"; }

# mbit PEER [-R]: iperf3 from PEER to the internet host (-R: download),
# the receiver's rate in Mbit/s (one decimal), or 0.
mbit() {
	local peer=$1
	shift
	ip netns exec "$(ns_of $CELL "$peer")" timeout $((SECS + 20)) \
		iperf3 -c $INET_IP -p 5201 -t "$SECS" -O 1 -J "$@" >"$WORK/iperf.json" 2>/dev/null
	jq -r '(.end.sum_received.bits_per_second // 0) / 1e5 | floor / 10' "$WORK/iperf.json"
}
# within X LIMIT: X within 10% of LIMIT.
within() { awk -v x="$1" -v l="$2" 'BEGIN { exit !(x >= l * 0.9 && x <= l * 1.1) }'; }
above() { awk -v x="$1" -v l="$2" 'BEGIN { exit !(x > l) }'; }

log "e2e: building cell '$CELL' in namespaces $PREFIX-* (work dir $WORK)"
cell_topology $CELL $N
write_cell_config $CELL $N $API_PORT
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts"
add_peer $CELL $N alice 2 ',"internet_access":true' &&
	add_peer $CELL $N bob 3 ',"internet_access":true'
check "two peers" test $? -eq 0
check "alice completes a WireGuard handshake" wait_handshake $CELL alice
check "bob completes a WireGuard handshake" wait_handshake $CELL bob
bg_in "$INET" iperf3 -s -p 5201
wait_for 5 ip netns exec "$INET" sh -c 'ss -ltn | grep -q ":5201 "'

# ---- bad input: 400 naming the field, nothing changed --------------------
before=$(api_ok $CELL GET /api/peers/alice)
for body in '{"rate_limit":{"down_mbit":-1}}' '{"rate_limit":{"down_mbit":0}}' \
	'{"rate_limit":{"up_mbit":1.5}}' '{"rate_limit":{"up_mbit":"10"}}' \
	'{"rate_limit":{"down_mbit":10,"burst":1}}' '{"rate_limit":[10]}'; do
	out=$(api $CELL PUT /api/peers/alice "$body")
	check "PUT $body: 400 naming rate_limit" like '^400' "$(status_of "$out")"
	check "PUT $body: the error names the field" like 'rate_limit' "$out"
done
check "alice unchanged by the refused PUTs" test "$(api_ok $CELL GET /api/peers/alice)" = "$before"

# ---- limited ---------------------------------------------------------------
check "cellgate peer set --down-mbit abc is a usage error" test "$(cg peer set alice --down-mbit abc >/dev/null 2>&1; echo $?)" = 2
check "cellgate peer set alice --down-mbit $DOWN --up-mbit $UP" \
	like "rate limit[: ]+down $DOWN Mbit/s, up $UP Mbit/s" "$(cg peer set alice --down-mbit $DOWN --up-mbit $UP)"
check "alice's rate_limit in the API" \
	test "$(api_ok $CELL GET /api/peers/alice | jq -c .rate_limit)" = "{\"down_mbit\":$DOWN,\"up_mbit\":$UP}"
check "cellgate --json peer show alice has it" \
	test "$(cg --json peer show alice | jq -c .rate_limit)" = "{\"down_mbit\":$DOWN,\"up_mbit\":$UP}"
check "cellgate maps rate: alice's row" \
	like "alice +[0-9]+ +$DOWN +$UP" "$(cg maps rate)"
# Does this kernel have sch_fq? Asked on a veth pair of a namespace of
# our own, never on wg0.
if unshare -n sh -c 'ip link add q0 type veth peer name q1 && tc qdisc add dev q0 root fq' 2>/dev/null; then
	check "the controller puts fq on $WG" \
		wait_for 5 sh -c "ip netns exec $R tc qdisc show dev $WG root | grep -q '^qdisc fq '"
else
	echo "# SKIP fq on $WG: this kernel has no sch_fq (CONFIG_NET_SCH_FQ); the download is policed at the 2 s horizon, not shaped"
	check "the controller says why there is no fq" \
		wait_for 5 grep -q 'no fq qdisc' "$WORK/$CELL/cellgate.log"
fi
echo "# $WG's qdiscs: $(ip netns exec "$R" tc qdisc show dev "$WG" | tr '\n' ';')"
rl0=$(drops alice rate_limited)
a_down=$(mbit alice -R)
a_up=$(mbit alice)
# One more measurement of a direction outside the window: the machine is
# shared, and a run starved of CPU says nothing of the limit (the bound
# stays as it is).
within "$a_down" "$DOWN" || { echo "# download $a_down Mbit/s: measured again"; a_down=$(mbit alice -R); }
within "$a_up" "$UP" || { echo "# upload $a_up Mbit/s: measured again"; a_up=$(mbit alice); }
rl1=$(drops alice rate_limited)
b_down=$(mbit bob -R)
b_up=$(mbit bob)
echo "# limited alice ($DOWN down / $UP up): down $a_down Mbit/s, up $a_up Mbit/s; rate_limited +$((rl1 - rl0)); bob unlimited: down $b_down, up $b_up Mbit/s"
check "alice's download within 10% of $DOWN Mbit/s ($a_down)" within "$a_down" "$DOWN"
check "alice's upload within 10% of $UP Mbit/s ($a_up)" within "$a_up" "$UP"
check "alice's policed upload counted as rate_limited (+$((rl1 - rl0)))" test $((rl1 - rl0)) -gt 0
check "bob's download is not limited ($b_down > 2 x $DOWN)" above "$b_down" $((2 * DOWN))
check "bob's upload is not limited ($b_up > 2 x $UP)" above "$b_up" $((2 * UP))
check "bob has no rate_limited drop" test "$(drops bob rate_limited)" = 0
m=$(metric "cellgate_peer_drops_total{peer=\"alice\",reason=\"rate_limited\"}")
check "/metrics has alice's rate_limited drops ($m)" test "${m%.*}" -ge $((rl1 - rl0))

# ---- limit removed -----------------------------------------------------------
check "cellgate peer set alice --no-rate-limit" like "rate limit[: ]+-" "$(cg peer set alice --no-rate-limit)"
check "alice's rate_limit cleared" test "$(api_ok $CELL GET /api/peers/alice | jq -c .rate_limit)" = null
a_down=$(mbit alice -R)
a_up=$(mbit alice)
echo "# alice unlimited again: down $a_down Mbit/s, up $a_up Mbit/s"
check "alice's download back to full speed ($a_down > 2 x $DOWN)" above "$a_down" $((2 * DOWN))
check "alice's upload back to full speed ($a_up > 2 x $UP)" above "$a_up" $((2 * UP))
check "0 errors in the log" test "$(grep -c 'cellgate error:' "$WORK/$CELL/cellgate.log")" = 0

e2e_end
