// SPDX-License-Identifier: MIT
/*
 * Linked cells (what we keep of each link, what we share with it) and
 * the pending invites that create them. The formats of a cell's
 * description and of its record are cell.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "jsonx.h"
#include "state_internal.h"

static bool cell_named(const void *cell, const void *name)
{
	return !strcmp(((const struct cg_cell_def *)cell)->info.cell_name,
		       name);
}

static bool cell_at_address(const void *cell, const void *addr)
{
	return ((const struct cg_cell_def *)cell)->info.wg_address.s_addr ==
	       ((const struct in_addr *)addr)->s_addr;
}

struct cg_cell_def *state_cell(const struct cg_state *st, const char *name)
{
	return state_find(st, ST_CELLS, cell_named, name);
}

struct cg_cell_def *state_cell_by_key(const struct cg_state *st,
				      const wg_key key)
{
	return state_find(st, ST_CELLS, cell_with_key, key);
}

struct cg_cell_def *state_cell_by_address(const struct cg_state *st,
					  struct in_addr wg_address)
{
	return state_find(st, ST_CELLS, cell_at_address, &wg_address);
}

/* A link must not collide with our own networks and domain.
 * Overlapping subnets made PIC's routing black hole. */
static bool cell_hits_ours(const struct cg_config *cfg,
			   const struct cg_cell_info *in, struct cg_error *err)
{
	size_t i;

	if (cidrs_overlap(in->vpn_subnet.addr, in->vpn_subnet.prefix,
			  cfg->wireguard.subnet.addr,
			  cfg->wireguard.subnet.prefix) ||
	    (cfg->bridge.has_subnet &&
	     cidrs_overlap(in->vpn_subnet.addr, in->vpn_subnet.prefix,
			   cfg->bridge.subnet.addr,
			   cfg->bridge.subnet.prefix))) {
		cg_error_set(err, 409, "vpn_subnet",
			     "vpn_subnet overlaps this cell's own networks");
		return true;
	}
	for (i = 0; i < cfg->n_local_networks; i++)
		if (cidrs_overlap(in->vpn_subnet.addr, in->vpn_subnet.prefix,
				  cfg->local_networks[i].addr,
				  cfg->local_networks[i].prefix)) {
			cg_error_set(err, 409, "vpn_subnet",
				     "vpn_subnet overlaps local_networks[%zu]",
				     i);
			return true;
		}
	if (in->has_subnet6 && cfg->wireguard.has_address6 &&
	    (cidr6s_overlap(&in->subnet6, &cfg->wireguard.subnet6) ||
	     (cfg->bridge.has_subnet6 &&
	      cidr6s_overlap(&in->subnet6, &cfg->bridge.subnet6)))) {
		cg_error_set(err, 409, "subnet6",
			     "subnet6 overlaps this cell's own networks");
		return true;
	}
	if (!strcasecmp(in->domain, cfg->domain)) {
		cg_error_set(err, 409, "domain", "domain '%s' is this cell's",
			     in->domain);
		return true;
	}
	return false;
}

/* A new or changed link must not collide with our own networks and
 * domain, a peer's key, or another cell (self: the cell being
 * updated). */
static bool cell_conflicts(const struct cg_state *st,
			   const struct cg_cell_info *in,
			   const struct cg_cell_def *self, struct cg_error *err)
{
	const struct cg_peer_def *peer;
	char net[24], ip[16];
	size_t i;

	if (cell_hits_ours(st->cfg, in, err))
		return true;
	/* One key, one WireGuard peer: never a peer's and a cell's. */
	peer = state_peer_by_key(st, in->public_key);
	if (peer) {
		cg_error_set(err, 409, "public_key",
			     "public_key is peer '%s''s", peer->name);
		return true;
	}
	for (i = 0; i < st->n_cells; i++) {
		const struct cg_cell_def *o = &st->cells[i];

		if (o == self)
			continue;
		snprintf(net, sizeof(net), "%s/%u",
			 ipv4_str(o->info.vpn_subnet.addr, ip),
			 o->info.vpn_subnet.prefix);
		if (cidrs_overlap(in->vpn_subnet.addr, in->vpn_subnet.prefix,
				  o->info.vpn_subnet.addr,
				  o->info.vpn_subnet.prefix)) {
			cg_error_set(err, 409, "vpn_subnet",
				     "vpn_subnet overlaps %s of cell '%s'", net,
				     o->info.cell_name);
			return true;
		}
		if (in->has_subnet6 && o->info.has_subnet6 &&
		    cidr6s_overlap(&in->subnet6, &o->info.subnet6)) {
			cg_error_set(err, 409, "subnet6",
				     "subnet6 overlaps cell '%s''s",
				     o->info.cell_name);
			return true;
		}
		if (!strcasecmp(in->domain, o->info.domain)) {
			cg_error_set(err, 409, "domain",
				     "domain '%s' is cell '%s''s", in->domain,
				     o->info.cell_name);
			return true;
		}
		if (!strcmp(in->cell_name, o->info.cell_name)) {
			cg_error_set(err, 409, "cell_name",
				     "a cell named '%s' is linked already",
				     in->cell_name);
			return true;
		}
	}
	return false;
}

int state_link_cell(struct cg_state *st, const struct cg_cell_info *info,
		    const uint8_t link_key[LINK_KEY_LEN],
		    struct cg_cell_def *linked, struct cg_error *err)
{
	struct cg_cell_def *cur = state_cell_by_key(st, info->public_key);
	struct cg_cell_def c = { 0 };

	if (cell_conflicts(st, info, cur, err))
		return -EEXIST;
	if (cur) {
		/* The same cell again: new endpoint, subnet, dns, domain. */
		c = *cur;
		c.info = *info;
		memcpy(c.link_key, link_key, LINK_KEY_LEN);
		state_replace(st, ST_CELLS, cur, &c);
		if (linked)
			*linked = c;
		return 0;
	}
	if (st->n_cells >= CG_MAX_CELLS) {
		cg_error_set(err, 409, "cell_name", "%d cells are linked",
			     CG_MAX_CELLS);
		return -ENOSPC;
	}
	if (!state_free_identity(st, &c.id)) {
		cg_error_set(err, 409, "cell_name",
			     "no identity id is free (limits.max_peers)");
		return -ENOSPC;
	}
	c.info = *info;
	memcpy(c.link_key, link_key, LINK_KEY_LEN);
	c.linked_at = (int64_t)time(NULL);
	if (!state_add(st, ST_CELLS, &c, err))
		return -ENOMEM;
	if (linked)
		*linked = c;
	return 0;
}

void state_set_cell(struct cg_state *st, struct cg_cell_def *cell,
		    const struct cg_cell_def *val)
{
	state_replace(st, ST_CELLS, cell, val);
}

int state_unlink_cell(struct cg_state *st, const char *name,
		      struct cg_cell_def *removed, struct cg_error *err)
{
	return state_delete(st, ST_CELLS, cell_named, name, removed, err);
}

int state_set_cell_inbound(struct cg_state *st, const char *name,
			   json_object *body, struct cg_cell_def *updated,
			   struct cg_error *err)
{
	static const char *const fields[] = { "inbound", "outbound", NULL };
	struct cg_cell_def *c = state_get(st, ST_CELLS, cell_named, name, err);
	struct cg_cell_def changed;
	json_object *in;
	char path[96];

	if (!c)
		return -ENOENT;
	changed = *c;
	memset(changed.inbound, 0, sizeof(changed.inbound));
	if (!jx_only_fields(body, fields, "", err) ||
	    !jx_member(body, "inbound", json_type_object, true, "", &in, err))
		return -EINVAL;
	if (json_object_object_get_ex(body, "outbound", NULL)) {
		cg_error_set(err, 400, "outbound",
			     "'outbound' is what the remote cell shares: it "
			     "says so itself");
		return -EINVAL;
	}
	json_object_object_foreach(in, svc_name, val) {
		const struct cg_service_def *svc = state_service(st, svc_name);

		jx_path(path, sizeof(path), "inbound", svc_name);
		if (!svc) {
			cg_error_set(err, 400, path, "unknown service '%s'",
				     svc_name);
			return -EINVAL;
		}
		if (!json_object_is_type(val, json_type_boolean)) {
			cg_error_set(err, 400, path,
				     "'%s' must be true or false", path);
			return -EINVAL;
		}
		if (json_object_get_boolean(val))
			bit_set(changed.inbound, svc->id);
	}
	state_replace(st, ST_CELLS, c, &changed);
	if (updated)
		*updated = changed;
	return 0;
}

/* A loaded cell's identity id: below the limit, and neither a peer's
 * nor another cell's. */
static bool cell_id_valid(const struct cg_state *st,
			  const struct cg_cell_def *c, struct cg_error *err)
{
	const struct cg_peer_def *peer;
	const struct cg_cell_def *other;

	if (c->id > st->cfg->limits.max_peers) {
		cg_error_set(err, 400, "cells",
			     "cell '%s' has id %u above limits.max_peers",
			     c->info.cell_name, c->id);
		return false;
	}
	peer = state_find(st, ST_PEERS, peer_with_id, &c->id);
	if (peer) {
		cg_error_set(err, 400, "cells", "cell '%s' has peer '%s''s id",
			     c->info.cell_name, peer->name);
		return false;
	}
	other = state_find(st, ST_CELLS, cell_with_id, &c->id);
	if (other) {
		cg_error_set(err, 400, "cells",
			     "cells '%s' and '%s' share id %u",
			     other->info.cell_name, c->info.cell_name, c->id);
		return false;
	}
	return true;
}

bool state_cell_record(const struct cg_state *st, json_object *o,
		       struct cg_cell_def *c, struct cg_error *err)
{
	memset(c, 0, sizeof(*c));
	return cell_from_state(o, c, st->services, st->n_services, err);
}

bool state_cell_fits(const struct cg_state *st, const struct cg_cell_def *c,
		     const struct cg_cell_def *self, struct cg_error *err)
{
	const struct cg_cell_def *other =
		state_cell_by_key(st, c->info.public_key);

	if (c->id > st->cfg->limits.max_peers ||
	    ((!self || self->id != c->id) && state_identity_used(st, c->id))) {
		cg_error_set(err, 400, "cells", "cell '%s': id %u is taken",
			     c->info.cell_name, c->id);
		return false;
	}
	if ((other && other != self) ||
	    cell_conflicts(st, &c->info, self, err)) {
		if (!err->msg[0])
			cg_error_set(err, 400, "cells",
				     "cell '%s' repeats another",
				     c->info.cell_name);
		return false;
	}
	return true;
}

/* The state file's cells, read after its services and peers. */
bool state_load_cells(struct cg_state *st, json_object *arr,
		      struct cg_error *err)
{
	size_t i, n = arr ? json_object_array_length(arr) : 0;

	for (i = 0; i < n; i++) {
		struct cg_cell_def c;

		if (!cell_from_state(json_object_array_get_idx(arr, i), &c,
				     st->services, st->n_services, err) ||
		    !cell_id_valid(st, &c, err))
			return false;
		if (state_cell_by_key(st, c.info.public_key) ||
		    cell_conflicts(st, &c.info, NULL, err)) {
			if (!err->msg[0])
				cg_error_set(err, 400, "cells",
					     "cell '%s' repeats another",
					     c.info.cell_name);
			err->status = 400;
			return false;
		}
		if (!state_add(st, ST_CELLS, &c, err))
			return false;
	}
	return true;
}

/* ---- invites ------------------------------------------------------------ */

int state_add_invite(struct cg_state *st, const struct cg_invite *inv,
		     struct cg_error *err)
{
	if (st->n_invites >= CG_MAX_INVITES) {
		cg_error_set(err, 409, "", "%d invites are pending already",
			     CG_MAX_INVITES);
		return -ENOSPC;
	}
	return state_add(st, ST_INVITES, inv, err) ? 0 : -ENOMEM;
}

void state_drop_invite(struct cg_state *st, size_t i)
{
	state_remove(st, ST_INVITES, &st->invites[i]);
}

size_t state_expire_invites(struct cg_state *st, int64_t now)
{
	size_t i = 0, n = 0;

	while (i < st->n_invites) {
		if (st->invites[i].expires_at <= now) {
			state_drop_invite(st, i);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

static bool invite_with_id(const void *inv, const void *id)
{
	char got[INVITE_ID_LEN + 1];

	return !invite_id(got, ((const struct cg_invite *)inv)->secret) &&
	       !strcmp(got, id);
}

int state_find_invite(const struct cg_state *st, const char *id)
{
	const struct cg_invite *inv =
		state_find(st, ST_INVITES, invite_with_id, id);

	return inv ? (int)(inv - st->invites) : -1;
}

json_object *invite_to_json(const struct cg_invite *inv)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "secret",
			       json_object_new_string(inv->secret));
	json_object_object_add(o, "created_at",
			       json_object_new_int64(inv->created_at));
	json_object_object_add(o, "expires_at",
			       json_object_new_int64(inv->expires_at));
	return o;
}

bool state_invite_record(json_object *o, struct cg_invite *inv,
			 struct cg_error *err)
{
	static const char *const fields[] = { "secret", "created_at",
					      "expires_at", NULL };
	uint8_t raw[PAIRING_SECRET_LEN];
	uint64_t created = 0, expires = 0;
	bool ok;

	memset(inv, 0, sizeof(*inv));
	ok = json_object_is_type(o, json_type_object) &&
	     jx_only_fields(o, fields, "invites", err) &&
	     jx_string(o, "secret", true, "invites", inv->secret,
		       sizeof(inv->secret), err) &&
	     jx_uint(o, "created_at", true, "invites", 0, INT64_MAX, &created,
		     err) &&
	     jx_uint(o, "expires_at", true, "invites", 0, INT64_MAX, &expires,
		     err) &&
	     pairing_secret_decode(raw, inv->secret);
	explicit_bzero(raw, sizeof(raw));
	inv->created_at = (int64_t)created;
	inv->expires_at = (int64_t)expires;
	return ok;
}

/* The state file's pending invites (each a valid pairing secret). */
bool state_load_invites(struct cg_state *st, json_object *arr,
			struct cg_error *err)
{
	size_t i, n = arr ? json_object_array_length(arr) : 0;

	for (i = 0; i < n; i++) {
		struct cg_invite inv;

		if (!state_invite_record(json_object_array_get_idx(arr, i),
					 &inv, err)) {
			if (!err->msg[0])
				cg_error_set(err, 400, "invites",
					     "invites[%zu] is not an invite",
					     i);
			explicit_bzero(&inv, sizeof(inv));
			return false;
		}
		if (state_add_invite(st, &inv, err))
			return false;
		explicit_bzero(&inv, sizeof(inv));
	}
	return true;
}
