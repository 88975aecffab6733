#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A corrupt state keeps the cell down no more (issue 21, item 6): the
# controller keeps the previous generations (state.json.snap.<G> and
# their journals) and starts from the newest that validates, saying so
# in the log, GET /api/status and /metrics. A corrupt snapshot: the
# previous one and its journal, nothing journaled lost. A garbled journal
# line: the lines before it, the ones after it lost (and said). With
# state.on_corrupt "refuse" it does not start and changes nothing.
# `cellgate state check` validates offline, exit 0/1, --json.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

e2e_begin f
CELL=home
N=0
API_PORT=$((20000 + RANDOM % 10000))
D=$WORK/$CELL
S=$D/state/state.json
R=$(ns_of $CELL r)

cg() { ip netns exec "$R" "$CELLGATE" --config "$D/cellgate.json" "$@"; }
npeers() { api_ok $CELL GET /api/peers | jq length; }
status_state() { api_ok $CELL GET /api/status | jq -r ".state.$1"; }
add_peers() { # add_peers FIRST LAST: peers pFIRST..pLAST, keys made by the cell
	local i
	for ((i = $1; i <= $2; i++)); do
		api_ok $CELL POST /api/peers "{\"name\":\"p$i\"}" >/dev/null || return 1
	done
}

log "e2e: cell '$CELL' in namespaces $PREFIX-* (work dir $WORK)"
cell_topology $CELL $N
write_cell_config $CELL $N $API_PORT
# Compactions every few changes: several generations to fall back to.
export CELLGATE_JOURNAL_MAX_BYTES=600
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts"
add_peers 1 12
check "12 peers added" test "$(npeers)" = 12
stop_controller $CELL KILL
unset CELLGATE_JOURNAL_MAX_BYTES
snaps=$(ls "$S".snap.* 2>/dev/null | wc -l)
check "previous generations kept ($snaps snapshots, at most 3)" test "$snaps" -ge 1 -a "$snaps" -le 3

# ---- state check, offline ------------------------------------------------------
out=$(cg state check 2>&1)
check "state check: a good state validates (exit 0)" test $? = 0
check "state check says ok and lists the kept generations" \
	sh -c 'echo "$1" | grep -q "state.json: ok: generation" && echo "$1" | grep -q "kept: .*snap"' _ "$out"
out=$(cg state check --json "$S")
check "state check --json FILE: ok true, 12 peers" \
	test "$(echo "$out" | jq -r '.ok, .peers' | tr '\n' ' ')" = "true 12 "

# ---- a corrupt snapshot: the previous one, nothing journaled lost --------------
cp "$S" "$WORK/good.json"
printf '{"version":1,"peers":[{"name":' >"$S"
out=$(cg state check 2>&1)
check "state check: a corrupt state.json is refused (exit 1)" test $? = 1
check "state check names what is wrong" sh -c 'echo "$1" | grep -q "state.json: REFUSED"' _ "$out"
check "state check --json: ok false with an error" \
	test "$(cg state check --json | jq -r '.ok')" = false
start_controller $CELL
check "the controller starts on a corrupt state.json" test $? = 0
check "status: fell_back" test "$(status_state fell_back)" = true
check "status: started from a kept snapshot ($(status_state started_from))" \
	like '^state\.json\.snap\.[0-9]+$' "$(status_state started_from)"
check "status: the refused file and why" \
	like '^state\.json: ' "$(api_ok $CELL GET /api/status | jq -r '.state.refused[0]')"
check "every journaled peer is back (12)" test "$(npeers)" = 12
out=$(cg status 2>&1)
check "cellgate status says it" \
	like "WARNING: the newest state did not validate" "$out"
check "/metrics: cellgate_state_fell_back 1" test "$(metric cellgate_state_fell_back)" = 1
check "the log says it loudly" grep -q "STARTED FROM AN OLDER GENERATION" "$D/cellgate.log"
check "the refused file is kept aside" test -f "$S.refused"
cg state check >/dev/null 2>&1
check "a fresh snapshot was written: state check passes again" test $? = 0

# ---- a garbled journal line: the lines before it --------------------------------
add_peers 13 15
stop_controller $CELL KILL
g=$(for f in "$S".journal.*; do echo "${f##*.journal.}"; done | grep -E '^[0-9]+$' | sort -n | tail -1)
j=$S.journal.$g
check "the last three peers are in the journal ($(basename "$j"))" test "$(grep -c '"seq"' "$j")" -ge 3
line=$(grep -n '"name":"p14"' "$j" | head -1 | cut -d: -f1)
sed -i "${line}s/\"seq\"/\"sXq\"/" "$j"
cg state check >/dev/null 2>&1
check "state check refuses the garbled line" test $? = 1
start_controller $CELL
check "the controller starts on a garbled journal line" test $? = 0
check "status: fell_back, with what was lost" \
	like 'line [0-9]+' "$(status_state lost)"
check "peers before the garbled line are there (p13), after it not (p14, p15)" \
	test "$(api_ok $CELL GET /api/peers | jq -r '[.[].name] | map(select(. == "p13" or . == "p14" or . == "p15")) | join(",")')" = p13
check "the refused journal is kept aside" sh -c "ls $S.journal.*.refused >/dev/null 2>&1"
stop_controller $CELL TERM

# ---- refuse mode -----------------------------------------------------------------
sed -i 's|^  "state_dir"|  "state": {"on_corrupt": "refuse"},\n  "state_dir"|' "$D/cellgate.json"
printf 'garbage' >"$S"
before=$(ls -l "$D/state" | md5sum)
timeout 20 ip netns exec "$R" "$CELLGATE" --config "$D/cellgate.json" run >"$WORK/refuse.log" 2>&1
rc=$?
check "refuse mode: the controller does not start (exit $rc)" test "$rc" != 0 -a "$rc" != 124
check "refuse mode: it says why" grep -q 'on_corrupt is "refuse"' "$WORK/refuse.log"
check "refuse mode: nothing changed in state_dir" test "$before" = "$(ls -l "$D/state" | md5sum)"

e2e_end
