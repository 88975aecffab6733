// SPDX-License-Identifier: MIT
/*
 * Keeping the maps equal to the compiled policy: identities and their
 * epochs (a new epoch re-judges the identity's flows), one peer at a
 * time or whole maps reconciled against the policy, and the settings.
 * Split from the loader so that what is written to the maps, and when
 * flows are re-judged, reads in one place.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "dataplane.h"
#include "dp_internal.h"
#include "log.h"

int dp_write_settings(struct dataplane *dp, const struct cg_settings *set)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(dp->map_fd[DP_MAP_SETTINGS], &zero, set,
				BPF_ANY))
		return -errno;
	return 0;
}

int dp_write_settings6(struct dataplane *dp, const struct cg_settings6 *set)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(dp->map_fd[DP_MAP_SETTINGS6], &zero, set,
				BPF_ANY))
		return -errno;
	return 0;
}

/* ---- identities and epochs --------------------------------------------- */

static int identity_write(struct dataplane *dp, const struct policy_peer *e)
{
	return dp_identity_write_at(dp, dp->map_fd[DP_MAP_PEERS], &e->key,
				    &e->value);
}

static int identity6_mirror(struct dataplane *dp, const void *key,
			    const struct cg_identity *value)
{
	return dp_identity6_mirror_at(dp, dp->map_fd[DP_MAP_PEERS6], key,
				      value);
}

static int delete_key(int fd, const void *key)
{
	if (bpf_map_delete_elem(fd, key) && errno != ENOENT)
		return -errno;
	return 0;
}

/* Retire an id: flows admitted under it are re-judged (and dropped). */
static int epoch_bump(struct dataplane *dp, uint32_t ident)
{
	uint32_t epoch = dp_epoch_next(dp_epoch_get(dp, ident), false);

	if (bpf_map_update_elem(dp->map_fd[DP_MAP_EPOCHS], &ident, &epoch,
				BPF_ANY))
		return -errno;
	return 0;
}

static int counters_reset(struct dataplane *dp, uint32_t ident)
{
	size_t sz = (size_t)dp->ncpus * sizeof(struct cg_counters);
	void *zero = calloc(1, sz);
	int ret;

	if (!zero)
		return -ENOMEM;
	ret = bpf_map_update_elem(dp->map_fd[DP_MAP_COUNTERS], &ident, zero,
				  BPF_ANY);
	free(zero);
	return ret ? -errno : 0;
}

static bool same_identity(const struct cg_identity *a,
			  const struct cg_identity *b)
{
	struct cg_identity x = *a, y = *b;

	x.epoch = y.epoch = 0;
	return !memcmp(&x, &y, sizeof(x));
}

/* Does the map already hold e (but for its epoch)? */
static bool identity_unchanged(struct dataplane *dp,
			       const struct policy_peer *e)
{
	struct cg_identity cur;

	return !bpf_map_lookup_elem(dp->map_fd[DP_MAP_PEERS], &e->key, &cur) &&
	       same_identity(&cur, &e->value);
}

/* The old addresses a changed peer no longer has stop admitting. */
static int forget_old_addresses(struct dataplane *dp,
				const struct cg_peer_def *old,
				const struct cg_peer_def *peer)
{
	struct policy_peer o;
	struct policy_peer6 o6;
	int ret = 0;

	policy_peer_entry(NULL, old, &o);
	if (old->ip.s_addr != peer->ip.s_addr)
		ret = delete_key(dp->map_fd[DP_MAP_PEERS], &o.key);
	if (!ret && !ipv6_equal(&old->ip6, &peer->ip6) &&
	    policy_peer6_entry(old, &o, &o6))
		ret = delete_key(dp->map_fd[DP_MAP_PEERS6], &o6.key);
	return ret;
}

/* Install or change one peer whose entry e is compiled. */
static int set_peer_entry(struct dataplane *dp, const struct cg_peer_def *old,
			  const struct cg_peer_def *peer,
			  const struct policy_peer *e)
{
	struct policy_peer6 e6;
	bool has6 = policy_peer6_entry(peer, e, &e6);
	int ret;

	dp->writes++;
	if (!old) {
		ret = counters_reset(dp, peer->id);
		if (ret)
			return ret;
	}
	ret = dp_rate_write(dp, e);
	if (ret)
		return ret;
	/* Unchanged policy at unchanged addresses: no new epoch, which
	 * would re-judge every flow of the peer for nothing. */
	if (old && old->ip.s_addr == peer->ip.s_addr &&
	    ipv6_equal(&old->ip6, &peer->ip6) && identity_unchanged(dp, e))
		return 0;
	ret = identity_write(dp, e);
	if (!ret && has6)
		ret = identity6_mirror(dp, &e6.key, &e6.value);
	if (ret || !old)
		return ret;
	return forget_old_addresses(dp, old, peer);
}

int dp_set_peer(struct dataplane *dp, const struct cg_state *st,
		const struct cg_peer_def *old, const struct cg_peer_def *peer)
{
	struct policy_peer e;

	policy_peer_entry(st, peer, &e);
	return set_peer_entry(dp, old, peer, &e);
}

int dp_set_peer_ctx(struct dataplane *dp, const struct policy_rules_ctx *ctx,
		    const struct cg_peer_def *old,
		    const struct cg_peer_def *peer)
{
	struct policy_peer e;

	policy_peer_entry_ctx(ctx, peer, &e);
	return set_peer_entry(dp, old, peer, &e);
}

int dp_remove_peer(struct dataplane *dp, const struct cg_peer_def *peer)
{
	struct policy_peer e;
	struct policy_peer6 e6;
	int ret;

	dp->writes++;
	policy_peer_entry(NULL, peer, &e);
	ret = delete_key(dp->map_fd[DP_MAP_PEERS], &e.key);
	if (!ret && policy_peer6_entry(peer, &e, &e6))
		ret = delete_key(dp->map_fd[DP_MAP_PEERS6], &e6.key);
	return ret ? ret : epoch_bump(dp, peer->id);
}

/* ---- reconciling whole maps -------------------------------------------- */

static bool keep_peer(const void *key, const void *value, const void *ctx)
{
	const struct policy *pol = ctx;
	const struct policy_peer *w = policy_find_peer(pol, key);

	return w && w->value.id == ((const struct cg_identity *)value)->id;
}

static void on_peer_deleted(struct dataplane *dp, const void *value)
{
	epoch_bump(dp, ((const struct cg_identity *)value)->id);
}

static bool keep_cell(const void *key, const void *value, const void *ctx)
{
	const struct policy *pol = ctx;
	size_t i;

	for (i = 0; i < pol->n_cells; i++)
		if (!memcmp(&pol->cells[i].key, key, sizeof(struct cg_lpm_key)))
			return pol->cells[i].value.id ==
			       ((const struct cg_identity *)value)->id;
	return false;
}

/* The identities of one map, peers (exact) or cells (LPM): entries laid
 * out as {key, struct cg_identity value}. */
struct identity_set {
	int fd;
	const char *entries;
	size_t n, stride, key_size, value_off;
	bool (*keep)(const void *key, const void *value, const void *ctx);
};

/* Delete identities the policy no longer has (their flows go with their
 * epoch), rewrite the changed ones with a new epoch (all of them when
 * rejudge), leave the rest alone. */
static int sync_identity_map(struct dataplane *dp,
			     const struct identity_set *set,
			     const struct policy *pol, bool rejudge)
{
	struct map_sweep sw = { .fd = set->fd,
				.key_size = set->key_size,
				.pick = set->keep,
				.ctx = pol,
				.pick_keeps = true,
				.on_delete = on_peer_deleted,
				.dp = dp };
	size_t i;
	int ret = map_sweep(&sw);

	if (ret < 0)
		return ret;
	for (i = 0; i < set->n; i++) {
		const char *key = set->entries + i * set->stride;
		const struct cg_identity *want =
			(const void *)(key + set->value_off);
		struct cg_identity cur;

		if (!rejudge && bpf_map_lookup_elem(set->fd, key, &cur) == 0 &&
		    same_identity(&cur, want) &&
		    cur.epoch == dp_epoch_get(dp, cur.id))
			continue; /* unchanged since the last run */
		ret = dp_identity_write_at(dp, set->fd, key, want);
		if (ret)
			return ret;
	}
	return 0;
}

static bool keep_peer6(const void *key, const void *value, const void *ctx)
{
	const struct policy_peer6 *w = policy_find_peer6(ctx, key);

	return w && w->value.id == ((const struct cg_identity *)value)->id;
}

static bool keep_cell6(const void *key, const void *value, const void *ctx)
{
	const struct policy *pol = ctx;
	size_t i;

	for (i = 0; i < pol->n_cells6; i++)
		if (!memcmp(&pol->cells6[i].key, key,
			    sizeof(struct cg_lpm6_key)))
			return pol->cells6[i].value.id ==
			       ((const struct cg_identity *)value)->id;
	return false;
}

/* An IPv6 identity map after its IPv4 one (cg_peers6 after cg_peers,
 * cg_cells6 after cg_cells): stale entries go, the others mirror the
 * identity and the epoch the IPv4 map's write set. A stale entry gives
 * no new epoch: a deleted identity got one from its IPv4 entry's sweep,
 * and a live one must keep the epoch its IPv4 entry carries (a bump
 * alone would leave every one of its flows re-judged on every packet);
 * WireGuard no longer routes the old address to it anyway. */
static int sync_identity6_map(struct dataplane *dp,
			      const struct identity_set *set,
			      const struct policy *pol)
{
	struct map_sweep sw = { .fd = set->fd,
				.key_size = set->key_size,
				.pick = set->keep,
				.ctx = pol,
				.pick_keeps = true,
				.dp = dp };
	size_t i;
	int ret = map_sweep(&sw);

	for (i = 0; ret >= 0 && i < set->n; i++) {
		const char *key = set->entries + i * set->stride;
		const struct cg_identity *want =
			(const void *)(key + set->value_off);
		struct cg_identity cur;

		if (bpf_map_lookup_elem(sw.fd, key, &cur) == 0 &&
		    same_identity(&cur, want) &&
		    cur.epoch == dp_epoch_get(dp, cur.id))
			continue;
		ret = dp_identity6_mirror_at(dp, set->fd, key, want);
	}
	return ret < 0 ? ret : 0;
}

static int sync_peers6(struct dataplane *dp, const struct policy *pol)
{
	struct identity_set peers6 = {
		.fd = dp->map_fd[DP_MAP_PEERS6],
		.entries = (const char *)pol->peers6,
		.n = pol->n_peers6,
		.stride = sizeof(*pol->peers6),
		.key_size = sizeof(struct cg_addr6_key),
		.value_off = offsetof(struct policy_peer6, value),
		.keep = keep_peer6,
	};
	struct identity_set cells6 = {
		.fd = dp->map_fd[DP_MAP_CELLS6],
		.entries = (const char *)pol->cells6,
		.n = pol->n_cells6,
		.stride = sizeof(*pol->cells6),
		.key_size = sizeof(struct cg_lpm6_key),
		.value_off = offsetof(struct policy_cell6, value),
		.keep = keep_cell6,
	};
	int ret = sync_identity6_map(dp, &peers6, pol);

	return ret ? ret : sync_identity6_map(dp, &cells6, pol);
}

static int sync_peers(struct dataplane *dp, const struct policy *pol,
		      bool rejudge)
{
	struct identity_set peers = {
		.fd = dp->map_fd[DP_MAP_PEERS],
		.entries = (const char *)pol->peers,
		.n = pol->n_peers,
		.stride = sizeof(*pol->peers),
		.key_size = sizeof(struct cg_addr_key),
		.value_off = offsetof(struct policy_peer, value),
		.keep = keep_peer,
	};
	struct identity_set cells = {
		.fd = dp->map_fd[DP_MAP_CELLS],
		.entries = (const char *)pol->cells,
		.n = pol->n_cells,
		.stride = sizeof(*pol->cells),
		.key_size = sizeof(struct cg_lpm_key),
		.value_off = offsetof(struct policy_cell, value),
		.keep = keep_cell,
	};
	int ret = dp_rates_sync(dp, pol);

	if (!ret)
		ret = sync_identity_map(dp, &peers, pol, rejudge);
	if (!ret)
		ret = sync_identity_map(dp, &cells, pol, rejudge);
	return ret ? ret : sync_peers6(dp, pol);
}

static struct entry_set services_of(const struct policy *pol)
{
	return ENTRY_SET(pol->services, pol->n_services, struct policy_service);
}

static struct entry_set dnat_of(const struct policy *pol)
{
	return ENTRY_SET(pol->dnat, pol->n_dnat, struct policy_dnat);
}

static struct entry_set dnat6_of(const struct policy *pol)
{
	return ENTRY_SET(pol->dnat6, pol->n_dnat6, struct policy_dnat6);
}

static struct entry_set nets_of(const struct policy *pol)
{
	return ENTRY_SET(pol->nets, pol->n_nets, struct policy_net);
}

static struct entry_set services6_of(const struct policy *pol)
{
	return ENTRY_SET(pol->services6, pol->n_services6,
			 struct policy_service6);
}

static struct entry_set nets6_of(const struct policy *pol)
{
	return ENTRY_SET(pol->nets6, pol->n_nets6, struct policy_net6);
}

static int write_services(struct dataplane *dp, const struct policy *pol)
{
	struct entry_set svc = services_of(pol), dnat = dnat_of(pol),
			 svc6 = services6_of(pol), dnat6 = dnat6_of(pol);
	int ret = dp_write_set(dp->map_fd[DP_MAP_SERVICES], &svc);

	if (!ret)
		ret = dp_write_set(dp->map_fd[DP_MAP_SERVICES6], &svc6);
	if (!ret)
		ret = dp_write_set(dp->map_fd[DP_MAP_DNAT6], &dnat6);
	return ret ? ret : dp_write_set(dp->map_fd[DP_MAP_DNAT], &dnat);
}

int dp_sync_forwards(struct dataplane *dp, const struct policy *pol)
{
	struct entry_set fwd = ENTRY_SET(pol->forwards, pol->n_forwards,
					 struct policy_forward);
	struct entry_set allow = ENTRY_SET(pol->fwd_allow, pol->n_fwd_allow,
					   struct policy_fwd_allow);
	/* Allow lists first: a new forward never runs without its list. */
	int ret = dp_write_set(dp->map_fd[DP_MAP_FWD_ALLOW], &allow);

	dp->writes++;
	if (!ret)
		ret = dp_write_set(dp->map_fd[DP_MAP_FORWARDS], &fwd);
	return ret ? ret : dp_sync_bridge(dp, pol);
}

int dp_sync(struct dataplane *dp, const struct policy *pol)
{
	/* Flows were admitted under the service and network maps as they
	 * are now (e.g. pinned across a restart, after a crash between
	 * saving a service change and applying it): if those change, every
	 * flow is judged again, as after dp_sync_services. */
	struct entry_set svc = services_of(pol), nets = nets_of(pol),
			 dnat = dnat_of(pol), nets6 = nets6_of(pol),
			 svc6 = services6_of(pol), dnat6 = dnat6_of(pol);
	bool rejudge = !dp_map_is(dp->map_fd[DP_MAP_SERVICES], &svc) ||
		       !dp_map_is(dp->map_fd[DP_MAP_DNAT6], &dnat6) ||
		       !dp_map_is(dp->map_fd[DP_MAP_SERVICES6], &svc6) ||
		       !dp_map_is(dp->map_fd[DP_MAP_LOCAL_NETS], &nets) ||
		       !dp_map_is(dp->map_fd[DP_MAP_LOCAL_NETS6], &nets6) ||
		       !dp_map_is(dp->map_fd[DP_MAP_DNAT], &dnat);
	int ret = dp_write_set(dp->map_fd[DP_MAP_LOCAL_NETS], &nets);

	dp->writes++;
	if (!ret)
		ret = dp_write_set(dp->map_fd[DP_MAP_LOCAL_NETS6], &nets6);
	if (!ret)
		ret = write_services(dp, pol);
	if (!ret)
		ret = dp_sync_forwards(dp, pol);
	/* Pairs before identities: a peer that moves to a new class
	 * finds its pairs there. */
	if (!ret)
		ret = dp_sync_rules(dp, pol);
	if (!ret)
		ret = sync_peers(dp, pol, rejudge);
	if (ret)
		log_err("map sync failed: %s", strerror(-ret));
	return ret;
}

int dp_sync_services(struct dataplane *dp, const struct policy *pol)
{
	size_t i;
	int ret = write_services(dp, pol);

	dp->writes++;
	if (!ret)
		ret = dp_sync_bridge(dp, pol);
	/* Which flows a service change affects is not worth computing:
	 * re-judging every flow once is cheap and always right. */
	for (i = 0; !ret && i < pol->n_peers; i++)
		ret = identity_write(dp, &pol->peers[i]);
	for (i = 0; !ret && i < pol->n_peers6; i++)
		ret = identity6_mirror(dp, &pol->peers6[i].key,
				       &pol->peers6[i].value);
	return ret;
}

/* Do the identity map's entries equal set's, epochs current? */
static bool identities_are(struct dataplane *dp, const struct identity_set *set)
{
	char key[64], next[64];
	void *prev = NULL;
	size_t i, count = 0;

	while (bpf_map_get_next_key(set->fd, prev, next) == 0) {
		memcpy(key, next, sizeof(key));
		prev = key;
		count++;
	}
	if (count != set->n)
		return false;
	/* As many entries as wanted, each wanted one there: equal. */
	for (i = 0; i < set->n; i++) {
		const char *k = set->entries + i * set->stride;
		const struct cg_identity *want =
			(const void *)(k + set->value_off);
		struct cg_identity cur;

		if (bpf_map_lookup_elem(set->fd, k, &cur) ||
		    !same_identity(&cur, want) ||
		    cur.epoch != dp_epoch_get(dp, cur.id))
			return false;
	}
	return true;
}

bool dp_in_sync(struct dataplane *dp, const struct policy *pol)
{
	struct entry_set svc = services_of(pol), nets = nets_of(pol),
			 dnat = dnat_of(pol),
			 fwd = ENTRY_SET(pol->forwards, pol->n_forwards,
					 struct policy_forward),
			 allow = ENTRY_SET(pol->fwd_allow, pol->n_fwd_allow,
					   struct policy_fwd_allow),
			 nets6 = nets6_of(pol), svc6 = services6_of(pol),
			 dnat6 = dnat6_of(pol);
	struct identity_set peers6 = {
		.fd = dp->map_fd[DP_MAP_PEERS6],
		.entries = (const char *)pol->peers6,
		.n = pol->n_peers6,
		.stride = sizeof(*pol->peers6),
		.value_off = offsetof(struct policy_peer6, value),
	};
	struct identity_set cells6 = {
		.fd = dp->map_fd[DP_MAP_CELLS6],
		.entries = (const char *)pol->cells6,
		.n = pol->n_cells6,
		.stride = sizeof(*pol->cells6),
		.value_off = offsetof(struct policy_cell6, value),
	};
	struct identity_set peers = {
		.fd = dp->map_fd[DP_MAP_PEERS],
		.entries = (const char *)pol->peers,
		.n = pol->n_peers,
		.stride = sizeof(*pol->peers),
		.value_off = offsetof(struct policy_peer, value),
	};
	struct identity_set cells = {
		.fd = dp->map_fd[DP_MAP_CELLS],
		.entries = (const char *)pol->cells,
		.n = pol->n_cells,
		.stride = sizeof(*pol->cells),
		.value_off = offsetof(struct policy_cell, value),
	};

	return dp_map_is(dp->map_fd[DP_MAP_SERVICES], &svc) &&
	       dp_map_is(dp->map_fd[DP_MAP_LOCAL_NETS], &nets) &&
	       dp_map_is(dp->map_fd[DP_MAP_DNAT], &dnat) &&
	       dp_map_is(dp->map_fd[DP_MAP_FORWARDS], &fwd) &&
	       dp_map_is(dp->map_fd[DP_MAP_FWD_ALLOW], &allow) &&
	       dp_rules_in_sync(dp, pol) && dp_bridge_in_sync(dp, pol) &&
	       dp_map_is(dp->map_fd[DP_MAP_LOCAL_NETS6], &nets6) &&
	       dp_map_is(dp->map_fd[DP_MAP_SERVICES6], &svc6) &&
	       dp_map_is(dp->map_fd[DP_MAP_DNAT6], &dnat6) &&
	       identities_are(dp, &peers) && identities_are(dp, &cells) &&
	       identities_are(dp, &peers6) && identities_are(dp, &cells6);
}
