// SPDX-License-Identifier: MIT
/*
 * The state's indexes: peers by name, public key and address (hash
 * tables over positions in st->peers), identity ids of peers and cells
 * and the peers' addresses in the WireGuard subnet and in address6
 * (bitsets, for the lowest free one; address6's covers its first
 * max_peers + 3 hosts, which always hold a free one). state.c keeps them equal to the lists on every add,
 * replace and remove; without a config (some tests) there is no index
 * and lookups walk the lists.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hashidx.h"
#include "state_internal.h"

struct state_index {
	struct hashidx name, key, ip, ip6; /* peers (ip6: those with one) */
	struct bitset ids; /* 0..limits.max_peers; 0 is never free */
	struct bitset ips; /* host offsets in the WireGuard subnet */
	struct bitset ips6; /* the first host offsets of address6, or none */
	struct group_index *members; /* peers by group (state_gindex.c) */
	struct hashidx gname; /* groups' settings by name */
};

static uint32_t ip_hash(struct in_addr ip)
{
	return hash_bytes(&ip.s_addr, sizeof(ip.s_addr));
}

static uint32_t ip6_hash(const struct in6_addr *ip6)
{
	return hash_bytes(ip6, sizeof(*ip6));
}

/* How many host offsets of address6 the bitset covers: every peer and
 * the router fit with room to spare, however large the prefix. */
static uint32_t ip6_bits(const struct cg_config *cfg)
{
	uint32_t want = cfg->limits.max_peers + 3;
	unsigned int host = 128 - cfg->wireguard.subnet6.prefix;

	if (!cfg->wireguard.has_address6)
		return 0;
	return host < 32 && (1u << host) < want ? 1u << host : want;
}

/* The offset of ip6 in address6's bitset, or -1 outside it. */
static int64_t ip6_offset(const struct state_index *x,
			  const struct cg_config *cfg,
			  const struct in6_addr *ip6)
{
	uint64_t off;

	if (!x->ips6.nbits || ipv6_is_zero(ip6) ||
	    !cidr6_contains(&cfg->wireguard.subnet6.addr,
			    cfg->wireguard.subnet6.prefix, ip6))
		return -1;
	off = ipv6_offset(&cfg->wireguard.subnet6.addr, ip6);
	return off < x->ips6.nbits ? (int64_t)off : -1;
}

static void ip6_mark(const struct cg_state *st, const struct in6_addr *ip6,
		     bool used)
{
	int64_t off = ip6_offset(st->index, st->cfg, ip6);

	/* The network address (Subnet-Router anycast) stays taken. */
	if (off <= 0)
		return;
	if (used)
		bitset_set(&st->index->ips6, (uint32_t)off);
	else
		bitset_clear(&st->index->ips6, (uint32_t)off);
}

/* The host offset of ip in the WireGuard subnet, or -1 outside it. */
static int64_t ip_offset(const struct cg_config *cfg, struct in_addr ip)
{
	if (!cidr_contains(cfg->wireguard.subnet.addr,
			   cfg->wireguard.subnet.prefix, ip))
		return -1;
	return (int64_t)(ntohl(ip.s_addr) -
			 ntohl(cfg->wireguard.subnet.addr.s_addr));
}

static void id_mark(struct state_index *x, uint32_t id, bool used)
{
	if (id == 0 || id >= x->ids.nbits)
		return;
	if (used)
		bitset_set(&x->ids, id);
	else
		bitset_clear(&x->ids, id);
}

static void ip_mark(const struct cg_state *st, struct in_addr ip, bool used)
{
	int64_t off = ip_offset(st->cfg, ip);
	uint32_t last = st->index->ips.nbits - 1;

	/* The network and broadcast addresses stay taken. */
	if (off <= 0 || off >= last)
		return;
	if (used)
		bitset_set(&st->index->ips, (uint32_t)off);
	else
		bitset_clear(&st->index->ips, (uint32_t)off);
}

void state_index_add(struct cg_state *st, enum state_list list, size_t pos)
{
	struct state_index *x = st->index;

	if (!x)
		return;
	if (list == ST_PEERS) {
		const struct cg_peer_def *p = &st->peers[pos];

		/* Cannot fail: state_index_reserve made room. */
		hashidx_insert(&x->name, hash_str(p->name), pos);
		hashidx_insert(&x->key, hash_bytes(p->public_key, WG_KEY_LEN),
			       pos);
		hashidx_insert(&x->ip, ip_hash(p->ip), pos);
		if (!ipv6_is_zero(&p->ip6))
			hashidx_insert(&x->ip6, ip6_hash(&p->ip6), pos);
		id_mark(x, p->id, true);
		ip_mark(st, p->ip, true);
		ip6_mark(st, &p->ip6, true);
		gindex_add(x->members, st, pos);
	} else if (list == ST_CELLS) {
		id_mark(x, st->cells[pos].id, true);
	} else if (list == ST_GROUPS) {
		hashidx_insert(&x->gname, hash_str(st->groups[pos].name), pos);
	}
}

void state_index_drop(struct cg_state *st, enum state_list list, size_t pos)
{
	struct state_index *x = st->index;

	if (!x)
		return;
	if (list == ST_PEERS) {
		const struct cg_peer_def *p = &st->peers[pos];

		hashidx_remove(&x->name, hash_str(p->name), pos);
		hashidx_remove(&x->key, hash_bytes(p->public_key, WG_KEY_LEN),
			       pos);
		hashidx_remove(&x->ip, ip_hash(p->ip), pos);
		if (!ipv6_is_zero(&p->ip6))
			hashidx_remove(&x->ip6, ip6_hash(&p->ip6), pos);
		id_mark(x, p->id, false);
		ip_mark(st, p->ip, false);
		ip6_mark(st, &p->ip6, false);
		gindex_drop(x->members, st, pos);
	} else if (list == ST_CELLS) {
		id_mark(x, st->cells[pos].id, false);
	} else if (list == ST_GROUPS) {
		hashidx_remove(&x->gname, hash_str(st->groups[pos].name), pos);
	}
}

void state_index_move(struct cg_state *st, enum state_list list, size_t from,
		      size_t to)
{
	struct state_index *x = st->index;
	const struct cg_peer_def *p;

	if (x && list == ST_GROUPS)
		hashidx_move(&x->gname, hash_str(st->groups[from].name), from,
			     to);
	if (!x || list != ST_PEERS)
		return;
	gindex_move(x->members, st, from, to);
	p = &st->peers[from];
	hashidx_move(&x->name, hash_str(p->name), from, to);
	hashidx_move(&x->key, hash_bytes(p->public_key, WG_KEY_LEN), from, to);
	hashidx_move(&x->ip, ip_hash(p->ip), from, to);
	if (!ipv6_is_zero(&p->ip6))
		hashidx_move(&x->ip6, ip6_hash(&p->ip6), from, to);
}

int state_index_reserve(struct cg_state *st, enum state_list list)
{
	struct state_index *x = st->index;
	uint32_t n = (uint32_t)st->n_peers + 1;

	if (x && list == ST_GROUPS)
		return hashidx_reserve(&x->gname, (uint32_t)st->n_groups + 1);
	if (!x || list != ST_PEERS)
		return 0;
	if (hashidx_reserve(&x->name, n) || hashidx_reserve(&x->key, n) ||
	    hashidx_reserve(&x->ip, n) || hashidx_reserve(&x->ip6, n))
		return -ENOMEM;
	return 0;
}

void state_index_free(struct cg_state *st)
{
	struct state_index *x = st->index;

	if (!x)
		return;
	hashidx_free(&x->name);
	hashidx_free(&x->key);
	hashidx_free(&x->ip);
	hashidx_free(&x->ip6);
	hashidx_free(&x->gname);
	gindex_free(x->members);
	bitset_free(&x->ids);
	bitset_free(&x->ips);
	bitset_free(&x->ips6);
	free(x);
	st->index = NULL;
}

int state_index_build(struct cg_state *st)
{
	const struct cg_config *cfg = st->cfg;
	struct state_index *x;
	int64_t router;
	size_t i;

	if (st->index || !cfg)
		return 0;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	st->index = x;
	x->members = gindex_new();
	if (!x->members || bitset_init(&x->ids, cfg->limits.max_peers + 1) ||
	    bitset_init(&x->ips, 1u << (32 - cfg->wireguard.subnet.prefix)))
		goto fail;
	bitset_set(&x->ids, 0);
	bitset_set(&x->ips, 0);
	bitset_set(&x->ips, x->ips.nbits - 1);
	router = ip_offset(cfg, cfg->wireguard.address);
	if (router >= 0)
		bitset_set(&x->ips, (uint32_t)router);
	if (ip6_bits(cfg)) {
		if (bitset_init(&x->ips6, ip6_bits(cfg)))
			goto fail;
		bitset_set(&x->ips6, 0);
		router = ip6_offset(x, cfg, &cfg->wireguard.address6);
		if (router >= 0)
			bitset_set(&x->ips6, (uint32_t)router);
	}
	for (i = 0; i < st->n_peers; i++) {
		if (state_index_reserve(st, ST_PEERS))
			goto fail;
		state_index_add(st, ST_PEERS, i);
	}
	for (i = 0; i < st->n_cells; i++)
		state_index_add(st, ST_CELLS, i);
	for (i = 0; i < st->n_groups; i++) {
		if (state_index_reserve(st, ST_GROUPS))
			goto fail;
		state_index_add(st, ST_GROUPS, i);
	}
	return 0;
fail:
	state_index_free(st);
	return -ENOMEM;
}

/* ---- lookups ------------------------------------------------------------ */

static bool pos_named(const void *st, uint32_t pos, const void *name)
{
	return !strcmp(((const struct cg_state *)st)->peers[pos].name, name);
}

static bool pos_keyed(const void *st, uint32_t pos, const void *key)
{
	return key_equal(((const struct cg_state *)st)->peers[pos].public_key,
			 key);
}

static bool pos_at(const void *st, uint32_t pos, const void *ip)
{
	return ((const struct cg_state *)st)->peers[pos].ip.s_addr ==
	       ((const struct in_addr *)ip)->s_addr;
}

static bool pos_at6(const void *st, uint32_t pos, const void *ip6)
{
	return ipv6_equal(&((const struct cg_state *)st)->peers[pos].ip6, ip6);
}

static struct cg_peer_def *peer_at(const struct cg_state *st, int64_t pos)
{
	return pos < 0 ? NULL : &st->peers[pos];
}

static bool peer_named(const void *peer, const void *name)
{
	return !strcmp(((const struct cg_peer_def *)peer)->name, name);
}

static bool peer_at_ip(const void *peer, const void *ip)
{
	return ((const struct cg_peer_def *)peer)->ip.s_addr ==
	       ((const struct in_addr *)ip)->s_addr;
}

struct cg_peer_def *state_peer(const struct cg_state *st, const char *name)
{
	if (!st->index)
		return state_find(st, ST_PEERS, peer_named, name);
	return peer_at(st, hashidx_find(&st->index->name, hash_str(name),
					pos_named, st, name));
}

struct cg_peer_def *state_peer_by_key(const struct cg_state *st,
				      const wg_key key)
{
	if (!st->index)
		return state_find(st, ST_PEERS, peer_with_key, key);
	return peer_at(st, hashidx_find(&st->index->key,
					hash_bytes(key, WG_KEY_LEN), pos_keyed,
					st, key));
}

struct cg_peer_def *state_peer_by_ip(const struct cg_state *st,
				     struct in_addr ip)
{
	if (!st->index)
		return state_find(st, ST_PEERS, peer_at_ip, &ip);
	return peer_at(
		st, hashidx_find(&st->index->ip, ip_hash(ip), pos_at, st, &ip));
}

static bool peer_at_ip6(const void *peer, const void *ip6)
{
	return ipv6_equal(&((const struct cg_peer_def *)peer)->ip6, ip6);
}

struct cg_peer_def *state_peer_by_ip6(const struct cg_state *st,
				      const struct in6_addr *ip6)
{
	if (ipv6_is_zero(ip6))
		return NULL;
	if (!st->index)
		return state_find(st, ST_PEERS, peer_at_ip6, ip6);
	return peer_at(st, hashidx_find(&st->index->ip6, ip6_hash(ip6), pos_at6,
					st, ip6));
}

/* No index yet (the first peer): the lowest host no peer has, by a walk
 * of at most max_peers + 3 hosts. */
static bool free_ip6_walk(const struct cg_state *st, struct in6_addr *ip6)
{
	const struct cg_config *cfg = st->cfg;
	uint32_t off, n = ip6_bits(cfg);

	for (off = 1; off < n; off++) {
		*ip6 = ipv6_add(&cfg->wireguard.subnet6.addr, off);
		if (!ipv6_equal(ip6, &cfg->wireguard.address6) &&
		    !state_peer_by_ip6(st, ip6))
			return true;
	}
	return false;
}

bool state_free_peer_ip6(const struct cg_state *st, struct in6_addr *ip6)
{
	int64_t i;

	if (!st->cfg || !ip6_bits(st->cfg))
		return false;
	if (!st->index)
		return free_ip6_walk(st, ip6);
	i = bitset_first_clear(&st->index->ips6);
	if (i < 0)
		return false;
	*ip6 = ipv6_add(&st->cfg->wireguard.subnet6.addr, (uint64_t)i);
	return true;
}

/* Without an index: the lowest id no peer or cell has, by a walk. */
static bool free_identity_walk(const struct cg_state *st, uint32_t *id)
{
	uint32_t max = st->cfg->limits.max_peers;
	uint32_t i;

	for (i = 1; i <= max; i++)
		if (!state_find(st, ST_PEERS, peer_with_id, &i) &&
		    !state_find(st, ST_CELLS, cell_with_id, &i))
			break;
	*id = i;
	return i <= max;
}

/* Identity ids index counters and epochs, whose maps hold max_peers + 1
 * slots (slot 0 is CG_IDENT_UNKNOWN). */
bool state_free_identity(const struct cg_state *st, uint32_t *id)
{
	int64_t i;

	if (!st->index)
		return free_identity_walk(st, id);
	i = bitset_first_clear(&st->index->ids);
	if (i < 0)
		return false;
	*id = (uint32_t)i;
	return true;
}

bool state_free_peer_ip(const struct cg_state *st, struct in_addr *ip)
{
	const struct cg_config *cfg = st->cfg;
	uint32_t net = ntohl(cfg->wireguard.subnet.addr.s_addr);
	uint32_t size = 1u << (32 - cfg->wireguard.subnet.prefix);
	uint32_t off;
	int64_t i;

	if (st->index) {
		i = bitset_first_clear(&st->index->ips);
		if (i < 0)
			return false;
		ip->s_addr = htonl(net + (uint32_t)i);
		return true;
	}
	/* No index (no config at build time): walk the subnet. */
	for (off = 1; off < size - 1; off++) {
		ip->s_addr = htonl(net + off);
		if (ip->s_addr != cfg->wireguard.address.s_addr &&
		    !state_peer_by_ip(st, *ip))
			return true;
	}
	return false;
}

bool state_identity_used(const struct cg_state *st, uint32_t id)
{
	if (!st->index || id >= st->index->ids.nbits)
		return state_find(st, ST_PEERS, peer_with_id, &id) ||
		       state_find(st, ST_CELLS, cell_with_id, &id);
	return bitset_test(&st->index->ids, id);
}

/* ---- groups ------------------------------------------------------------- */

struct group_index *state_gindex(const struct cg_state *st)
{
	return st->index ? st->index->members : NULL;
}

struct hashidx *state_group_settings_index(const struct cg_state *st)
{
	return st->index ? &st->index->gname : NULL;
}
