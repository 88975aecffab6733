#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The systemd unit's sandbox (scripts/cellgate.service): its offline
# `systemd-analyze security` exposure is at most 3.0, and the controller
# runs the ACL walk under the same restrictions, emulated without systemd
# as PID 1: the unit's capability bounding set and ambient set and
# no_new_privs (setpriv), and a mount namespace where everything is
# read-only but the unit's ReadWritePaths (state, token, pins) and its
# RuntimeDirectory (wireguard-go's socket), with a private /tmp, no
# /home, a /dev of pseudo-devices plus /dev/net/tun (DevicePolicy=closed)
# and /proc with hidepid (ProtectProc=invisible). The seccomp half of the
# unit (SystemCallFilter, RestrictAddressFamilies, MemoryDenyWriteExecute,
# LockPersonality, RestrictNamespaces, ...) needs systemd: SKIP.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
UNIT="$here/../../scripts/cellgate.service"
MAX_EXPOSURE=3.0

for t in setpriv unshare nsenter capsh; do
	command -v $t >/dev/null || skip "$t is not installed (scripts/deps.sh installs it)"
done
e2e_begin s
CELL=home
N=0
API_PORT=$((20000 + RANDOM % 10000))
CAL=172.20.$N.21
FILES=172.20.$N.22

# unit_value KEY: the value of KEY= in the unit (the last one wins).
unit_value() { sed -n "s/^$1=//p" "$UNIT" | tail -1; }

# ---- the offline score ---------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
	sed 's|@PREFIX@|/usr/local|g' "$UNIT" >"$WORK/cellgate.service"
	score=$(systemd-analyze security --offline=true "$WORK/cellgate.service" 2>&1 |
		sed -n 's/.*Overall exposure level for cellgate.service: \([0-9.]*\).*/\1/p')
	log "# systemd-analyze security --offline=true: exposure $score"
	check "systemd-analyze security: exposure $score <= $MAX_EXPOSURE" \
		awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN {exit !(s != "" && s <= m)}'
else
	echo "SKIP: systemd-analyze is not installed: no exposure score"
fi
echo "SKIP: seccomp filters of the unit (SystemCallFilter, RestrictAddressFamilies," \
	"MemoryDenyWriteExecute, LockPersonality, RestrictNamespaces, RestrictRealtime," \
	"SystemCallArchitectures, ProtectClock's syscalls): only systemd applies them," \
	"and PID 1 here is not systemd"

# ---- the sandbox, emulated -------------------------------------------------------
# Capabilities as setpriv spells them: "CAP_NET_ADMIN CAP_BPF" -> "+net_admin,+bpf".
setpriv_caps() { echo "$1" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ \+/,/g'; }
BOUNDING=${SANDBOX_CAPS:-$(unit_value CapabilityBoundingSet)}
AMBIENT=${SANDBOX_CAPS:-$(unit_value AmbientCapabilities)}
log "# sandbox capabilities: $BOUNDING"

# The unit's paths mapped onto this test's cell: /etc/cellgate is the cell
# directory (config, token, key), /var/lib/cellgate its state, the pins its
# bpffs. /run/wireguard is the RuntimeDirectory.
D="$WORK/$CELL"
RW_PATHS="$D $D/state $D/bpf /run/wireguard"
check "the unit's ReadWritePaths are state, config directory, pins" \
	test "$(unit_value ReadWritePaths)" = "/var/lib/cellgate /etc/cellgate /sys/fs/bpf/cellgate"

# The unit runs /usr/sbin/cellgate; PrivateTmp and ProtectHome hide a
# build under /tmp or /root, so the sandbox runs a copy in the work dir.
SANDBOX_BIN="$WORK/cellgate"
cp "$CELLGATE" "$SANDBOX_BIN"

# write_sandbox BOUNDING AMBIENT: the wrapper start_controller runs in the
# router namespace instead of cellgate: a private mount namespace set up
# as the unit's, then setpriv, then cellgate, each exec'ing the next (the
# PID stays cellgate's).
write_sandbox() {
	cat >"$WORK/sandbox-inner.sh" <<EOF
#!/bin/bash
set -e
mount --make-rprivate /
# DevicePolicy=closed + DeviceAllow=/dev/net/tun: only these nodes.
dev=\$(mktemp -d /run/cg-sandbox-dev.XXXX)
mount -t tmpfs -o mode=0755,nosuid tmpfs "\$dev"
for n in null zero full random urandom tty net/tun; do
	mkdir -p "\$dev/\$(dirname \$n)"
	touch "\$dev/\$n"
	mount --bind "/dev/\$n" "\$dev/\$n"
done
mount --move "\$dev" /dev
rmdir "\$dev"
# ProtectProc=invisible.
mount -t proc -o hidepid=invisible,nosuid,nodev,noexec proc /proc
# PrivateTmp, ProtectHome.
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
for h in /home /root /run/user; do
	[ -d "\$h" ] && mount -t tmpfs -o ro,mode=0000 tmpfs "\$h"
done
# RuntimeDirectory=wireguard, before / goes read-only.
mkdir -p /run/wireguard
# ProtectSystem=strict, ProtectKernelTunables, ProtectControlGroups:
# every mount read-only (deepest last), but /dev and /proc's processes.
awk '{print \$5}' /proc/self/mountinfo | sort -u | while read -r m; do
	case \$m in /dev | /dev/* | /proc) continue ;; esac
	mount -o remount,bind,ro "\$m" 2>/dev/null || true
done
mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys
# ReadWritePaths.
for p in $RW_PATHS; do
	mount --rbind "\$p" "\$p"
	mount -o remount,bind,rw "\$p"
done
umask 0077
exec setpriv --no-new-privs --inh-caps -all,$(setpriv_caps "$2") \\
	--ambient-caps -all,$(setpriv_caps "$2") \\
	--bounding-set -all,$(setpriv_caps "$1") -- "$SANDBOX_BIN" "\$@"
EOF
}
write_sandbox "$BOUNDING" "$AMBIENT"
cat >"$WORK/sandbox.sh" <<EOF
#!/bin/sh
exec unshare --mount --uts -- bash "$WORK/sandbox-inner.sh" "\$@"
EOF
chmod +x "$WORK/sandbox.sh"

# ---- set up, as test_acl.sh ----------------------------------------------------
log "e2e: building cell '$CELL' in namespaces $PREFIX-* (work dir $WORK)"
cell_topology $CELL $N
cell_service $CELL $N cal 21
cell_service $CELL $N files 22
tcp_server "$(ns_of $CELL cal)" 80 calendar
tcp_server "$(ns_of $CELL files)" 80 files
tcp_server "$(ns_of $CELL inet)" 80 internet
write_cell_config $CELL $N $API_PORT
CELLGATE="$WORK/sandbox.sh" start_controller $CELL ||
	{ not_ok "controller starts in the sandbox"; exit 1; }
ok "controller starts in the sandbox and answers /health"
pid=$(cat "$D/cellgate.pid")

# The sandbox is real: the process has the unit's capabilities only,
# no_new_privs, and a read-only filesystem but its paths.
# capset CAPS: a hex mask from /proc/PID/status as "CAP_A CAP_B" sorted.
capset() { capsh --decode="$1" | sed 's/.*=//' | tr ',' '\n' | tr 'a-z' 'A-Z' | sort | xargs; }
bnd=$(capset "$(sed -n 's/^CapBnd:[[:space:]]*//p' "/proc/$pid/status")")
eff=$(capset "$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$pid/status")")
want=$(echo "$BOUNDING" | tr ' ' '\n' | sort | xargs)
check "controller's bounding set is the unit's ($bnd)" test "$bnd" = "$want"
check "controller's effective set is no more than that ($eff)" test "$eff" = "$want"
check "controller runs with no_new_privs" grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$pid/status"
in_sandbox() { nsenter -t "$pid" -m -- "$@"; }
check "in its mount namespace, / is read-only (writing /var/lib fails)" \
	sh -c "! nsenter -t $pid -m -- touch /var/lib/cg-sandbox-probe 2>/dev/null"
check "in its mount namespace, the cell's directory is writable (positive control)" \
	in_sandbox sh -c "touch '$D/state/probe' && rm '$D/state/probe'"
check "in its mount namespace, /dev has no block devices, but /dev/net/tun" \
	in_sandbox sh -c "test -c /dev/net/tun && ! ls /dev | grep -q '^sd\|^vd\|^nvme\|^loop'"

api_ok $CELL PUT /api/services/calendar \
	"{\"endpoints\":[{\"ip\":\"$CAL\",\"proto\":\"tcp\",\"port\":80}]}" >/dev/null &&
api_ok $CELL PUT /api/services/files \
	"{\"endpoints\":[{\"ip\":\"$FILES\",\"proto\":\"tcp\",\"port\":80}]}" >/dev/null
check "services defined through the API" test $? -eq 0
add_peer $CELL $N alice 2 ',"service_access":["calendar"]' &&
add_peer $CELL $N bob 3 ',"service_access":["files"],"internet_access":true'
check "peers added through the API" test $? -eq 0
check "wireguard-go started by the sandboxed controller" \
	test -S "/run/wireguard/$(if_of $N wg).sock"
check "alice completes a WireGuard handshake" wait_handshake $CELL alice
check "bob completes a WireGuard handshake" wait_handshake $CELL bob

# ---- the ACL walk ----------------------------------------------------------------
denied_before=$(drops alice service_denied)
check "alice -> calendar allowed (positive control)" reach alice $CAL 80 calendar
check "alice -> files denied" blocked alice $FILES 80
check "alice's service_denied drops rose ($denied_before -> $(drops alice service_denied))" \
	test "$(drops alice service_denied)" -gt "${denied_before:-0}"
check "bob -> files allowed" reach bob $FILES 80 files
check "bob -> calendar denied" blocked bob $CAL 80
check "bob -> internet allowed (internet_access)" reach bob 203.0.113.2 80 internet
check "alice -> internet denied" blocked alice 203.0.113.2 80
check "alice -> bob denied (device isolation)" blocked alice 10.0.$N.3 7000
api_ok $CELL PUT /api/peers/alice '{"service_access":["calendar","files"]}' >/dev/null
check "granting files: alice -> files allowed at once" reach alice $FILES 80 files

# ---- a restart in the sandbox finds and replaces its own programs -------------------
stop_controller $CELL
CELLGATE="$WORK/sandbox.sh" start_controller $CELL
check "controller restarts in the sandbox" test $? -eq 0
check "after the restart: alice -> files allowed" reach alice $FILES 80 files
check "after the restart: bob -> calendar denied" blocked bob $CAL 80
check "XDP program attached on the uplink after the restart" \
	sh -c "ip netns exec $(ns_of $CELL r) ip link show $(if_of $N up) | grep -q xdp"
# Less libxdp's dispatcher check and the program it loads for it: where
# the kernel refuses freplace (as here, also without a sandbox) libxdp
# falls back to a single program (README, "Supported kernels").
perm_errors=$(grep -i 'not permitted\|permission denied\|EPERM\|read-only' "$D/cellgate.log" |
	grep -v "prog 'xdp_pass': BPF program load failed\|Compatibility check for dispatcher")
[ -n "$perm_errors" ] && log "$perm_errors"
check "no permission errors in the controller's log" test -z "$perm_errors"

# ---- CAP_SYS_ADMIN is still needed ------------------------------------------------
# The unit keeps CAP_SYS_ADMIN because libxdp looks programs and their BTF
# up by id, which the kernel allows only with it; should that change, this
# fails and the unit can drop it.
stop_controller $CELL
BOUNDING=$(echo "$BOUNDING" | sed 's/CAP_SYS_ADMIN//; s/  */ /g; s/ $//')
write_sandbox "$BOUNDING" "$BOUNDING"
: >"$D/cellgate.log"
CELLGATE="$WORK/sandbox.sh" start_controller $CELL 2>/dev/null
started=$?
check "without CAP_SYS_ADMIN ($BOUNDING) the controller does not start" test "$started" != 0
check "... because libxdp cannot read BTF by id" grep -q "Couldn't get BTF for ID" "$D/cellgate.log"
stop_controller $CELL

e2e_end
