// SPDX-License-Identifier: MIT
/*
 * O(1) changes (issue 16): the hash index and bitset (ctl/common/
 * hashidx.c), the state's indexes kept through adds, replaces and
 * removes, the per-operation undo log, and the journal: replay after
 * the snapshot, a torn last line left out, a corrupt middle line refused,
 * compaction by generations.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hashidx.h"
#include "state.h"
#include "testutil.h"

static struct cg_config cfg;
static char *dir;
static char path[PATH_MAX];

static void setup(void)
{
	json_object *root = tu_json(TU_EXAMPLE_CONFIG), *wg;

	/* A /16 and room for a few thousand peers. */
	json_object_object_get_ex(root, "wireguard", &wg);
	json_object_object_add(wg, "address",
			       json_object_new_string("10.0.0.1/16"));
	json_object_object_add(root, "limits",
			       tu_json("{\"max_peers\": 70000}"));
	tu_config(&cfg, json_object_to_json_string(root));
	json_object_put(root);
	dir = tu_mkdtemp();
	snprintf(path, sizeof(path), "%s/state.json", dir);
}

static void teardown(void)
{
	tu_rmtree(dir);
}

/* ---- hashidx and bitset ---------------------------------------------- */

static uint32_t vals[4096];

static bool val_eq(const void *ctx, uint32_t pos, const void *key)
{
	(void)ctx;
	return vals[pos] == *(const uint32_t *)key;
}

/* A weak hash on purpose: long runs exercise the backward shift. */
static uint32_t weak(uint32_t v)
{
	return v % 37;
}

START_TEST(test_hashidx_against_array)
{
	struct hashidx h = { 0 };
	uint32_t n = 0, i, k, rnd = 12345;

	for (k = 0; k < 20000; k++) {
		rnd = rnd * 1103515245 + 12345;
		if (n < 4096 && (rnd >> 16) % 3) {
			/* Append a new value (unique: k). */
			vals[n] = k;
			ck_assert_int_eq(hashidx_insert(&h, weak(k), n), 0);
			n++;
		} else if (n) {
			/* Remove a random one, moving the last into it. */
			i = (rnd >> 8) % n;
			ck_assert(hashidx_remove(&h, weak(vals[i]), i));
			if (i != n - 1) {
				ck_assert(hashidx_move(&h, weak(vals[n - 1]),
						       n - 1, i));
				vals[i] = vals[n - 1];
			}
			n--;
		}
	}
	ck_assert_uint_eq(h.n, n);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(
			hashidx_find(&h, weak(vals[i]), val_eq, NULL, &vals[i]),
			i);
	k = 999999;
	ck_assert_int_eq(hashidx_find(&h, weak(k), val_eq, NULL, &k), -1);
	hashidx_free(&h);
}
END_TEST

START_TEST(test_bitset_first_clear)
{
	struct bitset b;
	uint32_t i;

	ck_assert_int_eq(bitset_init(&b, 10000), 0);
	ck_assert_int_eq(bitset_first_clear(&b), 0);
	for (i = 0; i < 9000; i++)
		bitset_set(&b, i);
	ck_assert_int_eq(bitset_first_clear(&b), 9000);
	bitset_clear(&b, 4097);
	ck_assert_int_eq(bitset_first_clear(&b), 4097);
	bitset_set(&b, 4097);
	for (i = 9000; i < 10000; i++)
		bitset_set(&b, i);
	/* Full: the bits past the end are never returned. */
	ck_assert_int_eq(bitset_first_clear(&b), -1);
	bitset_clear(&b, 9999);
	ck_assert_int_eq(bitset_first_clear(&b), 9999);
	bitset_free(&b);
}
END_TEST

/* ---- the state's indexes and undo -------------------------------------- */

static int add_peer(struct cg_state *st, unsigned int seed, const char *ip)
{
	char body[256], key[WG_KEY_B64_LEN + 1];
	struct cg_error err = { 0 };
	json_object *o;
	int ret;

	tu_key_b64(seed, key);
	if (ip)
		snprintf(body, sizeof(body),
			 "{\"name\": \"p%u\", \"public_key\": \"%s\", "
			 "\"ip\": \"%s\"}",
			 seed, key, ip);
	else
		snprintf(body, sizeof(body),
			 "{\"name\": \"p%u\", \"public_key\": \"%s\"}", seed,
			 key);
	o = tu_json(body);
	ret = state_add_peer(st, o, NULL, NULL, &err);
	json_object_put(o);
	return ret;
}

static int put_peer(struct cg_state *st, unsigned int seed, const char *body)
{
	struct cg_error err = { 0 };
	char name[16];
	json_object *o = tu_json(body);
	int ret;

	snprintf(name, sizeof(name), "p%u", seed);
	ret = state_update_peer(st, name, o, NULL, NULL, &err);
	json_object_put(o);
	return ret;
}

static int del_peer(struct cg_state *st, unsigned int seed)
{
	struct cg_error err = { 0 };
	char name[16];

	snprintf(name, sizeof(name), "p%u", seed);
	return state_delete_peer(st, name, NULL, &err);
}

/* Every peer is found by its name, and new ones see its key and address
 * taken (the indexes agree with the list). */
static void assert_indexed(struct cg_state *st)
{
	size_t i;

	for (i = 0; i < st->n_peers; i++)
		ck_assert_ptr_eq(state_peer(st, st->peers[i].name),
				 &st->peers[i]);
}

START_TEST(test_index_lowest_free_and_conflicts)
{
	struct cg_state st;
	struct cg_error err = { 0 };
	unsigned int i;

	state_init(&st, &cfg);
	for (i = 1; i <= 300; i++)
		ck_assert_int_eq(add_peer(&st, i, NULL), 0);
	/* .1 is the router's: the first peer has .2, ids from 1. */
	ck_assert_str_eq(inet_ntoa(state_peer(&st, "p1")->ip), "10.0.0.2");
	ck_assert_uint_eq(state_peer(&st, "p300")->id, 300);
	ck_assert_int_eq(del_peer(&st, 7), 0);
	ck_assert_int_eq(del_peer(&st, 100), 0);
	assert_indexed(&st);
	/* The lowest freed address and id come back first. */
	ck_assert_int_eq(add_peer(&st, 1000, NULL), 0);
	ck_assert_str_eq(inet_ntoa(state_peer(&st, "p1000")->ip), "10.0.0.8");
	ck_assert_uint_eq(state_peer(&st, "p1000")->id, 7);
	/* Conflicts by name, key and address, through the indexes. */
	ck_assert_int_eq(add_peer(&st, 5, NULL), -EEXIST);
	ck_assert_int_eq(add_peer(&st, 2000, "10.0.0.3"), -EEXIST);
	ck_assert_int_eq(put_peer(&st, 5, "{\"ip\": \"10.0.0.3\"}"), -EEXIST);
	ck_assert_int_eq(put_peer(&st, 5, "{\"ip\": \"10.0.0.6\"}"), 0);
	ck_assert_int_eq(put_peer(&st, 5, "{\"ip\": \"10.0.9.9\"}"), 0);
	/* Its old address is free again. */
	ck_assert_int_eq(add_peer(&st, 2001, "10.0.0.6"), 0);
	ck_assert_int_eq(state_delete_peer(&st, "nope", NULL, &err), -ENOENT);
	tu_assert_err(&err, 404, "name");
	assert_indexed(&st);
	state_free(&st);
}
END_TEST

START_TEST(test_rollback_puts_back_state_and_indexes)
{
	struct cg_state st;
	char *before, *after;
	unsigned int i;

	state_init(&st, &cfg);
	for (i = 1; i <= 50; i++)
		ck_assert_int_eq(add_peer(&st, i, NULL), 0);
	before = state_to_string(&st);
	ck_assert_int_eq(state_begin(&st), 0);
	/* Removals move the last peer; adds, replaces, more removals. */
	ck_assert_int_eq(del_peer(&st, 3), 0);
	ck_assert_int_eq(add_peer(&st, 500, NULL), 0);
	ck_assert_int_eq(put_peer(&st, 10, "{\"internet_access\": true}"), 0);
	ck_assert_int_eq(del_peer(&st, 500), 0);
	ck_assert_int_eq(del_peer(&st, 50), 0);
	ck_assert_int_eq(del_peer(&st, 1), 0);
	for (i = 600; i < 640; i++) /* past the log's first 32 entries */
		ck_assert_int_eq(add_peer(&st, i, NULL), 0);
	state_rollback(&st);
	after = state_to_string(&st);
	ck_assert_str_eq(before, after); /* same peers, same order */
	assert_indexed(&st);
	/* The removed peers' keys and addresses are taken again. */
	ck_assert_int_eq(add_peer(&st, 3, NULL), -EEXIST);
	ck_assert_int_eq(add_peer(&st, 700, "10.0.0.4"), -EEXIST);
	ck_assert_int_eq(add_peer(&st, 701, NULL), 0);
	ck_assert_str_eq(inet_ntoa(state_peer(&st, "p701")->ip), "10.0.0.52");
	free(before);
	free(after);
	state_free(&st);
}
END_TEST

/* ---- the journal ------------------------------------------------------- */

/* One operation: begin, change, append, commit (as op.c does). */
#define OP(j, st, change)                                       \
	do {                                                    \
		ck_assert_int_eq(state_begin(st), 0);           \
		ck_assert_int_eq((change), 0);                  \
		ck_assert_int_eq(journal_append((j), (st)), 0); \
		state_commit(st);                               \
	} while (0)

/* The state as a restart loads it equals st. */
static void assert_reloads(const struct cg_state *st)
{
	struct cg_state loaded;
	struct cg_error err = { 0 };
	char *a, *b;

	state_init(&loaded, &cfg);
	ck_assert_msg(state_load(&loaded, path, &err) == 0, "%s", err.msg);
	a = state_to_string(st);
	b = state_to_string(&loaded);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	state_free(&loaded);
}

static void open_journal(struct cg_journal *j, struct cg_state *st)
{
	struct cg_journal_pos pos;
	struct cg_error err = { 0 };

	state_init(st, &cfg);
	ck_assert_msg(state_load_journaled(st, path, &pos, &err) == 0, "%s",
		      err.msg);
	ck_assert_int_eq(journal_open(j, path, &pos, &err), 0);
}

static int put_service(struct cg_state *st, const char *name)
{
	struct cg_error err = { 0 };
	json_object *o = tu_json("{\"endpoints\": [{\"ip\": \"172.20.0.21\", "
				 "\"proto\": \"tcp\", \"port\": 80}]}");
	int ret = state_put_service(st, name, o, &err);

	json_object_put(o);
	return ret;
}

START_TEST(test_journal_replays_after_snapshot)
{
	struct cg_journal j;
	struct cg_state st;
	struct stat sb;
	unsigned int i;

	open_journal(&j, &st);
	OP(&j, &st, put_service(&st, "web"));
	for (i = 1; i <= 20; i++)
		OP(&j, &st, add_peer(&st, i, NULL));
	OP(&j, &st,
	   put_peer(&st, 4,
		    "{\"service_access\": [\"web\"], "
		    "\"peer_to_peer\": true}"));
	OP(&j, &st, del_peer(&st, 2));
	OP(&j, &st, del_peer(&st, 20));
	/* No snapshot was written: the journal alone holds them. */
	ck_assert_int_ne(stat(path, &sb), 0);
	assert_reloads(&st);
	/* A snapshot starts generation 1; the journal goes on after it
	 * (generation 0's file is kept: a previous generation). */
	ck_assert_int_eq(journal_snapshot(&j, &st), 0);
	ck_assert_int_eq(tu_count_entries(dir, "state.json.journal."), 2);
	OP(&j, &st, del_peer(&st, 7));
	OP(&j, &st, add_peer(&st, 99, NULL));
	assert_reloads(&st);
	journal_close(&j);
	state_free(&st);
}
END_TEST

static int put_rule(struct cg_state *st, const char *name, const char *body)
{
	struct cg_error err = { 0 };
	struct cg_rule_def old, put;
	json_object *o = tu_json(body);
	bool existed;
	int ret = state_put_rule(st, name, o, &old, &existed, &put, &err);

	json_object_put(o);
	return ret;
}

/* Rules (issue 18) and peers' groups are journaled: one line each, and
 * a restart replays add, replace and remove. */
START_TEST(test_journal_rules)
{
	struct cg_journal j;
	struct cg_state st;
	struct cg_error err = { 0 };

	open_journal(&j, &st);
	OP(&j, &st, add_peer(&st, 1, NULL));
	OP(&j, &st, put_peer(&st, 1, "{\"groups\": [\"b\", \"a\"]}"));
	OP(&j, &st,
	   put_rule(&st, "r1",
		    "{\"from\": \"group:a\", \"to\": \"group:c\", "
		    "\"ports\": [\"tcp/22\", \"tcp/8000-8100\"]}"));
	OP(&j, &st,
	   put_rule(&st, "r2",
		    "{\"from\": \"group:c\", \"to\": \"group:a\", "
		    "\"ports\": [\"icmp\"]}"));
	OP(&j, &st,
	   put_rule(&st, "r1",
		    "{\"from\": \"group:a\", \"to\": \"group:d\", "
		    "\"ports\": [\"any\"]}"));
	assert_reloads(&st);
	OP(&j, &st, state_delete_rule(&st, "r2", NULL, &err));
	assert_reloads(&st);
	ck_assert_uint_eq(st.n_rules, 1);
	journal_close(&j);
	state_free(&st);
}
END_TEST

static int link_to(struct cg_state *st, const char *name, unsigned int seed,
		   const char *subnet)
{
	char key[WG_KEY_B64_LEN + 1], buf[512];
	struct cg_error err = { 0 };
	struct cg_cell_info info;
	uint8_t link_key[LINK_KEY_LEN];
	json_object *o;

	tu_key_b64(seed, key);
	snprintf(buf, sizeof(buf),
		 "{\"cell_name\": \"%s\", \"public_key\": \"%s\", "
		 "\"endpoint\": \"198.51.100.%u:51820\", \"vpn_subnet\": "
		 "\"%s\", \"domain\": \"%s.cell\", \"version\": 1}",
		 name, key, seed, subnet, name);
	o = tu_json(buf);
	ck_assert(cell_info_parse(o, &info, NULL, &err));
	json_object_put(o);
	memset(link_key, (int)seed, sizeof(link_key));
	return state_link_cell(st, &info, link_key, NULL, &err);
}

static int share(struct cg_state *st, const char *name, const char *body)
{
	struct cg_error err = { 0 };
	json_object *o = tu_json(body);
	int ret = state_set_cell_inbound(st, name, o, NULL, &err);

	json_object_put(o);
	return ret;
}

/* Linked cells are journaled too: link, permissions, a change in place
 * after the logged one (pending_push), unlink. */
START_TEST(test_journal_cells)
{
	struct cg_journal j;
	struct cg_state st;

	open_journal(&j, &st);
	OP(&j, &st, put_service(&st, "web"));
	OP(&j, &st, add_peer(&st, 1, NULL));
	OP(&j, &st, link_to(&st, "office", 200, "10.9.0.0/24"));
	OP(&j, &st, link_to(&st, "lab", 201, "10.9.1.0/24"));
	ck_assert_int_eq(state_begin(&st), 0);
	ck_assert_int_eq(share(&st, "office", "{\"inbound\": {\"web\": true}}"),
			 0);
	state_cell(&st, "office")->pending_push = true; /* in place, after */
	ck_assert_int_eq(journal_append(&j, &st), 0);
	state_commit(&st);
	assert_reloads(&st);
	OP(&j, &st,
	   state_unlink_cell(&st, "office", NULL, &(struct cg_error){ 0 }));
	/* A peer takes the freed identity id only after the cell left. */
	OP(&j, &st, add_peer(&st, 2, NULL));
	assert_reloads(&st);
	journal_close(&j);
	state_free(&st);
}
END_TEST

START_TEST(test_journal_torn_tail_left_out)
{
	struct cg_journal j;
	struct cg_state st, again;
	char file[PATH_MAX + 16];
	const char torn[] = "{\"seq\":3,\"changes\":[{\"op\":\"remove\",\"ki";
	struct cg_journal_pos pos;
	struct cg_error err = { 0 };
	int fd;

	open_journal(&j, &st);
	OP(&j, &st, add_peer(&st, 1, NULL));
	OP(&j, &st, add_peer(&st, 2, NULL));
	journal_close(&j);
	/* A crash in the middle of the third line's write. */
	snprintf(file, sizeof(file), "%s.journal.0", path);
	fd = open(file, O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, torn, sizeof(torn) - 1), sizeof(torn) - 1);
	close(fd);
	assert_reloads(&st);
	/* Open cuts it: the next line starts clean and replays. */
	state_init(&again, &cfg);
	ck_assert_int_eq(state_load_journaled(&again, path, &pos, &err), 0);
	ck_assert_uint_eq(pos.torn, sizeof(torn) - 1);
	ck_assert_uint_eq(pos.lines, 2);
	ck_assert_int_eq(journal_open(&j, path, &pos, &err), 0);
	OP(&j, &again, del_peer(&again, 1));
	ck_assert_int_eq(del_peer(&st, 1), 0);
	assert_reloads(&st);
	journal_close(&j);
	state_free(&again);
	state_free(&st);
}
END_TEST

START_TEST(test_journal_corrupt_line_refused)
{
	struct cg_journal j;
	struct cg_state st, loaded;
	char file[PATH_MAX + 16];
	struct cg_error err = { 0 };

	open_journal(&j, &st);
	OP(&j, &st, add_peer(&st, 1, NULL));
	OP(&j, &st, add_peer(&st, 2, NULL));
	journal_close(&j);
	/* A line that cannot apply, followed by a whole one: not a torn
	 * tail but a corrupt journal, refused like a corrupt state file. */
	snprintf(file, sizeof(file), "%s.journal.0", path);
	tu_write(
		file,
		"{\"seq\":1,\"changes\":[{\"op\":\"remove\",\"kind\":"
		"\"peer\",\"name\":\"ghost\"}]}\n{\"seq\":2,\"changes\":[]}\n");
	state_init(&loaded, &cfg);
	ck_assert_int_eq(state_load(&loaded, path, &err), -EINVAL);
	ck_assert_msg(strstr(err.msg, "state.json.journal.0 line 1: no peer "
				      "'ghost'"),
		      "%s", err.msg);
	ck_assert_uint_eq(loaded.n_peers, 0); /* nothing half-loaded */
	state_free(&loaded);
	state_free(&st);
}
END_TEST

START_TEST(test_journal_compaction_by_generation)
{
	struct cg_journal j;
	struct cg_state st;
	unsigned int i;
	char *text;
	size_t len;

	setenv("CELLGATE_JOURNAL_MAX_BYTES", "2000", 1);
	open_journal(&j, &st);
	for (i = 1; i <= 60; i++) {
		OP(&j, &st, add_peer(&st, i, NULL));
		journal_maybe_compact(&j, &st);
	}
	journal_close(&j); /* waits for the last compaction */
	unsetenv("CELLGATE_JOURNAL_MAX_BYTES");
	ck_assert_uint_ge(j.compactions, 3);
	ck_assert_uint_eq(j.compaction_failures, 0);
	/* The snapshot names its generation; older files are gone. */
	text = read_file(path, 1 << 24, &len);
	ck_assert_ptr_nonnull(strstr(text, "\"journal\":"));
	free(text);
	/* Older files are gone but for the kept generations. */
	ck_assert_int_le(tu_count_entries(dir, "state.json.journal."),
			 2 + STATE_KEEP_GENERATIONS);
	ck_assert_int_le(tu_count_entries(dir, "state.json.snap."),
			 STATE_KEEP_GENERATIONS);
	ck_assert_int_ge(tu_count_entries(dir, "state.json.snap."), 1);
	assert_reloads(&st);
	state_free(&st);
}
END_TEST

/* A corrupt snapshot: the previous one and the journal after it give the
 * same state back; a garbled journal line keeps the lines before it. */
START_TEST(test_journal_fallback)
{
	struct cg_journal j;
	struct cg_journal_pos pos;
	struct state_recovery rec;
	struct cg_error err = { 0 };
	struct cg_state st, back;
	char *a, *b, jpath[PATH_MAX + 32];
	unsigned int i;

	setenv("CELLGATE_JOURNAL_MAX_BYTES", "2000", 1);
	open_journal(&j, &st);
	for (i = 1; i <= 40; i++) {
		OP(&j, &st, add_peer(&st, i, NULL));
		journal_maybe_compact(&j, &st);
	}
	/* One line in the newest journal, whenever the last compaction
	 * began (the 40th can have opened an empty generation). */
	OP(&j, &st, add_peer(&st, 41, NULL));
	journal_close(&j);
	unsetenv("CELLGATE_JOURNAL_MAX_BYTES");
	ck_assert_int_eq(write_file_atomic(path, "{\"version\":", 12, 0600), 0);
	state_init(&back, &cfg);
	ck_assert_msg(state_load_recover(&back, path, &pos, &rec, &err) == 0,
		      "%s", err.msg);
	ck_assert(rec.fell_back);
	ck_assert_uint_eq(rec.n_refused, 1);
	ck_assert_ptr_nonnull(strstr(rec.refused[0], "state.json: "));
	ck_assert_ptr_nonnull(strstr(rec.started_from, "state.json.snap."));
	a = state_to_string(&st);
	b = state_to_string(&back);
	ck_assert_str_eq(a, b); /* nothing journaled lost */
	free(a);
	free(b);
	ck_assert_int_eq(tu_count_entries(dir, "state.json.refused"), 1);
	state_free(&back);

	/* Refused and set aside: the next load is on the same snapshot;
	 * now garble the last journal file's first line. */
	snprintf(jpath, sizeof(jpath), "%s.journal.%llu", path,
		 (unsigned long long)pos.gen);
	ck_assert_int_eq(write_file_atomic(jpath, "{\"seq\":x}\n", 10, 0600),
			 0);
	state_init(&back, &cfg);
	ck_assert_msg(state_load_recover(&back, path, &pos, &rec, &err) == 0,
		      "%s", err.msg);
	ck_assert(rec.fell_back);
	ck_assert_ptr_nonnull(strstr(rec.lost, "line 1"));
	ck_assert_uint_lt(back.n_peers, 41);
	ck_assert_int_ne(access(jpath, F_OK), 0); /* set aside */
	state_free(&back);
	state_free(&st);
}
END_TEST

static Suite *journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *t = tcase_create("all");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_hashidx_against_array);
	tcase_add_test(t, test_bitset_first_clear);
	tcase_add_test(t, test_index_lowest_free_and_conflicts);
	tcase_add_test(t, test_rollback_puts_back_state_and_indexes);
	tcase_add_test(t, test_journal_replays_after_snapshot);
	tcase_add_test(t, test_journal_cells);
	tcase_add_test(t, test_journal_rules);
	tcase_add_test(t, test_journal_torn_tail_left_out);
	tcase_add_test(t, test_journal_corrupt_line_refused);
	tcase_add_test(t, test_journal_compaction_by_generation);
	tcase_add_test(t, test_journal_fallback);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return tu_run(journal_suite());
}
