// SPDX-License-Identifier: MIT
/* The cells of a view's row: see mapview_cells.h. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "abi_names.h"
#include "mapread.h"
#include "mapview_cells.h"
#include "state.h"
#include "util.h"

/* ---- cells of a row ------------------------------------------------------ */

void mv_put_str(json_object *row, const char *key, const char *value)
{
	json_object_object_add(row, key, json_object_new_string(value));
}

void mv_put_int(json_object *row, const char *key, int64_t value)
{
	json_object_object_add(row, key, json_object_new_int64(value));
}

void mv_put_bool(json_object *row, const char *key, bool value)
{
	json_object_object_add(row, key, json_object_new_boolean(value));
}

void mv_put_addr(json_object *row, const char *key, const uint8_t a[4])
{
	char buf[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, a, buf, sizeof(buf));
	mv_put_str(row, key, buf);
}

/* "a.b.c.d/len" */
void mv_put_prefix(json_object *row, const char *key, const uint8_t a[4],
		   uint32_t len)
{
	char addr[INET_ADDRSTRLEN], buf[INET_ADDRSTRLEN + 12];

	inet_ntop(AF_INET, a, addr, sizeof(addr));
	snprintf(buf, sizeof(buf), "%s/%u", addr, len);
	mv_put_str(row, key, buf);
}

const char *mapview_endpoint(char *buf, size_t len, const uint8_t a[4],
			     uint16_t port, uint8_t proto)
{
	char addr[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, a, addr, sizeof(addr));
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP)
		snprintf(buf, len, "%s:%u", addr, port);
	else
		snprintf(buf, len, "%s", addr);
	return buf;
}

const char *mapview_endpoint6(char *buf, size_t len, const uint8_t a[16],
			      uint16_t port, uint8_t proto)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, a, addr, sizeof(addr));
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP)
		snprintf(buf, len, "[%s]:%u", addr, port);
	else
		snprintf(buf, len, "%s", addr);
	return buf;
}

const char *mapview_proto(char *buf, size_t len, uint8_t proto)
{
	const char *name = proto_name(proto);

	/* Not a service protocol (proto_name's), but IPv6 flows carry it. */
	if (proto == IPPROTO_ICMPV6)
		return "icmp6";
	if (strcmp(name, "?"))
		return name;
	snprintf(buf, len, "%u", proto);
	return buf;
}

void mv_put_endpoint(json_object *row, const char *key, const uint8_t a[4],
		     uint16_t port, uint8_t proto)
{
	char buf[MAPVIEW_ENDPOINT_LEN];

	mv_put_str(row, key,
		   mapview_endpoint(buf, sizeof(buf), a, port, proto));
}

void mv_put_proto(json_object *row, const char *key, uint8_t proto)
{
	char buf[8];

	mv_put_str(row, key, mapview_proto(buf, sizeof(buf), proto));
}

/* Seconds until a CLOCK_MONOTONIC deadline; negative once it passed (the
 * entry waits for garbage collection). */
void mv_put_expiry(const struct mapview_ctx *ctx, json_object *row,
		   uint64_t deadline_ns)
{
	mv_put_int(row, "expires_s",
		   ((int64_t)deadline_ns - (int64_t)ctx->now_ns) / 1000000000);
}

json_object *mv_new_row(json_object *rows)
{
	json_object *row = json_object_new_object();

	json_object_array_add(rows, row);
	return row;
}

/* ---- names --------------------------------------------------------------- */

const char *mapview_identity(const struct mapview_ctx *ctx, uint32_t id,
			     char *buf, size_t len)
{
	size_t i;

	if (id == CG_IDENT_UNKNOWN)
		return "-";
	for (i = 0; ctx->st && i < ctx->st->n_peers; i++)
		if (ctx->st->peers[i].id == id)
			return ctx->st->peers[i].name;
	for (i = 0; ctx->st && i < ctx->st->n_cells; i++)
		if (ctx->st->cells[i].id == id) {
			snprintf(buf, len, "cell:%s",
				 ctx->st->cells[i].info.cell_name);
			return buf;
		}
	snprintf(buf, len, "#%" PRIu32, id);
	return buf;
}

void mv_put_identity(const struct mapview_ctx *ctx, json_object *row,
		     const char *key, uint32_t id)
{
	char buf[CG_NAME_MAX + 8];

	mv_put_str(row, key, mapview_identity(ctx, id, buf, sizeof(buf)));
}

const char *mv_service_name(const struct mapview_ctx *ctx, uint32_t id,
			    char *buf, size_t len)
{
	const struct cg_service_def *s =
		ctx->st ? state_service_by_id(ctx->st, id) : NULL;

	if (s)
		return s->name;
	if (id == CG_SYNC_SERVICE_ID)
		return CG_SYNC_SERVICE_NAME;
	if (id == CG_PEER_API_SERVICE_ID)
		return CG_PEER_API_SERVICE_NAME;
	snprintf(buf, len, "#%" PRIu32, id);
	return buf;
}

void mv_put_service(const struct mapview_ctx *ctx, json_object *row,
		    const char *key, uint32_t id)
{
	char buf[16];

	mv_put_str(row, key, mv_service_name(ctx, id, buf, sizeof(buf)));
}

/* The services of a bitmap, by name, comma separated ("-": none). Every
 * peer has the peer API's bit: not repeated on every row. */
void mv_put_services(const struct mapview_ctx *ctx, json_object *row,
		     const __u64 bits[CG_SERVICE_WORDS])
{
	char out[1024] = "", buf[16];
	size_t n = 0;
	uint32_t id;

	for (id = 0; id < CG_MAX_SERVICES; id++) {
		if (!(bits[id / 64] & (1ull << (id % 64))) ||
		    id == CG_PEER_API_SERVICE_ID)
			continue;
		n += (size_t)snprintf(
			out + n, n < sizeof(out) ? sizeof(out) - n : 0, "%s%s",
			n ? "," : "",
			mv_service_name(ctx, id, buf, sizeof(buf)));
	}
	mv_put_str(row, "services", n ? out : "-");
}

void mv_put_forward(const struct mapview_ctx *ctx, json_object *row,
		    uint32_t slot)
{
	char buf[16];
	size_t i;

	for (i = 0; ctx->st && i < ctx->st->n_forwards; i++)
		if (ctx->st->forwards[i].slot == slot) {
			mv_put_str(row, "forward", ctx->st->forwards[i].id);
			return;
		}
	snprintf(buf, sizeof(buf), "#%" PRIu32, slot);
	mv_put_str(row, "forward", buf);
}

/* A rate in Mbit/s from a byte's cost in picoseconds (abi.h). */
static int64_t rate_mbit(uint64_t ps_per_byte)
{
	return ps_per_byte ?
		       (int64_t)((8000000 + ps_per_byte / 2) / ps_per_byte) :
		       0;
}

void mv_rate_rows(const struct mapview_ctx *ctx, const void *key,
		  const void *value, json_object *rows)
{
	uint32_t id = *(const uint32_t *)key;
	const struct cg_rate *r = value;
	json_object *row;

	if (!r->down_ps_per_byte && !r->up_ps_per_byte)
		return;
	row = mv_new_row(rows);
	mv_put_identity(ctx, row, "identity", id);
	mv_put_int(row, "id", id);
	mv_put_int(row, "down_mbit", rate_mbit(r->down_ps_per_byte));
	mv_put_int(row, "up_mbit", rate_mbit(r->up_ps_per_byte));
}

static const char *exit_kind_name(uint8_t kind)
{
	static const char *const names[] = { "none", "interface", "wireguard",
					     "cell", "tor" };

	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

void mv_exits_rows(const struct mapview_ctx *ctx, const void *key,
		   const void *value, json_object *rows)
{
	const struct cg_exit *e = value;
	char a6[INET6_ADDRSTRLEN];
	json_object *row;

	(void)ctx;
	if (e->kind == CG_EXIT_NONE)
		return;
	row = mv_new_row(rows);
	mv_put_int(row, "id", *(const uint32_t *)key);
	mv_put_str(row, "kind", exit_kind_name(e->kind));
	mv_put_int(row, "ifindex", e->ifindex);
	mv_put_bool(row, "up", e->up);
	mv_put_bool(row, "masquerade", e->masquerade);
	mv_put_addr(row, "address", e->addr);
	mv_put_addr(row, "gateway", e->gateway);
	inet_ntop(AF_INET6, e->addr6, a6, sizeof(a6));
	mv_put_str(row, "address6", a6);
}

void mv_exit_counters_rows(const struct mapview_ctx *ctx, const void *key,
			   const void *value, json_object *rows)
{
	struct cg_exit_counters c;
	json_object *row;

	percpu_sum_u64(&c, value, sizeof(c), ctx->ncpus);
	if (!c.packets && !c.bytes && !c.drops)
		return;
	row = mv_new_row(rows);
	mv_put_int(row, "id", *(const uint32_t *)key);
	mv_put_int(row, "packets", (int64_t)c.packets);
	mv_put_int(row, "bytes", (int64_t)c.bytes);
	mv_put_int(row, "drops", (int64_t)c.drops);
}
