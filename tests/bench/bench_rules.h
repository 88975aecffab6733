/* SPDX-License-Identifier: MIT */
/*
 * prog_bench's rules between peers (issue 18): 100 groups, 1000 rules
 * and the N peers in them, so that wg_ingress.rule_new (a new flow a rule
 * allows: identity lookups, then the one cg_rules lookup) is timed beside
 * wg_ingress.p2p_new (a new flow both peer_to_peer flags allow, the path
 * that existed before rules) in the same run.
 *
 * Peer i is in group g(i % 100), and every 20th also in g(i % 100 + 50):
 * 105 classes. Rule k goes from g(k % 100) to g((37 (k % 100) + 13
 * (k / 100) + 1) % 100) on icmp, tcp/22, tcp/80, tcp/443 and tcp/8080
 * (the timed port, the last range the datapath scans). The sender (the
 * last peer) and peer 0 have peer_to_peer; peer 1 has not, and is in the
 * group the sender's first rule leads to. Included by prog_bench.c.
 */
#ifndef CELLGATE_BENCH_RULES_H
#define CELLGATE_BENCH_RULES_H

#define BENCH_GROUPS 100
#define BENCH_RULES 1000
#define P2P_FLAG_DST "10.0.0.2" /* peer 0 */
#define P2P_RULE_DST "10.0.0.3" /* peer 1 */
#define RULE_PORT 8080

static uint32_t rule_target(uint32_t k)
{
	return (37 * (k % BENCH_GROUPS) + 13 * (k / BENCH_GROUPS) + 1) %
	       BENCH_GROUPS;
}

static void bench_rules_state(struct bench *b)
{
	struct cg_rule_def old, put;
	struct cg_error err = { 0 };
	char name[32], body[256];
	bool existed;
	uint32_t k;

	for (k = 0; k < BENCH_RULES; k++) {
		json_object *o;

		snprintf(name, sizeof(name), "r%u", k);
		snprintf(body, sizeof(body),
			 "{\"from\":\"group:g%u\",\"to\":\"group:g%u\","
			 "\"ports\":[\"icmp\",\"tcp/22\",\"tcp/80\","
			 "\"tcp/443\",\"tcp/%u\"]}",
			 k % BENCH_GROUPS, rule_target(k), RULE_PORT);
		o = json_tokener_parse(body);
		if (!o ||
		    state_put_rule(&b->st, name, o, &old, &existed, &put, &err))
			die("rule %s: %s", name, err.msg);
		json_object_put(o);
	}
}

static void add_group(struct cg_peer_def *def, uint32_t g)
{
	snprintf(def->groups[def->n_groups++], sizeof(def->groups[0]), "g%u",
		 g);
}

static void bench_peer_groups(uint32_t i, uint32_t n, struct cg_peer_def *def)
{
	uint32_t sender_group = (n - 1) % BENCH_GROUPS;

	memset(def->groups, 0, sizeof(def->groups));
	def->n_groups = 0;
	def->peer_to_peer = i == 0 || i == n - 1;
	if (i == 1) {
		add_group(def, rule_target(sender_group));
		return;
	}
	add_group(def, i % BENCH_GROUPS);
	if (i % 20 == 0) {
		add_group(def, (i % BENCH_GROUPS + 50) % BENCH_GROUPS);
		/* Sorted, as the state keeps them. */
		if (strcmp(def->groups[0], def->groups[1]) > 0) {
			char t[sizeof(def->groups[0])];

			memcpy(t, def->groups[0], sizeof(t));
			memcpy(def->groups[0], def->groups[1], sizeof(t));
			memcpy(def->groups[1], t, sizeof(t));
		}
	}
}

/* The class pairs of the N peers: the compiler reads the state's peers,
 * which the bench keeps out of the state (see fill_peers), so it lends
 * them for the compile. */
static void bench_rule_pairs(struct bench *b, struct cg_peer_def *defs,
			     struct policy *pol)
{
	struct cg_error err = { 0 };
	uint64_t t0;
	int ret;

	free(pol->rules);
	b->st.peers = defs;
	b->st.n_peers = b->n;
	t0 = monotonic_ns();
	ret = policy_compile_rules(&b->st, pol, &err);
	t0 = monotonic_ns() - t0;
	b->st.peers = NULL;
	b->st.n_peers = 0;
	if (ret)
		die("rules: %s", err.msg);
	/* The controller's cost of compiling them (a rule change pays it). */
	fprintf(stderr,
		"prog_bench: %u peers, %d groups, %d rules: %zu class pairs, "
		"compiled in %.1f ms\n",
		b->n, BENCH_GROUPS, BENCH_RULES, pol->n_rules,
		(double)t0 / 1e6);
}

#endif
