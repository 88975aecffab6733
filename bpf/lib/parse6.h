/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IPv6 packet parsing for the wg0 programs: from an skb to the flow tuple
 * (struct cg_ct6_key). Apart from lib/parse.h so the IPv4 path stays as
 * it is: the programs branch on the family once, on cg_parse's
 * CG_DROP_IPV6.
 *
 * Extension headers are walked, at most CG_MAX_EXT6 of them (hop-by-hop
 * first only, routing, destination options, fragment); a longer chain,
 * or a routing header with segments left (the packet's real destination
 * would be another), is still unsupported: CG_DROP_IPV6. Later fragments
 * take their ports from what the first recorded (cg_frags6). ICMPv6
 * errors carry the quoted packet's tuple; neighbour discovery is told
 * apart (its hop limit too) for the hooks to judge.
 */
#ifndef CELLGATE_PARSE6_H
#define CELLGATE_PARSE6_H

#include "common.h"
#include "config.h"
#include "maps.h"
#include "parse.h"

/* Next-header values (RFC 8200, IANA; macros of uapi/linux/in6.h, so
 * not in vmlinux.h). */
#define CG_NH_HOP 0
#define CG_NH_TCP 6
#define CG_NH_UDP 17
#define CG_NH_ROUTING 43
#define CG_NH_FRAGMENT 44
#define CG_NH_ICMP6 58
#define CG_NH_DEST 60

/* ICMPv6 types (RFC 4443, RFC 4861). */
#define ICMP6_DEST_UNREACH 1
#define ICMP6_PACKET_TOO_BIG 2
#define ICMP6_TIME_EXCEEDED 3
#define ICMP6_PARAM_PROB 4
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define ICMP6_ROUTER_SOLICIT 133
#define ICMP6_ROUTER_ADVERT 134
#define ICMP6_NEIGH_SOLICIT 135
#define ICMP6_NEIGH_ADVERT 136
#define ICMP6_REDIRECT 137

/* Extension headers walked before the upper layer: real traffic has
 * none or one (a fragment header); 4 is every kind once. A quoted packet
 * (an ICMPv6 error's) gets 2: each header walked costs the verifier
 * about 2000 instructions per walk. */
#define CG_MAX_EXT6 4
#define CG_MAX_EXT6_QUOTED 2
/* Bytes made linear when the headers are not: an IPv6 header, a few
 * extension headers and an L4 header, or an ICMPv6 error and its quote.
 * Headers beyond it are malformed here (RFC 7112: the whole chain
 * belongs in the first fragment, and chains this long are not seen). */
#define CG_MAX_HDR6_LEN 256

struct cg_pkt6 {
	struct cg_ct6_key tuple; /* as seen */
	__u32 len; /* L3 bytes, for counters */
	__u16 l3_off; /* offsets from the start of the frame */
	__u16 l4_off;
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_error; /* an ICMPv6 error; inner holds what it is about */
	__u8 later_fragment; /* a fragment after the first: no L4 header */
	__u8 nd; /* neighbour discovery (types 133-137) */
	__u8 hop_limit;
	__u8 pad[2];
	struct cg_ct6_key inner; /* ICMPv6 error: the quoted packet's tuple */
	__u32 ifindex; /* the interface the hook runs on, for events */
};

/* Ready pkt for a packet: what parsing may leave unwritten, zeroed (a
 * few 64-bit stores rather than the whole struct: this is the
 * established path; addresses are written first thing, or zeroed by
 * cg_pkt6_no_addrs when the header is cut short; inner is an error's). */
static __always_inline void cg_pkt6_reset(struct cg_pkt6 *pkt)
{
	*(__u64 *)&pkt->tuple.sport = 0; /* ports, proto, pad */
	*(__u64 *)&pkt->len = 0; /* len, l3_off, l4_off */
	*(__u64 *)&pkt->tcp_flags = 0; /* the flags, hop limit, pad */
}

static __always_inline void cg_pkt6_no_addrs(struct cg_ct6_key *t)
{
	__u64 *a = (__u64 *)t->saddr;

	a[0] = a[1] = a[2] = a[3] = 0;
}

/* Where the extension-header walk ended. */
struct cg_walk6 {
	void *l4; /* the upper-layer header; NULL for later fragments */
	__u32 frag_id;
	__u8 proto; /* the upper-layer protocol */
	__u8 first_fragment; /* offset 0, more to come */
	__u8 later_fragment;
};

static __always_inline bool cg_nh_is_ext(__u8 nh)
{
	return nh == CG_NH_HOP || nh == CG_NH_ROUTING || nh == CG_NH_DEST ||
	       nh == CG_NH_FRAGMENT;
}

/* Walk the extension headers after the IPv6 header at ip6, at most max
 * (a constant). */
static __always_inline enum cg_drop_reason
cg_walk6(struct ipv6hdr *ip6, void *data_end, struct cg_walk6 *w, const int max)
{
	__u8 *h = (__u8 *)(ip6 + 1);
	__u8 nh = ip6->nexthdr;
	__u16 fo;
	int i;

#pragma unroll
	for (i = 0; i < max; i++) {
		if (!cg_nh_is_ext(nh))
			break;
		if ((void *)(h + 8) > data_end)
			return CG_DROP_MALFORMED;
		if (nh == CG_NH_HOP && i > 0)
			return CG_DROP_MALFORMED; /* only first (RFC 8200 4.1) */
		if (nh == CG_NH_ROUTING && h[3] != 0)
			return CG_DROP_IPV6; /* segments left: not supported */
		if (nh == CG_NH_FRAGMENT) {
			fo = bpf_ntohs(*(__be16 *)(h + 2));
			w->frag_id = bpf_ntohl(*(__be32 *)(h + 4));
			nh = h[0];
			if (fo & 0xfff8) {
				w->later_fragment = 1;
				w->proto = nh;
				w->l4 = NULL;
				return CG_DROP_NONE;
			}
			w->first_fragment = fo & 1;
			h += 8;
			continue;
		}
		nh = h[0];
		h += ((__u32)h[1] + 1) * 8;
	}
	if (cg_nh_is_ext(nh))
		return CG_DROP_IPV6; /* a chain longer than we walk */
	w->l4 = h;
	w->proto = nh;
	return CG_DROP_NONE;
}

/* ICMPv6 echo identifiers: sport of requests, dport of replies, so that
 * a reply's reversed tuple is its request's (as IPv4's). */
static __always_inline void cg_icmp6_echo_ports(struct cg_ct6_key *t, __u8 type,
						__be16 id)
{
	if (type == ICMP6_ECHO_REQUEST) {
		t->sport = bpf_ntohs(id);
		t->dport = 0;
	} else {
		t->sport = 0;
		t->dport = bpf_ntohs(id);
	}
}

/* The tuple of the packet an ICMPv6 error quotes, at inner_ip. */
static __always_inline enum cg_drop_reason
cg_parse6_inner(void *inner_ip, void *data_end, struct cg_pkt6 *pkt)
{
	struct cg_ct6_key *t = &pkt->inner;
	struct ipv6hdr *ip6 = inner_ip;
	struct cg_walk6 w = {};
	enum cg_drop_reason r;
	__u8 *l4;

	*(__u64 *)&t->sport = 0;
	if ((void *)(ip6 + 1) > data_end)
		return CG_DROP_MALFORMED;
	if ((*(__u8 *)ip6 >> 4) != 6)
		return CG_DROP_MALFORMED;
	__builtin_memcpy(t->saddr, &ip6->saddr, 16);
	__builtin_memcpy(t->daddr, &ip6->daddr, 16);
	r = cg_walk6(ip6, data_end, &w, CG_MAX_EXT6_QUOTED);
	if (r != CG_DROP_NONE)
		return r;
	t->proto = w.proto;
	l4 = w.l4;
	if (!l4)
		return CG_DROP_NONE; /* a later fragment: no ports quoted */
	switch (w.proto) {
	case CG_NH_TCP:
	case CG_NH_UDP:
		if (cg_read_ports(l4, data_end, &t->sport, &t->dport))
			return CG_DROP_MALFORMED;
		return CG_DROP_NONE;
	case CG_NH_ICMP6:
		if ((void *)(l4 + 8) > data_end)
			return CG_DROP_MALFORMED;
		if (l4[0] != ICMP6_ECHO_REQUEST && l4[0] != ICMP6_ECHO_REPLY)
			return CG_DROP_ICMP_UNRELATED; /* no error about errors */
		cg_icmp6_echo_ports(t, l4[0], *(__be16 *)(l4 + 4));
		return CG_DROP_NONE;
	default:
		return CG_DROP_NONE;
	}
}

static __always_inline enum cg_drop_reason
cg_parse_icmp6(__u8 *l4, void *data_end, struct cg_pkt6 *pkt)
{
	if ((void *)(l4 + 8) > data_end)
		return CG_DROP_MALFORMED;
	pkt->icmp_type = l4[0];
	switch (l4[0]) {
	case ICMP6_ECHO_REQUEST:
	case ICMP6_ECHO_REPLY:
		cg_icmp6_echo_ports(&pkt->tuple, l4[0], *(__be16 *)(l4 + 4));
		return CG_DROP_NONE;
	case ICMP6_DEST_UNREACH:
	case ICMP6_PACKET_TOO_BIG:
	case ICMP6_TIME_EXCEEDED:
	case ICMP6_PARAM_PROB:
		pkt->icmp_error = 1;
		return cg_parse6_inner(l4 + 8, data_end, pkt);
	case ICMP6_ROUTER_SOLICIT:
	case ICMP6_ROUTER_ADVERT:
	case ICMP6_NEIGH_SOLICIT:
	case ICMP6_NEIGH_ADVERT:
	case ICMP6_REDIRECT:
		pkt->nd = 1;
		return CG_DROP_NONE;
	default:
		return CG_DROP_ICMP_UNSUPPORTED;
	}
}

/* fk: a buffer for the key (the caller's scratch, off the stack). */
static __always_inline void cg_frag6_key_of(struct cg_frag6_key *fk,
					    const struct cg_pkt6 *pkt, __u32 id)
{
	__builtin_memcpy(fk->saddr, pkt->tuple.saddr, 16);
	__builtin_memcpy(fk->daddr, pkt->tuple.daddr, 16);
	fk->id = id;
}

/* Ports and protocol of a later fragment, from its first fragment. */
static __always_inline enum cg_drop_reason
cg_parse6_later_fragment(struct cg_pkt6 *pkt, __u32 id, struct cg_frag6_key *fk)
{
	struct cg_frag6_ports *fp;

	cg_frag6_key_of(fk, pkt, id);
	fp = bpf_map_lookup_elem(&cg_frags6, fk);
	if (!fp)
		return CG_DROP_FRAGMENT;
	pkt->tuple.sport = fp->sport;
	pkt->tuple.dport = fp->dport;
	pkt->tuple.proto = fp->proto;
	return CG_DROP_NONE;
}

static __always_inline void cg_record6_first_fragment(const struct cg_pkt6 *pkt,
						      __u32 id,
						      struct cg_frag6_key *fk)
{
	struct cg_frag6_ports fp = {
		.sport = pkt->tuple.sport,
		.dport = pkt->tuple.dport,
		.proto = pkt->tuple.proto,
	};

	cg_frag6_key_of(fk, pkt, id);
	bpf_map_update_elem(&cg_frags6, fk, &fp, BPF_ANY);
}

/* Ports (and TCP flags, ICMPv6 details) of the upper-layer header. */
static __always_inline enum cg_drop_reason
cg_parse6_l4(__u8 *l4, void *data_end, struct cg_pkt6 *pkt)
{
	struct cg_ct6_key *t = &pkt->tuple;

	switch (t->proto) {
	case CG_NH_TCP:
		if ((void *)(l4 + 14) > data_end)
			return CG_DROP_MALFORMED;
		pkt->tcp_flags = l4[13];
		return cg_read_ports(l4, data_end, &t->sport, &t->dport) ?
			       CG_DROP_MALFORMED :
			       CG_DROP_NONE;
	case CG_NH_UDP:
		return cg_read_ports(l4, data_end, &t->sport, &t->dport) ?
			       CG_DROP_MALFORMED :
			       CG_DROP_NONE;
	case CG_NH_ICMP6:
		return cg_parse_icmp6(l4, data_end, pkt);
	default:
		return CG_DROP_NONE; /* other protocols: addresses only */
	}
}

/* Parse the IPv6 packet l3_off bytes into the frame. */
static __always_inline enum cg_drop_reason
cg_parse_ipv6(void *data, void *data_end, __u32 l3_off, struct cg_pkt6 *pkt,
	      struct cg_frag6_key *fk)
{
	struct ipv6hdr *ip6 = data + l3_off;
	struct cg_walk6 w = {};
	enum cg_drop_reason r;

	if ((void *)(ip6 + 1) > data_end || (*(__u8 *)ip6 >> 4) != 6) {
		cg_pkt6_no_addrs(&pkt->tuple);
		return CG_DROP_MALFORMED;
	}
	__builtin_memcpy(pkt->tuple.saddr, &ip6->saddr, 16);
	__builtin_memcpy(pkt->tuple.daddr, &ip6->daddr, 16);
	pkt->hop_limit = ip6->hop_limit;
	pkt->l3_off = (__u16)l3_off;
	r = cg_walk6(ip6, data_end, &w, CG_MAX_EXT6);
	if (r != CG_DROP_NONE)
		return r;
	pkt->tuple.proto = w.proto;
	if (w.later_fragment || !w.l4) {
		/* Later fragments pass only as part of a flow their first
		 * fragment was admitted into. */
		pkt->later_fragment = 1;
		return cg_parse6_later_fragment(pkt, w.frag_id, fk);
	}
	pkt->l4_off = (__u16)(w.l4 - data);
	r = cg_parse6_l4(w.l4, data_end, pkt);
	if (r == CG_DROP_NONE && w.first_fragment)
		cg_record6_first_fragment(pkt, w.frag_id, fk);
	return r;
}

/* Parse an IPv6 packet at tc (cg_parse said CG_DROP_IPV6); fk is a
 * buffer for fragments' keys. */
static __always_inline enum cg_drop_reason
cg_parse6(struct __sk_buff *skb, struct cg_pkt6 *pkt, struct cg_frag6_key *fk)
{
	void *data, *data_end;

	cg_pkt6_reset(pkt);
	pkt->ifindex = skb->ifindex;
	if (skb->len < cg_l2_len + sizeof(struct ipv6hdr)) {
		cg_pkt6_no_addrs(&pkt->tuple);
		return CG_DROP_MALFORMED;
	}
	pkt->len = skb->len - cg_l2_len;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data_end - data < skb->len &&
	    data + cg_l2_len + CG_MAX_HDR6_LEN > data_end) {
		/* Headers may sit in paged data: make them linear, once. */
		cg_pull(skb, CG_MAX_HDR6_LEN);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	return cg_parse_ipv6(data, data_end, cg_l2_len, pkt, fk);
}

#endif
