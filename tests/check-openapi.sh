#!/bin/sh
# SPDX-License-Identifier: MIT
# Every route the code serves (api/routes.c: the admin API; api/sync.c, api/join.c:
# the cell-to-cell listeners) is in api/openapi.yaml and the reverse:
# compares "METHOD PATH" lines from both.
set -eu
cd "$(dirname "$0")/.."
code=$(mktemp) spec=$(mktemp)
trap 'rm -f "$code" "$spec"' EXIT
# Route table lines: { "METHOD", "/path", handler, ... } (possibly wrapped).
cat api/routes.c api/sync.c api/join.c | tr -d '\n' | grep -o '{ "[A-Z]*", "[^"]*"' |
	sed 's/{ "\([A-Z]*\)", "\([^"]*\)"/\1 \2/' | sort -u >"$code"
awk '
	/^  \/[^:]*:$/ { path = $1; sub(/:$/, "", path); next }
	/^    (get|put|post|delete|patch):/ && path != "" {
		m = $1; sub(/:$/, "", m); print toupper(m), path
	}
	/^[a-z]/ { path = "" }
' api/openapi.yaml | sort >"$spec"
if ! diff -u --label "routes in api/routes.c + api/sync.c + api/join.c" --label "routes in api/openapi.yaml" "$code" "$spec"; then
	echo "check-openapi: code and spec disagree (lines above)" >&2
	exit 1
fi
echo "check-openapi: $(wc -l <"$code") routes, code and spec agree"

# The spec itself, with real tools (tests/contract/, installed by
# scripts/deps.sh): redocly's recommended rules, every warning an error,
# and what no linter checks (contract.js --static).
contract=tests/contract
if ! command -v node >/dev/null || [ ! -d "$contract/node_modules" ]; then
	echo "check-openapi: SKIP lint: node or $contract/node_modules missing (scripts/deps.sh)"
	exit 0
fi
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
	"$contract/node_modules/.bin/redocly" lint --config "$contract/redocly.yaml" \
	--format=summary api/openapi.yaml
node "$contract/contract.js" --static api/openapi.yaml
