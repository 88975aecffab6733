// SPDX-License-Identifier: MIT
/*
 * IPv6 on wg0 (issue 17): the cases of fixtures.h and flow_cases.h over
 * IPv6 on the dual-stack fixture cell (v6_fixture.h), plus what only
 * IPv6 has: extension headers, its fragments, ICMPv6 (Packet Too Big,
 * neighbour discovery), the IPv4-only cell, and the uplink programs
 * passing IPv6 untouched. Every denial has its positive control in the
 * same table or flow and checks its drop reason's counter.
 */
#ifndef CG_TEST_V6_CASES_H
#define CG_TEST_V6_CASES_H

#include "v6_fixture.h"

#define TCP6(s, sp, d, dp, fl, ...) \
	TCP(s, sp, d, dp, fl, .l3 = PKT_IPV6, __VA_ARGS__)
#define UDP6(s, sp, d, dp, ...) UDP(s, sp, d, dp, .l3 = PKT_IPV6, __VA_ARGS__)
#define ICMP6(s, d, type, ...)                                               \
	{                                                                    \
		.l3 = PKT_IPV6, .src = s, .dst = d, .proto = IPPROTO_ICMPV6, \
		.icmp_type = type, __VA_ARGS__                               \
	}

/* ---- named packets ------------------------------------------------------- */

static const struct pkt_desc cal6_syn =
	TCP6(ALICE6, 40000, CALENDAR6, 80, TH_SYN, );
static const struct pkt_desc cal6_synack =
	TCP6(CALENDAR6, 80, ALICE6, 40000, TH_SYN | TH_ACK, );
static const struct pkt_desc cal6_ack =
	TCP6(ALICE6, 40000, CALENDAR6, 80, TH_ACK, );
static const struct pkt_desc cal6_data =
	TCP6(ALICE6, 40000, CALENDAR6, 80, TH_ACK | TH_PSH, .payload_len = 100);
static const struct pkt_desc dns6_query =
	UDP6(ALICE6, 41000, DNS6, 53, .payload_len = 32);
static const struct pkt_desc dns6_answer =
	UDP6(DNS6, 53, ALICE6, 41000, .payload_len = 80);
static const struct pkt_desc ping6_req = ICMP6(
	ALICE6, CALENDAR6, ICMP6_T_ECHO, .icmp_id = 0x1234, .payload_len = 56);
static const struct pkt_desc ping6_rep =
	ICMP6(CALENDAR6, ALICE6, ICMP6_T_ECHOREPLY, .icmp_id = 0x1234,
	      .payload_len = 56);
static const struct pkt_desc p2p6_syn = TCP6(ALICE6, 42000, BOB6, 22, TH_SYN, );
static const struct pkt_desc p2p6_synack =
	TCP6(BOB6, 22, ALICE6, 42000, TH_SYN | TH_ACK, );
/* bob's internet flow, big packets: Packet Too Big comes back. */
static const struct pkt_desc inet6_big =
	TCP6(BOB6, 43000, INTERNET6, 443, TH_ACK, .payload_len = 1400);
static const struct pkt_desc inet6_syn =
	TCP6(BOB6, 43000, INTERNET6, 443, TH_SYN, );
static const struct pkt_desc stray6 =
	TCP6(BOB6, 43999, INTERNET6, 443, TH_ACK, .payload_len = 1400);
/* alice's fragmented DNS query; a denied fragmented datagram. */
static const struct pkt_desc dns6_frag1 = UDP6(
	ALICE6, 41001, DNS6, 53, .ip_id = 777, .mf = true, .payload_len = 64);
static const struct pkt_desc dns6_frag2 =
	UDP6(ALICE6, 41001, DNS6, 53, .ip_id = 777, .frag_off = 9,
	     .payload_len = 40);
static const struct pkt_desc dns6_frag_unknown =
	UDP6(ALICE6, 41001, DNS6, 53, .ip_id = 778, .frag_off = 9,
	     .payload_len = 40);
static const struct pkt_desc files6_frag1 =
	TCP6(ALICE6, 41002, FILES6, 443, TH_SYN, .ip_id = 900, .mf = true);
static const struct pkt_desc files6_frag2 =
	TCP6(ALICE6, 41002, FILES6, 443, 0, .ip_id = 900, .frag_off = 5,
	     .payload_len = 16);

/* ---- single packets ------------------------------------------------------ */

static const struct bpf_case v6_cases[] = {
	{ "v6: alice SYN to calendar6:80 opens a flow", INGRESS, &cal6_syn,
	  PASS("alice"), CT(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL, 60) },
	{ "v6: alice to files6:443 is denied", INGRESS,
	  PKT(TCP6(ALICE6, 40010, FILES6, 443, TH_SYN, )),
	  DROP(CG_DROP_SERVICE_DENIED, "alice"), NO_CT },
	{ "v6: bob to files6:443 passes (port 0 = all ports)", INGRESS,
	  PKT(TCP6(BOB6, 40011, FILES6, 443, TH_SYN, )), PASS("bob"),
	  CT(CG_CT_FROM_WG, CG_CT_NEW, "bob", NULL, 60) },
	{ "v6: unknown source fd10::99 is dropped", INGRESS,
	  PKT(TCP6(STRANGER6, 40020, CALENDAR6, 80, TH_SYN, )),
	  DROP(CG_DROP_UNKNOWN_SOURCE, NULL), NO_CT },
	{ "v6: alice to bob passes (both peer_to_peer)", INGRESS, &p2p6_syn,
	  PASS("alice"), CT(CG_CT_FROM_WG, CG_CT_NEW, "alice", "bob", 60) },
	{ "v6: alice to carol: carol is isolated", INGRESS,
	  PKT(TCP6(ALICE6, 40030, CAROL6, 22, TH_SYN, )),
	  DROP(CG_DROP_PEER_ISOLATION, "alice"), NO_CT },
	{ "v6: bob to the internet passes", INGRESS, &inet6_syn, PASS("bob"),
	  CT(CG_CT_FROM_WG, CG_CT_NEW, "bob", NULL, 60) },
	{ "v6: alice has no internet", INGRESS,
	  PKT(UDP6(ALICE6, 40040, INTERNET6, 53, )),
	  DROP(CG_DROP_NO_INTERNET, "alice"), NO_CT },
	{ "v6: alice to the router fd10::1:22 is no service", INGRESS,
	  PKT(TCP6(ALICE6, 40042, ROUTER6, 22, TH_SYN, )),
	  DROP(CG_DROP_NOT_A_SERVICE, "alice"), NO_CT },
	{ "v6: bob (internet) to link-local fe80::1 is the router's", INGRESS,
	  PKT(TCP6(BOB6, 40043, LINKLOCAL6, 22, TH_SYN, )),
	  DROP(CG_DROP_NOT_A_SERVICE, "bob"), NO_CT },
	{ "v6: bob (internet) to multicast ff02::1 is the router's", INGRESS,
	  PKT(UDP6(BOB6, 40044, ALLNODES6, 5353, )),
	  DROP(CG_DROP_NOT_A_SERVICE, "bob"), NO_CT },
	{ "v6: alice udp to dns6:53", INGRESS, &dns6_query, PASS("alice"),
	  CT(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL, 30) },
	{ "v6: alice echo request to calendar6 (ping)", INGRESS, &ping6_req,
	  PASS("alice"), CT(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL, 30) },
	{ "v6: carol echo request to calendar6 is denied", INGRESS,
	  PKT(ICMP6(CAROL6, CALENDAR6, ICMP6_T_ECHO, .icmp_id = 7)),
	  DROP(CG_DROP_SERVICE_DENIED, "carol"), NO_CT },
	{ "v6: alice echo reply with no flow is unrelated", INGRESS,
	  PKT(ICMP6(ALICE6, CALENDAR6, ICMP6_T_ECHOREPLY, .icmp_id = 7)),
	  DROP(CG_DROP_ICMP_UNRELATED, "alice"), NO_CT },
	{ "v6: ICMPv6 type 200 is unsupported", INGRESS,
	  PKT(ICMP6(ALICE6, CALENDAR6, 200, )),
	  DROP(CG_DROP_ICMP_UNSUPPORTED, "alice"), NO_CT },
	/* extension headers */
	{ "v6: hop-by-hop + destination options on an allowed flow pass",
	  INGRESS,
	  PKT(TCP6(ALICE6, 40050, CALENDAR6, 80, TH_SYN,
		   .ext = { PKT_NH_HOP, PKT_NH_DEST }, .n_ext = 2)),
	  PASS("alice"), CT(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL, 60) },
	{ "v6: four extension headers (the most walked) pass", INGRESS,
	  PKT(UDP6(ALICE6, 40051, DNS6, 53,
		   .ext = { PKT_NH_HOP, PKT_NH_DEST, PKT_NH_ROUTING,
			    PKT_NH_DEST },
		   .n_ext = 4)),
	  PASS("alice"), CT(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL, 30) },
	{ "v6: extension headers on a denied flow are still denied", INGRESS,
	  PKT(TCP6(ALICE6, 40052, FILES6, 80, TH_SYN, .ext = { PKT_NH_DEST },
		   .n_ext = 1)),
	  DROP(CG_DROP_SERVICE_DENIED, "alice"), NO_CT },
	{ "v6: five extension headers are unsupported (ipv6)", INGRESS,
	  PKT(UDP6(ALICE6, 40053, DNS6, 53,
		   .ext = { PKT_NH_HOP, PKT_NH_DEST, PKT_NH_ROUTING,
			    PKT_NH_DEST, PKT_NH_DEST },
		   .n_ext = 5)),
	  DROP(CG_DROP_IPV6, "alice"), NO_CT },
	{ "v6: a routing header with segments left is unsupported (ipv6)",
	  INGRESS,
	  PKT(TCP6(ALICE6, 40054, CALENDAR6, 80, TH_SYN,
		   .ext = { PKT_NH_ROUTING }, .n_ext = 1, .segs_left = 1)),
	  DROP(CG_DROP_IPV6, "alice"), NO_CT },
	{ "v6: hop-by-hop after another header is malformed", INGRESS,
	  PKT(TCP6(ALICE6, 40055, CALENDAR6, 80, TH_SYN,
		   .ext = { PKT_NH_DEST, PKT_NH_HOP }, .n_ext = 2)),
	  DROP(CG_DROP_MALFORMED, "alice"), NO_CT },
	{ "v6: TCP header cut before the flags is malformed", INGRESS,
	  PKT(TCP6(ALICE6, 40056, CALENDAR6, 80, TH_SYN,
		   .truncate = 14 + 40 + 12)),
	  DROP(CG_DROP_MALFORMED, "alice"), NO_CT },
	{ "v6: a later fragment of no known datagram", INGRESS,
	  &dns6_frag_unknown, DROP(CG_DROP_FRAGMENT, "alice"), NO_CT },
	/* wg0 egress */
	{ "v6: bridge calendar6 -> alice opens a flow", EGRESS,
	  PKT(TCP6(CALENDAR6, 50000, ALICE6, 8443, TH_SYN, )), PASS("alice"),
	  CT(CG_CT_TO_WG, CG_CT_NEW, NULL, "alice", 60) },
	{ "v6: the internet -> alice is unsolicited", EGRESS,
	  PKT(TCP6(OUTSIDER6, 50001, ALICE6, 22, TH_SYN, )),
	  DROP(CG_DROP_UNSOLICITED, "alice"), NO_CT },
	{ "v6: to no identity passes uncounted (WireGuard drops it)",
	  EGRESS,
	  PKT(TCP6(CALENDAR6, 50002, NOBODY6, 22, TH_SYN, )),
	  { .verdict = TC_ACT_OK, .uncounted = true },
	  NO_CT },
	/* neighbour discovery */
	{ "v6: the router's neighbour solicitation to alice (hop limit 255)",
	  EGRESS,
	  PKT(ICMP6(LINKLOCAL6, ALICE6, ICMP6_T_NS, .hop_limit = 255,
		    .payload_len = 16)),
	  PASS("alice"), NO_CT },
	{ "v6: a forwarded one (hop limit 64) is not neighbour discovery",
	  EGRESS, PKT(ICMP6(LINKLOCAL6, ALICE6, ICMP6_T_NS, .payload_len = 16)),
	  DROP(CG_DROP_ICMP_UNSUPPORTED, "alice"), NO_CT },
	{ "v6: router advertisement to all nodes passes (no identity)",
	  EGRESS,
	  PKT(ICMP6(LINKLOCAL6, ALLNODES6, ICMP6_T_RA, .hop_limit = 255,
		    .payload_len = 8)),
	  { .verdict = TC_ACT_OK, .uncounted = true },
	  NO_CT },
	{ "v6: alice's neighbour solicitation to the router passes", INGRESS,
	  PKT(ICMP6(ALICE6, SOLICITED6, ICMP6_T_NS, .hop_limit = 255,
		    .payload_len = 16)),
	  PASS("alice"), NO_CT },
	{ "v6: alice's router advertisement is refused", INGRESS,
	  PKT(ICMP6(ALICE6, ALLNODES6, ICMP6_T_RA, .hop_limit = 255,
		    .payload_len = 8)),
	  DROP(CG_DROP_ICMP_UNSUPPORTED, "alice"), NO_CT },
	{ "v6: alice's solicitation with hop limit 64 is refused", INGRESS,
	  PKT(ICMP6(ALICE6, SOLICITED6, ICMP6_T_NS, .payload_len = 16)),
	  DROP(CG_DROP_ICMP_UNSUPPORTED, "alice"), NO_CT },
};

static void run_v6_case(struct suite *s, const struct bpf_case *tc)
{
	struct check c = { 0 };

	ct_flush(s);
	v6_ct_flush();
	if (send6(s, &c, NULL, tc->hook, tc->pkt, &tc->exp) &&
	    tc->exp.verdict == TC_ACT_OK)
		expect_ct6(s, &c, tc->pkt, &tc->ct);
	report(s, tc->name, &c);
}

#include "v6_flows.h"

static void run_v6_cases(struct suite *s)
{
	struct check c = { 0 };
	size_t i;

	if (!v6_cell_build(s, &c, true)) {
		report(s, "v6: build the dual-stack fixture cell", &c);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(v6_cases); i++)
		run_v6_case(s, &v6_cases[i]);
	for (i = 0; i < ARRAY_SIZE(v6_flows); i++) {
		memset(&c, 0, sizeof(c));
		ct_flush(s); /* the budgets too: IPv6 flows take from them */
		if (v6_cell_build(s, &c, true))
			v6_flows[i].run(s, &c);
		report(s, v6_flows[i].name, &c);
	}
	/* The next suites expect the IPv4-only cell. */
	memset(&c, 0, sizeof(c));
	if (!v6_set_enabled(&c, false))
		report(s, "v6: back to an IPv4-only cell", &c);
}

#endif
