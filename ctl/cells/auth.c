// SPDX-License-Identifier: MIT
/*
 * Every call between linked cells goes over WireGuard to the sync listener
 * on each router's wg address, and must pass two checks: the TCP peer is
 * the remote cell's router address (WireGuard's cryptokey routing makes
 * that proof of the remote's key, and a peer of that cell has another
 * address), and the request is signed with the link key, with a timestamp
 * newer than the last one accepted from that cell (no replay). Headers
 * such as X-Forwarded-For are never read.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "jsonx.h"
#include "log.h"
#include "remote.h"

#define SYNC_CLOCK_SKEW_MS (300 * 1000) /* accepted drift between cells */
#define REFUSED_LOG_EVERY_NS (10ull * 1000000000ull)

const char *const cell_refused_names[CELL_REFUSED__MAX] = {
	[CELL_REFUSED_NOT_LINKED] = "not_linked_address",
	[CELL_REFUSED_WRONG_KEY] = "wrong_key",
	[CELL_REFUSED_BAD_TIMESTAMP] = "bad_timestamp",
	[CELL_REFUSED_BAD_SIGNATURE] = "bad_signature",
	[CELL_REFUSED_REPLAY] = "replay",
	[CELL_REFUSED_NO_INVITE] = "no_invite",
};

/* Logged at most once per reason every 10 s (with how many went
 * unlogged): a refused call is someone probing or a linked cell out of
 * step, and either should be visible. */
int cells_forbidden(struct cell_refusals *rf, const struct cell_request *req,
		    enum cell_refused why, struct cg_error *err,
		    const char *msg)
{
	uint64_t now = monotonic_ns();
	uint64_t *last = &rf->log_ns[why];
	char ip[16];

	rf->count[why]++;
	if (!*last || now - *last >= REFUSED_LOG_EVERY_NS) {
		log_warn("refused a cell-to-cell call from %s to %s: %s (%s; "
			 "%" PRIu64 " more since the last line)",
			 ipv4_str(req->client, ip), req->path, msg,
			 cell_refused_names[why],
			 rf->count[why] - 1 - rf->logged[why]);
		*last = now;
		rf->logged[why] = rf->count[why];
	}
	cg_error_set(err, 403, "", "%s", msg);
	return -EPERM;
}

bool cells_fresh(const char *ts, uint64_t *ms)
{
	uint64_t now = cells_wall_ms();
	char *end;

	if (!ts || !*ts || strspn(ts, "0123456789") != strlen(ts))
		return false;
	*ms = strtoull(ts, &end, 10);
	return *ms + SYNC_CLOCK_SKEW_MS >= now &&
	       *ms <= now + SYNC_CLOCK_SKEW_MS;
}

/* Does the body name the cell's key? */
static bool claims_key_of(const struct cell_request *req,
			  const struct cg_cell_def *cell, struct cg_error *err)
{
	char key[WG_KEY_B64_LEN + 2] = "";
	wg_key claimed;

	return req->body &&
	       jx_string(req->body, "from_public_key", true, "", key,
			 sizeof(key), err) &&
	       key_from_base64(claimed, key) &&
	       key_equal(claimed, cell->info.public_key);
}

struct cg_cell_def *cells_authenticate(struct cg_state *st,
				       struct cell_refusals *rf,
				       const struct cell_request *req,
				       struct cg_error *err)
{
	struct cg_cell_def *cell = state_cell_by_address(st, req->client);
	enum cell_refused why;
	const char *msg;
	uint64_t ts;

	if (!cell) {
		why = CELL_REFUSED_NOT_LINKED;
		msg = "not a linked cell's router address";
	} else if (!claims_key_of(req, cell, err)) {
		why = CELL_REFUSED_WRONG_KEY;
		msg = "from_public_key is not this cell's";
	} else if (!cells_fresh(req->timestamp, &ts)) {
		why = CELL_REFUSED_BAD_TIMESTAMP;
		msg = "bad or missing signature";
	} else if (!request_mac_ok(req->signature, cell->link_key, req->method,
				   req->path, req->timestamp, req->raw_body,
				   req->raw_len)) {
		why = CELL_REFUSED_BAD_SIGNATURE;
		msg = "bad or missing signature";
	} else if (ts <= cell->last_remote_ts_ms) {
		why = CELL_REFUSED_REPLAY;
		msg = "replayed request";
	} else {
		cell->last_remote_ts_ms = ts;
		return cell;
	}
	cells_forbidden(rf, req, why, err, msg);
	return NULL;
}

int cells_find_invite(const struct cg_state *st, const wg_key pub,
		      const struct cell_request *req,
		      const struct cg_cell_info *them,
		      uint8_t key[LINK_KEY_LEN])
{
	uint8_t raw[PAIRING_SECRET_LEN];
	size_t i;

	for (i = 0; i < st->n_invites; i++) {
		if (!pairing_secret_decode(raw, st->invites[i].secret) ||
		    link_key_derive(key, raw, sizeof(raw), pub,
				    them->public_key))
			continue;
		if (request_mac_ok(req->signature, key, req->method, req->path,
				   req->timestamp, req->raw_body,
				   req->raw_len)) {
			explicit_bzero(raw, sizeof(raw));
			return (int)i;
		}
	}
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(key, LINK_KEY_LEN);
	return -1;
}
