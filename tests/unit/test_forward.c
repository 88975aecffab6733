// SPDX-License-Identifier: MIT
/* Unit tests for port forwards in ctl/state/state_forward.c: every
 * validation rule with its status and field, conflicts, slots, what the
 * policy compiles. Copies, the state file and routes: test_forward_file.c. */
#include "forward_fixture.h"

/* ---- adding ------------------------------------------------------------- */

START_TEST(test_add)
{
	struct cg_forward_def f;
	char *s;

	ck_assert_int_eq(
		add_fwd("{\"id\": \"vm-123-ssh\", \"proto\": \"tcp\", "
			"\"public_port\": 22015, \"target_ip\": \"10.0.0.12\", "
			"\"target_port\": 22, \"allow_from\": "
			"[\"198.51.100.0/24\", \"203.0.113.7/32\"], "
			"\"snat\": \"never\"}",
			&f),
		0);
	ck_assert_str_eq(f.id, "vm-123-ssh");
	ck_assert_uint_eq(f.slot, 0);
	ck_assert_uint_eq(f.proto, IPPROTO_TCP);
	ck_assert_uint_eq(f.public_port, 22015);
	ck_assert_uint_eq(f.target_ip.s_addr, ip("10.0.0.12"));
	ck_assert_uint_eq(f.target_port, 22);
	ck_assert_uint_eq(f.n_allow_from, 2);
	ck_assert_uint_eq(f.allow_from[0].addr.s_addr, ip("198.51.100.0"));
	ck_assert_uint_eq(f.allow_from[0].prefix, 24);
	ck_assert_uint_eq(f.allow_from[1].addr.s_addr, ip("203.0.113.7"));
	ck_assert_uint_eq(f.allow_from[1].prefix, 32);
	ck_assert_int_eq(f.snat, CG_SNAT_NEVER);
	ck_assert_uint_eq(st.n_forwards, 1);
	ck_assert_ptr_eq(state_forward(&st, "vm-123-ssh"), &st.forwards[0]);
	ck_assert_ptr_null(state_forward(&st, "vm-123"));
	s = json_of(&f, false);
	ck_assert_str_eq(s, "{\"id\":\"vm-123-ssh\",\"proto\":\"tcp\","
			    "\"public_port\":22015,\"target_ip\":\"10.0.0.12\","
			    "\"target_port\":22,\"allow_from\":[\"198.51.100.0/"
			    "24\",\"203.0.113.7/32\"],\"snat\":\"never\"}");
	free(s);
	s = json_of(&f, true);
	ck_assert_ptr_nonnull(strstr(s, "\"id\":\"vm-123-ssh\",\"slot\":0,"));
	free(s);
}
END_TEST

START_TEST(test_defaults_and_nulls)
{
	struct cg_forward_def f;
	char *s;

	/* Without allow_from and snat: anyone, auto. A null snat means
	 * absent; a null allow_from is refused (null is no list). */
	ck_assert_int_eq(add_fwd("{\"id\": \"web\", \"proto\": \"udp\", "
				 "\"public_port\": 8080, \"target_ip\": "
				 "\"172.20.0.30\", \"target_port\": 80, "
				 "\"snat\": null}",
				 &f),
			 0);
	ck_assert_uint_eq(f.proto, IPPROTO_UDP);
	ck_assert_uint_eq(f.n_allow_from, 0);
	ck_assert_int_eq(f.snat, CG_SNAT_AUTO);
	s = json_of(&f, false);
	ck_assert_str_eq(s,
			 "{\"id\":\"web\",\"proto\":\"udp\",\"public_port\":"
			 "8080,\"target_ip\":\"172.20.0.30\",\"target_port\":"
			 "80,\"allow_from\":[],\"snat\":\"auto\"}");
	free(s);
	/* An empty allow_from is anyone too. */
	must_add("web2", "tcp", 8080, "172.20.0.30", ", \"allow_from\": []");
	ck_assert_uint_eq(state_forward(&st, "web2")->n_allow_from, 0);
}
END_TEST

START_TEST(test_slots)
{
	struct cg_forward_def removed;
	size_t i;
	const char *order[] = { "c", "d", "e" };

	ck_assert_uint_eq(must_add("a", "tcp", 1001, "10.0.0.2", NULL), 0);
	ck_assert_uint_eq(must_add("b", "tcp", 1002, "10.0.0.2", NULL), 1);
	ck_assert_uint_eq(must_add("c", "tcp", 1003, "10.0.0.2", NULL), 2);
	ck_assert_int_eq(del("b", &removed), 0);
	ck_assert_str_eq(removed.id, "b");
	ck_assert_uint_eq(removed.slot, 1);
	ck_assert_uint_eq(removed.public_port, 1002);
	/* The lowest free slot is reused. */
	ck_assert_uint_eq(must_add("d", "tcp", 1002, "10.0.0.2", NULL), 1);
	ck_assert_int_eq(del("a", NULL), 0);
	ck_assert_uint_eq(must_add("e", "tcp", 1001, "10.0.0.2", NULL), 0);
	/* The others keep their slots, and the order they were added in. */
	ck_assert_uint_eq(st.n_forwards, 3);
	for (i = 0; i < ARRAY_SIZE(order); i++)
		ck_assert_str_eq(st.forwards[i].id, order[i]);
	ck_assert_uint_eq(state_forward(&st, "c")->slot, 2);
	ck_assert_uint_eq(state_forward(&st, "d")->slot, 1);
	ck_assert_uint_eq(state_forward(&st, "e")->slot, 0);
}
END_TEST

START_TEST(test_slots_exhausted)
{
	unsigned int i;
	char id[16];

	for (i = 0; i < CG_MAX_FORWARDS; i++) {
		snprintf(id, sizeof(id), "f%u", i);
		ck_assert_uint_eq(must_add(id, "tcp", 1 + i, "10.0.0.2", NULL),
				  i);
	}
	REJECTS(add("one-more", "udp", 1, "10.0.0.2", NULL), 409, "id");
	ck_assert_ptr_nonnull(strstr(err.msg, "1024"));
	ck_assert_int_eq(del("f700", NULL), 0);
	ck_assert_uint_eq(must_add("one-more", "udp", 1, "10.0.0.2", NULL),
			  700);
}
END_TEST

START_TEST(test_delete)
{
	struct cg_forward_def removed = { .slot = 99 };

	REJECTS(del("nosuch", &removed), 404, "id");
	ck_assert_uint_eq(removed.slot, 99); /* untouched */
	must_add("a", "tcp", 2222, "10.0.0.2", NULL);
	REJECTS(del("A", NULL), 404, "id");
	ck_assert_int_eq(del("a", &removed), 0);
	ck_assert_uint_eq(st.n_forwards, 0);
	ck_assert_ptr_null(state_forward(&st, "a"));
	REJECTS(del("a", NULL), 404, "id");
	/* Its port is free again. */
	must_add("b", "tcp", 2222, "10.0.0.2", NULL);
}
END_TEST

/* Forwards are listed in the order they were added, deletions or not;
 * the 404 names the forward. */
START_TEST(test_delete_keeps_order)
{
	must_add("a", "tcp", 2222, "10.0.0.2", NULL);
	must_add("b", "tcp", 2223, "10.0.0.2", NULL);
	must_add("c", "tcp", 2224, "10.0.0.2", NULL);
	must_add("d", "tcp", 2225, "10.0.0.2", NULL);
	ck_assert_int_eq(del("b", NULL), 0);
	ck_assert_uint_eq(st.n_forwards, 3);
	ck_assert_str_eq(st.forwards[0].id, "a");
	ck_assert_str_eq(st.forwards[1].id, "c");
	ck_assert_str_eq(st.forwards[2].id, "d");
	ck_assert_int_eq(del("d", NULL), 0);
	ck_assert_str_eq(st.forwards[1].id, "c");
	REJECTS(del("b", NULL), 404, "id");
	ck_assert_str_eq(err.msg, "no forward 'b'");
}
END_TEST

/* ---- validation ------------------------------------------------------------ */

START_TEST(test_id)
{
	char long_id[CG_NAME_MAX + 2];

	REJECTS_BODY("{\"proto\": \"tcp\", \"public_port\": 1, \"target_ip\": "
		     "\"10.0.0.2\", \"target_port\": 1}",
		     400, "id");
	REJECTS(add("", "tcp", 1, "10.0.0.2", NULL), 400, "id");
	REJECTS(add("a b", "tcp", 1, "10.0.0.2", NULL), 400, "id");
	REJECTS(add("a/b", "tcp", 1, "10.0.0.2", NULL), 400, "id");
	REJECTS(add("..\\/x", "tcp", 1, "10.0.0.2", NULL), 400, "id");
	REJECTS_BODY("{\"id\": 7, \"proto\": \"tcp\", \"public_port\": 1, "
		     "\"target_ip\": \"10.0.0.2\", \"target_port\": 1}",
		     400, "id");
	memset(long_id, 'x', CG_NAME_MAX + 1);
	long_id[CG_NAME_MAX + 1] = '\0';
	REJECTS(add(long_id, "tcp", 1, "10.0.0.2", NULL), 400, "id");
	/* The id is checked before anything else is looked at. */
	REJECTS_BODY("{\"id\": \"a b\"}", 400, "id");
	long_id[CG_NAME_MAX] = '\0';
	must_add(long_id, "tcp", 1, "10.0.0.2", NULL);
	must_add("A.b_c-9", "tcp", 2, "10.0.0.2", NULL);
	/* Unique: 409 whatever else the body says. */
	REJECTS(add("A.b_c-9", "udp", 3, "172.20.0.9", NULL), 409, "id");
	ck_assert_ptr_nonnull(strstr(err.msg, "A.b_c-9"));
}
END_TEST

START_TEST(test_proto)
{
	static const char *const bad[] = { "icmp", "any", "TCP", "sctp", "" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		REJECTS(add("a", bad[i], 1, "10.0.0.2", NULL), 400, "proto");
	REJECTS_BODY("{\"id\": \"a\", \"proto\": 6, \"public_port\": 1, "
		     "\"target_ip\": \"10.0.0.2\", \"target_port\": 1}",
		     400, "proto");
	REJECTS_BODY("{\"id\": \"a\", \"public_port\": 1, \"target_ip\": "
		     "\"10.0.0.2\", \"target_port\": 1}",
		     400, "proto");
	ck_assert_uint_eq(st.n_forwards, 0);
}
END_TEST

START_TEST(test_ports)
{
	static const char *const bad[] = { "0",	  "65536", "-1",  "\"22\"",
					   "1.5", "true",  "null" };
	char body[512];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(body, sizeof(body),
			 "{\"id\": \"a\", \"proto\": \"tcp\", \"public_port\": "
			 "%s, \"target_ip\": \"10.0.0.2\", \"target_port\": 1}",
			 bad[i]);
		REJECTS_BODY(body, 400, "public_port");
		snprintf(body, sizeof(body),
			 "{\"id\": \"a\", \"proto\": \"tcp\", \"public_port\": "
			 "1, \"target_ip\": \"10.0.0.2\", \"target_port\": %s}",
			 bad[i]);
		REJECTS_BODY(body, 400, "target_port");
	}
	REJECTS_BODY("{\"id\": \"a\", \"proto\": \"tcp\", \"target_ip\": "
		     "\"10.0.0.2\", \"target_port\": 1}",
		     400, "public_port");
	REJECTS_BODY("{\"id\": \"a\", \"proto\": \"tcp\", \"public_port\": 1, "
		     "\"target_ip\": \"10.0.0.2\"}",
		     400, "target_port");
	ck_assert_int_eq(add_fwd("{\"id\": \"lo\", \"proto\": \"tcp\", "
				 "\"public_port\": 1, \"target_ip\": "
				 "\"10.0.0.2\", \"target_port\": 65535}",
				 NULL),
			 0);
	ck_assert_int_eq(add_fwd("{\"id\": \"hi\", \"proto\": \"tcp\", "
				 "\"public_port\": 65535, \"target_ip\": "
				 "\"10.0.0.2\", \"target_port\": 1}",
				 NULL),
			 0);
	ck_assert_uint_eq(state_forward(&st, "lo")->target_port, 65535);
	ck_assert_uint_eq(state_forward(&st, "hi")->public_port, 65535);
}
END_TEST

START_TEST(test_public_port_conflicts)
{
	must_add("ssh", "tcp", 2222, "10.0.0.2", NULL);
	REJECTS(add("ssh2", "tcp", 2222, "172.20.0.5", NULL), 409,
		"public_port");
	ck_assert_ptr_nonnull(strstr(err.msg, "'ssh'"));
	/* The same number on the other protocol is another port. */
	must_add("dns", "udp", 2222, "10.0.0.2", NULL);
	REJECTS(add("dns2", "udp", 2222, "10.0.0.3", NULL), 409, "public_port");
	ck_assert_ptr_nonnull(strstr(err.msg, "'dns'"));
	/* WireGuard's port, on udp only. */
	REJECTS(add("wg", "udp", 51820, "10.0.0.2", NULL), 409, "public_port");
	ck_assert_ptr_nonnull(strstr(err.msg, "WireGuard"));
	must_add("wg", "tcp", 51820, "10.0.0.2", NULL);
	/* The pairing listener's port (every address, so the uplink's),
	 * on tcp only; the sync listener is on the wg address alone. */
	ck_assert_uint_eq(cfg.sync.pairing_port, 8472);
	REJECTS(add("pair", "tcp", 8472, "10.0.0.2", NULL), 409, "public_port");
	ck_assert_ptr_nonnull(strstr(err.msg, "sync.pairing_port"));
	must_add("pair", "udp", 8472, "10.0.0.2", NULL);
	must_add("sync", "tcp", cfg.sync.port, "10.0.0.2", NULL);
	/* The API's port only when it listens on every address. */
	ck_assert_uint_eq(cfg.api.listen_port, 8470);
	cfg.api.listen_addr.s_addr = htonl(INADDR_ANY);
	REJECTS(add("api", "tcp", 8470, "10.0.0.2", NULL), 409, "public_port");
	ck_assert_ptr_nonnull(strstr(err.msg, "api.listen"));
	cfg.api.listen_addr.s_addr = htonl(INADDR_LOOPBACK);
	must_add("api", "tcp", 8470, "10.0.0.2", NULL);
	/* A duplicate id is named before a duplicate port. */
	REJECTS(add("ssh", "tcp", 2222, "10.0.0.2", NULL), 409, "id");
}
END_TEST

START_TEST(test_target_ip)
{
	static const char *const good[] = {
		"10.0.0.2",	"10.0.0.254", /* wg subnet */
		"172.20.0.21",	"172.20.0.254", /* bridge */
		"192.168.50.1", "192.168.50.7", /* local_networks */
	};
	static const char *const bad[] = {
		"10.0.0.1", /* the router's wg address */
		"10.0.0.0",	   "10.0.0.255",   "172.20.0.0",
		"172.20.0.255",	   "192.168.50.0", "192.168.50.255",
		"10.0.1.2",	   "172.20.1.2",   "198.51.100.7",
		"127.0.0.1",	   "224.0.0.1",	   "0.0.0.0",
		"255.255.255.255", "10.0.0",	   "10.0.0.2/32",
		" 10.0.0.2",	   "host.example", "",
	};
	char id[16];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		snprintf(id, sizeof(id), "g%zu", i);
		must_add(id, "tcp", 100 + (unsigned int)i, good[i], NULL);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		REJECTS(add("x", "tcp", 1, bad[i], NULL), 400, "target_ip");
		ck_assert_msg(err.msg[0], "%s", bad[i]);
	}
	REJECTS(add("x", "tcp", 1, "10.0.0.1", NULL), 400, "target_ip");
	ck_assert_ptr_nonnull(strstr(err.msg, "router"));
	REJECTS_BODY("{\"id\": \"x\", \"proto\": \"tcp\", \"public_port\": 1, "
		     "\"target_ip\": 167772162, \"target_port\": 1}",
		     400, "target_ip");
	REJECTS_BODY("{\"id\": \"x\", \"proto\": \"tcp\", \"public_port\": 1, "
		     "\"target_port\": 1}",
		     400, "target_ip");
}
END_TEST

/* Without a bridge subnet (none configured, none read from the interface)
 * the bridge is not a network forwards may reach. */
START_TEST(test_target_without_bridge_subnet)
{
	cfg.bridge.has_subnet = false;
	REJECTS(add("x", "tcp", 1, "172.20.0.21", NULL), 400, "target_ip");
	must_add("x", "tcp", 1, "10.0.0.2", NULL);
}
END_TEST

START_TEST(test_allow_from)
{
	static const char *const bad[] = {
		"\"10.0.0.1/24\"", /* host bits */
		"\"10.0.0.0\"",
		"\"10.0.0.0/33\"",
		"\"10.0.0.0/\"",
		"\"10.0.0/8\"",
		"\"/8\"",
		"\"any\"",
		"7",
		"null",
		"[]",
	};
	char extra[1024];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(extra, sizeof(extra),
			 ", \"allow_from\": [\"198.51.100.0/24\", %s]", bad[i]);
		REJECTS(add("x", "tcp", 1, "10.0.0.2", extra), 400,
			"allow_from[1]");
	}
	REJECTS(add("x", "tcp", 1, "10.0.0.2",
		    ", \"allow_from\": \"198.51.100.0/24\""),
		400, "allow_from");
	REJECTS(add("x", "tcp", 1, "10.0.0.2", ", \"allow_from\": null"), 400,
		"allow_from");
	REJECTS(add("x", "tcp", 1, "10.0.0.2", ", \"allow_from\": {}"), 400,
		"allow_from");
	/* A repeated network is a mistake. */
	REJECTS(add("x", "tcp", 1, "10.0.0.2",
		    ", \"allow_from\": [\"198.51.100.0/24\", \"10.0.0.0/8\", "
		    "\"198.51.100.0/24\"]"),
		400, "allow_from[2]");
	ck_assert_ptr_nonnull(strstr(err.msg, "allow_from[0]"));
	/* At most CG_MAX_ALLOW_FROM. */
	REJECTS(add("x", "tcp", 1, "10.0.0.2",
		    allow_list(extra, sizeof(extra), CG_MAX_ALLOW_FROM + 1)),
		400, "allow_from");
	must_add("x", "tcp", 1, "10.0.0.2",
		 allow_list(extra, sizeof(extra), CG_MAX_ALLOW_FROM));
	ck_assert_uint_eq(state_forward(&st, "x")->n_allow_from,
			  CG_MAX_ALLOW_FROM);
	/* Overlapping networks and everything (0.0.0.0/0) are fine. */
	must_add("y", "tcp", 2, "10.0.0.2",
		 ", \"allow_from\": [\"0.0.0.0/0\", \"10.0.0.0/8\", "
		 "\"10.1.0.0/16\"]");
}
END_TEST

/* cg_fwd_allow holds the networks of every forward. */
START_TEST(test_allow_from_total)
{
	char extra[1024], id[16];
	unsigned int i;

	allow_list(extra, sizeof(extra), CG_MAX_ALLOW_FROM);
	for (i = 0; i < CG_MAX_ALLOW_ENTRIES / CG_MAX_ALLOW_FROM; i++) {
		snprintf(id, sizeof(id), "f%u", i);
		must_add(id, "tcp", 1 + i, "10.0.0.2", extra);
	}
	REJECTS(add("more", "tcp", 9999, "10.0.0.2",
		    ", \"allow_from\": [\"10.0.0.0/8\"]"),
		409, "allow_from");
	/* One without a list still fits. */
	must_add("more", "tcp", 9999, "10.0.0.2", NULL);
}
END_TEST

START_TEST(test_snat)
{
	static const char *const bad[] = { "\"on\"", "\"AUTO\"", "\"\"", "true",
					   "1" };
	char extra[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(extra, sizeof(extra), ", \"snat\": %s", bad[i]);
		REJECTS(add("x", "tcp", 1, "10.0.0.2", extra), 400, "snat");
	}
	/* always rewrites sources on wg0: only for targets over WireGuard. */
	REJECTS(add("x", "tcp", 1, "172.20.0.21", ", \"snat\": \"always\""),
		400, "snat");
	ck_assert_ptr_nonnull(strstr(err.msg, "WireGuard"));
	REJECTS(add("x", "tcp", 1, "192.168.50.7", ", \"snat\": \"always\""),
		400, "snat");
	must_add("wg-always", "tcp", 1, "10.0.0.2", ", \"snat\": \"always\"");
	must_add("wg-auto", "tcp", 2, "10.0.0.2", ", \"snat\": \"auto\"");
	must_add("wg-never", "tcp", 3, "10.0.0.2", ", \"snat\": \"never\"");
	must_add("br-auto", "tcp", 4, "172.20.0.21", NULL);
	must_add("br-never", "tcp", 5, "172.20.0.21", ", \"snat\": \"never\"");
	must_add("lan-auto", "tcp", 6, "192.168.50.7", NULL);
	ck_assert_int_eq(state_forward(&st, "wg-always")->snat, CG_SNAT_ALWAYS);
	ck_assert_int_eq(state_forward(&st, "wg-never")->snat, CG_SNAT_NEVER);
	ck_assert_int_eq(state_forward(&st, "br-auto")->snat, CG_SNAT_AUTO);
	/* What the API shows as snat_active. */
	ck_assert(policy_forward_snat(&cfg, state_forward(&st, "wg-always")));
	ck_assert(policy_forward_snat(&cfg, state_forward(&st, "wg-auto")));
	ck_assert(!policy_forward_snat(&cfg, state_forward(&st, "wg-never")));
	ck_assert(!policy_forward_snat(&cfg, state_forward(&st, "br-auto")));
	ck_assert(!policy_forward_snat(&cfg, state_forward(&st, "br-never")));
	ck_assert(!policy_forward_snat(&cfg, state_forward(&st, "lan-auto")));
}
END_TEST

START_TEST(test_unknown_fields)
{
	REJECTS(add("x", "tcp", 1, "10.0.0.2", ", \"bogus\": 1"), 400, "bogus");
	/* The slot is the controller's, never the client's. */
	REJECTS(add("x", "tcp", 1, "10.0.0.2", ", \"slot\": 3"), 400, "slot");
	/* What GET adds cannot be sent back. */
	REJECTS(add("x", "tcp", 1, "10.0.0.2", ", \"snat_active\": true"), 400,
		"snat_active");
	REJECTS(add("x", "tcp", 1, "10.0.0.2", ", \"counters\": {}"), 400,
		"counters");
	REJECTS(add("x", "tcp", 1, "10.0.0.2", ", \"name\": \"x\""), 400,
		"name");
	ck_assert_uint_eq(st.n_forwards, 0);
}
END_TEST

/* What policy_compile makes of forwards: slots are the dataplane's ids. */
START_TEST(test_compiled)
{
	struct policy pol, only;

	must_add("a", "tcp", 2222, "10.0.0.2",
		 ", \"allow_from\": [\"198.51.100.0/24\"]");
	must_add("b", "udp", 5353, "172.20.0.53", NULL);
	ck_assert_int_eq(del("a", NULL), 0);
	must_add("c", "tcp", 443, "10.0.0.3",
		 ", \"allow_from\": [\"203.0.113.0/24\", \"192.0.2.0/24\"]");
	ck_assert_int_eq(policy_compile(&st, &cfg, &pol), 0);
	ck_assert_uint_eq(pol.n_forwards, 2);
	ck_assert_uint_eq(pol.forwards[0].key.port, 5353);
	ck_assert_uint_eq(pol.forwards[0].value.fwd_id, 1);
	ck_assert_uint_eq(pol.forwards[0].value.snat_at_wg, 0);
	ck_assert_uint_eq(pol.forwards[1].key.port, 443);
	ck_assert_uint_eq(pol.forwards[1].value.fwd_id, 0);
	ck_assert_uint_eq(pol.forwards[1].value.snat_at_wg, 1);
	ck_assert_uint_eq(pol.forwards[1].value.has_allow_from, 1);
	ck_assert_uint_eq(pol.n_fwd_allow, 2);
	/* The forwards alone (what a forward's change writes) compile the
	 * same entries. */
	ck_assert_int_eq(policy_compile_forwards(&st, &cfg, &only), 0);
	ck_assert_uint_eq(only.n_forwards, pol.n_forwards);
	ck_assert_uint_eq(only.n_fwd_allow, pol.n_fwd_allow);
	ck_assert_mem_eq(only.forwards, pol.forwards,
			 pol.n_forwards * sizeof(*pol.forwards));
	ck_assert_mem_eq(only.fwd_allow, pol.fwd_allow,
			 pol.n_fwd_allow * sizeof(*pol.fwd_allow));
	ck_assert_uint_eq(only.n_peers, 0);
	policy_free(&only);
	policy_free(&pol);
}
END_TEST

static Suite *forward_suite(void)
{
	Suite *s = suite_create("forward");
	TCase *add_tc = tcase_create("add");
	TCase *valid = tcase_create("validation");

	tcase_add_checked_fixture(add_tc, setup, teardown);
	tcase_add_checked_fixture(valid, setup, teardown);
	tcase_set_timeout(add_tc, 30);
	tcase_set_timeout(valid, 30);
	tcase_add_test(add_tc, test_add);
	tcase_add_test(add_tc, test_defaults_and_nulls);
	tcase_add_test(add_tc, test_slots);
	tcase_add_test(add_tc, test_slots_exhausted);
	tcase_add_test(add_tc, test_delete);
	tcase_add_test(add_tc, test_delete_keeps_order);
	tcase_add_test(add_tc, test_compiled);
	tcase_add_test(valid, test_id);
	tcase_add_test(valid, test_proto);
	tcase_add_test(valid, test_ports);
	tcase_add_test(valid, test_public_port_conflicts);
	tcase_add_test(valid, test_target_ip);
	tcase_add_test(valid, test_target_without_bridge_subnet);
	tcase_add_test(valid, test_allow_from);
	tcase_add_test(valid, test_allow_from_total);
	tcase_add_test(valid, test_snat);
	tcase_add_test(valid, test_unknown_fields);
	suite_add_tcase(s, add_tc);
	suite_add_tcase(s, valid);
	return s;
}

int main(void)
{
	return tu_run(forward_suite());
}
