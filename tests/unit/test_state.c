// SPDX-License-Identifier: MIT
/* Unit tests for ctl/state/state.c: services and their ids (peers in
 * test_state_peer.c, the state file in test_state_file.c). */
#include "state_fixture.h"

/* ---- services ------------------------------------------------------------ */

START_TEST(test_service_put_ids)
{
	const struct cg_service_def *svc;

	three_services();
	ck_assert_uint_eq(st.n_services, 3);
	svc = state_service(&st, "calendar");
	ck_assert_ptr_nonnull(svc);
	ck_assert_uint_eq(svc->id, 0);
	ck_assert_str_eq(svc->name, "calendar");
	ck_assert_uint_eq(svc->n_endpoints, 1);
	ck_assert_uint_eq(svc->endpoints[0].ip.s_addr, ip("172.20.0.21"));
	ck_assert_uint_eq(svc->endpoints[0].proto, IPPROTO_TCP);
	ck_assert_uint_eq(svc->endpoints[0].port, 80);
	ck_assert_uint_eq(svc->n_dnat, 1);
	ck_assert_uint_eq(svc->dnat[0].proto, IPPROTO_TCP);
	ck_assert_uint_eq(svc->dnat[0].port, 5232);
	ck_assert_uint_eq(svc->dnat[0].to_ip.s_addr, ip("172.20.0.21"));
	ck_assert_uint_eq(svc->dnat[0].to_port, 5232);
	svc = state_service(&st, "files");
	ck_assert_ptr_nonnull(svc);
	ck_assert_uint_eq(svc->id, 1);
	ck_assert_uint_eq(svc->endpoints[0].proto, 0);
	ck_assert_uint_eq(svc->endpoints[0].port, 0);
	ck_assert_uint_eq(svc->n_dnat, 0);
	svc = state_service(&st, "mail");
	ck_assert_ptr_nonnull(svc);
	ck_assert_uint_eq(svc->id, 2);
	ck_assert_uint_eq(svc->n_endpoints, 2);
	ck_assert_uint_eq(svc->endpoints[1].port, 993);
	ck_assert_ptr_eq(state_service_by_id(&st, 2), svc);
	ck_assert_ptr_null(state_service(&st, "web"));
	ck_assert_ptr_null(state_service_by_id(&st, 3));
}
END_TEST

START_TEST(test_service_replace_keeps_id)
{
	const struct cg_service_def *svc;

	three_services();
	/* Replace files: other endpoints, a dnat, same id. */
	must_put_svc("files",
		     "{\"endpoints\": [{\"ip\": \"172.20.0.30\", \"proto\": "
		     "\"udp\", \"port\": 53}], \"dnat\": [{\"proto\": \"udp\","
		     " \"port\": 53, \"to_ip\": \"172.20.0.30\", \"to_port\": "
		     "5353}]}");
	ck_assert_uint_eq(st.n_services, 3);
	svc = state_service(&st, "files");
	ck_assert_uint_eq(svc->id, 1);
	ck_assert_uint_eq(svc->n_endpoints, 1);
	ck_assert_uint_eq(svc->endpoints[0].ip.s_addr, ip("172.20.0.30"));
	ck_assert_uint_eq(svc->endpoints[0].proto, IPPROTO_UDP);
	ck_assert_uint_eq(svc->endpoints[0].port, 53);
	ck_assert_uint_eq(svc->n_dnat, 1);
	ck_assert_uint_eq(svc->dnat[0].to_port, 5353);
	/* Replacing with its own endpoints is no conflict with itself. */
	must_put_svc("calendar", CALENDAR);
	ck_assert_uint_eq(state_service(&st, "calendar")->id, 0);
	/* The old endpoint of files is free again. */
	must_put_svc("web", "{\"endpoints\": [{\"ip\": \"172.20.0.22\", "
			    "\"proto\": \"tcp\", \"port\": 80}]}");
	ck_assert_uint_eq(state_service(&st, "web")->id, 3);
}
END_TEST

START_TEST(test_service_name)
{
	char name[80];

	three_services();
	REJECTS(put_svc("calendar", "{\"name\": \"files\", \"endpoints\": "
				    "[{\"ip\": \"172.20.0.50\", \"proto\": "
				    "\"tcp\"}]}"),
		400, "name");
	REJECTS(put_svc("a b", "{\"endpoints\": [{\"ip\": \"172.20.0.50\", "
			       "\"proto\": \"tcp\"}]}"),
		400, "name");
	REJECTS(put_svc("", "{\"endpoints\": [{\"ip\": \"172.20.0.50\", "
			    "\"proto\": \"tcp\"}]}"),
		400, "name");
	memset(name, 's', 65);
	name[65] = '\0';
	REJECTS(put_svc(name, "{\"endpoints\": [{\"ip\": \"172.20.0.50\", "
			      "\"proto\": \"tcp\"}]}"),
		400, "name");
	REJECTS(put_svc("web", "{\"name\": 1, \"endpoints\": [{\"ip\": "
			       "\"172.20.0.50\", \"proto\": \"tcp\"}]}"),
		400, "name");
	/* A name given empty is compared too, not ignored (fuzzing). */
	REJECTS(put_svc("web", "{\"name\": \"\", \"endpoints\": [{\"ip\": "
			       "\"172.20.0.50\", \"proto\": \"tcp\"}]}"),
		400, "name");
	name[64] = '\0';
	must_put_svc(name, "{\"endpoints\": [{\"ip\": \"172.20.0.50\", "
			   "\"proto\": \"tcp\"}]}");
	ck_assert_ptr_nonnull(state_service(&st, name));
}
END_TEST

/* A dnat with an IPv6 to_ip (issue 17): exposed on the wg address6,
 * beside IPv4's on the same port; a repeat within the family, or a
 * special address, refused. */
START_TEST(test_service_dnat6)
{
	const struct cg_service_def *svc;
	struct in6_addr a6;

	three_services();
	must_put_svc("web", "{\"dnat\": [{\"proto\": \"tcp\", \"port\": 80, "
			    "\"to_ip\": \"172.20.0.30\", \"to_port\": 80}, "
			    "{\"proto\": \"tcp\", \"port\": 80, \"to_ip\": "
			    "\"fd20::30\", \"to_port\": 8080}]}");
	svc = state_service(&st, "web");
	ck_assert_ptr_nonnull(svc);
	ck_assert_uint_eq(svc->n_dnat, 2);
	ck_assert(!svc->dnat[0].v6);
	ck_assert(svc->dnat[1].v6);
	ck_assert(parse_ipv6("fd20::30", &a6));
	ck_assert_mem_eq(&svc->dnat[1].to_ip6, &a6, 16);
	ck_assert_uint_eq(svc->dnat[1].to_port, 8080);
#define DN(x) "{\"dnat\": [" x "]}"
	REJECTS(put_svc("web2",
			DN("{\"proto\": \"tcp\", \"port\": 81, "
			   "\"to_ip\": \"fd20::31\", \"to_port\": 81}, "
			   "{\"proto\": \"tcp\", \"port\": 81, "
			   "\"to_ip\": \"fd20::32\", \"to_port\": 81}")),
		400, "dnat[1]");
	REJECTS(put_svc("web2", DN("{\"proto\": \"tcp\", \"port\": 81, "
				   "\"to_ip\": \"fe80::1\", \"to_port\": 81}")),
		400, "dnat[0].to_ip");
	REJECTS(put_svc("web2", DN("{\"proto\": \"tcp\", \"port\": 81, "
				   "\"to_ip\": \"ff02::1\", \"to_port\": 81}")),
		400, "dnat[0].to_ip");
	/* Another service's port of the same family: a conflict. */
	REJECTS(put_svc("web2",
			DN("{\"proto\": \"tcp\", \"port\": 80, "
			   "\"to_ip\": \"fd20::33\", \"to_port\": 80}")),
		409, "dnat");
#undef DN
	ck_assert_ptr_null(state_service(&st, "web2"));
}
END_TEST

START_TEST(test_service_invalid_endpoints)
{
	three_services();
#define EP(x) "{\"endpoints\": [" x "]}"
	REJECTS(put_svc("web", EP("{\"ip\": \"300.1.1.1\", \"proto\": "
				  "\"tcp\", \"port\": 80}")),
		400, "endpoints[0].ip");
	REJECTS(put_svc("web", EP("{\"ip\": \"0.0.0.0\", \"proto\": \"tcp\"}")),
		400, "endpoints[0].ip");
	REJECTS(put_svc("web",
			EP("{\"ip\": \"224.0.0.1\", \"proto\": \"udp\"}")),
		400, "endpoints[0].ip");
	REJECTS(put_svc("web", EP("{\"ip\": \"239.255.255.250\", \"proto\": "
				  "\"udp\"}")),
		400, "endpoints[0].ip");
	REJECTS(put_svc("web", EP("{\"ip\": \"255.255.255.255\", \"proto\": "
				  "\"udp\"}")),
		400, "endpoints[0].ip");
	REJECTS(put_svc("web",
			EP("{\"ip\": \"172.20.0.40\", \"proto\": \"tcp\"}, "
			   "{\"ip\": \"172.20\", \"proto\": \"tcp\"}")),
		400, "endpoints[1].ip");
	REJECTS(put_svc("web", EP("{\"proto\": \"tcp\"}")), 400,
		"endpoints[0].ip");
	REJECTS(put_svc("web", EP("{\"ip\": \"172.20.0.40\", \"proto\": "
				  "\"sctp\", \"port\": 80}")),
		400, "endpoints[0].proto");
	REJECTS(put_svc("web", EP("{\"ip\": \"172.20.0.40\"}")), 400,
		"endpoints[0].proto");
	REJECTS(put_svc("web", EP("{\"ip\": \"172.20.0.40\", \"proto\": "
				  "\"tcp\", \"port\": 70000}")),
		400, "endpoints[0].port");
	REJECTS(put_svc("web", EP("{\"ip\": \"172.20.0.40\", \"proto\": "
				  "\"tcp\", \"port\": -1}")),
		400, "endpoints[0].port");
	REJECTS(put_svc("web", EP("{\"ip\": \"172.20.0.40\", \"proto\": "
				  "\"tcp\", \"port\": \"80\"}")),
		400, "endpoints[0].port");
	/* A port with a protocol that has none. */
	REJECTS(put_svc("web", EP("{\"ip\": \"172.20.0.40\", \"proto\": "
				  "\"any\", \"port\": 80}")),
		400, "endpoints[0].port");
	REJECTS(put_svc("web", EP("{\"ip\": \"172.20.0.40\", \"proto\": "
				  "\"icmp\", \"port\": 8}")),
		400, "endpoints[0].port");
	REJECTS(put_svc("web", EP("\"172.20.0.40\"")), 400, "endpoints[0]");
	REJECTS(put_svc("web", EP("{\"ip\": \"172.20.0.40\", \"proto\": "
				  "\"tcp\", \"bogus\": 1}")),
		400, "endpoints[0].bogus");
	REJECTS(put_svc("web", "{\"endpoints\": {}}"), 400, "endpoints");
#undef EP
	/* At most CG_MAX_ENDPOINTS. */
	{
		char body[4096] = "{\"endpoints\": [";
		int i;

		for (i = 0; i <= CG_MAX_ENDPOINTS; i++)
			snprintf(body + strlen(body),
				 sizeof(body) - strlen(body),
				 "%s{\"ip\": \"172.21.0.%d\", \"proto\": "
				 "\"tcp\"}",
				 i ? ", " : "", i + 1);
		strcat(body, "]}");
		REJECTS(put_svc("web", body), 400, "endpoints");
	}
	ck_assert_ptr_null(state_service(&st, "web"));
}
END_TEST

START_TEST(test_service_duplicate_endpoint)
{
	must_put_svc("calendar", CALENDAR);
	REJECTS(put_svc("web", "{\"endpoints\": ["
			       "{\"ip\": \"172.20.0.40\", \"proto\": \"tcp\", "
			       "\"port\": 80}, "
			       "{\"ip\": \"172.20.0.40\", \"proto\": \"tcp\", "
			       "\"port\": 80}]}"),
		400, "endpoints[1]");
	/* any covers tcp, udp and icmp. */
	REJECTS(put_svc("web",
			"{\"endpoints\": ["
			"{\"ip\": \"172.20.0.40\", \"proto\": \"udp\"},"
			"{\"ip\": \"172.20.0.41\", \"proto\": \"tcp\"},"
			"{\"ip\": \"172.20.0.40\", \"proto\": \"any\"}]}"),
		400, "endpoints[2]");
	/* Other protocol or port on the same address is fine. */
	must_put_svc("web", "{\"endpoints\": ["
			    "{\"ip\": \"172.20.0.40\", \"proto\": \"tcp\", "
			    "\"port\": 80},"
			    "{\"ip\": \"172.20.0.40\", \"proto\": \"udp\", "
			    "\"port\": 80},"
			    "{\"ip\": \"172.20.0.40\", \"proto\": \"tcp\", "
			    "\"port\": 443},"
			    "{\"ip\": \"172.20.0.40\", \"proto\": \"icmp\"}]}");
	ck_assert_uint_eq(state_service(&st, "web")->n_endpoints, 4);
}
END_TEST

START_TEST(test_service_endpoint_owned)
{
	must_put_svc("calendar", CALENDAR);
	must_put_svc("files", FILES);
	REJECTS(put_svc("web", "{\"endpoints\": [{\"ip\": \"172.20.0.50\", "
			       "\"proto\": \"tcp\"}, {\"ip\": \"172.20.0.21\", "
			       "\"proto\": \"tcp\", \"port\": 80}]}"),
		409, "endpoints");
	ck_assert_ptr_nonnull(strstr(err.msg, "'calendar'"));
	/* files has "any" on 172.20.0.22: tcp, udp and icmp collide. */
	REJECTS(put_svc("web", "{\"endpoints\": [{\"ip\": \"172.20.0.22\", "
			       "\"proto\": \"tcp\"}]}"),
		409, "endpoints");
	ck_assert_ptr_nonnull(strstr(err.msg, "'files'"));
	REJECTS(put_svc("web", "{\"endpoints\": [{\"ip\": \"172.20.0.22\", "
			       "\"proto\": \"icmp\"}]}"),
		409, "endpoints");
	/* And "any" collides with dns's udp on the same ip/port. */
	must_put_svc("dns", "{\"endpoints\": [{\"ip\": \"172.20.0.53\", "
			    "\"proto\": \"udp\"}]}");
	REJECTS(put_svc("web", "{\"endpoints\": [{\"ip\": \"172.20.0.53\", "
			       "\"proto\": \"any\"}]}"),
		409, "endpoints");
	ck_assert_ptr_nonnull(strstr(err.msg, "'dns'"));
	/* Replacing an existing service is checked the same way. */
	REJECTS(put_svc("calendar", FILES), 400, "name");
	REJECTS(put_svc("calendar",
			"{\"endpoints\": [{\"ip\": \"172.20.0.22\", "
			"\"proto\": \"udp\"}]}"),
		409, "endpoints");
	/* tcp next to another service's udp on the same address is fine. */
	must_put_svc("web", "{\"endpoints\": [{\"ip\": \"172.20.0.53\", "
			    "\"proto\": \"tcp\"}]}");
}
END_TEST

START_TEST(test_service_dnat)
{
	must_put_svc("calendar", CALENDAR);
#define DN(x) "{\"dnat\": [" x "]}"
	REJECTS(put_svc("web", DN("{\"proto\": \"icmp\", \"port\": 80, "
				  "\"to_ip\": \"172.20.0.40\", \"to_port\": "
				  "80}")),
		400, "dnat[0].proto");
	REJECTS(put_svc("web", DN("{\"proto\": \"any\", \"port\": 80, "
				  "\"to_ip\": \"172.20.0.40\", \"to_port\": "
				  "80}")),
		400, "dnat[0].proto");
	REJECTS(put_svc("web", DN("{\"proto\": \"tcp\", \"port\": 0, "
				  "\"to_ip\": \"172.20.0.40\", \"to_port\": "
				  "80}")),
		400, "dnat[0].port");
	REJECTS(put_svc("web", DN("{\"proto\": \"tcp\", \"to_ip\": "
				  "\"172.20.0.40\", \"to_port\": 80}")),
		400, "dnat[0].port");
	REJECTS(put_svc("web", DN("{\"proto\": \"tcp\", \"port\": 80, "
				  "\"to_ip\": \"0.0.0.0\", \"to_port\": 80}")),
		400, "dnat[0].to_ip");
	REJECTS(put_svc("web", DN("{\"proto\": \"tcp\", \"port\": 80, "
				  "\"to_ip\": \"224.1.1.1\", \"to_port\": "
				  "80}")),
		400, "dnat[0].to_ip");
	REJECTS(put_svc("web", DN("{\"proto\": \"tcp\", \"port\": 80, "
				  "\"to_port\": 80}")),
		400, "dnat[0].to_ip");
	REJECTS(put_svc("web", DN("{\"proto\": \"tcp\", \"port\": 80, "
				  "\"to_ip\": \"172.20.0.40\", \"to_port\": "
				  "65536}")),
		400, "dnat[0].to_port");
	REJECTS(put_svc("web", DN("{\"proto\": \"tcp\", \"port\": 80, "
				  "\"to_ip\": \"172.20.0.40\", \"to_port\": "
				  "0}")),
		400, "dnat[0].to_port");
	REJECTS(put_svc("web", DN("{\"proto\": \"tcp\", \"port\": 80, "
				  "\"to_ip\": \"172.20.0.40\", \"to_port\": 80,"
				  " \"bogus\": true}")),
		400, "dnat[0].bogus");
	REJECTS(put_svc("web", DN("[]")), 400, "dnat[0]");
	/* Twice the same proto/port within the service. */
	REJECTS(put_svc("web", DN("{\"proto\": \"tcp\", \"port\": 80, "
				  "\"to_ip\": \"172.20.0.40\", \"to_port\": "
				  "80}, {\"proto\": \"tcp\", \"port\": 80, "
				  "\"to_ip\": \"172.20.0.41\", \"to_port\": "
				  "8080}")),
		400, "dnat[1]");
	/* calendar owns tcp 5232 on the wg address. */
	REJECTS(put_svc("web", DN("{\"proto\": \"tcp\", \"port\": 5232, "
				  "\"to_ip\": \"172.20.0.40\", \"to_port\": "
				  "80}")),
		409, "dnat");
	ck_assert_ptr_nonnull(strstr(err.msg, "'calendar'"));
	/* udp 5232 is another port; a dnat-only service is fine. */
	must_put_svc("web", DN("{\"proto\": \"udp\", \"port\": 5232, "
			       "\"to_ip\": \"172.20.0.40\", \"to_port\": 80}"));
#undef DN
	ck_assert_uint_eq(state_service(&st, "web")->n_endpoints, 0);
	ck_assert_uint_eq(state_service(&st, "web")->n_dnat, 1);
	ck_assert_uint_eq(state_service(&st, "web")->dnat[0].proto,
			  IPPROTO_UDP);
}
END_TEST

START_TEST(test_service_empty_and_unknown_fields)
{
	must_put_svc("calendar", CALENDAR);
	REJECTS(put_svc("web", "{}"), 400, "endpoints");
	REJECTS(put_svc("web", "{\"endpoints\": []}"), 400, "endpoints");
	REJECTS(put_svc("web", "{\"endpoints\": [], \"dnat\": []}"), 400,
		"endpoints");
	REJECTS(put_svc("web", "{\"name\": \"web\"}"), 400, "endpoints");
	REJECTS(put_svc("web", "{\"endpoints\": [{\"ip\": \"172.20.0.40\", "
			       "\"proto\": \"tcp\"}], \"bogus\": 1}"),
		400, "bogus");
	ck_assert_ptr_nonnull(strstr(err.msg, "bogus"));
	/* Ids are internal: not accepted from the API. */
	REJECTS(put_svc("web", "{\"id\": 7, \"endpoints\": [{\"ip\": "
			       "\"172.20.0.40\", \"proto\": \"tcp\"}]}"),
		400, "id");
	/* Replacing calendar with an empty body is refused too. */
	REJECTS(put_svc("calendar", "{}"), 400, "endpoints");
}
END_TEST

START_TEST(test_service_delete)
{
	three_services();
	must_add_peer("alice", 1, "10.0.0.2",
		      ", \"service_access\": [\"mail\"]");
	REJECTS(del_svc("web"), 404, "name");
	REJECTS(del_svc("mail"), 409, "name");
	ck_assert_ptr_nonnull(strstr(err.msg, "'alice'"));
	/* Unused services go; their ids are reused. */
	ck_assert_int_eq(del_svc("files"), 0);
	ck_assert_ptr_null(state_service(&st, "files"));
	ck_assert_uint_eq(st.n_services, 2);
	ck_assert_uint_eq(state_service(&st, "calendar")->id, 0);
	ck_assert_uint_eq(state_service(&st, "mail")->id, 2);
	ck_assert(has_access(state_peer(&st, "alice"), "mail"));
	must_put_svc("web", "{\"endpoints\": [{\"ip\": \"172.20.0.22\", "
			    "\"proto\": \"tcp\"}]}");
	ck_assert_uint_eq(state_service(&st, "web")->id, 1);
	ck_assert(!has_access(state_peer(&st, "alice"), "web"));
	REJECTS(del_svc("files"), 404, "name");
	/* Once no peer uses it, mail can go too. */
	ck_assert_int_eq(
		update_peer("alice", "{\"service_access\": []}", NULL, NULL),
		0);
	ck_assert_int_eq(del_svc("mail"), 0);
	ck_assert_uint_eq(st.n_services, 2);
}
END_TEST

START_TEST(test_service_ids_exhausted)
{
	char name[16], body[128];
	int i;

	/* The last ids are kept for the sync listener and the peer API. */
	for (i = 0; i < CG_MAX_USER_SERVICES; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		snprintf(body, sizeof(body),
			 "{\"endpoints\": [{\"ip\": \"172.21.%d.%d\", "
			 "\"proto\": \"tcp\"}]}",
			 i / 200, i % 200 + 1);
		must_put_svc(name, body);
		ck_assert_uint_eq(state_service(&st, name)->id, (unsigned)i);
	}
	REJECTS(put_svc("one-more", "{\"endpoints\": [{\"ip\": "
				    "\"172.22.0.1\", \"proto\": \"tcp\"}]}"),
		409, "name");
	/* Replacing an existing one still works when all ids are used. */
	must_put_svc("s7", "{\"endpoints\": [{\"ip\": \"172.22.0.1\", "
			   "\"proto\": \"tcp\"}]}");
	ck_assert_uint_eq(state_service(&st, "s7")->id, 7);
}
END_TEST

static Suite *state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *svc = tcase_create("services");

	tcase_add_checked_fixture(svc, setup, teardown);
	tcase_add_test(svc, test_service_put_ids);
	tcase_add_test(svc, test_service_replace_keeps_id);
	tcase_add_test(svc, test_service_name);
	tcase_add_test(svc, test_service_invalid_endpoints);
	tcase_add_test(svc, test_service_dnat6);
	tcase_add_test(svc, test_service_duplicate_endpoint);
	tcase_add_test(svc, test_service_endpoint_owned);
	tcase_add_test(svc, test_service_dnat);
	tcase_add_test(svc, test_service_empty_and_unknown_fields);
	tcase_add_test(svc, test_service_delete);
	tcase_add_test(svc, test_service_ids_exhausted);
	suite_add_tcase(s, svc);
	return s;
}

int main(void)
{
	return tu_run(state_suite());
}
