/* SPDX-License-Identifier: MIT */
/* wg-quick client configurations for peers, as text or as a QR code. */
#ifndef CELLGATE_CLIENT_CONFIG_H
#define CELLGATE_CLIENT_CONFIG_H

#include <stddef.h>

#include "config.h"
#include "key.h"
#include "state.h"

/* Seconds between keepalives in client configs: below the 30 s or so
 * after which home routers forget UDP mappings, so the cell can reach a
 * phone behind NAT. */
#define CLIENT_KEEPALIVE 25

/* The PrivateKey lines of a peer that was added with its own public key:
 * the cell never had the private key. A commented-out line would let
 * `wg setconf` and wg-quick bring up an interface without a key, which
 * silently sends nothing; this value is not base64, so both refuse the
 * file until the client's key is pasted in. */
#define CLIENT_KEY_PLACEHOLDER                                             \
	"# The private key is the client's: this cell never had it (the\n" \
	"# peer was added with its own public key). Replace the value\n"   \
	"# below with it; until then wg-quick refuses this file.\n"        \
	"PrivateKey = <paste the client's private key here>\n"

/* A wg-quick config for peer: split tunnel (the cell's networks) or, with
 * internet_access, full tunnel. priv_b64 is the peer's private key when
 * the cell generated it, else NULL (CLIENT_KEY_PLACEHOLDER). Returns a
 * malloc'd string, NULL when out of memory. */
char *client_config_render(const struct cg_config *cfg,
			   const struct cg_peer_def *peer,
			   const wg_key cell_pub, const char *priv_b64);

/* The text as a QR code in a PNG image (8-bit grey, 4 px per module, a
 * 4-module quiet zone). 0, or -ENOMEM / -EINVAL (text too long). */
int client_config_qr_png(const char *text, unsigned char **png, size_t *len);

#endif
