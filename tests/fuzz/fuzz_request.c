// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the admin API's request decoding and validation, run
 * as api/server.c and ctl/daemon/ops_*.c run them, minus HTTP, the state
 * file's fsync and the dataplane.
 *
 * An input is up to FR_MAX_REQUESTS requests separated by FR_SEPARATOR,
 * so that one request can build on another (a service, then a peer with
 * access to it). Each request is
 *
 *	<op><name>\n<body>
 *
 *	op	'S' PUT /api/services/{name}	's' DELETE /api/services/{name}
 *		'P' POST /api/peers		'p' DELETE /api/peers/{name}
 *		'U' PUT /api/peers/{name}	other bytes: one of these by value
 *	name	the {name} path segment (POST has none and ignores it)
 *	body	the request body (DELETE has none and ignores it)
 *
 * Every input starts from the same state, two services and two peers, and
 * after each request the target checks what the rest of the controller
 * takes for granted, calling abort() so that libFuzzer keeps the input:
 *  - a refused request changes nothing and answers 400, 404, 409 or 413
 *    with a message (the API passes err straight to the client);
 *  - an accepted one did what was asked, leaves a state whose invariants
 *    the dataplane relies on (addresses in the WireGuard subnet, unique
 *    ids, keys and names, access only to services that exist), which
 *    survives the state file round trip and compiles into a policy.
 * Leaks are LeakSanitizer's (on by default in libFuzzer).
 *
 * CELLGATE_FUZZ_VERBOSE=1 prints each request's outcome, to write seeds
 * or to read a reproducer: build/fuzz/fuzz_request FILE.
 */
/* memfd_create, memmem */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "jsonx.h"
#include "key.h"
#include "policy.h"
#include "server.h"
#include "state.h"
#include "util.h"

/* Enough to fill the WireGuard subnet of fr_config. */
#define FR_MAX_REQUESTS 16
#define FR_SEPARATOR "\n===\n"

/*
 * The example configuration of the contract (tests/unit/testutil.h), but
 * with a /28 whose router address is not the first, so that a few requests
 * can exhaust the addresses and allocation has to step over the router,
 * and with a bridge subnet and a local network for the policy compiler.
 */
static const char fr_config[] =
	"{\"cell_name\": \"home\", \"domain\": \"home.cell\",\n"
	" \"wireguard\": {\"interface\": \"wg0\", \"address\": "
	"\"10.0.0.5/28\", \"listen_port\": 51820, \"private_key_file\": "
	"\"/etc/cellgate/wg.key\", \"endpoint\": \"198.51.100.7:51820\"},\n"
	" \"bridge\": {\"interface\": \"br-cell\", \"subnet\": "
	"\"172.20.0.0/16\"},\n"
	" \"local_networks\": [\"192.168.5.0/24\"],\n"
	" \"uplink\": {\"interface\": \"eth0\"},\n"
	" \"api\": {\"listen\": \"127.0.0.1:8470\", \"token_file\": "
	"\"/etc/cellgate/api.token\"},\n"
	" \"state_dir\": \"/var/lib/cellgate\", \"bpffs\": "
	"\"/sys/fs/bpf/cellgate\"}";

/* The state every input starts from: services first, as peers refer to
 * them. The seeds in tests/fuzz/corpus/request name these. */
static const char *const fr_base_services[][2] = {
	{ "web", "{\"endpoints\": [{\"ip\": \"172.20.0.10\", \"proto\": "
		 "\"tcp\", \"port\": 80}, {\"ip\": \"172.20.0.10\", "
		 "\"proto\": \"tcp\", \"port\": 443}]}" },
	{ "dns", "{\"endpoints\": [{\"ip\": \"172.20.0.2\", \"proto\": "
		 "\"any\"}], \"dnat\": [{\"proto\": \"udp\", \"port\": 53, "
		 "\"to_ip\": \"172.20.0.2\", \"to_port\": 53}]}" },
};

static const char *const fr_base_peers[] = {
	"{\"name\": \"laptop\", \"public_key\": "
	"\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\", \"ip\": "
	"\"10.0.0.2\", \"service_access\": [\"web\"], \"internet_access\": "
	"true}",
	"{\"name\": \"phone\", \"public_key\": "
	"\"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\", \"ip\": "
	"\"10.0.0.3\", \"service_access\": [\"web\", \"dns\"], "
	"\"peer_to_peer\": true}",
};

enum fr_op {
	OP_PUT_SERVICE,
	OP_DELETE_SERVICE,
	OP_ADD_PEER,
	OP_UPDATE_PEER,
	OP_DELETE_PEER,
	OP_PUT_RULE,
	OP_DELETE_RULE,
	OP_PUT_GROUP,
	OP_DELETE_GROUP,
	OP_PUT_EXIT,
	OP_DELETE_EXIT,
	OP__COUNT,
};

static const struct {
	char tag;
	const char *route;
	bool named; /* has a {name} segment */
	bool has_body;
} fr_ops[OP__COUNT] = {
	[OP_PUT_SERVICE] = { 'S', "PUT /api/services/", true, true },
	[OP_DELETE_SERVICE] = { 's', "DELETE /api/services/", true, false },
	[OP_ADD_PEER] = { 'P', "POST /api/peers", false, true },
	[OP_UPDATE_PEER] = { 'U', "PUT /api/peers/", true, true },
	[OP_DELETE_PEER] = { 'p', "DELETE /api/peers/", true, false },
	[OP_PUT_RULE] = { 'R', "PUT /api/rules/", true, true },
	[OP_DELETE_RULE] = { 'r', "DELETE /api/rules/", true, false },
	[OP_PUT_GROUP] = { 'G', "PUT /api/groups/", true, true },
	[OP_DELETE_GROUP] = { 'g', "DELETE /api/groups/", true, false },
	[OP_PUT_EXIT] = { 'X', "PUT /api/exits/", true, true },
	[OP_DELETE_EXIT] = { 'x', "DELETE /api/exits/", true, false },
};

struct fr_request {
	enum fr_op op;
	unsigned int index; /* in the input, for messages */
	/* As api_match hands it over: one non-empty segment, at most the
	 * size of dispatch()'s param buffer. */
	char name[CG_NAME_MAX + 2];
	const char *body;
	size_t body_len;
};

static struct cg_config fr_cfg;
static struct cg_state fr_base;
/* The state file of the round trip: a memfd, read back through
 * /proc/self/fd as state_load reads a path. */
static int fr_state_fd = -1;
static char fr_state_path[64];
/* The request being checked, for the message of a failed check. */
static const struct fr_request *fr_current;
static bool fr_verbose;

static void fr_fail(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

static void fr_fail(const char *fmt, ...)
{
	const struct fr_request *rq = fr_current;
	va_list ap;

	fputs("fuzz_request: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (rq)
		fprintf(stderr, "  in request %u: %s%s\n", rq->index,
			fr_ops[rq->op].route,
			fr_ops[rq->op].named ? rq->name : "");
	abort();
}

#define FR_CHECK(cond, ...)                   \
	do {                                  \
		if (!(cond))                  \
			fr_fail(__VA_ARGS__); \
	} while (0)

/* ---- invariants ------------------------------------------------------ */

static bool fr_peer_eq(const struct cg_peer_def *a, const struct cg_peer_def *b)
{
	/* Field by field: struct padding need not compare equal. */
	return !strcmp(a->name, b->name) && a->id == b->id &&
	       key_equal(a->public_key, b->public_key) &&
	       a->ip.s_addr == b->ip.s_addr &&
	       !memcmp(a->access, b->access, sizeof(a->access)) &&
	       a->internet_access == b->internet_access &&
	       a->peer_to_peer == b->peer_to_peer;
}

static void fr_check_services(const struct cg_state *st,
			      uint64_t ids[CG_SERVICE_WORDS])
{
	size_t i, j;

	memset(ids, 0, CG_SERVICE_WORDS * sizeof(*ids));
	for (i = 0; i < st->n_services; i++) {
		const struct cg_service_def *s = &st->services[i];

		FR_CHECK(valid_name(s->name), "service %zu has a bad name", i);
		FR_CHECK(s->id < CG_MAX_SERVICES,
			 "service '%s' has id %u >= CG_MAX_SERVICES", s->name,
			 s->id);
		FR_CHECK(!(ids[s->id / 64] & (1ull << (s->id % 64))),
			 "service id %u is used twice", s->id);
		ids[s->id / 64] |= 1ull << (s->id % 64);
		FR_CHECK(s->n_endpoints <= CG_MAX_ENDPOINTS &&
				 s->n_dnat <= CG_MAX_DNAT &&
				 s->n_endpoints + s->n_dnat > 0,
			 "service '%s' has %u endpoints and %u dnat entries",
			 s->name, s->n_endpoints, s->n_dnat);
		for (j = 0; j < i; j++)
			FR_CHECK(strcmp(s->name, st->services[j].name),
				 "service name '%s' is used twice", s->name);
	}
}

static void fr_check_peers(const struct cg_state *st,
			   const uint64_t ids[CG_SERVICE_WORDS])
{
	const struct cg_config *cfg = st->cfg;
	uint32_t mask = prefix_mask(cfg->wireguard.subnet.prefix);
	char ip[16];
	size_t i, j, w;

	for (i = 0; i < st->n_peers; i++) {
		const struct cg_peer_def *p = &st->peers[i];

		FR_CHECK(valid_name(p->name), "peer %zu has a bad name", i);
		ipv4_str(p->ip, ip);
		FR_CHECK(cidr_contains(cfg->wireguard.subnet.addr,
				       cfg->wireguard.subnet.prefix, p->ip),
			 "peer '%s' has ip %s outside the WireGuard subnet",
			 p->name, ip);
		FR_CHECK(p->ip.s_addr != cfg->wireguard.address.s_addr,
			 "peer '%s' has the router's ip %s", p->name, ip);
		FR_CHECK((p->ip.s_addr & ~mask) != 0 &&
				 (p->ip.s_addr | mask) != 0xffffffffu,
			 "peer '%s' has the subnet's network or broadcast "
			 "address %s",
			 p->name, ip);
		FR_CHECK(!key_is_zero(p->public_key),
			 "peer '%s' has the all-zero key", p->name);
		FR_CHECK(p->id >= 1 && p->id <= cfg->limits.max_peers,
			 "peer '%s' has id %u outside 1..limits.max_peers",
			 p->name, p->id);
		/* A bit of a deleted service would grant its successor. */
		for (w = 0; w < CG_SERVICE_WORDS; w++)
			FR_CHECK(!(p->access[w] & ~ids[w]),
				 "peer '%s' has access to a service id no "
				 "service has",
				 p->name);
		for (j = 0; j < i; j++) {
			const struct cg_peer_def *o = &st->peers[j];

			FR_CHECK(strcmp(p->name, o->name),
				 "peer name '%s' is used twice", p->name);
			FR_CHECK(p->ip.s_addr != o->ip.s_addr,
				 "peers '%s' and '%s' share ip %s", o->name,
				 p->name, ip);
			FR_CHECK(!key_equal(p->public_key, o->public_key),
				 "peers '%s' and '%s' share a public key",
				 o->name, p->name);
			FR_CHECK(p->id != o->id,
				 "peers '%s' and '%s' share id %u", o->name,
				 p->name, p->id);
		}
	}
}

/* What the state file would hold, loaded again, must be the same state. */
static void fr_check_round_trip(const struct cg_state *st)
{
	struct cg_error err = { 0 };
	struct cg_state loaded;
	char *saved, *again;
	size_t len;

	saved = state_to_string(st);
	FR_CHECK(saved, "state_to_string failed");
	len = strlen(saved);
	if (ftruncate(fr_state_fd, 0) ||
	    pwrite(fr_state_fd, saved, len, 0) != (ssize_t)len) {
		perror("fuzz_request: writing the state memfd");
		abort();
	}
	state_init(&loaded, st->cfg);
	FR_CHECK(!state_load(&loaded, fr_state_path, &err),
		 "the saved state does not load: %d %s: %s\n%s", err.status,
		 err.field, err.msg, saved);
	again = state_to_string(&loaded);
	FR_CHECK(again && !strcmp(saved, again),
		 "the state differs after a round trip:\n%s\n---\n%s", saved,
		 again ? again : "(null)");
	free(again);
	free(saved);
	state_free(&loaded);
}

static int fr_count_member(const struct cg_peer_def *p, void *ctx)
{
	(void)p;
	(*(size_t *)ctx)++;
	return 0;
}

static bool fr_in_group(const struct cg_peer_def *p, const char *g)
{
	unsigned int k;

	for (k = 0; k < p->n_groups; k++)
		if (!strcmp(p->groups[k], g))
			return true;
	return false;
}

/* The group index agrees with a walk of the peers. */
static void fr_check_groups(const struct cg_state *st)
{
	size_t i, k, walked, visited, j;

	for (i = 0; i < st->n_peers; i++)
		for (k = 0; k < st->peers[i].n_groups; k++) {
			const char *g = st->peers[i].groups[k];

			walked = visited = 0;
			for (j = 0; j < st->n_peers; j++)
				walked += fr_in_group(&st->peers[j], g);
			state_group_each(st, g, fr_count_member, &visited);
			FR_CHECK(state_group_size(st, g) == walked &&
					 visited == walked,
				 "group '%s': index %zu, visited %zu, walk %zu",
				 g, state_group_size(st, g), visited, walked);
		}
}

static void fr_check_state(const struct cg_state *st)
{
	uint64_t ids[CG_SERVICE_WORDS];
	struct policy pol;

	fr_check_services(st, ids);
	fr_check_peers(st, ids);
	fr_check_round_trip(st);
	fr_check_groups(st);
	/* The maps are filled from this after every accepted change. */
	FR_CHECK(!policy_compile(st, st->cfg, &pol), "policy_compile failed");
	policy_free(&pol);
}

/* ---- requests -------------------------------------------------------- */

/* Split one request off data; false if it cannot reach a handler (the
 * server answers 404 or 413 without looking at the state). */
static bool fr_parse_request(const char *data, size_t len, unsigned int index,
			     struct fr_request *rq)
{
	const char *nl, *name;
	size_t name_len;
	unsigned int i;

	if (!len)
		return false;
	rq->index = index;
	rq->op = (enum fr_op)((unsigned char)data[0] % OP__COUNT);
	for (i = 0; i < OP__COUNT; i++)
		if (fr_ops[i].tag == data[0])
			rq->op = (enum fr_op)i;
	name = data + 1;
	nl = memchr(name, '\n', len - 1);
	name_len = nl ? (size_t)(nl - name) : len - 1;
	rq->body = nl ? nl + 1 : data + len;
	rq->body_len = (size_t)(data + len - rq->body);
	rq->name[0] = '\0';
	if (fr_ops[rq->op].named) {
		/* The URL is a C string: a NUL ends it. */
		name_len = strnlen(name, name_len);
		if (!name_len || name_len >= sizeof(rq->name) ||
		    memchr(name, '/', name_len))
			return false;
		memcpy(rq->name, name, name_len);
		rq->name[name_len] = '\0';
	}
	return !fr_ops[rq->op].has_body || rq->body_len <= API_MAX_BODY;
}

/* What the controller's ctl_add_peer would generate: a distinct, valid
 * key per request, deterministic so that every finding reproduces. */
static void fr_generated_key(wg_key key, unsigned int index)
{
	memset(key, 0xa5, WG_KEY_LEN);
	key[0] = (uint8_t)index;
	key[1] = 0xfe;
}

/* Run one request against st as dispatch() and the ctl_* functions do:
 * the body parsed from a NUL-terminated copy, then the state call. */
static int fr_run(struct cg_state *st, const struct fr_request *rq,
		  struct cg_peer_def *was, struct cg_peer_def *now,
		  struct cg_error *err)
{
	json_object *body = NULL;
	wg_key generated;
	char *buf = NULL;
	int ret = -EINVAL;

	if (fr_ops[rq->op].has_body) {
		buf = malloc(rq->body_len + 1);
		FR_CHECK(buf, "out of memory");
		memcpy(buf, rq->body, rq->body_len);
		buf[rq->body_len] = '\0';
		body = jx_parse_object(buf, rq->body_len, err);
		if (!body) {
			free(buf);
			return -EINVAL;
		}
	}
	switch (rq->op) {
	case OP_PUT_SERVICE:
		ret = state_put_service(st, rq->name, body, err);
		break;
	case OP_DELETE_SERVICE:
		ret = state_delete_service(st, rq->name, err);
		break;
	case OP_ADD_PEER:
		fr_generated_key(generated, rq->index);
		ret = state_add_peer(
			st, body,
			json_object_object_get_ex(body, "public_key", NULL) ?
				NULL :
				generated,
			now, err);
		break;
	case OP_UPDATE_PEER:
		ret = state_update_peer(st, rq->name, body, was, now, err);
		break;
	case OP_DELETE_PEER:
		ret = state_delete_peer(st, rq->name, was, err);
		break;
	case OP_PUT_RULE: {
		struct cg_rule_def old, put;
		bool existed;

		ret = state_put_rule(st, rq->name, body, &old, &existed, &put,
				     err);
		break;
	}
	case OP_DELETE_RULE:
		ret = state_delete_rule(st, rq->name, NULL, err);
		break;
	case OP_PUT_GROUP: {
		struct cg_group_def old, put;
		bool existed;

		ret = state_put_group(st, rq->name, body, &old, &existed, &put,
				      err);
		break;
	}
	case OP_DELETE_GROUP:
		ret = state_delete_group(st, rq->name, NULL, err);
		break;
	case OP_PUT_EXIT: {
		struct cg_exit_def old, put;
		bool existed;

		fr_generated_key(generated, rq->index);
		ret = state_put_exit(st, rq->name, body, generated, &old,
				     &existed, &put, err);
		break;
	}
	case OP_DELETE_EXIT:
		ret = state_delete_exit(st, rq->name, NULL, err);
		break;
	case OP__COUNT:
		abort();
	}
	json_object_put(body);
	free(buf);
	return ret;
}

static void fr_check_refused(const struct cg_state *st, const char *before,
			     const struct cg_error *err, int ret)
{
	char *after = state_to_string(st);

	FR_CHECK(after && !strcmp(before, after),
		 "a refused request (%d, %d: %s) changed the state:\n%s\n"
		 "---\n%s",
		 ret, err->status, err->msg, before, after ? after : "(null)");
	free(after);
	FR_CHECK(err->status == 400 || err->status == 404 ||
			 err->status == 409 || err->status == 413,
		 "a refused request answers status %d (%s)", err->status,
		 err->msg);
	FR_CHECK(err->msg[0], "a refused request (status %d) has no message",
		 err->status);
}

/* The accepted request did what it says, and the API can answer it. */
static void fr_check_effect(const struct cg_state *st,
			    const struct fr_request *rq,
			    const struct cg_state *before,
			    const struct cg_peer_def *was,
			    const struct cg_peer_def *now)
{
	const struct cg_service_def *svc, *prev_svc;
	const struct cg_peer_def *p, *prev_peer;

	switch (rq->op) {
	case OP_PUT_SERVICE:
		svc = state_service(st, rq->name);
		FR_CHECK(svc, "the service is not there after its PUT");
		prev_svc = state_service(before, rq->name);
		FR_CHECK(st->n_services == before->n_services + !prev_svc,
			 "PUT made %zu services of %zu", st->n_services,
			 before->n_services);
		FR_CHECK(!prev_svc || prev_svc->id == svc->id,
			 "a replaced service changed its id from %u to %u",
			 prev_svc ? prev_svc->id : 0, svc->id);
		json_object_put(service_to_json(svc, false));
		break;
	case OP_DELETE_SERVICE:
		FR_CHECK(!state_service(st, rq->name) &&
				 st->n_services + 1 == before->n_services,
			 "DELETE left the service or removed others");
		break;
	case OP_ADD_PEER:
		p = state_peer(st, now->name);
		FR_CHECK(p && fr_peer_eq(p, now),
			 "the added peer is not the one in the state");
		FR_CHECK(!state_peer(before, now->name) &&
				 st->n_peers == before->n_peers + 1,
			 "POST did not add exactly one new peer");
		json_object_put(peer_to_json(st, p, false));
		break;
	case OP_UPDATE_PEER:
		p = state_peer(st, rq->name);
		prev_peer = state_peer(before, rq->name);
		FR_CHECK(p && prev_peer && fr_peer_eq(p, now) &&
				 fr_peer_eq(prev_peer, was),
			 "PUT reports another peer than it changed");
		FR_CHECK(p->id == was->id && st->n_peers == before->n_peers,
			 "PUT changed a peer's id or the number of peers");
		json_object_put(peer_to_json(st, p, false));
		break;
	case OP_PUT_RULE:
		FR_CHECK(state_rule(st, rq->name) &&
				 st->n_rules ==
					 before->n_rules +
						 !state_rule(before, rq->name),
			 "PUT of a rule did not leave exactly it");
		json_object_put(rule_to_json(state_rule(st, rq->name)));
		break;
	case OP_DELETE_RULE:
		FR_CHECK(!state_rule(st, rq->name) &&
				 st->n_rules + 1 == before->n_rules,
			 "DELETE left the rule or removed others");
		break;
	case OP_PUT_GROUP:
		FR_CHECK(state_group(st, rq->name) &&
				 st->n_groups ==
					 before->n_groups +
						 !state_group(before, rq->name),
			 "PUT of a group did not leave exactly it");
		json_object_put(group_to_json(state_group(st, rq->name)));
		break;
	case OP_DELETE_GROUP:
		FR_CHECK(!state_group(st, rq->name) &&
				 st->n_groups + 1 == before->n_groups,
			 "DELETE left the group or removed others");
		break;
	case OP_PUT_EXIT:
		FR_CHECK(state_exit(st, rq->name) &&
				 st->n_exits ==
					 before->n_exits +
						 !state_exit(before, rq->name),
			 "PUT of an exit did not leave exactly it");
		FR_CHECK(!state_exit(before, rq->name) ||
				 state_exit(before, rq->name)->id ==
					 state_exit(st, rq->name)->id,
			 "a replaced exit changed its id");
		json_object_put(exit_to_json(state_exit(st, rq->name), false));
		break;
	case OP_DELETE_EXIT:
		FR_CHECK(!state_exit(st, rq->name) &&
				 st->n_exits + 1 == before->n_exits,
			 "DELETE left the exit or removed others");
		break;
	case OP_DELETE_PEER:
		prev_peer = state_peer(before, rq->name);
		FR_CHECK(!state_peer(st, rq->name) && prev_peer &&
				 fr_peer_eq(prev_peer, was) &&
				 st->n_peers + 1 == before->n_peers,
			 "DELETE left the peer, removed others or reports "
			 "another");
		break;
	case OP__COUNT:
		abort();
	}
}

static void fr_request(struct cg_state *st, const struct fr_request *rq)
{
	struct cg_peer_def was, now;
	struct cg_error err = { 0 };
	struct cg_state before;
	char *before_str;
	int ret;

	fr_current = rq;
	memset(&was, 0, sizeof(was));
	memset(&now, 0, sizeof(now));
	FR_CHECK(!state_copy(&before, st), "out of memory");
	before_str = state_to_string(st);
	FR_CHECK(before_str, "state_to_string failed");
	ret = fr_run(st, rq, &was, &now, &err);
	if (fr_verbose)
		fprintf(stderr, "request %u: %s%s: %d %s\n", rq->index,
			fr_ops[rq->op].route,
			fr_ops[rq->op].named ? rq->name : "",
			ret ? err.status : 200, ret ? err.msg : "accepted");
	if (ret) {
		fr_check_refused(st, before_str, &err, ret);
	} else {
		fr_check_effect(st, rq, &before, &was, &now);
		fr_check_state(st);
	}
	free(before_str);
	state_free(&before);
	fr_current = NULL;
}

/* ---- libFuzzer ------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct cg_error err = { 0 };
	json_object *body;
	size_t i;

	(void)argc;
	(void)argv;
	fr_verbose = getenv("CELLGATE_FUZZ_VERBOSE") != NULL;
	if (config_parse(fr_config, strlen(fr_config), &fr_cfg, &err)) {
		fprintf(stderr, "fuzz_request: config: %s\n", err.msg);
		abort();
	}
	state_init(&fr_base, &fr_cfg);
	for (i = 0; i < ARRAY_SIZE(fr_base_services); i++) {
		const char *text = fr_base_services[i][1];

		body = jx_parse_object(text, strlen(text), &err);
		if (!body || state_put_service(&fr_base, fr_base_services[i][0],
					       body, &err)) {
			fprintf(stderr, "fuzz_request: base service: %s\n",
				err.msg);
			abort();
		}
		json_object_put(body);
	}
	for (i = 0; i < ARRAY_SIZE(fr_base_peers); i++) {
		body = jx_parse_object(fr_base_peers[i],
				       strlen(fr_base_peers[i]), &err);
		if (!body || state_add_peer(&fr_base, body, NULL, NULL, &err)) {
			fprintf(stderr, "fuzz_request: base peer: %s\n",
				err.msg);
			abort();
		}
		json_object_put(body);
	}
	fr_state_fd = memfd_create("cellgate-fuzz-state", MFD_CLOEXEC);
	if (fr_state_fd < 0) {
		perror("fuzz_request: memfd_create");
		abort();
	}
	snprintf(fr_state_path, sizeof(fr_state_path), "/proc/self/fd/%d",
		 fr_state_fd);
	fr_check_state(&fr_base);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *sep;
	struct fr_request rq;
	struct cg_state st;
	unsigned int n;

	FR_CHECK(!state_copy(&st, &fr_base), "out of memory");
	for (n = 0; n < FR_MAX_REQUESTS; n++) {
		/* The last one takes the rest, separators and all. */
		sep = n + 1 < FR_MAX_REQUESTS ?
			      memmem(p, (size_t)(end - p), FR_SEPARATOR,
				     strlen(FR_SEPARATOR)) :
			      NULL;
		if (fr_parse_request(p, (size_t)((sep ? sep : end) - p), n,
				     &rq))
			fr_request(&st, &rq);
		if (!sep)
			break;
		p = sep + strlen(FR_SEPARATOR);
	}
	state_free(&st);
	return 0;
}
