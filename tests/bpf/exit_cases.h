/* SPDX-License-Identifier: MIT */
/*
 * Exits (issue 20, lib/exits.h): bob's internet-bound flows leave by the
 * exit his identity names (a redirect, TC_ACT_REDIRECT here), masqueraded
 * to the exit's address when it asks, their replies turned back by the
 * exit's ingress program; while the exit is down the kill switch drops
 * them (exit_down, counted for bob and for the exit), new and established
 * alike. Peers without an exit, and bob's flows to the cell's own
 * services, are not touched.
 *
 * The controller's half (peers' "exit", the exits' objects) is another
 * change: these cases write the identity's exit_id and cg_exits
 * themselves, as the controller will. Included by bpf_test.c after
 * nat_cases.h (its frame checks) and v6_cases.h.
 */
#ifndef CELLGATE_TEST_EXIT_CASES_H
#define CELLGATE_TEST_EXIT_CASES_H

#define EXIT_ADDR "192.0.2.77" /* our address on the exit (masquerade) */
#define EXIT_ID 1
#define EXIT_IFINDEX 1 /* any: BPF_PROG_TEST_RUN does not redirect */

/* bob's exit_id (IPv4 and IPv6 identities), with a new epoch: his flows
 * are judged again, as when the controller changes a peer. */
static bool exit_set_peer(struct suite *s, struct check *c, uint8_t exit_id)
{
	struct cg_identity id;
	struct cg_addr_key k;
	struct cg_addr6_key k6;

	inet_pton(AF_INET, BOB, k.addr);
	inet_pton(AF_INET6, BOB6, k6.addr);
	if (bpf_map_lookup_elem(s->dp.map_fd[DP_MAP_PEERS], &k, &id))
		return failf(c, "cg_peers[bob]: %s", strerror(errno));
	id.exit_id = exit_id;
	id.epoch++;
	if (bpf_map_update_elem(s->dp.map_fd[DP_MAP_PEERS], &k, &id, BPF_ANY) ||
	    bpf_map_update_elem(s->dp.map_fd[DP_MAP_EPOCHS], &id.id, &id.epoch,
				BPF_ANY))
		return failf(c, "bob's identity: %s", strerror(errno));
	if (v6_fd[V6_PEERS] > 0 && map_has(v6_fd[V6_PEERS], &k6) &&
	    bpf_map_update_elem(v6_fd[V6_PEERS], &k6, &id, BPF_ANY))
		return failf(c, "cg_peers6[bob]: %s", strerror(errno));
	return true;
}

static bool exit_write(struct suite *s, struct check *c, uint32_t ifindex,
		       bool up, bool masq, bool l2)
{
	struct cg_exit e = { .ifindex = ifindex,
			     .kind = CG_EXIT_INTERFACE,
			     .up = up,
			     .masquerade = masq,
			     .l2 = l2 };
	uint32_t id = EXIT_ID;

	inet_pton(AF_INET, EXIT_ADDR, e.addr);
	if (bpf_map_update_elem(s->dp.map_fd[DP_MAP_EXITS], &id, &e, BPF_ANY))
		return failf(c, "cg_exits: %s", strerror(errno));
	return true;
}

/* Change cg_exits[1]'s kind, the rest as it is. */
static bool exit_kind(struct suite *s, struct check *c, uint8_t kind)
{
	struct cg_exit e;
	uint32_t id = EXIT_ID;

	if (bpf_map_lookup_elem(s->dp.map_fd[DP_MAP_EXITS], &id, &e))
		return failf(c, "cg_exits: %s", strerror(errno));
	e.kind = kind;
	e.up = 1;
	e.ifindex = EXIT_IFINDEX;
	if (bpf_map_update_elem(s->dp.map_fd[DP_MAP_EXITS], &id, &e, BPF_ANY))
		return failf(c, "cg_exits: %s", strerror(errno));
	return true;
}

/* The fixture cell with NAT settings, bob's exit 1 an L3 link, up. */
static bool exit_cell_build(struct suite *s, struct check *c, bool masq)
{
	if (!cell_build(s, c) || !v6_open_maps(c))
		return false;
	c->step = "exit setup";
	map_flush(nat_fd(s));
	map_flush(s->dp.map_fd[DP_MAP_EXIT_COUNTERS]);
	if (!nat_write_settings(s, c, NAT_PORT_MIN, NAT_PORT_MAX) ||
	    !exit_write(s, c, EXIT_IFINDEX, true, masq, false) ||
	    !exit_set_peer(s, c, EXIT_ID))
		return false;
	c->step = NULL;
	return true;
}

static void exit_cell_teardown(struct suite *s)
{
	struct cg_settings none = { 0 };
	struct cg_exit off = { 0 };
	uint32_t id = EXIT_ID;

	bpf_map_update_elem(s->dp.map_fd[DP_MAP_EXITS], &id, &off, BPF_ANY);
	dp_write_settings(&s->dp, &none);
	map_flush(nat_fd(s));
	ct_flush(s);
	v6_ct_flush();
}

/* What one packet should do: verdict, drop reason, and how the exit's
 * counters move. */
struct exit_want {
	int verdict;
	enum cg_drop_reason reason;
	uint64_t exit_packets, exit_drops;
};

#define X_OUT                                       \
	{                                           \
		TC_ACT_REDIRECT, CG_DROP_NONE, 1, 0 \
	}
#define X_DOWN                                       \
	{                                            \
		TC_ACT_SHOT, CG_DROP_EXIT_DOWN, 0, 1 \
	}
#define X_PASS                                \
	{                                     \
		TC_ACT_OK, CG_DROP_NONE, 0, 0 \
	}

static bool run_fd(struct check *c, int fd, const uint8_t *frame, size_t len,
		   struct run *r)
{
	struct __sk_buff ctx = { .ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame,
		    .data_size_in = (uint32_t)len, .data_out = r->out,
		    .data_size_out = sizeof(r->out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (bpf_prog_test_run_opts(fd, &o))
		return failf(c, "BPF_PROG_TEST_RUN: %s", strerror(errno));
	r->verdict = (int)o.retval;
	r->out_len = o.data_size_out;
	return true;
}

/* bob's packet d through wg0 ingress: the verdict, bob's counters (rx,
 * or one drop of the reason), the exit's, and the frame as it leaves
 * (out, or d untouched). */
static bool exit_send(struct suite *s, struct check *c, const char *step,
		      const struct pkt_desc *d, struct exit_want w,
		      const struct pkt_desc *out)
{
	uint8_t frame[PKT_MAX];
	size_t len = pkt_build(d, frame, sizeof(frame));
	struct cg_exit_counters xa, xb;
	struct snapshot before, after, want;
	struct expect e = { .verdict = w.verdict == TC_ACT_SHOT ? TC_ACT_SHOT :
								  TC_ACT_OK,
			    .reason = w.reason,
			    .ident = "bob" };
	struct run r;

	c->step = step;
	if (!len)
		return failf(c, "cannot build the packet");
	if (dp_exit_counters(&s->dp, EXIT_ID, &xa) ||
	    !snapshot(s, c, &before) ||
	    !run_fd(c, dp_prog_fd_wg_ingress(&s->dp), frame, len, &r) ||
	    !snapshot(s, c, &after) || dp_exit_counters(&s->dp, EXIT_ID, &xb))
		return failf(c, "counters or run failed");
	if (!expect_verdict(c, w.verdict, r.verdict))
		return false;
	want_delta(&e, INGRESS, len - PKT_ETH_LEN, &want);
	if (!expect_counters(c, &before, &after, &want) ||
	    !expect_eq(c, "exit packets", w.exit_packets,
		       xb.packets - xa.packets) ||
	    !expect_eq(c, "exit bytes", w.exit_packets * (len - PKT_ETH_LEN),
		       xb.bytes - xa.bytes) ||
	    !expect_eq(c, "exit drops", w.exit_drops, xb.drops - xa.drops))
		return false;
	if (r.verdict == TC_ACT_SHOT)
		return true;
	return expect_frame(c, &r, out ? out : d) &&
	       verify_frame(c, r.out, r.out_len);
}

static bool expect_ct_exit(struct suite *s, struct check *c,
			   const struct pkt_desc *d, uint8_t exit_id)
{
	struct cg_ct_entry e;

	return ct_read(s, c, d, &e) &&
	       expect_eq(c, "ct.exit_id", exit_id, e.exit_id);
}

/* ---- the cases -------------------------------------------------------- */

static const struct pkt_desc x_syn = TCP(BOB, 40000, INTERNET, 443, TH_SYN);
static const struct pkt_desc x_ack =
	TCP(BOB, 40000, INTERNET, 443, TH_ACK, .payload_len = 60);
static const struct pkt_desc x_syn2 = TCP(BOB, 40001, INTERNET, 443, TH_SYN);

static bool exit_steered(struct suite *s, struct check *c)
{
	const struct pkt_desc udp =
		UDP(BOB, 41000, INTERNET, 53, .payload_len = 30);

	return exit_send(s, c, "SYN", &x_syn, (struct exit_want)X_OUT, NULL) &&
	       expect_ct_exit(s, c, &x_syn, EXIT_ID) &&
	       exit_send(s, c, "ACK", &x_ack, (struct exit_want)X_OUT, NULL) &&
	       exit_send(s, c, "UDP", &udp, (struct exit_want)X_OUT, NULL) &&
	       /* An Ethernet exit: the neighbour redirect. */
	       exit_write(s, c, EXIT_IFINDEX, true, false, true) &&
	       exit_send(s, c, "ACK, Ethernet exit", &x_ack,
			 (struct exit_want)X_OUT, NULL);
}

/* The cell's own services never take the exit; nor do peers without. */
static bool exit_not_for_others(struct suite *s, struct check *c)
{
	const struct pkt_desc files = TCP(BOB, 40002, FILES, 443, TH_SYN);
	const struct pkt_desc alice = TCP(ALICE, 40003, CALENDAR, 80, TH_SYN);

	return exit_send(s, c, "bob to files", &files, (struct exit_want)X_PASS,
			 NULL) &&
	       expect_ct_exit(s, c, &files, 0) &&
	       exit_write(s, c, EXIT_IFINDEX, false, false, false) &&
	       send_pkt(s, c, "alice to calendar, bob's exit down", INGRESS,
			&alice, &(struct expect){ TC_ACT_OK, 0, "alice", 0 }) &&
	       exit_set_peer(s, c, 0) &&
	       exit_send(s, c, "bob without exit: the uplink", &x_syn2,
			 (struct exit_want)X_PASS, NULL) &&
	       expect_ct_exit(s, c, &x_syn2, 0);
}

/* The kill switch: established and new flows held back while the exit
 * is down (up 0, or no interface), let through again once it is up. */
static bool exit_kill_switch(struct suite *s, struct check *c)
{
	return exit_send(s, c, "SYN, exit up", &x_syn, (struct exit_want)X_OUT,
			 NULL) &&
	       exit_write(s, c, EXIT_IFINDEX, false, false, false) &&
	       exit_send(s, c, "ACK, exit down", &x_ack,
			 (struct exit_want)X_DOWN, NULL) &&
	       exit_send(s, c, "new SYN, exit down", &x_syn2,
			 (struct exit_want)X_DOWN, NULL) &&
	       expect_no_ct(s, c, &x_syn2) &&
	       exit_write(s, c, 0, true, false, false) &&
	       exit_send(s, c, "ACK, exit without interface", &x_ack,
			 (struct exit_want)X_DOWN, NULL) &&
	       exit_kind(s, c, CG_EXIT_TOR) &&
	       exit_send(s, c, "ACK, a Tor exit (not steered yet)", &x_ack,
			 (struct exit_want)X_DOWN, NULL) &&
	       exit_kind(s, c, CG_EXIT_CELL) &&
	       exit_send(s, c, "ACK, a cell exit (not steered yet)", &x_ack,
			 (struct exit_want)X_DOWN, NULL) &&
	       exit_write(s, c, EXIT_IFINDEX, true, false, false) &&
	       exit_kind(s, c, CG_EXIT_WIREGUARD) &&
	       exit_send(s, c, "ACK, a WireGuard exit", &x_ack,
			 (struct exit_want)X_OUT, NULL) &&
	       exit_write(s, c, EXIT_IFINDEX, true, false, false) &&
	       exit_send(s, c, "ACK, exit up again", &x_ack,
			 (struct exit_want)X_OUT, NULL) &&
	       exit_send(s, c, "new SYN, exit up again", &x_syn2,
			 (struct exit_want)X_OUT, NULL);
}

/* Masquerade: the source becomes the exit's address on the way out; the
 * exit's ingress program turns the reply back toward bob. */
static bool exit_masquerade(struct suite *s, struct check *c)
{
	const struct pkt_desc syn_out =
		TCP(EXIT_ADDR, 40000, INTERNET, 443, TH_SYN);
	const struct pkt_desc ack_out =
		TCP(EXIT_ADDR, 40000, INTERNET, 443, TH_ACK, .payload_len = 60);
	const struct pkt_desc reply = TCP(INTERNET, 443, EXIT_ADDR, 40000,
					  TH_SYN | TH_ACK, .payload_len = 20);
	const struct pkt_desc reply_in = TCP(
		INTERNET, 443, BOB, 40000, TH_SYN | TH_ACK, .payload_len = 20);
	const struct pkt_desc other =
		TCP(INTERNET, 443, EXIT_ADDR, 40999, TH_ACK, .payload_len = 20);
	uint8_t frame[PKT_MAX];
	size_t len;
	struct run r;

	if (!exit_send(s, c, "SYN", &x_syn, (struct exit_want)X_OUT,
		       &syn_out) ||
	    !exit_send(s, c, "ACK", &x_ack, (struct exit_want)X_OUT, &ack_out))
		return false;
	c->step = "reply on the exit";
	len = pkt_build(&reply, frame, sizeof(frame));
	if (!run_fd(c, dp_prog_fd_exit_ingress(&s->dp, true), frame, len, &r) ||
	    !expect_verdict(c, TC_ACT_OK, r.verdict) ||
	    !expect_frame(c, &r, &reply_in) ||
	    !verify_frame(c, r.out, r.out_len))
		return false;
	c->step = "another host's packet on the exit";
	len = pkt_build(&other, frame, sizeof(frame));
	return run_fd(c, dp_prog_fd_exit_ingress(&s->dp, true), frame, len,
		      &r) &&
	       expect_verdict(c, TC_ACT_OK, r.verdict) &&
	       expect_frame(c, &r, &other);
}

/* A router behind the exit says bob's masqueraded SYN is too big: the
 * error is turned toward bob, quoted packet and checksums included. */
static bool exit_icmp_error(struct suite *s, struct check *c)
{
	const struct pkt_desc sent =
		TCP(EXIT_ADDR, 40000, INTERNET, 443, TH_SYN);
	const struct pkt_desc err20 =
		ICMP(PATH_ROUTER, EXIT_ADDR, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &sent,
		     .quote_l4 = 20);
	const struct pkt_desc err20_out = ICMP(PATH_ROUTER, BOB, ICMP_T_UNREACH,
					       .icmp_code = ICMP_C_FRAG_NEEDED,
					       .inner = &x_syn, .quote_l4 = 20);
	const struct pkt_desc err =
		ICMP(PATH_ROUTER, EXIT_ADDR, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &sent);
	const struct pkt_desc err_out =
		ICMP(PATH_ROUTER, BOB, ICMP_T_UNREACH,
		     .icmp_code = ICMP_C_FRAG_NEEDED, .inner = &x_syn);
	uint8_t frame[PKT_MAX];
	size_t len;
	struct run r;

	if (!exit_send(s, c, "SYN", &x_syn, (struct exit_want)X_OUT, &sent))
		return false;
	c->step = "frag-needed, 20 bytes quoted";
	len = pkt_build(&err20, frame, sizeof(frame));
	if (!run_fd(c, dp_prog_fd_exit_ingress(&s->dp, true), frame, len, &r) ||
	    !expect_verdict(c, TC_ACT_OK, r.verdict) ||
	    !expect_frame(c, &r, &err20_out) ||
	    !verify_frame(c, r.out, r.out_len))
		return false;
	c->step = "frag-needed, 8 bytes quoted";
	len = pkt_build(&err, frame, sizeof(frame));
	return run_fd(c, dp_prog_fd_exit_ingress(&s->dp, true), frame, len,
		      &r) &&
	       expect_verdict(c, TC_ACT_OK, r.verdict) &&
	       expect_frame(c, &r, &err_out) &&
	       verify_frame(c, r.out, r.out_len);
}

/* A flow opened by the uplink, then bob given an exit: it must not go on
 * by the uplink; dropped once (exit_down), opened again by the exit. */
static bool exit_changed(struct suite *s, struct check *c)
{
	return exit_set_peer(s, c, 0) &&
	       exit_send(s, c, "SYN by the uplink", &x_syn,
			 (struct exit_want)X_PASS, NULL) &&
	       exit_set_peer(s, c, EXIT_ID) &&
	       exit_send(s, c, "ACK after the change", &x_ack,
			 (struct exit_want){ TC_ACT_SHOT, CG_DROP_EXIT_DOWN, 0,
					     0 },
			 NULL) &&
	       expect_no_ct(s, c, &x_syn) &&
	       exit_send(s, c, "ACK again: by the exit", &x_ack,
			 (struct exit_want)X_OUT, NULL) &&
	       expect_ct_exit(s, c, &x_ack, EXIT_ID);
}

/* Back from a masquerading exit to the uplink: the flow is opened again
 * and the uplink masquerades it with its own address, not the exit's
 * (whose translation of the flow is still there). */
static bool exit_back_to_uplink(struct suite *s, struct check *c)
{
	const struct pkt_desc ack_up =
		TCP(UPLINK, 40000, INTERNET, 443, TH_ACK, .payload_len = 60);
	const struct pkt_desc syn_out =
		TCP(EXIT_ADDR, 40000, INTERNET, 443, TH_SYN);
	uint8_t frame[PKT_MAX];
	size_t len;
	struct run r;

	if (!exit_send(s, c, "SYN by the exit", &x_syn, (struct exit_want)X_OUT,
		       &syn_out) ||
	    !exit_set_peer(s, c, 0) ||
	    !exit_send(
		    s, c, "ACK after the change", &x_ack,
		    (struct exit_want){ TC_ACT_SHOT, CG_DROP_EXIT_DOWN, 0, 0 },
		    NULL) ||
	    !exit_send(s, c, "ACK again: to the stack", &x_ack,
		       (struct exit_want)X_PASS, NULL))
		return false;
	c->step = "ACK on the uplink";
	len = pkt_build(&x_ack, frame, sizeof(frame));
	return run_fd(c, dp_prog_fd_uplink_egress(&s->dp), frame, len, &r) &&
	       expect_verdict(c, TC_ACT_OK, r.verdict) &&
	       expect_frame(c, &r, &ack_up) &&
	       verify_frame(c, r.out, r.out_len);
}

static bool exit_v6(struct suite *s, struct check *c)
{
	const struct pkt_desc syn =
		TCP(BOB6, 40000, INTERNET6, 443, TH_SYN, .l3 = PKT_IPV6);
	const struct pkt_desc ack = TCP(BOB6, 40000, INTERNET6, 443, TH_ACK,
					.l3 = PKT_IPV6, .payload_len = 40);
	const struct pkt_desc syn2 =
		TCP(BOB6, 40001, INTERNET6, 443, TH_SYN, .l3 = PKT_IPV6);
	struct cg_ct_entry e;

	if (!v6_cell_build(s, c, true) ||
	    !nat_write_settings(s, c, NAT_PORT_MIN, NAT_PORT_MAX) ||
	    !exit_write(s, c, EXIT_IFINDEX, true, false, false) ||
	    !exit_set_peer(s, c, EXIT_ID))
		return false;
	map_flush(s->dp.map_fd[DP_MAP_EXIT_COUNTERS]);
	return exit_send(s, c, "SYN", &syn, (struct exit_want)X_OUT, NULL) &&
	       ct6_read(c, &syn, &e) &&
	       expect_eq(c, "ct6.exit_id", EXIT_ID, e.exit_id) &&
	       exit_send(s, c, "ACK", &ack, (struct exit_want)X_OUT, NULL) &&
	       exit_write(s, c, EXIT_IFINDEX, false, false, false) &&
	       exit_send(s, c, "ACK, exit down", &ack, (struct exit_want)X_DOWN,
			 NULL) &&
	       exit_send(s, c, "new SYN, exit down", &syn2,
			 (struct exit_want)X_DOWN, NULL) &&
	       exit_write(s, c, EXIT_IFINDEX, true, true, false) &&
	       exit_send(s, c, "new SYN, masquerading exit (IPv4 only)", &syn2,
			 (struct exit_want)X_DOWN, NULL) &&
	       exit_write(s, c, EXIT_IFINDEX, true, false, true) &&
	       exit_send(s, c, "new SYN, Ethernet exit", &syn2,
			 (struct exit_want)X_OUT, NULL) &&
	       v6_set_enabled(c, false);
}

static const struct {
	const char *name;
	bool masq;
	bool (*run)(struct suite *s, struct check *c);
} exit_flows[] = {
	{ "exits: bob's internet flows go out by his exit (redirect, L3 and "
	  "Ethernet), counted there, conntrack keeps the exit",
	  false, exit_steered },
	{ "exits: the cell's services and peers without an exit are not "
	  "steered, nor held by a down exit",
	  false, exit_not_for_others },
	{ "exits: kill switch: down or gone exit drops new and established "
	  "flows (exit_down, bob's and the exit's counters), so do kinds not "
	  "steered yet (tor, cell); up again passes",
	  false, exit_kill_switch },
	{ "exits: masquerade to the exit's address, the reply turned back by "
	  "exit_ingress (checksums verified)",
	  true, exit_masquerade },
	{ "exits: an ICMP error about a masqueraded flow turned back toward "
	  "bob by exit_ingress (checksums verified)",
	  true, exit_icmp_error },
	{ "exits: a flow opened by the uplink is dropped once when bob gets "
	  "an exit, then re-opened by the exit",
	  false, exit_changed },
	{ "exits: back from a masquerading exit to the uplink: re-opened, "
	  "masqueraded with the uplink's address, not the exit's",
	  true, exit_back_to_uplink },
};

/* dp_exit_put attaches exit_ingress to a masquerading exit's interface
 * and dp_exit_delete removes it (lo of a private network namespace). */
static bool exit_attach_case(struct suite *s, struct check *c)
{
	struct cg_exit e = { .ifindex = 1,
			     .kind = CG_EXIT_INTERFACE,
			     .up = 1,
			     .masquerade = 1 };
	uint32_t prog = 0,
		 ours = prog_id_of_fd(dp_prog_fd_exit_ingress(&s->dp, false));
	int ret;

	c->step = "dp_exit_put";
	ret = dp_exit_put(&s->dp, EXIT_ID, &e);
	if (ret)
		return failf(c, "dp_exit_put: %s", strerror(-ret));
	if (tc_prog_id("lo", true, &prog) ||
	    !expect_eq(c, "lo's ingress program", ours, prog))
		return false;
	c->step = "dp_exits_reattach after our filter went";
	tc_detach_ingress(1, false);
	if (!expect_eq(c, "attached again", 1, dp_exits_reattach(&s->dp)) ||
	    tc_prog_id("lo", true, &prog) ||
	    !expect_eq(c, "lo's ingress program", ours, prog) ||
	    !expect_eq(c, "attached when it is there", 0,
		       dp_exits_reattach(&s->dp)))
		return false;
	c->step = "dp_exit_put without masquerade";
	e.masquerade = 0;
	if (dp_exit_put(&s->dp, EXIT_ID, &e) || tc_prog_id("lo", true, &prog) ||
	    !expect_eq(c, "lo's ingress program", 0, prog))
		return false;
	c->step = "dp_exits_detach_pinned (cellgate detach)";
	e.masquerade = 1;
	if (dp_exit_put(&s->dp, EXIT_ID, &e) ||
	    !expect_eq(c, "detached", 1, dp_exits_detach_pinned(bpffs_dir)) ||
	    tc_prog_id("lo", true, &prog) ||
	    !expect_eq(c, "lo's ingress program after detach", 0, prog))
		return false;
	c->step = "dp_exit_delete";
	dp_exits_reattach(&s->dp);
	if (dp_exit_put(&s->dp, EXIT_ID, &e) ||
	    dp_exit_delete(&s->dp, EXIT_ID) || tc_prog_id("lo", true, &prog))
		return failf(c, "put or delete failed");
	if (!expect_eq(c, "lo's ingress program after delete", 0, prog))
		return false;
	return expect_eq(c, "bad id refused", (uint64_t)-EINVAL,
			 (uint64_t)dp_exit_put(&s->dp, CG_MAX_EXITS, &e));
}

/* ns a packet of the established flow d (100k runs), or 0. */
static unsigned int exit_time(struct suite *s, const struct pkt_desc *d)
{
	uint8_t frame[PKT_MAX], out[PKT_MAX];
	size_t len = pkt_build(d, frame, sizeof(frame));
	struct __sk_buff ctx = { .ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame,
		    .data_size_in = (uint32_t)len, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 100000);

	if (bpf_prog_test_run_opts(dp_prog_fd_wg_ingress(&s->dp), &o))
		return 0;
	return o.duration;
}

/* What an established packet costs by an exit and by the uplink (the
 * log keeps it in view; prog_bench measures). */
static void exit_cost(struct suite *s)
{
	const struct pkt_desc ack2 =
		TCP(BOB, 40001, INTERNET, 443, TH_ACK, .payload_len = 60);
	struct check c = { 0 };
	unsigned int uplink, by_exit;

	if (!exit_cell_build(s, &c, false) || !exit_set_peer(s, &c, 0) ||
	    !exit_send(s, &c, "SYN by the uplink", &x_syn2,
		       (struct exit_want)X_PASS, NULL))
		return;
	uplink = exit_time(s, &ack2);
	if (!exit_set_peer(s, &c, EXIT_ID) ||
	    !exit_send(s, &c, "SYN by the exit", &x_syn,
		       (struct exit_want)X_OUT, NULL))
		return;
	by_exit = exit_time(s, &x_ack);
	printf("# exits: %u ns an established packet by an exit, %u ns by "
	       "the uplink (100k runs)\n",
	       by_exit, uplink);
}

static void run_exit_cases(struct suite *s)
{
	struct check c = { 0 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(exit_flows); i++) {
		memset(&c, 0, sizeof(c));
		if (exit_cell_build(s, &c, exit_flows[i].masq))
			exit_flows[i].run(s, &c);
		report(s, exit_flows[i].name, &c);
	}
	memset(&c, 0, sizeof(c));
	exit_v6(s, &c);
	report(s,
	       "exits: IPv6 steered, kill switch; a masquerading exit "
	       "holds IPv6 back",
	       &c);
	exit_cost(s);
	exit_cell_teardown(s);
}

/* After the bridge cases, in their private network namespace. */
static void run_exit_attach_case(struct suite *s)
{
	struct check c = { 0 };

	if (unshare(CLONE_NEWNET)) {
		printf("# SKIP exits attach case: unshare: %s\n",
		       strerror(errno));
		return;
	}
	exit_attach_case(s, &c);
	report(s,
	       "exits: dp_exit_put attaches exit_ingress to a masquerading "
	       "exit's interface, dp_exits_reattach puts it back, detached "
	       "without masquerade, by cellgate detach and on delete",
	       &c);
}

#endif
