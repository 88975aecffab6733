/* SPDX-License-Identifier: MIT */
/*
 * The HTTP side of the command-line client: one libcurl handle (kept
 * alive across requests), a bearer token, a 10 s limit per request, and
 * messages that say what went wrong in words (refused, timed out, not
 * JSON) rather than libcurl's error numbers.
 */
#ifndef CELLGATE_CLI_HTTP_H
#define CELLGATE_CLI_HTTP_H

#include <json-c/json.h>
#include <stddef.h>

#define CLI_HTTP_TIMEOUT_S 10

struct cli_http;

struct cli_reply {
	long status; /* HTTP status */
	char *body; /* NUL-terminated, may contain NULs (images) */
	size_t len;
	char content_type[64]; /* "application/json", without parameters */
	json_object *json; /* the parsed body when it is JSON, else NULL */
};

/* A client for http://host_port with the token. NULL if out of memory. */
struct cli_http *cli_http_new(const char *host_port, const char *token);
void cli_http_free(struct cli_http *h);
/* The limit per request from now on (a bulk import takes longer). */
void cli_http_set_timeout(struct cli_http *h, long seconds);

/* Perform one request; body (JSON text) may be NULL. 0 when a reply came
 * back (any status), -1 with a message in err when none did or it was
 * malformed (a JSON content type that does not parse). */
int cli_http_request(struct cli_http *h, const char *method, const char *path,
		     const char *body, struct cli_reply *reply, char *err,
		     size_t err_len);
void cli_reply_free(struct cli_reply *reply);

#endif
