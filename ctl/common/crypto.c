// SPDX-License-Identifier: MIT
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "util.h"

/* What the derived key is for: a different purpose derives another key
 * from the same secret (HKDF "info"). */
static const char link_key_info[] = "cellgate link key v1";

int link_key_derive(uint8_t out[LINK_KEY_LEN], const uint8_t *secret,
		    size_t secret_len, const wg_key a, const wg_key b)
{
	uint8_t salt[2 * WG_KEY_LEN];
	bool a_first = memcmp(a, b, WG_KEY_LEN) < 0;
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[5];
	int ret = -EIO;

	memcpy(salt, a_first ? a : b, WG_KEY_LEN);
	memcpy(salt + WG_KEY_LEN, a_first ? b : a, WG_KEY_LEN);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						     (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(
		OSSL_KDF_PARAM_KEY, (void *)secret, secret_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt,
						      sizeof(salt));
	params[3] = OSSL_PARAM_construct_octet_string(
		OSSL_KDF_PARAM_INFO, (void *)link_key_info,
		sizeof(link_key_info) - 1);
	params[4] = OSSL_PARAM_construct_end();
	if (ctx && EVP_KDF_derive(ctx, out, LINK_KEY_LEN, params) == 1)
		ret = 0;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ret;
}

static int mac_raw(uint8_t out[MAC_LEN], const uint8_t key[LINK_KEY_LEN],
		   const char *method, const char *path, const char *timestamp,
		   const char *body, size_t body_len)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[2];
	size_t len = 0;
	int ret = -EIO;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	/* Newlines separate the parts: none of them may hold one but the
	 * body, which comes last, so no two requests sign alike. */
	if (ctx && EVP_MAC_init(ctx, key, LINK_KEY_LEN, params) == 1 &&
	    EVP_MAC_update(ctx, (const uint8_t *)method, strlen(method)) == 1 &&
	    EVP_MAC_update(ctx, (const uint8_t *)"\n", 1) == 1 &&
	    EVP_MAC_update(ctx, (const uint8_t *)path, strlen(path)) == 1 &&
	    EVP_MAC_update(ctx, (const uint8_t *)"\n", 1) == 1 &&
	    EVP_MAC_update(ctx, (const uint8_t *)timestamp,
			   strlen(timestamp)) == 1 &&
	    EVP_MAC_update(ctx, (const uint8_t *)"\n", 1) == 1 &&
	    EVP_MAC_update(ctx, (const uint8_t *)body, body_len) == 1 &&
	    EVP_MAC_final(ctx, out, &len, MAC_LEN) == 1 && len == MAC_LEN)
		ret = 0;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ret;
}

int request_mac(char out[MAC_HEX_LEN + 1], const uint8_t key[LINK_KEY_LEN],
		const char *method, const char *path, const char *timestamp,
		const char *body, size_t body_len)
{
	uint8_t raw[MAC_LEN];
	size_t i;
	int ret = mac_raw(raw, key, method, path, timestamp, body, body_len);

	if (ret)
		return ret;
	for (i = 0; i < MAC_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

bool request_mac_ok(const char *hex_mac, const uint8_t key[LINK_KEY_LEN],
		    const char *method, const char *path, const char *timestamp,
		    const char *body, size_t body_len)
{
	char want[MAC_HEX_LEN + 1];

	if (!hex_mac || strlen(hex_mac) != MAC_HEX_LEN ||
	    request_mac(want, key, method, path, timestamp, body, body_len))
		return false;
	return CRYPTO_memcmp(want, hex_mac, MAC_HEX_LEN) == 0;
}

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int pairing_secret_new(char out[PAIRING_SECRET_B64_LEN + 1])
{
	uint8_t raw[PAIRING_SECRET_LEN + 1] = { 0 };
	size_t i, o = 0;
	int ret = random_bytes(raw, PAIRING_SECRET_LEN);

	if (ret)
		return ret;
	/* 33 bytes (the last one zero) encode to 44 chars; the 43 first
	 * carry the 256 secret bits. */
	for (i = 0; i < PAIRING_SECRET_LEN + 1 && o < PAIRING_SECRET_B64_LEN;
	     i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16 |
			     (uint32_t)(i + 1 < sizeof(raw) ? raw[i + 1] : 0)
				     << 8 |
			     (i + 2 < sizeof(raw) ? raw[i + 2] : 0);
		int k;

		for (k = 18; k >= 0 && o < PAIRING_SECRET_B64_LEN; k -= 6)
			out[o++] = b64url[(v >> k) & 63];
	}
	out[o] = '\0';
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

bool pairing_secret_decode(uint8_t out[PAIRING_SECRET_LEN], const char *b64)
{
	uint8_t buf[PAIRING_SECRET_LEN + 3] = { 0 };
	size_t i, n = b64 ? strlen(b64) : 0, o = 0;
	uint32_t v = 0;
	int bits = 0;

	if (n != PAIRING_SECRET_B64_LEN)
		return false;
	for (i = 0; i < n; i++) {
		const char *p = strchr(b64url, b64[i]);

		if (!p || !b64[i])
			return false;
		v = v << 6 | (uint32_t)(p - b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (uint8_t)(v >> bits);
		}
	}
	/* 43 chars carry 258 bits: the 2 spare bits must be zero. */
	if (o != PAIRING_SECRET_LEN || (v & ((1u << bits) - 1)))
		return false;
	memcpy(out, buf, PAIRING_SECRET_LEN);
	explicit_bzero(buf, sizeof(buf));
	return true;
}

int invite_id(char out[INVITE_ID_LEN + 1], const char *secret_b64)
{
	static const char purpose[] = "cellgate invite id v1\n";
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ret = -EIO;

	if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, purpose, sizeof(purpose) - 1) == 1 &&
	    EVP_DigestUpdate(ctx, secret_b64, strlen(secret_b64)) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &len) == 1 &&
	    len >= INVITE_ID_LEN / 2) {
		for (i = 0; i < INVITE_ID_LEN / 2; i++)
			snprintf(out + 2 * i, 3, "%02x", md[i]);
		ret = 0;
	}
	EVP_MD_CTX_free(ctx);
	explicit_bzero(md, sizeof(md));
	return ret;
}
