/* SPDX-License-Identifier: MIT */
/*
 * Programming the cell's WireGuard device from the state: setting it up at
 * start, one peer change per operation, and making its peers the state's
 * (after cell changes, and as the periodic drift repair).
 */
#ifndef CELLGATE_WGPROG_H
#define CELLGATE_WGPROG_H

#include <pthread.h>
#include <stdbool.h>

#include "controller.h"

/* The interface with the cell's key, port and address. Up at once when
 * up_later is NULL; else *up_later is set when the link was down (one
 * we created): it stays down until the caller brings it up
 * (net_link_up), so that peers programmed meanwhile pass nothing before
 * the programs run. */
int ctl_wg_setup(struct controller *c, bool *up_later);
/* Program one peer change: old (or NULL) becomes new (or NULL). */
int ctl_wg_program(struct controller *c, const struct cg_peer_def *old,
		   const struct cg_peer_def *new);
/* Add n peers in one batch (a bulk import). */
int ctl_wg_add_peers(struct controller *c, const struct cg_peer_def *peers,
		     size_t n);
/* Make WireGuard's peers the state's; repair: count it as drift. The
 * caller holds the lock. */
int ctl_wg_sync(struct controller *c, bool repair);
/* The periodic drift repair, without holding the lock across the dump
 * and the diff: takes the lock itself, twice, briefly. */
int ctl_wg_reconcile(struct controller *c);

/*
 * A WireGuard change on a thread of its own: wireguard-go spends most of
 * a bulk set on its own work (a new peer's X25519 precomputation, its
 * goroutines), so the controller persists, fills maps or loads programs
 * meanwhile. Begun under the lock, ended (joined) under it; end always
 * follows begin, and c->wg_writes counts the write at begin.
 */
struct ctl_wg_job {
	struct controller *c;
	pthread_t thread;
	bool threaded; /* else it ran within begin */
	void *snap; /* a sync's snapshot of the state, else NULL */
	struct wg_change change;
	int ret;
};

/* Make WireGuard's peers the state's (as ctl_wg_sync without repair):
 * the state is copied at begin, read, compared and written on the
 * thread. */
int ctl_wg_sync_begin(struct controller *c, struct ctl_wg_job *j);
/* Wait for the job: its result (0 or -errno), logged if it failed. */
int ctl_wg_job_end(struct ctl_wg_job *j);
/*
 * A bulk import's peers written to WireGuard while they are still being
 * checked: the controller pushes how many of peers[] are final, a thread
 * writes them into one open UAPI set transaction (wireguard-go works on
 * the first while the next are checked), and close ends it: abort takes
 * the written peers back within the same transaction (they were never
 * in the maps, so the programs dropped anything they sent). On kernel
 * WireGuard the batch is written at close. c->wg_writes counts it at
 * begin; end (always after begin) closes with abort if not closed,
 * waits, and answers 0 or -errno.
 */
struct ctl_wg_feed {
	struct controller *c;
	const struct cg_peer_def *peers;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t ready; /* peers[0..ready) are final */
	bool closed, abort;
	pthread_t thread;
	bool threaded;
	int ret;
};

int ctl_wg_feed_begin(struct controller *c, const struct cg_peer_def *peers,
		      struct ctl_wg_feed *f);
void ctl_wg_feed_push(struct ctl_wg_feed *f, size_t ready);
void ctl_wg_feed_close(struct ctl_wg_feed *f, bool abort);
int ctl_wg_feed_end(struct ctl_wg_feed *f);

/* Take n peers out of WireGuard again (an import that was not saved). */
int ctl_wg_remove_peers(struct controller *c, const struct cg_peer_def *peers,
			size_t n);

#endif
