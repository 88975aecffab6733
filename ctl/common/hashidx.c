// SPDX-License-Identifier: MIT
/*
 * Hash index (linear probing, deletion by backward shift: no tombstones,
 * so lookups stay short under churn) and a bitset with a summary level.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hashidx.h"

/* FNV-1a, then a final mix so that the low bits (the bucket) depend on
 * every byte. */
static uint32_t mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x7feb352d;
	h ^= h >> 15;
	h *= 0x846ca68b;
	h ^= h >> 16;
	return h;
}

uint32_t hash_bytes(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ b[i]) * 16777619u;
	return mix(h);
}

uint32_t hash_str(const char *s)
{
	return hash_bytes(s, strlen(s));
}

static void put(struct hashidx_slot *slots, uint32_t cap, struct hashidx_slot e)
{
	uint32_t i = e.hash & (cap - 1);

	while (slots[i].pos1)
		i = (i + 1) & (cap - 1);
	slots[i] = e;
}

/* Load at most a half: probes stay short. */
int hashidx_reserve(struct hashidx *h, uint32_t n)
{
	struct hashidx_slot *slots;
	uint32_t cap = h->cap ? h->cap : 16, i;

	while (n > cap / 2) {
		if (cap >= (1u << 31))
			return -ENOMEM;
		cap *= 2;
	}
	if (cap == h->cap)
		return 0;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (i = 0; i < h->cap; i++)
		if (h->slots[i].pos1)
			put(slots, cap, h->slots[i]);
	free(h->slots);
	h->slots = slots;
	h->cap = cap;
	return 0;
}

int hashidx_insert(struct hashidx *h, uint32_t hash, uint32_t pos)
{
	int ret = hashidx_reserve(h, h->n + 1);

	if (ret)
		return ret;
	put(h->slots, h->cap, (struct hashidx_slot){ hash, pos + 1 });
	h->n++;
	return 0;
}

int64_t hashidx_find(const struct hashidx *h, uint32_t hash, hashidx_eq *eq,
		     const void *ctx, const void *key)
{
	uint32_t i;

	if (!h->cap)
		return -1;
	for (i = hash & (h->cap - 1); h->slots[i].pos1;
	     i = (i + 1) & (h->cap - 1))
		if (h->slots[i].hash == hash &&
		    eq(ctx, h->slots[i].pos1 - 1, key))
			return h->slots[i].pos1 - 1;
	return -1;
}

/* The slot of (hash, pos), or cap. */
static uint32_t slot_of(const struct hashidx *h, uint32_t hash, uint32_t pos)
{
	uint32_t i;

	if (!h->cap)
		return 0;
	for (i = hash & (h->cap - 1); h->slots[i].pos1;
	     i = (i + 1) & (h->cap - 1))
		if (h->slots[i].hash == hash && h->slots[i].pos1 == pos + 1)
			return i;
	return h->cap;
}

bool hashidx_remove(struct hashidx *h, uint32_t hash, uint32_t pos)
{
	uint32_t mask = h->cap - 1, i = slot_of(h, hash, pos), j;

	if (i >= h->cap)
		return false;
	/* Shift back every entry of the run after i that may sit at i. */
	for (j = (i + 1) & mask; h->slots[j].pos1; j = (j + 1) & mask) {
		uint32_t home = h->slots[j].hash & mask;

		/* Moving j to i keeps it reachable iff home is not in
		 * (i, j] cyclically. */
		if (i <= j ? (home <= i || home > j) :
			     (home <= i && home > j)) {
			h->slots[i] = h->slots[j];
			i = j;
		}
	}
	h->slots[i].pos1 = 0;
	h->n--;
	return true;
}

bool hashidx_move(struct hashidx *h, uint32_t hash, uint32_t from, uint32_t to)
{
	uint32_t i = slot_of(h, hash, from);

	if (i >= h->cap)
		return false;
	h->slots[i].pos1 = to + 1;
	return true;
}

void hashidx_free(struct hashidx *h)
{
	free(h->slots);
	memset(h, 0, sizeof(*h));
}

/* ---- bitset ---------------------------------------------------------- */

int bitset_init(struct bitset *b, uint32_t nbits)
{
	uint32_t i;

	memset(b, 0, sizeof(*b));
	b->nbits = nbits;
	b->nwords = (nbits + 63) / 64;
	b->nfull = (b->nwords + 63) / 64;
	b->words = calloc(b->nwords ? b->nwords : 1, sizeof(uint64_t));
	b->full = calloc(b->nfull ? b->nfull : 1, sizeof(uint64_t));
	if (!b->words || !b->full) {
		bitset_free(b);
		return -ENOMEM;
	}
	/* Bits past the end are taken, so no search returns them. */
	for (i = nbits; i < b->nwords * 64; i++)
		bitset_set(b, i);
	return 0;
}

void bitset_free(struct bitset *b)
{
	free(b->words);
	free(b->full);
	memset(b, 0, sizeof(*b));
}

void bitset_set(struct bitset *b, uint32_t bit)
{
	uint32_t w = bit / 64;

	b->words[w] |= 1ull << (bit % 64);
	if (b->words[w] == ~0ull)
		b->full[w / 64] |= 1ull << (w % 64);
}

void bitset_clear(struct bitset *b, uint32_t bit)
{
	uint32_t w = bit / 64;

	b->words[w] &= ~(1ull << (bit % 64));
	b->full[w / 64] &= ~(1ull << (w % 64));
}

bool bitset_test(const struct bitset *b, uint32_t bit)
{
	return b->words[bit / 64] & (1ull << (bit % 64));
}

int64_t bitset_first_clear(const struct bitset *b)
{
	uint32_t f, w;

	for (f = 0; f < b->nfull; f++) {
		if (b->full[f] == ~0ull)
			continue;
		w = f * 64 + (uint32_t)__builtin_ctzll(~b->full[f]);
		if (w >= b->nwords)
			return -1;
		return (int64_t)w * 64 + __builtin_ctzll(~b->words[w]);
	}
	return -1;
}
