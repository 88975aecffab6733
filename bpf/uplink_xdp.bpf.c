// SPDX-License-Identifier: GPL-2.0-only
/*
 * XDP on the uplink: packets from the internet to the uplink address.
 * Port forwards are translated here, on the fast path (destination only:
 * a source rewrite to the wg address, when a forward wants one, happens
 * on wg0 egress, because the kernel drops incoming packets whose source
 * is one of its own addresses); replies of masqueraded flows are turned
 * back toward their peer, ICMP errors about them too. Everything else is
 * the router's own and passes untouched.
 */
#define CG_HOOK CG_HOOK_UPLINK_XDP

#include "lib/common.h"
#include "lib/config.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/conntrack.h"
#include "lib/csum.h"
#include "lib/events.h"
#include "lib/nat.h"

static __always_inline struct cg_fwd_counters *fwd_counters(__u32 fwd_id)
{
	return bpf_map_lookup_elem(&cg_fwd_counters, &fwd_id);
}

static __always_inline void count_forwarded(__u32 fwd_id, __u32 len)
{
	struct cg_fwd_counters *c = fwd_counters(fwd_id);

	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

/* Does the forward's allow_from list admit src? */
static __always_inline bool fwd_allows(const struct cg_forward *fwd,
				       const __u8 src[4])
{
	struct cg_fwd_allow_key key = {
		.prefixlen = 64,
		.fwd_id = bpf_htonl(fwd->fwd_id),
	};

	if (!fwd->has_allow_from)
		return true;
	__builtin_memcpy(key.addr, src, 4);
	return bpf_map_lookup_elem(&cg_fwd_allow, &key) != NULL;
}

/* The first packet of a flow to a forwarded port. */
static __always_inline int forward_new(struct xdp_md *ctx,
				       const struct cg_pkt *pkt,
				       const struct cg_settings *set, __u64 now)
{
	struct cg_forward_key fk = { .port = pkt->tuple.dport,
				     .proto = pkt->tuple.proto };
	const struct cg_forward *fwd;
	struct cg_fwd_counters *c;
	struct cg_nat_request req = {};
	enum cg_drop_reason r;

	fwd = bpf_map_lookup_elem(&cg_forwards, &fk);
	if (!fwd || pkt->later_fragment)
		return XDP_PASS; /* the router's own port */
	if (!fwd_allows(fwd, pkt->tuple.saddr)) {
		c = fwd_counters(fwd->fwd_id);
		if (c)
			c->denied++;
		cg_event(pkt, CG_IDENT_UNKNOWN, CG_EVENT_DROP,
			 CG_DROP_FORWARD_DENIED);
		return XDP_DROP;
	}
	req.orig = pkt->tuple;
	req.to = pkt->tuple;
	__builtin_memcpy(req.to.daddr, fwd->target_addr, 4);
	req.to.dport = fwd->target_port;
	req.kind = CG_NAT_FORWARD;
	req.owner = fwd->fwd_id;
	req.snat_at_wg = fwd->snat_at_wg;
	/* Keep the client's port unless another forward's flow to the same
	 * target from the same client holds it. */
	req.alloc_sport = true;
	r = cg_nat_create(&req, set, now);
	if (r != CG_DROP_NONE) {
		c = fwd_counters(fwd->fwd_id);
		if (c)
			c->nat_failed++;
		cg_event(pkt, CG_IDENT_UNKNOWN, CG_EVENT_DROP, r);
		return XDP_DROP;
	}
	if (cg_xdp_rewrite_new(ctx, pkt, &req.to))
		return XDP_DROP;
	count_forwarded(fwd->fwd_id, pkt->len);
	return XDP_PASS;
}

/* An ICMP error about a masqueraded flow goes to its peer. */
static __always_inline int from_internet_icmp_error(struct xdp_md *ctx,
						    const struct cg_pkt *pkt,
						    __u64 now)
{
	struct cg_nat_entry *e;
	struct cg_ct_key reply;

	/* The quoted packet is one we sent; its reply is what the
	 * masquerade's reply entry is keyed by. */
	cg_ct_reverse(&reply, &pkt->inner);
	e = cg_nat_lookup(&reply, now);
	if (!e || e->kind != CG_NAT_MASQ || e->dir != CG_NAT_REPLY)
		return XDP_PASS;
	return cg_untranslate_icmp_error((void *)(long)ctx->data,
					 (void *)(long)ctx->data_end, pkt,
					 &e->to) ?
		       XDP_DROP :
		       XDP_PASS;
}

SEC("xdp")
int cg_uplink_xdp(struct xdp_md *ctx)
{
	const struct cg_settings *set = cg_settings_get();
	struct cg_pkt pkt = {};
	struct cg_nat_entry *e;
	enum cg_drop_reason r;
	__u64 now;

	if (!set || !cg_parse_xdp(ctx, &pkt, &r) || r != CG_DROP_NONE)
		return XDP_PASS; /* not ours: the stack decides */
	if (!cg_addr_is(pkt.tuple.daddr, set->uplink_addr) ||
	    cg_is_wg_port(&pkt.tuple, set, false))
		return XDP_PASS; /* not translated, or WireGuard's own */

	now = cg_now();
	if (pkt.icmp_error)
		return from_internet_icmp_error(ctx, &pkt, now);
	e = cg_nat_lookup(&pkt.tuple, now);
	if (!e)
		return forward_new(ctx, &pkt, set, now);
	if (e->kind == CG_NAT_HOST)
		return XDP_PASS;
	cg_nat_touch(e, &pkt, now);
	if (e->kind == CG_NAT_FORWARD)
		count_forwarded(e->owner, pkt.len);
	return cg_xdp_rewrite(ctx, &pkt, &e->to) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
