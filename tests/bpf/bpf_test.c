// SPDX-License-Identifier: MIT
/*
 * BPF program tests (DESIGN.md, test level 2). The wg0 programs are loaded
 * by the controller's own loader (dp_open) into a private bpffs and their
 * maps are filled through the real policy path (state -> policy_compile ->
 * dp_sync), so what runs here is what runs on wg0. Packets from
 * fixtures.h go through BPF_PROG_TEST_RUN; every case checks the verdict,
 * the drop reason, whose counters moved (and that nobody else's did) and
 * the conntrack entry left behind. The single-packet cases are here;
 * flow_cases.h has the flows of several packets, nat_cases.h runs the
 * uplink programs too and checks every NAT rewrite byte for byte,
 * observe_cases.h the events and counters `cellgate monitor` reads.
 *
 * Output: "ok N - name" or "not ok N - name: what: expected X got Y",
 * then a summary. Exit 0, 1 on any failure, 77 when it cannot run here.
 */
#define _GNU_SOURCE /* unshare, for bridge_cases.h */
#include <errno.h>
#include <sched.h>
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
#include <json-c/json.h>

#include "attach.h"
#include "config.h"
#include "controller.h"
#include "ct_canon.h"
#include "dataplane.h"
#include "dp_exits.h"
#include "key.h"
#include "log.h"
#include "policy.h"
#include "state.h"
#include "util.h"

#include "fixtures.h"
#include "pktgen.h"

#define EXIT_SKIP 77
#define NSEC 1000000000ull
/* A conntrack entry's expiry is rewritten only when it moves by more than
 * CG_CT_REFRESH_NS (1 s, bpf/lib/config.h): allow that much staleness. */
#define CT_REFRESH_SLACK_NS NSEC
/* The programs' clock is CLOCK_MONOTONIC as of the last tick (cg_now,
 * bpf/lib/config.h): a few ms behind the tests' clock_gettime; 100 ms
 * still tells every lifetime (10 s and more) from the next. */
#define COARSE_CLOCK_SLACK_NS (NSEC / 10)

struct suite {
	struct cg_config cfg;
	struct cg_state st;
	struct dataplane dp;
	bool loaded;
	int n, failed;
	uint64_t t0, t1; /* CLOCK_MONOTONIC around the last program run */
};

/* The first failed expectation of a case, and the flow step it was in. */
struct check {
	const char *step;
	bool failed;
	char msg[512];
};

static const char *const ident_names[N_IDENTS] = { "unknown", "alice", "bob",
						   "carol" };

#include "private_bpffs.h"

/* ---- expectations -------------------------------------------------------- */

static bool failf(struct check *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Record the first failure only: later ones are usually its echo. */
static bool failf(struct check *c, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (c->failed)
		return false;
	c->failed = true;
	if (c->step)
		n = snprintf(c->msg, sizeof(c->msg), "[%s] ", c->step);
	va_start(ap, fmt);
	vsnprintf(c->msg + n, sizeof(c->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return false;
}

static bool expect_eq(struct check *c, const char *what, uint64_t want,
		      uint64_t got)
{
	if (want == got)
		return true;
	return failf(c, "%s: expected %llu got %llu", what,
		     (unsigned long long)want, (unsigned long long)got);
}

static bool expect_range(struct check *c, const char *what, uint64_t lo,
			 uint64_t hi, uint64_t got)
{
	if (got >= lo && got <= hi)
		return true;
	return failf(c, "%s: expected %llu..%llu got %llu", what,
		     (unsigned long long)lo, (unsigned long long)hi,
		     (unsigned long long)got);
}

static const char *verdict_name(int v)
{
	return v == TC_ACT_OK ? "pass" : v == TC_ACT_SHOT ? "drop" : "other";
}

static bool expect_verdict(struct check *c, int want, int got)
{
	if (want == got)
		return true;
	return failf(c, "verdict: expected %s got %s (%d)", verdict_name(want),
		     verdict_name(got), got);
}

static void report(struct suite *s, const char *name, const struct check *c)
{
	s->n++;
	if (!c->failed) {
		printf("ok %d - %s\n", s->n, name);
		return;
	}
	s->failed++;
	printf("not ok %d - %s: %s\n", s->n, name, c->msg);
}

/* ---- identities ---------------------------------------------------------- */

/* Counter slot of a fixture identity: peers get ids in cell_peers order
 * (cell_build checks that), so a removed peer keeps its number here. */
static uint32_t ident_id(const char *name)
{
	uint32_t i;

	for (i = 1; name && i < N_IDENTS; i++)
		if (!strcmp(ident_names[i], name))
			return i;
	return CG_IDENT_UNKNOWN;
}

static uint32_t epoch_of(struct suite *s, uint32_t ident)
{
	uint32_t epoch = 0;

	bpf_map_lookup_elem(s->dp.map_fd[DP_MAP_EPOCHS], &ident, &epoch);
	return epoch;
}

/* ---- maps ---------------------------------------------------------------- */

static void map_flush(int fd)
{
	uint8_t key[64];

	while (bpf_map_get_next_key(fd, NULL, key) == 0)
		if (bpf_map_delete_elem(fd, key))
			break;
}

/* Flows each identity may hold in the tests (lib/budget.h). */
#define BUDGET_MAX 8

/* Cases are independent: no flow or fragment survives from the last,
 * nor the flow budget it used. */
static void ct_flush(struct suite *s)
{
	const struct cg_flow_budget zero = { 0 };
	uint32_t id;

	map_flush(s->dp.map_fd[DP_MAP_CT_TCP]);
	map_flush(s->dp.map_fd[DP_MAP_CT_OTHER]);
	map_flush(s->dp.map_fd[DP_MAP_FRAGS]);
	for (id = 0; id < N_IDENTS; id++)
		bpf_map_update_elem(s->dp.map_fd[DP_MAP_BUDGET], &id, &zero,
				    BPF_ANY);
}

static bool map_has(int fd, const void *key)
{
	uint8_t value[256];

	return bpf_map_lookup_elem(fd, key, value) == 0;
}

/* The conntrack key of a packet, the way lib/parse.h builds it. */
static void pkt_tuple(const struct pkt_desc *d, struct cg_ct_key *k)
{
	memset(k, 0, sizeof(*k));
	inet_pton(AF_INET, d->src, k->saddr);
	inet_pton(AF_INET, d->dst, k->daddr);
	k->proto = d->proto;
	if (d->proto == IPPROTO_TCP || d->proto == IPPROTO_UDP) {
		k->sport = d->sport;
		k->dport = d->dport;
	} else if (d->proto == IPPROTO_ICMP && d->icmp_type == ICMP_T_ECHO) {
		k->sport = d->icmp_id;
	} else if (d->proto == IPPROTO_ICMP &&
		   d->icmp_type == ICMP_T_ECHOREPLY) {
		k->dport = d->icmp_id;
	}
}

static void tuple_reverse(const struct cg_ct_key *k, struct cg_ct_key *r)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->saddr, k->daddr, 4);
	memcpy(r->daddr, k->saddr, 4);
	r->sport = k->dport;
	r->dport = k->sport;
	r->proto = k->proto;
}

/* The conntrack key of the flow d opens: canonical, as cg_ct_canon
 * (lib/conntrack.h) makes it; *rev tells whether it is d reversed. */
static void ct_key_of(const struct pkt_desc *d, struct cg_ct_key *k, bool *rev)
{
	struct cg_ct_key t;
	uint32_t sa, da;

	pkt_tuple(d, &t);
	memcpy(&sa, t.saddr, 4);
	memcpy(&da, t.daddr, 4);
	*rev = sa > da || (sa == da && t.sport > t.dport);
	if (*rev)
		tuple_reverse(&t, k);
	else
		*k = t;
}

/* Conntrack map of a protocol: TCP apart from the rest (lib/maps.h). */
static int ct_map_of(const struct suite *s, uint8_t proto)
{
	enum dp_map m = proto == IPPROTO_TCP ? DP_MAP_CT_TCP : DP_MAP_CT_OTHER;

	return s->dp.map_fd[m];
}

static int ct_other_map_of(const struct suite *s, uint8_t proto)
{
	return ct_map_of(s, proto == IPPROTO_TCP ? IPPROTO_UDP : IPPROTO_TCP);
}

/* No entry for the packet's flow, in either direction or map. */
static bool expect_no_ct(struct suite *s, struct check *c,
			 const struct pkt_desc *d)
{
	struct cg_ct_key k, r;

	if (d->l3 != PKT_IPV4)
		return true;
	pkt_tuple(d, &k);
	tuple_reverse(&k, &r);
	if (map_has(s->dp.map_fd[DP_MAP_CT_TCP], &k) ||
	    map_has(s->dp.map_fd[DP_MAP_CT_OTHER], &k))
		return failf(c, "conntrack: entry present, expected none");
	if (map_has(s->dp.map_fd[DP_MAP_CT_TCP], &r) ||
	    map_has(s->dp.map_fd[DP_MAP_CT_OTHER], &r))
		return failf(c, "conntrack: reverse entry present, expected "
				"none");
	return true;
}

/* The entry of the flow opened by d, from the map its protocol belongs
 * in; the other map must not have it. */
static bool ct_read(struct suite *s, struct check *c, const struct pkt_desc *d,
		    struct cg_ct_entry *e)
{
	struct cg_ct_key k;
	bool rev;

	ct_key_of(d, &k, &rev);
	if (bpf_map_lookup_elem(ct_map_of(s, d->proto), &k, e))
		return failf(c, "conntrack: no entry in %s",
			     d->proto == IPPROTO_TCP ? "cg_ct_tcp" :
						       "cg_ct_other");
	if (map_has(ct_other_map_of(s, d->proto), &k))
		return failf(c, "conntrack: entry also in the other map");
	/* The entry knows which way d went: its original direction. */
	return expect_eq(c, "ct.key_rev", rev, e->key_rev);
}

static bool ct_write(struct suite *s, struct check *c, const struct pkt_desc *d,
		     const struct cg_ct_entry *e)
{
	struct cg_ct_key k;
	bool rev;

	ct_key_of(d, &k, &rev);
	if (bpf_map_update_elem(ct_map_of(s, d->proto), &k, e, BPF_EXIST))
		return failf(c, "conntrack: cannot rewrite entry: %s",
			     strerror(errno));
	return true;
}

static bool expect_ct_fields(struct suite *s, struct check *c,
			     const struct cg_ct_entry *e,
			     const struct ct_expect *x)
{
	uint32_t src = ident_id(x->src), dst = ident_id(x->dst);
	uint64_t life = (uint64_t)x->life_s * NSEC;

	return expect_eq(c, "ct.origin", x->origin, e->origin) &&
	       expect_eq(c, "ct.state", x->state, e->state) &&
	       expect_eq(c, "ct.seen_reply", x->seen_reply, e->seen_reply) &&
	       expect_eq(c, "ct.src_ident", src, e->src_ident) &&
	       expect_eq(c, "ct.dst_ident", dst, e->dst_ident) &&
	       expect_eq(c, "ct.src_epoch", epoch_of(s, src), e->src_epoch) &&
	       expect_eq(c, "ct.dst_epoch", epoch_of(s, dst), e->dst_epoch) &&
	       (!life ||
		expect_range(c, "ct.expires_ns - now",
			     life - CT_REFRESH_SLACK_NS, life + (s->t1 - s->t0),
			     e->expires_ns - s->t0));
}

/* The flow opened by d is tracked as x says (or not at all). */
static bool expect_ct(struct suite *s, struct check *c,
		      const struct pkt_desc *d, const struct ct_expect *x)
{
	struct cg_ct_entry e;

	if (!x->present)
		return expect_no_ct(s, c, d);
	return ct_read(s, c, d, &e) && expect_ct_fields(s, c, &e, x);
}

/* ---- counters ------------------------------------------------------------ */

struct snapshot {
	struct cg_counters c[N_IDENTS];
};

static bool snapshot(struct suite *s, struct check *c, struct snapshot *snap)
{
	uint32_t i;

	for (i = 0; i < N_IDENTS; i++)
		if (dp_counters(&s->dp, i, &snap->c[i]))
			return failf(c, "dp_counters(%u) failed", i);
	return true;
}

static bool expect_delta(struct check *c, uint32_t id, const char *field,
			 uint64_t want, uint64_t before, uint64_t after)
{
	char what[96];

	snprintf(what, sizeof(what), "counters[%s].%s", ident_names[id], field);
	return expect_eq(c, what, want, after - before);
}

/* Every identity's counters moved by exactly want (a delta). */
static bool expect_counters(struct check *c, const struct snapshot *a,
			    const struct snapshot *b,
			    const struct snapshot *want)
{
	char field[48];
	uint32_t i;
	int r;

	for (i = 0; i < N_IDENTS; i++) {
		const struct cg_counters *x = &a->c[i], *y = &b->c[i],
					 *w = &want->c[i];

		if (!expect_delta(c, i, "rx_packets", w->rx_packets,
				  x->rx_packets, y->rx_packets) ||
		    !expect_delta(c, i, "rx_bytes", w->rx_bytes, x->rx_bytes,
				  y->rx_bytes) ||
		    !expect_delta(c, i, "tx_packets", w->tx_packets,
				  x->tx_packets, y->tx_packets) ||
		    !expect_delta(c, i, "tx_bytes", w->tx_bytes, x->tx_bytes,
				  y->tx_bytes))
			return false;
		for (r = 0; r < CG_DROP__MAX; r++) {
			snprintf(field, sizeof(field), "drops[%s]",
				 drop_reason_name(r));
			if (!expect_delta(c, i, field, w->drops[r], x->drops[r],
					  y->drops[r]))
				return false;
		}
	}
	return true;
}

/* The counter movement an expectation implies; len is L3 bytes. */
static void want_delta(const struct expect *e, enum hook hook, uint64_t len,
		       struct snapshot *want)
{
	struct cg_counters *w = &want->c[ident_id(e->ident)];

	memset(want, 0, sizeof(*want));
	if (e->verdict == TC_ACT_SHOT) {
		w->drops[e->reason] = 1;
	} else if (e->uncounted) {
		return;
	} else if (hook == INGRESS) {
		w->rx_packets = 1;
		w->rx_bytes = len;
	} else {
		w->tx_packets = 1;
		w->tx_bytes = len;
	}
}

/* ---- running packets ----------------------------------------------------- */

struct run {
	int verdict;
	uint8_t out[PKT_MAX];
	uint32_t out_len;
};

static int hook_prog_fd(const struct suite *s, enum hook hook)
{
	switch (hook) {
	case INGRESS:
		return dp_prog_fd_wg_ingress(&s->dp);
	case EGRESS:
		return dp_prog_fd_wg_egress(&s->dp);
	case UPLINK_XDP:
		return dp_prog_fd_uplink_xdp(&s->dp);
	default:
		return dp_prog_fd_uplink_egress(&s->dp);
	}
}

/* Run one frame; r gets the verdict and the frame as the program left
 * it. XDP takes no __sk_buff context. */
static bool run_frame(struct suite *s, struct check *c, enum hook hook,
		      const uint8_t *frame, size_t len, struct run *r)
{
	struct __sk_buff ctx = { .ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame,
		    .data_size_in = (uint32_t)len, .data_out = r->out,
		    .data_size_out = sizeof(r->out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	int fd = hook_prog_fd(s, hook);
	int ret;

	if (hook == UPLINK_XDP) {
		o.ctx_in = NULL;
		o.ctx_size_in = 0;
	}

	s->t0 = monotonic_ns();
	ret = bpf_prog_test_run_opts(fd, &o);
	s->t1 = monotonic_ns();
	if (ret)
		return failf(c, "BPF_PROG_TEST_RUN: %s", strerror(errno));
	r->verdict = (int)o.retval;
	r->out_len = o.data_size_out;
	return true;
}

/* The wg0 programs filter; they never rewrite what they pass. */
static bool expect_untouched(struct check *c, const uint8_t *frame, size_t len,
			     const struct run *r)
{
	if (r->out_len == len && !memcmp(r->out, frame, len))
		return true;
	return failf(c, "passed frame was modified (%u bytes out, %zu in)",
		     r->out_len, len);
}

static bool ct_has_flow(struct suite *s, const struct pkt_desc *d)
{
	struct cg_ct_key k, r;

	if (d->l3 != PKT_IPV4)
		return false;
	pkt_tuple(d, &k);
	tuple_reverse(&k, &r);
	return map_has(ct_map_of(s, d->proto), &k) ||
	       map_has(ct_map_of(s, d->proto), &r);
}

/* Send one packet through a hook and check verdict and counters, and
 * that a dropped packet opened no flow. (A drop that ends a flow must
 * delete its entry: the flows check that themselves.) */
static bool send_pkt(struct suite *s, struct check *c, const char *step,
		     enum hook hook, const struct pkt_desc *d,
		     const struct expect *e)
{
	uint8_t frame[PKT_MAX];
	size_t len = pkt_build(d, frame, sizeof(frame));
	struct snapshot before, after, want;
	bool tracked = ct_has_flow(s, d);
	struct run r;

	c->step = step;
	if (!len)
		return failf(c, "cannot build the packet");
	if (!snapshot(s, c, &before) ||
	    !run_frame(s, c, hook, frame, len, &r) || !snapshot(s, c, &after))
		return false;
	if (!expect_verdict(c, e->verdict, r.verdict))
		return false;
	want_delta(e, hook, len - PKT_ETH_LEN, &want);
	if (!expect_counters(c, &before, &after, &want))
		return false;
	if (r.verdict == TC_ACT_OK)
		return expect_untouched(c, frame, len, &r);
	return tracked || expect_no_ct(s, c, d);
}

/* ---- the cell ------------------------------------------------------------ */

static json_object *parse_json(struct check *c, const char *text)
{
	json_object *o = json_tokener_parse(text);

	if (!o)
		failf(c, "fixture JSON does not parse: %s", text);
	return o;
}

static bool put_service(struct suite *s, struct check *c, const char *name,
			const char *json)
{
	json_object *body = parse_json(c, json);
	struct cg_error err = { 0 };
	int ret;

	if (!body)
		return false;
	ret = state_put_service(&s->st, name, body, &err);
	json_object_put(body);
	if (ret)
		return failf(c, "state_put_service %s: %s", name, err.msg);
	return true;
}

/* Distinct public keys: byte i of peer n is (n + 1) * 37 + i. */
static bool add_peer(struct suite *s, struct check *c, unsigned int n)
{
	json_object *body = parse_json(c, cell_peers[n].json);
	char b64[WG_KEY_B64_LEN + 1];
	struct cg_error err = { 0 };
	wg_key key;
	unsigned int i;
	int ret;

	if (!body)
		return false;
	for (i = 0; i < WG_KEY_LEN; i++)
		key[i] = (uint8_t)((n + 1) * 37 + i);
	key_to_base64(b64, key);
	json_object_object_add(body, "public_key", json_object_new_string(b64));
	ret = state_add_peer(&s->st, body, NULL, NULL, &err);
	json_object_put(body);
	if (ret)
		return failf(c, "state_add_peer %s: %s", cell_peers[n].name,
			     err.msg);
	return expect_eq(c, "peer id", ident_id(cell_peers[n].name),
			 state_peer(&s->st, cell_peers[n].name)->id);
}

/* Compile the state and program the maps, as the controller does at
 * start (sync_maps). */
static bool sync_all(struct suite *s, struct check *c)
{
	struct policy pol;
	int ret = policy_compile(&s->st, &s->cfg, &pol);

	if (ret)
		return failf(c, "policy_compile: %s", strerror(-ret));
	ret = dp_sync(&s->dp, &pol);
	policy_free(&pol);
	if (ret)
		return failf(c, "dp_sync: %s", strerror(-ret));
	return true;
}

/* The fixture cell from scratch: state, maps, no flows. Maps that a
 * flow changed (peers removed, services moved) are reconciled back by
 * dp_sync, which is itself under test here. */
static bool cell_build(struct suite *s, struct check *c)
{
	size_t i;

	c->step = "setup";
	state_free(&s->st);
	state_init(&s->st, &s->cfg);
	for (i = 0; i < ARRAY_SIZE(cell_services); i++)
		if (!put_service(s, c, cell_services[i].name,
				 cell_services[i].json))
			return false;
	for (i = 0; i < ARRAY_SIZE(cell_peers); i++)
		if (!add_peer(s, c, (unsigned int)i))
			return false;
	if (!sync_all(s, c))
		return false;
	ct_flush(s);
	c->step = NULL;
	return true;
}

/* PUT /api/peers/{name}: state_update_peer, then dp_set_peer. */
static bool update_peer(struct suite *s, struct check *c, const char *name,
			const char *json)
{
	json_object *body = parse_json(c, json);
	struct cg_peer_def old, cur;
	struct cg_error err = { 0 };
	int ret;

	c->step = "update peer";
	if (!body)
		return false;
	ret = state_update_peer(&s->st, name, body, &old, &cur, &err);
	json_object_put(body);
	if (ret)
		return failf(c, "state_update_peer %s: %s", name, err.msg);
	ret = dp_set_peer(&s->dp, &s->st, &old, &cur);
	if (ret)
		return failf(c, "dp_set_peer %s: %s", name, strerror(-ret));
	return true;
}

/* DELETE /api/peers/{name}: state_delete_peer, then dp_remove_peer. */
static bool delete_peer(struct suite *s, struct check *c, const char *name)
{
	struct cg_peer_def gone;
	struct cg_error err = { 0 };
	int ret;

	c->step = "delete peer";
	if (state_delete_peer(&s->st, name, &gone, &err))
		return failf(c, "state_delete_peer %s: %s", name, err.msg);
	ret = dp_remove_peer(&s->dp, &gone);
	if (ret)
		return failf(c, "dp_remove_peer %s: %s", name, strerror(-ret));
	return true;
}

/* PUT /api/services/{name}: state_put_service, then dp_sync_services. */
static bool change_service(struct suite *s, struct check *c, const char *name,
			   const char *json)
{
	struct policy pol;
	int ret;

	c->step = "change service";
	if (!put_service(s, c, name, json))
		return false;
	ret = policy_compile(&s->st, &s->cfg, &pol);
	if (ret)
		return failf(c, "policy_compile: %s", strerror(-ret));
	ret = dp_sync_services(&s->dp, &pol);
	policy_free(&pol);
	if (ret)
		return failf(c, "dp_sync_services: %s", strerror(-ret));
	return true;
}

/* ---- single-packet cases ------------------------------------------------- */

static void run_case(struct suite *s, const struct bpf_case *tc)
{
	struct check c = { 0 };

	ct_flush(s);
	if (send_pkt(s, &c, NULL, tc->hook, tc->pkt, &tc->exp) &&
	    tc->exp.verdict == TC_ACT_OK)
		expect_ct(s, &c, tc->pkt, &tc->ct);
	report(s, tc->name, &c);
}

#include "flow_cases.h"
#include "rule_cases.h"
#include "rate_cases.h"
#include "nat_cases.h"
#include "observe_cases.h"
#include "v6_cases.h"
#include "bridge_cases.h"
#include "exit_cases.h"

/* ---- main ---------------------------------------------------------------- */

static int suite_open(struct suite *s)
{
	struct dp_options opts = {
		.bpffs = bpffs_dir,
		.l2_len = PKT_ETH_LEN, /* BPF_PROG_TEST_RUN gives Ethernet */
		.max_peers = 64,
		.conntrack_tcp = 1024,
		.conntrack_other = 1024,
		/* Every case runs with budgets on (ct_flush gives them
		 * back); flow_budget exhausts alice's. */
		.per_peer_max = BUDGET_MAX,
	};
	struct cg_error err = { 0 };
	int ret;

	if (config_parse(cell_config_json, strlen(cell_config_json), &s->cfg,
			 &err)) {
		fprintf(stderr, "fixture config: %s (%s)\n", err.msg,
			err.field);
		return -EINVAL;
	}
	state_init(&s->st, &s->cfg);
	ret = dp_open(&s->dp, &opts);
	if (ret) {
		fprintf(stderr, "dp_open: %s\n", strerror(-ret));
		return ret;
	}
	s->loaded = true;
	return 0;
}

/* What the verifier went through per program: its cost grows with every
 * branch, so the log keeps it in view. */
static void print_verified_insns(const struct suite *s)
{
	static const enum hook hooks[] = { INGRESS, EGRESS, UPLINK_XDP,
					   UPLINK_EGRESS };
	static const char *const names[] = { "wg ingress", "wg egress",
					     "uplink xdp", "uplink egress" };
	struct bpf_prog_info info;
	__u32 len;
	size_t i;

	printf("# verified instructions:");
	for (i = 0; i < ARRAY_SIZE(hooks); i++) {
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(hook_prog_fd(s, hooks[i]), &info,
					   &len) == 0)
			printf("%s %s %u", i ? "," : "", names[i],
			       info.verified_insns);
	}
	printf("\n");
}

static void suite_close(struct suite *s)
{
	v6_close_maps();
	if (s->loaded)
		dp_close(&s->dp);
	state_free(&s->st);
}

static void run_all(struct suite *s)
{
	struct check c = { 0 };
	size_t i;

	if (!cell_build(s, &c)) {
		report(s, "build the fixture cell", &c);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		run_case(s, &cases[i]);
	for (i = 0; i < ARRAY_SIZE(flows); i++) {
		memset(&c, 0, sizeof(c));
		if (cell_build(s, &c))
			flows[i].run(s, &c);
		report(s, flows[i].name, &c);
	}
	for (i = 0; i < ARRAY_SIZE(rule_flows); i++) {
		memset(&c, 0, sizeof(c));
		if (cell_build(s, &c))
			rule_flows[i].run(s, &c);
		report(s, rule_flows[i].name, &c);
	}
	for (i = 0; i < ARRAY_SIZE(rate_flows); i++) {
		memset(&c, 0, sizeof(c));
		if (cell_build(s, &c))
			rate_flows[i].run(s, &c);
		report(s, rate_flows[i].name, &c);
	}
	run_observe_cases(s);
	run_nat_cases(s);
	run_v6_cases(s);
	run_exit_cases(s);
	run_bridge_cases(s); /* enters a network namespace */
	run_exit_attach_case(s); /* in another */
}

int main(void)
{
	static struct suite s;
	char why[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP: BPF_PROG_TEST_RUN and bpffs need root\n");
		return EXIT_SKIP;
	}
	if (bpffs_mount("cellgate-bpftest", why, sizeof(why))) {
		printf("SKIP: %s\n", why);
		return EXIT_SKIP;
	}
	log_set_level(LOG_LVL_WARN);
	if (suite_open(&s)) {
		printf("not ok 1 - load the wg0 programs with dp_open\n");
		suite_close(&s);
		return 1;
	}
	print_verified_insns(&s);
	run_all(&s);
	suite_close(&s);
	printf("1..%d\n# %d passed, %d failed\n", s.n, s.n - s.failed,
	       s.failed);
	return s.failed ? 1 : 0;
}
