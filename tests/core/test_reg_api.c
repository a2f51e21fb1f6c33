/* SPDX-License-Identifier: MIT */
/*
 * Tests of core/reg_api.h: the registrations and suspensions routes on a real
 * management endpoint (core/mgmt.h, 127.0.0.1 port 0) over a real location
 * table and suspension table. The test thread is the owner: it changes the
 * tables and drives mgmt_process() while its own HTTP/1.1 client waits for
 * the answer, so handlers and test never touch the tables at the same time.
 * The clock is a fake one (reg_api_source.now_ms).
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

#include "core/mgmt.h"
#include "core/reg_api.h"
#include "core/suspend.h"
#include "storage/location.h"

#define NOW INT64_C(1700000000000)

/* ---- fixture: a location table, a suspension table, an endpoint ---- */

static int64_t fake_now = NOW;
static struct location *loc;
static struct suspend susp;
static struct mgmt *m;
static struct reg_api api;
static unsigned changes; /* the table's change listener, called */
static char changed_aor[128];

static int64_t clock_fake(void)
{
	return fake_now;
}

static void on_change(void *arg, struct sv aor)
{
	(void)arg;
	changes++;
	snprintf(changed_aor, sizeof(changed_aor), "%.*s", (int)aor.len, aor.p);
}

static void start_with(bool with_susp)
{
	struct location_config lc = { .initial_aors = 16, .readers = 1 };
	struct suspend_conf sc = { .retry = 3, .suspend_s = 60, .by_ip = true };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct mgmt_source ms = { .version = "0.1.0" };
	struct reg_api_source src = { .now_ms = clock_fake };
	char err[256];

	fake_now = NOW;
	changes = 0;
	cr_assert_eq(location_create(&loc, &lc), 0);
	location_set_listener(loc, on_change, NULL);
	src.loc = loc;
	if (with_susp) {
		cr_assert_eq(suspend_init(&susp, &sc, 1024), 0);
		src.susp = &susp;
	}
	cr_assert_eq(mgmt_start(&m, (struct sockaddr *)&a, sizeof(a), &ms, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(reg_api_init(&api, m, &src), 0);
}

static void start(void)
{
	start_with(true);
}

static void start_nosusp(void)
{
	start_with(false);
}

static void stop(void)
{
	mgmt_stop(m);
	m = NULL;
	location_destroy(loc);
	loc = NULL;
	if (api.src.susp)
		suspend_fini(&susp);
}

/* ---- an HTTP/1.1 client, answered by mgmt_process() on this thread ---- */

struct resp {
	int status;
	char *text; /* head and body, NUL-terminated */
	const char *body;
	cJSON *json; /* the body parsed, NULL when there is none */
};

static void http(const char *method, const char *path, const char *body, struct resp *r)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(mgmt_port(m)),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	size_t blen = body ? strlen(body) : 0, have = 0, cap = 1 << 16;
	char *req = NULL;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), n;
	struct timespec t0, t;
	const char *e;

	memset(r, 0, sizeof(*r));
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "%s", strerror(errno));
	n = asprintf(&req,
		     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
		     "Content-Length: %zu\r\n\r\n%s",
		     method, path, blen, body ? body : "");
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
		cr_assert_lt(t.tv_sec - t0.tv_sec, 10, "no answer to %s %s", method, path);
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

/* An error answer: status and {"error": want}. */
static void check_error(struct resp *r, int status, const char *want)
{
	cr_assert_eq(r->status, status, "%d, not %d: %s", r->status, status, r->body);
	cr_assert_not_null(r->json);
	cr_assert_str_eq(str(r->json, "error"), want);
	cr_assert_eq(cJSON_GetArraySize(r->json), 1);
}

/* ---- bindings ---- */

static struct location_binding v4(const char *aor, const char *contact, int64_t exp)
{
	return (struct location_binding){
		.aor = sv_cstr(aor),
		.contact = sv_cstr(contact),
		.call_id = SV_LIT("cid-1@192.0.2.1"),
		.user_agent = SV_LIT("Phone/1.0"),
		.expires_ms = exp,
		.cseq = 7,
		.q = 1000,
		.src = { .family = AF_INET,
			 .transport = LOCATION_TP_UDP,
			 .port = 5060,
			 .worker = LOCATION_WORKER_NONE,
			 .addr = { 192, 0, 2, 1 } },
	};
}

static void put(const struct location_binding *b)
{
	cr_assert_geq(location_set(loc, b), 0);
}

static unsigned count(const char *aor)
{
	struct location_binding v[LOCATION_AOR_MAX];

	return location_lookup(loc, sv_cstr(aor), v, LOCATION_AOR_MAX);
}

/*
 * alice: two UDP bindings, q 1 and 0.5; bob: an RFC 5626 TCP flow over IPv6
 * with Path, owned by worker 2; carol: one binding already expired.
 */
static void fill(void)
{
	struct location_binding b;

	b = v4("alice@example.com", "<sip:alice@192.0.2.1:5060>", NOW + 3600 * 1000);
	put(&b);
	b = v4("alice@example.com", "<sip:alice@192.0.2.2:5062>;expires=600", NOW + 599500);
	b.q = 500;
	b.src.addr[3] = 2;
	b.src.port = 5062;
	put(&b);
	b = v4("bob@example.com", "<sip:bob@[2001:db8::1]:5061;transport=tcp>;reg-id=1",
	       NOW + 120 * 1000);
	b.path = SV_LIT("<sip:edge.example.com;lr>");
	b.instance = SV_LIT("<urn:uuid:00000000-0000-1000-8000-000a95a0e128>");
	b.reg_id = 1;
	b.q = 0;
	b.user_agent = SV_NULL;
	b.src = (struct location_source){ .family = AF_INET6,
					  .transport = LOCATION_TP_TCP,
					  .port = 5061,
					  .worker = 2,
					  .conn = UINT64_C(0x123456789abcdef0) };
	inet_pton(AF_INET6, "2001:db8::1", b.src.addr);
	put(&b);
	b = v4("carol@example.com", "<sip:carol@192.0.2.3>", NOW);
	put(&b);
	changes = 0;
}

/* ---- GET /api/v1/registrations ---- */

Test(registrations, empty, .init = start, .fini = stop)
{
	struct resp r;

	http("GET", "/api/v1/registrations", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body,
			 "{\"aors\":0,\"bindings\":0,\"truncated\":false,\"registrations\":[]}");
	resp_free(&r);
}

Test(registrations, list, .init = start, .fini = stop)
{
	const cJSON *regs, *a, *b, *bs;
	struct resp r;

	fill();
	http("GET", "/api/v1/registrations", NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	/* What the table holds (carol's expired binding too, until it is expired)... */
	cr_assert_eq(num(r.json, "aors"), 3);
	cr_assert_eq(num(r.json, "bindings"), 4);
	cr_assert(cJSON_IsFalse(item(r.json, "truncated")));
	/* ...and the live bindings, by AOR name, then q. */
	regs = item(r.json, "registrations");
	cr_assert_eq(cJSON_GetArraySize(regs), 2, "%s", r.body);

	a = cJSON_GetArrayItem(regs, 0);
	cr_assert_str_eq(str(a, "aor"), "alice@example.com");
	bs = item(a, "bindings");
	cr_assert_eq(cJSON_GetArraySize(bs), 2);
	b = cJSON_GetArrayItem(bs, 0);
	cr_assert_str_eq(str(b, "contact"), "<sip:alice@192.0.2.1:5060>");
	cr_assert_eq(num(b, "expires_in"), 3600);
	cr_assert_eq(num(b, "expires_at"), (double)(NOW + 3600 * 1000));
	cr_assert_str_eq(str(b, "call_id"), "cid-1@192.0.2.1");
	cr_assert_eq(num(b, "cseq"), 7);
	cr_assert_eq(num(b, "q"), 1);
	cr_assert_str_eq(str(b, "path"), "");
	cr_assert_str_eq(str(b, "instance"), "");
	cr_assert_eq(num(b, "reg_id"), 0);
	cr_assert_str_eq(str(b, "user_agent"), "Phone/1.0");
	cr_assert_str_eq(str(b, "source"), "udp:192.0.2.1:5060");
	cr_assert(cJSON_IsNull(item(b, "worker")));
	cr_assert(cJSON_IsNull(item(b, "conn")));
	b = cJSON_GetArrayItem(bs, 1);
	cr_assert_str_eq(str(b, "contact"), "<sip:alice@192.0.2.2:5062>;expires=600");
	cr_assert_eq(num(b, "q"), 0.5);
	cr_assert_eq(num(b, "expires_in"), 600); /* 599.5 s: rounded up */
	cr_assert_str_eq(str(b, "source"), "udp:192.0.2.2:5062");

	a = cJSON_GetArrayItem(regs, 1);
	cr_assert_str_eq(str(a, "aor"), "bob@example.com");
	b = cJSON_GetArrayItem(item(a, "bindings"), 0);
	cr_assert_str_eq(str(b, "contact"), "<sip:bob@[2001:db8::1]:5061;transport=tcp>;reg-id=1");
	cr_assert_eq(num(b, "expires_in"), 120);
	cr_assert_eq(num(b, "q"), 0);
	cr_assert_str_eq(str(b, "path"), "<sip:edge.example.com;lr>");
	cr_assert_str_eq(str(b, "instance"), "<urn:uuid:00000000-0000-1000-8000-000a95a0e128>");
	cr_assert_eq(num(b, "reg_id"), 1);
	cr_assert_str_eq(str(b, "user_agent"), "");
	cr_assert_str_eq(str(b, "source"), "tcp:[2001:db8::1]:5061");
	cr_assert_eq(num(b, "worker"), 2);
	cr_assert_str_eq(str(b, "conn"), "1311768467463790320"); /* exact, past 2^53 */
	cr_assert_eq(cJSON_GetArraySize(b), 13);
	resp_free(&r);

	/* Time passes: bob's binding lapses too; expires_in counts down. */
	fake_now = NOW + 121 * 1000;
	http("GET", "/api/v1/registrations", NULL, &r);
	regs = item(r.json, "registrations");
	cr_assert_eq(cJSON_GetArraySize(regs), 1);
	b = cJSON_GetArrayItem(item(cJSON_GetArrayItem(regs, 0), "bindings"), 0);
	cr_assert_eq(num(b, "expires_in"), 3600 - 121);
	resp_free(&r);

	/* HEAD: the status, no body. */
	http("HEAD", "/api/v1/registrations", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_empty(r.body);
	resp_free(&r);
	cr_assert_eq(changes, 0, "a GET changed the table");
}

/* Over REG_API_MAX_BINDINGS: whole AORs up to the limit, and "truncated". */
Test(registrations, truncated, .init = start, .fini = stop, .timeout = 60)
{
	char aor[64], contact[64];
	const cJSON *regs, *a;
	struct resp r;
	unsigned listed = 0;

	/* 4999 AORs of 2 bindings (9998), then AORs of 3: the next one does not fit. */
	for (unsigned i = 0; i < 5100; i++) {
		unsigned nb = i < 4999 ? 2 : 3;

		snprintf(aor, sizeof(aor), "u%05u@example.com", i);
		for (unsigned k = 0; k < nb; k++) {
			struct location_binding b;

			snprintf(contact, sizeof(contact), "<sip:u%05u@192.0.2.1:%u>", i, 5060 + k);
			b = v4(aor, contact, NOW + 60000);
			put(&b);
		}
	}
	http("GET", "/api/v1/registrations", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(num(r.json, "aors"), 5100);
	cr_assert_eq(num(r.json, "bindings"), 4999 * 2 + 101 * 3);
	cr_assert(cJSON_IsTrue(item(r.json, "truncated")));
	regs = item(r.json, "registrations");
	cJSON_ArrayForEach(a, regs) listed += (unsigned)cJSON_GetArraySize(item(a, "bindings"));
	cr_assert_leq(listed, REG_API_MAX_BINDINGS);
	cr_assert_geq(listed, REG_API_MAX_BINDINGS - 2);
	resp_free(&r);
}

/* ---- /api/v1/registrations/<aor> ---- */

Test(registrations, one, .init = start, .fini = stop)
{
	static const char *const paths[] = {
		"/api/v1/registrations/alice@example.com",
		"/api/v1/registrations/alice%40example.com",
		"/api/v1/registrations/%61lice%40example.com",
	};
	struct resp r;

	fill();
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		http("GET", paths[i], NULL, &r);
		cr_assert_eq(r.status, 200, "%s: %s", paths[i], r.body);
		cr_assert_str_eq(str(r.json, "aor"), "alice@example.com");
		cr_assert_eq(cJSON_GetArraySize(item(r.json, "bindings")), 2);
		cr_assert_eq(cJSON_GetArraySize(r.json), 2);
		resp_free(&r);
	}
	http("GET", "/api/v1/registrations/nobody@example.com", NULL, &r);
	check_error(&r, 404, "no such AOR");
	resp_free(&r);
	/* carol has only an expired binding: as good as none. */
	http("GET", "/api/v1/registrations/carol%40example.com", NULL, &r);
	check_error(&r, 404, "no such AOR");
	resp_free(&r);
	/* AORs compare as octets, as the registrar stores them. */
	http("GET", "/api/v1/registrations/Alice@example.com", NULL, &r);
	check_error(&r, 404, "no such AOR");
	resp_free(&r);
}

/* The path is decoded once: "%25" is a literal '%' of the AOR. */
Test(registrations, decoded_once, .init = start, .fini = stop)
{
	struct location_binding b = v4("a%40b@example.com", "<sip:x@192.0.2.1>", NOW + 60000);
	struct resp r;

	put(&b);
	http("GET", "/api/v1/registrations/a%2540b%40example.com", NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(str(r.json, "aor"), "a%40b@example.com");
	resp_free(&r);
	http("GET", "/api/v1/registrations/a@b@example.com", NULL, &r);
	check_error(&r, 404, "no such AOR");
	resp_free(&r);
}

/* Octets that are not UTF-8 come out as U+FFFD: the answer stays valid JSON. */
Test(registrations, not_utf8, .init = start, .fini = stop)
{
	struct location_binding b =
		v4("dave@example.com", "<sip:d\xff\xc3@192.0.2.1>", NOW + 60000);
	struct resp r;

	b.user_agent = SV_LIT("Caf\xc3\xa9 \x01");
	put(&b);
	http("GET", "/api/v1/registrations/dave@example.com", NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	{
		const cJSON *e = cJSON_GetArrayItem(item(r.json, "bindings"), 0);

		cr_assert_str_eq(str(e, "contact"), "<sip:d\xef\xbf\xbd\xef\xbf\xbd@192.0.2.1>");
		cr_assert_str_eq(str(e, "user_agent"), "Caf\xc3\xa9 \x01");
	}
	resp_free(&r);
}

Test(registrations, delete_aor, .init = start, .fini = stop)
{
	struct resp r;

	fill();
	http("DELETE", "/api/v1/registrations/alice%40example.com", NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(r.body, "{\"removed\":2}");
	resp_free(&r);
	cr_assert_eq(count("alice@example.com"), 0);
	cr_assert_eq(count("bob@example.com"), 1);
	/* Through the table's listener, as a REGISTER's removal (Redis follows). */
	cr_assert_geq(changes, 1);
	cr_assert_str_eq(changed_aor, "alice@example.com");

	http("DELETE", "/api/v1/registrations/alice@example.com", NULL, &r);
	check_error(&r, 404, "no such AOR");
	resp_free(&r);
	/* A body of white space is no body. */
	http("DELETE", "/api/v1/registrations/bob@example.com", " \r\n", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(r.body, "{\"removed\":1}");
	resp_free(&r);
	cr_assert_eq(count("bob@example.com"), 0);
}

Test(registrations, delete_binding, .init = start, .fini = stop)
{
	struct resp r;

	fill();
	/* By contact, as stored. */
	http("DELETE", "/api/v1/registrations/alice@example.com",
	     "{\"contact\": \"<sip:alice@192.0.2.2:5062>;expires=600\"}", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(r.body, "{\"removed\":1}");
	resp_free(&r);
	cr_assert_eq(count("alice@example.com"), 1);
	cr_assert_eq(changes, 1);

	http("DELETE", "/api/v1/registrations/alice@example.com",
	     "{\"contact\": \"<sip:alice@192.0.2.2:5062>;expires=600\"}", &r);
	check_error(&r, 404, "no such binding");
	resp_free(&r);
	http("DELETE", "/api/v1/registrations/alice@example.com",
	     "{\"contact\": \"sip:alice@192.0.2.1:5060\"}", &r);
	check_error(&r, 404, "no such binding");
	resp_free(&r);
	cr_assert_eq(count("alice@example.com"), 1);

	/* By +sip.instance and reg-id: the wrong reg-id does not match. */
	http("DELETE", "/api/v1/registrations/bob@example.com",
	     "{\"instance\": \"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>\", \"reg_id\": 2}",
	     &r);
	check_error(&r, 404, "no such binding");
	resp_free(&r);
	http("DELETE", "/api/v1/registrations/bob@example.com",
	     "{\"instance\": \"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>\", \"reg_id\": 1}",
	     &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	resp_free(&r);
	cr_assert_eq(count("bob@example.com"), 0);

	http("DELETE", "/api/v1/registrations/nobody@example.com", "{\"contact\": \"<sip:x>\"}",
	     &r);
	check_error(&r, 404, "no such binding");
	resp_free(&r);
}

Test(registrations, bad_bodies, .init = start, .fini = stop)
{
	static const struct {
		const char *body, *error;
	} t[] = {
		{ "not json", "the body is not a JSON object" },
		{ "[\"<sip:a>\"]", "the body is not a JSON object" },
		{ "\"<sip:a>\"", "the body is not a JSON object" },
		{ "{\"contact\": \"<sip:a>\"", "the body is not a JSON object" },
		{ "{}", "the body names one binding: {\"contact\": \"...\"} or "
			"{\"instance\": \"...\", \"reg_id\": n}" },
		{ "{\"contact\": \"<sip:a>\", \"instance\": \"<urn:x>\"}",
		  "the body names one binding: {\"contact\": \"...\"} or "
		  "{\"instance\": \"...\", \"reg_id\": n}" },
		{ "{\"reg_id\": 1}", "the body names one binding: {\"contact\": \"...\"} or "
				     "{\"instance\": \"...\", \"reg_id\": n}" },
		{ "{\"contact\": 5}", "contact and instance are non-empty strings" },
		{ "{\"contact\": \"\"}", "contact and instance are non-empty strings" },
		{ "{\"instance\": null}", "contact and instance are non-empty strings" },
		{ "{\"instance\": \"<urn:x>\", \"reg_id\": -1}",
		  "reg_id is a whole number from 0 to 4294967295" },
		{ "{\"instance\": \"<urn:x>\", \"reg_id\": 1.5}",
		  "reg_id is a whole number from 0 to 4294967295" },
		{ "{\"instance\": \"<urn:x>\", \"reg_id\": 4294967296}",
		  "reg_id is a whole number from 0 to 4294967295" },
		{ "{\"instance\": \"<urn:x>\", \"reg_id\": \"1\"}",
		  "reg_id is a whole number from 0 to 4294967295" },
		{ "{\"Contact\": \"<sip:a>\"}",
		  "unknown member in the body (takes contact, or instance and reg_id)" },
	};
	struct resp r;

	fill();
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		http("DELETE", "/api/v1/registrations/alice@example.com", t[i].body, &r);
		check_error(&r, 400, t[i].error);
		resp_free(&r);
	}
	cr_assert_eq(count("alice@example.com"), 2);
	cr_assert_eq(changes, 0);
}

Test(registrations, methods, .init = start, .fini = stop)
{
	struct resp r;

	fill();
	/* The collection is read-only: no DELETE of every registration at once. */
	http("DELETE", "/api/v1/registrations", NULL, &r);
	check_error(&r, 405, "method not allowed: DELETE (allowed: GET, HEAD)");
	resp_free(&r);
	http("POST", "/api/v1/registrations", "{}", &r);
	check_error(&r, 405, "method not allowed: POST (allowed: GET, HEAD)");
	resp_free(&r);
	http("PUT", "/api/v1/registrations/alice@example.com", "{}", &r);
	check_error(&r, 405, "method not allowed: PUT (allowed: GET, HEAD, DELETE)");
	resp_free(&r);
	cr_assert_eq(count("alice@example.com"), 2);
	/* A trailing '/' is the collection. */
	http("GET", "/api/v1/registrations/", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(cJSON_GetArraySize(item(r.json, "registrations")), 2);
	resp_free(&r);
}

/* ---- suspensions ---- */

static void fail_times(const char *user, const char *domain, const char *addr, unsigned n)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;

	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
	} else {
		cr_assert_eq(inet_pton(AF_INET6, addr, &a6->sin6_addr), 1);
		a6->sin6_family = AF_INET6;
	}
	for (unsigned i = 0; i < n; i++)
		suspend_failure(&susp, sv_cstr(user), sv_cstr(domain), (struct sockaddr *)&ss,
				(uint64_t)fake_now);
}

Test(suspensions, list_and_clear, .init = start, .fini = stop)
{
	const cJSON *list, *e;
	struct resp r;

	http("GET", "/api/v1/suspensions", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body,
			 "{\"enabled\":true,\"total\":0,\"truncated\":false,\"suspensions\":[]}");
	resp_free(&r);

	/* retry 3: alice from 192.0.2.7 three times, bob from 2001:db8::7 twice (not yet). */
	fail_times("alice", "example.com", "192.0.2.7", 3);
	fake_now += 10 * 1000;
	fail_times("bob", "example.com", "2001:db8::7", 2);
	fail_times("carol", "example.com", "2001:db8::7", 1);
	fake_now += 500;

	http("GET", "/api/v1/suspensions", NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(num(r.json, "total"), 3, "%s", r.body);
	list = item(r.json, "suspensions");
	cr_assert_eq(cJSON_GetArraySize(list), 3);
	/* Users first, then addresses, each by key. */
	e = cJSON_GetArrayItem(list, 0);
	cr_assert_str_eq(str(e, "key"), "alice@example.com");
	cr_assert_str_eq(str(e, "type"), "user");
	cr_assert_eq(num(e, "failures"), 3);
	cr_assert_eq(num(e, "until"), (double)(NOW + 60 * 1000));
	cr_assert_eq(num(e, "remaining_s"), 50); /* 49.5 s: rounded up */
	cr_assert_eq(cJSON_GetArraySize(e), 5);
	e = cJSON_GetArrayItem(list, 1);
	cr_assert_str_eq(str(e, "key"), "192.0.2.7");
	cr_assert_str_eq(str(e, "type"), "address");
	cr_assert_eq(num(e, "failures"), 3);
	e = cJSON_GetArrayItem(list, 2);
	cr_assert_str_eq(str(e, "key"), "2001:db8::7");
	cr_assert_str_eq(str(e, "type"), "address");
	cr_assert_eq(num(e, "until"), (double)(NOW + 10 * 1000 + 60 * 1000));
	resp_free(&r);

	/* Clear, with the key percent-encoded or not. */
	http("DELETE", "/api/v1/suspensions/alice%40example.com", NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(r.body, "{\"cleared\":\"alice@example.com\"}");
	resp_free(&r);
	cr_assert(!suspend_check(&susp, SV_LIT("alice"), SV_LIT("example.com"), NULL,
				 (uint64_t)fake_now));
	http("DELETE", "/api/v1/suspensions/alice@example.com", NULL, &r);
	check_error(&r, 404, "no such suspension");
	resp_free(&r);
	http("DELETE", "/api/v1/suspensions/2001:db8::7", NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	resp_free(&r);
	http("DELETE", "/api/v1/suspensions/192.0.2.99", NULL, &r);
	check_error(&r, 404, "no such suspension");
	resp_free(&r);
	http("DELETE", "/api/v1/suspensions/not-a-key", NULL, &r);
	check_error(&r, 404, "no such suspension");
	resp_free(&r);

	http("GET", "/api/v1/suspensions", NULL, &r);
	cr_assert_eq(num(r.json, "total"), 1);
	cr_assert_str_eq(str(cJSON_GetArrayItem(item(r.json, "suspensions"), 0), "key"),
			 "192.0.2.7");
	resp_free(&r);

	/* A suspension that ended is no longer listed. */
	fake_now = NOW + 60 * 1000;
	http("GET", "/api/v1/suspensions", NULL, &r);
	cr_assert_eq(num(r.json, "total"), 0);
	resp_free(&r);
}

Test(suspensions, methods, .init = start, .fini = stop)
{
	struct resp r;

	http("DELETE", "/api/v1/suspensions", NULL, &r);
	check_error(&r, 405, "method not allowed: DELETE (allowed: GET, HEAD)");
	resp_free(&r);
	http("GET", "/api/v1/suspensions/192.0.2.7", NULL, &r);
	check_error(&r, 405, "method not allowed: GET (allowed: DELETE)");
	resp_free(&r);
}

Test(suspensions, off, .init = start_nosusp, .fini = stop)
{
	struct resp r;

	http("GET", "/api/v1/suspensions", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body,
			 "{\"enabled\":false,\"total\":0,\"truncated\":false,\"suspensions\":[]}");
	resp_free(&r);
	http("DELETE", "/api/v1/suspensions/192.0.2.7", NULL, &r);
	check_error(&r, 404, "no such suspension");
	resp_free(&r);
}

/* ---- setting up ---- */

Test(init, errors, .init = start, .fini = stop)
{
	struct reg_api other;
	struct reg_api_source src = { .loc = loc };

	cr_assert_eq(reg_api_init(NULL, m, &src), -EINVAL);
	cr_assert_eq(reg_api_init(&other, NULL, &src), -EINVAL);
	cr_assert_eq(reg_api_init(&other, m, NULL), -EINVAL);
	cr_assert_eq(reg_api_init(&other, m, &src), -EEXIST);
}

/* No location table (registrar off): an empty list, no AOR. */
Test(init, no_table)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct mgmt_source ms = { .version = "0.1.0" };
	struct reg_api_source src = { 0 };
	struct resp r;
	char err[256];

	cr_assert_eq(mgmt_start(&m, (struct sockaddr *)&a, sizeof(a), &ms, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(reg_api_init(&api, m, &src), 0);
	http("GET", "/api/v1/registrations", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body,
			 "{\"aors\":0,\"bindings\":0,\"truncated\":false,\"registrations\":[]}");
	resp_free(&r);
	http("GET", "/api/v1/registrations/alice@example.com", NULL, &r);
	check_error(&r, 404, "no such AOR");
	resp_free(&r);
	http("DELETE", "/api/v1/registrations/alice@example.com", NULL, &r);
	check_error(&r, 404, "no such AOR");
	resp_free(&r);
	mgmt_stop(m);
	m = NULL;
}
