/* SPDX-License-Identifier: MIT */
/* Counters as the API shows them, shared by the peer and cell views. */
#ifndef CELLGATE_VIEW_H
#define CELLGATE_VIEW_H

#include <json-c/json.h>

#include "abi.h"

/* An identity's counters summed over CPUs: traffic, drops by reason. */
json_object *ctl_counters_json(const struct cg_counters *s);

#endif
