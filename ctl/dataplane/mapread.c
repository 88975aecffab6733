// SPDX-License-Identifier: MIT
/*
 * Reading any BPF map by fd (mapread.h): in batches where the kernel can,
 * per-CPU values summed. Knows no cellgate map, so the controller and the
 * read-only face of the pins (pins_ro.c) share it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "mapread.h"

/* Entries per batch: large enough that a 100k-entry table takes a few
 * hundred syscalls, small enough to stay a few hundred KiB of buffer. */
#define BATCH_ENTRIES 512u

/* Batch tokens are opaque: a bucket index for hash maps, a key for
 * arrays. This holds either. */
#define BATCH_TOKEN_MAX 64

static bool is_percpu(uint32_t type)
{
	return type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

struct walk {
	int fd;
	size_t key_size, value_len; /* value_len: all CPUs' copies */
	map_entry_fn fn;
	void *ctx;
};

/* -EOPNOTSUPP/-EINVAL when the map type has no batch lookup. */
static int walk_batched(const struct walk *w)
{
	char in[BATCH_TOKEN_MAX], out[BATCH_TOKEN_MAX];
	char *keys = malloc(BATCH_ENTRIES * w->key_size);
	char *values = malloc(BATCH_ENTRIES * w->value_len);
	bool first = true, done = false;
	int seen = 0, ret = 0;
	uint32_t i, count;

	if (!keys || !values) {
		ret = -ENOMEM;
		goto out;
	}
	while (!done) {
		count = BATCH_ENTRIES;
		if (bpf_map_lookup_batch(w->fd, first ? NULL : in, out, keys,
					 values, &count, NULL)) {
			if (errno != ENOENT) {
				ret = -errno;
				goto out;
			}
			done = true; /* the last batch (count may be > 0) */
		}
		first = false;
		memcpy(in, out, sizeof(in));
		for (i = 0; i < count; i++, seen++)
			if (w->fn && w->fn(keys + i * w->key_size,
					   values + i * w->value_len, w->ctx))
				goto out;
	}
out:
	free(keys);
	free(values);
	return ret ? ret : seen;
}

static int walk_by_key(const struct walk *w)
{
	char key[BATCH_TOKEN_MAX], next[BATCH_TOKEN_MAX];
	char *value = malloc(w->value_len);
	void *prev = NULL;
	int seen = 0;

	if (!value)
		return -ENOMEM;
	while (bpf_map_get_next_key(w->fd, prev, next) == 0) {
		memcpy(key, next, w->key_size);
		prev = key;
		if (bpf_map_lookup_elem(w->fd, key, value))
			continue; /* deleted meanwhile */
		seen++;
		if (w->fn && w->fn(key, value, w->ctx))
			break;
	}
	free(value);
	return seen;
}

int map_for_each(int fd, int ncpus, map_entry_fn fn, void *ctx)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	struct walk w = { .fd = fd, .fn = fn, .ctx = ctx };
	int ret;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.key_size > BATCH_TOKEN_MAX ||
	    info.type == BPF_MAP_TYPE_RINGBUF)
		return -EOPNOTSUPP;
	w.key_size = info.key_size;
	w.value_len = is_percpu(info.type) ?
			      percpu_stride(info.value_size) * (size_t)ncpus :
			      info.value_size;
	ret = walk_batched(&w);
	if (ret == -EINVAL || ret == -EOPNOTSUPP || ret == -ENOTSUP)
		ret = walk_by_key(&w);
	return ret;
}

int map_count(int fd, int ncpus)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type == BPF_MAP_TYPE_ARRAY ||
	    info.type == BPF_MAP_TYPE_PERCPU_ARRAY)
		return (int)info.max_entries;
	return map_for_each(fd, ncpus, NULL, NULL);
}

uint64_t map_memory_bytes(int fd)
{
	char path[64], line[128];
	uint64_t bytes = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %" SCNu64, &bytes) == 1)
			break;
	fclose(f);
	return bytes;
}

void percpu_sum_u64(void *sum, const void *percpu, size_t value_size, int ncpus)
{
	size_t stride = percpu_stride(value_size), n = value_size / 8, i;
	const unsigned char *p = percpu;
	uint64_t acc, v;
	int cpu;

	for (i = 0; i < n; i++) {
		acc = 0;
		for (cpu = 0; cpu < ncpus; cpu++) {
			memcpy(&v, p + (size_t)cpu * stride + i * 8, 8);
			acc += v;
		}
		memcpy((unsigned char *)sum + i * 8, &acc, 8);
	}
}

int map_percpu_sum(int fd, int ncpus, uint32_t key, void *sum,
		   size_t value_size)
{
	void *percpu = calloc((size_t)ncpus, percpu_stride(value_size));

	memset(sum, 0, value_size);
	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, percpu)) {
		free(percpu);
		return -errno;
	}
	percpu_sum_u64(sum, percpu, value_size, ncpus);
	free(percpu);
	return 0;
}
