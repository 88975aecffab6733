// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reference programs for the per-packet benchmark (tests/bench/prog_bench.c,
 * item 1 of docs/BENCHMARKS.md): what cellgate's programs are compared to,
 * built with the same flags as bpf/ and run through BPF_PROG_TEST_RUN in
 * the same process, on the same packets.
 *
 * - empty: returns "pass" at once. The floor of BPF_PROG_TEST_RUN itself
 *   (program dispatch, the loop), the unit every other cost is a ratio to.
 * - lookup: reads the IPv4 source address and looks it up in a hash map of
 *   N entries, keyed and sized like cg_peers (4-byte key, an identity-sized
 *   value, no preallocation). The cheapest thing a per-peer filter can do;
 *   the team's targets are ratios to it (established <= 1.5x, new <= 4x).
 *
 * Each comes for tc and for XDP, whose test runs differ in what they build
 * per call (an skb or an xdp_buff).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "abi.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define IPV4_SADDR_OFF 12 /* offset of the source address in the header */

/* Bytes before the IP header: 14, since BPF_PROG_TEST_RUN hands both hooks
 * an Ethernet frame (the same constant cellgate's programs get). */
const volatile __u32 bl_l2_len = 14;

/* The value cg_peers holds, so that the lookup copies nothing less. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cg_addr_key);
	__type(value, struct cg_identity);
	__uint(max_entries, 16); /* prog_bench sets N before load */
	__uint(map_flags, BPF_F_NO_PREALLOC);
} bl_peers SEC(".maps");

/* 1: the source is in bl_peers, 0: it is not, -1: no IPv4 header. */
static __always_inline int lookup_source(void *data, void *data_end)
{
	struct cg_addr_key key;
	__u8 *ip = data;

	if (bl_l2_len > 64)
		return -1; /* keeps the offset bounded for the verifier */
	ip += bl_l2_len;
	if ((void *)(ip + IPV4_SADDR_OFF + 4) > data_end)
		return -1;
	__builtin_memcpy(key.addr, ip + IPV4_SADDR_OFF, 4);
	return bpf_map_lookup_elem(&bl_peers, &key) != NULL;
}

SEC("tc")
int bl_empty_tc(struct __sk_buff *skb)
{
	(void)skb;
	return TC_ACT_OK;
}

SEC("xdp")
int bl_empty_xdp(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

SEC("tc")
int bl_lookup_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	return lookup_source(data, data_end) == 1 ? TC_ACT_OK : TC_ACT_SHOT;
}

SEC("xdp")
int bl_lookup_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	return lookup_source(data, data_end) == 1 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
