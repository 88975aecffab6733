#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Devices enrol themselves (issue 19): join tokens made and listed
# without secrets, a device joining over the underlay with X-Join-Token
# and connecting for real with the config it got back, joining again at
# "every boot" (same peer, same address), every refusal (no token, wrong,
# expired, used up, revoked, a key of another peer, a bad body, a rate
# limit) answered and counted with nothing created; and a peer's own API
# on the wg address: its record and config, a key change it makes
# itself, every other route and every non-peer refused (403), the admin
# token no help.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

e2e_begin j
CELL=home
N=0
API_PORT=$((20000 + RANDOM % 10000))
JOIN_PORT=8473
CAL=172.20.$N.21
FILES=172.20.$N.22
R=$(ns_of $CELL r)
D="$WORK/$CELL"
JOIN_URL="http://192.168.10$N.1:$JOIN_PORT/api/join"
PEER_API="http://10.0.$N.1:8470"

n_peers() { api_ok $CELL GET /api/peers | jq length; }

# device NAME OCTET: a namespace on the underlay (no WireGuard yet) with
# a key pair of its own (NAME.key).
device() {
	local p ifn
	p=$(ns_of $CELL "$1")
	ifn=$(if_of $N "$1")
	ip netns add "$p"
	ip -n "$p" link set lo up
	ip link add "${ifn}u" netns "$R" type veth peer name eth0 netns "$p"
	ip -n "$R" link set "${ifn}u" master ul up
	ip -n "$p" addr add "192.168.10$N.$2/24" dev eth0
	ip -n "$p" link set eth0 up
	(umask 077 && wg genkey >"$D/$1.key")
}
# join NAME TOKEN [BODY_EXTRA]: POST /api/join from the device; the body
# then the status on the last line.
join() {
	local pub
	pub=$(wg pubkey <"$D/$1.key")
	ip netns exec "$(ns_of $CELL "$1")" curl -sS -m 5 -X POST \
		${2:+-H "X-Join-Token: $2"} -H "Content-Type: application/json" \
		--data-binary "{\"public_key\":\"$pub\"${3:-}}" -w '\n%{http_code}' "$JOIN_URL"
}
# connect NAME ANSWER: bring the device's WireGuard up from the config in
# the join answer, its own private key in place of the placeholder.
connect() {
	local p ifn conf="$D/$1.conf"
	p=$(ns_of $CELL "$1")
	ifn=$(if_of $N "$1")
	printf '%s\n' "${2%$'\n'*}" | jq -r .config |
		sed "s|^PrivateKey = .*|PrivateKey = $(cat "$D/$1.key")|" >"$conf"
	WG_PROCESS_FOREGROUND=1 bg_in "$p" wireguard-go "$ifn" </dev/null >>"$D/$1.wg.log" 2>&1
	wait_for 5 test -S "/var/run/wireguard/$ifn.sock" || return 1
	grep -Ev '^(Address|DNS) *=' "$conf" >"$conf.wg"
	ip netns exec "$p" wg setconf "$ifn" "$conf.wg" || return 1
	ip -n "$p" addr add "$(sed -n 's/^Address *= *//p' "$conf")" dev "$ifn"
	ip -n "$p" link set "$ifn" up
	ip -n "$p" route add 10.0.$N.0/24 dev "$ifn"
	ip -n "$p" route add 172.20.$N.0/24 dev "$ifn"
	echo "$ifn" >"$D/$1.if"
}
# from NAME METHOD PATH [BODY] [CURL_ARGS...]: call the peer API from NAME.
from() {
	local ns=$1 method=$2 path=$3 body=${4-}
	shift 4 2>/dev/null || shift $#
	ip netns exec "$ns" curl -sS -m 5 -X "$method" "$@" \
		${body:+-H "Content-Type: application/json" --data-binary "$body"} \
		-w '\n%{http_code}' "$PEER_API$path"
}

# ---- set up -------------------------------------------------------------
log "e2e: building cell '$CELL' in namespaces $PREFIX-* (work dir $WORK)"
cell_topology $CELL $N
cell_service $CELL $N cal 21
cell_service $CELL $N files 22
tcp_server "$(ns_of $CELL cal)" 80 calendar
tcp_server "$(ns_of $CELL files)" 80 files
write_cell_config $CELL $N $API_PORT
sed -i "s|^  \"api\": |  \"join\": {\"listen\": \"192.168.10$N.1:$JOIN_PORT\", \"rate_per_minute\": 40},\n  \"api\": |" "$D/cellgate.json"
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts with a join listener"
api_ok $CELL PUT /api/services/calendar \
	"{\"endpoints\":[{\"ip\":\"$CAL\",\"proto\":\"tcp\",\"port\":80}]}" >/dev/null &&
	api_ok $CELL PUT /api/services/files \
		"{\"endpoints\":[{\"ip\":\"$FILES\",\"proto\":\"tcp\",\"port\":80}]}" >/dev/null
check "services defined" test $? -eq 0

# ---- tokens ----------------------------------------------------------------
out=$(api $CELL POST /api/join-tokens '{"name":"factory","groups":["devices"],"service_access":["calendar"],"internet_access":false,"expires_in":3600,"max_uses":2}')
check "POST /api/join-tokens -> 201" test "$(status_of "$out")" = 201
TOKEN=$(printf '%s\n' "${out%$'\n'*}" | jq -r .token)
check "the answer carries the token once (43 characters)" test "${#TOKEN}" = 43
list=$(api_ok $CELL GET /api/join-tokens)
check "GET /api/join-tokens lists it with uses left, without secret or hash" \
	sh -c "echo '$list' | jq -e '.[0].name == \"factory\" and .[0].uses_left == 2 and .[0].max_uses == 2 and (.[0] | has(\"token\") | not) and (.[0] | has(\"hash\") | not)' >/dev/null"
check "the token file is 0600 and holds no secret" \
	sh -c "[ \"\$(stat -c %a '$D/state/join-tokens.json')\" = 600 ] && ! grep -q '$TOKEN' '$D/state/join-tokens.json'"
out=$(api $CELL POST /api/join-tokens '{"name":"factory"}')
check "the same name again -> 409" test "$(status_of "$out")" = 409
out=$(api $CELL POST /api/join-tokens '{"name":"x","service_access":["nosuch"]}')
check "an unknown service -> 400 naming service_access[0]" \
	sh -c "[ '$(status_of "$out")' = 400 ] && echo '$out' | grep -q '\"field\":\"service_access\[0\]\"'"
out=$(api $CELL POST /api/join-tokens '{"name":"x","expires_in":0}')
check "expires_in 0 -> 400 naming expires_in" \
	sh -c "[ '$(status_of "$out")' = 400 ] && echo '$out' | grep -q '\"field\":\"expires_in\"'"
check "refused tokens made nothing" test "$(api_ok $CELL GET /api/join-tokens | jq length)" = 1

# The CLI: add prints the secret once, list and show never.
cli() { ip netns exec "$R" "$CELLGATE" --config "$D/cellgate.json" "$@"; }
out=$(cli --json join-token add kiosk --service calendar --max-uses 5 --expires-in 600)
check "cellgate join-token add --json: the token, its secret once" \
	jq -e '.name == "kiosk" and (.token | length) == 43 and .max_uses == 5' <<<"$out" >/dev/null
kiosk_secret=$(jq -r .token <<<"$out")
out=$(cli join-token list)
check "cellgate join-token list: a table with kiosk" grep -q '^kiosk ' <<<"$out"
check "... and not its secret" sh -c "! grep -qF -- '$kiosk_secret' <<EOF
$out
EOF"
out=$(cli --json join-token show kiosk)
check "cellgate join-token show --json: no secret" jq -e 'has("token") | not' <<<"$out" >/dev/null
cli join-token add bad --max-uses 0 >/dev/null 2>&1
check "cellgate join-token add --max-uses 0: usage error (exit 2)" test $? = 2
out=$(cli join-token del kiosk)
check "cellgate join-token del: revoked" like "revoked join token kiosk" "$out"

# ---- a device joins, connects, and joins again ---------------------------------
device dev1 11
peers_before=$(n_peers)
out=$(join dev1 "$TOKEN")
check "dev1 joins -> 201" test "$(status_of "$out")" = 201
DEV1=$(printf '%s\n' "${out%$'\n'*}" | jq -r .name)
DEV1_IP=$(printf '%s\n' "${out%$'\n'*}" | jq -r .ip)
pj=$(api_ok $CELL GET "/api/peers/$DEV1")
check "its peer ($DEV1, $DEV1_IP) has the token's presets" \
	jq -e '.service_access == ["calendar"] and .internet_access == false' <<<"$pj" >/dev/null
check "dev1 connects with the config it got" connect dev1 "$out"
check "dev1 completes a handshake" wait_handshake $CELL dev1
check "dev1 -> calendar allowed (the token's service)" wait_for 10 reach dev1 $CAL 80 calendar
before=$(drops "$DEV1" service_denied)
check "dev1 -> files denied" blocked dev1 $FILES 80
check "dev1's service_denied drops rose ($before -> $(drops "$DEV1" service_denied))" \
	test "$(drops "$DEV1" service_denied)" -gt "${before:-0}"
out=$(join dev1 "$TOKEN")
check "dev1 joins again (a reboot) -> 200" test "$(status_of "$out")" = 200
check "... the same peer and address" \
	test "$(printf '%s\n' "${out%$'\n'*}" | jq -r '.name + " " + .ip')" = "$DEV1 $DEV1_IP"
check "one peer more, not two" test "$(n_peers)" = $((peers_before + 1))
check "joining again used no second use" \
	test "$(api_ok $CELL GET /api/join-tokens/factory | jq .uses_left)" = 1

# ---- refusals: nothing created, each counted ----------------------------------------
device dev2 12
device dev3 13
peers_before=$(n_peers)
r0=$(metric 'cellgate_join_refused_total{reason="no_token"}')
out=$(join dev2 "")
check "no X-Join-Token -> 401" test "$(status_of "$out")" = 401
check "... counted as no_token" test "$(metric 'cellgate_join_refused_total{reason="no_token"}')" -gt "$r0"
r0=$(metric 'cellgate_join_refused_total{reason="bad_token"}')
out=$(join dev2 "${TOKEN%?}x")
check "a wrong token -> 401" test "$(status_of "$out")" = 401
check "... counted as bad_token" test "$(metric 'cellgate_join_refused_total{reason="bad_token"}')" -gt "$r0"
out=$(join dev2 "$TOKEN" ',"name":"bad name!"')
check "a bad name -> 400 naming name" \
	sh -c "[ '$(status_of "$out")' = 400 ] && echo '$out' | grep -q '\"field\":\"name\"'"
out=$(ip netns exec "$(ns_of $CELL dev2)" curl -sS -m 5 -X POST -H "X-Join-Token: $TOKEN" \
	-H "Content-Type: application/json" --data-binary '{"public_key":"nope"}' -w '\n%{http_code}' "$JOIN_URL")
check "a bad key -> 400 naming public_key" \
	sh -c "[ '$(status_of "$out")' = 400 ] && echo '$out' | grep -q '\"field\":\"public_key\"'"
out=$(join dev2 "$TOKEN" ",\"name\":\"$DEV1\"")
check "a name another peer has -> 409" test "$(status_of "$out")" = 409
check "... and the use went back" \
	test "$(api_ok $CELL GET /api/join-tokens/factory | jq .uses_left)" = 1
out=$(join dev2 "$TOKEN")
check "dev2 joins -> 201 (the last use)" test "$(status_of "$out")" = 201
r0=$(metric 'cellgate_join_refused_total{reason="used_up"}')
out=$(join dev3 "$TOKEN")
check "dev3 with the used-up token -> 401" test "$(status_of "$out")" = 401
check "... counted as used_up" test "$(metric 'cellgate_join_refused_total{reason="used_up"}')" -gt "$r0"
out=$(join dev2 "$TOKEN")
check "dev2 may still join again (200): its key used the token" test "$(status_of "$out")" = 200

out=$(api $CELL POST /api/join-tokens '{"name":"brief","expires_in":1}')
SHORT_TOKEN=$(printf '%s\n' "${out%$'\n'*}" | jq -r .token)
sleep 2
r0=$(metric 'cellgate_join_refused_total{reason="expired"}')
out=$(join dev3 "$SHORT_TOKEN")
check "an expired token -> 401" test "$(status_of "$out")" = 401
check "... counted as expired" test "$(metric 'cellgate_join_refused_total{reason="expired"}')" -gt "$r0"
out=$(api $CELL POST /api/join-tokens '{"name":"gone"}')
GONE_TOKEN=$(printf '%s\n' "${out%$'\n'*}" | jq -r .token)
check "DELETE /api/join-tokens/gone -> 204" \
	test "$(status_of "$(api $CELL DELETE /api/join-tokens/gone)")" = 204
out=$(join dev3 "$GONE_TOKEN")
check "a revoked token -> 401" test "$(status_of "$out")" = 401
check "refusals created no peer (dev2 alone was added)" test "$(n_peers)" = $((peers_before + 1))

# A token survives a restart (hashed in the token file).
stop_controller $CELL
start_controller $CELL
out=$(join dev1 "$TOKEN")
check "after a restart dev1 joins again -> 200" test "$(status_of "$out")" = 200

# The rate limit: 40 a minute per source; a burst of 60 gets 429s.
r0=$(metric 'cellgate_join_refused_total{reason="rate_limited"}')
codes=$(for i in $(seq 1 60); do join dev3 "$GONE_TOKEN" | tail -n 1; echo; done | sort | uniq -c | xargs)
log "# a burst of 60 joins from one address: $codes"
check "a burst from one address gets 429" like "429" "$codes"
check "... counted as rate_limited" \
	test "$(metric 'cellgate_join_refused_total{reason="rate_limited"}')" -gt "$r0"
out=$(join dev2 "$TOKEN")
check "another address is not limited (dev2 -> 200)" test "$(status_of "$out")" = 200

# ---- a peer's own API ----------------------------------------------------------
DEV1_NS=$(ns_of $CELL dev1)
out=$(from "$DEV1_NS" GET /api/peer/me)
check "GET /api/peer/me from dev1 -> 200, dev1's record" \
	sh -c "[ '$(status_of "$out")' = 200 ] && printf '%s\n' '${out%$'\n'*}' | jq -e '.name == \"$DEV1\" and has(\"counters\") and has(\"last_handshake_at\")' >/dev/null"
out=$(from "$DEV1_NS" GET /api/peer/me/config)
check "GET /api/peer/me/config -> 200" test "$(status_of "$out")" = 200
check "... its config, with its address" grep -q "^Address = $DEV1_IP/" <<<"$out"
out=$(from "$DEV1_NS" GET /api/peers)
check "an admin route from a peer -> 403" test "$(status_of "$out")" = 403
out=$(from "$DEV1_NS" GET /api/peers "" -H "Authorization: Bearer $(cat "$D/api.token")")
check "... with the admin token too -> 403" test "$(status_of "$out")" = 403
out=$(from "$R" GET /api/peer/me "" -H "Authorization: Bearer $(cat "$D/api.token")")
check "GET /api/peer/me from the router (no peer), admin token or not -> 403" \
	test "$(status_of "$out")" = 403
out=$(api $CELL GET /api/peer/me)
check "the admin API does not serve /api/peer/me (404)" test "$(status_of "$out")" = 404
check "refusals counted in cellgate_peer_api_refused_total" \
	test "$(metric cellgate_peer_api_refused_total)" -ge 3

# dev1 changes its key itself: the old one stops, the new one connects.
old_pub=$(wg pubkey <"$D/dev1.key")
(umask 077 && wg genkey >"$D/dev1.new.key")
new_pub=$(wg pubkey <"$D/dev1.new.key")
out=$(from "$DEV1_NS" POST /api/peer/me/key "{\"public_key\":\"$new_pub\"}")
check "POST /api/peer/me/key -> 200 (the answer came through the old key)" \
	test "$(status_of "$out")" = 200
check "the old key is gone from WireGuard" \
	wait_for 5 sh -c "! ip netns exec $R wg show $(if_of $N wg) peers | grep -qF '$old_pub'"
check "the new key is in WireGuard" \
	sh -c "ip netns exec $R wg show $(if_of $N wg) peers | grep -qF '$new_pub'"
ip netns exec "$DEV1_NS" wg set "$(cat "$D/dev1.if")" private-key "$D/dev1.new.key"
check "dev1 reaches the calendar with its new key" wait_for 20 reach dev1 $CAL 80 calendar
check "the state has the new key" \
	test "$(api_ok $CELL GET "/api/peers/$DEV1" | jq -r .public_key)" = "$new_pub"
out=$(from "$DEV1_NS" POST /api/peer/me/key '{"public_key":"nope"}')
check "a bad key -> 400 naming public_key" \
	sh -c "[ '$(status_of "$out")' = 400 ] && echo '$out' | grep -q '\"field\":\"public_key\"'"

# The join listener on IPv6 ("[IPv6]:port"): the same token over it.
stop_controller $CELL
sed -i "s|\"listen\": \"192.168.10$N.1:$JOIN_PORT\"|\"listen\": \"[::1]:$JOIN_PORT\"|" "$D/cellgate.json"
start_controller $CELL
join6() {
	ip netns exec "$R" curl -sS -m 5 -g -X POST ${2:+-H "X-Join-Token: $2"} \
		-H "Content-Type: application/json" --data-binary "{\"public_key\":\"$1\"}" \
		-w '\n%{http_code}' "http://[::1]:$JOIN_PORT/api/join"
}
out=$(join6 "$(wg pubkey <"$D/dev2.key")" "$TOKEN")
check "join.listen [::1]: dev2's key joins again over IPv6 -> 200" test "$(status_of "$out")" = 200
out=$(join6 "$(wg pubkey <"$D/dev2.key")" "$GONE_TOKEN")
check "... a revoked token over IPv6 -> 401" test "$(status_of "$out")" = 401

e2e_end
