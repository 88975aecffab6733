/* SPDX-License-Identifier: MIT */
/*
 * Bridge anti-spoofing (bpf/bridge_port.bpf.c): frames from two ports of
 * the bridge. BPF_PROG_TEST_RUN takes the port from ctx.ifindex, which
 * must name an existing device: the cases run in a network namespace of
 * their own with a veth pair standing for two veths, entered last
 * (after every wg0 case) so nothing else notices. The allowed sources
 * come from the fixture cell's services through policy_compile and
 * dp_sync, as in the controller.
 */
#include <net/if.h>

struct bridge_ports {
	int a, b; /* ifindexes of the two "veths" */
};

/* Run frame from port; *verdict gets the program's. */
static bool bridge_run(struct suite *s, struct check *c, int port,
		       const uint8_t *frame, size_t len, int *verdict)
{
	struct __sk_buff ctx = { .ifindex = (uint32_t)port };
	uint8_t out[PKT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame,
		    .data_size_in = (uint32_t)len, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (bpf_prog_test_run_opts(dp_prog_fd_bridge_port(&s->dp), &o))
		return failf(c, "BPF_PROG_TEST_RUN: %s", strerror(errno));
	*verdict = (int)o.retval;
	return true;
}

/* One frame from port: the verdict, and the unattributed drop counter
 * of reason moved by one exactly when it is a drop. */
static bool bridge_expect(struct suite *s, struct check *c, int port,
			  const struct pkt_desc *d, const char *arp_spa,
			  int want, enum cg_drop_reason reason)
{
	uint8_t frame[PKT_MAX];
	size_t len = pkt_build(d, frame, sizeof(frame));
	struct cg_counters before, after;
	int verdict;

	if (arp_spa)
		inet_pton(AF_INET, arp_spa, frame + PKT_ETH_LEN + 14);
	if (dp_counters(&s->dp, CG_IDENT_UNKNOWN, &before) ||
	    !bridge_run(s, c, port, frame, len, &verdict) ||
	    dp_counters(&s->dp, CG_IDENT_UNKNOWN, &after))
		return failf(c, "counters or run failed");
	return expect_verdict(c, want, verdict) &&
	       expect_eq(c, drop_reason_name(reason),
			 want == TC_ACT_SHOT ? 1 : 0,
			 after.drops[reason] - before.drops[reason]);
}

static bool bridge_udp(struct suite *s, struct check *c, int port,
		       const char *src, int want)
{
	struct pkt_desc d = { .src = src,
			      .dst = "10.0.0.2",
			      .proto = IPPROTO_UDP,
			      .sport = 4000,
			      .dport = 53 };

	return bridge_expect(s, c, port, &d, NULL, want,
			     CG_DROP_SPOOFED_SOURCE);
}

static bool bridge_arp(struct suite *s, struct check *c, int port,
		       const char *spa, int want)
{
	struct pkt_desc d = { .l3 = PKT_ARP };

	return bridge_expect(s, c, port, &d, spa, want, CG_DROP_ARP_SPOOFED);
}

static uint32_t bound_port(struct suite *s, const char *addr)
{
	struct cg_addr_key k = { 0 };
	uint32_t port = 0;

	inet_pton(AF_INET, addr, k.addr);
	bpf_map_lookup_elem(s->dp.map_fd[DP_MAP_BRIDGE_BIND], &k, &port);
	return port;
}

static bool bridge_sources(struct suite *s, struct check *c,
			   const struct bridge_ports *p)
{
	(void)p;
	c->step = "services are allowed sources";
	return expect_eq(
		       c, "cg_bridge_src has 172.20.0.21", 1,
		       map_has(s->dp.map_fd[DP_MAP_BRIDGE_SRC],
			       &(struct cg_addr_key){ { 172, 20, 0, 21 } })) &&
	       expect_eq(c, "cg_bridge_src has 172.20.0.53", 1,
			 map_has(s->dp.map_fd[DP_MAP_BRIDGE_SRC],
				 &(struct cg_addr_key){ { 172, 20, 0, 53 } }));
}

static bool bridge_binding(struct suite *s, struct check *c,
			   const struct bridge_ports *p)
{
	c->step = "first use binds";
	if (!bridge_udp(s, c, p->a, "172.20.0.21", TC_ACT_OK) ||
	    !expect_eq(c, "bound port", (uint64_t)p->a,
		       bound_port(s, "172.20.0.21")))
		return false;
	c->step = "another port with the address";
	if (!bridge_udp(s, c, p->b, "172.20.0.21", TC_ACT_SHOT))
		return false;
	c->step = "the owner again";
	return bridge_udp(s, c, p->a, "172.20.0.21", TC_ACT_OK) &&
	       expect_eq(c, "bound port", (uint64_t)p->a,
			 bound_port(s, "172.20.0.21"));
}

static bool bridge_unknown(struct suite *s, struct check *c,
			   const struct bridge_ports *p)
{
	c->step = "an address nobody allowed";
	if (!bridge_udp(s, c, p->a, "172.20.0.60", TC_ACT_SHOT) ||
	    !expect_eq(c, "no binding", 0, bound_port(s, "172.20.0.60")))
		return false;
	c->step = "0.0.0.0 (DHCP)";
	return bridge_udp(s, c, p->b, "0.0.0.0", TC_ACT_OK);
}

static bool bridge_prefix(struct suite *s, struct check *c,
			  const struct bridge_ports *p)
{
	struct cg_lpm_key k = { .prefixlen = 28, .addr = { 172, 20, 0, 80 } };
	__u8 one = 1;

	c->step = "an operator's prefix";
	if (bpf_map_update_elem(s->dp.map_fd[DP_MAP_BRIDGE_NETS], &k, &one,
				BPF_ANY))
		return failf(c, "cannot write cg_bridge_nets");
	return bridge_udp(s, c, p->a, "172.20.0.81", TC_ACT_OK) &&
	       bridge_udp(s, c, p->b, "172.20.0.81", TC_ACT_OK) &&
	       expect_eq(c, "prefixes bind nobody", 0,
			 bound_port(s, "172.20.0.81")) &&
	       bridge_udp(s, c, p->a, "172.20.0.96", TC_ACT_SHOT);
}

static bool bridge_arp_cases(struct suite *s, struct check *c,
			     const struct bridge_ports *p)
{
	struct pkt_desc v6 = { .l3 = PKT_IPV6,
			       .src = "fe80::21",
			       .dst = "fd00::1",
			       .proto = IPPROTO_UDP,
			       .sport = 1,
			       .dport = 2 };
	int verdict;
	uint8_t frame[PKT_MAX];
	size_t len = pkt_build(&v6, frame, sizeof(frame));

	c->step = "ARP claiming another port's address";
	if (!bridge_arp(s, c, p->b, "172.20.0.21", TC_ACT_SHOT))
		return false;
	c->step = "ARP of the owner, ARP of an unbound address";
	if (!bridge_arp(s, c, p->a, "172.20.0.21", TC_ACT_OK) ||
	    !bridge_arp(s, c, p->b, "172.20.0.99", TC_ACT_OK))
		return false;
	c->step = "IPv6 from a link-local address (not checked)";
	return bridge_run(s, c, p->b, frame, len, &verdict) &&
	       expect_verdict(c, TC_ACT_OK, verdict);
}

/* ---- IPv6 ---------------------------------------------------------------- */

/* UDP from src on port (IPv6); a drop must count spoofed_source. */
static bool bridge_udp6(struct suite *s, struct check *c, int port,
			const char *src, int want)
{
	struct pkt_desc d = { .l3 = PKT_IPV6,
			      .src = src,
			      .dst = "fd00::2",
			      .proto = IPPROTO_UDP,
			      .sport = 4000,
			      .dport = 53 };

	return bridge_expect(s, c, port, &d, NULL, want,
			     CG_DROP_SPOOFED_SOURCE);
}

/* A neighbour advertisement from fe80::99 for target; a drop counts
 * arp_spoofed. pktgen writes ICMPv6 types it does not know bare (8
 * bytes): the target is appended and the payload length grown. */
static bool bridge_na(struct suite *s, struct check *c, int port,
		      const char *target, int want)
{
	struct pkt_desc d = { .l3 = PKT_IPV6,
			      .src = "fe80::99",
			      .dst = "ff02::1",
			      .proto = IPPROTO_ICMPV6,
			      .icmp_type = 136 };
	uint8_t frame[PKT_MAX];
	size_t len = pkt_build(&d, frame, sizeof(frame));
	struct cg_counters before, after;
	int verdict;

	inet_pton(AF_INET6, target, frame + len);
	len += 16;
	frame[PKT_ETH_LEN + 5] += 16; /* payload length, low byte */
	if (dp_counters(&s->dp, CG_IDENT_UNKNOWN, &before) ||
	    !bridge_run(s, c, port, frame, len, &verdict) ||
	    dp_counters(&s->dp, CG_IDENT_UNKNOWN, &after))
		return failf(c, "counters or run failed");
	return expect_verdict(c, want, verdict) &&
	       expect_eq(c, "arp_spoofed", want == TC_ACT_SHOT ? 1 : 0,
			 after.drops[CG_DROP_ARP_SPOOFED] -
				 before.drops[CG_DROP_ARP_SPOOFED]);
}

static bool bridge_v6(struct suite *s, struct check *c,
		      const struct bridge_ports *p)
{
	struct cg_addr6_key k = { 0 };
	struct cg_bridge_src v = { .kind = CG_BRSRC_SERVICE };
	struct cg_lpm6_key net = { .prefixlen = 64 };
	__u8 one = 1;

	inet_pton(AF_INET6, "fd20::21", k.addr);
	inet_pton(AF_INET6, "fd21::", net.addr);
	if (bpf_map_update_elem(s->dp.map_fd[DP_MAP_BRIDGE_SRC6], &k, &v,
				BPF_ANY) ||
	    bpf_map_update_elem(s->dp.map_fd[DP_MAP_BRIDGE_NETS6], &net, &one,
				BPF_ANY))
		return failf(c, "cannot write cg_bridge_src6/nets6");
	c->step = "an allowed IPv6 source: the first port binds it";
	if (!bridge_udp6(s, c, p->a, "fd20::21", TC_ACT_OK) ||
	    !bridge_udp6(s, c, p->b, "fd20::21", TC_ACT_SHOT) ||
	    !bridge_udp6(s, c, p->a, "fd20::21", TC_ACT_OK))
		return false;
	c->step = "an IPv6 source nobody allowed";
	if (!bridge_udp6(s, c, p->a, "fd20::60", TC_ACT_SHOT))
		return false;
	c->step = "an allowed IPv6 prefix, any port";
	if (!bridge_udp6(s, c, p->a, "fd21::7", TC_ACT_OK) ||
	    !bridge_udp6(s, c, p->b, "fd21::7", TC_ACT_OK))
		return false;
	c->step = "unspecified and link-local sources pass";
	if (!bridge_udp6(s, c, p->b, "::", TC_ACT_OK) ||
	    !bridge_udp6(s, c, p->b, "fe80::5", TC_ACT_OK))
		return false;
	c->step = "a neighbour advertisement for another port's address";
	return bridge_na(s, c, p->b, "fd20::21", TC_ACT_SHOT) &&
	       bridge_na(s, c, p->a, "fd20::21", TC_ACT_OK) &&
	       bridge_na(s, c, p->b, "fd20::77", TC_ACT_OK);
}

static bool bridge_unbind(struct suite *s, struct check *c,
			  const struct bridge_ports *p)
{
	struct dp_ports only_b = { .ifindex = { p->b }, .n = 1 };
	int n;

	c->step = "a port gone: its bindings forgotten";
	n = dp_bridge_unbind_gone(&s->dp, &only_b);
	if (!expect_eq(c, "bindings forgotten", 1, (uint64_t)n) ||
	    !expect_eq(c, "no binding", 0, bound_port(s, "172.20.0.21")))
		return false;
	c->step = "the new port claims the address";
	return bridge_udp(s, c, p->b, "172.20.0.21", TC_ACT_OK) &&
	       bridge_udp(s, c, p->a, "172.20.0.21", TC_ACT_SHOT);
}

/* A namespace of our own with a veth pair: 0, or -1 (why says). */
static int bridge_netns(struct bridge_ports *p, char *why, size_t len)
{
	if (unshare(CLONE_NEWNET)) {
		snprintf(why, len, "unshare(CLONE_NEWNET): %s",
			 strerror(errno));
		return -1;
	}
	if (system("ip link add cgbrA type veth "
		   "peer name cgbrB") != 0) {
		snprintf(why, len, "cannot create a veth pair");
		return -1;
	}
	p->a = (int)if_nametoindex("cgbrA");
	p->b = (int)if_nametoindex("cgbrB");
	if (!p->a || !p->b) {
		snprintf(why, len, "the veths have no index");
		return -1;
	}
	return 0;
}

static const struct {
	const char *name;
	bool (*run)(struct suite *s, struct check *c,
		    const struct bridge_ports *p);
} bridge_cases[] = {
	{ "bridge: service endpoints are the allowed sources", bridge_sources },
	{ "bridge: an address belongs to the first port using it",
	  bridge_binding },
	{ "bridge: unknown sources dropped (spoofed_source), 0.0.0.0 passes",
	  bridge_unknown },
	{ "bridge: allowed_sources prefixes, any port, no binding",
	  bridge_prefix },
	{ "bridge: ARP claiming another port's address dropped, link-local IPv6 passes",
	  bridge_arp_cases },
	{ "bridge: a gone port's bindings forgotten, the address re-claimed",
	  bridge_unbind },
	{ "bridge: IPv6 sources bound per port, prefixes, link-local, "
	  "neighbour advertisements (arp_spoofed)",
	  bridge_v6 },
};

/* What a packet from the owner of its address costs (two hash lookups):
 * printed, never asserted (speed is the benchmarks' business). */
static void bridge_cost(struct suite *s, const struct bridge_ports *p)
{
	struct pkt_desc d = { .src = "172.20.0.22",
			      .dst = "10.0.0.2",
			      .proto = IPPROTO_UDP,
			      .sport = 4000,
			      .dport = 53 };
	uint8_t frame[PKT_MAX], out[PKT_MAX];
	size_t len = pkt_build(&d, frame, sizeof(frame));
	struct __sk_buff ctx = { .ifindex = (uint32_t)p->a };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame,
		    .data_size_in = (uint32_t)len, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 100000);

	if (!bpf_prog_test_run_opts(dp_prog_fd_bridge_port(&s->dp), &o))
		printf("# bridge port: %u ns a packet from its address's "
		       "owner (100k runs)\n",
		       o.duration);
}

static void run_bridge_cases(struct suite *s)
{
	struct bridge_ports p;
	struct check c = { 0 };
	char why[128];
	size_t i;

	if (bridge_netns(&p, why, sizeof(why))) {
		printf("# SKIP bridge cases: %s\n", why);
		return;
	}
	if (!cell_build(s, &c)) {
		report(s, "bridge: build the fixture cell", &c);
		return;
	}
	map_flush(s->dp.map_fd[DP_MAP_BRIDGE_BIND]);
	for (i = 0; i < ARRAY_SIZE(bridge_cases); i++) {
		memset(&c, 0, sizeof(c));
		bridge_cases[i].run(s, &c, &p);
		report(s, bridge_cases[i].name, &c);
	}
	bridge_cost(s, &p);
}
