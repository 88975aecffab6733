/* SPDX-License-Identifier: MIT */
/*
 * Routes to linked cells' subnets over the WireGuard interface. WireGuard
 * itself adds no routes (wg-quick does, and cellgate replaces it), so the
 * controller keeps them, marked with its own route protocol: only routes
 * so marked are ever changed or removed.
 */
#ifndef CELLGATE_ROUTE_H
#define CELLGATE_ROUTE_H

#include <stddef.h>

#include "config.h"

/* Route protocol of cellgate's routes (`ip route` shows "proto 206"). */
#define CG_RTPROT 206

/* Make cellgate's routes via ifname exactly want[0..n). 0 or -errno. */
int route_sync(const char *ifname, const struct cg_cidr *want, size_t n);

#endif
