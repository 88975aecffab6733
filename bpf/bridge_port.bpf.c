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
 * Other EtherTypes (IPv6 among them, not supported by the cell yet) pass.
 */
#define CG_HOOK CG_HOOK_BRIDGE_PORT

#include "lib/common.h"
#include "lib/config.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/counters.h"

#define ETH_P_ARP 0x0806
/* Offset of the sender protocol address in an Ethernet/IPv4 ARP packet:
 * 8 bytes of header, then the sender's 6-byte hardware address. */
#define ARP_SPA_OFF (ETH_HLEN + 8 + 6)

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

SEC("tc")
int cg_bridge_port(struct __sk_buff *skb)
{
	struct cg_pkt pkt = {};

	pkt.ifindex = skb->ifindex;
	pkt.len = skb->len > ETH_HLEN ? skb->len - ETH_HLEN : 0;
	if (skb->protocol == bpf_htons(ETH_P_IP))
		return check_ipv4(skb, &pkt);
	if (skb->protocol == bpf_htons(ETH_P_ARP))
		return check_arp(skb, &pkt);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
