// SPDX-License-Identifier: MIT
/*
 * The state file, state_dir/state.json: its top level (version and one
 * list per entity), read and checked as a whole, written atomically.
 * Each entity reads and renders its own records (state_<entity>.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "state_internal.h"

#define STATE_MAX_BYTES (256u << 20)

/* A top-level list of the state file: null is absent there, as files
 * of older versions may have it. */
static bool root_list(json_object *root, const char *key, bool required,
		      json_object **out, struct cg_error *err)
{
	json_object *v;

	if (json_object_object_get_ex(root, key, &v) && !v && !required) {
		*out = NULL;
		return true;
	}
	return jx_member(root, key, json_type_array, required, "", out, err);
}

static bool load_root(struct cg_state *st, json_object *root, uint64_t *gen,
		      struct cg_error *err)
{
	static const char *const fields[] = { "version", "journal",  "services",
					      "peers",	 "forwards", "cells",
					      "invites", "rules",    "groups",
					      "exits",	 NULL };
	json_object *services, *peers, *forwards, *cells, *invites, *rules,
		*groups, *exits;
	uint64_t version;

	*gen = 0;
	if (!jx_only_fields(root, fields, "", err) ||
	    !jx_uint(root, "version", true, "", 1, 1000, &version, err) ||
	    !jx_uint(root, "journal", false, "", 0, UINT32_MAX, gen, err) ||
	    !root_list(root, "services", true, &services, err) ||
	    !root_list(root, "peers", true, &peers, err) ||
	    !root_list(root, "forwards", false, &forwards, err) ||
	    !root_list(root, "cells", false, &cells, err) ||
	    !root_list(root, "invites", false, &invites, err) ||
	    !root_list(root, "rules", false, &rules, err) ||
	    !root_list(root, "groups", false, &groups, err) ||
	    !root_list(root, "exits", false, &exits, err))
		return false;
	if (version != CG_STATE_VERSION) {
		cg_error_set(err, 400, "version",
			     "state version %llu is not supported (%d is)",
			     (unsigned long long)version, CG_STATE_VERSION);
		return false;
	}
	/* Exits before peers: a peer names its exit. */
	return state_load_services(st, services, err) &&
	       state_load_exits(st, exits, err) &&
	       state_load_peers(st, peers, err) &&
	       state_load_forwards(st, forwards, err) &&
	       state_load_cells(st, cells, err) &&
	       state_load_invites(st, invites, err) &&
	       state_load_rules(st, rules, err) &&
	       state_load_groups(st, groups, err);
}

/* The trees state_defer_frees keeps (a start that falls back loads a
 * few snapshots). */
#define DEFERRED_MAX 4
static bool defer_on;
static json_object *deferred[DEFERRED_MAX];
static size_t n_deferred;

void state_defer_frees(bool on)
{
	defer_on = on;
}

void state_free_deferred(void)
{
	while (n_deferred)
		json_object_put(deferred[--n_deferred]);
}

static void put_root(json_object *root)
{
	if (defer_on && n_deferred < DEFERRED_MAX)
		deferred[n_deferred++] = root;
	else
		json_object_put(root);
}

/* The snapshot alone; *gen: the journal generation it continues in. */
int state_load_snapshot(struct cg_state *st, const char *path, uint64_t *gen,
			struct cg_error *err)
{
	json_object *root;
	size_t len;
	char *buf;
	bool ok;

	*gen = 0;
	buf = read_file(path, STATE_MAX_BYTES, &len);
	if (!buf) {
		if (errno == ENOENT)
			return 0; /* a new cell */
		cg_error_set(err, 500, "", "cannot read %s: %s", path,
			     strerror(errno));
		return -errno;
	}
	root = jx_parse_object(buf, len, err);
	free(buf);
	if (!root)
		return -EINVAL;
	ok = load_root(st, root, gen, err);
	put_root(root);
	return ok ? 0 : -EINVAL;
}

/* Left out when empty, as rules are. */
static json_object *exits_json(const struct cg_state *st)
{
	json_object *arr = json_object_new_array();
	size_t i;

	for (i = 0; i < st->n_exits; i++)
		json_object_array_add(arr, exit_to_json(&st->exits[i], true));
	return arr;
}

char *state_to_string(const struct cg_state *st)
{
	return state_to_string_gen(st, 0);
}

char *state_to_string_gen(const struct cg_state *st, uint64_t gen)
{
	json_object *root = json_object_new_object();
	json_object *services = json_object_new_array();
	json_object *peers = json_object_new_array();
	json_object *forwards = json_object_new_array();
	json_object *cells = json_object_new_array();
	json_object *invites = json_object_new_array();
	json_object *rules = json_object_new_array();
	char *out;
	size_t i;

	json_object_object_add(root, "version",
			       json_object_new_int(CG_STATE_VERSION));
	if (gen)
		json_object_object_add(root, "journal",
				       json_object_new_int64((int64_t)gen));
	for (i = 0; i < st->n_services; i++)
		json_object_array_add(services,
				      service_to_json(&st->services[i], true));
	for (i = 0; i < st->n_peers; i++)
		json_object_array_add(peers,
				      peer_to_json(st, &st->peers[i], true));
	for (i = 0; i < st->n_forwards; i++)
		json_object_array_add(forwards,
				      forward_to_json(&st->forwards[i], true));
	json_object_object_add(root, "services", services);
	json_object_object_add(root, "peers", peers);
	for (i = 0; i < st->n_cells; i++)
		json_object_array_add(cells,
				      cell_to_json(&st->cells[i], st->services,
						   st->n_services, true));
	for (i = 0; i < st->n_invites; i++)
		json_object_array_add(invites, invite_to_json(&st->invites[i]));
	json_object_object_add(root, "forwards", forwards);
	json_object_object_add(root, "cells", cells);
	json_object_object_add(root, "invites", invites);
	for (i = 0; i < st->n_rules; i++)
		json_object_array_add(rules, rule_to_json(&st->rules[i]));
	/* Left out when empty: state files of cells without rules stay
	 * as older versions read them. */
	if (st->n_rules)
		json_object_object_add(root, "rules", rules);
	else
		json_object_put(rules);
	/* The same for groups' settings. */
	if (st->n_groups) {
		json_object *groups = json_object_new_array();

		for (i = 0; i < st->n_groups; i++)
			json_object_array_add(groups,
					      group_to_json(&st->groups[i]));
		json_object_object_add(root, "groups", groups);
	}
	if (st->n_exits)
		json_object_object_add(root, "exits", exits_json(st));
	out = strdup(json_object_to_json_string_ext(
		root,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return out;
}

int state_save(const struct cg_state *st, const char *path)
{
	char *s = state_to_string(st);
	int ret;

	if (!s)
		return -ENOMEM;
	ret = write_file_atomic(path, s, strlen(s), 0600);
	free(s);
	return ret;
}
