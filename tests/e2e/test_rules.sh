#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Groups and rules between peers (issue 18) on real WireGuard
# (wireguard-go) in namespaces: engineers reach devices on the ports a
# rule names, devices reach neither engineers nor each other, a deleted
# rule cuts an established flow, a group change takes effect when the API
# answers, and bad input is refused naming the field, changing nothing.
# Each denial has its positive control and a drop counter delta.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

e2e_begin r
CELL=home
N=0
API_PORT=$((20000 + RANDOM % 10000))
ENG=10.0.$N.2
DEV1=10.0.$N.3
DEV2=10.0.$N.4

# ---- set up -------------------------------------------------------------
log "e2e: building cell '$CELL' in namespaces $PREFIX-* (work dir $WORK)"
cell_topology $CELL $N
write_cell_config $CELL $N $API_PORT
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts and answers /health"

add_peer $CELL $N eng 2 ',"groups":["engineers"]' &&
add_peer $CELL $N dev1 3 ',"groups":["devices"]' &&
add_peer $CELL $N dev2 4 ',"groups":["devices","cameras"]'
check "peers with groups added through the API" test $? -eq 0
for p in eng dev1 dev2; do
	tcp_server "$(ns_of $CELL $p)" 80 "$p-80"
	tcp_server "$(ns_of $CELL $p)" 22 "$p-22"
	check "$p completes a WireGuard handshake" wait_handshake $CELL $p
done
# An echo server on dev1 for the established flow. -T5: the child serving
# a connection the rule cut ends by itself (teardown stops the listener;
# the child would stay with its peer namespace gone).
bg_in "$(ns_of $CELL dev1)" socat -T5 TCP-LISTEN:81,fork,reuseaddr EXEC:cat \
	</dev/null >>"$WORK/servers.log" 2>&1

# ---- default deny, then the rule ---------------------------------------------
check "no rule: eng -> dev1 tcp/80 denied" blocked eng $DEV1 80
out=$(api $CELL PUT /api/rules/eng-dev \
	'{"from":"group:engineers","to":"group:devices","ports":["tcp/80","tcp/81","icmp"]}')
check "PUT /api/rules/eng-dev -> 200" test "$(status_of "$out")" = 200
check "the rule reads back" \
	like '"from":"group:engineers".*"ports":\["tcp/80","tcp/81","icmp"\]' \
	"$(api_ok $CELL GET /api/rules/eng-dev)"
check "GET /api/rules lists it" like '^\[\{"name":"eng-dev"' "$(api_ok $CELL GET /api/rules)"

check "eng -> dev1 tcp/80 allowed" reach eng $DEV1 80 dev1-80
check "eng -> dev2 tcp/80 allowed (devices and cameras)" reach eng $DEV2 80 dev2-80
check "eng -> dev1 icmp allowed" ip netns exec "$(ns_of $CELL eng)" ping -c1 -W2 $DEV1
d0=$(drops eng peer_isolation)
check "eng -> dev1 tcp/22 denied (not in the rule)" blocked eng $DEV1 22
check "  counted as eng's peer_isolation" test "$(drops eng peer_isolation)" -gt "$d0"
d0=$(drops dev1 peer_isolation)
check "dev1 -> eng tcp/80 denied (the rule names one direction)" blocked dev1 $ENG 80
check "  counted as dev1's peer_isolation" test "$(drops dev1 peer_isolation)" -gt "$d0"
d0=$(drops dev1 peer_isolation)
check "dev1 -> dev2 tcp/80 denied (devices stay isolated)" blocked dev1 $DEV2 80
check "  counted as dev1's peer_isolation" test "$(drops dev1 peer_isolation)" -gt "$d0"
check "cg_rules holds the class pairs" \
	test "$(bpftool map dump pinned "$WORK/$CELL/bpf/cg_rules" | grep -c src_class)" = 2

# ---- a group change takes effect at once --------------------------------------
api_ok $CELL PUT /api/peers/dev2 '{"groups":["cameras"]}' >/dev/null
check "dev2 out of devices: eng -> dev2 denied at once" blocked eng $DEV2 80
check "  eng -> dev1 still allowed (control)" reach eng $DEV1 80 dev1-80
api_ok $CELL PUT /api/peers/dev2 '{"groups":["devices"]}' >/dev/null
check "dev2 back in devices: eng -> dev2 allowed at once" reach eng $DEV2 80 dev2-80
check "peer show names the groups" \
	like '"groups":\["devices"\]' "$(api_ok $CELL GET /api/peers/dev2)"

# ---- a deleted rule cuts an established flow ----------------------------------
lines() { wc -l <"$WORK/flow.out" 2>/dev/null || echo 0; }
: >"$WORK/flow.out"
bg_in "$(ns_of $CELL eng)" sh -c "for i in \$(seq 1 150); do echo \$i; sleep 0.1; done |
	socat -T20 - TCP:$DEV1:81 >$WORK/flow.out 2>/dev/null"
flow_pid=$LAST_PID
wait_for 5 sh -c "[ \$(wc -l <$WORK/flow.out) -ge 5 ]"
check "the established flow carries data (control)" test "$(lines)" -ge 5
d0=$(drops eng peer_isolation)
api_ok $CELL DELETE /api/rules/eng-dev >/dev/null
check "DELETE /api/rules/eng-dev" test $? -eq 0
sleep 0.5
n1=$(lines)
sleep 1.5
n2=$(lines)
check "the established flow stopped when the rule went ($n1 -> $n2 lines)" test "$n2" = "$n1"
check "  its packets counted as eng's peer_isolation" test "$(drops eng peer_isolation)" -gt "$d0"
check "no rule left: eng -> dev1 tcp/80 denied" blocked eng $DEV1 80
kill "$flow_pid" 2>/dev/null

# ---- durable: rules and groups survive a restart ------------------------------
api_ok $CELL PUT /api/rules/eng-dev \
	'{"from":"group:engineers","to":"peer:dev1","ports":["tcp/80"]}' >/dev/null
stop_controller $CELL KILL
start_controller $CELL
check "controller restarts" test $? -eq 0
check "after restart: the rule is there" like '"to":"peer:dev1"' "$(api_ok $CELL GET /api/rules/eng-dev)"
check "after restart: eng -> dev1 tcp/80 allowed" reach eng $DEV1 80 dev1-80
check "after restart: eng -> dev2 tcp/80 denied (not named)" blocked eng $DEV2 80
out=$(api $CELL DELETE /api/peers/dev1)
check "a peer a rule names is not deleted (409 name)" \
	sh -c '[ "$1" = 409 ] && echo "$2" | grep -q "\"field\":\"name\""' _ "$(status_of "$out")" "$out"

# ---- bad input: 4xx naming the field, nothing changed ---------------------------
before=$(api_ok $CELL GET /api/rules)
rejects() {
	local want=$1 field=$2 name=$3 body=$4 out
	out=$(api $CELL PUT "/api/rules/$name" "$body")
	[ "$(status_of "$out")" = "$want" ] && like "\"field\":\"$field\"" "$out"
}
check "unknown peer in from -> 400 from" \
	rejects 400 from x '{"from":"peer:nosuch","to":"group:devices","ports":["any"]}'
check "unknown service in to -> 400 to" \
	rejects 400 to x '{"from":"group:engineers","to":"service:nosuch","ports":["any"]}'
check "unknown cell in to -> 400 to" \
	rejects 400 to x '{"from":"group:engineers","to":"cell:nosuch","ports":["any"]}'
check "bad port syntax -> 400 ports[1]" \
	rejects 400 'ports\[1\]' x '{"from":"group:engineers","to":"group:devices","ports":["tcp/22","tcp/0x50"]}'
check "bad selector -> 400 from" \
	rejects 400 from x '{"from":"everyone","to":"group:devices","ports":["any"]}'
check "a failed replace keeps the rule" \
	rejects 400 'ports\[0\]' eng-dev '{"from":"group:engineers","to":"group:devices","ports":["udp/99999"]}'
out=$(api $CELL PUT /api/peers/dev1 '{"groups":["no spaces"]}')
check "bad group name on a peer -> 400 groups[0]" \
	sh -c '[ "$1" = 400 ] && echo "$2" | grep -q "\"field\":\"groups\[0\]\""' _ "$(status_of "$out")" "$out"
check "  and the peer keeps its groups" like '"groups":\["devices"\]' "$(api_ok $CELL GET /api/peers/dev1)"
check "nothing changed by rejected calls" test "$before" = "$(api_ok $CELL GET /api/rules)"
out=$(api $CELL PUT /api/rules/ghosts '{"from":"group:nobody","to":"group:devices","ports":["any"]}')
check "unknown group accepted (200)" test "$(status_of "$out")" = 200
check "  and matches nobody: eng -> dev2 still denied" blocked eng $DEV2 80

# ---- the CLI -------------------------------------------------------------------
cli() { ip netns exec "$(ns_of $CELL r)" "$CELLGATE" --config "$WORK/$CELL/cellgate.json" "$@"; }
check "cellgate rule add" cli rule add cli-rule --from group:engineers --to group:cameras --port tcp/22
check "cellgate rule list shows it" like 'cli-rule +group:engineers +group:cameras +tcp/22' "$(cli rule list)"
check "cellgate --json rule show" like '"name": ?"cli-rule"' "$(cli --json rule show cli-rule)"
check "eng -> dev2 tcp/22 denied: dev2 is no camera yet" blocked eng $DEV2 22
check "cellgate peer set --group" cli peer set dev2 --group cameras --group devices
check "eng -> dev2 tcp/22 allowed once dev2 is a camera" reach eng $DEV2 22 dev2-22
check "cellgate peer set --no-groups" cli peer set dev2 --no-groups
check "eng -> dev2 tcp/22 denied once dev2 has no group" blocked eng $DEV2 22
check "cellgate rule del" cli rule del cli-rule
check "the rule is gone" test "$(status_of "$(api $CELL GET /api/rules/cli-rule)")" = 404

# ---- import with groups ---------------------------------------------------------
pub=$(wg genkey | wg pubkey)
out=$(api $CELL POST /api/peers/import "{\"peers\":[{\"name\":\"dev3\",\"public_key\":\"$pub\",\"groups\":[\"devices\"]}]}")
check "import of a peer with groups -> 201" test "$(status_of "$out")" = 201
check "  the imported peer is in its group" like '"groups":\["devices"\]' "$(api_ok $CELL GET /api/peers/dev3)"
check "  and has the devices' rule class in cg_peers" \
	test "$(bpftool map dump pinned "$WORK/$CELL/bpf/cg_peers" | grep -c '"rule_class": [1-9]')" -ge 2

e2e_end
