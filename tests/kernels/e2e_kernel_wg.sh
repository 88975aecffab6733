#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The ACL matrix on kernel WireGuard, run inside the Debian 6.1 VM by
# tests/kernels/guest.sh (it needs `modprobe wireguard`, which the hosts
# running the other tests do not have). The controller creates the kernel
# wg device and programs its peers over generic netlink (ctl/wg/wg_netlink.c);
# the peers are kernel WireGuard links too (lib.sh, WG_PEERS=kernel).
#
# Checked: a kernel older than the minimum is refused; the back end is
# the kernel's; `wg show` in the router namespace lists exactly the peers
# the controller programmed, with their /32; real TCP connections: alice
# reaches calendar and not files, bob files and not calendar, no peer
# reaches another until both opt in, bob reaches the internet masqueraded
# (uplink tc egress and XDP) and alice does not; a policy change through
# the API holds at once; a peer removed behind the controller's back is restored
# (netlink dump + set); a restart adopts the existing device; a deleted
# peer leaves the device.
#
# WG_PEERS=go runs the same on a host without kernel WireGuard (the
# controller then starts wireguard-go): for debugging this script only.
# CGK_RESULTS, when set, receives the controller's /api/status (the
# verified instruction counts of the programs as the controller loads them).
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/../e2e/lib.sh"

WG_PEERS=${WG_PEERS:-kernel}
if [ "$WG_PEERS" = kernel ]; then
	want_backend=kernel
	[ -d /sys/module/wireguard ] ||
		skip "no kernel WireGuard here (modprobe wireguard; this test runs under make test-kernels)"
else
	want_backend=userspace
fi

e2e_begin k
CELL=home
N=0
API_PORT=$((20000 + RANDOM % 10000))
R=$(ns_of $CELL r)
WGIF=$(if_of $N wg)
CAL=172.20.$N.21
FILES=172.20.$N.22

reach() { [ "$(tcp_get "$(ns_of $CELL "$1")" "$2" "$3")" = "$4" ]; }
blocked() { [ -z "$(tcp_get "$(ns_of $CELL "$1")" "$2" "$3")" ]; }
drops() {
	api_ok $CELL GET "/api/peers/$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}
pub_of() { wg pubkey <"$WORK/$CELL/$1.key"; }
# wg_has PUB CIDR: the router's device has peer PUB with allowed-ips CIDR.
wg_has() {
	ip netns exec "$R" wg show "$WGIF" allowed-ips | grep -q "^$1	$2\$"
}
n_wg_peers() { ip netns exec "$R" wg show "$WGIF" peers | grep -c .; }
# eventually SECONDS CMD...: retry CMD (itself slow: a connection with a
# timeout) until it succeeds, for at most SECONDS of wall time.
eventually() {
	local end=$((SECONDS + $1)); shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 1
	done
}

# ---- a cell on kernel WireGuard ------------------------------------------------
log "e2e (kernel WireGuard, $(uname -r)): cell '$CELL' in $PREFIX-* (work dir $WORK)"
cell_topology $CELL $N
cell_service $CELL $N cal 21
cell_service $CELL $N files 22
tcp_server "$(ns_of $CELL cal)" 80 calendar
tcp_server "$(ns_of $CELL files)" 80 files
addr_server "$(ns_of $CELL inet)" 80
write_cell_config $CELL $N $API_PORT

# The minimum kernel (ctl/dataplane/kernel.c): a kernel that says it is 2.6
# (setarch's UNAME26 personality) gets one sentence, and nothing is made.
out=$(ip netns exec "$R" setarch "$(uname -m)" --uname-2.6 \
	"$CELLGATE" --config "$WORK/$CELL/cellgate.json" run 2>&1)
rc=$?
# shellcheck disable=SC2016 # expanded by sh -c
check "a kernel older than 5.8 is refused in one sentence (exit $rc)" \
	sh -c '[ "$1" = 1 ] && echo "$2" | grep -q "kernel 2\.6 is older than the minimum 5\.8" &&
		! echo "$2" | grep -q libbpf' _ "$rc" "$out"
check "... before creating anything" \
	sh -c "! ip -n $R link show $WGIF 2>/dev/null && test ! -e $WORK/$CELL/api.token"

start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts and answers /health"

status=$(api_ok $CELL GET /api/status)
[ -n "${CGK_RESULTS:-}" ] && printf '%s\n' "$status" >"$CGK_RESULTS/status.json"
check "WireGuard back end is '$want_backend'" \
	like "\"wireguard_backend\": *\"$want_backend\"" "$status"
if [ "$WG_PEERS" = kernel ]; then
	check "the controller created a kernel wireguard link" \
		sh -c "ip -n $R -d link show $WGIF | grep -qw wireguard"
	check "no wireguard-go was started" test ! -e "$WORK/$CELL/state/wireguard-go.pid"
fi
check "cellgate's tc filters are on $WGIF (cls_bpf, direct action)" \
	sh -c "ip netns exec $R tc filter show dev $WGIF ingress | grep -q 'handle 0xce11.*direct-action' &&
		ip netns exec $R tc filter show dev $WGIF egress | grep -q 'handle 0xce11.*direct-action'"

api_ok $CELL PUT /api/services/calendar \
	"{\"endpoints\":[{\"ip\":\"$CAL\",\"proto\":\"tcp\",\"port\":80}]}" >/dev/null &&
	api_ok $CELL PUT /api/services/files \
		"{\"endpoints\":[{\"ip\":\"$FILES\",\"proto\":\"tcp\",\"port\":80}]}" >/dev/null
check "services defined through the API" test $? -eq 0
add_peer $CELL $N alice 2 ',"service_access":["calendar"]' &&
	add_peer $CELL $N bob 3 ',"service_access":["files"],"internet_access":true'
check "peers added through the API ($WG_PEERS WireGuard peers)" test $? -eq 0
tcp_server "$(ns_of $CELL alice)" 7000 alice-here
tcp_server "$(ns_of $CELL bob)" 7000 bob-here

# ---- what the controller programmed over netlink --------------------------------
ALICE=$(pub_of alice)
BOB=$(pub_of bob)
check "wg show in the router lists alice with 10.0.$N.2/32" wg_has "$ALICE" "10.0.$N.2/32"
check "wg show in the router lists bob with 10.0.$N.3/32" wg_has "$BOB" "10.0.$N.3/32"
check "wg show in the router lists exactly 2 peers" test "$(n_wg_peers)" = 2
check "wg show: the router listens on 51820" \
	test "$(ip netns exec "$R" wg show "$WGIF" listen-port)" = 51820
check "alice completes a WireGuard handshake" wait_handshake $CELL alice
check "bob completes a WireGuard handshake" wait_handshake $CELL bob
check "the router's device saw both handshakes" \
	sh -c "ip netns exec $R wg show $WGIF latest-handshakes | awk '\$2 > 0 {n++} END {exit n != 2}'"

# ---- the matrix --------------------------------------------------------------------
check "alice -> calendar allowed" reach alice $CAL 80 calendar
check "alice -> files denied" blocked alice $FILES 80
check "bob -> files allowed" reach bob $FILES 80 files
check "bob -> calendar denied" blocked bob $CAL 80
check "alice -> bob denied (device isolation)" blocked alice 10.0.$N.3 7000
check "bob -> alice denied (device isolation)" blocked bob 10.0.$N.2 7000
check "alice -> internet denied" blocked alice 203.0.113.2 80
# Masquerade: uplink tc egress out, XDP on the uplink for the reply.
check "bob -> internet allowed, seen as the uplink address" \
	like '^203\.0\.113\.1:[0-9]+$' "$(tcp_get "$(ns_of $CELL bob)" 203.0.113.2 80)"
check "alice's service_denied drops counted" test "$(drops alice service_denied)" -ge 1
check "alice's peer_isolation drops counted" test "$(drops alice peer_isolation)" -ge 1

# ---- policy changes through the API hold when it answers ----------------------------
api_ok $CELL PUT /api/peers/alice '{"service_access":["calendar","files"]}' >/dev/null
check "granting files: alice -> files allowed at once" reach alice $FILES 80 files
api_ok $CELL PUT /api/peers/alice '{"service_access":["files"]}' >/dev/null
check "revoking calendar: alice -> calendar denied at once" blocked alice $CAL 80
api_ok $CELL PUT /api/peers/alice '{"peer_to_peer":true}' >/dev/null &&
	api_ok $CELL PUT /api/peers/bob '{"peer_to_peer":true}' >/dev/null
check "both opted in: alice -> bob allowed" reach alice 10.0.$N.3 7000 bob-here

# ---- netlink: drift repair, adoption on restart, removal ----------------------------
ip netns exec "$R" wg set "$WGIF" peer "$BOB" remove
check "a peer removed behind cellgate's back is restored" \
	wait_for 15 wg_has "$BOB" "10.0.$N.3/32"
check "the repair is counted" \
	like '"wireguard_repairs": *[1-9]' "$(api_ok $CELL GET /api/status)"
# The restored peer has no session: bob's WireGuard starts a new handshake
# when its packets go unanswered (after 15 s at most).
check "after the repair: bob -> files allowed (new handshake)" \
	eventually 40 reach bob $FILES 80 files

stop_controller $CELL TERM
start_controller $CELL
check "controller restarts" test $? -eq 0
if [ "$WG_PEERS" = kernel ]; then
	check "the restart adopted the kernel device (created once)" \
		test "$(grep -c 'created kernel WireGuard link' "$WORK/$CELL/cellgate.log")" = 1
fi
check "after restart: still exactly 2 peers" test "$(n_wg_peers)" = 2
check "after restart: alice -> files allowed" reach alice $FILES 80 files
check "after restart: bob -> calendar denied" blocked bob $CAL 80

api_ok $CELL DELETE /api/peers/bob >/dev/null
check "deleted bob is gone from the kernel device" \
	sh -c "! ip netns exec $R wg show $WGIF peers | grep -qF '$BOB'"
check "deleted bob -> files denied" blocked bob $FILES 80
check "alice is still programmed" wg_has "$ALICE" "10.0.$N.2/32"

e2e_end
