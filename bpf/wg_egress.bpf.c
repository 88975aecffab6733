// SPDX-License-Identifier: GPL-2.0-only
/*
 * tc egress on the WireGuard interface: every packet the cell sends to a
 * peer or linked cell, whether routed from the bridge, the uplink, another
 * peer, or from the router itself. Counts traffic per receiving identity
 * and keeps the outside from opening flows toward peers.
 */
#include "lib/common.h"
#include "lib/config.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/conntrack.h"
#include "lib/counters.h"

static __always_inline int
to_wg_established(struct cg_ct_hit *hit, const struct cg_pkt *pkt, __u64 now)
{
	enum cg_drop_reason r;

	if (unlikely(!cg_ct_current(hit->entry))) {
		r = cg_ct_rejudge(hit);
		if (r != CG_DROP_NONE)
			return cg_drop(cg_ct_receiver(hit), r);
	}
	cg_ct_update(hit, pkt, now);
	cg_count_tx(cg_ct_receiver(hit), pkt->len);
	return TC_ACT_OK;
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
		return cg_drop(dst->id, CG_DROP_ICMP_UNRELATED);
	cg_count_tx(dst->id, pkt->len);
	return TC_ACT_OK;
}

/* A new flow toward a peer or cell. */
static __always_inline int to_wg_new(const struct cg_pkt *pkt,
				     const struct cg_identity *dst, __u64 now)
{
	const struct cg_identity *src;
	struct cg_admission adm = {};
	enum cg_ct_origin origin;
	enum cg_drop_reason r;

	if (pkt->later_fragment)
		return cg_drop(dst->id, CG_DROP_FRAGMENT);
	if (pkt->tuple.proto == IPPROTO_ICMP && pkt->icmp_type != ICMP_ECHO)
		return cg_drop(dst->id, CG_DROP_ICMP_UNRELATED);

	src = cg_identity_of(pkt->tuple.saddr);
	if (src) {
		/* Peer to peer whose ingress entry was evicted meanwhile. */
		r = cg_policy_from_wg(src, &pkt->tuple, &adm);
		origin = CG_CT_FROM_WG;
	} else {
		r = cg_policy_to_wg(&pkt->tuple, dst, &adm);
		origin = CG_CT_TO_WG;
	}
	if (r != CG_DROP_NONE)
		return cg_drop(dst->id, r);
	cg_ct_create(pkt, &adm, origin, now);
	cg_count_tx(dst->id, pkt->len);
	return TC_ACT_OK;
}

SEC("tc")
int cg_wg_egress(struct __sk_buff *skb)
{
	const struct cg_identity *dst;
	struct cg_pkt pkt = {};
	struct cg_ct_hit hit;
	enum cg_drop_reason r;
	__u64 now;

	r = cg_parse(skb, &pkt);
	if (r != CG_DROP_NONE)
		/* Charge the receiver when the IP header got that far. */
		return cg_drop(cg_ident_id_of(pkt.tuple.daddr), r);

	now = bpf_ktime_get_ns();
	if (!pkt.icmp_error && cg_ct_find(&pkt.tuple, now, &hit))
		return to_wg_established(&hit, &pkt, now);

	dst = cg_identity_of(pkt.tuple.daddr);
	if (!dst)
		/* No peer or cell has this address: WireGuard has no key to
		 * send it with and drops it itself. */
		return TC_ACT_OK;
	if (pkt.icmp_error)
		return to_wg_icmp_error(&pkt, dst, now);
	return to_wg_new(&pkt, dst, now);
}

char LICENSE[] SEC("license") = "GPL";
