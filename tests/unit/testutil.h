/* SPDX-License-Identifier: MIT */
/* Helpers shared by the unit tests (check). Header only. */
#ifndef CELLGATE_TESTUTIL_H
#define CELLGATE_TESTUTIL_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "key.h"
#include "util.h"

/* The example configuration of the contract (DESIGN.md). */
#define TU_EXAMPLE_CONFIG                                                    \
	"{\"cell_name\": \"home\", \"domain\": \"home.cell\",\n"             \
	" \"wireguard\": {\"interface\": \"wg0\", \"address\": "             \
	"\"10.0.0.1/24\", \"listen_port\": 51820, \"private_key_file\": "    \
	"\"/etc/cellgate/wg.key\", \"endpoint\": \"198.51.100.7:51820\"},\n" \
	" \"bridge\": {\"interface\": \"br-cell\"}, \"uplink\": "            \
	"{\"interface\": \"eth0\"},\n"                                       \
	" \"api\": {\"listen\": \"127.0.0.1:8470\", \"token_file\": "        \
	"\"/etc/cellgate/api.token\"},\n"                                    \
	" \"state_dir\": \"/var/lib/cellgate\", \"bpffs\": "                 \
	"\"/sys/fs/bpf/cellgate\"}"

/* Parse a configuration document that must be valid. */
static inline void tu_config(struct cg_config *cfg, const char *json)
{
	struct cg_error err = { 0 };
	int ret = config_parse(json, strlen(json), cfg, &err);

	ck_assert_msg(ret == 0, "config rejected: %d %s: %s", err.status,
		      err.field, err.msg);
}

/* Parse a JSON object that must be valid (a test fixture). */
static inline json_object *tu_json(const char *text)
{
	json_object *obj = json_tokener_parse(text);

	ck_assert_msg(obj && json_object_is_type(obj, json_type_object),
		      "bad fixture: %s", text);
	return obj;
}

/* A distinct, valid public key in base64 for each seed. */
static inline void tu_key_b64(unsigned int seed, char out[WG_KEY_B64_LEN + 1])
{
	wg_key key;
	unsigned int i;

	for (i = 0; i < WG_KEY_LEN; i++)
		key[i] = (uint8_t)(seed * 37 + i * 11 + 1);
	key[0] = (uint8_t)seed;
	key[1] = (uint8_t)(seed >> 8);
	key_to_base64(out, key);
}

/* A fresh temporary directory; free it with tu_rmtree. */
static inline char *tu_mkdtemp(void)
{
	char *dir = strdup("/tmp/cellgate-unit.XXXXXX");

	ck_assert_ptr_nonnull(dir);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

/* rm -r, for the temporary directories of the tests. */
static inline void tu_rm_r(const char *path)
{
	struct stat sb;
	struct dirent *e;
	char sub[PATH_MAX];
	DIR *d;

	ck_assert_int_eq(lstat(path, &sb), 0);
	if (S_ISDIR(sb.st_mode)) {
		d = opendir(path);
		ck_assert_ptr_nonnull(d);
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			tu_rm_r(sub);
		}
		closedir(d);
	}
	ck_assert_int_eq(remove(path), 0);
}

static inline void tu_rmtree(char *dir)
{
	tu_rm_r(dir);
	free(dir);
}

/* How many entries of dir have a name containing needle. */
static inline int tu_count_entries(const char *dir, const char *needle)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strstr(e->d_name, needle))
			n++;
	closedir(d);
	return n;
}

/* Write a whole file for a test. */
static inline void tu_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	ck_assert_int_eq(fclose(f), 0);
}

/* Assert an error's status and field. */
#define tu_assert_err(err, want_status, want_field)                       \
	do {                                                              \
		ck_assert_int_eq((err)->status, (want_status));           \
		ck_assert_str_eq((err)->field, (want_field));             \
		ck_assert_msg((err)->msg[0] != '\0', "no error message"); \
	} while (0)

/* For tests of the state, with a `struct cg_state st` and a `struct
 * cg_error err` of their own: call must fail with want_status naming
 * want_field, and leave the state byte for byte as it was. */
#define REJECTS(call, want_status, want_field)                  \
	do {                                                    \
		char *before_ = state_to_string(&st);           \
		char *after_;                                   \
		int ret_;                                       \
                                                                \
		ck_assert_ptr_nonnull(before_);                 \
		memset(&err, 0, sizeof(err));                   \
		ret_ = (call);                                  \
		ck_assert_msg(ret_ < 0, "accepted: %s", #call); \
		tu_assert_err(&err, want_status, want_field);   \
		after_ = state_to_string(&st);                  \
		ck_assert_ptr_nonnull(after_);                  \
		ck_assert_str_eq(after_, before_);              \
		free(before_);                                  \
		free(after_);                                   \
	} while (0)

/* Run one suite; the exit status says whether every test passed. */
static inline int tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
