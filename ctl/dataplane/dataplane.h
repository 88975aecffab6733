/* SPDX-License-Identifier: MIT */
/*
 * The BPF side of the controller: loads the programs (libbpf skeletons),
 * pins and adopts maps under the bpffs directory, attaches to tc, and keeps
 * the maps equal to the compiled policy.
 *
 * One header over four files: loading (dataplane.c), writing the maps
 * (dp_sync.c), sweeping them (dp_gc.c), reading counters and stats
 * (dp_counters.c). Attaching is attach.c's: only what cellgate attached
 * is ever replaced or removed. Readers that load nothing use pins_ro.h.
 */
#ifndef CELLGATE_DATAPLANE_H
#define CELLGATE_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>

#include "abi.h"
#include "config.h"
#include "migrate.h"
#include "pins_ro.h"
#include "policy.h"
#include "state.h"

struct dp_options {
	const char *bpffs; /* pin directory, on a bpffs mount */
	uint32_t l2_len; /* 0 for wg0; ETH_HLEN under BPF_PROG_TEST_RUN */
	uint32_t max_peers;
	uint32_t conntrack_tcp;
	uint32_t conntrack_other;
	uint32_t nat_entries;
	uint32_t per_peer_max; /* flow budget per identity; 0: off */
};

struct dataplane {
	struct dp_options opts;
	struct wg_ingress_bpf *wg_ingress;
	struct wg_egress_bpf *wg_egress;
	struct uplink_xdp_bpf *uplink_xdp;
	struct uplink_egress_bpf *uplink_egress;
	struct bridge_port_bpf *bridge_port;
	/* The exits' ingress program (issue 20), loaded for L3 links and
	 * for Ethernet ones (dp_exits.c attaches the one that fits). */
	struct exit_ingress_bpf *exit_l3, *exit_l2;
	/* Where dp_exits.c attached it, by exit id (0: nowhere), and whether
	 * it created that interface's clsact qdisc. */
	int exit_attached[CG_MAX_EXITS];
	bool exit_qdisc_ours[CG_MAX_EXITS];
	int map_fd[DP_MAP__COUNT];
	int ncpus;
	/* Bumped by every call that writes the policy maps (callers hold
	 * the controller's lock): the periodic resync, which compares
	 * outside the lock, applies only if no write came in between. */
	uint64_t writes;
	/* Pinned maps of another layout being carried over (migrate.h),
	 * from dp_open to dp_migrate_finish. */
	struct mig_state *mig;
	/* cg_budget mapped: the GC writes the released words in place. */
	struct cg_flow_budget *budget;
	size_t budget_len; /* bytes mapped */
};

/* Name of the XDP program, by which attach.c tells ours from others. */
#define DP_PROG_UPLINK_XDP "cg_uplink_xdp"

/* Occupancy of one map, for /api/status and /metrics. */
struct dp_map_usage {
	const char *name;
	uint32_t entries;
	uint32_t capacity;
	uint64_t memory_bytes; /* as the kernel accounts it */
};

/* Options from the controller's configuration. */
void dp_options_from_config(struct dp_options *o, const struct cg_config *cfg);

/* Load the programs; adopt pinned maps that still fit, carry the entries
 * of those whose layout or size changed into new ones (migrate.h), or
 * recreate them when they only hold what the state refills (logged).
 * Refuses (-EPROTO, nothing changed) when a map of flows cannot be
 * converted. Attaches nothing. */
int dp_open(struct dataplane *dp, const struct dp_options *opts);
/* After the new programs are attached: carry what the old ones added in
 * the meantime, close the old maps. */
void dp_migrate_finish(struct dataplane *dp);
/* Free the skeletons. Pins and tc attachments stay: filtering goes on. */
void dp_close(struct dataplane *dp);
int dp_prog_fd_wg_ingress(const struct dataplane *dp);
int dp_prog_fd_wg_egress(const struct dataplane *dp);
int dp_prog_fd_uplink_xdp(const struct dataplane *dp);
int dp_prog_fd_uplink_egress(const struct dataplane *dp);
int dp_prog_fd_bridge_port(const struct dataplane *dp);
/* The exits' ingress program for L3 (l2 false) or Ethernet links. */
int dp_prog_fd_exit_ingress(const struct dataplane *dp, bool l2);

/* The addresses translations use; masquerade on or off. */
int dp_write_settings(struct dataplane *dp, const struct cg_settings *set);
/* The cell's IPv6 addresses (all zero when IPv4-only). */
int dp_write_settings6(struct dataplane *dp, const struct cg_settings6 *set);

/* Make the identity, service and network maps equal to pol: add what is
 * missing, rewrite what differs (with a new epoch), delete the rest. */
int dp_sync(struct dataplane *dp, const struct policy *pol);
/* Does every policy map hold exactly pol (identities with current
 * epochs)? Reads only: the periodic resync asks it outside the lock. */
bool dp_in_sync(struct dataplane *dp, const struct policy *pol);
/* Install or change one peer (old: its previous definition, or NULL). */
int dp_set_peer(struct dataplane *dp, const struct cg_state *st,
		const struct cg_peer_def *old, const struct cg_peer_def *peer);
/* The same with the rules' context built once for many peers (a bulk
 * import); ctx NULL: no rules. */
int dp_set_peer_ctx(struct dataplane *dp, const struct policy_rules_ctx *ctx,
		    const struct cg_peer_def *old,
		    const struct cg_peer_def *peer);
int dp_remove_peer(struct dataplane *dp, const struct cg_peer_def *peer);
/* After a service change: rewrite the service map from pol and re-judge
 * every identity's flows. */
int dp_sync_services(struct dataplane *dp, const struct policy *pol);

/* After a rule change: make cg_rules hold pol's class pairs, and give the
 * identities of classes that lost something a new epoch (their flows are
 * judged again; no other identity's). */
int dp_sync_rules(struct dataplane *dp, const struct policy *pol);

/* After a forward change: rewrite the forward and allow_from maps, and
 * the bridge's allowed sources. */
int dp_sync_forwards(struct dataplane *dp, const struct policy *pol);

/* The ports of the bridge, by ifindex. */
#define DP_MAX_PORTS 256
struct dp_ports {
	int ifindex[DP_MAX_PORTS];
	size_t n;
};

/* Forget the bridge bindings (cg_bridge_bind) of ports not in ports:
 * how many, or -errno. */
int dp_bridge_unbind_gone(struct dataplane *dp, const struct dp_ports *ports);

/* Delete expired conntrack and NAT entries (a NAT pair only when both
 * halves expired); returns how many. */
int dp_gc(struct dataplane *dp, uint64_t now_ns);
/* dp_gc's deletions alone, by table (removed[]), for a caller that
 * accounts them (dp_table_removed) under its lock. */
int dp_gc_sweep(const struct dataplane *dp, uint64_t now_ns,
		uint64_t removed[CG_TABLE__MAX]);
/* Conntrack entries the identity holds, as the flow budget counts them
 * (as of the last sweep, plus the flows it opened since). */
uint64_t dp_budget_held(const struct dataplane *dp, uint32_t ident);
/* Delete every NAT entry a forward owns (when the forward goes). */
int dp_forget_owner(struct dataplane *dp, uint32_t owner);
/* NAT health and one forward's counters, summed over CPUs. */
int dp_nat_stats(const struct dataplane *dp, struct cg_nat_stats *sum);
int dp_fwd_counters(const struct dataplane *dp, uint32_t fwd_id,
		    struct cg_fwd_counters *sum);
/* Zero one forward's counters on every CPU, so a reused slot starts at 0. */
int dp_fwd_counters_reset(struct dataplane *dp, uint32_t fwd_id);

/* Counters of one identity, summed over CPUs. */
int dp_counters(const struct dataplane *dp, uint32_t ident,
		struct cg_counters *sum);
/* Every identity's counters, summed over CPUs, read in batches:
 * sums[id] for id < n (ids beyond the map stay zero). */
int dp_counters_all(const struct dataplane *dp, struct cg_counters *sums,
		    uint32_t n);
/* Every service's new-flow verdicts: sums[id] for id < CG_MAX_SERVICES. */
int dp_service_counters_all(const struct dataplane *dp,
			    struct cg_service_counters *sums);
/* Entries created and removed per LRU table, both slots added up. */
int dp_table_stats(const struct dataplane *dp, struct cg_table_stats *sum);
/* Count removals the controller made (slot CG_STATS_CONTROLLER). */
void dp_table_removed(struct dataplane *dp, enum cg_table table, uint64_t n);
/* What became of the events the programs were asked to emit. */
int dp_event_stats(const struct dataplane *dp, struct cg_event_stats *sum);
/* Renew (or with until_ns 0, end) the monitor's lease: drop events until
 * drops_until_ns, trace events until trace_until_ns (CLOCK_MONOTONIC;
 * 0: none), at rate per second and CPU with burst (0: defaults). */
int dp_monitor_lease(struct dataplane *dp, const struct cg_monitor *m);
int dp_map_usage(const struct dataplane *dp, enum dp_map map,
		 struct dp_map_usage *usage);
/* The same, with the entries already counted (UINT64_MAX: count them). */
int dp_map_usage_of(const struct dataplane *dp, enum dp_map map,
		    struct dp_map_usage *usage, uint64_t entries);

/* Unpin every cellgate map under bpffs. */
int dp_unpin(const char *bpffs);

#endif
