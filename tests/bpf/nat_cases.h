// SPDX-License-Identifier: MIT
/*
 * NAT cases: every rewrite the four programs make, checked byte for byte
 * against a frame pktgen builds on its own from the translated addresses
 * and ports (with fresh checksums), and with every checksum of the output
 * recomputed from scratch by the verifier in nat_fixture.h (which shares
 * nothing with bpf/lib/csum.h). Each case also checks the cg_nat entries
 * a translation leaves, conntrack on wg0 (keyed by the tuple on the wire),
 * the counters that move, port allocation and its limits, ICMP errors
 * about translated flows, fragments, and the controller's NAT garbage
 * collection.
 *
 * Included by bpf_test.c after its helpers; run after the ACL cases, each
 * case on a fresh NAT cell (nat_cell_build).
 */
#ifndef CG_TEST_NAT_CASES_H
#define CG_TEST_NAT_CASES_H

/* The parts, in this order: each uses what the ones before it define. */
#include "nat_fixture.h" /* addresses, checksums, frames, running hooks */
#include "nat_maps.h" /* cg_nat and other maps, the NAT cell */
#include "nat_cases_masq.h" /* cases 0-3: verifier, DNAT, masquerade */
#include "nat_cases_fwd.h" /* cases 4-8: ICMP, forwards, bridge, ... */

/* ---- the table ------------------------------------------------------------- */

static const struct flow nat_flows[] = {
	{ "nat: the checksum verifier catches what it must", nat_verifier },
	{ "nat: service DNAT tcp 3000 on wg0, both ways", nat_dnat_tcp },
	{ "nat: no access to api: denied, nothing installed", nat_dnat_denied },
	{ "nat: service DNAT udp 53 on wg0, both ways", nat_dnat_udp },
	{ "nat: DNAT keeps a UDP checksum of 0", nat_dnat_udp_no_csum },
	{ "nat: DNAT sends a UDP checksum computing to 0 as 0xffff",
	  nat_dnat_udp_csum_zero },
	{ "nat: masquerade tcp keeps the port; reply in XDP", nat_masq_tcp },
	{ "nat: a FIN closes both halves; late ACKs keep them short",
	  nat_masq_close },
	{ "nat: masquerade moves a taken port; replies to each",
	  nat_masq_collision },
	{ "nat: masquerade ICMP echo, id kept and moved", nat_masq_icmp },
	{ "nat: masquerade udp, checksums 0 and 0xffff", nat_masq_udp },
	{ "nat: WireGuard's port: no lookup, never masquerade's", nat_wg_port },
	{ "nat: router's own flow passes and reserves its tuple",
	  nat_router_flow },
	{ "nat: router's flow on a masqueraded tuple is a conflict",
	  nat_router_conflict },
	{ "nat: router's next packet renews an expired reservation",
	  nat_router_renew },
	{ "nat: 32 ports taken: NAT_EXHAUSTED, nothing half-installed",
	  nat_exhausted },
	{ "nat: forward with no free port: XDP drop, nat_failed",
	  nat_forward_exhausted },
	{ "nat: bridge -> cell with no free port: NAT_EXHAUSTED",
	  nat_wg_snat_exhausted },
	{ "nat: frag-needed about a masqueraded tcp flow, to its peer",
	  nat_icmp_err_tcp },
	{ "nat: frag-needed about a flow whose port moved",
	  nat_icmp_err_tcp_moved },
	{ "nat: port unreachable about masqueraded udp flows",
	  nat_icmp_err_udp },
	{ "nat: time exceeded about masqueraded echo requests",
	  nat_icmp_err_echo },
	{ "nat: ICMP error about no flow passes untouched",
	  nat_icmp_err_unrelated },
	{ "nat: forward 8080 -> bridge, reply on the uplink", nat_fwd_bridge },
	{ "nat: forward allow_from drops other sources", nat_fwd_denied },
	{ "nat: ports without a forward pass XDP untouched", nat_fwd_none },
	{ "nat: forward 22015 -> peer with SNAT on wg0, both ways",
	  nat_fwd_peer_tcp },
	{ "nat: forward udp 5353 -> peer with SNAT on wg0, both ways",
	  nat_fwd_peer_udp },
	{ "nat: forward without SNAT: FORWARDED until forgotten",
	  nat_fwd_snat_never },
	{ "nat: bridge -> linked cell gets the wg address", nat_bridge_cell },
	{ "nat: bridge -> peer keeps its source", nat_bridge_peer },
	{ "nat: later fragments get addresses only", nat_fragments },
	{ "nat: dp_gc deletes a pair only when both halves expired",
	  nat_gc_pairs },
	{ "nat: dp_forget_owner removes exactly forward 1's entries",
	  nat_forget_owner },
};

static void run_nat_cases(struct suite *s)
{
	struct check c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(nat_flows); i++) {
		memset(&c, 0, sizeof(c));
		if (nat_cell_build(s, &c))
			nat_flows[i].run(s, &c);
		report(s, nat_flows[i].name, &c);
	}
	nat_cell_teardown(s);
}

#endif
