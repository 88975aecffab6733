// SPDX-License-Identifier: MIT
/* Unit tests for ctl/common/util.c and ctl/common/jsonx.c. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jsonx.h"
#include "testutil.h"
#include "util.h"

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	ck_assert_msg(inet_pton(AF_INET, s, &a) == 1, "bad fixture %s", s);
	return a;
}

/* ---- addresses --------------------------------------------------------- */

START_TEST(test_parse_ipv4)
{
	struct in_addr a;

	ck_assert(parse_ipv4("10.0.0.1", &a));
	ck_assert_uint_eq(a.s_addr, ip("10.0.0.1").s_addr);
	ck_assert(parse_ipv4("0.0.0.0", &a));
	ck_assert_uint_eq(a.s_addr, 0);
	ck_assert(!parse_ipv4("10.0.0", &a));
	ck_assert(!parse_ipv4("10.0.0.256", &a));
	ck_assert(!parse_ipv4("010.0.0.1", &a));
	ck_assert(!parse_ipv4(" 10.0.0.1", &a));
	ck_assert(!parse_ipv4("10.0.0.1 ", &a));
	ck_assert(!parse_ipv4("::1", &a));
	ck_assert(!parse_ipv4("", &a));
	ck_assert(!parse_ipv4(NULL, &a));
}
END_TEST

START_TEST(test_parse_cidr_valid)
{
	struct in_addr a;
	uint8_t p = 99;

	ck_assert(parse_cidr("10.0.0.0/24", &a, &p, false));
	ck_assert_uint_eq(a.s_addr, ip("10.0.0.0").s_addr);
	ck_assert_uint_eq(p, 24);
	ck_assert(parse_cidr("0.0.0.0/0", &a, &p, false));
	ck_assert_uint_eq(p, 0);
	ck_assert(parse_cidr("1.2.3.4/32", &a, &p, false));
	ck_assert_uint_eq(a.s_addr, ip("1.2.3.4").s_addr);
	ck_assert_uint_eq(p, 32);
	ck_assert(parse_cidr("255.255.255.255/32", &a, &p, false));
	/* Host bits are kept as given when allowed. */
	ck_assert(parse_cidr("10.0.0.1/24", &a, &p, true));
	ck_assert_uint_eq(a.s_addr, ip("10.0.0.1").s_addr);
	ck_assert_uint_eq(p, 24);
	ck_assert(parse_cidr("1.2.3.4/0", &a, &p, true));
	ck_assert_uint_eq(p, 0);
}
END_TEST

START_TEST(test_parse_cidr_invalid)
{
	struct in_addr a;
	uint8_t p;

	/* Host bits set. */
	ck_assert(!parse_cidr("10.0.0.1/24", &a, &p, false));
	ck_assert(!parse_cidr("10.0.0.128/24", &a, &p, false));
	ck_assert(!parse_cidr("1.2.3.4/0", &a, &p, false));
	ck_assert(!parse_cidr("11.0.0.0/7", &a, &p, false));
	/* Prefix syntax and range. */
	ck_assert(!parse_cidr("1.2.3.4/33", &a, &p, true));
	ck_assert(!parse_cidr("1.2.3.4/", &a, &p, true));
	ck_assert(!parse_cidr("1.2.3.4", &a, &p, true));
	ck_assert(!parse_cidr("1.2.3.4/-1", &a, &p, true));
	ck_assert(!parse_cidr("1.2.3.4/+8", &a, &p, true));
	ck_assert(!parse_cidr("1.2.3.4/ 8", &a, &p, true));
	ck_assert(!parse_cidr("1.2.3.4/8 ", &a, &p, true));
	ck_assert(!parse_cidr("1.2.3.4/8a", &a, &p, true));
	ck_assert(!parse_cidr("1.2.3.4/008", &a, &p, true));
	ck_assert(!parse_cidr("1.2.3.4/100", &a, &p, true));
	ck_assert(!parse_cidr("1.2.3.4/8/8", &a, &p, true));
	/* The address, strictly per inet_pton (no spaces, no leading 0s). */
	ck_assert(!parse_cidr(" 1.2.3.4/8", &a, &p, true));
	ck_assert(!parse_cidr("1.2.3.4 /8", &a, &p, true));
	ck_assert(!parse_cidr("01.2.3.4/8", &a, &p, true));
	ck_assert(!parse_cidr("1.2.3.04/8", &a, &p, true));
	ck_assert(!parse_cidr("1.2.3/8", &a, &p, true));
	ck_assert(!parse_cidr("1.2.3.4.5/8", &a, &p, true));
	ck_assert(!parse_cidr("1.2.3.256/8", &a, &p, true));
	ck_assert(!parse_cidr("111.111.111.1111/8", &a, &p, true));
	ck_assert(!parse_cidr("/8", &a, &p, true));
	ck_assert(!parse_cidr("", &a, &p, true));
	ck_assert(!parse_cidr(NULL, &a, &p, true));
}
END_TEST

START_TEST(test_prefix_mask)
{
	ck_assert_uint_eq(prefix_mask(0), 0);
	ck_assert_uint_eq(prefix_mask(1), htonl(0x80000000u));
	ck_assert_uint_eq(prefix_mask(24), htonl(0xffffff00u));
	ck_assert_uint_eq(prefix_mask(31), htonl(0xfffffffeu));
	ck_assert_uint_eq(prefix_mask(32), 0xffffffffu);
}
END_TEST

START_TEST(test_cidr_contains)
{
	ck_assert(cidr_contains(ip("10.0.0.0"), 24, ip("10.0.0.0")));
	ck_assert(cidr_contains(ip("10.0.0.0"), 24, ip("10.0.0.255")));
	ck_assert(!cidr_contains(ip("10.0.0.0"), 24, ip("10.0.1.0")));
	ck_assert(!cidr_contains(ip("10.0.0.0"), 24, ip("9.255.255.255")));
	ck_assert(cidr_contains(ip("10.0.0.7"), 32, ip("10.0.0.7")));
	ck_assert(!cidr_contains(ip("10.0.0.7"), 32, ip("10.0.0.6")));
	ck_assert(cidr_contains(ip("0.0.0.0"), 0, ip("203.0.113.9")));
	/* Host bits of the network do not matter. */
	ck_assert(cidr_contains(ip("10.0.0.1"), 24, ip("10.0.0.200")));
}
END_TEST

START_TEST(test_cidrs_overlap)
{
	ck_assert(cidrs_overlap(ip("10.0.0.0"), 8, ip("10.1.0.0"), 16));
	ck_assert(cidrs_overlap(ip("10.1.0.0"), 16, ip("10.0.0.0"), 8));
	ck_assert(cidrs_overlap(ip("10.0.0.0"), 24, ip("10.0.0.0"), 24));
	ck_assert(!cidrs_overlap(ip("10.0.0.0"), 24, ip("10.0.1.0"), 24));
	ck_assert(!cidrs_overlap(ip("10.0.1.0"), 24, ip("10.0.0.0"), 24));
	ck_assert(!cidrs_overlap(ip("192.168.0.0"), 16, ip("192.169.0.0"), 16));
	ck_assert(cidrs_overlap(ip("0.0.0.0"), 0, ip("172.20.0.0"), 16));
	ck_assert(cidrs_overlap(ip("172.20.0.0"), 16, ip("0.0.0.0"), 0));
	ck_assert(cidrs_overlap(ip("10.0.0.0"), 24, ip("10.0.0.77"), 32));
	ck_assert(!cidrs_overlap(ip("10.0.0.0"), 25, ip("10.0.0.128"), 25));
	ck_assert(!cidrs_overlap(ip("10.0.0.5"), 32, ip("10.0.0.6"), 32));
}
END_TEST

START_TEST(test_parse_host_port)
{
	char host[32];
	uint16_t port = 0;

	ck_assert(parse_host_port("198.51.100.7:51820", host, sizeof(host),
				  &port));
	ck_assert_str_eq(host, "198.51.100.7");
	ck_assert_uint_eq(port, 51820);
	ck_assert(parse_host_port("vpn.example.org:1", host, sizeof(host),
				  &port));
	ck_assert_str_eq(host, "vpn.example.org");
	ck_assert_uint_eq(port, 1);
	ck_assert(parse_host_port("h:65535", host, sizeof(host), &port));
	ck_assert_uint_eq(port, 65535);

	port = 7;
	ck_assert(!parse_host_port("198.51.100.7", host, sizeof(host), &port));
	ck_assert(!parse_host_port(":80", host, sizeof(host), &port));
	ck_assert(!parse_host_port("h:", host, sizeof(host), &port));
	ck_assert(!parse_host_port("h:0", host, sizeof(host), &port));
	ck_assert(!parse_host_port("h:65536", host, sizeof(host), &port));
	ck_assert(!parse_host_port("h:99999999999999999999", host, sizeof(host),
				   &port));
	ck_assert(!parse_host_port("h:-1", host, sizeof(host), &port));
	ck_assert(!parse_host_port("h:+80", host, sizeof(host), &port));
	ck_assert(!parse_host_port("h: 80", host, sizeof(host), &port));
	ck_assert(!parse_host_port("h:80 ", host, sizeof(host), &port));
	ck_assert(!parse_host_port("h:80x", host, sizeof(host), &port));
	ck_assert(!parse_host_port("", host, sizeof(host), &port));
	ck_assert(!parse_host_port(NULL, host, sizeof(host), &port));
	/* The host must fit, with its NUL. */
	ck_assert(!parse_host_port("abcd:80", host, 4, &port));
	ck_assert(parse_host_port("abc:80", host, 4, &port));
	ck_assert_str_eq(host, "abc");
	ck_assert_uint_eq(port, 80);
}
END_TEST

START_TEST(test_ipv4_str)
{
	char buf[16];

	ck_assert_str_eq(ipv4_str(ip("255.255.255.255"), buf),
			 "255.255.255.255");
	ck_assert_str_eq(ipv4_str(ip("10.0.0.2"), buf), "10.0.0.2");
}
END_TEST

/* ---- names and strings ------------------------------------------------- */

START_TEST(test_valid_name)
{
	char name[80];

	ck_assert(valid_name("a"));
	ck_assert(valid_name("Alice_01.home-cell"));
	memset(name, 'x', sizeof(name));
	name[64] = '\0';
	ck_assert(valid_name(name));
	name[64] = 'x';
	name[65] = '\0';
	ck_assert(!valid_name(name));
	ck_assert(!valid_name(""));
	ck_assert(!valid_name(NULL));
	ck_assert(!valid_name("a b"));
	ck_assert(!valid_name("a/b"));
	ck_assert(!valid_name("a:b"));
	ck_assert(!valid_name("a\nb"));
	ck_assert(!valid_name("caf\xc3\xa9"));
}
END_TEST

START_TEST(test_str_copy)
{
	char buf[4];

	str_copy(buf, sizeof(buf), "ab");
	ck_assert_str_eq(buf, "ab");
	str_copy(buf, sizeof(buf), "abcdef");
	ck_assert_str_eq(buf, "abc");
}
END_TEST

START_TEST(test_proto)
{
	uint8_t p = 99;

	ck_assert(parse_proto("tcp", &p));
	ck_assert_uint_eq(p, IPPROTO_TCP);
	ck_assert(parse_proto("udp", &p));
	ck_assert_uint_eq(p, IPPROTO_UDP);
	ck_assert(parse_proto("icmp", &p));
	ck_assert_uint_eq(p, IPPROTO_ICMP);
	ck_assert(parse_proto("any", &p));
	ck_assert_uint_eq(p, 0);
	ck_assert(!parse_proto("TCP", &p));
	ck_assert(!parse_proto("sctp", &p));
	ck_assert(!parse_proto("", &p));
	ck_assert(!parse_proto(NULL, &p));
	ck_assert_str_eq(proto_name(IPPROTO_TCP), "tcp");
	ck_assert_str_eq(proto_name(IPPROTO_UDP), "udp");
	ck_assert_str_eq(proto_name(IPPROTO_ICMP), "icmp");
	ck_assert_str_eq(proto_name(0), "any");
}
END_TEST

START_TEST(test_const_time_streq)
{
	ck_assert(const_time_streq("secret-token", "secret-token"));
	ck_assert(const_time_streq("", ""));
	/* A prefix of the expected string. */
	ck_assert(!const_time_streq("secret", "secret-token"));
	/* Longer than the expected string. */
	ck_assert(!const_time_streq("secret-token-and-more", "secret-token"));
	ck_assert(!const_time_streq("secret-token\x01", "secret-token"));
	/* Empty on either side. */
	ck_assert(!const_time_streq("", "secret-token"));
	ck_assert(!const_time_streq("secret-token", ""));
	/* Same length, one bit off at each end. */
	ck_assert(!const_time_streq("secret-tokeo", "secret-token"));
	ck_assert(!const_time_streq("Secret-token", "secret-token"));
}
END_TEST

START_TEST(test_path_fmt)
{
	char buf[8];

	ck_assert_int_eq(path_fmt(buf, sizeof(buf), "/%s", "abcdef"), 0);
	ck_assert_str_eq(buf, "/abcdef");
	ck_assert_int_eq(path_fmt(buf, sizeof(buf), "/%s", "abcdefg"),
			 -ENAMETOOLONG);
}
END_TEST

START_TEST(test_dir_of)
{
	char dir[64];

	dir_of("/run/cellgate/state.json", dir, sizeof(dir));
	ck_assert_str_eq(dir, "/run/cellgate");
	dir_of("/state.json", dir, sizeof(dir));
	ck_assert_str_eq(dir, "/");
	dir_of("state.json", dir, sizeof(dir));
	ck_assert_str_eq(dir, ".");
	dir_of("a/b/", dir, sizeof(dir));
	ck_assert_str_eq(dir, "a/b");
}
END_TEST

START_TEST(test_cg_error_set)
{
	struct cg_error err = { 0 };

	cg_error_set(&err, 409, "ip", "ip is used by peer '%s'", "alice");
	tu_assert_err(&err, 409, "ip");
	ck_assert_str_eq(err.msg, "ip is used by peer 'alice'");
	cg_error_set(&err, 400, NULL, "x");
	ck_assert_str_eq(err.field, "");
	cg_error_set(NULL, 400, "f", "no crash on NULL");
}
END_TEST

START_TEST(test_random_bytes)
{
	uint8_t a[32] = { 0 }, b[32] = { 0 };

	ck_assert_int_eq(random_bytes(a, sizeof(a)), 0);
	ck_assert_int_eq(random_bytes(b, sizeof(b)), 0);
	ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
}
END_TEST

/* ---- files ------------------------------------------------------------- */

START_TEST(test_write_and_read_file)
{
	char *dir = tu_mkdtemp();
	char path[PATH_MAX];
	static const char text[] = "hello\nworld\n";
	struct stat sb;
	size_t len = 0;
	char *buf;

	umask(022);
	snprintf(path, sizeof(path), "%s/f.json", dir);
	ck_assert_int_eq(write_file_atomic(path, text, strlen(text), 0640), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0640);
	buf = read_file(path, 1024, &len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(len, strlen(text));
	ck_assert_str_eq(buf, text);
	free(buf);

	/* Replacing keeps the new mode and content, leaves no temp file. */
	ck_assert_int_eq(write_file_atomic(path, "x", 1, 0600), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0600);
	ck_assert_uint_eq(sb.st_size, 1);
	ck_assert_int_eq(tu_count_entries(dir, ".tmp"), 0);
	ck_assert_int_eq(tu_count_entries(dir, ""), 1);

	/* A mode wider than the umask allows is still applied. */
	ck_assert_int_eq(write_file_atomic(path, "", 0, 0666), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0666);
	buf = read_file(path, 16, &len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(buf, "");
	free(buf);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_read_file_limits)
{
	char *dir = tu_mkdtemp();
	char path[PATH_MAX];
	size_t len = 12345;
	char *buf;

	snprintf(path, sizeof(path), "%s/f", dir);
	ck_assert_int_eq(write_file_atomic(path, "0123456789", 10, 0600), 0);
	/* Exactly max bytes is fine. */
	buf = read_file(path, 10, &len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(len, 10);
	ck_assert_str_eq(buf, "0123456789");
	free(buf);
	/* One more is too big. */
	errno = 0;
	ck_assert_ptr_null(read_file(path, 9, &len));
	ck_assert_int_eq(errno, EFBIG);
	errno = 0;
	ck_assert_ptr_null(read_file(path, 0, NULL));
	ck_assert_int_eq(errno, EFBIG);
	/* Missing file. */
	snprintf(path, sizeof(path), "%s/missing", dir);
	errno = 0;
	ck_assert_ptr_null(read_file(path, 10, &len));
	ck_assert_int_eq(errno, ENOENT);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_write_file_atomic_errors)
{
	char *dir = tu_mkdtemp();
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/no/such/dir/f", dir);
	ck_assert_int_eq(write_file_atomic(path, "x", 1, 0600), -ENOENT);
	ck_assert_int_eq(tu_count_entries(dir, ""), 0);
	/* The target is a directory: rename fails, the temp file goes. */
	snprintf(path, sizeof(path), "%s/d", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(write_file_atomic(path, "x", 1, 0600), -EISDIR);
	ck_assert_int_eq(tu_count_entries(dir, ".tmp"), 0);
	tu_rmtree(dir);
}
END_TEST

/* A PID no process has: a child's, once reaped. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	return pid;
}

static bool exists_in(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void touch_in(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_int_eq(write_file_atomic(path, "x", 1, 0600), 0);
}

/* kill -9 during write_file_atomic leaves <file>.tmp.<pid>. */
START_TEST(test_remove_stale_temps)
{
	char *dir = tu_mkdtemp();
	char dead[64], ours[64], alive[64], token[64], sub[PATH_MAX];
	pid_t pid = dead_pid();

	snprintf(dead, sizeof(dead), "state.json.tmp.%d", (int)pid);
	snprintf(ours, sizeof(ours), "state.json.tmp.%d", (int)getpid());
	snprintf(alive, sizeof(alive), "state.json.tmp.%d", (int)getppid());
	snprintf(token, sizeof(token), "api.token.tmp.%d", (int)pid);
	touch_in(dir, "state.json");
	touch_in(dir, dead);
	touch_in(dir, ours);
	touch_in(dir, alive);
	touch_in(dir, token);
	touch_in(dir, "notes.tmp.x");
	touch_in(dir, ".tmp.1");
	touch_in(dir, "state.json.tmp.");
	snprintf(sub, sizeof(sub), "%s/dir.tmp.%d", dir, (int)pid);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	/* Only base's: the dead writer's and ours (a previous life). */
	ck_assert_int_eq(remove_stale_temps(dir, "state.json"), 2);
	ck_assert(!exists_in(dir, dead));
	ck_assert(!exists_in(dir, ours));
	/* Positive controls: a live writer's, other names, the file. */
	ck_assert(exists_in(dir, alive));
	ck_assert(exists_in(dir, token));
	ck_assert(exists_in(dir, "state.json"));
	ck_assert(exists_in(dir, "notes.tmp.x"));
	ck_assert(exists_in(dir, ".tmp.1"));
	ck_assert(exists_in(dir, "state.json.tmp."));
	/* Every name: the token's too; never a directory. */
	ck_assert_int_eq(remove_stale_temps(dir, NULL), 1);
	ck_assert(!exists_in(dir, token));
	ck_assert(exists_in(dir, alive));
	ck_assert_int_eq(access(sub, F_OK), 0);
	ck_assert_int_eq(rmdir(sub), 0);
	ck_assert_int_eq(remove_stale_temps(dir, NULL), 0);
	snprintf(sub, sizeof(sub), "%s/missing", dir);
	ck_assert_int_eq(remove_stale_temps(sub, NULL), 0);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_mkdir_p)
{
	char *dir = tu_mkdtemp();
	char path[PATH_MAX], file[PATH_MAX];
	struct stat sb;

	umask(022);
	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	ck_assert_int_eq(mkdir_p(path, 0700), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert(S_ISDIR(sb.st_mode));
	ck_assert_uint_eq(sb.st_mode & 0777, 0700);
	snprintf(file, sizeof(file), "%s/a/b", dir);
	ck_assert_int_eq(stat(file, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 0777, 0700);
	/* Again: already there is fine, and a trailing slash too. */
	ck_assert_int_eq(mkdir_p(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/a/b/c/", dir);
	ck_assert_int_eq(mkdir_p(path, 0700), 0);
	/* Through a regular file, or onto one: not a directory. */
	snprintf(file, sizeof(file), "%s/a/file", dir);
	tu_write(file, "x");
	snprintf(path, sizeof(path), "%s/a/file/sub", dir);
	ck_assert_int_eq(mkdir_p(path, 0700), -ENOTDIR);
	ck_assert_int_eq(mkdir_p(file, 0700), -ENOTDIR);
	tu_rmtree(dir);
}
END_TEST

/* ---- jsonx ------------------------------------------------------------- */

static json_object *parse(const char *text, struct cg_error *err)
{
	memset(err, 0, sizeof(*err));
	return jx_parse_object(text, strlen(text), err);
}

START_TEST(test_jx_parse_object)
{
	struct cg_error err;
	json_object *o;

	o = parse("{\"a\": 1}", &err);
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "a", NULL));
	json_object_put(o);
	o = parse(" {}\n\t\r ", &err);
	ck_assert_ptr_nonnull(o);
	json_object_put(o);

	ck_assert_ptr_null(parse("", &err));
	tu_assert_err(&err, 400, "");
	ck_assert_ptr_null(parse("   ", &err));
	tu_assert_err(&err, 400, "");
	ck_assert_ptr_null(parse("{\"a\": ", &err));
	tu_assert_err(&err, 400, "");
	ck_assert_ptr_nonnull(strstr(err.msg, "end of input"));
	ck_assert_ptr_null(parse("{} x", &err));
	tu_assert_err(&err, 400, "");
	ck_assert_ptr_null(parse("{}{}", &err));
	tu_assert_err(&err, 400, "");
	ck_assert_ptr_null(parse("[]", &err));
	tu_assert_err(&err, 400, "");
	ck_assert_ptr_nonnull(strstr(err.msg, "object"));
	ck_assert_ptr_null(parse("1", &err));
	ck_assert_int_eq(err.status, 400);
	/* Strict mode: no trailing commas, single-quoted values, comments
	 * (json-c 0.16 still takes single-quoted keys, NaN and Infinity). */
	ck_assert_ptr_null(parse("{\"a\": 1,}", &err));
	ck_assert_int_eq(err.status, 400);
	ck_assert_ptr_null(parse("{\"a\": 'x'}", &err));
	ck_assert_int_eq(err.status, 400);
	ck_assert_ptr_null(parse("{\"a\": 1} // c", &err));
	ck_assert_int_eq(err.status, 400);
	/* A NUL byte inside len is not whitespace. */
	memset(&err, 0, sizeof(err));
	ck_assert_ptr_null(jx_parse_object("{}\0", 3, &err));
	ck_assert_int_eq(err.status, 400);
	memset(&err, 0, sizeof(err));
	ck_assert_ptr_null(jx_parse_object("{}\0x", 4, &err));
	ck_assert_int_eq(err.status, 400);
	/* Only len bytes are read. */
	o = jx_parse_object("{}garbage", 2, &err);
	ck_assert_ptr_nonnull(o);
	json_object_put(o);
}
END_TEST

START_TEST(test_jx_path)
{
	char buf[32];

	jx_path(buf, sizeof(buf), "", "name");
	ck_assert_str_eq(buf, "name");
	jx_path(buf, sizeof(buf), NULL, "name");
	ck_assert_str_eq(buf, "name");
	jx_path(buf, sizeof(buf), "endpoints[1]", "port");
	ck_assert_str_eq(buf, "endpoints[1].port");
}
END_TEST

START_TEST(test_jx_only_fields)
{
	static const char *const allowed[] = { "a", "b", NULL };
	static const char *const none[] = { NULL };
	json_object *o = tu_json("{\"a\": 1, \"b\": 2}");
	struct cg_error err = { 0 };

	ck_assert(jx_only_fields(o, allowed, "", &err));
	ck_assert(!jx_only_fields(o, none, "", &err));
	tu_assert_err(&err, 400, "a");
	json_object_object_add(o, "c", json_object_new_int(3));
	ck_assert(!jx_only_fields(o, allowed, "wireguard", &err));
	tu_assert_err(&err, 400, "wireguard.c");
	ck_assert_ptr_nonnull(strstr(err.msg, "wireguard.c"));
	ck_assert(!jx_only_fields(o, allowed, "", &err));
	tu_assert_err(&err, 400, "c");
	json_object_put(o);
}
END_TEST

START_TEST(test_jx_uint)
{
	json_object *o = tu_json(
		"{\"zero\": 0, \"n\": 16, \"neg\": -1, \"s\": \"16\","
		" \"d\": 16.0, \"b\": true, \"big\": 18446744073709551615,"
		" \"nul\": null, \"max\": 1048576}");
	struct cg_error err = { 0 };
	uint64_t v = 77;

	ck_assert(jx_uint(o, "n", true, "limits", 16, 16, &v, &err));
	ck_assert_uint_eq(v, 16);
	ck_assert(jx_uint(o, "zero", true, "", 0, 1, &v, &err));
	ck_assert_uint_eq(v, 0);
	ck_assert(jx_uint(o, "max", true, "", 0, 1 << 20, &v, &err));
	ck_assert_uint_eq(v, 1 << 20);
	/* Absent (or null) and optional: untouched. */
	v = 77;
	ck_assert(jx_uint(o, "absent", false, "x", 1, 2, &v, &err));
	ck_assert_uint_eq(v, 77);
	ck_assert(jx_uint(o, "nul", false, "x", 1, 2, &v, &err));
	ck_assert_uint_eq(v, 77);
	ck_assert(!jx_uint(o, "absent", true, "limits", 1, 2, &v, &err));
	tu_assert_err(&err, 400, "limits.absent");
	/* Out of range, both ends. */
	ck_assert(!jx_uint(o, "n", true, "limits", 17, 100, &v, &err));
	tu_assert_err(&err, 400, "limits.n");
	ck_assert_ptr_nonnull(strstr(err.msg, "17 to 100"));
	ck_assert(!jx_uint(o, "n", true, "limits", 0, 15, &v, &err));
	tu_assert_err(&err, 400, "limits.n");
	ck_assert(!jx_uint(o, "max", true, "", 0, (1 << 20) - 1, &v, &err));
	tu_assert_err(&err, 400, "max");
	ck_assert(!jx_uint(o, "neg", true, "", 0, 100, &v, &err));
	tu_assert_err(&err, 400, "neg");
	ck_assert(!jx_uint(o, "big", true, "", 0, UINT32_MAX, &v, &err));
	tu_assert_err(&err, 400, "big");
	/* Type errors. */
	ck_assert(!jx_uint(o, "s", true, "wireguard", 0, 100, &v, &err));
	tu_assert_err(&err, 400, "wireguard.s");
	ck_assert(!jx_uint(o, "d", true, "", 0, 100, &v, &err));
	tu_assert_err(&err, 400, "d");
	ck_assert(!jx_uint(o, "b", true, "", 0, 100, &v, &err));
	tu_assert_err(&err, 400, "b");
	ck_assert_uint_eq(v, 77);
	json_object_put(o);
}
END_TEST

START_TEST(test_jx_string_bool_member)
{
	json_object *o = tu_json(
		"{\"s\": \"abc\", \"n\": 1, \"nul\": \"a\\u0000b\","
		" \"t\": true, \"ts\": \"true\", \"arr\": [], \"obj\": {}}");
	struct cg_error err = { 0 };
	json_object *m;
	char buf[4] = "zz";
	bool b = false;

	ck_assert(jx_string(o, "s", true, "", buf, sizeof(buf), &err));
	ck_assert_str_eq(buf, "abc");
	/* Too long for the buffer, with its NUL. */
	ck_assert(!jx_string(o, "s", true, "p", buf, 3, &err));
	tu_assert_err(&err, 400, "p.s");
	ck_assert(!jx_string(o, "n", true, "", buf, sizeof(buf), &err));
	tu_assert_err(&err, 400, "n");
	/* An embedded NUL would truncate silently: refused. */
	ck_assert(!jx_string(o, "nul", true, "", buf, sizeof(buf), &err));
	tu_assert_err(&err, 400, "nul");
	ck_assert(!jx_string(o, "absent", true, "", buf, sizeof(buf), &err));
	tu_assert_err(&err, 400, "absent");
	ck_assert(jx_string(o, "absent", false, "", buf, sizeof(buf), &err));
	ck_assert_str_eq(buf, "abc");

	ck_assert(jx_bool(o, "t", true, "", &b, &err));
	ck_assert(b);
	ck_assert(!jx_bool(o, "ts", true, "", &b, &err));
	tu_assert_err(&err, 400, "ts");
	ck_assert(!jx_bool(o, "n", true, "x", &b, &err));
	tu_assert_err(&err, 400, "x.n");

	ck_assert(jx_member(o, "arr", json_type_array, true, "", &m, &err));
	ck_assert_ptr_nonnull(m);
	ck_assert(jx_member(o, "absent", json_type_array, false, "", &m, &err));
	ck_assert_ptr_null(m);
	ck_assert(!jx_member(o, "obj", json_type_array, true, "", &m, &err));
	tu_assert_err(&err, 400, "obj");
	ck_assert_ptr_nonnull(strstr(err.msg, "array"));
	ck_assert(!jx_member(o, "arr", json_type_object, true, "a", &m, &err));
	tu_assert_err(&err, 400, "a.arr");
	ck_assert_ptr_nonnull(strstr(err.msg, "object"));
	json_object_put(o);
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *addr = tcase_create("addresses");
	TCase *str = tcase_create("strings");
	TCase *files = tcase_create("files");
	TCase *json = tcase_create("jsonx");

	tcase_add_test(addr, test_parse_ipv4);
	tcase_add_test(addr, test_parse_cidr_valid);
	tcase_add_test(addr, test_parse_cidr_invalid);
	tcase_add_test(addr, test_prefix_mask);
	tcase_add_test(addr, test_cidr_contains);
	tcase_add_test(addr, test_cidrs_overlap);
	tcase_add_test(addr, test_parse_host_port);
	tcase_add_test(addr, test_ipv4_str);
	tcase_add_test(str, test_valid_name);
	tcase_add_test(str, test_str_copy);
	tcase_add_test(str, test_proto);
	tcase_add_test(str, test_const_time_streq);
	tcase_add_test(str, test_path_fmt);
	tcase_add_test(str, test_dir_of);
	tcase_add_test(str, test_cg_error_set);
	tcase_add_test(str, test_random_bytes);
	tcase_add_test(files, test_write_and_read_file);
	tcase_add_test(files, test_read_file_limits);
	tcase_add_test(files, test_write_file_atomic_errors);
	tcase_add_test(files, test_mkdir_p);
	tcase_add_test(files, test_remove_stale_temps);
	tcase_add_test(json, test_jx_parse_object);
	tcase_add_test(json, test_jx_path);
	tcase_add_test(json, test_jx_only_fields);
	tcase_add_test(json, test_jx_uint);
	tcase_add_test(json, test_jx_string_bool_member);
	suite_add_tcase(s, addr);
	suite_add_tcase(s, str);
	suite_add_tcase(s, files);
	suite_add_tcase(s, json);
	return s;
}

int main(void)
{
	return tu_run(util_suite());
}
