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

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "key.h"

#define WG_UAPI_DIR "/var/run/wireguard"
/* cellgate gives a peer its /32 and a cell its vpn_subnet: a few at most. */
#define WG_MAX_ALLOWED_IPS 8

enum wg_backend {
	WG_BACKEND_KERNEL = 1, /* generic netlink, family "wireguard" */
	WG_BACKEND_UAPI = 2, /* userspace implementation, UAPI socket */
};

struct wg_allowed_ip {
	struct in_addr addr; /* network order */
	uint8_t cidr; /* prefix length, 0..32 */
};

struct wg_peer {
	wg_key public_key;
	struct wg_allowed_ip allowed_ips[WG_MAX_ALLOWED_IPS];
	size_t n_allowed_ips;
	bool has_endpoint;
	struct sockaddr_in endpoint; /* IPv4 endpoint, when has_endpoint */
	uint16_t persistent_keepalive; /* seconds, 0 = off */
	/* Filled by wg_get_device only: */
	int64_t last_handshake_sec; /* unix time, 0 = never */
	uint64_t rx_bytes;
	uint64_t tx_bytes;
};

struct wg_device {
	char ifname[IF_NAMESIZE];
	bool has_private_key;
	wg_key private_key;
	uint16_t listen_port;
	struct wg_peer *peers; /* owned, free with wg_device_free */
	size_t n_peers;
};

/* One change to a peer, for wg_apply. */
enum wg_peer_op {
	WG_PEER_SET = 1, /* add or update; allowed-ips replaced by the given */
	WG_PEER_REMOVE = 2,
};

struct wg_peer_change {
	enum wg_peer_op op;
	struct wg_peer peer; /* for REMOVE only public_key is used */
};

/* A batch of changes applied in one UAPI transaction or netlink exchange.
 * Device fields are applied only when their has_ flag is set. */
struct wg_change {
	bool has_private_key;
	wg_key private_key;
	bool has_listen_port;
	uint16_t listen_port;
	const struct wg_peer_change *peers;
	size_t n_peers;
};

/* Which back end drives ifname: UAPI when its socket exists, else kernel.
 * 0, or -ENODEV when the interface is neither. */
int wg_detect_backend(const char *ifname, enum wg_backend *backend);

/* Read the device and all its peers. 0 or -errno. */
int wg_get_device(const char *ifname, struct wg_device *dev);
void wg_device_free(struct wg_device *dev);

/* Apply a batch (any number of peers; split as the back end needs). */
int wg_apply(const char *ifname, const struct wg_change *change);

/* Make sure ifname exists as a WireGuard interface. Uses it if present;
 * else creates a kernel WireGuard link (rtnetlink, kind "wireguard");
 * where the kernel has no WireGuard, starts `wireguard-go ifname` and
 * waits (bounded) for its UAPI socket. *started_pid is the wireguard-go
 * daemon's PID when one was started, else 0. */
int wg_ensure_interface(const char *ifname, enum wg_backend *backend,
			pid_t *started_pid);

/* Add addr/prefix to ifname unless present; bring ifname up. */
int net_ensure_address(const char *ifname, struct in_addr addr, uint8_t prefix);
int net_link_up(const char *ifname);
/* First IPv4 address and prefix of ifname. -ENOENT if none. */
int net_get_ipv4(const char *ifname, struct in_addr *addr, uint8_t *prefix);

#endif
