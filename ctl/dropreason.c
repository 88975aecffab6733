// SPDX-License-Identifier: MIT
/* Names of enum cg_drop_reason, for the API, metrics and the monitor. */
#include "controller.h"

static const char *const names[CG_DROP__MAX] = {
	[CG_DROP_NONE] = "none",
	[CG_DROP_UNKNOWN_SOURCE] = "unknown_source",
	[CG_DROP_SERVICE_DENIED] = "service_denied",
	[CG_DROP_PEER_ISOLATION] = "peer_isolation",
	[CG_DROP_NOT_A_SERVICE] = "not_a_service",
	[CG_DROP_NO_INTERNET] = "no_internet",
	[CG_DROP_IPV6] = "ipv6",
	[CG_DROP_MALFORMED] = "malformed",
	[CG_DROP_UNSUPPORTED_L3] = "unsupported_l3",
	[CG_DROP_FRAGMENT] = "fragment",
	[CG_DROP_UNSOLICITED] = "unsolicited",
	[CG_DROP_ICMP_UNRELATED] = "icmp_unrelated",
	[CG_DROP_ICMP_UNSUPPORTED] = "icmp_unsupported",
	[CG_DROP_CELL_DENIED] = "cell_denied",
	[CG_DROP_NAT_EXHAUSTED] = "nat_exhausted",
	[CG_DROP_FORWARD_DENIED] = "forward_denied",
	[CG_DROP_NAT_CONFLICT] = "nat_conflict",
};

/* A reason added to the enum without a name fails the build here. */
_Static_assert(CG_DROP__MAX == 17, "name every enum cg_drop_reason value");

const char *drop_reason_name(enum cg_drop_reason reason)
{
	if ((unsigned int)reason >= CG_DROP__MAX || !names[reason])
		return "unknown";
	return names[reason];
}
