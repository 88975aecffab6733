// SPDX-License-Identifier: MIT
#include <errno.h>
#include <net/if.h>
#include <netlink/route/route.h>
#include <string.h>

#include "log.h"
#include "route.h"

static bool wanted(const struct nl_addr *dst, const struct cg_cidr *want,
		   size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (nl_addr_get_prefixlen(dst) == want[i].prefix &&
		    !memcmp(nl_addr_get_binary_addr(dst), &want[i].addr.s_addr,
			    4))
			return true;
	return false;
}

/* Remove our routes via ifindex that are not wanted any more. */
static void prune(struct nl_sock *sk, int ifindex, const struct cg_cidr *want,
		  size_t n)
{
	struct nl_cache *cache = NULL;
	struct nl_object *obj;

	if (rtnl_route_alloc_cache(sk, AF_INET, 0, &cache))
		return;
	for (obj = nl_cache_get_first(cache); obj;
	     obj = nl_cache_get_next(obj)) {
		struct rtnl_route *r = (struct rtnl_route *)obj;
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, 0);

		if (rtnl_route_get_protocol(r) != CG_RTPROT || !nh ||
		    rtnl_route_nh_get_ifindex(nh) != ifindex ||
		    wanted(rtnl_route_get_dst(r), want, n))
			continue;
		if (rtnl_route_delete(sk, r, 0))
			log_warn("route: cannot remove a stale route");
	}
	nl_cache_free(cache);
}

static int add(struct nl_sock *sk, int ifindex, const struct cg_cidr *c)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = nl_addr_build(AF_INET, &c->addr.s_addr, 4);
	int ret = -ENOMEM;

	if (r && nh && dst) {
		nl_addr_set_prefixlen(dst, c->prefix);
		rtnl_route_set_family(r, AF_INET);
		rtnl_route_set_dst(r, dst);
		rtnl_route_set_table(r, RT_TABLE_MAIN);
		rtnl_route_set_protocol(r, CG_RTPROT);
		rtnl_route_set_scope(r, RT_SCOPE_LINK);
		rtnl_route_nh_set_ifindex(nh, ifindex);
		rtnl_route_add_nexthop(r, nh);
		nh = NULL; /* the route owns it now */
		ret = rtnl_route_add(sk, r, NLM_F_CREATE | NLM_F_REPLACE);
		if (ret) {
			log_err("route: %s", nl_geterror(ret));
			ret = -EIO;
		}
	}
	if (nh)
		rtnl_route_nh_free(nh);
	nl_addr_put(dst);
	rtnl_route_put(r);
	return ret;
}

int route_sync(const char *ifname, const struct cg_cidr *want, size_t n)
{
	int ifindex = (int)if_nametoindex(ifname);
	struct nl_sock *sk;
	size_t i;
	int ret = 0;

	if (!ifindex)
		return -ENODEV;
	sk = nl_socket_alloc();
	if (!sk || nl_connect(sk, NETLINK_ROUTE)) {
		nl_socket_free(sk);
		return -EIO;
	}
	prune(sk, ifindex, want, n);
	for (i = 0; i < n && !ret; i++) {
		ret = add(sk, ifindex, &want[i]);
		if (ret)
			log_err("route: cannot route a cell subnet via %s",
				ifname);
	}
	nl_socket_free(sk);
	return ret;
}
