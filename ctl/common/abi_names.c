// SPDX-License-Identifier: MIT
/* Names of the BPF ABI's enum values (abi_names.h). */
#include <stddef.h>
#include <string.h>

#include "abi_names.h"

/* names[value], or fallback when value is out of range or unnamed. */
static const char *name_of(const char *const *names, size_t n,
			   unsigned int value, const char *fallback)
{
	if (value >= n || !names[value])
		return fallback;
	return names[value];
}

#define NAME_OF(names, value) \
	name_of(names, sizeof(names) / sizeof(names[0]), (value), "unknown")

static const char *const drop_names[CG_DROP__MAX] = {
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
	[CG_DROP_SPOOFED_SOURCE] = "spoofed_source",
	[CG_DROP_ARP_SPOOFED] = "arp_spoofed",
	[CG_DROP_FLOW_BUDGET] = "flow_budget",
	[CG_DROP_RATE_LIMITED] = "rate_limited",
	[CG_DROP_EXIT_DOWN] = "exit_down",
};

/* A reason added to the enum without a name fails the build here. */
_Static_assert(CG_DROP__MAX == 22, "name every enum cg_drop_reason value");

const char *drop_reason_name(enum cg_drop_reason reason)
{
	return NAME_OF(drop_names, reason);
}

int drop_reason_parse(const char *name)
{
	int r;

	for (r = 0; r < CG_DROP__MAX; r++)
		if (drop_names[r] && !strcmp(drop_names[r], name))
			return r;
	return -1;
}

const char *hook_name(enum cg_hook hook)
{
	static const char *const names[] = {
		[CG_HOOK_WG_INGRESS] = "wg_ingress",
		[CG_HOOK_WG_EGRESS] = "wg_egress",
		[CG_HOOK_UPLINK_XDP] = "uplink_xdp",
		[CG_HOOK_UPLINK_EGRESS] = "uplink_egress",
		[CG_HOOK_BRIDGE_PORT] = "bridge_port",
		[CG_HOOK_EXIT_INGRESS] = "exit_ingress",
	};

	return NAME_OF(names, hook);
}

const char *hook_direction(enum cg_hook hook)
{
	/* wg0 ingress and the uplink's XDP see packets entering the cell;
	 * the two egress hooks see packets leaving it. */
	if (hook == CG_HOOK_WG_INGRESS || hook == CG_HOOK_UPLINK_XDP ||
	    hook == CG_HOOK_BRIDGE_PORT || hook == CG_HOOK_EXIT_INGRESS)
		return "in";
	if (hook == CG_HOOK_WG_EGRESS || hook == CG_HOOK_UPLINK_EGRESS)
		return "out";
	return "?";
}

const char *event_kind_name(enum cg_event_kind kind)
{
	static const char *const names[] = {
		[CG_EVENT_DROP] = "drop",
		[CG_EVENT_NEW_FLOW] = "new_flow",
	};

	return NAME_OF(names, kind);
}

const char *ct_state_name(enum cg_ct_state state)
{
	static const char *const names[] = {
		[CG_CT_NEW] = "new",
		[CG_CT_ESTABLISHED] = "established",
		[CG_CT_CLOSING] = "closing",
	};

	return NAME_OF(names, state);
}

const char *ct_origin_name(enum cg_ct_origin origin)
{
	static const char *const names[] = {
		[CG_CT_FROM_WG] = "from_wg",
		[CG_CT_TO_WG] = "to_wg",
		[CG_CT_FORWARDED] = "forwarded",
	};

	return NAME_OF(names, origin);
}

const char *nat_kind_name(enum cg_nat_kind kind)
{
	static const char *const names[] = {
		[CG_NAT_MASQ] = "masquerade",
		[CG_NAT_BRIDGE_SNAT] = "bridge_snat",
		[CG_NAT_SERVICE_DNAT] = "service_dnat",
		[CG_NAT_FORWARD] = "forward",
		[CG_NAT_WG_SNAT] = "wg_snat",
		[CG_NAT_HOST] = "host",
		[CG_NAT_EXIT] = "exit",
	};

	return NAME_OF(names, kind);
}

const char *nat_dir_name(enum cg_nat_dir dir)
{
	static const char *const names[] = {
		[CG_NAT_ORIG] = "orig",
		[CG_NAT_REPLY] = "reply",
	};

	return NAME_OF(names, dir);
}

const char *identity_kind_name(enum cg_identity_kind kind)
{
	static const char *const names[] = {
		[CG_KIND_PEER] = "peer",
		[CG_KIND_CELL] = "cell",
	};

	return NAME_OF(names, kind);
}

const char *net_kind_name(enum cg_net_kind kind)
{
	static const char *const names[] = {
		[CG_NET_WG_SUBNET] = "wg_subnet",
		[CG_NET_BRIDGE] = "bridge",
		[CG_NET_EXTRA] = "extra",
	};

	return NAME_OF(names, kind);
}

const char *bridge_src_kind_name(enum cg_bridge_src_kind kind)
{
	static const char *const names[] = {
		[CG_BRSRC_SERVICE] = "service",
		[CG_BRSRC_FORWARD] = "forward",
		[CG_BRSRC_OPERATOR] = "operator",
	};

	return NAME_OF(names, kind);
}

const char *forward_snat_name(enum cg_forward_snat snat)
{
	static const char *const names[] = {
		[CG_FWD_SNAT_AUTO] = "auto",
		[CG_FWD_SNAT_ALWAYS] = "always",
		[CG_FWD_SNAT_NEVER] = "never",
	};

	return NAME_OF(names, snat);
}
