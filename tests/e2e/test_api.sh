#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The admin API over HTTP against a controller in a namespace: every
# route; the bad-input matrix (each invalid form gets its 4xx and leaves
# the state file and the maps unchanged); 401/404/405/409/413; generated
# keys and addresses; client configs (a wireguard-go peer configured from
# one connects for real); port forwards (maps, counters of real traffic,
# slots reused from zero); token reload; persistence across restarts; a
# corrupt state file; WireGuard drift repair of allowed-ips.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

e2e_begin a
CELL=api
N=2
API_PORT=$((20000 + RANDOM % 10000))

R=$(ns_of $CELL r)
STATE="$WORK/$CELL/state/state.json"
BPF="$WORK/$CELL/bpf"

body_of() { echo "${1%$'\n'*}"; }

# snapshot: what a rejected call must not change.
snapshot() {
	state_bytes "$STATE"
	bpftool map dump pinned "$BPF/cg_peers"
	bpftool map dump pinned "$BPF/cg_services"
	bpftool map dump pinned "$BPF/cg_forwards"
	bpftool map dump pinned "$BPF/cg_fwd_allow"
	# wireguard-go lists peers in Go map order, which is random.
	ip netns exec "$R" wg show "$(if_of $N wg)" allowed-ips | sort
}

# rejects CODE FIELD METHOD PATH BODY: the call gets CODE naming FIELD,
# and nothing changes.
rejects() {
	local code=$1 field=$2 method=$3 path=$4 body=${5-} before out
	before=$(snapshot)
	out=$(api $CELL "$method" "$path" "$body")
	if [ "$(status_of "$out")" != "$code" ]; then
		not_ok "$method $path $body -> $code (got $(status_of "$out"): $(body_of "$out"))"
		return
	fi
	if ! body_of "$out" | grep -q "\"field\":\"$field\""; then
		not_ok "$method $path $body -> field '$field' (got $(body_of "$out"))"
		return
	fi
	if [ "$before" != "$(snapshot)" ]; then
		not_ok "$method $path $body -> $code changed the state or maps"
		return
	fi
	ok "$method $path ${body:0:60} -> $code $field, nothing changed"
}

# ---- set up --------------------------------------------------------------
cell_topology $CELL $N
cell_service $CELL $N cal 21
tcp_server "$(ns_of $CELL cal)" 80 calendar
write_cell_config $CELL $N $API_PORT
# Give peers a resolver, to see DNS = in client configs.
sed -i 's|"state_dir"|"dns_ip": "172.20.'$N'.53",\n  "state_dir"|' "$WORK/$CELL/cellgate.json"
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts"

# The wireguard-go the controller starts stays in its session: a session
# of its own is a scheduler autogroup of its own, which halved its UDP
# rate under load (docs/bench/wg-path-analysis.md). Its own process
# group keeps a ^C on our terminal from reaching it.
wgpid=$(cat "$WORK/$CELL/state/wireguard-go.pid" 2>/dev/null || true)
if [ -n "$wgpid" ]; then
	cgpid=$(cat "$WORK/$CELL/cellgate.pid")
	check "wireguard-go shares the controller's session (autogroup)" \
		test "$(ps -o sess= -p "$wgpid")" = "$(ps -o sess= -p "$cgpid")"
	check "wireguard-go is in a process group other than the controller's" \
		test "$(ps -o pgid= -p "$wgpid")" != "$(ps -o pgid= -p "$cgpid")"
else
	echo "SKIP: kernel WireGuard: no wireguard-go started to check"
fi

CAL=172.20.$N.21
KEY1=$(wg genkey | wg pubkey)
KEY2=$(wg genkey | wg pubkey)

# ---- public and protected routes -------------------------------------------
out=$(ip netns exec "$R" curl -s -w '\n%{http_code}' "http://127.0.0.1:$API_PORT/health")
check "GET /health is public" test "$(status_of "$out")" = 200
out=$(ip netns exec "$R" curl -s -w '\n%{http_code}' "http://127.0.0.1:$API_PORT/api/status")
check "GET /api/status without a token -> 401" test "$(status_of "$out")" = 401
out=$(ip netns exec "$R" curl -s -w '\n%{http_code}' -H "Authorization: Bearer wrongwrongwrongwrong" \
	"http://127.0.0.1:$API_PORT/api/peers")
check "a wrong token -> 401" test "$(status_of "$out")" = 401
out=$(ip netns exec "$R" curl -s -w '\n%{http_code}' -H "Authorization: Basic Zm9vOmJhcg==" \
	"http://127.0.0.1:$API_PORT/api/peers")
check "another auth scheme -> 401" test "$(status_of "$out")" = 401
status=$(api_ok $CELL GET /api/status)
# wg0's two tc programs, the uplink's tc egress and XDP programs.
check "status lists the four programs with verified instruction counts" \
	sh -c '[ "$(echo "$1" | grep -o "\"verified_insns\":[1-9][0-9]*" | wc -l)" = 4 ]' _ "$status"
check "status counts the forwards" sh -c 'echo "$1" | grep -q "\"peers\":0,\"forwards\":0,"' _ "$status"
check "status reports map capacity" sh -c 'echo "$1" | grep -q "\"name\":\"cg_peers\",\"entries\":0,\"capacity\":1024"' _ "$status"
CELL_PUB=$(echo "$status" | sed -n 's/.*"public_key":"\([^"]*\)".*/\1/p')
check "status gives the cell's public key" test "$CELL_PUB" = "$(wg pubkey <"$WORK/$CELL/wg.key")"

out=$(api $CELL GET /api/nothing)
check "unknown route -> 404" test "$(status_of "$out")" = 404
out=$(api $CELL PATCH /api/peers)
check "wrong method -> 405" test "$(status_of "$out")" = 405

# ---- services --------------------------------------------------------------
out=$(api $CELL PUT /api/services/calendar "{\"endpoints\":[{\"ip\":\"$CAL\",\"proto\":\"tcp\",\"port\":80}]}")
check "PUT a service -> 200" test "$(status_of "$out")" = 200
out=$(api $CELL PUT /api/services/files '{"endpoints":[{"ip":"172.20.'$N'.22","proto":"any"}]}')
check "PUT a service with proto any -> 200" test "$(status_of "$out")" = 200
check "GET /api/services lists both" test "$(api_ok $CELL GET /api/services | grep -o '"name"' | wc -l)" = 2
out=$(api $CELL GET /api/services/calendar)
check "GET one service" sh -c 'echo "$1" | grep -q "\"ip\":\"'$CAL'\",\"proto\":\"tcp\",\"port\":80"' _ "$out"
check "proto any is three map entries (tcp, udp, icmp)" \
	test "$(bpftool map dump pinned "$BPF/cg_services" | grep -c '172,20,'$N',22')" = 3

rejects 400 "" PUT /api/services/web '{"endpoints":['
rejects 400 "" PUT /api/services/web '{"endpoints":[]} x'
rejects 400 "" PUT /api/services/web '[1,2]'
rejects 400 "" PUT /api/services/web ''
rejects 400 bogus PUT /api/services/web '{"bogus":1}'
rejects 400 name PUT /api/services/web '{"name":"other","endpoints":[{"ip":"172.20.'$N'.30","proto":"tcp","port":80}]}'
rejects 400 name PUT '/api/services/b%20d' '{"endpoints":[{"ip":"172.20.'$N'.30","proto":"tcp","port":80}]}'
rejects 400 endpoints PUT /api/services/web '{"endpoints":[]}'
rejects 400 endpoints PUT /api/services/web '{"endpoints":{}}'
rejects 400 'endpoints\[0\].ip' PUT /api/services/web '{"endpoints":[{"ip":"300.1.1.1","proto":"tcp","port":80}]}'
rejects 400 'endpoints\[0\].ip' PUT /api/services/web '{"endpoints":[{"ip":"224.0.0.1","proto":"tcp","port":80}]}'
rejects 400 'endpoints\[0\].proto' PUT /api/services/web '{"endpoints":[{"ip":"172.20.'$N'.30","proto":"sctp","port":80}]}'
rejects 400 'endpoints\[0\].port' PUT /api/services/web '{"endpoints":[{"ip":"172.20.'$N'.30","proto":"tcp","port":65536}]}'
rejects 400 'endpoints\[0\].port' PUT /api/services/web '{"endpoints":[{"ip":"172.20.'$N'.30","proto":"tcp","port":-1}]}'
rejects 400 'endpoints\[0\].port' PUT /api/services/web '{"endpoints":[{"ip":"172.20.'$N'.30","proto":"tcp","port":"80"}]}'
rejects 400 'endpoints\[0\].port' PUT /api/services/web '{"endpoints":[{"ip":"172.20.'$N'.30","proto":"icmp","port":7}]}'
rejects 400 'endpoints\[0\].extra' PUT /api/services/web '{"endpoints":[{"ip":"172.20.'$N'.30","proto":"tcp","extra":1}]}'
rejects 400 'dnat\[0\].to_port' PUT /api/services/web '{"dnat":[{"proto":"tcp","port":80,"to_ip":"172.20.'$N'.30","to_port":0}]}'
rejects 400 'dnat\[0\].proto' PUT /api/services/web '{"dnat":[{"proto":"icmp","port":80,"to_ip":"172.20.'$N'.30","to_port":80}]}'
rejects 409 endpoints PUT /api/services/web "{\"endpoints\":[{\"ip\":\"$CAL\",\"proto\":\"tcp\",\"port\":80}]}"
# Same address, other ports: allowed; the most specific entry wins.
out=$(api $CELL PUT /api/services/calweb "{\"endpoints\":[{\"ip\":\"$CAL\",\"proto\":\"any\"}]}")
check "an all-ports endpoint beside a port of another service -> 200" test "$(status_of "$out")" = 200
api_ok $CELL DELETE /api/services/calweb >/dev/null
rejects 404 name DELETE /api/services/nosuch

big=$(head -c 70000 /dev/zero | tr '\0' 'a')
out=$(api $CELL PUT /api/services/web "{\"endpoints\":[],\"pad\":\"$big\"}")
check "a body over 64 KiB -> 413" test "$(status_of "$out")" = 413

# ---- peers -----------------------------------------------------------------
out=$(api $CELL POST /api/peers "{\"name\":\"alice\",\"public_key\":\"$KEY1\",\"ip\":\"10.0.$N.2\",\"service_access\":[\"calendar\"]}")
check "POST a peer -> 201" test "$(status_of "$out")" = 201
# calendar's bit (id 0), and the peer API's kept one (254: word 3, bit 62)
check "the new peer is in cg_peers with calendar's bit" \
	sh -c "bpftool map dump pinned $BPF/cg_peers | grep -A12 '10,0,$N,2' | grep -q '\"services\": \[1,0,0,4611686018427387904'"
check "and in WireGuard with its /32" \
	sh -c "ip netns exec $R wg show $(if_of $N wg) allowed-ips | grep -q '$KEY1.*10.0.$N.2/32'"

out=$(api $CELL POST /api/peers '{"name":"phone"}')
check "POST with only a name -> 201" test "$(status_of "$out")" = 201
check "it got the next free address (.3)" sh -c 'echo "$1" | grep -q "\"ip\":\"10.0.'$N'.3\""' _ "$out"
check "it got a generated key, kept by the cell" sh -c 'echo "$1" | grep -q "\"private_key_stored\":true"' _ "$out"
check "the private key file is 0600" \
	test "$(stat -c %a "$WORK/$CELL/state/peer-keys/phone.key")" = 600
out=$(api $CELL POST /api/peers '{"name":"tablet","public_key":null}')
check "POST with public_key null also gets a generated key" \
	sh -c 'echo "$1" | grep -q "\"private_key_stored\":true" && echo "$1" | tail -1 | grep -qx 201' _ "$out"
api_ok $CELL DELETE /api/peers/tablet >/dev/null

rejects 400 name POST /api/peers "{\"public_key\":\"$KEY2\"}"
rejects 400 name POST /api/peers "{\"name\":\"\",\"public_key\":\"$KEY2\"}"
rejects 400 name POST /api/peers "{\"name\":\"a b\",\"public_key\":\"$KEY2\"}"
rejects 400 name POST /api/peers "{\"name\":\"../etc\",\"public_key\":\"$KEY2\"}"
rejects 400 name POST /api/peers "{\"name\":\"$(printf 'x%.0s' $(seq 65))\",\"public_key\":\"$KEY2\"}"
rejects 400 name POST /api/peers "{\"name\":7,\"public_key\":\"$KEY2\"}"
rejects 400 public_key POST /api/peers '{"name":"eve","public_key":"not-a-key"}'
rejects 400 public_key POST /api/peers '{"name":"eve","public_key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg=="}'
rejects 400 public_key POST /api/peers '{"name":"eve","public_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}'
rejects 400 public_key POST /api/peers '{"name":"eve","public_key":""}'
rejects 409 public_key POST /api/peers "{\"name\":\"eve\",\"public_key\":\"$KEY1\"}"
rejects 409 name POST /api/peers "{\"name\":\"alice\",\"public_key\":\"$KEY2\"}"
rejects 400 ip POST /api/peers "{\"name\":\"eve\",\"public_key\":\"$KEY2\",\"ip\":\"10.9.9.9\"}"
rejects 400 ip POST /api/peers "{\"name\":\"eve\",\"public_key\":\"$KEY2\",\"ip\":\"10.0.$N.0\"}"
rejects 400 ip POST /api/peers "{\"name\":\"eve\",\"public_key\":\"$KEY2\",\"ip\":\"10.0.$N.255\"}"
rejects 400 ip POST /api/peers "{\"name\":\"eve\",\"public_key\":\"$KEY2\",\"ip\":\"10.0.$N\"}"
rejects 409 ip POST /api/peers "{\"name\":\"eve\",\"public_key\":\"$KEY2\",\"ip\":\"10.0.$N.1\"}"
rejects 409 ip POST /api/peers "{\"name\":\"eve\",\"public_key\":\"$KEY2\",\"ip\":\"10.0.$N.2\"}"
rejects 400 'service_access\[0\]' POST /api/peers "{\"name\":\"eve\",\"public_key\":\"$KEY2\",\"service_access\":[\"nosuch\"]}"
rejects 400 'service_access\[0\]' POST /api/peers "{\"name\":\"eve\",\"public_key\":\"$KEY2\",\"service_access\":[1]}"
rejects 400 service_access POST /api/peers "{\"name\":\"eve\",\"public_key\":\"$KEY2\",\"service_access\":\"calendar\"}"
rejects 400 internet_access POST /api/peers "{\"name\":\"eve\",\"public_key\":\"$KEY2\",\"internet_access\":\"yes\"}"
rejects 400 peer_to_peer POST /api/peers "{\"name\":\"eve\",\"public_key\":\"$KEY2\",\"peer_to_peer\":1}"
rejects 400 id POST /api/peers "{\"name\":\"eve\",\"public_key\":\"$KEY2\",\"id\":5}"
rejects 400 colour POST /api/peers "{\"name\":\"eve\",\"public_key\":\"$KEY2\",\"colour\":\"red\"}"
rejects 400 "" POST /api/peers "{\"name\":\"eve\""
rejects 400 name PUT /api/peers/alice '{"name":"bob"}'
rejects 409 ip PUT /api/peers/alice "{\"ip\":\"10.0.$N.3\"}"
rejects 404 name PUT /api/peers/nosuch '{"peer_to_peer":true}'
rejects 404 name DELETE /api/peers/nosuch
rejects 409 name DELETE /api/services/calendar

out=$(api $CELL PUT /api/peers/alice '{"peer_to_peer":true}')
check "PUT changes only the fields given" \
	sh -c 'echo "$1" | grep -qF "$2"' _ "$out" \
	'"service_access":["calendar"],"internet_access":false,"peer_to_peer":true'
check "the change is in cg_peers" \
	sh -c "bpftool map dump pinned $BPF/cg_peers | grep -A12 '10,0,$N,2' | grep -q '\"peer_to_peer\": 1'"

# ---- strict path parameters, media types, Allow, null ----------------------
# A name was cut at an encoded NUL: GET alice%00zzz answered alice and
# DELETE alice%00x deleted her.
rejects 400 name GET '/api/peers/alice%00zzz'
rejects 400 name DELETE '/api/peers/alice%00x'
rejects 400 name PUT '/api/peers/alice%00x' '{"peer_to_peer":false}'
rejects 400 name GET '/api/peers/alice%00zzz/config'
rejects 400 name DELETE '/api/peers/alice%2Fx'
rejects 400 name DELETE '/api/peers/alice%0a'
rejects 400 name DELETE '/api/peers/ali%zzce'
rejects 400 name DELETE '/api/peers/alice%'
rejects 400 name DELETE "/api/peers/$(printf 'x%.0s' $(seq 65))"
rejects 400 name DELETE '/api/services/calendar%00'
rejects 400 id DELETE '/api/forwards/x%00'
out=$(api $CELL GET /api/peers/%61lice)
check "positive control: alice is still there, and %61lice names her" \
	sh -c '[ "$(echo "$1" | tail -1)" = 200 ] && echo "$1" | grep -q "\"name\":\"alice\""' _ "$out"

# with_type METHOD PATH TYPE BODY: the status of a call whose body has
# Content-Type TYPE ("-" for none at all).
with_type() {
	local ct="Content-Type: $3"
	[ "$3" = - ] && ct="Content-Type:"
	ip netns exec "$R" curl -s -o /dev/null -w '%{http_code}' -X "$1" \
		-H "Authorization: Bearer $(cat "$WORK/$CELL/api.token")" \
		-H "$ct" --data-binary "$4" "http://127.0.0.1:$API_PORT$2"
}
before=$(snapshot)
for t in text/plain application/x-www-form-urlencoded - 'application/json; charset=latin1' text/json; do
	check "PUT a peer with Content-Type '$t' -> 415" \
		test "$(with_type PUT /api/peers/alice "$t" '{"peer_to_peer":false}')" = 415
done
check "POST a peer as text/plain -> 415" \
	test "$(with_type POST /api/peers text/plain '{"name":"eve"}')" = 415
check "POST a forward as text/plain -> 415" \
	test "$(with_type POST /api/forwards text/plain '{"id":"x","proto":"tcp","public_port":1,"target_ip":"'$CAL'","target_port":1}')" = 415
check "... and none of them changed anything" test "$before" = "$(snapshot)"
check "positive control: application/json; charset=utf-8 -> 200" \
	test "$(with_type PUT /api/peers/alice 'application/json; charset=utf-8' '{"peer_to_peer":true}')" = 200
out=$(ip netns exec "$R" curl -s -i -X PATCH -H "Authorization: Bearer $(cat "$WORK/$CELL/api.token")" \
	"http://127.0.0.1:$API_PORT/api/peers/alice" | tr -d '\r')
check "405 carries Allow with the path's methods" \
	sh -c 'echo "$1" | head -1 | grep -q " 405" && echo "$1" | grep -qx "Allow: GET, PUT, DELETE"' _ "$out"

rejects 400 service_access PUT /api/peers/alice '{"service_access":null}'
rejects 400 service_access POST /api/peers "{\"name\":\"eve\",\"public_key\":\"$KEY2\",\"service_access\":null}"
rejects 400 endpoints PUT /api/services/web '{"endpoints":null}'
rejects 400 allow_from POST /api/forwards '{"id":"x","proto":"tcp","public_port":1,"target_ip":"'$CAL'","target_port":1,"allow_from":null}'

# ---- a PUT that changes nothing keeps the policy epoch -----------------------
# epoch_of ID: the identity's epoch in cg_epochs.
epoch_of() {
	bpftool -j map dump pinned "$BPF/cg_epochs" |
		jq -r ".[] | (.formatted // .) | select(.key == $1) | .value"
}
ALICE_ID=$(state_of "$STATE" | jq -r '.peers[] | select(.name == "alice") | .id')
e0=$(epoch_of "$ALICE_ID")
api_ok $CELL PUT /api/peers/alice '{"peer_to_peer":true,"service_access":["calendar"]}' >/dev/null
check "a PUT of the same policy leaves alice's epoch ($e0)" test "$(epoch_of "$ALICE_ID")" = "$e0"
api_ok $CELL PUT /api/peers/alice '{"peer_to_peer":false}' >/dev/null
check "positive control: a real change bumps it" test "$(epoch_of "$ALICE_ID")" = $((e0 + 1))
api_ok $CELL PUT /api/peers/alice '{"peer_to_peer":true}' >/dev/null

# ---- port forwards -----------------------------------------------------------
UPLINK=203.0.113.1
INET=$(ns_of $CELL inet)
out=$(api $CELL POST /api/forwards "{\"id\":\"cal-web\",\"proto\":\"tcp\",\"public_port\":8080,\"target_ip\":\"$CAL\",\"target_port\":80}")
check "POST a forward to the bridge -> 201" test "$(status_of "$out")" = 201
check "... as stored: snat auto, not active on the bridge, zero counters" \
	sh -c 'echo "$1" | grep -qxF "$2"' _ "$(body_of "$out")" \
	"{\"id\":\"cal-web\",\"proto\":\"tcp\",\"public_port\":8080,\"target_ip\":\"$CAL\",\"target_port\":80,\"allow_from\":[],\"snat\":\"auto\",\"snat_active\":false,\"counters\":{\"packets\":0,\"bytes\":0,\"denied\":0,\"nat_failed\":0}}"
out=$(api $CELL POST /api/forwards "{\"id\":\"ssh\",\"proto\":\"tcp\",\"public_port\":2222,\"target_ip\":\"10.0.$N.2\",\"target_port\":22,\"allow_from\":[\"198.51.100.0/24\",\"192.0.2.0/28\"]}")
check "POST a forward over WireGuard with allow_from -> 201" test "$(status_of "$out")" = 201
check "... snat auto is active for a target over WireGuard" \
	sh -c 'echo "$1" | grep -qF "\"allow_from\":[\"198.51.100.0/24\",\"192.0.2.0/28\"],\"snat\":\"auto\",\"snat_active\":true"' _ "$out"
out=$(api $CELL POST /api/forwards "{\"id\":\"dns\",\"proto\":\"udp\",\"public_port\":53,\"target_ip\":\"10.0.$N.3\",\"target_port\":5353,\"snat\":\"never\"}")
check "POST a udp forward with snat never -> 201" test "$(status_of "$out")" = 201
check "... never is not active" sh -c 'echo "$1" | grep -qF "\"snat\":\"never\",\"snat_active\":false"' _ "$out"
check "GET /api/forwards lists them in the order added" \
	test "$(api_ok $CELL GET /api/forwards | grep -o '"id":"[^"]*"' | tr '\n' ' ')" = '"id":"cal-web" "id":"ssh" "id":"dns" '
out=$(api $CELL GET /api/forwards/ssh)
check "GET one forward -> 200 with its counters" \
	sh -c 'echo "$1" | grep -qF "\"counters\":{\"packets\":0,\"bytes\":0,\"denied\":0,\"nat_failed\":0}"' _ "$out"
check "the forwards are in cg_forwards (three entries)" \
	test "$(bpftool map dump pinned "$BPF/cg_forwards" | grep -c '"fwd_id"')" = 3
check "ssh's entry: target 10.0.$N.2:22, SNAT at wg0, allow list, slot 1" \
	sh -c "bpftool map dump pinned $BPF/cg_forwards | grep -A12 '\"port\": 2222' | tr -d ' \n' | grep -qF '\"target_addr\":[10,0,$N,2],\"target_port\":22,\"snat_at_wg\":1,\"has_allow_from\":1,\"fwd_id\":1'"
check "its two networks are in cg_fwd_allow" \
	test "$(bpftool map dump pinned "$BPF/cg_fwd_allow" | grep -c '"prefixlen"')" = 2
check "the state file has the forwards with their slots" \
	sh -c 'echo "$1" | tr -d " \n" | grep -qF "\"id\":\"dns\",\"slot\":2,"' _ "$(state_of "$STATE")"

rejects 400 "" POST /api/forwards '{"id":"x",'
rejects 400 id POST /api/forwards '{"proto":"tcp","public_port":1,"target_ip":"'$CAL'","target_port":1}'
rejects 400 id POST /api/forwards '{"id":"a b","proto":"tcp","public_port":1,"target_ip":"'$CAL'","target_port":1}'
rejects 400 id POST /api/forwards '{"id":7,"proto":"tcp","public_port":1,"target_ip":"'$CAL'","target_port":1}'
rejects 409 id POST /api/forwards '{"id":"ssh","proto":"tcp","public_port":1,"target_ip":"'$CAL'","target_port":1}'
rejects 400 proto POST /api/forwards '{"id":"x","proto":"icmp","public_port":1,"target_ip":"'$CAL'","target_port":1}'
rejects 400 proto POST /api/forwards '{"id":"x","public_port":1,"target_ip":"'$CAL'","target_port":1}'
rejects 400 public_port POST /api/forwards '{"id":"x","proto":"tcp","public_port":0,"target_ip":"'$CAL'","target_port":1}'
rejects 400 public_port POST /api/forwards '{"id":"x","proto":"tcp","public_port":65536,"target_ip":"'$CAL'","target_port":1}'
rejects 400 public_port POST /api/forwards '{"id":"x","proto":"tcp","public_port":"80","target_ip":"'$CAL'","target_port":1}'
rejects 400 target_port POST /api/forwards '{"id":"x","proto":"tcp","public_port":1,"target_ip":"'$CAL'","target_port":0}'
rejects 400 target_port POST /api/forwards '{"id":"x","proto":"tcp","public_port":1,"target_ip":"'$CAL'"}'
rejects 409 public_port POST /api/forwards '{"id":"x","proto":"tcp","public_port":8080,"target_ip":"10.0.'$N'.9","target_port":1}'
check "... the 409 names the forward that has the port" \
	sh -c 'echo "$1" | grep -q "cal-web"' _ "$(api $CELL POST /api/forwards '{"id":"x","proto":"tcp","public_port":8080,"target_ip":"10.0.'$N'.9","target_port":1}')"
rejects 409 public_port POST /api/forwards '{"id":"x","proto":"udp","public_port":51820,"target_ip":"10.0.'$N'.9","target_port":1}'
rejects 409 public_port POST /api/forwards '{"id":"x","proto":"tcp","public_port":8472,"target_ip":"10.0.'$N'.9","target_port":1}'
check "... the 409 names the pairing listener" \
	sh -c 'echo "$1" | grep -q "sync.pairing_port"' _ "$(api $CELL POST /api/forwards '{"id":"x","proto":"tcp","public_port":8472,"target_ip":"10.0.'$N'.9","target_port":1}')"
check "the pairing listener still answers on the uplink" \
	test "$(ip netns exec "$INET" curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$UPLINK:8472/api/cells/peer-sync/accept-invite")" = 405
rejects 400 target_ip POST /api/forwards '{"id":"x","proto":"tcp","public_port":1,"target_ip":"198.51.100.7","target_port":1}'
rejects 400 target_ip POST /api/forwards '{"id":"x","proto":"tcp","public_port":1,"target_ip":"10.0.'$N'.1","target_port":1}'
rejects 400 target_ip POST /api/forwards '{"id":"x","proto":"tcp","public_port":1,"target_ip":"10.0.'$N'.255","target_port":1}'
rejects 400 target_ip POST /api/forwards '{"id":"x","proto":"tcp","public_port":1,"target_ip":"172.20.'$N'.0","target_port":1}'
rejects 400 target_ip POST /api/forwards '{"id":"x","proto":"tcp","public_port":1,"target_ip":"224.0.0.1","target_port":1}'
rejects 400 target_ip POST /api/forwards '{"id":"x","proto":"tcp","public_port":1,"target_ip":"cal","target_port":1}'
rejects 400 allow_from POST /api/forwards '{"id":"x","proto":"tcp","public_port":1,"target_ip":"'$CAL'","target_port":1,"allow_from":"198.51.100.0/24"}'
rejects 400 'allow_from\[0\]' POST /api/forwards '{"id":"x","proto":"tcp","public_port":1,"target_ip":"'$CAL'","target_port":1,"allow_from":["198.51.100.1/24"]}'
rejects 400 'allow_from\[1\]' POST /api/forwards '{"id":"x","proto":"tcp","public_port":1,"target_ip":"'$CAL'","target_port":1,"allow_from":["198.51.100.0/24","198.51.100.7"]}'
rejects 400 snat POST /api/forwards '{"id":"x","proto":"tcp","public_port":1,"target_ip":"'$CAL'","target_port":1,"snat":"sometimes"}'
rejects 400 snat POST /api/forwards '{"id":"x","proto":"tcp","public_port":1,"target_ip":"'$CAL'","target_port":1,"snat":"always"}'
rejects 400 slot POST /api/forwards '{"id":"x","proto":"tcp","public_port":1,"target_ip":"'$CAL'","target_port":1,"slot":5}'
rejects 400 bogus POST /api/forwards '{"id":"x","proto":"tcp","public_port":1,"target_ip":"'$CAL'","target_port":1,"bogus":true}'
rejects 404 id GET /api/forwards/nosuch
rejects 404 id DELETE /api/forwards/nosuch
out=$(api $CELL PUT /api/forwards/ssh '{}')
check "PUT of a forward -> 405 (delete and add instead)" test "$(status_of "$out")" = 405

# Real packets: the internet host reaches the calendar through the uplink.
check "a connection to uplink:8080 reaches the calendar" \
	test "$(tcp_get "$INET" $UPLINK 8080)" = calendar
pk=$(api_ok $CELL GET /api/forwards/cal-web | sed -n 's/.*"counters":{"packets":\([0-9]*\),"bytes":\([0-9]*\).*/\1 \2/p')
check "... counted in its counters (packets bytes: $pk)" \
	sh -c 'set -- $1; [ "${1:-0}" -ge 2 ] && [ "${2:-0}" -ge 100 ]' _ "$pk"
check "... with its translation in cg_nat" \
	sh -c "bpftool map dump pinned $BPF/cg_nat | grep -q CG_NAT_FORWARD"
out=$(api $CELL DELETE /api/forwards/cal-web)
check "DELETE a forward -> 204" test "$(status_of "$out")" = 204
check "its cg_forwards entry is gone" \
	sh -c "! bpftool map dump pinned $BPF/cg_forwards | grep -q '\"port\": 8080'"
check "its translations are gone from cg_nat" \
	sh -c "! bpftool map dump pinned $BPF/cg_nat | grep -q CG_NAT_FORWARD"
check "uplink:8080 no longer reaches the calendar" test -z "$(tcp_get "$INET" $UPLINK 8080)"
out=$(api $CELL GET /api/forwards/cal-web)
check "GET a deleted forward -> 404" test "$(status_of "$out")" = 404
out=$(api $CELL POST /api/forwards "{\"id\":\"cal-again\",\"proto\":\"tcp\",\"public_port\":8081,\"target_ip\":\"$CAL\",\"target_port\":80}")
check "a new forward takes the freed slot 0, its counters from zero" \
	sh -c 'echo "$1" | grep -qF "\"counters\":{\"packets\":0,\"bytes\":0,\"denied\":0,\"nat_failed\":0}" &&
		echo "$2" | tr -d " \n" | grep -qF "\"id\":\"cal-again\",\"slot\":0,"' _ "$out" "$(state_of "$STATE")"

# ---- client configs --------------------------------------------------------
conf=$(api_ok $CELL GET /api/peers/phone/config)
check "config: [Interface] with the generated PrivateKey" \
	sh -c 'echo "$1" | grep -q "^PrivateKey = $2"' _ "$conf" "$(cat "$WORK/$CELL/state/peer-keys/phone.key")"
check "config: Address is the peer's /32" sh -c 'echo "$1" | grep -qx "Address = 10.0.'$N'.3/32"' _ "$conf"
check "config: DNS from dns_ip" sh -c 'echo "$1" | grep -qx "DNS = 172.20.'$N'.53"' _ "$conf"
check "config: the cell's PublicKey" sh -c 'echo "$1" | grep -qxF "PublicKey = $2"' _ "$conf" "$CELL_PUB"
check "config: Endpoint from the config" sh -c 'echo "$1" | grep -qx "Endpoint = 192.168.10'$N'.1:51820"' _ "$conf"
check "config: split tunnel (wg subnet, bridge subnet)" \
	sh -c 'echo "$1" | grep -qx "AllowedIPs = 10.0.'$N'.0/24, 172.20.'$N'.0/24"' _ "$conf"
check "config: PersistentKeepalive 25" sh -c 'echo "$1" | grep -qx "PersistentKeepalive = 25"' _ "$conf"
conf_alice=$(api_ok $CELL GET /api/peers/alice/config)
check "config of a peer with its own key: a PrivateKey placeholder, said why" \
	sh -c 'echo "$1" | grep -qx "PrivateKey = <paste the client'"'"'s private key here>" &&
		echo "$1" | grep -q "^# The private key is the client'"'"'s" && ! echo "$1" | grep -q "^# *PrivateKey"' _ "$conf_alice"
check "... the peer's JSON says the client holds the key" \
	test "$(api_ok $CELL GET /api/peers/alice | jq -r .private_key_held_by)" = client
check "... and the cell holds phone's (it generated it)" \
	test "$(api_ok $CELL GET /api/peers/phone | jq -r .private_key_held_by)" = cell
# wg setconf refuses the placeholder, where a commented line left a
# keyless interface; the same file with a key is accepted (control).
KIF=$(if_of $N key)
if [ "${WG_PEERS:-go}" = kernel ]; then
	ip -n "$R" link add "$KIF" type wireguard
else
	WG_PROCESS_FOREGROUND=1 bg_in "$R" wireguard-go "$KIF" </dev/null >>"$WORK/key.wg.log" 2>&1
	wait_for 5 test -S "/var/run/wireguard/$KIF.sock"
fi
grep -Ev '^(Address|DNS) *=' <<<"$conf_alice" >"$WORK/alice.conf"
check "wg setconf refuses alice's config until her key is pasted in" \
	sh -c '! ip netns exec "$1" wg setconf "$2" "$3" 2>"$4" && grep -q "Key is not the correct length or format" "$4"' \
	_ "$R" "$KIF" "$WORK/alice.conf" "$WORK/setconf.err"
check "... and the interface got no key" test "$(ip netns exec "$R" wg show "$KIF" private-key)" = "(none)"
sed "s|^PrivateKey = .*|PrivateKey = $(wg genkey)|" "$WORK/alice.conf" >"$WORK/alice-keyed.conf"
check "... with a key pasted in it is accepted (control)" ip netns exec "$R" wg setconf "$KIF" "$WORK/alice-keyed.conf"
check "... and the interface has that key" test "$(ip netns exec "$R" wg show "$KIF" private-key)" != "(none)"
ip -n "$R" link del "$KIF" 2>/dev/null
api_ok $CELL PUT /api/peers/alice '{"internet_access":true}' >/dev/null
check "config with internet_access: full tunnel" \
	sh -c 'echo "$1" | grep -qx "AllowedIPs = 0.0.0.0/0"' _ "$(api_ok $CELL GET /api/peers/alice/config)"
ip netns exec "$R" curl -s -H "Authorization: Bearer $(cat "$WORK/$CELL/api.token")" \
	-o "$WORK/phone.png" "http://127.0.0.1:$API_PORT/api/peers/phone/config?format=qr"
check "config as a QR code is a PNG" test "$(head -c 8 "$WORK/phone.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a
rejects 400 format GET '/api/peers/phone/config?format=svg'
rejects 404 name GET /api/peers/nosuch/config

# The rendered config works: a wireguard-go peer set up from it connects.
api_ok $CELL PUT /api/peers/phone '{"service_access":["calendar"]}' >/dev/null
api_ok $CELL GET /api/peers/phone/config >"$WORK/phone.conf"
peer_from_config $CELL $N phone 3 "$WORK/phone.conf"
check "a peer configured from its client config completes a handshake" wait_handshake $CELL phone
check "and reaches the calendar through the cell" \
	test "$(tcp_get "$(ns_of $CELL phone)" $CAL 80)" = calendar

# ---- the token is re-read when it changes ------------------------------------
old_token=$(cat "$WORK/$CELL/api.token")
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/$CELL/api.token.new")
mv "$WORK/$CELL/api.token.new" "$WORK/$CELL/api.token"
out=$(ip netns exec "$R" curl -s -w '\n%{http_code}' -H "Authorization: Bearer $old_token" \
	"http://127.0.0.1:$API_PORT/api/peers")
check "after the token file changes, the old token -> 401" test "$(status_of "$out")" = 401
out=$(api $CELL GET /api/peers)
check "and the new one works" test "$(status_of "$out")" = 200

# ---- drift repair of allowed-ips --------------------------------------------
ip netns exec "$R" wg set "$(if_of $N wg)" peer "$KEY1" allowed-ips 10.0.$N.77/32
check "allowed-ips changed behind cellgate's back are restored" \
	wait_for 15 sh -c "ip netns exec $R wg show $(if_of $N wg) allowed-ips | grep -q '$KEY1.*10.0.$N.2/32\$'"

# ---- persistence and a corrupt state file ------------------------------------
before=$(api_ok $CELL GET /api/peers | sed 's/"counters":{[^}]*}[^}]*}//g')
fwd_before=$(api_ok $CELL GET /api/forwards | sed 's/"counters":{[^}]*}//g')
fwd_map_before=$(bpftool map dump pinned "$BPF/cg_forwards" | grep -v '"packets"')
stop_controller $CELL
# What a kill -9 during a write leaves: temp files of a dead writer.
sleep 30 & dead=$!
kill -9 $dead; wait $dead 2>/dev/null
for f in "$STATE" "$WORK/$CELL/api.token" "$WORK/$CELL/state/peer-keys/phone.key"; do
	echo partial >"$f.tmp.$dead"
done
start_controller $CELL
check "start removes the temp files a killed write left" \
	test -z "$(ls "$STATE.tmp.$dead" "$WORK/$CELL/api.token.tmp.$dead" "$WORK/$CELL/state/peer-keys/phone.key.tmp.$dead" 2>/dev/null)"
check "... and says so" grep -q "removed 3 temporary file(s) of an interrupted write" "$WORK/$CELL/cellgate.log"
check "restart: peers and services as before" \
	test "$before" = "$(api_ok $CELL GET /api/peers | sed 's/"counters":{[^}]*}[^}]*}//g')"
check "restart: forwards as before (a bridge target too)" \
	test "$fwd_before" = "$(api_ok $CELL GET /api/forwards | sed 's/"counters":{[^}]*}//g')"
check "restart: cg_forwards as before (same slots)" \
	test "$fwd_map_before" = "$(bpftool map dump pinned "$BPF/cg_forwards" | grep -v '"packets"')"
check "restart: the generated key is still in the config" \
	test "$(api_ok $CELL GET /api/peers/phone/config)" = "$(cat "$WORK/phone.conf")"
stop_controller $CELL
cp "$STATE" "$WORK/state.good"
printf '{"version":1,"services":[' >"$STATE"
# The default falls back to a kept generation (test_state_fallback.sh);
# "refuse" keeps the cell down until a person repairs the file.
sed -i 's|^  "state_dir"|  "state": {"on_corrupt": "refuse"},\n  "state_dir"|' "$WORK/$CELL/cellgate.json"
start_controller $CELL 2>/dev/null
check "a corrupt state file stops the start (state.on_corrupt refuse)" sh -c "! kill -0 \$(cat $WORK/$CELL/cellgate.pid 2>/dev/null) 2>/dev/null"
check "with a clear message naming the file" grep -q "state $STATE is not usable" "$WORK/$CELL/cellgate.log"
check "and the file is left as it was" test "$(cat "$STATE")" = '{"version":1,"services":['
check "filtering went on meanwhile: phone -> calendar" \
	test "$(tcp_get "$(ns_of $CELL phone)" $CAL 80)" = calendar
rm -f "$WORK/$CELL/cellgate.pid"
cp "$WORK/state.good" "$STATE"
start_controller $CELL
check "with the file repaired it starts again" test $? -eq 0

# ---- deletion ------------------------------------------------------------------
out=$(api $CELL DELETE /api/peers/phone)
check "DELETE a peer -> 204" test "$(status_of "$out")" = 204
check "its stored private key is removed" test ! -e "$WORK/$CELL/state/peer-keys/phone.key"
out=$(api $CELL GET /api/peers/phone)
check "GET a deleted peer -> 404" test "$(status_of "$out")" = 404
api_ok $CELL DELETE /api/peers/alice >/dev/null
out=$(api $CELL DELETE /api/services/calendar)
check "DELETE an unused service -> 204" test "$(status_of "$out")" = 204
check "its map entry is gone" sh -c "! bpftool map dump pinned $BPF/cg_services | grep -q '172,20,$N,21'"
for f in ssh dns cal-again; do
	api_ok $CELL DELETE /api/forwards/$f >/dev/null || not_ok "DELETE forward $f"
done
check "with every forward deleted, cg_forwards and cg_fwd_allow are empty" \
	test "$( (bpftool map dump pinned "$BPF/cg_forwards"; bpftool map dump pinned "$BPF/cg_fwd_allow") | grep -c '"key"')" = 0
check "and GET /api/forwards is []" test "$(api_ok $CELL GET /api/forwards)" = "[]"

e2e_end
