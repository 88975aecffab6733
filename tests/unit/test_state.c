// SPDX-License-Identifier: MIT
/* Unit tests for ctl/state/state.c: services, peers, ids and the state file. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"
#include "testutil.h"

static struct cg_config cfg;
static struct cg_state st;
static struct cg_error err;

/* The example config with limits.max_peers 16. */
static void setup(void)
{
	json_object *root = tu_json(TU_EXAMPLE_CONFIG);

	json_object_object_add(root, "limits", tu_json("{\"max_peers\": 16}"));
	tu_config(&cfg, json_object_to_json_string(root));
	json_object_put(root);
	ck_assert_uint_eq(cfg.limits.max_peers, 16);
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

/* ---- calling the state functions with JSON text -------------------------- */

static int put_svc(const char *name, const char *body)
{
	json_object *o = tu_json(body);
	int ret;

	memset(&err, 0, sizeof(err));
	ret = state_put_service(&st, name, o, &err);
	json_object_put(o);
	return ret;
}

static void must_put_svc(const char *name, const char *body)
{
	ck_assert_msg(put_svc(name, body) == 0, "put %s: %d %s: %s", name,
		      err.status, err.field, err.msg);
}

static int del_svc(const char *name)
{
	memset(&err, 0, sizeof(err));
	return state_delete_service(&st, name, &err);
}

/* A peer body: name, the key of seed, ip, then extra members (",..."). */
static const char *peer_body(char *buf, size_t len, const char *name,
			     unsigned int seed, const char *addr,
			     const char *extra)
{
	char key[WG_KEY_B64_LEN + 1];

	tu_key_b64(seed, key);
	snprintf(buf, len,
		 "{\"name\": \"%s\", \"public_key\": \"%s\", \"ip\": \"%s\"%s}",
		 name, key, addr, extra ? extra : "");
	return buf;
}

static int add_json(const char *body, struct cg_peer_def *added)
{
	json_object *o = tu_json(body);
	int ret;

	memset(&err, 0, sizeof(err));
	ret = state_add_peer(&st, o, NULL, added, &err);
	json_object_put(o);
	return ret;
}

static int add_peer(const char *name, unsigned int seed, const char *addr,
		    const char *extra, struct cg_peer_def *added)
{
	char buf[512];

	return add_json(peer_body(buf, sizeof(buf), name, seed, addr, extra),
			added);
}

static uint32_t must_add_peer(const char *name, unsigned int seed,
			      const char *addr, const char *extra)
{
	struct cg_peer_def added;

	ck_assert_msg(add_peer(name, seed, addr, extra, &added) == 0,
		      "add %s: %d %s: %s", name, err.status, err.field,
		      err.msg);
	ck_assert_str_eq(added.name, name);
	return added.id;
}

static int update_peer(const char *name, const char *body,
		       struct cg_peer_def *old, struct cg_peer_def *updated)
{
	json_object *o = tu_json(body);
	int ret;

	memset(&err, 0, sizeof(err));
	ret = state_update_peer(&st, name, o, old, updated, &err);
	json_object_put(o);
	return ret;
}

static int del_peer(const char *name, struct cg_peer_def *removed)
{
	memset(&err, 0, sizeof(err));
	return state_delete_peer(&st, name, removed, &err);
}

/* Field by field: the structs have padding. */
static void assert_peer_eq(const struct cg_peer_def *a,
			   const struct cg_peer_def *b)
{
	ck_assert_str_eq(a->name, b->name);
	ck_assert_uint_eq(a->id, b->id);
	ck_assert_mem_eq(a->public_key, b->public_key, WG_KEY_LEN);
	ck_assert_uint_eq(a->ip.s_addr, b->ip.s_addr);
	ck_assert_mem_eq(a->access, b->access, sizeof(a->access));
	ck_assert_int_eq(a->internet_access, b->internet_access);
	ck_assert_int_eq(a->peer_to_peer, b->peer_to_peer);
}

static void assert_service_eq(const struct cg_service_def *a,
			      const struct cg_service_def *b)
{
	unsigned int i;

	ck_assert_str_eq(a->name, b->name);
	ck_assert_uint_eq(a->id, b->id);
	ck_assert_uint_eq(a->n_endpoints, b->n_endpoints);
	for (i = 0; i < a->n_endpoints; i++) {
		ck_assert_uint_eq(a->endpoints[i].ip.s_addr,
				  b->endpoints[i].ip.s_addr);
		ck_assert_uint_eq(a->endpoints[i].proto, b->endpoints[i].proto);
		ck_assert_uint_eq(a->endpoints[i].port, b->endpoints[i].port);
	}
	ck_assert_uint_eq(a->n_dnat, b->n_dnat);
	for (i = 0; i < a->n_dnat; i++) {
		ck_assert_uint_eq(a->dnat[i].proto, b->dnat[i].proto);
		ck_assert_uint_eq(a->dnat[i].port, b->dnat[i].port);
		ck_assert_uint_eq(a->dnat[i].to_ip.s_addr,
				  b->dnat[i].to_ip.s_addr);
		ck_assert_uint_eq(a->dnat[i].to_port, b->dnat[i].to_port);
	}
}

static bool has_access(const struct cg_peer_def *p, const char *service)
{
	const struct cg_service_def *svc = state_service(&st, service);

	ck_assert_msg(svc != NULL, "no service %s", service);
	return p->access[svc->id / 64] & (1ull << (svc->id % 64));
}

static unsigned int access_count(const struct cg_peer_def *p)
{
	unsigned int i, n = 0;

	for (i = 0; i < CG_SERVICE_WORDS; i++)
		n += (unsigned int)__builtin_popcountll(p->access[i]);
	return n;
}

/*
 * call must fail with want_status naming want_field, and leave the state
 * byte-for-byte as it was.
 */
#define REJECTS(call, want_status, want_field)                  \
	do {                                                    \
		char *before_ = state_to_string(&st);           \
		char *after_;                                   \
		int ret_;                                       \
                                                                \
		ck_assert_ptr_nonnull(before_);                 \
		ret_ = (call);                                  \
		ck_assert_msg(ret_ < 0, "accepted: %s", #call); \
		tu_assert_err(&err, want_status, want_field);   \
		after_ = state_to_string(&st);                  \
		ck_assert_ptr_nonnull(after_);                  \
		ck_assert_str_eq(after_, before_);              \
		free(before_);                                  \
		free(after_);                                   \
	} while (0)

#define CALENDAR                                                           \
	"{\"endpoints\": [{\"ip\": \"172.20.0.21\", \"proto\": \"tcp\", "  \
	"\"port\": 80}], \"dnat\": [{\"proto\": \"tcp\", \"port\": 5232, " \
	"\"to_ip\": \"172.20.0.21\", \"to_port\": 5232}]}"
#define FILES                                                              \
	"{\"name\": \"files\", \"endpoints\": [{\"ip\": \"172.20.0.22\", " \
	"\"proto\": \"any\"}]}"
#define MAIL                                                              \
	"{\"endpoints\": [{\"ip\": \"172.20.0.23\", \"proto\": \"tcp\", " \
	"\"port\": 25}, {\"ip\": \"172.20.0.23\", \"proto\": \"tcp\", "   \
	"\"port\": 993}]}"

static void three_services(void)
{
	must_put_svc("calendar", CALENDAR);
	must_put_svc("files", FILES);
	must_put_svc("mail", MAIL);
}

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

/* ---- the state file ------------------------------------------------------ */

/* A state with gaps in both id spaces and every kind of field. */
static void rich_state(void)
{
	three_services();
	must_put_svc("web", "{\"endpoints\": [{\"ip\": \"172.20.0.80\", "
			    "\"proto\": \"tcp\", \"port\": 0}, {\"ip\": "
			    "\"172.20.0.80\", \"proto\": \"icmp\"}], \"dnat\": "
			    "[{\"proto\": \"tcp\", \"port\": 80, \"to_ip\": "
			    "\"172.20.0.80\", \"to_port\": 8080}, {\"proto\": "
			    "\"udp\", \"port\": 53, \"to_ip\": \"172.20.0.53\","
			    " \"to_port\": 53}]}");
	ck_assert_int_eq(del_svc("files"), 0);
	must_add_peer("alice", 1, "10.0.0.2",
		      ", \"service_access\": [\"web\", \"calendar\"], "
		      "\"internet_access\": true");
	must_add_peer("bob", 2, "10.0.0.3", ", \"peer_to_peer\": true");
	must_add_peer("carol", 3, "10.0.0.200",
		      ", \"service_access\": [\"mail\"], \"internet_access\": "
		      "true, \"peer_to_peer\": true");
	ck_assert_int_eq(del_peer("bob", NULL), 0);
	must_add_peer("dave", 4, "10.0.0.77", NULL);
	must_add_peer("erin", 5, "10.0.0.78", NULL);
}

static char *state_path(const char *dir)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/state.json", dir);
	return path;
}

START_TEST(test_save_load_roundtrip)
{
	char *dir = tu_mkdtemp();
	char *path = state_path(dir);
	struct cg_state loaded;
	char *a, *b, *file1, *file2;

	rich_state();
	ck_assert_int_eq(state_save(&st, path), 0);
	state_init(&loaded, &cfg);
	memset(&err, 0, sizeof(err));
	ck_assert_msg(state_load(&loaded, path, &err) == 0, "%s: %s", err.field,
		      err.msg);
	a = state_to_string(&st);
	b = state_to_string(&loaded);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	/* Ids survive, with their gaps. */
	ck_assert_uint_eq(loaded.n_services, 3);
	ck_assert_uint_eq(state_service(&loaded, "calendar")->id, 0);
	ck_assert_uint_eq(state_service(&loaded, "mail")->id, 2);
	ck_assert_uint_eq(state_service(&loaded, "web")->id, 3);
	ck_assert_ptr_null(state_service(&loaded, "files"));
	ck_assert_uint_eq(loaded.n_peers, 4);
	ck_assert_uint_eq(state_peer(&loaded, "alice")->id, 1);
	ck_assert_uint_eq(state_peer(&loaded, "dave")->id, 2);
	ck_assert_uint_eq(state_peer(&loaded, "carol")->id, 3);
	ck_assert_uint_eq(state_peer(&loaded, "erin")->id, 4);
	assert_peer_eq(state_peer(&loaded, "carol"), state_peer(&st, "carol"));
	assert_peer_eq(state_peer(&loaded, "alice"), state_peer(&st, "alice"));
	assert_service_eq(state_service(&loaded, "web"),
			  state_service(&st, "web"));
	assert_service_eq(state_service(&loaded, "calendar"),
			  state_service(&st, "calendar"));
	/* Saving what was loaded writes the same bytes. */
	file1 = read_file(path, 1 << 20, NULL);
	ck_assert_ptr_nonnull(file1);
	ck_assert_int_eq(state_save(&loaded, path), 0);
	file2 = read_file(path, 1 << 20, NULL);
	ck_assert_ptr_nonnull(file2);
	ck_assert_str_eq(file1, file2);
	free(file1);
	free(file2);
	/* The next ids continue from the loaded state. */
	state_free(&st);
	st = loaded;
	ck_assert_uint_eq(must_add_peer("frank", 6, "10.0.0.79", NULL), 5);
	must_put_svc("files", FILES);
	ck_assert_uint_eq(state_service(&st, "files")->id, 1);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_load_missing_and_empty)
{
	char *dir = tu_mkdtemp();
	char *path = state_path(dir);

	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(state_load(&st, path, &err), 0);
	ck_assert_uint_eq(st.n_services, 0);
	ck_assert_uint_eq(st.n_peers, 0);
	ck_assert_int_eq(err.status, 0);
	/* An empty state saves and loads. */
	ck_assert_int_eq(state_save(&st, path), 0);
	ck_assert_int_eq(state_load(&st, path, &err), 0);
	ck_assert_uint_eq(st.n_services + st.n_peers, 0);
	/* A directory where the file should be is an error. */
	memset(&err, 0, sizeof(err));
	ck_assert_int_lt(state_load(&st, dir, &err), 0);
	ck_assert(err.msg[0]);
	tu_rmtree(dir);
}
END_TEST

/*
 * Each corrupt file must fail to load with a message (naming field when
 * given), and leave the state empty.
 */
static void load_fails(const char *dir, const char *text, const char *field)
{
	char *path = state_path(dir);
	struct cg_state fresh;

	tu_write(path, text);
	state_init(&fresh, &cfg);
	memset(&err, 0, sizeof(err));
	ck_assert_msg(state_load(&fresh, path, &err) < 0, "loaded: %s", text);
	ck_assert_msg(err.msg[0], "no message for %s", text);
	ck_assert_int_ne(err.status, 0);
	if (field)
		ck_assert_str_eq(err.field, field);
	ck_assert_uint_eq(fresh.n_services, 0);
	ck_assert_uint_eq(fresh.n_peers, 0);
	ck_assert_ptr_null(fresh.services);
	ck_assert_ptr_null(fresh.peers);
	state_free(&fresh);
}

/* A good state file with old replaced by new (once, must be present). */
static char *edit(const char *good, const char *old, const char *new)
{
	const char *at = strstr(good, old);
	char *out;

	ck_assert_msg(at != NULL, "fixture lacks %s", old);
	ck_assert_ptr_nonnull(out = malloc(strlen(good) + strlen(new) + 1));
	memcpy(out, good, (size_t)(at - good));
	strcpy(out + (at - good), new);
	strcat(out, at + strlen(old));
	return out;
}

START_TEST(test_load_corrupt)
{
	char *dir = tu_mkdtemp();
	char key1[WG_KEY_B64_LEN + 1], key2[WG_KEY_B64_LEN + 1];
	char good[2048], *bad;
	const char *peer1, *peer2;

	must_put_svc("calendar", CALENDAR);
	tu_key_b64(1, key1);
	tu_key_b64(2, key2);
	peer1 = "{\"name\": \"alice\", \"id\": 1, \"public_key\": \"K1\", "
		"\"ip\": \"10.0.0.2\", \"service_access\": [\"calendar\"], "
		"\"internet_access\": true, \"peer_to_peer\": false}";
	peer2 = "{\"name\": \"bob\", \"id\": 2, \"public_key\": \"K2\", "
		"\"ip\": \"10.0.0.3\"}";
	snprintf(good, sizeof(good),
		 "{\"version\": 1, \"services\": [{\"name\": \"calendar\", "
		 "\"id\": 0, \"endpoints\": [{\"ip\": \"172.20.0.21\", "
		 "\"proto\": \"tcp\", \"port\": 80}], \"dnat\": []}], "
		 "\"peers\": [%s, %s]}",
		 peer1, peer2);
	bad = edit(good, "K1", key1);
	strcpy(good, bad);
	free(bad);
	bad = edit(good, "K2", key2);
	strcpy(good, bad);
	free(bad);
	/* The fixture itself loads. */
	tu_write(state_path(dir), good);
	state_free(&st);
	state_init(&st, &cfg);
	ck_assert_msg(state_load(&st, state_path(dir), &err) == 0, "%s: %s",
		      err.field, err.msg);
	ck_assert_uint_eq(st.n_peers, 2);
	ck_assert_uint_eq(state_peer(&st, "bob")->id, 2);

	/* Truncated, at several places. */
	{
		char cut[sizeof(good)];
		size_t len = strlen(good), at;

		for (at = 1; at < len; at += len / 7) {
			snprintf(cut, sizeof(cut), "%.*s", (int)at, good);
			load_fails(dir, cut, "");
		}
		snprintf(cut, sizeof(cut), "%.*s", (int)len - 1, good);
		load_fails(dir, cut, "");
	}
	load_fails(dir, "", "");
	load_fails(dir, "[]", "");
	/* Version. */
#define BAD(old, new, field)                 \
	do {                                 \
		bad = edit(good, old, new);  \
		load_fails(dir, bad, field); \
		free(bad);                   \
	} while (0)
	BAD("\"version\": 1", "\"version\": 2", "version");
	BAD("\"version\": 1", "\"version\": \"1\"", "version");
	BAD("\"version\": 1, ", "", "version");
	BAD("\"version\": 1", "\"version\": 1, \"bogus\": 1", "bogus");
	BAD("\"services\": [", "\"services\": 1, \"x\": [", "x");
	BAD("\"services\": [{\"name\": \"calendar\", \"id\": 0, \"endpoints\": "
	    "[{\"ip\": \"172.20.0.21\", \"proto\": \"tcp\", \"port\": 80}], "
	    "\"dnat\": []}], ",
	    "", "services");
	/* Services: id, names, endpoints. */
	BAD("\"id\": 0", "\"id\": 256", "id");
	BAD("\"id\": 0, ", "", "id");
	BAD("\"name\": \"calendar\"", "\"name\": \"cal endar\"", NULL);
	BAD("\"proto\": \"tcp\", \"port\": 80}",
	    "\"proto\": \"tcp\", \"port\": "
	    "80, \"bogus\": 1}",
	    "endpoints[0].bogus");
	BAD("\"dnat\": []}]",
	    "\"dnat\": []}, {\"name\": \"calendar\", \"id\":"
	    " 1, \"endpoints\": [{\"ip\": \"172.20.0.22\","
	    " \"proto\": \"tcp\"}]}]",
	    "services");
	BAD("\"dnat\": []}]",
	    "\"dnat\": []}, {\"name\": \"files\", \"id\":"
	    " 0, \"endpoints\": [{\"ip\": \"172.20.0.22\","
	    " \"proto\": \"tcp\"}]}]",
	    "services");
	BAD("\"dnat\": []}]",
	    "\"dnat\": []}, {\"name\": \"files\", \"id\":"
	    " 1, \"endpoints\": [{\"ip\": \"172.20.0.21\","
	    " \"proto\": \"tcp\", \"port\": 80}]}]",
	    "services");
	/* Peers: ids, names, keys, addresses, access, unknown fields. */
	BAD("\"name\": \"bob\", \"id\": 2", "\"name\": \"bob\", \"id\": 1",
	    "id");
	BAD("\"name\": \"bob\", \"id\": 2", "\"name\": \"bob\", \"id\": 0",
	    "id");
	BAD("\"name\": \"bob\", \"id\": 2", "\"name\": \"bob\", \"id\": 17",
	    "id");
	BAD("\"name\": \"bob\", \"id\": 2", "\"name\": \"bob\"", "id");
	BAD("\"name\": \"bob\"", "\"name\": \"alice\"", "name");
	BAD("\"name\": \"bob\"", "\"name\": \"b b\"", NULL);
	BAD(key2, key1, "public_key");
	BAD(key2, "AAAA", "public_key");
	BAD("\"ip\": \"10.0.0.3\"", "\"ip\": \"10.0.1.3\"", "ip");
	BAD("\"ip\": \"10.0.0.3\"", "\"ip\": \"10.0.0.2\"", "ip");
	BAD("\"ip\": \"10.0.0.3\"", "\"ip\": \"10.0.0.1\"", "ip");
	BAD("\"service_access\": [\"calendar\"]",
	    "\"service_access\": [\"files\"]", "service_access[0]");
	BAD("\"ip\": \"10.0.0.3\"", "\"ip\": \"10.0.0.3\", \"bogus\": 1",
	    "bogus");
	BAD("\"peers\": [", "\"peers\": [7, ", NULL);
#undef BAD
	/* A failed load empties even a state that had content. */
	tu_write(state_path(dir), "{\"version\": 1, \"services\": [], "
				  "\"peers\": [], \"bogus\": 1}");
	ck_assert_uint_eq(st.n_peers, 2);
	ck_assert_int_lt(state_load(&st, state_path(dir), &err), 0);
	ck_assert_uint_eq(st.n_peers + st.n_services, 0);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_save_mode_and_atomic)
{
	char *dir = tu_mkdtemp();
	char *path = state_path(dir);
	char other[PATH_MAX];
	struct stat sb;

	rich_state();
	umask(0);
	ck_assert_int_eq(state_save(&st, path), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0600);
	ck_assert_int_eq(tu_count_entries(dir, ".tmp"), 0);
	ck_assert_int_eq(tu_count_entries(dir, ""), 1);
	/* Replacing a wider file makes it 0600 too. */
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(del_peer("alice", NULL), 0);
	ck_assert_int_eq(state_save(&st, path), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0600);
	ck_assert_int_eq(tu_count_entries(dir, ".tmp"), 0);
	ck_assert_int_eq(tu_count_entries(dir, ""), 1);
	{
		char *text = read_file(path, 1 << 20, NULL);

		ck_assert_ptr_nonnull(text);
		ck_assert_ptr_null(strstr(text, "alice"));
		ck_assert_ptr_nonnull(strstr(text, "carol"));
		free(text);
	}
	/* A missing directory is an error, and the old file stays. */
	snprintf(other, sizeof(other), "%s/missing/state.json", dir);
	ck_assert_int_eq(state_save(&st, other), -ENOENT);
	ck_assert_int_eq(tu_count_entries(dir, ""), 1);
	umask(022);
	tu_rmtree(dir);
}
END_TEST

static Suite *state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *svc = tcase_create("services");
	TCase *peer = tcase_create("peers");
	TCase *file = tcase_create("file");

	tcase_add_checked_fixture(svc, setup, teardown);
	tcase_add_checked_fixture(peer, setup, teardown);
	tcase_add_checked_fixture(file, setup, teardown);
	tcase_add_test(svc, test_service_put_ids);
	tcase_add_test(svc, test_service_replace_keeps_id);
	tcase_add_test(svc, test_service_name);
	tcase_add_test(svc, test_service_invalid_endpoints);
	tcase_add_test(svc, test_service_duplicate_endpoint);
	tcase_add_test(svc, test_service_endpoint_owned);
	tcase_add_test(svc, test_service_dnat);
	tcase_add_test(svc, test_service_empty_and_unknown_fields);
	tcase_add_test(svc, test_service_delete);
	tcase_add_test(svc, test_service_ids_exhausted);
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
	tcase_add_test(file, test_save_load_roundtrip);
	tcase_add_test(peer, test_null_is_not_a_list);
	tcase_add_test(file, test_load_missing_and_empty);
	tcase_add_test(file, test_load_corrupt);
	tcase_add_test(file, test_save_mode_and_atomic);
	suite_add_tcase(s, svc);
	suite_add_tcase(s, peer);
	suite_add_tcase(s, file);
	return s;
}

int main(void)
{
	return tu_run(state_suite());
}
