// SPDX-License-Identifier: MIT
/*
 * Unit tests for ctl/common/crypto.c: the link key (HKDF-SHA256), the request
 * MAC (HMAC-SHA256) and pairing secrets (base64url). Each is checked
 * against a computation done here with another OpenSSL API, and against
 * fixed vectors computed with Python's hmac module.
 */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "testutil.h"

static const char info[] = "cellgate link key v1";

static void fill(uint8_t *buf, size_t len, uint8_t v)
{
	memset(buf, v, len);
}

/* HKDF-SHA256 with EVP_PKEY_CTX (crypto.c uses EVP_KDF): salt = the two
 * public keys, lower one first. */
static void hkdf_ref(uint8_t out[LINK_KEY_LEN], const uint8_t *secret,
		     size_t secret_len, const wg_key a, const wg_key b)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	uint8_t salt[2 * WG_KEY_LEN];
	size_t len = LINK_KEY_LEN;
	const uint8_t *lo = a, *hi = b;

	if (memcmp(a, b, WG_KEY_LEN) > 0) {
		lo = b;
		hi = a;
	}
	memcpy(salt, lo, WG_KEY_LEN);
	memcpy(salt + WG_KEY_LEN, hi, WG_KEY_LEN);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_PKEY_derive_init(ctx), 1);
	ck_assert_int_eq(EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()), 1);
	ck_assert_int_eq(EVP_PKEY_CTX_set1_hkdf_salt(ctx, salt, sizeof(salt)),
			 1);
	ck_assert_int_eq(
		EVP_PKEY_CTX_set1_hkdf_key(ctx, secret, (int)secret_len), 1);
	ck_assert_int_eq(
		EVP_PKEY_CTX_add1_hkdf_info(ctx, (const unsigned char *)info,
					    (int)strlen(info)),
		1);
	ck_assert_int_eq(EVP_PKEY_derive(ctx, out, &len), 1);
	ck_assert_uint_eq(len, LINK_KEY_LEN);
	EVP_PKEY_CTX_free(ctx);
}

static void to_hex(char *out, const uint8_t *in, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

static void derive(uint8_t out[LINK_KEY_LEN], const uint8_t *secret,
		   size_t secret_len, const wg_key a, const wg_key b)
{
	ck_assert_int_eq(link_key_derive(out, secret, secret_len, a, b), 0);
}

/* ---- the link key -------------------------------------------------------- */

START_TEST(test_link_key_symmetric)
{
	uint8_t secret[PAIRING_SECRET_LEN], k1[LINK_KEY_LEN], k2[LINK_KEY_LEN];
	uint8_t zero[LINK_KEY_LEN] = { 0 };
	wg_key a, b;

	fill(secret, sizeof(secret), 0x5a);
	fill(a, sizeof(a), 0x01);
	fill(b, sizeof(b), 0x02);
	a[31] = 0xff; /* the keys differ in their first byte, not only last */
	derive(k1, secret, sizeof(secret), a, b);
	derive(k2, secret, sizeof(secret), b, a);
	ck_assert_mem_eq(k1, k2, LINK_KEY_LEN);
	ck_assert_mem_ne(k1, zero, LINK_KEY_LEN);
	/* Keys that differ only in their last byte. */
	fill(b, sizeof(b), 0x01);
	b[31] = 0x00;
	derive(k1, secret, sizeof(secret), a, b);
	derive(k2, secret, sizeof(secret), b, a);
	ck_assert_mem_eq(k1, k2, LINK_KEY_LEN);
}
END_TEST

START_TEST(test_link_key_depends_on_everything)
{
	uint8_t secret[PAIRING_SECRET_LEN], base[LINK_KEY_LEN], k[LINK_KEY_LEN];
	wg_key a, b, c;

	fill(secret, sizeof(secret), 0x5a);
	fill(a, sizeof(a), 0x01);
	fill(b, sizeof(b), 0x02);
	fill(c, sizeof(c), 0x03);
	derive(base, secret, sizeof(secret), a, b);
	/* One bit of the secret. */
	secret[17] ^= 0x04;
	derive(k, secret, sizeof(secret), a, b);
	ck_assert_mem_ne(k, base, LINK_KEY_LEN);
	secret[17] ^= 0x04;
	derive(k, secret, sizeof(secret), a, b);
	ck_assert_mem_eq(k, base, LINK_KEY_LEN);
	/* Either key. */
	derive(k, secret, sizeof(secret), c, b);
	ck_assert_mem_ne(k, base, LINK_KEY_LEN);
	derive(k, secret, sizeof(secret), a, c);
	ck_assert_mem_ne(k, base, LINK_KEY_LEN);
	/* One bit of a key. */
	a[0] ^= 0x80;
	derive(k, secret, sizeof(secret), a, b);
	ck_assert_mem_ne(k, base, LINK_KEY_LEN);
	a[0] ^= 0x80;
	b[31] ^= 0x01;
	derive(k, secret, sizeof(secret), a, b);
	ck_assert_mem_ne(k, base, LINK_KEY_LEN);
	/* A shorter secret (its prefix) is another secret. */
	b[31] ^= 0x01;
	derive(k, secret, sizeof(secret) - 1, a, b);
	ck_assert_mem_ne(k, base, LINK_KEY_LEN);
}
END_TEST

START_TEST(test_link_key_matches_openssl_hkdf)
{
	uint8_t secret[PAIRING_SECRET_LEN], k[LINK_KEY_LEN], want[LINK_KEY_LEN];
	wg_key a, b;
	unsigned int round, i;

	for (round = 0; round < 64; round++) {
		ck_assert_int_eq(random_bytes(secret, sizeof(secret)), 0);
		ck_assert_int_eq(random_bytes(a, sizeof(a)), 0);
		ck_assert_int_eq(random_bytes(b, sizeof(b)), 0);
		if (round == 0) /* equal leading bytes: memcmp, not a[0] */
			for (i = 0; i < 16; i++)
				b[i] = a[i];
		hkdf_ref(want, secret, sizeof(secret), a, b);
		derive(k, secret, sizeof(secret), a, b);
		ck_assert_mem_eq(k, want, LINK_KEY_LEN);
		derive(k, secret, sizeof(secret), b, a);
		ck_assert_mem_eq(k, want, LINK_KEY_LEN);
	}
}
END_TEST

/* Python: HKDF-SHA256 by hand with hmac, salt 0x11*32 || 0x22*32, ikm
 * bytes 0..31, info "cellgate link key v1". */
START_TEST(test_link_key_known_vector)
{
	uint8_t secret[PAIRING_SECRET_LEN], k[LINK_KEY_LEN];
	char hex[2 * LINK_KEY_LEN + 1];
	wg_key a, b;
	unsigned int i;

	for (i = 0; i < sizeof(secret); i++)
		secret[i] = (uint8_t)i;
	fill(a, sizeof(a), 0x11);
	fill(b, sizeof(b), 0x22);
	derive(k, secret, sizeof(secret), b, a);
	to_hex(hex, k, sizeof(k));
	ck_assert_str_eq(hex, "91604afad1a0d1d308c66f3530e0d221"
			      "2676999f79c4933f288d6c0e066957c4");
}
END_TEST

/* ---- request MACs -------------------------------------------------------- */

static const char body[] = "{\"from_public_key\":\"x\"}";
static const char path[] = "/api/cells/peer-sync/permissions";
static const char ts[] = "1700000000000";

/* The known vector's key: the link key of the test above. */
static void vector_key(uint8_t key[LINK_KEY_LEN])
{
	static const char hex[] = "91604afad1a0d1d308c66f3530e0d221"
				  "2676999f79c4933f288d6c0e066957c4";
	unsigned int i, v;

	for (i = 0; i < LINK_KEY_LEN; i++) {
		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		key[i] = (uint8_t)v;
	}
}

/* hex(HMAC-SHA256) of "METHOD\nPATH\nTS\nBODY" with the one-shot HMAC(). */
static void hmac_ref(char out[MAC_HEX_LEN + 1], const uint8_t *key,
		     const char *method, const char *p, const char *t,
		     const char *b, size_t b_len)
{
	unsigned char msg[512], mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	int n = snprintf((char *)msg, sizeof(msg), "%s\n%s\n%s\n", method, p,
			 t);

	ck_assert(n > 0 && (size_t)n + b_len <= sizeof(msg));
	memcpy(msg + n, b, b_len);
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, LINK_KEY_LEN, msg,
				   (size_t)n + b_len, mac, &mac_len));
	ck_assert_uint_eq(mac_len, MAC_LEN);
	to_hex(out, mac, mac_len);
}

START_TEST(test_request_mac_matches_hmac)
{
	char mac[MAC_HEX_LEN + 1], want[MAC_HEX_LEN + 1];
	static const char with_nul[] = "{\"a\":1}\0tail";
	uint8_t key[LINK_KEY_LEN];
	unsigned int round;

	for (round = 0; round < 32; round++) {
		ck_assert_int_eq(random_bytes(key, sizeof(key)), 0);
		ck_assert_int_eq(request_mac(mac, key, "POST", path, ts, body,
					     strlen(body)),
				 0);
		hmac_ref(want, key, "POST", path, ts, body, strlen(body));
		ck_assert_str_eq(mac, want);
		ck_assert_uint_eq(strlen(mac), MAC_HEX_LEN);
	}
	/* body_len counts, not a NUL: the whole raw body is signed. */
	ck_assert_int_eq(request_mac(mac, key, "POST", path, ts, with_nul,
				     sizeof(with_nul) - 1),
			 0);
	hmac_ref(want, key, "POST", path, ts, with_nul, sizeof(with_nul) - 1);
	ck_assert_str_eq(mac, want);
	/* An empty body. */
	ck_assert_int_eq(request_mac(mac, key, "GET", "/", ts, "", 0), 0);
	hmac_ref(want, key, "GET", "/", ts, "", 0);
	ck_assert_str_eq(mac, want);
}
END_TEST

START_TEST(test_request_mac_known_vector)
{
	char mac[MAC_HEX_LEN + 1];
	uint8_t key[LINK_KEY_LEN];

	vector_key(key);
	ck_assert_int_eq(
		request_mac(mac, key, "POST", path, ts, body, strlen(body)), 0);
	ck_assert_str_eq(mac, "c5df5230cbe4c3195bdc4c251db6550f"
			      "77cb10c2161b091b49f4ebec6cd8b7f0");
}
END_TEST

static bool ok(const char *mac, const uint8_t *key)
{
	return request_mac_ok(mac, key, "POST", path, ts, body, strlen(body));
}

START_TEST(test_request_mac_ok)
{
	char mac[MAC_HEX_LEN + 1], bad[MAC_HEX_LEN + 2];
	uint8_t key[LINK_KEY_LEN], other[LINK_KEY_LEN];
	unsigned int i;
	bool letters = false;

	vector_key(key);
	ck_assert_int_eq(
		request_mac(mac, key, "POST", path, ts, body, strlen(body)), 0);
	ck_assert(ok(mac, key));
	/* Each hex digit flipped (to another digit) is refused. */
	for (i = 0; i < MAC_HEX_LEN; i++) {
		memcpy(bad, mac, sizeof(mac));
		bad[i] = bad[i] == '0' ? '1' : '0';
		ck_assert_msg(!ok(bad, key), "digit %u flipped accepted", i);
	}
	/* Upper-case hex is not our encoding. */
	memcpy(bad, mac, sizeof(mac));
	for (i = 0; i < MAC_HEX_LEN; i++)
		if (bad[i] >= 'a' && bad[i] <= 'f') {
			bad[i] = (char)(bad[i] - 'a' + 'A');
			letters = true;
		}
	ck_assert(letters);
	ck_assert(!ok(bad, key));
	/* Truncated, extended, empty, absent. */
	memcpy(bad, mac, sizeof(mac));
	bad[MAC_HEX_LEN - 1] = '\0';
	ck_assert(!ok(bad, key));
	bad[MAC_HEX_LEN / 2] = '\0';
	ck_assert(!ok(bad, key));
	memcpy(bad, mac, sizeof(mac));
	bad[MAC_HEX_LEN] = '0';
	bad[MAC_HEX_LEN + 1] = '\0';
	ck_assert(!ok(bad, key));
	ck_assert(!ok("", key));
	ck_assert(!ok(NULL, key));
	/* Another request: body, path, method, timestamp. */
	ck_assert(!request_mac_ok(mac, key, "POST", path, ts, body,
				  strlen(body) - 1));
	ck_assert(!request_mac_ok(mac, key, "POST", path, ts,
				  "{\"from_public_key\":\"y\"}", strlen(body)));
	ck_assert(!request_mac_ok(mac, key, "POST",
				  "/api/cells/peer-sync/unlink", ts, body,
				  strlen(body)));
	ck_assert(
		!request_mac_ok(mac, key, "PUT", path, ts, body, strlen(body)));
	ck_assert(!request_mac_ok(mac, key, "POST", path, "1700000000001", body,
				  strlen(body)));
	/* The separators count: moving a byte across one changes the MAC. */
	ck_assert(!request_mac_ok(mac, key, "POST", path, "170000000000",
				  "0{\"from_public_key\":\"x\"}",
				  strlen(body) + 1));
	/* Another key. */
	memcpy(other, key, sizeof(other));
	other[0] ^= 1;
	ck_assert(!ok(mac, other));
}
END_TEST

/* ---- pairing secrets ----------------------------------------------------- */

/* base64url without padding, written independently of crypto.c. */
static void b64url(char out[PAIRING_SECRET_B64_LEN + 1],
		   const uint8_t in[PAIRING_SECRET_LEN])
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;

	for (i = 0; i + 3 <= PAIRING_SECRET_LEN; i += 3) {
		out[o++] = abc[in[i] >> 2];
		out[o++] = abc[(in[i] & 3) << 4 | in[i + 1] >> 4];
		out[o++] = abc[(in[i + 1] & 15) << 2 | in[i + 2] >> 6];
		out[o++] = abc[in[i + 2] & 63];
	}
	/* 32 = 30 + 2: the last two bytes make three characters. */
	out[o++] = abc[in[i] >> 2];
	out[o++] = abc[(in[i] & 3) << 4 | in[i + 1] >> 4];
	out[o++] = abc[(in[i + 1] & 15) << 2];
	out[o] = '\0';
	ck_assert_uint_eq(o, PAIRING_SECRET_B64_LEN);
}

static bool b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

START_TEST(test_pairing_secret_new)
{
	char s1[PAIRING_SECRET_B64_LEN + 1], s2[PAIRING_SECRET_B64_LEN + 1];
	char again[PAIRING_SECRET_B64_LEN + 1];
	uint8_t raw[PAIRING_SECRET_LEN];
	unsigned int i;

	memset(s1, 'x', sizeof(s1));
	memset(s2, 'x', sizeof(s2));
	ck_assert_int_eq(pairing_secret_new(s1), 0);
	ck_assert_int_eq(pairing_secret_new(s2), 0);
	ck_assert_uint_eq(strlen(s1), PAIRING_SECRET_B64_LEN);
	ck_assert_uint_eq(strlen(s2), PAIRING_SECRET_B64_LEN);
	for (i = 0; i < PAIRING_SECRET_B64_LEN; i++)
		ck_assert_msg(b64url_char(s1[i]) && b64url_char(s2[i]),
			      "bad character at %u: %s / %s", i, s1, s2);
	ck_assert_str_ne(s1, s2);
	/* It decodes to 32 bytes that encode back to it. */
	ck_assert(pairing_secret_decode(raw, s1));
	b64url(again, raw);
	ck_assert_str_eq(again, s1);
}
END_TEST

START_TEST(test_pairing_secret_vectors)
{
	uint8_t raw[PAIRING_SECRET_LEN], want[PAIRING_SECRET_LEN];
	unsigned int i;

	memset(want, 0, sizeof(want));
	ck_assert(pairing_secret_decode(
		raw, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	ck_assert_mem_eq(raw, want, sizeof(want));
	memset(want, 0xff, sizeof(want));
	ck_assert(pairing_secret_decode(
		raw, "__________________________________________8"));
	ck_assert_mem_eq(raw, want, sizeof(want));
	for (i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)i;
	ck_assert(pairing_secret_decode(
		raw, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"));
	ck_assert_mem_eq(raw, want, sizeof(want));
}
END_TEST

START_TEST(test_pairing_secret_rejects)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789-_";
	char s[PAIRING_SECRET_B64_LEN + 2];
	uint8_t raw[PAIRING_SECRET_LEN], keep[PAIRING_SECRET_LEN];
	unsigned int i;

	memset(s, 'A', PAIRING_SECRET_B64_LEN);
	s[PAIRING_SECRET_B64_LEN] = '\0';
	ck_assert(pairing_secret_decode(raw, s));
	/* 42 and 44 characters, with or without a '=' pad. */
	s[PAIRING_SECRET_B64_LEN - 1] = '\0';
	ck_assert(!pairing_secret_decode(raw, s));
	s[PAIRING_SECRET_B64_LEN - 1] = 'A';
	s[PAIRING_SECRET_B64_LEN] = 'A';
	s[PAIRING_SECRET_B64_LEN + 1] = '\0';
	ck_assert(!pairing_secret_decode(raw, s));
	s[PAIRING_SECRET_B64_LEN] = '=';
	ck_assert(!pairing_secret_decode(raw, s));
	s[PAIRING_SECRET_B64_LEN] = '\0';
	ck_assert(!pairing_secret_decode(raw, ""));
	ck_assert(!pairing_secret_decode(raw, NULL));
	/* The other alphabet's '+' and '/', and strangers, anywhere. */
	for (i = 0; i < PAIRING_SECRET_B64_LEN; i += 7) {
		s[i] = '+';
		ck_assert_msg(!pairing_secret_decode(raw, s), "'+' at %u", i);
		s[i] = '/';
		ck_assert_msg(!pairing_secret_decode(raw, s), "'/' at %u", i);
		s[i] = '=';
		ck_assert(!pairing_secret_decode(raw, s));
		s[i] = ' ';
		ck_assert(!pairing_secret_decode(raw, s));
		s[i] = 'A';
	}
	/* The last character carries 4 bits and 2 pad bits, which must be
	 * zero: of its 64 values, those with (value & 3) != 0 are refused,
	 * and a refusal leaves out alone. */
	memset(keep, 0xee, sizeof(keep));
	for (i = 0; i < 64; i++) {
		memcpy(raw, keep, sizeof(raw));
		s[PAIRING_SECRET_B64_LEN - 1] = abc[i];
		ck_assert_msg(pairing_secret_decode(raw, s) == ((i & 3) == 0),
			      "last character '%c'", abc[i]);
		if (i & 3)
			ck_assert_mem_eq(raw, keep, sizeof(raw));
		else
			ck_assert_uint_eq(raw[31], (uint8_t)(i >> 2));
	}
}
END_TEST

START_TEST(test_pairing_secret_round_trip)
{
	uint8_t in[PAIRING_SECRET_LEN], out[PAIRING_SECRET_LEN];
	char s[PAIRING_SECRET_B64_LEN + 1];
	unsigned int round;

	for (round = 0; round < 1000; round++) {
		ck_assert_int_eq(random_bytes(in, sizeof(in)), 0);
		if (round == 0)
			memset(in, 0xff, sizeof(in));
		b64url(s, in);
		memset(out, 0, sizeof(out));
		ck_assert_msg(pairing_secret_decode(out, s), "refused %s", s);
		ck_assert_mem_eq(out, in, sizeof(in));
	}
}
END_TEST

static Suite *crypto_suite(void)
{
	Suite *s = suite_create("crypto");
	TCase *link = tcase_create("link_key");
	TCase *mac = tcase_create("request_mac");
	TCase *secret = tcase_create("pairing_secret");

	tcase_add_test(link, test_link_key_symmetric);
	tcase_add_test(link, test_link_key_depends_on_everything);
	tcase_add_test(link, test_link_key_matches_openssl_hkdf);
	tcase_add_test(link, test_link_key_known_vector);
	tcase_add_test(mac, test_request_mac_matches_hmac);
	tcase_add_test(mac, test_request_mac_known_vector);
	tcase_add_test(mac, test_request_mac_ok);
	tcase_add_test(secret, test_pairing_secret_new);
	tcase_add_test(secret, test_pairing_secret_vectors);
	tcase_add_test(secret, test_pairing_secret_rejects);
	tcase_add_test(secret, test_pairing_secret_round_trip);
	suite_add_tcase(s, link);
	suite_add_tcase(s, mac);
	suite_add_tcase(s, secret);
	return s;
}

int main(void)
{
	return tu_run(crypto_suite());
}
