// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "ct_canon.h"

bool ct_key_canonical(const struct cg_ct_key *k)
{
	uint32_t s, d;

	memcpy(&s, k->saddr, 4);
	memcpy(&d, k->daddr, 4);
	return !(s > d || (s == d && k->sport > k->dport));
}

static void key_reverse(const struct cg_ct_key *k, struct cg_ct_key *r)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->saddr, k->daddr, 4);
	memcpy(r->daddr, k->saddr, 4);
	r->sport = k->dport;
	r->dport = k->sport;
	r->proto = k->proto;
}

/* The keys to move, gathered first: moving while walking the map could
 * skip or revisit keys. */
static int gather(int fd, struct cg_ct_key **out, size_t *n)
{
	struct cg_ct_key key, next, *keys = NULL, *grown;
	size_t cap = 0;
	void *prev = NULL;

	*n = 0;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (ct_key_canonical(&key))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			grown = realloc(keys, cap * sizeof(*keys));
			if (!grown) {
				free(keys);
				return -ENOMEM;
			}
			keys = grown;
		}
		keys[(*n)++] = key;
	}
	*out = keys;
	return 0;
}

int ct_canonicalize(int fd)
{
	struct cg_ct_key *keys = NULL, canon;
	struct cg_ct_entry e;
	size_t i, n;
	int moved = 0, ret;

	ret = gather(fd, &keys, &n);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(fd, &keys[i], &e))
			continue; /* gone meanwhile */
		key_reverse(&keys[i], &canon);
		e.key_rev = 1;
		/* A packet may have opened the flow anew under its canonical
		 * key meanwhile: that entry stays. */
		if (!bpf_map_update_elem(fd, &canon, &e, BPF_NOEXIST))
			moved++;
		bpf_map_delete_elem(fd, &keys[i]);
	}
	free(keys);
	return moved;
}
