// SPDX-License-Identifier: MIT
/*
 * Connection bookkeeping for every listener (see listener.h for the
 * policy). libmicrohttpd calls us from its one polling thread (accept
 * policy, connection start and end, requests); a sweeper thread per
 * listener cuts late requests. Both take the listener's lock. A cut is a
 * shutdown() of the socket, made under the lock while the connection is
 * known open: libmicrohttpd reports the end of a connection before it
 * closes the descriptor, so a cut never hits a reused descriptor.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define NS_PER_S 1000000000ull
#define SWEEP_NS (250 * 1000000ull)
#define REPORT_NS (10 * NS_PER_S) /* a summary of cuts at most this often */
#define LOG_LINES 5 /* libmicrohttpd's messages per report period */

struct slot {
	struct MHD_Connection *conn; /* NULL: free */
	int fd;
	struct in6_addr addr; /* IPv4 as ::ffff:a.b.c.d; :: if unknown */
	uint64_t start_ns; /* of the connection, or of its next request */
	bool headers; /* the handler saw the headers */
	bool complete; /* the whole request arrived: no deadline */
	bool cut;
};

struct counts {
	uint64_t accepted, refused, cut_deadline, cut_evicted;
};

struct listener {
	char label[16];
	struct MHD_Daemon *mhd;
	MHD_AccessHandlerCallback handler;
	MHD_RequestCompletedCallback completed;
	void *cls;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t sweeper;
	bool stopping;
	struct slot slots[LISTENER_CONNECTIONS];
	unsigned int open;
	struct counts n, reported; /* now, and at the last summary */
	uint64_t report_ns, log_lines, log_dropped;
	struct listener *next; /* in the registry */
};

/* Running listeners, for /metrics. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct listener *registry;

/* A client's address in one form for both families: IPv4 mapped into
 * IPv6 (::ffff:a.b.c.d), so the per-address limit compares 16 bytes. */
static bool addr_of(const struct sockaddr *sa, struct in6_addr *out)
{
	if (sa && sa->sa_family == AF_INET6) {
		*out = ((const struct sockaddr_in6 *)sa)->sin6_addr;
		return true;
	}
	if (!sa || sa->sa_family != AF_INET)
		return false;
	memset(out, 0, sizeof(*out));
	out->s6_addr[10] = out->s6_addr[11] = 0xff;
	memcpy(&out->s6_addr[12], &((const struct sockaddr_in *)sa)->sin_addr,
	       4);
	return true;
}

static bool is_loopback(const struct in6_addr *a)
{
	return IN6_IS_ADDR_LOOPBACK(a) ||
	       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

/* Under the lock. shutdown() makes the socket readable at EOF, so
 * libmicrohttpd closes it on its next pass. */
static void cut(struct slot *s, uint64_t *counter)
{
	shutdown(s->fd, SHUT_RDWR);
	s->cut = true;
	(*counter)++;
}

/* Has the client sent bytes the daemon has not read yet? Then the
 * daemon is behind (busy with other requests), not the client: under a
 * load of real clients, a connection still queued must not count as a
 * slow one, or making room cuts real requests (200 concurrent clients
 * lost one in ten that way, tests/e2e/test_pressure.sh). A client that
 * sends nothing, or trickles what the daemon reads at once, has none. */
static bool daemon_behind(const struct slot *s)
{
	int n = 0;

	return ioctl(s->fd, FIONREAD, &n) == 0 && n > 0;
}

static bool slow(const struct slot *s)
{
	return s->conn && !s->complete && !s->cut && !daemon_behind(s);
}

/* ---- libmicrohttpd's callbacks ------------------------------------------- */

static enum MHD_Result on_accept(void *cls, const struct sockaddr *sa,
				 socklen_t len)
{
	struct listener *l = cls;
	struct in6_addr a;
	unsigned int same = 0, i;
	bool ok;

	(void)len;
	if (!addr_of(sa, &a) || is_loopback(&a))
		return MHD_YES;
	pthread_mutex_lock(&l->lock);
	for (i = 0; i < LISTENER_CONNECTIONS; i++)
		same += l->slots[i].conn &&
			IN6_ARE_ADDR_EQUAL(&l->slots[i].addr, &a);
	ok = same < LISTENER_PER_ADDRESS;
	if (!ok)
		l->n.refused++;
	pthread_mutex_unlock(&l->lock);
	return ok ? MHD_YES : MHD_NO;
}

/* Under the lock: make room for a new client. Connections younger than
 * LISTENER_GRACE_MS are spared: a client needs a moment between its
 * handshake and its request, and under a flood of reconnecting idle
 * connections the oldest one is otherwise only milliseconds old (all 1000
 * requests of 200 clients were cut that way beside 500 idle connections,
 * tests/e2e/test_pressure.sh). */
static bool evict_oldest(struct listener *l)
{
	uint64_t born_before =
		monotonic_ns() - (uint64_t)LISTENER_GRACE_MS * 1000000ull;
	struct slot *oldest = NULL;
	unsigned int i;

	for (i = 0; i < LISTENER_CONNECTIONS; i++)
		if (l->slots[i].conn && l->slots[i].start_ns < born_before &&
		    slow(&l->slots[i]) &&
		    (!oldest || l->slots[i].start_ns < oldest->start_ns))
			oldest = &l->slots[i];
	if (oldest)
		cut(oldest, &l->n.cut_evicted);
	return oldest != NULL;
}

/* Under the lock: connections neither free nor cut. */
static unsigned int live(const struct listener *l)
{
	unsigned int i, n = 0;

	for (i = 0; i < LISTENER_CONNECTIONS; i++)
		n += l->slots[i].conn && !l->slots[i].cut;
	return n;
}

static void conn_started(struct listener *l, struct MHD_Connection *conn,
			 void **ctx)
{
	const union MHD_ConnectionInfo *fd = MHD_get_connection_info(
		conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *ca = MHD_get_connection_info(
		conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct slot *s = NULL;
	unsigned int i;

	*ctx = NULL;
	if (!fd)
		return;
	pthread_mutex_lock(&l->lock);
	for (i = 0; i < LISTENER_CONNECTIONS && !s; i++)
		if (!l->slots[i].conn)
			s = &l->slots[i];
	if (s) {
		memset(s, 0, sizeof(*s));
		s->conn = conn;
		s->fd = fd->connect_fd;
		if (!ca || !addr_of(ca->client_addr, &s->addr))
			memset(&s->addr, 0, sizeof(s->addr));
		s->start_ns = monotonic_ns();
		*ctx = s;
		l->open++;
		l->n.accepted++;
		if (l->open > LISTENER_CONNECTIONS - LISTENER_RESERVE)
			evict_oldest(l);
	}
	pthread_mutex_unlock(&l->lock);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	struct listener *l = cls;
	struct slot *s = *ctx;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		conn_started(l, conn, ctx);
		return;
	}
	if (!s)
		return;
	pthread_mutex_lock(&l->lock);
	s->conn = NULL;
	l->open--;
	pthread_mutex_unlock(&l->lock);
	*ctx = NULL;
}

/* The slot of conn, locked; NULL (unlocked) if it has none. */
static struct slot *slot_lock(struct listener *l, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct slot *s = ci ? ci->socket_context : NULL;

	if (!s)
		return NULL;
	pthread_mutex_lock(&l->lock);
	if (s->conn == conn)
		return s;
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/* libmicrohttpd calls the handler once when the headers are in (no data),
 * then per body chunk, then once more with no data: the request is whole. */
static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
				 const char *url, const char *method,
				 const char *version, const char *data,
				 size_t *size, void **con_cls)
{
	struct listener *l = cls;
	struct slot *s = slot_lock(l, conn);

	if (s) {
		if (!s->headers)
			s->headers = true;
		else if (*size == 0)
			s->complete = true;
		pthread_mutex_unlock(&l->lock);
	}
	return l->handler(l->cls, conn, url, method, version, data, size,
			  con_cls);
}

/* A kept-alive connection gets the same deadline for its next request. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct listener *l = cls;
	struct slot *s = slot_lock(l, conn);

	if (s) {
		s->headers = s->complete = false;
		s->start_ns = monotonic_ns();
		pthread_mutex_unlock(&l->lock);
	}
	if (l->completed)
		l->completed(l->cls, conn, con_cls, toe);
}

/* libmicrohttpd's messages, at most LOG_LINES per report period: an
 * attack must not flood the log (the summary counts the rest). */
static void on_log(void *cls, const char *fmt, va_list ap)
{
	struct listener *l = cls;
	char line[512];
	bool quiet;

	pthread_mutex_lock(&l->lock);
	quiet = l->log_lines >= LOG_LINES;
	if (quiet)
		l->log_dropped++;
	else
		l->log_lines++;
	pthread_mutex_unlock(&l->lock);
	if (quiet)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_warn("%s: %s", l->label, line);
}

/* ---- the sweeper ----------------------------------------------------------- */

/* Under the lock: what the defences did since the last summary. */
static void report(struct listener *l, uint64_t now)
{
	struct counts d;

	if (now - l->report_ns < REPORT_NS)
		return;
	d.refused = l->n.refused - l->reported.refused;
	d.cut_deadline = l->n.cut_deadline - l->reported.cut_deadline;
	d.cut_evicted = l->n.cut_evicted - l->reported.cut_evicted;
	if (d.refused || d.cut_deadline || d.cut_evicted || l->log_dropped)
		log_warn("%s: in %llu s, %llu connections refused (over %d per "
			 "address), %llu cut (request not whole in %d s), "
			 "%llu cut to make room, %llu messages not logged",
			 l->label, (unsigned long long)(REPORT_NS / NS_PER_S),
			 (unsigned long long)d.refused, LISTENER_PER_ADDRESS,
			 (unsigned long long)d.cut_deadline,
			 LISTENER_DEADLINE_S, (unsigned long long)d.cut_evicted,
			 (unsigned long long)l->log_dropped);
	l->reported = l->n;
	l->report_ns = now;
	l->log_lines = l->log_dropped = 0;
}

/* Has the client closed its side? A request not whole by then never
 * will be. libmicrohttpd notices such a connection only at its deadline
 * (seconds in CLOSE-WAIT, tests/e2e/test_listeners.sh), so the sweep
 * closes it. */
static bool client_gone(const struct slot *s)
{
	struct pollfd p = { .fd = s->fd, .events = POLLRDHUP };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP));
}

static void sweep(struct listener *l, uint64_t now)
{
	unsigned int i;

	for (i = 0; i < LISTENER_CONNECTIONS; i++) {
		struct slot *s = &l->slots[i];

		if (s->conn && slow(s) && client_gone(s)) {
			shutdown(s->fd, SHUT_RDWR);
			s->cut = true; /* the client's doing: not counted */
			continue;
		}
		if (s->conn &&
		    now - s->start_ns > LISTENER_DEADLINE_S * NS_PER_S &&
		    slow(s))
			cut(s, &l->n.cut_deadline);
	}
	/* Keep the reserve free here too: at its limit the daemon accepts
	 * nothing, so no new connection would make room (connections still
	 * in their grace period filled it, and the next requests waited for
	 * the deadline: 600 of 1000 timed out beside 500 idle ones). */
	while (live(l) > LISTENER_CONNECTIONS - LISTENER_RESERVE &&
	       evict_oldest(l))
		;
}

static void *sweeper(void *arg)
{
	struct listener *l = arg;
	struct timespec until;

	pthread_mutex_lock(&l->lock);
	while (!l->stopping) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += (long)SWEEP_NS;
		if (until.tv_nsec >= (long)NS_PER_S) {
			until.tv_sec++;
			until.tv_nsec -= (long)NS_PER_S;
		}
		pthread_cond_timedwait(&l->wake, &l->lock, &until);
		sweep(l, monotonic_ns());
		report(l, monotonic_ns());
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/* ---- life ------------------------------------------------------------------- */

static int listener_init(struct listener *l)
{
	pthread_condattr_t ca;
	int ret;

	if (pthread_mutex_init(&l->lock, NULL))
		return -1;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	ret = pthread_cond_init(&l->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (ret) {
		pthread_mutex_destroy(&l->lock);
		return -1;
	}
	l->report_ns = monotonic_ns();
	return 0;
}

static void listener_free(struct listener *l)
{
	pthread_cond_destroy(&l->wake);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* Keep the URL as sent: the router decodes each {name} itself, strictly
 * (MHD's decoding would cut a name at an encoded NUL), and ?format= is
 * decoded where it is read. */
static size_t keep_escaped(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	(void)conn;
	return strlen(s);
}

/* sa: a sockaddr_in or a sockaddr_in6 (the peers' API on address6). */
static struct MHD_Daemon *daemon_start(struct listener *l,
				       const struct sockaddr *sa)
{
	bool v6 = sa->sa_family == AF_INET6;
	uint16_t port = v6 ? ((const struct sockaddr_in6 *)sa)->sin6_port :
			     ((const struct sockaddr_in *)sa)->sin_port;

	return MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
			MHD_USE_AUTO | (v6 ? MHD_USE_IPv6 : 0),
		ntohs(port), on_accept, l, on_access, l,
		MHD_OPTION_EXTERNAL_LOGGER, on_log, l, MHD_OPTION_SOCK_ADDR, sa,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
		MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)LISTENER_IDLE_S,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)LISTENER_CONNECTIONS,
		/* Headers beyond this get 431; bodies are ours (64 KiB). */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
		MHD_OPTION_END);
}

static void registry_add(struct listener *l)
{
	struct listener **p;

	pthread_mutex_lock(&registry_lock);
	for (p = &registry; *p; p = &(*p)->next)
		;
	*p = l;
	pthread_mutex_unlock(&registry_lock);
}

static void registry_del(struct listener *l)
{
	struct listener **p;

	pthread_mutex_lock(&registry_lock);
	for (p = &registry; *p && *p != l; p = &(*p)->next)
		;
	if (*p)
		*p = l->next;
	pthread_mutex_unlock(&registry_lock);
}

struct listener *listener_start(const char *label, const struct sockaddr *sa,
				MHD_AccessHandlerCallback handler,
				MHD_RequestCompletedCallback completed,
				void *cls)
{
	struct listener *l = calloc(1, sizeof(*l));

	if (!l || listener_init(l)) {
		free(l);
		return NULL;
	}
	snprintf(l->label, sizeof(l->label), "%s", label);
	l->handler = handler;
	l->completed = completed;
	l->cls = cls;
	l->mhd = daemon_start(l, sa);
	if (!l->mhd) {
		listener_free(l);
		return NULL;
	}
	if (pthread_create(&l->sweeper, NULL, sweeper, l)) {
		MHD_stop_daemon(l->mhd);
		listener_free(l);
		return NULL;
	}
	registry_add(l);
	return l;
}

void listener_stop(struct listener *l)
{
	if (!l)
		return;
	registry_del(l);
	pthread_mutex_lock(&l->lock);
	l->stopping = true;
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->sweeper, NULL);
	MHD_stop_daemon(l->mhd);
	listener_free(l);
}

size_t listener_stats(struct listener_stats *out, size_t max)
{
	struct listener *l;
	size_t n = 0;

	pthread_mutex_lock(&registry_lock);
	for (l = registry; l && n < max; l = l->next, n++) {
		pthread_mutex_lock(&l->lock);
		memcpy(out[n].label, l->label, sizeof(out[n].label));
		out[n].accepted = l->n.accepted;
		out[n].refused = l->n.refused;
		out[n].cut_deadline = l->n.cut_deadline;
		out[n].cut_evicted = l->n.cut_evicted;
		out[n].open = l->open;
		pthread_mutex_unlock(&l->lock);
	}
	pthread_mutex_unlock(&registry_lock);
	return n;
}

void listener_metrics(struct metrics *m)
{
	struct listener_stats st[8];
	size_t i, n = listener_stats(st, 8);

	metrics_family(m, "cellgate_listener_connections", "gauge",
		       "Connections open on the listener now.");
	for (i = 0; i < n; i++)
		metrics_u64(m, st[i].open, "listener", st[i].label, NULL);
	metrics_family(m, "cellgate_listener_connections_accepted_total",
		       "counter", "Connections the listener took.");
	for (i = 0; i < n; i++)
		metrics_u64(m, st[i].accepted, "listener", st[i].label, NULL);
	metrics_family(m, "cellgate_listener_connections_refused_total",
		       "counter",
		       "Connections refused at once: their address already "
		       "had the most it may hold (loopback is exempt).");
	for (i = 0; i < n; i++)
		metrics_u64(m, st[i].refused, "listener", st[i].label, NULL);
	metrics_family(m, "cellgate_listener_connections_cut_total", "counter",
		       "Connections closed by the listener, by reason: "
		       "deadline (the request had not arrived whole in "
		       "time), evicted (the oldest such one, to make room).");
	for (i = 0; i < n; i++) {
		metrics_u64(m, st[i].cut_deadline, "listener", st[i].label,
			    "reason", "deadline", NULL);
		metrics_u64(m, st[i].cut_evicted, "listener", st[i].label,
			    "reason", "evicted", NULL);
	}
}
