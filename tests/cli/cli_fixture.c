/* SPDX-License-Identifier: MIT */
/* cli_fixture.c: see cli_fixture.h. */
#define _GNU_SOURCE
#include "cli_fixture.h"

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- running a command ---- */

void cli_run(struct cli_run *r, const struct cli_cmd *cmd, const char *const *args)
{
	char *argv[16];
	int argc = 0;
	FILE *out = open_memstream(&r->out, &r->outlen);
	FILE *err = open_memstream(&r->err, &r->errlen);

	argv[argc++] = (char *)cmd->name;
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	r->status = cmd->run(out, err, argc, argv);
	fclose(out);
	fclose(err);
}

void cli_run_free(struct cli_run *r)
{
	free(r->out);
	free(r->err);
}

void cli_run_ok(const struct cli_cmd *cmd, const char *const *args, const char *out)
{
	struct cli_run r;

	cli_run(&r, cmd, args);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_empty(r.err);
	cr_assert_str_eq(r.out, out);
	cli_run_free(&r);
}

void cli_run_fail(const struct cli_cmd *cmd, const char *const *args, int status, const char *err)
{
	struct cli_run r;

	cli_run(&r, cmd, args);
	cr_assert_eq(r.status, status, "%d: %s", r.status, r.err);
	cr_assert_str_eq(r.err, err);
	cr_assert_str_empty(r.out);
	cli_run_free(&r);
}

/* ---- the endpoint ---- */

static void *loop(void *arg)
{
	struct cli_endpoint *e = arg;

	while (!__atomic_load_n(&e->stop_loop, __ATOMIC_ACQUIRE)) {
		struct pollfd p = { .fd = mgmt_poll_fd(e->m), .events = POLLIN };
		int t = mgmt_poll_timeout_ms(e->m);

		poll(&p, 1, t < 0 || t > 20 ? 20 : t);
		mgmt_process(e->m);
	}
	return NULL;
}

static int open_at(struct cli_endpoint *e, const struct sockaddr *a, socklen_t al,
		   const struct mgmt_source *src, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN];
	int ret;

	e->m = NULL;
	e->looping = false;
	e->stop_loop = 0;
	ret = mgmt_start(&e->m, a, al, src, err, errlen);
	if (ret != 0) {
		e->m = NULL;
		return ret;
	}
	if (a->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr, host,
			  sizeof(host));
		snprintf(e->url, sizeof(e->url), "http://[%s]:%u", host, mgmt_port(e->m));
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, host, sizeof(host));
		snprintf(e->url, sizeof(e->url), "http://%s:%u", host, mgmt_port(e->m));
	}
	return 0;
}

void cli_endpoint_open(struct cli_endpoint *e, const struct mgmt_source *src)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char err[256];

	cr_assert_eq(open_at(e, (struct sockaddr *)&a, sizeof(a), src, err, sizeof(err)), 0, "%s",
		     err);
}

void cli_endpoint_open_at(struct cli_endpoint *e, const struct sockaddr *a, socklen_t al,
			  const struct mgmt_source *src)
{
	char err[256];
	int ret = open_at(e, a, al, src, err, sizeof(err));

	if (ret == -EADDRNOTAVAIL || ret == -EAFNOSUPPORT)
		cr_skip_test("%s", err);
	cr_assert_eq(ret, 0, "%s", err);
}

void cli_endpoint_run(struct cli_endpoint *e)
{
	cr_assert_eq(pthread_create(&e->loop, NULL, loop, e), 0);
	e->looping = true;
}

void cli_endpoint_stop(struct cli_endpoint *e)
{
	if (!e->m)
		return;
	if (e->looping) {
		__atomic_store_n(&e->stop_loop, 1, __ATOMIC_RELEASE);
		pthread_join(e->loop, NULL);
		e->looping = false;
	}
	mgmt_stop(e->m);
	e->m = NULL;
}

cJSON *cli_error_json(const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "error", msg);
	return o;
}

static int route(void *arg, const char *method, const char *subpath, const char *body,
		 size_t body_len, cJSON **out)
{
	struct cli_route *rt = arg;

	(void)body;
	snprintf(rt->asked, rt->asked_size, "%s %s%s", method, subpath,
		 body_len ? " (with a body)" : "");
	if (subpath[0] != '\0')
		return rt->item(method, subpath, out);
	if (strcmp(method, "GET") != 0) {
		*out = cli_error_json(rt->not_get);
		return 405;
	}
	*out = cJSON_Parse(*rt->serving);
	return *out ? 200 : 500;
}

void cli_endpoint_serve(struct cli_endpoint *e, struct cli_route *rt)
{
	static const struct mgmt_source ms = { .version = "0.1.0" };

	rt->asked[0] = '\0';
	cli_endpoint_open(e, &ms);
	cr_assert_eq(mgmt_route(e->m, rt->path, route, rt), 0);
	cli_endpoint_run(e);
}

/* ---- canned bytes ---- */

static void *serve(void *arg)
{
	struct cli_canned *c = arg;
	size_t have = 0;
	int fd = accept(c->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	while (!strstr(c->request, "\r\n\r\n") && have < sizeof(c->request) - 1) {
		ssize_t n = recv(fd, c->request + have, sizeof(c->request) - 1 - have, 0);

		if (n <= 0)
			break;
		have += (size_t)n;
		c->request[have] = '\0';
	}
	if (c->silent) {
		usleep(2600 * 1000);
	} else if (c->answer) {
		send(fd, c->answer, strlen(c->answer), MSG_NOSIGNAL);
	} else {
		for (const char *const *p = c->parts; *p; p++) {
			send(fd, *p, strlen(*p), MSG_NOSIGNAL);
			usleep(20 * 1000);
		}
	}
	close(fd);
	return NULL;
}

void cli_canned_start(struct cli_canned *c)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	c->request[0] = '\0';
	c->lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(bind(c->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(c->lfd, 1), 0);
	cr_assert_eq(getsockname(c->lfd, (struct sockaddr *)&a, &al), 0);
	c->port = ntohs(a.sin_port);
	snprintf(c->url, sizeof(c->url), "http://127.0.0.1:%u", c->port);
	cr_assert_eq(pthread_create(&c->thread, NULL, serve, c), 0);
}

void cli_canned_wait(struct cli_canned *c)
{
	pthread_join(c->thread, NULL);
	close(c->lfd);
}

void cli_run_canned(struct cli_canned *c, const struct cli_cmd *cmd, struct cli_run *r,
		    const char *const *args)
{
	const char *argv[8] = { "--url" };
	int n = 2;

	cli_canned_start(c);
	argv[1] = c->url;
	while (*args && n < 7)
		argv[n++] = *args++;
	argv[n] = NULL;
	cli_run(r, cmd, argv);
	cli_canned_wait(c);
}

/* ---- odds and ends ---- */

uint16_t cli_dead_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);
	return ntohs(a.sin_port);
}

void cli_config(char *path, size_t size, const char *fmt, ...)
{
	va_list ap;
	FILE *f;
	int fd;

	snprintf(path, size, "/tmp/sipring-cli-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}
