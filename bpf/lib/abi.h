/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The contract between cellgate's BPF programs and its controller: map key
 * and value layouts, enums and limits. Included by both sides, so it uses
 * only the __u8/__u16/__u32/__u64 types that vmlinux.h and <linux/types.h>
 * both provide, and no kernel or libc headers of its own.
 *
 * Layouts are chosen for `bpftool map dump` as much as for the datapath:
 * addresses are byte arrays (dumped as [10,0,0,2]), ports are host order,
 * booleans are separate u8 fields and states are enums, so a dump reads
 * without a decoder. Changing a layout changes the map's key or value size,
 * which makes the controller recreate that pinned map on the next start.
 */
#ifndef CELLGATE_ABI_H
#define CELLGATE_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h> /* the controller; BPF has them from vmlinux.h */
#endif

/* Number of services a cell can define: one bit each in an identity's
 * allowed-service bitmap. 256 is far above what a cell runs (PIC has 7)
 * and keeps the bitmap at four words. */
#define CG_MAX_SERVICES 256
#define CG_SERVICE_WORDS (CG_MAX_SERVICES / 64)

/* Identity id 0 is never given to a peer or cell: its counters collect
 * what cannot be attributed (unknown sources, malformed packets). */
#define CG_IDENT_UNKNOWN 0

/* Who a source address belongs to. */
enum cg_identity_kind {
	CG_KIND_NONE = 0,
	CG_KIND_PEER = 1, /* a device with one /32 on wg0 */
	CG_KIND_CELL = 2, /* a linked cell: its whole vpn_subnet */
};

/* Why a packet was dropped. Indexes cg_counters.drops[]; the controller
 * names them (ctl/common/abi_names.c) for the API, metrics and the monitor.
 * Append only: values are persisted in pinned counter maps. */
enum cg_drop_reason {
	CG_DROP_NONE = 0,
	CG_DROP_UNKNOWN_SOURCE = 1, /* source is no peer and no linked cell */
	CG_DROP_SERVICE_DENIED = 2, /* service not in the identity's access */
	CG_DROP_PEER_ISOLATION = 3, /* peer to peer without both opting in */
	CG_DROP_NOT_A_SERVICE = 4, /* cell network address, but no service */
	CG_DROP_NO_INTERNET = 5, /* internet-bound without internet_access */
	CG_DROP_IPV6 = 6, /* IPv6 is not supported yet */
	CG_DROP_MALFORMED = 7, /* truncated or inconsistent headers */
	CG_DROP_UNSUPPORTED_L3 = 8, /* neither IPv4 nor IPv6 */
	CG_DROP_FRAGMENT = 9, /* non-first fragment of an unknown datagram */
	CG_DROP_UNSOLICITED = 10, /* new flow to a peer from outside the cell */
	CG_DROP_ICMP_UNRELATED = 11, /* ICMP error/reply matching no flow */
	CG_DROP_ICMP_UNSUPPORTED = 12, /* ICMP type cellgate does not pass */
	CG_DROP_CELL_DENIED = 13, /* linked cell asked for what is not shared */
	CG_DROP_NAT_EXHAUSTED = 14, /* no free NAT port after bounded tries */
	CG_DROP_FORWARD_DENIED =
		15, /* forward's allow_from excludes the source */
	CG_DROP_NAT_CONFLICT = 16, /* the router's own flow on a NAT'd tuple */
	/* A bridge port sent IPv4 from an address that is not its own: not
	 * one of the bridge's allowed sources, or one bound to another
	 * port (bridge_port.bpf.c). */
	CG_DROP_SPOOFED_SOURCE = 17,
	/* A bridge port's ARP claimed an address bound to another port. */
	CG_DROP_ARP_SPOOFED = 18,
	CG_DROP_FLOW_BUDGET = 19, /* the identity holds its share of flows */
	/* Over the identity's rate_limit: download queued past the horizon
	 * (wg0 egress), or upload over its token bucket (wg0 ingress). */
	CG_DROP_RATE_LIMITED = 20,
	/* Internet-bound from a peer whose exit (cg_exits, issue 20) is
	 * down: the kill switch; nothing leaves by the default uplink. */
	CG_DROP_EXIT_DOWN = 21,
	CG_DROP__MAX,
};

/* Per-identity policy, value of cg_peers (exact /32) and cg_cells (LPM). */
struct cg_identity {
	__u32 id; /* index into cg_counters and cg_epochs */
	/* Policy version. The controller replaces the whole value (policy and
	 * epoch together, atomically) and then mirrors the epoch into
	 * cg_epochs[id]; a conntrack entry remembers the epoch its policy
	 * decision was read with, so any interleaving re-judges stale flows. */
	__u32 epoch;
	enum cg_identity_kind kind;
	__u8 peer_to_peer; /* may talk to other peers that also opted in */
	__u8 internet_access; /* may reach addresses outside the cell */
	/* Has a rate_limit (cg_rate[id]); the epoch then carries
	 * CG_EPOCH_RATE, so conntrack entries know it too. */
	__u8 rate_limited;
	/* Where its internet-bound traffic leaves (issue 20): an index into
	 * cg_exits, 0 for the cell's default uplink. */
	__u8 exit_id;
	__u64 services[CG_SERVICE_WORDS]; /* bit n: may use service id n */
	/* Rule class (issue 18): which rules between peers apply to this
	 * identity, computed by the controller from its groups (and from
	 * whether a rule names it); 0: no rule can match it, and the
	 * datapath skips the rule lookup. See struct cg_rule_key. */
	__u64 rule_class;
};

/* ---- rate limits (issue 18) ------------------------------------------
 * A limited identity's epoch (cg_identity.epoch, cg_epochs[id], and so
 * the epochs every conntrack entry remembers) has CG_EPOCH_RATE set: an
 * established packet learns from the entry it already read whether to
 * look at cg_rate, so unlimited peers pay nothing, and a limit set or
 * cleared changes the epoch, which re-judges the identity's flows. The
 * controller counts epochs in the low 31 bits. */
#define CG_EPOCH_RATE 0x80000000u
#define CG_EPOCH_COUNT 0x7fffffffu

/* Value of cg_rate, by identity id. A rate is the cost of one byte in
 * picoseconds (8e6 / Mbit/s), 0 when that direction is unlimited. The
 * controller writes the whole value when the limit changes; the programs
 * then advance the two clocks (CLOCK_MONOTONIC ns) with atomic adds. */
struct cg_rate {
	__u64 down_ps_per_byte; /* toward the identity (wg0 egress) */
	__u64 up_ps_per_byte; /* from the identity (wg0 ingress) */
	/* EDT: when the next download packet may leave (skb->tstamp, which
	 * the fq qdisc on wg0 holds it to). */
	__u64 down_next_ns;
	/* Token bucket as virtual time: the bucket is empty up to here. */
	__u64 up_next_ns;
};

/* Download packets scheduled further ahead than this are dropped. (On a
 * kernel without sch_fq nothing holds packets to their tstamp, and this
 * makes the download a policer with a 2 s bucket.) */
#define CG_RATE_HORIZON_NS 2000000000ull
/* Upload bucket: how far ahead of now it may be drawn, 1 s of the rate.
 * TCP through a policer needs a deep bucket: with 100 ms, iperf3 got 46%
 * of a 10 Mbit/s limit (whole windows lost, retransmission timeouts),
 * with 1 s 96% (tests/e2e/test_ratelimit.sh). A RED-like early drop over
 * the second half of a 100 ms bucket did not help (45%). */
#define CG_RATE_BURST_NS 1000000000ull

/* ---- exits (issue 20) ----------------------------------------------------
 * A peer may send its internet-bound traffic out through another exit
 * than the cell's uplink: an interface (OpenVPN's tun0, any link), an
 * outgoing WireGuard tunnel the controller creates, a linked cell, or a
 * local Tor. The programs read cg_exits[identity.exit_id] for a new
 * internet-bound flow of such a peer and steer it there; while the exit
 * is down they drop it (exit_down) and nothing leaves by the uplink, even
 * with the controller stopped: the choice and the state live in maps. */
#define CG_MAX_EXITS 64 /* ids 1..63; 0: the default uplink */

enum cg_exit_kind {
	CG_EXIT_NONE = 0, /* unused slot */
	CG_EXIT_INTERFACE = 1,
	CG_EXIT_WIREGUARD = 2,
	CG_EXIT_CELL = 3,
	CG_EXIT_TOR = 4,
};

/* Value of cg_exits (ARRAY, by exit id), written whole by the controller:
 * its health monitor flips `up` (interface down or gone, no WireGuard
 * handshake for 180 s, the Tor port closed). */
struct cg_exit {
	__u32 ifindex; /* where the traffic leaves; 0: none (down) */
	__u8 kind; /* enum cg_exit_kind */
	__u8 up; /* 0: the kill switch holds */
	__u8 masquerade; /* SNAT to addr/addr6 on the way out */
	__u8 l2; /* ifindex has Ethernet headers: resolve gateway's MAC */
	__u8 addr[4]; /* our IPv4 address on the exit, 0.0.0.0 if none */
	__u8 gateway[4]; /* next hop, 0.0.0.0: the destination itself */
	__u8 addr6[16]; /* our IPv6 address on the exit, :: if none */
	__u8 gateway6[16];
	__u16 tor_trans_port; /* tor: local TransPort, host order */
	__u16 tor_dns_port; /* tor: local DNSPort */
	__u32 pad;
};

/* cg_exit_counters[exit id], per CPU. */
struct cg_exit_counters {
	__u64 packets; /* sent out through the exit */
	__u64 bytes;
	__u64 drops; /* exit_down: held back by the kill switch */
};

/* ---- rules between peers (issue 18) -------------------------------------
 * The controller compiles rules ("group:engineers -> group:devices on
 * tcp/80") into one entry per pair of rule classes that some rule
 * connects. A class stands for every identity with the same set of
 * groups (a peer or cell named by a rule gets a class of its own), so
 * 10k peers in 100 groups make as many classes as there are distinct
 * group sets, and 1k rules compile into entries for the pairs of classes
 * they connect. A new flow between two identities then costs one hash
 * lookup, whatever the number of rules and groups; an established flow
 * none (conntrack). */
#define CG_RULE_PORTS 16 /* port entries of one class pair */

struct cg_rule_key {
	__u64 src_class; /* the flow's source's cg_identity.rule_class */
	__u64 dst_class;
};

/* One allowed port range. proto 0: every protocol and port ("any");
 * IPPROTO_ICMP: echo (ports unused); TCP/UDP: ports lo..hi. */
struct cg_rule_port {
	__u8 proto;
	__u8 pad;
	__u16 lo;
	__u16 hi;
};

/* Value of cg_rules: the union of the ports of every rule from the
 * source class to the destination class. */
struct cg_rule_ports {
	__u32 n; /* entries used in port[] */
	struct cg_rule_port port[CG_RULE_PORTS];
};

/* Key of cg_peers: one peer address. */
struct cg_addr_key {
	__u8 addr[4];
};

/* Key of the LPM tries (cg_cells, cg_local_nets). */
struct cg_lpm_key {
	__u32 prefixlen;
	__u8 addr[4];
};

/* ---- IPv6 keys (issue 17) ----------------------------------------------
 * IPv6 has maps of its own, so the IPv4 fast path keeps its 4-byte keys and
 * its cache footprint; both families resolve to the same struct
 * cg_identity, so policy is written once. */

/* Key of cg_peers6: a peer's /128. */
struct cg_addr6_key {
	__u8 addr[16];
};

/* Key of the IPv6 LPM tries (cg_cells6, cg_local_nets6). */
struct cg_lpm6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

/* Key of cg_services6; as cg_service_key, with an IPv6 address. */
struct cg_service6_key {
	__u8 addr[16];
	__u16 port;
	__u8 proto;
	__u8 pad;
};

/* The cell's own IPv6 addresses; value of cg_settings6 (one entry). All
 * zero when the cell is IPv4-only (no wireguard.address6). */
struct cg_settings6 {
	__u8 wg_addr[16]; /* the router's WireGuard IPv6 address */
	__u8 uplink_addr[16]; /* the uplink's global IPv6 address, or :: */
	__u8 prefix[16]; /* uplink.prefix6: routed without NAT, or :: */
	__u8 prefix_len; /* 0: no routed prefix (NAT66 to uplink_addr) */
	__u8 pad[7];
};

/* Conntrack key of cg_ct6_tcp and cg_ct6_other: struct cg_ct_key with
 * IPv6 addresses, canonical as IPv4's (cg_ct6_canon: of the two
 * directions, the one whose source sorts lower, compared as two native
 * 64-bit words, then by port). The value is struct cg_ct_entry. */
struct cg_ct6_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
} __attribute__((aligned(8))); /* addresses read as 64-bit words */

/* Key of cg_frags6: one IPv6 datagram's fragments (RFC 8200 4.5). */
struct cg_frag6_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 id; /* the Fragment header's identification, host order */
};

/* Value of cg_frags6: what the first fragment carried. proto is the
 * upper-layer protocol, which later fragments do not name when options
 * follow their Fragment header. */
struct cg_frag6_ports {
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

/* What an address of the cell itself is; value of cg_local_nets. Packets
 * from peers to these networks must match a service, or are dropped. */
enum cg_net_kind {
	CG_NET_NONE = 0,
	CG_NET_WG_SUBNET = 1, /* the cell's WireGuard subnet */
	CG_NET_BRIDGE = 2, /* the service bridge's subnet */
	CG_NET_EXTRA = 3, /* configured by the operator (local_networks) */
};

struct cg_local_net {
	enum cg_net_kind kind;
};

/* Key of cg_services. Port is host order; port 0 covers every port of the
 * address for that protocol. proto is the IP protocol number. */
struct cg_service_key {
	__u8 addr[4];
	__u16 port;
	__u8 proto;
	__u8 pad;
};

struct cg_service {
	__u32 service_id; /* bit in cg_identity.services */
};

/* Conntrack key: the flow's original direction. Ports are host order. For
 * ICMP echo, sport is the echo identifier of a request and dport that of a
 * reply, so reversing a reply's tuple finds its request. */
struct cg_ct_key {
	__u8 saddr[4];
	__u8 daddr[4];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

/* Where the flow was first seen, hence which policy admitted it. */
enum cg_ct_origin {
	CG_CT_FROM_WG = 1, /* opened by a peer or cell (wg0 ingress) */
	CG_CT_TO_WG = 2, /* opened by the cell toward a peer (wg0 egress) */
	CG_CT_FORWARDED = 3, /* let in by a port forward, toward a peer */
};

enum cg_ct_state {
	CG_CT_NEW = 1, /* no reply seen yet */
	CG_CT_ESTABLISHED = 2, /* both directions seen */
	CG_CT_CLOSING = 3, /* TCP FIN from both sides, or RST */
};

/* Conntrack value. An entry is valid while expires_ns is ahead of
 * bpf_ktime_get_ns() (CLOCK_MONOTONIC) and both identities' epochs still
 * match cg_epochs: the controller bumps an identity's epoch when its policy
 * changes, so established flows are re-judged on their next packet instead
 * of surviving a revocation. The programs read that clock as of the last
 * timer tick (bpf_ktime_get_coarse_ns), so entries may live a tick less. */
struct cg_ct_entry {
#ifdef CG_LAYOUT_PROBE
	/* Only in the build of another layout that tests upgrades
	 * (tests/e2e/test_upgrade.sh): first, so every member moves. */
	__u64 layout_probe;
#endif
	__u64 expires_ns;
	__u32 src_ident; /* identity of the original source, or 0 */
	__u32 dst_ident; /* identity of the original destination, or 0 */
	__u32 src_epoch;
	__u32 dst_epoch;
	enum cg_ct_origin origin;
	enum cg_ct_state state;
	__u8 seen_reply;
	__u8 fin_orig; /* FIN seen from the original source */
	__u8 fin_reply; /* FIN seen from the original destination */
	/* Keys are canonical (one entry, one lookup, for both directions:
	 * of the two, the one whose source address, then port, is lower as
	 * a number read from the key's bytes); 1 when the key is the
	 * flow's original direction reversed. */
	__u8 key_rev;
	/* The exit the flow leaves by (cg_exits, issue 20), 0 for the
	 * uplink: set when a peer's internet-bound flow is admitted, so its
	 * established packets are steered without reading the identity. */
	__u8 exit_id;
	__u8 pad[3];
};

/* Key of cg_frags: identifies one IPv4 datagram's fragments. */
struct cg_frag_key {
	__u8 saddr[4];
	__u8 daddr[4];
	__u16 ip_id; /* host order */
	__u8 proto;
	__u8 pad;
};

/* Value of cg_frags: the L4 ports the first fragment carried. */
struct cg_frag_ports {
	__u16 sport;
	__u16 dport;
};

/* Per-identity counters, per CPU; the controller sums the CPUs. rx is
 * from the identity into the cell (wg0 ingress), tx is toward it (wg0
 * egress). Bytes are L3 bytes (IP header and payload). */
struct cg_counters {
	__u64 rx_packets;
	__u64 rx_bytes;
	__u64 tx_packets;
	__u64 tx_bytes;
	__u64 drops[CG_DROP__MAX]; /* indexed by enum cg_drop_reason */
};

/* A peer's or cell's share of the conntrack tables (cg_budget, by identity
 * id; lib/budget.h). The programs add to created (atomically) for each
 * flow the identity opens; the controller's garbage collection, the only
 * writer of released, sets it to created - (the identity's live entries)
 * after each sweep, so created - released (modulo 2^64) is the number of
 * entries the identity holds, give or take what it opened since the last
 * sweep. Expiries and LRU evictions, which no program sees, are thus
 * accounted within one sweep (10 s). Two words, each of one writer: the
 * controller writes released through a mapping of the array, never over
 * created. */
struct cg_flow_budget {
	__u64 created; /* flows opened by the identity (wg0 ingress) */
	__u64 released; /* set by the controller's sweep */
};

/* ---- NAT ----------------------------------------------------------------
 *
 * Every translated flow has two cg_nat entries: one keyed by the tuple of
 * its original direction as it arrives at the translating hook, one keyed
 * by its reply as it arrives back; each says what the packet becomes
 * ("to"). Conntrack on wg0 keys flows by their WireGuard-side tuple: wg0
 * ingress tracks before translating, wg0 egress after.
 */

/* Addresses the programs translate to, in cg_settings[0] (the uplink
 * address can change at run time, so it is a map, not a constant). */
struct cg_settings {
	__u8 wg_addr[4]; /* the router's WireGuard address */
	__u8 uplink_addr[4]; /* the uplink's address, 0.0.0.0 if none */
	__u16 nat_port_min; /* random NAT ports come from [min, max] */
	__u16 nat_port_max;
	__u8 masquerade; /* SNAT to uplink_addr on uplink egress */
	__u8 pad;
	/* WireGuard's UDP listen port (host order), 0 if unknown: the uplink
	 * programs pass its packets before any lookup, and masquerade never
	 * hands it out, so no translation can be addressed to it. */
	__u16 wg_port;
};

/* Key of cg_dnat: a port of the wg address exposing a service. */
struct cg_dnat_key {
	__u16 port; /* host order */
	__u8 proto;
	__u8 pad;
};

struct cg_dnat_target {
	__u8 to_addr[4];
	__u16 to_port;
	__u16 pad;
	__u32 service_id; /* access to the port is access to the service */
};

/* How a forward treats the source of what it lets in. */
enum cg_forward_snat {
	CG_FWD_SNAT_AUTO = 0, /* wg address when the target is over wg0 */
	CG_FWD_SNAT_ALWAYS = 1,
	CG_FWD_SNAT_NEVER = 2,
};

/* Key of cg_forwards: a public port of the uplink address. */
struct cg_forward_key {
	__u16 port; /* host order */
	__u8 proto;
	__u8 pad;
};

struct cg_forward {
	__u8 target_addr[4];
	__u16 target_port;
	/* Resolved by the controller from the forward's snat mode: rewrite
	 * the source to the wg address when the flow leaves on wg0. (XDP
	 * cannot: the kernel drops incoming packets with a local source.) */
	__u8 snat_at_wg;
	__u8 has_allow_from; /* sources must match cg_fwd_allow */
	__u32 fwd_id; /* index into cg_fwd_counters, owner of NAT entries */
};

/* Key of cg_fwd_allow (LPM): prefixlen = 32 + the CIDR's length, so the
 * forward id always matches in full and the address by prefix. */
struct cg_fwd_allow_key {
	__u32 prefixlen;
	__u32 fwd_id; /* big endian, so it sorts as the prefix's first bits */
	__u8 addr[4];
};

enum cg_nat_kind {
	CG_NAT_NONE = 0,
	CG_NAT_MASQ = 1, /* to the internet, as the uplink address */
	CG_NAT_BRIDGE_SNAT = 2, /* bridge to a linked cell, as the wg address */
	CG_NAT_SERVICE_DNAT = 3, /* wg address:port to a service backend */
	CG_NAT_FORWARD = 4, /* uplink port to a target (XDP: destination) */
	CG_NAT_WG_SNAT =
		5, /* a forward's flow to a wg0 target, as wg address */
	CG_NAT_HOST = 6, /* the router's own uplink flow: reserved, kept */
	/* A peer's flow masqueraded behind an exit's address (issue 20):
	 * replies are turned back by the exit's ingress program. */
	CG_NAT_EXIT = 7,
};

enum cg_nat_dir {
	CG_NAT_ORIG = 1, /* the flow's first direction */
	CG_NAT_REPLY = 2,
};

/* Value of cg_nat, keyed by a struct cg_ct_key as the packet arrives. */
struct cg_nat_entry {
	struct cg_ct_key to; /* the packet's tuple after translation */
	__u64 expires_ns; /* CLOCK_MONOTONIC; refreshed like conntrack */
	enum cg_nat_kind kind;
	enum cg_nat_dir dir;
	__u32 owner; /* forward id of forward flows, else 0 */
	__u8 snat_at_wg; /* forward flows: SNAT to the wg address on wg0 */
	__u8 closing; /* TCP: a FIN or RST passed, in either direction */
	__u8 pad[2];
};

/* Per-forward counters (cg_fwd_counters, per CPU, by fwd_id). */
struct cg_fwd_counters {
	__u64 packets; /* translated toward the target */
	__u64 bytes;
	__u64 denied; /* dropped by allow_from */
	__u64 nat_failed; /* no NAT port could be allocated */
};

/* NAT health (cg_nat_stats[0], per CPU). */
struct cg_nat_stats {
	__u64 created; /* flows given a NAT pair */
	__u64 port_collisions; /* candidate ports already taken */
	__u64 exhausted; /* flows dropped: no free port in 32 tries */
	__u64 orphans; /* an entry whose twin was evicted (LRU) */
};

/* ---- bridge anti-spoofing ----------------------------------------------
 *
 * A host on the service bridge may send only from its own addresses: the
 * service endpoints and forward targets it backs (cg_bridge_src, exact),
 * or the operator's bridge.allowed_sources prefixes (cg_bridge_nets). An
 * exact address belongs to the first port that uses it (cg_bridge_bind,
 * claimed by the program with an atomic insert, or pinned there by the
 * controller); the controller forgets a binding when its port goes, so a
 * re-created container's new veth claims it again.
 */

/* Why an address is an allowed source; value of cg_bridge_src. */
enum cg_bridge_src_kind {
	CG_BRSRC_SERVICE = 1, /* a service endpoint or dnat backend */
	CG_BRSRC_FORWARD = 2, /* a port forward's target */
	CG_BRSRC_OPERATOR = 3, /* a /32 of bridge.allowed_sources */
};

struct cg_bridge_src {
	enum cg_bridge_src_kind kind;
};

/* ---- observability ---------------------------------------------------------
 *
 * Per-service verdicts, table accounting and the event ring buffer that
 * `cellgate monitor` reads. All of it is read from the pinned maps, so the
 * controller does not have to run for the monitor to work.
 */

/* New-flow verdicts per service (cg_service_counters, per CPU, by id). */
struct cg_service_counters {
	__u64 allowed; /* new flows admitted to the service */
	__u64 denied; /* new flows refused: not in the identity's access */
};

/* The LRU tables whose entries the programs account for. */
enum cg_table {
	CG_TABLE_CT_TCP = 0,
	CG_TABLE_CT_OTHER = 1,
	CG_TABLE_NAT = 2,
	CG_TABLE__MAX,
};

/* Who removed entries: cg_table_stats has one slot each. The programs
 * write only slot 0 (per CPU), the controller only slot 1 (its garbage
 * collection), so neither overwrites the other's increments. */
enum cg_stats_slot {
	CG_STATS_PROGRAMS = 0,
	CG_STATS_CONTROLLER = 1,
	CG_STATS__SLOTS,
};

/* Entries created and removed per table. What an LRU map holds is
 * created - removed - evicted, so the controller derives evictions (which
 * the kernel does not count) from these and the entries present. */
struct cg_table_stats {
	__u64 created[CG_TABLE__MAX]; /* new keys inserted */
	__u64 removed[CG_TABLE__MAX]; /* keys deleted on purpose */
};

/* The hook a program runs at, named in events. */
enum cg_hook {
	CG_HOOK_NONE = 0,
	CG_HOOK_WG_INGRESS = 1, /* tc ingress on wg0 */
	CG_HOOK_WG_EGRESS = 2, /* tc egress on wg0 */
	CG_HOOK_UPLINK_XDP = 3, /* XDP on the uplink */
	CG_HOOK_UPLINK_EGRESS = 4, /* tc egress on the uplink */
	CG_HOOK_BRIDGE_PORT = 5, /* tc ingress on a port of the bridge */
	CG_HOOK_EXIT_INGRESS = 6, /* tc ingress on an exit (issue 20) */
};

enum cg_event_kind {
	CG_EVENT_DROP = 1, /* a packet was dropped; reason says why */
	CG_EVENT_NEW_FLOW = 2, /* trace: a flow was admitted and tracked */
};

/* One record of the cg_events ring buffer. */
struct cg_event {
	__u64 time_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 ifindex; /* the interface the hook runs on */
	__u32 ident; /* identity charged or admitted; 0 if none */
	enum cg_event_kind kind;
	enum cg_hook hook;
	enum cg_drop_reason reason; /* CG_DROP_NONE for trace events */
	__u32 len; /* L3 bytes */
	struct cg_ct_key tuple; /* the packet's, as the hook saw it */
};

/* One record of cg_events about an IPv6 packet: struct cg_event's fields
 * with an IPv6 tuple. A reader tells the two apart by the record's size
 * (the IPv4 event keeps its layout and cost). */
struct cg_event6 {
	__u64 time_ns;
	__u32 ifindex;
	__u32 ident;
	enum cg_event_kind kind;
	enum cg_hook hook;
	enum cg_drop_reason reason;
	__u32 len;
	struct cg_ct6_key tuple;
};

/* cg_monitor[0], written by `cellgate monitor`. Events are emitted only
 * while a monitor keeps renewing these deadlines (a lease, so a monitor
 * that dies stops the events and nothing fills the ring for no reader). */
struct cg_monitor {
	/* 0 when no monitor wants them: the programs test that first. */
	__u64 drops_until_ns; /* drop events while now < this */
	__u64 trace_until_ns; /* new-flow events while now < this */
	__u32 rate; /* events per second per CPU; 0: CG_EVENT_RATE */
	__u32 burst; /* bucket size in events; 0: CG_EVENT_BURST */
};

/* Default event rate limit: enough to watch a cell, too little for a
 * flood to cost more than a few percent of a CPU. */
#define CG_EVENT_RATE 1000
#define CG_EVENT_BURST 200

/* cg_event_stats[0], per CPU: the token bucket and what became of the
 * events it was asked to emit. */
struct cg_event_stats {
	__u64 credit_ns; /* bucket content, in ns of emission time */
	__u64 last_ns; /* when credit was last topped up */
	__u64 emitted; /* written to the ring buffer */
	__u64 rate_limited; /* refused by the bucket */
	__u64 lost; /* the ring buffer was full: the reader is behind */
};

#endif /* CELLGATE_ABI_H */
