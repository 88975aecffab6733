// SPDX-License-Identifier: MIT
/*
 * Observability cases: the events `cellgate monitor` reads from cg_events
 * (only under a lease, rate-limited per CPU, losses counted), the
 * per-service verdict counters, and the table accounting the controller
 * derives LRU evictions from.
 *
 * Included by bpf_test.c after its helpers (and nat_cases.h's
 * expect_tuple); each case runs on a fresh
 * fixture cell (cell_build) with the event bucket emptied.
 */
#ifndef CG_TEST_OBSERVE_CASES_H
#define CG_TEST_OBSERVE_CASES_H

/* alice asks for files (bob's service, not hers); bob for his own. */
static const struct pkt_desc alice_files_syn =
	TCP(ALICE, 40100, FILES, 445, TH_SYN);
static const struct pkt_desc bob_files_syn =
	TCP(BOB, 40200, FILES, 445, TH_SYN);

/* Service ids of the fixture cell (cell_services order). */
#define SVC_CALENDAR 0
#define SVC_FILES 1

/* The ring holds 256 KiB (bpf/lib/maps.h); a flood this size fills it. */
#define FLOOD_PACKETS 6000u

/* ---- the ring buffer and the lease ---------------------------------------- */

#define SINK_MAX 8

struct ev_sink {
	struct cg_event ev[SINK_MAX]; /* the first few, in order */
	unsigned int n; /* all that were read */
};

static int sink_event(void *ctx, void *data, size_t len)
{
	struct ev_sink *sink = ctx;

	if (sink->n < SINK_MAX && len >= sizeof(struct cg_event))
		memcpy(&sink->ev[sink->n], data, sizeof(struct cg_event));
	sink->n++;
	return 0;
}

/* Read everything the ring holds into sink (a new reader continues
 * where the last one stopped: the position lives in the map). */
static bool ring_drain(struct suite *s, struct check *c, struct ev_sink *sink)
{
	struct ring_buffer *rb = ring_buffer__new(s->dp.map_fd[DP_MAP_EVENTS],
						  sink_event, sink, NULL);
	int ret;

	memset(sink, 0, sizeof(*sink));
	if (!rb)
		return failf(c, "ring_buffer__new: %s", strerror(errno));
	ret = ring_buffer__consume(rb);
	ring_buffer__free(rb);
	if (ret < 0)
		return failf(c, "ring_buffer__consume: %s", strerror(-ret));
	return true;
}

/* Hold the monitor's lease for drops and/or trace for 10 s (or end it). */
static bool lease(struct suite *s, struct check *c, bool drops, bool trace,
		  uint32_t rate, uint32_t burst)
{
	uint64_t until = monotonic_ns() + 10 * NSEC;
	struct cg_monitor m = { .drops_until_ns = drops ? until : 0,
				.trace_until_ns = trace ? until : 0,
				.rate = rate,
				.burst = burst };
	int ret = dp_monitor_lease(&s->dp, &m);

	return ret ? failf(c, "dp_monitor_lease: %s", strerror(-ret)) : true;
}

/* A full bucket on every CPU: zero credit and a last refill long ago. */
static bool bucket_reset(struct suite *s, struct check *c)
{
	size_t len = (size_t)s->dp.ncpus * sizeof(struct cg_event_stats);
	void *zero = calloc(1, len);
	uint32_t key = 0;
	int ret;

	if (!zero)
		return failf(c, "out of memory");
	ret = bpf_map_update_elem(s->dp.map_fd[DP_MAP_EVENT_STATS], &key, zero,
				  BPF_ANY);
	free(zero);
	return ret ? failf(c, "reset cg_event_stats: %s", strerror(errno)) :
		     true;
}

static bool event_stats(struct suite *s, struct check *c,
			struct cg_event_stats *st)
{
	int ret = dp_event_stats(&s->dp, st);

	return ret ? failf(c, "dp_event_stats: %s", strerror(-ret)) : true;
}

/* Run d through hook repeat times in one BPF_PROG_TEST_RUN (on one CPU,
 * so one bucket sees them all). */
static bool run_repeat(struct suite *s, struct check *c, enum hook hook,
		       const struct pkt_desc *d, uint32_t repeat)
{
	uint8_t frame[PKT_MAX], out[PKT_MAX];
	size_t len = pkt_build(d, frame, sizeof(frame));
	struct __sk_buff ctx = { .ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame,
		    .data_size_in = (uint32_t)len, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);

	if (!len)
		return failf(c, "cannot build the packet");
	if (bpf_prog_test_run_opts(hook_prog_fd(s, hook), &o))
		return failf(c, "BPF_PROG_TEST_RUN: %s", strerror(errno));
	return true;
}

/* The start of every case: no lease, nothing left in the ring. */
static bool observe_start(struct suite *s, struct check *c)
{
	struct ev_sink sink;

	return lease(s, c, false, false, 0, 0) && ring_drain(s, c, &sink) &&
	       bucket_reset(s, c);
}

/* The tuple of an event is the packet's, as the hook saw it. */
static bool expect_event_tuple(struct check *c, const struct cg_event *ev,
			       const struct pkt_desc *d)
{
	struct cg_ct_key want;

	pkt_tuple(d, &want);
	return expect_tuple(c, "event tuple", &want, &ev->tuple);
}

/* ---- cases ------------------------------------------------------------------ */

/* Without a monitor, drops emit nothing (and count nothing as lost). */
static bool observe_no_lease(struct suite *s, struct check *c)
{
	struct cg_event_stats a, b;
	struct ev_sink sink;

	return observe_start(s, c) && event_stats(s, c, &a) &&
	       send_pkt(s, c, "denied SYN", INGRESS, &alice_files_syn,
			DROPS(CG_DROP_SERVICE_DENIED, "alice")) &&
	       ring_drain(s, c, &sink) && event_stats(s, c, &b) &&
	       expect_eq(c, "events read", 0, sink.n) &&
	       expect_eq(c, "emitted", a.emitted, b.emitted) &&
	       expect_eq(c, "lost", a.lost, b.lost) &&
	       expect_eq(c, "rate_limited", a.rate_limited, b.rate_limited);
}

/* A drop event says where, whose, why and what; allowed packets emit
 * nothing under a drops-only lease. */
static bool observe_drop_event(struct suite *s, struct check *c)
{
	uint8_t frame[PKT_MAX];
	size_t len = pkt_build(&alice_files_syn, frame, sizeof(frame));
	struct ev_sink sink;
	const struct cg_event *ev = &sink.ev[0];
	uint64_t t0 = monotonic_ns();

	if (!observe_start(s, c) || !lease(s, c, true, false, 0, 0) ||
	    !send_pkt(s, c, "denied SYN", INGRESS, &alice_files_syn,
		      DROPS(CG_DROP_SERVICE_DENIED, "alice")) ||
	    !send_pkt(s, c, "allowed SYN", INGRESS, &cal_syn,
		      PASSES("alice")) ||
	    !ring_drain(s, c, &sink))
		return false;
	c->step = "the event";
	return expect_eq(c, "events read", 1, sink.n) &&
	       expect_eq(c, "kind", CG_EVENT_DROP, ev->kind) &&
	       expect_eq(c, "hook", CG_HOOK_WG_INGRESS, ev->hook) &&
	       expect_eq(c, "reason", CG_DROP_SERVICE_DENIED, ev->reason) &&
	       expect_eq(c, "ident", ident_id("alice"), ev->ident) &&
	       expect_eq(c, "ifindex", 1, ev->ifindex) &&
	       expect_eq(c, "len", len - PKT_ETH_LEN, ev->len) &&
	       expect_range(c, "time_ns", t0, monotonic_ns(), ev->time_ns) &&
	       expect_event_tuple(c, ev, &alice_files_syn);
}

/* A trace lease reports each new flow once, not its later packets, and
 * not drops. */
static bool observe_trace(struct suite *s, struct check *c)
{
	struct ev_sink sink;

	if (!observe_start(s, c) || !lease(s, c, false, true, 0, 0) ||
	    !calendar_handshake(s, c) ||
	    !send_pkt(s, c, "data", INGRESS, &cal_data, PASSES("alice")) ||
	    !send_pkt(s, c, "denied SYN", INGRESS, &alice_files_syn,
		      DROPS(CG_DROP_SERVICE_DENIED, "alice")) ||
	    !ring_drain(s, c, &sink))
		return false;
	c->step = "the event";
	return expect_eq(c, "events read", 1, sink.n) &&
	       expect_eq(c, "kind", CG_EVENT_NEW_FLOW, sink.ev[0].kind) &&
	       expect_eq(c, "reason", CG_DROP_NONE, sink.ev[0].reason) &&
	       expect_eq(c, "ident", ident_id("alice"), sink.ev[0].ident) &&
	       expect_event_tuple(c, &sink.ev[0], &cal_syn);
}

/* rate 1/s, burst 3: of ten drops in a row, three become events. */
static bool observe_rate_limit(struct suite *s, struct check *c)
{
	struct cg_event_stats a, b;
	struct ev_sink sink;

	if (!observe_start(s, c) || !lease(s, c, true, false, 1, 3) ||
	    !event_stats(s, c, &a) ||
	    !run_repeat(s, c, INGRESS, &alice_files_syn, 10) ||
	    !event_stats(s, c, &b) || !ring_drain(s, c, &sink))
		return false;
	c->step = "after ten drops";
	return expect_eq(c, "events read", 3, sink.n) &&
	       expect_eq(c, "emitted", 3, b.emitted - a.emitted) &&
	       expect_eq(c, "rate_limited", 7,
			 b.rate_limited - a.rate_limited) &&
	       expect_eq(c, "lost", 0, b.lost - a.lost);
}

/* Nobody reading: the ring fills, the rest is counted as lost, and what
 * the ring kept is exactly what was counted as emitted. */
static bool observe_ring_full(struct suite *s, struct check *c)
{
	struct cg_event_stats a, b;
	struct ev_sink sink;

	if (!observe_start(s, c) ||
	    !lease(s, c, true, false, 1000000, 1000000) ||
	    !event_stats(s, c, &a) ||
	    !run_repeat(s, c, INGRESS, &alice_files_syn, FLOOD_PACKETS) ||
	    !event_stats(s, c, &b) || !ring_drain(s, c, &sink))
		return false;
	c->step = "after the flood";
	return expect_eq(c, "emitted + lost", FLOOD_PACKETS,
			 (b.emitted - a.emitted) + (b.lost - a.lost)) &&
	       expect_range(c, "lost", 1, FLOOD_PACKETS, b.lost - a.lost) &&
	       expect_eq(c, "events read", b.emitted - a.emitted, sink.n) &&
	       expect_eq(c, "rate_limited", 0, b.rate_limited - a.rate_limited);
}

static bool service_counters(struct suite *s, struct check *c,
			     struct cg_service_counters *sums)
{
	int ret = dp_service_counters_all(&s->dp, sums);

	return ret ? failf(c, "dp_service_counters_all: %s", strerror(-ret)) :
		     true;
}

/* New flows count per service, allowed or denied; later packets do not. */
static bool observe_service_counters(struct suite *s, struct check *c)
{
	static struct cg_service_counters a[CG_MAX_SERVICES],
		b[CG_MAX_SERVICES];

	if (!service_counters(s, c, a) || !calendar_handshake(s, c) ||
	    !send_pkt(s, c, "data", INGRESS, &cal_data, PASSES("alice")) ||
	    !send_pkt(s, c, "alice to files", INGRESS, &alice_files_syn,
		      DROPS(CG_DROP_SERVICE_DENIED, "alice")) ||
	    !send_pkt(s, c, "bob to files", INGRESS, &bob_files_syn,
		      PASSES("bob")) ||
	    !service_counters(s, c, b))
		return false;
	c->step = "service counters";
	return expect_eq(c, "calendar allowed", 1,
			 b[SVC_CALENDAR].allowed - a[SVC_CALENDAR].allowed) &&
	       expect_eq(c, "calendar denied", 0,
			 b[SVC_CALENDAR].denied - a[SVC_CALENDAR].denied) &&
	       expect_eq(c, "files allowed", 1,
			 b[SVC_FILES].allowed - a[SVC_FILES].allowed) &&
	       expect_eq(c, "files denied", 1,
			 b[SVC_FILES].denied - a[SVC_FILES].denied);
}

static bool table_stats(struct suite *s, struct check *c,
			struct cg_table_stats *st)
{
	int ret = dp_table_stats(&s->dp, st);

	return ret ? failf(c, "dp_table_stats: %s", strerror(-ret)) : true;
}

static bool expect_table_delta(struct check *c, const char *what, uint64_t want,
			       uint64_t before, uint64_t after)
{
	return expect_eq(c, what, want, after - before);
}

/* Created counts new keys only (not a refresh, not an expired entry
 * replaced); removed counts the programs' deletes and the controller's
 * garbage collection. */
static bool observe_table_stats(struct suite *s, struct check *c)
{
	struct cg_table_stats a, b, d;
	const int tcp = CG_TABLE_CT_TCP, udp = CG_TABLE_CT_OTHER;

	if (!table_stats(s, c, &a) || !calendar_handshake(s, c) ||
	    !send_pkt(s, c, "SYN again", INGRESS, &cal_syn, PASSES("alice")) ||
	    !table_stats(s, c, &b) ||
	    !expect_table_delta(c, "tcp created", 1, a.created[tcp],
				b.created[tcp]))
		return false;
	if (!ct_expire(s, c, &cal_syn) ||
	    !send_pkt(s, c, "data after expiry", INGRESS, &cal_data,
		      PASSES("alice")) ||
	    !table_stats(s, c, &d) ||
	    !expect_table_delta(c, "tcp created (expired entry replaced)", 0,
				b.created[tcp], d.created[tcp]))
		return false;
	if (!update_peer(s, c, "alice",
			 "{\"service_access\":[\"dns\",\"ping\"]}") ||
	    !send_pkt(s, c, "data after revocation", INGRESS, &cal_data,
		      DROPS(CG_DROP_SERVICE_DENIED, "alice")) ||
	    !table_stats(s, c, &b) ||
	    !expect_table_delta(c, "tcp removed (re-judged)", 1, d.removed[tcp],
				b.removed[tcp]))
		return false;
	if (!send_pkt(s, c, "query", INGRESS, &dns_query, PASSES("alice")) ||
	    !ct_expire(s, c, &dns_query))
		return false;
	c->step = "dp_gc";
	dp_gc(&s->dp, monotonic_ns());
	return table_stats(s, c, &d) &&
	       expect_table_delta(c, "udp created", 1, b.created[udp],
				  d.created[udp]) &&
	       expect_table_delta(c, "udp removed (gc)", 1, b.removed[udp],
				  d.removed[udp]);
}

/* The face the CLI reads pins through (pins_ro.h): a map opened read-only
 * reads but refuses writes (EPERM); a map asked for writable, as the
 * monitor asks for cg_monitor, takes its lease. */
static bool observe_pins_readonly(struct suite *s, struct check *c)
{
	struct cg_monitor off = { 0 };
	struct cg_settings set;
	struct cg_event_stats st;
	struct pins_ro p;
	uint32_t zero = 0, id;
	int ret = pins_ro_open(&p, bpffs_dir, PINS_RW(DP_MAP_MONITOR));
	bool ok = true;

	if (ret)
		return failf(c, "pins_ro_open: %s", strerror(-ret));
	c->step = "read";
	if (bpf_map_lookup_elem(p.fd[DP_MAP_SETTINGS], &zero, &set))
		ok = failf(c, "lookup cg_settings: %s", strerror(errno));
	else if ((ret = pins_ro_sum(&p, DP_MAP_EVENT_STATS, 0, &st,
				    sizeof(st))))
		ok = failf(c, "pins_ro_sum: %s", strerror(-ret));
	else
		ok = expect_eq(c, "peers seen through the pins",
			       (uint64_t)map_count(s->dp.map_fd[DP_MAP_PEERS],
						   s->dp.ncpus),
			       (uint64_t)pins_ro_count(&p, DP_MAP_PEERS));
	c->step = "write a read-only map";
	/* The value it holds: harmless if the write were let through. */
	if (ok &&
	    !bpf_map_update_elem(p.fd[DP_MAP_SETTINGS], &zero, &set, BPF_ANY))
		ok = failf(c, "cg_settings took a write, want EPERM");
	else if (ok && errno != EPERM)
		ok = failf(c, "cg_settings: %s, want EPERM", strerror(errno));
	c->step = "the lease, writable";
	if (ok && (ret = pins_ro_lease(&p, &off)))
		ok = failf(c, "pins_ro_lease: %s", strerror(-ret));
	c->step = "names";
	if (ok && pins_ro_ident(&p, "alice", &id) != -ENODATA)
		ok = failf(c, "pins_ro_ident without a state file: want "
			      "-ENODATA");
	pins_ro_close(&p);
	return ok;
}

static const struct flow observe_flows[] = {
	{ "observe: no monitor lease, no events", observe_no_lease },
	{ "observe: a drop event names hook, peer, reason and tuple",
	  observe_drop_event },
	{ "observe: a trace lease reports each new flow once", observe_trace },
	{ "observe: rate 1/s burst 3 lets 3 of 10 drops through",
	  observe_rate_limit },
	{ "observe: a full ring counts lost events", observe_ring_full },
	{ "observe: new flows counted per service", observe_service_counters },
	{ "observe: table accounting of created and removed entries",
	  observe_table_stats },
	{ "observe: pins_ro reads, refuses writes, but for the lease",
	  observe_pins_readonly },
};

static void run_observe_cases(struct suite *s)
{
	struct check c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(observe_flows); i++) {
		memset(&c, 0, sizeof(c));
		if (cell_build(s, &c))
			observe_flows[i].run(s, &c);
		report(s, observe_flows[i].name, &c);
	}
	memset(&c, 0, sizeof(c));
	if (!lease(s, &c, false, false, 0, 0))
		report(s, "observe: end the lease", &c);
}

#endif
