#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# `make test-kernels`: cellgate on Debian 12's stock kernel (6.1) with
# kernel WireGuard, which the machines running the other tests have not
# (they run 6.18, with wireguard-go).
#
# Boots Debian's linux-image-amd64 under qemu with software emulation
# (TCG: KVM does not work on these machines; CGK_ACCEL=kvm where it does),
# with the host's root shared read-only over 9p so that the guest runs the
# very binaries built here, and a writable 9p directory for the results.
# tests/kernels/build-initramfs.sh makes the kernel and the initramfs,
# tests/kernels/init.sh mounts everything inside, tests/kernels/guest.sh
# runs the steps. Here: the VM under a time limit (qemu is killed by its
# PID), then the guest's TAP, the end-to-end test's, and a table of each
# program's verified instruction count on 6.1 next to the host's.
#
# Exit status: 0 passed, 1 failed, 77 skipped (not root, no qemu, no
# Debian archive), with the reason on the last line.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$repo/$build ;; esac
out=$build/kernels
results=$out/run
# Generous: a healthy run takes a few minutes under TCG.
limit=${CGK_TIMEOUT:-900}
accel=${CGK_ACCEL:-tcg}
smp=${CGK_SMP:-2}
mem=${CGK_MEM:-2048}
# Some of the guest's steps only (kernel,insns,bpf_test,e2e), to iterate;
# "scale" (make bench-kernels) runs only when named, at CGK_SCALE_N peers.
steps=${CGK_STEPS:-}

skip() {
	echo "SKIP: $*"
	exit 77
}
log() { echo "=== kernels: $*"; }

# ---- can we? -----------------------------------------------------------------------
[ "$(id -u)" = 0 ] || skip "needs root (BPF, network namespaces in the VM, apt-get download)"
qemu=$(command -v qemu-system-x86_64) ||
	skip "qemu-system-x86_64 is not installed (scripts/deps.sh installs qemu-system-x86)"
[ "$(uname -m)" = x86_64 ] || skip "the test kernel is Debian's amd64 one; this host is $(uname -m)"
"$qemu" -accel help 2>/dev/null | grep -qx "$accel" ||
	skip "this qemu has no '$accel' accelerator"
for f in "$build/cellgate" "$build/tests/bpf_test" "$build/tests/bpf_insns"; do
	[ -x "$f" ] || { echo "not ok - $f is not built (make test-kernels builds it)"; exit 1; }
done
# The guest sees the host's root, but its own /run, /tmp, /proc, ...: a
# checkout under /tmp or /run is shared on its own (tag "repo") and
# mounted at its path; a build directory elsewhere must be outside them.
case $repo/ in
/proc/* | /sys/* | /dev/*) skip "$repo is under a directory the VM mounts over" ;;
esac
case $build/ in
"$repo"/*) ;;
/run/* | /tmp/* | /proc/* | /sys/* | /dev/*)
	skip "$build is under a directory the VM mounts over" ;;
esac

start=$(date +%s)
files=$("$here/build-initramfs.sh" "$out")
rc=$?
[ "$rc" = 77 ] && skip "cannot get Debian's kernel (see above)"
[ "$rc" = 0 ] || { echo "not ok - build the kernel and initramfs (exit $rc)"; exit 1; }
vmlinuz=$(echo "$files" | sed -n 1p)
initrd=$(echo "$files" | sed -n 2p)
kpkg=$(basename "$(dirname "$vmlinuz")")

rm -rf "$results"
mkdir -p "$results"

# ---- the VM -------------------------------------------------------------------------
# -nodefaults: no NIC, no VGA; the serial console goes to a file; the guest
# powers off when done and -no-reboot turns a panic (panic=-1 reboots at
# once) into an exit too. readonly=on: the guest can write nothing of the
# host but the results directory. multidevs=remap: the host's root spans
# several file systems, whose inode numbers could otherwise collide.
log "booting $kpkg under qemu ($accel, $smp vCPUs, $mem MiB, limit ${limit}s)"
"$qemu" -nodefaults -machine pc -accel "$accel" -cpu max -smp "$smp" -m "$mem" \
	-kernel "$vmlinuz" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 quiet loglevel=3 cgk.script=$here/guest.sh cgk.repo=$repo cgk.build=$build${steps:+ cgk.steps=$steps}${CGK_SCALE_N:+ cgk.scale_n=$(echo $CGK_SCALE_N | tr ' ' ':')}" \
	-display none -monitor none -no-reboot \
	-serial "file:$results/console.log" \
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
	-virtfs "local,path=$results,mount_tag=results,security_model=none,multidevs=remap" \
	-virtfs "local,path=$repo,mount_tag=repo,security_model=none,readonly=on,multidevs=remap" \
	-device virtio-rng-pci \
	</dev/null >"$results/qemu.log" 2>&1 &
qpid=$!
trap 'kill -KILL $qpid 2>/dev/null' EXIT

deadline=$((SECONDS + limit))
while kill -0 "$qpid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
	sleep 1
done
timed_out=0
if kill -0 "$qpid" 2>/dev/null; then
	timed_out=1
	kill -TERM "$qpid" 2>/dev/null
	sleep 2
	kill -KILL "$qpid" 2>/dev/null
fi
wait "$qpid" 2>/dev/null
trap - EXIT
took=$(($(date +%s) - start))

# ---- what the guest said --------------------------------------------------------------
console=$results/console.log
guest_rc=$(sed -n 's/^=== cgk-guest-end \([0-9]*\).*/\1/p' "$console" 2>/dev/null | tail -n 1)
sed -n '/^=== cgk-guest-begin/,/^=== cgk-guest-end/p' "$console" | grep -Ev '^=== cgk-guest' |
	grep -E '^(ok|not ok|#|1\.\.)' || true

# A step that failed: the end of what it printed besides its TAP.
failed_step() {
	grep -q "^not ok .*see $1" <<<"$guest_tap" || return 0
	echo "# $1 (tail):"
	grep -vE '^(ok|#)' "$results/$1" | tail -n 30 | sed 's/^/    /'
}
guest_tap=$(sed -n '/^=== cgk-guest-begin/,/^=== cgk-guest-end/p' "$console" 2>/dev/null)
failed_step kernel.log
if [ -f "$results/e2e.log" ]; then
	echo "# e2e_kernel_wg.sh on $(cat "$results/kernel" 2>/dev/null):"
	grep -E '^(ok|not ok|#)' "$results/e2e.log" | sed 's/^/    /'
	failed_step e2e.log
fi
if [ -f "$results/bpf_test.log" ]; then
	echo "# bpf_test on $(cat "$results/kernel" 2>/dev/null):"
	grep -E '^(not ok|# [0-9]+ passed|# verified)' "$results/bpf_test.log" | sed 's/^/    /'
	failed_step bpf_test.log
fi
if grep -q '^FAIL' "$results/insns.txt" 2>/dev/null; then
	echo "# verifier log (tail) of what did not load:"
	tail -n 40 "$results/insns.err" | sed 's/^/    /'
fi

if [ -f "$results/scale.log" ]; then
	echo "# scale_kernel_wg.sh on $(cat "$results/kernel" 2>/dev/null) (rows in scale.tsv):"
	grep -E '^(N=|#)' "$results/scale.log" | sed 's/^/    /'
	failed_step scale.log
fi

# ---- verified instructions: 6.1 next to the host ----------------------------------------
# The host's column comes from the same tool on the same objects (a
# second); the controller's from its /api/status in the VM, where the
# programs are loaded with the wg0 and uplink settings (load-time
# constants, so some branches are pruned).
host_insns=$(mktemp)
"$build/tests/bpf_insns" "$build"/bpf/*.bpf.o >"$host_insns" 2>/dev/null || true
ctl_insns() {
	local hook=$1 ifkind=$2
	[ -f "$results/status.json" ] || { echo -; return; }
	jq -r --arg h "$hook" --arg k "$ifkind" \
		'[.programs[] | select(.hook == $h and (.interface | test($k)))][0].verified_insns // "-"' \
		"$results/status.json" 2>/dev/null || echo -
}
if [ -s "$results/insns.txt" ]; then
	echo "# verified instructions per program (bpf_insns: objects as compiled; controller: as loaded on wg0/uplink)"
	printf '#   %-20s %-18s %-5s %12s %12s %16s\n' object program hook \
		"$(cut -d- -f1 "$results/kernel" 2>/dev/null)" "$(uname -r | cut -d- -f1) host" "controller, 6.1"
	while read -r obj prog sec insns; do
		[ "$obj" = FAIL ] && continue
		hinsns=$(awk -v p="$prog" '$2 == p {print $4}' "$host_insns")
		case $prog in
		cg_wg_ingress) c=$(ctl_insns tc-ingress 'wg$') ;;
		cg_wg_egress) c=$(ctl_insns tc-egress 'wg$') ;;
		cg_uplink_egress) c=$(ctl_insns tc-egress 'up$') ;;
		cg_uplink_xdp) c=$(ctl_insns xdp 'up$') ;;
		*) c=- ;;
		esac
		printf '#   %-20s %-18s %-5s %12s %12s %16s\n' "$obj" "$prog" "$sec" "$insns" "${hinsns:--}" "$c"
	done <"$results/insns.txt"
	grep '^FAIL' "$results/insns.txt" | sed 's/^/#   /'
fi
rm -f "$host_insns"

# ---- verdict ----------------------------------------------------------------------------------
if [ "$timed_out" = 1 ]; then
	echo "# console (tail):"
	tail -n 30 "$console" | sed 's/^/    /'
	echo "not ok - the VM did not finish within ${limit}s (qemu killed; logs in $results)"
	exit 1
fi
if [ -z "$guest_rc" ]; then
	echo "# console (tail):"
	tail -n 30 "$console" 2>/dev/null | sed 's/^/    /'
	tail -n 5 "$results/qemu.log" 2>/dev/null | sed 's/^/    qemu: /'
	echo "not ok - the guest did not report (boot failure or panic; logs in $results)"
	exit 1
fi
if [ "$guest_rc" != 0 ]; then
	log "FAILED on $kpkg (${took}s; logs in $results)"
	exit 1
fi
log "passed on $kpkg (${took}s)"
exit 0
