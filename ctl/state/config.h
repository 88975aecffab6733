/* SPDX-License-Identifier: MIT */
/*
 * The bootstrap configuration (`cellgate run --config FILE`). Its field
 * names are a contract: fields may be added, never renamed.
 */
#ifndef CELLGATE_CONFIG_H
#define CELLGATE_CONFIG_H

#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define CG_DEFAULT_CONFIG "/etc/cellgate/cellgate.json"
#define CG_MAX_LOCAL_NETS 16
/* bridge.allowed_sources entries (cg_bridge_nets holds 64 prefixes). */
#define CG_MAX_BRIDGE_SOURCES 64

struct cg_cidr {
	struct in_addr addr; /* network order */
	uint8_t prefix;
};

/* metrics.per_peer_limit's default: a scrape of this many peers' series
 * stays near 10 ms. */
#define CG_METRICS_PER_PEER_LIMIT 1000
/* conntrack.per_peer_max not given: derived from the table sizes. */
#define CG_PER_PEER_MAX_AUTO UINT32_MAX

struct cg_config {
	char path[PATH_MAX]; /* where it was read from */
	char cell_name[CG_NAME_MAX + 1];
	char domain[254];

	struct {
		char interface[IF_NAMESIZE];
		struct in_addr address; /* the router's own address */
		struct cg_cidr subnet; /* address/prefix, host bits cleared */
		uint16_t listen_port;
		char private_key_file[PATH_MAX];
		char endpoint[256]; /* host:port peers connect to */
		/* "address6" (issue 17): absent, the cell is IPv4-only. */
		bool has_address6;
		struct in6_addr address6; /* the router's own */
		struct cg_cidr6 subnet6; /* host bits cleared */
	} wireguard;

	struct {
		char interface[IF_NAMESIZE];
		bool has_subnet; /* else read from the interface at start */
		struct cg_cidr subnet;
		/* Read from the interface at start (global scope), if any. */
		bool has_subnet6;
		struct cg_cidr6 subnet6;
		/* "anti_spoofing" (default true): a program on each port
		 * drops what a host sends from another's address. */
		bool anti_spoofing;
		/* "allowed_sources": addresses (bound to the first port
		 * that uses one) and prefixes (any port) hosts may send
		 * from, beyond the services and forwards they back. */
		struct cg_cidr allowed_sources[CG_MAX_BRIDGE_SOURCES];
		unsigned int n_allowed_sources;
		/* Its IPv6 entries (cg_bridge_src6, cg_bridge_nets6). */
		struct cg_cidr6 allowed_sources6[CG_MAX_BRIDGE_SOURCES];
		unsigned int n_allowed_sources6;
	} bridge;

	struct {
		char interface[IF_NAMESIZE];
		/* "prefix6": a routed IPv6 prefix peers' addresses reach the
		 * internet from without NAT; absent, NAT66 to the uplink's
		 * address. */
		bool has_prefix6;
		struct cg_cidr6 prefix6;
	} uplink;

	struct {
		char listen[64]; /* "127.0.0.1:8470" */
		struct in_addr listen_addr;
		uint16_t listen_port;
		char token_file[PATH_MAX];
	} api;

	/* A listener for Prometheus alone (/metrics and /health, no
	 * token), when "metrics.listen" is set; /metrics is on the admin
	 * API (with the token) either way. */
	struct {
		bool enabled;
		char listen[64];
		struct in_addr listen_addr;
		uint16_t listen_port;
		/* Above this many peers, per-peer series stop (a scrape of
		 * 10k peers' series is 140k lines); the aggregates stay. */
		uint32_t per_peer_limit;
	} metrics;

	char state_dir[PATH_MAX];
	char bpffs[PATH_MAX];

	/* Extra networks of the cell (beyond wg and bridge subnets) that
	 * peers reach only through services. */
	struct cg_cidr local_networks[CG_MAX_LOCAL_NETS];
	unsigned int n_local_networks;

	struct {
		uint32_t max_peers; /* sizes cg_peers, counters, epochs */
		uint32_t conntrack_tcp;
		uint32_t conntrack_other;
		uint32_t nat; /* cg_nat entries: two per translated flow */
	} limits;

	/* "conntrack.per_peer_max": conntrack entries one peer (not a
	 * linked cell: its own cellgate budgets its peers) may hold (its new flows past that are dropped, flow_budget),
	 * so a flood from one peer cannot evict the others' flows. Default
	 * 1/8 of both tables; 0 turns budgets off. */
	struct {
		uint32_t per_peer_max;
	} conntrack;

	struct {
		/* Cell-to-cell: the sync listener on the wg address (over
		 * WireGuard), the pairing listener on every address (the
		 * first contact, before a tunnel exists). 0 turns off. */
		uint16_t port;
		uint16_t pairing_port;
	} sync;

	/* Devices enrolling with a join token (POST /api/join): a listener
	 * of its own, off unless "join.listen" is set; it may face the
	 * uplink. rate_per_minute: requests a source address may make. */
	struct {
		bool enabled;
		char listen[64];
		struct in_addr listen_addr;
		/* "[IPv6]:port": the listener is IPv6 (an uplink with only
		 * IPv6, or both with [::]). */
		bool listen_v6;
		struct in6_addr listen_addr6;
		uint16_t listen_port;
		uint32_t rate_per_minute;
	} join;

	/* A peer's own API (/api/peer/me...) on the wg address; the caller
	 * is the peer whose WireGuard address the request comes from. 0
	 * turns it off. */
	struct {
		uint16_t port;
	} peer_api;

	struct {
		bool masquerade; /* SNAT forwarded traffic on the uplink */
		uint16_t port_min; /* NAT ports when a flow's own is taken */
		uint16_t port_max;
	} nat;

	/* "dataplane.foreign_programs": "replace" (default) puts ours back
	 * on a hook where another program replaced it; "leave" keeps theirs
	 * and warns (the policy is then not enforced on that hook). */
	struct {
		bool leave_foreign;
	} dataplane;

	/* "state.on_corrupt": "fallback" (default) starts from the newest
	 * generation that validates, saying so; "refuse" does not start. */
	struct {
		bool refuse_corrupt;
	} state;

	char log_level[8]; /* error, warn, info, debug */

	/* The resolver peers use (DNS = in client configs), if any. */
	bool has_dns_ip;
	struct in_addr dns_ip;
	/* Its IPv6 address ("dns_ip6"), in client configs beside dns_ip. */
	bool has_dns_ip6;
	struct in6_addr dns_ip6;
};

/* Parse and validate a configuration document. */
int config_parse(const char *buf, size_t len, struct cg_config *cfg,
		 struct cg_error *err);
/* Read and parse a file; err says what is wrong and where. */
int config_load(const char *path, struct cg_config *cfg, struct cg_error *err);

#endif
