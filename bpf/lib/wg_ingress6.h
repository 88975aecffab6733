/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wg0 ingress for IPv6 (issue 17): what cg_wg_ingress does for IPv4, on
 * the IPv6 maps, with the same identities, verdicts and counters.
 * Entered once cg_parse has said CG_DROP_IPV6 and the cell has an IPv6
 * address: the IPv4 path pays one compare on its drop path.
 *
 * Inlined into the IPv4 program: as a global function it cost ~7 ns on
 * an established packet (prog_bench). Its state lives in a per-CPU map
 * (struct cg_scratch6), but the program's frame still grows from 320 to
 * 344 bytes, and its deepest chain (with cg_nat_claim_port's 136) is
 * then 512 bytes rounded, the verifier's limit: should the frame grow
 * ("combined stack size ... Too large"), make cg_wg_ingress6 and
 * cg_wg_egress6 __attribute__((noinline)) again.
 *
 * Not yet: services exposed on the wg address6 (DNAT).
 */
#ifndef CELLGATE_WG_INGRESS6_H
#define CELLGATE_WG_INGRESS6_H

#include "common.h"
#include "budget.h"
#include "conntrack6.h"
#include "counters.h"
#include "exits.h"
#include "parse6.h"
#include "policy6.h"

/* An ICMPv6 error passes only if it quotes a flow we track, comes from
 * the identity the quoted packet went to and goes back to its sender
 * (as from_wg_icmp_error). Packet Too Big above all: path MTU discovery
 * of every flow through the tunnel depends on it. */
static __always_inline int from_wg6_icmp_error(const struct cg_pkt6 *pkt,
					       struct cg_ct6_hit *hit,
					       __u64 now)
{
	const struct cg_identity *src = cg_identity6_of(pkt->tuple.saddr);
	__u32 ident = src ? src->id : CG_IDENT_UNKNOWN;

	if (!src)
		return cg_drop6(pkt, ident, CG_DROP_UNKNOWN_SOURCE);
	if (!cg_ct6_related(pkt, now, hit) || cg_ct6_receiver(hit) != ident)
		return cg_drop6(pkt, ident, CG_DROP_ICMP_UNRELATED);
	cg_count_rx(ident, pkt->len);
	return TC_ACT_OK;
}

/* Neighbour discovery from a peer: solicitations and advertisements to
 * a link-scope address, with hop limit 255 (so sent on this link, RFC
 * 4861 7.1.1), concern only the router. wg0 is L3 and WireGuard admits
 * no link-local source, so they rarely arrive at all. Router
 * advertisements and redirects are the router's to send, not a peer's. */
static __always_inline int from_wg6_nd(const struct cg_pkt6 *pkt)
{
	__u32 ident = cg_ident6_id_of(pkt->tuple.saddr);

	if (pkt->hop_limit != 255 || !cg_addr6_scoped(pkt->tuple.daddr) ||
	    pkt->icmp_type == ICMP6_ROUTER_ADVERT ||
	    pkt->icmp_type == ICMP6_REDIRECT)
		return cg_drop6(pkt, ident, CG_DROP_ICMP_UNSUPPORTED);
	cg_count_rx(ident, pkt->len);
	return TC_ACT_OK;
}

/* May an IPv6 packet leave by exit id? Masquerade has no IPv6 NAT yet:
 * such an exit carries IPv4 only, and holds IPv6 back (fail closed)
 * rather than show the peer's address. */
static __always_inline bool exit6_ready(__u32 id)
{
	const struct cg_exit *x = cg_exit_get(id);

	return cg_exit_ready(x) && !x->masquerade;
}

/* A packet that belongs to no flow yet (as from_wg_new). */
static __always_inline int from_wg6_new(struct __sk_buff *skb,
					const struct cg_pkt6 *pkt,
					struct cg_admission *adm, __u64 now)
{
	const struct cg_identity *src = cg_identity6_of(pkt->tuple.saddr);
	enum cg_drop_reason r;

	if (!src)
		return cg_drop6(pkt, CG_IDENT_UNKNOWN, CG_DROP_UNKNOWN_SOURCE);
	if (pkt->later_fragment)
		return cg_drop6(pkt, src->id, CG_DROP_FRAGMENT);
	if (pkt->tuple.proto == CG_NH_ICMP6 &&
	    pkt->icmp_type != ICMP6_ECHO_REQUEST)
		/* Only echo requests open ICMPv6 flows. */
		return cg_drop6(pkt, src->id, CG_DROP_ICMP_UNRELATED);

	__builtin_memset(adm, 0, sizeof(*adm));
	r = cg_policy6_from_wg(src, &pkt->tuple, adm);
	if (r == CG_DROP_NONE && adm->exit_id && !exit6_ready(adm->exit_id))
		r = CG_DROP_EXIT_DOWN;
	/* The peer's one budget: its IPv4 and IPv6 flows count alike. */
	if (r == CG_DROP_NONE && !cg_budget_take(src))
		r = CG_DROP_FLOW_BUDGET;
	if (r == CG_DROP_NONE && cg_rate_new(skb, src, true, pkt->len))
		r = CG_DROP_RATE_LIMITED;
	if (r == CG_DROP_SERVICE_DENIED || r == CG_DROP_CELL_DENIED)
		cg_count_service(adm->service, false);
	if (r == CG_DROP_EXIT_DOWN)
		cg_exit_count_drop(adm->exit_id);
	if (r != CG_DROP_NONE)
		return cg_drop6(pkt, src->id, r);
	cg_count_service(adm->service, true);
	cg_ct6_track(pkt, adm, CG_CT_FROM_WG, now);
	cg_count_rx(src->id, pkt->len);
	if (adm->exit_id)
		return cg_exit_send(skb, adm->exit_id, pkt->len, 1);
	return TC_ACT_OK;
}

static __always_inline int cg_wg_ingress6(struct __sk_buff *skb)
{
	struct cg_scratch6 *s = cg_scratch6_get();
	struct cg_ct6_hit hit;
	struct cg_pkt6 *pkt;
	enum cg_drop_reason r;
	__u32 exit_id;
	int act;
	__u64 now;

	if (!skb || !s)
		return TC_ACT_SHOT;
	pkt = &s->pkt;
	hit.key = &s->hkey;
	r = cg_parse6(skb, pkt, &s->fk);
	if (r != CG_DROP_NONE)
		return cg_drop6(pkt, cg_ident6_id_of(pkt->tuple.saddr), r);

	now = cg_now();
	if (pkt->icmp_error)
		return from_wg6_icmp_error(pkt, &hit, now);
	if (pkt->nd)
		return from_wg6_nd(pkt);
	if (!cg_ct6_find(&pkt->tuple, now, &hit))
		return from_wg6_new(skb, pkt, &s->adm, now);
	/* An exit's flow: the kill switch, then the steering (as IPv4's). */
	exit_id = hit.reply ? 0 : hit.entry->exit_id;
	if (unlikely(exit_id) && !exit6_ready(exit_id)) {
		cg_exit_count_drop(exit_id);
		return cg_drop6(pkt, cg_ct6_sender(&hit), CG_DROP_EXIT_DOWN);
	}
	act = cg_ct6_established(skb, &hit, pkt, true, now);
	if (act != TC_ACT_OK || likely(!exit_id))
		return act;
	return cg_exit_send(skb, exit_id, pkt->len, 1);
}

#endif
