// SPDX-License-Identifier: MIT
/*
 * BPF program tests (DESIGN.md, test level 2). The wg0 programs are loaded
 * by the controller's own loader (dp_open) into a private bpffs and their
 * maps are filled through the real policy path (state -> policy_compile ->
 * dp_sync), so what runs here is what runs on wg0. Packets from
 * fixtures.h go through BPF_PROG_TEST_RUN; every case checks the verdict,
 * the drop reason, whose counters moved (and that nobody else's did) and
 * the conntrack entry left behind. nat_cases.h runs the uplink programs
 * too and checks every NAT rewrite byte for byte.
 *
 * Output: "ok N - name" or "not ok N - name: what: expected X got Y",
 * then a summary. Exit 0, 1 on any failure, 77 when it cannot run here.
 */
#include <errno.h>
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

#include "config.h"
#include "controller.h"
#include "ct_canon.h"
#include "dataplane.h"
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

/* Cases are independent: no flow or fragment survives from the last. */
static void ct_flush(struct suite *s)
{
	map_flush(s->dp.map_fd[DP_MAP_CT_TCP]);
	map_flush(s->dp.map_fd[DP_MAP_CT_OTHER]);
	map_flush(s->dp.map_fd[DP_MAP_FRAGS]);
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
	ret = dp_set_peer(&s->dp, &old, &cur);
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
	{ "flow: moving calendar to 8080 drops its flows",
	  flow_service_change },
	{ "flow: service change found by dp_sync at start",
	  flow_restart_service_change },
};

#include "nat_cases.h"
#include "observe_cases.h"

/* ---- main ---------------------------------------------------------------- */

static int suite_open(struct suite *s)
{
	struct dp_options opts = {
		.bpffs = bpffs_dir,
		.l2_len = PKT_ETH_LEN, /* BPF_PROG_TEST_RUN gives Ethernet */
		.max_peers = 64,
		.conntrack_tcp = 1024,
		.conntrack_other = 1024,
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
	run_observe_cases(s);
	run_nat_cases(s);
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
