// SPDX-License-Identifier: MIT
/*
 * NAT66 and the routed prefix on the uplink (issue 17): each rewrite
 * checked byte for byte against a frame pktgen builds on its own, every
 * checksum of the output recomputed by nat_fixture.h's verifier (IPv6's
 * pseudo header, ICMPv6's included), the cg_nat6 entries a translation
 * leaves, the counters that move, and the reply path back.
 *
 * Included by bpf_test.c after nat_cases.h and v6_cases.h; each flow on
 * a fresh NAT cell with IPv6 (nat6_cell_build).
 */
#ifndef CG_TEST_NAT6_CASES_H
#define CG_TEST_NAT6_CASES_H

#define UPLINK6 "2001:db8:f::1" /* the uplink's IPv6 address */
#define PATH_ROUTER6 "2001:db8::1" /* sends ICMPv6 errors */
#define PREFIX6 "2001:db8:c::" /* the routed prefix, /48 */
#define BOB6_ROUTED "2001:db8:c::3" /* bob's address inside it */
#define TRANSIT6 "2001:db8:99::1" /* routed through, not the cell's */

static int nat6_fd(const struct suite *s)
{
	return s->dp.map_fd[DP_MAP_NAT6];
}

static bool nat6_settings(struct check *c, bool masquerade, bool prefix)
{
	struct cg_settings6 set = { .masquerade = masquerade };
	uint32_t zero = 0;

	inet_pton(AF_INET6, ROUTER6, set.wg_addr);
	inet_pton(AF_INET6, UPLINK6, set.uplink_addr);
	if (prefix) {
		inet_pton(AF_INET6, PREFIX6, set.prefix);
		set.prefix_len = 48;
	}
	if (bpf_map_update_elem(v6_fd[V6_SETTINGS], &zero, &set, BPF_ANY))
		return failf(c, "cg_settings6: %s", strerror(errno));
	return true;
}

/* The NAT cell, dual stack: the fixture's IPv6 networks and peers, the
 * uplink's IPv6 address, masquerade on, no routed prefix. */
static bool nat6_cell_build(struct suite *s, struct check *c)
{
	if (!nat_cell_build(s, c) || !v6_open_maps(c))
		return false;
	c->step = "NAT66 setup";
	map_flush(v6_fd[V6_PEERS]);
	map_flush(v6_fd[V6_LOCAL_NETS]);
	map_flush(nat6_fd(s));
	v6_ct_flush();
	if (!v6_put_net(c, "fd10::", 64, CG_NET_WG_SUBNET) ||
	    !v6_put_net(c, "fd20::", 64, CG_NET_BRIDGE) || !v6_mirror(s, c) ||
	    !nat6_settings(c, true, false))
		return false;
	c->step = NULL;
	return true;
}

static void nat6_cell_teardown(struct suite *s)
{
	struct check c = { 0 };

	map_flush(nat6_fd(s));
	v6_ct_flush();
	v6_set_enabled(&c, false);
	nat_cell_teardown(s);
}

static size_t nat6_count(struct suite *s)
{
	struct cg_ct6_key k, next;
	size_t n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(nat6_fd(s), prev, &next) && n < 100000) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

static bool expect_nat6_count(struct suite *s, struct check *c, size_t want)
{
	return expect_eq(c, "cg_nat6 entries", want, nat6_count(s));
}

/* The cg_nat6 entry at d's tuple: its kind and direction, and the tuple
 * it translates to is to's. */
static bool expect_nat6_entry(struct suite *s, struct check *c,
			      const struct pkt_desc *d, enum cg_nat_kind kind,
			      enum cg_nat_dir dir, const struct pkt_desc *to)
{
	struct cg_nat6_entry e;
	struct cg_ct6_key k, want;

	pkt6_tuple(d, &k);
	pkt6_tuple(to, &want);
	if (bpf_map_lookup_elem(nat6_fd(s), &k, &e))
		return failf(c, "cg_nat6: no entry for %s port %u", d->src,
			     d->sport);
	if (memcmp(&e.to, &want, sizeof(want)))
		return failf(c, "cg_nat6 entry of %s: another tuple", d->src);
	return expect_eq(c, "cg_nat6.kind", kind, e.kind) &&
	       expect_eq(c, "cg_nat6.dir", dir, e.dir);
}

/* ---- masquerade ------------------------------------------------------------ */

static bool nat6_masq_tcp(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP6(BOB6, 45000, INTERNET6, 443, TH_SYN, );
	const struct pkt_desc syn_out =
		TCP6(UPLINK6, 45000, INTERNET6, 443, TH_SYN, );
	const struct pkt_desc synack =
		TCP6(INTERNET6, 443, UPLINK6, 45000, TH_SYN | TH_ACK, );
	const struct pkt_desc synack_out =
		TCP6(INTERNET6, 443, BOB6, 45000, TH_SYN | TH_ACK, );
	const struct pkt_desc data = TCP6(BOB6, 45000, INTERNET6, 443,
					  TH_ACK | TH_PSH, .payload_len = 200);
	const struct pkt_desc data_out =
		TCP6(UPLINK6, 45000, INTERNET6, 443, TH_ACK | TH_PSH,
		     .payload_len = 200);
	const struct pkt_desc reply = TCP6(INTERNET6, 443, UPLINK6, 45000,
					   TH_ACK | TH_PSH, .payload_len = 301);
	const struct pkt_desc reply_out =
		TCP6(INTERNET6, 443, BOB6, 45000, TH_ACK | TH_PSH,
		     .payload_len = 301);
	struct cg_nat_stats a, b;

	return nat_stats(s, c, &a) &&
	       nat_send(s, c, "SYN", UPLINK_EGRESS, &syn, NX_TC_PASS,
			&syn_out) &&
	       expect_nat6_entry(s, c, &syn, CG_NAT_MASQ, CG_NAT_ORIG,
				 &syn_out) &&
	       expect_nat6_entry(s, c, &synack, CG_NAT_MASQ, CG_NAT_REPLY,
				 &synack_out) &&
	       expect_nat6_count(s, c, 2) && expect_nat_count(s, c, 0) &&
	       nat_send(s, c, "SYN-ACK", UPLINK_XDP, &synack, NX_XDP_PASS,
			&synack_out) &&
	       nat_send(s, c, "data", UPLINK_EGRESS, &data, NX_TC_PASS,
			&data_out) &&
	       nat_send(s, c, "reply", UPLINK_XDP, &reply, NX_XDP_PASS,
			&reply_out) &&
	       expect_nat6_count(s, c, 2) && nat_stats(s, c, &b) &&
	       expect_stats(c, &a, &b, 1, 0, 0, 0);
}

static bool nat6_masq_udp_echo(struct suite *s, struct check *c)
{
	const struct pkt_desc q =
		UDP6(BOB6, 41000, INTERNET6, 53, .payload_len = 33);
	const struct pkt_desc q_out =
		UDP6(UPLINK6, 41000, INTERNET6, 53, .payload_len = 33);
	const struct pkt_desc a =
		UDP6(INTERNET6, 53, UPLINK6, 41000, .payload_len = 97);
	const struct pkt_desc a_out =
		UDP6(INTERNET6, 53, BOB6, 41000, .payload_len = 97);
	const struct pkt_desc ping = ICMP6(BOB6, INTERNET6, ICMP6_T_ECHO,
					   .icmp_id = 0x77, .payload_len = 56);
	const struct pkt_desc ping_out =
		ICMP6(UPLINK6, INTERNET6, ICMP6_T_ECHO, .icmp_id = 0x77,
		      .payload_len = 56);
	const struct pkt_desc pong =
		ICMP6(INTERNET6, UPLINK6, ICMP6_T_ECHOREPLY, .icmp_id = 0x77,
		      .payload_len = 56);
	const struct pkt_desc pong_out =
		ICMP6(INTERNET6, BOB6, ICMP6_T_ECHOREPLY, .icmp_id = 0x77,
		      .payload_len = 56);

	return nat_send(s, c, "UDP query", UPLINK_EGRESS, &q, NX_TC_PASS,
			&q_out) &&
	       nat_send(s, c, "UDP answer", UPLINK_XDP, &a, NX_XDP_PASS,
			&a_out) &&
	       nat_send(s, c, "echo request", UPLINK_EGRESS, &ping, NX_TC_PASS,
			&ping_out) &&
	       nat_send(s, c, "echo reply", UPLINK_XDP, &pong, NX_XDP_PASS,
			&pong_out) &&
	       expect_nat6_count(s, c, 4);
}

/* The source port of the IPv6 TCP/UDP packet that passed. */
static uint16_t out6_sport(const struct run *r)
{
	const uint8_t *l4 = r->out + PKT_ETH_LEN + 40;

	return (uint16_t)(l4[0] << 8 | l4[1]);
}

/* The router's own flow holds 45001: bob's flow from that port gets
 * another, and replies reach each of them. */
static bool nat6_router_and_moved(struct suite *s, struct check *c)
{
	const struct pkt_desc own =
		TCP6(UPLINK6, 45001, INTERNET6, 443, TH_SYN, );
	const struct pkt_desc own_back =
		TCP6(INTERNET6, 443, UPLINK6, 45001, TH_SYN | TH_ACK, );
	const struct pkt_desc syn = TCP6(BOB6, 45001, INTERNET6, 443, TH_SYN, );
	struct pkt_desc moved = TCP6(UPLINK6, 0, INTERNET6, 443, TH_SYN, );
	struct pkt_desc back =
		TCP6(INTERNET6, 443, UPLINK6, 0, TH_SYN | TH_ACK, );
	const struct pkt_desc back_out =
		TCP6(INTERNET6, 443, BOB6, 45001, TH_SYN | TH_ACK, );
	struct run r;

	if (!nat_send(s, c, "router's own SYN", UPLINK_EGRESS, &own, NX_TC_PASS,
		      NULL) ||
	    !expect_nat6_entry(s, c, &own_back, CG_NAT_HOST, CG_NAT_REPLY,
			       &own_back) ||
	    !nat_xmit(s, c, "bob's SYN", UPLINK_EGRESS, &syn, NX_TC_PASS, &r))
		return false;
	moved.sport = out6_sport(&r);
	back.dport = moved.sport;
	if (moved.sport == 45001 || moved.sport < NAT_PORT_MIN)
		return failf(c, "bob's flow left from port %u", moved.sport);
	return expect_frame(c, &r, &moved) &&
	       nat_send(s, c, "reply to bob", UPLINK_XDP, &back, NX_XDP_PASS,
			&back_out) &&
	       nat_send(s, c, "reply to the router", UPLINK_XDP, &own_back,
			NX_XDP_PASS, NULL);
}

/* The router's own packet on a tuple masquerade holds is a conflict:
 * its replies would be taken for bob's. */
static bool nat6_router_conflict(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP6(BOB6, 45002, INTERNET6, 443, TH_SYN, );
	const struct pkt_desc own =
		TCP6(UPLINK6, 45002, INTERNET6, 443, TH_ACK, );

	return nat_send(s, c, "bob's SYN (control)", UPLINK_EGRESS, &syn,
			NX_TC_PASS,
			PKT(TCP6(UPLINK6, 45002, INTERNET6, 443, TH_SYN, ))) &&
	       nat_send(s, c, "router on bob's tuple", UPLINK_EGRESS, &own,
			NX_TC_DROP(CG_DROP_NAT_CONFLICT, ID_UNKNOWN), NULL);
}

/* ---- ICMPv6 errors ---------------------------------------------------------- */

/* Packet Too Big about bob's masqueraded flow goes to bob, the quoted
 * packet as he sent it: path MTU discovery through NAT66. */
static bool nat6_ptb(struct suite *s, struct check *c)
{
	const struct pkt_desc data =
		TCP6(BOB6, 45003, INTERNET6, 443, TH_ACK, .payload_len = 300);
	const struct pkt_desc data_out = TCP6(UPLINK6, 45003, INTERNET6, 443,
					      TH_ACK, .payload_len = 300);
	const struct pkt_desc ptb = ICMP6(PATH_ROUTER6, UPLINK6,
					  ICMP6_T_TOO_BIG, .inner = &data_out);
	const struct pkt_desc ptb_out =
		ICMP6(PATH_ROUTER6, BOB6, ICMP6_T_TOO_BIG, .inner = &data);
	const struct pkt_desc q = UDP6(BOB6, 41001, INTERNET6, 53, );
	const struct pkt_desc q_out = UDP6(UPLINK6, 41001, INTERNET6, 53, );
	const struct pkt_desc unreach =
		ICMP6(INTERNET6, UPLINK6, ICMP6_T_UNREACH, .icmp_code = 4,
		      .inner = &q_out);
	const struct pkt_desc unreach_out = ICMP6(
		INTERNET6, BOB6, ICMP6_T_UNREACH, .icmp_code = 4, .inner = &q);
	const struct pkt_desc stray = ICMP6(
		PATH_ROUTER6, UPLINK6, ICMP6_T_TOO_BIG,
		.inner = PKT(TCP6(UPLINK6, 45999, INTERNET6, 443, TH_ACK, )));

	return nat_send(s, c, "data", UPLINK_EGRESS, &data, NX_TC_PASS,
			&data_out) &&
	       nat_send(s, c, "Packet Too Big", UPLINK_XDP, &ptb, NX_XDP_PASS,
			&ptb_out) &&
	       nat_send(s, c, "UDP", UPLINK_EGRESS, &q, NX_TC_PASS, &q_out) &&
	       nat_send(s, c, "port unreachable", UPLINK_XDP, &unreach,
			NX_XDP_PASS, &unreach_out) &&
	       nat_send(s, c, "about no flow: untouched", UPLINK_XDP, &stray,
			NX_XDP_PASS, NULL);
}

/* ---- service DNAT on the wg address6 ----------------------------------- */

#define API6 "fd20::10"
#define DNS6_BACKEND "fd20::53"

/* "api" exposed on both wg addresses: IPv4's entries (nat_fixture.h) and
 * the same ports of the address6 to IPv6 backends. */
static const char api_dual_json[] =
	"{\"endpoints\":[{\"ip\":\"172.20.0.10\",\"proto\":\"tcp\","
	"\"port\":3000}],"
	"\"dnat\":[{\"proto\":\"tcp\",\"port\":3000,\"to_ip\":\"172.20.0.10\","
	"\"to_port\":3000},"
	"{\"proto\":\"udp\",\"port\":53,\"to_ip\":\"172.20.0.53\","
	"\"to_port\":53},"
	"{\"proto\":\"tcp\",\"port\":3000,\"to_ip\":\"" API6 "\","
	"\"to_port\":3001},"
	"{\"proto\":\"udp\",\"port\":53,\"to_ip\":\"" DNS6_BACKEND "\","
	"\"to_port\":53}]}";

static bool nat6_expose_api(struct suite *s, struct check *c)
{
	c->step = "api on the wg address6";
	if (!put_service(s, c, "api", api_dual_json) || !sync_all(s, c) ||
	    !v6_mirror(s, c))
		return false;
	c->step = NULL;
	return true;
}

static bool nat6_dnat_tcp(struct suite *s, struct check *c)
{
	const struct pkt_desc syn =
		TCP6(ALICE6, 40000, ROUTER6, 3000, TH_SYN, );
	const struct pkt_desc syn_out =
		TCP6(ALICE6, 40000, API6, 3001, TH_SYN, );
	const struct pkt_desc synack =
		TCP6(API6, 3001, ALICE6, 40000, TH_SYN | TH_ACK, );
	const struct pkt_desc synack_out =
		TCP6(ROUTER6, 3000, ALICE6, 40000, TH_SYN | TH_ACK, );
	const struct pkt_desc data = TCP6(ALICE6, 40000, ROUTER6, 3000,
					  TH_ACK | TH_PSH, .payload_len = 101);
	const struct pkt_desc data_out = TCP6(
		ALICE6, 40000, API6, 3001, TH_ACK | TH_PSH, .payload_len = 101);
	const struct pkt_desc back = TCP6(API6, 3001, ALICE6, 40000,
					  TH_ACK | TH_PSH, .payload_len = 333);
	const struct pkt_desc back_out =
		TCP6(ROUTER6, 3000, ALICE6, 40000, TH_ACK | TH_PSH,
		     .payload_len = 333);

	return nat6_expose_api(s, c) &&
	       nat_send(s, c, "SYN", INGRESS, &syn, NX_RX(ID_ALICE),
			&syn_out) &&
	       expect_nat6_entry(s, c, &syn, CG_NAT_SERVICE_DNAT, CG_NAT_ORIG,
				 &syn_out) &&
	       expect_nat6_entry(s, c, &synack, CG_NAT_SERVICE_DNAT,
				 CG_NAT_REPLY, &synack_out) &&
	       expect_nat6_count(s, c, 2) &&
	       expect_ct6(s, c, &syn,
			  CT_IS(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL, 0,
				false)) &&
	       nat_send(s, c, "SYN-ACK", EGRESS, &synack, NX_TX(ID_ALICE),
			&synack_out) &&
	       nat_send(s, c, "data", INGRESS, &data, NX_RX(ID_ALICE),
			&data_out) &&
	       nat_send(s, c, "reply", EGRESS, &back, NX_TX(ID_ALICE),
			&back_out) &&
	       expect_ct6(s, c, &syn,
			  CT_IS(CG_CT_FROM_WG, CG_CT_ESTABLISHED, "alice", NULL,
				0, true)) &&
	       expect_nat6_count(s, c, 2);
}

static bool nat6_dnat_udp(struct suite *s, struct check *c)
{
	const struct pkt_desc q =
		UDP6(ALICE6, 41000, ROUTER6, 53, .payload_len = 32);
	const struct pkt_desc q_out =
		UDP6(ALICE6, 41000, DNS6_BACKEND, 53, .payload_len = 32);
	const struct pkt_desc a =
		UDP6(DNS6_BACKEND, 53, ALICE6, 41000, .payload_len = 81);
	const struct pkt_desc a_out =
		UDP6(ROUTER6, 53, ALICE6, 41000, .payload_len = 81);

	return nat6_expose_api(s, c) &&
	       nat_send(s, c, "query", INGRESS, &q, NX_RX(ID_ALICE), &q_out) &&
	       nat_send(s, c, "answer", EGRESS, &a, NX_TX(ID_ALICE), &a_out) &&
	       expect_nat6_count(s, c, 2);
}

/* Without access to api its ports of the wg address6 are denied, and
 * nothing is installed; alice's SYN is the positive control. */
static bool nat6_dnat_denied(struct suite *s, struct check *c)
{
	const struct pkt_desc carol =
		TCP6(CAROL6, 40001, ROUTER6, 3000, TH_SYN, );
	const struct pkt_desc bob = UDP6(BOB6, 41001, ROUTER6, 53, );
	const struct pkt_desc alice =
		TCP6(ALICE6, 40002, ROUTER6, 3000, TH_SYN, );

	return nat6_expose_api(s, c) &&
	       nat_send(s, c, "carol's SYN", INGRESS, &carol,
			NX_TC_DROP(CG_DROP_SERVICE_DENIED, ID_CAROL), NULL) &&
	       nat_send(s, c, "bob's query", INGRESS, &bob,
			NX_TC_DROP(CG_DROP_SERVICE_DENIED, ID_BOB), NULL) &&
	       expect_nat6_count(s, c, 0) && expect_no_ct6(c, &carol) &&
	       nat_send(s, c, "alice's SYN (control)", INGRESS, &alice,
			NX_RX(ID_ALICE),
			PKT(TCP6(ALICE6, 40002, API6, 3001, TH_SYN, ))) &&
	       expect_nat6_count(s, c, 2);
}

/* ---- what is not translated ---------------------------------------------- */

/* A routed prefix: bob's address inside it leaves as it is, its reply
 * comes back as it is and wg0 egress takes it as the flow's reply; his
 * address outside it is still masqueraded. */
static bool nat6_routed(struct suite *s, struct check *c)
{
	const struct pkt_desc syn =
		TCP6(BOB6_ROUTED, 46000, INTERNET6, 443, TH_SYN, );
	const struct pkt_desc synack =
		TCP6(INTERNET6, 443, BOB6_ROUTED, 46000, TH_SYN | TH_ACK, );
	const struct pkt_desc ula = TCP6(BOB6, 46001, INTERNET6, 443, TH_SYN, );
	struct cg_identity bob;
	struct cg_addr6_key k6;
	struct cg_addr_key k4;

	inet_pton(AF_INET, BOB, k4.addr);
	inet_pton(AF_INET6, BOB6_ROUTED, k6.addr);
	if (bpf_map_lookup_elem(s->dp.map_fd[DP_MAP_PEERS], &k4, &bob) ||
	    bpf_map_update_elem(v6_fd[V6_PEERS], &k6, &bob, BPF_ANY))
		return failf(c, "bob's routed address: %s", strerror(errno));
	return nat6_settings(c, true, true) &&
	       v6_put_net(c, PREFIX6, 64, CG_NET_WG_SUBNET) &&
	       send6(s, c, "bob's SYN in on wg0", INGRESS, &syn,
		     PASSES("bob")) &&
	       nat_send(s, c, "out on the uplink, untouched", UPLINK_EGRESS,
			&syn, NX_TC_PASS, NULL) &&
	       expect_nat6_count(s, c, 0) &&
	       nat_send(s, c, "reply in XDP, untouched", UPLINK_XDP, &synack,
			NX_XDP_PASS, NULL) &&
	       send6(s, c, "reply out on wg0", EGRESS, &synack,
		     PASSES("bob")) &&
	       expect_ct6(s, c, &syn,
			  CT_IS(CG_CT_FROM_WG, CG_CT_ESTABLISHED, "bob", NULL,
				0, true)) &&
	       nat_send(s, c, "outside the prefix: masqueraded", UPLINK_EGRESS,
			&ula, NX_TC_PASS,
			PKT(TCP6(UPLINK6, 46001, INTERNET6, 443, TH_SYN, ))) &&
	       expect_nat6_count(s, c, 2);
}

/* Masquerade off, or a source that is not the cell's: untouched, and
 * nothing installed; the same packet with masquerade on is translated. */
static bool nat6_not_ours(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP6(BOB6, 47000, INTERNET6, 443, TH_SYN, );
	const struct pkt_desc transit =
		TCP6(TRANSIT6, 47001, INTERNET6, 443, TH_SYN, );

	return nat6_settings(c, false, false) &&
	       nat_send(s, c, "masquerade off", UPLINK_EGRESS, &syn, NX_TC_PASS,
			NULL) &&
	       nat6_settings(c, true, false) &&
	       nat_send(s, c, "not the cell's", UPLINK_EGRESS, &transit,
			NX_TC_PASS, NULL) &&
	       expect_nat6_count(s, c, 0) &&
	       nat_send(s, c, "masquerade on (control)", UPLINK_EGRESS, &syn,
			NX_TC_PASS,
			PKT(TCP6(UPLINK6, 47000, INTERNET6, 443, TH_SYN, ))) &&
	       expect_nat6_count(s, c, 2);
}

/* Fragments: the first and a later one of a datagram translated (the
 * later one: addresses only); a later one of no known datagram must not
 * leave with bob's private source: dropped, counted. */
static bool nat6_fragments(struct suite *s, struct check *c)
{
	const struct pkt_desc f1 = UDP6(BOB6, 41002, INTERNET6, 53, .ip_id = 55,
					.mf = true, .payload_len = 64);
	const struct pkt_desc f1_out =
		UDP6(UPLINK6, 41002, INTERNET6, 53, .ip_id = 55, .mf = true,
		     .payload_len = 64);
	const struct pkt_desc f2 = UDP6(BOB6, 41002, INTERNET6, 53, .ip_id = 55,
					.frag_off = 9, .payload_len = 40);
	const struct pkt_desc f2_out =
		UDP6(UPLINK6, 41002, INTERNET6, 53, .ip_id = 55, .frag_off = 9,
		     .payload_len = 40);
	const struct pkt_desc orphan =
		UDP6(BOB6, 41003, INTERNET6, 53, .ip_id = 56, .frag_off = 9,
		     .payload_len = 40);

	return nat_send(s, c, "first fragment", UPLINK_EGRESS, &f1, NX_TC_PASS,
			&f1_out) &&
	       nat_send(s, c, "later fragment", UPLINK_EGRESS, &f2, NX_TC_PASS,
			&f2_out) &&
	       nat_send(s, c, "later fragment of nothing known", UPLINK_EGRESS,
			&orphan, NX_TC_DROP(CG_DROP_FRAGMENT, ID_BOB), NULL);
}

/* WireGuard's port is never handed out, and replies to it pass. */
static bool nat6_wg_port(struct suite *s, struct check *c)
{
	const struct pkt_desc q = UDP6(BOB6, WG_PORT, INTERNET6, 53, );
	const struct pkt_desc hs = UDP6(INTERNET6, 40000, UPLINK6, WG_PORT, );
	struct run r;

	if (!nat_xmit(s, c, "bob from port 51820", UPLINK_EGRESS, &q,
		      NX_TC_PASS, &r))
		return false;
	if (out6_sport(&r) == WG_PORT)
		return failf(c, "masquerade handed out WireGuard's port");
	return nat_send(s, c, "a handshake to the uplink", UPLINK_XDP, &hs,
			NX_XDP_PASS, NULL);
}

/* The controller's sweep: a pair goes when both halves expired. */
static bool nat6_gc(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP6(BOB6, 48000, INTERNET6, 443, TH_SYN, );
	uint64_t removed[CG_TABLE__MAX];

	if (!nat_send(s, c, "SYN", UPLINK_EGRESS, &syn, NX_TC_PASS,
		      PKT(TCP6(UPLINK6, 48000, INTERNET6, 443, TH_SYN, ))) ||
	    !expect_nat6_count(s, c, 2))
		return false;
	c->step = "sweep now";
	dp_gc_sweep(&s->dp, monotonic_ns(), removed);
	if (!expect_nat6_count(s, c, 2))
		return false;
	c->step = "sweep past both lives";
	dp_gc_sweep(&s->dp, monotonic_ns() + 100 * 1000000000ull, removed);
	return expect_nat6_count(s, c, 0);
}

static bool nat6_verifier(struct suite *s, struct check *c)
{
	const struct pkt_desc tcp =
		TCP6(BOB6, 1, INTERNET6, 2, TH_SYN, .payload_len = 9);
	const struct pkt_desc err =
		ICMP6(PATH_ROUTER6, UPLINK6, ICMP6_T_TOO_BIG, .inner = &tcp);
	const size_t ip = PKT_ETH_LEN, icmp = ip + 40, inner = icmp + 8;

	(void)s;
	return verifier_catches(c, &tcp, ip + 8, 0, "IPv6 source") &&
	       verifier_catches(c, &tcp, ip + 40 + 20 + 3, 0, "TCP payload") &&
	       verifier_catches(c, &err, inner + 40 + 20 + 2, icmp + 6,
				"quoted TCP payload");
}

static const struct flow nat6_flows[] = {
	{ "nat6: the checksum verifier catches IPv6 changes", nat6_verifier },
	{ "nat6: masquerade tcp keeps the port; reply in XDP", nat6_masq_tcp },
	{ "nat6: masquerade udp and ICMPv6 echo, both ways",
	  nat6_masq_udp_echo },
	{ "nat6: router's own flow reserved; bob's port moved",
	  nat6_router_and_moved },
	{ "nat6: router's flow on a masqueraded tuple is a conflict",
	  nat6_router_conflict },
	{ "nat6: Packet Too Big and unreachable back to the peer", nat6_ptb },
	{ "nat6: routed prefix untouched, reply matched on wg0", nat6_routed },
	{ "nat6: masquerade off, transit sources: untouched", nat6_not_ours },
	{ "nat6: fragments translated; an orphan dropped", nat6_fragments },
	{ "nat6: WireGuard's port never handed out", nat6_wg_port },
	{ "nat6: dp_gc deletes a pair once both halves expired", nat6_gc },
	{ "nat6: service DNAT tcp on the wg address6, both ways",
	  nat6_dnat_tcp },
	{ "nat6: service DNAT udp on the wg address6, both ways",
	  nat6_dnat_udp },
	{ "nat6: no access to api: its address6 ports denied, nothing made",
	  nat6_dnat_denied },
};

static void run_nat6_cases(struct suite *s)
{
	struct check c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(nat6_flows); i++) {
		memset(&c, 0, sizeof(c));
		if (nat6_cell_build(s, &c))
			nat6_flows[i].run(s, &c);
		report(s, nat6_flows[i].name, &c);
	}
	nat6_cell_teardown(s);
}

#endif
