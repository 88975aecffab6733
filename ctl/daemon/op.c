// SPDX-License-Identifier: MIT
/*
 * The mutation and lookup skeletons. Persistence is three calls
 * (undo_point, persist, undo) here and nowhere else: the state's undo log
 * records each add, replace and remove of the operation (undone newest
 * first on failure), and persist appends them to the journal, one
 * fdatasync'd line, or writes a snapshot for what the journal does not
 * take (cells, invites) and when no journal is open. O(the change), not
 * O(the state).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "op.h"

static int undo_point(struct controller *c, struct cg_error *err)
{
	if (state_begin(&c->state)) {
		cg_error_set(err, 500, "", "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* Put back the state as it was at the undo point. */
static void undo(struct controller *c)
{
	state_rollback(&c->state);
}

int ctl_save(struct controller *c)
{
	if (!c->journal.open)
		return state_save(&c->state, c->state_path);
	return journal_snapshot(&c->journal, &c->state);
}

/* The operation's changes, durably: a journal line, or a snapshot. */
static int write_change(struct controller *c)
{
	int ret;

	if (state_log_failed(&c->state))
		return -ENOMEM;
	if (!c->journal.open)
		return ctl_save(c);
	ret = journal_append(&c->journal, &c->state);
	return ret == 1 ? ctl_save(c) : ret;
}

/* Make the change durable, or put back the state and fail (500). */
static int persist(struct controller *c, struct cg_error *err)
{
	int ret = write_change(c);

	if (ret) {
		undo(c);
		cg_error_set(err, 500, "", "cannot save state %s: %s",
			     c->state_path, strerror(-ret));
		log_err("%s", err->msg);
		return ret;
	}
	state_commit(&c->state);
	c->stats.state_writes++;
	journal_maybe_compact(&c->journal, &c->state);
	return 0;
}

/* Undo point, change, persist: the state changed durably, or not at all
 * (and op's revert ran). */
static int transact(struct controller *c, const struct ctl_op *op, void *arg,
		    struct cg_error *err)
{
	int ret = undo_point(c, err);

	if (ret)
		return ret;
	ret = op->change(c, arg, err);
	if (ret)
		undo(c);
	else
		ret = persist(c, err);
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

int ctl_journal_start(struct controller *c, const struct cg_journal_pos *pos)
{
	struct cg_error err = { 0 };
	int ret = journal_open(&c->journal, c->state_path, pos, &err);

	/* A new cell gets its snapshot at once: the state file is where
	 * recovery starts, and what an operator looks at. */
	if (!ret && access(c->state_path, F_OK) && errno == ENOENT) {
		ret = ctl_save(c);
		if (ret)
			cg_error_set(&err, 500, "", "cannot write %s: %s",
				     c->state_path, strerror(-ret));
	}
	if (ret)
		log_err("%s", err.msg);
	else if (pos->lines)
		log_info("journal: replayed %zu change(s) after the snapshot",
			 pos->lines);
	return ret;
}

void ctl_journal_stop(struct controller *c)
{
	journal_close(&c->journal);
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

/* wireguard-go's device.MaxPeers: its 65,537th peer fails inside the
 * UAPI set, after the state and the maps took it. */
#define WG_GO_MAX_PEERS 65536u

bool ctl_wg_room(struct controller *c, const char *field, struct cg_error *err)
{
	size_t n = c->state.n_peers + c->state.n_cells;

	if (c->wg_backend != WG_BACKEND_UAPI || n < WG_GO_MAX_PEERS)
		return true;
	cg_error_set(err, 409, field,
		     "wireguard-go holds at most %u peers (its "
		     "device.MaxPeers), peers and linked cells together; "
		     "this cell has %zu",
		     WG_GO_MAX_PEERS, n);
	return false;
}

int ctl_apply_failed(int ret, struct cg_error *err, const char *what)
{
	cg_error_set(err, 500, "",
		     "saved, but %s failed (%s); the controller retries "
		     "it (maps every 30 s, WireGuard every 5 s)",
		     what, strerror(-ret));
	return ret;
}
