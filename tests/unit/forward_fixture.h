/* SPDX-License-Identifier: MIT */
/*
 * What the unit tests of port forwards share (test_forward.c,
 * test_forward_file.c): a state on the example config, forwards added
 * with JSON text, and REJECTS, which proves a refused call left the state
 * byte for byte as it was. Split out so that no test file passes ~800
 * lines.
 */
#ifndef CELLGATE_FORWARD_FIXTURE_H
#define CELLGATE_FORWARD_FIXTURE_H

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "server.h"
#include "state.h"
#include "testutil.h"

static struct cg_config cfg;
static struct cg_state st;
static struct cg_error err;

/* The example config (wg 10.0.0.0/24, router .1, listen_port 51820) with
 * a bridge subnet and one local network. */
static inline void setup(void)
{
	json_object *root = tu_json(TU_EXAMPLE_CONFIG);
	json_object *bridge;

	ck_assert(json_object_object_get_ex(root, "bridge", &bridge));
	json_object_object_add(bridge, "subnet",
			       json_object_new_string("172.20.0.0/24"));
	json_object_object_add(root, "local_networks",
			       json_tokener_parse("[\"192.168.50.0/24\"]"));
	tu_config(&cfg, json_object_to_json_string(root));
	json_object_put(root);
	ck_assert(cfg.bridge.has_subnet);
	ck_assert_uint_eq(cfg.n_local_networks, 1);
	ck_assert_uint_eq(cfg.wireguard.listen_port, 51820);
	state_init(&st, &cfg);
	memset(&err, 0, sizeof(err));
}

static inline void teardown(void)
{
	state_free(&st);
}

/* ---- calling the state functions with JSON text -------------------------- */

static inline int add_fwd(const char *body, struct cg_forward_def *added)
{
	json_object *o = tu_json(body);
	int ret;

	memset(&err, 0, sizeof(err));
	ret = state_add_forward(&st, o, added, &err);
	json_object_put(o);
	return ret;
}

/* A forward body: the required members, then extra ones (",..."). */
static inline const char *fwd_body(char *buf, size_t len, const char *id,
				   const char *proto, unsigned int port,
				   const char *target, const char *extra)
{
	snprintf(buf, len,
		 "{\"id\": \"%s\", \"proto\": \"%s\", \"public_port\": %u, "
		 "\"target_ip\": \"%s\", \"target_port\": 22%s}",
		 id, proto, port, target, extra ? extra : "");
	return buf;
}

static inline int add(const char *id, const char *proto, unsigned int port,
		      const char *target, const char *extra)
{
	char buf[2048];

	return add_fwd(
		fwd_body(buf, sizeof(buf), id, proto, port, target, extra),
		NULL);
}

/* Add a forward that must be accepted; its slot. */
static inline uint32_t must_add(const char *id, const char *proto,
				unsigned int port, const char *target,
				const char *extra)
{
	char buf[2048];
	struct cg_forward_def added;

	ck_assert_msg(add_fwd(fwd_body(buf, sizeof(buf), id, proto, port,
				       target, extra),
			      &added) == 0,
		      "add %s: %d %s: %s", id, err.status, err.field, err.msg);
	ck_assert_str_eq(added.id, id);
	return added.slot;
}

static inline int del(const char *id, struct cg_forward_def *removed)
{
	memset(&err, 0, sizeof(err));
	return state_delete_forward(&st, id, removed, &err);
}

/* A raw body that must be refused. */
#define REJECTS_BODY(body, status, field) \
	REJECTS(add_fwd(body, NULL), status, field)

static inline uint32_t ip(const char *s)
{
	struct in_addr a;

	ck_assert_msg(inet_pton(AF_INET, s, &a) == 1, "bad fixture %s", s);
	return a.s_addr;
}

/* ", \"allow_from\": [...]" with n networks 10.i.0.0/16. */
static inline const char *allow_list(char *buf, size_t len, unsigned int n)
{
	size_t used = (size_t)snprintf(buf, len, ", \"allow_from\": [");
	unsigned int i;

	for (i = 0; i < n; i++)
		used += (size_t)snprintf(buf + used, len - used,
					 "%s\"10.%u.0.0/16\"", i ? ", " : "",
					 i);
	snprintf(buf + used, len - used, "]");
	return buf;
}

static inline char *json_of(const struct cg_forward_def *f, bool with_slot)
{
	json_object *o = forward_to_json(f, with_slot);
	char *s = strdup(json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(o);
	return s;
}

#endif
