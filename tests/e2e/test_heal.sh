#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# What vanishes under a running controller comes back (issue 21, item 1):
# wireguard-go killed, the WireGuard device deleted, the uplink and the
# bridge deleted and re-created, and our tc program replaced by another
# one (put back by default, left alone with dataplane.foreign_programs =
# "leave"). After each, the ACL walk holds: a positive control and a
# denial proven by its drop counter. The time from the fault to the
# repair is printed (measured, not asserted: make bench is for speed).
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

e2e_begin h
CELL=home
N=0
API_PORT=$((20000 + RANDOM % 10000))
CAL=172.20.$N.21
FILES=172.20.$N.22
R=$(ns_of $CELL r)
WG=$(if_of $N wg)
UP=$(if_of $N up)
BR=$(if_of $N br)
D="$WORK/$CELL"
FOREIGN="$here/../../build/tests/foreign_pass.bpf.o"

# reach_soon PEER IP PORT BANNER: a handshake after a repair may wait for
# the peer's retry (5 s): bounded polling.
reach_soon() { wait_for 20 reach "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# ours_on_wg: both of wg0's hooks carry cellgate's programs (by name).
ours_on_wg() {
	ip netns exec "$R" tc filter show dev "$WG" ingress | grep -q 'handle 0xce11.*wg_ingress' &&
		ip netns exec "$R" tc filter show dev "$WG" egress | grep -q 'handle 0xce11.*wg_egress'
}
# wg_ready: the device is back with both peers and our programs.
wg_ready() {
	[ "$(ip netns exec "$R" wg show "$WG" peers 2>/dev/null | wc -l)" = 2 ] && ours_on_wg
}
# repaired WHAT START_MS: wait (bounded) for the check, print the time.
timed() {
	local what=$1 t0=$2
	shift 2
	if wait_for 15 "$@"; then
		log "# $what: repaired $(($(now_ms) - t0)) ms after the fault"
		return 0
	fi
	return 1
}
# acl_walk WHEN: alice reaches the calendar, and is denied files with
# her service_denied counter rising.
acl_walk() {
	local before
	check "$1: alice -> calendar allowed (positive control)" reach_soon alice $CAL 80 calendar
	before=$(drops alice service_denied)
	check "$1: alice -> files denied" blocked alice $FILES 80
	check "$1: alice's service_denied drops rose ($before -> $(drops alice service_denied))" \
		test "$(drops alice service_denied)" -gt "${before:-0}"
}

[ -f "$FOREIGN" ] || skip "$FOREIGN is not built (make test builds it)"

# ---- set up -------------------------------------------------------------
log "e2e: building cell '$CELL' in namespaces $PREFIX-* (work dir $WORK)"
cell_topology $CELL $N
cell_service $CELL $N cal 21
cell_service $CELL $N files 22
tcp_server "$(ns_of $CELL cal)" 80 calendar
tcp_server "$(ns_of $CELL files)" 80 files
tcp_server "$(ns_of $CELL inet)" 80 internet
write_cell_config $CELL $N $API_PORT
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts and answers /health"
api_ok $CELL PUT /api/services/calendar \
	"{\"endpoints\":[{\"ip\":\"$CAL\",\"proto\":\"tcp\",\"port\":80}]}" >/dev/null &&
	api_ok $CELL PUT /api/services/files \
		"{\"endpoints\":[{\"ip\":\"$FILES\",\"proto\":\"tcp\",\"port\":80}]}" >/dev/null
check "services defined through the API" test $? -eq 0
add_peer $CELL $N alice 2 ',"service_access":["calendar"]' &&
	add_peer $CELL $N bob 3 ',"service_access":["files"],"internet_access":true'
check "peers added through the API" test $? -eq 0
check "alice completes a WireGuard handshake" wait_handshake $CELL alice
acl_walk "before any fault"

# ---- wireguard-go killed ------------------------------------------------------
wgpid=$(cat "$D/state/wireguard-go.pid" 2>/dev/null)
check "the controller started wireguard-go (pid ${wgpid:-none})" test -n "$wgpid"
healed=$(metric 'cellgate_heal_total{what="wireguard"}')
t0=$(now_ms)
kill -KILL "$wgpid"
check "wireguard-go killed: device, peers and programs back" timed "wireguard-go killed" "$t0" wg_ready
newpid=$(cat "$D/state/wireguard-go.pid" 2>/dev/null)
check "a new wireguard-go runs ($wgpid -> $newpid)" \
	sh -c "[ -n '$newpid' ] && [ '$newpid' != '$wgpid' ] && kill -0 '$newpid'"
check "the log says why" grep -q "device gone" "$D/cellgate.log"
check "cellgate_heal_total{what=\"wireguard\"} rose" \
	test "$(metric 'cellgate_heal_total{what="wireguard"}')" -gt "$healed"
acl_walk "after wireguard-go was killed"
check "bob -> internet allowed after the repair" reach_soon bob 203.0.113.2 80 internet

# ---- the device deleted --------------------------------------------------------
healed=$(metric 'cellgate_heal_total{what="wireguard"}')
t0=$(now_ms)
ip -n "$R" link del "$WG"
check "ip link del $WG: device, peers and programs back" timed "device deleted" "$t0" wg_ready
check "cellgate_heal_total{what=\"wireguard\"} rose again" \
	test "$(metric 'cellgate_heal_total{what="wireguard"}')" -gt "$healed"
acl_walk "after the device was deleted"

# ---- a foreign program on our hook ------------------------------------------------
foreign_before=$(metric cellgate_foreign_programs_total)
t0=$(now_ms)
ip netns exec "$R" tc filter replace dev "$WG" ingress handle 0xce11 prio 1 \
	bpf da obj "$FOREIGN" sec tc
check "ours put back in place of a foreign program" timed "foreign program" "$t0" ours_on_wg
check "cellgate_foreign_programs_total rose" \
	test "$(metric cellgate_foreign_programs_total)" -gt "$foreign_before"
check "the log names it" grep -q "another program replaced ours" "$D/cellgate.log"
acl_walk "after a foreign program replaced ours"

# ---- the uplink: our XDP program removed, then the link re-created -------------------
# Our XDP program removed (no event for that): the hook check puts it back.
program_before=$(metric 'cellgate_heal_total{what="program"}')
ip -n "$R" link set dev "$UP" xdpgeneric off 2>/dev/null
ip -n "$R" link set dev "$UP" xdp off 2>/dev/null
program_counted() { [ "$(metric 'cellgate_heal_total{what="program"}')" -gt "$program_before" ]; }
# (the detach sends a link event: ours may be back before a check of
# its absence could run, so the log and the counter prove it)
check "our XDP program removed from the uplink is put back" \
	wait_for 15 sh -c "ip -n $R link show $UP | grep -q xdp"
check "cellgate_heal_total{what=\"program\"} rose" wait_for 5 program_counted
check "the log says our XDP program was gone" grep -q "uplink xdp: our program is gone" "$D/cellgate.log"
uplink_before=$(metric 'cellgate_heal_total{what="uplink"}')
ip -n "$R" link del "$UP"
ip link add "$UP" netns "$R" type veth peer name eth0 netns "$(ns_of $CELL inet)"
ip -n "$R" addr add 203.0.113.1/24 dev "$UP"
ip -n "$R" link set "$UP" up
ip -n "$(ns_of $CELL inet)" addr add 203.0.113.2/24 dev eth0
ip -n "$(ns_of $CELL inet)" link set eth0 up
ip -n "$(ns_of $CELL inet)" route add "10.0.$N.0/24" via 203.0.113.1
check "uplink re-created: XDP and tc egress attached again" \
	wait_for 15 sh -c "ip -n $R link show $UP | grep -q xdp &&
		ip netns exec $R tc filter show dev $UP egress | grep -q 'handle 0xce11'"
check "cellgate_heal_total{what=\"uplink\"} rose" \
	test "$(metric 'cellgate_heal_total{what="uplink"}')" -gt "$uplink_before"
check "bob -> internet allowed over the new uplink" reach_soon bob 203.0.113.2 80 internet
before=$(drops alice no_internet)
check "alice -> internet still denied" blocked alice 203.0.113.2 80
check "alice's no_internet drops rose ($before -> $(drops alice no_internet))" \
	test "$(drops alice no_internet)" -gt "${before:-0}"

# ---- the bridge deleted and re-created -------------------------------------------------
bridge_before=$(metric 'cellgate_heal_total{what="bridge"}')
ip -n "$R" link del "$BR"
ip -n "$R" link add "$BR" type bridge
ip -n "$R" addr add "172.20.$N.1/24" dev "$BR"
ip -n "$R" link set "$BR" up
for s in cal files; do ip -n "$R" link set "$(if_of $N $s)" master "$BR" up; done
bridge_counted() { [ "$(metric 'cellgate_heal_total{what="bridge"}')" -gt "$bridge_before" ]; }
check "bridge back: counted in cellgate_heal_total" wait_for 15 bridge_counted
acl_walk "after the bridge came back"

# ---- dataplane.foreign_programs = "leave" ----------------------------------------------
stop_controller $CELL
sed -i 's|^  "api": |  "dataplane": {"foreign_programs": "leave"},\n  "api": |' "$D/cellgate.json"
start_controller $CELL
check "controller restarts with foreign_programs = leave" test $? -eq 0
ip netns exec "$R" tc filter replace dev "$WG" ingress handle 0xce11 prio 1 \
	bpf da obj "$FOREIGN" sec tc
check "the foreign program is warned about" \
	wait_for 15 grep -q "left alone as configured" "$D/cellgate.log"
check "... and left in place" \
	sh -c "ip netns exec $R tc filter show dev $WG ingress | grep -q foreign_pass"
stop_controller $CELL
sed -i 's|"foreign_programs": "leave"|"foreign_programs": "sometimes"|' "$D/cellgate.json"
out=$("$CELLGATE" --config "$D/cellgate.json" run 2>&1)
check "an unknown foreign_programs value is refused, naming the field" \
	like "dataplane.foreign_programs" "$out"

e2e_end
