/* SPDX-License-Identifier: MIT */
/*
 * The running daemon: configuration, state, dataplane and WireGuard device
 * under one lock, and the operations the API calls. Every mutation runs on
 * one skeleton (op.h): change the state, persist it, then program the maps
 * and WireGuard, so the change is enforced when the call returns.
 */
#ifndef CELLGATE_CONTROLLER_H
#define CELLGATE_CONTROLLER_H

#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "abi_names.h"
#include "attach.h"
#include "auth.h"
#include "config.h"
#include "dataplane.h"
#include "exits.h"
#include "heal.h"
#include "join.h"
#include "key.h"
#include "metrics.h"
#include "ports.h"
#include "pusher.h"
#include "state.h"
#include "util.h"
#include "wg.h"

#include "version.h" /* CG_VERSION, from the Makefile's VERSION */

struct controller {
	struct cg_config cfg;
	struct cg_state state;
	struct dataplane dp;
	pthread_mutex_t lock; /* serialises API calls and periodic work */

	char state_path[PATH_MAX];
	struct cg_journal journal; /* state.json's journal (op.c) */
	/* How the start loaded the state (an older generation when the
	 * newest did not validate): status and /metrics say it. */
	struct state_recovery recovery;
	char token[128]; /* admin API bearer token */
	ino_t token_ino; /* identity of the token file we read it from */
	off_t token_size;
	struct timespec token_mtime;
	enum wg_backend wg_backend;
	pid_t wg_pid; /* wireguard-go we started, or 0 */
	wg_key public_key; /* the cell's WireGuard public key */
	struct cg_settings settings; /* as last written to cg_settings */
	struct cg_settings6 settings6; /* as last written to cg_settings6 */
	bool settings6_written;
	struct xdp_state xdp; /* the uplink's XDP program */
	uint64_t started_ns;

	/* Pushes to linked cells run on their own thread (network I/O
	 * must not hold the lock). */
	struct cells_pusher pusher;

	/* LRU evictions (exporter.c): what the tables could not account
	 * for at start, and the count last reported (never decreasing). */
	struct {
		bool have_base;
		int64_t base[CG_TABLE__MAX];
		uint64_t evicted[CG_TABLE__MAX];
	} lru;
	int64_t started_at; /* unix seconds */
	/* Families of GET /metrics from the layers above (the HTTP
	 * listeners), registered by whoever starts them. */
	void (*more_metrics)(struct metrics *m);

	/* Join tokens, enrolment and the peers' own API (ops_join.c). */
	struct ctl_join join;

	/* Interfaces and hooks watched and repaired (heal.c). */
	struct ctl_heal heal;
	/* Exits' interfaces and health (exits.c, issue 20). */
	struct ctl_exits exits;
	/* Anti-spoofing on the bridge's ports (ports.c). */
	struct ctl_ports ports;

	/* Cell-to-cell calls refused (403), by reason. */
	struct cell_refusals sync_refused;

	/* Bumped whenever the controller programs WireGuard (under the
	 * lock): the periodic repair applies its diff only if none came
	 * in while it compared without the lock. */
	uint64_t wg_writes;
	/* Peers with a handshake in the last 180 s, as of the last
	 * repair's dump: /metrics above metrics.per_peer_limit. */
	uint64_t wg_recent_handshakes;
	/* Taken by the conntrack GC across its sweep (without the main
	 * lock), and by /metrics across its table census, so a census
	 * never sees deletions not yet accounted. Order: gc_lock, then
	 * lock. */
	pthread_mutex_t gc_lock;

	struct {
		uint64_t wg_repairs; /* peers re-programmed by reconcile */
		uint64_t ct_gc_deleted;
		uint64_t state_writes;
		/* CPU time of the periodic work (its thread), for /metrics
		 * (written by the tick alone, read as is). */
		uint64_t tick_cpu_ns;
		/* The WireGuard drift check's interval, stretched with its
		 * cost (written by the tick alone, read as is). */
		uint64_t wg_check_interval_ns;
	} stats;
};

/* Start: load state, set up WireGuard, load and attach the programs,
 * fill the maps. On error everything already set up stays (filtering of a
 * previous run keeps working) and the reason is logged. */
int controller_start(struct controller *c, const struct cg_config *cfg);
/* Periodic work: conntrack GC and WireGuard drift repair. */
void controller_tick(struct controller *c);
void controller_stop(struct controller *c);

/* API operations. Each takes the lock, and answers with a JSON object
 * (*out, owned by the caller) or an error (err). */
int ctl_list_services(struct controller *c, json_object **out);
int ctl_get_service(struct controller *c, const char *name, json_object **out,
		    struct cg_error *err);
int ctl_put_service(struct controller *c, const char *name, json_object *body,
		    json_object **out, struct cg_error *err);
int ctl_delete_service(struct controller *c, const char *name,
		       struct cg_error *err);

/* Rules between peers (ops_rule.c). */
int ctl_list_rules(struct controller *c, json_object **out);
int ctl_get_rule(struct controller *c, const char *name, json_object **out,
		 struct cg_error *err);
int ctl_put_rule(struct controller *c, const char *name, json_object *body,
		 json_object **out, struct cg_error *err);
int ctl_delete_rule(struct controller *c, const char *name,
		    struct cg_error *err);
/* Do the state's rules compile (409 at "ports" when a class pair needs
 * more port ranges than a map entry holds)? For changes that move
 * peers between groups too. */
int ctl_rules_compile_check(struct controller *c, struct cg_error *err);
/* Write the class pairs of the state's rules (before a peer that may be
 * in a new class is written). */
int ctl_rules_pairs_apply(struct controller *c);

/* Groups' settings (ops_group.c): the list has every group in use (by a
 * peer, a rule or settings) with its members' count; a change
 * re-compiles the members alone. */
int ctl_list_groups(struct controller *c, json_object **out);
int ctl_get_group(struct controller *c, const char *name, json_object **out,
		  struct cg_error *err);
int ctl_put_group(struct controller *c, const char *name, json_object *body,
		  json_object **out, struct cg_error *err);
int ctl_delete_group(struct controller *c, const char *name,
		     struct cg_error *err);
/* cellgate_group_peers and cellgate_group_rate_limit_mbit (the caller
 * holds the lock). */
void ctl_groups_metrics(struct controller *c, struct metrics *m);
/* Exits (issue 20, ops_exit.c). */
int ctl_list_exits(struct controller *c, json_object **out);
int ctl_get_exit(struct controller *c, const char *name, json_object **out,
		 struct cg_error *err);
int ctl_put_exit(struct controller *c, const char *name, json_object *body,
		 json_object **out, struct cg_error *err);
/* 409 while a peer uses it. */
int ctl_delete_exit(struct controller *c, const char *name,
		    struct cg_error *err);
/* PUT /api/connectivity/peers/NAME/exit {"exit": NAME|null}. */
int ctl_put_peer_exit(struct controller *c, const char *name, json_object *body,
		      json_object **out, struct cg_error *err);

int ctl_list_peers(struct controller *c, json_object **out);
int ctl_get_peer(struct controller *c, const char *name, json_object **out,
		 struct cg_error *err);
int ctl_add_peer(struct controller *c, json_object *body, json_object **out,
		 struct cg_error *err);
/* Bulk import {"peers": [<Peer>, ...]}: all or nothing (400 naming
 * "peers[i].field", 409 on a conflict in the batch or with the state),
 * one persist, WireGuard programmed in one batch. */
int ctl_import_peers(struct controller *c, json_object *body, json_object **out,
		     struct cg_error *err);
int ctl_update_peer(struct controller *c, const char *name, json_object *body,
		    json_object **out, struct cg_error *err);
int ctl_delete_peer(struct controller *c, const char *name,
		    struct cg_error *err);

/* Port forwards: GETs add counters and whether sources are rewritten. On
 * delete, the forward's NAT entries and counters go too. */
int ctl_list_forwards(struct controller *c, json_object **out);
int ctl_get_forward(struct controller *c, const char *id, json_object **out,
		    struct cg_error *err);
int ctl_add_forward(struct controller *c, json_object *body, json_object **out,
		    struct cg_error *err);
int ctl_delete_forward(struct controller *c, const char *id,
		       struct cg_error *err);

/* The peer's wg-quick client config (*text malloc'd). */
int ctl_peer_config(struct controller *c, const char *name, char **text,
		    struct cg_error *err);

int ctl_status(struct controller *c, json_object **out);

/* Is presented the admin token? Re-reads the token file if it changed. */
bool ctl_token_ok(struct controller *c, const char *presented);

/* Linked cells (ops_cell.c). */
int ctl_cell_invite(struct controller *c, json_object **out,
		    struct cg_error *err);
/* Pending invites, without secrets: [{"id","created_at","expires_at"}]. */
int ctl_list_invites(struct controller *c, json_object **out);
/* Revoke a pending invite by its id (404 if none). */
int ctl_revoke_invite(struct controller *c, const char *id,
		      struct cg_error *err);
int ctl_list_cells(struct controller *c, json_object **out);
int ctl_get_cell(struct controller *c, const char *name, json_object **out,
		 struct cg_error *err);
int ctl_link_cell(struct controller *c, json_object *invite, json_object **out,
		  struct cg_error *err);
int ctl_unlink_cell(struct controller *c, const char *name,
		    struct cg_error *err);
int ctl_get_cell_permissions(struct controller *c, const char *name,
			     json_object **out, struct cg_error *err);
int ctl_put_cell_permissions(struct controller *c, const char *name,
			     json_object *body, json_object **out,
			     struct cg_error *err);

/* Cell-to-cell requests (sync and pairing listeners). req carries the raw
 * body, the TCP peer's address and the signature headers. */
int ctl_sync_accept_invite(struct controller *c, const struct cell_request *req,
			   json_object **out, struct cg_error *err);
int ctl_sync_permissions(struct controller *c, const struct cell_request *req,
			 json_object **out, struct cg_error *err);
int ctl_sync_unlink(struct controller *c, const struct cell_request *req,
		    json_object **out, struct cg_error *err);

/* The pusher thread: start once running, stop before controller_stop. */
int ctl_pusher_start(struct controller *c);
void ctl_pusher_stop(struct controller *c);

/* Where the controller notes that it created ifname's clsact qdisc. */
int ctl_qdisc_marker(const struct cg_config *cfg, const char *ifname,
		     char *path, size_t len);

/* GET /metrics: the Prometheus text (malloc'd), or -errno. */
int ctl_metrics(struct controller *c, char **text, size_t *len);
/* Note what the LRU tables hold at start, to count evictions from. */
int ctl_metrics_start(struct controller *c);

#endif
