/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Load-time constants (.rodata), set by the controller through the
 * skeleton before load. The verifier sees them as constants, so branches
 * on them cost nothing at run time.
 */
#ifndef CELLGATE_CONFIG_H
#define CELLGATE_CONFIG_H

#include "common.h"
#include <bpf/bpf_core_read.h>

#define NSEC_PER_SEC 1000000000ULL

/* Bytes before the IP header. wg0 is an L3 device (0), but
 * BPF_PROG_TEST_RUN always hands tc programs an Ethernet frame (14), so
 * tests load the same object with ETH_HLEN. */
const volatile __u32 cg_l2_len = 0;

/* Conntrack lifetimes, refreshed by each packet. An allowed flow whose
 * entry expired is re-admitted by policy on its next packet, so these bound
 * memory, not correctness. Defaults follow Linux conntrack and Cilium. */
const volatile __u64 cg_ct_tcp_syn_ns = 60 * NSEC_PER_SEC; /* no reply yet */
const volatile __u64 cg_ct_tcp_est_ns = 21600 * NSEC_PER_SEC; /* 6 h */
const volatile __u64 cg_ct_tcp_fin_ns = 120 * NSEC_PER_SEC; /* one FIN */
const volatile __u64 cg_ct_tcp_close_ns = 10 * NSEC_PER_SEC; /* RST, 2 FINs */
const volatile __u64 cg_ct_udp_ns = 30 * NSEC_PER_SEC; /* unreplied */
const volatile __u64 cg_ct_udp_est_ns = 120 * NSEC_PER_SEC; /* replied */
const volatile __u64 cg_ct_icmp_ns = 30 * NSEC_PER_SEC;

/* An entry's expiry is rewritten only when it would move by more than
 * this: one store per flow per second instead of one per packet keeps the
 * entry's cache line from bouncing between CPUs. */
#define CG_CT_REFRESH_NS (1 * NSEC_PER_SEC)

/* The coarse clock as last read, and the jiffies it was read at: static
 * globals of each program object (scalars: clang splits a static struct
 * into pieces whose BTF the kernel refuses). */
static __u64 cg_clock_ns, cg_clock_jiffies;

/* The clock of expiries and leases: CLOCK_MONOTONIC as of the last timer
 * tick. It lags bpf_ktime_get_ns() by a tick or so (ms) against lifetimes
 * of seconds. Kernels before 5.11 lack it: libbpf resolves the test at
 * load time and the verifier never walks the other branch. Events keep
 * the precise clock (lib/events.h).
 *
 * The coarse clock moves only at a tick, as jiffies do, and jiffies are
 * a load (the verifier inlines bpf_jiffies64 on 64-bit JITs) where the
 * clock is a helper call, the dearest step of an established packet
 * (~15 of ~80 ns, prog_bench). So the first packet after a tick, on
 * whichever CPU, reads the clock and caches it with its jiffies; the
 * others take the cache. ns is stored before jiffies (volatile: clang
 * keeps the order): a reader that sees the new jiffies with the old ns
 * (a CPU reordering the stores) lags one tick more, and no worse. */
static __always_inline __u64 cg_now(void)
{
	__u64 j, now;

	if (!bpf_core_enum_value_exists(enum bpf_func_id,
					BPF_FUNC_ktime_get_coarse_ns))
		return bpf_ktime_get_ns();
	j = bpf_jiffies64();
	if (j == *(volatile __u64 *)&cg_clock_jiffies)
		return *(volatile __u64 *)&cg_clock_ns;
	now = bpf_ktime_get_coarse_ns();
	*(volatile __u64 *)&cg_clock_ns = now;
	*(volatile __u64 *)&cg_clock_jiffies = j;
	return now;
}

#endif
