// SPDX-License-Identifier: MIT
/*
 * The command-line client: the command table, usage, and option parsing.
 * Talking to the controller is in cli_api.c, the commands in cli_*.c.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* In args and help, '\n' breaks the line; usage indents what follows. */
static const struct cli_command commands[] = {
	{ "status", NULL, cli_status, "",
	  "the controller, its programs and how full its maps are" },
	{ "peer", "list", cli_peer_list, "",
	  "every peer with its traffic and drops" },
	{ "peer", "show", cli_peer_show, "NAME", "one peer with its counters" },
	{ "peer", "add", cli_peer_add,
	  "NAME [--ip IP] [--ip6 IP6] [--public-key KEY] [--service SVC]...\n"
	  "[--internet] [--peer-to-peer] [--group G]... [--exit EXIT]",
	  "add a peer; without --public-key the controller makes its key\n"
	  "pair, without --ip (--ip6, in an IPv6 cell) it takes the next\n"
	  "free address" },
	{ "peer", "set", cli_peer_set,
	  "NAME [--ip IP] [--ip6 IP6] [--public-key KEY]\n"
	  "[--services SVC,SVC | --no-services]\n"
	  "[--internet on|off] [--peer-to-peer on|off]\n"
	  "[--group G... | --no-groups]\n"
	  "[--down-mbit N --up-mbit N | --no-rate-limit]\n"
	  "[--exit EXIT|none]",
	  "change the fields given, keep the others (--group: the whole\n"
	  "list of groups, repeated; --no-groups: none; --down-mbit and\n"
	  "--up-mbit: the whole rate limit, a direction not given is\n"
	  "unlimited; --no-rate-limit: none; --exit none: the uplink)" },
	{ "peer", "del", cli_peer_del, "NAME", "remove a peer" },
	{ "peer", "import", cli_peer_import,
	  "FILE|- [--service SVC]... [--internet] [--peer-to-peer]\n"
	  "[--group G]...",
	  "add many peers at once, all or none: {\"peers\": [...]} as\n"
	  "JSON, or lines \"<public_key> <ip> [comment]\" (the comment\n"
	  "becomes the name; '#' lines are skipped); the options fill\n"
	  "what an entry does not say" },
	{ "peer", "config", cli_peer_config, "NAME [--qr FILE.png]",
	  "print the peer's wg-quick config, or write it as a QR code" },
	{ "service", "list", cli_service_list, "", "every service" },
	{ "service", "show", cli_service_show, "NAME", "one service" },
	{ "service", "set", cli_service_set,
	  "NAME [--endpoint IP/PROTO[:PORT]]...\n"
	  "[--dnat PROTO:PORT:TO_IP:TO_PORT]...",
	  "create or replace a service with exactly these endpoints (PROTO\n"
	  "tcp, udp, icmp or any; without PORT, every port) and dnat rules" },
	{ "service", "del", cli_service_del, "NAME",
	  "remove a service that no peer uses" },
	{ "exit", "list", cli_exit_list, "",
	  "every exit: kind, state (down: its peers' internet traffic is\n"
	  "held back), interface, the peers using it" },
	{ "exit", "show", cli_exit_show, "NAME", "one exit with its traffic" },
	{ "exit", "add", cli_exit_add,
	  "NAME --kind interface --interface IF [--gateway IP]\n"
	  "[--address CIDR] [--no-masquerade] | NAME --kind wireguard\n"
	  "--endpoint IP:PORT --public-key KEY --address CIDR\n"
	  "[--address6 CIDR] [--private-key KEY]",
	  "create or replace an exit: an existing link, or a WireGuard\n"
	  "tunnel the cell creates (cgx-NAME; its key generated when none\n"
	  "is given); peers choose it with 'peer set NAME --exit EXIT'" },
	{ "exit", "del", cli_exit_del, "NAME",
	  "remove an exit that no peer uses" },
	{ "rule", "list", cli_rule_list, "", "every rule between peers" },
	{ "rule", "show", cli_rule_show, "NAME", "one rule" },
	{ "rule", "add", cli_rule_add,
	  "NAME --from SEL --to SEL [--port PORT]...",
	  "create or replace a rule: SEL may open flows to SEL (SEL:\n"
	  "group:G, peer:NAME, cell:NAME; --to also service:NAME) on\n"
	  "PORT (tcp/22, udp/53, tcp/8000-8100, icmp; default any)" },
	{ "rule", "del", cli_rule_del, "NAME", "remove a rule" },
	{ "group", "list", cli_group_list, "",
	  "every group in use (by a peer, a rule or settings), its\n"
	  "members and rate limit" },
	{ "group", "show", cli_group_show, "NAME", "one group" },
	{ "group", "set", cli_group_set,
	  "NAME [--down-mbit N --up-mbit N | --no-rate-limit]",
	  "set the group's rate limit (the whole limit: a direction not\n"
	  "given is unlimited); each member gets the tighter of its own\n"
	  "and its groups', per direction" },
	{ "group", "del", cli_group_del, "NAME",
	  "clear the group's settings (its peers stay in it)" },
	{ "forward", "list", cli_forward_list, "",
	  "every port forward with its traffic" },
	{ "forward", "show", cli_forward_show, "ID",
	  "one port forward with its counters" },
	{ "forward", "add", cli_forward_add,
	  "ID --proto tcp|udp --public-port N --target IP:PORT\n"
	  "[--allow-from CIDR]... [--snat auto|always|never]",
	  "forward a port of the uplink address to a host over WireGuard,\n"
	  "on the bridge or in local_networks; --allow-from admits only\n"
	  "these sources; --snat: the target sees the cell's WireGuard\n"
	  "address (always; auto: when it is over WireGuard) or the\n"
	  "client's (never)" },
	{ "forward", "del", cli_forward_del, "ID",
	  "remove a port forward and the connections it carries" },
	{ "cell", "invite", cli_cell_invite, "[--out FILE]",
	  "a new invite for another cell to link with this one; it holds a\n"
	  "pairing secret (single use, valid 24 h): --out writes it to a\n"
	  "0600 file, else it goes to stdout" },
	{ "cell", "invite list", cli_cell_invite_list, "",
	  "pending invites (id, created, expires), without their secrets" },
	{ "cell", "invite del", cli_cell_invite_del, "ID",
	  "revoke a pending invite: it can no longer link a cell" },
	{ "cell", "list", cli_cell_list, "",
	  "linked cells: handshake, what each side shares, push status" },
	{ "cell", "show", cli_cell_show, "NAME", "one linked cell" },
	{ "cell", "add", cli_cell_add, "FILE|-",
	  "link the cell whose invite is in FILE (-: stdin), on both sides" },
	{ "cell", "del", cli_cell_del, "NAME",
	  "unlink a cell, here and (best effort) there" },
	{ "cell", "share", cli_cell_share, "NAME [--service SVC]... [--none]",
	  "share exactly these services of this cell with the cell (--none:\n"
	  "nothing); it is told at once" },
	{ "cell", "permissions", cli_cell_permissions, "NAME",
	  "what we share with the cell, and what it says it shares with us" },
	{ "maps", NULL, cli_maps, "[NAME]",
	  "the pinned BPF maps (without NAME: each with its size), decoded\n"
	  "with names; reads them directly, the controller may be stopped" },
	{ "monitor", NULL, cli_monitor,
	  "[--peer NAME] [--reason REASON] [--trace] [--rate N]\n"
	  "[--count N] [--duration SECONDS]",
	  "drop events as the programs see them (with --trace, new flows\n"
	  "too), for one peer or cell, or one reason; at most N events per\n"
	  "second and CPU (default 1000); how many the rate limit refused\n"
	  "or a full ring buffer lost is said at the end" },
	{ "token", "rotate", cli_token_rotate, "",
	  "write a new API token; the old one stops working at once" },
	{ "join-token", "add", cli_join_token_add,
	  "NAME [--service SVC]... [--internet] [--group G]...\n"
	  "[--expires-in SECONDS] [--max-uses N]",
	  "a token devices enrol with (POST /api/join on join.listen): their\n"
	  "peers get these services and internet access; the secret is\n"
	  "printed once, the cell keeps its hash" },
	{ "join-token", "list", cli_join_token_list, "",
	  "join tokens: uses, uses left, expiry; never their secrets" },
	{ "join-token", "show", cli_join_token_show, "NAME", "one join token" },
	{ "join-token", "del", cli_join_token_del, "NAME",
	  "revoke a join token (the peers it made stay)" },
};

/* Print text, starting each line after the first with indent. */
static void put_indented(FILE *f, const char *text, const char *indent)
{
	for (; *text; text++) {
		fputc(*text, f);
		if (*text == '\n')
			fputs(indent, f);
	}
}

static void print_synopsis(FILE *f, const struct cli_command *c,
			   const char *indent)
{
	fprintf(f, "%s%s%s%s", c->group, c->name ? " " : "",
		c->name ? c->name : "", c->args[0] ? " " : "");
	put_indented(f, c->args, indent);
}

void cli_print_commands(FILE *f)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		fputs("  ", f);
		print_synopsis(f, &commands[i], "        ");
		fputs("\n      ", f);
		put_indented(f, commands[i].help, "      ");
		fputc('\n', f);
	}
}

/* The synopsis of one command; with help, what it does too. */
static void print_usage(FILE *f, const struct cli_command *c, bool help)
{
	fputs("Usage: cellgate ", f);
	print_synopsis(f, c, "           ");
	fputc('\n', f);
	if (!help)
		return;
	fputs("\n", f);
	put_indented(f, c->help, "");
	fputs("\n\nGlobal options and exit codes: cellgate --help\n", f);
}

/* The commands of a group ("peer"), when its subcommand is missing or
 * wrong. */
static void print_group(FILE *f, const char *group)
{
	size_t i;

	fputs("Usage:\n", f);
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].group, group)) {
			fputs("  cellgate ", f);
			print_synopsis(f, &commands[i], "          ");
			fputc('\n', f);
		}
}

bool cli_is_command(const char *word)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].group, word))
			return true;
	return false;
}

int cli_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("cellgate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int cli_usage_error(struct cli *cli, const char *fmt, ...)
{
	const struct cli_command *c = cli->command;
	va_list ap;

	fprintf(stderr, "cellgate: %s%s%s: ", c->group, c->name ? " " : "",
		c->name ? c->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_usage(stderr, c, false);
	return CLI_USAGE;
}

int cli_check_name(struct cli *cli, const char *name)
{
	if (valid_name(name))
		return CLI_OK;
	return cli_usage_error(
		cli, "'%s' is not a valid name ([A-Za-z0-9_.-]{1,64})", name);
}

/* getopt_long said '?': name the offending option as typed. */
static int bad_option(struct cli *cli, const char *arg)
{
	size_t n = strcspn(arg, "=");

	if (strncmp(arg, "--", 2))
		return cli_usage_error(cli, "unknown option '-%c'", optopt);
	if (arg[n] && optopt)
		return cli_usage_error(cli, "option '%.*s' takes no value",
				       (int)n, arg);
	return cli_usage_error(cli, "unknown option '%s'", arg);
}

/* The placeholder of the first positional argument ("NAME"). */
static int missing_arg(struct cli *cli)
{
	const char *args = cli->command->args;

	return cli_usage_error(cli, "missing %.*s", (int)strcspn(args, " "),
			       args);
}

/* The global options, accepted after the command too. */
static int common_option(struct cli *cli, int opt, const char *arg)
{
	if (opt == 'j') {
		cli->json = true;
		return CLI_OK;
	}
	if (opt == 'c') {
		cli->config_path = arg;
		return CLI_OK;
	}
	print_usage(stdout, cli->command, true);
	return CLI_HELP_SHOWN;
}

/* The command's options, then --help, --json and --config. */
static void all_options(const struct option *opts, struct option *all)
{
	static const struct option common[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	size_t n = 0;

	while (opts && opts[n].name && n < CLI_MAX_OPTS) {
		all[n] = opts[n];
		n++;
	}
	/* A command with more options must raise CLI_MAX_OPTS, not lose
	 * its last ones to "unknown option". */
	if (opts && opts[n].name) {
		fprintf(stderr,
			"cellgate: internal error: a command has more "
			"than %d options\n",
			CLI_MAX_OPTS);
		abort();
	}
	memcpy(all + n, common, sizeof(common));
}

int cli_parse(struct cli *cli, int argc, char **argv, const struct option *opts,
	      cli_opt_fn fn, void *ctx, const char **pos, int n_pos)
{
	struct option all[CLI_MAX_OPTS + 4];
	int opt, ret, i;

	all_options(opts, all);
	optind = 0; /* GNU: start over, main() parsed the global options */
	opterr = 0; /* our messages name the command */
	while ((opt = getopt_long(argc, argv, ":hjc:", all, NULL)) != -1) {
		if (opt == '?')
			return bad_option(cli, argv[optind - 1]);
		if (opt == ':')
			return cli_usage_error(cli, "option '%s' needs a value",
					       argv[optind - 1]);
		if (opt == 'h' || opt == 'j' || opt == 'c')
			ret = common_option(cli, opt, optarg);
		else
			ret = fn(cli, ctx, opt, optarg);
		if (ret)
			return ret;
	}
	if (argc - optind < n_pos)
		return missing_arg(cli);
	if (argc - optind > n_pos)
		return cli_usage_error(cli, "unexpected argument '%s'",
				       argv[optind + n_pos]);
	for (i = 0; i < n_pos; i++)
		pos[i] = argv[optind + i];
	return CLI_OK;
}

/* How many words of argv name command c ("peer", "add"; "cell",
 * "invite", "list"): 0 if they do not. */
static int words_of(const struct cli_command *c, int argc, char **argv)
{
	const char *name = c->name;
	int n = 1;

	if (strcmp(c->group, argv[0]))
		return 0;
	while (name && *name) {
		size_t len = strcspn(name, " ");

		if (n >= argc || strlen(argv[n]) != len ||
		    strncmp(argv[n], name, len))
			return 0;
		n++;
		name += len + (name[len] == ' ');
	}
	return n;
}

/* The command argv names, with the most words ("cell invite list"
 * before "cell invite"); *words receives how many it took. */
static const struct cli_command *find(int argc, char **argv, int *words)
{
	const struct cli_command *best = NULL;
	size_t i;

	*words = 0;
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		int n = words_of(&commands[i], argc, argv);

		if (n > *words) {
			best = &commands[i];
			*words = n;
		}
	}
	return best;
}

/* "cellgate peer" alone, "cellgate peer help", "cellgate peer frob". */
static int group_usage(const char *group, const char *name)
{
	if (name && (!strcmp(name, "help") || !strcmp(name, "--help") ||
		     !strcmp(name, "-h"))) {
		print_group(stdout, group);
		return CLI_OK;
	}
	if (name)
		cli_fail(CLI_USAGE, "unknown command '%s %s'", group, name);
	else
		cli_fail(CLI_USAGE, "'%s' needs a subcommand", group);
	print_group(stderr, group);
	return CLI_USAGE;
}

int cli_main(const char *config_path, bool json, int argc, char **argv)
{
	static struct cli cli; /* holds a config: keep it off the stack */
	const struct cli_command *c;
	int ret, words;

	c = find(argc, argv, &words);
	if (!c)
		return group_usage(argv[0], argc > 1 ? argv[1] : NULL);
	cli.config_path = config_path;
	cli.json = json;
	cli.command = c;
	/* A command sees its own (last) name as argv[0]. */
	ret = c->fn(&cli, argc - (words - 1), argv + (words - 1));
	cli_http_free(cli.http);
	cli.http = NULL;
	return ret == CLI_HELP_SHOWN ? CLI_OK : ret;
}
