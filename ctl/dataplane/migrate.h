/* SPDX-License-Identifier: MIT */
/*
 * Upgrades across map layouts. A new cellgate may find maps pinned by an
 * older (or newer) one whose key or value layout differs: a field added
 * to the conntrack entry, members reordered, a map resized. libbpf cannot
 * reuse such a pin, and recreating it empty would drop every established
 * flow. Instead the old map is kept open, its pin removed, and once the
 * new programs are loaded its entries are converted into the new map
 * member by member, by name, from the BTF both maps carry (the layout
 * version is the layout itself: what the kernel says about the pinned
 * map, against what the new object says). Entries the old programs
 * create between that copy and the new programs' attach are carried over
 * by a second pass after the attach.
 *
 * What cannot be converted (a member whose size changed, a key member
 * gone) is refused before anything changes for the maps that carry
 * flows (conntrack, NAT); the maps the controller fills from its state
 * are recreated and refilled instead.
 */
#ifndef CELLGATE_MIGRATE_H
#define CELLGATE_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#define MIG_MAX_MAPS 32
#define MIG_MAX_COPIES 64 /* byte ranges per key or value */

/* Copy size bytes from old_off (old layout) to new_off (new layout). */
struct mig_copy {
	uint32_t old_off, new_off, size;
};

struct mig_plan {
	struct mig_copy c[MIG_MAX_COPIES];
	size_t n;
	uint32_t old_size, new_size;
	bool identity; /* the same bytes at the same places */
};

/* One map whose pin was replaced. */
struct mig_map {
	char name[64];
	int old_fd;
	enum bpf_map_type type;
	uint32_t old_max, new_max;
	struct mig_plan key, value;
	uint64_t carried, dropped; /* entries, both passes */
};

struct mig_state {
	struct mig_map m[MIG_MAX_MAPS];
	size_t n;
	int ncpus;
};

/* Before loading: for each of obj's maps pinned under bpffs whose shape or
 * layout differs, plan the conversion, keep the old map open and remove
 * its pin (so libbpf creates the new one). Maps seen in an earlier object
 * are skipped. When a flow-carrying map cannot be converted, nothing is
 * unpinned and -EPROTO says so (the log names the map and the member).
 * Call with every object first with act false (checks only), then with
 * act true. */
int mig_prepare(struct mig_state *s, struct bpf_object *obj, const char *bpffs,
		bool act);

/* After loading: copy every kept map into its new map (fd_of returns the
 * new map's fd by name). */
void mig_copy_all(struct mig_state *s, int (*fd_of)(void *ctx, const char *),
		  void *ctx);
/* After the new programs are attached: carry what the old programs added
 * meanwhile (without overwriting), report, close the old maps. */
void mig_finish(struct mig_state *s, int (*fd_of)(void *ctx, const char *),
		void *ctx);

/* The conversion of one type into another (exposed for tests): false with
 * why when a member cannot be carried over. */
bool mig_plan_types(const struct btf *ob, uint32_t otid, uint32_t osize,
		    const struct btf *nb, uint32_t ntid, uint32_t nsize,
		    struct mig_plan *p, char *why, size_t why_len);
/* Convert one key or value (nbuf zeroed first). */
void mig_convert(const struct mig_plan *p, const void *obuf, void *nbuf);

#endif
