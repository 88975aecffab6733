#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Bulk import (POST /api/peers/import, `cellgate peer import`): three
# peers in one call, one of them handshakes for real and reaches its
# service; an invalid entry gets 400 naming its index and field, a
# conflict (with the state or within the batch) 409, and neither changes
# the state file, the maps or WireGuard's peers; the CLI's factory text
# format.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

e2e_begin i
CELL=imp
N=4
API_PORT=$((20000 + RANDOM % 10000))
R=$(ns_of $CELL r)
STATE="$WORK/$CELL/state/state.json"
BPF="$WORK/$CELL/bpf"
WG=$(if_of $N wg)

body_of() { echo "${1%$'\n'*}"; }
snapshot() {
	state_bytes "$STATE"
	bpftool map dump pinned "$BPF/cg_peers"
	ip netns exec "$R" wg show "$WG" allowed-ips | sort
}
n_wg_peers() { ip netns exec "$R" wg show "$WG" peers | wc -l; }
n_map_peers() { bpftool -j map dump pinned "$BPF/cg_peers" | jq length; }

# rejects CODE FIELD BODY: the import gets CODE naming FIELD, nothing
# changes.
rejects() {
	local code=$1 field=$2 body=$3 before out
	before=$(snapshot)
	out=$(api $CELL POST /api/peers/import "$body")
	if [ "$(status_of "$out")" != "$code" ]; then
		not_ok "import -> $code (got $(status_of "$out"): $(body_of "$out"))"
		return
	fi
	if ! body_of "$out" | grep -q "\"field\":\"${field//[/\\[}\""; then
		not_ok "import -> field '$field' (got $(body_of "$out"))"
		return
	fi
	if [ "$before" != "$(snapshot)" ]; then
		not_ok "import -> $code $field changed the state, maps or WireGuard"
		return
	fi
	ok "import -> $code $field, nothing changed"
}

# peer_ns NAME OCTET KEYFILE: a peer namespace whose wireguard-go uses
# KEYFILE, registered by nobody (the import does it).
peer_ns() {
	local name=$1 octet=$2 key=$3 p ifn rpub
	p=$(ns_of $CELL "$name")
	ifn=$(if_of $N "$name")
	ip netns add "$p"
	ip -n "$p" link set lo up
	ip link add "${ifn}u" netns "$R" type veth peer name eth0 netns "$p"
	ip -n "$R" link set "${ifn}u" master ul up
	ip -n "$p" addr add "192.168.10$N.$octet/24" dev eth0
	ip -n "$p" link set eth0 up
	rpub=$(wg pubkey <"$WORK/$CELL/wg.key")
	WG_PROCESS_FOREGROUND=1 bg_in "$p" wireguard-go "$ifn" \
		</dev/null >>"$WORK/$CELL/$name.wg.log" 2>&1
	wait_for 5 test -S "/var/run/wireguard/$ifn.sock" || return 1
	ip netns exec "$p" wg set "$ifn" private-key "$key" \
		peer "$rpub" endpoint "192.168.10$N.1:51820" allowed-ips 0.0.0.0/0 \
		persistent-keepalive 25
	ip -n "$p" addr add "10.0.$N.$octet/24" dev "$ifn"
	ip -n "$p" link set "$ifn" up
	ip -n "$p" route add default dev "$ifn"
	echo "$ifn" >"$WORK/$CELL/$name.if"
}

cell_topology $CELL $N
cell_service $CELL $N cal 21
tcp_server "$(ns_of $CELL cal)" 80 calendar
write_cell_config $CELL $N $API_PORT
# Per-peer series up to 3 peers: the import crosses the limit.
sed -i 's|^  "api": |  "metrics": {"per_peer_limit": 3},\n  "api": |' "$WORK/$CELL/cellgate.json"
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts"
CAL=172.20.$N.21
api_ok $CELL PUT /api/services/calendar \
	"{\"endpoints\":[{\"ip\":\"$CAL\",\"proto\":\"tcp\",\"port\":80}]}" >/dev/null
api_ok $CELL POST /api/peers "{\"name\":\"old\",\"public_key\":\"$(wg genkey | wg pubkey)\",\"ip\":\"10.0.$N.9\"}" >/dev/null

metrics() { api_ok $CELL GET /metrics; }
m=$(metrics)
check "1 peer of 3 allowed: per-peer series" sh -c 'echo "$1" | grep -q "^cellgate_peer_rx_packets_total{peer=\"old\"}"' _ "$m"
check "and the totals" sh -c 'echo "$1" | grep -q "^cellgate_metrics_per_peer_series 1$" && echo "$1" | grep -q "^cellgate_peers_rx_packets_total "' _ "$m"
check "status says so" sh -c 'echo "$1" | grep -q "\"metrics\":{\"per_peer_limit\":3,\"per_peer_series\":true}"' _ "$(api_ok $CELL GET /api/status)"

(umask 077 && wg genkey >"$WORK/$CELL/alice.key")
A=$(wg pubkey <"$WORK/$CELL/alice.key")
B=$(wg genkey | wg pubkey)
C=$(wg genkey | wg pubkey)
D=$(wg genkey | wg pubkey)
OLD_KEY=$(api_ok $CELL GET /api/peers/old | sed -n 's/.*"public_key":"\([^"]*\)".*/\1/p')

# ---- refused imports change nothing --------------------------------------
entry() { echo "{\"name\":\"$1\",\"public_key\":\"$2\",\"ip\":\"10.0.$N.$3\"${4-}}"; }
rejects 400 "peers[1].public_key" "{\"peers\":[$(entry b "$B" 11),$(entry c "not-a-key" 12)]}"
rejects 400 "peers[2].service_access[0]" "{\"peers\":[$(entry b "$B" 11),$(entry c "$C" 12),$(entry d "$D" 13 ',"service_access":["nope"]')]}"
rejects 400 "peers[0].ip" "{\"peers\":[$(entry b "$B" 250 | sed 's/10\.0\.[0-9]*\.250/10.9.9.9/')]}"
rejects 400 "peers[1].public_key" "{\"peers\":[$(entry b "$B" 11),{\"name\":\"c\"}]}"
rejects 400 "peers[0]" '{"peers":[1]}'
rejects 400 "peers" '{"peers":[]}'
rejects 400 "peers" '{"peers":{}}'
rejects 400 "what" '{"peers":[],"what":1}'
rejects 409 "peers[1].name" "{\"peers\":[$(entry b "$B" 11),$(entry old "$C" 12)]}"
rejects 409 "peers[1].public_key" "{\"peers\":[$(entry b "$B" 11),$(entry c "$OLD_KEY" 12)]}"
rejects 409 "peers[2].ip" "{\"peers\":[$(entry b "$B" 11),$(entry c "$C" 12),$(entry d "$D" 11)]}"
rejects 409 "peers[1].name" "{\"peers\":[$(entry b "$B" 11),$(entry b "$C" 12)]}"
rejects 400 "peers[0].name" "{\"peers\":[$(entry import "$B" 11)]}"
# Past the first entries WireGuard is fed while the rest are checked
# (ctl_wg_feed): a refusal at entry 150 takes back the 150 it was given.
many() {
	python3 - "$N" "$1" <<-'PY'
	import base64, os, sys
	n, last = sys.argv[1], sys.argv[2]
	e = ['{"name":"m%d","public_key":"%s","ip":"10.0.%s.%d"}'
	     % (i, base64.b64encode(os.urandom(32)).decode(), n, 20 + i)
	     for i in range(150)]
	print('{"peers":[%s,%s]}' % (",".join(e), last))
	PY
}
rejects 400 "peers[150].service_access[0]" "$(many "$(entry z "$B" 200 ',"service_access":["nope"]')")"
rejects 409 "peers[150].ip" "$(many "$(entry z "$B" 20)")"
out=$(api $CELL POST /api/peers "$(entry import "$B" 11)")
check "POST /api/peers refuses the name 'import' (400)" test "$(status_of "$out")" = 400
check "after the refusals: one peer in WireGuard and in the map" \
	test "$(n_wg_peers)/$(n_map_peers)" = 1/1

# ---- an import of three --------------------------------------------------
out=$(api $CELL POST /api/peers/import "{\"peers\":[$(entry alice "$A" 2 ',"service_access":["calendar"]'),$(entry b "$B" 11),{\"name\":\"c\",\"public_key\":\"$C\"}]}")
check "import of three -> 201" test "$(status_of "$out")" = 201
check "the answer counts them" sh -c 'echo "$1" | grep -q "\"created\":3"' _ "$out"
check "the answer gives the address the cell chose" \
	sh -c 'echo "$1" | grep -q "{\"name\":\"c\",\"ip\":\"10.0.'$N'.3\"}"' _ "$out"
check "four peers in WireGuard and in the map" test "$(n_wg_peers)/$(n_map_peers)" = 4/4
# Durable: in the state file's journal, one line for the batch.
check "the state's journal has them, in one line" \
	sh -c 'l=$(cat "$1".journal.* | grep -c "\"name\":\"alice\""); [ "$l" = 1 ] && cat "$1".journal.* | grep "\"name\":\"alice\"" | grep -q "\"name\":\"c\""' _ "$STATE"

peer_ns alice 2 "$WORK/$CELL/alice.key"
check "an imported peer handshakes" wait_handshake $CELL alice
check "and reaches its service" test "$(tcp_get "$(ns_of $CELL alice)" $CAL 80)" = calendar

# ---- above metrics.per_peer_limit -----------------------------------------
m=$(metrics)
check "4 peers of 3 allowed: no per-peer series" sh -c '! echo "$1" | grep -q "{peer=\""' _ "$m"
check "the totals stay, and count alice's traffic" \
	sh -c 'echo "$1" | grep -q "^cellgate_metrics_per_peer_series 0$" && echo "$1" | grep -q "^cellgate_peers_rx_packets_total [1-9]"' _ "$m"
check "status says so" sh -c 'echo "$1" | grep -q "\"metrics\":{\"per_peer_limit\":3,\"per_peer_series\":false}"' _ "$(api_ok $CELL GET /api/status)"

# ---- the CLI: factory text and JSON --------------------------------------
cli() { ip netns exec "$R" "$CELLGATE" --config "$WORK/$CELL/cellgate.json" "$@"; }
E=$(wg genkey | wg pubkey)
F=$(wg genkey | wg pubkey)
printf '# factory batch 7\n%s 10.0.%s.20 laptop-7\n\n%s 10.0.%s.21\n' "$E" $N "$F" $N >"$WORK/factory.txt"
out=$(cli peer import --service calendar --peer-to-peer "$WORK/factory.txt" 2>&1)
check "cellgate peer import of factory text" sh -c 'echo "$1" | grep -q "imported 2 peers"' _ "$out"
check "the comment became the name, the options its access" \
	sh -c 'api_ok() { :; }; echo "$1" | grep -q "\"service_access\":\[\"calendar\"\],\"internet_access\":false,\"peer_to_peer\":true"' _ \
	"$(api_ok $CELL GET /api/peers/laptop-7)"
check "a line without a comment got a derived name" \
	sh -c 'echo "$1" | grep -q "\"ip\":\"10.0.'$N'.21\""' _ "$(api_ok $CELL GET /api/peers/peer-10-0-$N-21)"
G=$(wg genkey | wg pubkey)
out=$(echo "{\"peers\":[$(entry g "$G" 30)]}" | cli peer import --json - 2>&1)
check "cellgate peer import - (JSON on stdin) --json" sh -c 'echo "$1" | grep -q "\"created\": *1"' _ "$out"
printf '%s 10.0.%s.40 ok\nnot-a-key 10.0.%s.41 bad\n' "$(wg genkey | wg pubkey)" $N $N >"$WORK/bad.txt"
before=$(snapshot)
out=$(cli peer import "$WORK/bad.txt" 2>&1)
rc=$?
check "the CLI's refused import fails naming the entry" \
	sh -c '[ "$1" != 0 ] && echo "$2" | grep -q "peers\[1\].public_key"' _ "$rc" "$out"
check "and changes nothing" test "$before" = "$(snapshot)"

e2e_end
