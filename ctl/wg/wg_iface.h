/* SPDX-License-Identifier: MIT */
/*
 * Links and addresses over rtnetlink (wg_iface.c): the interface's address
 * and state for the controller, WireGuard link creation and the
 * wireguard-go fallback for the dispatcher, and libnl sockets that keep the
 * kernel's errno for the kernel back end and routes.
 */
#ifndef CELLGATE_WG_IFACE_H
#define CELLGATE_WG_IFACE_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/types.h>

struct nl_sock;

/* Add addr/prefix to ifname unless present; bring ifname up. */
int net_ensure_address(const char *ifname, struct in_addr addr, uint8_t prefix);
int net_ensure_address6(const char *ifname, const struct in6_addr *addr,
			uint8_t prefix);
int net_link_up(const char *ifname);
/* 1 if ifname is administratively up, 0 if down, -errno. */
int net_link_is_up(const char *ifname);
/* Give ifname the fq qdisc as its root (wg_qdisc.c): 1 created, 0 it
 * has fq already, -EEXIST another root qdisc is there (left alone). */
int net_ensure_fq(const char *ifname);
/* Remove ifname's root qdisc if it is the fq net_ensure_fq created (its
 * kind and handle): 1 removed, 0 none of ours there (another qdisc is
 * left alone), -errno. */
int net_remove_fq(const char *ifname);
/* First IPv4 address and prefix of ifname. -ENOENT if none. */
int net_get_ipv4(const char *ifname, struct in_addr *addr, uint8_t *prefix);
/* First global-scope IPv6 address and prefix of ifname. -ENOENT if none. */
int net_get_ipv6(const char *ifname, struct in6_addr *addr, uint8_t *prefix);

/* Link creation (wg_iface.c). -EOPNOTSUPP: the kernel has no WireGuard. */
int iface_create_kernel(const char *ifname);
/* Delete the link ifname (-ENODEV: there is none). */
int iface_delete(const char *ifname);
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
