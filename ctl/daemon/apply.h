/* SPDX-License-Identifier: MIT */
/*
 * Programming the kernel from the whole state: every map, and after a cell
 * change the maps, WireGuard's peers and the routes to linked cells.
 * Callers hold the lock.
 */
#ifndef CELLGATE_APPLY_H
#define CELLGATE_APPLY_H

#include "controller.h"

/* Rewrite every map from the state. */
int ctl_sync_maps(struct controller *c);
/* Routes to the linked cells' subnets, and no others of ours. */
int ctl_route_cells(struct controller *c);
/* Maps, WireGuard peers and routes after a cell change. */
int ctl_apply_cells(struct controller *c);

#endif
