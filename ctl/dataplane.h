/* SPDX-License-Identifier: MIT */
/*
 * The BPF side of the controller: loads the programs (libbpf skeletons),
 * pins and adopts maps under the bpffs directory, attaches to tc, and keeps
 * the maps equal to the compiled policy.
 *
 * Ownership: cellgate's tc filters use one handle and priority of their
 * own (CG_TC_HANDLE, CG_TC_PRIO) and are replaced in place (atomically) on
 * restart; a clsact qdisc is removed on detach only if cellgate created it
 * and nothing else is attached to it.
 */
#ifndef CELLGATE_DATAPLANE_H
#define CELLGATE_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>

#include "abi.h"
#include "config.h"
#include "policy.h"
#include "state.h"

/* tc filter identity of cellgate's programs. Priority 1 runs them before
 * filters of lower precedence: with direct-action the first verdict ends
 * classification, so a later policy filter could be bypassed. */
#define CG_TC_HANDLE 0xce11
#define CG_TC_PRIO 1

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
	DP_MAP__COUNT,
};

struct dp_options {
	const char *bpffs; /* pin directory, on a bpffs mount */
	uint32_t l2_len; /* 0 for wg0; ETH_HLEN under BPF_PROG_TEST_RUN */
	uint32_t max_peers;
	uint32_t conntrack_tcp;
	uint32_t conntrack_other;
};

struct dataplane {
	struct dp_options opts;
	struct wg_ingress_bpf *wg_ingress;
	struct wg_egress_bpf *wg_egress;
	int map_fd[DP_MAP__COUNT];
	int ncpus;
};

/* Occupancy of one map, for /api/status. */
struct dp_map_usage {
	const char *name;
	uint32_t entries;
	uint32_t capacity;
};

const char *dp_map_name(enum dp_map map);
/* Options from the controller's configuration. */
void dp_options_from_config(struct dp_options *o, const struct cg_config *cfg);

/* Load the programs; adopt pinned maps that still fit, recreate those that
 * do not (logged). Attaches nothing. */
int dp_open(struct dataplane *dp, const struct dp_options *opts);
/* Free the skeletons. Pins and tc attachments stay: filtering goes on. */
void dp_close(struct dataplane *dp);

int dp_prog_fd_wg_ingress(const struct dataplane *dp);
int dp_prog_fd_wg_egress(const struct dataplane *dp);

/* Attach (or atomically replace) the wg programs on ifname's clsact.
 * qdisc_created tells whether this call created the clsact qdisc. */
int dp_attach_wg(struct dataplane *dp, const char *ifname, bool *qdisc_created);

/* Make the identity, service and network maps equal to pol: add what is
 * missing, rewrite what differs (with a new epoch), delete the rest. */
int dp_sync(struct dataplane *dp, const struct policy *pol);
/* Install or change one peer (old: its previous definition, or NULL). */
int dp_set_peer(struct dataplane *dp, const struct cg_peer_def *old,
		const struct cg_peer_def *peer);
int dp_remove_peer(struct dataplane *dp, const struct cg_peer_def *peer);
/* After a service change: rewrite the service map from pol and re-judge
 * every identity's flows. */
int dp_sync_services(struct dataplane *dp, const struct policy *pol);

/* Delete expired conntrack and fragment entries; returns how many. */
int dp_gc(struct dataplane *dp, uint64_t now_ns);

/* Counters of one identity, summed over CPUs. */
int dp_counters(const struct dataplane *dp, uint32_t ident,
		struct cg_counters *sum);
int dp_map_usage(const struct dataplane *dp, enum dp_map map,
		 struct dp_map_usage *usage);

/* Remove cellgate's filters from ifname, and the clsact qdisc if
 * qdisc_ours and nothing else uses it. Works without a loaded dataplane. */
int dp_detach_iface(const char *ifname, bool qdisc_ours);
/* Unpin every cellgate map under bpffs. */
int dp_unpin(const char *bpffs);

#endif
