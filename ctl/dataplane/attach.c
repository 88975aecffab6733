// SPDX-License-Identifier: MIT
/*
 * Attaching cellgate's programs: tc through libbpf (clsact, direct
 * action, one handle and priority of our own), XDP through libxdp. Only
 * what cellgate attached is ever replaced or removed.
 */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/pkt_sched.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netlink/route/classifier.h>
#include <netlink/route/link.h>
#include <xdp/libxdp.h>

#include "attach.h"
#include "log.h"

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

uint32_t prog_id_of_fd(int fd)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

int tc_prog_id(const char *ifname, bool ingress, uint32_t *prog_id)
{
	int ifindex = (int)if_nametoindex(ifname);
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, query, .handle = CG_TC_HANDLE,
		    .priority = CG_TC_PRIO);

	*prog_id = 0;
	if (!ifindex)
		return -ENODEV;
	if (tc_query_quiet(&hook, &query) == 0)
		*prog_id = query.prog_id;
	return 0;
}

int tc_attach(const char *ifname, int ingress_fd, int egress_fd,
	      bool *qdisc_created)
{
	int ifindex = (int)if_nametoindex(ifname);
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS);
	int ret = 0;

	*qdisc_created = false;
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
	ret = 0;
	if (ingress_fd >= 0)
		ret = tc_attach_one(ifindex, BPF_TC_INGRESS, ingress_fd,
				    ifname);
	if (!ret && egress_fd >= 0)
		ret = tc_attach_one(ifindex, BPF_TC_EGRESS, egress_fd, ifname);
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

int tc_detach(const char *ifname, bool qdisc_ours)
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

int tc_detach_ingress(int ifindex, bool qdisc_ours)
{
	LIBBPF_OPTS(bpf_tc_hook, ingress, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CG_TC_HANDLE,
		    .priority = CG_TC_PRIO);
	LIBBPF_OPTS(bpf_tc_hook, both, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int ret = bpf_tc_detach(&ingress, &opts);

	if (ret == -ENODEV || ret == -EINVAL)
		return 0; /* the interface is gone, and our filter with it */
	if (ret && ret != -ENOENT)
		log_warn("detach ifindex %d ingress: %s", ifindex,
			 strerror(-ret));
	if (qdisc_ours &&
	    count_filters(ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)) ==
		    0 &&
	    count_filters(ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)) ==
		    0)
		bpf_tc_hook_destroy(&both);
	return 0;
}

int link_ports(const char *ifname, int *ifindex, size_t cap, size_t *n)
{
	int master = (int)if_nametoindex(ifname);
	struct nl_sock *sk;
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	int ret = 0;

	*n = 0;
	if (!master)
		return -ENODEV;
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	if (nl_connect(sk, NETLINK_ROUTE) ||
	    rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache)) {
		nl_socket_free(sk);
		return -EIO;
	}
	for (o = nl_cache_get_first(cache); o && *n < cap;
	     o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;

		if (rtnl_link_get_master(l) == master)
			ifindex[(*n)++] = rtnl_link_get_ifindex(l);
	}
	nl_cache_free(cache);
	nl_socket_free(sk);
	return ret;
}

/* ---- XDP ------------------------------------------------------------------- */

static int libxdp_log(enum libxdp_print_level level, const char *fmt,
		      va_list ap)
{
	if (level != LIBXDP_DEBUG)
		log_vlibrary(level == LIBXDP_WARN ? LOG_LVL_WARN : LOG_LVL_INFO,
			     "libxdp", fmt, ap);
	return 0;
}

static const char *mode_name(enum xdp_attach_mode mode)
{
	switch (mode) {
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_SKB:
		return "generic";
	case XDP_MODE_HW:
		return "offload";
	default:
		return "none";
	}
}

/* libxdp's view of ifname's XDP programs; NULL when there are none. */
static struct xdp_multiprog *xdp_programs(int ifindex)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);

	return libxdp_get_error(mp) ? NULL : mp;
}

/* Our program among them, by name. */
static struct xdp_program *find_ours(struct xdp_multiprog *mp, const char *name)
{
	struct xdp_program *p;

	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		return p && !strcmp(xdp_program__name(p), name) ? p : NULL;
	}
	for (p = xdp_multiprog__next_prog(NULL, mp); p;
	     p = xdp_multiprog__next_prog(p, mp))
		if (!strcmp(xdp_program__name(p), name))
			return p;
	return NULL;
}

int xdp_query(const char *ifname, const char *name, struct xdp_state *st)
{
	int ifindex = (int)if_nametoindex(ifname);
	struct xdp_multiprog *mp;
	struct xdp_program *ours;

	memset(st, 0, sizeof(*st));
	st->mode = "none";
	if (!ifindex)
		return -ENODEV;
	mp = xdp_programs(ifindex);
	if (!mp)
		return 0;
	ours = find_ours(mp, name);
	if (ours) {
		st->attached = true;
		st->mode = mode_name(xdp_multiprog__attach_mode(mp));
		st->multiprog = !xdp_multiprog__is_legacy(mp);
		st->prog_id = xdp_program__id(ours);
	}
	xdp_multiprog__close(mp);
	return 0;
}

/* Swap a program attached alone for prog_fd in one step. */
static int replace_alone(int ifindex, struct xdp_multiprog *mp,
			 struct xdp_program *old, int prog_fd)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts,
		    .old_prog_fd = xdp_program__fd(old));
	__u32 flags = XDP_FLAGS_REPLACE;

	flags |= xdp_multiprog__attach_mode(mp) == XDP_MODE_SKB ?
			 XDP_FLAGS_SKB_MODE :
			 XDP_FLAGS_DRV_MODE;
	return bpf_xdp_attach(ifindex, prog_fd, flags, &opts);
}

/* Make room for the new program: replace ours if it is alone (done: 1),
 * take ours out of the dispatcher, refuse to displace another. */
static int xdp_make_room(const char *ifname, int ifindex, int prog_fd,
			 const char *name)
{
	struct xdp_multiprog *mp = xdp_programs(ifindex);
	struct xdp_program *ours, *main;
	int ret = 0;

	if (!mp)
		return 0;
	ours = find_ours(mp, name);
	main = xdp_multiprog__main_prog(mp);
	if (xdp_multiprog__is_legacy(mp) && main && !ours) {
		log_err("xdp %s: program '%s' of someone else is attached "
			"alone and cannot share the interface; cellgate will "
			"not displace it",
			ifname, xdp_program__name(main));
		ret = -EBUSY;
	} else if (xdp_multiprog__is_legacy(mp) && ours) {
		ret = replace_alone(ifindex, mp, ours, prog_fd);
		if (!ret)
			ret = 1;
		else
			log_err("xdp %s: replacing our program failed: %s",
				ifname, strerror(-ret));
	} else if (ours) {
		ret = xdp_program__detach(ours, ifindex,
					  xdp_multiprog__attach_mode(mp), 0);
	}
	xdp_multiprog__close(mp);
	return ret;
}

int xdp_attach(const char *ifname, int prog_fd, const char *name,
	       struct xdp_state *st)
{
	int ifindex = (int)if_nametoindex(ifname);
	struct xdp_program *prog;
	int ret;

	libxdp_set_print(libxdp_log);
	if (!ifindex) {
		log_err("xdp: no interface %s", ifname);
		return -ENODEV;
	}
	ret = xdp_make_room(ifname, ifindex, prog_fd, name);
	if (ret < 0)
		return ret;
	if (ret == 0) {
		prog = xdp_program__from_fd(prog_fd);
		ret = (int)libxdp_get_error(prog);
		if (!ret) {
			ret = xdp_program__attach(prog, ifindex,
						  XDP_MODE_NATIVE, 0);
			if (ret) {
				log_info("xdp %s: no native XDP (%s), using "
					 "generic mode",
					 ifname, strerror(-ret));
				ret = xdp_program__attach(prog, ifindex,
							  XDP_MODE_SKB, 0);
			}
			xdp_program__close(prog);
		}
		if (ret) {
			log_err("xdp %s: attach failed: %s", ifname,
				strerror(-ret));
			return ret;
		}
	}
	xdp_query(ifname, name, st);
	if (!st->multiprog)
		log_warn("xdp %s: libxdp could not use its dispatcher (see "
			 "its messages above), so cellgate's program is "
			 "attached alone: no other XDP program can share %s",
			 ifname, ifname);
	log_info("xdp %s: program %u attached in %s mode%s", ifname,
		 st->prog_id, st->mode,
		 st->multiprog ? " through libxdp's dispatcher" : "");
	return 0;
}

int xdp_detach(const char *ifname, const char *name)
{
	int ifindex = (int)if_nametoindex(ifname);
	struct xdp_multiprog *mp;
	struct xdp_program *ours;
	int ret = 0;

	if (!ifindex)
		return 0;
	libxdp_set_print(libxdp_log);
	mp = xdp_programs(ifindex);
	if (!mp)
		return 0;
	ours = find_ours(mp, name);
	if (ours) {
		ret = xdp_program__detach(ours, ifindex,
					  xdp_multiprog__attach_mode(mp), 0);
		if (ret)
			log_warn("xdp %s: detach failed: %s", ifname,
				 strerror(-ret));
		else
			log_info("xdp %s: detached %s", ifname, name);
	}
	xdp_multiprog__close(mp);
	return ret;
}
