// SPDX-License-Identifier: MIT
/* cellgate group list|show|set|del: groups' settings (issue 18). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_table.h"

enum {
	OPT_DOWN_MBIT = 256, /* above every character getopt could return */
	OPT_UP_MBIT,
	OPT_NO_RATE_LIMIT,
};

/* "20" or "-" (unlimited). */
static const char *mbit_str(json_object *rl, const char *key, char *buf,
			    size_t size)
{
	long long n = cli_int(rl, key, 0);

	if (!n)
		return "-";
	snprintf(buf, size, "%lld", n);
	return buf;
}

static void print_group(json_object *g)
{
	json_object *rl = cli_member(g, "rate_limit");
	char d[24], u[24];

	kv_print(stdout, "group", "%s", cli_str(g, "name", "-"));
	kv_print(stdout, "peers", "%lld", cli_int(g, "peers", 0));
	if (!cli_int(rl, "down_mbit", 0) && !cli_int(rl, "up_mbit", 0))
		kv_print(stdout, "rate limit", "-");
	else
		kv_print(stdout, "rate limit", "down %s Mbit/s, up %s Mbit/s",
			 mbit_str(rl, "down_mbit", d, sizeof(d)),
			 mbit_str(rl, "up_mbit", u, sizeof(u)));
}

static void print_group_table(json_object *groups)
{
	static const char *const head[] = { "NAME", "PEERS", "DOWN_MBIT",
					    "UP_MBIT" };
	size_t i, n = json_object_is_type(groups, json_type_array) ?
			      json_object_array_length(groups) :
			      0;
	struct table t;

	table_init(&t, ARRAY_SIZE(head), head, 0);
	for (i = 0; i < n; i++) {
		json_object *g = json_object_array_get_idx(groups, i);
		json_object *rl = cli_member(g, "rate_limit");
		char peers[24], d[24], u[24];
		const char *row[4] = { cli_str(g, "name", "-"), peers,
				       mbit_str(rl, "down_mbit", d, sizeof(d)),
				       mbit_str(rl, "up_mbit", u, sizeof(u)) };

		snprintf(peers, sizeof(peers), "%lld", cli_int(g, "peers", 0));
		table_add(&t, row);
	}
	if (table_print(&t, stdout))
		cli_fail(CLI_OK, "out of memory: some groups are not shown");
	table_free(&t);
}

int cli_group_list(struct cli *cli, int argc, char **argv)
{
	return cli_list_objects(cli, argc, argv, "/api/groups",
				print_group_table);
}

int cli_group_show(struct cli *cli, int argc, char **argv)
{
	return cli_show_object(cli, argc, argv, "/api/groups", print_group);
}

int cli_group_del(struct cli *cli, int argc, char **argv)
{
	return cli_delete_object(cli, argc, argv, "/api/groups",
				 "cleared the settings of group");
}

/* Syntax only: the controller says whether N is in range (and names
 * the field). */
static int group_option(struct cli *cli, void *ctx, int opt, const char *arg)
{
	json_object *body = ctx, *rl = cli_member(body, "rate_limit");
	const char *key = opt == OPT_DOWN_MBIT ? "down_mbit" : "up_mbit";
	char *end;
	long long n;

	if (opt == OPT_NO_RATE_LIMIT) {
		if (rl)
			return cli_usage_error(cli, "--no-rate-limit and "
						    "--down-mbit/--up-mbit "
						    "contradict each other");
		json_object_object_add(body, "rate_limit", NULL);
		return CLI_OK;
	}
	if (json_object_object_get_ex(body, "rate_limit", NULL) && !rl)
		return cli_usage_error(cli, "--no-rate-limit and "
					    "--down-mbit/--up-mbit "
					    "contradict each other");
	n = strtoll(arg, &end, 10);
	if (!*arg || *end)
		return cli_usage_error(
			cli,
			"--%s takes a whole number of "
			"Mbit/s, not '%s'",
			opt == OPT_DOWN_MBIT ? "down-mbit" : "up-mbit", arg);
	if (!rl) {
		rl = json_object_new_object();
		json_object_object_add(body, "rate_limit", rl);
	}
	json_object_object_add(rl, key, json_object_new_int64(n));
	return CLI_OK;
}

int cli_group_set(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "down-mbit", required_argument, NULL, OPT_DOWN_MBIT },
		{ "up-mbit", required_argument, NULL, OPT_UP_MBIT },
		{ "no-rate-limit", no_argument, NULL, OPT_NO_RATE_LIMIT },
		{ NULL, 0, NULL, 0 },
	};
	json_object *body = json_object_new_object();
	char path[CLI_PATH_MAX];
	const char *name;
	int ret;

	ret = cli_parse(cli, argc, argv, opts, group_option, body, &name, 1);
	if (!ret)
		ret = cli_check_name(cli, name);
	if (!ret && !json_object_object_get_ex(body, "rate_limit", NULL))
		ret = cli_usage_error(cli, "--down-mbit, --up-mbit or "
					   "--no-rate-limit is required");
	if (!ret) {
		snprintf(path, sizeof(path), "/api/groups/%s", name);
		ret = cli_send_print(cli, "PUT", path, body, print_group);
	}
	json_object_put(body);
	return ret;
}
