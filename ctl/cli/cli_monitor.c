// SPDX-License-Identifier: MIT
/*
 * cellgate monitor: drop events (and, with --trace, new flows) as the
 * programs see them, read from the pinned cg_events ring buffer.
 *
 * The programs emit events only while a monitor holds a lease in
 * cg_monitor: a deadline it pushes LEASE_NS ahead every RENEW_NS. A
 * monitor that dies stops the events within LEASE_NS, so nothing fills
 * the ring for no reader. A token bucket per CPU (--rate) bounds what a
 * flood costs; what it refuses, and what a full ring loses, is counted and
 * reported when the monitor stops. Several monitors share one lease: the
 * last to stop ends it for all (they renew it within a second).
 */
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abi_names.h"
#include "cli.h"
#include "util.h"

/* How long a lease lasts, and how often it is renewed: a renewal may be
 * late by a few polls without the events stopping. */
#define LEASE_NS (5 * 1000000000ull)
#define RENEW_NS (1 * 1000000000ull)
/* How long one poll of the ring may block: how soon a signal, --count or
 * --duration is noticed. */
#define POLL_MS 200
/* Bounds of --rate (events per second per CPU) and --duration. */
#define RATE_MAX 1000000
#define DURATION_MAX (7 * 86400)

enum { OPT_PEER = 1, OPT_REASON, OPT_TRACE, OPT_RATE, OPT_COUNT, OPT_DURATION };

struct monitor {
	struct cli *cli;
	struct cli_pinned *p;
	/* Filters. */
	const char *peer; /* --peer NAME */
	uint32_t ident; /* its identity id */
	int reason; /* --reason, or -1 */
	bool trace;
	/* Limits. */
	uint32_t rate;
	unsigned long count; /* stop after this many shown; 0: no limit */
	unsigned long duration_s; /* stop after this long; 0: no limit */
	/* What happened. */
	unsigned long shown, filtered;
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int parse_ulong(struct cli *cli, const char *opt, const char *arg,
		       unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < min || v > max)
		return cli_usage_error(cli,
				       "%s: '%s' is not a number in %lu..%lu",
				       opt, arg, min, max);
	*out = v;
	return CLI_OK;
}

static int monitor_option(struct cli *cli, void *ctx, int opt, const char *arg)
{
	struct monitor *m = ctx;
	unsigned long v;
	int ret;

	switch (opt) {
	case OPT_PEER:
		m->peer = arg;
		return cli_check_name(cli, arg);
	case OPT_REASON:
		m->reason = drop_reason_parse(arg);
		if (m->reason <= CG_DROP_NONE)
			return cli_usage_error(cli, "unknown drop reason '%s'",
					       arg);
		return CLI_OK;
	case OPT_TRACE:
		m->trace = true;
		return CLI_OK;
	case OPT_RATE:
		ret = parse_ulong(cli, "--rate", arg, 1, RATE_MAX, &v);
		m->rate = (uint32_t)v;
		return ret;
	case OPT_COUNT:
		return parse_ulong(cli, "--count", arg, 1, ULONG_MAX,
				   &m->count);
	case OPT_DURATION:
		return parse_ulong(cli, "--duration", arg, 1, DURATION_MAX,
				   &m->duration_s);
	}
	return CLI_USAGE;
}

/* --peer names a peer or a linked cell. */
static int resolve_peer(struct monitor *m)
{
	int ret;

	if (!m->peer)
		return CLI_OK;
	ret = pins_ro_ident(&m->p->pins, m->peer, &m->ident);
	if (ret == -ENODATA)
		return cli_fail(CLI_USAGE, "--peer needs the state file");
	if (ret)
		return cli_fail(CLI_NOT_FOUND, "no peer or cell '%s'", m->peer);
	return CLI_OK;
}

/* An event of either family, as printed: the IPv4 record's header and
 * its tuple's text (an IPv6 record's too, told apart by its size). */
struct shown_event {
	struct cg_event ev; /* tuple unused when ipv6 */
	bool ipv6;
	struct cg_ct6_key tuple6;
};

/* The header is copied across; the sizes tell the records apart. */
_Static_assert(offsetof(struct cg_event6, tuple) ==
		       offsetof(struct cg_event, tuple),
	       "cg_event6 starts as cg_event");
_Static_assert(sizeof(struct cg_event6) != sizeof(struct cg_event),
	       "the records' sizes differ");

static bool wanted(const struct monitor *m, const struct cg_event *ev)
{
	if (ev->kind == CG_EVENT_NEW_FLOW && (!m->trace || m->reason >= 0))
		return false;
	if (m->reason >= 0 && (int)ev->reason != m->reason)
		return false;
	return !m->peer || ev->ident == m->ident;
}

/* The event's CLOCK_MONOTONIC stamp as wall-clock time. */
static void event_time(uint64_t time_ns, char *buf, size_t len, bool iso)
{
	struct timespec now;
	uint64_t wall_ns, ago;
	struct tm tm;
	time_t s;
	char date[40];

	clock_gettime(CLOCK_REALTIME, &now);
	ago = monotonic_ns() - time_ns;
	wall_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec -
		  ago;
	s = (time_t)(wall_ns / 1000000000ull);
	localtime_r(&s, &tm);
	strftime(date, sizeof(date), iso ? "%Y-%m-%dT%H:%M:%S" : "%H:%M:%S",
		 &tm);
	snprintf(buf, len, "%s.%06" PRIu64, date,
		 (uint64_t)(wall_ns % 1000000000ull / 1000));
}

/* The tuple's text: IPv4 or IPv6 endpoints, "-" when the programs read
 * none (an IPv6 packet on an IPv4-only cell, ARP). */
static const char *event_tuple(const struct shown_event *se, char *src,
			       char *dst, size_t len, char *pbuf, size_t plen)
{
	const struct cg_ct_key *t = &se->ev.tuple;
	const struct cg_ct6_key *t6 = &se->tuple6;

	if (se->ipv6) {
		mapview_endpoint6(src, len, t6->saddr, t6->sport, t6->proto);
		mapview_endpoint6(dst, len, t6->daddr, t6->dport, t6->proto);
		return mapview_proto(pbuf, plen, t6->proto);
	}
	if (!t->proto && !memcmp(t->saddr, "\0\0\0\0", 4) &&
	    !memcmp(t->daddr, "\0\0\0\0", 4)) {
		snprintf(src, len, "-");
		snprintf(dst, len, "-");
		return "-";
	}
	mapview_endpoint(src, len, t->saddr, t->sport, t->proto);
	mapview_endpoint(dst, len, t->daddr, t->dport, t->proto);
	return mapview_proto(pbuf, plen, t->proto);
}

static void print_event(const struct monitor *m, const struct shown_event *se)
{
	char when[64], ifname[IF_NAMESIZE] = "", who[CG_NAME_MAX + 8];
	char src[MAPVIEW_ENDPOINT6_LEN], dst[MAPVIEW_ENDPOINT6_LEN], pbuf[8];
	const struct cg_event *ev = &se->ev;
	const char *ident, *reason, *proto;
	json_object *o;

	if (!if_indextoname(ev->ifindex, ifname))
		snprintf(ifname, sizeof(ifname), "if%u", ev->ifindex);
	ident = mapview_identity(&m->p->ctx, ev->ident, who, sizeof(who));
	proto = event_tuple(se, src, dst, sizeof(src), pbuf, sizeof(pbuf));
	reason = ev->kind == CG_EVENT_DROP ? drop_reason_name(ev->reason) : "-";
	event_time(ev->time_ns, when, sizeof(when), m->cli->json);
	if (!m->cli->json) {
		printf("%s %-10s %-3s %-13s %-12s %-4s %21s > %-21s %-8s %s\n",
		       when, ifname, hook_direction(ev->hook),
		       hook_name(ev->hook), ident, proto, src, dst,
		       event_kind_name(ev->kind), reason);
		fflush(stdout);
		return;
	}
	/* One JSON object per line, for jq and scripts. */
	o = json_object_new_object();
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "interface", json_object_new_string(ifname));
	json_object_object_add(
		o, "direction",
		json_object_new_string(hook_direction(ev->hook)));
	json_object_object_add(o, "hook",
			       json_object_new_string(hook_name(ev->hook)));
	json_object_object_add(o, "identity", json_object_new_string(ident));
	json_object_object_add(o, "proto", json_object_new_string(proto));
	json_object_object_add(o, "source", json_object_new_string(src));
	json_object_object_add(o, "destination", json_object_new_string(dst));
	json_object_object_add(
		o, "event", json_object_new_string(event_kind_name(ev->kind)));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	json_object_object_add(o, "length", json_object_new_int64(ev->len));
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	json_object_put(o);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct monitor *m = ctx;
	struct shown_event se = { 0 };

	/* Never read past what the kernel handed over. */
	if (size == sizeof(struct cg_event6)) {
		const struct cg_event6 *e6 = data;

		se.ipv6 = true;
		memcpy(&se.ev, e6, offsetof(struct cg_event, tuple));
		se.tuple6 = e6->tuple;
	} else {
		memcpy(&se.ev, data,
		       size < sizeof(se.ev) ? size : sizeof(se.ev));
	}
	if (m->count && m->shown >= m->count)
		return 0;
	if (!wanted(m, &se.ev)) {
		m->filtered++;
		return 0;
	}
	print_event(m, &se);
	m->shown++;
	return 0;
}

/* Push the deadlines LEASE_NS ahead, or with end, drop them. */
static int lease(struct monitor *m, bool end)
{
	uint64_t until = end ? 0 : monotonic_ns() + LEASE_NS;
	struct cg_monitor lease = {
		.drops_until_ns = until,
		.trace_until_ns = m->trace ? until : 0,
		.rate = m->rate,
		/* A burst of a fifth of a second, at most the default. */
		.burst = m->rate ? (m->rate / 5 > CG_EVENT_BURST ?
					    CG_EVENT_BURST :
					    (m->rate / 5 ? m->rate / 5 : 1)) :
				   0,
	};

	return pins_ro_lease(&m->p->pins, &lease);
}

static bool done(const struct monitor *m, uint64_t started)
{
	if (stopping || (m->count && m->shown >= m->count))
		return true;
	return m->duration_s &&
	       monotonic_ns() - started >= m->duration_s * 1000000000ull;
}

static void report(const struct monitor *m, const struct cg_event_stats *a,
		   const struct cg_event_stats *b)
{
	fprintf(stderr,
		"# %lu events shown, %lu filtered out; while monitoring the "
		"programs emitted %" PRIu64 ", rate-limited %" PRIu64
		", lost %" PRIu64 " (ring buffer full)\n",
		m->shown, m->filtered, (uint64_t)(b->emitted - a->emitted),
		(uint64_t)(b->rate_limited - a->rate_limited),
		(uint64_t)(b->lost - a->lost));
}

static int run(struct monitor *m)
{
	struct cg_event_stats before = { 0 }, after = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct ring_buffer *rb;
	uint64_t started, renewed;
	int ret = CLI_OK, n;

	rb = ring_buffer__new(m->p->pins.fd[DP_MAP_EVENTS], on_event, m, NULL);
	if (!rb)
		return cli_fail(CLI_UNREACHABLE, "cg_events: %s",
				strerror(errno));
	/* No SA_RESTART: a signal ends the poll at once. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pins_ro_sum(&m->p->pins, DP_MAP_EVENT_STATS, 0, &before,
		    sizeof(before));
	started = renewed = monotonic_ns();
	if (lease(m, false)) {
		ret = cli_fail(CLI_UNREACHABLE, "cg_monitor: %s",
			       strerror(errno));
		goto out;
	}
	fprintf(stderr, "# monitoring %s%s; Ctrl-C stops\n",
		m->trace ? "drops and new flows" : "drops",
		m->peer ? " of one identity" : "");
	while (!done(m, started)) {
		if (monotonic_ns() - renewed >= RENEW_NS) {
			lease(m, false);
			renewed = monotonic_ns();
		}
		n = ring_buffer__poll(rb, POLL_MS);
		if (n < 0 && n != -EINTR) {
			ret = cli_fail(CLI_UNREACHABLE, "cg_events: %s",
				       strerror(-n));
			break;
		}
	}
	lease(m, true);
	ring_buffer__consume(rb); /* what was emitted before the lease ended */
	pins_ro_sum(&m->p->pins, DP_MAP_EVENT_STATS, 0, &after, sizeof(after));
	report(m, &before, &after);
out:
	ring_buffer__free(rb);
	return ret;
}

int cli_monitor(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "peer", required_argument, NULL, OPT_PEER },
		{ "reason", required_argument, NULL, OPT_REASON },
		{ "trace", no_argument, NULL, OPT_TRACE },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_pinned p = { 0 };
	struct monitor m = { .cli = cli, .p = &p, .reason = -1 };
	int ret;

	ret = cli_parse(cli, argc, argv, opts, monitor_option, &m, NULL, 0);
	if (ret)
		return ret;
	/* The lease is written; the ring's consumer position is mapped
	 * writable. Every other map is opened read-only. */
	ret = cli_pinned_open(cli, &p,
			      PINS_RW(DP_MAP_MONITOR) | PINS_RW(DP_MAP_EVENTS));
	if (ret)
		return ret;
	ret = resolve_peer(&m);
	if (!ret)
		ret = run(&m);
	cli_pinned_close(&p);
	return ret;
}
