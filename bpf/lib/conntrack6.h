/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IPv6 connection tracking: lib/conntrack.h's model (one entry per flow
 * under its canonical key, the same struct cg_ct_entry, epochs, TCP
 * states and lifetimes) in maps of its own, cg_ct6_tcp and cg_ct6_other,
 * keyed by struct cg_ct6_key.
 *
 * Not yet for IPv6: the table accounting of cg_table_stats (its slots
 * are IPv4's tables). Drops are counted per identity and, like new
 * flows, told to the monitor (lib/events6.h) as for IPv4.
 */
#ifndef CELLGATE_CONNTRACK6_H
#define CELLGATE_CONNTRACK6_H

#include "common.h"
#include "conntrack.h"
#include "counters.h"
#include "events6.h"
#include "maps.h"
#include "parse6.h"
#include "policy6.h"

/* On the stack (it holds a map value pointer); its key lives in the
 * scratch (hkey below). */
struct cg_ct6_hit {
	struct cg_ct_entry *entry;
	struct cg_ct6_key *key; /* the flow's key (canonical) */
	bool reply; /* the packet travels in the reply direction */
};

/* What an IPv6 packet's walk works on, in a per-CPU array rather than on
 * the stack: the IPv6 walks run below the IPv4 program's frame, and the
 * frames of a call chain share 512 bytes. A program runs to completion
 * on its CPU, and each object (hook) has its own (unpinned) map. */
struct cg_scratch6 {
	struct cg_pkt6 pkt;
	struct cg_ct6_key hkey; /* cg_ct6_find: the flow's canonical key */
	struct cg_ct6_key orig; /* cg_ct6_rejudge: the flow's original tuple */
	struct cg_ct6_key key; /* cg_ct6_create: the new flow's key... */
	struct cg_ct_entry entry; /* ...and entry */
	struct cg_frag6_key fk; /* cg_parse6: a fragment's datagram */
	struct cg_admission adm; /* a new flow's admission */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct cg_scratch6);
	__uint(max_entries, 1);
} cg_scratch6 SEC(".maps");

static __always_inline struct cg_scratch6 *cg_scratch6_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cg_scratch6, &zero);
}

/* Count pkt's drop against ident, tell the monitor, return the verdict. */
static __always_inline int cg_drop6(const struct cg_pkt6 *pkt, __u32 ident,
				    enum cg_drop_reason reason)
{
	struct cg_counters *c = cg_counters_of(ident);

	if (c && reason < CG_DROP__MAX)
		c->drops[reason]++;
	cg_event6(pkt, ident, CG_EVENT_DROP, reason);
	return TC_ACT_SHOT;
}

static __always_inline void cg_ct6_reverse(struct cg_ct6_key *rev,
					   const struct cg_ct6_key *t)
{
	__builtin_memcpy(rev->saddr, t->daddr, 16);
	__builtin_memcpy(rev->daddr, t->saddr, 16);
	rev->sport = t->dport;
	rev->dport = t->sport;
	rev->proto = t->proto;
	rev->pad[0] = rev->pad[1] = rev->pad[2] = 0;
}

/* 1 when a < b, without a branch: the borrow out of a - b. */
static __always_inline __u64 cg_lt64(__u64 a, __u64 b)
{
	return ((~a & b) | (~(a ^ b) & (a - b))) >> 63;
}

static __always_inline __u64 cg_eq64(__u64 a, __u64 b)
{
	__u64 x = a ^ b;

	return ((x | -x) >> 63) ^ 1;
}

/* The canonical key of t's flow in k, as cg_ct_canon: t, or t reversed
 * when its source sorts after its destination (the addresses as two
 * native 64-bit words, then the ports). Returns 1 when reversed. Without
 * branches, for the same reason as cg_ct_canon. */
static __always_inline __u32 cg_ct6_canon(struct cg_ct6_key *k,
					  const struct cg_ct6_key *t)
{
	const __u64 *s = (const __u64 *)t->saddr, *d = (const __u64 *)t->daddr;
	__u64 *ks = (__u64 *)k->saddr, *kd = (__u64 *)k->daddr;
	__u64 s0 = s[0], s1 = s[1], d0 = d[0], d1 = d[1];
	__u64 port_gt = cg_lt64(t->dport, t->sport);
	__u64 rev = cg_lt64(d0, s0) |
		    (cg_eq64(d0, s0) &
		     (cg_lt64(d1, s1) | (cg_eq64(d1, s1) & port_gt)));
	__u64 m = -rev, x;
	__u16 px;

	asm volatile("" : "+r"(m));
	x = (s0 ^ d0) & m;
	ks[0] = s0 ^ x;
	kd[0] = d0 ^ x;
	x = (s1 ^ d1) & m;
	ks[1] = s1 ^ x;
	kd[1] = d1 ^ x;
	px = (t->sport ^ t->dport) & (__u16)m;
	k->sport = t->sport ^ px;
	k->dport = t->dport ^ px;
	k->proto = t->proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
	return (__u32)rev;
}

static __always_inline struct cg_ct_entry *
cg_ct6_get(const struct cg_ct6_key *key, __u64 now)
{
	struct cg_ct_entry *e;

	/* Two call sites, as cg_ct_get, so each lookup is inlined. */
	if (key->proto == IPPROTO_TCP) {
		e = bpf_map_lookup_elem(&cg_ct6_tcp, key);
		asm volatile("" : "+r"(e));
	} else {
		e = bpf_map_lookup_elem(&cg_ct6_other, key);
	}
	if (e && e->expires_ns <= now)
		return NULL;
	return e;
}

static __always_inline bool cg_ct6_find(const struct cg_ct6_key *t, __u64 now,
					struct cg_ct6_hit *hit)
{
	__u32 rev = cg_ct6_canon(hit->key, t);

	hit->entry = cg_ct6_get(hit->key, now);
	if (!hit->entry)
		return false;
	hit->reply = (rev ^ hit->entry->key_rev) & 1;
	return true;
}

static __always_inline __u32 cg_ct6_sender(const struct cg_ct6_hit *hit)
{
	return hit->reply ? hit->entry->dst_ident : hit->entry->src_ident;
}

static __always_inline __u32 cg_ct6_receiver(const struct cg_ct6_hit *hit)
{
	return hit->reply ? hit->entry->src_ident : hit->entry->dst_ident;
}

static __always_inline void *cg_ct6_map(__u8 proto)
{
	return proto == IPPROTO_TCP ? (void *)&cg_ct6_tcp :
				      (void *)&cg_ct6_other;
}

/* Lifetimes are IPv4's; ICMPv6 flows live as ICMP ones. */
static __always_inline __u8 cg_ct6_life_proto(__u8 proto)
{
	return proto == CG_NH_ICMP6 ? IPPROTO_ICMP : proto;
}

/* As cg_ct_rejudge, for the IPv6 flow of this CPU's scratch (hkey,
 * which cg_ct6_find filled): a global function, the rare path, checked
 * once by the verifier. Flows let in by a port forward do not exist for
 * IPv6 yet. */
__attribute__((noinline)) __u64 cg_ct6_rejudge(void)
{
	struct cg_scratch6 *s = cg_scratch6_get();
	const struct cg_identity *src, *dst;
	struct cg_admission *adm;
	struct cg_ct_entry *e;
	struct cg_ct6_key *k;
	int r;

	if (!s)
		return CG_DROP_NONE;
	/* The scratch's admission, not the stack's: this frame sits under
	 * cg_wg_egress6's and the IPv4 program's, within the verifier's 512
	 * bytes for the chain (72 -> 48 here). A re-judged flow is no new
	 * one, so the slot is free. */
	adm = &s->adm;
	__builtin_memset(adm, 0, sizeof(*adm));
	if (s->hkey.proto == IPPROTO_TCP)
		e = bpf_map_lookup_elem(&cg_ct6_tcp, &s->hkey);
	else
		e = bpf_map_lookup_elem(&cg_ct6_other, &s->hkey);
	if (!e)
		return CG_DROP_NONE;
	/* The flow's original direction, which the policy judges. */
	k = &s->orig;
	if (e->key_rev)
		cg_ct6_reverse(k, &s->hkey);
	else
		*k = s->hkey;
	src = cg_identity6_of(k->saddr);
	dst = cg_identity6_of(k->daddr);
	if (src)
		r = cg_policy6_from_wg(src, k, adm);
	else if (dst && e->origin == CG_CT_TO_WG)
		r = cg_policy6_to_wg(k, dst, adm);
	else
		r = CG_DROP_UNKNOWN_SOURCE; /* its peer or cell was removed */
	/* Its exit changed: opened again by the new one (as IPv4's). */
	if (r == CG_DROP_NONE && adm->exit_id != e->exit_id)
		r = CG_DROP_EXIT_DOWN;
	if (r != CG_DROP_NONE) {
		bpf_map_delete_elem(cg_ct6_map(s->hkey.proto), &s->hkey);
		return r;
	}
	e->src_ident = adm->src_ident;
	e->src_epoch = adm->src_epoch;
	e->dst_ident = adm->dst_ident;
	e->dst_epoch = adm->dst_epoch;
	return CG_DROP_NONE;
}

/* A packet of a known IPv6 flow on wg0: as cg_ct_established. hit is
 * the scratch's (cg_ct6_rejudge reads its key there). */
static __always_inline int cg_ct6_established(struct __sk_buff *skb,
					      struct cg_ct6_hit *hit,
					      const struct cg_pkt6 *pkt,
					      bool ingress, __u64 now)
{
	__u32 ident;
	__u64 r;

	if (unlikely(!cg_ct_current(hit->entry))) {
		r = cg_ct6_rejudge();
		if (r >= CG_DROP__MAX)
			r = CG_DROP_MALFORMED; /* never: keeps the bounds */
		if (r != CG_DROP_NONE)
			return cg_drop6(pkt,
					ingress ? cg_ct6_sender(hit) :
						  cg_ct6_receiver(hit),
					r);
	}
	cg_ct_refresh(hit->entry, hit->reply,
		      cg_ct6_life_proto(pkt->tuple.proto), pkt->tcp_flags, now);
	ident = ingress ? cg_ct6_sender(hit) : cg_ct6_receiver(hit);
	if (cg_rate_flow(skb, hit->entry, hit->reply, ingress, ident, pkt->len))
		return cg_drop6(pkt, ident, CG_DROP_RATE_LIMITED);
	if (ingress)
		cg_count_rx(ident, pkt->len);
	else
		cg_count_tx(ident, pkt->len);
	return TC_ACT_OK;
}

/* Start tracking an IPv6 flow the policy admitted (as cg_ct_create). */
__attribute__((noinline)) int cg_ct6_create(const struct cg_pkt6 *pkt,
					    const struct cg_admission *adm,
					    __u32 origin, __u64 now)
{
	struct cg_scratch6 *s = cg_scratch6_get();
	struct cg_ct_entry *e;
	__u8 proto;

	if (!pkt || !adm || !s)
		return 0;
	e = &s->entry;
	__builtin_memset(e, 0, sizeof(*e));
	e->origin = origin;
	e->state = CG_CT_NEW;
	proto = pkt->tuple.proto;
	e->src_ident = adm->src_ident;
	e->src_epoch = adm->src_epoch;
	e->dst_ident = adm->dst_ident;
	e->dst_epoch = adm->dst_epoch;
	e->exit_id = adm->exit_id;
	if (proto == IPPROTO_TCP)
		cg_ct_tcp_track(e, pkt->tcp_flags, false);
	e->expires_ns = now + cg_ct_lifetime(e, cg_ct6_life_proto(proto));
	e->key_rev = cg_ct6_canon(&s->key, &pkt->tuple);
	bpf_map_update_elem(cg_ct6_map(proto), &s->key, e, BPF_ANY);
	return 0;
}

/* Start tracking, then tell the monitor. The event is emitted here, by
 * the caller, not inside cg_ct6_create: the chain IPv4 program ->
 * cg_wg_egress6 -> cg_ct6_create -> cg_event6_emit came to 528 bytes of
 * stack (frames rounded to 16), past the verifier's 512. */
static __always_inline void cg_ct6_track(const struct cg_pkt6 *pkt,
					 const struct cg_admission *adm,
					 __u32 origin, __u64 now)
{
	cg_ct6_create(pkt, adm, origin, now);
	cg_event6(pkt,
		  origin == CG_CT_FROM_WG ? adm->src_ident : adm->dst_ident,
		  CG_EVENT_NEW_FLOW, CG_DROP_NONE);
}

/* As cg_ct_related: the flow an ICMPv6 error quotes, if known, and the
 * error goes back to the quoted packet's sender. */
static __always_inline struct cg_ct_entry *
cg_ct6_related(const struct cg_pkt6 *pkt, __u64 now, struct cg_ct6_hit *hit)
{
	if (!cg_addr6_eq(pkt->tuple.daddr, pkt->inner.saddr))
		return NULL;
	return cg_ct6_find(&pkt->inner, now, hit) ? hit->entry : NULL;
}

#endif
