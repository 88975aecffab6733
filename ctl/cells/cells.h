/* SPDX-License-Identifier: MIT */
/*
 * A linked cell's local pieces: the routes to linked cells' subnets and the
 * JSON bodies we send or show about a link. Pure functions of the state
 * and config: the daemon holds the lock and decides when they run.
 */
#ifndef CELLGATE_CELLS_H
#define CELLGATE_CELLS_H

#include <json-c/json.h>

#include "cell.h"
#include "config.h"
#include "key.h"
#include "state.h"

/* Routes to the linked cells' subnets over ifname, and no others of ours. */
int cells_route(const char *ifname, const struct cg_state *st);

/* What a cell may use of ours and we of it: {"inbound", "outbound"}. */
json_object *cells_permissions_json(const struct cg_state *st,
				    const struct cg_cell_def *cell);

/* Our introduction, signed when sent: {"from_public_key", "cell_name"}
 * (malloc'd). */
char *cells_hello(const char *cell_name, const wg_key pub);

/* What we share with cell: our introduction with "permissions", the
 * remote's outbound view (malloc'd). */
char *cells_push_body(const struct cg_state *st, const char *cell_name,
		      const wg_key pub, const struct cg_cell_def *cell);

#endif
