/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Exits (issue 20) on wg0 ingress: a peer's internet-bound flow leaves
 * by the exit its identity names (cg_identity.exit_id, kept by conntrack
 * in cg_ct_entry.exit_id) instead of the kernel's default route. Both
 * families.
 *
 * The kill switch: an exit that is down (up 0, or no ifindex) drops the
 * flow's packets (exit_down, counted per identity and per exit), new and
 * established alike; a redirect to an interface that went away is a
 * drop in the kernel. Nothing here ever hands the packet to the stack,
 * which would route it out by the uplink.
 *
 * Steering is a redirect to the exit's transmit path, past routing and
 * netfilter: bpf_redirect for an L3 device (tun, WireGuard: no link
 * header), bpf_redirect_neigh for an Ethernet one (l2), which resolves
 * the gateway's (or the destination's) MAC through the neighbour table.
 * Peers without an exit pay one byte compared on their established
 * packets (cg_ct_entry.exit_id) and nothing else.
 */
#ifndef CELLGATE_EXITS_H
#define CELLGATE_EXITS_H

#include "common.h"
#include "config.h"
#include "maps.h"

#define TC_ACT_REDIRECT 7
#define CG_AF_INET 2
#define CG_AF_INET6 10

static __always_inline const struct cg_exit *cg_exit_get(__u32 id)
{
	return bpf_map_lookup_elem(&cg_exits, &id);
}

/* May traffic leave by x now? Only kinds the programs can steer to: a
 * Tor exit (a local proxy's socket) or a linked cell's (a peer of wg0)
 * needs more than a redirect, and holds its traffic back until the
 * programs have it: fail closed, never out by a wrong way. */
static __always_inline bool cg_exit_ready(const struct cg_exit *x)
{
	return x && x->up && x->ifindex &&
	       (x->kind == CG_EXIT_INTERFACE || x->kind == CG_EXIT_WIREGUARD);
}

/* The kill switch held a packet of exit id back: its exit's count (the
 * identity's is the caller's cg_drop). */
static __always_inline void cg_exit_count_drop(__u32 id)
{
	struct cg_exit_counters *c =
		bpf_map_lookup_elem(&cg_exit_counters, &id);

	if (c)
		c->drops++;
}

/* wg0 is an L3 device: before an Ethernet exit's neighbour redirect the
 * packet needs a link header for the kernel to replace (its MACs are
 * filled in by the redirect; zero is no multicast, which it refuses).
 * Under BPF_PROG_TEST_RUN (cg_l2_len 14) the frame has one already. */
static __always_inline int cg_exit_push_eth(struct __sk_buff *skb, bool v6)
{
	__be16 proto = bpf_htons(v6 ? ETH_P_IPV6 : ETH_P_IP);

	if (cg_l2_len)
		return 0;
	if (bpf_skb_change_head(skb, ETH_HLEN, 0))
		return -1;
	return bpf_skb_store_bytes(skb, 12, &proto, sizeof(proto), 0) ? -1 : 0;
}

static __always_inline int
cg_exit_redirect_neigh(struct __sk_buff *skb, const struct cg_exit *x, bool v6)
{
	struct bpf_redir_neigh nh = {};
	__u32 ifindex = x->ifindex;

	if (v6 &&
	    (*(const __u64 *)x->gateway6 || *(const __u64 *)&x->gateway6[8])) {
		nh.nh_family = CG_AF_INET6;
		__builtin_memcpy(nh.ipv6_nh, x->gateway6, 16);
	} else if (!v6 && *(const __u32 *)x->gateway) {
		nh.nh_family = CG_AF_INET;
		nh.ipv4_nh = *(const __u32 *)x->gateway;
	}
	if (cg_exit_push_eth(skb, v6))
		return TC_ACT_SHOT;
	/* No gateway: the destination itself is on the exit's link. */
	if (!nh.nh_family)
		return bpf_redirect_neigh(ifindex, NULL, 0, 0);
	return bpf_redirect_neigh(ifindex, &nh, sizeof(nh), 0);
}

/* Send a packet of len bytes out through exit id, counted there.
 *
 * A global function: checked once by the verifier, its frame off the
 * programs' stack (wg0 ingress's deepest chain is at the verifier's
 * 512 bytes already); it looks the exit up again, as a global function
 * cannot be handed a map value (an ARRAY lookup, inlined). */
__attribute__((noinline)) int cg_exit_send(struct __sk_buff *skb, __u32 id,
					   __u32 len, __u32 v6)
{
	const struct cg_exit *x = cg_exit_get(id);
	struct cg_exit_counters *c;

	if (!skb || !cg_exit_ready(x))
		return TC_ACT_SHOT; /* went down since the caller looked */
	c = bpf_map_lookup_elem(&cg_exit_counters, &id);
	if (c) {
		c->packets++;
		c->bytes += len;
	}
	if (!x->l2)
		return bpf_redirect(x->ifindex, 0);
	return cg_exit_redirect_neigh(skb, x, v6);
}

#endif
