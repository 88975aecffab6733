// SPDX-License-Identifier: MIT
/*
 * cellgate peer import FILE|-: many peers in one all-or-nothing call
 * (POST /api/peers/import), from the API's JSON or from the factory's
 * text, one "<public_key> <ip> [comment]" a line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* As much as the API takes in one import. */
#define IMPORT_MAX_INPUT (32u << 20)
/* An import of 100k peers takes seconds, not the usual 10 s limit. */
#define IMPORT_TIMEOUT_S 300

enum { OPT_SERVICE = 256, OPT_INTERNET, OPT_P2P, OPT_GROUP };

/* What the options say of every entry that does not say it itself. */
struct import_opts {
	json_object *services; /* NULL: not given */
	json_object *groups; /* NULL: not given */
	bool internet, p2p;
};

static int import_option(struct cli *cli, void *ctx, int opt, const char *arg)
{
	struct import_opts *o = ctx;
	int ret;

	switch (opt) {
	case OPT_SERVICE:
		ret = cli_check_name(cli, arg);
		if (ret)
			return ret;
		if (!o->services)
			o->services = json_object_new_array();
		json_object_array_add(o->services, json_object_new_string(arg));
		return CLI_OK;
	case OPT_GROUP:
		ret = cli_check_name(cli, arg);
		if (ret)
			return ret;
		if (!o->groups)
			o->groups = json_object_new_array();
		json_object_array_add(o->groups, json_object_new_string(arg));
		return CLI_OK;
	case OPT_INTERNET:
		o->internet = true;
		return CLI_OK;
	case OPT_P2P:
		o->p2p = true;
		return CLI_OK;
	}
	return cli_usage_error(cli, "unhandled option");
}

/* The whole of path ("-": stdin), NUL-terminated; NULL with errno. */
static char *read_input(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	size_t cap = 1 << 16, n = 0, got;
	char *buf = malloc(cap), *p;

	if (!f || !buf)
		goto fail;
	while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (n > IMPORT_MAX_INPUT) {
			errno = EFBIG;
			goto fail;
		}
		if (cap - n - 1 == 0) {
			p = realloc(buf, cap *= 2);
			if (!p)
				goto fail;
			buf = p;
		}
	}
	if (ferror(f))
		goto fail;
	if (f != stdin)
		fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	if (f && f != stdin)
		fclose(f);
	free(buf);
	return NULL;
}

/* A name from a comment: [A-Za-z0-9_.-], anything else a '-', at most
 * CG_NAME_MAX; from the address ("peer-10-0-0-7") when it has none. */
static void name_of(const char *comment, size_t len, const char *ip, char *out)
{
	size_t i, n = 0;

	for (i = 0; i < len && n < CG_NAME_MAX; i++) {
		char ch = comment[i];

		out[n++] = isalnum((unsigned char)ch) || ch == '_' ||
					   ch == '.' || ch == '-' ?
				   ch :
				   '-';
	}
	out[n] = '\0';
	if (n)
		return;
	snprintf(out, CG_NAME_MAX + 1, "peer-%s", ip);
	for (n = 0; out[n]; n++)
		if (out[n] == '.')
			out[n] = '-';
}

/* One line "<key> <ip> [comment]" as a peer object, or NULL (usage). */
static json_object *parse_line(struct cli *cli, char *line, size_t lineno)
{
	char *key = strtok(line, " \t"), *ip = strtok(NULL, " \t");
	char *rest = strtok(NULL, ""), name[CG_NAME_MAX + 1];
	size_t len;
	json_object *p;

	if (!key || !ip) {
		cli_usage_error(cli,
				"line %zu: want <public_key> <ip> "
				"[comment]",
				lineno);
		return NULL;
	}
	while (rest && isspace((unsigned char)*rest))
		rest++;
	len = rest ? strlen(rest) : 0;
	while (len && isspace((unsigned char)rest[len - 1]))
		len--;
	name_of(rest ? rest : "", len, ip, name);
	p = json_object_new_object();
	json_object_object_add(p, "name", json_object_new_string(name));
	json_object_object_add(p, "public_key", json_object_new_string(key));
	json_object_object_add(p, "ip", json_object_new_string(ip));
	return p;
}

/* The factory text as {"peers": [...]}; blank and '#' lines skipped. */
static json_object *parse_text(struct cli *cli, char *text)
{
	json_object *list = json_object_new_array(), *body;
	char *line, *save = NULL;
	size_t lineno = 0;

	/* strtok_r skips empty lines: count them by hand. */
	for (line = text; line; line = save) {
		char *nl = strchr(line, '\n'), *s = line;
		json_object *p;

		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		while (isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			continue;
		p = parse_line(cli, s, lineno);
		if (!p) {
			json_object_put(list);
			return NULL;
		}
		json_object_array_add(list, p);
	}
	body = json_object_new_object();
	json_object_object_add(body, "peers", list);
	return body;
}

/* The options fill what an entry leaves out. */
static void fill_entries(json_object *body, const struct import_opts *o)
{
	json_object *list = cli_member(body, "peers");
	size_t i, n = json_object_is_type(list, json_type_array) ?
			      json_object_array_length(list) :
			      0;

	for (i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(list, i);

		if (!json_object_is_type(p, json_type_object))
			continue;
		if (o->services && !cli_member(p, "service_access"))
			json_object_object_add(p, "service_access",
					       json_object_get(o->services));
		if (o->groups && !cli_member(p, "groups"))
			json_object_object_add(p, "groups",
					       json_object_get(o->groups));
		if (o->internet && !cli_member(p, "internet_access"))
			json_object_object_add(p, "internet_access",
					       json_object_new_boolean(true));
		if (o->p2p && !cli_member(p, "peer_to_peer"))
			json_object_object_add(p, "peer_to_peer",
					       json_object_new_boolean(true));
	}
}

/* The input as the API's body: JSON if it starts with '{', else text. */
static json_object *import_body(struct cli *cli, const char *path)
{
	size_t len;
	char *text = read_input(path, &len), *s;
	json_object *body = NULL;

	if (!text) {
		cli_usage_error(cli, "cannot read %s: %s", path,
				strerror(errno));
		return NULL;
	}
	for (s = text; isspace((unsigned char)*s); s++)
		;
	if (*s == '{') {
		body = json_tokener_parse(s);
		if (!json_object_is_type(body, json_type_object)) {
			json_object_put(body);
			body = NULL;
			cli_usage_error(cli, "%s is not a JSON object", path);
		}
	} else {
		body = parse_text(cli, text);
	}
	free(text);
	return body;
}

static void print_imported(json_object *out)
{
	printf("imported %lld peers\n", cli_int(out, "created", 0));
}

int cli_peer_import(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "service", required_argument, NULL, OPT_SERVICE },
		{ "internet", no_argument, NULL, OPT_INTERNET },
		{ "peer-to-peer", no_argument, NULL, OPT_P2P },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ NULL, 0, NULL, 0 },
	};
	struct import_opts o = { 0 };
	json_object *body = NULL;
	const char *path;
	int ret;

	ret = cli_parse(cli, argc, argv, opts, import_option, &o, &path, 1);
	if (!ret)
		ret = cli_connect(cli);
	if (!ret) {
		body = import_body(cli, path);
		ret = body ? CLI_OK : CLI_USAGE;
	}
	if (!ret) {
		fill_entries(body, &o);
		cli_http_set_timeout(cli->http, IMPORT_TIMEOUT_S);
		ret = cli_send_print(cli, "POST", "/api/peers/import", body,
				     print_imported);
	}
	json_object_put(body);
	json_object_put(o.services);
	json_object_put(o.groups);
	return ret;
}
