/* SPDX-License-Identifier: MIT */
/*
 * The admin REST API over libmicrohttpd. One polling thread serves every
 * connection, so requests run one at a time; the controller's lock also
 * orders them against periodic work.
 */
#ifndef CELLGATE_API_SERVER_H
#define CELLGATE_API_SERVER_H

#include <json-c/json.h>
#include <stddef.h>

#include "controller.h"

#define API_MAX_BODY (64 * 1024) /* larger bodies get 413 */
/* The bulk import's limit: 100k peers of ~150 bytes, with room. Taken
 * only from a caller that presented the token. */
#define API_MAX_IMPORT_BODY (32 * 1024 * 1024)

struct api_request {
	const char *method;
	const char *path;
	const char *param; /* the {name} of a route, if any */
	const char *format; /* the ?format= query parameter, or NULL */
	json_object *body; /* parsed body of PUT/POST, else NULL */
	/* For cell-to-cell routes, which sign the exact bytes received: */
	const char *raw_body;
	size_t raw_len;
	struct in_addr client; /* the TCP peer's IPv4 address, or 0.0.0.0 */
	/* The TCP peer's address in either family (IPv4 as ::ffff:a.b.c.d):
	 * the peers' API knows its callers by it. */
	struct in6_addr client6;
	const char *timestamp; /* X-Cellgate-Timestamp */
	const char *signature; /* X-Cellgate-Signature */
	const char *join_token; /* X-Join-Token */
};

/* A JSON body, or raw bytes with their content type (text, images). */
struct api_response {
	int status;
	json_object *json; /* NULL for 204 and raw bodies */
	void *raw; /* malloc'd, freed after sending */
	size_t raw_len;
	const char *content_type; /* of raw */
	char allow[64]; /* a 405's Allow header: the path's methods */
	unsigned int retry_after; /* a 429's Retry-After (seconds) */
};

typedef void (*api_handler)(struct controller *c, const struct api_request *req,
			    struct api_response *resp);

struct api_route {
	const char *method;
	const char *pattern; /* "/api/peers/{name}": {name} is one segment */
	api_handler handler;
	bool public; /* no token needed */
	bool has_body; /* expects a JSON object body */
	/* The most body it takes (with the token: a larger body is
	 * refused before it is read): 0 for API_MAX_BODY. */
	size_t max_body;
};

/* Route tables, NULL-terminated: the admin API (api/routes.c), the sync
 * listener on the wg address and the pairing listener (api/sync.c). */
extern const struct api_route api_routes[];
extern const struct api_route metrics_routes[];
extern const struct api_route sync_routes[];
extern const struct api_route pairing_routes[];
/* Enrolment (join.listen) and a peer's own API (peer_api.port on the wg
 * address), api/join.c. */
extern const struct api_route join_routes[];
extern const struct api_route peer_routes[];

/* Set resp to an error {"error", "field"} with err's status. */
void api_error(struct api_response *resp, const struct cg_error *err);

struct api_server;
/* The admin API on api.listen. */
struct api_server *api_start(struct controller *c);
/* A listener serving routes on addr:port; label names it in logs. */
struct api_server *api_start_on(struct controller *c,
				const struct api_route *routes,
				struct in_addr addr, uint16_t port,
				const char *label);
/* The peer API's listener: a path no route takes is refused (403), not
 * unknown (404): a peer may use its own routes and nothing else. */
/* api_start_on for an IPv6 address. */
struct api_server *api_start_on6(struct controller *c,
				 const struct api_route *routes,
				 const struct in6_addr *addr, uint16_t port,
				 const char *label);
/* The peers' API on the cell's IPv6 wg address too (issue 17). */
struct api_server *api_start_for_peers6(struct controller *c,
					const struct in6_addr *addr,
					uint16_t port);
struct api_server *api_start_for_peers(struct controller *c,
				       struct in_addr addr, uint16_t port);
void api_stop(struct api_server *srv);

/* Routing: what a method and raw path select. */
struct api_lookup {
	const struct api_route *route; /* for method, or NULL (404, 405) */
	int status; /* 0, or why not: 404, 405, 400 ({name} refused) */
	struct cg_error err; /* 400: the {name} (field) and why */
	char allow[64]; /* the path's methods: "GET, PUT, DELETE" */
	char param[CG_NAME_MAX + 1]; /* the {name}, percent-decoded */
};

/* The one place a path is decoded: {name} segments strictly (no NUL,
 * control character, encoded '/', bad %-escape, over CG_NAME_MAX). */
void api_lookup(const struct api_route *routes, const char *method,
		const char *path, struct api_lookup *out);

/* The methods a path takes, as a 405's Allow header lists them. */
void api_allowed_methods(const struct api_route *routes, const char *path,
			 char *out, size_t len);

/* Is a Content-Type application/json (parameters allowed; a charset
 * only utf-8)? Bodies of any other type get 415. */
bool api_json_media_type(const char *content_type);

/* Route matching, exposed for tests: the route for method and path (param
 * receives {name}, decoded); NULL with *path_known telling 404 from 405
 * or 400. */
const struct api_route *api_match(const char *method, const char *path,
				  char *param, size_t param_len,
				  bool *path_known);
/* The same in another table. */
const struct api_route *api_match_in(const struct api_route *routes,
				     const char *method, const char *path,
				     char *param, size_t param_len,
				     bool *path_known);

#endif
