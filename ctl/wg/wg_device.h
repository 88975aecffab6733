/* SPDX-License-Identifier: MIT */
/*
 * The WireGuard device model: a device, its peers and their allowed IPs,
 * and a batch of changes to them. The dispatcher (wg.c) and both back ends
 * (wg_uapi.c, wg_netlink.c) speak it; nothing here talks to a device.
 */
#ifndef CELLGATE_WG_DEVICE_H
#define CELLGATE_WG_DEVICE_H

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
	bool v6; /* false (zeroed): IPv4, in addr */
	uint8_t cidr; /* prefix length, 0..32 (0..128 for IPv6) */
	struct in_addr addr; /* network order */
	struct in6_addr addr6; /* when v6 */
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

/* A name we can put in a socket path and a netlink attribute. */
bool wg_ifname_valid(const char *ifname);
/* Grow dev->peers by one zeroed peer; NULL on ENOMEM. */
struct wg_peer *wg_device_add_peer(struct wg_device *dev, size_t *cap);
/* Free the peers and wipe the device (it may hold a private key). */
void wg_device_free(struct wg_device *dev);

#endif
