// SPDX-License-Identifier: MIT
/*
 * GET /metrics: the cell's numbers as Prometheus families. Counters come
 * from the pinned per-CPU maps (summed over CPUs, read in batches), table
 * sizes from one walk of each table, handshakes from WireGuard, the rest
 * from the controller. Names and labels are a contract with dashboards:
 * add, never rename (README, "Metrics"); the one rename so far,
 * _last_handshake_seconds to _last_handshake_timestamp_seconds, made the
 * name say it holds a Unix time, as Prometheus' naming rules ask.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "controller.h"
#include "exporter.h"
#include "log.h"
#include "mapread.h"
#include "programs.h"
#include "metrics.h"
#include "wg.h"

#define COUNTER "counter"
#define GAUGE "gauge"

/* ---- identities: peers and linked cells ---------------------------------- */

static int cmp_wg_peer(const void *a, const void *b)
{
	return memcmp(((const struct wg_peer *)a)->public_key,
		      ((const struct wg_peer *)b)->public_key, WG_KEY_LEN);
}

/* The last handshake (unix seconds) of key; 0 if never or unknown. dev's
 * peers are sorted by key. */
static int64_t handshake_of(const struct wg_device *dev, const uint8_t *key)
{
	struct wg_peer probe;
	const struct wg_peer *p;

	if (!dev->n_peers)
		return 0;
	memcpy(probe.public_key, key, WG_KEY_LEN);
	p = bsearch(&probe, dev->peers, dev->n_peers, sizeof(*p), cmp_wg_peer);
	return p ? p->last_handshake_sec : 0;
}

/* One counter family over every identity of a kind; field picks the
 * counter out of its sums. */
static void ident_counter(struct metrics *m, const char *kind, const char *what,
			  const char *help, const struct ident_ref *refs,
			  size_t n, const struct cg_counters *sums,
			  size_t field)
{
	char name[96];
	uint64_t v;
	size_t i;

	snprintf(name, sizeof(name), "cellgate_%s_%s_total", kind, what);
	metrics_family(m, name, COUNTER, help);
	for (i = 0; i < n; i++) {
		memcpy(&v, (const char *)&sums[refs[i].id] + field, sizeof(v));
		metrics_u64(m, v, kind, refs[i].name, NULL);
	}
}

void exporter_ident_families(struct metrics *m, const char *kind,
			     const struct ident_ref *refs, size_t n,
			     const struct cg_counters *sums,
			     const struct wg_device *dev, int64_t now)
{
	char name[96], help[160];
	int64_t hs;
	size_t i;
	int r;

	ident_counter(m, kind, "rx_packets",
		      "Packets received from it over WireGuard (passed).", refs,
		      n, sums, offsetof(struct cg_counters, rx_packets));
	ident_counter(m, kind, "rx_bytes",
		      "IP bytes received from it over WireGuard (passed).",
		      refs, n, sums, offsetof(struct cg_counters, rx_bytes));
	ident_counter(m, kind, "tx_packets",
		      "Packets sent to it over WireGuard.", refs, n, sums,
		      offsetof(struct cg_counters, tx_packets));
	ident_counter(m, kind, "tx_bytes",
		      "IP bytes sent to it over WireGuard.", refs, n, sums,
		      offsetof(struct cg_counters, tx_bytes));

	snprintf(name, sizeof(name), "cellgate_%s_drops_total", kind);
	snprintf(help, sizeof(help),
		 "Packets from or to the %s dropped, by reason (every "
		 "reason, 0 until it happens).",
		 kind);
	metrics_family(m, name, COUNTER, help);
	/* Every reason from the start: a series that appears only at its
	 * first drop has no earlier 0, so rate() and increase() miss that
	 * drop and an alert on it never fires. The enum bounds the count. */
	for (i = 0; i < n; i++)
		for (r = 1; r < CG_DROP__MAX; r++)
			metrics_u64(m, sums[refs[i].id].drops[r], kind,
				    refs[i].name, "reason", drop_reason_name(r),
				    NULL);

	snprintf(name, sizeof(name),
		 "cellgate_%s_last_handshake_timestamp_seconds", kind);
	metrics_family(m, name, GAUGE,
		       "Unix time of the last WireGuard handshake (0: never).");
	for (i = 0; i < n; i++)
		metrics_u64(m, (uint64_t)handshake_of(dev, refs[i].key), kind,
			    refs[i].name, NULL);

	snprintf(name, sizeof(name), "cellgate_%s_handshake_age_seconds", kind);
	metrics_family(m, name, GAUGE,
		       "Seconds since the last WireGuard handshake (absent: "
		       "never).");
	for (i = 0; i < n; i++) {
		hs = handshake_of(dev, refs[i].key);
		if (hs)
			metrics_u64(m, (uint64_t)(now > hs ? now - hs : 0),
				    kind, refs[i].name, NULL);
	}
}

/* Drops charged to no peer or cell (CG_IDENT_UNKNOWN): unknown sources,
 * malformed packets. Every reason, so a dashboard can rate() them. */
static void unattributed(struct metrics *m, const struct cg_counters *unknown)
{
	int r;

	metrics_family(m, "cellgate_unattributed_drops_total", COUNTER,
		       "Packets dropped that belong to no peer or cell, by "
		       "reason.");
	for (r = 1; r < CG_DROP__MAX; r++)
		metrics_u64(m, unknown->drops[r], "reason", drop_reason_name(r),
			    NULL);
}

/* Sums over every peer: what stays when per-peer series stop. */
static void peer_totals(struct controller *c, struct metrics *m,
			const struct cg_counters *sums, bool per_peer)
{
	static const struct {
		const char *name, *help;
		size_t field;
	} fams[] = {
		{ "cellgate_peers_rx_packets_total",
		  "Packets received from all peers (passed).",
		  offsetof(struct cg_counters, rx_packets) },
		{ "cellgate_peers_rx_bytes_total",
		  "IP bytes received from all peers (passed).",
		  offsetof(struct cg_counters, rx_bytes) },
		{ "cellgate_peers_tx_packets_total",
		  "Packets sent to all peers.",
		  offsetof(struct cg_counters, tx_packets) },
		{ "cellgate_peers_tx_bytes_total",
		  "IP bytes sent to all peers.",
		  offsetof(struct cg_counters, tx_bytes) },
	};
	const struct cg_state *st = &c->state;
	uint64_t total[ARRAY_SIZE(fams)] = { 0 }, drops[CG_DROP__MAX] = { 0 };
	uint64_t v;
	size_t i, f;
	int r;

	for (i = 0; i < st->n_peers; i++) {
		const struct cg_counters *s = &sums[st->peers[i].id];

		for (f = 0; f < ARRAY_SIZE(fams); f++) {
			memcpy(&v, (const char *)s + fams[f].field, sizeof(v));
			total[f] += v;
		}
		for (r = 1; r < CG_DROP__MAX; r++)
			drops[r] += s->drops[r];
	}
	for (f = 0; f < ARRAY_SIZE(fams); f++) {
		metrics_family(m, fams[f].name, COUNTER, fams[f].help);
		metrics_u64(m, total[f], NULL);
	}
	metrics_family(m, "cellgate_peers_drops_total", COUNTER,
		       "Packets from or to any peer dropped, by reason.");
	for (r = 1; r < CG_DROP__MAX; r++)
		metrics_u64(m, drops[r], "reason", drop_reason_name(r), NULL);
	metrics_family(m, "cellgate_peers_recent_handshakes", GAUGE,
		       "Peers with a WireGuard handshake in the last 180 s "
		       "(as of the last drift check, every 5 s).");
	metrics_u64(m, c->wg_recent_handshakes, NULL);
	metrics_family(m, "cellgate_metrics_per_peer_series", GAUGE,
		       "1 while per-peer series are exported; 0 above "
		       "metrics.per_peer_limit peers (the cellgate_peers_* "
		       "sums stay).");
	metrics_u64(m, per_peer ? 1 : 0, NULL);
}

/* Per-peer series, unless the cell has more peers than the config's
 * metrics.per_peer_limit. */
static bool per_peer_series(const struct controller *c)
{
	return c->state.n_peers <= c->cfg.metrics.per_peer_limit;
}

static void identities(struct controller *c, struct metrics *m,
		       const struct wg_device *dev)
{
	const struct cg_state *st = &c->state;
	struct ident_ref *peers = calloc(st->n_peers + 1, sizeof(*peers));
	struct ident_ref *cells = calloc(st->n_cells + 1, sizeof(*cells));
	struct cg_counters *sums = NULL;
	uint32_t max_id = 0;
	size_t i;

	for (i = 0; i < st->n_peers; i++)
		max_id = st->peers[i].id > max_id ? st->peers[i].id : max_id;
	for (i = 0; i < st->n_cells; i++)
		max_id = st->cells[i].id > max_id ? st->cells[i].id : max_id;
	sums = calloc((size_t)max_id + 1, sizeof(*sums));
	if (!peers || !cells || !sums ||
	    dp_counters_all(&c->dp, sums, max_id + 1)) {
		m->failed = true;
		goto out;
	}
	for (i = 0; i < st->n_peers; i++)
		peers[i] =
			(struct ident_ref){ st->peers[i].name, st->peers[i].id,
					    st->peers[i].public_key };
	for (i = 0; i < st->n_cells; i++)
		cells[i] = (struct ident_ref){ st->cells[i].info.cell_name,
					       st->cells[i].id,
					       st->cells[i].info.public_key };
	exporter_ident_families(m, "peer", peers,
				per_peer_series(c) ? st->n_peers : 0, sums, dev,
				time(NULL));
	peer_totals(c, m, sums, per_peer_series(c));
	exporter_ident_families(m, "cell", cells, st->n_cells, sums, dev,
				time(NULL));
	unattributed(m, &sums[CG_IDENT_UNKNOWN]);
out:
	free(peers);
	free(cells);
	free(sums);
}

/* Peer-sync with each linked cell: our permissions pushed to it. */
static void cell_sync(struct controller *c, struct metrics *m)
{
	const struct cg_state *st = &c->state;
	size_t i;

	metrics_family(m, "cellgate_cell_sync_pushes_total", COUNTER,
		       "Pushes of our permissions to the cell tried since the "
		       "controller started.");
	for (i = 0; i < st->n_cells; i++)
		metrics_u64(m, st->cells[i].pushes, "cell",
			    st->cells[i].info.cell_name, NULL);
	metrics_family(
		m, "cellgate_cell_sync_push_failures_total", COUNTER,
		"Pushes to the cell that failed (retried with backoff).");
	for (i = 0; i < st->n_cells; i++)
		metrics_u64(m, st->cells[i].push_failures, "cell",
			    st->cells[i].info.cell_name, NULL);
	metrics_family(m, "cellgate_cell_sync_pending", GAUGE,
		       "1 while a change has not reached the cell yet.");
	for (i = 0; i < st->n_cells; i++)
		metrics_u64(m, st->cells[i].pending_push ? 1 : 0, "cell",
			    st->cells[i].info.cell_name, NULL);
	metrics_family(m, "cellgate_cell_sync_refused_total", COUNTER,
		       "Cell-to-cell calls refused (403) since the controller "
		       "started, by reason: not_linked_address, wrong_key, "
		       "bad_timestamp, bad_signature, replay, no_invite.");
	for (i = 0; i < CELL_REFUSED__MAX; i++)
		metrics_u64(m, c->sync_refused.count[i], "reason",
			    cell_refused_names[i], NULL);
}

/* ---- forwards and services ------------------------------------------------ */

static void forwards(struct controller *c, struct metrics *m)
{
	static const struct {
		const char *name, *help;
		size_t field;
	} fams[] = {
		{ "cellgate_forward_packets_total",
		  "Packets translated toward the forward's target.",
		  offsetof(struct cg_fwd_counters, packets) },
		{ "cellgate_forward_bytes_total",
		  "IP bytes translated toward the forward's target.",
		  offsetof(struct cg_fwd_counters, bytes) },
		{ "cellgate_forward_denied_total",
		  "New flows refused by the forward's allow_from.",
		  offsetof(struct cg_fwd_counters, denied) },
		{ "cellgate_forward_nat_failures_total",
		  "New flows dropped: no NAT port could be allocated.",
		  offsetof(struct cg_fwd_counters, nat_failed) },
	};
	const struct cg_state *st = &c->state;
	struct cg_fwd_counters *sums =
		calloc(st->n_forwards + 1, sizeof(*sums));
	size_t f, i;
	uint64_t v;

	if (!sums) {
		m->failed = true;
		return;
	}
	for (i = 0; i < st->n_forwards; i++)
		dp_fwd_counters(&c->dp, st->forwards[i].slot, &sums[i]);
	for (f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		metrics_family(m, fams[f].name, COUNTER, fams[f].help);
		for (i = 0; i < st->n_forwards; i++) {
			memcpy(&v, (const char *)&sums[i] + fams[f].field,
			       sizeof(v));
			metrics_u64(m, v, "forward", st->forwards[i].id, NULL);
		}
	}
	free(sums);
}

static void services(struct controller *c, struct metrics *m)
{
	static struct cg_service_counters sums[CG_MAX_SERVICES];
	const struct cg_state *st = &c->state;
	const struct cg_service_def *svc;
	size_t i;

	/* static: called under the controller's lock only. */
	if (dp_service_counters_all(&c->dp, sums)) {
		m->failed = true;
		return;
	}
	metrics_family(m, "cellgate_service_new_flows_total", COUNTER,
		       "New flows toward the service, by verdict (allowed, or "
		       "denied: not in the peer's or cell's access).");
	for (i = 0; i < st->n_services; i++) {
		svc = &st->services[i];
		if (svc->id >= CG_MAX_SERVICES)
			continue;
		metrics_u64(m, sums[svc->id].allowed, "service", svc->name,
			    "verdict", "allowed", NULL);
		metrics_u64(m, sums[svc->id].denied, "service", svc->name,
			    "verdict", "denied", NULL);
	}
	metrics_u64(m, sums[CG_SYNC_SERVICE_ID].allowed, "service",
		    CG_SYNC_SERVICE_NAME, "verdict", "allowed", NULL);
	metrics_u64(m, sums[CG_SYNC_SERVICE_ID].denied, "service",
		    CG_SYNC_SERVICE_NAME, "verdict", "denied", NULL);
	metrics_u64(m, sums[CG_PEER_API_SERVICE_ID].allowed, "service",
		    CG_PEER_API_SERVICE_NAME, "verdict", "allowed", NULL);
	metrics_u64(m, sums[CG_PEER_API_SERVICE_ID].denied, "service",
		    CG_PEER_API_SERVICE_NAME, "verdict", "denied", NULL);
}

/* ---- tables and maps --------------------------------------------------------- */

/* One walk of each LRU table: entries in total and by state or kind. */
struct table_census {
	uint64_t entries[CG_TABLE__MAX];
	uint64_t ct_state[CG_TABLE__MAX][4]; /* by enum cg_ct_state */
	uint64_t nat_kind[8]; /* by enum cg_nat_kind */
	/* cg_ct6_tcp and cg_ct6_other, in CG_TABLE_CT_TCP/_OTHER's order
	 * (cg_table_stats has no IPv6 slots: no eviction count). */
	uint64_t entries6[2];
	uint64_t ct6_state[2][4];
};

static int count_ct(const void *key, const void *value, void *ctx)
{
	const struct cg_ct_entry *e = value;
	uint64_t *by_state = ctx;

	(void)key;
	by_state[(unsigned int)e->state < 4 ? e->state : 0]++;
	return 0;
}

static int count_nat(const void *key, const void *value, void *ctx)
{
	const struct cg_nat_entry *e = value;
	uint64_t *by_kind = ctx;

	(void)key;
	by_kind[(unsigned int)e->kind < 8 ? e->kind : 0]++;
	return 0;
}

static int take_census6(const struct dataplane *dp, struct table_census *tc)
{
	static const enum dp_map maps[2] = { DP_MAP_CT6_TCP, DP_MAP_CT6_OTHER };
	int i, n;

	for (i = 0; i < 2; i++) {
		n = map_for_each(dp->map_fd[maps[i]], dp->ncpus, count_ct,
				 tc->ct6_state[i]);
		if (n < 0)
			return n;
		tc->entries6[i] = (uint64_t)n;
	}
	return 0;
}

static int take_census(const struct dataplane *dp, struct table_census *tc)
{
	int n;

	memset(tc, 0, sizeof(*tc));
	n = map_for_each(dp->map_fd[DP_MAP_CT_TCP], dp->ncpus, count_ct,
			 tc->ct_state[CG_TABLE_CT_TCP]);
	if (n < 0)
		return n;
	tc->entries[CG_TABLE_CT_TCP] = (uint64_t)n;
	n = map_for_each(dp->map_fd[DP_MAP_CT_OTHER], dp->ncpus, count_ct,
			 tc->ct_state[CG_TABLE_CT_OTHER]);
	if (n < 0)
		return n;
	tc->entries[CG_TABLE_CT_OTHER] = (uint64_t)n;
	n = take_census6(dp, tc);
	if (n < 0)
		return n;
	n = map_for_each(dp->map_fd[DP_MAP_NAT], dp->ncpus, count_nat,
			 tc->nat_kind);
	if (n < 0)
		return n;
	tc->entries[CG_TABLE_NAT] = (uint64_t)n;
	return 0;
}

/* Entries neither removed on purpose nor present: what the kernel's LRU
 * reclaimed (plus what was created or removed while we counted, which
 * the next scrape settles). */
static int lru_unaccounted(const struct dataplane *dp,
			   const struct table_census *tc,
			   int64_t out[CG_TABLE__MAX])
{
	struct cg_table_stats ts;
	int t, ret = dp_table_stats(dp, &ts);

	for (t = 0; !ret && t < CG_TABLE__MAX; t++)
		out[t] = (int64_t)(ts.created[t] - ts.removed[t] -
				   tc->entries[t]);
	return ret;
}

int ctl_metrics_start(struct controller *c)
{
	struct table_census tc;
	int ret = take_census(&c->dp, &tc);

	if (!ret)
		ret = lru_unaccounted(&c->dp, &tc, c->lru.base);
	if (ret)
		log_warn("metrics: cannot read the tables (%s): LRU "
			 "evictions are counted from the first scrape",
			 strerror(-ret));
	c->lru.have_base = ret == 0;
	return ret;
}

static const char *const table_maps[CG_TABLE__MAX] = {
	[CG_TABLE_CT_TCP] = "cg_ct_tcp",
	[CG_TABLE_CT_OTHER] = "cg_ct_other",
	[CG_TABLE_NAT] = "cg_nat",
};

static void lru_evictions(struct controller *c, struct metrics *m,
			  const struct table_census *tc)
{
	int64_t now[CG_TABLE__MAX];
	int t;

	if (lru_unaccounted(&c->dp, tc, now)) {
		m->failed = true;
		return;
	}
	if (!c->lru.have_base) {
		memcpy(c->lru.base, now, sizeof(now));
		c->lru.have_base = true;
	}
	metrics_family(m, "cellgate_lru_evictions_total", COUNTER,
		       "Entries the kernel evicted from a full LRU table since "
		       "the controller started (created - removed - present).");
	for (t = 0; t < CG_TABLE__MAX; t++) {
		/* Never backwards: a count taken mid-change settles later. */
		if (now[t] - c->lru.base[t] > (int64_t)c->lru.evicted[t])
			c->lru.evicted[t] = (uint64_t)(now[t] - c->lru.base[t]);
		metrics_u64(m, c->lru.evicted[t], "map", table_maps[t], NULL);
	}
}

static void tables(struct controller *c, struct metrics *m,
		   const struct table_census *tc)
{
	static const char *const ct_tables[2] = { "tcp", "other" };
	static const char *const ct6_tables[2] = { "tcp6", "other6" };
	int t, i;

	metrics_family(m, "cellgate_conntrack_entries", GAUGE,
		       "Tracked flows by table and state (expired ones "
		       "included until collected).");
	for (t = CG_TABLE_CT_TCP; t <= CG_TABLE_CT_OTHER; t++)
		for (i = 1; i < 4; i++)
			metrics_u64(m, tc->ct_state[t][i], "table",
				    ct_tables[t], "state", ct_state_name(i),
				    NULL);
	for (t = 0; t < 2; t++)
		for (i = 1; i < 4; i++)
			metrics_u64(m, tc->ct6_state[t][i], "table",
				    ct6_tables[t], "state", ct_state_name(i),
				    NULL);
	metrics_family(m, "cellgate_nat_entries", GAUGE,
		       "NAT entries (two per translated flow) by kind.");
	for (i = 1; i < 7; i++)
		metrics_u64(m, tc->nat_kind[i], "kind", nat_kind_name(i), NULL);
	lru_evictions(c, m, tc);
}

/* Every map: entries, capacity, kernel memory. */
static void maps(struct controller *c, struct metrics *m,
		 const struct table_census *tc)
{
	struct dp_map_usage u[DP_MAP__COUNT];
	bool ok[DP_MAP__COUNT];
	int i;

	for (i = 0; i < DP_MAP__COUNT; i++)
		ok[i] = dp_map_usage_of(
				&c->dp, i, &u[i],
				i == DP_MAP_CT_TCP ?
					tc->entries[CG_TABLE_CT_TCP] :
				i == DP_MAP_CT_OTHER ?
					tc->entries[CG_TABLE_CT_OTHER] :
				i == DP_MAP_NAT ? tc->entries[CG_TABLE_NAT] :
				i == DP_MAP_CT6_TCP   ? tc->entries6[0] :
				i == DP_MAP_CT6_OTHER ? tc->entries6[1] :
							UINT64_MAX) == 0;
	metrics_family(m, "cellgate_map_entries", GAUGE,
		       "Entries in a BPF map (arrays are always full).");
	for (i = 0; i < DP_MAP__COUNT; i++)
		if (ok[i])
			metrics_u64(m, u[i].entries, "map", u[i].name, NULL);
	metrics_family(m, "cellgate_map_capacity", GAUGE,
		       "Entries a BPF map can hold (max_entries).");
	for (i = 0; i < DP_MAP__COUNT; i++)
		if (ok[i])
			metrics_u64(m, u[i].capacity, "map", u[i].name, NULL);
	metrics_family(m, "cellgate_map_memory_bytes", GAUGE,
		       "Kernel memory of a BPF map (fdinfo memlock).");
	for (i = 0; i < DP_MAP__COUNT; i++)
		metrics_u64(m, map_memory_bytes(c->dp.map_fd[i]), "map",
			    dp_map_name(i), NULL);
}

/* ---- NAT, events, the controller ------------------------------------------- */

static void nat(struct controller *c, struct metrics *m)
{
	struct cg_nat_stats st;

	if (dp_nat_stats(&c->dp, &st)) {
		m->failed = true;
		return;
	}
	metrics_family(m, "cellgate_nat_flows_created_total", COUNTER,
		       "Flows given a NAT translation.");
	metrics_u64(m, st.created, NULL);
	metrics_family(m, "cellgate_nat_port_collisions_total", COUNTER,
		       "Candidate NAT ports found taken while allocating.");
	metrics_u64(m, st.port_collisions, NULL);
	metrics_family(m, "cellgate_nat_exhausted_total", COUNTER,
		       "Flows dropped: no free NAT port in 32 tries.");
	metrics_u64(m, st.exhausted, NULL);
}

static void events(struct controller *c, struct metrics *m)
{
	struct cg_event_stats st;

	if (dp_event_stats(&c->dp, &st)) {
		m->failed = true;
		return;
	}
	metrics_family(m, "cellgate_monitor_events_total", COUNTER,
		       "Drop and trace events for `cellgate monitor`, by "
		       "outcome: emitted, rate_limited (by the per-CPU "
		       "bucket), lost (ring buffer full).");
	metrics_u64(m, st.emitted, "outcome", "emitted", NULL);
	metrics_u64(m, st.rate_limited, "outcome", "rate_limited", NULL);
	metrics_u64(m, st.lost, "outcome", "lost", NULL);
}

static void controller_counters(struct controller *c, struct metrics *m)
{
	metrics_family(m, "cellgate_wireguard_repairs_total", COUNTER,
		       "WireGuard peers re-programmed because they drifted "
		       "from the state.");
	metrics_u64(m, c->stats.wg_repairs, NULL);
	metrics_family(m, "cellgate_conntrack_gc_deleted_total", COUNTER,
		       "Expired conntrack and NAT entries the controller "
		       "collected.");
	metrics_u64(m, c->stats.ct_gc_deleted, NULL);
	metrics_family(m, "cellgate_state_writes_total", COUNTER,
		       "Changes made durable: journal lines and "
		       "snapshots of the state file.");
	metrics_u64(m, c->stats.state_writes, NULL);
	metrics_family(m, "cellgate_state_journal_bytes", GAUGE,
		       "Bytes of the state's journal since its snapshot "
		       "(compacted past max(4 MiB, the snapshot's size)).");
	metrics_u64(m, c->journal.bytes, NULL);
	metrics_family(m, "cellgate_state_compactions_total", COUNTER,
		       "Snapshots of the state written off the lock, the "
		       "journal folded in.");
	metrics_u64(m, c->journal.compactions, NULL);
	metrics_family(m, "cellgate_state_compaction_failures_total", COUNTER,
		       "Compactions that could not write the snapshot (the "
		       "journal goes on; the next one retries).");
	metrics_u64(m, c->journal.compaction_failures, NULL);
	metrics_family(m, "cellgate_tick_cpu_seconds_total", COUNTER,
		       "CPU time of the periodic work (heal and join "
		       "checks, conntrack GC, WireGuard drift repair, map "
		       "resync).");
	metrics_f64(m, (double)c->stats.tick_cpu_ns / 1e9, NULL);
	metrics_family(m, "cellgate_wireguard_check_interval_seconds", GAUGE,
		       "Interval of the WireGuard drift check: 5 s, longer "
		       "when a check costs more than 0.5 % of it (a "
		       "wireguard-go dump of many peers).");
	metrics_f64(m, (double)c->stats.wg_check_interval_ns / 1e9, NULL);
	ctl_heal_metrics(c, m);
	ctl_exits_metrics(c, m);
	ctl_ports_metrics(c, m);
	metrics_family(m, "cellgate_state_fell_back", GAUGE,
		       "1 when this start's state is not the newest generation "
		       "(it did not validate: see GET /api/status \"state\").");
	metrics_u64(m, c->recovery.fell_back, NULL);
	metrics_family(m, "cellgate_state_generation", GAUGE,
		       "The state journal's current generation.");
	metrics_u64(m, c->journal.gen, NULL);
	ctl_join_metrics(c, m);

	metrics_family(m, "cellgate_peers", GAUGE, "Peers configured.");
	metrics_u64(m, c->state.n_peers, NULL);
	metrics_family(m, "cellgate_cells", GAUGE, "Cells linked.");
	metrics_u64(m, c->state.n_cells, NULL);
	metrics_family(m, "cellgate_services", GAUGE, "Services defined.");
	metrics_u64(m, c->state.n_services, NULL);
	metrics_family(m, "cellgate_forwards", GAUGE, "Port forwards.");
	metrics_u64(m, c->state.n_forwards, NULL);
	/* No per-rule hit counter: the datapath looks up a class pair,
	 * whose ports merge every rule between the two classes, so a hit
	 * has no one rule to credit; what rules deny counts as each
	 * peer's peer_isolation drops, and cg_rules' size is a
	 * cellgate_map_entries series. */
	metrics_family(m, "cellgate_rules", GAUGE, "Rules between peers.");
	metrics_u64(m, c->state.n_rules, NULL);
}

static void programs(struct controller *c, struct metrics *m)
{
	struct ctl_program progs[4];
	struct bpf_prog_info info[4];
	struct xdp_state xs;
	size_t i, n = ctl_programs(&c->cfg, &c->dp, progs, &xs);
	__u32 len;

	metrics_family(m, "cellgate_program_attached", GAUGE,
		       "1 when the program is attached to its interface.");
	for (i = 0; i < n; i++)
		metrics_u64(m, progs[i].attached ? 1 : 0, "interface",
			    progs[i].ifname, "hook", progs[i].hook, NULL);
	metrics_family(m, "cellgate_program_verified_insns", GAUGE,
		       "Instructions the verifier processed for the program.");
	for (i = 0; i < n; i++) {
		memset(&info[i], 0, sizeof(info[i]));
		len = sizeof(info[i]);
		if (bpf_obj_get_info_by_fd(progs[i].fd, &info[i], &len) == 0)
			metrics_u64(m, info[i].verified_insns, "interface",
				    progs[i].ifname, "hook", progs[i].hook,
				    NULL);
	}
	if (n < 4)
		return;
	metrics_family(m, "cellgate_xdp_info", GAUGE,
		       "How XDP runs on the uplink: mode (native, generic, "
		       "none) and libxdp (multiprog, or single-program "
		       "fallback where the kernel refuses freplace).");
	metrics_u64(m, 1, "interface", progs[3].ifname, "mode", xs.mode,
		    "libxdp", ctl_libxdp_way(&xs), NULL);
}

/* ---- the process --------------------------------------------------------- */

static void process(struct controller *c, struct metrics *m)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long size = 0, resident = 0;
	struct rusage ru;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	metrics_family(m, "process_resident_memory_bytes", GAUGE,
		       "Resident memory size in bytes.");
	metrics_u64(m, (uint64_t)resident * (uint64_t)page, NULL);
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		metrics_family(m, "process_cpu_seconds_total", COUNTER,
			       "User and system CPU time spent in seconds.");
		metrics_f64(m,
			    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
				    (double)(ru.ru_utime.tv_usec +
					     ru.ru_stime.tv_usec) /
					    1e6,
			    NULL);
	}
	metrics_family(m, "process_start_time_seconds", GAUGE,
		       "Start time of the process since unix epoch in "
		       "seconds.");
	metrics_u64(m, (uint64_t)c->started_at, NULL);
	metrics_family(m, "cellgate_build_info", GAUGE,
		       "Always 1; the labels say which cellgate runs.");
	metrics_u64(m, 1, "version", CG_VERSION, "libbpf",
		    libbpf_version_string(), NULL);
}

int ctl_metrics(struct controller *c, char **text, size_t *len)
{
	struct wg_device dev = { 0 };
	struct table_census tc;
	struct metrics m;

	bool per_peer;

	/* Per-peer handshakes need WireGuard's peers: read first, without
	 * the lock (a userspace WireGuard with many peers takes a while to
	 * list them); above the limit, the totals use the tick's count. */
	pthread_mutex_lock(&c->lock);
	per_peer = per_peer_series(c) || c->state.n_cells;
	pthread_mutex_unlock(&c->lock);
	if (per_peer && wg_get_device(c->cfg.wireguard.interface, &dev) == 0)
		qsort(dev.peers, dev.n_peers, sizeof(*dev.peers), cmp_wg_peer);
	metrics_init(&m);
	/* The GC's lock first (the order is gc_lock, lock): the census
	 * must not see a sweep's deletions before they are accounted. */
	pthread_mutex_lock(&c->gc_lock);
	pthread_mutex_lock(&c->lock);
	identities(c, &m, &dev);
	cell_sync(c, &m);
	forwards(c, &m);
	services(c, &m);
	ctl_groups_metrics(c, &m);
	if (take_census(&c->dp, &tc) == 0) {
		tables(c, &m, &tc);
		maps(c, &m, &tc);
	} else {
		m.failed = true;
	}
	nat(c, &m);
	events(c, &m);
	controller_counters(c, &m);
	programs(c, &m);
	if (c->more_metrics)
		c->more_metrics(&m);
	process(c, &m);
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_unlock(&c->gc_lock);
	wg_device_free(&dev);
	if (m.failed) {
		log_warn("metrics: a family could not be read or written");
		metrics_free(&m);
		return -EIO;
	}
	*text = m.text;
	*len = m.len;
	return 0;
}
