// SPDX-License-Identifier: MIT
/*
 * Cell-to-cell links: pairing, sharing and peer-sync.
 *
 * Pairing: cell B's operator hands an invite (B's description and a
 * random, single-use pairing secret) to A's operator, out of band. A links
 * B (WireGuard peer, route, identity) and calls B's accept-invite with its
 * own description, signed with the link key both derive from the secret
 * (HKDF, crypto.c); B checks the signature against its pending invites and
 * links A. The call goes to B's pairing listener, not over WireGuard: B's
 * WireGuard drops A's handshake until B knows A's key. The secret itself
 * never travels.
 *
 * Afterwards everything between the cells goes over WireGuard to the sync
 * listener on each router's wg address, and must pass two checks: the
 * TCP peer is the remote cell's router address (WireGuard's cryptokey
 * routing makes that proof of the remote's key, and a peer of that cell
 * has another address), and the request is signed with the link key,
 * with a timestamp newer than the last one accepted from that cell (no
 * replay). Headers such as X-Forwarded-For are never read.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller.h"
#include "controller_internal.h"
#include "crypto.h"
#include "jsonx.h"
#include "log.h"
#include "route.h"
#include "server.h"

#define SYNC_TIMEOUT_MS 3000
#define SYNC_CLOCK_SKEW_MS (300 * 1000) /* accepted drift between cells */
#define PUSH_BACKOFF_MIN_NS (1000ull * 1000000ull)
#define PUSH_BACKOFF_MAX_NS (60ull * 1000000000ull)
#define PATH_ACCEPT "/api/cells/peer-sync/accept-invite"
#define PATH_PERMISSIONS "/api/cells/peer-sync/permissions"
#define PATH_UNLINK "/api/cells/peer-sync/unlink"

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- talking to another cell ---------------------------------------------- */

struct sync_reply {
	long status; /* HTTP status, 0 when there was no answer */
	char body[4096];
	size_t len;
	char error[CURL_ERROR_SIZE];
};

static size_t on_reply(char *data, size_t size, size_t n, void *arg)
{
	struct sync_reply *r = arg;
	size_t len = size * n, room = sizeof(r->body) - 1 - r->len;

	memcpy(r->body + r->len, data, len < room ? len : room);
	r->len += len < room ? len : room;
	r->body[r->len] = '\0';
	return len;
}

/* POST body to http://host:port+path, signed with key; from (if set) is
 * the source address (our wg address, which the remote authenticates). */
static int sync_post(const char *host, uint16_t port, const char *path,
		     const char *body, const uint8_t key[LINK_KEY_LEN],
		     const struct in_addr *from, struct sync_reply *r)
{
	char url[512], ts[32], sig[MAC_HEX_LEN + 1], h_ts[64], h_sig[128];
	char iface[32], ip[16];
	struct curl_slist *hdrs = NULL;
	CURL *curl = curl_easy_init();
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	if (!curl)
		return -ENOMEM;
	snprintf(url, sizeof(url), "http://%s:%u%s", host, port, path);
	snprintf(ts, sizeof(ts), "%" PRIu64, wall_ms());
	request_mac(sig, key, "POST", path, ts, body, strlen(body));
	snprintf(h_ts, sizeof(h_ts), "X-Cellgate-Timestamp: %s", ts);
	snprintf(h_sig, sizeof(h_sig), "X-Cellgate-Signature: %s", sig);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, h_ts);
	hdrs = curl_slist_append(hdrs, h_sig);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)SYNC_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_reply);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, r->error);
	if (from) {
		snprintf(iface, sizeof(iface), "host!%s", ipv4_str(*from, ip));
		curl_easy_setopt(curl, CURLOPT_INTERFACE, iface);
	}
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	else if (!r->error[0])
		snprintf(r->error, sizeof(r->error), "%s",
			 curl_easy_strerror(rc));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	return rc == CURLE_OK ? 0 : -EHOSTUNREACH;
}

/* The "error" of a JSON error reply, or the transport's. */
static const char *reply_error(const struct sync_reply *r)
{
	static char msg[256];
	json_object *o = json_tokener_parse(r->body), *e;

	snprintf(msg, sizeof(msg), "%s",
		 r->status ? "unexpected reply" : r->error);
	if (o && json_object_object_get_ex(o, "error", &e))
		snprintf(msg, sizeof(msg), "%s", json_object_get_string(e));
	json_object_put(o);
	return msg;
}

/* ---- applying cells ----------------------------------------------------------- */

int ctl_route_cells(struct controller *c)
{
	struct cg_cidr nets[CG_MAX_CELLS];
	size_t i;

	for (i = 0; i < c->state.n_cells; i++)
		nets[i] = c->state.cells[i].info.vpn_subnet;
	return route_sync(c->cfg.wireguard.interface, nets, c->state.n_cells);
}

/* Maps, WireGuard peers and routes after a cell change. */
static int apply_cells(struct controller *c)
{
	int ret = ctl_sync_maps(c);

	if (!ret)
		ret = ctl_wg_sync(c, false);
	if (!ret)
		ret = ctl_route_cells(c);
	return ret;
}

static void our_info(struct controller *c, struct cg_cell_info *info)
{
	cell_info_of_config(&c->cfg, c->public_key, info);
}

/* Ask the pusher to tell cell what we share, now. */
static void push_soon(struct controller *c, struct cg_cell_def *cell)
{
	cell->pending_push = true;
	cell->push_next_ns = 0;
	cell->push_delay_ns = 0;
	pthread_cond_signal(&c->push_wake);
}

static json_object *cell_view(struct controller *c,
			      const struct cg_cell_def *cell,
			      const struct wg_device *dev)
{
	json_object *o = cell_to_json(cell, c->state.services,
				      c->state.n_services, false);
	struct cg_counters sum;
	int64_t hs = 0;
	size_t i;

	for (i = 0; dev && i < dev->n_peers; i++)
		if (key_equal(dev->peers[i].public_key, cell->info.public_key))
			hs = dev->peers[i].last_handshake_sec;
	json_object_object_add(o, "last_handshake_at",
			       json_object_new_int64(hs));
	if (dp_counters(&c->dp, cell->id, &sum) == 0)
		json_object_object_add(o, "counters", ctl_counters_json(&sum));
	return o;
}

/* ---- the admin side ----------------------------------------------------------- */

/* An invite as listed: its id and times, never its secret. */
static json_object *invite_view(const struct cg_invite *inv)
{
	char id[INVITE_ID_LEN + 1] = "";
	json_object *o = json_object_new_object();

	invite_id(id, inv->secret); /* only fails out of memory: id "" */
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "created_at",
			       json_object_new_int64(inv->created_at));
	json_object_object_add(o, "expires_at",
			       json_object_new_int64(inv->expires_at));
	return o;
}

int ctl_cell_invite(struct controller *c, json_object **out,
		    struct cg_error *err)
{
	struct cg_invite inv = { 0 };
	struct cg_cell_info me;
	struct cg_state before;
	json_object *view;
	int ret;

	pthread_mutex_lock(&c->lock);
	if (!c->cfg.sync.port || !c->cfg.sync.pairing_port ||
	    !c->cfg.wireguard.endpoint[0]) {
		cg_error_set(err, 409, "",
			     "linking needs wireguard.endpoint, sync.port and "
			     "sync.pairing_port in the config");
		ret = -EINVAL;
		goto out;
	}
	ret = ctl_snapshot(c, &before, err);
	if (ret)
		goto out;
	state_expire_invites(&c->state, (int64_t)time(NULL));
	ret = pairing_secret_new(inv.secret);
	inv.created_at = (int64_t)time(NULL);
	inv.expires_at = inv.created_at + CG_INVITE_TTL_S;
	if (!ret)
		ret = state_add_invite(&c->state, &inv, err);
	if (ret) {
		ctl_rollback(c, &before);
		goto out;
	}
	ret = ctl_commit(c, &before, err);
	if (ret)
		goto out;
	our_info(c, &me);
	*out = cell_info_to_json(&me);
	json_object_object_add(*out, "pairing_secret",
			       json_object_new_string(inv.secret));
	json_object_object_add(*out, "expires_at",
			       json_object_new_int64(inv.expires_at));
	/* The id to list or revoke it by; the other cell ignores it. */
	view = invite_view(&inv);
	json_object_object_add(
		*out, "invite_id",
		json_object_get(json_object_object_get(view, "id")));
	json_object_put(view);
out:
	explicit_bzero(&inv, sizeof(inv));
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int ctl_list_invites(struct controller *c, json_object **out)
{
	json_object *arr = json_object_new_array();
	size_t i;

	pthread_mutex_lock(&c->lock);
	/* Expired ones are left out, and dropped at the next change. */
	for (i = 0; i < c->state.n_invites; i++)
		if (c->state.invites[i].expires_at > (int64_t)time(NULL))
			json_object_array_add(
				arr, invite_view(&c->state.invites[i]));
	pthread_mutex_unlock(&c->lock);
	*out = arr;
	return 0;
}

int ctl_revoke_invite(struct controller *c, const char *id,
		      struct cg_error *err)
{
	struct cg_state before;
	int ret, i;

	pthread_mutex_lock(&c->lock);
	state_expire_invites(&c->state, (int64_t)time(NULL));
	i = state_find_invite(&c->state, id);
	if (i < 0) {
		cg_error_set(err, 404, "id", "no pending invite '%s'", id);
		ret = -ENOENT;
		goto out;
	}
	ret = ctl_snapshot(c, &before, err);
	if (ret)
		goto out;
	state_drop_invite(&c->state, (size_t)i);
	ret = ctl_commit(c, &before, err);
	if (!ret)
		log_info("invite %s revoked", id);
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int ctl_list_cells(struct controller *c, json_object **out)
{
	struct wg_device dev = { 0 };
	json_object *arr = json_object_new_array();
	bool have_dev;
	size_t i;

	pthread_mutex_lock(&c->lock);
	have_dev = wg_get_device(c->cfg.wireguard.interface, &dev) == 0;
	for (i = 0; i < c->state.n_cells; i++)
		json_object_array_add(arr, cell_view(c, &c->state.cells[i],
						     have_dev ? &dev : NULL));
	pthread_mutex_unlock(&c->lock);
	wg_device_free(&dev);
	*out = arr;
	return 0;
}

int ctl_get_cell(struct controller *c, const char *name, json_object **out,
		 struct cg_error *err)
{
	struct wg_device dev = { 0 };
	const struct cg_cell_def *cell;
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	cell = state_cell(&c->state, name);
	if (cell) {
		bool have =
			wg_get_device(c->cfg.wireguard.interface, &dev) == 0;

		*out = cell_view(c, cell, have ? &dev : NULL);
	} else {
		cg_error_set(err, 404, "name", "no cell '%s'", name);
		ret = -ENOENT;
	}
	pthread_mutex_unlock(&c->lock);
	wg_device_free(&dev);
	return ret;
}

/* The remote's answer to accept-invite, as our answer to the operator. */
static int remote_refused(const struct sync_reply *r, struct cg_error *err)
{
	if (r->status == 403 || r->status == 409 || r->status == 400) {
		cg_error_set(err, (int)r->status,
			     r->status == 403 ? "pairing_secret" : "",
			     "the remote cell refused the link: %s",
			     reply_error(r));
		return -EPERM;
	}
	cg_error_set(err, 502, "endpoint",
		     "the remote cell did not accept the link (%s%s)",
		     r->status ? "status " : "",
		     r->status ? reply_error(r) : r->error);
	return -EHOSTUNREACH;
}

/* Call the invite's cell: our description, signed with the link key. */
static int call_accept_invite(struct controller *c,
			      const struct cg_cell_info *remote,
			      const uint8_t key[LINK_KEY_LEN],
			      struct cg_error *err)
{
	char host[256];
	uint16_t port;
	struct cg_cell_info me;
	struct sync_reply r;
	json_object *body;
	int ret;

	our_info(c, &me);
	body = cell_info_to_json(&me);
	parse_host_port(remote->endpoint, host, sizeof(host), &port);
	ret = sync_post(host, remote->pairing_port, PATH_ACCEPT,
			json_object_to_json_string(body), key, NULL, &r);
	json_object_put(body);
	if (!ret && r.status == 200)
		return 0;
	return remote_refused(&r, err);
}

int ctl_link_cell(struct controller *c, json_object *invite, json_object **out,
		  struct cg_error *err)
{
	char secret[PAIRING_SECRET_B64_LEN + 1];
	uint8_t raw[PAIRING_SECRET_LEN], key[LINK_KEY_LEN];
	struct cg_cell_info info;
	struct cg_cell_def linked;
	struct cg_state before;
	int ret;

	if (!cell_info_parse(invite, &info, secret, err))
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	if (key_equal(info.public_key, c->public_key)) {
		cg_error_set(err, 400, "public_key",
			     "this is this cell's own invite");
		ret = -EINVAL;
		goto out;
	}
	pairing_secret_decode(raw, secret);
	ret = link_key_derive(key, raw, sizeof(raw), c->public_key,
			      info.public_key);
	if (!ret)
		ret = ctl_snapshot(c, &before, err);
	if (ret)
		goto out;
	ret = state_link_cell(&c->state, &info, key, &linked, err);
	/* WireGuard, route and maps first: the remote's answer and its
	 * first push come over the tunnel. */
	if (!ret)
		ret = apply_cells(c);
	if (!ret)
		ret = call_accept_invite(c, &info, key, err);
	if (ret) {
		/* One step or none: undo what this cell did. */
		ctl_rollback(c, &before);
		apply_cells(c);
		goto out;
	}
	ret = ctl_commit(c, &before, err);
	if (ret)
		goto out;
	push_soon(c, state_cell_by_key(&c->state, info.public_key));
	log_info("linked cell '%s' (%s)", info.cell_name, info.endpoint);
	*out = cell_view(c, state_cell_by_key(&c->state, info.public_key),
			 NULL);
out:
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(key, sizeof(key));
	pthread_mutex_unlock(&c->lock);
	return ret;
}

static char *signed_hello(struct controller *c)
{
	json_object *o = json_object_new_object();
	char key[WG_KEY_B64_LEN + 1], *s;

	key_to_base64(key, c->public_key);
	json_object_object_add(o, "from_public_key",
			       json_object_new_string(key));
	json_object_object_add(o, "cell_name",
			       json_object_new_string(c->cfg.cell_name));
	s = strdup(json_object_to_json_string(o));
	json_object_put(o);
	return s;
}

int ctl_unlink_cell(struct controller *c, const char *name,
		    struct cg_error *err)
{
	struct cg_cell_def gone;
	struct cg_state before;
	struct sync_reply r = { 0 };
	char ip[16], *body;
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = ctl_snapshot(c, &before, err);
	if (ret)
		goto out;
	ret = state_unlink_cell(&c->state, name, &gone, err);
	if (ret) {
		state_free(&before);
		goto out;
	}
	/* Tell the remote while the tunnel is still there (best effort). */
	body = signed_hello(c);
	if (body &&
	    sync_post(ipv4_str(gone.info.wg_address, ip), gone.info.sync_port,
		      PATH_UNLINK, body, gone.link_key,
		      &c->cfg.wireguard.address, &r) == 0 &&
	    r.status == 200)
		log_info("cell '%s' unlinked on both sides", name);
	else
		log_warn("cell '%s' unlinked here; telling it failed (%s)",
			 name, r.status ? reply_error(&r) : r.error);
	free(body);
	ret = ctl_commit(c, &before, err);
	if (!ret && apply_cells(c))
		ret = ctl_apply_failed(-EIO, err, "removing the link");
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

static json_object *permissions_of(struct controller *c,
				   const struct cg_cell_def *cell)
{
	json_object *o = cell_to_json(cell, c->state.services,
				      c->state.n_services, false);
	json_object *p = NULL;

	json_object_object_get_ex(o, "permissions", &p);
	json_object_get(p);
	json_object_put(o);
	return p;
}

int ctl_get_cell_permissions(struct controller *c, const char *name,
			     json_object **out, struct cg_error *err)
{
	const struct cg_cell_def *cell;
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	cell = state_cell(&c->state, name);
	if (cell) {
		*out = permissions_of(c, cell);
	} else {
		cg_error_set(err, 404, "name", "no cell '%s'", name);
		ret = -ENOENT;
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int ctl_put_cell_permissions(struct controller *c, const char *name,
			     json_object *body, json_object **out,
			     struct cg_error *err)
{
	struct cg_state before;
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = ctl_snapshot(c, &before, err);
	if (ret)
		goto out;
	ret = state_set_cell_inbound(&c->state, name, body, NULL, err);
	if (ret) {
		state_free(&before);
		goto out;
	}
	push_soon(c, state_cell(&c->state, name));
	ret = ctl_commit(c, &before, err);
	if (!ret && ctl_sync_maps(c))
		ret = ctl_apply_failed(-EIO, err, "the map update");
	if (!ret)
		*out = permissions_of(c, state_cell(&c->state, name));
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* ---- the remote's requests ------------------------------------------------------- */

const char *const ctl_refused_names[CTL_REFUSED__MAX] = {
	[CTL_REFUSED_NOT_LINKED] = "not_linked_address",
	[CTL_REFUSED_WRONG_KEY] = "wrong_key",
	[CTL_REFUSED_BAD_TIMESTAMP] = "bad_timestamp",
	[CTL_REFUSED_BAD_SIGNATURE] = "bad_signature",
	[CTL_REFUSED_REPLAY] = "replay",
	[CTL_REFUSED_NO_INVITE] = "no_invite",
};

#define REFUSED_LOG_EVERY_NS (10ull * 1000000000ull)

/* 403, counted by reason and logged at most once per reason every 10 s
 * (with how many went unlogged): a refused call is someone probing or
 * a linked cell out of step, and either should be visible. */
static int forbidden(struct controller *c, const struct api_request *req,
		     enum ctl_refused why, struct cg_error *err,
		     const char *msg)
{
	uint64_t now = monotonic_ns();
	uint64_t *last = &c->sync_refused.log_ns[why];
	char ip[16];

	c->sync_refused.count[why]++;
	if (!*last || now - *last >= REFUSED_LOG_EVERY_NS) {
		log_warn("refused a cell-to-cell call from %s to %s: %s (%s; "
			 "%" PRIu64 " more since the last line)",
			 ipv4_str(req->client, ip), req->path, msg,
			 ctl_refused_names[why],
			 c->sync_refused.count[why] - 1 -
				 c->sync_refused.logged[why]);
		*last = now;
		c->sync_refused.logged[why] = c->sync_refused.count[why];
	}
	cg_error_set(err, 403, "", "%s", msg);
	return -EPERM;
}

/* The timestamp header: digits, within the accepted clock skew. */
static bool fresh(const char *ts, uint64_t *ms)
{
	uint64_t now = wall_ms();
	char *end;

	if (!ts || !*ts || strspn(ts, "0123456789") != strlen(ts))
		return false;
	*ms = strtoull(ts, &end, 10);
	return *ms + SYNC_CLOCK_SKEW_MS >= now &&
	       *ms <= now + SYNC_CLOCK_SKEW_MS;
}

/* Both factors, or nothing: the TCP peer is a linked cell's router
 * address, the body names that cell's key, the signature is the link
 * key's, and the timestamp is newer than any accepted before. */
static struct cg_cell_def *authenticate(struct controller *c,
					const struct api_request *req,
					struct cg_error *err)
{
	struct cg_cell_def *cell =
		state_cell_by_address(&c->state, req->client);
	char key[WG_KEY_B64_LEN + 2] = "";
	wg_key claimed;
	uint64_t ts;

	if (!cell) {
		forbidden(c, req, CTL_REFUSED_NOT_LINKED, err,
			  "not a linked cell's router address");
		return NULL;
	}
	if (!req->body ||
	    !jx_string(req->body, "from_public_key", true, "", key, sizeof(key),
		       err) ||
	    !key_from_base64(claimed, key) ||
	    !key_equal(claimed, cell->info.public_key)) {
		forbidden(c, req, CTL_REFUSED_WRONG_KEY, err,
			  "from_public_key is not this cell's");
		return NULL;
	}
	if (!fresh(req->timestamp, &ts)) {
		forbidden(c, req, CTL_REFUSED_BAD_TIMESTAMP, err,
			  "bad or missing signature");
		return NULL;
	}
	if (!request_mac_ok(req->signature, cell->link_key, req->method,
			    req->path, req->timestamp, req->raw_body,
			    req->raw_len)) {
		forbidden(c, req, CTL_REFUSED_BAD_SIGNATURE, err,
			  "bad or missing signature");
		return NULL;
	}
	if (ts <= cell->last_remote_ts_ms) {
		forbidden(c, req, CTL_REFUSED_REPLAY, err, "replayed request");
		return NULL;
	}
	cell->last_remote_ts_ms = ts;
	return cell;
}

/* Which pending invite signed this? Its index, or -1. */
static int find_invite(struct controller *c, const struct api_request *req,
		       const struct cg_cell_info *them,
		       uint8_t key[LINK_KEY_LEN])
{
	uint8_t raw[PAIRING_SECRET_LEN];
	size_t i;

	for (i = 0; i < c->state.n_invites; i++) {
		if (!pairing_secret_decode(raw, c->state.invites[i].secret) ||
		    link_key_derive(key, raw, sizeof(raw), c->public_key,
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

int ctl_sync_accept_invite(struct controller *c, const struct api_request *req,
			   json_object **out, struct cg_error *err)
{
	uint8_t key[LINK_KEY_LEN];
	struct cg_cell_info them, me;
	struct cg_state before;
	uint64_t ts;
	int i, ret;

	if (!req->body || !cell_info_parse(req->body, &them, NULL, err))
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	state_expire_invites(&c->state, (int64_t)time(NULL));
	if (!fresh(req->timestamp, &ts)) {
		ret = forbidden(c, req, CTL_REFUSED_BAD_TIMESTAMP, err,
				"bad or missing timestamp");
		goto out;
	}
	i = find_invite(c, req, &them, key);
	if (i < 0) {
		ret = forbidden(c, req, CTL_REFUSED_NO_INVITE, err,
				"no pending invite signed this (unknown, "
				"used or expired pairing secret)");
		goto out;
	}
	ret = ctl_snapshot(c, &before, err);
	if (ret)
		goto out;
	state_drop_invite(&c->state, (size_t)i); /* single use */
	ret = state_link_cell(&c->state, &them, key, NULL, err);
	if (ret) {
		ctl_rollback(c, &before);
		goto out;
	}
	state_cell_by_key(&c->state, them.public_key)->last_remote_ts_ms = ts;
	ret = ctl_commit(c, &before, err);
	if (!ret && apply_cells(c))
		ret = ctl_apply_failed(-EIO, err, "linking the cell");
	if (ret)
		goto out;
	push_soon(c, state_cell_by_key(&c->state, them.public_key));
	log_info("cell '%s' accepted our invite (%s)", them.cell_name,
		 them.endpoint);
	our_info(c, &me);
	*out = cell_info_to_json(&me);
out:
	explicit_bzero(key, sizeof(key));
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int ctl_sync_permissions(struct controller *c, const struct api_request *req,
			 json_object **out, struct cg_error *err)
{
	static const char *const fields[] = { "from_public_key", "cell_name",
					      "permissions", NULL };
	char names[CG_MAX_OUTBOUND][CG_NAME_MAX + 1];
	struct cg_cell_def *cell;
	struct cg_state before;
	json_object *perm;
	unsigned int n;
	int ret = -EPERM;

	pthread_mutex_lock(&c->lock);
	if (ctl_snapshot(c, &before, err)) {
		ret = -ENOMEM;
		goto out;
	}
	cell = authenticate(c, req, err);
	if (!cell || !jx_only_fields(req->body, fields, "", err) ||
	    !jx_member(req->body, "permissions", json_type_object, true, "",
		       &perm, err) ||
	    !cell_parse_shares(perm, "permissions", names, &n, err)) {
		ctl_rollback(c, &before);
		ret = cell ? -EINVAL : -EPERM;
		goto out;
	}
	memcpy(cell->outbound, names, sizeof(names));
	cell->n_outbound = n;
	cell->last_remote_update_at = (int64_t)time(NULL);
	ret = ctl_commit(c, &before, err);
	if (!ret) {
		*out = json_object_new_object();
		json_object_object_add(*out, "status",
				       json_object_new_string("ok"));
	}
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int ctl_sync_unlink(struct controller *c, const struct api_request *req,
		    json_object **out, struct cg_error *err)
{
	struct cg_cell_def *cell;
	struct cg_state before;
	char name[CG_NAME_MAX + 1];
	int ret = -EPERM;

	pthread_mutex_lock(&c->lock);
	if (ctl_snapshot(c, &before, err)) {
		ret = -ENOMEM;
		goto out;
	}
	cell = authenticate(c, req, err);
	if (!cell) {
		ctl_rollback(c, &before);
		goto out;
	}
	str_copy(name, sizeof(name), cell->info.cell_name);
	state_unlink_cell(&c->state, name, NULL, err);
	ret = ctl_commit(c, &before, err);
	if (!ret && apply_cells(c))
		ret = ctl_apply_failed(-EIO, err, "removing the link");
	if (!ret) {
		log_info("cell '%s' unlinked us", name);
		*out = json_object_new_object();
		json_object_object_add(*out, "status",
				       json_object_new_string("ok"));
	}
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* ---- the pusher -------------------------------------------------------------- */

/* What we share with cell, as the remote's outbound view. */
static char *push_body(struct controller *c, const struct cg_cell_def *cell)
{
	json_object *o = json_object_new_object(), *perm = NULL;
	char key[WG_KEY_B64_LEN + 1], *s;
	json_object *full = permissions_of(c, cell);

	json_object_object_get_ex(full, "inbound", &perm);
	key_to_base64(key, c->public_key);
	json_object_object_add(o, "from_public_key",
			       json_object_new_string(key));
	json_object_object_add(o, "cell_name",
			       json_object_new_string(c->cfg.cell_name));
	json_object_object_add(o, "permissions", json_object_get(perm));
	s = strdup(json_object_to_json_string(o));
	json_object_put(o);
	json_object_put(full);
	return s;
}

/* A cell due for a push, or NULL. */
static struct cg_cell_def *due(struct controller *c, uint64_t now)
{
	size_t i;

	for (i = 0; i < c->state.n_cells; i++)
		if (c->state.cells[i].pending_push &&
		    c->state.cells[i].push_next_ns <= now)
			return &c->state.cells[i];
	return NULL;
}

/* Record a push's outcome on the cell (found again by key: the state may
 * have changed while we were away) and persist it. */
static void push_done(struct controller *c, const wg_key key,
		      const struct sync_reply *r, int sent)
{
	struct cg_cell_def *cell = state_cell_by_key(&c->state, key);
	uint64_t delay;

	if (!cell)
		return;
	cell->last_push_at = (int64_t)time(NULL);
	cell->last_push_status = (int)r->status;
	cell->pushes++;
	if (!sent && r->status == 200) {
		cell->pending_push = false;
		cell->last_push_error[0] = '\0';
		cell->push_delay_ns = 0;
	} else {
		cell->push_failures++;
		str_copy(cell->last_push_error, sizeof(cell->last_push_error),
			 r->status ? reply_error(r) : r->error);
		delay = cell->push_delay_ns ? cell->push_delay_ns * 2 :
					      PUSH_BACKOFF_MIN_NS;
		cell->push_delay_ns = delay < PUSH_BACKOFF_MAX_NS ?
					      delay :
					      PUSH_BACKOFF_MAX_NS;
		cell->push_next_ns = monotonic_ns() + cell->push_delay_ns;
		log_warn("push to cell '%s' failed (%s), next try in %llu s",
			 cell->info.cell_name, cell->last_push_error,
			 (unsigned long long)(cell->push_delay_ns /
					      1000000000ull));
	}
	if (state_save(&c->state, c->state_path))
		log_warn("cannot save the push status");
}

static void *pusher(void *arg)
{
	struct controller *c = arg;
	struct sync_reply r;

	pthread_mutex_lock(&c->lock);
	while (!c->pusher_stop) {
		struct cg_cell_def *cell = due(c, monotonic_ns());
		struct timespec until;
		char host[16], *body;
		uint8_t key[LINK_KEY_LEN];
		wg_key pub;
		uint16_t port;
		int sent;

		if (!cell) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 250000000;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&c->push_wake, &c->lock, &until);
			continue;
		}
		body = push_body(c, cell);
		memcpy(key, cell->link_key, sizeof(key));
		memcpy(pub, cell->info.public_key, sizeof(pub));
		ipv4_str(cell->info.wg_address, host);
		port = cell->info.sync_port;
		/* No lock while on the network. */
		pthread_mutex_unlock(&c->lock);
		sent = body ? sync_post(host, port, PATH_PERMISSIONS, body, key,
					&c->cfg.wireguard.address, &r) :
			      -ENOMEM;
		free(body);
		explicit_bzero(key, sizeof(key));
		pthread_mutex_lock(&c->lock);
		push_done(c, pub, &r, sent);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int ctl_pusher_start(struct controller *c)
{
	pthread_condattr_t attr;
	int ret;

	pthread_condattr_init(&attr);
	pthread_cond_init(&c->push_wake, &attr);
	pthread_condattr_destroy(&attr);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c->pusher_stop = false;
	ret = pthread_create(&c->pusher, NULL, pusher, c);
	c->pusher_running = ret == 0;
	return -ret;
}

void ctl_pusher_stop(struct controller *c)
{
	if (!c->pusher_running)
		return;
	pthread_mutex_lock(&c->lock);
	c->pusher_stop = true;
	pthread_cond_signal(&c->push_wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->pusher, NULL);
	c->pusher_running = false;
}
