/* SPDX-License-Identifier: MIT */
/*
 * The per-identity families of GET /metrics (exporter.c), apart from the
 * controller so their series can be tested without a dataplane.
 */
#ifndef CELLGATE_EXPORTER_H
#define CELLGATE_EXPORTER_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "metrics.h"
#include "wg.h"

/* What the identity families need of a peer or a cell. */
struct ident_ref {
	const char *name;
	uint32_t id;
	const uint8_t *key; /* WireGuard public key */
};

/* Every family of one kind ("peer" or "cell") over refs: traffic, drops
 * (each reason of the fixed enum, 0 included, so every identity has the
 * same series from its first scrape), handshakes. sums is indexed by
 * identity id; dev's peers are sorted by public key; now is unix time. */
void exporter_ident_families(struct metrics *m, const char *kind,
			     const struct ident_ref *refs, size_t n,
			     const struct cg_counters *sums,
			     const struct wg_device *dev, int64_t now);

#endif
