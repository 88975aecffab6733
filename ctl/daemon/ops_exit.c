// SPDX-License-Identifier: MIT
/*
 * Exits (issue 20): PUT, GET, DELETE /api/exits/NAME and the list, and
 * PIC's alias PUT /api/connectivity/peers/NAME/exit. A change is one
 * journal line (kind "exit"); applying it programs the exit (exits.c):
 * a wireguard exit's interface, cg_exits[id]. A peer's exit is its
 * identity's exit_id (ops_peer.c's update: a new epoch re-judges its
 * flows).
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>

#include "exits.h"
#include "jsonx.h"
#include "op.h"

static json_object *exit_view(struct controller *c, const struct cg_exit_def *e)
{
	json_object *o = exit_to_json(e, false);

	ctl_exit_view_add(c, e, o);
	return o;
}

static const void *find_exit(const struct cg_state *st, const char *name)
{
	return state_exit(st, name);
}

static int view_exit(struct controller *c, const void *e, void *out,
		     struct cg_error *err)
{
	(void)err;
	*(json_object **)out = exit_view(c, e);
	return 0;
}

static const struct ctl_lookup exit_lookup = { "exit", "name", find_exit,
					       view_exit };

int ctl_list_exits(struct controller *c, json_object **out)
{
	json_object *arr = json_object_new_array();
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->state.n_exits; i++)
		json_object_array_add(arr, exit_view(c, &c->state.exits[i]));
	pthread_mutex_unlock(&c->lock);
	*out = arr;
	return 0;
}

int ctl_get_exit(struct controller *c, const char *name, json_object **out,
		 struct cg_error *err)
{
	return ctl_look_up(c, &exit_lookup, name, out, err);
}

struct exit_args {
	const char *name;
	json_object *body;
	struct cg_exit_def old, put;
	bool existed;
};

/* An interface exit's link must exist when it is named (it may go down
 * or away later: the exit is then down). */
static bool interface_exists(json_object *body, struct cg_error *err)
{
	json_object *kind, *ifname;
	const char *s;

	if (!json_object_object_get_ex(body, "kind", &kind) ||
	    !json_object_is_type(kind, json_type_string) ||
	    strcmp(json_object_get_string(kind), "interface") ||
	    !json_object_object_get_ex(body, "interface", &ifname) ||
	    !json_object_is_type(ifname, json_type_string))
		return true; /* the state's parse names what is wrong */
	s = json_object_get_string(ifname);
	if (strlen(s) < IF_NAMESIZE && if_nametoindex(s))
		return true;
	cg_error_set(err, 400, "interface", "no interface '%s'", s);
	return false;
}

static int put_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct exit_args *a = arg;
	wg_key priv;
	int ret;

	if (key_generate_private(priv)) {
		cg_error_set(err, 500, "", "cannot generate a key");
		return -EIO;
	}
	ret = state_put_exit(&c->state, a->name, a->body, priv, &a->old,
			     &a->existed, &a->put, err);
	explicit_bzero(priv, sizeof(priv));
	/* After the parse, so that a bad kind is named before the link. */
	if (!ret && !interface_exists(a->body, err)) {
		ret = -EINVAL;
	}
	return ret;
}

static int put_apply(struct controller *c, void *arg, struct cg_error *err)
{
	struct exit_args *a = arg;
	int ret = ctl_exit_program(c, &a->put, a->existed ? &a->old : NULL);

	return ret ? ctl_apply_failed(ret, err, "programming the exit") : 0;
}

static json_object *put_view(struct controller *c, void *arg)
{
	struct exit_args *a = arg;

	return exit_view(c, state_exit(&c->state, a->name));
}

static int delete_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct exit_args *a = arg;

	return state_delete_exit(&c->state, a->name, &a->old, err);
}

static int delete_apply(struct controller *c, void *arg, struct cg_error *err)
{
	(void)err;
	ctl_exit_remove(c, &((struct exit_args *)arg)->old);
	return 0;
}

static const struct ctl_op put_exit = {
	.change = put_change,
	.apply = put_apply,
	.view = put_view,
};

static const struct ctl_op delete_exit = {
	.change = delete_change,
	.apply = delete_apply,
};

int ctl_put_exit(struct controller *c, const char *name, json_object *body,
		 json_object **out, struct cg_error *err)
{
	struct exit_args a = { .name = name, .body = body };
	int ret = ctl_run(c, &put_exit, &a, out, err);

	explicit_bzero(&a.old, sizeof(a.old));
	explicit_bzero(&a.put, sizeof(a.put));
	return ret;
}

int ctl_delete_exit(struct controller *c, const char *name,
		    struct cg_error *err)
{
	struct exit_args a = { .name = name };
	int ret = ctl_run(c, &delete_exit, &a, NULL, err);

	explicit_bzero(&a.old, sizeof(a.old));
	return ret;
}

/* PIC's PUT /api/connectivity/peers/NAME/exit {"exit": NAME|null}: the
 * peer's update with that one field. */
int ctl_put_peer_exit(struct controller *c, const char *name, json_object *body,
		      json_object **out, struct cg_error *err)
{
	static const char *const fields[] = { "exit", NULL };
	json_object *v, *upd;
	int ret;

	if (!jx_only_fields(body, fields, "", err))
		return -EINVAL;
	if (!json_object_object_get_ex(body, "exit", &v)) {
		cg_error_set(err, 400, "exit", "missing field 'exit'");
		return -EINVAL;
	}
	upd = json_object_new_object();
	json_object_object_add(upd, "exit", json_object_get(v));
	ret = ctl_update_peer(c, name, upd, out, err);
	json_object_put(upd);
	return ret;
}
