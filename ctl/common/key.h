/* SPDX-License-Identifier: MIT */
/* WireGuard keys: Curve25519, 32 bytes, written as base64 (44 chars). */
#ifndef CELLGATE_KEY_H
#define CELLGATE_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WG_KEY_LEN 32
#define WG_KEY_B64_LEN 44 /* base64 of 32 bytes, with one '=' of padding */

typedef uint8_t wg_key[WG_KEY_LEN];

/* Decode exactly 44 chars of canonical base64 into a key. False on any
 * other length, alphabet, padding, or non-zero trailing bits. */
bool key_from_base64(wg_key key, const char *b64);
/* Writes WG_KEY_B64_LEN chars and a NUL into out (>= 45 bytes). */
void key_to_base64(char out[WG_KEY_B64_LEN + 1], const wg_key key);
/* Lower-case hex, the UAPI encoding: 64 chars and a NUL. */
void key_to_hex(char out[2 * WG_KEY_LEN + 1], const wg_key key);
bool key_from_hex(wg_key key, const char *hex);

/* A fresh clamped private key from getrandom(). 0 or -errno. */
int key_generate_private(wg_key priv);
/* X25519 public key of a private key (OpenSSL). 0 or -1. */
int key_public_from_private(wg_key pub, const wg_key priv);
bool key_is_zero(const wg_key key);
/* Constant-time equality. */
bool key_equal(const wg_key a, const wg_key b);

#endif
