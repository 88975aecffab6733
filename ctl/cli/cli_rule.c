// SPDX-License-Identifier: MIT
/* cellgate rule list|show|add|del: rules between peers (issue 18). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_table.h"

enum {
	OPT_FROM = 256, /* above every character getopt could return */
	OPT_TO,
	OPT_PORT,
};

static void print_rule(json_object *r)
{
	char *ports = cli_join(cli_member(r, "ports"), ", ", NULL);

	kv_print(stdout, "rule", "%s", cli_str(r, "name", "-"));
	kv_print(stdout, "from", "%s", cli_str(r, "from", "-"));
	kv_print(stdout, "to", "%s", cli_str(r, "to", "-"));
	kv_print(stdout, "ports", "%s", ports ? ports : "-");
	free(ports);
}

static void print_rule_table(json_object *rules)
{
	static const char *const head[] = { "NAME", "FROM", "TO", "PORTS" };
	size_t i, n = json_object_is_type(rules, json_type_array) ?
			      json_object_array_length(rules) :
			      0;
	struct table t;

	table_init(&t, ARRAY_SIZE(head), head, 0);
	for (i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(rules, i);
		char *ports = cli_join(cli_member(r, "ports"), ",", NULL);
		const char *row[4] = { cli_str(r, "name", "-"),
				       cli_str(r, "from", "-"),
				       cli_str(r, "to", "-"), ports };

		table_add(&t, row);
		free(ports);
	}
	if (table_print(&t, stdout))
		cli_fail(CLI_OK, "out of memory: some rules are not shown");
	table_free(&t);
}

int cli_rule_list(struct cli *cli, int argc, char **argv)
{
	return cli_list_objects(cli, argc, argv, "/api/rules",
				print_rule_table);
}

int cli_rule_show(struct cli *cli, int argc, char **argv)
{
	return cli_show_object(cli, argc, argv, "/api/rules", print_rule);
}

int cli_rule_del(struct cli *cli, int argc, char **argv)
{
	return cli_delete_object(cli, argc, argv, "/api/rules", "deleted rule");
}

/* The controller checks selectors and ports (and names the field): the
 * CLI only builds the body. */
static int rule_option(struct cli *cli, void *ctx, int opt, const char *arg)
{
	json_object *body = ctx, *ports;

	(void)cli;
	switch (opt) {
	case OPT_FROM:
		json_object_object_add(body, "from",
				       json_object_new_string(arg));
		return CLI_OK;
	case OPT_TO:
		json_object_object_add(body, "to", json_object_new_string(arg));
		return CLI_OK;
	}
	ports = cli_member(body, "ports");
	if (!ports) {
		ports = json_object_new_array();
		json_object_object_add(body, "ports", ports);
	}
	json_object_array_add(ports, json_object_new_string(arg));
	return CLI_OK;
}

int cli_rule_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "port", required_argument, NULL, OPT_PORT },
		{ NULL, 0, NULL, 0 },
	};
	json_object *body = json_object_new_object();
	char path[CLI_PATH_MAX];
	const char *name;
	int ret;

	ret = cli_parse(cli, argc, argv, opts, rule_option, body, &name, 1);
	if (!ret)
		ret = cli_check_name(cli, name);
	if (!ret && (!cli_member(body, "from") || !cli_member(body, "to")))
		ret = cli_usage_error(cli, "--from and --to are required");
	if (!ret && !cli_member(body, "ports")) {
		json_object *any = json_object_new_array();

		json_object_array_add(any, json_object_new_string("any"));
		json_object_object_add(body, "ports", any);
	}
	if (!ret) {
		snprintf(path, sizeof(path), "/api/rules/%s", name);
		ret = cli_send_print(cli, "PUT", path, body, print_rule);
	}
	json_object_put(body);
	return ret;
}
