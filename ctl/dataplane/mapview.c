// SPDX-License-Identifier: MIT
/* Decoding the pinned maps' entries into rows (mapview.h). */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "abi_names.h"
#include "cell.h"
#include "mapread.h"
#include "mapview.h"
#include "mapview_cells.h"
#include "state.h"
#include "util.h"

/* ---- one function per map ------------------------------------------------ */

static void put_identity_value(const struct mapview_ctx *ctx, json_object *row,
			       const struct cg_identity *v)
{
	mv_put_identity(ctx, row, "identity", v->id);
	mv_put_int(row, "id", v->id);
	mv_put_int(row, "epoch", v->epoch);
	mv_put_services(ctx, row, v->services);
	mv_put_bool(row, "internet", v->internet_access);
	mv_put_bool(row, "peer_to_peer", v->peer_to_peer);
	mv_put_int(row, "rule_class", (int64_t)(v->rule_class & INT64_MAX));
}

static void peers_rows(const struct mapview_ctx *ctx, const void *key,
		       const void *value, json_object *rows)
{
	const struct cg_addr_key *k = key;
	json_object *row = mv_new_row(rows);

	mv_put_addr(row, "address", k->addr);
	put_identity_value(ctx, row, value);
}

/* ---- IPv6 keys ------------------------------------------------------------ */

static void put_addr6(json_object *row, const char *key, const uint8_t a[16])
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, a, buf, sizeof(buf));
	mv_put_str(row, key, buf);
}

static void put_prefix6(json_object *row, const char *key, const uint8_t a[16],
			uint32_t len)
{
	char addr[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 12];

	inet_ntop(AF_INET6, a, addr, sizeof(addr));
	snprintf(buf, sizeof(buf), "%s/%u", addr, len);
	mv_put_str(row, key, buf);
}

static void peers6_rows(const struct mapview_ctx *ctx, const void *key,
			const void *value, json_object *rows)
{
	const struct cg_addr6_key *k = key;
	json_object *row = mv_new_row(rows);

	put_addr6(row, "address", k->addr);
	put_identity_value(ctx, row, value);
}

static void cells6_rows(const struct mapview_ctx *ctx, const void *key,
			const void *value, json_object *rows)
{
	const struct cg_lpm6_key *k = key;
	json_object *row = mv_new_row(rows);

	put_prefix6(row, "subnet", k->addr, k->prefixlen);
	put_identity_value(ctx, row, value);
}

static void local_nets6_rows(const struct mapview_ctx *ctx, const void *key,
			     const void *value, json_object *rows)
{
	const struct cg_lpm6_key *k = key;
	const struct cg_local_net *v = value;
	json_object *row = mv_new_row(rows);

	(void)ctx;
	put_prefix6(row, "network", k->addr, k->prefixlen);
	mv_put_str(row, "kind", net_kind_name(v->kind));
}

static void services6_rows(const struct mapview_ctx *ctx, const void *key,
			   const void *value, json_object *rows)
{
	const struct cg_service6_key *k = key;
	const struct cg_service *v = value;
	json_object *row = mv_new_row(rows);

	mv_put_service(ctx, row, "service", v->service_id);
	mv_put_proto(row, "proto", k->proto);
	put_addr6(row, "address", k->addr);
	mv_put_int(row, "port", k->port); /* 0: every port */
}

static void settings6_rows(const struct mapview_ctx *ctx, const void *key,
			   const void *value, json_object *rows)
{
	const struct cg_settings6 *v = value;
	json_object *row = mv_new_row(rows);

	(void)ctx;
	(void)key;
	put_addr6(row, "wg_address", v->wg_addr);
	put_addr6(row, "uplink_address", v->uplink_addr);
	put_prefix6(row, "prefix", v->prefix, v->prefix_len);
}

static void cells_rows(const struct mapview_ctx *ctx, const void *key,
		       const void *value, json_object *rows)
{
	const struct cg_lpm_key *k = key;
	json_object *row = mv_new_row(rows);

	mv_put_prefix(row, "subnet", k->addr, k->prefixlen);
	put_identity_value(ctx, row, value);
}

static void local_nets_rows(const struct mapview_ctx *ctx, const void *key,
			    const void *value, json_object *rows)
{
	const struct cg_lpm_key *k = key;
	const struct cg_local_net *v = value;
	json_object *row = mv_new_row(rows);

	(void)ctx;
	mv_put_prefix(row, "network", k->addr, k->prefixlen);
	mv_put_str(row, "kind", net_kind_name(v->kind));
}

static void bridge_src_rows(const struct mapview_ctx *ctx, const void *key,
			    const void *value, json_object *rows)
{
	const struct cg_bridge_src *v = value;
	json_object *row = mv_new_row(rows);

	(void)ctx;
	mv_put_addr(row, "address", key);
	mv_put_str(row, "kind", bridge_src_kind_name(v->kind));
}

static void bridge_bind_rows(const struct mapview_ctx *ctx, const void *key,
			     const void *value, json_object *rows)
{
	json_object *row = mv_new_row(rows);

	(void)ctx;
	mv_put_addr(row, "address", key);
	mv_put_int(row, "port", *(const uint32_t *)value);
}

static void bridge_nets_rows(const struct mapview_ctx *ctx, const void *key,
			     const void *value, json_object *rows)
{
	const struct cg_lpm_key *k = key;

	(void)ctx;
	(void)value;
	mv_put_prefix(mv_new_row(rows), "network", k->addr, k->prefixlen);
}

static void services_rows(const struct mapview_ctx *ctx, const void *key,
			  const void *value, json_object *rows)
{
	const struct cg_service_key *k = key;
	const struct cg_service *v = value;
	json_object *row = mv_new_row(rows);

	mv_put_service(ctx, row, "service", v->service_id);
	mv_put_proto(row, "proto", k->proto);
	mv_put_addr(row, "address", k->addr);
	mv_put_int(row, "port", k->port); /* 0: every port */
}

static void conntrack_rows(const struct mapview_ctx *ctx, const void *key,
			   const void *value, json_object *rows)
{
	const struct cg_ct_key *k = key;
	const struct cg_ct_entry *v = value;
	json_object *row = mv_new_row(rows);

	/* Keys are canonical: the original direction may be reversed. */
	bool rev = v->key_rev;

	mv_put_proto(row, "proto", k->proto);
	mv_put_endpoint(row, "source", rev ? k->daddr : k->saddr,
			rev ? k->dport : k->sport, k->proto);
	mv_put_endpoint(row, "destination", rev ? k->saddr : k->daddr,
			rev ? k->sport : k->dport, k->proto);
	mv_put_str(row, "state", ct_state_name(v->state));
	mv_put_str(row, "origin", ct_origin_name(v->origin));
	mv_put_identity(ctx, row, "from", v->src_ident);
	mv_put_identity(ctx, row, "to", v->dst_ident);
	mv_put_bool(row, "reply_seen", v->seen_reply);
	mv_put_expiry(ctx, row, v->expires_ns);
}

static void put_endpoint6(json_object *row, const char *key,
			  const uint8_t a[16], uint16_t port, uint8_t proto)
{
	char buf[MAPVIEW_ENDPOINT6_LEN];

	mv_put_str(row, key,
		   mapview_endpoint6(buf, sizeof(buf), a, port, proto));
}

/* As conntrack_rows, with IPv6 addresses. */
static void conntrack6_rows(const struct mapview_ctx *ctx, const void *key,
			    const void *value, json_object *rows)
{
	const struct cg_ct6_key *k = key;
	const struct cg_ct_entry *v = value;
	json_object *row = mv_new_row(rows);
	bool rev = v->key_rev;

	mv_put_proto(row, "proto", k->proto);
	put_endpoint6(row, "source", rev ? k->daddr : k->saddr,
		      rev ? k->dport : k->sport, k->proto);
	put_endpoint6(row, "destination", rev ? k->saddr : k->daddr,
		      rev ? k->sport : k->dport, k->proto);
	mv_put_str(row, "state", ct_state_name(v->state));
	mv_put_str(row, "origin", ct_origin_name(v->origin));
	mv_put_identity(ctx, row, "from", v->src_ident);
	mv_put_identity(ctx, row, "to", v->dst_ident);
	mv_put_bool(row, "reply_seen", v->seen_reply);
	mv_put_expiry(ctx, row, v->expires_ns);
}

static void frags_rows(const struct mapview_ctx *ctx, const void *key,
		       const void *value, json_object *rows)
{
	const struct cg_frag_key *k = key;
	const struct cg_frag_ports *v = value;
	json_object *row = mv_new_row(rows);

	(void)ctx;
	mv_put_proto(row, "proto", k->proto);
	mv_put_endpoint(row, "source", k->saddr, v->sport, k->proto);
	mv_put_endpoint(row, "destination", k->daddr, v->dport, k->proto);
	mv_put_int(row, "ip_id", k->ip_id);
}

/* Arrays indexed by identity: only identities in use, or with data. */
static void epochs_rows(const struct mapview_ctx *ctx, const void *key,
			const void *value, json_object *rows)
{
	uint32_t id = *(const uint32_t *)key, epoch = *(const uint32_t *)value;
	json_object *row;

	if (!epoch)
		return;
	row = mv_new_row(rows);
	mv_put_identity(ctx, row, "identity", id);
	mv_put_int(row, "id", id);
	mv_put_int(row, "epoch", epoch);
}

/* "service_denied=3,no_internet=1", or "-". */
static void put_drops(json_object *row, const struct cg_counters *c)
{
	char out[512] = "";
	size_t n = 0;
	int r;

	for (r = 1; r < CG_DROP__MAX; r++)
		if (c->drops[r])
			n += (size_t)snprintf(
				out + n, n < sizeof(out) ? sizeof(out) - n : 0,
				"%s%s=%" PRIu64, n ? "," : "",
				drop_reason_name(r), (uint64_t)c->drops[r]);
	mv_put_str(row, "drops", n ? out : "-");
}

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

static void counters_rows(const struct mapview_ctx *ctx, const void *key,
			  const void *value, json_object *rows)
{
	uint32_t id = *(const uint32_t *)key;
	struct cg_counters c;
	json_object *row;

	percpu_sum_u64(&c, value, sizeof(c), ctx->ncpus);
	if (all_zero(&c, sizeof(c)))
		return;
	row = mv_new_row(rows);
	mv_put_identity(ctx, row, "identity", id);
	mv_put_int(row, "id", id);
	mv_put_int(row, "rx_packets", (int64_t)c.rx_packets);
	mv_put_int(row, "rx_bytes", (int64_t)c.rx_bytes);
	mv_put_int(row, "tx_packets", (int64_t)c.tx_packets);
	mv_put_int(row, "tx_bytes", (int64_t)c.tx_bytes);
	put_drops(row, &c);
}

/* The flows an identity holds as of the last sweep, plus those it opened
 * since (struct cg_flow_budget). */
static void budget_rows(const struct mapview_ctx *ctx, const void *key,
			const void *value, json_object *rows)
{
	uint32_t id = *(const uint32_t *)key;
	const struct cg_flow_budget *b = value;
	json_object *row;

	if (!b->created)
		return;
	row = mv_new_row(rows);
	mv_put_identity(ctx, row, "identity", id);
	mv_put_int(row, "id", id);
	mv_put_int(row, "flows", (int64_t)(b->created - b->released));
	mv_put_int(row, "created", (int64_t)b->created);
}

static void settings_rows(const struct mapview_ctx *ctx, const void *key,
			  const void *value, json_object *rows)
{
	const struct cg_settings *v = value;
	json_object *row = mv_new_row(rows);

	(void)ctx;
	(void)key;
	mv_put_addr(row, "wg_address", v->wg_addr);
	mv_put_addr(row, "uplink_address", v->uplink_addr);
	mv_put_int(row, "nat_port_min", v->nat_port_min);
	mv_put_int(row, "nat_port_max", v->nat_port_max);
	mv_put_bool(row, "masquerade", v->masquerade);
	mv_put_int(row, "wg_port", v->wg_port);
}

static void dnat_rows(const struct mapview_ctx *ctx, const void *key,
		      const void *value, json_object *rows)
{
	const struct cg_dnat_key *k = key;
	const struct cg_dnat_target *v = value;
	json_object *row = mv_new_row(rows);

	mv_put_proto(row, "proto", k->proto);
	mv_put_int(row, "port", k->port);
	mv_put_endpoint(row, "to", v->to_addr, v->to_port, k->proto);
	mv_put_service(ctx, row, "service", v->service_id);
}

static void forwards_rows(const struct mapview_ctx *ctx, const void *key,
			  const void *value, json_object *rows)
{
	const struct cg_forward_key *k = key;
	const struct cg_forward *v = value;
	json_object *row = mv_new_row(rows);

	mv_put_forward(ctx, row, v->fwd_id);
	mv_put_proto(row, "proto", k->proto);
	mv_put_int(row, "port", k->port);
	mv_put_endpoint(row, "target", v->target_addr, v->target_port,
			k->proto);
	mv_put_bool(row, "snat_at_wg", v->snat_at_wg);
	mv_put_bool(row, "allow_from", v->has_allow_from);
}

static void fwd_allow_rows(const struct mapview_ctx *ctx, const void *key,
			   const void *value, json_object *rows)
{
	const struct cg_fwd_allow_key *k = key;
	json_object *row = mv_new_row(rows);

	(void)value;
	/* The key's first 32 bits are the forward id, always matched. */
	mv_put_forward(ctx, row, ntohl(k->fwd_id));
	mv_put_prefix(row, "source", k->addr,
		      k->prefixlen >= 32 ? k->prefixlen - 32 : 0);
}

static void nat_rows(const struct mapview_ctx *ctx, const void *key,
		     const void *value, json_object *rows)
{
	const struct cg_ct_key *k = key;
	const struct cg_nat_entry *v = value;
	json_object *row = mv_new_row(rows);

	mv_put_str(row, "kind", nat_kind_name(v->kind));
	mv_put_str(row, "dir", nat_dir_name(v->dir));
	mv_put_proto(row, "proto", k->proto);
	mv_put_endpoint(row, "source", k->saddr, k->sport, k->proto);
	mv_put_endpoint(row, "destination", k->daddr, k->dport, k->proto);
	mv_put_endpoint(row, "to_source", v->to.saddr, v->to.sport, k->proto);
	mv_put_endpoint(row, "to_destination", v->to.daddr, v->to.dport,
			k->proto);
	if (v->owner)
		mv_put_forward(ctx, row, v->owner);
	else
		mv_put_str(row, "forward", "-");
	mv_put_expiry(ctx, row, v->expires_ns);
}

static void fwd_counters_rows(const struct mapview_ctx *ctx, const void *key,
			      const void *value, json_object *rows)
{
	struct cg_fwd_counters c;
	json_object *row;

	percpu_sum_u64(&c, value, sizeof(c), ctx->ncpus);
	if (all_zero(&c, sizeof(c)))
		return;
	row = mv_new_row(rows);
	mv_put_forward(ctx, row, *(const uint32_t *)key);
	mv_put_int(row, "packets", (int64_t)c.packets);
	mv_put_int(row, "bytes", (int64_t)c.bytes);
	mv_put_int(row, "denied", (int64_t)c.denied);
	mv_put_int(row, "nat_failed", (int64_t)c.nat_failed);
}

static void nat_stats_rows(const struct mapview_ctx *ctx, const void *key,
			   const void *value, json_object *rows)
{
	struct cg_nat_stats c;
	json_object *row = mv_new_row(rows);

	(void)key;
	percpu_sum_u64(&c, value, sizeof(c), ctx->ncpus);
	mv_put_int(row, "created", (int64_t)c.created);
	mv_put_int(row, "port_collisions", (int64_t)c.port_collisions);
	mv_put_int(row, "exhausted", (int64_t)c.exhausted);
	mv_put_int(row, "orphans", (int64_t)c.orphans);
}

static void service_counters_rows(const struct mapview_ctx *ctx,
				  const void *key, const void *value,
				  json_object *rows)
{
	uint32_t id = *(const uint32_t *)key;
	struct cg_service_counters c;
	json_object *row;

	percpu_sum_u64(&c, value, sizeof(c), ctx->ncpus);
	if (all_zero(&c, sizeof(c)))
		return;
	row = mv_new_row(rows);
	mv_put_service(ctx, row, "service", id);
	mv_put_int(row, "id", id);
	mv_put_int(row, "allowed", (int64_t)c.allowed);
	mv_put_int(row, "denied", (int64_t)c.denied);
}

/* One row per table and slot (who removed: the programs or the
 * controller's garbage collection). */
static void table_stats_rows(const struct mapview_ctx *ctx, const void *key,
			     const void *value, json_object *rows)
{
	static const char *const tables[CG_TABLE__MAX] = {
		[CG_TABLE_CT_TCP] = "ct_tcp",
		[CG_TABLE_CT_OTHER] = "ct_other",
		[CG_TABLE_NAT] = "nat",
	};
	uint32_t slot = *(const uint32_t *)key;
	struct cg_table_stats c;
	json_object *row;
	int t;

	percpu_sum_u64(&c, value, sizeof(c), ctx->ncpus);
	for (t = 0; t < CG_TABLE__MAX; t++) {
		row = mv_new_row(rows);
		mv_put_str(row, "table", tables[t]);
		mv_put_str(row, "counted_by",
			   slot == CG_STATS_PROGRAMS ? "programs" :
						       "controller");
		mv_put_int(row, "created", (int64_t)c.created[t]);
		mv_put_int(row, "removed", (int64_t)c.removed[t]);
	}
}

static void monitor_rows(const struct mapview_ctx *ctx, const void *key,
			 const void *value, json_object *rows)
{
	const struct cg_monitor *v = value;
	json_object *row = mv_new_row(rows);
	int64_t left;

	(void)key;
	/* Seconds of lease left; 0 when no monitor is reading. */
	left = ((int64_t)v->drops_until_ns - (int64_t)ctx->now_ns) / 1000000000;
	mv_put_int(row, "drops_lease_s", left > 0 ? left : 0);
	left = ((int64_t)v->trace_until_ns - (int64_t)ctx->now_ns) / 1000000000;
	mv_put_int(row, "trace_lease_s", left > 0 ? left : 0);
	mv_put_int(row, "rate", v->rate ? v->rate : CG_EVENT_RATE);
	mv_put_int(row, "burst", v->burst ? v->burst : CG_EVENT_BURST);
}

static void event_stats_rows(const struct mapview_ctx *ctx, const void *key,
			     const void *value, json_object *rows)
{
	struct cg_event_stats c;
	json_object *row = mv_new_row(rows);

	(void)key;
	percpu_sum_u64(&c, value, sizeof(c), ctx->ncpus);
	mv_put_int(row, "emitted", (int64_t)c.emitted);
	mv_put_int(row, "rate_limited", (int64_t)c.rate_limited);
	mv_put_int(row, "lost", (int64_t)c.lost);
}

/* One class pair of the compiled rules: its ports as the API spells
 * them. */
static void rules_rows(const struct mapview_ctx *ctx, const void *key,
		       const void *value, json_object *rows)
{
	const struct cg_rule_key *k = key;
	const struct cg_rule_ports *v = value;
	json_object *row = mv_new_row(rows), *ports = json_object_new_array();
	char buf[32];
	uint32_t i;

	(void)ctx;
	mv_put_int(row, "src_class", (int64_t)(k->src_class & INT64_MAX));
	mv_put_int(row, "dst_class", (int64_t)(k->dst_class & INT64_MAX));
	for (i = 0; i < v->n && i < CG_RULE_PORTS; i++) {
		const struct cg_rule_port *p = &v->port[i];

		if (!p->proto)
			snprintf(buf, sizeof(buf), "any");
		else if (p->proto == IPPROTO_ICMP)
			snprintf(buf, sizeof(buf), "icmp");
		else if (p->lo == p->hi)
			snprintf(buf, sizeof(buf), "%s/%u",
				 p->proto == IPPROTO_TCP ? "tcp" : "udp",
				 p->lo);
		else
			snprintf(buf, sizeof(buf), "%s/%u-%u",
				 p->proto == IPPROTO_TCP ? "tcp" : "udp", p->lo,
				 p->hi);
		json_object_array_add(ports, json_object_new_string(buf));
	}
	json_object_object_add(row, "ports", ports);
}

/* ---- the views ----------------------------------------------------------- */

#define COLUMNS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define IDENTITY_COLUMNS                                                   \
	"identity", "id", "epoch", "services", "internet", "peer_to_peer", \
		"rule_class"
#define TUPLE_COLUMNS "proto", "source", "destination"

const struct mapview mapviews[] = {
	{ "peers", DP_MAP_PEERS, COLUMNS("address", IDENTITY_COLUMNS),
	  peers_rows, "peer address -> identity and its policy" },
	{ "cells", DP_MAP_CELLS, COLUMNS("subnet", IDENTITY_COLUMNS),
	  cells_rows, "linked cell subnet -> identity and its policy" },
	{ "local_nets", DP_MAP_LOCAL_NETS, COLUMNS("network", "kind"),
	  local_nets_rows, "the cell's own networks" },
	{ "services", DP_MAP_SERVICES,
	  COLUMNS("service", "proto", "address", "port"), services_rows,
	  "service endpoints (port 0: every port)" },
	{ "ct_tcp", DP_MAP_CT_TCP,
	  COLUMNS(TUPLE_COLUMNS, "state", "origin", "from", "to", "reply_seen",
		  "expires_s"),
	  conntrack_rows, "tracked TCP flows" },
	{ "ct_other", DP_MAP_CT_OTHER,
	  COLUMNS(TUPLE_COLUMNS, "state", "origin", "from", "to", "reply_seen",
		  "expires_s"),
	  conntrack_rows, "tracked UDP and ICMP flows" },
	{ "frags", DP_MAP_FRAGS, COLUMNS(TUPLE_COLUMNS, "ip_id"), frags_rows,
	  "fragmented datagrams: ports of their first fragment" },
	{ "epochs", DP_MAP_EPOCHS, COLUMNS("identity", "id", "epoch"),
	  epochs_rows, "policy epoch per identity" },
	{ "counters", DP_MAP_COUNTERS,
	  COLUMNS("identity", "id", "rx_packets", "rx_bytes", "tx_packets",
		  "tx_bytes", "drops"),
	  counters_rows, "traffic and drops per identity (nonzero only)" },
	{ "settings", DP_MAP_SETTINGS,
	  COLUMNS("wg_address", "uplink_address", "nat_port_min",
		  "nat_port_max", "masquerade"),
	  settings_rows, "addresses translations use" },
	{ "dnat", DP_MAP_DNAT, COLUMNS("proto", "port", "to", "service"),
	  dnat_rows, "service ports exposed on the wg address" },
	{ "forwards", DP_MAP_FORWARDS,
	  COLUMNS("forward", "proto", "port", "target", "snat_at_wg",
		  "allow_from"),
	  forwards_rows, "port forwards of the uplink address" },
	{ "fwd_allow", DP_MAP_FWD_ALLOW, COLUMNS("forward", "source"),
	  fwd_allow_rows, "sources a forward admits" },
	{ "nat", DP_MAP_NAT,
	  COLUMNS("kind", "dir", TUPLE_COLUMNS, "to_source", "to_destination",
		  "forward", "expires_s"),
	  nat_rows, "translations: two entries per flow" },
	{ "fwd_counters", DP_MAP_FWD_COUNTERS,
	  COLUMNS("forward", "packets", "bytes", "denied", "nat_failed"),
	  fwd_counters_rows, "traffic per forward (nonzero only)" },
	{ "nat_stats", DP_MAP_NAT_STATS,
	  COLUMNS("created", "port_collisions", "exhausted", "orphans"),
	  nat_stats_rows, "NAT port allocation" },
	{ "service_counters", DP_MAP_SERVICE_COUNTERS,
	  COLUMNS("service", "id", "allowed", "denied"), service_counters_rows,
	  "new flows per service and verdict (nonzero only)" },
	{ "table_stats", DP_MAP_TABLE_STATS,
	  COLUMNS("table", "counted_by", "created", "removed"),
	  table_stats_rows, "entries created and removed per table" },
	{ "events", DP_MAP_EVENTS, COLUMNS("event"), NULL,
	  "ring buffer of drop events: read it with `cellgate monitor`" },
	{ "monitor", DP_MAP_MONITOR,
	  COLUMNS("drops_lease_s", "trace_lease_s", "rate", "burst"),
	  monitor_rows, "the monitor's lease and rate limit" },
	{ "event_stats", DP_MAP_EVENT_STATS,
	  COLUMNS("emitted", "rate_limited", "lost"), event_stats_rows,
	  "what became of the events" },
	{ "rules", DP_MAP_RULES, COLUMNS("src_class", "dst_class", "ports"),
	  rules_rows, "rules between peers, compiled by rule-class pair" },
	{ "peers6", DP_MAP_PEERS6, COLUMNS("address", IDENTITY_COLUMNS),
	  peers6_rows, "peer IPv6 address -> identity and its policy" },
	{ "cells6", DP_MAP_CELLS6, COLUMNS("subnet", IDENTITY_COLUMNS),
	  cells6_rows, "linked cell IPv6 subnet -> identity and its policy" },
	{ "local_nets6", DP_MAP_LOCAL_NETS6, COLUMNS("network", "kind"),
	  local_nets6_rows, "the cell's own IPv6 networks" },
	{ "services6", DP_MAP_SERVICES6,
	  COLUMNS("service", "proto", "address", "port"), services6_rows,
	  "IPv6 service endpoints (port 0: every port)" },
	{ "settings6", DP_MAP_SETTINGS6,
	  COLUMNS("wg_address", "uplink_address", "prefix"), settings6_rows,
	  "the cell's IPv6 addresses (:: when IPv4-only)" },
	{ "bridge_src", DP_MAP_BRIDGE_SRC, COLUMNS("address", "kind"),
	  bridge_src_rows, "addresses hosts on the bridge may send from" },
	{ "bridge_bind", DP_MAP_BRIDGE_BIND, COLUMNS("address", "port"),
	  bridge_bind_rows, "the bridge port (ifindex) owning each address" },
	{ "bridge_nets", DP_MAP_BRIDGE_NETS, COLUMNS("network"),
	  bridge_nets_rows, "bridge.allowed_sources prefixes (any port)" },
	{ "budget", DP_MAP_BUDGET,
	  COLUMNS("identity", "id", "flows", "created"), budget_rows,
	  "conntrack entries per identity (its flow budget)" },
	{ "ct6_tcp", DP_MAP_CT6_TCP,
	  COLUMNS(TUPLE_COLUMNS, "state", "origin", "from", "to", "reply_seen",
		  "expires_s"),
	  conntrack6_rows, "tracked IPv6 TCP flows" },
	{ "ct6_other", DP_MAP_CT6_OTHER,
	  COLUMNS(TUPLE_COLUMNS, "state", "origin", "from", "to", "reply_seen",
		  "expires_s"),
	  conntrack6_rows, "tracked IPv6 UDP and ICMPv6 flows" },
	{ "rate", DP_MAP_RATE,
	  COLUMNS("identity", "id", "down_mbit", "up_mbit"), mv_rate_rows,
	  "rate limits per identity (0: unlimited)" },
	{ "exits", DP_MAP_EXITS,
	  COLUMNS("id", "kind", "ifindex", "up", "masquerade", "address",
		  "gateway", "address6"),
	  mv_exits_rows, "exits other than the uplink, by id (issue 20)" },
	{ "exit_counters", DP_MAP_EXIT_COUNTERS,
	  COLUMNS("id", "packets", "bytes", "drops"), mv_exit_counters_rows,
	  "traffic through each exit, and kill-switch drops" },
};

const unsigned int n_mapviews = ARRAY_SIZE(mapviews);

_Static_assert(ARRAY_SIZE(mapviews) == DP_MAP__COUNT,
	       "a view for every pinned map");

const struct mapview *mapview_find(const char *name)
{
	unsigned int i;

	if (!strncmp(name, "cg_", 3))
		name += 3;
	for (i = 0; i < n_mapviews; i++)
		if (!strcmp(mapviews[i].name, name))
			return &mapviews[i];
	return NULL;
}
