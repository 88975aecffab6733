/* SPDX-License-Identifier: MIT */
/*
 * Rules between peers (issue 18) through the real programs: alice is an
 * engineer, bob and carol are devices, and "eng-dev" lets engineers open
 * tcp/80 to devices. Each case proves a denial by a drop counter delta
 * (send_pkt checks the counters) beside a positive control. Included by
 * bpf_test.c after flow_cases.h.
 */
#ifndef CELLGATE_RULE_CASES_H
#define CELLGATE_RULE_CASES_H

static const struct pkt_desc eng_dev_syn = TCP(ALICE, 43000, CAROL, 80, TH_SYN);
static const struct pkt_desc eng_dev_synack =
	TCP(CAROL, 80, ALICE, 43000, TH_SYN | TH_ACK);
static const struct pkt_desc eng_dev_ack = TCP(ALICE, 43000, CAROL, 80, TH_ACK);
static const struct pkt_desc eng_dev_ssh = TCP(ALICE, 43001, CAROL, 22, TH_SYN);
static const struct pkt_desc dev_eng_syn = TCP(CAROL, 43002, ALICE, 80, TH_SYN);
static const struct pkt_desc dev_dev_syn = TCP(CAROL, 43003, BOB, 80, TH_SYN);

/* Compile the state and write every map, as a rule operation does. */
static bool rules_apply(struct suite *s, struct check *c, const char *step)
{
	c->step = step;
	return sync_all(s, c);
}

static bool rule_put(struct suite *s, struct check *c, const char *name,
		     const char *json)
{
	json_object *body = parse_json(c, json);
	struct cg_rule_def old, put;
	struct cg_error err = { 0 };
	bool existed;
	int ret;

	if (!body)
		return false;
	ret = state_put_rule(&s->st, name, body, &old, &existed, &put, &err);
	json_object_put(body);
	if (ret)
		return failf(c, "state_put_rule %s: %s", name, err.msg);
	return rules_apply(s, c, "put rule");
}

static bool rule_del(struct suite *s, struct check *c, const char *name)
{
	struct cg_error err = { 0 };

	if (state_delete_rule(&s->st, name, NULL, &err))
		return failf(c, "state_delete_rule %s: %s", name, err.msg);
	return rules_apply(s, c, "delete rule");
}

static bool set_groups(struct suite *s, struct check *c, const char *name,
		       const char *json)
{
	json_object *body = parse_json(c, json);
	struct cg_error err = { 0 };
	int ret;

	if (!body)
		return false;
	ret = state_update_peer(&s->st, name, body, NULL, NULL, &err);
	json_object_put(body);
	if (ret)
		return failf(c, "state_update_peer %s: %s", name, err.msg);
	return rules_apply(s, c, "groups");
}

/* alice engineer; bob and carol devices, bob out of peer_to_peer so no
 * flag allows what the rules do not. */
static bool rules_cell(struct suite *s, struct check *c)
{
	return set_groups(s, c, "alice", "{\"groups\":[\"engineers\"]}") &&
	       set_groups(
		       s, c, "bob",
		       "{\"groups\":[\"devices\"],\"peer_to_peer\":false}") &&
	       set_groups(s, c, "carol", "{\"groups\":[\"devices\"]}") &&
	       rule_put(s, c, "eng-dev",
			"{\"from\":\"group:engineers\",\"to\":"
			"\"group:devices\",\"ports\":[\"tcp/80\"]}");
}

static bool rule_allows_direction(struct suite *s, struct check *c)
{
	return rules_cell(s, c) &&
	       send_pkt(s, c, "engineer -> device tcp/80", INGRESS,
			&eng_dev_syn, PASSES("alice")) &&
	       send_pkt(s, c, "the device's reply", INGRESS, &eng_dev_synack,
			PASSES("carol")) &&
	       send_pkt(s, c, "engineer -> device tcp/22", INGRESS,
			&eng_dev_ssh, DROPS(CG_DROP_PEER_ISOLATION, "alice")) &&
	       send_pkt(s, c, "device -> engineer", INGRESS, &dev_eng_syn,
			DROPS(CG_DROP_PEER_ISOLATION, "carol")) &&
	       send_pkt(s, c, "device -> device", INGRESS, &dev_dev_syn,
			DROPS(CG_DROP_PEER_ISOLATION, "carol"));
}

/* Without the rule the same SYN is dropped: the control of the above. */
static bool rule_absent_denies(struct suite *s, struct check *c)
{
	return set_groups(s, c, "carol", "{\"groups\":[\"devices\"]}") &&
	       set_groups(s, c, "alice", "{\"groups\":[\"engineers\"]}") &&
	       send_pkt(s, c, "engineer -> device, no rule", INGRESS,
			&eng_dev_syn, DROPS(CG_DROP_PEER_ISOLATION, "alice"));
}

static bool rule_delete_cuts(struct suite *s, struct check *c)
{
	return rules_cell(s, c) &&
	       send_pkt(s, c, "SYN", INGRESS, &eng_dev_syn, PASSES("alice")) &&
	       send_pkt(s, c, "SYN-ACK", INGRESS, &eng_dev_synack,
			PASSES("carol")) &&
	       rule_del(s, c, "eng-dev") &&
	       send_pkt(s, c, "ACK after the rule is gone", INGRESS,
			&eng_dev_ack, DROPS(CG_DROP_PEER_ISOLATION, "alice")) &&
	       expect_no_ct(s, c, &eng_dev_syn);
}

static bool rule_group_change_cuts(struct suite *s, struct check *c)
{
	return rules_cell(s, c) &&
	       send_pkt(s, c, "SYN", INGRESS, &eng_dev_syn, PASSES("alice")) &&
	       send_pkt(s, c, "SYN-ACK", INGRESS, &eng_dev_synack,
			PASSES("carol")) &&
	       set_groups(s, c, "carol", "{\"groups\":[\"printers\"]}") &&
	       send_pkt(s, c, "carol's next packet", INGRESS, &eng_dev_synack,
			DROPS(CG_DROP_PEER_ISOLATION, "carol")) &&
	       expect_no_ct(s, c, &eng_dev_syn) &&
	       set_groups(s, c, "carol", "{\"groups\":[\"devices\"]}") &&
	       send_pkt(s, c, "SYN once carol is a device again", INGRESS,
			&eng_dev_syn, PASSES("alice"));
}

static const struct flow rule_flows[] = {
	{ "rules: engineer -> device tcp/80 only, not back, not device -> "
	  "device",
	  rule_allows_direction },
	{ "rules: no rule, no flow", rule_absent_denies },
	{ "rules: deleting the rule cuts the flow", rule_delete_cuts },
	{ "rules: a group change takes effect at once",
	  rule_group_change_cuts },
};

#endif
