// SPDX-License-Identifier: MIT
/* Peers: a WireGuard key, one address, an identity in the maps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_config.h"
#include "jsonx.h"
#include "log.h"
#include "op.h"
#include "policy.h"
#include "secrets.h"
#include "view.h"
#include "wgprog.h"

/* What the peer gets: per direction the tighter of its own limit and
 * its groups' (absent when unlimited both ways). */
static void effective_rate_json(struct controller *c,
				const struct cg_peer_def *p, json_object *o)
{
	uint32_t down, up;

	policy_effective_rate(&c->state, p, &down, &up);
	if (down || up)
		json_object_object_add(o, "effective_rate_limit",
				       state_rate_limit_json(down, up));
}

/* A peer's definition, whether the cell keeps its private key. */
static json_object *peer_json(struct controller *c, const struct cg_peer_def *p)
{
	json_object *o = peer_to_json(&c->state, p, false);
	bool stored = secrets_peer_key_stored(c, p->name);

	json_object_object_add(o, "private_key_stored",
			       json_object_new_boolean(stored));
	/* Said outright: without it the client config cannot work. */
	json_object_object_add(
		o, "private_key_held_by",
		json_object_new_string(stored ? "cell" : "client"));
	effective_rate_json(c, p, o);
	return o;
}

/* A peer as the API shows it: its definition, whether the cell keeps its
 * private key, and its counters summed over CPUs. */
static json_object *peer_view(struct controller *c, const struct cg_peer_def *p)
{
	json_object *o = peer_json(c, p);
	struct cg_counters sum;

	if (dp_counters(&c->dp, p->id, &sum) == 0)
		json_object_object_add(o, "counters", ctl_counters_json(&sum));
	return o;
}

static const void *find_peer(const struct cg_state *st, const char *name)
{
	return state_peer(st, name);
}

static int view_peer(struct controller *c, const void *p, void *out,
		     struct cg_error *err)
{
	(void)err;
	*(json_object **)out = peer_view(c, p);
	return 0;
}

static const struct ctl_lookup peer_lookup = { "peer", "name", find_peer,
					       view_peer };

int ctl_list_peers(struct controller *c, json_object **out)
{
	json_object *arr = json_object_new_array();
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->state.n_peers; i++)
		json_object_array_add(arr, peer_view(c, &c->state.peers[i]));
	pthread_mutex_unlock(&c->lock);
	*out = arr;
	return 0;
}

int ctl_get_peer(struct controller *c, const char *name, json_object **out,
		 struct cg_error *err)
{
	return ctl_look_up(c, &peer_lookup, name, out, err);
}

/* The wg-quick config needs the cell's endpoint, and uses the peer's
 * private key when the cell holds it. */
static int view_peer_config(struct controller *c, const void *found, void *out,
			    struct cg_error *err)
{
	const struct cg_peer_def *p = found;
	char priv[WG_KEY_B64_LEN + 1];
	char **text = out;
	bool have_priv;

	if (!c->cfg.wireguard.endpoint[0]) {
		cg_error_set(err, 409, "wireguard.endpoint",
			     "the config has no wireguard.endpoint for "
			     "peers to connect to");
		return -ENOENT;
	}
	have_priv = secrets_load_peer_key(c, p->name, priv);
	*text = client_config_render(&c->cfg, p, c->public_key,
				     have_priv ? priv : NULL);
	explicit_bzero(priv, sizeof(priv));
	if (!*text) {
		cg_error_set(err, 500, "", "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static const struct ctl_lookup peer_config_lookup = { "peer", "name", find_peer,
						      view_peer_config };

int ctl_peer_config(struct controller *c, const char *name, char **text,
		    struct cg_error *err)
{
	return ctl_look_up(c, &peer_config_lookup, name, text, err);
}

/* ---- mutations ------------------------------------------------------------ */

struct peer_args {
	const char *name; /* of an update or delete */
	json_object *body; /* of an add or update */
	struct cg_peer_def old, p; /* before and after the change */
	wg_key priv; /* a key pair the cell made: the private half */
	bool stored; /* priv is on disk */
};

static json_object *peer_args_view(struct controller *c, void *arg)
{
	return peer_json(c, &((struct peer_args *)arg)->p);
}

/* "import" is the bulk import's path (/api/peers/import): a peer of
 * that name could not be reached under /api/peers/{name}. */
static bool name_reserved(json_object *body, struct cg_error *err)
{
	json_object *name;

	if (!json_object_object_get_ex(body, "name", &name) ||
	    !json_object_is_type(name, json_type_string) ||
	    strcmp(json_object_get_string(name), "import"))
		return false;
	cg_error_set(err, 400, "name",
		     "'import' is reserved (POST /api/peers/import)");
	return true;
}

static int add_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct peer_args *a = arg;
	json_object *key_member = NULL;
	/* Absent or null: the cell makes the key pair (as state.c reads it). */
	bool generate = !json_object_object_get_ex(a->body, "public_key",
						   &key_member) ||
			!key_member;
	wg_key pub;
	int ret;

	if (name_reserved(a->body, err))
		return -EINVAL;
	if (!ctl_wg_room(c, "name", err))
		return -ENOSPC;
	if (generate && (key_generate_private(a->priv) ||
			 key_public_from_private(pub, a->priv))) {
		cg_error_set(err, 500, "", "cannot generate a key pair");
		return -EIO;
	}
	ret = state_add_peer(&c->state, a->body, generate ? pub : NULL, &a->p,
			     err);
	/* Its groups may connect classes past what an entry holds. */
	if (!ret && a->p.n_groups && c->state.n_rules)
		ret = ctl_rules_compile_check(c, err);
	if (ret || !generate)
		return ret;
	ret = secrets_store_peer_key(c, a->p.name, a->priv);
	if (ret)
		cg_error_set(err, 500, "", "cannot store the key: %s",
			     strerror(-ret));
	a->stored = ret == 0;
	return ret;
}

/* The add failed: its key file goes too. */
static void add_revert(struct controller *c, void *arg)
{
	struct peer_args *a = arg;

	if (a->stored)
		secrets_forget_peer_key(c, a->p.name);
}

static int add_apply(struct controller *c, void *arg, struct cg_error *err)
{
	struct peer_args *a = arg;
	int ret = a->p.n_groups ? ctl_rules_pairs_apply(c) : 0;

	if (!ret)
		ret = dp_set_peer(&c->dp, &c->state, NULL, &a->p);

	if (ret)
		return ctl_apply_failed(ret, err, "the map update");
	ret = ctl_wg_program(c, NULL, &a->p);
	if (ret)
		return ctl_apply_failed(ret, err, "programming WireGuard");
	return 0;
}

static const struct ctl_op add_peer = {
	.change = add_change,
	.revert = add_revert,
	.apply = add_apply,
	.view = peer_args_view,
};

int ctl_add_peer(struct controller *c, json_object *body, json_object **out,
		 struct cg_error *err)
{
	struct peer_args a = { .body = body };
	int ret = ctl_run(c, &add_peer, &a, out, err);

	explicit_bzero(a.priv, sizeof(a.priv));
	return ret;
}

static bool groups_changed(const struct cg_peer_def *a,
			   const struct cg_peer_def *b)
{
	return a->n_groups != b->n_groups ||
	       memcmp(a->groups, b->groups, sizeof(a->groups));
}

static int update_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct peer_args *a = arg;

	int ret = state_update_peer(&c->state, a->name, a->body, &a->old, &a->p,
				    err);

	/* New groups may connect classes with more ports than an entry
	 * holds: refused (409) before anything is saved. */
	if (!ret && c->state.n_rules && groups_changed(&a->old, &a->p))
		ret = ctl_rules_compile_check(c, err);
	return ret;
}

/* Maps, then WireGuard if the key or an address changed; a new key means
 * the stored private key is no longer this peer's. */
static int update_apply(struct controller *c, void *arg, struct cg_error *err)
{
	struct peer_args *a = arg;
	bool new_key = !key_equal(a->old.public_key, a->p.public_key);
	int ret = groups_changed(&a->old, &a->p) ? ctl_rules_pairs_apply(c) : 0;

	if (!ret)
		ret = dp_set_peer(&c->dp, &c->state, &a->old, &a->p);

	if (ret)
		return ctl_apply_failed(ret, err, "the map update");
	if (new_key)
		secrets_forget_peer_key(c, a->p.name);
	if (new_key || a->old.ip.s_addr != a->p.ip.s_addr ||
	    !ipv6_equal(&a->old.ip6, &a->p.ip6))
		ret = ctl_wg_program(c, &a->old, &a->p);
	if (ret)
		return ctl_apply_failed(ret, err, "programming WireGuard");
	return 0;
}

static const struct ctl_op update_peer = {
	.change = update_change,
	.apply = update_apply,
	.view = peer_args_view,
};

int ctl_update_peer(struct controller *c, const char *name, json_object *body,
		    json_object **out, struct cg_error *err)
{
	struct peer_args a = { .name = name, .body = body };

	return ctl_run(c, &update_peer, &a, out, err);
}

static int delete_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct peer_args *a = arg;

	return state_delete_peer(&c->state, a->name, &a->p, err);
}

static int delete_apply(struct controller *c, void *arg, struct cg_error *err)
{
	struct peer_args *a = arg;
	int ret;

	/* WireGuard first: once the key is gone no packet of it arrives. */
	ret = ctl_wg_program(c, &a->p, NULL);
	if (ret)
		return ctl_apply_failed(ret, err,
					"removing the WireGuard peer");
	ret = dp_remove_peer(&c->dp, &a->p);
	if (ret)
		ctl_apply_failed(ret, err, "the map update");
	secrets_forget_peer_key(c, a->p.name);
	return ret;
}

static const struct ctl_op delete_peer = {
	.change = delete_change,
	.apply = delete_apply,
};

int ctl_delete_peer(struct controller *c, const char *name,
		    struct cg_error *err)
{
	struct peer_args a = { .name = name };

	return ctl_run(c, &delete_peer, &a, NULL, err);
}

/* ---- bulk import ---------------------------------------------------------- */

struct import_args {
	json_object *body;
	json_object *list; /* body's "peers" */
	struct cg_peer_def *added; /* as many as list */
	size_t n;
	/* WireGuard's set, fed while the entries are checked and written
	 * on its own thread: wireguard-go takes its time over new peers
	 * (its X25519 precomputation, its goroutines) while the rest are
	 * checked, the journal written and the maps filled. */
	struct ctl_wg_feed wg;
	bool wg_begun;
	json_object *answer; /* import_view's, built before WireGuard ends */
	/* When each step ended (monotonic ns): the import's time is
	 * logged by step, to see where it goes at scale. */
	uint64_t t0, changed, persisted, mapped, programmed;
};

/* err, from entry i of the list, names it: "peers[3].public_key". */
static void name_entry(struct cg_error *err, size_t i)
{
	struct cg_error e = *err;
	char field[sizeof(e.field) + 32]; /* fields are short: never cut */

	snprintf(field, sizeof(field), "peers[%zu]%s%s", i,
		 e.field[0] ? "." : "", e.field);
	cg_error_set(err, e.status, field, "peers[%zu]: %s", i, e.msg);
}

/* The body's shape: {"peers": [object, ...]}, at least one, every entry
 * with its own key (the cell makes no key pairs in bulk). */
static bool import_shape(struct import_args *a, struct cg_error *err)
{
	static const char *const fields[] = { "peers", NULL };
	size_t i;

	if (!jx_only_fields(a->body, fields, "", err) ||
	    !jx_member(a->body, "peers", json_type_array, true, "", &a->list,
		       err))
		return false;
	a->n = json_object_array_length(a->list);
	if (!a->n) {
		cg_error_set(err, 400, "peers", "'peers' is empty");
		return false;
	}
	for (i = 0; i < a->n; i++) {
		json_object *e = json_object_array_get_idx(a->list, i);
		json_object *key;

		if (!json_object_is_type(e, json_type_object)) {
			cg_error_set(err, 400, "", "must be a peer object");
			name_entry(err, i);
			return false;
		}
		if (!json_object_object_get_ex(e, "public_key", &key) || !key) {
			cg_error_set(err, 400, "public_key",
				     "missing field 'public_key'");
			name_entry(err, i);
			return false;
		}
	}
	return true;
}

/* WireGuard's feed is told every this many checked entries. */
#define IMPORT_FEED_STEP 64

/* Every entry added in order: a conflict with the state or an earlier
 * entry is a 409, any invalid one a 400; the skeleton then puts the
 * whole state back. */
static int import_change(struct controller *c, void *arg, struct cg_error *err)
{
	struct import_args *a = arg;
	size_t i;
	int ret;

	if (!import_shape(a, err))
		return -EINVAL;
	a->added = calloc(a->n, sizeof(*a->added));
	if (!a->added) {
		cg_error_set(err, 500, "", "out of memory");
		return -ENOMEM;
	}
	ctl_wg_feed_begin(c, a->added, &a->wg);
	a->wg_begun = true;
	for (i = 0; i < a->n; i++) {
		json_object *e = json_object_array_get_idx(a->list, i);

		/* wireguard-go's limit, counted as the batch grows. */
		if (name_reserved(e, err))
			ret = -EINVAL;
		else if (!ctl_wg_room(c, "name", err))
			ret = -ENOSPC;
		else
			ret = state_add_peer(&c->state, e, NULL, &a->added[i],
					     err);
		if (ret) {
			name_entry(err, i);
			return ret;
		}
		if ((i + 1) % IMPORT_FEED_STEP == 0)
			ctl_wg_feed_push(&a->wg, i + 1);
	}
	ctl_wg_feed_push(&a->wg, a->n);
	ctl_wg_feed_close(&a->wg, false);
	a->changed = monotonic_ns();
	return 0;
}

/* The import was not saved: WireGuard loses its peers again. */
static void import_revert(struct controller *c, void *arg)
{
	struct import_args *a = arg;
	/* A feed closed in full (the journal failed after): its peers are
	 * in; one closed early (an entry failed) took them back itself. */
	bool in = a->wg.closed && !a->wg.abort;

	if (!a->wg_begun)
		return;
	a->wg_begun = false;
	if (!ctl_wg_feed_end(&a->wg) && in)
		ctl_wg_remove_peers(c, a->added, a->n);
}

/* {"created": n, "peers": [{"name", "ip"}, ...]}: the addresses the
 * cell chose for entries without one. */
static json_object *import_answer(const struct import_args *a)
{
	json_object *o = json_object_new_object();
	json_object *list = json_object_new_array_ext((int)a->n);
	char ip[16], ip6[CG_IP6_STRLEN];
	size_t i;

	for (i = 0; i < a->n; i++) {
		json_object *p = json_object_new_object();

		json_object_object_add(
			p, "name", json_object_new_string(a->added[i].name));
		json_object_object_add(
			p, "ip",
			json_object_new_string(ipv4_str(a->added[i].ip, ip)));
		if (!ipv6_is_zero(&a->added[i].ip6))
			json_object_object_add(p, "ip6",
					       json_object_new_string(ipv6_str(
						       &a->added[i].ip6, ip6)));
		json_object_array_add(list, p);
	}
	json_object_object_add(o, "created",
			       json_object_new_int64((int64_t)a->n));
	json_object_object_add(o, "peers", list);
	return o;
}

/* Maps peer by peer, while WireGuard's batch (begun with the change)
 * goes on; then its end. */
static int import_apply(struct controller *c, void *arg, struct cg_error *err)
{
	struct import_args *a = arg;
	struct policy_rules_ctx ctx = { 0 };
	size_t i;
	int ret = 0, wg_ret;

	a->persisted = monotonic_ns();
	ret = ctl_rules_pairs_apply(c);
	/* The rules' context once for the batch, not once a peer; it is
	 * also how an entry finds the state (its groups' rate limits), so
	 * it is there without rules too (then it costs nothing). */
	if (!ret && policy_rules_ctx_init(&c->state, &ctx))
		ret = -ENOMEM;
	for (i = 0; i < a->n && !ret; i++)
		ret = dp_set_peer_ctx(&c->dp, &ctx, NULL, &a->added[i]);
	policy_rules_ctx_free(&ctx);
	a->mapped = monotonic_ns();
	if (!ret)
		a->answer = import_answer(a);
	a->wg_begun = false;
	wg_ret = ctl_wg_feed_end(&a->wg);
	a->programmed = monotonic_ns();
	if (ret)
		return ctl_apply_failed(ret, err, "the map update");
	if (wg_ret)
		return ctl_apply_failed(wg_ret, err, "programming WireGuard");
	return 0;
}

/* The answer, built while WireGuard still works (import_apply). */
static json_object *import_view(struct controller *c, void *arg)
{
	struct import_args *a = arg;
	json_object *o = a->answer;

	(void)c;
	a->answer = NULL;
	return o;
}

static const struct ctl_op import_peers = {
	.change = import_change,
	.revert = import_revert,
	.apply = import_apply,
	.view = import_view,
};

int ctl_import_peers(struct controller *c, json_object *body, json_object **out,
		     struct cg_error *err)
{
	struct import_args a = { .body = body, .t0 = monotonic_ns() };
	int ret = ctl_run(c, &import_peers, &a, out, err);

	if (!ret)
		log_info("imported %zu peers in %.0f ms: state %.0f, saved "
			 "%.0f, maps %.0f (WireGuard's set meanwhile), "
			 "waiting for WireGuard %.0f",
			 a.n, (double)(monotonic_ns() - a.t0) / 1e6,
			 (double)(a.changed - a.t0) / 1e6,
			 (double)(a.persisted - a.changed) / 1e6,
			 (double)(a.mapped - a.persisted) / 1e6,
			 (double)(a.programmed - a.mapped) / 1e6);
	json_object_put(a.answer); /* not answered: WireGuard failed */
	free(a.added);
	return ret;
}
