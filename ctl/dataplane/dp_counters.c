// SPDX-License-Identifier: MIT
/*
 * Reading the controller's own view of the maps for status and /metrics:
 * per-CPU counters summed, table and event statistics, map occupancy;
 * plus the few counter writes (resetting a forward's counters, counting
 * the controller's removals, the monitor's lease).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "dataplane.h"
#include "mapread.h"

/* ---- reading ----------------------------------------------------------- */

/* One per-CPU value of map fd at key, summed over CPUs into sum. */
static int percpu_read_sum(const struct dataplane *dp, int fd, uint32_t key,
			   void *sum, size_t value_size)
{
	return map_percpu_sum(fd, dp->ncpus, key, sum, value_size);
}

int dp_counters(const struct dataplane *dp, uint32_t ident,
		struct cg_counters *sum)
{
	return percpu_read_sum(dp, dp->map_fd[DP_MAP_COUNTERS], ident, sum,
			       sizeof(*sum));
}

int dp_nat_stats(const struct dataplane *dp, struct cg_nat_stats *sum)
{
	return percpu_read_sum(dp, dp->map_fd[DP_MAP_NAT_STATS], 0, sum,
			       sizeof(*sum));
}

int dp_fwd_counters(const struct dataplane *dp, uint32_t fwd_id,
		    struct cg_fwd_counters *sum)
{
	return percpu_read_sum(dp, dp->map_fd[DP_MAP_FWD_COUNTERS], fwd_id, sum,
			       sizeof(*sum));
}

int dp_event_stats(const struct dataplane *dp, struct cg_event_stats *sum)
{
	return percpu_read_sum(dp, dp->map_fd[DP_MAP_EVENT_STATS], 0, sum,
			       sizeof(*sum));
}

int dp_table_stats(const struct dataplane *dp, struct cg_table_stats *sum)
{
	struct cg_table_stats ctl;
	size_t i;
	int ret = percpu_read_sum(dp, dp->map_fd[DP_MAP_TABLE_STATS],
				  CG_STATS_PROGRAMS, sum, sizeof(*sum));

	if (!ret)
		ret = percpu_read_sum(dp, dp->map_fd[DP_MAP_TABLE_STATS],
				      CG_STATS_CONTROLLER, &ctl, sizeof(ctl));
	for (i = 0; !ret && i < CG_TABLE__MAX; i++) {
		sum->created[i] += ctl.created[i];
		sum->removed[i] += ctl.removed[i];
	}
	return ret;
}

void dp_table_removed(struct dataplane *dp, enum cg_table table, uint64_t n)
{
	size_t stride = percpu_stride(sizeof(struct cg_table_stats));
	uint32_t slot = CG_STATS_CONTROLLER;
	int fd = dp->map_fd[DP_MAP_TABLE_STATS];
	struct cg_table_stats *cpu0;
	void *percpu;

	if (!n || table >= CG_TABLE__MAX)
		return;
	percpu = calloc((size_t)dp->ncpus, stride);
	if (!percpu)
		return;
	/* Only the controller writes this slot (CPU 0's copy), and only
	 * under its lock: read, add, write back loses nothing. */
	if (!bpf_map_lookup_elem(fd, &slot, percpu)) {
		cpu0 = percpu;
		cpu0->removed[table] += n;
		bpf_map_update_elem(fd, &slot, percpu, BPF_ANY);
	}
	free(percpu);
}

/* Sums of a per-CPU array's values, by key, for keys below n. */
struct percpu_all {
	void *sums;
	size_t value_size;
	uint32_t n;
	int ncpus;
};

static int add_percpu_entry(const void *key, const void *value, void *ctx)
{
	const struct percpu_all *a = ctx;
	uint32_t k;

	memcpy(&k, key, sizeof(k));
	if (k < a->n)
		percpu_sum_u64((char *)a->sums + (size_t)k * a->value_size,
			       value, a->value_size, a->ncpus);
	return 0;
}

static int percpu_array_sums(const struct dataplane *dp, int fd, void *sums,
			     size_t value_size, uint32_t n)
{
	struct percpu_all a = { .sums = sums,
				.value_size = value_size,
				.n = n,
				.ncpus = dp->ncpus };
	int ret;

	memset(sums, 0, (size_t)n * value_size);
	ret = map_for_each(fd, dp->ncpus, add_percpu_entry, &a);
	return ret < 0 ? ret : 0;
}

int dp_counters_all(const struct dataplane *dp, struct cg_counters *sums,
		    uint32_t n)
{
	return percpu_array_sums(dp, dp->map_fd[DP_MAP_COUNTERS], sums,
				 sizeof(*sums), n);
}

int dp_service_counters_all(const struct dataplane *dp,
			    struct cg_service_counters *sums)
{
	return percpu_array_sums(dp, dp->map_fd[DP_MAP_SERVICE_COUNTERS], sums,
				 sizeof(*sums), CG_MAX_SERVICES);
}

int dp_monitor_lease(struct dataplane *dp, const struct cg_monitor *m)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(dp->map_fd[DP_MAP_MONITOR], &zero, m, BPF_ANY))
		return -errno;
	return 0;
}

int dp_fwd_counters_reset(struct dataplane *dp, uint32_t fwd_id)
{
	struct cg_fwd_counters *zero = calloc((size_t)dp->ncpus, sizeof(*zero));
	int ret;

	if (!zero)
		return -ENOMEM;
	ret = bpf_map_update_elem(dp->map_fd[DP_MAP_FWD_COUNTERS], &fwd_id,
				  zero, BPF_ANY);
	free(zero);
	return ret ? -errno : 0;
}

int dp_map_usage(const struct dataplane *dp, enum dp_map map,
		 struct dp_map_usage *usage)
{
	return dp_map_usage_of(dp, map, usage, UINT64_MAX);
}

int dp_map_usage_of(const struct dataplane *dp, enum dp_map map,
		    struct dp_map_usage *usage, uint64_t entries)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int fd = dp->map_fd[map], n;

	usage->name = dp_map_name(map);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type == BPF_MAP_TYPE_RINGBUF)
		return -EOPNOTSUPP; /* bytes, not entries */
	n = entries != UINT64_MAX ? (int)entries : map_count(fd, dp->ncpus);
	if (n < 0)
		return n;
	usage->entries = (uint32_t)n;
	usage->capacity = info.max_entries;
	usage->memory_bytes = map_memory_bytes(fd);
	return 0;
}
