/* SPDX-License-Identifier: MIT */
/*
 * Devices that enrol themselves (join tokens, POST /api/join) and a peer's
 * own API (/api/peer/me...), identified by the WireGuard address the
 * request comes from: cryptokey routing is the authentication.
 */
#ifndef CELLGATE_JOIN_H
#define CELLGATE_JOIN_H

#include <json-c/json.h>
#include <netinet/in.h>
#include <stdint.h>

#include "join_token.h"

struct controller;
struct metrics;

/* Why a join was refused, as /metrics labels it. */
enum join_refusal {
	JOIN_NO_TOKEN, /* no X-Join-Token */
	JOIN_BAD_TOKEN, /* no such token (or revoked) */
	JOIN_EXPIRED,
	JOIN_USED_UP,
	JOIN_RATE_LIMITED, /* 429: the source asked too often */
	JOIN_INVALID, /* 400: the body */
	JOIN_CONFLICT, /* 409: the key or name belongs to another peer */
	JOIN__MAX,
};

/* A key change of a peer's own (POST /api/peer/me/key): the state and
 * the maps change before the answer, WireGuard a moment after it, so the
 * answer still reaches the peer through its old key. */
struct join_key_swap {
	bool pending;
	uint64_t due_ns;
	struct cg_peer_def old; /* as WireGuard has it */
	char name[CG_NAME_MAX + 1];
};

struct ctl_join {
	struct cg_join_tokens tokens;
	char path[PATH_MAX]; /* state_dir/join-tokens.json */
	uint64_t refused[JOIN__MAX];
	uint64_t joined_new, joined_again;
	uint64_t peer_api_refused; /* 403 on the peer listener */
	uint64_t keys_rotated;
	struct join_key_swap swap;
};

/* At start: read state_dir/join-tokens.json. */
int ctl_join_load(struct controller *c);
void ctl_join_free(struct controller *c);
/* From the tick: a key swap that is due. */
void ctl_join_tick(struct controller *c, uint64_t now_ns);
void ctl_join_metrics(const struct controller *c, struct metrics *m);

/* Admin: POST, GET, DELETE /api/join-tokens. */
int ctl_join_token_add(struct controller *c, json_object *body,
		       json_object **out, struct cg_error *err);
int ctl_join_token_list(struct controller *c, json_object **out);
int ctl_join_token_get(struct controller *c, const char *name,
		       json_object **out, struct cg_error *err);
int ctl_join_token_delete(struct controller *c, const char *name,
			  struct cg_error *err);

/* POST /api/join: 201 (a new peer) or 200 (the key joined before), with
 * {"name", "ip", "config"}; *status says which. */
int ctl_join(struct controller *c, const char *token, json_object *body,
	     json_object **out, int *status, struct cg_error *err);
/* Count a refusal decided before ctl_join (no token, rate limit). */
void ctl_join_refused(struct controller *c, enum join_refusal why);

/* The peer API: the peer whose wg address (ip, or ip6; IPv4 as
 * ::ffff:a.b.c.d) is from, or 403. */
int ctl_peer_me(struct controller *c, const struct in6_addr *from,
		json_object **out, struct cg_error *err);
int ctl_peer_me_config(struct controller *c, const struct in6_addr *from,
		       char **text, struct cg_error *err);
int ctl_peer_me_key(struct controller *c, const struct in6_addr *from,
		    json_object *body, json_object **out, struct cg_error *err);
/* A request on the peer listener that no peer route takes (403). */
void ctl_peer_api_refused(struct controller *c);

#endif
