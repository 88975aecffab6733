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

int state_log_record(struct cg_state *st, enum log_op op, enum state_list list,
		     size_t pos, const void *old, const void *new)
{
	struct state_log *l = st->log;
	size_t size = state_list_size(list);
	struct log_entry *e;

	if (!l || !l->on)
		return 0;
	if (l->n == l->cap) {
		e = realloc(l->e, l->cap * 2 * sizeof(*e));
		if (!e) {
			/* Cannot be undone: the operation must fail. */
			l->failed = true;
			return -ENOMEM;
		}
		l->e = e;
		l->cap *= 2;
	}
	e = &l->e[l->n++];
	e->op = op;
	e->list = list;
	e->pos = pos;
	if (old)
		memcpy(&e->old, old, size);
	if (new)
		memcpy(&e->new, new, size);
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

/* Above this many entries the buffer is not kept: an entry is ~10 KB
 * (two of the largest element, a linked cell), so the log of a bulk
 * import of 10k peers is 160 MB, which must not stay resident. */
#define LOG_KEEP_ENTRIES 64

/* Invites' secrets do not outlive the operation. */
static void log_end(struct state_log *l)
{
	if (l->n)
		explicit_bzero(l->e, l->n * sizeof(*l->e));
	l->n = 0;
	l->on = false;
	if (l->cap > LOG_KEEP_ENTRIES) {
		free(l->e);
		l->e = NULL;
		l->cap = 0;
	}
}

void state_rollback(struct cg_state *st)
{
	struct state_log *l = st->log;

	if (!l)
		return;
	l->on = false;
	while (l->n) {
		const struct log_entry *e = &l->e[--l->n];

		state_undo_one(st, e->op, e->list, e->pos, &e->old);
		explicit_bzero(&l->e[l->n], sizeof(l->e[l->n]));
	}
	log_end(l);
}

void state_commit(struct cg_state *st)
{
	if (st->log)
		log_end(st->log);
}

void state_log_free(struct cg_state *st)
{
	if (!st->log)
		return;
	log_end(st->log);
	free(st->log->e);
	free(st->log);
	st->log = NULL;
}
