// SPDX-License-Identifier: MIT
/*
 * cellgate join-token add|list|show|del: the tokens devices enrol with
 * (POST /api/join on the join listener). add prints the secret once; the
 * cell keeps its hash only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_table.h"

enum {
	OPT_GROUP = 256, /* above every character getopt could return */
	OPT_SERVICE,
	OPT_INTERNET,
	OPT_EXPIRES_IN,
	OPT_MAX_USES,
};

/* ---- output ------------------------------------------------------------ */

static void fmt_int_or(json_object *o, const char *key, const char *none,
		       char *buf, size_t len)
{
	json_object *v = cli_member(o, key);

	if (v && json_object_is_type(v, json_type_int))
		snprintf(buf, len, "%lld", (long long)json_object_get_int64(v));
	else
		snprintf(buf, len, "%s", none);
}

/* "2026-12-07 14:00 UTC", or never, or expired. */
static void fmt_expiry(json_object *t, char *buf, size_t len)
{
	json_object *v = cli_member(t, "expires_at");
	time_t at;
	struct tm tm;

	if (!v || !json_object_is_type(v, json_type_int)) {
		snprintf(buf, len, "never");
		return;
	}
	at = (time_t)json_object_get_int64(v);
	gmtime_r(&at, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
	if (cli_bool(t, "expired"))
		snprintf(buf + strlen(buf), len - strlen(buf), " (expired)");
}

static void print_token(json_object *t)
{
	char *groups = cli_join(cli_member(t, "groups"), ", ", NULL);
	char *svcs = cli_join(cli_member(t, "service_access"), ", ", NULL);
	char uses_left[24], max[24], expiry[48];

	fmt_int_or(t, "uses_left", "unlimited", uses_left, sizeof(uses_left));
	fmt_int_or(t, "max_uses", "unlimited", max, sizeof(max));
	fmt_expiry(t, expiry, sizeof(expiry));
	kv_print(stdout, "join token", "%s", cli_str(t, "name", "-"));
	if (cli_member(t, "token"))
		kv_print(stdout, "secret", "%s  (shown once: keep it now)",
			 cli_str(t, "token", "-"));
	kv_print(stdout, "services", "%s", svcs && svcs[0] ? svcs : "(none)");
	kv_print(stdout, "internet", "%s",
		 yes_no(cli_bool(t, "internet_access")));
	kv_print(stdout, "groups", "%s",
		 groups && groups[0] ? groups : "(none)");
	kv_print(stdout, "uses", "%lld of %s (%s left)", cli_int(t, "uses", 0),
		 max, uses_left);
	kv_print(stdout, "expires", "%s", expiry);
	free(groups);
	free(svcs);
}

static void print_token_table(json_object *tokens)
{
	static const char *const head[] = { "TOKEN", "SERVICES", "INTERNET",
					    "USES",  "LEFT",	 "EXPIRES" };
	size_t i, n = json_object_is_type(tokens, json_type_array) ?
			      json_object_array_length(tokens) :
			      0;
	struct table tab;

	table_init(&tab, ARRAY_SIZE(head), head,
		   TABLE_RIGHT(3) | TABLE_RIGHT(4));
	for (i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(tokens, i);
		char *svcs =
			cli_join(cli_member(t, "service_access"), ",", NULL);
		char uses[24], left[24], expiry[48];
		const char *row[6];

		snprintf(uses, sizeof(uses), "%lld", cli_int(t, "uses", 0));
		fmt_int_or(t, "uses_left", "-", left, sizeof(left));
		fmt_expiry(t, expiry, sizeof(expiry));
		row[0] = cli_str(t, "name", "-");
		row[1] = svcs && svcs[0] ? svcs : "-";
		row[2] = yes_no(cli_bool(t, "internet_access"));
		row[3] = uses;
		row[4] = left;
		row[5] = expiry;
		table_add(&tab, row);
		free(svcs);
	}
	if (table_print(&tab, stdout))
		cli_fail(CLI_OK, "out of memory: some tokens are not shown");
	table_free(&tab);
}

int cli_join_token_list(struct cli *cli, int argc, char **argv)
{
	return cli_list_objects(cli, argc, argv, "/api/join-tokens",
				print_token_table);
}

int cli_join_token_show(struct cli *cli, int argc, char **argv)
{
	return cli_show_object(cli, argc, argv, "/api/join-tokens",
			       print_token);
}

int cli_join_token_del(struct cli *cli, int argc, char **argv)
{
	return cli_delete_object(cli, argc, argv, "/api/join-tokens",
				 "revoked join token");
}

/* ---- add ----------------------------------------------------------------- */

static int append_name(struct cli *cli, json_object *body, const char *key,
		       const char *arg)
{
	json_object *arr = cli_member(body, key);

	if (cli_check_name(cli, arg))
		return CLI_USAGE;
	if (!arr) {
		arr = json_object_new_array();
		json_object_object_add(body, key, arr);
	}
	json_object_array_add(arr, json_object_new_string(arg));
	return CLI_OK;
}

/* A positive count: digits only, at most max. */
static int set_count(struct cli *cli, json_object *body, const char *key,
		     const char *opt, const char *arg, long long max)
{
	size_t n = strlen(arg);
	long long v;

	if (!n || n > 10 || strspn(arg, "0123456789") != n ||
	    (v = strtoll(arg, NULL, 10)) < 1 || v > max)
		return cli_usage_error(cli,
				       "%s takes a number from 1 to %lld, "
				       "not '%s'",
				       opt, max, arg);
	json_object_object_add(body, key, json_object_new_int64(v));
	return CLI_OK;
}

static int token_option(struct cli *cli, void *ctx, int opt, const char *arg)
{
	json_object *body = ctx;

	switch (opt) {
	case OPT_GROUP:
		return append_name(cli, body, "groups", arg);
	case OPT_SERVICE:
		return append_name(cli, body, "service_access", arg);
	case OPT_INTERNET:
		json_object_object_add(body, "internet_access",
				       json_object_new_boolean(true));
		return CLI_OK;
	case OPT_EXPIRES_IN:
		return set_count(cli, body, "expires_in", "--expires-in", arg,
				 315360000);
	case OPT_MAX_USES:
		return set_count(cli, body, "max_uses", "--max-uses", arg,
				 1000000);
	}
	return cli_usage_error(cli, "unhandled option");
}

int cli_join_token_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "service", required_argument, NULL, OPT_SERVICE },
		{ "internet", no_argument, NULL, OPT_INTERNET },
		{ "expires-in", required_argument, NULL, OPT_EXPIRES_IN },
		{ "max-uses", required_argument, NULL, OPT_MAX_USES },
		{ NULL, 0, NULL, 0 },
	};
	json_object *body = json_object_new_object();
	const char *name;
	int ret;

	ret = cli_parse(cli, argc, argv, opts, token_option, body, &name, 1);
	if (!ret)
		ret = cli_check_name(cli, name);
	if (!ret) {
		json_object_object_add(body, "name",
				       json_object_new_string(name));
		ret = cli_send_print(cli, "POST", "/api/join-tokens", body,
				     print_token);
	}
	json_object_put(body);
	return ret;
}
