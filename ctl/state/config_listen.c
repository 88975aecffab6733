// SPDX-License-Identifier: MIT
/*
 * The config's listeners: the admin API, metrics, the cell-to-cell sync
 * and pairing ports, the join listener and the peers' own API. Split
 * from config.c, which calls these from its top-level parse.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_internal.h"
#include "jsonx.h"
#include "util.h"

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

bool config_parse_api(json_object *api, struct cg_config *cfg,
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
	return config_absolute_path("api.token_file", cfg->api.token_file, err);
}

bool config_parse_metrics(json_object *metrics, struct cg_config *cfg,
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
bool config_parse_sync(json_object *sync, struct cg_config *cfg,
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
/* join.listen: "IPv4:port", or "[IPv6]:port" (issue 17: a device may
 * join over IPv6). */
static bool join_listen(struct cg_config *cfg, struct cg_error *err)
{
	char host[64];
	size_t n;

	if (parse_host_port(cfg->join.listen, host, sizeof(host),
			    &cfg->join.listen_port) &&
	    host[0] == '[' && (n = strlen(host)) > 2 && host[n - 1] == ']') {
		host[n - 1] = '\0';
		cfg->join.listen_v6 =
			parse_ipv6(host + 1, &cfg->join.listen_addr6);
		if (cfg->join.listen_v6)
			return true;
	}
	if (listen_address("join.listen", cfg->join.listen,
			   &cfg->join.listen_addr, &cfg->join.listen_port,
			   "0.0.0.0:8473", err))
		return true;
	cg_error_set(err, 400, "join.listen",
		     "'join.listen' must be IPv4:port or [IPv6]:port, like "
		     "0.0.0.0:8473 or [::]:8473");
	return false;
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
bool config_parse_peer_listeners(json_object *root, struct cg_config *cfg,
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
