// SPDX-License-Identifier: GPL-2.0-only
/*
 * tc egress on the uplink: everything leaving for the internet. Replies
 * of port forwards get the uplink address back as their source; flows
 * from peers (with internet_access: wg0 ingress already checked) and from
 * the bridge are masqueraded behind the uplink address; the router's own
 * flows pass, and are recorded so that masquerade never hands out a
 * tuple the router uses.
 */
#define CG_HOOK CG_HOOK_UPLINK_EGRESS

#include "lib/common.h"
#include "lib/config.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/conntrack.h"
#include "lib/counters.h"
#include "lib/nat.h"

/* The router's own flow: reserve its reply tuple. If a masqueraded flow
 * holds that tuple already, the router's packet cannot go out without
 * its replies being taken for the peer's: drop it. */
static __always_inline int host_flow(const struct cg_pkt *pkt, __u64 now)
{
	struct cg_nat_entry host = { .kind = CG_NAT_HOST, .dir = CG_NAT_REPLY };
	struct cg_nat_entry *e;
	struct cg_ct_key reply;
	int r;

	cg_ct_reverse(&reply, &pkt->tuple);
	e = cg_nat_lookup(&reply, now);
	if (e && e->kind != CG_NAT_HOST)
		return cg_drop(pkt, CG_IDENT_UNKNOWN, CG_DROP_NAT_CONFLICT);
	if (e) {
		cg_nat_touch(e, pkt, now);
		return TC_ACT_OK;
	}
	host.to = reply;
	host.expires_ns = now + cg_nat_lifetime(pkt, false);
	/* Replaces an expired entry not collected yet (a lapsed
	 * reservation): a plain NOEXIST insert would fail on it for good. */
	r = cg_nat_insert(&reply, &host, now);
	if (r >= 0)
		cg_nat_count_insert(r);
	return TC_ACT_OK;
}

static __always_inline int masquerade(struct __sk_buff *skb,
				      const struct cg_pkt *pkt,
				      const struct cg_settings *set, __u64 now)
{
	struct cg_nat_request req = { .kind = CG_NAT_MASQ,
				      .alloc_sport = true };
	enum cg_drop_reason r;

	req.orig = pkt->tuple;
	req.to = pkt->tuple;
	__builtin_memcpy(req.to.saddr, set->uplink_addr, 4);
	/* Replies to WireGuard's port pass XDP untranslated. */
	if (pkt->tuple.proto == IPPROTO_UDP)
		req.avoid_port = set->wg_port;
	r = cg_nat_create(&req, set, now);
	if (r != CG_DROP_NONE)
		return cg_drop(pkt, cg_ident_id_of(pkt->tuple.saddr), r);
	return cg_skb_rewrite(skb, pkt, &req.to) ? TC_ACT_SHOT : TC_ACT_OK;
}

/* A later fragment whose first fragment was not seen (reordered, or its
 * record evicted): there is no translation to give it, and a masqueraded
 * source must not leave with its private address. */
static __always_inline int orphan_fragment(const struct cg_pkt *pkt,
					   const struct cg_settings *set)
{
	if (!set->masquerade || cg_addr_is(pkt->tuple.saddr, set->uplink_addr))
		return TC_ACT_OK;
	return cg_drop(pkt, cg_ident_id_of(pkt->tuple.saddr), CG_DROP_FRAGMENT);
}

SEC("tc")
int cg_uplink_egress(struct __sk_buff *skb)
{
	const struct cg_settings *set = cg_settings_get();
	struct cg_pkt pkt = {};
	struct cg_nat_entry *e;
	enum cg_drop_reason r;
	__u64 now;

	r = cg_parse(skb, &pkt);
	if (!set || !*(const __u32 *)set->uplink_addr)
		return TC_ACT_OK; /* nothing to translate to */
	if (r == CG_DROP_FRAGMENT)
		return orphan_fragment(&pkt, set);
	if (r != CG_DROP_NONE || pkt.icmp_error)
		return TC_ACT_OK; /* not ours: the stack decides */
	if (cg_is_wg_port(&pkt.tuple, set, true))
		return TC_ACT_OK; /* WireGuard's own: no lookup */

	now = cg_now();
	e = cg_nat_lookup(&pkt.tuple, now);
	/* The flow left by an exit before its peer's exit changed (issue
	 * 20): masqueraded anew, never with the exit's address. */
	if (e && e->kind == CG_NAT_EXIT)
		e = NULL;
	if (e) {
		if (e->kind == CG_NAT_HOST)
			return TC_ACT_OK;
		cg_nat_touch(e, &pkt, now);
		return cg_skb_rewrite(skb, &pkt, &e->to) ? TC_ACT_SHOT :
							   TC_ACT_OK;
	}
	if (cg_addr_is(pkt.tuple.saddr, set->uplink_addr))
		return host_flow(&pkt, now);
	if (!set->masquerade)
		return TC_ACT_OK;
	if (pkt.later_fragment)
		/* Its flow's translation expired meanwhile. */
		return orphan_fragment(&pkt, set);
	return masquerade(skb, &pkt, set, now);
}

char LICENSE[] SEC("license") = "GPL";
