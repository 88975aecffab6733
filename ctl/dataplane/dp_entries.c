// SPDX-License-Identifier: MIT
/*
 * Whole maps compared with and written from what they should hold (an
 * entry set: dp_internal.h): the policy sync (dp_sync.c) and the bridge's
 * (dp_bridge.c) reconcile their maps this way.
 */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "dp_internal.h"

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
