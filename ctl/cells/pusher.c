// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cells.h"
#include "log.h"
#include "pusher.h"
#include "remote.h"

#define PUSH_BACKOFF_MIN_NS (1000ull * 1000000ull)
#define PUSH_BACKOFF_MAX_NS (60ull * 1000000000ull)

void cells_push_soon(struct cells_pusher *p, struct cg_cell_def *cell)
{
	cell->pending_push = true;
	cell->push_next_ns = 0;
	cell->push_delay_ns = 0;
	pthread_cond_signal(&p->wake);
}

/* A cell due for a push, or NULL. */
static struct cg_cell_def *due(struct cg_state *st, uint64_t now)
{
	size_t i;

	for (i = 0; i < st->n_cells; i++)
		if (st->cells[i].pending_push &&
		    st->cells[i].push_next_ns <= now)
			return &st->cells[i];
	return NULL;
}

/* A failed push: try again later, twice as late each time up to a cap. */
static void back_off(struct cg_cell_def *cell, const struct sync_reply *r)
{
	uint64_t delay;

	cell->push_failures++;
	str_copy(cell->last_push_error, sizeof(cell->last_push_error),
		 r->status ? cells_reply_error(r) : r->error);
	delay = cell->push_delay_ns ? cell->push_delay_ns * 2 :
				      PUSH_BACKOFF_MIN_NS;
	cell->push_delay_ns =
		delay < PUSH_BACKOFF_MAX_NS ? delay : PUSH_BACKOFF_MAX_NS;
	cell->push_next_ns = monotonic_ns() + cell->push_delay_ns;
	log_warn("push to cell '%s' failed (%s), next try in %llu s",
		 cell->info.cell_name, cell->last_push_error,
		 (unsigned long long)(cell->push_delay_ns / 1000000000ull));
}

/* Record a push's outcome on the cell (found again by key: the state may
 * have changed while we were away) and persist it. */
static void push_done(struct cells_pusher *p, const wg_key key,
		      const struct sync_reply *r, int sent)
{
	struct cg_cell_def *cell = state_cell_by_key(p->state, key);

	if (!cell)
		return;
	cell->last_push_at = (int64_t)time(NULL);
	cell->last_push_status = (int)r->status;
	cell->pushes++;
	if (!sent && r->status == 200) {
		cell->pending_push = false;
		cell->last_push_error[0] = '\0';
		cell->push_delay_ns = 0;
	} else {
		back_off(cell, r);
	}
	p->save(p->ctx);
}

/* Sleep until woken or a quarter second passed (lock held). */
static void nap(struct cells_pusher *p)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 250000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&p->wake, p->lock, &until);
}

/* Push to cell (lock held on entry and on return, not in between). */
static void push(struct cells_pusher *p, struct cg_cell_def *cell)
{
	char *body =
		cells_push_body(p->state, p->cell_name, p->public_key, cell);
	uint8_t key[LINK_KEY_LEN];
	struct sync_reply r = { 0 };
	char host[16];
	uint16_t port = cell->info.sync_port;
	wg_key pub;
	int sent;

	memcpy(key, cell->link_key, sizeof(key));
	memcpy(pub, cell->info.public_key, sizeof(pub));
	ipv4_str(cell->info.wg_address, host);
	/* No lock while on the network. */
	pthread_mutex_unlock(p->lock);
	sent = body ? cells_post(host, port, CELLS_PATH_PERMISSIONS, body, key,
				 &p->from, &r) :
		      -ENOMEM;
	free(body);
	explicit_bzero(key, sizeof(key));
	pthread_mutex_lock(p->lock);
	push_done(p, pub, &r, sent);
}

static void *pusher(void *arg)
{
	struct cells_pusher *p = arg;

	pthread_mutex_lock(p->lock);
	while (!p->stop) {
		struct cg_cell_def *cell = due(p->state, monotonic_ns());

		if (cell)
			push(p, cell);
		else
			nap(p);
	}
	pthread_mutex_unlock(p->lock);
	return NULL;
}

int cells_pusher_start(struct cells_pusher *p)
{
	pthread_condattr_t attr;
	int ret;

	pthread_condattr_init(&attr);
	pthread_cond_init(&p->wake, &attr);
	pthread_condattr_destroy(&attr);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	p->stop = false;
	ret = pthread_create(&p->thread, NULL, pusher, p);
	p->running = ret == 0;
	return -ret;
}

void cells_pusher_stop(struct cells_pusher *p)
{
	if (!p->running)
		return;
	pthread_mutex_lock(p->lock);
	p->stop = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(p->lock);
	pthread_join(p->thread, NULL);
	p->running = false;
}
