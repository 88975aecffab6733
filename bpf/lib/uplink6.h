/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The uplink programs for IPv6 (issue 17): the internet over IPv6.
 *
 * With a routed prefix (uplink.prefix6), sources inside it leave as they
 * are: nothing is rewritten, and their replies come back routed to wg0,
 * whose conntrack matches them as replies. The cell's other sources (its
 * wg subnet6 and bridge outside the prefix, or every one of them when
 * there is no prefix) are masqueraded behind the uplink's IPv6 address
 * (NAT66, cg_nat6) on egress, and their replies, ICMPv6 errors too,
 * turned back in XDP: IPv4's masquerade (uplink_egress.bpf.c,
 * uplink_xdp.bpf.c), on the IPv6 maps. The router's own flows pass and
 * have their reply tuple reserved, as IPv4's do.
 *
 * Both entries are global functions, entered from the IPv4 programs on
 * their non-IPv4 branch: the IPv4 paths pay nothing more, and the IPv6
 * state lives in cg_nat6_work, not on their stack.
 *
 * Not yet: port forwards on the uplink's IPv6 address.
 */
#ifndef CELLGATE_UPLINK6_H
#define CELLGATE_UPLINK6_H

#include "common.h"
#include "counters.h"
#include "events6.h"
#include "nat6.h"

static __always_inline bool cg_addr6_zero(const __u8 a[16])
{
	const __u64 *w = (const __u64 *)a;

	return !(w[0] | w[1]);
}

/* Is addr inside the routed prefix (none when prefix_len is 0)? */
static __always_inline bool cg_in_prefix6(const __u8 addr[16],
					  const struct cg_settings6 *s)
{
	const __u64 *a = (const __u64 *)addr, *p = (const __u64 *)s->prefix;
	__u64 x0 = bpf_be64_to_cpu(a[0] ^ p[0]);
	__u64 x1 = bpf_be64_to_cpu(a[1] ^ p[1]);
	__u32 len = s->prefix_len;

	if (!len || len > 128)
		return false;
	if (len <= 64)
		return !(x0 >> (64 - len));
	return !x0 && (len == 128 || !(x1 >> (128 - len)));
}

/* Count a drop against the source's identity and tell the monitor. */
static __always_inline int cg_uplink6_drop(const struct cg_pkt6 *pkt,
					   enum cg_drop_reason reason)
{
	__u32 ident = cg_ident6_id_of(pkt->tuple.saddr);
	struct cg_counters *c = cg_counters_of(ident);

	if (c && reason < CG_DROP__MAX)
		c->drops[reason]++;
	cg_event6(pkt, ident, CG_EVENT_DROP, reason);
	return TC_ACT_SHOT;
}

/* One of the cell's own sources, which NAT66 translates: its networks
 * (wg subnet6, bridge) and linked cells' subnets. */
static __always_inline bool cg_nat6_source(const __u8 addr[16])
{
	return cg_local_net6_of(addr) != CG_NET_NONE || cg_identity6_of(addr);
}

/* The router's own flow: reserve its reply tuple (as host_flow). */
static __always_inline int cg_host_flow6(struct cg_nat6_work *w, __u64 now)
{
	struct cg_nat6_entry *e;

	cg_nat6_reverse(&w->key, &w->pkt.tuple);
	e = cg_nat6_lookup(&w->key, now);
	if (e && e->kind != CG_NAT_HOST)
		return cg_uplink6_drop(&w->pkt, CG_DROP_NAT_CONFLICT);
	if (e) {
		cg_nat6_touch(e, &w->pkt, &w->orig, now);
		return TC_ACT_OK;
	}
	__builtin_memset(&w->rev, 0, sizeof(w->rev));
	w->rev.kind = CG_NAT_HOST;
	w->rev.dir = CG_NAT_REPLY;
	w->rev.to = w->key;
	w->rev.expires_ns = now + cg_nat6_lifetime(&w->pkt, false);
	cg_nat6_insert(&w->key, &w->rev, now);
	return TC_ACT_OK;
}

static __always_inline int cg_masquerade6(struct __sk_buff *skb,
					  struct cg_nat6_work *w,
					  const struct cg_settings6 *s6,
					  const struct cg_settings *set,
					  __u64 now)
{
	enum cg_drop_reason r;

	w->orig = w->pkt.tuple;
	w->to = w->pkt.tuple;
	__builtin_memcpy(w->to.saddr, s6->uplink_addr, 16);
	/* Replies to WireGuard's port pass XDP untranslated. */
	r = cg_nat6_create(w, CG_NAT_MASQ, true,
			   w->pkt.tuple.proto == IPPROTO_UDP ? set->wg_port : 0,
			   now);
	if (r != CG_DROP_NONE)
		return cg_uplink6_drop(&w->pkt, r);
	return cg_skb_rewrite6(skb, &w->pkt, &w->to) ? TC_ACT_SHOT : TC_ACT_OK;
}

/* tc egress on the uplink, IPv6. */
__attribute__((noinline)) int cg_uplink_egress6(struct __sk_buff *skb)
{
	const struct cg_settings6 *s6 = cg_settings6_get();
	const struct cg_settings *set = cg_settings_get();
	struct cg_nat6_work *w = cg_nat6_work_get();
	struct cg_pkt6 *pkt;
	struct cg_nat6_entry *e;
	enum cg_drop_reason r;
	__u64 now;

	if (!skb || !s6 || !set || !w || cg_addr6_zero(s6->uplink_addr))
		return TC_ACT_OK; /* nothing to translate to */
	pkt = &w->pkt;
	r = cg_parse6(skb, pkt, &w->fk);
	if (r == CG_DROP_FRAGMENT && s6->masquerade &&
	    cg_nat6_source(pkt->tuple.saddr) &&
	    !cg_in_prefix6(pkt->tuple.saddr, s6))
		/* A later fragment of no known datagram: there is no
		 * translation to give it, and it must not leave with a
		 * private source. */
		return cg_uplink6_drop(pkt, CG_DROP_FRAGMENT);
	if (r != CG_DROP_NONE || pkt->icmp_error || pkt->nd ||
	    cg_addr6_scoped(pkt->tuple.saddr) ||
	    cg_in_prefix6(pkt->tuple.saddr, s6))
		return TC_ACT_OK; /* not ours, or routed as it is */
	if (set->wg_port && pkt->tuple.proto == IPPROTO_UDP &&
	    pkt->tuple.sport == set->wg_port &&
	    cg_addr6_eq(pkt->tuple.saddr, s6->uplink_addr))
		return TC_ACT_OK; /* WireGuard's own */

	now = cg_now();
	e = cg_nat6_lookup(&pkt->tuple, now);
	if (e) {
		if (e->kind == CG_NAT_HOST)
			return TC_ACT_OK;
		cg_nat6_touch(e, pkt, &w->key, now);
		return cg_skb_rewrite6(skb, pkt, &e->to) ? TC_ACT_SHOT :
							   TC_ACT_OK;
	}
	if (cg_addr6_eq(pkt->tuple.saddr, s6->uplink_addr))
		return cg_host_flow6(w, now);
	if (!s6->masquerade || !cg_nat6_source(pkt->tuple.saddr))
		return TC_ACT_OK;
	if (pkt->later_fragment)
		/* Its flow's translation expired meanwhile. */
		return cg_uplink6_drop(pkt, CG_DROP_FRAGMENT);
	return cg_masquerade6(skb, w, s6, set, now);
}

/* ---- XDP: from the internet ------------------------------------------------ */

/* Where the port of the quoted packet's source sits in its L4 header,
 * and its checksum: -1 when the quote has no such header we translate. */
static __always_inline int cg_quoted_l4(__u8 proto, __u32 *port_off,
					__u32 *sum_off)
{
	switch (proto) {
	case IPPROTO_TCP:
		*port_off = 0;
		*sum_off = 16;
		return 0;
	case IPPROTO_UDP:
		*port_off = 0;
		*sum_off = 6;
		return 0;
	case CG_NH_ICMP6:
		*port_off = 4; /* an echo request's identifier */
		*sum_off = 2;
		return 0;
	default:
		return -1;
	}
}

/* Point an ICMPv6 error about a masqueraded flow (quoting U:np -> S:sp,
 * what we sent) back at its peer P:pp: the quoted source and port, the
 * quoted L4 checksum (over them and its pseudo header) when quoted, the
 * outer destination, and the ICMPv6 checksum over all of it and its own
 * pseudo header. Only a quote without extension headers is translated;
 * another passes as it is, to the router. */
static __always_inline int cg_untranslate6_error(struct xdp_md *ctx,
						 const struct cg_pkt6 *pkt,
						 const struct cg_ct6_key *orig)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l4_off = pkt->l4_off & 0x3ff, port_off, sum_off;
	struct ipv6hdr *outer = data + (pkt->l3_off & 0x3ff);
	struct ipv6hdr *inner = data + l4_off + 8;
	__sum16 *icmp_sum = data + l4_off + 2;
	__be16 new_port = bpf_htons(orig->dport), *port;
	__sum16 *sum, old_sum;
	__u32 d, diff;
	__u8 *l4;

	if ((void *)(outer + 1) > data_end || (void *)(inner + 1) > data_end)
		return XDP_DROP;
	if (cg_quoted_l4(inner->nexthdr, &port_off, &sum_off))
		return XDP_PASS;
	l4 = (__u8 *)(inner + 1);
	port = (__be16 *)(l4 + (port_off & 7));
	if ((void *)(port + 1) > data_end)
		return XDP_DROP;
	d = cg_addr6_diff(0, (const __u8 *)&inner->saddr, orig->daddr);
	diff = cg_csum_diff(d, *port, new_port);
	sum = (__sum16 *)(l4 + (sum_off & 31));
	if ((void *)(sum + 1) <= data_end &&
	    !(inner->nexthdr == IPPROTO_UDP && !*sum)) {
		old_sum = *sum;
		cg_csum_apply(sum, diff);
		diff = cg_csum_diff(diff, old_sum, *sum);
	}
	*port = new_port;
	__builtin_memcpy(&inner->saddr, orig->daddr, 16);
	/* The outer destination was the same address (U): d again. */
	cg_csum_apply(icmp_sum, cg_csum_add(diff, d));
	__builtin_memcpy(&outer->daddr, orig->daddr, 16);
	return XDP_PASS;
}

/* XDP on the uplink, IPv6: replies of masqueraded flows back to their
 * peers. Anything else passes to the stack. */
__attribute__((noinline)) int cg_uplink_xdp6(struct xdp_md *ctx)
{
	const struct cg_settings6 *s6 = cg_settings6_get();
	const struct cg_settings *set = cg_settings_get();
	struct cg_nat6_work *w = cg_nat6_work_get();
	void *data, *data_end;
	struct cg_nat6_entry *e;
	struct ethhdr *eth;
	struct cg_pkt6 *pkt;
	__u64 now;

	if (!ctx || !s6 || !set || !w || cg_addr6_zero(s6->uplink_addr))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end ||
	    eth->h_proto != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	pkt = &w->pkt;
	cg_pkt6_reset(pkt);
	pkt->len = (__u32)(data_end - data) - ETH_HLEN;
	pkt->ifindex = ctx->ingress_ifindex;
	if (cg_parse_ipv6(data, data_end, ETH_HLEN, pkt, &w->fk) !=
		    CG_DROP_NONE ||
	    !cg_addr6_eq(pkt->tuple.daddr, s6->uplink_addr))
		return XDP_PASS; /* not translated, or not ours to judge */
	if (set->wg_port && pkt->tuple.proto == IPPROTO_UDP &&
	    pkt->tuple.dport == set->wg_port)
		return XDP_PASS; /* WireGuard's own */

	now = cg_now();
	if (pkt->icmp_error) {
		/* The quoted packet is one we sent: its reply is what the
		 * masquerade's reply entry is keyed by. */
		cg_nat6_reverse(&w->key, &pkt->inner);
		e = cg_nat6_lookup(&w->key, now);
		if (!e || e->kind != CG_NAT_MASQ || e->dir != CG_NAT_REPLY)
			return XDP_PASS;
		return cg_untranslate6_error(ctx, pkt, &e->to);
	}
	e = cg_nat6_lookup(&pkt->tuple, now);
	if (!e || e->kind == CG_NAT_HOST)
		return XDP_PASS; /* the router's own */
	cg_nat6_touch(e, pkt, &w->key, now);
	return cg_xdp_rewrite6(ctx, &e->to) ? XDP_DROP : XDP_PASS;
}

#endif
