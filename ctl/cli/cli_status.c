// SPDX-License-Identifier: MIT
/* cellgate status: the controller, its programs, how full its maps are. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_table.h"

/* 3d 4h 5m 6s, without the leading zero units. */
static void print_uptime(long long s)
{
	char buf[64];
	int n = 0;

	if (s < 0) {
		kv_print(stdout, "uptime", "-");
		return;
	}
	if (s >= 86400)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%lldd ",
			      s / 86400);
	if (s >= 3600)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%lldh ",
			      s % 86400 / 3600);
	if (s >= 60)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%lldm ",
			      s % 3600 / 60);
	snprintf(buf + n, sizeof(buf) - (size_t)n, "%llds", s % 60);
	kv_print(stdout, "uptime", "%s", buf);
}

static void print_summary(json_object *st)
{
	kv_print(stdout, "cell", "%s", cli_str(st, "cell_name", "-"));
	kv_print(stdout, "version", "%s", cli_str(st, "version", "-"));
	kv_print(stdout, "public key", "%s", cli_str(st, "public_key", "-"));
	kv_print(stdout, "wireguard backend", "%s",
		 cli_str(st, "wireguard_backend", "-"));
	print_uptime(cli_int(st, "uptime_seconds", -1));
	kv_print(stdout, "services", "%lld", cli_int(st, "services", 0));
	kv_print(stdout, "peers", "%lld", cli_int(st, "peers", 0));
	kv_print(stdout, "forwards", "%lld", cli_int(st, "forwards", 0));
	if (cli_member(st, "ipv6")) {
		json_object *v6 = cli_member(st, "ipv6");

		kv_print(stdout, "wg address6", "%s",
			 cli_str(v6, "wg_address6", "-"));
		kv_print(stdout, "uplink address6", "%s",
			 cli_str(v6, "uplink_address6", "none"));
		if (cli_member(v6, "prefix6"))
			kv_print(stdout, "routed prefix6", "%s",
				 cli_str(v6, "prefix6", "-"));
	}
	kv_print(stdout, "wireguard repairs", "%lld",
		 cli_int(st, "wireguard_repairs", 0));
	kv_print(stdout, "conntrack gc", "%lld entries deleted",
		 cli_int(st, "conntrack_gc_deleted", 0));
	/* Whether download limits are shaped (fq on wg0) or policed. */
	if (cli_member(st, "rate_limits"))
		kv_print(
			stdout, "download limits", "%s (fq %s)",
			cli_str(cli_member(st, "rate_limits"), "download", "-"),
			cli_str(cli_member(st, "rate_limits"), "fq", "-"));
}

/* The state's generation; loudly, when the start fell back to an older
 * one because the newest did not validate. */
static void print_state(json_object *st)
{
	json_object *s = cli_member(st, "state"), *ref, *v;
	size_t i, n;

	if (!s)
		return;
	kv_print(stdout, "state", "generation %lld, from %s",
		 cli_int(s, "generation", 0), cli_str(s, "started_from", "-"));
	v = cli_member(s, "fell_back");
	if (!v || !json_object_get_boolean(v))
		return;
	printf("\nWARNING: the newest state did not validate; started from "
	       "%s (generation %lld)\n",
	       cli_str(s, "started_from", "-"),
	       cli_int(s, "started_from_generation", 0));
	ref = cli_member(s, "refused");
	n = ref && json_object_is_type(ref, json_type_array) ?
		    json_object_array_length(ref) :
		    0;
	for (i = 0; i < n; i++)
		printf("  refused: %s\n",
		       json_object_get_string(
			       json_object_array_get_idx(ref, i)));
	if (cli_str(s, "lost", "")[0])
		printf("  lost: %s\n", cli_str(s, "lost", ""));
}

/* A number member as text, "-" when absent. */
static const char *num(char *buf, size_t len, json_object *o, const char *key)
{
	long long v = cli_int(o, key, -1);

	if (v < 0)
		return "-";
	snprintf(buf, len, "%lld", v);
	return buf;
}

static void print_programs(json_object *progs)
{
	static const char *const head[] = {
		"HOOK",		  "INTERFACE",	 "ATTACHED", "ID",
		"VERIFIED INSNS", "JITED BYTES", "XDP"
	};
	char id[24], insns[24], jited[24], xdp[64];
	struct table t;
	size_t i, n = progs ? json_object_array_length(progs) : 0;

	table_init(&t, ARRAY_SIZE(head), head,
		   TABLE_RIGHT(3) | TABLE_RIGHT(4) | TABLE_RIGHT(5));
	for (i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(progs, i);
		const char *row[] = {
			cli_str(p, "hook", "-"),
			cli_str(p, "interface", "-"),
			yes_no(cli_bool(p, "attached")),
			num(id, sizeof(id), p, "id"),
			num(insns, sizeof(insns), p, "verified_insns"),
			num(jited, sizeof(jited), p, "jited_bytes"),
			xdp,
		};

		/* XDP: its mode, and libxdp's dispatcher or the fallback. */
		if (strcmp(cli_str(p, "hook", ""), "xdp"))
			snprintf(xdp, sizeof(xdp), "-");
		else
			snprintf(xdp, sizeof(xdp), "%s, %s",
				 cli_str(p, "xdp_mode", "?"),
				 cli_str(p, "libxdp", "?"));

		table_add(&t, row);
	}
	table_print(&t, stdout);
	table_free(&t);
}

static void print_maps(json_object *maps)
{
	static const char *const head[] = { "MAP", "ENTRIES", "CAPACITY",
					    "USE" };
	char entries[24], capacity[24], use[16];
	struct table t;
	size_t i, n = maps ? json_object_array_length(maps) : 0;

	table_init(&t, ARRAY_SIZE(head), head,
		   TABLE_RIGHT(1) | TABLE_RIGHT(2) | TABLE_RIGHT(3));
	for (i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(maps, i);
		long long e = cli_int(m, "entries", -1);
		long long c = cli_int(m, "capacity", -1);
		const char *row[] = {
			cli_str(m, "name", "-"),
			num(entries, sizeof(entries), m, "entries"),
			num(capacity, sizeof(capacity), m, "capacity"), "-"
		};

		if (e >= 0 && c > 0) {
			snprintf(use, sizeof(use), "%.1f%%",
				 100.0 * (double)e / (double)c);
			row[3] = use;
		}
		table_add(&t, row);
	}
	table_print(&t, stdout);
	table_free(&t);
}

static void print_status(json_object *st)
{
	json_object *arr;

	print_summary(st);
	print_state(st);
	arr = cli_member(st, "programs");
	if (arr && json_object_is_type(arr, json_type_array)) {
		putchar('\n');
		print_programs(arr);
	}
	arr = cli_member(st, "maps");
	if (arr && json_object_is_type(arr, json_type_array)) {
		putchar('\n');
		print_maps(arr);
	}
}

int cli_status(struct cli *cli, int argc, char **argv)
{
	int ret = cli_parse(cli, argc, argv, NULL, NULL, NULL, NULL, 0);

	if (ret)
		return ret;
	return cli_get_print(cli, "/api/status", print_status);
}
