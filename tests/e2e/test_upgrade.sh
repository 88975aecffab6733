#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Upgrades across map layouts (issue 21, item 2): a controller built with
# another conntrack entry layout (LAYOUT_CFLAGS=-DCG_LAYOUT_PROBE: a
# member added first, every other one moved) starts on the pins of the
# running one while a TCP transfer runs, carries the flows over, and the
# transfer does not stop; then back again (a downgrade). A pinned map of
# flows that cannot be converted is refused with a clear message, and
# nothing changes: pins, programs and filters stay as they were.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
OLD=$CELLGATE
NEW=${CELLGATE_LAYOUT_PROBE:-$(dirname "$CELLGATE")/layout-probe/cellgate}
[ -x "$NEW" ] || skip "$NEW is not built (make build/layout-probe/cellgate)"

e2e_begin u
CELL=home
N=0
API_PORT=$((20000 + RANDOM % 10000))
CAL=172.20.$N.21
FILES=172.20.$N.22
R=$(ns_of $CELL r)
D="$WORK/$CELL"
BPF="$D/bpf"
LINES=120 # the stream: one line every 100 ms, 12 s

# stream K: the router reads alice's slow stream in the background (a
# flow the cell opened toward a peer: without its conntrack entry alice's
# packets would be a new flow to no service, refused); its output in
# stream.K, socat's exit status in stream.K.rc.
stream() {
	(ip netns exec "$R" timeout 60 socat -T 20 - \
		"TCP:10.0.$N.2:7000,connect-timeout=5" </dev/null >"$WORK/stream.$1" 2>"$WORK/stream.$1.err"
	echo $? >"$WORK/stream.$1.rc") &
	echo $! >"$WORK/stream.$1.pid"
}
stream_done() { [ -s "$WORK/stream.$1.rc" ]; }
stream_whole() {
	[ "$(cat "$WORK/stream.$1.rc")" = 0 ] &&
		[ "$(wc -l <"$WORK/stream.$1")" = $LINES ] &&
		[ "$(tail -n 1 "$WORK/stream.$1")" = $LINES ]
}
# switch_to BINARY: stop the controller (programs and maps stay), start
# BINARY on the same pins.
switch_to() {
	stop_controller $CELL
	CELLGATE=$1 start_controller $CELL
}
pin_ids() {
	local m
	for m in "$BPF"/cg_*; do
		printf '%s=%s ' "$(basename "$m")" "$(bpftool map show pinned "$m" -j | jq .id)"
	done
}
filter_ids() {
	ip netns exec "$R" tc filter show dev "$(if_of $N wg)" ingress | grep -o 'id [0-9]*' | xargs
}

# ---- set up -------------------------------------------------------------
log "e2e: building cell '$CELL' in namespaces $PREFIX-* (work dir $WORK)"
cell_topology $CELL $N
cell_service $CELL $N cal 21
cell_service $CELL $N files 22
tcp_server "$(ns_of $CELL cal)" 80 calendar
tcp_server "$(ns_of $CELL files)" 80 files
write_cell_config $CELL $N $API_PORT
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller (this layout) starts"
api_ok $CELL PUT /api/services/calendar \
	"{\"endpoints\":[{\"ip\":\"$CAL\",\"proto\":\"tcp\",\"port\":80}]}" >/dev/null &&
	api_ok $CELL PUT /api/services/files \
		"{\"endpoints\":[{\"ip\":\"$FILES\",\"proto\":\"tcp\",\"port\":80}]}" >/dev/null &&
	add_peer $CELL $N alice 2 ',"service_access":["calendar"]'
check "a service and a peer" test $? -eq 0
check "alice completes a WireGuard handshake" wait_handshake $CELL alice
bg_in "$(ns_of $CELL alice)" socat TCP-LISTEN:7000,fork,reuseaddr \
	SYSTEM:"for i in \$(seq 1 $LINES); do echo \$i; sleep 0.1; done" \
	</dev/null >>"$WORK/servers.log" 2>&1
check "no probe member in this layout" \
	sh -c "! bpftool btf dump id \$(bpftool map show pinned $BPF/cg_ct_tcp -j | jq .btf_id) | grep -q layout_probe"

# ---- an upgrade to another layout during a transfer -------------------------------
stream 1
sleep 3
check "the stream runs before the upgrade" test "$(wc -l <"$WORK/stream.1")" -gt 5
: >"$D/cellgate.log"
switch_to "$NEW"
check "the controller of the other layout starts on the old pins" test $? -eq 0
check "... and says it carried cg_ct_tcp's entries over" \
	grep -q "map cg_ct_tcp: its layout changed; carrying its entries over" "$D/cellgate.log"
carried=$(sed -n 's/.*map cg_ct_tcp: \([0-9]*\) entries carried over.*/\1/p' "$D/cellgate.log" | head -n 1)
check "... at least the stream's flow (${carried:-0} entries)" test "${carried:-0}" -ge 1
check "the pinned cg_ct_tcp has the new layout" \
	sh -c "bpftool btf dump id \$(bpftool map show pinned $BPF/cg_ct_tcp -j | jq .btf_id) | grep -q layout_probe"
check "the transfer goes on to its end" wait_for 30 stream_done 1
check "... whole: $LINES lines, no reset ($(wc -l <"$WORK/stream.1") lines, exit $(cat "$WORK/stream.1.rc" 2>/dev/null))" \
	stream_whole 1
check "after the upgrade: alice -> calendar allowed" \
	sh -c "ip netns exec $(ns_of $CELL alice) timeout 5 socat -T2 - TCP:$CAL:80 </dev/null 2>/dev/null | grep -q calendar"
before=$(drops alice service_denied)
check "after the upgrade: alice -> files denied" blocked alice $FILES 80
check "... her service_denied drops rose ($before -> $(drops alice service_denied))" \
	test "$(drops alice service_denied)" -gt "${before:-0}"

# ---- and back (a downgrade) ----------------------------------------------------------
stream 2
sleep 3
: >"$D/cellgate.log"
switch_to "$OLD"
check "the controller of this layout starts on the other layout's pins" test $? -eq 0
check "... carrying cg_ct_tcp's entries back" \
	grep -q "map cg_ct_tcp: [1-9][0-9]* entries carried over" "$D/cellgate.log"
check "the transfer goes on to its end" wait_for 30 stream_done 2
grep "carried\|carrying\|recreat" "$D/cellgate.log" | sed 's/^/# /' >&2
check "... whole: $LINES lines, no reset ($(wc -l <"$WORK/stream.2") lines, exit $(cat "$WORK/stream.2.rc" 2>/dev/null))" stream_whole 2
: >"$D/cellgate.log"
stop_controller $CELL
start_controller $CELL
check "a restart on the same layout carries nothing (the pins adopted)" \
	sh -c "! grep -q 'carrying its entries over' '$D/cellgate.log'"

# ---- the control: without its conntrack entry the stream stops ---------------------
# What the carry-over saved: alice's packets of the stream are replies
# only by their entry (else a new flow from a peer to no service).
# The router's own ACKs are held back meanwhile: any packet of ours would
# pick the flow up again from this side (as Linux conntrack picks up a
# flow in mid-stream), and alice's next segment would pass as its reply.
hold_acks() {
	ip netns exec "$R" iptables -w 5 "$1" OUTPUT -p tcp -d 10.0.$N.2 --dport 7000 -j DROP
}
stream 3
sleep 2
denied_before=$(drops alice not_a_service)
hold_acks -I
sleep 0.3
bpftool map dump pinned "$BPF/cg_ct_tcp" -j | jq -r '.[].key | join(" ")' |
	while read -r k; do
		# shellcheck disable=SC2086 # the key's bytes, one argument each
		bpftool map delete pinned "$BPF/cg_ct_tcp" key $k
	done
n1=$(wc -l <"$WORK/stream.3")
sleep 3
n2=$(wc -l <"$WORK/stream.3")
check "control: with cg_ct_tcp emptied the stream stops ($n1 -> $n2 lines in 3 s)" test "$n2" -le $((n1 + 1))
check "... alice's packets dropped as not_a_service ($denied_before -> $(drops alice not_a_service))" \
	test "$(drops alice not_a_service)" -gt "${denied_before:-0}"
hold_acks -D
kill "$(cat "$WORK/stream.3.pid")" 2>/dev/null

# ---- what cannot be converted is refused, nothing changed --------------------------
stop_controller $CELL
# A cg_nat of another value size and no type information: its flows
# could not be carried.
rm "$BPF/cg_nat"
bpftool map create "$BPF/cg_nat" type lru_hash key 16 value 8 entries 64 name cg_nat
ids_before=$(pin_ids)
filters_before=$(filter_ids)
: >"$D/cellgate.log"
start_controller $CELL 2>/dev/null
check "a cg_nat that cannot be converted: the controller refuses to start" test $? -ne 0
check "... saying which map and why" \
	grep -q "map cg_nat: its new layout cannot be converted" "$D/cellgate.log"
check "... every pin as it was ($(echo "$ids_before" | wc -w) maps)" test "$(pin_ids)" = "$ids_before"
check "... the running programs as they were ($filters_before)" test "$(filter_ids)" = "$filters_before"
check "... and they still filter: alice -> calendar allowed" \
	sh -c "ip netns exec $(ns_of $CELL alice) timeout 5 socat -T2 - TCP:$CAL:80 </dev/null 2>/dev/null | grep -q calendar"
stop_controller $CELL
rm "$BPF/cg_nat"
start_controller $CELL
check "without that pin the controller starts (cg_nat created anew)" test $? -eq 0

e2e_end
