// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/pkt_sched.h>
#include <net/if.h>
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
#include "util.h"
#include "wg_egress.skel.h"
#include "wg_ingress.skel.h"

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
}

/* ---- loading ----------------------------------------------------------- */

static int libbpf_log(enum libbpf_print_level level, const char *fmt,
		      va_list ap)
{
	char line[1024];

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	if (line[0])
		log_msg(level == LIBBPF_WARN ? LOG_LVL_WARN : LOG_LVL_INFO,
			"%s", line);
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

static void set_rodata_wg(struct dataplane *dp)
{
	dp->wg_ingress->rodata->cg_l2_len = dp->opts.l2_len;
	dp->wg_egress->rodata->cg_l2_len = dp->opts.l2_len;
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
	if (!dp->wg_ingress || !dp->wg_egress) {
		ret = -errno;
		log_err("cannot open the BPF programs: %s", strerror(errno));
		goto fail;
	}
	set_rodata_wg(dp);
	ret = prepare_maps(dp->wg_ingress->obj, opts);
	if (!ret)
		ret = prepare_maps(dp->wg_egress->obj, opts);
	if (ret)
		goto fail;
	ret = wg_ingress_bpf__load(dp->wg_ingress);
	if (!ret)
		ret = wg_egress_bpf__load(dp->wg_egress);
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

void dp_close(struct dataplane *dp)
{
	wg_ingress_bpf__destroy(dp->wg_ingress);
	wg_egress_bpf__destroy(dp->wg_egress);
	dp->wg_ingress = NULL;
	dp->wg_egress = NULL;
}

int dp_prog_fd_wg_ingress(const struct dataplane *dp)
{
	return bpf_program__fd(dp->wg_ingress->progs.cg_wg_ingress);
}

int dp_prog_fd_wg_egress(const struct dataplane *dp)
{
	return bpf_program__fd(dp->wg_egress->progs.cg_wg_egress);
}

/* ---- tc ---------------------------------------------------------------- */

/* bpf_tc_query and bpf_tc_hook_create fail in normal cases (nothing
 * attached yet; clsact already there): without libbpf's warnings. */
static int tc_query_quiet(struct bpf_tc_hook *hook, struct bpf_tc_opts *opts)
{
	libbpf_print_fn_t old = libbpf_set_print(NULL);
	int ret = bpf_tc_query(hook, opts);

	libbpf_set_print(old);
	return ret;
}

static int tc_hook_create_quiet(struct bpf_tc_hook *hook)
{
	libbpf_print_fn_t old = libbpf_set_print(NULL);
	int ret = bpf_tc_hook_create(hook);

	libbpf_set_print(old);
	return ret;
}

static int tc_attach_one(int ifindex, enum bpf_tc_attach_point point,
			 int prog_fd, const char *ifname)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, query, .handle = CG_TC_HANDLE,
		    .priority = CG_TC_PRIO);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CG_TC_HANDLE,
		    .priority = CG_TC_PRIO, .prog_fd = prog_fd,
		    .flags = BPF_TC_F_REPLACE);
	const char *dir = point == BPF_TC_INGRESS ? "ingress" : "egress";
	int ret;

	if (tc_query_quiet(&hook, &query) == 0)
		log_info("tc %s %s: replacing program %u in place", ifname, dir,
			 query.prog_id);
	ret = bpf_tc_attach(&hook, &opts);
	if (ret) {
		log_err("tc %s %s: attach failed: %s", ifname, dir,
			strerror(-ret));
		return ret;
	}
	log_info("tc %s %s: program %u attached (handle 0x%x prio %u)", ifname,
		 dir, opts.prog_id, CG_TC_HANDLE, CG_TC_PRIO);
	return 0;
}

int dp_attach_wg(struct dataplane *dp, const char *ifname, bool *qdisc_created)
{
	int ifindex = (int)if_nametoindex(ifname);
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS);
	int ret;

	if (!ifindex) {
		log_err("tc: no interface %s", ifname);
		return -ENODEV;
	}
	/* Creates the clsact qdisc (serving both directions) if missing. */
	ret = tc_hook_create_quiet(&hook);
	*qdisc_created = ret == 0;
	if (ret && ret != -EEXIST) {
		log_err("tc %s: cannot create clsact qdisc: %s", ifname,
			strerror(-ret));
		return ret;
	}
	ret = tc_attach_one(ifindex, BPF_TC_INGRESS, dp_prog_fd_wg_ingress(dp),
			    ifname);
	if (!ret)
		ret = tc_attach_one(ifindex, BPF_TC_EGRESS,
				    dp_prog_fd_wg_egress(dp), ifname);
	return ret;
}

/* Number of tc filters on one side of ifindex's clsact qdisc. */
static int count_filters(int ifindex, uint32_t parent)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cache *cache = NULL;
	int n = -ENOMEM;

	if (!sk)
		return n;
	if (nl_connect(sk, NETLINK_ROUTE) == 0 &&
	    rtnl_cls_alloc_cache(sk, ifindex, parent, &cache) == 0) {
		n = nl_cache_nitems(cache);
		nl_cache_free(cache);
	} else {
		n = -EIO;
	}
	nl_socket_free(sk);
	return n;
}

int dp_detach_iface(const char *ifname, bool qdisc_ours)
{
	int ifindex = (int)if_nametoindex(ifname);
	LIBBPF_OPTS(bpf_tc_hook, ingress, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_hook, egress, .ifindex = ifindex,
		    .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CG_TC_HANDLE,
		    .priority = CG_TC_PRIO);
	LIBBPF_OPTS(bpf_tc_hook, both, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int ret, n_in, n_eg;

	if (!ifindex) {
		log_info("detach: %s is gone, nothing attached", ifname);
		return 0;
	}
	ret = bpf_tc_detach(&ingress, &opts);
	if (ret && ret != -ENOENT)
		log_warn("detach %s ingress: %s", ifname, strerror(-ret));
	ret = bpf_tc_detach(&egress, &opts);
	if (ret && ret != -ENOENT)
		log_warn("detach %s egress: %s", ifname, strerror(-ret));
	if (!qdisc_ours)
		return 0;
	n_in = count_filters(ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS));
	n_eg = count_filters(ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS));
	if (n_in == 0 && n_eg == 0) {
		ret = bpf_tc_hook_destroy(&both);
		if (ret && ret != -ENOENT)
			log_warn("detach %s: cannot remove clsact: %s", ifname,
				 strerror(-ret));
		else
			log_info("detach %s: removed the clsact qdisc "
				 "cellgate created",
				 ifname);
	} else {
		log_info("detach %s: clsact kept, other filters use it",
			 ifname);
	}
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
static int identity_write(struct dataplane *dp, const struct policy_peer *e)
{
	struct cg_identity v = e->value;
	int ret;

	v.epoch = epoch_get(dp, v.id) + 1;
	ret = bpf_map_update_elem(dp->map_fd[DP_MAP_PEERS], &e->key, &v,
				  BPF_ANY);
	if (ret)
		return -errno;
	ret = bpf_map_update_elem(dp->map_fd[DP_MAP_EPOCHS], &v.id, &v.epoch,
				  BPF_ANY);
	return ret ? -errno : 0;
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

int dp_set_peer(struct dataplane *dp, const struct cg_peer_def *old,
		const struct cg_peer_def *peer)
{
	struct policy_peer e, o;
	int ret;

	policy_peer_entry(peer, &e);
	if (!old) {
		ret = counters_reset(dp, peer->id);
		if (ret)
			return ret;
	}
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

	policy_peer_entry(peer, &e);
	if (bpf_map_delete_elem(dp->map_fd[DP_MAP_PEERS], &e.key) &&
	    errno != ENOENT)
		return -errno;
	return epoch_bump(dp, peer->id);
}

/* ---- reconciling whole maps -------------------------------------------- */

/* Delete every key of map fd for which keep() says no; on_delete (if
 * any) sees each deleted value first. Keys are collected in one pass and
 * deleted after it, so the iteration never loses its place. */
static int delete_unwanted(struct dataplane *dp, int fd, size_t key_size,
			   bool (*keep)(const struct policy *, const void *,
					const void *),
			   const struct policy *pol,
			   int (*on_delete)(struct dataplane *, const void *))
{
	char key[64], next[64], value[128];
	void *prev = NULL;
	char(*doomed)[64] = NULL;
	size_t n = 0, cap = 0, i;
	int ret = 0;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, value))
			continue;
		if (keep(pol, key, value))
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
		memcpy(doomed[n++], key, key_size);
	}
	for (i = 0; i < n; i++) {
		if (on_delete) {
			bpf_map_lookup_elem(fd, doomed[i], value);
			on_delete(dp, value);
		}
		if (bpf_map_delete_elem(fd, doomed[i]) && errno != ENOENT)
			ret = -errno;
	}
	free(doomed);
	return ret;
}

static bool keep_peer(const struct policy *pol, const void *key,
		      const void *value)
{
	const struct policy_peer *w = policy_find_peer(pol, key);

	return w && w->value.id == ((const struct cg_identity *)value)->id;
}

static int on_peer_deleted(struct dataplane *dp, const void *value)
{
	return epoch_bump(dp, ((const struct cg_identity *)value)->id);
}

static bool keep_service(const struct policy *pol, const void *key,
			 const void *value)
{
	size_t i;

	for (i = 0; i < pol->n_services; i++)
		if (!memcmp(&pol->services[i].key, key,
			    sizeof(struct cg_service_key)) &&
		    !memcmp(&pol->services[i].value, value,
			    sizeof(struct cg_service)))
			return true;
	return false;
}

static bool keep_net(const struct policy *pol, const void *key,
		     const void *value)
{
	size_t i;

	for (i = 0; i < pol->n_nets; i++)
		if (!memcmp(&pol->nets[i].key, key,
			    sizeof(struct cg_lpm_key)) &&
		    !memcmp(&pol->nets[i].value, value,
			    sizeof(struct cg_local_net)))
			return true;
	return false;
}

/* Does map fd hold exactly the n entries of pol that keep() accepts? */
static bool map_is(int fd, size_t n,
		   bool (*keep)(const struct policy *, const void *,
				const void *),
		   const struct policy *pol)
{
	char key[64], next[64], value[128];
	void *prev = NULL;
	size_t count = 0;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, sizeof(key));
		prev = key;
		if (bpf_map_lookup_elem(fd, key, value) ||
		    !keep(pol, key, value))
			return false;
		count++;
	}
	return count == n;
}

/* rejudge: rewrite every identity (new epochs), not only changed ones. */
static int sync_peers(struct dataplane *dp, const struct policy *pol,
		      bool rejudge)
{
	int fd = dp->map_fd[DP_MAP_PEERS];
	size_t i;
	int ret;

	ret = delete_unwanted(dp, fd, sizeof(struct cg_addr_key), keep_peer,
			      pol, on_peer_deleted);
	if (ret)
		return ret;
	for (i = 0; i < pol->n_peers; i++) {
		const struct policy_peer *e = &pol->peers[i];
		struct cg_identity cur;

		if (!rejudge && bpf_map_lookup_elem(fd, &e->key, &cur) == 0 &&
		    same_identity(&cur, &e->value) &&
		    cur.epoch == epoch_get(dp, cur.id))
			continue; /* unchanged since the last run */
		ret = identity_write(dp, e);
		if (ret)
			return ret;
	}
	return 0;
}

static int write_services(struct dataplane *dp, const struct policy *pol)
{
	int fd = dp->map_fd[DP_MAP_SERVICES];
	size_t i;
	int ret;

	ret = delete_unwanted(dp, fd, sizeof(struct cg_service_key),
			      keep_service, pol, NULL);
	if (ret)
		return ret;
	for (i = 0; i < pol->n_services; i++)
		if (bpf_map_update_elem(fd, &pol->services[i].key,
					&pol->services[i].value, BPF_ANY))
			return -errno;
	return 0;
}

static int sync_nets(struct dataplane *dp, const struct policy *pol)
{
	int fd = dp->map_fd[DP_MAP_LOCAL_NETS];
	size_t i;
	int ret;

	ret = delete_unwanted(dp, fd, sizeof(struct cg_lpm_key), keep_net, pol,
			      NULL);
	if (ret)
		return ret;
	for (i = 0; i < pol->n_nets; i++)
		if (bpf_map_update_elem(fd, &pol->nets[i].key,
					&pol->nets[i].value, BPF_ANY))
			return -errno;
	return 0;
}

int dp_sync(struct dataplane *dp, const struct policy *pol)
{
	/* Flows were admitted under the service and network maps as they
	 * are now (e.g. pinned across a restart, after a crash between
	 * saving a service change and applying it): if those change, every
	 * flow is judged again, as after dp_sync_services. */
	bool rejudge = !map_is(dp->map_fd[DP_MAP_SERVICES], pol->n_services,
			       keep_service, pol) ||
		       !map_is(dp->map_fd[DP_MAP_LOCAL_NETS], pol->n_nets,
			       keep_net, pol);
	int ret = sync_nets(dp, pol);

	if (!ret)
		ret = write_services(dp, pol);
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

	/* Which flows a service change affects is not worth computing:
	 * re-judging every flow once is cheap and always right. */
	for (i = 0; !ret && i < pol->n_peers; i++)
		ret = identity_write(dp, &pol->peers[i]);
	return ret;
}

/* ---- conntrack garbage collection -------------------------------------- */

static int gc_map(int fd, size_t key_size,
		  bool (*expired)(const void *value, uint64_t now),
		  uint64_t now)
{
	char key[64], next[64], value[64];
	void *prev = NULL;
	char(*doomed)[64] = NULL;
	size_t n = 0, cap = 0, i;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, value) || !expired(value, now))
			continue;
		if (n == cap) {
			void *p = realloc(doomed, (cap = cap ? cap * 2 : 256) *
							  sizeof(*doomed));

			if (!p)
				break;
			doomed = p;
		}
		memcpy(doomed[n++], key, key_size);
	}
	for (i = 0; i < n; i++)
		bpf_map_delete_elem(fd, doomed[i]);
	free(doomed);
	return (int)n;
}

static bool ct_expired(const void *value, uint64_t now)
{
	return ((const struct cg_ct_entry *)value)->expires_ns <= now;
}

int dp_gc(struct dataplane *dp, uint64_t now_ns)
{
	int n = gc_map(dp->map_fd[DP_MAP_CT_TCP], sizeof(struct cg_ct_key),
		       ct_expired, now_ns);

	n += gc_map(dp->map_fd[DP_MAP_CT_OTHER], sizeof(struct cg_ct_key),
		    ct_expired, now_ns);
	return n;
}

/* ---- reading ----------------------------------------------------------- */

int dp_counters(const struct dataplane *dp, uint32_t ident,
		struct cg_counters *sum)
{
	struct cg_counters *percpu;
	int cpu, r;

	percpu = calloc((size_t)dp->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	memset(sum, 0, sizeof(*sum));
	if (bpf_map_lookup_elem(dp->map_fd[DP_MAP_COUNTERS], &ident, percpu)) {
		free(percpu);
		return -errno;
	}
	for (cpu = 0; cpu < dp->ncpus; cpu++) {
		sum->rx_packets += percpu[cpu].rx_packets;
		sum->rx_bytes += percpu[cpu].rx_bytes;
		sum->tx_packets += percpu[cpu].tx_packets;
		sum->tx_bytes += percpu[cpu].tx_bytes;
		for (r = 0; r < CG_DROP__MAX; r++)
			sum->drops[r] += percpu[cpu].drops[r];
	}
	free(percpu);
	return 0;
}

int dp_map_usage(const struct dataplane *dp, enum dp_map map,
		 struct dp_map_usage *usage)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char key[64], next[64];
	void *prev = NULL;
	int fd = dp->map_fd[map];

	usage->name = map_names[map];
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	usage->capacity = info.max_entries;
	usage->entries = info.max_entries; /* arrays are always full */
	if (info.type == BPF_MAP_TYPE_ARRAY ||
	    info.type == BPF_MAP_TYPE_PERCPU_ARRAY)
		return 0;
	usage->entries = 0;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, info.key_size);
		prev = key;
		usage->entries++;
	}
	return 0;
}
