// SPDX-License-Identifier: MIT
/*
 * IPv6 flows (issue 17): several packets, or a policy change between
 * them, on the dual-stack fixture cell. Included by v6_cases.h.
 */
#ifndef CG_TEST_V6_FLOWS_H
#define CG_TEST_V6_FLOWS_H

/* The handshake: the reply passes egress by conntrack and establishes. */
static bool flow6_tcp_handshake(struct suite *s, struct check *c)
{
	return send6(s, c, "SYN", INGRESS, &cal6_syn, PASSES("alice")) &&
	       expect_ct6(s, c, &cal6_syn,
			  CT_IS(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL,
				TCP_SYN_S, false)) &&
	       send6(s, c, "SYN-ACK", EGRESS, &cal6_synack, PASSES("alice")) &&
	       send6(s, c, "ACK", INGRESS, &cal6_ack, PASSES("alice")) &&
	       send6(s, c, "data", INGRESS, &cal6_data, PASSES("alice")) &&
	       expect_ct6(s, c, &cal6_syn,
			  CT_IS(CG_CT_FROM_WG, CG_CT_ESTABLISHED, "alice", NULL,
				TCP_EST_S, true));
}

static bool flow6_udp_dns(struct suite *s, struct check *c)
{
	return send6(s, c, "query", INGRESS, &dns6_query, PASSES("alice")) &&
	       send6(s, c, "answer", EGRESS, &dns6_answer, PASSES("alice")) &&
	       expect_ct6(s, c, &dns6_query,
			  CT_IS(CG_CT_FROM_WG, CG_CT_ESTABLISHED, "alice", NULL,
				UDP_EST_S, true));
}

/* Echo opens a flow as ICMP echo does; its reply passes. */
static bool flow6_echo(struct suite *s, struct check *c)
{
	return send6(s, c, "reply before", EGRESS, &ping6_rep,
		     DROPS(CG_DROP_ICMP_UNRELATED, "alice")) &&
	       send6(s, c, "request", INGRESS, &ping6_req, PASSES("alice")) &&
	       send6(s, c, "reply", EGRESS, &ping6_rep, PASSES("alice")) &&
	       expect_ct6(s, c, &ping6_req,
			  CT_IS(CG_CT_FROM_WG, CG_CT_ESTABLISHED, "alice", NULL,
				ICMP_S, true));
}

/* Both hooks: rx to the sender at ingress, tx to the receiver at egress. */
static bool flow6_peer_to_peer(struct suite *s, struct check *c)
{
	return send6(s, c, "SYN in", INGRESS, &p2p6_syn, PASSES("alice")) &&
	       send6(s, c, "SYN out", EGRESS, &p2p6_syn, PASSES("bob")) &&
	       send6(s, c, "SYN-ACK in", INGRESS, &p2p6_synack,
		     PASSES("bob")) &&
	       send6(s, c, "SYN-ACK out", EGRESS, &p2p6_synack,
		     PASSES("alice")) &&
	       expect_ct6(s, c, &p2p6_syn,
			  CT_IS(CG_CT_FROM_WG, CG_CT_ESTABLISHED, "alice",
				"bob", TCP_EST_S, true));
}

/* Packet Too Big toward bob about his internet flow: from the internet
 * host his packet went to, or from the router; not about a flow that
 * does not exist. */
static bool flow6_ptb_egress(struct suite *s, struct check *c)
{
	static const struct pkt_desc ptb =
		ICMP6(INTERNET6, BOB6, ICMP6_T_TOO_BIG, .inner = &inet6_big);
	static const struct pkt_desc ptb_router =
		ICMP6(ROUTER6, BOB6, ICMP6_T_TOO_BIG, .inner = &stray6);
	static const struct pkt_desc ptb_stray =
		ICMP6(INTERNET6, BOB6, ICMP6_T_TOO_BIG, .inner = &stray6);

	return send6(s, c, "unrelated PTB", EGRESS, &ptb_stray,
		     DROPS(CG_DROP_ICMP_UNRELATED, "bob")) &&
	       send6(s, c, "SYN", INGRESS, &inet6_syn, PASSES("bob")) &&
	       send6(s, c, "PTB about it", EGRESS, &ptb, PASSES("bob")) &&
	       send6(s, c, "the router's PTB", EGRESS, &ptb_router,
		     PASSES("bob"));
}

/* Errors from a peer: about its own flow, to the quoted packet's sender;
 * not about a flow it is not part of, nor about none. */
static bool flow6_errors_ingress(struct suite *s, struct check *c)
{
	static const struct pkt_desc unreach =
		ICMP6(ALICE6, DNS6, ICMP6_T_UNREACH, .icmp_code = 4,
		      .inner = &dns6_answer);
	static const struct pkt_desc forged =
		ICMP6(CAROL6, DNS6, ICMP6_T_TOO_BIG, .inner = &dns6_answer);
	static const struct pkt_desc misdirected = ICMP6(
		ALICE6, INTERNET6, ICMP6_T_TOO_BIG, .inner = &dns6_answer);

	return send6(s, c, "before the flow", INGRESS, &unreach,
		     DROPS(CG_DROP_ICMP_UNRELATED, "alice")) &&
	       send6(s, c, "query", INGRESS, &dns6_query, PASSES("alice")) &&
	       send6(s, c, "answer", EGRESS, &dns6_answer, PASSES("alice")) &&
	       send6(s, c, "alice's port unreachable", INGRESS, &unreach,
		     PASSES("alice")) &&
	       send6(s, c, "carol quoting alice's flow", INGRESS, &forged,
		     DROPS(CG_DROP_ICMP_UNRELATED, "carol")) &&
	       send6(s, c, "alice's, sent elsewhere", INGRESS, &misdirected,
		     DROPS(CG_DROP_ICMP_UNRELATED, "alice"));
}

/* A later fragment passes with its first; an unknown one does not. */
static bool flow6_fragments(struct suite *s, struct check *c)
{
	struct cg_frag6_key k = { .id = dns6_frag1.ip_id };
	struct cg_frag6_ports p;

	if (!send6(s, c, "unknown later fragment", INGRESS, &dns6_frag_unknown,
		   DROPS(CG_DROP_FRAGMENT, "alice")) ||
	    !send6(s, c, "first", INGRESS, &dns6_frag1, PASSES("alice")))
		return false;
	inet_pton(AF_INET6, ALICE6, k.saddr);
	inet_pton(AF_INET6, DNS6, k.daddr);
	if (bpf_map_lookup_elem(v6_fd[V6_FRAGS], &k, &p))
		return failf(c, "cg_frags6: no entry for id %u", k.id);
	return expect_eq(c, "cg_frags6.sport", 41001, p.sport) &&
	       expect_eq(c, "cg_frags6.dport", 53, p.dport) &&
	       expect_eq(c, "cg_frags6.proto", IPPROTO_UDP, p.proto) &&
	       send6(s, c, "later", INGRESS, &dns6_frag2, PASSES("alice"));
}

static bool flow6_denied_fragments(struct suite *s, struct check *c)
{
	return send6(s, c, "first", INGRESS, &files6_frag1,
		     DROPS(CG_DROP_SERVICE_DENIED, "alice")) &&
	       send6(s, c, "later", INGRESS, &files6_frag2,
		     DROPS(CG_DROP_FRAGMENT, "alice"));
}

/* Revoking calendar cuts the established flow on its next packet (the
 * epoch changed); an unrelated change re-judges and keeps it. */
static bool flow6_revoke(struct suite *s, struct check *c)
{
	return flow6_tcp_handshake(s, c) &&
	       update_peer(s, c, "alice", "{\"internet_access\":true}") &&
	       v6_mirror(s, c) &&
	       send6(s, c, "data after an unrelated change", INGRESS,
		     &cal6_data, PASSES("alice")) &&
	       expect_ct6(s, c, &cal6_syn,
			  CT_IS(CG_CT_FROM_WG, CG_CT_ESTABLISHED, "alice", NULL,
				TCP_EST_S, true)) &&
	       update_peer(s, c, "alice",
			   "{\"service_access\":[\"dns\",\"ping\"]}") &&
	       v6_mirror(s, c) &&
	       send6(s, c, "data after revoking", INGRESS, &cal6_data,
		     DROPS(CG_DROP_SERVICE_DENIED, "alice")) &&
	       expect_no_ct6(c, &cal6_syn);
}

/* Removing bob re-judges alice's flow to him on its next packet: his
 * address is now only one of the wg subnet6's. */
static bool flow6_remove_peer(struct suite *s, struct check *c)
{
	return send6(s, c, "SYN", INGRESS, &p2p6_syn, PASSES("alice")) &&
	       delete_peer(s, c, "bob") && v6_mirror(s, c) &&
	       send6(s, c, "bob's SYN-ACK", INGRESS, &p2p6_synack,
		     DROPS(CG_DROP_NOT_A_SERVICE, "bob")) &&
	       expect_no_ct6(c, &p2p6_syn);
}

/* A linked cell by its IPv6 subnet (cg_cells6, LPM): alice may reach
 * it; it gets only what is shared with it (calendar). The cell borrows
 * carol's identity slot (id 3) so the counters are watched. */
static bool flow6_linked_cell(struct suite *s, struct check *c)
{
	static const struct pkt_desc to_cell =
		TCP6(ALICE6, 44000, "fd30::5", 443, TH_SYN, );
	static const struct pkt_desc from_cell =
		TCP6("fd30::5", 44001, CALENDAR6, 80, TH_SYN, );
	static const struct pkt_desc not_shared =
		TCP6("fd30::5", 44002, FILES6, 80, TH_SYN, );
	struct cg_lpm6_key k = { .prefixlen = 64 };
	struct cg_addr_key k4;
	struct cg_identity id;

	inet_pton(AF_INET, CAROL, k4.addr);
	if (bpf_map_lookup_elem(s->dp.map_fd[DP_MAP_PEERS], &k4, &id))
		return failf(c, "cg_peers: no carol");
	id.kind = CG_KIND_CELL;
	id.services[0] = 1; /* calendar (id 0) is shared with it */
	inet_pton(AF_INET6, "fd30::", k.addr);
	if (bpf_map_update_elem(v6_fd[V6_CELLS], &k, &id, BPF_ANY))
		return failf(c, "cg_cells6: %s", strerror(errno));
	return send6(s, c, "alice -> the cell", INGRESS, &to_cell,
		     PASSES("alice")) &&
	       expect_ct6(s, c, &to_cell,
			  CT_IS(CG_CT_FROM_WG, CG_CT_NEW, "alice", "carol",
				TCP_SYN_S, false)) &&
	       send6(s, c, "the cell -> calendar6 (shared)", INGRESS,
		     &from_cell, PASSES("carol")) &&
	       send6(s, c, "the cell -> files6 (not shared)", INGRESS,
		     &not_shared, DROPS(CG_DROP_CELL_DENIED, "carol"));
}

/* An IPv4-only cell (cg_settings6 all zero) drops IPv6 as `ipv6`, even
 * from a peer with an IPv6 identity; with an address6 it passes. */
static bool flow6_ipv4_only(struct suite *s, struct check *c)
{
	return v6_set_enabled(c, false) &&
	       send6(s, c, "IPv4-only", INGRESS, &cal6_syn,
		     DROPS(CG_DROP_IPV6, NULL)) &&
	       send6(s, c, "IPv4-only, egress", EGRESS, &cal6_synack,
		     DROPS(CG_DROP_IPV6, NULL)) &&
	       v6_set_enabled(c, true) &&
	       send6(s, c, "dual stack", INGRESS, &cal6_syn, PASSES("alice"));
}

/* The uplink's programs pass IPv6 untouched while the uplink has no
 * IPv6 address (nothing for NAT66 to translate to; nat6_cases.h has the
 * rest): the host's own IPv6 and its neighbour discovery. */
static bool flow6_uplink_untouched(struct suite *s, struct check *c)
{
	static const struct pkt_desc out =
		TCP6("2001:db8:1::1", 40000, INTERNET6, 443, TH_SYN, );
	static const struct pkt_desc in =
		TCP6(INTERNET6, 443, "2001:db8:1::1", 40000, TH_SYN | TH_ACK, );
	static const struct pkt_desc ns =
		ICMP6("fe80::2", "ff02::1:ff00:1", ICMP6_T_NS, .hop_limit = 255,
		      .payload_len = 16);
	struct cg_settings set = { .masquerade = 1 };
	const struct {
		enum hook hook;
		const struct pkt_desc *d;
		int verdict;
	} runs[] = { { UPLINK_EGRESS, &out, TC_ACT_OK },
		     { UPLINK_XDP, &in, 2 /* XDP_PASS */ },
		     { UPLINK_XDP, &ns, 2 },
		     { UPLINK_EGRESS, &ns, TC_ACT_OK } };
	uint8_t frame[PKT_MAX];
	uint32_t zero = 0;
	struct run r;
	size_t i, len;

	inet_pton(AF_INET, "203.0.113.1", set.uplink_addr);
	memcpy(set.wg_addr, (uint8_t[]){ 10, 0, 0, 1 }, 4);
	set.nat_port_min = 10000;
	set.nat_port_max = 65535;
	if (bpf_map_update_elem(s->dp.map_fd[DP_MAP_SETTINGS], &zero, &set,
				BPF_ANY))
		return failf(c, "cg_settings: %s", strerror(errno));
	for (i = 0; i < ARRAY_SIZE(runs); i++) {
		c->step = i ? "uplink, more" : "uplink";
		len = pkt_build(runs[i].d, frame, sizeof(frame));
		if (!run_frame(s, c, runs[i].hook, frame, len, &r) ||
		    !expect_eq(c, "verdict", (uint64_t)runs[i].verdict,
			       (uint64_t)r.verdict) ||
		    !expect_untouched(c, frame, len, &r))
			return false;
	}
	return true;
}

/* Make the IPv6 flow opened by d look idle for too long. */
static bool ct6_expire(struct check *c, const struct pkt_desc *d)
{
	struct cg_ct_entry e;
	struct cg_ct6_key k;
	bool rev;

	if (!ct6_read(c, d, &e))
		return false;
	e.expires_ns = monotonic_ns() - NSEC;
	ct6_key_of(d, &k, &rev);
	if (bpf_map_update_elem(ct6_map_of(d->proto), &k, &e, BPF_EXIST))
		return failf(c, "conntrack6 write: %s", strerror(errno));
	return true;
}

/* The controller's sweep visits the IPv6 tables: an expired flow goes,
 * a live one stays and counts against its peer's flow budget. */
static bool flow6_gc(struct suite *s, struct check *c)
{
	ct_flush(s);
	if (!send6(s, c, "query", INGRESS, &dns6_query, PASSES("alice")) ||
	    !send6(s, c, "SYN", INGRESS, &cal6_syn, PASSES("alice")) ||
	    !ct6_expire(c, &dns6_query))
		return false;
	c->step = "dp_gc";
	return expect_eq(c, "dp_gc deleted", 1,
			 (uint64_t)dp_gc(&s->dp, monotonic_ns())) &&
	       expect_no_ct6(c, &dns6_query) &&
	       expect_ct6(s, c, &cal6_syn,
			  CT_IS(CG_CT_FROM_WG, CG_CT_NEW, "alice", NULL,
				TCP_SYN_S, false)) &&
	       expect_eq(c, "alice's flows (the IPv6 SYN)", 1,
			 dp_budget_held(&s->dp, ident_id("alice")));
}

/* alice's flow number i to dns6 (a source port of its own). */
static bool budget6_query(struct suite *s, struct check *c, uint16_t i,
			  const struct expect *e)
{
	struct pkt_desc d = UDP6(ALICE6, 42000 + i, DNS6, 53, .payload_len = 8);

	return send6(s, c, "query", INGRESS, &d, e);
}

/* One budget for both families: alice's IPv6 flows take from it, the
 * one past it is dropped as flow_budget, and the IPv4 one too. */
static bool flow6_budget(struct suite *s, struct check *c)
{
	uint16_t i;

	for (i = 0; i < BUDGET_MAX; i++)
		if (!budget6_query(s, c, i, PASSES("alice")))
			return false;
	return budget6_query(s, c, i, DROPS(CG_DROP_FLOW_BUDGET, "alice")) &&
	       send_pkt(s, c, "IPv4 query", INGRESS, &dns_query,
			DROPS(CG_DROP_FLOW_BUDGET, "alice")) &&
	       expect_eq(c, "alice's flows", BUDGET_MAX,
			 dp_budget_held(&s->dp, ident_id("alice")));
}

/* The records a drain of cg_events read: the first IPv6 ones kept. */
struct ev6_sink {
	struct cg_event6 ev[4];
	unsigned int n6, n4;
};

static int sink_event6(void *ctx, void *data, size_t len)
{
	struct ev6_sink *sink = ctx;

	if (len != sizeof(struct cg_event6))
		sink->n4++;
	else if (sink->n6++ < ARRAY_SIZE(sink->ev))
		memcpy(&sink->ev[sink->n6 - 1], data, len);
	return 0;
}

static bool ring_drain6(struct suite *s, struct check *c, struct ev6_sink *sink)
{
	struct ring_buffer *rb = ring_buffer__new(s->dp.map_fd[DP_MAP_EVENTS],
						  sink_event6, sink, NULL);
	int ret;

	memset(sink, 0, sizeof(*sink));
	if (!rb)
		return failf(c, "ring_buffer__new: %s", strerror(errno));
	ret = ring_buffer__consume(rb);
	ring_buffer__free(rb);
	return ret < 0 ? failf(c, "ring_buffer__consume: %s", strerror(-ret)) :
			 true;
}

static bool expect_event6(struct check *c, const struct cg_event6 *ev,
			  uint32_t kind, uint32_t reason,
			  const struct pkt_desc *d)
{
	struct cg_ct6_key want;

	pkt6_tuple(d, &want);
	return expect_eq(c, "kind", kind, ev->kind) &&
	       expect_eq(c, "reason", reason, ev->reason) &&
	       expect_eq(c, "hook", CG_HOOK_WG_INGRESS, ev->hook) &&
	       expect_eq(c, "ident", ident_id("alice"), ev->ident) &&
	       expect_eq(c, "ifindex", 1, ev->ifindex) &&
	       expect_eq(c, "tuple", 0,
			 (uint64_t)memcmp(&want, &ev->tuple, sizeof(want)));
}

/* With drops and trace leased, a denied IPv6 SYN and an admitted one are
 * told as IPv6 records (struct cg_event6) with their tuples. */
static bool flow6_events(struct suite *s, struct check *c)
{
	const struct pkt_desc denied =
		TCP6(ALICE6, 40010, FILES6, 443, TH_SYN, );
	struct ev6_sink sink;

	if (!observe_start(s, c) || !lease(s, c, true, true, 0, 0) ||
	    !send6(s, c, "denied SYN", INGRESS, &denied,
		   DROPS(CG_DROP_SERVICE_DENIED, "alice")) ||
	    !send6(s, c, "allowed SYN", INGRESS, &cal6_syn, PASSES("alice")) ||
	    !ring_drain6(s, c, &sink) || !lease(s, c, false, false, 0, 0))
		return false;
	c->step = "the events";
	return expect_eq(c, "IPv4 records", 0, sink.n4) &&
	       expect_eq(c, "IPv6 records", 2, sink.n6) &&
	       expect_event6(c, &sink.ev[0], CG_EVENT_DROP,
			     CG_DROP_SERVICE_DENIED, &denied) &&
	       expect_event6(c, &sink.ev[1], CG_EVENT_NEW_FLOW, CG_DROP_NONE,
			     &cal6_syn);
}

/* alice rate-limited both ways: over her upload bucket her next query
 * (an established flow) is dropped as rate_limited, and an answer that
 * would wait past the horizon too; bob's DNS flow is untouched. */
static bool flow6_rate_limited(struct suite *s, struct check *c)
{
	struct cg_rate r;

	if (!update_peer(s, c, "alice",
			 "{\"rate_limit\":{\"down_mbit\":1,\"up_mbit\":1}}") ||
	    !expect_limited(s, c, "alice", true) ||
	    !v6_mirror(s, c) || /* the fixture's peers have no ip6 */
	    !send6(s, c, "query", INGRESS, &dns6_query, PASSES("alice")) ||
	    !send6(s, c, "answer", EGRESS, &dns6_answer, PASSES("alice")) ||
	    !rate_get(s, c, "alice", &r))
		return false;
	if (!expect_eq(c, "alice's up rate", 8000000, r.up_ps_per_byte))
		return false;
	r.up_next_ns = monotonic_ns() + 2 * CG_RATE_BURST_NS;
	r.down_next_ns = monotonic_ns() + 2 * CG_RATE_HORIZON_NS;
	return rate_put(s, c, "alice", &r) &&
	       send6(s, c, "query over the bucket", INGRESS, &dns6_query,
		     DROPS(CG_DROP_RATE_LIMITED, "alice")) &&
	       send6(s, c, "answer past the horizon", EGRESS, &dns6_answer,
		     DROPS(CG_DROP_RATE_LIMITED, "alice"));
}

static const struct flow v6_flows[] = {
	{ "v6 flow: alice rate-limited both ways (rate_limited)",
	  flow6_rate_limited },
	{ "v6 flow: TCP handshake alice <-> calendar6", flow6_tcp_handshake },
	{ "v6 flow: UDP alice <-> dns6", flow6_udp_dns },
	{ "v6 flow: ICMPv6 echo alice <-> calendar6", flow6_echo },
	{ "v6 flow: alice <-> bob through both hooks", flow6_peer_to_peer },
	{ "v6 flow: Packet Too Big toward bob, related and not",
	  flow6_ptb_egress },
	{ "v6 flow: ICMPv6 errors from peers, related and forged",
	  flow6_errors_ingress },
	{ "v6 flow: fragments of an allowed datagram", flow6_fragments },
	{ "v6 flow: fragments of a denied datagram", flow6_denied_fragments },
	{ "v6 flow: policy epochs re-judge established flows", flow6_revoke },
	{ "v6 flow: removing bob cuts alice's flow to him", flow6_remove_peer },
	{ "v6 flow: a linked cell by its subnet6", flow6_linked_cell },
	{ "v6 flow: an IPv4-only cell drops IPv6 as ipv6", flow6_ipv4_only },
	{ "v6 flow: the uplink passes IPv6 untouched", flow6_uplink_untouched },
	{ "v6 flow: dp_gc sweeps IPv6 flows, budgets count them", flow6_gc },
	{ "v6 flow: monitor events carry the IPv6 tuple", flow6_events },
	{ "v6 flow: IPv6 flows take from the peer's one budget", flow6_budget },
};

#endif
