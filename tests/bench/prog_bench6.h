// SPDX-License-Identifier: MIT
/*
 * prog_bench's IPv6 paths (issue 17): the wg0 paths of IPv4 (new,
 * established, denied, both hooks) over IPv6, so the report shows the
 * IPv6 per-packet cost beside IPv4's, measured in the same run (target:
 * within 1.2x). The IPv6 maps are written here from their pins (the
 * controller's IPv6 side is another change): N peers fd10::2.. in
 * cg_peers6, each with the identity of the IPv4 peer of the same index
 * (one policy, two families), calendar and files on fd20::21 and
 * fd20::22, and the cell's wg address6.
 *
 * Included by prog_bench.c after its timing helpers.
 */
#ifndef CG_PROG_BENCH6_H
#define CG_PROG_BENCH6_H

#define ROUTER6 "fd10::1"
#define CALENDAR6 "fd20::21"
#define FILES6 "fd20::22"
#define WEB6 "fd20::30"
#define REMOTE6 "2001:db8::7"
#define UPLINK6 "2001:db8:f::1" /* NAT66: the uplink's address */

static int bench6_ct_tcp = -1, bench6_ct_other = -1, bench6_frags = -1,
	   bench6_nat = -1;

static int bench6_pin(const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", bpffs_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	return fd;
}

/* fd10::(i + 2), as peer_addr's 10.0.0.(i + 2). */
static void peer6_addr(uint32_t i, uint8_t a[16])
{
	uint32_t low = htonl(2 + i);

	inet_pton(AF_INET6, "fd10::", a);
	memcpy(a + 12, &low, 4);
}

static void bench6_put(int fd, const void *k, const void *v, const char *what)
{
	if (bpf_map_update_elem(fd, k, v, BPF_ANY))
		die("%s: %s", what, strerror(errno));
}

static void fill_v6(struct bench *b)
{
	int set_fd = bench6_pin("cg_settings6"),
	    net_fd = bench6_pin("cg_local_nets6"),
	    svc_fd = bench6_pin("cg_services6"),
	    peer_fd = bench6_pin("cg_peers6");
	struct cg_settings6 set = { 0 };
	struct cg_lpm6_key net = { .prefixlen = 64 };
	struct cg_local_net kind = { .kind = CG_NET_WG_SUBNET };
	struct cg_service6_key svc = { .port = 80, .proto = IPPROTO_TCP };
	struct cg_service id = { .service_id = 0 };
	struct cg_identity ident;
	struct cg_addr_key k4;
	struct cg_addr6_key k6;
	struct in_addr a;
	uint32_t zero = 0, i;

	inet_pton(AF_INET6, ROUTER6, set.wg_addr);
	inet_pton(AF_INET6, UPLINK6, set.uplink_addr);
	set.masquerade = 1;
	bench6_put(set_fd, &zero, &set, "cg_settings6");
	inet_pton(AF_INET6, "fd10::", net.addr);
	bench6_put(net_fd, &net, &kind, "cg_local_nets6");
	inet_pton(AF_INET6, "fd20::", net.addr);
	kind.kind = CG_NET_BRIDGE;
	bench6_put(net_fd, &net, &kind, "cg_local_nets6");
	inet_pton(AF_INET6, CALENDAR6, svc.addr);
	bench6_put(svc_fd, &svc, &id, "cg_services6");
	inet_pton(AF_INET6, FILES6, svc.addr);
	svc.port = 0;
	id.service_id = 1;
	bench6_put(svc_fd, &svc, &id, "cg_services6");
	for (i = 0; i < b->n; i++) {
		peer_addr(i, &a);
		memcpy(k4.addr, &a, 4);
		if (bpf_map_lookup_elem(b->dp.map_fd[DP_MAP_PEERS], &k4,
					&ident))
			die("cg_peers: peer %u missing", i);
		peer6_addr(i, k6.addr);
		bench6_put(peer_fd, &k6, &ident, "cg_peers6");
	}
	peer6_addr(b->n - 1, k6.addr);
	inet_ntop(AF_INET6, k6.addr, b->peer6, sizeof(b->peer6));
	close(set_fd);
	close(net_fd);
	close(svc_fd);
	close(peer_fd);
	bench6_ct_tcp = bench6_pin("cg_ct6_tcp");
	bench6_ct_other = bench6_pin("cg_ct6_other");
	bench6_frags = bench6_pin("cg_frags6");
	bench6_nat = bench6_pin("cg_nat6");
}

static void flows6_flush(void)
{
	if (bench6_ct_tcp < 0)
		return;
	map_flush(bench6_ct_tcp);
	map_flush(bench6_ct_other);
	map_flush(bench6_frags);
	map_flush(bench6_nat);
}

/* peer6:40005 -> remote6:80 through NAT66; the reply path's port. */
static int setup6_masq_reply(struct bench *b, struct pkt_desc *d)
{
	struct pkt_desc syn = { .l3 = PKT_IPV6,
				.src = b->peer6,
				.sport = 40005,
				.dst = REMOTE6,
				.dport = 80,
				.proto = IPPROTO_TCP,
				.tcp_flags = TH_SYN };
	uint8_t frame[PKT_MAX], out[PKT_MAX];
	size_t len;

	flows_flush(b);
	len = build(&syn, frame);
	if (run(hook_fd(b, UPLINK_EGRESS), false, frame, len, 1, NULL, out) !=
	    TC_OK)
		die("NAT66 SYN dropped");
	/* The translated source port, in the TCP header after 14 + 40. */
	d->dport =
		(uint16_t)(out[PKT_ETH_LEN + 40] << 8 | out[PKT_ETH_LEN + 41]);
	return 0;
}

static int setup6_masq_flow(struct bench *b, struct pkt_desc *d)
{
	struct pkt_desc dummy;

	(void)d;
	return setup6_masq_reply(b, &dummy);
}

/* peer6:40000 -> calendar6:80, SYN in, SYN-ACK out: established. */
static int setup6_calendar_flow(struct bench *b, struct pkt_desc *d)
{
	struct pkt_desc syn = { .l3 = PKT_IPV6,
				.src = b->peer6,
				.sport = 40000,
				.dst = CALENDAR6,
				.dport = 80,
				.proto = IPPROTO_TCP,
				.tcp_flags = TH_SYN };
	struct pkt_desc synack = syn;
	uint8_t frame[PKT_MAX];
	size_t len;

	(void)d;
	flows_flush(b);
	synack.src = CALENDAR6;
	synack.sport = 80;
	synack.dst = b->peer6;
	synack.dport = 40000;
	synack.tcp_flags = TH_SYN | TH_ACK;
	len = build(&syn, frame);
	if (run(hook_fd(b, WG_INGRESS), false, frame, len, 1, NULL, NULL) !=
	    TC_OK)
		die("calendar6 SYN dropped");
	len = build(&synack, frame);
	if (run(hook_fd(b, WG_EGRESS), false, frame, len, 1, NULL, NULL) !=
	    TC_OK)
		die("calendar6 SYN-ACK dropped");
	return 0;
}

#define TCP6(s, sp, d, dp, fl, ...) \
	TCP(s, sp, d, dp, fl, .l3 = PKT_IPV6, __VA_ARGS__)

/* The IPv4 paths of wg0 over IPv6 (PEER: the tested peer's address6). */
#define BENCH6_PATHS                                                        \
	{ WG_INGRESS,                                                       \
	  "new6",                                                           \
	  SINGLE,                                                           \
	  setup_flush,                                                      \
	  TCP6(PEER, 0, CALENDAR6, 80, TH_SYN, ),                           \
	  true,                                                             \
	  TC_OK },                                                          \
		{ WG_INGRESS,                                               \
		  "est6",                                                   \
		  REPEAT,                                                   \
		  setup6_calendar_flow,                                     \
		  TCP6(PEER, 40000, CALENDAR6, 80, TH_ACK | TH_PSH,         \
		       .payload_len = 100),                                 \
		  false,                                                    \
		  TC_OK },                                                  \
		{ WG_INGRESS,                                               \
		  "denied6",                                                \
		  REPEAT,                                                   \
		  setup_flush,                                              \
		  TCP6(PEER, 40001, FILES6, 445, TH_SYN, ),                 \
		  false,                                                    \
		  TC_SHOT },                                                \
		{ WG_EGRESS,                                                \
		  "new6",                                                   \
		  SINGLE,                                                   \
		  setup_flush,                                              \
		  TCP6(WEB6, 0, PEER, 22, TH_SYN, ),                        \
		  true,                                                     \
		  TC_OK },                                                  \
		{ WG_EGRESS,                                                \
		  "est6",                                                   \
		  REPEAT,                                                   \
		  setup6_calendar_flow,                                     \
		  TCP6(CALENDAR6, 80, PEER, 40000, TH_ACK | TH_PSH,         \
		       .payload_len = 400),                                 \
		  false,                                                    \
		  TC_OK },                                                  \
		{ WG_EGRESS,                                                \
		  "denied6",                                                \
		  REPEAT,                                                   \
		  setup_flush,                                              \
		  TCP6(REMOTE6, 40002, PEER, 22, TH_SYN, ),                 \
		  false,                                                    \
		  TC_SHOT }, /* NAT66 (the IPv6 side of uplink.new/est): */ \
		{ UPLINK_EGRESS,                                            \
		  "new6",                                                   \
		  SINGLE,                                                   \
		  setup_flush,                                              \
		  TCP6(PEER, 0, REMOTE6, 80, TH_SYN, ),                     \
		  true,                                                     \
		  TC_OK },                                                  \
		{ UPLINK_EGRESS,                                            \
		  "est6",                                                   \
		  SINGLE,                                                   \
		  setup6_masq_flow,                                         \
		  TCP6(PEER, 40005, REMOTE6, 80, TH_ACK | TH_PSH,           \
		       .payload_len = 100),                                 \
		  false,                                                    \
		  TC_OK },                                                  \
	{                                                                   \
		UPLINK_XDP, "est6", SINGLE, setup6_masq_reply,              \
			TCP6(REMOTE6, 80, UPLINK6, 0, TH_ACK | TH_PSH,      \
			     .payload_len = 400),                           \
			false, XDP_PASS_RET                                 \
	}

#endif
