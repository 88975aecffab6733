/* SPDX-License-Identifier: MIT */
/*
 * What the dataplane's own files share and nobody else uses: the sweep
 * that deletes chosen entries of a map, written once for the policy sync
 * (dp_sync.c) and the garbage collector (dp_gc.c).
 */
#ifndef CELLGATE_DP_INTERNAL_H
#define CELLGATE_DP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "dataplane.h"

/* One pass over a map that deletes the entries pick() chooses (or, with
 * pick_keeps, those it does not). Keys are collected first and deleted
 * after the pass, so the iteration never loses its place. */
struct map_sweep {
	int fd;
	size_t key_size;
	bool (*pick)(const void *key, const void *value, const void *ctx);
	const void *ctx;
	bool pick_keeps;
	/* Sees each deleted value before it goes. */
	void (*on_delete)(struct dataplane *dp, const void *value);
	struct dataplane *dp;
};

/* Returns how many entries it deleted, or -errno. */
int map_sweep(const struct map_sweep *sw);

#endif
