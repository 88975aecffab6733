/* SPDX-License-Identifier: MIT */
/*
 * The command-line client: `cellgate peer add ...` and friends talk to a
 * running controller over its REST API, the way `wg` talks to WireGuard.
 * cli.c has the command table and option parsing, cli_api.c the requests
 * and exit codes, cli_http.c libcurl, cli_syntax.c the spelling of
 * endpoints and the like, cli_table.c human output; each command group
 * has its own file (cli_peer.c, cli_peer_config.c, cli_service.c,
 * cli_forward.c, cli_cell.c, cli_status.c, cli_token.c). `maps` and
 * `monitor` (cli_maps.c, cli_monitor.c) read the pinned maps instead of
 * calling the API. This header is what they share.
 */
#ifndef CELLGATE_CLI_H
#define CELLGATE_CLI_H

#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli_http.h"
#include "config.h"
#include "mapview.h"
#include "pins_ro.h"

/* An API path: a route with one name of at most 64 characters. */
#define CLI_PATH_MAX 128

/* Exit codes: a script can tell why a command failed. */
enum cli_exit {
	CLI_OK = 0,
	CLI_REFUSED = 1, /* the controller refused: 400, 403, 405, 409, 413 */
	CLI_USAGE = 2, /* bad command line or config, nothing was sent */
	CLI_UNREACHABLE = 3, /* no answer, timeout, 5xx (502: a remote cell),
			      * malformed reply */
	CLI_NOT_FOUND = 4, /* 404 */
	CLI_UNAUTHORIZED = 5, /* 401, or the token file is unusable */
};

struct cli_command;

struct cli {
	const char *config_path;
	bool json; /* --json: print the API's JSON, for scripts */
	const struct cli_command *command; /* the one running */
	bool have_config;
	struct cg_config cfg;
	struct cli_http *http; /* connected lazily by cli_connect() */
};

/* A subcommand: argv[0] is its own name, options follow. */
typedef int (*cli_fn)(struct cli *cli, int argc, char **argv);

struct cli_command {
	const char *group; /* "peer" */
	const char *name; /* "add", or NULL for a command of one word */
	cli_fn fn;
	const char *args; /* synopsis of the arguments ('\n': new line) */
	const char *help; /* what it does ('\n': new line) */
};

/* True if word starts a client command (status, peer, service, forward,
 * cell, maps, monitor, token). */
bool cli_is_command(const char *word);
/* Run the client command in argv (argv[0] is its first word). Returns the
 * process exit code. */
int cli_main(const char *config_path, bool json, int argc, char **argv);
/* The synopsis of every client command, for `cellgate --help`. */
void cli_print_commands(FILE *f);

/* ---- for the command files ------------------------------------------ */

/* Report a usage error ("cellgate: peer add: ...") and return CLI_USAGE. */
int cli_usage_error(struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Report a failure: "cellgate: <message>". Returns code. */
int cli_fail(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A command returns this after printing its help: exit 0. */
#define CLI_HELP_SHOWN (-1)
#define CLI_MAX_OPTS 16 /* options of one command (peer set has 9) */

/* Options of a subcommand, parsed with getopt_long; the handler receives
 * each option's value and returns CLI_OK or a usage error. Every command
 * takes --help, --json and --config besides its own options. */
typedef int (*cli_opt_fn)(struct cli *cli, void *ctx, int opt, const char *arg);
/* Parse argv's options (permuted: options may follow arguments), and
 * leave exactly n_pos positional arguments in pos[]. opts (NULL-name
 * terminated, at most CLI_MAX_OPTS) may be NULL. --help prints the
 * command's synopsis and returns CLI_HELP_SHOWN. */
int cli_parse(struct cli *cli, int argc, char **argv, const struct option *opts,
	      cli_opt_fn fn, void *ctx, const char **pos, int n_pos);

/* A usage error unless name is a valid object name; checked before it
 * goes into a URL. */
int cli_check_name(struct cli *cli, const char *name);

/* A usage error unless the directory of path is writable: checked before
 * the request so that a typo is a usage error, not a lost reply. */
int cli_check_writable(struct cli *cli, const char *path);

/* Load the config (CLI_USAGE on error). */
int cli_load_config(struct cli *cli);
/* Load the config and the token, and make the HTTP client. */
int cli_connect(struct cli *cli);

/* A request whose answer is JSON (or nothing, for 204). On success *out
 * holds the JSON (caller puts it; NULL for 204) and CLI_OK is returned;
 * otherwise the error is printed (unless quiet) and its exit code
 * returned. body may be NULL. */
int cli_call(struct cli *cli, const char *method, const char *path,
	     json_object *body, json_object **out, bool quiet);
/* A GET whose answer is not JSON (a config, an image): the raw reply,
 * with errors handled like cli_call's. */
int cli_get_raw(struct cli *cli, const char *path, struct cli_reply *reply);
/* The exit code of an HTTP status (2xx is CLI_OK). */
int cli_exit_of_status(long status);

/* Print a JSON document to stdout (the --json output). */
void cli_print_json(json_object *obj);
/* GET path, then print the JSON (--json) or call print. */
typedef void (*cli_printer)(json_object *obj);
int cli_get_print(struct cli *cli, const char *path, cli_printer print);
/* Send body with method to path, then print the reply like cli_get_print. */
int cli_send_print(struct cli *cli, const char *method, const char *path,
		   json_object *body, cli_printer print);

/* The commands every collection (peers, services, forwards, cells) has,
 * with no options of their own; collection is the API path
 * ("/api/peers"). */
/* `list`: GET the collection and print it. */
int cli_list_objects(struct cli *cli, int argc, char **argv,
		     const char *collection, cli_printer print);
/* Parse "NAME" (checked before it goes into a URL) and the common options
 * only; path is "<collection>/<NAME><suffix>". */
int cli_parse_object(struct cli *cli, int argc, char **argv,
		     const char *collection, const char *suffix, char *path,
		     size_t len, const char **name);
/* `show NAME`: GET the object and print it. */
int cli_show_object(struct cli *cli, int argc, char **argv,
		    const char *collection, cli_printer print);
/* `del NAME`: DELETE the object, then say "<done> NAME" ("deleted peer"). */
int cli_delete_object(struct cli *cli, int argc, char **argv,
		      const char *collection, const char *done);

/* Typed reads that tolerate missing members (fields are added to the API
 * over time, never renamed). */
const char *cli_str(json_object *obj, const char *key, const char *dflt);
long long cli_int(json_object *obj, const char *key, long long dflt);
bool cli_bool(json_object *obj, const char *key);
json_object *cli_member(json_object *obj, const char *key);
/* The members of an array joined with sep, each written by fmt (NULL:
 * the string itself); "-" for an empty or absent array. malloc'd. */
typedef void (*cli_fmt_fn)(json_object *item, char *buf, size_t len);
char *cli_join(json_object *arr, const char *sep, cli_fmt_fn fmt);

/* The rx, tx and drops lines of an identity's (peer's or cell's)
 * counters, for a `show` block. */
void cli_print_counters(json_object *counters);

/* The pinned maps and, for names, the state file, read directly: `maps`
 * and `monitor` work while the controller is stopped. */
struct cli_pinned {
	struct pins_ro pins; /* read-only, but for what `monitor` writes */
	struct mapview_ctx ctx; /* names (NULL without a state file), now */
};

/* Open the maps under the config's bpffs (read-only but for the maps in
 * writable, PINS_RW bits) and the state file (without it, ids stand in
 * for names: said on stderr). */
int cli_pinned_open(struct cli *cli, struct cli_pinned *p, uint64_t writable);
void cli_pinned_close(struct cli_pinned *p);

/* The commands. */
int cli_status(struct cli *cli, int argc, char **argv);
int cli_peer_list(struct cli *cli, int argc, char **argv);
int cli_peer_show(struct cli *cli, int argc, char **argv);
int cli_peer_add(struct cli *cli, int argc, char **argv);
int cli_peer_set(struct cli *cli, int argc, char **argv);
int cli_peer_del(struct cli *cli, int argc, char **argv);
int cli_peer_import(struct cli *cli, int argc, char **argv);
int cli_peer_config(struct cli *cli, int argc, char **argv);
int cli_service_list(struct cli *cli, int argc, char **argv);
int cli_service_show(struct cli *cli, int argc, char **argv);
int cli_service_set(struct cli *cli, int argc, char **argv);
int cli_service_del(struct cli *cli, int argc, char **argv);
int cli_exit_list(struct cli *cli, int argc, char **argv);
int cli_exit_show(struct cli *cli, int argc, char **argv);
int cli_exit_add(struct cli *cli, int argc, char **argv);
int cli_exit_del(struct cli *cli, int argc, char **argv);
int cli_rule_list(struct cli *cli, int argc, char **argv);
int cli_rule_show(struct cli *cli, int argc, char **argv);
int cli_rule_add(struct cli *cli, int argc, char **argv);
int cli_rule_del(struct cli *cli, int argc, char **argv);
int cli_group_list(struct cli *cli, int argc, char **argv);
int cli_group_show(struct cli *cli, int argc, char **argv);
int cli_group_set(struct cli *cli, int argc, char **argv);
int cli_group_del(struct cli *cli, int argc, char **argv);
int cli_forward_list(struct cli *cli, int argc, char **argv);
int cli_forward_show(struct cli *cli, int argc, char **argv);
int cli_forward_add(struct cli *cli, int argc, char **argv);
int cli_forward_del(struct cli *cli, int argc, char **argv);
int cli_token_rotate(struct cli *cli, int argc, char **argv);
int cli_join_token_add(struct cli *cli, int argc, char **argv);
int cli_join_token_list(struct cli *cli, int argc, char **argv);
int cli_join_token_show(struct cli *cli, int argc, char **argv);
int cli_join_token_del(struct cli *cli, int argc, char **argv);
int cli_cell_invite(struct cli *cli, int argc, char **argv);
int cli_cell_invite_list(struct cli *cli, int argc, char **argv);
int cli_cell_invite_del(struct cli *cli, int argc, char **argv);
int cli_cell_list(struct cli *cli, int argc, char **argv);
int cli_cell_show(struct cli *cli, int argc, char **argv);
int cli_cell_add(struct cli *cli, int argc, char **argv);
int cli_cell_del(struct cli *cli, int argc, char **argv);
int cli_cell_share(struct cli *cli, int argc, char **argv);
int cli_cell_permissions(struct cli *cli, int argc, char **argv);
int cli_maps(struct cli *cli, int argc, char **argv);
int cli_monitor(struct cli *cli, int argc, char **argv);

#endif
