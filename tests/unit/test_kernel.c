// SPDX-License-Identifier: MIT
/*
 * Unit tests for ctl/dataplane/kernel.c (release parsing, the minimum version) and
 * for how a library's multi-line message (the verifier's log when a
 * program does not load) reaches the controller's log (ctl/common/log.c).
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel.h"
#include "log.h"
#include "testutil.h"

START_TEST(test_parse_release)
{
	struct kernel_version v;

	ck_assert_int_eq(kernel_parse_release("6.1.0-56-amd64", &v), 0);
	ck_assert_uint_eq(v.major, 6);
	ck_assert_uint_eq(v.minor, 1);
	ck_assert_uint_eq(v.patch, 0);
	ck_assert_int_eq(kernel_parse_release("6.18.44-fc-v782", &v), 0);
	ck_assert_uint_eq(v.major, 6);
	ck_assert_uint_eq(v.minor, 18);
	ck_assert_uint_eq(v.patch, 44);
	ck_assert_int_eq(kernel_parse_release("5.15.0-105-generic", &v), 0);
	ck_assert_uint_eq(v.minor, 15);
	/* No patch level, or a suffix right after the minor. */
	ck_assert_int_eq(kernel_parse_release("5.8", &v), 0);
	ck_assert_uint_eq(v.major, 5);
	ck_assert_uint_eq(v.minor, 8);
	ck_assert_uint_eq(v.patch, 0);
	ck_assert_int_eq(kernel_parse_release("6.10-rc1", &v), 0);
	ck_assert_uint_eq(v.minor, 10);
	ck_assert_int_eq(kernel_parse_release("4.18.0-553.el8_10.x86_64", &v),
			 0);
	ck_assert_uint_eq(v.major, 4);
	ck_assert_uint_eq(v.minor, 18);
	ck_assert_uint_eq(v.patch, 0);
}
END_TEST

START_TEST(test_parse_release_invalid)
{
	struct kernel_version v = { 7, 7, 7 };

	ck_assert_int_eq(kernel_parse_release(NULL, &v), -EINVAL);
	ck_assert_int_eq(kernel_parse_release("", &v), -EINVAL);
	ck_assert_int_eq(kernel_parse_release("6", &v), -EINVAL);
	ck_assert_int_eq(kernel_parse_release("6.", &v), -EINVAL);
	ck_assert_int_eq(kernel_parse_release("6.x", &v), -EINVAL);
	ck_assert_int_eq(kernel_parse_release("v6.1", &v), -EINVAL);
	ck_assert_int_eq(kernel_parse_release(" 6.1", &v), -EINVAL);
	ck_assert_int_eq(kernel_parse_release("6.1.", &v), -EINVAL);
	ck_assert_int_eq(kernel_parse_release("99999999999.1", &v), -EINVAL);
	ck_assert_int_eq(kernel_parse_release("6.4294967297", &v), -EINVAL);
	/* Left as it was. */
	ck_assert_uint_eq(v.major, 7);
	ck_assert_uint_eq(v.minor, 7);
	ck_assert_uint_eq(v.patch, 7);
}
END_TEST

START_TEST(test_check_release)
{
	char why[256];

	ck_assert_int_eq(
		kernel_check_release("6.1.0-56-amd64", why, sizeof(why)), 0);
	ck_assert_int_eq(kernel_check_release("6.18.44", why, sizeof(why)), 0);
	ck_assert_int_eq(kernel_check_release("5.8.0", why, sizeof(why)), 0);
	ck_assert_int_eq(
		kernel_check_release("5.10.0-30-amd64", why, sizeof(why)), 0);
	ck_assert_int_eq(kernel_check_release("10.0", why, sizeof(why)), 0);
}
END_TEST

START_TEST(test_check_release_too_old)
{
	char why[256];

	ck_assert_int_eq(kernel_check_release("5.7.19", why, sizeof(why)),
			 -ENOTSUP);
	ck_assert_str_eq(why, "kernel 5.7 is older than the minimum 5.8 "
			      "(cellgate needs BPF ring buffers (5.8), global "
			      "functions (5.6), the kernel's BTF for CO-RE "
			      "(5.4))");
	ck_assert_int_eq(
		kernel_check_release("5.4.0-150-generic", why, sizeof(why)),
		-ENOTSUP);
	ck_assert_ptr_nonnull(strstr(why, "kernel 5.4 is older than"));
	ck_assert_int_eq(
		kernel_check_release("4.19.0-27-amd64", why, sizeof(why)),
		-ENOTSUP);
	ck_assert_ptr_nonnull(strstr(why, "kernel 4.19 is older than"));
	ck_assert_int_eq(kernel_check_release("3.10.0", why, sizeof(why)),
			 -ENOTSUP);
}
END_TEST

START_TEST(test_check_release_unreadable)
{
	char why[256], small[8];

	ck_assert_int_eq(kernel_check_release("weird", why, sizeof(why)),
			 -EINVAL);
	ck_assert_str_eq(why, "cannot read a version in kernel release "
			      "'weird'");
	ck_assert_int_eq(kernel_check_release(NULL, why, sizeof(why)), -EINVAL);
	/* why is truncated, never overrun. */
	ck_assert_int_eq(kernel_check_release("5.4", small, sizeof(small)),
			 -ENOTSUP);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
}
END_TEST

/* The machine the tests run on is new enough (6.18 here); the probes
 * either succeed or cannot tell (not root), which is not a failure. */
START_TEST(test_check_running_kernel)
{
	ck_assert_int_eq(kernel_check(), 0);
}
END_TEST

/* ---- library messages in the log ------------------------------------------ */

static void library(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlibrary(LOG_LVL_WARN, NULL, fmt, ap);
	va_end(ap);
}

/* What log_vlibrary wrote to stderr for "%s" of text (malloc'd). */
static char *logged(const char *text)
{
	char path[] = "/tmp/cellgate-logtest.XXXXXX", *out;
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	long len;
	FILE *f;

	ck_assert(fd >= 0 && saved >= 0);
	fflush(stderr);
	ck_assert(dup2(fd, STDERR_FILENO) >= 0);
	library("%s", text);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	out = calloc(1, (size_t)len + 1);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(fread(out, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	unlink(path);
	return out;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

START_TEST(test_library_one_line)
{
	char *out = logged("libbpf: map 'x': created\n");

	ck_assert_ptr_nonnull(strstr(out, "cellgate warn: libbpf: map 'x': "
					  "created\n"));
	ck_assert_int_eq(count_lines(out), 1);
	free(out);
	out = logged("\n");
	ck_assert_str_eq(out, "");
	free(out);
}
END_TEST

/* The verifier's log: every line logged on its own, the last 40 only. */
START_TEST(test_library_verifier_log_tail)
{
	char *text = calloc(1, 8192), *out;
	size_t len;
	int i;

	ck_assert_ptr_nonnull(text);
	len = (size_t)sprintf(text, "libbpf: prog 'p': -- BEGIN PROG LOAD "
				    "LOG --\n");
	for (i = 0; i < 100; i++)
		len += (size_t)sprintf(text + len, "%d: insn %d\n", i, i);
	sprintf(text + len, "R2 pointer arithmetic prohibited\n\n-- END PROG "
			    "LOAD LOG --\n");
	out = logged(text);
	/* 103 non-empty lines: 63 skipped, then 40. */
	ck_assert_ptr_nonnull(strstr(out, "(63 lines skipped; the last 40 "
					  "follow)\n"));
	ck_assert_int_eq(count_lines(out), 41);
	ck_assert_ptr_null(strstr(out, "BEGIN PROG LOAD LOG"));
	ck_assert_ptr_null(strstr(out, ": 61: insn 61\n"));
	ck_assert_ptr_nonnull(strstr(out, ": 62: insn 62\n"));
	ck_assert_ptr_nonnull(strstr(out, ": 99: insn 99\n"));
	ck_assert_ptr_nonnull(strstr(out, "cellgate warn: R2 pointer "
					  "arithmetic prohibited\n"));
	ck_assert_ptr_nonnull(strstr(out, "cellgate warn: -- END PROG LOAD "
					  "LOG --\n"));
	free(out);
	free(text);
}
END_TEST

static Suite *kernel_suite(void)
{
	Suite *s = suite_create("kernel");
	TCase *tc = tcase_create("version");

	tcase_add_test(tc, test_parse_release);
	tcase_add_test(tc, test_parse_release_invalid);
	tcase_add_test(tc, test_check_release);
	tcase_add_test(tc, test_check_release_too_old);
	tcase_add_test(tc, test_check_release_unreadable);
	tcase_add_test(tc, test_check_running_kernel);
	suite_add_tcase(s, tc);
	tc = tcase_create("library log");
	tcase_add_test(tc, test_library_one_line);
	tcase_add_test(tc, test_library_verifier_log_tail);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(kernel_suite());
}
