// SPDX-License-Identifier: MIT
/*
 * Groups' settings (issue 18, item 3): the compile of a peer's effective
 * rate limit (the tighter of its own and its groups', per direction),
 * the group index (members found without a pass over every peer, kept
 * through adds, updates, removals that move the last peer, rollbacks),
 * bad input refused with the field named and nothing changed, the state
 * file and the journal.
 */
#include "policy.h"
#include "state_fixture.h"

static int put_group(const char *name, const char *body)
{
	struct cg_group_def old, put;
	json_object *o = tu_json(body);
	bool existed;
	int ret;

	memset(&err, 0, sizeof(err));
	ret = state_put_group(&st, name, o, &old, &existed, &put, &err);
	json_object_put(o);
	return ret;
}

static void must_put_group(const char *name, const char *body)
{
	ck_assert_msg(put_group(name, body) == 0, "put %s: %d %s: %s", name,
		      err.status, err.field, err.msg);
}

/* The peer's effective limit, down and up, as the compile makes it. */
static void effective(const char *peer, uint32_t *down, uint32_t *up)
{
	struct policy_peer e;
	const struct cg_peer_def *p = state_peer(&st, peer);

	ck_assert_ptr_nonnull(p);
	policy_effective_rate(&st, p, down, up);
	policy_peer_entry(&st, p, &e);
	ck_assert_uint_eq(e.value.rate_limited, *down || *up);
	ck_assert_uint_eq(e.down_ps_per_byte, *down ? 8000000ull / *down : 0);
	ck_assert_uint_eq(e.up_ps_per_byte, *up ? 8000000ull / *up : 0);
}

#define ASSERT_EFFECTIVE(peer, d, u)             \
	do {                                     \
		uint32_t down_, up_;             \
		effective((peer), &down_, &up_); \
		ck_assert_uint_eq(down_, (d));   \
		ck_assert_uint_eq(up_, (u));     \
	} while (0)

START_TEST(test_tighter_wins)
{
	must_add_peer("alice", 1, "10.0.0.2",
		      ", \"groups\": [\"guests\"], \"rate_limit\": "
		      "{\"down_mbit\": 10, \"up_mbit\": 4}");
	must_add_peer("bob", 2, "10.0.0.3", ", \"groups\": [\"guests\"]");
	must_add_peer("carol", 3, "10.0.0.4",
		      ", \"groups\": [\"guests\", \"slow\"]");
	must_add_peer("dave", 4, "10.0.0.5",
		      ", \"rate_limit\": {\"down_mbit\": 30}");
	/* Group absent: the peer's own; none at all: unlimited. */
	ASSERT_EFFECTIVE("alice", 10, 4);
	ASSERT_EFFECTIVE("bob", 0, 0);
	/* Group 0 (a direction not set) leaves the peer's. */
	must_put_group("guests", "{\"rate_limit\": {\"down_mbit\": 5}}");
	ASSERT_EFFECTIVE("alice", 5, 4); /* peer 10 + group 5 -> 5 */
	ASSERT_EFFECTIVE("bob", 5, 0); /* limited by its group only */
	ASSERT_EFFECTIVE("dave", 30, 0); /* not a member */
	must_put_group("guests",
		       "{\"rate_limit\": {\"down_mbit\": 50, \"up_mbit\": 2}}");
	ASSERT_EFFECTIVE("alice", 10, 2); /* per direction */
	/* Two groups: the smallest of all. */
	must_put_group("slow", "{\"rate_limit\": {\"down_mbit\": 3, "
			       "\"up_mbit\": 9}}");
	ASSERT_EFFECTIVE("carol", 3, 2);
	/* Settings cleared: back to the peer's own. */
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(state_delete_group(&st, "guests", NULL, &err), 0);
	ASSERT_EFFECTIVE("alice", 10, 4);
	ASSERT_EFFECTIVE("bob", 0, 0);
	ASSERT_EFFECTIVE("carol", 3, 9);
	/* The peers keep the group's name. */
	ck_assert_uint_eq(state_group_size(&st, "guests"), 3);
	/* Without a state (only the key wanted): the peer's own. */
	{
		uint32_t d, u;

		policy_effective_rate(NULL, state_peer(&st, "carol"), &d, &u);
		ck_assert_uint_eq(d | u, 0);
	}
}
END_TEST

START_TEST(test_group_bad_input)
{
	char *before;

	must_put_group("guests", "{\"rate_limit\": {\"down_mbit\": 5}}");
	before = state_to_string(&st);
	REJECTS(put_group("guests", "{\"rate_limit\": {\"down_mbit\": 0}}"),
		400, "rate_limit.down_mbit");
	REJECTS(put_group("guests", "{\"rate_limit\": {\"down_mbit\": -1}}"),
		400, "rate_limit.down_mbit");
	REJECTS(put_group("guests", "{\"rate_limit\": {\"up_mbit\": 1.5}}"),
		400, "rate_limit.up_mbit");
	REJECTS(put_group("guests", "{\"rate_limit\": {\"up_mbit\": \"9\"}}"),
		400, "rate_limit.up_mbit");
	REJECTS(put_group("guests", "{\"rate_limit\": {\"up_mbit\": 100001}}"),
		400, "rate_limit.up_mbit");
	REJECTS(put_group("guests", "{\"rate_limit\": {\"burst\": 1}}"), 400,
		"rate_limit.burst");
	REJECTS(put_group("guests", "{\"rate_limit\": [5]}"), 400,
		"rate_limit");
	REJECTS(put_group("guests", "{\"members\": []}"), 400, "members");
	REJECTS(put_group("guests", "{\"name\": \"other\"}"), 400, "name");
	REJECTS(put_group("a b", "{}"), 400, "name");
	REJECTS(put_group("new", "{\"rate_limit\": {\"down_mbit\": 0}}"), 400,
		"rate_limit.down_mbit");
	{
		char *after = state_to_string(&st);

		ck_assert_str_eq(before, after);
		free(after);
	}
	free(before);
	ck_assert_uint_eq(state_group(&st, "guests")->down_mbit, 5);
	ck_assert_ptr_null(state_group(&st, "new"));
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(state_delete_group(&st, "nope", NULL, &err), -ENOENT);
	ck_assert_int_eq(err.status, 404);
	/* Positive control: null clears the limit, the record stays. */
	must_put_group("guests", "{\"rate_limit\": null}");
	ck_assert_uint_eq(state_group(&st, "guests")->down_mbit, 0);
}
END_TEST

struct seen {
	char names[16][CG_NAME_MAX + 1];
	size_t n;
};

static int note(const struct cg_peer_def *p, void *ctx)
{
	struct seen *s = ctx;

	ck_assert_uint_lt(s->n, 16);
	str_copy(s->names[s->n++], CG_NAME_MAX + 1, p->name);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The members of group, sorted, joined by ",". */
static const char *members(const char *group, char *buf, size_t size)
{
	struct seen s = { .n = 0 };
	size_t i;

	ck_assert_int_eq(state_group_each(&st, group, note, &s), 0);
	ck_assert_uint_eq(s.n, state_group_size(&st, group));
	qsort(s.names, s.n, sizeof(s.names[0]), cmp_names);
	buf[0] = '\0';
	for (i = 0; i < s.n; i++)
		snprintf(buf + strlen(buf), size - strlen(buf), "%s%s",
			 i ? "," : "", s.names[i]);
	return buf;
}

START_TEST(test_group_index)
{
	char buf[256];
	const char **names;
	ssize_t n;

	must_add_peer("a", 1, "10.0.0.2", ", \"groups\": [\"g1\", \"g2\"]");
	must_add_peer("b", 2, "10.0.0.3", ", \"groups\": [\"g1\"]");
	must_add_peer("c", 3, "10.0.0.4", ", \"groups\": [\"g2\"]");
	must_add_peer("d", 4, "10.0.0.5", ", \"groups\": [\"g1\", \"g3\"]");
	ck_assert_str_eq(members("g1", buf, sizeof(buf)), "a,b,d");
	ck_assert_str_eq(members("g2", buf, sizeof(buf)), "a,c");
	ck_assert_str_eq(members("g3", buf, sizeof(buf)), "d");
	ck_assert_str_eq(members("none", buf, sizeof(buf)), "");
	/* Deleting a moves the last peer (d) into its place. */
	ck_assert_int_eq(del_peer("a", NULL), 0);
	ck_assert_str_eq(members("g1", buf, sizeof(buf)), "b,d");
	ck_assert_str_eq(members("g2", buf, sizeof(buf)), "c");
	ck_assert_str_eq(members("g3", buf, sizeof(buf)), "d");
	/* An update moves a peer between groups. */
	ck_assert_int_eq(update_peer("b", "{\"groups\": [\"g3\"]}", NULL, NULL),
			 0);
	ck_assert_str_eq(members("g1", buf, sizeof(buf)), "d");
	ck_assert_str_eq(members("g3", buf, sizeof(buf)), "b,d");
	/* A rollback puts the index back with the list. */
	ck_assert_int_eq(state_begin(&st), 0);
	ck_assert_int_eq(del_peer("d", NULL), 0);
	ck_assert_int_eq(update_peer("c", "{\"groups\": []}", NULL, NULL), 0);
	must_add_peer("e", 5, "10.0.0.6", ", \"groups\": [\"g2\"]");
	ck_assert_str_eq(members("g3", buf, sizeof(buf)), "b");
	state_rollback(&st);
	ck_assert_str_eq(members("g1", buf, sizeof(buf)), "d");
	ck_assert_str_eq(members("g2", buf, sizeof(buf)), "c");
	ck_assert_str_eq(members("g3", buf, sizeof(buf)), "b,d");
	/* Every group named: peers', rules' and settings', once each. */
	must_put_group("settings-only", "{}");
	{
		struct cg_rule_def old, put;
		json_object *o = tu_json("{\"from\": \"group:g1\", \"to\": "
					 "\"group:rule-only\", \"ports\": "
					 "[\"any\"]}");
		bool existed;

		ck_assert_int_eq(
			state_put_rule(&st, "r", o, &old, &existed, &put, &err),
			0);
		json_object_put(o);
	}
	n = state_group_names(&st, &names);
	ck_assert_int_eq(n, 5);
	ck_assert_str_eq(names[0], "g1");
	ck_assert_str_eq(names[1], "g2");
	ck_assert_str_eq(names[2], "g3");
	ck_assert_str_eq(names[3], "rule-only");
	ck_assert_str_eq(names[4], "settings-only");
	ck_assert_uint_eq(state_group_size(&st, "rule-only"), 0);
	free(names);
}
END_TEST

/* Past the index's first allocations (16 slots, 16 peers' nodes): 16
 * peers in 8 groups each, 8 shared by all and 8 of their own; half of
 * them deleted (each deletion moves the last peer). */
START_TEST(test_group_index_grows)
{
	char name[16], extra[256], addr[16];
	unsigned int i, k;

	for (i = 0; i < 16; i++) {
		int n = snprintf(extra, sizeof(extra), ", \"groups\": [");

		for (k = 0; k < 8; k++)
			n += snprintf(extra + n, sizeof(extra) - (size_t)n,
				      "%s\"%s%u\"", k ? ", " : "",
				      k < 4 ? "all" : "own",
				      k < 4 ? k : i * 8 + k);
		snprintf(extra + n, sizeof(extra) - (size_t)n, "]");
		snprintf(name, sizeof(name), "p%u", i);
		snprintf(addr, sizeof(addr), "10.0.0.%u", i + 2);
		must_add_peer(name, i + 1, addr, extra);
	}
	ck_assert_uint_eq(state_group_size(&st, "all0"), 16);
	ck_assert_uint_eq(state_group_size(&st, "own124"), 1);
	for (i = 0; i < 16; i += 2) {
		snprintf(name, sizeof(name), "p%u", i);
		ck_assert_int_eq(del_peer(name, NULL), 0);
	}
	for (k = 0; k < 4; k++) {
		snprintf(name, sizeof(name), "all%u", k);
		ck_assert_uint_eq(state_group_size(&st, name), 8);
	}
	for (i = 0; i < 16; i++)
		for (k = 4; k < 8; k++) {
			snprintf(name, sizeof(name), "own%u", i * 8 + k);
			ck_assert_uint_eq(state_group_size(&st, name), i % 2);
		}
}
END_TEST

/* Settings are found by name through their own index, also after a
 * removal moves the last record into the hole. */
START_TEST(test_group_settings_lookup)
{
	char name[16];
	unsigned int i;

	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "g%u", i);
		must_put_group(name, "{\"rate_limit\": {\"up_mbit\": 7}}");
	}
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(state_delete_group(&st, "g3", NULL, &err), 0);
	ck_assert_int_eq(state_delete_group(&st, "g0", NULL, &err), 0);
	ck_assert_uint_eq(st.n_groups, 38);
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "g%u", i);
		if (i == 0 || i == 3)
			ck_assert_ptr_null(state_group(&st, name));
		else
			ck_assert_str_eq(state_group(&st, name)->name, name);
	}
}
END_TEST

/* The state file keeps them (and leaves "groups" out when there are
 * none, as older versions wrote it). */
START_TEST(test_group_state_file)
{
	char *dir = tu_mkdtemp(), path[PATH_MAX], *a, *b;
	struct cg_state loaded;

	snprintf(path, sizeof(path), "%s/state.json", dir);
	a = state_to_string(&st);
	ck_assert_ptr_null(strstr(a, "\"groups\""));
	free(a);
	must_put_group("guests", "{\"rate_limit\": {\"down_mbit\": 5, "
				 "\"up_mbit\": 2}}");
	ck_assert_int_eq(state_save(&st, path), 0);
	state_init(&loaded, &cfg);
	ck_assert_int_eq(state_load(&loaded, path, &err), 0);
	ck_assert_uint_eq(state_group(&loaded, "guests")->down_mbit, 5);
	a = state_to_string(&st);
	b = state_to_string(&loaded);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	state_free(&loaded);
	tu_rmtree(dir);
}
END_TEST

/* One journal line per change; a restart replays add, replace and
 * remove. */
START_TEST(test_group_journal)
{
	char *dir = tu_mkdtemp(), path[PATH_MAX], *a, *b;
	struct cg_journal_pos pos;
	struct cg_journal j;
	struct cg_state loaded;

	snprintf(path, sizeof(path), "%s/state.json", dir);
	ck_assert_int_eq(state_load_journaled(&st, path, &pos, &err), 0);
	ck_assert_int_eq(journal_open(&j, path, &pos, &err), 0);
#define OP(change)                                            \
	do {                                                  \
		ck_assert_int_eq(state_begin(&st), 0);        \
		ck_assert_int_eq((change), 0);                \
		ck_assert_int_eq(journal_append(&j, &st), 0); \
		state_commit(&st);                            \
	} while (0)
	OP(put_group("guests", "{\"rate_limit\": {\"down_mbit\": 5}}"));
	OP(put_group("staff", "{\"rate_limit\": {\"up_mbit\": 50}}"));
	OP(put_group("guests", "{\"rate_limit\": {\"down_mbit\": 8}}"));
	OP(state_delete_group(&st, "staff", NULL, &err));
#undef OP
	journal_close(&j);
	state_init(&loaded, &cfg);
	ck_assert_msg(state_load(&loaded, path, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(loaded.n_groups, 1);
	ck_assert_uint_eq(state_group(&loaded, "guests")->down_mbit, 8);
	a = state_to_string(&st);
	b = state_to_string(&loaded);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	state_free(&loaded);
	tu_rmtree(dir);
}
END_TEST

static Suite *groups_suite(void)
{
	Suite *s = suite_create("groups");
	TCase *t = tcase_create("groups");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_tighter_wins);
	tcase_add_test(t, test_group_bad_input);
	tcase_add_test(t, test_group_index);
	tcase_add_test(t, test_group_index_grows);
	tcase_add_test(t, test_group_settings_lookup);
	tcase_add_test(t, test_group_state_file);
	tcase_add_test(t, test_group_journal);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return tu_run(groups_suite());
}
