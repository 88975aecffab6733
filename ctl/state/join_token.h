/* SPDX-License-Identifier: MIT */
/*
 * Join tokens: what lets a device enrol itself (POST /api/join) without
 * the admin token, and the presets its peer gets. A token's secret is
 * shown once, when it is made; the cell keeps its SHA-256 only, in
 * state_dir/join-tokens.json (0600), apart from state.json: like the API
 * token and the keys, a secret, not policy, so the state file can be read
 * and shared without it.
 */
#ifndef CELLGATE_JOIN_TOKEN_H
#define CELLGATE_JOIN_TOKEN_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "key.h"
#include "state.h"
#include "util.h"

#define JT_MAX_TOKENS 256 /* tokens a cell keeps */
#define JT_MAX_LIST 16 /* groups, services per token */
#define JT_SECRET_LEN 43 /* base64url of 256 random bits */
#define JT_HASH_HEX_LEN 64 /* SHA-256 */
#define JT_MAX_EXPIRES_IN (10ll * 365 * 24 * 3600) /* seconds */

struct cg_join_token {
	char name[CG_NAME_MAX + 1];
	char hash[JT_HASH_HEX_LEN + 1]; /* of the secret */
	char groups[JT_MAX_LIST][CG_NAME_MAX + 1];
	unsigned int n_groups;
	char services[JT_MAX_LIST][CG_NAME_MAX + 1];
	unsigned int n_services;
	bool internet_access;
	int64_t created_at;
	int64_t expires_at; /* unix seconds; 0: never */
	uint32_t max_uses; /* 0: unlimited */
	uint32_t uses;
	/* Keys that joined with it: the same key joining again gets its
	 * peer back without another use. */
	wg_key *keys;
	size_t n_keys;
};

struct cg_join_tokens {
	struct cg_join_token *v;
	size_t n;
};

void jt_free(struct cg_join_tokens *t);

/* The file: a missing one is no tokens; a corrupt one an error. */
int jt_load(struct cg_join_tokens *t, const char *path, struct cg_error *err);
int jt_save(const struct cg_join_tokens *t, const char *path);
/* The file's text (jt_load's parser; fuzzed). */
int jt_parse(struct cg_join_tokens *t, const char *text, size_t len,
	     struct cg_error *err);
/* The file's text as jt_save writes it (malloc'd), NULL out of memory. */
char *jt_to_string(const struct cg_join_tokens *t);

/* A new token from POST /api/join-tokens' body, checked against st (its
 * services exist) and t (its name is free); secret receives the secret
 * to show once. 0 or -errno with err (400 naming the field, 409). */
int jt_create(struct cg_join_tokens *t, const struct cg_state *st,
	      json_object *body, int64_t now, char secret[JT_SECRET_LEN + 1],
	      struct cg_error *err);
/* Remove the token named name; 404 when there is none. */
int jt_delete(struct cg_join_tokens *t, const char *name, struct cg_error *err);
struct cg_join_token *jt_find(const struct cg_join_tokens *t, const char *name);

/* The token whose secret is secret, or NULL; every token is compared, in
 * constant time, whatever matches. */
struct cg_join_token *jt_match(const struct cg_join_tokens *t,
			       const char *secret);
bool jt_expired(const struct cg_join_token *tok, int64_t now);
bool jt_used_up(const struct cg_join_token *tok);
bool jt_joined(const struct cg_join_token *tok, const wg_key key);
/* Count a use by key, remembering the key: 1 when the key is new to the
 * token, 0 when it joined before (its peer was deleted), -ENOMEM. */
int jt_use(struct cg_join_token *tok, const wg_key key);
/* Take back a jt_use that answered added (the peer could not be made). */
void jt_unuse(struct cg_join_token *tok, const wg_key key, int added);

/* As GET /api/join-tokens lists it: never the secret or its hash. */
json_object *jt_to_json(const struct cg_join_token *tok, int64_t now);

#endif
