/* SPDX-License-Identifier: MIT */
#ifndef CELLGATE_CT_CANON_H
#define CELLGATE_CT_CANON_H

#include <stdbool.h>

#include "abi.h"

/* Whether k is a canonical conntrack key: of a flow's two directions,
 * the one whose source (address as a number read from its bytes, then
 * port) sorts first, as cg_ct_canon in bpf/lib/conntrack.h makes them. */
bool ct_key_canonical(const struct cg_ct_key *k);

/* Move conntrack entries an older cellgate pinned under a flow's
 * original tuple to its canonical key (marking them key_rev), so that
 * flows survive the upgrade. fd: cg_ct_tcp or cg_ct_other. Returns how
 * many moved, or -errno. Idempotent: today's programs write canonical
 * keys only. */
int ct_canonicalize(int fd);

#endif
