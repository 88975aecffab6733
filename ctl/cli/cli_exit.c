// SPDX-License-Identifier: MIT
/* cellgate exit list|show|add|del: exits (issue 20), where a peer's
 * internet-bound traffic leaves instead of the uplink. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_table.h"

enum {
	OPT_KIND = 256, /* above every character getopt could return */
	OPT_INTERFACE,
	OPT_GATEWAY,
	OPT_ADDRESS,
	OPT_ADDRESS6,
	OPT_ENDPOINT,
	OPT_PUBLIC_KEY,
	OPT_PRIVATE_KEY,
	OPT_NO_MASQUERADE,
};

static const char *state_of(json_object *e)
{
	return cli_bool(e, "up") ? "up" : "down";
}

static void print_exit(json_object *e)
{
	json_object *cnt = cli_member(e, "counters");
	char *peers = cli_join(cli_member(e, "peers"), ", ", NULL);
	static const char *const opt[] = { "gateway",	 "address",
					   "address6",	 "endpoint",
					   "public_key", "local_public_key" };
	size_t i;

	kv_print(stdout, "exit", "%s", cli_str(e, "name", "-"));
	kv_print(stdout, "kind", "%s", cli_str(e, "kind", "-"));
	kv_print(stdout, "state", "%s", state_of(e));
	kv_print(stdout, "interface", "%s", cli_str(e, "interface", "-"));
	for (i = 0; i < ARRAY_SIZE(opt); i++)
		if (cli_member(e, opt[i]))
			kv_print(stdout, opt[i], "%s", cli_str(e, opt[i], "-"));
	kv_print(stdout, "masquerade", "%s",
		 cli_bool(e, "masquerade") ? "yes" : "no");
	if (cli_member(e, "handshake_age_seconds"))
		kv_print(stdout, "handshake", "%s s ago",
			 cli_str(e, "handshake_age_seconds", "-"));
	else if (!strcmp(cli_str(e, "kind", ""), "wireguard"))
		kv_print(stdout, "handshake", "never");
	kv_print(stdout, "peers", "%s", peers && *peers ? peers : "-");
	if (cnt)
		kv_print(stdout, "traffic",
			 "%s packets, %s bytes, %s dropped "
			 "(exit down)",
			 cli_str(cnt, "packets", "0"),
			 cli_str(cnt, "bytes", "0"),
			 cli_str(cnt, "drops", "0"));
	free(peers);
}

static void print_exit_table(json_object *exits)
{
	static const char *const head[] = { "NAME", "KIND", "STATE",
					    "INTERFACE", "PEERS" };
	size_t i, n = json_object_is_type(exits, json_type_array) ?
			      json_object_array_length(exits) :
			      0;
	struct table t;

	table_init(&t, ARRAY_SIZE(head), head, 0);
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(exits, i);
		char *peers = cli_join(cli_member(e, "peers"), ",", NULL);
		const char *row[5] = { cli_str(e, "name", "-"),
				       cli_str(e, "kind", "-"), state_of(e),
				       cli_str(e, "interface", "-"),
				       peers && *peers ? peers : "-" };

		table_add(&t, row);
		free(peers);
	}
	if (table_print(&t, stdout))
		cli_fail(CLI_OK, "out of memory: some exits are not shown");
	table_free(&t);
}

int cli_exit_list(struct cli *cli, int argc, char **argv)
{
	return cli_list_objects(cli, argc, argv, "/api/exits",
				print_exit_table);
}

int cli_exit_show(struct cli *cli, int argc, char **argv)
{
	return cli_show_object(cli, argc, argv, "/api/exits", print_exit);
}

int cli_exit_del(struct cli *cli, int argc, char **argv)
{
	return cli_delete_object(cli, argc, argv, "/api/exits", "deleted exit");
}

/* The controller checks every field (and names it): the CLI only builds
 * the body. */
static int exit_option(struct cli *cli, void *ctx, int opt, const char *arg)
{
	static const char *const keys[] = {
		[OPT_KIND - OPT_KIND] = "kind",
		[OPT_INTERFACE - OPT_KIND] = "interface",
		[OPT_GATEWAY - OPT_KIND] = "gateway",
		[OPT_ADDRESS - OPT_KIND] = "address",
		[OPT_ADDRESS6 - OPT_KIND] = "address6",
		[OPT_ENDPOINT - OPT_KIND] = "endpoint",
		[OPT_PUBLIC_KEY - OPT_KIND] = "public_key",
		[OPT_PRIVATE_KEY - OPT_KIND] = "private_key",
	};
	json_object *body = ctx;

	(void)cli;
	if (opt == OPT_NO_MASQUERADE) {
		json_object_object_add(body, "masquerade",
				       json_object_new_boolean(false));
		return CLI_OK;
	}
	json_object_object_add(body, keys[opt - OPT_KIND],
			       json_object_new_string(arg));
	return CLI_OK;
}

int cli_exit_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kind", required_argument, NULL, OPT_KIND },
		{ "interface", required_argument, NULL, OPT_INTERFACE },
		{ "gateway", required_argument, NULL, OPT_GATEWAY },
		{ "address", required_argument, NULL, OPT_ADDRESS },
		{ "address6", required_argument, NULL, OPT_ADDRESS6 },
		{ "endpoint", required_argument, NULL, OPT_ENDPOINT },
		{ "public-key", required_argument, NULL, OPT_PUBLIC_KEY },
		{ "private-key", required_argument, NULL, OPT_PRIVATE_KEY },
		{ "no-masquerade", no_argument, NULL, OPT_NO_MASQUERADE },
		{ NULL, 0, NULL, 0 },
	};
	json_object *body = json_object_new_object();
	char path[CLI_PATH_MAX];
	const char *name;
	int ret;

	ret = cli_parse(cli, argc, argv, opts, exit_option, body, &name, 1);
	if (!ret)
		ret = cli_check_name(cli, name);
	if (!ret && !cli_member(body, "kind"))
		ret = cli_usage_error(cli, "--kind is required");
	if (!ret) {
		snprintf(path, sizeof(path), "/api/exits/%s", name);
		ret = cli_send_print(cli, "PUT", path, body, print_exit);
	}
	json_object_put(body);
	return ret;
}
