/* SPDX-License-Identifier: MIT */
/* dns_fixture.c: see dns_fixture.h. */
#define _GNU_SOURCE
#include "dns_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void script_path(char *buf, size_t cap)
{
	const char *root = getenv("SIPRING_SOURCE_ROOT");

	snprintf(buf, cap, "%s/tests/storage/dns_server.py", root && *root ? root : ".");
}

/*
 * Run the server with python; returns 0 with f->pid and f->port, 77 when this
 * python has no dnslib (or is not there), or -errno.
 */
static int spawn(struct dns_fixture *f, const char *python)
{
	char script[512], line[32];
	int out[2], in[2];
	pid_t parent = getpid(), pid;
	size_t got = 0;
	int64_t deadline = mono() + 30000;

	script_path(script, sizeof(script));
	if (pipe2(out, O_CLOEXEC))
		return -errno;
	if (pipe2(in, O_CLOEXEC)) {
		int e = errno;

		close(out[0]);
		close(out[1]);
		return -e;
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(out[0]);
		close(out[1]);
		close(in[0]);
		close(in[1]);
		return -e;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(in[0], 0);
		dup2(out[1], 1);
		execlp(python, python, script, "--zone", f->zone, "--log", f->log, "--exit-on-eof",
		       (char *)NULL);
		_exit(errno == ENOENT ? 77 : 127);
	}
	close(out[1]);
	close(in[0]);
	/* read "<port>\n", or the child's end */
	for (;;) {
		struct pollfd p = { .fd = out[0], .events = POLLIN };
		int64_t left = deadline - mono();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		n = read(out[0], line + got, sizeof(line) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		line[got] = '\0';
		if (strchr(line, '\n') || got == sizeof(line) - 1)
			break;
	}
	close(out[0]);
	line[got] = '\0';
	if (got && strchr(line, '\n') && atoi(line) > 0 && atoi(line) < 65536) {
		f->pid = pid;
		f->port = (uint16_t)atoi(line);
		f->stdin_fd = in[1];
		snprintf(f->server, sizeof(f->server), "127.0.0.1:%u", f->port);
		return 0;
	}
	close(in[1]);
	int st = 0;

	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		return 77;
	return -EIO;
}

int dns_fixture_start(struct dns_fixture *f)
{
	const char *tmp = getenv("TMPDIR");
	const char *env = getenv("SIPRING_PYTHON");
	const char *pythons[] = { env && *env ? env : NULL, "/usr/bin/python3", "python3" };
	int r = -ENOENT;

	memset(f, 0, sizeof(*f));
	f->stdin_fd = -1;
	snprintf(f->dir, sizeof(f->dir), "%s/sipring-dns-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir))
		return -errno;
	snprintf(f->zone, sizeof(f->zone), "%s/zone.json", f->dir);
	snprintf(f->log, sizeof(f->log), "%s/queries.log", f->dir);
	r = dns_fixture_zone(f, "{\"records\": []}");
	if (r)
		return r;
	for (size_t i = 0; i < sizeof(pythons) / sizeof(pythons[0]); i++) {
		if (!pythons[i])
			continue;
		r = spawn(f, pythons[i]);
		if (r != 77)
			return r;
	}
	return -ENOENT;
}

int dns_fixture_zone(struct dns_fixture *f, const char *json)
{
	char tmp[320];
	FILE *fp;
	bool ok;

	snprintf(tmp, sizeof(tmp), "%s/zone.json.tmp", f->dir);
	fp = fopen(tmp, "w");
	if (!fp)
		return -errno;
	ok = fputs(json, fp) >= 0;
	ok = (fclose(fp) == 0) && ok;
	if (!ok || rename(tmp, f->zone))
		return -EIO;
	return 0;
}

int dns_fixture_zonef(struct dns_fixture *f, const char *fmt, ...)
{
	char *json = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&json, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	r = dns_fixture_zone(f, json);
	free(json);
	return r;
}

unsigned dns_fixture_count(const struct dns_fixture *f, const char *qname, const char *qtype)
{
	FILE *fp = fopen(f->log, "r");
	char line[512], want[300];
	unsigned n = 0;

	if (!fp)
		return 0;
	snprintf(want, sizeof(want), "%s.", qname);
	while (fgets(line, sizeof(line), fp)) {
		char *name = strtok(line, " \n"), *type = strtok(NULL, " \n");

		if (name && type && !strcasecmp(name, want) && (!qtype || !strcmp(type, qtype)))
			n++;
	}
	fclose(fp);
	return n;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void dns_fixture_stop(struct dns_fixture *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGKILL);
		while (waitpid(f->pid, NULL, 0) < 0 && errno == EINTR)
			;
		f->pid = 0;
	}
	if (f->stdin_fd > 0)
		close(f->stdin_fd);
	f->stdin_fd = -1;
	if (f->dir[0])
		nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	f->dir[0] = '\0';
}

uint16_t dns_fixture_dead_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	uint16_t port = 0;

	if (fd < 0)
		return 0;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port == 5353 ? dns_fixture_dead_port() : port;
}
