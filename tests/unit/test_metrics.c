// SPDX-License-Identifier: MIT
/* Unit tests for ctl/common/metrics.c (the exposition format), the per-CPU
 * sums of ctl/dataplane/mapread.c that every counter goes through, and the
 * per-identity families of ctl/daemon/exporter.c. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "abi.h"
#include "abi_names.h"
#include "exporter.h"
#include "mapread.h"
#include "metrics.h"
#include "testutil.h"

/* ---- the text format ------------------------------------------------------ */

START_TEST(test_help_and_type_before_samples)
{
	struct metrics m;

	metrics_init(&m);
	metrics_family(&m, "cellgate_peer_rx_bytes_total", "counter",
		       "IP bytes received.");
	metrics_u64(&m, 1234, "peer", "alice", NULL);
	metrics_u64(&m, 0, "peer", "bob", NULL);
	metrics_family(&m, "cellgate_peers", "gauge", "Peers configured.");
	metrics_u64(&m, 2, NULL);
	ck_assert(!m.failed);
	ck_assert_str_eq(m.text,
			 "# HELP cellgate_peer_rx_bytes_total IP bytes "
			 "received.\n"
			 "# TYPE cellgate_peer_rx_bytes_total counter\n"
			 "cellgate_peer_rx_bytes_total{peer=\"alice\"} 1234\n"
			 "cellgate_peer_rx_bytes_total{peer=\"bob\"} 0\n"
			 "# HELP cellgate_peers Peers configured.\n"
			 "# TYPE cellgate_peers gauge\n"
			 "cellgate_peers 2\n");
	ck_assert_uint_eq(m.len, strlen(m.text));
	metrics_free(&m);
}
END_TEST

START_TEST(test_label_values_escaped)
{
	struct metrics m;

	metrics_init(&m);
	metrics_family(&m, "x_total", "counter", "h");
	metrics_u64(&m, 1, "a", "back\\slash", "b", "quo\"te", "c", "new\nline",
		    NULL);
	ck_assert(!m.failed);
	ck_assert_str_eq(strchr(m.text, '\n') + 1 +
				 strlen("# TYPE x_total counter\n"),
			 "x_total{a=\"back\\\\slash\",b=\"quo\\\"te\","
			 "c=\"new\\nline\"} 1\n");
	metrics_free(&m);
}
END_TEST

START_TEST(test_help_escaped_but_quotes_kept)
{
	struct metrics m;

	metrics_init(&m);
	metrics_family(&m, "x", "gauge", "a \"b\" c\\d\ne");
	ck_assert_str_eq(m.text, "# HELP x a \"b\" c\\\\d\\ne\n"
				 "# TYPE x gauge\n");
	metrics_free(&m);
}
END_TEST

START_TEST(test_values)
{
	struct metrics m;

	metrics_init(&m);
	metrics_family(&m, "v", "gauge", "h");
	metrics_u64(&m, UINT64_MAX, NULL);
	metrics_f64(&m, 0.25, NULL);
	metrics_f64(&m, NAN, NULL);
	metrics_f64(&m, INFINITY, NULL);
	metrics_f64(&m, -INFINITY, NULL);
	metrics_f64(&m, 0.636475, NULL); /* shortest form, not %.17g */
	metrics_f64(&m, 0.1 + 0.2, NULL); /* needs 17 digits to read back */
	ck_assert(!m.failed);
	ck_assert_ptr_nonnull(strstr(m.text, "v 18446744073709551615\n"
					     "v 0.25\nv NaN\nv +Inf\nv -Inf\n"
					     "v 0.636475\n"
					     "v 0.30000000000000004\n"));
	metrics_free(&m);
}
END_TEST

/* Misuse makes the text fail as a whole rather than scrape wrong. */
START_TEST(test_misuse_fails)
{
	struct metrics m;

	metrics_init(&m);
	metrics_u64(&m, 1, NULL); /* no family yet */
	ck_assert(m.failed);
	metrics_free(&m);

	metrics_init(&m);
	metrics_family(&m, "9starts_with_digit", "gauge", "h");
	ck_assert(m.failed);
	metrics_free(&m);

	metrics_init(&m);
	metrics_family(&m, "ok", "gauge", "h");
	metrics_u64(&m, 1, "bad-label", "v", NULL);
	ck_assert(m.failed);
	metrics_free(&m);

	metrics_init(&m);
	metrics_family(&m, "ok", "gauge", "h");
	metrics_u64(&m, 1, "colon:", "v", NULL); /* ':' only in metric names */
	ck_assert(m.failed);
	metrics_free(&m);
}
END_TEST

/* The buffer grows past its first allocation without losing anything. */
START_TEST(test_grows)
{
	struct metrics m;
	char name[32];
	int i;

	metrics_init(&m);
	metrics_family(&m, "cellgate_peer_tx_bytes_total", "counter", "h");
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "peer%05d", i);
		metrics_u64(&m, (uint64_t)i, "peer", name, NULL);
	}
	ck_assert(!m.failed);
	ck_assert_ptr_nonnull(strstr(
		m.text,
		"cellgate_peer_tx_bytes_total{peer=\"peer09999\"} 9999\n"));
	ck_assert_uint_eq(m.len, strlen(m.text));
	metrics_free(&m);
}
END_TEST

/* ---- sums over CPUs ------------------------------------------------------- */

START_TEST(test_percpu_sum_counters)
{
	struct cg_counters percpu[3] = { 0 }, sum;

	percpu[0].rx_bytes = 100;
	percpu[1].rx_bytes = 20;
	percpu[2].rx_bytes = 3;
	percpu[0].drops[CG_DROP_SERVICE_DENIED] = 1;
	percpu[2].drops[CG_DROP_SERVICE_DENIED] = 2;
	percpu[1].tx_packets = UINT64_C(1) << 40;
	memset(&sum, 0xff, sizeof(sum));
	percpu_sum_u64(&sum, percpu, sizeof(sum), 3);
	ck_assert_uint_eq(sum.rx_bytes, 123);
	ck_assert_uint_eq(sum.drops[CG_DROP_SERVICE_DENIED], 3);
	ck_assert_uint_eq(sum.tx_packets, UINT64_C(1) << 40);
	ck_assert_uint_eq(sum.rx_packets, 0);
	ck_assert_uint_eq(sum.drops[CG_DROP_NONE], 0);
}
END_TEST

/* Values that are not a multiple of 8 bytes are padded per CPU by the
 * kernel: the stride must follow. */
START_TEST(test_percpu_stride)
{
	uint64_t percpu[4] = { 5, 0, 7, 0 }; /* two CPUs, 8 bytes used of 16 */
	uint64_t sum = 0;

	ck_assert_uint_eq(percpu_stride(8), 8);
	ck_assert_uint_eq(percpu_stride(12), 16);
	ck_assert_uint_eq(percpu_stride(sizeof(struct cg_counters)),
			  sizeof(struct cg_counters));
	percpu_sum_u64(&sum, percpu, 8, 2);
	ck_assert_uint_eq(sum, 5); /* stride 8: CPU 1 is percpu[1] */
	sum = 0;
	percpu_sum_u64(&sum, percpu, 8, 1);
	ck_assert_uint_eq(sum, 5);
}
END_TEST

/* ---- per-identity families ------------------------------------------------- */

/* Lines of text that start with prefix. */
static int count_lines(const char *text, const char *prefix)
{
	const char *p = text;
	int n = 0;

	while (p && *p) {
		if (!strncmp(p, prefix, strlen(prefix)))
			n++;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return n;
}

/* Samples (not HELP or TYPE lines) whose labels contain needle. */
static int count_series(const char *text, const char *needle)
{
	const char *p = text, *nl;
	int n = 0;

	while (p && *p) {
		nl = strchr(p, '\n');
		if (*p != '#') {
			const char *hit = strstr(p, needle);

			n += hit && (!nl || hit < nl);
		}
		p = nl ? nl + 1 : NULL;
	}
	return n;
}

/* alice (id 1) has dropped once and shaken hands; bob (id 2) has done
 * neither. Both have every drop reason from the first scrape. */
START_TEST(test_ident_every_reason_from_start)
{
	static const uint8_t key_a[WG_KEY_LEN] = { 1 },
			     key_b[WG_KEY_LEN] = { 2 };
	struct ident_ref refs[2] = { { "alice", 1, key_a },
				     { "bob", 2, key_b } };
	struct cg_counters sums[3] = { 0 };
	struct wg_peer wgp = { 0 };
	struct wg_device dev = { .peers = &wgp, .n_peers = 1 };
	struct metrics m;
	char line[160];
	int r;

	memcpy(wgp.public_key, key_a, WG_KEY_LEN);
	wgp.last_handshake_sec = 1000;
	sums[1].drops[CG_DROP_SERVICE_DENIED] = 3;
	metrics_init(&m);
	exporter_ident_families(&m, "peer", refs, 2, sums, &dev, 1010);
	ck_assert(!m.failed);

	ck_assert_int_eq(count_lines(m.text, "cellgate_peer_drops_total{peer="
					     "\"bob\""),
			 CG_DROP__MAX - 1);
	ck_assert_int_eq(count_lines(m.text, "cellgate_peer_drops_total{peer="
					     "\"alice\""),
			 CG_DROP__MAX - 1);
	for (r = 1; r < CG_DROP__MAX; r++) {
		snprintf(
			line, sizeof(line),
			"\ncellgate_peer_drops_total{peer=\"bob\",reason=\"%s\"}"
			" 0\n",
			drop_reason_name(r));
		ck_assert_msg(strstr(m.text, line), "missing: %s", line + 1);
	}
	ck_assert_ptr_nonnull(strstr(m.text, "\ncellgate_peer_drops_total{peer="
					     "\"alice\",reason=\"service_"
					     "denied\"} 3\n"));

	/* The Unix time says so in its name; the old name is gone. */
	ck_assert_ptr_nonnull(strstr(m.text, "\ncellgate_peer_last_handshake_"
					     "timestamp_seconds{peer=\"alice\"}"
					     " 1000\n"));
	ck_assert_ptr_nonnull(strstr(m.text, "\ncellgate_peer_last_handshake_"
					     "timestamp_seconds{peer=\"bob\"} "
					     "0\n"));
	ck_assert_ptr_null(strstr(m.text, "last_handshake_seconds"));
	ck_assert_ptr_nonnull(strstr(m.text, "\ncellgate_peer_handshake_age_"
					     "seconds{peer=\"alice\"} 10\n"));
	ck_assert_ptr_null(
		strstr(m.text, "handshake_age_seconds{peer=\"bob\""));

	/* The per-peer series count README documents: 4 traffic, one per
	 * drop reason, the handshake time, and its age once there is one. */
	ck_assert_int_eq(count_series(m.text, "{peer=\"bob\""),
			 4 + (CG_DROP__MAX - 1) + 1);
	ck_assert_int_eq(count_series(m.text, "{peer=\"alice\""),
			 4 + (CG_DROP__MAX - 1) + 2);
	ck_assert_int_eq(CG_DROP__MAX - 1,
			 21); /* README says 27 (26 before a handshake) */
	metrics_free(&m);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *fmt = tcase_create("format");
	TCase *sums = tcase_create("sums");
	TCase *ident = tcase_create("identities");

	tcase_add_test(fmt, test_help_and_type_before_samples);
	tcase_add_test(fmt, test_label_values_escaped);
	tcase_add_test(fmt, test_help_escaped_but_quotes_kept);
	tcase_add_test(fmt, test_values);
	tcase_add_test(fmt, test_misuse_fails);
	tcase_add_test(fmt, test_grows);
	tcase_add_test(sums, test_percpu_sum_counters);
	tcase_add_test(sums, test_percpu_stride);
	tcase_add_test(ident, test_ident_every_reason_from_start);
	suite_add_tcase(s, fmt);
	suite_add_tcase(s, sums);
	suite_add_tcase(s, ident);
	return s;
}

int main(void)
{
	return tu_run(metrics_suite());
}
