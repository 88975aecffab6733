/* SPDX-License-Identifier: MIT */
/*
 * Healing what vanishes under a running controller: the WireGuard device
 * (deleted, or its wireguard-go killed), the uplink and the bridge (a
 * container's veth re-created), and our programs on their hooks (removed,
 * or replaced by someone else's).
 */
#ifndef CELLGATE_HEAL_H
#define CELLGATE_HEAL_H

#include <stdbool.h>
#include <stdint.h>

struct controller;
struct metrics;

/* What was repaired, as /metrics labels it. */
enum heal_what {
	HEAL_WIREGUARD, /* the device re-created, peers re-programmed */
	HEAL_UPLINK, /* the uplink came back: programs re-attached */
	HEAL_BRIDGE, /* the bridge came back */
	HEAL_PROGRAM, /* one of our hooks lost our program: put back */
	HEAL__MAX,
};

#define FQ_NOT_NEEDED 2

struct ctl_heal {
	int nl_fd; /* rtnetlink, link events; -1 when it could not open */
	bool dirty; /* an event named one of our interfaces */
	bool leave_foreign; /* config: a foreign program stays (warned) */
	int wg_ifindex, up_ifindex, br_ifindex; /* as last seen */
	uint64_t last_check_ns;
	uint64_t repaired[HEAL__MAX];
	uint64_t failed[HEAL__MAX]; /* repairs tried and failed */
	uint64_t foreign_seen; /* hooks found holding another program */
	uint64_t events; /* link events about our interfaces */
	bool foreign_warned; /* said once, until ours is back */
	/* net_ensure_fq's last answer (1 added, 0 there, -errno), to log
	 * changes once, or FQ_NOT_NEEDED: no download limit, none of ours
	 * on wg0 (rate_qdisc.c). 0 at start: a leftover of ours is looked
	 * for once. */
	int fq_state;
};

/* After the programs are attached: remember the interfaces, listen to
 * link events. */
void ctl_heal_start(struct controller *c);
/* From the periodic tick, without the lock: drain link events; on one
 * (or every second regardless, for events lost) check the interfaces and
 * hooks and repair under the lock what is broken. */
void ctl_heal_tick(struct controller *c, uint64_t now_ns);
void ctl_heal_stop(struct controller *c);
/* cellgate_heal_total and friends. */
void ctl_heal_metrics(const struct controller *c, struct metrics *m);

#endif
