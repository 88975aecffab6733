// SPDX-License-Identifier: MIT
/*
 * Rules between peers (issue 18) in cg_rules: the compiled class pairs
 * written, those the policy no longer has deleted, and a new epoch only
 * for the identities of a class that lost something, so a rule change
 * re-judges the flows it may cut and no others.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "dataplane.h"
#include "dp_internal.h"

struct class_set {
	uint64_t *v;
	size_t n, cap;
};

static int class_add(struct class_set *s, uint64_t c)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		void *p = realloc(s->v, cap * sizeof(*s->v));

		if (!p)
			return -ENOMEM;
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = c;
	return 0;
}

static int cmp_class(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static bool class_in(const struct class_set *s, uint64_t c)
{
	return c && s->n && bsearch(&c, s->v, s->n, sizeof(*s->v), cmp_class);
}

/* Class pairs in the map that the policy drops or changes: their source
 * classes (whose flows may have lost what admitted them) into narrowed,
 * the pairs themselves deleted or rewritten. */
static int rules_diff(struct dataplane *dp, const struct policy *pol,
		      struct class_set *narrowed)
{
	int fd = dp->map_fd[DP_MAP_RULES];
	struct cg_rule_key key, next, *prev = NULL;
	struct cg_rule_ports cur;
	struct class_set gone = { 0 };
	size_t i;
	int ret = 0;

	/* Deleting while iterating would lose the iteration's place:
	 * collect the keys first (kept in gone as pairs of classes). */
	while (!ret && bpf_map_get_next_key(fd, prev, &next) == 0) {
		const struct policy_rule *w = policy_find_rule(pol, &next);

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &cur))
			continue;
		if (w && !memcmp(&cur, &w->value, sizeof(cur)))
			continue;
		ret = class_add(narrowed, key.src_class);
		if (!ret && !w)
			ret = class_add(&gone, key.src_class) ?:
				      class_add(&gone, key.dst_class);
	}
	for (i = 0; !ret && i + 1 < gone.n; i += 2) {
		key.src_class = gone.v[i];
		key.dst_class = gone.v[i + 1];
		if (bpf_map_delete_elem(fd, &key) && errno != ENOENT)
			ret = -errno;
	}
	free(gone.v);
	return ret;
}

/* Write every wanted pair, then give the identities of narrowed classes
 * a new epoch: only their flows are judged again, so a rule change costs
 * O(the identities it affects) in map writes. */
int dp_sync_rules(struct dataplane *dp, const struct policy *pol)
{
	struct class_set narrowed = { 0 };
	size_t i;
	int ret = rules_diff(dp, pol, &narrowed);

	dp->writes++;
	for (i = 0; !ret && i < pol->n_rules; i++)
		if (bpf_map_update_elem(dp->map_fd[DP_MAP_RULES],
					&pol->rules[i].key,
					&pol->rules[i].value, BPF_ANY))
			ret = -errno;
	if (narrowed.n)
		qsort(narrowed.v, narrowed.n, sizeof(*narrowed.v), cmp_class);
	for (i = 0; !ret && narrowed.n && i < pol->n_peers; i++)
		if (class_in(&narrowed, pol->peers[i].value.rule_class))
			ret = dp_identity_write_at(dp, dp->map_fd[DP_MAP_PEERS],
						   &pol->peers[i].key,
						   &pol->peers[i].value);
	for (i = 0; !ret && narrowed.n && i < pol->n_cells; i++)
		if (class_in(&narrowed, pol->cells[i].value.rule_class))
			ret = dp_identity_write_at(dp, dp->map_fd[DP_MAP_CELLS],
						   &pol->cells[i].key,
						   &pol->cells[i].value);
	/* The IPv6 entries carry the epochs just written (cg_epochs). */
	for (i = 0; !ret && narrowed.n && i < pol->n_peers6; i++)
		if (class_in(&narrowed, pol->peers6[i].value.rule_class))
			ret = dp_identity6_mirror_at(
				dp, dp->map_fd[DP_MAP_PEERS6],
				&pol->peers6[i].key, &pol->peers6[i].value);
	for (i = 0; !ret && narrowed.n && i < pol->n_cells6; i++)
		if (class_in(&narrowed, pol->cells6[i].value.rule_class))
			ret = dp_identity6_mirror_at(
				dp, dp->map_fd[DP_MAP_CELLS6],
				&pol->cells6[i].key, &pol->cells6[i].value);
	free(narrowed.v);
	return ret;
}

/* Does cg_rules hold exactly pol's pairs? */
bool dp_rules_in_sync(struct dataplane *dp, const struct policy *pol)
{
	int fd = dp->map_fd[DP_MAP_RULES];
	struct cg_rule_key key, next, *prev = NULL;
	struct cg_rule_ports cur;
	size_t count = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		const struct policy_rule *w = policy_find_rule(pol, &next);

		key = next;
		prev = &key;
		if (!w || bpf_map_lookup_elem(fd, &key, &cur) ||
		    memcmp(&cur, &w->value, sizeof(cur)))
			return false;
		count++;
	}
	return count == pol->n_rules;
}
