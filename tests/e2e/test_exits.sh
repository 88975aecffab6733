#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Per-peer exits with a kill switch (issue 20) on real packets. Three
# peers with internet_access: alice leaves by a WireGuard exit (a "vps"
# namespace running wireguard-go, which routes on to the internet host),
# carol by an interface exit (a veth into an "isp" namespace, with a
# gateway), bob by the uplink (the positive control). The internet host
# answers with the address it sees. Each exit taken down: that peer's
# packets are dropped and counted (exit_down), none reaches the internet
# host by the uplink (a tc counter there), bob is unaffected; back up:
# traffic resumes by itself. kill -9 of the controller keeps the choice
# (it lives in the maps), and so does a restart. Bad input: 400 naming
# the field, 409 for a used exit, nothing changed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

e2e_begin x
# The exits' wireguard-go (the controller keeps their PIDs) outlive a
# deleted namespace: stopped too, however the test ends.
trap 'for f in "$WORK"/*/state/wireguard-go.*.pid; do
	[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
	teardown 2>/dev/null; rm -rf "$WORK"' EXIT
CELL=exits
N=4
API_PORT=$((20000 + RANDOM % 10000))
R=$(ns_of $CELL r)
INET=$(ns_of $CELL inet)
VPS=$(ns_of $CELL vps)
ISP=$(ns_of $CELL isp)
INET_IP=203.0.113.2
UPLINK=203.0.113.1
VX=v$SHORT # the WireGuard exit's name: its interface cgx-<it>, unique
VIF=cgx-$VX
XIF=$(if_of $N x) # the interface exit's link, on the router
VPS_IF=$(if_of $N vw)

cg() { ip netns exec "$R" "$CELLGATE" --config "$WORK/$CELL/cellgate.json" "$@"; }
# seen PEER [PORT]: the address the internet host sees for PEER.
seen() { tcp_get "$(ns_of $CELL "$1")" $INET_IP "${2:-80}"; }
quiet() { "$@" >/dev/null; }
# seen_is PEER REGEX [PORT]
seen_is() { [[ "$(seen "$1" "${3:-80}")" =~ $2 ]]; }
# refused STATUS FIELD OUTPUT: api's OUTPUT is STATUS naming FIELD.
refused() {
	[ "$(status_of "$3")" = "$1" ] &&
		echo "${3%$'\n'*}" | jq -e --arg f "$2" '.field == $f' >/dev/null
}
all_up() { api_ok $CELL GET /api/exits | jq -e 'length == 2 and all(.up)' >/dev/null; }
exit_up() { api_ok $CELL GET "/api/exits/$1" | jq -e '.up == true' >/dev/null; }
exit_down() { api_ok $CELL GET "/api/exits/$1" | jq -e '.up == false' >/dev/null; }
# leaked: TCP packets to port 81 that reached the internet host, by any
# of its links (an nftables counter in its own namespace; this kernel has
# no tc flower or gact).
leaked() {
	ip netns exec "$INET" nft -j list chain inet cgt probe |
		jq '[.nftables[] | .rule? // empty | .expr[] | .counter? // empty | .packets] | add // 0'
}

log "e2e: building cell '$CELL' in namespaces $PREFIX-* (work dir $WORK)"
cell_topology $CELL $N
addr_server "$INET" 80
addr_server "$INET" 81
# The internet host counts what arrives for port 81 (the leak probe),
# whatever interface and source it came by.
command -v nft >/dev/null || skip "nft is not installed (the leak counter)"
ip netns exec "$INET" nft add table inet cgt
ip netns exec "$INET" nft add chain inet cgt probe '{ type filter hook prerouting priority -300; }'
ip netns exec "$INET" nft add rule inet cgt probe tcp dport 81 counter

# The VPS: the far end of the WireGuard exit, on a link of the router
# (192.0.2.0/24), forwarding to the internet host (198.51.100.0/24).
ip netns add "$VPS"
ip -n "$VPS" link set lo up
ip netns exec "$VPS" sysctl -qw net.ipv4.ip_forward=1
ip link add "$(if_of $N vu)" netns "$R" type veth peer name eth0 netns "$VPS"
ip -n "$R" addr add 192.0.2.1/24 dev "$(if_of $N vu)"
ip -n "$R" link set "$(if_of $N vu)" up
ip -n "$VPS" addr add 192.0.2.2/24 dev eth0
ip -n "$VPS" link set eth0 up
ip link add "$(if_of $N vi)" netns "$VPS" type veth peer name eth1 netns "$INET"
ip -n "$VPS" addr add 198.51.100.1/24 dev "$(if_of $N vi)"
ip -n "$VPS" link set "$(if_of $N vi)" up
ip -n "$INET" addr add 198.51.100.2/24 dev eth1
ip -n "$INET" link set eth1 up
ip -n "$VPS" route add default via 198.51.100.2
ip -n "$INET" route add 10.64.0.0/24 via 198.51.100.1
(umask 077 && wg genkey >"$WORK/vps.key")
VPS_PUB=$(wg pubkey <"$WORK/vps.key")
WG_PROCESS_FOREGROUND=1 bg_in "$VPS" wireguard-go "$VPS_IF" </dev/null >>"$WORK/vps.wg.log" 2>&1
echo "$LAST_PID" >"$WORK/vps.wg.pid"
wait_for 5 test -S "/var/run/wireguard/$VPS_IF.sock"
ip netns exec "$VPS" wg set "$VPS_IF" private-key "$WORK/vps.key" listen-port 51820
ip -n "$VPS" addr add 10.64.0.1/24 dev "$VPS_IF"
ip -n "$VPS" link set "$VPS_IF" up

# The ISP: behind the interface exit (an Ethernet link, a gateway), on
# to the internet host (198.51.101.0/24).
ip netns add "$ISP"
ip -n "$ISP" link set lo up
ip netns exec "$ISP" sysctl -qw net.ipv4.ip_forward=1
ip link add "$XIF" netns "$R" type veth peer name eth0 netns "$ISP"
ip -n "$R" addr add 198.18.4.1/24 dev "$XIF"
ip -n "$R" link set "$XIF" up
ip -n "$ISP" addr add 198.18.4.2/24 dev eth0
ip -n "$ISP" link set eth0 up
ip link add "$(if_of $N ii)" netns "$ISP" type veth peer name eth2 netns "$INET"
ip -n "$ISP" addr add 198.51.101.1/24 dev "$(if_of $N ii)"
ip -n "$ISP" link set "$(if_of $N ii)" up
ip -n "$INET" addr add 198.51.101.2/24 dev eth2
ip -n "$INET" link set eth2 up
ip -n "$ISP" route add default via 198.51.101.2
ip -n "$INET" route add 198.18.4.0/24 via 198.51.101.1

write_cell_config $CELL $N $API_PORT
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts"
add_peer $CELL $N alice 2 ',"internet_access":true' &&
	add_peer $CELL $N bob 3 ',"internet_access":true' &&
	add_peer $CELL $N carol 4 ',"internet_access":true'
check "three peers with internet access" test $? -eq 0
for p in alice bob carol; do check "$p's handshake" wait_handshake $CELL $p; done
check "before any exit, alice is seen as the uplink" like "^$UPLINK:" "$(seen alice)"
check "and bob" like "^$UPLINK:" "$(seen bob)"

# ---- the exits ------------------------------------------------------------
out=$(api_ok $CELL PUT "/api/exits/$VX" \
	"{\"name\":\"$VX\",\"kind\":\"wireguard\",\"endpoint\":\"192.0.2.2:51820\",\"public_key\":\"$VPS_PUB\",\"address\":\"10.64.0.2/32\"}")
check "PUT a wireguard exit: its own interface $VIF" \
	sh -c 'echo "$1" | jq -e ".interface == \"$2\" and (.local_public_key | length) == 44" >/dev/null' _ "$out" "$VIF"
LOCAL_PUB=$(echo "$out" | jq -r .local_public_key)
ip netns exec "$VPS" wg set "$VPS_IF" peer "$LOCAL_PUB" allowed-ips 10.64.0.2/32
check "the exit's interface exists, up, with our address" \
	sh -c "ip -n $R -4 addr show dev $VIF | grep -q 10.64.0.2"
check "the wireguard exit comes up (first handshake; keepalive, no traffic of ours)" \
	wait_for 30 exit_up "$VX"
check "PUT an interface exit with a gateway" \
	quiet api_ok $CELL PUT /api/exits/isp "{\"kind\":\"interface\",\"interface\":\"$XIF\",\"gateway\":\"198.18.4.2\"}"
check "the interface exit is up" wait_for 5 exit_up isp

# ---- peers choose ----------------------------------------------------------
check "alice: exit $VX (PUT /api/peers)" quiet api_ok $CELL PUT /api/peers/alice "{\"exit\":\"$VX\"}"
check "carol: exit isp (cellgate peer set --exit)" quiet cg peer set carol --exit isp
check "alice is seen with the wireguard exit's address" like "^10\.64\.0\.2:" "$(seen alice)"
check "carol is seen with the interface exit's address" like "^198\.18\.4\.1:" "$(seen carol)"
s=$(seen bob)
check "bob (no exit) is seen as the uplink ($s)" like "^$UPLINK:" "$s"
if ! like "^$UPLINK:" "$s" && [ -n "${EXITS_DEBUG:-}" ]; then
		api_ok $CELL GET /api/peers/bob >&2
		cg maps peers >&2
		cg maps nat >&2
		ip netns exec "$(ns_of $CELL bob)" wg show "$(cat "$WORK/$CELL/bob.if")" >&2
		ip netns exec "$R" wg show "$(if_of $N wg)" >&2
		grep -v "GET\|PUT\|POST" "$WORK/$CELL/cellgate.log" | tail -40 >&2
		ip netns exec "$(ns_of $CELL bob)" ip route >&2
fi
list=$(cg exit list --json)
check "exit list: both up, their peers" \
	sh -c 'echo "$1" | jq -e "length == 2 and all(.up) and (map(.peers) | flatten | sort) == [\"alice\",\"carol\"]" >/dev/null' _ "$list"
metrics_ok() {
	[ "$(metric "cellgate_exit_up{exit=\"isp\",kind=\"interface\"}")" = 1 ] &&
		[ "$(metric "cellgate_exit_up{exit=\"$VX\",kind=\"wireguard\"}")" = 1 ] &&
		[ "$(metric "cellgate_exit_packets_total{exit=\"isp\",kind=\"interface\"}")" -gt 0 ]
}
check "/metrics: cellgate_exit_up for both, packets counted" metrics_ok

# ---- kill switch: the interface exit's link loses its carrier ---------------
ip -n "$ISP" link set eth0 down
check "the interface exit goes down (no carrier)" wait_for 5 exit_down isp
d0=$(drops carol exit_down)
l0=$(leaked)
check "carol gets nothing while her exit is down" test -z "$(seen carol 81)"
check "her packets are dropped as exit_down (${d0:-0} -> $(drops carol exit_down))" \
	test "$(drops carol exit_down)" -gt "${d0:-0}"
check "none reached the internet host by another way ($(leaked) packets)" test "$(leaked)" = "$l0"
check "bob is unaffected (positive control)" like "^$UPLINK:" "$(seen bob)"
probe_counted() { test -n "$(seen bob 81)" && [ "$(leaked)" -gt "$1" ]; }
check "bob's probe to port 81 is counted there (the counter works)" probe_counted "$l0"
ip -n "$ISP" link set eth0 up
check "the interface exit comes back by itself" wait_for 10 exit_up isp
check "carol's traffic resumes through it" wait_for 5 seen_is carol '^198\.18\.4\.1:'

# ---- kill switch: the wireguard exit's link down ----------------------------
ip -n "$R" link set "$VIF" down
check "the wireguard exit goes down with its link" wait_for 5 exit_down "$VX"
d0=$(drops alice exit_down)
l0=$(leaked)
check "alice gets nothing while her exit is down" test -z "$(seen alice 81)"
check "alice's packets are dropped as exit_down" test "$(drops alice exit_down)" -gt "${d0:-0}"
check "none leaked to the internet host" test "$(leaked)" = "$l0"
check "/metrics counts the exit's drops" \
	test "$(metric "cellgate_exit_drops_total{exit=\"$VX\",kind=\"wireguard\"}")" -gt 0
check "bob is unaffected" like "^$UPLINK:" "$(seen bob)"
ip -n "$R" link set "$VIF" up
check "the wireguard exit comes back" wait_for 40 exit_up "$VX"
check "alice's traffic resumes through it" wait_for 10 seen_is alice '^10\.64\.0\.2:'

# ---- kill switch: the far end stops answering (a stale handshake) -------------
# WireGuard re-handshakes every 2 minutes, so "stale" is 180 s: this case
# takes 3 to 4 minutes and runs with EXITS_STALE=1.
vps_wg() {
	WG_PROCESS_FOREGROUND=1 bg_in "$VPS" wireguard-go "$VPS_IF" </dev/null >>"$WORK/vps.wg.log" 2>&1
	echo "$LAST_PID" >"$WORK/vps.wg.pid"
	wait_for 5 test -S "/var/run/wireguard/$VPS_IF.sock" &&
		ip netns exec "$VPS" wg set "$VPS_IF" private-key "$WORK/vps.key" listen-port 51820 \
			peer "$LOCAL_PUB" allowed-ips 10.64.0.2/32 &&
		ip -n "$VPS" addr add 10.64.0.1/24 dev "$VPS_IF" &&
		ip -n "$VPS" link set "$VPS_IF" up
}
if [ "${EXITS_STALE:-}" = 1 ]; then
	kill "$(cat "$WORK/vps.wg.pid")"
	check "the VPS's WireGuard stopped: the exit goes down once its handshake is 180 s old" \
		wait_for 240 exit_down "$VX"
	d0=$(drops alice exit_down)
	l0=$(leaked)
	check "alice gets nothing" test -z "$(seen alice 81)"
	check "alice's packets are dropped as exit_down" test "$(drops alice exit_down)" -gt "${d0:-0}"
	check "none leaked to the internet host" test "$(leaked)" = "$l0"
	check "bob is unaffected" like "^$UPLINK:" "$(seen bob)"
	vps_wg
	check "the VPS back: the exit comes up by itself (keepalive, then a handshake)" \
		wait_for 60 exit_up "$VX"
	check "alice's traffic resumes" wait_for 10 seen_is alice '^10\.64\.0\.2:'
else
	echo "# SKIP the stale-handshake case (EXITS_STALE=1: 3 to 4 minutes)"
fi

# ---- the choice lives in the maps --------------------------------------------
stop_controller $CELL KILL
check "controller killed (-9): alice still leaves by her exit" like "^10\.64\.0\.2:" "$(seen alice)"
check "and carol by hers" like "^198\.18\.4\.1:" "$(seen carol)"
start_controller $CELL
check "controller restarted" test $? -eq 0
check "after the restart both exits come up" wait_for 40 all_up
check "alice still leaves by the wireguard exit" like "^10\.64\.0\.2:" "$(seen alice)"
state_ok() {
	state_of "$WORK/$CELL/state/state.json" | jq -e --arg vx "$VX" \
		'(.exits | map(.id) | sort) == [1,2] and (.peers[] | select(.name == "alice") | .exit) == $vx' >/dev/null
}
check "the state file keeps the exits, their ids and alice's choice" state_ok

# ---- bad input: 400 or 409 naming the field, nothing changed -------------------
before=$(state_bytes "$WORK/$CELL/state/state.json")
out=$(api $CELL PUT /api/exits/bad '{"kind":"ferry"}')
check "unknown kind: 400 at kind" refused 400 kind "$out"
out=$(api $CELL PUT /api/exits/bad '{"kind":"tor"}')
check "kind tor: 400 at kind (not supported yet)" refused 400 kind "$out"
out=$(api $CELL PUT /api/exits/bad '{"kind":"interface","interface":"nosuch0"}')
check "unknown interface: 400 at interface" refused 400 interface "$out"
out=$(api $CELL PUT /api/peers/bob '{"exit":"nosuch"}')
check "a peer naming a missing exit: 400 at exit" refused 400 exit "$out"
out=$(api $CELL DELETE /api/exits/isp)
check "DELETE of an exit a peer uses: 409 at name" refused 409 name "$out"
check "nothing changed on disk" test "$(state_bytes "$WORK/$CELL/state/state.json")" = "$before"
check "bob still leaves by the uplink" like "^$UPLINK:" "$(seen bob)"

# ---- PIC's alias, and deleting ----------------------------------------------------
check "PUT /api/connectivity/peers/carol/exit {exit: null}" \
	quiet api_ok $CELL PUT /api/connectivity/peers/carol/exit '{"exit":null}'
check "carol is back on the uplink" wait_for 5 seen_is carol "^$UPLINK:"
check "the unused exit is deleted (cellgate exit del)" quiet cg exit del isp
check "alice off her exit (peer set --exit none)" quiet cg peer set alice --exit none
check "DELETE the wireguard exit" quiet api_ok $CELL DELETE "/api/exits/$VX"
check "its interface is gone" wait_for 5 sh -c "! ip -n $R link show $VIF >/dev/null 2>&1"
check "alice is seen as the uplink again" like "^$UPLINK:" "$(seen alice)"

e2e_end
