/* SPDX-License-Identifier: MIT */
/*
 * Tests of core/domain_api.h: the /api/v1/domains routes on a real management
 * endpoint (core/mgmt.h, 127.0.0.1 port 0) over a real domain table
 * (storage/domains.h) that resolves names served by tests/storage/dns_server.py
 * on loopback (skipped without python3-dnslib): the list (sorted, every member
 * of an entry and of a target: host, A, SRV with two targets, NAPTR, an
 * NXDOMAIN name, literal IPv4 and IPv6 addresses), one name in any case and
 * with a final dot, unknown names, resolve one name and every entry (the
 * queries counted grow once the loop has run), a stale entry's failure, 405
 * and 404 on other methods and paths; and without DNS: no table, and the list
 * truncated at DOMAIN_API_MAX_ENTRIES.
 *
 * The test thread is the owner of both the table and the endpoint: it drives
 * domains_run_once() between requests and mgmt_process() while its own
 * HTTP/1.1 client waits for an answer, as the service thread would.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/domain_api.h"
#include "core/mgmt.h"
#include "storage/domains.h"
#include "tests/storage/dns_fixture.h"

#define WAIT_MS 30000

/* ---- fixture: a DNS server, a domain table, an endpoint ---- */

static struct dns_fixture dns;
static const char *servers[1];
static char dead_server[32];
static struct domains *d;
static struct mgmt *m;
static struct domain_api api;

/* gw.test (A, AAAA), an SRV name with two targets, a NAPTR name; missing.test is not there. */
static const char zone_json[] = "{\"records\": ["
				"\"gw.test. 60 IN A 192.0.2.1\","
				"\"gw.test. 60 IN A 192.0.2.2\","
				"\"gw.test. 60 IN AAAA 2001:db8::1\","
				"\"_sip._udp.srv.test. 60 IN SRV 10 60 5060 a.srv.test.\","
				"\"_sip._udp.srv.test. 60 IN SRV 20 10 5080 b.srv.test.\","
				"\"a.srv.test. 60 IN A 192.0.2.10\","
				"\"b.srv.test. 60 IN AAAA 2001:db8::20\","
				"\"naptr.test. 60 IN NAPTR 10 50 \\\"s\\\" \\\"SIP+D2T\\\" "
				"\\\"\\\" _sip._tcp.naptr.test.\","
				"\"_sip._tcp.naptr.test. 60 IN SRV 5 0 5061 c.naptr.test.\","
				"\"c.naptr.test. 60 IN A 192.0.2.30\""
				"]}";

static void quiet(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	(void)msg;
}

static void start_dns(void)
{
	int r = dns_fixture_start(&dns);

	if (r == -ENOENT) {
		dns_fixture_stop(&dns); /* its temporary directory */
		cr_skip_test("python3-dnslib is not installed");
	}
	cr_assert_eq(r, 0, "dns_server.py: %s", strerror(-r));
}

/* Times long enough that nothing refreshes by itself while a test runs. */
static void config(struct domains_config *c, const char *server)
{
	domains_config_defaults(c);
	servers[0] = server;
	c->servers = servers;
	c->nservers = 1;
	c->timeout_ms = 300;
	c->tries = 1;
	c->negative_ttl = 60;
	c->stale_grace = 600;
	c->seed = 42;
	c->log = quiet;
}

static void start_mgmt(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct mgmt_source ms = { .version = "0.1.0" };
	char err[256];

	cr_assert_eq(mgmt_start(&m, (struct sockaddr *)&a, sizeof(a), &ms, err, sizeof(err)), 0,
		     "%s", err);
	api.d = d;
	cr_assert_eq(domain_api_init(&api, m), 0);
}

static void note_pending(void *arg, const struct domains_info *e)
{
	if (e->status == DOMAINS_PENDING || e->busy)
		*(bool *)arg = true;
}

/* Every entry answered, and no resolution in flight (the views are only read). */
static bool all_resolved(void)
{
	uint64_t cursor = 0;
	bool pending = false;

	while (domains_foreach(d, &cursor, 64, note_pending, &pending))
		;
	return !pending;
}

#define WAIT(cond)                                                                            \
	do {                                                                                  \
		int64_t end_ = domains_now_ms() + WAIT_MS;                                    \
		while (!(cond)) {                                                             \
			cr_assert_lt(domains_now_ms(), end_, "timed out waiting for " #cond); \
			domains_run_once(d, 20);                                              \
		}                                                                             \
	} while (0)

static int64_t real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t resolved_after; /* realtime ms before the first resolution */

/* The DNS server, the table with its entries resolved, the endpoint. */
static void start(void)
{
	struct domains_config c;

	start_dns();
	cr_assert_eq(dns_fixture_zone(&dns, zone_json), 0);
	config(&c, dns.server);
	cr_assert_eq(domains_new(&d, &c), 0);
	resolved_after = real_now();
	cr_assert_eq(domains_add(d, DOMAINS_HOST, "GW.test."), 1);
	cr_assert_eq(domains_add(d, DOMAINS_A, "gw.test"), 1);
	cr_assert_eq(domains_add(d, DOMAINS_SRV, "_sip._udp.srv.test"), 1);
	cr_assert_eq(domains_add(d, DOMAINS_NAPTR, "naptr.test"), 1);
	cr_assert_eq(domains_add(d, DOMAINS_HOST, "missing.test"), 1);
	cr_assert_eq(domains_add(d, DOMAINS_HOST, "192.0.2.99"), 1);
	cr_assert_eq(domains_add(d, DOMAINS_HOST, "[2001:db8::99]"), 1);
	WAIT(all_resolved());
	start_mgmt();
}

/* No DNS server: a table whose server is a dead port (literal entries only). */
static void start_nodns(void)
{
	struct domains_config c;

	snprintf(dead_server, sizeof(dead_server), "127.0.0.1:%u", dns_fixture_dead_port());
	config(&c, dead_server);
	cr_assert_eq(domains_new(&d, &c), 0);
	start_mgmt();
}

static void stop(void)
{
	mgmt_stop(m);
	m = NULL;
	domains_free(d);
	d = NULL;
	dns_fixture_stop(&dns);
}

TestSuite(domain_api, .init = start, .fini = stop, .timeout = 120);
TestSuite(nodns, .init = start_nodns, .fini = stop, .timeout = 120);

/* ---- an HTTP/1.1 client, answered by mgmt_process() on this thread ---- */

struct resp {
	int status;
	char *text; /* head and body, NUL-terminated */
	const char *body;
	cJSON *json; /* the body parsed, NULL when there is none */
};

static void http(const char *method, const char *path, struct resp *r)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(mgmt_port(m)),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	size_t have = 0, cap = 1 << 16;
	char *req = NULL;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), n;
	struct timespec t0, t;
	const char *e;

	memset(r, 0, sizeof(*r));
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "%s", strerror(errno));
	n = asprintf(&req,
		     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
		     "Content-Length: 0\r\n\r\n",
		     method, path);
	cr_assert_gt(n, 0);
	cr_assert_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n); /* small: fits the buffer */
	free(req);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	r->text = malloc(cap);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
				       { .fd = mgmt_poll_fd(m), .events = POLLIN } };
		ssize_t got;

		poll(p, 2, 10);
		mgmt_process(m);
		if (cap - have < 4096) {
			cap *= 2;
			r->text = realloc(r->text, cap);
		}
		got = recv(fd, r->text + have, cap - have - 1, 0);
		if (got == 0)
			break;
		if (got > 0)
			have += (size_t)got;
		else
			cr_assert_eq(errno, EAGAIN, "%s", strerror(errno));
		clock_gettime(CLOCK_MONOTONIC, &t);
		cr_assert_lt(t.tv_sec - t0.tv_sec, 20, "no answer to %s %s", method, path);
	}
	close(fd);
	r->text[have] = '\0';
	cr_assert_eq(sscanf(r->text, "HTTP/1.1 %d ", &r->status), 1, "%s", r->text);
	e = strstr(r->text, "\r\n\r\n");
	cr_assert_not_null(e);
	r->body = e + 4;
	if (*r->body) {
		cr_assert_not_null(strcasestr(r->text, "\r\nContent-Type: application/json"));
		r->json = cJSON_Parse(r->body);
		cr_assert_not_null(r->json, "not JSON: %s", r->body);
	}
}

static void resp_free(struct resp *r)
{
	cJSON_Delete(r->json);
	free(r->text);
}

static const cJSON *item(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	cr_assert_not_null(v, "no member %s", k);
	return v;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = item(o, k);

	cr_assert(cJSON_IsString(v), "%s is not a string", k);
	return v->valuestring;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = item(o, k);

	cr_assert(cJSON_IsNumber(v), "%s is not a number", k);
	return v->valuedouble;
}

static bool boolean(const cJSON *o, const char *k)
{
	const cJSON *v = item(o, k);

	cr_assert(cJSON_IsBool(v), "%s is not a boolean", k);
	return cJSON_IsTrue(v);
}

/* An error answer: status and {"error": want}. */
static void check_error(struct resp *r, int status, const char *want)
{
	cr_assert_eq(r->status, status, "%d, not %d: %s", r->status, status, r->body);
	cr_assert_not_null(r->json);
	cr_assert_str_eq(str(r->json, "error"), want);
	cr_assert_eq(cJSON_GetArraySize(r->json), 1);
}

static void expect_error(const char *method, const char *path, int status, const char *want)
{
	struct resp r;

	http(method, path, &r);
	check_error(&r, status, want);
	resp_free(&r);
}

/* The members of o, in order, are exactly keys (NULL-terminated). */
static void check_keys(const cJSON *o, const char *const *keys)
{
	const cJSON *v = o ? o->child : NULL;
	size_t i = 0;

	cr_assert(cJSON_IsObject(o));
	for (; keys[i]; i++, v = v->next) {
		cr_assert_not_null(v, "member %s missing", keys[i]);
		cr_assert_str_eq(v->string, keys[i]);
	}
	cr_assert_null(v, "an extra member %s", v ? v->string : "");
}

static const char *const entry_keys[] = {
	"name",	       "kind",	     "status",	    "fail",	    "error",
	"node",	       "literal",    "busy",	    "ttl",	    "ttl_left",
	"resolved_at", "expires_at", "stale_until", "next_refresh", "next_refresh_in",
	"queries",     "failures",   "targets",	    NULL,
};
static const char *const target_keys[] = { "name",	"port",	     "priority",
					   "weight",	"order",     "preference",
					   "transport", "addresses", NULL };

/* The addresses of a target, comma-joined. */
static void addresses(const cJSON *t, char *buf, size_t cap)
{
	const cJSON *a;
	size_t n = 0;

	buf[0] = '\0';
	cJSON_ArrayForEach(a, item(t, "addresses"))
	{
		cr_assert(cJSON_IsString(a));
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? "," : "", a->valuestring);
		cr_assert_lt(n, cap);
	}
}

static void check_target(const cJSON *t, const char *name, double port, double prio, double weight,
			 double order, double pref, const char *tp, const char *addrs)
{
	char buf[512];

	check_keys(t, target_keys);
	cr_assert_str_eq(str(t, "name"), name);
	cr_assert_eq(num(t, "port"), port, "%s", name);
	cr_assert_eq(num(t, "priority"), prio, "%s", name);
	cr_assert_eq(num(t, "weight"), weight, "%s", name);
	cr_assert_eq(num(t, "order"), order, "%s", name);
	cr_assert_eq(num(t, "preference"), pref, "%s", name);
	cr_assert_str_eq(str(t, "transport"), tp);
	addresses(t, buf, sizeof(buf));
	cr_assert_str_eq(buf, addrs);
}

/* An entry of (kind, name) in list, NULL when none. */
static const cJSON *find(const cJSON *list, const char *kind, const char *name)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, list)
	{
		if (!strcmp(str(e, "kind"), kind) && !strcmp(str(e, "name"), name))
			return e;
	}
	return NULL;
}

/* The queries counted for (kind, name), through the API. */
static double queries_of(const char *kind, const char *name)
{
	char path[300];
	const cJSON *e;
	struct resp r;
	double q;

	snprintf(path, sizeof(path), "/api/v1/domains/%s", name);
	http("GET", path, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	e = find(item(r.json, "domains"), kind, name);
	cr_assert_not_null(e, "%s %s", kind, name);
	q = num(e, "queries");
	resp_free(&r);
	return q;
}

static bool busy_any(void)
{
	return !all_resolved();
}

/* ---- the list ---- */

Test(domain_api, list)
{
	int64_t after = real_now();
	const cJSON *list, *e, *t;
	struct resp r;
	static const char *const order[][2] = {
		{ "192.0.2.99", "host" },
		{ "2001:db8::99", "host" },
		{ "_sip._udp.srv.test", "srv" },
		{ "gw.test", "host" },
		{ "gw.test", "a" },
		{ "missing.test", "host" },
		{ "naptr.test", "naptr" },
	};
	size_t i = 0;

	http("GET", "/api/v1/domains", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	check_keys(r.json, (const char *const[]){ "domains", "truncated", NULL });
	cr_assert_not(boolean(r.json, "truncated"));
	list = item(r.json, "domains");
	cr_assert_eq(cJSON_GetArraySize(list), 7);
	/* sorted by name, then kind (host before a) */
	cJSON_ArrayForEach(e, list)
	{
		check_keys(e, entry_keys);
		cr_assert_str_eq(str(e, "name"), order[i][0], "%zu", i);
		cr_assert_str_eq(str(e, "kind"), order[i][1], "%zu", i);
		cr_assert_str_eq(str(e, "node"), "");
		cr_assert_not(boolean(e, "busy"));
		i++;
	}

	/* host gw.test: A and AAAA, no port from DNS: bare addresses, IPv4 first */
	e = find(list, "host", "gw.test");
	cr_assert_str_eq(str(e, "status"), "ok");
	cr_assert_str_eq(str(e, "fail"), "");
	cr_assert_str_eq(str(e, "error"), "");
	cr_assert_not(boolean(e, "literal"));
	cr_assert_eq(num(e, "ttl"), 60);
	cr_assert(num(e, "ttl_left") > 30 && num(e, "ttl_left") <= 60, "%g", num(e, "ttl_left"));
	cr_assert_geq(num(e, "resolved_at"), (double)resolved_after - 1000);
	cr_assert_leq(num(e, "resolved_at"), (double)after + 1000);
	cr_assert_eq(num(e, "expires_at"), num(e, "resolved_at") + 60000);
	cr_assert_eq(num(e, "stale_until"), num(e, "expires_at") + 600000);
	cr_assert_gt(num(e, "next_refresh"), num(e, "resolved_at"));
	cr_assert_lt(num(e, "next_refresh"), num(e, "expires_at"));
	cr_assert(num(e, "next_refresh_in") > 20 && num(e, "next_refresh_in") <= 60, "%g",
		  num(e, "next_refresh_in"));
	cr_assert_eq(num(e, "queries"), 2); /* A, AAAA */
	cr_assert_eq(num(e, "failures"), 0);
	cr_assert_eq(cJSON_GetArraySize(item(e, "targets")), 1);
	check_target(cJSON_GetArrayItem(item(e, "targets"), 0), "gw.test", 0, 0, 0, 0, 0, "",
		     "192.0.2.1,192.0.2.2,2001:db8::1");

	/* a gw.test: A only */
	e = find(list, "a", "gw.test");
	cr_assert_str_eq(str(e, "status"), "ok");
	cr_assert_eq(num(e, "queries"), 1);
	check_target(cJSON_GetArrayItem(item(e, "targets"), 0), "gw.test", 0, 0, 0, 0, 0, "",
		     "192.0.2.1,192.0.2.2");

	/* SRV: two targets by priority, with ports; the transport of _sip._udp */
	e = find(list, "srv", "_sip._udp.srv.test");
	cr_assert_str_eq(str(e, "status"), "ok");
	cr_assert_str_eq(str(e, "error"), "");
	cr_assert_eq(num(e, "queries"), 5); /* SRV, then A and AAAA of each target */
	t = item(e, "targets");
	cr_assert_eq(cJSON_GetArraySize(t), 2);
	check_target(cJSON_GetArrayItem(t, 0), "a.srv.test", 5060, 10, 60, 0, 0, "udp",
		     "192.0.2.10:5060");
	check_target(cJSON_GetArrayItem(t, 1), "b.srv.test", 5080, 20, 10, 0, 0, "udp",
		     "[2001:db8::20]:5080");

	/* NAPTR: order and preference of the record, TCP from SIP+D2T */
	e = find(list, "naptr", "naptr.test");
	cr_assert_str_eq(str(e, "status"), "ok");
	check_target(cJSON_GetArrayItem(item(e, "targets"), 0), "c.naptr.test", 5061, 5, 0, 10, 50,
		     "tcp", "192.0.2.30:5061");

	/* NXDOMAIN: no targets, the negative TTL, a failure counted and said */
	e = find(list, "host", "missing.test");
	cr_assert_str_eq(str(e, "status"), "nxdomain");
	cr_assert_str_eq(str(e, "fail"), "");
	cr_assert_not_null(strstr(str(e, "error"), "missing.test: NXDOMAIN"), "%s",
			   str(e, "error"));
	cr_assert_eq(num(e, "ttl"), 60);
	cr_assert_gt(num(e, "ttl_left"), 0);
	cr_assert_eq(num(e, "stale_until"), 0);
	cr_assert_eq(num(e, "failures"), 1);
	cr_assert_eq(cJSON_GetArraySize(item(e, "targets")), 0);

	/* literal addresses: ok forever, never asked, no times */
	e = find(list, "host", "192.0.2.99");
	cr_assert_str_eq(str(e, "status"), "ok");
	cr_assert(boolean(e, "literal"));
	cr_assert_eq(num(e, "ttl"), 0);
	cr_assert_eq(num(e, "ttl_left"), 0);
	cr_assert_eq(num(e, "resolved_at"), 0);
	cr_assert_eq(num(e, "expires_at"), 0);
	cr_assert_eq(num(e, "stale_until"), 0);
	cr_assert_eq(num(e, "next_refresh"), 0);
	cr_assert_eq(num(e, "next_refresh_in"), -1);
	cr_assert_eq(num(e, "queries"), 0);
	check_target(cJSON_GetArrayItem(item(e, "targets"), 0), "192.0.2.99", 0, 0, 0, 0, 0, "",
		     "192.0.2.99");
	e = find(list, "host", "2001:db8::99");
	cr_assert(boolean(e, "literal"));
	check_target(cJSON_GetArrayItem(item(e, "targets"), 0), "2001:db8::99", 0, 0, 0, 0, 0, "",
		     "2001:db8::99");
	resp_free(&r);

	/* HEAD: the status, no body; a trailing slash is the list too */
	http("HEAD", "/api/v1/domains", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_empty(r.body);
	resp_free(&r);
	http("GET", "/api/v1/domains/", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(cJSON_GetArraySize(item(r.json, "domains")), 7);
	resp_free(&r);
}

/* ---- one name ---- */

Test(domain_api, one_name)
{
	static const char *const paths[] = { "/api/v1/domains/gw.test", "/api/v1/domains/GW.Test.",
					     "/api/v1/domains/gw%2Etest" };
	const cJSON *list;
	struct resp r;

	/* every kind of the name, in kind order; any case, a final dot, percent-encoded */
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		http("GET", paths[i], &r);
		cr_assert_eq(r.status, 200, "%s: %s", paths[i], r.body);
		check_keys(r.json, (const char *const[]){ "domains", NULL });
		list = item(r.json, "domains");
		cr_assert_eq(cJSON_GetArraySize(list), 2);
		cr_assert_str_eq(str(cJSON_GetArrayItem(list, 0), "kind"), "host");
		cr_assert_str_eq(str(cJSON_GetArrayItem(list, 1), "kind"), "a");
		cr_assert_str_eq(str(cJSON_GetArrayItem(list, 0), "name"), "gw.test");
		check_keys(cJSON_GetArrayItem(list, 0), entry_keys);
		resp_free(&r);
	}
	/* an NXDOMAIN entry is an entry */
	http("GET", "/api/v1/domains/missing.test", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(str(cJSON_GetArrayItem(item(r.json, "domains"), 0), "status"), "nxdomain");
	resp_free(&r);
	/* IPv6 literal with brackets, in upper case */
	http("GET", "/api/v1/domains/[2001:DB8::99]", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(str(cJSON_GetArrayItem(item(r.json, "domains"), 0), "name"),
			 "2001:db8::99");
	resp_free(&r);
	/* the SRV name as configured */
	http("GET", "/api/v1/domains/_SIP._UDP.srv.test", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(str(cJSON_GetArrayItem(item(r.json, "domains"), 0), "kind"), "srv");
	resp_free(&r);
}

Test(domain_api, unknown)
{
	char path[400];

	expect_error("GET", "/api/v1/domains/nope.test", 404, "no such domain");
	/* a name the DNS server has but the table does not */
	expect_error("GET", "/api/v1/domains/a.srv.test", 404, "no such domain");
	/* not a name at all */
	expect_error("GET", "/api/v1/domains/bad%20name", 404, "no such domain");
	expect_error("GET", "/api/v1/domains/x..y", 404, "no such domain");
	snprintf(path, sizeof(path), "/api/v1/domains/%0300d", 7);
	expect_error("GET", path, 404, "no such domain");
	expect_error("POST", "/api/v1/domains/nope.test/resolve", 404, "no such domain");
	/* "resolve" asked with GET is a name */
	expect_error("GET", "/api/v1/domains/resolve", 404, "no such domain");
	/* an action that is not there */
	expect_error("POST", "/api/v1/domains/gw.test/refresh", 404, "unknown action (resolve)");
	expect_error("GET", "/api/v1/domains/gw.test/resolve/x", 404, "unknown action (resolve)");
	expect_error("POST", "/api/v1/domains//resolve", 404, "no such domain");
}

Test(domain_api, methods)
{
	expect_error("POST", "/api/v1/domains", 405,
		     "method not allowed: POST (allowed: GET, HEAD)");
	expect_error("DELETE", "/api/v1/domains/gw.test", 405,
		     "method not allowed: DELETE (allowed: GET, HEAD)");
	expect_error("POST", "/api/v1/domains/gw.test", 405,
		     "method not allowed: POST (allowed: GET, HEAD)");
	expect_error("GET", "/api/v1/domains/gw.test/resolve", 405,
		     "method not allowed: GET (allowed: POST)");
	expect_error("PUT", "/api/v1/domains/resolve", 405,
		     "method not allowed: PUT (allowed: GET, HEAD, POST)");
	expect_error("DELETE", "/api/v1/domains/nope.test/resolve", 405,
		     "method not allowed: DELETE (allowed: POST)");
}

/* ---- resolving ---- */

Test(domain_api, resolve_one)
{
	double host = queries_of("host", "gw.test"), a = queries_of("a", "gw.test");
	double srv = queries_of("srv", "_sip._udp.srv.test");
	unsigned asked = dns_fixture_count(&dns, "gw.test", "A");
	struct resp r;

	/* every kind of the name, the name as the table has it */
	http("POST", "/api/v1/domains/GW.test./resolve", &r);
	cr_assert_eq(r.status, 202, "%s", r.body);
	check_keys(r.json, (const char *const[]){ "name", "resolving", NULL });
	cr_assert_str_eq(str(r.json, "name"), "gw.test");
	cr_assert_eq(num(r.json, "resolving"), 2);
	resp_free(&r);
	/* marked, not asked yet: due now */
	http("GET", "/api/v1/domains/gw.test", &r);
	cr_assert_eq(num(cJSON_GetArrayItem(item(r.json, "domains"), 0), "next_refresh_in"), 0);
	cr_assert_eq(num(cJSON_GetArrayItem(item(r.json, "domains"), 1), "next_refresh_in"), 0);
	resp_free(&r);
	/* the loop asks DNS, and the entries count their queries */
	WAIT(queries_of("host", "gw.test") >= host + 2 && queries_of("a", "gw.test") >= a + 1 &&
	     !busy_any());
	cr_assert_eq(queries_of("srv", "_sip._udp.srv.test"), srv, "another name was resolved");
	cr_assert_geq(dns_fixture_count(&dns, "gw.test", "A"), asked + 2);
	http("GET", "/api/v1/domains/gw.test", &r);
	cr_assert_str_eq(str(cJSON_GetArrayItem(item(r.json, "domains"), 0), "status"), "ok");
	resp_free(&r);

	/* an NXDOMAIN name is asked again */
	host = queries_of("host", "missing.test");
	http("POST", "/api/v1/domains/missing.test/resolve", &r);
	cr_assert_eq(r.status, 202, "%s", r.body);
	cr_assert_eq(num(r.json, "resolving"), 1);
	resp_free(&r);
	WAIT(queries_of("host", "missing.test") > host && !busy_any());

	/* a literal address is never resolved: there, but nothing to do */
	http("POST", "/api/v1/domains/192.0.2.99/resolve", &r);
	cr_assert_eq(r.status, 202, "%s", r.body);
	cr_assert_str_eq(str(r.json, "name"), "192.0.2.99");
	cr_assert_eq(num(r.json, "resolving"), 0);
	resp_free(&r);
}

Test(domain_api, resolve_all)
{
	static const char *const names[][2] = { { "host", "gw.test" },
						{ "a", "gw.test" },
						{ "srv", "_sip._udp.srv.test" },
						{ "naptr", "naptr.test" },
						{ "host", "missing.test" } };
	double before[5];
	struct resp r;

	for (size_t i = 0; i < 5; i++)
		before[i] = queries_of(names[i][0], names[i][1]);
	http("POST", "/api/v1/domains/resolve", &r);
	cr_assert_eq(r.status, 202, "%s", r.body);
	check_keys(r.json, (const char *const[]){ "resolving", NULL });
	cr_assert_eq(num(r.json, "resolving"), 5); /* the two literal addresses are not */
	resp_free(&r);
	domains_run_once(d, 0);
	WAIT(!busy_any());
	for (size_t i = 0; i < 5; i++)
		cr_assert_gt(queries_of(names[i][0], names[i][1]), before[i], "%s %s", names[i][0],
			     names[i][1]);
	cr_assert_eq(queries_of("host", "192.0.2.99"), 0);
}

/* A domain called "resolve": GET by name; POST .../resolve/resolve resolves it alone. */
Test(domain_api, name_resolve)
{
	struct resp r;

	cr_assert_eq(domains_add(d, DOMAINS_HOST, "resolve"), 1);
	WAIT(all_resolved());
	http("GET", "/api/v1/domains/resolve", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(str(cJSON_GetArrayItem(item(r.json, "domains"), 0), "name"), "resolve");
	resp_free(&r);
	http("POST", "/api/v1/domains/resolve/resolve", &r);
	cr_assert_eq(r.status, 202, "%s", r.body);
	cr_assert_str_eq(str(r.json, "name"), "resolve");
	cr_assert_eq(num(r.json, "resolving"), 1);
	resp_free(&r);
}

/* ---- a stale entry ---- */

Test(domain_api, stale)
{
	struct domains_config c;
	struct domains_info i;
	const cJSON *e;
	struct resp r;

	/* a table of its own with a 1 s TTL; then the server fails */
	domains_free(d);
	config(&c, dns.server);
	c.ttl_floor = 1;
	c.negative_ttl = 1;
	cr_assert_eq(domains_new(&d, &c), 0);
	api.d = d;
	cr_assert_eq(dns_fixture_zone(&dns, "{\"records\": [\"flaky.test. 1 IN A 192.0.2.50\"]}"),
		     0);
	cr_assert_eq(domains_add(d, DOMAINS_HOST, "flaky.test"), 1);
	WAIT(domains_get(d, DOMAINS_HOST, "flaky.test", &i) == 0 && i.status == DOMAINS_OK);
	cr_assert_eq(dns_fixture_zone(&dns, "{\"records\": [\"flaky.test. 1 IN A 192.0.2.50\"],"
					    " \"names\": {\"flaky.test\": \"servfail\"}}"),
		     0);
	WAIT(domains_get(d, DOMAINS_HOST, "flaky.test", &i) == 0 && i.status == DOMAINS_STALE);

	http("GET", "/api/v1/domains/flaky.test", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	e = cJSON_GetArrayItem(item(r.json, "domains"), 0);
	cr_assert_str_eq(str(e, "status"), "stale");
	cr_assert_str_eq(str(e, "fail"), "servfail");
	cr_assert_not_null(strstr(str(e, "error"), "SERVFAIL"), "%s", str(e, "error"));
	cr_assert_eq(num(e, "ttl_left"), 0);
	cr_assert_gt(num(e, "stale_until"), (double)real_now());
	cr_assert_geq(num(e, "failures"), 1);
	/* the last good addresses are still served */
	check_target(cJSON_GetArrayItem(item(e, "targets"), 0), "flaky.test", 0, 0, 0, 0, 0, "",
		     "192.0.2.50");
	resp_free(&r);
}

/* ---- without DNS ---- */

/* No table yet (dns off): nothing listed, nothing known, nothing to resolve. */
Test(nodns, no_table)
{
	struct resp r;

	api.d = NULL;
	http("GET", "/api/v1/domains", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(cJSON_GetArraySize(item(r.json, "domains")), 0);
	cr_assert_not(boolean(r.json, "truncated"));
	resp_free(&r);
	expect_error("GET", "/api/v1/domains/gw.test", 404, "no such domain");
	expect_error("POST", "/api/v1/domains/gw.test/resolve", 404, "no such domain");
	http("POST", "/api/v1/domains/resolve", &r);
	cr_assert_eq(r.status, 202);
	cr_assert_eq(num(r.json, "resolving"), 0);
	resp_free(&r);
	api.d = d;
}

Test(nodns, empty_and_init_errors)
{
	struct resp r;

	http("GET", "/api/v1/domains", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(cJSON_GetArraySize(item(r.json, "domains")), 0);
	resp_free(&r);
	cr_assert_eq(domain_api_init(NULL, m), -EINVAL);
	cr_assert_eq(domain_api_init(&api, NULL), -EINVAL);
	cr_assert_eq(domain_api_init(&api, m), -EEXIST);
}

/* Over DOMAIN_API_MAX_ENTRIES: the limit, sorted, and "truncated". */
Test(nodns, truncated, .timeout = 300)
{
	const cJSON *list, *prev = NULL, *e;
	char ip[32];
	struct resp r;

	for (unsigned i = 0; i <= DOMAIN_API_MAX_ENTRIES; i++) {
		snprintf(ip, sizeof(ip), "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
		cr_assert_eq(domains_add(d, DOMAINS_HOST, ip), 1);
	}
	http("GET", "/api/v1/domains", &r);
	cr_assert_eq(r.status, 200);
	cr_assert(boolean(r.json, "truncated"));
	list = item(r.json, "domains");
	cr_assert_eq(cJSON_GetArraySize(list), DOMAIN_API_MAX_ENTRIES);
	cJSON_ArrayForEach(e, list)
	{
		if (prev)
			cr_assert_lt(strcmp(str(prev, "name"), str(e, "name")), 0);
		prev = e;
	}
	resp_free(&r);
}
