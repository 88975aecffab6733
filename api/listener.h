/* SPDX-License-Identifier: MIT */
/*
 * Every HTTP listener (admin API, sync, pairing, metrics) runs on one of
 * these: a libmicrohttpd daemon with the same defences against slow and
 * abusive clients, in one place.
 *
 * - At most LISTENER_PER_ADDRESS connections per client address, except
 *   loopback: every local client shares 127.0.0.1, and a per-address limit
 *   there would lock the real (local) client out with the attacker.
 * - A request must arrive whole (headers and body) within
 *   LISTENER_DEADLINE_S of the connection's start, or of the previous
 *   response on a kept-alive connection; a client that trickles bytes does
 *   not reset it (libmicrohttpd's own timeout is an idle timeout). Late
 *   ones are cut by a sweep.
 * - When the listener is nearly full, the oldest connection whose request
 *   has not arrived whole (and is at least LISTENER_GRACE_MS old, with no
 *   bytes waiting for the daemon to read) is cut, so a new (well-behaved)
 *   client gets a slot soon instead of waiting behind the attacker.
 * Cut connections are shut down, so libmicrohttpd closes them at once: no
 * socket waits in CLOSE-WAIT for a timeout.
 */
#ifndef CELLGATE_API_LISTENER_H
#define CELLGATE_API_LISTENER_H

#include <microhttpd.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define LISTENER_CONNECTIONS 128 /* per listener, libmicrohttpd's limit */
#define LISTENER_RESERVE 16 /* kept free by cutting the oldest slow one */
#define LISTENER_PER_ADDRESS 16 /* connections per client address */
#define LISTENER_DEADLINE_S 5 /* for a whole request to arrive */
#define LISTENER_GRACE_MS 1000 /* a new connection is not cut to make room */
#define LISTENER_IDLE_S 30 /* libmicrohttpd's idle timeout (responses) */

struct listener;

/* Start a daemon on sa (a sockaddr_in or sockaddr_in6) serving handler;
 * completed (may be NULL) is called when a request ends. label names it
 * in logs and metrics (at most 15 characters). NULL if it cannot listen. */
struct listener *listener_start(const char *label, const struct sockaddr *sa,
				MHD_AccessHandlerCallback handler,
				MHD_RequestCompletedCallback completed,
				void *cls);
void listener_stop(struct listener *l);

struct listener_stats {
	char label[16];
	uint64_t accepted; /* connections taken */
	uint64_t refused; /* over the per-address limit */
	uint64_t cut_deadline; /* request not whole in time */
	uint64_t cut_evicted; /* oldest slow one, to make room */
	unsigned int open; /* connections now */
};

/* The running listeners' counters, in start order; returns how many
 * (at most max). */
size_t listener_stats(struct listener_stats *out, size_t max);

/* Their families of GET /metrics (registered as the daemon's
 * more_metrics, so the exporter needs nothing of api/). */
struct metrics;
void listener_metrics(struct metrics *m);

#endif
