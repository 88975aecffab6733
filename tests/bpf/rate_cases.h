/* SPDX-License-Identifier: MIT */
/*
 * Rate limits (issue 18, lib/rate.h): a limited peer's download gets a
 * departure time (skb->tstamp) and is dropped past the horizon; its
 * upload is dropped when its bucket is empty; both counted as
 * rate_limited. An unlimited peer's packets keep tstamp 0. Included by
 * bpf_test.c after flow_cases.h.
 */
#ifndef CELLGATE_TEST_RATE_CASES_H
#define CELLGATE_TEST_RATE_CASES_H

/* Run d through hook and return the skb's tstamp as the program left
 * it (ctx_out), or UINT64_MAX when the run failed or did not pass. */
static uint64_t run_tstamp(struct suite *s, struct check *c, enum hook hook,
			   const struct pkt_desc *d)
{
	struct __sk_buff in = { .ifindex = 1 }, out = { 0 };
	uint8_t frame[PKT_MAX], data_out[PKT_MAX];
	size_t len = pkt_build(d, frame, sizeof(frame));
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame,
		    .data_size_in = (uint32_t)len, .data_out = data_out,
		    .data_size_out = sizeof(data_out), .ctx_in = &in,
		    .ctx_size_in = sizeof(in), .ctx_out = &out,
		    .ctx_size_out = sizeof(out), .repeat = 1);

	if (!len || bpf_prog_test_run_opts(hook_prog_fd(s, hook), &o)) {
		failf(c, "BPF_PROG_TEST_RUN: %s", strerror(errno));
		return UINT64_MAX;
	}
	if (o.retval != TC_ACT_OK) {
		failf(c, "verdict %s, want pass", verdict_name((int)o.retval));
		return UINT64_MAX;
	}
	return out.tstamp;
}

static bool rate_get(struct suite *s, struct check *c, const char *who,
		     struct cg_rate *r)
{
	uint32_t id = ident_id(who);

	if (bpf_map_lookup_elem(s->dp.map_fd[DP_MAP_RATE], &id, r))
		return failf(c, "cg_rate[%s]: %s", who, strerror(errno));
	return true;
}

static bool rate_put(struct suite *s, struct check *c, const char *who,
		     const struct cg_rate *r)
{
	uint32_t id = ident_id(who);

	if (bpf_map_update_elem(s->dp.map_fd[DP_MAP_RATE], &id, r, BPF_ANY))
		return failf(c, "cg_rate[%s]: %s", who, strerror(errno));
	return true;
}

static bool expect_limited(struct suite *s, struct check *c, const char *who,
			   bool limited)
{
	return expect_eq(c, "epoch's CG_EPOCH_RATE", limited,
			 !!(epoch_of(s, ident_id(who)) & CG_EPOCH_RATE));
}

/* alice limited to 1 Mbit/s down: the answers of an open flow leave
 * one after the other, 8 us a byte apart; one queued past the horizon
 * is dropped and counted; bob's answer keeps tstamp 0. */
static bool rate_down(struct suite *s, struct check *c)
{
	uint64_t t1, t2, cost = (dns_answer.payload_len + 28) * 8000ull;
	struct cg_rate r;

	if (!update_peer(s, c, "alice", "{\"rate_limit\":{\"down_mbit\":1}}") ||
	    !expect_limited(s, c, "alice", true) ||
	    !expect_limited(s, c, "bob", false) ||
	    !send_pkt(s, c, "query", INGRESS, &dns_query, PASSES("alice")))
		return false;
	c->step = "answers get departure times";
	t1 = run_tstamp(s, c, EGRESS, &dns_answer); /* idle: leaves now */
	t2 = run_tstamp(s, c, EGRESS, &dns_answer);
	if (t1 == UINT64_MAX || t2 == UINT64_MAX ||
	    !expect_eq(c, "first answer's tstamp (idle)", 0, t1) ||
	    !expect_range(c, "second answer's delay (ns)", cost - 1000,
			  cost + 1000000, t2 - monotonic_ns() + cost))
		return false;
	if (!rate_get(s, c, "alice", &r))
		return false;
	r.down_next_ns = monotonic_ns() + CG_RATE_HORIZON_NS + 1000000000ull;
	if (!rate_put(s, c, "alice", &r) ||
	    !send_pkt(s, c, "answer past the horizon", EGRESS, &dns_answer,
		      DROPS(CG_DROP_RATE_LIMITED, "alice")) ||
	    !send_pkt(s, c, "bob's query", INGRESS, &inet_query, PASSES("bob")))
		return false;
	c->step = "bob is not shaped";
	return expect_eq(c, "bob's answer's tstamp", 0,
			 run_tstamp(s, c, EGRESS,
				    &(const struct pkt_desc)UDP(INTERNET, 53,
								BOB, 43000)));
}

/* alice limited to 1 Mbit/s up: an empty bucket drops her query (new
 * flow) and a packet of an open flow; bob's passes; clearing the
 * limit clears the flag and the drops. */
static bool rate_up(struct suite *s, struct check *c)
{
	struct cg_rate r;

	if (!update_peer(s, c, "alice", "{\"rate_limit\":{\"up_mbit\":1}}") ||
	    !send_pkt(s, c, "query", INGRESS, &dns_query, PASSES("alice")) ||
	    !rate_get(s, c, "alice", &r))
		return false;
	r.up_next_ns = monotonic_ns() + 2 * CG_RATE_BURST_NS;
	if (!rate_put(s, c, "alice", &r) ||
	    !send_pkt(s, c, "query with an empty bucket", INGRESS, &dns_query,
		      DROPS(CG_DROP_RATE_LIMITED, "alice")) ||
	    !send_pkt(s, c, "bob's query", INGRESS, &inet_query,
		      PASSES("bob")) ||
	    !update_peer(s, c, "alice", "{\"rate_limit\":null}") ||
	    !expect_limited(s, c, "alice", false) ||
	    !rate_get(s, c, "alice", &r) ||
	    !expect_eq(c, "cg_rate cleared", 0,
		       r.up_ps_per_byte | r.down_ps_per_byte))
		return false;
	return send_pkt(s, c, "query once unlimited", INGRESS, &dns_query,
			PASSES("alice"));
}

static const struct flow rate_flows[] = {
	{ "rate: alice's download gets EDT times, past the horizon dropped, "
	  "bob untouched",
	  rate_down },
	{ "rate: alice's upload over its bucket dropped, bob passes, limit "
	  "cleared",
	  rate_up },
};

#endif
