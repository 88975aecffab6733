/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IPv6 events for `cellgate monitor`: lib/events.h's lease, rate limit
 * and accounting (the same cg_monitor and cg_event_stats), with a record
 * that holds the IPv6 tuple (struct cg_event6). Kept apart so that the
 * IPv4 path's event code and cost stay as they were.
 */
#ifndef CELLGATE_EVENTS6_H
#define CELLGATE_EVENTS6_H

#include "events.h"
#include "parse6.h"

/* As cg_event_emit, for an IPv6 packet. Global: verified once. */
__attribute__((noinline)) int
cg_event6_emit(const struct cg_pkt6 *pkt, __u32 ident, __u32 kind, __u32 reason)
{
	struct cg_event_stats *st = NULL;
	struct cg_event6 *ev;
	__u64 now = 0;

	if (!pkt)
		return 0;
	ev = cg_event_reserve(kind, sizeof(*ev), &st, &now);
	if (!ev || !st)
		return 0;
	ev->time_ns = now;
	ev->ifindex = pkt->ifindex;
	ev->ident = ident;
	ev->kind = kind;
	ev->hook = CG_HOOK;
	ev->reason = reason;
	ev->len = pkt->len;
	__builtin_memcpy(&ev->tuple, &pkt->tuple, sizeof(ev->tuple));
	bpf_ringbuf_submit(ev, 0);
	st->emitted++;
	return 0;
}

/* As cg_event: one inlined array read when no monitor holds the lease. */
static __always_inline void cg_event6(const struct cg_pkt6 *pkt, __u32 ident,
				      __u32 kind, __u32 reason)
{
	if (cg_event_leased(kind))
		cg_event6_emit(pkt, ident, kind, reason);
}

#endif
