/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet parsing: from an skb to the flow tuple cellgate decides on.
 * IPv4 only (IPv6 is reported so the caller can drop it with its reason).
 * Handles IP options, fragments (ports of later fragments come from
 * cg_frags, recorded from the first) and ICMP errors (the embedded
 * packet's tuple, to find the flow the error is about).
 */
#ifndef CELLGATE_PARSE_H
#define CELLGATE_PARSE_H

#include "common.h"
#include "config.h"
#include "maps.h"

/* Bytes of IP header and L4 header cellgate reads at most: a 60-byte IPv4
 * header, then an ICMP error's 8 bytes, its embedded 60-byte IP header and
 * 8 bytes of its L4 header. Pulled into the linear area when missing. */
#define CG_MAX_HDR_LEN (60 + 8 + 60 + 8)

struct cg_pkt {
	struct cg_ct_key tuple; /* as seen: saddr/daddr/ports/proto */
	__u32 len; /* L3 bytes, for counters */
	__u32 ifindex; /* the interface the hook runs on, for events */
	__u16 l3_off; /* offsets from the start of the frame, for rewrites */
	__u16 l4_off;
	__u16 inner_l3_off; /* ICMP errors: the quoted packet's headers */
	__u16 inner_l4_off;
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_error; /* an ICMP error; inner holds what it is about */
	__u8 later_fragment; /* a fragment after the first: no L4 header */
	struct cg_ct_key inner; /* ICMP error: the embedded packet's tuple */
};

static __always_inline void cg_copy_addr(__u8 dst[4], const __be32 *src)
{
	__builtin_memcpy(dst, src, 4);
}

/* Make the first len bytes after the L2 header readable. */
static __always_inline int cg_pull(struct __sk_buff *skb, __u32 len)
{
	__u32 want = cg_l2_len + len;

	if (want > skb->len)
		want = skb->len;
	return bpf_skb_pull_data(skb, want);
}

/* L4 ports of a TCP/UDP header at l4; -1 if it does not fit. */
static __always_inline int cg_read_ports(void *l4, void *data_end, __u16 *sport,
					 __u16 *dport)
{
	__be16 *ports = l4;

	if ((void *)(ports + 2) > data_end)
		return -1;
	*sport = bpf_ntohs(ports[0]);
	*dport = bpf_ntohs(ports[1]);
	return 0;
}

/* ICMP echo identifiers go in sport for requests, dport for replies, so
 * that a reply's reversed tuple is its request's tuple. */
static __always_inline void cg_icmp_echo_ports(struct cg_ct_key *t, __u8 type,
					       __be16 id)
{
	if (type == ICMP_ECHO) {
		t->sport = bpf_ntohs(id);
		t->dport = 0;
	} else {
		t->sport = 0;
		t->dport = bpf_ntohs(id);
	}
}

/* The tuple of the IP packet embedded in an ICMP error at inner_ip. */
static __always_inline enum cg_drop_reason
cg_parse_icmp_inner(void *data, void *inner_ip, void *data_end,
		    struct cg_pkt *pkt)
{
	struct cg_ct_key *t = &pkt->inner;
	struct iphdr *iph = inner_ip;
	struct icmphdr *icmp;
	__u32 hlen;
	void *l4;

	if ((void *)(iph + 1) > data_end)
		return CG_DROP_MALFORMED;
	hlen = (iph->ihl & 0xf) * 4;
	if (iph->version != 4 || hlen < sizeof(*iph))
		return CG_DROP_MALFORMED;
	cg_copy_addr(t->saddr, &iph->saddr);
	cg_copy_addr(t->daddr, &iph->daddr);
	t->proto = iph->protocol;
	l4 = inner_ip + hlen;
	pkt->inner_l3_off = (__u16)(inner_ip - data);
	pkt->inner_l4_off = (__u16)(l4 - data);
	switch (iph->protocol) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		if (cg_read_ports(l4, data_end, &t->sport, &t->dport))
			return CG_DROP_MALFORMED;
		return CG_DROP_NONE;
	case IPPROTO_ICMP:
		icmp = l4;
		if ((void *)(icmp + 1) > data_end)
			return CG_DROP_MALFORMED;
		if (icmp->type != ICMP_ECHO && icmp->type != ICMP_ECHOREPLY)
			return CG_DROP_ICMP_UNRELATED; /* no error about errors */
		cg_icmp_echo_ports(t, icmp->type, icmp->un.echo.id);
		return CG_DROP_NONE;
	default:
		return CG_DROP_NONE;
	}
}

static __always_inline enum cg_drop_reason
cg_parse_icmp(void *data, void *l4, void *data_end, struct cg_pkt *pkt)
{
	struct icmphdr *icmp = l4;

	if ((void *)(icmp + 1) > data_end)
		return CG_DROP_MALFORMED;
	pkt->icmp_type = icmp->type;
	switch (icmp->type) {
	case ICMP_ECHO:
	case ICMP_ECHOREPLY:
		cg_icmp_echo_ports(&pkt->tuple, icmp->type, icmp->un.echo.id);
		return CG_DROP_NONE;
	case ICMP_DEST_UNREACH:
	case ICMP_TIME_EXCEEDED:
	case ICMP_PARAMETERPROB:
		pkt->icmp_error = 1;
		return cg_parse_icmp_inner(data, icmp + 1, data_end, pkt);
	default:
		return CG_DROP_ICMP_UNSUPPORTED;
	}
}

/* Ports of a non-first fragment, from what its first fragment recorded. */
static __always_inline enum cg_drop_reason
cg_parse_later_fragment(const struct iphdr *iph, struct cg_pkt *pkt)
{
	struct cg_frag_key fk = {};
	struct cg_frag_ports *fp;

	cg_copy_addr(fk.saddr, &iph->saddr);
	cg_copy_addr(fk.daddr, &iph->daddr);
	fk.ip_id = bpf_ntohs(iph->id);
	fk.proto = iph->protocol;
	fp = bpf_map_lookup_elem(&cg_frags, &fk);
	if (!fp)
		return CG_DROP_FRAGMENT;
	pkt->tuple.sport = fp->sport;
	pkt->tuple.dport = fp->dport;
	return CG_DROP_NONE;
}

static __always_inline void cg_record_first_fragment(const struct iphdr *iph,
						     const struct cg_pkt *pkt)
{
	struct cg_frag_key fk = {};
	struct cg_frag_ports fp = {
		.sport = pkt->tuple.sport,
		.dport = pkt->tuple.dport,
	};

	cg_copy_addr(fk.saddr, &iph->saddr);
	cg_copy_addr(fk.daddr, &iph->daddr);
	fk.ip_id = bpf_ntohs(iph->id);
	fk.proto = iph->protocol;
	bpf_map_update_elem(&cg_frags, &fk, &fp, BPF_ANY);
}

/* Ports (and TCP flags, ICMP details) of the L4 header at l4. */
static __always_inline enum cg_drop_reason
cg_parse_l4(void *data, void *l4, void *data_end, struct cg_pkt *pkt)
{
	struct cg_ct_key *t = &pkt->tuple;
	__u8 *flags;

	switch (t->proto) {
	case IPPROTO_TCP:
		flags = l4 + 13;
		if ((void *)(flags + 1) > data_end)
			return CG_DROP_MALFORMED;
		pkt->tcp_flags = *flags;
		return cg_read_ports(l4, data_end, &t->sport, &t->dport) ?
			       CG_DROP_MALFORMED :
			       CG_DROP_NONE;
	case IPPROTO_UDP:
		return cg_read_ports(l4, data_end, &t->sport, &t->dport) ?
			       CG_DROP_MALFORMED :
			       CG_DROP_NONE;
	case IPPROTO_ICMP:
		return cg_parse_icmp(data, l4, data_end, pkt);
	default:
		return CG_DROP_NONE; /* other protocols: addresses only */
	}
}

/* Parse the IPv4 packet whose header starts l3_off bytes into the frame.
 * The core shared by tc and XDP: on success the tuple and offsets are
 * filled; otherwise the reason to drop. */
static __always_inline enum cg_drop_reason
cg_parse_ipv4(void *data, void *data_end, __u32 l3_off, struct cg_pkt *pkt)
{
	struct iphdr *iph = data + l3_off;
	__u16 frag_off;
	__u32 hlen;

	if ((void *)(iph + 1) > data_end)
		return CG_DROP_MALFORMED;
	hlen = (iph->ihl & 0xf) * 4;
	if (iph->version != 4 || hlen < sizeof(*iph) ||
	    bpf_ntohs(iph->tot_len) < hlen)
		return CG_DROP_MALFORMED;

	cg_copy_addr(pkt->tuple.saddr, &iph->saddr);
	cg_copy_addr(pkt->tuple.daddr, &iph->daddr);
	pkt->tuple.proto = iph->protocol;
	pkt->l3_off = (__u16)l3_off;
	pkt->l4_off = (__u16)(l3_off + hlen);

	frag_off = bpf_ntohs(iph->frag_off);
	if (frag_off & IP_OFFSET) {
		/* Later fragments carry no L4 header. They pass only as part
		 * of a flow their first fragment was admitted into. */
		pkt->later_fragment = 1;
		return cg_parse_later_fragment(iph, pkt);
	}

	enum cg_drop_reason r =
		cg_parse_l4(data, (void *)iph + hlen, data_end, pkt);

	if (r == CG_DROP_NONE && (frag_off & IP_MF))
		cg_record_first_fragment(iph, pkt);
	return r;
}

/* Parse a frame in XDP: Ethernet, then IPv4. Returns false for frames
 * that are not IPv4 (ARP, IPv6: the stack's, passed untouched); else
 * true with *r telling whether the packet parsed. */
static __always_inline bool cg_parse_xdp(struct xdp_md *ctx, struct cg_pkt *pkt,
					 enum cg_drop_reason *r)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return false;
	pkt->len = (__u32)(data_end - data) - ETH_HLEN;
	pkt->ifindex = ctx->ingress_ifindex;
	*r = cg_parse_ipv4(data, data_end, ETH_HLEN, pkt);
	return true;
}

/* Bytes of L3 and L4 header this packet needs linear, as far as the
 * linear part tells: CG_MAX_HDR_LEN when it does not hold enough to say.
 * An ICMP error needs its quoted headers too. */
static __always_inline __u32 cg_hdr_need(void *l3, void *data_end)
{
	struct iphdr *iph = l3;
	struct icmphdr *icmp;
	__u32 hlen;

	if ((void *)(iph + 1) > data_end)
		return CG_MAX_HDR_LEN;
	hlen = (iph->ihl & 0xf) * 4;
	switch (iph->protocol) {
	case IPPROTO_TCP:
		return hlen + 14; /* ports and flags */
	case IPPROTO_ICMP:
		icmp = l3 + hlen;
		if ((void *)(icmp + 1) > data_end)
			return CG_MAX_HDR_LEN;
		if (icmp->type == ICMP_ECHO || icmp->type == ICMP_ECHOREPLY)
			return hlen + sizeof(*icmp);
		return CG_MAX_HDR_LEN;
	default:
		return hlen + 8; /* UDP's header; others need none */
	}
}

/* Parse a packet at tc: the L3 header is cg_l2_len bytes in. */
static __always_inline enum cg_drop_reason cg_parse(struct __sk_buff *skb,
						    struct cg_pkt *pkt)
{
	void *data, *data_end;
	__u32 need;

	pkt->ifindex = skb->ifindex;
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return CG_DROP_IPV6;
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return CG_DROP_UNSUPPORTED_L3;
	if (skb->len < cg_l2_len + sizeof(struct iphdr))
		return CG_DROP_MALFORMED;
	pkt->len = skb->len - cg_l2_len;

	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data_end - data < skb->len) {
		/* Headers may sit in paged data: make linear what this
		 * packet needs, once (a pull copies a cloned skb's head). */
		need = cg_hdr_need(data + cg_l2_len, data_end);
		if (data + cg_l2_len + need > data_end) {
			cg_pull(skb, need);
			data = (void *)(long)skb->data;
			data_end = (void *)(long)skb->data_end;
		}
	}
	return cg_parse_ipv4(data, data_end, cg_l2_len, pkt);
}

#endif
