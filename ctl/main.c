// SPDX-License-Identifier: MIT
/*
 * cellgate: `cellgate run` is the daemon; the other subcommands act on a
 * cell from the command line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "attach.h"
#include "config.h"
#include "controller.h"
#include "dataplane.h"
#include "dp_exits.h"
#include "listener.h"
#include "log.h"
#include "server.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* The commands main() runs itself; the others are the client's (cli.c). */
struct local_command {
	const char *name;
	const char *args;
	const char *help;
};

static const struct local_command local_commands[] = {
	{ "run", "[--config FILE]", "run the controller and its REST API" },
	{ "detach", "[--config FILE]",
	  "remove cellgate's programs and pinned maps" },
	{ "version", "[--json]", "print the version (also: --version, -V)" },
	{ "state", "check [FILE] [--config FILE] [--json]",
	  "validate the state file (default: state_dir/state.json) and its\n"
	  "      journal offline, as a start would; list the kept generations;\n"
	  "      exit 0 when it validates, 1 when it does not" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: cellgate [--config FILE] [--json] COMMAND [ARGS]\n"
		   "\n"
		   "The daemon:\n");
	for (i = 0; i < ARRAY_SIZE(local_commands); i++)
		fprintf(f, "  %s %s\n      %s\n", local_commands[i].name,
			local_commands[i].args, local_commands[i].help);
	fprintf(f,
		"\n"
		"\n"
		"Client commands (they talk to the running controller's API at\n"
		"api.listen, with the token in api.token_file):\n");
	cli_print_commands(f);
	fprintf(f,
		"\n"
		"Options:\n"
		"  --config FILE  the bootstrap config (default %s)\n"
		"  --json         print the API's JSON instead of tables\n"
		"  --help, -h     this text; COMMAND --help for one command\n"
		"  --version, -V  print the version\n"
		"Global options may also follow the command.\n"
		"\n"
		"Exit status of client commands:\n"
		"  0  success\n"
		"  1  the controller refused the request (400, 403, 405, 409,\n"
		"     413)\n"
		"  2  usage error: bad command line or config; nothing was sent\n"
		"  3  controller unreachable, timeout, 5xx or malformed reply\n"
		"     (502: a cell to link could not be reached)\n"
		"  4  not found (404)\n"
		"  5  unauthorized (401), or the token file cannot be read or\n"
		"     written\n",
		CG_DEFAULT_CONFIG);
}

static int load_config(const char *path, struct cg_config *cfg)
{
	struct cg_error err = { 0 };

	if (config_load(path, cfg, &err)) {
		fprintf(stderr, "cellgate: %s: %s\n", path, err.msg);
		return -1;
	}
	if (!strcmp(cfg->log_level, "error"))
		log_set_level(LOG_LVL_ERR);
	else if (!strcmp(cfg->log_level, "warn"))
		log_set_level(LOG_LVL_WARN);
	else if (!strcmp(cfg->log_level, "debug"))
		log_set_level(LOG_LVL_DEBUG);
	return 0;
}

/* The listeners: the admin API, for cell-to-cell the sync listener (wg
 * address) and the pairing listener (any address), and Prometheus's own
 * when configured. */
struct listeners {
	struct api_server *api, *sync, *pairing, *metrics, *join, *peers,
		*peers6;
};

static int start_listeners(struct controller *c, struct listeners *l)
{
	const struct cg_config *cfg = &c->cfg;
	struct in_addr any = { .s_addr = htonl(INADDR_ANY) };

	memset(l, 0, sizeof(*l));
	c->more_metrics = listener_metrics;
	l->api = api_start(c);
	if (!l->api)
		return -1;
	if (cfg->sync.port) {
		l->sync = api_start_on(c, sync_routes, cfg->wireguard.address,
				       cfg->sync.port, "sync");
		if (!l->sync)
			return -1;
	}
	if (cfg->sync.pairing_port) {
		l->pairing = api_start_on(c, pairing_routes, any,
					  cfg->sync.pairing_port, "pairing");
		if (!l->pairing)
			return -1;
	}
	if (cfg->join.enabled) {
		l->join = cfg->join.listen_v6 ?
				  api_start_on6(c, join_routes,
						&cfg->join.listen_addr6,
						cfg->join.listen_port, "join") :
				  api_start_on(c, join_routes,
					       cfg->join.listen_addr,
					       cfg->join.listen_port, "join");
		if (!l->join)
			return -1;
	}
	if (cfg->peer_api.port) {
		l->peers = api_start_for_peers(c, cfg->wireguard.address,
					       cfg->peer_api.port);
		if (!l->peers)
			return -1;
	}
	if (cfg->peer_api.port && cfg->wireguard.has_address6) {
		l->peers6 = api_start_for_peers6(c, &cfg->wireguard.address6,
						 cfg->peer_api.port);
		if (!l->peers6)
			return -1;
	}
	if (cfg->metrics.enabled) {
		l->metrics = api_start_on(c, metrics_routes,
					  cfg->metrics.listen_addr,
					  cfg->metrics.listen_port, "metrics");
		if (!l->metrics)
			return -1;
	}
	return 0;
}

static void stop_listeners(struct listeners *l)
{
	api_stop(l->metrics);
	api_stop(l->peers6);
	api_stop(l->peers);
	api_stop(l->join);
	api_stop(l->pairing);
	api_stop(l->sync);
	api_stop(l->api);
}

static int cmd_run(const struct cg_config *cfg)
{
	static struct controller ctl; /* large: keep it off the stack */
	struct sigaction sa = { .sa_handler = on_signal };
	struct timespec tick = { .tv_sec = 0, .tv_nsec = 200000000 };
	struct listeners l;
	int ret = 0;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	log_info("cellgate %s starting, cell '%s'", CG_VERSION, cfg->cell_name);
	if (controller_start(&ctl, cfg)) {
		log_err("start failed; whatever a previous run attached keeps "
			"filtering");
		controller_stop(&ctl);
		return 1;
	}
	if (start_listeners(&ctl, &l) || ctl_pusher_start(&ctl)) {
		ret = 1;
		goto out;
	}
	log_info("running: %zu services, %zu peers, %zu forwards, %zu cells "
		 "enforced on %s",
		 ctl.state.n_services, ctl.state.n_peers, ctl.state.n_forwards,
		 ctl.state.n_cells, cfg->wireguard.interface);
	while (!stopping) {
		nanosleep(&tick, NULL);
		controller_tick(&ctl);
	}
	/* Programs and maps stay: filtering goes on without us. */
	log_info("stopping; programs stay attached and keep filtering");
out:
	ctl_pusher_stop(&ctl);
	stop_listeners(&l);
	controller_stop(&ctl);
	return ret;
}

/* Remove ifname's tc filters of cellgate, and its clsact qdisc if
 * cellgate created it (and nothing else uses it). */
static void detach_tc(const struct cg_config *cfg, const char *ifname)
{
	char marker[PATH_MAX];
	bool ours;

	ours = ctl_qdisc_marker(cfg, ifname, marker, sizeof(marker)) == 0 &&
	       access(marker, F_OK) == 0;
	tc_detach(ifname, ours);
	if (ours)
		unlink(marker);
}

/* The anti-spoofing filters on the bridge's ports. */
static void detach_ports(const struct cg_config *cfg)
{
	int idx[DP_MAX_PORTS];
	char name[IF_NAMESIZE];
	size_t i, n;

	if (link_ports(cfg->bridge.interface, idx, DP_MAX_PORTS, &n))
		return;
	/* Their clsact qdiscs stay (no marker: ctl_attach_port). */
	for (i = 0; i < n; i++)
		if (if_indextoname((unsigned int)idx[i], name))
			tc_detach(name, false);
}

/* Remove what cellgate attached and pinned; nothing else. */
static int cmd_detach(const struct cg_config *cfg)
{
	detach_tc(cfg, cfg->wireguard.interface);
	detach_ports(cfg);
	if (cfg->uplink.interface[0]) {
		detach_tc(cfg, cfg->uplink.interface);
		xdp_detach(cfg->uplink.interface, DP_PROG_UPLINK_XDP);
	}
	dp_exits_detach_pinned(cfg->bpffs); /* before the pins go */
	dp_unpin(cfg->bpffs);
	log_info("detached from %s%s%s and unpinned maps under %s",
		 cfg->wireguard.interface,
		 cfg->uplink.interface[0] ? " and " : "", cfg->uplink.interface,
		 cfg->bpffs);
	return 0;
}

static int print_version(bool json)
{
	json_object *o;

	if (!json) {
		printf("cellgate %s\n", CG_VERSION);
		return 0;
	}
	o = json_object_new_object();
	json_object_object_add(o, "version",
			       json_object_new_string(CG_VERSION));
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return 0;
}

static const struct local_command *find_local(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(local_commands); i++)
		if (!strcmp(local_commands[i].name, name))
			return &local_commands[i];
	return NULL;
}

static void local_usage(FILE *f, const struct local_command *lc, bool help)
{
	fprintf(f, "Usage: cellgate %s %s\n", lc->name, lc->args);
	if (help)
		fprintf(f, "\n%s\n\nGlobal options: cellgate --help\n",
			lc->help);
}

/* The options of run, detach and version after the command: the global
 * ones, as before it, and --help; anything else is a usage error (2)
 * before the command acts. Returns -1 to go on, else the exit code. */
static int local_options(const struct local_command *lc, int argc, char **argv,
			 const char **config_path, bool *json)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	optind = 0; /* GNU: start over after the global options */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:jh", opts, NULL)) != -1) {
		if (opt == 'h') {
			local_usage(stdout, lc, true);
			return 0;
		}
		if (opt == 'c') {
			*config_path = optarg;
		} else if (opt == 'j') {
			*json = true;
		} else {
			fprintf(stderr, "cellgate: %s: %s '%s'\n", lc->name,
				opt == ':' ? "option needs a value" :
					     "unknown option",
				argv[optind - 1]);
			local_usage(stderr, lc, false);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cellgate: %s: unexpected argument '%s'\n",
			lc->name, argv[optind]);
		local_usage(stderr, lc, false);
		return 2;
	}
	return -1;
}

/* cellgate state check [FILE]: FILE is the one argument after "check". */
static int cmd_state(const struct local_command *lc, int argc, char **argv,
		     const char *config_path, bool json)
{
	static struct cg_config cfg;
	char path[PATH_MAX];
	const char *file = NULL;
	int ret;

	if (argc < 2 || strcmp(argv[1], "check")) {
		fprintf(stderr, "cellgate: state: expected 'check'\n");
		local_usage(stderr, lc, false);
		return 2;
	}
	if (argc > 2 && argv[argc - 1][0] != '-' &&
	    strcmp(argv[argc - 2], "--config") && strcmp(argv[argc - 2], "-c"))
		file = argv[--argc];
	ret = local_options(lc, argc - 1, argv + 1, &config_path, &json);
	if (ret >= 0)
		return ret;
	if (load_config(config_path, &cfg))
		return 1;
	if (!file) {
		if (path_fmt(path, sizeof(path), "%s/state.json",
			     cfg.state_dir))
			return 1;
		file = path;
	}
	return state_check_main(&cfg, file, json);
}

static int run_local(const struct local_command *lc, int argc, char **argv,
		     const char *config_path, bool json)
{
	static struct cg_config cfg;
	int ret;

	if (!strcmp(lc->name, "state"))
		return cmd_state(lc, argc, argv, config_path, json);
	ret = local_options(lc, argc, argv, &config_path, &json);

	if (ret >= 0)
		return ret;
	if (!strcmp(lc->name, "version"))
		return print_version(json);
	if (load_config(config_path, &cfg))
		return 1;
	if (!strcmp(lc->name, "run"))
		return cmd_run(&cfg);
	return cmd_detach(&cfg);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = CG_DEFAULT_CONFIG;
	const struct local_command *lc;
	bool json = false;
	const char *cmd;
	int opt;

	while ((opt = getopt_long(argc, argv, "+c:jhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			return print_version(json);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	if (cli_is_command(cmd))
		return cli_main(config_path, json, argc - optind,
				argv + optind);
	lc = find_local(cmd);
	if (!lc) {
		fprintf(stderr, "cellgate: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	return run_local(lc, argc - optind, argv + optind, config_path, json);
}
