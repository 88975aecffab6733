/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Rate limits per identity (issue 18): download shaped by EDT on wg0
 * egress (skb->tstamp, held by the fq qdisc the controller puts on wg0),
 * upload policed by a token bucket on wg0 ingress. Both keep one clock per
 * identity in cg_rate, shared by all CPUs: a per-CPU bucket would let n
 * CPUs pass n times the rate. Concurrent packets each add their cost with
 * an atomic add, so none is lost; only the restart after an idle spell is
 * a plain store, which a packet racing it on another CPU may overwrite
 * (one packet's cost, once per idle spell).
 *
 * Only identities whose epoch carries CG_EPOCH_RATE come here: the
 * callers test that bit of an epoch they already hold.
 */
#ifndef CELLGATE_RATE_H
#define CELLGATE_RATE_H

#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct cg_rate);
	__uint(max_entries, 16384); /* sized as cg_epochs by the controller */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_rate SEC(".maps");

static __always_inline bool cg_epoch_limited(__u32 epoch)
{
	return unlikely(epoch & CG_EPOCH_RATE);
}

static __always_inline __u64 cg_rate_cost(__u64 ps_per_byte, __u32 len)
{
	return (__u64)len * ps_per_byte / 1000;
}

/* Download toward ident: give the packet its departure time. 0: pass
 * (tstamp set), 1: drop, it would wait past the horizon. Inlined: as a
 * function its frame on top of wg_egress's would pass the 512-byte
 * stack limit. */
__attribute__((noinline)) int cg_rate_down(struct __sk_buff *skb, __u32 ident)
{
	struct cg_rate *r;
	__u64 now, next, cost;

	if (!skb)
		return 0;
	r = bpf_map_lookup_elem(&cg_rate, &ident);
	if (!r || !r->down_ps_per_byte)
		return 0;
	now = bpf_ktime_get_ns();
	cost = cg_rate_cost(r->down_ps_per_byte, skb->len);
	next = *(volatile __u64 *)&r->down_next_ns;
	if (next <= now) {
		/* Idle: this one leaves now, the next after its cost. */
		r->down_next_ns = now + cost;
		return 0;
	}
	if (next - now > CG_RATE_HORIZON_NS)
		return 1;
	__sync_fetch_and_add(&r->down_next_ns, cost);
	if (skb->tstamp < next)
		skb->tstamp = next;
	return 0;
}

/* Upload from ident: 0 when the bucket holds len bytes (taken), 1 when
 * not (drop). */
static __always_inline int cg_rate_up(__u32 ident, __u32 len)
{
	struct cg_rate *r = bpf_map_lookup_elem(&cg_rate, &ident);
	__u64 now, next, cost;

	if (!r || !r->up_ps_per_byte)
		return 0;
	now = bpf_ktime_get_ns();
	cost = cg_rate_cost(r->up_ps_per_byte, len);
	next = *(volatile __u64 *)&r->up_next_ns;
	if (next <= now) {
		r->up_next_ns = now + cost; /* a full bucket */
		return 0;
	}
	if (next - now > CG_RATE_BURST_NS)
		return 1;
	__sync_fetch_and_add(&r->up_next_ns, cost);
	return 0;
}

/* The epoch of the identity a packet of this flow goes to / comes from
 * (as cg_ct_receiver / cg_ct_sender). */
static __always_inline __u32 cg_ct_receiver_epoch(const struct cg_ct_entry *e,
						  bool reply)
{
	return reply ? e->src_epoch : e->dst_epoch;
}

static __always_inline __u32 cg_ct_sender_epoch(const struct cg_ct_entry *e,
						bool reply)
{
	return reply ? e->dst_epoch : e->src_epoch;
}

/* A passed packet of a flow: 0 to go on, 1 to drop it as rate_limited. */
static __always_inline int cg_rate_flow(struct __sk_buff *skb,
					const struct cg_ct_entry *e, bool reply,
					bool ingress, __u32 ident, __u32 len)
{
	if (ingress)
		return cg_epoch_limited(cg_ct_sender_epoch(e, reply)) ?
			       cg_rate_up(ident, len) :
			       0;
	return cg_epoch_limited(cg_ct_receiver_epoch(e, reply)) ?
		       cg_rate_down(skb, ident) :
		       0;
}

/* A new flow's first packet, to or from identity id: as cg_rate_flow. */
static __always_inline int cg_rate_new(struct __sk_buff *skb,
				       const struct cg_identity *id,
				       bool ingress, __u32 len)
{
	if (!cg_epoch_limited(id->epoch))
		return 0;
	return ingress ? cg_rate_up(id->id, len) : cg_rate_down(skb, id->id);
}

#endif
