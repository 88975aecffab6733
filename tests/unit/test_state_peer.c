// SPDX-License-Identifier: MIT
/* Unit tests for ctl/state/state_peer.c: peers, their keys, addresses
 * and ids; copies of the state. */
#include "policy.h"
#include "state_fixture.h"

/* ---- peers --------------------------------------------------------------- */

START_TEST(test_peer_add)
{
	struct cg_peer_def added;
	const struct cg_peer_def *p;
	char key[WG_KEY_B64_LEN + 1];
	wg_key want;
	json_object *j, *v;

	three_services();
	ck_assert_int_eq(add_peer("alice", 1, "10.0.0.2",
				  ", \"service_access\": [\"calendar\", "
				  "\"mail\"], \"internet_access\": true",
				  &added),
			 0);
	ck_assert_uint_eq(added.id, 1);
	ck_assert_str_eq(added.name, "alice");
	ck_assert_uint_eq(added.ip.s_addr, ip("10.0.0.2"));
	tu_key_b64(1, key);
	ck_assert(key_from_base64(want, key));
	ck_assert_mem_eq(added.public_key, want, WG_KEY_LEN);
	ck_assert(added.internet_access);
	ck_assert(!added.peer_to_peer);
	p = state_peer(&st, "alice");
	ck_assert_ptr_nonnull(p);
	assert_peer_eq(p, &added);
	ck_assert(has_access(p, "calendar"));
	ck_assert(has_access(p, "mail"));
	ck_assert(!has_access(p, "files"));
	ck_assert_uint_eq(access_count(p), 2);

	/* The API view: names, not ids. */
	j = peer_to_json(&st, p, false);
	ck_assert(!json_object_object_get_ex(j, "id", NULL));
	ck_assert(json_object_object_get_ex(j, "public_key", &v));
	ck_assert_str_eq(json_object_get_string(v), key);
	ck_assert(json_object_object_get_ex(j, "ip", &v));
	ck_assert_str_eq(json_object_get_string(v), "10.0.0.2");
	ck_assert(json_object_object_get_ex(j, "service_access", &v));
	ck_assert_uint_eq(json_object_array_length(v), 2);
	ck_assert_str_eq(
		json_object_get_string(json_object_array_get_idx(v, 0)),
		"calendar");
	ck_assert_str_eq(
		json_object_get_string(json_object_array_get_idx(v, 1)),
		"mail");
	json_object_put(j);

	/* Defaults: no access, no internet, no peer-to-peer. */
	ck_assert_int_eq(add_peer("bob", 2, "10.0.0.254", NULL, &added), 0);
	ck_assert_uint_eq(added.id, 2);
	ck_assert_uint_eq(access_count(&added), 0);
	ck_assert(!added.internet_access);
	ck_assert(!added.peer_to_peer);
	ck_assert_uint_eq(st.n_peers, 2);
}
END_TEST

START_TEST(test_peer_name_rules)
{
	char name[80], body[512];

	memset(name, 'p', 65);
	name[65] = '\0';
	REJECTS(add_peer(name, 1, "10.0.0.2", NULL, NULL), 400, "name");
	REJECTS(add_peer("a b", 1, "10.0.0.2", NULL, NULL), 400, "name");
	REJECTS(add_peer("", 1, "10.0.0.2", NULL, NULL), 400, "name");
	REJECTS(add_peer("a/b", 1, "10.0.0.2", NULL, NULL), 400, "name");
	REJECTS(add_peer("caf\xc3\xa9", 1, "10.0.0.2", NULL, NULL), 400,
		"name");
	tu_key_b64(1, name);
	snprintf(body, sizeof(body),
		 "{\"public_key\": \"%s\", \"ip\": \"10.0.0.2\"}", name);
	REJECTS(add_json(body, NULL), 400, "name");
	snprintf(body, sizeof(body),
		 "{\"name\": 5, \"public_key\": \"%s\", \"ip\": \"10.0.0.2\"}",
		 name);
	REJECTS(add_json(body, NULL), 400, "name");
	ck_assert_uint_eq(st.n_peers, 0);

	memset(name, 'p', 64);
	name[64] = '\0';
	must_add_peer(name, 1, "10.0.0.2", NULL);
	must_add_peer("A-Z_0.9", 2, "10.0.0.3", NULL);
	/* Names are unique. */
	REJECTS(add_peer("A-Z_0.9", 3, "10.0.0.4", NULL, NULL), 409, "name");
}
END_TEST

START_TEST(test_peer_public_key)
{
	char body[512];
	char key[WG_KEY_B64_LEN + 1];

#define WITH_KEY(k)                                                  \
	(snprintf(body, sizeof(body),                                \
		  "{\"name\": \"bob\", \"public_key\": %s, \"ip\": " \
		  "\"10.0.0.3\"}",                                   \
		  k),                                                \
	 add_json(body, NULL))
	must_add_peer("alice", 1, "10.0.0.2", NULL);
	REJECTS(WITH_KEY("\"not base64!\""), 400, "public_key");
	REJECTS(WITH_KEY("\"!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!=\""),
		400, "public_key");
	/* 31 and 33 bytes. */
	REJECTS(WITH_KEY("\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\""),
		400, "public_key");
	REJECTS(WITH_KEY("\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\""),
		400, "public_key");
	REJECTS(WITH_KEY("\"\""), 400, "public_key");
	/* The all-zero key: WireGuard would refuse it. */
	REJECTS(WITH_KEY("\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\""),
		400, "public_key");
	REJECTS(WITH_KEY("32"), 400, "public_key");
	REJECTS(WITH_KEY("null"), 400, "public_key");
	/* 32 bytes is right. */
	ck_assert_int_eq(
		WITH_KEY("\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\""),
		0);
	ck_assert_uint_eq(state_peer(&st, "bob")->public_key[31], 31);
#undef WITH_KEY
	/* Missing. */
	REJECTS(add_json("{\"name\": \"carol\", \"ip\": \"10.0.0.4\"}", NULL),
		400, "public_key");
	/* alice's key again. */
	REJECTS(add_peer("carol", 1, "10.0.0.4", NULL, NULL), 409,
		"public_key");
	ck_assert_ptr_nonnull(strstr(err.msg, "'alice'"));
	tu_key_b64(1, key);
	ck_assert_ptr_null(strstr(err.msg, key));
}
END_TEST

START_TEST(test_peer_ip)
{
	char key[WG_KEY_B64_LEN + 1], body[256];

	must_add_peer("alice", 1, "10.0.0.2", NULL);
	REJECTS(add_peer("bob", 2, "10.0.1.2", NULL, NULL), 400, "ip");
	REJECTS(add_peer("bob", 2, "192.168.0.2", NULL, NULL), 400, "ip");
	REJECTS(add_peer("bob", 2, "10.0.0.0", NULL, NULL), 400, "ip");
	REJECTS(add_peer("bob", 2, "10.0.0.255", NULL, NULL), 400, "ip");
	REJECTS(add_peer("bob", 2, "0.0.0.0", NULL, NULL), 400, "ip");
	REJECTS(add_peer("bob", 2, "10.0.0", NULL, NULL), 400, "ip");
	REJECTS(add_peer("bob", 2, "10.0.0.2/32", NULL, NULL), 400, "ip");
	REJECTS(add_peer("bob", 2, "", NULL, NULL), 400, "ip");
	/* The router's own address, and one a peer has: conflicts. */
	REJECTS(add_peer("bob", 2, "10.0.0.1", NULL, NULL), 409, "ip");
	REJECTS(add_peer("bob", 2, "10.0.0.2", NULL, NULL), 409, "ip");
	ck_assert_ptr_nonnull(strstr(err.msg, "'alice'"));
	/* Of the wrong type (a missing ip is allocated: test_peer_alloc). */
	tu_key_b64(2, key);
	snprintf(body, sizeof(body),
		 "{\"name\": \"bob\", \"public_key\": \"%s\", "
		 "\"ip\": 167772163}",
		 key);
	REJECTS(add_json(body, NULL), 400, "ip");
	must_add_peer("bob", 2, "10.0.0.254", NULL);
}
END_TEST

/* Without "ip", the lowest free host address: not the network, the
 * router (.1) or the broadcast address; freed addresses are reused. */
START_TEST(test_peer_alloc)
{
	struct cg_peer_def added;
	char key[WG_KEY_B64_LEN + 1], body[256], ip[16];
	unsigned int i;

	must_add_peer("alice", 1, "10.0.0.2", NULL);
	must_add_peer("carol", 3, "10.0.0.4", NULL);
	tu_key_b64(2, key);
	snprintf(body, sizeof(body),
		 "{\"name\": \"bob\", \"public_key\": \"%s\"}", key);
	ck_assert_int_eq(add_json(body, &added), 0);
	ck_assert_str_eq(ipv4_str(added.ip, ip), "10.0.0.3");
	tu_key_b64(5, key);
	snprintf(body, sizeof(body),
		 "{\"name\": \"dave\", \"public_key\": \"%s\"}", key);
	ck_assert_int_eq(add_json(body, &added), 0);
	ck_assert_str_eq(ipv4_str(added.ip, ip), "10.0.0.5");
	ck_assert_int_eq(state_delete_peer(&st, "bob", NULL, &err), 0);
	tu_key_b64(6, key);
	snprintf(body, sizeof(body),
		 "{\"name\": \"erin\", \"public_key\": \"%s\"}", key);
	ck_assert_int_eq(add_json(body, &added), 0);
	ck_assert_str_eq(ipv4_str(added.ip, ip), "10.0.0.3");
	/* Fill the rest of the /24 up to the peer limit's worth... */
	for (i = 0; i < 10; i++) {
		tu_key_b64(10 + i, key);
		snprintf(body, sizeof(body),
			 "{\"name\": \"p%u\", \"public_key\": \"%s\"}", i, key);
		ck_assert_int_eq(add_json(body, &added), 0);
		ck_assert_uint_eq(ntohl(added.ip.s_addr) & 0xff, 6 + i);
	}
}
END_TEST

/* Without "public_key", the caller's generated key, or a 400. */
START_TEST(test_peer_generated_key)
{
	struct cg_peer_def added;
	json_object *o = tu_json("{\"name\": \"phone\"}");
	wg_key gen;

	memset(&err, 0, sizeof(err));
	ck_assert_int_ne(state_add_peer(&st, o, NULL, NULL, &err), 0);
	ck_assert_int_eq(err.status, 400);
	ck_assert_str_eq(err.field, "public_key");
	memset(gen, 7, sizeof(gen));
	ck_assert_int_eq(state_add_peer(&st, o, gen, &added, &err), 0);
	ck_assert_mem_eq(added.public_key, gen, WG_KEY_LEN);
	json_object_put(o);
}
END_TEST

/* A full subnet: 409 on ip, nothing added. */
START_TEST(test_peer_alloc_exhausted)
{
	static struct cg_config small;
	char key[WG_KEY_B64_LEN + 1], body[256], *before, *after;
	struct cg_state s2;
	json_object *o;
	int i;

	/* 10.0.0.1/29: hosts .1 (router) to .6, so five peers. */
	tu_config(&small, "{\"cell_name\": \"x\", \"domain\": \"x.cell\","
			  " \"wireguard\": {\"address\": \"10.0.0.1/29\"},"
			  " \"bridge\": {\"interface\": \"br0\"}}");
	state_init(&s2, &small);
	for (i = 0; i < 6; i++) {
		tu_key_b64(40 + (unsigned int)i, key);
		snprintf(body, sizeof(body),
			 "{\"name\": \"p%d\", \"public_key\": \"%s\"}", i, key);
		o = tu_json(body);
		memset(&err, 0, sizeof(err));
		if (i < 5) {
			ck_assert_int_eq(
				state_add_peer(&s2, o, NULL, NULL, &err), 0);
		} else {
			before = state_to_string(&s2);
			ck_assert_int_ne(
				state_add_peer(&s2, o, NULL, NULL, &err), 0);
			ck_assert_int_eq(err.status, 409);
			ck_assert_str_eq(err.field, "ip");
			after = state_to_string(&s2);
			ck_assert_str_eq(before, after);
			free(before);
			free(after);
		}
		json_object_put(o);
	}
	state_free(&s2);
}
END_TEST

START_TEST(test_peer_fields)
{
	three_services();
	/* "calendar\u0000x" must not pass for calendar (fuzzing). */
	REJECTS(add_peer("bob", 2, "10.0.0.3",
			 ", \"service_access\": [\"calendar\\u0000x\"]", NULL),
		400, "service_access[0]");
	REJECTS(add_peer("bob", 2, "10.0.0.3",
			 ", \"service_access\": [\"calendar\", \"nope\"]",
			 NULL),
		400, "service_access[1]");
	ck_assert_ptr_nonnull(strstr(err.msg, "nope"));
	REJECTS(add_peer("bob", 2, "10.0.0.3", ", \"service_access\": [7]",
			 NULL),
		400, "service_access[0]");
	REJECTS(add_peer("bob", 2, "10.0.0.3",
			 ", \"service_access\": \"calendar\"", NULL),
		400, "service_access");
	REJECTS(add_peer("bob", 2, "10.0.0.3", ", \"internet_access\": 1",
			 NULL),
		400, "internet_access");
	REJECTS(add_peer("bob", 2, "10.0.0.3", ", \"peer_to_peer\": \"yes\"",
			 NULL),
		400, "peer_to_peer");
	/* Ids are internal: never from the API. */
	REJECTS(add_peer("bob", 2, "10.0.0.3", ", \"id\": 5", NULL), 400, "id");
	REJECTS(add_peer("bob", 2, "10.0.0.3", ", \"bogus\": 5", NULL), 400,
		"bogus");
	REJECTS(add_peer("bob", 2, "10.0.0.3", ", \"allowed_ips\": []", NULL),
		400, "allowed_ips");
	ck_assert_uint_eq(st.n_peers, 0);
}
END_TEST

START_TEST(test_peer_update)
{
	struct cg_peer_def old, upd, before;
	char body[256], key[WG_KEY_B64_LEN + 1];
	char *s1, *s2;

	three_services();
	must_add_peer("alice", 1, "10.0.0.2",
		      ", \"service_access\": [\"calendar\"], "
		      "\"internet_access\": true");
	must_add_peer("bob", 2, "10.0.0.3", NULL);
	before = *state_peer(&st, "alice");

	/* Only the given field changes. */
	ck_assert_int_eq(
		update_peer("alice", "{\"peer_to_peer\": true}", &old, &upd),
		0);
	assert_peer_eq(&old, &before);
	ck_assert(upd.peer_to_peer);
	upd.peer_to_peer = false;
	assert_peer_eq(&upd, &before);
	ck_assert(state_peer(&st, "alice")->peer_to_peer);
	ck_assert(state_peer(&st, "alice")->internet_access);

	ck_assert_int_eq(update_peer("alice",
				     "{\"service_access\": [\"files\", "
				     "\"mail\"]}",
				     NULL, &upd),
			 0);
	ck_assert(!has_access(&upd, "calendar"));
	ck_assert(has_access(&upd, "files"));
	ck_assert(has_access(&upd, "mail"));
	ck_assert(upd.peer_to_peer);
	ck_assert(upd.internet_access);
	ck_assert_uint_eq(upd.ip.s_addr, ip("10.0.0.2"));
	ck_assert_mem_eq(upd.public_key, before.public_key, WG_KEY_LEN);
	ck_assert_uint_eq(upd.id, before.id);

	ck_assert_int_eq(
		update_peer("alice", "{\"ip\": \"10.0.0.9\"}", NULL, &upd), 0);
	ck_assert_uint_eq(state_peer(&st, "alice")->ip.s_addr, ip("10.0.0.9"));
	ck_assert(has_access(&upd, "mail"));
	/* Its own address again is no conflict. */
	ck_assert_int_eq(
		update_peer("alice", "{\"ip\": \"10.0.0.9\"}", NULL, NULL), 0);
	tu_key_b64(9, key);
	snprintf(body, sizeof(body), "{\"public_key\": \"%s\"}", key);
	ck_assert_int_eq(update_peer("alice", body, NULL, &upd), 0);
	ck_assert_uint_eq(upd.id, 1);
	ck_assert_uint_eq(upd.ip.s_addr, ip("10.0.0.9"));

	/* The same name in the body, or nothing: no change. */
	s1 = state_to_string(&st);
	ck_assert_int_eq(
		update_peer("alice", "{\"name\": \"alice\"}", NULL, NULL), 0);
	ck_assert_int_eq(update_peer("alice", "{}", NULL, NULL), 0);
	s2 = state_to_string(&st);
	ck_assert_str_eq(s1, s2);
	free(s1);
	free(s2);
	ck_assert_uint_eq(st.n_peers, 2);
	ck_assert_uint_eq(state_peer(&st, "bob")->id, 2);
}
END_TEST

START_TEST(test_peer_update_rejects)
{
	char body[256], key[WG_KEY_B64_LEN + 1];

	three_services();
	must_add_peer("alice", 1, "10.0.0.2",
		      ", \"service_access\": [\"calendar\"]");
	must_add_peer("bob", 2, "10.0.0.3", NULL);
	REJECTS(update_peer("carol", "{\"peer_to_peer\": true}", NULL, NULL),
		404, "name");
	REJECTS(update_peer("alice", "{\"name\": \"alicia\"}", NULL, NULL), 400,
		"name");
	REJECTS(update_peer("alice", "{\"name\": \"bob\"}", NULL, NULL), 400,
		"name");
	REJECTS(update_peer("alice", "{\"ip\": \"10.0.0.3\"}", NULL, NULL), 409,
		"ip");
	ck_assert_ptr_nonnull(strstr(err.msg, "'bob'"));
	REJECTS(update_peer("alice", "{\"ip\": \"10.0.0.1\"}", NULL, NULL), 409,
		"ip");
	REJECTS(update_peer("alice", "{\"ip\": \"10.0.0.255\"}", NULL, NULL),
		400, "ip");
	REJECTS(update_peer("alice", "{\"ip\": \"10.1.0.3\"}", NULL, NULL), 400,
		"ip");
	REJECTS(update_peer("alice", "{\"ip\": \"\"}", NULL, NULL), 400, "ip");
	REJECTS(update_peer("alice", "{\"public_key\": \"\"}", NULL, NULL), 400,
		"public_key");
	tu_key_b64(2, key);
	snprintf(body, sizeof(body), "{\"public_key\": \"%s\"}", key);
	REJECTS(update_peer("alice", body, NULL, NULL), 409, "public_key");
	REJECTS(update_peer("alice", "{\"service_access\": [\"nope\"]}", NULL,
			    NULL),
		400, "service_access[0]");
	REJECTS(update_peer("alice", "{\"id\": 2}", NULL, NULL), 400, "id");
	REJECTS(update_peer("alice", "{\"bogus\": 2}", NULL, NULL), 400,
		"bogus");
	/* A rejected update changes no field, even valid ones before it. */
	REJECTS(update_peer("alice",
			    "{\"internet_access\": true, \"service_access\": "
			    "[], \"ip\": \"10.0.0.3\"}",
			    NULL, NULL),
		409, "ip");
	ck_assert(!state_peer(&st, "alice")->internet_access);
	ck_assert(has_access(state_peer(&st, "alice"), "calendar"));
}
END_TEST

/* null is no list: it was read as absent (the old list kept). */
START_TEST(test_null_is_not_a_list)
{
	three_services();
	must_add_peer("alice", 1, "10.0.0.2",
		      ", \"service_access\": [\"calendar\"]");
	REJECTS(update_peer("alice", "{\"service_access\": null}", NULL, NULL),
		400, "service_access");
	ck_assert_ptr_nonnull(strstr(err.msg, "not null"));
	REJECTS(add_peer("bob", 2, "10.0.0.3", ", \"service_access\": null",
			 NULL),
		400, "service_access");
	REJECTS(put_svc("web", "{\"endpoints\": null}"), 400, "endpoints");
	REJECTS(put_svc("web", "{\"endpoints\": [{\"ip\": \"172.20.0.30\", "
			       "\"proto\": \"tcp\"}], \"dnat\": null}"),
		400, "dnat");
	/* Positive controls: an absent list is kept, [] empties it. */
	ck_assert_int_eq(
		update_peer("alice", "{\"internet_access\": true}", NULL, NULL),
		0);
	ck_assert(has_access(state_peer(&st, "alice"), "calendar"));
	ck_assert_int_eq(
		update_peer("alice", "{\"service_access\": []}", NULL, NULL),
		0);
	ck_assert(!has_access(state_peer(&st, "alice"), "calendar"));
}
END_TEST

/* rate_limit (issue 18): parsed, compiled to the identity's flag and
 * cg_rate's per-byte costs, cleared by null or {}; bad input refused
 * with the field named and nothing changed. */
START_TEST(test_peer_rate_limit)
{
	struct cg_peer_def *a;
	struct policy_peer e;

	must_add_peer("alice", 1, "10.0.0.2",
		      ", \"rate_limit\": {\"down_mbit\": 20, \"up_mbit\": 10}");
	a = state_peer(&st, "alice");
	ck_assert_uint_eq(a->down_mbit, 20);
	ck_assert_uint_eq(a->up_mbit, 10);
	policy_peer_entry(&st, a, &e);
	ck_assert_uint_eq(e.value.rate_limited, 1);
	ck_assert_uint_eq(e.down_ps_per_byte, 400000); /* 8e6 / 20 */
	ck_assert_uint_eq(e.up_ps_per_byte, 800000);
	REJECTS(update_peer("alice", "{\"rate_limit\": {\"down_mbit\": -1}}",
			    NULL, NULL),
		400, "rate_limit.down_mbit");
	REJECTS(update_peer("alice", "{\"rate_limit\": {\"down_mbit\": 0}}",
			    NULL, NULL),
		400, "rate_limit.down_mbit");
	REJECTS(update_peer("alice", "{\"rate_limit\": {\"up_mbit\": 1.5}}",
			    NULL, NULL),
		400, "rate_limit.up_mbit");
	REJECTS(update_peer("alice", "{\"rate_limit\": {\"up_mbit\": 100001}}",
			    NULL, NULL),
		400, "rate_limit.up_mbit");
	REJECTS(update_peer("alice", "{\"rate_limit\": {\"burst\": 1}}", NULL,
			    NULL),
		400, "rate_limit.burst");
	REJECTS(update_peer("alice", "{\"rate_limit\": 10}", NULL, NULL), 400,
		"rate_limit");
	a = state_peer(&st, "alice");
	ck_assert_uint_eq(a->down_mbit, 20); /* nothing changed */
	ck_assert_uint_eq(a->up_mbit, 10);
	/* The whole limit is replaced: up left out is unlimited. */
	ck_assert_int_eq(update_peer("alice",
				     "{\"rate_limit\": {\"down_mbit\": 5}}",
				     NULL, NULL),
			 0);
	a = state_peer(&st, "alice");
	ck_assert_uint_eq(a->down_mbit, 5);
	ck_assert_uint_eq(a->up_mbit, 0);
	/* Other fields leave it alone; null clears it. */
	ck_assert_int_eq(
		update_peer("alice", "{\"internet_access\": true}", NULL, NULL),
		0);
	ck_assert_uint_eq(state_peer(&st, "alice")->down_mbit, 5);
	ck_assert_int_eq(
		update_peer("alice", "{\"rate_limit\": null}", NULL, NULL), 0);
	a = state_peer(&st, "alice");
	ck_assert_uint_eq(a->down_mbit | a->up_mbit, 0);
	policy_peer_entry(&st, a, &e);
	ck_assert_uint_eq(e.value.rate_limited, 0);
	ck_assert_uint_eq(e.down_ps_per_byte | e.up_ps_per_byte, 0);
}
END_TEST

START_TEST(test_peer_delete)
{
	struct cg_peer_def removed;

	must_add_peer("alice", 1, "10.0.0.2", NULL);
	must_add_peer("bob", 2, "10.0.0.3", NULL);
	REJECTS(del_peer("carol", &removed), 404, "name");
	ck_assert_int_eq(del_peer("alice", &removed), 0);
	ck_assert_str_eq(removed.name, "alice");
	ck_assert_uint_eq(removed.id, 1);
	ck_assert_uint_eq(removed.ip.s_addr, ip("10.0.0.2"));
	ck_assert_ptr_null(state_peer(&st, "alice"));
	ck_assert_ptr_nonnull(state_peer(&st, "bob"));
	ck_assert_uint_eq(st.n_peers, 1);
	REJECTS(del_peer("alice", NULL), 404, "name");
	/* Its name, key and address are free again. */
	must_add_peer("alice", 1, "10.0.0.2", NULL);
}
END_TEST

/* A deleted peer's place goes to the last peer (the order of peers is
 * not kept); the 404s name what is missing. */
START_TEST(test_delete_moves_last)
{
	must_add_peer("alice", 1, "10.0.0.2", NULL);
	must_add_peer("bob", 2, "10.0.0.3", NULL);
	must_add_peer("carol", 3, "10.0.0.4", NULL);
	ck_assert_int_eq(del_peer("alice", NULL), 0);
	ck_assert_uint_eq(st.n_peers, 2);
	ck_assert_str_eq(st.peers[0].name, "carol");
	ck_assert_str_eq(st.peers[1].name, "bob");
	REJECTS(del_peer("alice", NULL), 404, "name");
	ck_assert_str_eq(err.msg, "no peer 'alice'");
	REJECTS(del_svc("web"), 404, "name");
	ck_assert_str_eq(err.msg, "no service 'web'");
}
END_TEST

START_TEST(test_peer_ids)
{
	ck_assert_uint_eq(must_add_peer("a", 1, "10.0.0.2", NULL), 1);
	ck_assert_uint_eq(must_add_peer("b", 2, "10.0.0.3", NULL), 2);
	ck_assert_uint_eq(must_add_peer("c", 3, "10.0.0.4", NULL), 3);
	ck_assert_int_eq(del_peer("b", NULL), 0);
	/* The lowest free id is reused. */
	ck_assert_uint_eq(must_add_peer("d", 4, "10.0.0.5", NULL), 2);
	ck_assert_uint_eq(must_add_peer("e", 5, "10.0.0.6", NULL), 4);
	ck_assert_int_eq(del_peer("c", NULL), 0);
	ck_assert_int_eq(del_peer("a", NULL), 0);
	ck_assert_uint_eq(must_add_peer("f", 6, "10.0.0.7", NULL), 1);
	ck_assert_uint_eq(must_add_peer("g", 7, "10.0.0.8", NULL), 3);
	ck_assert_uint_eq(must_add_peer("h", 8, "10.0.0.9", NULL), 5);
	/* An update keeps the id. */
	ck_assert_int_eq(
		update_peer("d", "{\"ip\": \"10.0.0.99\"}", NULL, NULL), 0);
	ck_assert_uint_eq(state_peer(&st, "d")->id, 2);
}
END_TEST

START_TEST(test_max_peers)
{
	char name[16], addr[16];
	unsigned int i;

	for (i = 1; i <= 16; i++) {
		snprintf(name, sizeof(name), "p%u", i);
		snprintf(addr, sizeof(addr), "10.0.0.%u", i + 1);
		ck_assert_uint_eq(must_add_peer(name, i, addr, NULL), i);
	}
	ck_assert_uint_eq(st.n_peers, 16);
	REJECTS(add_peer("p17", 17, "10.0.0.100", NULL, NULL), 409, "name");
	ck_assert_ptr_nonnull(strstr(err.msg, "max_peers"));
	/* Room again after a deletion, with the freed id. */
	ck_assert_int_eq(del_peer("p9", NULL), 0);
	ck_assert_uint_eq(must_add_peer("p17", 17, "10.0.0.100", NULL), 9);
	REJECTS(add_peer("p18", 18, "10.0.0.101", NULL, NULL), 409, "name");
}
END_TEST

START_TEST(test_state_copy)
{
	struct cg_state copy;
	char *a, *b;

	three_services();
	must_add_peer("alice", 1, "10.0.0.2",
		      ", \"service_access\": [\"mail\"]");
	ck_assert_int_eq(state_copy(&copy, &st), 0);
	a = state_to_string(&st);
	b = state_to_string(&copy);
	ck_assert_str_eq(a, b);
	free(b);
	/* The copy is deep: changing it leaves the original alone. */
	ck_assert_int_eq(state_delete_peer(&copy, "alice", NULL, &err), 0);
	ck_assert_int_eq(state_delete_service(&copy, "mail", &err), 0);
	must_add_peer("bob", 2, "10.0.0.3", NULL);
	ck_assert_uint_eq(copy.n_peers, 0);
	ck_assert_uint_eq(copy.n_services, 2);
	ck_assert_ptr_nonnull(state_peer(&st, "alice"));
	ck_assert_ptr_nonnull(state_service(&st, "mail"));
	free(a);
	state_free(&copy);
	/* An empty state copies too. */
	state_free(&st);
	state_init(&st, &cfg);
	ck_assert_int_eq(state_copy(&copy, &st), 0);
	ck_assert_uint_eq(copy.n_peers + copy.n_services, 0);
	state_free(&copy);
}
END_TEST

static Suite *state_suite(void)
{
	Suite *s = suite_create("state_peer");
	TCase *peer = tcase_create("peers");

	tcase_add_checked_fixture(peer, setup, teardown);
	tcase_add_test(peer, test_peer_add);
	tcase_add_test(peer, test_peer_name_rules);
	tcase_add_test(peer, test_peer_public_key);
	tcase_add_test(peer, test_peer_ip);
	tcase_add_test(peer, test_peer_alloc);
	tcase_add_test(peer, test_peer_generated_key);
	tcase_add_test(peer, test_peer_alloc_exhausted);
	tcase_add_test(peer, test_peer_fields);
	tcase_add_test(peer, test_peer_update);
	tcase_add_test(peer, test_peer_update_rejects);
	tcase_add_test(peer, test_peer_delete);
	tcase_add_test(peer, test_peer_ids);
	tcase_add_test(peer, test_max_peers);
	tcase_add_test(peer, test_state_copy);
	tcase_add_test(peer, test_delete_moves_last);
	tcase_add_test(peer, test_null_is_not_a_list);
	tcase_add_test(peer, test_peer_rate_limit);
	suite_add_tcase(s, peer);
	return s;
}

int main(void)
{
	return tu_run(state_suite());
}
