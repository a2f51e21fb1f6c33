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
#include <poll.h>
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
	int reason;		   /* of the last tcp_close */
	bool open_was_connecting;  /* c->connecting seen in tcp_open */
	bool close_was_connecting; /* c->connecting seen in tcp_close */
	bool trunc;
	struct sockaddr_storage from;
	socklen_t fromlen;
	struct uio_conn *conn;
	unsigned consume_unit; /* tcp: consume whole units of this many octets */
	bool close_in_callback;
	bool close_in_open; /* tcp_open closes the connection (a worker stopping) */
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
	seen.opens++;
	seen.open_was_connecting = c->connecting;
	if (seen.close_in_open)
		uio_close(&io, c);
}

static void on_close(void *arg, struct uio_conn *c, int reason)
{
	(void)arg;
	seen.closes++;
	seen.reason = reason;
	seen.close_was_connecting = c->connecting;
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

static void setup_timeout(unsigned max_conns, uint32_t tcp_max, unsigned connect_timeout_ms)
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
				.wake_fd = wake_fd,
				.connect_timeout_ms = connect_timeout_ms };
	cr_assert_eq(uio_init(&io, &p, &ops, NULL), 0);
}

static void setup(unsigned max_conns, uint32_t tcp_max)
{
	setup_timeout(max_conns, tcp_max, 0);
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

/* Run the loop n times without waiting: what is queued is submitted and what
 * has completed is handled, nothing more. */
static void run_now(int n)
{
	for (int i = 0; i < n; i++)
		cr_assert_geq(uio_wait(&io, 0), 0);
}

/* Read exactly len octets from a blocking socket (SO_RCVTIMEO bounds it). */
static void read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue; /* io_uring's task work may interrupt a blocking call */
		cr_assert_gt(n, 0, "read: %zd (%s) after %zu of %zu octets", n, strerror(errno),
			     got, len);
		got += (size_t)n;
	}
}

static void recv_timeout(int fd, int s)
{
	struct timeval tv = { s, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* A port on 127.0.0.1 where nothing listens (bound, then closed: refused). */
static struct sockaddr_in closed_port(void)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	a.sin_port = htons(bound_port(fd));
	close(fd);
	return a;
}

/*
 * A listener on 127.0.0.1 that answers no SYN: backlog 0, never accepted, its
 * accept queue filled by one connection (the kernel drops SYNs while the accept
 * queue is full, whatever the SYN cookie setting). The filler's fd goes to
 * *filler. Without SYN cookies even the filler's SYN is dropped: the listener
 * answers nothing either way.
 */
static int silent_listener(struct sockaddr_in *a, int *filler)
{
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(l, 0);
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(l, (struct sockaddr *)a, sizeof(*a)), 0);
	a->sin_port = htons(bound_port(l));
	cr_assert_eq(listen(l, 0), 0);
	*filler = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert_geq(*filler, 0);
	int r = connect(*filler, (struct sockaddr *)a, sizeof(*a));
	cr_assert(r == 0 || errno == EINPROGRESS);
	/* Until the filler has connected (or not, within a generous bound):
	 * only then is the queue known to be full. */
	struct pollfd pfd = { *filler, POLLOUT, 0 };
	poll(&pfd, 1, 2000);
	return l;
}

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

/* An outgoing connection: sends made while it connects go out once it is
 * connected, in order (inline and allocated send slots alike); the peer's
 * answer comes to the tcp callback; stopping the listeners leaves it alone. */
Test(uring, connect_sends_queued_while_connecting)
{
	setup(4, 4096);
	struct sockaddr_in la, other;
	int l = loopback_socket(SOCK_STREAM, &la);
	/* A listener of the uio itself, only to be stopped below. */
	cr_assert_eq(uio_add_listener(&io, loopback_socket(SOCK_STREAM, &other)), 0);

	int err = 0;
	struct uio_conn *c = uio_connect(&io, (struct sockaddr *)&la, sizeof(la), &err);
	cr_assert_not_null(c, "uio_connect: %s", strerror(-err));
	cr_assert(c->outgoing && c->connecting && c->open);
	cr_assert_eq(c->peerlen, sizeof(la));
	cr_assert_eq(memcmp(&c->peer, &la, sizeof(la)), 0);
	cr_assert_eq(uio_nconns(&io), 1);
	cr_assert_eq(io.cnt.tcp_connects, 1);
	cr_assert_eq(uio_conn_get(&io, c->idx, c->gen), c);

	/* Not submitted yet: these queue. */
	static char big[5000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	struct iovec first = { (void *)"first:", 6 }, middle = { big, sizeof(big) },
		     last = { (void *)":last", 5 };
	cr_assert_eq(uio_send_tcp(&io, c, &first, 1), 0);
	cr_assert_eq(uio_send_tcp(&io, c, &middle, 1), 0);
	cr_assert_eq(uio_send_tcp(&io, c, &last, 1), 0);
	cr_assert_eq(uio_tx_pending(&io), 3);

	RUN_UNTIL(seen.opens == 1);
	cr_assert(seen.open_was_connecting == false);
	cr_assert(c->outgoing && !c->connecting);
	int p = accept(l, NULL, NULL);
	cr_assert_geq(p, 0);
	recv_timeout(p, 5);
	RUN_UNTIL(uio_tx_pending(&io) == 0);
	static char got[6 + sizeof(big) + 5];
	read_all(p, got, sizeof(got));
	cr_assert_eq(memcmp(got, "first:", 6), 0);
	cr_assert_eq(memcmp(got + 6, big, sizeof(big)), 0);
	cr_assert_eq(memcmp(got + 6 + sizeof(big), ":last", 5), 0);

	uio_stop_listeners(&io);
	cr_assert_eq(write(p, "pong", 4), 4);
	RUN_UNTIL(seen.len == 4);
	cr_assert_eq(memcmp(seen.data, "pong", 4), 0);
	cr_assert_eq(seen.conn, c);
	RUN_UNTIL(uio_tx_pending(&io) == 0); /* on_tcp echoes */
	char echo[4];
	read_all(p, echo, 4);
	cr_assert_eq(memcmp(echo, "pong", 4), 0);

	/* Closed by us, in order: one tcp_close, reason 0. */
	uio_close(&io, c);
	RUN_UNTIL(seen.closes == 1);
	cr_assert_eq(seen.reason, 0);
	cr_assert(!seen.close_was_connecting);
	cr_assert_eq(seen.opens, 1);
	cr_assert_eq(uio_nconns(&io), 0);
	cr_assert_eq(io.cnt.tcp_connect_failures, 0);
	close(p);
	close(l);
	teardown();
}

/* A refused connect: tcp_close(-ECONNREFUSED) and no tcp_open; what was
 * queued is dropped; the slot serves the next connect. */
Test(uring, connect_refused_then_slot_reused)
{
	setup(1, 4096);
	struct sockaddr_in dead = closed_port();
	int err = 0;
	struct uio_conn *c = uio_connect(&io, (struct sockaddr *)&dead, sizeof(dead), &err);
	cr_assert_not_null(c, "uio_connect: %s", strerror(-err));
	uint32_t idx = c->idx, gen = c->gen;
	struct iovec iov = { (void *)"lost", 4 };
	cr_assert_eq(uio_send_tcp(&io, c, &iov, 1), 0);

	/* max_conns 1: no slot for another one. */
	struct sockaddr_in la;
	int l = loopback_socket(SOCK_STREAM, &la);
	err = 0;
	cr_assert_null(uio_connect(&io, (struct sockaddr *)&la, sizeof(la), &err));
	cr_assert_eq(err, -ENOBUFS);
	cr_assert_eq(io.cnt.tcp_connects, 1);

	RUN_UNTIL(seen.closes == 1);
	cr_assert_eq(seen.reason, -ECONNREFUSED, "reason %d (%s)", seen.reason,
		     strerror(-seen.reason));
	cr_assert(seen.close_was_connecting);
	cr_assert_eq(seen.opens, 0);
	cr_assert_eq(uio_tx_pending(&io), 0);
	cr_assert_eq(uio_nconns(&io), 0);
	cr_assert_null(uio_conn_get(&io, idx, gen));
	cr_assert_eq(io.cnt.tcp_connect_failures, 1);
	run_now(3);
	cr_assert_eq(seen.closes, 1);

	/* The slot again, to a listener: it opens. */
	c = uio_connect(&io, (struct sockaddr *)&la, sizeof(la), &err);
	cr_assert_not_null(c, "uio_connect: %s", strerror(-err));
	cr_assert_eq(c->idx, idx);
	cr_assert_neq(c->gen, gen);
	RUN_UNTIL(seen.opens == 1);
	cr_assert_eq(seen.closes, 1);
	cr_assert_eq(io.cnt.tcp_connects, 2);
	cr_assert_eq(io.cnt.tcp_connect_failures, 1);
	close(l);
	teardown();
}

/* A peer that answers no SYN: connect_timeout_ms ends the connect with
 * tcp_close(-ETIMEDOUT) long before the kernel's own retries would. */
Test(uring, connect_timeout)
{
	setup_timeout(2, 4096, 200);
	struct sockaddr_in sa;
	int filler;
	int l = silent_listener(&sa, &filler);
	int err = 0;
	struct uio_conn *c = uio_connect(&io, (struct sockaddr *)&sa, sizeof(sa), &err);
	cr_assert_not_null(c, "uio_connect: %s", strerror(-err));
	struct iovec iov = { (void *)"lost", 4 };
	cr_assert_eq(uio_send_tcp(&io, c, &iov, 1), 0);
	/* Up to ~10 s of waits for a 200 ms timeout: generous, not a timing check. */
	for (int i = 0; i < 1000 && seen.closes == 0; i++)
		cr_assert_geq(uio_wait(&io, 10), 0);
	cr_assert_eq(seen.closes, 1);
	cr_assert_eq(seen.reason, -ETIMEDOUT, "reason %d (%s)", seen.reason,
		     strerror(-seen.reason));
	cr_assert(seen.close_was_connecting);
	cr_assert_eq(seen.opens, 0);
	cr_assert_eq(uio_tx_pending(&io), 0);
	cr_assert_eq(uio_nconns(&io), 0);
	cr_assert_eq(io.cnt.tcp_connect_failures, 1);
	/* The link timeout's own completion, if still to come, changes nothing. */
	run_now(3);
	cr_assert_eq(seen.closes, 1);
	close(filler);
	close(l);
	teardown();
}

/* uio_close() of a connection still connecting: the connect is abandoned, one
 * tcp_close (reason 0), no tcp_open, nothing sent; both while the SYN waits
 * (no connect timeout: only the cancellation ends it) and before the connect
 * was even submitted. */
Test(uring, close_while_connecting)
{
	setup(2, 4096);
	struct sockaddr_in sa;
	int filler;
	int l = silent_listener(&sa, &filler);
	int err = 0;
	struct uio_conn *c = uio_connect(&io, (struct sockaddr *)&sa, sizeof(sa), &err);
	cr_assert_not_null(c, "uio_connect: %s", strerror(-err));
	struct iovec iov = { (void *)"dropped", 7 };
	cr_assert_eq(uio_send_tcp(&io, c, &iov, 1), 0);
	run_now(3);
	cr_assert(c->connecting, "the silent listener answered");
	uio_close(&io, c);
	uio_close(&io, c); /* twice: harmless */
	cr_assert_eq(uio_send_tcp(&io, c, &iov, 1), -EPIPE);
	RUN_UNTIL(seen.closes == 1);
	cr_assert_eq(seen.reason, 0);
	cr_assert(seen.close_was_connecting);
	cr_assert_eq(seen.opens, 0);
	cr_assert_eq(uio_tx_pending(&io), 0);
	cr_assert_eq(uio_nconns(&io), 0);
	cr_assert_eq(io.cnt.tcp_connect_failures, 0);

	/* Closed before uio_wait() submitted the connect, to a listener that
	 * would accept: whether the connect or its cancellation wins, it ends in
	 * one tcp_close and no tcp_open. */
	struct sockaddr_in la;
	int l2 = loopback_socket(SOCK_STREAM, &la);
	c = uio_connect(&io, (struct sockaddr *)&la, sizeof(la), &err);
	cr_assert_not_null(c, "uio_connect: %s", strerror(-err));
	cr_assert_eq(uio_send_tcp(&io, c, &iov, 1), 0);
	uio_close(&io, c);
	RUN_UNTIL(seen.closes == 2);
	run_now(3);
	cr_assert_eq(seen.closes, 2);
	cr_assert_eq(seen.reason, 0);
	cr_assert_eq(seen.opens, 0);
	cr_assert_eq(uio_tx_pending(&io), 0);
	cr_assert_eq(uio_nconns(&io), 0);
	close(l2);
	close(filler);
	close(l);
	teardown();
}

/* tcp_open may close the connection (a worker that is stopping does): an
 * accepted one ends with one tcp_close; an outgoing one first sends what was
 * queued while it connected, then closes. */
Test(uring, close_from_tcp_open)
{
	setup(2, 4096);
	seen.close_in_open = true;
	struct sockaddr_in la;
	int l = loopback_socket(SOCK_STREAM, &la);
	cr_assert_eq(uio_add_listener(&io, l), 0);
	int a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(connect(a, (struct sockaddr *)&la, sizeof(la)), 0);
	RUN_UNTIL(seen.closes == 1);
	run_now(3);
	cr_assert_eq(seen.opens, 1);
	cr_assert_eq(seen.closes, 1);
	cr_assert_eq(uio_nconns(&io), 0);
	recv_timeout(a, 5);
	char b;
	cr_assert_eq(read(a, &b, 1), 0);
	close(a);
	uio_stop_listeners(&io);

	struct sockaddr_in pa;
	int pl = loopback_socket(SOCK_STREAM, &pa);
	int err = 0;
	struct uio_conn *c = uio_connect(&io, (struct sockaddr *)&pa, sizeof(pa), &err);
	cr_assert_not_null(c, "uio_connect: %s", strerror(-err));
	struct iovec iov = { (void *)"bye", 3 };
	cr_assert_eq(uio_send_tcp(&io, c, &iov, 1), 0);
	RUN_UNTIL(seen.closes == 2);
	cr_assert_eq(seen.opens, 2);
	cr_assert_eq(seen.reason, 0);
	cr_assert_eq(uio_nconns(&io), 0);
	int p = accept(pl, NULL, NULL);
	cr_assert_geq(p, 0);
	recv_timeout(p, 5);
	char got[3];
	read_all(p, got, 3);
	cr_assert_eq(memcmp(got, "bye", 3), 0);
	cr_assert_eq(read(p, &b, 1), 0);
	close(p);
	close(pl);
	teardown();
}
