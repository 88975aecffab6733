/* SPDX-License-Identifier: MIT */
/*
 * The two skeletons every API operation is written on.
 *
 * A mutation (ctl_run): lock -> undo point -> change the state -> persist
 * -> apply (maps, WireGuard, routes) -> view, with one error path: a
 * change or a persist that fails puts the state back as it was and calls
 * the operation's revert, so memory, disk and the kernel agree and the
 * call fails as a whole. An apply that fails answers 500 "saved, but"
 * (the change stays, the periodic work retries it).
 *
 * A lookup (ctl_look_up): lock -> find -> view, or 404 naming the field.
 */
#ifndef CELLGATE_OP_H
#define CELLGATE_OP_H

#include <json-c/json.h>

#include "controller.h"

struct ctl_op {
	/* Change c->state (may fail: err set, the state is put back). May
	 * do what revert undoes, such as writing a peer's key file. */
	int (*change)(struct controller *c, void *arg, struct cg_error *err);
	/* Optional: after a failed change or persist, undo what change did
	 * outside the state; the state is already the old one. */
	void (*revert)(struct controller *c, void *arg);
	/* Optional: program the kernel from the saved state. */
	int (*apply)(struct controller *c, void *arg, struct cg_error *err);
	/* Optional: the answer (*out of ctl_run). */
	json_object *(*view)(struct controller *c, void *arg);
};

/* Run op with arg under the lock; *out (if op has a view and out is not
 * NULL) on success. */
int ctl_run(struct controller *c, const struct ctl_op *op, void *arg,
	    json_object **out, struct cg_error *err);

struct ctl_lookup {
	const char *kind; /* "service": the 404 says "no service 'x'" */
	const char *field; /* the field the 404 names */
	/* The entity named key in st, or NULL. */
	const void *(*find)(const struct cg_state *st, const char *key);
	/* The answer about it into out (its type is the caller's). */
	int (*view)(struct controller *c, const void *found, void *out,
		    struct cg_error *err);
};

/* Look key up under the lock and view it, or 404. */
int ctl_look_up(struct controller *c, const struct ctl_lookup *l,
		const char *key, void *out, struct cg_error *err);

/* An apply step that failed: 500 "saved, but what failed", retried by the
 * periodic work (maps every 30 s, WireGuard every 5 s). Returns ret. */
int ctl_apply_failed(int ret, struct cg_error *err, const char *what);

/* One more WireGuard peer (a peer or a linked cell) fits the back end:
 * wireguard-go takes 65,536 (device.MaxPeers). Else a 409 at field. */
bool ctl_wg_room(struct controller *c, const char *field, struct cg_error *err);

/* Write the state as it is, outside any operation (the pusher's push
 * outcomes): a snapshot; caller holds the lock. */
int ctl_save(struct controller *c);

/* Open the journal where the state's load left it (start), close it
 * (stop). Until it is open every change writes a snapshot. */
int ctl_journal_start(struct controller *c, const struct cg_journal_pos *pos);
void ctl_journal_stop(struct controller *c);

#endif
