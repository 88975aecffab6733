// SPDX-License-Identifier: MIT
/*
 * The state's skeleton: its entity lists (their layout in struct
 * cg_state, init, copy, finding an entity) and the validation more than
 * one entity uses. Changing a list is state_store.c's (indexes and the
 * undo log follow each change); the entities are in state_<entity>.c.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "state_internal.h"

/* Where a list lives in struct cg_state, and how it behaves. */
struct list_desc {
	size_t items, n, cap; /* offsets of the array, count and capacity */
	size_t size; /* of an element */
	const char *noun, *field; /* a 404's: "no <noun> 'x'", at <field> */
	bool ordered; /* removal keeps the order (the API lists it so) */
	bool secret; /* wiped when removed or freed */
};

#define LIST(f)                                    \
	.items = offsetof(struct cg_state, f),     \
	.n = offsetof(struct cg_state, n_##f),     \
	.cap = offsetof(struct cg_state, cap_##f), \
	.size = sizeof(((struct cg_state *)NULL)->f[0])

static const struct list_desc lists[ST_N_LISTS] = {
	[ST_SERVICES] = { LIST(services), .noun = "service", .field = "name" },
	[ST_PEERS] = { LIST(peers), .noun = "peer", .field = "name" },
	[ST_FORWARDS] = { LIST(forwards), .noun = "forward", .field = "id",
			  .ordered = true },
	[ST_CELLS] = { LIST(cells), .noun = "cell", .field = "name" },
	[ST_INVITES] = { LIST(invites), .noun = "invite", .field = "id",
			 .secret = true },
	[ST_RULES] = { LIST(rules), .noun = "rule", .field = "name",
		       .ordered = true },
	[ST_GROUPS] = { LIST(groups), .noun = "group", .field = "name" },
	/* Secret: a wireguard exit's private key. */
	[ST_EXITS] = { LIST(exits), .noun = "exit", .field = "name",
		       .ordered = true, .secret = true },
};

static void **items_of(const struct cg_state *st, const struct list_desc *d)
{
	return (void **)((char *)st + d->items);
}

static size_t *count_of(const struct cg_state *st, const struct list_desc *d)
{
	return (size_t *)((char *)st + d->n);
}

static size_t *cap_of(const struct cg_state *st, const struct list_desc *d)
{
	return (size_t *)((char *)st + d->cap);
}

void state_init(struct cg_state *st, const struct cg_config *cfg)
{
	memset(st, 0, sizeof(*st));
	st->cfg = cfg;
}

void state_free_lists(struct cg_state *st)
{
	const struct list_desc *d;

	for (d = lists; d < lists + ST_N_LISTS; d++) {
		void **items = items_of(st, d);

		if (*items && d->secret)
			explicit_bzero(*items, *cap_of(st, d) * d->size);
		free(*items);
		*items = NULL;
		*count_of(st, d) = *cap_of(st, d) = 0;
	}
}

/* A copy of n elements, never NULL (capacity at least 1), so that a copy
 * of an empty array is told apart from a failed allocation. */
static void *copy_array(const void *src, size_t n, size_t elem, size_t *cap)
{
	void *dst = malloc((n ? n : 1) * elem);

	/* memcpy from NULL is undefined even for 0 bytes. */
	if (dst && n)
		memcpy(dst, src, n * elem);
	*cap = n ? n : 1;
	return dst;
}

int state_copy_lists(struct cg_state *dst, const struct cg_state *src)
{
	const struct list_desc *d;

	state_init(dst, src->cfg);
	for (d = lists; d < lists + ST_N_LISTS; d++) {
		size_t n = *count_of(src, d);
		void *copy = copy_array(*items_of(src, d), n, d->size,
					cap_of(dst, d));

		if (!copy) {
			state_free_lists(dst);
			return -ENOMEM;
		}
		*items_of(dst, d) = copy;
		*count_of(dst, d) = n;
	}
	return 0;
}

void *state_find(const struct cg_state *st, enum state_list list,
		 state_match *match, const void *key)
{
	const struct list_desc *d = &lists[list];
	char *items = *items_of(st, d);
	size_t i, n = *count_of(st, d);

	for (i = 0; i < n; i++)
		if (match(items + i * d->size, key))
			return items + i * d->size;
	return NULL;
}

void *state_get(const struct cg_state *st, enum state_list list,
		state_match *match, const char *name, struct cg_error *err)
{
	void *elem = state_find(st, list, match, name);

	if (!elem)
		cg_error_set(err, 404, lists[list].field, "no %s '%s'",
			     lists[list].noun, name);
	return elem;
}

size_t state_list_size(enum state_list list)
{
	return lists[list].size;
}

void *state_list_at(const struct cg_state *st, enum state_list list, size_t pos)
{
	return (char *)*items_of(st, &lists[list]) + pos * lists[list].size;
}

size_t state_list_count(const struct cg_state *st, enum state_list list)
{
	return *count_of(st, &lists[list]);
}

/* The list's array, count and capacity in st, and how it behaves: for
 * the changes (state_store.c). */
void **state_list_items(const struct cg_state *st, enum state_list list)
{
	return items_of(st, &lists[list]);
}

size_t *state_list_n(const struct cg_state *st, enum state_list list)
{
	return count_of(st, &lists[list]);
}

size_t *state_list_cap(const struct cg_state *st, enum state_list list)
{
	return cap_of(st, &lists[list]);
}

bool state_list_ordered(enum state_list list)
{
	return lists[list].ordered;
}

bool state_list_secret(enum state_list list)
{
	return lists[list].secret;
}

/* ---- validation the entities share ------------------------------------- */

bool state_valid_unicast(struct in_addr ip)
{
	uint32_t h = ntohl(ip.s_addr);

	return h != 0 && h != 0xffffffffu && (h >> 28) != 0xe &&
	       (h >> 24) != 127;
}

bool state_check_name(json_object *body, const char *name, struct cg_error *err)
{
	char in_body[CG_NAME_MAX + 2] = "";

	if (!valid_name(name)) {
		cg_error_set(err, 400, "name",
			     "'name' must match [A-Za-z0-9_.-]{1,64}");
		return false;
	}
	if (!jx_string(body, "name", false, "", in_body, sizeof(in_body), err))
		return false;
	/* Given means compared, even as "": never silently ignored. */
	if (json_object_object_get_ex(body, "name", NULL) &&
	    strcmp(in_body, name)) {
		cg_error_set(err, 400, "name",
			     "'name' in the body differs from the path");
		return false;
	}
	return true;
}

bool state_record_name(json_object *o, char name[CG_NAME_MAX + 2],
		       struct cg_error *err)
{
	return json_object_is_type(o, json_type_object) &&
	       jx_string(o, "name", true, "", name, CG_NAME_MAX + 2, err) &&
	       valid_name(name);
}

/* ---- identities: peers' and cells' keys and ids ----------------------- */

bool peer_with_key(const void *peer, const void *key)
{
	return key_equal(((const struct cg_peer_def *)peer)->public_key, key);
}

bool peer_with_id(const void *peer, const void *id)
{
	return ((const struct cg_peer_def *)peer)->id == *(const uint32_t *)id;
}

bool cell_with_key(const void *cell, const void *key)
{
	return key_equal(((const struct cg_cell_def *)cell)->info.public_key,
			 key);
}

bool cell_with_id(const void *cell, const void *id)
{
	return ((const struct cg_cell_def *)cell)->id == *(const uint32_t *)id;
}
