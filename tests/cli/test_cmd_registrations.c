/* SPDX-License-Identifier: MIT */
/*
 * Tests of cli/cmd_registrations.h: `registrations` and `suspensions` against
 * a management endpoint started in-process (core/mgmt.h driven by a loop
 * thread, with core/reg_api.h's routes over a real location table and
 * suspension table, on a fake clock): the tables and --json, one AOR and
 * percent-encoding, deleting an AOR, a contact and an RFC 5626 flow, clearing
 * a suspension, 404s and other HTTP errors, -c, usage errors and an
 * unreachable endpoint. The test thread changes the tables only while no
 * command runs.
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
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cmd_registrations.h"
#include "cli_fixture.h"
#include "core/mgmt.h"
#include "core/reg_api.h"
#include "core/suspend.h"
#include "storage/location.h"

#define NOW  INT64_C(1700000000000)
#define HINT " (is sipring running? http.listen in the config)"

static const struct cli_cmd registrations = { "registrations", cmd_registrations_run };
static const struct cli_cmd suspensions = { "suspensions", cmd_suspensions_run };

/* ---- the endpoint ---- */

static int64_t fake_now = NOW;
static struct location *loc;
static struct suspend susp;
static struct cli_endpoint ep;
static const char *const url = ep.url;
static struct reg_api api;

static int64_t clock_fake(void)
{
	return fake_now;
}

static struct location_binding v4(const char *aor, const char *contact, int64_t exp)
{
	return (struct location_binding){
		.aor = sv_cstr(aor),
		.contact = sv_cstr(contact),
		.call_id = SV_LIT("cid-1@192.0.2.1"),
		.user_agent = SV_LIT("Phone/1.0"),
		.expires_ms = exp,
		.cseq = 1,
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

static void fail(const char *user, const char *addr, unsigned n)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	cr_assert_eq(inet_pton(AF_INET, addr, &a.sin_addr), 1);
	for (unsigned i = 0; i < n; i++)
		suspend_failure(&susp, sv_cstr(user), SV_LIT("example.com"), (struct sockaddr *)&a,
				(uint64_t)fake_now);
}

/*
 * alice: two UDP bindings; bob: an RFC 5626 TCP flow over IPv6, no
 * User-Agent; "odd/one%x@example.com": an AOR that needs percent-encoding.
 * Suspended: alice and 192.0.2.7 (retry 3).
 */
static void start(void)
{
	struct location_config lc = { .initial_aors = 16, .readers = 1 };
	struct suspend_conf sc = { .retry = 3, .suspend_s = 180, .by_ip = true };
	struct mgmt_source ms = { .version = "0.1.0" };
	struct reg_api_source src = { .now_ms = clock_fake };
	struct location_binding b;

	fake_now = NOW;
	cr_assert_eq(location_create(&loc, &lc), 0);
	cr_assert_eq(suspend_init(&susp, &sc, 1024), 0);
	b = v4("alice@example.com", "<sip:alice@192.0.2.1:5060>", NOW + 3600 * 1000);
	put(&b);
	b = v4("alice@example.com", "<sip:alice@192.0.2.2:5062;transport=udp>", NOW + 599 * 1000);
	b.q = 500;
	b.src.addr[3] = 2;
	b.src.port = 5062;
	b.user_agent = SV_LIT("Soft\x01phone 2");
	put(&b);
	b = v4("bob@example.com", "<sip:bob@[2001:db8::1]:5061;transport=tcp>;reg-id=1",
	       NOW + 2 * 86400 * 1000 + 45 * 1000);
	b.instance = SV_LIT("<urn:uuid:00000000-0000-1000-8000-000a95a0e128>");
	b.reg_id = 1;
	b.user_agent = SV_NULL;
	b.src = (struct location_source){ .family = AF_INET6,
					  .transport = LOCATION_TP_TCP,
					  .port = 5061,
					  .worker = 0,
					  .conn = 7 };
	inet_pton(AF_INET6, "2001:db8::1", b.src.addr);
	put(&b);
	b = v4("odd/one%x@example.com", "<sip:odd@192.0.2.9>", NOW + 30 * 1000);
	put(&b);
	fail("alice", "192.0.2.7", 3);

	src.loc = loc;
	src.susp = &susp;
	cli_endpoint_open(&ep, &ms);
	cr_assert_eq(reg_api_init(&api, ep.m, &src), 0);
	cli_endpoint_run(&ep);
}

static void stop(void)
{
	cli_endpoint_stop(&ep);
	location_destroy(loc);
	suspend_fini(&susp);
}

TestSuite(registrations, .init = start, .fini = stop);
TestSuite(suspensions, .init = start, .fini = stop);

/* ---- registrations ---- */

Test(registrations, table)
{
	cli_run_ok(&registrations, (const char *[]){ "--url", url, NULL },
		   "aor                    contact                                              "
		   " expires  source                  user agent\n"
		   "alice@example.com      <sip:alice@192.0.2.1:5060>                           "
		   "1h00m00s  udp:192.0.2.1:5060      Phone/1.0\n"
		   "alice@example.com      <sip:alice@192.0.2.2:5062;transport=udp>             "
		   "   9m59s  udp:192.0.2.2:5062      Soft?phone 2\n"
		   "bob@example.com        <sip:bob@[2001:db8::1]:5061;transport=tcp>;reg-id=1  "
		   "2d00h00m  tcp:[2001:db8::1]:5061  -\n"
		   "odd/one%x@example.com  <sip:odd@192.0.2.9>                                  "
		   "     30s  udp:192.0.2.1:5060      Phone/1.0\n"
		   "\n"
		   "3 AORs, 4 bindings\n");
}

Test(registrations, json)
{
	const cJSON *regs, *b;
	struct cli_run r;
	cJSON *j;

	cli_run(&r, &registrations, (const char *[]){ "--json", "--url", url, NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_empty(r.err);
	cr_assert(strncmp(r.out, "{\n\t\"aors\":\t3,\n", 14) == 0, "%s", r.out);
	j = cJSON_Parse(r.out);
	cr_assert_not_null(j);
	regs = cJSON_GetObjectItem(j, "registrations");
	cr_assert_eq(cJSON_GetArraySize(regs), 3);
	b = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(regs, 1), "bindings"), 0);
	cr_assert_str_eq(cJSON_GetObjectItem(b, "instance")->valuestring,
			 "<urn:uuid:00000000-0000-1000-8000-000a95a0e128>");
	cr_assert_str_eq(cJSON_GetObjectItem(b, "conn")->valuestring, "7");
	cJSON_Delete(j);
	cli_run_free(&r);
}

Test(registrations, one_aor)
{
	cli_run_ok(
		&registrations, (const char *[]){ "bob@example.com", "--url", url, NULL },
		"aor              contact                                               expires  "
		"source                  user agent\n"
		"bob@example.com  <sip:bob@[2001:db8::1]:5061;transport=tcp>;reg-id=1  2d00h00m  "
		"tcp:[2001:db8::1]:5061  -\n"
		"\n"
		"1 AOR, 1 binding\n");
	/* '/' and '%' are sent percent-encoded and arrive as they are. */
	cli_run_ok(&registrations, (const char *[]){ "--url", url, "odd/one%x@example.com", NULL },
		   "aor                    contact              expires  source              "
		   "user agent\n"
		   "odd/one%x@example.com  <sip:odd@192.0.2.9>      30s  udp:192.0.2.1:5060  "
		   "Phone/1.0\n"
		   "\n"
		   "1 AOR, 1 binding\n");
	cli_run_fail(&registrations, (const char *[]){ "--url", url, "carol@example.com", NULL }, 1,
		     "sipringctl registrations: carol@example.com: no such AOR\n");
}

Test(registrations, one_aor_json)
{
	struct cli_run r;
	cJSON *j;

	cli_run(&r, &registrations,
		(const char *[]){ "--url", url, "--json", "alice@example.com", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	j = cJSON_Parse(r.out);
	cr_assert_not_null(j);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "aor")->valuestring, "alice@example.com");
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "bindings")), 2);
	cJSON_Delete(j);
	cli_run_free(&r);
}

Test(registrations, empty)
{
	cr_assert_eq(location_remove_aor(loc, SV_LIT("alice@example.com")), 2);
	cr_assert_eq(location_remove_aor(loc, SV_LIT("bob@example.com")), 1);
	cr_assert_eq(location_remove_aor(loc, SV_LIT("odd/one%x@example.com")), 1);
	cli_run_ok(&registrations, (const char *[]){ "--url", url, NULL }, "no registrations\n");
}

Test(registrations, delete_contact)
{
	cli_run_ok(&registrations,
		   (const char *[]){ "delete", "alice@example.com",
				     "<sip:alice@192.0.2.2:5062;transport=udp>", "--url", url,
				     NULL },
		   "removed 1 binding of alice@example.com\n");
	cr_assert_eq(count("alice@example.com"), 1);
	cli_run_fail(&registrations,
		     (const char *[]){ "delete", "alice@example.com",
				       "<sip:alice@192.0.2.2:5062;transport=udp>", "--url", url,
				       NULL },
		     1, "sipringctl registrations: alice@example.com: no such binding\n");
	cr_assert_eq(count("alice@example.com"), 1);
}

Test(registrations, delete_aor)
{
	cli_run_ok(&registrations,
		   (const char *[]){ "--url", url, "delete", "alice@example.com", NULL },
		   "removed 2 bindings of alice@example.com\n");
	cr_assert_eq(count("alice@example.com"), 0);
	cr_assert_eq(count("bob@example.com"), 1);
	cli_run_fail(&registrations,
		     (const char *[]){ "--url", url, "delete", "alice@example.com", NULL }, 1,
		     "sipringctl registrations: alice@example.com: no such AOR\n");
	cli_run_ok(
		&registrations,
		(const char *[]){ "--url", url, "delete", "odd/one%x@example.com", "--json", NULL },
		"{\n\t\"removed\":\t1\n}\n");
	cr_assert_eq(count("odd/one%x@example.com"), 0);
}

Test(registrations, delete_instance)
{
	static const char inst[] = "<urn:uuid:00000000-0000-1000-8000-000a95a0e128>";

	cli_run_fail(&registrations,
		     (const char *[]){ "--url", url, "delete", "bob@example.com", "--instance",
				       inst, NULL },
		     1, "sipringctl registrations: bob@example.com: no such binding\n");
	cli_run_ok(&registrations,
		   (const char *[]){ "--url", url, "delete", "bob@example.com", "--instance", inst,
				     "--reg-id=1", NULL },
		   "removed 1 binding of bob@example.com\n");
	cr_assert_eq(count("bob@example.com"), 0);
}

/* An HTTP error that is not the AOR's 404: the URL asked and the status. */
Test(registrations, http_error)
{
	char base[96], want[256];

	snprintf(base, sizeof(base), "%s/prefix/", url);
	snprintf(want, sizeof(want),
		 "sipringctl registrations: %s/prefix/api/v1/registrations: HTTP 404: "
		 "no such endpoint: /prefix/api/v1/registrations\n",
		 url);
	cli_run_fail(&registrations, (const char *[]){ "--url", base, NULL }, 1, want);
}

/* -c: the endpoint of the configuration's http.listen. */
Test(registrations, config)
{
	char path[64], want[256];

	cli_config(path, sizeof(path), "http:\n  listen: 0.0.0.0:%u\n", mgmt_port(ep.m));
	cli_run_ok(&registrations,
		   (const char *[]){ "-c", path, "delete", "odd/one%x@example.com", NULL },
		   "removed 1 binding of odd/one%x@example.com\n");
	unlink(path);
	cli_config(path, sizeof(path), "http:\n  listen: off\n");
	snprintf(want, sizeof(want),
		 "sipringctl suspensions: %s: http.listen is off: the management endpoint is "
		 "disabled\n",
		 path);
	cli_run_fail(&suspensions, (const char *[]){ "--config", path, NULL }, 2, want);
	unlink(path);
}

Test(registrations, usage)
{
	static const struct {
		const char *args[8];
		const char *err;
	} t[] = {
		{ { "--bogus" }, "unknown option '--bogus'" },
		{ { "a@b", "c@d" }, "unexpected argument 'c@d'" },
		{ { "delete" }, "missing the AOR after 'delete'" },
		{ { "delete", "a@b", "<sip:x>", "extra" }, "unexpected argument 'extra'" },
		{ { "delete", "a@b", "<sip:x>", "--instance", "<urn:x>" },
		  "give CONTACT or --instance, not both: '<urn:x>'" },
		{ { "delete", "a@b", "--reg-id", "1" }, "--reg-id goes with '--instance'" },
		{ { "delete", "a@b", "--instance", "<urn:x>", "--reg-id", "x" },
		  "--reg-id takes a number from 0 to 4294967295, not 'x'" },
		{ { "delete", "a@b", "--instance", "<urn:x>", "--reg-id=4294967296" },
		  "--reg-id takes a number from 0 to 4294967295, not '4294967296'" },
		{ { "delete", "a@b", "--instance", "<urn:x>", "--reg-id=-1" },
		  "--reg-id takes a number from 0 to 4294967295, not '-1'" },
		{ { "a@b", "--instance", "<urn:x>" }, "only with delete: '--instance'" },
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
			 "sipringctl registrations: %s\nusage: sipringctl registrations "
			 "" CMD_REGISTRATIONS_ARGS "\n",
			 t[i].err);
		cli_run_fail(&registrations, t[i].args, 2, want);
	}
	{
		struct cli_run r;

		cli_run(&r, &registrations, (const char *[]){ "--help", NULL });
		cr_assert_eq(r.status, 0);
		cr_assert(strncmp(r.out, "usage: sipringctl registrations " CMD_REGISTRATIONS_ARGS,
				  31) == 0);
		cr_assert_not_null(strstr(r.out, "exit status:"));
		cr_assert_str_empty(r.err);
		cli_run_free(&r);
	}
}

/* ---- suspensions ---- */

Test(suspensions, table_and_clear)
{
	fake_now = NOW + 61 * 1000;
	cli_run_ok(&suspensions, (const char *[]){ "--url", url, NULL },
		   "key                type     failures  remaining\n"
		   "alice@example.com  user            3      1m59s\n"
		   "192.0.2.7          address         3      1m59s\n"
		   "\n"
		   "2 suspensions\n");
	cli_run_ok(&suspensions,
		   (const char *[]){ "clear", "alice@example.com", "--url", url, NULL },
		   "cleared alice@example.com\n");
	cr_assert(!suspend_check(&susp, SV_LIT("alice"), SV_LIT("example.com"), NULL,
				 (uint64_t)fake_now));
	cli_run_fail(&suspensions,
		     (const char *[]){ "clear", "alice@example.com", "--url", url, NULL }, 1,
		     "sipringctl suspensions: alice@example.com: no such suspension\n");
	cli_run_ok(&suspensions,
		   (const char *[]){ "--url", url, "clear", "192.0.2.7", "--json", NULL },
		   "{\n\t\"cleared\":\t\"192.0.2.7\"\n}\n");
	cli_run_ok(&suspensions, (const char *[]){ "--url", url, NULL }, "no suspensions\n");
}

Test(suspensions, json)
{
	struct cli_run r;
	cJSON *j;

	cli_run(&r, &suspensions, (const char *[]){ "--url", url, "--json", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	j = cJSON_Parse(r.out);
	cr_assert_not_null(j);
	cr_assert_eq(cJSON_GetObjectItem(j, "total")->valueint, 2);
	cr_assert_str_eq(
		cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "suspensions"), 0),
				    "key")
			->valuestring,
		"alice@example.com");
	cJSON_Delete(j);
	cli_run_free(&r);
}

Test(suspensions, usage)
{
	static const struct {
		const char *args[4];
		const char *err;
	} t[] = {
		{ { "list" }, "unexpected argument 'list'" },
		{ { "clear" }, "missing the KEY after 'clear'" },
		{ { "clear", "a@b", "c@d" }, "unexpected argument 'c@d'" },
		{ { "--instance", "x" }, "unknown option '--instance'" },
	};
	char want[512];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(want, sizeof(want),
			 "sipringctl suspensions: %s\nusage: sipringctl suspensions "
			 "" CMD_SUSPENSIONS_ARGS "\n",
			 t[i].err);
		cli_run_fail(&suspensions, t[i].args, 2, want);
	}
}

/* ---- no daemon ---- */

Test(errors, unreachable)
{
	uint16_t port = cli_dead_port();
	char opt[64], want[256];

	snprintf(opt, sizeof(opt), "http://127.0.0.1:%u", port);
	snprintf(want, sizeof(want),
		 "sipringctl suspensions: cannot connect to 127.0.0.1:%u: Connection refused" HINT
		 "\n",
		 port);
	cli_run_fail(&suspensions, (const char *[]){ "--url", opt, NULL }, 1, want);
}
