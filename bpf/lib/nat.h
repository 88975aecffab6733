/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NAT: translation entries (see abi.h), port allocation, and rewriting
 * packets at tc (the L4 checksum with the kernel's helper, the rest in
 * place) and in XDP (by hand, csum.h).
 */
#ifndef CELLGATE_NAT_H
#define CELLGATE_NAT_H

#include "common.h"
#include "config.h"
#include "csum.h"
#include "conntrack.h"
#include "counters.h"
#include "maps.h"
#include "parse.h"
#include "policy.h"

/* Allocation: the original port first, then a random one, then the ports
 * after it. Bounded so a crowded table costs at most this many tries. */
#define CG_NAT_TRIES 32

static __always_inline struct cg_nat_stats *cg_nat_stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cg_nat_stats, &zero);
}

/* How long a translation lives after a packet: as conntrack does, with
 * TCP shortened once it closes (closing: a FIN or RST passed before). */
/* How long a translation lives past a packet of protocol proto (IPv4's
 * or IPv6's: ICMPv6, 58, as ICMP) with tcp_flags; closing: a FIN or RST
 * passed before. */
static __always_inline __u64 cg_nat_lifetime_of(__u8 proto, __u8 tcp_flags,
						bool closing)
{
	switch (proto) {
	case IPPROTO_TCP:
		if (tcp_flags & TCP_FLAG_RST)
			return cg_ct_tcp_close_ns;
		if (closing || (tcp_flags & TCP_FLAG_FIN))
			return cg_ct_tcp_fin_ns;
		/* A bare SYN (retransmitted, unanswered) is no connection
		 * yet: it must not keep a translation for hours. */
		if ((tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN)
			return cg_ct_tcp_syn_ns;
		return cg_ct_tcp_est_ns;
	case IPPROTO_ICMP:
	case 58: /* ICMPv6 */
		return cg_ct_icmp_ns;
	default:
		return cg_ct_udp_est_ns;
	}
}

static __always_inline __u64 cg_nat_lifetime(const struct cg_pkt *pkt,
					     bool closing)
{
	return cg_nat_lifetime_of(pkt->tuple.proto, pkt->tcp_flags, closing);
}

/* The live translation of a packet with tuple t, or NULL. */
static __always_inline struct cg_nat_entry *
cg_nat_lookup(const struct cg_ct_key *t, __u64 now)
{
	struct cg_nat_entry *e = bpf_map_lookup_elem(&cg_nat, t);

	if (e && e->expires_ns <= now)
		return NULL;
	return e;
}

/* A TCP FIN or RST passed e's half of a pair: mark both halves closing,
 * and cut the other's life to the FIN timeout. Each half is refreshed
 * only by its own direction, so without this the last ACK after the FINs
 * would keep the pair, and its port, for cg_ct_tcp_est_ns. */
static __always_inline void cg_nat_closing(struct cg_nat_entry *e, __u64 now)
{
	struct cg_nat_entry *twin;
	struct cg_ct_key key;

	e->closing = 1;
	cg_ct_reverse(&key, &e->to); /* how the other direction arrives */
	twin = bpf_map_lookup_elem(&cg_nat, &key);
	if (!twin || twin->kind != e->kind)
		return;
	twin->closing = 1;
	if (twin->expires_ns > now + cg_ct_tcp_fin_ns)
		twin->expires_ns = now + cg_ct_tcp_fin_ns;
}

static __always_inline void cg_nat_touch(struct cg_nat_entry *e,
					 const struct cg_pkt *pkt, __u64 now)
{
	__u64 expires;

	if (pkt->tuple.proto == IPPROTO_TCP && !e->closing &&
	    (pkt->tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST)))
		cg_nat_closing(e, now);
	expires = now + cg_nat_lifetime(pkt, e->closing);
	if (expires > e->expires_ns + CG_CT_REFRESH_NS ||
	    expires < e->expires_ns)
		e->expires_ns = expires;
}

/* The next candidate port of try i: the wanted one, a random one, then
 * the ones after it within [min, max]. */
static __always_inline __u16 cg_nat_candidate(__u32 i, __u16 wanted, __u16 prev,
					      const struct cg_settings *set)
{
	__u32 span = (__u32)set->nat_port_max - set->nat_port_min + 1;

	if (i == 0)
		return wanted;
	if (i == 1)
		return set->nat_port_min + bpf_get_prandom_u32() % span;
	return prev >= set->nat_port_max ? set->nat_port_min : prev + 1;
}

struct cg_nat_request {
	struct cg_ct_key orig; /* the packet as it arrives */
	struct cg_ct_key to; /* what it becomes; to.sport may be moved */
	enum cg_nat_kind kind;
	__u32 owner;
	__u8 snat_at_wg;
	bool alloc_sport; /* find a free to.sport, starting from to.sport */
	__u16 avoid_port; /* a to.sport never to allocate (0: none) */
};

/* Insert entry at key unless a live one is there: an expired entry the
 * controller has not collected yet does not hold its tuple. Returns -1
 * (taken), or how many entries went to make room (0 or 1), for
 * cg_nat_count_insert: counting here, inside the allocation loop, would
 * multiply what the verifier walks. */
static __always_inline int cg_nat_insert(const struct cg_ct_key *key,
					 const struct cg_nat_entry *entry,
					 __u64 now)
{
	struct cg_nat_entry *old;

	if (!bpf_map_update_elem(&cg_nat, key, entry, BPF_NOEXIST))
		return 0;
	old = bpf_map_lookup_elem(&cg_nat, key);
	if (!old || old->expires_ns > now)
		return -1;
	if (bpf_map_delete_elem(&cg_nat, key) ||
	    bpf_map_update_elem(&cg_nat, key, entry, BPF_NOEXIST))
		return -1;
	return 1;
}

/* Account a successful cg_nat_insert. */
static __always_inline void cg_nat_count_insert(int replaced)
{
	cg_count_table(CG_TABLE_NAT, 1, replaced > 0 ? 1 : 0);
}

/* Try to claim req->to with source port port: cg_nat_insert of the reply
 * entry rev at the reversed tuple. */
static __always_inline int cg_nat_try(const struct cg_nat_request *req,
				      __u16 port,
				      const struct cg_nat_entry *rev, __u64 now)
{
	struct cg_ct_key key;

	/* The reply tuple of req->to with its source port moved to port,
	 * built in place (no copy of req->to). */
	cg_ct_reverse(&key, &req->to);
	key.dport = port;
	return cg_nat_insert(&key, rev, now);
}

/* Account a claim that ended with r (cg_nat_insert's) on port after
 * collisions taken ports; 0 and req->to.sport = port, or -1. */
static __always_inline int cg_nat_claimed(struct cg_nat_request *req,
					  __u16 port, int r, __u32 collisions)
{
	struct cg_nat_stats *st = collisions ? cg_nat_stats_get() : NULL;

	if (st)
		st->port_collisions += collisions;
	if (r < 0)
		return -1;
	req->to.sport = port;
	cg_nat_count_insert(r);
	return 0;
}

/* Claim req->to with a free source port: the wanted one, a random one,
 * then the ports after it.
 *
 * A global function: the verifier checks its 32 tries once per object,
 * not again at every call site and on every path leading there
 * (wg_egress has two). Its pointers may be NULL for the verifier, hence
 * the test. */
__attribute__((noinline)) int cg_nat_claim_port(struct cg_nat_request *req,
						const struct cg_settings *set,
						const struct cg_nat_entry *rev,
						__u64 now)
{
	struct cg_nat_entry entry;
	__u32 i, collisions = 0;
	int r = -1;
	__u16 port;

	if (!req || !set || !rev)
		return -1;
	/* 6.1's verifier takes no argument memory as a map value to
	 * store: a copy on the stack. */
	entry = *rev;
	port = req->to.sport;
	/* Unrolled, not a loop: clang lays this loop out with its back-edge
	 * as a fall-through into the header, which older verifiers refuse
	 * ("back-edge from insn X to Y": only a jump may close a bounded
	 * loop there; Debian 12's 6.1 is one, 6.7 relaxed it). Unrolled, the
	 * verifier also walks fewer states (i is a constant in each copy).
	 * Nothing is counted inside: a map value pointer shared by the
	 * copies gets its field address computed once, before its NULL
	 * check, which 6.1's verifier refuses too. */
#pragma unroll
	for (i = 0; i < CG_NAT_TRIES; i++) {
		port = cg_nat_candidate(i, req->to.sport, port, set);
		if (port == req->avoid_port) {
			collisions++;
			continue;
		}
		r = cg_nat_try(req, port, &entry, now);
		if (r >= 0)
			break;
		collisions++;
	}
	return cg_nat_claimed(req, port, r, collisions);
}

/* Claim the reply tuple of req->to, moving to.sport if asked, by
 * inserting the reply entry (NOEXIST makes the claim atomic). 0, or -1
 * when no tuple could be had. */
static __always_inline int cg_nat_claim(struct cg_nat_request *req,
					const struct cg_settings *set,
					struct cg_nat_entry *rev, __u64 now)
{
	int r;

	cg_ct_reverse(&rev->to, &req->orig);
	rev->expires_ns = now + cg_ct_tcp_syn_ns;
	if (req->alloc_sport)
		return cg_nat_claim_port(req, set, rev, now);
	r = cg_nat_try(req, req->to.sport, rev, now);
	return cg_nat_claimed(req, req->to.sport, r, r < 0 ? 1 : 0);
}

/* Install both entries of a new translation; req->to gets the final
 * tuple. CG_DROP_NONE, or why the flow cannot be translated. */
static __always_inline enum cg_drop_reason
cg_nat_create(struct cg_nat_request *req, const struct cg_settings *set,
	      __u64 now)
{
	struct cg_nat_entry fwd = { .kind = req->kind,
				    .dir = CG_NAT_ORIG,
				    .owner = req->owner,
				    .snat_at_wg = req->snat_at_wg };
	struct cg_nat_entry rev = { .kind = req->kind,
				    .dir = CG_NAT_REPLY,
				    .owner = req->owner,
				    .snat_at_wg = req->snat_at_wg };
	struct cg_nat_stats *st = cg_nat_stats_get();
	struct cg_ct_key rkey;

	if (cg_nat_claim(req, set, &rev, now)) {
		if (!req->alloc_sport)
			return CG_DROP_NAT_CONFLICT; /* its one tuple is taken */
		if (st)
			st->exhausted++;
		return CG_DROP_NAT_EXHAUSTED;
	}
	fwd.to = req->to;
	fwd.expires_ns = rev.expires_ns;
	/* The original tuple may still hold an expired (or, for a service
	 * port, an older) entry: replaced, not created. */
	if (!bpf_map_update_elem(&cg_nat, &req->orig, &fwd, BPF_NOEXIST)) {
		cg_count_table(CG_TABLE_NAT, 1, 0);
	} else if (bpf_map_update_elem(&cg_nat, &req->orig, &fwd, BPF_ANY)) {
		/* Roll the claim back: never half a translation. */
		cg_ct_reverse(&rkey, &req->to);
		if (!bpf_map_delete_elem(&cg_nat, &rkey))
			cg_count_table(CG_TABLE_NAT, 0, 1);
		if (st)
			st->exhausted++;
		return CG_DROP_NAT_EXHAUSTED;
	}
	if (st)
		st->created++;
	return CG_DROP_NONE;
}

/* ---- rewriting at tc ------------------------------------------------------ */

/* Offset of the L4 checksum, or 0 when the protocol has none we keep. */
static __always_inline __u32 cg_l4_csum_off(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 16;
	case IPPROTO_UDP:
		return 6;
	case IPPROTO_ICMP:
		return 2;
	default:
		return 0;
	}
}

/* What replacing the 32-bit word from by to (network order) adds to a
 * checksum covering it, accumulated on diff: a 32-bit ones' complement
 * sum, as the kernel's csum_add keeps it. A 16-bit field goes in
 * zero-extended. */
static __always_inline __u32 cg_csum_add(__u32 a, __u32 b)
{
	a += b;
	return a + (a < b);
}

static __always_inline __u32 cg_csum_diff(__u32 diff, __u32 from, __u32 to)
{
	return cg_csum_add(cg_csum_add(diff, ~from), to);
}

/* The header fields of a rewrite, and what they change in checksums. */
struct cg_rewrite {
	__u32 addr_diff; /* the addresses: IP header and pseudo header */
	__u32 port_diff; /* the ports (or ICMP echo id): L4 header only */
	bool addrs, ports; /* whether they change (a diff may sum to 0) */
	__be16 sport, dport; /* TCP/UDP: the new ports */
	__be16 icmp_id; /* ICMP echo: the new identifier */
};

static __always_inline void cg_rewrite_plan(const struct cg_pkt *pkt,
					    const struct cg_ct_key *to,
					    struct cg_rewrite *rw)
{
	const struct cg_ct_key *from = &pkt->tuple;
	__u16 old_id;

	/* Without branches (as below for ports): each would double the
	 * ways the verifier walks through the rest of the rewrite. */
	rw->addrs =
		((*(const __u32 *)from->saddr ^ *(const __u32 *)to->saddr) |
		 (*(const __u32 *)from->daddr ^ *(const __u32 *)to->daddr)) !=
		0;
	rw->addr_diff = cg_csum_diff(0, *(const __u32 *)from->saddr,
				     *(const __u32 *)to->saddr);
	rw->addr_diff = cg_csum_diff(rw->addr_diff, *(const __u32 *)from->daddr,
				     *(const __u32 *)to->daddr);
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
		rw->ports = ((from->sport ^ to->sport) |
			     (from->dport ^ to->dport)) != 0;
		break;
	case IPPROTO_ICMP:
		old_id =
			pkt->icmp_type == ICMP_ECHO ? from->sport : from->dport;
		rw->icmp_id = bpf_htons(
			pkt->icmp_type == ICMP_ECHO ? to->sport : to->dport);
		rw->port_diff = cg_csum_diff(0, bpf_htons(old_id), rw->icmp_id);
		rw->ports = bpf_htons(old_id) != rw->icmp_id;
		break;
	}
}

/* What bpf_l4_csum_replace makes of a TCP checksum field f (network
 * order) given difference diff, as the kernel computes it
 * (inet_proto_csum_replace_by_diff): in a full checksum (any state but
 * CHECKSUM_PARTIAL), and in a partial one (the pseudo header's sum,
 * which only a BPF_F_PSEUDO_HDR difference enters). */
static __always_inline __u16 cg_l4_full_after(__u16 f, __u32 diff)
{
	return (__u16)~cg_csum_fold(cg_csum_add(diff, ~(__u32)f));
}

static __always_inline __u16 cg_l4_partial_after(__u16 f, __u32 diff)
{
	return cg_csum_fold(cg_csum_add(diff, f));
}

/* The L4 checksum field at off, or NULL when out of the linear data. */
static __always_inline __u16 *cg_skb_l4_sum(struct __sk_buff *skb, __u32 off)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u16 *sum = data + (off & 0x7ff);

	return (void *)(sum + 1) > data_end ? NULL : sum;
}

/* TCP whose addresses and ports both change (DNAT, a moved masquerade
 * port): one helper call instead of two. The addresses go through the
 * helper, which alone knows the skb's checksum state; what it made of the
 * field tells the state: a full checksum then takes the ports' change by
 * hand (as the helper would: skb->csum of CHECKSUM_COMPLETE stays, as the
 * field and the ports change by opposite amounts), a partial one does not
 * (the ports are not in it): the kernel computes one of the two
 * (cg_l4_full_after, cg_l4_partial_after). When both would give the same
 * field (an address change summing to 0) the helper does the ports as
 * before. 1: the ports still need the helper; 0: done; -1: failed. */
static __always_inline int cg_skb_tcp_csum_both(struct __sk_buff *skb,
						__u32 off,
						const struct cg_rewrite *rw)
{
	__u16 *sum = cg_skb_l4_sum(skb, off);
	__u16 f0, f1, full;

	if (!sum)
		return 1;
	f0 = *sum;
	if (bpf_l4_csum_replace(skb, off, 0, rw->addr_diff, BPF_F_PSEUDO_HDR))
		return -1;
	sum = cg_skb_l4_sum(skb, off); /* the helper moved skb->data */
	if (!sum)
		return -1; /* never: it was there before */
	f1 = *sum;
	full = cg_l4_full_after(f0, rw->addr_diff);
	if (full == cg_l4_partial_after(f0, rw->addr_diff))
		return 1;
	if (f1 == full)
		*sum = cg_l4_full_after(f1, rw->port_diff);
	return 0;
}

/* The L4 checksum, by the kernel's helper: it alone knows the skb's
 * checksum state (a CHECKSUM_PARTIAL field takes the pseudo header's
 * change only; CHECKSUM_COMPLETE moves skb->csum). One call for the
 * addresses, one for the ports, each only when they change; one in all
 * when both do in TCP (cg_skb_tcp_csum_both). */
static __always_inline int cg_skb_l4_csum(struct __sk_buff *skb,
					  const struct cg_pkt *pkt,
					  const struct cg_rewrite *rw)
{
	__u32 off = cg_l4_csum_off(pkt->tuple.proto);
	__u64 flags = 0; /* size 0: the value is a checksum difference */
	int r;

	if (!off || pkt->later_fragment)
		return 0;
	off += pkt->l4_off;
	if (pkt->tuple.proto == IPPROTO_UDP)
		flags |= BPF_F_MARK_MANGLED_0; /* 0: no checksum, stays 0 */
	if (rw->addrs && rw->ports && pkt->tuple.proto == IPPROTO_TCP) {
		r = cg_skb_tcp_csum_both(skb, off, rw);
		if (r <= 0)
			return r;
		return bpf_l4_csum_replace(skb, off, 0, rw->port_diff, 0) ? -1 :
									    0;
	}
	/* ICMP has no pseudo header. */
	if (rw->addrs && pkt->tuple.proto != IPPROTO_ICMP &&
	    bpf_l4_csum_replace(skb, off, 0, rw->addr_diff,
				flags | BPF_F_PSEUDO_HDR))
		return -1;
	if (rw->ports && bpf_l4_csum_replace(skb, off, 0, rw->port_diff, flags))
		return -1;
	return 0;
}

/* Rewrite the packet (tuple pkt->tuple) to tuple to. For ICMP echo the
 * identifier is sport of a request, dport of a reply (see parse.h).
 *
 * The L4 checksum goes through the kernel's helper (cg_skb_l4_csum); the
 * rest is written in place: the IP header checksum by hand (no offload
 * state touches it), the fields directly. Five helper calls become at
 * most two. cg_parse made these headers linear; a program that writes
 * packets directly gets a prologue from the verifier that unclones a
 * cloned skb, as the store helper would have.
 *
 * A global function, checked once by the verifier rather than at each of
 * its call sites (wg_egress has two), and its locals off the stack of
 * the program (which cg_nat_claim_port's share). */
__attribute__((noinline)) int cg_skb_rewrite(struct __sk_buff *skb,
					     const struct cg_pkt *pkt,
					     const struct cg_ct_key *to)
{
	struct cg_rewrite rw;
	struct iphdr *iph;
	void *data, *data_end, *l4;

	if (!skb || !pkt || !to)
		return -1; /* never: the verifier checks it as it can be */
	cg_rewrite_plan(pkt, to, &rw);
	if (!rw.addrs && !rw.ports)
		return 0;
	if (cg_skb_l4_csum(skb, pkt, &rw))
		return -1;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	iph = data + (pkt->l3_off & 0x3ff);
	l4 = data + (pkt->l4_off & 0x3ff);
	if ((void *)(iph + 1) > data_end)
		return -1;
	if (rw.addrs) {
		iph->check = ~cg_csum_fold(
			cg_csum_add(rw.addr_diff, (__u16)~iph->check));
		iph->saddr = *(const __u32 *)to->saddr;
		iph->daddr = *(const __u32 *)to->daddr;
	}
	if (!rw.ports)
		return 0;
	if (pkt->tuple.proto == IPPROTO_ICMP) {
		struct icmphdr *icmp = l4;

		if ((void *)(icmp + 1) > data_end)
			return -1;
		icmp->un.echo.id = rw.icmp_id;
		return 0;
	}
	if (l4 + 4 > data_end)
		return -1;
	((__be16 *)l4)[0] = rw.sport;
	((__be16 *)l4)[1] = rw.dport;
	return 0;
}

/* ---- rewriting in XDP ------------------------------------------------------- */

/* How the L4 checksum is kept: complete, partial (csum.h), or UDP's 0
 * meaning none, which stays 0. */
enum cg_l4sum_kind { CG_L4SUM_FULL, CG_L4SUM_PARTIAL, CG_L4SUM_UDP };

/* Rewrite an IPv4 header's address field (saddr at 12, daddr at 16) and
 * the checksums covering it. l4sum: the L4 checksum, or NULL. */
static __always_inline void cg_xdp_set_addr(struct iphdr *iph, __u32 field,
					    const __u8 *to, __sum16 *l4sum,
					    enum cg_l4sum_kind kind)
{
	__be32 *addr = field == 12 ? &iph->saddr : &iph->daddr;
	__be32 new = *(const __u32 *)to;

	if (*addr == new)
		return;
	if (l4sum && kind == CG_L4SUM_PARTIAL)
		cg_partial_replace4(l4sum, *addr, new);
	else if (l4sum && kind == CG_L4SUM_UDP)
		cg_udp_csum_replace4(l4sum, *addr, new);
	else if (l4sum)
		cg_csum_replace4(l4sum, *addr, new);
	cg_csum_replace4(&iph->check, *addr, new);
	*addr = new;
}

static __always_inline void
cg_xdp_set_port(__be16 *port, __u16 to, __sum16 *l4sum, enum cg_l4sum_kind kind)
{
	__be16 new = bpf_htons(to);

	if (*port == new)
		return;
	if (l4sum && kind == CG_L4SUM_UDP)
		cg_udp_csum_replace2(l4sum, *port, new);
	else if (l4sum && kind == CG_L4SUM_FULL)
		cg_csum_replace2(l4sum, *port, new);
	*port = new;
}

/* Rewrite the frame in place to tuple to. 0, or -1 if the headers parse
 * saw are no longer within bounds (they always should be). */
static __always_inline int cg_xdp_rewrite(struct xdp_md *ctx,
					  const struct cg_pkt *pkt,
					  const struct cg_ct_key *to)
{
	enum cg_l4sum_kind kind = CG_L4SUM_FULL;
	void *data, *data_end, *l4;
	__sum16 *l4sum = NULL;
	struct iphdr *iph;
	__be16 *ports;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	iph = data + (pkt->l3_off & 0x3ff);
	l4 = data + (pkt->l4_off & 0x3ff);
	ports = l4;
	if ((void *)(iph + 1) > data_end)
		return -1;
	if (!pkt->later_fragment && pkt->tuple.proto != IPPROTO_ICMP &&
	    cg_l4_csum_off(pkt->tuple.proto)) {
		l4sum = l4 + cg_l4_csum_off(pkt->tuple.proto);
		if ((void *)(l4sum + 1) > data_end)
			return -1;
		/* Before the addresses change: the sum is over them. */
		if (*l4sum == cg_pseudo_sum(iph))
			kind = CG_L4SUM_PARTIAL;
		else if (pkt->tuple.proto == IPPROTO_UDP)
			kind = CG_L4SUM_UDP;
	}
	cg_xdp_set_addr(iph, 12, to->saddr, l4sum, kind);
	cg_xdp_set_addr(iph, 16, to->daddr, l4sum, kind);
	if (pkt->later_fragment)
		return 0;
	switch (pkt->tuple.proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		if ((void *)(ports + 2) > data_end)
			return -1;
		cg_xdp_set_port(&ports[0], to->sport, l4sum, kind);
		cg_xdp_set_port(&ports[1], to->dport, l4sum, kind);
		return 0;
	case IPPROTO_ICMP: {
		struct icmphdr *icmp = l4;

		if ((void *)(icmp + 1) > data_end)
			return -1;
		cg_xdp_set_port(&icmp->un.echo.id,
				pkt->icmp_type == ICMP_ECHO ? to->sport :
							      to->dport,
				&icmp->checksum, CG_L4SUM_FULL);
		return 0;
	}
	default:
		return 0;
	}
}

/* cg_xdp_rewrite as a global function, for new flows: the verifier
 * checks it once rather than on each of the many policy paths leading
 * there (6.1: uplink_xdp 23.9k -> 10.7k instructions). Established
 * packets keep the inlined one: the call costs them ~10 ns of ~70
 * (prog_bench). The pointers may be NULL for the verifier. */
__attribute__((noinline)) int cg_xdp_rewrite_new(struct xdp_md *ctx,
						 const struct cg_pkt *pkt,
						 const struct cg_ct_key *to)
{
	if (!ctx || !pkt || !to)
		return -1;
	return cg_xdp_rewrite(ctx, pkt, to);
}

/* ---- ICMP errors about translated flows --------------------------------- */

/* Point the quoted packet of an ICMP error (one we sent, translated, as
 * U:np -> S:sp) back at the peer it came from (P:pp), and the error with
 * it. Checksums: the quoted IP header's, the quoted L4 one if it is in
 * the error, the ICMP one over all of those, the outer IP header's.
 *
 * In XDP (the uplink) and at tc (an exit's ingress): each checksum
 * compensates its own change, so what an skb's complete checksum covers
 * sums the same. 0, or -1 when the headers are out of bounds. */
static __always_inline int
cg_untranslate_icmp_error(void *data, void *data_end, const struct cg_pkt *pkt,
			  const struct cg_ct_key *orig)
{
	struct iphdr *outer = data + (pkt->l3_off & 0x3ff);
	struct icmphdr *icmp = data + (pkt->l4_off & 0x3ff);
	struct iphdr *inner = data + (pkt->inner_l3_off & 0x3ff);
	__be16 *ports = data + (pkt->inner_l4_off & 0x3ff);
	__be32 new_addr = *(const __u32 *)orig->daddr;
	__be16 new_port = bpf_htons(orig->dport), old_sum;
	__sum16 *l4sum = NULL;
	__be16 *port;

	if ((void *)(outer + 1) > data_end || (void *)(icmp + 1) > data_end ||
	    (void *)(inner + 1) > data_end || (void *)(ports + 4) > data_end)
		return -1;
	switch (inner->protocol) {
	case IPPROTO_UDP:
		l4sum = (__sum16 *)&ports[3];
		port = &ports[0];
		break;
	case IPPROTO_TCP:
		/* Only when the error quotes that much of the segment. */
		if ((void *)(ports + 9) <= data_end)
			l4sum = (__sum16 *)&ports[8];
		port = &ports[0];
		break;
	case IPPROTO_ICMP:
		l4sum = (__sum16 *)&ports[1];
		port = &ports[2]; /* the echo identifier */
		break;
	default:
		return 0;
	}
	if (l4sum) {
		old_sum = *l4sum;
		if (inner->protocol == IPPROTO_UDP) {
			cg_udp_csum_replace4(l4sum, inner->saddr, new_addr);
			cg_udp_csum_replace2(l4sum, *port, new_port);
		} else {
			if (inner->protocol == IPPROTO_TCP)
				cg_csum_replace4(l4sum, inner->saddr, new_addr);
			cg_csum_replace2(l4sum, *port, new_port);
		}
		cg_csum_replace2(&icmp->checksum, old_sum, *l4sum);
	}
	cg_csum_replace2(&icmp->checksum, *port, new_port);
	*port = new_port;
	old_sum = inner->check;
	cg_csum_replace4(&inner->check, inner->saddr, new_addr);
	cg_csum_replace2(&icmp->checksum, old_sum, inner->check);
	cg_csum_replace4(&icmp->checksum, inner->saddr, new_addr);
	inner->saddr = new_addr;
	cg_xdp_set_addr(outer, 16, orig->daddr, NULL, CG_L4SUM_FULL);
	return 0;
}

#endif
