// SPDX-License-Identifier: MIT
/*
 * Loading the programs: open the four skeletons with their maps pinned
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

#include "dataplane.h"
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

void dp_close(struct dataplane *dp)
{
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
