// SPDX-License-Identifier: MIT
/*
 * cellgate maps [NAME]: the pinned maps, read directly (not through the
 * API, so it works while the controller is stopped), decoded with the
 * names in the state file.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_table.h"
#include "util.h"

/* Keys up to this size are kept to sort rows by (cg_ct_key is 16). */
#define SORT_KEY_MAX 16

int cli_pinned_open(struct cli *cli, struct cli_pinned *p, uint64_t writable)
{
	char why[PATH_MAX + 256];
	int ret = cli_load_config(cli);

	if (ret)
		return ret;
	ret = pins_ro_open(&p->pins, cli->cfg.bpffs, writable);
	if (ret)
		return cli_fail(CLI_UNREACHABLE,
				"cannot open the maps pinned under %s: %s "
				"(has the controller run since boot?)",
				cli->cfg.bpffs, strerror(-ret));
	if (pins_ro_load_names(&p->pins, &cli->cfg, why, sizeof(why)))
		fprintf(stderr, "cellgate: no names (%s)\n", why);
	p->ctx = (struct mapview_ctx){
		.st = p->pins.st,
		.now_ns = monotonic_ns(),
		.ncpus = p->pins.ncpus,
	};
	return CLI_OK;
}

void cli_pinned_close(struct cli_pinned *p)
{
	pins_ro_close(&p->pins);
}

/* ---- the list of maps ---------------------------------------------------- */

static json_object *map_summary(const struct cli_pinned *p,
				const struct mapview *v)
{
	int fd = p->pins.fd[v->map];
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	json_object *o = json_object_new_object();
	const char *type = "?";
	int n = -1;

	if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
		type = libbpf_bpf_map_type_str(info.type);
		if (info.type != BPF_MAP_TYPE_RINGBUF)
			n = pins_ro_count(&p->pins, v->map);
	}
	json_object_object_add(o, "map",
			       json_object_new_string(dp_map_name(v->map)));
	json_object_object_add(o, "view", json_object_new_string(v->name));
	json_object_object_add(o, "type",
			       json_object_new_string(type ? type : "?"));
	json_object_object_add(o, "entries",
			       n >= 0 ? json_object_new_int(n) : NULL);
	json_object_object_add(o, "capacity",
			       json_object_new_int64(info.max_entries));
	json_object_object_add(
		o, "memory_bytes",
		json_object_new_int64((int64_t)map_memory_bytes(fd)));
	json_object_object_add(o, "about", json_object_new_string(v->about));
	return o;
}

static void print_summary(json_object *arr)
{
	static const char *const head[] = { "MAP",	"TYPE",	  "ENTRIES",
					    "CAPACITY", "MEMORY", "CONTENT" };
	char entries[24], capacity[24], memory[24];
	struct table t;
	size_t i;

	table_init(&t, ARRAY_SIZE(head), head,
		   TABLE_RIGHT(2) | TABLE_RIGHT(3) | TABLE_RIGHT(4));
	for (i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		const char *row[] = { cli_str(o, "map", "-"),
				      cli_str(o, "type", "-"),
				      "-",
				      capacity,
				      memory,
				      cli_str(o, "about", "") };

		if (cli_member(o, "entries")) {
			snprintf(entries, sizeof(entries), "%lld",
				 cli_int(o, "entries", 0));
			row[2] = entries;
		}
		snprintf(capacity, sizeof(capacity), "%lld",
			 cli_int(o, "capacity", 0));
		fmt_bytes(memory, sizeof(memory),
			  (uint64_t)cli_int(o, "memory_bytes", 0));
		table_add(&t, row);
	}
	table_print(&t, stdout);
	table_free(&t);
}

static int list_maps(struct cli *cli, const struct cli_pinned *p)
{
	json_object *arr = json_object_new_array();
	unsigned int i;

	for (i = 0; i < n_mapviews; i++)
		json_object_array_add(arr, map_summary(p, &mapviews[i]));
	if (cli->json)
		cli_print_json(arr);
	else
		print_summary(arr);
	json_object_put(arr);
	return CLI_OK;
}

/* ---- one map's rows ------------------------------------------------------ */

struct sorted_row {
	uint8_t key[SORT_KEY_MAX];
	json_object *row;
};

struct collect {
	const struct mapview *view;
	const struct mapview_ctx *ctx;
	json_object *scratch; /* the rows of the current entry */
	struct sorted_row *rows;
	size_t n, cap;
	size_t key_size;
	bool failed;
};

static int collect_entry(const void *key, const void *value, void *arg)
{
	struct collect *c = arg;
	size_t i, n;

	c->view->rows(c->ctx, key, value, c->scratch);
	n = json_object_array_length(c->scratch);
	for (i = 0; i < n; i++) {
		if (c->n == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 256;
			struct sorted_row *r =
				realloc(c->rows, cap * sizeof(*r));

			if (!r) {
				c->failed = true;
				return 1;
			}
			c->rows = r;
			c->cap = cap;
		}
		memset(c->rows[c->n].key, 0, SORT_KEY_MAX);
		memcpy(c->rows[c->n].key, key,
		       c->key_size < SORT_KEY_MAX ? c->key_size : SORT_KEY_MAX);
		c->rows[c->n++].row = json_object_get(
			json_object_array_get_idx(c->scratch, i));
	}
	json_object_array_del_idx(c->scratch, 0, n);
	return 0;
}

/* Keys in network order (addresses first) sort numerically byte by byte. */
static int by_key(const void *a, const void *b)
{
	return memcmp(((const struct sorted_row *)a)->key,
		      ((const struct sorted_row *)b)->key, SORT_KEY_MAX);
}

static const char *cell_text(json_object *v, char *buf, size_t len)
{
	if (!v)
		return "-";
	if (json_object_is_type(v, json_type_boolean))
		return yes_no(json_object_get_boolean(v));
	if (json_object_is_type(v, json_type_int)) {
		snprintf(buf, len, "%lld", (long long)json_object_get_int64(v));
		return buf;
	}
	return json_object_get_string(v);
}

static void print_rows(const struct mapview *v, json_object *arr)
{
	char heads[TABLE_MAX_COLS][32], cells[TABLE_MAX_COLS][64];
	const char *head[TABLE_MAX_COLS], *row[TABLE_MAX_COLS];
	json_object *first = json_object_array_get_idx(arr, 0);
	unsigned int right = 0;
	size_t n_cols = 0, i, c, k;
	struct table t;

	for (; v->columns[n_cols] && n_cols < TABLE_MAX_COLS; n_cols++) {
		const char *name = v->columns[n_cols];

		for (k = 0; name[k] && k + 1 < sizeof(heads[0]); k++)
			heads[n_cols][k] =
				name[k] == '_' ?
					' ' :
					(char)toupper((unsigned char)name[k]);
		heads[n_cols][k] = '\0';
		head[n_cols] = heads[n_cols];
		if (first &&
		    json_object_is_type(cli_member(first, name), json_type_int))
			right |= TABLE_RIGHT(n_cols);
	}
	table_init(&t, n_cols, head, right);
	for (i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i);

		for (c = 0; c < n_cols; c++)
			row[c] = cell_text(cli_member(o, v->columns[c]),
					   cells[c], sizeof(cells[c]));
		table_add(&t, row);
	}
	table_print(&t, stdout);
	table_free(&t);
}

static int show_map(struct cli *cli, const struct cli_pinned *p,
		    const struct mapview *v)
{
	int fd = p->pins.fd[v->map];
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	struct collect c = { .view = v, .ctx = &p->ctx };
	json_object *arr;
	size_t i;
	int ret;

	if (!v->rows)
		return cli_fail(CLI_USAGE, "%s: %s", dp_map_name(v->map),
				v->about);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return cli_fail(CLI_UNREACHABLE, "%s: %s", dp_map_name(v->map),
				strerror(errno));
	c.key_size = info.key_size;
	c.scratch = json_object_new_array();
	ret = pins_ro_for_each(&p->pins, v->map, collect_entry, &c);
	json_object_put(c.scratch);
	if (ret < 0 || c.failed) {
		for (i = 0; i < c.n; i++)
			json_object_put(c.rows[i].row);
		free(c.rows);
		return cli_fail(CLI_UNREACHABLE, "reading %s: %s",
				dp_map_name(v->map),
				strerror(c.failed ? ENOMEM : -ret));
	}
	/* Arrays come in index order already; hashes in no useful order. */
	if (info.type != BPF_MAP_TYPE_ARRAY &&
	    info.type != BPF_MAP_TYPE_PERCPU_ARRAY)
		qsort(c.rows, c.n, sizeof(*c.rows), by_key);
	arr = json_object_new_array();
	for (i = 0; i < c.n; i++)
		json_object_array_add(arr, c.rows[i].row);
	free(c.rows);
	if (cli->json)
		cli_print_json(arr);
	else
		print_rows(v, arr);
	json_object_put(arr);
	return CLI_OK;
}

/* The positional arguments among argv[1..]: those options (all without a
 * value here) do not start with '-'. */
static int count_positional(int argc, char **argv)
{
	int i, n = 0;

	for (i = 1; i < argc; i++)
		if (argv[i][0] != '-')
			n++;
	return n;
}

static void print_view_names(FILE *f)
{
	unsigned int i;

	fputs("maps:", f);
	for (i = 0; i < n_mapviews; i++)
		fprintf(f, " %s", mapviews[i].name);
	fputc('\n', f);
}

int cli_maps(struct cli *cli, int argc, char **argv)
{
	const char *name = NULL;
	const struct mapview *v = NULL;
	struct cli_pinned p = { 0 };
	int n_pos = count_positional(argc, argv) > 0 ? 1 : 0;
	int ret = cli_parse(cli, argc, argv, NULL, NULL, NULL, &name, n_pos);

	if (ret)
		return ret;
	if (name && !(v = mapview_find(name))) {
		ret = cli_usage_error(cli, "no map '%s'", name);
		print_view_names(stderr);
		return ret;
	}
	ret = cli_pinned_open(cli, &p, 0);
	if (ret)
		return ret;
	ret = v ? show_map(cli, &p, v) : list_maps(cli, &p);
	cli_pinned_close(&p);
	return ret;
}
