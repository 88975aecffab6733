// SPDX-License-Identifier: GPL-2.0-only
/*
 * tc ingress on an exit's interface (issue 20): replies of peers' flows
 * that wg0 ingress masqueraded behind the exit's address are turned back
 * toward their peer, and the kernel routes them to wg0, whose egress
 * sees a reply of a flow it tracks. Everything else passes untouched:
 * the interface is the operator's (a VPN's tun0, a WireGuard tunnel).
 *
 * Attached only to exits that masquerade (an exit that routes the cell's
 * subnet returns replies addressed to the peer already). The controller
 * loads this object twice, for L3 interfaces (cg_l2_len 0) and Ethernet
 * ones (14), and attaches the one that fits.
 *
 * ICMP errors about those flows (a router on the way saying the packet
 * is too big) are turned back too, quoted packet and all, as the
 * uplink's XDP does. Not yet: IPv6 (masquerading exits carry IPv4 only).
 */
#define CG_HOOK CG_HOOK_EXIT_INGRESS

#include "lib/common.h"
#include "lib/config.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/conntrack.h"
#include "lib/counters.h"
#include "lib/nat.h"

/* An ICMP error about a flow masqueraded behind the exit: the quoted
 * packet is one we sent; its reply is what the reply entry is keyed by. */
static __always_inline int exit_icmp_error(struct __sk_buff *skb,
					   const struct cg_pkt *pkt, __u64 now)
{
	struct cg_nat_entry *e;
	struct cg_ct_key reply;

	cg_ct_reverse(&reply, &pkt->inner);
	e = cg_nat_lookup(&reply, now);
	if (!e || e->kind != CG_NAT_EXIT || e->dir != CG_NAT_REPLY)
		return TC_ACT_OK;
	return cg_untranslate_icmp_error((void *)(long)skb->data,
					 (void *)(long)skb->data_end, pkt,
					 &e->to) ?
		       TC_ACT_SHOT :
		       TC_ACT_OK;
}

SEC("tc")
int cg_exit_ingress(struct __sk_buff *skb)
{
	struct cg_pkt pkt = {};
	struct cg_nat_entry *e;
	__u64 now;

	if (cg_parse(skb, &pkt) != CG_DROP_NONE)
		return TC_ACT_OK; /* not ours: the stack decides */
	now = cg_now();
	if (pkt.icmp_error)
		return exit_icmp_error(skb, &pkt, now);
	e = cg_nat_lookup(&pkt.tuple, now);
	if (!e || e->kind != CG_NAT_EXIT || e->dir != CG_NAT_REPLY)
		return TC_ACT_OK;
	cg_nat_touch(e, &pkt, now);
	return cg_skb_rewrite(skb, &pkt, &e->to) ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
