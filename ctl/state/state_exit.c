// SPDX-License-Identifier: MIT
/*
 * Exits (issue 20): where a peer's internet-bound traffic leaves instead
 * of the cell's uplink.
 *   {"name","kind":"interface","interface":"tun0","gateway":"10.8.0.1",
 *    "address":"10.8.0.6/24","masquerade":true}
 *   {"name","kind":"wireguard","endpoint":"203.0.113.7:51820",
 *    "public_key":"...","address":"10.64.0.2/32","private_key":"..."}
 * Parsed, checked and rendered here; the daemon checks the interface,
 * creates the WireGuard one and writes cg_exits. Kinds cell and tor are
 * refused (400 at "kind") until they are built.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "state_internal.h"

static const char *const kind_names[] = {
	[CG_EXIT_INTERFACE] = "interface",
	[CG_EXIT_WIREGUARD] = "wireguard",
	[CG_EXIT_CELL] = "cell",
	[CG_EXIT_TOR] = "tor",
};

const char *state_exit_kind(uint8_t kind)
{
	return kind < ARRAY_SIZE(kind_names) && kind_names[kind] ?
		       kind_names[kind] :
		       "none";
}

void exit_wg_ifname(const char *name, uint32_t id,
		    char out[CG_EXIT_IFNAME_MAX + 1])
{
	if (strlen(name) <= CG_EXIT_IFNAME_MAX - 4 && strcmp(name, ".") &&
	    strcmp(name, ".."))
		snprintf(out, CG_EXIT_IFNAME_MAX + 1, "cgx-%s", name);
	else
		snprintf(out, CG_EXIT_IFNAME_MAX + 1, "cgx%u", id);
}

static bool parse_kind(const char *s, struct cg_exit_def *e,
		       struct cg_error *err)
{
	uint8_t k;

	for (k = 1; k < ARRAY_SIZE(kind_names); k++)
		if (!strcmp(s, kind_names[k]))
			break;
	if (k == CG_EXIT_CELL || k == CG_EXIT_TOR) {
		cg_error_set(err, 400, "kind",
			     "kind '%s' is not supported yet (interface, "
			     "wireguard)",
			     s);
		return false;
	}
	if (k >= ARRAY_SIZE(kind_names)) {
		cg_error_set(err, 400, "kind",
			     "'kind' must be \"interface\" or \"wireguard\"");
		return false;
	}
	e->kind = k;
	return true;
}

/* A Linux interface name: 1..15 characters, no '/', ':' or space. */
static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	return n && n <= CG_EXIT_IFNAME_MAX && !strpbrk(s, "/: \t\n") &&
	       strcmp(s, ".") && strcmp(s, "..");
}

static bool bad(struct cg_error *err, const char *field, const char *what)
{
	cg_error_set(err, 400, field, "'%s' must be %s", field, what);
	return false;
}

/* The optional address fields both kinds take. */
static bool parse_addresses(json_object *body, struct cg_exit_def *e,
			    struct cg_error *err)
{
	char a[64] = "", a6[80] = "";

	if (!jx_string(body, "address", false, "", a, sizeof(a), err) ||
	    !jx_string(body, "address6", false, "", a6, sizeof(a6), err))
		return false;
	e->has_address = json_object_object_get_ex(body, "address", NULL);
	if (e->has_address &&
	    (!parse_cidr(a, &e->address.addr, &e->address.prefix, true) ||
	     !state_valid_unicast(e->address.addr)))
		return bad(err, "address", "an IPv4 address with its prefix");
	e->has_address6 = json_object_object_get_ex(body, "address6", NULL);
	if (e->has_address6 &&
	    (!parse_cidr6(a6, &e->address6.addr, &e->address6.prefix, true) ||
	     ipv6_special(&e->address6.addr)))
		return bad(err, "address6", "an IPv6 address with its prefix");
	return true;
}

static bool parse_interface_kind(json_object *body, struct cg_exit_def *e,
				 struct cg_error *err)
{
	char gw[32] = "";

	if (!jx_string(body, "interface", true, "", e->interface,
		       sizeof(e->interface), err))
		return false;
	if (!valid_ifname(e->interface))
		return bad(err, "interface", "an interface name");
	if (!strncmp(e->interface, "cgx", 3))
		return bad(err, "interface",
			   "another interface than a wireguard exit's");
	if (!jx_string(body, "gateway", false, "", gw, sizeof(gw), err))
		return false;
	e->has_gateway = json_object_object_get_ex(body, "gateway", NULL);
	if (e->has_gateway &&
	    (!parse_ipv4(gw, &e->gateway) || !state_valid_unicast(e->gateway)))
		return bad(err, "gateway", "an IPv4 address");
	e->masquerade = true;
	return jx_bool(body, "masquerade", false, "", &e->masquerade, err);
}

/* "a.b.c.d:port" (the device model's endpoints are IPv4). */
static bool parse_endpoint(const char *s, struct cg_exit_def *e)
{
	char host[32];

	return parse_host_port(s, host, sizeof(host), &e->endpoint_port) &&
	       parse_ipv4(host, &e->endpoint_ip) &&
	       state_valid_unicast(e->endpoint_ip);
}

static bool parse_key(json_object *body, const char *field, wg_key key,
		      struct cg_error *err)
{
	char b64[WG_KEY_B64_LEN + 2] = "";

	if (!jx_string(body, field, false, "", b64, sizeof(b64), err))
		return false;
	if (!key_from_base64(key, b64) || key_is_zero(key))
		return bad(err, field, "the base64 of a 32-byte key");
	return true;
}

static bool parse_wireguard_kind(json_object *body, struct cg_exit_def *e,
				 struct cg_error *err)
{
	char ep[64] = "";
	bool masq = true;

	if (json_object_object_get_ex(body, "interface", NULL) ||
	    json_object_object_get_ex(body, "gateway", NULL)) {
		cg_error_set(
			err, 400,
			json_object_object_get_ex(body, "interface", NULL) ?
				"interface" :
				"gateway",
			"a wireguard exit's interface is its own");
		return false;
	}
	if (!jx_string(body, "endpoint", true, "", ep, sizeof(ep), err) ||
	    !jx_bool(body, "masquerade", false, "", &masq, err))
		return false;
	if (!json_object_object_get_ex(body, "public_key", NULL)) {
		cg_error_set(err, 400, "public_key",
			     "missing field 'public_key'");
		return false;
	}
	if (!parse_endpoint(ep, e))
		return bad(err, "endpoint", "\"IPv4:port\"");
	if (!parse_key(body, "public_key", e->public_key, err))
		return false;
	if (json_object_object_get_ex(body, "private_key", NULL) &&
	    !parse_key(body, "private_key", e->private_key, err))
		return false;
	if (!masq)
		return bad(err, "masquerade",
			   "true: a wireguard exit's far end knows our "
			   "address alone");
	if (!e->has_address)
		return bad(err, "address", "given: our address on the tunnel");
	e->masquerade = true;
	exit_wg_ifname(e->name, e->id, e->interface);
	return true;
}

/* The body's syntax into e (name and id set by the caller). */
static bool parse_exit(json_object *body, bool record, struct cg_exit_def *e,
		       struct cg_error *err)
{
	static const char *const fields[] = {
		"name",	      "kind",	     "interface",	 "gateway",
		"address",    "address6",    "masquerade",	 "endpoint",
		"public_key", "private_key", "local_public_key", "id",
		NULL
	};
	char kind[32] = "";

	if (!jx_only_fields(body, fields, "", err))
		return false;
	if (!record && json_object_object_get_ex(body, "id", NULL)) {
		cg_error_set(err, 400, "id", "unknown field 'id'");
		return false;
	}
	if (!jx_string(body, "kind", true, "", kind, sizeof(kind), err) ||
	    !parse_kind(kind, e, err) || !parse_addresses(body, e, err))
		return false;
	if (e->kind == CG_EXIT_INTERFACE) {
		if (json_object_object_get_ex(body, "endpoint", NULL) ||
		    json_object_object_get_ex(body, "private_key", NULL)) {
			cg_error_set(err, 400, "kind",
				     "an interface exit takes no endpoint "
				     "or key");
			return false;
		}
		return parse_interface_kind(body, e, err);
	}
	return parse_wireguard_kind(body, e, err);
}

static bool exit_named(const void *e, const void *name)
{
	return !strcmp(((const struct cg_exit_def *)e)->name, name);
}

static bool exit_with_id(const void *e, const void *id)
{
	return ((const struct cg_exit_def *)e)->id == *(const uint32_t *)id;
}

struct cg_exit_def *state_exit(const struct cg_state *st, const char *name)
{
	return state_find(st, ST_EXITS, exit_named, name);
}

struct cg_exit_def *state_exit_by_id(const struct cg_state *st, uint32_t id)
{
	return id ? state_find(st, ST_EXITS, exit_with_id, &id) : NULL;
}

size_t state_exit_users(const struct cg_state *st, uint32_t id)
{
	size_t i, n = 0;

	for (i = 0; i < st->n_peers; i++)
		n += st->peers[i].exit_id == id;
	return n;
}

static bool free_exit_id(const struct cg_state *st, uint32_t *id)
{
	for (*id = 1; *id < CG_MAX_EXITS; (*id)++)
		if (!state_exit_by_id(st, *id))
			return true;
	return false;
}

/* Two exits never share an interface: each owns its link's state. */
static bool interface_taken(const struct cg_state *st,
			    const struct cg_exit_def *e,
			    const struct cg_exit_def *self,
			    struct cg_error *err)
{
	size_t i;

	for (i = 0; i < st->n_exits; i++)
		if (&st->exits[i] != self &&
		    !strcmp(st->exits[i].interface, e->interface)) {
			cg_error_set(err, 409, "interface",
				     "exit '%s' uses interface %s",
				     st->exits[i].name, e->interface);
			return true;
		}
	return false;
}

/* The cell's WireGuard and bridge are where peers and services are,
 * never the way out. */
static bool own_interface(const struct cg_state *st,
			  const struct cg_exit_def *e, struct cg_error *err)
{
	if (!st->cfg || (strcmp(e->interface, st->cfg->wireguard.interface) &&
			 strcmp(e->interface, st->cfg->bridge.interface)))
		return false;
	cg_error_set(err, 400, "interface",
		     "%s is the cell's own (wireguard or bridge)",
		     e->interface);
	return true;
}

int state_put_exit(struct cg_state *st, const char *name, json_object *body,
		   const uint8_t *generated_key, struct cg_exit_def *old,
		   bool *existed, struct cg_exit_def *put, struct cg_error *err)
{
	struct cg_exit_def e = { 0 }, *cur;

	if (!state_check_name(body, name, err))
		return -EINVAL;
	cur = state_exit(st, name);
	str_copy(e.name, sizeof(e.name), name);
	if (cur)
		e.id = cur->id;
	else if (!free_exit_id(st, &e.id)) {
		cg_error_set(err, 409, "name",
			     "the cell has its maximum of %d exits",
			     CG_MAX_EXITS - 1);
		return -ENOSPC;
	}
	if (json_object_object_get_ex(body, "local_public_key", NULL)) {
		cg_error_set(err, 400, "local_public_key",
			     "'local_public_key' is derived from private_key");
		return -EINVAL;
	}
	if (!parse_exit(body, false, &e, err))
		return -EINVAL;
	if (e.kind == CG_EXIT_WIREGUARD &&
	    !json_object_object_get_ex(body, "private_key", NULL)) {
		if (cur && cur->kind == CG_EXIT_WIREGUARD)
			memcpy(e.private_key, cur->private_key, WG_KEY_LEN);
		else if (generated_key)
			memcpy(e.private_key, generated_key, WG_KEY_LEN);
		else {
			bad(err, "private_key", "given");
			return -EINVAL;
		}
	}
	if (own_interface(st, &e, err))
		return -EINVAL;
	if (interface_taken(st, &e, cur, err))
		return -EEXIST;
	*existed = cur != NULL;
	if (cur) {
		*old = *cur;
		state_replace(st, ST_EXITS, cur, &e);
	} else if (!state_add(st, ST_EXITS, &e, err)) {
		return -ENOMEM;
	}
	*put = e;
	explicit_bzero(&e, sizeof(e));
	return 0;
}

int state_delete_exit(struct cg_state *st, const char *name,
		      struct cg_exit_def *removed, struct cg_error *err)
{
	struct cg_exit_def *cur = state_exit(st, name);
	size_t i;

	if (!cur) {
		cg_error_set(err, 404, "name", "no exit '%s'", name);
		return -ENOENT;
	}
	for (i = 0; i < st->n_peers; i++)
		if (st->peers[i].exit_id == cur->id) {
			cg_error_set(err, 409, "name",
				     "exit '%s' is used by peer '%s'", name,
				     st->peers[i].name);
			return -EBUSY;
		}
	return state_delete(st, ST_EXITS, exit_named, name, removed, err);
}

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void add_key(json_object *o, const char *k, const wg_key key)
{
	char b64[WG_KEY_B64_LEN + 1];

	key_to_base64(b64, key);
	add_str(o, k, b64);
	explicit_bzero(b64, sizeof(b64));
}

static void add_wireguard(json_object *o, const struct cg_exit_def *e,
			  bool with_secret)
{
	char ip[16], ep[32];
	wg_key pub;

	snprintf(ep, sizeof(ep), "%s:%u", ipv4_str(e->endpoint_ip, ip),
		 e->endpoint_port);
	add_str(o, "endpoint", ep);
	add_key(o, "public_key", e->public_key);
	if (with_secret)
		add_key(o, "private_key", e->private_key);
	else if (!key_public_from_private(pub, e->private_key))
		add_key(o, "local_public_key", pub);
}

json_object *exit_to_json(const struct cg_exit_def *e, bool with_secret)
{
	json_object *o = json_object_new_object();
	char ip[16], ip6[CG_IP6_STRLEN], buf[CG_IP6_STRLEN + 8];

	add_str(o, "name", e->name);
	if (with_secret)
		json_object_object_add(o, "id", json_object_new_int64(e->id));
	add_str(o, "kind", state_exit_kind(e->kind));
	if (e->kind == CG_EXIT_INTERFACE || !with_secret)
		add_str(o, "interface", e->interface);
	if (e->has_gateway)
		add_str(o, "gateway", ipv4_str(e->gateway, ip));
	if (e->has_address) {
		snprintf(buf, sizeof(buf), "%s/%u",
			 ipv4_str(e->address.addr, ip), e->address.prefix);
		add_str(o, "address", buf);
	}
	if (e->has_address6) {
		snprintf(buf, sizeof(buf), "%s/%u",
			 ipv6_str(&e->address6.addr, ip6), e->address6.prefix);
		add_str(o, "address6", buf);
	}
	json_object_object_add(o, "masquerade",
			       json_object_new_boolean(e->masquerade));
	if (e->kind == CG_EXIT_WIREGUARD)
		add_wireguard(o, e, with_secret);
	return o;
}

bool state_exit_record(json_object *o, struct cg_exit_def *e,
		       struct cg_error *err)
{
	char name[CG_NAME_MAX + 2];
	uint64_t id;

	memset(e, 0, sizeof(*e));
	if (!state_record_name(o, name, err)) {
		if (!err->msg[0])
			cg_error_set(err, 400, "", "bad exit name");
		return false;
	}
	str_copy(e->name, sizeof(e->name), name);
	if (!jx_uint(o, "id", true, "", 1, CG_MAX_EXITS - 1, &id, err))
		return false;
	e->id = (uint32_t)id;
	if (!parse_exit(o, true, e, err))
		return false;
	if (e->kind == CG_EXIT_WIREGUARD &&
	    !json_object_object_get_ex(o, "private_key", NULL))
		return bad(err, "private_key", "in a wireguard exit's record");
	return true;
}

bool state_exit_fits(const struct cg_state *st, const struct cg_exit_def *e,
		     const struct cg_exit_def *self, struct cg_error *err)
{
	const struct cg_exit_def *same_id = state_exit_by_id(st, e->id);
	const struct cg_exit_def *same_name = state_exit(st, e->name);

	if (same_name != self) {
		cg_error_set(err, 400, "name", "exit '%s' twice", e->name);
		return false;
	}
	if (same_id && same_id != self) {
		cg_error_set(err, 400, "id", "exit id %u twice", e->id);
		return false;
	}
	return !interface_taken(st, e, self, err);
}

bool state_load_exits(struct cg_state *st, json_object *arr,
		      struct cg_error *err)
{
	size_t i, n = arr ? json_object_array_length(arr) : 0;
	bool ok = true;

	for (i = 0; ok && i < n; i++) {
		struct cg_exit_def e;

		ok = state_exit_record(json_object_array_get_idx(arr, i), &e,
				       err) &&
		     state_exit_fits(st, &e, NULL, err) &&
		     state_add(st, ST_EXITS, &e, err);
		explicit_bzero(&e, sizeof(e));
	}
	return ok;
}
