// SPDX-License-Identifier: MIT
/*
 * Rules between peers (issue 18): {"name", "from", "to", "ports"}, where
 * from and to are selectors (group:X, peer:NAME, cell:NAME; to also
 * service:NAME) and ports a list of "tcp/22", "udp/53", "tcp/8000-8100",
 * "icmp" or "any". Parsed, checked and rendered here; policy_rules.c
 * compiles them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "state_internal.h"

static const struct {
	const char *prefix;
	enum cg_selector_kind kind;
} selector_kinds[] = {
	{ "group:", CG_SEL_GROUP },
	{ "peer:", CG_SEL_PEER },
	{ "cell:", CG_SEL_CELL },
	{ "service:", CG_SEL_SERVICE },
};

const char *selector_str(const struct cg_selector *sel, char *buf, size_t size)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(selector_kinds); i++)
		if (selector_kinds[i].kind == sel->kind)
			snprintf(buf, size, "%s%s", selector_kinds[i].prefix,
				 sel->name);
	return buf;
}

/* "group:x" into sel (syntax only); "to" alone takes service:. */
static bool parse_selector(const char *s, const char *field, bool is_to,
			   struct cg_selector *sel, struct cg_error *err)
{
	size_t i, len;

	for (i = 0; i < ARRAY_SIZE(selector_kinds); i++) {
		len = strlen(selector_kinds[i].prefix);
		if (strncmp(s, selector_kinds[i].prefix, len))
			continue;
		if (selector_kinds[i].kind == CG_SEL_SERVICE && !is_to)
			break;
		if (!valid_name(s + len))
			break;
		sel->kind = selector_kinds[i].kind;
		str_copy(sel->name, sizeof(sel->name), s + len);
		return true;
	}
	cg_error_set(err, 400, field,
		     "'%s' must be group:NAME, peer:NAME or cell:NAME%s", field,
		     is_to ? " or service:NAME" : "");
	return false;
}

/* One port spec: any, icmp, tcp/N, udp/N, tcp/N-M. */
static bool parse_port(const char *s, struct cg_rule_port *p)
{
	unsigned long lo, hi;
	char *end;

	memset(p, 0, sizeof(*p));
	if (!strcmp(s, "any"))
		return true;
	if (!strcmp(s, "icmp")) {
		p->proto = IPPROTO_ICMP;
		return true;
	}
	if (!strncmp(s, "tcp/", 4))
		p->proto = IPPROTO_TCP;
	else if (!strncmp(s, "udp/", 4))
		p->proto = IPPROTO_UDP;
	else
		return false;
	s += 4;
	if (*s < '0' || *s > '9')
		return false;
	lo = hi = strtoul(s, &end, 10);
	if (*end == '-') {
		if (end[1] < '0' || end[1] > '9')
			return false;
		hi = strtoul(end + 1, &end, 10);
	}
	if (*end || lo < 1 || hi > 65535 || lo > hi)
		return false;
	p->lo = (uint16_t)lo;
	p->hi = (uint16_t)hi;
	return true;
}

static bool parse_ports(json_object *arr, struct cg_rule_def *r,
			struct cg_error *err)
{
	size_t i, n = json_object_array_length(arr);
	char field[32];

	if (!n || n > CG_RULE_PORTS) {
		cg_error_set(
			err, 400, "ports",
			"'ports' must list 1 to %d ports (\"any\" for all)",
			CG_RULE_PORTS);
		return false;
	}
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);

		snprintf(field, sizeof(field), "ports[%zu]", i);
		if (!json_object_is_type(v, json_type_string) ||
		    strlen(json_object_get_string(v)) !=
			    (size_t)json_object_get_string_len(v) ||
		    !parse_port(json_object_get_string(v), &r->ports[i])) {
			cg_error_set(err, 400, field,
				     "'%s' must be \"any\", \"icmp\", "
				     "\"tcp/PORT\", \"udp/PORT\" or "
				     "\"tcp/LOW-HIGH\"",
				     field);
			return false;
		}
	}
	r->n_ports = (unsigned int)n;
	return true;
}

/* The body's syntax into r (name set by the caller). */
static bool parse_rule(json_object *body, struct cg_rule_def *r,
		       struct cg_error *err)
{
	static const char *const fields[] = { "name", "from", "to", "ports",
					      NULL };
	char from[CG_NAME_MAX + 16], to[CG_NAME_MAX + 16];
	json_object *ports;

	return jx_only_fields(body, fields, "", err) &&
	       jx_string(body, "from", true, "", from, sizeof(from), err) &&
	       jx_string(body, "to", true, "", to, sizeof(to), err) &&
	       jx_member(body, "ports", json_type_array, true, "", &ports,
			 err) &&
	       parse_selector(from, "from", false, &r->from, err) &&
	       parse_selector(to, "to", true, &r->to, err) &&
	       parse_ports(ports, r, err);
}

/* What a selector names must exist (groups need not). */
static bool selector_exists(const struct cg_state *st,
			    const struct cg_selector *sel, const char *field,
			    struct cg_error *err)
{
	const char *what = NULL;

	if (sel->kind == CG_SEL_PEER && !state_peer(st, sel->name))
		what = "peer";
	else if (sel->kind == CG_SEL_CELL && !state_cell(st, sel->name))
		what = "linked cell";
	else if (sel->kind == CG_SEL_SERVICE && !state_service(st, sel->name))
		what = "service";
	if (what)
		cg_error_set(err, 400, field, "no %s '%s'", what, sel->name);
	return !what;
}

/* A service is reached on its own endpoints: a rule to it grants it as
 * service_access does, on every port it has. */
static bool service_ports_any(const struct cg_rule_def *r, struct cg_error *err)
{
	if (r->to.kind != CG_SEL_SERVICE ||
	    (r->n_ports == 1 && !r->ports[0].proto))
		return true;
	cg_error_set(err, 400, "ports",
		     "a rule to a service takes [\"any\"]: the service's "
		     "endpoints say its ports");
	return false;
}

static bool rule_named(const void *rule, const void *name)
{
	return !strcmp(((const struct cg_rule_def *)rule)->name, name);
}

struct cg_rule_def *state_rule(const struct cg_state *st, const char *name)
{
	return state_find(st, ST_RULES, rule_named, name);
}

int state_put_rule(struct cg_state *st, const char *name, json_object *body,
		   struct cg_rule_def *old, bool *existed,
		   struct cg_rule_def *put, struct cg_error *err)
{
	struct cg_rule_def r = { 0 }, *cur;

	if (!state_check_name(body, name, err))
		return -EINVAL;
	str_copy(r.name, sizeof(r.name), name);
	if (!parse_rule(body, &r, err) ||
	    !selector_exists(st, &r.from, "from", err) ||
	    !selector_exists(st, &r.to, "to", err) ||
	    !service_ports_any(&r, err))
		return -EINVAL;
	cur = state_rule(st, name);
	*existed = cur != NULL;
	if (cur) {
		*old = *cur;
		state_replace(st, ST_RULES, cur, &r);
	} else if (st->n_rules >= CG_MAX_RULES) {
		cg_error_set(err, 409, "name",
			     "the cell has its maximum of %d "
			     "rules",
			     CG_MAX_RULES);
		return -ENOSPC;
	} else if (!state_add(st, ST_RULES, &r, err)) {
		return -ENOMEM;
	}
	*put = r;
	return 0;
}

int state_delete_rule(struct cg_state *st, const char *name,
		      struct cg_rule_def *removed, struct cg_error *err)
{
	return state_delete(st, ST_RULES, rule_named, name, removed, err);
}

json_object *rule_to_json(const struct cg_rule_def *rule)
{
	json_object *o = json_object_new_object();
	json_object *ports = json_object_new_array();
	char buf[CG_NAME_MAX + 16];
	unsigned int i;

	json_object_object_add(o, "name", json_object_new_string(rule->name));
	json_object_object_add(o, "from",
			       json_object_new_string(selector_str(
				       &rule->from, buf, sizeof(buf))));
	json_object_object_add(o, "to",
			       json_object_new_string(selector_str(
				       &rule->to, buf, sizeof(buf))));
	for (i = 0; i < rule->n_ports; i++) {
		const struct cg_rule_port *p = &rule->ports[i];
		const char *proto = p->proto == IPPROTO_TCP ? "tcp" : "udp";

		if (!p->proto)
			snprintf(buf, sizeof(buf), "any");
		else if (p->proto == IPPROTO_ICMP)
			snprintf(buf, sizeof(buf), "icmp");
		else if (p->lo == p->hi)
			snprintf(buf, sizeof(buf), "%s/%u", proto, p->lo);
		else
			snprintf(buf, sizeof(buf), "%s/%u-%u", proto, p->lo,
				 p->hi);
		json_object_array_add(ports, json_object_new_string(buf));
	}
	json_object_object_add(o, "ports", ports);
	return o;
}

bool state_rule_record(json_object *o, struct cg_rule_def *r,
		       struct cg_error *err)
{
	char name[CG_NAME_MAX + 2];

	memset(r, 0, sizeof(*r));
	if (!state_record_name(o, name, err)) {
		if (!err->msg[0])
			cg_error_set(err, 400, "", "bad rule name");
		return false;
	}
	str_copy(r->name, sizeof(r->name), name);
	return parse_rule(o, r, err) && service_ports_any(r, err);
}

bool state_load_rules(struct cg_state *st, json_object *arr,
		      struct cg_error *err)
{
	size_t i, n = arr ? json_object_array_length(arr) : 0;

	for (i = 0; i < n; i++) {
		struct cg_rule_def r;

		if (!state_rule_record(json_object_array_get_idx(arr, i), &r,
				       err))
			return false;
		if (state_rule(st, r.name)) {
			cg_error_set(err, 400, "name", "rule '%s' twice",
				     r.name);
			return false;
		}
		if (!state_add(st, ST_RULES, &r, err))
			return false;
	}
	return true;
}

/* ---- matching --------------------------------------------------------- */

static bool in_groups(const struct cg_peer_def *peer, const char *group)
{
	unsigned int i;

	for (i = 0; i < peer->n_groups; i++)
		if (!strcmp(peer->groups[i], group))
			return true;
	return false;
}

bool selector_matches_peer(const struct cg_selector *sel,
			   const struct cg_peer_def *peer)
{
	if (sel->kind == CG_SEL_GROUP)
		return in_groups(peer, sel->name);
	return sel->kind == CG_SEL_PEER && !strcmp(sel->name, peer->name);
}

bool selector_matches_cell(const struct cg_selector *sel,
			   const struct cg_cell_def *cell)
{
	return sel->kind == CG_SEL_CELL &&
	       !strcmp(sel->name, cell->info.cell_name);
}
