// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_config.h"
#include "log.h"
#include "secrets.h"
#include "wgprog.h"

static void wg_peer_of(const struct cg_peer_def *p, struct wg_peer *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->public_key, p->public_key, WG_KEY_LEN);
	out->allowed_ips[0].addr = p->ip;
	out->allowed_ips[0].cidr = 32;
	out->n_allowed_ips = 1;
	if (!ipv6_is_zero(&p->ip6)) {
		out->allowed_ips[1].v6 = true;
		out->allowed_ips[1].addr6 = p->ip6;
		out->allowed_ips[1].cidr = 128;
		out->n_allowed_ips = 2;
	}
}

int ctl_wg_program(struct controller *c, const struct cg_peer_def *old,
		   const struct cg_peer_def *new)
{
	struct wg_peer_change ch[2];
	struct wg_change change = { .peers = ch };
	int ret;

	if (old && (!new || !key_equal(old->public_key, new->public_key))) {
		memset(&ch[change.n_peers], 0, sizeof(ch[0]));
		ch[change.n_peers].op = WG_PEER_REMOVE;
		memcpy(ch[change.n_peers].peer.public_key, old->public_key,
		       WG_KEY_LEN);
		change.n_peers++;
	}
	if (new) {
		ch[change.n_peers].op = WG_PEER_SET;
		wg_peer_of(new, &ch[change.n_peers].peer);
		change.n_peers++;
	}
	c->wg_writes++;
	ret = wg_apply(c->cfg.wireguard.interface, &change);
	if (ret)
		log_err("wireguard %s: cannot program peer '%s': %s",
			c->cfg.wireguard.interface, new ? new->name : old->name,
			strerror(-ret));
	return ret;
}

/* n peers as SET (or REMOVE) changes, in a new array; NULL on ENOMEM. */
static struct wg_peer_change *peer_changes(const struct cg_peer_def *peers,
					   size_t n, enum wg_peer_op op)
{
	struct wg_peer_change *ch = calloc(n + 1, sizeof(*ch));
	size_t i;

	for (i = 0; ch && i < n; i++) {
		ch[i].op = op;
		if (op == WG_PEER_SET)
			wg_peer_of(&peers[i], &ch[i].peer);
		else
			memcpy(ch[i].peer.public_key, peers[i].public_key,
			       WG_KEY_LEN);
	}
	return ch;
}

int ctl_wg_remove_peers(struct controller *c, const struct cg_peer_def *peers,
			size_t n)
{
	struct wg_change change = { .n_peers = n };
	struct wg_peer_change *ch = peer_changes(peers, n, WG_PEER_REMOVE);
	int ret;

	if (!ch)
		return -ENOMEM;
	change.peers = ch;
	c->wg_writes++;
	ret = wg_apply(c->cfg.wireguard.interface, &change);
	if (ret)
		log_err("wireguard %s: cannot remove %zu peers: %s",
			c->cfg.wireguard.interface, n, strerror(-ret));
	free(ch);
	return ret;
}

/* A WireGuard peer the state wants on the interface. */
struct wg_want {
	struct wg_peer peer;
	char name[CG_NAME_MAX + 1]; /* for logs */
};

static int cmp_want(const void *a, const void *b)
{
	return memcmp(((const struct wg_want *)a)->peer.public_key,
		      ((const struct wg_want *)b)->peer.public_key, WG_KEY_LEN);
}

/* A cell's endpoint as a socket address (names resolved, IPv4). */
static bool resolve_endpoint(const char *endpoint, struct sockaddr_in *out)
{
	struct addrinfo hints = { .ai_family = AF_INET,
				  .ai_socktype = SOCK_DGRAM };
	struct addrinfo *res = NULL;
	char host[256], port[8];
	uint16_t p;

	if (!parse_host_port(endpoint, host, sizeof(host), &p))
		return false;
	snprintf(port, sizeof(port), "%u", p);
	if (getaddrinfo(host, port, &hints, &res) || !res)
		return false;
	memcpy(out, res->ai_addr, sizeof(*out));
	freeaddrinfo(res);
	return true;
}

/* A linked cell: its whole subnet, its endpoint, and keepalives so a NAT
 * between the cells keeps the path open. */
static void wg_cell_of(const struct cg_cell_info *cell, struct wg_peer *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->public_key, cell->public_key, WG_KEY_LEN);
	out->allowed_ips[0].addr = cell->vpn_subnet.addr;
	out->allowed_ips[0].cidr = cell->vpn_subnet.prefix;
	out->n_allowed_ips = 1;
	if (cell->has_subnet6) {
		out->allowed_ips[1].v6 = true;
		out->allowed_ips[1].addr6 = cell->subnet6.addr;
		out->allowed_ips[1].cidr = cell->subnet6.prefix;
		out->n_allowed_ips = 2;
	}
	out->has_endpoint = resolve_endpoint(cell->endpoint, &out->endpoint);
	out->persistent_keepalive = CLIENT_KEEPALIVE;
}

/* What WireGuard should hold, copied out of the state under the lock
 * (O(N) copies, nothing else), to be compared with the device outside
 * it. Cells' endpoints are resolved later, outside the lock too. */
struct wg_snapshot {
	struct wg_want *want; /* peers, then cells' slots */
	struct cg_cell_info *cells;
	size_t n_peers, n_cells;
	uint64_t gen; /* c->wg_writes when taken */
};

static int wg_snapshot(struct controller *c, struct wg_snapshot *s)
{
	const struct cg_state *st = &c->state;
	size_t i;

	memset(s, 0, sizeof(*s));
	s->want = calloc(st->n_peers + st->n_cells + 1, sizeof(*s->want));
	s->cells = calloc(st->n_cells + 1, sizeof(*s->cells));
	if (!s->want || !s->cells)
		return -ENOMEM;
	for (i = 0; i < st->n_peers; i++) {
		wg_peer_of(&st->peers[i], &s->want[i].peer);
		memcpy(s->want[i].name, st->peers[i].name,
		       sizeof(s->want[i].name));
	}
	for (i = 0; i < st->n_cells; i++) {
		s->cells[i] = st->cells[i].info;
		/* An IPv4-only cell routes no IPv6 to a cell that has it. */
		if (!c->cfg.wireguard.has_address6)
			s->cells[i].has_subnet6 = false;
	}
	s->n_peers = st->n_peers;
	s->n_cells = st->n_cells;
	s->gen = c->wg_writes;
	return 0;
}

static void wg_snapshot_free(struct wg_snapshot *s)
{
	free(s->want);
	free(s->cells);
}

/* The snapshot's peers and cells, sorted by key; *n of them. */
static struct wg_want *wg_wanted(struct wg_snapshot *s, size_t *n)
{
	size_t i;

	for (i = 0; i < s->n_cells; i++) {
		struct wg_want *w = &s->want[s->n_peers + i];

		wg_cell_of(&s->cells[i], &w->peer);
		snprintf(w->name, sizeof(w->name), "%s", s->cells[i].cell_name);
	}
	*n = s->n_peers + s->n_cells;
	qsort(s->want, *n, sizeof(*s->want), cmp_want);
	return s->want;
}

static bool same_allowed_ip(const struct wg_allowed_ip *x,
			    const struct wg_allowed_ip *y)
{
	if (x->v6 != y->v6 || x->cidr != y->cidr)
		return false;
	return x->v6 ? ipv6_equal(&x->addr6, &y->addr6) :
		       x->addr.s_addr == y->addr.s_addr;
}

/* The same ranges in any order (a device lists IPv4 and IPv6 apart):
 * at most WG_MAX_ALLOWED_IPS each, so pairs are cheap. */
static bool same_allowed_ips(const struct wg_peer *a, const struct wg_peer *b)
{
	size_t i, j;

	if (a->n_allowed_ips != b->n_allowed_ips)
		return false;
	for (i = 0; i < a->n_allowed_ips; i++) {
		for (j = 0; j < b->n_allowed_ips; j++)
			if (same_allowed_ip(&a->allowed_ips[i],
					    &b->allowed_ips[j]))
				break;
		if (j == b->n_allowed_ips)
			return false;
	}
	return true;
}

/* The changes that make dev's peers the wanted ones: every peer with
 * exactly its /32, every cell with its subnet, nothing else. When
 * repair, each difference is logged as drift. */
static int wg_diff(const char *ifname, const struct wg_device *dev,
		   const struct wg_want *want, size_t n_want, bool repair,
		   struct wg_change *change)
{
	struct wg_peer_change *ch =
		calloc(dev->n_peers + n_want + 1, sizeof(*ch));
	uint8_t *seen = calloc(n_want + 1, 1);
	const struct wg_want *w;
	size_t i, n = 0;

	if (!ch || !seen) {
		free(ch);
		free(seen);
		return -ENOMEM;
	}
	for (i = 0; i < dev->n_peers; i++) {
		w = bsearch(&dev->peers[i], want, n_want, sizeof(*want),
			    cmp_want);
		if (w && same_allowed_ips(&dev->peers[i], &w->peer))
			seen[w - want] = 1;
		if (w)
			continue; /* wrong allowed-ips: re-set below */
		ch[n].op = WG_PEER_REMOVE;
		memcpy(ch[n].peer.public_key, dev->peers[i].public_key,
		       WG_KEY_LEN);
		if (repair)
			log_warn("wireguard %s: removing a peer cellgate does "
				 "not know",
				 ifname);
		n++;
	}
	for (i = 0; i < n_want; i++) {
		if (seen[i])
			continue;
		ch[n].op = WG_PEER_SET;
		ch[n++].peer = want[i].peer;
		if (repair)
			log_warn("wireguard %s: repairing '%s' (missing or "
				 "wrong allowed-ips)",
				 ifname, want[i].name);
	}
	free(seen);
	change->peers = ch;
	change->n_peers = n;
	return 0;
}

/* Peers with a handshake in the last 180 s (WireGuard's reject-after
 * time: older ones have no session), for /metrics. */
static uint64_t recent_handshakes(const struct wg_device *dev)
{
	int64_t now = (int64_t)time(NULL);
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < dev->n_peers; i++)
		n += dev->peers[i].last_handshake_sec &&
		     now - dev->peers[i].last_handshake_sec <= 180;
	return n;
}

/* The device's peers against the snapshot's, and the changes. */
static int wg_compare(struct controller *c, struct wg_snapshot *s, bool repair,
		      struct wg_change *change, uint64_t *recent)
{
	const char *ifname = c->cfg.wireguard.interface;
	struct wg_device dev = { 0 };
	struct wg_want *want;
	size_t n_want;
	int ret = wg_get_device(ifname, &dev);

	if (ret) {
		log_warn("wireguard %s: cannot read peers: %s", ifname,
			 strerror(-ret));
		return ret;
	}
	want = wg_wanted(s, &n_want);
	ret = wg_diff(ifname, &dev, want, n_want, repair, change);
	if (recent)
		*recent = recent_handshakes(&dev);
	wg_device_free(&dev);
	return ret;
}

static int wg_apply_diff(struct controller *c, struct wg_change *change,
			 bool repair)
{
	int ret = 0;

	if (change->n_peers) {
		c->wg_writes++;
		ret = wg_apply(c->cfg.wireguard.interface, change);
		if (!ret && repair)
			c->stats.wg_repairs += change->n_peers;
	}
	return ret;
}

int ctl_wg_sync(struct controller *c, bool repair)
{
	struct wg_change change = { 0 };
	struct wg_snapshot s;
	int ret = wg_snapshot(c, &s);

	if (!ret)
		ret = wg_compare(c, &s, repair, &change, NULL);
	if (!ret)
		ret = wg_apply_diff(c, &change, repair);
	free((void *)change.peers);
	wg_snapshot_free(&s);
	return ret;
}

int ctl_wg_reconcile(struct controller *c)
{
	struct wg_change change = { 0 };
	struct wg_snapshot s;
	uint64_t recent = 0;
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = wg_snapshot(c, &s);
	pthread_mutex_unlock(&c->lock);
	/* The dump (O(N) over UAPI or netlink), name resolution and the
	 * diff run without the lock: API calls go on meanwhile. */
	if (!ret)
		ret = wg_compare(c, &s, true, &change, &recent);
	pthread_mutex_lock(&c->lock);
	if (!ret)
		c->wg_recent_handshakes = recent;
	/* Someone programmed WireGuard since the snapshot: the diff may be
	 * stale, the next tick makes a fresh one. */
	if (!ret && s.gen == c->wg_writes)
		ret = wg_apply_diff(c, &change, true);
	pthread_mutex_unlock(&c->lock);
	free((void *)change.peers);
	wg_snapshot_free(&s);
	return ret;
}

/* The job's work, on its thread: a sync's dump and diff, then the set. */
static void *wg_job_run(void *arg)
{
	struct ctl_wg_job *j = arg;

	if (j->snap)
		j->ret = wg_compare(j->c, j->snap, false, &j->change, NULL);
	if (!j->ret && j->change.n_peers)
		j->ret = wg_apply(j->c->cfg.wireguard.interface, &j->change);
	return NULL;
}

static int wg_job_start(struct controller *c, struct ctl_wg_job *j)
{
	c->wg_writes++;
	j->c = c;
	j->threaded = !pthread_create(&j->thread, NULL, wg_job_run, j);
	/* No thread: the same work, in turn. */
	if (!j->threaded)
		wg_job_run(j);
	return 0;
}

int ctl_wg_sync_begin(struct controller *c, struct ctl_wg_job *j)
{
	struct wg_snapshot *s = malloc(sizeof(*s));

	memset(j, 0, sizeof(*j));
	j->ret = s ? wg_snapshot(c, s) : -ENOMEM;
	if (j->ret) {
		if (s)
			wg_snapshot_free(s);
		free(s);
		return j->ret;
	}
	j->snap = s;
	return wg_job_start(c, j);
}

int ctl_wg_job_end(struct ctl_wg_job *j)
{
	if (j->threaded)
		pthread_join(j->thread, NULL);
	j->threaded = false;
	if (j->ret && j->c)
		log_err("wireguard %s: cannot program %zu peers: %s",
			j->c->cfg.wireguard.interface, j->change.n_peers,
			strerror(-j->ret));
	free((void *)j->change.peers);
	j->change.peers = NULL;
	if (j->snap) {
		wg_snapshot_free(j->snap);
		free(j->snap);
		j->snap = NULL;
	}
	j->c = NULL;
	return j->ret;
}

/* The feed's peers[from..to) into the stream as op. */
static void feed_write(struct ctl_wg_feed *f, struct wg_set_stream *s,
		       size_t from, size_t to, enum wg_peer_op op)
{
	struct wg_peer_change pc;

	for (; from < to; from++) {
		memset(&pc, 0, sizeof(pc));
		pc.op = op;
		if (op == WG_PEER_SET)
			wg_peer_of(&f->peers[from], &pc.peer);
		else
			memcpy(pc.peer.public_key, f->peers[from].public_key,
			       WG_KEY_LEN);
		wg_set_stream_peer(s, &pc);
	}
	wg_set_stream_flush(s);
}

/* The peers of the whole feed in one wg_apply (kernel WireGuard). */
static int feed_batch(struct ctl_wg_feed *f, size_t n)
{
	struct wg_change change = { .n_peers = n };
	struct wg_peer_change *ch = peer_changes(f->peers, n, WG_PEER_SET);
	int ret;

	if (!ch)
		return -ENOMEM;
	change.peers = ch;
	ret = n ? wg_apply(f->c->cfg.wireguard.interface, &change) : 0;
	free(ch);
	return ret;
}

/* The feed's thread: peers written as they are pushed, the transaction
 * closed with the feed (after taking them back when it is aborted). */
static void *feed_run(void *arg)
{
	struct ctl_wg_feed *f = arg;
	struct wg_set_stream *s = NULL;
	size_t sent = 0, ready;
	bool closed;
	int ret = wg_set_stream_open(f->c->cfg.wireguard.interface, &s);

	do {
		pthread_mutex_lock(&f->mu);
		while (f->ready == sent && !f->closed)
			pthread_cond_wait(&f->cv, &f->mu);
		ready = f->ready;
		closed = f->closed;
		pthread_mutex_unlock(&f->mu);
		if (s)
			feed_write(f, s, sent, ready, WG_PEER_SET);
		sent = ready;
	} while (!closed);
	if (s && f->abort)
		feed_write(f, s, 0, sent, WG_PEER_REMOVE);
	if (s)
		f->ret = wg_set_stream_close(s);
	else if (ret == -EOPNOTSUPP)
		f->ret = f->abort ? 0 : feed_batch(f, sent);
	else
		f->ret = ret;
	return NULL;
}

int ctl_wg_feed_begin(struct controller *c, const struct cg_peer_def *peers,
		      struct ctl_wg_feed *f)
{
	memset(f, 0, sizeof(*f));
	f->c = c;
	f->peers = peers;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	c->wg_writes++;
	/* No thread: the whole feed is written at its end, in turn. */
	f->threaded = !pthread_create(&f->thread, NULL, feed_run, f);
	return 0;
}

void ctl_wg_feed_push(struct ctl_wg_feed *f, size_t ready)
{
	pthread_mutex_lock(&f->mu);
	f->ready = ready;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

void ctl_wg_feed_close(struct ctl_wg_feed *f, bool abort)
{
	pthread_mutex_lock(&f->mu);
	if (!f->closed) {
		f->closed = true;
		f->abort = abort;
	}
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

int ctl_wg_feed_end(struct ctl_wg_feed *f)
{
	ctl_wg_feed_close(f, true);
	if (f->threaded)
		pthread_join(f->thread, NULL);
	else
		feed_run(f);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	if (f->ret)
		log_err("wireguard %s: cannot program %zu imported peers: %s",
			f->c->cfg.wireguard.interface, f->ready,
			strerror(-f->ret));
	return f->ret;
}

/* The wireguard-go daemon we started outlives us (peers stay connected
 * while the controller restarts); its PID is kept for whoever stops it. */
static void write_pid_file(struct controller *c, pid_t pid)
{
	char path[PATH_MAX], buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);

	if (path_fmt(path, sizeof(path), "%s/wireguard-go.pid",
		     c->cfg.state_dir) ||
	    write_file_atomic(path, buf, (size_t)n, 0644))
		log_warn("cannot record wireguard-go's PID %d", (int)pid);
}

int ctl_wg_setup(struct controller *c, bool *up_later)
{
	const char *ifname = c->cfg.wireguard.interface;
	struct wg_change change = { 0 };
	wg_key priv;
	int ret;

	ret = secrets_load_cell_key(c, priv);
	if (ret)
		return ret;
	ret = key_public_from_private(c->public_key, priv);
	if (!ret)
		ret = wg_ensure_interface(ifname, &c->wg_backend, &c->wg_pid);
	if (!ret) {
		change.has_private_key = true;
		memcpy(change.private_key, priv, WG_KEY_LEN);
		change.has_listen_port = true;
		change.listen_port = c->cfg.wireguard.listen_port;
		ret = wg_apply(ifname, &change);
		explicit_bzero(change.private_key, WG_KEY_LEN);
	}
	explicit_bzero(priv, sizeof(priv));
	if (!ret)
		ret = net_ensure_address(ifname, c->cfg.wireguard.address,
					 c->cfg.wireguard.subnet.prefix);
	/* Its prefix gives the kernel the route to address6's subnet. */
	if (!ret && c->cfg.wireguard.has_address6)
		ret = net_ensure_address6(ifname, &c->cfg.wireguard.address6,
					  c->cfg.wireguard.subnet6.prefix);
	/* A link that is down (one we created) stays so while the caller
	 * programs peers and programs, when it asks. */
	if (!ret && up_later) {
		ret = net_link_is_up(ifname);
		*up_later = ret == 0;
		ret = ret < 0 ? ret : 0;
	}
	if (!ret && !(up_later && *up_later))
		ret = net_link_up(ifname);
	if (ret) {
		log_err("wireguard %s: setup failed: %s", ifname,
			strerror(-ret));
		return ret;
	}
	if (c->wg_pid)
		write_pid_file(c, c->wg_pid);
	log_info("wireguard %s: %s back end%s, listening on %u", ifname,
		 c->wg_backend == WG_BACKEND_KERNEL ? "kernel (netlink)" :
						      "userspace (UAPI)",
		 c->wg_pid ? " (started wireguard-go)" : "",
		 c->cfg.wireguard.listen_port);
	return 0;
}
