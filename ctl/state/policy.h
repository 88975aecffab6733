/* SPDX-License-Identifier: MIT */
/*
 * The policy compiler: from the cell's state and configuration to the
 * entries of the identity, service and local-network maps. Pure functions
 * with no BPF calls, so unit tests check exactly what the maps will hold.
 */
#ifndef CELLGATE_POLICY_H
#define CELLGATE_POLICY_H

#include <stddef.h>

#include "abi.h"
#include "config.h"
#include "state.h"

struct policy_peer {
	struct cg_addr_key key;
	struct cg_identity value; /* epoch left 0: the dataplane owns it */
	/* cg_rate[value.id]'s rates (issue 18); both 0 when unlimited. */
	uint64_t down_ps_per_byte, up_ps_per_byte;
};

/* The peer's effective rate limit (policy.c): per direction the
 * tightest (smallest non-zero) of its own and its groups' in st (st
 * NULL: its own), in Mbit/s; into out's flag and rates. */
void policy_effective_rate(const struct cg_state *st,
			   const struct cg_peer_def *peer, uint32_t *down,
			   uint32_t *up);
void policy_peer_rate(const struct cg_state *st, const struct cg_peer_def *peer,
		      struct policy_peer *out);

/* A linked cell: its subnet in the cg_cells trie. */
struct policy_cell {
	struct cg_lpm_key key;
	struct cg_identity value; /* epoch left 0 */
};

struct policy_service {
	struct cg_service_key key;
	struct cg_service value;
};

struct policy_dnat {
	struct cg_dnat_key key;
	struct cg_dnat_target value;
};

/* An IPv6 dnat entry (issue 17): the same key, an IPv6 backend. */
struct policy_dnat6 {
	struct cg_dnat_key key;
	struct cg_dnat6_target value;
};

struct policy_forward {
	struct cg_forward_key key;
	struct cg_forward value;
};

struct policy_fwd_allow {
	struct cg_fwd_allow_key key;
	__u8 value;
};

/* One class pair of the rules between peers (policy_rules.c). */
struct policy_rule {
	struct cg_rule_key key;
	struct cg_rule_ports value;
};

struct policy_net {
	struct cg_lpm_key key;
	struct cg_local_net value;
};

/* IPv6 (issue 17): the same identity under the peer's ip6. */
struct policy_peer6 {
	struct cg_addr6_key key;
	struct cg_identity value;
};

struct policy_cell6 {
	struct cg_lpm6_key key;
	struct cg_identity value;
};

struct policy_service6 {
	struct cg_service6_key key;
	struct cg_service value;
};

struct policy_net6 {
	struct cg_lpm6_key key;
	struct cg_local_net value;
};

/* An address hosts on the bridge may send from (cg_bridge_src). */
struct policy_bridge_src {
	struct cg_addr_key key;
	struct cg_bridge_src value;
};

/* A bridge.allowed_sources prefix (cg_bridge_nets). */
struct policy_bridge_net {
	struct cg_lpm_key key;
	__u8 value;
};

/* The same two for IPv6 (cg_bridge_src6, cg_bridge_nets6). */
struct policy_bridge_src6 {
	struct cg_addr6_key key;
	struct cg_bridge_src value;
};

struct policy_bridge_net6 {
	struct cg_lpm6_key key;
	__u8 value;
};

struct policy {
	struct policy_peer *peers;
	size_t n_peers;
	struct policy_cell *cells;
	size_t n_cells;
	struct policy_service *services;
	size_t n_services;
	struct policy_dnat *dnat; /* service ports on the wg address */
	size_t n_dnat;
	struct policy_dnat6 *dnat6; /* ... on the wg address6 */
	size_t n_dnat6;
	struct policy_forward *forwards; /* ports of the uplink address */
	size_t n_forwards;
	struct policy_fwd_allow *fwd_allow; /* their allow_from lists */
	size_t n_fwd_allow;
	struct policy_net nets[2 + CG_MAX_LOCAL_NETS];
	size_t n_nets;
	struct policy_rule *rules; /* sorted by key */
	size_t n_rules;
	/* IPv6: peers with an ip6 (sorted by key), the cell's networks;
	 * empty when the cell is IPv4-only. */
	struct policy_peer6 *peers6;
	size_t n_peers6;
	struct policy_net6 nets6[2];
	size_t n_nets6;
	struct policy_service6 *services6; /* IPv6 endpoints */
	size_t n_services6;
	struct policy_cell6 *cells6; /* linked cells with a subnet6 */
	size_t n_cells6;
	/* Bridge anti-spoofing: service endpoints and backends, forward
	 * targets, the operator's addresses; its prefixes. Both empty when
	 * bridge.anti_spoofing is off. */
	struct policy_bridge_src *bridge_src;
	size_t n_bridge_src;
	struct policy_bridge_net bridge_nets[CG_MAX_BRIDGE_SOURCES];
	size_t n_bridge_nets;
	struct policy_bridge_src6 *bridge_src6;
	size_t n_bridge_src6;
	struct policy_bridge_net6 bridge_nets6[CG_MAX_BRIDGE_SOURCES];
	size_t n_bridge_nets6;
};

/* The identity entry of one linked cell: its inbound permissions, and
 * the sync listener, which every linked cell may reach. */
void policy_cell_entry(const struct cg_state *st,
		       const struct cg_cell_def *cell, bool sync,
		       struct policy_cell *out);

/* The identity map entry of one peer: its rule class and the services
 * rules give it come from st's rules (O(rules)). */
void policy_peer_entry(const struct cg_state *st,
		       const struct cg_peer_def *peer, struct policy_peer *out);

/* ---- rules between peers (policy_rules.c) ---- */
/* What identities' entries need from the rules, gathered once (named
 * peers and cells sorted, the rules to services): O(log rules) per
 * identity after O(rules log rules) here. */
struct policy_rules_ctx {
	const struct cg_state *st;
	const char **peers, **cells; /* named by peer:/cell:, sorted */
	size_t n_peers, n_cells;
	const struct cg_rule_def **svc; /* rules to service:NAME */
	size_t n_svc;
};
int policy_rules_ctx_init(const struct cg_state *st,
			  struct policy_rules_ctx *ctx);
void policy_rules_ctx_free(struct policy_rules_ctx *ctx);
/* An identity's rule class: 0 when no rule can match it. */
uint64_t policy_ctx_peer_class(const struct policy_rules_ctx *ctx,
			       const struct cg_peer_def *peer);
uint64_t policy_ctx_cell_class(const struct policy_rules_ctx *ctx,
			       const struct cg_cell_def *cell);
/* OR into services the bits of the services rules give the peer (or,
 * peer NULL, the cell). */
void policy_ctx_services(const struct policy_rules_ctx *ctx,
			 const struct cg_peer_def *peer,
			 const struct cg_cell_def *cell, __u64 *services);
/* The peer's entry with a context built once for many peers. */
void policy_peer_entry_ctx(const struct policy_rules_ctx *ctx,
			   const struct cg_peer_def *peer,
			   struct policy_peer *out);
/* Compile st's rules into out->rules (sorted by key). 0; -E2BIG (409 at
 * "ports": a class pair needs more than CG_RULE_PORTS ranges), -ENOTUNIQ
 * (two classes' hashes collide) or -ENOMEM, with err set. */
int policy_compile_rules(const struct cg_state *st, struct policy *out,
			 struct cg_error *err);
const struct policy_rule *policy_find_rule(const struct policy *pol,
					   const struct cg_rule_key *key);

/* The cg_peers6 entry of a peer, the identity of its cg_peers entry v4
 * (compiled) under its ip6; false when it has no ip6. */
bool policy_peer6_entry(const struct cg_peer_def *peer,
			const struct policy_peer *v4, struct policy_peer6 *out);
const struct policy_peer6 *policy_find_peer6(const struct policy *pol,
					     const struct cg_addr6_key *key);

/* The service map entries of one service: one per endpoint and protocol
 * (an "any" endpoint becomes tcp, udp and icmp entries). Returns how many
 * were written (at most cap). */
size_t policy_service_entries(const struct cg_service_def *svc,
			      struct policy_service *out, size_t cap);
#define POLICY_MAX_SERVICE_ENTRIES (CG_MAX_ENDPOINTS * 3)
/* The same for its IPv6 endpoints (cg_services6); icmp is ICMPv6 there. */
size_t policy_service6_entries(const struct cg_service_def *svc,
			       struct policy_service6 *out, size_t cap);

/* The compiled entry for a peer address (peers are sorted by key). */
const struct policy_peer *policy_find_peer(const struct policy *pol,
					   const struct cg_addr_key *key);

/* Does a forward rewrite its flows' source to the wg address? (auto:
 * when its target is reached over WireGuard.) */
bool policy_forward_snat(const struct cg_config *cfg,
			 const struct cg_forward_def *fwd);

/* Who may send from which address on the bridge (policy_bridge.c), both
 * families: what the hosts back (service endpoints, dnat backends,
 * forward targets) and what the operator lists; nothing when
 * bridge.anti_spoofing is off. 0 or -ENOMEM. */
int policy_compile_bridge(const struct cg_state *st,
			  const struct cg_config *cfg, struct policy *pol);

/* Compile everything. 0 or -ENOMEM. */
int policy_compile(const struct cg_state *st, const struct cg_config *cfg,
		   struct policy *out);
/* Only the forwards and their allow lists, and the bridge's sources
 * (what dp_sync_forwards writes): O(forwards + services), whatever the
 * number of peers. */
int policy_compile_forwards(const struct cg_state *st,
			    const struct cg_config *cfg, struct policy *out);
void policy_free(struct policy *pol);

#endif
