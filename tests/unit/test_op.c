// SPDX-License-Identifier: MIT
/*
 * The daemon's operation skeletons (ctl/daemon/op.c) without a dataplane:
 * a change that fails, a persist that fails and an apply that fails each
 * leave memory, disk and the revert hook as op.h promises; a lookup finds
 * or answers 404 naming the field.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller.h"
#include "op.h"
#include "state_internal.h"
#include "testutil.h"

#define SVC                                                               \
	"{\"endpoints\": [{\"ip\": \"172.20.0.21\", \"proto\": \"tcp\", " \
	"\"port\": 80}]}"

static struct controller c; /* large: off the stack */
static char *dir;

/* What the fake steps saw. */
static struct {
	int change, revert, apply, view;
	int change_ret, apply_ret;
} calls;

static void setup(void)
{
	memset(&c, 0, sizeof(c));
	memset(&calls, 0, sizeof(calls));
	tu_config(&c.cfg, TU_EXAMPLE_CONFIG);
	state_init(&c.state, &c.cfg);
	pthread_mutex_init(&c.lock, NULL);
	dir = tu_mkdtemp();
	snprintf(c.state_path, sizeof(c.state_path), "%s/state.json", dir);
}

static void teardown(void)
{
	state_free(&c.state);
	pthread_mutex_destroy(&c.lock);
	tu_rmtree(dir);
}

/* Put the service "web", then fail if the test says so. */
static int fake_change(struct controller *ctl, void *arg, struct cg_error *err)
{
	json_object *body = tu_json(SVC);
	int ret = state_put_service(&ctl->state, "web", body, err);

	(void)arg;
	json_object_put(body);
	calls.change++;
	ck_assert_int_eq(ret, 0);
	if (calls.change_ret)
		cg_error_set(err, 409, "name", "refused by the test");
	return calls.change_ret;
}

static void fake_revert(struct controller *ctl, void *arg)
{
	(void)arg;
	/* The state is already the old one when revert runs. */
	ck_assert_ptr_null(state_service(&ctl->state, "web"));
	calls.revert++;
}

static int fake_apply(struct controller *ctl, void *arg, struct cg_error *err)
{
	(void)ctl;
	(void)arg;
	calls.apply++;
	return calls.apply_ret ?
		       ctl_apply_failed(calls.apply_ret, err, "the test") :
		       0;
}

static json_object *fake_view(struct controller *ctl, void *arg)
{
	(void)ctl;
	(void)arg;
	calls.view++;
	return json_object_new_object();
}

static const struct ctl_op op = { fake_change, fake_revert, fake_apply,
				  fake_view };

static bool saved(void)
{
	return access(c.state_path, F_OK) == 0;
}

START_TEST(test_run_commits_applies_views)
{
	struct cg_error err = { 0 };
	json_object *out = NULL;

	ck_assert_int_eq(ctl_run(&c, &op, NULL, &out, &err), 0);
	ck_assert_ptr_nonnull(state_service(&c.state, "web"));
	ck_assert(saved());
	ck_assert_uint_eq(c.stats.state_writes, 1);
	ck_assert_int_eq(calls.apply, 1);
	ck_assert_int_eq(calls.view, 1);
	ck_assert_int_eq(calls.revert, 0);
	ck_assert_ptr_nonnull(out);
	json_object_put(out);
}
END_TEST

START_TEST(test_failed_change_puts_state_back)
{
	struct cg_error err = { 0 };
	json_object *out = NULL;

	calls.change_ret = -EEXIST;
	ck_assert_int_eq(ctl_run(&c, &op, NULL, &out, &err), -EEXIST);
	tu_assert_err(&err, 409, "name");
	ck_assert_ptr_null(state_service(&c.state, "web"));
	ck_assert(!saved());
	ck_assert_uint_eq(c.stats.state_writes, 0);
	ck_assert_int_eq(calls.revert, 1);
	ck_assert_int_eq(calls.apply, 0);
	ck_assert_int_eq(calls.view, 0);
	ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_failed_persist_puts_state_back)
{
	struct cg_error err = { 0 };
	json_object *out = NULL;

	/* A directory that does not exist: the save fails. */
	snprintf(c.state_path, sizeof(c.state_path), "%s/gone/state.json", dir);
	ck_assert_int_ne(ctl_run(&c, &op, NULL, &out, &err), 0);
	tu_assert_err(&err, 500, "");
	ck_assert_ptr_null(state_service(&c.state, "web"));
	ck_assert_uint_eq(c.stats.state_writes, 0);
	ck_assert_int_eq(calls.change, 1);
	ck_assert_int_eq(calls.revert, 1);
	ck_assert_int_eq(calls.apply, 0);
	ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_failed_apply_keeps_saved_change)
{
	struct cg_error err = { 0 };
	json_object *out = NULL;

	calls.apply_ret = -EIO;
	ck_assert_int_eq(ctl_run(&c, &op, NULL, &out, &err), -EIO);
	tu_assert_err(&err, 500, "");
	ck_assert_msg(strstr(err.msg, "saved, but the test failed"), "%s",
		      err.msg);
	ck_assert_ptr_nonnull(state_service(&c.state, "web"));
	ck_assert(saved());
	ck_assert_int_eq(calls.revert, 0);
	ck_assert_int_eq(calls.view, 0);
	ck_assert_ptr_null(out);
}
END_TEST

static const void *find_svc(const struct cg_state *st, const char *name)
{
	return state_service(st, name);
}

static int view_svc(struct controller *ctl, const void *found, void *out,
		    struct cg_error *err)
{
	(void)ctl;
	(void)err;
	*(const void **)out = found;
	return 0;
}

static const struct ctl_lookup lookup = { "service", "name", find_svc,
					  view_svc };

START_TEST(test_look_up_finds_or_404)
{
	struct cg_error err = { 0 };
	const void *found = NULL;

	ck_assert_int_eq(ctl_look_up(&c, &lookup, "web", &found, &err),
			 -ENOENT);
	tu_assert_err(&err, 404, "name");
	ck_assert_str_eq(err.msg, "no service 'web'");
	ck_assert_ptr_null(found);
	ck_assert_int_eq(ctl_run(&c, &op, NULL, NULL, &err), 0);
	ck_assert_int_eq(ctl_look_up(&c, &lookup, "web", &found, &err), 0);
	ck_assert_ptr_eq(found, state_service(&c.state, "web"));
}
END_TEST

/* wireguard-go takes 65,536 peers (device.MaxPeers): the next POST is a
 * 409 naming the limit before anything changes, not a failure halfway. */
START_TEST(test_wireguard_go_peer_limit)
{
	json_object *body = tu_json("{\"name\": \"one-more\"}");
	json_object *bad = tu_json("{\"name\": \"bad name\"}");
	struct cg_error err = { 0 };
	struct cg_peer_def p = { 0 };
	json_object *out = NULL;
	uint32_t i;

	c.cfg.limits.max_peers = 70000;
	c.wg_backend = WG_BACKEND_UAPI;
	for (i = 0; i < 65536; i++) {
		snprintf(p.name, sizeof(p.name), "p%u", i);
		memcpy(p.public_key, &i, sizeof(i));
		p.public_key[31] = 1;
		p.ip.s_addr = htonl(0x0b000000u + i);
		p.id = i + 1;
		ck_assert_ptr_nonnull(state_add(&c.state, ST_PEERS, &p, &err));
	}
	ck_assert_int_eq(ctl_add_peer(&c, body, &out, &err), -ENOSPC);
	tu_assert_err(&err, 409, "name");
	ck_assert_msg(strstr(err.msg, "65536") &&
			      strstr(err.msg, "device.MaxPeers"),
		      "%s", err.msg);
	ck_assert_uint_eq(c.state.n_peers, 65536);
	ck_assert_ptr_null(state_peer(&c.state, "one-more"));
	ck_assert(!saved());
	ck_assert_ptr_null(out);
	/* Positive control: with one peer fewer, a POST gets past the
	 * limit (to its own validation). */
	state_remove(&c.state, ST_PEERS, state_peer(&c.state, "p7"));
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(ctl_add_peer(&c, bad, &out, &err), -EINVAL);
	tu_assert_err(&err, 400, "name");
	json_object_put(body);
	json_object_put(bad);
}
END_TEST

/* With the journal open (as the controller runs): a change is one line,
 * the snapshot is not rewritten; a failed change or a failed append
 * leaves memory and disk as they were. */
static void journal_setup(void)
{
	struct cg_journal_pos pos;
	struct cg_error err = { 0 };

	setup();
	ck_assert_int_eq(
		state_load_journaled(&c.state, c.state_path, &pos, &err), 0);
	ck_assert_int_eq(ctl_journal_start(&c, &pos), 0);
}

static void journal_teardown(void)
{
	ctl_journal_stop(&c);
	teardown();
}

static size_t journal_size(void)
{
	char path[PATH_MAX + 16];
	struct stat sb;

	snprintf(path, sizeof(path), "%s.journal.%llu", c.state_path,
		 (unsigned long long)c.journal.gen);
	return stat(path, &sb) ? 0 : (size_t)sb.st_size;
}

START_TEST(test_journal_run_appends_one_line)
{
	struct cg_error err = { 0 };
	struct stat before, after;
	struct cg_state loaded;

	/* A new cell's snapshot is written at once. */
	ck_assert_int_eq(stat(c.state_path, &before), 0);
	ck_assert_uint_eq(journal_size(), 0);
	ck_assert_int_eq(ctl_run(&c, &op, NULL, NULL, &err), 0);
	ck_assert_uint_gt(journal_size(), 0);
	ck_assert_uint_eq(c.journal.appends, 1);
	ck_assert_int_eq(stat(c.state_path, &after), 0);
	ck_assert_int_eq(before.st_ino, after.st_ino); /* not rewritten */
	state_init(&loaded, &c.cfg);
	ck_assert_int_eq(state_load(&loaded, c.state_path, &err), 0);
	ck_assert_ptr_nonnull(state_service(&loaded, "web"));
	state_free(&loaded);
}
END_TEST

START_TEST(test_journal_failed_change_appends_nothing)
{
	struct cg_error err = { 0 };

	calls.change_ret = -EEXIST;
	ck_assert_int_eq(ctl_run(&c, &op, NULL, NULL, &err), -EEXIST);
	ck_assert_uint_eq(journal_size(), 0);
	ck_assert_ptr_null(state_service(&c.state, "web"));
}
END_TEST

START_TEST(test_journal_failed_append_puts_state_back)
{
	struct cg_error err = { 0 };
	int good = c.journal.fd;

	/* An append that fails (a descriptor that cannot be written). */
	c.journal.fd = open("/dev/null", O_RDONLY);
	ck_assert_int_ne(ctl_run(&c, &op, NULL, NULL, &err), 0);
	tu_assert_err(&err, 500, "");
	ck_assert_ptr_null(state_service(&c.state, "web"));
	ck_assert_int_eq(calls.revert, 1);
	ck_assert_int_eq(calls.apply, 0);
	close(c.journal.fd);
	c.journal.fd = good;
	/* Positive control: the same change with a working journal. */
	ck_assert_int_eq(ctl_run(&c, &op, NULL, NULL, &err), 0);
	ck_assert_ptr_nonnull(state_service(&c.state, "web"));
}
END_TEST

static Suite *op_suite(void)
{
	Suite *s = suite_create("op");
	TCase *run = tcase_create("run");
	TCase *look = tcase_create("look_up");
	TCase *jr = tcase_create("journal");

	tcase_add_checked_fixture(run, setup, teardown);
	tcase_add_checked_fixture(look, setup, teardown);
	tcase_add_test(run, test_run_commits_applies_views);
	tcase_add_test(run, test_failed_change_puts_state_back);
	tcase_add_test(run, test_failed_persist_puts_state_back);
	tcase_add_test(run, test_failed_apply_keeps_saved_change);
	tcase_add_test(run, test_wireguard_go_peer_limit);
	tcase_add_test(look, test_look_up_finds_or_404);
	suite_add_tcase(s, run);
	tcase_add_checked_fixture(jr, journal_setup, journal_teardown);
	tcase_add_test(jr, test_journal_run_appends_one_line);
	tcase_add_test(jr, test_journal_failed_change_appends_nothing);
	tcase_add_test(jr, test_journal_failed_append_puts_state_back);
	suite_add_tcase(s, jr);
	suite_add_tcase(s, look);
	return s;
}

int main(void)
{
	return tu_run(op_suite());
}
