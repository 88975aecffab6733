// SPDX-License-Identifier: MIT
/* Unit tests for linked cells: ctl/state/cell.c (a cell's description:
 * parsing, rendering) and cells in the state file (ctl/state/state_file.c,
 * state_cell.c). Linking, sharing and invites: test_cell_link.c. */
#include "cell_fixture.h"

/* ---- a cell's description ------------------------------------------------ */

/* bytes 0..31 */
#define SECRET "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define OFFICE_KEY_SEED 7

/* The invite of cell "office", as POST /api/cells/invite gives it. */
static json_object *example_invite(void)
{
	char key[WG_KEY_B64_LEN + 1], buf[1024];

	tu_key_b64(OFFICE_KEY_SEED, key);
	snprintf(buf, sizeof(buf),
		 "{\"cell_name\": \"office\", \"public_key\": \"%s\", "
		 "\"endpoint\": \"203.0.113.9:51821\", "
		 "\"vpn_subnet\": \"10.0.1.0/24\", "
		 "\"wg_address\": \"10.0.1.254\", \"dns_ip\": \"10.0.1.53\", "
		 "\"domain\": \"office.cell\", \"version\": 1, "
		 "\"sync_port\": 8481, \"pairing_port\": 8482, "
		 "\"pairing_secret\": \"" SECRET "\", "
		 "\"expires_at\": 1700086400, "
		 "\"invite_id\": \"0123456789abcdef\"}",
		 key);
	return tu_json(buf);
}

/* The example with member key set to the JSON value (NULL: removed). */
static json_object *example_with(const char *key, const char *value)
{
	json_object *o = example_invite();

	if (value)
		json_object_object_add(o, key, json_tokener_parse(value));
	else
		json_object_object_del(o, key);
	return o;
}

/* As the body of accept-invite: no pairing secret. */
static json_object *accept_body(void)
{
	json_object *o = example_invite();

	json_object_object_del(o, "pairing_secret");
	json_object_object_del(o, "expires_at");
	return o;
}

static bool parse_invite(json_object *o, struct cg_cell_info *info,
			 char secret[PAIRING_SECRET_B64_LEN + 1])
{
	bool ok;

	memset(&err, 0, sizeof(err));
	ok = cell_info_parse(o, info, secret, &err);
	json_object_put(o);
	return ok;
}

/* The example with key = value refused (400 naming field), as an invite
 * and, but for the secret itself, as an accept-invite body too. */
static void refuses(const char *key, const char *value, const char *field)
{
	char secret[PAIRING_SECRET_B64_LEN + 1];
	struct cg_cell_info info;
	json_object *o;

	ck_assert_msg(!parse_invite(example_with(key, value), &info, secret),
		      "invite accepted with %s = %s", key,
		      value ? value : "(absent)");
	ck_assert_msg(err.status == 400 && !strcmp(err.field, field),
		      "%s = %s: %d '%s' (want 400 '%s'): %s", key,
		      value ? value : "(absent)", err.status, err.field, field,
		      err.msg);
	ck_assert(err.msg[0]);
	if (!strcmp(key, "pairing_secret"))
		return;
	o = example_with(key, value);
	json_object_object_del(o, "pairing_secret");
	ck_assert(!parse_invite(o, &info, NULL));
	ck_assert_int_eq(err.status, 400);
	ck_assert_str_eq(err.field, field);
}

START_TEST(test_info_example)
{
	char secret[PAIRING_SECRET_B64_LEN + 1];
	struct cg_cell_info info;
	wg_key key;

	memset(secret, 'x', sizeof(secret));
	ck_assert_msg(parse_invite(example_invite(), &info, secret), "%s: %s",
		      err.field, err.msg);
	key_of(OFFICE_KEY_SEED, key);
	ck_assert_str_eq(info.cell_name, "office");
	ck_assert_mem_eq(info.public_key, key, WG_KEY_LEN);
	ck_assert_str_eq(info.endpoint, "203.0.113.9:51821");
	ck_assert_uint_eq(info.vpn_subnet.addr.s_addr, ip("10.0.1.0"));
	ck_assert_uint_eq(info.vpn_subnet.prefix, 24);
	ck_assert_uint_eq(info.wg_address.s_addr, ip("10.0.1.254"));
	ck_assert(info.has_dns_ip);
	ck_assert_uint_eq(info.dns_ip.s_addr, ip("10.0.1.53"));
	ck_assert_str_eq(info.domain, "office.cell");
	ck_assert_uint_eq(info.sync_port, 8481);
	ck_assert_uint_eq(info.pairing_port, 8482);
	ck_assert_str_eq(secret, SECRET);
	/* The accept-invite body: the same but the secret. */
	ck_assert_msg(parse_invite(accept_body(), &info, NULL), "%s: %s",
		      err.field, err.msg);
	ck_assert_str_eq(info.cell_name, "office");
	ck_assert_uint_eq(info.wg_address.s_addr, ip("10.0.1.254"));
}
END_TEST

START_TEST(test_info_defaults)
{
	struct cg_cell_info info;
	json_object *o = accept_body();

	json_object_object_del(o, "wg_address");
	json_object_object_del(o, "dns_ip");
	json_object_object_del(o, "sync_port");
	json_object_object_del(o, "pairing_port");
	ck_assert_msg(parse_invite(o, &info, NULL), "%s", err.msg);
	/* The router is the subnet's first host (PIC's way). */
	ck_assert_uint_eq(info.wg_address.s_addr, ip("10.0.1.1"));
	ck_assert(!info.has_dns_ip);
	ck_assert_uint_eq(info.dns_ip.s_addr, 0);
	ck_assert_uint_eq(info.sync_port, 8471);
	ck_assert_uint_eq(info.pairing_port, 8472);
	/* The prefix limits, /8 and /30, with their first hosts. */
	o = accept_body();
	json_object_object_del(o, "wg_address");
	json_object_object_add(o, "vpn_subnet",
			       json_object_new_string("10.0.0.0/8"));
	ck_assert(parse_invite(o, &info, NULL));
	ck_assert_uint_eq(info.vpn_subnet.prefix, 8);
	ck_assert_uint_eq(info.wg_address.s_addr, ip("10.0.0.1"));
	o = accept_body();
	json_object_object_del(o, "wg_address");
	json_object_object_add(o, "vpn_subnet",
			       json_object_new_string("192.168.7.252/30"));
	ck_assert(parse_invite(o, &info, NULL));
	ck_assert_uint_eq(info.vpn_subnet.prefix, 30);
	ck_assert_uint_eq(info.wg_address.s_addr, ip("192.168.7.253"));
	/* A host name endpoint. */
	o = accept_body();
	json_object_object_add(o, "endpoint",
			       json_object_new_string("office.example:51820"));
	ck_assert(parse_invite(o, &info, NULL));
	ck_assert_str_eq(info.endpoint, "office.example:51820");
}
END_TEST

START_TEST(test_info_pairing_secret)
{
	char secret[PAIRING_SECRET_B64_LEN + 1];
	struct cg_cell_info info;
	json_object *o;

	/* Required in an invite. */
	refuses("pairing_secret", NULL, "pairing_secret");
	/* Never in an accept-invite body, not even empty or null. */
	o = accept_body();
	json_object_object_add(o, "pairing_secret",
			       json_object_new_string(SECRET));
	ck_assert(!parse_invite(o, &info, NULL));
	tu_assert_err(&err, 400, "pairing_secret");
	o = accept_body();
	json_object_object_add(o, "pairing_secret", json_object_new_string(""));
	ck_assert(!parse_invite(o, &info, NULL));
	tu_assert_err(&err, 400, "pairing_secret");
	o = accept_body();
	json_object_object_add(o, "pairing_secret", NULL);
	ck_assert(!parse_invite(o, &info, NULL));
	tu_assert_err(&err, 400, "pairing_secret");
	/* A secret of cellgate's form only. */
	refuses("pairing_secret",
		"\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh\"",
		"pairing_secret");
	refuses("pairing_secret",
		"\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A\"",
		"pairing_secret");
	refuses("pairing_secret",
		"\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"",
		"pairing_secret");
	refuses("pairing_secret",
		"\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+\"",
		"pairing_secret");
	refuses("pairing_secret",
		"\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9\"",
		"pairing_secret");
	refuses("pairing_secret", "32", "pairing_secret");
	/* expires_at is the invite's; it may travel back (ignored). */
	o = accept_body();
	json_object_object_add(o, "expires_at", json_object_new_int(5));
	ck_assert(parse_invite(o, &info, NULL));
	ck_assert(
		parse_invite(example_with("expires_at", NULL), &info, secret));
}
END_TEST

START_TEST(test_info_invalid)
{
	char zero[WG_KEY_B64_LEN + 1], short_key[64];
	wg_key k;

	memset(k, 0, sizeof(k));
	key_to_base64(zero, k);
	snprintf(short_key, sizeof(short_key), "\"%.40s=\"", zero);

	refuses("version", "2", "version");
	refuses("version", "0", "version");
	refuses("version", "\"1\"", "version");
	refuses("version", NULL, "version");
	refuses("cell_name", NULL, "cell_name");
	refuses("cell_name", "\"\"", "cell_name");
	refuses("cell_name", "\"a b\"", "cell_name");
	refuses("cell_name", "\"a/b\"", "cell_name");
	refuses("cell_name",
		"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
		"cell_name"); /* 65 characters */
	refuses("cell_name", "7", "cell_name");
	refuses("public_key", NULL, "public_key");
	refuses("public_key", "\"abc\"", "public_key");
	refuses("public_key", short_key, "public_key"); /* 30 bytes */
	refuses("public_key",
		"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\"",
		"public_key"); /* 31 bytes */
	refuses("public_key",
		"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"",
		"public_key"); /* the all-zero key */
	refuses("public_key",
		"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\"",
		"public_key"); /* 34 bytes */
	refuses("vpn_subnet", NULL, "vpn_subnet");
	refuses("vpn_subnet", "\"10.0.1.0/31\"", "vpn_subnet");
	refuses("vpn_subnet", "\"10.0.1.0/32\"", "vpn_subnet");
	refuses("vpn_subnet", "\"10.0.0.0/7\"", "vpn_subnet");
	refuses("vpn_subnet", "\"10.0.1.1/24\"", "vpn_subnet"); /* host bits */
	refuses("vpn_subnet", "\"10.0.1.0\"", "vpn_subnet");
	refuses("vpn_subnet", "\"10.0.1.0/33\"", "vpn_subnet");
	refuses("wg_address", "\"10.0.2.1\"", "wg_address");
	refuses("wg_address", "\"10.0.1\"", "wg_address");
	refuses("wg_address", "\"10.0.1.1/24\"", "wg_address");
	refuses("dns_ip", "\"10.0.1.300\"", "dns_ip");
	refuses("endpoint", NULL, "endpoint");
	refuses("endpoint", "\"203.0.113.9\"", "endpoint");
	refuses("endpoint", "\"203.0.113.9:\"", "endpoint");
	refuses("endpoint", "\"203.0.113.9:0\"", "endpoint");
	refuses("endpoint", "\"203.0.113.9:65536\"", "endpoint");
	refuses("domain", NULL, "domain");
	refuses("domain", "\"\"", "domain");
	refuses("domain", "\"office cell\"", "domain");
	refuses("domain", "\"office_cell\"", "domain");
	refuses("domain", "\"office.cell/x\"", "domain");
	refuses("sync_port", "0", "sync_port");
	refuses("sync_port", "65536", "sync_port");
	refuses("sync_port", "\"8471\"", "sync_port");
	refuses("pairing_port", "0", "pairing_port");
	refuses("pairing_port", "-1", "pairing_port");
	refuses("color", "\"blue\"", "color");
	refuses("name", "\"office\"", "name"); /* a stored cell's, not ours */
}
END_TEST

static void assert_info_eq(const struct cg_cell_info *a,
			   const struct cg_cell_info *b)
{
	ck_assert_str_eq(a->cell_name, b->cell_name);
	ck_assert_mem_eq(a->public_key, b->public_key, WG_KEY_LEN);
	ck_assert_str_eq(a->endpoint, b->endpoint);
	ck_assert_uint_eq(a->vpn_subnet.addr.s_addr, b->vpn_subnet.addr.s_addr);
	ck_assert_uint_eq(a->vpn_subnet.prefix, b->vpn_subnet.prefix);
	ck_assert_uint_eq(a->wg_address.s_addr, b->wg_address.s_addr);
	ck_assert_int_eq(a->has_dns_ip, b->has_dns_ip);
	ck_assert_uint_eq(a->dns_ip.s_addr, b->dns_ip.s_addr);
	ck_assert_str_eq(a->domain, b->domain);
	ck_assert_uint_eq(a->sync_port, b->sync_port);
	ck_assert_uint_eq(a->pairing_port, b->pairing_port);
}

/* info to JSON and back; the JSON is the same the second time. */
static void round_trip(const struct cg_cell_info *info)
{
	json_object *o = cell_info_to_json(info), *o2;
	struct cg_cell_info back;
	char *text = strdup(json_object_to_json_string(o));

	ck_assert_ptr_nonnull(text);
	memset(&err, 0, sizeof(err));
	ck_assert_msg(cell_info_parse(o, &back, NULL, &err), "%s: %s: %s", text,
		      err.field, err.msg);
	assert_info_eq(&back, info);
	o2 = cell_info_to_json(&back);
	ck_assert_str_eq(json_object_to_json_string(o2), text);
	json_object_put(o2);
	json_object_put(o);
	free(text);
}

START_TEST(test_info_round_trip)
{
	struct cg_cell_info info;
	json_object *o;

	ck_assert(parse_invite(accept_body(), &info, NULL));
	round_trip(&info);
	/* The JSON has exactly the description's fields, version 1. */
	o = cell_info_to_json(&info);
	ck_assert_int_eq(json_object_object_length(o), 10);
	ck_assert_int_eq(
		json_object_get_int(json_object_object_get(o, "version")), 1);
	ck_assert_str_eq(
		json_object_get_string(json_object_object_get(o, "wg_address")),
		"10.0.1.254");
	ck_assert_str_eq(
		json_object_get_string(json_object_object_get(o, "vpn_subnet")),
		"10.0.1.0/24");
	ck_assert_ptr_null(json_object_object_get(o, "pairing_secret"));
	json_object_put(o);
	/* Without dns_ip, with the default router, ports and prefix /8. */
	o = accept_body();
	json_object_object_del(o, "dns_ip");
	json_object_object_del(o, "wg_address");
	json_object_object_del(o, "sync_port");
	json_object_object_add(o, "vpn_subnet",
			       json_object_new_string("10.0.0.0/8"));
	ck_assert(parse_invite(o, &info, NULL));
	round_trip(&info);
	o = cell_info_to_json(&info);
	ck_assert_ptr_null(json_object_object_get(o, "dns_ip"));
	ck_assert_str_eq(
		json_object_get_string(json_object_object_get(o, "wg_address")),
		"10.0.0.1");
	json_object_put(o);
}
END_TEST

START_TEST(test_info_of_config)
{
	struct cg_cell_info me;
	wg_key pub;

	key_of(3, pub);
	cell_info_of_config(&cfg, pub, &me);
	ck_assert_str_eq(me.cell_name, "home");
	ck_assert_str_eq(me.domain, "home.cell");
	ck_assert_str_eq(me.endpoint, "198.51.100.7:51820");
	ck_assert_uint_eq(me.vpn_subnet.addr.s_addr, ip("10.0.0.0"));
	ck_assert_uint_eq(me.vpn_subnet.prefix, 24);
	ck_assert_uint_eq(me.wg_address.s_addr, ip("10.0.0.1"));
	ck_assert(!me.has_dns_ip);
	ck_assert_uint_eq(me.sync_port, 8471);
	ck_assert_uint_eq(me.pairing_port, 8472);
	ck_assert_mem_eq(me.public_key, pub, WG_KEY_LEN);
	round_trip(&me);
}
END_TEST

/* ---- the state file ------------------------------------------------------ */

static char *state_path(const char *dir)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/state.json", dir);
	return path;
}

/* Services, peers, two cells with everything set, two invites. */
static void rich_state(void)
{
	struct cg_cell_info c;
	struct cg_cell_def *office;
	struct cg_invite inv;

	three_services();
	must_add_peer("alice", 1, "10.0.0.2");
	must_add_peer("bob", 2, "10.0.0.3");
	c = cell("office", 20, "10.0.1.0/24", "office.cell");
	c.has_dns_ip = true;
	c.dns_ip.s_addr = ip("10.0.1.53");
	c.wg_address.s_addr = ip("10.0.1.254");
	c.sync_port = 9471;
	c.pairing_port = 9472;
	ck_assert_int_eq(link_cell(&c, 0x3c, NULL), 0);
	must_link("lab", 21, "192.168.50.0/23", "lab.cell");
	ck_assert_int_eq(set_inbound("office",
				     "{\"inbound\": {\"calendar\": true, "
				     "\"mail\": true}}",
				     NULL),
			 0);
	office = state_cell(&st, "office");
	str_copy(office->outbound[0], sizeof(office->outbound[0]), "web");
	str_copy(office->outbound[1], sizeof(office->outbound[1]), "wiki");
	office->n_outbound = 2;
	office->pending_push = true;
	office->last_push_status = 0;
	office->last_push_at = 1700000100;
	str_copy(office->last_push_error, sizeof(office->last_push_error),
		 "Connection refused");
	office->last_remote_update_at = 1700000050;
	office->last_remote_ts_ms = 1700000050123ull;
	office->linked_at = 1700000000;
	inv = invite(1800000000);
	ck_assert_int_eq(add_invite(&inv), 0);
	inv = invite(1800000500);
	ck_assert_int_eq(add_invite(&inv), 0);
}

START_TEST(test_save_load_cells)
{
	char *dir = tu_mkdtemp();
	char *path = state_path(dir);
	struct cg_cell_def *a, *b;
	struct cg_state loaded;
	char *s1, *s2;
	size_t i;

	rich_state();
	ck_assert_int_eq(state_save(&st, path), 0);
	state_init(&loaded, &cfg);
	memset(&err, 0, sizeof(err));
	ck_assert_msg(state_load(&loaded, path, &err) == 0, "%s: %s", err.field,
		      err.msg);
	s1 = state_to_string(&st);
	s2 = state_to_string(&loaded);
	ck_assert_str_eq(s2, s1);
	free(s1);
	free(s2);
	ck_assert_uint_eq(loaded.n_cells, 2);
	ck_assert_uint_eq(loaded.n_invites, 2);
	/* Durable: the ids listed before a restart revoke after it. */
	for (i = 0; i < st.n_invites; i++) {
		char id[INVITE_ID_LEN + 1];

		ck_assert_int_eq(invite_id(id, st.invites[i].secret), 0);
		ck_assert_int_ge(state_find_invite(&loaded, id), 0);
	}
	for (i = 0; i < st.n_cells; i++) {
		a = &st.cells[i];
		b = state_cell(&loaded, a->info.cell_name);
		ck_assert_ptr_nonnull(b);
		assert_info_eq(&b->info, &a->info);
		ck_assert_uint_eq(b->id, a->id);
		/* The link key survives: the state file alone keeps it. */
		ck_assert_mem_eq(b->link_key, a->link_key, LINK_KEY_LEN);
		ck_assert_mem_eq(b->inbound, a->inbound, sizeof(a->inbound));
		ck_assert_uint_eq(b->n_outbound, a->n_outbound);
		ck_assert_int_eq(b->linked_at, a->linked_at);
		ck_assert_int_eq(b->pending_push, a->pending_push);
		ck_assert_int_eq(b->last_push_at, a->last_push_at);
		ck_assert_str_eq(b->last_push_error, a->last_push_error);
		ck_assert_int_eq(b->last_remote_update_at,
				 a->last_remote_update_at);
		ck_assert_uint_eq(b->last_remote_ts_ms, a->last_remote_ts_ms);
	}
	b = state_cell(&loaded, "office");
	ck_assert_uint_eq(b->inbound[0], 0x5);
	ck_assert_str_eq(b->outbound[1], "wiki");
	ck_assert_uint_eq(b->link_key[31], 0x3c);
	ck_assert_uint_eq(b->last_remote_ts_ms, 1700000050123ull);
	for (i = 0; i < st.n_invites; i++) {
		ck_assert_str_eq(loaded.invites[i].secret,
				 st.invites[i].secret);
		ck_assert_int_eq(loaded.invites[i].expires_at,
				 st.invites[i].expires_at);
		ck_assert_int_eq(loaded.invites[i].created_at,
				 st.invites[i].created_at);
	}
	/* The next identity id continues past peers and cells. */
	state_free(&st);
	st = loaded;
	ck_assert_uint_eq(must_add_peer("carol", 3, "10.0.0.4"), 5);
	tu_rmtree(dir);
}
END_TEST

/* The state of rich_state() saved, with the members of the JSON object
 * set set on cells[i], fails to load (400 naming field) and leaves the
 * state empty. */
static void cell_load_fails(const char *dir, size_t i, const char *set,
			    const char *field)
{
	char *path = state_path(dir), *text = state_to_string(&st);
	json_object *root = tu_json(text), *members = tu_json(set), *cells, *c;
	struct cg_state fresh;

	free(text);
	ck_assert(json_object_object_get_ex(root, "cells", &cells));
	c = json_object_array_get_idx(cells, i);
	ck_assert_ptr_nonnull(c);
	json_object_object_foreach(members, key, val)
		json_object_object_add(c, key, json_object_get(val));
	json_object_put(members);
	tu_write(path, json_object_to_json_string(root));
	json_object_put(root);
	state_init(&fresh, &cfg);
	memset(&err, 0, sizeof(err));
	ck_assert_msg(state_load(&fresh, path, &err) < 0, "loaded with %s",
		      set);
	ck_assert_msg(err.status == 400 && !strcmp(err.field, field),
		      "%s: %d '%s' (want 400 '%s'): %s", set, err.status,
		      err.field, field, err.msg);
	ck_assert(err.msg[0]);
	ck_assert_uint_eq(fresh.n_cells + fresh.n_peers + fresh.n_services +
				  fresh.n_invites,
			  0);
	state_free(&fresh);
}

START_TEST(test_load_bad_cells)
{
	char *dir = tu_mkdtemp();
	char set[64];

	rich_state();
	/* alice has id 1: a cell may not have it too. */
	ck_assert_uint_eq(state_peer(&st, "alice")->id, 1);
	cell_load_fails(dir, 0, "{\"id\": 1}", "cells");
	snprintf(set, sizeof(set), "{\"id\": %u}", state_peer(&st, "bob")->id);
	cell_load_fails(dir, 1, set, "cells");
	cell_load_fails(dir, 0, "{\"id\": 0}", "id");
	cell_load_fails(dir, 0, "{\"link_key\": \"00ff\"}", "link_key");
	cell_load_fails(dir, 0,
			"{\"link_key\": \"zz000000000000000000000000000000"
			"00000000000000000000000000000000\"}",
			"link_key");
	cell_load_fails(dir, 0,
			"{\"permissions\": {\"inbound\": {\"nosuch\": true}, "
			"\"outbound\": {}}}",
			"permissions.inbound");
	cell_load_fails(dir, 0, "{\"permissions\": {\"inbound\": {}}}",
			"permissions.outbound");
	/* Conflicts with our networks or another cell, as on linking. */
	cell_load_fails(dir, 0, "{\"vpn_subnet\": \"10.0.0.0/16\"}",
			"vpn_subnet");
	cell_load_fails(dir, 1,
			"{\"vpn_subnet\": \"10.0.1.0/25\", \"wg_address\": "
			"\"10.0.1.1\"}",
			"vpn_subnet");
	cell_load_fails(dir, 0, "{\"vpn_subnet\": \"10.0.2.0/24\"}",
			"wg_address");
	cell_load_fails(dir, 1, "{\"domain\": \"office.cell\"}", "domain");
	cell_load_fails(dir, 1, "{\"cell_name\": \"office\"}", "cell_name");
	cell_load_fails(dir, 0, "{\"color\": \"blue\"}", "color");
	/* Two cells on one id, or an id past the maps' end. */
	snprintf(set, sizeof(set), "{\"id\": %u}", st.cells[0].id);
	cell_load_fails(dir, 1, set, "cells");
	snprintf(set, sizeof(set), "{\"id\": %u}", cfg.limits.max_peers + 1);
	cell_load_fails(dir, 0, set, "cells");
	tu_rmtree(dir);
}
END_TEST

/* One key is one WireGuard peer: never a peer's and a cell's; a cell
 * named "invite" or "invites" would hide behind the invite routes. */
START_TEST(test_keys_and_names)
{
	struct cg_cell_info info = cell("office", 9, "10.0.9.0/24", "o.cell");
	char key[WG_KEY_B64_LEN + 1], buf[256], *before, *after;
	json_object *o;

	must_add_peer("alice", 9, "10.0.0.2"); /* the same key seed as office */
	before = state_to_string(&st);
	ck_assert_int_ne(link_cell(&info, 1, NULL), 0);
	ck_assert_int_eq(err.status, 409);
	ck_assert_str_eq(err.field, "public_key");
	after = state_to_string(&st);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);

	info = cell("office", 10, "10.0.9.0/24", "o.cell");
	ck_assert_int_eq(link_cell(&info, 1, NULL), 0);
	tu_key_b64(10, key);
	snprintf(buf, sizeof(buf),
		 "{\"name\": \"carol\", \"public_key\": \"%s\"}", key);
	o = tu_json(buf);
	memset(&err, 0, sizeof(err));
	ck_assert_int_ne(state_add_peer(&st, o, NULL, NULL, &err), 0);
	ck_assert_int_eq(err.status, 409);
	ck_assert_str_eq(err.field, "public_key");
	json_object_put(o);

	refuses("cell_name", "\"invite\"", "cell_name");
	refuses("cell_name", "\"invites\"", "cell_name");
}
END_TEST

START_TEST(test_state_copy_cells)
{
	struct cg_state copy;
	char *a, *b;

	rich_state();
	ck_assert_int_eq(state_copy(&copy, &st), 0);
	a = state_to_string(&st);
	b = state_to_string(&copy);
	ck_assert_str_eq(a, b);
	free(b);
	/* Deep: changing the copy leaves the original alone. */
	ck_assert_ptr_ne(copy.cells, st.cells);
	ck_assert_ptr_ne(copy.invites, st.invites);
	copy.cells[0].inbound[0] = 0;
	copy.invites[0].expires_at = 1;
	b = state_to_string(&st);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	state_free(&copy);
}
END_TEST

static Suite *cell_suite(void)
{
	Suite *s = suite_create("cell");
	TCase *info = tcase_create("info");
	TCase *link = tcase_create("link");
	TCase *file = tcase_create("file");

	tcase_add_checked_fixture(info, setup, teardown);
	tcase_add_checked_fixture(link, setup, teardown);
	tcase_add_checked_fixture(file, setup, teardown);
	tcase_add_test(info, test_info_example);
	tcase_add_test(info, test_info_defaults);
	tcase_add_test(info, test_info_pairing_secret);
	tcase_add_test(info, test_info_invalid);
	tcase_add_test(info, test_info_round_trip);
	tcase_add_test(info, test_info_of_config);
	tcase_add_test(link, test_keys_and_names);
	tcase_add_test(file, test_save_load_cells);
	tcase_add_test(file, test_load_bad_cells);
	tcase_add_test(file, test_state_copy_cells);
	suite_add_tcase(s, info);
	suite_add_tcase(s, link);
	suite_add_tcase(s, file);
	return s;
}

int main(void)
{
	return tu_run(cell_suite());
}
