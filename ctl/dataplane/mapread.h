/* SPDX-License-Identifier: MIT */
/*
 * Reading BPF maps from userspace: every entry in batches (one syscall per
 * few hundred entries instead of two per entry), per-CPU values summed,
 * and what a map costs in memory. Used by the controller (status,
 * metrics) and by `cellgate maps`, which reads the pinned maps directly.
 */
#ifndef CELLGATE_MAPREAD_H
#define CELLGATE_MAPREAD_H

#include <stddef.h>
#include <stdint.h>

/* One entry: value is the map's value, or for a per-CPU map ncpus values
 * one after the other, each padded to 8 bytes (as the kernel hands them
 * out). Return nonzero to stop the walk. */
typedef int (*map_entry_fn)(const void *key, const void *value, void *ctx);

/* Call fn on every entry of map fd (ncpus: libbpf_num_possible_cpus(),
 * used for per-CPU maps). Hash and array maps are read in batches; maps
 * without batch support (LPM tries) key by key. Returns the number of
 * entries seen, or -errno. */
int map_for_each(int fd, int ncpus, map_entry_fn fn, void *ctx);

/* Entries in map fd (arrays: max_entries, they are always full). */
int map_count(int fd, int ncpus);

/* The map's memory as the kernel accounts it (fdinfo "memlock"), or 0 if
 * it cannot be read. */
uint64_t map_memory_bytes(int fd);

/* Add up ncpus per-CPU copies of a value made of u64 counters only
 * (value_size a multiple of 8) into sum. */
void percpu_sum_u64(void *sum, const void *percpu, size_t value_size,
		    int ncpus);

/* The per-CPU value of array or hash fd at a u32 key, its ncpus copies
 * summed into sum (u64 fields only). 0 or -errno (sum zeroed). */
int map_percpu_sum(int fd, int ncpus, uint32_t key, void *sum,
		   size_t value_size);

/* Bytes the kernel uses per CPU for a value of value_size. */
static inline size_t percpu_stride(size_t value_size)
{
	return (value_size + 7) & ~(size_t)7;
}

#endif
