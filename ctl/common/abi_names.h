/* SPDX-License-Identifier: MIT */
/*
 * Names of the values of the BPF ABI's enums (bpf/lib/abi.h), as the API,
 * /metrics, `cellgate maps` and `cellgate monitor` spell them: lower case
 * with underscores, like Prometheus label values. Names are added, never
 * changed: scripts and dashboards match on them.
 */
#ifndef CELLGATE_ABI_NAMES_H
#define CELLGATE_ABI_NAMES_H

#include "abi.h"

/* "service_denied"; "unknown" for a value without a name. */
const char *drop_reason_name(enum cg_drop_reason reason);
/* The reason called name, or -1. */
int drop_reason_parse(const char *name);

/* "wg_ingress", "wg_egress", "uplink_xdp", "uplink_egress". */
const char *hook_name(enum cg_hook hook);
/* Which way the packet was going at hook: "in" (into the cell) or "out". */
const char *hook_direction(enum cg_hook hook);
/* "drop", "new_flow". */
const char *event_kind_name(enum cg_event_kind kind);
/* "new", "established", "closing". */
const char *ct_state_name(enum cg_ct_state state);
/* "from_wg", "to_wg", "forwarded". */
const char *ct_origin_name(enum cg_ct_origin origin);
/* "masquerade", "bridge_snat", "service_dnat", "forward", "wg_snat",
 * "host". */
const char *nat_kind_name(enum cg_nat_kind kind);
/* "orig", "reply". */
const char *nat_dir_name(enum cg_nat_dir dir);
/* "peer", "cell". */
const char *identity_kind_name(enum cg_identity_kind kind);
/* "wg_subnet", "bridge", "extra". */
const char *net_kind_name(enum cg_net_kind kind);
/* "auto", "always", "never". */
const char *bridge_src_kind_name(enum cg_bridge_src_kind kind);
const char *forward_snat_name(enum cg_forward_snat snat);

#endif
