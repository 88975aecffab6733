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

/*
 * One set transaction written peer by peer (UAPI only): open, any number
 * of peers (buffered, sent as the buffer fills; flush sends what is
 * buffered), close (the daemon applies and answers: 0 or -errno). Open
 * is -EOPNOTSUPP on kernel WireGuard: use wg_apply there. A write error
 * sticks and is close's answer.
 */
struct wg_set_stream;
int wg_set_stream_open(const char *ifname, struct wg_set_stream **s);
void wg_set_stream_peer(struct wg_set_stream *s,
			const struct wg_peer_change *pc);
void wg_set_stream_flush(struct wg_set_stream *s);
int wg_set_stream_close(struct wg_set_stream *s);

/* Make sure ifname exists as a WireGuard interface. Uses it if present;
 * else creates a kernel WireGuard link (rtnetlink, kind "wireguard");
 * where the kernel has no WireGuard, starts `wireguard-go ifname` and
 * waits (bounded) for its UAPI socket. *started_pid is the wireguard-go
 * daemon's PID when one was started, else 0. */
int wg_ensure_interface(const char *ifname, enum wg_backend *backend,
			pid_t *started_pid);

#endif
