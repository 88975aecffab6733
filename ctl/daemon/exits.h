/* SPDX-License-Identifier: MIT */
/*
 * Exits at run time (issue 20): the WireGuard interfaces of wireguard
 * exits, cg_exits[id] written from the state and from each exit's
 * health, checked every second. The state is ctl/state's (state_exit.c),
 * the API's operations ops_exit.c.
 *
 * Health, what cg_exits[id].up says:
 *   interface: the link exists, is up and running (carrier);
 *   wireguard: the same, and the last handshake with the far end is
 *   under 180 s old. A new exit is down until its first handshake (fail
 *   closed): the peer's persistent keepalive (25 s) makes WireGuard
 *   handshake without traffic of ours, and while the exit is down the
 *   controller turns the keepalive off and on every 30 s (WireGuard gives
 *   up after 90 s of unanswered handshakes and re-arms the keepalive only
 *   on authenticated traffic), so an exit comes back by itself once its
 *   far end answers.
 */
#ifndef CELLGATE_EXITS_H
#define CELLGATE_EXITS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "abi.h"
#include "dp_exits.h"

struct controller;
struct metrics;
struct cg_exit_def;
struct dataplane;

/* No handshake for this long: the kill switch holds. */
#define CG_EXIT_HANDSHAKE_MAX_S 180
#define CG_EXIT_KEEPALIVE_S 25
/* A down wireguard exit is made to handshake again this often. */
#define CG_EXIT_POKE_NS (30ull * 1000000000ull)

/* What the controller knows of an exit beyond its definition. */
struct ctl_exit_rt {
	bool written; /* entry holds what cg_exits[id] was given */
	bool retry; /* the last write or attach failed: write again */
	struct cg_exit entry;
	int64_t handshake; /* unix seconds of the last one, 0: never */
	pid_t wg_pid; /* wireguard-go we started for it, or 0 */
	uint64_t went_down, went_up; /* transitions since start */
	uint64_t poked_ns; /* a down wireguard exit's last keepalive poke */
};

struct ctl_exits {
	struct ctl_exit_rt rt[CG_MAX_EXITS];
	/* Bumped by every exit operation under the lock: the tick applies
	 * what it measured outside the lock only if none came in. */
	uint64_t gen;
	uint64_t last_check_ns;
};

/* Create or re-program a wireguard exit's interface (old: what it
 * replaces, or NULL), and write cg_exits[id] as the exit is now. Under
 * the lock. */
int ctl_exit_program(struct controller *c, const struct cg_exit_def *e,
		     const struct cg_exit_def *old);
/* cg_exits[id] deleted, a wireguard exit's interface removed. */
void ctl_exit_remove(struct controller *c, const struct cg_exit_def *e);
/* At start: every exit programmed (failures logged, not fatal: the
 * exit is down and its peers' traffic held back). */
void ctl_exits_start(struct controller *c);
/* From the tick, without the lock: every second, the exits' health. */
void ctl_exits_tick(struct controller *c, uint64_t now_ns);
/* cellgate_exit_* (per exit); caller holds the lock. */
void ctl_exits_metrics(struct controller *c, struct metrics *m);
/* An exit's live fields for the API: up, handshake age, counters,
 * the peers using it. */
struct json_object;
void ctl_exit_view_add(struct controller *c, const struct cg_exit_def *e,
		       struct json_object *o);

#endif
