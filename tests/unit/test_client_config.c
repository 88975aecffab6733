// SPDX-License-Identifier: MIT
/* Unit tests for the wg-quick client config (ctl/client_config.c): a peer
 * that brought its own public key gets a PrivateKey line that wg-quick
 * refuses, not a comment that leaves the interface without a key. */
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "client_config.h"
#include "testutil.h"

static struct cg_config cfg;
static struct cg_peer_def peer;
static wg_key cell_pub;

static void setup(void)
{
	tu_config(&cfg, TU_EXAMPLE_CONFIG);
	memset(&peer, 0, sizeof(peer));
	str_copy(peer.name, sizeof(peer.name), "alice");
	inet_pton(AF_INET, "10.0.0.2", &peer.ip);
	memset(cell_pub, 7, sizeof(cell_pub));
}

/* Does text hold line as a whole line? */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p;

	for (p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
			return true;
	return false;
}

START_TEST(test_own_key_placeholder)
{
	char *text = client_config_render(&cfg, &peer, cell_pub, NULL);

	ck_assert_ptr_nonnull(text);
	/* Uncommented, and not a key: wg-quick stops on it
	 * (tests/e2e/test_api.sh runs `wg setconf` on it). */
	ck_assert(has_line(
		text, "PrivateKey = <paste the client's private key here>"));
	ck_assert_ptr_null(strstr(text, "# PrivateKey"));
	/* Says why, right above it. */
	ck_assert_ptr_nonnull(
		strstr(text, "# The private key is the client's"));
	ck_assert_ptr_nonnull(strstr(text, "[Interface]\n# The private key"));
	ck_assert(has_line(text, "Address = 10.0.0.2/32"));
	free(text);
}
END_TEST

START_TEST(test_generated_key)
{
	static const char priv[] =
		"YEocP0e6moDnsfLzSdWxiG2A5Xcr1W1TI0dL2KfHq0s=";
	char *text = client_config_render(&cfg, &peer, cell_pub, priv);
	char line[128];

	ck_assert_ptr_nonnull(text);
	snprintf(line, sizeof(line), "PrivateKey = %s", priv);
	ck_assert(has_line(text, line));
	ck_assert_ptr_null(strstr(text, "<paste"));
	ck_assert_ptr_null(strstr(text, "client's"));
	explicit_bzero(text, strlen(text));
	free(text);
}
END_TEST

static Suite *client_config_suite(void)
{
	Suite *s = suite_create("client_config");
	TCase *tc = tcase_create("render");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_own_key_placeholder);
	tcase_add_test(tc, test_generated_key);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(client_config_suite());
}
