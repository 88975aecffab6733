// SPDX-License-Identifier: MIT
/*
 * Linked cells, the remote's side: the calls another cell makes to the
 * sync and pairing listeners. cells/auth.h checks who calls; the
 * transactions are ours (op.h). A refusal is a counted 403.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "jsonx.h"
#include "log.h"
#include "op.h"

static json_object *status_ok(struct controller *c, void *arg)
{
	json_object *o = json_object_new_object();

	(void)c;
	(void)arg;
	json_object_object_add(o, "status", json_object_new_string("ok"));
	return o;
}

struct accept_args {
	const struct cell_request *req;
	struct cg_cell_info them;
	uint8_t key[LINK_KEY_LEN];
};

/* Link the cell whose request one of our pending invites signed; that
 * invite is used up. */
static int accept_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct accept_args *a = arg;
	uint64_t ts;
	int i, ret;

	state_expire_invites(&c->state, (int64_t)time(NULL));
	if (!cells_fresh(a->req->timestamp, &ts))
		return cells_forbidden(&c->sync_refused, a->req,
				       CELL_REFUSED_BAD_TIMESTAMP, err,
				       "bad or missing timestamp");
	i = cells_find_invite(&c->state, c->public_key, a->req, &a->them,
			      a->key);
	if (i < 0)
		return cells_forbidden(&c->sync_refused, a->req,
				       CELL_REFUSED_NO_INVITE, err,
				       "no pending invite signed this "
				       "(unknown, used or expired pairing "
				       "secret)");
	if (!state_cell_by_key(&c->state, a->them.public_key) &&
	    !ctl_wg_room(c, "public_key", err))
		return -ENOSPC;
	state_drop_invite(&c->state, (size_t)i); /* single use */
	ret = state_link_cell(&c->state, &a->them, a->key, NULL, err);
	if (!ret)
		state_cell_by_key(&c->state, a->them.public_key)
			->last_remote_ts_ms = ts;
	return ret;
}

static int accept_apply(struct controller *c, void *arg, struct cg_error *err)
{
	struct accept_args *a = arg;

	if (ctl_apply_cells(c))
		return ctl_apply_failed(-EIO, err, "linking the cell");
	cells_push_soon(&c->pusher,
			state_cell_by_key(&c->state, a->them.public_key));
	log_info("cell '%s' accepted our invite (%s)", a->them.cell_name,
		 a->them.endpoint);
	return 0;
}

/* Our description, as the inviting cell's answer. */
static json_object *accept_view(struct controller *c, void *arg)
{
	struct cg_cell_info me;

	(void)arg;
	cell_info_of_config(&c->cfg, c->public_key, &me);
	return cell_info_to_json(&me);
}

static const struct ctl_op accept_invite = {
	.change = accept_change,
	.apply = accept_apply,
	.view = accept_view,
};

int ctl_sync_accept_invite(struct controller *c, const struct cell_request *req,
			   json_object **out, struct cg_error *err)
{
	struct accept_args a = { .req = req };
	int ret;

	if (!req->body || !cell_info_parse(req->body, &a.them, NULL, err))
		return -EINVAL;
	ret = ctl_run(c, &accept_invite, &a, out, err);
	explicit_bzero(a.key, sizeof(a.key));
	return ret;
}

/* What the calling cell shares with us (our outbound view of it). */
static int permissions_change(struct controller *c, void *arg,
			      struct cg_error *err)
{
	static const char *const fields[] = { "from_public_key", "cell_name",
					      "permissions", NULL };
	const struct cell_request *req = arg;
	char names[CG_MAX_OUTBOUND][CG_NAME_MAX + 1];
	struct cg_cell_def *cell, changed;
	json_object *perm;
	unsigned int n;

	cell = cells_authenticate(&c->state, &c->sync_refused, req, err);
	if (!cell)
		return -EPERM;
	if (!jx_only_fields(req->body, fields, "", err) ||
	    !jx_member(req->body, "permissions", json_type_object, true, "",
		       &perm, err) ||
	    !cell_parse_shares(perm, "permissions", names, &n, err))
		return -EINVAL;
	/* Through the state's one way to change an entity: undone if the
	 * save fails. */
	changed = *cell;
	memcpy(changed.outbound, names, sizeof(names));
	changed.n_outbound = n;
	changed.last_remote_update_at = (int64_t)time(NULL);
	state_set_cell(&c->state, cell, &changed);
	explicit_bzero(&changed, sizeof(changed));
	return 0;
}

static const struct ctl_op sync_permissions = {
	.change = permissions_change,
	.view = status_ok,
};

int ctl_sync_permissions(struct controller *c, const struct cell_request *req,
			 json_object **out, struct cg_error *err)
{
	return ctl_run(c, &sync_permissions, (void *)req, out, err);
}

struct unlink_args {
	const struct cell_request *req;
	char name[CG_NAME_MAX + 1]; /* the calling cell's */
};

static int unlink_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct unlink_args *a = arg;
	struct cg_cell_def *cell =
		cells_authenticate(&c->state, &c->sync_refused, a->req, err);

	if (!cell)
		return -EPERM;
	str_copy(a->name, sizeof(a->name), cell->info.cell_name);
	state_unlink_cell(&c->state, a->name, NULL, err);
	return 0;
}

static int unlink_apply(struct controller *c, void *arg, struct cg_error *err)
{
	struct unlink_args *a = arg;

	if (ctl_apply_cells(c))
		return ctl_apply_failed(-EIO, err, "removing the link");
	log_info("cell '%s' unlinked us", a->name);
	return 0;
}

static const struct ctl_op sync_unlink = {
	.change = unlink_change,
	.apply = unlink_apply,
	.view = status_ok,
};

int ctl_sync_unlink(struct controller *c, const struct cell_request *req,
		    json_object **out, struct cg_error *err)
{
	struct unlink_args a = { .req = req };

	return ctl_run(c, &sync_unlink, &a, out, err);
}
