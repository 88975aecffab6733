/* SPDX-License-Identifier: MIT */
/*
 * The pinned maps for readers: `cellgate maps` and `cellgate monitor`
 * open them by name under the bpffs, read-only (BPF_F_RDONLY), whether
 * the controller runs or not, and take names from the state file. Nothing
 * here loads a program or writes a map, but for the monitor's lease: the
 * one write a reader makes, on the maps it asks for writable. The CLI
 * reads pins through this header (with mapread.h and mapview.h), never
 * through dataplane.h or state.h; the loader takes the maps' names from
 * here.
 */
#ifndef CELLGATE_PINS_RO_H
#define CELLGATE_PINS_RO_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "mapread.h"

/* The pinned maps, by the names the programs give them. */
enum dp_map {
	DP_MAP_PEERS,
	DP_MAP_CELLS,
	DP_MAP_LOCAL_NETS,
	DP_MAP_SERVICES,
	DP_MAP_CT_TCP,
	DP_MAP_CT_OTHER,
	DP_MAP_FRAGS,
	DP_MAP_EPOCHS,
	DP_MAP_COUNTERS,
	DP_MAP_SETTINGS,
	DP_MAP_DNAT,
	DP_MAP_FORWARDS,
	DP_MAP_FWD_ALLOW,
	DP_MAP_NAT,
	DP_MAP_FWD_COUNTERS,
	DP_MAP_NAT_STATS,
	DP_MAP_SERVICE_COUNTERS,
	DP_MAP_TABLE_STATS,
	DP_MAP_EVENTS,
	DP_MAP_MONITOR,
	DP_MAP_EVENT_STATS,
	DP_MAP_RULES,
	/* IPv6 (issue 17): the same roles with IPv6 keys. */
	DP_MAP_PEERS6,
	DP_MAP_CELLS6,
	DP_MAP_LOCAL_NETS6,
	DP_MAP_SERVICES6,
	DP_MAP_SETTINGS6,
	DP_MAP_BRIDGE_SRC,
	DP_MAP_BRIDGE_BIND,
	DP_MAP_BRIDGE_NETS,
	DP_MAP_BUDGET,
	DP_MAP_CT6_TCP,
	DP_MAP_CT6_OTHER,
	DP_MAP_RATE,
	/* Exits (issue 20): fixed size, CG_MAX_EXITS. */
	DP_MAP_EXITS,
	DP_MAP_EXIT_COUNTERS,
	DP_MAP__COUNT,
};

const char *dp_map_name(enum dp_map map);

/* A bit of pins_ro_open's writable mask. */
#define PINS_RW(map) (1u << (map))

struct cg_config;
struct cg_state;

struct pins_ro {
	int fd[DP_MAP__COUNT]; /* -1 when not open */
	int ncpus; /* per-CPU values hold this many copies */
	struct cg_state *st; /* names from the state file; NULL: ids only */
};

/* Open every map pinned under bpffs, read-only but for the maps in
 * writable (PINS_RW bits): the monitor writes its lease to cg_monitor and
 * consumes cg_events, whose consumer position is mapped writable. Every
 * map must be pinned. Returns 0 or -errno (p then holds nothing). */
int pins_ro_open(struct pins_ro *p, const char *bpffs, uint32_t writable);
/* Read the names of the state file under cfg's state_dir. On failure p
 * keeps ids only and why holds "PATH: reason". */
int pins_ro_load_names(struct pins_ro *p, const struct cg_config *cfg,
		       char *why, size_t len);
void pins_ro_close(struct pins_ro *p);

/* map_for_each and map_count (mapread.h) on one of the maps. */
int pins_ro_for_each(const struct pins_ro *p, enum dp_map map, map_entry_fn fn,
		     void *ctx);
int pins_ro_count(const struct pins_ro *p, enum dp_map map);
/* The per-CPU value at key, summed over CPUs into sum (u64 fields). */
int pins_ro_sum(const struct pins_ro *p, enum dp_map map, uint32_t key,
		void *sum, size_t value_size);
/* The identity called name: a peer's id or a linked cell's. -ENODATA
 * without names, -ENOENT when there is no such peer or cell. */
int pins_ro_ident(const struct pins_ro *p, const char *name, uint32_t *id);

/* Renew (or with until_ns 0, end) the monitor's lease; cg_monitor must
 * have been opened writable. */
int pins_ro_lease(struct pins_ro *p, const struct cg_monitor *m);

#endif
