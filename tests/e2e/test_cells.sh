#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Two cells in namespaces, each with its own controller and wireguard-go,
# joined by a "wan" link between their routers: mutual link in one call,
# sharing a service (a peer of one cell reaches the other's calendar, not
# its files; the mirrored view arrives within 2 s), the bridge reaching
# the other cell with this cell's wg address as source (walk 6), a push
# while the remote is down retried until it is back, forged peer-sync
# refused (a peer posing as its cell, a bad signature, a replay,
# X-Forwarded-For, a used pairing secret), conflicting subnets and domains
# refused, and unlinking removing everything on both sides.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

e2e_begin l
A=ca
B=cb
NA=4
NB=5
PORT_A=$((20000 + RANDOM % 5000))
PORT_B=$((PORT_A + 1))

command -v openssl >/dev/null || skip "openssl is not installed"

WA=10.0.$NA.1
WB=10.0.$NB.1
RA=$(ns_of $A r)
RB=$(ns_of $B r)

# ---- two cells and a wan between them -------------------------------------
for spec in "$A:$NA:$PORT_A" "$B:$NB:$PORT_B"; do
	IFS=: read -r cell n port <<<"$spec"
	cell_topology "$cell" "$n"
	cell_service "$cell" "$n" cal 21
	cell_service "$cell" "$n" files 22
	cell_service "$cell" "$n" who 40
	tcp_server "$(ns_of "$cell" cal)" 80 "calendar-of-$cell"
	tcp_server "$(ns_of "$cell" files)" 80 "files-of-$cell"
	addr_server "$(ns_of "$cell" who)" 9090
	write_cell_config "$cell" "$n" "$port"
done
link_wan $A $NA $B $NB
start_controller $A && start_controller $B
check "both controllers start" test $? -eq 0

for spec in "$A:$NA" "$B:$NB"; do
	IFS=: read -r cell n <<<"$spec"
	api_ok "$cell" PUT /api/services/calendar \
		"{\"endpoints\":[{\"ip\":\"172.20.$n.21\",\"proto\":\"tcp\",\"port\":80}],
		  \"dnat\":[{\"proto\":\"tcp\",\"port\":8080,\"to_ip\":\"172.20.$n.21\",\"to_port\":80}]}" >/dev/null
	api_ok "$cell" PUT /api/services/files \
		"{\"endpoints\":[{\"ip\":\"172.20.$n.22\",\"proto\":\"tcp\",\"port\":80}],
		  \"dnat\":[{\"proto\":\"tcp\",\"port\":8081,\"to_ip\":\"172.20.$n.22\",\"to_port\":80}]}" >/dev/null
	api_ok "$cell" PUT /api/services/whoami \
		"{\"endpoints\":[{\"ip\":\"172.20.$n.40\",\"proto\":\"tcp\",\"port\":9090}],
		  \"dnat\":[{\"proto\":\"tcp\",\"port\":9090,\"to_ip\":\"172.20.$n.40\",\"to_port\":9090}]}" >/dev/null
done
add_peer $B $NB bob 2 ''
check "B's peer bob completes a handshake" wait_handshake $B bob

# ---- invites: created by POST only, listed without secrets, revoked ---------------
# headers_of CELL METHOD PATH: the response's status line and headers.
headers_of() {
	ip netns exec "$(ns_of "$1" r)" curl -sS -m 5 -o /dev/null -D - -X "$2" \
		-H "Authorization: Bearer $(cat "$WORK/$1/api.token")" "http://127.0.0.1:$PORT_A$3" | tr -d '\r'
}
n_invites() { api_ok "$1" GET /api/cells/invites | jq length; }
check "no invite pending at first" test "$(n_invites $A)" = 0
for i in $(seq 20); do api $A GET /api/cells/invite >/dev/null; done
hdrs=$(headers_of $A GET /api/cells/invite)
check "GET /api/cells/invite -> 405 with Allow: POST" \
	sh -c 'echo "$1" | grep -q "^HTTP/1.1 405" && echo "$1" | grep -qx "Allow: POST"' _ "$hdrs"
check "... 21 GETs created no invite" test "$(n_invites $A)" = 0
out=$(api $A POST /api/cells/invite)
check "POST /api/cells/invite -> 201" test "$(status_of "$out")" = 201
revoked=${out%$'\n'*}
rid=$(echo "$revoked" | jq -r .invite_id)
check "... it is listed by its id, created and expiry, without its secret" \
	jq -e --arg id "$rid" 'length == 1 and .[0].id == $id and (.[0] | keys) == ["created_at","expires_at","id"]' \
	<<<"$(api_ok $A GET /api/cells/invites)" >/dev/null
check "... the listing never shows the secret" \
	sh -c '! echo "$1" | grep -qF "$2"' _ "$(api_ok $A GET /api/cells/invites)" "$(echo "$revoked" | jq -r .pairing_secret)"
check "DELETE /api/cells/invites/ID -> 204" test "$(status_of "$(api $A DELETE /api/cells/invites/$rid)")" = 204
check "... it is no longer listed" test "$(n_invites $A)" = 0
check "... a second DELETE -> 404" test "$(status_of "$(api $A DELETE /api/cells/invites/$rid)")" = 404
out=$(api $A DELETE /api/cells/invites/0123456789abcdef)
check "DELETE /api/cells/invites/<unknown> -> 404 naming id" \
	sh -c '[ "$(echo "$1" | tail -1)" = 404 ] && echo "$1" | grep -q "\"field\":\"id\""' _ "$out"
out=$(api $B POST /api/cells "$revoked")
check "a revoked invite cannot link: A refuses (403)" test "$(status_of "$out")" = 403
check "... and B kept nothing of the attempt" test "$(api_ok $B GET /api/cells)" = "[]"

inv=$(api_ok $A POST /api/cells/invite)
iid=$(echo "$inv" | jq -r .invite_id)
stop_controller $A
start_controller $A || die "A did not restart"
check "a pending invite survives a restart, with the same id" \
	test "$(api_ok $A GET /api/cells/invites | jq -r '.[].id')" = "$iid"

# ---- conflicts are refused before anything happens --------------------------------
check "A issues an invite with a pairing secret" \
	sh -c 'echo "$1" | grep -Eq "\"pairing_secret\":\"[A-Za-z0-9_-]{43}\""' _ "$inv"
bad=$(echo "$inv" | jq -c ".vpn_subnet = \"10.0.$NB.0/24\" | .wg_address = \"$WB\"")
out=$(api $B POST /api/cells "$bad")
check "an invite whose subnet overlaps B's own -> 409 vpn_subnet" \
	sh -c '[ "$(echo "$1" | tail -1)" = 409 ] && echo "$1" | grep -q "\"field\":\"vpn_subnet\""' _ "$out"
bad=$(echo "$inv" | jq -c '.domain = "cb.cell"')
out=$(api $B POST /api/cells "$bad")
check "an invite with B's own domain -> 409 domain" \
	sh -c '[ "$(echo "$1" | tail -1)" = 409 ] && echo "$1" | grep -q "\"field\":\"domain\""' _ "$out"
bad=$(echo "$inv" | jq -c '.version = 2')
check "an invite of an unknown version -> 400" test "$(status_of "$(api $B POST /api/cells "$bad")")" = 400
check "nothing was linked by the refused attempts" test "$(api_ok $B GET /api/cells)" = "[]"

# ---- the mutual link, in one call ----------------------------------------------------
out=$(api $B POST /api/cells "$inv")
check "B links A with A's invite -> 201" test "$(status_of "$out")" = 201
check "A has B as a linked cell (accepted in the same call)" \
	test "$(api_ok $A GET /api/cells | jq -r '.[0].cell_name')" = $B
check "the cells complete a WireGuard handshake" \
	wait_for 20 sh -c "ip netns exec $RA wg show $(if_of $NA wg) latest-handshakes | awk '{exit !(\$2 > 0)}'"
check "A routes B's subnet over wg (proto 206)" \
	sh -c "ip -n $RA route show proto 206 | grep -q '^10.0.$NB.0/24 dev $(if_of $NA wg)'"
check "B's first push reached A" \
	wait_for 10 sh -c "[ \"\$(ip netns exec $RA curl -s -H 'Authorization: Bearer $(cat "$WORK/$A/api.token")' http://127.0.0.1:$PORT_A/api/cells/$B | jq -r .last_remote_update_at)\" != 0 ]"

# ---- sharing --------------------------------------------------------------------------
check "before sharing, bob (B's peer) cannot use A's calendar" \
	test -z "$(tcp_get "$(ns_of $B bob)" $WA 8080)"
api_ok $A PUT /api/cells/$B/permissions '{"inbound":{"calendar":true}}' >/dev/null
start=$(date +%s%N)
check "B shows A's calendar as shared within 2 s" \
	wait_for 2 sh -c "ip netns exec $RB curl -s -H 'Authorization: Bearer $(cat "$WORK/$B/api.token")' http://127.0.0.1:$PORT_B/api/cells/$A/permissions | grep -q '\"outbound\":{\"calendar\":true}'"
echo "# mirrored view after $((($(date +%s%N) - start) / 1000000)) ms"
check "bob reaches A's calendar through both cells" \
	test "$(tcp_get "$(ns_of $B bob)" $WA 8080)" = "calendar-of-$A"
check "bob does not reach A's files (not shared)" \
	test -z "$(tcp_get "$(ns_of $B bob)" $WA 8081)"
check "A counts B's denied attempt as cell_denied" \
	test "$(api_ok $A GET /api/cells/$B | jq .counters.drops.cell_denied)" -ge 1

# ---- walk 6: A's bridge reaches B as A's wg address -----------------------------------
api_ok $B PUT /api/cells/$A/permissions '{"inbound":{"whoami":true}}' >/dev/null
seen=$(tcp_get "$(ns_of $A cal)" $WB 9090)
check "A's bridge host reaches B's service and B sees A's wg address ($seen)" \
	like "^$WA:[0-9]+$" "$seen"

# ---- forged peer-sync --------------------------------------------------------------------
LINK_KEY=$(state_of "$WORK/$B/state/state.json" | jq -r ".cells[] | select(.cell_name == \"$A\") | .link_key")
B_PUB=$(api_ok $B GET /api/status | jq -r .public_key)
PATH_P=/api/cells/peer-sync/permissions
sign() { # sign TS BODY: the signature B's controller would send
	printf 'POST\n%s\n%s\n%s' "$PATH_P" "$1" "$2" |
		openssl dgst -sha256 -mac HMAC -macopt "hexkey:$LINK_KEY" | awk '{print $NF}'
}
# post NS SOURCE TS SIG BODY [EXTRA-HEADER]: to A's sync listener.
post() {
	ip netns exec "$1" curl -s -m 5 -o /dev/null -w '%{http_code}' \
		${2:+--interface "$2"} -H "Content-Type: application/json" \
		-H "X-Cellgate-Timestamp: $3" -H "X-Cellgate-Signature: $4" \
		${6:+-H "$6"} --data-binary "$5" "http://$WA:8471$PATH_P"
}
# refused REASON: A's cellgate_cell_sync_refused_total for REASON.
refused() {
	api_ok $A GET /metrics |
		sed -n "s/^cellgate_cell_sync_refused_total{reason=\"$1\"} //p"
}
# refused_all: every reason's count, "reason=n ..."
refused_all() {
	local r out=""
	for r in not_linked_address wrong_key bad_timestamp bad_signature replay no_invite; do
		out="$out $r=$(refused $r)"
	done
	echo "$out"
}
check "every refusal reason is exported at 0 before any refusal" \
	test "$(refused_all)" = " not_linked_address=0 wrong_key=0 bad_timestamp=0 bad_signature=0 replay=0 no_invite=0"
body="{\"from_public_key\":\"$B_PUB\",\"cell_name\":\"$B\",\"permissions\":{\"calendar\":true,\"files\":true}}"
ts=$(date +%s%3N)
check "a peer of B posing as B (B's key, even a valid signature) -> 403" \
	test "$(post "$(ns_of $B bob)" "" "$ts" "$(sign "$ts" "$body")" "$body")" = 403
ts=$(date +%s%3N)
check "... with X-Forwarded-For naming B's router -> still 403" \
	test "$(post "$(ns_of $B bob)" "" "$ts" "$(sign "$ts" "$body")" "$body" "X-Forwarded-For: $WB")" = 403
ts=$(date +%s%3N)
check "from B's router address with a bad signature -> 403" \
	test "$(post "$RB" "$WB" "$ts" "$(sign "$ts" "$body" | tr 0-9a-f 1-9a-f0)" "$body")" = 403
check "the two calls from a peer counted as not_linked_address, the bad HMAC as bad_signature" \
	test "$(refused_all)" = " not_linked_address=2 wrong_key=0 bad_timestamp=0 bad_signature=1 replay=0 no_invite=0"
check "one log line for the two not_linked_address calls (rate-limited)" \
	test "$(grep -c 'refused a cell-to-cell call .*(not_linked_address' "$WORK/$A/cellgate.log")" = 1
check "the bad signature logged with its source and path" \
	grep -q "refused a cell-to-cell call from $WB to $PATH_P: bad or missing signature (bad_signature" "$WORK/$A/cellgate.log"
ts=$(date +%s%3N)
sig=$(sign "$ts" "$body")
check "from B's router address, signed with the link key -> 200" \
	test "$(post "$RB" "$WB" "$ts" "$sig" "$body")" = 200
check "the authentic call counted as no refusal" \
	test "$(refused_all)" = " not_linked_address=2 wrong_key=0 bad_timestamp=0 bad_signature=1 replay=0 no_invite=0"
check "the same request replayed -> 403" \
	test "$(post "$RB" "$WB" "$ts" "$sig" "$body")" = 403
old=$(( $(date +%s%3N) - 600000 ))
check "a timestamp ten minutes old -> 403" \
	test "$(post "$RB" "$WB" "$old" "$(sign "$old" "$body")" "$body")" = 403
check "replay and old timestamp counted by reason" \
	test "$(refused replay)/$(refused bad_timestamp)" = 1/1
check "A took the authentic push as B's view" \
	test "$(api_ok $A GET /api/cells/$B/permissions | jq -c .outbound)" = '{"calendar":true,"files":true}'
out=$(ip netns exec "$(ns_of $B bob)" curl -s -m 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$WORK/$A/api.token")" "http://$WA:8471/api/status")
check "admin routes are not on the sync listener (404)" test "$out" = 404

# ---- a push while the remote is down --------------------------------------------------
stop_controller $B
api_ok $A PUT /api/cells/$B/permissions '{"inbound":{"calendar":true,"files":true}}' >/dev/null
check "with B down, A records a pending push and its error" \
	wait_for 10 sh -c "ip netns exec $RA curl -s -H 'Authorization: Bearer $(cat "$WORK/$A/api.token")' http://127.0.0.1:$PORT_A/api/cells/$B | jq -e '.pending_push and (.last_push_error | length > 0)' >/dev/null"
start_controller $B
check "B back: A's retry delivers, B sees calendar and files shared" \
	wait_for 40 sh -c "ip netns exec $RB curl -s -H 'Authorization: Bearer $(cat "$WORK/$B/api.token")' http://127.0.0.1:$PORT_B/api/cells/$A/permissions | grep -q '\"outbound\":{\"calendar\":true,\"files\":true}'"
check "... and A's link shows no pending push" \
	test "$(api_ok $A GET /api/cells/$B | jq -r .pending_push)" = false
check "bob now reaches A's files too" \
	test "$(tcp_get "$(ns_of $B bob)" $WA 8081)" = "files-of-$A"

# ---- unlinking removes everything, on both sides -----------------------------------------
out=$(api $B DELETE /api/cells/$A)
check "B unlinks A -> 204" test "$(status_of "$out")" = 204
for spec in "$A:$NA:$RA:$B" "$B:$NB:$RB:$A"; do
	IFS=: read -r cell n r other <<<"$spec"
	check "$cell: no linked cell left" test "$(api_ok "$cell" GET /api/cells)" = "[]"
	check "$cell: no WireGuard peer of $other left" \
		test -z "$(ip netns exec "$r" wg show "$(if_of "$n" wg)" peers | grep -F "$(jq -r .public_key <<<"$( [ "$other" = $A ] && echo "$inv" || echo "{\"public_key\":\"$B_PUB\"}")")")"
	check "$cell: no route of cellgate left" test -z "$(ip -n "$r" route show proto 206)"
	check "$cell: cg_cells is empty" \
		test "$(bpftool -j map dump pinned "$WORK/$cell/bpf/cg_cells" | jq length)" = 0
done
check "bob no longer reaches A's calendar" test -z "$(tcp_get "$(ns_of $B bob)" $WA 8080)"
out=$(api $B POST /api/cells "$inv")
check "the used pairing secret links nothing again -> 403" \
	sh -c '[ "$(echo "$1" | tail -1)" = 403 ] && echo "$1" | grep -q pairing_secret' _ "$out"
check "and left nothing behind on B" test "$(api_ok $B GET /api/cells)" = "[]"

e2e_end
