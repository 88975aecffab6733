// SPDX-License-Identifier: MIT
/*
 * Exits in the maps and on their interfaces (dp_exits.h, issue 20).
 */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "dataplane.h"
#include "dp_exits.h"
#include "log.h"
#include "mapread.h"

static int valid_id(uint32_t id)
{
	return id >= 1 && id < CG_MAX_EXITS;
}

int dp_exit_put(struct dataplane *dp, uint32_t id, const struct cg_exit *e)
{
	if (!valid_id(id) || !e)
		return -EINVAL;
	if (bpf_map_update_elem(dp->map_fd[DP_MAP_EXITS], &id, e, BPF_ANY))
		return -errno;
	dp->writes++;
	return 0;
}

int dp_exit_delete(struct dataplane *dp, uint32_t id)
{
	struct cg_exit none = { 0 };

	if (!valid_id(id))
		return -EINVAL;
	if (bpf_map_update_elem(dp->map_fd[DP_MAP_EXITS], &id, &none, BPF_ANY))
		return -errno;
	dp->writes++;
	return 0;
}

int dp_exit_counters(struct dataplane *dp, uint32_t id,
		     struct cg_exit_counters *sum)
{
	memset(sum, 0, sizeof(*sum));
	if (id >= CG_MAX_EXITS)
		return -EINVAL;
	return map_percpu_sum(dp->map_fd[DP_MAP_EXIT_COUNTERS], dp->ncpus, id,
			      sum, sizeof(*sum));
}

int dp_exits_reattach(struct dataplane *dp)
{
	(void)dp;
	return 0;
}
