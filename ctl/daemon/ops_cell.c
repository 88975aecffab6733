// SPDX-License-Identifier: MIT
/*
 * Linked cells, the operator's side: invites, linking and unlinking, what
 * each cell may use of ours. The pieces that talk to the other cell or
 * push to it are cells/'s; the transactions are ours (op.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "cells.h"
#include "log.h"
#include "op.h"
#include "remote.h"
#include "view.h"

/* A cell as the API shows it: its link, its last handshake (from dev, if
 * read) and its counters. */
static json_object *cell_view(struct controller *c,
			      const struct cg_cell_def *cell,
			      const struct wg_device *dev)
{
	json_object *o = cell_to_json(cell, c->state.services,
				      c->state.n_services, false);
	struct cg_counters sum;
	int64_t hs = 0;
	size_t i;

	for (i = 0; dev && i < dev->n_peers; i++)
		if (key_equal(dev->peers[i].public_key, cell->info.public_key))
			hs = dev->peers[i].last_handshake_sec;
	json_object_object_add(o, "last_handshake_at",
			       json_object_new_int64(hs));
	if (dp_counters(&c->dp, cell->id, &sum) == 0)
		json_object_object_add(o, "counters", ctl_counters_json(&sum));
	return o;
}

static const void *find_cell(const struct cg_state *st, const char *name)
{
	return state_cell(st, name);
}

static int view_cell(struct controller *c, const void *cell, void *out,
		     struct cg_error *err)
{
	struct wg_device dev = { 0 };
	bool have = wg_get_device(c->cfg.wireguard.interface, &dev) == 0;

	(void)err;
	*(json_object **)out = cell_view(c, cell, have ? &dev : NULL);
	wg_device_free(&dev);
	return 0;
}

static int view_permissions(struct controller *c, const void *cell, void *out,
			    struct cg_error *err)
{
	(void)err;
	*(json_object **)out = cells_permissions_json(&c->state, cell);
	return 0;
}

static const struct ctl_lookup cell_lookup = { "cell", "name", find_cell,
					       view_cell };
static const struct ctl_lookup permissions_lookup = { "cell", "name", find_cell,
						      view_permissions };

int ctl_list_cells(struct controller *c, json_object **out)
{
	struct wg_device dev = { 0 };
	json_object *arr = json_object_new_array();
	bool have_dev;
	size_t i;

	/* The dump lists every peer: not under the lock. */
	have_dev = wg_get_device(c->cfg.wireguard.interface, &dev) == 0;
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->state.n_cells; i++)
		json_object_array_add(arr, cell_view(c, &c->state.cells[i],
						     have_dev ? &dev : NULL));
	pthread_mutex_unlock(&c->lock);
	wg_device_free(&dev);
	*out = arr;
	return 0;
}

int ctl_get_cell(struct controller *c, const char *name, json_object **out,
		 struct cg_error *err)
{
	return ctl_look_up(c, &cell_lookup, name, out, err);
}

int ctl_get_cell_permissions(struct controller *c, const char *name,
			     json_object **out, struct cg_error *err)
{
	return ctl_look_up(c, &permissions_lookup, name, out, err);
}

/* ---- invites ------------------------------------------------------------ */

/* An invite as listed: its id and times, never its secret. */
static json_object *invite_view(const struct cg_invite *inv)
{
	char id[INVITE_ID_LEN + 1] = "";
	json_object *o = json_object_new_object();

	invite_id(id, inv->secret); /* only fails out of memory: id "" */
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "created_at",
			       json_object_new_int64(inv->created_at));
	json_object_object_add(o, "expires_at",
			       json_object_new_int64(inv->expires_at));
	return o;
}

static int invite_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct cg_invite *inv = arg;
	int ret;

	if (!c->cfg.sync.port || !c->cfg.sync.pairing_port ||
	    !c->cfg.wireguard.endpoint[0]) {
		cg_error_set(err, 409, "",
			     "linking needs wireguard.endpoint, sync.port and "
			     "sync.pairing_port in the config");
		return -EINVAL;
	}
	state_expire_invites(&c->state, (int64_t)time(NULL));
	ret = pairing_secret_new(inv->secret);
	inv->created_at = (int64_t)time(NULL);
	inv->expires_at = inv->created_at + CG_INVITE_TTL_S;
	return ret ? ret : state_add_invite(&c->state, inv, err);
}

/* The invite to hand over: our description, the secret, its id. */
static json_object *invite_out(struct controller *c, void *arg)
{
	struct cg_invite *inv = arg;
	struct cg_cell_info me;
	json_object *out, *view;

	cell_info_of_config(&c->cfg, c->public_key, &me);
	out = cell_info_to_json(&me);
	json_object_object_add(out, "pairing_secret",
			       json_object_new_string(inv->secret));
	json_object_object_add(out, "expires_at",
			       json_object_new_int64(inv->expires_at));
	/* The id to list or revoke it by; the other cell ignores it. */
	view = invite_view(inv);
	json_object_object_add(
		out, "invite_id",
		json_object_get(json_object_object_get(view, "id")));
	json_object_put(view);
	return out;
}

static const struct ctl_op cell_invite = {
	.change = invite_change,
	.view = invite_out,
};

int ctl_cell_invite(struct controller *c, json_object **out,
		    struct cg_error *err)
{
	struct cg_invite inv = { 0 };
	int ret = ctl_run(c, &cell_invite, &inv, out, err);

	explicit_bzero(&inv, sizeof(inv));
	return ret;
}

int ctl_list_invites(struct controller *c, json_object **out)
{
	json_object *arr = json_object_new_array();
	size_t i;

	pthread_mutex_lock(&c->lock);
	/* Expired ones are left out, and dropped at the next change. */
	for (i = 0; i < c->state.n_invites; i++)
		if (c->state.invites[i].expires_at > (int64_t)time(NULL))
			json_object_array_add(
				arr, invite_view(&c->state.invites[i]));
	pthread_mutex_unlock(&c->lock);
	*out = arr;
	return 0;
}

static int revoke_change(struct controller *c, void *arg, struct cg_error *err)
{
	const char *id = arg;
	int i;

	state_expire_invites(&c->state, (int64_t)time(NULL));
	i = state_find_invite(&c->state, id);
	if (i < 0) {
		cg_error_set(err, 404, "id", "no pending invite '%s'", id);
		return -ENOENT;
	}
	state_drop_invite(&c->state, (size_t)i);
	return 0;
}

static int revoke_done(struct controller *c, void *arg, struct cg_error *err)
{
	(void)c;
	(void)err;
	log_info("invite %s revoked", (const char *)arg);
	return 0;
}

static const struct ctl_op revoke_invite = {
	.change = revoke_change,
	.apply = revoke_done,
};

int ctl_revoke_invite(struct controller *c, const char *id,
		      struct cg_error *err)
{
	return ctl_run(c, &revoke_invite, (void *)id, NULL, err);
}

/* ---- links -------------------------------------------------------------- */

struct link_args {
	struct cg_cell_info info; /* the invite's cell */
	char secret[PAIRING_SECRET_B64_LEN + 1];
	uint8_t key[LINK_KEY_LEN];
	bool applied; /* the kernel may hold the link: revert re-applies */
};

/* Link, then have the remote accept: WireGuard, route and maps first, as
 * the remote's answer and its first push come over the tunnel. */
static int link_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct link_args *a = arg;
	uint8_t raw[PAIRING_SECRET_LEN];
	struct cg_cell_info me;
	int ret;

	if (key_equal(a->info.public_key, c->public_key)) {
		cg_error_set(err, 400, "public_key",
			     "this is this cell's own invite");
		return -EINVAL;
	}
	pairing_secret_decode(raw, a->secret);
	ret = link_key_derive(a->key, raw, sizeof(raw), c->public_key,
			      a->info.public_key);
	explicit_bzero(raw, sizeof(raw));
	if (ret)
		return ret;
	/* A new link is one more WireGuard peer; a re-sent invite is not. */
	if (!state_cell_by_key(&c->state, a->info.public_key) &&
	    !ctl_wg_room(c, "public_key", err))
		return -ENOSPC;
	a->applied = true;
	ret = state_link_cell(&c->state, &a->info, a->key, NULL, err);
	if (!ret)
		ret = ctl_apply_cells(c);
	cell_info_of_config(&c->cfg, c->public_key, &me);
	if (!ret)
		ret = cells_call_accept_invite(&me, &a->info, a->key, err);
	return ret;
}

/* One step or none: undo what this cell did. */
static void link_revert(struct controller *c, void *arg)
{
	if (((struct link_args *)arg)->applied)
		ctl_apply_cells(c);
}

static int link_done(struct controller *c, void *arg, struct cg_error *err)
{
	struct link_args *a = arg;

	(void)err;
	cells_push_soon(&c->pusher,
			state_cell_by_key(&c->state, a->info.public_key));
	log_info("linked cell '%s' (%s)", a->info.cell_name, a->info.endpoint);
	return 0;
}

static json_object *link_view(struct controller *c, void *arg)
{
	struct link_args *a = arg;

	return cell_view(c, state_cell_by_key(&c->state, a->info.public_key),
			 NULL);
}

static const struct ctl_op link_cell = {
	.change = link_change,
	.revert = link_revert,
	.apply = link_done,
	.view = link_view,
};

int ctl_link_cell(struct controller *c, json_object *invite, json_object **out,
		  struct cg_error *err)
{
	struct link_args a = { 0 };
	int ret = -EINVAL;

	if (cell_info_parse(invite, &a.info, a.secret, err))
		ret = ctl_run(c, &link_cell, &a, out, err);
	explicit_bzero(&a, sizeof(a));
	return ret;
}

/* Unlink, telling the remote while the tunnel is still there. */
static int unlink_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct cg_cell_def gone;
	char *hello;
	int ret = state_unlink_cell(&c->state, arg, &gone, err);

	if (ret)
		return ret;
	hello = cells_hello(c->cfg.cell_name, c->public_key);
	cells_tell_unlink(&gone, hello, &c->cfg.wireguard.address);
	free(hello);
	return 0;
}

static int unlink_apply(struct controller *c, void *arg, struct cg_error *err)
{
	(void)arg;
	if (ctl_apply_cells(c))
		return ctl_apply_failed(-EIO, err, "removing the link");
	return 0;
}

static const struct ctl_op unlink_cell = {
	.change = unlink_change,
	.apply = unlink_apply,
};

int ctl_unlink_cell(struct controller *c, const char *name,
		    struct cg_error *err)
{
	return ctl_run(c, &unlink_cell, (void *)name, NULL, err);
}

/* ---- permissions -------------------------------------------------------- */

struct permissions_args {
	const char *name;
	json_object *body;
};

/* pending_push is part of the state: saved with the change, so a restart
 * still tells the cell. */
static int permissions_change(struct controller *c, void *arg,
			      struct cg_error *err)
{
	struct permissions_args *a = arg;
	int ret =
		state_set_cell_inbound(&c->state, a->name, a->body, NULL, err);

	if (!ret)
		cells_push_soon(&c->pusher, state_cell(&c->state, a->name));
	return ret;
}

static int permissions_apply(struct controller *c, void *arg,
			     struct cg_error *err)
{
	(void)arg;
	if (ctl_sync_maps(c))
		return ctl_apply_failed(-EIO, err, "the map update");
	return 0;
}

static json_object *permissions_view(struct controller *c, void *arg)
{
	struct permissions_args *a = arg;

	return cells_permissions_json(&c->state,
				      state_cell(&c->state, a->name));
}

static const struct ctl_op put_permissions = {
	.change = permissions_change,
	.apply = permissions_apply,
	.view = permissions_view,
};

int ctl_put_cell_permissions(struct controller *c, const char *name,
			     json_object *body, json_object **out,
			     struct cg_error *err)
{
	struct permissions_args a = { name, body };

	return ctl_run(c, &put_permissions, &a, out, err);
}
