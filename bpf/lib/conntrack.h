/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Connection tracking. One entry per flow, keyed by its canonical tuple
 * (cg_ct_canon: the same for both directions), so any packet of a flow
 * costs one lookup, and a packet of no flow one miss. The entry says
 * which direction was the original (key_rev). Entries carry the policy
 * epochs they were admitted under (see struct cg_ct_entry), so a policy
 * change re-judges them.
 */
#ifndef CELLGATE_CONNTRACK_H
#define CELLGATE_CONNTRACK_H

#include "common.h"
#include "config.h"
#include "counters.h"
#include "events.h"
#include "maps.h"
#include "parse.h"
#include "policy.h"
#include "rate.h"

/* A flow found for a packet. */
struct cg_ct_hit {
	struct cg_ct_entry *entry;
	struct cg_ct_key key; /* the flow's key (canonical) */
	bool reply; /* the packet travels in the reply direction */
};

static __always_inline void cg_ct_reverse(struct cg_ct_key *rev,
					  const struct cg_ct_key *t)
{
	__builtin_memcpy(rev->saddr, t->daddr, 4);
	__builtin_memcpy(rev->daddr, t->saddr, 4);
	rev->sport = t->dport;
	rev->dport = t->sport;
	rev->proto = t->proto;
	rev->pad[0] = rev->pad[1] = rev->pad[2] = 0;
}

static __always_inline struct cg_ct_entry *
cg_ct_get(const struct cg_ct_key *key, __u64 now)
{
	struct cg_ct_entry *e;

	/* Two call sites, not one on cg_ct_map(): the verifier inlines a
	 * hash lookup only where a call always sees the same map. The empty
	 * asm keeps clang from merging them back into one call on a select
	 * of the two maps (which it does: the lookup then costs a helper
	 * call). */
	if (key->proto == IPPROTO_TCP) {
		e = bpf_map_lookup_elem(&cg_ct_tcp, key);
		asm volatile("" : "+r"(e));
	} else {
		e = bpf_map_lookup_elem(&cg_ct_other, key);
	}
	if (e && e->expires_ns <= now)
		return NULL; /* expired: as good as absent */
	return e;
}

/* The canonical key of tuple t's flow in k: t, or t reversed when its
 * source sorts after its destination (addresses as numbers read from
 * their bytes, then ports). Returns 1 when reversed.
 *
 * Without branches: a branch here would double every path the verifier
 * walks after it (6.1 then takes wg_ingress past its budget). The sign
 * of b - a (both under 2^48) is the comparison; the swap is masked. The
 * empty asm keeps clang from turning the masks back into branches. */
static __always_inline __u32 cg_ct_canon(struct cg_ct_key *k,
					 const struct cg_ct_key *t)
{
	__u32 s = *(const __u32 *)t->saddr, d = *(const __u32 *)t->daddr;
	__u64 a = (__u64)s << 16 | t->sport, b = (__u64)d << 16 | t->dport;
	__u32 rev = (__u32)((b - a) >> 63);
	__u32 m = -rev, x;
	__u16 px;

	asm volatile("" : "+r"(m));
	x = (s ^ d) & m;
	*(__u32 *)k->saddr = s ^ x;
	*(__u32 *)k->daddr = d ^ x;
	px = (t->sport ^ t->dport) & (__u16)m;
	k->sport = t->sport ^ px;
	k->dport = t->dport ^ px;
	k->proto = t->proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
	return rev;
}

/* Find the flow of tuple t, whichever direction t travels: one lookup. */
static __always_inline bool cg_ct_find(const struct cg_ct_key *t, __u64 now,
				       struct cg_ct_hit *hit)
{
	__u32 rev = cg_ct_canon(&hit->key, t);

	hit->entry = cg_ct_get(&hit->key, now);
	if (!hit->entry)
		return false;
	hit->reply = (rev ^ hit->entry->key_rev) & 1;
	return true;
}

static __always_inline __u32 cg_epoch_of(__u32 ident)
{
	__u32 *epoch = bpf_map_lookup_elem(&cg_epochs, &ident);

	return epoch ? *epoch : 0;
}

/* Were both identities' policies unchanged since the flow was admitted? */
static __always_inline bool cg_ct_current(const struct cg_ct_entry *e)
{
	return cg_epoch_of(e->src_ident) == e->src_epoch &&
	       cg_epoch_of(e->dst_ident) == e->dst_epoch;
}

/* The identity a packet of this flow comes from / goes to. */
static __always_inline __u32 cg_ct_sender(const struct cg_ct_hit *hit)
{
	return hit->reply ? hit->entry->dst_ident : hit->entry->src_ident;
}

static __always_inline __u32 cg_ct_receiver(const struct cg_ct_hit *hit)
{
	return hit->reply ? hit->entry->src_ident : hit->entry->dst_ident;
}

static __always_inline enum cg_table cg_ct_table(__u8 proto)
{
	return proto == IPPROTO_TCP ? CG_TABLE_CT_TCP : CG_TABLE_CT_OTHER;
}

static __always_inline void *cg_ct_map(__u8 proto)
{
	return proto == IPPROTO_TCP ? (void *)&cg_ct_tcp : (void *)&cg_ct_other;
}

static __always_inline void cg_ct_delete(const struct cg_ct_key *key)
{
	if (!bpf_map_delete_elem(cg_ct_map(key->proto), key))
		cg_count_table(cg_ct_table(key->proto), 0, 1);
}

/* Is a port forward's translation still there for this flow (opened
 * toward key.daddr by the forward)? The forward may have been deleted. */
static __always_inline bool cg_ct_forward_alive(const struct cg_ct_key *key)
{
	const struct cg_nat_entry *e;
	struct cg_ct_key reply;

	cg_ct_reverse(&reply, key);
	e = bpf_map_lookup_elem(&cg_nat, &reply);
	return e && e->kind == CG_NAT_FORWARD;
}

/* Judge the flow tracked at key (its original direction) again after a
 * policy change, by the policy that admitted it (see enum cg_ct_origin):
 * updates the entry's identities and epochs, or deletes it and returns
 * why. A flow gone meanwhile has nothing left to judge.
 *
 * A global function, so the verifier checks the policy once per object
 * rather than at every established-flow site (it is the rare path: the
 * entry is looked up again here, as a global function cannot be handed
 * a map value; its 64-bit result keeps the verifier's bounds on the
 * reason, which indexes the drop counters). */
__attribute__((noinline)) __u64 cg_ct_rejudge(const struct cg_ct_key *key)
{
	const struct cg_identity *src, *dst;
	struct cg_admission adm = {};
	struct cg_ct_entry *e;
	struct cg_ct_key k, ck;
	int r;

	if (!key)
		return CG_DROP_NONE;
	ck = *key;
	if (ck.proto == IPPROTO_TCP)
		e = bpf_map_lookup_elem(&cg_ct_tcp, &ck);
	else
		e = bpf_map_lookup_elem(&cg_ct_other, &ck);
	if (!e)
		return CG_DROP_NONE;
	/* The flow's original direction, which the policy judges. */
	if (e->key_rev)
		cg_ct_reverse(&k, &ck);
	else
		k = ck;
	src = cg_identity_of(k.saddr);
	dst = cg_identity_of(k.daddr);
	if (src) {
		r = cg_policy_from_wg(src, &k, &adm);
	} else if (!dst) {
		r = CG_DROP_UNKNOWN_SOURCE; /* its peer or cell was removed */
	} else if (e->origin == CG_CT_FORWARDED) {
		cg_policy_to_wg(&k, dst, &adm);
		r = cg_ct_forward_alive(&k) ? CG_DROP_NONE :
					      CG_DROP_UNSOLICITED;
	} else if (e->origin == CG_CT_TO_WG) {
		r = cg_policy_to_wg(&k, dst, &adm);
	} else {
		r = CG_DROP_UNKNOWN_SOURCE; /* its peer or cell was removed */
	}
	/* The identity's exit changed (issue 20): the flow cannot move
	 * (its replies come back where it left), and must not go on by the
	 * old way out; its next packet opens it again by the new one. */
	if (r == CG_DROP_NONE && adm.exit_id != e->exit_id)
		r = CG_DROP_EXIT_DOWN;
	if (r != CG_DROP_NONE) {
		cg_ct_delete(&ck);
		return r;
	}
	e->src_ident = adm.src_ident;
	e->src_epoch = adm.src_epoch;
	e->dst_ident = adm.dst_ident;
	e->dst_epoch = adm.dst_epoch;
	return CG_DROP_NONE;
}

static __always_inline __u64 cg_ct_lifetime(const struct cg_ct_entry *e,
					    __u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		if (e->state == CG_CT_CLOSING)
			return cg_ct_tcp_close_ns;
		if (e->fin_orig || e->fin_reply)
			return cg_ct_tcp_fin_ns;
		return e->state == CG_CT_ESTABLISHED ? cg_ct_tcp_est_ns :
						       cg_ct_tcp_syn_ns;
	case IPPROTO_ICMP:
		return cg_ct_icmp_ns;
	default:
		return e->seen_reply ? cg_ct_udp_est_ns : cg_ct_udp_ns;
	}
}

/* Advance the TCP state of a flow with one packet's flags. */
static __always_inline void cg_ct_tcp_track(struct cg_ct_entry *e, __u8 flags,
					    bool reply)
{
	if (flags & TCP_FLAG_RST) {
		e->state = CG_CT_CLOSING;
		return;
	}
	if (e->state == CG_CT_CLOSING && !reply &&
	    (flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN) {
		/* The 4-tuple is reused by a new connection. */
		e->state = CG_CT_NEW;
		e->seen_reply = e->fin_orig = e->fin_reply = 0;
		return;
	}
	if (flags & TCP_FLAG_FIN) {
		if (reply)
			e->fin_reply = 1;
		else
			e->fin_orig = 1;
		if (e->fin_orig && e->fin_reply)
			e->state = CG_CT_CLOSING;
	}
}

/* Account one packet of an existing flow (e), of either family: state
 * and expiry. */
static __always_inline void cg_ct_refresh(struct cg_ct_entry *e, bool reply,
					  __u8 proto, __u8 tcp_flags, __u64 now)
{
	__u64 expires;

	if (reply && !e->seen_reply) {
		e->seen_reply = 1;
		if (e->state == CG_CT_NEW)
			e->state = CG_CT_ESTABLISHED;
	}
	if (proto == IPPROTO_TCP)
		cg_ct_tcp_track(e, tcp_flags, reply);

	expires = now + cg_ct_lifetime(e, proto);
	if (expires > e->expires_ns + CG_CT_REFRESH_NS ||
	    expires < e->expires_ns)
		e->expires_ns = expires;
}

static __always_inline void cg_ct_update(struct cg_ct_hit *hit,
					 const struct cg_pkt *pkt, __u64 now)
{
	cg_ct_refresh(hit->entry, hit->reply, pkt->tuple.proto, pkt->tcp_flags,
		      now);
}

/* A packet of a known flow on wg0, ingress (from the identity: its rx)
 * or egress (toward it: its tx). A policy change since the flow was
 * admitted judges it again; what the policy now refuses is dropped and
 * charged to the identity on the WireGuard side. */
static __always_inline int cg_ct_established(struct __sk_buff *skb,
					     struct cg_ct_hit *hit,
					     const struct cg_pkt *pkt,
					     bool ingress, __u64 now)
{
	__u32 ident;
	__u64 r;

	if (unlikely(!cg_ct_current(hit->entry))) {
		r = cg_ct_rejudge(&hit->key);
		if (r >= CG_DROP__MAX)
			r = CG_DROP_MALFORMED; /* never: keeps the bounds */
		if (r != CG_DROP_NONE)
			return cg_drop(pkt,
				       ingress ? cg_ct_sender(hit) :
						 cg_ct_receiver(hit),
				       r);
	}
	cg_ct_update(hit, pkt, now);
	ident = ingress ? cg_ct_sender(hit) : cg_ct_receiver(hit);
	if (cg_rate_flow(skb, hit->entry, hit->reply, ingress, ident, pkt->len))
		return cg_drop(pkt, ident, CG_DROP_RATE_LIMITED);
	if (ingress)
		cg_count_rx(ident, pkt->len);
	else
		cg_count_tx(ident, pkt->len);
	return TC_ACT_OK;
}

/* Start tracking a flow the policy admitted, and tell a tracing monitor.
 * An expired entry not yet collected may hold the key: replacing it
 * creates nothing, which keeps the table accounting exact.
 *
 * A global function: the verifier checks it once, not on every policy
 * path that admits a flow (6.1 would take wg_ingress past its budget).
 * origin is an enum cg_ct_origin; the pointers may be NULL for the
 * verifier, hence the test. */
__attribute__((noinline)) int cg_ct_create(const struct cg_pkt *pkt,
					   const struct cg_admission *adm,
					   __u32 origin, __u64 now)
{
	struct cg_ct_entry e = { .origin = origin, .state = CG_CT_NEW };
	struct cg_ct_key k;
	void *map;

	if (!pkt || !adm)
		return 0;
	e.src_ident = adm->src_ident;
	e.src_epoch = adm->src_epoch;
	e.dst_ident = adm->dst_ident;
	e.dst_epoch = adm->dst_epoch;
	e.exit_id = adm->exit_id;
	if (pkt->tuple.proto == IPPROTO_TCP)
		cg_ct_tcp_track(&e, pkt->tcp_flags, false);
	e.expires_ns = now + cg_ct_lifetime(&e, pkt->tuple.proto);
	e.key_rev = cg_ct_canon(&k, &pkt->tuple);
	map = cg_ct_map(pkt->tuple.proto);
	if (!bpf_map_update_elem(map, &k, &e, BPF_NOEXIST))
		cg_count_table(cg_ct_table(pkt->tuple.proto), 1, 0);
	else
		bpf_map_update_elem(map, &k, &e, BPF_ANY);
	cg_event(pkt, origin == CG_CT_FROM_WG ? adm->src_ident : adm->dst_ident,
		 CG_EVENT_NEW_FLOW, CG_DROP_NONE);
	return 0;
}

/* Is the flow an ICMP error talks about known (in either direction), and
 * does the error go back to the sender of the packet it quotes? Without
 * the second test an error quoting any known flow could be addressed
 * anywhere, carrying its payload past policy. */
static __always_inline struct cg_ct_entry *
cg_ct_related(const struct cg_pkt *pkt, __u64 now, struct cg_ct_hit *hit)
{
	if (!cg_addr_is(pkt->tuple.daddr, pkt->inner.saddr))
		return NULL;
	return cg_ct_find(&pkt->inner, now, hit) ? hit->entry : NULL;
}

#endif
