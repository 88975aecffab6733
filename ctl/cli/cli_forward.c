// SPDX-License-Identifier: MIT
/* cellgate forward list|show|add|del. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_table.h"

enum {
	OPT_PROTO = 256, /* above every character getopt could return */
	OPT_PUBLIC_PORT,
	OPT_TARGET,
	OPT_ALLOW_FROM,
	OPT_SNAT,
};

/* ---- output -------------------------------------------------------------- */

/* "auto (yes)": the mode, and for auto what it resolved to; always and
 * never say it themselves. */
static void fmt_snat(json_object *f, char *buf, size_t len)
{
	const char *mode = cli_str(f, "snat", "-");

	if (strcmp(mode, "auto") || !cli_member(f, "snat_active"))
		snprintf(buf, len, "%s", mode);
	else
		snprintf(buf, len, "auto (%s)",
			 yes_no(cli_bool(f, "snat_active")));
}

static void fmt_target(json_object *f, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%lld", cli_str(f, "target_ip", "?"),
		 cli_int(f, "target_port", 0));
}

/* The allow_from list; empty means every source. */
static char *allow_list(json_object *f, const char *sep)
{
	json_object *allow = cli_member(f, "allow_from");

	if (!allow || !json_object_is_type(allow, json_type_array) ||
	    !json_object_array_length(allow))
		return strdup("any");
	return cli_join(allow, sep, NULL);
}

/* The block of `forward show`; add prints it for the stored forward. */
static void print_forward(json_object *f)
{
	json_object *c = cli_member(f, "counters");
	char *allow = allow_list(f, ", ");
	char target[64], snat[32], bytes[32];

	fmt_target(f, target, sizeof(target));
	fmt_snat(f, snat, sizeof(snat));
	kv_print(stdout, "forward", "%s", cli_str(f, "id", "-"));
	kv_print(stdout, "public port", "%s %lld", cli_str(f, "proto", "?"),
		 cli_int(f, "public_port", 0));
	kv_print(stdout, "target", "%s", target);
	kv_print(stdout, "allow from", "%s", allow ? allow : "-");
	kv_print(stdout, "snat", "%s", snat);
	if (c) {
		kv_print(stdout, "forwarded", "%lld packets, %s",
			 cli_int(c, "packets", 0),
			 fmt_bytes(bytes, sizeof(bytes),
				   (uint64_t)cli_int(c, "bytes", 0)));
		kv_print(stdout, "denied", "%lld", cli_int(c, "denied", 0));
		kv_print(stdout, "nat failed", "%lld",
			 cli_int(c, "nat_failed", 0));
	}
	free(allow);
}

/* The PACKETS, BYTES and DENIED cells of a row, "-" without counters. */
struct fwd_traffic {
	char packets[24], bytes[32], denied[24];
};

static void traffic_cells(json_object *c, struct fwd_traffic *t)
{
	if (!c) {
		snprintf(t->packets, sizeof(t->packets), "-");
		snprintf(t->bytes, sizeof(t->bytes), "-");
		snprintf(t->denied, sizeof(t->denied), "-");
		return;
	}
	snprintf(t->packets, sizeof(t->packets), "%lld",
		 cli_int(c, "packets", 0));
	fmt_bytes(t->bytes, sizeof(t->bytes), (uint64_t)cli_int(c, "bytes", 0));
	snprintf(t->denied, sizeof(t->denied), "%lld", cli_int(c, "denied", 0));
}

static void add_forward_row(struct table *t, json_object *f)
{
	char port[8], target[64], snat[32];
	struct fwd_traffic tr;
	const char *row[9];
	char *allow = allow_list(f, ",");

	snprintf(port, sizeof(port), "%lld", cli_int(f, "public_port", 0));
	fmt_target(f, target, sizeof(target));
	fmt_snat(f, snat, sizeof(snat));
	traffic_cells(cli_member(f, "counters"), &tr);
	row[0] = cli_str(f, "id", "-");
	row[1] = cli_str(f, "proto", "-");
	row[2] = port;
	row[3] = target;
	row[4] = allow;
	row[5] = snat;
	row[6] = tr.packets;
	row[7] = tr.bytes;
	row[8] = tr.denied;
	table_add(t, row);
	free(allow);
}

static void print_forward_table(json_object *forwards)
{
	static const char *const head[] = { "FORWARD", "PROTO", "PUBLIC",
					    "TARGET",  "ALLOW", "SNAT",
					    "PACKETS", "BYTES", "DENIED" };
	size_t i, n = json_object_is_type(forwards, json_type_array) ?
			      json_object_array_length(forwards) :
			      0;
	struct table t;

	table_init(&t, ARRAY_SIZE(head), head,
		   TABLE_RIGHT(2) | TABLE_RIGHT(6) | TABLE_RIGHT(7) |
			   TABLE_RIGHT(8));
	for (i = 0; i < n; i++)
		add_forward_row(&t, json_object_array_get_idx(forwards, i));
	if (table_print(&t, stdout))
		cli_fail(CLI_OK, "out of memory: some forwards are not shown");
	table_free(&t);
}

/* ---- list, show, del ------------------------------------------------------- */

int cli_forward_list(struct cli *cli, int argc, char **argv)
{
	return cli_list_objects(cli, argc, argv, "/api/forwards",
				print_forward_table);
}

int cli_forward_show(struct cli *cli, int argc, char **argv)
{
	return cli_show_object(cli, argc, argv, "/api/forwards", print_forward);
}

int cli_forward_del(struct cli *cli, int argc, char **argv)
{
	return cli_delete_object(cli, argc, argv, "/api/forwards",
				 "deleted forward");
}

/* ---- add ------------------------------------------------------------------- */

/* A port, 1..65535, digits only (no sign, no spaces, no hex). */
static bool parse_port(const char *s, int *port)
{
	size_t n = strlen(s);
	long v;

	if (!n || n > 5 || strspn(s, "0123456789") != n)
		return false;
	v = strtol(s, NULL, 10);
	if (v < 1 || v > 65535)
		return false;
	*port = (int)v;
	return true;
}

static int set_proto(struct cli *cli, json_object *body, const char *arg)
{
	if (strcmp(arg, "tcp") && strcmp(arg, "udp"))
		return cli_usage_error(
			cli, "--proto takes tcp or udp, not '%s'", arg);
	json_object_object_add(body, "proto", json_object_new_string(arg));
	return CLI_OK;
}

static int set_public_port(struct cli *cli, json_object *body, const char *arg)
{
	int port;

	if (!parse_port(arg, &port))
		return cli_usage_error(cli, "'%s' is not a port (1-65535)",
				       arg);
	json_object_object_add(body, "public_port", json_object_new_int(port));
	return CLI_OK;
}

/* --target IP:PORT becomes target_ip and target_port. */
static int set_target(struct cli *cli, json_object *body, const char *arg)
{
	const char *colon = strrchr(arg, ':');
	char ip[INET_ADDRSTRLEN];
	struct in_addr a;
	int port;

	if (!colon || (size_t)(colon - arg) >= sizeof(ip))
		goto bad;
	memcpy(ip, arg, (size_t)(colon - arg));
	ip[colon - arg] = '\0';
	if (!parse_ipv4(ip, &a) || !parse_port(colon + 1, &port))
		goto bad;
	json_object_object_add(body, "target_ip", json_object_new_string(ip));
	json_object_object_add(body, "target_port", json_object_new_int(port));
	return CLI_OK;
bad:
	return cli_usage_error(cli,
			       "target '%s' is not IP:PORT (e.g. "
			       "10.0.0.12:22)",
			       arg);
}

/* --allow-from CIDR, repeated. */
static int add_allow(struct cli *cli, json_object *body, const char *arg)
{
	json_object *arr = cli_member(body, "allow_from");
	struct in_addr a;
	uint8_t prefix;

	if (!parse_cidr(arg, &a, &prefix, false))
		return cli_usage_error(cli,
				       "'%s' is not a network like "
				       "198.51.100.0/24 (host bits zero)",
				       arg);
	if (!arr) {
		arr = json_object_new_array();
		json_object_object_add(body, "allow_from", arr);
	}
	json_object_array_add(arr, json_object_new_string(arg));
	return CLI_OK;
}

static int set_snat(struct cli *cli, json_object *body, const char *arg)
{
	if (strcmp(arg, "auto") && strcmp(arg, "always") &&
	    strcmp(arg, "never"))
		return cli_usage_error(
			cli, "--snat takes auto, always or never, not '%s'",
			arg);
	json_object_object_add(body, "snat", json_object_new_string(arg));
	return CLI_OK;
}

static int forward_option(struct cli *cli, void *ctx, int opt, const char *arg)
{
	json_object *body = ctx;

	switch (opt) {
	case OPT_PROTO:
		return set_proto(cli, body, arg);
	case OPT_PUBLIC_PORT:
		return set_public_port(cli, body, arg);
	case OPT_TARGET:
		return set_target(cli, body, arg);
	case OPT_ALLOW_FROM:
		return add_allow(cli, body, arg);
	case OPT_SNAT:
		return set_snat(cli, body, arg);
	}
	return cli_usage_error(cli, "unhandled option");
}

/* The options without which the API would refuse the forward. */
static int check_required(struct cli *cli, json_object *body)
{
	if (!cli_member(body, "proto"))
		return cli_usage_error(cli, "missing --proto");
	if (!cli_member(body, "public_port"))
		return cli_usage_error(cli, "missing --public-port");
	if (!cli_member(body, "target_ip"))
		return cli_usage_error(cli, "missing --target");
	return CLI_OK;
}

int cli_forward_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "proto", required_argument, NULL, OPT_PROTO },
		{ "public-port", required_argument, NULL, OPT_PUBLIC_PORT },
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "allow-from", required_argument, NULL, OPT_ALLOW_FROM },
		{ "snat", required_argument, NULL, OPT_SNAT },
		{ NULL, 0, NULL, 0 },
	};
	json_object *body = json_object_new_object();
	const char *id;
	int ret;

	ret = cli_parse(cli, argc, argv, opts, forward_option, body, &id, 1);
	if (!ret)
		ret = cli_check_name(cli, id);
	if (!ret)
		ret = check_required(cli, body);
	if (!ret) {
		json_object_object_add(body, "id", json_object_new_string(id));
		ret = cli_send_print(cli, "POST", "/api/forwards", body,
				     print_forward);
	}
	json_object_put(body);
	return ret;
}
