/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Drop and trace events for `cellgate monitor` (cg_events, a ring buffer).
 *
 * Events cost nothing unless a monitor holds the lease in cg_monitor, and
 * then at most the configured rate per CPU: a token bucket in
 * cg_event_stats refuses the rest (counted), so a flood of drops cannot
 * swamp the reader or the CPU. A full ring (a slow reader) is counted as
 * lost. Each entry file names its hook (CG_HOOK) before including this.
 */
#ifndef CELLGATE_EVENTS_H
#define CELLGATE_EVENTS_H

#include "common.h"
#include "config.h"
#include "maps.h"
#include "parse.h"

#ifndef CG_HOOK
#error "define CG_HOOK (enum cg_hook) before including lib/events.h"
#endif

/* Take one event's worth of credit from this CPU's bucket. */
static __always_inline bool cg_event_credit(struct cg_event_stats *st,
					    const struct cg_monitor *m,
					    __u64 now)
{
	__u64 rate = m->rate ? m->rate : CG_EVENT_RATE;
	__u64 burst = m->burst ? m->burst : CG_EVENT_BURST;
	__u64 cost = NSEC_PER_SEC / rate;
	__u64 credit = st->credit_ns + (now - st->last_ns);

	if (credit > cost * burst)
		credit = cost * burst;
	st->last_ns = now;
	if (credit < cost) {
		st->credit_ns = credit;
		st->rate_limited++;
		return false;
	}
	st->credit_ns = credit - cost;
	return true;
}

/* Room in cg_events for one event of size bytes, if a monitor's lease
 * of this kind holds and this CPU's bucket has credit; NULL otherwise
 * (a full ring counted as lost). Both families' emitters start here. */
static __always_inline void *cg_event_reserve(__u32 kind, __u64 size,
					      struct cg_event_stats **stp,
					      __u64 *now)
{
	__u32 zero = 0;
	struct cg_event_stats *st = bpf_map_lookup_elem(&cg_event_stats, &zero);
	const struct cg_monitor *m = bpf_map_lookup_elem(&cg_monitor, &zero);
	__u64 until;
	void *ev;

	if (!st || !m)
		return NULL;
	*now = bpf_ktime_get_ns();
	until = kind == CG_EVENT_DROP ? m->drops_until_ns : m->trace_until_ns;
	if (*now >= until || !cg_event_credit(st, m, *now))
		return NULL;
	ev = bpf_ringbuf_reserve(&cg_events, size, 0);
	if (!ev)
		st->lost++;
	*stp = st;
	return ev;
}

/* Emit an event about pkt; only cg_event calls it. A global function, so the verifier checks it
 * once rather than at every drop site it is called from. */
__attribute__((noinline)) int
cg_event_emit(const struct cg_pkt *pkt, __u32 ident, __u32 kind, __u32 reason)
{
	struct cg_event_stats *st = NULL;
	struct cg_event *ev;
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
	ev->tuple = pkt->tuple;
	bpf_ringbuf_submit(ev, 0);
	st->emitted++;
	return 0;
}

/* Is a monitor's lease of this kind held? One inlined array read: what a
 * packet pays when nobody watches. */
static __always_inline bool cg_event_leased(__u32 kind)
{
	__u32 zero = 0;
	const struct cg_monitor *m = bpf_map_lookup_elem(&cg_monitor, &zero);

	return m &&
	       (kind == CG_EVENT_DROP ? m->drops_until_ns : m->trace_until_ns);
}

/* Offer an event to the monitor. Without one (no lease ever taken, or
 * the last one ended: cellgate monitor zeroes its deadlines), a packet
 * pays one inlined array read here, not a call, two lookups and a clock
 * read; a lease left by a killed monitor is checked against the clock in
 * cg_event_emit as before. */
static __always_inline void cg_event(const struct cg_pkt *pkt, __u32 ident,
				     __u32 kind, __u32 reason)
{
	if (cg_event_leased(kind))
		cg_event_emit(pkt, ident, kind, reason);
}

#endif
