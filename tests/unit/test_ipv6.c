// SPDX-License-Identifier: MIT
/* Unit tests for IPv6 in the control plane (issue 17): wireguard.address6
 * and its neighbours in the config, a peer's ip6 (allocation, validation,
 * conflicts), the state file with and without ip6, the policy's IPv6
 * entries and client configs. */
#include "client_config.h"
#include "policy.h"
#include "state_fixture.h"

/* The example config as an IPv6 cell: fd10::1/64, max_peers 16. */
static void setup6(void)
{
	json_object *root = tu_json(TU_EXAMPLE_CONFIG), *wg;

	json_object_object_add(root, "limits", tu_json("{\"max_peers\": 16}"));
	ck_assert(json_object_object_get_ex(root, "wireguard", &wg));
	json_object_object_add(wg, "address6",
			       json_object_new_string("fd10::1/64"));
	json_object_object_add(root, "dns_ip6",
			       json_object_new_string("fd10::53"));
	tu_config(&cfg, json_object_to_json_string(root));
	json_object_put(root);
	ck_assert(cfg.wireguard.has_address6);
	state_init(&st, &cfg);
	memset(&err, 0, sizeof(err));
}

static struct in6_addr ip6(const char *s)
{
	struct in6_addr a;

	ck_assert_msg(inet_pton(AF_INET6, s, &a) == 1, "bad fixture %s", s);
	return a;
}

static void assert_ip6(const struct in6_addr *a, const char *want)
{
	char buf[CG_IP6_STRLEN];

	ck_assert_str_eq(ipv6_str(a, buf), want);
}

/* A peer with an explicit ip6 (",..." extra members after it). */
static int add_peer6(const char *name, unsigned int seed, const char *v4,
		     const char *v6, struct cg_peer_def *added)
{
	char extra[128];

	snprintf(extra, sizeof(extra), ", \"ip6\": \"%s\"", v6);
	return add_peer(name, seed, v4, extra, added);
}

/* ---- the config ---------------------------------------------------------- */

/* The example config with one member of "wireguard" (or the top level,
 * or "uplink") replaced: an error naming field, or 0. */
static int config_with(const char *where, const char *key, const char *value,
		       struct cg_error *e)
{
	json_object *root = tu_json(TU_EXAMPLE_CONFIG), *obj = root;
	struct cg_config c;
	const char *text;
	int ret;

	if (where)
		ck_assert(json_object_object_get_ex(root, where, &obj));
	json_object_object_add(obj, key, json_object_new_string(value));
	text = json_object_to_json_string(root);
	memset(e, 0, sizeof(*e));
	ret = config_parse(text, strlen(text), &c, e);
	json_object_put(root);
	return ret;
}

START_TEST(test_config_address6)
{
	static const char *const bad[] = {
		"fd10::1",	     "fd10::1/47", "fd10::1/127", "fe80::1/64",
		"ff02::1/64",	     "::1/64",	   "::/64",	  "fd10::/64",
		"10.0.0.1/24",	     "fd10::1/",   "fd10::1/64x", "fd10:::1/64",
		"::ffff:1.2.3.4/96",
	};
	struct cg_error e;
	size_t i;

	/* Absent: an IPv4-only cell, exactly as before. */
	tu_config(&cfg, TU_EXAMPLE_CONFIG);
	ck_assert(!cfg.wireguard.has_address6);
	ck_assert(!cfg.uplink.has_prefix6 && !cfg.has_dns_ip6);

	ck_assert_int_eq(config_with("wireguard", "address6", "fd10::1/64", &e),
			 0);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_msg(config_with("wireguard", "address6", bad[i], &e) <
				      0,
			      "accepted address6 %s", bad[i]);
		tu_assert_err(&e, 400, "wireguard.address6");
	}
	ck_assert_int_eq(
		config_with("uplink", "prefix6", "2001:db8:1::/56", &e), 0);
	ck_assert_int_lt(
		config_with("uplink", "prefix6", "2001:db8:1::1/56", &e), 0);
	tu_assert_err(&e, 400, "uplink.prefix6");
	ck_assert_int_lt(config_with("uplink", "prefix6", "ff00::/8", &e), 0);
	tu_assert_err(&e, 400, "uplink.prefix6");
	/* A resolver's IPv6 address needs an IPv6 cell. */
	ck_assert_int_lt(config_with(NULL, "dns_ip6", "fd10::53", &e), 0);
	tu_assert_err(&e, 400, "dns_ip6");
	ck_assert_int_lt(config_with(NULL, "dns_ip6", "10.0.0.53", &e), 0);
	tu_assert_err(&e, 400, "dns_ip6");
}
END_TEST

/* ---- allocation ---------------------------------------------------------- */

START_TEST(test_ip6_alloc)
{
	struct cg_peer_def a, b, c;

	/* The lowest free host: the router has fd10::1. */
	ck_assert_int_eq(add_peer("a", 1, "10.0.0.2", NULL, &a), 0);
	assert_ip6(&a.ip6, "fd10::2");
	ck_assert_int_eq(add_peer6("b", 2, "10.0.0.3", "fd10::4", &b), 0);
	ck_assert_int_eq(add_peer("c", 3, "10.0.0.4", NULL, &c), 0);
	assert_ip6(&c.ip6, "fd10::3");
	/* fd10::4 is b's: the next one skips it. */
	ck_assert_int_eq(add_peer("d", 4, "10.0.0.5", NULL, &c), 0);
	assert_ip6(&c.ip6, "fd10::5");
	/* A freed address is the lowest again. */
	ck_assert_int_eq(del_peer("a", NULL), 0);
	ck_assert_int_eq(add_peer("e", 5, "10.0.0.6", NULL, &c), 0);
	assert_ip6(&c.ip6, "fd10::2");
	/* Far addresses (outside the allocator's bitset) are indexed too. */
	ck_assert_int_eq(add_peer6("f", 6, "10.0.0.7", "fd10::abcd:1", &c), 0);
	ck_assert_ptr_eq(state_peer_by_ip6(&st, &c.ip6), state_peer(&st, "f"));
	REJECTS(add_peer6("g", 7, "10.0.0.8", "fd10::abcd:1", NULL), 409,
		"ip6");
}
END_TEST

/* Every peer ever (max_peers) gets an address: the bitset covers them. */
START_TEST(test_ip6_alloc_full)
{
	char name[16], v4[16];
	struct cg_peer_def p;
	unsigned int i;

	for (i = 0; i < cfg.limits.max_peers; i++) {
		snprintf(name, sizeof(name), "p%u", i);
		snprintf(v4, sizeof(v4), "10.0.0.%u", i + 2);
		ck_assert_int_eq(add_peer(name, i + 1, v4, NULL, &p), 0);
		ck_assert(!ipv6_is_zero(&p.ip6));
	}
}
END_TEST

/* ---- bad input ----------------------------------------------------------- */

START_TEST(test_ip6_rejects)
{
	static const struct {
		const char *ip6;
		int status;
	} bad[] = {
		{ "fd11::2", 400 }, /* outside address6 */
		{ "fe80::2", 400 }, /* link-local */
		{ "ff02::1", 400 }, /* multicast */
		{ "::1", 400 }, /* loopback */
		{ "::", 400 }, /* unspecified */
		{ "fd10::/64", 400 }, /* a prefix where a host is wanted */
		{ "fd10::2/128", 400 }, /* even a /128 */
		{ "fd10::", 400 }, /* the subnet's network address */
		{ "zzz", 400 }, /* unparsable */
		{ "10.0.0.9", 400 }, /* IPv4 */
		{ "", 400 }, /* empty */
		{ "fd10::1", 409 }, /* the router's */
		{ "fd10::2", 409 }, /* alice's */
	};
	struct cg_peer_def a;
	char body[128];
	size_t i;

	ck_assert_int_eq(add_peer("alice", 1, "10.0.0.2", NULL, &a), 0);
	assert_ip6(&a.ip6, "fd10::2");
	ck_assert_int_eq(add_peer("bob", 2, "10.0.0.3", NULL, NULL), 0);
	/* Each bad ip6, in a new peer and in a change of bob's: refused
	 * with its status, naming ip6, and nothing changed (REJECTS). */
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		REJECTS(add_peer6("carol", 3, "10.0.0.4", bad[i].ip6, NULL),
			bad[i].status, "ip6");
		snprintf(body, sizeof(body), "{\"ip6\": \"%s\"}", bad[i].ip6);
		REJECTS(update_peer("bob", body, NULL, NULL), bad[i].status,
			"ip6");
	}
	/* Not a string. */
	REJECTS(add_peer("carol", 3, "10.0.0.4", ", \"ip6\": 5", NULL), 400,
		"ip6");
}
END_TEST

START_TEST(test_ip6_update)
{
	struct cg_peer_def old, upd;

	ck_assert_int_eq(add_peer("alice", 1, "10.0.0.2", NULL, NULL), 0);
	ck_assert_int_eq(add_peer("bob", 2, "10.0.0.3", NULL, NULL), 0);
	ck_assert_int_eq(
		update_peer("alice", "{\"ip6\": \"fd10::99\"}", &old, &upd), 0);
	assert_ip6(&old.ip6, "fd10::2");
	assert_ip6(&upd.ip6, "fd10::99");
	ck_assert_ptr_null(state_peer_by_ip6(&st, &old.ip6));
	ck_assert_ptr_eq(state_peer_by_ip6(&st, &upd.ip6),
			 state_peer(&st, "alice"));
	REJECTS(update_peer("bob", "{\"ip6\": \"fd10::99\"}", NULL, NULL), 409,
		"ip6");
	REJECTS(update_peer("bob", "{\"ip6\": \"fe80::99\"}", NULL, NULL), 400,
		"ip6");
	/* The address alice left is free for the next peer. */
	ck_assert_int_eq(add_peer("carol", 3, "10.0.0.4", NULL, &upd), 0);
	assert_ip6(&upd.ip6, "fd10::2");
}
END_TEST

/* An IPv4-only cell: no ip6 allocated, none accepted, none shown. */
START_TEST(test_ip6_ipv4_only)
{
	struct cg_peer_def a;
	json_object *j;

	ck_assert_int_eq(add_peer("alice", 1, "10.0.0.2", NULL, &a), 0);
	ck_assert(ipv6_is_zero(&a.ip6));
	REJECTS(add_peer6("bob", 2, "10.0.0.3", "fd10::2", NULL), 400, "ip6");
	j = peer_to_json(&st, state_peer(&st, "alice"), true);
	ck_assert(!json_object_object_get_ex(j, "ip6", NULL));
	json_object_put(j);
	ck_assert_uint_eq(state_assign_ip6(&st), 0);
}
END_TEST

/* ---- the state file ------------------------------------------------------ */

static char *saved_dir; /* removed by teardown6 */

static void teardown6(void)
{
	teardown();
	if (saved_dir)
		tu_rm_r(saved_dir);
	free(saved_dir);
	saved_dir = NULL;
}

static char *save(void)
{
	static char path[PATH_MAX];

	ck_assert_ptr_null(saved_dir);
	saved_dir = tu_mkdtemp();
	snprintf(path, sizeof(path), "%s/state.json", saved_dir);
	ck_assert_int_eq(state_save(&st, path), 0);
	return path;
}

static void load(struct cg_state *into, const struct cg_config *c,
		 const char *path)
{
	state_init(into, c);
	memset(&err, 0, sizeof(err));
	ck_assert_msg(state_load(into, path, &err) == 0, "%s: %s", err.field,
		      err.msg);
}

START_TEST(test_ip6_roundtrip)
{
	struct cg_state loaded;
	char *a, *b, *path;

	ck_assert_int_eq(add_peer("alice", 1, "10.0.0.2", NULL, NULL), 0);
	ck_assert_int_eq(add_peer6("bob", 2, "10.0.0.3", "fd10::beef", NULL),
			 0);
	path = save();
	load(&loaded, &cfg, path);
	a = state_to_string(&st);
	b = state_to_string(&loaded);
	ck_assert_str_eq(a, b);
	ck_assert_ptr_nonnull(strstr(a, "\"ip6\": \"fd10::beef\"") ?:
				      strstr(a, "\"ip6\":\"fd10::beef\""));
	assert_ip6(&state_peer(&loaded, "bob")->ip6, "fd10::beef");
	/* The loaded state's allocator knows both. */
	ck_assert_uint_eq(state_assign_ip6(&loaded), 0);
	free(a);
	free(b);
	state_free(&loaded);
}
END_TEST

/* A state file from before IPv6 (no ip6 anywhere) loads unchanged; an
 * IPv6 cell then gives each peer an address, the lowest free first. */
START_TEST(test_ip6_old_state)
{
	struct cg_config v4cfg;
	struct cg_state old, loaded;
	char *path, *a, *b;

	tu_config(&v4cfg, TU_EXAMPLE_CONFIG);
	state_init(&old, &v4cfg);
	{
		struct cg_state keep = st;

		st = old;
		ck_assert_int_eq(add_peer("alice", 1, "10.0.0.2", NULL, NULL),
				 0);
		ck_assert_int_eq(add_peer("bob", 2, "10.0.0.3", NULL, NULL), 0);
		path = save();
		old = st;
		st = keep;
	}
	a = state_to_string(&old);
	ck_assert_ptr_null(strstr(a, "ip6"));
	/* IPv4-only: loaded exactly as written. */
	load(&loaded, &v4cfg, path);
	b = state_to_string(&loaded);
	ck_assert_str_eq(a, b);
	free(b);
	state_free(&loaded);
	/* IPv6 cell: loaded, then given addresses (what start does). */
	load(&loaded, &cfg, path);
	ck_assert(ipv6_is_zero(&state_peer(&loaded, "alice")->ip6));
	ck_assert_uint_eq(state_assign_ip6(&loaded), 2);
	assert_ip6(&state_peer(&loaded, "alice")->ip6, "fd10::2");
	assert_ip6(&state_peer(&loaded, "bob")->ip6, "fd10::3");
	ck_assert_uint_eq(state_assign_ip6(&loaded), 0);
	free(a);
	state_free(&loaded);
	state_free(&old);
}
END_TEST

/* An ip6 the config no longer allows (address6 removed) is dropped at
 * load, not an error: the cell still starts. */
START_TEST(test_ip6_config_removed)
{
	struct cg_config v4cfg;
	struct cg_state loaded;
	char *path, *s;

	ck_assert_int_eq(add_peer("alice", 1, "10.0.0.2", NULL, NULL), 0);
	path = save();
	tu_config(&v4cfg, TU_EXAMPLE_CONFIG);
	load(&loaded, &v4cfg, path);
	ck_assert(ipv6_is_zero(&state_peer(&loaded, "alice")->ip6));
	s = state_to_string(&loaded);
	ck_assert_ptr_null(strstr(s, "ip6"));
	free(s);
	state_free(&loaded);
}
END_TEST

/* ---- policy and client configs ------------------------------------------- */

START_TEST(test_ip6_policy)
{
	struct policy pol;
	struct cg_addr6_key k;
	const struct policy_peer6 *e;
	struct in6_addr want = ip6("fd10::2");

	ck_assert_int_eq(add_peer("alice", 1, "10.0.0.2",
				  ", \"internet_access\": true", NULL),
			 0);
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
	ck_assert_uint_eq(pol.n_peers6, 1);
	memcpy(k.addr, &want, 16);
	e = policy_find_peer6(&pol, &k);
	ck_assert_ptr_nonnull(e);
	/* The same identity as the IPv4 entry. */
	ck_assert_mem_eq(&e->value, &pol.peers[0].value, sizeof(e->value));
	ck_assert_uint_eq(pol.n_nets6, 1);
	ck_assert_uint_eq(pol.nets6[0].key.prefixlen, 64);
	ck_assert_uint_eq(pol.nets6[0].value.kind, CG_NET_WG_SUBNET);
	policy_free(&pol);
}
END_TEST

START_TEST(test_ip6_ipv4_only_policy)
{
	struct policy pol;

	ck_assert_int_eq(add_peer("alice", 1, "10.0.0.2", NULL, NULL), 0);
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
	ck_assert_uint_eq(pol.n_peers6, 0);
	ck_assert_uint_eq(pol.n_nets6, 0);
	policy_free(&pol);
}
END_TEST

START_TEST(test_ip6_client_config)
{
	struct cg_peer_def a;
	wg_key pub = { 1 };
	char *text;

	ck_assert_int_eq(add_peer("alice", 1, "10.0.0.2", NULL, &a), 0);
	text = client_config_render(&cfg, &a, pub, "KEY");
	ck_assert_ptr_nonnull(
		strstr(text, "Address = 10.0.0.2/32, fd10::2/128\n"));
	ck_assert_ptr_nonnull(strstr(text, "DNS = fd10::53\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "AllowedIPs = 10.0.0.0/24, fd10::/64\n"));
	free(text);
	a.internet_access = true;
	text = client_config_render(&cfg, &a, pub, "KEY");
	ck_assert_ptr_nonnull(strstr(text, "AllowedIPs = 0.0.0.0/0, ::/0\n"));
	free(text);
}
END_TEST

/* A service endpoint's ip may be IPv6: in cg_services6, icmp as ICMPv6. */
START_TEST(test_service6)
{
	struct policy pol;
	json_object *j, *v;
	size_t i, tcp = 0, icmp6 = 0;

	must_put_svc("web6", "{\"endpoints\": [{\"ip\": \"fd20::80\", "
			     "\"proto\": \"tcp\", \"port\": 443}, {\"ip\": "
			     "\"fd20::80\", \"proto\": \"any\"}, {\"ip\": "
			     "\"172.20.0.80\", \"proto\": \"tcp\", \"port\": "
			     "443}]}");
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
	/* tcp/443 + tcp, udp, icmp, + the peers' own API on address6 */
	ck_assert_uint_eq(pol.n_services6, 5);
	for (i = 0; i < pol.n_services6; i++) {
		tcp += pol.services6[i].key.port == 443;
		icmp6 += pol.services6[i].key.proto == IPPROTO_ICMPV6;
	}
	ck_assert_uint_eq(tcp, 1);
	ck_assert_uint_eq(icmp6, 1);
	/* The IPv4 endpoint stays in cg_services alone (+ the own
	 * listeners, sync and peer API). */
	ck_assert_uint_eq(pol.n_services, 1 + 2);
	policy_free(&pol);
	j = service_to_json(state_service(&st, "web6"), false);
	ck_assert(json_object_object_get_ex(j, "endpoints", &v));
	ck_assert_str_eq(json_object_get_string(json_object_object_get(
				 json_object_array_get_idx(v, 0), "ip")),
			 "fd20::80");
	json_object_put(j);
	REJECTS(put_svc("bad", "{\"endpoints\": [{\"ip\": \"fe80::1\", "
			       "\"proto\": \"tcp\", \"port\": 80}]}"),
		400, "endpoints[0].ip");
	REJECTS(put_svc("bad", "{\"endpoints\": [{\"ip\": \"fd20::/64\", "
			       "\"proto\": \"tcp\", \"port\": 80}]}"),
		400, "endpoints[0].ip");
}
END_TEST

START_TEST(test_service6_ipv4_only)
{
	REJECTS(put_svc("web6", "{\"endpoints\": [{\"ip\": \"fd20::80\", "
				"\"proto\": \"tcp\", \"port\": 443}]}"),
		400, "endpoints[0].ip");
}
END_TEST

/* ---- linked cells: subnet6 ------------------------------------------------ */

/* An accept-invite body of cell "far" with subnet6 (NULL: none). */
static int far_info(const char *subnet6, struct cg_cell_info *info)
{
	char key[WG_KEY_B64_LEN + 1], body[512];
	json_object *o;
	int ok;

	tu_key_b64(90, key);
	snprintf(body, sizeof(body),
		 "{\"cell_name\": \"far\", \"public_key\": \"%s\", "
		 "\"endpoint\": \"198.51.100.9:51820\", \"vpn_subnet\": "
		 "\"10.9.0.0/24\", \"domain\": \"far.cell\", \"version\": 1"
		 "%s%s%s}",
		 key, subnet6 ? ", \"subnet6\": \"" : "",
		 subnet6 ? subnet6 : "", subnet6 ? "\"" : "");
	o = tu_json(body);
	memset(&err, 0, sizeof(err));
	ok = cell_info_parse(o, info, NULL, &err);
	json_object_put(o);
	return ok ? 0 : -EINVAL;
}

START_TEST(test_cell6)
{
	static const uint8_t link_key[LINK_KEY_LEN] = { 7 };
	struct cg_cell_info info, ours;
	struct policy pol;
	json_object *j, *v;

	ck_assert_int_eq(far_info("fd11::/64", &info), 0);
	ck_assert(info.has_subnet6);
	ck_assert_int_eq(far_info(NULL, &info), 0);
	ck_assert(!info.has_subnet6);
	ck_assert_int_lt(far_info("fd11::1/64", &info), 0);
	tu_assert_err(&err, 400, "subnet6");
	ck_assert_int_lt(far_info("fe80::/64", &info), 0);
	tu_assert_err(&err, 400, "subnet6");
	ck_assert_int_lt(far_info("fd11::/32", &info), 0);
	tu_assert_err(&err, 400, "subnet6");
	/* Overlapping our address6: 409, nothing linked. */
	ck_assert_int_eq(far_info("fd10::/48", &info), 0);
	REJECTS(state_link_cell(&st, &info, link_key, NULL, &err), 409,
		"subnet6");
	ck_assert_int_eq(far_info("fd11::/64", &info), 0);
	ck_assert_int_eq(state_link_cell(&st, &info, link_key, NULL, &err), 0);
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
	ck_assert_uint_eq(pol.n_cells6, 1);
	ck_assert_uint_eq(pol.cells6[0].key.prefixlen, 64);
	ck_assert_mem_eq(&pol.cells6[0].value, &pol.cells[0].value,
			 sizeof(pol.cells[0].value));
	policy_free(&pol);
	j = cell_info_to_json(&st.cells[0].info);
	ck_assert(json_object_object_get_ex(j, "subnet6", &v));
	ck_assert_str_eq(json_object_get_string(v), "fd11::/64");
	json_object_put(j);
	/* Our own invites carry our subnet6. */
	cell_info_of_config(&cfg, info.public_key, &ours);
	ck_assert(ours.has_subnet6);
	assert_ip6(&ours.subnet6.addr, "fd10::");
}
END_TEST

static Suite *ipv6_suite(void)
{
	Suite *s = suite_create("ipv6");
	TCase *c = tcase_create("config");
	TCase *v6 = tcase_create("ipv6 cell");
	TCase *v4 = tcase_create("ipv4 cell");

	tcase_add_test(c, test_config_address6);
	suite_add_tcase(s, c);
	tcase_add_checked_fixture(v6, setup6, teardown6);
	tcase_add_test(v6, test_ip6_alloc);
	tcase_add_test(v6, test_ip6_alloc_full);
	tcase_add_test(v6, test_ip6_rejects);
	tcase_add_test(v6, test_ip6_update);
	tcase_add_test(v6, test_ip6_roundtrip);
	tcase_add_test(v6, test_ip6_old_state);
	tcase_add_test(v6, test_ip6_config_removed);
	tcase_add_test(v6, test_ip6_policy);
	tcase_add_test(v6, test_ip6_client_config);
	tcase_add_test(v6, test_service6);
	tcase_add_test(v6, test_cell6);
	suite_add_tcase(s, v6);
	tcase_add_checked_fixture(v4, setup, teardown6);
	tcase_add_test(v4, test_ip6_ipv4_only);
	tcase_add_test(v4, test_ip6_ipv4_only_policy);
	tcase_add_test(v4, test_service6_ipv4_only);
	suite_add_tcase(s, v4);
	return s;
}

int main(void)
{
	return tu_run(ipv6_suite());
}
