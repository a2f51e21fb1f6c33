/* SPDX-License-Identifier: MIT */
/*
 * cli_fixture.h: what the tests of sipringctl's API commands (test_cmd_*.c)
 * share.
 *
 * - Running a command in-process: its *_run() on an argv, what it writes to
 *   stdout and stderr caught in memory (cli_run), with the two usual checks
 *   (cli_run_ok, cli_run_fail).
 * - A management endpoint in-process: core/mgmt.h on 127.0.0.1 (or an address
 *   given), port 0, driven by a loop thread (cli_endpoint); with, when asked,
 *   one route of canned JSON that logs what it was asked (cli_route).
 * - A tiny HTTP server on 127.0.0.1 that reads one request's head and answers
 *   with canned bytes, for what the daemon never sends (cli_canned).
 * - A loopback port nothing listens on, and a configuration file written to a
 *   temporary file.
 *
 * The functions assert with Criterion: call them from a test or its
 * .init/.fini. The test thread changes what a route serves only while no
 * command runs.
 */
#ifndef SIPRING_TESTS_CLI_FIXTURE_H
#define SIPRING_TESTS_CLI_FIXTURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>

#include "core/mgmt.h"

/* ---- running a command ---- */

/* A command: argv[0] and the function that runs it (cmd_*_run()). */
struct cli_cmd {
	const char *name;
	int (*run)(FILE *out, FILE *err, int argc, char **argv);
};

struct cli_run {
	int status;
	char *out, *err; /* what it wrote, NUL-terminated: cli_run_free() */
	size_t outlen, errlen;
};

/* Run cmd with argv { cmd->name, args... } (args NULL-terminated, at most 14). */
void cli_run(struct cli_run *r, const struct cli_cmd *cmd, const char *const *args);

void cli_run_free(struct cli_run *r);

/* Run and expect exit status 0, nothing on stderr, and out exactly. */
void cli_run_ok(const struct cli_cmd *cmd, const char *const *args, const char *out);

/* Run and expect exit status, nothing on stdout, and err exactly. */
void cli_run_fail(const struct cli_cmd *cmd, const char *const *args, int status, const char *err);

/* ---- the endpoint: core/mgmt.h driven by a loop thread ---- */

struct cli_endpoint {
	struct mgmt *m; /* NULL when not started */
	char url[64];	/* http://127.0.0.1:PORT, or http://[::1]:PORT */
	pthread_t loop;
	bool looping;
	int stop_loop;
};

/* Start core/mgmt.h with src on 127.0.0.1, port 0 (asserts that it starts). */
void cli_endpoint_open(struct cli_endpoint *e, const struct mgmt_source *src);

/*
 * The same on a (IPv4 or IPv6, port 0); skips the test when this host does not
 * have that address (-EADDRNOTAVAIL, -EAFNOSUPPORT).
 */
void cli_endpoint_open_at(struct cli_endpoint *e, const struct sockaddr *a, socklen_t al,
			  const struct mgmt_source *src);

/* Start the thread that drives it, once its routes are added. */
void cli_endpoint_run(struct cli_endpoint *e);

/* Stop the thread and the endpoint; nothing when it was not started. */
void cli_endpoint_stop(struct cli_endpoint *e);

/*
 * A route of canned JSON. GET on path itself answers *serving (parsed at each
 * request; 500 when it is not JSON), another method 405 with the error
 * not_get; a request below path goes to item. Every request is logged in
 * asked: "METHOD subpath", and " (with a body)" when it had one.
 */
struct cli_route {
	const char *path; /* "/api/v1/uplinks" */
	const char *not_get;
	int (*item)(const char *method, const char *subpath, cJSON **out);
	const char *const *serving;
	char *asked;
	size_t asked_size;
};

/*
 * Start an endpoint (version "0.1.0", nothing else) serving rt, asked[]
 * emptied first, and its thread.
 */
void cli_endpoint_serve(struct cli_endpoint *e, struct cli_route *rt);

/* {"error": msg}, as the daemon's routes answer an error. */
cJSON *cli_error_json(const char *msg);

/* ---- canned bytes ---- */

/*
 * A server on 127.0.0.1 that accepts one connection, reads the request's head
 * into request, then writes answer at once, or the NULL-terminated parts one
 * by one 20 ms apart, or (silent) nothing for 2.6 s; then closes it.
 */
struct cli_canned {
	const char *answer;
	const char *const *parts;
	bool silent;
	char request[1024];
	uint16_t port;
	char url[64]; /* http://127.0.0.1:PORT */
	int lfd;
	pthread_t thread;
};

/* Listen (port, url set) and serve one connection in a thread. */
void cli_canned_start(struct cli_canned *c);

/* Wait for that connection to be done, and stop listening. */
void cli_canned_wait(struct cli_canned *c);

/* Run cmd with argv { cmd->name, "--url", c->url, args... } against a server started here. */
void cli_run_canned(struct cli_canned *c, const struct cli_cmd *cmd, struct cli_run *r,
		    const char *const *args);

/* ---- odds and ends ---- */

/* A loopback port nothing listens on: bound once, then closed. */
uint16_t cli_dead_port(void);

/* Write a configuration (printf-like) to a new temporary file; its path in path. */
void cli_config(char *path, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
