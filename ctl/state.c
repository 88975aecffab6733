// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "state.h"

#define STATE_MAX_BYTES (256u << 20)

void state_init(struct cg_state *st, const struct cg_config *cfg)
{
	memset(st, 0, sizeof(*st));
	st->cfg = cfg;
}

void state_free(struct cg_state *st)
{
	free(st->services);
	free(st->peers);
	st->services = NULL;
	st->peers = NULL;
	st->n_services = st->n_peers = 0;
	st->cap_services = st->cap_peers = 0;
}

int state_copy(struct cg_state *dst, const struct cg_state *src)
{
	state_init(dst, src->cfg);
	dst->services = malloc((src->n_services ? src->n_services : 1) *
			       sizeof(*dst->services));
	dst->peers =
		malloc((src->n_peers ? src->n_peers : 1) * sizeof(*dst->peers));
	if (!dst->services || !dst->peers) {
		state_free(dst);
		return -ENOMEM;
	}
	/* memcpy from NULL is undefined even for 0 bytes. */
	if (src->n_services)
		memcpy(dst->services, src->services,
		       src->n_services * sizeof(*dst->services));
	if (src->n_peers)
		memcpy(dst->peers, src->peers,
		       src->n_peers * sizeof(*dst->peers));
	dst->n_services = dst->cap_services = src->n_services;
	dst->n_peers = dst->cap_peers = src->n_peers;
	if (!dst->cap_services)
		dst->cap_services = 1;
	if (!dst->cap_peers)
		dst->cap_peers = 1;
	return 0;
}

struct cg_service_def *state_service(const struct cg_state *st,
				     const char *name)
{
	size_t i;

	for (i = 0; i < st->n_services; i++)
		if (!strcmp(st->services[i].name, name))
			return &st->services[i];
	return NULL;
}

struct cg_service_def *state_service_by_id(const struct cg_state *st,
					   uint32_t id)
{
	size_t i;

	for (i = 0; i < st->n_services; i++)
		if (st->services[i].id == id)
			return &st->services[i];
	return NULL;
}

struct cg_peer_def *state_peer(const struct cg_state *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->n_peers; i++)
		if (!strcmp(st->peers[i].name, name))
			return &st->peers[i];
	return NULL;
}

static bool bit_test(const uint64_t *words, uint32_t bit)
{
	return words[bit / 64] & (1ull << (bit % 64));
}

static void bit_set(uint64_t *words, uint32_t bit)
{
	words[bit / 64] |= 1ull << (bit % 64);
}

/* Grow an array to hold one more element. */
static int reserve(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* ---- services ---------------------------------------------------------- */

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

	if (a->ip.s_addr != b->ip.s_addr || a->port != b->port)
		return false;
	for (i = 0; i < ARRAY_SIZE(protos); i++)
		if (endpoint_covers(a, protos[i]) &&
		    endpoint_covers(b, protos[i]))
			return true;
	return false;
}

static bool valid_unicast(struct in_addr ip)
{
	uint32_t h = ntohl(ip.s_addr);

	return h != 0 && h != 0xffffffffu && (h >> 28) != 0xe &&
	       (h >> 24) != 127;
}

static bool parse_endpoint(json_object *obj, const char *prefix,
			   struct cg_endpoint *ep, struct cg_error *err)
{
	static const char *const fields[] = { "ip", "proto", "port", NULL };
	char ip[32], proto[8], path[96];
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
	if (!parse_ipv4(ip, &ep->ip) || !valid_unicast(ep->ip)) {
		jx_path(path, sizeof(path), prefix, "ip");
		cg_error_set(err, 400, path,
			     "'%s' must be a unicast IPv4 "
			     "address",
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
	char proto[8], ip[32], path[96];
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
	if (!parse_ipv4(ip, &d->to_ip) || !valid_unicast(d->to_ip)) {
		jx_path(path, sizeof(path), prefix, "to_ip");
		cg_error_set(err, 400, path,
			     "'%s' must be a unicast IPv4 address", path);
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
	    (with_id &&
	     !jx_uint(body, "id", true, "", 0, CG_MAX_SERVICES - 1, &id, err)))
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
			    svc->dnat[i].port == svc->dnat[j].port) {
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
				    svc->dnat[i].port == o->dnat[j].port) {
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

	for (i = 0; i < CG_MAX_SERVICES; i++)
		if (!state_service_by_id(st, i)) {
			*id = i;
			return true;
		}
	return false;
}

static bool check_name(json_object *body, const char *name,
		       struct cg_error *err)
{
	char in_body[CG_NAME_MAX + 2] = "";

	if (!valid_name(name)) {
		cg_error_set(err, 400, "name",
			     "'name' must match [A-Za-z0-9_.-]{1,64}");
		return false;
	}
	if (!jx_string(body, "name", false, "", in_body, sizeof(in_body), err))
		return false;
	if (in_body[0] && strcmp(in_body, name)) {
		cg_error_set(err, 400, "name",
			     "'name' in the body differs from the path");
		return false;
	}
	return true;
}

int state_put_service(struct cg_state *st, const char *name, json_object *body,
		      struct cg_error *err)
{
	struct cg_service_def svc = { 0 };
	struct cg_service_def *old;

	if (!check_name(body, name, err) ||
	    !parse_service(body, false, &svc, err))
		return -EINVAL;
	str_copy(svc.name, sizeof(svc.name), name);
	if (service_conflicts(st, &svc, err))
		return -EEXIST;

	old = state_service(st, name);
	if (old) {
		svc.id = old->id;
		*old = svc;
		return 0;
	}
	if (!free_service_id(st, &svc.id)) {
		cg_error_set(err, 409, "name", "all %d service ids are in use",
			     CG_MAX_SERVICES);
		return -ENOSPC;
	}
	if (reserve((void **)&st->services, &st->cap_services, st->n_services,
		    sizeof(svc))) {
		cg_error_set(err, 500, "", "out of memory");
		return -ENOMEM;
	}
	st->services[st->n_services++] = svc;
	return 0;
}

int state_delete_service(struct cg_state *st, const char *name,
			 struct cg_error *err)
{
	struct cg_service_def *svc = state_service(st, name);
	size_t i;

	if (!svc) {
		cg_error_set(err, 404, "name", "no service '%s'", name);
		return -ENOENT;
	}
	for (i = 0; i < st->n_peers; i++)
		if (bit_test(st->peers[i].access, svc->id)) {
			cg_error_set(err, 409, "name",
				     "service '%s' is in service_access of "
				     "peer '%s'",
				     name, st->peers[i].name);
			return -EBUSY;
		}
	*svc = st->services[--st->n_services];
	return 0;
}

json_object *service_to_json(const struct cg_service_def *svc, bool with_id)
{
	json_object *o = json_object_new_object();
	json_object *eps = json_object_new_array();
	json_object *dnat = json_object_new_array();
	char ip[16];
	unsigned int i;

	json_object_object_add(o, "name", json_object_new_string(svc->name));
	if (with_id)
		json_object_object_add(o, "id", json_object_new_int(svc->id));
	for (i = 0; i < svc->n_endpoints; i++) {
		json_object *e = json_object_new_object();

		json_object_object_add(e, "ip",
				       json_object_new_string(ipv4_str(
					       svc->endpoints[i].ip, ip)));
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
		json_object_object_add(d, "to_ip",
				       json_object_new_string(ipv4_str(
					       svc->dnat[i].to_ip, ip)));
		json_object_object_add(
			d, "to_port",
			json_object_new_int(svc->dnat[i].to_port));
		json_object_array_add(dnat, d);
	}
	json_object_object_add(o, "endpoints", eps);
	json_object_object_add(o, "dnat", dnat);
	return o;
}

/* ---- peers ------------------------------------------------------------- */

static bool parse_access(const struct cg_state *st, json_object *arr,
			 uint64_t access[CG_SERVICE_WORDS],
			 struct cg_error *err)
{
	size_t i, n = json_object_array_length(arr);
	char field[48];

	memset(access, 0, sizeof(uint64_t) * CG_SERVICE_WORDS);
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		const struct cg_service_def *svc;

		snprintf(field, sizeof(field), "service_access[%zu]", i);
		if (!json_object_is_type(v, json_type_string)) {
			cg_error_set(err, 400, field,
				     "'%s' must be a service name", field);
			return false;
		}
		svc = state_service(st, json_object_get_string(v));
		if (!svc) {
			cg_error_set(err, 400, field, "unknown service '%s'",
				     json_object_get_string(v));
			return false;
		}
		bit_set(access, svc->id);
	}
	return true;
}

/* An address a peer may have: inside the WireGuard subnet, not its
 * network or broadcast address, not the router's. */
static bool peer_ip_valid(const struct cg_config *cfg, struct in_addr ip,
			  struct cg_error *err)
{
	uint32_t mask = prefix_mask(cfg->wireguard.subnet.prefix);

	if (!cidr_contains(cfg->wireguard.subnet.addr,
			   cfg->wireguard.subnet.prefix, ip)) {
		cg_error_set(err, 400, "ip",
			     "'ip' must be inside the WireGuard subnet");
		return false;
	}
	if ((ip.s_addr & ~mask) == 0 || (ip.s_addr | mask) == 0xffffffffu) {
		cg_error_set(err, 400, "ip",
			     "'ip' is the subnet's network or broadcast "
			     "address");
		return false;
	}
	if (ip.s_addr == cfg->wireguard.address.s_addr) {
		cg_error_set(err, 409, "ip", "'ip' is the router's address");
		return false;
	}
	return true;
}

/* Name, key and address must be unique among the other peers. */
static bool peer_conflicts(const struct cg_state *st,
			   const struct cg_peer_def *p, const char *self,
			   struct cg_error *err)
{
	size_t i;

	for (i = 0; i < st->n_peers; i++) {
		const struct cg_peer_def *o = &st->peers[i];

		if (self && !strcmp(o->name, self))
			continue;
		if (!strcmp(o->name, p->name)) {
			cg_error_set(err, 409, "name", "peer '%s' exists",
				     p->name);
			return true;
		}
		if (key_equal(o->public_key, p->public_key)) {
			cg_error_set(err, 409, "public_key",
				     "public_key is used by peer '%s'",
				     o->name);
			return true;
		}
		if (o->ip.s_addr == p->ip.s_addr) {
			cg_error_set(err, 409, "ip", "ip is used by peer '%s'",
				     o->name);
			return true;
		}
	}
	return false;
}

/* A member that is there and not null (jx_* treat null as absent). */
static bool has_member(json_object *obj, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(obj, key, &v) && v;
}

/* Apply the members present in body to p. required: POST semantics. */
static bool parse_peer(const struct cg_state *st, json_object *body,
		       bool creating, bool with_id, struct cg_peer_def *p,
		       struct cg_error *err)
{
	static const char *const fields[] = { "name",
					      "public_key",
					      "ip",
					      "service_access",
					      "internet_access",
					      "peer_to_peer",
					      "id",
					      NULL };
	char key[WG_KEY_B64_LEN + 2] = "", ip[32] = "";
	json_object *access;
	uint64_t id = p->id;

	if (!jx_only_fields(body, fields, "", err))
		return false;
	/* "id" is accepted only from the state file. */
	if (!with_id && json_object_object_get_ex(body, "id", NULL)) {
		cg_error_set(err, 400, "id", "unknown field 'id'");
		return false;
	}
	if (!jx_string(body, "public_key", creating, "", key, sizeof(key),
		       err) ||
	    !jx_string(body, "ip", creating, "", ip, sizeof(ip), err) ||
	    !jx_member(body, "service_access", json_type_array, false, "",
		       &access, err) ||
	    !jx_bool(body, "internet_access", false, "", &p->internet_access,
		     err) ||
	    !jx_bool(body, "peer_to_peer", false, "", &p->peer_to_peer, err) ||
	    (with_id &&
	     !jx_uint(body, "id", true, "", 1, UINT32_MAX, &id, err)))
		return false;
	p->id = (uint32_t)id;
	/* Given means present, even as "": an empty value is invalid, not
	 * absent. */
	if (has_member(body, "public_key") &&
	    !key_from_base64(p->public_key, key)) {
		cg_error_set(err, 400, "public_key",
			     "'public_key' must be the base64 of 32 bytes");
		return false;
	}
	if (has_member(body, "public_key") && key_is_zero(p->public_key)) {
		/* WireGuard refuses the all-zero key (no shared secret). */
		cg_error_set(err, 400, "public_key",
			     "'public_key' is the all-zero key");
		return false;
	}
	if (has_member(body, "ip")) {
		if (!parse_ipv4(ip, &p->ip)) {
			cg_error_set(err, 400, "ip",
				     "'ip' must be an IPv4 address");
			return false;
		}
		if (!peer_ip_valid(st->cfg, p->ip, err))
			return false;
	}
	return !access || parse_access(st, access, p->access, err);
}

/* Lowest identity id no peer uses; ids index counters and epochs, whose
 * maps hold max_peers + 1 slots (slot 0 is CG_IDENT_UNKNOWN). */
static bool free_peer_id(const struct cg_state *st, uint32_t *id)
{
	uint32_t max = st->cfg->limits.max_peers;
	uint8_t *used = calloc(max + 1, 1);
	uint32_t i;
	size_t p;

	if (!used)
		return false;
	for (p = 0; p < st->n_peers; p++)
		if (st->peers[p].id <= max)
			used[st->peers[p].id] = 1;
	for (i = 1; i <= max && used[i]; i++)
		;
	free(used);
	*id = i;
	return i <= max;
}

int state_add_peer(struct cg_state *st, json_object *body,
		   struct cg_peer_def *added, struct cg_error *err)
{
	struct cg_peer_def p = { 0 };
	char name[CG_NAME_MAX + 2] = "";

	if (!jx_string(body, "name", true, "", name, sizeof(name), err))
		return -EINVAL;
	if (!valid_name(name)) {
		cg_error_set(err, 400, "name",
			     "'name' must match [A-Za-z0-9_.-]{1,64}");
		return -EINVAL;
	}
	str_copy(p.name, sizeof(p.name), name);
	if (!parse_peer(st, body, true, false, &p, err))
		return -EINVAL;
	if (peer_conflicts(st, &p, NULL, err))
		return -EEXIST;
	if (!free_peer_id(st, &p.id)) {
		cg_error_set(err, 409, "name",
			     "the cell has its maximum of "
			     "%u peers (limits.max_peers)",
			     st->cfg->limits.max_peers);
		return -ENOSPC;
	}
	if (reserve((void **)&st->peers, &st->cap_peers, st->n_peers,
		    sizeof(p))) {
		cg_error_set(err, 500, "", "out of memory");
		return -ENOMEM;
	}
	st->peers[st->n_peers++] = p;
	if (added)
		*added = p;
	return 0;
}

int state_update_peer(struct cg_state *st, const char *name, json_object *body,
		      struct cg_peer_def *old, struct cg_peer_def *updated,
		      struct cg_error *err)
{
	struct cg_peer_def *cur = state_peer(st, name);
	struct cg_peer_def p;

	if (!cur) {
		cg_error_set(err, 404, "name", "no peer '%s'", name);
		return -ENOENT;
	}
	if (!check_name(body, name, err))
		return -EINVAL;
	p = *cur;
	if (!parse_peer(st, body, false, false, &p, err))
		return -EINVAL;
	if (peer_conflicts(st, &p, name, err))
		return -EEXIST;
	if (old)
		*old = *cur;
	*cur = p;
	if (updated)
		*updated = p;
	return 0;
}

int state_delete_peer(struct cg_state *st, const char *name,
		      struct cg_peer_def *removed, struct cg_error *err)
{
	struct cg_peer_def *p = state_peer(st, name);

	if (!p) {
		cg_error_set(err, 404, "name", "no peer '%s'", name);
		return -ENOENT;
	}
	if (removed)
		*removed = *p;
	*p = st->peers[--st->n_peers];
	return 0;
}

json_object *peer_to_json(const struct cg_state *st,
			  const struct cg_peer_def *peer, bool with_id)
{
	json_object *o = json_object_new_object();
	json_object *access = json_object_new_array();
	char key[WG_KEY_B64_LEN + 1], ip[16];
	size_t i;

	json_object_object_add(o, "name", json_object_new_string(peer->name));
	if (with_id)
		json_object_object_add(o, "id",
				       json_object_new_int64(peer->id));
	key_to_base64(key, peer->public_key);
	json_object_object_add(o, "public_key", json_object_new_string(key));
	json_object_object_add(o, "ip",
			       json_object_new_string(ipv4_str(peer->ip, ip)));
	for (i = 0; i < st->n_services; i++)
		if (bit_test(peer->access, st->services[i].id))
			json_object_array_add(
				access,
				json_object_new_string(st->services[i].name));
	json_object_object_add(o, "service_access", access);
	json_object_object_add(o, "internet_access",
			       json_object_new_boolean(peer->internet_access));
	json_object_object_add(o, "peer_to_peer",
			       json_object_new_boolean(peer->peer_to_peer));
	return o;
}

/* ---- the state file ---------------------------------------------------- */

static bool load_services(struct cg_state *st, json_object *arr,
			  struct cg_error *err)
{
	size_t i, n = json_object_array_length(arr);
	char name[CG_NAME_MAX + 2];

	for (i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		struct cg_service_def svc = { 0 };

		if (!json_object_is_type(o, json_type_object) ||
		    !jx_string(o, "name", true, "", name, sizeof(name), err) ||
		    !valid_name(name) || !parse_service(o, true, &svc, err)) {
			if (!err->msg[0])
				cg_error_set(err, 400, "", "bad service");
			return false;
		}
		str_copy(svc.name, sizeof(svc.name), name);
		if (state_service(st, name) ||
		    state_service_by_id(st, svc.id) ||
		    service_conflicts(st, &svc, err)) {
			cg_error_set(err, 400, "services",
				     "service '%s' repeats a name, id or "
				     "endpoint",
				     name);
			return false;
		}
		if (reserve((void **)&st->services, &st->cap_services,
			    st->n_services, sizeof(svc))) {
			cg_error_set(err, 500, "", "out of memory");
			return false;
		}
		st->services[st->n_services++] = svc;
	}
	return true;
}

static bool load_peers(struct cg_state *st, json_object *arr,
		       struct cg_error *err)
{
	size_t i, j, n = json_object_array_length(arr);
	char name[CG_NAME_MAX + 2];

	for (i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		struct cg_peer_def p = { 0 };

		if (!json_object_is_type(o, json_type_object) ||
		    !jx_string(o, "name", true, "", name, sizeof(name), err) ||
		    !valid_name(name)) {
			if (!err->msg[0])
				cg_error_set(err, 400, "", "bad peer name");
			return false;
		}
		str_copy(p.name, sizeof(p.name), name);
		if (!parse_peer(st, o, true, true, &p, err) ||
		    peer_conflicts(st, &p, NULL, err))
			return false;
		if (p.id > st->cfg->limits.max_peers) {
			cg_error_set(err, 400, "id",
				     "peer '%s' has id %u above "
				     "limits.max_peers",
				     name, p.id);
			return false;
		}
		for (j = 0; j < st->n_peers; j++)
			if (st->peers[j].id == p.id) {
				cg_error_set(err, 400, "id",
					     "peers '%s' and '%s' share id %u",
					     st->peers[j].name, name, p.id);
				return false;
			}
		if (reserve((void **)&st->peers, &st->cap_peers, st->n_peers,
			    sizeof(p))) {
			cg_error_set(err, 500, "", "out of memory");
			return false;
		}
		st->peers[st->n_peers++] = p;
	}
	return true;
}

static bool load_root(struct cg_state *st, json_object *root,
		      struct cg_error *err)
{
	static const char *const fields[] = { "version", "services", "peers",
					      NULL };
	json_object *services, *peers;
	uint64_t version;

	if (!jx_only_fields(root, fields, "", err) ||
	    !jx_uint(root, "version", true, "", 1, 1000, &version, err) ||
	    !jx_member(root, "services", json_type_array, true, "", &services,
		       err) ||
	    !jx_member(root, "peers", json_type_array, true, "", &peers, err))
		return false;
	if (version != CG_STATE_VERSION) {
		cg_error_set(err, 400, "version",
			     "state version %llu is not supported (%d is)",
			     (unsigned long long)version, CG_STATE_VERSION);
		return false;
	}
	return load_services(st, services, err) && load_peers(st, peers, err);
}

int state_load(struct cg_state *st, const char *path, struct cg_error *err)
{
	json_object *root;
	size_t len;
	char *buf;
	bool ok;

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
	ok = load_root(st, root, err);
	json_object_put(root);
	if (!ok) {
		state_free(st);
		return -EINVAL;
	}
	return 0;
}

char *state_to_string(const struct cg_state *st)
{
	json_object *root = json_object_new_object();
	json_object *services = json_object_new_array();
	json_object *peers = json_object_new_array();
	char *out;
	size_t i;

	json_object_object_add(root, "version",
			       json_object_new_int(CG_STATE_VERSION));
	for (i = 0; i < st->n_services; i++)
		json_object_array_add(services,
				      service_to_json(&st->services[i], true));
	for (i = 0; i < st->n_peers; i++)
		json_object_array_add(peers,
				      peer_to_json(st, &st->peers[i], true));
	json_object_object_add(root, "services", services);
	json_object_object_add(root, "peers", peers);
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
