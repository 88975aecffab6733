// SPDX-License-Identifier: MIT
/*
 * Exits in the maps and on their interfaces (dp_exits.h, issue 20).
 *
 * The exit's ingress program goes only where an exit masquerades: there
 * replies come back addressed to the exit's address and must be turned
 * toward their peer. The slot is written before anything is attached,
 * so the kill switch never waits for the attach.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <net/if.h>
#include <string.h>

#include <bpf/bpf.h>

#include "attach.h"
#include "dataplane.h"
#include "dp_exits.h"
#include "log.h"
#include "mapread.h"

static bool valid_id(uint32_t id)
{
	return id >= 1 && id < CG_MAX_EXITS;
}

/* The interface e needs our ingress program on, or 0. */
static int wanted_ifindex(const struct cg_exit *e)
{
	return e->kind != CG_EXIT_NONE && e->masquerade ? (int)e->ifindex : 0;
}

/* Does an exit other than id still have the program on ifindex? */
static bool ifindex_in_use(const struct dataplane *dp, uint32_t id, int ifindex)
{
	uint32_t i;

	for (i = 1; i < CG_MAX_EXITS; i++)
		if (i != id && dp->exit_attached[i] == ifindex)
			return true;
	return false;
}

static void exit_detach(struct dataplane *dp, uint32_t id)
{
	int ifindex = dp->exit_attached[id];

	if (!ifindex)
		return;
	dp->exit_attached[id] = 0;
	if (ifindex_in_use(dp, id, ifindex))
		return;
	tc_detach_ingress(ifindex, dp->exit_qdisc_ours[id]);
	dp->exit_qdisc_ours[id] = false;
	log_info("exit %u: ingress program detached from ifindex %d", id,
		 ifindex);
}

static int exit_attach(struct dataplane *dp, uint32_t id,
		       const struct cg_exit *e)
{
	char name[IF_NAMESIZE];
	bool created = false;
	int ret;

	if (!if_indextoname(e->ifindex, name)) {
		log_warn("exit %u: no interface %u to attach to", id,
			 e->ifindex);
		return -ENODEV;
	}
	ret = tc_attach(name, dp_prog_fd_exit_ingress(dp, e->l2), -1, &created);
	if (ret)
		return ret;
	dp->exit_attached[id] = (int)e->ifindex;
	dp->exit_qdisc_ours[id] = dp->exit_qdisc_ours[id] || created;
	return 0;
}

int dp_exit_put(struct dataplane *dp, uint32_t id, const struct cg_exit *e)
{
	int want;

	if (!valid_id(id) || !e)
		return -EINVAL;
	if (bpf_map_update_elem(dp->map_fd[DP_MAP_EXITS], &id, e, BPF_ANY))
		return -errno;
	dp->writes++;
	want = wanted_ifindex(e);
	if (dp->exit_attached[id] == want)
		return 0;
	exit_detach(dp, id);
	return want ? exit_attach(dp, id, e) : 0;
}

int dp_exit_delete(struct dataplane *dp, uint32_t id)
{
	struct cg_exit none = { 0 };

	if (!valid_id(id))
		return -EINVAL;
	if (bpf_map_update_elem(dp->map_fd[DP_MAP_EXITS], &id, &none, BPF_ANY))
		return -errno;
	dp->writes++;
	exit_detach(dp, id);
	return 0;
}

int dp_exit_counters(struct dataplane *dp, uint32_t id,
		     struct cg_exit_counters *sum)
{
	memset(sum, 0, sizeof(*sum));
	if (id >= CG_MAX_EXITS)
		return -EINVAL;
	return map_percpu_sum(dp->map_fd[DP_MAP_EXIT_COUNTERS], dp->ncpus, id,
			      sum, sizeof(*sum));
}

/* Does ifindex's tc ingress carry our exit program for e? */
static bool attached_ours(struct dataplane *dp, const struct cg_exit *e)
{
	char name[IF_NAMESIZE];
	uint32_t found = 0;

	if (!if_indextoname(e->ifindex, name) || tc_prog_id(name, true, &found))
		return false;
	return found &&
	       found == prog_id_of_fd(dp_prog_fd_exit_ingress(dp, e->l2));
}

int dp_exits_reattach(struct dataplane *dp)
{
	char name[IF_NAMESIZE];
	struct cg_exit e;
	uint32_t id;
	int n = 0, first = 0, ret;

	for (id = 1; id < CG_MAX_EXITS; id++) {
		if (bpf_map_lookup_elem(dp->map_fd[DP_MAP_EXITS], &id, &e))
			return -errno;
		if (!wanted_ifindex(&e) || !if_indextoname(e.ifindex, name) ||
		    (dp->exit_attached[id] == (int)e.ifindex &&
		     attached_ours(dp, &e)))
			continue; /* a gone interface: the exit is down */
		/* Replaced in place: the pinned slot outlived the program
		 * (a restart), or someone removed our filter. */
		ret = exit_attach(dp, id, &e);
		if (ret && !first)
			first = ret;
		n += !ret;
	}
	return first ? first : n;
}

int dp_exits_detach_pinned(const char *bpffs)
{
	char path[PATH_MAX];
	struct cg_exit e;
	uint32_t id;
	int fd, n = 0;

	snprintf(path, sizeof(path), "%s/cg_exits", bpffs);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	for (id = 1; id < CG_MAX_EXITS; id++)
		if (!bpf_map_lookup_elem(fd, &id, &e) && wanted_ifindex(&e) &&
		    !tc_detach_ingress((int)e.ifindex, false))
			n++;
	close(fd);
	return n;
}
