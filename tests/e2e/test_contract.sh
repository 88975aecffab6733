#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# api/openapi.yaml against a running controller (tests/check-openapi.sh
# lints it): tests/contract/contract.js sends requests generated from
# the spec's schemas (json-schema-faker) to each of the five
# listeners (admin, sync, pairing, join, the peer API) and validates every answer against the
# spec (ajv). The bar: no 5xx, no status, content type or body outside the
# spec. CONTRACT_SEED replays a run; CONTRACT_ROUNDS sets its size.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
CONTRACT=$(cd "$here/../contract" && pwd)

command -v node >/dev/null || skip "node is not installed (scripts/deps.sh installs it)"
[ -d "$CONTRACT/node_modules" ] || skip "tests/contract/node_modules is missing (scripts/deps.sh runs npm ci)"

e2e_begin k
CELL=api
N=4
API_PORT=$((20000 + RANDOM % 10000))
R=$(ns_of $CELL r)

# ---- a cell with something in it ------------------------------------------
cell_topology $CELL $N
write_cell_config $CELL $N $API_PORT
sed -i 's|^  "api": |  "join": {"listen": "127.0.0.1:8473"},\n  "api": |' "$WORK/$CELL/cellgate.json"
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts"
api_ok $CELL PUT /api/services/web \
	'{"endpoints":[{"ip":"172.20.'$N'.30","proto":"tcp","port":80}]}' >/dev/null &&
	api_ok $CELL POST /api/peers '{"name":"alice","service_access":["web"]}' >/dev/null &&
	api_ok $CELL POST /api/peers "{\"name\":\"bob\",\"public_key\":\"$(wg genkey | wg pubkey)\"}" >/dev/null &&
	api_ok $CELL POST /api/forwards \
		'{"id":"web","proto":"tcp","public_port":8080,"target_ip":"172.20.'$N'.30","target_port":80}' >/dev/null
check "fixtures: a service, two peers, a forward" test $? = 0

# ---- the generated requests ---------------------------------------------------
servers=$(printf '{"http://127.0.0.1:8470":"http://127.0.0.1:%s","http://{wg_address}:8471":"http://10.0.%s.1:8471","http://{host}:8472":"http://127.0.0.1:8472","http://{host}:8473":"http://127.0.0.1:8473","http://{wg_address}:8470":"http://10.0.%s.1:8470"}' \
	"$API_PORT" "$N" "$N")
out=$(ip netns exec "$R" env CONTRACT_SERVERS="$servers" \
	CONTRACT_TOKEN="$(cat "$WORK/$CELL/api.token")" \
	CONTRACT_ROUNDS="${CONTRACT_ROUNDS:-25}" ${CONTRACT_SEED:+CONTRACT_SEED=$CONTRACT_SEED} \
	timeout 300 node "$CONTRACT/contract.js" "$here/../../api/openapi.yaml" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
check "every generated request answered inside the spec, no 5xx" test "$rc" = 0
check "the controller is still up" api_ok $CELL GET /health
e2e_end
