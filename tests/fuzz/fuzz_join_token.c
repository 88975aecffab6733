// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the join-token file (jt_parse) and a new token's body
 * (jt_create) on any input. Neither may crash; a file that parses must
 * round-trip (rendered and parsed again: the same tokens, uses and keys);
 * a token that is made must have a name, a secret of 43 characters that
 * matches it (and a changed one that does not), and uses within limits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "join_token.h"
#include "jsonx.h"

#define FJ_CHECK(cond, what)                                            \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "fuzz_join_token: %s\n", what); \
			abort();                                        \
		}                                                       \
	} while (0)

static void round_trip(const struct cg_join_tokens *t)
{
	struct cg_join_tokens again;
	struct cg_error err = { 0 };
	char *text = jt_to_string(t);
	size_t i;

	FJ_CHECK(text, "out of memory rendering");
	FJ_CHECK(!jt_parse(&again, text, strlen(text), &err),
		 "a rendered file does not parse");
	FJ_CHECK(again.n == t->n, "round trip changed the count");
	for (i = 0; i < t->n; i++) {
		FJ_CHECK(!strcmp(again.v[i].name, t->v[i].name), "name");
		FJ_CHECK(again.v[i].uses == t->v[i].uses, "uses");
		FJ_CHECK(again.v[i].n_keys == t->v[i].n_keys, "keys");
	}
	jt_free(&again);
	free(text);
}

static void try_create(const uint8_t *data, size_t size)
{
	struct cg_join_tokens t = { 0 };
	struct cg_error err = { 0 };
	struct cg_config cfg = { 0 }; /* services are looked up only */
	struct cg_state st;
	char secret[JT_SECRET_LEN + 1];
	json_object *body;

	body = jx_parse_object((const char *)data, size, &err);
	if (!body)
		return;
	state_init(&st, &cfg);
	if (!jt_create(&t, &st, body, 1000, secret, &err)) {
		FJ_CHECK(t.n == 1 && valid_name(t.v[0].name),
			 "made a bad name");
		FJ_CHECK(strlen(secret) == JT_SECRET_LEN, "secret length");
		FJ_CHECK(jt_match(&t, secret) == &t.v[0], "secret no match");
		secret[0] = secret[0] == 'A' ? 'B' : 'A';
		FJ_CHECK(!jt_match(&t, secret), "a changed secret matches");
		FJ_CHECK(!jt_expired(&t.v[0], 1000), "expired at once");
		round_trip(&t);
	} else {
		FJ_CHECK(err.status == 400 || err.status == 409,
			 "refused without 400/409");
	}
	jt_free(&t);
	state_free(&st);
	json_object_put(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_join_tokens t;
	struct cg_error err = { 0 };

	if (!jt_parse(&t, (const char *)data, size, &err)) {
		round_trip(&t);
		jt_free(&t);
	}
	try_create(data, size);
	return 0;
}
