/* SPDX-License-Identifier: MIT */
/*
 * What the state's files share, not its users (they include state.h).
 *
 * state.c owns the entity lists' layout and finding (state_find);
 * state_store.c changes them: every entity is added, replaced and
 * removed through state_add/state_replace/state_remove, never by
 * writing an array directly, so that indexes and the undo log have one
 * place to live. state_service.c, state_peer.c,
 * state_forward.c and state_cell.c parse, validate and render their
 * entity (in the API's shape and in the state file's); state_file.c
 * reads and writes the file around them.
 */
#ifndef CELLGATE_STATE_INTERNAL_H
#define CELLGATE_STATE_INTERNAL_H

#include "state.h"

enum state_list {
	ST_SERVICES,
	ST_PEERS,
	ST_FORWARDS,
	ST_CELLS,
	ST_INVITES,
	ST_RULES,
	ST_GROUPS,
	ST_EXITS,
	ST_N_LISTS,
};

/* Any element of any list (the undo log keeps copies). */
union state_elem {
	struct cg_service_def service;
	struct cg_peer_def peer;
	struct cg_forward_def forward;
	struct cg_cell_def cell;
	struct cg_invite invite;
	struct cg_rule_def rule;
	struct cg_group_def group;
	struct cg_exit_def exit;
};

/* state_copy without the indexes (a copy only to be written out). */
int state_copy_lists(struct cg_state *dst, const struct cg_state *src);
size_t state_list_size(enum state_list list);
/* The list's array, count and capacity in st and how it behaves, for
 * the changes (state_store.c); the lists themselves, freed. */
void **state_list_items(const struct cg_state *st, enum state_list list);
size_t *state_list_n(const struct cg_state *st, enum state_list list);
size_t *state_list_cap(const struct cg_state *st, enum state_list list);
bool state_list_ordered(enum state_list list);
bool state_list_secret(enum state_list list);
void state_free_lists(struct cg_state *st);
size_t state_list_count(const struct cg_state *st, enum state_list list);
void *state_list_at(const struct cg_state *st, enum state_list list,
		    size_t pos);

/* ---- the undo log (state_log.c) ----------------------------------------- */

enum log_op { LOG_ADD, LOG_REPLACE, LOG_REMOVE };

/* The elements themselves are in the log's byte arena, each taking
 * its own list's size: a peer's record is 152 bytes, not the 5 KB of
 * the union (a linked cell), so a bulk import of N peers logs N x 0.3 KB
 * rather than N x 10 KB. */
struct log_entry {
	enum log_op op;
	enum state_list list;
	size_t pos; /* where it happened */
	size_t old_at; /* before (replace, remove): offset in bytes */
	size_t new_at; /* after (add, replace): offset in bytes */
};

struct state_log {
	struct log_entry *e;
	size_t n, cap;
	char *bytes; /* the entries' elements */
	size_t used, bytes_cap;
	bool on; /* between state_begin and commit or rollback */
	bool failed; /* a change could not be recorded */
};

/* The element an entry recorded before or after its change (only the
 * member of e->list is there). */
static inline const union state_elem *log_old(const struct state_log *l,
					      const struct log_entry *e)
{
	return (const union state_elem *)(const void *)(l->bytes + e->old_at);
}

static inline const union state_elem *log_new(const struct state_log *l,
					      const struct log_entry *e)
{
	return (const union state_elem *)(const void *)(l->bytes + e->new_at);
}

/* Record a change about to happen (a no-op outside an operation);
 * -ENOMEM sets failed. */
int state_log_record(struct cg_state *st, enum log_op op, enum state_list list,
		     size_t pos, const void *old, const void *new);
/* The last record's change did not happen after all. */
void state_log_forget_last(struct cg_state *st);
void state_log_free(struct cg_state *st);
/* The operation is over: the log emptied (secrets wiped), large buffers
 * given back. */
void state_log_end(struct state_log *l);
/* Undo one change (state_store.c, for state_rollback). */
void state_undo_one(struct cg_state *st, enum log_op op, enum state_list list,
		    size_t pos, const void *old);

/* The snapshot alone (state_file.c); *gen: the journal generation it
 * continues in. state_load adds the journal (state_journal.c). */
int state_load_snapshot(struct cg_state *st, const char *path, uint64_t *gen,
			struct cg_error *err);

/* ---- indexes (state_index.c), kept by state.c ---------------------------- */

/* Build them from the lists if there are none and st has a config. */
int state_index_build(struct cg_state *st);
void state_index_free(struct cg_state *st);
/* Room for one more element of list (then state_index_add cannot fail). */
int state_index_reserve(struct cg_state *st, enum state_list list);
void state_index_add(struct cg_state *st, enum state_list list, size_t pos);
void state_index_drop(struct cg_state *st, enum state_list list, size_t pos);
/* The element at from is about to be copied to to. */
void state_index_move(struct cg_state *st, enum state_list list, size_t from,
		      size_t to);
/* Does a peer or a cell have this identity id? */
bool state_identity_used(const struct cg_state *st, uint32_t id);
/* The lowest address of the WireGuard subnet no peer has (not the
 * network, broadcast or router address). */
bool state_free_peer_ip(const struct cg_state *st, struct in_addr *ip);
/* The same in wireguard.address6 (not its network or router address). */
bool state_free_peer_ip6(const struct cg_state *st, struct in6_addr *ip6);

/* Does elem (an element of one list) have key? */
typedef bool state_match(const void *elem, const void *key);

/* The first element of the list that matches key, or NULL. */
void *state_find(const struct cg_state *st, enum state_list list,
		 state_match *match, const void *key);
/* The same for a lookup by a name the API was given: when absent, a 404
 * that names the entity ("no peer 'x'"). */
void *state_get(const struct cg_state *st, enum state_list list,
		state_match *match, const char *name, struct cg_error *err);
/* Append a copy of elem; the stored element, or NULL (a 500 in err). */
void *state_add(struct cg_state *st, enum state_list list, const void *elem,
		struct cg_error *err);
/* Overwrite an element of the list (found by state_find) with val. */
void state_replace(struct cg_state *st, enum state_list list, void *elem,
		   const void *val);
void state_remove(struct cg_state *st, enum state_list list, void *elem);
/* state_get and state_remove in one: 0, or -ENOENT with the 404 in err.
 * removed (if not NULL) gets a copy of what was removed. */
int state_delete(struct cg_state *st, enum state_list list, state_match *match,
		 const char *name, void *removed, struct cg_error *err);

/* Service bitmaps (peers' access, cells' inbound), by service id. */
static inline bool bit_test(const uint64_t *words, uint32_t bit)
{
	return words[bit / 64] & (1ull << (bit % 64));
}

static inline void bit_set(uint64_t *words, uint32_t bit)
{
	words[bit / 64] |= 1ull << (bit % 64);
}

/* Validation more than one entity uses. */
bool state_valid_unicast(struct in_addr ip);
/* The name in a path is valid and a "name" in the body, if any, equals
 * it. */
bool state_check_name(json_object *body, const char *name,
		      struct cg_error *err);
/* A record of the state file: an object with a valid "name" (copied to
 * name). */
bool state_record_name(json_object *o, char name[CG_NAME_MAX + 2],
		       struct cg_error *err);
/* The lowest identity id no peer or cell has (they share the space). */
bool state_free_identity(const struct cg_state *st, uint32_t *id);

/* Peers and cells are both WireGuard peers with an identity: they share
 * the space of keys and of identity ids, and each checks the other's
 * (keys: a wg_key, a uint32_t). */
bool peer_with_key(const void *peer, const void *key);
bool peer_with_id(const void *peer, const void *id);
bool cell_with_key(const void *cell, const void *key);
bool cell_with_id(const void *cell, const void *id);

/* The entities' lists of the state file, in the order they are read
 * (a peer's access names services, a cell's id must not be a peer's).
 * A NULL arr is an empty list. */
bool state_load_services(struct cg_state *st, json_object *arr,
			 struct cg_error *err);
bool state_load_peers(struct cg_state *st, json_object *arr,
		      struct cg_error *err);
bool state_load_forwards(struct cg_state *st, json_object *arr,
			 struct cg_error *err);
bool state_load_cells(struct cg_state *st, json_object *arr,
		      struct cg_error *err);
bool state_load_invites(struct cg_state *st, json_object *arr,
			struct cg_error *err);
json_object *invite_to_json(const struct cg_invite *inv);
bool state_load_rules(struct cg_state *st, json_object *arr,
		      struct cg_error *err);
bool state_load_exits(struct cg_state *st, json_object *arr,
		      struct cg_error *err);
/* An exit's record, checked on its own; and whether its id and name are
 * free (self: the element it replaces, or NULL). */
bool state_exit_record(json_object *o, struct cg_exit_def *e,
		       struct cg_error *err);
bool state_exit_fits(const struct cg_state *st, const struct cg_exit_def *e,
		     const struct cg_exit_def *self, struct cg_error *err);
/* A rule's record: its syntax only (what it names may be gone since). */
bool state_rule_record(json_object *o, struct cg_rule_def *r,
		       struct cg_error *err);

bool state_load_groups(struct cg_state *st, json_object *arr,
		       struct cg_error *err);
bool state_group_record(json_object *o, struct cg_group_def *g,
			struct cg_error *err);
/* "rate_limit": {"down_mbit": N, "up_mbit": N} of body (peers' and
 * groups'): absent, null or {} is unlimited; 400 naming the field. */
bool state_parse_rate_limit(json_object *body, uint32_t *down, uint32_t *up,
			    struct cg_error *err);

/* ---- the group index (state_gindex.c), part of state_index.c's ------ */

struct group_index;
struct group_index *gindex_new(void);
void gindex_free(struct group_index *g);
/* The peer at pos joins (leaves) its groups; moves from one position
 * to another. Allocation failures leave the index broken (lookups then
 * walk the peers), never wrong. */
void gindex_add(struct group_index *g, const struct cg_state *st, size_t pos);
void gindex_drop(struct group_index *g, const struct cg_state *st, size_t pos);
void gindex_move(struct group_index *g, const struct cg_state *st, size_t from,
		 size_t to);
/* The group's members (-1: no usable index, walk), and iteration. */
int64_t gindex_size(const struct group_index *g, const char *name);
bool gindex_each(const struct group_index *g, const struct cg_state *st,
		 const char *name, state_peer_fn *fn, void *ctx, int *ret);
/* Names of groups with members into out (at most cap), -1 broken. */
int64_t gindex_names(const struct group_index *g, const char **out, size_t cap);
/* Groups' settings by name (st->groups positions). */
struct group_index *state_gindex(const struct cg_state *st);
struct hashidx *state_group_settings_index(const struct cg_state *st);

/* One record of the state file (or of the journal) into an entity,
 * checked on its own; *_fits: and against the rest of the state (self:
 * the element it replaces, or NULL). */
bool state_service_record(json_object *o, struct cg_service_def *svc,
			  struct cg_error *err);
bool state_peer_record(const struct cg_state *st, json_object *o,
		       struct cg_peer_def *p, struct cg_error *err);
bool state_peer_fits(const struct cg_state *st, const struct cg_peer_def *p,
		     const struct cg_peer_def *self, struct cg_error *err);
bool state_forward_record(const struct cg_state *st, json_object *o,
			  struct cg_forward_def *f, struct cg_error *err);
bool state_forward_fits(const struct cg_state *st,
			const struct cg_forward_def *f, struct cg_error *err);
bool state_cell_record(const struct cg_state *st, json_object *o,
		       struct cg_cell_def *c, struct cg_error *err);
bool state_cell_fits(const struct cg_state *st, const struct cg_cell_def *c,
		     const struct cg_cell_def *self, struct cg_error *err);
bool state_invite_record(json_object *o, struct cg_invite *inv,
			 struct cg_error *err);
/* The state file's text, with the journal generation it continues in
 * (0: none, the field is left out). */
char *state_to_string_gen(const struct cg_state *st, uint64_t gen);

#endif
