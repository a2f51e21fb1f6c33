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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cmd_status.h"
#include "cli_fixture.h"
#include "core/mgmt.h"
#include "core/stats.h"

#define HINT " (is sipring running? http.listen in the config)"

static const struct cli_cmd status = { "status", cmd_status_run };

/* ---- an endpoint in-process ---- */

static struct stats workers[2];
static struct stats_node node;
static struct cli_endpoint ep;
static const char *const url = ep.url;

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

static void start_at(const struct sockaddr *a, socklen_t al)
{
	struct mgmt_source src = { .workers = workers,
				   .nworkers = 2,
				   .node = &node,
				   .version = "0.1.0",
				   .status_json = add_daemon_fields };

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
	cli_endpoint_open_at(&ep, a, al, &src);
	cli_endpoint_run(&ep);
}

static void start4(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	start_at((struct sockaddr *)&a, sizeof(a));
}

static void stop(void)
{
	cli_endpoint_stop(&ep);
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
	struct cli_run r;
	char *line, *save = NULL;
	size_t i = 0;

	cli_run(&r, &status, (const char *[]){ "--url", url, NULL });
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
	cli_run_free(&r);
}

Test(status, json)
{
	struct cli_run r;
	cJSON *j, *w;

	char opt[80];

	/* --url=URL, and a trailing '/' */
	snprintf(opt, sizeof(opt), "--url=%s/", url);
	cli_run(&r, &status, (const char *[]){ "--json", opt, NULL });
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
	cli_run_free(&r);
}

/* -c: the endpoint of the configuration's http.listen. */
Test(status, config)
{
	char path[64], want[256];
	struct cli_run r;

	cli_config(path, sizeof(path), "http:\n  listen: 127.0.0.1:%u\n", mgmt_port(ep.m));
	cli_run(&r, &status, (const char *[]){ "-c", path, NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strncmp(r.out, "node     sip-a\n", 15) == 0, "%s", r.out);
	cli_run_free(&r);
	unlink(path);

	/* 0.0.0.0 means this host: asked at 127.0.0.1. */
	cli_config(path, sizeof(path), "http:\n  listen: 0.0.0.0:%u\n", mgmt_port(ep.m));
	cli_run(&r, &status, (const char *[]){ "--config", path, "--json", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cli_run_free(&r);
	unlink(path);

	cli_config(path, sizeof(path), "http:\n  listen: off\n");
	cli_run(&r, &status, (const char *[]){ "-c", path, NULL });
	cr_assert_eq(r.status, 2);
	snprintf(want, sizeof(want),
		 "sipringctl status: %s: http.listen is off: the management endpoint is disabled\n",
		 path);
	cr_assert_str_eq(r.err, want);
	cr_assert_str_empty(r.out);
	cli_run_free(&r);
	unlink(path);

	cli_run(&r, &status, (const char *[]){ "-c", "/nonexistent/sipring.yaml", NULL });
	cr_assert_eq(r.status, 2);
	cr_assert(strncmp(r.err, "sipringctl status: ", 19) == 0, "%s", r.err);
	cr_assert_not_null(strstr(r.err, "/nonexistent/sipring.yaml"), "%s", r.err);
	cli_run_free(&r);
}

/* The daemon answers 404: exit 1 with its error. */
Test(status, http_error)
{
	struct cli_run r;
	char want[256], opt[96];

	snprintf(opt, sizeof(opt), "%s/prefix", url);
	cli_run(&r, &status, (const char *[]){ "--url", opt, NULL });
	cr_assert_eq(r.status, 1);
	snprintf(want, sizeof(want),
		 "sipringctl status: %s/api/v1/status: HTTP 404: no such endpoint: "
		 "/prefix/api/v1/status\n",
		 opt);
	cr_assert_str_eq(r.err, want);
	cr_assert_str_empty(r.out);
	cli_run_free(&r);
}

static void start6(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	start_at((struct sockaddr *)&a, sizeof(a));
}

Test(status6, ipv6, .init = start6, .fini = stop)
{
	struct cli_run r;

	cli_run(&r, &status, (const char *[]){ "--url", url, NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strncmp(r.out, "node     sip-a\n", 15) == 0, "%s", r.out);
	cli_run_free(&r);
}

/* ---- errors without a daemon ---- */

Test(errors, unreachable)
{
	char opt[64], want[256];
	uint16_t port = cli_dead_port();
	struct cli_run r;

	snprintf(opt, sizeof(opt), "http://127.0.0.1:%u", port);
	cli_run(&r, &status, (const char *[]){ "--url", opt, NULL });
	cr_assert_eq(r.status, 1);
	snprintf(want, sizeof(want),
		 "sipringctl status: cannot connect to 127.0.0.1:%u: Connection refused" HINT "\n",
		 port);
	cr_assert_str_eq(r.err, want);
	cr_assert_str_empty(r.out);
	cli_run_free(&r);
}

Test(errors, bad_url)
{
	static const char *const bad[] = {
		"https://127.0.0.1:8080", "ftp://127.0.0.1",	     "http://",
		"http://:8080",		  "http://127.0.0.1:0",	     "http://127.0.0.1:65536",
		"http://127.0.0.1:80a",	  "http://127.0.0.1:",	     "http://[::1:8080",
		"http://[nothex]:8080",	  "http://127.0.0.1:8080?x", "http://a b",
	};
	struct cli_run r;
	char want[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cli_run(&r, &status, (const char *[]){ "--url", bad[i], NULL });
		cr_assert_eq(r.status, 2, "%s", bad[i]);
		snprintf(want, sizeof(want),
			 "sipringctl status: --url takes http://HOST:PORT, not '%s'\n"
			 "usage: sipringctl status " CMD_STATUS_ARGS "\n",
			 bad[i]);
		cr_assert_str_eq(r.err, want);
		cr_assert_str_empty(r.out);
		cli_run_free(&r);
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
	struct cli_run r;
	char want[256];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cli_run(&r, &status, t[i].args);
		cr_assert_eq(r.status, 2, "%s", t[i].err);
		snprintf(want, sizeof(want),
			 "sipringctl status: %s\nusage: sipringctl status " CMD_STATUS_ARGS "\n",
			 t[i].err);
		cr_assert_str_eq(r.err, want);
		cr_assert_str_empty(r.out);
		cli_run_free(&r);
	}
	cli_run(&r, &status, (const char *[]){ "--help", NULL });
	cr_assert_eq(r.status, 0);
	cr_assert(strncmp(r.out, "usage: sipringctl status " CMD_STATUS_ARGS "\n", 25) == 0);
	cr_assert_not_null(strstr(r.out, "exit status:"));
	cr_assert_str_empty(r.err);
	cli_run_free(&r);
}

/* ---- the HTTP client against canned answers ---- */

/* GET /api/v1/status from a server that writes c->parts; returns cmd_status_get()'s value. */
static int fetch(struct cli_canned *c, struct cmd_status_resp *resp, char *err, size_t errlen)
{
	char u[64];
	int r;

	cli_canned_start(c);
	snprintf(u, sizeof(u), "127.0.0.1:%u", c->port);
	r = cmd_status_get(u, "/api/v1/status", resp, err, errlen);
	cli_canned_wait(c);
	return r;
}

Test(http, chunked)
{
	/* Split in the middle of a size, a CRLF and the data; an extension; a trailer. */
	static const char *const parts[] = { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
					     "Content-Type: application/json\r\n\r\n1",
					     "3;ext=1\r\n{\"version\":\"0.", "1.0\"}\r",
					     "\n4\r\n    \r\n0\r\nX-Trailer: 1\r\n\r\n", NULL };
	struct cli_canned c = { .parts = parts };
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
	static const char body[] = "{\"contact\":\"<sip:a@b>\"}"; /* 23 octets */
	static const char want_line[] = "DELETE /base/api/v1/registrations/a%40b HTTP/1.1\r\n";
	struct cli_canned c = { .parts = parts };
	struct cmd_status_resp resp;
	char u[96], err[256] = "";
	int r;

	cli_canned_start(&c);
	snprintf(u, sizeof(u), "%s/base", c.url);
	r = cmd_status_request(u, "DELETE", "/api/v1/registrations/a%40b", body, strlen(body),
			       &resp, err, sizeof(err));
	cli_canned_wait(&c);
	cr_assert_eq(r, 0, "%s", err);
	cr_assert(resp.connected);
	cr_assert_eq(resp.status, 200);
	cr_assert_str_eq(resp.body, "{\"removed\":1}");
	free(resp.body);
	cr_assert(strncmp(c.request, want_line, strlen(want_line)) == 0, "%s", c.request);
	cr_assert_not_null(strstr(c.request, "\r\nContent-Type: application/json\r\n"));
	cr_assert_not_null(strstr(c.request, "\r\nContent-Length: 23\r\n"), "%s", c.request);
	/* The server stops reading at the end of the head: the body may or may not be there. */
}

Test(http, length_and_interim)
{
	static const char *const parts[] = { "HTTP/1.1 100 Continue\r\n\r\n",
					     "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab",
					     "cde", NULL };
	struct cli_canned c = { .parts = parts };
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
	struct cli_canned c = { .parts = parts };
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
		struct cli_canned c = { .parts = cases[i] };

		cr_assert_eq(fetch(&c, &resp, err, sizeof(err)), -EBADMSG, "case %zu", i);
		cr_assert_null(resp.body);
		cr_assert_not_null(strstr(err, ": the answer is not HTTP, or is cut short"), "%s",
				   err);
	}
	{
		struct cli_canned c = {
			.parts =
				(const char *const[]){
					"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n",
					NULL }
		};

		cr_assert_eq(fetch(&c, &resp, err, sizeof(err)), -E2BIG);
		snprintf(want, sizeof(want), "the answer is larger than %u octets",
			 CMD_STATUS_MAX_BODY);
		cr_assert_not_null(strstr(err, want), "%s", err);
	}
}

Test(http, silent, .timeout = 20)
{
	struct cli_canned c = { .silent = true };
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
	struct cli_canned c = { .parts = parts };
	char want[160];
	struct cli_run r;

	cli_run_canned(&c, &status, &r, (const char *[]){ NULL });
	cr_assert_eq(r.status, 1);
	snprintf(want, sizeof(want),
		 "sipringctl status: %s/api/v1/status: the answer is not sipring's status JSON\n",
		 c.url);
	cr_assert_str_eq(r.err, want);
	cli_run_free(&r);
}
