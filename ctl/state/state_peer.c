// SPDX-License-Identifier: MIT
/*
 * Peers: the WireGuard clients of the cell, each with a name, a key, an
 * address in the WireGuard subnet, an identity id and the services it
 * may reach.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "state_internal.h"

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

static int cmp_group(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* "groups": names (groups need no declaration: a rule names them),
 * kept sorted and without duplicates, so that a peer's rule class is
 * a function of the set. */
static bool parse_groups(json_object *arr, struct cg_peer_def *p,
			 struct cg_error *err)
{
	size_t i, k, n = json_object_array_length(arr);
	char field[32];

	/* Zeroed whole: peers with the same groups compare equal byte
	 * for byte (rule classes, journal replays). */
	p->n_groups = 0;
	memset(p->groups, 0, sizeof(p->groups));
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		const char *g = json_object_get_string(v);

		snprintf(field, sizeof(field), "groups[%zu]", i);
		if (!json_object_is_type(v, json_type_string) ||
		    strlen(g) != (size_t)json_object_get_string_len(v) ||
		    !valid_name(g)) {
			cg_error_set(err, 400, field,
				     "'%s' must match [A-Za-z0-9_.-]{1,64}",
				     field);
			return false;
		}
		for (k = 0; k < p->n_groups && strcmp(p->groups[k], g); k++)
			;
		if (k < p->n_groups)
			continue;
		if (p->n_groups == CG_MAX_PEER_GROUPS) {
			cg_error_set(err, 400, "groups",
				     "a peer is in at most %d groups",
				     CG_MAX_PEER_GROUPS);
			return false;
		}
		str_copy(p->groups[p->n_groups++], CG_NAME_MAX + 1, g);
	}
	qsort(p->groups, p->n_groups, sizeof(p->groups[0]), cmp_group);
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

/* An IPv6 address a peer may have: a host of wireguard.address6, not
 * its network address, not the router's. */
static bool peer_ip6_valid(const struct cg_config *cfg,
			   const struct in6_addr *ip6, struct cg_error *err)
{
	const struct cg_cidr6 *net = &cfg->wireguard.subnet6;

	if (!cfg->wireguard.has_address6) {
		cg_error_set(err, 400, "ip6",
			     "'ip6' needs an IPv6 cell "
			     "(wireguard.address6 is not configured)");
		return false;
	}
	if (ipv6_special(ip6)) {
		cg_error_set(err, 400, "ip6",
			     "'ip6' must be a unicast address, not link-local, "
			     "multicast, loopback or unspecified");
		return false;
	}
	if (!cidr6_contains(&net->addr, net->prefix, ip6)) {
		cg_error_set(
			err, 400, "ip6",
			"'ip6' must be inside wireguard.address6's subnet");
		return false;
	}
	if (ipv6_equal(ip6, &net->addr)) {
		cg_error_set(err, 400, "ip6",
			     "'ip6' is the subnet's network address");
		return false;
	}
	if (ipv6_equal(ip6, &cfg->wireguard.address6)) {
		cg_error_set(err, 409, "ip6", "'ip6' is the router's address");
		return false;
	}
	return true;
}

/* "ip6" of a body: one address (a prefix is refused with its reason). */
static bool parse_ip6_text(const char *text, struct in6_addr *ip6,
			   struct cg_error *err)
{
	if (parse_ipv6(text, ip6))
		return true;
	if (strchr(text, '/'))
		cg_error_set(err, 400, "ip6",
			     "'ip6' must be one address, not a prefix");
	else
		cg_error_set(err, 400, "ip6", "'ip6' must be an IPv6 address");
	return false;
}

/* Name, key and address must be unique among the other peers (self: the
 * peer being changed, NULL for a new one). Through the indexes: O(1). */
static bool peer_conflicts(const struct cg_state *st,
			   const struct cg_peer_def *p,
			   const struct cg_peer_def *self, struct cg_error *err)
{
	const struct cg_cell_def *cell =
		state_find(st, ST_CELLS, cell_with_key, p->public_key);
	const struct cg_peer_def *o;

	if (cell) {
		cg_error_set(err, 409, "public_key",
			     "public_key is linked cell '%s''s",
			     cell->info.cell_name);
		return true;
	}
	o = state_peer(st, p->name);
	if (o && o != self) {
		cg_error_set(err, 409, "name", "peer '%s' exists", p->name);
		return true;
	}
	o = state_peer_by_key(st, p->public_key);
	if (o && o != self) {
		cg_error_set(err, 409, "public_key",
			     "public_key is used by peer '%s'", o->name);
		return true;
	}
	o = state_peer_by_ip(st, p->ip);
	if (o && o != self) {
		cg_error_set(err, 409, "ip", "ip is used by peer '%s'",
			     o->name);
		return true;
	}
	o = state_peer_by_ip6(st, &p->ip6);
	if (o && o != self) {
		cg_error_set(err, 409, "ip6", "ip6 is used by peer '%s'",
			     o->name);
		return true;
	}
	return false;
}

/* A member that is there and not null (jx_* treat null as absent). */
static bool has_member(json_object *obj, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(obj, key, &v) && v;
}

/* How a peer body is read: from the API to add or to change a peer, or
 * from the state file (where key, ip and id are all required). */
enum peer_mode { PEER_ADD, PEER_UPDATE, PEER_LOAD };

/* A given ip6. From the state file, one the configuration no longer
 * allows (address6 removed or changed) is dropped, not an error: the
 * peer gets a new one at start (state_assign_ip6), or none. */
static bool parse_peer_ip6(const struct cg_state *st, const char *text,
			   enum peer_mode mode, struct cg_peer_def *p,
			   struct cg_error *err)
{
	struct cg_error ignored;

	if (!parse_ip6_text(text, &p->ip6, err))
		return false;
	if (mode != PEER_LOAD)
		return peer_ip6_valid(st->cfg, &p->ip6, err);
	if (!peer_ip6_valid(st->cfg, &p->ip6, &ignored))
		memset(&p->ip6, 0, sizeof(p->ip6));
	return true;
}

/* "rate_limit": {"down_mbit": N, "up_mbit": N}, replacing the whole
 * limit: a direction left out is unlimited, so {} or null clears it. 0
 * is refused rather than read as "unlimited" or "blocked". */
bool state_parse_rate_limit(json_object *body, uint32_t *down_mbit,
			    uint32_t *up_mbit, struct cg_error *err)
{
	static const char *const fields[] = { "down_mbit", "up_mbit", NULL };
	uint64_t down = 0, up = 0;
	json_object *rl;

	if (!jx_member(body, "rate_limit", json_type_object, false, "", &rl,
		       err))
		return false;
	if (rl && (!jx_only_fields(rl, fields, "rate_limit", err) ||
		   !jx_uint(rl, "down_mbit", false, "rate_limit", 1,
			    CG_MAX_RATE_MBIT, &down, err) ||
		   !jx_uint(rl, "up_mbit", false, "rate_limit", 1,
			    CG_MAX_RATE_MBIT, &up, err)))
		return false;
	*down_mbit = (uint32_t)down;
	*up_mbit = (uint32_t)up;
	return true;
}

static bool parse_rate_limit(json_object *body, struct cg_peer_def *p,
			     struct cg_error *err)
{
	return state_parse_rate_limit(body, &p->down_mbit, &p->up_mbit, err);
}

/* Only the limited directions: absent means unlimited. */
json_object *state_rate_limit_json(uint32_t down, uint32_t up)
{
	json_object *o = json_object_new_object();

	if (down)
		json_object_object_add(o, "down_mbit",
				       json_object_new_int64(down));
	if (up)
		json_object_object_add(o, "up_mbit", json_object_new_int64(up));
	return o;
}

/* "exit": an exit's name, or null for the default uplink (issue 20). */
static bool parse_exit_choice(const struct cg_state *st, json_object *body,
			      struct cg_peer_def *p, struct cg_error *err)
{
	const struct cg_exit_def *e;
	json_object *v;

	if (!json_object_object_get_ex(body, "exit", &v))
		return true;
	if (!v) {
		p->exit_id = 0;
		return true;
	}
	if (!json_object_is_type(v, json_type_string)) {
		cg_error_set(err, 400, "exit",
			     "'exit' must be an exit's name or null");
		return false;
	}
	e = state_exit(st, json_object_get_string(v));
	if (!e) {
		cg_error_set(err, 400, "exit", "no exit '%s'",
			     json_object_get_string(v));
		return false;
	}
	p->exit_id = (uint8_t)e->id;
	return true;
}

/* Apply the members present in body to p. */
static bool parse_peer(const struct cg_state *st, json_object *body,
		       enum peer_mode mode, struct cg_peer_def *p,
		       struct cg_error *err)
{
	bool with_id = mode == PEER_LOAD;
	static const char *const fields[] = { "name",
					      "public_key",
					      "ip",
					      "ip6",
					      "service_access",
					      "internet_access",
					      "peer_to_peer",
					      "groups",
					      "rate_limit",
					      "exit",
					      "id",
					      NULL };
	char key[WG_KEY_B64_LEN + 2] = "", ip[32] = "", ip6[64] = "";
	json_object *access, *groups;
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
	    !jx_string(body, "ip6", false, "", ip6, sizeof(ip6), err) ||
	    !jx_member(body, "service_access", json_type_array, false, "",
		       &access, err) ||
	    !jx_bool(body, "internet_access", false, "", &p->internet_access,
		     err) ||
	    !jx_bool(body, "peer_to_peer", false, "", &p->peer_to_peer, err) ||
	    !jx_member(body, "groups", json_type_array, false, "", &groups,
		       err) ||
	    (with_id &&
	     !jx_uint(body, "id", true, "", 1, UINT32_MAX, &id, err)))
		return false;
	p->id = (uint32_t)id;
	if (groups && !parse_groups(groups, p, err))
		return false;
	if (json_object_object_get_ex(body, "rate_limit", NULL) &&
	    !parse_rate_limit(body, p, err))
		return false;
	if (!parse_exit_choice(st, body, p, err))
		return false;
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
	if (has_member(body, "ip6") && !parse_peer_ip6(st, ip6, mode, p, err))
		return false;
	return !access || parse_access(st, access, p->access, err);
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
	if (!has_member(body, "ip") && !state_free_peer_ip(st, &p.ip)) {
		cg_error_set(err, 409, "ip",
			     "no free address left in the WireGuard subnet");
		return -ENOSPC;
	}
	if (!has_member(body, "ip6") && st->cfg &&
	    st->cfg->wireguard.has_address6 &&
	    !state_free_peer_ip6(st, &p.ip6)) {
		cg_error_set(err, 409, "ip6",
			     "no free address left in wireguard.address6");
		return -ENOSPC;
	}
	if (peer_conflicts(st, &p, NULL, err))
		return -EEXIST;
	if (!state_free_identity(st, &p.id)) {
		cg_error_set(err, 409, "name",
			     "the cell has its maximum of "
			     "%u peers (limits.max_peers)",
			     st->cfg->limits.max_peers);
		return -ENOSPC;
	}
	if (!state_add(st, ST_PEERS, &p, err))
		return -ENOMEM;
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
	if (!state_check_name(body, name, err))
		return -EINVAL;
	p = *cur;
	if (!parse_peer(st, body, PEER_UPDATE, &p, err))
		return -EINVAL;
	if (peer_conflicts(st, &p, cur, err))
		return -EEXIST;
	if (old)
		*old = *cur;
	state_replace(st, ST_PEERS, cur, &p);
	if (updated)
		*updated = p;
	return 0;
}

int state_delete_peer(struct cg_state *st, const char *name,
		      struct cg_peer_def *removed, struct cg_error *err)
{
	struct cg_peer_def *cur = state_peer(st, name);

	if (!cur) {
		cg_error_set(err, 404, "name", "no peer '%s'", name);
		return -ENOENT;
	}
	/* A rule naming it would hand its grants to a later peer of the
	 * same name: the rule goes first. */
	for (size_t i = 0; i < st->n_rules; i++)
		if ((st->rules[i].from.kind == CG_SEL_PEER &&
		     !strcmp(st->rules[i].from.name, name)) ||
		    (st->rules[i].to.kind == CG_SEL_PEER &&
		     !strcmp(st->rules[i].to.name, name))) {
			cg_error_set(err, 409, "name",
				     "peer '%s' is named by rule '%s'", name,
				     st->rules[i].name);
			return -EBUSY;
		}
	if (removed)
		*removed = *cur;
	state_remove(st, ST_PEERS, cur);
	return 0;
}

/* The API always says it (null: the uplink); the state file only when
 * the peer has one. */
static void peer_exit_json(const struct cg_state *st,
			   const struct cg_peer_def *peer, bool with_id,
			   json_object *o)
{
	const struct cg_exit_def *e = state_exit_by_id(st, peer->exit_id);

	if (e)
		json_object_object_add(o, "exit",
				       json_object_new_string(e->name));
	else if (!with_id)
		json_object_object_add(o, "exit", NULL);
}

json_object *peer_to_json(const struct cg_state *st,
			  const struct cg_peer_def *peer, bool with_id)
{
	json_object *o = json_object_new_object();
	json_object *access = json_object_new_array();
	char key[WG_KEY_B64_LEN + 1], ip[16], ip6[CG_IP6_STRLEN];
	size_t i;

	json_object_object_add(o, "name", json_object_new_string(peer->name));
	if (with_id)
		json_object_object_add(o, "id",
				       json_object_new_int64(peer->id));
	key_to_base64(key, peer->public_key);
	json_object_object_add(o, "public_key", json_object_new_string(key));
	json_object_object_add(o, "ip",
			       json_object_new_string(ipv4_str(peer->ip, ip)));
	/* Only when it has one: IPv4-only cells show what they always did. */
	if (!ipv6_is_zero(&peer->ip6))
		json_object_object_add(
			o, "ip6",
			json_object_new_string(ipv6_str(&peer->ip6, ip6)));
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
	/* The state file has them only when there are some (files of
	 * cells without groups stay as older versions read them). */
	if (!with_id || peer->n_groups) {
		json_object *groups = json_object_new_array();

		for (i = 0; i < peer->n_groups; i++)
			json_object_array_add(groups, json_object_new_string(
							      peer->groups[i]));
		json_object_object_add(o, "groups", groups);
	}
	if (peer->down_mbit || peer->up_mbit)
		json_object_object_add(
			o, "rate_limit",
			state_rate_limit_json(peer->down_mbit, peer->up_mbit));
	peer_exit_json(st, peer, with_id, o);
	return o;
}

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

bool state_peer_record(const struct cg_state *st, json_object *o,
		       struct cg_peer_def *p, struct cg_error *err)
{
	char name[CG_NAME_MAX + 2];

	memset(p, 0, sizeof(*p));
	if (!state_record_name(o, name, err)) {
		if (!err->msg[0])
			cg_error_set(err, 400, "", "bad peer name");
		return false;
	}
	str_copy(p->name, sizeof(p->name), name);
	/* Cells are loaded after peers: here only the fields. */
	if (!parse_peer(st, o, PEER_LOAD, p, err))
		return false;
	if (p->id > st->cfg->limits.max_peers) {
		cg_error_set(err, 400, "id",
			     "peer '%s' has id %u above limits.max_peers", name,
			     p->id);
		return false;
	}
	return true;
}

bool state_peer_fits(const struct cg_state *st, const struct cg_peer_def *p,
		     const struct cg_peer_def *self, struct cg_error *err)
{
	if (peer_conflicts(st, p, self, err))
		return false;
	if ((!self || self->id != p->id) && state_identity_used(st, p->id)) {
		cg_error_set(err, 409, "id", "peer '%s': id %u is taken",
			     p->name, p->id);
		return false;
	}
	return true;
}

/* No two peers share an ip6: each finds itself by its own (the index
 * holds both of a pair, and finds the first). Without an index no
 * peer has one (no address6 without a config). */
static bool peers_unique_ip6(const struct cg_state *st, struct cg_error *err)
{
	size_t i;

	for (i = 0; i < st->n_peers; i++) {
		const struct cg_peer_def *p = &st->peers[i];
		const struct cg_peer_def *o = state_peer_by_ip6(st, &p->ip6);

		if (o && o != p) {
			cg_error_set(err, 400, "ip6",
				     "peers '%s' and '%s' share a ip6", o->name,
				     p->name);
			return false;
		}
	}
	return true;
}

/* The state file's peers: each with its id, none sharing a name, key,
 * address or id with another. */
bool state_load_peers(struct cg_state *st, json_object *arr,
		      struct cg_error *err)
{
	size_t i, n = arr ? json_object_array_length(arr) : 0;

	for (i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		struct cg_peer_def p;

		if (!state_peer_record(st, o, &p, err))
			return false;
		if (!state_add(st, ST_PEERS, &p, err))
			return false;
	}
	return peers_unique(st, err) && peers_unique_ip6(st, err);
}

size_t state_assign_ip6(struct cg_state *st)
{
	size_t i, n = 0;

	if (!st->cfg || !st->cfg->wireguard.has_address6)
		return 0;
	for (i = 0; i < st->n_peers; i++) {
		struct cg_peer_def p = st->peers[i];

		if (!ipv6_is_zero(&p.ip6) || !state_free_peer_ip6(st, &p.ip6))
			continue;
		state_replace(st, ST_PEERS, &st->peers[i], &p);
		n++;
	}
	return n;
}
