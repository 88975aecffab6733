#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# IPv6 in the control plane (issue 17) on real WireGuard (wireguard-go) in
# namespaces: a cell with wireguard.address6; its peers get an ip6 (the
# lowest free, or the one given), WireGuard carries it in their
# allowed-ips, the client config has both addresses, cg_peers6,
# cg_local_nets6 and cg_settings6 are filled and follow changes; bad ip6
# over the API is a 400/409 naming ip6 that changes nothing; a state file
# without ip6 gets addresses at start, durably. Traffic over IPv6: ping6
# to the router's address6 is refused (service_denied counted) until the
# peer is granted the service that endpoint belongs to, then answered.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

e2e_begin v
CELL=home
N=6
API_PORT=$((20000 + RANDOM % 10000))
A6=fd10:$N::1
R=$(ns_of $CELL r)
WGIF=$(if_of $N wg)

# cg CMD...: the CLI in the router namespace.
cg() { ip netns exec "$R" "$CELLGATE" --config "$WORK/$CELL/cellgate.json" "$@"; }
# field PEER KEY: a string member of GET /api/peers/PEER.
field() { api_ok $CELL GET "/api/peers/$1" | jq -r ".$2 // empty"; }
# wg_allowed PEER: the peer's allowed-ips on the router's device, sorted.
wg_allowed() {
	local pub
	pub=$(field "$1" public_key)
	ip netns exec "$R" wg show "$WGIF" allowed-ips |
		awk -v k="$pub" '$1 == k { for (i = 2; i <= NF; i++) print $i }' | sort | tr '\n' ' '
}
# map_has MAP ADDRESS: the pinned map has a row for ADDRESS.
map_has() { cg maps "$1" --json | jq -e --arg a "$2" 'any(.[]?; .address == $a or .network == $a)' >/dev/null; }

# ---- set up -------------------------------------------------------------
log "e2e: building IPv6 cell '$CELL' in namespaces $PREFIX-* (work dir $WORK)"
cell_topology $CELL $N
ip netns exec "$R" sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n "$R" addr add "fd20:$N::1/64" dev "$(if_of $N br)" nodad
ip -n "$R" addr add "2001:db8:$N::1/64" dev "$(if_of $N up)" nodad
write_cell_config $CELL $N $API_PORT
cfgf=$WORK/$CELL/cellgate.json
# Edited in place: api() reads the port from the file's own layout.
sed -i "s|\"address\": \"10.0.$N.1/24\",|&\n  \"address6\": \"$A6/64\",|; s|^  \"cell_name\": .*|&\n  \"dns_ip6\": \"fd10:$N::53\",|" "$cfgf"
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts with wireguard.address6"

st=$(api_ok $CELL GET /api/status)
check "status: wg_address6" test "$(echo "$st" | jq -r .ipv6.wg_address6)" = "$A6/64"
check "status: the uplink's IPv6 address, read from the interface" \
	test "$(echo "$st" | jq -r .ipv6.uplink_address6)" = "2001:db8:$N::1"
check "status: the bridge's IPv6 network, read from the interface" \
	test "$(echo "$st" | jq -r .ipv6.bridge_subnet6)" = "fd20:$N::/64"
check "cellgate status shows address6" like "wg address6: +$A6/64" "$(cg status)"
check "the wg device has address6" \
	like "inet6 $A6/64" "$(ip -n "$R" -6 addr show dev "$WGIF")"
check "cg_settings6 holds the wg and uplink addresses" \
	test "$(cg maps settings6 --json | jq -r '.[0].wg_address + " " + .[0].uplink_address')" = "$A6 2001:db8:$N::1"
check "cg_local_nets6: the wg subnet6" map_has local_nets6 "fd10:$N::/64"
check "cg_local_nets6: the bridge subnet6" map_has local_nets6 "fd20:$N::/64"

# ---- peers ----------------------------------------------------------------
add_peer $CELL $N alice 2 &&
	add_peer $CELL $N bob 3 ",\"ip6\":\"fd10:$N::b0b\",\"internet_access\":true"
check "peers added through the API" test $? -eq 0
check "alice got the lowest free ip6" test "$(field alice ip6)" = "fd10:$N::2"
check "bob kept the ip6 he was given" test "$(field bob ip6)" = "fd10:$N::b0b"
check "wg allowed-ips of alice: ip/32 and ip6/128" \
	test "$(wg_allowed alice)" = "10.0.$N.2/32 fd10:$N::2/128 "
check "wg allowed-ips of bob: ip/32 and ip6/128" \
	test "$(wg_allowed bob)" = "10.0.$N.3/32 fd10:$N::b0b/128 "
check "cg_peers6 has alice" map_has peers6 "fd10:$N::2"
check "cg_peers6 has bob" map_has peers6 "fd10:$N::b0b"
check "cg_peers6: the same identity as cg_peers" test \
	"$(cg maps peers6 --json | jq -c '.[] | select(.address == "fd10:'$N'::2") | [.identity, .id, .epoch]')" = \
	"$(cg maps peers --json | jq -c '.[] | select(.address == "10.0.'$N'.2") | [.identity, .id, .epoch]')"
check "peer show: ip6" like "ip6: +fd10:$N::2" "$(cg peer show alice)"
check "peer list: an IP6 column" like "IP6" "$(cg peer list)"
check "peer list --json: ip6" test "$(cg peer list --json | jq -r '.[] | select(.name == "bob") | .ip6')" = "fd10:$N::b0b"

conf=$(api_ok $CELL GET /api/peers/alice/config)
check "alice's config: both addresses" like "Address = 10\.0\.$N\.2/32, fd10:$N::2/128" "$conf"
check "alice's config: the IPv6 resolver" like "DNS = fd10:$N::53" "$conf"
check "alice's config: the IPv6 subnets (split tunnel)" like "AllowedIPs = .*fd10:$N::/64" "$conf"
conf=$(api_ok $CELL GET /api/peers/bob/config)
check "bob's config: ::/0 with internet_access" like "AllowedIPs = 0\.0\.0\.0/0, ::/0" "$conf"

# ---- traffic (when the dataplane passes IPv6) ------------------------------
pa=$(ns_of $CELL alice)
aif=$(cat "$WORK/$CELL/alice.if")
ip netns exec "$pa" wg set "$aif" peer "$(wg pubkey <"$WORK/$CELL/wg.key")" allowed-ips 0.0.0.0/0,::/0
ip -n "$pa" -6 addr add "fd10:$N::2/64" dev "$aif" nodad
check "alice completes a WireGuard handshake" wait_handshake $CELL alice
# The router's address6 answers echo only as a service, as its IPv4
# address does: first a denial with its drop counted, then the grant.
ping6() { ip netns exec "$pa" ping -6 -c 2 -W 2 -i 0.3 "$A6" >/dev/null 2>&1; }
out=$(api $CELL PUT /api/services/echo6 "{\"name\":\"echo6\",\"endpoints\":[{\"ip\":\"$A6\",\"proto\":\"icmp\",\"port\":0}]}")
check "a service on the router's address6 (icmp)" test "$(status_of "$out")" -lt 300
denied=$(drops alice service_denied)
check "ping6 alice -> the router's address6 without echo6: refused" eval '! ping6'
check "... counted as service_denied" test "$(drops alice service_denied)" -gt "${denied:-0}"
api_ok $CELL PUT /api/peers/alice '{"service_access":["echo6"]}' >/dev/null
check "ping6 alice -> the router's address6 with echo6" ping6
check "... and no 'ipv6' drop" test "$(drops alice ipv6)" = 0
api_ok $CELL PUT /api/peers/alice '{"service_access":[]}' >/dev/null
api_ok $CELL DELETE /api/services/echo6 >/dev/null

# The peers' own API on the router's address6 knows alice by her ip6
# (cryptokey routing), as on the IPv4 address by her ip (issue 19).
me6() { ip netns exec "$pa" curl -sS -m 5 -g "http://[$A6]:8470$1"; }
check "GET /api/peer/me over IPv6: alice, by her ip6" \
	test "$(me6 /api/peer/me | jq -r '.name + " " + .ip6')" = "alice fd10:$N::2"
check "... her config over IPv6 has her ip6" like "fd10:$N::2/128" "$(me6 /api/peer/me/config)"
check "... an admin route over IPv6 is refused (403)" \
	test "$(ip netns exec "$pa" curl -s -o /dev/null -w '%{http_code}' -m 5 -g "http://[$A6]:8470/api/peers")" = 403

# ---- bad input: 400/409 naming ip6, nothing changed -------------------------
before=$(api_ok $CELL GET /api/peers)
bytes=$(state_bytes "$WORK/$CELL/state/state.json" | md5sum)
pub=$(wg genkey | wg pubkey)
for bad in "fd11::5:400" "fe80::5:400" "ff02::1:400" "fd10:$N::/64:400" \
	"fd10:$N::5/128:400" "fd10:$N:::400" "zzz:400" "10.0.$N.9:400" \
	"$A6:409" "fd10:$N::2:409"; do
	v=${bad%:*} want=${bad##*:}
	out=$(api $CELL POST /api/peers "{\"name\":\"carol\",\"public_key\":\"$pub\",\"ip6\":\"$v\"}")
	check "POST ip6 $v: $want naming ip6" \
		eval '[ "$(status_of "$out")" = "$want" ] && like "\"field\": ?\"ip6\"" "$out"'
	out=$(api $CELL PUT /api/peers/bob "{\"ip6\":\"$v\"}")
	check "PUT bob ip6 $v: $want naming ip6" \
		eval '[ "$(status_of "$out")" = "$want" ] && like "\"field\": ?\"ip6\"" "$out"'
done
check "the refused calls changed no peer" test "$(api_ok $CELL GET /api/peers)" = "$before"
check "the refused calls wrote nothing" test "$(state_bytes "$WORK/$CELL/state/state.json" | md5sum)" = "$bytes"
check "bob's allowed-ips unchanged" test "$(wg_allowed bob)" = "10.0.$N.3/32 fd10:$N::b0b/128 "

# ---- an IPv6 service endpoint ------------------------------------------------
api_ok $CELL PUT /api/services/web6 \
	"{\"endpoints\":[{\"ip\":\"fd20:$N::80\",\"proto\":\"tcp\",\"port\":443}]}" >/dev/null
check "a service with an IPv6 endpoint is accepted" test $? -eq 0
check "cg_services6 has it" map_has services6 "fd20:$N::80"
check "cg_services has no IPv6 row" eval '! map_has services "fd20:$N::80"'
out=$(api $CELL PUT /api/services/bad6 '{"endpoints":[{"ip":"fe80::80","proto":"tcp","port":443}]}')
check "a link-local endpoint: 400 naming endpoints[0].ip" \
	eval '[ "$(status_of "$out")" = 400 ] && like "endpoints\[0\]\.ip" "$out"'

# ---- changes follow ----------------------------------------------------------
api_ok $CELL PUT /api/peers/bob "{\"ip6\":\"fd10:$N::b0c\"}" >/dev/null
check "PUT ip6: wg allowed-ips follow" test "$(wg_allowed bob)" = "10.0.$N.3/32 fd10:$N::b0c/128 "
check "PUT ip6: cg_peers6 has the new address" map_has peers6 "fd10:$N::b0c"
check "PUT ip6: the old address is gone from cg_peers6" eval '! map_has peers6 "fd10:$N::b0b"'
api_ok $CELL DELETE /api/peers/bob >/dev/null
check "DELETE: bob's ip6 is gone from cg_peers6" eval '! map_has peers6 "fd10:$N::b0c"'

# ---- state files: kept across a restart; an old one gets ip6 at start ------
stop_controller $CELL
start_controller $CELL || not_ok "controller restarts"
check "restart: alice keeps her ip6" test "$(field alice ip6)" = "fd10:$N::2"
stop_controller $CELL
sf=$WORK/$CELL/state/state.json
state_of "$sf" | jq 'del(.peers[].ip6)' >"$sf.old" || not_ok "state without ip6"
rm -f "$sf".journal.*
mv "$sf.old" "$sf"
check "the old-style state file has no ip6" eval '! grep -q ip6 "$sf"'
start_controller $CELL || not_ok "controller starts on an old state file"
check "old state: alice got an ip6 at start" test "$(field alice ip6)" = "fd10:$N::2"
check "old state: the new ip6 was saved at once" grep -q "\"ip6\"" "$sf"
check "old state: cg_peers6 filled" map_has peers6 "fd10:$N::2"
check "old state: wg allowed-ips carry it" test "$(wg_allowed alice)" = "10.0.$N.2/32 fd10:$N::2/128 "

# ---- address6 removed: an IPv4-only cell again --------------------------------
stop_controller $CELL
sed -i '/"address6":/d; /"dns_ip6":/d' "$cfgf"
start_controller $CELL || not_ok "controller starts without address6"
# web6 keeps its IPv6 endpoint in the state: it fills no map here.
check "IPv4-only: peers show no ip6" test -z "$(field alice ip6)"
check "IPv4-only: status has no ipv6" test "$(api_ok $CELL GET /api/status | jq -r '.ipv6 // "none"')" = none
check "IPv4-only: wg allowed-ips are IPv4 alone" test "$(wg_allowed alice)" = "10.0.$N.2/32 "
for m in peers6 cells6 local_nets6 services6; do
	check "IPv4-only: $m is empty" test "$(cg maps $m --json | jq length)" = 0
done
check "IPv4-only: cg_settings6 is zero" \
	test "$(cg maps settings6 --json | jq -r '.[0].wg_address + " " + .[0].uplink_address + " " + .[0].prefix')" = ":: :: ::/0"
out=$(api $CELL PUT /api/peers/alice '{"ip6":"fd10:'$N'::7"}')
check "IPv4-only: an ip6 is a 400 naming ip6" \
	eval '[ "$(status_of "$out")" = 400 ] && like "\"field\": ?\"ip6\"" "$out"'

stop_controller $CELL
e2e_end
