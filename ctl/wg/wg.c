// SPDX-License-Identifier: MIT
/*
 * Dispatch between the WireGuard back ends. Like wg(8), a live UAPI socket
 * wins: a userspace daemon may drive an interface the kernel also knows
 * (as a tun device), never the other way round.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "wg.h"
#include "wg_internal.h"

int wg_detect_backend(const char *ifname, enum wg_backend *backend)
{
	int ret;

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	if (!uapi_probe(ifname)) {
		*backend = WG_BACKEND_UAPI;
		return 0;
	}
	ret = iface_is_kernel_wireguard(ifname);
	if (ret == 1) {
		*backend = WG_BACKEND_KERNEL;
		return 0;
	}
	if (ret < 0 && ret != -ENODEV)
		log_warn("wg %s: cannot look up link: %s", ifname,
			 strerror(-ret));
	return -ENODEV;
}

/* Detect, logging why nothing was found; used before every operation. */
static int detect_for(const char *ifname, const char *op,
		      enum wg_backend *backend)
{
	int ret = wg_detect_backend(ifname, backend);

	if (ret == -EINVAL)
		log_err("wg: %s: invalid interface name", op);
	else if (ret)
		log_err("wg %s: %s: no UAPI socket, no kernel WireGuard link",
			ifname, op);
	return ret;
}

int wg_get_device(const char *ifname, struct wg_device *dev)
{
	enum wg_backend backend;
	int ret;

	memset(dev, 0, sizeof(*dev));
	ret = detect_for(ifname, "get", &backend);
	if (ret)
		return ret;
	memcpy(dev->ifname, ifname, strlen(ifname) + 1);
	if (backend == WG_BACKEND_UAPI)
		ret = uapi_get(ifname, dev);
	else
		ret = nl_get(ifname, dev);
	if (ret)
		wg_device_free(dev);
	return ret;
}

int wg_set_stream_open(const char *ifname, struct wg_set_stream **s)
{
	enum wg_backend backend;
	int ret = detect_for(ifname, "set", &backend);

	if (ret)
		return ret;
	if (backend != WG_BACKEND_UAPI)
		return -EOPNOTSUPP;
	return uapi_set_open(ifname, s);
}

static int check_peer(const char *ifname, const struct wg_peer_change *pc)
{
	size_t i;

	if (pc->op == WG_PEER_REMOVE)
		return 0;
	if (pc->op != WG_PEER_SET)
		goto bad;
	if (pc->peer.n_allowed_ips > WG_MAX_ALLOWED_IPS)
		goto bad;
	for (i = 0; i < pc->peer.n_allowed_ips; i++)
		if (pc->peer.allowed_ips[i].cidr >
		    (pc->peer.allowed_ips[i].v6 ? 128 : 32))
			goto bad;
	return 0;
bad:
	log_err("wg %s: apply: invalid peer change (op %d, %zu allowed IPs)",
		ifname, (int)pc->op, pc->peer.n_allowed_ips);
	return -EINVAL;
}

int wg_apply(const char *ifname, const struct wg_change *change)
{
	enum wg_backend backend;
	size_t i;
	int ret;

	if (!wg_ifname_valid(ifname) || !change ||
	    (change->n_peers && !change->peers)) {
		log_err("wg: apply: invalid arguments");
		return -EINVAL;
	}
	/* Reject the whole batch before any of it reaches the device. */
	for (i = 0; i < change->n_peers; i++) {
		ret = check_peer(ifname, &change->peers[i]);
		if (ret)
			return ret;
	}
	ret = detect_for(ifname, "apply", &backend);
	if (ret)
		return ret;
	if (backend == WG_BACKEND_UAPI)
		return uapi_apply(ifname, change);
	return nl_apply(ifname, change);
}

/* An interface that is already WireGuard is used as it is. */
int wg_ensure_interface(const char *ifname, enum wg_backend *backend,
			pid_t *started_pid)
{
	int ret;

	*started_pid = 0;
	if (!wg_ifname_valid(ifname)) {
		log_err("wg: ensure interface: invalid interface name");
		return -EINVAL;
	}
	if (!wg_detect_backend(ifname, backend))
		return 0;
	ret = iface_is_kernel_wireguard(ifname);
	if (ret == 0) {
		log_err("wg %s: exists but is not a WireGuard interface",
			ifname);
		return -EEXIST;
	}
	if (ret < 0 && ret != -ENODEV) {
		log_err("wg %s: look up link: %s", ifname, strerror(-ret));
		return ret;
	}
	ret = iface_create_kernel(ifname);
	if (!ret) {
		log_info("wg %s: created kernel WireGuard link", ifname);
		*backend = WG_BACKEND_KERNEL;
		return 0;
	}
	if (ret != -EOPNOTSUPP) {
		log_err("wg %s: create kernel link: %s", ifname,
			strerror(-ret));
		return ret;
	}
	log_info("wg %s: kernel has no WireGuard; starting userspace daemon",
		 ifname);
	ret = iface_start_userspace(ifname, started_pid);
	if (ret)
		return ret;
	*backend = WG_BACKEND_UAPI;
	return 0;
}
