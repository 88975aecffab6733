/* SPDX-License-Identifier: MIT */
/*
 * Linked cells: what a cell says about itself (its invite), what we keep
 * of a link (the cell, its link key, what each side shares) and pending
 * invites. The state holds them (state.h); this file parses, checks and
 * renders them.
 */
#ifndef CELLGATE_CELL_H
#define CELLGATE_CELL_H

#include <json-c/json.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "abi.h"
#include "config.h"
#include "crypto.h"
#include "key.h"
#include "util.h"

struct cg_service_def; /* state.h */

#define CG_CELL_VERSION 1 /* of the invite format */
#define CG_MAX_CELLS 64
#define CG_MAX_INVITES 16 /* pending at once */
#define CG_INVITE_TTL_S (24 * 3600) /* a pairing secret's life */
#define CG_MAX_OUTBOUND 64 /* services a remote may say it shares */

/* A cell as its invite describes it (also the body of accept-invite). */
struct cg_cell_info {
	char cell_name[CG_NAME_MAX + 1];
	wg_key public_key;
	char endpoint[256]; /* host:port of its WireGuard */
	struct cg_cidr vpn_subnet;
	/* "subnet6" (issue 17): its WireGuard IPv6 subnet, if it has one. */
	bool has_subnet6;
	struct cg_cidr6 subnet6;
	struct in_addr wg_address; /* its router: where peer-sync goes */
	bool has_dns_ip;
	struct in_addr dns_ip;
	char domain[254];
	uint16_t sync_port; /* on wg_address, over WireGuard */
	uint16_t pairing_port; /* on its endpoint's host, for accept-invite */
};

struct cg_cell_def {
	struct cg_cell_info info;
	uint32_t id; /* identity id (shared with peers: counters, epochs) */
	uint8_t link_key[LINK_KEY_LEN];
	uint64_t inbound[CG_SERVICE_WORDS]; /* what we share, by service id */
	/* What the remote says it shares with us, by its service names. */
	char outbound[CG_MAX_OUTBOUND][CG_NAME_MAX + 1];
	unsigned int n_outbound;
	int64_t linked_at;
	/* Peer-sync, pushing our inbound to the remote: */
	bool pending_push;
	int last_push_status; /* HTTP status, 0 = no answer */
	int64_t last_push_at; /* unix seconds, 0 = never */
	char last_push_error[160];
	int64_t last_remote_update_at; /* the remote's last push to us */
	uint64_t last_remote_ts_ms; /* replay guard: newest accepted stamp */
	/* Not saved: when to try the next push, and the backoff; pushes
	 * tried and failed since the controller started (for /metrics). */
	uint64_t push_next_ns;
	uint64_t push_delay_ns;
	uint64_t pushes;
	uint64_t push_failures;
};

struct cg_invite {
	char secret[PAIRING_SECRET_B64_LEN + 1];
	int64_t created_at;
	int64_t expires_at;
};

/* Parse a cell's description. An invite carries pairing_secret (secret
 * != NULL: required and returned); an accept-invite body must not. */
bool cell_info_parse(json_object *o, struct cg_cell_info *info,
		     char secret[PAIRING_SECRET_B64_LEN + 1],
		     struct cg_error *err);
json_object *cell_info_to_json(const struct cg_cell_info *info);
/* Our own description, from the configuration. */
void cell_info_of_config(const struct cg_config *cfg, const wg_key pub,
			 struct cg_cell_info *info);

json_object *cell_to_json(const struct cg_cell_def *cell,
			  const struct cg_service_def *services,
			  size_t n_services, bool for_state);
/* Read a cell back from the state file. */
bool cell_from_state(json_object *o, struct cg_cell_def *cell,
		     const struct cg_service_def *services, size_t n_services,
		     struct cg_error *err);

/* {"svc": true, ...} as a list of names (for outbound views). */
bool cell_parse_shares(json_object *o, const char *field,
		       char names[CG_MAX_OUTBOUND][CG_NAME_MAX + 1],
		       unsigned int *n, struct cg_error *err);

#endif
