/* SPDX-License-Identifier: MIT */
/*
 * What the dataplane's own files share and nobody else uses: the sweep
 * that deletes chosen entries of a map, written once for the policy sync
 * (dp_sync.c) and the garbage collector (dp_gc.c); the identity writers
 * (dp_identity.c) the peers' and the rules' syncs share.
 */
#ifndef CELLGATE_DP_INTERNAL_H
#define CELLGATE_DP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* The epoch cg_epochs holds for an identity id (0 if none). */
uint32_t dp_epoch_get(struct dataplane *dp, uint32_t ident);
/* The epoch after old: counted in the low bits, CG_EPOCH_RATE set when
 * the identity is rate-limited (abi.h: conntrack entries carry it). */
uint32_t dp_epoch_next(uint32_t old, bool rate_limited);
/* Write an identity at key of the map fd, with a new epoch (mirrored
 * into cg_epochs): the identity's flows are judged again. */
int dp_identity_write_at(struct dataplane *dp, int fd, const void *key,
			 const struct cg_identity *value);
/* Write an IPv6 entry of an identity with the epoch cg_epochs holds
 * (only IPv4 writes give new epochs). */
int dp_identity6_mirror_at(struct dataplane *dp, int fd, const void *key,
			   const struct cg_identity *value);
/* Does cg_rules hold exactly the policy's class pairs? (dp_rules.c) */
bool dp_rules_in_sync(struct dataplane *dp, const struct policy *pol);

/* cg_budget mapped (dp_budget.c), from dp_open to dp_close. */
int dp_budget_map(struct dataplane *dp);
void dp_budget_unmap(struct dataplane *dp);

/* The flows each identity holds, counted by the conntrack sweep. */
struct budget_sweep {
	uint64_t *created; /* snapshot before the sweep, by identity id */
	uint32_t *live; /* entries seen alive */
	size_t n;
};

int budget_sweep_begin(const struct dataplane *dp, struct budget_sweep *bs);
void budget_sweep_count(struct budget_sweep *bs, const struct cg_ct_entry *e);
void budget_sweep_end(const struct dataplane *dp, struct budget_sweep *bs);

/* cg_rate[e's id] to e's rates (dp_rate.c); every peer's, rates before
 * identities, so a flag never comes before its rates. */
struct policy_peer;
int dp_rate_write(struct dataplane *dp, const struct policy_peer *e);
int dp_rates_sync(struct dataplane *dp, const struct policy *pol);

/* The entries a map should hold, as an array of {key, value} structs. */
struct entry_set {
	const void *entries;
	size_t n, stride;
	size_t key_size, value_off, value_size;
};

#define ENTRY_SET(array, count, type)                              \
	((struct entry_set){ .entries = (array),                   \
			     .n = (count),                         \
			     .stride = sizeof(type),               \
			     .key_size = sizeof(((type *)0)->key), \
			     .value_off = offsetof(type, value),   \
			     .value_size = sizeof(((type *)0)->value) })

/* Does map fd hold exactly the entries of set? */
bool dp_map_is(int fd, const struct entry_set *set);
/* Make map fd hold exactly the entries of set: 0 or -errno. */
int dp_write_set(int fd, const struct entry_set *set);

struct policy;
/* The bridge's allowed sources of both families (dp_bridge.c); bindings
 * of addresses no longer allowed are forgotten. */
int dp_sync_bridge(struct dataplane *dp, const struct policy *pol);
bool dp_bridge_in_sync(struct dataplane *dp, const struct policy *pol);

#endif
