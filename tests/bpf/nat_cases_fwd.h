// SPDX-License-Identifier: MIT
/*
 * NAT cases 4-8 (after nat_cases_masq.h): ICMP errors about
 * masqueraded flows, port forwards, the bridge to a linked cell,
 * fragments, the controller's side (garbage collection).
 */
#ifndef CG_TEST_NAT_CASES_FWD_H
#define CG_TEST_NAT_CASES_FWD_H

/* ---- 4: ICMP errors about masqueraded flows -------------------------------- */

/* The whole path: bob's SYN in over wg0, out masqueraded; the error comes
 * back to the uplink, is turned toward bob and leaves on wg0 as related. */
static bool nat_icmp_err_tcp(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(BOB, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc sent = TCP(UPLINK, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc err =
		ICMP(PATH_ROUTER, UPLINK, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &sent);
	const struct pkt_desc err_out =
		ICMP(PATH_ROUTER, BOB, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &syn);
	const struct pkt_desc err20 = ICMP(PATH_ROUTER, UPLINK, ICMP_T_UNREACH,
					   .icmp_code = ICMP_C_FRAG_NEEDED,
					   .inner = &sent, .quote_l4 = 20);
	const struct pkt_desc err20_out = ICMP(PATH_ROUTER, BOB, ICMP_T_UNREACH,
					       .icmp_code = ICMP_C_FRAG_NEEDED,
					       .inner = &syn, .quote_l4 = 20);
	/* IP options in the error's header and in the quoted one. */
	const struct pkt_desc sent_opts =
		TCP(UPLINK, 45000, REMOTE, 443, TH_SYN, .opt_len = 8);
	const struct pkt_desc syn_opts =
		TCP(BOB, 45000, REMOTE, 443, TH_SYN, .opt_len = 8);
	const struct pkt_desc err_opts =
		ICMP(PATH_ROUTER, UPLINK, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &sent_opts,
		     .quote_l4 = 20, .opt_len = 4);
	const struct pkt_desc err_opts_out =
		ICMP(PATH_ROUTER, BOB, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &syn_opts,
		     .quote_l4 = 20, .opt_len = 4);

	return nat_send(s, c, "SYN on wg0", INGRESS, &syn, NX_RX(ID_BOB),
			NULL) &&
	       nat_send(s, c, "SYN on the uplink", UPLINK_EGRESS, &syn,
			NX_TC_PASS, &sent) &&
	       nat_send(s, c, "frag-needed, 8 bytes quoted", UPLINK_XDP, &err,
			NX_XDP_PASS, &err_out) &&
	       nat_send(s, c, "frag-needed to bob on wg0", EGRESS, &err_out,
			NX_TX(ID_BOB), NULL) &&
	       nat_send(s, c, "frag-needed, 20 bytes quoted", UPLINK_XDP,
			&err20, NX_XDP_PASS, &err20_out) &&
	       nat_send(s, c, "the same to bob on wg0", EGRESS, &err20_out,
			NX_TX(ID_BOB), NULL) &&
	       nat_send(s, c, "frag-needed with IP options", UPLINK_XDP,
			&err_opts, NX_XDP_PASS, &err_opts_out);
}

/* carol's flow was given another port: the quoted port and the checksums
 * covering it change as well. */
static bool nat_icmp_err_tcp_moved(struct suite *s, struct check *c)
{
	const struct pkt_desc bob = TCP(BOB, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc bob_out = TCP(UPLINK, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc carol = TCP(CAROL, 45000, REMOTE, 443, TH_SYN);
	struct pkt_desc sent = TCP(UPLINK, 0, REMOTE, 443, TH_SYN);
	const struct pkt_desc err =
		ICMP(PATH_ROUTER, UPLINK, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &sent);
	const struct pkt_desc err_out =
		ICMP(PATH_ROUTER, CAROL, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &carol);
	const struct pkt_desc err20 = ICMP(PATH_ROUTER, UPLINK, ICMP_T_UNREACH,
					   .icmp_code = ICMP_C_FRAG_NEEDED,
					   .inner = &sent, .quote_l4 = 20);
	const struct pkt_desc err20_out =
		ICMP(PATH_ROUTER, CAROL, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &carol,
		     .quote_l4 = 20);
	struct run r;

	return nat_send(s, c, "bob's SYN", UPLINK_EGRESS, &bob, NX_TC_PASS,
			&bob_out) &&
	       nat_xmit(s, c, "carol's SYN", UPLINK_EGRESS, &carol, NX_TC_PASS,
			&r) &&
	       nat_moved_port(s, c, &carol, 45000, NAT_PORT_MIN, NAT_PORT_MAX,
			      &sent.sport) &&
	       expect_frame(c, &r, &sent) &&
	       nat_send(s, c, "frag-needed, 8 bytes quoted", UPLINK_XDP, &err,
			NX_XDP_PASS, &err_out) &&
	       nat_send(s, c, "frag-needed, 20 bytes quoted", UPLINK_XDP,
			&err20, NX_XDP_PASS, &err20_out);
}

/* The quoted UDP header holds its checksum: updated, or kept 0. */
static bool nat_icmp_err_udp(struct suite *s, struct check *c)
{
	const struct pkt_desc bob = UDP(BOB, 45010, REMOTE, 53);
	const struct pkt_desc bob_out = UDP(UPLINK, 45010, REMOTE, 53);
	const struct pkt_desc bob0 =
		UDP(BOB, 45011, REMOTE, 53, .udp_no_csum = true);
	const struct pkt_desc bob0_out =
		UDP(UPLINK, 45011, REMOTE, 53, .udp_no_csum = true);
	const struct pkt_desc carol = UDP(CAROL, 45010, REMOTE, 53);
	const struct pkt_desc carol0 =
		UDP(CAROL, 45011, REMOTE, 53, .udp_no_csum = true);
	struct pkt_desc sent = UDP(UPLINK, 0, REMOTE, 53);
	struct pkt_desc sent0 = UDP(UPLINK, 0, REMOTE, 53, .udp_no_csum = true);
	const struct pkt_desc err =
		ICMP(REMOTE, UPLINK, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_PORT_UNREACH, .inner = &sent);
	const struct pkt_desc err_out =
		ICMP(REMOTE, CAROL, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_PORT_UNREACH, .inner = &carol);
	const struct pkt_desc err0 =
		ICMP(REMOTE, UPLINK, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_PORT_UNREACH, .inner = &sent0);
	const struct pkt_desc err0_out =
		ICMP(REMOTE, CAROL, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_PORT_UNREACH, .inner = &carol0);
	struct run r;

	return nat_send(s, c, "bob's datagram", UPLINK_EGRESS, &bob, NX_TC_PASS,
			&bob_out) &&
	       nat_send(s, c, "bob's datagram, no checksum", UPLINK_EGRESS,
			&bob0, NX_TC_PASS, &bob0_out) &&
	       nat_xmit(s, c, "carol's datagram", UPLINK_EGRESS, &carol,
			NX_TC_PASS, &r) &&
	       nat_moved_port(s, c, &carol, 45010, NAT_PORT_MIN, NAT_PORT_MAX,
			      &sent.sport) &&
	       expect_frame(c, &r, &sent) &&
	       nat_xmit(s, c, "carol's datagram, no checksum", UPLINK_EGRESS,
			&carol0, NX_TC_PASS, &r) &&
	       nat_moved_port(s, c, &carol0, 45011, NAT_PORT_MIN, NAT_PORT_MAX,
			      &sent0.sport) &&
	       expect_frame(c, &r, &sent0) &&
	       nat_send(s, c, "port unreachable", UPLINK_XDP, &err, NX_XDP_PASS,
			&err_out) &&
	       nat_send(s, c, "port unreachable, no inner checksum", UPLINK_XDP,
			&err0, NX_XDP_PASS, &err0_out);
}

/* The quoted echo request gets its identifier back, and the quoted ICMP
 * checksum with it. */
static bool nat_icmp_err_echo(struct suite *s, struct check *c)
{
	const struct pkt_desc bob =
		ICMP(BOB, REMOTE, ICMP_T_ECHO, .icmp_id = 77);
	const struct pkt_desc bob_out =
		ICMP(UPLINK, REMOTE, ICMP_T_ECHO, .icmp_id = 77);
	const struct pkt_desc carol =
		ICMP(CAROL, REMOTE, ICMP_T_ECHO, .icmp_id = 77);
	struct pkt_desc sent = ICMP(UPLINK, REMOTE, ICMP_T_ECHO);
	const struct pkt_desc err_bob =
		ICMP(PATH_ROUTER, UPLINK, ICMP_T_TIMXCEED, .inner = &bob_out);
	const struct pkt_desc err_bob_out =
		ICMP(PATH_ROUTER, BOB, ICMP_T_TIMXCEED, .inner = &bob);
	const struct pkt_desc err =
		ICMP(PATH_ROUTER, UPLINK, ICMP_T_TIMXCEED, .inner = &sent);
	const struct pkt_desc err_out =
		ICMP(PATH_ROUTER, CAROL, ICMP_T_TIMXCEED, .inner = &carol);
	struct run r;

	return nat_send(s, c, "bob's request", UPLINK_EGRESS, &bob, NX_TC_PASS,
			&bob_out) &&
	       nat_xmit(s, c, "carol's request, same id", UPLINK_EGRESS, &carol,
			NX_TC_PASS, &r) &&
	       nat_moved_port(s, c, &carol, 77, NAT_PORT_MIN, NAT_PORT_MAX,
			      &sent.icmp_id) &&
	       expect_frame(c, &r, &sent) &&
	       nat_send(s, c, "time exceeded about bob's", UPLINK_XDP, &err_bob,
			NX_XDP_PASS, &err_bob_out) &&
	       nat_send(s, c, "time exceeded about carol's", UPLINK_XDP, &err,
			NX_XDP_PASS, &err_out);
}

static bool nat_icmp_err_unrelated(struct suite *s, struct check *c)
{
	const struct pkt_desc stray = TCP(UPLINK, 45999, REMOTE, 443, TH_SYN);
	const struct pkt_desc err = ICMP(PATH_ROUTER, UPLINK, ICMP_T_UNREACH,
					 .icmp_code = ICMP_C_FRAG_NEEDED,
					 .inner = &stray, .quote_l4 = 20);

	return nat_send(s, c, "frag-needed about no flow", UPLINK_XDP, &err,
			NX_XDP_PASS, NULL) &&
	       expect_nat_count(s, c, 0);
}

/* ---- 5: port forwards ------------------------------------------------------ */

static bool nat_fwd_bridge(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(CLIENT, 50000, UPLINK, 8080, TH_SYN);
	const struct pkt_desc syn_out = TCP(CLIENT, 50000, WEB, 80, TH_SYN);
	const struct pkt_desc synack =
		TCP(WEB, 80, CLIENT, 50000, TH_SYN | TH_ACK);
	const struct pkt_desc synack_out =
		TCP(UPLINK, 8080, CLIENT, 50000, TH_SYN | TH_ACK);
	const struct pkt_desc data = TCP(CLIENT, 50000, UPLINK, 8080,
					 TH_ACK | TH_PSH, .payload_len = 60);
	const struct pkt_desc data_out =
		TCP(CLIENT, 50000, WEB, 80, TH_ACK | TH_PSH, .payload_len = 60);
	struct cg_fwd_counters a, mid, b;

	return fwd_get(s, c, 2, &a) &&
	       nat_send(s, c, "SYN at the uplink", UPLINK_XDP, &syn,
			NX_XDP_PASS, &syn_out) &&
	       expect_nat_pair(s, c, &syn, &syn_out,
			       NAT_WANT(CG_NAT_FORWARD, 2, 0, true)) &&
	       expect_nat_count(s, c, 2) && fwd_get(s, c, 2, &mid) &&
	       expect_fwd(c, &a, &mid, 1, 40, 0, 0) &&
	       nat_send(s, c, "SYN-ACK from the bridge", UPLINK_EGRESS, &synack,
			NX_TC_PASS, &synack_out) &&
	       nat_send(s, c, "data at the uplink", UPLINK_XDP, &data,
			NX_XDP_PASS, &data_out) &&
	       expect_nat_count(s, c, 2) && fwd_get(s, c, 2, &b) &&
	       expect_fwd(c, &a, &b, 2, 40 + 100, 0, 0);
}

static bool nat_fwd_denied(struct suite *s, struct check *c)
{
	const struct pkt_desc blocked =
		TCP(BLOCKED, 50000, UPLINK, 8080, TH_SYN);
	const struct pkt_desc outside =
		TCP(CLIENT_OUT, 50000, UPLINK, 8080, TH_SYN);
	const struct pkt_desc edge =
		TCP(CLIENT_EDGE, 50000, UPLINK, 8080, TH_SYN);
	const struct pkt_desc edge_out =
		TCP(CLIENT_EDGE, 50000, WEB, 80, TH_SYN);
	struct cg_fwd_counters a, mid, b;

	return fwd_get(s, c, 2, &a) &&
	       nat_send(s, c, "SYN from 192.0.2.5", UPLINK_XDP, &blocked,
			NX_XDP_DROP, NULL) &&
	       nat_send(s, c, "SYN from 198.51.101.9", UPLINK_XDP, &outside,
			NX_XDP_DROP, NULL) &&
	       expect_nat_count(s, c, 0) && fwd_get(s, c, 2, &mid) &&
	       expect_fwd(c, &a, &mid, 0, 0, 2, 0) &&
	       nat_send(s, c, "SYN from 198.51.100.255", UPLINK_XDP, &edge,
			NX_XDP_PASS, &edge_out) &&
	       fwd_get(s, c, 2, &b) && expect_fwd(c, &mid, &b, 1, 40, 0, 0) &&
	       expect_nat_count(s, c, 2);
}

static bool nat_fwd_none(struct suite *s, struct check *c)
{
	const struct pkt_desc port = TCP(CLIENT, 50001, UPLINK, 9999, TH_SYN);
	const struct pkt_desc proto = UDP(CLIENT, 50001, UPLINK, 8080);
	const struct pkt_desc addr =
		TCP(CLIENT, 50001, OTHER_ADDR, 8080, TH_SYN);
	struct cg_fwd_counters a, b;

	return fwd_get(s, c, 2, &a) &&
	       nat_send(s, c, "tcp to port 9999", UPLINK_XDP, &port,
			NX_XDP_PASS, NULL) &&
	       nat_send(s, c, "udp to port 8080", UPLINK_XDP, &proto,
			NX_XDP_PASS, NULL) &&
	       nat_send(s, c, "tcp 8080 of another address", UPLINK_XDP, &addr,
			NX_XDP_PASS, NULL) &&
	       expect_nat_count(s, c, 0) && fwd_get(s, c, 2, &b) &&
	       expect_fwd(c, &a, &b, 0, 0, 0, 0);
}

/* Forward 1 leads to a peer: the destination is rewritten in XDP, the
 * source on wg0 egress; dave's reply is turned back in two steps. */
static bool nat_fwd_peer_tcp(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(CLIENT, 50000, UPLINK, 22015, TH_SYN);
	const struct pkt_desc to_wg = TCP(CLIENT, 50000, DAVE, 22, TH_SYN);
	const struct pkt_desc wire = TCP(ROUTER, 50000, DAVE, 22, TH_SYN);
	const struct pkt_desc synack =
		TCP(DAVE, 22, ROUTER, 50000, TH_SYN | TH_ACK);
	const struct pkt_desc synack_in =
		TCP(DAVE, 22, CLIENT, 50000, TH_SYN | TH_ACK);
	const struct pkt_desc synack_out =
		TCP(UPLINK, 22015, CLIENT, 50000, TH_SYN | TH_ACK);
	const struct pkt_desc ack = TCP(CLIENT, 50000, UPLINK, 22015, TH_ACK);
	const struct pkt_desc ack_wg = TCP(CLIENT, 50000, DAVE, 22, TH_ACK);
	const struct pkt_desc ack_wire = TCP(ROUTER, 50000, DAVE, 22, TH_ACK);
	struct cg_fwd_counters a, b;

	return fwd_get(s, c, 1, &a) &&
	       nat_send(s, c, "SYN at the uplink", UPLINK_XDP, &syn,
			NX_XDP_PASS, &to_wg) &&
	       expect_nat_pair(s, c, &syn, &to_wg,
			       NAT_WANT(CG_NAT_FORWARD, 1, 1, true)) &&
	       expect_nat_count(s, c, 2) &&
	       nat_send(s, c, "SYN on wg0", EGRESS, &to_wg, NX_TX(ID_DAVE),
			&wire) &&
	       expect_nat_pair(s, c, &to_wg, &wire,
			       NAT_WANT(CG_NAT_WG_SNAT, 1, 0, true)) &&
	       expect_nat_count(s, c, 4) &&
	       expect_ct_ids(s, c, &wire, CG_CT_TO_WG, CG_CT_NEW, ID_UNKNOWN,
			     ID_DAVE, false) &&
	       expect_no_ct(s, c, &to_wg) &&
	       nat_send(s, c, "dave's SYN-ACK on wg0", INGRESS, &synack,
			NX_RX(ID_DAVE), &synack_in) &&
	       expect_ct_ids(s, c, &wire, CG_CT_TO_WG, CG_CT_ESTABLISHED,
			     ID_UNKNOWN, ID_DAVE, true) &&
	       nat_send(s, c, "SYN-ACK at the uplink", UPLINK_EGRESS,
			&synack_in, NX_TC_PASS, &synack_out) &&
	       nat_send(s, c, "ACK at the uplink", UPLINK_XDP, &ack,
			NX_XDP_PASS, &ack_wg) &&
	       nat_send(s, c, "ACK on wg0", EGRESS, &ack_wg, NX_TX(ID_DAVE),
			&ack_wire) &&
	       expect_nat_count(s, c, 4) && fwd_get(s, c, 1, &b) &&
	       expect_fwd(c, &a, &b, 2, 80, 0, 0);
}

static bool nat_fwd_peer_udp(struct suite *s, struct check *c)
{
	const struct pkt_desc q =
		UDP(CLIENT, 50003, UPLINK, 5353, .payload_len = 30);
	const struct pkt_desc q_wg =
		UDP(CLIENT, 50003, DAVE, 53, .payload_len = 30);
	const struct pkt_desc q_wire =
		UDP(ROUTER, 50003, DAVE, 53, .payload_len = 30);
	const struct pkt_desc a =
		UDP(DAVE, 53, ROUTER, 50003, .payload_len = 91);
	const struct pkt_desc a_in =
		UDP(DAVE, 53, CLIENT, 50003, .payload_len = 91);
	const struct pkt_desc a_out =
		UDP(UPLINK, 5353, CLIENT, 50003, .payload_len = 91);

	return nat_send(s, c, "query at the uplink", UPLINK_XDP, &q,
			NX_XDP_PASS, &q_wg) &&
	       expect_nat_pair(s, c, &q, &q_wg,
			       NAT_WANT(CG_NAT_FORWARD, 3, 1, true)) &&
	       nat_send(s, c, "query on wg0", EGRESS, &q_wg, NX_TX(ID_DAVE),
			&q_wire) &&
	       expect_nat_pair(s, c, &q_wg, &q_wire,
			       NAT_WANT(CG_NAT_WG_SNAT, 3, 0, true)) &&
	       expect_ct_ids(s, c, &q_wire, CG_CT_TO_WG, CG_CT_NEW, ID_UNKNOWN,
			     ID_DAVE, false) &&
	       nat_send(s, c, "dave's answer on wg0", INGRESS, &a,
			NX_RX(ID_DAVE), &a_in) &&
	       expect_ct_ids(s, c, &q_wire, CG_CT_TO_WG, CG_CT_ESTABLISHED,
			     ID_UNKNOWN, ID_DAVE, true) &&
	       nat_send(s, c, "answer at the uplink", UPLINK_EGRESS, &a_in,
			NX_TC_PASS, &a_out) &&
	       expect_nat_count(s, c, 4);
}

/* Forward 4 keeps the client's address: wg0 egress admits the flow as
 * forwarded while the forward's translation lives, not after. */
static bool nat_fwd_snat_never(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(CLIENT, 50002, UPLINK, 2222, TH_SYN);
	const struct pkt_desc to_wg = TCP(CLIENT, 50002, DAVE, 22, TH_SYN);
	const struct pkt_desc synack =
		TCP(DAVE, 22, CLIENT, 50002, TH_SYN | TH_ACK);
	const struct pkt_desc synack_out =
		TCP(UPLINK, 2222, CLIENT, 50002, TH_SYN | TH_ACK);
	const struct pkt_desc ack = TCP(CLIENT, 50002, DAVE, 22, TH_ACK);

	if (!nat_send(s, c, "SYN at the uplink", UPLINK_XDP, &syn, NX_XDP_PASS,
		      &to_wg) ||
	    !expect_nat_pair(s, c, &syn, &to_wg,
			     NAT_WANT(CG_NAT_FORWARD, 4, 0, true)) ||
	    !nat_send(s, c, "SYN on wg0", EGRESS, &to_wg, NX_TX(ID_DAVE),
		      NULL) ||
	    !expect_nat_count(s, c, 2) ||
	    !expect_ct_ids(s, c, &to_wg, CG_CT_FORWARDED, CG_CT_NEW, ID_UNKNOWN,
			   ID_DAVE, false) ||
	    !nat_send(s, c, "dave's SYN-ACK on wg0", INGRESS, &synack,
		      NX_RX(ID_DAVE), NULL) ||
	    !nat_send(s, c, "SYN-ACK at the uplink", UPLINK_EGRESS, &synack,
		      NX_TC_PASS, &synack_out) ||
	    !update_peer(s, c, "dave", dave_rejudge_json) ||
	    !nat_send(s, c, "ACK after a re-judge", EGRESS, &ack,
		      NX_TX(ID_DAVE), NULL) ||
	    !expect_ct_ids(s, c, &to_wg, CG_CT_FORWARDED, CG_CT_ESTABLISHED,
			   ID_UNKNOWN, ID_DAVE, true))
		return false;
	c->step = "dp_forget_owner(4)";
	return expect_eq(c, "dp_forget_owner(4)", 2,
			 (uint64_t)dp_forget_owner(&s->dp, 4)) &&
	       expect_nat_count(s, c, 0) &&
	       update_peer(s, c, "dave", dave_rejudge_back_json) &&
	       nat_send(s, c, "ACK once the forward is gone", EGRESS, &ack,
			NX_TC_DROP(CG_DROP_UNSOLICITED, ID_DAVE), NULL) &&
	       expect_no_ct(s, c, &to_wg);
}

/* ---- 6: bridge to a linked cell ------------------------------------------- */

static bool nat_bridge_cell(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(API, 40000, CELL_HOST, 3000, TH_SYN);
	const struct pkt_desc wire =
		TCP(ROUTER, 40000, CELL_HOST, 3000, TH_SYN);
	const struct pkt_desc synack =
		TCP(CELL_HOST, 3000, ROUTER, 40000, TH_SYN | TH_ACK);
	const struct pkt_desc synack_out =
		TCP(CELL_HOST, 3000, API, 40000, TH_SYN | TH_ACK);
	const struct pkt_desc ack =
		TCP(API, 40000, CELL_HOST, 3000, TH_ACK, .payload_len = 10);
	const struct pkt_desc ack_wire =
		TCP(ROUTER, 40000, CELL_HOST, 3000, TH_ACK, .payload_len = 10);
	const struct pkt_desc syn2 = TCP(API2, 40000, CELL_HOST, 3000, TH_SYN);
	struct pkt_desc wire2 = TCP(ROUTER, 0, CELL_HOST, 3000, TH_SYN);
	struct pkt_desc synack2 =
		TCP(CELL_HOST, 3000, ROUTER, 0, TH_SYN | TH_ACK);
	const struct pkt_desc synack2_out =
		TCP(CELL_HOST, 3000, API2, 40000, TH_SYN | TH_ACK);
	struct run r;

	if (!nat_send(s, c, "bridge SYN", EGRESS, &syn, NX_TX(ID_CELL),
		      &wire) ||
	    !expect_nat_pair(s, c, &syn, &wire,
			     NAT_WANT(CG_NAT_BRIDGE_SNAT, 0, 0, true)) ||
	    !expect_nat_count(s, c, 2) ||
	    !expect_ct_ids(s, c, &wire, CG_CT_TO_WG, CG_CT_NEW, ID_UNKNOWN,
			   ID_CELL, false) ||
	    !expect_no_ct(s, c, &syn) ||
	    !nat_send(s, c, "the cell's SYN-ACK", INGRESS, &synack,
		      NX_RX(ID_CELL), &synack_out) ||
	    !expect_ct_ids(s, c, &wire, CG_CT_TO_WG, CG_CT_ESTABLISHED,
			   ID_UNKNOWN, ID_CELL, true) ||
	    !nat_send(s, c, "bridge ACK", EGRESS, &ack, NX_TX(ID_CELL),
		      &ack_wire) ||
	    !nat_xmit(s, c, "another bridge host, same port", EGRESS, &syn2,
		      NX_TX(ID_CELL), &r) ||
	    !nat_moved_port(s, c, &syn2, 40000, NAT_PORT_MIN, NAT_PORT_MAX,
			    &wire2.sport))
		return false;
	synack2.dport = wire2.sport;
	return expect_frame(c, &r, &wire2) &&
	       nat_send(s, c, "the cell's SYN-ACK to it", INGRESS, &synack2,
			NX_RX(ID_CELL), &synack2_out) &&
	       expect_nat_count(s, c, 4);
}

static bool nat_bridge_peer(struct suite *s, struct check *c)
{
	const struct pkt_desc syn = TCP(API, 40001, ALICE, 8443, TH_SYN);

	return nat_send(s, c, "bridge SYN to alice", EGRESS, &syn,
			NX_TX(ID_ALICE), NULL) &&
	       expect_nat_count(s, c, 0) &&
	       expect_ct(s, c, &syn,
			 CT_IS(CG_CT_TO_WG, CG_CT_NEW, NULL, "alice", TCP_SYN_S,
			       false));
}

/* ---- 7: fragments ---------------------------------------------------------- */

/* carol's datagram was given another port, so a program that wrote ports
 * or an L4 checksum into a later fragment would change its data. */
static bool nat_fragments(struct suite *s, struct check *c)
{
	const struct pkt_desc bob =
		UDP(BOB, 45020, REMOTE, 4500, .payload_len = 16);
	const struct pkt_desc bob_out =
		UDP(UPLINK, 45020, REMOTE, 4500, .payload_len = 16);
	const struct pkt_desc first =
		UDP(CAROL, 45020, REMOTE, 4500, .ip_id = 999, .mf = true,
		    .payload_len = 64);
	struct pkt_desc first_out = UDP(UPLINK, 0, REMOTE, 4500, .ip_id = 999,
					.mf = true, .payload_len = 64);
	const struct pkt_desc later =
		UDP(CAROL, 45020, REMOTE, 4500, .ip_id = 999, .frag_off = 9,
		    .payload_len = 40);
	const struct pkt_desc later_out =
		UDP(UPLINK, 0, REMOTE, 0, .ip_id = 999, .frag_off = 9,
		    .payload_len = 40);
	struct pkt_desc back_first = UDP(REMOTE, 4500, UPLINK, 0, .ip_id = 555,
					 .mf = true, .payload_len = 64);
	const struct pkt_desc back_first_out =
		UDP(REMOTE, 4500, CAROL, 45020, .ip_id = 555, .mf = true,
		    .payload_len = 64);
	const struct pkt_desc back_later =
		UDP(REMOTE, 0, UPLINK, 0, .ip_id = 555, .frag_off = 9,
		    .payload_len = 40);
	const struct pkt_desc back_later_out =
		UDP(REMOTE, 0, CAROL, 0, .ip_id = 555, .frag_off = 9,
		    .payload_len = 40);
	const struct pkt_desc orphan =
		UDP(CAROL, 45021, REMOTE, 4500, .ip_id = 4242, .frag_off = 9,
		    .payload_len = 40);
	struct run r;

	if (!nat_send(s, c, "bob's datagram", UPLINK_EGRESS, &bob, NX_TC_PASS,
		      &bob_out) ||
	    !nat_xmit(s, c, "carol's first fragment", UPLINK_EGRESS, &first,
		      NX_TC_PASS, &r) ||
	    !nat_moved_port(s, c, &first, 45020, NAT_PORT_MIN, NAT_PORT_MAX,
			    &first_out.sport))
		return false;
	back_first.dport = first_out.sport;
	return expect_frame(c, &r, &first_out) &&
	       nat_send(s, c, "carol's later fragment", UPLINK_EGRESS, &later,
			NX_TC_PASS, &later_out) &&
	       nat_send(s, c, "first fragment back", UPLINK_XDP, &back_first,
			NX_XDP_PASS, &back_first_out) &&
	       nat_send(s, c, "later fragment back", UPLINK_XDP, &back_later,
			NX_XDP_PASS, &back_later_out) &&
	       expect_nat_count(s, c, 4) &&
	       /* A later fragment whose first was never seen has no
		* translation: dropped, not sent with carol's address. */
	       nat_send(s, c, "orphan later fragment", UPLINK_EGRESS, &orphan,
			NX_TC_DROP(CG_DROP_FRAGMENT, ID_CAROL), NULL) &&
	       expect_nat_count(s, c, 4);
}

/* ---- 8: the controller's side ---------------------------------------------- */

static bool nat_gc_pairs(struct suite *s, struct check *c)
{
	const struct pkt_desc a = TCP(BOB, 45030, REMOTE, 443, TH_SYN);
	const struct pkt_desc a_out = TCP(UPLINK, 45030, REMOTE, 443, TH_SYN);
	const struct pkt_desc b = TCP(CAROL, 45031, REMOTE, 443, TH_SYN);
	const struct pkt_desc b_out = TCP(UPLINK, 45031, REMOTE, 443, TH_SYN);
	const struct pkt_desc d = TCP(BOB, 45032, REMOTE, 443, TH_SYN);
	const struct pkt_desc d_out = TCP(UPLINK, 45032, REMOTE, 443, TH_SYN);
	struct cg_ct_key ka = key_of(&a), kb = key_of(&b);
	struct cg_ct_key ka_out = key_of(&a_out), kb_out = key_of(&b_out);
	struct cg_ct_key kd_out = key_of(&d_out);
	struct cg_ct_key ka_r = key_rev(&ka_out), kb_r = key_rev(&kb_out);
	struct cg_ct_key kd_r = key_rev(&kd_out);

	/* a: both halves expired; b: only the original; d: only the
	 * reply. */
	if (!nat_send(s, c, "flow a", UPLINK_EGRESS, &a, NX_TC_PASS, &a_out) ||
	    !nat_send(s, c, "flow b", UPLINK_EGRESS, &b, NX_TC_PASS, &b_out) ||
	    !nat_send(s, c, "flow d", UPLINK_EGRESS, &d, NX_TC_PASS, &d_out) ||
	    !expect_nat_count(s, c, 6) || !nat_expire(s, c, &ka) ||
	    !nat_expire(s, c, &ka_r) || !nat_expire(s, c, &kb) ||
	    !nat_expire(s, c, &kd_r))
		return false;
	c->step = "dp_gc";
	if (!expect_eq(c, "dp_gc deleted", 2,
		       (uint64_t)dp_gc(&s->dp, monotonic_ns())) ||
	    !expect_no_nat(s, c, &ka) || !expect_no_nat(s, c, &ka_r) ||
	    !expect_nat_pair(s, c, &b, &b_out,
			     NAT_WANT(CG_NAT_MASQ, 0, 0, false)) ||
	    !expect_nat_pair(s, c, &d, &d_out,
			     NAT_WANT(CG_NAT_MASQ, 0, 0, false)) ||
	    !expect_nat_count(s, c, 4) || !nat_expire(s, c, &kb_r))
		return false;
	c->step = "dp_gc, b's reply expired too";
	return expect_eq(c, "dp_gc deleted", 2,
			 (uint64_t)dp_gc(&s->dp, monotonic_ns())) &&
	       expect_no_nat(s, c, &kb) && expect_no_nat(s, c, &kb_r) &&
	       expect_nat_count(s, c, 2) &&
	       expect_nat_pair(s, c, &d, &d_out,
			       NAT_WANT(CG_NAT_MASQ, 0, 0, false));
}

static bool nat_forget_owner(struct suite *s, struct check *c)
{
	const struct pkt_desc f1 = TCP(CLIENT, 50000, UPLINK, 22015, TH_SYN);
	const struct pkt_desc f1_wg = TCP(CLIENT, 50000, DAVE, 22, TH_SYN);
	const struct pkt_desc f1_wire = TCP(ROUTER, 50000, DAVE, 22, TH_SYN);
	const struct pkt_desc f2 = TCP(CLIENT, 50000, UPLINK, 8080, TH_SYN);
	const struct pkt_desc f2_out = TCP(CLIENT, 50000, WEB, 80, TH_SYN);
	const struct pkt_desc f3 = UDP(CLIENT, 50003, UPLINK, 5353);
	const struct pkt_desc f3_out = UDP(CLIENT, 50003, DAVE, 53);
	const struct pkt_desc m = TCP(BOB, 45000, REMOTE, 443, TH_SYN);
	const struct pkt_desc m_out = TCP(UPLINK, 45000, REMOTE, 443, TH_SYN);
	struct cg_ct_key k1 = key_of(&f1), k1_wg = key_of(&f1_wg);
	struct cg_ct_key k1_wire = key_of(&f1_wire);
	struct cg_ct_key k1_r = key_rev(&k1_wg), k1_wire_r = key_rev(&k1_wire);

	if (!nat_send(s, c, "forward 1 at the uplink", UPLINK_XDP, &f1,
		      NX_XDP_PASS, &f1_wg) ||
	    !nat_send(s, c, "forward 1 on wg0", EGRESS, &f1_wg, NX_TX(ID_DAVE),
		      &f1_wire) ||
	    !nat_send(s, c, "forward 2", UPLINK_XDP, &f2, NX_XDP_PASS,
		      &f2_out) ||
	    !nat_send(s, c, "forward 3", UPLINK_XDP, &f3, NX_XDP_PASS,
		      &f3_out) ||
	    !nat_send(s, c, "masquerade", UPLINK_EGRESS, &m, NX_TC_PASS,
		      &m_out) ||
	    !expect_nat_count(s, c, 10))
		return false;
	c->step = "dp_forget_owner(1)";
	return expect_eq(c, "dp_forget_owner(1)", 4,
			 (uint64_t)dp_forget_owner(&s->dp, 1)) &&
	       expect_nat_count(s, c, 6) && expect_no_nat(s, c, &k1) &&
	       expect_no_nat(s, c, &k1_r) && expect_no_nat(s, c, &k1_wg) &&
	       expect_no_nat(s, c, &k1_wire_r) &&
	       expect_nat_pair(s, c, &f2, &f2_out,
			       NAT_WANT(CG_NAT_FORWARD, 2, 0, false)) &&
	       expect_nat_pair(s, c, &f3, &f3_out,
			       NAT_WANT(CG_NAT_FORWARD, 3, 1, false)) &&
	       expect_nat_pair(s, c, &m, &m_out,
			       NAT_WANT(CG_NAT_MASQ, 0, 0, false));
}

#endif
