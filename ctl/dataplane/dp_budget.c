// SPDX-License-Identifier: MIT
/*
 * The per-identity flow budgets' bookkeeping (bpf/lib/budget.h, struct
 * cg_flow_budget): cg_budget is mapped into the controller, which after
 * each conntrack sweep sets every identity's released word to what it
 * created minus the entries it still holds. So expiries and LRU
 * evictions, which no program sees, give the budget back within one
 * sweep, and a count that drifted (a restart, a lost race) is exact
 * again after the next.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dataplane.h"
#include "dp_internal.h"
#include "log.h"

static size_t budget_slots(const struct dataplane *dp)
{
	return (size_t)dp->opts.max_peers + 1; /* as cg_epochs */
}

int dp_budget_map(struct dataplane *dp)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = budget_slots(dp) * sizeof(struct cg_flow_budget);
	void *p;

	len = (len + page - 1) / page * page;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		 dp->map_fd[DP_MAP_BUDGET], 0);
	if (p == MAP_FAILED) {
		log_err("cannot map cg_budget: %s", strerror(errno));
		return -errno;
	}
	dp->budget = p;
	dp->budget_len = len;
	return 0;
}

void dp_budget_unmap(struct dataplane *dp)
{
	if (dp->budget)
		munmap(dp->budget, dp->budget_len);
	dp->budget = NULL;
	dp->budget_len = 0;
}

/* Before the sweep: what each identity had created by then. An entry
 * created after this and seen by the sweep counts as held without being
 * in the snapshot: the identity is charged one flow too many until the
 * next sweep, never one too few. */
int budget_sweep_begin(const struct dataplane *dp, struct budget_sweep *bs)
{
	size_t i;

	memset(bs, 0, sizeof(*bs));
	if (!dp->budget || !dp->opts.per_peer_max)
		return 0; /* budgets off: nothing to keep */
	bs->n = budget_slots(dp);
	bs->created = calloc(bs->n, sizeof(*bs->created));
	bs->live = calloc(bs->n, sizeof(*bs->live));
	if (!bs->created || !bs->live) {
		budget_sweep_end(NULL, bs);
		return -ENOMEM;
	}
	for (i = 0; i < bs->n; i++)
		bs->created[i] = __atomic_load_n(&dp->budget[i].created,
						 __ATOMIC_RELAXED);
	return 0;
}

/* One live conntrack entry: charged to the peer or cell that opened it
 * over WireGuard, as the programs charge it. */
void budget_sweep_count(struct budget_sweep *bs, const struct cg_ct_entry *e)
{
	if (bs->live && e->origin == CG_CT_FROM_WG && e->src_ident < bs->n)
		bs->live[e->src_ident]++;
}

/* After the sweep (dp NULL: just free): released = created - held, in
 * the programs' arithmetic modulo 2^64. */
void budget_sweep_end(const struct dataplane *dp, struct budget_sweep *bs)
{
	size_t i;

	if (dp && bs->created && bs->live)
		for (i = 0; i < bs->n; i++)
			__atomic_store_n(&dp->budget[i].released,
					 bs->created[i] - bs->live[i],
					 __ATOMIC_RELAXED);
	free(bs->created);
	free(bs->live);
	memset(bs, 0, sizeof(*bs));
}

uint64_t dp_budget_held(const struct dataplane *dp, uint32_t ident)
{
	const struct cg_flow_budget *b;

	if (!dp->budget || ident >= budget_slots(dp))
		return 0;
	b = &dp->budget[ident];
	return __atomic_load_n(&b->created, __ATOMIC_RELAXED) -
	       __atomic_load_n(&b->released, __ATOMIC_RELAXED);
}
