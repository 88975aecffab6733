// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "listener.h"
#include "log.h"
#include "server.h"

struct api_server {
	struct listener *lst;
	struct controller *ctl;
	const struct api_route *routes;
};

/* Per-request upload buffer, kept across access handler calls. */
struct upload {
	char *data;
	size_t len;
	bool too_large;
};

void api_error(struct api_response *resp, const struct cg_error *err)
{
	resp->status = err->status ? err->status : 500;
	resp->json = json_object_new_object();
	json_object_object_add(resp->json, "error",
			       json_object_new_string(err->msg));
	json_object_object_add(resp->json, "field",
			       json_object_new_string(err->field));
}

static void error_response(struct api_response *resp, int status,
			   const char *field, const char *msg)
{
	struct cg_error err;

	cg_error_set(&err, status, field, "%s", msg);
	api_error(resp, &err);
}

/* Does path match pattern? Each {x} matches one non-empty segment, which
 * is copied into param. */
static bool path_matches(const char *pattern, const char *path, char *param,
			 size_t param_len)
{
	while (*pattern && *path) {
		if (*pattern == '{') {
			size_t n = strcspn(path, "/");

			if (n == 0 || n >= param_len)
				return false;
			memcpy(param, path, n);
			param[n] = '\0';
			path += n;
			pattern = strchr(pattern, '}');
			if (!pattern)
				return false;
			pattern++;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	return *pattern == '\0' && *path == '\0';
}

const struct api_route *api_match(const char *method, const char *path,
				  char *param, size_t param_len,
				  bool *path_known)
{
	return api_match_in(api_routes, method, path, param, param_len,
			    path_known);
}

/* A path that a route spells out ("/api/cells/invite") is its own: no
 * {name} route takes it, so another method on it gets 405, not 404. */
static bool takes(const struct api_route *routes, const struct api_route *r,
		  const char *path, char *param, size_t param_len)
{
	const struct api_route *o;

	if (!path_matches(r->pattern, path, param, param_len))
		return false;
	if (!strchr(r->pattern, '{'))
		return true;
	for (o = routes; o->pattern; o++)
		if (!strchr(o->pattern, '{') && !strcmp(o->pattern, path))
			return false;
	return true;
}

const struct api_route *api_match_in(const struct api_route *routes,
				     const char *method, const char *path,
				     char *param, size_t param_len,
				     bool *path_known)
{
	const struct api_route *r;

	*path_known = false;
	for (r = routes; r->pattern; r++) {
		if (!takes(routes, r, path, param, param_len))
			continue;
		*path_known = true;
		if (!strcmp(r->method, method))
			return r;
	}
	return NULL;
}

void api_allowed_methods(const struct api_route *routes, const char *path,
			 char *out, size_t len)
{
	char param[CG_NAME_MAX + 2];
	const struct api_route *r;
	size_t n = 0;

	out[0] = '\0';
	for (r = routes; r->pattern && n < len; r++)
		if (takes(routes, r, path, param, sizeof(param)) &&
		    !strstr(out, r->method))
			n += (size_t)snprintf(out + n, len - n, "%s%s",
					      n ? ", " : "", r->method);
}

/* "Authorization: Bearer <token>", compared in constant time. */
static bool authorized(struct controller *c, struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(
		conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	static const char bearer[] = "Bearer ";

	if (!h || strncmp(h, bearer, sizeof(bearer) - 1))
		return false;
	return ctl_token_ok(c, h + sizeof(bearer) - 1);
}

static enum MHD_Result send_response(struct MHD_Connection *conn,
				     struct api_response *resp)
{
	const char *text = "";
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (resp->json)
		text = json_object_to_json_string_ext(
			resp->json, JSON_C_TO_STRING_PLAIN |
					    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (resp->raw)
		r = MHD_create_response_from_buffer(resp->raw_len, resp->raw,
						    MHD_RESPMEM_MUST_FREE);
	else
		r = MHD_create_response_from_buffer(strlen(text), (void *)text,
						    MHD_RESPMEM_MUST_COPY);
	if (!r) {
		free(resp->raw);
		json_object_put(resp->json);
		return MHD_NO;
	}
	if (resp->json)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/json");
	if (resp->raw)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					resp->content_type);
	if (resp->status == 401)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer");
	if (resp->status == 405 && resp->allow[0])
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
	ret = MHD_queue_response(conn, (unsigned int)resp->status, r);
	MHD_destroy_response(r);
	json_object_put(resp->json);
	return ret;
}

/* Collect the body; true once it is complete. */
static bool collect_body(struct upload *up, const char *data, size_t *size)
{
	if (*size == 0)
		return true;
	if (!up->too_large && up->len + *size > API_MAX_BODY)
		up->too_large = true;
	if (!up->too_large) {
		char *p = realloc(up->data, up->len + *size + 1);

		if (p) {
			memcpy(p + up->len, data, *size);
			up->data = p;
			up->len += *size;
			p[up->len] = '\0';
		} else {
			up->too_large = true;
		}
	}
	*size = 0;
	return false;
}

/* The TCP peer's IPv4 address: what cell-to-cell authentication trusts
 * (proven by WireGuard's cryptokey routing). Never a header. */
static struct in_addr client_address(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct in_addr none = { 0 };

	if (!ci || !ci->client_addr || ci->client_addr->sa_family != AF_INET)
		return none;
	return ((const struct sockaddr_in *)ci->client_addr)->sin_addr;
}

static void dispatch(struct api_server *srv, struct MHD_Connection *conn,
		     const char *method, const char *url, struct upload *up,
		     struct api_response *resp)
{
	struct api_request req = { .method = method, .path = url };
	char param[CG_NAME_MAX + 2];
	const struct api_route *route;
	struct cg_error err = { 0 };
	bool known;

	route = api_match_in(srv->routes, method, url, param, sizeof(param),
			     &known);
	if (!route) {
		error_response(resp, known ? 405 : 404, "",
			       known ? "method not allowed" : "no such route");
		if (known)
			api_allowed_methods(srv->routes, url, resp->allow,
					    sizeof(resp->allow));
		return;
	}
	if (!route->public && !authorized(srv->ctl, conn)) {
		error_response(resp, 401, "", "missing or wrong bearer token");
		return;
	}
	if (up->too_large) {
		error_response(resp, 413, "", "request body over 64 KiB");
		return;
	}
	req.param = strchr(route->pattern, '{') ? param : NULL;
	req.format = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
						 "format");
	req.raw_body = up->data ? up->data : "";
	req.raw_len = up->len;
	req.client = client_address(conn);
	req.timestamp = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    "X-Cellgate-Timestamp");
	req.signature = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    "X-Cellgate-Signature");
	if (route->has_body) {
		req.body = jx_parse_object(up->data ? up->data : "", up->len,
					   &err);
		if (!req.body) {
			api_error(resp, &err);
			return;
		}
	}
	resp->status = 200;
	route->handler(srv->ctl, &req, resp);
	json_object_put(req.body);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *data,
				  size_t *size, void **con_cls)
{
	struct api_server *srv = cls;
	struct upload *up = *con_cls;
	struct api_response resp = { 0 };
	const char *clen;

	(void)version;
	if (!up) {
		up = calloc(1, sizeof(*up));
		if (!up)
			return MHD_NO;
		*con_cls = up;
		/* Refuse early what announces itself as too large. */
		clen = MHD_lookup_connection_value(
			conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (clen && strtoull(clen, NULL, 10) > API_MAX_BODY)
			up->too_large = true;
		return MHD_YES;
	}
	if (!collect_body(up, data, size))
		return MHD_YES;
	dispatch(srv, conn, method, url, up, &resp);
	return send_response(conn, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (up) {
		free(up->data);
		free(up);
		*con_cls = NULL;
	}
	/* Give back the pages the request freed. A request over 10k peers
	 * (a listing, a state save) builds megabytes of small JSON objects
	 * in its thread's malloc arena; glibc keeps those pages (measured:
	 * 90 MB resident, 3 MB in use, after one GET /api/peers at 10k
	 * peers). Here, once the response is sent, rather than on a timer:
	 * a trim walks every free chunk (about 10 ms on a fragmented 90 MB
	 * heap), so it is paid only when a request made garbage. */
	malloc_trim(0);
}

struct api_server *api_start_on(struct controller *c,
				const struct api_route *routes,
				struct in_addr addr, uint16_t port,
				const char *label)
{
	struct api_server *srv = calloc(1, sizeof(*srv));
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr = addr,
	};
	char ip[16];

	if (!srv)
		return NULL;
	srv->ctl = c;
	srv->routes = routes;
	/* Daemon options and the defences against slow clients: listener.c,
	 * the same for every listener. */
	srv->lst = listener_start(label, &sa, on_request, on_completed, srv);
	if (!srv->lst) {
		log_err("%s: cannot listen on %s:%u (in use, or no such "
			"address?)",
			label, ipv4_str(addr, ip), port);
		free(srv);
		return NULL;
	}
	log_info("%s: listening on http://%s:%u", label, ipv4_str(addr, ip),
		 port);
	return srv;
}

struct api_server *api_start(struct controller *c)
{
	return api_start_on(c, api_routes, c->cfg.api.listen_addr,
			    c->cfg.api.listen_port, "api");
}

void api_stop(struct api_server *srv)
{
	if (!srv)
		return;
	listener_stop(srv->lst);
	free(srv);
}
