// SPDX-License-Identifier: MIT
/*
 * Groups' settings (issue 18): PUT, GET, DELETE /api/groups/NAME and the
 * list of every group in use. A change is one journal line (kind
 * "group"); applying it re-compiles the group's members alone, found
 * through the state's group index: O(members) map writes (cg_rate only
 * where the rate changed; a new epoch only where the limited flag did),
 * never a pass over every peer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "op.h"
#include "policy.h"

/* Is the group named anywhere: a peer, a rule, a settings record? */
static bool group_in_use(const struct cg_state *st, const char *name)
{
	size_t i;

	if (state_group(st, name) || state_group_size(st, name))
		return true;
	for (i = 0; i < st->n_rules; i++) {
		const struct cg_rule_def *r = &st->rules[i];

		if ((r->from.kind == CG_SEL_GROUP &&
		     !strcmp(r->from.name, name)) ||
		    (r->to.kind == CG_SEL_GROUP && !strcmp(r->to.name, name)))
			return true;
	}
	return false;
}

/* {"name", "rate_limit", "peers"}: a group without settings has an
 * empty rate_limit. */
static json_object *group_view(const struct cg_state *st, const char *name)
{
	const struct cg_group_def *g = state_group(st, name);
	struct cg_group_def none = { 0 };
	json_object *o;

	if (!g) {
		str_copy(none.name, sizeof(none.name), name);
		g = &none;
	}
	o = group_to_json(g);
	json_object_object_add(
		o, "peers",
		json_object_new_int64((int64_t)state_group_size(st, name)));
	return o;
}

int ctl_list_groups(struct controller *c, json_object **out)
{
	json_object *arr = json_object_new_array();
	const char **names;
	ssize_t i, n;

	pthread_mutex_lock(&c->lock);
	n = state_group_names(&c->state, &names);
	for (i = 0; i < n; i++)
		json_object_array_add(arr, group_view(&c->state, names[i]));
	pthread_mutex_unlock(&c->lock);
	if (n < 0) {
		json_object_put(arr);
		return -ENOMEM;
	}
	free(names);
	*out = arr;
	return 0;
}

int ctl_get_group(struct controller *c, const char *name, json_object **out,
		  struct cg_error *err)
{
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	if (group_in_use(&c->state, name)) {
		*out = group_view(&c->state, name);
	} else {
		cg_error_set(err, 404, "name", "no group '%s'", name);
		ret = -ENOENT;
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

struct group_args {
	const char *name;
	json_object *body;
	struct cg_group_def old, put;
	bool existed;
};

static int put_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct group_args *a = arg;

	return state_put_group(&c->state, a->name, a->body, &a->old,
			       &a->existed, &a->put, err);
}

static int delete_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct group_args *a = arg;

	return state_delete_group(&c->state, a->name, &a->old, err);
}

struct member_ctx {
	struct controller *c;
	const struct policy_rules_ctx *rules;
	size_t written;
};

static int write_member(const struct cg_peer_def *peer, void *arg)
{
	struct member_ctx *m = arg;

	m->written++;
	/* old == peer: the same addresses, so only what changed is
	 * written (dp_rate_write, identity_unchanged). */
	return dp_set_peer_ctx(&m->c->dp, m->rules, peer, peer);
}

/* The members' entries again (their effective limits changed):
 * O(members), the rules' context built once. */
static int apply_members(struct controller *c, void *arg, struct cg_error *err)
{
	struct group_args *a = arg;
	struct policy_rules_ctx rules;
	struct member_ctx m = { .c = c, .rules = &rules };
	int ret = policy_rules_ctx_init(&c->state, &rules);

	if (!ret) {
		ret = state_group_each(&c->state, a->name, write_member, &m);
		policy_rules_ctx_free(&rules);
	}
	return ret ? ctl_apply_failed(ret, err, "the map update") : 0;
}

static json_object *put_view(struct controller *c, void *arg)
{
	return group_view(&c->state, ((struct group_args *)arg)->name);
}

static const struct ctl_op put_group = {
	.change = put_change,
	.apply = apply_members,
	.view = put_view,
};

static const struct ctl_op delete_group = {
	.change = delete_change,
	.apply = apply_members,
};

int ctl_put_group(struct controller *c, const char *name, json_object *body,
		  json_object **out, struct cg_error *err)
{
	struct group_args a = { .name = name, .body = body };

	return ctl_run(c, &put_group, &a, out, err);
}

int ctl_delete_group(struct controller *c, const char *name,
		     struct cg_error *err)
{
	struct group_args a = { .name = name };

	return ctl_run(c, &delete_group, &a, NULL, err);
}

/* Groups in use (issue 18): members and the rate limit set on each.
 * O(groups) with the group index. */
void ctl_groups_metrics(struct controller *c, struct metrics *m)
{
	const struct cg_state *st = &c->state;
	const char **names;
	ssize_t i, n = state_group_names(st, &names);

	if (n < 0) {
		m->failed = true;
		return;
	}
	metrics_family(m, "cellgate_group_peers", "gauge",
		       "Peers in each group named by a peer, a rule or "
		       "settings.");
	for (i = 0; i < n; i++)
		metrics_u64(m, state_group_size(st, names[i]), "group",
			    names[i], NULL);
	metrics_family(m, "cellgate_group_rate_limit_mbit", "gauge",
		       "A group's rate limit by direction, in Mbit/s (only "
		       "the directions set; members get the tighter of "
		       "their own and their groups').");
	for (i = 0; i < (ssize_t)st->n_groups; i++) {
		const struct cg_group_def *g = &st->groups[i];

		if (g->down_mbit)
			metrics_u64(m, g->down_mbit, "group", g->name,
				    "direction", "down", NULL);
		if (g->up_mbit)
			metrics_u64(m, g->up_mbit, "group", g->name,
				    "direction", "up", NULL);
	}
	free(names);
}
