/* SPDX-License-Identifier: GPL-2.0-only */
/* Per-identity traffic and drop counters (cg_counters, per CPU); drops
 * are also offered to the monitor as events. */
#ifndef CELLGATE_COUNTERS_H
#define CELLGATE_COUNTERS_H

#include "common.h"
#include "events.h"
#include "maps.h"

static __always_inline struct cg_counters *cg_counters_of(__u32 ident)
{
	return bpf_map_lookup_elem(&cg_counters, &ident);
}

/* Traffic from an identity into the cell. */
static __always_inline void cg_count_rx(__u32 ident, __u32 len)
{
	struct cg_counters *c = cg_counters_of(ident);

	if (c) {
		c->rx_packets++;
		c->rx_bytes += len;
	}
}

/* Traffic from the cell to an identity. */
static __always_inline void cg_count_tx(__u32 ident, __u32 len)
{
	struct cg_counters *c = cg_counters_of(ident);

	if (c) {
		c->tx_packets++;
		c->tx_bytes += len;
	}
}

/* A new flow's verdict on the service it asked for, if any. */
static __always_inline void cg_count_service(int service, bool allowed)
{
	__u32 id = (__u32)service;
	struct cg_service_counters *c;

	if (service < 0)
		return;
	c = bpf_map_lookup_elem(&cg_service_counters, &id);
	if (!c)
		return;
	if (allowed)
		c->allowed++;
	else
		c->denied++;
}

/* An entry the programs inserted into (created) or deleted from an LRU
 * table: see struct cg_table_stats. */
static __always_inline struct cg_table_stats *cg_table_stats_get(void)
{
	__u32 slot = CG_STATS_PROGRAMS;

	return bpf_map_lookup_elem(&cg_table_stats, &slot);
}

static __always_inline void cg_count_table(enum cg_table t, __u64 created,
					   __u64 removed)
{
	struct cg_table_stats *st = cg_table_stats_get();

	if (st && t < CG_TABLE__MAX) {
		st->created[t] += created;
		st->removed[t] += removed;
	}
}

/* Count pkt's drop against the identity it concerns, tell the monitor,
 * and return the verdict. Drops nobody can be blamed for go to
 * CG_IDENT_UNKNOWN. */
static __always_inline int cg_drop(const struct cg_pkt *pkt, __u32 ident,
				   enum cg_drop_reason reason)
{
	struct cg_counters *c = cg_counters_of(ident);

	if (c && reason < CG_DROP__MAX)
		c->drops[reason]++;
	cg_event(pkt, ident, CG_EVENT_DROP, reason);
	return TC_ACT_SHOT;
}

#endif
