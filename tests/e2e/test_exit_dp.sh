#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Exits (issue 20), the dataplane alone, on real packets: with the
# controller stopped (the choice lives in the maps), bpftool writes what
# the controller's exits will: cg_exits[1], an Ethernet link to an "exit"
# namespace that routes the cell's subnet back (no masquerade), and bob's
# identity's exit_id. The same address, 198.18.0.1, answers behind the
# uplink (seen from the uplink's address: masquerade) and behind the exit
# (seen from bob's own address), so the answer says which way a flow
# went; IPv6 as well. A WireGuard exit (L3), plain and masquerading (exit_ingress put on
# the tunnel by hand, as dp_exit_put would: the reply must come back
# through it). Then the kill switch: the exit down, and its interface gone: bob's
# flows dropped (exit_down), none reaching the internet by the uplink,
# alice (no exit) unaffected throughout. The controller's half (exits as
# objects, WireGuard exits, masquerade through the API) is test_exits.sh.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

e2e_begin x
CELL=exitdp
N=7
API_PORT=$((20000 + RANDOM % 10000))
R=$(ns_of $CELL r)
INET=$(ns_of $CELL inet)
X=$(ns_of $CELL exit)
BPF="$WORK/$CELL/bpf"
UPLINK=203.0.113.1
BOB=10.0.$N.3
TARGET=198.18.0.1
TARGET6=2001:db8:99::1
XIF=$(if_of $N ex)

# hit_server NS PORT FILE: addr_server that also logs each client to FILE.
hit_server() {
	local f
	f=$(mktemp "$WORK/hit.XXXXXX.sh")
	printf '#!/bin/sh\necho "$SOCAT_PEERADDR" >>%s\necho "$SOCAT_PEERADDR:$SOCAT_PEERPORT"\n' "$3" >"$f"
	chmod +x "$f"
	bg_in "$1" socat "TCP-LISTEN:$2,fork,reuseaddr" "SYSTEM:$f" \
		</dev/null >>"$WORK/servers.log" 2>&1
}
hits() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
maps() { ip netns exec "$R" "$CELLGATE" --config "$WORK/$CELL/cellgate.json" maps "$@"; }

# Little-endian hex bytes of a 32-bit number.
le32() { printf '%02x %02x %02x %02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
# put_exit IFINDEX UP [L2 [MASQ]]: cg_exits[1] = an interface exit,
# Ethernet (gateway 100.64.0.2) unless L2 is 0, masquerading to
# 100.65.0.1 if MASQ is 1 (struct cg_exit, bpf/lib/abi.h: 56 bytes).
put_exit() {
	local v
	v="$(le32 "$1") 01 $(printf %02x "$2") 0${4:-0} 0${3:-1} 64 41 00 01 64 40 00 02"
	v="$v $(printf '00 %.0s' $(seq 16)) fd 64 $(printf '00 %.0s' $(seq 13)) 02"
	v="$v 00 00 00 00 00 00 00 00"
	ip netns exec "$R" bpftool map update pinned "$BPF/cg_exits" \
		key hex 01 00 00 00 value hex $v
}
# bob's identity with exit_id (byte 15 of struct cg_identity) set to $1.
set_bob_exit() {
	local key="hex 0a 00 0$N 03" v
	v=$(ip netns exec "$R" bpftool -j map lookup pinned "$BPF/cg_peers" key $key |
		python3 -c 'import json,sys; print(" ".join(b[2:] for b in json.load(sys.stdin)["value"]))')
	[ -n "$v" ] || return 1
	v=$(echo "$v" | awk -v x="$(printf %02x "$1")" '{ $16 = x; print }')
	ip netns exec "$R" bpftool map update pinned "$BPF/cg_peers" key $key value hex $v || return 1
	# Its IPv6 entry: the same identity (fd10:N::3).
	key="hex fd 10 00 0$N 00 00 00 00 00 00 00 00 00 00 00 03"
	ip netns exec "$R" bpftool map update pinned "$BPF/cg_peers6" key $key value hex $v
}
seen6_by() {
	ip netns exec "$(ns_of $CELL "$1")" timeout 3 socat -T2 - \
		"TCP6:[$TARGET6]:80,connect-timeout=2" </dev/null 2>/dev/null
}
seen_by() { tcp_get "$(ns_of $CELL "$1")" $TARGET 80; }
exit_drops() { maps exit_counters --json | tr -d ' \n' | sed -n 's/.*"id":1,[^}]*"drops":\([0-9]*\).*/\1/p'; }

# ---- set up --------------------------------------------------------------
cell_topology $CELL $N
ip -n "$INET" addr add $TARGET/32 dev lo
ip -n "$R" route add 198.18.0.0/24 via 203.0.113.2
hit_server "$INET" 80 "$WORK/inet_hits"
bg_in "$INET" socat "TCP6-LISTEN:80,fork,reuseaddr,ipv6only=1" "SYSTEM:echo \$SOCAT_PEERADDR" \
	</dev/null >>"$WORK/servers.log" 2>&1
# The exit: a namespace on a veth, which routes the cell's subnet back.
ip netns add "$X"
ip -n "$X" link set lo up
ip link add "$XIF" netns "$R" type veth peer name eth0 netns "$X"
ip -n "$R" addr add 100.64.0.1/24 dev "$XIF"
ip -n "$R" link set "$XIF" up
ip -n "$X" addr add 100.64.0.2/24 dev eth0
ip -n "$X" addr add $TARGET/32 dev lo
ip -n "$X" link set eth0 up
ip -n "$X" route add 10.0.$N.0/24 via 100.64.0.1
hit_server "$X" 80 "$WORK/exit_hits"
bg_in "$X" socat "TCP6-LISTEN:80,fork,reuseaddr,ipv6only=1" "SYSTEM:echo exit \$SOCAT_PEERADDR" \
	</dev/null >>"$WORK/servers.log" 2>&1
# IPv6: the same target behind both, the exit's link fd64::/64.
ip netns exec "$R" sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n "$R" addr add "2001:db8:$N::1/64" dev "$(if_of $N up)" nodad
ip -n "$INET" addr add "2001:db8:$N::2/64" dev eth0 nodad
ip -n "$INET" addr add $TARGET6/128 dev lo
ip -n "$INET" -6 route add "fd10:$N::/64" via "2001:db8:$N::1"
ip -n "$R" -6 route add $TARGET6/128 via "2001:db8:$N::2"
ip -n "$R" addr add fd64::1/64 dev "$XIF" nodad
ip -n "$X" addr add fd64::2/64 dev eth0 nodad
ip -n "$X" addr add $TARGET6/128 dev lo
ip -n "$X" -6 route add "fd10:$N::/64" via fd64::1
write_cell_config $CELL $N $API_PORT
sed -i "s|\"address\": \"10.0.$N.1/24\",|&\n  \"address6\": \"fd10:$N::1/64\",|" "$WORK/$CELL/cellgate.json"
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts"
add_peer $CELL $N alice 2 ",\"ip6\":\"fd10:$N::2\",\"internet_access\":true" &&
	add_peer $CELL $N bob 3 ",\"ip6\":\"fd10:$N::3\",\"internet_access\":true"
check "peers alice and bob, both with internet access" test $? -eq 0
for p in alice:2 bob:3; do
	ip netns exec "$(ns_of $CELL ${p%:*})" wg set "$(cat "$WORK/$CELL/${p%:*}.if")" \
		peer "$(wg pubkey <"$WORK/$CELL/wg.key")" allowed-ips 0.0.0.0/0,::/0
	ip -n "$(ns_of $CELL ${p%:*})" -6 addr add "fd10:$N::${p#*:}/64" dev "$(cat "$WORK/$CELL/${p%:*}.if")" nodad
	ip -n "$(ns_of $CELL ${p%:*})" -6 route add default dev "$(cat "$WORK/$CELL/${p%:*}.if")"
done
check "alice's handshake" wait_handshake $CELL alice
check "bob's handshake" wait_handshake $CELL bob
check "before: bob reaches the internet by the uplink (masquerade)" \
	like "^$UPLINK:[0-9]+$" "$(seen_by bob)"

stop_controller $CELL
check "the controller stopped: filtering goes on" \
	like "^$UPLINK:[0-9]+$" "$(seen_by alice)"

# ---- bob leaves by the exit ----------------------------------------------------
ifx=$(ip netns exec "$R" cat "/sys/class/net/$XIF/ifindex")
put_exit "$ifx" 1 && set_bob_exit 1
check "bpftool: cg_exits[1] and bob's exit_id written" test $? -eq 0
seen=$(seen_by bob)
check "bob's new flow leaves by the exit, unmasqueraded ($seen)" \
	like "^$BOB:[0-9]+$" "$seen"
check "alice (no exit) still leaves by the uplink" \
	like "^$UPLINK:[0-9]+$" "$(seen_by alice)"
check "cellgate maps exits shows exit 1 up" \
	like '"id":1,"kind":"interface","ifindex":[0-9]+,"up":true' "$(maps exits --json | tr -d ' \n')"
check "cellgate maps exit_counters: packets through exit 1" \
	like '"id":1,"packets":[1-9]' "$(maps exit_counters --json | tr -d ' \n')"
check "bob's ping goes by the exit too" \
	sh -c "ip netns exec $(ns_of $CELL bob) ping -c1 -W2 $TARGET >/dev/null"
seen=$(seen6_by bob)
check "IPv6: bob's flow leaves by the exit (neighbour redirect to fd64::2) ($seen)" \
	like "^exit \\[fd10:0*$N:[0:]*:0*3\\]$" "$seen"
seen=$(seen6_by alice)
check "IPv6: alice's by the uplink ($seen)" like "^\\[fd10:0*$N:[0:]*:0*2\\]$" "$seen"

# ---- kill switch: the exit down ---------------------------------------------------
inet0=$(hits "$WORK/inet_hits")
drops0=$(exit_drops)
put_exit "$ifx" 0
check "exit down: bob's flow is dropped" test -z "$(seen_by bob)"
check "exit down: bob's IPv6 flow too" test -z "$(seen6_by bob)"
check "exit down: the drops counted for exit 1" test "$(exit_drops)" -gt "${drops0:-0}"
check "exit down: bob's drops counted as exit_down" \
	like 'bob .*exit_down=[1-9]' "$(maps counters)"
check "exit down: the internet saw nothing of bob by the uplink" \
	test "$(hits "$WORK/inet_hits")" = "$inet0"
check "exit down: alice unaffected" \
	like "^$UPLINK:[0-9]+$" "$(seen_by alice)"

put_exit "$ifx" 1
check "exit up again: bob's traffic resumes by the exit" \
	like "^$BOB:[0-9]+$" "$(seen_by bob)"

# ---- an L3 exit: a WireGuard tunnel to the exit namespace (bpf_redirect) -----
RW=$(if_of $N xw)
XW=$(if_of $N xx)
(umask 077 && wg genkey >"$WORK/rx.key" && wg genkey >"$WORK/xx.key")
WG_PROCESS_FOREGROUND=1 bg_in "$R" wireguard-go "$RW" </dev/null >>"$WORK/xw.log" 2>&1
WG_PROCESS_FOREGROUND=1 bg_in "$X" wireguard-go "$XW" </dev/null >>"$WORK/xw.log" 2>&1
wait_for 5 test -S "/var/run/wireguard/$RW.sock" && wait_for 5 test -S "/var/run/wireguard/$XW.sock"
ip netns exec "$R" wg set "$RW" listen-port 51900 private-key "$WORK/rx.key" \
	peer "$(wg pubkey <"$WORK/xx.key")" endpoint 100.64.0.2:51901 allowed-ips 0.0.0.0/0
ip netns exec "$X" wg set "$XW" listen-port 51901 private-key "$WORK/xx.key" \
	peer "$(wg pubkey <"$WORK/rx.key")" endpoint 100.64.0.1:51900 allowed-ips 10.0.$N.0/24
ip -n "$R" addr add 100.65.0.1/30 dev "$RW"
ip -n "$X" addr add 100.65.0.2/30 dev "$XW"
ip -n "$R" link set "$RW" up
ip -n "$X" link set "$XW" up
ip -n "$X" route replace 10.0.$N.0/24 dev "$XW"
ifw=$(ip netns exec "$R" cat "/sys/class/net/$RW/ifindex")
put_exit "$ifw" 1 0 && exit0=$(hits "$WORK/exit_hits")
seen=$(seen_by bob)
check "a WireGuard exit (L3, plain redirect): bob's flow goes through the tunnel ($seen)" \
	like "^$BOB:[0-9]+$" "$seen"
check "the exit namespace saw it" test "$(hits "$WORK/exit_hits")" -gt "$exit0"
put_exit "$ifw" 0 0
check "WireGuard exit down: bob's flow is dropped" test -z "$(seen_by bob)"

# Masquerade behind our address on the tunnel: exit_ingress must turn the
# replies back. What dp_exit_put does, by hand: the object loaded with the
# cell's cg_nat (its other maps its own, pinned in a private bpffs that
# goes with this mount namespace), its program on the tunnel's ingress.
ip netns exec "$X" wg set "$XW" peer "$(wg pubkey <"$WORK/rx.key")" \
	allowed-ips 10.0.$N.0/24,100.65.0.0/30
ip netns exec "$R" tc qdisc add dev "$RW" clsact
unshare -m sh -c "mount -t bpf bpf /sys/fs/bpf &&
	bpftool prog load '$here/../../build/bpf/exit_ingress.bpf.o' /sys/fs/bpf/exit_prog \
		type classifier map name cg_nat pinned '$BPF/cg_nat' &&
	nsenter --net=/run/netns/$R tc filter add dev $RW ingress \
		bpf object-pinned /sys/fs/bpf/exit_prog direct-action" >>"$WORK/bpftool.log" 2>&1
check "exit_ingress on the tunnel, on the cell's maps" test $? -eq 0
put_exit "$ifw" 1 0 1
seen=$(seen_by bob)
check "a masquerading WireGuard exit: bob's flow seen from the exit's address ($seen)" \
	like "^100\.65\.0\.1:[0-9]+$" "$seen"
check "cellgate maps nat: the exit's translation" \
	like '"kind":"exit","dir":"orig"' "$(maps nat --json | tr -d ' \n')"
put_exit "$ifx" 1

# ---- kill switch: the exit's interface gone (the map still says up) -----------
inet0=$(hits "$WORK/inet_hits")
ip -n "$R" link del "$XIF"
check "interface gone: bob's flow goes nowhere" test -z "$(seen_by bob)"
check "interface gone: the internet saw nothing of bob by the uplink" \
	test "$(hits "$WORK/inet_hits")" = "$inet0"
check "interface gone: alice unaffected" \
	like "^$UPLINK:[0-9]+$" "$(seen_by alice)"

e2e_end
