// SPDX-License-Identifier: MIT
/* The REST routes: thin adapters from HTTP to controller operations. */
#include <stdlib.h>
#include <string.h>

#include "client_config.h"
#include "metrics.h"
#include "server.h"

/* Answer with out (200/201) or err. */
static void reply(struct api_response *resp, int ret, json_object *out,
		  const struct cg_error *err, int ok_status)
{
	if (ret) {
		api_error(resp, err);
		return;
	}
	resp->status = ok_status;
	resp->json = out;
}

static void get_health(struct controller *c, const struct api_request *req,
		       struct api_response *resp)
{
	(void)c;
	(void)req;
	resp->json = json_object_new_object();
	json_object_object_add(resp->json, "status",
			       json_object_new_string("ok"));
}

/* Prometheus text format 0.0.4. */
static void get_metrics(struct controller *c, const struct api_request *req,
			struct api_response *resp)
{
	struct cg_error err = { 0 };
	char *text;
	size_t len;

	(void)req;
	if (ctl_metrics(c, &text, &len)) {
		cg_error_set(&err, 500, "", "cannot read the metrics");
		api_error(resp, &err);
		return;
	}
	resp->raw = text;
	resp->raw_len = len;
	resp->content_type = METRICS_CONTENT_TYPE;
}

static void get_status(struct controller *c, const struct api_request *req,
		       struct api_response *resp)
{
	(void)req;
	ctl_status(c, &resp->json);
}

static void list_services(struct controller *c, const struct api_request *req,
			  struct api_response *resp)
{
	(void)req;
	ctl_list_services(c, &resp->json);
}

static void get_service(struct controller *c, const struct api_request *req,
			struct api_response *resp)
{
	struct cg_error err = { 0 };
	json_object *out = NULL;
	int ret;

	ret = ctl_get_service(c, req->param, &out, &err);
	reply(resp, ret, out, &err, 200);
}

static void put_service(struct controller *c, const struct api_request *req,
			struct api_response *resp)
{
	struct cg_error err = { 0 };
	json_object *out = NULL;
	int ret;

	ret = ctl_put_service(c, req->param, req->body, &out, &err);
	reply(resp, ret, out, &err, 200);
}

static void delete_service(struct controller *c, const struct api_request *req,
			   struct api_response *resp)
{
	struct cg_error err = { 0 };
	int ret;

	ret = ctl_delete_service(c, req->param, &err);
	reply(resp, ret, NULL, &err, 204);
}

static void list_peers(struct controller *c, const struct api_request *req,
		       struct api_response *resp)
{
	(void)req;
	ctl_list_peers(c, &resp->json);
}

static void add_peer(struct controller *c, const struct api_request *req,
		     struct api_response *resp)
{
	struct cg_error err = { 0 };
	json_object *out = NULL;
	int ret;

	ret = ctl_add_peer(c, req->body, &out, &err);
	reply(resp, ret, out, &err, 201);
}

/* All or nothing: 201 once every peer is in the maps and WireGuard. */
static void import_peers(struct controller *c, const struct api_request *req,
			 struct api_response *resp)
{
	struct cg_error err = { 0 };
	json_object *out = NULL;
	int ret;

	ret = ctl_import_peers(c, req->body, &out, &err);
	reply(resp, ret, out, &err, 201);
}

static void get_peer(struct controller *c, const struct api_request *req,
		     struct api_response *resp)
{
	struct cg_error err = { 0 };
	json_object *out = NULL;
	int ret;

	ret = ctl_get_peer(c, req->param, &out, &err);
	reply(resp, ret, out, &err, 200);
}

static void put_peer(struct controller *c, const struct api_request *req,
		     struct api_response *resp)
{
	struct cg_error err = { 0 };
	json_object *out = NULL;
	int ret;

	ret = ctl_update_peer(c, req->param, req->body, &out, &err);
	reply(resp, ret, out, &err, 200);
}

static void delete_peer(struct controller *c, const struct api_request *req,
			struct api_response *resp)
{
	struct cg_error err = { 0 };
	int ret;

	ret = ctl_delete_peer(c, req->param, &err);
	reply(resp, ret, NULL, &err, 204);
}

/* The client config as wg-quick text, or ?format=qr as a PNG QR code. */
static void get_peer_config(struct controller *c, const struct api_request *req,
			    struct api_response *resp)
{
	struct cg_error err = { 0 };
	unsigned char *png;
	char *text = NULL;
	size_t len;
	int ret;

	if (req->format && strcmp(req->format, "qr") &&
	    strcmp(req->format, "conf")) {
		cg_error_set(&err, 400, "format",
			     "'format' must be conf or qr");
		api_error(resp, &err);
		return;
	}
	ret = ctl_peer_config(c, req->param, &text, &err);
	if (ret) {
		api_error(resp, &err);
		return;
	}
	if (req->format && !strcmp(req->format, "qr")) {
		ret = client_config_qr_png(text, &png, &len);
		explicit_bzero(text, strlen(text));
		free(text);
		if (ret) {
			cg_error_set(&err, 500, "", "cannot draw the QR code");
			api_error(resp, &err);
			return;
		}
		resp->raw = png;
		resp->raw_len = len;
		resp->content_type = "image/png";
		return;
	}
	resp->raw = text;
	resp->raw_len = strlen(text);
	resp->content_type = "text/plain; charset=utf-8";
}

static void list_forwards(struct controller *c, const struct api_request *req,
			  struct api_response *resp)
{
	(void)req;
	ctl_list_forwards(c, &resp->json);
}

static void add_forward(struct controller *c, const struct api_request *req,
			struct api_response *resp)
{
	struct cg_error err = { 0 };
	json_object *out = NULL;
	int ret;

	ret = ctl_add_forward(c, req->body, &out, &err);
	reply(resp, ret, out, &err, 201);
}

static void get_forward(struct controller *c, const struct api_request *req,
			struct api_response *resp)
{
	struct cg_error err = { 0 };
	json_object *out = NULL;
	int ret;

	ret = ctl_get_forward(c, req->param, &out, &err);
	reply(resp, ret, out, &err, 200);
}

static void delete_forward(struct controller *c, const struct api_request *req,
			   struct api_response *resp)
{
	struct cg_error err = { 0 };
	int ret;

	ret = ctl_delete_forward(c, req->param, &err);
	reply(resp, ret, NULL, &err, 204);
}

/* Handlers of one shape: a controller call answering out or err. */
#define HANDLER(name, call, ok)                                               \
	static void name(struct controller *c, const struct api_request *req, \
			 struct api_response *resp)                           \
	{                                                                     \
		struct cg_error err = { 0 };                                  \
		json_object *out = NULL;                                      \
		int ret;                                                      \
                                                                              \
		(void)req;                                                    \
		ret = call;                                                   \
		reply(resp, ret, out, &err, ok);                              \
	}

HANDLER(add_join_token, ctl_join_token_add(c, req->body, &out, &err), 201)
HANDLER(list_join_tokens, ctl_join_token_list(c, &out), 200)
HANDLER(get_join_token, ctl_join_token_get(c, req->param, &out, &err), 200)
HANDLER(delete_join_token, ctl_join_token_delete(c, req->param, &err), 204)
HANDLER(cell_invite, ctl_cell_invite(c, &out, &err), 201)
HANDLER(list_invites, ctl_list_invites(c, &out), 200)
HANDLER(revoke_invite, ctl_revoke_invite(c, req->param, &err), 204)
HANDLER(list_cells, ctl_list_cells(c, &out), 200)
HANDLER(list_rules, ctl_list_rules(c, &out), 200)
HANDLER(get_rule, ctl_get_rule(c, req->param, &out, &err), 200)
HANDLER(put_rule, ctl_put_rule(c, req->param, req->body, &out, &err), 200)
HANDLER(delete_rule, ctl_delete_rule(c, req->param, &err), 204)
HANDLER(list_groups, ctl_list_groups(c, &out), 200)
HANDLER(get_group, ctl_get_group(c, req->param, &out, &err), 200)
HANDLER(put_group, ctl_put_group(c, req->param, req->body, &out, &err), 200)
HANDLER(delete_group, ctl_delete_group(c, req->param, &err), 204)
HANDLER(list_exits, ctl_list_exits(c, &out), 200)
HANDLER(get_exit, ctl_get_exit(c, req->param, &out, &err), 200)
HANDLER(put_exit, ctl_put_exit(c, req->param, req->body, &out, &err), 200)
HANDLER(delete_exit, ctl_delete_exit(c, req->param, &err), 204)
HANDLER(put_peer_exit, ctl_put_peer_exit(c, req->param, req->body, &out, &err),
	200)
HANDLER(link_cell, ctl_link_cell(c, req->body, &out, &err), 201)
HANDLER(get_cell, ctl_get_cell(c, req->param, &out, &err), 200)
HANDLER(unlink_cell, ctl_unlink_cell(c, req->param, &err), 204)
HANDLER(get_cell_permissions,
	ctl_get_cell_permissions(c, req->param, &out, &err), 200)
HANDLER(put_cell_permissions,
	ctl_put_cell_permissions(c, req->param, req->body, &out, &err), 200)

const struct api_route api_routes[] = {
	{ "GET", "/health", get_health, true, false, 0 },
	{ "GET", "/metrics", get_metrics, false, false, 0 },
	{ "GET", "/api/status", get_status, false, false, 0 },
	{ "GET", "/api/services", list_services, false, false, 0 },
	{ "GET", "/api/services/{name}", get_service, false, false, 0 },
	{ "PUT", "/api/services/{name}", put_service, false, true, 0 },
	{ "DELETE", "/api/services/{name}", delete_service, false, false, 0 },
	{ "GET", "/api/peers", list_peers, false, false, 0 },
	{ "POST", "/api/peers", add_peer, false, true, 0 },
	/* Spelled out, so a peer named "import" is reached by no {name}
	 * route; its body may be large (token holders only). */
	{ "POST", "/api/peers/import", import_peers, false, true,
	  API_MAX_IMPORT_BODY },
	{ "GET", "/api/peers/{name}", get_peer, false, false, 0 },
	{ "PUT", "/api/peers/{name}", put_peer, false, true, 0 },
	{ "DELETE", "/api/peers/{name}", delete_peer, false, false, 0 },
	{ "GET", "/api/peers/{name}/config", get_peer_config, false, false, 0 },
	{ "GET", "/api/join-tokens", list_join_tokens, false, false, 0 },
	{ "POST", "/api/join-tokens", add_join_token, false, true, 0 },
	{ "GET", "/api/join-tokens/{name}", get_join_token, false, false, 0 },
	{ "DELETE", "/api/join-tokens/{name}", delete_join_token, false, false,
	  0 },
	{ "GET", "/api/rules", list_rules, false, false, 0 },
	{ "GET", "/api/rules/{name}", get_rule, false, false, 0 },
	{ "PUT", "/api/rules/{name}", put_rule, false, true, 0 },
	{ "DELETE", "/api/rules/{name}", delete_rule, false, false, 0 },
	{ "GET", "/api/groups", list_groups, false, false, 0 },
	{ "GET", "/api/groups/{name}", get_group, false, false, 0 },
	{ "PUT", "/api/groups/{name}", put_group, false, true, 0 },
	{ "DELETE", "/api/groups/{name}", delete_group, false, false, 0 },
	{ "GET", "/api/exits", list_exits, false, false, 0 },
	{ "GET", "/api/exits/{name}", get_exit, false, false, 0 },
	{ "PUT", "/api/exits/{name}", put_exit, false, true, 0 },
	{ "DELETE", "/api/exits/{name}", delete_exit, false, false, 0 },
	/* PIC's ConnectivityManager route, an alias of the peer's "exit". */
	{ "PUT", "/api/connectivity/peers/{name}/exit", put_peer_exit, false,
	  true, 0 },
	{ "GET", "/api/forwards", list_forwards, false, false, 0 },
	{ "POST", "/api/forwards", add_forward, false, true, 0 },
	{ "GET", "/api/forwards/{id}", get_forward, false, false, 0 },
	{ "DELETE", "/api/forwards/{id}", delete_forward, false, false, 0 },
	/* Fixed paths are theirs alone: no {name} route takes them. POST:
	 * creating an invite takes one of the pending slots. */
	{ "POST", "/api/cells/invite", cell_invite, false, false, 0 },
	{ "GET", "/api/cells/invites", list_invites, false, false, 0 },
	{ "DELETE", "/api/cells/invites/{id}", revoke_invite, false, false, 0 },
	{ "GET", "/api/cells", list_cells, false, false, 0 },
	{ "POST", "/api/cells", link_cell, false, true, 0 },
	{ "GET", "/api/cells/{name}", get_cell, false, false, 0 },
	{ "DELETE", "/api/cells/{name}", unlink_cell, false, false, 0 },
	{ "GET", "/api/cells/{name}/permissions", get_cell_permissions, false,
	  false, 0 },
	{ "PUT", "/api/cells/{name}/permissions", put_cell_permissions, false,
	  true, 0 },
	{ NULL, NULL, NULL, false, false, 0 },
};

/* The dedicated metrics listener ("metrics.listen"): what Prometheus
 * scrapes, without the admin token; nothing else. */
const struct api_route metrics_routes[] = {
	{ "GET", "/health", get_health, true, false, 0 },
	{ "GET", "/metrics", get_metrics, true, false, 0 },
	{ NULL, NULL, NULL, false, false, 0 },
};

/* The admin API on api.listen. */
struct api_server *api_start(struct controller *c)
{
	return api_start_on(c, api_routes, c->cfg.api.listen_addr,
			    c->cfg.api.listen_port, "api");
}

/* Matching in the admin table (tests). */
const struct api_route *api_match(const char *method, const char *path,
				  char *param, size_t param_len,
				  bool *path_known)
{
	return api_match_in(api_routes, method, path, param, param_len,
			    path_known);
}
