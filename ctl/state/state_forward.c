// SPDX-License-Identifier: MIT
/*
 * Port forwards: a public port of the uplink sent to a host the cell
 * reaches, optionally only from some networks. A forward keeps its slot
 * (its counters and NAT entries) for its life.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "jsonx.h"
#include "state_internal.h"

static bool forward_with_id(const void *fwd, const void *id)
{
	return !strcmp(((const struct cg_forward_def *)fwd)->id, id);
}

static bool forward_in_slot(const void *fwd, const void *slot)
{
	return ((const struct cg_forward_def *)fwd)->slot ==
	       *(const uint32_t *)slot;
}

struct cg_forward_def *state_forward(const struct cg_state *st, const char *id)
{
	return state_find(st, ST_FORWARDS, forward_with_id, id);
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
	if (!parse_ipv4(ip, &f->target_ip) ||
	    !state_valid_unicast(f->target_ip)) {
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
	/* Whatever its address: it is meant to face the uplink. */
	if (cfg->join.enabled && f->public_port == cfg->join.listen_port)
		return "the join listener's (join.listen)";
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

int state_add_forward(struct cg_state *st, json_object *body,
		      struct cg_forward_def *added, struct cg_error *err)
{
	struct cg_forward_def f = { 0 };

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
	if (!state_add(st, ST_FORWARDS, &f, err))
		return -ENOMEM;
	if (added)
		*added = f;
	return 0;
}

int state_delete_forward(struct cg_state *st, const char *id,
			 struct cg_forward_def *removed, struct cg_error *err)
{
	return state_delete(st, ST_FORWARDS, forward_with_id, id, removed, err);
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

bool state_forward_record(const struct cg_state *st, json_object *o,
			  struct cg_forward_def *f, struct cg_error *err)
{
	memset(f, 0, sizeof(*f));
	if (!json_object_is_type(o, json_type_object)) {
		cg_error_set(err, 400, "forwards",
			     "a forward is not an object");
		return false;
	}
	return parse_forward(st, o, FWD_LOAD, f, err);
}

bool state_forward_fits(const struct cg_state *st,
			const struct cg_forward_def *f, struct cg_error *err)
{
	const struct cg_forward_def *other;

	if (forward_conflicts(st, f, err) || !allow_fits(st, f, err))
		return false;
	other = state_find(st, ST_FORWARDS, forward_in_slot, &f->slot);
	if (other) {
		cg_error_set(err, 400, "slot",
			     "forwards '%s' and '%s' share slot %u", other->id,
			     f->id, f->slot);
		return false;
	}
	return true;
}

static bool load_forward(struct cg_state *st, json_object *o,
			 struct cg_error *err)
{
	struct cg_forward_def f;

	return state_forward_record(st, o, &f, err) &&
	       state_forward_fits(st, &f, err) &&
	       state_add(st, ST_FORWARDS, &f, err) != NULL;
}

/* Forwards came with issue 4: an older file has none. */
bool state_load_forwards(struct cg_state *st, json_object *arr,
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
