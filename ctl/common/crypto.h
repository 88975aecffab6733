/* SPDX-License-Identifier: MIT */
/*
 * The cell-to-cell crypto, all from OpenSSL's libcrypto: the link key two
 * cells derive at pairing (HKDF-SHA256), and the HMAC-SHA256 that signs
 * every cell-to-cell request with it.
 */
#ifndef CELLGATE_CRYPTO_H
#define CELLGATE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "key.h"

#define LINK_KEY_LEN 32
#define PAIRING_SECRET_LEN 32 /* random bytes; base64url, 43 chars */
#define PAIRING_SECRET_B64_LEN 43
#define MAC_LEN 32
#define MAC_HEX_LEN (2 * MAC_LEN)

/* The key two cells share once paired: HKDF-SHA256 of the pairing secret,
 * salted with both cells' public keys in a fixed (sorted) order so both
 * sides derive the same key, for a cellgate-specific purpose. */
int link_key_derive(uint8_t out[LINK_KEY_LEN], const uint8_t *secret,
		    size_t secret_len, const wg_key a, const wg_key b);

/* HMAC-SHA256(key, method "\n" path "\n" timestamp "\n" body), as
 * lower-case hex. */
int request_mac(char out[MAC_HEX_LEN + 1], const uint8_t key[LINK_KEY_LEN],
		const char *method, const char *path, const char *timestamp,
		const char *body, size_t body_len);
/* Does hex_mac sign the request? Constant time. */
bool request_mac_ok(const char *hex_mac, const uint8_t key[LINK_KEY_LEN],
		    const char *method, const char *path, const char *timestamp,
		    const char *body, size_t body_len);

/* A fresh pairing secret, base64url without padding. */
int pairing_secret_new(char out[PAIRING_SECRET_B64_LEN + 1]);
/* Decode one; false unless exactly PAIRING_SECRET_LEN bytes. */
bool pairing_secret_decode(uint8_t out[PAIRING_SECRET_LEN], const char *b64);

/* The public id of an invite: 16 hex digits of a SHA-256 of its secret.
 * One-way, so listing and revoking invites never shows a secret, and
 * derived, so it is as durable as the secret itself in state.json. */
#define INVITE_ID_LEN 16
int invite_id(char out[INVITE_ID_LEN + 1], const char *secret_b64);

#endif
