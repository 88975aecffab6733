/* SPDX-License-Identifier: MIT */
/*
 * The pinned maps, decoded for people: dotted addresses, peer, cell,
 * service and forward names instead of ids, enum values by name, per-CPU
 * values summed. `cellgate maps` reads the maps itself (the controller
 * may be stopped) and prints these rows as a table or as JSON.
 *
 * Each view turns one map entry into zero or more rows: a JSON object
 * whose members are the view's columns, in order.
 */
#ifndef CELLGATE_MAPVIEW_H
#define CELLGATE_MAPVIEW_H

#include <json-c/json.h>
#include <stdint.h>

#include "pins_ro.h"

struct cg_state;

/* What a view needs besides the entry. */
struct mapview_ctx {
	const struct cg_state *st; /* names; NULL: ids only */
	uint64_t now_ns; /* CLOCK_MONOTONIC, to show expiry as seconds */
	int ncpus; /* per-CPU values hold this many copies */
};

/* Append the rows of one entry to rows (a JSON array). */
typedef void (*mapview_rows_fn)(const struct mapview_ctx *ctx, const void *key,
				const void *value, json_object *rows);

struct mapview {
	const char *name; /* "peers": the map's name without "cg_" */
	enum dp_map map;
	const char *const *columns; /* NULL-terminated */
	mapview_rows_fn rows; /* NULL: the map cannot be listed (ring) */
	const char *about; /* one line, for `cellgate maps` */
};

/* Every view, in the order `cellgate maps` lists them. */
extern const struct mapview mapviews[];
extern const unsigned int n_mapviews;

/* The view called name ("peers" or "cg_peers"), or NULL. */
const struct mapview *mapview_find(const char *name);

/* Longest text of mapview_endpoint ("255.255.255.255:65535"). */
#define MAPVIEW_ENDPOINT_LEN 24

/* An endpoint of a tuple into buf: "a.b.c.d:port" for TCP and UDP, the
 * address alone otherwise (ICMP "ports" are echo ids). Returns buf. */
const char *mapview_endpoint(char *buf, size_t len, const uint8_t a[4],
			     uint16_t port, uint8_t proto);
/* Longest text of mapview_endpoint6 ("[v6 address]:65535"). */
#define MAPVIEW_ENDPOINT6_LEN 56

/* An IPv6 endpoint: "[addr]:port" for TCP and UDP, the address alone
 * otherwise. Returns buf. */
const char *mapview_endpoint6(char *buf, size_t len, const uint8_t a[16],
			      uint16_t port, uint8_t proto);
/* "tcp", "udp", "icmp", "icmp6", "any", or the protocol number (in buf). */
const char *mapview_proto(char *buf, size_t len, uint8_t proto);

/* The name of identity id: a peer's name, "cell:NAME", "-" for 0 (not
 * attributed) or "#ID" when ctx knows no such identity. */
const char *mapview_identity(const struct mapview_ctx *ctx, uint32_t id,
			     char *buf, size_t len);

#endif
