/* SPDX-License-Identifier: MIT */
/*
 * The cells of a view's row (mapview_cells.c), shared by the views in
 * mapview.c: addresses, prefixes, endpoints, protocols and expiries as
 * text, identities, services and forwards by name. Only this folder's
 * views include it.
 */
#ifndef CELLGATE_MAPVIEW_CELLS_H
#define CELLGATE_MAPVIEW_CELLS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "abi.h"
#include "mapview.h"

void mv_put_str(json_object *row, const char *key, const char *value);
void mv_put_int(json_object *row, const char *key, int64_t value);
void mv_put_bool(json_object *row, const char *key, bool value);
void mv_put_addr(json_object *row, const char *key, const uint8_t a[4]);
void mv_put_prefix(json_object *row, const char *key, const uint8_t a[4],
		   uint32_t len);
void mv_put_endpoint(json_object *row, const char *key, const uint8_t a[4],
		     uint16_t port, uint8_t proto);
void mv_put_proto(json_object *row, const char *key, uint8_t proto);
void mv_put_expiry(const struct mapview_ctx *ctx, json_object *row,
		   uint64_t deadline_ns);
json_object *mv_new_row(json_object *rows);
void mv_put_identity(const struct mapview_ctx *ctx, json_object *row,
		     const char *key, uint32_t id);
const char *mv_service_name(const struct mapview_ctx *ctx, uint32_t id,
			    char *buf, size_t len);
void mv_put_service(const struct mapview_ctx *ctx, json_object *row,
		    const char *key, uint32_t id);
void mv_put_services(const struct mapview_ctx *ctx, json_object *row,
		     const __u64 bits[CG_SERVICE_WORDS]);
void mv_put_forward(const struct mapview_ctx *ctx, json_object *row,
		    uint32_t slot);
/* The rows of cg_rate (a view's rows function). */
void mv_rate_rows(const struct mapview_ctx *ctx, const void *key,
		  const void *value, json_object *rows);
/* The rows of cg_exits and cg_exit_counters (issue 20). */
void mv_exits_rows(const struct mapview_ctx *ctx, const void *key,
		   const void *value, json_object *rows);
void mv_exit_counters_rows(const struct mapview_ctx *ctx, const void *key,
			   const void *value, json_object *rows);

#endif
