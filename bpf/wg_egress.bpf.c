// SPDX-License-Identifier: GPL-2.0-only
/*
 * tc egress on the WireGuard interface: every packet the cell sends to a
 * peer or linked cell, whether routed from the bridge, the uplink, another
 * peer, or from the router itself. Counts traffic per receiving identity,
 * keeps the outside from opening flows toward peers, and translates:
 * replies of exposed services get the wg address back as their source;
 * flows from the bridge to linked cells, and port forwards to WireGuard
 * targets, leave with the wg address as their source (the far side's
 * cryptokey routing accepts nothing else). Conntrack here sees the tuple
 * as it leaves over WireGuard: translations come first.
 */
#define CG_HOOK CG_HOOK_WG_EGRESS

#include "lib/common.h"
#include "lib/config.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/conntrack.h"
#include "lib/counters.h"
#include "lib/nat.h"
#include "lib/wg_egress6.h"

/* Track a new flow (its tuple as it leaves) and count it. */
static __always_inline int to_wg_admit(struct __sk_buff *skb,
				       const struct cg_pkt *wire,
				       const struct cg_identity *dst,
				       struct cg_admission *adm,
				       enum cg_ct_origin origin, __u64 now)
{
	if (cg_rate_new(skb, dst, false, wire->len))
		return cg_drop(wire, dst->id, CG_DROP_RATE_LIMITED);
	cg_ct_create(wire, adm, origin, now);
	cg_count_tx(dst->id, wire->len);
	return TC_ACT_OK;
}

/* A packet of a translated flow: rewrite it, then track it as it leaves
 * (pkt then holds the tuple as it leaves: no second cg_pkt on a stack
 * that cg_nat_claim_port's shares). */
static __always_inline int to_wg_translated(struct __sk_buff *skb,
					    struct cg_pkt *pkt,
					    struct cg_nat_entry *e, __u64 now)
{
	const struct cg_identity *dst;
	struct cg_admission adm = {};
	struct cg_ct_hit hit;

	cg_nat_touch(e, pkt, now);
	if (cg_skb_rewrite(skb, pkt, &e->to))
		return TC_ACT_SHOT;
	pkt->tuple = e->to;
	if (cg_ct_find(&pkt->tuple, now, &hit))
		return cg_ct_established(skb, &hit, pkt, false, now);
	/* The translation outlived its conntrack entry: the flow now comes
	 * from the wg address, one of the cell's own. */
	dst = cg_identity_of(pkt->tuple.daddr);
	if (!dst)
		return TC_ACT_OK;
	cg_policy_to_wg(&pkt->tuple, dst, &adm);
	return to_wg_admit(skb, pkt, dst, &adm, CG_CT_TO_WG, now);
}

/* ICMP errors toward a peer: about one of its flows, or from the router
 * itself (fragmentation needed, TTL exceeded on the way out). */
static __always_inline int to_wg_icmp_error(const struct cg_pkt *pkt,
					    const struct cg_identity *dst,
					    __u64 now)
{
	struct cg_ct_hit hit;

	if (!cg_ct_related(pkt, now, &hit) &&
	    !cg_is_local_net(pkt->tuple.saddr))
		return cg_drop(pkt, dst->id, CG_DROP_ICMP_UNRELATED);
	cg_count_tx(dst->id, pkt->len);
	return TC_ACT_OK;
}

/* Give a new flow the wg address as its source (pkt then holds the
 * tuple as it leaves). */
static __always_inline int snat_to_wg(struct __sk_buff *skb, struct cg_pkt *pkt,
				      const struct cg_identity *dst,
				      enum cg_nat_kind kind, __u32 owner,
				      __u64 now)
{
	const struct cg_settings *set = cg_settings_get();
	struct cg_nat_request req = { .kind = kind,
				      .owner = owner,
				      .alloc_sport = true };
	struct cg_admission adm = {};
	enum cg_drop_reason r;

	if (!set)
		return cg_drop(pkt, dst->id, CG_DROP_NAT_EXHAUSTED);
	req.orig = pkt->tuple;
	req.to = pkt->tuple;
	__builtin_memcpy(req.to.saddr, set->wg_addr, 4);
	r = cg_nat_create(&req, set, now);
	if (r != CG_DROP_NONE)
		return cg_drop(pkt, dst->id, r);
	if (cg_skb_rewrite(skb, pkt, &req.to))
		return TC_ACT_SHOT;
	pkt->tuple = req.to;
	cg_policy_to_wg(&pkt->tuple, dst, &adm);
	return to_wg_admit(skb, pkt, dst, &adm, CG_CT_TO_WG, now);
}

/* The reply entry of a port forward whose flow this packet opens. */
static __always_inline struct cg_nat_entry *forward_of(const struct cg_pkt *pkt,
						       __u64 now)
{
	struct cg_nat_entry *e;
	struct cg_ct_key reply;

	cg_ct_reverse(&reply, &pkt->tuple);
	e = cg_nat_lookup(&reply, now);
	return e && e->kind == CG_NAT_FORWARD && e->dir == CG_NAT_REPLY ? e :
									  NULL;
}

/* A new flow toward a peer or cell. */
static __always_inline int to_wg_new(struct __sk_buff *skb, struct cg_pkt *pkt,
				     const struct cg_identity *dst, __u64 now)
{
	const struct cg_identity *src;
	struct cg_admission adm = {};
	struct cg_nat_entry *fwd;
	enum cg_drop_reason r;
	enum cg_net_kind net;

	if (pkt->later_fragment)
		return cg_drop(pkt, dst->id, CG_DROP_FRAGMENT);
	if (pkt->tuple.proto == IPPROTO_ICMP && pkt->icmp_type != ICMP_ECHO)
		return cg_drop(pkt, dst->id, CG_DROP_ICMP_UNRELATED);

	/* The source's network first: it says which identity map to look
	 * in, if any, and is all the policy below needs. */
	net = cg_local_net_of(pkt->tuple.saddr);
	src = cg_identity_in(pkt->tuple.saddr, net);
	if (src) {
		/* Peer to peer whose ingress entry was evicted meanwhile. */
		r = cg_policy_from_wg(src, &pkt->tuple, &adm);
		if (r != CG_DROP_NONE)
			return cg_drop(pkt, dst->id, r);
		return to_wg_admit(skb, pkt, dst, &adm, CG_CT_FROM_WG, now);
	}
	if (dst->kind == CG_KIND_CELL && net == CG_NET_BRIDGE)
		return snat_to_wg(skb, pkt, dst, CG_NAT_BRIDGE_SNAT, 0, now);
	/* Port forwards come in on the uplink: a bridge host is never
	 * their client, so its flows skip that lookup. */
	fwd = net == CG_NET_BRIDGE ? NULL : forward_of(pkt, now);
	if (fwd && fwd->snat_at_wg)
		return snat_to_wg(skb, pkt, dst, CG_NAT_WG_SNAT, fwd->owner,
				  now);
	r = cg_policy_to_wg_from(net, dst, &adm);
	if (fwd)
		/* A port forward let it in: not unsolicited. */
		return to_wg_admit(skb, pkt, dst, &adm, CG_CT_FORWARDED, now);
	if (r != CG_DROP_NONE)
		return cg_drop(pkt, dst->id, r);
	return to_wg_admit(skb, pkt, dst, &adm, CG_CT_TO_WG, now);
}

SEC("tc")
int cg_wg_egress(struct __sk_buff *skb)
{
	const struct cg_identity *dst;
	struct cg_nat_entry *e;
	struct cg_pkt pkt = {};
	struct cg_ct_hit hit;
	enum cg_drop_reason r;
	__u64 now;

	r = cg_parse(skb, &pkt);
	if (r != CG_DROP_NONE) {
		/* The family's one branch: IPv6 goes its own way when the
		 * cell has an IPv6 address, and is dropped as before (`ipv6`)
		 * when it is IPv4-only. */
		if (r == CG_DROP_IPV6 && cg_v6_enabled())
			return cg_wg_egress6(skb);
		/* Charge the receiver when the IP header got that far. */
		return cg_drop(&pkt, cg_ident_id_of(pkt.tuple.daddr), r);
	}

	now = cg_now();
	if (!pkt.icmp_error) {
		/* A known flow, whichever way it was opened (one lookup),
		 * else a reply of a service on the wg address (translated),
		 * else a new flow. */
		if (cg_ct_find(&pkt.tuple, now, &hit))
			return cg_ct_established(skb, &hit, &pkt, false, now);
		e = cg_nat_lookup(&pkt.tuple, now);
		if (e)
			return to_wg_translated(skb, &pkt, e, now);
	}

	dst = cg_identity_of(pkt.tuple.daddr);
	if (!dst)
		/* No peer or cell has this address: WireGuard has no key to
		 * send it with and drops it itself. */
		return TC_ACT_OK;
	if (pkt.icmp_error)
		return to_wg_icmp_error(&pkt, dst, now);
	return to_wg_new(skb, &pkt, dst, now);
}

char LICENSE[] SEC("license") = "GPL";
