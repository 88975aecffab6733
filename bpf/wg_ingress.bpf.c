// SPDX-License-Identifier: GPL-2.0-only
/*
 * tc ingress on the WireGuard interface: every packet a peer or linked
 * cell sends into the cell. WireGuard has already checked the sender's key
 * against the source address (cryptokey routing), so the source address is
 * the sender's identity.
 *
 * Established flows cost one conntrack lookup, two inlined epoch reads and
 * a counter update; a new flow one conntrack miss. New flows are judged by lib/policy.h and tracked.
 */
#define CG_HOOK CG_HOOK_WG_INGRESS

#include "lib/common.h"
#include "lib/config.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/conntrack.h"
#include "lib/counters.h"
#include "lib/nat.h"
#include "lib/exits.h"
#include "lib/wg_ingress6.h"
#include "lib/budget.h"

/* Conntrack here sees the tuple as it came over WireGuard; translations
 * (all of them to the wg address) are applied after it. */
static __always_inline int translate(struct __sk_buff *skb,
				     const struct cg_pkt *pkt, __u64 now)
{
	const struct cg_settings *set = cg_settings_get();
	struct cg_nat_entry *e;

	if (!set || !cg_addr_is(pkt->tuple.daddr, set->wg_addr))
		return TC_ACT_OK;
	e = cg_nat_lookup(&pkt->tuple, now);
	if (!e)
		return TC_ACT_OK; /* the router's own service */
	cg_nat_touch(e, pkt, now);
	return cg_skb_rewrite(skb, pkt, &e->to) ? TC_ACT_SHOT : TC_ACT_OK;
}

/* A new flow to a service port of the wg address: its translation. */
static __always_inline enum cg_drop_reason
expose_service(const struct cg_pkt *pkt, struct cg_ct_key *to, __u64 now)
{
	const struct cg_settings *set = cg_settings_get();
	const struct cg_dnat_target *dnat = cg_dnat_of(&pkt->tuple);
	struct cg_nat_request req = { .kind = CG_NAT_SERVICE_DNAT };
	struct cg_nat_entry *e;
	enum cg_drop_reason r;

	if (!dnat || !set)
		return CG_DROP_NONE;
	e = cg_nat_lookup(&pkt->tuple, now);
	if (e && e->kind == CG_NAT_SERVICE_DNAT) {
		/* Its conntrack entry went first: keep the translation. */
		*to = e->to;
		return CG_DROP_NONE;
	}
	req.orig = pkt->tuple;
	req.to = pkt->tuple;
	__builtin_memcpy(req.to.daddr, dnat->to_addr, 4);
	req.to.dport = dnat->to_port;
	/* The source is kept whole: the backend sees the peer as it is. */
	r = cg_nat_create(&req, set, now);
	*to = req.to;
	return r;
}

/* A new flow out through exit id (issue 20): with masquerade, its
 * translation to the exit's address (replies are turned back by the
 * exit's ingress program). The exit was found up by the caller. */
static __always_inline enum cg_drop_reason
exit_masquerade(const struct cg_pkt *pkt, __u32 id, struct cg_ct_key *to,
		__u64 now)
{
	const struct cg_settings *set = cg_settings_get();
	const struct cg_exit *x = cg_exit_get(id);
	struct cg_nat_request req = { .kind = CG_NAT_EXIT,
				      .alloc_sport = true };
	enum cg_drop_reason r;

	if (!x || !x->masquerade)
		return CG_DROP_NONE;
	if (!set || !*(const __u32 *)x->addr)
		return CG_DROP_EXIT_DOWN; /* no address to leave with */
	req.orig = pkt->tuple;
	req.to = pkt->tuple;
	__builtin_memcpy(req.to.saddr, x->addr, 4);
	r = cg_nat_create(&req, set, now);
	*to = req.to;
	return r;
}

/* An established packet of a flow that leaves by exit id: translated
 * (when the exit masquerades) and sent there. A flow whose translation
 * went (evicted) is dropped, and opened again by its next packet. */
static __always_inline int exit_established(struct __sk_buff *skb,
					    const struct cg_pkt *pkt,
					    const struct cg_ct_hit *hit,
					    __u32 id, __u64 now)
{
	const struct cg_exit *x = cg_exit_get(id);
	struct cg_nat_entry *e;

	if (!x)
		return TC_ACT_SHOT;
	if (x->masquerade) {
		e = cg_nat_lookup(&pkt->tuple, now);
		if (!e || e->kind != CG_NAT_EXIT) {
			cg_ct_delete(&hit->key);
			return cg_drop(pkt, cg_ct_sender(hit),
				       CG_DROP_EXIT_DOWN);
		}
		cg_nat_touch(e, pkt, now);
		if (cg_skb_rewrite(skb, pkt, &e->to))
			return TC_ACT_SHOT;
	}
	return cg_exit_send(skb, id, pkt->len, 0);
}

/* An ICMP error passes only if it is about a flow we track, and comes
 * from the identity the quoted packet went to: a peer must not quote
 * another peer's flow to reach what policy denies it. */
static __always_inline int from_wg_icmp_error(const struct cg_pkt *pkt,
					      __u64 now)
{
	const struct cg_identity *src = cg_identity_of(pkt->tuple.saddr);
	__u32 ident = src ? src->id : CG_IDENT_UNKNOWN;
	struct cg_ct_hit hit;

	if (!src)
		return cg_drop(pkt, ident, CG_DROP_UNKNOWN_SOURCE);
	if (!cg_ct_related(pkt, now, &hit) || cg_ct_receiver(&hit) != ident)
		return cg_drop(pkt, ident, CG_DROP_ICMP_UNRELATED);
	cg_count_rx(ident, pkt->len);
	return TC_ACT_OK;
}

/* A packet that belongs to no flow yet. */
static __always_inline int from_wg_new(struct __sk_buff *skb,
				       const struct cg_pkt *pkt, __u64 now)
{
	const struct cg_identity *src = cg_identity_of(pkt->tuple.saddr);
	struct cg_admission adm = {};
	struct cg_ct_key to = {};
	enum cg_drop_reason r;

	if (!src)
		return cg_drop(pkt, CG_IDENT_UNKNOWN, CG_DROP_UNKNOWN_SOURCE);
	if (pkt->later_fragment)
		return cg_drop(pkt, src->id, CG_DROP_FRAGMENT);
	if (pkt->tuple.proto == IPPROTO_ICMP && pkt->icmp_type != ICMP_ECHO)
		/* Only echo requests open ICMP flows; replies need one. */
		return cg_drop(pkt, src->id, CG_DROP_ICMP_UNRELATED);

	r = cg_policy_from_wg(src, &pkt->tuple, &adm);
	/* The kill switch, before the flow costs the peer anything. */
	if (r == CG_DROP_NONE && adm.exit_id &&
	    !cg_exit_ready(cg_exit_get(adm.exit_id)))
		r = CG_DROP_EXIT_DOWN;
	if (r == CG_DROP_NONE && cg_rate_new(skb, src, true, pkt->len))
		r = CG_DROP_RATE_LIMITED;
	/* Budget after policy: a denied flow costs the peer nothing. */
	if (r == CG_DROP_NONE && !cg_budget_take(src))
		r = CG_DROP_FLOW_BUDGET;
	if (r == CG_DROP_NONE)
		r = adm.exit_id ? exit_masquerade(pkt, adm.exit_id, &to, now) :
				  expose_service(pkt, &to, now);
	if (r == CG_DROP_SERVICE_DENIED || r == CG_DROP_CELL_DENIED)
		cg_count_service(adm.service, false);
	if (r == CG_DROP_EXIT_DOWN)
		cg_exit_count_drop(adm.exit_id);
	if (r != CG_DROP_NONE)
		return cg_drop(pkt, src->id, r);
	cg_count_service(adm.service, true);
	cg_ct_create(pkt, &adm, CG_CT_FROM_WG, now);
	cg_count_rx(src->id, pkt->len);
	if (to.proto && cg_skb_rewrite(skb, pkt, &to))
		return TC_ACT_SHOT;
	if (adm.exit_id)
		return cg_exit_send(skb, adm.exit_id, pkt->len, 0);
	return TC_ACT_OK;
}

SEC("tc")
int cg_wg_ingress(struct __sk_buff *skb)
{
	struct cg_pkt pkt = {};
	struct cg_ct_hit hit;
	enum cg_drop_reason r;
	__u32 exit_id;
	__u64 now;

	r = cg_parse(skb, &pkt);
	if (r != CG_DROP_NONE) {
		/* The family's one branch: IPv6 goes its own way when the
		 * cell has an IPv6 address, and is dropped as before (`ipv6`)
		 * when it is IPv4-only. */
		if (r == CG_DROP_IPV6 && cg_v6_enabled())
			return cg_wg_ingress6(skb);
		/* Charge the sender when the IP header got that far (the
		 * address is still zero, hence unknown, when it did not). */
		return cg_drop(&pkt, cg_ident_id_of(pkt.tuple.saddr), r);
	}

	now = cg_now();
	if (pkt.icmp_error)
		return from_wg_icmp_error(&pkt, now);
	if (!cg_ct_find(&pkt.tuple, now, &hit))
		return from_wg_new(skb, &pkt, now);
	/* A flow that leaves by an exit: the kill switch first (one ARRAY
	 * lookup, only for such flows), so a held packet is no rx. */
	exit_id = hit.reply ? 0 : hit.entry->exit_id;
	if (unlikely(exit_id) && !cg_exit_ready(cg_exit_get(exit_id))) {
		cg_exit_count_drop(exit_id);
		return cg_drop(&pkt, cg_ct_sender(&hit), CG_DROP_EXIT_DOWN);
	}
	if (cg_ct_established(skb, &hit, &pkt, true, now) != TC_ACT_OK)
		return TC_ACT_SHOT;
	if (unlikely(exit_id))
		return exit_established(skb, &pkt, &hit, exit_id, now);
	return translate(skb, &pkt, now);
}

char LICENSE[] SEC("license") = "GPL";
