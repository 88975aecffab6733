// SPDX-License-Identifier: MIT
/*
 * Loading the programs: open the five skeletons with their maps pinned
 * under bpffs, size the maps from the config, recreate pins whose shape
 * changed, load, and close; the names of the maps, the programs' fds,
 * unpinning. Writing the maps is dp_sync.c's, sweeping them dp_gc.c's,
 * reading them dp_counters.c's, attaching attach.c's.
 */
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

#include "bridge_port.skel.h"
#include "ct_canon.h"
#include "dataplane.h"
#include "dp_internal.h"
#include "exit_ingress.skel.h"
#include "log.h"
#include "util.h"
#include "uplink_egress.skel.h"
#include "uplink_xdp.skel.h"
#include "wg_egress.skel.h"
#include "wg_ingress.skel.h"

/* Ethernet header length: the uplink's L2 header. */
#define ETH_HLEN_BYTES 14

void dp_options_from_config(struct dp_options *o, const struct cg_config *cfg)
{
	memset(o, 0, sizeof(*o));
	o->bpffs = cfg->bpffs;
	o->l2_len = 0;
	o->max_peers = cfg->limits.max_peers;
	o->conntrack_tcp = cfg->limits.conntrack_tcp;
	o->conntrack_other = cfg->limits.conntrack_other;
	o->nat_entries = cfg->limits.nat;
	o->per_peer_max = cfg->conntrack.per_peer_max;
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
	if (!strcmp(name, "cg_peers") || !strcmp(name, "cg_peers6"))
		return o->max_peers;
	if (!strcmp(name, "cg_epochs") || !strcmp(name, "cg_counters") ||
	    !strcmp(name, "cg_budget") || !strcmp(name, "cg_rate"))
		return o->max_peers + 1; /* slot 0: CG_IDENT_UNKNOWN */
	if (!strcmp(name, "cg_ct_tcp") || !strcmp(name, "cg_ct6_tcp"))
		return o->conntrack_tcp;
	if (!strcmp(name, "cg_ct_other") || !strcmp(name, "cg_ct6_other"))
		return o->conntrack_other;
	if (!strcmp(name, "cg_nat") && o->nat_entries)
		return o->nat_entries;
	return 0; /* keep the program's default */
}

/* Size the maps from the config. */
static int size_maps(struct bpf_object *obj, const struct dp_options *o)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj)
	{
		uint32_t cap = map_capacity(o, bpf_map__name(map));

		if (!bpf_map__is_internal(map) && cap &&
		    bpf_map__set_max_entries(map, cap))
			return -EINVAL;
	}
	return 0;
}

/* The objects, for walking them alike. */
#define DP_NOBJ 7
static void objects(const struct dataplane *dp, struct bpf_object *obj[DP_NOBJ])
{
	obj[0] = dp->wg_ingress->obj;
	obj[1] = dp->wg_egress->obj;
	obj[2] = dp->uplink_xdp->obj;
	obj[3] = dp->uplink_egress->obj;
	obj[4] = dp->bridge_port->obj;
	obj[5] = dp->exit_l3->obj;
	obj[6] = dp->exit_l2->obj;
}

/* Pins whose shape or layout changed: first check them all (a map of
 * flows that cannot be converted refuses before anything is unpinned),
 * then keep the old maps and unpin them so libbpf creates new ones. */
static int prepare_maps(struct dataplane *dp)
{
	struct bpf_object *obj[DP_NOBJ];
	int i, ret = 0;

	objects(dp, obj);
	for (i = 0; i < DP_NOBJ && !ret; i++)
		ret = size_maps(obj[i], &dp->opts);
	dp->mig = calloc(1, sizeof(*dp->mig));
	if (!dp->mig)
		return -ENOMEM;
	dp->mig->ncpus = dp->ncpus;
	for (i = 0; i < DP_NOBJ && !ret; i++)
		ret = mig_prepare(dp->mig, obj[i], dp->opts.bpffs, false);
	for (i = 0; i < DP_NOBJ && !ret; i++)
		ret = mig_prepare(dp->mig, obj[i], dp->opts.bpffs, true);
	return ret;
}

/* A loaded map's fd by name, in whichever object has it. */
static int map_fd_named(void *ctx, const char *name)
{
	struct bpf_object *obj[DP_NOBJ];
	int i;

	objects(ctx, obj);
	for (i = 0; i < DP_NOBJ; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj[i], name);

		if (m && bpf_map__fd(m) >= 0)
			return bpf_map__fd(m);
	}
	return -1;
}

static void set_rodata(struct dataplane *dp)
{
	dp->wg_ingress->rodata->cg_l2_len = dp->opts.l2_len;
	dp->wg_egress->rodata->cg_l2_len = dp->opts.l2_len;
	dp->wg_ingress->rodata->cg_ct_per_peer_max = dp->opts.per_peer_max;
	/* The uplink is Ethernet, whatever wg0 is. */
	dp->uplink_egress->rodata->cg_l2_len = ETH_HLEN_BYTES;
	dp->bridge_port->rodata->cg_l2_len = ETH_HLEN_BYTES;
	/* Exits (issue 20): one object per kind of link. */
	dp->exit_l3->rodata->cg_l2_len = 0;
	dp->exit_l2->rodata->cg_l2_len = ETH_HLEN_BYTES;
}

static int find_map_fds(struct dataplane *dp)
{
	struct bpf_object *obj = dp->wg_ingress->obj;
	int i;

	for (i = 0; i < DP_MAP__COUNT; i++) {
		struct bpf_map *m =
			bpf_object__find_map_by_name(obj, dp_map_name(i));

		dp->map_fd[i] = m ? bpf_map__fd(m) : -1;
		if (dp->map_fd[i] < 0) {
			log_err("map %s missing from the programs",
				dp_map_name(i));
			return -ENOENT;
		}
	}
	return 0;
}

/* Conntrack entries pinned by a cellgate older than canonical keys. */
static void canonicalize_ct(const struct dataplane *dp)
{
	int tcp = ct_canonicalize(dp->map_fd[DP_MAP_CT_TCP]);
	int other = ct_canonicalize(dp->map_fd[DP_MAP_CT_OTHER]);

	if (tcp > 0 || other > 0)
		log_info("conntrack: %d entries moved to canonical keys",
			 (tcp > 0 ? tcp : 0) + (other > 0 ? other : 0));
}

void dp_migrate_finish(struct dataplane *dp)
{
	if (!dp->mig)
		return;
	mig_finish(dp->mig, dp->wg_ingress ? map_fd_named : NULL, dp);
	free(dp->mig);
	dp->mig = NULL;
	/* What the old programs wrote meanwhile, under an older key form. */
	if (dp->wg_ingress)
		canonicalize_ct(dp);
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
	dp->bridge_port = bridge_port_bpf__open_opts(&oo);
	dp->exit_l3 = exit_ingress_bpf__open_opts(&oo);
	dp->exit_l2 = exit_ingress_bpf__open_opts(&oo);
	if (!dp->wg_ingress || !dp->wg_egress || !dp->uplink_xdp ||
	    !dp->uplink_egress || !dp->bridge_port || !dp->exit_l3 ||
	    !dp->exit_l2) {
		ret = -errno;
		log_err("cannot open the BPF programs: %s", strerror(errno));
		goto fail;
	}
	set_rodata(dp);
	ret = prepare_maps(dp);
	if (ret)
		goto fail;
	ret = wg_ingress_bpf__load(dp->wg_ingress);
	if (!ret)
		ret = wg_egress_bpf__load(dp->wg_egress);
	if (!ret)
		ret = uplink_xdp_bpf__load(dp->uplink_xdp);
	if (!ret)
		ret = uplink_egress_bpf__load(dp->uplink_egress);
	if (!ret)
		ret = bridge_port_bpf__load(dp->bridge_port);
	if (!ret)
		ret = exit_ingress_bpf__load(dp->exit_l3);
	if (!ret)
		ret = exit_ingress_bpf__load(dp->exit_l2);
	if (ret) {
		log_err("cannot load the BPF programs: %s (the kernel log and "
			"the verifier output above say why)",
			strerror(-ret));
		goto fail;
	}
	ret = find_map_fds(dp);
	if (ret)
		goto fail;
	mig_copy_all(dp->mig, map_fd_named, dp);
	canonicalize_ct(dp);
	ret = dp_budget_map(dp);
	if (ret)
		goto fail;
	return 0;
fail:
	dp_close(dp);
	return ret;
}

void dp_close(struct dataplane *dp)
{
	dp_migrate_finish(dp);
	dp_budget_unmap(dp);
	wg_ingress_bpf__destroy(dp->wg_ingress);
	wg_egress_bpf__destroy(dp->wg_egress);
	uplink_xdp_bpf__destroy(dp->uplink_xdp);
	uplink_egress_bpf__destroy(dp->uplink_egress);
	bridge_port_bpf__destroy(dp->bridge_port);
	exit_ingress_bpf__destroy(dp->exit_l3);
	exit_ingress_bpf__destroy(dp->exit_l2);
	dp->exit_l3 = NULL;
	dp->exit_l2 = NULL;
	dp->bridge_port = NULL;
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

int dp_prog_fd_bridge_port(const struct dataplane *dp)
{
	return bpf_program__fd(dp->bridge_port->progs.cg_bridge_port);
}

int dp_prog_fd_exit_ingress(const struct dataplane *dp, bool l2)
{
	const struct exit_ingress_bpf *o = l2 ? dp->exit_l2 : dp->exit_l3;

	return o ? bpf_program__fd(o->progs.cg_exit_ingress) : -1;
}

int dp_unpin(const char *bpffs)
{
	char path[PATH_MAX];
	int i;

	for (i = 0; i < DP_MAP__COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", bpffs, dp_map_name(i));
		if (unlink(path) && errno != ENOENT)
			log_warn("unpin %s: %s", path, strerror(errno));
	}
	if (rmdir(bpffs) && errno != ENOENT && errno != ENOTEMPTY &&
	    errno != EBUSY)
		log_warn("rmdir %s: %s", bpffs, strerror(errno));
	return 0;
}
