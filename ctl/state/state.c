// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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
	free(st->forwards);
	free(st->cells);
	if (st->invites)
		explicit_bzero(st->invites,
			       st->cap_invites * sizeof(*st->invites));
	free(st->invites);
	st->services = NULL;
	st->peers = NULL;
	st->forwards = NULL;
	st->cells = NULL;
	st->invites = NULL;
	st->n_services = st->n_peers = st->n_forwards = 0;
	st->cap_services = st->cap_peers = st->cap_forwards = 0;
	st->n_cells = st->cap_cells = st->n_invites = st->cap_invites = 0;
}

/* A copy of n elements, never NULL (capacity at least 1), so that a copy
 * of an empty array is told apart from a failed allocation. */
static void *copy_array(const void *src, size_t n, size_t elem, size_t *cap)
{
	void *dst = malloc((n ? n : 1) * elem);

	/* memcpy from NULL is undefined even for 0 bytes. */
	if (dst && n)
		memcpy(dst, src, n * elem);
	*cap = n ? n : 1;
	return dst;
}

int state_copy(struct cg_state *dst, const struct cg_state *src)
{
	state_init(dst, src->cfg);
	dst->services = copy_array(src->services, src->n_services,
				   sizeof(*dst->services), &dst->cap_services);
	dst->peers = copy_array(src->peers, src->n_peers, sizeof(*dst->peers),
				&dst->cap_peers);
	dst->forwards = copy_array(src->forwards, src->n_forwards,
				   sizeof(*dst->forwards), &dst->cap_forwards);
	dst->cells = copy_array(src->cells, src->n_cells, sizeof(*dst->cells),
				&dst->cap_cells);
	dst->invites = copy_array(src->invites, src->n_invites,
				  sizeof(*dst->invites), &dst->cap_invites);
	if (!dst->services || !dst->peers || !dst->forwards || !dst->cells ||
	    !dst->invites) {
		state_free(dst);
		return -ENOMEM;
	}
	dst->n_services = src->n_services;
	dst->n_peers = src->n_peers;
	dst->n_forwards = src->n_forwards;
	dst->n_cells = src->n_cells;
	dst->n_invites = src->n_invites;
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
	    (with_id && !jx_uint(body, "id", true, "", 0,
				 CG_SYNC_SERVICE_ID - 1, &id, err)))
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

	for (i = 0; i < CG_SYNC_SERVICE_ID; i++)
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
	/* Given means compared, even as "": never silently ignored. */
	if (json_object_object_get_ex(body, "name", NULL) &&
	    strcmp(in_body, name)) {
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
			     CG_SYNC_SERVICE_ID);
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
		/* A NUL inside would make "web\u0000x" name "web". */
		if (!json_object_is_type(v, json_type_string) ||
		    strlen(json_object_get_string(v)) !=
			    (size_t)json_object_get_string_len(v)) {
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

	for (i = 0; i < st->n_cells; i++)
		if (key_equal(st->cells[i].info.public_key, p->public_key)) {
			cg_error_set(err, 409, "public_key",
				     "public_key is linked cell '%s''s",
				     st->cells[i].info.cell_name);
			return true;
		}

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
/* How a peer body is read: from the API to add or to change a peer, or
 * from the state file (where key, ip and id are all required). */
enum peer_mode { PEER_ADD, PEER_UPDATE, PEER_LOAD };

static bool parse_peer(const struct cg_state *st, json_object *body,
		       enum peer_mode mode, struct cg_peer_def *p,
		       struct cg_error *err)
{
	bool with_id = mode == PEER_LOAD;
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
	if (!jx_string(body, "public_key", with_id, "", key, sizeof(key),
		       err) ||
	    !jx_string(body, "ip", with_id, "", ip, sizeof(ip), err) ||
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
	/* Peers and cells share the identity id space. */
	for (p = 0; p < st->n_peers; p++)
		if (st->peers[p].id <= max)
			used[st->peers[p].id] = 1;
	for (p = 0; p < st->n_cells; p++)
		if (st->cells[p].id <= max)
			used[st->cells[p].id] = 1;
	for (i = 1; i <= max && used[i]; i++)
		;
	free(used);
	*id = i;
	return i <= max;
}

/* The lowest address of the WireGuard subnet no peer has, skipping the
 * network and broadcast addresses and the router's. Linked cells never
 * overlap the subnet (their vpn_subnet is refused with 409 if it does). */
static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool next_free_ip(const struct cg_state *st, struct in_addr *out)
{
	const struct cg_config *cfg = st->cfg;
	uint32_t net = ntohl(cfg->wireguard.subnet.addr.s_addr);
	uint32_t size = 1u << (32 - cfg->wireguard.subnet.prefix);
	uint32_t *used = malloc((st->n_peers + 1) * sizeof(*used));
	uint32_t cand = 1;
	size_t p, n = 0;

	if (!used)
		return false;
	/* Taken host offsets, the router's among them, in order: the first
	 * gap is the answer. Memory grows with the peers, not the subnet. */
	used[n++] = ntohl(cfg->wireguard.address.s_addr) - net;
	for (p = 0; p < st->n_peers; p++)
		used[n++] = ntohl(st->peers[p].ip.s_addr) - net;
	qsort(used, n, sizeof(*used), cmp_u32);
	for (p = 0; p < n && used[p] <= cand; p++)
		if (used[p] == cand)
			cand++;
	free(used);
	if (cand >= size - 1) /* the broadcast address, or beyond */
		return false;
	out->s_addr = htonl(net + cand);
	return true;
}

int state_add_peer(struct cg_state *st, json_object *body,
		   const uint8_t *generated_key, struct cg_peer_def *added,
		   struct cg_error *err)
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
	if (!parse_peer(st, body, PEER_ADD, &p, err))
		return -EINVAL;
	if (!has_member(body, "public_key")) {
		if (!generated_key) {
			cg_error_set(err, 400, "public_key",
				     "missing field 'public_key'");
			return -EINVAL;
		}
		memcpy(p.public_key, generated_key, WG_KEY_LEN);
	}
	if (!has_member(body, "ip") && !next_free_ip(st, &p.ip)) {
		cg_error_set(err, 409, "ip",
			     "no free address left in the WireGuard subnet");
		return -ENOSPC;
	}
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
	if (!parse_peer(st, body, PEER_UPDATE, &p, err))
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

/* ---- port forwards ----------------------------------------------------- */

struct cg_forward_def *state_forward(const struct cg_state *st, const char *id)
{
	size_t i;

	for (i = 0; i < st->n_forwards; i++)
		if (!strcmp(st->forwards[i].id, id))
			return &st->forwards[i];
	return NULL;
}

static const char *const snat_names[] = {
	[CG_SNAT_AUTO] = "auto",
	[CG_SNAT_ALWAYS] = "always",
	[CG_SNAT_NEVER] = "never",
};

static bool parse_snat(const char *s, enum cg_snat_mode *mode)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(snat_names); i++)
		if (!strcmp(s, snat_names[i])) {
			*mode = (enum cg_snat_mode)i;
			return true;
		}
	return false;
}

/* A host of net: inside it, and not its network or broadcast address
 * (which /31 and /32 do not have). */
static bool host_of(const struct cg_cidr *net, struct in_addr ip)
{
	uint32_t mask = prefix_mask(net->prefix);

	if (!cidr_contains(net->addr, net->prefix, ip))
		return false;
	return net->prefix >= 31 ||
	       ((ip.s_addr & ~mask) != 0 && (ip.s_addr | mask) != 0xffffffffu);
}

/* Reached over wg0: the only targets whose sources the dataplane can
 * rewrite (policy_forward_snat decides "auto" the same way). */
static bool over_wireguard(const struct cg_config *cfg, struct in_addr ip)
{
	return cidr_contains(cfg->wireguard.subnet.addr,
			     cfg->wireguard.subnet.prefix, ip);
}

static bool target_reachable(const struct cg_config *cfg, struct in_addr ip)
{
	unsigned int i;

	if (host_of(&cfg->wireguard.subnet, ip))
		return ip.s_addr != cfg->wireguard.address.s_addr;
	if (cfg->bridge.has_subnet && host_of(&cfg->bridge.subnet, ip))
		return true;
	for (i = 0; i < cfg->n_local_networks; i++)
		if (host_of(&cfg->local_networks[i], ip))
			return true;
	return false;
}

bool state_forward_reachable(const struct cg_config *cfg,
			     const struct cg_forward_def *fwd)
{
	return target_reachable(cfg, fwd->target_ip);
}

static bool parse_allow_from(json_object *arr, struct cg_forward_def *f,
			     struct cg_error *err)
{
	size_t i, j, n = json_object_array_length(arr);
	char field[32];

	if (n > CG_MAX_ALLOW_FROM) {
		cg_error_set(err, 400, "allow_from",
			     "'allow_from' has at most %d networks",
			     CG_MAX_ALLOW_FROM);
		return false;
	}
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		struct cg_cidr *c = &f->allow_from[i];

		snprintf(field, sizeof(field), "allow_from[%zu]", i);
		/* Host bits must be zero: an LPM key with them set would not
		 * mean what it says. */
		if (!json_object_is_type(v, json_type_string) ||
		    !parse_cidr(json_object_get_string(v), &c->addr, &c->prefix,
				false)) {
			cg_error_set(err, 400, field,
				     "'%s' must be a network like "
				     "198.51.100.0/24 (host bits zero)",
				     field);
			return false;
		}
		for (j = 0; j < i; j++)
			if (f->allow_from[j].addr.s_addr == c->addr.s_addr &&
			    f->allow_from[j].prefix == c->prefix) {
				cg_error_set(err, 400, field,
					     "'%s' repeats allow_from[%zu]",
					     field, j);
				return false;
			}
	}
	f->n_allow_from = (unsigned int)n;
	return true;
}

static bool parse_target(const struct cg_config *cfg, const char *ip,
			 bool check_networks, struct cg_forward_def *f,
			 struct cg_error *err)
{
	if (!parse_ipv4(ip, &f->target_ip) || !valid_unicast(f->target_ip)) {
		cg_error_set(err, 400, "target_ip",
			     "'target_ip' must be a unicast IPv4 address");
		return false;
	}
	if (!check_networks || target_reachable(cfg, f->target_ip))
		return true;
	if (f->target_ip.s_addr == cfg->wireguard.address.s_addr)
		cg_error_set(err, 400, "target_ip",
			     "'target_ip' is the router's own WireGuard "
			     "address");
	else
		cg_error_set(err, 400, "target_ip",
			     "'target_ip' must be a host of a network the cell "
			     "reaches: the WireGuard subnet, the bridge subnet "
			     "or local_networks");
	return false;
}

static bool parse_forward_snat(const struct cg_config *cfg, const char *snat,
			       struct cg_forward_def *f, struct cg_error *err)
{
	if (!parse_snat(snat, &f->snat)) {
		cg_error_set(err, 400, "snat",
			     "'snat' must be auto, always or never");
		return false;
	}
	if (f->snat == CG_SNAT_ALWAYS && !over_wireguard(cfg, f->target_ip)) {
		cg_error_set(err, 400, "snat",
			     "'snat' always needs a target over WireGuard: "
			     "the dataplane rewrites sources only on wg0, "
			     "and this target is not in the WireGuard subnet");
		return false;
	}
	return true;
}

/* How a forward body is read: from the API, or from the state file
 * (with its slot). */
enum fwd_mode { FWD_ADD, FWD_LOAD };

static bool parse_forward(const struct cg_state *st, json_object *body,
			  enum fwd_mode mode, struct cg_forward_def *f,
			  struct cg_error *err)
{
	static const char *const fields[] = {
		"id",	     "proto",	    "public_port",
		"target_ip", "target_port", "allow_from",
		"snat",	     "slot",	    NULL,
	};
	char id[CG_NAME_MAX + 2] = "", proto[16] = "", ip[32] = "";
	char snat[16] = "auto";
	uint64_t public_port, target_port, slot = 0;
	json_object *allow;

	if (!jx_only_fields(body, fields, "", err))
		return false;
	/* "slot" is accepted only from the state file. */
	if (mode != FWD_LOAD && json_object_object_get_ex(body, "slot", NULL)) {
		cg_error_set(err, 400, "slot", "unknown field 'slot'");
		return false;
	}
	if (!jx_string(body, "id", true, "", id, sizeof(id), err))
		return false;
	if (!valid_name(id)) {
		cg_error_set(err, 400, "id",
			     "'id' must match [A-Za-z0-9_.-]{1,64}");
		return false;
	}
	str_copy(f->id, sizeof(f->id), id);
	if (!jx_string(body, "proto", true, "", proto, sizeof(proto), err) ||
	    !jx_uint(body, "public_port", true, "", 1, 65535, &public_port,
		     err) ||
	    !jx_string(body, "target_ip", true, "", ip, sizeof(ip), err) ||
	    !jx_uint(body, "target_port", true, "", 1, 65535, &target_port,
		     err) ||
	    !jx_member(body, "allow_from", json_type_array, false, "", &allow,
		       err) ||
	    !jx_string(body, "snat", false, "", snat, sizeof(snat), err) ||
	    (mode == FWD_LOAD && !jx_uint(body, "slot", true, "", 0,
					  CG_MAX_FORWARDS - 1, &slot, err)))
		return false;
	if (!parse_proto(proto, &f->proto) ||
	    (f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP)) {
		cg_error_set(err, 400, "proto", "'proto' must be tcp or udp");
		return false;
	}
	f->public_port = (uint16_t)public_port;
	f->target_port = (uint16_t)target_port;
	f->slot = (uint32_t)slot;
	/* The networks are the config's and the bridge's address, read
	 * after the state at start: a forward saved under others stays. */
	return parse_target(st->cfg, ip, mode != FWD_LOAD, f, err) &&
	       (!allow || parse_allow_from(allow, f, err)) &&
	       parse_forward_snat(st->cfg, snat, f, err);
}

/* Ids and public ports are unique; WireGuard's port is not ours to give. */
static bool forward_conflicts(const struct cg_state *st,
			      const struct cg_forward_def *f,
			      struct cg_error *err)
{
	size_t i;

	if (state_forward(st, f->id)) {
		cg_error_set(err, 409, "id", "forward '%s' exists", f->id);
		return true;
	}
	for (i = 0; i < st->n_forwards; i++) {
		const struct cg_forward_def *o = &st->forwards[i];

		if (o->proto == f->proto && o->public_port == f->public_port) {
			cg_error_set(err, 409, "public_port",
				     "%s port %u is forwarded by '%s'",
				     proto_name(f->proto), f->public_port,
				     o->id);
			return true;
		}
	}
	if (f->proto == IPPROTO_UDP &&
	    f->public_port == st->cfg->wireguard.listen_port) {
		cg_error_set(err, 409, "public_port",
			     "udp port %u is WireGuard's "
			     "(wireguard.listen_port)",
			     f->public_port);
		return true;
	}
	return false;
}

const char *state_forward_hides(const struct cg_config *cfg,
				const struct cg_forward_def *f)
{
	bool metrics_any = cfg->metrics.enabled &&
			   cfg->metrics.listen_addr.s_addr == htonl(INADDR_ANY);

	if (f->proto != IPPROTO_TCP || !f->public_port)
		return NULL;
	if (f->public_port == cfg->sync.pairing_port)
		return "the pairing listener's (sync.pairing_port)";
	if (cfg->api.listen_addr.s_addr == htonl(INADDR_ANY) &&
	    f->public_port == cfg->api.listen_port)
		return "the API's (api.listen)";
	if (metrics_any && f->public_port == cfg->metrics.listen_port)
		return "the metrics listener's (metrics.listen)";
	return NULL;
}

/* A new forward may not take a port one of our listeners serves on the
 * uplink: the XDP program would send its connections elsewhere. */
static bool forward_hides_listener(const struct cg_state *st,
				   const struct cg_forward_def *f,
				   struct cg_error *err)
{
	const char *what = state_forward_hides(st->cfg, f);

	if (!what)
		return false;
	cg_error_set(err, 409, "public_port", "tcp port %u is %s",
		     f->public_port, what);
	return true;
}

/* The allow_from lists of all forwards share one map (cg_fwd_allow). */
static bool allow_fits(const struct cg_state *st,
		       const struct cg_forward_def *f, struct cg_error *err)
{
	size_t i, n = f->n_allow_from;

	for (i = 0; i < st->n_forwards; i++)
		n += st->forwards[i].n_allow_from;
	if (n <= CG_MAX_ALLOW_ENTRIES)
		return true;
	cg_error_set(err, 409, "allow_from",
		     "the forwards would have %zu allow_from networks; the "
		     "cell holds %d",
		     n, CG_MAX_ALLOW_ENTRIES);
	return false;
}

/* The lowest slot no forward has: slots index cg_fwd_counters and own
 * NAT entries, so they are kept for a forward's lifetime. */
static bool free_forward_slot(const struct cg_state *st, uint32_t *slot)
{
	uint64_t used[CG_MAX_FORWARDS / 64] = { 0 };
	uint32_t i;
	size_t f;

	for (f = 0; f < st->n_forwards; f++)
		bit_set(used, st->forwards[f].slot);
	for (i = 0; i < CG_MAX_FORWARDS; i++)
		if (!bit_test(used, i)) {
			*slot = i;
			return true;
		}
	return false;
}

static int append_forward(struct cg_state *st, const struct cg_forward_def *f,
			  struct cg_error *err)
{
	if (reserve((void **)&st->forwards, &st->cap_forwards, st->n_forwards,
		    sizeof(*f))) {
		cg_error_set(err, 500, "", "out of memory");
		return -ENOMEM;
	}
	st->forwards[st->n_forwards++] = *f;
	return 0;
}

int state_add_forward(struct cg_state *st, json_object *body,
		      struct cg_forward_def *added, struct cg_error *err)
{
	struct cg_forward_def f = { 0 };
	int ret;

	if (!parse_forward(st, body, FWD_ADD, &f, err))
		return -EINVAL;
	if (forward_conflicts(st, &f, err) ||
	    forward_hides_listener(st, &f, err))
		return -EEXIST;
	if (!allow_fits(st, &f, err))
		return -ENOSPC;
	if (!free_forward_slot(st, &f.slot)) {
		cg_error_set(err, 409, "id", "all %d forward slots are in use",
			     CG_MAX_FORWARDS);
		return -ENOSPC;
	}
	ret = append_forward(st, &f, err);
	if (!ret && added)
		*added = f;
	return ret;
}

int state_delete_forward(struct cg_state *st, const char *id,
			 struct cg_forward_def *removed, struct cg_error *err)
{
	struct cg_forward_def *f = state_forward(st, id);
	size_t i;

	if (!f) {
		cg_error_set(err, 404, "id", "no forward '%s'", id);
		return -ENOENT;
	}
	if (removed)
		*removed = *f;
	/* Keep the others in the order they were added (the API lists them
	 * that way). */
	i = (size_t)(f - st->forwards);
	memmove(f, f + 1, (st->n_forwards - i - 1) * sizeof(*f));
	st->n_forwards--;
	return 0;
}

json_object *forward_to_json(const struct cg_forward_def *fwd, bool with_slot)
{
	json_object *o = json_object_new_object();
	json_object *allow = json_object_new_array();
	char ip[16], cidr[24];
	unsigned int i;

	json_object_object_add(o, "id", json_object_new_string(fwd->id));
	if (with_slot)
		json_object_object_add(o, "slot",
				       json_object_new_int64(fwd->slot));
	json_object_object_add(o, "proto",
			       json_object_new_string(proto_name(fwd->proto)));
	json_object_object_add(o, "public_port",
			       json_object_new_int(fwd->public_port));
	json_object_object_add(
		o, "target_ip",
		json_object_new_string(ipv4_str(fwd->target_ip, ip)));
	json_object_object_add(o, "target_port",
			       json_object_new_int(fwd->target_port));
	for (i = 0; i < fwd->n_allow_from; i++) {
		snprintf(cidr, sizeof(cidr), "%s/%u",
			 ipv4_str(fwd->allow_from[i].addr, ip),
			 fwd->allow_from[i].prefix);
		json_object_array_add(allow, json_object_new_string(cidr));
	}
	json_object_object_add(o, "allow_from", allow);
	json_object_object_add(o, "snat",
			       json_object_new_string(snat_names[fwd->snat]));
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

/* Orders of peers, to find duplicates among all loaded peers at once:
 * comparing each peer with every other is 50 M comparisons at 10k peers,
 * seconds of start-up; sorting is n log n. */
static int by_peer_name(const void *a, const void *b)
{
	return strcmp((*(const struct cg_peer_def *const *)a)->name,
		      (*(const struct cg_peer_def *const *)b)->name);
}

static int by_peer_key(const void *a, const void *b)
{
	return memcmp((*(const struct cg_peer_def *const *)a)->public_key,
		      (*(const struct cg_peer_def *const *)b)->public_key,
		      sizeof(wg_key));
}

static int by_peer_ip(const void *a, const void *b)
{
	uint32_t x = ntohl((*(const struct cg_peer_def *const *)a)->ip.s_addr);
	uint32_t y = ntohl((*(const struct cg_peer_def *const *)b)->ip.s_addr);

	return (x > y) - (x < y);
}

static int by_peer_id(const void *a, const void *b)
{
	uint32_t x = (*(const struct cg_peer_def *const *)a)->id;
	uint32_t y = (*(const struct cg_peer_def *const *)b)->id;

	return (x > y) - (x < y);
}

/* No two peers share a name, key, address or identity id. */
static bool peers_unique(const struct cg_state *st, struct cg_error *err)
{
	static const struct {
		int (*cmp)(const void *, const void *);
		const char *field;
	} orders[] = {
		{ by_peer_name, "name" },
		{ by_peer_key, "public_key" },
		{ by_peer_ip, "ip" },
		{ by_peer_id, "id" },
	};
	const struct cg_peer_def **v;
	size_t i, k;
	bool ok = true;

	if (st->n_peers < 2)
		return true;
	v = malloc(st->n_peers * sizeof(*v));
	if (!v) {
		cg_error_set(err, 500, "", "out of memory");
		return false;
	}
	for (i = 0; i < st->n_peers; i++)
		v[i] = &st->peers[i];
	for (k = 0; ok && k < ARRAY_SIZE(orders); k++) {
		qsort(v, st->n_peers, sizeof(*v), orders[k].cmp);
		for (i = 1; ok && i < st->n_peers; i++)
			if (!orders[k].cmp(&v[i - 1], &v[i])) {
				cg_error_set(err, 400, orders[k].field,
					     "peers '%s' and '%s' share a %s",
					     v[i - 1]->name, v[i]->name,
					     orders[k].field);
				ok = false;
			}
	}
	free(v);
	return ok;
}

static bool load_peers(struct cg_state *st, json_object *arr,
		       struct cg_error *err)
{
	size_t i, n = json_object_array_length(arr);
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
		/* Cells are loaded after peers: here only the fields. */
		if (!parse_peer(st, o, PEER_LOAD, &p, err))
			return false;
		if (p.id > st->cfg->limits.max_peers) {
			cg_error_set(err, 400, "id",
				     "peer '%s' has id %u above "
				     "limits.max_peers",
				     name, p.id);
			return false;
		}
		if (reserve((void **)&st->peers, &st->cap_peers, st->n_peers,
			    sizeof(p))) {
			cg_error_set(err, 500, "", "out of memory");
			return false;
		}
		st->peers[st->n_peers++] = p;
	}
	return peers_unique(st, err);
}

static bool load_forward(struct cg_state *st, json_object *o,
			 struct cg_error *err)
{
	struct cg_forward_def f = { 0 };
	size_t j;

	if (!json_object_is_type(o, json_type_object)) {
		cg_error_set(err, 400, "forwards",
			     "a forward is not an object");
		return false;
	}
	if (!parse_forward(st, o, FWD_LOAD, &f, err) ||
	    forward_conflicts(st, &f, err) || !allow_fits(st, &f, err))
		return false;
	for (j = 0; j < st->n_forwards; j++)
		if (st->forwards[j].slot == f.slot) {
			cg_error_set(err, 400, "slot",
				     "forwards '%s' and '%s' share slot %u",
				     st->forwards[j].id, f.id, f.slot);
			return false;
		}
	return append_forward(st, &f, err) == 0;
}

/* Forwards came with issue 4: an older file has none. */
static bool load_forwards(struct cg_state *st, json_object *arr,
			  struct cg_error *err)
{
	size_t i, n = arr ? json_object_array_length(arr) : 0;
	char msg[sizeof(err->msg) + 32];

	for (i = 0; i < n; i++)
		if (!load_forward(st, json_object_array_get_idx(arr, i), err)) {
			/* The field is the forward's own: say which one. */
			snprintf(msg, sizeof(msg), "forwards[%zu]: %s", i,
				 err->msg);
			str_copy(err->msg, sizeof(err->msg), msg);
			return false;
		}
	return true;
}

/* ---- cells -------------------------------------------------------------- */

struct cg_cell_def *state_cell(const struct cg_state *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->n_cells; i++)
		if (!strcmp(st->cells[i].info.cell_name, name))
			return &st->cells[i];
	return NULL;
}

struct cg_cell_def *state_cell_by_key(const struct cg_state *st,
				      const wg_key key)
{
	size_t i;

	for (i = 0; i < st->n_cells; i++)
		if (key_equal(st->cells[i].info.public_key, key))
			return &st->cells[i];
	return NULL;
}

struct cg_cell_def *state_cell_by_address(const struct cg_state *st,
					  struct in_addr wg_address)
{
	size_t i;

	for (i = 0; i < st->n_cells; i++)
		if (st->cells[i].info.wg_address.s_addr == wg_address.s_addr)
			return &st->cells[i];
	return NULL;
}

/* A new or changed link must not collide with our own networks and
 * domain, or another cell's (self: the cell being updated). Overlapping
 * subnets made PIC's routing black hole. */
static bool cell_conflicts(const struct cg_state *st,
			   const struct cg_cell_info *in,
			   const struct cg_cell_def *self, struct cg_error *err)
{
	const struct cg_config *cfg = st->cfg;
	char net[24], ip[16];
	size_t i;

	if (cidrs_overlap(in->vpn_subnet.addr, in->vpn_subnet.prefix,
			  cfg->wireguard.subnet.addr,
			  cfg->wireguard.subnet.prefix) ||
	    (cfg->bridge.has_subnet &&
	     cidrs_overlap(in->vpn_subnet.addr, in->vpn_subnet.prefix,
			   cfg->bridge.subnet.addr,
			   cfg->bridge.subnet.prefix))) {
		cg_error_set(err, 409, "vpn_subnet",
			     "vpn_subnet overlaps this cell's own networks");
		return true;
	}
	for (i = 0; i < cfg->n_local_networks; i++)
		if (cidrs_overlap(in->vpn_subnet.addr, in->vpn_subnet.prefix,
				  cfg->local_networks[i].addr,
				  cfg->local_networks[i].prefix)) {
			cg_error_set(err, 409, "vpn_subnet",
				     "vpn_subnet overlaps local_networks[%zu]",
				     i);
			return true;
		}
	if (!strcasecmp(in->domain, cfg->domain)) {
		cg_error_set(err, 409, "domain", "domain '%s' is this cell's",
			     in->domain);
		return true;
	}
	/* One key, one WireGuard peer: never a peer's and a cell's. */
	for (i = 0; i < st->n_peers; i++)
		if (key_equal(st->peers[i].public_key, in->public_key)) {
			cg_error_set(err, 409, "public_key",
				     "public_key is peer '%s''s",
				     st->peers[i].name);
			return true;
		}
	for (i = 0; i < st->n_cells; i++) {
		const struct cg_cell_def *o = &st->cells[i];

		if (o == self)
			continue;
		snprintf(net, sizeof(net), "%s/%u",
			 ipv4_str(o->info.vpn_subnet.addr, ip),
			 o->info.vpn_subnet.prefix);
		if (cidrs_overlap(in->vpn_subnet.addr, in->vpn_subnet.prefix,
				  o->info.vpn_subnet.addr,
				  o->info.vpn_subnet.prefix)) {
			cg_error_set(err, 409, "vpn_subnet",
				     "vpn_subnet overlaps %s of cell '%s'", net,
				     o->info.cell_name);
			return true;
		}
		if (!strcasecmp(in->domain, o->info.domain)) {
			cg_error_set(err, 409, "domain",
				     "domain '%s' is cell '%s''s", in->domain,
				     o->info.cell_name);
			return true;
		}
		if (!strcmp(in->cell_name, o->info.cell_name)) {
			cg_error_set(err, 409, "cell_name",
				     "a cell named '%s' is linked already",
				     in->cell_name);
			return true;
		}
	}
	return false;
}

int state_link_cell(struct cg_state *st, const struct cg_cell_info *info,
		    const uint8_t link_key[LINK_KEY_LEN],
		    struct cg_cell_def *linked, struct cg_error *err)
{
	struct cg_cell_def *cur = state_cell_by_key(st, info->public_key);
	struct cg_cell_def c = { 0 };

	if (cell_conflicts(st, info, cur, err))
		return -EEXIST;
	if (cur) {
		/* The same cell again: new endpoint, subnet, dns, domain. */
		cur->info = *info;
		memcpy(cur->link_key, link_key, LINK_KEY_LEN);
		if (linked)
			*linked = *cur;
		return 0;
	}
	if (st->n_cells >= CG_MAX_CELLS) {
		cg_error_set(err, 409, "cell_name", "%d cells are linked",
			     CG_MAX_CELLS);
		return -ENOSPC;
	}
	if (!free_peer_id(st, &c.id)) {
		cg_error_set(err, 409, "cell_name",
			     "no identity id is free (limits.max_peers)");
		return -ENOSPC;
	}
	c.info = *info;
	memcpy(c.link_key, link_key, LINK_KEY_LEN);
	c.linked_at = (int64_t)time(NULL);
	if (reserve((void **)&st->cells, &st->cap_cells, st->n_cells,
		    sizeof(c))) {
		cg_error_set(err, 500, "", "out of memory");
		return -ENOMEM;
	}
	st->cells[st->n_cells++] = c;
	if (linked)
		*linked = c;
	return 0;
}

int state_unlink_cell(struct cg_state *st, const char *name,
		      struct cg_cell_def *removed, struct cg_error *err)
{
	struct cg_cell_def *c = state_cell(st, name);

	if (!c) {
		cg_error_set(err, 404, "name", "no cell '%s'", name);
		return -ENOENT;
	}
	if (removed)
		*removed = *c;
	*c = st->cells[--st->n_cells];
	return 0;
}

int state_set_cell_inbound(struct cg_state *st, const char *name,
			   json_object *body, struct cg_cell_def *updated,
			   struct cg_error *err)
{
	static const char *const fields[] = { "inbound", "outbound", NULL };
	struct cg_cell_def *c = state_cell(st, name);
	uint64_t bits[CG_SERVICE_WORDS] = { 0 };
	json_object *in;
	char path[96];

	if (!c) {
		cg_error_set(err, 404, "name", "no cell '%s'", name);
		return -ENOENT;
	}
	if (!jx_only_fields(body, fields, "", err) ||
	    !jx_member(body, "inbound", json_type_object, true, "", &in, err))
		return -EINVAL;
	if (json_object_object_get_ex(body, "outbound", NULL)) {
		cg_error_set(err, 400, "outbound",
			     "'outbound' is what the remote cell shares: it "
			     "says so itself");
		return -EINVAL;
	}
	json_object_object_foreach(in, svc_name, val) {
		const struct cg_service_def *svc = state_service(st, svc_name);

		jx_path(path, sizeof(path), "inbound", svc_name);
		if (!svc) {
			cg_error_set(err, 400, path, "unknown service '%s'",
				     svc_name);
			return -EINVAL;
		}
		if (!json_object_is_type(val, json_type_boolean)) {
			cg_error_set(err, 400, path,
				     "'%s' must be true or false", path);
			return -EINVAL;
		}
		if (json_object_get_boolean(val))
			bit_set(bits, svc->id);
	}
	memcpy(c->inbound, bits, sizeof(bits));
	if (updated)
		*updated = *c;
	return 0;
}

/* ---- invites --------------------------------------------------------------- */

int state_add_invite(struct cg_state *st, const struct cg_invite *inv,
		     struct cg_error *err)
{
	if (st->n_invites >= CG_MAX_INVITES) {
		cg_error_set(err, 409, "", "%d invites are pending already",
			     CG_MAX_INVITES);
		return -ENOSPC;
	}
	if (reserve((void **)&st->invites, &st->cap_invites, st->n_invites,
		    sizeof(*inv))) {
		cg_error_set(err, 500, "", "out of memory");
		return -ENOMEM;
	}
	st->invites[st->n_invites++] = *inv;
	return 0;
}

void state_drop_invite(struct cg_state *st, size_t i)
{
	st->invites[i] = st->invites[--st->n_invites];
	explicit_bzero(&st->invites[st->n_invites], sizeof(*st->invites));
}

size_t state_expire_invites(struct cg_state *st, int64_t now)
{
	size_t i = 0, n = 0;

	while (i < st->n_invites) {
		if (st->invites[i].expires_at <= now) {
			state_drop_invite(st, i);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

int state_find_invite(const struct cg_state *st, const char *id)
{
	char got[INVITE_ID_LEN + 1];
	size_t i;

	for (i = 0; i < st->n_invites; i++)
		if (!invite_id(got, st->invites[i].secret) && !strcmp(got, id))
			return (int)i;
	return -1;
}

static json_object *invite_to_json(const struct cg_invite *inv)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "secret",
			       json_object_new_string(inv->secret));
	json_object_object_add(o, "created_at",
			       json_object_new_int64(inv->created_at));
	json_object_object_add(o, "expires_at",
			       json_object_new_int64(inv->expires_at));
	return o;
}

static bool load_invites(struct cg_state *st, json_object *arr,
			 struct cg_error *err)
{
	static const char *const fields[] = { "secret", "created_at",
					      "expires_at", NULL };
	size_t i, n = arr ? json_object_array_length(arr) : 0;
	uint8_t raw[PAIRING_SECRET_LEN];

	for (i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		struct cg_invite inv = { 0 };
		uint64_t created = 0, expires = 0;

		if (!json_object_is_type(o, json_type_object) ||
		    !jx_only_fields(o, fields, "invites", err) ||
		    !jx_string(o, "secret", true, "invites", inv.secret,
			       sizeof(inv.secret), err) ||
		    !jx_uint(o, "created_at", true, "invites", 0, INT64_MAX,
			     &created, err) ||
		    !jx_uint(o, "expires_at", true, "invites", 0, INT64_MAX,
			     &expires, err) ||
		    !pairing_secret_decode(raw, inv.secret)) {
			if (!err->msg[0])
				cg_error_set(err, 400, "invites",
					     "invites[%zu] is not an invite",
					     i);
			return false;
		}
		inv.created_at = (int64_t)created;
		inv.expires_at = (int64_t)expires;
		if (state_add_invite(st, &inv, err))
			return false;
	}
	explicit_bzero(raw, sizeof(raw));
	return true;
}

static bool load_cells(struct cg_state *st, json_object *arr,
		       struct cg_error *err)
{
	size_t i, j, n = arr ? json_object_array_length(arr) : 0;

	for (i = 0; i < n; i++) {
		struct cg_cell_def c;

		if (!cell_from_state(json_object_array_get_idx(arr, i), &c,
				     st->services, st->n_services, err))
			return false;
		if (c.id > st->cfg->limits.max_peers) {
			cg_error_set(err, 400, "cells",
				     "cell '%s' has id %u above "
				     "limits.max_peers",
				     c.info.cell_name, c.id);
			return false;
		}
		for (j = 0; j < st->n_peers; j++)
			if (st->peers[j].id == c.id) {
				cg_error_set(err, 400, "cells",
					     "cell '%s' has peer '%s''s id",
					     c.info.cell_name,
					     st->peers[j].name);
				return false;
			}
		for (j = 0; j < st->n_cells; j++)
			if (st->cells[j].id == c.id) {
				cg_error_set(err, 400, "cells",
					     "cells '%s' and '%s' share id %u",
					     st->cells[j].info.cell_name,
					     c.info.cell_name, c.id);
				return false;
			}
		if (state_cell_by_key(st, c.info.public_key) ||
		    cell_conflicts(st, &c.info, NULL, err)) {
			if (!err->msg[0])
				cg_error_set(err, 400, "cells",
					     "cell '%s' repeats another",
					     c.info.cell_name);
			err->status = 400;
			return false;
		}
		if (reserve((void **)&st->cells, &st->cap_cells, st->n_cells,
			    sizeof(c))) {
			cg_error_set(err, 500, "", "out of memory");
			return false;
		}
		st->cells[st->n_cells++] = c;
	}
	return true;
}

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

static bool load_root(struct cg_state *st, json_object *root,
		      struct cg_error *err)
{
	static const char *const fields[] = { "version",  "services", "peers",
					      "forwards", "cells",    "invites",
					      NULL };
	json_object *services, *peers, *forwards, *cells, *invites;
	uint64_t version;

	if (!jx_only_fields(root, fields, "", err) ||
	    !jx_uint(root, "version", true, "", 1, 1000, &version, err) ||
	    !root_list(root, "services", true, &services, err) ||
	    !root_list(root, "peers", true, &peers, err) ||
	    !root_list(root, "forwards", false, &forwards, err) ||
	    !root_list(root, "cells", false, &cells, err) ||
	    !root_list(root, "invites", false, &invites, err))
		return false;
	if (version != CG_STATE_VERSION) {
		cg_error_set(err, 400, "version",
			     "state version %llu is not supported (%d is)",
			     (unsigned long long)version, CG_STATE_VERSION);
		return false;
	}
	return load_services(st, services, err) && load_peers(st, peers, err) &&
	       load_forwards(st, forwards, err) && load_cells(st, cells, err) &&
	       load_invites(st, invites, err);
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
	json_object *forwards = json_object_new_array();
	json_object *cells = json_object_new_array();
	json_object *invites = json_object_new_array();
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
