// SPDX-License-Identifier: MIT
/* Unit tests for port forwards in copies and the state file
 * (ctl/state/state_forward.c, state_file.c), and their API routes. */
#include "forward_fixture.h"

/* ---- copies and the state file -------------------------------------------- */

START_TEST(test_copy)
{
	struct cg_state copy;
	char *a, *b;

	must_add("a", "tcp", 2222, "10.0.0.2",
		 ", \"allow_from\": [\"198.51.100.0/24\"]");
	must_add("b", "udp", 5353, "172.20.0.53", ", \"snat\": \"never\"");
	ck_assert_int_eq(state_copy(&copy, &st), 0);
	a = state_to_string(&st);
	b = state_to_string(&copy);
	ck_assert_str_eq(a, b);
	free(b);
	/* Deep: the copy changes alone. */
	ck_assert_int_eq(state_delete_forward(&copy, "a", NULL, &err), 0);
	ck_assert_uint_eq(copy.n_forwards, 1);
	ck_assert_uint_eq(st.n_forwards, 2);
	b = state_to_string(&st);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	state_free(&copy);
	/* A state without forwards copies too (as a rollback point). */
	state_free(&st);
	state_init(&st, &cfg);
	ck_assert_int_eq(state_copy(&copy, &st), 0);
	ck_assert_uint_eq(copy.n_forwards, 0);
	ck_assert_ptr_nonnull(copy.forwards);
	state_free(&copy);
	ck_assert_ptr_null(copy.forwards);
	ck_assert_uint_eq(copy.cap_forwards, 0);
}
END_TEST

static char *state_path(const char *dir)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/state.json", dir);
	return path;
}

static void assert_forward_eq(const struct cg_forward_def *a,
			      const struct cg_forward_def *b)
{
	unsigned int i;

	ck_assert_str_eq(a->id, b->id);
	ck_assert_uint_eq(a->slot, b->slot);
	ck_assert_uint_eq(a->proto, b->proto);
	ck_assert_uint_eq(a->public_port, b->public_port);
	ck_assert_uint_eq(a->target_ip.s_addr, b->target_ip.s_addr);
	ck_assert_uint_eq(a->target_port, b->target_port);
	ck_assert_int_eq(a->snat, b->snat);
	ck_assert_uint_eq(a->n_allow_from, b->n_allow_from);
	for (i = 0; i < a->n_allow_from; i++) {
		ck_assert_uint_eq(a->allow_from[i].addr.s_addr,
				  b->allow_from[i].addr.s_addr);
		ck_assert_uint_eq(a->allow_from[i].prefix,
				  b->allow_from[i].prefix);
	}
}

START_TEST(test_roundtrip)
{
	char *dir = tu_mkdtemp();
	char *path = state_path(dir);
	struct cg_state loaded;
	char *a, *b, *file1, *file2;
	size_t i;

	must_add("a", "tcp", 2222, "10.0.0.2", NULL);
	must_add("b", "udp", 5353, "172.20.0.53",
		 ", \"allow_from\": [\"198.51.100.0/24\", \"0.0.0.0/0\"], "
		 "\"snat\": \"never\"");
	must_add("c", "tcp", 443, "10.0.0.3", ", \"snat\": \"always\"");
	must_add("d", "tcp", 8443, "192.168.50.9", NULL);
	ck_assert_int_eq(del("a", NULL), 0); /* a gap at slot 0 */
	ck_assert_int_eq(state_save(&st, path), 0);
	file1 = read_file(path, 1 << 20, NULL);
	ck_assert_ptr_nonnull(file1);
	ck_assert_ptr_nonnull(strstr(file1, "\"forwards\""));
	ck_assert_ptr_nonnull(strstr(file1, "\"slot\":3"));
	state_init(&loaded, &cfg);
	ck_assert_msg(state_load(&loaded, path, &err) == 0, "%s: %s", err.field,
		      err.msg);
	a = state_to_string(&st);
	b = state_to_string(&loaded);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	ck_assert_uint_eq(loaded.n_forwards, 3);
	for (i = 0; i < st.n_forwards; i++)
		assert_forward_eq(&loaded.forwards[i], &st.forwards[i]);
	ck_assert_uint_eq(state_forward(&loaded, "b")->slot, 1);
	ck_assert_uint_eq(state_forward(&loaded, "c")->slot, 2);
	ck_assert_uint_eq(state_forward(&loaded, "d")->slot, 3);
	/* Saving what was loaded writes the same bytes. */
	ck_assert_int_eq(state_save(&loaded, path), 0);
	file2 = read_file(path, 1 << 20, NULL);
	ck_assert_ptr_nonnull(file2);
	ck_assert_str_eq(file1, file2);
	free(file1);
	free(file2);
	/* Slots continue from the loaded state: the gap first. */
	state_free(&st);
	st = loaded;
	ck_assert_uint_eq(must_add("e", "tcp", 1, "10.0.0.2", NULL), 0);
	ck_assert_uint_eq(must_add("f", "tcp", 2, "10.0.0.2", NULL), 4);
	tu_rmtree(dir);
}
END_TEST

/* A state file from before forwards existed has none. */
START_TEST(test_load_without_forwards)
{
	char *dir = tu_mkdtemp();
	char *text;

	tu_write(state_path(dir),
		 "{\"version\": 1, \"services\": [], \"peers\": []}");
	ck_assert_int_eq(state_load(&st, state_path(dir), &err), 0);
	ck_assert_uint_eq(st.n_forwards, 0);
	/* Saved again, it has them (empty). */
	text = state_to_string(&st);
	ck_assert_ptr_nonnull(strstr(text, "\"forwards\""));
	free(text);
	/* null is absent too, as everywhere in the state file. */
	tu_write(state_path(dir), "{\"version\": 1, \"services\": [], "
				  "\"peers\": [], \"forwards\": null}");
	ck_assert_int_eq(state_load(&st, state_path(dir), &err), 0);
	ck_assert_uint_eq(st.n_forwards, 0);
	tu_rmtree(dir);
}
END_TEST

/* The file must fail to load naming field (with "forwards[i]: " in the
 * message when given), and leave the state empty. */
static void load_fails(const char *dir, const char *forwards, const char *field,
		       const char *msg_start)
{
	char text[4096];
	struct cg_state fresh;

	snprintf(text, sizeof(text),
		 "{\"version\": 1, \"services\": [], \"peers\": [], "
		 "\"forwards\": %s}",
		 forwards);
	tu_write(state_path(dir), text);
	state_init(&fresh, &cfg);
	memset(&err, 0, sizeof(err));
	ck_assert_msg(state_load(&fresh, state_path(dir), &err) < 0,
		      "loaded: %s", forwards);
	ck_assert_msg(!strcmp(err.field, field), "%s: field %s, want %s",
		      forwards, err.field, field);
	ck_assert_msg(!msg_start ||
			      !strncmp(err.msg, msg_start, strlen(msg_start)),
		      "%s: message '%s'", forwards, err.msg);
	ck_assert_uint_eq(fresh.n_forwards, 0);
	ck_assert_ptr_null(fresh.forwards);
	state_free(&fresh);
}

#define FWD(id, slot, port, rest)                                        \
	"{\"id\": \"" id "\", \"slot\": " #slot ", \"proto\": \"tcp\", " \
	"\"public_port\": " #port ", \"target_ip\": \"10.0.0.2\", "      \
	"\"target_port\": 22, \"allow_from\": [], \"snat\": \"auto\"" rest "}"

START_TEST(test_load_corrupt)
{
	char *dir = tu_mkdtemp();
	char text[1024];

	/* The fixture's pieces load. */
	snprintf(text, sizeof(text),
		 "{\"version\": 1, \"services\": [], \"peers\": [], "
		 "\"forwards\": [%s, %s]}",
		 FWD("a", 0, 1, ""), FWD("b", 5, 2, ""));
	tu_write(state_path(dir), text);
	ck_assert_msg(state_load(&st, state_path(dir), &err) == 0, "%s: %s",
		      err.field, err.msg);
	ck_assert_uint_eq(state_forward(&st, "b")->slot, 5);

	load_fails(dir, "{}", "forwards", NULL);
	load_fails(dir, "[7]", "forwards", "forwards[0]: ");
	load_fails(dir, "[" FWD("a", 0, 1, "") ", " FWD("b", 0, 2, "") "]",
		   "slot", "forwards[1]: ");
	load_fails(dir, "[" FWD("a", 1024, 1, "") "]", "slot", "forwards[0]: ");
	load_fails(dir, "[" FWD("a", -1, 1, "") "]", "slot", NULL);
	load_fails(dir,
		   "[{\"id\": \"a\", \"proto\": \"tcp\", \"public_port\": 1, "
		   "\"target_ip\": \"10.0.0.2\", \"target_port\": 22}]",
		   "slot", NULL);
	load_fails(dir, "[" FWD("a", 0, 1, "") ", " FWD("a", 1, 2, "") "]",
		   "id", "forwards[1]: ");
	load_fails(dir, "[" FWD("a", 0, 1, "") ", " FWD("b", 1, 1, "") "]",
		   "public_port", NULL);
	load_fails(dir, "[" FWD("a b", 0, 1, "") "]", "id", NULL);
	load_fails(dir, "[" FWD("a", 0, 0, "") "]", "public_port", NULL);
	load_fails(dir, "[" FWD("a", 0, 1, ", \"bogus\": 1") "]", "bogus",
		   NULL);
	load_fails(dir,
		   "[{\"id\": \"a\", \"slot\": 0, \"proto\": \"udp\", "
		   "\"public_port\": 51820, \"target_ip\": \"10.0.0.2\", "
		   "\"target_port\": 1}]",
		   "public_port", NULL);
	load_fails(dir,
		   "[{\"id\": \"a\", \"slot\": 0, \"proto\": \"tcp\", "
		   "\"public_port\": 1, \"target_ip\": \"224.0.0.1\", "
		   "\"target_port\": 1}]",
		   "target_ip", NULL);
	load_fails(dir,
		   "[{\"id\": \"a\", \"slot\": 0, \"proto\": \"tcp\", "
		   "\"public_port\": 1, \"target_ip\": \"172.20.0.9\", "
		   "\"target_port\": 1, \"snat\": \"always\"}]",
		   "snat", NULL);
	load_fails(dir,
		   "[{\"id\": \"a\", \"slot\": 0, \"proto\": \"tcp\", "
		   "\"public_port\": 1, \"target_ip\": \"10.0.0.2\", "
		   "\"target_port\": 1, \"allow_from\": [\"10.0.0.1/8\"]}]",
		   "allow_from[0]", NULL);
	/* A failed load empties a state that had forwards. */
	ck_assert_uint_eq(st.n_forwards, 2);
	tu_write(state_path(dir), "{\"version\": 1, \"services\": [], "
				  "\"peers\": [], \"forwards\": [7]}");
	ck_assert_int_lt(state_load(&st, state_path(dir), &err), 0);
	ck_assert_uint_eq(st.n_forwards, 0);
	ck_assert_ptr_null(st.forwards);
	tu_rmtree(dir);
}
END_TEST

/* The cell's networks may change between runs (and the bridge's is read
 * after the state at start): a saved forward whose target left them still
 * loads, and state_forward_reachable says so. */
START_TEST(test_load_unreachable_target)
{
	char *dir = tu_mkdtemp();

	must_add("br", "tcp", 1, "172.20.0.21", NULL);
	must_add("lan", "tcp", 2, "192.168.50.7", NULL);
	must_add("wg", "tcp", 3, "10.0.0.2", NULL);
	ck_assert_int_eq(state_save(&st, state_path(dir)), 0);
	state_free(&st);
	cfg.bridge.has_subnet = false;
	cfg.n_local_networks = 0;
	state_init(&st, &cfg);
	ck_assert_msg(state_load(&st, state_path(dir), &err) == 0, "%s: %s",
		      err.field, err.msg);
	ck_assert_uint_eq(st.n_forwards, 3);
	ck_assert(!state_forward_reachable(&cfg, state_forward(&st, "br")));
	ck_assert(!state_forward_reachable(&cfg, state_forward(&st, "lan")));
	ck_assert(state_forward_reachable(&cfg, state_forward(&st, "wg")));
	/* New ones are checked as ever. */
	REJECTS(add("br2", "tcp", 4, "172.20.0.22", NULL), 400, "target_ip");
	tu_rmtree(dir);
}
END_TEST

/* ---- routes ------------------------------------------------------------------ */

START_TEST(test_routes)
{
	const struct api_route *r;
	char param[CG_NAME_MAX + 2];
	bool known;

	r = api_match("GET", "/api/forwards", param, sizeof(param), &known);
	ck_assert_ptr_nonnull(r);
	ck_assert(!r->public && !r->has_body);
	r = api_match("POST", "/api/forwards", param, sizeof(param), &known);
	ck_assert_ptr_nonnull(r);
	ck_assert(!r->public && r->has_body);
	r = api_match("GET", "/api/forwards/vm-1", param, sizeof(param),
		      &known);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(param, "vm-1");
	r = api_match("DELETE", "/api/forwards/vm-1", param, sizeof(param),
		      &known);
	ck_assert_ptr_nonnull(r);
	ck_assert(!r->has_body);
	/* No PUT: a forward is replaced by deleting and adding it. */
	ck_assert_ptr_null(api_match("PUT", "/api/forwards/vm-1", param,
				     sizeof(param), &known));
	ck_assert(known);
	ck_assert_ptr_null(api_match("DELETE", "/api/forwards", param,
				     sizeof(param), &known));
	ck_assert(known);
	ck_assert_ptr_null(api_match("GET", "/api/forwards/a/b", param,
				     sizeof(param), &known));
	ck_assert(!known);
}
END_TEST

static Suite *forward_suite(void)
{
	Suite *s = suite_create("forward_file");
	TCase *add_tc = tcase_create("add");
	TCase *file = tcase_create("file");

	tcase_add_checked_fixture(add_tc, setup, teardown);
	tcase_add_checked_fixture(file, setup, teardown);
	tcase_set_timeout(add_tc, 30);
	tcase_set_timeout(file, 30);
	tcase_add_test(add_tc, test_routes);
	tcase_add_test(file, test_copy);
	tcase_add_test(file, test_roundtrip);
	tcase_add_test(file, test_load_without_forwards);
	tcase_add_test(file, test_load_corrupt);
	tcase_add_test(file, test_load_unreachable_target);
	suite_add_tcase(s, add_tc);
	suite_add_tcase(s, file);
	return s;
}

int main(void)
{
	return tu_run(forward_suite());
}
