// SPDX-License-Identifier: MIT
/*
 * The mutation and lookup skeletons. Persistence is three calls
 * (undo_point, persist, undo): today a copy of the state and a rewrite of
 * state.json; a journal with per-operation undo replaces only these.
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "op.h"

/* What a failed operation goes back to. */
struct ctl_undo {
	struct cg_state before;
};

static int undo_point(struct controller *c, struct ctl_undo *u,
		      struct cg_error *err)
{
	if (state_copy(&u->before, &c->state)) {
		cg_error_set(err, 500, "", "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* Put back the state as it was at the undo point. */
static void undo(struct controller *c, struct ctl_undo *u)
{
	state_free(&c->state);
	c->state = u->before;
}

int ctl_save(struct controller *c)
{
	return state_save(&c->state, c->state_path);
}

/* Make the change durable, or put back the state and fail (500). */
static int persist(struct controller *c, struct ctl_undo *u,
		   struct cg_error *err)
{
	int ret = ctl_save(c);

	if (ret) {
		undo(c, u);
		cg_error_set(err, 500, "", "cannot save state %s: %s",
			     c->state_path, strerror(-ret));
		log_err("%s", err->msg);
		return ret;
	}
	state_free(&u->before);
	c->stats.state_writes++;
	return 0;
}

/* Undo point, change, persist: the state changed durably, or not at all
 * (and op's revert ran). */
static int transact(struct controller *c, const struct ctl_op *op, void *arg,
		    struct cg_error *err)
{
	struct ctl_undo u;
	int ret = undo_point(c, &u, err);

	if (ret)
		return ret;
	ret = op->change(c, arg, err);
	if (ret)
		undo(c, &u);
	else
		ret = persist(c, &u, err);
	if (ret && op->revert)
		op->revert(c, arg);
	return ret;
}

int ctl_run(struct controller *c, const struct ctl_op *op, void *arg,
	    json_object **out, struct cg_error *err)
{
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = transact(c, op, arg, err);
	if (!ret && op->apply)
		ret = op->apply(c, arg, err);
	if (!ret && op->view && out)
		*out = op->view(c, arg);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int ctl_look_up(struct controller *c, const struct ctl_lookup *l,
		const char *key, void *out, struct cg_error *err)
{
	const void *found;
	int ret;

	pthread_mutex_lock(&c->lock);
	found = l->find(&c->state, key);
	if (found) {
		ret = l->view(c, found, out, err);
	} else {
		cg_error_set(err, 404, l->field, "no %s '%s'", l->kind, key);
		ret = -ENOENT;
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int ctl_apply_failed(int ret, struct cg_error *err, const char *what)
{
	cg_error_set(err, 500, "",
		     "saved, but %s failed (%s); the controller retries "
		     "it (maps every 30 s, WireGuard every 5 s)",
		     what, strerror(-ret));
	return ret;
}
