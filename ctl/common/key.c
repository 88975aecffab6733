// SPDX-License-Identifier: MIT
/*
 * WireGuard keys. Encoding and decoding avoid branches and table lookups
 * that depend on key bytes, because private keys pass through here.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "key.h"

/* All ones when lo <= c <= hi, else 0; c, lo, hi in 0..255. */
static int in_range(int c, int lo, int hi)
{
	return ((lo - 1 - c) & (c - hi - 1)) >> 8;
}

/* One base64 digit (0..63) to its character. */
static char b64_char(int v)
{
	int c = v + 'A';

	c += in_range(v, 26, 51) & ('a' - 'A' - 26);
	c += in_range(v, 52, 61) & ('0' - 'A' - 52);
	c += in_range(v, 62, 62) & ('+' - 'A' - 62);
	c += in_range(v, 63, 63) & ('/' - 'A' - 63);
	return (char)c;
}

/* One base64 character to its value, or -1. */
static int b64_value(int c)
{
	int v = -1;

	v += in_range(c, 'A', 'Z') & (c - 'A' + 1);
	v += in_range(c, 'a', 'z') & (c - 'a' + 26 + 1);
	v += in_range(c, '0', '9') & (c - '0' + 52 + 1);
	v += in_range(c, '+', '+') & (62 + 1);
	v += in_range(c, '/', '/') & (63 + 1);
	return v;
}

void key_to_base64(char out[WG_KEY_B64_LEN + 1], const wg_key key)
{
	unsigned int i, w;

	/* 30 bytes make 10 full groups of four characters. */
	for (i = 0; i < 10; i++) {
		w = key[i * 3] << 16 | key[i * 3 + 1] << 8 | key[i * 3 + 2];
		out[i * 4 + 0] = b64_char((w >> 18) & 63);
		out[i * 4 + 1] = b64_char((w >> 12) & 63);
		out[i * 4 + 2] = b64_char((w >> 6) & 63);
		out[i * 4 + 3] = b64_char(w & 63);
	}
	/* The last 2 bytes: three characters and one '='. */
	w = key[30] << 16 | key[31] << 8;
	out[40] = b64_char((w >> 18) & 63);
	out[41] = b64_char((w >> 12) & 63);
	out[42] = b64_char((w >> 6) & 63);
	out[43] = '=';
	out[44] = '\0';
}

bool key_from_base64(wg_key key, const char *b64)
{
	unsigned int i, w;
	int bad = 0, v[4];

	if (!b64 || strnlen(b64, WG_KEY_B64_LEN + 1) != WG_KEY_B64_LEN ||
	    b64[43] != '=')
		return false;
	for (i = 0; i < 11; i++) {
		v[0] = b64_value((unsigned char)b64[i * 4 + 0]);
		v[1] = b64_value((unsigned char)b64[i * 4 + 1]);
		v[2] = b64_value((unsigned char)b64[i * 4 + 2]);
		/* The eleventh group ends in the '=', checked above. */
		v[3] = i < 10 ? b64_value((unsigned char)b64[i * 4 + 3]) : 0;
		bad |= v[0] | v[1] | v[2] | v[3];
		w = (unsigned int)v[0] << 18 | (unsigned int)v[1] << 12 |
		    (unsigned int)v[2] << 6 | (unsigned int)v[3];
		key[i * 3] = (uint8_t)(w >> 16);
		key[i * 3 + 1] = (uint8_t)(w >> 8);
		if (i < 10)
			key[i * 3 + 2] = (uint8_t)w;
		else
			/* 43 characters carry 258 bits; the last 2 are 0. */
			bad |= -(int)(w & 0xff);
	}
	if (bad < 0) {
		explicit_bzero(key, WG_KEY_LEN);
		return false;
	}
	return true;
}

static char hex_char(unsigned int nibble)
{
	int n = (int)nibble;

	return (char)(n + '0' + (in_range(n, 10, 15) & ('a' - '0' - 10)));
}

/* One hex character (either case) to its value, or -1. */
static int hex_value(int c)
{
	int v = -1;

	v += in_range(c, '0', '9') & (c - '0' + 1);
	v += in_range(c, 'a', 'f') & (c - 'a' + 10 + 1);
	v += in_range(c, 'A', 'F') & (c - 'A' + 10 + 1);
	return v;
}

void key_to_hex(char out[2 * WG_KEY_LEN + 1], const wg_key key)
{
	unsigned int i;

	for (i = 0; i < WG_KEY_LEN; i++) {
		out[i * 2] = hex_char(key[i] >> 4);
		out[i * 2 + 1] = hex_char(key[i] & 15);
	}
	out[2 * WG_KEY_LEN] = '\0';
}

bool key_from_hex(wg_key key, const char *hex)
{
	unsigned int i;
	int bad = 0, hi, lo;

	if (!hex || strnlen(hex, 2 * WG_KEY_LEN + 1) != 2 * WG_KEY_LEN)
		return false;
	for (i = 0; i < WG_KEY_LEN; i++) {
		hi = hex_value((unsigned char)hex[i * 2]);
		lo = hex_value((unsigned char)hex[i * 2 + 1]);
		bad |= hi | lo;
		key[i] = (uint8_t)((unsigned int)hi << 4 | (unsigned int)lo);
	}
	if (bad < 0) {
		explicit_bzero(key, WG_KEY_LEN);
		return false;
	}
	return true;
}

int key_generate_private(wg_key priv)
{
	size_t got = 0;
	ssize_t n;

	while (got < WG_KEY_LEN) {
		n = getrandom(priv + got, WG_KEY_LEN - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			explicit_bzero(priv, WG_KEY_LEN);
			return (int)n;
		}
		got += (size_t)n;
	}
	/* Curve25519 clamping (RFC 7748 section 5), as wg genkey does. */
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
	return 0;
}

int key_public_from_private(wg_key pub, const wg_key priv)
{
	EVP_PKEY *pkey;
	size_t len = WG_KEY_LEN;
	int ret = -1;

	/* OpenSSL clamps the scalar itself, so unclamped input works too. */
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
					    WG_KEY_LEN);
	if (!pkey)
		return -1;
	if (EVP_PKEY_get_raw_public_key(pkey, pub, &len) == 1 &&
	    len == WG_KEY_LEN)
		ret = 0;
	EVP_PKEY_free(pkey);
	return ret;
}

bool key_is_zero(const wg_key key)
{
	volatile uint8_t acc = 0;
	unsigned int i;

	for (i = 0; i < WG_KEY_LEN; i++)
		acc |= key[i];
	return acc == 0;
}

bool key_equal(const wg_key a, const wg_key b)
{
	volatile uint8_t acc = 0;
	unsigned int i;

	for (i = 0; i < WG_KEY_LEN; i++)
		acc |= a[i] ^ b[i];
	return acc == 0;
}
