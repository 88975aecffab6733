/* SPDX-License-Identifier: MIT */
/*
 * Programming the cell's WireGuard device from the state: setting it up at
 * start, one peer change per operation, and making its peers the state's
 * (after cell changes, and as the periodic drift repair).
 */
#ifndef CELLGATE_WGPROG_H
#define CELLGATE_WGPROG_H

#include <stdbool.h>

#include "controller.h"

/* The interface with the cell's key, port and address, up. */
int ctl_wg_setup(struct controller *c);
/* Program one peer change: old (or NULL) becomes new (or NULL). */
int ctl_wg_program(struct controller *c, const struct cg_peer_def *old,
		   const struct cg_peer_def *new);
/* Add n peers in one batch (a bulk import). */
int ctl_wg_add_peers(struct controller *c, const struct cg_peer_def *peers,
		     size_t n);
/* Make WireGuard's peers the state's; repair: count it as drift. The
 * caller holds the lock. */
int ctl_wg_sync(struct controller *c, bool repair);
/* The periodic drift repair, without holding the lock across the dump
 * and the diff: takes the lock itself, twice, briefly. */
int ctl_wg_reconcile(struct controller *c);

#endif
