// SPDX-License-Identifier: MIT
/*
 * The bridge's anti-spoofing maps (bpf/bridge_port.bpf.c), both
 * families: the allowed sources and prefixes written from the policy,
 * and the bindings of addresses to ports, which the program makes and
 * the controller forgets (an address no longer allowed, a port gone).
 */
#include <errno.h>
#include <string.h>

#include "dataplane.h"
#include "dp_internal.h"
#include "policy.h"

/* A binding stays while its address is an allowed source. */
static bool bound_still_allowed(const void *key, const void *value,
				const void *ctx)
{
	const struct policy *pol = ctx;
	size_t i;

	(void)value;
	for (i = 0; i < pol->n_bridge_src; i++)
		if (!memcmp(pol->bridge_src[i].key.addr, key, 4))
			return true;
	return false;
}

static bool bound6_still_allowed(const void *key, const void *value,
				 const void *ctx)
{
	const struct policy *pol = ctx;
	size_t i;

	(void)value;
	for (i = 0; i < pol->n_bridge_src6; i++)
		if (!memcmp(pol->bridge_src6[i].key.addr, key, 16))
			return true;
	return false;
}

/* The bridge's sources and prefixes of both families, in map order: the
 * exact ones, the prefixes, the bindings (swept by the picker). */
struct bridge_maps {
	struct entry_set src, nets;
	struct map_sweep bind;
};

static void bridge_maps_of(struct dataplane *dp, const struct policy *pol,
			   struct bridge_maps m[2])
{
	m[0] = (struct bridge_maps){
		ENTRY_SET(pol->bridge_src, pol->n_bridge_src,
			  struct policy_bridge_src),
		ENTRY_SET(pol->bridge_nets, pol->n_bridge_nets,
			  struct policy_bridge_net),
		{ .fd = dp->map_fd[DP_MAP_BRIDGE_BIND],
		  .key_size = sizeof(struct cg_addr_key),
		  .pick = bound_still_allowed,
		  .ctx = pol,
		  .pick_keeps = true },
	};
	m[1] = (struct bridge_maps){
		ENTRY_SET(pol->bridge_src6, pol->n_bridge_src6,
			  struct policy_bridge_src6),
		ENTRY_SET(pol->bridge_nets6, pol->n_bridge_nets6,
			  struct policy_bridge_net6),
		{ .fd = dp->map_fd[DP_MAP_BRIDGE_BIND6],
		  .key_size = sizeof(struct cg_addr6_key),
		  .pick = bound6_still_allowed,
		  .ctx = pol,
		  .pick_keeps = true },
	};
}

static const enum dp_map bridge_src_map[2] = { DP_MAP_BRIDGE_SRC,
					       DP_MAP_BRIDGE_SRC6 };
static const enum dp_map bridge_nets_map[2] = { DP_MAP_BRIDGE_NETS,
						DP_MAP_BRIDGE_NETS6 };

/* Bindings of addresses no longer allowed are forgotten (a later
 * service there binds afresh). */
int dp_sync_bridge(struct dataplane *dp, const struct policy *pol)
{
	struct bridge_maps m[2];
	int f, ret = 0;

	bridge_maps_of(dp, pol, m);
	for (f = 0; f < 2 && !ret; f++) {
		ret = dp_write_set(dp->map_fd[bridge_src_map[f]], &m[f].src);
		if (!ret)
			ret = dp_write_set(dp->map_fd[bridge_nets_map[f]],
					   &m[f].nets);
		if (!ret)
			ret = map_sweep(&m[f].bind) < 0 ? -EIO : 0;
	}
	return ret;
}

bool dp_bridge_in_sync(struct dataplane *dp, const struct policy *pol)
{
	struct bridge_maps m[2];
	int f;

	bridge_maps_of(dp, pol, m);
	for (f = 0; f < 2; f++)
		if (!dp_map_is(dp->map_fd[bridge_src_map[f]], &m[f].src) ||
		    !dp_map_is(dp->map_fd[bridge_nets_map[f]], &m[f].nets))
			return false;
	return true;
}

/* A port's bindings go with it: the container's next veth (a new
 * ifindex) claims its addresses again. */
static bool bound_to_a_port(const void *key, const void *value, const void *ctx)
{
	const struct dp_ports *ports = ctx;
	uint32_t ifindex = *(const uint32_t *)value;
	size_t i;

	(void)key;
	for (i = 0; i < ports->n; i++)
		if ((uint32_t)ports->ifindex[i] == ifindex)
			return true;
	return false;
}

int dp_bridge_unbind_gone(struct dataplane *dp, const struct dp_ports *ports)
{
	struct map_sweep sw = { .fd = dp->map_fd[DP_MAP_BRIDGE_BIND],
				.key_size = sizeof(struct cg_addr_key),
				.pick = bound_to_a_port,
				.ctx = ports,
				.pick_keeps = true };
	int n = map_sweep(&sw), n6;

	sw.fd = dp->map_fd[DP_MAP_BRIDGE_BIND6];
	sw.key_size = sizeof(struct cg_addr6_key);
	n6 = map_sweep(&sw);
	return n < 0 ? n : n6 < 0 ? n6 : n + n6;
}
