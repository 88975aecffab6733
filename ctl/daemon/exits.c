// SPDX-License-Identifier: MIT
/*
 * Exits at run time (issue 20, exits.h): a wireguard exit's own
 * interface, cg_exits[id] built from the definition and the exit's
 * health, and the check every second that flips `up` (the kill switch)
 * and logs and counts each change.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "controller.h"
#include "exits.h"
#include "log.h"
#include "metrics.h"

/* ---- the link and its health -------------------------------------------- */

/* ifindex of ifname (0: none) and whether it is up and running. */
static uint32_t link_state(const char *ifname, bool *running)
{
	struct ifreq ifr = { 0 };
	uint32_t ifindex = if_nametoindex(ifname);
	int fd;

	*running = false;
	if (!ifindex)
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ifindex;
	str_copy(ifr.ifr_name, sizeof(ifr.ifr_name), ifname);
	if (!ioctl(fd, SIOCGIFFLAGS, &ifr))
		*running = (ifr.ifr_flags & IFF_UP) &&
			   (ifr.ifr_flags & IFF_RUNNING);
	close(fd);
	return ifindex;
}

/* Does ifname carry Ethernet headers (a veth, a bridge) rather than bare
 * IP (tun, WireGuard)? */
static bool link_is_ether(const char *ifname)
{
	char path[64], buf[16] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/type", ifname);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return atoi(buf) == 1; /* ARPHRD_ETHER */
}

/* The last handshake with the exit's far end (unix seconds, 0: never). */
static int64_t wg_handshake(const struct cg_exit_def *e)
{
	struct wg_device dev = { 0 };
	int64_t hs = 0;
	size_t i;

	if (wg_get_device(e->interface, &dev))
		return 0;
	for (i = 0; i < dev.n_peers; i++)
		if (key_equal(dev.peers[i].public_key, e->public_key))
			hs = dev.peers[i].last_handshake_sec;
	wg_device_free(&dev);
	return hs;
}

/* cg_exits[id] as the exit is now; *hs: its last handshake. */
static void measure(const struct cg_exit_def *e, struct cg_exit *v, int64_t *hs)
{
	struct in_addr a;
	struct in6_addr a6;
	uint8_t prefix;
	bool running;

	memset(v, 0, sizeof(*v));
	v->kind = e->kind;
	v->masquerade = e->masquerade;
	v->ifindex = link_state(e->interface, &running);
	v->l2 = v->ifindex && link_is_ether(e->interface);
	*hs = e->kind == CG_EXIT_WIREGUARD && v->ifindex ? wg_handshake(e) : 0;
	v->up = v->ifindex && running;
	if (e->kind == CG_EXIT_WIREGUARD)
		v->up = v->up && *hs &&
			time(NULL) - *hs < CG_EXIT_HANDSHAKE_MAX_S;
	/* Without an address of its own, masquerade to the link's. */
	if (e->has_address)
		memcpy(v->addr, &e->address.addr, 4);
	else if (v->ifindex && !net_get_ipv4(e->interface, &a, &prefix))
		memcpy(v->addr, &a, 4);
	if (e->has_address6)
		memcpy(v->addr6, &e->address6.addr, 16);
	else if (v->ifindex && !net_get_ipv6(e->interface, &a6, &prefix))
		memcpy(v->addr6, &a6, 16);
	if (e->has_gateway)
		memcpy(v->gateway, &e->gateway, 4);
	/* Masquerading with no address to use would send the peer's own
	 * source out: held back instead. */
	if (v->masquerade && !e->has_address && !*(const uint32_t *)v->addr)
		v->up = 0;
}

/* Write cg_exits[id] when it changed; log and count up/down. Under the
 * lock. */
static int write_entry(struct controller *c, const struct cg_exit_def *e,
		       const struct cg_exit *v, int64_t hs, bool force)
{
	struct ctl_exit_rt *rt = &c->exits.rt[e->id];
	bool was_up = rt->written && rt->entry.up;
	int ret = 0;

	rt->handshake = hs;
	if (!force && !rt->retry && rt->written &&
	    !memcmp(&rt->entry, v, sizeof(*v)))
		return 0;
	ret = dp_exit_put(&c->dp, e->id, v);
	/* Said once, retried every second until it works. */
	if (ret && !rt->retry)
		log_warn("exit %s: writing cg_exits[%u] or attaching to %s: "
			 "%s (retried)",
			 e->name, e->id, e->interface, strerror(-ret));
	else if (!ret && rt->retry)
		log_info("exit %s: cg_exits[%u] written", e->name, e->id);
	rt->retry = ret != 0;
	/* The map is written first: even when the attach failed, the
	 * slot says what v says. */
	rt->entry = *v;
	rt->written = ret != -EINVAL;
	if (v->up && !was_up) {
		rt->went_up++;
		log_info("exit %s (%s, %s): up", e->name,
			 state_exit_kind(e->kind), e->interface);
	} else if (!v->up && was_up) {
		rt->went_down++;
		log_warn("exit %s (%s, %s): down, its peers' internet traffic "
			 "is held back",
			 e->name, state_exit_kind(e->kind), e->interface);
	}
	return ret;
}

/* ---- a wireguard exit's interface --------------------------------------- */

/* As wg0's: the wireguard-go we started outlives us; its PID is kept
 * (state_dir/wireguard-go.IFNAME.pid) for whoever stops it. */
static void exit_pid_file(struct controller *c, const char *ifname, pid_t pid)
{
	char path[PATH_MAX], buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);

	if (path_fmt(path, sizeof(path), "%s/wireguard-go.%s.pid",
		     c->cfg.state_dir, ifname))
		return;
	if (pid <= 0)
		unlink(path);
	else if (write_file_atomic(path, buf, (size_t)n, 0644))
		log_warn("cannot record wireguard-go's PID %d", (int)pid);
}

/* The exit's one WireGuard peer: everything goes to it. */
static void exit_peer(const struct cg_exit_def *e, uint16_t keepalive,
		      struct wg_peer_change *pc)
{
	memset(pc, 0, sizeof(*pc));
	pc->op = WG_PEER_SET;
	memcpy(pc->peer.public_key, e->public_key, WG_KEY_LEN);
	pc->peer.n_allowed_ips = 2;
	pc->peer.allowed_ips[1].v6 = true; /* 0.0.0.0/0 and ::/0 */
	pc->peer.has_endpoint = true;
	pc->peer.endpoint.sin_family = AF_INET;
	pc->peer.endpoint.sin_addr = e->endpoint_ip;
	pc->peer.endpoint.sin_port = htons(e->endpoint_port);
	pc->peer.persistent_keepalive = keepalive;
}

/* WireGuard re-arms a peer's keepalive only on authenticated traffic:
 * once a silent far end outlasted the handshake attempts (90 s), nothing
 * makes it try again, and the kill switch keeps from the tunnel our
 * traffic that would. Turning the keepalive off and on sends one, which
 * starts a handshake (both back ends send it when it goes from 0 to n). */
static void wg_exit_poke(const struct cg_exit_def *e)
{
	struct wg_peer_change pc;
	struct wg_change change = { .peers = &pc, .n_peers = 1 };

	exit_peer(e, 0, &pc);
	if (wg_apply(e->interface, &change))
		return;
	exit_peer(e, CG_EXIT_KEEPALIVE_S, &pc);
	wg_apply(e->interface, &change);
}

static int wg_exit_device(struct controller *c, const struct cg_exit_def *e,
			  const struct cg_exit_def *old)
{
	struct wg_peer_change pc[2] = { 0 };
	struct wg_change change = { 0 };
	enum wg_backend backend;
	pid_t pid = 0;
	size_t n = 0;
	int ret;

	ret = wg_ensure_interface(e->interface, &backend, &pid);
	if (ret)
		return ret;
	if (pid) {
		c->exits.rt[e->id].wg_pid = pid;
		exit_pid_file(c, e->interface, pid);
	}
	/* A replaced far end goes: the tunnel has one peer. */
	if (old && old->kind == CG_EXIT_WIREGUARD &&
	    !strcmp(old->interface, e->interface) &&
	    !key_equal(old->public_key, e->public_key)) {
		pc[n].op = WG_PEER_REMOVE;
		memcpy(pc[n++].peer.public_key, old->public_key, WG_KEY_LEN);
	}
	exit_peer(e, CG_EXIT_KEEPALIVE_S, &pc[n++]);
	change.has_private_key = true;
	memcpy(change.private_key, e->private_key, WG_KEY_LEN);
	change.peers = pc;
	change.n_peers = n;
	ret = wg_apply(e->interface, &change);
	explicit_bzero(change.private_key, WG_KEY_LEN);
	if (!ret)
		ret = net_ensure_address(e->interface, e->address.addr,
					 e->address.prefix);
	if (!ret && e->has_address6)
		ret = net_ensure_address6(e->interface, &e->address6.addr,
					  e->address6.prefix);
	if (!ret)
		ret = net_link_up(e->interface);
	return ret;
}

static void wg_exit_remove(struct controller *c, const char *ifname,
			   uint32_t id)
{
	pid_t pid = c->exits.rt[id].wg_pid;
	int ret = iface_delete(ifname);

	/* wireguard-go's tun goes with its process. */
	if (pid > 0)
		kill(pid, SIGTERM);
	c->exits.rt[id].wg_pid = 0;
	exit_pid_file(c, ifname, 0);
	if (ret && ret != -ENODEV && pid <= 0)
		log_warn("exit: cannot remove %s: %s", ifname, strerror(-ret));
}

int ctl_exit_program(struct controller *c, const struct cg_exit_def *e,
		     const struct cg_exit_def *old)
{
	struct cg_exit v;
	int64_t hs;
	int ret = 0;

	c->exits.gen++;
	if (old && old->kind == CG_EXIT_WIREGUARD &&
	    (e->kind != CG_EXIT_WIREGUARD ||
	     strcmp(old->interface, e->interface)))
		wg_exit_remove(c, old->interface, old->id);
	if (e->kind == CG_EXIT_WIREGUARD) {
		ret = wg_exit_device(c, e, old);
		if (ret)
			log_err("exit %s: wireguard %s: %s", e->name,
				e->interface, strerror(-ret));
	}
	/* Whatever happened, the slot says it: down if the device failed. */
	measure(e, &v, &hs);
	return write_entry(c, e, &v, hs, true) ?: ret;
}

void ctl_exit_remove(struct controller *c, const struct cg_exit_def *e)
{
	struct ctl_exit_rt *rt = &c->exits.rt[e->id];
	int ret;

	c->exits.gen++;
	ret = dp_exit_delete(&c->dp, e->id);
	if (ret)
		log_warn("exit %s: clearing cg_exits[%u]: %s", e->name, e->id,
			 strerror(-ret));
	if (e->kind == CG_EXIT_WIREGUARD)
		wg_exit_remove(c, e->interface, e->id);
	memset(rt, 0, sizeof(*rt));
}

void ctl_exits_start(struct controller *c)
{
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->state.n_exits; i++)
		ctl_exit_program(c, &c->state.exits[i], NULL);
	pthread_mutex_unlock(&c->lock);
}

/* ---- every second ------------------------------------------------------- */

struct measured {
	struct cg_exit v;
	int64_t hs;
	bool relink; /* a wireguard exit whose link is gone */
};

void ctl_exits_tick(struct controller *c, uint64_t now_ns)
{
	struct cg_exit_def *defs;
	struct measured *m;
	uint64_t gen;
	size_t i, n, c_n;

	if (now_ns - c->exits.last_check_ns < 1000000000ull)
		return;
	c->exits.last_check_ns = now_ns;
	pthread_mutex_lock(&c->lock);
	n = c_n = c->state.n_exits;
	gen = c->exits.gen;
	defs = n ? malloc(n * sizeof(*defs)) : NULL;
	if (defs)
		memcpy(defs, c->state.exits, n * sizeof(*defs));
	pthread_mutex_unlock(&c->lock);
	if (!defs)
		return;
	m = calloc(n, sizeof(*m));
	for (i = 0; m && i < n; i++) {
		measure(&defs[i], &m[i].v, &m[i].hs);
		m[i].relink =
			defs[i].kind == CG_EXIT_WIREGUARD && !m[i].v.ifindex;
	}
	pthread_mutex_lock(&c->lock);
	/* An exit operation came in meanwhile: it wrote what it changed;
	 * the next second measures again. (A re-created link below bumps
	 * gen too: compared once, before.) */
	if (gen != c->exits.gen)
		n = 0;
	for (i = 0; m && i < n; i++) {
		struct ctl_exit_rt *rt = &c->exits.rt[defs[i].id];

		if (m[i].relink) {
			ctl_exit_program(c, &defs[i], NULL);
			continue;
		}
		write_entry(c, &defs[i], &m[i].v, m[i].hs, false);
		if (defs[i].kind == CG_EXIT_WIREGUARD && !m[i].v.up &&
		    m[i].v.ifindex &&
		    now_ns - rt->poked_ns >= CG_EXIT_POKE_NS) {
			rt->poked_ns = now_ns;
			wg_exit_poke(&defs[i]);
		}
	}
	pthread_mutex_unlock(&c->lock);
	explicit_bzero(defs, c_n * sizeof(*defs));
	free(defs);
	free(m);
}

/* ---- the API's view and /metrics ---------------------------------------- */

static json_object *users_json(struct controller *c, uint32_t id)
{
	json_object *arr = json_object_new_array();
	size_t i;

	for (i = 0; i < c->state.n_peers; i++)
		if (c->state.peers[i].exit_id == id)
			json_object_array_add(
				arr,
				json_object_new_string(c->state.peers[i].name));
	return arr;
}

void ctl_exit_view_add(struct controller *c, const struct cg_exit_def *e,
		       json_object *o)
{
	const struct ctl_exit_rt *rt = &c->exits.rt[e->id];
	struct cg_exit_counters sum;
	json_object *cnt;

	json_object_object_add(
		o, "up", json_object_new_boolean(rt->written && rt->entry.up));
	if (e->kind == CG_EXIT_WIREGUARD)
		json_object_object_add(
			o, "handshake_age_seconds",
			rt->handshake ?
				json_object_new_int64((int64_t)time(NULL) -
						      rt->handshake) :
				NULL);
	json_object_object_add(o, "peers", users_json(c, e->id));
	if (dp_exit_counters(&c->dp, e->id, &sum))
		return;
	cnt = json_object_new_object();
	json_object_object_add(cnt, "packets",
			       json_object_new_int64((int64_t)sum.packets));
	json_object_object_add(cnt, "bytes",
			       json_object_new_int64((int64_t)sum.bytes));
	json_object_object_add(cnt, "drops",
			       json_object_new_int64((int64_t)sum.drops));
	json_object_object_add(o, "counters", cnt);
}

void ctl_exits_metrics(struct controller *c, struct metrics *m)
{
	struct cg_exit_counters sum[CG_MAX_EXITS] = { 0 };
	const struct cg_exit_def *e;
	size_t i;

	metrics_family(m, "cellgate_exit_up", "gauge",
		       "1 while the exit carries its peers' internet traffic; "
		       "0: the kill switch holds it back (exit_down).");
	for (i = 0; i < c->state.n_exits; i++) {
		e = &c->state.exits[i];
		dp_exit_counters(&c->dp, e->id, &sum[e->id]);
		metrics_u64(m,
			    c->exits.rt[e->id].written &&
				    c->exits.rt[e->id].entry.up,
			    "exit", e->name, "kind", state_exit_kind(e->kind),
			    NULL);
	}
	metrics_family(m, "cellgate_exit_handshake_age_seconds", "gauge",
		       "Seconds since a wireguard exit's last handshake "
		       "(down past 180); absent before the first.");
	for (i = 0; i < c->state.n_exits; i++) {
		e = &c->state.exits[i];
		if (e->kind == CG_EXIT_WIREGUARD &&
		    c->exits.rt[e->id].handshake)
			metrics_u64(m,
				    (uint64_t)(time(NULL) -
					       c->exits.rt[e->id].handshake),
				    "exit", e->name, "kind", "wireguard", NULL);
	}
	metrics_family(m, "cellgate_exit_transitions_total", "counter",
		       "Times an exit went down or came up.");
	for (i = 0; i < c->state.n_exits; i++) {
		e = &c->state.exits[i];
		metrics_u64(m, c->exits.rt[e->id].went_down, "exit", e->name,
			    "kind", state_exit_kind(e->kind), "to", "down",
			    NULL);
		metrics_u64(m, c->exits.rt[e->id].went_up, "exit", e->name,
			    "kind", state_exit_kind(e->kind), "to", "up", NULL);
	}
	metrics_family(m, "cellgate_exit_packets_total", "counter",
		       "Packets sent out through the exit.");
	for (i = 0; i < c->state.n_exits; i++) {
		e = &c->state.exits[i];
		metrics_u64(m, sum[e->id].packets, "exit", e->name, "kind",
			    state_exit_kind(e->kind), NULL);
	}
	metrics_family(m, "cellgate_exit_bytes_total", "counter",
		       "Bytes sent out through the exit.");
	for (i = 0; i < c->state.n_exits; i++) {
		e = &c->state.exits[i];
		metrics_u64(m, sum[e->id].bytes, "exit", e->name, "kind",
			    state_exit_kind(e->kind), NULL);
	}
	metrics_family(m, "cellgate_exit_drops_total", "counter",
		       "Packets held back by the kill switch (exit_down).");
	for (i = 0; i < c->state.n_exits; i++) {
		e = &c->state.exits[i];
		metrics_u64(m, sum[e->id].drops, "exit", e->name, "kind",
			    state_exit_kind(e->kind), NULL);
	}
}
