// SPDX-License-Identifier: MIT
/*
 * conn_storm: many TCP connections open at once, to check that NAT keeps
 * them apart.
 *
 *   conn_storm server PORT N TIMEOUT_S
 *     Accepts N connections, echoes each one's token back, and prints
 *     "server: N connections from M distinct addresses and P distinct
 *     source ports". Exits 0 once N connections were served.
 *   conn_storm client IP PORT N TIMEOUT_S
 *     Opens N connections at once (non-blocking), sends each a unique
 *     token, keeps all open until every token came back, prints
 *     "client: OK/N ok". Exits 0 only if all N round trips succeeded.
 *   conn_storm slowloris IP PORT N SECONDS
 *     An abusive HTTP client: keeps N connections open for SECONDS, each
 *     sending a partial request (request line and Host, never the end of
 *     the headers) and one more header line every 2 s. A connection the
 *     server closes is reopened 1 s later, to keep the pressure on. Prints
 *     "slowloris: O opened, C closed by the server, longest held H s,
 *     M open at most" and exits 0 (2 on bad arguments).
 *
 * Every wait is bounded by TIMEOUT_S.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define TOKEN_LEN 16

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void raise_fd_limit(long n)
{
	struct rlimit rl = { .rlim_cur = (rlim_t)n + 64,
			     .rlim_max = (rlim_t)n + 64 };

	setrlimit(RLIMIT_NOFILE, &rl);
}

static int set_nonblock(int fd)
{
	return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

struct conn {
	int fd;
	size_t got; /* bytes received so far */
	char buf[TOKEN_LEN]; /* the token: sent (client) or received */
	char echo[TOKEN_LEN]; /* client: what came back */
	int state; /* 0 connecting/reading, 1 sent, 2 done, -1 failed */
};

/* ---- server --------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? -1 : x > y;
}

static size_t distinct(unsigned int *v, size_t n)
{
	size_t i, d = n ? 1 : 0;

	qsort(v, n, sizeof(*v), cmp_u32);
	for (i = 1; i < n; i++)
		d += v[i] != v[i - 1];
	return d;
}

static int server(int port, long n, double timeout)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	unsigned int *addrs = calloc((size_t)n, sizeof(*addrs));
	unsigned int *ports = calloc((size_t)n, sizeof(*ports));
	struct conn *c = calloc((size_t)n, sizeof(*c));
	struct pollfd *pfd = calloc((size_t)n + 1, sizeof(*pfd));
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
	long accepted = 0, served = 0, i;
	double end = now_s() + timeout;

	if (!addrs || !ports || !c || !pfd || lfd < 0)
		return 2;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4096) ||
	    set_nonblock(lfd)) {
		perror("server: listen");
		return 2;
	}
	while (served < n && now_s() < end) {
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (i = 0; i < accepted; i++) {
			pfd[i + 1].fd = c[i].state == 2 ? -1 : c[i].fd;
			pfd[i + 1].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)accepted + 1, 200) < 0 && errno != EINTR)
			return 2;
		while (accepted < n) {
			struct sockaddr_in peer;
			socklen_t len = sizeof(peer);
			int fd = accept(lfd, (struct sockaddr *)&peer, &len);

			if (fd < 0)
				break;
			set_nonblock(fd);
			c[accepted].fd = fd;
			addrs[accepted] = ntohl(peer.sin_addr.s_addr);
			ports[accepted] = ntohs(peer.sin_port);
			accepted++;
		}
		for (i = 0; i < accepted; i++) {
			ssize_t r;

			if (c[i].state == 2 || !(pfd[i + 1].revents & POLLIN))
				continue;
			r = read(c[i].fd, c[i].buf + c[i].got,
				 TOKEN_LEN - c[i].got);
			if (r > 0)
				c[i].got += (size_t)r;
			if (r <= 0 || c[i].got == TOKEN_LEN) {
				if (c[i].got == TOKEN_LEN &&
				    write(c[i].fd, c[i].buf, TOKEN_LEN) ==
					    TOKEN_LEN)
					served++;
				/* Kept open until the client closes it. */
				c[i].state = 2;
			}
		}
	}
	printf("server: %ld connections from %zu distinct addresses and %zu "
	       "distinct source ports\n",
	       served, distinct(addrs, (size_t)accepted),
	       distinct(ports, (size_t)accepted));
	/* Keep them open a moment so clients see every echo. */
	usleep(500000);
	return served == n ? 0 : 1;
}

/* ---- client --------------------------------------------------------------- */

static int client(const char *ip, int port, long n, double timeout)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	struct conn *c = calloc((size_t)n, sizeof(*c));
	struct pollfd *pfd = calloc((size_t)n, sizeof(*pfd));
	double start = now_s(), end = start + timeout;
	long i, done = 0, failed = 0;

	if (!c || !pfd || inet_pton(AF_INET, ip, &a.sin_addr) != 1)
		return 2;
	for (i = 0; i < n; i++) {
		c[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (c[i].fd < 0 ||
		    (connect(c[i].fd, (struct sockaddr *)&a, sizeof(a)) &&
		     errno != EINPROGRESS)) {
			c[i].state = -1;
			failed++;
		}
		char token[TOKEN_LEN + 8];

		snprintf(token, sizeof(token), "%016ld",
			 i % 10000000000000000L);
		memcpy(c[i].buf, token, TOKEN_LEN);
	}
	while (done + failed < n && now_s() < end) {
		for (i = 0; i < n; i++) {
			pfd[i].fd = c[i].state >= 0 && c[i].state < 2 ?
					    c[i].fd :
					    -1;
			pfd[i].events = c[i].state == 0 ? POLLOUT : POLLIN;
		}
		if (poll(pfd, (nfds_t)n, 200) < 0 && errno != EINTR)
			return 2;
		for (i = 0; i < n; i++) {
			int err = 0;
			socklen_t len = sizeof(err);
			ssize_t r;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			if (c[i].state == 0) {
				getsockopt(c[i].fd, SOL_SOCKET, SO_ERROR, &err,
					   &len);
				if (err || write(c[i].fd, c[i].buf,
						 TOKEN_LEN) != TOKEN_LEN) {
					c[i].state = -1;
					failed++;
				} else {
					c[i].state = 1;
				}
				continue;
			}
			r = read(c[i].fd, c[i].echo + c[i].got,
				 TOKEN_LEN - c[i].got);
			if (r <= 0) {
				c[i].state = -1;
				failed++;
				continue;
			}
			c[i].got += (size_t)r;
			if (c[i].got < TOKEN_LEN)
				continue;
			/* Another connection's token means NAT mixed them. */
			if (memcmp(c[i].echo, c[i].buf, TOKEN_LEN)) {
				c[i].state = -1;
				failed++;
			} else {
				c[i].state = 2;
				done++;
			}
		}
	}
	printf("client: %ld/%ld ok, %ld failed\n", done, n, failed);
	/* Opening, one round trip and holding: what NAT setup costs. */
	printf("rate: %ld round trips in %.3f s, %.0f connections/s\n", done,
	       now_s() - start, done / (now_s() - start));
	for (i = 0; i < n; i++)
		close(c[i].fd);
	return done == n ? 0 : 1;
}

/* ---- slowloris ------------------------------------------------------------ */

#define DRIP_S 2.0 /* a header line this often */
#define REOPEN_S 1.0 /* a closed connection comes back after this */

struct loris {
	int fd; /* -1 while waiting to reopen */
	double opened, next; /* next: the next drip, or the reopen */
	unsigned int lines;
};

struct loris_stats {
	long opened, closed, open_now, open_max;
	double held_max;
};

static void loris_open(struct loris *l, const struct sockaddr_in *a,
		       const char *ip, struct loris_stats *st)
{
	struct timeval tv = { .tv_sec = 1 };
	char req[128];
	int n;

	l->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (l->fd < 0)
		return;
	/* Blocking connect (a refused one must not spin), bounded by the
	 * send timeout in case the listen queue is full. */
	setsockopt(l->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(l->fd, (const struct sockaddr *)a, sizeof(*a))) {
		close(l->fd);
		l->fd = -1;
		l->next = now_s() + REOPEN_S;
		return;
	}
	set_nonblock(l->fd);
	n = snprintf(req, sizeof(req),
		     "POST /api/cells/peer-sync/accept-invite HTTP/1.1\r\n"
		     "Host: %s\r\n",
		     ip);
	if (write(l->fd, req, (size_t)n) != n) {
		close(l->fd);
		l->fd = -1;
		l->next = now_s() + REOPEN_S;
		return;
	}
	l->opened = now_s();
	l->next = l->opened + DRIP_S;
	l->lines = 0;
	st->opened++;
	if (++st->open_now > st->open_max)
		st->open_max = st->open_now;
}

/* The server closed it (EOF, reset or an answer): count and schedule. */
static void loris_closed(struct loris *l, struct loris_stats *st)
{
	double held = now_s() - l->opened;

	if (held > st->held_max)
		st->held_max = held;
	close(l->fd);
	l->fd = -1;
	l->next = now_s() + REOPEN_S;
	st->closed++;
	st->open_now--;
}

static void loris_drip(struct loris *l, struct loris_stats *st)
{
	char line[48];
	int n = snprintf(line, sizeof(line), "X-Slow-%u: x\r\n", l->lines++);

	if (write(l->fd, line, (size_t)n) != n)
		loris_closed(l, st);
	else
		l->next = now_s() + DRIP_S;
}

static int slowloris(const char *ip, int port, long n, double seconds)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	struct loris *l = calloc((size_t)n, sizeof(*l));
	struct pollfd *pfd = calloc((size_t)n, sizeof(*pfd));
	struct loris_stats st = { 0 };
	double end = now_s() + seconds;
	long i;

	if (!l || !pfd || inet_pton(AF_INET, ip, &a.sin_addr) != 1)
		return 2;
	for (i = 0; i < n; i++)
		l[i].fd = -1;
	while (now_s() < end) {
		for (i = 0; i < n; i++) {
			if (l[i].fd < 0 && now_s() >= l[i].next &&
			    now_s() < end)
				loris_open(&l[i], &a, ip, &st);
			else if (l[i].fd >= 0 && now_s() >= l[i].next)
				loris_drip(&l[i], &st);
			pfd[i].fd = l[i].fd;
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)n, 100) < 0 && errno != EINTR)
			return 2;
		for (i = 0; i < n; i++)
			if (l[i].fd >= 0 && pfd[i].revents)
				loris_closed(&l[i], &st);
	}
	for (i = 0; i < n; i++) /* the ones still open count too */
		if (l[i].fd >= 0 && now_s() - l[i].opened > st.held_max)
			st.held_max = now_s() - l[i].opened;
	printf("slowloris: %ld opened, %ld closed by the server, longest held "
	       "%.1f s, %ld open at most\n",
	       st.opened, st.closed, st.held_max, st.open_max);
	for (i = 0; i < n; i++)
		if (l[i].fd >= 0)
			close(l[i].fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "server")) {
		raise_fd_limit(atol(argv[3]));
		return server(atoi(argv[2]), atol(argv[3]), atof(argv[4]));
	}
	if (argc == 6 && !strcmp(argv[1], "client")) {
		raise_fd_limit(atol(argv[4]));
		return client(argv[2], atoi(argv[3]), atol(argv[4]),
			      atof(argv[5]));
	}
	if (argc == 6 && !strcmp(argv[1], "slowloris")) {
		raise_fd_limit(atol(argv[4]));
		return slowloris(argv[2], atoi(argv[3]), atol(argv[4]),
				 atof(argv[5]));
	}
	fprintf(stderr, "usage: conn_storm server PORT N TIMEOUT_S\n"
			"       conn_storm client IP PORT N TIMEOUT_S\n"
			"       conn_storm slowloris IP PORT N SECONDS\n");
	return 2;
}
