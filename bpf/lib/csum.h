/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Incremental Internet checksum updates (RFC 1624: HC' = ~(~HC + ~m + m'))
 * for XDP, which has no checksum helpers. tc programs use
 * bpf_l3_csum_replace/bpf_l4_csum_replace instead: those also get
 * CHECKSUM_PARTIAL packets (GSO, local traffic) right.
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

#endif
