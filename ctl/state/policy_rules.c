// SPDX-License-Identifier: MIT
/*
 * Rules between peers compiled into cg_rules (issue 18).
 *
 * Why classes: a rule names groups, and a peer may be in several, so
 * looking rules up by group would cost one lookup per pair of groups of
 * source and destination. Instead each identity carries one rule class,
 * a 64-bit hash of the set it matches selectors by: its sorted groups,
 * plus its own name when a rule names it (peer:NAME, cell:NAME; such an
 * identity gets a class of its own). Identities with the same groups
 * share a class, and every rule is compiled into one entry per pair of
 * classes it connects, holding the union of the ports of every rule
 * between them. The datapath then needs one hash lookup per new flow
 * between peers, whatever the number of rules and groups (1k rules over
 * 100 groups and 10k peers: as many classes as distinct group sets), and
 * an identity in no group and named by no rule has class 0 and costs
 * nothing. A hash collision between two different sets is detected here
 * (the compile fails) rather than merging them.
 *
 * A rule to service:NAME is no pair: it sets the service's bit in the
 * identities "from" matches, as service_access does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "policy.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv(uint64_t h, const char *tag, const char *s)
{
	for (; *tag; tag++)
		h = (h ^ (uint8_t)*tag) * FNV_PRIME;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * FNV_PRIME;
	return (h ^ 0xff) * FNV_PRIME; /* the separator */
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool in_sorted(const char *const *v, size_t n, const char *name)
{
	return n && bsearch(&name, v, n, sizeof(*v), cmp_str);
}

/* What identities' entries need from the rules, gathered once per
 * compile (O(rules log rules)) so that each identity costs O(log rules)
 * and the service rules alone, not a pass over every rule. */
int policy_rules_ctx_init(const struct cg_state *st,
			  struct policy_rules_ctx *ctx)
{
	size_t i, n = st->n_rules ? st->n_rules : 1;

	memset(ctx, 0, sizeof(*ctx));
	ctx->st = st;
	ctx->peers = calloc(2 * n, sizeof(*ctx->peers));
	ctx->cells = calloc(2 * n, sizeof(*ctx->cells));
	ctx->svc = calloc(n, sizeof(*ctx->svc));
	if (!ctx->peers || !ctx->cells || !ctx->svc) {
		policy_rules_ctx_free(ctx);
		return -ENOMEM;
	}
	for (i = 0; i < st->n_rules; i++) {
		const struct cg_rule_def *r = &st->rules[i];
		const struct cg_selector *sel[2] = { &r->from, &r->to };
		int k;

		for (k = 0; k < 2; k++) {
			if (sel[k]->kind == CG_SEL_PEER)
				ctx->peers[ctx->n_peers++] = sel[k]->name;
			else if (sel[k]->kind == CG_SEL_CELL)
				ctx->cells[ctx->n_cells++] = sel[k]->name;
		}
		if (r->to.kind == CG_SEL_SERVICE)
			ctx->svc[ctx->n_svc++] = r;
	}
	qsort(ctx->peers, ctx->n_peers, sizeof(*ctx->peers), cmp_str);
	qsort(ctx->cells, ctx->n_cells, sizeof(*ctx->cells), cmp_str);
	return 0;
}

void policy_rules_ctx_free(struct policy_rules_ctx *ctx)
{
	free(ctx->peers);
	free(ctx->cells);
	free(ctx->svc);
	memset(ctx, 0, sizeof(*ctx));
}

static uint64_t class_of(const struct cg_peer_def *peer, const char *named,
			 const char *cell_named)
{
	uint64_t h = FNV_OFFSET;
	unsigned int i;

	if (peer && !peer->n_groups && !named)
		return 0;
	if (!peer && !cell_named)
		return 0;
	for (i = 0; peer && i < peer->n_groups; i++)
		h = fnv(h, "g:", peer->groups[i]);
	if (named)
		h = fnv(h, "p:", named);
	if (cell_named)
		h = fnv(h, "c:", cell_named);
	return h ? h : 1;
}

uint64_t policy_ctx_peer_class(const struct policy_rules_ctx *ctx,
			       const struct cg_peer_def *peer)
{
	bool named = in_sorted(ctx->peers, ctx->n_peers, peer->name);

	return class_of(peer, named ? peer->name : NULL, NULL);
}

uint64_t policy_ctx_cell_class(const struct policy_rules_ctx *ctx,
			       const struct cg_cell_def *cell)
{
	const char *name = cell->info.cell_name;

	return class_of(NULL, NULL,
			in_sorted(ctx->cells, ctx->n_cells, name) ? name :
								    NULL);
}

void policy_ctx_services(const struct policy_rules_ctx *ctx,
			 const struct cg_peer_def *peer,
			 const struct cg_cell_def *cell, __u64 *services)
{
	size_t i;

	for (i = 0; i < ctx->n_svc; i++) {
		const struct cg_rule_def *r = ctx->svc[i];
		const struct cg_service_def *svc;

		if (peer ? !selector_matches_peer(&r->from, peer) :
			   !selector_matches_cell(&r->from, cell))
			continue;
		svc = state_service(ctx->st, r->to.name);
		if (svc)
			services[svc->id / 64] |= 1ull << (svc->id % 64);
	}
}

/* ---- the pairs ---------------------------------------------------------- */

/* A class and one identity of it, to match selectors against. */
struct class_rep {
	uint64_t class;
	const struct cg_peer_def *peer;
	const struct cg_cell_def *cell;
};

struct pair_port {
	struct cg_rule_key key;
	struct cg_rule_port port;
};

struct rules_build {
	struct class_rep *classes;
	size_t n_classes;
	struct pair_port *pp;
	size_t n_pp, cap_pp;
};

static int cmp_u64(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

static int cmp_rep(const void *a, const void *b)
{
	return cmp_u64(((const struct class_rep *)a)->class,
		       ((const struct class_rep *)b)->class);
}

/* Two identities of one class must match the same selectors. */
static bool same_set(const struct class_rep *a, const struct class_rep *b)
{
	if (!a->peer != !b->peer)
		return false;
	if (a->cell)
		return !strcmp(a->cell->info.cell_name,
			       b->cell->info.cell_name);
	if (a->peer->n_groups != b->peer->n_groups)
		return false;
	/* A named peer's class holds its name: only it has it. */
	return !memcmp(a->peer->groups, b->peer->groups,
		       a->peer->n_groups * sizeof(a->peer->groups[0]));
}

static int collect_classes(const struct cg_state *st,
			   const struct policy_rules_ctx *ctx,
			   struct rules_build *b, struct cg_error *err)
{
	size_t i, k, n = 0;

	b->classes = calloc(st->n_peers + st->n_cells + 1, sizeof(*b->classes));
	if (!b->classes)
		return -ENOMEM;
	/* pol->peers is sorted by address, st->peers is not: match by
	 * position of the state's own arrays. */
	for (i = 0; i < st->n_peers; i++) {
		uint64_t c = policy_ctx_peer_class(ctx, &st->peers[i]);

		if (c)
			b->classes[n++] =
				(struct class_rep){ c, &st->peers[i], NULL };
	}
	for (i = 0; i < st->n_cells; i++) {
		uint64_t c = policy_ctx_cell_class(ctx, &st->cells[i]);

		if (c)
			b->classes[n++] =
				(struct class_rep){ c, NULL, &st->cells[i] };
	}
	qsort(b->classes, n, sizeof(*b->classes), cmp_rep);
	for (i = k = 0; i < n; i++) {
		if (k && b->classes[k - 1].class == b->classes[i].class) {
			if (same_set(&b->classes[k - 1], &b->classes[i]))
				continue;
			cg_error_set(err, 500, "",
				     "rule classes collide (two group sets "
				     "hash alike); rename a group");
			return -ENOTUNIQ;
		}
		b->classes[k++] = b->classes[i];
	}
	b->n_classes = k;
	return 0;
}

static bool rep_matches(const struct cg_selector *sel,
			const struct class_rep *rep)
{
	return rep->peer ? selector_matches_peer(sel, rep->peer) :
			   selector_matches_cell(sel, rep->cell);
}

static int emit(struct rules_build *b, uint64_t src, uint64_t dst,
		const struct cg_rule_def *r)
{
	unsigned int i;

	for (i = 0; i < r->n_ports; i++) {
		if (b->n_pp == b->cap_pp) {
			size_t cap = b->cap_pp ? b->cap_pp * 2 : 256;
			void *p = realloc(b->pp, cap * sizeof(*b->pp));

			if (!p)
				return -ENOMEM;
			b->pp = p;
			b->cap_pp = cap;
		}
		b->pp[b->n_pp].key.src_class = src;
		b->pp[b->n_pp].key.dst_class = dst;
		b->pp[b->n_pp++].port = r->ports[i];
	}
	return 0;
}

static int expand_rule(struct rules_build *b, const struct cg_rule_def *r)
{
	size_t i, k;
	int ret;

	if (r->to.kind == CG_SEL_SERVICE)
		return 0;
	for (i = 0; i < b->n_classes; i++) {
		if (!rep_matches(&r->from, &b->classes[i]))
			continue;
		for (k = 0; k < b->n_classes; k++) {
			if (!rep_matches(&r->to, &b->classes[k]))
				continue;
			ret = emit(b, b->classes[i].class, b->classes[k].class,
				   r);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int cmp_pp(const void *a, const void *b)
{
	const struct pair_port *x = a, *y = b;
	int c = cmp_u64(x->key.src_class, y->key.src_class);

	if (!c)
		c = cmp_u64(x->key.dst_class, y->key.dst_class);
	if (!c)
		c = (x->port.proto > y->port.proto) -
		    (x->port.proto < y->port.proto);
	if (!c)
		c = (x->port.lo > y->port.lo) - (x->port.lo < y->port.lo);
	return c;
}

static bool same_key(const struct cg_rule_key *a, const struct cg_rule_key *b)
{
	return a->src_class == b->src_class && a->dst_class == b->dst_class;
}

/* The sorted ports pp[0..n) of one pair, merged into out: "any" alone if
 * there, overlapping and adjacent ranges of a protocol joined. */
static int merge_pair(const struct pair_port *pp, size_t n,
		      struct policy_rule *out)
{
	size_t i;
	struct cg_rule_ports *v = &out->value;

	memset(out, 0, sizeof(*out));
	out->key = pp[0].key;
	if (!pp[0].port.proto) { /* sorted first */
		v->n = 1;
		return 0;
	}
	for (i = 0; i < n; i++) {
		const struct cg_rule_port *p = &pp[i].port;
		struct cg_rule_port *last = v->n ? &v->port[v->n - 1] : NULL;

		if (last && last->proto == p->proto &&
		    (p->proto == IPPROTO_ICMP || p->lo <= last->hi + 1u)) {
			if (p->hi > last->hi)
				last->hi = p->hi;
			continue;
		}
		if (v->n == CG_RULE_PORTS)
			return -E2BIG;
		v->port[v->n++] = *p;
	}
	return 0;
}

static int merge_pairs(struct rules_build *b, struct policy *out,
		       struct cg_error *err)
{
	size_t i, j;
	int ret;

	if (b->n_pp)
		qsort(b->pp, b->n_pp, sizeof(*b->pp), cmp_pp);
	out->rules = calloc(b->n_pp ? b->n_pp : 1, sizeof(*out->rules));
	if (!out->rules)
		return -ENOMEM;
	for (i = 0; i < b->n_pp; i = j) {
		for (j = i + 1;
		     j < b->n_pp && same_key(&b->pp[i].key, &b->pp[j].key); j++)
			;
		ret = merge_pair(b->pp + i, j - i, &out->rules[out->n_rules]);
		if (ret) {
			cg_error_set(err, 409, "ports",
				     "the rules between two sets of groups "
				     "would need more than %d port ranges; "
				     "merge them into ranges",
				     CG_RULE_PORTS);
			return ret;
		}
		out->n_rules++;
	}
	return 0;
}

int policy_compile_rules(const struct cg_state *st, struct policy *out,
			 struct cg_error *err)
{
	struct rules_build b = { 0 };
	struct policy_rules_ctx ctx = { 0 };
	size_t i;
	int ret = 0;

	out->rules = NULL;
	out->n_rules = 0;
	if (st->n_rules)
		ret = policy_rules_ctx_init(st, &ctx);
	if (!ret && st->n_rules)
		ret = collect_classes(st, &ctx, &b, err);
	for (i = 0; !ret && i < st->n_rules; i++)
		ret = expand_rule(&b, &st->rules[i]);
	if (!ret)
		ret = merge_pairs(&b, out, err);
	if (ret == -ENOMEM)
		cg_error_set(err, 500, "", "out of memory");
	policy_rules_ctx_free(&ctx);
	free(b.classes);
	free(b.pp);
	return ret;
}

static int cmp_rule_key(const void *a, const void *b)
{
	const struct cg_rule_key *x = a, *y = b;
	int c = cmp_u64(x->src_class, y->src_class);

	return c ? c : cmp_u64(x->dst_class, y->dst_class);
}

const struct policy_rule *policy_find_rule(const struct policy *pol,
					   const struct cg_rule_key *key)
{
	if (!pol->n_rules)
		return NULL;
	return bsearch(key, pol->rules, pol->n_rules, sizeof(*pol->rules),
		       cmp_rule_key);
}
