// SPDX-License-Identifier: MIT
/*
 * The read-only face of the pinned maps (pins_ro.h): opening by name,
 * reading, the names of the state file. Apart from the loader so that a
 * reader links no skeleton and cannot write what it did not ask to.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "config.h"
#include "pins_ro.h"
#include "state.h"
#include "util.h"

static const char *const map_names[DP_MAP__COUNT] = {
	[DP_MAP_PEERS] = "cg_peers",
	[DP_MAP_CELLS] = "cg_cells",
	[DP_MAP_LOCAL_NETS] = "cg_local_nets",
	[DP_MAP_SERVICES] = "cg_services",
	[DP_MAP_CT_TCP] = "cg_ct_tcp",
	[DP_MAP_CT_OTHER] = "cg_ct_other",
	[DP_MAP_FRAGS] = "cg_frags",
	[DP_MAP_EPOCHS] = "cg_epochs",
	[DP_MAP_COUNTERS] = "cg_counters",
	[DP_MAP_SETTINGS] = "cg_settings",
	[DP_MAP_DNAT] = "cg_dnat",
	[DP_MAP_FORWARDS] = "cg_forwards",
	[DP_MAP_FWD_ALLOW] = "cg_fwd_allow",
	[DP_MAP_NAT] = "cg_nat",
	[DP_MAP_FWD_COUNTERS] = "cg_fwd_counters",
	[DP_MAP_NAT_STATS] = "cg_nat_stats",
	[DP_MAP_SERVICE_COUNTERS] = "cg_service_counters",
	[DP_MAP_TABLE_STATS] = "cg_table_stats",
	[DP_MAP_EVENTS] = "cg_events",
	[DP_MAP_MONITOR] = "cg_monitor",
	[DP_MAP_EVENT_STATS] = "cg_event_stats",
	[DP_MAP_RULES] = "cg_rules",
	[DP_MAP_PEERS6] = "cg_peers6",
	[DP_MAP_CELLS6] = "cg_cells6",
	[DP_MAP_LOCAL_NETS6] = "cg_local_nets6",
	[DP_MAP_SERVICES6] = "cg_services6",
	[DP_MAP_SETTINGS6] = "cg_settings6",
	[DP_MAP_BRIDGE_SRC] = "cg_bridge_src",
	[DP_MAP_BRIDGE_BIND] = "cg_bridge_bind",
	[DP_MAP_BRIDGE_NETS] = "cg_bridge_nets",
	[DP_MAP_BUDGET] = "cg_budget",
	[DP_MAP_CT6_TCP] = "cg_ct6_tcp",
	[DP_MAP_CT6_OTHER] = "cg_ct6_other",
	[DP_MAP_RATE] = "cg_rate",
	[DP_MAP_EXITS] = "cg_exits",
	[DP_MAP_EXIT_COUNTERS] = "cg_exit_counters",
};

const char *dp_map_name(enum dp_map map)
{
	return map < DP_MAP__COUNT ? map_names[map] : "?";
}

int pins_ro_open(struct pins_ro *p, const char *bpffs, uint32_t writable)
{
	LIBBPF_OPTS(bpf_obj_get_opts, ro, .file_flags = BPF_F_RDONLY);
	char path[PATH_MAX];
	int i, ret;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < DP_MAP__COUNT; i++)
		p->fd[i] = -1;
	p->ncpus = libbpf_num_possible_cpus();
	if (p->ncpus < 1)
		return -EINVAL;
	for (i = 0; i < DP_MAP__COUNT; i++) {
		ret = path_fmt(path, sizeof(path), "%s/%s", bpffs,
			       map_names[i]);
		if (ret)
			goto fail;
		p->fd[i] = writable & PINS_RW(i) ? bpf_obj_get(path) :
						   bpf_obj_get_opts(path, &ro);
		if (p->fd[i] < 0) {
			ret = -errno;
			goto fail;
		}
	}
	return 0;
fail:
	pins_ro_close(p);
	return ret;
}

int pins_ro_load_names(struct pins_ro *p, const struct cg_config *cfg,
		       char *why, size_t len)
{
	struct cg_error err = { 0 };
	char path[PATH_MAX];
	struct cg_state *st = calloc(1, sizeof(*st));

	if (!st) {
		snprintf(why, len, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	state_init(st, cfg);
	if (path_fmt(path, sizeof(path), "%s/state.json", cfg->state_dir) ||
	    state_load(st, path, &err)) {
		snprintf(why, len, "%s: %s", path,
			 err.msg[0] ? err.msg : "path too long");
		state_free(st);
		free(st);
		return -ENOENT;
	}
	p->st = st;
	return 0;
}

void pins_ro_close(struct pins_ro *p)
{
	int i;

	for (i = 0; i < DP_MAP__COUNT; i++) {
		if (p->fd[i] >= 0)
			close(p->fd[i]);
		p->fd[i] = -1;
	}
	if (p->st) {
		state_free(p->st);
		free(p->st);
		p->st = NULL;
	}
}

int pins_ro_for_each(const struct pins_ro *p, enum dp_map map, map_entry_fn fn,
		     void *ctx)
{
	return map_for_each(p->fd[map], p->ncpus, fn, ctx);
}

int pins_ro_count(const struct pins_ro *p, enum dp_map map)
{
	return map_count(p->fd[map], p->ncpus);
}

int pins_ro_sum(const struct pins_ro *p, enum dp_map map, uint32_t key,
		void *sum, size_t value_size)
{
	return map_percpu_sum(p->fd[map], p->ncpus, key, sum, value_size);
}

int pins_ro_ident(const struct pins_ro *p, const char *name, uint32_t *id)
{
	const struct cg_peer_def *peer;
	const struct cg_cell_def *cell;

	if (!p->st)
		return -ENODATA;
	peer = state_peer(p->st, name);
	cell = state_cell(p->st, name);
	if (!peer && !cell)
		return -ENOENT;
	*id = peer ? peer->id : cell->id;
	return 0;
}

int pins_ro_lease(struct pins_ro *p, const struct cg_monitor *m)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(p->fd[DP_MAP_MONITOR], &zero, m, BPF_ANY))
		return -errno;
	return 0;
}
