// SPDX-License-Identifier: MIT
/*
 * The undo log of one operation: every add, replace and remove through
 * state.c between state_begin and state_commit/state_rollback, with the
 * element before and after. Rolling back undoes them newest first; the
 * journal writes them (state_journal.c). Its buffer is kept between
 * operations, so an operation allocates nothing here once warm.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "state_internal.h"

#define LOG_MIN_ENTRIES 32

int state_begin(struct cg_state *st)
{
	struct state_log *l = st->log;

	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l)
			return -ENOMEM;
		st->log = l;
	}
	if (l->cap < LOG_MIN_ENTRIES) {
		struct log_entry *e =
			realloc(l->e, LOG_MIN_ENTRIES * sizeof(*e));

		if (!e)
			return -ENOMEM;
		l->e = e;
		l->cap = LOG_MIN_ENTRIES;
	}
	l->n = 0;
	l->on = true;
	l->failed = false;
	return 0;
}

/* Room for one more entry and two elements of size bytes (aligned as
 * the union); false when out of memory. */
static bool log_room(struct state_log *l, size_t size)
{
	size_t align = _Alignof(union state_elem);
	size_t need =
		(l->used + align - 1) / align * align + 2 * (size + align);
	struct log_entry *e;
	char *b;

	if (l->n == l->cap) {
		e = realloc(l->e, l->cap * 2 * sizeof(*e));
		if (!e)
			return false;
		l->e = e;
		l->cap *= 2;
	}
	if (need > l->bytes_cap) {
		size_t cap = l->bytes_cap ? l->bytes_cap : 4096;

		while (cap < need)
			cap *= 2;
		b = realloc(l->bytes, cap);
		if (!b)
			return false;
		l->bytes = b;
		l->bytes_cap = cap;
	}
	return true;
}

/* Copy elem of size bytes into the arena; its offset. */
static size_t log_put(struct state_log *l, const void *elem, size_t size)
{
	size_t align = _Alignof(union state_elem);
	size_t at = (l->used + align - 1) / align * align;

	memcpy(l->bytes + at, elem, size);
	l->used = at + size;
	return at;
}

int state_log_record(struct cg_state *st, enum log_op op, enum state_list list,
		     size_t pos, const void *old, const void *new)
{
	struct state_log *l = st->log;
	size_t size = state_list_size(list);
	struct log_entry *e;

	if (!l || !l->on)
		return 0;
	if (!log_room(l, size)) {
		/* Cannot be undone: the operation must fail. */
		l->failed = true;
		return -ENOMEM;
	}
	e = &l->e[l->n++];
	e->op = op;
	e->list = list;
	e->pos = pos;
	e->old_at = old ? log_put(l, old, size) : 0;
	e->new_at = new ? log_put(l, new, size) : 0;
	return 0;
}

void state_log_forget_last(struct cg_state *st)
{
	if (st->log && st->log->on && st->log->n)
		st->log->n--;
}

bool state_log_failed(const struct cg_state *st)
{
	return st->log && st->log->failed;
}

/* Above these sizes the buffers are not kept after the operation: a
 * bulk import's log must not stay resident. */
#define LOG_KEEP_ENTRIES 64
#define LOG_KEEP_BYTES (64 * 1024)

/* Invites' secrets do not outlive the operation. */
void state_log_end(struct state_log *l)
{
	if (l->used)
		explicit_bzero(l->bytes, l->used);
	l->n = 0;
	l->used = 0;
	l->on = false;
	if (l->cap > LOG_KEEP_ENTRIES) {
		free(l->e);
		l->e = NULL;
		l->cap = 0;
	}
	if (l->bytes_cap > LOG_KEEP_BYTES) {
		free(l->bytes);
		l->bytes = NULL;
		l->bytes_cap = 0;
	}
}

void state_commit(struct cg_state *st)
{
	if (st->log)
		state_log_end(st->log);
}

void state_log_free(struct cg_state *st)
{
	if (!st->log)
		return;
	state_log_end(st->log);
	free(st->log->e);
	free(st->log->bytes);
	free(st->log);
	st->log = NULL;
}
