// SPDX-License-Identifier: MIT
/*
 * cellgate token rotate: a new API token in api.token_file. The controller
 * re-reads the file when it changes, so the old token stops working at
 * once; the command then checks that the new one is accepted.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define TOKEN_BYTES 32
/* The controller may notice the new file a moment after the rename:
 * retry a refused token this long before calling it refused. */
#define VERIFY_WAIT_MS 6000
#define VERIFY_STEP_MS 100

enum verdict {
	ACCEPTED, /* the controller answered with the new token */
	NOT_RUNNING, /* no answer: it reads the file when it starts */
	REJECTED, /* it answered, but not with 200 */
};

/* 32 random bytes, hex: the format the controller creates at first start. */
static int write_token(const char *path, char hex[2 * TOKEN_BYTES + 1])
{
	unsigned char raw[TOKEN_BYTES];
	size_t i;
	int err;

	err = random_bytes(raw, sizeof(raw));
	if (err)
		return err;
	for (i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	explicit_bzero(raw, sizeof(raw));
	return write_file_atomic(path, hex, 2 * TOKEN_BYTES, 0600);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* GET /api/status with the new token; *status is the last HTTP status,
 * err why no answer came. */
static enum verdict verify(struct cli *cli, const char *token, long *status,
			   char *err, size_t err_len)
{
	struct cli_http *h = cli_http_new(cli->cfg.api.listen, token);
	enum verdict v = REJECTED;
	struct cli_reply r;
	long waited;

	*status = 0;
	snprintf(err, err_len, "out of memory");
	if (!h)
		return NOT_RUNNING;
	for (waited = 0; waited <= VERIFY_WAIT_MS; waited += VERIFY_STEP_MS) {
		if (cli_http_request(h, "GET", "/api/status", NULL, &r, err,
				     err_len)) {
			v = NOT_RUNNING;
			break;
		}
		*status = r.status;
		cli_reply_free(&r);
		if (*status != 401) {
			v = *status == 200 ? ACCEPTED : REJECTED;
			break;
		}
		sleep_ms(VERIFY_STEP_MS);
	}
	cli_http_free(h);
	return v;
}

static void print_json(const char *path, bool verified)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "token_file", json_object_new_string(path));
	json_object_object_add(o, "verified",
			       json_object_new_boolean(verified));
	cli_print_json(o);
	json_object_put(o);
}

/* Say what happened; the exit code. */
static int report(struct cli *cli, enum verdict v, long status, const char *err)
{
	const char *path = cli->cfg.api.token_file;

	if (cli->json)
		print_json(path, v == ACCEPTED);
	if (v == ACCEPTED) {
		if (!cli->json)
			printf("new API token written to %s\n"
			       "the controller accepts it; the old token no "
			       "longer works\n",
			       path);
		return CLI_OK;
	}
	if (v == NOT_RUNNING) {
		if (!cli->json)
			printf("new API token written to %s\n"
			       "not verified: %s\n"
			       "the controller will use the new token when it "
			       "starts\n",
			       path, err);
		return CLI_OK;
	}
	if (status == 401)
		return cli_fail(CLI_UNAUTHORIZED,
				"new API token written to %s, but the "
				"controller still refuses it after %d s: "
				"restart it to load the token",
				path, VERIFY_WAIT_MS / 1000);
	return cli_fail(cli_exit_of_status(status),
			"new API token written to %s, but GET /api/status "
			"with it answered HTTP %ld",
			path, status);
}

int cli_token_rotate(struct cli *cli, int argc, char **argv)
{
	char token[2 * TOKEN_BYTES + 1], err[512] = "";
	enum verdict v;
	long status;
	int ret;

	ret = cli_parse(cli, argc, argv, NULL, NULL, NULL, NULL, 0);
	if (!ret)
		ret = cli_load_config(cli);
	if (ret)
		return ret;
	ret = write_token(cli->cfg.api.token_file, token);
	if (ret) {
		explicit_bzero(token, sizeof(token));
		return cli_fail(CLI_UNAUTHORIZED,
				"cannot write the API token to %s: %s; the old "
				"token stays",
				cli->cfg.api.token_file, strerror(-ret));
	}
	v = verify(cli, token, &status, err, sizeof(err));
	explicit_bzero(token, sizeof(token));
	return report(cli, v, status, err);
}
