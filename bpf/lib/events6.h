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
	__u32 zero = 0;
	struct cg_event_stats *st = bpf_map_lookup_elem(&cg_event_stats, &zero);
	const struct cg_monitor *m = bpf_map_lookup_elem(&cg_monitor, &zero);
	struct cg_event6 *ev;
	__u64 now, until;

	if (!pkt || !st || !m)
		return 0;
	now = bpf_ktime_get_ns();
	until = kind == CG_EVENT_DROP ? m->drops_until_ns : m->trace_until_ns;
	if (now >= until || !cg_event_credit(st, m, now))
		return 0;
	ev = bpf_ringbuf_reserve(&cg_events, sizeof(*ev), 0);
	if (!ev) {
		st->lost++;
		return 0;
	}
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
	__u32 zero = 0;
	const struct cg_monitor *m = bpf_map_lookup_elem(&cg_monitor, &zero);

	if (!m ||
	    !(kind == CG_EVENT_DROP ? m->drops_until_ns : m->trace_until_ns))
		return;
	cg_event6_emit(pkt, ident, kind, reason);
}

#endif
