/* SPDX-License-Identifier: MIT */
/*
 * What the unit tests of ctl/state/state*.c share (test_state.c,
 * test_state_peer.c, test_state_file.c): a state on the example config
 * with max_peers 16, calls with JSON text, and REJECTS, which proves a
 * refused call changed nothing. Split out so that no test file passes
 * ~800 lines.
 */
#ifndef CELLGATE_STATE_FIXTURE_H
#define CELLGATE_STATE_FIXTURE_H

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
static inline void setup(void)
{
	json_object *root = tu_json(TU_EXAMPLE_CONFIG);

	json_object_object_add(root, "limits", tu_json("{\"max_peers\": 16}"));
	tu_config(&cfg, json_object_to_json_string(root));
	json_object_put(root);
	ck_assert_uint_eq(cfg.limits.max_peers, 16);
	state_init(&st, &cfg);
	memset(&err, 0, sizeof(err));
}

static inline void teardown(void)
{
	state_free(&st);
}

static inline uint32_t ip(const char *s)
{
	struct in_addr a;

	ck_assert_msg(inet_pton(AF_INET, s, &a) == 1, "bad fixture %s", s);
	return a.s_addr;
}

/* ---- calling the state functions with JSON text -------------------------- */

static inline int put_svc(const char *name, const char *body)
{
	json_object *o = tu_json(body);
	int ret;

	memset(&err, 0, sizeof(err));
	ret = state_put_service(&st, name, o, &err);
	json_object_put(o);
	return ret;
}

static inline void must_put_svc(const char *name, const char *body)
{
	ck_assert_msg(put_svc(name, body) == 0, "put %s: %d %s: %s", name,
		      err.status, err.field, err.msg);
}

static inline int del_svc(const char *name)
{
	memset(&err, 0, sizeof(err));
	return state_delete_service(&st, name, &err);
}

/* A peer body: name, the key of seed, ip, then extra members (",..."). */
static inline const char *peer_body(char *buf, size_t len, const char *name,
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

static inline int add_json(const char *body, struct cg_peer_def *added)
{
	json_object *o = tu_json(body);
	int ret;

	memset(&err, 0, sizeof(err));
	ret = state_add_peer(&st, o, NULL, added, &err);
	json_object_put(o);
	return ret;
}

static inline int add_peer(const char *name, unsigned int seed,
			   const char *addr, const char *extra,
			   struct cg_peer_def *added)
{
	char buf[512];

	return add_json(peer_body(buf, sizeof(buf), name, seed, addr, extra),
			added);
}

static inline uint32_t must_add_peer(const char *name, unsigned int seed,
				     const char *addr, const char *extra)
{
	struct cg_peer_def added;

	ck_assert_msg(add_peer(name, seed, addr, extra, &added) == 0,
		      "add %s: %d %s: %s", name, err.status, err.field,
		      err.msg);
	ck_assert_str_eq(added.name, name);
	return added.id;
}

static inline int update_peer(const char *name, const char *body,
			      struct cg_peer_def *old,
			      struct cg_peer_def *updated)
{
	json_object *o = tu_json(body);
	int ret;

	memset(&err, 0, sizeof(err));
	ret = state_update_peer(&st, name, o, old, updated, &err);
	json_object_put(o);
	return ret;
}

static inline int del_peer(const char *name, struct cg_peer_def *removed)
{
	memset(&err, 0, sizeof(err));
	return state_delete_peer(&st, name, removed, &err);
}

/* Field by field: the structs have padding. */
static inline void assert_peer_eq(const struct cg_peer_def *a,
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

static inline void assert_service_eq(const struct cg_service_def *a,
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

static inline bool has_access(const struct cg_peer_def *p, const char *service)
{
	const struct cg_service_def *svc = state_service(&st, service);

	ck_assert_msg(svc != NULL, "no service %s", service);
	return p->access[svc->id / 64] & (1ull << (svc->id % 64));
}

static inline unsigned int access_count(const struct cg_peer_def *p)
{
	unsigned int i, n = 0;

	for (i = 0; i < CG_SERVICE_WORDS; i++)
		n += (unsigned int)__builtin_popcountll(p->access[i]);
	return n;
}

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

static inline void three_services(void)
{
	must_put_svc("calendar", CALENDAR);
	must_put_svc("files", FILES);
	must_put_svc("mail", MAIL);
}

#endif
