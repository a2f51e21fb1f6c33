/* SPDX-License-Identifier: MIT */
/*
 * Tests of cli/cmd_uplinks.h: `uplinks` against a management endpoint started
 * in-process (core/mgmt.h driven by a loop thread: cli_fixture.h) whose
 * /api/v1/uplinks route serves canned JSON of core/uplink_api.h's shape and
 * logs what it was asked: the table (every state, the count line, a name with
 * control characters), one uplink, --json, register and unregister (POST to
 * the right path, the acknowledgement, 404, 503 while stopping), other HTTP
 * errors, -c, usage errors; and against a tiny server with canned bytes
 * (cli_fixture.h): answers that are not sipring's JSON; and an unreachable
 * endpoint. The test thread changes what the route serves only while no
 * command runs.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cmd_uplinks.h"
#include "cli_fixture.h"

#define HINT " (is sipring running? http.listen in the config)"

static const struct cli_cmd uplinks = { "uplinks", cmd_uplinks_run };

/* ---- the endpoint: core/mgmt.h with a canned /api/v1/uplinks ---- */

/*
 * What the route serves, in core/uplink_api.h's shape: every state; a name
 * with C0 controls (SOH, ESC), a C1 control (U+009B, CSI) and an 'é' (two
 * octets, one column); a registrar not yet known ("").
 */
static const char uplinks_json[] =
	"{\"uplinks\":["
	"{\"name\":\"carrier-a\",\"state\":\"registered\",\"registrar\":\"203.0.113.5:5060\","
	"\"transport\":\"udp\",\"aor\":\"sip:1000@carrier-a.example\","
	"\"contact\":\"sip:1000@192.0.2.10:5060\",\"call_id\":\"3f2a9c1e@sipring\","
	"\"cseq\":7,\"expires_asked\":3600,\"expires_granted\":3600,\"expires_in\":3300,"
	"\"next_action_in\":1500,\"last_status\":200,\"last_reason\":\"OK\",\"failures\":0,"
	"\"send_unregister\":true,\"enabled\":true,\"busy\":false},"
	"{\"name\":\"carrier-b\",\"state\":\"failed\",\"registrar\":\"198.51.100.7:5061\","
	"\"transport\":\"tcp\",\"aor\":\"sip:trunk@carrier-b.example\","
	"\"contact\":\"sip:trunk@192.0.2.10:5060;transport=tcp\",\"call_id\":\"77b0@sipring\","
	"\"cseq\":12,\"expires_asked\":600,\"expires_granted\":0,\"expires_in\":0,"
	"\"next_action_in\":27,\"last_status\":403,\"last_reason\":\"Forbidden\","
	"\"failures\":3,\"send_unregister\":false,\"enabled\":true,\"busy\":false},"
	"{\"name\":\"bad\\u0001na\\u001b[31mme\\u009b\\u00e9\",\"state\":\"registering\","
	"\"registrar\":\"\",\"transport\":\"udp\",\"aor\":\"sip:x@bad.example\","
	"\"contact\":\"sip:x@192.0.2.10\",\"call_id\":\"c3@sipring\",\"cseq\":1,"
	"\"expires_asked\":3600,\"expires_granted\":0,\"expires_in\":0,\"next_action_in\":-1,"
	"\"last_status\":0,\"last_reason\":\"\",\"failures\":0,\"send_unregister\":true,"
	"\"enabled\":true,\"busy\":true},"
	"{\"name\":\"carrier-d\",\"state\":\"disabled\",\"registrar\":\"\","
	"\"transport\":\"udp\",\"aor\":\"sip:d@carrier-d.example\","
	"\"contact\":\"sip:d@192.0.2.10\",\"call_id\":\"d4@sipring\",\"cseq\":0,"
	"\"expires_asked\":3600,\"expires_granted\":0,\"expires_in\":0,\"next_action_in\":-1,"
	"\"last_status\":0,\"last_reason\":\"\",\"failures\":0,\"send_unregister\":true,"
	"\"enabled\":false,\"busy\":false},"
	"{\"name\":\"carrier-e\",\"state\":\"unregistered\",\"registrar\":\"192.0.2.99:5060\","
	"\"transport\":\"udp\",\"aor\":\"sip:e@carrier-e.example\","
	"\"contact\":\"sip:e@192.0.2.10\",\"call_id\":\"e5@sipring\",\"cseq\":4,"
	"\"expires_asked\":120,\"expires_granted\":120,\"expires_in\":0,"
	"\"next_action_in\":-1,\"last_status\":408,\"last_reason\":\"Request Timeout\","
	"\"failures\":1,\"send_unregister\":true,\"enabled\":true,\"busy\":false}"
	"]}";

static struct cli_endpoint ep;
static const char *const url = ep.url;
static const char *serving; /* the list the route serves */
static bool stopping;	    /* register answers 503 */
static char asked[256];	    /* "METHOD subpath" of the last request to the route */

/* The uplink called name in the list served, a copy; NULL when none. */
static cJSON *find(const char *name, size_t len)
{
	cJSON *root = cJSON_Parse(serving), *u, *found = NULL;

	cJSON_ArrayForEach(u, cJSON_GetObjectItem(root, "uplinks"))
	{
		const char *n = cJSON_GetObjectItem(u, "name")->valuestring;

		if (strlen(n) == len && memcmp(n, name, len) == 0)
			found = cJSON_Duplicate(u, true);
	}
	cJSON_Delete(root);
	return found;
}

/* core/uplink_api.c's answers below /api/v1/uplinks, from the canned list. */
static int item(const char *method, const char *subpath, cJSON **out)
{
	const char *name = subpath + 1, *slash;
	cJSON *u;

	slash = strchr(name, '/');
	u = find(name, slash ? (size_t)(slash - name) : strlen(name));
	if (!slash) {
		if (strcmp(method, "GET") != 0) {
			cJSON_Delete(u);
			*out = cli_error_json("use GET, or POST to .../register or .../unregister");
			return 405;
		}
		*out = u ? u : cli_error_json("no such uplink");
		return u ? 200 : 404;
	}
	if (strcmp(slash, "/register") != 0 && strcmp(slash, "/unregister") != 0) {
		cJSON_Delete(u);
		*out = cli_error_json("unknown action (register, unregister)");
		return 404;
	}
	if (strcmp(method, "POST") != 0) {
		cJSON_Delete(u);
		*out = cli_error_json("use POST");
		return 405;
	}
	if (!u) {
		*out = cli_error_json("no such uplink");
		return 404;
	}
	if (stopping && strcmp(slash, "/register") == 0) {
		cJSON_Delete(u);
		*out = cli_error_json("stopping");
		return 503;
	}
	*out = cJSON_CreateObject();
	cJSON_AddStringToObject(*out, "name", cJSON_GetObjectItem(u, "name")->valuestring);
	cJSON_AddStringToObject(*out, "action", slash + 1);
	cJSON_Delete(u);
	return 202;
}

/* GET /api/v1/uplinks (405 "use GET" for another method); the rest: item(). */
static struct cli_route route = { .path = "/api/v1/uplinks",
				  .not_get = "use GET",
				  .item = item,
				  .serving = &serving,
				  .asked = asked,
				  .asked_size = sizeof(asked) };

static void start(void)
{
	serving = uplinks_json;
	stopping = false;
	cli_endpoint_serve(&ep, &route);
}

static void stop(void)
{
	cli_endpoint_stop(&ep);
}

TestSuite(uplinks, .init = start, .fini = stop);

/* ---- the table ---- */

Test(uplinks, table)
{
	/* Widths count characters: the name of 15 (an 'é' of two octets) pads with 2 spaces. */
	cli_run_ok(
		&uplinks, (const char *[]){ "--url", url, NULL },
		"name             state         registrar          tp           expires    next  "
		"last                 fails\n"
		"carrier-a        registered    203.0.113.5:5060   udp  55m00s/1h00m00s  25m00s  "
		"200 OK               0\n"
		"carrier-b        failed        198.51.100.7:5061  tcp                -     27s  "
		"403 Forbidden        3\n"
		"bad?na?[31mme?\xc3\xa9  registering   -                  udp                -     "
		" "
		" -  "
		"-                    0\n"
		"carrier-d        disabled      -                  udp                -       -  "
		"-                    0\n"
		"carrier-e        unregistered  192.0.2.99:5060    udp         0s/2m00s       -  "
		"408 Request Timeout  1\n"
		"\n"
		"5 uplinks: 1 registered, 1 registering, 1 unregistered, 1 failed, 1 disabled\n");
	cr_assert_str_eq(asked, "GET ");
}

Test(uplinks, table_one_and_other_states)
{
	serving = "{\"uplinks\":[{\"name\":\"x\",\"state\":\"registered\",\"registrar\":"
		  "\"[2001:db8::5]:5060\",\"transport\":\"tcp\",\"expires_granted\":90000,"
		  "\"expires_in\":86461,\"next_action_in\":86161,\"last_status\":200,"
		  "\"last_reason\":\"OK\",\"failures\":0}]}";
	cli_run_ok(
		&uplinks, (const char *[]){ "--url", url, NULL },
		"name  state       registrar           tp             expires       next  last    "
		"fails\n"
		"x     registered  [2001:db8::5]:5060  tcp  1d00h01m/1d01h00m  23h56m01s  200 OK  "
		"0\n"
		"\n"
		"1 uplink: 1 registered\n");
	/* A state this version does not know, a missing one, and an element that is not an object. */
	serving = "{\"uplinks\":[{\"name\":\"y\",\"state\":\"paused\"},{\"name\":\"z\"},7]}";
	cli_run_ok(&uplinks, (const char *[]){ "--url", url, NULL },
		   "name  state   registrar  tp  expires  next  last  fails\n"
		   "y     paused  -          -         -     -  -     -\n"
		   "z     -       -          -         -     -  -     -\n"
		   "\n"
		   "2 uplinks: 2 other\n");
}

Test(uplinks, empty)
{
	serving = "{\"uplinks\":[]}";
	cli_run_ok(&uplinks, (const char *[]){ "--url", url, NULL }, "no uplinks\n");
}

Test(uplinks, json)
{
	struct cli_run r;
	cJSON *j, *list;

	cli_run(&r, &uplinks, (const char *[]){ "--json", "--url", url, NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_empty(r.err);
	cr_assert(strncmp(r.out, "{\n\t\"uplinks\":\t[{\n", 17) == 0, "%s", r.out);
	j = cJSON_Parse(r.out);
	cr_assert_not_null(j);
	list = cJSON_GetObjectItem(j, "uplinks");
	cr_assert_eq(cJSON_GetArraySize(list), 5);
	/* The daemon's JSON as it is: escaped by cJSON, never altered. */
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 2), "name")->valuestring,
			 "bad\x01na\x1b[31mme\xc2\x9b\xc3\xa9");
	cr_assert_not_null(strstr(r.out, "\"bad\\u0001na\\u001b[31mme"));
	cJSON_Delete(j);
	cli_run_free(&r);
}

/* ---- one uplink ---- */

Test(uplinks, one)
{
	cli_run_ok(&uplinks, (const char *[]){ "--url", url, "carrier-b", NULL },
		   "name:            carrier-b\n"
		   "state:           failed\n"
		   "enabled:         yes\n"
		   "busy:            no\n"
		   "registrar:       198.51.100.7:5061\n"
		   "transport:       tcp\n"
		   "aor:             sip:trunk@carrier-b.example\n"
		   "contact:         sip:trunk@192.0.2.10:5060;transport=tcp\n"
		   "call_id:         77b0@sipring\n"
		   "cseq:            12\n"
		   "expires_asked:   10m00s\n"
		   "expires_granted: -\n"
		   "expires_in:      0s\n"
		   "next_action_in:  27s\n"
		   "last_status:     403\n"
		   "last_reason:     Forbidden\n"
		   "failures:        3\n"
		   "send_unregister: no\n");
	cr_assert_str_eq(asked, "GET /carrier-b");
	cli_run_ok(&uplinks, (const char *[]){ "carrier-a", "--url", url, NULL },
		   "name:            carrier-a\n"
		   "state:           registered\n"
		   "enabled:         yes\n"
		   "busy:            no\n"
		   "registrar:       203.0.113.5:5060\n"
		   "transport:       udp\n"
		   "aor:             sip:1000@carrier-a.example\n"
		   "contact:         sip:1000@192.0.2.10:5060\n"
		   "call_id:         3f2a9c1e@sipring\n"
		   "cseq:            7\n"
		   "expires_asked:   1h00m00s\n"
		   "expires_granted: 1h00m00s\n"
		   "expires_in:      55m00s\n"
		   "next_action_in:  25m00s\n"
		   "last_status:     200\n"
		   "last_reason:     OK\n"
		   "failures:        0\n"
		   "send_unregister: yes\n");
}

/* What the daemon says with no request yet, and a name that is not printable. */
Test(uplinks, one_unprintable)
{
	struct cli_run r;

	/* The name is sent percent-encoded and arrives as it is. */
	cli_run(&r, &uplinks,
		(const char *[]){ "--url", url, "bad\x01na\x1b[31mme\xc2\x9b\xc3\xa9", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_empty(r.err);
	cr_assert(strncmp(r.out,
			  "name:            bad?na?[31mme?\xc3\xa9\n"
			  "state:           registering\n"
			  "enabled:         yes\n"
			  "busy:            yes\n"
			  "registrar:       -\n",
			  strlen("name:            bad?na?[31mme?\xc3\xa9\n"
				 "state:           registering\n"
				 "enabled:         yes\n"
				 "busy:            yes\n"
				 "registrar:       -\n")) == 0,
		  "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\nexpires_granted: -\n"
					 "expires_in:      0s\n"
					 "next_action_in:  -\n"
					 "last_status:     -\n"
					 "last_reason:     -\n"));
	cli_run_free(&r);
}

Test(uplinks, one_json)
{
	struct cli_run r;
	cJSON *j;

	cli_run(&r, &uplinks, (const char *[]){ "--url", url, "--json", "carrier-e", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	j = cJSON_Parse(r.out);
	cr_assert_not_null(j);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "state")->valuestring, "unregistered");
	cr_assert_eq(cJSON_GetObjectItem(j, "last_status")->valueint, 408);
	cJSON_Delete(j);
	cli_run_free(&r);
}

Test(uplinks, one_unknown)
{
	cli_run_fail(&uplinks, (const char *[]){ "--url", url, "carrier-z", NULL }, 1,
		     "sipringctl uplinks: no uplink named carrier-z\n");
	cli_run_fail(&uplinks, (const char *[]){ "--url", url, "evil\x1b]0;x\x07", NULL }, 1,
		     "sipringctl uplinks: no uplink named evil?]0;x?\n");
}

/* ---- register, unregister ---- */

Test(uplinks, register_unregister)
{
	cli_run_ok(&uplinks, (const char *[]){ "register", "carrier-b", "--url", url, NULL },
		   "carrier-b: register requested\n");
	cr_assert_str_eq(asked, "POST /carrier-b/register");
	cli_run_ok(&uplinks, (const char *[]){ "--url", url, "unregister", "carrier-a", NULL },
		   "carrier-a: unregister requested\n");
	cr_assert_str_eq(asked, "POST /carrier-a/unregister");
	cli_run_ok(&uplinks,
		   (const char *[]){ "--url", url, "unregister", "carrier-a", "--json", NULL },
		   "{\n\t\"name\":\t\"carrier-a\",\n\t\"action\":\t\"unregister\"\n}\n");
	/* After "--", a NAME that looks like an option. */
	serving = "{\"uplinks\":[{\"name\":\"-x\",\"state\":\"failed\"}]}";
	cli_run_ok(&uplinks, (const char *[]){ "--url", url, "register", "--", "-x", NULL },
		   "-x: register requested\n");
	cr_assert_str_eq(asked, "POST /-x/register");
}

Test(uplinks, register_errors)
{
	char want[256];

	cli_run_fail(&uplinks, (const char *[]){ "--url", url, "register", "carrier-z", NULL }, 1,
		     "sipringctl uplinks: no uplink named carrier-z\n");
	cr_assert_str_eq(asked, "POST /carrier-z/register");
	cli_run_fail(&uplinks, (const char *[]){ "--url", url, "unregister", "carrier-z", NULL }, 1,
		     "sipringctl uplinks: no uplink named carrier-z\n");
	stopping = true;
	snprintf(want, sizeof(want),
		 "sipringctl uplinks: %s/api/v1/uplinks/carrier-a/register: HTTP 503: stopping\n",
		 url);
	cli_run_fail(&uplinks, (const char *[]){ "--url", url, "register", "carrier-a", NULL }, 1,
		     want);
	/* Unregistering while the node stops is allowed. */
	cli_run_ok(&uplinks, (const char *[]){ "--url", url, "unregister", "carrier-a", NULL },
		   "carrier-a: unregister requested\n");
}

/* ---- HTTP errors ---- */

/* An HTTP error that is not an uplink's 404: the URL asked, the status, the error. */
Test(uplinks, http_error)
{
	char base[96], want[256];

	snprintf(base, sizeof(base), "%s/prefix/", url);
	snprintf(want, sizeof(want),
		 "sipringctl uplinks: %s/prefix/api/v1/uplinks: HTTP 404: "
		 "no such endpoint: /prefix/api/v1/uplinks\n",
		 url);
	cli_run_fail(&uplinks, (const char *[]){ "--url", base, NULL }, 1, want);
	snprintf(want, sizeof(want),
		 "sipringctl uplinks: %s/prefix/api/v1/uplinks/carrier-a: HTTP 404: "
		 "no such endpoint: /prefix/api/v1/uplinks/carrier-a\n",
		 url);
	cli_run_fail(&uplinks, (const char *[]){ "--url", base, "carrier-a", NULL }, 1, want);
}

/* The daemon's list that is not what the command knows: not sipring's JSON. */
Test(uplinks, not_our_json)
{
	char want[256];

	snprintf(want, sizeof(want),
		 "sipringctl uplinks: %s/api/v1/uplinks: the answer is not sipring's JSON\n", url);
	serving = "{\"registrations\":[]}";
	cli_run_fail(&uplinks, (const char *[]){ "--url", url, NULL }, 1, want);
	serving = "[1,2]";
	cli_run_fail(&uplinks, (const char *[]){ "--url", url, NULL }, 1, want);
	serving = "{\"uplinks\":{\"name\":\"a\"}}";
	cli_run_fail(&uplinks, (const char *[]){ "--url", url, NULL }, 1, want);
}

/* -c: the endpoint of the configuration's http.listen. */
Test(uplinks, config)
{
	char path[64], want[256];

	cli_config(path, sizeof(path), "http:\n  listen: 0.0.0.0:%u\n", mgmt_port(ep.m));
	cli_run_ok(&uplinks, (const char *[]){ "-c", path, "register", "carrier-d", NULL },
		   "carrier-d: register requested\n");
	unlink(path);
	cli_config(path, sizeof(path), "http:\n  listen: off\n");
	snprintf(want, sizeof(want),
		 "sipringctl uplinks: %s: http.listen is off: the management endpoint is "
		 "disabled\n",
		 path);
	cli_run_fail(&uplinks, (const char *[]){ "--config", path, NULL }, 2, want);
	unlink(path);
}

Test(uplinks, usage)
{
	static const struct {
		const char *args[8];
		const char *err;
	} t[] = {
		{ { "--bogus" }, "unknown option '--bogus'" },
		{ { "-u", "http://h:1" }, "unknown option '-u'" },
		{ { "carrier-a", "carrier-b" }, "unexpected argument 'carrier-b'" },
		{ { "register" }, "missing the NAME after 'register'" },
		{ { "unregister", "--json" }, "missing the NAME after 'unregister'" },
		{ { "register", "a", "b" }, "unexpected argument 'b'" },
		{ { "" }, "an uplink's NAME cannot be empty: ''" },
		{ { "register", "" }, "an uplink's NAME cannot be empty: ''" },
		{ { "--url" }, "missing value for '--url'" },
		{ { "-c", "x.yaml", "--url", "http://h:1" },
		  "give one of -c and --url, not both: 'http://h:1'" },
		{ { "--url", "http://a:1", "--url=http://b:2" },
		  "given twice: '--url=http://b:2'" },
		{ { "--url", "https://a:1" }, "--url takes http://HOST:PORT, not 'https://a:1'" },
	};
	char want[512];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(want, sizeof(want),
			 "sipringctl uplinks: %s\nusage: sipringctl uplinks " CMD_UPLINKS_ARGS "\n",
			 t[i].err);
		cli_run_fail(&uplinks, t[i].args, 2, want);
	}
	cr_assert_str_empty(asked, "a usage error asked the daemon: %s", asked);
	{
		struct cli_run r;

		cli_run(&r, &uplinks, (const char *[]){ "--help", NULL });
		cr_assert_eq(r.status, 0);
		cr_assert(strncmp(r.out, "usage: sipringctl uplinks " CMD_UPLINKS_ARGS "\n",
				  strlen("usage: sipringctl uplinks " CMD_UPLINKS_ARGS "\n")) == 0);
		cr_assert_not_null(strstr(r.out, "exit status:"));
		cr_assert_str_empty(r.err);
		cli_run_free(&r);
	}
}

/* ---- canned bytes: answers that are not sipring's JSON ---- */

Test(canned, not_json)
{
	static const struct {
		const char *answer, *args[4], *path, *err;
		int status;
	} t[] = {
		/* HTML from something else on the port. */
		{ "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 21\r\n\r\n"
		  "<html>welcome</html>\n",
		  { NULL },
		  "/api/v1/uplinks",
		  "the answer is not sipring's JSON" },
		/* JSON cut short. */
		{ "HTTP/1.1 200 OK\r\nContent-Length: 24\r\n\r\n{\"uplinks\":[{\"name\":\"a\",",
		  { NULL },
		  "/api/v1/uplinks",
		  "the answer is not sipring's JSON" },
		/* One uplink: an object without a name. */
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
		  { "carrier-a" },
		  "/api/v1/uplinks/carrier-a",
		  "the answer is not sipring's JSON" },
		/* A 202 that does not say the action. */
		{ "HTTP/1.1 202 Accepted\r\nContent-Length: 4\r\n\r\nnull",
		  { "register", "carrier-a" },
		  "/api/v1/uplinks/carrier-a/register",
		  "the answer is not sipring's JSON" },
		/* An error page of a proxy: the status, no error text. */
		{ "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 11\r\n\r\nBad Gateway",
		  { "unregister", "carrier-a" },
		  "/api/v1/uplinks/carrier-a/unregister",
		  "HTTP 502" },
		/* A 404 that is not sipring's (no "error"): the URL, not "no uplink named". */
		{ "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
		  { "carrier-a" },
		  "/api/v1/uplinks/carrier-a",
		  "HTTP 404" },
		/* An error text with controls is printed safely. */
		{ "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 24\r\n\r\n"
		  "{\"error\":\"x\\u001b[2Jy\"}\n",
		  { NULL },
		  "/api/v1/uplinks",
		  "HTTP 500: x?[2Jy" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cli_canned c = { .answer = t[i].answer };
		char want[512], method[8];
		struct cli_run r;

		cli_run_canned(&c, &uplinks, &r, t[i].args);
		snprintf(want, sizeof(want), "sipringctl uplinks: %s%s: %s\n", c.url, t[i].path,
			 t[i].err);
		cr_assert_eq(r.status, 1, "%zu: %d %s", i, r.status, r.err);
		cr_assert_str_eq(r.err, want, "%zu", i);
		cr_assert_str_empty(r.out);
		/* The request line: the method and the path asked. */
		snprintf(method, sizeof(method), "%s",
			 t[i].args[0] && t[i].args[1] ? "POST" : "GET");
		snprintf(want, sizeof(want), "%s %s HTTP/1.1\r\n", method, t[i].path);
		cr_assert(strncmp(c.request, want, strlen(want)) == 0, "%zu: %s", i, c.request);
		if (strcmp(method, "POST") == 0)
			cr_assert_not_null(strstr(c.request, "\r\nContent-Length: 0\r\n"));
		cli_run_free(&r);
	}
}

/* ---- no daemon ---- */

Test(errors, unreachable)
{
	uint16_t port = cli_dead_port();
	char opt[64], want[256];

	snprintf(opt, sizeof(opt), "http://127.0.0.1:%u", port);
	snprintf(want, sizeof(want),
		 "sipringctl uplinks: cannot connect to 127.0.0.1:%u: Connection refused" HINT "\n",
		 port);
	cli_run_fail(&uplinks, (const char *[]){ "--url", opt, NULL }, 1, want);
	cli_run_fail(&uplinks, (const char *[]){ "--url", opt, "register", "carrier-a", NULL }, 1,
		     want);
}
