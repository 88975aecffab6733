#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The command-line client against a controller in a namespace: every
# command (peers, services, port forwards, status, token, and what the
# cell commands do with a single cell) in human and --json form, the exit
# code of every error class
# (usage 2 before any request, refused 1, unreachable/timeout/malformed 3,
# not found 4, unauthorized 5), client configs and QR codes, a tunnel
# built from a config the cell rendered, and token rotation.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

e2e_begin c
CELL=home
N=0
API_PORT=$((20000 + RANDOM % 10000))
FAKE_PORT=$((API_PORT + 1)) # a server that is not cellgate
DEAD_PORT=$((API_PORT + 2)) # nothing listens there

command -v jq >/dev/null || skip "jq is not installed (apt-get install jq)"

R=$(ns_of $CELL r)
D=$WORK/$CELL
CFG=$D/cellgate.json

# cli [--config FILE] ARGS...: run the CLI in the router namespace (the API
# listens on 127.0.0.1 there). Sets OUT (stdout), ERR (stderr) and RC.
cli() {
	local cfg=$CFG
	if [ "$1" = --config ]; then cfg=$2; shift 2; fi
	OUT=$(ip netns exec "$R" "$CELLGATE" --config "$cfg" "$@" 2>"$WORK/stderr")
	RC=$?
	ERR=$(cat "$WORK/stderr")
}

# expect RC DESCRIPTION CLI-ARGS...: the CLI exits with RC; on a mismatch
# show what it said.
expect() {
	local want=$1 what=$2; shift 2
	cli "$@"
	if [ "$RC" = "$want" ]; then
		ok "$what (exit $want)"
	else
		not_ok "$what (exit $RC, want $want)"
		printf '#   stdout: %s\n#   stderr: %s\n' "$OUT" "$ERR"
	fi
}

has() { printf '%s\n' "$1" | grep -Eq -- "$2"; }  # has TEXT ERE
hasnt() { ! has "$@"; }
re() { printf '%s' "$1" | sed 's/[+.]/\\&/g'; } # a key or address as an ERE
# lines TEXT ERE...: each ERE matches a line of TEXT.
lines() {
	local text=$1 e
	shift
	for e in "$@"; do
		has "$text" "$e" || { echo "#   no line matches /$e/"; return 1; }
	done
}
# jqt JSON FILTER: the filter, evaluated to true or false, must be true.
jqt() { [ "$(printf '%s' "$1" | jq -e "$2" 2>/dev/null)" = true ]; }
# row TEXT NAME: the table row whose first column is NAME, blanks squeezed.
row() { printf '%s\n' "$1" | awk -v n="$2" '$1 == n { $1 = $1; print }'; }

CAL=172.20.$N.21
FILES=172.20.$N.22

# ---- set up -------------------------------------------------------------
log "e2e: building cell '$CELL' in namespaces $PREFIX-* (work dir $WORK)"
cell_topology $CELL $N
cell_service $CELL $N cal 21
cell_service $CELL $N files 22
tcp_server "$(ns_of $CELL cal)" 80 calendar
tcp_server "$(ns_of $CELL files)" 80 files
write_cell_config $CELL $N $API_PORT
# Configs that differ from the real one in one respect each.
sed "s/127.0.0.1:$API_PORT/127.0.0.1:$DEAD_PORT/" "$CFG" >"$D/dead.json"
sed "s/127.0.0.1:$API_PORT/127.0.0.1:$FAKE_PORT/" "$CFG" >"$D/fake.json"
sed "s|$D/api.token|$D/wrong.token|" "$CFG" >"$D/wrong.json"
sed "s|$D/api.token|$D/missing.token|" "$CFG" >"$D/missing.json"
(umask 077 && echo 0123456789abcdef0123456789abcdef >"$D/wrong.token")

# ---- the controller ---------------------------------------------------------
start_controller $CELL || { not_ok "controller starts"; exit 1; }
ok "controller starts"

# ---- help, version, usage errors ------------------------------------------------
cli --help
check "--help lists every command" lines "$OUT" "^  status$" "^  peer list$" \
	"^  peer show NAME$" "^  peer add NAME \[--ip IP\]" "^  peer set NAME \[--ip IP\]" \
	"^  peer del NAME$" "^  peer config NAME \[--qr FILE.png\]$" "^  service list$" \
	"^  service show NAME$" "^  service set NAME \[--endpoint" "^  service del NAME$" \
	"^  token rotate$" "^  run \[--config FILE\]$" "^  detach \[--config FILE\]$" \
	"^  version \[--json\]$" "^  forward list$" \
	"^  forward show ID$" "^  forward del ID$" \
	"^  forward add ID --proto tcp\|udp --public-port N --target IP:PORT$" \
	"^ +\[--allow-from CIDR\]\.\.\. \[--snat auto\|always\|never\]$" \
	"^  cell invite \[--out FILE\]$" "^  cell invite list$" "^  cell invite del ID$" \
	"^  cell list$" "^  cell show NAME$" \
	"^  cell add FILE\|-$" "^  cell del NAME$" \
	"^  cell share NAME \[--service SVC\]\.\.\. \[--none\]$" "^  cell permissions NAME$"
check "--help documents the exit codes" lines "$OUT" "^  0  success" "^  1  .*refused" \
	"^  2  usage" "^  3  .*unreachable" "^  4  not found" "^  5  unauthorized"
check "--help lists --version" lines "$OUT" "^  --version, -V "
expect 0 "version still works" version
check "version prints the version" has "$OUT" '^cellgate [0-9]+\.[0-9]+\.[0-9]+$'
VERSION_OUT=$OUT
expect 0 "--version" --version
check "--version prints what version does" test "$OUT" = "$VERSION_OUT"
expect 0 "peer add --help" peer add --help
check "peer add --help shows its synopsis" has "$OUT" '^Usage: cellgate peer add NAME \[--ip IP\]'

# Usage errors are found locally: with a config whose API port has no
# listener (and a valid token), any request would exit 3.
usage() { # usage WHAT STDERR-ERE ARGS...
	local what=$1 msg=$2; shift 2
	expect 2 "usage error, nothing sent: $what" --config "$D/dead.json" "$@"
	has "$ERR" "$msg" || { not_ok "message for '$what' matches /$msg/"; echo "#   stderr: $ERR"; }
}
usage "unknown option" "^cellgate: peer list: unknown option '--bogus'" peer list --bogus
usage "unknown command" "^cellgate: unknown command 'peer frob'" peer frob
usage "missing subcommand" "^cellgate: 'service' needs a subcommand" service
usage "missing NAME" "^cellgate: peer show: missing NAME" peer show
usage "extra argument" "unexpected argument 'b'" peer del a b
usage "bad name" "'a/b' is not a valid name" peer show a/b
usage "bad IP" "'10.0.0.300' is not an IPv4 address" peer add x --ip 10.0.0.300
usage "bad key" "is not a WireGuard public key" peer add x --public-key abc=
usage "bad on|off" "--internet takes on or off, not 'yes'" peer set x --internet yes
usage "flag with a value" "option '--internet' takes no value" peer add x --internet=on
usage "option without its value" "option '--ip' needs a value" peer add x --ip
usage "bad service list" "not a comma-separated list" peer set x --services a,,b
usage "services and no-services" "contradict" peer set x --services a --no-services
usage "nothing to change" "nothing to change" peer set x
usage "endpoint without proto" "is not IP/PROTO\[:PORT\]" service set s --endpoint 172.20.0.21:80
usage "endpoint bad proto" "is not IP/PROTO" service set s --endpoint 172.20.0.21/sctp:80
usage "endpoint bad port" "is not IP/PROTO" service set s --endpoint 172.20.0.21/tcp:65536
usage "endpoint port with any" "no port with any" service set s --endpoint 172.20.0.22/any:80
usage "dnat short" "is not PROTO:PORT:TO_IP:TO_PORT" service set s --dnat tcp:8080:172.20.0.21
usage "dnat icmp" "is not PROTO:PORT:TO_IP:TO_PORT" service set s --dnat icmp:1:172.20.0.21:1
usage "forward without --proto" "^cellgate: forward add: missing --proto$" \
	forward add f --public-port 80 --target 10.0.0.2:80
usage "forward without --public-port" "missing --public-port" forward add f --proto tcp --target 10.0.0.2:80
usage "forward without --target" "missing --target" forward add f --proto tcp --public-port 80
usage "forward without ID" "^cellgate: forward add: missing ID$" forward add --proto tcp
usage "forward proto icmp" "--proto takes tcp or udp, not 'icmp'" \
	forward add f --proto icmp --public-port 80 --target 10.0.0.2:80
usage "forward port 0" "'0' is not a port \(1-65535\)" \
	forward add f --proto tcp --public-port 0 --target 10.0.0.2:80
usage "forward port 65536" "'65536' is not a port" \
	forward add f --proto tcp --public-port 65536 --target 10.0.0.2:80
usage "forward port +80" "'\+80' is not a port" \
	forward add f --proto tcp --public-port +80 --target 10.0.0.2:80
usage "forward target without port" "target '10.0.0.2' is not IP:PORT" \
	forward add f --proto tcp --public-port 80 --target 10.0.0.2
usage "forward target bad IP" "target '10.0.0.300:80' is not IP:PORT" \
	forward add f --proto tcp --public-port 80 --target 10.0.0.300:80
usage "forward target port 0" "target '10.0.0.2:0' is not IP:PORT" \
	forward add f --proto tcp --public-port 80 --target 10.0.0.2:0
usage "forward allow-from with host bits" "'10.0.0.1/8' is not a network" \
	forward add f --proto tcp --public-port 80 --target 10.0.0.2:80 --allow-from 10.0.0.1/8
usage "forward allow-from without prefix" "'198.51.100.7' is not a network" \
	forward add f --proto tcp --public-port 80 --target 10.0.0.2:80 --allow-from 198.51.100.7
usage "forward snat" "--snat takes auto, always or never, not 'yes'" \
	forward add f --proto tcp --public-port 80 --target 10.0.0.2:80 --snat yes
usage "forward bad id" "'a/b' is not a valid name" \
	forward add a/b --proto tcp --public-port 80 --target 10.0.0.2:80
usage "forward show bad id" "'a b' is not a valid name" forward show "a b"
usage "forward del without ID" "^cellgate: forward del: missing ID$" forward del
usage "forward list with an argument" "unexpected argument 'x'" forward list x
usage "qr into a missing directory" "cannot write $WORK/nodir/x.png" \
	peer config x --qr "$WORK/nodir/x.png"
printf 'not json\n' >"$D/bad.invite"
printf '[1, 2]\n' >"$D/array.invite"
usage "cell add of a missing file" "^cellgate: cell add: cannot read the invite from $WORK/nosuch.json" \
	cell add "$WORK/nosuch.json"
usage "cell add of a file that is not JSON" "^cellgate: cell add: $D/bad.invite is not an invite" \
	cell add "$D/bad.invite"
usage "cell add of a JSON array" "is not an invite .*expected a JSON object" cell add "$D/array.invite"
expect 2 "usage error, nothing sent: cell add of stdin that is not JSON" \
	--config "$D/dead.json" cell add - <"$D/bad.invite"
check "... names stdin" has "$ERR" "^cellgate: cell add: stdin is not an invite"
usage "cell add without FILE" "^cellgate: cell add: missing FILE\|-$" cell add
usage "cell invite --out into a missing directory" "cannot write $WORK/nodir/i.json" \
	cell invite --out "$WORK/nodir/i.json"
usage "cell share with nothing to share" "nothing to share" cell share office
usage "cell share --service and --none" "contradict" cell share office --service calendar --none
usage "cell share bad service name" "'a/b' is not a valid name" cell share office --service a/b
usage "cell show bad name" "'a b' is not a valid name" cell show "a b"
usage "cell show invite (the invite route)" "no cell is named 'invite'" cell show invite
usage "cell show invites (the invites route)" "no cell is named 'invites'" cell show invites
usage "cell invite del without ID" "^cellgate: cell invite del: missing ID$" cell invite del
usage "cell del without NAME" "^cellgate: cell del: missing NAME$" cell del
usage "cell list with an argument" "unexpected argument 'x'" cell list x
expect 2 "a config that does not exist" --config "$WORK/nosuch.json" status
check "... is named" has "$ERR" "^cellgate: cannot read $WORK/nosuch.json"

# ---- services ---------------------------------------------------------------
expect 0 "service set calendar (tcp port, dnat)" service set calendar \
	--endpoint $CAL/tcp:80 --dnat tcp:8080:$CAL:80
check "service set prints the service" has "$OUT" "^endpoints: +$CAL/tcp:80$"
expect 0 "service set files (every port)" service set files --endpoint $FILES/any
expect 0 "service set dns (udp, icmp)" --json service set dns \
	--endpoint 172.20.$N.53/udp:53 --endpoint 172.20.$N.53/icmp
check "--json service set prints the stored service" \
	jqt "$OUT" '.name == "dns" and .endpoints == [{"ip":"172.20.0.53","proto":"udp","port":53},{"ip":"172.20.0.53","proto":"icmp","port":0}] and .dnat == []'

expect 0 "service list" service list
check "service list header" has "$OUT" '^NAME +ENDPOINTS +DNAT$'
check "service list row of calendar" \
	test "$(row "$OUT" calendar)" = "calendar $CAL/tcp:80 tcp:8080:$CAL:80"
check "service list row of files" test "$(row "$OUT" files)" = "files $FILES/any -"
check "service list row of dns" \
	test "$(row "$OUT" dns)" = "dns 172.20.$N.53/udp:53,172.20.$N.53/icmp -"
expect 0 "--json service list" --json service list
check "--json service list is the API's JSON" \
	test "$(printf '%s' "$OUT" | jq -S .)" = "$(api_ok $CELL GET /api/services | jq -S .)"
check "--json service list has the three services" \
	jqt "$OUT" '[.[].name] | sort == ["calendar","dns","files"]'

expect 0 "service show calendar" service show calendar
check "service show: name, endpoint, dnat" lines "$OUT" "^service: +calendar$" \
	"^endpoints: +$(re $CAL)/tcp:80$" "^dnat: +tcp:8080:$(re $CAL):80$"
expect 0 "--json service show calendar" --json service show calendar
check "--json service show: exact endpoint and dnat" \
	jqt "$OUT" ".endpoints == [{\"ip\":\"$CAL\",\"proto\":\"tcp\",\"port\":80}] and .dnat == [{\"proto\":\"tcp\",\"port\":8080,\"to_ip\":\"$CAL\",\"to_port\":80}]"

# PUT semantics: what the command line gives is the whole service.
expect 0 "service set replaces the whole service" service set dns --endpoint 172.20.$N.53/udp:53
cli --json service show dns
check "... the icmp endpoint is gone" \
	jqt "$OUT" '.endpoints == [{"ip":"172.20.0.53","proto":"udp","port":53}]'
expect 1 "an endpoint of another service is refused (409)" \
	service set other --endpoint $CAL/tcp:80
check "... naming the field" has "$ERR" '^cellgate: .*\(field: endpoints\)$'
expect 1 "a service without endpoints is refused (400)" service set empty
expect 4 "service show of a missing service" service show nosuch
check "... says so" has "$ERR" "^cellgate: .*nosuch"

# ---- peers ------------------------------------------------------------------
ALICE_KEY=$(wg genkey)
ALICE_PUB=$(printf '%s' "$ALICE_KEY" | wg pubkey)
CELL_PUB=$(wg pubkey <"$D/wg.key")

expect 0 "peer add alice (given ip and key)" peer add alice --ip 10.0.$N.2 \
	--public-key "$ALICE_PUB" --service calendar
check "peer add prints the peer" lines "$OUT" "^peer: +alice$" "^ip: +10\.0\.$N\.2$" \
	"^services: +calendar$"
check "peer add says how to get the client config" has "$OUT" "cellgate peer config alice"

expect 0 "peer add bob (key pair and address from the controller)" \
	--json peer add bob --service files --internet
BOB_JSON=$OUT
check "bob got the next free address" jqt "$BOB_JSON" ".ip == \"10.0.$N.3\""
check "bob got a generated public key" \
	jqt "$BOB_JSON" '(.public_key | test("^[A-Za-z0-9+/]{43}=$")) and .public_key != "'"$ALICE_PUB"'"'
check "bob's fields as given" \
	jqt "$BOB_JSON" '.name == "bob" and .service_access == ["files"] and .internet_access == true and .peer_to_peer == false'
BOB_PUB=$(printf '%s' "$BOB_JSON" | jq -r .public_key)

expect 1 "a duplicate name is refused (409)" peer add alice --public-key "$(wg genkey | wg pubkey)"
check "... as 'cellgate: <message> (field: name)'" has "$ERR" '^cellgate: .+ \(field: name\)$'
expect 1 "an unknown service is refused (400)" peer add eve --service nosuch
check "... naming service_access" has "$ERR" '\(field: service_access'
expect 1 "an address in use is refused (409)" peer add eve --ip 10.0.$N.2
check "... naming ip" has "$ERR" '\(field: ip\)$'

expect 0 "peer list" peer list
check "peer list header" has "$OUT" '^NAME +IP +SERVICES +INTERNET +P2P +RX +TX +DROPS$'
check "peer list row of alice" \
	test "$(row "$OUT" alice)" = "alice 10.0.$N.2 calendar no no 0B 0B 0"
check "peer list row of bob" \
	test "$(row "$OUT" bob)" = "bob 10.0.$N.3 files yes no 0B 0B 0"
expect 0 "--json peer list" --json peer list
check "--json peer list is the API's JSON" \
	test "$(printf '%s' "$OUT" | jq -S .)" = "$(api_ok $CELL GET /api/peers | jq -S .)"
check "--json peer list: alice's fields" \
	jqt "$OUT" ".[] | select(.name == \"alice\") | {name, public_key, ip, service_access, internet_access, peer_to_peer} == {\"name\":\"alice\",\"public_key\":\"$ALICE_PUB\",\"ip\":\"10.0.$N.2\",\"service_access\":[\"calendar\"],\"internet_access\":false,\"peer_to_peer\":false}"

expect 0 "peer show alice" peer show alice
check "peer show: every field" lines "$OUT" "^peer: +alice$" "^ip: +10\.0\.$N\.2$" \
	"^public key: +$(re "$ALICE_PUB")$" "^services: +calendar$" "^internet: +no$" \
	"^peer-to-peer: +no$" "^rx: +0 packets, 0B$" "^tx: +0 packets, 0B$" "^drops: +0$"
expect 0 "--json peer show alice" --json peer show alice
check "--json peer show has the counters" \
	jqt "$OUT" '.name == "alice" and (.counters.rx_packets | type) == "number" and (.counters.drops | type) == "object"'
expect 4 "peer show of a missing peer" peer show nosuch
check "... 'cellgate: no peer ... (field: name)'" has "$ERR" "^cellgate: no peer 'nosuch' \(field: name\)$"

# peer set changes the fields given, nothing else.
expect 0 "peer set alice services, internet, peer-to-peer" \
	peer set alice --services calendar,files --internet on --peer-to-peer on
check "peer set prints the stored peer" has "$OUT" '^services: +calendar, files$'
cli --json peer show alice
check "... all three changed, ip and key kept" \
	jqt "$OUT" ".service_access == [\"calendar\",\"files\"] and .internet_access and .peer_to_peer and .ip == \"10.0.$N.2\" and .public_key == \"$ALICE_PUB\""
expect 0 "peer set alice --no-services --internet off" --json peer set alice --no-services --internet off
check "... services emptied, internet off, peer-to-peer kept" \
	jqt "$OUT" '.service_access == [] and .internet_access == false and .peer_to_peer == true'
expect 0 "peer set alice --ip" peer set alice --ip 10.0.$N.20
cli --json peer show alice
check "... the address changed" jqt "$OUT" ".ip == \"10.0.$N.20\""
expect 1 "peer set to an address in use (409)" peer set alice --ip 10.0.$N.3
expect 1 "peer set to an address outside the subnet (400)" peer set alice --ip 192.0.2.9
check "... naming ip" has "$ERR" '\(field: ip\)$'
expect 4 "peer set of a missing peer" peer set nosuch --internet on
cli peer set alice --services calendar # for the refused service del below

# ---- client configs -----------------------------------------------------------
expect 0 "peer config bob" peer config bob
BOB_CONF=$OUT
printf '%s\n' "$BOB_CONF" >"$D/bob.conf"
check "config: [Interface] Address of bob" has "$BOB_CONF" "^Address = 10\.0\.$N\.3/32$"
check "config: bob's private key, matching his public key" \
	test "$(sed -n 's/^PrivateKey = //p' "$D/bob.conf" | wg pubkey 2>/dev/null)" = "$BOB_PUB"
check "config: [Peer] PublicKey of the cell" has "$BOB_CONF" "^PublicKey = $(re "$CELL_PUB")$"
check "config: Endpoint of the cell" has "$BOB_CONF" "^Endpoint = 192\.168\.10$N\.1:51820$"
check "config: full tunnel for bob (internet)" has "$BOB_CONF" '^AllowedIPs = 0\.0\.0\.0/0$'
expect 0 "peer config alice" peer config alice
check "config: split tunnel for alice (cell networks only)" \
	has "$OUT" "^AllowedIPs = 10\.0\.$N\.0/24, 172\.20\.$N\.0/24$"
check "config: alice's PrivateKey is a placeholder wg refuses (her device has the key)" \
	has "$OUT" "^PrivateKey = <paste the client's private key here>$"
check "... no key in it" hasnt "$OUT" '^PrivateKey = [A-Za-z0-9+/]{43}=$'
expect 0 "--json peer config bob" --json peer config bob
check "--json peer config carries the same text" \
	test "$(printf '%s' "$OUT" | jq -r .config)" = "$BOB_CONF"
expect 0 "peer config bob --qr" peer config bob --qr "$D/bob.png"
check "--qr wrote a PNG (signature 89 50 4e 47 0d 0a 1a 0a)" \
	test "$(head -c 8 "$D/bob.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a
check "--qr file is 0600 (it holds a private key)" test "$(stat -c %a "$D/bob.png")" = 600
check "--qr says where it wrote" has "$OUT" "$D/bob.png"
expect 0 "--json peer config --qr" --json peer config bob --qr "$D/bob2.png"
check "--json --qr: file and size" \
	jqt "$OUT" ".qr_file == \"$D/bob2.png\" and .bytes == $(stat -c %s "$D/bob2.png") and .bytes > 100"
expect 4 "peer config of a missing peer" peer config nosuch

# The config works: bob's WireGuard configured from it reaches his service.
if declare -F peer_from_config >/dev/null; then
	peer_from_config $CELL $N bob 3 "$D/bob.conf"
	check "bob (from the rendered config) completes a handshake" wait_handshake $CELL bob
	check "bob -> files through the tunnel" \
		test "$(tcp_get "$(ns_of $CELL bob)" $FILES 80)" = files
	check "bob -> calendar denied" test -z "$(tcp_get "$(ns_of $CELL bob)" $CAL 80)"
	cli peer list
	read -r _ _ _ _ _ rx tx drops <<<"$(row "$OUT" bob)"
	check "peer list: bob's traffic and drops counted (rx $rx, tx $tx, drops $drops)" \
		test "$rx" != 0B -a "$tx" != 0B -a "$drops" -ge 1
	cli peer show bob
	check "peer show: bob's drops by reason" has "$OUT" '^drops: +[1-9][0-9]* \(.*service_denied [1-9]'
else
	ok "# SKIP tunnel from a rendered config: lib.sh has no peer_from_config"
fi

# ---- port forwards -------------------------------------------------------------
UPLINK=203.0.113.1
expect 0 "forward add web (to the bridge)" forward add web --proto tcp --public-port 8080 \
	--target $CAL:80
check "forward add prints the forward" lines "$OUT" "^forward: +web$" \
	"^public port: +tcp 8080$" "^target: +$(re $CAL):80$" "^allow from: +any$" \
	"^snat: +auto \(no\)$" "^forwarded: +0 packets, 0B$" "^denied: +0$" "^nat failed: +0$"
expect 0 "--json forward add ssh (over WireGuard, allow-from, snat always)" \
	--json forward add ssh --proto tcp --public-port 2222 --target 10.0.$N.2:22 \
	--allow-from 198.51.100.0/24 --allow-from 192.0.2.0/28 --snat always
check "--json forward add prints the stored forward" \
	jqt "$OUT" ".id == \"ssh\" and .proto == \"tcp\" and .public_port == 2222 and .target_ip == \"10.0.$N.2\" and .target_port == 22 and .allow_from == [\"198.51.100.0/24\",\"192.0.2.0/28\"] and .snat == \"always\" and .snat_active == true and .counters == {\"packets\":0,\"bytes\":0,\"denied\":0,\"nat_failed\":0}"
expect 0 "forward add dns (udp, over WireGuard, snat auto)" forward add dns --proto udp \
	--public-port 53 --target 10.0.$N.3:5353
check "... auto resolves to yes over WireGuard" has "$OUT" '^snat: +auto \(yes\)$'

expect 1 "a forward id in use is refused (409)" forward add web --proto tcp --public-port 9 \
	--target $CAL:80
check "... naming the field" has "$ERR" "^cellgate: forward 'web' exists \(field: id\)$"
expect 1 "a public port in use is refused (409)" forward add web2 --proto tcp --public-port 8080 \
	--target $CAL:81
check "... naming the forward that has it" has "$ERR" "'web' \(field: public_port\)$"
expect 1 "WireGuard's port is refused (409)" forward add wg --proto udp --public-port 51820 \
	--target 10.0.$N.2:51820
check "... as WireGuard's" has "$ERR" "WireGuard.*\(field: public_port\)$"
expect 1 "a target outside the cell's networks is refused (400)" forward add out --proto tcp \
	--public-port 9 --target 198.51.100.7:80
check "... naming target_ip" has "$ERR" '\(field: target_ip\)$'
expect 1 "snat always to a bridge target is refused (400)" forward add br --proto tcp \
	--public-port 9 --target $CAL:80 --snat always
check "... saying that only WireGuard targets can be rewritten" has "$ERR" 'WireGuard.*\(field: snat\)$'
many=()
for i in $(seq 0 32); do many+=(--allow-from "10.$i.0.0/16"); done
expect 1 "33 allow-from networks are refused (400)" forward add many --proto tcp \
	--public-port 9 --target $CAL:80 "${many[@]}"
check "... naming allow_from" has "$ERR" '\(field: allow_from\)$'

expect 0 "forward list" forward list
check "forward list header" \
	has "$OUT" '^FORWARD +PROTO +PUBLIC +TARGET +ALLOW +SNAT +PACKETS +BYTES +DENIED$'
check "forward list row of web" test "$(row "$OUT" web)" = "web tcp 8080 $CAL:80 any auto (no) 0 0B 0"
check "forward list row of ssh" \
	test "$(row "$OUT" ssh)" = "ssh tcp 2222 10.0.$N.2:22 198.51.100.0/24,192.0.2.0/28 always 0 0B 0"
check "forward list row of dns" test "$(row "$OUT" dns)" = "dns udp 53 10.0.$N.3:5353 any auto (yes) 0 0B 0"
check "forward list in the order added" \
	test "$(printf '%s\n' "$OUT" | awk 'NR > 1 { print $1 }' | tr '\n' ' ')" = "web ssh dns "
expect 0 "--json forward list" --json forward list
check "--json forward list is the API's JSON" \
	test "$(printf '%s' "$OUT" | jq -S .)" = "$(api_ok $CELL GET /api/forwards | jq -S .)"
check "--json forward list has the three forwards" jqt "$OUT" '[.[].id] == ["web","ssh","dns"]'

# Traffic from the internet host through the uplink shows in the counters.
check "uplink:8080 reaches the calendar" test "$(tcp_get "$(ns_of $CELL inet)" $UPLINK 8080)" = calendar
expect 0 "forward show web" forward show web
check "forward show: every field, traffic counted" lines "$OUT" "^forward: +web$" \
	"^public port: +tcp 8080$" "^target: +$(re $CAL):80$" "^allow from: +any$" \
	"^snat: +auto \(no\)$" "^forwarded: +[1-9][0-9]* packets, [1-9][0-9]*B$" "^denied: +0$"
cli forward list
read -r _ _ _ _ _ _ _ pk by dn <<<"$(row "$OUT" web)"
check "forward list: web's packets and bytes ($pk, $by), none denied" \
	test "$pk" -ge 2 -a "$by" != 0B -a "$dn" = 0
expect 0 "--json forward show ssh" --json forward show ssh
check "--json forward show: definition and counters" \
	jqt "$OUT" '.id == "ssh" and .snat == "always" and .snat_active and (.counters.packets | type) == "number"'
expect 4 "forward show of a missing forward" forward show nosuch
check "... 'cellgate: no forward ... (field: id)'" has "$ERR" "^cellgate: no forward 'nosuch' \(field: id\)$"

expect 0 "forward del web" forward del web
check "forward del says so" test "$OUT" = "deleted forward web"
expect 4 "web is gone" forward show web
expect 4 "forward del of a missing forward" forward del web
check "uplink:8080 no longer reaches the calendar" test -z "$(tcp_get "$(ns_of $CELL inet)" $UPLINK 8080)"
expect 0 "--json forward del dns" --json forward del dns
check "--json forward del prints nothing (the API answers 204)" test -z "$OUT"

# ---- cells (what one cell does alone; two cells: test_cells.sh) ------------
expect 0 "cell list without cells" cell list
check "... prints the header only" \
	test "$OUT" = "CELL  SUBNET  ENDPOINT  HANDSHAKE  SHARED  THEY SHARE  PUSH"
expect 0 "--json cell list without cells" --json cell list
check "... is an empty array" jqt "$OUT" '. == []'
expect 0 "cell invite" cell invite
INVITE=$OUT
check "cell invite prints this cell's invite" \
	jqt "$INVITE" ".cell_name == \"home\" and .public_key == \"$CELL_PUB\" and .endpoint == \"192.168.10$N.1:51820\" and .vpn_subnet == \"10.0.$N.0/24\" and .wg_address == \"10.0.$N.1\" and .domain == \"home.cell\" and .version == 1 and .sync_port == 8471 and .pairing_port == 8472 and (.pairing_secret | test(\"^[A-Za-z0-9_-]{43}\$\"))"
left=$(($(printf '%s' "$INVITE" | jq .expires_at) - $(date +%s)))
check "... valid 24 h ($left s left)" test "$left" -ge 86390 -a "$left" -le 86400
check "... with a one-line note on stderr: secret, single use, 24 h" \
	test "$(printf '%s\n' "$ERR" | grep -c 'secret.*single use, valid 24 h')" = 1
expect 0 "cell invite --out" cell invite --out "$D/home.invite"
check "--out writes the invite 0600" test "$(stat -c %a "$D/home.invite")" = 600
check "... with a new secret" jqt "$(cat "$D/home.invite")" \
	".cell_name == \"home\" and (.pairing_secret | length) == 43 and .pairing_secret != $(printf '%s' "$INVITE" | jq .pairing_secret)"
check "... says where, not the secret" has "$OUT" "to $D/home.invite"
check "... prints no secret" hasnt "$OUT$ERR" "$(jq -r .pairing_secret "$D/home.invite")"
expect 0 "--json cell invite --out" --json cell invite --out "$D/home2.invite"
check "--json --out: file, cell, expiry, no secret" \
	jqt "$OUT" ".invite_file == \"$D/home2.invite\" and .cell_name == \"home\" and .expires_at == $(jq .expires_at "$D/home2.invite") and .invite_id == $(jq .invite_id "$D/home2.invite") and (has(\"pairing_secret\") | not)"
check "three invites are pending in the state file" \
	test "$(jq '.invites | length' "$D/state/state.json")" = 3
expect 0 "cell invite list" cell invite list
check "... a table of the three pending invites" \
	sh -c 'printf "%s\n" "$1" | head -1 | grep -Eq "^INVITE +CREATED +EXPIRES$" &&
		[ "$(printf "%s\n" "$1" | grep -Ec "^[0-9a-f]{16}  ")" = 3 ]' _ "$OUT"
check "... and no secret" hasnt "$OUT" "$(jq -r .pairing_secret "$D/home.invite")"
expect 0 "--json cell invite list" --json cell invite list
check "... ids, creation and expiry only" jqt "$OUT" 'length == 3 and all(.[]; keys == ["created_at","expires_at","id"])'
ID2=$(jq -r .invite_id "$D/home2.invite")
check "... the id --out wrote is listed" jqt "$OUT" "any(.[]; .id == \"$ID2\")"
expect 0 "cell invite del ID" cell invite del "$ID2"
check "... says so" test "$OUT" = "revoked invite $ID2"
check "... two invites are left in the state file" \
	test "$(jq '.invites | length' "$D/state/state.json")" = 2
expect 4 "cell invite del of a revoked invite" cell invite del "$ID2"
expect 4 "--json cell invite del of an unknown invite" --json cell invite del 0123456789abcdef
expect 4 "cell show of a missing cell" cell show office
check "... 'cellgate: no cell ... (field: name)'" has "$ERR" "^cellgate: no cell 'office' \(field: name\)$"
expect 4 "cell permissions of a missing cell" cell permissions office
expect 4 "cell share with a missing cell" cell share office --service calendar
expect 4 "cell del of a missing cell" cell del office
jq 'del(.pairing_secret)' "$D/home.invite" >"$D/nosecret.invite"
expect 1 "cell add of an invite without its secret (400)" cell add "$D/nosecret.invite"
check "... naming pairing_secret" has "$ERR" '\(field: pairing_secret\)$'
expect 1 "cell add of this cell's own invite (400)" cell add "$D/home.invite"
check "... naming public_key" has "$ERR" '\(field: public_key\)$'
# A cell whose pairing listener does not answer: 502, nothing linked.
jq -n --arg key "$(wg genkey | wg pubkey)" --argjson port $DEAD_PORT \
	'{cell_name: "far", public_key: $key, endpoint: "127.0.0.1:51999",
	  vpn_subnet: "10.9.0.0/24", domain: "far.cell", version: 1,
	  pairing_port: $port, pairing_secret: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}' \
	>"$D/far.invite"
expect 3 "cell add of a cell that cannot be reached (502)" cell add - <"$D/far.invite"
check "... says the remote did not accept the link" \
	has "$ERR" "^cellgate: the remote cell did not accept the link .*\(field: endpoint\)$"
cli --json cell list
check "... and links nothing" jqt "$OUT" '. == []'
check "... nor leaves a route to it" test -z "$(ip -n "$R" route show 10.9.0.0/24)"

# ---- status --------------------------------------------------------------------
expect 0 "status" status
STATUS=$OUT
cli --json status
STATUS_JSON=$OUT
check "status: cell, key, backend, counts" lines "$STATUS" "^cell: +home$" \
	"^public key: +$(re "$CELL_PUB")$" "^wireguard backend: +(kernel|userspace)$" \
	"^peers: +2$" "^services: +3$" "^forwards: +1$"
check "status: programs table" lines "$STATUS" \
	"^HOOK +INTERFACE +ATTACHED +ID +VERIFIED INSNS +JITED BYTES +XDP$" \
	"^tc-ingress +$(if_of $N wg) +yes +[0-9]+ +[0-9]+ +[0-9]+ +-$" \
	"^tc-egress +$(if_of $N wg) +yes +[0-9]+ +[0-9]+ +[0-9]+ +-$" \
	"^tc-egress +$(if_of $N up) +yes +[0-9]+ +[0-9]+ +[0-9]+ +-$" \
	"^xdp +$(if_of $N up) +yes +[0-9]+ +[0-9]+ +[0-9]+ +(native|generic), (multiprog|single-program fallback)$"
check "status: maps table header" has "$STATUS" '^MAP +ENTRIES +CAPACITY +USE$'
pe=$(printf '%s' "$STATUS_JSON" | jq '.maps[] | select(.name == "cg_peers") | .entries')
pc=$(printf '%s' "$STATUS_JSON" | jq '.maps[] | select(.name == "cg_peers") | .capacity')
check "status: cg_peers holds the 2 peers" test "$pe" = 2
check "status: cg_peers row with entries, capacity, percentage" \
	test "$(row "$STATUS" cg_peers)" = "cg_peers $pe $pc $(awk -v e="$pe" -v c="$pc" 'BEGIN { printf "%.1f%%", 100 * e / c }')"
check "--json status: the API's fields" \
	jqt "$STATUS_JSON" ".cell_name == \"home\" and .public_key == \"$CELL_PUB\" and .peers == 2 and .services == 3 and .forwards == 1 and (.programs | length) == 4 and (.programs | map(select(.hook == \"xdp\" and .attached)) | length) == 1"

# ---- refusals and deletions ---------------------------------------------------------
expect 1 "deleting a service a peer uses is refused (409)" service del calendar
check "... with the API's message" has "$ERR" '^cellgate: .+calendar'
expect 0 "service del dns" service del dns
check "service del says so" test "$OUT" = "deleted service dns"
expect 4 "service del of a missing service" service del dns
expect 0 "peer del alice" peer del alice
check "peer del says so" test "$OUT" = "deleted peer alice"
expect 4 "alice is gone" peer show alice
expect 0 "--json peer add then --json peer del" --json peer add carol
expect 0 "--json peer del" --json peer del carol
check "--json peer del prints nothing (the API answers 204)" test -z "$OUT"
expect 4 "peer del of a missing peer" peer del carol
expect 0 "forward del ssh" forward del ssh
expect 0 "forward list without forwards" forward list
check "... prints the header only" \
	test "$OUT" = "FORWARD  PROTO  PUBLIC  TARGET  ALLOW  SNAT  PACKETS  BYTES  DENIED"

# ---- unauthorized, unreachable, malformed ------------------------------------------
expect 5 "a wrong token" --config "$D/wrong.json" peer list
check "... is reported with the token file" lines "$ERR" \
	"^cellgate: missing or wrong bearer token" "^cellgate: the token is read from $D/wrong.token$"
expect 5 "a missing token file" --config "$D/missing.json" status
check "... is named" has "$ERR" "^cellgate: cannot read the API token from $D/missing.token"
http_server "$R" $FAKE_PORT "not the cellgate api"
wait_for 5 ip netns exec "$R" curl -s -o /dev/null "http://127.0.0.1:$FAKE_PORT/"
expect 3 "a reply that is not JSON" --config "$D/fake.json" status
check "... is called malformed" has "$ERR" '^cellgate: malformed reply'
expect 3 "nothing listening" --config "$D/dead.json" status
check "... says it cannot connect" has "$ERR" "^cellgate: cannot connect to the controller at 127.0.0.1:$DEAD_PORT"

# A hung controller: the kernel accepts the connection, nothing answers.
pid=$(cat "$D/cellgate.pid")
kill -STOP "$pid"
start=$(date +%s)
expect 3 "a controller that does not answer" status
took=$(($(date +%s) - start))
kill -CONT "$pid"
check "... times out after 10 s ($took s)" test "$took" -ge 9 -a "$took" -le 13
check "... says so" has "$ERR" "did not answer within 10 s"

# ---- token rotation --------------------------------------------------------------------
old=$(cat "$D/api.token")
curl_status() { # curl_status TOKEN: HTTP status of GET /api/status
	ip netns exec "$R" curl -s -o /dev/null -w '%{http_code}' -m 5 \
		-H "Authorization: Bearer $1" "http://127.0.0.1:$API_PORT/api/status"
}
check "the old token works before rotation" test "$(curl_status "$old")" = 200
expect 0 "token rotate" token rotate
new=$(cat "$D/api.token")
check "token rotate verified the new token" has "$OUT" "controller accepts it"
check "the new token is 64 hex characters" has "$new" '^[0-9a-f]{64}$'
check "the new token differs from the old one" test "$new" != "$old"
check "the token file is 0600" test "$(stat -c %a "$D/api.token")" = 600
check "token rotate prints no secret" hasnt "$OUT$ERR" "$new|$old"
check "the old token is refused at once (401)" test "$(curl_status "$old")" = 401
check "the new token is accepted" test "$(curl_status "$new")" = 200
expect 0 "the CLI keeps working after rotation" peer list
expect 0 "--json token rotate" --json token rotate
check "--json token rotate: token_file and verified" \
	jqt "$OUT" ".token_file == \"$D/api.token\" and .verified == true"
check "--json token rotate prints no secret" hasnt "$OUT" "$(cat "$D/api.token")"

# ---- controller stopped ------------------------------------------------------------------
stop_controller $CELL TERM
expect 3 "controller stopped: status" status
check "... says it cannot connect" has "$ERR" "cannot connect to the controller"
expect 3 "controller stopped: peer add" peer add dave
expect 0 "token rotate with the controller stopped" --json token rotate
check "... writes the file, unverified" jqt "$OUT" '.verified == false'
offline=$(cat "$D/api.token")
check "... a new token was written" test "$offline" != "$new"
cli token rotate
check "... and says it is used at the next start" lines "$OUT" \
	"^not verified: cannot connect" "will use the new token when it starts$"
start_controller $CELL
check "controller restarts" test $? -eq 0
expect 0 "the token rotated offline is used after the restart" status

e2e_end
