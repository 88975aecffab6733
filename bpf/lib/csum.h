/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Incremental Internet checksum updates (RFC 1624: HC' = ~(~HC + ~m + m'))
 * for XDP, which has no checksum helpers, and for the IP header at tc.
 * tc programs keep bpf_l4_csum_replace for L4 checksums: it knows the
 * skb's checksum state, so it also gets CHECKSUM_PARTIAL packets (GSO,
 * local traffic) and CHECKSUM_COMPLETE ones right.
 */
#ifndef CELLGATE_CSUM_H
#define CELLGATE_CSUM_H

#include "common.h"

static __always_inline __u16 cg_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* Replace a 16-bit word covered by *sum (both in network order). */
static __always_inline void cg_csum_replace2(__sum16 *sum, __be16 from,
					     __be16 to)
{
	__u32 s = (__u16) ~*sum;

	s += (__u16)~from;
	s += to;
	*sum = ~cg_csum_fold(s);
}

/* Replace a 32-bit word (an address) covered by *sum. */
static __always_inline void cg_csum_replace4(__sum16 *sum, __be32 from,
					     __be32 to)
{
	__u32 s = (__u16) ~*sum;

	s += (__u16) ~(from & 0xffff);
	s += (__u16) ~(from >> 16);
	s += to & 0xffff;
	s += to >> 16;
	*sum = ~cg_csum_fold(s);
}

/* A UDP checksum of 0 means "none" (RFC 768) and stays 0; a computed 0 is
 * sent as 0xffff. */
static __always_inline void cg_udp_csum_replace4(__sum16 *sum, __be32 from,
						 __be32 to)
{
	if (!*sum)
		return;
	cg_csum_replace4(sum, from, to);
	if (!*sum)
		*sum = 0xffff;
}

static __always_inline void cg_udp_csum_replace2(__sum16 *sum, __be16 from,
						 __be16 to)
{
	if (!*sum)
		return;
	cg_csum_replace2(sum, from, to);
	if (!*sum)
		*sum = 0xffff;
}

/*
 * Checksum offload: a local stack sending through a veth leaves the L4
 * checksum of TCP and UDP partial (CHECKSUM_PARTIAL): the field holds the
 * folded pseudo-header sum, not complemented, and whoever transmits sums
 * the segment into it. XDP gets no ip_summed, so it recognises such a
 * field by its value. A complete checksum that happens to hold the same
 * value (about 1 in 65536 packets from a wire) is taken for partial and
 * sent on with a wrong checksum: the receiver drops it, as a lost packet.
 */
static __always_inline __u16 cg_pseudo_sum(const struct iphdr *iph)
{
	__u32 s = (iph->saddr & 0xffff) + (iph->saddr >> 16);

	s += (iph->daddr & 0xffff) + (iph->daddr >> 16);
	s += bpf_htons((__u16)iph->protocol);
	s += bpf_htons((__u16)(bpf_ntohs(iph->tot_len) - iph->ihl * 4));
	return cg_csum_fold(s);
}

/* Replace an address in a partial checksum (a plain sum: no
 * complement). Ports are summed later with the segment: nothing to do. */
static __always_inline void cg_partial_replace4(__sum16 *sum, __be32 from,
						__be32 to)
{
	*sum = ~*sum;
	cg_csum_replace4(sum, from, to);
	*sum = ~*sum;
}

#endif
