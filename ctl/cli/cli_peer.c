// SPDX-License-Identifier: MIT
/* cellgate peer list|show|add|set|del|config. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_syntax.h"
#include "cli_table.h"
#include "key.h"

enum {
	OPT_IP = 256, /* above every character getopt could return */
	OPT_KEY,
	OPT_SERVICE,
	OPT_SERVICES,
	OPT_NO_SERVICES,
	OPT_INTERNET,
	OPT_P2P,
	OPT_GROUP,
	OPT_NO_GROUPS,
	OPT_IP6,
	OPT_DOWN_MBIT,
	OPT_UP_MBIT,
	OPT_NO_RATE_LIMIT,
	OPT_EXIT,
};

/* ---- output -------------------------------------------------------------- */

static unsigned long long drops_total(json_object *counters)
{
	json_object *drops = cli_member(counters, "drops");
	unsigned long long sum = 0;

	if (!drops || !json_object_is_type(drops, json_type_object))
		return 0;
	json_object_object_foreach(drops, reason, n) {
		(void)reason;
		sum += (unsigned long long)json_object_get_int64(n);
	}
	return sum;
}

/* "4 (service_denied 3, no_internet 1)": the total, then the reasons. */
static void print_drops(json_object *counters)
{
	json_object *drops = cli_member(counters, "drops");
	char detail[512] = "";
	size_t len = 0;

	if (drops && json_object_is_type(drops, json_type_object)) {
		json_object_object_foreach(drops, reason, n) {
			long long v = json_object_get_int64(n);

			if (v > 0 && len < sizeof(detail))
				len += (size_t)snprintf(
					detail + len, sizeof(detail) - len,
					"%s%s %lld", len ? ", " : "", reason,
					v);
		}
	}
	if (len)
		kv_print(stdout, "drops", "%llu (%s)", drops_total(counters),
			 detail);
	else
		kv_print(stdout, "drops", "0");
}

void cli_print_counters(json_object *c)
{
	char bytes[32];

	kv_print(stdout, "rx", "%lld packets, %s", cli_int(c, "rx_packets", 0),
		 fmt_bytes(bytes, sizeof(bytes),
			   (uint64_t)cli_int(c, "rx_bytes", 0)));
	kv_print(stdout, "tx", "%lld packets, %s", cli_int(c, "tx_packets", 0),
		 fmt_bytes(bytes, sizeof(bytes),
			   (uint64_t)cli_int(c, "tx_bytes", 0)));
	print_drops(c);
}

/* "down 20 Mbit/s, up unlimited", or "-" without a limit. */
static void print_rate_limit(const char *label, json_object *rl)
{
	long long down = cli_int(rl, "down_mbit", 0),
		  up = cli_int(rl, "up_mbit", 0);
	char d[32] = "unlimited", u[32] = "unlimited";

	if (!down && !up) {
		kv_print(stdout, label, "-");
		return;
	}
	if (down)
		snprintf(d, sizeof(d), "%lld Mbit/s", down);
	if (up)
		snprintf(u, sizeof(u), "%lld Mbit/s", up);
	kv_print(stdout, label, "down %s, up %s", d, u);
}

/* The block of `peer show`; add and set print it for the stored peer. */
static void print_peer(json_object *p)
{
	json_object *counters = cli_member(p, "counters");
	char *services = cli_join(cli_member(p, "service_access"), ", ", NULL);
	char *groups = cli_join(cli_member(p, "groups"), ", ", NULL);

	kv_print(stdout, "peer", "%s", cli_str(p, "name", "-"));
	kv_print(stdout, "ip", "%s", cli_str(p, "ip", "-"));
	if (cli_member(p, "ip6"))
		kv_print(stdout, "ip6", "%s", cli_str(p, "ip6", "-"));
	kv_print(stdout, "public key", "%s", cli_str(p, "public_key", "-"));
	kv_print(stdout, "services", "%s", services ? services : "-");
	kv_print(stdout, "internet", "%s",
		 yes_no(cli_bool(p, "internet_access")));
	kv_print(stdout, "peer-to-peer", "%s",
		 yes_no(cli_bool(p, "peer_to_peer")));
	kv_print(stdout, "groups", "%s", groups ? groups : "-");
	print_rate_limit("rate limit", cli_member(p, "rate_limit"));
	/* Said when its groups make it differ from its own. */
	if (cli_member(p, "effective_rate_limit") &&
	    strcmp(json_object_to_json_string(
			   cli_member(p, "effective_rate_limit")),
		   cli_member(p, "rate_limit") ?
			   json_object_to_json_string(
				   cli_member(p, "rate_limit")) :
			   ""))
		print_rate_limit("effective",
				 cli_member(p, "effective_rate_limit"));
	kv_print(stdout, "exit", "%s", cli_str(p, "exit", "uplink"));
	if (cli_member(p, "private_key_stored"))
		kv_print(stdout, "private key", "%s",
			 cli_bool(p, "private_key_stored") ?
				 "kept by the cell, in the client config" :
				 "on the device only");
	if (counters)
		cli_print_counters(counters);
	free(services);
	free(groups);
}

/* The list carries no counters (yet): ask for the peer itself. Quiet: a
 * peer deleted meanwhile just shows "-". */
static json_object *fetch_counters(struct cli *cli, const char *name)
{
	char path[CLI_PATH_MAX];
	json_object *peer = NULL, *counters = NULL;

	if (!name || !valid_name(name))
		return NULL;
	snprintf(path, sizeof(path), "/api/peers/%s", name);
	if (cli_call(cli, "GET", path, NULL, &peer, true) == CLI_OK)
		counters = json_object_get(cli_member(peer, "counters"));
	json_object_put(peer);
	return counters;
}

/* The RX, TX and DROPS cells of a row, "-" without counters. */
struct traffic {
	char rx[32], tx[32], drops[24];
};

static void traffic_cells(json_object *counters, struct traffic *c)
{
	if (!counters) {
		snprintf(c->rx, sizeof(c->rx), "-");
		snprintf(c->tx, sizeof(c->tx), "-");
		snprintf(c->drops, sizeof(c->drops), "-");
		return;
	}
	fmt_bytes(c->rx, sizeof(c->rx),
		  (uint64_t)cli_int(counters, "rx_bytes", 0));
	fmt_bytes(c->tx, sizeof(c->tx),
		  (uint64_t)cli_int(counters, "tx_bytes", 0));
	snprintf(c->drops, sizeof(c->drops), "%llu", drops_total(counters));
}

/* An IP6 column only for an IPv6 cell: IPv4-only cells' tables stay as
 * they were. */
static bool any_ip6(json_object *peers, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cli_member(json_object_array_get_idx(peers, i), "ip6"))
			return true;
	return false;
}

static void add_peer_row(struct cli *cli, struct table *t, json_object *p,
			 bool ip6)
{
	json_object *counters = cli_member(p, "counters"), *fetched = NULL;
	struct traffic c;
	const char *row[9];
	size_t k = 0;
	char *services;

	if (!counters)
		counters = fetched =
			fetch_counters(cli, cli_str(p, "name", NULL));
	traffic_cells(counters, &c);
	services = cli_join(cli_member(p, "service_access"), ",", NULL);
	row[k++] = cli_str(p, "name", "-");
	row[k++] = cli_str(p, "ip", "-");
	if (ip6)
		row[k++] = cli_str(p, "ip6", "-");
	row[k++] = services;
	row[k++] = yes_no(cli_bool(p, "internet_access"));
	row[k++] = yes_no(cli_bool(p, "peer_to_peer"));
	row[k++] = c.rx;
	row[k++] = c.tx;
	row[k] = c.drops;
	table_add(t, row);
	free(services);
	json_object_put(fetched);
}

static void print_peer_table(struct cli *cli, json_object *peers)
{
	static const char *const head[] = { "NAME",	"IP",	"SERVICES",
					    "INTERNET", "P2P",	"RX",
					    "TX",	"DROPS" };
	static const char *const head6[] = { "NAME",	 "IP",	     "IP6",
					     "SERVICES", "INTERNET", "P2P",
					     "RX",	 "TX",	     "DROPS" };
	size_t i, n = json_object_is_type(peers, json_type_array) ?
			      json_object_array_length(peers) :
			      0;
	bool ip6 = any_ip6(peers, n);
	unsigned int r = ip6 ? 1 : 0;
	struct table t;

	if (ip6)
		table_init(&t, ARRAY_SIZE(head6), head6,
			   TABLE_RIGHT(5 + r) | TABLE_RIGHT(6 + r) |
				   TABLE_RIGHT(7 + r));
	else
		table_init(&t, ARRAY_SIZE(head), head,
			   TABLE_RIGHT(5) | TABLE_RIGHT(6) | TABLE_RIGHT(7));
	for (i = 0; i < n; i++)
		add_peer_row(cli, &t, json_object_array_get_idx(peers, i), ip6);
	if (table_print(&t, stdout))
		cli_fail(CLI_OK, "out of memory: some peers are not shown");
	table_free(&t);
}

/* ---- list, show, del ------------------------------------------------------- */

int cli_peer_list(struct cli *cli, int argc, char **argv)
{
	json_object *peers;
	int ret = cli_parse(cli, argc, argv, NULL, NULL, NULL, NULL, 0);

	if (!ret)
		ret = cli_connect(cli);
	if (!ret)
		ret = cli_call(cli, "GET", "/api/peers", NULL, &peers, false);
	if (ret)
		return ret;
	if (cli->json)
		cli_print_json(peers);
	else
		print_peer_table(cli, peers);
	json_object_put(peers);
	return CLI_OK;
}

int cli_peer_show(struct cli *cli, int argc, char **argv)
{
	return cli_show_object(cli, argc, argv, "/api/peers", print_peer);
}

int cli_peer_del(struct cli *cli, int argc, char **argv)
{
	return cli_delete_object(cli, argc, argv, "/api/peers", "deleted peer");
}

/* ---- add, set ------------------------------------------------------------------ */

struct peer_args {
	json_object *body; /* the fields to send */
	bool services, no_services; /* --services, --no-services given */
	bool no_groups; /* --no-groups given */
	bool no_rate_limit; /* --no-rate-limit given */
};

/* --down-mbit N / --up-mbit N: one direction of rate_limit, which is
 * sent whole (the one not given is unlimited). Syntax only: the
 * controller says whether N is in range. */
static int set_rate(struct cli *cli, struct peer_args *a, const char *key,
		    const char *arg)
{
	json_object *rl = cli_member(a->body, "rate_limit");
	char *end;
	long long n = strtoll(arg, &end, 10);

	if (a->no_rate_limit)
		return cli_usage_error(cli,
				       "--%s and --no-rate-limit "
				       "contradict each other",
				       key);
	if (!*arg || *end)
		return cli_usage_error(cli,
				       "--%s takes a whole number of "
				       "Mbit/s, not '%s'",
				       key, arg);
	if (!rl) {
		rl = json_object_new_object();
		json_object_object_add(a->body, "rate_limit", rl);
	}
	json_object_object_add(
		rl, strcmp(key, "down-mbit") ? "up_mbit" : "down_mbit",
		json_object_new_int64(n));
	return CLI_OK;
}

static int set_ip(struct cli *cli, json_object *body, const char *arg)
{
	struct in_addr a;

	if (!parse_ipv4(arg, &a))
		return cli_usage_error(cli, "'%s' is not an IPv4 address", arg);
	json_object_object_add(body, "ip", json_object_new_string(arg));
	return CLI_OK;
}

/* Syntax only: the controller says whether it fits address6. */
static int set_ip6(struct cli *cli, json_object *body, const char *arg)
{
	struct in6_addr a;

	if (!parse_ipv6(arg, &a))
		return cli_usage_error(cli, "'%s' is not an IPv6 address", arg);
	json_object_object_add(body, "ip6", json_object_new_string(arg));
	return CLI_OK;
}

static int set_key(struct cli *cli, json_object *body, const char *arg)
{
	wg_key key;

	if (!key_from_base64(key, arg))
		return cli_usage_error(cli,
				       "'%s' is not a WireGuard public key "
				       "(base64 of 32 bytes)",
				       arg);
	json_object_object_add(body, "public_key", json_object_new_string(arg));
	return CLI_OK;
}

/* --service SVC of peer add, repeated. */
static int add_service(struct cli *cli, json_object *body, const char *arg)
{
	json_object *arr = cli_member(body, "service_access");
	int ret = cli_check_name(cli, arg);

	if (ret)
		return ret;
	if (!arr) {
		arr = json_object_new_array();
		json_object_object_add(body, "service_access", arr);
	}
	json_object_array_add(arr, json_object_new_string(arg));
	return CLI_OK;
}

/* --group G, repeated: the whole list of groups (PUT replaces it). */
static int add_group(struct cli *cli, json_object *body, const char *arg)
{
	json_object *arr = cli_member(body, "groups");
	int ret = cli_check_name(cli, arg);

	if (ret)
		return ret;
	if (!arr) {
		arr = json_object_new_array();
		json_object_object_add(body, "groups", arr);
	}
	json_object_array_add(arr, json_object_new_string(arg));
	return CLI_OK;
}

/* --services A,B of peer set: the whole list. */
static int set_services(struct cli *cli, struct peer_args *a, const char *arg)
{
	char why[256];
	json_object *arr = syntax_names(arg, why, sizeof(why));

	if (!arr)
		return cli_usage_error(
			cli, "%s (--no-services empties the list)", why);
	json_object_object_add(a->body, "service_access", arr);
	a->services = true;
	return CLI_OK;
}

/* A flag of peer add (no arg: on) or an on|off of peer set. */
static int set_switch(struct cli *cli, json_object *body, const char *key,
		      const char *opt, const char *arg)
{
	bool on = true;

	if (arg && !syntax_on_off(arg, &on))
		return cli_usage_error(cli, "%s takes on or off, not '%s'", opt,
				       arg);
	json_object_object_add(body, key, json_object_new_boolean(on));
	return CLI_OK;
}

static int peer_option(struct cli *cli, void *ctx, int opt, const char *arg)
{
	struct peer_args *a = ctx;

	switch (opt) {
	case OPT_IP:
		return set_ip(cli, a->body, arg);
	case OPT_IP6:
		return set_ip6(cli, a->body, arg);
	case OPT_KEY:
		return set_key(cli, a->body, arg);
	case OPT_SERVICE:
		return add_service(cli, a->body, arg);
	case OPT_SERVICES:
		return set_services(cli, a, arg);
	case OPT_NO_SERVICES:
		a->no_services = true;
		json_object_object_add(a->body, "service_access",
				       json_object_new_array());
		return CLI_OK;
	case OPT_INTERNET:
		return set_switch(cli, a->body, "internet_access", "--internet",
				  arg);
	case OPT_P2P:
		return set_switch(cli, a->body, "peer_to_peer",
				  "--peer-to-peer", arg);
	case OPT_GROUP:
		if (a->no_groups)
			return cli_usage_error(cli, "--group and --no-groups "
						    "contradict each other");
		return add_group(cli, a->body, arg);
	case OPT_DOWN_MBIT:
		return set_rate(cli, a, "down-mbit", arg);
	case OPT_UP_MBIT:
		return set_rate(cli, a, "up-mbit", arg);
	case OPT_NO_RATE_LIMIT:
		if (cli_member(a->body, "rate_limit"))
			return cli_usage_error(cli, "--no-rate-limit and "
						    "--down-mbit/--up-mbit "
						    "contradict each other");
		a->no_rate_limit = true;
		json_object_object_add(a->body, "rate_limit", NULL);
		return CLI_OK;
	case OPT_EXIT:
		/* "none": back to the cell's uplink. */
		json_object_object_add(a->body, "exit",
				       strcmp(arg, "none") ?
					       json_object_new_string(arg) :
					       NULL);
		return CLI_OK;
	case OPT_NO_GROUPS:
		if (cli_member(a->body, "groups"))
			return cli_usage_error(cli, "--group and --no-groups "
						    "contradict each other");
		a->no_groups = true;
		json_object_object_add(a->body, "groups",
				       json_object_new_array());
		return CLI_OK;
	}
	return cli_usage_error(cli, "unhandled option");
}

/* After add, how to get the client's configuration. */
static void print_added(json_object *p)
{
	print_peer(p);
	printf("\nclient config: cellgate peer config %s [--qr FILE.png]\n",
	       cli_str(p, "name", "NAME"));
}

int cli_peer_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ip", required_argument, NULL, OPT_IP },
		{ "ip6", required_argument, NULL, OPT_IP6 },
		{ "public-key", required_argument, NULL, OPT_KEY },
		{ "service", required_argument, NULL, OPT_SERVICE },
		{ "internet", no_argument, NULL, OPT_INTERNET },
		{ "peer-to-peer", no_argument, NULL, OPT_P2P },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "exit", required_argument, NULL, OPT_EXIT },
		{ NULL, 0, NULL, 0 },
	};
	struct peer_args a = { .body = json_object_new_object() };
	const char *name;
	int ret;

	ret = cli_parse(cli, argc, argv, opts, peer_option, &a, &name, 1);
	if (!ret)
		ret = cli_check_name(cli, name);
	if (!ret) {
		json_object_object_add(a.body, "name",
				       json_object_new_string(name));
		ret = cli_send_print(cli, "POST", "/api/peers", a.body,
				     print_added);
	}
	json_object_put(a.body);
	return ret;
}

int cli_peer_set(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ip", required_argument, NULL, OPT_IP },
		{ "ip6", required_argument, NULL, OPT_IP6 },
		{ "public-key", required_argument, NULL, OPT_KEY },
		{ "services", required_argument, NULL, OPT_SERVICES },
		{ "no-services", no_argument, NULL, OPT_NO_SERVICES },
		{ "internet", required_argument, NULL, OPT_INTERNET },
		{ "peer-to-peer", required_argument, NULL, OPT_P2P },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "no-groups", no_argument, NULL, OPT_NO_GROUPS },
		{ "down-mbit", required_argument, NULL, OPT_DOWN_MBIT },
		{ "up-mbit", required_argument, NULL, OPT_UP_MBIT },
		{ "no-rate-limit", no_argument, NULL, OPT_NO_RATE_LIMIT },
		{ "exit", required_argument, NULL, OPT_EXIT },
		{ NULL, 0, NULL, 0 },
	};
	struct peer_args a = { .body = json_object_new_object() };
	char path[CLI_PATH_MAX];
	const char *name;
	int ret;

	ret = cli_parse(cli, argc, argv, opts, peer_option, &a, &name, 1);
	if (!ret)
		ret = cli_check_name(cli, name);
	if (!ret && a.services && a.no_services)
		ret = cli_usage_error(cli, "--services and --no-services "
					   "contradict each other");
	if (!ret && json_object_object_length(a.body) == 0)
		ret = cli_usage_error(cli, "nothing to change");
	if (!ret) {
		snprintf(path, sizeof(path), "/api/peers/%s", name);
		ret = cli_send_print(cli, "PUT", path, a.body, print_peer);
	}
	json_object_put(a.body);
	return ret;
}
