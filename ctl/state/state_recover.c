// SPDX-License-Identifier: MIT
/*
 * Falling back to an older generation of the state when the newest does
 * not validate (issue 21, item 6). A corrupt state.json used to keep the
 * cell down until a person repaired it; the journal keeps the previous
 * STATE_KEEP_GENERATIONS snapshots (state.json.snap.<G>, hard links
 * made as each new snapshot replaced them) and the journal files from
 * the oldest of them on, so:
 *
 * - a refused snapshot: the previous one, and the journal files from its
 *   generation on, which hold every change since: usually nothing lost;
 * - a journal line that does not apply (garbled, truncated in the
 *   middle): the lines before it, none after it (they may depend on it).
 *
 * What was refused is renamed "<file>.refused" for a person to look at,
 * and the caller writes a fresh snapshot at once, so the next start
 * does not meet the same corruption.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "state_internal.h"

/* Generations of the kept snapshots, newest first: at most cap. */
static size_t kept_snapshots(const char *path, uint64_t *gens, size_t cap)
{
	char dir[PATH_MAX], prefix[PATH_MAX];
	const char *base = strrchr(path, '/');
	struct dirent *d;
	size_t n = 0, i, k;
	DIR *dh;

	base = base ? base + 1 : path;
	snprintf(prefix, sizeof(prefix), "%s.snap.", base);
	dir_of(path, dir, sizeof(dir));
	dh = opendir(dir);
	if (!dh)
		return 0;
	while ((d = readdir(dh))) {
		const char *num = d->d_name + strlen(prefix);
		char *end;
		uint64_t g;

		if (strncmp(d->d_name, prefix, strlen(prefix)) || !*num)
			continue;
		g = strtoull(num, &end, 10);
		if (*end)
			continue;
		/* Insertion into the sorted (descending) array. */
		for (i = 0; i < n && gens[i] > g; i++)
			;
		if (i >= cap)
			continue;
		for (k = n < cap ? n : cap - 1; k > i; k--)
			gens[k] = gens[k - 1];
		gens[i] = g;
		if (n < cap)
			n++;
	}
	closedir(dh);
	return n;
}

static int64_t mtime_of(const char *file)
{
	struct stat sb;

	return stat(file, &sb) ? 0 : (int64_t)sb.st_mtime;
}

static void set_aside(const char *file)
{
	char to[PATH_MAX];

	if (access(file, F_OK))
		return; /* missing: nothing to keep */
	if (path_fmt(to, sizeof(to), "%s.refused", file) || rename(file, to))
		log_warn("state: cannot rename %s aside: %s", file,
			 strerror(errno));
}

/* The journal files from generation gen on, renamed aside. */
static void set_aside_journal(const char *path, uint64_t gen)
{
	char file[PATH_MAX];

	for (;; gen++) {
		if (path_fmt(file, sizeof(file), "%s.journal.%llu", path,
			     (unsigned long long)gen) ||
		    access(file, F_OK))
			return;
		set_aside(file);
	}
}

static const char *base_of(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

static void state_reset(struct cg_state *st)
{
	const struct cg_config *cfg = st->cfg;

	state_free(st);
	state_init(st, cfg);
}

/* The journal after the snapshot snap refused at a line: the state again,
 * up to the line before (a line applies whole or not at all, and that
 * one may have applied in part); the refused file and those after it set
 * aside. */
static int replay_before(struct cg_state *st, const char *path,
			 const char *snap, struct cg_journal_pos *p,
			 struct state_recovery *rec,
			 const struct cg_error *jerr, struct cg_error *err)
{
	size_t good = p->lines;
	uint64_t bad_gen = p->gen;
	char file[PATH_MAX];
	int ret;

	snprintf(rec->lost, sizeof(rec->lost),
		 "journal %.300s: it and the lines after it left out",
		 jerr->msg);
	if (!path_fmt(file, sizeof(file), "%s.journal.%llu", path,
		      (unsigned long long)bad_gen))
		rec->lost_after = mtime_of(file);
	state_reset(st);
	memset(p, 0, sizeof(*p));
	ret = state_load_snapshot(st, snap, &p->snapshot_gen, err);
	p->gen = p->snapshot_gen;
	if (!ret && good) {
		p->max_lines = good;
		ret = state_journal_replay(st, path, p, err);
		p->max_lines = 0;
	}
	if (!ret)
		set_aside_journal(path, bad_gen);
	return ret;
}

/* One candidate snapshot and the journal after it: 0 (a journal line
 * refused is noted in rec, the state holds the lines before it), or
 * the snapshot's error. */
static int try_generation(struct cg_state *st, const char *path,
			  const char *snap, struct cg_journal_pos *pos,
			  struct state_recovery *rec, struct cg_error *err)
{
	struct cg_journal_pos p = { 0 };
	struct cg_error jerr = { 0 };
	int ret = state_load_snapshot(st, snap, &p.snapshot_gen, err);

	if (ret)
		return ret;
	ret = state_journal_replay(st, path, &p, &jerr);
	if (ret)
		ret = replay_before(st, path, snap, &p, rec, &jerr, err);
	if (!ret)
		*pos = p;
	return ret;
}

/* Started from an older snapshot: its journal brings back every
 * journaled change; what only snapshots held (invites, push outcomes)
 * after it may be lost. */
static void note_fallback(struct state_recovery *rec, const char *snap)
{
	if (rec->lost[0])
		return;
	snprintf(rec->lost, sizeof(rec->lost),
		 "journaled changes replayed from %.64s on; invites and push "
		 "outcomes saved after it are lost",
		 base_of(snap));
	rec->lost_after = mtime_of(snap);
}

int state_load_recover(struct cg_state *st, const char *path,
		       struct cg_journal_pos *pos, struct state_recovery *rec,
		       struct cg_error *err)
{
	uint64_t gens[STATE_KEEP_GENERATIONS + 1];
	char cands[STATE_KEEP_GENERATIONS + 2][PATH_MAX];
	struct cg_error e = { 0 };
	size_t n, i, k;

	memset(rec, 0, sizeof(*rec));
	n = kept_snapshots(path, gens, STATE_KEEP_GENERATIONS + 1);
	str_copy(cands[0], sizeof(cands[0]), path);
	for (i = 0; i < n; i++)
		if (state_snap_path(cands[i + 1], sizeof(cands[0]), path,
				    gens[i]))
			cands[i + 1][0] = '\0';
	for (i = 0; i <= n; i++) {
		if (!cands[i][0])
			continue;
		if (i == 0 && n > 0 && access(path, F_OK)) {
			/* Gone with older ones kept (a crash after it was
			 * set aside): not a new cell. */
			cg_error_set(&e, 500, "", "missing, %zu older kept", n);
		} else if (!try_generation(st, path, cands[i], pos, rec, &e)) {
			rec->generation = pos->snapshot_gen;
			str_copy(rec->started_from, sizeof(rec->started_from),
				 base_of(cands[i]));
			if (i > 0)
				note_fallback(rec, cands[i]);
			rec->fell_back = i > 0 || rec->lost[0];
			/* Only now that one validated: nothing changes
			 * when none does. */
			for (k = 0; k < i; k++)
				if (cands[k][0])
					set_aside(cands[k]);
			return 0;
		}
		if (i == 0)
			*err = e; /* the newest's error, if nothing validates */
		if (rec->n_refused <= STATE_KEEP_GENERATIONS)
			snprintf(rec->refused[rec->n_refused++],
				 sizeof(rec->refused[0]),
				 "%.48s: %.200s%s%.48s", base_of(cands[i]),
				 e.msg, e.field[0] ? " at " : "", e.field);
		state_reset(st);
		memset(rec->lost, 0, sizeof(rec->lost));
		memset(&e, 0, sizeof(e));
	}
	return -EINVAL;
}
