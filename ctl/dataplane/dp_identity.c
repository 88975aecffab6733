// SPDX-License-Identifier: MIT
/*
 * Writing identities and their epochs, for the peers' and cells' sync
 * (dp_sync.c) and the rules' (dp_rules.c): a new epoch re-judges the
 * identity's flows; IPv6 entries carry the epoch their IPv4 entry set.
 */
#include <errno.h>

#include <bpf/bpf.h>

#include "dataplane.h"
#include "dp_internal.h"

uint32_t dp_epoch_get(struct dataplane *dp, uint32_t ident)
{
	uint32_t epoch = 0;

	bpf_map_lookup_elem(dp->map_fd[DP_MAP_EPOCHS], &ident, &epoch);
	return epoch;
}

uint32_t dp_epoch_next(uint32_t old, bool rate_limited)
{
	uint32_t n = ((old & CG_EPOCH_COUNT) + 1) & CG_EPOCH_COUNT;

	return n | (rate_limited ? CG_EPOCH_RATE : 0);
}

/* Write an identity with the next epoch of its id: first the value (policy
 * and epoch replaced together), then the mirror in cg_epochs. */
int dp_identity_write_at(struct dataplane *dp, int fd, const void *key,
			 const struct cg_identity *value)
{
	struct cg_identity v = *value;
	int ret;

	v.epoch = dp_epoch_next(dp_epoch_get(dp, v.id), v.rate_limited);
	ret = bpf_map_update_elem(fd, key, &v, BPF_ANY);
	if (ret)
		return -errno;
	ret = bpf_map_update_elem(dp->map_fd[DP_MAP_EPOCHS], &v.id, &v.epoch,
				  BPF_ANY);
	return ret ? -errno : 0;
}

/* A peer's cg_peers6 entry carries the epoch its cg_peers entry set
 * (cg_epochs[id]): only the IPv4 write bumps it, so the two families
 * never disagree and a flow admitted over either stays valid. */
int dp_identity6_mirror_at(struct dataplane *dp, int fd, const void *key,
			   const struct cg_identity *value)
{
	struct cg_identity v = *value;

	v.epoch = dp_epoch_get(dp, v.id);
	if (bpf_map_update_elem(fd, key, &v, BPF_ANY))
		return -errno;
	return 0;
}
