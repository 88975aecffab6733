/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wg0 egress for IPv6 (issue 17): what cg_wg_egress does for IPv4, on
 * the IPv6 maps (see lib/wg_ingress6.h for why inlined, and the stack).
 *
 * Replies of services on the wg address6 get it back as their source
 * (cg_nat6), then are tracked as they leave. Not yet: the bridge's flows
 * to linked cells and port forwards, which leave as they are.
 */
#ifndef CELLGATE_WG_EGRESS6_H
#define CELLGATE_WG_EGRESS6_H

#include "common.h"
#include "conntrack6.h"
#include "counters.h"
#include "nat6.h"
#include "parse6.h"
#include "policy6.h"

/* ICMPv6 errors toward a peer: about one of its flows, or from the
 * cell's own networks (the router's Packet Too Big, time exceeded). */
static __always_inline int to_wg6_icmp_error(const struct cg_pkt6 *pkt,
					     const struct cg_identity *dst,
					     struct cg_ct6_hit *hit, __u64 now)
{
	if (!cg_ct6_related(pkt, now, hit) &&
	    cg_local_net6_of(pkt->tuple.saddr) == CG_NET_NONE)
		return cg_drop6(pkt, dst->id, CG_DROP_ICMP_UNRELATED);
	cg_count_tx(dst->id, pkt->len);
	return TC_ACT_OK;
}

/* A new IPv6 flow toward a peer or cell (as to_wg_new, untranslated). */
static __always_inline int to_wg6_new(struct __sk_buff *skb,
				      const struct cg_pkt6 *pkt,
				      const struct cg_identity *dst,
				      struct cg_admission *adm, __u64 now)
{
	const struct cg_identity *src;
	enum cg_ct_origin origin = CG_CT_TO_WG;
	enum cg_drop_reason r;
	enum cg_net_kind net;

	if (pkt->later_fragment)
		return cg_drop6(pkt, dst->id, CG_DROP_FRAGMENT);
	if (pkt->tuple.proto == CG_NH_ICMP6 &&
	    pkt->icmp_type != ICMP6_ECHO_REQUEST)
		return cg_drop6(pkt, dst->id, CG_DROP_ICMP_UNRELATED);

	__builtin_memset(adm, 0, sizeof(*adm));
	net = cg_local_net6_of(pkt->tuple.saddr);
	src = cg_identity6_in(pkt->tuple.saddr, net);
	if (src) {
		/* Peer to peer whose ingress entry was evicted meanwhile. */
		r = cg_policy6_from_wg(src, &pkt->tuple, adm);
		origin = CG_CT_FROM_WG;
	} else {
		r = cg_policy_to_wg_from(net, dst, adm);
	}
	if (r == CG_DROP_NONE && cg_rate_new(skb, dst, false, pkt->len))
		r = CG_DROP_RATE_LIMITED;
	if (r != CG_DROP_NONE)
		return cg_drop6(pkt, dst->id, r);
	cg_ct6_track(pkt, adm, origin, now);
	cg_count_tx(dst->id, pkt->len);
	return TC_ACT_OK;
}

/* A reply of a service on the wg address6 (a cg_nat6 entry of a service
 * DNAT): rewritten, then pkt holds the tuple as it leaves, which
 * conntrack knows. NULL-free: 1 when translated, 0 when not, -1 when
 * the rewrite failed. */
static __always_inline int to_wg6_translate(struct __sk_buff *skb,
					    struct cg_pkt6 *pkt, __u64 now)
{
	struct cg_nat6_work *w = cg_nat6_work_get();
	struct cg_nat6_entry *e = cg_nat6_lookup(&pkt->tuple, now);

	if (!e || !w || e->kind != CG_NAT_SERVICE_DNAT)
		return 0;
	cg_nat6_touch(e, pkt, &w->key, now);
	if (cg_skb_rewrite6(skb, pkt, &e->to))
		return -1;
	pkt->tuple = e->to;
	return 1;
}

/* A function, not inlined (see lib/wg_ingress6.h): the skb the download
 * shaper needs (lib/rate.h), kept alive across the walk, took the inlined
 * frame of cg_wg_egress past 512 bytes with cg_nat_claim_port's. About
 * 9 ns more on an established IPv6 packet (prog_bench). */
__attribute__((noinline)) int cg_wg_egress6(struct __sk_buff *skb)
{
	struct cg_scratch6 *s = cg_scratch6_get();
	const struct cg_identity *dst;
	struct cg_ct6_hit hit;
	struct cg_pkt6 *pkt;
	enum cg_drop_reason r;
	int t;
	__u64 now;

	if (!skb || !s)
		return TC_ACT_SHOT;
	pkt = &s->pkt;
	hit.key = &s->hkey;
	r = cg_parse6(skb, pkt, &s->fk);
	if (r != CG_DROP_NONE)
		return cg_drop6(pkt, cg_ident6_id_of(pkt->tuple.daddr), r);

	now = cg_now();
	if (!pkt->icmp_error && !pkt->nd) {
		if (cg_ct6_find(&pkt->tuple, now, &hit))
			return cg_ct6_established(skb, &hit, pkt, false, now);
		/* Else a reply of a service on the wg address6, whose flow
		 * conntrack knows by its translated tuple. */
		t = to_wg6_translate(skb, pkt, now);
		if (t < 0)
			return TC_ACT_SHOT;
		if (t && cg_ct6_find(&pkt->tuple, now, &hit))
			return cg_ct6_established(skb, &hit, pkt, false, now);
	}

	dst = cg_identity6_of(pkt->tuple.daddr);
	if (!dst)
		/* No peer or cell has this address (multicast, the
		 * router's own neighbour discovery): WireGuard has no key
		 * to send it with and drops it itself. */
		return TC_ACT_OK;
	if (pkt->icmp_error)
		return to_wg6_icmp_error(pkt, dst, &hit, now);
	if (pkt->nd) {
		/* The router's own (hop limit 255: not forwarded). */
		if (pkt->hop_limit != 255 || pkt->icmp_type == ICMP6_REDIRECT)
			return cg_drop6(pkt, dst->id, CG_DROP_ICMP_UNSUPPORTED);
		cg_count_tx(dst->id, pkt->len);
		return TC_ACT_OK;
	}
	return to_wg6_new(skb, pkt, dst, &s->adm, now);
}

#endif
