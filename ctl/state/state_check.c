// SPDX-License-Identifier: MIT
/*
 * `cellgate state check [FILE]`: validate a state file and its journal
 * offline, as a start would load them (strictly: no fallback), and each
 * kept previous generation, so an operator knows before a start what it
 * would refuse and what it could fall back to. Exit 0 when FILE (with its
 * journal) validates, 1 when it does not.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "state_internal.h"

/* Check path (a snapshot and the journal after it) strictly. */
static json_object *check_one(const struct cg_config *cfg, const char *path,
			      const char *snap)
{
	json_object *o = json_object_new_object();
	struct cg_journal_pos pos = { 0 };
	struct cg_error err = { 0 };
	struct cg_state st;
	int ret;

	state_init(&st, cfg);
	ret = state_load_snapshot(&st, snap, &pos.snapshot_gen, &err);
	if (!ret)
		ret = state_journal_replay(&st, path, &pos, &err);
	json_object_object_add(o, "file", json_object_new_string(snap));
	json_object_object_add(o, "ok", json_object_new_boolean(ret == 0));
	if (ret) {
		char msg[sizeof(err.msg) + sizeof(err.field) + 8];

		snprintf(msg, sizeof(msg), "%s%s%s", err.msg,
			 err.field[0] ? " at " : "", err.field);
		json_object_object_add(o, "error", json_object_new_string(msg));
	} else {
		json_object_object_add(
			o, "generation",
			json_object_new_uint64(pos.snapshot_gen));
		json_object_object_add(o, "services",
				       json_object_new_uint64(st.n_services));
		json_object_object_add(o, "peers",
				       json_object_new_uint64(st.n_peers));
		json_object_object_add(o, "forwards",
				       json_object_new_uint64(st.n_forwards));
		json_object_object_add(o, "cells",
				       json_object_new_uint64(st.n_cells));
		json_object_object_add(o, "journal_lines",
				       json_object_new_uint64(pos.lines));
		json_object_object_add(o, "torn_bytes",
				       json_object_new_uint64(pos.torn));
	}
	state_free(&st);
	return o;
}

static void print_one(json_object *o, const char *indent)
{
	json_object *v;

	printf("%s%s: ", indent,
	       json_object_get_string(json_object_object_get(o, "file")));
	if (json_object_object_get_ex(o, "error", &v)) {
		printf("REFUSED: %s\n", json_object_get_string(v));
		return;
	}
	printf("ok: generation %s, %s services, %s peers, %s forwards, %s "
	       "cells; journal: %s line(s) replayed",
	       json_object_get_string(json_object_object_get(o, "generation")),
	       json_object_get_string(json_object_object_get(o, "services")),
	       json_object_get_string(json_object_object_get(o, "peers")),
	       json_object_get_string(json_object_object_get(o, "forwards")),
	       json_object_get_string(json_object_object_get(o, "cells")),
	       json_object_get_string(
		       json_object_object_get(o, "journal_lines")));
	if (json_object_get_int64(json_object_object_get(o, "torn_bytes")))
		printf(", a torn last line left out");
	printf("\n");
}

int state_check_main(const struct cg_config *cfg, const char *path, bool json)
{
	json_object *o = check_one(cfg, path, path), *kept;
	char snap[PATH_MAX];
	bool ok = json_object_get_boolean(json_object_object_get(o, "ok"));
	uint64_t g, newest = 0;
	size_t i;

	if (access(path, F_OK)) {
		fprintf(stderr, "cellgate: state check: %s: %s\n", path,
			strerror(errno));
		json_object_put(o);
		return 1;
	}
	if (ok)
		newest = json_object_get_uint64(
			json_object_object_get(o, "generation"));
	/* The kept generations below the newest (by name: the newest may
	 * not say its own). */
	kept = json_object_new_array();
	for (g = newest ? newest : 1ull << 32, i = 0;
	     g > 0 && i < 64 &&
	     json_object_array_length(kept) < STATE_KEEP_GENERATIONS + 1;
	     i++) {
		g--;
		if (state_snap_path(snap, sizeof(snap), path, g) ||
		    access(snap, F_OK))
			continue;
		json_object_array_add(kept, check_one(cfg, path, snap));
	}
	json_object_object_add(o, "kept", kept);
	if (json) {
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	} else {
		print_one(o, "");
		for (i = 0; i < json_object_array_length(kept); i++)
			print_one(json_object_array_get_idx(kept, i),
				  "  kept: ");
	}
	json_object_put(o);
	return ok ? 0 : 1;
}
