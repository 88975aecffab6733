/* SPDX-License-Identifier: MIT */
/*
 * The fq qdisc on wg0 that download rate limits need (rate_qdisc.c).
 */
#ifndef CELLGATE_RATE_QDISC_H
#define CELLGATE_RATE_QDISC_H

#include <json-c/json.h>

#include "controller.h"

/* From heal's second: fq on wg0 while a download limit is in force,
 * ours removed when none is; changes logged once. Takes the lock for a
 * look at the state, none across netlink. */
void ctl_rate_qdisc_check(struct controller *c);
/* A clean stop: our fq goes (another root qdisc stays). */
void ctl_rate_qdisc_stop(struct controller *c);
/* GET /api/status's "rate_limits": {"fq": none|installed|missing|
 * foreign|error, "download": unlimited|shaped|policed}. */
json_object *ctl_rate_qdisc_json(const struct controller *c);

#endif
