#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Durability of changes (issue 16): a client sends a burst of POST, PUT
# and DELETE of peers and logs every change the controller acknowledged;
# the controller is killed with SIGKILL at a random instant, restarted,
# and the peers it loads are compared with the log: every acknowledged
# change is there, nothing else is (the one call in flight may have
# landed or not, but whole). Ten rounds, with a small compaction
# threshold so that snapshots are written (off the lock) during the
# bursts and kills land in them too.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
command -v jq >/dev/null || skip "jq is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"

e2e_begin d
CELL=dur
N=5
API_PORT=$((20000 + RANDOM % 10000))
STATE="$WORK/$CELL/state/state.json"
ROUNDS=${ROUNDS:-10}
POOL=60 # peer names p0..p59: adds, updates and deletes collide often

cell_topology $CELL $N
write_cell_config $CELL $N $API_PORT
# Compact every ~8 KiB of journal: about every 25 changes.
export CELLGATE_JOURNAL_MAX_BYTES=8192
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts"

# One public key per name, so a peer's key tells which POST made it.
python3 -c '
import base64, sys
for i in range(int(sys.argv[1])):
    print(base64.b64encode(bytes([i % 256, 7]) + bytes(range(1, 31))).decode())
' $POOL >"$WORK/keys"
mapfile -t KEYS <"$WORK/keys"

# The model: what the acknowledged changes leave, one line per peer:
# "name internet_access" (absent: no line).
declare -A MODEL=()

# burst ROUND: random changes until a call fails (the controller died);
# each acknowledged one goes to acked.ROUND, the one in flight to
# pending.ROUND (overwritten before each call).
burst() {
	local round=$1 i name op body code
	local port=$API_PORT tok
	tok=$(cat "$WORK/$CELL/api.token")
	for i in $(seq 1 5000); do
		name=p$((RANDOM % POOL))
		case $((RANDOM % 3)) in
		0) op=POST body="{\"name\":\"$name\",\"public_key\":\"${KEYS[${name#p}]}\"}" path=/api/peers ;;
		1) op=PUT body="{\"internet_access\":$([ $((RANDOM % 2)) = 0 ] && echo true || echo false)}" path=/api/peers/$name ;;
		*) op=DELETE body= path=/api/peers/$name ;;
		esac
		echo "$op $name $body" >"$WORK/pending.$round"
		code=$(ip netns exec "$(ns_of $CELL r)" curl -s -o /dev/null -m 5 -X $op \
			-H "Authorization: Bearer $tok" \
			${body:+-H "Content-Type: application/json" --data-binary "$body"} \
			-w '%{http_code}' "http://127.0.0.1:$port$path") || return 0
		case $code in
		2*) echo "$op $name $body" >>"$WORK/acked.$round" ;;
		4*) ;; # refused (exists, absent): changed nothing
		*) return 0 ;;
		esac
	done
}

# apply_to_model OP NAME BODY
apply_to_model() {
	case $1 in
	POST) MODEL[$2]=false ;;
	PUT) MODEL[$2]=$(echo "$3" | jq -r .internet_access) ;;
	DELETE) unset "MODEL[$2]" ;;
	esac
}

# model_json: the model as sorted "name internet_access" lines.
model_lines() {
	local n
	for n in "${!MODEL[@]}"; do echo "$n ${MODEL[$n]}"; done | sort
}

# loaded_lines: the peers the restarted controller has, the same way;
# each must have its own name's key (no mix of two changes).
loaded_lines() {
	api_ok $CELL GET /api/peers |
		jq -r '.[] | "\(.name) \(.internet_access) \(.public_key)"' | sort |
		while read -r n ia key; do
			[ "$key" = "${KEYS[${n#p}]}" ] || echo "BADKEY $n"
			echo "$n $ia"
		done
}

acked_total=0 lost=0 extra=0 badkeys=0
for round in $(seq 1 "$ROUNDS"); do
	: >"$WORK/acked.$round"
	burst "$round" &
	client=$!
	# Kill somewhere in the burst: 0.3 to 2.3 s in.
	sleep "$((RANDOM % 3)).$((RANDOM % 10))3"
	pid=$(cat "$WORK/$CELL/cellgate.pid")
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	rm -f "$WORK/$CELL/cellgate.pid"
	wait "$client"
	while read -r op name body; do
		apply_to_model "$op" "$name" "$body"
		acked_total=$((acked_total + 1))
	done <"$WORK/acked.$round"
	start_controller $CELL || { not_ok "round $round: restart after kill -9"; break; }
	got=$(loaded_lines)
	want=$(model_lines)
	if [ "$got" != "$want" ]; then
		# The call in flight may have landed: then the model takes it.
		read -r op name body <"$WORK/pending.$round"
		apply_to_model "$op" "$name" "$body"
		want=$(model_lines)
	fi
	if [ "$got" = "$want" ]; then
		ok "round $round: $(wc -l <"$WORK/acked.$round") acknowledged changes, all there after kill -9 ($(echo "$want" | grep -c .) peers)"
	else
		not_ok "round $round: state after kill -9 differs from the acknowledged changes"
		diff <(echo "$want") <(echo "$got") | head -10 >&2
		lost=$((lost + 1))
	fi
	echo "$got" | grep -q BADKEY && badkeys=$((badkeys + 1))
	# The maps agree with the state: one cg_peers entry a peer.
	check "round $round: cg_peers holds exactly the loaded peers" \
		test "$(bpftool map dump pinned "$WORK/$CELL/bpf/cg_peers" | grep -c '"key"')" = "$(echo "$want" | grep -c .)"
done

check "the bursts were acknowledged changes ($acked_total)" test "$acked_total" -ge $((ROUNDS * 5))
check "no peer with another change's key (no half change)" test "$badkeys" = 0
check "compaction ran during the bursts (the snapshot continues a journal generation)" \
	test "$(jq -r '.journal // 0' "$STATE")" -gt 0
# The current generation (two while a compaction runs) and the three
# previous ones kept to fall back to (tests/e2e/test_state_fallback.sh).
check "old journal generations are removed" \
	test "$(ls "$STATE".journal.* | wc -l)" -le 5
last=$STATE.journal.$(ls "$STATE".journal.* | sed 's/.*\.journal\.//' | sort -n | tail -1)
check "/metrics: cellgate_state_journal_bytes is the journal's size ($(stat -c %s "$last"))" \
	test "$(api_ok $CELL GET /metrics | awk '/^cellgate_state_journal_bytes / {print $2}')" = "$(stat -c %s "$last")"
stop_controller $CELL
check "a clean stop leaves one snapshot equal to the last state" \
	test "$(state_of "$STATE" | jq -c '[.peers[] | [.name, .internet_access]] | sort')" = \
	"$(model_lines | jq -Rsc 'split("\n") | map(select(. != "") | split(" ") | [.[0], (.[1] == "true")]) | sort')"
e2e_end
