/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every map cellgate's programs share. Each entry object includes this
 * header; maps are pinned by name under the controller's bpffs directory,
 * so all objects (and restarts of the controller) use the same instances.
 * max_entries here are defaults; the controller sizes maps from its config
 * before load.
 */
#ifndef CELLGATE_MAPS_H
#define CELLGATE_MAPS_H

#include "common.h"

/* Peers by exact /32: a hash lookup is several times cheaper than an LPM
 * lookup at 10k prefixes, and peers are the common source. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cg_addr_key);
	__type(value, struct cg_identity);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_peers SEC(".maps");

/* Linked cells by subnet: few prefixes, looked up after cg_peers misses. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct cg_lpm_key);
	__type(value, struct cg_identity);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_cells SEC(".maps");

/* Exits by id (abi.h, issue 20): slot 0 is the default uplink. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct cg_exit);
	__uint(max_entries, CG_MAX_EXITS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_exits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct cg_exit_counters);
	__uint(max_entries, CG_MAX_EXITS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_exit_counters SEC(".maps");

/* Rules between peers, compiled by class pair (abi.h, issue 18). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cg_rule_key);
	__type(value, struct cg_rule_ports);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_rules SEC(".maps");

/* The cell's own networks (wg subnet, bridge subnet, extras). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct cg_lpm_key);
	__type(value, struct cg_local_net);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_local_nets SEC(".maps");

/* ---- IPv6 (issue 17): the same roles, IPv6 keys ---------------------- */

/* Peers by exact /128; sized as cg_peers. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cg_addr6_key);
	__type(value, struct cg_identity);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_peers6 SEC(".maps");

/* Linked cells by IPv6 subnet (subnet6 of an invite). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct cg_lpm6_key);
	__type(value, struct cg_identity);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_cells6 SEC(".maps");

/* The cell's own IPv6 networks (address6's subnet, the bridge's). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct cg_lpm6_key);
	__type(value, struct cg_local_net);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_local_nets6 SEC(".maps");

/* Service catalog for IPv6 endpoints; port 0 = all ports. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cg_service6_key);
	__type(value, struct cg_service);
	__uint(max_entries, 4096);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_services6 SEC(".maps");

/* One entry: the cell's IPv6 addresses (zero when IPv4-only). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct cg_settings6);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_settings6 SEC(".maps");

/* IPv6 conntrack, apart from IPv4's so the IPv4 tables keep their
 * 16-byte keys; TCP apart from the rest, as there. Sized as cg_ct_tcp
 * and cg_ct_other. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct cg_ct6_key);
	__type(value, struct cg_ct_entry);
	__uint(max_entries, 65536);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_ct6_tcp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct cg_ct6_key);
	__type(value, struct cg_ct_entry);
	__uint(max_entries, 32768);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_ct6_other SEC(".maps");

/* Ports of fragmented IPv6 datagrams, recorded from their first fragment. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct cg_frag6_key);
	__type(value, struct cg_frag6_ports);
	__uint(max_entries, 4096);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_frags6 SEC(".maps");

/* Service catalog: {ip, proto, port} -> service id; port 0 = all ports. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cg_service_key);
	__type(value, struct cg_service);
	__uint(max_entries, 4096);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_services SEC(".maps");

/* Conntrack, TCP apart from the rest so UDP/ICMP churn cannot evict TCP
 * flows: LRU evicts the least recently used entry of its own map only. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct cg_ct_key);
	__type(value, struct cg_ct_entry);
	__uint(max_entries, 65536);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_ct_tcp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct cg_ct_key);
	__type(value, struct cg_ct_entry);
	__uint(max_entries, 32768);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_ct_other SEC(".maps");

/* Ports of fragmented datagrams, recorded from their first fragment. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct cg_frag_key);
	__type(value, struct cg_frag_ports);
	__uint(max_entries, 4096);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_frags SEC(".maps");

/* Policy epoch per identity id; see struct cg_ct_entry. An array lookup
 * is inlined by the verifier: a bounds check and an add. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 16384);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_epochs SEC(".maps");

/* Counters per identity id, per CPU (no atomics on the hot path). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct cg_counters);
	__uint(max_entries, 16384);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_counters SEC(".maps");

/* ---- NAT (see abi.h) ------------------------------------------------------ */

/* One entry: the addresses and port range translations use. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct cg_settings);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_settings SEC(".maps");

/* Service ports exposed on the wg address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cg_dnat_key);
	__type(value, struct cg_dnat_target);
	__uint(max_entries, 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_dnat SEC(".maps");

/* Port forwards on the uplink address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cg_forward_key);
	__type(value, struct cg_forward);
	__uint(max_entries, 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_forwards SEC(".maps");

/* Sources each forward admits, when it has an allow_from list. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct cg_fwd_allow_key);
	__type(value, __u8);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_fwd_allow SEC(".maps");

/* Translations, two entries per flow. LRU: a full table evicts the least
 * recently used flows; a flow that lost one of its entries stops passing
 * rather than being translated wrongly. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct cg_ct_key);
	__type(value, struct cg_nat_entry);
	__uint(max_entries, 65536);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_nat SEC(".maps");

/* Service ports exposed on the wg address6 (issue 17). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cg_dnat_key);
	__type(value, struct cg_dnat6_target);
	__uint(max_entries, 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_dnat6 SEC(".maps");

/* IPv6 translations (NAT66, issue 17): cg_nat's model with IPv6 keys,
 * so the IPv4 table keeps its 16-byte keys. Sized as cg_nat. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct cg_ct6_key);
	__type(value, struct cg_nat6_entry);
	__uint(max_entries, 65536);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_nat6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct cg_fwd_counters);
	__uint(max_entries, 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_fwd_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct cg_nat_stats);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_nat_stats SEC(".maps");

/* ---- bridge anti-spoofing (see abi.h) ------------------------------------ */

/* Exact addresses hosts on the bridge may send from. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cg_addr_key);
	__type(value, struct cg_bridge_src);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_bridge_src SEC(".maps");

/* Which port (ifindex) owns each exact address: the first to use it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cg_addr_key);
	__type(value, __u32);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_bridge_bind SEC(".maps");

/* bridge.allowed_sources prefixes: any port may use them. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct cg_lpm_key);
	__type(value, __u8);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_bridge_nets SEC(".maps");

/* IPv6: the same three, by /128 and by IPv6 prefix. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cg_addr6_key);
	__type(value, struct cg_bridge_src);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_bridge_src6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cg_addr6_key);
	__type(value, __u32);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_bridge_bind6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct cg_lpm6_key);
	__type(value, __u8);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_bridge_nets6 SEC(".maps");

/* ---- observability (see abi.h) ------------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct cg_service_counters);
	__uint(max_entries, CG_MAX_SERVICES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_service_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct cg_table_stats);
	__uint(max_entries, CG_STATS__SLOTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_table_stats SEC(".maps");

/* Drop and trace events for `cellgate monitor`. 256 KiB holds about 4000
 * events: several seconds of the default rate on every CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct cg_monitor);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_monitor SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct cg_event_stats);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cg_event_stats SEC(".maps");

#endif
