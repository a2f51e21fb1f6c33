/* SPDX-License-Identifier: MIT */
/*
 * Tests of core/mgmt.h: the Prometheus text (exact series, a format checker in
 * place of promtool, label escaping, the utilisation gauge), /api/v1/status
 * and its hook, 404/405/413, routes, the bind error. The endpoint listens on
 * 127.0.0.1 port 0 and is driven by a loop thread as the service thread would
 * drive it; requests are raw HTTP/1.1 over a socket.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <ctype.h>
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

#include "core/api_json.h"
#include "core/mgmt.h"
#include "core/stats.h"

/* ---- fixture: two workers' counters, an endpoint and its loop thread ---- */

static struct stats workers[2];
static struct stats_node node;
static struct mgmt *m;
static pthread_t loop_thread;
static int stop_loop;
static int hook_calls;

static void hook(void *arg, cJSON *root)
{
	cJSON *w;

	__atomic_add_fetch(&hook_calls, 1, __ATOMIC_RELAXED);
	cJSON_AddStringToObject(root, "node", (const char *)arg);
	cJSON_AddStringToObject(root, "state", "running");
	cJSON_ArrayForEach(w, cJSON_GetObjectItem(root, "workers"))
		cJSON_AddNumberToObject(w, "cpu", 10 + cJSON_GetObjectItem(w, "id")->valueint);
}

static struct mgmt_source source(const char *version)
{
	return (struct mgmt_source){ .workers = workers,
				     .nworkers = 2,
				     .node = &node,
				     .version = version,
				     .status_json = hook,
				     .arg = (void *)"node-a" };
}

static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
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

static void start(void)
{
	struct mgmt_source src = source("0.1.0");
	struct sockaddr_in a = loopback(0);
	char err[256];

	memset(workers, 0, sizeof(workers));
	memset(&node, 0, sizeof(node));
	hook_calls = 0;
	stop_loop = 0;
	cr_assert_eq(mgmt_start(&m, (struct sockaddr *)&a, sizeof(a), &src, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_neq(mgmt_port(m), 0);
	cr_assert_geq(mgmt_poll_fd(m), 0);
}

static void run_loop(void)
{
	cr_assert_eq(pthread_create(&loop_thread, NULL, loop, NULL), 0);
}

static void teardown(void)
{
	__atomic_store_n(&stop_loop, 1, __ATOMIC_RELEASE);
	pthread_join(loop_thread, NULL);
	mgmt_stop(m);
	m = NULL;
}

static void setup(void)
{
	start();
	run_loop();
}

/* ---- a raw HTTP/1.1 client ---- */

struct resp {
	int status;
	char head[4096];
	char *body; /* NUL-terminated */
	size_t len;
};

static int dial(uint16_t port)
{
	struct sockaddr_in a = loopback(port);
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "%s", strerror(errno));
	return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		cr_assert_gt(w, 0, "send: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
}

/* One response from fd: the head, then Content-Length octets of body. */
static void read_resp(int fd, struct resp *r)
{
	static char buf[1 << 20];
	size_t have = 0, need = SIZE_MAX, hl = 0;
	char *cl;

	memset(r, 0, sizeof(*r));
	while (have < need) {
		ssize_t n = recv(fd, buf + have, sizeof(buf) - have - 1, 0);

		cr_assert_gt(n, 0, "recv: %zd %s (have %zu)", n, strerror(errno), have);
		have += (size_t)n;
		buf[have] = '\0';
		if (!hl) {
			char *e = strstr(buf, "\r\n\r\n");

			if (!e)
				continue;
			hl = (size_t)(e - buf) + 4;
			cr_assert_lt(hl, sizeof(r->head));
			memcpy(r->head, buf, hl);
			r->head[hl] = '\0';
			cl = strcasestr(r->head, "\r\nContent-Length:");
			if (strncmp(r->head, "HTTP/1.1 204 ", 13) == 0) {
				cr_assert_null(cl, "a 204 with a Content-Length");
				need = hl;
				continue;
			}
			cr_assert_not_null(cl, "no Content-Length in\n%s", r->head);
			need = hl + strtoul(cl + 17, NULL, 10);
		}
	}
	cr_assert_eq(have, need, "octets after the body");
	cr_assert_eq(sscanf(r->head, "HTTP/1.1 %d ", &r->status), 1, "%s", r->head);
	r->len = need - hl;
	r->body = malloc(r->len + 1);
	memcpy(r->body, buf + hl, r->len);
	r->body[r->len] = '\0';
}

static void http(const char *method, const char *path, const char *body, size_t body_len,
		 struct resp *r)
{
	char req[512];
	int fd = dial(mgmt_port(m));
	int n = snprintf(req, sizeof(req),
			 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
			 "Content-Length: %zu\r\n\r\n",
			 method, path, body_len);

	send_all(fd, req, (size_t)n);
	if (body_len)
		send_all(fd, body, body_len);
	read_resp(fd, r);
	close(fd);
}

static void get(const char *path, struct resp *r)
{
	http("GET", path, NULL, 0, r);
}

/* The value of header name in r->head, or NULL. */
static const char *header(struct resp *r, const char *name)
{
	static char v[256];
	char key[64];
	const char *p, *e;

	snprintf(key, sizeof(key), "\r\n%s:", name);
	p = strcasestr(r->head, key);
	if (!p)
		return NULL;
	p += strlen(key);
	while (*p == ' ')
		p++;
	e = strstr(p, "\r\n");
	snprintf(v, sizeof(v), "%.*s", (int)(e - p), p);
	return v;
}

static cJSON *json_body(struct resp *r)
{
	cJSON *j = cJSON_Parse(r->body);

	cr_assert_not_null(j, "not JSON: %s", r->body);
	return j;
}

/* The whole line "series value\n" is in text. */
static void has_line(const char *text, const char *line)
{
	char want[256];
	size_t n = (size_t)snprintf(want, sizeof(want), "\n%s\n", line);
	const char *p = text;

	/* The first line has no \n before it. */
	if (strncmp(text, want + 1, n - 1) == 0)
		return;
	cr_assert_not_null(strstr(p, want), "missing line '%s' in:\n%s", line, text);
}

static void lacks(const char *text, const char *part)
{
	cr_assert_null(strstr(text, part), "unexpected '%s' in:\n%s", part, text);
}

/* ---- the format checker (in place of promtool check metrics) ---- */

static const char *const families[][2] = {
	{ "sipring_build_info", "gauge" },
	{ "sipring_start_time_seconds", "gauge" },
	{ "sipring_workers", "gauge" },
	{ "sipring_messages_received_total", "counter" },
	{ "sipring_bytes_received_total", "counter" },
	{ "sipring_messages_sent_total", "counter" },
	{ "sipring_bytes_sent_total", "counter" },
	{ "sipring_send_errors_total", "counter" },
	{ "sipring_requests_received_total", "counter" },
	{ "sipring_responses_received_total", "counter" },
	{ "sipring_responses_sent_total", "counter" },
	{ "sipring_parse_errors_total", "counter" },
	{ "sipring_drops_total", "counter" },
	{ "sipring_keepalives_received_total", "counter" },
	{ "sipring_handover_total", "counter" },
	{ "sipring_tcp_connections_accepted_total", "counter" },
	{ "sipring_tcp_connections_closed_total", "counter" },
	{ "sipring_tcp_connections_idle_closed_total", "counter" },
	{ "sipring_tcp_connections_refused_total", "counter" },
	{ "sipring_tcp_connections", "gauge" },
	{ "sipring_worker_busy_seconds_total", "counter" },
	{ "sipring_worker_seconds_total", "counter" },
	{ "sipring_worker_loop_iterations_total", "counter" },
	{ "sipring_worker_loop_utilisation", "gauge" },
	{ "sipring_config_reloads_total", "counter" },
	{ "sipring_stopping", "gauge" },
	{ "sipring_trace_messages_total", "counter" },
	{ "sipring_trace_drops_total", "counter" },
	{ "sipring_registrations_total", "counter" },
	{ "sipring_registrar_queue_full_total", "counter" },
	{ "sipring_location_aors", "gauge" },
	{ "sipring_location_bindings", "gauge" },
	{ "sipring_location_expired_total", "counter" },
	{ "sipring_location_changes_total", "counter" },
	{ "sipring_location_redis_connected", "gauge" },
	{ "sipring_keepalives_sent_total", "counter" },
	{ "sipring_location_keepalive_removed_total", "counter" },
	{ "sipring_uplinks", "gauge" },
	{ "sipring_uplink_registers_total", "counter" },
	{ "sipring_uplink_unregisters_total", "counter" },
	{ "sipring_uplink_requests_total", "counter" },
	{ "sipring_domains", "gauge" },
	{ "sipring_dns_queries_total", "counter" },
	{ "sipring_dns_failures_total", "counter" },
	{ "sipring_dns_redis_connected", "gauge" },
	{ "sipring_transactions", "gauge" },
	{ "sipring_transaction_retransmissions_total", "counter" },
	{ "sipring_transaction_timeouts_total", "counter" },
};
#define NFAM (sizeof(families) / sizeof(families[0]))

static size_t name_len(const char *p, bool label)
{
	size_t n = 0;

	while (isalpha((unsigned char)p[n]) || p[n] == '_' || (!label && p[n] == ':') ||
	       (n && isdigit((unsigned char)p[n])))
		n++;
	return n;
}

/*
 * Check text line by line: each "# HELP"/"# TYPE" once per family, TYPE
 * before the family's samples, which are contiguous; names match
 * [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*, label values
 * quoted with only \\, \" and \n escapes, no series twice; values parse as
 * floats; the text ends in a newline. Every family of families[] is there with
 * its type.
 */
static void check_format(const char *text)
{
	char typed[64][64] = { { 0 } }, helped[64][64] = { { 0 } }, cur[64] = "";
	char series[512][160];
	size_t ntyped = 0, nhelped = 0, nseries = 0;
	const char *line = text;

	cr_assert(text[0] && text[strlen(text) - 1] == '\n', "must end in a newline");
	while (*line) {
		const char *eol = strchr(line, '\n'), *p = line;
		size_t n;

		cr_assert_not_null(eol);
		if (strncmp(line, "# TYPE ", 7) == 0 || strncmp(line, "# HELP ", 7) == 0) {
			bool type = line[2] == 'T';
			char name[64];

			p += 7;
			n = name_len(p, false);
			cr_assert(n > 0 && n < sizeof(name) && p[n] == ' ', "bad line: %.*s",
				  (int)(eol - line), line);
			memcpy(name, p, n);
			name[n] = '\0';
			if (type) {
				const char *t = p + n + 1;

				cr_assert(strncmp(t, "counter\n", 8) == 0 ||
						  strncmp(t, "gauge\n", 6) == 0,
					  "type of %s", name);
				for (size_t i = 0; i < ntyped; i++)
					cr_assert_str_neq(typed[i], name, "TYPE twice: %s", name);
				strcpy(typed[ntyped++], name);
				strcpy(cur, name);
			} else {
				for (size_t i = 0; i < nhelped; i++)
					cr_assert_str_neq(helped[i], name, "HELP twice: %s", name);
				strcpy(helped[nhelped++], name);
				cr_assert_gt(eol - (p + n + 1), 0, "empty HELP for %s", name);
			}
		} else {
			char *end;

			cr_assert_neq(line[0], '#', "stray comment: %.*s", (int)(eol - line), line);
			n = name_len(p, false);
			cr_assert_gt(n, 0, "bad sample: %.*s", (int)(eol - line), line);
			/* The sample belongs to the family whose TYPE came last. */
			cr_assert(strlen(cur) == n && strncmp(cur, p, n) == 0,
				  "sample %.*s outside its family (TYPE %s)", (int)(eol - line),
				  line, cur);
			p += n;
			if (*p == '{') {
				p++;
				while (*p != '}') {
					size_t ln = name_len(p, true);

					cr_assert(ln > 0 && p[ln] == '=' && p[ln + 1] == '"',
						  "bad label in %.*s", (int)(eol - line), line);
					p += ln + 2;
					while (*p != '"') {
						cr_assert(*p != '\n' && *p != '\0');
						if (*p == '\\') {
							cr_assert(p[1] == '\\' || p[1] == '"' ||
								  p[1] == 'n');
							p++;
						}
						p++;
					}
					p++;
					if (*p == ',')
						p++;
					else
						cr_assert_eq(*p, '}');
				}
				p++;
			}
			cr_assert_lt((size_t)(p - line), sizeof(series[0]));
			snprintf(series[nseries], sizeof(series[0]), "%.*s", (int)(p - line), line);
			for (size_t i = 0; i < nseries; i++)
				cr_assert_str_neq(series[i], series[nseries], "series twice: %s",
						  series[i]);
			nseries++;
			cr_assert_eq(*p, ' ', "no value: %.*s", (int)(eol - line), line);
			p++;
			strtod(p, &end);
			cr_assert(end > p && end == eol, "bad value: %.*s", (int)(eol - line),
				  line);
		}
		line = eol + 1;
	}
	for (size_t f = 0; f < NFAM; f++) {
		char want[96];
		bool found = false;

		for (size_t i = 0; i < ntyped && !found; i++)
			found = strcmp(typed[i], families[f][0]) == 0;
		cr_assert(found, "no TYPE for %s", families[f][0]);
		found = false;
		for (size_t i = 0; i < nhelped && !found; i++)
			found = strcmp(helped[i], families[f][0]) == 0;
		cr_assert(found, "no HELP for %s", families[f][0]);
		snprintf(want, sizeof(want), "# TYPE %s %s\n", families[f][0], families[f][1]);
		cr_assert_not_null(strstr(text, want), "%s is not a %s", families[f][0],
				   families[f][1]);
	}
	cr_assert_eq(ntyped, NFAM, "families not in the test's list");
}

/* A few counters on both workers and the node. */
static void fill(void)
{
	STAT_ADD(&workers[0], rx_msgs, 10);
	STAT_ADD(&workers[1], rx_msgs, 32);
	STAT_ADD(&workers[0], rx_bytes, 5000);
	STAT_ADD(&workers[1], tx_msgs, 7);
	STAT_ADD(&workers[0], tx_bytes, 2100);
	STAT_ADD(&workers[1], tx_errors, 2);
	STAT_ADD(&workers[0], rx_requests[SIP_METHOD_OPTIONS], 3);
	STAT_ADD(&workers[1], rx_requests[SIP_METHOD_OPTIONS], 2);
	STAT_ADD(&workers[1], rx_requests[SIP_METHOD_INVITE], 4);
	STAT_ADD(&workers[0], rx_requests[SIP_METHOD_OTHER], 1);
	STAT_ADD(&workers[0], rx_responses[2], 6);
	STAT_ADD(&workers[1], rx_responses[4], 1);
	STAT_ADD(&workers[0], tx_responses[200], 4);
	STAT_ADD(&workers[1], tx_responses[200], 3);
	STAT_ADD(&workers[1], tx_responses[404], 1);
	STAT_ADD(&workers[0], parse_errors, 2);
	STAT_ADD(&workers[1], parse_errors, 1);
	STAT_ADD(&workers[0], drops[STATS_DROP_NOBUFS], 5);
	STAT_ADD(&workers[1], drops[STATS_DROP_ACK], 1);
	STAT_ADD(&workers[0], keepalives, 9);
	STAT_ADD(&workers[0], handover_out, 11);
	STAT_ADD(&workers[1], handover_in, 11);
	STAT_ADD(&workers[0], tcp_accepted, 4);
	STAT_ADD(&workers[1], tcp_accepted, 1);
	STAT_ADD(&workers[0], tcp_closed, 2);
	STAT_ADD(&workers[0], tcp_idle_closed, 1);
	STAT_ADD(&workers[1], tcp_refused, 3);
	STAT_SET(&workers[0], tcp_active, 2);
	STAT_SET(&workers[1], tcp_active, 1);
	STAT_SET(&workers[0], loop_busy_ns, 250000000);
	STAT_SET(&workers[0], loop_total_ns, 1000000000);
	STAT_SET(&workers[1], loop_busy_ns, 1500000000);
	STAT_SET(&workers[1], loop_total_ns, 2000000001);
	STAT_SET(&workers[1], loop_iterations, 77);
	STAT_ADD(&workers[1], trace_drops, 6);
	STAT_SET(&node, reloads_ok, 2);
	STAT_SET(&node, reloads_failed, 1);
	STAT_SET(&node, stopping, 0);
	STAT_SET(&node, started_unix, 1700000000);
	STAT_SET(&node, trace_written, 123);
}

/* ---- /metrics ---- */

TestSuite(mgmt, .init = setup, .fini = teardown);

Test(mgmt, metrics_series)
{
	struct resp r;

	fill();
	get("/metrics", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(header(&r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
	has_line(r.body, "sipring_build_info{version=\"0.1.0\"} 1");
	has_line(r.body, "sipring_start_time_seconds 1700000000");
	has_line(r.body, "sipring_workers 2");
	has_line(r.body, "sipring_messages_received_total{worker=\"0\"} 10");
	has_line(r.body, "sipring_messages_received_total{worker=\"1\"} 32");
	has_line(r.body, "sipring_bytes_received_total{worker=\"0\"} 5000");
	has_line(r.body, "sipring_bytes_received_total{worker=\"1\"} 0");
	has_line(r.body, "sipring_messages_sent_total{worker=\"1\"} 7");
	has_line(r.body, "sipring_bytes_sent_total{worker=\"0\"} 2100");
	has_line(r.body, "sipring_send_errors_total{worker=\"1\"} 2");
	/* 3 OPTIONS on worker 0 and 2 on worker 1. */
	has_line(r.body, "sipring_requests_received_total{method=\"OPTIONS\"} 5");
	has_line(r.body, "sipring_requests_received_total{method=\"INVITE\"} 4");
	has_line(r.body, "sipring_requests_received_total{method=\"OTHER\"} 1");
	/* Every method, even at 0. */
	has_line(r.body, "sipring_requests_received_total{method=\"PUBLISH\"} 0");
	has_line(r.body, "sipring_requests_received_total{method=\"ACK\"} 0");
	has_line(r.body, "sipring_responses_received_total{class=\"2xx\"} 6");
	has_line(r.body, "sipring_responses_received_total{class=\"4xx\"} 1");
	has_line(r.body, "sipring_responses_received_total{class=\"6xx\"} 0");
	lacks(r.body, "class=\"0xx\"");
	lacks(r.body, "class=\"7xx\"");
	/* Only codes sent. */
	has_line(r.body, "sipring_responses_sent_total{code=\"200\"} 7");
	has_line(r.body, "sipring_responses_sent_total{code=\"404\"} 1");
	lacks(r.body, "code=\"486\"");
	lacks(r.body, "code=\"100\"");
	has_line(r.body, "sipring_parse_errors_total 3");
	has_line(r.body, "sipring_drops_total{reason=\"parse\"} 0");
	has_line(r.body, "sipring_drops_total{reason=\"response\"} 0");
	has_line(r.body, "sipring_drops_total{reason=\"too_large\"} 0");
	has_line(r.body, "sipring_drops_total{reason=\"nobufs\"} 5");
	has_line(r.body, "sipring_drops_total{reason=\"stopping\"} 0");
	has_line(r.body, "sipring_drops_total{reason=\"ack\"} 1");
	has_line(r.body, "sipring_keepalives_received_total 9");
	has_line(r.body, "sipring_handover_total{direction=\"out\"} 11");
	has_line(r.body, "sipring_handover_total{direction=\"in\"} 11");
	has_line(r.body, "sipring_tcp_connections_accepted_total 5");
	has_line(r.body, "sipring_tcp_connections_closed_total 2");
	has_line(r.body, "sipring_tcp_connections_idle_closed_total 1");
	has_line(r.body, "sipring_tcp_connections_refused_total 3");
	has_line(r.body, "sipring_tcp_connections 3");
	has_line(r.body, "sipring_worker_busy_seconds_total{worker=\"0\"} 0.250000000");
	has_line(r.body, "sipring_worker_seconds_total{worker=\"1\"} 2.000000001");
	has_line(r.body, "sipring_worker_loop_iterations_total{worker=\"1\"} 77");
	has_line(r.body, "sipring_worker_loop_utilisation{worker=\"0\"} 0.250000");
	has_line(r.body, "sipring_config_reloads_total{result=\"ok\"} 2");
	has_line(r.body, "sipring_config_reloads_total{result=\"error\"} 1");
	has_line(r.body, "sipring_stopping 0");
	has_line(r.body, "sipring_trace_messages_total 123");
	has_line(r.body, "sipring_trace_drops_total 6");
	check_format(r.body);
	free(r.body);
}

Test(mgmt, metrics_head)
{
	int fd = dial(mgmt_port(m));
	static const char req[] = "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char buf[8192];
	size_t have = 0;
	ssize_t n;

	send_all(fd, req, sizeof(req) - 1);
	while ((n = recv(fd, buf + have, sizeof(buf) - have - 1, 0)) > 0)
		have += (size_t)n;
	buf[have] = '\0';
	close(fd);
	cr_assert(strncmp(buf, "HTTP/1.1 200 ", 13) == 0, "%s", buf);
	/* Headers only. */
	cr_assert_not_null(strstr(buf, "\r\n\r\n"));
	cr_assert_str_empty(strstr(buf, "\r\n\r\n") + 4);
}

Test(mgmt, metrics_format)
{
	struct mgmt_source src = source("0.1.0");
	char *text;
	size_t len;

	fill();
	cr_assert_eq(mgmt_render_metrics(&src, &text, &len), 0);
	cr_assert_eq(strlen(text), len);
	check_format(text);
	free(text);

	/* No workers and no node counters: every family still there, with zeros. */
	src = (struct mgmt_source){ .version = "0.1.0" };
	cr_assert_eq(mgmt_render_metrics(&src, &text, &len), 0);
	check_format(text);
	has_line(text, "sipring_workers 0");
	has_line(text, "sipring_start_time_seconds 0");
	lacks(text, "worker=");
	free(text);

	src.nworkers = 1; /* workers NULL */
	cr_assert_eq(mgmt_render_metrics(&src, &text, &len), -EINVAL);
}

Test(mgmt, label_escaping)
{
	struct mgmt_source src = source("1.0\"rc\\1\nx");
	char *text;
	size_t len;

	cr_assert_eq(mgmt_render_metrics(&src, &text, &len), 0);
	has_line(text, "sipring_build_info{version=\"1.0\\\"rc\\\\1\\nx\"} 1");
	check_format(text);
	free(text);
}

/* busy/total over the interval since the previous scrape; the first since start. */
Test(mgmt, utilisation)
{
	struct mgmt_source src = source("0.1.0");
	struct resp r;
	char *text;
	size_t len;

	STAT_SET(&workers[0], loop_busy_ns, 250000000);
	STAT_SET(&workers[0], loop_total_ns, 1000000000);
	STAT_SET(&workers[1], loop_busy_ns, 0);
	STAT_SET(&workers[1], loop_total_ns, 0);
	get("/metrics", &r);
	has_line(r.body, "sipring_worker_loop_utilisation{worker=\"0\"} 0.250000");
	has_line(r.body, "sipring_worker_loop_utilisation{worker=\"1\"} 0.000000");
	free(r.body);

	/* Worker 0: +0.9 s busy in +1 s. Worker 1: 3 of 4 s since its start. */
	STAT_SET(&workers[0], loop_busy_ns, 1150000000);
	STAT_SET(&workers[0], loop_total_ns, 2000000000);
	STAT_SET(&workers[1], loop_busy_ns, 3000000000);
	STAT_SET(&workers[1], loop_total_ns, 4000000000);
	get("/metrics", &r);
	has_line(r.body, "sipring_worker_loop_utilisation{worker=\"0\"} 0.900000");
	has_line(r.body, "sipring_worker_loop_utilisation{worker=\"1\"} 0.750000");
	free(r.body);

	/* No time passed: the last ratio stands. */
	get("/metrics", &r);
	has_line(r.body, "sipring_worker_loop_utilisation{worker=\"0\"} 0.900000");
	free(r.body);

	/* Worker 0 idle for 2 s; worker 1's busy clock read ahead of its total: 1. */
	STAT_SET(&workers[0], loop_total_ns, 4000000000);
	STAT_SET(&workers[1], loop_busy_ns, 5000000000);
	STAT_SET(&workers[1], loop_total_ns, 4500000000);
	get("/metrics", &r);
	has_line(r.body, "sipring_worker_loop_utilisation{worker=\"0\"} 0.000000");
	has_line(r.body, "sipring_worker_loop_utilisation{worker=\"1\"} 1.000000");
	free(r.body);

	/* mgmt_render_metrics() keeps no reading: since start. */
	cr_assert_eq(mgmt_render_metrics(&src, &text, &len), 0);
	has_line(text, "sipring_worker_loop_utilisation{worker=\"0\"} 0.287500");
	free(text);
}

/* ---- /api/v1/status ---- */

static double num(cJSON *o, const char *k)
{
	cJSON *v = cJSON_GetObjectItem(o, k);

	cr_assert(cJSON_IsNumber(v), "no number %s", k);
	return v->valuedouble;
}

Test(mgmt, status)
{
	struct resp r;
	cJSON *j, *w, *t;

	fill();
	STAT_SET(&node, started_unix, (uint64_t)time(NULL) - 100);
	get("/api/v1/status", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(header(&r, "Content-Type"), "application/json");
	j = json_body(&r);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "version")->valuestring, "0.1.0");
	cr_assert(num(j, "uptime_seconds") >= 100 && num(j, "uptime_seconds") < 200);
	cr_assert_eq(num(j, "pid"), (double)getpid());
	w = cJSON_GetObjectItem(j, "workers");
	cr_assert_eq(cJSON_GetArraySize(w), 2);
	cr_assert_eq(num(cJSON_GetArrayItem(w, 0), "id"), 0);
	cr_assert_eq(num(cJSON_GetArrayItem(w, 1), "id"), 1);
	cr_assert_eq(num(cJSON_GetArrayItem(w, 0), "messages_received"), 10);
	cr_assert_eq(num(cJSON_GetArrayItem(w, 1), "messages_received"), 32);
	cr_assert_eq(num(cJSON_GetArrayItem(w, 1), "messages_sent"), 7);
	cr_assert_eq(num(cJSON_GetArrayItem(w, 0), "parse_errors"), 2);
	cr_assert_eq(num(cJSON_GetArrayItem(w, 0), "tcp_connections"), 2);
	cr_assert_eq(num(cJSON_GetArrayItem(w, 0), "loop_utilisation"), 0.25);
	cr_assert_eq(num(cJSON_GetArrayItem(w, 1), "loop_utilisation"), 1500000000.0 / 2000000001);
	t = cJSON_GetObjectItem(j, "totals");
	cr_assert_eq(num(t, "messages_received"), 42);
	cr_assert_eq(num(t, "messages_sent"), 7);
	cr_assert_eq(num(t, "parse_errors"), 3);
	cr_assert_eq(num(t, "drops"), 6);
	/* What the hook added, at the top and in each worker. */
	cr_assert_eq(hook_calls, 1);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "node")->valuestring, "node-a");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "state")->valuestring, "running");
	cr_assert_eq(num(cJSON_GetArrayItem(w, 1), "cpu"), 11);
	cJSON_Delete(j);
	free(r.body);

	/* Its utilisation reading is its own: a scrape in between does not move it. */
	STAT_SET(&workers[0], loop_busy_ns, 1250000000);
	STAT_SET(&workers[0], loop_total_ns, 2000000000);
	get("/metrics", &r);
	has_line(r.body, "sipring_worker_loop_utilisation{worker=\"0\"} 0.625000");
	free(r.body);
	get("/api/v1/status", &r);
	j = json_body(&r);
	cr_assert_eq(
		num(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "workers"), 0), "loop_utilisation"),
		1.0);
	cr_assert_eq(hook_calls, 2);
	cJSON_Delete(j);
	free(r.body);
}

/* ---- errors ---- */

static void check_error(struct resp *r, int status, const char *msg)
{
	cJSON *j;

	cr_assert_eq(r->status, status, "%d: %s", r->status, r->body);
	cr_assert_str_eq(header(r, "Content-Type"), "application/json");
	j = json_body(r);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "error")->valuestring, msg);
	cJSON_Delete(j);
	free(r->body);
}

Test(mgmt, not_found_and_method)
{
	struct resp r;

	get("/nothing", &r);
	check_error(&r, 404, "no such endpoint: /nothing");
	get("/metrics/x", &r);
	check_error(&r, 404, "no such endpoint: /metrics/x");
	get("/api/v1/registrations", &r);
	check_error(&r, 404, "no such endpoint: /api/v1/registrations");
	get("/", &r);
	check_error(&r, 404, "no such endpoint: /");

	http("POST", "/metrics", "x", 1, &r);
	cr_assert_str_eq(header(&r, "Allow"), "GET, HEAD");
	check_error(&r, 405, "method not allowed: POST");
	http("DELETE", "/api/v1/status", NULL, 0, &r);
	cr_assert_str_eq(header(&r, "Allow"), "GET, HEAD");
	check_error(&r, 405, "method not allowed: DELETE");
}

/* Two requests on one kept-alive connection. */
Test(mgmt, keep_alive)
{
	static const char req[] = "GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n";
	struct resp r;
	int fd = dial(mgmt_port(m));

	for (int i = 0; i < 2; i++) {
		send_all(fd, req, sizeof(req) - 1);
		read_resp(fd, &r);
		cr_assert_eq(r.status, 200);
		free(r.body);
	}
	close(fd);
	cr_assert_eq(hook_calls, 2);
}

/* ---- routes ---- */

static int echo(void *arg, const char *method, const char *subpath, const char *body,
		size_t body_len, cJSON **out)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "route", (const char *)arg);
	cJSON_AddStringToObject(j, "method", method);
	cJSON_AddStringToObject(j, "subpath", subpath);
	cJSON_AddStringToObject(j, "body", body);
	cJSON_AddNumberToObject(j, "len", (double)body_len);
	cJSON_AddBoolToObject(j, "nul", body[body_len] == '\0');
	*out = j;
	return strcmp(method, "POST") == 0 ? 201 : 200;
}

static int empty(void *arg, const char *method, const char *subpath, const char *body,
		 size_t body_len, cJSON **out)
{
	(void)arg, (void)method, (void)subpath, (void)body, (void)body_len, (void)out;
	return 204;
}

static int broken(void *arg, const char *method, const char *subpath, const char *body,
		  size_t body_len, cJSON **out)
{
	(void)arg, (void)method, (void)subpath, (void)body, (void)body_len;
	*out = cJSON_CreateObject(); /* freed by mgmt even on a bad status */
	return 42;
}

static void routes_setup(void)
{
	start();
	cr_assert_eq(mgmt_route(m, "/api/v1/registrations", echo, (void *)"reg"), 0);
	cr_assert_eq(mgmt_route(m, "/api/v1/registrations/special", echo, (void *)"special"), 0);
	cr_assert_eq(mgmt_route(m, "/api/v1/empty", empty, NULL), 0);
	cr_assert_eq(mgmt_route(m, "/api/v1/broken", broken, NULL), 0);
	cr_assert_eq(mgmt_route(m, "/api/v1/registrations", echo, NULL), -EEXIST);
	cr_assert_eq(mgmt_route(m, "api/v1/x", echo, NULL), -EINVAL);
	cr_assert_eq(mgmt_route(m, "/api/v1/x/", echo, NULL), -EINVAL);
	cr_assert_eq(mgmt_route(m, "/", echo, NULL), -EINVAL);
	cr_assert_eq(mgmt_route(m, "/metrics", echo, NULL), -EINVAL);
	cr_assert_eq(mgmt_route(m, "/api/v1/status", echo, NULL), -EINVAL);
	cr_assert_eq(mgmt_route(m, "/api/v1/x", NULL, NULL), -EINVAL);
	run_loop();
}

static void check_echo(struct resp *r, int status, const char *route, const char *method,
		       const char *subpath, const char *body)
{
	cJSON *j;

	cr_assert_eq(r->status, status, "%d: %s", r->status, r->body);
	cr_assert_str_eq(header(r, "Content-Type"), "application/json");
	j = json_body(r);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "route")->valuestring, route);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "method")->valuestring, method);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "subpath")->valuestring, subpath);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "body")->valuestring, body);
	cr_assert_eq(num(j, "len"), (double)strlen(body));
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "nul")));
	cJSON_Delete(j);
	free(r->body);
}

Test(mgmt_routes, routes, .init = routes_setup, .fini = teardown)
{
	static const char body[] = "{\"aor\":\"sip:alice@example.com\",\"expires\":3600}";
	struct resp r;
	char *big;

	get("/api/v1/registrations", &r);
	check_echo(&r, 200, "reg", "GET", "", "");
	get("/api/v1/registrations/alice?x=1", &r);
	check_echo(&r, 200, "reg", "GET", "/alice", "");
	http("POST", "/api/v1/registrations", body, strlen(body), &r);
	check_echo(&r, 201, "reg", "POST", "", body);
	http("DELETE", "/api/v1/registrations/alice", NULL, 0, &r);
	check_echo(&r, 200, "reg", "DELETE", "/alice", "");
	/* The longest prefix wins, on whole segments. */
	get("/api/v1/registrations/special/1", &r);
	check_echo(&r, 200, "special", "GET", "/1", "");
	get("/api/v1/registrations/specialist", &r);
	check_echo(&r, 200, "reg", "GET", "/specialist", "");
	get("/api/v1/registrationsx", &r);
	check_error(&r, 404, "no such endpoint: /api/v1/registrationsx");

	/* No body. */
	http("POST", "/api/v1/empty", "{}", 2, &r);
	cr_assert_eq(r.status, 204);
	cr_assert_eq(r.len, 0);
	free(r.body);

	get("/api/v1/broken", &r);
	check_error(&r, 500, "handler failed for /api/v1/broken");

	/* A body over MGMT_MAX_BODY is read and refused. */
	big = malloc(MGMT_MAX_BODY + 1);
	memset(big, 'a', MGMT_MAX_BODY + 1);
	http("POST", "/api/v1/registrations", big, MGMT_MAX_BODY + 1, &r);
	check_error(&r, 413, "request body too large");
	/* Exactly MGMT_MAX_BODY is taken. */
	http("POST", "/api/v1/empty", big, MGMT_MAX_BODY, &r);
	cr_assert_eq(r.status, 204);
	free(r.body);
	free(big);
}

/* ---- starting ---- */

Test(mgmt_start, bind_conflict)
{
	struct mgmt_source src = source("0.1.0");
	struct sockaddr_in a = loopback(0);
	struct mgmt *m1, *m2 = NULL;
	char err[256], want[64];

	cr_assert_eq(mgmt_start(&m1, (struct sockaddr *)&a, sizeof(a), &src, err, sizeof(err)), 0,
		     "%s", err);
	a = loopback(mgmt_port(m1));
	cr_assert_eq(mgmt_start(&m2, (struct sockaddr *)&a, sizeof(a), &src, err, sizeof(err)),
		     -EADDRINUSE);
	cr_assert_null(m2);
	snprintf(want, sizeof(want), "127.0.0.1:%u: Address already in use", mgmt_port(m1));
	cr_assert_str_eq(err, want);
	/* Nothing to wait for while idle. */
	cr_assert_eq(mgmt_poll_timeout_ms(m1), -1);
	mgmt_stop(m1);

	/* Once stopped, the port is free again. */
	cr_assert_eq(mgmt_start(&m2, (struct sockaddr *)&a, sizeof(a), &src, err, sizeof(err)), 0,
		     "%s", err);
	mgmt_stop(m2);
	mgmt_stop(NULL);
}

Test(mgmt_start, invalid)
{
	struct mgmt_source src = source("0.1.0");
	struct sockaddr_in a = loopback(0);
	struct sockaddr_un_like {
		sa_family_t family;
		char path[8];
	} u = { .family = AF_UNIX };
	struct mgmt *mm = NULL;
	char err[256];

	cr_assert_eq(mgmt_start(&mm, (struct sockaddr *)&u, sizeof(u), &src, err, sizeof(err)),
		     -EINVAL);
	cr_assert_eq(mgmt_start(&mm, (struct sockaddr *)&a, 4, &src, err, sizeof(err)), -EINVAL);
	src.workers = NULL;
	cr_assert_eq(mgmt_start(&mm, (struct sockaddr *)&a, sizeof(a), &src, err, sizeof(err)),
		     -EINVAL);
	cr_assert_null(mm);
	cr_assert_str_eq(err, "management endpoint: invalid address or source");
}

Test(mgmt_start, ipv6)
{
	struct mgmt_source src = source("0.1.0");
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in6 b;
	struct mgmt *m6;
	char err[256], want[64];
	int ret, fd;
	static const char req[] = "GET /api/v1/status HTTP/1.1\r\nHost: [::1]\r\n"
				  "Connection: close\r\n\r\n";
	char buf[4096];
	size_t have = 0;
	ssize_t n;

	ret = mgmt_start(&m6, (struct sockaddr *)&a, sizeof(a), &src, err, sizeof(err));
	if (ret == -EADDRNOTAVAIL || ret == -EAFNOSUPPORT)
		cr_skip_test("no IPv6 loopback: %s", err);
	cr_assert_eq(ret, 0, "%s", err);

	/* The same address again: the error names it in brackets. */
	b = a;
	b.sin6_port = htons(mgmt_port(m6));
	m = NULL;
	cr_assert_eq(mgmt_start(&m, (struct sockaddr *)&b, sizeof(b), &src, err, sizeof(err)),
		     -EADDRINUSE);
	snprintf(want, sizeof(want), "[::1]:%u: Address already in use", mgmt_port(m6));
	cr_assert_str_eq(err, want);

	fd = socket(AF_INET6, SOCK_STREAM, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&b, sizeof(b)), 0);
	send_all(fd, req, sizeof(req) - 1);
	for (int i = 0; i < 200; i++) {
		struct pollfd p[2] = { { .fd = mgmt_poll_fd(m6), .events = POLLIN },
				       { .fd = fd, .events = POLLIN } };

		poll(p, 2, 10);
		mgmt_process(m6);
		if (p[1].revents) {
			n = recv(fd, buf + have, sizeof(buf) - have - 1, MSG_DONTWAIT);
			if (n == 0)
				break;
			if (n > 0)
				have += (size_t)n;
		}
	}
	buf[have] = '\0';
	close(fd);
	cr_assert(strncmp(buf, "HTTP/1.1 200 ", 13) == 0, "%s", buf);
	cr_assert_not_null(strstr(buf, "\"version\":\"0.1.0\""));
	mgmt_stop(m6);
}

/* ---- api_json.h: what the route modules build their answers with ---- */

Test(api_json, strings_are_always_valid_utf8)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} t[] = {
		{ "plain", 5, "plain" },
		{ "caf\xc3\xa9", 5, "caf\xc3\xa9" },
		{ "a\xff"
		  "b",
		  3,
		  "a\xef\xbf\xbd"
		  "b" },
		{ "a\0b", 3,
		  "a\xef\xbf\xbd"
		  "b" },
		{ "\xc3", 1, "\xef\xbf\xbd" }, /* cut sequence */
		{ "", 0, "" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cJSON *j = api_json_sv(sv_make(t[i].in, t[i].len));
		cr_assert_not_null(j);
		cr_assert_str_eq(cJSON_GetStringValue(j), t[i].want, "case %zu", i);
		cJSON_Delete(j);
	}
	/* a view is read no further than its length */
	cJSON *j = api_json_sv(sv_make("abcdef", 3));
	cr_assert_str_eq(cJSON_GetStringValue(j), "abc");
	cJSON_Delete(j);
	j = api_json_str("x\x80"
			 "y");
	cr_assert_str_eq(cJSON_GetStringValue(j), "x\xef\xbf\xbd"
						  "y");
	cJSON_Delete(j);
	j = api_json_str(NULL);
	cr_assert_str_eq(cJSON_GetStringValue(j), "");
	cJSON_Delete(j);
}

Test(api_json, errors_and_methods)
{
	cJSON *out = NULL;
	cr_assert_eq(api_error(&out, 404, "no such %s", "thing"), 404);
	cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(out, "error")), "no such thing");
	cJSON_Delete(out);
	cr_assert_eq(api_method_not_allowed(&out, "P\x01T", "GET"), 405);
	cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(out, "error")),
			 "method not allowed: P?T (allowed: GET)");
	cJSON_Delete(out);
	cr_assert(api_is_get("GET"));
	cr_assert(api_is_get("HEAD"));
	cr_assert_not(api_is_get("POST"));
	cJSON *o = cJSON_CreateObject();
	cr_assert_not(api_json_add(o, "k", NULL));
	cr_assert(api_json_add(o, "k", cJSON_CreateNumber(1)));
	cJSON_Delete(o);
}
