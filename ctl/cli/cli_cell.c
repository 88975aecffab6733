// SPDX-License-Identifier: MIT
/*
 * cellgate cell invite [list|del]|list|show|add|del|share|permissions:
 * links to other cells. An invite holds a pairing secret: it goes to a 0600 file or to
 * stdout with a warning, never into an error message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_table.h"
#include "jsonx.h"

#define INVITE_MAX (64 * 1024) /* the API's body limit */

enum {
	OPT_OUT = 256, /* above every character getopt could return */
	OPT_SERVICE,
	OPT_NONE,
};

/* ---- output -------------------------------------------------------------- */

/* "12s ago", "5m ago", "3h ago", "2d ago"; "never" for 0 (unix seconds). */
static const char *fmt_age(char *buf, size_t len, long long then)
{
	long long d;

	if (then <= 0) {
		snprintf(buf, len, "never");
		return buf;
	}
	d = (long long)time(NULL) - then;
	if (d < 0) /* the controller's clock is ahead of ours */
		d = 0;
	if (d < 60)
		snprintf(buf, len, "%llds ago", d);
	else if (d < 3600)
		snprintf(buf, len, "%lldm ago", d / 60);
	else if (d < 86400)
		snprintf(buf, len, "%lldh ago", d / 3600);
	else
		snprintf(buf, len, "%lldd ago", d / 86400);
	return buf;
}

/* The services a {"svc": true|false} object sets true, joined with sep;
 * "-" for none. malloc'd. */
static char *shared_names(json_object *shares, const char *sep)
{
	json_object *names = json_object_new_array();
	char *out;

	if (shares && json_object_is_type(shares, json_type_object)) {
		json_object_object_foreach(shares, name, on) {
			if (json_object_get_boolean(on))
				json_object_array_add(
					names, json_object_new_string(name));
		}
	}
	out = cli_join(names, sep, NULL);
	json_object_put(names);
	return out;
}

/* What we share with the cell (inbound) or it with us (outbound). */
static char *permission_names(json_object *perm, const char *dir,
			      const char *sep)
{
	return shared_names(cli_member(perm, dir), sep);
}

/* "ok" once the cell has what we share; else "pending", with why the
 * last push failed. */
static void fmt_push(json_object *c, char *buf, size_t len)
{
	const char *why = cli_str(c, "last_push_error", "");

	if (!cli_bool(c, "pending_push"))
		snprintf(buf, len, "ok");
	else if (why[0])
		snprintf(buf, len, "pending: %s", why);
	else
		snprintf(buf, len, "pending");
}

/* "HTTP 200, 12s ago", or "no answer, ..."; "never" before the first. */
static void fmt_last_push(json_object *c, char *buf, size_t len)
{
	long long at = cli_int(c, "last_push_at", 0);
	long long status = cli_int(c, "last_push_status", 0);
	char age[32];

	if (at <= 0)
		snprintf(buf, len, "never");
	else if (status)
		snprintf(buf, len, "HTTP %lld, %s", status,
			 fmt_age(age, sizeof(age), at));
	else
		snprintf(buf, len, "no answer, %s",
			 fmt_age(age, sizeof(age), at));
}

/* The block of `cell show`; add prints it for the new link. */
static void print_cell(json_object *c)
{
	json_object *perm = cli_member(c, "permissions");
	char *ours = permission_names(perm, "inbound", ", ");
	char *theirs = permission_names(perm, "outbound", ", ");
	char age[32], push[256];

	kv_print(stdout, "cell", "%s", cli_str(c, "cell_name", "-"));
	kv_print(stdout, "public key", "%s", cli_str(c, "public_key", "-"));
	kv_print(stdout, "endpoint", "%s", cli_str(c, "endpoint", "-"));
	kv_print(stdout, "vpn subnet", "%s", cli_str(c, "vpn_subnet", "-"));
	kv_print(stdout, "wg address", "%s", cli_str(c, "wg_address", "-"));
	if (cli_member(c, "dns_ip"))
		kv_print(stdout, "dns ip", "%s", cli_str(c, "dns_ip", "-"));
	kv_print(stdout, "domain", "%s", cli_str(c, "domain", "-"));
	kv_print(stdout, "sync port", "%lld", cli_int(c, "sync_port", 0));
	kv_print(stdout, "pairing port", "%lld", cli_int(c, "pairing_port", 0));
	kv_print(stdout, "linked", "%s",
		 fmt_age(age, sizeof(age), cli_int(c, "linked_at", 0)));
	kv_print(stdout, "handshake", "%s",
		 fmt_age(age, sizeof(age), cli_int(c, "last_handshake_at", 0)));
	kv_print(stdout, "we share", "%s", ours ? ours : "-");
	kv_print(stdout, "they share", "%s", theirs ? theirs : "-");
	fmt_push(c, push, sizeof(push));
	kv_print(stdout, "push", "%s", push);
	fmt_last_push(c, push, sizeof(push));
	kv_print(stdout, "last push", "%s", push);
	kv_print(stdout, "remote update", "%s",
		 fmt_age(age, sizeof(age),
			 cli_int(c, "last_remote_update_at", 0)));
	if (cli_member(c, "counters")) /* the cell's traffic, here */
		cli_print_counters(cli_member(c, "counters"));
	free(ours);
	free(theirs);
}

/* After add, how to share services with the new cell. */
static void print_added(json_object *c)
{
	print_cell(c);
	printf("\nshare services with it: cellgate cell share %s "
	       "--service SVC...\n",
	       cli_str(c, "cell_name", "NAME"));
}

static void print_permissions(json_object *perm)
{
	char *ours = permission_names(perm, "inbound", ", ");
	char *theirs = permission_names(perm, "outbound", ", ");

	printf("we share: %s\n", ours ? ours : "-");
	printf("they share: %s\n", theirs ? theirs : "-");
	free(ours);
	free(theirs);
}

static void add_cell_row(struct table *t, json_object *c)
{
	json_object *perm = cli_member(c, "permissions");
	char *ours = permission_names(perm, "inbound", ",");
	char *theirs = permission_names(perm, "outbound", ",");
	char age[32], push[256];
	const char *row[7];

	fmt_push(c, push, sizeof(push));
	row[0] = cli_str(c, "cell_name", "-");
	row[1] = cli_str(c, "vpn_subnet", "-");
	row[2] = cli_str(c, "endpoint", "-");
	row[3] = fmt_age(age, sizeof(age), cli_int(c, "last_handshake_at", 0));
	row[4] = ours;
	row[5] = theirs;
	row[6] = push;
	table_add(t, row);
	free(ours);
	free(theirs);
}

static void print_cell_table(json_object *cells)
{
	static const char *const head[] = { "CELL",	 "SUBNET", "ENDPOINT",
					    "HANDSHAKE", "SHARED", "THEY SHARE",
					    "PUSH" };
	size_t i, n = json_object_is_type(cells, json_type_array) ?
			      json_object_array_length(cells) :
			      0;
	struct table t;

	table_init(&t, ARRAY_SIZE(head), head, 0);
	for (i = 0; i < n; i++)
		add_cell_row(&t, json_object_array_get_idx(cells, i));
	if (table_print(&t, stdout))
		cli_fail(CLI_OK, "out of memory: some cells are not shown");
	table_free(&t);
}

/* ---- list, show, del, permissions ---------------------------------------- */

int cli_cell_list(struct cli *cli, int argc, char **argv)
{
	return cli_list_objects(cli, argc, argv, "/api/cells",
				print_cell_table);
}

int cli_cell_show(struct cli *cli, int argc, char **argv)
{
	char path[CLI_PATH_MAX];
	const char *name;
	int ret = cli_parse_object(cli, argc, argv, "/api/cells", "", path,
				   sizeof(path), &name);

	if (ret)
		return ret;
	/* The invite routes, not cells: no cell may have these names. */
	if (!strcmp(name, "invite") || !strcmp(name, "invites"))
		return cli_usage_error(cli,
				       "no cell is named '%s' (see cellgate "
				       "cell invite list)",
				       name);
	return cli_get_print(cli, path, print_cell);
}

int cli_cell_del(struct cli *cli, int argc, char **argv)
{
	return cli_delete_object(cli, argc, argv, "/api/cells",
				 "unlinked cell");
}

int cli_cell_permissions(struct cli *cli, int argc, char **argv)
{
	char path[CLI_PATH_MAX];
	const char *name;
	int ret = cli_parse_object(cli, argc, argv, "/api/cells",
				   "/permissions", path, sizeof(path), &name);

	if (ret)
		return ret;
	return cli_get_print(cli, path, print_permissions);
}

/* ---- share --------------------------------------------------------------- */

struct share_args {
	json_object *services; /* names given with --service */
	bool none; /* --none */
};

static int share_option(struct cli *cli, void *ctx, int opt, const char *arg)
{
	struct share_args *a = ctx;
	int ret;

	if (opt == OPT_NONE) {
		a->none = true;
		return CLI_OK;
	}
	ret = cli_check_name(cli, arg);
	if (!ret)
		json_object_array_add(a->services, json_object_new_string(arg));
	return ret;
}

static bool listed(json_object *names, const char *name)
{
	size_t i, n = json_object_array_length(names);

	for (i = 0; i < n; i++)
		if (!strcmp(json_object_get_string(
				    json_object_array_get_idx(names, i)),
			    name))
			return true;
	return false;
}

/* {"inbound": {...}}: each of our services, true if listed. A listed
 * name that is not one of them goes too, for the controller to name. */
static json_object *share_body(json_object *services, json_object *listed_names)
{
	json_object *body = json_object_new_object();
	json_object *in = json_object_new_object();
	size_t i, n = json_object_is_type(services, json_type_array) ?
			      json_object_array_length(services) :
			      0;

	for (i = 0; i < n; i++) {
		const char *name = cli_str(
			json_object_array_get_idx(services, i), "name", NULL);

		if (name)
			json_object_object_add(in, name,
					       json_object_new_boolean(listed(
						       listed_names, name)));
	}
	n = json_object_array_length(listed_names);
	for (i = 0; i < n; i++) {
		const char *name = json_object_get_string(
			json_object_array_get_idx(listed_names, i));

		if (!cli_member(in, name))
			json_object_object_add(in, name,
					       json_object_new_boolean(1));
	}
	json_object_object_add(body, "inbound", in);
	return body;
}

int cli_cell_share(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "service", required_argument, NULL, OPT_SERVICE },
		{ "none", no_argument, NULL, OPT_NONE },
		{ NULL, 0, NULL, 0 },
	};
	struct share_args a = { .services = json_object_new_array() };
	json_object *services = NULL, *body = NULL;
	char path[CLI_PATH_MAX];
	const char *name;
	int ret;

	ret = cli_parse(cli, argc, argv, opts, share_option, &a, &name, 1);
	if (!ret)
		ret = cli_check_name(cli, name);
	if (!ret && a.none && json_object_array_length(a.services))
		ret = cli_usage_error(cli, "--service and --none contradict "
					   "each other");
	if (!ret && !a.none && !json_object_array_length(a.services))
		ret = cli_usage_error(cli, "nothing to share: give --service "
					   "SVC (repeated) or --none");
	if (!ret)
		ret = cli_connect(cli);
	/* Every other service of ours is sent as false: the list is the
	 * whole of what the cell gets. */
	if (!ret)
		ret = cli_call(cli, "GET", "/api/services", NULL, &services,
			       false);
	if (!ret) {
		body = share_body(services, a.services);
		snprintf(path, sizeof(path), "/api/cells/%s/permissions", name);
		ret = cli_send_print(cli, "PUT", path, body, print_permissions);
	}
	json_object_put(body);
	json_object_put(services);
	json_object_put(a.services);
	return ret;
}

/* ---- add ----------------------------------------------------------------- */

/* All of stdin, at most max bytes, NUL-terminated; NULL with errno. */
static char *read_stdin(size_t max, size_t *len)
{
	size_t n = 0, cap = 4096, got;
	char *buf = malloc(cap + 1), *p;

	while (buf) {
		got = fread(buf + n, 1, cap - n, stdin);
		n += got;
		if (n > max) {
			errno = EFBIG;
			break;
		}
		if (n < cap) {
			if (ferror(stdin)) {
				errno = EIO;
				break;
			}
			buf[n] = '\0';
			*len = n;
			return buf;
		}
		cap *= 2;
		p = realloc(buf, cap + 1);
		if (!p)
			break;
		buf = p;
	}
	if (buf)
		explicit_bzero(buf, n);
	free(buf);
	return NULL;
}

/* The invite in file ("-": stdin) as a JSON object, or a usage error:
 * nothing is sent unless it is one. */
static int read_invite(struct cli *cli, const char *file, json_object **out)
{
	const char *what = strcmp(file, "-") ? file : "stdin";
	struct cg_error err = { 0 };
	size_t len = 0;
	char *buf;

	*out = NULL;
	buf = strcmp(file, "-") ? read_file(file, INVITE_MAX, &len) :
				  read_stdin(INVITE_MAX, &len);
	if (!buf)
		return cli_usage_error(cli,
				       "cannot read the invite from %s: %s",
				       what, strerror(errno));
	*out = jx_parse_object(buf, len, &err);
	explicit_bzero(buf, len); /* it holds the pairing secret */
	free(buf);
	if (!*out)
		return cli_usage_error(cli,
				       "%s is not an invite (a JSON object "
				       "from cellgate cell invite): %s",
				       what, err.msg);
	return CLI_OK;
}

int cli_cell_add(struct cli *cli, int argc, char **argv)
{
	json_object *invite = NULL;
	const char *file;
	int ret;

	ret = cli_parse(cli, argc, argv, NULL, NULL, NULL, &file, 1);
	if (!ret)
		ret = read_invite(cli, file, &invite);
	if (!ret)
		ret = cli_send_print(cli, "POST", "/api/cells", invite,
				     print_added);
	json_object_put(invite);
	return ret;
}

/* ---- invite -------------------------------------------------------------- */

static void fmt_time(char *buf, size_t len, long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || !localtime_r(&tt, &tm) ||
	    !strftime(buf, len, "%Y-%m-%d %H:%M %Z", &tm))
		snprintf(buf, len, "24 h from now");
}

/* --out: the invite as a 0600 file; say where, never what. */
static int write_invite(struct cli *cli, const char *file, json_object *inv)
{
	const char *text = json_object_to_json_string_ext(
		inv, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			     JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(text);
	char *buf = malloc(len + 2), until[64];
	json_object *o;
	int err;

	if (!buf)
		return cli_fail(CLI_UNREACHABLE, "out of memory");
	memcpy(buf, text, len);
	buf[len++] = '\n';
	err = write_file_atomic(file, buf, len, 0600);
	explicit_bzero(buf, len);
	free(buf);
	if (err)
		return cli_fail(CLI_USAGE,
				"cannot write %s: %s (the invite is unused: "
				"it expires in 24 h)",
				file, strerror(-err));
	if (cli->json) {
		o = json_object_new_object();
		json_object_object_add(
			o, "cell_name",
			json_object_new_string(cli_str(inv, "cell_name", "")));
		json_object_object_add(o, "invite_file",
				       json_object_new_string(file));
		json_object_object_add(
			o, "expires_at",
			json_object_new_int64(cli_int(inv, "expires_at", 0)));
		json_object_object_add(
			o, "invite_id",
			json_object_new_string(cli_str(inv, "invite_id", "")));
		cli_print_json(o);
		json_object_put(o);
		return CLI_OK;
	}
	fmt_time(until, sizeof(until), cli_int(inv, "expires_at", 0));
	printf("wrote the invite of cell %s to %s (mode 0600)\n"
	       "it holds a pairing secret: hand it over privately; single "
	       "use, valid until %s\n"
	       "on the other cell: cellgate cell add FILE\n"
	       "to revoke it: cellgate cell invite del %s\n",
	       cli_str(inv, "cell_name", "-"), file, until,
	       cli_str(inv, "invite_id", "ID"));
	return CLI_OK;
}

static int invite_option(struct cli *cli, void *ctx, int opt, const char *arg)
{
	(void)cli;
	(void)opt;
	*(const char **)ctx = arg; /* --out is the only one */
	return CLI_OK;
}

int cli_cell_invite(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, OPT_OUT },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL;
	json_object *inv;
	int ret;

	ret = cli_parse(cli, argc, argv, opts, invite_option, &file, NULL, 0);
	/* Before the request: each invite takes one of 16 pending slots. */
	if (!ret && file)
		ret = cli_check_writable(cli, file);
	if (!ret)
		ret = cli_connect(cli);
	if (!ret)
		ret = cli_call(cli, "POST", "/api/cells/invite", NULL, &inv,
			       false);
	if (ret)
		return ret;
	if (file) {
		ret = write_invite(cli, file, inv);
	} else {
		cli_print_json(inv);
		cli_fail(CLI_OK, "this invite holds a pairing secret: hand it "
				 "over privately; single use, valid 24 h");
	}
	json_object_put(inv);
	return ret;
}

/* ---- invite list, invite del ---------------------------------------------- */

static void print_invites(json_object *invites)
{
	static const char *const head[] = { "INVITE", "CREATED", "EXPIRES" };
	size_t i, n = json_object_is_type(invites, json_type_array) ?
			      json_object_array_length(invites) :
			      0;
	char created[64], expires[64];
	struct table t;

	table_init(&t, ARRAY_SIZE(head), head, 0);
	for (i = 0; i < n; i++) {
		json_object *inv = json_object_array_get_idx(invites, i);
		const char *row[] = { cli_str(inv, "id", "-"), created,
				      expires };

		fmt_time(created, sizeof(created),
			 cli_int(inv, "created_at", 0));
		fmt_time(expires, sizeof(expires),
			 cli_int(inv, "expires_at", 0));
		table_add(&t, row);
	}
	if (table_print(&t, stdout))
		cli_fail(CLI_OK, "out of memory: some invites are not shown");
	table_free(&t);
}

int cli_cell_invite_list(struct cli *cli, int argc, char **argv)
{
	return cli_list_objects(cli, argc, argv, "/api/cells/invites",
				print_invites);
}

int cli_cell_invite_del(struct cli *cli, int argc, char **argv)
{
	return cli_delete_object(cli, argc, argv, "/api/cells/invites",
				 "revoked invite");
}
