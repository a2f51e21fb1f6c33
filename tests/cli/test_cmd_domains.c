/* SPDX-License-Identifier: MIT */
/*
 * Tests of cli/cmd_domains.h: `domains` against a management endpoint started
 * in-process (core/mgmt.h driven by a loop thread: cli_fixture.h)
 * whose /api/v1/domains route serves canned JSON of core/domain_api.h's shape
 * and logs what it was asked: the table (every status, the addresses cut to
 * the column's width, the count line, a name and an error with control
 * characters, "truncated"), the entries of one name (host, SRV, NAPTR,
 * NXDOMAIN, literal, stale), --json, resolve NAME and resolve --all (POST to
 * the right path, the acknowledgement, 404), names sent percent-encoded, other
 * HTTP errors, -c, usage errors; and against a tiny server with canned bytes
 * (cli_fixture.h): answers that are not sipring's JSON; and an
 * unreachable endpoint. The test thread changes what the route serves only
 * while no command runs.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cmd_domains.h"
#include "cli_fixture.h"

#define HINT " (is sipring running? http.listen in the config)"

static const struct cli_cmd domains = { "domains", cmd_domains_run };

/* ---- the endpoint: core/mgmt.h with a canned /api/v1/domains ---- */

/*
 * What the route serves, in core/domain_api.h's shape, sorted as the daemon
 * sorts: a literal address; an SRV name whose addresses do not fit the column
 * (three of five shown); a NAPTR entry gone stale; host and A of one name; an
 * NXDOMAIN name; a pending one; one with a name and an error holding C0
 * controls (ESC), a C1 control (U+009B, CSI) and an 'é' (two octets, one
 * column); a status this version does not know.
 */
static const char domains_json[] =
	"{\"domains\":["
	"{\"name\":\"192.0.2.99\",\"kind\":\"host\",\"status\":\"ok\",\"fail\":\"\","
	"\"error\":\"\",\"node\":\"\",\"literal\":true,\"busy\":false,\"ttl\":0,\"ttl_left\":0,"
	"\"resolved_at\":0,\"expires_at\":0,\"stale_until\":0,\"next_refresh\":0,"
	"\"next_refresh_in\":-1,\"queries\":0,\"failures\":0,\"targets\":[{\"name\":"
	"\"192.0.2.99\",\"port\":0,\"priority\":0,\"weight\":0,\"order\":0,\"preference\":0,"
	"\"transport\":\"\",\"addresses\":[\"192.0.2.99\"]}]},"

	"{\"name\":\"_sip._udp.carrier.test\",\"kind\":\"srv\",\"status\":\"ok\",\"fail\":\"\","
	"\"error\":\"\",\"node\":\"node-b\",\"literal\":false,\"busy\":false,\"ttl\":300,"
	"\"ttl_left\":299,\"resolved_at\":1700000000000,\"expires_at\":1700000300000,"
	"\"stale_until\":1700086700000,\"next_refresh\":1700000255000,"
	"\"next_refresh_in\":254,\"queries\":5,\"failures\":0,\"targets\":["
	"{\"name\":\"a.carrier.test\",\"port\":5060,\"priority\":10,\"weight\":60,\"order\":0,"
	"\"preference\":0,\"transport\":\"udp\",\"addresses\":[\"192.0.2.10:5060\","
	"\"192.0.2.11:5060\",\"192.0.2.12:5060\",\"192.0.2.13:5060\"]},"
	"{\"name\":\"b.carrier.test\",\"port\":5080,\"priority\":20,\"weight\":10,\"order\":0,"
	"\"preference\":0,\"transport\":\"udp\",\"addresses\":[\"[2001:db8::20]:5080\"]}]},"

	"{\"name\":\"carrier.test\",\"kind\":\"naptr\",\"status\":\"stale\",\"fail\":\"servfail\","
	"\"error\":\"SRV _sip._tcp.carrier.test: SERVFAIL\",\"node\":\"\",\"literal\":false,"
	"\"busy\":false,\"ttl\":60,\"ttl_left\":0,\"resolved_at\":1700000000000,"
	"\"expires_at\":1700000060000,\"stale_until\":1700086460000,"
	"\"next_refresh\":1700000123000,\"next_refresh_in\":3,\"queries\":9,\"failures\":2,"
	"\"targets\":[{\"name\":\"c.carrier.test\",\"port\":5061,\"priority\":5,\"weight\":0,"
	"\"order\":10,\"preference\":50,\"transport\":\"tcp\",\"addresses\":"
	"[\"192.0.2.30:5061\"]},{\"name\":\"d.carrier.test\",\"port\":5060,\"priority\":5,"
	"\"weight\":0,\"order\":20,\"preference\":50,\"transport\":\"udp\",\"addresses\":[]}]},"

	"{\"name\":\"gw.test\",\"kind\":\"host\",\"status\":\"ok\",\"fail\":\"\",\"error\":\"\","
	"\"node\":\"\",\"literal\":false,\"busy\":false,\"ttl\":60,\"ttl_left\":42,"
	"\"resolved_at\":1700000000000,\"expires_at\":1700000060000,"
	"\"stale_until\":1700086460000,\"next_refresh\":1700000051000,\"next_refresh_in\":33,"
	"\"queries\":2,\"failures\":0,\"targets\":[{\"name\":\"gw.test\",\"port\":0,"
	"\"priority\":0,\"weight\":0,\"order\":0,\"preference\":0,\"transport\":\"\","
	"\"addresses\":[\"192.0.2.1\",\"192.0.2.2\",\"2001:db8::1\"]}]},"

	"{\"name\":\"gw.test\",\"kind\":\"a\",\"status\":\"ok\",\"fail\":\"\",\"error\":\"\","
	"\"node\":\"\",\"literal\":false,\"busy\":true,\"ttl\":3600,\"ttl_left\":3599,"
	"\"resolved_at\":1700000000000,\"expires_at\":1700003600000,"
	"\"stale_until\":1700090000000,\"next_refresh\":1700003000000,\"next_refresh_in\":0,"
	"\"queries\":1,\"failures\":0,\"targets\":[{\"name\":\"gw.test\",\"port\":0,"
	"\"priority\":0,\"weight\":0,\"order\":0,\"preference\":0,\"transport\":\"\","
	"\"addresses\":[\"192.0.2.1\",\"192.0.2.2\"]}]},"

	"{\"name\":\"missing.test\",\"kind\":\"host\",\"status\":\"nxdomain\",\"fail\":\"\","
	"\"error\":\"A missing.test: NXDOMAIN\",\"node\":\"\",\"literal\":false,\"busy\":false,"
	"\"ttl\":30,\"ttl_left\":25,\"resolved_at\":1700000000000,\"expires_at\":1700000030000,"
	"\"stale_until\":0,\"next_refresh\":1700000030000,\"next_refresh_in\":25,"
	"\"queries\":2,\"failures\":1,\"targets\":[]},"

	"{\"name\":\"new.test\",\"kind\":\"host\",\"status\":\"pending\",\"fail\":\"\","
	"\"error\":\"\",\"node\":\"\",\"literal\":false,\"busy\":false,\"ttl\":0,\"ttl_left\":0,"
	"\"resolved_at\":0,\"expires_at\":0,\"stale_until\":0,\"next_refresh\":0,"
	"\"next_refresh_in\":0,\"queries\":0,\"failures\":0,\"targets\":[]},"

	"{\"name\":\"x\\u001b[31m\\u009b\\u00e9.test\",\"kind\":\"host\",\"status\":\"timeout\","
	"\"fail\":\"\",\"error\":\"A x: timeout\\u0007\",\"node\":\"\",\"literal\":false,"
	"\"busy\":false,\"ttl\":0,\"ttl_left\":0,\"resolved_at\":1700000000000,"
	"\"expires_at\":0,\"stale_until\":0,\"next_refresh\":1700000030000,"
	"\"next_refresh_in\":86461,\"queries\":1,\"failures\":1,\"targets\":[]},"

	"{\"name\":\"z.test\",\"kind\":\"aaaa\",\"status\":\"paused\"}"
	"],\"truncated\":false}";

static struct cli_endpoint ep;
static const char *const url = ep.url;
static const char *serving; /* the list the route serves */
static char asked[256];	    /* "METHOD subpath" of the last request to the route */

/* {"domains": [the entries called name]} from the list served; NULL when none. */
static cJSON *find(const char *name, size_t len, int *resolvable)
{
	cJSON *root = cJSON_Parse(serving), *e, *found = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(found, "domains");

	*resolvable = 0;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(root, "domains"))
	{
		const char *n = cJSON_GetObjectItem(e, "name")->valuestring;

		if (strlen(n) == len && strncasecmp(n, name, len) == 0) {
			cJSON_AddItemToArray(arr, cJSON_Duplicate(e, true));
			*resolvable += !cJSON_IsTrue(cJSON_GetObjectItem(e, "literal"));
		}
	}
	cJSON_Delete(root);
	if (cJSON_GetArraySize(arr) == 0) {
		cJSON_Delete(found);
		return NULL;
	}
	return found;
}

/* core/domain_api.c's answers below /api/v1/domains, from the canned list. */
static int item(const char *method, const char *subpath, cJSON **out)
{
	const char *name, *slash;
	int resolvable;
	cJSON *f;

	if (strcmp(subpath, "/resolve") == 0 && strcmp(method, "POST") == 0) {
		find("", 0, &resolvable);
		*out = cJSON_CreateObject();
		cJSON_AddNumberToObject(*out, "resolving", 6);
		return 202;
	}
	name = subpath + 1;
	slash = strchr(name, '/');
	f = find(name, slash ? (size_t)(slash - name) : strlen(name), &resolvable);
	if (!slash) {
		if (strcmp(method, "GET") != 0) {
			cJSON_Delete(f);
			*out = cli_error_json("method not allowed");
			return 405;
		}
		*out = f ? f : cli_error_json("no such domain");
		return f ? 200 : 404;
	}
	if (strcmp(slash, "/resolve") != 0) {
		cJSON_Delete(f);
		*out = cli_error_json("unknown action (resolve)");
		return 404;
	}
	if (strcmp(method, "POST") != 0) {
		cJSON_Delete(f);
		*out = cli_error_json("method not allowed");
		return 405;
	}
	if (!f) {
		*out = cli_error_json("no such domain");
		return 404;
	}
	*out = cJSON_CreateObject();
	cJSON_AddStringToObject(
		*out, "name",
		cJSON_GetArrayItem(cJSON_GetObjectItem(f, "domains"), 0)->child->valuestring);
	cJSON_AddNumberToObject(*out, "resolving", resolvable);
	cJSON_Delete(f);
	return 202;
}

/* GET /api/v1/domains (405 "method not allowed" for another method); the rest: item(). */
static struct cli_route route = { .path = "/api/v1/domains",
				  .not_get = "method not allowed",
				  .item = item,
				  .serving = &serving,
				  .asked = asked,
				  .asked_size = sizeof(asked) };

static void start(void)
{
	serving = domains_json;
	cli_endpoint_serve(&ep, &route);
}

static void stop(void)
{
	cli_endpoint_stop(&ep);
}

TestSuite(domains, .init = start, .fini = stop);

/* ---- the table ---- */

Test(domains, table)
{
	/* Widths count characters: "x?[31m?é.test" (an 'é' of two octets) is 13 wide. */
	cli_run_ok(
		&domains, (const char *[]){ "--url", url, NULL },
		"name                    kind   status    addresses                               "
		"            ttl-left      next  error\n"
		"192.0.2.99              host   ok        192.0.2.99                              "
		"                   -         -  -\n"
		"_sip._udp.carrier.test  srv    ok        192.0.2.10:5060,192.0.2.11:5060,192.0.2."
		"12:5060 +2     4m59s     4m14s  -\n"
		"carrier.test            naptr  stale     192.0.2.30:5061                         "
		"                  0s        3s  SRV _sip._tcp.carrier.test: SERVFAIL\n"
		"gw.test                 host   ok        192.0.2.1,192.0.2.2,2001:db8::1         "
		"                 42s       33s  -\n"
		"gw.test                 a      ok        192.0.2.1,192.0.2.2                     "
		"              59m59s       now  -\n"
		"missing.test            host   nxdomain  -                                       "
		"                 25s       25s  A missing.test: NXDOMAIN\n"
		"new.test                host   pending   -                                       "
		"                   -       now  -\n"
		"x?[31m?\xc3\xa9.test           host   timeout   -                                "
		"                          -  1d00h01m  A x: timeout?\n"
		"z.test                  aaaa   paused    -                                       "
		"                   -         -  -\n"
		"\n"
		"9 domains: 4 ok, 1 stale, 1 pending, 1 nxdomain, 1 timeout, 1 other\n");
	cr_assert_str_eq(asked, "GET ");
}

Test(domains, table_one_and_truncated)
{
	serving = "{\"domains\":[{\"name\":\"gw.test\",\"kind\":\"host\",\"status\":\"ok\","
		  "\"literal\":false,\"ttl\":60,\"ttl_left\":60,\"expires_at\":1700000060000,"
		  "\"next_refresh_in\":51,\"error\":\"\",\"targets\":[{\"name\":\"gw.test\","
		  "\"addresses\":[\"2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff\","
		  "\"2001:db8:aaaa:bbbb:cccc:dddd:eeee:fff0\"]}]},7],\"truncated\":true}";
	/* One address longer than half the column: the next is counted, not shown. */
	cli_run_ok(
		&domains, (const char *[]){ "--url", url, NULL },
		"name     kind  status  addresses                                  ttl-left  next  "
		"error\n"
		"gw.test  host  ok      2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff +1     1m00s   51s  "
		"-\n"
		"\n"
		"1 domain: 1 ok\n"
		"truncated: the node lists at most 10000 entries\n");
}

Test(domains, empty)
{
	serving = "{\"domains\":[],\"truncated\":false}";
	cli_run_ok(&domains, (const char *[]){ "--url", url, NULL }, "no domains\n");
}

Test(domains, json)
{
	struct cli_run r;
	cJSON *j, *list;

	cli_run(&r, &domains, (const char *[]){ "--json", "--url", url, NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_empty(r.err);
	cr_assert(strncmp(r.out, "{\n\t\"domains\":\t[{\n", 17) == 0, "%s", r.out);
	j = cJSON_Parse(r.out);
	cr_assert_not_null(j);
	list = cJSON_GetObjectItem(j, "domains");
	cr_assert_eq(cJSON_GetArraySize(list), 9);
	/* The daemon's JSON as it is: escaped by cJSON, never altered. */
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 7), "name")->valuestring,
			 "x\x1b[31m\xc2\x9b\xc3\xa9.test");
	cr_assert_not_null(strstr(r.out, "\"x\\u001b[31m"));
	cJSON_Delete(j);
	cli_run_free(&r);
}

/* ---- one name ---- */

Test(domains, one_host_and_a)
{
	cli_run_ok(&domains, (const char *[]){ "--url", url, "gw.test", NULL },
		   "name:            gw.test\n"
		   "kind:            host\n"
		   "status:          ok\n"
		   "fail:            -\n"
		   "error:           -\n"
		   "node:            this node\n"
		   "literal:         no\n"
		   "busy:            no\n"
		   "ttl:             1m00s\n"
		   "ttl_left:        42s\n"
		   "resolved_at:     2023-11-14T22:13:20Z\n"
		   "expires_at:      2023-11-14T22:14:20Z\n"
		   "stale_until:     2023-11-15T22:14:20Z\n"
		   "next_refresh:    2023-11-14T22:14:11Z\n"
		   "next_refresh_in: 33s\n"
		   "queries:         2\n"
		   "failures:        0\n"
		   "targets:\n"
		   "  gw.test\n"
		   "    192.0.2.1\n"
		   "    192.0.2.2\n"
		   "    2001:db8::1\n"
		   "\n"
		   "name:            gw.test\n"
		   "kind:            a\n"
		   "status:          ok\n"
		   "fail:            -\n"
		   "error:           -\n"
		   "node:            this node\n"
		   "literal:         no\n"
		   "busy:            yes\n"
		   "ttl:             1h00m00s\n"
		   "ttl_left:        59m59s\n"
		   "resolved_at:     2023-11-14T22:13:20Z\n"
		   "expires_at:      2023-11-14T23:13:20Z\n"
		   "stale_until:     2023-11-15T23:13:20Z\n"
		   "next_refresh:    2023-11-14T23:03:20Z\n"
		   "next_refresh_in: now\n"
		   "queries:         1\n"
		   "failures:        0\n"
		   "targets:\n"
		   "  gw.test\n"
		   "    192.0.2.1\n"
		   "    192.0.2.2\n");
	cr_assert_str_eq(asked, "GET /gw.test");
}

/* SRV: port, priority, weight, transport of each target; imported from another node. */
Test(domains, one_srv)
{
	cli_run_ok(&domains, (const char *[]){ "_sip._udp.carrier.test", "--url", url, NULL },
		   "name:            _sip._udp.carrier.test\n"
		   "kind:            srv\n"
		   "status:          ok\n"
		   "fail:            -\n"
		   "error:           -\n"
		   "node:            node-b\n"
		   "literal:         no\n"
		   "busy:            no\n"
		   "ttl:             5m00s\n"
		   "ttl_left:        4m59s\n"
		   "resolved_at:     2023-11-14T22:13:20Z\n"
		   "expires_at:      2023-11-14T22:18:20Z\n"
		   "stale_until:     2023-11-15T22:18:20Z\n"
		   "next_refresh:    2023-11-14T22:17:35Z\n"
		   "next_refresh_in: 4m14s\n"
		   "queries:         5\n"
		   "failures:        0\n"
		   "targets:\n"
		   "  a.carrier.test  port 5060  priority 10  weight 60  transport udp\n"
		   "    192.0.2.10:5060\n"
		   "    192.0.2.11:5060\n"
		   "    192.0.2.12:5060\n"
		   "    192.0.2.13:5060\n"
		   "  b.carrier.test  port 5080  priority 20  weight 10  transport udp\n"
		   "    [2001:db8::20]:5080\n");
}

/* NAPTR gone stale: the failure behind it; order and preference; a target without addresses. */
Test(domains, one_naptr_stale)
{
	cli_run_ok(&domains, (const char *[]){ "--url", url, "carrier.test", NULL },
		   "name:            carrier.test\n"
		   "kind:            naptr\n"
		   "status:          stale\n"
		   "fail:            servfail\n"
		   "error:           SRV _sip._tcp.carrier.test: SERVFAIL\n"
		   "node:            this node\n"
		   "literal:         no\n"
		   "busy:            no\n"
		   "ttl:             1m00s\n"
		   "ttl_left:        0s\n"
		   "resolved_at:     2023-11-14T22:13:20Z\n"
		   "expires_at:      2023-11-14T22:14:20Z\n"
		   "stale_until:     2023-11-15T22:14:20Z\n"
		   "next_refresh:    2023-11-14T22:15:23Z\n"
		   "next_refresh_in: 3s\n"
		   "queries:         9\n"
		   "failures:        2\n"
		   "targets:\n"
		   "  c.carrier.test  port 5061  order 10  preference 50  priority 5  weight 0  "
		   "transport tcp\n"
		   "    192.0.2.30:5061\n"
		   "  d.carrier.test  port 5060  order 20  preference 50  priority 5  weight 0  "
		   "transport udp\n"
		   "    (no addresses)\n");
}

Test(domains, one_nxdomain_literal_pending)
{
	static const char tail[] = "failures:        1\n"
				   "targets:         -\n";
	struct cli_run r;

	cli_run(&r, &domains, (const char *[]){ "--url", url, "missing.test", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "status:          nxdomain\n"
					 "fail:            -\n"
					 "error:           A missing.test: NXDOMAIN\n"),
			   "%s", r.out);
	cr_assert_not_null(strstr(r.out, "ttl:             30s\n"
					 "ttl_left:        25s\n"));
	cr_assert_not_null(strstr(r.out, "stale_until:     -\n"));
	cr_assert_str_eq(r.out + strlen(r.out) - strlen(tail), tail);
	cli_run_free(&r);

	/* A literal address: no TTL, no times, never resolved; its one target. */
	cli_run_ok(&domains, (const char *[]){ "--url", url, "192.0.2.99", NULL },
		   "name:            192.0.2.99\n"
		   "kind:            host\n"
		   "status:          ok\n"
		   "fail:            -\n"
		   "error:           -\n"
		   "node:            this node\n"
		   "literal:         yes\n"
		   "busy:            no\n"
		   "ttl:             -\n"
		   "ttl_left:        -\n"
		   "resolved_at:     -\n"
		   "expires_at:      -\n"
		   "stale_until:     -\n"
		   "next_refresh:    -\n"
		   "next_refresh_in: -\n"
		   "queries:         0\n"
		   "failures:        0\n"
		   "targets:\n"
		   "  192.0.2.99\n"
		   "    192.0.2.99\n");

	/* Pending: due now. */
	cli_run(&r, &domains, (const char *[]){ "--url", url, "new.test", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "next_refresh:    -\n"
					 "next_refresh_in: now\n"),
			   "%s", r.out);
	cli_run_free(&r);
}

/* Members this version does not know or the daemon left out: "-". */
Test(domains, one_sparse)
{
	cli_run_ok(&domains, (const char *[]){ "--url", url, "z.test", NULL },
		   "name:            z.test\n"
		   "kind:            aaaa\n"
		   "status:          paused\n"
		   "fail:            -\n"
		   "error:           -\n"
		   "node:            -\n"
		   "literal:         -\n"
		   "busy:            -\n"
		   "ttl:             -\n"
		   "ttl_left:        -\n"
		   "resolved_at:     -\n"
		   "expires_at:      -\n"
		   "stale_until:     -\n"
		   "next_refresh:    -\n"
		   "next_refresh_in: -\n"
		   "queries:         -\n"
		   "failures:        -\n"
		   "targets:         -\n");
}

/* A name that is not printable: sent percent-encoded, arrives as it is, printed safely. */
Test(domains, one_unprintable)
{
	struct cli_run r;

	cli_run(&r, &domains,
		(const char *[]){ "--url", url, "x\x1b[31m\xc2\x9b\xc3\xa9.test", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_empty(r.err);
	cr_assert(strncmp(r.out, "name:            x?[31m?\xc3\xa9.test\n",
			  strlen("name:            x?[31m?\xc3\xa9.test\n")) == 0,
		  "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\nerror:           A x: timeout?\n"));
	cr_assert_not_null(strstr(r.out, "\nnext_refresh_in: 1d00h01m\n"));
	cr_assert_str_eq(asked, "GET /x\x1b[31m\xc2\x9b\xc3\xa9.test");
	cli_run_free(&r);
}

Test(domains, one_json)
{
	struct cli_run r;
	cJSON *j;

	cli_run(&r, &domains, (const char *[]){ "--url", url, "--json", "missing.test", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	j = cJSON_Parse(r.out);
	cr_assert_not_null(j);
	cr_assert_str_eq(cJSON_GetObjectItem(
				 cJSON_GetArrayItem(cJSON_GetObjectItem(j, "domains"), 0), "status")
				 ->valuestring,
			 "nxdomain");
	cJSON_Delete(j);
	cli_run_free(&r);
}

Test(domains, one_unknown)
{
	cli_run_fail(&domains, (const char *[]){ "--url", url, "nope.test", NULL }, 1,
		     "sipringctl domains: no domain named nope.test\n");
	cli_run_fail(&domains, (const char *[]){ "--url", url, "evil\x1b]0;x\x07", NULL }, 1,
		     "sipringctl domains: no domain named evil?]0;x?\n");
	/* "resolve." is the domain called resolve, asked with GET */
	cli_run_fail(&domains, (const char *[]){ "--url", url, "resolve.", NULL }, 1,
		     "sipringctl domains: no domain named resolve.\n");
	cr_assert_str_eq(asked, "GET /resolve.");
}

/* Names are percent-encoded but for letters, digits and -._~: an IPv6 address. */
Test(domains, one_ipv6)
{
	serving = "{\"domains\":[{\"name\":\"2001:db8::1\",\"kind\":\"host\",\"status\":\"ok\","
		  "\"literal\":true,\"targets\":[]}]}";
	cli_run_fail(&domains, (const char *[]){ "--url", url, "[2001:db8::1]", NULL }, 1,
		     "sipringctl domains: no domain named [2001:db8::1]\n");
	cr_assert_str_eq(asked, "GET /[2001:db8::1]");
	cli_run_ok(&domains, (const char *[]){ "--url", url, "resolve", "2001:db8::1", NULL },
		   "2001:db8::1: nothing to resolve (a literal address is never resolved)\n");
	cr_assert_str_eq(asked, "POST /2001:db8::1/resolve");
}

/* ---- resolve ---- */

Test(domains, resolve)
{
	cli_run_ok(&domains, (const char *[]){ "resolve", "GW.test", "--url", url, NULL },
		   "gw.test: resolve requested (2 entries)\n");
	cr_assert_str_eq(asked, "POST /GW.test/resolve");
	cli_run_ok(&domains, (const char *[]){ "--url", url, "resolve", "missing.test", NULL },
		   "missing.test: resolve requested (1 entry)\n");
	cli_run_ok(&domains, (const char *[]){ "--url", url, "resolve", "--all", NULL },
		   "resolve requested (6 entries)\n");
	cr_assert_str_eq(asked, "POST /resolve");
	cli_run_ok(&domains, (const char *[]){ "--all", "resolve", "--url", url, "--json", NULL },
		   "{\n\t\"resolving\":\t6\n}\n");
	cli_run_ok(&domains, (const char *[]){ "--url", url, "resolve", "gw.test", "--json", NULL },
		   "{\n\t\"name\":\t\"gw.test\",\n\t\"resolving\":\t2\n}\n");
	/* After "--", a NAME that looks like an option. */
	serving = "{\"domains\":[{\"name\":\"-x\",\"kind\":\"host\",\"status\":\"ok\"}]}";
	cli_run_ok(&domains, (const char *[]){ "--url", url, "resolve", "--", "-x", NULL },
		   "-x: resolve requested (1 entry)\n");
	cr_assert_str_eq(asked, "POST /-x/resolve");
}

Test(domains, resolve_none)
{
	serving = "{\"domains\":[]}";
	cli_run_fail(&domains, (const char *[]){ "--url", url, "resolve", "gw.test", NULL }, 1,
		     "sipringctl domains: no domain named gw.test\n");
	cr_assert_str_eq(asked, "POST /gw.test/resolve");
}

/* ---- HTTP errors ---- */

/* An HTTP error that is not a domain's 404: the URL asked, the status, the error. */
Test(domains, http_error)
{
	char base[96], want[256];

	snprintf(base, sizeof(base), "%s/prefix/", url);
	snprintf(want, sizeof(want),
		 "sipringctl domains: %s/prefix/api/v1/domains: HTTP 404: "
		 "no such endpoint: /prefix/api/v1/domains\n",
		 url);
	cli_run_fail(&domains, (const char *[]){ "--url", base, NULL }, 1, want);
	snprintf(want, sizeof(want),
		 "sipringctl domains: %s/prefix/api/v1/domains/resolve: HTTP 404: "
		 "no such endpoint: /prefix/api/v1/domains/resolve\n",
		 url);
	cli_run_fail(&domains, (const char *[]){ "--url", base, "resolve", "--all", NULL }, 1,
		     want);
}

/* The daemon's list that is not what the command knows: not sipring's JSON. */
Test(domains, not_our_json)
{
	char want[256];

	snprintf(want, sizeof(want),
		 "sipringctl domains: %s/api/v1/domains: the answer is not sipring's JSON\n", url);
	serving = "{\"uplinks\":[]}";
	cli_run_fail(&domains, (const char *[]){ "--url", url, NULL }, 1, want);
	serving = "[1,2]";
	cli_run_fail(&domains, (const char *[]){ "--url", url, NULL }, 1, want);
	serving = "{\"domains\":{\"name\":\"a\"}}";
	cli_run_fail(&domains, (const char *[]){ "--url", url, NULL }, 1, want);
}

/* -c: the endpoint of the configuration's http.listen. */
Test(domains, config)
{
	char path[64], want[256];

	cli_config(path, sizeof(path), "http:\n  listen: 0.0.0.0:%u\n", mgmt_port(ep.m));
	cli_run_ok(&domains, (const char *[]){ "-c", path, "resolve", "gw.test", NULL },
		   "gw.test: resolve requested (2 entries)\n");
	unlink(path);
	cli_config(path, sizeof(path), "http:\n  listen: off\n");
	snprintf(want, sizeof(want),
		 "sipringctl domains: %s: http.listen is off: the management endpoint is "
		 "disabled\n",
		 path);
	cli_run_fail(&domains, (const char *[]){ "--config", path, NULL }, 2, want);
	unlink(path);
}

Test(domains, usage)
{
	static const struct {
		const char *args[8];
		const char *err;
	} t[] = {
		{ { "--bogus" }, "unknown option '--bogus'" },
		{ { "-a" }, "unknown option '-a'" },
		{ { "gw.test", "carrier.test" }, "unexpected argument 'carrier.test'" },
		{ { "resolve" }, "missing the NAME (or --all) after 'resolve'" },
		{ { "resolve", "--json" }, "missing the NAME (or --all) after 'resolve'" },
		{ { "resolve", "a", "b" }, "unexpected argument 'b'" },
		{ { "resolve", "a", "--all" }, "give NAME or --all, not both: 'a'" },
		{ { "--all" }, "--all goes with resolve: '--all'" },
		{ { "gw.test", "--all" }, "--all goes with resolve: '--all'" },
		{ { "" }, "a domain's NAME cannot be empty: ''" },
		{ { "resolve", "" }, "a domain's NAME cannot be empty: ''" },
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
			 "sipringctl domains: %s\nusage: sipringctl domains " CMD_DOMAINS_ARGS "\n",
			 t[i].err);
		cli_run_fail(&domains, t[i].args, 2, want);
	}
	cr_assert_str_empty(asked, "a usage error asked the daemon: %s", asked);
	{
		struct cli_run r;

		cli_run(&r, &domains, (const char *[]){ "--help", NULL });
		cr_assert_eq(r.status, 0);
		cr_assert(strncmp(r.out, "usage: sipringctl domains " CMD_DOMAINS_ARGS "\n",
				  strlen("usage: sipringctl domains " CMD_DOMAINS_ARGS "\n")) == 0);
		cr_assert_not_null(strstr(r.out, "exit status:"));
		cr_assert_str_empty(r.err);
		cli_run_free(&r);
	}
}

/* ---- canned bytes: answers that are not sipring's JSON ---- */

Test(canned, not_json)
{
	static const struct {
		const char *answer, *args[4], *method, *path, *err;
	} t[] = {
		/* HTML from something else on the port. */
		{ "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 21\r\n\r\n"
		  "<html>welcome</html>\n",
		  { NULL },
		  "GET",
		  "/api/v1/domains",
		  "the answer is not sipring's JSON" },
		/* JSON cut short. */
		{ "HTTP/1.1 200 OK\r\nContent-Length: 24\r\n\r\n{\"domains\":[{\"name\":\"a\",",
		  { NULL },
		  "GET",
		  "/api/v1/domains",
		  "the answer is not sipring's JSON" },
		/* One name: an object without the list. */
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
		  { "gw.test" },
		  "GET",
		  "/api/v1/domains/gw.test",
		  "the answer is not sipring's JSON" },
		/* A 202 that does not say how many. */
		{ "HTTP/1.1 202 Accepted\r\nContent-Length: 4\r\n\r\nnull",
		  { "resolve", "gw.test" },
		  "POST",
		  "/api/v1/domains/gw.test/resolve",
		  "the answer is not sipring's JSON" },
		/* An error page of a proxy: the status, no error text. */
		{ "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 11\r\n\r\nBad Gateway",
		  { "resolve", "--all" },
		  "POST",
		  "/api/v1/domains/resolve",
		  "HTTP 502" },
		/* A 404 that is not sipring's (no "error"): the URL, not "no domain named". */
		{ "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
		  { "gw.test" },
		  "GET",
		  "/api/v1/domains/gw.test",
		  "HTTP 404" },
		/* An error text with controls is printed safely. */
		{ "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 24\r\n\r\n"
		  "{\"error\":\"x\\u001b[2Jy\"}\n",
		  { NULL },
		  "GET",
		  "/api/v1/domains",
		  "HTTP 500: x?[2Jy" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cli_canned c = { .answer = t[i].answer };
		char want[512];
		struct cli_run r;

		cli_run_canned(&c, &domains, &r, t[i].args);
		snprintf(want, sizeof(want), "sipringctl domains: %s%s: %s\n", c.url, t[i].path,
			 t[i].err);
		cr_assert_eq(r.status, 1, "%zu: %d %s", i, r.status, r.err);
		cr_assert_str_eq(r.err, want, "%zu", i);
		cr_assert_str_empty(r.out);
		/* The request line: the method and the path asked. */
		snprintf(want, sizeof(want), "%s %s HTTP/1.1\r\n", t[i].method, t[i].path);
		cr_assert(strncmp(c.request, want, strlen(want)) == 0, "%zu: %s", i, c.request);
		if (strcmp(t[i].method, "POST") == 0)
			cr_assert_not_null(strstr(c.request, "\r\nContent-Length: 0\r\n"));
		cli_run_free(&r);
	}
}

/* Percent-encoding on the wire: an IPv6 address with brackets. */
Test(canned, encoded)
{
	struct cli_canned c = { .answer = "HTTP/1.1 404 Not Found\r\nContent-Length: 27\r\n\r\n"
					  "{\"error\":\"no such domain\"}\n" };
	struct cli_run r;

	cli_run_canned(&c, &domains, &r, (const char *[]){ "resolve", "[2001:db8::1]", NULL });
	cr_assert_eq(r.status, 1);
	cr_assert_str_eq(r.err, "sipringctl domains: no domain named [2001:db8::1]\n");
	cr_assert(strncmp(c.request, "POST /api/v1/domains/%5B2001%3Adb8%3A%3A1%5D/resolve ",
			  strlen("POST /api/v1/domains/%5B2001%3Adb8%3A%3A1%5D/resolve ")) == 0,
		  "%s", c.request);
	cli_run_free(&r);
}

/* ---- no daemon ---- */

Test(errors, unreachable)
{
	uint16_t port = cli_dead_port();
	char opt[64], want[256];

	snprintf(opt, sizeof(opt), "http://127.0.0.1:%u", port);
	snprintf(want, sizeof(want),
		 "sipringctl domains: cannot connect to 127.0.0.1:%u: Connection refused" HINT "\n",
		 port);
	cli_run_fail(&domains, (const char *[]){ "--url", opt, NULL }, 1, want);
	cli_run_fail(&domains, (const char *[]){ "--url", opt, "resolve", "--all", NULL }, 1, want);
}
