/* SPDX-License-Identifier: MIT */
/*
 * Small indexes for the state's lists, so that a lookup or a change costs
 * the same at 10 entities as at 100k.
 *
 * hashidx: an open-addressing hash table from a 32-bit hash to a position
 * in an array the caller owns. It keeps no keys: a lookup hands each
 * candidate position with a matching hash to the caller's eq(). The
 * caller moves positions when it moves elements (hashidx_move).
 *
 * bitset: a fixed set of bits with a summary of full words, to find the
 * lowest clear bit without walking every word (ids, free addresses).
 */
#ifndef CELLGATE_HASHIDX_H
#define CELLGATE_HASHIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hashidx_slot {
	uint32_t hash;
	uint32_t pos1; /* position + 1; 0: empty */
};

struct hashidx {
	struct hashidx_slot *slots;
	uint32_t cap; /* a power of two, or 0 */
	uint32_t n;
};

uint32_t hash_bytes(const void *p, size_t len);
uint32_t hash_str(const char *s);

/* Room for n entries without growing (inserts after it cannot fail). */
int hashidx_reserve(struct hashidx *h, uint32_t n);
/* Add pos under hash; -ENOMEM when it had to grow and could not. */
int hashidx_insert(struct hashidx *h, uint32_t hash, uint32_t pos);
typedef bool hashidx_eq(const void *ctx, uint32_t pos, const void *key);
/* The position of the entry with hash for which eq(ctx, pos, key), or
 * -1. */
int64_t hashidx_find(const struct hashidx *h, uint32_t hash, hashidx_eq *eq,
		     const void *ctx, const void *key);
/* Drop the entry (hash, pos); false if it is not there. */
bool hashidx_remove(struct hashidx *h, uint32_t hash, uint32_t pos);
/* The entry (hash, from) now points at to. */
bool hashidx_move(struct hashidx *h, uint32_t hash, uint32_t from, uint32_t to);
void hashidx_free(struct hashidx *h);

struct bitset {
	uint64_t *words;
	uint64_t *full; /* bit i: words[i] is all ones */
	uint32_t nbits, nwords, nfull;
};

/* nbits bits, all clear (-ENOMEM). Memory is nbits / 8 bytes, touched
 * only where bits are set. */
int bitset_init(struct bitset *b, uint32_t nbits);
void bitset_free(struct bitset *b);
void bitset_set(struct bitset *b, uint32_t bit);
void bitset_clear(struct bitset *b, uint32_t bit);
bool bitset_test(const struct bitset *b, uint32_t bit);
/* The lowest clear bit, or -1 when every bit is set. */
int64_t bitset_first_clear(const struct bitset *b);

#endif
