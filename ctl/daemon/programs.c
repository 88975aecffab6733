// SPDX-License-Identifier: MIT
#include <net/if.h>
#include <string.h>

#include "programs.h"

size_t ctl_programs(const struct cg_config *cfg, struct dataplane *dp,
		    struct ctl_program out[4], struct xdp_state *xs)
{
	const char *wg = cfg->wireguard.interface;
	const char *up = cfg->uplink.interface;
	size_t n = 0;

	memset(xs, 0, sizeof(*xs));
	xs->mode = "none";
	out[n++] = (struct ctl_program){ wg, "tc-ingress",
					 dp_prog_fd_wg_ingress(dp), true };
	out[n++] = (struct ctl_program){ wg, "tc-egress",
					 dp_prog_fd_wg_egress(dp), true };
	if (!up[0])
		return n;
	out[n++] = (struct ctl_program){ up, "tc-egress",
					 dp_prog_fd_uplink_egress(dp),
					 if_nametoindex(up) != 0 };
	xdp_query(up, DP_PROG_UPLINK_XDP, xs);
	out[n++] = (struct ctl_program){ up, "xdp", dp_prog_fd_uplink_xdp(dp),
					 xs->attached };
	return n;
}

const char *ctl_libxdp_way(const struct xdp_state *xs)
{
	/* libxdp's dispatcher (several XDP programs on the interface) or
	 * its single-program fallback, e.g. where the kernel refuses the
	 * dispatcher's freplace programs. */
	return !xs->attached ? "none" :
	       xs->multiprog ? "multiprog" :
			       "single-program fallback";
}
