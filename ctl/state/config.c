// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "jsonx.h"

#define CONFIG_MAX_BYTES (1 << 20)

/* Defaults of optional fields. */
static void config_defaults(struct cg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->wireguard.interface, IF_NAMESIZE, "wg0");
	cfg->wireguard.listen_port = 51820;
	snprintf(cfg->wireguard.private_key_file, PATH_MAX,
		 "/etc/cellgate/wg.key");
	snprintf(cfg->api.listen, sizeof(cfg->api.listen), "127.0.0.1:8470");
	/* What parse_api makes of that default, when "api" is absent. */
	cfg->api.listen_addr.s_addr = htonl(INADDR_LOOPBACK);
	cfg->api.listen_port = 8470;
	snprintf(cfg->api.token_file, PATH_MAX, "/etc/cellgate/api.token");
	snprintf(cfg->state_dir, PATH_MAX, "/var/lib/cellgate");
	snprintf(cfg->bpffs, PATH_MAX, "/sys/fs/bpf/cellgate");
	cfg->metrics.per_peer_limit = CG_METRICS_PER_PEER_LIMIT;
	cfg->limits.max_peers = 16384;
	cfg->limits.conntrack_tcp = 65536;
	cfg->limits.conntrack_other = 32768;
	cfg->limits.nat = 65536;
	cfg->conntrack.per_peer_max = CG_PER_PEER_MAX_AUTO;
	cfg->nat.masquerade = true;
	cfg->sync.port = 8471;
	cfg->sync.pairing_port = 8472;
	cfg->peer_api.port = 8470;
	cfg->join.rate_per_minute = 30;
	cfg->nat.port_min = 10000;
	cfg->nat.port_max = 65535;
	snprintf(cfg->log_level, sizeof(cfg->log_level), "info");
}

static bool absolute_path(const char *field, const char *path,
			  struct cg_error *err)
{
	if (path[0] == '/')
		return true;
	cg_error_set(err, 400, field, "'%s' must be an absolute path", field);
	return false;
}

/* A DNS name or IPv4 address: it ends up in peers' client configs. */
static bool valid_hostname(const char *h)
{
	size_t n = strspn(h, "abcdefghijklmnopqrstuvwxyz"
			     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");

	return n > 0 && h[n] == '\0' && h[0] != '-' && h[0] != '.';
}

/* "wireguard.address6": the router's IPv6 address with the prefix peers'
 * ip6 are allocated from; absent, the cell is IPv4-only. */
static bool parse_address6(json_object *wg, struct cg_config *cfg,
			   struct cg_error *err)
{
	char text[64] = "";
	struct in6_addr *a = &cfg->wireguard.address6;
	struct cg_cidr6 *net = &cfg->wireguard.subnet6;

	if (!jx_string(wg, "address6", false, "wireguard", text, sizeof(text),
		       err))
		return false;
	if (!text[0])
		return true;
	if (!parse_cidr6(text, a, &net->prefix, true) || net->prefix < 48 ||
	    net->prefix > 126 || ipv6_special(a)) {
		cg_error_set(err, 400, "wireguard.address6",
			     "'wireguard.address6' must be the router's "
			     "global or unique-local IPv6 address with a "
			     "prefix from /48 to /126, like fd10::1/64");
		return false;
	}
	net->addr = ipv6_masked(a, net->prefix);
	if (ipv6_equal(a, &net->addr)) {
		cg_error_set(err, 400, "wireguard.address6",
			     "'wireguard.address6' is the subnet's network "
			     "address; give the router's own address");
		return false;
	}
	cfg->wireguard.has_address6 = true;
	return true;
}

static bool parse_wireguard(json_object *wg, struct cg_config *cfg,
			    struct cg_error *err)
{
	static const char *const fields[] = { "interface",   "address",
					      "listen_port", "private_key_file",
					      "endpoint",    "address6",
					      NULL };
	char addr[32] = "", host[256];
	uint64_t port = cfg->wireguard.listen_port;
	uint16_t eport;
	uint32_t mask;

	if (!jx_only_fields(wg, fields, "wireguard", err) ||
	    !jx_ifname(wg, "interface", false, "wireguard",
		       cfg->wireguard.interface, err) ||
	    !jx_string(wg, "address", true, "wireguard", addr, sizeof(addr),
		       err) ||
	    !jx_uint(wg, "listen_port", false, "wireguard", 1, 65535, &port,
		     err) ||
	    !jx_string(wg, "private_key_file", false, "wireguard",
		       cfg->wireguard.private_key_file, PATH_MAX, err) ||
	    !jx_string(wg, "endpoint", false, "wireguard",
		       cfg->wireguard.endpoint, sizeof(cfg->wireguard.endpoint),
		       err))
		return false;
	cfg->wireguard.listen_port = (uint16_t)port;

	if (!parse_cidr(addr, &cfg->wireguard.address,
			&cfg->wireguard.subnet.prefix, true) ||
	    cfg->wireguard.subnet.prefix < 8 ||
	    cfg->wireguard.subnet.prefix > 30) {
		cg_error_set(err, 400, "wireguard.address",
			     "'wireguard.address' must be the router's address "
			     "with a prefix from /8 to /30, like 10.0.0.1/24");
		return false;
	}
	mask = prefix_mask(cfg->wireguard.subnet.prefix);
	cfg->wireguard.subnet.addr.s_addr =
		cfg->wireguard.address.s_addr & mask;
	if (cfg->wireguard.address.s_addr ==
		    cfg->wireguard.subnet.addr.s_addr ||
	    (cfg->wireguard.address.s_addr | mask) == 0xffffffffu) {
		cg_error_set(err, 400, "wireguard.address",
			     "'wireguard.address' is the network or broadcast "
			     "address; give the router's own address");
		return false;
	}
	if (cfg->wireguard.endpoint[0] &&
	    (!parse_host_port(cfg->wireguard.endpoint, host, sizeof(host),
			      &eport) ||
	     !valid_hostname(host))) {
		cg_error_set(err, 400, "wireguard.endpoint",
			     "'wireguard.endpoint' must be host:port");
		return false;
	}
	return parse_address6(wg, cfg, err) &&
	       absolute_path("wireguard.private_key_file",
			     cfg->wireguard.private_key_file, err);
}

/* One entry of bridge.allowed_sources, appended to its family's list:
 * an address (a /32 or /128) or a network. */
static bool parse_source(json_object *v, struct cg_config *cfg,
			 const char *field, struct cg_error *err)
{
	const char *s = json_object_is_type(v, json_type_string) ?
				json_object_get_string(v) :
				NULL;
	struct cg_cidr *c =
		&cfg->bridge.allowed_sources[cfg->bridge.n_allowed_sources];
	struct cg_cidr6 *c6 =
		&cfg->bridge.allowed_sources6[cfg->bridge.n_allowed_sources6];

	if (s && (parse_ipv4(s, &c->addr) ||
		  parse_cidr(s, &c->addr, &c->prefix, false))) {
		c->prefix = strchr(s, '/') ? c->prefix : 32;
		cfg->bridge.n_allowed_sources++;
		return true;
	}
	if (s && (parse_ipv6(s, &c6->addr) ||
		  parse_cidr6(s, &c6->addr, &c6->prefix, false))) {
		c6->prefix = strchr(s, '/') ? c6->prefix : 128;
		cfg->bridge.n_allowed_sources6++;
		return true;
	}
	cg_error_set(err, 400, field,
		     "'%s' must be an address or a network like "
		     "172.20.0.64/28 or fd20::/64",
		     field);
	return false;
}

static bool parse_allowed_sources(json_object *br, struct cg_config *cfg,
				  struct cg_error *err)
{
	json_object *arr = NULL;
	size_t i, n;
	char field[64];

	if (!jx_member(br, "allowed_sources", json_type_array, false, "bridge",
		       &arr, err))
		return false;
	n = arr ? json_object_array_length(arr) : 0;
	if (n > CG_MAX_BRIDGE_SOURCES) {
		cg_error_set(err, 400, "bridge.allowed_sources",
			     "at most %d bridge.allowed_sources",
			     CG_MAX_BRIDGE_SOURCES);
		return false;
	}
	for (i = 0; i < n; i++) {
		snprintf(field, sizeof(field), "bridge.allowed_sources[%zu]",
			 i);
		if (!parse_source(json_object_array_get_idx(arr, i), cfg, field,
				  err))
			return false;
	}
	return true;
}

static bool parse_bridge(json_object *br, struct cg_config *cfg,
			 struct cg_error *err)
{
	static const char *const fields[] = { "interface", "subnet",
					      "anti_spoofing",
					      "allowed_sources", NULL };
	char subnet[32] = "";

	cfg->bridge.anti_spoofing = true;
	if (!jx_only_fields(br, fields, "bridge", err) ||
	    !jx_ifname(br, "interface", true, "bridge", cfg->bridge.interface,
		       err) ||
	    !jx_string(br, "subnet", false, "bridge", subnet, sizeof(subnet),
		       err) ||
	    !jx_bool(br, "anti_spoofing", false, "bridge",
		     &cfg->bridge.anti_spoofing, err) ||
	    !parse_allowed_sources(br, cfg, err))
		return false;
	if (!subnet[0])
		return true;
	if (!parse_cidr(subnet, &cfg->bridge.subnet.addr,
			&cfg->bridge.subnet.prefix, false)) {
		cg_error_set(err, 400, "bridge.subnet",
			     "'bridge.subnet' must be a network like "
			     "172.20.0.0/16");
		return false;
	}
	cfg->bridge.has_subnet = true;
	return true;
}

/* An "IPv4:port" to listen on (text already read into listen). */
static bool listen_address(const char *field, const char *listen,
			   struct in_addr *addr, uint16_t *port,
			   const char *example, struct cg_error *err)
{
	char host[64];

	if (parse_host_port(listen, host, sizeof(host), port) &&
	    parse_ipv4(host, addr))
		return true;
	cg_error_set(err, 400, field, "'%s' must be IPv4:port, like %s", field,
		     example);
	return false;
}

static bool parse_api(json_object *api, struct cg_config *cfg,
		      struct cg_error *err)
{
	static const char *const fields[] = { "listen", "token_file", NULL };

	if (!jx_only_fields(api, fields, "api", err) ||
	    !jx_string(api, "listen", false, "api", cfg->api.listen,
		       sizeof(cfg->api.listen), err) ||
	    !jx_string(api, "token_file", false, "api", cfg->api.token_file,
		       PATH_MAX, err) ||
	    !listen_address("api.listen", cfg->api.listen,
			    &cfg->api.listen_addr, &cfg->api.listen_port,
			    "127.0.0.1:8470", err))
		return false;
	return absolute_path("api.token_file", cfg->api.token_file, err);
}

static bool parse_metrics(json_object *metrics, struct cg_config *cfg,
			  struct cg_error *err)
{
	static const char *const fields[] = { "listen", "per_peer_limit",
					      NULL };
	uint64_t limit = cfg->metrics.per_peer_limit;

	if (!jx_only_fields(metrics, fields, "metrics", err) ||
	    !jx_uint(metrics, "per_peer_limit", false, "metrics", 0, UINT32_MAX,
		     &limit, err) ||
	    !jx_string(metrics, "listen", false, "metrics", cfg->metrics.listen,
		       sizeof(cfg->metrics.listen), err))
		return false;
	cfg->metrics.per_peer_limit = (uint32_t)limit;
	/* Without "listen": no listener of its own, /metrics on the API. */
	if (!cfg->metrics.listen[0])
		return true;
	if (!listen_address("metrics.listen", cfg->metrics.listen,
			    &cfg->metrics.listen_addr,
			    &cfg->metrics.listen_port, "127.0.0.1:9471", err))
		return false;
	cfg->metrics.enabled = true;
	return true;
}

/* "nat": masquerade on the uplink, and the ports translations pick from
 * when a flow's own port is taken. */
static bool parse_nat(json_object *nat, struct cg_config *cfg,
		      struct cg_error *err)
{
	static const char *const fields[] = { "masquerade", "port_min",
					      "port_max", NULL };
	uint64_t min = cfg->nat.port_min, max = cfg->nat.port_max;

	if (!jx_only_fields(nat, fields, "nat", err) ||
	    !jx_bool(nat, "masquerade", false, "nat", &cfg->nat.masquerade,
		     err) ||
	    !jx_uint(nat, "port_min", false, "nat", 1024, 65535, &min, err) ||
	    !jx_uint(nat, "port_max", false, "nat", 1024, 65535, &max, err))
		return false;
	if (max < min + 255) {
		cg_error_set(err, 400, "nat.port_max",
			     "'nat.port_max' must be at least port_min + 255");
		return false;
	}
	cfg->nat.port_min = (uint16_t)min;
	cfg->nat.port_max = (uint16_t)max;
	return true;
}

static bool parse_sync(json_object *sync, struct cg_config *cfg,
		       struct cg_error *err)
{
	static const char *const fields[] = { "port", "pairing_port", NULL };
	uint64_t port = cfg->sync.port, pairing = cfg->sync.pairing_port;

	if (!jx_only_fields(sync, fields, "sync", err) ||
	    !jx_uint(sync, "port", false, "sync", 0, 65535, &port, err) ||
	    !jx_uint(sync, "pairing_port", false, "sync", 0, 65535, &pairing,
		     err))
		return false;
	if (port && port == pairing) {
		cg_error_set(
			err, 400, "sync.pairing_port",
			"'sync.pairing_port' must differ from 'sync.port'");
		return false;
	}
	cfg->sync.port = (uint16_t)port;
	cfg->sync.pairing_port = (uint16_t)pairing;
	return true;
}

/* "state": what a start does when the newest state does not validate. */
static bool parse_state_opts(json_object *so, struct cg_config *cfg,
			     struct cg_error *err)
{
	static const char *const fields[] = { "on_corrupt", NULL };
	char mode[16] = "fallback";

	if (!jx_only_fields(so, fields, "state", err) ||
	    !jx_string(so, "on_corrupt", false, "state", mode, sizeof(mode),
		       err))
		return false;
	if (strcmp(mode, "fallback") && strcmp(mode, "refuse")) {
		cg_error_set(err, 400, "state.on_corrupt",
			     "'state.on_corrupt' must be \"fallback\" or "
			     "\"refuse\"");
		return false;
	}
	cfg->state.refuse_corrupt = !strcmp(mode, "refuse");
	return true;
}

/* "join": the enrolment listener (off without "listen"). */
/* join.listen: "IPv4:port", or "[IPv6]:port" (a device may join over
 * IPv6). */
static bool join_listen(struct cg_config *cfg, struct cg_error *err)
{
	cfg->join.listen_v6 =
		parse_listen6(cfg->join.listen, &cfg->join.listen_addr6,
			      &cfg->join.listen_port);
	return cfg->join.listen_v6 ||
	       listen_address("join.listen", cfg->join.listen,
			      &cfg->join.listen_addr, &cfg->join.listen_port,
			      "0.0.0.0:8473 (or [IPv6]:port: [::]:8473)", err);
}

static bool parse_join(json_object *join, struct cg_config *cfg,
		       struct cg_error *err)
{
	static const char *const fields[] = { "listen", "rate_per_minute",
					      NULL };
	uint64_t rate = cfg->join.rate_per_minute;

	if (!jx_only_fields(join, fields, "join", err) ||
	    !jx_string(join, "listen", true, "join", cfg->join.listen,
		       sizeof(cfg->join.listen), err) ||
	    !join_listen(cfg, err) ||
	    !jx_uint(join, "rate_per_minute", false, "join", 1, 6000, &rate,
		     err))
		return false;
	cfg->join.rate_per_minute = (uint32_t)rate;
	cfg->join.enabled = true;
	return true;
}

/* "peer_api": the port of a peer's own API on the wg address. */
static bool parse_peer_api(json_object *pa, struct cg_config *cfg,
			   struct cg_error *err)
{
	static const char *const fields[] = { "port", NULL };
	uint64_t port = cfg->peer_api.port;

	if (!jx_only_fields(pa, fields, "peer_api", err) ||
	    !jx_uint(pa, "port", false, "peer_api", 0, 65535, &port, err))
		return false;
	cfg->peer_api.port = (uint16_t)port;
	return true;
}

/* The listeners a cell may add: enrolment and the peers' own API. */
static bool parse_peer_listeners(json_object *root, struct cg_config *cfg,
				 struct cg_error *err)
{
	json_object *join, *pa;

	return jx_member(root, "join", json_type_object, false, "", &join,
			 err) &&
	       jx_member(root, "peer_api", json_type_object, false, "", &pa,
			 err) &&
	       (!join || parse_join(join, cfg, err)) &&
	       (!pa || parse_peer_api(pa, cfg, err));
}

/* "dataplane": what to do about another program on one of our hooks. */
static bool parse_dataplane(json_object *dp, struct cg_config *cfg,
			    struct cg_error *err)
{
	static const char *const fields[] = { "foreign_programs", NULL };
	char mode[16] = "replace";

	if (!jx_only_fields(dp, fields, "dataplane", err) ||
	    !jx_string(dp, "foreign_programs", false, "dataplane", mode,
		       sizeof(mode), err))
		return false;
	if (strcmp(mode, "replace") && strcmp(mode, "leave")) {
		cg_error_set(err, 400, "dataplane.foreign_programs",
			     "'dataplane.foreign_programs' must be \"replace\" "
			     "or \"leave\"");
		return false;
	}
	cfg->dataplane.leave_foreign = !strcmp(mode, "leave");
	return true;
}

/* "conntrack": the per-peer flow budget (lib/budget.h). */
static bool parse_conntrack(json_object *ct, struct cg_config *cfg,
			    struct cg_error *err)
{
	static const char *const fields[] = { "per_peer_max", NULL };
	uint64_t max = CG_PER_PEER_MAX_AUTO;

	if (!jx_only_fields(ct, fields, "conntrack", err) ||
	    !jx_uint(ct, "per_peer_max", false, "conntrack", 0, 1 << 24, &max,
		     err))
		return false;
	cfg->conntrack.per_peer_max = (uint32_t)max;
	return true;
}

/* The default budget: 1/8 of both conntrack tables, so one flooding
 * peer leaves 7/8 to the others, and a busy device is far from it (a
 * replied UDP flow, each DNS query, lives 120 s: 20 queries a second
 * hold 2,400 entries). */
static void resolve_budget(struct cg_config *cfg)
{
	uint64_t both = (uint64_t)cfg->limits.conntrack_tcp +
			cfg->limits.conntrack_other;

	if (cfg->conntrack.per_peer_max == CG_PER_PEER_MAX_AUTO)
		cfg->conntrack.per_peer_max = (uint32_t)(both / 8);
}

static bool parse_limits(json_object *lim, struct cg_config *cfg,
			 struct cg_error *err)
{
	static const char *const fields[] = { "max_peers", "conntrack_tcp",
					      "conntrack_other", "nat", NULL };
	uint64_t peers = cfg->limits.max_peers;
	uint64_t tcp = cfg->limits.conntrack_tcp;
	uint64_t other = cfg->limits.conntrack_other;
	uint64_t nat = cfg->limits.nat;

	if (!jx_only_fields(lim, fields, "limits", err) ||
	    !jx_uint(lim, "max_peers", false, "limits", 16, 1 << 20, &peers,
		     err) ||
	    !jx_uint(lim, "conntrack_tcp", false, "limits", 1024, 1 << 24, &tcp,
		     err) ||
	    !jx_uint(lim, "conntrack_other", false, "limits", 1024, 1 << 24,
		     &other, err) ||
	    !jx_uint(lim, "nat", false, "limits", 1024, 1 << 24, &nat, err))
		return false;
	cfg->limits.nat = (uint32_t)nat;
	cfg->limits.max_peers = (uint32_t)peers;
	cfg->limits.conntrack_tcp = (uint32_t)tcp;
	cfg->limits.conntrack_other = (uint32_t)other;
	return true;
}

static bool parse_local_networks(json_object *arr, struct cg_config *cfg,
				 struct cg_error *err)
{
	size_t i, n = json_object_array_length(arr);
	char field[64];

	if (n > CG_MAX_LOCAL_NETS) {
		cg_error_set(err, 400, "local_networks",
			     "at most %d local_networks", CG_MAX_LOCAL_NETS);
		return false;
	}
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		struct cg_cidr *c = &cfg->local_networks[i];

		snprintf(field, sizeof(field), "local_networks[%zu]", i);
		if (!json_object_is_type(v, json_type_string) ||
		    !parse_cidr(json_object_get_string(v), &c->addr, &c->prefix,
				false)) {
			cg_error_set(err, 400, field,
				     "'%s' must be a network like "
				     "192.168.1.0/24",
				     field);
			return false;
		}
	}
	cfg->n_local_networks = (unsigned int)n;
	return true;
}

/* The three interfaces must be distinct, and the subnets disjoint. */
static bool check_consistency(const struct cg_config *cfg, struct cg_error *err)
{
	const char *wg = cfg->wireguard.interface;
	const char *up = cfg->uplink.interface;
	const char *clash = NULL;
	unsigned int i, j;
	char field[64];

	if (!strcmp(wg, cfg->bridge.interface))
		clash = "bridge.interface";
	else if (up[0] &&
		 (!strcmp(wg, up) || !strcmp(cfg->bridge.interface, up)))
		clash = "uplink.interface";
	if (clash) {
		cg_error_set(err, 400, clash,
			     "wireguard, bridge and uplink interfaces must "
			     "differ");
		return false;
	}
	if (cfg->has_dns_ip6 && !cfg->wireguard.has_address6) {
		cg_error_set(err, 400, "dns_ip6",
			     "'dns_ip6' needs 'wireguard.address6'");
		return false;
	}
	if (cfg->bridge.has_subnet &&
	    cidrs_overlap(cfg->bridge.subnet.addr, cfg->bridge.subnet.prefix,
			  cfg->wireguard.subnet.addr,
			  cfg->wireguard.subnet.prefix)) {
		cg_error_set(err, 400, "bridge.subnet",
			     "'bridge.subnet' overlaps the WireGuard subnet");
		return false;
	}
	for (i = 0; i < cfg->n_local_networks; i++) {
		const struct cg_cidr *c = &cfg->local_networks[i];
		const char *other = NULL;

		snprintf(field, sizeof(field), "local_networks[%u]", i);
		if (cidrs_overlap(c->addr, c->prefix,
				  cfg->wireguard.subnet.addr,
				  cfg->wireguard.subnet.prefix))
			other = "the WireGuard subnet";
		else if (cfg->bridge.has_subnet &&
			 cidrs_overlap(c->addr, c->prefix,
				       cfg->bridge.subnet.addr,
				       cfg->bridge.subnet.prefix))
			other = "the bridge subnet";
		for (j = 0; !other && j < i; j++)
			if (cidrs_overlap(c->addr, c->prefix,
					  cfg->local_networks[j].addr,
					  cfg->local_networks[j].prefix))
				other = "an earlier local network";
		if (other) {
			cg_error_set(err, 400, field, "'%s' overlaps %s", field,
				     other);
			return false;
		}
	}
	return true;
}

/* "uplink": the interface, and the routed IPv6 prefix, if any. */
static bool parse_uplink(json_object *up, struct cg_config *cfg,
			 struct cg_error *err)
{
	static const char *const fields[] = { "interface", "prefix6", NULL };
	struct cg_cidr6 *p = &cfg->uplink.prefix6;
	char text[64] = "";

	if (!jx_only_fields(up, fields, "uplink", err) ||
	    !jx_ifname(up, "interface", false, "uplink", cfg->uplink.interface,
		       err) ||
	    !jx_string(up, "prefix6", false, "uplink", text, sizeof(text), err))
		return false;
	if (!text[0])
		return true;
	if (!parse_cidr6(text, &p->addr, &p->prefix, false) || p->prefix < 1 ||
	    ipv6_special(&p->addr)) {
		cg_error_set(err, 400, "uplink.prefix6",
			     "'uplink.prefix6' must be a global IPv6 network "
			     "like 2001:db8:1::/56");
		return false;
	}
	cfg->uplink.has_prefix6 = true;
	return true;
}

/* "dns_ip6": the resolver's IPv6 address (IPv6 cells only). */
static bool parse_dns6(json_object *root, struct cg_config *cfg,
		       struct cg_error *err)
{
	char text[64] = "";

	if (!jx_string(root, "dns_ip6", false, "", text, sizeof(text), err))
		return false;
	if (!json_object_object_get_ex(root, "dns_ip6", NULL))
		return true;
	if (!parse_ipv6(text, &cfg->dns_ip6) || ipv6_special(&cfg->dns_ip6)) {
		cg_error_set(err, 400, "dns_ip6",
			     "'dns_ip6' must be a unicast IPv6 address");
		return false;
	}
	cfg->has_dns_ip6 = true;
	return true;
}

static bool has_dns_field(json_object *root)
{
	return json_object_object_get_ex(root, "dns_ip", NULL);
}

static bool parse_top(json_object *root, struct cg_config *cfg,
		      struct cg_error *err)
{
	static const char *const fields[] = {
		"cell_name", "domain",	  "wireguard",	    "bridge",
		"uplink",    "api",	  "state_dir",	    "bpffs",
		"limits",    "log_level", "local_networks", "dns_ip",
		"nat",	     "sync",	  "metrics",	    "dataplane",
		"state",     "join",	  "peer_api",	    "dns_ip6",
		"conntrack", NULL
	};
	json_object *wg, *br, *up, *api, *lim, *nets, *nat, *sync, *metrics;
	json_object *dp, *stobj, *ct;
	char dns[32] = "";

	if (!jx_only_fields(root, fields, "", err) ||
	    !jx_string(root, "cell_name", true, "", cfg->cell_name,
		       sizeof(cfg->cell_name), err) ||
	    !jx_string(root, "domain", true, "", cfg->domain,
		       sizeof(cfg->domain), err) ||
	    !jx_member(root, "wireguard", json_type_object, true, "", &wg,
		       err) ||
	    !jx_member(root, "bridge", json_type_object, true, "", &br, err) ||
	    !jx_member(root, "uplink", json_type_object, false, "", &up, err) ||
	    !jx_member(root, "api", json_type_object, false, "", &api, err) ||
	    !jx_member(root, "limits", json_type_object, false, "", &lim,
		       err) ||
	    !jx_member(root, "nat", json_type_object, false, "", &nat, err) ||
	    !jx_member(root, "sync", json_type_object, false, "", &sync, err) ||
	    !jx_member(root, "metrics", json_type_object, false, "", &metrics,
		       err) ||
	    !jx_member(root, "dataplane", json_type_object, false, "", &dp,
		       err) ||
	    !jx_member(root, "state", json_type_object, false, "", &stobj,
		       err) ||
	    !jx_member(root, "conntrack", json_type_object, false, "", &ct,
		       err) ||
	    !jx_member(root, "local_networks", json_type_array, false, "",
		       &nets, err) ||
	    !jx_string(root, "state_dir", false, "", cfg->state_dir, PATH_MAX,
		       err) ||
	    !jx_string(root, "bpffs", false, "", cfg->bpffs, PATH_MAX, err) ||
	    !jx_string(root, "log_level", false, "", cfg->log_level,
		       sizeof(cfg->log_level), err) ||
	    !jx_string(root, "dns_ip", false, "", dns, sizeof(dns), err))
		return false;
	if (has_dns_field(root) && !parse_ipv4(dns, &cfg->dns_ip)) {
		cg_error_set(err, 400, "dns_ip",
			     "'dns_ip' must be an IPv4 address");
		return false;
	}
	cfg->has_dns_ip = has_dns_field(root);
	if (!parse_dns6(root, cfg, err))
		return false;

	if (!valid_name(cfg->cell_name)) {
		cg_error_set(err, 400, "cell_name",
			     "'cell_name' must match [A-Za-z0-9_.-]{1,64}");
		return false;
	}
	if (!parse_wireguard(wg, cfg, err) || !parse_bridge(br, cfg, err) ||
	    (api && !parse_api(api, cfg, err)) ||
	    (lim && !parse_limits(lim, cfg, err)) ||
	    (nat && !parse_nat(nat, cfg, err)) ||
	    (sync && !parse_sync(sync, cfg, err)) ||
	    (metrics && !parse_metrics(metrics, cfg, err)) ||
	    (dp && !parse_dataplane(dp, cfg, err)) ||
	    (stobj && !parse_state_opts(stobj, cfg, err)) ||
	    (ct && !parse_conntrack(ct, cfg, err)) ||
	    !parse_peer_listeners(root, cfg, err) ||
	    (nets && !parse_local_networks(nets, cfg, err)))
		return false;
	resolve_budget(cfg);
	return !up || parse_uplink(up, cfg, err);
}

static bool check_values(const struct cg_config *cfg, struct cg_error *err)
{
	static const char *const levels[] = { "error", "warn", "info",
					      "debug" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(levels); i++)
		if (!strcmp(cfg->log_level, levels[i]))
			break;
	if (i == ARRAY_SIZE(levels)) {
		cg_error_set(err, 400, "log_level",
			     "'log_level' must be error, warn, info or debug");
		return false;
	}
	if (!cfg->domain[0] || strchr(cfg->domain, '/') ||
	    strchr(cfg->domain, ' ')) {
		cg_error_set(err, 400, "domain", "'domain' is not a domain");
		return false;
	}
	if (cfg->metrics.enabled &&
	    cfg->metrics.listen_port == cfg->api.listen_port) {
		cg_error_set(err, 400, "metrics.listen",
			     "'metrics.listen' must use another port than "
			     "'api.listen'");
		return false;
	}
	if (cfg->peer_api.port && cfg->peer_api.port == cfg->sync.port) {
		cg_error_set(err, 400, "peer_api.port",
			     "'peer_api.port' must differ from 'sync.port' "
			     "(both listen on the wg address)");
		return false;
	}
	return absolute_path("state_dir", cfg->state_dir, err) &&
	       absolute_path("bpffs", cfg->bpffs, err) &&
	       check_consistency(cfg, err);
}

int config_parse(const char *buf, size_t len, struct cg_config *cfg,
		 struct cg_error *err)
{
	json_object *root;
	bool ok;

	config_defaults(cfg);
	root = jx_parse_object(buf, len, err);
	if (!root)
		return -EINVAL;
	ok = parse_top(root, cfg, err) && check_values(cfg, err);
	json_object_put(root);
	return ok ? 0 : -EINVAL;
}

int config_load(const char *path, struct cg_config *cfg, struct cg_error *err)
{
	size_t len;
	char *buf = read_file(path, CONFIG_MAX_BYTES, &len);
	int ret;

	if (!buf) {
		cg_error_set(err, 400, "", "cannot read %s: %s", path,
			     strerror(errno));
		return -errno;
	}
	ret = config_parse(buf, len, cfg, err);
	free(buf);
	if (!ret)
		snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	return ret;
}
