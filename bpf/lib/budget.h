/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-peer flow budgets: a peer may hold at most
 * cg_ct_per_peer_max conntrack entries, so that one peer opening flows
 * by the thousand cannot evict everybody else's entries from the LRU
 * tables (and, behind them, their NAT pairs). Past its budget a peer's
 * new flows are dropped and counted against it (flow_budget); its
 * established flows and everybody else's go on. See struct
 * cg_flow_budget for how the count is kept.
 */
#ifndef CELLGATE_BUDGET_H
#define CELLGATE_BUDGET_H

#include "common.h"

/* Flows per identity; 0 turns budgets off (the verifier then removes the
 * check). Set by the controller before load (conntrack.per_peer_max). */
const volatile __u64 cg_ct_per_peer_max = 0;

/* By identity id, sized as cg_epochs. Mappable: the controller writes
 * the released words in place, beside the programs' atomic adds. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct cg_flow_budget);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_budget SEC(".maps");

/* May src open one more flow? Takes it from the budget if so. One
 * inlined array lookup and an atomic add on the new-flow path only.
 * Linked cells are not budgeted: one carries the flows of all its
 * peers, and its own cellgate budgets them. */
static __always_inline bool cg_budget_take(const struct cg_identity *src)
{
	struct cg_flow_budget *b;
	__u32 ident = src->id;

	if (!cg_ct_per_peer_max || src->kind != CG_KIND_PEER)
		return true;
	b = bpf_map_lookup_elem(&cg_budget, &ident);
	if (!b)
		return true; /* an id past the map: the controller's bug */
	if (b->created - *(volatile __u64 *)&b->released >= cg_ct_per_peer_max)
		return false;
	__sync_fetch_and_add(&b->created, 1);
	return true;
}

#endif
