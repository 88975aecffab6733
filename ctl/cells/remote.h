/* SPDX-License-Identifier: MIT */
/*
 * Talking to another cell: signed POSTs to its pairing or sync listener,
 * and the two calls an operation makes (accept-invite when linking, unlink
 * when unlinking). No lock is taken here: callers decide what they hold.
 */
#ifndef CELLGATE_CELLS_REMOTE_H
#define CELLGATE_CELLS_REMOTE_H

#include <curl/curl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "cell.h"
#include "crypto.h"
#include "util.h"

#define CELLS_PATH_ACCEPT "/api/cells/peer-sync/accept-invite"
#define CELLS_PATH_PERMISSIONS "/api/cells/peer-sync/permissions"
#define CELLS_PATH_UNLINK "/api/cells/peer-sync/unlink"

struct sync_reply {
	long status; /* HTTP status, 0 when there was no answer */
	char body[4096];
	size_t len;
	char error[CURL_ERROR_SIZE];
};

/* Wall-clock milliseconds: the signed timestamps' clock. */
uint64_t cells_wall_ms(void);

/* POST body to http://host:port+path, signed with key; from (if set) is
 * the source address (our wg address, which the remote authenticates). */
int cells_post(const char *host, uint16_t port, const char *path,
	       const char *body, const uint8_t key[LINK_KEY_LEN],
	       const struct in_addr *from, struct sync_reply *r);

/* The "error" of a JSON error reply, or the transport's. */
const char *cells_reply_error(const struct sync_reply *r);

/* Call the invite's cell with our description (me), signed with the link
 * key; its refusal becomes our answer to the operator (err). */
int cells_call_accept_invite(const struct cg_cell_info *me,
			     const struct cg_cell_info *remote,
			     const uint8_t key[LINK_KEY_LEN],
			     struct cg_error *err);

/* Tell a cell we unlinked it (best effort, logged): over the tunnel, from
 * our wg address, hello being our signed introduction. */
void cells_tell_unlink(const struct cg_cell_def *gone, const char *hello,
		       const struct in_addr *from);

#endif
