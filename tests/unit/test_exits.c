// SPDX-License-Identifier: MIT
/* Unit tests for exits (issue 20): the parser (what it refuses, naming
 * the field, changing nothing), ids (1..63, kept by a replace, the
 * lowest free one reused), a peer's "exit" and its identity's exit_id,
 * DELETE refused while a peer uses the exit, the state file and the
 * journal round trip. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "state.h"
#include "testutil.h"

static struct cg_config cfg;
static struct cg_state st;
static struct cg_error err;
static wg_key gen_key;

#define WG_BODY(extra)                                                    \
	"{\"kind\": \"wireguard\", \"endpoint\": \"203.0.113.7:51820\", " \
	"\"public_key\": \"" PUB "\", \"address\": \"10.64.0.2/32\"" extra "}"
#define PUB "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="

static void setup(void)
{
	tu_config(&cfg, TU_EXAMPLE_CONFIG);
	state_init(&st, &cfg);
	memset(gen_key, 9, sizeof(gen_key));
}

static void teardown(void)
{
	state_free(&st);
}

static int put(const char *name, const char *body)
{
	struct cg_exit_def old, out;
	json_object *o = tu_json(body);
	bool existed;
	int ret = state_put_exit(&st, name, o, gen_key, &old, &existed, &out,
				 &err);

	json_object_put(o);
	return ret;
}

static void put_ok(const char *name, const char *body)
{
	memset(&err, 0, sizeof(err));
	ck_assert_msg(put(name, body) == 0, "%s: %s", err.field, err.msg);
}

static int peer_set(const char *name, const char *body)
{
	json_object *o = tu_json(body);
	int ret = state_update_peer(&st, name, o, NULL, NULL, &err);

	json_object_put(o);
	return ret;
}

static void add_peer(const char *name, unsigned int seed)
{
	char key[WG_KEY_B64_LEN + 1], body[256];
	json_object *o;

	tu_key_b64(seed, key);
	snprintf(body, sizeof(body),
		 "{\"name\": \"%s\", \"public_key\": \"%s\", "
		 "\"internet_access\": true}",
		 name, key);
	o = tu_json(body);
	ck_assert_int_eq(state_add_peer(&st, o, NULL, NULL, &err), 0);
	json_object_put(o);
}

START_TEST(test_rejects)
{
	char body[128];

	REJECTS(put("x", "{\"kind\": \"ferry\"}"), 400, "kind");
	REJECTS(put("x", "{\"kind\": \"tor\"}"), 400, "kind");
	REJECTS(put("x", "{\"kind\": \"cell\"}"), 400, "kind");
	REJECTS(put("x", "{}"), 400, "kind");
	REJECTS(put("x", "{\"kind\": \"interface\"}"), 400, "interface");
	REJECTS(put("x", "{\"kind\": \"interface\", \"interface\": "
			 "\"much-too-long-name\"}"),
		400, "interface");
	REJECTS(put("x", "{\"kind\": \"interface\", \"interface\": \"a/b\"}"),
		400, "interface");
	REJECTS(put("x", "{\"kind\": \"interface\", \"interface\": \"tun0\", "
			 "\"gateway\": \"10.8.0\"}"),
		400, "gateway");
	REJECTS(put("x", "{\"kind\": \"interface\", \"interface\": \"tun0\", "
			 "\"address\": \"10.8.0.6/33\"}"),
		400, "address");
	REJECTS(put("x", "{\"kind\": \"interface\", \"interface\": \"tun0\", "
			 "\"endpoint\": \"203.0.113.7:1\"}"),
		400, "kind");
	REJECTS(put("x", "{\"kind\": \"interface\", \"interface\": \"tun0\", "
			 "\"bogus\": 1}"),
		400, "bogus");
	REJECTS(put("x", "{\"kind\": \"interface\", \"interface\": \"tun0\", "
			 "\"id\": 3}"),
		400, "id");
	REJECTS(put("x", "{\"name\": \"y\", \"kind\": \"interface\", "
			 "\"interface\": \"tun0\"}"),
		400, "name");
	REJECTS(put("x", "{\"kind\": \"wireguard\", \"endpoint\": "
			 "\"203.0.113.7\", \"public_key\": \"" PUB "\", "
			 "\"address\": \"10.64.0.2/32\"}"),
		400, "endpoint");
	REJECTS(put("x", "{\"kind\": \"wireguard\", \"endpoint\": "
			 "\"203.0.113.7:51820\", \"public_key\": \"nope\", "
			 "\"address\": \"10.64.0.2/32\"}"),
		400, "public_key");
	REJECTS(put("x",
		    "{\"kind\": \"wireguard\", \"endpoint\": "
		    "\"203.0.113.7:51820\", \"address\": \"10.64.0.2/32\"}"),
		400, "public_key");
	REJECTS(put("x", "{\"kind\": \"wireguard\", \"endpoint\": "
			 "\"203.0.113.7:51820\", \"public_key\": \"" PUB "\"}"),
		400, "address");
	REJECTS(put("x", WG_BODY(", \"masquerade\": false")), 400,
		"masquerade");
	REJECTS(put("x", WG_BODY(", \"interface\": \"wg9\"")), 400,
		"interface");
	REJECTS(put("x", WG_BODY(", \"private_key\": \"short\"")), 400,
		"private_key");
	REJECTS(put("bad name", WG_BODY("")), 400, "name");
	snprintf(body, sizeof(body),
		 "{\"kind\": \"interface\", \"interface\": \"%s\"}",
		 cfg.wireguard.interface);
	REJECTS(put("x", body), 400, "interface");
}
END_TEST

START_TEST(test_ids_and_keys)
{
	struct cg_exit_def *e;
	wg_key priv;

	put_ok("a", "{\"kind\": \"interface\", \"interface\": \"tun0\"}");
	put_ok("b", WG_BODY(""));
	put_ok("c", "{\"kind\": \"interface\", \"interface\": \"tun1\", "
		    "\"masquerade\": false, \"gateway\": \"10.8.0.1\"}");
	ck_assert_uint_eq(state_exit(&st, "a")->id, 1);
	ck_assert_uint_eq(state_exit(&st, "b")->id, 2);
	ck_assert_uint_eq(state_exit(&st, "c")->id, 3);
	ck_assert(state_exit(&st, "a")->masquerade);
	ck_assert(!state_exit(&st, "c")->masquerade);
	e = state_exit(&st, "b");
	ck_assert_str_eq(e->interface, "cgx-b");
	ck_assert_mem_eq(e->private_key, gen_key, WG_KEY_LEN);
	/* Two exits never share a link. */
	REJECTS(put("d", "{\"kind\": \"interface\", \"interface\": \"tun0\"}"),
		409, "interface");
	/* A replace keeps the id and the private key. */
	memcpy(priv, e->private_key, WG_KEY_LEN);
	memset(gen_key, 5, sizeof(gen_key));
	put_ok("b", WG_BODY(", \"address\": \"10.64.0.3/32\""));
	e = state_exit(&st, "b");
	ck_assert_uint_eq(e->id, 2);
	ck_assert_mem_eq(e->private_key, priv, WG_KEY_LEN);
	/* The lowest free id again. */
	ck_assert_int_eq(state_delete_exit(&st, "a", NULL, &err), 0);
	put_ok("long-exit-name-x", WG_BODY(""));
	ck_assert_uint_eq(state_exit(&st, "long-exit-name-x")->id, 1);
	ck_assert_str_eq(state_exit(&st, "long-exit-name-x")->interface,
			 "cgx1");
	REJECTS(state_delete_exit(&st, "nope", NULL, &err), 404, "name");
}
END_TEST

START_TEST(test_peer_exit)
{
	struct policy pol = { 0 };
	json_object *o;

	add_peer("alice", 1);
	put_ok("vpn", "{\"kind\": \"interface\", \"interface\": \"tun0\"}");
	REJECTS(peer_set("alice", "{\"exit\": \"nope\"}"), 400, "exit");
	REJECTS(peer_set("alice", "{\"exit\": 3}"), 400, "exit");
	ck_assert_int_eq(peer_set("alice", "{\"exit\": \"vpn\"}"), 0);
	ck_assert_uint_eq(state_peer(&st, "alice")->exit_id, 1);
	o = peer_to_json(&st, state_peer(&st, "alice"), false);
	ck_assert_str_eq(
		json_object_get_string(json_object_object_get(o, "exit")),
		"vpn");
	json_object_put(o);
	/* The identity carries it. */
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
	ck_assert_uint_eq(pol.peers[0].value.exit_id, 1);
	policy_free(&pol);
	/* In use: 409, nothing changed. */
	REJECTS(state_delete_exit(&st, "vpn", NULL, &err), 409, "name");
	ck_assert_uint_eq(state_exit_users(&st, 1), 1);
	ck_assert_int_eq(peer_set("alice", "{\"exit\": null}"), 0);
	ck_assert_uint_eq(state_peer(&st, "alice")->exit_id, 0);
	o = peer_to_json(&st, state_peer(&st, "alice"), false);
	ck_assert(json_object_object_get_ex(o, "exit", NULL));
	ck_assert_ptr_null(json_object_object_get(o, "exit"));
	json_object_put(o);
	ck_assert_int_eq(state_delete_exit(&st, "vpn", NULL, &err), 0);
}
END_TEST

/* Exits, their ids and keys, and a peer's choice survive the state
 * file; the API's view never shows the private key. */
START_TEST(test_round_trip)
{
	struct cg_state back;
	char *a, *b, *dir = tu_mkdtemp(), path[512];
	json_object *o;

	add_peer("alice", 1);
	put_ok("a", "{\"kind\": \"interface\", \"interface\": \"tun0\"}");
	put_ok("vps", WG_BODY(", \"address6\": \"fd00:64::2/128\""));
	ck_assert_int_eq(state_delete_exit(&st, "a", NULL, &err), 0);
	ck_assert_int_eq(peer_set("alice", "{\"exit\": \"vps\"}"), 0);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	ck_assert_int_eq(state_save(&st, path), 0);
	state_init(&back, &cfg);
	ck_assert_msg(state_load(&back, path, &err) == 0, "%s", err.msg);
	a = state_to_string(&st);
	b = state_to_string(&back);
	ck_assert_str_eq(a, b);
	ck_assert_uint_eq(state_exit(&back, "vps")->id, 2);
	ck_assert_uint_eq(state_peer(&back, "alice")->exit_id, 2);
	ck_assert_mem_eq(state_exit(&back, "vps")->private_key, gen_key,
			 WG_KEY_LEN);
	o = exit_to_json(state_exit(&back, "vps"), false);
	ck_assert(!json_object_object_get_ex(o, "private_key", NULL));
	ck_assert(json_object_object_get_ex(o, "local_public_key", NULL));
	json_object_put(o);
	free(a);
	free(b);
	state_free(&back);
	tu_rm_r(dir);
	free(dir);
}
END_TEST

/* Each operation one journal line, replayed after the snapshot. */
START_TEST(test_journal)
{
	struct cg_journal_pos pos;
	struct cg_journal j;
	struct cg_state back;
	char *dir = tu_mkdtemp(), path[512], *a, *b;

	snprintf(path, sizeof(path), "%s/state.json", dir);
	state_free(&st);
	state_init(&st, &cfg);
	ck_assert_int_eq(state_load_journaled(&st, path, &pos, &err), 0);
	ck_assert_int_eq(journal_open(&j, path, &pos, &err), 0);
#define OP(change)                                            \
	do {                                                  \
		ck_assert_int_eq(state_begin(&st), 0);        \
		ck_assert_int_eq((change), 0);                \
		ck_assert_int_eq(journal_append(&j, &st), 0); \
		state_commit(&st);                            \
	} while (0)
	OP((add_peer("alice", 1), 0));
	OP(put("vps", WG_BODY("")));
	OP(put("vpn", "{\"kind\": \"interface\", \"interface\": \"tun0\"}"));
	OP(peer_set("alice", "{\"exit\": \"vpn\"}"));
	OP(put("vps", WG_BODY(", \"address\": \"10.64.0.9/32\"")));
	OP(peer_set("alice", "{\"exit\": \"vps\"}"));
	OP(state_delete_exit(&st, "vpn", NULL, &err));
	journal_close(&j);
	state_init(&back, &cfg);
	ck_assert_msg(state_load(&back, path, &err) == 0, "%s", err.msg);
	a = state_to_string(&st);
	b = state_to_string(&back);
	ck_assert_str_eq(a, b);
	ck_assert_uint_eq(state_peer(&back, "alice")->exit_id, 1);
	free(a);
	free(b);
	state_free(&back);
	tu_rm_r(dir);
	free(dir);
}
END_TEST

static Suite *exits_suite(void)
{
	Suite *s = suite_create("exits");
	TCase *tc = tcase_create("exits");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_rejects);
	tcase_add_test(tc, test_ids_and_keys);
	tcase_add_test(tc, test_peer_exit);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_journal);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(exits_suite());
}
