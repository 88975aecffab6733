// SPDX-License-Identifier: MIT
/* Unit tests for rules between peers (issue 18): the parser (what it
 * refuses, naming the field, changing nothing), the journal round trip,
 * and the class-pair compiler (ctl/state/policy_rules.c). */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cell.h"
#include "policy.h"
#include "state.h"
#include "testutil.h"

static struct cg_config cfg;
static struct cg_state st;
static struct policy pol;
static struct cg_error err;

static void setup(void)
{
	tu_config(&cfg, TU_EXAMPLE_CONFIG);
	state_init(&st, &cfg);
	memset(&pol, 0, sizeof(pol));
}

static void teardown(void)
{
	policy_free(&pol);
	state_free(&st);
}

static void peer(const char *name, unsigned int seed, const char *groups)
{
	char key[WG_KEY_B64_LEN + 1], body[512];
	json_object *o;

	tu_key_b64(seed, key);
	snprintf(body, sizeof(body),
		 "{\"name\": \"%s\", \"public_key\": \"%s\", \"ip\": "
		 "\"10.0.0.%u\", \"groups\": %s}",
		 name, key, seed + 1, groups);
	o = tu_json(body);
	memset(&err, 0, sizeof(err));
	ck_assert_msg(state_add_peer(&st, o, NULL, NULL, &err) == 0, "%s: %s",
		      err.field, err.msg);
	json_object_put(o);
}

static int put(const char *name, const char *body)
{
	struct cg_rule_def old, put;
	json_object *o = tu_json(body);
	bool existed;
	int ret = state_put_rule(&st, name, o, &old, &existed, &put, &err);

	json_object_put(o);
	return ret;
}

static void put_ok(const char *name, const char *body)
{
	memset(&err, 0, sizeof(err));
	ck_assert_msg(put(name, body) == 0, "%s: %s", err.field, err.msg);
}

static void compile(void)
{
	policy_free(&pol);
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
}

static const struct policy_peer *entry_of(const char *name)
{
	const struct cg_peer_def *p = state_peer(&st, name);
	struct cg_addr_key k;

	memcpy(k.addr, &p->ip.s_addr, 4);
	return policy_find_peer(&pol, &k);
}

/* The compiled ports from one peer's class to another's, or NULL. */
static const struct cg_rule_ports *pair(const char *from, const char *to)
{
	struct cg_rule_key k = {
		.src_class = entry_of(from)->value.rule_class,
		.dst_class = entry_of(to)->value.rule_class,
	};
	const struct policy_rule *r = policy_find_rule(&pol, &k);

	return r ? &r->value : NULL;
}

static void fleet(void)
{
	peer("eng1", 1, "[\"engineers\"]");
	peer("eng2", 2, "[\"engineers\"]");
	peer("dev1", 3, "[\"devices\"]");
	peer("dev2", 4, "[\"devices\", \"cameras\"]");
	peer("loner", 5, "[]");
}

START_TEST(test_rejects)
{
	fleet();
	put_ok("base", "{\"from\": \"group:a\", \"to\": \"group:b\", "
		       "\"ports\": [\"any\"]}");
	REJECTS(put("x", "{\"from\": \"peer:nosuch\", \"to\": \"group:b\", "
			 "\"ports\": [\"any\"]}"),
		400, "from");
	REJECTS(put("x", "{\"from\": \"group:a\", \"to\": \"cell:nosuch\", "
			 "\"ports\": [\"any\"]}"),
		400, "to");
	REJECTS(put("x", "{\"from\": \"group:a\", \"to\": \"service:nosuch\","
			 " \"ports\": [\"any\"]}"),
		400, "to");
	REJECTS(put("x", "{\"from\": \"service:x\", \"to\": \"group:b\", "
			 "\"ports\": [\"any\"]}"),
		400, "from");
	REJECTS(put("x", "{\"from\": \"team:a\", \"to\": \"group:b\", "
			 "\"ports\": [\"any\"]}"),
		400, "from");
	REJECTS(put("x", "{\"from\": \"group:\", \"to\": \"group:b\", "
			 "\"ports\": [\"any\"]}"),
		400, "from");
	REJECTS(put("x", "{\"from\": \"group:a\", \"to\": \"group:b\", "
			 "\"ports\": [\"tcp/0\"]}"),
		400, "ports[0]");
	REJECTS(put("x", "{\"from\": \"group:a\", \"to\": \"group:b\", "
			 "\"ports\": [\"tcp/22\", \"tcp/70000\"]}"),
		400, "ports[1]");
	REJECTS(put("x", "{\"from\": \"group:a\", \"to\": \"group:b\", "
			 "\"ports\": [\"tcp/90-80\"]}"),
		400, "ports[0]");
	REJECTS(put("x", "{\"from\": \"group:a\", \"to\": \"group:b\", "
			 "\"ports\": [\"sctp/1\"]}"),
		400, "ports[0]");
	REJECTS(put("x", "{\"from\": \"group:a\", \"to\": \"group:b\", "
			 "\"ports\": [\"tcp/22x\"]}"),
		400, "ports[0]");
	REJECTS(put("x", "{\"from\": \"group:a\", \"to\": \"group:b\", "
			 "\"ports\": []}"),
		400, "ports");
	REJECTS(put("x", "{\"from\": \"group:a\", \"to\": \"group:b\"}"), 400,
		"ports");
	REJECTS(put("x", "{\"from\": \"group:a\", \"ports\": [\"any\"]}"), 400,
		"to");
	REJECTS(put("x", "{\"from\": \"group:a\", \"to\": \"group:b\", "
			 "\"ports\": [\"any\"], \"extra\": 1}"),
		400, "extra");
	REJECTS(put("x", "{\"name\": \"y\", \"from\": \"group:a\", \"to\": "
			 "\"group:b\", \"ports\": [\"any\"]}"),
		400, "name");
	/* A failed replace keeps the rule as it was. */
	REJECTS(put("base", "{\"from\": \"group:a\", \"to\": \"group:b\", "
			    "\"ports\": [\"udp/x\"]}"),
		400, "ports[0]");
	ck_assert_uint_eq(st.n_rules, 1);
}
END_TEST

START_TEST(test_unknown_group_matches_nobody)
{
	fleet();
	put_ok("r", "{\"from\": \"group:nobody\", \"to\": \"group:devices\", "
		    "\"ports\": [\"any\"]}");
	compile();
	ck_assert_uint_eq(pol.n_rules, 0);
}
END_TEST

START_TEST(test_group_pairs)
{
	const struct cg_rule_ports *p;

	fleet();
	put_ok("eng-dev", "{\"from\": \"group:engineers\", \"to\": "
			  "\"group:devices\", \"ports\": [\"tcp/22\", "
			  "\"tcp/80\", \"udp/53\", \"icmp\"]}");
	put_ok("eng-dev-2", "{\"from\": \"group:engineers\", \"to\": "
			    "\"group:devices\", \"ports\": [\"tcp/81-90\", "
			    "\"tcp/23\"]}");
	compile();
	/* Peers of one group set share a class; grouped ones have one. */
	ck_assert(entry_of("eng1")->value.rule_class ==
		  entry_of("eng2")->value.rule_class);
	ck_assert(entry_of("dev1")->value.rule_class !=
		  entry_of("dev2")->value.rule_class);
	ck_assert(entry_of("loner")->value.rule_class == 0);
	/* engineers -> {devices}, engineers -> {cameras, devices}. */
	ck_assert_uint_eq(pol.n_rules, 2);
	p = pair("eng1", "dev1");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(pair("eng2", "dev2"));
	/* Direction: the rule names one. */
	ck_assert_ptr_null(pair("dev1", "eng1"));
	ck_assert_ptr_null(pair("dev1", "dev2"));
	/* Merged: icmp, tcp 22-23, tcp 80-90, udp 53. */
	ck_assert_uint_eq(p->n, 4);
	ck_assert_uint_eq(p->port[0].proto, IPPROTO_ICMP);
	ck_assert_uint_eq(p->port[1].proto, IPPROTO_TCP);
	ck_assert_uint_eq(p->port[1].lo, 22);
	ck_assert_uint_eq(p->port[1].hi, 23);
	ck_assert_uint_eq(p->port[2].lo, 80);
	ck_assert_uint_eq(p->port[2].hi, 90);
	ck_assert_uint_eq(p->port[3].proto, IPPROTO_UDP);
	ck_assert_uint_eq(p->port[3].lo, 53);
}
END_TEST

START_TEST(test_any_and_named_peer)
{
	const struct cg_rule_ports *p;
	uint64_t before;

	fleet();
	compile();
	/* No rules: no classes, no lookups. */
	ck_assert(entry_of("eng1")->value.rule_class == 0);
	put_ok("r1", "{\"from\": \"group:engineers\", \"to\": "
		     "\"group:devices\", \"ports\": [\"tcp/22\"]}");
	compile();
	before = entry_of("eng1")->value.rule_class;
	put_ok("r2", "{\"from\": \"peer:eng1\", \"to\": \"peer:loner\", "
		     "\"ports\": [\"tcp/1-100\", \"any\"]}");
	compile();
	/* Named: a class of its own, apart from eng2's. */
	ck_assert(entry_of("eng1")->value.rule_class != before);
	ck_assert(entry_of("eng2")->value.rule_class == before);
	ck_assert(entry_of("loner")->value.rule_class != 0);
	p = pair("eng1", "loner");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->n, 1);
	ck_assert_uint_eq(p->port[0].proto, 0); /* any */
	ck_assert_ptr_null(pair("eng2", "loner"));
	/* eng1 keeps what its group gives. */
	ck_assert_ptr_nonnull(pair("eng1", "dev1"));
	ck_assert_ptr_nonnull(pair("eng2", "dev1"));
	/* A named peer stays while a rule names it. */
	REJECTS(state_delete_peer(&st, "loner", NULL, &err), 409, "name");
}
END_TEST

START_TEST(test_service_rule)
{
	json_object *o = tu_json("{\"endpoints\": [{\"ip\": \"172.20.0.21\", "
				 "\"proto\": \"tcp\", \"port\": 80}]}");
	uint32_t id;

	ck_assert_int_eq(state_put_service(&st, "web", o, &err), 0);
	json_object_put(o);
	id = state_service(&st, "web")->id;
	fleet();
	REJECTS(put("w", "{\"from\": \"group:engineers\", \"to\": "
			 "\"service:web\", \"ports\": [\"tcp/80\"]}"),
		400, "ports");
	put_ok("w", "{\"from\": \"group:engineers\", \"to\": \"service:web\", "
		    "\"ports\": [\"any\"]}");
	compile();
	ck_assert(entry_of("eng1")->value.services[id / 64] &
		  (1ull << (id % 64)));
	ck_assert(!(entry_of("dev1")->value.services[id / 64] &
		    (1ull << (id % 64))));
	/* The service stays while a rule grants it. */
	REJECTS(state_delete_service(&st, "web", &err), 409, "name");
	ck_assert_int_eq(state_delete_rule(&st, "w", NULL, &err), 0);
	ck_assert_int_eq(state_delete_service(&st, "web", &err), 0);
}
END_TEST

START_TEST(test_too_many_ranges)
{
	char body[1024];
	int i, n = 0;

	fleet();
	for (i = 0; i < 2; i++) {
		int k;

		n = snprintf(body, sizeof(body),
			     "{\"from\": \"group:engineers\", \"to\": "
			     "\"group:devices\", \"ports\": [");
		for (k = 0; k < 10; k++)
			n += snprintf(body + n, sizeof(body) - (size_t)n,
				      "%s\"tcp/%d\"", k ? ", " : "",
				      1000 * (i + 1) + 2 * k);
		snprintf(body + n, sizeof(body) - (size_t)n, "]}");
		put_ok(i ? "b" : "a", body);
	}
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(policy_compile_rules(&st, &pol, &err), -E2BIG);
	tu_assert_err(&err, 409, "ports");
	free(pol.rules);
	pol.rules = NULL;
	/* policy_compile fails closed: no pairs, the rest compiled. */
	compile();
	ck_assert_uint_eq(pol.n_rules, 0);
	ck_assert_uint_eq(pol.n_peers, 5);
}
END_TEST

START_TEST(test_groups_field)
{
	json_object *o;
	struct cg_peer_def *p;

	fleet();
	o = tu_json("{\"groups\": [\"b\", \"a\", \"b\"]}");
	ck_assert_int_eq(state_update_peer(&st, "loner", o, NULL, NULL, &err),
			 0);
	json_object_put(o);
	p = state_peer(&st, "loner");
	ck_assert_uint_eq(p->n_groups, 2);
	ck_assert_str_eq(p->groups[0], "a");
	ck_assert_str_eq(p->groups[1], "b");
	o = tu_json("{\"groups\": [\"bad name\"]}");
	REJECTS(state_update_peer(&st, "loner", o, NULL, NULL, &err), 400,
		"groups[0]");
	json_object_put(o);
	o = tu_json("{\"groups\": [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\","
		    "\"8\",\"9\"]}");
	REJECTS(state_update_peer(&st, "loner", o, NULL, NULL, &err), 400,
		"groups");
	json_object_put(o);
	o = tu_json("{\"groups\": []}");
	ck_assert_int_eq(state_update_peer(&st, "loner", o, NULL, NULL, &err),
			 0);
	json_object_put(o);
	ck_assert_uint_eq(state_peer(&st, "loner")->n_groups, 0);
}
END_TEST

/* Rules and groups survive the state file. */
START_TEST(test_state_file_round_trip)
{
	struct cg_state back;
	char *a, *b, *dir = tu_mkdtemp(), path[512];

	fleet();
	put_ok("r", "{\"from\": \"group:engineers\", \"to\": \"peer:dev1\", "
		    "\"ports\": [\"tcp/8000-8100\", \"icmp\"]}");
	snprintf(path, sizeof(path), "%s/state.json", dir);
	ck_assert_int_eq(state_save(&st, path), 0);
	state_init(&back, &cfg);
	ck_assert_int_eq(state_load(&back, path, &err), 0);
	a = state_to_string(&st);
	b = state_to_string(&back);
	ck_assert_str_eq(a, b);
	ck_assert_ptr_nonnull(strstr(a, "\"tcp/8000-8100\""));
	ck_assert_ptr_nonnull(strstr(a, "\"engineers\""));
	free(a);
	free(b);
	state_free(&back);
	tu_rm_r(dir);
	free(dir);
}
END_TEST

/* A linked cell named by a rule gets a class of its own, and the pair
 * from it to the devices. */
START_TEST(test_cell_selector)
{
	char key[WG_KEY_B64_LEN + 1], buf[512];
	uint8_t link_key[LINK_KEY_LEN];
	struct cg_cell_info info;
	struct cg_rule_key k;
	json_object *o;

	fleet();
	tu_key_b64(77, key);
	snprintf(buf, sizeof(buf),
		 "{\"cell_name\": \"office\", \"public_key\": \"%s\", "
		 "\"endpoint\": \"198.51.100.77:51820\", \"vpn_subnet\": "
		 "\"10.0.1.0/24\", \"domain\": \"office.cell\", "
		 "\"version\": 1}",
		 key);
	o = tu_json(buf);
	ck_assert(cell_info_parse(o, &info, NULL, &err));
	json_object_put(o);
	memset(link_key, 7, sizeof(link_key));
	ck_assert_int_eq(state_link_cell(&st, &info, link_key, NULL, &err), 0);
	put_ok("office-dev", "{\"from\": \"cell:office\", \"to\": "
			     "\"group:devices\", \"ports\": [\"tcp/80\"]}");
	compile();
	ck_assert_uint_eq(pol.n_cells, 1);
	ck_assert(pol.cells[0].value.rule_class != 0);
	k.src_class = pol.cells[0].value.rule_class;
	k.dst_class = entry_of("dev1")->value.rule_class;
	ck_assert_ptr_nonnull(policy_find_rule(&pol, &k));
	k.dst_class = entry_of("eng1")->value.rule_class;
	ck_assert_ptr_null(policy_find_rule(&pol, &k));
}
END_TEST

static Suite *rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("rules");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_rejects);
	tcase_add_test(tc, test_unknown_group_matches_nobody);
	tcase_add_test(tc, test_group_pairs);
	tcase_add_test(tc, test_any_and_named_peer);
	tcase_add_test(tc, test_service_rule);
	tcase_add_test(tc, test_too_many_ranges);
	tcase_add_test(tc, test_groups_field);
	tcase_add_test(tc, test_state_file_round_trip);
	tcase_add_test(tc, test_cell_selector);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(rules_suite());
}
