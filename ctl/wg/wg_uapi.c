// SPDX-License-Identifier: MIT
/*
 * Userspace back end: the cross-platform configuration protocol spoken on
 * WG_UAPI_DIR/IFNAME.sock by wireguard-go and friends. A request is
 * "get=1\n\n" or "set=1\n" followed by key=value lines and an empty line;
 * the reply is key=value lines ending in "errno=N\n\n". Keys travel in hex.
 */
/* struct ucred */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "wg_internal.h"

/* Bound on each send or receive, so a stuck daemon cannot hang us. */
#define UAPI_IO_TIMEOUT_SEC 10
/* Longer than any line the protocol defines (an IPv6 endpoint with a zone
 * is under 100 bytes); a longer one means we are not talking UAPI. */
#define UAPI_LINE_MAX 512
#define UAPI_WBUF_SIZE 65536

static int uapi_addr(const char *ifname, struct sockaddr_un *sun)
{
	int n;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s.sock",
		     WG_UAPI_DIR, ifname);
	if (n < 0 || (size_t)n >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

/* Connect without logging: a failure is an answer when probing. Every
 * later send and receive (and connect itself) is bounded in time. */
static int uapi_connect(const char *ifname, int *fdp)
{
	struct timeval tv = { .tv_sec = UAPI_IO_TIMEOUT_SEC };
	struct sockaddr_un sun;
	struct stat st;
	int fd, ret;

	ret = uapi_addr(ifname, &sun);
	if (ret)
		return ret;
	if (stat(sun.sun_path, &st))
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*fdp = fd;
	return 0;
}

int uapi_probe(const char *ifname)
{
	int fd, ret;

	ret = uapi_connect(ifname, &fd);
	if (!ret)
		close(fd);
	return ret;
}

int uapi_owner_pid(const char *ifname, pid_t *pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd, ret;

	ret = uapi_connect(ifname, &fd);
	if (ret)
		return ret;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		ret = -errno;
	else
		*pid = cred.pid;
	close(fd);
	return ret;
}

static int uapi_open(const char *ifname, const char *op, int *fdp)
{
	int ret = uapi_connect(ifname, fdp);

	if (ret)
		log_err("wg %s: %s: cannot connect to %s/%s.sock: %s", ifname,
			op, WG_UAPI_DIR, ifname, strerror(-ret));
	return ret;
}

/* Buffered writer. The buffer may hold a private key: wiped after each
 * flush and before it is freed. */
struct uapi_writer {
	int fd;
	int err;
	size_t len;
	char *buf;
};

static int writer_flush(struct uapi_writer *w)
{
	size_t off = 0;
	ssize_t n;

	while (!w->err && off < w->len) {
		n = send(w->fd, w->buf + off, w->len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			w->err = errno == EAGAIN ? -ETIMEDOUT : -errno;
		else
			off += (size_t)n;
	}
	explicit_bzero(w->buf, w->len);
	w->len = 0;
	return w->err;
}

/* Append one formatted line; errors stick in w->err, checked at the end. */
__attribute__((format(printf, 2, 3))) static void
writer_put(struct uapi_writer *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (int tries = 0; tries < 2 && !w->err; tries++) {
		va_start(ap, fmt);
		n = vsnprintf(w->buf + w->len, UAPI_WBUF_SIZE - w->len, fmt,
			      ap);
		va_end(ap);
		if (n < 0) {
			w->err = -EINVAL;
		} else if ((size_t)n < UAPI_WBUF_SIZE - w->len) {
			w->len += (size_t)n;
			return;
		}
		writer_flush(w);
	}
	if (!w->err)
		w->err = -EMSGSIZE;
}

/* Buffered line reader over the socket. */
struct uapi_reader {
	int fd;
	size_t pos;
	size_t len;
	char buf[4096];
};

static int reader_fill(struct uapi_reader *r)
{
	ssize_t n;

	do
		n = recv(r->fd, r->buf, sizeof(r->buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	if (n == 0)
		return -ECONNRESET;
	r->pos = 0;
	r->len = (size_t)n;
	return 0;
}

/* Next line without its '\n' into line[cap]; its length or -errno. */
static int reader_line(struct uapi_reader *r, char *line, size_t cap)
{
	size_t n = 0;
	char c;
	int ret;

	for (;;) {
		if (r->pos == r->len) {
			ret = reader_fill(r);
			if (ret)
				return ret;
		}
		c = r->buf[r->pos++];
		if (c == '\n')
			break;
		if (n + 1 >= cap)
			return -EPROTO;
		line[n++] = c;
	}
	line[n] = '\0';
	return (int)n;
}

static void reader_wipe(struct uapi_reader *r)
{
	explicit_bzero(r->buf, sizeof(r->buf));
}

/* Strict unsigned decimal, at most max. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EPROTO;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EPROTO;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -EPROTO;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/*
 * "errno=N": the daemon's verdict, returned as -errno. wireguard-go
 * writes N already negated ("errno=-98"), others may write it positive;
 * both mean the same.
 */
static int parse_errno(const char *value, int *err)
{
	uint64_t v;

	if (*value == '-')
		value++;
	if (parse_u64(value, 4095, &v))
		return -EPROTO;
	*err = -(int)v;
	return 0;
}

/* Read the rest of a reply up to its empty line; *err gets errno=N. */
static int read_status(struct uapi_reader *r, int *err)
{
	char line[UAPI_LINE_MAX];
	bool seen = false;
	int n;

	while ((n = reader_line(r, line, sizeof(line))) > 0) {
		if (!strncmp(line, "errno=", 6)) {
			if (parse_errno(line + 6, err))
				return -EPROTO;
			seen = true;
		}
	}
	if (n < 0)
		return n;
	return seen ? 0 : -EPROTO;
}

static void put_peer(struct uapi_writer *w, const struct wg_peer_change *pc)
{
	const struct wg_peer *p = &pc->peer;
	char hex[2 * WG_KEY_LEN + 1], ip[INET_ADDRSTRLEN];
	char ip6[INET6_ADDRSTRLEN];
	size_t i;

	key_to_hex(hex, p->public_key);
	writer_put(w, "public_key=%s\n", hex);
	if (pc->op == WG_PEER_REMOVE) {
		writer_put(w, "remove=true\n");
		return;
	}
	if (p->has_endpoint &&
	    inet_ntop(AF_INET, &p->endpoint.sin_addr, ip, sizeof(ip)))
		writer_put(w, "endpoint=%s:%u\n", ip,
			   ntohs(p->endpoint.sin_port));
	writer_put(w, "persistent_keepalive_interval=%u\n",
		   p->persistent_keepalive);
	writer_put(w, "replace_allowed_ips=true\n");
	for (i = 0; i < p->n_allowed_ips; i++) {
		const struct wg_allowed_ip *a = &p->allowed_ips[i];

		if (!(a->v6 ? inet_ntop(AF_INET6, &a->addr6, ip6, sizeof(ip6)) :
			      inet_ntop(AF_INET, &a->addr, ip6, sizeof(ip6))))
			continue;
		writer_put(w, "allowed_ip=%s/%u\n", ip6, a->cidr);
	}
}

static void put_change(struct uapi_writer *w, const struct wg_change *change)
{
	char hex[2 * WG_KEY_LEN + 1];
	size_t i;

	writer_put(w, "set=1\n");
	if (change->has_private_key) {
		key_to_hex(hex, change->private_key);
		writer_put(w, "private_key=%s\n", hex);
		explicit_bzero(hex, sizeof(hex));
	}
	if (change->has_listen_port)
		writer_put(w, "listen_port=%u\n", change->listen_port);
	for (i = 0; i < change->n_peers && !w->err; i++)
		put_peer(w, &change->peers[i]);
	writer_put(w, "\n");
	writer_flush(w);
}

int uapi_apply(const char *ifname, const struct wg_change *change)
{
	struct uapi_writer w = { .fd = -1 };
	struct uapi_reader *r = NULL;
	int ret, status = 0;

	ret = uapi_open(ifname, "set", &w.fd);
	if (ret)
		return ret;
	w.buf = malloc(UAPI_WBUF_SIZE);
	r = malloc(sizeof(*r));
	if (!w.buf || !r) {
		ret = -ENOMEM;
		goto out;
	}
	r->fd = w.fd;
	r->pos = r->len = 0;
	put_change(&w, change);
	/* The daemon stops reading at the first bad line, answers, and
	 * hangs up; its answer says more than our EPIPE, so read it. */
	ret = read_status(r, &status);
	if (!ret && status) {
		ret = status;
		log_err("wg %s: set of %zu peers refused by daemon: %s", ifname,
			change->n_peers, strerror(-ret));
	} else if (w.err || ret) {
		ret = w.err ? w.err : ret;
		log_err("wg %s: set of %zu peers failed: %s", ifname,
			change->n_peers,
			ret == -EPROTO ? "malformed UAPI reply" :
					 strerror(-ret));
	}
out:
	if (w.buf) {
		explicit_bzero(w.buf, UAPI_WBUF_SIZE);
		free(w.buf);
	}
	free(r);
	close(w.fd);
	return ret;
}

/*
 * One set transaction written as its peers come (a bulk import's, while
 * the controller still checks the later entries): wireguard-go works on
 * the first peers while the next are written. The writer's buffer is
 * flushed whenever it fills; the daemon answers at the empty line.
 */
struct wg_set_stream {
	char ifname[IF_NAMESIZE];
	struct uapi_writer w;
	size_t n_peers;
};

int uapi_set_open(const char *ifname, struct wg_set_stream **sp)
{
	struct wg_set_stream *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
	s->w.fd = -1;
	s->w.buf = malloc(UAPI_WBUF_SIZE);
	ret = s->w.buf ? uapi_open(ifname, "set", &s->w.fd) : -ENOMEM;
	if (ret) {
		free(s->w.buf);
		free(s);
		return ret;
	}
	writer_put(&s->w, "set=1\n");
	*sp = s;
	return 0;
}

void wg_set_stream_peer(struct wg_set_stream *s,
			const struct wg_peer_change *pc)
{
	if (s->w.err)
		return;
	put_peer(&s->w, pc);
	s->n_peers++;
}

void wg_set_stream_flush(struct wg_set_stream *s)
{
	writer_flush(&s->w);
}

int wg_set_stream_close(struct wg_set_stream *s)
{
	struct uapi_reader *r = malloc(sizeof(*r));
	int ret = r ? 0 : -ENOMEM, status = 0;

	writer_put(&s->w, "\n");
	writer_flush(&s->w);
	if (r) {
		r->fd = s->w.fd;
		r->pos = r->len = 0;
		ret = read_status(r, &status);
	}
	if (!ret && status) {
		ret = status;
		log_err("wg %s: set of %zu peers refused by daemon: %s",
			s->ifname, s->n_peers, strerror(-ret));
	} else if (s->w.err || ret) {
		ret = s->w.err ? s->w.err : ret;
		log_err("wg %s: set of %zu peers failed: %s", s->ifname,
			s->n_peers,
			ret == -EPROTO ? "malformed UAPI reply" :
					 strerror(-ret));
	}
	explicit_bzero(s->w.buf, UAPI_WBUF_SIZE);
	free(s->w.buf);
	free(r);
	close(s->w.fd);
	free(s);
	return ret;
}

/* Parsing of a get reply. */
struct get_state {
	struct wg_device *dev;
	struct wg_peer *peer; /* the peer lines now apply to */
	size_t cap;
	size_t dropped_ips; /* beyond WG_MAX_ALLOWED_IPS in a peer */
	int status;
	bool seen_errno;
};

/* "a.b.c.d:port"; IPv6 endpoints ("[...]:port") are not ours: skipped. */
static int parse_endpoint(struct wg_peer *p, const char *value)
{
	char host[INET_ADDRSTRLEN];
	const char *colon;
	uint64_t port;

	if (value[0] == '[')
		return 0;
	colon = strrchr(value, ':');
	if (!colon || (size_t)(colon - value) >= sizeof(host))
		return -EPROTO;
	memcpy(host, value, (size_t)(colon - value));
	host[colon - value] = '\0';
	if (inet_pton(AF_INET, host, &p->endpoint.sin_addr) != 1 ||
	    parse_u64(colon + 1, UINT16_MAX, &port))
		return -EPROTO;
	p->endpoint.sin_family = AF_INET;
	p->endpoint.sin_port = htons((uint16_t)port);
	p->has_endpoint = true;
	return 0;
}

/* "a.b.c.d/cidr" or "a::b/cidr". */
static int parse_allowed_ip(struct get_state *st, const char *value)
{
	struct wg_peer *p = st->peer;
	char host[INET6_ADDRSTRLEN];
	struct wg_allowed_ip aip = { .v6 = strchr(value, ':') != NULL };
	const char *slash;
	uint64_t cidr;

	slash = strchr(value, '/');
	if (!slash || (size_t)(slash - value) >= sizeof(host))
		return -EPROTO;
	memcpy(host, value, (size_t)(slash - value));
	host[slash - value] = '\0';
	if ((aip.v6 ? inet_pton(AF_INET6, host, &aip.addr6) :
		      inet_pton(AF_INET, host, &aip.addr)) != 1 ||
	    parse_u64(slash + 1, aip.v6 ? 128 : 32, &cidr))
		return -EPROTO;
	aip.cidr = (uint8_t)cidr;
	if (p->n_allowed_ips == WG_MAX_ALLOWED_IPS)
		st->dropped_ips++;
	else
		p->allowed_ips[p->n_allowed_ips++] = aip;
	return 0;
}

static int parse_peer_line(struct get_state *st, const char *key,
			   const char *value)
{
	struct wg_peer *p = st->peer;
	uint64_t v;

	if (!strcmp(key, "endpoint"))
		return parse_endpoint(p, value);
	if (!strcmp(key, "allowed_ip"))
		return parse_allowed_ip(st, value);
	if (!strcmp(key, "persistent_keepalive_interval")) {
		if (parse_u64(value, UINT16_MAX, &v))
			return -EPROTO;
		p->persistent_keepalive = (uint16_t)v;
	} else if (!strcmp(key, "last_handshake_time_sec")) {
		if (parse_u64(value, INT64_MAX, &v))
			return -EPROTO;
		p->last_handshake_sec = (int64_t)v;
	} else if (!strcmp(key, "rx_bytes")) {
		return parse_u64(value, UINT64_MAX, &p->rx_bytes);
	} else if (!strcmp(key, "tx_bytes")) {
		return parse_u64(value, UINT64_MAX, &p->tx_bytes);
	}
	/* Anything else (preshared_key, protocol_version, ...) is ignored. */
	return 0;
}

static int parse_get_line(struct get_state *st, char *line)
{
	char *value = strchr(line, '=');
	uint64_t v;

	if (!value)
		return -EPROTO;
	*value++ = '\0';
	if (!strcmp(line, "errno")) {
		st->seen_errno = true;
		return parse_errno(value, &st->status);
	}
	if (!strcmp(line, "public_key")) {
		st->peer = wg_device_add_peer(st->dev, &st->cap);
		if (!st->peer)
			return -ENOMEM;
		return key_from_hex(st->peer->public_key, value) ? 0 : -EPROTO;
	}
	if (st->peer)
		return parse_peer_line(st, line, value);
	if (!strcmp(line, "private_key")) {
		if (!key_from_hex(st->dev->private_key, value))
			return -EPROTO;
		st->dev->has_private_key = true;
	} else if (!strcmp(line, "listen_port")) {
		if (parse_u64(value, UINT16_MAX, &v))
			return -EPROTO;
		st->dev->listen_port = (uint16_t)v;
	}
	return 0;
}

static int read_device(struct uapi_reader *r, struct get_state *st)
{
	char line[UAPI_LINE_MAX];
	int n, ret = 0;

	while ((n = reader_line(r, line, sizeof(line))) > 0) {
		ret = parse_get_line(st, line);
		if (ret)
			break;
	}
	explicit_bzero(line, sizeof(line));
	if (ret)
		return ret;
	if (n < 0)
		return n;
	return st->seen_errno ? 0 : -EPROTO;
}

int uapi_get(const char *ifname, struct wg_device *dev)
{
	struct get_state st = { .dev = dev };
	struct uapi_reader *r;
	int fd, ret;
	ssize_t n;

	ret = uapi_open(ifname, "get", &fd);
	if (ret)
		return ret;
	r = malloc(sizeof(*r));
	if (!r) {
		close(fd);
		return -ENOMEM;
	}
	r->fd = fd;
	r->pos = r->len = 0;
	n = send(fd, "get=1\n\n", 7, MSG_NOSIGNAL);
	if (n != 7)
		ret = n < 0 ? -errno : -EIO;
	else
		ret = read_device(r, &st);
	if (!ret && st.dropped_ips)
		log_warn("wg %s: get: ignored %zu allowed IPs over %d per peer",
			 ifname, st.dropped_ips, WG_MAX_ALLOWED_IPS);
	if (!ret && st.status) {
		ret = st.status;
		log_err("wg %s: get refused by daemon: %s", ifname,
			strerror(-ret));
	} else if (ret) {
		log_err("wg %s: get failed: %s", ifname,
			ret == -EPROTO ? "malformed UAPI reply" :
					 strerror(-ret));
	}
	reader_wipe(r);
	free(r);
	close(fd);
	return ret;
}
