// SPDX-License-Identifier: GPL-2.0-only
/*
 * tc ingress on each port of the service bridge (the host side of a
 * container's veth): what a host on the bridge sends, before the bridge
 * forwards it to the router or to another host.
 *
 * Why per port and not on the bridge device: at the bridge device the
 * port a frame came from is gone (only its MAC is left, which the sender
 * chooses), so the calendar's host could not be told from another host
 * sending with the calendar's address. On the port, the ifindex is the
 * sender, and no container can forge it.
 *
 * IPv4: the source must be one of the bridge's allowed sources
 * (cg_bridge_src, exact; bound to the first port that uses it) or in an
 * operator's prefix (cg_bridge_nets, any port): else spoofed_source.
 * ARP: a sender address bound to another port is arp_spoofed (an unknown
 * one passes: ARP alone reaches no peer, and its IPv4 would be dropped).
 * IPv6 the same way (cg_bridge_src6, cg_bridge_bind6, cg_bridge_nets6),
 * except for the addresses no host owns: the unspecified one (duplicate
 * address detection) and link-local ones (neighbour discovery; never
 * routed off the bridge, so they reach no peer). A neighbour
 * advertisement for an address bound to another port is IPv6's ARP
 * spoof: arp_spoofed. Other EtherTypes pass.
 */
#define CG_HOOK CG_HOOK_BRIDGE_PORT

#include "lib/common.h"
#include "lib/config.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/counters.h"
#include "lib/conntrack6.h"

#define ETH_P_ARP 0x0806
/* Offset of the sender protocol address in an Ethernet/IPv4 ARP packet:
 * 8 bytes of header, then the sender's 6-byte hardware address. */
#define ARP_SPA_OFF (ETH_HLEN + 8 + 6)
/* IPv6 header fields, from the start of the frame: the next header, the
 * source address, and an ICMPv6 neighbour advertisement's target (after
 * 4 bytes of type/code/checksum and 4 of flags). */
#define IP6_NEXTHDR_OFF (ETH_HLEN + 6)
#define IP6_SADDR_OFF (ETH_HLEN + 8)
#define IP6_ICMP_OFF (ETH_HLEN + 40)
#define ND_TARGET_OFF (IP6_ICMP_OFF + 8)

/* Whether the address may be sent from this port. An exact allowed
 * address is claimed by the first port that uses it: the insert is
 * atomic (BPF_NOEXIST), so of two ports racing, one wins. */
static __always_inline bool src_allowed(const __u8 addr[4], __u32 ifindex)
{
	struct cg_addr_key k = {};
	struct cg_lpm_key lk = { .prefixlen = 32 };
	__u32 *owner;

	__builtin_memcpy(k.addr, addr, 4);
	if (bpf_map_lookup_elem(&cg_bridge_src, &k)) {
		owner = bpf_map_lookup_elem(&cg_bridge_bind, &k);
		if (owner)
			return *owner == ifindex;
		if (!bpf_map_update_elem(&cg_bridge_bind, &k, &ifindex,
					 BPF_NOEXIST))
			return true;
		owner = bpf_map_lookup_elem(&cg_bridge_bind, &k);
		return owner && *owner == ifindex;
	}
	__builtin_memcpy(lk.addr, addr, 4);
	return bpf_map_lookup_elem(&cg_bridge_nets, &lk) != NULL;
}

static __always_inline int check_ipv4(struct __sk_buff *skb, struct cg_pkt *pkt)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *iph = data + ETH_HLEN;

	if ((void *)(iph + 1) > data_end) {
		bpf_skb_pull_data(skb, ETH_HLEN + sizeof(*iph));
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		iph = data + ETH_HLEN;
		if ((void *)(iph + 1) > data_end)
			return cg_drop(pkt, CG_IDENT_UNKNOWN,
				       CG_DROP_MALFORMED);
	}
	cg_copy_addr(pkt->tuple.saddr, &iph->saddr);
	cg_copy_addr(pkt->tuple.daddr, &iph->daddr);
	pkt->tuple.proto = iph->protocol;
	/* 0.0.0.0 poses as nobody: a DHCP client has no address yet. */
	if (!iph->saddr || src_allowed(pkt->tuple.saddr, skb->ifindex))
		return TC_ACT_OK;
	return cg_drop(pkt, CG_IDENT_UNKNOWN, CG_DROP_SPOOFED_SOURCE);
}

static __always_inline int check_arp(struct __sk_buff *skb, struct cg_pkt *pkt)
{
	struct cg_addr_key k = {};
	__u32 *owner;

	if (bpf_skb_load_bytes(skb, ARP_SPA_OFF, k.addr, 4))
		return TC_ACT_OK; /* not Ethernet/IPv4 ARP: the stack's */
	owner = bpf_map_lookup_elem(&cg_bridge_bind, &k);
	if (!owner || *owner == skb->ifindex)
		return TC_ACT_OK;
	__builtin_memcpy(pkt->tuple.saddr, k.addr, 4);
	return cg_drop(pkt, CG_IDENT_UNKNOWN, CG_DROP_ARP_SPOOFED);
}

/* src_allowed for IPv6 (the same binding rules, other maps). */
static __always_inline bool src6_allowed(const __u8 addr[16], __u32 ifindex)
{
	struct cg_addr6_key k = {};
	struct cg_lpm6_key lk = { .prefixlen = 128 };
	__u32 *owner;

	__builtin_memcpy(k.addr, addr, 16);
	if (bpf_map_lookup_elem(&cg_bridge_src6, &k)) {
		owner = bpf_map_lookup_elem(&cg_bridge_bind6, &k);
		if (owner)
			return *owner == ifindex;
		if (!bpf_map_update_elem(&cg_bridge_bind6, &k, &ifindex,
					 BPF_NOEXIST))
			return true;
		owner = bpf_map_lookup_elem(&cg_bridge_bind6, &k);
		return owner && *owner == ifindex;
	}
	__builtin_memcpy(lk.addr, addr, 16);
	return bpf_map_lookup_elem(&cg_bridge_nets6, &lk) != NULL;
}

/* The unspecified address or a link-local one (fe80::/10). */
static __always_inline bool link_scope6(const __u8 a[16])
{
	__u64 hi, lo;

	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return true;
	__builtin_memcpy(&hi, a, 8);
	__builtin_memcpy(&lo, a + 8, 8);
	return !hi && !lo;
}

/* A neighbour advertisement (no extension headers: RFC 4861 sends it
 * with none) claiming an address bound to another port. */
static __always_inline bool nd_spoofed(struct __sk_buff *skb, __u8 nexthdr,
				       __u8 target[16])
{
	struct cg_addr6_key k = {};
	__u8 type = 0;
	__u32 *owner;

	if (nexthdr != CG_NH_ICMP6 ||
	    bpf_skb_load_bytes(skb, IP6_ICMP_OFF, &type, 1) ||
	    type != ICMP6_NEIGH_ADVERT ||
	    bpf_skb_load_bytes(skb, ND_TARGET_OFF, k.addr, 16))
		return false;
	owner = bpf_map_lookup_elem(&cg_bridge_bind6, &k);
	if (!owner || *owner == skb->ifindex)
		return false;
	__builtin_memcpy(target, k.addr, 16);
	return true;
}

static __always_inline int check_ipv6(struct __sk_buff *skb,
				      struct cg_pkt6 *pkt)
{
	__u8 nexthdr;

	if (bpf_skb_load_bytes(skb, IP6_NEXTHDR_OFF, &nexthdr, 1) ||
	    /* source and destination: adjacent in the header and the key */
	    bpf_skb_load_bytes(skb, IP6_SADDR_OFF, pkt->tuple.saddr, 32))
		return cg_drop6(pkt, CG_IDENT_UNKNOWN, CG_DROP_MALFORMED);
	pkt->tuple.proto = nexthdr;
	if (link_scope6(pkt->tuple.saddr)) {
		if (nd_spoofed(skb, nexthdr, pkt->tuple.saddr))
			return cg_drop6(pkt, CG_IDENT_UNKNOWN,
					CG_DROP_ARP_SPOOFED);
		return TC_ACT_OK;
	}
	if (!src6_allowed(pkt->tuple.saddr, skb->ifindex))
		return cg_drop6(pkt, CG_IDENT_UNKNOWN, CG_DROP_SPOOFED_SOURCE);
	if (nd_spoofed(skb, nexthdr, pkt->tuple.saddr))
		return cg_drop6(pkt, CG_IDENT_UNKNOWN, CG_DROP_ARP_SPOOFED);
	return TC_ACT_OK;
}

/* IPv6 apart: its packet description is another struct, and the
 * verifier keeps the two stacks apart. */
static __noinline int check_ipv6_frame(struct __sk_buff *skb)
{
	struct cg_pkt6 pkt = {};

	pkt.ifindex = skb->ifindex;
	pkt.len = skb->len > ETH_HLEN ? skb->len - ETH_HLEN : 0;
	return check_ipv6(skb, &pkt);
}

SEC("tc")
int cg_bridge_port(struct __sk_buff *skb)
{
	struct cg_pkt pkt = {};

	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return check_ipv6_frame(skb);
	pkt.ifindex = skb->ifindex;
	pkt.len = skb->len > ETH_HLEN ? skb->len - ETH_HLEN : 0;
	if (skb->protocol == bpf_htons(ETH_P_IP))
		return check_ipv4(skb, &pkt);
	if (skb->protocol == bpf_htons(ETH_P_ARP))
		return check_arp(skb, &pkt);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
