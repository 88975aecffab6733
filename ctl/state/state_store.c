// SPDX-License-Identifier: MIT
/*
 * Changing the state's lists: the one way to add, replace, remove and
 * delete an entity, each change followed by the indexes (state_index.c)
 * and recorded in the undo log (state_log.c), undone newest first on
 * rollback; freeing and copying a state with its indexes. The lists'
 * layout is state.c's.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "state_internal.h"

void state_free(struct cg_state *st)
{
	state_index_free(st);
	state_log_free(st);
	state_free_lists(st);
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

static size_t pos_of(const struct cg_state *st, enum state_list list,
		     const void *elem)
{
	return (size_t)((const char *)elem -
			(const char *)*state_list_items(st, list)) /
	       state_list_size(list);
}

/* ---- the raw changes: lists and indexes, no undo record --------------- */

static void *raw_append(struct cg_state *st, enum state_list list,
			const void *elem)
{
	void **items = state_list_items(st, list);
	size_t *n = state_list_n(st, list), size = state_list_size(list);
	char *slot;

	if (reserve(items, state_list_cap(st, list), *n, size) ||
	    state_index_reserve(st, list))
		return NULL;
	slot = (char *)*items + *n * size;
	memcpy(slot, elem, size);
	state_index_add(st, list, (*n)++);
	return slot;
}

static void raw_set(struct cg_state *st, enum state_list list, size_t pos,
		    const void *val)
{
	state_index_drop(st, list, pos);
	memmove(state_list_at(st, list, pos), val, state_list_size(list));
	state_index_add(st, list, pos);
}

static void raw_remove(struct cg_state *st, enum state_list list, size_t pos)
{
	size_t *n = state_list_n(st, list), last_pos = *n - 1;
	size_t size = state_list_size(list);
	char *e = state_list_at(st, list, pos);
	char *last = state_list_at(st, list, last_pos);

	state_index_drop(st, list, pos);
	if (state_list_ordered(list)) {
		memmove(e, e + size, (size_t)(last - e));
	} else if (pos != last_pos) {
		state_index_move(st, list, last_pos, pos);
		memcpy(e, last, size);
	}
	if (state_list_secret(list))
		explicit_bzero(last, size);
	(*n)--;
}

/* Put val back at pos, where raw_remove took it from (the undo of a
 * removal: the same order as before it). The room is there: a removal
 * never shrinks a list or an index. */
static void raw_insert(struct cg_state *st, enum state_list list, size_t pos,
		       const void *val)
{
	size_t *n = state_list_n(st, list), size = state_list_size(list);
	char *e;

	if (pos == *n) {
		raw_append(st, list, val);
		return;
	}
	e = state_list_at(st, list, pos);
	if (state_list_ordered(list)) {
		memmove(e + size, e, (*n - pos) * size);
		memcpy(e, val, size);
		(*n)++;
		return;
	}
	/* The element that filled the hole goes back to the end. */
	memcpy((char *)*state_list_items(st, list) + *n * size, e, size);
	state_index_move(st, list, pos, *n);
	(*n)++;
	memcpy(e, val, size);
	state_index_add(st, list, pos);
}

/* ---- the changes entity files make: logged for undo and the journal --- */

void *state_add(struct cg_state *st, enum state_list list, const void *elem,
		struct cg_error *err)
{
	void *slot;

	if (state_index_build(st) ||
	    state_log_record(st, LOG_ADD, list, *state_list_n(st, list), NULL,
			     elem)) {
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
	memcpy(&v, val, state_list_size(list));
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
		raw_remove(st, list, *state_list_n(st, list) - 1);
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
		memcpy(removed, elem, state_list_size(list));
	state_remove(st, list, elem);
	return 0;
}

void state_rollback(struct cg_state *st)
{
	struct state_log *l = st->log;

	if (!l)
		return;
	l->on = false;
	while (l->n) {
		const struct log_entry *e = &l->e[--l->n];

		state_undo_one(st, e->op, e->list, e->pos, log_old(l, e));
	}
	state_log_end(l);
}
