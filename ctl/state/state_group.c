// SPDX-License-Identifier: MIT
/*
 * Groups' settings (issue 18): {"name", "rate_limit": {"down_mbit",
 * "up_mbit"}}. A group exists by being named (a peer's groups, a rule's
 * selector); this record only holds what is set on it, so deleting it
 * clears the settings and leaves every peer in the group. Members are
 * found through the group index (state_gindex.c), settings by name
 * through a hash index (state_index.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hashidx.h"
#include "jsonx.h"
#include "state_internal.h"

static bool group_named(const void *group, const void *name)
{
	return !strcmp(((const struct cg_group_def *)group)->name, name);
}

static bool pos_named(const void *st, uint32_t pos, const void *name)
{
	return !strcmp(((const struct cg_state *)st)->groups[pos].name, name);
}

struct cg_group_def *state_group(const struct cg_state *st, const char *name)
{
	const struct hashidx *x = state_group_settings_index(st);
	int64_t pos;

	if (!x)
		return state_find(st, ST_GROUPS, group_named, name);
	pos = hashidx_find(x, hash_str(name), pos_named, st, name);
	return pos < 0 ? NULL : &st->groups[pos];
}

static bool parse_group(json_object *body, struct cg_group_def *g,
			struct cg_error *err)
{
	static const char *const fields[] = { "name", "rate_limit", NULL };

	return jx_only_fields(body, fields, "", err) &&
	       state_parse_rate_limit(body, &g->down_mbit, &g->up_mbit, err);
}

int state_put_group(struct cg_state *st, const char *name, json_object *body,
		    struct cg_group_def *old, bool *existed,
		    struct cg_group_def *put, struct cg_error *err)
{
	struct cg_group_def g = { 0 }, *cur;

	if (!state_check_name(body, name, err))
		return -EINVAL;
	str_copy(g.name, sizeof(g.name), name);
	if (!parse_group(body, &g, err))
		return -EINVAL;
	cur = state_group(st, name);
	*existed = cur != NULL;
	if (cur) {
		*old = *cur;
		state_replace(st, ST_GROUPS, cur, &g);
	} else if (st->n_groups >= CG_MAX_GROUPS) {
		cg_error_set(err, 409, "name",
			     "the cell has settings for its maximum of %d "
			     "groups",
			     CG_MAX_GROUPS);
		return -ENOSPC;
	} else if (!state_add(st, ST_GROUPS, &g, err)) {
		return -ENOMEM;
	}
	*put = g;
	return 0;
}

int state_delete_group(struct cg_state *st, const char *name,
		       struct cg_group_def *removed, struct cg_error *err)
{
	return state_delete(st, ST_GROUPS, group_named, name, removed, err);
}

json_object *group_to_json(const struct cg_group_def *group)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(group->name));
	json_object_object_add(
		o, "rate_limit",
		state_rate_limit_json(group->down_mbit, group->up_mbit));
	return o;
}

bool state_group_record(json_object *o, struct cg_group_def *g,
			struct cg_error *err)
{
	char name[CG_NAME_MAX + 2];

	memset(g, 0, sizeof(*g));
	if (!state_record_name(o, name, err)) {
		if (!err->msg[0])
			cg_error_set(err, 400, "", "bad group name");
		return false;
	}
	str_copy(g->name, sizeof(g->name), name);
	return parse_group(o, g, err);
}

bool state_load_groups(struct cg_state *st, json_object *arr,
		       struct cg_error *err)
{
	size_t i, n = arr ? json_object_array_length(arr) : 0;

	for (i = 0; i < n; i++) {
		struct cg_group_def g;

		if (!state_group_record(json_object_array_get_idx(arr, i), &g,
					err))
			return false;
		if (state_group(st, g.name)) {
			cg_error_set(err, 400, "name", "group '%s' twice",
				     g.name);
			return false;
		}
		if (!state_add(st, ST_GROUPS, &g, err))
			return false;
	}
	return true;
}

/* ---- members ------------------------------------------------------------ */

static bool in_group(const struct cg_peer_def *p, const char *name)
{
	unsigned int k;

	for (k = 0; k < p->n_groups; k++)
		if (!strcmp(p->groups[k], name))
			return true;
	return false;
}

size_t state_group_size(const struct cg_state *st, const char *name)
{
	int64_t n = gindex_size(state_gindex(st), name);
	size_t i, count = 0;

	if (n >= 0)
		return (size_t)n;
	for (i = 0; i < st->n_peers; i++)
		count += in_group(&st->peers[i], name);
	return count;
}

int state_group_each(const struct cg_state *st, const char *name,
		     state_peer_fn *fn, void *ctx)
{
	size_t i;
	int ret = 0;

	if (gindex_each(state_gindex(st), st, name, fn, ctx, &ret))
		return ret;
	for (i = 0; i < st->n_peers && !ret; i++)
		if (in_group(&st->peers[i], name))
			ret = fn(&st->peers[i], ctx);
	return ret;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Without a usable index: every peer's groups. */
static size_t peers_groups(const struct cg_state *st, const char **out)
{
	size_t i, n = 0;
	unsigned int k;

	for (i = 0; i < st->n_peers; i++)
		for (k = 0; k < st->peers[i].n_groups; k++)
			out[n++] = st->peers[i].groups[k];
	return n;
}

ssize_t state_group_names(const struct cg_state *st, const char ***names)
{
	size_t cap = st->n_groups + 2 * st->n_rules +
		     st->n_peers * CG_MAX_PEER_GROUPS + 1;
	const char **v = malloc(cap * sizeof(*v));
	size_t i, n = 0, u;
	int64_t got;

	if (!v)
		return -1;
	got = gindex_names(state_gindex(st), v, cap);
	n = got >= 0 ? (size_t)got : peers_groups(st, v);
	for (i = 0; i < st->n_groups; i++)
		v[n++] = st->groups[i].name;
	for (i = 0; i < st->n_rules; i++) {
		if (st->rules[i].from.kind == CG_SEL_GROUP)
			v[n++] = st->rules[i].from.name;
		if (st->rules[i].to.kind == CG_SEL_GROUP)
			v[n++] = st->rules[i].to.name;
	}
	qsort(v, n, sizeof(*v), cmp_name);
	for (i = u = 0; i < n; i++)
		if (!u || strcmp(v[u - 1], v[i]))
			v[u++] = v[i];
	*names = v;
	return (ssize_t)u;
}
