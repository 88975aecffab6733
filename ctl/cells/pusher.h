/* SPDX-License-Identifier: MIT */
/*
 * The pusher: a thread that tells linked cells what we share with them
 * (a cell's pending_push), retrying with backoff. It works on the daemon's
 * state under the daemon's lock, which it drops while on the network, and
 * saves a push's outcome through the daemon's save callback.
 */
#ifndef CELLGATE_CELLS_PUSHER_H
#define CELLGATE_CELLS_PUSHER_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>

#include "cell.h"
#include "key.h"
#include "state.h"

struct cells_pusher {
	/* Set by the daemon before cells_pusher_start: */
	pthread_mutex_t *lock; /* guards *state */
	struct cg_state *state;
	const char *cell_name; /* ours */
	const uint8_t *public_key; /* ours (WG_KEY_LEN) */
	struct in_addr from; /* our wg address: pushes go over the tunnel */
	void (*save)(void *ctx); /* persist *state; called under lock */
	void *ctx;

	pthread_t thread;
	pthread_cond_t wake;
	bool running, stop;
};

int cells_pusher_start(struct cells_pusher *p);
void cells_pusher_stop(struct cells_pusher *p);
/* Tell cell what we share, now (caller holds the lock). */
void cells_push_soon(struct cells_pusher *p, struct cg_cell_def *cell);

#endif
