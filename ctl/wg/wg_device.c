// SPDX-License-Identifier: MIT
/* The WireGuard device model (wg_device.h). */
#include <stdlib.h>
#include <string.h>

#include "wg_device.h"

bool wg_ifname_valid(const char *ifname)
{
	size_t len;

	if (!ifname)
		return false;
	len = strnlen(ifname, IF_NAMESIZE);
	/* The name becomes a path component: no '/', no "." or "..". */
	if (len == 0 || len >= IF_NAMESIZE || strchr(ifname, '/') ||
	    !strcmp(ifname, ".") || !strcmp(ifname, ".."))
		return false;
	for (; *ifname; ifname++)
		if (*ifname <= ' ' || *ifname == ':' || *ifname == 0x7f)
			return false;
	return true;
}

struct wg_peer *wg_device_add_peer(struct wg_device *dev, size_t *cap)
{
	struct wg_peer *peers;
	size_t ncap;

	if (dev->n_peers == *cap) {
		ncap = *cap ? *cap * 2 : 16;
		if (ncap > SIZE_MAX / sizeof(*peers))
			return NULL;
		peers = realloc(dev->peers, ncap * sizeof(*peers));
		if (!peers)
			return NULL;
		dev->peers = peers;
		*cap = ncap;
	}
	peers = &dev->peers[dev->n_peers++];
	memset(peers, 0, sizeof(*peers));
	return peers;
}

void wg_device_free(struct wg_device *dev)
{
	if (!dev)
		return;
	free(dev->peers);
	explicit_bzero(dev, sizeof(*dev));
}
