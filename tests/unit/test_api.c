// SPDX-License-Identifier: MIT
/* Unit tests for the REST route table and api_match (api/server.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "testutil.h"

static char param[CG_NAME_MAX + 1];
static bool known;

static const struct api_route *match(const char *method, const char *path)
{
	memset(param, 0, sizeof(param));
	known = !known; /* must be written on every call */
	return api_match(method, path, param, sizeof(param), &known);
}

/* The route for method and pattern in the table; fails if absent. */
static const struct api_route *route(const char *method, const char *pattern)
{
	const struct api_route *r;

	for (r = api_routes; r->pattern; r++)
		if (!strcmp(r->method, method) && !strcmp(r->pattern, pattern))
			return r;
	ck_abort_msg("no route %s %s", method, pattern);
	return NULL;
}

/* The routes that need no admin token (DESIGN.md): health, and the
 * cell-to-cell call, which authenticates the remote cell its own way. */
static bool is_public(const struct api_route *r)
{
	return (!strcmp(r->method, "GET") && !strcmp(r->pattern, "/health")) ||
	       (!strcmp(r->method, "POST") &&
		!strcmp(r->pattern, "/api/cells/peer-sync/permissions"));
}

/* pattern with every {x} replaced by value. */
static void instantiate(char *out, size_t len, const char *pattern,
			const char *value)
{
	size_t n = 0;

	while (*pattern && n + 1 < len) {
		if (*pattern == '{') {
			n += (size_t)snprintf(out + n, len - n, "%s", value);
			pattern = strchr(pattern, '}');
			ck_assert_ptr_nonnull(pattern);
			pattern++;
			continue;
		}
		out[n++] = *pattern++;
	}
	ck_assert_uint_lt(n, len);
	out[n] = '\0';
}

START_TEST(test_table_well_formed)
{
	const struct api_route *r, *q;
	int n = 0;

	for (r = api_routes; r->pattern; r++, n++) {
		ck_assert_ptr_nonnull(r->method);
		ck_assert_ptr_nonnull(r->handler);
		ck_assert_msg(r->pattern[0] == '/', "pattern %s", r->pattern);
		/* Bodies only where a method has one. */
		if (r->has_body)
			ck_assert_msg(!strcmp(r->method, "PUT") ||
					      !strcmp(r->method, "POST"),
				      "%s %s has a body", r->method,
				      r->pattern);
		for (q = api_routes; q != r; q++)
			ck_assert_msg(strcmp(q->method, r->method) ||
					      strcmp(q->pattern, r->pattern),
				      "%s %s twice", r->method, r->pattern);
	}
	ck_assert_int_ge(n, 11);
	/* No admin token only where the design says so. */
	for (r = api_routes; r->pattern; r++)
		if (r->public)
			ck_assert_msg(is_public(r), "%s %s must not be public",
				      r->method, r->pattern);
	ck_assert(route("GET", "/health")->public);
}
END_TEST

START_TEST(test_every_route_matches)
{
	const struct api_route *r;
	char path[256];

	for (r = api_routes; r->pattern; r++) {
		bool has_param = strchr(r->pattern, '{') != NULL;

		instantiate(path, sizeof(path), r->pattern, "x-1.y_2");
		ck_assert_ptr_eq(match(r->method, path), r);
		ck_assert(known);
		if (has_param)
			ck_assert_str_eq(param, "x-1.y_2");
		/* A longest-name {name} is captured whole. */
		if (has_param) {
			char name[CG_NAME_MAX + 1];

			memset(name, 'n', CG_NAME_MAX);
			name[CG_NAME_MAX] = '\0';
			instantiate(path, sizeof(path), r->pattern, name);
			ck_assert_ptr_eq(match(r->method, path), r);
			ck_assert_str_eq(param, name);
			/* An empty segment is no {name}. */
			instantiate(path, sizeof(path), r->pattern, "");
			ck_assert_ptr_ne(match(r->method, path), r);
		}
	}
}
END_TEST

START_TEST(test_known_routes)
{
	const struct api_route *r;

	r = match("GET", "/health");
	ck_assert_ptr_eq(r, route("GET", "/health"));
	ck_assert(r->public);
	ck_assert(!r->has_body);

	r = match("GET", "/api/peers/alice");
	ck_assert_ptr_eq(r, route("GET", "/api/peers/{name}"));
	ck_assert_str_eq(param, "alice");
	ck_assert(!r->public);

	r = match("PUT", "/api/peers/alice");
	ck_assert_ptr_eq(r, route("PUT", "/api/peers/{name}"));
	ck_assert_str_eq(param, "alice");
	ck_assert(r->has_body);

	r = match("DELETE", "/api/peers/bob");
	ck_assert_ptr_eq(r, route("DELETE", "/api/peers/{name}"));
	ck_assert_str_eq(param, "bob");

	r = match("POST", "/api/peers");
	ck_assert_ptr_eq(r, route("POST", "/api/peers"));
	ck_assert(r->has_body);
	r = match("GET", "/api/peers");
	ck_assert_ptr_eq(r, route("GET", "/api/peers"));
	ck_assert(!r->has_body);

	r = match("PUT", "/api/services/calendar");
	ck_assert_ptr_eq(r, route("PUT", "/api/services/{name}"));
	ck_assert_str_eq(param, "calendar");
	ck_assert(r->has_body);
	r = match("DELETE", "/api/services/calendar");
	ck_assert_ptr_eq(r, route("DELETE", "/api/services/{name}"));
	ck_assert_ptr_eq(match("GET", "/api/services"),
			 route("GET", "/api/services"));
	ck_assert_ptr_eq(match("GET", "/api/status"),
			 route("GET", "/api/status"));
	/* Different handlers for the methods of one path. */
	ck_assert_ptr_ne(route("GET", "/api/peers/{name}")->handler,
			 route("DELETE", "/api/peers/{name}")->handler);
}
END_TEST

START_TEST(test_wrong_method_is_405)
{
	ck_assert_ptr_null(match("PATCH", "/api/peers/alice"));
	ck_assert(known);
	ck_assert_ptr_null(match("POST", "/api/peers/alice"));
	ck_assert(known);
	ck_assert_ptr_null(match("DELETE", "/health"));
	ck_assert(known);
	ck_assert_ptr_null(match("PUT", "/api/peers"));
	ck_assert(known);
	ck_assert_ptr_null(match("POST", "/api/services/calendar"));
	ck_assert(known);
	ck_assert_ptr_null(match("DELETE", "/api/services"));
	ck_assert(known);
	/* Methods are case-sensitive (RFC 9110). */
	ck_assert_ptr_null(match("get", "/health"));
	ck_assert(known);
}
END_TEST

START_TEST(test_unknown_path_is_404)
{
	ck_assert_ptr_null(match("GET", "/api/nope"));
	ck_assert(!known);
	ck_assert_ptr_null(match("GET", "/"));
	ck_assert(!known);
	ck_assert_ptr_null(match("GET", ""));
	ck_assert(!known);
	ck_assert_ptr_null(match("GET", "/api/peersx"));
	ck_assert(!known);
	ck_assert_ptr_null(match("GET", "/api/peer"));
	ck_assert(!known);
	ck_assert_ptr_null(match("GET", "/API/peers"));
	ck_assert(!known);
	ck_assert_ptr_null(match("GET", "api/peers"));
	ck_assert(!known);
	ck_assert_ptr_null(match("GET", "/api//peers"));
	ck_assert(!known);
	ck_assert_ptr_null(match("GET", "/healthz"));
	ck_assert(!known);
	ck_assert_ptr_null(match("GET", "/api/services/calendar/x"));
	ck_assert(!known);
}
END_TEST

START_TEST(test_name_segment)
{
	char path[256], name[CG_NAME_MAX + 2];

	/* {name} is one non-empty segment. */
	ck_assert_ptr_null(match("GET", "/api/peers/"));
	ck_assert(!known);
	ck_assert_ptr_null(match("DELETE", "/api/peers/"));
	ck_assert(!known);
	ck_assert_ptr_null(match("GET", "/api/peers/a/b"));
	ck_assert(!known);
	ck_assert_ptr_null(match("PUT", "/api/services/a/b"));
	ck_assert(!known);
	ck_assert_ptr_null(match("GET", "/api/peers//"));
	ck_assert(!known);
	/* A name too long is refused (400), never cut. */
	memset(name, 'n', CG_NAME_MAX + 1);
	name[CG_NAME_MAX + 1] = '\0';
	snprintf(path, sizeof(path), "/api/peers/%s", name);
	ck_assert_ptr_null(match("GET", path));
	ck_assert(known);
	/* The segment is percent-decoded and passed on for validation. */
	ck_assert_ptr_eq(match("GET", "/api/peers/a%20b"),
			 route("GET", "/api/peers/{name}"));
	ck_assert_str_eq(param, "a b");
	ck_assert_ptr_eq(match("GET", "/api/peers/.."),
			 route("GET", "/api/peers/{name}"));
	ck_assert_str_eq(param, "..");
}
END_TEST

START_TEST(test_trailing_slash)
{
	/*
	 * No normalisation: a trailing slash makes another path, which is
	 * unknown (404), for fixed paths and {name} paths alike.
	 */
	ck_assert_ptr_null(match("GET", "/health/"));
	ck_assert(!known);
	ck_assert_ptr_null(match("GET", "/api/peers/"));
	ck_assert(!known);
	ck_assert_ptr_null(match("GET", "/api/services/"));
	ck_assert(!known);
	ck_assert_ptr_null(match("GET", "/api/peers/alice/"));
	ck_assert(!known);
	ck_assert_ptr_null(match("DELETE", "/api/services/calendar/"));
	ck_assert(!known);
}
END_TEST

START_TEST(test_small_param_buffer)
{
	char small[6];
	bool k = false;

	ck_assert_ptr_eq(
		api_match("GET", "/api/peers/abcde", small, sizeof(small), &k),
		route("GET", "/api/peers/{name}"));
	ck_assert_str_eq(small, "abcde");
	ck_assert(k);
	ck_assert_ptr_null(api_match("GET", "/api/peers/abcdef", small,
				     sizeof(small), &k));
	ck_assert(k);
}
END_TEST

/* api_lookup(api_routes, method, path) must refuse the {name} with 400
 * naming field, and hand over no route to run. */
static void refused(const char *method, const char *path, const char *field)
{
	struct api_lookup l;

	api_lookup(api_routes, method, path, &l);
	ck_assert_msg(l.status == 400, "%s %s: %d", method, path, l.status);
	ck_assert_int_eq(l.err.status, 400);
	ck_assert_str_eq(l.err.field, field);
	ck_assert_ptr_null(match(method, path));
	ck_assert(known);
}

START_TEST(test_strict_params)
{
	char path[256], name[CG_NAME_MAX + 1];
	struct api_lookup l;

	/* A NUL would cut "alice%00zzz" to alice: refused, on every verb. */
	refused("GET", "/api/peers/alice%00zzz", "name");
	refused("DELETE", "/api/peers/alice%00x", "name");
	refused("PUT", "/api/peers/alice%00", "name");
	refused("GET", "/api/peers/%00", "name");
	refused("GET", "/api/peers/alice%00zzz/config", "name");
	refused("DELETE", "/api/services/web%00", "name");
	refused("GET", "/api/cells/c%00/permissions", "name");
	refused("DELETE", "/api/forwards/vm-1%00", "id");
	/* Control characters, DEL, an encoded '/'. */
	refused("GET", "/api/peers/a%01b", "name");
	refused("GET", "/api/peers/a%1fb", "name");
	refused("GET", "/api/peers/a%0Ab", "name");
	refused("GET", "/api/peers/a%7fb", "name");
	refused("GET", "/api/peers/a%2Fb", "name");
	refused("DELETE", "/api/peers/a%2fb", "name");
	/* Invalid percent-encoding. */
	refused("GET", "/api/peers/a%zz", "name");
	refused("GET", "/api/peers/a%4", "name");
	refused("GET", "/api/peers/a%", "name");
	refused("GET", "/api/peers/%%41", "name");
	refused("GET", "/api/peers/a%g1", "name");
	/* Over CG_NAME_MAX once decoded, however it was written. */
	memset(name, 'n', CG_NAME_MAX);
	name[CG_NAME_MAX] = '\0';
	snprintf(path, sizeof(path), "/api/peers/%s%%41", name);
	refused("GET", path, "name");
	snprintf(path, sizeof(path), "/api/peers/%sx", name);
	refused("DELETE", path, "name");
	/* The error names the field and says why. */
	api_lookup(api_routes, "GET", "/api/peers/alice%00zzz", &l);
	ck_assert_ptr_nonnull(strstr(l.err.msg, "'name'"));
	ck_assert_ptr_nonnull(strstr(l.err.msg, "NUL"));

	/* Positive controls: valid escapes decode, the longest name fits. */
	ck_assert_ptr_eq(match("GET", "/api/peers/%61lice"),
			 route("GET", "/api/peers/{name}"));
	ck_assert_str_eq(param, "alice");
	ck_assert_ptr_eq(match("GET", "/api/peers/%4C%6c"),
			 route("GET", "/api/peers/{name}"));
	ck_assert_str_eq(param, "Ll");
	snprintf(path, sizeof(path), "/api/peers/%.*s%%6e", CG_NAME_MAX - 1,
		 name);
	ck_assert_ptr_eq(match("GET", path), route("GET", "/api/peers/{name}"));
	ck_assert_str_eq(param, name);
	api_lookup(api_routes, "GET", "/api/peers/alice", &l);
	ck_assert_int_eq(l.status, 0);
	ck_assert_str_eq(l.param, "alice");
	/* Fixed segments are not decoded: another path. */
	api_lookup(api_routes, "GET", "/api/%70eers", &l);
	ck_assert_int_eq(l.status, 404);
}
END_TEST

START_TEST(test_allow_lists_methods)
{
	struct api_lookup l;

	api_lookup(api_routes, "PATCH", "/api/peers/alice", &l);
	ck_assert_int_eq(l.status, 405);
	ck_assert_ptr_null(l.route);
	ck_assert_str_eq(l.allow, "GET, PUT, DELETE");
	api_lookup(api_routes, "DELETE", "/api/peers", &l);
	ck_assert_int_eq(l.status, 405);
	ck_assert_str_eq(l.allow, "GET, POST");
	api_lookup(api_routes, "POST", "/health", &l);
	ck_assert_int_eq(l.status, 405);
	ck_assert_str_eq(l.allow, "GET");
	/* A bad name under a wrong method is still a 405. */
	api_lookup(api_routes, "POST", "/api/peers/a%00", &l);
	ck_assert_int_eq(l.status, 405);
	ck_assert_str_eq(l.allow, "GET, PUT, DELETE");
	api_lookup(api_routes, "GET", "/nope", &l);
	ck_assert_int_eq(l.status, 404);
	ck_assert_str_eq(l.allow, "");
	/* The cell-to-cell listeners' tables too. */
	api_lookup(pairing_routes, "GET", "/api/cells/peer-sync/accept-invite",
		   &l);
	ck_assert_int_eq(l.status, 405);
	ck_assert_str_eq(l.allow, "POST");
}
END_TEST

START_TEST(test_json_media_type)
{
	ck_assert(api_json_media_type("application/json"));
	ck_assert(api_json_media_type("Application/JSON"));
	ck_assert(api_json_media_type("application/json; charset=utf-8"));
	ck_assert(api_json_media_type("application/json;charset=\"UTF-8\""));
	ck_assert(api_json_media_type(" application/json ; charset=utf-8 "));
	ck_assert(!api_json_media_type(NULL));
	ck_assert(!api_json_media_type(""));
	ck_assert(!api_json_media_type("text/plain"));
	ck_assert(!api_json_media_type("application/x-www-form-urlencoded"));
	ck_assert(!api_json_media_type("application/jsonx"));
	ck_assert(!api_json_media_type("application/json-patch+json"));
	ck_assert(!api_json_media_type("text/json"));
	ck_assert(!api_json_media_type("application/json; charset=latin1"));
	ck_assert(!api_json_media_type("application/json, text/plain"));
}
END_TEST

/* A path a route spells out is not a {name}: GET /api/cells/invite is
 * 405 (creating takes POST), not "no cell 'invite'". */
START_TEST(test_fixed_path_shadows_name)
{
	char allow[64];
	const struct api_route *r;

	ck_assert_ptr_null(match("GET", "/api/cells/invite"));
	ck_assert(known);
	ck_assert_ptr_null(match("DELETE", "/api/cells/invite"));
	ck_assert(known);
	ck_assert_ptr_eq(match("POST", "/api/cells/invite"),
			 route("POST", "/api/cells/invite"));
	ck_assert_ptr_eq(match("GET", "/api/cells/invites"),
			 route("GET", "/api/cells/invites"));
	ck_assert_ptr_null(match("DELETE", "/api/cells/invites"));
	ck_assert(known);
	r = match("DELETE", "/api/cells/invites/0123abcd");
	ck_assert_ptr_eq(r, route("DELETE", "/api/cells/invites/{id}"));
	ck_assert_str_eq(param, "0123abcd");
	/* Other names still reach the {name} routes. */
	r = match("GET", "/api/cells/office");
	ck_assert_ptr_eq(r, route("GET", "/api/cells/{name}"));
	ck_assert_str_eq(param, "office");
	ck_assert_ptr_eq(match("GET", "/api/cells/invitex"),
			 route("GET", "/api/cells/{name}"));

	api_allowed_methods(api_routes, "/api/cells/invite", allow,
			    sizeof(allow));
	ck_assert_str_eq(allow, "POST");
	api_allowed_methods(api_routes, "/api/cells/invites", allow,
			    sizeof(allow));
	ck_assert_str_eq(allow, "GET");
	api_allowed_methods(api_routes, "/api/peers/alice", allow,
			    sizeof(allow));
	ck_assert_str_eq(allow, "GET, PUT, DELETE");
	api_allowed_methods(api_routes, "/api/nope", allow, sizeof(allow));
	ck_assert_str_eq(allow, "");
}
END_TEST

static Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("match");

	tcase_add_test(tc, test_table_well_formed);
	tcase_add_test(tc, test_every_route_matches);
	tcase_add_test(tc, test_known_routes);
	tcase_add_test(tc, test_wrong_method_is_405);
	tcase_add_test(tc, test_unknown_path_is_404);
	tcase_add_test(tc, test_name_segment);
	tcase_add_test(tc, test_trailing_slash);
	tcase_add_test(tc, test_small_param_buffer);
	tcase_add_test(tc, test_fixed_path_shadows_name);
	tcase_add_test(tc, test_strict_params);
	tcase_add_test(tc, test_allow_lists_methods);
	tcase_add_test(tc, test_json_media_type);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(api_suite());
}
