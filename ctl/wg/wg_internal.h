/* SPDX-License-Identifier: MIT */
/*
 * The back ends' faces, for the dispatcher (wg.c) and wg_iface.c: the
 * UAPI back end (wg_uapi.c) and the kernel back end (wg_netlink.c). Not
 * part of the public interface; see wg.h for that.
 */
#ifndef CELLGATE_WG_INTERNAL_H
#define CELLGATE_WG_INTERNAL_H

#include <stdbool.h>

#include "wg_device.h"

/* UAPI back end (wg_uapi.c). */
/* 0 when WG_UAPI_DIR/ifname.sock exists and accepts a connection. */
int uapi_probe(const char *ifname);
int uapi_get(const char *ifname, struct wg_device *dev);
int uapi_apply(const char *ifname, const struct wg_change *change);
struct wg_set_stream;
/* A set transaction written peer by peer (wg.h: wg_set_stream_*). */
int uapi_set_open(const char *ifname, struct wg_set_stream **s);
/* PID of the process listening on the UAPI socket (SO_PEERCRED). */
int uapi_owner_pid(const char *ifname, pid_t *pid);

/* Kernel back end (wg_netlink.c). */
int nl_get(const char *ifname, struct wg_device *dev);
int nl_apply(const char *ifname, const struct wg_change *change);

#endif
