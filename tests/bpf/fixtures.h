// SPDX-License-Identifier: MIT
/*
 * The test cell and its packets, as data. A case names a hook, a packet
 * and what must happen: the verdict, the drop reason, whose counters move
 * and the conntrack entry left behind. bpf_test.c runs the table; flows
 * (several packets, or a policy change between them) reuse the named
 * packets defined here.
 */
#ifndef CG_TEST_FIXTURES_H
#define CG_TEST_FIXTURES_H

#include <linux/pkt_cls.h>
#include <stdbool.h>

#include "abi.h"
#include "pktgen.h"

/* ---- the cell ------------------------------------------------------------ */

#define ROUTER "10.0.0.1"
#define ALICE "10.0.0.2"
#define BOB "10.0.0.3"
#define CAROL "10.0.0.4"
#define STRANGER "10.0.0.99" /* in the wg subnet, no peer */
#define NOBODY "10.0.0.200" /* egress only: no identity at all */
#define CALENDAR "172.20.0.21"
#define FILES "172.20.0.22"
#define DNS "172.20.0.53"
#define BRIDGE_FREE "172.20.0.99" /* bridge address without a service */
#define INTERNET "8.8.8.8"
#define OUTSIDER "203.0.113.5"

static const char cell_config_json[] =
	"{\"cell_name\":\"bpftest\",\"domain\":\"bpftest.cell\","
	"\"wireguard\":{\"address\":\"10.0.0.1/24\"},"
	"\"bridge\":{\"interface\":\"br-cell\",\"subnet\":\"172.20.0.0/16\"},"
	"\"limits\":{\"max_peers\":64,\"conntrack_tcp\":1024,"
	"\"conntrack_other\":1024}}";

struct named_json {
	const char *name;
	const char *json;
};

/* Ids follow this order (calendar 0 ... ping 3). */
static const struct named_json cell_services[] = {
	{ "calendar",
	  "{\"endpoints\":[{\"ip\":\"172.20.0.21\",\"proto\":\"tcp\","
	  "\"port\":80}]}" },
	{ "files", "{\"endpoints\":[{\"ip\":\"172.20.0.22\",\"proto\":\"tcp\","
		   "\"port\":0}]}" },
	{ "dns", "{\"endpoints\":[{\"ip\":\"172.20.0.53\",\"proto\":\"udp\","
		 "\"port\":53},{\"ip\":\"172.20.0.53\",\"proto\":\"tcp\","
		 "\"port\":53}]}" },
	{ "ping",
	  "{\"endpoints\":[{\"ip\":\"172.20.0.21\",\"proto\":\"icmp\"}]}" },
};

/* Public keys are added by the test (distinct per peer). Identity ids
 * follow this order: alice 1, bob 2, carol 3. */
static const struct named_json cell_peers[] = {
	{ "alice", "{\"name\":\"alice\",\"ip\":\"10.0.0.2\","
		   "\"service_access\":[\"calendar\",\"dns\",\"ping\"],"
		   "\"peer_to_peer\":true,\"internet_access\":false}" },
	{ "bob", "{\"name\":\"bob\",\"ip\":\"10.0.0.3\","
		 "\"service_access\":[\"files\"],"
		 "\"peer_to_peer\":true,\"internet_access\":true}" },
	{ "carol", "{\"name\":\"carol\",\"ip\":\"10.0.0.4\","
		   "\"service_access\":[],"
		   "\"peer_to_peer\":false,\"internet_access\":false}" },
};

/* Counter slots the tests watch: CG_IDENT_UNKNOWN and the three peers. */
#define N_IDENTS 4

/* ---- packet shorthands --------------------------------------------------- */

#define TCP(s, sp, d, dp, fl, ...)                                 \
	{                                                          \
		.src = s, .sport = sp, .dst = d, .dport = dp,      \
		.proto = IPPROTO_TCP, .tcp_flags = fl, __VA_ARGS__ \
	}
#define UDP(s, sp, d, dp, ...)                                \
	{                                                     \
		.src = s, .sport = sp, .dst = d, .dport = dp, \
		.proto = IPPROTO_UDP, __VA_ARGS__             \
	}
#define ICMP(s, d, type, ...)                                                 \
	{                                                                     \
		.src = s, .dst = d, .proto = IPPROTO_ICMP, .icmp_type = type, \
		__VA_ARGS__                                                   \
	}

/* ---- named packets of the flows ------------------------------------------ */

/* alice <-> calendar over TCP (service, allowed). */
static const struct pkt_desc cal_syn = TCP(ALICE, 40000, CALENDAR, 80, TH_SYN);
static const struct pkt_desc cal_synack =
	TCP(CALENDAR, 80, ALICE, 40000, TH_SYN | TH_ACK);
static const struct pkt_desc cal_ack = TCP(ALICE, 40000, CALENDAR, 80, TH_ACK);
static const struct pkt_desc cal_data =
	TCP(ALICE, 40000, CALENDAR, 80, TH_ACK | TH_PSH, .payload_len = 100);
static const struct pkt_desc cal_reply =
	TCP(CALENDAR, 80, ALICE, 40000, TH_ACK | TH_PSH, .payload_len = 400);
static const struct pkt_desc cal_fin =
	TCP(ALICE, 40000, CALENDAR, 80, TH_FIN | TH_ACK);
static const struct pkt_desc cal_fin_reply =
	TCP(CALENDAR, 80, ALICE, 40000, TH_FIN | TH_ACK);
static const struct pkt_desc cal_last_ack =
	TCP(ALICE, 40000, CALENDAR, 80, TH_ACK);
static const struct pkt_desc cal_rst = TCP(CALENDAR, 80, ALICE, 40000, TH_RST);
/* After calendar moves to port 8080. */
static const struct pkt_desc cal8080_syn =
	TCP(ALICE, 40001, CALENDAR, 8080, TH_SYN);

/* alice <-> dns over UDP. */
static const struct pkt_desc dns_query =
	UDP(ALICE, 41000, DNS, 53, .payload_len = 32);
static const struct pkt_desc dns_answer =
	UDP(DNS, 53, ALICE, 41000, .payload_len = 80);
/* alice says the answer's port is closed: about dns -> alice. */
static const struct pkt_desc dns_answer_unreach =
	ICMP(ALICE, DNS, ICMP_T_UNREACH, .icmp_code = ICMP_C_PORT_UNREACH,
	     .inner = &dns_answer);
/* The same error about a flow that does not exist. */
static const struct pkt_desc stray_answer = UDP(DNS, 53, ALICE, 41999);
static const struct pkt_desc stray_unreach =
	ICMP(ALICE, DNS, ICMP_T_UNREACH, .icmp_code = ICMP_C_PORT_UNREACH,
	     .inner = &stray_answer);
/* carol (no internet, isolated) wraps alice's flow in an error sent to
 * the internet: the inner tuple is known, the error is not carol's. */
static const struct pkt_desc carol_forged_error =
	ICMP(CAROL, INTERNET, ICMP_T_UNREACH, .icmp_code = ICMP_C_PORT_UNREACH,
	     .inner = &dns_answer, .payload_len = 200);
/* Addressed right (to the quoted packet's sender) but not from the
 * identity the quoted packet went to. */
static const struct pkt_desc carol_error_to_dns =
	ICMP(CAROL, DNS, ICMP_T_UNREACH, .icmp_code = ICMP_C_PORT_UNREACH,
	     .inner = &dns_answer);
/* From the right identity, addressed elsewhere: alice has no internet. */
static const struct pkt_desc alice_misdirected_error =
	ICMP(ALICE, INTERNET, ICMP_T_UNREACH, .icmp_code = ICMP_C_PORT_UNREACH,
	     .inner = &dns_answer, .payload_len = 200);
/* The same trick toward carol from outside: an error quoting alice's
 * flow, addressed to carol. */
static const struct pkt_desc forged_error_to_carol =
	ICMP(OUTSIDER, CAROL, ICMP_T_UNREACH, .icmp_code = ICMP_C_PORT_UNREACH,
	     .inner = &dns_query);

/* alice <-> calendar ICMP echo (the ping service). */
static const struct pkt_desc ping_req = ICMP(
	ALICE, CALENDAR, ICMP_T_ECHO, .icmp_id = 0x1234, .payload_len = 56);
static const struct pkt_desc ping_rep =
	ICMP(CALENDAR, ALICE, ICMP_T_ECHOREPLY, .icmp_id = 0x1234,
	     .payload_len = 56);

/* A fragmented DNS query: first fragment, a later one, a stranger. */
static const struct pkt_desc dns_frag1 =
	UDP(ALICE, 41001, DNS, 53, .ip_id = 777, .mf = true, .payload_len = 64);
static const struct pkt_desc dns_frag2 = UDP(
	ALICE, 41001, DNS, 53, .ip_id = 777, .frag_off = 9, .payload_len = 40);
static const struct pkt_desc dns_frag_unknown = UDP(
	ALICE, 41001, DNS, 53, .ip_id = 778, .frag_off = 9, .payload_len = 40);
/* A fragmented datagram whose first fragment policy denies. */
static const struct pkt_desc files_frag1 =
	TCP(ALICE, 41002, FILES, 443, TH_SYN, .ip_id = 900, .mf = true);
static const struct pkt_desc files_frag2 =
	TCP(ALICE, 41002, FILES, 443, 0, .ip_id = 900, .frag_off = 5,
	    .payload_len = 16);

/* The cell opens a flow toward alice. */
static const struct pkt_desc bridge_syn =
	TCP(CALENDAR, 50000, ALICE, 8443, TH_SYN);
static const struct pkt_desc bridge_synack =
	TCP(ALICE, 8443, CALENDAR, 50000, TH_SYN | TH_ACK);

/* Peer to peer and internet. */
static const struct pkt_desc p2p_syn = TCP(ALICE, 42000, BOB, 22, TH_SYN);
static const struct pkt_desc p2p_synack =
	TCP(BOB, 22, ALICE, 42000, TH_SYN | TH_ACK);
static const struct pkt_desc inet_query = UDP(BOB, 43000, INTERNET, 53);
static const struct pkt_desc inet_answer = UDP(INTERNET, 53, BOB, 43000);

/* ---- single-packet cases ------------------------------------------------- */

/* The program a packet runs through: wg0 tc ingress and egress, and the
 * uplink's XDP and tc egress programs (nat_cases.h). */
enum hook { INGRESS, EGRESS, UPLINK_XDP, UPLINK_EGRESS };

/* The conntrack entry a case must leave for its packet's tuple. */
struct ct_expect {
	bool present; /* false: no entry in either direction */
	enum cg_ct_origin origin;
	enum cg_ct_state state;
	const char *src, *dst; /* identities by peer name; NULL: unknown */
	unsigned int life_s; /* expires_ns - now, when non-zero */
	bool seen_reply;
};

struct expect {
	int verdict; /* TC_ACT_OK or TC_ACT_SHOT */
	enum cg_drop_reason reason; /* for TC_ACT_SHOT */
	const char *ident; /* whose counters move; NULL: CG_IDENT_UNKNOWN */
	bool uncounted; /* a pass nobody is charged for */
};

struct bpf_case {
	const char *name;
	enum hook hook;
	const struct pkt_desc *pkt;
	struct expect exp;
	struct ct_expect ct;
};

/* A packet in place, as a compound literal (static storage). */
#define PKT(...) (&(const struct pkt_desc)__VA_ARGS__)
#define PASS(who)                                  \
	{                                          \
		.verdict = TC_ACT_OK, .ident = who \
	}
#define DROP(why, who)                                              \
	{                                                           \
		.verdict = TC_ACT_SHOT, .reason = why, .ident = who \
	}
/* Checked for every case: a drop never leaves an entry either. */
#define NO_CT                    \
	{                        \
		.present = false \
	}
#define CT(orig, st, s, d, life)                                        \
	{                                                               \
		.present = true, .origin = orig, .state = st, .src = s, \
		.dst = d, .life_s = life                                \
	}

static const struct bpf_case cases[] = {
	/* 1, 2: services */
	{ "alice SYN to calendar:80 opens a flow", INGRESS, &cal_syn,
	  PASS("alice"), CT(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL, 60) },
	{ "alice to files:443 is denied", INGRESS,
	  PKT(TCP(ALICE, 40010, FILES, 443, TH_SYN)),
	  DROP(CG_DROP_SERVICE_DENIED, "alice"), NO_CT },
	{ "bob to files:443 passes (port 0 = all ports)", INGRESS,
	  PKT(TCP(BOB, 40011, FILES, 443, TH_SYN)), PASS("bob"),
	  CT(CG_CT_FROM_WG, CG_CT_NEW, "bob", NULL, 60) },
	{ "carol (no access) to files is denied", INGRESS,
	  PKT(TCP(CAROL, 40012, FILES, 22, TH_SYN)),
	  DROP(CG_DROP_SERVICE_DENIED, "carol"), NO_CT },
	{ "alice to calendar:80 over udp is no service", INGRESS,
	  PKT(UDP(ALICE, 40013, CALENDAR, 80)),
	  DROP(CG_DROP_NOT_A_SERVICE, "alice"), NO_CT },
	{ "alice to calendar:8080 is no service", INGRESS,
	  PKT(TCP(ALICE, 40014, CALENDAR, 8080, TH_SYN)),
	  DROP(CG_DROP_NOT_A_SERVICE, "alice"), NO_CT },
	/* 4 */
	{ "unknown source 10.0.0.99 is dropped", INGRESS,
	  PKT(TCP(STRANGER, 40020, CALENDAR, 80, TH_SYN)),
	  DROP(CG_DROP_UNKNOWN_SOURCE, NULL), NO_CT },
	/* 5 */
	{ "alice to bob passes (both peer_to_peer)", INGRESS, &p2p_syn,
	  PASS("alice"), CT(CG_CT_FROM_WG, CG_CT_NEW, "alice", "bob", 60) },
	{ "alice to carol: carol is isolated", INGRESS,
	  PKT(TCP(ALICE, 40030, CAROL, 22, TH_SYN)),
	  DROP(CG_DROP_PEER_ISOLATION, "alice"), NO_CT },
	{ "carol to alice: carol is isolated", INGRESS,
	  PKT(TCP(CAROL, 40031, ALICE, 22, TH_SYN)),
	  DROP(CG_DROP_PEER_ISOLATION, "carol"), NO_CT },
	/* 6 */
	{ "bob to 8.8.8.8:53 udp passes (internet)", INGRESS, &inet_query,
	  PASS("bob"), CT(CG_CT_FROM_WG, CG_CT_NEW, "bob", NULL, 30) },
	{ "alice to 8.8.8.8 has no internet", INGRESS,
	  PKT(UDP(ALICE, 40040, INTERNET, 53)),
	  DROP(CG_DROP_NO_INTERNET, "alice"), NO_CT },
	{ "alice to bridge 172.20.0.99:80 is no service", INGRESS,
	  PKT(TCP(ALICE, 40041, BRIDGE_FREE, 80, TH_SYN)),
	  DROP(CG_DROP_NOT_A_SERVICE, "alice"), NO_CT },
	{ "alice to the router 10.0.0.1:22 is no service", INGRESS,
	  PKT(TCP(ALICE, 40042, ROUTER, 22, TH_SYN)),
	  DROP(CG_DROP_NOT_A_SERVICE, "alice"), NO_CT },
	/* 7: parsing */
	{ "IPv6 frame is dropped", INGRESS,
	  PKT({ .l3 = PKT_IPV6,
		.src = "fd00::2",
		.dst = "fd00::1",
		.proto = IPPROTO_TCP,
		.sport = 1,
		.dport = 80,
		.tcp_flags = TH_SYN }),
	  DROP(CG_DROP_IPV6, NULL), NO_CT },
	{ "IPv6 frame is dropped at egress", EGRESS,
	  PKT({ .l3 = PKT_IPV6,
		.src = "fd00::1",
		.dst = "fd00::2",
		.proto = IPPROTO_UDP,
		.sport = 53,
		.dport = 1 }),
	  DROP(CG_DROP_IPV6, NULL), NO_CT },
	{ "ARP frame is unsupported L3", INGRESS, PKT({ .l3 = PKT_ARP }),
	  DROP(CG_DROP_UNSUPPORTED_L3, NULL), NO_CT },
	/* The kernel refuses ETH_P_IP frames with less than 20 bytes of IP
	 * header (EINVAL), so the header is cut inside its options. Once the
	 * addresses are read, drops are charged to the sender. */
	{ "IPv4 header cut inside its options is malformed", INGRESS,
	  PKT(TCP(ALICE, 40050, CALENDAR, 80, TH_SYN, .opt_len = 8,
		  .truncate = 14 + 24)),
	  DROP(CG_DROP_MALFORMED, "alice"), NO_CT },
	{ "TCP header cut before the flags is malformed", INGRESS,
	  PKT(TCP(ALICE, 40051, CALENDAR, 80, TH_SYN,
		  .truncate = 14 + 20 + 12)),
	  DROP(CG_DROP_MALFORMED, "alice"), NO_CT },
	{ "IHL 4 (< 5) is malformed", INGRESS,
	  PKT(TCP(ALICE, 40052, CALENDAR, 80, TH_SYN, .ihl = 4)),
	  DROP(CG_DROP_MALFORMED, NULL), NO_CT },
	{ "IHL 15 beyond the packet is malformed", INGRESS,
	  PKT(TCP(ALICE, 40053, CALENDAR, 80, TH_SYN, .ihl = 15)),
	  DROP(CG_DROP_MALFORMED, NULL), NO_CT },
	{ "IP options (IHL 6) on an allowed flow pass", INGRESS,
	  PKT(TCP(ALICE, 40054, CALENDAR, 80, TH_SYN, .opt_len = 4)),
	  PASS("alice"), CT(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL, 60) },
	{ "IP options (IHL 15, 40 bytes) on an allowed flow pass", INGRESS,
	  PKT(UDP(ALICE, 40055, DNS, 53, .opt_len = 40)), PASS("alice"),
	  CT(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL, 30) },
	{ "IP options on a denied flow are still denied", INGRESS,
	  PKT(TCP(ALICE, 40056, FILES, 80, TH_SYN, .opt_len = 8)),
	  DROP(CG_DROP_SERVICE_DENIED, "alice"), NO_CT },
	/* 8 */
	{ "alice udp to dns:53 opens a non-TCP flow", INGRESS, &dns_query,
	  PASS("alice"), CT(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL, 30) },
	{ "alice tcp to dns:53 passes", INGRESS,
	  PKT(TCP(ALICE, 40060, DNS, 53, TH_SYN)), PASS("alice"),
	  CT(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL, 60) },
	/* 9 */
	{ "alice echo request to calendar (ping)", INGRESS, &ping_req,
	  PASS("alice"), CT(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL, 30) },
	{ "carol echo request to calendar is denied", INGRESS,
	  PKT(ICMP(CAROL, CALENDAR, ICMP_T_ECHO, .icmp_id = 7)),
	  DROP(CG_DROP_SERVICE_DENIED, "carol"), NO_CT },
	{ "alice echo reply with no flow is unrelated", INGRESS,
	  PKT(ICMP(ALICE, CALENDAR, ICMP_T_ECHOREPLY, .icmp_id = 7)),
	  DROP(CG_DROP_ICMP_UNRELATED, "alice"), NO_CT },
	{ "ICMP timestamp (type 13) is unsupported", INGRESS,
	  PKT(ICMP(ALICE, CALENDAR, ICMP_T_TSTAMP, .payload_len = 12)),
	  DROP(CG_DROP_ICMP_UNSUPPORTED, "alice"), NO_CT },
	/* 10 */
	{ "ICMP error about an unknown flow is unrelated", INGRESS,
	  &stray_unreach, DROP(CG_DROP_ICMP_UNRELATED, "alice"), NO_CT },
	{ "ICMP error quoting a truncated inner header is malformed", INGRESS,
	  PKT(ICMP(ALICE, DNS, ICMP_T_UNREACH, .icmp_code = ICMP_C_PORT_UNREACH,
		   .inner = &dns_answer, .truncate = 14 + 20 + 8 + 12)),
	  DROP(CG_DROP_MALFORMED, "alice"), NO_CT },
	/* 11 */
	{ "later fragment with an unknown IP id is dropped", INGRESS,
	  &dns_frag_unknown, DROP(CG_DROP_FRAGMENT, "alice"), NO_CT },
	/* 13: egress */
	{ "egress: bridge opens a flow to alice", EGRESS, &bridge_syn,
	  PASS("alice"), CT(CG_CT_TO_WG, CG_CT_NEW, NULL, "alice", 60) },
	{ "egress: router pings alice", EGRESS,
	  PKT(ICMP(ROUTER, ALICE, ICMP_T_ECHO, .icmp_id = 99)), PASS("alice"),
	  CT(CG_CT_TO_WG, CG_CT_NEW, NULL, "alice", 30) },
	{ "egress: 203.0.113.5 to alice is unsolicited", EGRESS,
	  PKT(TCP(OUTSIDER, 50001, ALICE, 22, TH_SYN)),
	  DROP(CG_DROP_UNSOLICITED, "alice"), NO_CT },
	{ "egress: to 10.0.0.200 (no identity) passes untouched",
	  EGRESS,
	  PKT(TCP(OUTSIDER, 50002, NOBODY, 22, TH_SYN)),
	  { .verdict = TC_ACT_OK, .uncounted = true },
	  NO_CT },
	{ "egress: echo reply to alice with no flow is unrelated", EGRESS,
	  PKT(ICMP(CALENDAR, ALICE, ICMP_T_ECHOREPLY, .icmp_id = 5)),
	  DROP(CG_DROP_ICMP_UNRELATED, "alice"), NO_CT },
	{ "egress: router's frag-needed to alice passes", EGRESS,
	  PKT(ICMP(ROUTER, ALICE, ICMP_T_UNREACH,
		   .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &dns_query)),
	  PASS("alice"), NO_CT },
	{ "egress: ICMP error from outside about no flow is unrelated", EGRESS,
	  PKT(ICMP(OUTSIDER, ALICE, ICMP_T_UNREACH,
		   .icmp_code = ICMP_C_PORT_UNREACH, .inner = &stray_answer)),
	  DROP(CG_DROP_ICMP_UNRELATED, "alice"), NO_CT },
	{ "egress: later fragment with an unknown IP id is dropped", EGRESS,
	  PKT(UDP(DNS, 53, ALICE, 41000, .ip_id = 5, .frag_off = 3)),
	  DROP(CG_DROP_FRAGMENT, "alice"), NO_CT },
};

#endif
