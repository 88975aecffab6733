// SPDX-License-Identifier: MIT
/*
 * The fq qdisc on wg0 (issue 18): download rate limits set skb->tstamp
 * on wg0 egress (bpf/lib/rate.h), and only fq holds packets to it. The
 * controller creates wg0, so it may give it fq as its root qdisc; it
 * never replaces a root qdisc someone else put there (the kernel's own
 * default, handle 0, is nobody's). clsact, where the programs hang, is
 * a separate qdisc and unaffected.
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>

#include <linux/pkt_sched.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/tc.h>

#include "log.h"
#include "wg_iface.h"

/* The handle of the fq qdisc the controller creates: how it tells its
 * own from an fq someone else put there, which it never removes. */
#define CG_FQ_HANDLE TC_HANDLE(0x8cf1, 0)

/* The kind of ifindex's root qdisc, if someone created one ("" for the
 * kernel's default), and its handle. */
static int root_kind(struct nl_sock *sk, int ifindex, char *kind, size_t len,
		     uint32_t *handle)
{
	struct nl_cache *cache;
	struct rtnl_qdisc *q;
	int rc = rtnl_qdisc_alloc_cache(sk, &cache);

	if (rc)
		return -EIO;
	kind[0] = '\0';
	*handle = 0;
	q = rtnl_qdisc_get_by_parent(cache, ifindex, TC_H_ROOT);
	if (q && rtnl_tc_get_handle(TC_CAST(q)) != 0 &&
	    rtnl_tc_get_kind(TC_CAST(q))) {
		snprintf(kind, len, "%s", rtnl_tc_get_kind(TC_CAST(q)));
		*handle = rtnl_tc_get_handle(TC_CAST(q));
	}
	if (q)
		rtnl_qdisc_put(q);
	nl_cache_free(cache);
	return 0;
}

int net_ensure_fq(const char *ifname)
{
	int ifindex = (int)if_nametoindex(ifname), kerr, rc, ret;
	struct rtnl_qdisc *q;
	struct nl_sock *sk;
	uint32_t handle;
	char kind[32];

	if (!ifindex)
		return -ENODEV;
	sk = nlsock_open(NETLINK_ROUTE, &kerr);
	if (!sk)
		return -errno;
	ret = root_kind(sk, ifindex, kind, sizeof(kind), &handle);
	if (!ret && kind[0])
		ret = strcmp(kind, "fq") ? -EEXIST : 0;
	else if (!ret) {
		q = rtnl_qdisc_alloc();
		if (!q) {
			nl_socket_free(sk);
			return -ENOMEM;
		}
		rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
		rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
		rtnl_tc_set_handle(TC_CAST(q), CG_FQ_HANDLE);
		rtnl_tc_set_kind(TC_CAST(q), "fq");
		/* EXCL: should a qdisc appear meanwhile, it stays. */
		rc = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL);
		ret = rc ? nlsock_errno(rc, &kerr) : 1;
		rtnl_qdisc_put(q);
	}
	nl_socket_free(sk);
	return ret;
}

int net_remove_fq(const char *ifname)
{
	int ifindex = (int)if_nametoindex(ifname), kerr, rc, ret;
	struct rtnl_qdisc *q;
	struct nl_sock *sk;
	uint32_t handle;
	char kind[32];

	if (!ifindex)
		return 0; /* wg0 gone: its qdiscs went with it */
	sk = nlsock_open(NETLINK_ROUTE, &kerr);
	if (!sk)
		return -errno;
	ret = root_kind(sk, ifindex, kind, sizeof(kind), &handle);
	/* Ours is an fq with our handle; anything else is someone's. */
	if (ret || strcmp(kind, "fq") || handle != CG_FQ_HANDLE) {
		nl_socket_free(sk);
		return ret;
	}
	q = rtnl_qdisc_alloc();
	if (!q) {
		nl_socket_free(sk);
		return -ENOMEM;
	}
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(q), CG_FQ_HANDLE);
	rtnl_tc_set_kind(TC_CAST(q), "fq");
	rc = rtnl_qdisc_delete(sk, q);
	ret = rc ? nlsock_errno(rc, &kerr) : 1;
	rtnl_qdisc_put(q);
	nl_socket_free(sk);
	return ret;
}
