/* SPDX-License-Identifier: MIT */
/*
 * The cell's desired state: services, peers, port forwards, linked cells
 * and pending invites. The controller's single source of truth,
 * persisted as JSON in state_dir (atomically) and compiled into map
 * entries by policy.c. Every mutation validates completely first and
 * changes nothing on error. Implemented by state.c and state_<entity>.c
 * (README.md).
 */
#ifndef CELLGATE_STATE_H
#define CELLGATE_STATE_H

#include <json-c/json.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "abi.h"
#include "cell.h"
#include "config.h"
#include "key.h"
#include "util.h"

#define CG_STATE_VERSION 1
/* Service id kept for the cell-to-cell sync listener (on the wg address):
 * every linked cell may reach it, nothing else. */
#define CG_SYNC_SERVICE_ID (CG_MAX_SERVICES - 1)
/* Its name where services are named (metrics, `cellgate maps`): not a
 * valid service name, so no service can take it. */
#define CG_SYNC_SERVICE_NAME "@cell-sync"
/* Service id kept for a peer's own API (peer_api.port on the wg address):
 * every peer may reach it, no cell. */
#define CG_PEER_API_SERVICE_ID (CG_MAX_SERVICES - 2)
#define CG_PEER_API_SERVICE_NAME "@peer-api"
/* Ids operators' services take: below the kept ones. */
#define CG_MAX_USER_SERVICES CG_PEER_API_SERVICE_ID
#define CG_MAX_ENDPOINTS 32 /* per service */
#define CG_MAX_DNAT 32 /* per service */

struct cg_endpoint {
	struct in_addr ip; /* unless v6 */
	bool v6; /* an IPv6 endpoint (issue 17): ip6, in cg_services6 */
	struct in6_addr ip6;
	uint8_t proto; /* IPPROTO_TCP/UDP/ICMP, or 0: any of the three */
	uint16_t port; /* 0: every port */
};

/* Exposure of a service on the cell's WireGuard address (issue 4). */
struct cg_dnat {
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port; /* on the wg address */
	struct in_addr to_ip; /* unless v6 */
	/* Exposed on the wg address6 instead (issue 17): to_ip6, in
	 * cg_dnat6. Both families may expose the same port. */
	bool v6;
	struct in6_addr to_ip6;
	uint16_t to_port;
};

struct cg_service_def {
	char name[CG_NAME_MAX + 1];
	uint32_t id; /* bit in identities' service bitmaps, < CG_MAX_SERVICES */
	struct cg_endpoint endpoints[CG_MAX_ENDPOINTS];
	unsigned int n_endpoints;
	struct cg_dnat dnat[CG_MAX_DNAT];
	unsigned int n_dnat;
};

/* Groups a peer may be in (issue 18): names, sorted, no duplicates. */
#define CG_MAX_PEER_GROUPS 8

struct cg_peer_def {
	char name[CG_NAME_MAX + 1];
	uint32_t id; /* identity id: counters and epochs, >= 1 */
	wg_key public_key;
	struct in_addr ip;
	/* In wireguard.address6; :: when the cell is IPv4-only. */
	struct in6_addr ip6;
	uint64_t access[CG_SERVICE_WORDS]; /* by service id */
	bool internet_access;
	bool peer_to_peer;
	unsigned int n_groups;
	char groups[CG_MAX_PEER_GROUPS][CG_NAME_MAX + 1];
	/* rate_limit (issue 18), in Mbit/s; 0: that direction unlimited. */
	uint32_t down_mbit, up_mbit;
	/* Its exit (issue 20): an exit's id, 0 for the default uplink. The
	 * id, not the name, so the identity is compiled without a lookup;
	 * the API and the state file show the exit's name. */
	uint8_t exit_id;
};

/* The highest rate_limit a direction takes, in Mbit/s (100 Gbit/s). */
#define CG_MAX_RATE_MBIT 100000

/* A group's settings (issue 18): a group exists by being named (in a
 * peer's groups, a rule's selector); this record holds what is set on
 * it. A member's effective limit per direction is the tightest of its
 * own and its groups' (policy.c). */
#define CG_MAX_GROUPS 1024

struct cg_group_def {
	char name[CG_NAME_MAX + 1];
	uint32_t down_mbit, up_mbit; /* 0: that direction unlimited */
};

/* Rules between peers (issue 18): "from" may open flows to "to" on
 * "ports". Groups need not exist (an unknown one matches nobody);
 * peers, cells and services must, when the rule is written. */
#define CG_MAX_RULES 1024

enum cg_selector_kind {
	CG_SEL_GROUP = 1,
	CG_SEL_PEER = 2,
	CG_SEL_CELL = 3,
	CG_SEL_SERVICE = 4, /* "to" only */
};

struct cg_selector {
	enum cg_selector_kind kind;
	char name[CG_NAME_MAX + 1];
};

struct cg_rule_def {
	char name[CG_NAME_MAX + 1];
	struct cg_selector from, to;
	struct cg_rule_port ports[CG_RULE_PORTS]; /* abi.h's encoding */
	unsigned int n_ports;
};

/* Exits (issue 20): where a peer's internet-bound traffic leaves
 * instead of the default uplink. ids 1..CG_MAX_EXITS-1, kept across
 * restarts (the state file has them). */
#define CG_EXIT_IFNAME_MAX 15 /* IFNAMSIZ - 1 */

struct cg_exit_def {
	char name[CG_NAME_MAX + 1];
	uint32_t id; /* index into cg_exits, 1..CG_MAX_EXITS-1 */
	uint8_t kind; /* enum cg_exit_kind: interface or wireguard */
	bool masquerade; /* SNAT to address on the way out */
	/* interface: the link given; wireguard: the one the controller
	 * creates (exit_wg_ifname). */
	char interface[CG_EXIT_IFNAME_MAX + 1];
	bool has_gateway;
	struct in_addr gateway; /* interface: next hop */
	bool has_address; /* our address on it (wireguard: required) */
	struct cg_cidr address;
	bool has_address6;
	struct cg_cidr6 address6;
	/* wireguard: the far end's key and endpoint, our private key (made
	 * when none is given; the state file keeps it, mode 0600). */
	wg_key public_key;
	wg_key private_key;
	struct in_addr endpoint_ip;
	uint16_t endpoint_port;
};

/* Port forwards (the edge gateway's /tcp/forwards, generalised). */
#define CG_MAX_FORWARDS 1024 /* slots: cg_fwd_counters, NAT owners */
#define CG_MAX_ALLOW_FROM 32 /* CIDRs per forward */
#define CG_MAX_ALLOW_ENTRIES 4096 /* CIDRs of all forwards: cg_fwd_allow */

/* Who a forwarded flow seems to come from, to its target. */
enum cg_snat_mode {
	CG_SNAT_AUTO = 0, /* the wg address when the target is over wg0 */
	CG_SNAT_ALWAYS = 1, /* the wg address (targets over wg0 only) */
	CG_SNAT_NEVER = 2, /* the client's own address */
};

struct cg_forward_def {
	char id[CG_NAME_MAX + 1]; /* "vm-123-ssh" */
	uint32_t slot; /* < CG_MAX_FORWARDS, stable across restarts */
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t public_port; /* on the uplink address */
	struct in_addr target_ip;
	uint16_t target_port;
	struct cg_cidr allow_from[CG_MAX_ALLOW_FROM]; /* empty: anyone */
	unsigned int n_allow_from;
	enum cg_snat_mode snat;
};

struct cg_state {
	const struct cg_config *cfg;
	struct cg_service_def *services;
	size_t n_services, cap_services;
	struct cg_peer_def *peers;
	size_t n_peers, cap_peers;
	struct cg_forward_def *forwards;
	size_t n_forwards, cap_forwards;
	struct cg_cell_def *cells;
	size_t n_cells, cap_cells;
	struct cg_invite *invites; /* pending, unused and unexpired */
	size_t n_invites, cap_invites;
	struct cg_rule_def *rules;
	size_t n_rules, cap_rules;
	struct cg_group_def *groups; /* groups' settings */
	size_t n_groups, cap_groups;
	struct cg_exit_def *exits;
	size_t n_exits, cap_exits;
	struct state_index *index; /* peers by name, key, address; ids */
	struct state_log *log; /* the current operation's changes */
};

void state_init(struct cg_state *st, const struct cg_config *cfg);
void state_free(struct cg_state *st);
/* A deep copy (with its own indexes, no undo log). */
int state_copy(struct cg_state *dst, const struct cg_state *src);

/* One operation's changes: from state_begin, every add, replace and
 * remove is recorded; state_rollback undoes them (newest first: the
 * state is as at state_begin, in the same order), state_commit forgets
 * them. O(changes), never O(state). */
int state_begin(struct cg_state *st);
void state_rollback(struct cg_state *st);
void state_commit(struct cg_state *st);
/* A change could not be recorded (out of memory): roll back and fail. */
bool state_log_failed(const struct cg_state *st);

/* Lookups; NULL when absent. */
struct cg_service_def *state_service(const struct cg_state *st,
				     const char *name);
struct cg_service_def *state_service_by_id(const struct cg_state *st,
					   uint32_t id);
struct cg_peer_def *state_peer(const struct cg_state *st, const char *name);
/* Through the indexes: O(1). */
struct cg_peer_def *state_peer_by_key(const struct cg_state *st,
				      const wg_key key);
struct cg_peer_def *state_peer_by_ip(const struct cg_state *st,
				     struct in_addr ip);
struct cg_peer_def *state_peer_by_ip6(const struct cg_state *st,
				      const struct in6_addr *ip6);
struct cg_forward_def *state_forward(const struct cg_state *st, const char *id);
/* Give every peer without an ip6 (a state file older than IPv6, or
 * address6 newly configured) the lowest free address of address6; the
 * caller saves the state when this returns more than 0. 0 for an
 * IPv4-only cell. O(peers), at start only. */
size_t state_assign_ip6(struct cg_state *st);

/* Create or replace a service from its JSON body (PUT semantics; a name
 * in the body must match). Keeps the id of a replaced service. */
int state_put_service(struct cg_state *st, const char *name, json_object *body,
		      struct cg_error *err);
/* 404 if absent, 409 while a peer still has access to it. */
int state_delete_service(struct cg_state *st, const char *name,
			 struct cg_error *err);

/* Create a peer from its JSON body (POST). Without "public_key" in the
 * body, generated_key is used (a 400 if it is NULL); without "ip", the
 * lowest free address of the WireGuard subnet; without "ip6" (and with
 * wireguard.address6), the lowest free address of address6. */
int state_add_peer(struct cg_state *st, json_object *body,
		   const uint8_t *generated_key, struct cg_peer_def *added,
		   struct cg_error *err);
/* Change the fields present in body (PUT); old gets the previous value. */
int state_update_peer(struct cg_state *st, const char *name, json_object *body,
		      struct cg_peer_def *old, struct cg_peer_def *updated,
		      struct cg_error *err);
int state_delete_peer(struct cg_state *st, const char *name,
		      struct cg_peer_def *removed, struct cg_error *err);

/* Create a forward from its JSON body (POST) in the lowest free slot. */
int state_add_forward(struct cg_state *st, json_object *body,
		      struct cg_forward_def *added, struct cg_error *err);
int state_delete_forward(struct cg_state *st, const char *id,
			 struct cg_forward_def *removed, struct cg_error *err);
/* Which of our listeners the forward's port would hide on the uplink
 * ("the pairing listener's (sync.pairing_port)"), or NULL. Refused by
 * state_add_forward; a loaded state may predate a change of them. */
const char *state_forward_hides(const struct cg_config *cfg,
				const struct cg_forward_def *fwd);
/* Is the forward's target inside a network the cell reaches (checked by
 * state_add_forward; a loaded state may predate a change of them)? */
bool state_forward_reachable(const struct cg_config *cfg,
			     const struct cg_forward_def *fwd);

/* Linked cells. state_link_cell adds the cell, or updates the link in
 * place when a cell with the same public key is linked already (a
 * re-sent invite); 409 on a subnet overlapping ours or another cell's, a
 * domain or name in use. */
struct cg_cell_def *state_cell(const struct cg_state *st, const char *name);
struct cg_cell_def *state_cell_by_key(const struct cg_state *st,
				      const wg_key key);
struct cg_cell_def *state_cell_by_address(const struct cg_state *st,
					  struct in_addr wg_address);
int state_link_cell(struct cg_state *st, const struct cg_cell_info *info,
		    const uint8_t link_key[LINK_KEY_LEN],
		    struct cg_cell_def *linked, struct cg_error *err);
/* Overwrite a linked cell (found by state_cell*) with val: recorded for
 * undo, like every change of an entity. */
void state_set_cell(struct cg_state *st, struct cg_cell_def *cell,
		    const struct cg_cell_def *val);
int state_unlink_cell(struct cg_state *st, const char *name,
		      struct cg_cell_def *removed, struct cg_error *err);
/* PUT permissions: {"inbound": {"svc": bool}} (outbound is the remote's
 * to say). */
int state_set_cell_inbound(struct cg_state *st, const char *name,
			   json_object *body, struct cg_cell_def *updated,
			   struct cg_error *err);

/* Pending invites: added (409 when CG_MAX_INVITES are pending), dropped
 * when used or expired. */
int state_add_invite(struct cg_state *st, const struct cg_invite *inv,
		     struct cg_error *err);
void state_drop_invite(struct cg_state *st, size_t i);
size_t state_expire_invites(struct cg_state *st, int64_t now);
/* The index of the pending invite whose invite_id() is id, or -1. */
int state_find_invite(const struct cg_state *st, const char *id);

/* Rules: PUT (create or replace), DELETE; 400 naming the field on bad
 * input, nothing changed. */
struct cg_rule_def *state_rule(const struct cg_state *st, const char *name);
int state_put_rule(struct cg_state *st, const char *name, json_object *body,
		   struct cg_rule_def *old, bool *existed,
		   struct cg_rule_def *put, struct cg_error *err);
int state_delete_rule(struct cg_state *st, const char *name,
		      struct cg_rule_def *removed, struct cg_error *err);
json_object *rule_to_json(const struct cg_rule_def *rule);
/* Does the selector match this peer (cell)? */
bool selector_matches_peer(const struct cg_selector *sel,
			   const struct cg_peer_def *peer);
bool selector_matches_cell(const struct cg_selector *sel,
			   const struct cg_cell_def *cell);
/* "group:x" from sel, into buf. */
const char *selector_str(const struct cg_selector *sel, char *buf, size_t size);

/* Groups' settings: PUT (create or replace), DELETE (the settings go;
 * peers keep the group's name); 400 naming the field on bad input,
 * nothing changed. Lookups through the index: O(1). */
struct cg_group_def *state_group(const struct cg_state *st, const char *name);
int state_put_group(struct cg_state *st, const char *name, json_object *body,
		    struct cg_group_def *old, bool *existed,
		    struct cg_group_def *put, struct cg_error *err);
int state_delete_group(struct cg_state *st, const char *name,
		       struct cg_group_def *removed, struct cg_error *err);
/* {"name", "rate_limit"}: the record, and the API's shape without
 * "peers" (the API adds the members' count). */
json_object *group_to_json(const struct cg_group_def *group);
/* How many peers are in the group: O(1) with the index. */
size_t state_group_size(const struct cg_state *st, const char *name);
/* {"down_mbit", "up_mbit"}: the directions set (0: left out). */
json_object *state_rate_limit_json(uint32_t down, uint32_t up);
/* Call fn for each peer in the group: O(members) with the index (a walk
 * of every peer without one). Stops at, and returns, fn's first
 * non-zero. */
typedef int state_peer_fn(const struct cg_peer_def *peer, void *ctx);
int state_group_each(const struct cg_state *st, const char *name,
		     state_peer_fn *fn, void *ctx);
/* Every group named by a peer, a rule or a settings record, sorted, no
 * duplicates: *names (malloc'd pointers into st) and the count, or -1
 * (out of memory). */
ssize_t state_group_names(const struct cg_state *st, const char ***names);
/* Exits (issue 20): PUT (create or replace; a replaced exit keeps its
 * id and, unless a new one is given, its private key), DELETE (409 while
 * a peer uses it). 400 naming the field on bad input, nothing changed.
 * Kinds tor and cell: 400 at "kind", not supported yet. Whether an
 * interface exists is the caller's to check (no network here). */
struct cg_exit_def *state_exit(const struct cg_state *st, const char *name);
struct cg_exit_def *state_exit_by_id(const struct cg_state *st, uint32_t id);
int state_put_exit(struct cg_state *st, const char *name, json_object *body,
		   const uint8_t *generated_key, struct cg_exit_def *old,
		   bool *existed, struct cg_exit_def *put,
		   struct cg_error *err);
int state_delete_exit(struct cg_state *st, const char *name,
		      struct cg_exit_def *removed, struct cg_error *err);
/* The API's view (with_secret false: no private key, our public key
 * shown) or the state file's record. */
json_object *exit_to_json(const struct cg_exit_def *e, bool with_secret);
const char *state_exit_kind(uint8_t kind);
/* The WireGuard interface of a wireguard exit: "cgx-NAME" when NAME
 * fits in 11 characters, else "cgx<id>" (no dash, so never another's). */
void exit_wg_ifname(const char *name, uint32_t id,
		    char out[CG_EXIT_IFNAME_MAX + 1]);
/* How many peers use exit id. */
size_t state_exit_users(const struct cg_state *st, uint32_t id);

/* JSON views for the API (and the state file, with internal ids). */
json_object *service_to_json(const struct cg_service_def *svc, bool with_id);
json_object *peer_to_json(const struct cg_state *st,
			  const struct cg_peer_def *peer, bool with_id);
json_object *forward_to_json(const struct cg_forward_def *fwd, bool with_slot);

/* The state file: state_dir/state.json, a snapshot, and its journal
 * (state.json.journal.<generation>, state_journal.c): one JSON line per
 * operation, appended and fdatasync'd before the answer. A missing file
 * is an empty state; a corrupt one is an error that names what is wrong;
 * a torn last line of the journal (never acknowledged) is left out. */
struct cg_journal_pos {
	uint64_t snapshot_gen; /* the generation the snapshot continues in */
	uint64_t gen; /* the last journal file read (appends go on there) */
	uint64_t seq; /* the last operation's number */
	size_t len; /* bytes of gen's file up to its last whole line */
	size_t torn; /* bytes after it (left out) */
	size_t lines; /* operations replayed, all files */
	/* Replay at most this many lines (0: all): a fallback stops before
	 * a line that does not apply (state_recover.c). */
	size_t max_lines;
};

/* Previous generations kept beside the newest (snapshot
 * state.json.snap.<G> and the journal files from G on), to fall back
 * to when the newest does not validate. */
#define STATE_KEEP_GENERATIONS 3

/* How the state was loaded: the newest generation, or an older one
 * because the newest did not validate (state_load_recover). */
struct state_recovery {
	bool fell_back;
	uint64_t generation; /* the snapshot started from continues in it */
	char started_from[64]; /* "state.json" or "state.json.snap.<G>" */
	char refused[STATE_KEEP_GENERATIONS + 1][320]; /* file: error */
	unsigned int n_refused;
	char lost[400]; /* what was left out, "" when nothing */
	int64_t lost_after; /* unix time: changes after it lost (0: none) */
};
/* Load the newest generation that validates: the snapshot, else the
 * previous ones; journal lines after one that does not apply are left
 * out (and said so in rec). What was refused is renamed "<file>.refused"
 * (kept for a person to look at). 0 with rec->fell_back when it fell
 * back; the newest's error when nothing validates. */
int state_load_recover(struct cg_state *st, const char *path,
		       struct cg_journal_pos *pos, struct state_recovery *rec,
		       struct cg_error *err);
/* `cellgate state check`: validate path (and its journal) strictly, and
 * list the kept generations; prints text or JSON; the exit code. */
int state_check_main(const struct cg_config *cfg, const char *path, bool json);
/* The file name of generation gen's kept snapshot. */
int state_snap_path(char *buf, size_t size, const char *path, uint64_t gen);
int state_load(struct cg_state *st, const char *path, struct cg_error *err);
int state_load_journaled(struct cg_state *st, const char *path,
			 struct cg_journal_pos *pos, struct cg_error *err);
/* Loads keep the parsed JSON trees of their snapshots instead of freeing
 * them, until state_free_deferred (at most a few; more are freed at
 * once): freeing 10k peers' objects is tens of ms that a start spends
 * better waiting for WireGuard. Not thread-safe: the start's thread. */
void state_defer_frees(bool on);
void state_free_deferred(void);
/* A snapshot alone (no journal: tests, tools). */
int state_save(const struct cg_state *st, const char *path);
char *state_to_string(const struct cg_state *st);

/* The journal of a running controller. Zeroed: not open (every change
 * writes a snapshot, as tests without a journal expect). */
struct cg_journal {
	bool open;
	int fd;
	char state_path[PATH_MAX];
	uint64_t gen; /* appends go to this generation's file */
	uint64_t oldest; /* the oldest generation whose file may exist */
	uint64_t seq;
	size_t bytes; /* in gen's file */
	size_t max_bytes; /* compact past max(this, the snapshot's size) */
	bool max_fixed; /* set by the environment: this alone */
	size_t snapshot_bytes;
	/* Compaction: a copy of the state written by a thread, off the
	 * lock. */
	pthread_t compactor;
	bool compactor_live;
	int compacting; /* atomic: the thread has not finished */
	struct cg_state copy;
	uint64_t copy_gen;
	/* Counters (status, tests). */
	uint64_t appends, snapshots, compactions, compaction_failures;
};

/* Open the journal where the load left it (pos): the torn tail cut off,
 * files of generations before the snapshot's removed. */
int journal_open(struct cg_journal *j, const char *state_path,
		 const struct cg_journal_pos *pos, struct cg_error *err);
/* Wait for a compaction and close. */
void journal_close(struct cg_journal *j);
/* Append the current operation's changes (st's undo log) as one line,
 * durably: 0, 1 when they are not journaled (cells, invites, no change
 * recorded at all: the caller
 * writes a snapshot instead) or -errno (nothing appended). */
int journal_append(struct cg_journal *j, const struct cg_state *st);
/* Write a snapshot of st now and start a new generation (the caller holds
 * the lock; for changes the journal does not take). */
int journal_snapshot(struct cg_journal *j, const struct cg_state *st);
/* Past the threshold: copy st, start a new generation and write the
 * snapshot of the copy on a thread. The caller holds the lock, for
 * the copy only. */
void journal_maybe_compact(struct cg_journal *j, const struct cg_state *st);
/* Used internally by the load (state_file.c). */
int state_journal_replay(struct cg_state *st, const char *path,
			 struct cg_journal_pos *pos, struct cg_error *err);

#endif
