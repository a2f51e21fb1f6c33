/* SPDX-License-Identifier: MIT */
/*
 * uring_echo.c: sipring-echo, the UDP echo server that measures what this
 * machine can do at all: a SIP server answering over the same sockets can be no
 * faster. No SIP is parsed; every datagram goes straight back to its source.
 *
 * N threads, each with a SO_REUSEPORT UDP socket on the one port, its own
 * io_uring and its own provided-buffer ring. A multishot recvmsg fills the
 * buffers; each completion becomes a sendmsg SQE whose msghdr points into the
 * receive buffer (the source address as the destination, the payload as the
 * data), so nothing is copied. The SQEs of a batch of completions go to the
 * kernel in one io_uring_enter; the buffer returns to the ring when its send
 * completes:
 *
 *   kernel -> buffer bid (recvmsg CQE) -> sendmsg SQE (user_data = bid)
 *          -> send CQE -> bufring_recycle(bid)
 *
 * Usage: sipring-echo [--addr A] [--port P] [--threads N] [--cpu LIST]
 * It prints "sipring-echo: ready ..." on stderr once every socket is bound, and
 * the count of datagrams echoed when SIGINT or SIGTERM stops it. Exit status:
 * 0, 2 usage, 3 system error, 77 io_uring not usable here.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <liburing.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/load/cpulist.h"
#include "drivers/bufring.h"

#define ECHO_THREADS_MAX 256
#define ECHO_BUFS	 4096 /* provided buffers per thread */
#define ECHO_BUF_SIZE	 2048
#define ECHO_RING	 4096

enum { OP_RECV = 1, OP_SEND = 2 };

/* Set by SIGINT/SIGTERM; the threads look at it between waits. */
static atomic_int echo_stop;

struct echo_opts {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	unsigned threads;
	int cpus[ECHO_THREADS_MAX];
	unsigned ncpus;
};

/* The sendmsg of buffer bid: lent to the kernel with the buffer. */
struct echo_send {
	struct msghdr mh;
	struct iovec iov;
};

struct echo_thread {
	_Alignas(64) struct io_uring ring;
	struct bufring br;
	const struct echo_opts *o;
	pthread_barrier_t *ready;
	unsigned id;
	int fd;
	bool armed;
	int err;
	const char *what;
	pthread_t tid;
	struct msghdr rx_mh;
	struct echo_send *sends; /* one per buffer */
	uint64_t echoed, send_errors, recv_errors, nobufs;
};

static int echo_fail(struct echo_thread *t, int err, const char *what)
{
	t->err = err;
	t->what = what;
	return err;
}

static int echo_setup(struct echo_thread *t)
{
	const struct echo_opts *o = t->o;
	if (o->ncpus) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(o->cpus[t->id % o->ncpus], &set);
		int ret = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
		if (ret)
			return echo_fail(t, -ret, "pinning to a CPU");
	}
	t->fd = socket(o->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (t->fd < 0)
		return echo_fail(t, -errno, "socket");
	int one = 1, sz = 4 << 20;
	setsockopt(t->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(t->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (bind(t->fd, (const struct sockaddr *)&o->addr, o->addrlen) < 0)
		return echo_fail(t, -errno, "bind");
	int ret = uring_queue_init(&t->ring, ECHO_RING, NULL);
	if (ret < 0)
		return echo_fail(t, ret, "io_uring");
	ret = bufring_setup(&t->ring, &t->br, 0, ECHO_BUFS, ECHO_BUF_SIZE);
	if (ret < 0)
		return echo_fail(t, ret, "provided-buffer ring");
	t->sends = calloc(ECHO_BUFS, sizeof(*t->sends));
	if (!t->sends)
		return echo_fail(t, -ENOMEM, "send table");
	t->rx_mh.msg_namelen = sizeof(struct sockaddr_in6);
	return 0;
}

static struct io_uring_sqe *echo_sqe(struct echo_thread *t)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&t->ring);
	if (!sqe) {
		io_uring_submit(&t->ring);
		sqe = io_uring_get_sqe(&t->ring);
	}
	return sqe;
}

static void echo_arm(struct echo_thread *t)
{
	struct io_uring_sqe *sqe = echo_sqe(t);
	io_uring_prep_recvmsg_multishot(sqe, t->fd, &t->rx_mh, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = t->br.bgid;
	io_uring_sqe_set_data64(sqe, OP_RECV);
	t->armed = true;
}

/* A datagram arrived in a buffer: send it back from there. */
static void echo_recv(struct echo_thread *t, const struct io_uring_cqe *cqe)
{
	if (!(cqe->flags & IORING_CQE_F_MORE))
		t->armed = false;
	if (cqe->res < 0) {
		if (cqe->res == -ENOBUFS)
			t->nobufs++;
		else if (cqe->res != -ECANCELED)
			t->recv_errors++;
		return;
	}
	if (!(cqe->flags & IORING_CQE_F_BUFFER))
		return;
	unsigned bid = bufring_bid(cqe);
	struct io_uring_recvmsg_out *out =
		io_uring_recvmsg_validate(bufring_buf(&t->br, bid), cqe->res, &t->rx_mh);
	if (!out || out->namelen > t->rx_mh.msg_namelen) {
		bufring_recycle(&t->br, bid);
		return;
	}
	struct echo_send *s = &t->sends[bid];
	s->iov.iov_base = io_uring_recvmsg_payload(out, &t->rx_mh);
	s->iov.iov_len = io_uring_recvmsg_payload_length(out, cqe->res, &t->rx_mh);
	s->mh.msg_name = io_uring_recvmsg_name(out);
	s->mh.msg_namelen = out->namelen;
	s->mh.msg_iov = &s->iov;
	s->mh.msg_iovlen = 1;
	struct io_uring_sqe *sqe = echo_sqe(t);
	io_uring_prep_sendmsg(sqe, t->fd, &s->mh, 0);
	io_uring_sqe_set_data64(sqe, (uint64_t)OP_SEND << 32 | bid);
}

static void echo_loop(struct echo_thread *t)
{
	while (!atomic_load_explicit(&echo_stop, memory_order_relaxed)) {
		if (!t->armed)
			echo_arm(t);
		struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 200000000 };
		struct io_uring_cqe *cqe;
		int ret = io_uring_submit_and_wait_timeout(&t->ring, &cqe, 1, &ts, NULL);
		if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			echo_fail(t, ret, "io_uring_enter");
			return;
		}
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&t->ring, head, cqe)
		{
			uint64_t ud = io_uring_cqe_get_data64(cqe);
			if (ud >> 32 == OP_SEND) {
				if (cqe->res < 0)
					t->send_errors++;
				else
					t->echoed++;
				bufring_recycle(&t->br, (unsigned)(uint32_t)ud);
			} else {
				echo_recv(t, cqe);
			}
			seen++;
		}
		io_uring_cq_advance(&t->ring, seen);
	}
}

static void *echo_main(void *arg)
{
	struct echo_thread *t = arg;
	int ret = echo_setup(t);
	pthread_barrier_wait(t->ready);
	if (ret == 0)
		echo_loop(t);
	if (t->ring.ring_fd > 0) {
		bufring_free(&t->ring, &t->br);
		io_uring_queue_exit(&t->ring);
	}
	if (t->fd > 0)
		close(t->fd);
	free(t->sends);
	return NULL;
}

static int parse_cpus(const char *s, struct echo_opts *o)
{
	return cpulist_parse(s, o->cpus, ECHO_THREADS_MAX, &o->ncpus);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sipring-echo [--addr A] [--port P] [--threads N] [--cpu LIST]\n"
		   "  -a, --addr A      address to bind (127.0.0.1)\n"
		   "  -p, --port P      UDP port (5070)\n"
		   "  -t, --threads N   threads, one SO_REUSEPORT socket and io_uring each (1)\n"
		   "  -c, --cpu LIST    pin thread i to the i-th CPU of LIST (\"0\", \"0-1\")\n");
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&echo_stop, 1);
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct echo_opts o;
	const char *addr = "127.0.0.1";
	long port = 5070, threads = 1;
	int c;
	while ((c = getopt_long(argc, argv, "a:p:t:c:h", longs, NULL)) != -1) {
		char *e = NULL;
		switch (c) {
		case 'a':
			addr = optarg;
			break;
		case 'p':
			port = strtol(optarg, &e, 10);
			if (*e || port < 0 || port > 65535)
				goto bad;
			break;
		case 't':
			threads = strtol(optarg, &e, 10);
			if (*e || threads < 1 || threads > ECHO_THREADS_MAX)
				goto bad;
			break;
		case 'c':
			if (parse_cpus(optarg, &o) < 0)
				goto bad;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		continue;
	bad:
		fprintf(stderr, "sipring-echo: bad option value '%s'\n", optarg);
		return 2;
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)&o.addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&o.addr;
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		o.addrlen = sizeof(*a4);
	} else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		o.addrlen = sizeof(*a6);
	} else {
		fprintf(stderr, "sipring-echo: bad address '%s'\n", addr);
		return 2;
	}
	o.threads = (unsigned)threads;

	char why[256];
	if (uring_check(why, sizeof(why)) < 0) {
		fprintf(stderr, "sipring-echo: %s\n", why);
		return 77;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct echo_thread *ts = calloc(o.threads, sizeof(*ts));
	pthread_barrier_t ready;
	if (!ts)
		return 3;
	pthread_barrier_init(&ready, NULL, o.threads + 1);
	for (unsigned i = 0; i < o.threads; i++) {
		ts[i].o = &o;
		ts[i].id = i;
		ts[i].fd = -1;
		ts[i].ready = &ready;
		int ret = pthread_create(&ts[i].tid, NULL, echo_main, &ts[i]);
		if (ret) {
			fprintf(stderr, "sipring-echo: pthread_create: %s\n", strerror(ret));
			return 3;
		}
	}
	pthread_barrier_wait(&ready);
	int status = 0;
	for (unsigned i = 0; i < o.threads; i++)
		if (ts[i].err) {
			fprintf(stderr, "sipring-echo: thread %u: %s: %s\n", i, ts[i].what,
				strerror(-ts[i].err));
			status = 3;
		}
	if (status)
		atomic_store(&echo_stop, 1);
	else
		fprintf(stderr, "sipring-echo: ready on %s port %ld, %u thread%s\n", addr, port,
			o.threads, o.threads > 1 ? "s" : "");
	uint64_t echoed = 0, errors = 0;
	for (unsigned i = 0; i < o.threads; i++) {
		pthread_join(ts[i].tid, NULL);
		if (ts[i].err && !status) {
			fprintf(stderr, "sipring-echo: thread %u: %s: %s\n", i, ts[i].what,
				strerror(-ts[i].err));
			status = 3;
		}
		echoed += ts[i].echoed;
		errors += ts[i].send_errors + ts[i].recv_errors;
	}
	if (!status)
		fprintf(stderr, "sipring-echo: echoed %" PRIu64 " datagrams (%" PRIu64 " errors)\n",
			echoed, errors);
	pthread_barrier_destroy(&ready);
	free(ts);
	return status;
}
