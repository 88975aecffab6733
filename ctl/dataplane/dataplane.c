// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/pkt_sched.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netlink/route/classifier.h>
#include <netlink/route/link.h>

#include "dataplane.h"
#include "log.h"
#include "mapread.h"
#include "util.h"
#include "uplink_egress.skel.h"
#include "uplink_xdp.skel.h"
#include "wg_egress.skel.h"
#include "wg_ingress.skel.h"

/* Ethernet header length: the uplink's L2 header. */
#define ETH_HLEN_BYTES 14

static const char *const map_names[DP_MAP__COUNT] = {
	[DP_MAP_PEERS] = "cg_peers",
	[DP_MAP_CELLS] = "cg_cells",
	[DP_MAP_LOCAL_NETS] = "cg_local_nets",
	[DP_MAP_SERVICES] = "cg_services",
	[DP_MAP_CT_TCP] = "cg_ct_tcp",
	[DP_MAP_CT_OTHER] = "cg_ct_other",
	[DP_MAP_FRAGS] = "cg_frags",
	[DP_MAP_EPOCHS] = "cg_epochs",
	[DP_MAP_COUNTERS] = "cg_counters",
	[DP_MAP_SETTINGS] = "cg_settings",
	[DP_MAP_DNAT] = "cg_dnat",
	[DP_MAP_FORWARDS] = "cg_forwards",
	[DP_MAP_FWD_ALLOW] = "cg_fwd_allow",
	[DP_MAP_NAT] = "cg_nat",
	[DP_MAP_FWD_COUNTERS] = "cg_fwd_counters",
	[DP_MAP_NAT_STATS] = "cg_nat_stats",
	[DP_MAP_SERVICE_COUNTERS] = "cg_service_counters",
	[DP_MAP_TABLE_STATS] = "cg_table_stats",
	[DP_MAP_EVENTS] = "cg_events",
	[DP_MAP_MONITOR] = "cg_monitor",
	[DP_MAP_EVENT_STATS] = "cg_event_stats",
};

const char *dp_map_name(enum dp_map map)
{
	return map < DP_MAP__COUNT ? map_names[map] : "?";
}

void dp_options_from_config(struct dp_options *o, const struct cg_config *cfg)
{
	memset(o, 0, sizeof(*o));
	o->bpffs = cfg->bpffs;
	o->l2_len = 0;
	o->max_peers = cfg->limits.max_peers;
	o->conntrack_tcp = cfg->limits.conntrack_tcp;
	o->conntrack_other = cfg->limits.conntrack_other;
	o->nat_entries = cfg->limits.nat;
}

/* ---- loading ----------------------------------------------------------- */

static int libbpf_log(enum libbpf_print_level level, const char *fmt,
		      va_list ap)
{
	if (level != LIBBPF_DEBUG)
		log_vlibrary(level == LIBBPF_WARN ? LOG_LVL_WARN : LOG_LVL_INFO,
			     NULL, fmt, ap);
	return 0;
}

/* The pin directory must be on a bpffs, or pins would not outlive us. */
static int check_bpffs(const char *dir)
{
	struct statfs fs;
	int ret = mkdir_p(dir, 0700);

	if (ret) {
		log_err("bpffs: cannot create %s: %s", dir, strerror(-ret));
		return ret;
	}
	if (statfs(dir, &fs)) {
		log_err("bpffs: %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (fs.f_type != BPF_FS_MAGIC) {
		log_err("bpffs: %s is not on a BPF filesystem; mount one "
			"(mount -t bpf bpf %s) or set \"bpffs\" to a "
			"directory under /sys/fs/bpf",
			dir, dir);
		return -ENOTSUP;
	}
	return 0;
}

static uint32_t map_capacity(const struct dp_options *o, const char *name)
{
	if (!strcmp(name, "cg_peers"))
		return o->max_peers;
	if (!strcmp(name, "cg_epochs") || !strcmp(name, "cg_counters"))
		return o->max_peers + 1; /* slot 0: CG_IDENT_UNKNOWN */
	if (!strcmp(name, "cg_ct_tcp"))
		return o->conntrack_tcp;
	if (!strcmp(name, "cg_ct_other"))
		return o->conntrack_other;
	if (!strcmp(name, "cg_nat") && o->nat_entries)
		return o->nat_entries;
	return 0; /* keep the program's default */
}

/* Size the maps, and unpin pinned maps whose shape no longer matches so
 * libbpf creates them anew instead of failing to reuse them. */
static int prepare_maps(struct bpf_object *obj, const struct dp_options *o)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj)
	{
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);
		uint32_t cap = map_capacity(o, bpf_map__name(map));
		char path[PATH_MAX];
		int fd;

		if (bpf_map__is_internal(map))
			continue;
		if (cap && bpf_map__set_max_entries(map, cap))
			return -EINVAL;
		snprintf(path, sizeof(path), "%s/%s", o->bpffs,
			 bpf_map__name(map));
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    info.type == bpf_map__type(map) &&
		    info.key_size == bpf_map__key_size(map) &&
		    info.value_size == bpf_map__value_size(map) &&
		    info.max_entries == bpf_map__max_entries(map) &&
		    info.map_flags == bpf_map__map_flags(map)) {
			close(fd);
			continue;
		}
		close(fd);
		log_warn("map %s changed shape (capacity %u -> %u or layout); "
			 "recreating it, its entries are rebuilt",
			 bpf_map__name(map), info.max_entries,
			 bpf_map__max_entries(map));
		if (unlink(path))
			return -errno;
	}
	return 0;
}

static void set_rodata(struct dataplane *dp)
{
	dp->wg_ingress->rodata->cg_l2_len = dp->opts.l2_len;
	dp->wg_egress->rodata->cg_l2_len = dp->opts.l2_len;
	/* The uplink is Ethernet, whatever wg0 is. */
	dp->uplink_egress->rodata->cg_l2_len = ETH_HLEN_BYTES;
}

static int find_map_fds(struct dataplane *dp)
{
	struct bpf_object *obj = dp->wg_ingress->obj;
	int i;

	for (i = 0; i < DP_MAP__COUNT; i++) {
		struct bpf_map *m =
			bpf_object__find_map_by_name(obj, map_names[i]);

		dp->map_fd[i] = m ? bpf_map__fd(m) : -1;
		if (dp->map_fd[i] < 0) {
			log_err("map %s missing from the programs",
				map_names[i]);
			return -ENOENT;
		}
	}
	return 0;
}

int dp_open(struct dataplane *dp, const struct dp_options *opts)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = opts->bpffs);
	int ret;

	memset(dp, 0, sizeof(*dp));
	dp->opts = *opts;
	libbpf_set_print(libbpf_log);
	dp->ncpus = libbpf_num_possible_cpus();
	if (dp->ncpus < 1)
		return -EINVAL;
	ret = check_bpffs(opts->bpffs);
	if (ret)
		return ret;

	dp->wg_ingress = wg_ingress_bpf__open_opts(&oo);
	dp->wg_egress = wg_egress_bpf__open_opts(&oo);
	dp->uplink_xdp = uplink_xdp_bpf__open_opts(&oo);
	dp->uplink_egress = uplink_egress_bpf__open_opts(&oo);
	if (!dp->wg_ingress || !dp->wg_egress || !dp->uplink_xdp ||
	    !dp->uplink_egress) {
		ret = -errno;
		log_err("cannot open the BPF programs: %s", strerror(errno));
		goto fail;
	}
	set_rodata(dp);
	ret = prepare_maps(dp->wg_ingress->obj, opts);
	if (!ret)
		ret = prepare_maps(dp->wg_egress->obj, opts);
	if (!ret)
		ret = prepare_maps(dp->uplink_xdp->obj, opts);
	if (!ret)
		ret = prepare_maps(dp->uplink_egress->obj, opts);
	if (ret)
		goto fail;
	ret = wg_ingress_bpf__load(dp->wg_ingress);
	if (!ret)
		ret = wg_egress_bpf__load(dp->wg_egress);
	if (!ret)
		ret = uplink_xdp_bpf__load(dp->uplink_xdp);
	if (!ret)
		ret = uplink_egress_bpf__load(dp->uplink_egress);
	if (ret) {
		log_err("cannot load the BPF programs: %s (the kernel log and "
			"the verifier output above say why)",
			strerror(-ret));
		goto fail;
	}
	ret = find_map_fds(dp);
	if (ret)
		goto fail;
	return 0;
fail:
	dp_close(dp);
	return ret;
}

int dp_open_pinned(struct dataplane *dp, const char *bpffs)
{
	char path[PATH_MAX];
	int i, ret;

	memset(dp, 0, sizeof(*dp));
	dp->opts.bpffs = bpffs;
	dp->pinned_only = true;
	dp->ncpus = libbpf_num_possible_cpus();
	for (i = 0; i < DP_MAP__COUNT; i++)
		dp->map_fd[i] = -1;
	if (dp->ncpus < 1)
		return -EINVAL;
	for (i = 0; i < DP_MAP__COUNT; i++) {
		ret = path_fmt(path, sizeof(path), "%s/%s", bpffs,
			       map_names[i]);
		if (ret)
			goto fail;
		dp->map_fd[i] = bpf_obj_get(path);
		if (dp->map_fd[i] < 0) {
			ret = -errno;
			goto fail;
		}
	}
	return 0;
fail:
	dp_close(dp);
	return ret;
}

void dp_close(struct dataplane *dp)
{
	int i;

	if (dp->pinned_only) {
		for (i = 0; i < DP_MAP__COUNT; i++)
			if (dp->map_fd[i] >= 0)
				close(dp->map_fd[i]);
		dp->pinned_only = false;
		return;
	}
	wg_ingress_bpf__destroy(dp->wg_ingress);
	wg_egress_bpf__destroy(dp->wg_egress);
	uplink_xdp_bpf__destroy(dp->uplink_xdp);
	uplink_egress_bpf__destroy(dp->uplink_egress);
	dp->wg_ingress = NULL;
	dp->wg_egress = NULL;
	dp->uplink_xdp = NULL;
	dp->uplink_egress = NULL;
}

int dp_prog_fd_wg_ingress(const struct dataplane *dp)
{
	return bpf_program__fd(dp->wg_ingress->progs.cg_wg_ingress);
}

int dp_prog_fd_wg_egress(const struct dataplane *dp)
{
	return bpf_program__fd(dp->wg_egress->progs.cg_wg_egress);
}

int dp_prog_fd_uplink_xdp(const struct dataplane *dp)
{
	return bpf_program__fd(dp->uplink_xdp->progs.cg_uplink_xdp);
}

int dp_prog_fd_uplink_egress(const struct dataplane *dp)
{
	return bpf_program__fd(dp->uplink_egress->progs.cg_uplink_egress);
}

int dp_write_settings(struct dataplane *dp, const struct cg_settings *set)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(dp->map_fd[DP_MAP_SETTINGS], &zero, set,
				BPF_ANY))
		return -errno;
	return 0;
}

int dp_unpin(const char *bpffs)
{
	char path[PATH_MAX];
	int i;

	for (i = 0; i < DP_MAP__COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", bpffs, map_names[i]);
		if (unlink(path) && errno != ENOENT)
			log_warn("unpin %s: %s", path, strerror(errno));
	}
	if (rmdir(bpffs) && errno != ENOENT && errno != ENOTEMPTY &&
	    errno != EBUSY)
		log_warn("rmdir %s: %s", bpffs, strerror(errno));
	return 0;
}

/* ---- identities and epochs --------------------------------------------- */

static uint32_t epoch_get(struct dataplane *dp, uint32_t ident)
{
	uint32_t epoch = 0;

	bpf_map_lookup_elem(dp->map_fd[DP_MAP_EPOCHS], &ident, &epoch);
	return epoch;
}

/* Write an identity with the next epoch of its id: first the value (policy
 * and epoch replaced together), then the mirror in cg_epochs. */
static int identity_write_at(struct dataplane *dp, int fd, const void *key,
			     const struct cg_identity *value)
{
	struct cg_identity v = *value;
	int ret;

	v.epoch = epoch_get(dp, v.id) + 1;
	ret = bpf_map_update_elem(fd, key, &v, BPF_ANY);
	if (ret)
		return -errno;
	ret = bpf_map_update_elem(dp->map_fd[DP_MAP_EPOCHS], &v.id, &v.epoch,
				  BPF_ANY);
	return ret ? -errno : 0;
}

static int identity_write(struct dataplane *dp, const struct policy_peer *e)
{
	return identity_write_at(dp, dp->map_fd[DP_MAP_PEERS], &e->key,
				 &e->value);
}

/* Retire an id: flows admitted under it are re-judged (and dropped). */
static int epoch_bump(struct dataplane *dp, uint32_t ident)
{
	uint32_t epoch = epoch_get(dp, ident) + 1;

	if (bpf_map_update_elem(dp->map_fd[DP_MAP_EPOCHS], &ident, &epoch,
				BPF_ANY))
		return -errno;
	return 0;
}

static int counters_reset(struct dataplane *dp, uint32_t ident)
{
	size_t sz = (size_t)dp->ncpus * sizeof(struct cg_counters);
	void *zero = calloc(1, sz);
	int ret;

	if (!zero)
		return -ENOMEM;
	ret = bpf_map_update_elem(dp->map_fd[DP_MAP_COUNTERS], &ident, zero,
				  BPF_ANY);
	free(zero);
	return ret ? -errno : 0;
}

static bool same_identity(const struct cg_identity *a,
			  const struct cg_identity *b)
{
	struct cg_identity x = *a, y = *b;

	x.epoch = y.epoch = 0;
	return !memcmp(&x, &y, sizeof(x));
}

/* Does the map already hold e (but for its epoch)? */
static bool identity_unchanged(struct dataplane *dp,
			       const struct policy_peer *e)
{
	struct cg_identity cur;

	return !bpf_map_lookup_elem(dp->map_fd[DP_MAP_PEERS], &e->key, &cur) &&
	       same_identity(&cur, &e->value);
}

int dp_set_peer(struct dataplane *dp, const struct cg_peer_def *old,
		const struct cg_peer_def *peer)
{
	struct policy_peer e, o;
	int ret;

	dp->writes++;
	policy_peer_entry(peer, &e);
	if (!old) {
		ret = counters_reset(dp, peer->id);
		if (ret)
			return ret;
	}
	/* Unchanged policy at an unchanged address: no new epoch, which
	 * would re-judge every flow of the peer for nothing. */
	if (old && old->ip.s_addr == peer->ip.s_addr &&
	    identity_unchanged(dp, &e))
		return 0;
	ret = identity_write(dp, &e);
	if (ret || !old || old->ip.s_addr == peer->ip.s_addr)
		return ret;
	/* The address moved: the old key must stop admitting anything. */
	policy_peer_entry(old, &o);
	if (bpf_map_delete_elem(dp->map_fd[DP_MAP_PEERS], &o.key) &&
	    errno != ENOENT)
		return -errno;
	return 0;
}

int dp_remove_peer(struct dataplane *dp, const struct cg_peer_def *peer)
{
	struct policy_peer e;

	dp->writes++;
	policy_peer_entry(peer, &e);
	if (bpf_map_delete_elem(dp->map_fd[DP_MAP_PEERS], &e.key) &&
	    errno != ENOENT)
		return -errno;
	return epoch_bump(dp, peer->id);
}

/* ---- reconciling whole maps -------------------------------------------- */

/* One pass over a map that deletes the entries pick() chooses (or, with
 * pick_keeps, those it does not). Keys are collected first and deleted
 * after the pass, so the iteration never loses its place. */
struct map_sweep {
	int fd;
	size_t key_size;
	bool (*pick)(const void *key, const void *value, const void *ctx);
	const void *ctx;
	bool pick_keeps;
	/* Sees each deleted value before it goes. */
	void (*on_delete)(struct dataplane *dp, const void *value);
	struct dataplane *dp;
};

static int map_sweep(const struct map_sweep *sw)
{
	char key[64], next[64], value[128];
	void *prev = NULL;
	char(*doomed)[64] = NULL;
	size_t n = 0, cap = 0, i, deleted = 0;
	int ret = 0;

	while (bpf_map_get_next_key(sw->fd, prev, next) == 0) {
		memcpy(key, next, sw->key_size);
		prev = key;
		if (bpf_map_lookup_elem(sw->fd, key, value) ||
		    sw->pick(key, value, sw->ctx) == sw->pick_keeps)
			continue;
		if (n == cap) {
			void *p = realloc(doomed, (cap = cap ? cap * 2 : 64) *
							  sizeof(*doomed));

			if (!p) {
				free(doomed);
				return -ENOMEM;
			}
			doomed = p;
		}
		memcpy(doomed[n++], key, sw->key_size);
	}
	for (i = 0; i < n; i++) {
		if (sw->on_delete &&
		    !bpf_map_lookup_elem(sw->fd, doomed[i], value))
			sw->on_delete(sw->dp, value);
		/* Only what this sweep deleted counts: the conntrack GC
		 * sweeps without the controller's lock, beside a forward's
		 * removal sweeping its NAT entries. */
		if (!bpf_map_delete_elem(sw->fd, doomed[i]))
			deleted++;
		else if (errno != ENOENT)
			ret = -errno;
	}
	free(doomed);
	return ret ? ret : (int)deleted;
}

static bool keep_peer(const void *key, const void *value, const void *ctx)
{
	const struct policy *pol = ctx;
	const struct policy_peer *w = policy_find_peer(pol, key);

	return w && w->value.id == ((const struct cg_identity *)value)->id;
}

static void on_peer_deleted(struct dataplane *dp, const void *value)
{
	epoch_bump(dp, ((const struct cg_identity *)value)->id);
}

/* Does map fd hold exactly the n entries of pol that keep() accepts? */
/* rejudge: rewrite every identity (new epochs), not only changed ones. */
static bool keep_cell(const void *key, const void *value, const void *ctx)
{
	const struct policy *pol = ctx;
	size_t i;

	for (i = 0; i < pol->n_cells; i++)
		if (!memcmp(&pol->cells[i].key, key, sizeof(struct cg_lpm_key)))
			return pol->cells[i].value.id ==
			       ((const struct cg_identity *)value)->id;
	return false;
}

/* The identities of one map, peers (exact) or cells (LPM): entries laid
 * out as {key, struct cg_identity value}. */
struct identity_set {
	int fd;
	const char *entries;
	size_t n, stride, key_size, value_off;
	bool (*keep)(const void *key, const void *value, const void *ctx);
};

/* Delete identities the policy no longer has (their flows go with their
 * epoch), rewrite the changed ones with a new epoch (all of them when
 * rejudge), leave the rest alone. */
static int sync_identity_map(struct dataplane *dp,
			     const struct identity_set *set,
			     const struct policy *pol, bool rejudge)
{
	struct map_sweep sw = { .fd = set->fd,
				.key_size = set->key_size,
				.pick = set->keep,
				.ctx = pol,
				.pick_keeps = true,
				.on_delete = on_peer_deleted,
				.dp = dp };
	size_t i;
	int ret = map_sweep(&sw);

	if (ret < 0)
		return ret;
	for (i = 0; i < set->n; i++) {
		const char *key = set->entries + i * set->stride;
		const struct cg_identity *want =
			(const void *)(key + set->value_off);
		struct cg_identity cur;

		if (!rejudge && bpf_map_lookup_elem(set->fd, key, &cur) == 0 &&
		    same_identity(&cur, want) &&
		    cur.epoch == epoch_get(dp, cur.id))
			continue; /* unchanged since the last run */
		ret = identity_write_at(dp, set->fd, key, want);
		if (ret)
			return ret;
	}
	return 0;
}

static int sync_peers(struct dataplane *dp, const struct policy *pol,
		      bool rejudge)
{
	struct identity_set peers = {
		.fd = dp->map_fd[DP_MAP_PEERS],
		.entries = (const char *)pol->peers,
		.n = pol->n_peers,
		.stride = sizeof(*pol->peers),
		.key_size = sizeof(struct cg_addr_key),
		.value_off = offsetof(struct policy_peer, value),
		.keep = keep_peer,
	};
	struct identity_set cells = {
		.fd = dp->map_fd[DP_MAP_CELLS],
		.entries = (const char *)pol->cells,
		.n = pol->n_cells,
		.stride = sizeof(*pol->cells),
		.key_size = sizeof(struct cg_lpm_key),
		.value_off = offsetof(struct policy_cell, value),
		.keep = keep_cell,
	};
	int ret = sync_identity_map(dp, &peers, pol, rejudge);

	return ret ? ret : sync_identity_map(dp, &cells, pol, rejudge);
}

/* The entries a map should hold, as an array of {key, value} structs. */
struct entry_set {
	const void *entries;
	size_t n, stride;
	size_t key_size, value_off, value_size;
};

#define ENTRY_SET(array, count, type)                              \
	((struct entry_set){ .entries = (array),                   \
			     .n = (count),                         \
			     .stride = sizeof(type),               \
			     .key_size = sizeof(((type *)0)->key), \
			     .value_off = offsetof(type, value),   \
			     .value_size = sizeof(((type *)0)->value) })

static bool in_set(const void *key, const void *value, const void *ctx)
{
	const struct entry_set *set = ctx;
	size_t i;

	for (i = 0; i < set->n; i++) {
		const char *e = (const char *)set->entries + i * set->stride;

		if (!memcmp(e, key, set->key_size) &&
		    !memcmp(e + set->value_off, value, set->value_size))
			return true;
	}
	return false;
}

/* Does map fd hold exactly the entries of set? */
static bool map_is(int fd, const struct entry_set *set)
{
	char key[64], next[64], value[128];
	void *prev = NULL;
	size_t count = 0;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, sizeof(key));
		prev = key;
		if (bpf_map_lookup_elem(fd, key, value) ||
		    !in_set(key, value, set))
			return false;
		count++;
	}
	return count == set->n;
}

/* Make map fd hold exactly the entries of set. */
static int write_set(int fd, const struct entry_set *set)
{
	struct map_sweep sw = { .fd = fd,
				.key_size = set->key_size,
				.pick = in_set,
				.ctx = set,
				.pick_keeps = true };
	size_t i;
	int ret = map_sweep(&sw);

	if (ret < 0)
		return ret;
	for (i = 0; i < set->n; i++) {
		const char *e = (const char *)set->entries + i * set->stride;

		if (bpf_map_update_elem(fd, e, e + set->value_off, BPF_ANY))
			return -errno;
	}
	return 0;
}

static struct entry_set services_of(const struct policy *pol)
{
	return ENTRY_SET(pol->services, pol->n_services, struct policy_service);
}

static struct entry_set dnat_of(const struct policy *pol)
{
	return ENTRY_SET(pol->dnat, pol->n_dnat, struct policy_dnat);
}

static struct entry_set nets_of(const struct policy *pol)
{
	return ENTRY_SET(pol->nets, pol->n_nets, struct policy_net);
}

static int write_services(struct dataplane *dp, const struct policy *pol)
{
	struct entry_set svc = services_of(pol), dnat = dnat_of(pol);
	int ret = write_set(dp->map_fd[DP_MAP_SERVICES], &svc);

	return ret ? ret : write_set(dp->map_fd[DP_MAP_DNAT], &dnat);
}

int dp_sync_forwards(struct dataplane *dp, const struct policy *pol)
{
	struct entry_set fwd = ENTRY_SET(pol->forwards, pol->n_forwards,
					 struct policy_forward);
	struct entry_set allow = ENTRY_SET(pol->fwd_allow, pol->n_fwd_allow,
					   struct policy_fwd_allow);
	/* Allow lists first: a new forward never runs without its list. */
	int ret = write_set(dp->map_fd[DP_MAP_FWD_ALLOW], &allow);

	dp->writes++;
	return ret ? ret : write_set(dp->map_fd[DP_MAP_FORWARDS], &fwd);
}

int dp_sync(struct dataplane *dp, const struct policy *pol)
{
	/* Flows were admitted under the service and network maps as they
	 * are now (e.g. pinned across a restart, after a crash between
	 * saving a service change and applying it): if those change, every
	 * flow is judged again, as after dp_sync_services. */
	struct entry_set svc = services_of(pol), nets = nets_of(pol),
			 dnat = dnat_of(pol);
	bool rejudge = !map_is(dp->map_fd[DP_MAP_SERVICES], &svc) ||
		       !map_is(dp->map_fd[DP_MAP_LOCAL_NETS], &nets) ||
		       !map_is(dp->map_fd[DP_MAP_DNAT], &dnat);
	int ret = write_set(dp->map_fd[DP_MAP_LOCAL_NETS], &nets);

	dp->writes++;
	if (!ret)
		ret = write_services(dp, pol);
	if (!ret)
		ret = dp_sync_forwards(dp, pol);
	if (!ret)
		ret = sync_peers(dp, pol, rejudge);
	if (ret)
		log_err("map sync failed: %s", strerror(-ret));
	return ret;
}

int dp_sync_services(struct dataplane *dp, const struct policy *pol)
{
	size_t i;
	int ret = write_services(dp, pol);

	dp->writes++;
	/* Which flows a service change affects is not worth computing:
	 * re-judging every flow once is cheap and always right. */
	for (i = 0; !ret && i < pol->n_peers; i++)
		ret = identity_write(dp, &pol->peers[i]);
	return ret;
}

/* Do the identity map's entries equal set's, epochs current? */
static bool identities_are(struct dataplane *dp, const struct identity_set *set)
{
	char key[64], next[64];
	void *prev = NULL;
	size_t i, count = 0;

	while (bpf_map_get_next_key(set->fd, prev, next) == 0) {
		memcpy(key, next, sizeof(key));
		prev = key;
		count++;
	}
	if (count != set->n)
		return false;
	/* As many entries as wanted, each wanted one there: equal. */
	for (i = 0; i < set->n; i++) {
		const char *k = set->entries + i * set->stride;
		const struct cg_identity *want =
			(const void *)(k + set->value_off);
		struct cg_identity cur;

		if (bpf_map_lookup_elem(set->fd, k, &cur) ||
		    !same_identity(&cur, want) ||
		    cur.epoch != epoch_get(dp, cur.id))
			return false;
	}
	return true;
}

bool dp_in_sync(struct dataplane *dp, const struct policy *pol)
{
	struct entry_set svc = services_of(pol), nets = nets_of(pol),
			 dnat = dnat_of(pol),
			 fwd = ENTRY_SET(pol->forwards, pol->n_forwards,
					 struct policy_forward),
			 allow = ENTRY_SET(pol->fwd_allow, pol->n_fwd_allow,
					   struct policy_fwd_allow);
	struct identity_set peers = {
		.fd = dp->map_fd[DP_MAP_PEERS],
		.entries = (const char *)pol->peers,
		.n = pol->n_peers,
		.stride = sizeof(*pol->peers),
		.value_off = offsetof(struct policy_peer, value),
	};
	struct identity_set cells = {
		.fd = dp->map_fd[DP_MAP_CELLS],
		.entries = (const char *)pol->cells,
		.n = pol->n_cells,
		.stride = sizeof(*pol->cells),
		.value_off = offsetof(struct policy_cell, value),
	};

	return map_is(dp->map_fd[DP_MAP_SERVICES], &svc) &&
	       map_is(dp->map_fd[DP_MAP_LOCAL_NETS], &nets) &&
	       map_is(dp->map_fd[DP_MAP_DNAT], &dnat) &&
	       map_is(dp->map_fd[DP_MAP_FORWARDS], &fwd) &&
	       map_is(dp->map_fd[DP_MAP_FWD_ALLOW], &allow) &&
	       identities_are(dp, &peers) && identities_are(dp, &cells);
}

/* ---- conntrack garbage collection -------------------------------------- */

static bool ct_expired(const void *key, const void *value, const void *now)
{
	(void)key;
	return ((const struct cg_ct_entry *)value)->expires_ns <=
	       *(const uint64_t *)now;
}

/* An entry is touched only by packets of its own direction: a pair goes
 * when both halves are expired (or the twin is already gone). */
static bool nat_pair_expired(int fd, const struct cg_nat_entry *e, uint64_t now)
{
	struct cg_nat_entry twin;
	struct cg_ct_key twin_key;

	if (e->expires_ns > now)
		return false;
	memcpy(twin_key.saddr, e->to.daddr, 4);
	memcpy(twin_key.daddr, e->to.saddr, 4);
	twin_key.sport = e->to.dport;
	twin_key.dport = e->to.sport;
	twin_key.proto = e->to.proto;
	memset(twin_key.pad, 0, sizeof(twin_key.pad));
	return bpf_map_lookup_elem(fd, &twin_key, &twin) ||
	       twin.expires_ns <= now;
}

struct nat_gc {
	int fd;
	uint64_t now;
};

static bool nat_expired(const void *key, const void *value, const void *ctx)
{
	const struct nat_gc *gc = ctx;

	(void)key;
	return nat_pair_expired(gc->fd, value, gc->now);
}

static int sweep_map(int fd, size_t key_size,
		     bool (*pick)(const void *, const void *, const void *),
		     const void *ctx)
{
	struct map_sweep sw = {
		.fd = fd, .key_size = key_size, .pick = pick, .ctx = ctx
	};

	return map_sweep(&sw);
}

/* Sweep one LRU table, and account for what went (cg_table_stats). */
static int sweep_table(struct dataplane *dp, enum dp_map map,
		       enum cg_table table,
		       bool (*pick)(const void *, const void *, const void *),
		       const void *ctx)
{
	int r = sweep_map(dp->map_fd[map], sizeof(struct cg_ct_key), pick, ctx);

	if (r > 0)
		dp_table_removed(dp, table, (uint64_t)r);
	return r > 0 ? r : 0;
}

int dp_gc_sweep(const struct dataplane *dp, uint64_t now_ns,
		uint64_t removed[CG_TABLE__MAX])
{
	struct nat_gc gc = { .fd = dp->map_fd[DP_MAP_NAT], .now = now_ns };
	int r[CG_TABLE__MAX], t, n = 0;

	r[CG_TABLE_CT_TCP] =
		sweep_map(dp->map_fd[DP_MAP_CT_TCP], sizeof(struct cg_ct_key),
			  ct_expired, &now_ns);
	r[CG_TABLE_CT_OTHER] =
		sweep_map(dp->map_fd[DP_MAP_CT_OTHER], sizeof(struct cg_ct_key),
			  ct_expired, &now_ns);
	r[CG_TABLE_NAT] = sweep_map(dp->map_fd[DP_MAP_NAT],
				    sizeof(struct cg_ct_key), nat_expired, &gc);
	for (t = 0; t < CG_TABLE__MAX; t++) {
		removed[t] = r[t] > 0 ? (uint64_t)r[t] : 0;
		n += r[t] > 0 ? r[t] : 0;
	}
	return n;
}

int dp_gc(struct dataplane *dp, uint64_t now_ns)
{
	uint64_t removed[CG_TABLE__MAX];
	int t, n = dp_gc_sweep(dp, now_ns, removed);

	for (t = 0; t < CG_TABLE__MAX; t++)
		dp_table_removed(dp, t, removed[t]);
	return n;
}

static bool owned(const void *key, const void *value, const void *owner)
{
	const struct cg_nat_entry *e = value;

	(void)key;
	return e->owner == *(const uint32_t *)owner &&
	       (e->kind == CG_NAT_FORWARD || e->kind == CG_NAT_WG_SNAT);
}

int dp_forget_owner(struct dataplane *dp, uint32_t owner)
{
	dp->writes++;
	return sweep_table(dp, DP_MAP_NAT, CG_TABLE_NAT, owned, &owner);
}

/* ---- reading ----------------------------------------------------------- */

/* One per-CPU value of map fd at key, summed over CPUs into sum. */
static int percpu_read_sum(const struct dataplane *dp, int fd, uint32_t key,
			   void *sum, size_t value_size)
{
	void *percpu = calloc((size_t)dp->ncpus, percpu_stride(value_size));

	memset(sum, 0, value_size);
	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, percpu)) {
		free(percpu);
		return -errno;
	}
	percpu_sum_u64(sum, percpu, value_size, dp->ncpus);
	free(percpu);
	return 0;
}

int dp_counters(const struct dataplane *dp, uint32_t ident,
		struct cg_counters *sum)
{
	return percpu_read_sum(dp, dp->map_fd[DP_MAP_COUNTERS], ident, sum,
			       sizeof(*sum));
}

int dp_nat_stats(const struct dataplane *dp, struct cg_nat_stats *sum)
{
	return percpu_read_sum(dp, dp->map_fd[DP_MAP_NAT_STATS], 0, sum,
			       sizeof(*sum));
}

int dp_fwd_counters(const struct dataplane *dp, uint32_t fwd_id,
		    struct cg_fwd_counters *sum)
{
	return percpu_read_sum(dp, dp->map_fd[DP_MAP_FWD_COUNTERS], fwd_id, sum,
			       sizeof(*sum));
}

int dp_event_stats(const struct dataplane *dp, struct cg_event_stats *sum)
{
	return percpu_read_sum(dp, dp->map_fd[DP_MAP_EVENT_STATS], 0, sum,
			       sizeof(*sum));
}

int dp_table_stats(const struct dataplane *dp, struct cg_table_stats *sum)
{
	struct cg_table_stats ctl;
	size_t i;
	int ret = percpu_read_sum(dp, dp->map_fd[DP_MAP_TABLE_STATS],
				  CG_STATS_PROGRAMS, sum, sizeof(*sum));

	if (!ret)
		ret = percpu_read_sum(dp, dp->map_fd[DP_MAP_TABLE_STATS],
				      CG_STATS_CONTROLLER, &ctl, sizeof(ctl));
	for (i = 0; !ret && i < CG_TABLE__MAX; i++) {
		sum->created[i] += ctl.created[i];
		sum->removed[i] += ctl.removed[i];
	}
	return ret;
}

void dp_table_removed(struct dataplane *dp, enum cg_table table, uint64_t n)
{
	size_t stride = percpu_stride(sizeof(struct cg_table_stats));
	uint32_t slot = CG_STATS_CONTROLLER;
	int fd = dp->map_fd[DP_MAP_TABLE_STATS];
	struct cg_table_stats *cpu0;
	void *percpu;

	if (!n || table >= CG_TABLE__MAX)
		return;
	percpu = calloc((size_t)dp->ncpus, stride);
	if (!percpu)
		return;
	/* Only the controller writes this slot (CPU 0's copy), and only
	 * under its lock: read, add, write back loses nothing. */
	if (!bpf_map_lookup_elem(fd, &slot, percpu)) {
		cpu0 = percpu;
		cpu0->removed[table] += n;
		bpf_map_update_elem(fd, &slot, percpu, BPF_ANY);
	}
	free(percpu);
}

/* Sums of a per-CPU array's values, by key, for keys below n. */
struct percpu_all {
	void *sums;
	size_t value_size;
	uint32_t n;
	int ncpus;
};

static int add_percpu_entry(const void *key, const void *value, void *ctx)
{
	const struct percpu_all *a = ctx;
	uint32_t k;

	memcpy(&k, key, sizeof(k));
	if (k < a->n)
		percpu_sum_u64((char *)a->sums + (size_t)k * a->value_size,
			       value, a->value_size, a->ncpus);
	return 0;
}

static int percpu_array_sums(const struct dataplane *dp, int fd, void *sums,
			     size_t value_size, uint32_t n)
{
	struct percpu_all a = { .sums = sums,
				.value_size = value_size,
				.n = n,
				.ncpus = dp->ncpus };
	int ret;

	memset(sums, 0, (size_t)n * value_size);
	ret = map_for_each(fd, dp->ncpus, add_percpu_entry, &a);
	return ret < 0 ? ret : 0;
}

int dp_counters_all(const struct dataplane *dp, struct cg_counters *sums,
		    uint32_t n)
{
	return percpu_array_sums(dp, dp->map_fd[DP_MAP_COUNTERS], sums,
				 sizeof(*sums), n);
}

int dp_service_counters_all(const struct dataplane *dp,
			    struct cg_service_counters *sums)
{
	return percpu_array_sums(dp, dp->map_fd[DP_MAP_SERVICE_COUNTERS], sums,
				 sizeof(*sums), CG_MAX_SERVICES);
}

int dp_monitor_lease(struct dataplane *dp, const struct cg_monitor *m)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(dp->map_fd[DP_MAP_MONITOR], &zero, m, BPF_ANY))
		return -errno;
	return 0;
}

int dp_fwd_counters_reset(struct dataplane *dp, uint32_t fwd_id)
{
	struct cg_fwd_counters *zero = calloc((size_t)dp->ncpus, sizeof(*zero));
	int ret;

	if (!zero)
		return -ENOMEM;
	ret = bpf_map_update_elem(dp->map_fd[DP_MAP_FWD_COUNTERS], &fwd_id,
				  zero, BPF_ANY);
	free(zero);
	return ret ? -errno : 0;
}

int dp_map_usage(const struct dataplane *dp, enum dp_map map,
		 struct dp_map_usage *usage)
{
	return dp_map_usage_of(dp, map, usage, UINT64_MAX);
}

int dp_map_usage_of(const struct dataplane *dp, enum dp_map map,
		    struct dp_map_usage *usage, uint64_t entries)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int fd = dp->map_fd[map], n;

	usage->name = map_names[map];
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type == BPF_MAP_TYPE_RINGBUF)
		return -EOPNOTSUPP; /* bytes, not entries */
	n = entries != UINT64_MAX ? (int)entries : map_count(fd, dp->ncpus);
	if (n < 0)
		return n;
	usage->entries = (uint32_t)n;
	usage->capacity = info.max_entries;
	usage->memory_bytes = map_memory_bytes(fd);
	return 0;
}
