/* SPDX-License-Identifier: MIT */
/*
 * redis_fixture.h: a private redis-server for a test, never the system one.
 *
 * redis_fixture_start() makes a temporary directory, picks a free loopback
 * port, and runs `redis-server --port N --bind 127.0.0.1 --dir TMP --save ''
 * --daemonize no` as a child (with an append-only file when asked, so that a
 * killed server comes back with what it had acknowledged). The child gets
 * PR_SET_PDEATHSIG(SIGKILL): if the test process dies in any way, the server
 * dies with it. redis_fixture_stop() kills it, reaps it and removes the
 * directory; call it from the suite's .fini so that it runs after a failed
 * assertion too.
 *
 * Waits are bounded polls with generous deadlines (these machines are small and
 * shared): nothing here asserts on time.
 */
#ifndef SIPRING_TESTS_REDIS_FIXTURE_H
#define SIPRING_TESTS_REDIS_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

struct redis_fixture {
	pid_t pid; /* 0 when not running */
	uint16_t port;
	bool aof;
	const char *password; /* --requirepass, or NULL */
	char dir[256];	      /* its --dir, also holding redis.sock and redis.log */
	char sock[300];	      /* its unix socket */
	char bin[256];
};

/* The path of redis-server, or NULL when it is not installed (the test skips). */
const char *redis_fixture_bin(char *buf, size_t cap);

/*
 * Start a server (aof: appendonly yes, appendfsync no; password: NULL or
 * --requirepass). Returns 0 once it answers PING, -ENOENT when redis-server is
 * not installed, or -errno.
 */
int redis_fixture_start(struct redis_fixture *rf, bool aof, const char *password);

/* SIGKILL the server and reap it; the directory stays (for a restart). */
void redis_fixture_kill(struct redis_fixture *rf);

/* Start it again on the same port and directory; 0 once it answers PING. */
int redis_fixture_restart(struct redis_fixture *rf);

/* Kill, reap, remove the directory. Safe to call twice or on a zeroed fixture. */
void redis_fixture_stop(struct redis_fixture *rf);

/* A blocking connection to it (authenticated when it has a password), or NULL. */
redisContext *redis_fixture_connect(const struct redis_fixture *rf);

/* Milliseconds of CLOCK_MONOTONIC, for the bounded polls of the tests. */
int64_t test_now_ms(void);

/* Sleep ms milliseconds. */
void test_sleep_ms(int ms);

#endif
