// SPDX-License-Identifier: MIT
/*
 * Cell-to-cell routes. The sync listener (on the wg address, reached over
 * WireGuard) serves them all; the pairing listener (every address: the
 * first contact, before a tunnel exists) only accept-invite. None takes
 * the admin token: each authenticates the calling cell itself
 * (ctl/cells/auth.c), from a cell_request this file fills in.
 */
#include "server.h"

/* The part of an HTTP request a cell-to-cell check reads. */
static struct cell_request cell_request_of(const struct api_request *req)
{
	return (struct cell_request){
		.method = req->method,
		.path = req->path,
		.body = req->body,
		.raw_body = req->raw_body,
		.raw_len = req->raw_len,
		.client = req->client,
		.timestamp = req->timestamp,
		.signature = req->signature,
	};
}

static void reply(struct api_response *resp, int ret, json_object *out,
		  const struct cg_error *err)
{
	if (ret) {
		api_error(resp, err);
		return;
	}
	resp->status = 200;
	resp->json = out;
}

static void accept_invite(struct controller *c, const struct api_request *req,
			  struct api_response *resp)
{
	struct cell_request creq = cell_request_of(req);
	struct cg_error err = { 0 };
	json_object *out = NULL;
	int ret;

	ret = ctl_sync_accept_invite(c, &creq, &out, &err);
	reply(resp, ret, out, &err);
}

static void permissions(struct controller *c, const struct api_request *req,
			struct api_response *resp)
{
	struct cell_request creq = cell_request_of(req);
	struct cg_error err = { 0 };
	json_object *out = NULL;
	int ret;

	ret = ctl_sync_permissions(c, &creq, &out, &err);
	reply(resp, ret, out, &err);
}

static void unlink_cell(struct controller *c, const struct api_request *req,
			struct api_response *resp)
{
	struct cell_request creq = cell_request_of(req);
	struct cg_error err = { 0 };
	json_object *out = NULL;
	int ret;

	ret = ctl_sync_unlink(c, &creq, &out, &err);
	reply(resp, ret, out, &err);
}

const struct api_route sync_routes[] = {
	{ "POST", "/api/cells/peer-sync/accept-invite", accept_invite, true,
	  true, 0 },
	{ "POST", "/api/cells/peer-sync/permissions", permissions, true, true,
	  0 },
	{ "POST", "/api/cells/peer-sync/unlink", unlink_cell, true, true, 0 },
	{ NULL, NULL, NULL, false, false, 0 },
};

const struct api_route pairing_routes[] = {
	{ "POST", "/api/cells/peer-sync/accept-invite", accept_invite, true,
	  true, 0 },
	{ NULL, NULL, NULL, false, false, 0 },
};
