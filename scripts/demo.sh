#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A two-cell demo in network namespaces: `scripts/demo.sh up` builds cells
# "home" and "office", each with its router (cellgate + wireguard-go), a
# bridge of services and WireGuard peers, and prints what to try.
# `scripts/demo.sh down` removes everything it created.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$root/tests/e2e/lib.sh"

PREFIX=cgdemo
SHORT=cgd
WORK=/run/cellgate-demo
API_PORT=8470
METRICS_PORT=9470

services() { # services CELL N
	local cell=$1 n=$2
	cell_service "$cell" "$n" cal 21
	cell_service "$cell" "$n" files 22
	cell_service "$cell" "$n" web 30
	http_server "$(ns_of "$cell" cal)" 80 "calendar of $cell"
	http_server "$(ns_of "$cell" files)" 80 "files of $cell"
	http_server "$(ns_of "$cell" web)" 80 "web of $cell"
	http_server "$(ns_of "$cell" inet)" 80 "the internet"
	api_ok "$cell" PUT /api/services/calendar \
		"{\"endpoints\":[{\"ip\":\"172.20.$n.21\",\"proto\":\"tcp\",\"port\":80}],
		  \"dnat\":[{\"proto\":\"tcp\",\"port\":8081,\"to_ip\":\"172.20.$n.21\",\"to_port\":80}]}" >/dev/null &&
		api_ok "$cell" PUT /api/services/files \
			"{\"endpoints\":[{\"ip\":\"172.20.$n.22\",\"proto\":\"any\"}]}" >/dev/null &&
		api_ok "$cell" PUT /api/services/web \
			"{\"endpoints\":[{\"ip\":\"172.20.$n.30\",\"proto\":\"tcp\",\"port\":80}],
			  \"dnat\":[{\"proto\":\"tcp\",\"port\":80,\"to_ip\":\"172.20.$n.30\",\"to_port\":80}]}" >/dev/null &&
		api_ok "$cell" POST /api/forwards \
			"{\"id\":\"web\",\"proto\":\"tcp\",\"public_port\":8080,\"target_ip\":\"172.20.$n.30\",\"target_port\":80}" >/dev/null
}

cell_build() { # cell_build CELL N: namespaces and config
	log "demo: cell '$1' (10.0.$2.0/24, services on 172.20.$2.0/24)"
	cell_topology "$1" "$2"
	write_cell_config "$1" "$2" $API_PORT
	enable_metrics "$1" $METRICS_PORT
}

cell_up() { # cell_up CELL N PEER1 ACCESS1 PEER2 ACCESS2
	local cell=$1 n=$2
	start_controller "$cell" || die "cellgate did not start; see $WORK/$cell/cellgate.log"
	services "$cell" "$n" || die "could not define services"
	add_peer "$cell" "$n" "$3" 2 "$4" || die "could not add peer $3"
	add_peer "$cell" "$n" "$5" 3 "$6" || die "could not add peer $5"
}

# Link office to home with home's invite, in one call; home shares web.
cells_link() {
	local invite
	invite=$(api_ok home POST /api/cells/invite) || die "no invite from home"
	api_ok office POST /api/cells "$invite" >/dev/null || die "could not link the cells"
	api_ok home PUT /api/cells/office/permissions '{"inbound":{"web":true}}' >/dev/null ||
		die "could not share web"
	log "demo: cells linked; home shares web with office"
}

up() {
	if [ -e "$WORK/pids" ]; then
		echo "The demo is already up (make demo-down removes it)."
		exit 1
	fi
	require_tools
	mkdir -p "$WORK"
	trap 'echo "demo: setup failed, removing it"; teardown; rm -rf "$WORK"' ERR
	cell_build home 0
	cell_build office 1
	link_wan home 0 office 1
	cell_up home 0 alice ',"service_access":["calendar","files"]' \
		bob ',"service_access":["web"],"internet_access":true'
	cell_up office 1 carol ',"service_access":["calendar"],"peer_to_peer":true' \
		dave ',"service_access":["files","web"],"peer_to_peer":true'
	local p
	for p in home:alice home:bob office:carol office:dave; do
		wait_handshake "${p%%:*}" "${p#*:}" || log "demo: ${p#*:} has no handshake yet"
	done
	cells_link
	trap - ERR
	usage_text
}

usage_text() {
	cat <<EOF

cellgate demo is up: two cells, "home" and "office", in network namespaces.

  cell    router namespace   WireGuard    peers (namespace $PREFIX-<cell>-<peer>)
  home    $PREFIX-home-r      10.0.0.1/24  alice 10.0.0.2 (calendar, files)
                                          bob   10.0.0.3 (web, internet)
  office  $PREFIX-office-r    10.0.1.1/24  carol 10.0.1.2 (calendar, peer-to-peer)
                                          dave  10.0.1.3 (files, web, peer-to-peer)
  services: calendar 172.20.N.21:80, files 172.20.N.22 (all ports),
            web 172.20.N.30:80 (also 10.0.N.1:80, and 203.0.113.1:8080 from the internet),
            calendar also on 10.0.N.1:8081

Try (as root):
  # allowed: alice may use calendar
  ip netns exec $PREFIX-home-alice curl -m 3 http://172.20.0.21/
  # denied: alice may not use web (times out), and the drop is counted
  ip netns exec $PREFIX-home-alice curl -m 3 http://172.20.0.30/
  # peer to peer: carol and dave both opted in
  ip netns exec $PREFIX-office-carol ping -c1 -W2 10.0.1.3

Translation:
  # bob has internet_access: masqueraded behind the uplink address 203.0.113.1
  ip netns exec $PREFIX-home-bob curl -m 3 http://203.0.113.2/
  # web is exposed on the cell's WireGuard address too (service DNAT)
  ip netns exec $PREFIX-home-bob curl -m 3 http://10.0.0.1/
  # and on the uplink, port 8080, for the internet (a port forward)
  ip netns exec $PREFIX-home-inet curl -m 3 http://203.0.113.1:8080/

The cells are linked (over a "wan" link, 198.18.0.0/30); home shares web:
  ip netns exec $PREFIX-office-carol curl -m 3 http://10.0.0.1/    # home's web, from office
  ip netns exec $PREFIX-office-carol curl -m 3 http://10.0.0.1:8081/   # home's calendar: not shared
  ip netns exec $PREFIX-home-r $root/build/cellgate --config $WORK/home/cellgate.json cell list

The API of a cell listens on 127.0.0.1:$API_PORT inside its router namespace:
  T=\$(cat $WORK/home/api.token)
  ip netns exec $PREFIX-home-r curl -s -H "Authorization: Bearer \$T" http://127.0.0.1:$API_PORT/api/peers/alice
  ip netns exec $PREFIX-home-r curl -s -H "Authorization: Bearer \$T" -X PUT \\
      -H "Content-Type: application/json" -d '{"service_access":["calendar","files","web"]}' http://127.0.0.1:$API_PORT/api/peers/alice
  ip netns exec $PREFIX-home-r curl -s -H "Authorization: Bearer \$T" http://127.0.0.1:$API_PORT/api/status

Prometheus metrics (no token on this listener; also on the API with one):
  ip netns exec $PREFIX-home-r curl -s http://127.0.0.1:$METRICS_PORT/metrics | grep 'peer="alice"'

The pinned maps, decoded, and live drops (the controller may be stopped):
  ip netns exec $PREFIX-home-r $root/build/cellgate --config $WORK/home/cellgate.json maps peers
  ip netns exec $PREFIX-home-r $root/build/cellgate --config $WORK/home/cellgate.json monitor
and raw, with bpftool:
  bpftool map dump pinned $WORK/home/bpf/cg_peers
  bpftool map dump pinned $WORK/home/bpf/cg_ct_tcp

Logs: $WORK/<cell>/cellgate.log.   Tear down: make demo-down
EOF
}

down() {
	if [ ! -d "$WORK" ]; then
		echo "The demo is not up."
		return 0
	fi
	teardown
	rm -rf "$WORK"
	echo "demo removed"
}

case "${1:-}" in
up) up ;;
down) down ;;
*) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
