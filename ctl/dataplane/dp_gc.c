// SPDX-License-Identifier: MIT
/*
 * Garbage collection of the LRU tables: expired conntrack entries, NAT
 * pairs whose both halves expired, and a forward's NAT entries when the
 * forward goes; every removal is counted in cg_table_stats. The tick
 * calls it; nothing else here runs on the packet path's behalf.
 */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "dataplane.h"
#include "dp_internal.h"

/* ---- conntrack garbage collection -------------------------------------- */

struct ct_gc {
	uint64_t now;
	struct budget_sweep *budget;
};

/* Expired entries go; the others count against their peer's budget. */
static bool ct_expired(const void *key, const void *value, const void *ctx)
{
	const struct cg_ct_entry *e = value;
	const struct ct_gc *gc = ctx;

	(void)key;
	if (e->expires_ns <= gc->now)
		return true;
	budget_sweep_count(gc->budget, e);
	return false;
}

/* An entry is touched only by packets of its own direction: a pair goes
 * when both halves are expired (or the twin is already gone). */
static bool nat_pair_expired(int fd, const struct cg_nat_entry *e, uint64_t now)
{
	struct cg_nat_entry twin;
	struct cg_ct_key twin_key;

	if (e->expires_ns > now)
		return false;
	memcpy(twin_key.saddr, e->to.daddr, 4);
	memcpy(twin_key.daddr, e->to.saddr, 4);
	twin_key.sport = e->to.dport;
	twin_key.dport = e->to.sport;
	twin_key.proto = e->to.proto;
	memset(twin_key.pad, 0, sizeof(twin_key.pad));
	return bpf_map_lookup_elem(fd, &twin_key, &twin) ||
	       twin.expires_ns <= now;
}

struct nat_gc {
	int fd;
	uint64_t now;
};

static bool nat_expired(const void *key, const void *value, const void *ctx)
{
	const struct nat_gc *gc = ctx;

	(void)key;
	return nat_pair_expired(gc->fd, value, gc->now);
}

/* As nat_pair_expired, for cg_nat6 (NAT66). */
static bool nat6_expired(const void *key, const void *value, const void *ctx)
{
	const struct cg_nat6_entry *e = value;
	const struct nat_gc *gc = ctx;
	struct cg_nat6_entry twin;
	struct cg_ct6_key twin_key;

	(void)key;
	if (e->expires_ns > gc->now)
		return false;
	memset(&twin_key, 0, sizeof(twin_key));
	memcpy(twin_key.saddr, e->to.daddr, 16);
	memcpy(twin_key.daddr, e->to.saddr, 16);
	twin_key.sport = e->to.dport;
	twin_key.dport = e->to.sport;
	twin_key.proto = e->to.proto;
	return bpf_map_lookup_elem(gc->fd, &twin_key, &twin) ||
	       twin.expires_ns <= gc->now;
}

static int sweep_map(int fd, size_t key_size,
		     bool (*pick)(const void *, const void *, const void *),
		     const void *ctx)
{
	struct map_sweep sw = {
		.fd = fd, .key_size = key_size, .pick = pick, .ctx = ctx
	};

	return map_sweep(&sw);
}

/* Sweep one LRU table, and account for what went (cg_table_stats). */
static int sweep_table(struct dataplane *dp, enum dp_map map,
		       enum cg_table table,
		       bool (*pick)(const void *, const void *, const void *),
		       const void *ctx)
{
	int r = sweep_map(dp->map_fd[map], sizeof(struct cg_ct_key), pick, ctx);

	if (r > 0)
		dp_table_removed(dp, table, (uint64_t)r);
	return r > 0 ? r : 0;
}

/* The IPv6 conntrack tables, swept like IPv4's. The programs do not
 * count their entries in cg_table_stats (its slots are IPv4's tables), so
 * what goes is counted only in the total the sweep returns (*deleted).
 * Returns false when a table could not be walked. */
static bool sweep_ct6(const struct dataplane *dp, struct ct_gc *ct,
		      int *deleted)
{
	int tcp = sweep_map(dp->map_fd[DP_MAP_CT6_TCP],
			    sizeof(struct cg_ct6_key), ct_expired, ct);
	int other = sweep_map(dp->map_fd[DP_MAP_CT6_OTHER],
			      sizeof(struct cg_ct6_key), ct_expired, ct);

	*deleted = (tcp > 0 ? tcp : 0) + (other > 0 ? other : 0);
	return tcp >= 0 && other >= 0;
}

int dp_gc_sweep(const struct dataplane *dp, uint64_t now_ns,
		uint64_t removed[CG_TABLE__MAX])
{
	struct nat_gc gc = { .fd = dp->map_fd[DP_MAP_NAT], .now = now_ns };
	struct budget_sweep bs;
	struct ct_gc ct = { .now = now_ns, .budget = &bs };
	int r[CG_TABLE__MAX], r6, r6n, t, n = 0;
	bool walked6;
	/* Without memory for the count, the budgets keep their last one. */
	bool count = !budget_sweep_begin(dp, &bs);

	r[CG_TABLE_CT_TCP] =
		sweep_map(dp->map_fd[DP_MAP_CT_TCP], sizeof(struct cg_ct_key),
			  ct_expired, &ct);
	r[CG_TABLE_CT_OTHER] =
		sweep_map(dp->map_fd[DP_MAP_CT_OTHER], sizeof(struct cg_ct_key),
			  ct_expired, &ct);
	/* A peer's IPv6 flows count against its budget as its IPv4 ones. */
	walked6 = sweep_ct6(dp, &ct, &r6);
	/* A table the sweep could not walk must not give its flows back. */
	budget_sweep_end(count && r[CG_TABLE_CT_TCP] >= 0 &&
					 r[CG_TABLE_CT_OTHER] >= 0 && walked6 ?
				 dp :
				 NULL,
			 &bs);
	r[CG_TABLE_NAT] = sweep_map(dp->map_fd[DP_MAP_NAT],
				    sizeof(struct cg_ct_key), nat_expired, &gc);
	/* NAT66 pairs: counted in the total only, as IPv6 conntrack. */
	gc.fd = dp->map_fd[DP_MAP_NAT6];
	r6n = gc.fd < 0 ? 0 :
			  sweep_map(gc.fd, sizeof(struct cg_ct6_key),
				    nat6_expired, &gc);
	r6 += r6n > 0 ? r6n : 0;
	for (t = 0; t < CG_TABLE__MAX; t++) {
		removed[t] = r[t] > 0 ? (uint64_t)r[t] : 0;
		n += r[t] > 0 ? r[t] : 0;
	}
	return n + r6;
}

int dp_gc(struct dataplane *dp, uint64_t now_ns)
{
	uint64_t removed[CG_TABLE__MAX];
	int t, n = dp_gc_sweep(dp, now_ns, removed);

	for (t = 0; t < CG_TABLE__MAX; t++)
		dp_table_removed(dp, t, removed[t]);
	return n;
}

static bool owned(const void *key, const void *value, const void *owner)
{
	const struct cg_nat_entry *e = value;

	(void)key;
	return e->owner == *(const uint32_t *)owner &&
	       (e->kind == CG_NAT_FORWARD || e->kind == CG_NAT_WG_SNAT);
}

int dp_forget_owner(struct dataplane *dp, uint32_t owner)
{
	dp->writes++;
	return sweep_table(dp, DP_MAP_NAT, CG_TABLE_NAT, owned, &owner);
}
