#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The cost of one change at N peers (issue 16): p50 and p99 of one
# PUT /api/peers/NAME (toggling internet_access; one curl process,
# keep-alive, time per request from curl) at each N of API_N ("10 1000
# 10000"), and the rate of POST /api/peers one by one at the largest N.
# The controller starts from a state file of N peers (gen.py state) over
# wireguard-go, as in run.sh. Prints one line per N:
#   n=10000 put_p50_ms=... put_p99_ms=... [post_per_s=...]
# CELLGATE=path compares another build in the same run.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"

N_LIST=${API_N:-10 1000 10000}
PUTS=${API_PUTS:-500}
POSTS=${API_POSTS:-2000}

[ "$(id -u)" = 0 ] || { echo "SKIP: benchmarks need root" >&2; exit 77; }
bench_begin

# curl config: PUTS updates of peer NAME, then prints each time_total.
put_config() {
	local name=$1 i v
	for i in $(seq "$PUTS"); do
		[ "$i" -gt 1 ] && echo next
		v=$([ $((i % 2)) = 0 ] && echo true || echo false)
		cat <<-EOF
		url = "http://127.0.0.1:$API_PORT/api/peers/$name"
		request = "PUT"
		header = "Authorization: Bearer $(cat "$WORK/cg/api.token")"
		header = "Content-Type: application/json"
		data = "{\"internet_access\":$v}"
		write-out = "%{http_code} %{time_total}\n"
		output = "/dev/null"
		EOF
	done
}

# POSTS new peers q0.. at addresses after the N of the state file.
post_config() {
	python3 - "$1" "$POSTS" "$API_PORT" "$(cat "$WORK/cg/api.token")" <<-'PY'
	import base64, os, sys
	n, posts, port, token = (int(sys.argv[1]), int(sys.argv[2]),
	                         sys.argv[3], sys.argv[4])
	for i in range(posts):
	    a = (10 << 24) + 2 + n + i
	    ip = "%d.%d.%d.%d" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255)
	    key = base64.b64encode(os.urandom(32)).decode()
	    if i:
	        print("next")
	    print('url = "http://127.0.0.1:%s/api/peers"' % port)
	    print('request = "POST"')
	    print('header = "Authorization: Bearer %s"' % token)
	    print('header = "Content-Type: application/json"')
	    print('data = "{\\"name\\":\\"q%d\\",\\"public_key\\":\\"%s\\",'
	          '\\"ip\\":\\"%s\\",\\"service_access\\":[\\"calendar\\"],'
	          '\\"internet_access\\":true}"' % (i, key, ip))
	    print('write-out = "%{http_code}\\n"')
	    print('output = "/dev/null"')
	PY
}

# pct P FILE: the P-th percentile of the numbers in FILE (one a line).
pct() {
	sort -n "$2" | awk -v p="$1" '{ v[NR] = $1 } END {
		i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; print v[i] }'
}

# cellgate_start with room for the POSTs (limits.max_peers).
start_with_room() {
	local n=$1 t0
	cellgate_config "$n"
	sed -i "s/\"max_peers\": [0-9]*/\"max_peers\": $((n + POSTS + 16))/" "$WORK/cg/cellgate.json"
	$GEN state "$n" "$CLIENT_PUB" >"$WORK/cg/state/state.json"
	t0=$(date +%s%N)
	bg_in "$R" "$CELLGATE" --config "$WORK/cg/cellgate.json" run \
		</dev/null >>"$WORK/cellgate.log" 2>&1
	CG_PID=$LAST_PID
	wait_for 600 cg_api GET /health || return 1
	CG_START_S=$(secs "$t0" "$(date +%s%N)")
}

for n in $N_LIST; do
	topo_wg
	start_with_room "$n" || die "cellgate does not start at N=$n"
	put_config "p$((n / 2))" >"$WORK/puts"
	# API_PERF=FILE: a perf profile of the controller during the PUTs.
	[ -n "${API_PERF:-}" ] && { perf record -g -o "$API_PERF.$n" -p "$CG_PID" 2>/dev/null & perf_pid=$!; sleep 0.5; }
	ip netns exec "$R" curl -s -K "$WORK/puts" >"$WORK/puts.out"
	[ -n "${API_PERF:-}" ] && { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
	bad=$(grep -vc '^200 ' "$WORK/puts.out" || true)
	[ "$bad" = 0 ] || die "$bad PUTs failed at N=$n"
	awk '{ print $2 * 1000 }' "$WORK/puts.out" >"$WORK/put_ms"
	line="n=$n start_s=$CG_START_S put_p50_ms=$(pct 50 "$WORK/put_ms") put_p99_ms=$(pct 99 "$WORK/put_ms")"
	if [ "$n" = "${N_LIST##* }" ]; then
		post_config "$n" >"$WORK/posts"
		[ -n "${API_PERF:-}" ] && { perf record -g -o "$API_PERF.post" -p "$CG_PID" 2>/dev/null & perf_pid=$!; sleep 0.5; }
		[ -n "${API_STRACE:-}" ] && { strace -f -T -tt -o "$API_STRACE" -p "$CG_PID" 2>/dev/null & perf_pid=$!; sleep 0.5; }
		t0=$(date +%s%N)
		ip netns exec "$R" curl -s -K "$WORK/posts" >"$WORK/posts.out"
		t1=$(date +%s%N)
		[ -n "${API_PERF:-}" ] && { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
		ok=$(grep -c '^201$' "$WORK/posts.out" || true)
		line="$line post_ok=$ok/$POSTS post_per_s=$(awk -v n="$ok" -v s="$(secs "$t0" "$t1")" 'BEGIN { printf "%.0f", n / s }')"
		line="$line rss_kib=$(awk '/^VmRSS/ {print $2}' "/proc/$CG_PID/status")"
	fi
	echo "$line"
	topo_down
done
