/* SPDX-License-Identifier: GPL-2.0-only */
/* Per-identity traffic and drop counters (cg_counters, per CPU). */
#ifndef CELLGATE_COUNTERS_H
#define CELLGATE_COUNTERS_H

#include "common.h"
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

/* Count a drop against the identity it concerns and return the verdict.
 * Drops nobody can be blamed for go to CG_IDENT_UNKNOWN. */
static __always_inline int cg_drop(__u32 ident, enum cg_drop_reason reason)
{
	struct cg_counters *c = cg_counters_of(ident);

	if (c && reason < CG_DROP__MAX)
		c->drops[reason]++;
	return TC_ACT_SHOT;
}

#endif
