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

struct api_request {
	const char *method;
	const char *path;
	const char *param; /* the {name} of a route, if any */
	const char *format; /* the ?format= query parameter, or NULL */
	json_object *body; /* parsed body of PUT/POST, else NULL */
};

/* A JSON body, or raw bytes with their content type (text, images). */
struct api_response {
	int status;
	json_object *json; /* NULL for 204 and raw bodies */
	void *raw; /* malloc'd, freed after sending */
	size_t raw_len;
	const char *content_type; /* of raw */
};

typedef void (*api_handler)(struct controller *c, const struct api_request *req,
			    struct api_response *resp);

struct api_route {
	const char *method;
	const char *pattern; /* "/api/peers/{name}": {name} is one segment */
	api_handler handler;
	bool public; /* no token needed */
	bool has_body; /* expects a JSON object body */
};

/* The route table (api/routes.c); NULL-terminated. */
extern const struct api_route api_routes[];

/* Set resp to an error {"error", "field"} with err's status. */
void api_error(struct api_response *resp, const struct cg_error *err);

struct api_server;
struct api_server *api_start(struct controller *c);
void api_stop(struct api_server *srv);

/* Route matching, exposed for tests: the route for method and path (param
 * receives {name}); NULL with *path_known telling 404 from 405. */
const struct api_route *api_match(const char *method, const char *path,
				  char *param, size_t param_len,
				  bool *path_known);

#endif
