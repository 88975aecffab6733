// SPDX-License-Identifier: MIT
/* Services: the cell's own destinations, and which peers may reach them. */
#include "op.h"
#include "policy.h"

static const void *find_service(const struct cg_state *st, const char *name)
{
	return state_service(st, name);
}

static int view_service(struct controller *c, const void *svc, void *out,
			struct cg_error *err)
{
	(void)c;
	(void)err;
	*(json_object **)out = service_to_json(svc, false);
	return 0;
}

static const struct ctl_lookup service_lookup = { "service", "name",
						  find_service, view_service };

int ctl_list_services(struct controller *c, json_object **out)
{
	json_object *arr = json_object_new_array();
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->state.n_services; i++)
		json_object_array_add(
			arr, service_to_json(&c->state.services[i], false));
	pthread_mutex_unlock(&c->lock);
	*out = arr;
	return 0;
}

int ctl_get_service(struct controller *c, const char *name, json_object **out,
		    struct cg_error *err)
{
	return ctl_look_up(c, &service_lookup, name, out, err);
}

struct service_args {
	const char *name;
	json_object *body; /* of a put */
};

static int put_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct service_args *a = arg;

	return state_put_service(&c->state, a->name, a->body, err);
}

static int delete_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct service_args *a = arg;

	return state_delete_service(&c->state, a->name, err);
}

/* Services only touch the service maps. */
static int apply_services(struct controller *c, void *arg, struct cg_error *err)
{
	struct policy pol;
	int ret = policy_compile(&c->state, &c->cfg, &pol);

	(void)arg;
	if (!ret)
		ret = dp_sync_services(&c->dp, &pol);
	policy_free(&pol);
	return ret ? ctl_apply_failed(ret, err, "the map update") : 0;
}

static json_object *service_view(struct controller *c, void *arg)
{
	struct service_args *a = arg;

	return service_to_json(state_service(&c->state, a->name), false);
}

static const struct ctl_op put_service = {
	.change = put_change,
	.apply = apply_services,
	.view = service_view,
};

static const struct ctl_op delete_service = {
	.change = delete_change,
	.apply = apply_services,
};

int ctl_put_service(struct controller *c, const char *name, json_object *body,
		    json_object **out, struct cg_error *err)
{
	struct service_args a = { name, body };

	return ctl_run(c, &put_service, &a, out, err);
}

int ctl_delete_service(struct controller *c, const char *name,
		       struct cg_error *err)
{
	struct service_args a = { name, NULL };

	return ctl_run(c, &delete_service, &a, NULL, err);
}
