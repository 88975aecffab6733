// SPDX-License-Identifier: MIT
/* Unit tests for ctl/state/state_file.c: state.json saved and loaded,
 * corrupt files refused, saved atomically with its mode. */
#include "state_fixture.h"

/* ---- the state file ------------------------------------------------------ */

/* A state with gaps in both id spaces and every kind of field. */
static void rich_state(void)
{
	three_services();
	must_put_svc("web", "{\"endpoints\": [{\"ip\": \"172.20.0.80\", "
			    "\"proto\": \"tcp\", \"port\": 0}, {\"ip\": "
			    "\"172.20.0.80\", \"proto\": \"icmp\"}], \"dnat\": "
			    "[{\"proto\": \"tcp\", \"port\": 80, \"to_ip\": "
			    "\"172.20.0.80\", \"to_port\": 8080}, {\"proto\": "
			    "\"udp\", \"port\": 53, \"to_ip\": \"172.20.0.53\","
			    " \"to_port\": 53}]}");
	ck_assert_int_eq(del_svc("files"), 0);
	must_add_peer("alice", 1, "10.0.0.2",
		      ", \"service_access\": [\"web\", \"calendar\"], "
		      "\"internet_access\": true");
	must_add_peer("bob", 2, "10.0.0.3", ", \"peer_to_peer\": true");
	must_add_peer("carol", 3, "10.0.0.200",
		      ", \"service_access\": [\"mail\"], \"internet_access\": "
		      "true, \"peer_to_peer\": true");
	ck_assert_int_eq(del_peer("bob", NULL), 0);
	must_add_peer("dave", 4, "10.0.0.77", NULL);
	must_add_peer("erin", 5, "10.0.0.78", NULL);
}

static char *state_path(const char *dir)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/state.json", dir);
	return path;
}

START_TEST(test_save_load_roundtrip)
{
	char *dir = tu_mkdtemp();
	char *path = state_path(dir);
	struct cg_state loaded;
	char *a, *b, *file1, *file2;

	rich_state();
	ck_assert_int_eq(state_save(&st, path), 0);
	state_init(&loaded, &cfg);
	memset(&err, 0, sizeof(err));
	ck_assert_msg(state_load(&loaded, path, &err) == 0, "%s: %s", err.field,
		      err.msg);
	a = state_to_string(&st);
	b = state_to_string(&loaded);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	/* Ids survive, with their gaps. */
	ck_assert_uint_eq(loaded.n_services, 3);
	ck_assert_uint_eq(state_service(&loaded, "calendar")->id, 0);
	ck_assert_uint_eq(state_service(&loaded, "mail")->id, 2);
	ck_assert_uint_eq(state_service(&loaded, "web")->id, 3);
	ck_assert_ptr_null(state_service(&loaded, "files"));
	ck_assert_uint_eq(loaded.n_peers, 4);
	ck_assert_uint_eq(state_peer(&loaded, "alice")->id, 1);
	ck_assert_uint_eq(state_peer(&loaded, "dave")->id, 2);
	ck_assert_uint_eq(state_peer(&loaded, "carol")->id, 3);
	ck_assert_uint_eq(state_peer(&loaded, "erin")->id, 4);
	assert_peer_eq(state_peer(&loaded, "carol"), state_peer(&st, "carol"));
	assert_peer_eq(state_peer(&loaded, "alice"), state_peer(&st, "alice"));
	assert_service_eq(state_service(&loaded, "web"),
			  state_service(&st, "web"));
	assert_service_eq(state_service(&loaded, "calendar"),
			  state_service(&st, "calendar"));
	/* Saving what was loaded writes the same bytes. */
	file1 = read_file(path, 1 << 20, NULL);
	ck_assert_ptr_nonnull(file1);
	ck_assert_int_eq(state_save(&loaded, path), 0);
	file2 = read_file(path, 1 << 20, NULL);
	ck_assert_ptr_nonnull(file2);
	ck_assert_str_eq(file1, file2);
	free(file1);
	free(file2);
	/* The next ids continue from the loaded state. */
	state_free(&st);
	st = loaded;
	ck_assert_uint_eq(must_add_peer("frank", 6, "10.0.0.79", NULL), 5);
	must_put_svc("files", FILES);
	ck_assert_uint_eq(state_service(&st, "files")->id, 1);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_load_missing_and_empty)
{
	char *dir = tu_mkdtemp();
	char *path = state_path(dir);

	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(state_load(&st, path, &err), 0);
	ck_assert_uint_eq(st.n_services, 0);
	ck_assert_uint_eq(st.n_peers, 0);
	ck_assert_int_eq(err.status, 0);
	/* An empty state saves and loads. */
	ck_assert_int_eq(state_save(&st, path), 0);
	ck_assert_int_eq(state_load(&st, path, &err), 0);
	ck_assert_uint_eq(st.n_services + st.n_peers, 0);
	/* A directory where the file should be is an error. */
	memset(&err, 0, sizeof(err));
	ck_assert_int_lt(state_load(&st, dir, &err), 0);
	ck_assert(err.msg[0]);
	tu_rmtree(dir);
}
END_TEST

/*
 * Each corrupt file must fail to load with a message (naming field when
 * given), and leave the state empty.
 */
static void load_fails(const char *dir, const char *text, const char *field)
{
	char *path = state_path(dir);
	struct cg_state fresh;

	tu_write(path, text);
	state_init(&fresh, &cfg);
	memset(&err, 0, sizeof(err));
	ck_assert_msg(state_load(&fresh, path, &err) < 0, "loaded: %s", text);
	ck_assert_msg(err.msg[0], "no message for %s", text);
	ck_assert_int_ne(err.status, 0);
	if (field)
		ck_assert_str_eq(err.field, field);
	ck_assert_uint_eq(fresh.n_services, 0);
	ck_assert_uint_eq(fresh.n_peers, 0);
	ck_assert_ptr_null(fresh.services);
	ck_assert_ptr_null(fresh.peers);
	state_free(&fresh);
}

/* A good state file with old replaced by new (once, must be present). */
static char *edit(const char *good, const char *old, const char *new)
{
	const char *at = strstr(good, old);
	char *out;

	ck_assert_msg(at != NULL, "fixture lacks %s", old);
	ck_assert_ptr_nonnull(out = malloc(strlen(good) + strlen(new) + 1));
	memcpy(out, good, (size_t)(at - good));
	strcpy(out + (at - good), new);
	strcat(out, at + strlen(old));
	return out;
}

START_TEST(test_load_corrupt)
{
	char *dir = tu_mkdtemp();
	char key1[WG_KEY_B64_LEN + 1], key2[WG_KEY_B64_LEN + 1];
	char good[2048], *bad;
	const char *peer1, *peer2;

	must_put_svc("calendar", CALENDAR);
	tu_key_b64(1, key1);
	tu_key_b64(2, key2);
	peer1 = "{\"name\": \"alice\", \"id\": 1, \"public_key\": \"K1\", "
		"\"ip\": \"10.0.0.2\", \"service_access\": [\"calendar\"], "
		"\"internet_access\": true, \"peer_to_peer\": false}";
	peer2 = "{\"name\": \"bob\", \"id\": 2, \"public_key\": \"K2\", "
		"\"ip\": \"10.0.0.3\"}";
	snprintf(good, sizeof(good),
		 "{\"version\": 1, \"services\": [{\"name\": \"calendar\", "
		 "\"id\": 0, \"endpoints\": [{\"ip\": \"172.20.0.21\", "
		 "\"proto\": \"tcp\", \"port\": 80}], \"dnat\": []}], "
		 "\"peers\": [%s, %s]}",
		 peer1, peer2);
	bad = edit(good, "K1", key1);
	strcpy(good, bad);
	free(bad);
	bad = edit(good, "K2", key2);
	strcpy(good, bad);
	free(bad);
	/* The fixture itself loads. */
	tu_write(state_path(dir), good);
	state_free(&st);
	state_init(&st, &cfg);
	ck_assert_msg(state_load(&st, state_path(dir), &err) == 0, "%s: %s",
		      err.field, err.msg);
	ck_assert_uint_eq(st.n_peers, 2);
	ck_assert_uint_eq(state_peer(&st, "bob")->id, 2);

	/* Truncated, at several places. */
	{
		char cut[sizeof(good)];
		size_t len = strlen(good), at;

		for (at = 1; at < len; at += len / 7) {
			snprintf(cut, sizeof(cut), "%.*s", (int)at, good);
			load_fails(dir, cut, "");
		}
		snprintf(cut, sizeof(cut), "%.*s", (int)len - 1, good);
		load_fails(dir, cut, "");
	}
	load_fails(dir, "", "");
	load_fails(dir, "[]", "");
	/* Version. */
#define BAD(old, new, field)                 \
	do {                                 \
		bad = edit(good, old, new);  \
		load_fails(dir, bad, field); \
		free(bad);                   \
	} while (0)
	BAD("\"version\": 1", "\"version\": 2", "version");
	BAD("\"version\": 1", "\"version\": \"1\"", "version");
	BAD("\"version\": 1, ", "", "version");
	BAD("\"version\": 1", "\"version\": 1, \"bogus\": 1", "bogus");
	BAD("\"services\": [", "\"services\": 1, \"x\": [", "x");
	BAD("\"services\": [{\"name\": \"calendar\", \"id\": 0, \"endpoints\": "
	    "[{\"ip\": \"172.20.0.21\", \"proto\": \"tcp\", \"port\": 80}], "
	    "\"dnat\": []}], ",
	    "", "services");
	/* Services: id, names, endpoints. */
	BAD("\"id\": 0", "\"id\": 256", "id");
	BAD("\"id\": 0, ", "", "id");
	BAD("\"name\": \"calendar\"", "\"name\": \"cal endar\"", NULL);
	BAD("\"proto\": \"tcp\", \"port\": 80}",
	    "\"proto\": \"tcp\", \"port\": "
	    "80, \"bogus\": 1}",
	    "endpoints[0].bogus");
	BAD("\"dnat\": []}]",
	    "\"dnat\": []}, {\"name\": \"calendar\", \"id\":"
	    " 1, \"endpoints\": [{\"ip\": \"172.20.0.22\","
	    " \"proto\": \"tcp\"}]}]",
	    "services");
	BAD("\"dnat\": []}]",
	    "\"dnat\": []}, {\"name\": \"files\", \"id\":"
	    " 0, \"endpoints\": [{\"ip\": \"172.20.0.22\","
	    " \"proto\": \"tcp\"}]}]",
	    "services");
	BAD("\"dnat\": []}]",
	    "\"dnat\": []}, {\"name\": \"files\", \"id\":"
	    " 1, \"endpoints\": [{\"ip\": \"172.20.0.21\","
	    " \"proto\": \"tcp\", \"port\": 80}]}]",
	    "services");
	/* Peers: ids, names, keys, addresses, access, unknown fields. */
	BAD("\"name\": \"bob\", \"id\": 2", "\"name\": \"bob\", \"id\": 1",
	    "id");
	BAD("\"name\": \"bob\", \"id\": 2", "\"name\": \"bob\", \"id\": 0",
	    "id");
	BAD("\"name\": \"bob\", \"id\": 2", "\"name\": \"bob\", \"id\": 17",
	    "id");
	BAD("\"name\": \"bob\", \"id\": 2", "\"name\": \"bob\"", "id");
	BAD("\"name\": \"bob\"", "\"name\": \"alice\"", "name");
	BAD("\"name\": \"bob\"", "\"name\": \"b b\"", NULL);
	BAD(key2, key1, "public_key");
	BAD(key2, "AAAA", "public_key");
	BAD("\"ip\": \"10.0.0.3\"", "\"ip\": \"10.0.1.3\"", "ip");
	BAD("\"ip\": \"10.0.0.3\"", "\"ip\": \"10.0.0.2\"", "ip");
	BAD("\"ip\": \"10.0.0.3\"", "\"ip\": \"10.0.0.1\"", "ip");
	BAD("\"service_access\": [\"calendar\"]",
	    "\"service_access\": [\"files\"]", "service_access[0]");
	BAD("\"ip\": \"10.0.0.3\"", "\"ip\": \"10.0.0.3\", \"bogus\": 1",
	    "bogus");
	BAD("\"peers\": [", "\"peers\": [7, ", NULL);
#undef BAD
	/* A failed load empties even a state that had content. */
	tu_write(state_path(dir), "{\"version\": 1, \"services\": [], "
				  "\"peers\": [], \"bogus\": 1}");
	ck_assert_uint_eq(st.n_peers, 2);
	ck_assert_int_lt(state_load(&st, state_path(dir), &err), 0);
	ck_assert_uint_eq(st.n_peers + st.n_services, 0);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_save_mode_and_atomic)
{
	char *dir = tu_mkdtemp();
	char *path = state_path(dir);
	char other[PATH_MAX];
	struct stat sb;

	rich_state();
	umask(0);
	ck_assert_int_eq(state_save(&st, path), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0600);
	ck_assert_int_eq(tu_count_entries(dir, ".tmp"), 0);
	ck_assert_int_eq(tu_count_entries(dir, ""), 1);
	/* Replacing a wider file makes it 0600 too. */
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(del_peer("alice", NULL), 0);
	ck_assert_int_eq(state_save(&st, path), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0600);
	ck_assert_int_eq(tu_count_entries(dir, ".tmp"), 0);
	ck_assert_int_eq(tu_count_entries(dir, ""), 1);
	{
		char *text = read_file(path, 1 << 20, NULL);

		ck_assert_ptr_nonnull(text);
		ck_assert_ptr_null(strstr(text, "alice"));
		ck_assert_ptr_nonnull(strstr(text, "carol"));
		free(text);
	}
	/* A missing directory is an error, and the old file stays. */
	snprintf(other, sizeof(other), "%s/missing/state.json", dir);
	ck_assert_int_eq(state_save(&st, other), -ENOENT);
	ck_assert_int_eq(tu_count_entries(dir, ""), 1);
	umask(022);
	tu_rmtree(dir);
}
END_TEST

static Suite *state_suite(void)
{
	Suite *s = suite_create("state_file");
	TCase *file = tcase_create("file");

	tcase_add_checked_fixture(file, setup, teardown);
	tcase_add_test(file, test_save_load_roundtrip);
	tcase_add_test(file, test_load_missing_and_empty);
	tcase_add_test(file, test_load_corrupt);
	tcase_add_test(file, test_save_mode_and_atomic);
	suite_add_tcase(s, file);
	return s;
}

int main(void)
{
	return tu_run(state_suite());
}
