// SPDX-License-Identifier: MIT
/*
 * The group index (issue 18): which peers are in a group, so that a
 * change of a group's settings re-compiles its members, O(members), not
 * every peer. Groups need no declaration: a slot exists while a peer
 * names the group. Each slot (found by a hash of its name) heads a
 * doubly linked list of nodes, one per (peer position, group k of that
 * peer): node pos * CG_MAX_PEER_GROUPS + k. A peer joining, leaving or
 * moving (state_store.c's unordered removal) costs O(its groups).
 *
 * An allocation that fails marks the index broken: the lookups answer
 * "walk" (-1, false) and the callers walk the peers; never a wrong
 * answer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hashidx.h"
#include "state_internal.h"

struct gslot {
	char name[CG_NAME_MAX + 1];
	uint32_t members; /* 0: the slot is free */
	uint32_t head; /* node + 1; 0: none */
	uint32_t next_free; /* slot + 1, on the free list */
};

struct gnode {
	uint32_t prev, next; /* node + 1; 0: none */
};

struct group_index {
	struct hashidx by_name; /* hash(name) -> slot */
	struct gslot *slots;
	uint32_t n_slots, cap_slots; /* n_slots: the high-water mark */
	uint32_t free_head; /* slot + 1 */
	struct gnode *nodes;
	size_t cap_nodes;
	bool broken;
};

struct group_index *gindex_new(void)
{
	return calloc(1, sizeof(struct group_index));
}

void gindex_free(struct group_index *g)
{
	if (!g)
		return;
	hashidx_free(&g->by_name);
	free(g->slots);
	free(g->nodes);
	free(g);
}

static bool slot_named(const void *g, uint32_t slot, const void *name)
{
	const struct gslot *s = &((const struct group_index *)g)->slots[slot];

	return s->members && !strcmp(s->name, name);
}

static struct gslot *slot_find(const struct group_index *g, const char *name)
{
	int64_t i =
		hashidx_find(&g->by_name, hash_str(name), slot_named, g, name);

	return i < 0 ? NULL : &g->slots[i];
}

static struct gslot *slot_new(struct group_index *g, const char *name)
{
	uint32_t i;

	if (g->free_head) {
		i = g->free_head - 1;
		g->free_head = g->slots[i].next_free;
	} else {
		if (g->n_slots == g->cap_slots) {
			uint32_t cap = g->cap_slots ? g->cap_slots * 2 : 16;
			struct gslot *s = realloc(g->slots, cap * sizeof(*s));

			if (!s)
				return NULL;
			g->slots = s;
			g->cap_slots = cap;
		}
		i = g->n_slots++;
	}
	if (hashidx_insert(&g->by_name, hash_str(name), i)) {
		g->slots[i].next_free = g->free_head;
		g->free_head = i + 1;
		return NULL;
	}
	memset(&g->slots[i], 0, sizeof(g->slots[i]));
	str_copy(g->slots[i].name, sizeof(g->slots[i].name), name);
	return &g->slots[i];
}

static void slot_release(struct group_index *g, struct gslot *s)
{
	uint32_t i = (uint32_t)(s - g->slots);

	hashidx_remove(&g->by_name, hash_str(s->name), i);
	s->members = 0;
	s->next_free = g->free_head;
	g->free_head = i + 1;
}

static bool nodes_reserve(struct group_index *g, size_t pos)
{
	size_t want = (pos + 1) * CG_MAX_PEER_GROUPS, cap = g->cap_nodes;
	struct gnode *n;

	if (want <= cap)
		return true;
	while (cap < want)
		cap = cap ? cap * 2 : 16 * CG_MAX_PEER_GROUPS;
	n = realloc(g->nodes, cap * sizeof(*n));
	if (!n)
		return false;
	g->nodes = n;
	g->cap_nodes = cap;
	return true;
}

void gindex_add(struct group_index *g, const struct cg_state *st, size_t pos)
{
	const struct cg_peer_def *p = &st->peers[pos];
	unsigned int k;

	if (g->broken || !p->n_groups)
		return;
	if (!nodes_reserve(g, pos)) {
		g->broken = true;
		return;
	}
	for (k = 0; k < p->n_groups; k++) {
		uint32_t node = (uint32_t)(pos * CG_MAX_PEER_GROUPS + k);
		struct gslot *s = slot_find(g, p->groups[k]);

		if (!s)
			s = slot_new(g, p->groups[k]);
		if (!s) {
			g->broken = true;
			return;
		}
		g->nodes[node].prev = 0;
		g->nodes[node].next = s->head;
		if (s->head)
			g->nodes[s->head - 1].prev = node + 1;
		s->head = node + 1;
		s->members++;
	}
}

void gindex_drop(struct group_index *g, const struct cg_state *st, size_t pos)
{
	const struct cg_peer_def *p = &st->peers[pos];
	unsigned int k;

	if (g->broken)
		return;
	for (k = 0; k < p->n_groups; k++) {
		uint32_t node = (uint32_t)(pos * CG_MAX_PEER_GROUPS + k);
		struct gslot *s = slot_find(g, p->groups[k]);
		struct gnode *n = &g->nodes[node];

		if (!s)
			continue; /* cannot happen: it joined */
		if (n->prev)
			g->nodes[n->prev - 1].next = n->next;
		else
			s->head = n->next;
		if (n->next)
			g->nodes[n->next - 1].prev = n->prev;
		if (!--s->members)
			slot_release(g, s);
	}
}

void gindex_move(struct group_index *g, const struct cg_state *st, size_t from,
		 size_t to)
{
	const struct cg_peer_def *p = &st->peers[from];
	unsigned int k;

	if (g->broken || !p->n_groups)
		return;
	if (!nodes_reserve(g, to)) {
		g->broken = true;
		return;
	}
	for (k = 0; k < p->n_groups; k++) {
		uint32_t f = (uint32_t)(from * CG_MAX_PEER_GROUPS + k);
		uint32_t t = (uint32_t)(to * CG_MAX_PEER_GROUPS + k);
		struct gslot *s = slot_find(g, p->groups[k]);
		struct gnode n = g->nodes[f];

		if (!s)
			continue;
		g->nodes[t] = n;
		if (n.prev)
			g->nodes[n.prev - 1].next = t + 1;
		else
			s->head = t + 1;
		if (n.next)
			g->nodes[n.next - 1].prev = t + 1;
	}
}

int64_t gindex_size(const struct group_index *g, const char *name)
{
	const struct gslot *s;

	if (!g || g->broken)
		return -1;
	s = slot_find(g, name);
	return s ? s->members : 0;
}

bool gindex_each(const struct group_index *g, const struct cg_state *st,
		 const char *name, state_peer_fn *fn, void *ctx, int *ret)
{
	const struct gslot *s;
	uint32_t node;

	if (!g || g->broken)
		return false;
	*ret = 0;
	s = slot_find(g, name);
	for (node = s ? s->head : 0; node && !*ret;
	     node = g->nodes[node - 1].next)
		*ret = fn(&st->peers[(node - 1) / CG_MAX_PEER_GROUPS], ctx);
	return true;
}

int64_t gindex_names(const struct group_index *g, const char **out, size_t cap)
{
	size_t n = 0;
	uint32_t i;

	if (!g || g->broken)
		return -1;
	for (i = 0; i < g->n_slots && n < cap; i++)
		if (g->slots[i].members)
			out[n++] = g->slots[i].name;
	return (int64_t)n;
}
