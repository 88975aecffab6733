// SPDX-License-Identifier: MIT
/* Carrying pinned maps' entries across layout changes (migrate.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "migrate.h"

/* Maps whose entries are flows: losing them resets connections, so a
 * layout cellgate cannot convert refuses the start. The others are
 * filled from the state (recreated) or only count (recreated, logged). */
static const char *const carrying[] = { "cg_ct_tcp", "cg_ct_other", "cg_nat",
					"cg_ct6_tcp", "cg_ct6_other" };

static bool is_carrying(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(carrying) / sizeof(carrying[0]); i++)
		if (!strcmp(name, carrying[i]))
			return true;
	return false;
}

static bool is_percpu(enum bpf_map_type t)
{
	return t == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       t == BPF_MAP_TYPE_PERCPU_HASH ||
	       t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool is_array(enum bpf_map_type t)
{
	return t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_PERCPU_ARRAY;
}

/* Types whose entries userspace can walk and write back. */
static bool convertible_type(enum bpf_map_type t)
{
	return is_array(t) || t == BPF_MAP_TYPE_HASH ||
	       t == BPF_MAP_TYPE_LRU_HASH || t == BPF_MAP_TYPE_PERCPU_HASH ||
	       t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/* ---- planning a conversion by member names ------------------------------- */

/* Add a copy, merged into the last one when both sides continue it. */
static bool add_copy(struct mig_plan *p, uint32_t o, uint32_t n, uint32_t size)
{
	struct mig_copy *last = p->n ? &p->c[p->n - 1] : NULL;

	if (!size)
		return true;
	if (last && last->old_off + last->size == o &&
	    last->new_off + last->size == n) {
		last->size += size;
		return true;
	}
	if (p->n == MIG_MAX_COPIES)
		return false;
	p->c[p->n++] = (struct mig_copy){ o, n, size };
	return true;
}

static const struct btf_type *resolved(const struct btf *b, uint32_t *id)
{
	int r = btf__resolve_type(b, *id);

	if (r < 0)
		return NULL;
	*id = (uint32_t)r;
	return btf__type_by_id(b, *id);
}

static const struct btf_member *member_named(const struct btf_type *t,
					     const struct btf *b,
					     const char *name, int *index)
{
	const struct btf_member *m = btf_members(t);
	int i;

	for (i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(b, m->name_off), name)) {
			*index = i;
			return m;
		}
	return NULL;
}

/* Padding carries nothing: its members may grow, shrink or go as fields
 * are carved out of it ("pad", "_pad", "__pad..."). */
static bool is_padding(const char *name)
{
	while (*name == '_')
		name++;
	return !strncmp(name, "pad", 3);
}

struct plan_ctx {
	const struct btf *ob, *nb;
	struct mig_plan *p;
	char *why;
	size_t why_len;
};

static bool plan_type(struct plan_ctx *x, uint32_t oid, uint32_t ooff,
		      uint32_t nid, uint32_t noff, const char *path);

/* Each member of the new struct from the old member of its name; new
 * members stay zero. */
static bool plan_struct(struct plan_ctx *x, const struct btf_type *ot,
			uint32_t ooff, const struct btf_type *nt, uint32_t noff,
			const char *path)
{
	const struct btf_member *nm = btf_members(nt);
	int i, oi;

	for (i = 0; i < btf_vlen(nt); i++, nm++) {
		const char *name = btf__name_by_offset(x->nb, nm->name_off);
		const struct btf_member *om;
		char sub[128];

		snprintf(sub, sizeof(sub), "%s.%s", path, name);
		if (!name[0]) {
			snprintf(x->why, x->why_len,
				 "%s: an unnamed member cannot be matched",
				 path);
			return false;
		}
		om = member_named(ot, x->ob, name, &oi);
		if (!om)
			continue; /* new: zero */
		/* Padding of another size: zero (the same: copied, so an
		 * unchanged layout stays recognised as unchanged). */
		if (is_padding(name) &&
		    btf__resolve_size(x->ob, om->type) !=
			    btf__resolve_size(x->nb, nm->type))
			continue;
		if (btf_member_bitfield_size(nt, (uint32_t)i) ||
		    btf_member_bitfield_size(ot, (uint32_t)oi)) {
			snprintf(x->why, x->why_len, "%s: a bitfield", sub);
			return false;
		}
		if (!plan_type(
			    x, om->type,
			    ooff + btf_member_bit_offset(ot, (uint32_t)oi) / 8,
			    nm->type,
			    noff + btf_member_bit_offset(nt, (uint32_t)i) / 8,
			    sub))
			return false;
	}
	return true;
}

static bool plan_type(struct plan_ctx *x, uint32_t oid, uint32_t ooff,
		      uint32_t nid, uint32_t noff, const char *path)
{
	const struct btf_type *ot = resolved(x->ob, &oid);
	const struct btf_type *nt = resolved(x->nb, &nid);
	long long osz, nsz;

	if (!ot || !nt) {
		snprintf(x->why, x->why_len, "%s: no type information", path);
		return false;
	}
	osz = btf__resolve_size(x->ob, oid);
	nsz = btf__resolve_size(x->nb, nid);
	if (btf_is_struct(ot) && btf_is_struct(nt))
		return plan_struct(x, ot, ooff, nt, noff, path);
	if (osz < 0 || osz != nsz || btf_is_struct(ot) != btf_is_struct(nt)) {
		snprintf(x->why, x->why_len,
			 "%s changed size or kind (%lld -> "
			 "%lld bytes)",
			 path, osz, nsz);
		return false;
	}
	if (!add_copy(x->p, ooff, noff, (uint32_t)nsz)) {
		snprintf(x->why, x->why_len, "%s: too many pieces", path);
		return false;
	}
	return true;
}

bool mig_plan_types(const struct btf *ob, uint32_t otid, uint32_t osize,
		    const struct btf *nb, uint32_t ntid, uint32_t nsize,
		    struct mig_plan *p, char *why, size_t why_len)
{
	struct plan_ctx x = { ob, nb, p, why, why_len };

	memset(p, 0, sizeof(*p));
	p->old_size = osize;
	p->new_size = nsize;
	if (!ob || !nb || !otid || !ntid) {
		/* No BTF to go by: only the same size can be carried as is. */
		if (osize != nsize) {
			snprintf(why, why_len,
				 "no type information to convert %u bytes "
				 "into %u",
				 osize, nsize);
			return false;
		}
		add_copy(p, 0, 0, nsize);
	} else if (!plan_type(&x, otid, 0, ntid, 0, "")) {
		return false;
	}
	p->identity =
		osize == nsize &&
		(nsize == 0 || (p->n == 1 && p->c[0].old_off == 0 &&
				p->c[0].new_off == 0 && p->c[0].size == nsize));
	return true;
}

void mig_convert(const struct mig_plan *p, const void *obuf, void *nbuf)
{
	size_t i;

	memset(nbuf, 0, p->new_size);
	for (i = 0; i < p->n; i++)
		memcpy((char *)nbuf + p->c[i].new_off,
		       (const char *)obuf + p->c[i].old_off, p->c[i].size);
}

/* ---- before loading ---------------------------------------------------------- */

static struct mig_map *find_kept(struct mig_state *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->m[i].name, name))
			return &s->m[i];
	return NULL;
}

/* Plan key and value of the pinned map (info, its BTF ob) into map's. */
static bool plan_map(const struct bpf_map_info *info, const struct btf *ob,
		     const struct bpf_map *map, const struct btf *nb,
		     struct mig_map *m, char *why, size_t why_len)
{
	const struct btf *okb = info->btf_key_type_id ? ob : NULL;
	const struct btf *ovb = info->btf_value_type_id ? ob : NULL;

	return mig_plan_types(okb, info->btf_key_type_id, info->key_size, nb,
			      bpf_map__btf_key_type_id(map),
			      bpf_map__key_size(map), &m->key, why, why_len) &&
	       mig_plan_types(ovb, info->btf_value_type_id, info->value_size,
			      nb, bpf_map__btf_value_type_id(map),
			      bpf_map__value_size(map), &m->value, why,
			      why_len);
}

/* What to do with one pinned map: 0 adopt, 1 carry over (m filled), 2
 * recreate, -EPROTO refuse. */
static int decide(const struct bpf_map_info *info, const struct btf *ob,
		  const struct bpf_map *map, const struct btf *nb,
		  struct mig_map *m, bool act)
{
	const char *name = bpf_map__name(map);
	bool same_shape = info->type == bpf_map__type(map) &&
			  info->key_size == bpf_map__key_size(map) &&
			  info->value_size == bpf_map__value_size(map) &&
			  info->max_entries == bpf_map__max_entries(map) &&
			  info->map_flags == bpf_map__map_flags(map);
	bool ok, same_type = info->type == bpf_map__type(map);
	char why[160] = "";

	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	ok = same_type && plan_map(info, ob, map, nb, m, why, sizeof(why));
	if (ok && same_shape && m->key.identity && m->value.identity)
		return 0; /* the same map: adopted */
	if (ok && convertible_type(info->type))
		return 1;
	if (!same_type)
		snprintf(why, sizeof(why), "its map type changed");
	else if (ok)
		snprintf(why, sizeof(why),
			 "changed, and a %s cannot be walked "
			 "entry by entry",
			 libbpf_bpf_map_type_str(info->type));
	if (is_carrying(name)) {
		log_err("map %s: its new layout cannot be converted from the "
			"pinned one (%s); refusing to start so its flows are "
			"kept: the running programs and maps are left as they "
			"are. `cellgate detach` first to start afresh (the "
			"flows are then lost).",
			name, why);
		return -EPROTO;
	}
	if (act)
		log_warn(
			"map %s: %s; recreating it (its entries are rebuilt from the "
			"state, or counted from zero)",
			name, why);
	return 2;
}

int mig_prepare(struct mig_state *s, struct bpf_object *obj, const char *bpffs,
		bool act)
{
	const struct btf *nb = bpf_object__btf(obj);
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj)
	{
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);
		struct btf *ob = NULL;
		struct mig_map m;
		char path[4096];
		int fd, what;

		if (bpf_map__is_internal(map) ||
		    find_kept(s, bpf_map__name(map)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", bpffs,
			 bpf_map__name(map));
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			close(fd);
			continue;
		}
		if (info.btf_id)
			ob = btf__load_from_kernel_by_id(info.btf_id);
		what = decide(&info, libbpf_get_error(ob) ? NULL : ob, map, nb,
			      &m, act);
		btf__free(libbpf_get_error(ob) ? NULL : ob);
		if (what < 0 || what == 0 || !act) {
			close(fd);
			if (what < 0)
				return what;
			continue;
		}
		if (what == 1 && s->n == MIG_MAX_MAPS) {
			log_warn(
				"map %s: too many maps to carry; recreating it",
				m.name);
			close(fd);
		} else if (what == 1) {
			m.old_fd = fd;
			m.type = info.type;
			m.old_max = info.max_entries;
			m.new_max = bpf_map__max_entries(map);
			s->m[s->n++] = m;
			log_info(
				"map %s: %s changed; carrying its entries over "
				"into the new map",
				m.name,
				info.max_entries != m.new_max &&
						m.key.identity &&
						m.value.identity ?
					"its capacity" :
					"its layout");
		} else {
			close(fd);
		}
		if (unlink(path))
			return -errno;
	}
	return 0;
}

/* ---- after loading ----------------------------------------------------------- */

static size_t slot(uint32_t size)
{
	return (size + 7u) & ~7u; /* per-CPU values are 8-byte aligned */
}

/* Convert one value (each CPU's slot for per-CPU maps). */
static void convert_value(const struct mig_state *s, const struct mig_map *m,
			  const char *ov, char *nv)
{
	int cpus = is_percpu(m->type) ? s->ncpus : 1, c;

	for (c = 0; c < cpus; c++)
		mig_convert(&m->value, ov + (size_t)c * slot(m->value.old_size),
			    nv + (size_t)c * slot(m->value.new_size));
}

static void copy_array(struct mig_state *s, struct mig_map *m, int nfd,
		       char *ov, char *nv)
{
	uint32_t i, n = m->old_max < m->new_max ? m->old_max : m->new_max;

	for (i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(m->old_fd, &i, ov))
			continue;
		convert_value(s, m, ov, nv);
		if (bpf_map_update_elem(nfd, &i, nv, BPF_ANY))
			m->dropped++;
		else
			m->carried++;
	}
}

/* Walk the old hash map; flags BPF_ANY (first pass) or BPF_NOEXIST. */
static void copy_hash(struct mig_state *s, struct mig_map *m, int nfd, char *ov,
		      char *nv, __u64 flags)
{
	char ok_[256], nk[256], next[256];
	uint64_t steps, limit = (uint64_t)m->old_max * 2 + 16;
	void *prev = NULL;

	if (m->key.old_size > sizeof(ok_) || m->key.new_size > sizeof(nk))
		return;
	for (steps = 0; steps < limit; steps++) {
		if (bpf_map_get_next_key(m->old_fd, prev, next))
			break;
		memcpy(ok_, next, m->key.old_size);
		prev = ok_;
		if (bpf_map_lookup_elem(m->old_fd, ok_, ov))
			continue; /* gone meanwhile */
		mig_convert(&m->key, ok_, nk);
		convert_value(s, m, ov, nv);
		if (!bpf_map_update_elem(nfd, nk, nv, flags))
			m->carried++;
		else if (errno != EEXIST)
			m->dropped++;
	}
}

static void copy_pass(struct mig_state *s, struct mig_map *m, int nfd,
		      __u64 flags)
{
	int cpus = is_percpu(m->type) ? s->ncpus : 1;
	char *ov = calloc((size_t)cpus, slot(m->value.old_size));
	char *nv = calloc((size_t)cpus, slot(m->value.new_size));

	if (ov && nv) {
		if (is_array(m->type)) {
			if (flags == BPF_ANY) /* arrays: once */
				copy_array(s, m, nfd, ov, nv);
		} else {
			copy_hash(s, m, nfd, ov, nv, flags);
		}
	}
	free(ov);
	free(nv);
}

void mig_copy_all(struct mig_state *s, int (*fd_of)(void *ctx, const char *),
		  void *ctx)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		int nfd = fd_of(ctx, s->m[i].name);

		if (nfd >= 0)
			copy_pass(s, &s->m[i], nfd, BPF_ANY);
	}
}

void mig_finish(struct mig_state *s, int (*fd_of)(void *ctx, const char *),
		void *ctx)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		struct mig_map *m = &s->m[i];
		int nfd = fd_of ? fd_of(ctx, m->name) : -1;

		if (nfd >= 0)
			copy_pass(s, m, nfd, BPF_NOEXIST);
		log_info("map %s: %llu entries carried over into the new "
			 "layout%s",
			 m->name, (unsigned long long)m->carried,
			 m->dropped ? " (some did not fit)" : "");
		if (m->dropped)
			log_warn("map %s: %llu entries did not fit the new map",
				 m->name, (unsigned long long)m->dropped);
		close(m->old_fd);
	}
	s->n = 0;
}
