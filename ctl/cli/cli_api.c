// SPDX-License-Identifier: MIT
/*
 * The command-line client's side of the API: config and token, requests,
 * and the mapping of HTTP statuses to exit codes and messages.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define TOKEN_MAX 4096 /* far above the 64 hex chars we write */

int cli_load_config(struct cli *cli)
{
	const char *path = cli->config_path;
	struct cg_error err = { 0 };
	char field[80] = "";

	if (cli->have_config)
		return CLI_OK;
	if (config_load(path, &cli->cfg, &err)) {
		if (err.field[0])
			snprintf(field, sizeof(field), " (field: %s)",
				 err.field);
		/* "cannot read PATH: ..." names the file already. */
		if (strstr(err.msg, path))
			return cli_fail(CLI_USAGE, "%s%s", err.msg, field);
		return cli_fail(CLI_USAGE, "%s: %s%s", path, err.msg, field);
	}
	cli->have_config = true;
	return CLI_OK;
}

/* The token file's first line, or NULL (reported). The caller wipes and
 * frees it. */
static char *read_token(const char *path)
{
	char *buf = read_file(path, TOKEN_MAX, NULL);

	if (!buf) {
		cli_fail(CLI_UNAUTHORIZED,
			 "cannot read the API token from %s: %s", path,
			 strerror(errno));
		return NULL;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0]) {
		cli_fail(CLI_UNAUTHORIZED, "the API token file %s is empty",
			 path);
		free(buf);
		return NULL;
	}
	return buf;
}

int cli_connect(struct cli *cli)
{
	char *token;
	int ret;

	if (cli->http)
		return CLI_OK;
	ret = cli_load_config(cli);
	if (ret)
		return ret;
	token = read_token(cli->cfg.api.token_file);
	if (!token)
		return CLI_UNAUTHORIZED;
	cli->http = cli_http_new(cli->cfg.api.listen, token);
	explicit_bzero(token, strlen(token));
	free(token);
	if (!cli->http)
		return cli_fail(
			CLI_UNREACHABLE,
			"cannot set up an HTTP client (out of memory?)");
	return CLI_OK;
}

int cli_exit_of_status(long status)
{
	if (status >= 200 && status < 300)
		return CLI_OK;
	if (status == 401)
		return CLI_UNAUTHORIZED;
	if (status == 404)
		return CLI_NOT_FOUND;
	if (status >= 400 && status < 500)
		return CLI_REFUSED;
	return CLI_UNREACHABLE; /* 5xx, or a status the API never sends */
}

/* "cellgate: <error> (field: <field>)", from the API's error object. */
static int report_error(struct cli *cli, const struct cli_reply *r)
{
	int code = cli_exit_of_status(r->status);
	const char *msg = cli_str(r->json, "error", NULL);
	const char *field = cli_str(r->json, "field", "");

	if (!msg)
		return cli_fail(CLI_UNREACHABLE,
				"malformed reply from %s: HTTP %ld without an "
				"error message",
				cli->cfg.api.listen, r->status);
	/* 502: the controller works, another cell did not answer it. */
	if (r->status >= 500 && r->status != 502)
		fprintf(stderr, "cellgate: the controller failed (HTTP %ld): ",
			r->status);
	else
		fputs("cellgate: ", stderr);
	if (field[0])
		fprintf(stderr, "%s (field: %s)\n", msg, field);
	else
		fprintf(stderr, "%s\n", msg);
	if (r->status == 401)
		cli_fail(code, "the token is read from %s",
			 cli->cfg.api.token_file);
	return code;
}

/* One request; CLI_OK with the reply in r, or an exit code (reported
 * unless quiet) with r freed. */
static int request(struct cli *cli, const char *method, const char *path,
		   const char *body, struct cli_reply *r, bool quiet)
{
	char err[512];
	int code;

	if (cli_http_request(cli->http, method, path, body, r, err,
			     sizeof(err)))
		return quiet ? CLI_UNREACHABLE :
			       cli_fail(CLI_UNREACHABLE, "%s", err);
	code = cli_exit_of_status(r->status);
	if (code && !quiet)
		code = report_error(cli, r);
	if (code)
		cli_reply_free(r);
	return code;
}

int cli_call(struct cli *cli, const char *method, const char *path,
	     json_object *body, json_object **out, bool quiet)
{
	const char *text = NULL;
	struct cli_reply r;
	int code;

	*out = NULL;
	if (body)
		text = json_object_to_json_string_ext(
			body, JSON_C_TO_STRING_PLAIN |
				      JSON_C_TO_STRING_NOSLASHESCAPE);
	code = request(cli, method, path, text, &r, quiet);
	if (code)
		return code;
	if (!r.json && r.status != 204) {
		long status = r.status;

		cli_reply_free(&r);
		return quiet ? CLI_UNREACHABLE :
			       cli_fail(CLI_UNREACHABLE,
					"malformed reply from %s: HTTP %ld "
					"without JSON",
					cli->cfg.api.listen, status);
	}
	*out = json_object_get(r.json);
	cli_reply_free(&r);
	return CLI_OK;
}

int cli_get_raw(struct cli *cli, const char *path, struct cli_reply *reply)
{
	return request(cli, "GET", path, NULL, reply, false);
}

void cli_print_json(json_object *obj)
{
	puts(json_object_to_json_string_ext(
		obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			     JSON_C_TO_STRING_NOSLASHESCAPE));
}

int cli_send_print(struct cli *cli, const char *method, const char *path,
		   json_object *body, cli_printer print)
{
	json_object *out;
	int ret = cli_connect(cli);

	if (!ret)
		ret = cli_call(cli, method, path, body, &out, false);
	if (ret)
		return ret;
	if (out && cli->json)
		cli_print_json(out);
	else if (out) /* 204 has nothing to show */
		print(out);
	json_object_put(out);
	return CLI_OK;
}

int cli_get_print(struct cli *cli, const char *path, cli_printer print)
{
	return cli_send_print(cli, "GET", path, NULL, print);
}

/* ---- list, show, del ------------------------------------------------------- */

int cli_list_objects(struct cli *cli, int argc, char **argv,
		     const char *collection, cli_printer print)
{
	int ret = cli_parse(cli, argc, argv, NULL, NULL, NULL, NULL, 0);

	if (ret)
		return ret;
	return cli_get_print(cli, collection, print);
}

int cli_parse_object(struct cli *cli, int argc, char **argv,
		     const char *collection, const char *suffix, char *path,
		     size_t len, const char **name)
{
	int ret = cli_parse(cli, argc, argv, NULL, NULL, NULL, name, 1);

	if (!ret)
		ret = cli_check_name(cli, *name);
	if (!ret)
		snprintf(path, len, "%s/%s%s", collection, *name, suffix);
	return ret;
}

int cli_show_object(struct cli *cli, int argc, char **argv,
		    const char *collection, cli_printer print)
{
	char path[CLI_PATH_MAX];
	const char *name;
	int ret = cli_parse_object(cli, argc, argv, collection, "", path,
				   sizeof(path), &name);

	if (ret)
		return ret;
	return cli_get_print(cli, path, print);
}

int cli_delete_object(struct cli *cli, int argc, char **argv,
		      const char *collection, const char *done)
{
	char path[CLI_PATH_MAX];
	json_object *out;
	const char *name;
	int ret = cli_parse_object(cli, argc, argv, collection, "", path,
				   sizeof(path), &name);

	if (!ret)
		ret = cli_connect(cli);
	if (!ret)
		ret = cli_call(cli, "DELETE", path, NULL, &out, false);
	if (ret)
		return ret;
	json_object_put(out);
	if (!cli->json) /* 204: the API says nothing, neither does --json */
		printf("%s %s\n", done, name);
	return CLI_OK;
}

/* ---- reading replies --------------------------------------------------- */

json_object *cli_member(json_object *obj, const char *key)
{
	json_object *v = NULL;

	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

const char *cli_str(json_object *obj, const char *key, const char *dflt)
{
	json_object *v = cli_member(obj, key);

	return v && json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) :
		       dflt;
}

long long cli_int(json_object *obj, const char *key, long long dflt)
{
	json_object *v = cli_member(obj, key);

	return v && json_object_is_type(v, json_type_int) ?
		       (long long)json_object_get_int64(v) :
		       dflt;
}

bool cli_bool(json_object *obj, const char *key)
{
	json_object *v = cli_member(obj, key);

	return v && json_object_get_boolean(v);
}

char *cli_join(json_object *arr, const char *sep, cli_fmt_fn fmt)
{
	size_t i, n, len = 0, cap = 64;
	char *out = malloc(cap), item[160];

	n = arr && json_object_is_type(arr, json_type_array) ?
		    json_object_array_length(arr) :
		    0;
	if (!out)
		return NULL;
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		size_t need;
		char *p;

		if (fmt)
			fmt(v, item, sizeof(item));
		else
			snprintf(item, sizeof(item), "%s",
				 json_object_get_string(v));
		need = len + strlen(sep) + strlen(item) + 1;
		if (need > cap) {
			cap = 2 * need;
			p = realloc(out, cap);
			if (!p)
				break; /* print what fits */
			out = p;
		}
		len += (size_t)sprintf(out + len, "%s%s", i ? sep : "", item);
	}
	if (!n)
		snprintf(out, cap, "-");
	return out;
}
