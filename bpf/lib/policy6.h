/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Policy for new IPv6 flows: the IPv6 maps resolve addresses to the same
 * struct cg_identity, service ids and network kinds as IPv4's, and the
 * verdicts are lib/policy.h's (cg_judge_*, cg_policy_to_wg_from), so
 * policy is written once for both families.
 *
 * Not yet for IPv6 (issue 17): services exposed on the wg address6
 * (DNAT), port forwards, NAT66; their maps stay IPv4's.
 */
#ifndef CELLGATE_POLICY6_H
#define CELLGATE_POLICY6_H

#include "common.h"
#include "maps.h"
#include "policy.h"

static __always_inline const struct cg_settings6 *cg_settings6_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cg_settings6, &zero);
}

/* Has the cell an IPv6 address on wg0? All zero: an IPv4-only cell,
 * which drops IPv6 as before (counted `ipv6`). */
static __always_inline bool cg_v6_enabled(void)
{
	const struct cg_settings6 *s = cg_settings6_get();
	const __u64 *a;

	if (!s)
		return false;
	a = (const __u64 *)s->wg_addr;
	return a[0] | a[1];
}

/* The peer (exact /128) or linked cell (subnet6) addr belongs to. addr
 * is the key of cg_peers6 as it is: the IPv6 walks keep their tuples in
 * a map (struct cg_scratch6), not on the stack. */
static __always_inline const struct cg_identity *
cg_identity6_of(const __u8 addr[16])
{
	struct cg_lpm6_key lpm = { .prefixlen = 128 };
	const struct cg_identity *id;

	id = bpf_map_lookup_elem(&cg_peers6, addr);
	if (id)
		return id;
	__builtin_memcpy(lpm.addr, addr, 16);
	return bpf_map_lookup_elem(&cg_cells6, &lpm);
}

static __always_inline __u32 cg_ident6_id_of(const __u8 addr[16])
{
	const struct cg_identity *id = cg_identity6_of(addr);

	return id ? id->id : CG_IDENT_UNKNOWN;
}

/* Link-local (fe80::/10), multicast (ff00::/8), loopback and the
 * unspecified address: they never leave the router's links, so a peer
 * sending there reaches the router itself, one of the cell's own. */
static __always_inline bool cg_addr6_scoped(const __u8 addr[16])
{
	const __u64 *w = (const __u64 *)addr;

	if (addr[0] == 0xff || (addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80))
		return true;
	/* ::, ::1 (the last byte at most 1, all others zero) */
	return !w[0] && !(w[1] & ~bpf_cpu_to_be64(1));
}

/* Which of the cell's own IPv6 networks addr is in, or CG_NET_NONE. */
static __always_inline enum cg_net_kind cg_local_net6_of(const __u8 addr[16])
{
	struct cg_lpm6_key lpm = { .prefixlen = 128 };
	const struct cg_local_net *net;

	__builtin_memcpy(lpm.addr, addr, 16);
	net = bpf_map_lookup_elem(&cg_local_nets6, &lpm);
	return net ? net->kind : CG_NET_NONE;
}

static __always_inline bool cg_addr6_eq(const __u8 a[16], const __u8 b[16])
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return !((x[0] ^ y[0]) | (x[1] ^ y[1]));
}

/* The router's uplink address6 is the cell's too. */
static __always_inline bool cg_is_local6(const __u8 addr[16])
{
	const struct cg_settings6 *s;

	if (cg_addr6_scoped(addr) || cg_local_net6_of(addr) != CG_NET_NONE)
		return true;
	s = cg_settings6_get();
	return s && cg_addr6_eq(addr, s->uplink_addr);
}

/* As cg_identity_in: the identity addr may be, knowing its network. */
static __always_inline const struct cg_identity *
cg_identity6_in(const __u8 addr[16], enum cg_net_kind net)
{
	struct cg_lpm6_key lpm = { .prefixlen = 128 };

	if (net == CG_NET_WG_SUBNET)
		return bpf_map_lookup_elem(&cg_peers6, addr);
	if (net != CG_NET_NONE)
		return NULL;
	__builtin_memcpy(lpm.addr, addr, 16);
	return bpf_map_lookup_elem(&cg_cells6, &lpm);
}

/* The service id of an IPv6 destination, or -1: the exact port, then
 * the address's all-ports entry. */
static __always_inline int cg_service6_of(const struct cg_ct6_key *t)
{
	struct cg_service6_key key = { .port = t->dport, .proto = t->proto };
	const struct cg_service *svc;

	__builtin_memcpy(key.addr, t->daddr, 16);
	svc = bpf_map_lookup_elem(&cg_services6, &key);
	if (!svc && key.port) {
		key.port = 0;
		svc = bpf_map_lookup_elem(&cg_services6, &key);
	}
	return svc ? (int)svc->service_id : -1;
}

/* A new IPv6 flow from a peer or linked cell: cg_policy_from_wg's
 * resolution with the IPv6 maps, the same verdicts. */
static __always_inline enum cg_drop_reason
cg_policy6_from_wg(const struct cg_identity *src, const struct cg_ct6_key *t,
		   struct cg_admission *adm)
{
	const struct cg_identity *dst;
	int svc;

	cg_admit_src(adm, src);
	svc = cg_service6_of(t);
	adm->service = svc;
	if (svc >= 0)
		return cg_judge_service(src, svc);
	dst = cg_identity6_of(t->daddr);
	if (dst)
		return cg_judge_identity(src, dst, t->proto, t->dport, adm);
	return cg_judge_elsewhere(src, cg_is_local6(t->daddr), adm);
}

/* A new IPv6 flow toward a peer or cell from no WireGuard identity. */
static __always_inline enum cg_drop_reason
cg_policy6_to_wg(const struct cg_ct6_key *t, const struct cg_identity *dst,
		 struct cg_admission *adm)
{
	return cg_policy_to_wg_from(cg_local_net6_of(t->saddr), dst, adm);
}

#endif
