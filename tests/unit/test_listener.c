// SPDX-License-Identifier: MIT
/*
 * api/listener.c on a real daemon on loopback: a whole request is served
 * and not cut; one whose headers or body trickle in is cut at the
 * deadline, not before, however often bytes arrive; loopback clients are
 * not held to the per-address limit.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listener.h"
#include "testutil.h"

static struct listener *lst;
static uint16_t port;

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn,
			       const char *url, const char *method,
			       const char *version, const char *data,
			       size_t *size, void **con_cls)
{
	static int marker;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls, (void)url, (void)method, (void)version, (void)data;
	if (!*con_cls) {
		*con_cls = &marker;
		return MHD_YES;
	}
	if (*size) {
		*size = 0;
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(2, (void *)"ok",
					    MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static void setup(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int i;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < 20 && !lst; i++) {
		port = (uint16_t)(30000 + (getpid() * 7 + i * 131) % 30000);
		sa.sin_port = htons(port);
		lst = listener_start("test", (const struct sockaddr *)&sa,
				     handler, NULL, NULL);
	}
	ck_assert_ptr_nonnull(lst);
}

static void teardown(void)
{
	listener_stop(lst);
	lst = NULL;
}

static struct listener_stats stats(void)
{
	struct listener_stats st = { 0 };

	ck_assert_uint_eq(listener_stats(&st, 1), 1);
	ck_assert_str_eq(st.label, "test");
	return st;
}

static int dial(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void say(int fd, const char *s)
{
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Send drip every second until the server closes fd (at most 12 s);
 * returns the seconds it took. */
static double trickle_until_cut(int fd, const char *drip)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t start = monotonic_ns();
	char buf[256];
	int i;

	for (i = 0; i < 12; i++) {
		if (poll(&p, 1, 1000) == 1) {
			ck_assert_int_le(read(fd, buf, sizeof(buf)), 0);
			return (double)(monotonic_ns() - start) / 1e9;
		}
		if (send(fd, drip, strlen(drip), MSG_NOSIGNAL) < 0)
			return (double)(monotonic_ns() - start) / 1e9;
	}
	ck_abort_msg("a trickling request was not cut in 12 s");
	return 0;
}

START_TEST(test_whole_request_served)
{
	int fd = dial();
	char buf[64] = { 0 };

	say(fd, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	ck_assert_int_gt(read(fd, buf, sizeof(buf) - 1), 0);
	ck_assert_msg(!strncmp(buf, "HTTP/1.1 200", 12), "got %s", buf);
	close(fd);
	ck_assert_uint_eq(stats().accepted, 1);
	ck_assert_uint_eq(stats().cut_deadline, 0);
}
END_TEST

START_TEST(test_trickled_headers_cut)
{
	int fd = dial();
	double took;

	say(fd, "GET / HTTP/1.1\r\nHost: x\r\n");
	took = trickle_until_cut(fd, "X-Slow: x\r\n");
	ck_assert_msg(took >= LISTENER_DEADLINE_S - 0.5, "cut early: %.1f s",
		      took);
	close(fd);
	ck_assert_uint_eq(stats().cut_deadline, 1);
}
END_TEST

START_TEST(test_trickled_body_cut)
{
	int fd = dial();
	double took;

	say(fd, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n");
	took = trickle_until_cut(fd, "a");
	ck_assert_msg(took >= LISTENER_DEADLINE_S - 0.5, "cut early: %.1f s",
		      took);
	close(fd);
	ck_assert_uint_eq(stats().cut_deadline, 1);
}
END_TEST

START_TEST(test_loopback_not_limited_per_address)
{
	int fds[LISTENER_PER_ADDRESS + 4], i;
	char buf[64] = { 0 };

	for (i = 0; i < LISTENER_PER_ADDRESS + 4; i++)
		fds[i] = dial();
	/* The last one is served, while the others are held open. */
	say(fds[i - 1],
	    "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	ck_assert_int_gt(read(fds[i - 1], buf, sizeof(buf) - 1), 0);
	ck_assert_msg(!strncmp(buf, "HTTP/1.1 200", 12), "got %s", buf);
	for (i = 0; i < LISTENER_PER_ADDRESS + 4; i++)
		close(fds[i]);
	ck_assert_uint_eq(stats().refused, 0);
}
END_TEST

static Suite *listener_suite(void)
{
	Suite *s = suite_create("listener");
	TCase *tc = tcase_create("loopback");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_whole_request_served);
	tcase_add_test(tc, test_trickled_headers_cut);
	tcase_add_test(tc, test_trickled_body_cut);
	tcase_add_test(tc, test_loopback_not_limited_per_address);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(listener_suite());
}
