/* SPDX-License-Identifier: MIT */
/*
 * Private glue between wg.c (dispatch), wg_uapi.c (userspace back end),
 * wg_netlink.c (kernel back end) and wg_iface.c (links and addresses).
 * Not part of the public interface; see wg.h for that.
 */
#ifndef CELLGATE_WG_INTERNAL_H
#define CELLGATE_WG_INTERNAL_H

#include <stdbool.h>

#include "wg.h"

struct nl_sock;

/* UAPI back end (wg_uapi.c). */
/* 0 when WG_UAPI_DIR/ifname.sock exists and accepts a connection. */
int uapi_probe(const char *ifname);
int uapi_get(const char *ifname, struct wg_device *dev);
int uapi_apply(const char *ifname, const struct wg_change *change);
/* PID of the process listening on the UAPI socket (SO_PEERCRED). */
int uapi_owner_pid(const char *ifname, pid_t *pid);

/* Kernel back end (wg_netlink.c). */
int nl_get(const char *ifname, struct wg_device *dev);
int nl_apply(const char *ifname, const struct wg_change *change);

/* Shared helpers. */
/* A name we can put in a socket path and a netlink attribute. */
bool wg_ifname_valid(const char *ifname);
/* Grow dev->peers by one zeroed peer; NULL on ENOMEM. */
struct wg_peer *wg_device_add_peer(struct wg_device *dev, size_t *cap);
/* Link creation (wg_iface.c). -EOPNOTSUPP: the kernel has no WireGuard. */
int iface_create_kernel(const char *ifname);
/* Start wireguard-go for ifname, detached; wait for its UAPI socket.
 * *pid is the PID of the process that owns the socket. */
int iface_start_userspace(const char *ifname, pid_t *pid);
/* 1 if ifname is a link of kind "wireguard", 0 if another kind, -errno
 * (-ENODEV when there is no such link). */
int iface_is_kernel_wireguard(const char *ifname);

/*
 * libnl reports kernel errors as its own NLE_ codes, which lose the errno.
 * A socket opened with nlsock_open stores the kernel's errno (negative) in
 * *kerr whenever an NLMSG_ERROR arrives, and nlsock_errno turns the result
 * of a libnl call into -errno using that value when there is one.
 */
struct nl_sock *nlsock_open(int protocol, int *kerr);
int nlsock_errno(int nlerr, const int *kerr);

#endif
