// SPDX-License-Identifier: MIT
/* Unit tests for ctl/state/join_token.c: join tokens, their secrets and
 * uses, and their file. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "join_token.h"
#include "testutil.h"

static struct cg_config cfg;
static struct cg_state st;
static struct cg_join_tokens t;
static struct cg_error err;

static void setup(void)
{
	json_object *svc;

	tu_config(&cfg, TU_EXAMPLE_CONFIG);
	state_init(&st, &cfg);
	memset(&t, 0, sizeof(t));
	memset(&err, 0, sizeof(err));
	svc = tu_json("{\"endpoints\": [{\"ip\": \"172.20.0.21\", "
		      "\"proto\": \"tcp\", \"port\": 80}]}");
	ck_assert_int_eq(state_put_service(&st, "calendar", svc, &err), 0);
	json_object_put(svc);
}

static void teardown(void)
{
	jt_free(&t);
	state_free(&st);
}

/* Make a token from body text; its secret in secret. */
static int make(const char *body, char secret[JT_SECRET_LEN + 1])
{
	json_object *o = tu_json(body);
	int ret;

	memset(&err, 0, sizeof(err));
	ret = jt_create(&t, &st, o, 1000, secret, &err);
	json_object_put(o);
	return ret;
}

START_TEST(test_create_and_match)
{
	char s1[JT_SECRET_LEN + 1], s2[JT_SECRET_LEN + 1];
	char other[JT_SECRET_LEN + 1];

	ck_assert_int_eq(make("{\"name\": \"factory\", \"service_access\": "
			      "[\"calendar\"], \"groups\": [\"devices\"], "
			      "\"expires_in\": 60, \"max_uses\": 2}",
			      s1),
			 0);
	ck_assert_int_eq(make("{\"name\": \"other\"}", s2), 0);
	ck_assert_uint_eq(strlen(s1), JT_SECRET_LEN);
	ck_assert_str_ne(s1, s2);
	ck_assert_ptr_eq(jt_match(&t, s1), jt_find(&t, "factory"));
	ck_assert_ptr_eq(jt_match(&t, s2), jt_find(&t, "other"));
	memcpy(other, s1, sizeof(other));
	other[10] = other[10] == 'a' ? 'b' : 'a';
	ck_assert_ptr_null(jt_match(&t, other));
	ck_assert_ptr_null(jt_match(&t, ""));
	ck_assert_ptr_null(jt_match(&t, NULL));
	ck_assert_int_eq(jt_find(&t, "factory")->expires_at, 1060);
	ck_assert_int_eq(jt_find(&t, "other")->expires_at, 0);
	ck_assert(!jt_expired(jt_find(&t, "factory"), 1059));
	ck_assert(jt_expired(jt_find(&t, "factory"), 1060));
	ck_assert(!jt_expired(jt_find(&t, "other"), 1 << 30));
}
END_TEST

START_TEST(test_bad_bodies)
{
	char s[JT_SECRET_LEN + 1];

	ck_assert_int_ne(make("{}", s), 0);
	tu_assert_err(&err, 400, "name");
	ck_assert_int_ne(make("{\"name\": \"bad name\"}", s), 0);
	tu_assert_err(&err, 400, "name");
	ck_assert_int_ne(make("{\"name\": \"a\", \"service_access\": "
			      "[\"nosuch\"]}",
			      s),
			 0);
	tu_assert_err(&err, 400, "service_access[0]");
	ck_assert_int_ne(make("{\"name\": \"a\", \"groups\": [1]}", s), 0);
	tu_assert_err(&err, 400, "groups[0]");
	ck_assert_int_ne(make("{\"name\": \"a\", \"expires_in\": 0}", s), 0);
	tu_assert_err(&err, 400, "expires_in");
	ck_assert_int_ne(make("{\"name\": \"a\", \"max_uses\": 0}", s), 0);
	tu_assert_err(&err, 400, "max_uses");
	ck_assert_int_ne(make("{\"name\": \"a\", \"extra\": 1}", s), 0);
	tu_assert_err(&err, 400, "extra");
	ck_assert_uint_eq(t.n, 0);
	ck_assert_int_eq(make("{\"name\": \"a\"}", s), 0);
	ck_assert_int_eq(make("{\"name\": \"a\"}", s), -EEXIST);
	tu_assert_err(&err, 409, "name");
	ck_assert_uint_eq(t.n, 1);
}
END_TEST

START_TEST(test_uses)
{
	char s[JT_SECRET_LEN + 1];
	struct cg_join_token *tok;
	wg_key k1 = { 1 }, k2 = { 2 };

	ck_assert_int_eq(make("{\"name\": \"t\", \"max_uses\": 2}", s), 0);
	tok = jt_find(&t, "t");
	ck_assert_int_eq(jt_use(tok, k1), 1);
	ck_assert(jt_joined(tok, k1));
	ck_assert(!jt_used_up(tok));
	ck_assert_int_eq(jt_use(tok, k2), 1);
	ck_assert(jt_used_up(tok));
	jt_unuse(tok, k2, 1);
	ck_assert(!jt_joined(tok, k2));
	ck_assert_uint_eq(tok->uses, 1);
	/* A key that joined before (its peer deleted) uses one more. */
	ck_assert_int_eq(jt_use(tok, k1), 0);
	ck_assert_uint_eq(tok->uses, 2);
	ck_assert_uint_eq(tok->n_keys, 1);
	jt_unuse(tok, k1, 0);
	ck_assert_uint_eq(tok->uses, 1);
	ck_assert(jt_joined(tok, k1));
}
END_TEST

START_TEST(test_file_round_trip)
{
	char s[JT_SECRET_LEN + 1], *dir = tu_mkdtemp(), path[512];
	struct cg_join_tokens again;
	wg_key k = { 7 };
	json_object *o;

	ck_assert_int_eq(make("{\"name\": \"t\", \"service_access\": "
			      "[\"calendar\"], \"internet_access\": true, "
			      "\"max_uses\": 3}",
			      s),
			 0);
	ck_assert_int_eq(jt_use(jt_find(&t, "t"), k), 1);
	snprintf(path, sizeof(path), "%s/join-tokens.json", dir);
	ck_assert_int_eq(jt_save(&t, path), 0);
	ck_assert_int_eq(jt_load(&again, path, &err), 0);
	ck_assert_uint_eq(again.n, 1);
	ck_assert_ptr_eq(jt_match(&again, s), &again.v[0]);
	ck_assert_uint_eq(again.v[0].uses, 1);
	ck_assert(jt_joined(&again.v[0], k));
	ck_assert(again.v[0].internet_access);
	ck_assert_str_eq(again.v[0].services[0], "calendar");
	/* What the API lists: never the secret or its hash. */
	o = jt_to_json(&again.v[0], 1000);
	ck_assert(!json_object_object_get_ex(o, "hash", NULL));
	ck_assert(!json_object_object_get_ex(o, "token", NULL));
	ck_assert_int_eq(
		json_object_get_int(json_object_object_get(o, "uses_left")), 2);
	json_object_put(o);
	jt_free(&again);
	/* A missing file is no tokens; a corrupt one an error. */
	snprintf(path, sizeof(path), "%s/none.json", dir);
	ck_assert_int_eq(jt_load(&again, path, &err), 0);
	ck_assert_uint_eq(again.n, 0);
	ck_assert_int_ne(jt_parse(&again, "{\"tokens\": 1}", 13, &err), 0);
	ck_assert_int_ne(jt_parse(&again, "[", 1, &err), 0);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_delete)
{
	char s[JT_SECRET_LEN + 1];

	ck_assert_int_eq(make("{\"name\": \"a\"}", s), 0);
	ck_assert_int_eq(make("{\"name\": \"b\"}", s), 0);
	ck_assert_int_eq(jt_delete(&t, "a", &err), 0);
	ck_assert_ptr_null(jt_find(&t, "a"));
	ck_assert_ptr_eq(jt_match(&t, s), jt_find(&t, "b"));
	ck_assert_int_eq(jt_delete(&t, "a", &err), -ENOENT);
	tu_assert_err(&err, 404, "name");
}
END_TEST

static Suite *join_token_suite(void)
{
	Suite *s = suite_create("join_token");
	TCase *tc = tcase_create("tokens");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_create_and_match);
	tcase_add_test(tc, test_bad_bodies);
	tcase_add_test(tc, test_uses);
	tcase_add_test(tc, test_file_round_trip);
	tcase_add_test(tc, test_delete);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(join_token_suite());
}
