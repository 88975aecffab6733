// SPDX-License-Identifier: MIT
/*
 * prog_bench: per-packet cost of cellgate's four BPF programs (item 1 of
 * docs/BENCHMARKS.md), through BPF_PROG_TEST_RUN, as ratios to reference
 * programs measured in the same run (tests/bench/baseline.bpf.c): an empty
 * program and one doing a single hash lookup in a map of N entries.
 *
 * The programs are loaded by the controller's own loader (dp_open) into a
 * private bpffs, as tests/bpf/bpf_test.c does; the maps hold N peers
 * written by dp_sync from a compiled policy, two services, two port
 * forwards and the NAT settings. The peer the packets come from is the
 * last of the N.
 *
 * Two ways of timing, because BPF_PROG_TEST_RUN's repeat runs the program
 * again and again on the same buffer:
 *
 * - repeat: one call, `repeat` runs, the kernel's average. Right for paths
 *   that leave no state and do not rewrite the packet (established and
 *   denied packets on wg0).
 * - single: a path that creates state (a new flow: conntrack or NAT
 *   entries) would find that state on its second run and measure the
 *   established path instead; a path that rewrites the packet (NAT) would
 *   see its own output on the next run. So each of those packets is run
 *   once per call (repeat = 1), a new flow with a fresh source port every
 *   call (a genuinely new flow each time, the tables flushed outside the
 *   timing every SINGLE_BATCH flows so that LRU eviction never runs). The
 *   kernel's time of one run includes its own timer (two clock reads);
 *   that overhead is measured with the empty program run the same way and
 *   subtracted: net = median(path, repeat 1) - (median(empty, repeat 1) -
 *   empty with repeat). Medians, because a single run can be hit by an
 *   interrupt.
 *
 * Output, one TSV row per figure (what tests/bench/report.py reads):
 *   prog <competitor> <N> <run> <metric> <value>
 * with competitor "cellgate" or "baseline", metric "<program>.<path>" in
 * ns, and "<program>.<path>.vs_empty" / ".vs_lookup", the ratios to the
 * reference programs of the same hook in the same run (a single-timed
 * path to the lookup single-timed too; ".vs_empty" always to the empty
 * program with repeat, the floor). Repeat-timed paths are also timed
 * singly (".single"), to show how far the two methods differ.
 *
 * Usage: prog_bench --n N [--runs R] [--repeat REP] [--single S]
 *                   [--baseline FILE] [--only PROGRAM.PATH]
 *
 * Two more modes serve the other items:
 *
 *   prog_bench --n N --attach IFNAME
 *     Loads the wg0 programs for an Ethernet device (cg_l2_len = 14), fills
 *     the same N peers and attaches them to IFNAME's tc ingress and egress,
 *     then exits (tc keeps them). Item 2 runs cellgate's filter over a veth
 *     this way: the exact objects of wg0, without WireGuard in the path.
 *
 *   prog_bench --n N --probe CONFIG --changes K --peer NAME --peer-ip IP
 *     Item 3's enforcement latency against a running controller (run it in
 *     the controller's network namespace): K times, PUT /api/peers/NAME
 *     revoking or granting "calendar", and from the moment the API answered,
 *     a new flow NAME -> calendar through a second instance of wg_ingress
 *     loaded on the controller's pinned maps, until its verdict follows the
 *     change. Rows: ctl cellgate N k enforce_us|api_change_ms VALUE.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <net/if.h>

#include "config.h"
#include "dataplane.h"
#include "log.h"
#include "policy.h"
#include "state.h"
#include "util.h"

#include "pktgen.h"

#define EXIT_SKIP 77
#define XDP_DROP_RET 1 /* enum xdp_action (uapi/linux/bpf.h) */
#define XDP_PASS_RET 2
#define TC_OK 0 /* TC_ACT_OK, TC_ACT_SHOT (uapi/linux/pkt_cls.h) */
#define TC_SHOT 2

/* Defaults: the issue asks for repeat >= 1M and >= 5 runs. */
#define DEF_REPEAT 1000000
#define DEF_RUNS 5
/* Packets timed one by one per single-path figure: enough for a stable
 * median (the spread of the runs shows it), quick (about 2 us a call). */
#define DEF_SINGLE 10000
/* New flows between two flushes of the conntrack and NAT tables: well
 * below their 65536 entries (a masqueraded flow takes two NAT entries),
 * so that no insert ever evicts (an LRU map evicts before it is
 * completely full, when a CPU's free list runs dry). */
#define SINGLE_BATCH 8192
#define MAX_N (1u << 20) /* limits.max_peers allows no more */
#define FIRST_SPORT 20000 /* source ports of the new flows: 20000.. */

/* The cell: a /15 holds 131070 peers, enough for N = 100k. */
#define ROUTER "10.0.0.1"
#define CALENDAR "172.20.0.21" /* service "calendar" (id 0): the peers' */
#define FILES "172.20.0.22" /* service "files" (id 1): nobody's */
#define WEB "172.20.0.30" /* a bridge host; forward 8080 leads to it */
#define UPLINK "203.0.113.1"
#define REMOTE "198.51.100.7" /* a server on the internet */
#define CLIENT "198.51.100.9" /* a client of the forwards */
#define BLOCKED "192.0.2.5" /* outside forward 8081's allow_from */
#define FWD_OPEN 8080 /* -> web:80, anyone */
#define FWD_LIMITED 8081 /* -> web:80, from 198.51.100.0/24 only */

enum hook { WG_INGRESS, WG_EGRESS, UPLINK_XDP, UPLINK_EGRESS, N_HOOKS };
static const char *const hook_names[N_HOOKS] = { "wg_ingress", "wg_egress",
						 "uplink_xdp",
						 "uplink_egress" };

enum method { REPEAT, SINGLE };

struct bench {
	struct cg_config cfg;
	struct cg_state st;
	struct dataplane dp;
	bool dp_open;
	struct bpf_object *bl;
	int empty_tc, empty_xdp, lookup_tc, lookup_xdp; /* baseline fds */
	uint32_t n;
	char peer[INET_ADDRSTRLEN]; /* the sender: the last of the N peers */
	char peer6[INET6_ADDRSTRLEN]; /* the same peer's address6 */
	uint32_t repeat, single;
	const char *only; /* --only: time only paths whose metric has this */
};

/* One timed path. */
struct path {
	enum hook hook;
	const char *name; /* new, est, denied */
	enum method method;
	/* Put the maps in the state the path needs (untimed). */
	int (*setup)(struct bench *b, struct pkt_desc *d);
	/* The packet; for new flows, the source port varies per call. */
	struct pkt_desc pkt;
	bool new_flow;
	int expect; /* the verdict every run must give */
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "prog_bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

#include "private_bpffs.h"
#include "bench_rules.h"

static void fill_v6(struct bench *b); /* prog_bench6.h */

/* ---- the cell ----------------------------------------------------------- */

static void peer_addr(uint32_t i, struct in_addr *a)
{
	/* 10.0.0.2 onwards: .1 is the router. */
	a->s_addr = htonl((10u << 24) + 2 + i);
}

static void put_service(struct bench *b, const char *name, const char *json)
{
	json_object *body = json_tokener_parse(json);
	struct cg_error err = { 0 };

	if (!body || state_put_service(&b->st, name, body, &err))
		die("service %s: %s", name, err.msg);
	json_object_put(body);
}

static int cmp_peer(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct cg_addr_key));
}

/* N peers with calendar and internet access, written by dp_sync from a
 * compiled policy. Peers are made as policy entries rather than through
 * the state (state_add_peer checks every other peer: quadratic at 100k),
 * with the controller's own policy_peer_entry. */
static void fill_peers(struct bench *b)
{
	struct policy pol;
	struct cg_peer_def *defs = calloc(b->n, sizeof(*defs)), *def;
	struct policy_rules_ctx ctx;
	uint32_t i;
	int ret;

	if (!defs || policy_compile(&b->st, &b->cfg, &pol) ||
	    policy_rules_ctx_init(&b->st, &ctx))
		die("policy_compile failed");
	free(pol.peers);
	pol.peers = calloc(b->n, sizeof(*pol.peers));
	if (!pol.peers)
		die("out of memory");
	for (i = 0; i < b->n; i++) {
		def = &defs[i];
		snprintf(def->name, sizeof(def->name), "p%u", i);
		def->id = i + 1;
		def->public_key[0] = 1; /* unused by the maps, not all-zero */
		peer_addr(i, &def->ip);
		def->access[0] =
			1 | 4; /* service ids 0 and 2: calendar, bench */
		def->internet_access = true;
		bench_peer_groups(i, b->n, def);
		policy_peer_entry_ctx(&ctx, def, &pol.peers[i]);
	}
	policy_rules_ctx_free(&ctx);
	pol.n_peers = b->n;
	qsort(pol.peers, pol.n_peers, sizeof(*pol.peers), cmp_peer);
	bench_rule_pairs(b, defs, &pol);
	ret = dp_sync(&b->dp, &pol);
	policy_free(&pol);
	free(defs);
	if (ret)
		die("dp_sync: %s", strerror(-ret));
}

/* Forward 8080 to web:80 for anyone, 8081 only from 198.51.100.0/24. */
static void fill_forwards(struct bench *b)
{
	struct policy_forward fwd[2];
	struct policy_fwd_allow allow = { 0 };
	struct policy pol;
	int ret;

	memset(&pol, 0, sizeof(pol));
	memset(fwd, 0, sizeof(fwd));
	fwd[0].key.port = FWD_OPEN;
	fwd[0].key.proto = IPPROTO_TCP;
	inet_pton(AF_INET, WEB, fwd[0].value.target_addr);
	fwd[0].value.target_port = 80;
	fwd[0].value.fwd_id = 1;
	fwd[1] = fwd[0];
	fwd[1].key.port = FWD_LIMITED;
	fwd[1].value.has_allow_from = 1;
	fwd[1].value.fwd_id = 2;
	allow.key.prefixlen = 32 + 24;
	allow.key.fwd_id = htonl(2);
	inet_pton(AF_INET, "198.51.100.0", allow.key.addr);
	allow.value = 1;
	pol.forwards = fwd;
	pol.n_forwards = 2;
	pol.fwd_allow = &allow;
	pol.n_fwd_allow = 1;
	ret = dp_sync_forwards(&b->dp, &pol);
	if (ret)
		die("dp_sync_forwards: %s", strerror(-ret));
}

static void fill_settings(struct bench *b)
{
	struct cg_settings set = { .nat_port_min = 10000,
				   .nat_port_max = 65535,
				   .masquerade = 1 };

	inet_pton(AF_INET, ROUTER, set.wg_addr);
	inet_pton(AF_INET, UPLINK, set.uplink_addr);
	if (dp_write_settings(&b->dp, &set))
		die("dp_write_settings failed");
}

static void cell_open(struct bench *b)
{
	char cfg_json[512];
	struct dp_options opts = {
		.bpffs = bpffs_dir,
		.l2_len = PKT_ETH_LEN, /* BPF_PROG_TEST_RUN gives Ethernet */
		.max_peers = b->n + 16, /* 16: the config's minimum */
		.conntrack_tcp = 65536, /* the controller's defaults */
		.conntrack_other = 32768,
		.nat_entries = 65536,
		/* PROG_BENCH_PER_PEER_MAX: the flow budget's check on the
		 * new-flow path (off by default, as in earlier runs; set it
		 * above the flows a batch opens to time the check alone). */
		.per_peer_max = (uint32_t)strtoul(
			getenv("PROG_BENCH_PER_PEER_MAX") ?: "0", NULL, 10),
	};
	struct cg_error err = { 0 };
	int ret;

	snprintf(cfg_json, sizeof(cfg_json),
		 "{\"cell_name\":\"bench\",\"domain\":\"bench.cell\","
		 "\"wireguard\":{\"address\":\"10.0.0.1/15\"},"
		 "\"bridge\":{\"interface\":\"br-cell\","
		 "\"subnet\":\"172.20.0.0/16\"},"
		 "\"limits\":{\"max_peers\":%u}}",
		 b->n + 16);
	if (config_parse(cfg_json, strlen(cfg_json), &b->cfg, &err))
		die("config: %s (%s)", err.msg, err.field);
	state_init(&b->st, &b->cfg);
	/* Calendar is also exposed on the router's wg address (DNAT). */
	put_service(b, "calendar",
		    "{\"endpoints\":[{\"ip\":\"" CALENDAR
		    "\",\"proto\":\"tcp\","
		    "\"port\":80}],\"dnat\":[{\"proto\":\"tcp\",\"port\":"
		    "3000,\"to_ip\":\"" CALENDAR "\",\"to_port\":80}]}");
	put_service(b, "files",
		    "{\"endpoints\":[{\"ip\":\"" FILES "\",\"proto\":\"tcp\","
		    "\"port\":0}]}");
	/* Every port and protocol of the calendar host, for the traffic of
	 * --attach (iperf3, conn_storm); port 80 stays calendar's, the most
	 * specific entry, which the timed new flows use. */
	put_service(b, "bench",
		    "{\"endpoints\":[{\"ip\":\"" CALENDAR
		    "\",\"proto\":\"any\","
		    "\"port\":0}]}");
	bench_rules_state(b);
	ret = dp_open(&b->dp, &opts);
	if (ret)
		die("dp_open: %s", strerror(-ret));
	b->dp_open = true;
	fill_peers(b);
	fill_forwards(b);
	fill_settings(b);
	fill_v6(b);
}

/* ---- the reference programs ----------------------------------------------- */

static int prog_fd_by_name(struct bpf_object *obj, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);

	if (!p)
		die("%s: no program %s", bpf_object__name(obj), name);
	return bpf_program__fd(p);
}

static void baseline_open(struct bench *b, const char *path)
{
	struct cg_identity value = { 0 };
	struct cg_addr_key key;
	struct bpf_map *map;
	struct in_addr a;
	uint32_t i;
	int fd;

	b->bl = bpf_object__open_file(path, NULL);
	if (!b->bl)
		die("open %s: %s", path, strerror(errno));
	map = bpf_object__find_map_by_name(b->bl, "bl_peers");
	if (!map || bpf_map__set_max_entries(map, b->n + 16))
		die("%s: cannot size bl_peers", path);
	if (bpf_object__load(b->bl))
		die("load %s: %s", path, strerror(errno));
	fd = bpf_map__fd(map);
	for (i = 0; i < b->n; i++) {
		peer_addr(i, &a);
		memcpy(key.addr, &a, 4);
		value.id = i + 1;
		if (bpf_map_update_elem(fd, &key, &value, BPF_ANY))
			die("bl_peers: %s", strerror(errno));
	}
	b->empty_tc = prog_fd_by_name(b->bl, "bl_empty_tc");
	b->empty_xdp = prog_fd_by_name(b->bl, "bl_empty_xdp");
	b->lookup_tc = prog_fd_by_name(b->bl, "bl_lookup_tc");
	b->lookup_xdp = prog_fd_by_name(b->bl, "bl_lookup_xdp");
}

/* ---- running ------------------------------------------------------------ */

static bool hook_is_xdp(enum hook h)
{
	return h == UPLINK_XDP;
}

static int hook_fd(const struct bench *b, enum hook h)
{
	switch (h) {
	case WG_INGRESS:
		return dp_prog_fd_wg_ingress(&b->dp);
	case WG_EGRESS:
		return dp_prog_fd_wg_egress(&b->dp);
	case UPLINK_XDP:
		return dp_prog_fd_uplink_xdp(&b->dp);
	default:
		return dp_prog_fd_uplink_egress(&b->dp);
	}
}

/* One call; the kernel's time per run (ns) in *ns, the verdict returned.
 * out (PKT_MAX bytes, or NULL) gets the frame as the program left it. */
static int run(int fd, bool xdp, const uint8_t *frame, size_t len,
	       uint32_t repeat, uint32_t *ns, uint8_t *out)
{
	struct __sk_buff ctx = { .ifindex = 1 };
	uint8_t sink[PKT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame,
		    .data_size_in = (uint32_t)len, .data_out = out ? out : sink,
		    .data_size_out = PKT_MAX, .ctx_in = xdp ? NULL : &ctx,
		    .ctx_size_in = xdp ? 0 : sizeof(ctx), .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &o))
		die("BPF_PROG_TEST_RUN: %s", strerror(errno));
	if (ns)
		*ns = o.duration;
	return (int)o.retval;
}

static size_t build(const struct pkt_desc *d, uint8_t *frame)
{
	size_t len = pkt_build(d, frame, PKT_MAX);

	if (!len)
		die("cannot build a packet");
	return len;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double median_u32(uint32_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u32);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static void map_flush(int fd)
{
	uint8_t key[64];

	while (bpf_map_get_next_key(fd, NULL, key) == 0)
		if (bpf_map_delete_elem(fd, key))
			break;
}

static void flows6_flush(void);

static void flows_flush(struct bench *b)
{
	map_flush(b->dp.map_fd[DP_MAP_CT_TCP]);
	map_flush(b->dp.map_fd[DP_MAP_CT_OTHER]);
	map_flush(b->dp.map_fd[DP_MAP_NAT]);
	flows6_flush();
}

/* Repeat-timed: the kernel's average over b->repeat runs. */
static double time_repeat(struct bench *b, int fd, bool xdp,
			  const struct pkt_desc *d, int expect,
			  const char *what)
{
	uint8_t frame[PKT_MAX];
	size_t len = build(d, frame);
	uint32_t ns;
	int v = run(fd, xdp, frame, len, b->repeat, &ns, NULL);

	if (expect >= 0 && v != expect)
		die("%s: verdict %d, expected %d", what, v, expect);
	return ns;
}

/* Single-timed: the median of b->single calls of one run each; new flows
 * get source ports FIRST_SPORT.. and flushed tables every SINGLE_BATCH. */
static double time_single(struct bench *b, int fd, bool xdp,
			  const struct pkt_desc *d, bool new_flow, int expect,
			  const char *what)
{
	uint32_t *ns = calloc(b->single, sizeof(*ns));
	uint8_t frame[PKT_MAX];
	struct pkt_desc p = *d;
	size_t len = build(d, frame);
	uint32_t i;
	double m;
	int v;

	if (!ns)
		die("out of memory");
	for (i = 0; i < b->single; i++) {
		if (new_flow) {
			if (i % SINGLE_BATCH == 0)
				flows_flush(b);
			p.sport = (uint16_t)(FIRST_SPORT + i % SINGLE_BATCH);
			len = build(&p, frame);
		}
		v = run(fd, xdp, frame, len, 1, &ns[i], NULL);
		if (expect >= 0 && v != expect)
			die("%s: call %u: verdict %d, expected %d", what, i, v,
			    expect);
	}
	m = median_u32(ns, b->single);
	free(ns);
	return m;
}

/* ---- the paths ------------------------------------------------------------ */

#define TCP(s, sp, d, dp, fl, ...)                                 \
	{                                                          \
		.src = s, .sport = sp, .dst = d, .dport = dp,      \
		.proto = IPPROTO_TCP, .tcp_flags = fl, __VA_ARGS__ \
	}
#define PEER NULL /* replaced by the tested peer's address */

static int setup_flush(struct bench *b, struct pkt_desc *d)
{
	(void)d;
	flows_flush(b);
	return 0;
}

/* peer:40000 -> calendar:80, SYN in, SYN-ACK out: established. */
static int setup_calendar_flow(struct bench *b, struct pkt_desc *d)
{
	struct pkt_desc syn = TCP(b->peer, 40000, CALENDAR, 80, TH_SYN);
	struct pkt_desc synack =
		TCP(CALENDAR, 80, b->peer, 40000, TH_SYN | TH_ACK);
	uint8_t frame[PKT_MAX];
	size_t len;

	(void)d;
	flows_flush(b);
	len = build(&syn, frame);
	if (run(hook_fd(b, WG_INGRESS), false, frame, len, 1, NULL, NULL) !=
	    TC_OK)
		die("calendar SYN dropped");
	len = build(&synack, frame);
	if (run(hook_fd(b, WG_EGRESS), false, frame, len, 1, NULL, NULL) !=
	    TC_OK)
		die("calendar SYN-ACK dropped");
	return 0;
}

/* peer:40010 -> router:3000, translated to calendar:80 on wg0 ingress;
 * its SYN-ACK back through egress: established both ways. */
static int setup_dnat_flow(struct bench *b, struct pkt_desc *d)
{
	struct pkt_desc syn = TCP(b->peer, 40010, ROUTER, 3000, TH_SYN);
	struct pkt_desc synack =
		TCP(CALENDAR, 80, b->peer, 40010, TH_SYN | TH_ACK);
	uint8_t frame[PKT_MAX];
	size_t len;

	(void)d;
	flows_flush(b);
	len = build(&syn, frame);
	if (run(hook_fd(b, WG_INGRESS), false, frame, len, 1, NULL, NULL) !=
	    TC_OK)
		die("DNAT SYN dropped");
	len = build(&synack, frame);
	if (run(hook_fd(b, WG_EGRESS), false, frame, len, 1, NULL, NULL) !=
	    TC_OK)
		die("DNAT SYN-ACK dropped");
	return 0;
}

/* A masqueraded flow peer:40005 -> remote:80; d becomes its reply as it
 * arrives on the uplink (to the port masquerade chose). */
static int setup_masq_reply(struct bench *b, struct pkt_desc *d)
{
	struct pkt_desc syn = TCP(b->peer, 40005, REMOTE, 80, TH_SYN);
	uint8_t frame[PKT_MAX], out[PKT_MAX];
	size_t len;

	flows_flush(b);
	len = build(&syn, frame);
	if (run(hook_fd(b, UPLINK_EGRESS), false, frame, len, 1, NULL, out) !=
	    TC_OK)
		die("masqueraded SYN dropped");
	/* The translated source port, in the TCP header after 14 + 20. */
	d->dport =
		(uint16_t)(out[PKT_ETH_LEN + 20] << 8 | out[PKT_ETH_LEN + 21]);
	return 0;
}

/* The same flow, its first packet through masquerade: later ones are
 * established. */
static int setup_masq_flow(struct bench *b, struct pkt_desc *d)
{
	struct pkt_desc dummy;

	(void)d;
	return setup_masq_reply(b, &dummy);
}

#include "prog_bench6.h"

static const struct path paths[] = {
	{ WG_INGRESS, "new", SINGLE, setup_flush,
	  TCP(PEER, 0, CALENDAR, 80, TH_SYN), true, TC_OK },
	{ WG_INGRESS, "est", REPEAT, setup_calendar_flow,
	  TCP(PEER, 40000, CALENDAR, 80, TH_ACK | TH_PSH, .payload_len = 100),
	  false, TC_OK },
	{ WG_INGRESS, "denied", REPEAT, setup_flush,
	  TCP(PEER, 40001, FILES, 445, TH_SYN), false, TC_SHOT },
	/* Peer to peer (bench_rules.h): allowed by both flags, as before
	 * rules; allowed by a rule, one cg_rules lookup more. */
	{ WG_INGRESS, "p2p_new", SINGLE, setup_flush,
	  TCP(PEER, 0, P2P_FLAG_DST, RULE_PORT, TH_SYN), true, TC_OK },
	{ WG_INGRESS, "rule_new", SINGLE, setup_flush,
	  TCP(PEER, 0, P2P_RULE_DST, RULE_PORT, TH_SYN), true, TC_OK },
	/* DNAT paths rewrite the packet: timed singly (see the top). */
	{ WG_INGRESS, "dnat_est", SINGLE, setup_dnat_flow,
	  TCP(PEER, 40010, ROUTER, 3000, TH_ACK | TH_PSH, .payload_len = 100),
	  false, TC_OK },
	{ WG_EGRESS, "dnat_est", SINGLE, setup_dnat_flow,
	  TCP(CALENDAR, 80, PEER, 40010, TH_ACK | TH_PSH, .payload_len = 400),
	  false, TC_OK },
	{ WG_EGRESS, "new", SINGLE, setup_flush, TCP(WEB, 0, PEER, 22, TH_SYN),
	  true, TC_OK },
	{ WG_EGRESS, "est", REPEAT, setup_calendar_flow,
	  TCP(CALENDAR, 80, PEER, 40000, TH_ACK | TH_PSH, .payload_len = 400),
	  false, TC_OK },
	{ WG_EGRESS, "denied", REPEAT, setup_flush,
	  TCP(REMOTE, 40002, PEER, 22, TH_SYN), false, TC_SHOT },
	{ UPLINK_XDP, "new", SINGLE, setup_flush,
	  TCP(CLIENT, 0, UPLINK, FWD_OPEN, TH_SYN), true, XDP_PASS_RET },
	{ UPLINK_XDP, "est", SINGLE, setup_masq_reply,
	  TCP(REMOTE, 80, UPLINK, 0, TH_ACK | TH_PSH, .payload_len = 400),
	  false, XDP_PASS_RET },
	{ UPLINK_XDP, "denied", REPEAT, setup_flush,
	  TCP(BLOCKED, 40004, UPLINK, FWD_LIMITED, TH_SYN), false,
	  XDP_DROP_RET },
	{ UPLINK_EGRESS, "new", SINGLE, setup_flush,
	  TCP(PEER, 0, REMOTE, 80, TH_SYN), true, TC_OK },
	{ UPLINK_EGRESS, "est", SINGLE, setup_masq_flow,
	  TCP(PEER, 40005, REMOTE, 80, TH_ACK | TH_PSH, .payload_len = 100),
	  false, TC_OK },
	BENCH6_PATHS,
};

/* ---- one run -------------------------------------------------------------- */

static void row(const struct bench *b, const char *comp, int run_no,
		const char *metric, double v)
{
	printf("prog\t%s\t%u\t%d\t%s\t%.3f\n", comp, b->n, run_no, metric, v);
}

struct refs {
	double empty, lookup; /* repeat-timed, ns */
	double empty1, lookup1; /* single-timed medians, ns */
};

static void run_refs(struct bench *b, bool xdp, struct refs *r)
{
	struct pkt_desc d = TCP(b->peer, 40000, CALENDAR, 80, TH_ACK);
	int ok = xdp ? XDP_PASS_RET : TC_OK;
	int e = xdp ? b->empty_xdp : b->empty_tc;
	int l = xdp ? b->lookup_xdp : b->lookup_tc;

	r->empty = time_repeat(b, e, xdp, &d, ok, "empty");
	r->lookup = time_repeat(b, l, xdp, &d, ok, "lookup");
	r->empty1 = time_single(b, e, xdp, &d, false, ok, "empty");
	r->lookup1 = time_single(b, l, xdp, &d, false, ok, "lookup");
}

static void one_run(struct bench *b, int run_no)
{
	struct refs refs[2]; /* [0] tc, [1] xdp */
	char metric[96];
	size_t i;

	run_refs(b, false, &refs[0]);
	run_refs(b, true, &refs[1]);
	for (i = 0; i < 2; i++) {
		const char *h = i ? "xdp" : "tc";

		snprintf(metric, sizeof(metric), "empty_%s", h);
		row(b, "baseline", run_no, metric, refs[i].empty);
		snprintf(metric, sizeof(metric), "lookup_%s", h);
		row(b, "baseline", run_no, metric, refs[i].lookup);
		snprintf(metric, sizeof(metric), "lookup_%s.vs_empty", h);
		row(b, "baseline", run_no, metric,
		    refs[i].lookup / refs[i].empty);
		/* What one run with repeat = 1 costs beyond the program: the
		 * kernel's timer, subtracted from single-timed paths. */
		snprintf(metric, sizeof(metric), "timer_overhead_%s", h);
		row(b, "baseline", run_no, metric,
		    refs[i].empty1 - refs[i].empty);
		snprintf(metric, sizeof(metric), "lookup_%s.single", h);
		row(b, "baseline", run_no, metric,
		    refs[i].lookup1 - (refs[i].empty1 - refs[i].empty));
	}

	for (i = 0; i < ARRAY_SIZE(paths); i++) {
		const struct path *p = &paths[i];
		const struct refs *r = &refs[hook_is_xdp(p->hook)];
		bool xdp = hook_is_xdp(p->hook);
		struct pkt_desc d = p->pkt;
		double ns;

		if (!d.src)
			d.src = d.l3 == PKT_IPV6 ? b->peer6 : b->peer;
		if (!d.dst)
			d.dst = d.l3 == PKT_IPV6 ? b->peer6 : b->peer;
		snprintf(metric, sizeof(metric), "%s.%s", hook_names[p->hook],
			 p->name);
		if (b->only && !strstr(metric, b->only))
			continue;
		p->setup(b, &d);
		if (p->method == REPEAT)
			ns = time_repeat(b, hook_fd(b, p->hook), xdp, &d,
					 p->expect, metric);
		else
			ns = time_single(b, hook_fd(b, p->hook), xdp, &d,
					 p->new_flow, p->expect, metric) -
			     (r->empty1 - r->empty);
		row(b, "cellgate", run_no, metric, ns);
		if (p->method == REPEAT) {
			/* The same packet timed the other way: how far the
			 * two methods agree (cache state between calls). */
			snprintf(metric, sizeof(metric), "%s.%s.single",
				 hook_names[p->hook], p->name);
			row(b, "cellgate", run_no, metric,
			    time_single(b, hook_fd(b, p->hook), xdp, &d, false,
					p->expect, metric) -
				    (r->empty1 - r->empty));
		}
		snprintf(metric, sizeof(metric), "%s.%s.vs_empty",
			 hook_names[p->hook], p->name);
		row(b, "cellgate", run_no, metric, ns / r->empty);
		/* Against the lookup timed the same way: single-timed runs
		 * pay for the cache state a syscall leaves, whatever runs. */
		snprintf(metric, sizeof(metric), "%s.%s.vs_lookup",
			 hook_names[p->hook], p->name);
		row(b, "cellgate", run_no, metric,
		    ns / (p->method == REPEAT ?
				  r->lookup :
				  r->lookup1 - (r->empty1 - r->empty)));
		fflush(stdout);
	}
	flows_flush(b);
}

/* ---- --attach: cellgate's wg0 filter on an Ethernet device ---------------- */

static void attach_one(int ifindex, enum bpf_tc_attach_point where, int fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, o, .prog_fd = fd, .handle = 1, .priority = 1);
	int ret = bpf_tc_attach(&hook, &o);

	if (ret)
		die("tc attach: %s", strerror(-ret));
}

static void attach(struct bench *b, const char *ifname)
{
	int ifindex = (int)if_nametoindex(ifname);
	/* One clsact qdisc holds both hooks. */
	LIBBPF_OPTS(bpf_tc_hook, qdisc, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int ret;

	if (!ifindex)
		die("no interface %s", ifname);
	ret = bpf_tc_hook_create(&qdisc);
	if (ret && ret != -EEXIST)
		die("clsact on %s: %s", ifname, strerror(-ret));
	attach_one(ifindex, BPF_TC_INGRESS, hook_fd(b, WG_INGRESS));
	attach_one(ifindex, BPF_TC_EGRESS, hook_fd(b, WG_EGRESS));
}

/* ---- --probe: from the API's answer to the dataplane enforcing ------------- */

#define PROBE_TIMEOUT_NS 1000000000ull /* give up on one change after 1 s */
#define PROBE_SPORT 30000 /* probe flows use source ports 30000.. */
#define PROBE_SPORTS 30000 /* ..59999, cycled */

static size_t curl_sink(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static void read_token(const char *path, char *token, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f || !fgets(token, (int)len, f))
		die("cannot read %s", path);
	fclose(f);
	token[strcspn(token, "\n")] = '\0';
}

static void probe(const char *config, uint32_t n, uint32_t changes,
		  const char *peer, const char *peer_ip)
{
	struct cg_config cfg;
	struct cg_error err = { 0 };
	struct dp_options o;
	struct dataplane dp;
	struct curl_slist *hdr = NULL;
	char url[256], auth[160], token[128];
	uint8_t frame[PKT_MAX];
	uint32_t k, sport = 0;
	CURL *curl;
	int ret;

	if (config_load(config, &cfg, &err))
		die("%s: %s (%s)", config, err.msg, err.field);
	read_token(cfg.api.token_file, token, sizeof(token));
	/* The controller's map sizes exactly, or dp_open would recreate its
	 * maps instead of adopting them; only the L2 length differs. */
	dp_options_from_config(&o, &cfg);
	o.l2_len = PKT_ETH_LEN;
	ret = dp_open(&dp, &o);
	if (ret)
		die("dp_open on %s: %s", cfg.bpffs, strerror(-ret));

	snprintf(url, sizeof(url), "http://%s/api/peers/%s", cfg.api.listen,
		 peer);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	hdr = curl_slist_append(hdr, auth);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	curl = curl_easy_init();
	if (!curl)
		die("curl_easy_init failed");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, curl_sink);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);

	for (k = 0; k < changes; k++) {
		bool revoke = k % 2 == 0;
		int want = revoke ? TC_SHOT : TC_OK;
		struct pkt_desc d = TCP(peer_ip, 0, CALENDAR, 80, TH_SYN);
		uint64_t t_req, t0, t1;
		long code = 0;
		size_t len;
		int v;

		curl_easy_setopt(curl, CURLOPT_POSTFIELDS,
				 revoke ?
					 "{\"service_access\":[]}" :
					 "{\"service_access\":[\"calendar\"]}");
		t_req = monotonic_ns();
		if (curl_easy_perform(curl) != CURLE_OK)
			die("PUT %s failed", url);
		t0 = monotonic_ns();
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
		if (code != 200)
			die("PUT %s: HTTP %ld", url, code);
		do {
			d.sport = (uint16_t)(PROBE_SPORT +
					     sport++ % PROBE_SPORTS);
			len = build(&d, frame);
			v = run(dp_prog_fd_wg_ingress(&dp), false, frame, len,
				1, NULL, NULL);
			t1 = monotonic_ns();
		} while (v != want && t1 - t0 < PROBE_TIMEOUT_NS);
		if (v != want)
			die("change %u not enforced within 1 s", k);
		printf("ctl\tcellgate\t%u\t%u\tenforce_us\t%.3f\n", n, k + 1,
		       (double)(t1 - t0) / 1e3);
		printf("ctl\tcellgate\t%u\t%u\tapi_change_ms\t%.3f\n", n, k + 1,
		       (double)(t0 - t_req) / 1e6);
	}
	curl_easy_cleanup(curl);
	curl_slist_free_all(hdr);
	dp_close(&dp);
}

static void usage(void)
{
	fprintf(stderr, "usage: prog_bench --n N [--runs R] [--repeat REP] "
			"[--single S] [--baseline FILE] [--only PROGRAM.PATH]\n"
			"       prog_bench --n N --attach IFNAME\n"
			"       prog_bench --n N --probe CONFIG --changes K "
			"--peer NAME --peer-ip IP\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "n", required_argument, NULL, 'n' },
		{ "runs", required_argument, NULL, 'r' },
		{ "repeat", required_argument, NULL, 'R' },
		{ "single", required_argument, NULL, 's' },
		{ "baseline", required_argument, NULL, 'b' },
		{ "attach", required_argument, NULL, 'a' },
		{ "probe", required_argument, NULL, 'p' },
		{ "changes", required_argument, NULL, 'k' },
		{ "peer", required_argument, NULL, 'P' },
		{ "peer-ip", required_argument, NULL, 'I' },
		{ "only", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	char why[160];
	const char *attach_if = NULL, *probe_cfg = NULL, *peer = NULL,
		   *peer_ip = NULL;
	long changes = 100;
	static struct bench b;
	const char *baseline = "build/bench/baseline.bpf.o";
	long runs = DEF_RUNS, n = 0;
	struct in_addr a;
	int c, i;

	b.repeat = DEF_REPEAT;
	b.single = DEF_SINGLE;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			n = strtol(optarg, NULL, 10);
			break;
		case 'r':
			runs = strtol(optarg, NULL, 10);
			break;
		case 'R':
			b.repeat = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 's':
			b.single = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'b':
			baseline = optarg;
			break;
		case 'a':
			attach_if = optarg;
			break;
		case 'p':
			probe_cfg = optarg;
			break;
		case 'k':
			changes = strtol(optarg, NULL, 10);
			break;
		case 'P':
			peer = optarg;
			break;
		case 'I':
			peer_ip = optarg;
			break;
		case 'o':
			b.only = optarg;
			break;
		default:
			usage();
		}
	}
	if (n < 1 || (uint32_t)n > MAX_N - 16 || runs < 1 || !b.repeat ||
	    !b.single)
		usage();
	b.n = (uint32_t)n;
	if (geteuid() != 0) {
		fprintf(stderr,
			"SKIP: BPF_PROG_TEST_RUN and bpffs need root\n");
		return EXIT_SKIP;
	}
	if (bpffs_mount("cellgate-bench", why, sizeof(why)))
		die("%s", why);
	log_set_level(LOG_LVL_WARN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (probe_cfg) {
		if (!peer || !peer_ip || changes < 1)
			usage();
		probe(probe_cfg, b.n, (uint32_t)changes, peer, peer_ip);
		return 0;
	}
	peer_addr(b.n - 1, &a);
	inet_ntop(AF_INET, &a, b.peer, sizeof(b.peer));
	cell_open(&b);
	if (attach_if) {
		attach(&b, attach_if);
		dp_close(&b.dp);
		state_free(&b.st);
		return 0;
	}
	baseline_open(&b, baseline);
	for (i = 1; i <= runs; i++)
		one_run(&b, i);
	bpf_object__close(b.bl);
	if (b.dp_open)
		dp_close(&b.dp);
	state_free(&b.st);
	return 0;
}
