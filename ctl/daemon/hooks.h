/* SPDX-License-Identifier: MIT */
/*
 * Attaching the programs and writing the settings they read; used at start
 * (lifecycle.c) and when an interface comes back (heal.c).
 */
#ifndef CELLGATE_HOOKS_H
#define CELLGATE_HOOKS_H

#include "controller.h"

/* cg_settings from the config and the uplink's current address; written
 * only when it changed. Caller holds the lock. */
int ctl_refresh_settings(struct controller *c);
/* Its two halves, for the periodic tick: reading the uplink's address
 * (netlink, no lock needed), then writing what changed (under the lock). */
void ctl_settings_now(const struct controller *c, struct cg_settings *set);
int ctl_apply_settings(struct controller *c, const struct cg_settings *set);
/* The same for cg_settings6: all zero for an IPv4-only cell; the
 * uplink's global IPv6 address read from the interface. */
void ctl_settings6_now(const struct controller *c, struct cg_settings6 *set);
int ctl_apply_settings6(struct controller *c, const struct cg_settings6 *set);
/* wg0's ingress and egress programs. */
int ctl_attach_wg(struct controller *c);
/* The uplink's tc egress and XDP programs (nothing without an uplink; a
 * warning when it does not exist yet). */
int ctl_attach_uplink(struct controller *c);
/* The anti-spoofing program on one port of the bridge (ports.c). */
int ctl_attach_port(struct controller *c, const char *ifname);
/* Both. */
int ctl_attach_programs(struct controller *c);
/* Every masquerading exit's ingress program where it is missing
 * (dp_exits_reattach): at start and from the heal. */
void ctl_attach_exits(struct controller *c);

#endif
