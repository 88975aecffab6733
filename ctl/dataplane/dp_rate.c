// SPDX-License-Identifier: MIT
/*
 * cg_rate (issue 18): the compiled rate limits of peers, written beside
 * their identities by dp_sync.c. lib/rate.h is the datapath's side.
 */
#include <bpf/bpf.h>
#include <errno.h>

#include "dp_internal.h"
#include "policy.h"

/* cg_rate[id] to e's rates, when they differ: a rewrite restarts the
 * identity's clocks, so an unchanged limit is left running. */
int dp_rate_write(struct dataplane *dp, const struct policy_peer *e)
{
	struct cg_rate cur = { 0 }, want = { 0 };
	uint32_t id = e->value.id;

	if (bpf_map_lookup_elem(dp->map_fd[DP_MAP_RATE], &id, &cur))
		return -errno;
	if (cur.down_ps_per_byte == e->down_ps_per_byte &&
	    cur.up_ps_per_byte == e->up_ps_per_byte)
		return 0;
	want.down_ps_per_byte = e->down_ps_per_byte;
	want.up_ps_per_byte = e->up_ps_per_byte;
	return bpf_map_update_elem(dp->map_fd[DP_MAP_RATE], &id, &want,
				   BPF_ANY) ?
		       -errno :
		       0;
}

/* Rates before identities: a flag set before its rates would pass the
 * peer unlimited for a moment, never the other way round. */
int dp_rates_sync(struct dataplane *dp, const struct policy *pol)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < pol->n_peers && !ret; i++)
		ret = dp_rate_write(dp, &pol->peers[i]);
	return ret;
}
