/* SPDX-License-Identifier: MIT */
/*
 * Attaching programs to interfaces, and only ours: tc filters with
 * cellgate's own handle and priority, replaced in place; an XDP program
 * through libxdp, beside others when libxdp's dispatcher works, alone
 * (and never in place of someone else's) when it does not.
 */
#ifndef CELLGATE_ATTACH_H
#define CELLGATE_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* tc filter identity of cellgate's programs. Priority 1 runs them before
 * filters of lower precedence: with direct-action the first verdict ends
 * classification, so a later policy filter could be bypassed. */
#define CG_TC_HANDLE 0xce11
#define CG_TC_PRIO 1

/* Attach (or atomically replace) programs on ifname's clsact qdisc; a
 * negative fd leaves that direction alone. qdisc_created tells whether
 * this call created the qdisc. */
int tc_attach(const char *ifname, int ingress_fd, int egress_fd,
	      bool *qdisc_created);
/* Remove cellgate's filters from ifname, and the clsact qdisc if
 * qdisc_ours and nothing else uses it. */
int tc_detach(const char *ifname, bool qdisc_ours);

/* Remove cellgate's ingress filter from ifindex (its egress stays: an
 * exit may be an interface cellgate also filters the other way), and
 * the clsact qdisc if qdisc_ours and nothing uses it. 0 when the
 * interface is gone. */
int tc_detach_ingress(int ifindex, bool qdisc_ours);

/* The kernel's id of the program fd holds, 0 if none (or fd < 0): what
 * a hook's program is compared with to tell ours from another's. */
uint32_t prog_id_of_fd(int fd);
/* The program on ifname's tc hook with cellgate's handle and priority:
 * *prog_id, or 0 when that filter is not there. 0, or -ENODEV when
 * ifname does not exist. */
int tc_prog_id(const char *ifname, bool ingress, uint32_t *prog_id);

/* The interfaces enslaved to the bridge ifname (its ports): up to cap
 * ifindexes into ifindex, how many in *n. 0, -ENODEV when there is no
 * such interface, or -errno. */
int link_ports(const char *ifname, int *ifindex, size_t cap, size_t *n);

struct xdp_state {
	bool attached; /* our program is on the interface */
	const char *mode; /* "native", "generic" or "none" */
	bool multiprog; /* through libxdp's dispatcher (else alone) */
	uint32_t prog_id;
};

/* Attach the XDP program prog_fd (named name) to ifname: native mode if
 * the driver has it, else generic; an earlier cellgate program is
 * replaced. Refuses to displace another program. */
int xdp_attach(const char *ifname, int prog_fd, const char *name,
	       struct xdp_state *st);
/* Detach the program named name from ifname, if it is there. */
int xdp_detach(const char *ifname, const char *name);
/* What is attached to ifname, as far as our program is concerned. */
int xdp_query(const char *ifname, const char *name, struct xdp_state *st);

#endif
