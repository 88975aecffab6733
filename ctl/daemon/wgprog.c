// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	ret = wg_apply(c->cfg.wireguard.interface, &change);
	if (ret)
		log_err("wireguard %s: cannot program peer '%s': %s",
			c->cfg.wireguard.interface, new ? new->name : old->name,
			strerror(-ret));
	return ret;
}

int ctl_wg_add_peers(struct controller *c, const struct cg_peer_def *peers,
		     size_t n)
{
	struct wg_peer_change *ch = calloc(n + 1, sizeof(*ch));
	struct wg_change change = { .peers = ch, .n_peers = n };
	size_t i;
	int ret;

	if (!ch)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		ch[i].op = WG_PEER_SET;
		wg_peer_of(&peers[i], &ch[i].peer);
	}
	/* One set transaction (UAPI) or the back end's batches (netlink). */
	ret = wg_apply(c->cfg.wireguard.interface, &change);
	if (ret)
		log_err("wireguard %s: cannot program %zu imported peers: %s",
			c->cfg.wireguard.interface, n, strerror(-ret));
	free(ch);
	return ret;
}

/* A WireGuard peer the state wants on the interface. */
struct wg_want {
	struct wg_peer peer;
	const char *name; /* for logs */
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
static void wg_cell_of(const struct cg_cell_def *cell, struct wg_peer *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->public_key, cell->info.public_key, WG_KEY_LEN);
	out->allowed_ips[0].addr = cell->info.vpn_subnet.addr;
	out->allowed_ips[0].cidr = cell->info.vpn_subnet.prefix;
	out->n_allowed_ips = 1;
	out->has_endpoint =
		resolve_endpoint(cell->info.endpoint, &out->endpoint);
	out->persistent_keepalive = CLIENT_KEEPALIVE;
}

/* Every peer and cell of the state, sorted by key. */
static struct wg_want *wg_wanted(const struct cg_state *st, size_t *n)
{
	struct wg_want *w = calloc(st->n_peers + st->n_cells + 1, sizeof(*w));
	size_t i;

	*n = 0;
	if (!w)
		return NULL;
	for (i = 0; i < st->n_peers; i++) {
		wg_peer_of(&st->peers[i], &w[*n].peer);
		w[(*n)++].name = st->peers[i].name;
	}
	for (i = 0; i < st->n_cells; i++) {
		wg_cell_of(&st->cells[i], &w[*n].peer);
		w[(*n)++].name = st->cells[i].info.cell_name;
	}
	qsort(w, *n, sizeof(*w), cmp_want);
	return w;
}

static bool same_allowed_ips(const struct wg_peer *a, const struct wg_peer *b)
{
	size_t i;

	if (a->n_allowed_ips != b->n_allowed_ips)
		return false;
	for (i = 0; i < a->n_allowed_ips; i++)
		if (a->allowed_ips[i].cidr != b->allowed_ips[i].cidr ||
		    a->allowed_ips[i].addr.s_addr !=
			    b->allowed_ips[i].addr.s_addr)
			return false;
	return true;
}

/* Make the interface's peers equal to the state: every peer with exactly
 * its /32, every cell with its subnet, nothing else. When repair, each
 * difference is a repair of drift: logged and counted. */
int ctl_wg_sync(struct controller *c, bool repair)
{
	const char *ifname = c->cfg.wireguard.interface;
	struct wg_device dev = { 0 };
	struct wg_change change = { 0 };
	struct wg_peer_change *ch = NULL;
	struct wg_want *want, *w;
	uint8_t *seen = NULL;
	size_t i, n = 0, n_want;
	int ret;

	ret = wg_get_device(ifname, &dev);
	if (ret) {
		log_warn("wireguard %s: cannot read peers: %s", ifname,
			 strerror(-ret));
		return ret;
	}
	want = wg_wanted(&c->state, &n_want);
	if (want) {
		ch = calloc(dev.n_peers + n_want + 1, sizeof(*ch));
		seen = calloc(n_want + 1, 1);
	}
	if (!want || !ch || !seen) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < dev.n_peers; i++) {
		w = bsearch(&dev.peers[i], want, n_want, sizeof(*want),
			    cmp_want);
		if (w && same_allowed_ips(&dev.peers[i], &w->peer))
			seen[w - want] = 1;
		if (w)
			continue; /* wrong allowed-ips: re-set below */
		ch[n].op = WG_PEER_REMOVE;
		memcpy(ch[n].peer.public_key, dev.peers[i].public_key,
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
	if (n) {
		change.peers = ch;
		change.n_peers = n;
		ret = wg_apply(ifname, &change);
		if (!ret && repair)
			c->stats.wg_repairs += n;
	}
out:
	free(ch);
	free(seen);
	free(want);
	wg_device_free(&dev);
	return ret;
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

int ctl_wg_setup(struct controller *c)
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
	if (!ret)
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
