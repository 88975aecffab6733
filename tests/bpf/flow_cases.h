// SPDX-License-Identifier: MIT
/*
 * Flow cases: several packets, or a policy change between them, through
 * the wg0 programs on the fixture cell: conntrack both ways, ICMP errors,
 * fragments, re-judging on a change, TCP teardown, expiry and dp_gc.
 * Also the struct flow table that nat_cases.h and observe_cases.h use.
 *
 * Included by bpf_test.c after its helpers; each flow runs on a fresh
 * fixture cell (cell_build).
 */
#ifndef CG_TEST_FLOW_CASES_H
#define CG_TEST_FLOW_CASES_H

/* ---- flows: several packets, or a change between them -------------------- */

#define PASSES(who) (&(const struct expect)PASS(who))
#define DROPS(why, who) (&(const struct expect)DROP(why, who))
#define CT_IS(orig, st, s, d, life, reply)           \
	(&(const struct ct_expect){ .present = true, \
				    .origin = orig,  \
				    .state = st,     \
				    .src = s,        \
				    .dst = d,        \
				    .life_s = life,  \
				    .seen_reply = reply })

#define TCP_SYN_S 60
#define TCP_EST_S 21600
#define TCP_FIN_S 120
#define TCP_CLOSE_S 10
#define UDP_S 30
#define UDP_EST_S 120
#define ICMP_S 30

static const char calendar_8080_json[] =
	"{\"endpoints\":[{\"ip\":\"172.20.0.21\",\"proto\":\"tcp\","
	"\"port\":8080}]}";

static bool expect_frag(struct suite *s, struct check *c,
			const struct pkt_desc *d)
{
	struct cg_frag_key k = { .ip_id = d->ip_id, .proto = d->proto };
	struct cg_frag_ports p;

	inet_pton(AF_INET, d->src, k.saddr);
	inet_pton(AF_INET, d->dst, k.daddr);
	if (bpf_map_lookup_elem(s->dp.map_fd[DP_MAP_FRAGS], &k, &p))
		return failf(c, "cg_frags: no entry for IP id %u", d->ip_id);
	return expect_eq(c, "cg_frags.sport", d->sport, p.sport) &&
	       expect_eq(c, "cg_frags.dport", d->dport, p.dport);
}

static bool expect_peer_entry(struct suite *s, struct check *c, const char *ip,
			      bool present)
{
	struct cg_addr_key k;

	inet_pton(AF_INET, ip, k.addr);
	return expect_eq(c, "cg_peers entry present", present,
			 map_has(s->dp.map_fd[DP_MAP_PEERS], &k));
}

static bool expect_service_entry(struct suite *s, struct check *c,
				 const char *ip, uint8_t proto, uint16_t port,
				 bool present)
{
	struct cg_service_key k = { .port = port, .proto = proto };
	char what[64];

	inet_pton(AF_INET, ip, k.addr);
	snprintf(what, sizeof(what), "cg_services has %s/%u/%u", ip, proto,
		 port);
	return expect_eq(c, what, present,
			 map_has(s->dp.map_fd[DP_MAP_SERVICES], &k));
}

static bool expect_epoch(struct suite *s, struct check *c, const char *who,
			 uint32_t want)
{
	char what[48];

	snprintf(what, sizeof(what), "cg_epochs[%s]", who);
	return expect_eq(c, what, want, epoch_of(s, ident_id(who)));
}

/* Make the flow opened by d look idle for too long. */
static bool ct_expire(struct suite *s, struct check *c,
		      const struct pkt_desc *d)
{
	struct cg_ct_entry e;

	if (!ct_read(s, c, d, &e))
		return false;
	e.expires_ns = monotonic_ns() - NSEC;
	return ct_write(s, c, d, &e);
}

static bool calendar_handshake(struct suite *s, struct check *c)
{
	return send_pkt(s, c, "SYN", INGRESS, &cal_syn, PASSES("alice")) &&
	       send_pkt(s, c, "SYN-ACK", EGRESS, &cal_synack,
			PASSES("alice")) &&
	       send_pkt(s, c, "ACK", INGRESS, &cal_ack, PASSES("alice"));
}

/* 1, 3: the entry follows the handshake; replies pass by conntrack. */
static bool flow_tcp_handshake(struct suite *s, struct check *c)
{
	return send_pkt(s, c, "SYN", INGRESS, &cal_syn, PASSES("alice")) &&
	       expect_ct(s, c, &cal_syn,
			 CT_IS(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL,
			       TCP_SYN_S, false)) &&
	       send_pkt(s, c, "SYN-ACK", EGRESS, &cal_synack,
			PASSES("alice")) &&
	       expect_ct(s, c, &cal_syn,
			 CT_IS(CG_CT_FROM_WG, CG_CT_ESTABLISHED, "alice", NULL,
			       TCP_EST_S, true)) &&
	       send_pkt(s, c, "ACK", INGRESS, &cal_ack, PASSES("alice")) &&
	       send_pkt(s, c, "data", INGRESS, &cal_data, PASSES("alice")) &&
	       send_pkt(s, c, "reply", EGRESS, &cal_reply, PASSES("alice")) &&
	       expect_ct(s, c, &cal_syn,
			 CT_IS(CG_CT_FROM_WG, CG_CT_ESTABLISHED, "alice", NULL,
			       TCP_EST_S, true));
}

/* 8: UDP goes to cg_ct_other; the answer passes egress. */
static bool flow_udp_dns(struct suite *s, struct check *c)
{
	return send_pkt(s, c, "query", INGRESS, &dns_query, PASSES("alice")) &&
	       expect_ct(s, c, &dns_query,
			 CT_IS(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL, UDP_S,
			       false)) &&
	       send_pkt(s, c, "answer", EGRESS, &dns_answer, PASSES("alice")) &&
	       expect_ct(s, c, &dns_query,
			 CT_IS(CG_CT_FROM_WG, CG_CT_ESTABLISHED, "alice", NULL,
			       UDP_EST_S, true));
}

/* 9: the echo id is sport of the request and dport of the reply. */
static bool flow_icmp_echo(struct suite *s, struct check *c)
{
	return send_pkt(s, c, "request", INGRESS, &ping_req, PASSES("alice")) &&
	       expect_ct(s, c, &ping_req,
			 CT_IS(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL, ICMP_S,
			       false)) &&
	       send_pkt(s, c, "reply", EGRESS, &ping_rep, PASSES("alice")) &&
	       expect_ct(s, c, &ping_req,
			 CT_IS(CG_CT_FROM_WG, CG_CT_ESTABLISHED, "alice", NULL,
			       ICMP_S, true));
}

/* 10: alice reports the answer's port closed: the error quotes dns ->
 * alice, the reply direction of her flow, which is related. So is an
 * error toward alice quoting her own query. Neither opens a flow. */
static bool flow_icmp_error_related(struct suite *s, struct check *c)
{
	static const struct pkt_desc query_unreach =
		ICMP(DNS, ALICE, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_PORT_UNREACH, .inner = &dns_query);

	return send_pkt(s, c, "query", INGRESS, &dns_query, PASSES("alice")) &&
	       send_pkt(s, c, "answer", EGRESS, &dns_answer, PASSES("alice")) &&
	       send_pkt(s, c, "port unreachable from alice", INGRESS,
			&dns_answer_unreach, PASSES("alice")) &&
	       expect_no_ct(s, c, &dns_answer_unreach) &&
	       send_pkt(s, c, "port unreachable to alice", EGRESS,
			&query_unreach, PASSES("alice")) &&
	       send_pkt(s, c, "error about no flow", INGRESS, &stray_unreach,
			DROPS(CG_DROP_ICMP_UNRELATED, "alice"));
}

/* An ICMP error is related to a flow only for the flow's endpoints: one
 * quoting alice's flow must not carry carol's payload to the internet
 * (she has no internet and is isolated), nor reach carol from outside. */
static bool flow_icmp_error_forged(struct suite *s, struct check *c)
{
	return send_pkt(s, c, "query", INGRESS, &dns_query, PASSES("alice")) &&
	       send_pkt(s, c, "answer", EGRESS, &dns_answer, PASSES("alice")) &&
	       send_pkt(s, c, "carol's error to the internet", INGRESS,
			&carol_forged_error,
			DROPS(CG_DROP_ICMP_UNRELATED, "carol")) &&
	       send_pkt(s, c, "carol's error to dns", INGRESS,
			&carol_error_to_dns,
			DROPS(CG_DROP_ICMP_UNRELATED, "carol")) &&
	       send_pkt(s, c, "alice's error to the internet", INGRESS,
			&alice_misdirected_error,
			DROPS(CG_DROP_ICMP_UNRELATED, "alice")) &&
	       send_pkt(s, c, "outsider's error to carol", EGRESS,
			&forged_error_to_carol,
			DROPS(CG_DROP_ICMP_UNRELATED, "carol"));
}

/* 11: later fragments get their ports from the first. */
static bool flow_fragments(struct suite *s, struct check *c)
{
	return send_pkt(s, c, "first fragment", INGRESS, &dns_frag1,
			PASSES("alice")) &&
	       expect_frag(s, c, &dns_frag1) &&
	       expect_ct(s, c, &dns_frag1,
			 CT_IS(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL, UDP_S,
			       false)) &&
	       send_pkt(s, c, "later fragment", INGRESS, &dns_frag2,
			PASSES("alice")) &&
	       send_pkt(s, c, "unknown IP id", INGRESS, &dns_frag_unknown,
			DROPS(CG_DROP_FRAGMENT, "alice"));
}

/* A denied first fragment takes its later fragments down with it, and
 * they are charged to their sender. */
static bool flow_denied_fragments(struct suite *s, struct check *c)
{
	return send_pkt(s, c, "first fragment", INGRESS, &files_frag1,
			DROPS(CG_DROP_SERVICE_DENIED, "alice")) &&
	       send_pkt(s, c, "later fragment", INGRESS, &files_frag2,
			DROPS(CG_DROP_FRAGMENT, "alice"));
}

/* 12: revoking a service ends its established flows at once. */
static bool flow_revoke_access(struct suite *s, struct check *c)
{
	uint32_t epoch = epoch_of(s, ident_id("alice"));

	return calendar_handshake(s, c) &&
	       update_peer(s, c, "alice",
			   "{\"service_access\":[\"dns\",\"ping\"]}") &&
	       expect_epoch(s, c, "alice", epoch + 1) &&
	       send_pkt(s, c, "data after revoke", INGRESS, &cal_data,
			DROPS(CG_DROP_SERVICE_DENIED, "alice")) &&
	       expect_no_ct(s, c, &cal_syn) &&
	       update_peer(s, c, "alice",
			   "{\"service_access\":[\"calendar\",\"dns\","
			   "\"ping\"]}") &&
	       send_pkt(s, c, "SYN after grant", INGRESS, &cal_syn,
			PASSES("alice")) &&
	       expect_ct(s, c, &cal_syn,
			 CT_IS(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL,
			       TCP_SYN_S, false));
}

/* A policy change that still allows the flow keeps it, re-stamped with
 * the new epoch. */
static bool flow_rejudge_keeps(struct suite *s, struct check *c)
{
	return calendar_handshake(s, c) &&
	       update_peer(s, c, "alice", "{\"internet_access\":true}") &&
	       send_pkt(s, c, "data after change", INGRESS, &cal_data,
			PASSES("alice")) &&
	       send_pkt(s, c, "reply after change", EGRESS, &cal_reply,
			PASSES("alice")) &&
	       expect_ct(s, c, &cal_syn,
			 CT_IS(CG_CT_FROM_WG, CG_CT_ESTABLISHED, "alice", NULL,
			       TCP_EST_S, true));
}

/* The destination's policy counts too: bob leaving peer_to_peer cuts
 * alice's flow to him, charged to whoever sends the next packet. */
static bool flow_p2p_revoked(struct suite *s, struct check *c)
{
	return send_pkt(s, c, "SYN", INGRESS, &p2p_syn, PASSES("alice")) &&
	       send_pkt(s, c, "SYN-ACK", INGRESS, &p2p_synack, PASSES("bob")) &&
	       update_peer(s, c, "bob", "{\"peer_to_peer\":false}") &&
	       send_pkt(s, c, "bob's next packet", INGRESS, &p2p_synack,
			DROPS(CG_DROP_PEER_ISOLATION, "bob")) &&
	       expect_no_ct(s, c, &p2p_syn);
}

/* A flow the cell opened survives a change of the peer's policy: it is
 * judged again by the policy that admitted it (cell to peer). */
static bool flow_cell_originated_rejudged(struct suite *s, struct check *c)
{
	return send_pkt(s, c, "SYN from the bridge", EGRESS, &bridge_syn,
			PASSES("alice")) &&
	       update_peer(s, c, "alice", "{\"service_access\":[]}") &&
	       send_pkt(s, c, "alice's SYN-ACK", INGRESS, &bridge_synack,
			PASSES("alice")) &&
	       expect_ct(s, c, &bridge_syn,
			 CT_IS(CG_CT_TO_WG, CG_CT_ESTABLISHED, NULL, "alice",
			       TCP_EST_S, true));
}

/* 12: a removed peer leaves nothing that admits its traffic. */
static bool flow_remove_peer(struct suite *s, struct check *c)
{
	uint32_t epoch = epoch_of(s, ident_id("alice"));

	return calendar_handshake(s, c) && delete_peer(s, c, "alice") &&
	       expect_peer_entry(s, c, ALICE, false) &&
	       expect_epoch(s, c, "alice", epoch + 1) &&
	       send_pkt(s, c, "data after removal", INGRESS, &cal_data,
			DROPS(CG_DROP_UNKNOWN_SOURCE, "alice")) &&
	       expect_no_ct(s, c, &cal_syn) &&
	       send_pkt(s, c, "new SYN after removal", INGRESS, &cal_syn,
			DROPS(CG_DROP_UNKNOWN_SOURCE, NULL));
}

/* 13: the cell may open flows to a peer; the peer's reply passes. */
static bool flow_cell_originated(struct suite *s, struct check *c)
{
	return send_pkt(s, c, "SYN from the bridge", EGRESS, &bridge_syn,
			PASSES("alice")) &&
	       expect_ct(s, c, &bridge_syn,
			 CT_IS(CG_CT_TO_WG, CG_CT_NEW, NULL, "alice", TCP_SYN_S,
			       false)) &&
	       send_pkt(s, c, "alice's SYN-ACK", INGRESS, &bridge_synack,
			PASSES("alice")) &&
	       expect_ct(s, c, &bridge_syn,
			 CT_IS(CG_CT_TO_WG, CG_CT_ESTABLISHED, NULL, "alice",
			       TCP_EST_S, true));
}

/* An entry a cellgate older than canonical keys pinned under the flow's
 * original tuple: dp_open moves it (ct_canonicalize), and the flow's
 * reply still finds it. bridge -> alice is a flow whose original tuple
 * is not canonical, so the move means something. */
static bool flow_ct_old_key(struct suite *s, struct check *c)
{
	int fd = ct_map_of(s, IPPROTO_TCP);
	struct cg_ct_key canon, orig;
	struct cg_ct_entry e;
	bool rev;

	if (!send_pkt(s, c, "SYN from the bridge", EGRESS, &bridge_syn,
		      PASSES("alice")))
		return false;
	ct_key_of(&bridge_syn, &canon, &rev);
	pkt_tuple(&bridge_syn, &orig);
	if (!expect_eq(c, "original tuple is not canonical", true, rev) ||
	    !expect_eq(c, "ct_key_canonical agrees", false,
		       ct_key_canonical(&orig)) ||
	    !ct_read(s, c, &bridge_syn, &e))
		return false;
	/* Pin it the old way. */
	e.key_rev = 0;
	if (bpf_map_delete_elem(fd, &canon) ||
	    bpf_map_update_elem(fd, &orig, &e, BPF_NOEXIST))
		return failf(c, "cannot write the old entry: %s",
			     strerror(errno));
	return expect_eq(c, "entries moved", 1, ct_canonicalize(fd)) &&
	       expect_eq(c, "old key gone", false, map_has(fd, &orig)) &&
	       expect_eq(c, "entries moved again", 0, ct_canonicalize(fd)) &&
	       send_pkt(s, c, "alice's SYN-ACK", INGRESS, &bridge_synack,
			PASSES("alice")) &&
	       expect_ct(s, c, &bridge_syn,
			 CT_IS(CG_CT_TO_WG, CG_CT_ESTABLISHED, NULL, "alice",
			       TCP_EST_S, true));
}

/* 5: a peer-to-peer flow is charged rx to the sender at ingress and tx
 * to the receiver at egress, both ways. */
static bool flow_peer_to_peer(struct suite *s, struct check *c)
{
	return send_pkt(s, c, "SYN in", INGRESS, &p2p_syn, PASSES("alice")) &&
	       send_pkt(s, c, "SYN out", EGRESS, &p2p_syn, PASSES("bob")) &&
	       send_pkt(s, c, "SYN-ACK in", INGRESS, &p2p_synack,
			PASSES("bob")) &&
	       send_pkt(s, c, "SYN-ACK out", EGRESS, &p2p_synack,
			PASSES("alice")) &&
	       expect_ct(s, c, &p2p_syn,
			 CT_IS(CG_CT_FROM_WG, CG_CT_ESTABLISHED, "alice", "bob",
			       TCP_EST_S, true));
}

/* 6: an internet answer is a reply, not an unsolicited flow. */
static bool flow_internet(struct suite *s, struct check *c)
{
	return send_pkt(s, c, "query", INGRESS, &inet_query, PASSES("bob")) &&
	       send_pkt(s, c, "answer", EGRESS, &inet_answer, PASSES("bob")) &&
	       expect_ct(s, c, &inet_query,
			 CT_IS(CG_CT_FROM_WG, CG_CT_ESTABLISHED, "bob", NULL,
			       UDP_EST_S, true));
}

/* 14: FIN from both sides closes; the entry then lives 10 s. */
static bool flow_tcp_fin(struct suite *s, struct check *c)
{
	struct cg_ct_entry e;

	return calendar_handshake(s, c) &&
	       send_pkt(s, c, "FIN", INGRESS, &cal_fin, PASSES("alice")) &&
	       expect_ct(s, c, &cal_syn,
			 CT_IS(CG_CT_FROM_WG, CG_CT_ESTABLISHED, "alice", NULL,
			       TCP_FIN_S, true)) &&
	       ct_read(s, c, &cal_syn, &e) &&
	       expect_eq(c, "ct.fin_orig", 1, e.fin_orig) &&
	       expect_eq(c, "ct.fin_reply", 0, e.fin_reply) &&
	       send_pkt(s, c, "FIN reply", EGRESS, &cal_fin_reply,
			PASSES("alice")) &&
	       expect_ct(s, c, &cal_syn,
			 CT_IS(CG_CT_FROM_WG, CG_CT_CLOSING, "alice", NULL,
			       TCP_CLOSE_S, true)) &&
	       send_pkt(s, c, "last ACK", INGRESS, &cal_last_ack,
			PASSES("alice")) &&
	       expect_ct(s, c, &cal_syn,
			 CT_IS(CG_CT_FROM_WG, CG_CT_CLOSING, "alice", NULL,
			       TCP_CLOSE_S, true));
}

/* 14: RST closes at once. */
static bool flow_tcp_rst(struct suite *s, struct check *c)
{
	return calendar_handshake(s, c) &&
	       send_pkt(s, c, "RST", EGRESS, &cal_rst, PASSES("alice")) &&
	       expect_ct(s, c, &cal_syn,
			 CT_IS(CG_CT_FROM_WG, CG_CT_CLOSING, "alice", NULL,
			       TCP_CLOSE_S, true));
}

/* A SYN reusing a closed flow's ports starts it over. */
static bool flow_tcp_reuse(struct suite *s, struct check *c)
{
	return calendar_handshake(s, c) &&
	       send_pkt(s, c, "RST", EGRESS, &cal_rst, PASSES("alice")) &&
	       send_pkt(s, c, "new SYN", INGRESS, &cal_syn, PASSES("alice")) &&
	       expect_ct(s, c, &cal_syn,
			 CT_IS(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL,
			       TCP_SYN_S, false));
}

/* 14: an expired entry is absent: the next packet, even without SYN, is
 * judged as new (and policy still admits it). */
static bool flow_ct_expiry(struct suite *s, struct check *c)
{
	return calendar_handshake(s, c) && ct_expire(s, c, &cal_syn) &&
	       send_pkt(s, c, "data after expiry", INGRESS, &cal_data,
			PASSES("alice")) &&
	       expect_ct(s, c, &cal_syn,
			 CT_IS(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL,
			       TCP_SYN_S, false));
}

/* 14: dp_gc deletes expired entries of both maps and nothing else. */
static bool flow_gc(struct suite *s, struct check *c)
{
	static const struct ct_expect live = { .present = true,
					       .origin = CG_CT_FROM_WG,
					       .state = CG_CT_ESTABLISHED,
					       .src = "alice",
					       .seen_reply = true };

	if (!calendar_handshake(s, c) ||
	    !send_pkt(s, c, "query", INGRESS, &dns_query, PASSES("alice")) ||
	    !ct_expire(s, c, &dns_query))
		return false;
	c->step = "dp_gc, udp expired";
	if (!expect_eq(c, "dp_gc deleted", 1,
		       (uint64_t)dp_gc(&s->dp, monotonic_ns())) ||
	    !expect_no_ct(s, c, &dns_query) ||
	    !expect_ct(s, c, &cal_syn, &live) || !ct_expire(s, c, &cal_syn))
		return false;
	c->step = "dp_gc, tcp expired";
	return expect_eq(c, "dp_gc deleted", 1,
			 (uint64_t)dp_gc(&s->dp, monotonic_ns())) &&
	       expect_no_ct(s, c, &cal_syn);
}

/* 15: moving a service's port re-judges its established flows. */
static bool flow_service_change(struct suite *s, struct check *c)
{
	return calendar_handshake(s, c) &&
	       change_service(s, c, "calendar", calendar_8080_json) &&
	       expect_service_entry(s, c, CALENDAR, IPPROTO_TCP, 80, false) &&
	       expect_service_entry(s, c, CALENDAR, IPPROTO_TCP, 8080, true) &&
	       send_pkt(s, c, "data to the old port", INGRESS, &cal_data,
			DROPS(CG_DROP_NOT_A_SERVICE, "alice")) &&
	       expect_no_ct(s, c, &cal_syn) &&
	       send_pkt(s, c, "SYN to the new port", INGRESS, &cal8080_syn,
			PASSES("alice"));
}

/* The same change found at start (state saved, then a crash before the
 * maps were updated; or state edited while stopped): dp_sync must
 * re-judge established flows as dp_sync_services does. */
static bool flow_restart_service_change(struct suite *s, struct check *c)
{
	return calendar_handshake(s, c) &&
	       put_service(s, c, "calendar", calendar_8080_json) &&
	       sync_all(s, c) &&
	       expect_service_entry(s, c, CALENDAR, IPPROTO_TCP, 80, false) &&
	       send_pkt(s, c, "data after restart", INGRESS, &cal_data,
			DROPS(CG_DROP_NOT_A_SERVICE, "alice")) &&
	       expect_no_ct(s, c, &cal_syn);
}

/* alice's UDP flow number i to dns (a source port of its own). */
static bool budget_query(struct suite *s, struct check *c, uint16_t i,
			 const struct expect *e)
{
	struct pkt_desc d = UDP(ALICE, 42000 + i, DNS, 53);

	return send_pkt(s, c, "query", INGRESS, &d, e);
}

/* alice opens BUDGET_MAX flows; the next is dropped and counted as hers
 * (flow_budget), while bob's new flow and alice's established one pass;
 * once her flows expire and dp_gc has swept, she may open more. */
static bool flow_budget(struct suite *s, struct check *c)
{
	uint16_t i;

	for (i = 0; i < BUDGET_MAX; i++)
		if (!budget_query(s, c, i, PASSES("alice")))
			return false;
	if (!budget_query(s, c, i, DROPS(CG_DROP_FLOW_BUDGET, "alice")) ||
	    !send_pkt(s, c, "bob's new flow", INGRESS, &inet_query,
		      PASSES("bob")) ||
	    !budget_query(s, c, 0, PASSES("alice")))
		return false;
	c->step = "dp_gc recounts what alice holds";
	if (!expect_eq(c, "dp_gc deleted", 0,
		       (uint64_t)dp_gc(&s->dp, monotonic_ns())) ||
	    !expect_eq(c, "alice's flows", BUDGET_MAX,
		       dp_budget_held(&s->dp, ident_id("alice"))))
		return false;
	c->step = "budget given back by dp_gc";
	for (i = 0; i < BUDGET_MAX; i++) {
		struct pkt_desc d = UDP(ALICE, 42000 + i, DNS, 53);

		if (!ct_expire(s, c, &d))
			return false;
	}
	if (!expect_eq(c, "dp_gc deleted", BUDGET_MAX,
		       (uint64_t)dp_gc(&s->dp, monotonic_ns())) ||
	    !expect_eq(c, "alice's flows", 0,
		       dp_budget_held(&s->dp, ident_id("alice"))))
		return false;
	return budget_query(s, c, BUDGET_MAX + 1, PASSES("alice")) &&
	       expect_eq(c, "alice's flows", 1,
			 dp_budget_held(&s->dp, ident_id("alice")));
}

struct flow {
	const char *name;
	bool (*run)(struct suite *s, struct check *c);
};

static const struct flow flows[] = {
	{ "flow: TCP handshake alice <-> calendar", flow_tcp_handshake },
	{ "flow: UDP alice <-> dns", flow_udp_dns },
	{ "flow: ICMP echo alice <-> calendar", flow_icmp_echo },
	{ "flow: ICMP errors about alice's dns flow", flow_icmp_error_related },
	{ "flow: ICMP errors quoting someone else's flow",
	  flow_icmp_error_forged },
	{ "flow: fragments of an allowed datagram", flow_fragments },
	{ "flow: fragments of a denied datagram", flow_denied_fragments },
	{ "flow: revoking calendar drops alice's flow", flow_revoke_access },
	{ "flow: unrelated policy change keeps the flow", flow_rejudge_keeps },
	{ "flow: bob leaving peer_to_peer cuts alice's flow",
	  flow_p2p_revoked },
	{ "flow: removing alice drops her flow", flow_remove_peer },
	{ "flow: bridge -> alice and alice's reply", flow_cell_originated },
	{ "flow: an entry pinned under its original tuple is moved",
	  flow_ct_old_key },
	{ "flow: bridge -> alice survives alice's policy change",
	  flow_cell_originated_rejudged },
	{ "flow: alice <-> bob through both hooks", flow_peer_to_peer },
	{ "flow: bob <-> internet", flow_internet },
	{ "flow: TCP FIN from both sides", flow_tcp_fin },
	{ "flow: TCP RST", flow_tcp_rst },
	{ "flow: SYN after RST reopens the flow", flow_tcp_reuse },
	{ "flow: expired entry is judged as new", flow_ct_expiry },
	{ "flow: dp_gc removes expired entries", flow_gc },
	{ "flow: alice past her flow budget, bob unaffected", flow_budget },
	{ "flow: moving calendar to 8080 drops its flows",
	  flow_service_change },
	{ "flow: service change found by dp_sync at start",
	  flow_restart_service_change },
};

#endif
