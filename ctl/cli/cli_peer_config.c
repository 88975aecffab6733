// SPDX-License-Identifier: MIT
/*
 * cellgate peer config: the wg-quick config the cell renders for a peer,
 * printed, or written as a QR code for the WireGuard app to scan.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum {
	OPT_QR = 256, /* above every character getopt could return */
};

int cli_check_writable(struct cli *cli, const char *path)
{
	char dir[PATH_MAX];

	dir_of(path, dir, sizeof(dir));
	if (access(dir, W_OK))
		return cli_usage_error(cli, "cannot write %s: %s", path,
				       strerror(errno));
	return CLI_OK;
}

static int print_config(struct cli *cli, const char *name,
			const struct cli_reply *r)
{
	json_object *o;

	if (strcmp(r->content_type, "text/plain") || !r->len)
		return cli_fail(CLI_UNREACHABLE,
				"malformed reply: expected a text/plain "
				"config, got '%s' (%zu bytes)",
				r->content_type, r->len);
	if (!cli->json) {
		fwrite(r->body, 1, r->len, stdout);
		if (r->body[r->len - 1] != '\n')
			putchar('\n');
		return CLI_OK;
	}
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(
		o, "config", json_object_new_string_len(r->body, (int)r->len));
	cli_print_json(o);
	json_object_put(o);
	return CLI_OK;
}

static int write_qr(struct cli *cli, const char *name, const char *file,
		    const struct cli_reply *r)
{
	static const unsigned char png_sig[8] = { 0x89, 'P',  'N',  'G',
						  '\r', '\n', 0x1a, '\n' };
	json_object *o;
	int err;

	if (r->len < sizeof(png_sig) ||
	    memcmp(r->body, png_sig, sizeof(png_sig)))
		return cli_fail(CLI_UNREACHABLE,
				"malformed reply: expected a PNG image, got "
				"'%s' (%zu bytes)",
				r->content_type, r->len);
	/* 0600: the image holds the peer's private key. */
	err = write_file_atomic(file, r->body, r->len, 0600);
	if (err)
		return cli_fail(CLI_USAGE, "cannot write %s: %s", file,
				strerror(-err));
	if (!cli->json) {
		printf("wrote the config of %s as a QR code to %s (%zu bytes)\n",
		       name, file, r->len);
		return CLI_OK;
	}
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "qr_file", json_object_new_string(file));
	json_object_object_add(o, "bytes",
			       json_object_new_int64((int64_t)r->len));
	cli_print_json(o);
	json_object_put(o);
	return CLI_OK;
}

static int config_option(struct cli *cli, void *ctx, int opt, const char *arg)
{
	(void)cli;
	(void)opt;
	*(const char **)ctx = arg; /* --qr is the only one */
	return CLI_OK;
}

int cli_peer_config(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "qr", required_argument, NULL, OPT_QR },
		{ NULL, 0, NULL, 0 },
	};
	char path[CLI_PATH_MAX];
	const char *name, *qr = NULL;
	struct cli_reply r;
	int ret;

	ret = cli_parse(cli, argc, argv, opts, config_option, &qr, &name, 1);
	if (!ret)
		ret = cli_check_name(cli, name);
	if (!ret && qr)
		ret = cli_check_writable(cli, qr);
	if (!ret)
		ret = cli_connect(cli);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/api/peers/%s/config%s", name,
		 qr ? "?format=qr" : "");
	ret = cli_get_raw(cli, path, &r);
	if (ret)
		return ret;
	ret = qr ? write_qr(cli, name, qr, &r) : print_config(cli, name, &r);
	cli_reply_free(&r);
	return ret;
}
