/* SPDX-License-Identifier: MIT */
/*
 * Tests of drivers/uring.h: one uio driven by the test thread, peers as plain
 * blocking sockets on loopback. Skips (77) where io_uring is not usable.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/bufring.h"
#include "drivers/uring.h"

struct seen {
	char data[8192];
	size_t len;
	unsigned datagrams, opens, closes, wakes;
	bool trunc;
	struct sockaddr_storage from;
	socklen_t fromlen;
	struct uio_conn *conn;
	unsigned consume_unit; /* tcp: consume whole units of this many octets */
	bool close_in_callback;
};

static struct seen seen;
static struct uio io;

static void on_udp(void *arg, unsigned sock, const struct sockaddr *from, socklen_t fromlen,
		   char *data, size_t len, bool trunc)
{
	(void)arg;
	(void)sock;
	seen.datagrams++;
	seen.trunc = trunc;
	memcpy(&seen.from, from, fromlen);
	seen.fromlen = fromlen;
	seen.len = len < sizeof(seen.data) ? len : sizeof(seen.data);
	memcpy(seen.data, data, seen.len);
	struct iovec iov[2] = { { (void *)"re:", 3 }, { data, len < 100 ? len : 100 } };
	uio_send_udp(&io, sock, from, fromlen, iov, 2);
}

static ssize_t on_tcp(void *arg, struct uio_conn *c, char *data, size_t len)
{
	(void)arg;
	seen.conn = c;
	if (seen.close_in_callback) {
		uio_close(&io, c);
		return 0;
	}
	size_t used = seen.consume_unit ? len / seen.consume_unit * seen.consume_unit : len;
	if (used) {
		memcpy(seen.data + seen.len, data, used);
		seen.len += used;
		struct iovec iov = { data, used };
		uio_send_tcp(&io, c, &iov, 1);
	}
	return (ssize_t)used;
}

static void on_open(void *arg, struct uio_conn *c)
{
	(void)arg;
	(void)c;
	seen.opens++;
}

static void on_close(void *arg, struct uio_conn *c, int reason)
{
	(void)arg;
	(void)c;
	(void)reason;
	seen.closes++;
}

static void on_wake(void *arg)
{
	(void)arg;
	seen.wakes++;
}

static const struct uio_ops ops = { on_udp, on_tcp, on_open, on_close, on_wake };

static uint16_t bound_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	return ntohs(a.sin_port);
}

static int loopback_socket(int type, struct sockaddr_in *a)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)a, sizeof(*a)), 0);
	a->sin_port = htons(bound_port(fd));
	if (type == SOCK_STREAM)
		cr_assert_eq(listen(fd, 16), 0);
	return fd;
}

static int wake_fd = -1;

static void setup(unsigned max_conns, uint32_t tcp_max)
{
	char why[256];
	if (uring_check(why, sizeof(why)) < 0) {
		cr_skip_test("io_uring not usable: %s", why);
	}
	memset(&seen, 0, sizeof(seen));
	wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct uio_params p = { .ring_entries = 64,
				.rx_buffers = 64,
				.rx_buffer_size = 2048,
				.tx_slots = 64,
				.max_conns = max_conns,
				.tcp_max_buffer = tcp_max,
				.wake_fd = wake_fd };
	cr_assert_eq(uio_init(&io, &p, &ops, NULL), 0);
}

static void teardown(void)
{
	uio_fini(&io);
	close(wake_fd);
}

/* Run the loop until cond holds (at most ~2 s of waits). */
#define RUN_UNTIL(cond)                                          \
	do {                                                     \
		for (int i_ = 0; i_ < 200 && !(cond); i_++)      \
			cr_assert_geq(uio_wait(&io, 10), 0);     \
		cr_assert(cond, "timed out waiting for " #cond); \
	} while (0)

Test(uring, udp_receive_answer_and_truncation)
{
	setup(4, 4096);
	struct sockaddr_in sa, ca;
	int s = loopback_socket(SOCK_DGRAM, &sa);
	cr_assert_eq(uio_add_udp(&io, s), 0);
	int c = loopback_socket(SOCK_DGRAM, &ca);
	struct timeval tv = { 2, 0 };
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	sendto(c, "hello", 5, 0, (struct sockaddr *)&sa, sizeof(sa));
	RUN_UNTIL(seen.datagrams == 1);
	cr_assert_eq(seen.len, 5);
	cr_assert(!seen.trunc);
	cr_assert_eq(memcmp(seen.data, "hello", 5), 0);
	cr_assert_eq(ntohs(((struct sockaddr_in *)&seen.from)->sin_port), ntohs(ca.sin_port));
	uio_wait(&io, 0); /* submit the answer */
	char buf[64];
	ssize_t n = recv(c, buf, sizeof(buf), 0);
	cr_assert_eq(n, 8);
	cr_assert_eq(memcmp(buf, "re:hello", 8), 0);

	/* Larger than a receive buffer: the head arrives, flagged. */
	static char big[3000];
	memset(big, 'x', sizeof(big));
	sendto(c, big, sizeof(big), 0, (struct sockaddr *)&sa, sizeof(sa));
	RUN_UNTIL(seen.datagrams == 2);
	cr_assert(seen.trunc);
	cr_assert_lt(seen.len, sizeof(big));

	/* Many datagrams: more than the buffer ring holds at once (200 fit in the
	 * default socket receive buffer). */
	for (int i = 0; i < 200; i++)
		sendto(c, "ping", 4, 0, (struct sockaddr *)&sa, sizeof(sa));
	RUN_UNTIL(seen.datagrams == 202);
	close(c);
	teardown();
}

Test(uring, tcp_stream_kept_across_segments_and_answered)
{
	setup(4, 4096);
	struct sockaddr_in la;
	int l = loopback_socket(SOCK_STREAM, &la);
	cr_assert_eq(uio_add_listener(&io, l), 0);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(c, (struct sockaddr *)&la, sizeof(la)), 0);
	int one = 1;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	RUN_UNTIL(seen.opens == 1);
	cr_assert_eq(uio_nconns(&io), 1);

	/* Units of 4 octets: "abcdef" leaves "ef" kept until "gh" comes. */
	seen.consume_unit = 4;
	cr_assert_eq(write(c, "abcdef", 6), 6);
	RUN_UNTIL(seen.len == 4);
	cr_assert_eq(write(c, "gh", 2), 2);
	RUN_UNTIL(seen.len == 8);
	cr_assert_eq(memcmp(seen.data, "abcdefgh", 8), 0);
	uio_wait(&io, 0);
	char buf[16];
	size_t got = 0;
	while (got < 8) {
		ssize_t n = read(c, buf + got, sizeof(buf) - got);
		cr_assert_gt(n, 0);
		got += (size_t)n;
	}
	cr_assert_eq(memcmp(buf, "abcdefgh", 8), 0);

	/* The peer closes: the connection is released. */
	close(c);
	RUN_UNTIL(seen.closes == 1);
	cr_assert_eq(uio_nconns(&io), 0);
	teardown();
}

Test(uring, tcp_limits_refuse_and_overflow)
{
	setup(1, 16);
	struct sockaddr_in la;
	int l = loopback_socket(SOCK_STREAM, &la);
	cr_assert_eq(uio_add_listener(&io, l), 0);
	int c1 = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(c1, (struct sockaddr *)&la, sizeof(la)), 0);
	RUN_UNTIL(seen.opens == 1);
	/* max_conns 1: the second is closed at once. */
	int c2 = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(c2, (struct sockaddr *)&la, sizeof(la)), 0);
	RUN_UNTIL(io.cnt.tcp_refused == 1);
	char b;
	cr_assert_leq(read(c2, &b, 1), 0);
	close(c2);

	/* Nothing consumed and more than tcp_max_buffer: closed. */
	seen.consume_unit = 1000;
	cr_assert_eq(write(c1, "0123456789", 10), 10);
	RUN_UNTIL(seen.conn != NULL);
	cr_assert_eq(write(c1, "0123456789", 10), 10);
	RUN_UNTIL(seen.closes == 1);
	cr_assert_eq(io.cnt.tcp_overflow, 1);
	close(c1);
	teardown();
}

Test(uring, close_from_the_callback_and_wake)
{
	setup(2, 4096);
	struct sockaddr_in la;
	int l = loopback_socket(SOCK_STREAM, &la);
	cr_assert_eq(uio_add_listener(&io, l), 0);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(c, (struct sockaddr *)&la, sizeof(la)), 0);
	RUN_UNTIL(seen.opens == 1);
	seen.close_in_callback = true;
	cr_assert_eq(write(c, "x", 1), 1);
	RUN_UNTIL(seen.closes == 1);
	cr_assert_eq(uio_nconns(&io), 0);
	char b;
	cr_assert_leq(read(c, &b, 1), 0);
	close(c);

	uint64_t one = 1;
	cr_assert_eq(write(wake_fd, &one, sizeof(one)), sizeof(one));
	RUN_UNTIL(seen.wakes == 1);
	teardown();
}

/* An accept that fails (EMFILE: no file descriptor left) is not retried in a
 * spin, and connections are accepted again once uio_tick() re-arms it. */
Test(uring, accept_error_retried_by_tick)
{
	setup(4, 4096);
	struct sockaddr_in la;
	int l = loopback_socket(SOCK_STREAM, &la);

	/* No descriptor left for the accept (io_uring reads the limit when the
	 * accept is prepared, so lower it first). */
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct rlimit old, low;
	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = (rlim_t)dup(c); /* the next descriptor number */
	close((int)low.rlim_cur);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	cr_assert_eq(uio_add_listener(&io, l), 0);
	uio_wait(&io, 0);
	cr_assert_eq(connect(c, (struct sockaddr *)&la, sizeof(la)), 0);
	RUN_UNTIL(io.cnt.accept_errors >= 1);
	/* Waiting does not spin on errors: no re-arm until the tick. */
	uint64_t errors = io.cnt.accept_errors;
	for (int i = 0; i < 5; i++)
		uio_wait(&io, 10);
	cr_assert_eq(io.cnt.accept_errors, errors);

	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	uio_tick(&io);
	RUN_UNTIL(seen.opens == 1);
	close(c);
	teardown();
}
