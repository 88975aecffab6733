// SPDX-License-Identifier: MIT
/*
 * Rules between peers (issue 18): PUT, GET, DELETE /api/rules/NAME and
 * the list. A change is one journal line (kind "rule"); applying it
 * compiles the rules (policy_rules.c) and writes the class pairs, and
 * only the identities of classes that lost something get a new epoch
 * (dp_sync_rules), so a rule change re-judges just the flows it can cut.
 */
#include <errno.h>

#include "op.h"
#include "policy.h"

static const void *find_rule(const struct cg_state *st, const char *name)
{
	return state_rule(st, name);
}

static int view_rule(struct controller *c, const void *rule, void *out,
		     struct cg_error *err)
{
	(void)c;
	(void)err;
	*(json_object **)out = rule_to_json(rule);
	return 0;
}

static const struct ctl_lookup rule_lookup = { "rule", "name", find_rule,
					       view_rule };

int ctl_list_rules(struct controller *c, json_object **out)
{
	json_object *arr = json_object_new_array();
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->state.n_rules; i++)
		json_object_array_add(arr, rule_to_json(&c->state.rules[i]));
	pthread_mutex_unlock(&c->lock);
	*out = arr;
	return 0;
}

int ctl_get_rule(struct controller *c, const char *name, json_object **out,
		 struct cg_error *err)
{
	return ctl_look_up(c, &rule_lookup, name, out, err);
}

struct rule_args {
	const char *name;
	json_object *body;
	struct cg_rule_def old, put;
	bool existed;
};

int ctl_rules_compile_check(struct controller *c, struct cg_error *err)
{
	struct policy pol = { 0 };
	int ret = policy_compile_rules(&c->state, &pol, err);

	free(pol.rules);
	return ret;
}

int ctl_rules_pairs_apply(struct controller *c)
{
	struct cg_error err = { 0 };
	struct policy pol = { 0 };
	int ret;

	if (!c->state.n_rules)
		return 0;
	ret = policy_compile_rules(&c->state, &pol, &err);
	/* No identities in pol: a peer moving between classes changes no
	 * pair's ports (they depend on the classes' group sets), and the
	 * peer itself gets a new epoch when its identity is written. */
	if (!ret)
		ret = dp_sync_rules(&c->dp, &pol);
	free(pol.rules);
	return ret;
}

static int put_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct rule_args *a = arg;
	int ret = state_put_rule(&c->state, a->name, a->body, &a->old,
				 &a->existed, &a->put, err);

	/* What would not compile is refused here, before it is saved. */
	return ret ? ret : ctl_rules_compile_check(c, err);
}

static int delete_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct rule_args *a = arg;

	return state_delete_rule(&c->state, a->name, &a->old, err);
}

int ctl_apply_rules(struct controller *c, void *arg, struct cg_error *err)
{
	struct policy pol;
	int ret = policy_compile(&c->state, &c->cfg, &pol);

	(void)arg;
	/* The pairs, and identities whose class or rule-given services
	 * changed (a rule naming a peer gives it a class of its own). */
	if (!ret)
		ret = dp_sync(&c->dp, &pol);
	policy_free(&pol);
	return ret ? ctl_apply_failed(ret, err, "the map update") : 0;
}

static json_object *rule_view(struct controller *c, void *arg)
{
	struct rule_args *a = arg;

	return rule_to_json(state_rule(&c->state, a->name));
}

static const struct ctl_op put_rule = {
	.change = put_change,
	.apply = ctl_apply_rules,
	.view = rule_view,
};

static const struct ctl_op delete_rule = {
	.change = delete_change,
	.apply = ctl_apply_rules,
};

int ctl_put_rule(struct controller *c, const char *name, json_object *body,
		 json_object **out, struct cg_error *err)
{
	struct rule_args a = { .name = name, .body = body };

	return ctl_run(c, &put_rule, &a, out, err);
}

int ctl_delete_rule(struct controller *c, const char *name,
		    struct cg_error *err)
{
	struct rule_args a = { .name = name };

	return ctl_run(c, &delete_rule, &a, NULL, err);
}
