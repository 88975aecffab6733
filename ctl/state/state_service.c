// SPDX-License-Identifier: MIT
/*
 * Services: named sets of endpoints (what peers and linked cells are
 * given access to) and their exposure on the WireGuard address (dnat).
 * A service keeps its id, its bit in the access bitmaps, for its life.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "jsonx.h"
#include "state_internal.h"

static bool service_named(const void *svc, const void *name)
{
	return !strcmp(((const struct cg_service_def *)svc)->name, name);
}

static bool service_with_id(const void *svc, const void *id)
{
	return ((const struct cg_service_def *)svc)->id ==
	       *(const uint32_t *)id;
}

struct cg_service_def *state_service(const struct cg_state *st,
				     const char *name)
{
	return state_find(st, ST_SERVICES, service_named, name);
}

struct cg_service_def *state_service_by_id(const struct cg_state *st,
					   uint32_t id)
{
	return state_find(st, ST_SERVICES, service_with_id, &id);
}

/* The conntrack protocols an endpoint covers (any = all three). */
static bool endpoint_covers(const struct cg_endpoint *ep, uint8_t proto)
{
	return ep->proto == 0 || ep->proto == proto;
}

static bool endpoints_collide(const struct cg_endpoint *a,
			      const struct cg_endpoint *b)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMP };
	size_t i;

	if (a->v6 != b->v6 || a->port != b->port ||
	    (a->v6 ? !ipv6_equal(&a->ip6, &b->ip6) :
		     a->ip.s_addr != b->ip.s_addr))
		return false;
	for (i = 0; i < ARRAY_SIZE(protos); i++)
		if (endpoint_covers(a, protos[i]) &&
		    endpoint_covers(b, protos[i]))
			return true;
	return false;
}
static bool parse_endpoint(json_object *obj, const char *prefix,
			   struct cg_endpoint *ep, struct cg_error *err)
{
	static const char *const fields[] = { "ip", "proto", "port", NULL };
	char ip[64], proto[8], path[96];
	uint64_t port = 0;

	if (!json_object_is_type(obj, json_type_object)) {
		cg_error_set(err, 400, prefix, "'%s' must be an object",
			     prefix);
		return false;
	}
	if (!jx_only_fields(obj, fields, prefix, err) ||
	    !jx_string(obj, "ip", true, prefix, ip, sizeof(ip), err) ||
	    !jx_string(obj, "proto", true, prefix, proto, sizeof(proto), err) ||
	    !jx_uint(obj, "port", false, prefix, 0, 65535, &port, err))
		return false;
	ep->v6 = strchr(ip, ':') != NULL;
	if (ep->v6 ? !parse_ipv6(ip, &ep->ip6) || ipv6_special(&ep->ip6) :
		     !parse_ipv4(ip, &ep->ip) || !state_valid_unicast(ep->ip)) {
		jx_path(path, sizeof(path), prefix, "ip");
		cg_error_set(err, 400, path,
			     "'%s' must be a unicast IPv4 or IPv6 address",
			     path);
		return false;
	}
	if (!parse_proto(proto, &ep->proto)) {
		jx_path(path, sizeof(path), prefix, "proto");
		cg_error_set(err, 400, path,
			     "'%s' must be tcp, udp, icmp or any", path);
		return false;
	}
	ep->port = (uint16_t)port;
	if (port && (ep->proto == 0 || ep->proto == IPPROTO_ICMP)) {
		jx_path(path, sizeof(path), prefix, "port");
		cg_error_set(err, 400, path,
			     "'%s' must be 0 or absent for proto %s", path,
			     proto);
		return false;
	}
	return true;
}

static bool parse_dnat(json_object *obj, const char *prefix, struct cg_dnat *d,
		       struct cg_error *err)
{
	static const char *const fields[] = { "proto", "port", "to_ip",
					      "to_port", NULL };
	char proto[8], ip[64], path[96];
	uint64_t port, to_port;

	if (!json_object_is_type(obj, json_type_object)) {
		cg_error_set(err, 400, prefix, "'%s' must be an object",
			     prefix);
		return false;
	}
	if (!jx_only_fields(obj, fields, prefix, err) ||
	    !jx_string(obj, "proto", true, prefix, proto, sizeof(proto), err) ||
	    !jx_uint(obj, "port", true, prefix, 1, 65535, &port, err) ||
	    !jx_string(obj, "to_ip", true, prefix, ip, sizeof(ip), err) ||
	    !jx_uint(obj, "to_port", true, prefix, 1, 65535, &to_port, err))
		return false;
	if (!parse_proto(proto, &d->proto) ||
	    (d->proto != IPPROTO_TCP && d->proto != IPPROTO_UDP)) {
		jx_path(path, sizeof(path), prefix, "proto");
		cg_error_set(err, 400, path, "'%s' must be tcp or udp", path);
		return false;
	}
	d->v6 = strchr(ip, ':') != NULL;
	if (d->v6 ? !parse_ipv6(ip, &d->to_ip6) || ipv6_special(&d->to_ip6) :
		    !parse_ipv4(ip, &d->to_ip) ||
			    !state_valid_unicast(d->to_ip)) {
		jx_path(path, sizeof(path), prefix, "to_ip");
		cg_error_set(err, 400, path,
			     "'%s' must be a unicast IPv4 or IPv6 address",
			     path);
		return false;
	}
	d->port = (uint16_t)port;
	d->to_port = (uint16_t)to_port;
	return true;
}

/* Parse the body of a service (name already checked by the caller). */
static bool parse_service(json_object *body, bool with_id,
			  struct cg_service_def *svc, struct cg_error *err)
{
	static const char *const fields[] = { "name", "endpoints", "dnat",
					      NULL };
	static const char *const fields_id[] = { "name", "endpoints", "dnat",
						 "id", NULL };
	json_object *eps, *dnat;
	char prefix[48];
	uint64_t id = 0;
	size_t i, j;

	if (!jx_only_fields(body, with_id ? fields_id : fields, "", err) ||
	    !jx_member(body, "endpoints", json_type_array, false, "", &eps,
		       err) ||
	    !jx_member(body, "dnat", json_type_array, false, "", &dnat, err) ||
	    (with_id && !jx_uint(body, "id", true, "", 0,
				 CG_MAX_USER_SERVICES - 1, &id, err)))
		return false;
	svc->id = (uint32_t)id;
	svc->n_endpoints =
		eps ? (unsigned int)json_object_array_length(eps) : 0;
	svc->n_dnat = dnat ? (unsigned int)json_object_array_length(dnat) : 0;
	if (svc->n_endpoints > CG_MAX_ENDPOINTS || svc->n_dnat > CG_MAX_DNAT) {
		cg_error_set(err, 400,
			     svc->n_dnat > CG_MAX_DNAT ? "dnat" : "endpoints",
			     "at most %d endpoints and %d dnat entries",
			     CG_MAX_ENDPOINTS, CG_MAX_DNAT);
		return false;
	}
	if (!svc->n_endpoints && !svc->n_dnat) {
		cg_error_set(err, 400, "endpoints",
			     "a service needs at least one endpoint");
		return false;
	}
	for (i = 0; i < svc->n_endpoints; i++) {
		snprintf(prefix, sizeof(prefix), "endpoints[%zu]", i);
		if (!parse_endpoint(json_object_array_get_idx(eps, i), prefix,
				    &svc->endpoints[i], err))
			return false;
		for (j = 0; j < i; j++)
			if (endpoints_collide(&svc->endpoints[i],
					      &svc->endpoints[j])) {
				cg_error_set(err, 400, prefix,
					     "'%s' repeats endpoints[%zu]",
					     prefix, j);
				return false;
			}
	}
	for (i = 0; i < svc->n_dnat; i++) {
		snprintf(prefix, sizeof(prefix), "dnat[%zu]", i);
		if (!parse_dnat(json_object_array_get_idx(dnat, i), prefix,
				&svc->dnat[i], err))
			return false;
		for (j = 0; j < i; j++)
			if (svc->dnat[i].proto == svc->dnat[j].proto &&
			    svc->dnat[i].port == svc->dnat[j].port &&
			    svc->dnat[i].v6 == svc->dnat[j].v6) {
				cg_error_set(err, 400, prefix,
					     "'%s' repeats dnat[%zu]", prefix,
					     j);
				return false;
			}
	}
	return true;
}

/* Another service already owning one of svc's endpoints or dnat ports. */
static bool service_conflicts(const struct cg_state *st,
			      const struct cg_service_def *svc,
			      struct cg_error *err)
{
	char ip[16];
	size_t s;
	unsigned int i, j;

	for (s = 0; s < st->n_services; s++) {
		const struct cg_service_def *o = &st->services[s];

		if (!strcmp(o->name, svc->name))
			continue;
		for (i = 0; i < svc->n_endpoints; i++)
			for (j = 0; j < o->n_endpoints; j++)
				if (endpoints_collide(&svc->endpoints[i],
						      &o->endpoints[j])) {
					cg_error_set(
						err, 409, "endpoints",
						"endpoint %s %s/%u belongs to "
						"service '%s'",
						proto_name(svc->endpoints[i]
								   .proto),
						ipv4_str(svc->endpoints[i].ip,
							 ip),
						svc->endpoints[i].port,
						o->name);
					return true;
				}
		for (i = 0; i < svc->n_dnat; i++)
			for (j = 0; j < o->n_dnat; j++)
				if (svc->dnat[i].proto == o->dnat[j].proto &&
				    svc->dnat[i].port == o->dnat[j].port &&
				    svc->dnat[i].v6 == o->dnat[j].v6) {
					cg_error_set(
						err, 409, "dnat",
						"dnat %s port %u belongs "
						"to service '%s'",
						proto_name(svc->dnat[i].proto),
						svc->dnat[i].port, o->name);
					return true;
				}
	}
	return false;
}

static bool free_service_id(const struct cg_state *st, uint32_t *id)
{
	uint32_t i;

	for (i = 0; i < CG_MAX_USER_SERVICES; i++)
		if (!state_service_by_id(st, i)) {
			*id = i;
			return true;
		}
	return false;
}

/* IPv6 endpoints need an IPv6 cell: an IPv4-only cell fills no IPv6 map,
 * so one would silently never match. */
static bool endpoints_fit_cell(const struct cg_config *cfg,
			       const struct cg_service_def *svc,
			       struct cg_error *err)
{
	unsigned int i;

	for (i = 0; cfg && !cfg->wireguard.has_address6 && i < svc->n_endpoints;
	     i++)
		if (svc->endpoints[i].v6) {
			char path[48];

			snprintf(path, sizeof(path), "endpoints[%u].ip", i);
			cg_error_set(err, 400, path,
				     "'%s' is IPv6, but the cell is IPv4-only "
				     "(no wireguard.address6)",
				     path);
			return false;
		}
	return true;
}

int state_put_service(struct cg_state *st, const char *name, json_object *body,
		      struct cg_error *err)
{
	struct cg_service_def svc = { 0 };
	struct cg_service_def *old;

	if (!state_check_name(body, name, err) ||
	    !parse_service(body, false, &svc, err) ||
	    !endpoints_fit_cell(st->cfg, &svc, err))
		return -EINVAL;
	str_copy(svc.name, sizeof(svc.name), name);
	if (service_conflicts(st, &svc, err))
		return -EEXIST;

	old = state_service(st, name);
	if (old) {
		svc.id = old->id;
		state_replace(st, ST_SERVICES, old, &svc);
		return 0;
	}
	if (!free_service_id(st, &svc.id)) {
		cg_error_set(err, 409, "name", "all %d service ids are in use",
			     CG_MAX_USER_SERVICES);
		return -ENOSPC;
	}
	return state_add(st, ST_SERVICES, &svc, err) ? 0 : -ENOMEM;
}

int state_delete_service(struct cg_state *st, const char *name,
			 struct cg_error *err)
{
	struct cg_service_def *svc =
		state_get(st, ST_SERVICES, service_named, name, err);
	size_t i;

	if (!svc)
		return -ENOENT;
	for (i = 0; i < st->n_cells; i++)
		if (bit_test(st->cells[i].inbound, svc->id)) {
			cg_error_set(err, 409, "name",
				     "service '%s' is shared with cell '%s'",
				     name, st->cells[i].info.cell_name);
			return -EBUSY;
		}
	for (i = 0; i < st->n_peers; i++)
		if (bit_test(st->peers[i].access, svc->id)) {
			cg_error_set(err, 409, "name",
				     "service '%s' is in service_access of "
				     "peer '%s'",
				     name, st->peers[i].name);
			return -EBUSY;
		}
	/* A rule to it would grant a later service of the same name. */
	for (i = 0; i < st->n_rules; i++)
		if (st->rules[i].to.kind == CG_SEL_SERVICE &&
		    !strcmp(st->rules[i].to.name, name)) {
			cg_error_set(err, 409, "name",
				     "service '%s' is the target of rule '%s'",
				     name, st->rules[i].name);
			return -EBUSY;
		}
	state_remove(st, ST_SERVICES, svc);
	return 0;
}

json_object *service_to_json(const struct cg_service_def *svc, bool with_id)
{
	json_object *o = json_object_new_object();
	json_object *eps = json_object_new_array();
	json_object *dnat = json_object_new_array();
	char ip[CG_IP6_STRLEN];
	unsigned int i;

	json_object_object_add(o, "name", json_object_new_string(svc->name));
	if (with_id)
		json_object_object_add(o, "id", json_object_new_int(svc->id));
	for (i = 0; i < svc->n_endpoints; i++) {
		const struct cg_endpoint *ep = &svc->endpoints[i];
		json_object *e = json_object_new_object();

		json_object_object_add(
			e, "ip",
			json_object_new_string(ep->v6 ? ipv6_str(&ep->ip6, ip) :
							ipv4_str(ep->ip, ip)));
		json_object_object_add(e, "proto",
				       json_object_new_string(proto_name(
					       svc->endpoints[i].proto)));
		json_object_object_add(
			e, "port", json_object_new_int(svc->endpoints[i].port));
		json_object_array_add(eps, e);
	}
	for (i = 0; i < svc->n_dnat; i++) {
		json_object *d = json_object_new_object();

		json_object_object_add(
			d, "proto",
			json_object_new_string(proto_name(svc->dnat[i].proto)));
		json_object_object_add(d, "port",
				       json_object_new_int(svc->dnat[i].port));
		json_object_object_add(
			d, "to_ip",
			json_object_new_string(
				svc->dnat[i].v6 ?
					ipv6_str(&svc->dnat[i].to_ip6, ip) :
					ipv4_str(svc->dnat[i].to_ip, ip)));
		json_object_object_add(
			d, "to_port",
			json_object_new_int(svc->dnat[i].to_port));
		json_object_array_add(dnat, d);
	}
	json_object_object_add(o, "endpoints", eps);
	json_object_object_add(o, "dnat", dnat);
	return o;
}

bool state_service_record(json_object *o, struct cg_service_def *svc,
			  struct cg_error *err)
{
	char name[CG_NAME_MAX + 2];

	memset(svc, 0, sizeof(*svc));
	if (!state_record_name(o, name, err) ||
	    !parse_service(o, true, svc, err)) {
		if (!err->msg[0])
			cg_error_set(err, 400, "", "bad service");
		return false;
	}
	str_copy(svc->name, sizeof(svc->name), name);
	return true;
}

/* The state file's services: each with its id, none repeating another. */
bool state_load_services(struct cg_state *st, json_object *arr,
			 struct cg_error *err)
{
	size_t i, n = arr ? json_object_array_length(arr) : 0;
	char name[CG_NAME_MAX + 2];

	for (i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		struct cg_service_def svc = { 0 };

		if (!state_service_record(o, &svc, err))
			return false;
		str_copy(name, sizeof(name), svc.name);
		if (state_service(st, name) ||
		    state_service_by_id(st, svc.id) ||
		    service_conflicts(st, &svc, err)) {
			cg_error_set(err, 400, "services",
				     "service '%s' repeats a name, id or "
				     "endpoint",
				     name);
			return false;
		}
		if (!state_add(st, ST_SERVICES, &svc, err))
			return false;
	}
	return true;
}
