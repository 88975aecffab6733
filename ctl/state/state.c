// SPDX-License-Identifier: MIT
/*
 * The state's skeleton: its entity lists (init, free, copy, and the one
 * way to add, replace, remove and find an entity) and the validation
 * more than one entity uses. The entities are in state_<entity>.c.
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

void state_free(struct cg_state *st)
{
	const struct list_desc *d;

	state_index_free(st);
	state_log_free(st);
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

int state_copy(struct cg_state *dst, const struct cg_state *src)
{
	int ret = state_copy_lists(dst, src);

	if (!ret && state_index_build(dst)) {
		state_free(dst);
		ret = -ENOMEM;
	}
	return ret;
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
			state_free(dst);
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

/* Grow an array to hold one more element. */
static int reserve(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
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

static size_t pos_of(const struct cg_state *st, enum state_list list,
		     const void *elem)
{
	return (size_t)((const char *)elem -
			(const char *)*items_of(st, &lists[list])) /
	       lists[list].size;
}

/* ---- the raw changes: lists and indexes, no undo record --------------- */

static void *raw_append(struct cg_state *st, enum state_list list,
			const void *elem)
{
	const struct list_desc *d = &lists[list];
	void **items = items_of(st, d);
	size_t *n = count_of(st, d);
	char *slot;

	if (reserve(items, cap_of(st, d), *n, d->size) ||
	    state_index_reserve(st, list))
		return NULL;
	slot = (char *)*items + *n * d->size;
	memcpy(slot, elem, d->size);
	state_index_add(st, list, (*n)++);
	return slot;
}

static void raw_set(struct cg_state *st, enum state_list list, size_t pos,
		    const void *val)
{
	state_index_drop(st, list, pos);
	memmove(state_list_at(st, list, pos), val, lists[list].size);
	state_index_add(st, list, pos);
}

static void raw_remove(struct cg_state *st, enum state_list list, size_t pos)
{
	const struct list_desc *d = &lists[list];
	size_t *n = count_of(st, d), last_pos = *n - 1;
	char *e = state_list_at(st, list, pos);
	char *last = state_list_at(st, list, last_pos);

	state_index_drop(st, list, pos);
	if (d->ordered) {
		memmove(e, e + d->size, (size_t)(last - e));
	} else if (pos != last_pos) {
		state_index_move(st, list, last_pos, pos);
		memcpy(e, last, d->size);
	}
	if (d->secret)
		explicit_bzero(last, d->size);
	(*n)--;
}

/* Put val back at pos, where raw_remove took it from (the undo of a
 * removal: the same order as before it). The room is there: a removal
 * never shrinks a list or an index. */
static void raw_insert(struct cg_state *st, enum state_list list, size_t pos,
		       const void *val)
{
	const struct list_desc *d = &lists[list];
	size_t *n = count_of(st, d);
	char *e;

	if (pos == *n) {
		raw_append(st, list, val);
		return;
	}
	e = state_list_at(st, list, pos);
	if (d->ordered) {
		memmove(e + d->size, e, (*n - pos) * d->size);
		memcpy(e, val, d->size);
		(*n)++;
		return;
	}
	/* The element that filled the hole goes back to the end. */
	memcpy((char *)*items_of(st, d) + *n * d->size, e, d->size);
	state_index_move(st, list, pos, *n);
	(*n)++;
	memcpy(e, val, d->size);
	state_index_add(st, list, pos);
}

/* ---- the changes entity files make: logged for undo and the journal --- */

void *state_add(struct cg_state *st, enum state_list list, const void *elem,
		struct cg_error *err)
{
	void *slot;

	if (state_index_build(st) ||
	    state_log_record(st, LOG_ADD, list, *count_of(st, &lists[list]),
			     NULL, elem)) {
		cg_error_set(err, 500, "", "out of memory");
		return NULL;
	}
	slot = raw_append(st, list, elem);
	if (!slot) {
		state_log_forget_last(st);
		cg_error_set(err, 500, "", "out of memory");
	}
	return slot;
}

/* A change in place goes through here like an addition or a removal:
 * the indexes follow it and the undo log records it. */
void state_replace(struct cg_state *st, enum state_list list, void *elem,
		   const void *val)
{
	size_t pos = pos_of(st, list, elem);
	union state_elem v;

	/* val may be elem itself, or a part of the list. */
	memcpy(&v, val, lists[list].size);
	state_log_record(st, LOG_REPLACE, list, pos, elem, &v);
	raw_set(st, list, pos, &v);
	explicit_bzero(&v, sizeof(v));
}

void state_remove(struct cg_state *st, enum state_list list, void *elem)
{
	size_t pos = pos_of(st, list, elem);

	state_log_record(st, LOG_REMOVE, list, pos, elem, NULL);
	raw_remove(st, list, pos);
}

/* Undo one logged change (newest first, so the list is as right after
 * it). */
void state_undo_one(struct cg_state *st, enum log_op op, enum state_list list,
		    size_t pos, const void *old)
{
	switch (op) {
	case LOG_ADD:
		raw_remove(st, list, *count_of(st, &lists[list]) - 1);
		break;
	case LOG_REPLACE:
		raw_set(st, list, pos, old);
		break;
	case LOG_REMOVE:
		raw_insert(st, list, pos, old);
		break;
	}
}

int state_delete(struct cg_state *st, enum state_list list, state_match *match,
		 const char *name, void *removed, struct cg_error *err)
{
	void *elem = state_get(st, list, match, name, err);

	if (!elem)
		return -ENOENT;
	if (removed)
		memcpy(removed, elem, lists[list].size);
	state_remove(st, list, elem);
	return 0;
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
