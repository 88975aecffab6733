// SPDX-License-Identifier: MIT
/*
 * Unit tests for linked cells: ctl/state/state.cell.c (a cell's description: parsing,
 * rendering) and the cells and invites of ctl/state/state.c (link, unlink,
 * sharing, ids shared with peers, pending invites, the state file).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cell.h"
#include "state.h"
#include "testutil.h"

static struct cg_config cfg;
static struct cg_state st;
static struct cg_error err;

/* The example config with a bridge subnet and limits.max_peers 16. */
static void setup(void)
{
	json_object *root = tu_json(TU_EXAMPLE_CONFIG);

	json_object_object_add(root, "bridge",
			       tu_json("{\"interface\": \"br-cell\", "
				       "\"subnet\": \"172.20.0.0/24\"}"));
	json_object_object_add(root, "limits", tu_json("{\"max_peers\": 16}"));
	tu_config(&cfg, json_object_to_json_string(root));
	json_object_put(root);
	ck_assert(cfg.bridge.has_subnet);
	state_init(&st, &cfg);
	memset(&err, 0, sizeof(err));
}

static void teardown(void)
{
	state_free(&st);
}

static uint32_t ip(const char *s)
{
	struct in_addr a;

	ck_assert_msg(inet_pton(AF_INET, s, &a) == 1, "bad fixture %s", s);
	return a.s_addr;
}

static void key_of(unsigned int seed, wg_key key)
{
	char b64[WG_KEY_B64_LEN + 1];

	tu_key_b64(seed, b64);
	ck_assert(key_from_base64(key, b64));
}

/* call must fail with want_status naming want_field, and leave the state
 * byte-for-byte as it was. */
#define REJECTS(call, want_status, want_field)                  \
	do {                                                    \
		char *before_ = state_to_string(&st);           \
		char *after_;                                   \
		int ret_;                                       \
                                                                \
		ck_assert_ptr_nonnull(before_);                 \
		memset(&err, 0, sizeof(err));                   \
		ret_ = (call);                                  \
		ck_assert_msg(ret_ < 0, "accepted: %s", #call); \
		tu_assert_err(&err, want_status, want_field);   \
		after_ = state_to_string(&st);                  \
		ck_assert_ptr_nonnull(after_);                  \
		ck_assert_str_eq(after_, before_);              \
		free(before_);                                  \
		free(after_);                                   \
	} while (0)

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

/* ---- cells in the state -------------------------------------------------- */

#define CALENDAR                                                          \
	"{\"endpoints\": [{\"ip\": \"172.20.0.21\", \"proto\": \"tcp\", " \
	"\"port\": 80}]}"
#define FILES "{\"endpoints\": [{\"ip\": \"172.20.0.22\", \"proto\": \"any\"}]}"
#define MAIL                                                              \
	"{\"endpoints\": [{\"ip\": \"172.20.0.23\", \"proto\": \"tcp\", " \
	"\"port\": 25}]}"

static void must_put_svc(const char *name, const char *body)
{
	json_object *o = tu_json(body);

	memset(&err, 0, sizeof(err));
	ck_assert_msg(state_put_service(&st, name, o, &err) == 0, "%s: %s",
		      name, err.msg);
	json_object_put(o);
}

/* calendar (id 0), files (1), mail (2). */
static void three_services(void)
{
	must_put_svc("calendar", CALENDAR);
	must_put_svc("files", FILES);
	must_put_svc("mail", MAIL);
}

static uint32_t must_add_peer(const char *name, unsigned int seed,
			      const char *addr)
{
	char key[WG_KEY_B64_LEN + 1], buf[256];
	struct cg_peer_def added;
	json_object *o;

	tu_key_b64(seed, key);
	snprintf(buf, sizeof(buf),
		 "{\"name\": \"%s\", \"public_key\": \"%s\", \"ip\": \"%s\"}",
		 name, key, addr);
	o = tu_json(buf);
	memset(&err, 0, sizeof(err));
	ck_assert_msg(state_add_peer(&st, o, NULL, &added, &err) == 0,
		      "add %s: %s", name, err.msg);
	json_object_put(o);
	return added.id;
}

/* A cell's description (accept-invite form): name, key seed, subnet,
 * domain; endpoint and the rest fixed. */
static struct cg_cell_info cell(const char *name, unsigned int seed,
				const char *subnet, const char *domain)
{
	char key[WG_KEY_B64_LEN + 1], buf[512];
	struct cg_cell_info info;
	json_object *o;

	tu_key_b64(seed, key);
	snprintf(buf, sizeof(buf),
		 "{\"cell_name\": \"%s\", \"public_key\": \"%s\", "
		 "\"endpoint\": \"198.51.100.%u:51820\", \"vpn_subnet\": "
		 "\"%s\", \"domain\": \"%s\", \"version\": 1}",
		 name, key, seed, subnet, domain);
	o = tu_json(buf);
	memset(&err, 0, sizeof(err));
	ck_assert_msg(cell_info_parse(o, &info, NULL, &err), "%s: %s: %s", buf,
		      err.field, err.msg);
	json_object_put(o);
	return info;
}

static int link_cell(const struct cg_cell_info *info, uint8_t key_byte,
		     struct cg_cell_def *linked)
{
	uint8_t key[LINK_KEY_LEN];

	memset(key, key_byte, sizeof(key));
	memset(&err, 0, sizeof(err));
	return state_link_cell(&st, info, key, linked, &err);
}

static uint32_t must_link(const char *name, unsigned int seed,
			  const char *subnet, const char *domain)
{
	struct cg_cell_info info = cell(name, seed, subnet, domain);
	struct cg_cell_def linked;

	ck_assert_msg(link_cell(&info, (uint8_t)seed, &linked) == 0,
		      "link %s: %s: %s", name, err.field, err.msg);
	ck_assert_str_eq(linked.info.cell_name, name);
	return linked.id;
}

static int unlink_cell(const char *name, struct cg_cell_def *removed)
{
	memset(&err, 0, sizeof(err));
	return state_unlink_cell(&st, name, removed, &err);
}

static int set_inbound(const char *name, const char *body,
		       struct cg_cell_def *updated)
{
	json_object *o = tu_json(body);
	int ret;

	memset(&err, 0, sizeof(err));
	ret = state_set_cell_inbound(&st, name, o, updated, &err);
	json_object_put(o);
	return ret;
}

static int del_svc(const char *name)
{
	memset(&err, 0, sizeof(err));
	return state_delete_service(&st, name, &err);
}

START_TEST(test_link_ids_shared_with_peers)
{
	struct cg_cell_info info =
		cell("office", 20, "10.0.1.0/24", "office.cell");
	struct cg_cell_def linked, *c;
	uint8_t key[LINK_KEY_LEN];
	int64_t now = (int64_t)time(NULL);
	struct cg_peer_def gone;

	ck_assert_uint_eq(must_add_peer("alice", 1, "10.0.0.2"), 1);
	ck_assert_uint_eq(must_add_peer("bob", 2, "10.0.0.3"), 2);
	ck_assert_int_eq(link_cell(&info, 0xab, &linked), 0);
	ck_assert_uint_eq(linked.id, 3);
	ck_assert_uint_eq(st.n_cells, 1);
	c = state_cell(&st, "office");
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_eq(state_cell_by_key(&st, info.public_key), c);
	ck_assert_ptr_eq(state_cell_by_address(&st, info.wg_address), c);
	ck_assert_ptr_null(state_cell(&st, "lab"));
	ck_assert_uint_eq(c->id, 3);
	memset(key, 0xab, sizeof(key));
	ck_assert_mem_eq(c->link_key, key, LINK_KEY_LEN);
	ck_assert_uint_eq(c->inbound[0] | c->inbound[1], 0);
	ck_assert_uint_eq(c->n_outbound, 0);
	ck_assert(c->linked_at >= now && c->linked_at <= now + 5);
	ck_assert_uint_eq(c->info.wg_address.s_addr, ip("10.0.1.1"));
	/* The lowest free id, whoever freed it. */
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(state_delete_peer(&st, "alice", &gone, &err), 0);
	ck_assert_uint_eq(must_link("lab", 21, "10.0.2.0/24", "lab.cell"), 1);
	/* A peer skips the cells' ids too. */
	ck_assert_uint_eq(must_add_peer("carol", 3, "10.0.0.4"), 4);
	ck_assert_uint_eq(must_link("shop", 22, "10.0.3.0/24", "shop.cell"), 5);
	ck_assert_uint_eq(st.n_cells, 3);
}
END_TEST

START_TEST(test_link_conflicts)
{
	struct cg_cell_info c;

	must_link("office", 20, "10.0.1.0/24", "office.cell");
	/* Our WireGuard subnet (10.0.0.0/24): containing, inside, equal. */
	c = cell("lab", 21, "10.0.0.0/16", "lab.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "vpn_subnet");
	c = cell("lab", 21, "10.0.0.128/25", "lab.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "vpn_subnet");
	c = cell("lab", 21, "10.0.0.0/24", "lab.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "vpn_subnet");
	/* Our bridge subnet (172.20.0.0/24). */
	c = cell("lab", 21, "172.20.0.0/16", "lab.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "vpn_subnet");
	c = cell("lab", 21, "172.20.0.64/26", "lab.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "vpn_subnet");
	/* Another cell's (10.0.1.0/24). */
	c = cell("lab", 21, "10.0.1.128/25", "lab.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "vpn_subnet");
	c = cell("lab", 21, "10.0.0.0/8", "lab.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "vpn_subnet");
	/* Our domain, in any case, and another cell's. */
	c = cell("lab", 21, "10.0.2.0/24", "home.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "domain");
	c = cell("lab", 21, "10.0.2.0/24", "HOME.Cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "domain");
	c = cell("lab", 21, "10.0.2.0/24", "office.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "domain");
	/* A linked cell's name with another key. */
	c = cell("office", 21, "10.0.2.0/24", "lab.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "cell_name");
	/* Next to them all, fine. */
	ck_assert_uint_eq(must_link("lab", 21, "10.0.2.0/24", "lab.cell"), 2);
	ck_assert_uint_eq(st.n_cells, 2);
}
END_TEST

START_TEST(test_link_cells_exhausted)
{
	char name[16], net[24], dom[24];
	struct cg_cell_info c;
	unsigned int i;

	/* 16 identity ids (limits.max_peers), two taken by peers. */
	must_add_peer("alice", 1, "10.0.0.2");
	must_add_peer("bob", 2, "10.0.0.3");
	for (i = 0; i < 14; i++) {
		snprintf(name, sizeof(name), "c%u", i);
		snprintf(net, sizeof(net), "10.1.%u.0/24", i);
		snprintf(dom, sizeof(dom), "c%u.cell", i);
		ck_assert_uint_eq(must_link(name, 30 + i, net, dom), 3 + i);
	}
	c = cell("one-more", 99, "10.2.0.0/24", "more.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "cell_name");
}
END_TEST

START_TEST(test_relink_same_key)
{
	struct cg_cell_info c =
		cell("office", 20, "10.0.1.0/24", "office.cell");
	struct cg_cell_def linked, *cur;
	uint8_t key[LINK_KEY_LEN];
	int64_t linked_at;
	uint32_t id;

	three_services();
	must_add_peer("alice", 1, "10.0.0.2");
	id = must_link("office", 20, "10.0.1.0/24", "office.cell");
	must_link("lab", 21, "10.0.2.0/24", "lab.cell");
	ck_assert_int_eq(set_inbound("office",
				     "{\"inbound\": {\"calendar\": true, "
				     "\"mail\": true}}",
				     NULL),
			 0);
	cur = state_cell(&st, "office");
	str_copy(cur->outbound[0], sizeof(cur->outbound[0]), "web");
	cur->n_outbound = 1;
	linked_at = cur->linked_at = 1600000000;
	/* The same key: new endpoint, subnet, router, domain, ports. */
	c = cell("office", 20, "10.0.5.0/24", "branch.cell");
	str_copy(c.endpoint, sizeof(c.endpoint), "192.0.2.55:51999");
	c.wg_address.s_addr = ip("10.0.5.9");
	c.sync_port = 9001;
	ck_assert_int_eq(link_cell(&c, 0xcd, &linked), 0);
	ck_assert_uint_eq(st.n_cells, 2);
	cur = state_cell(&st, "office");
	ck_assert_ptr_nonnull(cur);
	ck_assert_uint_eq(cur->id, id);
	ck_assert_uint_eq(linked.id, id);
	ck_assert_str_eq(cur->info.endpoint, "192.0.2.55:51999");
	ck_assert_uint_eq(cur->info.vpn_subnet.addr.s_addr, ip("10.0.5.0"));
	ck_assert_uint_eq(cur->info.wg_address.s_addr, ip("10.0.5.9"));
	ck_assert_str_eq(cur->info.domain, "branch.cell");
	ck_assert_uint_eq(cur->info.sync_port, 9001);
	memset(key, 0xcd, sizeof(key));
	ck_assert_mem_eq(cur->link_key, key, LINK_KEY_LEN);
	/* What each side shares, and when it was linked, are kept. */
	ck_assert_uint_eq(cur->inbound[0], (1u << 0) | (1u << 2));
	ck_assert_uint_eq(cur->n_outbound, 1);
	ck_assert_str_eq(cur->outbound[0], "web");
	ck_assert_int_eq(cur->linked_at, linked_at);
	/* Its old subnet is free for others now. */
	ck_assert_uint_eq(must_link("shop", 22, "10.0.1.0/24", "shop.cell"), 4);
	/* The same key may not take another cell's subnet or domain, nor
	 * our own; its own are no conflict with itself. */
	c = cell("office", 20, "10.0.2.0/25", "branch.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "vpn_subnet");
	c = cell("office", 20, "10.0.5.0/24", "lab.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "domain");
	c = cell("office", 20, "10.0.0.0/24", "branch.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "vpn_subnet");
	c = cell("lab", 20, "10.0.5.0/24", "branch.cell");
	REJECTS(link_cell(&c, 1, NULL), 409, "cell_name");
	c = cell("office", 20, "10.0.5.0/24", "branch.cell");
	ck_assert_int_eq(link_cell(&c, 0xcd, NULL), 0);
	/* Renamed by its own invite: the same link. */
	c = cell("branch", 20, "10.0.5.0/24", "branch.cell");
	ck_assert_int_eq(link_cell(&c, 0xcd, NULL), 0);
	ck_assert_ptr_null(state_cell(&st, "office"));
	ck_assert_uint_eq(state_cell(&st, "branch")->id, id);
	ck_assert_uint_eq(st.n_cells, 3);
}
END_TEST

START_TEST(test_unlink)
{
	struct cg_cell_def removed;
	uint32_t id;

	REJECTS(unlink_cell("office", NULL), 404, "name");
	ck_assert_str_eq(err.msg, "no cell 'office'");
	id = must_link("office", 20, "10.0.1.0/24", "office.cell");
	must_link("lab", 21, "10.0.2.0/24", "lab.cell");
	REJECTS(unlink_cell("nosuch", &removed), 404, "name");
	ck_assert_int_eq(unlink_cell("office", &removed), 0);
	ck_assert_str_eq(removed.info.cell_name, "office");
	ck_assert_uint_eq(removed.id, id);
	ck_assert_uint_eq(st.n_cells, 1);
	ck_assert_ptr_null(state_cell(&st, "office"));
	ck_assert_ptr_nonnull(state_cell(&st, "lab"));
	REJECTS(unlink_cell("office", NULL), 404, "name");
	/* Its id, subnet, domain and name are free again. */
	ck_assert_uint_eq(must_link("office", 23, "10.0.1.0/24", "office.cell"),
			  id);
	ck_assert_int_eq(unlink_cell("lab", NULL), 0);
	ck_assert_int_eq(unlink_cell("office", NULL), 0);
	ck_assert_uint_eq(st.n_cells, 0);
}
END_TEST

START_TEST(test_inbound)
{
	struct cg_cell_def updated;
	struct cg_cell_def *c;

	three_services();
	must_link("office", 20, "10.0.1.0/24", "office.cell");
	REJECTS(set_inbound("nosuch", "{\"inbound\": {}}", NULL), 404, "name");
	REJECTS(set_inbound("office", "{\"inbound\": {\"web\": true}}", NULL),
		400, "inbound.web");
	REJECTS(set_inbound("office",
			    "{\"inbound\": {\"calendar\": true, \"web\": "
			    "false}}",
			    NULL),
		400, "inbound.web");
	REJECTS(set_inbound("office", "{\"inbound\": {\"calendar\": 1}}", NULL),
		400, "inbound.calendar");
	REJECTS(set_inbound("office", "{\"inbound\": {\"calendar\": \"yes\"}}",
			    NULL),
		400, "inbound.calendar");
	REJECTS(set_inbound("office", "{\"inbound\": {\"calendar\": null}}",
			    NULL),
		400, "inbound.calendar");
	REJECTS(set_inbound("office",
			    "{\"inbound\": {\"calendar\": true}, \"outbound\": "
			    "{}}",
			    NULL),
		400, "outbound");
	REJECTS(set_inbound("office",
			    "{\"inbound\": {\"calendar\": true}, \"outbound\": "
			    "{\"web\": true}}",
			    NULL),
		400, "outbound");
	REJECTS(set_inbound("office", "{\"inbound\": [\"calendar\"]}", NULL),
		400, "inbound");
	REJECTS(set_inbound("office", "{}", NULL), 400, "inbound");
	REJECTS(set_inbound("office",
			    "{\"inbound\": {\"calendar\": true}, \"share\": 1}",
			    NULL),
		400, "share");
	/* Bits by service id: calendar 0, files 1, mail 2. */
	ck_assert_int_eq(set_inbound("office",
				     "{\"inbound\": {\"calendar\": true, "
				     "\"files\": false, \"mail\": true}}",
				     &updated),
			 0);
	c = state_cell(&st, "office");
	ck_assert_uint_eq(c->inbound[0], 0x5);
	ck_assert_uint_eq(c->inbound[1], 0);
	ck_assert_uint_eq(updated.inbound[0], 0x5);
	ck_assert_str_eq(updated.info.cell_name, "office");
	/* The whole set each time: absent means not shared. */
	ck_assert_int_eq(set_inbound("office",
				     "{\"inbound\": {\"files\": "
				     "true}}",
				     NULL),
			 0);
	ck_assert_uint_eq(c->inbound[0], 0x2);
	ck_assert_int_eq(set_inbound("office", "{\"inbound\": {}}", NULL), 0);
	ck_assert_uint_eq(c->inbound[0], 0);
	/* A service's id, not its position: mail keeps id 2 when files
	 * goes. */
	ck_assert_int_eq(del_svc("files"), 0);
	ck_assert_int_eq(set_inbound("office",
				     "{\"inbound\": {\"mail\": "
				     "true}}",
				     NULL),
			 0);
	ck_assert_uint_eq(c->inbound[0], 0x4);
}
END_TEST

START_TEST(test_shared_service_not_deleted)
{
	three_services();
	must_link("office", 20, "10.0.1.0/24", "office.cell");
	must_link("lab", 21, "10.0.2.0/24", "lab.cell");
	ck_assert_int_eq(set_inbound("lab",
				     "{\"inbound\": {\"calendar\": "
				     "true}}",
				     NULL),
			 0);
	REJECTS(del_svc("calendar"), 409, "name");
	ck_assert_msg(strstr(err.msg, "lab") != NULL, "%s", err.msg);
	/* Not shared, it goes. */
	ck_assert_int_eq(del_svc("files"), 0);
	ck_assert_int_eq(set_inbound("lab",
				     "{\"inbound\": {\"calendar\": "
				     "false}}",
				     NULL),
			 0);
	ck_assert_int_eq(del_svc("calendar"), 0);
	ck_assert_ptr_null(state_service(&st, "calendar"));
}
END_TEST

/* ---- invites ------------------------------------------------------------- */

static struct cg_invite invite(int64_t expires_at)
{
	struct cg_invite inv = { 0 };

	ck_assert_int_eq(pairing_secret_new(inv.secret), 0);
	inv.created_at = expires_at - CG_INVITE_TTL_S;
	inv.expires_at = expires_at;
	return inv;
}

static int add_invite(const struct cg_invite *inv)
{
	memset(&err, 0, sizeof(err));
	return state_add_invite(&st, inv, &err);
}

START_TEST(test_invites_limit)
{
	struct cg_invite inv;
	unsigned int i;

	for (i = 0; i < CG_MAX_INVITES; i++) {
		inv = invite(100000 + i);
		ck_assert_int_eq(add_invite(&inv), 0);
		ck_assert_uint_eq(st.n_invites, i + 1);
		ck_assert_str_eq(st.invites[i].secret, inv.secret);
		ck_assert_int_eq(st.invites[i].expires_at, 100000 + i);
	}
	inv = invite(200000);
	REJECTS(add_invite(&inv), 409, "");
	ck_assert_uint_eq(st.n_invites, CG_MAX_INVITES);
	/* One used up: room for one more. The last takes its place and
	 * the slot it left holds no secret. */
	state_drop_invite(&st, 3);
	ck_assert_uint_eq(st.n_invites, CG_MAX_INVITES - 1);
	ck_assert_int_eq(st.invites[3].expires_at, 100000 + CG_MAX_INVITES - 1);
	for (i = 0; i < sizeof(st.invites[0]); i++)
		ck_assert_uint_eq(
			((unsigned char *)&st.invites[CG_MAX_INVITES - 1])[i],
			0);
	ck_assert_int_eq(add_invite(&inv), 0);
	REJECTS(add_invite(&inv), 409, "");
}
END_TEST

START_TEST(test_invites_expire)
{
	static const int64_t when[] = { 500, 100, 300, 200, 400, 201, 199 };
	struct cg_invite inv[ARRAY_SIZE(when)];
	bool seen[ARRAY_SIZE(when)] = { false };
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(when); i++) {
		inv[i] = invite(when[i]);
		ck_assert_int_eq(add_invite(&inv[i]), 0);
	}
	ck_assert_uint_eq(state_expire_invites(&st, 99), 0);
	ck_assert_uint_eq(st.n_invites, ARRAY_SIZE(when));
	/* Expired at expires_at itself: 100, 200 and 199 go. */
	ck_assert_uint_eq(state_expire_invites(&st, 200), 3);
	ck_assert_uint_eq(st.n_invites, 4);
	for (i = 0; i < st.n_invites; i++) {
		for (j = 0; j < ARRAY_SIZE(when); j++)
			if (!strcmp(st.invites[i].secret, inv[j].secret))
				break;
		ck_assert_uint_lt(j, ARRAY_SIZE(when));
		ck_assert(!seen[j]);
		seen[j] = true;
		ck_assert_int_eq(st.invites[i].expires_at, when[j]);
		ck_assert_int_gt(when[j], 200);
	}
	ck_assert_uint_eq(state_expire_invites(&st, 200), 0);
	ck_assert_uint_eq(state_expire_invites(&st, 1000), 4);
	ck_assert_uint_eq(st.n_invites, 0);
}
END_TEST

/* Invites are listed and revoked by an id derived from the secret: the
 * same for the same secret, never the secret or a part of it. */
START_TEST(test_invite_ids)
{
	char ids[3][INVITE_ID_LEN + 1], again[INVITE_ID_LEN + 1];
	struct cg_invite inv[3];
	size_t i, j;

	for (i = 0; i < 3; i++) {
		inv[i] = invite(1000 + (int64_t)i);
		ck_assert_int_eq(add_invite(&inv[i]), 0);
		ck_assert_int_eq(invite_id(ids[i], inv[i].secret), 0);
		ck_assert_uint_eq(strlen(ids[i]), INVITE_ID_LEN);
		ck_assert_uint_eq(strspn(ids[i], "0123456789abcdef"),
				  INVITE_ID_LEN);
		ck_assert_int_eq(invite_id(again, inv[i].secret), 0);
		ck_assert_str_eq(again, ids[i]);
		/* No 8 characters of the secret show in the id. */
		for (j = 0; j + 8 <= strlen(inv[i].secret); j++) {
			char part[9];

			memcpy(part, inv[i].secret + j, 8);
			part[8] = '\0';
			ck_assert_ptr_null(strstr(ids[i], part));
		}
	}
	ck_assert_str_ne(ids[0], ids[1]);
	ck_assert_str_ne(ids[1], ids[2]);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(state_find_invite(&st, ids[i]), (int)i);
	ck_assert_int_eq(state_find_invite(&st, "0000000000000000"), -1);
	ck_assert_int_eq(state_find_invite(&st, ""), -1);
	ck_assert_int_eq(state_find_invite(&st, inv[0].secret), -1);
	/* Revoked: gone, the others still found. */
	state_drop_invite(&st, (size_t)state_find_invite(&st, ids[1]));
	ck_assert_int_eq(state_find_invite(&st, ids[1]), -1);
	ck_assert_int_ge(state_find_invite(&st, ids[0]), 0);
	ck_assert_int_ge(state_find_invite(&st, ids[2]), 0);
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
	TCase *inv = tcase_create("invites");
	TCase *file = tcase_create("file");

	tcase_add_checked_fixture(info, setup, teardown);
	tcase_add_checked_fixture(link, setup, teardown);
	tcase_add_checked_fixture(inv, setup, teardown);
	tcase_add_checked_fixture(file, setup, teardown);
	tcase_add_test(info, test_info_example);
	tcase_add_test(info, test_info_defaults);
	tcase_add_test(info, test_info_pairing_secret);
	tcase_add_test(info, test_info_invalid);
	tcase_add_test(info, test_info_round_trip);
	tcase_add_test(info, test_info_of_config);
	tcase_add_test(link, test_link_ids_shared_with_peers);
	tcase_add_test(link, test_link_conflicts);
	tcase_add_test(link, test_link_cells_exhausted);
	tcase_add_test(link, test_relink_same_key);
	tcase_add_test(link, test_unlink);
	tcase_add_test(link, test_inbound);
	tcase_add_test(link, test_shared_service_not_deleted);
	tcase_add_test(link, test_keys_and_names);
	tcase_add_test(inv, test_invites_limit);
	tcase_add_test(inv, test_invites_expire);
	tcase_add_test(inv, test_invite_ids);
	tcase_add_test(file, test_save_load_cells);
	tcase_add_test(file, test_load_bad_cells);
	tcase_add_test(file, test_state_copy_cells);
	suite_add_tcase(s, info);
	suite_add_tcase(s, link);
	suite_add_tcase(s, inv);
	suite_add_tcase(s, file);
	return s;
}

int main(void)
{
	return tu_run(cell_suite());
}
