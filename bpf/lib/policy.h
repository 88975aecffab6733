/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Policy for new flows (packet walks 1, 2 and 4 of DESIGN.md). Established
 * flows never get here: conntrack admits them, and sends them back here
 * only when an identity's policy epoch changed.
 */
#ifndef CELLGATE_POLICY_H
#define CELLGATE_POLICY_H

#include "common.h"
#include "maps.h"

/* The peer (exact /32) or linked cell (subnet) an address belongs to. */
static __always_inline const struct cg_identity *
cg_identity_of(const __u8 addr[4])
{
	struct cg_addr_key key;
	struct cg_lpm_key lpm = { .prefixlen = 32 };
	const struct cg_identity *id;

	__builtin_memcpy(key.addr, addr, 4);
	id = bpf_map_lookup_elem(&cg_peers, &key);
	if (id)
		return id;
	__builtin_memcpy(lpm.addr, addr, 4);
	return bpf_map_lookup_elem(&cg_cells, &lpm);
}

/* The identity id of an address, or CG_IDENT_UNKNOWN. */
static __always_inline __u32 cg_ident_id_of(const __u8 addr[4])
{
	const struct cg_identity *id = cg_identity_of(addr);

	return id ? id->id : CG_IDENT_UNKNOWN;
}

/* Which of the cell's own networks addr is in, or CG_NET_NONE. */
static __always_inline enum cg_net_kind cg_local_net_of(const __u8 addr[4])
{
	struct cg_lpm_key lpm = { .prefixlen = 32 };
	const struct cg_local_net *net;

	__builtin_memcpy(lpm.addr, addr, 4);
	net = bpf_map_lookup_elem(&cg_local_nets, &lpm);
	return net ? net->kind : CG_NET_NONE;
}

static __always_inline bool cg_is_local_net(const __u8 addr[4])
{
	return cg_local_net_of(addr) != CG_NET_NONE;
}

/* The identity addr may be, knowing the network it is in (net, from
 * cg_local_net_of): peers live in the WireGuard subnet, linked cells
 * outside every network of ours (the controller refuses a peer outside
 * the subnet and a cell overlapping our networks), and the bridge and
 * local networks hold neither. At most one lookup after the one that
 * gave net, where cg_identity_of may take two. */
static __always_inline const struct cg_identity *
cg_identity_in(const __u8 addr[4], enum cg_net_kind net)
{
	struct cg_addr_key key;
	struct cg_lpm_key lpm = { .prefixlen = 32 };

	if (net == CG_NET_WG_SUBNET) {
		__builtin_memcpy(key.addr, addr, 4);
		return bpf_map_lookup_elem(&cg_peers, &key);
	}
	if (net != CG_NET_NONE)
		return NULL;
	__builtin_memcpy(lpm.addr, addr, 4);
	return bpf_map_lookup_elem(&cg_cells, &lpm);
}

static __always_inline const struct cg_settings *cg_settings_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cg_settings, &zero);
}

static __always_inline bool cg_addr_is(const __u8 a[4], const __u8 b[4])
{
	return *(const __u32 *)a == *(const __u32 *)b;
}

/* A packet of WireGuard's own UDP socket on the uplink: from its port
 * (egress, from the uplink address) or to it (XDP, already known to be
 * for the uplink address). Nothing translates these: masquerade never
 * allocates the port (struct cg_settings.wg_port). */
static __always_inline bool cg_is_wg_port(const struct cg_ct_key *t,
					  const struct cg_settings *set,
					  bool egress)
{
	if (!set->wg_port || t->proto != IPPROTO_UDP)
		return false;
	if (!egress)
		return t->dport == set->wg_port;
	return t->sport == set->wg_port &&
	       cg_addr_is(t->saddr, set->uplink_addr);
}

/* A service port exposed on the wg address (DNAT), or NULL. */
static __always_inline const struct cg_dnat_target *
cg_dnat_of(const struct cg_ct_key *t)
{
	const struct cg_settings *set = cg_settings_get();
	struct cg_dnat_key key = { .port = t->dport, .proto = t->proto };

	if (!set || !cg_addr_is(t->daddr, set->wg_addr))
		return NULL;
	return bpf_map_lookup_elem(&cg_dnat, &key);
}

/* The service id a destination belongs to, or -1: an exposed port of the
 * wg address, else an endpoint (exact port first, then the address's
 * all-ports entry). */
static __always_inline int cg_service_of(const struct cg_ct_key *t)
{
	struct cg_service_key key = {
		.port = t->dport,
		.proto = t->proto,
	};
	const struct cg_dnat_target *dnat = cg_dnat_of(t);
	const struct cg_service *svc;

	if (dnat)
		return (int)dnat->service_id;
	__builtin_memcpy(key.addr, t->daddr, 4);
	svc = bpf_map_lookup_elem(&cg_services, &key);
	if (!svc && key.port) {
		key.port = 0;
		svc = bpf_map_lookup_elem(&cg_services, &key);
	}
	return svc ? (int)svc->service_id : -1;
}

static __always_inline bool cg_may_use(const struct cg_identity *id,
				       int service_id)
{
	__u32 bit = (__u32)service_id & (CG_MAX_SERVICES - 1);

	return id->services[bit / 64] & (1ULL << (bit % 64));
}

/* Does a rule between peers (issue 18) let src open this flow to dst?
 * It takes identities, not addresses, so both address families use it.
 * One hash lookup, and none when either side is in no rule class. */
static __always_inline bool cg_rule_allows(const struct cg_identity *src,
					   const struct cg_identity *dst,
					   __u8 proto, __u16 dport)
{
	struct cg_rule_key key = {
		.src_class = src->rule_class,
		.dst_class = dst->rule_class,
	};
	const struct cg_rule_ports *r;
	__u32 i;

	if (!key.src_class || !key.dst_class)
		return false;
	/* A rule's "icmp" is ICMP in either family. */
	if (proto == 58 /* ICMPv6: parse6.h's CG_NH_ICMP6 */)
		proto = IPPROTO_ICMP;
	r = bpf_map_lookup_elem(&cg_rules, &key);
	if (!r)
		return false;
	for (i = 0; i < CG_RULE_PORTS; i++) {
		const struct cg_rule_port *p = &r->port[i];

		if (i >= r->n)
			break;
		if (!p->proto)
			return true;
		if (p->proto != proto)
			continue;
		if (p->proto == IPPROTO_ICMP ||
		    (dport >= p->lo && dport <= p->hi))
			return true;
	}
	return false;
}

/* What a new flow decided on, for its conntrack entry. */
struct cg_admission {
	__u32 src_ident, src_epoch;
	__u32 dst_ident, dst_epoch;
	int service; /* the service id the flow asked for, or -1 */
	/* The exit an admitted internet-bound flow takes (cg_exit_of), 0:
	 * the uplink. Conntrack keeps it (cg_ct_entry.exit_id). */
	__u32 exit_id;
};

static __always_inline void cg_admit_dst(struct cg_admission *adm,
					 const struct cg_identity *dst)
{
	adm->dst_ident = dst->id;
	adm->dst_epoch = dst->epoch;
}

/* The verdicts on a new flow from a peer or linked cell (src), written
 * once for both families: each family resolves the destination (a
 * service, an identity, one of the cell's networks or elsewhere) with
 * its own maps, lazily, and calls the verdict for what it found. */
static __always_inline void cg_admit_src(struct cg_admission *adm,
					 const struct cg_identity *src)
{
	adm->src_ident = src->id;
	adm->src_epoch = src->epoch;
	adm->exit_id = 0;
}

/* The destination is service svc. */
static __always_inline enum cg_drop_reason
cg_judge_service(const struct cg_identity *src, int svc)
{
	if (cg_may_use(src, svc))
		return CG_DROP_NONE;
	return src->kind == CG_KIND_CELL ? CG_DROP_CELL_DENIED :
					   CG_DROP_SERVICE_DENIED;
}

/* The destination is a peer or linked cell (dst). */
static __always_inline enum cg_drop_reason
cg_judge_identity(const struct cg_identity *src, const struct cg_identity *dst,
		  __u8 proto, __u16 dport, struct cg_admission *adm)
{
	cg_admit_dst(adm, dst);
	if (dst->kind == CG_KIND_CELL)
		/* Our peers may reach linked cells, whose own cellgate
		 * decides; cells do not transit us. */
		return src->kind == CG_KIND_PEER ? CG_DROP_NONE :
						   CG_DROP_CELL_DENIED;
	if (src->peer_to_peer && dst->peer_to_peer)
		return CG_DROP_NONE;
	/* Default deny between peers: a rule may allow the direction it
	 * names (replies follow conntrack). */
	if (cg_rule_allows(src, dst, proto, dport))
		return CG_DROP_NONE;
	return CG_DROP_PEER_ISOLATION;
}

/* Neither: one of the cell's own networks (local), or the internet. */
/* An internet-bound flow leaves by the identity's exit (issue 20): the
 * cell's own networks and linked cells never take one. */
static __always_inline enum cg_drop_reason
cg_judge_elsewhere(const struct cg_identity *src, bool local,
		   struct cg_admission *adm)
{
	if (local)
		return CG_DROP_NOT_A_SERVICE;
	if (!src->internet_access)
		return CG_DROP_NO_INTERNET;
	adm->exit_id = src->exit_id;
	return CG_DROP_NONE;
}

/* A new flow from a peer or linked cell (src) into or through the cell. */
static __always_inline enum cg_drop_reason
cg_policy_from_wg(const struct cg_identity *src, const struct cg_ct_key *t,
		  struct cg_admission *adm)
{
	const struct cg_identity *dst;
	int svc;

	cg_admit_src(adm, src);
	svc = cg_service_of(t);
	adm->service = svc;
	if (svc >= 0)
		return cg_judge_service(src, svc);
	dst = cg_identity_of(t->daddr);
	if (dst)
		return cg_judge_identity(src, dst, t->proto, t->dport, adm);
	return cg_judge_elsewhere(src, cg_is_local_net(t->daddr), adm);
}

/* A new flow toward a peer or cell (wg0 egress) whose source is no
 * WireGuard identity: only the cell's own networks may open one. */
static __always_inline enum cg_drop_reason
cg_policy_to_wg_from(enum cg_net_kind src_net, const struct cg_identity *dst,
		     struct cg_admission *adm)
{
	adm->src_ident = CG_IDENT_UNKNOWN;
	adm->src_epoch = 0;
	adm->service = -1;
	cg_admit_dst(adm, dst);
	return src_net != CG_NET_NONE ? CG_DROP_NONE : CG_DROP_UNSOLICITED;
}

static __always_inline enum cg_drop_reason
cg_policy_to_wg(const struct cg_ct_key *t, const struct cg_identity *dst,
		struct cg_admission *adm)
{
	return cg_policy_to_wg_from(cg_local_net_of(t->saddr), dst, adm);
}

#endif
