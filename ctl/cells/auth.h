/* SPDX-License-Identifier: MIT */
/*
 * Who is calling: the checks a cell-to-cell request must pass before the
 * daemon acts on it, and the count of refusals by reason. Requests come as
 * a plain struct cell_request, which the API layer fills in.
 */
#ifndef CELLGATE_CELLS_AUTH_H
#define CELLGATE_CELLS_AUTH_H

#include <json-c/json.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "cell.h"
#include "crypto.h"
#include "state.h"
#include "util.h"

/* A cell-to-cell request as received: signatures cover the exact bytes. */
struct cell_request {
	const char *method;
	const char *path;
	json_object *body; /* parsed body, or NULL */
	const char *raw_body;
	size_t raw_len;
	struct in_addr client; /* the TCP peer's address */
	const char *timestamp; /* X-Cellgate-Timestamp */
	const char *signature; /* X-Cellgate-Signature */
};

/* Why a cell-to-cell call was refused (cellgate_cell_sync_refused_total). */
enum cell_refused {
	CELL_REFUSED_NOT_LINKED, /* TCP peer is no linked cell's router */
	CELL_REFUSED_WRONG_KEY, /* from_public_key is not that cell's */
	CELL_REFUSED_BAD_TIMESTAMP, /* missing, or off by over the skew */
	CELL_REFUSED_BAD_SIGNATURE, /* HMAC missing or wrong */
	CELL_REFUSED_REPLAY, /* timestamp not newer than the last */
	CELL_REFUSED_NO_INVITE, /* accept-invite no pending invite signed */
	CELL_REFUSED__MAX
};
extern const char *const cell_refused_names[CELL_REFUSED__MAX];

/* Refused calls by reason, and when each reason was last logged: a
 * stranger may call as often as it likes, the log gets a line per reason
 * every few seconds. */
struct cell_refusals {
	uint64_t count[CELL_REFUSED__MAX];
	uint64_t logged[CELL_REFUSED__MAX]; /* count when last logged */
	uint64_t log_ns[CELL_REFUSED__MAX];
};

/* 403 for why: counted, logged (rate-limited), err set; returns -EPERM. */
int cells_forbidden(struct cell_refusals *rf, const struct cell_request *req,
		    enum cell_refused why, struct cg_error *err,
		    const char *msg);

/* The timestamp header: digits, within the accepted clock skew; *ms is
 * its value. */
bool cells_fresh(const char *ts, uint64_t *ms);

/* The linked cell req comes from, both factors checked (router address
 * and link-key signature, timestamp newer than the last accepted, which
 * becomes the last), or NULL with a counted 403 in err. */
struct cg_cell_def *cells_authenticate(struct cg_state *st,
				       struct cell_refusals *rf,
				       const struct cell_request *req,
				       struct cg_error *err);

/* Which of st's pending invites signed req (them asking to link, pub our
 * key)? Its index with the link key in key, or -1. */
int cells_find_invite(const struct cg_state *st, const wg_key pub,
		      const struct cell_request *req,
		      const struct cg_cell_info *them,
		      uint8_t key[LINK_KEY_LEN]);

#endif
