// SPDX-License-Identifier: MIT
/*
 * The bridge's allowed sources (bridge anti-spoofing, issue 21): which
 * addresses a host on the service bridge may send from, for
 * bpf/bridge_port.bpf.c. Exact addresses (a port claims each for itself)
 * and the operator's prefixes (any port), in both families.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

/* Whether a backend's address can be a host on the bridge: in the
 * bridge's subnet when it is known, never in the WireGuard subnet (a
 * forward to a peer must not let a bridge host send as that peer). */
static bool on_bridge(const struct cg_config *cfg, struct in_addr addr)
{
	if (cidr_contains(cfg->wireguard.subnet.addr,
			  cfg->wireguard.subnet.prefix, addr))
		return false;
	return !cfg->bridge.has_subnet ||
	       cidr_contains(cfg->bridge.subnet.addr, cfg->bridge.subnet.prefix,
			     addr);
}

static bool on_bridge6(const struct cg_config *cfg, const struct in6_addr *a)
{
	if (cfg->wireguard.has_address6 &&
	    cidr6_contains(&cfg->wireguard.subnet6.addr,
			   cfg->wireguard.subnet6.prefix, a))
		return false;
	return !cfg->bridge.has_subnet6 ||
	       cidr6_contains(&cfg->bridge.subnet6.addr,
			      cfg->bridge.subnet6.prefix, a);
}

/* Add addr to the bridge's sources unless it is there (the first reason
 * named wins; the lists are short: services and forwards). */
static void add_src(struct policy *pol, struct in_addr addr,
		    enum cg_bridge_src_kind kind)
{
	struct policy_bridge_src *e;
	size_t i;

	for (i = 0; i < pol->n_bridge_src; i++)
		if (!memcmp(pol->bridge_src[i].key.addr, &addr.s_addr, 4))
			return;
	e = &pol->bridge_src[pol->n_bridge_src++];
	memset(e, 0, sizeof(*e));
	memcpy(e->key.addr, &addr.s_addr, 4);
	e->value.kind = kind;
}

static void add_src6(struct policy *pol, const struct in6_addr *addr,
		     enum cg_bridge_src_kind kind)
{
	struct policy_bridge_src6 *e;
	size_t i;

	for (i = 0; i < pol->n_bridge_src6; i++)
		if (!memcmp(pol->bridge_src6[i].key.addr, addr, 16))
			return;
	e = &pol->bridge_src6[pol->n_bridge_src6++];
	memset(e, 0, sizeof(*e));
	memcpy(e->key.addr, addr, 16);
	e->value.kind = kind;
}

/* What the services and forwards back. */
static void add_backends(const struct cg_state *st, const struct cg_config *cfg,
			 struct policy *pol)
{
	const struct cg_endpoint *ep;
	size_t i;
	unsigned int j;

	for (i = 0; i < st->n_services; i++) {
		const struct cg_service_def *s = &st->services[i];

		for (j = 0; j < s->n_endpoints; j++) {
			ep = &s->endpoints[j];
			if (ep->v6 && on_bridge6(cfg, &ep->ip6))
				add_src6(pol, &ep->ip6, CG_BRSRC_SERVICE);
			else if (!ep->v6 && on_bridge(cfg, ep->ip))
				add_src(pol, ep->ip, CG_BRSRC_SERVICE);
		}
		for (j = 0; j < s->n_dnat; j++) {
			const struct cg_dnat *d = &s->dnat[j];

			if (d->v6 && on_bridge6(cfg, &d->to_ip6))
				add_src6(pol, &d->to_ip6, CG_BRSRC_SERVICE);
			else if (!d->v6 && on_bridge(cfg, d->to_ip))
				add_src(pol, d->to_ip, CG_BRSRC_SERVICE);
		}
	}
	for (i = 0; i < st->n_forwards; i++)
		if (on_bridge(cfg, st->forwards[i].target_ip))
			add_src(pol, st->forwards[i].target_ip,
				CG_BRSRC_FORWARD);
}

/* bridge.allowed_sources: a host address is exact (bound to a port), a
 * network any port's. */
static void add_operator(const struct cg_config *cfg, struct policy *pol)
{
	unsigned int j;

	for (j = 0; j < cfg->bridge.n_allowed_sources; j++) {
		const struct cg_cidr *a = &cfg->bridge.allowed_sources[j];
		struct policy_bridge_net *n;

		if (a->prefix == 32) {
			add_src(pol, a->addr, CG_BRSRC_OPERATOR);
			continue;
		}
		n = &pol->bridge_nets[pol->n_bridge_nets++];
		memset(n, 0, sizeof(*n));
		n->key.prefixlen = a->prefix;
		memcpy(n->key.addr, &a->addr.s_addr, 4);
		n->value = 1;
	}
	for (j = 0; j < cfg->bridge.n_allowed_sources6; j++) {
		const struct cg_cidr6 *a = &cfg->bridge.allowed_sources6[j];
		struct policy_bridge_net6 *n;

		if (a->prefix == 128) {
			add_src6(pol, &a->addr, CG_BRSRC_OPERATOR);
			continue;
		}
		n = &pol->bridge_nets6[pol->n_bridge_nets6++];
		memset(n, 0, sizeof(*n));
		n->key.prefixlen = a->prefix;
		memcpy(n->key.addr, &a->addr, 16);
		n->value = 1;
	}
}

int policy_compile_bridge(const struct cg_state *st,
			  const struct cg_config *cfg, struct policy *pol)
{
	size_t i, cap = st->n_forwards + CG_MAX_BRIDGE_SOURCES + 1;

	if (!cfg->bridge.anti_spoofing)
		return 0;
	for (i = 0; i < st->n_services; i++)
		cap += st->services[i].n_endpoints + st->services[i].n_dnat;
	pol->bridge_src = calloc(cap, sizeof(*pol->bridge_src));
	pol->bridge_src6 = calloc(cap, sizeof(*pol->bridge_src6));
	if (!pol->bridge_src || !pol->bridge_src6)
		return -ENOMEM;
	add_backends(st, cfg, pol);
	add_operator(cfg, pol);
	return 0;
}
