// SPDX-License-Identifier: MIT
/*
 * Cell-to-cell links: pairing, sharing and peer-sync.
 *
 * Pairing: cell B's operator hands an invite (B's description and a
 * random, single-use pairing secret) to A's operator, out of band. A links
 * B (WireGuard peer, route, identity) and calls B's accept-invite with its
 * own description, signed with the link key both derive from the secret
 * (HKDF, crypto.c); B checks the signature against its pending invites and
 * links A. The call goes to B's pairing listener, not over WireGuard: B's
 * WireGuard drops A's handshake until B knows A's key. The secret itself
 * never travels. Afterwards everything between the cells goes over
 * WireGuard to the sync listener (auth.c says how it is checked).
 */
#include <stdlib.h>
#include <string.h>

#include "cells.h"
#include "route.h"

int cells_route(const char *ifname, const struct cg_state *st)
{
	struct cg_cidr nets[CG_MAX_CELLS];
	size_t i;

	for (i = 0; i < st->n_cells; i++)
		nets[i] = st->cells[i].info.vpn_subnet;
	return route_sync(ifname, nets, st->n_cells);
}

json_object *cells_permissions_json(const struct cg_state *st,
				    const struct cg_cell_def *cell)
{
	json_object *o =
		cell_to_json(cell, st->services, st->n_services, false);
	json_object *p = NULL;

	json_object_object_get_ex(o, "permissions", &p);
	json_object_get(p);
	json_object_put(o);
	return p;
}

/* {"from_public_key", "cell_name"}: how we introduce ourselves. */
static json_object *hello_object(const char *cell_name, const wg_key pub)
{
	json_object *o = json_object_new_object();
	char key[WG_KEY_B64_LEN + 1];

	key_to_base64(key, pub);
	json_object_object_add(o, "from_public_key",
			       json_object_new_string(key));
	json_object_object_add(o, "cell_name",
			       json_object_new_string(cell_name));
	return o;
}

/* o as a malloc'd string; o is released. */
static char *take_string(json_object *o)
{
	char *s = strdup(json_object_to_json_string(o));

	json_object_put(o);
	return s;
}

char *cells_hello(const char *cell_name, const wg_key pub)
{
	return take_string(hello_object(cell_name, pub));
}

char *cells_push_body(const struct cg_state *st, const char *cell_name,
		      const wg_key pub, const struct cg_cell_def *cell)
{
	json_object *full = cells_permissions_json(st, cell), *perm = NULL;
	json_object *o = hello_object(cell_name, pub);

	json_object_object_get_ex(full, "inbound", &perm);
	json_object_object_add(o, "permissions", json_object_get(perm));
	json_object_put(full);
	return take_string(o);
}
