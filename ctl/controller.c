// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "attach.h"
#include "client_config.h"
#include "controller.h"
#include "controller_internal.h"
#include "kernel.h"
#include "log.h"
#include "policy.h"

#define TOKEN_BYTES 32
#define GC_INTERVAL_NS (10ull * 1000000000ull)
#define WG_RECONCILE_INTERVAL_NS (5ull * 1000000000ull)
/* The maps are rewritten from the state now and then, so a map update an
 * API call could not make (out of memory) is made later. */
#define MAP_SYNC_INTERVAL_NS (30ull * 1000000000ull)

/* ---- secrets on disk ----------------------------------------------------- */

/* The admin token: read it, or create it (0600) on first start. */
static int load_or_create_token(struct controller *c)
{
	const char *path = c->cfg.api.token_file;
	unsigned char raw[TOKEN_BYTES];
	char *buf, *dir, *slash;
	size_t len, i;
	int ret;

	buf = read_file(path, sizeof(c->token) - 1, &len);
	if (buf) {
		buf[strcspn(buf, "\r\n")] = '\0';
		if (strlen(buf) < 16) {
			log_err("api token in %s is shorter than 16 "
				"characters; remove the file to get a new one",
				path);
			free(buf);
			return -EINVAL;
		}
		str_copy(c->token, sizeof(c->token), buf);
		free(buf);
		return 0;
	}
	if (errno != ENOENT) {
		log_err("cannot read api token %s: %s", path, strerror(errno));
		return -errno;
	}
	ret = random_bytes(raw, sizeof(raw));
	if (ret)
		return ret;
	for (i = 0; i < sizeof(raw); i++)
		snprintf(c->token + 2 * i, 3, "%02x", raw[i]);
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir_p(dir, 0700);
	}
	free(dir);
	ret = write_file_atomic(path, c->token, strlen(c->token), 0600);
	if (ret)
		log_err("cannot write api token %s: %s", path, strerror(-ret));
	else
		log_info("created api token %s", path);
	return ret;
}

/* The cell's WireGuard private key (base64, as `wg genkey` writes it). */
static int load_or_create_key(struct controller *c, wg_key priv)
{
	const char *path = c->cfg.wireguard.private_key_file;
	char b64[WG_KEY_B64_LEN + 1];
	char *buf, *dir, *slash;
	int ret;

	buf = read_file(path, 256, NULL);
	if (buf) {
		buf[strcspn(buf, "\r\n")] = '\0';
		ret = key_from_base64(priv, buf) ? 0 : -EINVAL;
		explicit_bzero(buf, strlen(buf));
		free(buf);
		if (ret)
			log_err("%s does not hold a WireGuard key (base64 of "
				"32 bytes)",
				path);
		return ret;
	}
	if (errno != ENOENT) {
		log_err("cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	ret = key_generate_private(priv);
	if (ret)
		return ret;
	key_to_base64(b64, priv);
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir_p(dir, 0700);
	}
	free(dir);
	b64[WG_KEY_B64_LEN] = '\n';
	ret = write_file_atomic(path, b64, WG_KEY_B64_LEN + 1, 0600);
	explicit_bzero(b64, sizeof(b64));
	if (!ret)
		log_info("generated the cell's WireGuard key in %s", path);
	return ret;
}

/* ---- WireGuard ------------------------------------------------------------ */

static void wg_peer_of(const struct cg_peer_def *p, struct wg_peer *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->public_key, p->public_key, WG_KEY_LEN);
	out->allowed_ips[0].addr = p->ip;
	out->allowed_ips[0].cidr = 32;
	out->n_allowed_ips = 1;
}

/* Program one peer change: old (or NULL) becomes new (or NULL). */
static int wg_program(struct controller *c, const struct cg_peer_def *old,
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

/* The drift repair loop's step. */
static int wg_reconcile(struct controller *c)
{
	return ctl_wg_sync(c, c->started_ns != 0);
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

static int wg_setup(struct controller *c)
{
	const char *ifname = c->cfg.wireguard.interface;
	struct wg_change change = { 0 };
	wg_key priv;
	int ret;

	ret = load_or_create_key(c, priv);
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

/* ---- the admin token ------------------------------------------------------ */

/* Re-read the token file when it changed (`cellgate token rotate` writes a
 * new one), so a rotation takes effect at the next request. */
static void token_refresh(struct controller *c)
{
	struct stat st;
	char *buf;

	if (stat(c->cfg.api.token_file, &st))
		return; /* keep the last good token */
	if (st.st_ino == c->token_ino && st.st_size == c->token_size &&
	    st.st_mtim.tv_sec == c->token_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == c->token_mtime.tv_nsec)
		return;
	buf = read_file(c->cfg.api.token_file, sizeof(c->token) - 1, NULL);
	if (!buf)
		return;
	buf[strcspn(buf, "\r\n")] = '\0';
	if (strlen(buf) >= 16) {
		if (c->token_ino)
			log_info("api token changed (%s)",
				 c->cfg.api.token_file);
		str_copy(c->token, sizeof(c->token), buf);
		c->token_ino = st.st_ino;
		c->token_size = st.st_size;
		c->token_mtime = st.st_mtim;
	} else {
		log_warn("ignoring %s: a token needs 16 characters or more",
			 c->cfg.api.token_file);
	}
	explicit_bzero(buf, strlen(buf));
	free(buf);
}

/* ---- start and periodic work --------------------------------------------- */

/* The bridge's subnet, from the interface when the config leaves it out. */
static void detect_bridge_subnet(struct cg_config *cfg)
{
	struct in_addr addr;
	uint8_t prefix;

	if (cfg->bridge.has_subnet)
		return;
	if (net_get_ipv4(cfg->bridge.interface, &addr, &prefix)) {
		log_warn("bridge %s has no IPv4 address and no \"subnet\" is "
			 "configured: its network is not protected as the "
			 "cell's own",
			 cfg->bridge.interface);
		return;
	}
	cfg->bridge.subnet.addr.s_addr = addr.s_addr & prefix_mask(prefix);
	cfg->bridge.subnet.prefix = prefix;
	cfg->bridge.has_subnet = true;
}

/* The state is loaded before the bridge's subnet is known, so forwards
 * are checked against the cell's networks only now. One whose target is
 * no longer in them stays (deleting it is the admin's call) but is
 * named, since its packets may not get there. */
static void warn_unreachable_forwards(struct controller *c)
{
	const struct cg_state *st = &c->state;
	char ip[16];
	size_t i;

	for (i = 0; i < st->n_forwards; i++)
		if (!state_forward_reachable(&c->cfg, &st->forwards[i]))
			log_warn("forward '%s': target %s is not in a network "
				 "of the cell (WireGuard subnet, bridge "
				 "subnet, local_networks)",
				 st->forwards[i].id,
				 ipv4_str(st->forwards[i].target_ip, ip));
}

int ctl_sync_maps(struct controller *c)
{
	struct policy pol;
	int ret = policy_compile(&c->state, &c->cfg, &pol);

	if (ret)
		return ret;
	ret = dp_sync(&c->dp, &pol);
	policy_free(&pol);
	return ret;
}

int ctl_qdisc_marker(const struct cg_config *cfg, const char *ifname,
		     char *path, size_t len)
{
	return path_fmt(path, len, "%s/clsact-created-%s", cfg->state_dir,
			ifname);
}

/* Remember that ifname's clsact qdisc is ours, so `cellgate detach` may
 * remove it (and only then). */
static int mark_qdisc_ours(struct controller *c, const char *ifname)
{
	char path[PATH_MAX];
	int ret = ctl_qdisc_marker(&c->cfg, ifname, path, sizeof(path));

	if (!ret)
		ret = write_file_atomic(path, "1\n", 2, 0600);
	if (ret)
		log_err("cannot write %s: %s", path, strerror(-ret));
	return ret;
}

/* The addresses translations use. The uplink's is read from the
 * interface, now and when it changes (DHCP). */
static int refresh_settings(struct controller *c)
{
	struct cg_settings set = { 0 };
	struct in_addr up = { 0 };
	uint8_t prefix;
	int ret;

	memcpy(set.wg_addr, &c->cfg.wireguard.address.s_addr, 4);
	if (c->cfg.uplink.interface[0] &&
	    net_get_ipv4(c->cfg.uplink.interface, &up, &prefix))
		up.s_addr = 0;
	memcpy(set.uplink_addr, &up.s_addr, 4);
	set.nat_port_min = c->cfg.nat.port_min;
	set.nat_port_max = c->cfg.nat.port_max;
	set.masquerade = c->cfg.nat.masquerade;
	set.wg_port = c->cfg.wireguard.listen_port;
	if (!memcmp(&set, &c->settings, sizeof(set)))
		return 0;
	ret = dp_write_settings(&c->dp, &set);
	if (ret) {
		log_err("cannot write the NAT settings: %s", strerror(-ret));
		return ret;
	}
	if (memcmp(set.uplink_addr, c->settings.uplink_addr, 4)) {
		char ip[16];

		log_info("uplink %s address: %s", c->cfg.uplink.interface,
			 up.s_addr ? ipv4_str(up, ip) :
				     "none (no masquerade "
				     "or forwards)");
	}
	c->settings = set;
	return 0;
}

static int attach_tc(struct controller *c, const char *ifname, int in_fd,
		     int eg_fd)
{
	bool created;
	int ret = tc_attach(ifname, in_fd, eg_fd, &created);

	if (!ret && created)
		ret = mark_qdisc_ours(c, ifname);
	return ret;
}

/* wg0's programs, and the uplink's when there is an uplink. */
static int attach_programs(struct controller *c)
{
	const char *up = c->cfg.uplink.interface;
	int ret;

	ret = attach_tc(c, c->cfg.wireguard.interface,
			dp_prog_fd_wg_ingress(&c->dp),
			dp_prog_fd_wg_egress(&c->dp));
	if (ret || !up[0])
		return ret;
	if (!if_nametoindex(up)) {
		log_warn("uplink %s does not exist: no masquerade and no port "
			 "forwards until it does and cellgate restarts",
			 up);
		return 0;
	}
	ret = attach_tc(c, up, -1, dp_prog_fd_uplink_egress(&c->dp));
	/* libxdp keeps its dispatcher's state on a bpffs; ours is one (and
	 * /sys/fs/bpf may not be mounted, e.g. under `ip netns exec`). */
	setenv("LIBXDP_BPFFS", c->cfg.bpffs, 0);
	if (!ret)
		ret = xdp_attach(up, dp_prog_fd_uplink_xdp(&c->dp),
				 DP_PROG_UPLINK_XDP, &c->xdp);
	return ret;
}

/* Milliseconds between two monotonic_ns() stamps. */
static double ms_between(uint64_t a, uint64_t b)
{
	return (double)(b - a) / 1e6;
}

int controller_start(struct controller *c, const struct cg_config *cfg)
{
	/* When each phase ended: start-up time is logged by phase, since
	 * it grows with the number of peers. */
	uint64_t t0 = monotonic_ns(), t_state, t_wg, t_load, t_maps, t_attach;
	struct dp_options opts;
	struct cg_error err = { 0 };
	int ret;

	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	pthread_mutex_init(&c->lock, NULL);
	state_init(&c->state, &c->cfg);
	/* Before anything is created: on a kernel too old for the programs,
	 * one sentence saying why rather than a verifier log. */
	ret = kernel_check();
	if (ret)
		return ret;
	ret = path_fmt(c->state_path, sizeof(c->state_path), "%s/state.json",
		       c->cfg.state_dir);
	if (!ret)
		ret = mkdir_p(c->cfg.state_dir, 0700);
	if (ret) {
		log_err("cannot create state_dir %s: %s", c->cfg.state_dir,
			strerror(-ret));
		return ret;
	}
	ret = state_load(&c->state, c->state_path, &err);
	if (ret) {
		log_err("state %s is not usable: %s%s%s (fix or move the file; "
			"nothing was changed)",
			c->state_path, err.msg, err.field[0] ? " at " : "",
			err.field);
		return ret;
	}
	log_info("state: %zu services, %zu peers, %zu forwards",
		 c->state.n_services, c->state.n_peers, c->state.n_forwards);
	t_state = monotonic_ns();

	ret = load_or_create_token(c);
	if (!ret) {
		c->token[0] = '\0';
		token_refresh(c); /* also records the file's identity */
		ret = wg_setup(c);
	}
	if (ret)
		return ret;
	detect_bridge_subnet(&c->cfg);
	warn_unreachable_forwards(c);
	t_wg = monotonic_ns();

	dp_options_from_config(&opts, &c->cfg);
	ret = dp_open(&c->dp, &opts);
	if (ret)
		return ret;
	t_load = monotonic_ns();
	/* Maps first, then programs: the new programs see complete maps. */
	ret = refresh_settings(c);
	if (!ret)
		ret = ctl_sync_maps(c);
	t_maps = monotonic_ns();
	if (!ret)
		ret = attach_programs(c);
	t_attach = monotonic_ns();
	if (!ret)
		ret = wg_reconcile(c);
	if (!ret)
		ret = ctl_route_cells(c);
	if (ret)
		return ret;
	ctl_metrics_start(c);
	c->started_ns = monotonic_ns();
	c->started_at = (int64_t)time(NULL);
	log_info("started in %.0f ms: state %.0f, wireguard device %.0f, "
		 "programs loaded %.0f, maps %.0f, attached %.0f, "
		 "wireguard peers and routes %.0f",
		 ms_between(t0, c->started_ns), ms_between(t0, t_state),
		 ms_between(t_state, t_wg), ms_between(t_wg, t_load),
		 ms_between(t_load, t_maps), ms_between(t_maps, t_attach),
		 ms_between(t_attach, c->started_ns));
	return 0;
}

void controller_tick(struct controller *c)
{
	static uint64_t last_gc, last_wg, last_sync;
	uint64_t now = monotonic_ns();

	pthread_mutex_lock(&c->lock);
	if (now - last_gc >= GC_INTERVAL_NS) {
		int n = dp_gc(&c->dp, now);

		if (n > 0)
			c->stats.ct_gc_deleted += (uint64_t)n;
		last_gc = now;
	}
	if (now - last_wg >= WG_RECONCILE_INTERVAL_NS) {
		wg_reconcile(c);
		refresh_settings(c);
		last_wg = now;
	}
	if (now - last_sync >= MAP_SYNC_INTERVAL_NS) {
		if (last_sync)
			ctl_sync_maps(c);
		last_sync = now;
	}
	pthread_mutex_unlock(&c->lock);
}

void controller_stop(struct controller *c)
{
	dp_close(&c->dp);
	state_free(&c->state);
	pthread_mutex_destroy(&c->lock);
}

/* ---- peer keys ------------------------------------------------------------ */

/* Where the private key of a peer whose key pair the cell generated is
 * kept (0600), so its client config can be rendered. */
static int peer_key_path(struct controller *c, const char *name, char *path,
			 size_t len)
{
	return path_fmt(path, len, "%s/peer-keys/%s.key", c->cfg.state_dir,
			name);
}

static int store_peer_key(struct controller *c, const char *name,
			  const wg_key priv)
{
	char path[PATH_MAX], dir[PATH_MAX], b64[WG_KEY_B64_LEN + 2];
	int ret;

	ret = path_fmt(dir, sizeof(dir), "%s/peer-keys", c->cfg.state_dir);
	if (!ret)
		ret = mkdir_p(dir, 0700);
	if (!ret)
		ret = peer_key_path(c, name, path, sizeof(path));
	if (ret)
		return ret;
	key_to_base64(b64, priv);
	b64[WG_KEY_B64_LEN] = '\n';
	ret = write_file_atomic(path, b64, WG_KEY_B64_LEN + 1, 0600);
	explicit_bzero(b64, sizeof(b64));
	return ret;
}

static void forget_peer_key(struct controller *c, const char *name)
{
	char path[PATH_MAX];

	if (!peer_key_path(c, name, path, sizeof(path)))
		unlink(path);
}

/* The stored private key of a peer (base64), or false if there is none. */
static bool load_peer_key(struct controller *c, const char *name,
			  char out[WG_KEY_B64_LEN + 1])
{
	char path[PATH_MAX], *buf;
	wg_key k;
	bool ok;

	if (peer_key_path(c, name, path, sizeof(path)))
		return false;
	buf = read_file(path, 256, NULL);
	if (!buf)
		return false;
	buf[strcspn(buf, "\r\n")] = '\0';
	ok = key_from_base64(k, buf);
	if (ok)
		str_copy(out, WG_KEY_B64_LEN + 1, buf);
	explicit_bzero(buf, strlen(buf));
	explicit_bzero(k, sizeof(k));
	free(buf);
	return ok;
}

static json_object *peer_json(struct controller *c, const struct cg_peer_def *p)
{
	char path[PATH_MAX];
	json_object *o = peer_to_json(&c->state, p, false);

	json_object_object_add(
		o, "private_key_stored",
		json_object_new_boolean(
			!peer_key_path(c, p->name, path, sizeof(path)) &&
			access(path, F_OK) == 0));
	return o;
}

/* ---- mutations ------------------------------------------------------------ */

/* Persist the state; on failure put back the copy taken before the change,
 * so memory and disk agree and the call fails as a whole. */
int ctl_commit(struct controller *c, struct cg_state *before,
	       struct cg_error *err)
{
	int ret = state_save(&c->state, c->state_path);

	if (ret) {
		ctl_rollback(c, before);
		cg_error_set(err, 500, "", "cannot save state %s: %s",
			     c->state_path, strerror(-ret));
		log_err("%s", err->msg);
		return ret;
	}
	state_free(before);
	c->stats.state_writes++;
	return 0;
}

void ctl_rollback(struct controller *c, struct cg_state *before)
{
	state_free(&c->state);
	c->state = *before;
}

int ctl_snapshot(struct controller *c, struct cg_state *copy,
		 struct cg_error *err)
{
	if (state_copy(copy, &c->state)) {
		cg_error_set(err, 500, "", "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int ctl_apply_failed(int ret, struct cg_error *err, const char *what)
{
	cg_error_set(err, 500, "",
		     "saved, but %s failed (%s); the controller retries "
		     "it (maps every 30 s, WireGuard every 5 s)",
		     what, strerror(-ret));
	return ret;
}

int ctl_list_services(struct controller *c, json_object **out)
{
	json_object *arr = json_object_new_array();
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->state.n_services; i++)
		json_object_array_add(
			arr, service_to_json(&c->state.services[i], false));
	pthread_mutex_unlock(&c->lock);
	*out = arr;
	return 0;
}

int ctl_get_service(struct controller *c, const char *name, json_object **out,
		    struct cg_error *err)
{
	const struct cg_service_def *svc;
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	svc = state_service(&c->state, name);
	if (svc)
		*out = service_to_json(svc, false);
	else {
		cg_error_set(err, 404, "name", "no service '%s'", name);
		ret = -ENOENT;
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

static int services_changed(struct controller *c, struct cg_error *err)
{
	struct policy pol;
	int ret = policy_compile(&c->state, &c->cfg, &pol);

	if (!ret)
		ret = dp_sync_services(&c->dp, &pol);
	policy_free(&pol);
	return ret ? ctl_apply_failed(ret, err, "the map update") : 0;
}

int ctl_put_service(struct controller *c, const char *name, json_object *body,
		    json_object **out, struct cg_error *err)
{
	struct cg_state before;
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = ctl_snapshot(c, &before, err);
	if (ret)
		goto out;
	ret = state_put_service(&c->state, name, body, err);
	if (ret) {
		state_free(&before);
		goto out;
	}
	ret = ctl_commit(c, &before, err);
	if (!ret)
		ret = services_changed(c, err);
	if (!ret)
		*out = service_to_json(state_service(&c->state, name), false);
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int ctl_delete_service(struct controller *c, const char *name,
		       struct cg_error *err)
{
	struct cg_state before;
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = ctl_snapshot(c, &before, err);
	if (ret)
		goto out;
	ret = state_delete_service(&c->state, name, err);
	if (ret) {
		state_free(&before);
		goto out;
	}
	ret = ctl_commit(c, &before, err);
	if (!ret)
		ret = services_changed(c, err);
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

json_object *ctl_counters_json(const struct cg_counters *s)
{
	json_object *o = json_object_new_object();
	json_object *drops = json_object_new_object();
	int r;

	json_object_object_add(o, "rx_packets",
			       json_object_new_uint64(s->rx_packets));
	json_object_object_add(o, "rx_bytes",
			       json_object_new_uint64(s->rx_bytes));
	json_object_object_add(o, "tx_packets",
			       json_object_new_uint64(s->tx_packets));
	json_object_object_add(o, "tx_bytes",
			       json_object_new_uint64(s->tx_bytes));
	for (r = 1; r < CG_DROP__MAX; r++)
		json_object_object_add(drops, drop_reason_name(r),
				       json_object_new_uint64(s->drops[r]));
	json_object_object_add(o, "drops", drops);
	return o;
}

/* A peer as the API shows it: its definition, whether the cell keeps its
 * private key, and its counters summed over CPUs. */
static json_object *peer_view(struct controller *c, const struct cg_peer_def *p)
{
	json_object *o = peer_json(c, p);
	struct cg_counters sum;

	if (dp_counters(&c->dp, p->id, &sum) == 0)
		json_object_object_add(o, "counters", ctl_counters_json(&sum));
	return o;
}

int ctl_list_peers(struct controller *c, json_object **out)
{
	json_object *arr = json_object_new_array();
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->state.n_peers; i++)
		json_object_array_add(arr, peer_view(c, &c->state.peers[i]));
	pthread_mutex_unlock(&c->lock);
	*out = arr;
	return 0;
}

int ctl_get_peer(struct controller *c, const char *name, json_object **out,
		 struct cg_error *err)
{
	const struct cg_peer_def *p;
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	p = state_peer(&c->state, name);
	if (p) {
		*out = peer_view(c, p);
	} else {
		cg_error_set(err, 404, "name", "no peer '%s'", name);
		ret = -ENOENT;
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int ctl_add_peer(struct controller *c, json_object *body, json_object **out,
		 struct cg_error *err)
{
	json_object *key_member = NULL;
	/* Absent or null: the cell makes the key pair (as state.c reads it). */
	bool generate =
		!json_object_object_get_ex(body, "public_key", &key_member) ||
		!key_member;
	struct cg_state before;
	struct cg_peer_def p;
	wg_key priv, pub;
	int ret;

	pthread_mutex_lock(&c->lock);
	if (generate && (key_generate_private(priv) ||
			 key_public_from_private(pub, priv))) {
		cg_error_set(err, 500, "", "cannot generate a key pair");
		ret = -EIO;
		goto out;
	}
	ret = ctl_snapshot(c, &before, err);
	if (ret)
		goto out;
	ret = state_add_peer(&c->state, body, generate ? pub : NULL, &p, err);
	if (!ret && generate) {
		ret = store_peer_key(c, p.name, priv);
		if (ret)
			cg_error_set(err, 500, "", "cannot store the key: %s",
				     strerror(-ret));
	}
	if (ret) {
		ctl_rollback(c, &before);
		goto out;
	}
	ret = ctl_commit(c, &before, err);
	if (ret) {
		if (generate)
			forget_peer_key(c, p.name);
		goto out;
	}
	ret = dp_set_peer(&c->dp, NULL, &p);
	if (ret) {
		ctl_apply_failed(ret, err, "the map update");
		goto out;
	}
	ret = wg_program(c, NULL, &p);
	if (ret) {
		ctl_apply_failed(ret, err, "programming WireGuard");
		goto out;
	}
	*out = peer_json(c, &p);
out:
	explicit_bzero(priv, sizeof(priv));
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int ctl_update_peer(struct controller *c, const char *name, json_object *body,
		    json_object **out, struct cg_error *err)
{
	struct cg_peer_def old, p;
	struct cg_state before;
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = ctl_snapshot(c, &before, err);
	if (ret)
		goto out;
	ret = state_update_peer(&c->state, name, body, &old, &p, err);
	if (ret) {
		state_free(&before);
		goto out;
	}
	ret = ctl_commit(c, &before, err);
	if (ret)
		goto out;
	ret = dp_set_peer(&c->dp, &old, &p);
	if (ret) {
		ctl_apply_failed(ret, err, "the map update");
		goto out;
	}
	if (!key_equal(old.public_key, p.public_key))
		forget_peer_key(c, p.name); /* no longer this peer's key */
	if (!key_equal(old.public_key, p.public_key) ||
	    old.ip.s_addr != p.ip.s_addr)
		ret = wg_program(c, &old, &p);
	if (ret) {
		ctl_apply_failed(ret, err, "programming WireGuard");
		goto out;
	}
	*out = peer_json(c, &p);
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int ctl_delete_peer(struct controller *c, const char *name,
		    struct cg_error *err)
{
	struct cg_state before;
	struct cg_peer_def p;
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = ctl_snapshot(c, &before, err);
	if (ret)
		goto out;
	ret = state_delete_peer(&c->state, name, &p, err);
	if (ret) {
		state_free(&before);
		goto out;
	}
	ret = ctl_commit(c, &before, err);
	if (ret)
		goto out;
	/* WireGuard first: once the key is gone no packet of it arrives. */
	ret = wg_program(c, &p, NULL);
	if (ret) {
		ctl_apply_failed(ret, err, "removing the WireGuard peer");
		goto out;
	}
	ret = dp_remove_peer(&c->dp, &p);
	if (ret)
		ctl_apply_failed(ret, err, "the map update");
	forget_peer_key(c, p.name);
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* ---- port forwards ---------------------------------------------------- */

static json_object *fwd_counters_json(const struct cg_fwd_counters *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "packets",
			       json_object_new_uint64(s->packets));
	json_object_object_add(o, "bytes", json_object_new_uint64(s->bytes));
	json_object_object_add(o, "denied", json_object_new_uint64(s->denied));
	json_object_object_add(o, "nat_failed",
			       json_object_new_uint64(s->nat_failed));
	return o;
}

/* A forward as the API shows it: its definition, whether its flows reach
 * the target from the wg address, and its counters summed over CPUs. */
static json_object *forward_view(struct controller *c,
				 const struct cg_forward_def *f)
{
	json_object *o = forward_to_json(f, false);
	struct cg_fwd_counters sum;

	json_object_object_add(
		o, "snat_active",
		json_object_new_boolean(policy_forward_snat(&c->cfg, f)));
	if (dp_fwd_counters(&c->dp, f->slot, &sum) == 0)
		json_object_object_add(o, "counters", fwd_counters_json(&sum));
	return o;
}

int ctl_list_forwards(struct controller *c, json_object **out)
{
	json_object *arr = json_object_new_array();
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->state.n_forwards; i++)
		json_object_array_add(arr,
				      forward_view(c, &c->state.forwards[i]));
	pthread_mutex_unlock(&c->lock);
	*out = arr;
	return 0;
}

int ctl_get_forward(struct controller *c, const char *id, json_object **out,
		    struct cg_error *err)
{
	const struct cg_forward_def *f;
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	f = state_forward(&c->state, id);
	if (f) {
		*out = forward_view(c, f);
	} else {
		cg_error_set(err, 404, "id", "no forward '%s'", id);
		ret = -ENOENT;
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* The reconcile loop repairs WireGuard, not these maps: say only what
 * happened (a restart writes every map anew). */
static int fwd_apply_failed(int ret, struct cg_error *err, const char *what)
{
	cg_error_set(err, 500, "", "saved, but %s failed (%s)", what,
		     strerror(-ret));
	log_err("%s", err->msg);
	return ret;
}

static int forwards_changed(struct controller *c, struct cg_error *err)
{
	struct policy pol;
	int ret = policy_compile(&c->state, &c->cfg, &pol);

	if (!ret)
		ret = dp_sync_forwards(&c->dp, &pol);
	policy_free(&pol);
	return ret ? fwd_apply_failed(ret, err, "the map update") : 0;
}

int ctl_add_forward(struct controller *c, json_object *body, json_object **out,
		    struct cg_error *err)
{
	struct cg_state before;
	struct cg_forward_def f;
	int ret, reset;

	pthread_mutex_lock(&c->lock);
	ret = ctl_snapshot(c, &before, err);
	if (ret)
		goto out;
	ret = state_add_forward(&c->state, body, &f, err);
	if (ret) {
		state_free(&before);
		goto out;
	}
	ret = ctl_commit(c, &before, err);
	if (ret)
		goto out;
	/* Zero before the forward goes live: the slot's last owner may have
	 * left counts (a packet in flight while it was deleted). Live even
	 * if that failed: wrong counters beat a dead forward. */
	reset = dp_fwd_counters_reset(&c->dp, f.slot);
	ret = forwards_changed(c, err);
	if (!ret && reset)
		ret = fwd_apply_failed(reset, err, "resetting its counters");
	if (!ret)
		*out = forward_view(c, state_forward(&c->state, f.id));
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* After its map entry went (no new flows): the flows it translates, then
 * its counters, so that the slot's next forward starts clean. */
static int forget_forward(struct controller *c, uint32_t slot,
			  struct cg_error *err)
{
	int ret = dp_forget_owner(&c->dp, slot);

	if (ret < 0)
		return fwd_apply_failed(ret, err, "removing its NAT entries");
	ret = dp_fwd_counters_reset(&c->dp, slot);
	return ret ? fwd_apply_failed(ret, err, "resetting its counters") : 0;
}

int ctl_delete_forward(struct controller *c, const char *id,
		       struct cg_error *err)
{
	struct cg_state before;
	struct cg_forward_def f;
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = ctl_snapshot(c, &before, err);
	if (ret)
		goto out;
	ret = state_delete_forward(&c->state, id, &f, err);
	if (ret) {
		state_free(&before);
		goto out;
	}
	ret = ctl_commit(c, &before, err);
	if (ret)
		goto out;
	ret = forwards_changed(c, err);
	if (!ret)
		ret = forget_forward(c, f.slot, err);
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int ctl_peer_config(struct controller *c, const char *name, char **text,
		    struct cg_error *err)
{
	char priv[WG_KEY_B64_LEN + 1];
	const struct cg_peer_def *p;
	bool have_priv;
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	p = state_peer(&c->state, name);
	if (!p) {
		cg_error_set(err, 404, "name", "no peer '%s'", name);
		ret = -ENOENT;
	} else if (!c->cfg.wireguard.endpoint[0]) {
		cg_error_set(err, 409, "wireguard.endpoint",
			     "the config has no wireguard.endpoint for "
			     "peers to connect to");
		ret = -ENOENT;
	} else {
		have_priv = load_peer_key(c, name, priv);
		*text = client_config_render(&c->cfg, p, c->public_key,
					     have_priv ? priv : NULL);
		explicit_bzero(priv, sizeof(priv));
		if (!*text) {
			cg_error_set(err, 500, "", "out of memory");
			ret = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

bool ctl_token_ok(struct controller *c, const char *presented)
{
	bool ok;

	pthread_mutex_lock(&c->lock);
	token_refresh(c);
	ok = c->token[0] && const_time_streq(presented, c->token);
	pthread_mutex_unlock(&c->lock);
	return ok;
}

/* ---- status ---------------------------------------------------------------- */

static json_object *maps_json(struct controller *c)
{
	json_object *arr = json_object_new_array();
	int m;

	for (m = 0; m < DP_MAP__COUNT; m++) {
		struct dp_map_usage u;
		json_object *o;

		if (dp_map_usage(&c->dp, m, &u))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "name",
				       json_object_new_string(u.name));
		json_object_object_add(o, "entries",
				       json_object_new_int64(u.entries));
		json_object_object_add(o, "capacity",
				       json_object_new_int64(u.capacity));
		json_object_array_add(arr, o);
	}
	return arr;
}

/* Kernel id, verified instruction count and JIT size of a program. */
static void add_prog_info(json_object *o, int fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return;
	json_object_object_add(o, "id", json_object_new_int64(info.id));
	json_object_object_add(o, "verified_insns",
			       json_object_new_int64(info.verified_insns));
	json_object_object_add(o, "jited_bytes",
			       json_object_new_int64(info.jited_prog_len));
}

size_t ctl_programs(struct controller *c, struct ctl_program out[4],
		    struct xdp_state *xs)
{
	const char *wg = c->cfg.wireguard.interface;
	const char *up = c->cfg.uplink.interface;
	size_t n = 0;

	memset(xs, 0, sizeof(*xs));
	xs->mode = "none";
	out[n++] = (struct ctl_program){ wg, "tc-ingress",
					 dp_prog_fd_wg_ingress(&c->dp), true };
	out[n++] = (struct ctl_program){ wg, "tc-egress",
					 dp_prog_fd_wg_egress(&c->dp), true };
	if (!up[0])
		return n;
	out[n++] = (struct ctl_program){ up, "tc-egress",
					 dp_prog_fd_uplink_egress(&c->dp),
					 if_nametoindex(up) != 0 };
	xdp_query(up, DP_PROG_UPLINK_XDP, xs);
	out[n++] =
		(struct ctl_program){ up, "xdp", dp_prog_fd_uplink_xdp(&c->dp),
				      xs->attached };
	return n;
}

const char *ctl_libxdp_way(const struct xdp_state *xs)
{
	/* libxdp's dispatcher (several XDP programs on the interface) or
	 * its single-program fallback, e.g. where the kernel refuses the
	 * dispatcher's freplace programs. */
	return !xs->attached ? "none" :
	       xs->multiprog ? "multiprog" :
			       "single-program fallback";
}

/* Every program, where it is attached; for XDP, how. */
static json_object *programs_json(struct controller *c)
{
	json_object *arr = json_object_new_array(), *o;
	struct ctl_program progs[4];
	struct xdp_state xs;
	size_t i, n = ctl_programs(c, progs, &xs);

	for (i = 0; i < n; i++) {
		o = json_object_new_object();
		json_object_object_add(o, "interface",
				       json_object_new_string(progs[i].ifname));
		json_object_object_add(o, "hook",
				       json_object_new_string(progs[i].hook));
		json_object_object_add(
			o, "attached",
			json_object_new_boolean(progs[i].attached));
		add_prog_info(o, progs[i].fd);
		if (!strcmp(progs[i].hook, "xdp")) {
			json_object_object_add(o, "xdp_mode",
					       json_object_new_string(xs.mode));
			json_object_object_add(
				o, "libxdp",
				json_object_new_string(ctl_libxdp_way(&xs)));
		}
		json_object_array_add(arr, o);
	}
	return arr;
}

static json_object *nat_json(struct controller *c)
{
	json_object *o = json_object_new_object();
	struct cg_nat_stats st;
	char ip[16];
	struct in_addr up;

	memcpy(&up.s_addr, c->settings.uplink_addr, 4);
	json_object_object_add(o, "uplink_address",
			       json_object_new_string(ipv4_str(up, ip)));
	json_object_object_add(o, "masquerade",
			       json_object_new_boolean(c->cfg.nat.masquerade));
	if (dp_nat_stats(&c->dp, &st) == 0) {
		json_object_object_add(o, "flows_created",
				       json_object_new_uint64(st.created));
		json_object_object_add(
			o, "port_collisions",
			json_object_new_uint64(st.port_collisions));
		json_object_object_add(o, "exhausted",
				       json_object_new_uint64(st.exhausted));
	}
	return o;
}

int ctl_status(struct controller *c, json_object **out)
{
	json_object *o = json_object_new_object();
	char key[WG_KEY_B64_LEN + 1];

	pthread_mutex_lock(&c->lock);
	key_to_base64(key, c->public_key);
	json_object_object_add(o, "version",
			       json_object_new_string(CG_VERSION));
	json_object_object_add(o, "cell_name",
			       json_object_new_string(c->cfg.cell_name));
	json_object_object_add(o, "public_key", json_object_new_string(key));
	json_object_object_add(
		o, "wireguard_backend",
		json_object_new_string(c->wg_backend == WG_BACKEND_KERNEL ?
					       "kernel" :
					       "userspace"));
	json_object_object_add(o, "uptime_seconds",
			       json_object_new_int64((int64_t)((monotonic_ns() -
								c->started_ns) /
							       1000000000ull)));
	json_object_object_add(
		o, "services",
		json_object_new_int64((int64_t)c->state.n_services));
	json_object_object_add(
		o, "peers", json_object_new_int64((int64_t)c->state.n_peers));
	json_object_object_add(
		o, "forwards",
		json_object_new_int64((int64_t)c->state.n_forwards));
	json_object_object_add(o, "programs", programs_json(c));
	json_object_object_add(o, "nat", nat_json(c));
	json_object_object_add(o, "maps", maps_json(c));
	json_object_object_add(o, "wireguard_repairs",
			       json_object_new_uint64(c->stats.wg_repairs));
	json_object_object_add(o, "conntrack_gc_deleted",
			       json_object_new_uint64(c->stats.ct_gc_deleted));
	pthread_mutex_unlock(&c->lock);
	*out = o;
	return 0;
}
