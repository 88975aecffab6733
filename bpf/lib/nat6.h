/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NAT66 (issue 17): lib/nat.h's model (two entries per flow, one keyed
 * by each direction as it arrives, a reply tuple claimed atomically with
 * a NOEXIST insert, the same port allocation) in cg_nat6, keyed by
 * struct cg_ct6_key, and the rewriting of IPv6 packets at tc and in XDP.
 *
 * IPv6 has no header checksum; the L4 checksums (ICMPv6's too) cover a
 * pseudo header with both 16-byte addresses. The working state (the
 * packet, the request, keys and entries: 400 bytes) lives in a per-CPU
 * map, struct cg_nat6_work, as the wg0 walks keep theirs in struct
 * cg_scratch6: the uplink programs' IPv4 frames stay as they were.
 */
#ifndef CELLGATE_NAT6_H
#define CELLGATE_NAT6_H

#include "common.h"
#include "config.h"
#include "csum.h"
#include "maps.h"
#include "nat.h"
#include "parse6.h"
#include "policy6.h"

struct cg_nat6_work {
	struct cg_pkt6 pkt;
	struct cg_frag6_key fk; /* cg_parse6: a fragment's datagram */
	struct cg_ct6_key orig; /* a new translation: the packet's tuple */
	struct cg_ct6_key to; /* ...what it becomes (to.sport may move) */
	struct cg_ct6_key key; /* a key being claimed or looked up */
	struct cg_nat6_entry fwd; /* the entry at orig */
	struct cg_nat6_entry rev; /* the entry at the reply of to */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct cg_nat6_work);
	__uint(max_entries, 1);
} cg_nat6_work SEC(".maps");

static __always_inline struct cg_nat6_work *cg_nat6_work_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cg_nat6_work, &zero);
}

static __always_inline void cg_nat6_reverse(struct cg_ct6_key *rev,
					    const struct cg_ct6_key *t)
{
	__builtin_memcpy(rev->saddr, t->daddr, 16);
	__builtin_memcpy(rev->daddr, t->saddr, 16);
	rev->sport = t->dport;
	rev->dport = t->sport;
	rev->proto = t->proto;
	rev->pad[0] = rev->pad[1] = rev->pad[2] = 0;
}

/* As cg_nat_lifetime; ICMPv6 flows live as ICMP ones. */
static __always_inline __u64 cg_nat6_lifetime(const struct cg_pkt6 *pkt,
					      bool closing)
{
	return cg_nat_lifetime_of(pkt->tuple.proto, pkt->tcp_flags, closing);
}

static __always_inline struct cg_nat6_entry *
cg_nat6_lookup(const struct cg_ct6_key *t, __u64 now)
{
	struct cg_nat6_entry *e = bpf_map_lookup_elem(&cg_nat6, t);

	if (e && e->expires_ns <= now)
		return NULL;
	return e;
}

/* As cg_nat_touch (and cg_nat_closing): key is a buffer for the twin's. */
static __always_inline void cg_nat6_touch(struct cg_nat6_entry *e,
					  const struct cg_pkt6 *pkt,
					  struct cg_ct6_key *key, __u64 now)
{
	struct cg_nat6_entry *twin;
	__u64 expires;

	if (pkt->tuple.proto == IPPROTO_TCP && !e->closing &&
	    (pkt->tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST))) {
		e->closing = 1;
		cg_nat6_reverse(key, &e->to);
		twin = bpf_map_lookup_elem(&cg_nat6, key);
		if (twin && twin->kind == e->kind) {
			twin->closing = 1;
			if (twin->expires_ns > now + cg_ct_tcp_fin_ns)
				twin->expires_ns = now + cg_ct_tcp_fin_ns;
		}
	}
	expires = now + cg_nat6_lifetime(pkt, e->closing);
	if (expires > e->expires_ns + CG_CT_REFRESH_NS ||
	    expires < e->expires_ns)
		e->expires_ns = expires;
}

/* As cg_nat_insert: -1 (a live entry holds key), or how many entries
 * went to make room (0 or 1). */
static __always_inline int cg_nat6_insert(const struct cg_ct6_key *key,
					  const struct cg_nat6_entry *entry,
					  __u64 now)
{
	struct cg_nat6_entry *old;

	if (!bpf_map_update_elem(&cg_nat6, key, entry, BPF_NOEXIST))
		return 0;
	old = bpf_map_lookup_elem(&cg_nat6, key);
	if (!old || old->expires_ns > now)
		return -1;
	if (bpf_map_delete_elem(&cg_nat6, key) ||
	    bpf_map_update_elem(&cg_nat6, key, entry, BPF_NOEXIST))
		return -1;
	return 1;
}

/* Claim the reply tuple of w->to with a free source port (the wanted one,
 * a random one, then the ones after it: cg_nat_candidate), or only the
 * one it has when !alloc, by inserting w->rev there. 0 and w->to.sport
 * set, or -1. A global function: its tries are verified once. */
__attribute__((noinline)) int cg_nat6_claim(__u32 alloc, __u16 avoid, __u64 now)
{
	const struct cg_settings *set = cg_settings_get();
	struct cg_nat6_work *w = cg_nat6_work_get();
	struct cg_nat_stats *st;
	__u32 i, collisions = 0;
	__u16 port;
	int r = -1;

	if (!w || !set)
		return -1;
	cg_nat6_reverse(&w->key, &w->to);
	port = w->to.sport;
	/* Unrolled, as cg_nat_claim_port's, for 6.1's verifier: a constant
	 * trip count, or clang keeps a loop. */
#pragma unroll
	for (i = 0; i < CG_NAT_TRIES; i++) {
		if (i && !alloc)
			break; /* its one tuple is taken */
		port = cg_nat_candidate(i, w->to.sport, port, set);
		if (alloc && port == avoid) {
			collisions++;
			continue;
		}
		w->key.dport = port; /* the reply arrives to it */
		r = cg_nat6_insert(&w->key, &w->rev, now);
		if (r >= 0)
			break;
		collisions++;
	}
	st = collisions ? cg_nat_stats_get() : NULL;
	if (st)
		st->port_collisions += collisions;
	if (r < 0)
		return -1;
	w->to.sport = port;
	return r;
}

/* Install both entries of the translation w->orig -> w->to (kind, owner
 * as given); w->to gets its final port. CG_DROP_NONE, or why not. */
static __always_inline enum cg_drop_reason
cg_nat6_create(struct cg_nat6_work *w, enum cg_nat_kind kind, bool alloc,
	       __u16 avoid, __u64 now)
{
	struct cg_nat_stats *st;
	int r;

	__builtin_memset(&w->rev, 0, sizeof(w->rev));
	w->rev.kind = kind;
	w->rev.dir = CG_NAT_REPLY;
	cg_nat6_reverse(&w->rev.to, &w->orig);
	w->rev.expires_ns = now + cg_ct_tcp_syn_ns;
	r = cg_nat6_claim(alloc, avoid, now);
	st = cg_nat_stats_get();
	if (r < 0) {
		if (!alloc)
			return CG_DROP_NAT_CONFLICT;
		if (st)
			st->exhausted++;
		return CG_DROP_NAT_EXHAUSTED;
	}
	w->fwd = w->rev;
	w->fwd.dir = CG_NAT_ORIG;
	w->fwd.to = w->to;
	if (bpf_map_update_elem(&cg_nat6, &w->orig, &w->fwd, BPF_ANY)) {
		/* Never half a translation: give the claim back. */
		cg_nat6_reverse(&w->key, &w->to);
		bpf_map_delete_elem(&cg_nat6, &w->key);
		if (st)
			st->exhausted++;
		return CG_DROP_NAT_EXHAUSTED;
	}
	if (st)
		st->created++;
	return CG_DROP_NONE;
}

/* ---- checksums -------------------------------------------------------------- */

/* What replacing address from by to adds to a sum over it (diff, as
 * cg_csum_diff accumulates it). */
static __always_inline __u32 cg_addr6_diff(__u32 diff, const __u8 *from,
					   const __u8 *to)
{
	const __u32 *f = (const __u32 *)from, *t = (const __u32 *)to;

	diff = cg_csum_diff(diff, f[0], t[0]);
	diff = cg_csum_diff(diff, f[1], t[1]);
	diff = cg_csum_diff(diff, f[2], t[2]);
	return cg_csum_diff(diff, f[3], t[3]);
}

/* Apply diff to a complete checksum (RFC 1624). */
static __always_inline void cg_csum_apply(__sum16 *sum, __u32 diff)
{
	*sum = ~cg_csum_fold(cg_csum_add((__u16) ~*sum, diff));
}

/* The L4 checksum's offset in the upper-layer header, or 0. */
static __always_inline __u32 cg_l4_csum_off6(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 16;
	case IPPROTO_UDP:
		return 6;
	case CG_NH_ICMP6:
		return 2;
	default:
		return 0;
	}
}

/* The diffs of rewriting pkt's tuple to to (cg_rewrite_plan's, IPv6).
 * ICMPv6 echo: the identifier is sport of a request, dport of a reply. */
static __always_inline void cg_rewrite6_plan(const struct cg_pkt6 *pkt,
					     const struct cg_ct6_key *to,
					     struct cg_rewrite *rw)
{
	const struct cg_ct6_key *from = &pkt->tuple;
	bool req = pkt->icmp_type == ICMP6_ECHO_REQUEST;
	__u16 old_id, new_id;

	rw->addr_diff = cg_addr6_diff(0, from->saddr, to->saddr);
	rw->addr_diff = cg_addr6_diff(rw->addr_diff, from->daddr, to->daddr);
	rw->addrs = !cg_addr6_eq(from->saddr, to->saddr) ||
		    !cg_addr6_eq(from->daddr, to->daddr);
	rw->port_diff = 0;
	rw->ports = false;
	if (pkt->later_fragment)
		return;
	switch (from->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		rw->sport = bpf_htons(to->sport);
		rw->dport = bpf_htons(to->dport);
		rw->port_diff =
			cg_csum_diff(0, bpf_htons(from->sport), rw->sport);
		rw->port_diff = cg_csum_diff(rw->port_diff,
					     bpf_htons(from->dport), rw->dport);
		rw->ports =
			from->sport != to->sport || from->dport != to->dport;
		break;
	case CG_NH_ICMP6:
		old_id = req ? from->sport : from->dport;
		new_id = req ? to->sport : to->dport;
		rw->icmp_id = bpf_htons(new_id);
		rw->port_diff = cg_csum_diff(0, bpf_htons(old_id), rw->icmp_id);
		rw->ports = old_id != new_id;
		break;
	}
}

/* Write the new addresses and ports in place (the checksums are the
 * caller's). */
static __always_inline int cg_rewrite6_fields(void *data, void *data_end,
					      const struct cg_pkt6 *pkt,
					      const struct cg_ct6_key *to,
					      const struct cg_rewrite *rw)
{
	struct ipv6hdr *ip6 = data + (pkt->l3_off & 0x3ff);
	__u8 *l4 = data + (pkt->l4_off & 0x3ff);

	if ((void *)(ip6 + 1) > data_end)
		return -1;
	if (rw->addrs) {
		__builtin_memcpy(&ip6->saddr, to->saddr, 16);
		__builtin_memcpy(&ip6->daddr, to->daddr, 16);
	}
	if (!rw->ports)
		return 0;
	if ((void *)(l4 + 8) > data_end)
		return -1;
	if (pkt->tuple.proto == CG_NH_ICMP6) {
		*(__be16 *)(l4 + 4) = rw->icmp_id;
		return 0;
	}
	((__be16 *)l4)[0] = rw->sport;
	((__be16 *)l4)[1] = rw->dport;
	return 0;
}

/* Rewrite the IPv6 packet pkt to tuple to, at tc: the L4 checksum
 * through the kernel's helper (it knows the skb's checksum state; the
 * pseudo header's change for ICMPv6 too), the fields in place. A global
 * function, verified once. */
__attribute__((noinline)) int cg_skb_rewrite6(struct __sk_buff *skb,
					      const struct cg_pkt6 *pkt,
					      const struct cg_ct6_key *to)
{
	struct cg_rewrite rw;
	__u64 flags = 0;
	__u32 off;

	if (!skb || !pkt || !to)
		return -1;
	cg_rewrite6_plan(pkt, to, &rw);
	if (!rw.addrs && !rw.ports)
		return 0;
	off = cg_l4_csum_off6(pkt->tuple.proto);
	if (off && !pkt->later_fragment) {
		off += pkt->l4_off;
		if (pkt->tuple.proto == IPPROTO_UDP)
			flags |= BPF_F_MARK_MANGLED_0;
		if (rw.addrs && bpf_l4_csum_replace(skb, off, 0, rw.addr_diff,
						    flags | BPF_F_PSEUDO_HDR))
			return -1;
		if (rw.ports &&
		    bpf_l4_csum_replace(skb, off, 0, rw.port_diff, flags))
			return -1;
	}
	return cg_rewrite6_fields((void *)(long)skb->data,
				  (void *)(long)skb->data_end, pkt, to, &rw);
}

/* ---- in XDP ------------------------------------------------------------------ */

/* The pseudo-header sum of the packet at ip6 whose upper layer starts at
 * l4 (a partial checksum holds it, folded: see cg_pseudo_sum). */
static __always_inline __u16 cg_pseudo_sum6(const struct ipv6hdr *ip6,
					    const void *l4, __u8 proto)
{
	const __u32 *a = (const __u32 *)&ip6->saddr;
	__u32 s = 0, len;
	int i;

	for (i = 0; i < 8; i++)
		s = cg_csum_add(s, a[i]);
	len = bpf_ntohs(ip6->payload_len) - (__u32)(l4 - (void *)(ip6 + 1));
	s = cg_csum_add(s, bpf_htonl(len));
	s = cg_csum_add(s, bpf_htonl(proto));
	return cg_csum_fold(s);
}

/* Rewrite the frame in place to tuple to (cg_xdp_rewrite's IPv6). */
__attribute__((noinline)) int cg_xdp_rewrite6(struct xdp_md *ctx,
					      const struct cg_ct6_key *to)
{
	struct cg_nat6_work *w = cg_nat6_work_get();
	enum cg_l4sum_kind kind = CG_L4SUM_FULL;
	void *data, *data_end;
	struct ipv6hdr *ip6;
	__sum16 *sum = NULL;
	struct cg_rewrite rw;
	__u32 off;
	__u8 *l4;

	if (!ctx || !to || !w)
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	cg_rewrite6_plan(&w->pkt, to, &rw);
	if (!rw.addrs && !rw.ports)
		return 0;
	ip6 = data + (w->pkt.l3_off & 0x3ff);
	l4 = data + (w->pkt.l4_off & 0x3ff);
	off = cg_l4_csum_off6(w->pkt.tuple.proto);
	if ((void *)(ip6 + 1) > data_end)
		return -1;
	if (off && !w->pkt.later_fragment) {
		sum = (__sum16 *)(l4 + (off & 0x1f));
		if ((void *)(sum + 1) > data_end)
			return -1;
		if (w->pkt.tuple.proto != CG_NH_ICMP6 &&
		    *sum == cg_pseudo_sum6(ip6, l4, w->pkt.tuple.proto))
			kind = CG_L4SUM_PARTIAL;
		else if (w->pkt.tuple.proto == IPPROTO_UDP && !*sum)
			sum = NULL; /* none (not valid over IPv6: kept) */
	}
	if (sum && kind == CG_L4SUM_PARTIAL) {
		/* A plain sum of the pseudo header: the addresses only. */
		*sum = cg_csum_fold(cg_csum_add(*sum, rw.addr_diff));
	} else if (sum) {
		cg_csum_apply(sum, cg_csum_add(rw.addr_diff, rw.port_diff));
		if (w->pkt.tuple.proto == IPPROTO_UDP && !*sum)
			*sum = 0xffff;
	}
	return cg_rewrite6_fields(data, data_end, &w->pkt, to, &rw);
}

#endif
