// SPDX-License-Identifier: MIT
/*
 * The controller's cost of one change at N peers, without WireGuard or
 * HTTP (issue 16): what ctl_run does to the state and its journal for a
 * PUT of a peer (undo point, change through the indexes, one journal
 * line appended and fdatasync'd, commit, compaction check) and for a
 * POST (a new peer, its address and id from the bitsets), then the load
 * of snapshot and journal. Runs where wireguard-go cannot (100k).
 *
 *   state_bench DIR N... : one line per N with put_p50_us, put_p99_us,
 *   post_per_s, load_ms. DIR on a disk measures its fdatasync too; on
 *   tmpfs (/dev/shm) the CPU alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "state.h"

#define PUTS 2000
#define POSTS 2000

static const char config_json[] =
	"{\"cell_name\": \"bench\", \"domain\": \"bench.cell\", "
	"\"wireguard\": {\"interface\": \"wg0\", \"address\": \"10.0.0.1/14\", "
	"\"listen_port\": 51820, \"private_key_file\": \"/dev/null\"}, "
	"\"bridge\": {\"interface\": \"br0\"}, \"uplink\": {\"interface\": "
	"\"eth0\"}, \"api\": {\"listen\": \"127.0.0.1:8470\", \"token_file\": "
	"\"/dev/null\"}, \"state_dir\": \"/tmp\", \"bpffs\": \"/sys/fs/bpf\", "
	"\"limits\": {\"max_peers\": 1048576}}";

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void die(const char *what, const struct cg_error *err)
{
	fprintf(stderr, "state_bench: %s: %s %s\n", what, err ? err->field : "",
		err ? err->msg : "");
	exit(1);
}

/* One operation as ctl_run persists it. */
static void commit(struct cg_journal *j, struct cg_state *st)
{
	if (journal_append(j, st))
		die("journal_append", NULL);
	state_commit(st);
	journal_maybe_compact(j, st);
}

static json_object *peer_body(unsigned int i)
{
	char body[160];
	wg_key key = { 0 };
	char b64[WG_KEY_B64_LEN + 1];

	memcpy(key, &i, sizeof(i));
	key[31] = 0x5a;
	key_to_base64(b64, key);
	snprintf(body, sizeof(body),
		 "{\"name\": \"p%u\", \"public_key\": \"%s\"}", i, b64);
	return json_tokener_parse(body);
}

static void run(const char *dir, const struct cg_config *cfg, unsigned int n)
{
	static double lat[PUTS];
	struct cg_journal_pos pos;
	struct cg_error err = { 0 };
	struct cg_journal j;
	struct cg_state st;
	char path[512], cmd[600];
	double t0, t_post, t_load;
	json_object *o;
	unsigned int i;

	snprintf(path, sizeof(path), "%s/state.json", dir);
	state_init(&st, cfg);
	for (i = 0; i < n; i++) {
		o = peer_body(i);
		if (state_add_peer(&st, o, NULL, NULL, &err))
			die("add", &err);
		json_object_put(o);
	}
	if (state_save(&st, path))
		die("save", NULL);
	state_free(&st);
	state_init(&st, cfg);
	if (state_load_journaled(&st, path, &pos, &err) ||
	    journal_open(&j, path, &pos, &err))
		die("open", &err);
	for (i = 0; i < PUTS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "p%u", (i * 7919u) % n);
		o = json_tokener_parse(i % 2 ? "{\"internet_access\": true}" :
					       "{\"internet_access\": false}");
		t0 = now_us();
		if (state_begin(&st) ||
		    state_update_peer(&st, name, o, NULL, NULL, &err))
			die("put", &err);
		commit(&j, &st);
		lat[i] = now_us() - t0;
		json_object_put(o);
	}
	t0 = now_us();
	for (i = 0; i < POSTS; i++) {
		o = peer_body(n + i);
		if (state_begin(&st) ||
		    state_add_peer(&st, o, NULL, NULL, &err))
			die("post", &err);
		commit(&j, &st);
		json_object_put(o);
	}
	t_post = now_us() - t0;
	journal_close(&j);
	state_free(&st);
	t0 = now_us();
	state_init(&st, cfg);
	if (state_load(&st, path, &err))
		die("load", &err);
	t_load = now_us() - t0;
	state_free(&st);
	qsort(lat, PUTS, sizeof(lat[0]), cmp_double);
	printf("n=%u put_p50_us=%.0f put_p99_us=%.0f post_per_s=%.0f "
	       "load_ms=%.0f\n",
	       n, lat[PUTS / 2], lat[PUTS * 99 / 100], POSTS / (t_post / 1e6),
	       t_load / 1e3);
	fflush(stdout);
	snprintf(cmd, sizeof(cmd), "rm -f '%s'/state.json*", dir);
	if (system(cmd))
		die("rm", NULL);
}

int main(int argc, char **argv)
{
	static struct cg_config cfg;
	struct cg_error err = { 0 };
	int i;

	if (argc < 3) {
		fprintf(stderr, "usage: state_bench DIR N...\n");
		return 2;
	}
	if (config_parse(config_json, strlen(config_json), &cfg, &err))
		die("config", &err);
	for (i = 2; i < argc; i++)
		run(argv[1], &cfg, (unsigned int)strtoul(argv[i], NULL, 10));
	return 0;
}
