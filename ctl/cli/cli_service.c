// SPDX-License-Identifier: MIT
/* cellgate service list|show|set|del. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cli_syntax.h"
#include "cli_table.h"

enum {
	OPT_ENDPOINT = 256, /* above every character getopt could return */
	OPT_DNAT,
};

/* "key: first" then the others aligned under it, "-" if none. */
static void print_items(const char *key, json_object *arr, cli_fmt_fn fmt)
{
	size_t i, n = arr && json_object_is_type(arr, json_type_array) ?
			      json_object_array_length(arr) :
			      0;
	char item[160];

	if (!n)
		kv_print(stdout, key, "-");
	for (i = 0; i < n; i++) {
		fmt(json_object_array_get_idx(arr, i), item, sizeof(item));
		if (i == 0)
			kv_print(stdout, key, "%s", item);
		else
			printf("%*s%s\n", KV_WIDTH, "", item);
	}
}

static void print_service(json_object *s)
{
	kv_print(stdout, "service", "%s", cli_str(s, "name", "-"));
	print_items("endpoints", cli_member(s, "endpoints"),
		    syntax_fmt_endpoint);
	print_items("dnat", cli_member(s, "dnat"), syntax_fmt_dnat);
}

static void print_service_table(json_object *services)
{
	static const char *const head[] = { "NAME", "ENDPOINTS", "DNAT" };
	size_t i, n = json_object_is_type(services, json_type_array) ?
			      json_object_array_length(services) :
			      0;
	struct table t;

	table_init(&t, ARRAY_SIZE(head), head, 0);
	for (i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(services, i);
		char *e = cli_join(cli_member(s, "endpoints"), ",",
				   syntax_fmt_endpoint);
		char *d = cli_join(cli_member(s, "dnat"), ",", syntax_fmt_dnat);
		const char *row[3];

		row[0] = cli_str(s, "name", "-");
		row[1] = e;
		row[2] = d;
		table_add(&t, row);
		free(e);
		free(d);
	}
	if (table_print(&t, stdout))
		cli_fail(CLI_OK, "out of memory: some services are not shown");
	table_free(&t);
}

int cli_service_list(struct cli *cli, int argc, char **argv)
{
	return cli_list_objects(cli, argc, argv, "/api/services",
				print_service_table);
}

int cli_service_show(struct cli *cli, int argc, char **argv)
{
	return cli_show_object(cli, argc, argv, "/api/services", print_service);
}

int cli_service_del(struct cli *cli, int argc, char **argv)
{
	return cli_delete_object(cli, argc, argv, "/api/services",
				 "deleted service");
}

/* The body of service set: both arrays always, since PUT replaces. */
struct service_args {
	json_object *endpoints, *dnat;
};

static int service_option(struct cli *cli, void *ctx, int opt, const char *arg)
{
	struct service_args *a = ctx;
	json_object *item;
	char why[256];

	if (opt == OPT_ENDPOINT)
		item = syntax_endpoint(arg, why, sizeof(why));
	else
		item = syntax_dnat(arg, why, sizeof(why));
	if (!item)
		return cli_usage_error(cli, "%s", why);
	json_object_array_add(opt == OPT_ENDPOINT ? a->endpoints : a->dnat,
			      item);
	return CLI_OK;
}

int cli_service_set(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "endpoint", required_argument, NULL, OPT_ENDPOINT },
		{ "dnat", required_argument, NULL, OPT_DNAT },
		{ NULL, 0, NULL, 0 },
	};
	json_object *body = json_object_new_object();
	struct service_args a = { json_object_new_array(),
				  json_object_new_array() };
	char path[CLI_PATH_MAX];
	const char *name;
	int ret;

	/* The body owns the arrays from here on. */
	json_object_object_add(body, "endpoints", a.endpoints);
	json_object_object_add(body, "dnat", a.dnat);
	ret = cli_parse(cli, argc, argv, opts, service_option, &a, &name, 1);
	if (!ret)
		ret = cli_check_name(cli, name);
	if (!ret) {
		snprintf(path, sizeof(path), "/api/services/%s", name);
		ret = cli_send_print(cli, "PUT", path, body, print_service);
	}
	json_object_put(body);
	return ret;
}
