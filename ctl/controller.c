// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "controller.h"
#include "log.h"
#include "policy.h"

#define TOKEN_BYTES 32
#define GC_INTERVAL_NS (10ull * 1000000000ull)
#define WG_RECONCILE_INTERVAL_NS (5ull * 1000000000ull)

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

static const struct cg_peer_def *peer_by_key(const struct cg_state *st,
					     const wg_key key)
{
	size_t i;

	for (i = 0; i < st->n_peers; i++)
		if (key_equal(st->peers[i].public_key, key))
			return &st->peers[i];
	return NULL;
}

static bool wg_peer_matches(const struct wg_peer *w,
			    const struct cg_peer_def *p)
{
	return w->n_allowed_ips == 1 && w->allowed_ips[0].cidr == 32 &&
	       w->allowed_ips[0].addr.s_addr == p->ip.s_addr;
}

/* Make the interface's peers equal to the state: every state peer with
 * exactly its /32, nothing else. Each repair is logged and counted. */
static int wg_reconcile(struct controller *c)
{
	struct wg_device dev = { 0 };
	struct wg_peer_change *ch;
	struct wg_change change = { 0 };
	const struct cg_state *st = &c->state;
	uint8_t *seen;
	size_t i, n = 0;
	int ret;

	ret = wg_get_device(c->cfg.wireguard.interface, &dev);
	if (ret) {
		log_warn("wireguard %s: cannot read peers: %s",
			 c->cfg.wireguard.interface, strerror(-ret));
		return ret;
	}
	ch = calloc(dev.n_peers + st->n_peers + 1, sizeof(*ch));
	seen = calloc(st->n_peers + 1, 1);
	if (!ch || !seen) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < dev.n_peers; i++) {
		const struct cg_peer_def *p =
			peer_by_key(st, dev.peers[i].public_key);

		if (p && wg_peer_matches(&dev.peers[i], p)) {
			seen[p - st->peers] = 1;
			continue;
		}
		if (p)
			continue; /* wrong allowed-ips: re-set below */
		ch[n].op = WG_PEER_REMOVE;
		memcpy(ch[n].peer.public_key, dev.peers[i].public_key,
		       WG_KEY_LEN);
		log_warn("wireguard %s: removing a peer cellgate does not "
			 "know",
			 c->cfg.wireguard.interface);
		n++;
	}
	for (i = 0; i < st->n_peers; i++) {
		if (seen[i])
			continue;
		ch[n].op = WG_PEER_SET;
		wg_peer_of(&st->peers[i], &ch[n].peer);
		if (c->started_ns)
			log_warn("wireguard %s: repairing peer '%s' (missing "
				 "or wrong allowed-ips)",
				 c->cfg.wireguard.interface, st->peers[i].name);
		n++;
	}
	if (n) {
		change.peers = ch;
		change.n_peers = n;
		ret = wg_apply(c->cfg.wireguard.interface, &change);
		if (!ret && c->started_ns)
			c->stats.wg_repairs += n;
	}
out:
	free(ch);
	free(seen);
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

static int sync_maps(struct controller *c)
{
	struct policy pol;
	int ret = policy_compile(&c->state, &c->cfg, &pol);

	if (ret)
		return ret;
	ret = dp_sync(&c->dp, &pol);
	policy_free(&pol);
	return ret;
}

/* Remember that the clsact qdisc is ours, so `cellgate detach` may remove
 * it (and only then). */
static int mark_qdisc_ours(struct controller *c)
{
	char path[PATH_MAX];
	int ret;

	ret = path_fmt(path, sizeof(path), "%s/clsact-created-%s",
		       c->cfg.state_dir, c->cfg.wireguard.interface);
	if (!ret)
		ret = write_file_atomic(path, "1\n", 2, 0600);
	if (ret)
		log_err("cannot write %s: %s", path, strerror(-ret));
	return ret;
}

int controller_start(struct controller *c, const struct cg_config *cfg)
{
	struct dp_options opts;
	struct cg_error err = { 0 };
	int ret;

	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	pthread_mutex_init(&c->lock, NULL);
	state_init(&c->state, &c->cfg);
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
	log_info("state: %zu services, %zu peers", c->state.n_services,
		 c->state.n_peers);

	ret = load_or_create_token(c);
	if (!ret)
		ret = wg_setup(c);
	if (ret)
		return ret;
	detect_bridge_subnet(&c->cfg);

	dp_options_from_config(&opts, &c->cfg);
	ret = dp_open(&c->dp, &opts);
	if (ret)
		return ret;
	/* Maps first, then programs: the new programs see complete maps. */
	ret = sync_maps(c);
	if (!ret)
		ret = dp_attach_wg(&c->dp, c->cfg.wireguard.interface,
				   &c->qdisc_created);
	if (!ret && c->qdisc_created)
		ret = mark_qdisc_ours(c);
	if (!ret)
		ret = wg_reconcile(c);
	if (ret)
		return ret;
	c->started_ns = monotonic_ns();
	return 0;
}

void controller_tick(struct controller *c)
{
	static uint64_t last_gc, last_wg;
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
		last_wg = now;
	}
	pthread_mutex_unlock(&c->lock);
}

void controller_stop(struct controller *c)
{
	dp_close(&c->dp);
	state_free(&c->state);
	pthread_mutex_destroy(&c->lock);
}

/* ---- mutations ------------------------------------------------------------ */

/* Persist the state; on failure put back the copy taken before the change,
 * so memory and disk agree and the call fails as a whole. */
static int commit(struct controller *c, struct cg_state *before,
		  struct cg_error *err)
{
	int ret = state_save(&c->state, c->state_path);

	if (ret) {
		state_free(&c->state);
		c->state = *before;
		cg_error_set(err, 500, "", "cannot save state %s: %s",
			     c->state_path, strerror(-ret));
		log_err("%s", err->msg);
		return ret;
	}
	state_free(before);
	c->stats.state_writes++;
	return 0;
}

static int snapshot(struct controller *c, struct cg_state *copy,
		    struct cg_error *err)
{
	if (state_copy(copy, &c->state)) {
		cg_error_set(err, 500, "", "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int apply_failed(int ret, struct cg_error *err, const char *what)
{
	cg_error_set(err, 500, "",
		     "saved, but %s failed (%s); it is retried by the "
		     "reconcile loop",
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
	return ret ? apply_failed(ret, err, "the map update") : 0;
}

int ctl_put_service(struct controller *c, const char *name, json_object *body,
		    json_object **out, struct cg_error *err)
{
	struct cg_state before;
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = snapshot(c, &before, err);
	if (ret)
		goto out;
	ret = state_put_service(&c->state, name, body, err);
	if (ret) {
		state_free(&before);
		goto out;
	}
	ret = commit(c, &before, err);
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
	ret = snapshot(c, &before, err);
	if (ret)
		goto out;
	ret = state_delete_service(&c->state, name, err);
	if (ret) {
		state_free(&before);
		goto out;
	}
	ret = commit(c, &before, err);
	if (!ret)
		ret = services_changed(c, err);
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

static json_object *counters_json(const struct cg_counters *s)
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

int ctl_list_peers(struct controller *c, json_object **out)
{
	json_object *arr = json_object_new_array();
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->state.n_peers; i++)
		json_object_array_add(
			arr,
			peer_to_json(&c->state, &c->state.peers[i], false));
	pthread_mutex_unlock(&c->lock);
	*out = arr;
	return 0;
}

int ctl_get_peer(struct controller *c, const char *name, json_object **out,
		 struct cg_error *err)
{
	const struct cg_peer_def *p;
	struct cg_counters sum;
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	p = state_peer(&c->state, name);
	if (p) {
		*out = peer_to_json(&c->state, p, false);
		if (dp_counters(&c->dp, p->id, &sum) == 0)
			json_object_object_add(*out, "counters",
					       counters_json(&sum));
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
	struct cg_state before;
	struct cg_peer_def p;
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = snapshot(c, &before, err);
	if (ret)
		goto out;
	ret = state_add_peer(&c->state, body, &p, err);
	if (ret) {
		state_free(&before);
		goto out;
	}
	ret = commit(c, &before, err);
	if (ret)
		goto out;
	ret = dp_set_peer(&c->dp, NULL, &p);
	if (ret) {
		apply_failed(ret, err, "the map update");
		goto out;
	}
	ret = wg_program(c, NULL, &p);
	if (ret) {
		apply_failed(ret, err, "programming WireGuard");
		goto out;
	}
	*out = peer_to_json(&c->state, &p, false);
out:
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
	ret = snapshot(c, &before, err);
	if (ret)
		goto out;
	ret = state_update_peer(&c->state, name, body, &old, &p, err);
	if (ret) {
		state_free(&before);
		goto out;
	}
	ret = commit(c, &before, err);
	if (ret)
		goto out;
	ret = dp_set_peer(&c->dp, &old, &p);
	if (ret) {
		apply_failed(ret, err, "the map update");
		goto out;
	}
	if (!key_equal(old.public_key, p.public_key) ||
	    old.ip.s_addr != p.ip.s_addr)
		ret = wg_program(c, &old, &p);
	if (ret) {
		apply_failed(ret, err, "programming WireGuard");
		goto out;
	}
	*out = peer_to_json(&c->state, &p, false);
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
	ret = snapshot(c, &before, err);
	if (ret)
		goto out;
	ret = state_delete_peer(&c->state, name, &p, err);
	if (ret) {
		state_free(&before);
		goto out;
	}
	ret = commit(c, &before, err);
	if (ret)
		goto out;
	/* WireGuard first: once the key is gone no packet of it arrives. */
	ret = wg_program(c, &p, NULL);
	if (ret) {
		apply_failed(ret, err, "removing the WireGuard peer");
		goto out;
	}
	ret = dp_remove_peer(&c->dp, &p);
	if (ret)
		apply_failed(ret, err, "the map update");
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
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

static json_object *programs_json(struct controller *c)
{
	json_object *arr = json_object_new_array();
	static const char *const hooks[] = { "tc-ingress", "tc-egress" };
	int fds[2] = { dp_prog_fd_wg_ingress(&c->dp),
		       dp_prog_fd_wg_egress(&c->dp) };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(hooks); i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(
			o, "interface",
			json_object_new_string(c->cfg.wireguard.interface));
		json_object_object_add(o, "hook",
				       json_object_new_string(hooks[i]));
		json_object_object_add(o, "loaded",
				       json_object_new_boolean(fds[i] >= 0));
		add_prog_info(o, fds[i]);
		json_object_array_add(arr, o);
	}
	return arr;
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
	json_object_object_add(o, "programs", programs_json(c));
	json_object_object_add(o, "maps", maps_json(c));
	json_object_object_add(o, "wireguard_repairs",
			       json_object_new_uint64(c->stats.wg_repairs));
	json_object_object_add(o, "conntrack_gc_deleted",
			       json_object_new_uint64(c->stats.ct_gc_deleted));
	pthread_mutex_unlock(&c->lock);
	*out = o;
	return 0;
}
