// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cell.h"
#include "jsonx.h"
#include "state.h"

/* ---- a cell's description ------------------------------------------------- */

static bool bad(struct cg_error *err, const char *field, const char *what)
{
	cg_error_set(err, 400, field, "'%s' must be %s", field, what);
	return false;
}

/* "subnet6": optional; an IPv6 cell's wireguard.address6 network. */
static bool parse_subnet6(json_object *o, struct cg_cell_info *info,
			  struct cg_error *err)
{
	char text[64] = "";
	struct cg_cidr6 *c = &info->subnet6;

	if (!jx_string(o, "subnet6", false, "", text, sizeof(text), err))
		return false;
	if (!text[0])
		return true;
	if (!parse_cidr6(text, &c->addr, &c->prefix, false) || c->prefix < 48 ||
	    c->prefix > 126 || ipv6_special(&c->addr))
		return bad(err, "subnet6",
			   "an IPv6 network from /48 to /126, like fd11::/64");
	info->has_subnet6 = true;
	return true;
}

static bool parse_addresses(json_object *o, struct cg_cell_info *info,
			    struct cg_error *err)
{
	char subnet[32] = "", wg[32] = "", dns[32] = "", host[256];
	uint16_t port;

	if (!jx_string(o, "vpn_subnet", true, "", subnet, sizeof(subnet),
		       err) ||
	    !jx_string(o, "wg_address", false, "", wg, sizeof(wg), err) ||
	    !jx_string(o, "dns_ip", false, "", dns, sizeof(dns), err) ||
	    !jx_string(o, "endpoint", true, "", info->endpoint,
		       sizeof(info->endpoint), err))
		return false;
	if (!parse_cidr(subnet, &info->vpn_subnet.addr,
			&info->vpn_subnet.prefix, false) ||
	    info->vpn_subnet.prefix < 8 || info->vpn_subnet.prefix > 30)
		return bad(err, "vpn_subnet", "a network from /8 to /30");
	if (!parse_host_port(info->endpoint, host, sizeof(host), &port))
		return bad(err, "endpoint", "host:port");
	/* Without wg_address, the first host of the subnet (PIC's way). */
	if (!wg[0])
		info->wg_address.s_addr =
			htonl(ntohl(info->vpn_subnet.addr.s_addr) + 1);
	else if (!parse_ipv4(wg, &info->wg_address))
		return bad(err, "wg_address", "an IPv4 address");
	if (!cidr_contains(info->vpn_subnet.addr, info->vpn_subnet.prefix,
			   info->wg_address))
		return bad(err, "wg_address", "inside vpn_subnet");
	info->has_dns_ip = dns[0] != '\0';
	if (info->has_dns_ip && !parse_ipv4(dns, &info->dns_ip))
		return bad(err, "dns_ip", "an IPv4 address");
	return parse_subnet6(o, info, err);
}

bool cell_info_parse(json_object *o, struct cg_cell_info *info,
		     char secret[PAIRING_SECRET_B64_LEN + 1],
		     struct cg_error *err)
{
	static const char *const fields[] = {
		"cell_name",	"public_key",	  "endpoint",
		"vpn_subnet",	"wg_address",	  "dns_ip",
		"domain",	"version",	  "sync_port",
		"pairing_port", "pairing_secret", "expires_at",
		"invite_id",	"subnet6",	  NULL
	};
	char key[WG_KEY_B64_LEN + 2] = "";
	uint64_t version = 0, sync = 8471, pairing = 8472;
	uint8_t raw[PAIRING_SECRET_LEN];

	memset(info, 0, sizeof(*info));
	if (!jx_only_fields(o, fields, "", err) ||
	    !jx_uint(o, "version", true, "", 0, UINT32_MAX, &version, err) ||
	    !jx_string(o, "cell_name", true, "", info->cell_name,
		       sizeof(info->cell_name), err) ||
	    !jx_string(o, "public_key", true, "", key, sizeof(key), err) ||
	    !jx_string(o, "domain", true, "", info->domain,
		       sizeof(info->domain), err) ||
	    !jx_uint(o, "sync_port", false, "", 1, 65535, &sync, err) ||
	    !jx_uint(o, "pairing_port", false, "", 1, 65535, &pairing, err))
		return false;
	if (version != CG_CELL_VERSION) {
		cg_error_set(err, 400, "version",
			     "invite version %llu is not supported (%d is)",
			     (unsigned long long)version, CG_CELL_VERSION);
		return false;
	}
	if (!valid_name(info->cell_name))
		return bad(err, "cell_name", "a name [A-Za-z0-9_.-]{1,64}");
	/* /api/cells/invite and /api/cells/invites are routes of their own. */
	if (!strcmp(info->cell_name, "invite") ||
	    !strcmp(info->cell_name, "invites"))
		return bad(err, "cell_name",
			   "another name than 'invite' or 'invites'");
	if (!key_from_base64(info->public_key, key) ||
	    key_is_zero(info->public_key))
		return bad(err, "public_key", "the base64 of 32 bytes");
	if (!info->domain[0] ||
	    strspn(info->domain, "abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
		    strlen(info->domain))
		return bad(err, "domain", "a domain name");
	info->sync_port = (uint16_t)sync;
	info->pairing_port = (uint16_t)pairing;
	if (!parse_addresses(o, info, err))
		return false;
	if (!secret) {
		if (json_object_object_get_ex(o, "pairing_secret", NULL)) {
			cg_error_set(err, 400, "pairing_secret",
				     "the pairing secret never travels");
			return false;
		}
		return true;
	}
	if (!jx_string(o, "pairing_secret", true, "", secret,
		       PAIRING_SECRET_B64_LEN + 1, err))
		return false;
	if (!pairing_secret_decode(raw, secret))
		return bad(err, "pairing_secret", "a cellgate pairing secret");
	explicit_bzero(raw, sizeof(raw));
	return true;
}

json_object *cell_info_to_json(const struct cg_cell_info *info)
{
	json_object *o = json_object_new_object();
	char key[WG_KEY_B64_LEN + 1], ip[16], net[24];

	key_to_base64(key, info->public_key);
	snprintf(net, sizeof(net), "%s/%u", ipv4_str(info->vpn_subnet.addr, ip),
		 info->vpn_subnet.prefix);
	json_object_object_add(o, "cell_name",
			       json_object_new_string(info->cell_name));
	json_object_object_add(o, "public_key", json_object_new_string(key));
	json_object_object_add(o, "endpoint",
			       json_object_new_string(info->endpoint));
	json_object_object_add(o, "vpn_subnet", json_object_new_string(net));
	if (info->has_subnet6) {
		char ip6[CG_IP6_STRLEN], net6[CG_IP6_STRLEN + 5];

		snprintf(net6, sizeof(net6), "%s/%u",
			 ipv6_str(&info->subnet6.addr, ip6),
			 info->subnet6.prefix);
		json_object_object_add(o, "subnet6",
				       json_object_new_string(net6));
	}
	json_object_object_add(
		o, "wg_address",
		json_object_new_string(ipv4_str(info->wg_address, ip)));
	if (info->has_dns_ip)
		json_object_object_add(
			o, "dns_ip",
			json_object_new_string(ipv4_str(info->dns_ip, ip)));
	json_object_object_add(o, "domain",
			       json_object_new_string(info->domain));
	json_object_object_add(o, "version",
			       json_object_new_int(CG_CELL_VERSION));
	json_object_object_add(o, "sync_port",
			       json_object_new_int(info->sync_port));
	json_object_object_add(o, "pairing_port",
			       json_object_new_int(info->pairing_port));
	return o;
}

void cell_info_of_config(const struct cg_config *cfg, const wg_key pub,
			 struct cg_cell_info *info)
{
	memset(info, 0, sizeof(*info));
	str_copy(info->cell_name, sizeof(info->cell_name), cfg->cell_name);
	memcpy(info->public_key, pub, WG_KEY_LEN);
	str_copy(info->endpoint, sizeof(info->endpoint),
		 cfg->wireguard.endpoint);
	info->vpn_subnet = cfg->wireguard.subnet;
	info->has_subnet6 = cfg->wireguard.has_address6;
	info->subnet6 = cfg->wireguard.subnet6;
	info->wg_address = cfg->wireguard.address;
	info->has_dns_ip = cfg->has_dns_ip;
	info->dns_ip = cfg->dns_ip;
	str_copy(info->domain, sizeof(info->domain), cfg->domain);
	info->sync_port = cfg->sync.port;
	info->pairing_port = cfg->sync.pairing_port;
}

/* ---- what each side shares ---------------------------------------------- */

bool cell_parse_shares(json_object *o, const char *field,
		       char names[CG_MAX_OUTBOUND][CG_NAME_MAX + 1],
		       unsigned int *n, struct cg_error *err)
{
	char path[96];

	*n = 0;
	if (!json_object_is_type(o, json_type_object))
		return bad(err, field, "an object of service: true|false");
	json_object_object_foreach(o, name, val) {
		jx_path(path, sizeof(path), field, name);
		if (!valid_name(name))
			return bad(err, path, "named like a service");
		if (!json_object_is_type(val, json_type_boolean))
			return bad(err, path, "true or false");
		if (!json_object_get_boolean(val))
			continue;
		if (*n == CG_MAX_OUTBOUND)
			return bad(err, field, "64 services or fewer");
		str_copy(names[(*n)++], CG_NAME_MAX + 1, name);
	}
	return true;
}

static bool shares(const uint64_t *bits, uint32_t id)
{
	return bits[id / 64] & (1ull << (id % 64));
}

/* {"inbound": {each of our services: shared?}, "outbound": {...}} */
static json_object *permissions_json(const struct cg_cell_def *cell,
				     const struct cg_service_def *services,
				     size_t n_services)
{
	json_object *o = json_object_new_object();
	json_object *in = json_object_new_object();
	json_object *out = json_object_new_object();
	size_t i;

	for (i = 0; i < n_services; i++)
		json_object_object_add(in, services[i].name,
				       json_object_new_boolean(shares(
					       cell->inbound, services[i].id)));
	for (i = 0; i < cell->n_outbound; i++)
		json_object_object_add(out, cell->outbound[i],
				       json_object_new_boolean(1));
	json_object_object_add(o, "inbound", in);
	json_object_object_add(o, "outbound", out);
	return o;
}

json_object *cell_to_json(const struct cg_cell_def *cell,
			  const struct cg_service_def *services,
			  size_t n_services, bool for_state)
{
	json_object *o = cell_info_to_json(&cell->info);
	char hex[2 * LINK_KEY_LEN + 1];
	size_t i;

	json_object_object_add(o, "name",
			       json_object_new_string(cell->info.cell_name));
	json_object_object_add(o, "permissions",
			       permissions_json(cell, services, n_services));
	json_object_object_add(o, "linked_at",
			       json_object_new_int64(cell->linked_at));
	json_object_object_add(o, "pending_push",
			       json_object_new_boolean(cell->pending_push));
	json_object_object_add(o, "last_push_status",
			       json_object_new_int(cell->last_push_status));
	json_object_object_add(o, "last_push_at",
			       json_object_new_int64(cell->last_push_at));
	json_object_object_add(o, "last_push_error",
			       json_object_new_string(cell->last_push_error));
	json_object_object_add(
		o, "last_remote_update_at",
		json_object_new_int64(cell->last_remote_update_at));
	if (!for_state)
		return o;
	/* The state file alone keeps secrets (it is 0600). */
	for (i = 0; i < LINK_KEY_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", cell->link_key[i]);
	json_object_object_add(o, "id", json_object_new_int64(cell->id));
	json_object_object_add(o, "link_key", json_object_new_string(hex));
	json_object_object_add(o, "last_remote_ts_ms",
			       json_object_new_uint64(cell->last_remote_ts_ms));
	return o;
}

static bool link_key_from_hex(uint8_t out[LINK_KEY_LEN], const char *hex)
{
	size_t i;

	if (strlen(hex) != 2 * LINK_KEY_LEN)
		return false;
	for (i = 0; i < LINK_KEY_LEN; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return false;
		out[i] = (uint8_t)b;
	}
	return true;
}

/* The inbound bitmap from {"svc": bool} against our services. */
static bool inbound_from_json(json_object *in, struct cg_cell_def *cell,
			      const struct cg_service_def *services,
			      size_t n_services, struct cg_error *err)
{
	size_t i;

	memset(cell->inbound, 0, sizeof(cell->inbound));
	json_object_object_foreach(in, name, val) {
		for (i = 0; i < n_services && strcmp(services[i].name, name);
		     i++)
			;
		if (i == n_services)
			return bad(err, "permissions.inbound",
				   "services of this cell");
		if (json_object_get_boolean(val))
			cell->inbound[services[i].id / 64] |=
				1ull << (services[i].id % 64);
	}
	return true;
}

bool cell_from_state(json_object *o, struct cg_cell_def *cell,
		     const struct cg_service_def *services, size_t n_services,
		     struct cg_error *err)
{
	json_object *perm, *in, *out, *v;
	char hex[2 * LINK_KEY_LEN + 2] = "";
	uint64_t id = 0;
	struct cg_cell_info info;

	memset(cell, 0, sizeof(*cell));
	/* The stored fields beyond the invite's are read here; the rest
	 * by cell_info_parse on a copy without them. */
	json_object *copy = json_object_new_object();

	json_object_object_foreach(o, k, val) {
		static const char *const extra[] = { "name",
						     "permissions",
						     "linked_at",
						     "pending_push",
						     "last_push_status",
						     "last_push_at",
						     "last_push_error",
						     "last_remote_update_at",
						     "id",
						     "link_key",
						     "last_remote_ts_ms",
						     NULL };
		const char *const *e;

		for (e = extra; *e && strcmp(*e, k); e++)
			;
		if (!*e)
			json_object_object_add(copy, k, json_object_get(val));
	}
	json_object_object_add(copy, "version",
			       json_object_new_int(CG_CELL_VERSION));
	if (!cell_info_parse(copy, &info, NULL, err)) {
		json_object_put(copy);
		return false;
	}
	json_object_put(copy);
	cell->info = info;
	if (!jx_uint(o, "id", true, "", 1, UINT32_MAX, &id, err) ||
	    !jx_string(o, "link_key", true, "", hex, sizeof(hex), err) ||
	    !jx_member(o, "permissions", json_type_object, true, "", &perm,
		       err) ||
	    !jx_member(perm, "inbound", json_type_object, true, "permissions",
		       &in, err) ||
	    !jx_member(perm, "outbound", json_type_object, true, "permissions",
		       &out, err))
		return false;
	cell->id = (uint32_t)id;
	if (!link_key_from_hex(cell->link_key, hex))
		return bad(err, "link_key", "64 hex digits");
	if (!inbound_from_json(in, cell, services, n_services, err) ||
	    !cell_parse_shares(out, "permissions.outbound", cell->outbound,
			       &cell->n_outbound, err))
		return false;
	if (json_object_object_get_ex(o, "linked_at", &v))
		cell->linked_at = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "pending_push", &v))
		cell->pending_push = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "last_push_status", &v))
		cell->last_push_status = json_object_get_int(v);
	if (json_object_object_get_ex(o, "last_push_at", &v))
		cell->last_push_at = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "last_push_error", &v))
		str_copy(cell->last_push_error, sizeof(cell->last_push_error),
			 json_object_get_string(v));
	if (json_object_object_get_ex(o, "last_remote_update_at", &v))
		cell->last_remote_update_at = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "last_remote_ts_ms", &v))
		cell->last_remote_ts_ms = json_object_get_uint64(v);
	return true;
}
