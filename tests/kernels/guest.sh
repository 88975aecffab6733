#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs inside the Debian 6.1 VM (tests/kernels/init.sh chroots into the
# host's root, read-only, and starts this), with the host's binaries:
#
#   1. the kernel is what we meant to test (release, BTF, wireguard.ko);
#   2. build/tests/bpf_insns loads every BPF object and reports each
#      program's verified instruction count (insns.txt);
#   3. build/tests/bpf_test, the BPF_PROG_TEST_RUN suite (bpf_test.log);
#   4. tests/kernels/e2e_kernel_wg.sh, the ACL matrix on kernel
#      WireGuard programmed over generic netlink (e2e.log).
#
# One TAP line per step on stdout (the VM's console); the full output of
# each step in CGK_RESULTS (a directory shared with the host over 9p),
# which tests/kernels/run.sh reads after the VM has powered off. Each
# step has its own time limit, so a hang names the step that hung.
# CGK_STEPS (comma-separated: kernel,insns,bpf_test,e2e) runs only some;
# the step "scale" (the control plane at 100k peers on kernel WireGuard,
# tests/kernels/scale_kernel_wg.sh) runs only when CGK_STEPS names it:
# `make bench-kernels`.
set -u

repo=${CGK_REPO:?CGK_REPO is not set (kernel command line cgk.repo=)}
res=${CGK_RESULTS:?CGK_RESULTS is not set}
build=${CGK_BUILD:-$repo/build}
cd "$repo" || exit 1

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
want() { [ -z "${CGK_STEPS:-}" ] || named "$1"; }
named() { [[ ",${CGK_STEPS:-}," == *",$1,"* ]]; }

# run_step NAME LIMIT LOG CMD...: CMD with its output in LOG, within
# LIMIT seconds (a shell function: without a limit); TAP line with the
# time taken.
run_step() {
	local name=$1 limit=$2 log=$3 start rc took
	shift 3
	start=$(date +%s)
	if [ "$(type -t "$1")" = function ]; then
		"$@" >"$res/$log" 2>&1
	else
		timeout -k 5 "$limit" "$@" >"$res/$log" 2>&1
	fi
	rc=$?
	took=$(($(date +%s) - start))
	case $rc in
	0) ok "$name (${took}s)" ;;
	124 | 137) not_ok "$name: timed out after ${limit}s (see $log)" ;;
	*) not_ok "$name: exit $rc (${took}s, see $log)" ;;
	esac
	return "$rc"
}

echo "# guest kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) MiB, up $(cut -d' ' -f1 /proc/uptime)s"
uname -r >"$res/kernel"

# kernel_ready: what the steps need, loaded by init.sh.
kernel_ready() {
	local m
	[ -e /sys/kernel/btf/vmlinux ] || { echo "no /sys/kernel/btf/vmlinux"; return 1; }
	for m in wireguard sch_ingress cls_bpf veth bridge; do
		[ -d "/sys/module/$m" ] || { echo "module $m is not loaded"; return 1; }
	done
}

# ---- 1: the kernel -------------------------------------------------------------
want kernel && run_step "kernel $(uname -r): BTF; wireguard, sch_ingress, cls_bpf, veth, bridge loaded" \
	10 kernel.log kernel_ready

# ---- 2: every BPF object loads; verified instructions -----------------------------
# The table goes to insns.txt; the verifier log of a program that does not
# load, to insns.err.
# shellcheck disable=SC2016 # expanded by sh -c
want insns && run_step "every BPF object loads (verified instructions: insns.txt)" \
	300 insns.err sh -c 'out=$0; exec "$@" >"$out"' "$res/insns.txt" "$build/tests/bpf_insns" "$build"/bpf/*.bpf.o

# ---- 3: BPF_PROG_TEST_RUN suite ----------------------------------------------------
want bpf_test && run_step "bpf_test: the BPF_PROG_TEST_RUN suite" 400 bpf_test.log "$build/tests/bpf_test"

# ---- 4: kernel WireGuard end to end ---------------------------------------------------
want e2e && run_step "e2e on kernel WireGuard (generic netlink)" 400 e2e.log \
	env WG_PEERS=kernel CELLGATE="$build/cellgate" bash tests/kernels/e2e_kernel_wg.sh

# ---- 5: the control plane at scale (only when named) ----------------------------------
named scale && run_step "scale: start, PUTs, ticks, import at N = ${CGK_SCALE_N:-10 100000} (scale.tsv)" \
	"${CGK_SCALE_LIMIT:-2400}" scale.log \
	env CELLGATE="$build/cellgate" bash tests/kernels/scale_kernel_wg.sh

echo "1..$n"
echo "# guest: $n steps, $failed failed"
sync
[ "$failed" = 0 ]
