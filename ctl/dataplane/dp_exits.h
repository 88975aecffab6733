/* SPDX-License-Identifier: MIT */
/*
 * Exits (issue 20), the dataplane's half: cg_exits[id] written whole, the
 * exit's own ingress program (replies of masqueraded flows turned back
 * toward their peer) attached to its interface when it masquerades, and
 * its counters read. The controller owns what an exit is (its API, its
 * WireGuard device, its health); this file only puts it in the maps and
 * on the interface.
 *
 * Fail-closed by construction: the programs read cg_exits; a slot that is
 * down (up 0, ifindex 0) drops the peer's internet traffic (exit_down),
 * and a redirect to an interface that went away is a kernel drop. Nothing
 * here ever falls back to the default uplink.
 */
#ifndef CELLGATE_DP_EXITS_H
#define CELLGATE_DP_EXITS_H

#include <stdint.h>

#include "abi.h"

struct dataplane;

/* Write cg_exits[id] (1 <= id < CG_MAX_EXITS) to *e. When e masquerades,
 * attach the exit's ingress program to e->ifindex (creating a clsact
 * qdisc only if there is none, adding only our own filter); detach it
 * from the interface a previous put attached it to, if another. 0, or
 * -EINVAL (bad id), -errno. The map is written first: a failed attach
 * leaves the slot written (the heal retries the attach) and returns the
 * attach's error. */
int dp_exit_put(struct dataplane *dp, uint32_t id, const struct cg_exit *e);
/* Clear cg_exits[id] (kind NONE, down: the kill switch holds for any peer
 * still naming it) and detach what dp_exit_put attached. */
int dp_exit_delete(struct dataplane *dp, uint32_t id);
/* cg_exit_counters[id] summed over CPUs. */
int dp_exit_counters(struct dataplane *dp, uint32_t id,
		     struct cg_exit_counters *sum);
/* At start and from the heal: put the ingress program on every
 * masquerading exit cg_exits names whose interface does not carry ours
 * (the pinned slots outlive the controller, the programs are new; a
 * filter someone removed). How many were attached, or -errno of the
 * first failure (the others still tried). */
int dp_exits_reattach(struct dataplane *dp);
/* `cellgate detach`, with no controller: remove the ingress filter from
 * every masquerading exit the pinned cg_exits names (their clsact
 * qdiscs stay: no marker says whose they are). How many, or -errno. */
int dp_exits_detach_pinned(const char *bpffs);

#endif
