// SPDX-License-Identifier: MIT
/* Unit tests for ctl/common/key.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key.h"

/* RFC 7748 section 6.1: Alice's key pair, raw little-endian bytes in hex. */
static const char alice_priv_hex[] =
	"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char alice_pub_hex[] =
	"8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
/* The same two keys in base64, as `wg pubkey` would print them. */
static const char alice_priv_b64[] =
	"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=";
static const char alice_pub_b64[] =
	"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";

static void fill_pattern(wg_key key, unsigned int seed)
{
	unsigned int i;

	for (i = 0; i < WG_KEY_LEN; i++)
		key[i] = (uint8_t)(seed * 131 + i * 29 + (i >> 2));
}

START_TEST(test_base64_round_trip)
{
	char b64[WG_KEY_B64_LEN + 1];
	wg_key key, back;
	unsigned int seed;

	for (seed = 0; seed < 256; seed++) {
		fill_pattern(key, seed);
		key_to_base64(b64, key);
		ck_assert_uint_eq(strlen(b64), WG_KEY_B64_LEN);
		ck_assert_int_eq(b64[43], '=');
		ck_assert(key_from_base64(back, b64));
		ck_assert_mem_eq(key, back, WG_KEY_LEN);
	}
}
END_TEST

START_TEST(test_base64_all_zero_and_all_ones)
{
	char b64[WG_KEY_B64_LEN + 1];
	wg_key key;

	memset(key, 0, sizeof(key));
	key_to_base64(b64, key);
	ck_assert_str_eq(b64, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	memset(key, 0xff, sizeof(key));
	key_to_base64(b64, key);
	ck_assert_str_eq(b64, "//////////////////////////////////////////8=");
}
END_TEST

START_TEST(test_base64_known_vector)
{
	char b64[WG_KEY_B64_LEN + 1];
	wg_key key, from_hex;

	ck_assert(key_from_hex(from_hex, alice_priv_hex));
	key_to_base64(b64, from_hex);
	ck_assert_str_eq(b64, alice_priv_b64);
	ck_assert(key_from_base64(key, alice_priv_b64));
	ck_assert_mem_eq(key, from_hex, WG_KEY_LEN);
}
END_TEST

/* Generated independently (Python base64) to cover '+' and '/'. */
START_TEST(test_base64_plus_slash_vector)
{
	static const char b64_ref[] =
		"++++ep/E6Q4zWH2ix+wRNluApcrvFDleg6jN8hc8YYY=";
	char b64[WG_KEY_B64_LEN + 1];
	wg_key key, expect;

	ck_assert(key_from_hex(expect, "fbefbe7a9fc4e90e33587da2c7ec1136"
				       "5b80a5caef14395e83a8cdf2173c6186"));
	key_to_base64(b64, expect);
	ck_assert_str_eq(b64, b64_ref);
	ck_assert(key_from_base64(key, b64_ref));
	ck_assert_mem_eq(key, expect, WG_KEY_LEN);
}
END_TEST

START_TEST(test_base64_rejects_length)
{
	wg_key key;
	char buf[64];

	ck_assert(!key_from_base64(key, NULL));
	ck_assert(!key_from_base64(key, ""));
	/* One character short, one too many, and no padding at all. */
	ck_assert(!key_from_base64(
		key, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LC="));
	snprintf(buf, sizeof(buf), "%s=", alice_priv_b64);
	ck_assert(!key_from_base64(key, buf));
	snprintf(buf, sizeof(buf), "%sA", alice_priv_b64);
	ck_assert(!key_from_base64(key, buf));
	ck_assert(!key_from_base64(
		key, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo"));
	/* 44 characters, but no room for the padding. */
	ck_assert(!key_from_base64(
		key, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCoA"));
}
END_TEST

START_TEST(test_base64_rejects_alphabet)
{
	static const char bad_chars[] = "-_.*@ \n\x80\xff";
	char buf[WG_KEY_B64_LEN + 1];
	wg_key key;
	size_t i, pos;

	for (i = 0; i < strlen(bad_chars); i++) {
		for (pos = 0; pos < 43; pos += 7) {
			memcpy(buf, alice_priv_b64, sizeof(buf));
			buf[pos] = bad_chars[i];
			ck_assert_msg(!key_from_base64(key, buf),
				      "char 0x%02x at %zu accepted",
				      (unsigned char)bad_chars[i], pos);
		}
	}
	/* An embedded NUL makes the string short. */
	memcpy(buf, alice_priv_b64, sizeof(buf));
	buf[20] = '\0';
	ck_assert(!key_from_base64(key, buf));
}
END_TEST

START_TEST(test_base64_rejects_padding)
{
	char buf[WG_KEY_B64_LEN + 1];
	wg_key key;

	/* The 44th character must be '=' and only it. */
	memcpy(buf, alice_priv_b64, sizeof(buf));
	buf[43] = 'A';
	ck_assert(!key_from_base64(key, buf));
	memcpy(buf, alice_priv_b64, sizeof(buf));
	buf[42] = '=';
	ck_assert(!key_from_base64(key, buf));
	memcpy(buf, alice_priv_b64, sizeof(buf));
	buf[10] = '=';
	ck_assert(!key_from_base64(key, buf));
}
END_TEST

START_TEST(test_base64_rejects_trailing_bits)
{
	char buf[WG_KEY_B64_LEN + 1];
	wg_key key;

	/* "...LCo=" is canonical; 'o' = 40 has low bits 00. 'p', 'q', 'r'
	 * (41..43) decode to the same bytes with non-zero trailing bits. */
	memcpy(buf, alice_priv_b64, sizeof(buf));
	ck_assert(key_from_base64(key, buf));
	buf[42] = 'p';
	ck_assert(!key_from_base64(key, buf));
	buf[42] = 'q';
	ck_assert(!key_from_base64(key, buf));
	buf[42] = 'r';
	ck_assert(!key_from_base64(key, buf));
	ck_assert(!key_from_base64(
		key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB="));
	ck_assert(key_from_base64(
		key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE="));
}
END_TEST

START_TEST(test_hex_round_trip)
{
	char hex[2 * WG_KEY_LEN + 1];
	wg_key key, back;
	unsigned int seed;

	for (seed = 0; seed < 256; seed++) {
		fill_pattern(key, seed);
		key_to_hex(hex, key);
		ck_assert_uint_eq(strlen(hex), 2 * WG_KEY_LEN);
		ck_assert_uint_eq(strspn(hex, "0123456789abcdef"),
				  2 * WG_KEY_LEN);
		ck_assert(key_from_hex(back, hex));
		ck_assert_mem_eq(key, back, WG_KEY_LEN);
	}
	ck_assert(key_from_hex(key, alice_priv_hex));
	key_to_hex(hex, key);
	ck_assert_str_eq(hex, alice_priv_hex);
}
END_TEST

START_TEST(test_hex_rejects)
{
	char buf[2 * WG_KEY_LEN + 2];
	wg_key key, lower;

	ck_assert(!key_from_hex(key, NULL));
	ck_assert(!key_from_hex(key, ""));
	memcpy(buf, alice_priv_hex, 63);
	buf[63] = '\0';
	ck_assert(!key_from_hex(key, buf));
	snprintf(buf, sizeof(buf), "%s0", alice_priv_hex);
	ck_assert(!key_from_hex(key, buf));
	memcpy(buf, alice_priv_hex, sizeof(alice_priv_hex));
	buf[5] = 'g';
	ck_assert(!key_from_hex(key, buf));
	buf[5] = 'G';
	ck_assert(!key_from_hex(key, buf));
	buf[5] = ' ';
	ck_assert(!key_from_hex(key, buf));
	/* Upper case is accepted on input and means the same key. */
	ck_assert(key_from_hex(lower, alice_priv_hex));
	ck_assert(key_from_hex(key, "77076D0A7318A57D3C16C17251B26645"
				    "DF4C2F87EBC0992AB177FBA51DB92C2A"));
	ck_assert_mem_eq(key, lower, WG_KEY_LEN);
}
END_TEST

START_TEST(test_public_known_vector)
{
	char b64[WG_KEY_B64_LEN + 1];
	wg_key priv, pub, expect;

	ck_assert(key_from_hex(priv, alice_priv_hex));
	ck_assert(key_from_hex(expect, alice_pub_hex));
	ck_assert_int_eq(key_public_from_private(pub, priv), 0);
	ck_assert_mem_eq(pub, expect, WG_KEY_LEN);
	key_to_base64(b64, pub);
	ck_assert_str_eq(b64, alice_pub_b64);

	/* The RFC key is not clamped; X25519 clamps, so its clamped form
	 * (what key_generate_private would produce) has the same public. */
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
	ck_assert_int_eq(key_public_from_private(pub, priv), 0);
	ck_assert_mem_eq(pub, expect, WG_KEY_LEN);
}
END_TEST

START_TEST(test_generate_private)
{
	wg_key a, b, pub;

	ck_assert_int_eq(key_generate_private(a), 0);
	ck_assert_int_eq(key_generate_private(b), 0);
	ck_assert(!key_equal(a, b));
	ck_assert(!key_is_zero(a));
	ck_assert_uint_eq(a[0] & 7, 0);
	ck_assert_uint_eq(a[31] & 0xc0, 0x40);
	ck_assert_int_eq(key_public_from_private(pub, a), 0);
	ck_assert(!key_is_zero(pub));
}
END_TEST

START_TEST(test_zero_and_equal)
{
	wg_key a, b;

	memset(a, 0, sizeof(a));
	ck_assert(key_is_zero(a));
	a[31] = 1;
	ck_assert(!key_is_zero(a));
	memcpy(b, a, sizeof(b));
	ck_assert(key_equal(a, b));
	b[0] ^= 0x80;
	ck_assert(!key_equal(a, b));
}
END_TEST

static Suite *key_suite(void)
{
	Suite *s = suite_create("key");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_base64_round_trip);
	tcase_add_test(tc, test_base64_all_zero_and_all_ones);
	tcase_add_test(tc, test_base64_known_vector);
	tcase_add_test(tc, test_base64_plus_slash_vector);
	tcase_add_test(tc, test_base64_rejects_length);
	tcase_add_test(tc, test_base64_rejects_alphabet);
	tcase_add_test(tc, test_base64_rejects_padding);
	tcase_add_test(tc, test_base64_rejects_trailing_bits);
	tcase_add_test(tc, test_hex_round_trip);
	tcase_add_test(tc, test_hex_rejects);
	tcase_add_test(tc, test_public_known_vector);
	tcase_add_test(tc, test_generate_private);
	tcase_add_test(tc, test_zero_and_equal);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(key_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
