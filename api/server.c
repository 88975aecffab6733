// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonx.h"
#include "listener.h"
#include "log.h"
#include "server.h"

struct api_server {
	struct listener *lst;
	struct controller *ctl;
	const struct api_route *routes;
	bool peers_only; /* other paths: 403 (the peer API) */
};

/* Per-request upload buffer, kept across access handler calls. */
struct upload {
	char *data;
	size_t len;
	size_t max; /* the route's limit */
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

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)(ch | 0x20);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Percent-decode the n bytes at s into out (len bytes with the NUL), or
 * say why not: names are compared and stored as C strings, so a NUL,
 * control character or '/' inside one would make it another name. */
static const char *decode_strict(const char *s, size_t n, char *out, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '%') {
			if (n - i < 3 || hex_digit(s[i + 1]) < 0 ||
			    hex_digit(s[i + 2]) < 0)
				return "has invalid percent-encoding";
			ch = (unsigned char)(hex_digit(s[i + 1]) << 4 |
					     hex_digit(s[i + 2]));
			i += 2;
		}
		if (ch < 0x20 || ch == 0x7f)
			return "holds a NUL or control character";
		if (ch == '/')
			return "holds an encoded '/'";
		if (o + 1 >= len)
			return "is too long";
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	return NULL;
}

/* Has path pattern's shape? A {x} matches one non-empty raw segment,
 * returned in *seg and *seg_len with x in field (a pattern has at most
 * one {x}). */
static bool path_fits(const char *pattern, const char *path, const char **seg,
		      size_t *seg_len, char *field, size_t field_len)
{
	*seg = NULL;
	while (*pattern && *path) {
		if (*pattern == '{') {
			const char *close = strchr(pattern, '}');
			size_t n = strcspn(path, "/");

			if (!close || n == 0)
				return false;
			*seg = path;
			*seg_len = n;
			snprintf(field, field_len, "%.*s",
				 (int)(close - pattern - 1), pattern + 1);
			path += n;
			pattern = close + 1;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	return *pattern == '\0' && *path == '\0';
}

/* "GET, PUT": each method once, for a 405's Allow header. */
static void allow_add(char *allow, size_t len, const char *method)
{
	size_t n = strlen(method);
	const char *p;

	for (p = strstr(allow, method); p; p = strstr(p + 1, method))
		if ((p == allow || p[-1] == ' ') &&
		    (p[n] == ',' || p[n] == '\0'))
			return;
	snprintf(allow + strlen(allow), len - strlen(allow), "%s%s",
		 allow[0] ? ", " : "", method);
}

/* A path that a route spells out ("/api/cells/invite") is its own: no
 * {name} route takes it, so another method on it gets 405, not 404. */
static bool spelled_out(const struct api_route *routes, const char *path)
{
	const struct api_route *r;

	for (r = routes; r->pattern; r++)
		if (!strchr(r->pattern, '{') && !strcmp(r->pattern, path))
			return true;
	return false;
}

void api_lookup(const struct api_route *routes, const char *method,
		const char *path, struct api_lookup *out)
{
	bool fixed = spelled_out(routes, path);

	const struct api_route *r;
	const char *seg, *hit_seg = NULL, *why;
	size_t n, hit_len = 0;
	char field[sizeof(out->err.field)];

	memset(out, 0, sizeof(*out));
	out->status = 404;
	for (r = routes; r->pattern; r++) {
		if (!path_fits(r->pattern, path, &seg, &n, field,
			       sizeof(field)) ||
		    (fixed && seg))
			continue;
		allow_add(out->allow, sizeof(out->allow), r->method);
		if (out->route || strcmp(r->method, method))
			continue;
		out->route = r;
		hit_seg = seg;
		hit_len = n;
		memcpy(out->err.field, field, sizeof(field));
	}
	if (!out->route) {
		out->status = out->allow[0] ? 405 : 404;
		return;
	}
	out->status = 0;
	why = hit_seg ? decode_strict(hit_seg, hit_len, out->param,
				      sizeof(out->param)) :
			NULL;
	if (why) {
		memcpy(field, out->err.field, sizeof(field));
		cg_error_set(&out->err, 400, field, "'%s' %s", field, why);
		out->status = 400;
	}
}

const struct api_route *api_match_in(const struct api_route *routes,
				     const char *method, const char *path,
				     char *param, size_t param_len,
				     bool *path_known)
{
	struct api_lookup l;

	api_lookup(routes, method, path, &l);
	*path_known = l.status != 404;
	if (l.status || strlen(l.param) >= param_len)
		return NULL;
	memcpy(param, l.param, strlen(l.param) + 1);
	return l.route;
}

void api_allowed_methods(const struct api_route *routes, const char *path,
			 char *out, size_t len)
{
	struct api_lookup l;

	api_lookup(routes, "", path, &l);
	snprintf(out, len, "%s", l.allow);
}

/* application/json in any case, with parameters; a charset, if given,
 * is utf-8 (RFC 8259). */
bool api_json_media_type(const char *ct)
{
	static const char type[] = "application/json";
	const char *p;

	if (!ct)
		return false;
	ct += strspn(ct, " \t");
	if (strncasecmp(ct, type, sizeof(type) - 1))
		return false;
	p = ct + sizeof(type) - 1;
	p += strspn(p, " \t");
	while (*p == ';') {
		size_t n;

		p++;
		p += strspn(p, " \t");
		n = strcspn(p, ";");
		if (!strncasecmp(p, "charset=", 8)) {
			const char *v = p + 8;
			size_t vn = n - 8;

			while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
				vn--;
			if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"') {
				v++;
				vn -= 2;
			}
			if (vn != 5 || strncasecmp(v, "utf-8", 5))
				return false;
		}
		p += n;
	}
	return *p == '\0';
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
	if (resp->allow[0])
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
	if (resp->retry_after) {
		char secs[16];

		snprintf(secs, sizeof(secs), "%u", resp->retry_after);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, secs);
	}
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
	if (!up->too_large && up->len + *size > up->max)
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

/* The TCP peer's address: what cell-to-cell authentication and the
 * peers' API trust (proven by WireGuard's cryptokey routing). Never a
 * header. IPv4 in req->client and, mapped, in req->client6. */
static void client_address(struct MHD_Connection *conn, struct api_request *req)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	memset(&req->client, 0, sizeof(req->client));
	memset(&req->client6, 0, sizeof(req->client6));
	if (sa && sa->sa_family == AF_INET6) {
		req->client6 = ((const struct sockaddr_in6 *)sa)->sin6_addr;
	} else if (sa && sa->sa_family == AF_INET) {
		req->client = ((const struct sockaddr_in *)sa)->sin_addr;
		req->client6.s6_addr[10] = req->client6.s6_addr[11] = 0xff;
		memcpy(&req->client6.s6_addr[12], &req->client, 4);
	}
}

/* The route for the request, or the error that stops it: 404, 405, 401,
 * 400 (a {name} that does not decode), 413, 415. */
static const struct api_route *
route_for(struct api_server *srv, struct MHD_Connection *conn,
	  const char *method, const char *url, const struct upload *up,
	  struct api_lookup *l, struct api_response *resp)
{
	const char *ct = MHD_lookup_connection_value(
		conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);

	api_lookup(srv->routes, method, url, l);
	if (!l->route && srv->peers_only) {
		ctl_peer_api_refused(srv->ctl);
		error_response(resp, 403, "",
			       "a peer may use /api/peer/me, "
			       "/api/peer/me/config and /api/peer/me/key only");
		return NULL;
	}
	if (!l->route) {
		error_response(resp, l->status, "",
			       l->status == 405 ? "method not allowed" :
						  "no such route");
		if (l->status == 405)
			memcpy(resp->allow, l->allow, sizeof(resp->allow));
		return NULL;
	}
	if (!l->route->public && !authorized(srv->ctl, conn)) {
		error_response(resp, 401, "", "missing or wrong bearer token");
		return NULL;
	}
	if (l->status) {
		api_error(resp, &l->err);
		return NULL;
	}
	if (up->too_large) {
		char msg[64];

		snprintf(msg, sizeof(msg), "request body over %zu KiB",
			 up->max / 1024);
		error_response(resp, 413, "", msg);
		return NULL;
	}
	if (l->route->has_body && (ct || up->len) && !api_json_media_type(ct)) {
		error_response(resp, 415, "Content-Type",
			       "the body must be application/json");
		return NULL;
	}
	return l->route;
}

/* ?format=, decoded as strictly as a {name} (the URL reaches us raw). */
static bool format_arg(struct MHD_Connection *conn, char *out, size_t len,
		       const char **format, struct api_response *resp)
{
	const char *raw = MHD_lookup_connection_value(
		conn, MHD_GET_ARGUMENT_KIND, "format");
	const char *why;
	char msg[64];

	*format = NULL;
	if (!raw)
		return true;
	why = decode_strict(raw, strlen(raw), out, len);
	if (why) {
		snprintf(msg, sizeof(msg), "'format' %s", why);
		error_response(resp, 400, "format", msg);
		return false;
	}
	*format = out;
	return true;
}

static void dispatch(struct api_server *srv, struct MHD_Connection *conn,
		     const char *method, const char *url, struct upload *up,
		     struct api_response *resp)
{
	struct api_request req = { .method = method, .path = url };
	const struct api_route *route;
	struct cg_error err = { 0 };
	struct api_lookup l;
	char format[16];

	route = route_for(srv, conn, method, url, up, &l, resp);
	if (!route ||
	    !format_arg(conn, format, sizeof(format), &req.format, resp))
		return;
	req.param = strchr(route->pattern, '{') ? l.param : NULL;
	req.raw_body = up->data ? up->data : "";
	req.raw_len = up->len;
	client_address(conn, &req);
	req.timestamp = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    "X-Cellgate-Timestamp");
	req.signature = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    "X-Cellgate-Signature");
	req.join_token = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     "X-Join-Token");
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

/* How much body the request may send: its route's limit when above the
 * default only to a caller with the token (nobody else makes us buffer
 * megabytes). */
static size_t body_limit(struct api_server *srv, struct MHD_Connection *conn,
			 const char *method, const char *url)
{
	struct api_lookup l;

	api_lookup(srv->routes, method, url, &l);
	if (!l.route || l.route->max_body <= API_MAX_BODY ||
	    !authorized(srv->ctl, conn))
		return API_MAX_BODY;
	return l.route->max_body;
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
		up->max = body_limit(srv, conn, method, url);
		/* Refuse early what announces itself as too large. */
		clen = MHD_lookup_connection_value(
			conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (clen && strtoull(clen, NULL, 10) > up->max)
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

/* A server of routes on sa; text names the address in the log. */
static struct api_server *start_at(struct controller *c,
				   const struct api_route *routes,
				   const struct sockaddr *sa, const char *text,
				   uint16_t port, const char *label)
{
	struct api_server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return NULL;
	srv->ctl = c;
	srv->routes = routes;
	/* Daemon options and the defences against slow clients: listener.c,
	 * the same for every listener. */
	srv->lst = listener_start(label, sa, on_request, on_completed, srv);
	if (!srv->lst) {
		log_err("%s: cannot listen on %s:%u (in use, or no such "
			"address?)",
			label, text, port);
		free(srv);
		return NULL;
	}
	log_info("%s: listening on http://%s:%u", label, text, port);
	return srv;
}

struct api_server *api_start_on(struct controller *c,
				const struct api_route *routes,
				struct in_addr addr, uint16_t port,
				const char *label)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr = addr,
	};
	char ip[16];

	return start_at(c, routes, (const struct sockaddr *)&sa,
			ipv4_str(addr, ip), port, label);
}

struct api_server *api_start_on6(struct controller *c,
				 const struct api_route *routes,
				 const struct in6_addr *addr, uint16_t port,
				 const char *label)
{
	struct sockaddr_in6 sa = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(port),
		.sin6_addr = *addr,
	};
	char ip[INET6_ADDRSTRLEN + 2] = "[";

	inet_ntop(AF_INET6, addr, ip + 1, INET6_ADDRSTRLEN);
	strcat(ip, "]");
	return start_at(c, routes, (const struct sockaddr *)&sa, ip, port,
			label);
}

struct api_server *api_start_for_peers6(struct controller *c,
					const struct in6_addr *addr,
					uint16_t port)
{
	struct api_server *srv =
		api_start_on6(c, peer_routes, addr, port, "peer-api6");

	if (srv)
		srv->peers_only = true;
	return srv;
}

struct api_server *api_start_for_peers(struct controller *c,
				       struct in_addr addr, uint16_t port)
{
	struct api_server *srv =
		api_start_on(c, peer_routes, addr, port, "peer-api");

	if (srv)
		srv->peers_only = true;
	return srv;
}

void api_stop(struct api_server *srv)
{
	if (!srv)
		return;
	listener_stop(srv->lst);
	free(srv);
}
