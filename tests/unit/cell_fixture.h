/* SPDX-License-Identifier: MIT */
/*
 * What the unit tests of linked cells share (test_cell.c,
 * test_cell_link.c): a state on the example config, cells linked,
 * services and peers added, invites, and REJECTS, which proves a refused
 * call changed nothing. Split out so that no test file passes ~800
 * lines.
 */
#ifndef CELLGATE_CELL_FIXTURE_H
#define CELLGATE_CELL_FIXTURE_H

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
static inline void setup(void)
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

static inline void key_of(unsigned int seed, wg_key key)
{
	char b64[WG_KEY_B64_LEN + 1];

	tu_key_b64(seed, b64);
	ck_assert(key_from_base64(key, b64));
}

/* ---- cells in the state -------------------------------------------------- */

#define CALENDAR                                                          \
	"{\"endpoints\": [{\"ip\": \"172.20.0.21\", \"proto\": \"tcp\", " \
	"\"port\": 80}]}"
#define FILES "{\"endpoints\": [{\"ip\": \"172.20.0.22\", \"proto\": \"any\"}]}"
#define MAIL                                                              \
	"{\"endpoints\": [{\"ip\": \"172.20.0.23\", \"proto\": \"tcp\", " \
	"\"port\": 25}]}"

static inline void must_put_svc(const char *name, const char *body)
{
	json_object *o = tu_json(body);

	memset(&err, 0, sizeof(err));
	ck_assert_msg(state_put_service(&st, name, o, &err) == 0, "%s: %s",
		      name, err.msg);
	json_object_put(o);
}

/* calendar (id 0), files (1), mail (2). */
static inline void three_services(void)
{
	must_put_svc("calendar", CALENDAR);
	must_put_svc("files", FILES);
	must_put_svc("mail", MAIL);
}

static inline uint32_t must_add_peer(const char *name, unsigned int seed,
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

static inline int link_cell(const struct cg_cell_info *info, uint8_t key_byte,
			    struct cg_cell_def *linked)
{
	uint8_t key[LINK_KEY_LEN];

	memset(key, key_byte, sizeof(key));
	memset(&err, 0, sizeof(err));
	return state_link_cell(&st, info, key, linked, &err);
}

static inline uint32_t must_link(const char *name, unsigned int seed,
				 const char *subnet, const char *domain)
{
	struct cg_cell_info info = cell(name, seed, subnet, domain);
	struct cg_cell_def linked;

	ck_assert_msg(link_cell(&info, (uint8_t)seed, &linked) == 0,
		      "link %s: %s: %s", name, err.field, err.msg);
	ck_assert_str_eq(linked.info.cell_name, name);
	return linked.id;
}

static inline int unlink_cell(const char *name, struct cg_cell_def *removed)
{
	memset(&err, 0, sizeof(err));
	return state_unlink_cell(&st, name, removed, &err);
}

static inline int set_inbound(const char *name, const char *body,
			      struct cg_cell_def *updated)
{
	json_object *o = tu_json(body);
	int ret;

	memset(&err, 0, sizeof(err));
	ret = state_set_cell_inbound(&st, name, o, updated, &err);
	json_object_put(o);
	return ret;
}

static inline int del_svc(const char *name)
{
	memset(&err, 0, sizeof(err));
	return state_delete_service(&st, name, &err);
}

static struct cg_invite invite(int64_t expires_at)
{
	struct cg_invite inv = { 0 };

	ck_assert_int_eq(pairing_secret_new(inv.secret), 0);
	inv.created_at = expires_at - CG_INVITE_TTL_S;
	inv.expires_at = expires_at;
	return inv;
}

static inline int add_invite(const struct cg_invite *inv)
{
	memset(&err, 0, sizeof(err));
	return state_add_invite(&st, inv, &err);
}

#endif
