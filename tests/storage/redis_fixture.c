/* SPDX-License-Identifier: MIT */
/* redis_fixture.c: see redis_fixture.h. */
#define _GNU_SOURCE
#include "redis_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void test_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

const char *redis_fixture_bin(char *buf, size_t cap)
{
	const char *path = getenv("PATH");
	char dirs[4096];

	snprintf(dirs, sizeof(dirs), "%s:/usr/bin:/usr/sbin:/usr/local/bin", path ? path : "");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		if (snprintf(buf, cap, "%s/redis-server", d) >= (int)cap)
			continue;
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

static uint16_t free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;

	if (fd < 0)
		return 0;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int spawn(struct redis_fixture *rf)
{
	char port[8], log[320];
	pid_t parent = getpid(), pid;

	snprintf(port, sizeof(port), "%u", rf->port);
	snprintf(log, sizeof(log), "%s/redis.log", rf->dir);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		const char *argv[32];
		int n = 0, fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		argv[n++] = rf->bin;
		argv[n++] = "--port";
		argv[n++] = port;
		argv[n++] = "--bind";
		argv[n++] = "127.0.0.1";
		argv[n++] = "--dir";
		argv[n++] = rf->dir;
		argv[n++] = "--unixsocket";
		argv[n++] = rf->sock;
		argv[n++] = "--unixsocketperm";
		argv[n++] = "700";
		argv[n++] = "--save";
		argv[n++] = "";
		argv[n++] = "--daemonize";
		argv[n++] = "no";
		argv[n++] = "--appendonly";
		argv[n++] = rf->aof ? "yes" : "no";
		/*
		 * Redis write()s the AOF before it sends the replies of a loop
		 * turn, so a SIGKILLed server keeps (in the page cache) what it
		 * acknowledged. "no" rather than "everysec", which may postpone
		 * that write while a background fsync runs, and rather than
		 * "always", whose fsync per command makes the tests slow: only a
		 * machine crash needs it.
		 */
		argv[n++] = "--appendfsync";
		argv[n++] = "no";
		if (rf->password) {
			argv[n++] = "--requirepass";
			argv[n++] = rf->password;
		}
		argv[n] = NULL;
		execv(rf->bin, (char *const *)argv);
		_exit(127);
	}
	rf->pid = pid;
	return 0;
}

redisContext *redis_fixture_connect(const struct redis_fixture *rf)
{
	struct timeval tv = { 5, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", rf->port, tv);

	if (!c || c->err) {
		if (c)
			redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, (struct timeval){ 30, 0 });
	if (rf->password) {
		redisReply *r = redisCommand(c, "AUTH %s", rf->password);
		bool ok = r && r->type != REDIS_REPLY_ERROR;

		if (r)
			freeReplyObject(r);
		if (!ok) {
			redisFree(c);
			return NULL;
		}
	}
	return c;
}

/* Wait until it answers PING (loading an AOF answers -LOADING first). */
static int wait_ready(struct redis_fixture *rf)
{
	int64_t deadline = test_now_ms() + 30000;

	while (test_now_ms() < deadline) {
		int st;

		if (waitpid(rf->pid, &st, WNOHANG) == rf->pid) {
			rf->pid = 0;
			return -ECHILD; /* it exited: the port was taken, most likely */
		}
		redisContext *c = redis_fixture_connect(rf);
		if (c) {
			redisReply *r = redisCommand(c, "PING");
			bool ok = r && r->type == REDIS_REPLY_STATUS;

			if (r)
				freeReplyObject(r);
			redisFree(c);
			if (ok)
				return 0;
		}
		test_sleep_ms(20);
	}
	return -ETIMEDOUT;
}

int redis_fixture_start(struct redis_fixture *rf, bool aof, const char *password)
{
	const char *tmp = getenv("TMPDIR");
	int r = -EADDRINUSE;

	memset(rf, 0, sizeof(*rf));
	if (!redis_fixture_bin(rf->bin, sizeof(rf->bin)))
		return -ENOENT;
	rf->aof = aof;
	rf->password = password;
	snprintf(rf->dir, sizeof(rf->dir), "%s/sipring-redis-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(rf->dir))
		return -errno;
	snprintf(rf->sock, sizeof(rf->sock), "%s/redis.sock", rf->dir);
	/* Another process may take the port between our probe and the bind: try again. */
	for (int attempt = 0; attempt < 8; attempt++) {
		rf->port = free_port();
		if (!rf->port)
			continue;
		r = spawn(rf);
		if (r)
			break;
		r = wait_ready(rf);
		if (r != -ECHILD)
			break;
	}
	return r;
}

void redis_fixture_kill(struct redis_fixture *rf)
{
	if (rf->pid > 0) {
		kill(rf->pid, SIGKILL);
		while (waitpid(rf->pid, NULL, 0) < 0 && errno == EINTR)
			;
		rf->pid = 0;
	}
}

int redis_fixture_restart(struct redis_fixture *rf)
{
	int r;

	redis_fixture_kill(rf);
	r = spawn(rf);
	return r ? r : wait_ready(rf);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void redis_fixture_stop(struct redis_fixture *rf)
{
	redis_fixture_kill(rf);
	if (rf->dir[0])
		nftw(rf->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	rf->dir[0] = '\0';
}
