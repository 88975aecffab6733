// SPDX-License-Identifier: MIT
/*
 * NAT cases 0-3 (after nat_maps.h): the checksum verifier itself,
 * service DNAT on the wg address, masquerade on the uplink, port
 * allocation limits.
 */
#ifndef CG_TEST_NAT_CASES_MASQ_H
#define CG_TEST_NAT_CASES_MASQ_H

/* ---- 0: the verifier itself ---------------------------------------------- */

/* d's frame passes the verifier; with byte off raised by one (and, when
 * comp, byte comp lowered by one, so that the sum over the ICMP message
 * stays what it was and only a quoted checksum can notice) it fails. */
static bool verifier_catches(struct check *c, const struct pkt_desc *d,
			     size_t off, size_t comp, const char *what)
{
	uint8_t f[PKT_MAX];
	size_t len = pkt_build(d, f, sizeof(f));
	struct check probe = { 0 };

	c->step = what;
	if (!len || off >= len || comp >= len)
		return failf(c, "fixture: cannot build the frame");
	if (!verify_frame(&probe, f, len))
		return failf(c, "rejects the frame as built: %s", probe.msg);
	f[off]++;
	if (comp)
		f[comp]--;
	memset(&probe, 0, sizeof(probe));
	if (verify_frame(&probe, f, len))
		return failf(c, "accepts it with byte %zu changed", off);
	return true;
}

static bool nat_verifier(struct suite *s, struct check *c)
{
	const struct pkt_desc tcp =
		TCP(BOB, 1, REMOTE, 2, TH_SYN, .payload_len = 9);
	const struct pkt_desc udp = UDP(BOB, 1, REMOTE, 2, .payload_len = 9);
	const struct pkt_desc echo =
		ICMP(BOB, REMOTE, ICMP_T_ECHO, .icmp_id = 1, .payload_len = 9);
	const struct pkt_desc err = ICMP(PATH_ROUTER, UPLINK, ICMP_T_UNREACH,
					 .icmp_code = ICMP_C_FRAG_NEEDED,
					 .inner = &tcp, .quote_l4 = 20);
	const struct pkt_desc bare = TCP(BOB, 1, REMOTE, 2, TH_SYN);
	const struct pkt_desc err_bare =
		ICMP(PATH_ROUTER, UPLINK, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &bare,
		     .quote_l4 = 20);
	const size_t ip = PKT_ETH_LEN, icmp = ip + 20, inner = icmp + 8;

	(void)s;
	/* The MTU field (icmp + 6, 0x0500) absorbs the compensation. */
	return verifier_catches(c, &tcp, ip + 12, 0, "IPv4 header") &&
	       verifier_catches(c, &tcp, ip + 20 + 20 + 3, 0, "TCP payload") &&
	       verifier_catches(c, &udp, ip + 20 + 8 + 3, 0, "UDP payload") &&
	       verifier_catches(c, &echo, ip + 20 + 8 + 3, 0, "ICMP payload") &&
	       verifier_catches(c, &err, inner + 20 + 4, 0, "ICMP error") &&
	       verifier_catches(c, &err, inner + 12, icmp + 6,
				"quoted IPv4 header") &&
	       verifier_catches(c, &err_bare, inner + 20 + 4, icmp + 6,
				"quoted TCP header, whole");
}

/* ---- 1: service DNAT on the wg address ------------------------------------ */

static bool nat_dnat_tcp(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(ALICE, 40000, ROUTER, 3000, TH_SYN);
	const struct pkt_desc syn_out = TCP(ALICE, 40000, API, 3000, TH_SYN);
	const struct pkt_desc synack =
		TCP(API, 3000, ALICE, 40000, TH_SYN | TH_ACK);
	const struct pkt_desc synack_out =
		TCP(ROUTER, 3000, ALICE, 40000, TH_SYN | TH_ACK);
	const struct pkt_desc data = TCP(ALICE, 40000, ROUTER, 3000,
					 TH_ACK | TH_PSH, .payload_len = 101);
	const struct pkt_desc data_out = TCP(
		ALICE, 40000, API, 3000, TH_ACK | TH_PSH, .payload_len = 101);

	return nat_send(s, c, "SYN", INGRESS, &syn, NX_RX(ID_ALICE),
			&syn_out) &&
	       expect_nat_pair(s, c, &syn, &syn_out,
			       NAT_WANT(CG_NAT_SERVICE_DNAT, 0, 0, true)) &&
	       expect_nat_count(s, c, 2) &&
	       expect_ct(s, c, &syn,
			 CT_IS(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL,
			       TCP_SYN_S, false)) &&
	       expect_no_ct(s, c, &syn_out) &&
	       nat_send(s, c, "SYN-ACK", EGRESS, &synack, NX_TX(ID_ALICE),
			&synack_out) &&
	       expect_ct(s, c, &syn,
			 CT_IS(CG_CT_FROM_WG, CG_CT_ESTABLISHED, "alice", NULL,
			       TCP_EST_S, true)) &&
	       nat_send(s, c, "data", INGRESS, &data, NX_RX(ID_ALICE),
			&data_out) &&
	       expect_nat_count(s, c, 2);
}

static bool nat_dnat_denied(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(CAROL, 40001, ROUTER, 3000, TH_SYN);
	const struct pkt_desc query = UDP(BOB, 41000, ROUTER, 53);

	return nat_send(s, c, "carol's SYN", INGRESS, &syn,
			NX_TC_DROP(CG_DROP_SERVICE_DENIED, ID_CAROL), NULL) &&
	       expect_nat_count(s, c, 0) && expect_no_ct(s, c, &syn) &&
	       nat_send(s, c, "bob's query", INGRESS, &query,
			NX_TC_DROP(CG_DROP_SERVICE_DENIED, ID_BOB), NULL) &&
	       expect_nat_count(s, c, 0) && expect_no_ct(s, c, &query);
}

static bool nat_dnat_udp(struct suite *s, struct check *c)
{
	const struct pkt_desc q =
		UDP(ALICE, 41000, ROUTER, 53, .payload_len = 32);
	const struct pkt_desc q_out =
		UDP(ALICE, 41000, DNS, 53, .payload_len = 32);
	const struct pkt_desc a = UDP(DNS, 53, ALICE, 41000, .payload_len = 81);
	const struct pkt_desc a_out =
		UDP(ROUTER, 53, ALICE, 41000, .payload_len = 81);

	return nat_send(s, c, "query", INGRESS, &q, NX_RX(ID_ALICE), &q_out) &&
	       expect_nat_pair(s, c, &q, &q_out,
			       NAT_WANT(CG_NAT_SERVICE_DNAT, 0, 0, true)) &&
	       expect_nat_count(s, c, 2) &&
	       expect_ct(s, c, &q,
			 CT_IS(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL, UDP_S,
			       false)) &&
	       nat_send(s, c, "answer", EGRESS, &a, NX_TX(ID_ALICE), &a_out) &&
	       expect_ct(s, c, &q,
			 CT_IS(CG_CT_FROM_WG, CG_CT_ESTABLISHED, "alice", NULL,
			       UDP_EST_S, true)) &&
	       nat_send(s, c, "second query", INGRESS, &q, NX_RX(ID_ALICE),
			&q_out) &&
	       expect_nat_count(s, c, 2);
}

static bool nat_dnat_udp_no_csum(struct suite *s, struct check *c)
{
	const struct pkt_desc q = UDP(ALICE, 41001, ROUTER, 53,
				      .payload_len = 32, .udp_no_csum = true);
	const struct pkt_desc q_out = UDP(
		ALICE, 41001, DNS, 53, .payload_len = 32, .udp_no_csum = true);
	const struct pkt_desc a = UDP(DNS, 53, ALICE, 41001, .payload_len = 80,
				      .udp_no_csum = true);
	const struct pkt_desc a_out =
		UDP(ROUTER, 53, ALICE, 41001, .payload_len = 80,
		    .udp_no_csum = true);

	return nat_send(s, c, "query", INGRESS, &q, NX_RX(ID_ALICE), &q_out) &&
	       nat_send(s, c, "answer", EGRESS, &a, NX_TX(ID_ALICE), &a_out);
}

static bool nat_dnat_udp_csum_zero(struct suite *s, struct check *c)
{
	uint8_t qp[32], ap[64];
	const struct pkt_desc q = UDP(ALICE, 41002, ROUTER, 53,
				      .payload_len = sizeof(qp), .payload = qp);
	const struct pkt_desc q_out =
		UDP(ALICE, 41002, DNS, 53, .payload_len = sizeof(qp),
		    .payload = qp);
	const struct pkt_desc a = UDP(DNS, 53, ALICE, 41002,
				      .payload_len = sizeof(ap), .payload = ap);
	const struct pkt_desc a_out =
		UDP(ROUTER, 53, ALICE, 41002, .payload_len = sizeof(ap),
		    .payload = ap);

	craft_zero_csum(&q_out, qp);
	craft_zero_csum(&a_out, ap);
	return expect_crafted(c, &q, &q_out) && expect_crafted(c, &a, &a_out) &&
	       nat_send(s, c, "query", INGRESS, &q, NX_RX(ID_ALICE), &q_out) &&
	       nat_send(s, c, "answer", EGRESS, &a, NX_TX(ID_ALICE), &a_out);
}

/* ---- 2: masquerade on the uplink ------------------------------------------ */

static bool nat_masq_tcp(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(BOB, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc syn_out = TCP(UPLINK, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc synack =
		TCP(REMOTE, 443, UPLINK, 45000, TH_SYN | TH_ACK);
	const struct pkt_desc synack_out =
		TCP(REMOTE, 443, BOB, 45000, TH_SYN | TH_ACK);
	const struct pkt_desc data = TCP(BOB, 45000, REMOTE, 443,
					 TH_ACK | TH_PSH, .payload_len = 200);
	const struct pkt_desc data_out =
		TCP(UPLINK, 45000, REMOTE, 443, TH_ACK | TH_PSH,
		    .payload_len = 200);
	const struct pkt_desc reply = TCP(REMOTE, 443, UPLINK, 45000,
					  TH_ACK | TH_PSH, .payload_len = 301);
	const struct pkt_desc reply_out = TCP(
		REMOTE, 443, BOB, 45000, TH_ACK | TH_PSH, .payload_len = 301);
	const struct pkt_desc opts = TCP(BOB, 45000, REMOTE, 443, TH_ACK,
					 .opt_len = 12, .payload_len = 20);
	const struct pkt_desc opts_out = TCP(UPLINK, 45000, REMOTE, 443, TH_ACK,
					     .opt_len = 12, .payload_len = 20);
	const struct pkt_desc opts_back =
		TCP(REMOTE, 443, UPLINK, 45000, TH_ACK, .opt_len = 40);
	const struct pkt_desc opts_back_out =
		TCP(REMOTE, 443, BOB, 45000, TH_ACK, .opt_len = 40);
	struct cg_nat_stats a, b;

	return nat_stats(s, c, &a) &&
	       nat_send(s, c, "SYN", UPLINK_EGRESS, &syn, NX_TC_PASS,
			&syn_out) &&
	       expect_nat_pair(s, c, &syn, &syn_out,
			       NAT_WANT(CG_NAT_MASQ, 0, 0, true)) &&
	       expect_nat_count(s, c, 2) &&
	       nat_send(s, c, "SYN-ACK", UPLINK_XDP, &synack, NX_XDP_PASS,
			&synack_out) &&
	       nat_send(s, c, "data", UPLINK_EGRESS, &data, NX_TC_PASS,
			&data_out) &&
	       nat_send(s, c, "reply", UPLINK_XDP, &reply, NX_XDP_PASS,
			&reply_out) &&
	       nat_send(s, c, "with IP options", UPLINK_EGRESS, &opts,
			NX_TC_PASS, &opts_out) &&
	       nat_send(s, c, "back with 40 bytes of options", UPLINK_XDP,
			&opts_back, NX_XDP_PASS, &opts_back_out) &&
	       expect_nat_count(s, c, 2) && nat_stats(s, c, &b) &&
	       expect_stats(c, &a, &b, 1, 0, 0, 0);
}

/* Both halves of key's pair live at most FIN_S more seconds, and are
 * marked closing. */
static bool expect_closing(struct suite *s, struct check *c, const char *which,
			   const struct cg_ct_key *key)
{
	struct cg_nat_entry e;
	char what[2][48];
	uint64_t now = monotonic_ns();

	if (!nat_get(s, c, key, &e))
		return false;
	snprintf(what[0], sizeof(what[0]), "cg_nat %s .closing", which);
	snprintf(what[1], sizeof(what[1]), "cg_nat %s life left (s)", which);
	return expect_eq(c, what[0], 1, e.closing) &&
	       expect_range(c, what[1], 1, TCP_FIN_S,
			    (e.expires_ns - now) / NSEC + 1);
}

/* A FIN in one direction closes the pair: the other half is cut too, and
 * the last ACKs after the FINs do not stretch either back to hours (which
 * kept closed flows' ports reserved for TCP_EST_S). */
static bool nat_masq_close(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(BOB, 45100, REMOTE, 443, TH_SYN);
	const struct pkt_desc syn_out = TCP(UPLINK, 45100, REMOTE, 443, TH_SYN);
	const struct pkt_desc synack =
		TCP(REMOTE, 443, UPLINK, 45100, TH_SYN | TH_ACK);
	const struct pkt_desc synack_out =
		TCP(REMOTE, 443, BOB, 45100, TH_SYN | TH_ACK);
	const struct pkt_desc fin =
		TCP(REMOTE, 443, UPLINK, 45100, TH_FIN | TH_ACK);
	const struct pkt_desc fin_out =
		TCP(REMOTE, 443, BOB, 45100, TH_FIN | TH_ACK);
	const struct pkt_desc ack = TCP(BOB, 45100, REMOTE, 443, TH_ACK);
	const struct pkt_desc ack_out = TCP(UPLINK, 45100, REMOTE, 443, TH_ACK);
	const struct pkt_desc ack2 = TCP(REMOTE, 443, UPLINK, 45100, TH_ACK);
	const struct pkt_desc ack2_out = TCP(REMOTE, 443, BOB, 45100, TH_ACK);
	struct cg_ct_key orig = key_of(&syn), reply = key_of(&synack);

	return nat_send(s, c, "SYN", UPLINK_EGRESS, &syn, NX_TC_PASS,
			&syn_out) &&
	       nat_send(s, c, "SYN-ACK", UPLINK_XDP, &synack, NX_XDP_PASS,
			&synack_out) &&
	       nat_send(s, c, "ACK", UPLINK_EGRESS, &ack, NX_TC_PASS,
			&ack_out) &&
	       nat_send(s, c, "server's FIN", UPLINK_XDP, &fin, NX_XDP_PASS,
			&fin_out) &&
	       expect_closing(s, c, "reply", &reply) &&
	       expect_closing(s, c, "orig (the FIN's twin)", &orig) &&
	       nat_send(s, c, "client's last ACK", UPLINK_EGRESS, &ack,
			NX_TC_PASS, &ack_out) &&
	       nat_send(s, c, "server's late ACK", UPLINK_XDP, &ack2,
			NX_XDP_PASS, &ack2_out) &&
	       expect_closing(s, c, "orig after ACK", &orig) &&
	       expect_closing(s, c, "reply after ACK", &reply);
}

static bool nat_masq_collision(struct suite *s, struct check *c)
{
	const struct pkt_desc bob = TCP(BOB, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc bob_out = TCP(UPLINK, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc carol = TCP(CAROL, 45000, REMOTE, 443, TH_SYN);
	struct pkt_desc carol_out = TCP(UPLINK, 0, REMOTE, 443, TH_SYN);
	struct pkt_desc to_carol = TCP(REMOTE, 443, UPLINK, 0, TH_SYN | TH_ACK);
	const struct pkt_desc to_carol_out =
		TCP(REMOTE, 443, CAROL, 45000, TH_SYN | TH_ACK);
	const struct pkt_desc to_bob =
		TCP(REMOTE, 443, UPLINK, 45000, TH_SYN | TH_ACK);
	const struct pkt_desc to_bob_out =
		TCP(REMOTE, 443, BOB, 45000, TH_SYN | TH_ACK);
	struct cg_nat_stats a, b;
	uint16_t port;
	struct run r;

	if (!nat_stats(s, c, &a) ||
	    !nat_send(s, c, "bob's SYN", UPLINK_EGRESS, &bob, NX_TC_PASS,
		      &bob_out) ||
	    !nat_xmit(s, c, "carol's SYN", UPLINK_EGRESS, &carol, NX_TC_PASS,
		      &r) ||
	    !nat_moved_port(s, c, &carol, 45000, NAT_PORT_MIN, NAT_PORT_MAX,
			    &port))
		return false;
	carol_out.sport = port;
	to_carol.dport = port;
	/* One collision, two if the random try hit 45000 as well. */
	return expect_frame(c, &r, &carol_out) &&
	       expect_nat_pair(s, c, &carol, &carol_out,
			       NAT_WANT(CG_NAT_MASQ, 0, 0, true)) &&
	       expect_nat_count(s, c, 4) && nat_stats(s, c, &b) &&
	       expect_stats(c, &a, &b, 2, 1, 2, 0) &&
	       nat_send(s, c, "reply to carol", UPLINK_XDP, &to_carol,
			NX_XDP_PASS, &to_carol_out) &&
	       nat_send(s, c, "reply to bob", UPLINK_XDP, &to_bob, NX_XDP_PASS,
			&to_bob_out);
}

static bool nat_masq_icmp(struct suite *s, struct check *c)
{
	const struct pkt_desc bob = ICMP(BOB, REMOTE, ICMP_T_ECHO,
					 .icmp_id = 77, .payload_len = 56);
	const struct pkt_desc bob_out = ICMP(UPLINK, REMOTE, ICMP_T_ECHO,
					     .icmp_id = 77, .payload_len = 56);
	const struct pkt_desc to_bob = ICMP(REMOTE, UPLINK, ICMP_T_ECHOREPLY,
					    .icmp_id = 77, .payload_len = 56);
	const struct pkt_desc to_bob_out =
		ICMP(REMOTE, BOB, ICMP_T_ECHOREPLY, .icmp_id = 77,
		     .payload_len = 56);
	const struct pkt_desc carol = ICMP(CAROL, REMOTE, ICMP_T_ECHO,
					   .icmp_id = 77, .payload_len = 57);
	struct pkt_desc carol_out =
		ICMP(UPLINK, REMOTE, ICMP_T_ECHO, .payload_len = 57);
	struct pkt_desc to_carol =
		ICMP(REMOTE, UPLINK, ICMP_T_ECHOREPLY, .payload_len = 57);
	const struct pkt_desc to_carol_out =
		ICMP(REMOTE, CAROL, ICMP_T_ECHOREPLY, .icmp_id = 77,
		     .payload_len = 57);
	uint16_t id;
	struct run r;

	if (!nat_send(s, c, "bob's request", UPLINK_EGRESS, &bob, NX_TC_PASS,
		      &bob_out) ||
	    !expect_nat_pair(s, c, &bob, &bob_out,
			     NAT_WANT(CG_NAT_MASQ, 0, 0, true)) ||
	    !nat_send(s, c, "bob's reply", UPLINK_XDP, &to_bob, NX_XDP_PASS,
		      &to_bob_out) ||
	    !nat_xmit(s, c, "carol's request, same id", UPLINK_EGRESS, &carol,
		      NX_TC_PASS, &r) ||
	    !nat_moved_port(s, c, &carol, 77, NAT_PORT_MIN, NAT_PORT_MAX, &id))
		return false;
	carol_out.icmp_id = id;
	to_carol.icmp_id = id;
	return expect_frame(c, &r, &carol_out) &&
	       expect_nat_pair(s, c, &carol, &carol_out,
			       NAT_WANT(CG_NAT_MASQ, 0, 0, true)) &&
	       nat_send(s, c, "carol's reply", UPLINK_XDP, &to_carol,
			NX_XDP_PASS, &to_carol_out) &&
	       expect_nat_count(s, c, 4);
}

/* UDP both ways, with checksum 0 (kept) and one computing to 0 (0xffff),
 * on a flow whose port moved: two incremental updates in a row. */
static bool nat_masq_udp(struct suite *s, struct check *c)
{
	uint8_t p_in[40], p_out[60], p_bob[50];
	const struct pkt_desc bob =
		UDP(BOB, 45010, REMOTE, 53, .payload_len = 40);
	const struct pkt_desc bob_out =
		UDP(UPLINK, 45010, REMOTE, 53, .payload_len = 40);
	const struct pkt_desc to_bob =
		UDP(REMOTE, 53, UPLINK, 45010, .payload_len = 33);
	const struct pkt_desc to_bob_out =
		UDP(REMOTE, 53, BOB, 45010, .payload_len = 33);
	/* Only the address changes: the 4-byte update must yield 0xffff. */
	const struct pkt_desc to_bob0 =
		UDP(REMOTE, 53, UPLINK, 45010, .payload_len = sizeof(p_bob),
		    .payload = p_bob);
	const struct pkt_desc to_bob0_out =
		UDP(REMOTE, 53, BOB, 45010, .payload_len = sizeof(p_bob),
		    .payload = p_bob);
	const struct pkt_desc carol =
		UDP(CAROL, 45010, REMOTE, 53, .payload_len = 40,
		    .udp_no_csum = true);
	struct pkt_desc carol_out = UDP(UPLINK, 0, REMOTE, 53,
					.payload_len = 40, .udp_no_csum = true);
	struct pkt_desc to_carol0 = UDP(REMOTE, 53, UPLINK, 0,
					.payload_len = 60, .udp_no_csum = true);
	const struct pkt_desc to_carol0_out =
		UDP(REMOTE, 53, CAROL, 45010, .payload_len = 60,
		    .udp_no_csum = true);
	/* Crafted so that the translated checksums compute to 0. */
	const struct pkt_desc carol2 =
		UDP(CAROL, 45010, REMOTE, 53, .payload_len = sizeof(p_in),
		    .payload = p_in);
	struct pkt_desc carol2_out =
		UDP(UPLINK, 0, REMOTE, 53, .payload_len = sizeof(p_in),
		    .payload = p_in);
	struct pkt_desc to_carol =
		UDP(REMOTE, 53, UPLINK, 0, .payload_len = sizeof(p_out),
		    .payload = p_out);
	const struct pkt_desc to_carol_out =
		UDP(REMOTE, 53, CAROL, 45010, .payload_len = sizeof(p_out),
		    .payload = p_out);
	uint16_t port;
	struct run r;

	craft_zero_csum(&to_bob0_out, p_bob);
	if (!expect_crafted(c, &to_bob0, &to_bob0_out) ||
	    !nat_send(s, c, "bob's query", UPLINK_EGRESS, &bob, NX_TC_PASS,
		      &bob_out) ||
	    !nat_send(s, c, "bob's answer", UPLINK_XDP, &to_bob, NX_XDP_PASS,
		      &to_bob_out) ||
	    !nat_send(s, c, "bob's answer, checksum to 0", UPLINK_XDP, &to_bob0,
		      NX_XDP_PASS, &to_bob0_out) ||
	    !nat_xmit(s, c, "carol's query, no checksum", UPLINK_EGRESS, &carol,
		      NX_TC_PASS, &r) ||
	    !nat_moved_port(s, c, &carol, 45010, NAT_PORT_MIN, NAT_PORT_MAX,
			    &port))
		return false;
	carol_out.sport = to_carol0.dport = port;
	carol2_out.sport = to_carol.dport = port;
	craft_zero_csum(&carol2_out, p_in);
	craft_zero_csum(&to_carol_out, p_out);
	return expect_frame(c, &r, &carol_out) &&
	       expect_nat_pair(s, c, &carol, &carol_out,
			       NAT_WANT(CG_NAT_MASQ, 0, 0, true)) &&
	       nat_send(s, c, "carol's answer, no checksum", UPLINK_XDP,
			&to_carol0, NX_XDP_PASS, &to_carol0_out) &&
	       expect_crafted(c, &carol2, &carol2_out) &&
	       expect_crafted(c, &to_carol, &to_carol_out) &&
	       nat_send(s, c, "carol's query, checksum to 0", UPLINK_EGRESS,
			&carol2, NX_TC_PASS, &carol2_out) &&
	       nat_send(s, c, "carol's answer, checksum to 0", UPLINK_XDP,
			&to_carol, NX_XDP_PASS, &to_carol_out);
}

/* WireGuard's own port on the uplink: its packets pass both hooks
 * without a lookup and leave no state, and masquerade never hands the
 * port out: a peer's UDP from it is moved, so no reply XDP translates can
 * be one of WireGuard's. Positive control: another port is kept. */
static bool nat_wg_port(struct suite *s, struct check *c)
{
	const struct pkt_desc wg_out =
		UDP(UPLINK, WG_PORT, REMOTE, 51821, .payload_len = 32);
	const struct pkt_desc wg_in =
		UDP(REMOTE, 51821, UPLINK, WG_PORT, .payload_len = 48);
	const struct pkt_desc kept =
		UDP(BOB, 45020, REMOTE, 53, .payload_len = 20);
	const struct pkt_desc kept_out =
		UDP(UPLINK, 45020, REMOTE, 53, .payload_len = 20);
	const struct pkt_desc bob =
		UDP(BOB, WG_PORT, REMOTE, 53, .payload_len = 20);
	struct pkt_desc bob_out = UDP(UPLINK, 0, REMOTE, 53, .payload_len = 20);
	struct pkt_desc to_bob = UDP(REMOTE, 53, UPLINK, 0, .payload_len = 24);
	const struct pkt_desc to_bob_out =
		UDP(REMOTE, 53, BOB, WG_PORT, .payload_len = 24);
	uint16_t port;
	struct run r;

	if (!nat_send(s, c, "WireGuard's packet out", UPLINK_EGRESS, &wg_out,
		      NX_TC_PASS, NULL) ||
	    !nat_send(s, c, "WireGuard's packet in", UPLINK_XDP, &wg_in,
		      NX_XDP_PASS, NULL) ||
	    !expect_nat_count(s, c, 0) ||
	    !nat_send(s, c, "bob from another port", UPLINK_EGRESS, &kept,
		      NX_TC_PASS, &kept_out) ||
	    !nat_xmit(s, c, "bob from WireGuard's port", UPLINK_EGRESS, &bob,
		      NX_TC_PASS, &r) ||
	    !nat_moved_port(s, c, &bob, WG_PORT, NAT_PORT_MIN, NAT_PORT_MAX,
			    &port))
		return false;
	bob_out.sport = to_bob.dport = port;
	return expect_frame(c, &r, &bob_out) && expect_nat_count(s, c, 4) &&
	       nat_send(s, c, "reply to bob", UPLINK_XDP, &to_bob, NX_XDP_PASS,
			&to_bob_out);
}

/* The router's reservation of the reply tuple of own. */
static bool expect_host_entry(struct suite *s, struct check *c,
			      const struct pkt_desc *own)
{
	struct cg_ct_key k = key_of(own), r = key_rev(&k);
	static const struct nat_want host = { .kind = CG_NAT_HOST };
	struct cg_nat_entry e;

	if (!expect_nat_entry(s, c, "host", &r, CG_NAT_REPLY, &r, &host) ||
	    !nat_get(s, c, &r, &e))
		return false;
	if (e.expires_ns <= monotonic_ns())
		return failf(
			c, "cg_nat host entry: expired %llu ns ago",
			(unsigned long long)(monotonic_ns() - e.expires_ns));
	return true;
}

static bool nat_router_flow(struct suite *s, struct check *c)
{
	const struct pkt_desc own = TCP(UPLINK, 50000, REMOTE, 443, TH_SYN);
	const struct pkt_desc own_reply =
		TCP(REMOTE, 443, UPLINK, 50000, TH_SYN | TH_ACK);
	const struct pkt_desc ping =
		ICMP(UPLINK, REMOTE, ICMP_T_ECHO, .icmp_id = 5000);
	const struct pkt_desc bob = TCP(BOB, 50000, REMOTE, 443, TH_SYN);
	struct pkt_desc bob_out = TCP(UPLINK, 0, REMOTE, 443, TH_SYN);
	struct pkt_desc to_bob = TCP(REMOTE, 443, UPLINK, 0, TH_SYN | TH_ACK);
	const struct pkt_desc to_bob_out =
		TCP(REMOTE, 443, BOB, 50000, TH_SYN | TH_ACK);
	const struct pkt_desc bob_ping =
		ICMP(BOB, REMOTE, ICMP_T_ECHO, .icmp_id = 5000);
	uint16_t port, id;
	struct run r;

	if (!nat_send(s, c, "router's SYN", UPLINK_EGRESS, &own, NX_TC_PASS,
		      NULL) ||
	    !expect_host_entry(s, c, &own) || !expect_nat_count(s, c, 1) ||
	    !nat_send(s, c, "its SYN-ACK", UPLINK_XDP, &own_reply, NX_XDP_PASS,
		      NULL) ||
	    !nat_send(s, c, "router's ping", UPLINK_EGRESS, &ping, NX_TC_PASS,
		      NULL) ||
	    !expect_host_entry(s, c, &ping) || !expect_nat_count(s, c, 2) ||
	    !nat_xmit(s, c, "bob's SYN on the router's port", UPLINK_EGRESS,
		      &bob, NX_TC_PASS, &r) ||
	    !nat_moved_port(s, c, &bob, 50000, NAT_PORT_MIN, NAT_PORT_MAX,
			    &port))
		return false;
	bob_out.sport = to_bob.dport = port;
	if (!expect_frame(c, &r, &bob_out) ||
	    !nat_xmit(s, c, "bob's ping with the router's id", UPLINK_EGRESS,
		      &bob_ping, NX_TC_PASS, &r) ||
	    !nat_moved_port(s, c, &bob_ping, 5000, NAT_PORT_MIN, NAT_PORT_MAX,
			    &id))
		return false;
	return expect_nat_count(s, c, 6) &&
	       nat_send(s, c, "reply to bob", UPLINK_XDP, &to_bob, NX_XDP_PASS,
			&to_bob_out) &&
	       nat_send(s, c, "router's reply still its own", UPLINK_XDP,
			&own_reply, NX_XDP_PASS, NULL);
}

static bool nat_router_conflict(struct suite *s, struct check *c)
{
	const struct pkt_desc bob = TCP(BOB, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc bob_out = TCP(UPLINK, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc own = TCP(UPLINK, 45000, REMOTE, 443, TH_SYN);

	return nat_send(s, c, "bob's SYN", UPLINK_EGRESS, &bob, NX_TC_PASS,
			&bob_out) &&
	       nat_send(s, c, "router's SYN on bob's tuple", UPLINK_EGRESS,
			&own, NX_TC_DROP(CG_DROP_NAT_CONFLICT, ID_UNKNOWN),
			NULL) &&
	       expect_nat_count(s, c, 2) &&
	       expect_nat_pair(s, c, &bob, &bob_out,
			       NAT_WANT(CG_NAT_MASQ, 0, 0, false));
}

/* A reservation that expired (and was not collected yet) is renewed by
 * the router's next packet, as a translation's entry would be: until the
 * router stops using the tuple, masquerade must not hand it out. */
static bool nat_router_renew(struct suite *s, struct check *c)
{
	const struct pkt_desc own = TCP(UPLINK, 50000, REMOTE, 443, TH_SYN);
	const struct pkt_desc own_ack = TCP(UPLINK, 50000, REMOTE, 443, TH_ACK);
	const struct pkt_desc bob = TCP(BOB, 50000, REMOTE, 443, TH_SYN);
	struct cg_ct_key k = key_of(&own), r = key_rev(&k);
	uint16_t port;
	struct run out;

	return nat_send(s, c, "router's SYN", UPLINK_EGRESS, &own, NX_TC_PASS,
			NULL) &&
	       nat_expire(s, c, &r) &&
	       nat_send(s, c, "router's ACK after idling", UPLINK_EGRESS,
			&own_ack, NX_TC_PASS, NULL) &&
	       expect_host_entry(s, c, &own) &&
	       nat_xmit(s, c, "bob's SYN on the router's port", UPLINK_EGRESS,
			&bob, NX_TC_PASS, &out) &&
	       nat_moved_port(s, c, &bob, 50000, NAT_PORT_MIN, NAT_PORT_MAX,
			      &port);
}

/* ---- 3: port allocation limits ------------------------------------------- */

/* 32 flows take the 32 ports of the range; the 33rd tries all 32 and is
 * dropped, leaving no entry behind. */
static bool nat_exhausted(struct suite *s, struct check *c)
{
	const struct pkt_desc carol =
		TCP(CAROL, SMALL_MIN, REMOTE, 443, TH_SYN);
	const struct pkt_desc carol2 =
		TCP(CAROL, SMALL_MIN, REMOTE2, 443, TH_SYN);
	const struct pkt_desc carol2_out =
		TCP(UPLINK, SMALL_MIN, REMOTE2, 443, TH_SYN);
	struct cg_ct_key k = key_of(&carol);
	struct cg_nat_stats a, b;
	char step[48];
	uint32_t p;

	if (!nat_write_settings(s, c, SMALL_MIN, SMALL_MAX))
		return false;
	for (p = SMALL_MIN; p <= SMALL_MAX; p++) {
		const struct pkt_desc bob =
			TCP(BOB, (uint16_t)p, REMOTE, 443, TH_SYN);
		const struct pkt_desc out =
			TCP(UPLINK, (uint16_t)p, REMOTE, 443, TH_SYN);

		snprintf(step, sizeof(step), "bob's SYN from %u", p);
		if (!nat_send(s, c, step, UPLINK_EGRESS, &bob, NX_TC_PASS,
			      &out))
			return false;
	}
	return expect_nat_count(s, c, 64) && nat_stats(s, c, &a) &&
	       nat_send(s, c, "carol's SYN, every port taken", UPLINK_EGRESS,
			&carol, NX_TC_DROP(CG_DROP_NAT_EXHAUSTED, ID_CAROL),
			NULL) &&
	       nat_stats(s, c, &b) && expect_stats(c, &a, &b, 0, 32, 32, 1) &&
	       expect_no_nat(s, c, &k) && expect_nat_count(s, c, 64) &&
	       nat_send(s, c, "carol's SYN to another server", UPLINK_EGRESS,
			&carol2, NX_TC_PASS, &carol2_out) &&
	       expect_nat_count(s, c, 66);
}

static bool nat_forward_exhausted(struct suite *s, struct check *c)
{
	const struct pkt_desc syn =
		TCP(CLIENT, SMALL_MIN, UPLINK, 8080, TH_SYN);
	struct cg_ct_key k = key_of(&syn);
	struct cg_fwd_counters fa, fb;
	struct cg_nat_stats a, b;

	return nat_write_settings(s, c, SMALL_MIN, SMALL_MAX) &&
	       nat_fill_small_range(s, c, WEB, 80, CLIENT) &&
	       nat_stats(s, c, &a) && fwd_get(s, c, 2, &fa) &&
	       nat_send(s, c, "SYN to forward 2", UPLINK_XDP, &syn, NX_XDP_DROP,
			NULL) &&
	       nat_stats(s, c, &b) && fwd_get(s, c, 2, &fb) &&
	       expect_stats(c, &a, &b, 0, 32, 32, 1) &&
	       expect_fwd(c, &fa, &fb, 0, 0, 0, 1) && expect_no_nat(s, c, &k) &&
	       expect_nat_count(s, c, 32);
}

static bool nat_wg_snat_exhausted(struct suite *s, struct check *c)
{
	const struct pkt_desc syn =
		TCP(API, SMALL_MIN, CELL_HOST, 3000, TH_SYN);
	const struct pkt_desc wire =
		TCP(ROUTER, SMALL_MIN, CELL_HOST, 3000, TH_SYN);
	struct cg_ct_key k = key_of(&syn);

	return nat_write_settings(s, c, SMALL_MIN, SMALL_MAX) &&
	       nat_fill_small_range(s, c, CELL_HOST, 3000, ROUTER) &&
	       nat_send(s, c, "bridge SYN to the cell", EGRESS, &syn,
			NX_TC_DROP(CG_DROP_NAT_EXHAUSTED, ID_CELL), NULL) &&
	       expect_no_nat(s, c, &k) && expect_nat_count(s, c, 32) &&
	       expect_no_ct(s, c, &syn) && expect_no_ct(s, c, &wire);
}

#endif
