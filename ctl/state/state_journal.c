// SPDX-License-Identifier: MIT
/*
 * The journal: state.json is a snapshot, state.json.journal.<G> the
 * operations since, one JSON line each, appended and fdatasync'd before
 * the answer, so a change costs O(1) on disk whatever the size of the
 * state. A line:
 *
 *   {"seq":7,"changes":[{"op":"replace","kind":"peer","name":"alice",
 *                        "record":{...as in state.json...}}]}
 *
 * op is add (record), replace (name: the one replaced, record) or remove
 * (name); kind is service, peer, forward or cell (an operation on
 * invites, at most 16, writes a snapshot). One line is one operation: applied
 * whole or, torn by a crash before it was acknowledged, not at all.
 *
 * Generations make compaction safe without stopping writers: the
 * snapshot says which generation it continues in ("journal": G). To
 * compact, the writer starts file G+1 (appends go there from now on),
 * then a thread writes the snapshot of a copy with "journal": G+1,
 * renames it into place and only then removes G's file. A crash at any
 * point leaves a snapshot and every file after it: the load replays them
 * in order.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonx.h"
#include "log.h"
#include "state_internal.h"

#define JOURNAL_MAX_FILE (256u << 20)
#define JOURNAL_MIN_COMPACT (4u << 20)

static const char *const kinds[ST_N_LISTS] = {
	[ST_SERVICES] = "service", [ST_PEERS] = "peer",
	[ST_FORWARDS] = "forward", [ST_CELLS] = "cell",
	[ST_RULES] = "rule",	   [ST_GROUPS] = "group",
	[ST_EXITS] = "exit",
	/* Invites (at most 16, found by a hash of their secret) are saved
	 * with a snapshot. */
};

static const char *const ops[] = {
	[LOG_ADD] = "add",
	[LOG_REPLACE] = "replace",
	[LOG_REMOVE] = "remove",
};

static int journal_path(char *buf, size_t size, const char *state_path,
			uint64_t gen)
{
	return path_fmt(buf, size, "%s.journal.%llu", state_path,
			(unsigned long long)gen);
}

/* ---- rendering ------------------------------------------------------------ */

/* The name an element is found by: services', peers' and cells' name,
 * forwards' id. */
static const char *elem_name(enum state_list list, const union state_elem *e)
{
	switch (list) {
	case ST_SERVICES:
		return e->service.name;
	case ST_PEERS:
		return e->peer.name;
	case ST_FORWARDS:
		return e->forward.id;
	case ST_RULES:
		return e->rule.name;
	case ST_GROUPS:
		return e->group.name;
	case ST_EXITS:
		return e->exit.name;
	default:
		return e->cell.info.cell_name;
	}
}

static json_object *elem_record(const struct cg_state *st, enum state_list list,
				const union state_elem *e)
{
	switch (list) {
	case ST_SERVICES:
		return service_to_json(&e->service, true);
	case ST_PEERS:
		return peer_to_json(st, &e->peer, true);
	case ST_FORWARDS:
		return forward_to_json(&e->forward, true);
	case ST_RULES:
		return rule_to_json(&e->rule);
	case ST_GROUPS:
		return group_to_json(&e->group);
	case ST_EXITS:
		return exit_to_json(&e->exit, true);
	default:
		return cell_to_json(&e->cell, st->services, st->n_services,
				    true);
	}
}

/* A linked cell's operation may change it in place after logging it
 * (pending_push, the remote's replay stamp): its last record in the
 * line is the cell as it is now. */
static const union state_elem *record_of(const struct cg_state *st,
					 const struct state_log *l, size_t i)
{
	const struct log_entry *e = &l->e[i];
	size_t k;

	if (e->list != ST_CELLS)
		return log_new(l, e);
	for (k = i + 1; k < l->n; k++)
		if (l->e[k].list == ST_CELLS &&
		    key_equal(log_old(l, &l->e[k])->cell.info.public_key,
			      log_new(l, e)->cell.info.public_key))
			return log_new(l, e);
	return (const void *)state_cell_by_key(st, log_new(l, e)->cell.info.public_key) ?:
		       log_new(l, e);
}

static json_object *change_json(const struct cg_state *st,
				const struct state_log *l, size_t i)
{
	const struct log_entry *e = &l->e[i];
	json_object *o = json_object_new_object();

	json_object_object_add(o, "op", json_object_new_string(ops[e->op]));
	json_object_object_add(o, "kind",
			       json_object_new_string(kinds[e->list]));
	if (e->op != LOG_ADD)
		json_object_object_add(o, "name",
				       json_object_new_string(elem_name(
					       e->list, log_old(l, e))));
	if (e->op != LOG_REMOVE)
		json_object_object_add(
			o, "record",
			elem_record(st, e->list, record_of(st, l, i)));
	return o;
}

/* The operation's line, "\n" included. */
static char *render_line(const struct cg_state *st, uint64_t seq)
{
	const struct state_log *l = st->log;
	json_object *root, *changes;
	const char *text;
	char *line = NULL;
	size_t i, len;

	root = json_object_new_object();
	changes = json_object_new_array();
	json_object_object_add(root, "seq",
			       json_object_new_int64((int64_t)seq));
	for (i = 0; l && i < l->n; i++)
		json_object_array_add(changes, change_json(st, l, i));
	json_object_object_add(root, "changes", changes);
	text = json_object_to_json_string_ext(
		root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(text);
	line = malloc(len + 2);
	if (line) {
		memcpy(line, text, len);
		memcpy(line + len, "\n", 2);
	}
	json_object_put(root);
	return line;
}

/* ---- replay --------------------------------------------------------------- */

static enum state_list kind_of(const char *s)
{
	int i;

	for (i = 0; i < ST_N_LISTS; i++)
		if (kinds[i] && !strcmp(kinds[i], s))
			return (enum state_list)i;
	return ST_N_LISTS;
}

static bool forward_named(const void *fwd, const void *id)
{
	return !strcmp(((const struct cg_forward_def *)fwd)->id, id);
}

static void *find_named(const struct cg_state *st, enum state_list list,
			const char *name)
{
	switch (list) {
	case ST_SERVICES:
		return state_service(st, name);
	case ST_PEERS:
		return state_peer(st, name);
	case ST_FORWARDS:
		return state_find(st, ST_FORWARDS, forward_named, name);
	case ST_RULES:
		return state_rule(st, name);
	case ST_GROUPS:
		return state_group(st, name);
	case ST_EXITS:
		return state_exit(st, name);
	default:
		return state_cell(st, name);
	}
}

/* A record into e, checked on its own and against the state (old: the
 * element it replaces, or NULL). */
static bool parse_record(const struct cg_state *st, enum state_list list,
			 json_object *rec, const void *old, union state_elem *e,
			 struct cg_error *err)
{
	switch (list) {
	case ST_SERVICES:
		if (!state_service_record(rec, &e->service, err))
			return false;
		if (find_named(st, list, e->service.name) != old) {
			cg_error_set(err, 400, "name", "service '%s' exists",
				     e->service.name);
			return false;
		}
		return true;
	case ST_PEERS:
		return state_peer_record(st, rec, &e->peer, err) &&
		       state_peer_fits(st, &e->peer, old, err);
	case ST_CELLS:
		return state_cell_record(st, rec, &e->cell, err) &&
		       state_cell_fits(st, &e->cell, old, err);
	case ST_RULES:
		if (!state_rule_record(rec, &e->rule, err))
			return false;
		if (find_named(st, list, e->rule.name) != old) {
			cg_error_set(err, 400, "name", "rule '%s' exists",
				     e->rule.name);
			return false;
		}
		return true;
	case ST_GROUPS:
		if (!state_group_record(rec, &e->group, err))
			return false;
		if (find_named(st, list, e->group.name) != old) {
			cg_error_set(err, 400, "name", "group '%s' exists",
				     e->group.name);
			return false;
		}
		return true;
	case ST_EXITS:
		return state_exit_record(rec, &e->exit, err) &&
		       state_exit_fits(st, &e->exit, old, err);
	default:
		if (old) {
			cg_error_set(err, 400, "op",
				     "forwards are not replaced");
			return false;
		}
		return state_forward_record(st, rec, &e->forward, err) &&
		       state_forward_fits(st, &e->forward, err);
	}
}

static bool replay_change(struct cg_state *st, json_object *ch,
			  struct cg_error *err)
{
	static const char *const fields[] = { "op", "kind", "name", "record",
					      NULL };
	char op[16], kind[16], name[CG_NAME_MAX + 2] = "";
	json_object *rec = NULL;
	enum state_list list;
	union state_elem e;
	void *old = NULL;

	if (!jx_only_fields(ch, fields, "", err) ||
	    !jx_string(ch, "op", true, "", op, sizeof(op), err) ||
	    !jx_string(ch, "kind", true, "", kind, sizeof(kind), err))
		return false;
	list = kind_of(kind);
	if (list == ST_N_LISTS) {
		cg_error_set(err, 400, "kind", "unknown kind '%s'", kind);
		return false;
	}
	if (strcmp(op, "add")) {
		if (!jx_string(ch, "name", true, "", name, sizeof(name), err))
			return false;
		old = find_named(st, list, name);
		if (!old) {
			cg_error_set(err, 400, "name", "no %s '%s'", kind,
				     name);
			return false;
		}
	}
	if (!strcmp(op, "remove")) {
		state_remove(st, list, old);
		return true;
	}
	if (strcmp(op, "add") && strcmp(op, "replace")) {
		cg_error_set(err, 400, "op", "unknown op '%s'", op);
		return false;
	}
	if (!jx_member(ch, "record", json_type_object, true, "", &rec, err) ||
	    !parse_record(st, list, rec, old, &e, err))
		return false;
	if (old)
		state_replace(st, list, old, &e);
	else if (!state_add(st, list, &e, err))
		return false;
	return true;
}

static bool replay_line(struct cg_state *st, const char *line, size_t len,
			uint64_t *seq, struct cg_error *err)
{
	static const char *const fields[] = { "seq", "changes", NULL };
	json_object *root = jx_parse_object(line, len, err), *changes;
	bool ok;
	size_t i;

	if (!root)
		return false;
	ok = jx_only_fields(root, fields, "", err) &&
	     jx_uint(root, "seq", true, "", 1, UINT64_MAX / 2, seq, err) &&
	     jx_member(root, "changes", json_type_array, true, "", &changes,
		       err);
	for (i = 0; ok && i < json_object_array_length(changes); i++)
		ok = replay_change(st, json_object_array_get_idx(changes, i),
				   err);
	json_object_put(root);
	return ok;
}

/* One generation's file: every whole line; a last line without its
 * newline was torn by a crash before it was acknowledged. */
static int replay_file(struct cg_state *st, const char *path,
		       struct cg_journal_pos *pos, struct cg_error *err)
{
	size_t len, off = 0, lineno = 0;
	char *buf = read_file(path, JOURNAL_MAX_FILE, &len);
	char msg[sizeof(err->msg) + PATH_MAX + 32];
	const char *base = strrchr(path, '/');

	if (!buf) {
		cg_error_set(err, 500, "", "cannot read %s: %s", path,
			     strerror(errno));
		return -EIO;
	}
	while (off < len) {
		char *nl = memchr(buf + off, '\n', len - off);

		if (!nl || (pos->max_lines && pos->lines >= pos->max_lines))
			break;
		lineno++;
		if (!replay_line(st, buf + off, (size_t)(nl - buf) - off,
				 &pos->seq, err)) {
			snprintf(msg, sizeof(msg), "%s line %zu: %s",
				 base ? base + 1 : path, lineno, err->msg);
			str_copy(err->msg, sizeof(err->msg), msg);
			free(buf);
			return -EINVAL;
		}
		off = (size_t)(nl - buf) + 1;
		pos->lines++;
	}
	pos->len = off;
	pos->torn = len - off;
	free(buf);
	return 0;
}

int state_journal_replay(struct cg_state *st, const char *path,
			 struct cg_journal_pos *pos, struct cg_error *err)
{
	char file[PATH_MAX];
	uint64_t gen;
	int ret;

	pos->gen = pos->snapshot_gen;
	for (gen = pos->snapshot_gen;; gen++) {
		ret = journal_path(file, sizeof(file), path, gen);
		if (ret)
			return ret;
		if (access(file, F_OK) ||
		    (pos->max_lines && pos->lines >= pos->max_lines))
			return 0;
		pos->gen = gen;
		ret = replay_file(st, file, pos, err);
		if (ret)
			return ret;
	}
}

/* ---- loading: the snapshot, then the journal ------------------------------- */

int state_load_journaled(struct cg_state *st, const char *path,
			 struct cg_journal_pos *pos, struct cg_error *err)
{
	struct cg_journal_pos p = { 0 };
	int ret = state_load_snapshot(st, path, &p.snapshot_gen, err);

	if (!ret)
		ret = state_journal_replay(st, path, &p, err);
	if (ret) {
		state_free(st);
		return ret;
	}
	if (pos)
		*pos = p;
	return 0;
}

int state_load(struct cg_state *st, const char *path, struct cg_error *err)
{
	return state_load_journaled(st, path, NULL, err);
}

/* ---- writing -------------------------------------------------------------- */

/* Open generation gen's file for appending, its length cut to len; a new
 * file is made durable (directory fsync'd) before anything relies on
 * it. */
static int open_gen(struct cg_journal *j, uint64_t gen, size_t len)
{
	char file[PATH_MAX];
	bool existed;
	int fd, ret = journal_path(file, sizeof(file), j->state_path, gen);

	if (ret)
		return ret;
	existed = access(file, F_OK) == 0;
	fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if ((existed && ftruncate(fd, (off_t)len)) ||
	    (!existed && fsync_dir_of(j->state_path))) {
		ret = -errno;
		close(fd);
		return ret ? ret : -EIO;
	}
	if (j->open)
		close(j->fd);
	j->fd = fd;
	j->open = true;
	j->gen = gen;
	j->bytes = existed ? len : 0;
	return 0;
}

int state_snap_path(char *buf, size_t size, const char *path, uint64_t gen)
{
	return path_fmt(buf, size, "%s.snap.%llu", path,
			(unsigned long long)gen);
}

/* The oldest generation kept when the newest is gen. */
static uint64_t keep_from(uint64_t gen)
{
	return gen > STATE_KEEP_GENERATIONS ? gen - STATE_KEEP_GENERATIONS : 0;
}

/* Before a new snapshot replaces it: the current one stays as
 * "<state>.snap.<its generation>" (a hard link: no copy, and the rename
 * that follows leaves it whole). */
static void keep_previous(struct cg_journal *j)
{
	char snap[PATH_MAX];

	if (state_snap_path(snap, sizeof(snap), j->state_path, j->oldest))
		return;
	unlink(snap);
	if (link(j->state_path, snap) && errno != ENOENT)
		log_warn("state: cannot keep %s: %s", snap, strerror(errno));
}

/* Every "<state>.<kind>.<N>" with N below keep. */
static void remove_stale_kind(struct cg_journal *j, const char *kind,
			      uint64_t keep)
{
	char dir[PATH_MAX], prefix[PATH_MAX], file[PATH_MAX];
	const char *base = strrchr(j->state_path, '/');
	struct dirent *d;
	DIR *dh;

	base = base ? base + 1 : j->state_path;
	if (snprintf(prefix, sizeof(prefix), "%s.%s.", base, kind) >=
	    (int)sizeof(prefix))
		return;
	dir_of(j->state_path, dir, sizeof(dir));
	dh = opendir(dir);
	if (!dh)
		return;
	while ((d = readdir(dh))) {
		const char *num = d->d_name + strlen(prefix);
		char *end;
		unsigned long long g;

		if (strncmp(d->d_name, prefix, strlen(prefix)) || !*num)
			continue;
		g = strtoull(num, &end, 10);
		if (*end || g >= keep)
			continue;
		if (!path_fmt(file, sizeof(file), "%s/%s", dir, d->d_name))
			unlink(file);
	}
	closedir(dh);
}

/* Generations older than the STATE_KEEP_GENERATIONS before gen: their
 * snapshots and journal files. */
static void remove_stale(struct cg_journal *j, uint64_t gen)
{
	remove_stale_kind(j, "journal", keep_from(gen));
	remove_stale_kind(j, "snap", keep_from(gen));
}

int journal_open(struct cg_journal *j, const char *state_path,
		 const struct cg_journal_pos *pos, struct cg_error *err)
{
	const char *env = getenv("CELLGATE_JOURNAL_MAX_BYTES");
	int ret;

	memset(j, 0, sizeof(*j));
	str_copy(j->state_path, sizeof(j->state_path), state_path);
	/* Compaction's threshold: tests set it low to exercise it. */
	j->max_bytes = env && *env ? strtoull(env, NULL, 10) : 0;
	j->max_fixed = j->max_bytes != 0;
	if (!j->max_bytes)
		j->max_bytes = JOURNAL_MIN_COMPACT;
	j->seq = pos->seq;
	j->oldest = pos->snapshot_gen;
	remove_stale(j, pos->snapshot_gen);
	ret = open_gen(j, pos->gen, pos->len);
	if (ret) {
		cg_error_set(err, 500, "", "cannot open the journal of %s: %s",
			     state_path, strerror(-ret));
		return ret;
	}
	if (pos->torn)
		log_warn("journal: left out a torn last line (%zu bytes, never "
			 "acknowledged)",
			 pos->torn);
	return 0;
}

static void join_compactor(struct cg_journal *j)
{
	if (j->compactor_live) {
		pthread_join(j->compactor, NULL);
		j->compactor_live = false;
	}
}

void journal_close(struct cg_journal *j)
{
	join_compactor(j);
	if (j->open)
		close(j->fd);
	j->open = false;
}

int journal_append(struct cg_journal *j, const struct cg_state *st)
{
	char *line;
	size_t len, i;
	int ret;

	/* No change through state.c (an operation that changed an entity
	 * only in place), or an invite's: saved whole. */
	if (!st->log || !st->log->n)
		return 1;
	for (i = 0; i < st->log->n; i++)
		if (!kinds[st->log->e[i].list])
			return 1;
	line = render_line(st, j->seq + 1);
	if (!line)
		return -ENOMEM;
	len = strlen(line);
	ret = write_all(j->fd, line, len);
	if (!ret && fdatasync(j->fd))
		ret = -errno;
	explicit_bzero(line, len); /* invites carry their secret */
	free(line);
	if (ret) {
		/* Not acknowledged: no part of it may stay before the next
		 * line. */
		if (ftruncate(j->fd, (off_t)j->bytes))
			log_err("journal: cannot cut a failed append: %s",
				strerror(errno));
		return ret;
	}
	j->seq++;
	j->bytes += len;
	j->appends++;
	return 0;
}

/* Write the snapshot of st continuing in gen; then the files before gen
 * are history. */
static int write_snapshot(struct cg_journal *j, const struct cg_state *st,
			  uint64_t gen)
{
	char *s = state_to_string_gen(st, gen);
	size_t len;
	int ret;

	if (!s)
		return -ENOMEM;
	len = strlen(s);
	keep_previous(j);
	ret = write_file_atomic(j->state_path, s, len, 0600);
	free(s);
	if (ret)
		return ret;
	remove_stale(j, gen);
	j->oldest = gen;
	j->snapshot_bytes = len;
	return 0;
}

int journal_snapshot(struct cg_journal *j, const struct cg_state *st)
{
	int ret;

	if (!j->open)
		return -EBADF;
	join_compactor(j);
	ret = open_gen(j, j->gen + 1, 0);
	if (!ret)
		ret = write_snapshot(j, st, j->gen);
	if (!ret)
		j->snapshots++;
	return ret;
}

static void *compact_main(void *arg)
{
	struct cg_journal *j = arg;
	int ret = write_snapshot(j, &j->copy, j->copy_gen);

	state_free(&j->copy);
	if (ret) {
		j->compaction_failures++;
		log_warn("journal: compaction failed (%s); the journal goes on",
			 strerror(-ret));
	} else {
		j->compactions++;
	}
	__atomic_store_n(&j->compacting, 0, __ATOMIC_RELEASE);
	return NULL;
}

void journal_maybe_compact(struct cg_journal *j, const struct cg_state *st)
{
	size_t limit;

	if (!j->open || __atomic_load_n(&j->compacting, __ATOMIC_ACQUIRE))
		return;
	join_compactor(j);
	/* Past the snapshot's own size: compaction's O(N) is paid once
	 * per O(N) bytes of changes, O(1) a change. */
	limit = j->max_fixed || j->max_bytes > j->snapshot_bytes ?
			j->max_bytes :
			j->snapshot_bytes;
	if (j->bytes < limit)
		return;
	/* The copy is a memcpy of the lists: the O(N) serialisation and
	 * the write happen on the thread, off the lock. */
	if (state_copy_lists(&j->copy, st))
		return;
	if (open_gen(j, j->gen + 1, 0)) {
		state_free(&j->copy);
		return;
	}
	j->copy_gen = j->gen;
	__atomic_store_n(&j->compacting, 1, __ATOMIC_RELEASE);
	if (pthread_create(&j->compactor, NULL, compact_main, j)) {
		/* The new generation stays: the next attempt snapshots. */
		__atomic_store_n(&j->compacting, 0, __ATOMIC_RELEASE);
		state_free(&j->copy);
		return;
	}
	j->compactor_live = true;
}
