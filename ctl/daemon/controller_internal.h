/* SPDX-License-Identifier: MIT */
/* Controller steps shared by controller.c and cells.c; callers hold the
 * lock. */
#ifndef CELLGATE_CONTROLLER_INTERNAL_H
#define CELLGATE_CONTROLLER_INTERNAL_H

#include "attach.h"
#include "controller.h"

/* Copy the state before a change, to put back if it cannot be saved. */
int ctl_snapshot(struct controller *c, struct cg_state *copy,
		 struct cg_error *err);
/* Put back the copy taken before a change that failed. */
void ctl_rollback(struct controller *c, struct cg_state *before);
/* Save the state; on failure put back `before`. */
int ctl_commit(struct controller *c, struct cg_state *before,
	       struct cg_error *err);
/* A saved change the dataplane or WireGuard refused: 500, retried. */
int ctl_apply_failed(int ret, struct cg_error *err, const char *what);
/* An identity's counters as the API shows them. */
json_object *ctl_counters_json(const struct cg_counters *s);
/* The programs and where they run (2 on wg0, 2 more with an uplink);
 * xs says how the XDP one is attached. */
struct ctl_program {
	const char *ifname;
	const char *hook; /* "tc-ingress", "tc-egress", "xdp" */
	int fd;
	bool attached;
};
size_t ctl_programs(struct controller *c, struct ctl_program out[4],
		    struct xdp_state *xs);
/* How libxdp attached XDP: "multiprog", "single-program fallback", "none". */
const char *ctl_libxdp_way(const struct xdp_state *xs);
/* Rewrite every map from the state. */
int ctl_sync_maps(struct controller *c);
/* Routes to the linked cells' subnets, and no others of ours. */
int ctl_route_cells(struct controller *c);
/* Make WireGuard's peers the state's; repair: count it as drift. */
int ctl_wg_sync(struct controller *c, bool repair);

#endif
