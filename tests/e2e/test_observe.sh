#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Observability on real WireGuard (wireguard-go) in namespaces: /metrics
# passes promtool and is scraped by a real Prometheus server, whose query
# API then returns alice's byte counter with the size of what she sent;
# `cellgate monitor` shows a denied connection with its reason, new flows
# with --trace, and reports what its rate limit refused under a flood;
# `cellgate maps` decodes the pinned maps, also with the controller
# stopped; bpftool prints them with named fields.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

command -v prometheus >/dev/null && command -v promtool >/dev/null ||
	skip "prometheus is not installed (scripts/deps.sh installs it)"
e2e_begin o
CELL=home
N=0
API_PORT=$((20000 + RANDOM % 10000))
METRICS_PORT=$((API_PORT + 1))
PROM_PORT=$((API_PORT + 2))
R=$(ns_of $CELL r)
CAL=172.20.$N.21
FILES=172.20.$N.22
SENT=1000000 # bytes alice uploads: what her rx counter must show

# in_r CMD...: run in the router namespace (where the listeners are).
in_r() { ip netns exec "$R" "$@"; }
cg() { in_r "$CELLGATE" --config "$WORK/$CELL/cellgate.json" "$@"; }
scrape() { in_r curl -sS -m 5 "$@"; }

# ---- set up -------------------------------------------------------------
log "e2e: building cell '$CELL' in namespaces $PREFIX-* (work dir $WORK)"
cell_topology $CELL $N
cell_service $CELL $N cal 21
cell_service $CELL $N files 22
tcp_server "$(ns_of $CELL cal)" 80 calendar
# A sink for alice's upload: reads everything, answers when done.
bg_in "$(ns_of $CELL files)" socat -u TCP-LISTEN:9000,fork,reuseaddr OPEN:/dev/null \
	</dev/null >>"$WORK/servers.log" 2>&1
write_cell_config $CELL $N $API_PORT
# A dedicated metrics listener, without a token (Prometheus' default).
enable_metrics $CELL $METRICS_PORT
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts with a metrics listener"

api_ok $CELL PUT /api/services/calendar \
	"{\"endpoints\":[{\"ip\":\"$CAL\",\"proto\":\"tcp\",\"port\":80}]}" >/dev/null &&
api_ok $CELL PUT /api/services/files \
	"{\"endpoints\":[{\"ip\":\"$FILES\",\"proto\":\"tcp\"}]}" >/dev/null &&
add_peer $CELL $N alice 2 ',"service_access":["files"]'
check "a service and peer alice defined" test $? -eq 0
check "alice completes a WireGuard handshake" wait_handshake $CELL alice

# ---- /metrics: who may read it, and its format -----------------------------
check "admin API /metrics without a token: 401" \
	test "$(scrape -o /dev/null -w '%{http_code}' "http://127.0.0.1:$API_PORT/metrics")" = 401
TOKEN=$(cat "$WORK/$CELL/api.token")
check "admin API /metrics with the token: 200" \
	test "$(scrape -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
		"http://127.0.0.1:$API_PORT/metrics")" = 200
check "metrics listener /metrics without a token: 200, text format 0.0.4" \
	like 'text/plain; version=0.0.4' \
	"$(scrape -o /dev/null -w '%{content_type}' "http://127.0.0.1:$METRICS_PORT/metrics")"
check "metrics listener serves nothing of the admin API (404)" \
	test "$(scrape -o /dev/null -w '%{http_code}' "http://127.0.0.1:$METRICS_PORT/api/peers")" = 404
scrape "http://127.0.0.1:$METRICS_PORT/metrics" >"$WORK/metrics.txt"
check "promtool check metrics passes on the real output" \
	sh -c "promtool check metrics <'$WORK/metrics.txt' >'$WORK/promtool.out' 2>&1"
check "HELP and TYPE for every family" \
	test "$(grep -c '^# HELP' "$WORK/metrics.txt")" = "$(grep -c '^# TYPE' "$WORK/metrics.txt")"
# Every drop reason from the start: alice has dropped nothing yet, and
# each of the 21 reasons is there at 0 (rate() needs the 0 before the 1).
check "alice has all 21 drop reasons at 0 before her first drop" \
	test "$(grep -c '^cellgate_peer_drops_total{peer="alice",reason="[a-z0-9_]*"} 0$' "$WORK/metrics.txt")" = 21
check "handshake time named _timestamp_seconds, alice's set" \
	grep -Eq '^cellgate_peer_last_handshake_timestamp_seconds\{peer="alice"\} [1-9][0-9]{9}$' "$WORK/metrics.txt"
check "no _last_handshake_seconds family any more" \
	test "$(grep -c 'last_handshake_seconds' "$WORK/metrics.txt")" = 0
check "four programs attached" \
	test "$(grep -c '^cellgate_program_attached{.*} 1$' "$WORK/metrics.txt")" = 4

# ---- a real Prometheus server scrapes both listeners ---------------------------
mkdir -p "$WORK/prom"
printf '%s' "$TOKEN" >"$WORK/prom/token"
cat >"$WORK/prom/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: cellgate
    static_configs:
      - targets: ['127.0.0.1:$METRICS_PORT']
  - job_name: cellgate-admin
    authorization:
      credentials_file: $WORK/prom/token
    static_configs:
      - targets: ['127.0.0.1:$API_PORT']
EOF
bg_in "$R" prometheus --config.file="$WORK/prom/prometheus.yml" \
	--storage.tsdb.path="$WORK/prom/data" \
	--web.listen-address="127.0.0.1:$PROM_PORT" </dev/null >"$WORK/prom/log" 2>&1
check "prometheus starts" wait_for 30 scrape -f "http://127.0.0.1:$PROM_PORT/-/ready"

# query PROMQL: the first value of an instant query ("" if none).
query() {
	scrape -G "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
		sed -n 's/.*"value":\[[0-9.]*,"\([^"]*\)"\].*/\1/p'
}

head -c "$SENT" /dev/zero |
	ip netns exec "$(ns_of $CELL alice)" timeout 20 socat -u - "TCP:$FILES:9000,connect-timeout=3"
check "alice uploads $SENT bytes to files" test $? -eq 0
# At least what she sent, at most that plus headers and ACKs (< 10%).
rx_ok() {
	local v
	v=$(query 'cellgate_peer_rx_bytes_total{peer="alice",job="cellgate"}')
	[ -n "$v" ] && [ "${v%.*}" -ge "$SENT" ] && [ "${v%.*}" -lt $((SENT + SENT / 10)) ]
}
check "Prometheus returns alice's rx bytes, $SENT <= x < 1.1 x $SENT" wait_for 20 rx_ok
log "# cellgate_peer_rx_bytes_total{peer=\"alice\"} = $(query 'cellgate_peer_rx_bytes_total{peer="alice",job="cellgate"}')"
admin_up() { [ "$(query 'up{job="cellgate-admin"}')" = 1 ]; }
check "the admin job scrapes with the bearer token (up == 1)" wait_for 10 admin_up
check "both jobs see the same counter" \
	test -n "$(query 'cellgate_peer_rx_bytes_total{peer="alice",job="cellgate-admin"}')"

# ---- the monitor -----------------------------------------------------------------
cg monitor --json --peer alice --reason service_denied --duration 15 \
	>"$WORK/monitor.json" 2>"$WORK/monitor.err" &
MON=$!
wait_for 5 grep -q monitoring "$WORK/monitor.err"
tcp_get "$(ns_of $CELL alice)" $CAL 80 >/dev/null # denied: calendar
wait_for 10 grep -q service_denied "$WORK/monitor.json"
kill -INT "$MON" 2>/dev/null
wait "$MON"
check "monitor exits 0 on SIGINT" test $? -eq 0
line=$(head -1 "$WORK/monitor.json")
log "# monitor: $line"
check "monitor: alice's denied connection, with its reason and 5-tuple" \
	like "\"hook\":\"wg_ingress\".*\"identity\":\"alice\",\"proto\":\"tcp\",\"source\":\"10.0.$N.2:[0-9]+\",\"destination\":\"$CAL:80\",\"event\":\"drop\",\"reason\":\"service_denied\"" "$line"
check "monitor: every event shown matches the filters" \
	test "$(grep -vc '"identity":"alice".*"reason":"service_denied"' "$WORK/monitor.json")" = 0
check "monitor reports what the programs emitted and lost" \
	like 'emitted [1-9][0-9]*, rate-limited 0, lost 0' "$(tail -1 "$WORK/monitor.err")"
check "the monitor's lease ends with it" \
	like '"drops_lease_s":0,' "$(cg maps monitor --json | tr -d ' \n')"

cg monitor --trace --count 1 --duration 10 >"$WORK/trace.txt" 2>&1 &
MON=$!
wait_for 5 grep -q monitoring "$WORK/trace.txt"
tcp_get "$(ns_of $CELL alice)" $FILES 9000 >/dev/null
wait "$MON"
check "monitor --trace: alice's allowed flow shows as new_flow" \
	like "alice +tcp +10\.0\.$N\.2:[0-9]+ > $FILES:9000 +new_flow" "$(cat "$WORK/trace.txt")"

# A flood of denied packets: the monitor gets what its rate allows, the
# rest is counted as rate-limited, and nothing is lost.
cg monitor --rate 20 --duration 4 >"$WORK/flood.txt" 2>"$WORK/flood.err" &
MON=$!
wait_for 5 grep -q monitoring "$WORK/flood.err"
ip netns exec "$(ns_of $CELL alice)" ping -q -c 2000 -i 0.001 -W 1 "$CAL" >/dev/null 2>&1
wait "$MON"
shown=$(grep -c ' drop ' "$WORK/flood.txt")
log "# flood: $shown shown; $(tail -1 "$WORK/flood.err")"
check "flood: the monitor shows events, no more than its rate allows" \
	test "$shown" -ge 1 -a "$shown" -le $((20 * 5 * $(nproc) + 4 * $(nproc)))
check "flood: refused events counted as rate-limited" \
	like 'rate-limited [1-9][0-9]*, lost 0' "$(tail -1 "$WORK/flood.err")"

# ---- maps, with bpftool and cellgate maps ------------------------------------------
check "bpftool: cg_peers has named fields (BTF)" \
	like '"epoch": [0-9]+' "$(in_r bpftool map dump pinned "$WORK/$CELL/bpf/cg_peers")"
# 21 maps, the 5 IPv6 ones of issue 17 (cg_peers6 ... cg_settings6),
# cg_rules (issue 18), the bridge's 3 (cg_bridge_src, _bind, _nets) and
# cg_budget (issue 21), cg_ct6_tcp and cg_ct6_other (issue 17), cg_rate
# (issue 18).
check "cellgate maps lists every pinned map with its size" \
	test "$(cg maps | grep -c '^cg_')" = 36
check "cellgate maps peers: alice by address and name, her services" \
	like "10\.0\.$N\.2 +alice +[0-9]+ +[0-9]+ +files " "$(cg maps peers)"
check "cellgate maps counters: alice's drops by reason" \
	like "alice .*service_denied=[0-9]+" "$(cg maps counters)"
svc=$(cg maps service_counters --json)
check "cellgate maps service_counters: files allowed, calendar denied" \
	like '"service":"calendar","id":[0-9]+,"allowed":0,"denied":[1-9]' "$(echo "$svc" | tr -d ' \n')"
cg maps nosuch 2>/dev/null
check "cellgate maps nosuch: usage error (exit 2)" test $? = 2

stop_controller $CELL
check "with the controller stopped, cellgate maps still reads the maps" \
	like "10\.0\.$N\.2 +alice" "$(cg maps peers)"
check "with the controller stopped, alice still has her counters" \
	like '"identity":"alice"' "$(cg maps counters --json | tr -d ' \n')"

e2e_end
