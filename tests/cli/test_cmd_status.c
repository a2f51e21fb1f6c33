/* SPDX-License-Identifier: MIT */
/*
 * Tests of cli/cmd_status.h: `status` against a management endpoint started
 * in-process (core/mgmt.h, driven by a loop thread), human and --json output,
 * -c with a configuration file; the HTTP client against a tiny in-test server
 * that answers with canned bytes (chunked, split, cut short, silent); usage
 * errors and an unreachable endpoint.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cmd_status.h"
#include "core/mgmt.h"
#include "core/stats.h"

#define HINT " (is sipring running? http.listen in the config)"

/* ---- running the command ---- */

struct run {
	int status;
	char *out, *err;
	size_t outlen, errlen;
};

static void run(struct run *r, const char *const *args)
{
	char *argv[16];
	int argc = 0;
	FILE *out = open_memstream(&r->out, &r->outlen);
	FILE *err = open_memstream(&r->err, &r->errlen);

	argv[argc++] = "status";
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	r->status = cmd_status_run(out, err, argc, argv);
	fclose(out);
	fclose(err);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* ---- an endpoint in-process ---- */

static struct stats workers[2];
static struct stats_node node;
static struct mgmt *m;
static pthread_t loop_thread;
static int stop_loop;
static char url[64];

static void add_daemon_fields(void *arg, cJSON *root)
{
	const char *const listen[] = { "udp:0.0.0.0:5060", "tcp:0.0.0.0:5060" };
	cJSON *w;
	int i = 0;

	(void)arg;
	cJSON_AddStringToObject(root, "node", "sip-a");
	cJSON_AddStringToObject(root, "state", "running");
	cJSON_AddStringToObject(root, "config_file", "/etc/sipring/sipring.yaml");
	cJSON_AddItemToObject(root, "listen", cJSON_CreateStringArray(listen, 2));
	cJSON_ArrayForEach(w, cJSON_GetObjectItem(root, "workers"))
	{
		cJSON_AddNumberToObject(w, "cpu", 2 + i);
		cJSON_AddNumberToObject(w, "private_port", 40000 + i);
		i++;
	}
}

static void *loop(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop_loop, __ATOMIC_ACQUIRE)) {
		struct pollfd p = { .fd = mgmt_poll_fd(m), .events = POLLIN };
		int t = mgmt_poll_timeout_ms(m);

		poll(&p, 1, t < 0 || t > 20 ? 20 : t);
		mgmt_process(m);
	}
	return NULL;
}

static void start_at(const struct sockaddr *a, socklen_t al)
{
	struct mgmt_source src = { .workers = workers,
				   .nworkers = 2,
				   .node = &node,
				   .version = "0.1.0",
				   .status_json = add_daemon_fields };
	char err[256];
	int ret;

	memset(workers, 0, sizeof(workers));
	STAT_ADD(&workers[0], rx_msgs, 1234);
	STAT_ADD(&workers[1], rx_msgs, 99);
	STAT_ADD(&workers[0], tx_msgs, 1200);
	STAT_ADD(&workers[1], tx_msgs, 98);
	STAT_ADD(&workers[1], parse_errors, 3);
	STAT_SET(&workers[0], tcp_active, 4);
	STAT_SET(&workers[0], loop_busy_ns, 123);
	STAT_SET(&workers[0], loop_total_ns, 1000);
	STAT_SET(&workers[1], loop_busy_ns, 5);
	STAT_SET(&workers[1], loop_total_ns, 1000);
	STAT_ADD(&workers[1], drops[STATS_DROP_PARSE], 7);
	STAT_SET(&node, started_unix, (uint64_t)time(NULL) - (86400 + 3600 + 60 + 1));
	stop_loop = 0;
	ret = mgmt_start(&m, a, al, &src, err, sizeof(err));
	if (ret == -EADDRNOTAVAIL || ret == -EAFNOSUPPORT)
		cr_skip_test("%s", err);
	cr_assert_eq(ret, 0, "%s", err);
	cr_assert_eq(pthread_create(&loop_thread, NULL, loop, NULL), 0);
}

static void start4(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	start_at((struct sockaddr *)&a, sizeof(a));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", mgmt_port(m));
}

static void stop(void)
{
	if (!m)
		return;
	__atomic_store_n(&stop_loop, 1, __ATOMIC_RELEASE);
	pthread_join(loop_thread, NULL);
	mgmt_stop(m);
	m = NULL;
}

TestSuite(status, .init = start4, .fini = stop);

Test(status, human)
{
	static const char *const want[] = {
		"node     sip-a",
		"version  0.1.0",
		"state    running",
		"uptime   1d 01:01:0", /* :01, or :02 when a second ticked */
		"pid      ",
		"config   /etc/sipring/sipring.yaml",
		"listen   udp:0.0.0.0:5060, tcp:0.0.0.0:5060",
		"workers  2",
		"",
		"worker  cpu   port  received  sent  parse errors  tcp   busy",
		"0         2  40000      1234  1200             0    4  12.3%",
		"1         3  40001        99    98             3    0   0.5%",
		"total                   1333  1298             3    4",
		"",
		"drops    7",
	};
	struct run r;
	char *line, *save = NULL;
	size_t i = 0;

	run(&r, (const char *[]){ "--url", url, NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_empty(r.err);
	for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		while (i < sizeof(want) / sizeof(want[0]) && want[i][0] == '\0')
			i++; /* strtok_r skips empty lines */
		cr_assert_lt(i, sizeof(want) / sizeof(want[0]), "extra line '%s'", line);
		cr_assert(strncmp(line, want[i], strlen(want[i])) == 0, "line %zu: '%s', not '%s'",
			  i, line, want[i]);
		if (strncmp(want[i], "pid", 3) == 0)
			cr_assert_eq(atoi(line + 9), getpid());
		i++;
	}
	cr_assert_eq(i, sizeof(want) / sizeof(want[0]));
	run_free(&r);
}

Test(status, json)
{
	struct run r;
	cJSON *j, *w;

	char opt[80];

	/* --url=URL, and a trailing '/' */
	snprintf(opt, sizeof(opt), "--url=%s/", url);
	run(&r, (const char *[]){ "--json", opt, NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_empty(r.err);
	/* Pretty-printed: one member a line, tab-indented. */
	cr_assert(strncmp(r.out, "{\n\t\"version\":\t\"0.1.0\",\n", 22) == 0, "%s", r.out);
	j = cJSON_Parse(r.out);
	cr_assert_not_null(j);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "node")->valuestring, "sip-a");
	w = cJSON_GetObjectItem(j, "workers");
	cr_assert_eq(cJSON_GetArraySize(w), 2);
	cr_assert_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(w, 0), "messages_received")->valueint,
		     1234);
	cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "totals"), "drops")->valueint, 7);
	cJSON_Delete(j);
	run_free(&r);
}

/* -c: the endpoint of the configuration's http.listen. */
static char *write_config(const char *text)
{
	static char path[64];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/sipring-cmdstatus-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

Test(status, config)
{
	char yaml[128], want[256], *path;
	struct run r;

	snprintf(yaml, sizeof(yaml), "http:\n  listen: 127.0.0.1:%u\n", mgmt_port(m));
	path = write_config(yaml);
	run(&r, (const char *[]){ "-c", path, NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strncmp(r.out, "node     sip-a\n", 15) == 0, "%s", r.out);
	run_free(&r);
	unlink(path);

	/* 0.0.0.0 means this host: asked at 127.0.0.1. */
	snprintf(yaml, sizeof(yaml), "http:\n  listen: 0.0.0.0:%u\n", mgmt_port(m));
	path = write_config(yaml);
	run(&r, (const char *[]){ "--config", path, "--json", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	unlink(path);

	path = write_config("http:\n  listen: off\n");
	run(&r, (const char *[]){ "-c", path, NULL });
	cr_assert_eq(r.status, 2);
	snprintf(want, sizeof(want),
		 "sipringctl status: %s: http.listen is off: the management endpoint is disabled\n",
		 path);
	cr_assert_str_eq(r.err, want);
	cr_assert_str_empty(r.out);
	run_free(&r);
	unlink(path);

	run(&r, (const char *[]){ "-c", "/nonexistent/sipring.yaml", NULL });
	cr_assert_eq(r.status, 2);
	cr_assert(strncmp(r.err, "sipringctl status: ", 19) == 0, "%s", r.err);
	cr_assert_not_null(strstr(r.err, "/nonexistent/sipring.yaml"), "%s", r.err);
	run_free(&r);
}

/* The daemon answers 404: exit 1 with its error. */
Test(status, http_error)
{
	struct run r;
	char want[256], opt[96];

	snprintf(opt, sizeof(opt), "%s/prefix", url);
	run(&r, (const char *[]){ "--url", opt, NULL });
	cr_assert_eq(r.status, 1);
	snprintf(want, sizeof(want),
		 "sipringctl status: %s/api/v1/status: HTTP 404: no such endpoint: "
		 "/prefix/api/v1/status\n",
		 opt);
	cr_assert_str_eq(r.err, want);
	cr_assert_str_empty(r.out);
	run_free(&r);
}

static void start6(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	start_at((struct sockaddr *)&a, sizeof(a));
	snprintf(url, sizeof(url), "http://[::1]:%u", mgmt_port(m));
}

Test(status6, ipv6, .init = start6, .fini = stop)
{
	struct run r;

	run(&r, (const char *[]){ "--url", url, NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strncmp(r.out, "node     sip-a\n", 15) == 0, "%s", r.out);
	run_free(&r);
}

/* ---- errors without a daemon ---- */

/* A port nothing listens on: bound once, then closed. */
static uint16_t dead_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);
	return ntohs(a.sin_port);
}

Test(errors, unreachable)
{
	char opt[64], want[256];
	uint16_t port = dead_port();
	struct run r;

	snprintf(opt, sizeof(opt), "http://127.0.0.1:%u", port);
	run(&r, (const char *[]){ "--url", opt, NULL });
	cr_assert_eq(r.status, 1);
	snprintf(want, sizeof(want),
		 "sipringctl status: cannot connect to 127.0.0.1:%u: Connection refused" HINT "\n",
		 port);
	cr_assert_str_eq(r.err, want);
	cr_assert_str_empty(r.out);
	run_free(&r);
}

Test(errors, bad_url)
{
	static const char *const bad[] = {
		"https://127.0.0.1:8080", "ftp://127.0.0.1",	     "http://",
		"http://:8080",		  "http://127.0.0.1:0",	     "http://127.0.0.1:65536",
		"http://127.0.0.1:80a",	  "http://127.0.0.1:",	     "http://[::1:8080",
		"http://[nothex]:8080",	  "http://127.0.0.1:8080?x", "http://a b",
	};
	struct run r;
	char want[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		run(&r, (const char *[]){ "--url", bad[i], NULL });
		cr_assert_eq(r.status, 2, "%s", bad[i]);
		snprintf(want, sizeof(want),
			 "sipringctl status: --url takes http://HOST:PORT, not '%s'\n"
			 "usage: sipringctl status " CMD_STATUS_ARGS "\n",
			 bad[i]);
		cr_assert_str_eq(r.err, want);
		cr_assert_str_empty(r.out);
		run_free(&r);
	}
}

Test(errors, usage)
{
	static const struct {
		const char *args[6];
		const char *err;
	} t[] = {
		{ { "--bogus" }, "unknown option '--bogus'" },
		{ { "extra" }, "unexpected argument 'extra'" },
		{ { "--url" }, "missing value for '--url'" },
		{ { "-c" }, "missing value for '-c'" },
		{ { "-c", "x.yaml", "--url", "http://h:1" },
		  "give one of -c and --url, not both: "
		  "'http://h:1'" },
		{ { "--url", "http://a:1", "--url=http://b:2" },
		  "given twice: '--url=http://b:2'" },
	};
	struct run r;
	char want[256];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		run(&r, t[i].args);
		cr_assert_eq(r.status, 2, "%s", t[i].err);
		snprintf(want, sizeof(want),
			 "sipringctl status: %s\nusage: sipringctl status " CMD_STATUS_ARGS "\n",
			 t[i].err);
		cr_assert_str_eq(r.err, want);
		cr_assert_str_empty(r.out);
		run_free(&r);
	}
	run(&r, (const char *[]){ "--help", NULL });
	cr_assert_eq(r.status, 0);
	cr_assert(strncmp(r.out, "usage: sipringctl status " CMD_STATUS_ARGS "\n", 25) == 0);
	cr_assert_not_null(strstr(r.out, "exit status:"));
	cr_assert_str_empty(r.err);
	run_free(&r);
}

/* ---- the HTTP client against canned answers ---- */

struct canned {
	const char *const *parts; /* written one by one, 20 ms apart; NULL-terminated */
	bool silent;		  /* read the request and never answer */
	int lfd;
	char request[1024];
};

static void *serve(void *arg)
{
	struct canned *c = arg;
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
	} else {
		for (const char *const *p = c->parts; *p; p++) {
			send(fd, *p, strlen(*p), MSG_NOSIGNAL);
			usleep(20 * 1000);
		}
	}
	close(fd);
	return NULL;
}

/* GET /api/v1/status from a server that writes c->parts; returns cmd_status_get()'s value. */
static int fetch(struct canned *c, struct cmd_status_resp *resp, char *err, size_t errlen)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	pthread_t t;
	char u[64];
	int r;

	c->lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(bind(c->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(c->lfd, 1), 0);
	cr_assert_eq(getsockname(c->lfd, (struct sockaddr *)&a, &al), 0);
	cr_assert_eq(pthread_create(&t, NULL, serve, c), 0);
	snprintf(u, sizeof(u), "127.0.0.1:%u", ntohs(a.sin_port));
	r = cmd_status_get(u, "/api/v1/status", resp, err, errlen);
	pthread_join(t, NULL);
	close(c->lfd);
	return r;
}

Test(http, chunked)
{
	/* Split in the middle of a size, a CRLF and the data; an extension; a trailer. */
	static const char *const parts[] = { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
					     "Content-Type: application/json\r\n\r\n1",
					     "3;ext=1\r\n{\"version\":\"0.", "1.0\"}\r",
					     "\n4\r\n    \r\n0\r\nX-Trailer: 1\r\n\r\n", NULL };
	struct canned c = { .parts = parts };
	struct cmd_status_resp resp;
	char err[256] = "";

	cr_assert_eq(fetch(&c, &resp, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(resp.status, 200);
	cr_assert_eq(resp.len, 23);
	cr_assert_str_eq(resp.body, "{\"version\":\"0.1.0\"}    ");
	free(resp.body);
	/* The request: one GET, Host with the port, the connection closed after. */
	cr_assert(strncmp(c.request, "GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:", 45) == 0,
		  "%s", c.request);
	cr_assert_not_null(strstr(c.request, "\r\nConnection: close\r\n"));
}

/* cmd_status_request(): another method, and a JSON body after the head. */
Test(http, request_with_body)
{
	static const char *const parts[] = { "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n"
					     "{\"removed\":1}",
					     NULL };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	static const char body[] = "{\"contact\":\"<sip:a@b>\"}"; /* 23 octets */
	static const char want_line[] = "DELETE /base/api/v1/registrations/a%40b HTTP/1.1\r\n";
	socklen_t al = sizeof(a);
	struct canned c = { .parts = parts };
	struct cmd_status_resp resp;
	char u[64], err[256] = "";
	pthread_t t;
	int r;

	c.lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(bind(c.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(c.lfd, 1), 0);
	cr_assert_eq(getsockname(c.lfd, (struct sockaddr *)&a, &al), 0);
	cr_assert_eq(pthread_create(&t, NULL, serve, &c), 0);
	snprintf(u, sizeof(u), "http://127.0.0.1:%u/base", ntohs(a.sin_port));
	r = cmd_status_request(u, "DELETE", "/api/v1/registrations/a%40b", body, strlen(body),
			       &resp, err, sizeof(err));
	pthread_join(t, NULL);
	close(c.lfd);
	cr_assert_eq(r, 0, "%s", err);
	cr_assert(resp.connected);
	cr_assert_eq(resp.status, 200);
	cr_assert_str_eq(resp.body, "{\"removed\":1}");
	free(resp.body);
	cr_assert(strncmp(c.request, want_line, strlen(want_line)) == 0, "%s", c.request);
	cr_assert_not_null(strstr(c.request, "\r\nContent-Type: application/json\r\n"));
	cr_assert_not_null(strstr(c.request, "\r\nContent-Length: 23\r\n"), "%s", c.request);
	/* serve() stops reading at the end of the head: the body may or may not be there. */
}

Test(http, length_and_interim)
{
	static const char *const parts[] = { "HTTP/1.1 100 Continue\r\n\r\n",
					     "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab",
					     "cde", NULL };
	struct canned c = { .parts = parts };
	struct cmd_status_resp resp;
	char err[256] = "";

	cr_assert_eq(fetch(&c, &resp, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(resp.status, 200);
	cr_assert_str_eq(resp.body, "abcde");
	free(resp.body);
}

Test(http, close_delimited)
{
	static const char *const parts[] = { "HTTP/1.0 200 OK\r\n\r\n{\"a\":", "1}", NULL };
	struct canned c = { .parts = parts };
	struct cmd_status_resp resp;
	char err[256] = "";

	cr_assert_eq(fetch(&c, &resp, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(resp.body, "{\"a\":1}");
	free(resp.body);
}

Test(http, malformed)
{
	static const char *const cut[] = { "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
					   NULL };
	static const char *const junk[] = { "SIP/2.0 200 OK\r\n\r\n", NULL };
	static const char *const badchunk[] = {
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", NULL
	};
	static const char *const twolen[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", NULL
	};
	const char *const *cases[] = { cut, junk, badchunk, twolen };
	struct cmd_status_resp resp;
	char err[256], want[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct canned c = { .parts = cases[i] };

		cr_assert_eq(fetch(&c, &resp, err, sizeof(err)), -EBADMSG, "case %zu", i);
		cr_assert_null(resp.body);
		cr_assert_not_null(strstr(err, ": the answer is not HTTP, or is cut short"), "%s",
				   err);
	}
	{
		struct canned c = { .parts = (const char *const[]){
					    "HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n",
					    NULL } };

		cr_assert_eq(fetch(&c, &resp, err, sizeof(err)), -E2BIG);
		snprintf(want, sizeof(want), "the answer is larger than %u octets",
			 CMD_STATUS_MAX_BODY);
		cr_assert_not_null(strstr(err, want), "%s", err);
	}
}

Test(http, silent, .timeout = 20)
{
	struct canned c = { .silent = true };
	struct cmd_status_resp resp;
	struct timespec t0, t1;
	char err[256];
	double s;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(fetch(&c, &resp, err, sizeof(err)), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_assert(s >= 1.9, "gave up after %.2f s", s);
	cr_assert_not_null(strstr(err, ": no answer within 2000 ms"), "%s", err);
}

/* The status command on an answer that is not its JSON: exit 1. */
Test(http, not_status_json)
{
	static const char *const parts[] = { "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
					     NULL };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	struct canned c = { .parts = parts };
	char u[64], want[160];
	struct run r;
	pthread_t t;

	c.lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(bind(c.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(c.lfd, 1), 0);
	cr_assert_eq(getsockname(c.lfd, (struct sockaddr *)&a, &al), 0);
	cr_assert_eq(pthread_create(&t, NULL, serve, &c), 0);
	snprintf(u, sizeof(u), "http://127.0.0.1:%u", ntohs(a.sin_port));
	run(&r, (const char *[]){ "--url", u, NULL });
	pthread_join(t, NULL);
	close(c.lfd);
	cr_assert_eq(r.status, 1);
	snprintf(want, sizeof(want),
		 "sipringctl status: %s/api/v1/status: the answer is not sipring's status JSON\n",
		 u);
	cr_assert_str_eq(r.err, want);
	run_free(&r);
}
