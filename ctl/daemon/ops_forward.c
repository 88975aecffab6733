// SPDX-License-Identifier: MIT
/* Port forwards: a public port on the uplink to a target in the cell. */
#include <string.h>

#include "op.h"
#include "log.h"
#include "policy.h"

static json_object *fwd_counters_json(const struct cg_fwd_counters *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "packets",
			       json_object_new_uint64(s->packets));
	json_object_object_add(o, "bytes", json_object_new_uint64(s->bytes));
	json_object_object_add(o, "denied", json_object_new_uint64(s->denied));
	json_object_object_add(o, "nat_failed",
			       json_object_new_uint64(s->nat_failed));
	return o;
}

/* A forward as the API shows it: its definition, whether its flows reach
 * the target from the wg address, and its counters summed over CPUs. */
static json_object *forward_view(struct controller *c,
				 const struct cg_forward_def *f)
{
	json_object *o = forward_to_json(f, false);
	struct cg_fwd_counters sum;

	json_object_object_add(
		o, "snat_active",
		json_object_new_boolean(policy_forward_snat(&c->cfg, f)));
	if (dp_fwd_counters(&c->dp, f->slot, &sum) == 0)
		json_object_object_add(o, "counters", fwd_counters_json(&sum));
	return o;
}

static const void *find_forward(const struct cg_state *st, const char *id)
{
	return state_forward(st, id);
}

static int view_forward(struct controller *c, const void *f, void *out,
			struct cg_error *err)
{
	(void)err;
	*(json_object **)out = forward_view(c, f);
	return 0;
}

static const struct ctl_lookup forward_lookup = { "forward", "id", find_forward,
						  view_forward };

int ctl_list_forwards(struct controller *c, json_object **out)
{
	json_object *arr = json_object_new_array();
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->state.n_forwards; i++)
		json_object_array_add(arr,
				      forward_view(c, &c->state.forwards[i]));
	pthread_mutex_unlock(&c->lock);
	*out = arr;
	return 0;
}

int ctl_get_forward(struct controller *c, const char *id, json_object **out,
		    struct cg_error *err)
{
	return ctl_look_up(c, &forward_lookup, id, out, err);
}

/* ---- mutations ------------------------------------------------------------ */

/* The reconcile loop repairs WireGuard, not these maps: say only what
 * happened (a restart writes every map anew). */
static int fwd_apply_failed(int ret, struct cg_error *err, const char *what)
{
	cg_error_set(err, 500, "", "saved, but %s failed (%s)", what,
		     strerror(-ret));
	log_err("%s", err->msg);
	return ret;
}

static int forwards_changed(struct controller *c, struct cg_error *err)
{
	struct policy pol;
	int ret = policy_compile_forwards(&c->state, &c->cfg, &pol);

	if (!ret)
		ret = dp_sync_forwards(&c->dp, &pol);
	policy_free(&pol);
	return ret ? fwd_apply_failed(ret, err, "the map update") : 0;
}

struct forward_args {
	const char *id; /* of a delete */
	json_object *body; /* of an add */
	struct cg_forward_def f; /* added or deleted */
};

static int add_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct forward_args *a = arg;

	return state_add_forward(&c->state, a->body, &a->f, err);
}

static int add_apply(struct controller *c, void *arg, struct cg_error *err)
{
	struct forward_args *a = arg;
	/* Zero before the forward goes live: the slot's last owner may have
	 * left counts (a packet in flight while it was deleted). Live even
	 * if that failed: wrong counters beat a dead forward. */
	int reset = dp_fwd_counters_reset(&c->dp, a->f.slot);
	int ret = forwards_changed(c, err);

	if (!ret && reset)
		ret = fwd_apply_failed(reset, err, "resetting its counters");
	return ret;
}

static json_object *add_view(struct controller *c, void *arg)
{
	struct forward_args *a = arg;

	return forward_view(c, state_forward(&c->state, a->f.id));
}

static const struct ctl_op add_forward = {
	.change = add_change,
	.apply = add_apply,
	.view = add_view,
};

int ctl_add_forward(struct controller *c, json_object *body, json_object **out,
		    struct cg_error *err)
{
	struct forward_args a = { .body = body };

	return ctl_run(c, &add_forward, &a, out, err);
}

/* After its map entry went (no new flows): the flows it translates, then
 * its counters, so that the slot's next forward starts clean. */
static int forget_forward(struct controller *c, uint32_t slot,
			  struct cg_error *err)
{
	int ret = dp_forget_owner(&c->dp, slot);

	if (ret < 0)
		return fwd_apply_failed(ret, err, "removing its NAT entries");
	ret = dp_fwd_counters_reset(&c->dp, slot);
	return ret ? fwd_apply_failed(ret, err, "resetting its counters") : 0;
}

static int delete_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct forward_args *a = arg;

	return state_delete_forward(&c->state, a->id, &a->f, err);
}

static int delete_apply(struct controller *c, void *arg, struct cg_error *err)
{
	struct forward_args *a = arg;
	int ret = forwards_changed(c, err);

	return ret ? ret : forget_forward(c, a->f.slot, err);
}

static const struct ctl_op delete_forward = {
	.change = delete_change,
	.apply = delete_apply,
};

int ctl_delete_forward(struct controller *c, const char *id,
		       struct cg_error *err)
{
	struct forward_args a = { .id = id };

	return ctl_run(c, &delete_forward, &a, NULL, err);
}
