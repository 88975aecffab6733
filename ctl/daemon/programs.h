/* SPDX-License-Identifier: MIT */
/*
 * The BPF programs and where they run, for status and /metrics: read from
 * the dataplane and the interfaces, nothing of the daemon's but its config.
 */
#ifndef CELLGATE_PROGRAMS_H
#define CELLGATE_PROGRAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "attach.h"
#include "config.h"
#include "dataplane.h"

struct ctl_program {
	const char *ifname;
	const char *hook; /* "tc-ingress", "tc-egress", "xdp" */
	int fd;
	bool attached;
};

/* The programs (2 on wg0, 2 more with an uplink); xs says how the XDP one
 * is attached. */
size_t ctl_programs(const struct cg_config *cfg, struct dataplane *dp,
		    struct ctl_program out[4], struct xdp_state *xs);
/* How libxdp attached XDP: "multiprog", "single-program fallback", "none". */
const char *ctl_libxdp_way(const struct xdp_state *xs);

#endif
