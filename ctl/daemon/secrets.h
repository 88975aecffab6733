/* SPDX-License-Identifier: MIT */
/*
 * The daemon's secrets on disk, all 0600: the admin token, the cell's
 * WireGuard private key, and the private keys of peers whose key pair the
 * cell generated (so their client config can be rendered).
 */
#ifndef CELLGATE_SECRETS_H
#define CELLGATE_SECRETS_H

#include <stdbool.h>

#include "controller.h"

/* The admin token: read it, or create it on first start; then note the
 * file's identity so a rotation is seen. */
int secrets_load_token(struct controller *c);
/* Re-read the token file when it changed (`cellgate token rotate` writes a
 * new one), so a rotation takes effect at the next request. */
void secrets_refresh_token(struct controller *c);
/* The cell's WireGuard private key (base64, as `wg genkey` writes it),
 * generated on first start. */
int secrets_load_cell_key(struct controller *c, wg_key priv);

int secrets_store_peer_key(struct controller *c, const char *name,
			   const wg_key priv);
void secrets_forget_peer_key(struct controller *c, const char *name);
/* The stored private key of a peer (base64), or false if there is none. */
bool secrets_load_peer_key(struct controller *c, const char *name,
			   char out[WG_KEY_B64_LEN + 1]);
/* Does the cell hold the peer's private key? */
bool secrets_peer_key_stored(struct controller *c, const char *name);

#endif
