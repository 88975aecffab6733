// SPDX-License-Identifier: MIT
/*
 * Whole maps compared with and written from what they should hold (an
 * entry set: dp_internal.h), and the sweep that deletes chosen entries:
 * the policy sync (dp_sync.c), the bridge's (dp_bridge.c) and the
 * garbage collector (dp_gc.c) work on their maps this way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "dp_internal.h"

int map_sweep(const struct map_sweep *sw)
{
	char key[64], next[64], value[128];
	void *prev = NULL;
	char(*doomed)[64] = NULL;
	size_t n = 0, cap = 0, i, deleted = 0;
	int ret = 0;

	while (bpf_map_get_next_key(sw->fd, prev, next) == 0) {
		memcpy(key, next, sw->key_size);
		prev = key;
		if (bpf_map_lookup_elem(sw->fd, key, value) ||
		    sw->pick(key, value, sw->ctx) == sw->pick_keeps)
			continue;
		if (n == cap) {
			void *p = realloc(doomed, (cap = cap ? cap * 2 : 64) *
							  sizeof(*doomed));

			if (!p) {
				free(doomed);
				return -ENOMEM;
			}
			doomed = p;
		}
		memcpy(doomed[n++], key, sw->key_size);
	}
	for (i = 0; i < n; i++) {
		if (sw->on_delete &&
		    !bpf_map_lookup_elem(sw->fd, doomed[i], value))
			sw->on_delete(sw->dp, value);
		/* Only what this sweep deleted counts: the conntrack GC
		 * sweeps without the controller's lock, beside a forward's
		 * removal sweeping its NAT entries. */
		if (!bpf_map_delete_elem(sw->fd, doomed[i]))
			deleted++;
		else if (errno != ENOENT)
			ret = -errno;
	}
	free(doomed);
	return ret ? ret : (int)deleted;
}

static bool in_set(const void *key, const void *value, const void *ctx)
{
	const struct entry_set *set = ctx;
	size_t i;

	for (i = 0; i < set->n; i++) {
		const char *e = (const char *)set->entries + i * set->stride;

		if (!memcmp(e, key, set->key_size) &&
		    !memcmp(e + set->value_off, value, set->value_size))
			return true;
	}
	return false;
}

bool dp_map_is(int fd, const struct entry_set *set)
{
	char key[64], next[64], value[128];
	void *prev = NULL;
	size_t count = 0;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, sizeof(key));
		prev = key;
		if (bpf_map_lookup_elem(fd, key, value) ||
		    !in_set(key, value, set))
			return false;
		count++;
	}
	return count == set->n;
}

int dp_write_set(int fd, const struct entry_set *set)
{
	struct map_sweep sw = { .fd = fd,
				.key_size = set->key_size,
				.pick = in_set,
				.ctx = set,
				.pick_keeps = true };
	size_t i;
	int ret = map_sweep(&sw);

	if (ret < 0)
		return ret;
	for (i = 0; i < set->n; i++) {
		const char *e = (const char *)set->entries + i * set->stride;

		if (bpf_map_update_elem(fd, e, e + set->value_off, BPF_ANY))
			return -errno;
	}
	return 0;
}
