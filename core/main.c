/* SPDX-License-Identifier: MIT */
/*
 * main.c: `sipring -c FILE`: load the configuration, bind every socket, start
 * the workers, and become the service thread (service.c).
 *
 * Sockets are created here, before any worker runs, so that a port in use or
 * an address that does not exist is a clear error at start and not a worker
 * dying later. Each listen address gets one SO_REUSEPORT socket per worker (the
 * kernel spreads datagrams and connections over them by address hash); each
 * UDP listen address also gets one private socket per worker, at
 * sip.private_port_base + worker (or an ephemeral port), which the worker puts
 * in the Via and Contact of what it originates so that the answers come back to
 * it. Before the SO_REUSEPORT sockets, each public address is bound once
 * without SO_REUSEPORT: a second sipring (or anything else) on the same port
 * is then an error, not a silent share of the traffic.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/log.h"
#include "core/service.h"
#include "core/worker.h"
#include "drivers/bufring.h"

#define HANDOVER_SLOTS 1024
#define TRACE_SLOTS    4096
#define UPQ_SLOTS      16384 /* uplink REGISTERs (and their results) in flight per worker */
#define REGQ_SLOTS     65536 /* registrar changes a worker may queue for the service thread */
#define UDP_SOCKBUF    (4 << 20)

static void usage(FILE *f)
{
	fprintf(f, "usage: sipring -c FILE [--check-config]\n"
		   "       sipring --version\n"
		   "Runs the sipring SIP core in the foreground with the configuration FILE\n"
		   "(YAML; see docs/configuration.md). --check-config validates FILE and exits.\n");
}

static uint16_t sa_port(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)ss)->sin_port)
					: ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void sa_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* A bound socket (and listening, for TCP). Returns the fd or -errno. */
static int open_socket(const struct conf_listen *l, const struct sockaddr_storage *addr,
		       bool reuseport, int bufsize)
{
	int type = l->proto == CONF_UDP ? SOCK_DGRAM : SOCK_STREAM;
	int fd = socket(addr->ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	if (addr->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (l->proto == CONF_TCP)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	if (l->proto == CONF_UDP && bufsize > 0) {
		/* Past net.core.rmem_max when allowed (root), else up to it. */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof(bufsize)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsize, sizeof(bufsize)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
	}
	if (bind(fd, (const struct sockaddr *)addr, l->addrlen) < 0)
		goto fail;
	if (l->proto == CONF_TCP && listen(fd, 1024) < 0)
		goto fail;
	return fd;
fail:;
	int e = -errno;
	close(fd);
	return e;
}

static bool is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static void add_addr(struct snap_addr *a, unsigned *n, unsigned cap, int family, const void *ip)
{
	size_t len = family == AF_INET ? 4 : 16;
	for (unsigned i = 0; i < *n; i++)
		if (a[i].family == family && !memcmp(a[i].ip, ip, len))
			return;
	if (*n == cap)
		return;
	a[*n].family = family;
	memset(a[*n].ip, 0, sizeof(a[*n].ip));
	memcpy(a[*n].ip, ip, len);
	(*n)++;
}

/* Our addresses: the listen addresses, or every local address of the family
 * for a wildcard. */
static unsigned our_addresses(const struct conf *c, struct snap_addr *a, unsigned cap)
{
	unsigned n = 0;
	struct ifaddrs *ifs = NULL;
	for (unsigned i = 0; i < c->nlisten; i++) {
		const struct sockaddr_storage *ss = &c->listen[i].addr;
		if (is_wildcard(ss)) {
			if (!ifs && getifaddrs(&ifs) < 0)
				continue;
			for (struct ifaddrs *f = ifs; f; f = f->ifa_next) {
				if (!f->ifa_addr || f->ifa_addr->sa_family != ss->ss_family)
					continue;
				const void *ip =
					ss->ss_family == AF_INET
						? (const void *)&((struct sockaddr_in *)f->ifa_addr)
							  ->sin_addr
						: (const void *)&(
							  (struct sockaddr_in6 *)f->ifa_addr)
							  ->sin6_addr;
				add_addr(a, &n, cap, ss->ss_family, ip);
			}
		} else {
			const void *ip =
				ss->ss_family == AF_INET
					? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
					: (const void *)&((const struct sockaddr_in6 *)ss)
						  ->sin6_addr;
			add_addr(a, &n, cap, ss->ss_family, ip);
		}
	}
	if (ifs)
		freeifaddrs(ifs);
	return n;
}

static void add_port(uint16_t *p, unsigned *n, unsigned cap, uint16_t port)
{
	for (unsigned i = 0; i < *n; i++)
		if (p[i] == port)
			return;
	if (*n < cap)
		p[(*n)++] = port;
}

/* Bind everything: public sockets per worker, private UDP per worker. */
static int bind_all(struct daemon *d, struct conf *c, uint16_t *ports, unsigned *nports,
		    unsigned cap)
{
	for (unsigned i = 0; i < c->nlisten; i++) {
		struct conf_listen *l = &c->listen[i];
		/* Exclusive probe: fails when anything holds the port. */
		int probe = open_socket(l, &l->addr, false, 0);
		if (probe < 0) {
			fprintf(stderr, "sipring: %s: %s\n", l->text, strerror(-probe));
			return probe;
		}
		if (sa_port(&l->addr) == 0) {
			/* Port 0: the kernel's choice, kept for every worker. */
			struct sockaddr_storage got;
			socklen_t len = sizeof(got);
			getsockname(probe, (struct sockaddr *)&got, &len);
			sa_set_port(&l->addr, sa_port(&got));
			char ip[INET6_ADDRSTRLEN];
			inet_ntop(l->addr.ss_family,
				  l->addr.ss_family == AF_INET
					  ? (void *)&((struct sockaddr_in *)&l->addr)->sin_addr
					  : (void *)&((struct sockaddr_in6 *)&l->addr)->sin6_addr,
				  ip, sizeof(ip));
			snprintf(l->text, sizeof(l->text),
				 l->addr.ss_family == AF_INET ? "%s:%s:%u" : "%s:[%s]:%u",
				 l->proto == CONF_UDP ? "udp" : "tcp", ip, sa_port(&l->addr));
		}
		close(probe);
		add_port(ports, nports, cap, sa_port(&l->addr));
		for (unsigned k = 0; k < d->nworkers; k++) {
			struct worker *w = &d->workers[k];
			if (w->nsocks + 2 > UIO_MAX_SOCKS) {
				fprintf(stderr, "sipring: too many listen addresses (at most %d)\n",
					UIO_MAX_SOCKS / 2);
				return -ENOSPC;
			}
			int fd = open_socket(l, &l->addr, true, (int)c->udp_buffer);
			if (fd < 0) {
				fprintf(stderr, "sipring: %s: %s\n", l->text, strerror(-fd));
				return fd;
			}
			w->fds[w->nsocks] = fd;
			w->socks[w->nsocks++] =
				(struct wsock){ l->proto, false, i, sa_port(&l->addr) };
		}
	}
	/* Private UDP ports, after every public socket so that the UDP socket
	 * indices of public sockets are the same on every worker. */
	for (unsigned i = 0; i < c->nlisten; i++) {
		struct conf_listen *l = &c->listen[i];
		if (l->proto != CONF_UDP)
			continue;
		for (unsigned k = 0; k < d->nworkers; k++) {
			struct worker *w = &d->workers[k];
			struct sockaddr_storage a = l->addr;
			sa_set_port(&a, c->private_port_base ? (uint16_t)(c->private_port_base + k)
							     : 0);
			int fd = open_socket(l, &a, false, (int)c->udp_buffer);
			if (fd < 0) {
				fprintf(stderr, "sipring: private port of worker %u on %s: %s\n", k,
					l->text, strerror(-fd));
				return fd;
			}
			struct sockaddr_storage got;
			socklen_t len = sizeof(got);
			getsockname(fd, (struct sockaddr *)&got, &len);
			if (!w->private_port)
				w->private_port = sa_port(&got);
			add_port(ports, nports, cap, sa_port(&got));
			w->fds[w->nsocks] = fd;
			w->socks[w->nsocks++] = (struct wsock){ CONF_UDP, true, i, sa_port(&got) };
		}
	}
	return 0;
}

static int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	bool check = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 'V':
			printf("sipring %s\n", SIPRING_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!path || optind != argc) {
		usage(stderr);
		return 2;
	}

	struct conf c;
	char err[512];
	if (conf_load(path, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (check && c.uplinks_file && *c.uplinks_file) {
		struct uplink_defs ud;
		if (uplink_defs_load(c.uplinks_file, &ud, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			conf_free(&c);
			return 1;
		}
		uplink_defs_free(&ud);
	}
	if (check) {
		printf("%s: configuration ok\n", path);
		conf_free(&c);
		return 0;
	}
	log_setup(c.log_level, c.log_format, 2);
	if (uring_check(err, sizeof(err)) < 0) {
		fprintf(stderr, "sipring: %s\n", err);
		LOG_E("main", "io_uring unavailable", "error=\"%s\"", err);
		conf_free(&c);
		return 1;
	}

	struct daemon d;
	memset(&d, 0, sizeof(d));
	int ncpu = online_cpus();
	d.nworkers = c.workers ? c.workers : (unsigned)ncpu;
	d.workers = aligned_alloc(64, sizeof(struct worker) * d.nworkers);
	d.stats = aligned_alloc(64, sizeof(struct stats) * d.nworkers);
	d.handover = calloc((size_t)d.nworkers * d.nworkers, sizeof(struct ring));
	if (!d.workers || !d.stats || !d.handover) {
		fprintf(stderr, "sipring: out of memory\n");
		return 1;
	}
	memset(d.workers, 0, sizeof(struct worker) * d.nworkers);
	memset(d.stats, 0, sizeof(struct stats) * d.nworkers);
	for (unsigned i = 0; i < d.nworkers; i++) {
		struct worker *w = &d.workers[i];
		w->d = &d;
		w->id = i;
		w->stats = &d.stats[i];
		w->cpu = c.pin_workers && (int)d.nworkers <= ncpu ? (int)i % ncpu : -1;
		w->pend_mask = REGQ_SLOTS - 1;
		w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->wake_fd < 0 || ring_init(&w->trace, TRACE_SLOTS, sizeof(void *)) < 0 ||
		    ring_init(&w->regq, REGQ_SLOTS, sizeof(void *)) < 0 ||
		    !(w->pend = calloc(REGQ_SLOTS, sizeof(*w->pend))) ||
		    ring_init(&w->kaq, REGQ_SLOTS, sizeof(void *)) < 0 ||
		    ring_init(&w->upq, UPQ_SLOTS, sizeof(void *)) < 0 ||
		    ring_init(&w->upres, UPQ_SLOTS, sizeof(void *)) < 0) {
			fprintf(stderr, "sipring: %s\n", strerror(errno));
			return 1;
		}
	}
	for (unsigned i = 0; i < d.nworkers * d.nworkers; i++)
		if (ring_init(&d.handover[i], HANDOVER_SLOTS, sizeof(void *)) < 0) {
			fprintf(stderr, "sipring: out of memory\n");
			return 1;
		}

	static uint16_t ports[256];
	unsigned nports = 0;
	if (bind_all(&d, &c, ports, &nports, 256) < 0)
		return 1;
	static struct snap_addr addrs[256];
	unsigned naddrs = our_addresses(&c, addrs, 256);
	for (unsigned i = 0; i < c.nlisten; i++)
		LOG_I("main", "listening", "addr=%s workers=%u", c.listen[i].text, d.nworkers);

	struct snap *s = service_snap_new(&c, 1, addrs, naddrs, ports, nports);
	if (!s) {
		fprintf(stderr, "sipring: out of memory\n");
		return 1;
	}
	atomic_store(&d.snap, s);

	/* Signals go to the service thread's signalfd only. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigfd < 0) {
		fprintf(stderr, "sipring: signalfd: %s\n", strerror(errno));
		return 1;
	}
	/* After the signals are blocked: the registrar's threads inherit the mask. */
	if (service_snap_prepare(s, NULL, err, sizeof(err)) < 0 ||
	    service_registrar_init(&d, err, sizeof(err)) < 0) {
		fprintf(stderr, "sipring: %s\n", err);
		LOG_E("main", "cannot start the registrar", "error=\"%s\"", err);
		return 1;
	}

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	d.node.started_unix = (uint64_t)ts.tv_sec;
	for (unsigned i = 0; i < d.nworkers; i++) {
		int ret = pthread_create(&d.workers[i].thread, NULL, worker_main, &d.workers[i]);
		if (ret) {
			fprintf(stderr, "sipring: cannot start worker %u: %s\n", i, strerror(ret));
			return 1;
		}
	}
	/* Wait for every worker to have its ring (or to fail). */
	int failed = 0;
	for (unsigned i = 0; i < d.nworkers; i++) {
		int st;
		while ((st = atomic_load(&d.workers[i].state)) == 0) {
			struct timespec nap = { 0, 1000000 };
			nanosleep(&nap, NULL);
		}
		if (st < 0) {
			fprintf(stderr, "sipring: worker %u: io_uring set-up failed: %s\n", i,
				strerror(-d.workers[i].err));
			failed = 1;
		}
	}
	if (failed) {
		atomic_store(&d.stop, 2);
		for (unsigned i = 0; i < d.nworkers; i++)
			worker_wake(&d.workers[i]);
		for (unsigned i = 0; i < d.nworkers; i++)
			pthread_join(d.workers[i].thread, NULL);
		return 1;
	}

	int status = service_run(&d, sigfd);
	LOG_I("main", "stopped", "status=%d", status);

	s = atomic_load(&d.snap);
	accounts_free(s->accounts);
	uplink_defs_free(&s->uplinks);
	uplink_index_free(s->uplink_ix);
	conf_free(&s->conf);
	free(s);
	service_registrar_fini(&d);
	for (unsigned i = 0; i < d.nworkers; i++) {
		struct worker *w = &d.workers[i];
		struct reg_op **op;
		for (uint64_t q = w->pend_tail; q < w->pend_head; q++)
			free(w->pend[q & w->pend_mask]); /* regq's entries are among them */
		free(w->pend);
		ring_fini(&w->regq);
		while ((op = ring_peek(&d.workers[i].kaq))) {
			free(*op);
			ring_release(&d.workers[i].kaq);
		}
		ring_fini(&d.workers[i].kaq);
		struct uplink_req **uq;
		while ((uq = ring_peek(&w->upq))) {
			free(*uq);
			ring_release(&w->upq);
		}
		ring_fini(&w->upq);
		ring_fini(&w->upres); /* emptied by the service thread */
		close(d.workers[i].wake_fd);
		ring_fini(&d.workers[i].trace);
	}
	for (unsigned i = 0; i < d.nworkers * d.nworkers; i++) {
		struct handover **h;
		while ((h = ring_peek(&d.handover[i]))) {
			free(*h);
			ring_release(&d.handover[i]);
		}
		ring_fini(&d.handover[i]);
	}
	free(d.handover);
	free(d.stats);
	free(d.workers);
	close(sigfd);
	return status;
}
