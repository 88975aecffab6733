// SPDX-License-Identifier: MIT
/*
 * Join tokens and enrolment (POST /api/join), and a peer's own API
 * (join.h). A join records its use of the token durably before the peer
 * is made: a crash in between costs the token one use, never makes a
 * peer no token accounted for.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client_config.h"
#include "join.h"
#include "jsonx.h"
#include "log.h"
#include "metrics.h"
#include "op.h"
#include "secrets.h"
#include "view.h"
#include "wgprog.h"

/* How long after answering a key change WireGuard switches to the new
 * key: the answer must reach the peer through the old one first. */
#define KEY_SWAP_DELAY_NS (500ull * 1000000ull)

static const char *const refusal_names[JOIN__MAX] = {
	[JOIN_NO_TOKEN] = "no_token",	      [JOIN_BAD_TOKEN] = "bad_token",
	[JOIN_EXPIRED] = "expired",	      [JOIN_USED_UP] = "used_up",
	[JOIN_RATE_LIMITED] = "rate_limited", [JOIN_INVALID] = "invalid",
	[JOIN_CONFLICT] = "conflict",
};

static int64_t now_unix(void)
{
	return (int64_t)time(NULL);
}

int ctl_join_load(struct controller *c)
{
	struct cg_error err = { 0 };
	int ret = path_fmt(c->join.path, sizeof(c->join.path),
			   "%s/join-tokens.json", c->cfg.state_dir);

	if (!ret)
		ret = jt_load(&c->join.tokens, c->join.path, &err);
	if (ret)
		log_err("%s: %s%s%s", c->join.path,
			err.msg[0] ? err.msg : strerror(-ret),
			err.field[0] ? " at " : "", err.field);
	return ret;
}

void ctl_join_free(struct controller *c)
{
	jt_free(&c->join.tokens);
}

void ctl_join_refused(struct controller *c, enum join_refusal why)
{
	pthread_mutex_lock(&c->lock);
	c->join.refused[why]++;
	pthread_mutex_unlock(&c->lock);
}

/* Under the lock: count and fail. */
static int refuse(struct controller *c, enum join_refusal why, int status,
		  const char *field, const char *msg, struct cg_error *err)
{
	c->join.refused[why]++;
	cg_error_set(err, status, field, "%s", msg);
	return status == 409 ? -EEXIST : -EACCES;
}

/* ---- tokens (admin) ------------------------------------------------------ */

int ctl_join_token_add(struct controller *c, json_object *body,
		       json_object **out, struct cg_error *err)
{
	char secret[JT_SECRET_LEN + 1];
	struct cg_join_token *tok;
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = jt_create(&c->join.tokens, &c->state, body, now_unix(), secret,
			err);
	if (!ret) {
		tok = &c->join.tokens.v[c->join.tokens.n - 1];
		ret = jt_save(&c->join.tokens, c->join.path);
		if (ret) {
			cg_error_set(err, 500, "", "cannot save %s: %s",
				     c->join.path, strerror(-ret));
			jt_delete(&c->join.tokens, tok->name, NULL);
		} else {
			*out = jt_to_json(tok, now_unix());
			/* Shown here, once: the cell keeps its hash. */
			json_object_object_add(*out, "token",
					       json_object_new_string(secret));
			log_info("join token %s made", tok->name);
		}
	}
	pthread_mutex_unlock(&c->lock);
	explicit_bzero(secret, sizeof(secret));
	return ret;
}

int ctl_join_token_list(struct controller *c, json_object **out)
{
	json_object *arr = json_object_new_array();
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->join.tokens.n; i++)
		json_object_array_add(
			arr, jt_to_json(&c->join.tokens.v[i], now_unix()));
	pthread_mutex_unlock(&c->lock);
	*out = arr;
	return 0;
}

int ctl_join_token_get(struct controller *c, const char *name,
		       json_object **out, struct cg_error *err)
{
	const struct cg_join_token *tok;
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	tok = jt_find(&c->join.tokens, name);
	if (tok)
		*out = jt_to_json(tok, now_unix());
	else {
		cg_error_set(err, 404, "name", "no join token '%s'", name);
		ret = -ENOENT;
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int ctl_join_token_delete(struct controller *c, const char *name,
			  struct cg_error *err)
{
	struct cg_join_tokens before = { 0 };
	struct cg_join_token *tok;
	int ret;

	pthread_mutex_lock(&c->lock);
	tok = jt_find(&c->join.tokens, name);
	if (!tok) {
		cg_error_set(err, 404, "name", "no join token '%s'", name);
		pthread_mutex_unlock(&c->lock);
		return -ENOENT;
	}
	before = c->join.tokens;
	/* Save the list without it first: a failed write changes nothing. */
	c->join.tokens.n = 0;
	c->join.tokens.v = NULL;
	ret = -ENOMEM;
	c->join.tokens.v = calloc(before.n, sizeof(*before.v));
	if (c->join.tokens.v) {
		size_t i;

		for (i = 0; i < before.n; i++)
			if (&before.v[i] != tok)
				c->join.tokens.v[c->join.tokens.n++] =
					before.v[i];
		ret = jt_save(&c->join.tokens, c->join.path);
	}
	if (ret) {
		free(c->join.tokens.v);
		c->join.tokens = before;
		cg_error_set(err, 500, "", "cannot save %s: %s", c->join.path,
			     strerror(-ret));
	} else {
		log_info("join token %s revoked", name);
		free(tok->keys);
		free(before.v);
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* ---- POST /api/join ---------------------------------------------------- */

/* {"name", "ip", "config"} of the peer named name; lock held. */
static int join_answer(struct controller *c, const char *name,
		       json_object **out, struct cg_error *err)
{
	const struct cg_peer_def *p = state_peer(&c->state, name);
	char ip[16], ip6[CG_IP6_STRLEN], *text;

	if (!p) {
		cg_error_set(err, 500, "", "the peer is gone");
		return -ENOENT;
	}
	if (!c->cfg.wireguard.endpoint[0]) {
		cg_error_set(err, 409, "wireguard.endpoint",
			     "the config has no wireguard.endpoint for "
			     "devices to connect to");
		return -ENOENT;
	}
	/* The device made its key: the config says where it goes. */
	text = client_config_render(&c->cfg, p, c->public_key, NULL);
	if (!text) {
		cg_error_set(err, 500, "", "out of memory");
		return -ENOMEM;
	}
	*out = json_object_new_object();
	json_object_object_add(*out, "name", json_object_new_string(p->name));
	json_object_object_add(*out, "ip",
			       json_object_new_string(ipv4_str(p->ip, ip)));
	if (!ipv6_is_zero(&p->ip6))
		json_object_object_add(
			*out, "ip6",
			json_object_new_string(ipv6_str(&p->ip6, ip6)));
	json_object_object_add(*out, "config", json_object_new_string(text));
	free(text);
	return 0;
}

/* The body: public_key (required) and name. */
static int parse_join(json_object *body, wg_key key, char *name, size_t len,
		      struct cg_error *err)
{
	static const char *const fields[] = { "public_key", "name", NULL };
	char b64[WG_KEY_B64_LEN + 8] = "";

	if (!jx_only_fields(body, fields, "", err) ||
	    !jx_string(body, "public_key", true, "", b64, sizeof(b64), err) ||
	    !jx_string(body, "name", false, "", name, len, err))
		return -EINVAL;
	if (!key_from_base64(key, b64)) {
		cg_error_set(err, 400, "public_key",
			     "'public_key' must be a WireGuard key (44 "
			     "characters of base64)");
		return -EINVAL;
	}
	if (name[0] && !valid_name(name)) {
		cg_error_set(err, 400, "name",
			     "'name' must match [A-Za-z0-9_.-]{1,64}");
		return -EINVAL;
	}
	return 0;
}

/* The new peer's body: the token's presets, the device's key and name
 * (derived from the token's name and the key when it gave none). */
static json_object *peer_body(const struct cg_join_token *tok, const wg_key key,
			      const char *name)
{
	json_object *o = json_object_new_object(), *svc;
	char b64[WG_KEY_B64_LEN + 1], derived[CG_NAME_MAX + 1];
	unsigned int i;

	key_to_base64(b64, key);
	if (!name[0]) {
		snprintf(derived, sizeof(derived), "%.55s-%02x%02x%02x%02x",
			 tok->name, key[0], key[1], key[2], key[3]);
		name = derived;
	}
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "public_key", json_object_new_string(b64));
	svc = json_object_new_array();
	for (i = 0; i < tok->n_services; i++)
		json_object_array_add(svc,
				      json_object_new_string(tok->services[i]));
	json_object_object_add(o, "service_access", svc);
	json_object_object_add(o, "internet_access",
			       json_object_new_boolean(tok->internet_access));
	/* The token's groups make the peer's (issue 18: rules name them). */
	svc = json_object_new_array();
	for (i = 0; i < tok->n_groups; i++)
		json_object_array_add(svc,
				      json_object_new_string(tok->groups[i]));
	json_object_object_add(o, "groups", svc);
	return o;
}

/* Under the lock: the token's verdict on key. *again: the key joined with
 * it before and its peer exists (name receives the peer's name); else
 * *pbody is the peer to make, the use recorded. */
static int admit(struct controller *c, const char *secret, const wg_key key,
		 const char *name, bool *again, char *peer_name,
		 json_object **pbody, char *tok_name, int *added,
		 struct cg_error *err)
{
	struct cg_join_token *tok = jt_match(&c->join.tokens, secret);
	const struct cg_peer_def *p;
	int ret;

	if (!tok)
		return refuse(c, JOIN_BAD_TOKEN, 401, "X-Join-Token",
			      "unknown or revoked join token", err);
	if (jt_expired(tok, now_unix()))
		return refuse(c, JOIN_EXPIRED, 401, "X-Join-Token",
			      "the join token has expired", err);
	p = state_peer_by_key(&c->state, key);
	if (p && jt_joined(tok, key)) {
		*again = true;
		str_copy(peer_name, CG_NAME_MAX + 1, p->name);
		return 0;
	}
	if (p)
		return refuse(c, JOIN_CONFLICT, 409, "public_key",
			      "the key belongs to a peer that did not join "
			      "with this token",
			      err);
	/* A key whose peer was deleted comes back only with a use left. */
	if (jt_used_up(tok))
		return refuse(c, JOIN_USED_UP, 401, "X-Join-Token",
			      "the join token is used up", err);
	ret = jt_use(tok, key);
	if (ret >= 0) {
		*added = ret;
		ret = jt_save(&c->join.tokens, c->join.path);
	}
	if (ret) {
		jt_unuse(tok, key, *added);
		cg_error_set(err, 500, "", "cannot save %s: %s", c->join.path,
			     strerror(-ret));
		return ret;
	}
	str_copy(tok_name, CG_NAME_MAX + 1, tok->name);
	*pbody = peer_body(tok, key, name);
	return 0;
}

/* The peer could not be made: the use goes back. */
static void give_back(struct controller *c, const char *tok_name,
		      const wg_key key, int added)
{
	struct cg_join_token *tok;

	pthread_mutex_lock(&c->lock);
	tok = jt_find(&c->join.tokens, tok_name);
	if (tok) {
		jt_unuse(tok, key, added);
		if (jt_save(&c->join.tokens, c->join.path))
			log_warn("%s: cannot give a use back", c->join.path);
	}
	pthread_mutex_unlock(&c->lock);
}

int ctl_join(struct controller *c, const char *token, json_object *body,
	     json_object **out, int *status, struct cg_error *err)
{
	char name[CG_NAME_MAX + 1] = "", peer_name[CG_NAME_MAX + 1] = "";
	char tok_name[CG_NAME_MAX + 1] = "";
	json_object *pbody = NULL, *made = NULL;
	bool again = false;
	int added = 0;
	wg_key key;
	int ret;

	if (parse_join(body, key, name, sizeof(name), err)) {
		ctl_join_refused(c, JOIN_INVALID);
		return -EINVAL;
	}
	pthread_mutex_lock(&c->lock);
	ret = admit(c, token, key, name, &again, peer_name, &pbody, tok_name,
		    &added, err);
	if (!ret && again) {
		ret = join_answer(c, peer_name, out, err);
		c->join.joined_again += !ret;
		*status = 200;
	}
	pthread_mutex_unlock(&c->lock);
	if (ret || again)
		return ret;

	ret = ctl_add_peer(c, pbody, &made, err);
	json_object_put(pbody);
	if (ret) {
		give_back(c, tok_name, key, added);
		ctl_join_refused(c, err->status == 409 ? JOIN_CONFLICT :
							 JOIN_INVALID);
		return ret;
	}
	pthread_mutex_lock(&c->lock);
	ret = join_answer(
		c, json_object_get_string(json_object_object_get(made, "name")),
		out, err);
	c->join.joined_new += !ret;
	pthread_mutex_unlock(&c->lock);
	log_info("join: %s joined with token %s",
		 json_object_get_string(json_object_object_get(made, "name")),
		 tok_name);
	json_object_put(made);
	*status = 201;
	return ret;
}

/* ---- the peer's own API ---------------------------------------------------- */

void ctl_peer_api_refused(struct controller *c)
{
	pthread_mutex_lock(&c->lock);
	c->join.peer_api_refused++;
	pthread_mutex_unlock(&c->lock);
}

/* Under the lock: the calling peer, or 403. */
static const struct cg_peer_def *
caller(struct controller *c, const struct in6_addr *from, struct cg_error *err)
{
	const struct cg_peer_def *p;
	struct in_addr v4;

	if (IN6_IS_ADDR_V4MAPPED(from)) {
		memcpy(&v4, &from->s6_addr[12], 4);
		p = state_peer_by_ip(&c->state, v4);
	} else {
		p = state_peer_by_ip6(&c->state, from);
	}

	if (!p) {
		c->join.peer_api_refused++;
		cg_error_set(err, 403, "",
			     "not a peer of this cell (the peer API knows "
			     "callers by their WireGuard address)");
	}
	return p;
}

/* The peer's last handshake (unix seconds, 0: never), from WireGuard. */
static int64_t last_handshake(struct controller *c, const wg_key key)
{
	struct wg_device dev;
	int64_t hs = 0;
	size_t i;

	if (wg_get_device(c->cfg.wireguard.interface, &dev))
		return 0;
	for (i = 0; i < dev.n_peers; i++)
		if (key_equal(dev.peers[i].public_key, key))
			hs = dev.peers[i].last_handshake_sec;
	wg_device_free(&dev);
	return hs;
}

int ctl_peer_me(struct controller *c, const struct in6_addr *from,
		json_object **out, struct cg_error *err)
{
	const struct cg_peer_def *p;
	struct cg_counters sum;
	wg_key key;
	int64_t hs;

	pthread_mutex_lock(&c->lock);
	p = caller(c, from, err);
	if (p) {
		*out = peer_to_json(&c->state, p, false);
		if (dp_counters(&c->dp, p->id, &sum) == 0)
			json_object_object_add(*out, "counters",
					       ctl_counters_json(&sum));
		memcpy(key, p->public_key, sizeof(key));
	}
	pthread_mutex_unlock(&c->lock);
	if (!p)
		return -EACCES;
	/* A dump of the device: outside the lock. */
	hs = last_handshake(c, key);
	json_object_object_add(*out, "last_handshake_at",
			       hs ? json_object_new_int64(hs) : NULL);
	return 0;
}

int ctl_peer_me_config(struct controller *c, const struct in6_addr *from,
		       char **text, struct cg_error *err)
{
	char name[CG_NAME_MAX + 1] = "";
	const struct cg_peer_def *p;

	pthread_mutex_lock(&c->lock);
	p = caller(c, from, err);
	if (p)
		str_copy(name, sizeof(name), p->name);
	pthread_mutex_unlock(&c->lock);
	return p ? ctl_peer_config(c, name, text, err) : -EACCES;
}

struct key_args {
	char name[CG_NAME_MAX + 1];
	json_object *body; /* {"public_key": ...} */
	struct cg_peer_def old, p;
};

static int key_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct key_args *a = arg;

	return state_update_peer(&c->state, a->name, a->body, &a->old, &a->p,
				 err);
}

/* The maps now (keyed by address: nothing moves); WireGuard after the
 * answer (ctl_join_tick). A swap still pending for another peer is made
 * now. */
static int key_apply(struct controller *c, void *arg, struct cg_error *err)
{
	struct key_args *a = arg;
	struct join_key_swap *s = &c->join.swap;
	int ret = dp_set_peer(&c->dp, &c->state, &a->old, &a->p);

	if (ret)
		return ctl_apply_failed(ret, err, "the map update");
	secrets_forget_peer_key(c, a->p.name);
	if (s->pending && strcmp(s->name, a->p.name)) {
		const struct cg_peer_def *other =
			state_peer(&c->state, s->name);

		if (other)
			ctl_wg_program(c, &s->old, other);
	}
	if (!s->pending || strcmp(s->name, a->p.name))
		s->old = a->old; /* what WireGuard still has */
	str_copy(s->name, sizeof(s->name), a->p.name);
	s->due_ns = monotonic_ns() + KEY_SWAP_DELAY_NS;
	s->pending = true;
	c->join.keys_rotated++;
	return 0;
}

static json_object *key_view(struct controller *c, void *arg)
{
	json_object *o =
		peer_to_json(&c->state, &((struct key_args *)arg)->p, false);

	json_object_object_add(
		o, "applies_in_ms",
		json_object_new_int(KEY_SWAP_DELAY_NS / 1000000));
	return o;
}

static const struct ctl_op rotate_key = {
	.change = key_change,
	.apply = key_apply,
	.view = key_view,
};

int ctl_peer_me_key(struct controller *c, const struct in6_addr *from,
		    json_object *body, json_object **out, struct cg_error *err)
{
	static const char *const fields[] = { "public_key", NULL };
	struct key_args a = { .body = body };
	const struct cg_peer_def *p;
	char b64[WG_KEY_B64_LEN + 8] = "";
	wg_key key;

	pthread_mutex_lock(&c->lock);
	p = caller(c, from, err);
	if (p)
		str_copy(a.name, sizeof(a.name), p->name);
	pthread_mutex_unlock(&c->lock);
	if (!p)
		return -EACCES;
	if (!jx_only_fields(body, fields, "", err) ||
	    !jx_string(body, "public_key", true, "", b64, sizeof(b64), err))
		return -EINVAL;
	if (!key_from_base64(key, b64)) {
		cg_error_set(err, 400, "public_key",
			     "'public_key' must be a WireGuard key (44 "
			     "characters of base64)");
		return -EINVAL;
	}
	return ctl_run(c, &rotate_key, &a, out, err);
}

void ctl_join_tick(struct controller *c, uint64_t now_ns)
{
	struct join_key_swap *s = &c->join.swap;
	const struct cg_peer_def *p;

	if (!s->pending || now_ns < s->due_ns)
		return;
	pthread_mutex_lock(&c->lock);
	p = state_peer(&c->state, s->name);
	if (s->pending && p && !key_equal(p->public_key, s->old.public_key)) {
		if (ctl_wg_program(c, &s->old, p))
			log_warn("peer %s: new key not in WireGuard yet; the "
				 "drift repair retries",
				 p->name);
		else
			log_info("peer %s: WireGuard now has its new key",
				 p->name);
	}
	s->pending = false;
	pthread_mutex_unlock(&c->lock);
}

void ctl_join_metrics(const struct controller *c, struct metrics *m)
{
	int i;

	metrics_family(m, "cellgate_join_tokens", "gauge",
		       "Join tokens the cell keeps.");
	metrics_u64(m, c->join.tokens.n, NULL);
	metrics_family(m, "cellgate_joins_total", "counter",
		       "Devices that joined with a token: new peers, and "
		       "keys that joined before (their peer given back).");
	metrics_u64(m, c->join.joined_new, "outcome", "created", NULL);
	metrics_u64(m, c->join.joined_again, "outcome", "again", NULL);
	metrics_family(m, "cellgate_join_refused_total", "counter",
		       "POST /api/join refused, by reason.");
	for (i = 0; i < JOIN__MAX; i++)
		metrics_u64(m, c->join.refused[i], "reason", refusal_names[i],
			    NULL);
	metrics_family(m, "cellgate_peer_api_refused_total", "counter",
		       "Requests on the peer API refused (403): not from a "
		       "peer's address, or not a peer route.");
	metrics_u64(m, c->join.peer_api_refused, NULL);
	metrics_family(m, "cellgate_peer_keys_rotated_total", "counter",
		       "Keys peers changed themselves (POST "
		       "/api/peer/me/key).");
	metrics_u64(m, c->join.keys_rotated, NULL);
}
