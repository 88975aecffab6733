/* SPDX-License-Identifier: MIT */
/*
 * WireGuard device control. Two back ends behind one interface, chosen per
 * interface the way wg(8) chooses: a userspace implementation (wireguard-go)
 * is driven over its UAPI socket /var/run/wireguard/IFNAME.sock (wg_uapi.c),
 * kernel WireGuard over generic netlink (wg_netlink.c). wg_iface.c creates
 * the interface when it is missing and sets its address and state.
 */
#ifndef CELLGATE_WG_H
#define CELLGATE_WG_H

#include "wg_device.h"
#include "wg_iface.h"

/* Which back end drives ifname: UAPI when its socket exists, else kernel.
 * 0, or -ENODEV when the interface is neither. */
int wg_detect_backend(const char *ifname, enum wg_backend *backend);

/* Read the device and all its peers. 0 or -errno. */
int wg_get_device(const char *ifname, struct wg_device *dev);

/* Apply a batch (any number of peers; split as the back end needs). */
int wg_apply(const char *ifname, const struct wg_change *change);

/* Make sure ifname exists as a WireGuard interface. Uses it if present;
 * else creates a kernel WireGuard link (rtnetlink, kind "wireguard");
 * where the kernel has no WireGuard, starts `wireguard-go ifname` and
 * waits (bounded) for its UAPI socket. *started_pid is the wireguard-go
 * daemon's PID when one was started, else 0. */
int wg_ensure_interface(const char *ifname, enum wg_backend *backend,
			pid_t *started_pid);

#endif
