// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "policy.h"

/* A byte's cost at mbit Mbit/s, in picoseconds (lib/rate.h); 0 when
 * unlimited. */
static uint64_t ps_per_byte(uint32_t mbit)
{
	return mbit ? 8000000ull / mbit : 0;
}

/* The tighter of two limits: the smaller non-zero (0 is unlimited). */
static uint32_t tighter(uint32_t a, uint32_t b)
{
	if (!a || !b)
		return a | b;
	return a < b ? a : b;
}

void policy_effective_rate(const struct cg_state *st,
			   const struct cg_peer_def *peer, uint32_t *down,
			   uint32_t *up)
{
	unsigned int k;

	*down = peer->down_mbit;
	*up = peer->up_mbit;
	for (k = 0; st && k < peer->n_groups; k++) {
		const struct cg_group_def *g = state_group(st, peer->groups[k]);

		if (g) {
			*down = tighter(*down, g->down_mbit);
			*up = tighter(*up, g->up_mbit);
		}
	}
}

/* The peer's effective rate limit (its own and its groups', the tighter
 * wins), compiled: the flag the datapath tests (through the epoch) and
 * cg_rate's rates. O(groups of the peer): a lookup each. */
void policy_peer_rate(const struct cg_state *st, const struct cg_peer_def *peer,
		      struct policy_peer *out)
{
	uint32_t down, up;

	policy_effective_rate(st, peer, &down, &up);
	out->down_ps_per_byte = ps_per_byte(down);
	out->up_ps_per_byte = ps_per_byte(up);
	out->value.rate_limited = down || up;
}

/* Without rules (or without a state: only the key is wanted) no class
 * and no rule-given services. */
static void peer_entry(const struct cg_state *st,
		       const struct policy_rules_ctx *ctx,
		       const struct cg_peer_def *peer, struct policy_peer *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->key.addr, &peer->ip.s_addr, 4);
	out->value.id = peer->id;
	out->value.kind = CG_KIND_PEER;
	out->value.peer_to_peer = peer->peer_to_peer;
	out->value.internet_access = peer->internet_access;
	/* A change of exit is a policy change: the identity differs, so
	 * it is written with a new epoch and its flows are re-judged. */
	out->value.exit_id = peer->exit_id;
	policy_peer_rate(st, peer, out);
	memcpy(out->value.services, peer->access, sizeof(out->value.services));
	/* Every peer may reach its own API (when peer_api.port is set, a
	 * service entry maps the port to this id). */
	out->value.services[CG_PEER_API_SERVICE_ID / 64] |=
		1ull << (CG_PEER_API_SERVICE_ID % 64);
	if (ctx && ctx->st->n_rules) {
		out->value.rule_class = policy_ctx_peer_class(ctx, peer);
		policy_ctx_services(ctx, peer, NULL, out->value.services);
	}
}

void policy_peer_entry_ctx(const struct policy_rules_ctx *ctx,
			   const struct cg_peer_def *peer,
			   struct policy_peer *out)
{
	peer_entry(ctx ? ctx->st : NULL, ctx, peer, out);
}

void policy_peer_entry(const struct cg_state *st,
		       const struct cg_peer_def *peer, struct policy_peer *out)
{
	struct policy_rules_ctx ctx;

	/* Out of memory: the entry without what rules give (denies more,
	 * never less); the periodic map check writes it again. */
	if (!st || !st->n_rules || policy_rules_ctx_init(st, &ctx)) {
		peer_entry(st, NULL, peer, out);
		return;
	}
	peer_entry(st, &ctx, peer, out);
	policy_rules_ctx_free(&ctx);
}

bool policy_peer6_entry(const struct cg_peer_def *peer,
			const struct policy_peer *v4, struct policy_peer6 *out)
{
	if (ipv6_is_zero(&peer->ip6))
		return false;
	/* One identity, written once: both families share the policy. */
	memset(out, 0, sizeof(*out));
	memcpy(out->key.addr, &peer->ip6, 16);
	out->value = v4->value;
	return true;
}

void policy_cell_entry(const struct cg_state *st,
		       const struct cg_cell_def *cell, bool sync,
		       struct policy_cell *out)
{
	struct policy_rules_ctx ctx;

	memset(out, 0, sizeof(*out));
	out->key.prefixlen = cell->info.vpn_subnet.prefix;
	memcpy(out->key.addr, &cell->info.vpn_subnet.addr.s_addr, 4);
	out->value.id = cell->id;
	out->value.kind = CG_KIND_CELL;
	/* Cells never get our peers or the internet through us. */
	memcpy(out->value.services, cell->inbound, sizeof(out->value.services));
	if (sync)
		out->value.services[CG_SYNC_SERVICE_ID / 64] |=
			1ull << (CG_SYNC_SERVICE_ID % 64);
	if (st && st->n_rules && !policy_rules_ctx_init(st, &ctx)) {
		out->value.rule_class = policy_ctx_cell_class(&ctx, cell);
		policy_ctx_services(&ctx, NULL, cell, out->value.services);
		policy_rules_ctx_free(&ctx);
	}
}

/* A listener of the controller on the wg address as a service: tcp,
 * port, service id; nothing when port is 0 (off). */
static size_t add_own_listener(const struct cg_config *cfg, uint16_t port,
			       uint32_t id, struct policy_service *out)
{
	if (!port)
		return 0;
	memset(out, 0, sizeof(*out));
	memcpy(out->key.addr, &cfg->wireguard.address.s_addr, 4);
	out->key.port = port;
	out->key.proto = IPPROTO_TCP;
	out->value.service_id = id;
	return 1;
}

/* The peers' own API on the router's address6: every peer's bitmap has
 * its service id, as for the IPv4 listener. */
static size_t add_own_listener6(const struct cg_config *cfg, uint16_t port,
				uint32_t id, struct policy_service6 *out)
{
	if (!port || !cfg->wireguard.has_address6)
		return 0;
	memset(out, 0, sizeof(*out));
	memcpy(out->key.addr, &cfg->wireguard.address6, 16);
	out->key.port = port;
	out->key.proto = IPPROTO_TCP;
	out->value.service_id = id;
	return 1;
}

static size_t add_service_entry(const struct cg_service_def *svc,
				const struct cg_endpoint *ep, uint8_t proto,
				struct policy_service *out, size_t n,
				size_t cap)
{
	/* IPv6 endpoints are cg_services6's. */
	if (n >= cap || ep->v6)
		return n;
	memset(&out[n], 0, sizeof(out[n]));
	memcpy(out[n].key.addr, &ep->ip.s_addr, 4);
	out[n].key.port = ep->port;
	out[n].key.proto = proto;
	out[n].value.service_id = svc->id;
	return n + 1;
}

size_t policy_service_entries(const struct cg_service_def *svc,
			      struct policy_service *out, size_t cap)
{
	size_t n = 0;
	unsigned int i;

	for (i = 0; i < svc->n_endpoints; i++) {
		const struct cg_endpoint *ep = &svc->endpoints[i];

		if (ep->proto) {
			n = add_service_entry(svc, ep, ep->proto, out, n, cap);
			continue;
		}
		n = add_service_entry(svc, ep, IPPROTO_TCP, out, n, cap);
		n = add_service_entry(svc, ep, IPPROTO_UDP, out, n, cap);
		n = add_service_entry(svc, ep, IPPROTO_ICMP, out, n, cap);
	}
	return n;
}

static size_t add_service6_entry(const struct cg_service_def *svc,
				 const struct cg_endpoint *ep, uint8_t proto,
				 struct policy_service6 *out, size_t n,
				 size_t cap)
{
	if (n >= cap || !ep->v6)
		return n;
	memset(&out[n], 0, sizeof(out[n]));
	memcpy(out[n].key.addr, &ep->ip6, 16);
	out[n].key.port = ep->port;
	/* IPv6 echo and errors are ICMPv6, the protocol its packets carry. */
	out[n].key.proto = proto == IPPROTO_ICMP ? IPPROTO_ICMPV6 : proto;
	out[n].value.service_id = svc->id;
	return n + 1;
}

size_t policy_service6_entries(const struct cg_service_def *svc,
			       struct policy_service6 *out, size_t cap)
{
	static const uint8_t any[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP };
	size_t n = 0, k;
	unsigned int i;

	for (i = 0; i < svc->n_endpoints; i++) {
		const struct cg_endpoint *ep = &svc->endpoints[i];

		if (ep->proto) {
			n = add_service6_entry(svc, ep, ep->proto, out, n, cap);
			continue;
		}
		for (k = 0; k < ARRAY_SIZE(any); k++)
			n = add_service6_entry(svc, ep, any[k], out, n, cap);
	}
	return n;
}

/* An IPv6 dnat entry: wg address6:port -> backend (cg_dnat6). */
static void compile_dnat6(const struct cg_service_def *svc,
			  const struct cg_dnat *dn, struct policy *pol)
{
	struct policy_dnat6 *d = &pol->dnat6[pol->n_dnat6++];

	memset(d, 0, sizeof(*d));
	d->key.port = dn->port;
	d->key.proto = dn->proto;
	memcpy(d->value.to_addr, &dn->to_ip6, 16);
	d->value.to_port = dn->to_port;
	d->value.service_id = svc->id;
}

/* Each service's dnat entries: wg address:port -> backend, carrying the
 * service id (access to the port is access to the service). */
static void compile_dnat(const struct cg_state *st, struct policy *pol)
{
	size_t i;
	unsigned int j;

	for (i = 0; i < st->n_services; i++) {
		const struct cg_service_def *svc = &st->services[i];

		for (j = 0; j < svc->n_dnat; j++) {
			struct policy_dnat *d;

			if (svc->dnat[j].v6) {
				compile_dnat6(svc, &svc->dnat[j], pol);
				continue;
			}
			d = &pol->dnat[pol->n_dnat++];
			memset(d, 0, sizeof(*d));
			d->key.port = svc->dnat[j].port;
			d->key.proto = svc->dnat[j].proto;
			memcpy(d->value.to_addr, &svc->dnat[j].to_ip.s_addr, 4);
			d->value.to_port = svc->dnat[j].to_port;
			d->value.service_id = svc->id;
		}
	}
}

bool policy_forward_snat(const struct cg_config *cfg,
			 const struct cg_forward_def *fwd)
{
	switch (fwd->snat) {
	case CG_SNAT_ALWAYS:
		return true;
	case CG_SNAT_NEVER:
		return false;
	default:
		/* Over WireGuard, the target's replies would not come back
		 * to us with the client's source: its AllowedIPs route the
		 * internet elsewhere, and a linked cell's cryptokey routing
		 * refuses a source outside our subnet. */
		return cidr_contains(cfg->wireguard.subnet.addr,
				     cfg->wireguard.subnet.prefix,
				     fwd->target_ip);
	}
}

static void compile_forwards(const struct cg_state *st,
			     const struct cg_config *cfg, struct policy *pol)
{
	size_t i;
	unsigned int j;

	for (i = 0; i < st->n_forwards; i++) {
		const struct cg_forward_def *f = &st->forwards[i];
		struct policy_forward *e = &pol->forwards[pol->n_forwards++];

		memset(e, 0, sizeof(*e));
		e->key.port = f->public_port;
		e->key.proto = f->proto;
		memcpy(e->value.target_addr, &f->target_ip.s_addr, 4);
		e->value.target_port = f->target_port;
		e->value.snat_at_wg = policy_forward_snat(cfg, f);
		e->value.has_allow_from = f->n_allow_from > 0;
		e->value.fwd_id = f->slot;
		for (j = 0; j < f->n_allow_from; j++) {
			struct policy_fwd_allow *a =
				&pol->fwd_allow[pol->n_fwd_allow++];

			memset(a, 0, sizeof(*a));
			a->key.prefixlen = 32 + f->allow_from[j].prefix;
			a->key.fwd_id = htonl(f->slot);
			memcpy(a->key.addr, &f->allow_from[j].addr.s_addr, 4);
			a->value = 1;
		}
	}
}

static void add_net(struct policy *pol, const struct cg_cidr *c,
		    enum cg_net_kind kind)
{
	struct policy_net *n = &pol->nets[pol->n_nets++];

	memset(n, 0, sizeof(*n));
	n->key.prefixlen = c->prefix;
	memcpy(n->key.addr, &c->addr.s_addr, 4);
	n->value.kind = kind;
}

static void compile_nets(const struct cg_config *cfg, struct policy *pol)
{
	unsigned int i;

	add_net(pol, &cfg->wireguard.subnet, CG_NET_WG_SUBNET);
	if (cfg->bridge.has_subnet)
		add_net(pol, &cfg->bridge.subnet, CG_NET_BRIDGE);
	for (i = 0; i < cfg->n_local_networks; i++)
		add_net(pol, &cfg->local_networks[i], CG_NET_EXTRA);
}

static void add_net6(struct policy *pol, const struct cg_cidr6 *c,
		     enum cg_net_kind kind)
{
	struct policy_net6 *n = &pol->nets6[pol->n_nets6++];

	memset(n, 0, sizeof(*n));
	n->key.prefixlen = c->prefix;
	memcpy(n->key.addr, &c->addr, 16);
	n->value.kind = kind;
}

static void compile_nets6(const struct cg_config *cfg, struct policy *pol)
{
	if (!cfg->wireguard.has_address6)
		return;
	add_net6(pol, &cfg->wireguard.subnet6, CG_NET_WG_SUBNET);
	if (cfg->bridge.has_subnet6)
		add_net6(pol, &cfg->bridge.subnet6, CG_NET_BRIDGE);
}

static int cmp_peer6_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct cg_addr6_key));
}

const struct policy_peer6 *policy_find_peer6(const struct policy *pol,
					     const struct cg_addr6_key *key)
{
	if (!pol->n_peers6)
		return NULL;
	return bsearch(key, pol->peers6, pol->n_peers6, sizeof(*pol->peers6),
		       cmp_peer6_key);
}

/* Peer i's entries: its cg_peers one, and its cg_peers6 one (the same
 * identity) when it has an ip6. */
static void compile_peer(const struct policy_rules_ctx *ctx,
			 const struct cg_peer_def *peer, size_t i,
			 struct policy *pol)
{
	policy_peer_entry_ctx(ctx, peer, &pol->peers[i]);
	if (policy_peer6_entry(peer, &pol->peers[i],
			       &pol->peers6[pol->n_peers6]))
		pol->n_peers6++;
}

/* Cells with a subnet6, in an IPv6 cell: the identity of their cg_cells
 * entry under it. */
static void compile_cells6(const struct cg_state *st,
			   const struct cg_config *cfg, struct policy *pol)
{
	size_t i;

	for (i = 0; cfg->wireguard.has_address6 && i < st->n_cells; i++) {
		const struct cg_cell_info *c = &st->cells[i].info;
		struct policy_cell6 *e = &pol->cells6[pol->n_cells6];

		if (!c->has_subnet6)
			continue;
		memset(e, 0, sizeof(*e));
		e->key.prefixlen = c->subnet6.prefix;
		memcpy(e->key.addr, &c->subnet6.addr, 16);
		e->value = pol->cells[i].value;
		pol->n_cells6++;
	}
}

static int cmp_peer_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct cg_addr_key));
}

const struct policy_peer *policy_find_peer(const struct policy *pol,
					   const struct cg_addr_key *key)
{
	if (!pol->n_peers)
		return NULL;
	return bsearch(key, pol->peers, pol->n_peers, sizeof(*pol->peers),
		       cmp_peer_key);
}

/* Rules that cannot compile (the API refuses what would not, so only a
 * state from elsewhere) fail closed: no rule, peers isolated, logged,
 * and the rest of the policy goes on. */
static int compile_rules(const struct cg_state *st, struct policy *out)
{
	struct cg_error err = { 0 };
	int ret = policy_compile_rules(st, out, &err);

	if (ret == -ENOMEM) {
		policy_free(out);
		return ret;
	}
	if (ret) {
		log_err("rules between peers not applied: %s", err.msg);
		free(out->rules);
		out->rules = NULL;
		out->n_rules = 0;
	}
	return 0;
}

/* Room for everything policy_compile writes; *cap: of the service
 * arrays. 0 or -ENOMEM (out freed). */
static int compile_alloc(const struct cg_state *st, struct policy *out,
			 size_t *cap)
{
	size_t i, n_dnat = 0, n_allow = 0;

	memset(out, 0, sizeof(*out));
	*cap = 0;
	for (i = 0; i < st->n_forwards; i++)
		n_allow += st->forwards[i].n_allow_from;
	for (i = 0; i < st->n_services; i++) {
		*cap += st->services[i].n_endpoints * 3;
		n_dnat += st->services[i].n_dnat;
	}
	out->peers = calloc(st->n_peers ? st->n_peers : 1, sizeof(*out->peers));
	out->peers6 =
		calloc(st->n_peers ? st->n_peers : 1, sizeof(*out->peers6));
	/* + 1: the peers' own API on address6. */
	out->services6 = calloc(*cap + 1, sizeof(*out->services6));
	out->cells6 =
		calloc(st->n_cells ? st->n_cells : 1, sizeof(*out->cells6));
	*cap += 2; /* the sync listener, the peers' own API */
	out->services = calloc(*cap, sizeof(*out->services));
	out->dnat = calloc(n_dnat ? n_dnat : 1, sizeof(*out->dnat));
	out->dnat6 = calloc(n_dnat ? n_dnat : 1, sizeof(*out->dnat6));
	out->cells = calloc(st->n_cells ? st->n_cells : 1, sizeof(*out->cells));
	out->forwards = calloc(st->n_forwards ? st->n_forwards : 1,
			       sizeof(*out->forwards));
	out->fwd_allow = calloc(n_allow ? n_allow : 1, sizeof(*out->fwd_allow));
	if (!out->peers || !out->services || !out->dnat || !out->dnat6 ||
	    !out->forwards || !out->fwd_allow || !out->cells || !out->peers6 ||
	    !out->services6 || !out->cells6) {
		policy_free(out);
		return -ENOMEM;
	}
	return 0;
}

/* The services' entries of both families and our own listeners'. */
static void compile_services(const struct cg_state *st,
			     const struct cg_config *cfg, struct policy *out,
			     size_t cap)
{
	size_t i;

	for (i = 0; i < st->n_services; i++) {
		out->n_services += policy_service_entries(
			&st->services[i], out->services + out->n_services,
			cap - out->n_services);
		/* An IPv4-only cell fills no IPv6 map, whatever a state
		 * from its IPv6 days holds. */
		if (cfg->wireguard.has_address6)
			out->n_services6 += policy_service6_entries(
				&st->services[i],
				out->services6 + out->n_services6,
				cap - out->n_services6);
	}
	out->n_services +=
		add_own_listener(cfg, cfg->sync.port, CG_SYNC_SERVICE_ID,
				 out->services + out->n_services);
	out->n_services += add_own_listener(cfg, cfg->peer_api.port,
					    CG_PEER_API_SERVICE_ID,
					    out->services + out->n_services);
	out->n_services6 += add_own_listener6(
		cfg, cfg->peer_api.port, CG_PEER_API_SERVICE_ID,
		out->services6 + out->n_services6);
}

int policy_compile(const struct cg_state *st, const struct cg_config *cfg,
		   struct policy *out)
{
	struct policy_rules_ctx ctx;
	size_t i, cap;

	if (compile_alloc(st, out, &cap))
		return -ENOMEM;
	if (policy_rules_ctx_init(st, &ctx)) {
		policy_free(out);
		return -ENOMEM;
	}
	for (i = 0; i < st->n_peers; i++)
		compile_peer(&ctx, &st->peers[i], i, out);
	policy_rules_ctx_free(&ctx);
	out->n_peers = st->n_peers;
	/* key is the first member, so the comparators work on elements. */
	qsort(out->peers, out->n_peers, sizeof(*out->peers), cmp_peer_key);
	qsort(out->peers6, out->n_peers6, sizeof(*out->peers6), cmp_peer6_key);
	compile_services(st, cfg, out, cap);
	for (i = 0; i < st->n_cells; i++)
		policy_cell_entry(st, &st->cells[i], cfg->sync.port != 0,
				  &out->cells[i]);
	out->n_cells = st->n_cells;
	compile_dnat(st, out);
	compile_forwards(st, cfg, out);
	compile_nets(cfg, out);
	compile_cells6(st, cfg, out);
	compile_nets6(cfg, out);
	if (policy_compile_bridge(st, cfg, out)) {
		policy_free(out);
		return -ENOMEM;
	}
	return compile_rules(st, out);
}

int policy_compile_forwards(const struct cg_state *st,
			    const struct cg_config *cfg, struct policy *out)
{
	size_t i, n_allow = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < st->n_forwards; i++)
		n_allow += st->forwards[i].n_allow_from;
	out->forwards = calloc(st->n_forwards ? st->n_forwards : 1,
			       sizeof(*out->forwards));
	out->fwd_allow = calloc(n_allow ? n_allow : 1, sizeof(*out->fwd_allow));
	if (!out->forwards || !out->fwd_allow) {
		policy_free(out);
		return -ENOMEM;
	}
	compile_forwards(st, cfg, out);
	if (policy_compile_bridge(st, cfg, out)) {
		policy_free(out);
		return -ENOMEM;
	}
	return 0;
}

void policy_free(struct policy *pol)
{
	free(pol->peers);
	free(pol->services);
	free(pol->dnat);
	free(pol->dnat6);
	free(pol->forwards);
	free(pol->fwd_allow);
	free(pol->cells);
	free(pol->rules);
	free(pol->peers6);
	free(pol->services6);
	free(pol->cells6);
	free(pol->bridge_src);
	free(pol->bridge_src6);
	memset(pol, 0, sizeof(*pol));
}
