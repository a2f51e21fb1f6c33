/* SPDX-License-Identifier: MIT */
/*
 * dns_fixture.h: a private authoritative DNS server for a test:
 * tests/storage/dns_server.py (python3-dnslib) on 127.0.0.1, a free UDP+TCP
 * port (never 5353), its zone a JSON file the test rewrites while it runs.
 *
 * dns_fixture_start() makes a temporary directory, writes an empty zone,
 * and runs the server as a child (PR_SET_PDEATHSIG(SIGKILL), and
 * --exit-on-eof on a pipe held by the test: it dies with the test whatever
 * happens), trying the interpreters $SIPRING_PYTHON, /usr/bin/python3 and
 * python3 in PATH until one has dnslib. The script is found through
 * $SIPRING_SOURCE_ROOT (set by meson test). dns_fixture_stop() kills it and
 * removes the directory: call it from the suite's .fini.
 *
 * The server logs each query; dns_fixture_count() counts them, so that a test
 * can tell whether DNS was asked.
 */
#ifndef SIPRING_TESTS_DNS_FIXTURE_H
#define SIPRING_TESTS_DNS_FIXTURE_H

#include <stdint.h>
#include <sys/types.h>

struct dns_fixture {
	pid_t pid; /* 0 when not running */
	uint16_t port;
	int stdin_fd; /* the write end of the server's stdin */
	char dir[256];
	char zone[300];	 /* zone.json */
	char log[300];	 /* queries.log */
	char server[32]; /* "127.0.0.1:<port>", for domains_config.servers */
};

/*
 * Start a server. Returns 0 once it has printed its port; -ENOENT when no
 * python3 with dnslib is found (the test skips), or -errno.
 */
int dns_fixture_start(struct dns_fixture *f);

/*
 * Replace the zone, atomically (a temporary file renamed over it). json is
 * the whole file (see dns_server.py). 0 or -errno.
 */
int dns_fixture_zone(struct dns_fixture *f, const char *json);

/* The same with printf formatting. */
int dns_fixture_zonef(struct dns_fixture *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Queries the server got for qname (no final dot, any case) and qtype ("A", "SRV"; NULL any). */
unsigned dns_fixture_count(const struct dns_fixture *f, const char *qname, const char *qtype);

/* Kill, reap, remove the directory. Safe twice or on a zeroed fixture. */
void dns_fixture_stop(struct dns_fixture *f);

/* A UDP and TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
uint16_t dns_fixture_dead_port(void);

#endif
