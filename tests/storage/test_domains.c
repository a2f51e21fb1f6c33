/* SPDX-License-Identifier: MIT */
/*
 * Tests of storage/domains.h against a real DNS server on loopback
 * (tests/storage/dns_server.py, started per test; skipped without
 * python3-dnslib): A and AAAA, TTL clamping, a record that changes and is
 * followed within its TTL; NXDOMAIN (negative-cached), NODATA, SERVFAIL,
 * REFUSED, a silent server and a dead port; serve-stale until the grace ends;
 * an NXDOMAIN answer that is not served stale; SRV priorities and weights; the
 * cursor's failover and the round robin; resolve_now; literal addresses;
 * NAPTR with its fallbacks; an SRV answer too long for UDP (TCP); the job
 * limit; removing and freeing with queries in flight; configuration and name
 * errors; a copy picked from after the table is gone.
 *
 * Waits drive the loop (domains_run_once()) up to WAIT_MS, generous for
 * small shared machines: nothing asserts on speed. The TTLs are 1-2 s and
 * the c-ares timeout 300 ms, so that a test takes a few seconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/domains.h"
#include "tests/storage/dns_fixture.h"

#define WAIT_MS 30000

static struct dns_fixture dns;
static const char *servers[1];

static void teardown(void)
{
	dns_fixture_stop(&dns);
}

TestSuite(domains, .fini = teardown, .timeout = 240);

static void quiet(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	(void)msg;
}

static void start_dns(void)
{
	int r = dns_fixture_start(&dns);

	if (r == -ENOENT)
		cr_skip_test("python3-dnslib is not installed");
	cr_assert_eq(r, 0, "dns_server.py: %s", strerror(-r));
}

static void zone(const char *json)
{
	cr_assert_eq(dns_fixture_zone(&dns, json), 0);
}

static void config(struct domains_config *c)
{
	domains_config_defaults(c);
	servers[0] = dns.server;
	c->servers = servers;
	c->nservers = 1;
	c->timeout_ms = 300;
	c->tries = 1;
	c->ttl_floor = 1;
	c->negative_ttl = 1;
	c->stale_grace = 3;
	c->seed = 42;
	c->log = quiet;
}

static struct domains *table_with(const struct domains_config *c)
{
	struct domains *d = NULL;

	cr_assert_eq(domains_new(&d, c), 0);
	return d;
}

static struct domains *table(void)
{
	struct domains_config c;

	config(&c);
	return table_with(&c);
}

static struct domains_info get(struct domains *d, enum domains_kind k, const char *name)
{
	struct domains_info i;

	cr_assert_eq(domains_get(d, k, name, &i), 0, "%s", name);
	return i;
}

static enum domains_status status(struct domains *d, enum domains_kind k, const char *name)
{
	return get(d, k, name).status;
}

static const char *ip_of(const struct domains_addr *a, char *buf)
{
	return inet_ntop(a->family, a->ip, buf, INET6_ADDRSTRLEN);
}

static bool has_ip(struct domains *d, enum domains_kind k, const char *name, const char *ip)
{
	struct domains_info i = get(d, k, name);
	char buf[INET6_ADDRSTRLEN];

	for (unsigned n = 0; n < i.naddrs; n++)
		if (!strcmp(ip_of(&i.addrs[n], buf), ip))
			return true;
	return false;
}

#define WAIT(d, cond)                                                                         \
	do {                                                                                  \
		int64_t end_ = domains_now_ms() + WAIT_MS;                                    \
		while (!(cond)) {                                                             \
			cr_assert_lt(domains_now_ms(), end_, "timed out waiting for " #cond); \
			domains_run_once(d, 20);                                              \
		}                                                                             \
	} while (0)

/* Run the loop for ms. */
static void drive(struct domains *d, int ms)
{
	int64_t end = domains_now_ms() + ms;

	while (domains_now_ms() < end)
		domains_run_once(d, 20);
}

static const char *pick_ip(struct domains *d, enum domains_kind k, const char *name,
			   struct domains_cursor *c, char *buf, uint16_t *port)
{
	struct domains_pick p;
	int r = domains_pick(d, k, name, c, &p);

	if (r)
		return NULL;
	if (port)
		*port = p.port;
	if (p.sa.ss_family == AF_INET6)
		return inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&p.sa)->sin6_addr, buf,
				 INET6_ADDRSTRLEN);
	return inet_ntop(AF_INET, &((struct sockaddr_in *)&p.sa)->sin_addr, buf, INET6_ADDRSTRLEN);
}

struct events {
	unsigned changed, removed;
	enum domains_status last;
};

static void listen_fn(void *arg, const struct domains_info *e, enum domains_event ev)
{
	struct events *x = arg;

	if (ev == DOMAINS_EV_CHANGED)
		x->changed++;
	else
		x->removed++;
	x->last = e->status;
}

static int64_t real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(domains, host_a_and_aaaa)
{
	struct domains *d;
	struct domains_info i;
	struct events ev = { 0 };
	int64_t before;

	start_dns();
	zone("{\"records\": [\"gw.test. 60 IN A 192.0.2.1\", \"gw.test. 60 IN A 192.0.2.2\","
	     " \"gw.test. 60 IN AAAA 2001:db8::1\"]}");
	d = table();
	domains_set_listener(d, listen_fn, &ev);
	before = real_now();
	cr_assert_eq(domains_add(d, DOMAINS_HOST, "GW.test."), 1);
	cr_assert_eq(domains_add(d, DOMAINS_HOST, "gw.test"), 0, "the same entry");
	cr_assert_eq(domains_add(d, DOMAINS_A, "gw.test"), 1);
	cr_assert_eq(domains_add(d, DOMAINS_AAAA, "gw.test"), 1);
	cr_assert_eq(status(d, DOMAINS_HOST, "gw.test"), DOMAINS_PENDING);
	WAIT(d, status(d, DOMAINS_HOST, "gw.test") != DOMAINS_PENDING &&
			status(d, DOMAINS_A, "gw.test") != DOMAINS_PENDING &&
			status(d, DOMAINS_AAAA, "gw.test") != DOMAINS_PENDING);
	i = get(d, DOMAINS_HOST, "gw.test");
	cr_assert_eq(i.status, DOMAINS_OK, "%s", i.error);
	cr_assert_str_eq(i.name, "gw.test");
	cr_assert_eq(i.naddrs, 3);
	cr_assert_eq(i.ntargets, 1);
	cr_assert_str_eq(i.targets[0].name, "gw.test");
	cr_assert_eq(i.targets[0].port, 0);
	cr_assert_eq(i.ttl, 60);
	cr_assert_str_eq(i.error, "");
	cr_assert_str_eq(i.node, "");
	cr_assert_eq(i.queries, 2);
	cr_assert(i.resolved_ms >= before - 1000 && i.resolved_ms <= real_now() + 1000);
	cr_assert_eq(i.expires_ms, i.resolved_ms + 60000);
	cr_assert_eq(i.stale_until_ms, i.expires_ms + 3000);
	cr_assert(i.next_refresh_ms >= i.resolved_ms + 30000 && i.next_refresh_ms < i.expires_ms,
		  "refresh %lld after the answer", (long long)(i.next_refresh_ms - i.resolved_ms));
	cr_assert(has_ip(d, DOMAINS_HOST, "gw.test", "2001:db8::1"));
	cr_assert_eq(get(d, DOMAINS_A, "gw.test").naddrs, 2);
	cr_assert_eq(get(d, DOMAINS_AAAA, "gw.test").naddrs, 1);
	cr_assert(has_ip(d, DOMAINS_AAAA, "gw.test", "2001:db8::1"));
	cr_assert_eq(ev.changed, 3, "pending -> ok, once per entry");
	cr_assert_eq(ev.last, DOMAINS_OK);
	cr_assert_str_eq(domains_status_name(i.status), "ok");
	domains_free(d);
}

Test(domains, a_record_changes_and_is_followed)
{
	struct domains *d;
	struct events ev = { 0 };

	start_dns();
	zone("{\"records\": [\"move.test. 1 IN A 192.0.2.1\"]}");
	d = table();
	domains_set_listener(d, listen_fn, &ev);
	domains_add(d, DOMAINS_HOST, "move.test");
	WAIT(d, status(d, DOMAINS_HOST, "move.test") == DOMAINS_OK);
	cr_assert(has_ip(d, DOMAINS_HOST, "move.test", "192.0.2.1"));
	cr_assert_eq(get(d, DOMAINS_HOST, "move.test").ttl, 1);
	zone("{\"records\": [\"move.test. 1 IN A 192.0.2.9\"]}");
	WAIT(d, has_ip(d, DOMAINS_HOST, "move.test", "192.0.2.9"));
	cr_assert_not(has_ip(d, DOMAINS_HOST, "move.test", "192.0.2.1"));
	cr_assert_eq(status(d, DOMAINS_HOST, "move.test"), DOMAINS_OK);
	cr_assert_geq(ev.changed, 2, "resolved, then moved");
	/* the refreshes go on, each before the TTL runs out */
	unsigned asked = dns_fixture_count(&dns, "move.test", "A");
	drive(d, 2500);
	cr_assert_eq(status(d, DOMAINS_HOST, "move.test"), DOMAINS_OK);
	cr_assert_gt(dns_fixture_count(&dns, "move.test", "A"), asked);
	domains_free(d);
}

Test(domains, ttl_clamped)
{
	struct domains_config c;
	struct domains *d;

	start_dns();
	zone("{\"records\": [\"zero.test. 0 IN A 192.0.2.1\", \"long.test. 999999 IN A "
	     "192.0.2.2\"]}");
	config(&c);
	c.ttl_floor = 2;
	c.ttl_ceiling = 600;
	d = table_with(&c);
	domains_add(d, DOMAINS_A, "zero.test");
	domains_add(d, DOMAINS_A, "long.test");
	WAIT(d, status(d, DOMAINS_A, "zero.test") == DOMAINS_OK &&
			status(d, DOMAINS_A, "long.test") == DOMAINS_OK);
	cr_assert_eq(get(d, DOMAINS_A, "zero.test").ttl, 2);
	cr_assert_eq(get(d, DOMAINS_A, "long.test").ttl, 600);
	domains_free(d);
}

Test(domains, nxdomain_is_negative_cached)
{
	struct domains_config c;
	struct domains *d;
	struct domains_info i;
	struct domains_cursor cur;
	char buf[INET6_ADDRSTRLEN];

	start_dns();
	zone("{\"records\": [\"only6.test. 60 IN AAAA 2001:db8::6\"]}");
	config(&c);
	c.negative_ttl = 30;
	d = table_with(&c);
	domains_add(d, DOMAINS_HOST, "nope.test");
	domains_add(d, DOMAINS_A, "only6.test");
	WAIT(d, status(d, DOMAINS_HOST, "nope.test") != DOMAINS_PENDING &&
			status(d, DOMAINS_A, "only6.test") != DOMAINS_PENDING);
	i = get(d, DOMAINS_HOST, "nope.test");
	cr_assert_eq(i.status, DOMAINS_NXDOMAIN);
	cr_assert_eq(i.naddrs, 0);
	cr_assert_eq(i.ttl, 30);
	cr_assert_not_null(strstr(i.error, "NXDOMAIN"), "%s", i.error);
	cr_assert_eq(i.next_refresh_ms, i.resolved_ms + 30000, "asked again after negative_ttl");
	domains_cursor_init(&cur, DOMAINS_TP_ANY, AF_UNSPEC);
	cr_assert_null(pick_ip(d, DOMAINS_HOST, "nope.test", &cur, buf, NULL));
	struct domains_pick p;
	cr_assert_eq(domains_pick(d, DOMAINS_HOST, "nope.test", &cur, &p), -EHOSTUNREACH);
	cr_assert_eq(domains_pick(d, DOMAINS_HOST, "other.test", &cur, &p), -ENOENT);
	/* NODATA: the name exists, not with an A record */
	i = get(d, DOMAINS_A, "only6.test");
	cr_assert_eq(i.status, DOMAINS_NXDOMAIN);
	cr_assert_not_null(strstr(i.error, "no records"), "%s", i.error);
	/* negative-cached: DNS is not asked again for a while */
	unsigned asked = dns_fixture_count(&dns, "nope.test", "A");
	cr_assert_eq(asked, 1);
	drive(d, 1500);
	cr_assert_eq(dns_fixture_count(&dns, "nope.test", "A"), asked);
	cr_assert_eq(status(d, DOMAINS_HOST, "nope.test"), DOMAINS_NXDOMAIN);
	/* the name appears: resolve_now takes it at once */
	zone("{\"records\": [\"nope.test. 60 IN A 192.0.2.3\"]}");
	cr_assert_eq(domains_resolve_now(d, DOMAINS_HOST, "nope.test"), 1);
	cr_assert_eq(domains_poll_timeout(d, domains_now_ms()), 0);
	WAIT(d, status(d, DOMAINS_HOST, "nope.test") == DOMAINS_OK);
	cr_assert(has_ip(d, DOMAINS_HOST, "nope.test", "192.0.2.3"));
	cr_assert_str_eq(get(d, DOMAINS_HOST, "nope.test").error, "",
			 "AAAA NODATA beside an A answer is clean");
	domains_free(d);
}

/* One name whose server answers in `mode`: its status and error. */
static void failing(const char *mode, enum domains_status want, const char *error)
{
	struct domains *d;
	struct domains_info i;

	start_dns();
	cr_assert_eq(dns_fixture_zonef(&dns,
				       "{\"names\": {\"bad.test\": \"%s\"}, \"records\": "
				       "[\"bad.test. 60 IN A 192.0.2.1\"]}",
				       mode),
		     0);
	d = table();
	domains_add(d, DOMAINS_HOST, "bad.test");
	WAIT(d, status(d, DOMAINS_HOST, "bad.test") != DOMAINS_PENDING);
	i = get(d, DOMAINS_HOST, "bad.test");
	cr_assert_eq(i.status, want, "%s: got %s (%s)", mode, domains_status_name(i.status),
		     i.error);
	cr_assert_eq(i.naddrs, 0);
	cr_assert_not_null(strstr(i.error, error), "%s: \"%s\"", mode, i.error);
	cr_assert_eq(i.failures, 1);
	cr_assert_gt(i.next_refresh_ms, i.resolved_ms, "retried later");
	domains_free(d);
}

Test(domains, servfail)
{
	failing("servfail", DOMAINS_SERVFAIL, "SERVFAIL");
}

Test(domains, refused_is_unreachable)
{
	failing("refused", DOMAINS_UNREACHABLE, "REFUSED");
}

Test(domains, silent_server_is_timeout)
{
	failing("silent", DOMAINS_TIMEOUT, "timeout");
}

Test(domains, dead_port)
{
	struct domains_config c;
	struct domains *d;
	struct domains_info i;
	char dead[32];
	const char *one[1] = { dead };

	snprintf(dead, sizeof(dead), "127.0.0.1:%u", dns_fixture_dead_port());
	domains_config_defaults(&c);
	c.servers = one;
	c.nservers = 1;
	c.timeout_ms = 300;
	c.tries = 2;
	c.log = quiet;
	d = table_with(&c);
	domains_add(d, DOMAINS_HOST, "gw.test");
	WAIT(d, status(d, DOMAINS_HOST, "gw.test") != DOMAINS_PENDING);
	i = get(d, DOMAINS_HOST, "gw.test");
	cr_assert(i.status == DOMAINS_UNREACHABLE || i.status == DOMAINS_TIMEOUT, "%s: %s",
		  domains_status_name(i.status), i.error);
	cr_assert_eq(i.naddrs, 0);
	domains_free(d);
}

Test(domains, serve_stale_until_the_grace_ends)
{
	struct domains *d;
	struct domains_info i;
	struct domains_cursor cur;
	struct events ev = { 0 };
	char buf[INET6_ADDRSTRLEN];

	start_dns();
	zone("{\"records\": [\"st.test. 1 IN A 192.0.2.1\"]}");
	d = table(); /* negative_ttl 1, stale_grace 3 */
	domains_set_listener(d, listen_fn, &ev);
	domains_add(d, DOMAINS_HOST, "st.test");
	WAIT(d, status(d, DOMAINS_HOST, "st.test") == DOMAINS_OK);
	zone("{\"mode\": \"silent\", \"records\": [\"st.test. 1 IN A 192.0.2.1\"]}");
	/* stale at the TTL's end, the refresh in flight then fails */
	WAIT(d, status(d, DOMAINS_HOST, "st.test") == DOMAINS_STALE &&
			!get(d, DOMAINS_HOST, "st.test").busy);
	i = get(d, DOMAINS_HOST, "st.test");
	cr_assert_eq(i.naddrs, 1, "the last good address is served");
	cr_assert_eq(i.fail, DOMAINS_TIMEOUT);
	cr_assert_not_null(strstr(i.error, "timeout"), "%s", i.error);
	cr_assert_leq(i.ttl_left_ms, 0);
	domains_cursor_init(&cur, DOMAINS_TP_ANY, AF_UNSPEC);
	cr_assert_str_eq(pick_ip(d, DOMAINS_HOST, "st.test", &cur, buf, NULL), "192.0.2.1");
	WAIT(d, status(d, DOMAINS_HOST, "st.test") != DOMAINS_STALE);
	i = get(d, DOMAINS_HOST, "st.test");
	cr_assert_eq(i.status, DOMAINS_TIMEOUT, "%s", domains_status_name(i.status));
	cr_assert_eq(i.naddrs, 0, "the grace is over");
	cr_assert_gt(real_now(), i.stale_until_ms - 1);
	domains_cursor_init(&cur, DOMAINS_TP_ANY, AF_UNSPEC);
	cr_assert_null(pick_ip(d, DOMAINS_HOST, "st.test", &cur, buf, NULL));
	/* the server answers again */
	zone("{\"records\": [\"st.test. 1 IN A 192.0.2.5\"]}");
	WAIT(d, status(d, DOMAINS_HOST, "st.test") == DOMAINS_OK);
	cr_assert(has_ip(d, DOMAINS_HOST, "st.test", "192.0.2.5"));
	cr_assert_eq(ev.changed, 4, "ok, stale, timeout, ok");
	domains_free(d);
}

Test(domains, servfail_after_good_answers_is_served_stale)
{
	struct domains *d;

	start_dns();
	zone("{\"records\": [\"sf.test. 1 IN A 192.0.2.1\"]}");
	d = table();
	domains_add(d, DOMAINS_A, "sf.test");
	WAIT(d, status(d, DOMAINS_A, "sf.test") == DOMAINS_OK);
	zone("{\"mode\": \"servfail\", \"records\": []}");
	WAIT(d, status(d, DOMAINS_A, "sf.test") == DOMAINS_STALE);
	cr_assert_eq(get(d, DOMAINS_A, "sf.test").fail, DOMAINS_SERVFAIL);
	cr_assert_eq(get(d, DOMAINS_A, "sf.test").naddrs, 1);
	WAIT(d, status(d, DOMAINS_A, "sf.test") == DOMAINS_SERVFAIL);
	domains_free(d);
}

Test(domains, nxdomain_after_good_answers_is_not_served_stale)
{
	struct domains *d;

	start_dns();
	zone("{\"records\": [\"gone.test. 1 IN A 192.0.2.1\"]}");
	d = table();
	domains_add(d, DOMAINS_HOST, "gone.test");
	WAIT(d, status(d, DOMAINS_HOST, "gone.test") == DOMAINS_OK);
	zone("{\"records\": [\"other.test. 1 IN A 192.0.2.2\"]}");
	WAIT(d, status(d, DOMAINS_HOST, "gone.test") != DOMAINS_OK);
	cr_assert_eq(status(d, DOMAINS_HOST, "gone.test"), DOMAINS_NXDOMAIN,
		     "an answer that the name is gone, not a failure");
	cr_assert_eq(get(d, DOMAINS_HOST, "gone.test").naddrs, 0);
	domains_free(d);
}

static const char srv_zone[] =
	"{\"records\": ["
	"\"_sip._udp.w.test. 60 IN SRV 10 60 5060 a.w.test.\","
	"\"_sip._udp.w.test. 60 IN SRV 10 30 5061 b.w.test.\","
	"\"_sip._udp.w.test. 60 IN SRV 10 10 5062 c.w.test.\","
	"\"_sip._udp.w.test. 60 IN SRV 20 100 5070 d.w.test.\","
	"\"a.w.test. 60 IN A 192.0.2.10\", \"b.w.test. 60 IN A 192.0.2.11\","
	"\"c.w.test. 60 IN A 192.0.2.12\", \"d.w.test. 60 IN A 192.0.2.13\"]}";

Test(domains, srv_priorities_and_weights)
{
	struct domains *d;
	struct domains_info i;
	struct domains_cursor cur;
	unsigned count[4] = { 0 }, n = 6000;
	char buf[INET6_ADDRSTRLEN];
	uint16_t port;

	start_dns();
	zone(srv_zone);
	d = table();
	domains_add(d, DOMAINS_SRV, "_sip._udp.w.test");
	WAIT(d, status(d, DOMAINS_SRV, "_sip._udp.w.test") != DOMAINS_PENDING);
	i = get(d, DOMAINS_SRV, "_sip._udp.w.test");
	cr_assert_eq(i.status, DOMAINS_OK, "%s", i.error);
	cr_assert_eq(i.ntargets, 4);
	cr_assert_eq(i.naddrs, 4);
	cr_assert_str_eq(i.targets[0].name, "a.w.test");
	cr_assert_eq(i.targets[0].priority, 10);
	cr_assert_eq(i.targets[0].weight, 60);
	cr_assert_eq(i.targets[0].transport, DOMAINS_TP_UDP, "from _sip._udp");
	cr_assert_str_eq(i.targets[3].name, "d.w.test");
	cr_assert_eq(i.addrs[3].port, 5070);
	/* only the lowest priority while it has addresses; weights roughly proportional */
	for (unsigned k = 0; k < n; k++) {
		domains_cursor_init(&cur, DOMAINS_TP_ANY, AF_UNSPEC);
		cr_assert_not_null(pick_ip(d, DOMAINS_SRV, "_sip._udp.w.test", &cur, buf, &port));
		cr_assert(port >= 5060 && port <= 5062, "port %u: not the lowest priority", port);
		count[port - 5060]++;
	}
	/* RFC 2782's draw in [0, 100]: 61/101, 30/101, 10/101; a loose bound */
	cr_assert(count[0] > n * 50 / 100 && count[0] < n * 70 / 100, "a: %u", count[0]);
	cr_assert(count[1] > n * 22 / 100 && count[1] < n * 38 / 100, "b: %u", count[1]);
	cr_assert(count[2] > n * 5 / 100 && count[2] < n * 15 / 100, "c: %u", count[2]);
	/* a cursor: the three of priority 10, then 20, then nothing */
	domains_cursor_init(&cur, DOMAINS_TP_ANY, AF_UNSPEC);
	for (int k = 0; k < 3; k++) {
		cr_assert_not_null(pick_ip(d, DOMAINS_SRV, "_sip._udp.w.test", &cur, buf, &port));
		cr_assert_lt(port, 5070);
	}
	cr_assert_str_eq(pick_ip(d, DOMAINS_SRV, "_sip._udp.w.test", &cur, buf, &port),
			 "192.0.2.13");
	cr_assert_eq(port, 5070);
	cr_assert_null(pick_ip(d, DOMAINS_SRV, "_sip._udp.w.test", &cur, buf, &port));
	/* priority 10's targets lose their addresses: 20 it is */
	zone("{\"records\": [\"_sip._udp.w.test. 60 IN SRV 10 60 5060 a.w.test.\","
	     "\"_sip._udp.w.test. 60 IN SRV 20 100 5070 d.w.test.\","
	     "\"d.w.test. 60 IN A 192.0.2.13\"]}");
	domains_resolve_now(d, DOMAINS_SRV, "_sip._udp.w.test");
	WAIT(d, get(d, DOMAINS_SRV, "_sip._udp.w.test").naddrs == 1);
	i = get(d, DOMAINS_SRV, "_sip._udp.w.test");
	cr_assert_eq(i.ntargets, 2, "a target without addresses is still shown");
	cr_assert_eq(i.status, DOMAINS_OK);
	for (int k = 0; k < 50; k++) {
		domains_cursor_init(&cur, DOMAINS_TP_ANY, AF_UNSPEC);
		cr_assert_str_eq(pick_ip(d, DOMAINS_SRV, "_sip._udp.w.test", &cur, buf, &port),
				 "192.0.2.13");
	}
	domains_free(d);
}

Test(domains, round_robin_and_failover)
{
	struct domains *d;
	struct domains_cursor cur;
	char buf[INET6_ADDRSTRLEN], seen[3][INET6_ADDRSTRLEN];
	unsigned hits[3] = { 0 };
	const char *ips[3] = { "192.0.2.21", "192.0.2.22", "192.0.2.23" };

	start_dns();
	zone("{\"records\": [\"rr.test. 60 IN A 192.0.2.21\", \"rr.test. 60 IN A 192.0.2.22\","
	     "\"rr.test. 60 IN A 192.0.2.23\"]}");
	d = table();
	domains_add(d, DOMAINS_HOST, "rr.test");
	WAIT(d, status(d, DOMAINS_HOST, "rr.test") == DOMAINS_OK);
	for (int k = 0; k < 30; k++) {
		domains_cursor_init(&cur, DOMAINS_TP_ANY, AF_UNSPEC);
		const char *ip = pick_ip(d, DOMAINS_HOST, "rr.test", &cur, buf, NULL);

		for (int m = 0; m < 3; m++)
			hits[m] += !strcmp(ip, ips[m]);
	}
	cr_assert(hits[0] == 10 && hits[1] == 10 && hits[2] == 10, "round robin: %u %u %u", hits[0],
		  hits[1], hits[2]);
	/* after a failure, the next: three different addresses, then none */
	domains_cursor_init(&cur, DOMAINS_TP_ANY, AF_UNSPEC);
	for (int k = 0; k < 3; k++) {
		cr_assert_not_null(pick_ip(d, DOMAINS_HOST, "rr.test", &cur, seen[k], NULL));
		for (int m = 0; m < k; m++)
			cr_assert_str_neq(seen[k], seen[m]);
	}
	cr_assert_null(pick_ip(d, DOMAINS_HOST, "rr.test", &cur, buf, NULL));
	/* a family the entry has not */
	domains_cursor_init(&cur, DOMAINS_TP_ANY, AF_INET6);
	cr_assert_null(pick_ip(d, DOMAINS_HOST, "rr.test", &cur, buf, NULL));
	domains_free(d);
}

Test(domains, resolve_now_takes_effect_at_once)
{
	struct domains_config c;
	struct domains *d;

	start_dns();
	zone("{\"records\": [\"now.test. 3600 IN A 192.0.2.1\", \"now2.test. 3600 IN A "
	     "192.0.2.2\"]}");
	config(&c);
	c.ttl_ceiling = 3600;
	d = table_with(&c);
	domains_add(d, DOMAINS_HOST, "now.test");
	domains_add(d, DOMAINS_HOST, "now2.test");
	WAIT(d, status(d, DOMAINS_HOST, "now.test") == DOMAINS_OK &&
			status(d, DOMAINS_HOST, "now2.test") == DOMAINS_OK);
	zone("{\"records\": [\"now.test. 3600 IN A 192.0.2.7\", \"now2.test. 3600 IN A "
	     "192.0.2.8\"]}");
	drive(d, 500);
	cr_assert(has_ip(d, DOMAINS_HOST, "now.test", "192.0.2.1"), "cached for an hour");
	cr_assert_eq(domains_resolve_now(d, DOMAINS_HOST, "now.test"), 1);
	WAIT(d, has_ip(d, DOMAINS_HOST, "now.test", "192.0.2.7"));
	cr_assert(has_ip(d, DOMAINS_HOST, "now2.test", "192.0.2.2"), "only the one asked");
	cr_assert_eq(domains_resolve_now(d, DOMAINS_HOST, NULL), 2);
	WAIT(d, has_ip(d, DOMAINS_HOST, "now2.test", "192.0.2.8"));
	cr_assert_eq(domains_resolve_now(d, DOMAINS_HOST, "unknown.test"), -ENOENT);
	/* twice in a row: the first resolution is abandoned, the second wins */
	zone("{\"records\": [\"now.test. 3600 IN A 192.0.2.9\"]}");
	domains_resolve_now(d, DOMAINS_HOST, "now.test");
	domains_run_once(d, 0);
	domains_resolve_now(d, DOMAINS_HOST, "now.test");
	WAIT(d, has_ip(d, DOMAINS_HOST, "now.test", "192.0.2.9") &&
			!get(d, DOMAINS_HOST, "now.test").busy);
	domains_free(d);
}

Test(domains, literal_addresses)
{
	struct domains *d;
	struct domains_info i;
	struct domains_cursor cur;
	char buf[INET6_ADDRSTRLEN];
	uint16_t port = 1;

	start_dns();
	d = table();
	cr_assert_eq(domains_add(d, DOMAINS_HOST, "192.0.2.77"), 1);
	cr_assert_eq(domains_add(d, DOMAINS_HOST, "[2001:DB8::5]"), 1);
	cr_assert_eq(domains_add(d, DOMAINS_HOST, "2001:db8::5"), 0, "the same address");
	cr_assert_eq(domains_add(d, DOMAINS_SRV, "192.0.2.78"), 1);
	i = get(d, DOMAINS_HOST, "192.0.2.77");
	cr_assert_eq(i.status, DOMAINS_OK, "ok at once, without DNS");
	cr_assert(i.literal);
	cr_assert_eq(i.naddrs, 1);
	drive(d, 300);
	i = get(d, DOMAINS_HOST, "[2001:db8::5]");
	cr_assert_eq(i.status, DOMAINS_OK);
	cr_assert_str_eq(i.name, "2001:db8::5");
	cr_assert_eq(i.queries, 0);
	cr_assert_eq(i.next_refresh_ms, 0);
	domains_cursor_init(&cur, DOMAINS_TP_ANY, AF_UNSPEC);
	cr_assert_str_eq(pick_ip(d, DOMAINS_HOST, "192.0.2.77", &cur, buf, &port), "192.0.2.77");
	cr_assert_eq(port, 0, "the caller's default port");
	domains_cursor_init(&cur, DOMAINS_TP_ANY, AF_UNSPEC);
	cr_assert_str_eq(pick_ip(d, DOMAINS_SRV, "192.0.2.78", &cur, buf, &port), "192.0.2.78");
	cr_assert_eq(domains_resolve_now(d, DOMAINS_HOST, "192.0.2.77"), 1);
	drive(d, 100);
	cr_assert_eq(get(d, DOMAINS_HOST, "192.0.2.77").queries, 0);
	domains_free(d);
}

Test(domains, naptr_and_its_fallbacks)
{
	struct domains *d;
	struct domains_info i;
	struct domains_cursor cur;
	struct domains_pick p;
	char buf[INET6_ADDRSTRLEN];

	start_dns();
	zone("{\"records\": ["
	     "\"n.test. 60 IN NAPTR 10 50 \\\"s\\\" \\\"SIP+D2T\\\" \\\"\\\" _sip._tcp.n.test.\","
	     "\"n.test. 60 IN NAPTR 10 60 \\\"s\\\" \\\"SIP+D2U\\\" \\\"\\\" _sip._udp.n.test.\","
	     "\"n.test. 60 IN NAPTR 5 50 \\\"u\\\" \\\"E2U+sip\\\" \\\"!^.*$!sip:x@y!\\\" .\","
	     "\"_sip._tcp.n.test. 30 IN SRV 0 0 5060 t.n.test.\","
	     "\"_sip._udp.n.test. 60 IN SRV 0 0 5060 u.n.test.\","
	     "\"t.n.test. 60 IN A 192.0.2.31\", \"u.n.test. 60 IN A 192.0.2.32\","
	     "\"_sip._udp.f.test. 60 IN SRV 0 0 5080 x.f.test.\","
	     "\"x.f.test. 60 IN A 192.0.2.33\","
	     "\"plain.test. 60 IN A 192.0.2.34\"]}");
	d = table();
	domains_add(d, DOMAINS_NAPTR, "n.test");
	domains_add(d, DOMAINS_NAPTR, "f.test");
	domains_add(d, DOMAINS_NAPTR, "plain.test");
	domains_add(d, DOMAINS_NAPTR, "nx.test");
	WAIT(d, status(d, DOMAINS_NAPTR, "n.test") != DOMAINS_PENDING &&
			status(d, DOMAINS_NAPTR, "f.test") != DOMAINS_PENDING &&
			status(d, DOMAINS_NAPTR, "plain.test") != DOMAINS_PENDING &&
			status(d, DOMAINS_NAPTR, "nx.test") != DOMAINS_PENDING);
	i = get(d, DOMAINS_NAPTR, "n.test");
	cr_assert_eq(i.status, DOMAINS_OK, "%s", i.error);
	cr_assert_eq(i.ntargets, 2);
	cr_assert_str_eq(i.targets[0].name, "t.n.test");
	cr_assert_eq(i.targets[0].transport, DOMAINS_TP_TCP);
	cr_assert_eq(i.targets[0].order, 10);
	cr_assert_eq(i.targets[0].preference, 50);
	cr_assert_eq(i.targets[1].transport, DOMAINS_TP_UDP);
	cr_assert_eq(i.ttl, 30, "the least of NAPTR, SRV and A");
	domains_cursor_init(&cur, DOMAINS_TP_ANY, AF_UNSPEC);
	cr_assert_eq(domains_pick(d, DOMAINS_NAPTR, "n.test", &cur, &p), 0);
	cr_assert_eq(p.transport, DOMAINS_TP_TCP, "the first NAPTR");
	cr_assert_eq(p.port, 5060);
	domains_cursor_init(&cur, DOMAINS_TP_UDP, AF_UNSPEC);
	cr_assert_str_eq(pick_ip(d, DOMAINS_NAPTR, "n.test", &cur, buf, NULL), "192.0.2.32");
	domains_cursor_init(&cur, DOMAINS_TP_TLS, AF_UNSPEC);
	cr_assert_null(pick_ip(d, DOMAINS_NAPTR, "n.test", &cur, buf, NULL));
	/* no NAPTR: the SRV of _sip._udp */
	i = get(d, DOMAINS_NAPTR, "f.test");
	cr_assert_eq(i.status, DOMAINS_OK, "%s", i.error);
	cr_assert_eq(i.ntargets, 1);
	cr_assert_eq(i.targets[0].port, 5080);
	cr_assert_eq(i.targets[0].transport, DOMAINS_TP_UDP);
	cr_assert_gt(dns_fixture_count(&dns, "_sips._tcp.f.test", "SRV"), 0);
	/* no NAPTR, no SRV: A of the name, the default port */
	i = get(d, DOMAINS_NAPTR, "plain.test");
	cr_assert_eq(i.status, DOMAINS_OK, "%s", i.error);
	cr_assert_eq(i.naddrs, 1);
	cr_assert_eq(i.targets[0].port, 0);
	cr_assert_eq(status(d, DOMAINS_NAPTR, "nx.test"), DOMAINS_NXDOMAIN);
	cr_assert_eq(dns_fixture_count(&dns, "_sip._udp.nx.test", "SRV"), 0,
		     "NXDOMAIN: no fallback");
	domains_free(d);
}

Test(domains, srv_answer_too_long_for_udp_goes_over_tcp)
{
	struct domains *d;
	struct domains_info i;
	char json[8192];
	size_t n = 0;

	start_dns();
	n += (size_t)snprintf(json + n, sizeof(json) - n, "{\"records\": [");
	for (int k = 0; k < 14; k++)
		n += (size_t)snprintf(json + n, sizeof(json) - n,
				      "%s\"_sip._tcp.big.test. 60 IN SRV 10 %d 5060 "
				      "a-rather-long-target-name-number-%02d.big.test.\","
				      "\"a-rather-long-target-name-number-%02d.big.test. 60 IN A "
				      "192.0.2.%d\"",
				      k ? "," : "", k + 1, k, k, 100 + k);
	snprintf(json + n, sizeof(json) - n, "]}");
	zone(json);
	d = table();
	domains_add(d, DOMAINS_SRV, "_sip._tcp.big.test");
	WAIT(d, status(d, DOMAINS_SRV, "_sip._tcp.big.test") != DOMAINS_PENDING);
	i = get(d, DOMAINS_SRV, "_sip._tcp.big.test");
	cr_assert_eq(i.status, DOMAINS_OK, "%s", i.error);
	cr_assert_eq(i.ntargets, 14);
	cr_assert_eq(i.naddrs, 14);
	cr_assert_eq(i.targets[0].transport, DOMAINS_TP_TCP);
	domains_free(d);
}

Test(domains, many_names_through_few_jobs)
{
	struct domains_config c;
	struct domains *d;
	struct domains_stats st;
	char json[8192], name[32];
	size_t n = 0;
	bool all;

	start_dns();
	n += (size_t)snprintf(json + n, sizeof(json) - n, "{\"records\": [");
	for (int k = 0; k < 40; k++)
		n += (size_t)snprintf(json + n, sizeof(json) - n,
				      "%s\"h%d.test. 60 IN A 192.0.2.%d\"", k ? "," : "", k, k + 1);
	snprintf(json + n, sizeof(json) - n, "]}");
	zone(json);
	config(&c);
	c.max_jobs = 3;
	d = table_with(&c);
	for (int k = 0; k < 40; k++) {
		snprintf(name, sizeof(name), "h%d.test", k);
		cr_assert_eq(domains_add(d, DOMAINS_HOST, name), 1);
	}
	domains_run_once(d, 0);
	domains_stats(d, &st);
	cr_assert_leq(st.jobs, 3);
	cr_assert_eq(st.entries, 40);
	do {
		domains_run_once(d, 20);
		domains_stats(d, &st);
		cr_assert_leq(st.jobs, 3);
		all = true;
		for (int k = 0; k < 40 && all; k++) {
			snprintf(name, sizeof(name), "h%d.test", k);
			all = status(d, DOMAINS_HOST, name) == DOMAINS_OK;
		}
	} while (!all);
	domains_free(d);
}

Test(domains, remove_and_free_with_queries_in_flight)
{
	struct domains *d;
	struct events ev = { 0 };
	struct domains_info i;

	start_dns();
	zone("{\"mode\": \"silent\"}");
	d = table();
	domains_set_listener(d, listen_fn, &ev);
	domains_add(d, DOMAINS_HOST, "a.test");
	domains_add(d, DOMAINS_SRV, "_sip._udp.b.test");
	domains_add(d, DOMAINS_HOST, "c.test");
	domains_run_once(d, 0);
	cr_assert(get(d, DOMAINS_HOST, "a.test").busy);
	cr_assert_eq(domains_remove(d, DOMAINS_HOST, "a.test"), 0);
	cr_assert_eq(ev.removed, 1);
	cr_assert_eq(domains_remove(d, DOMAINS_HOST, "a.test"), -ENOENT);
	cr_assert_eq(domains_get(d, DOMAINS_HOST, "a.test", &i), -ENOENT);
	/* the slot is reused while the old answers are still to come */
	cr_assert_eq(domains_add(d, DOMAINS_HOST, "d.test"), 1);
	zone("{\"records\": [\"d.test. 60 IN A 192.0.2.4\", \"a.test. 60 IN A 192.0.2.1\"]}");
	WAIT(d, status(d, DOMAINS_HOST, "d.test") == DOMAINS_OK);
	cr_assert(has_ip(d, DOMAINS_HOST, "d.test", "192.0.2.4"));
	zone("{\"mode\": \"silent\"}");
	domains_resolve_now(d, DOMAINS_HOST, NULL);
	domains_run_once(d, 0);
	domains_free(d); /* queries in flight: freed with the channel (ASan checks) */
}

Test(domains, configuration_and_name_errors)
{
	struct domains_config c;
	struct domains *d = NULL;
	const char *bad_servers[] = { "foo",	  "1.2.3.4:0", "1.2.3.4:99999", "[::1",
				      "1.2.3.4:", "[::1]x",    "::1:53:" };
	const char *good_servers[] = { "127.0.0.1", "127.0.0.1:5300", "[::1]:5300", "::1",
				       "[::1]" };

	for (size_t k = 0; k < sizeof(bad_servers) / sizeof(bad_servers[0]); k++) {
		domains_config_defaults(&c);
		c.log = quiet;
		c.servers = &bad_servers[k];
		c.nservers = 1;
		cr_assert_eq(domains_new(&d, &c), -EINVAL, "%s", bad_servers[k]);
	}
	domains_config_defaults(&c);
	c.log = quiet;
	c.servers = good_servers;
	c.nservers = sizeof(good_servers) / sizeof(good_servers[0]);
	cr_assert_eq(domains_new(&d, &c), 0);
	domains_free(d);
	domains_config_defaults(&c);
	c.log = quiet;
	c.prefetch = 99;
	cr_assert_eq(domains_new(&d, &c), -EINVAL);
	domains_config_defaults(&c);
	c.log = quiet;
	c.ttl_floor = 100;
	c.ttl_ceiling = 50;
	cr_assert_eq(domains_new(&d, &c), -EINVAL);
	domains_config_defaults(&c);
	c.log = quiet;
	c.stale_grace = 0;
	c.max_entries = 2;
	cr_assert_eq(domains_new(&d, &c), 0, "0 is a value (no serve-stale)");
	const char *bad_names[] = { "", ".", "a..b", "a b", "a/b", "a.b..", NULL, "x.\x80.y" };
	for (size_t k = 0; k < sizeof(bad_names) / sizeof(bad_names[0]); k++)
		cr_assert_eq(domains_add(d, DOMAINS_HOST, bad_names[k]), -EINVAL, "\"%s\"",
			     bad_names[k] ? bad_names[k] : "(null)");
	char label[80];
	memset(label, 'x', 64);
	strcpy(label + 64, ".test");
	cr_assert_eq(domains_add(d, DOMAINS_HOST, label), -EINVAL, "a label of 64 octets");
	cr_assert_eq(domains_add(d, DOMAINS_HOST, label + 1), 1, "63 is fine");
	cr_assert_eq(domains_add(d, DOMAINS_HOST, "second.test"), 1);
	cr_assert_eq(domains_add(d, DOMAINS_HOST, "third.test"), -ENOSPC, "max_entries 2");
	cr_assert_eq(domains_remove(d, DOMAINS_HOST, "second.test"), 0);
	cr_assert_eq(domains_add(d, DOMAINS_HOST, "third.test"), 1, "room again");
	cr_assert_eq(domains_add(d, (enum domains_kind)9, "k.test"), -EINVAL);
	domains_free(d);
	domains_free(NULL);
}

Test(domains, a_copy_picks_alone)
{
	struct domains *d;
	struct domains_info *copy;
	struct domains_cursor cur;
	struct domains_pick p;
	unsigned low = 0;

	start_dns();
	zone(srv_zone);
	d = table();
	domains_add(d, DOMAINS_SRV, "_sip._udp.w.test");
	WAIT(d, status(d, DOMAINS_SRV, "_sip._udp.w.test") == DOMAINS_OK);
	struct domains_info i = get(d, DOMAINS_SRV, "_sip._udp.w.test");
	copy = domains_info_dup(&i);
	cr_assert_not_null(copy);
	domains_free(d);
	cr_assert_str_eq(copy->name, "_sip._udp.w.test");
	cr_assert_eq(copy->ntargets, 4);
	cr_assert_str_eq(copy->targets[3].name, "d.w.test");
	for (uint64_t k = 0; k < 200; k++) {
		domains_cursor_init(&cur, DOMAINS_TP_ANY, AF_UNSPEC);
		cr_assert_eq(domains_select(copy, &cur, k * 2654435761u, k, &p), 0);
		low += p.port < 5070;
	}
	cr_assert_eq(low, 200);
	free(copy);
}

Test(domains, names_of_things)
{
	enum domains_status s;
	enum domains_kind k;
	enum domains_transport t;

	cr_assert_eq(domains_status_parse("stale", &s), 0);
	cr_assert_eq(s, DOMAINS_STALE);
	cr_assert_eq(domains_status_parse("bogus", &s), -EINVAL);
	cr_assert_eq(domains_kind_parse("NAPTR", &k), 0);
	cr_assert_eq(k, DOMAINS_NAPTR);
	cr_assert_eq(domains_transport_parse("tls", &t), 0);
	cr_assert_eq(t, DOMAINS_TP_TLS);
	cr_assert_str_eq(domains_status_name(DOMAINS_UNREACHABLE), "unreachable");
	cr_assert_str_eq(domains_kind_name(DOMAINS_SRV), "srv");
	cr_assert_str_eq(domains_transport_name(DOMAINS_TP_ANY), "");
}

/* A mirror that takes every refresh and never answers: the table resolves alone after mirror_wait_ms. */
static int take_all(void *arg, const struct domains_info *e)
{
	(void)e;
	(*(unsigned *)arg)++;
	return 1;
}

Test(domains, a_mirror_that_never_answers)
{
	struct domains_config c;
	struct domains *d;
	unsigned asked = 0;
	const struct domains_mirror_ops ops = { take_all, NULL };

	start_dns();
	zone("{\"records\": [\"m.test. 60 IN A 192.0.2.80\"]}");
	config(&c);
	c.mirror_wait_ms = 300;
	d = table_with(&c);
	domains_set_mirror(d, &ops, &asked);
	domains_add(d, DOMAINS_HOST, "m.test");
	domains_run_once(d, 0);
	cr_assert_eq(asked, 1);
	cr_assert_eq(status(d, DOMAINS_HOST, "m.test"), DOMAINS_PENDING);
	cr_assert_eq(dns_fixture_count(&dns, "m.test", NULL), 0);
	WAIT(d, status(d, DOMAINS_HOST, "m.test") == DOMAINS_OK);
	cr_assert_eq(asked, 1);
	/* resolve_now does not ask the mirror */
	domains_resolve_now(d, DOMAINS_HOST, "m.test");
	WAIT(d, dns_fixture_count(&dns, "m.test", "A") == 2);
	cr_assert_eq(asked, 1);
	domains_free(d);
}

Test(domains, mirror_import_rules)
{
	struct domains *d;
	struct domains_info i, src;
	struct domains_target t = { .name = "imp.test", .naddrs = 1 };
	struct domains_addr a = { .family = AF_INET, .ip = { 192, 0, 2, 90 } };
	int64_t now;

	start_dns();
	zone("{\"records\": [\"imp.test. 60 IN A 192.0.2.81\"]}");
	d = table();
	domains_add(d, DOMAINS_HOST, "imp.test");
	WAIT(d, status(d, DOMAINS_HOST, "imp.test") == DOMAINS_OK);
	i = get(d, DOMAINS_HOST, "imp.test");
	now = i.resolved_ms + 100; /* the other node's resolutions: after ours */
	/* another node's failure, newer, without addresses: ours stay */
	src = (struct domains_info){ .name = "imp.test",
				     .kind = DOMAINS_HOST,
				     .status = DOMAINS_TIMEOUT,
				     .error = "A imp.test: timeout",
				     .node = "n9",
				     .resolved_ms = now,
				     .next_refresh_ms = now + 1000 };
	int r = domains_mirror_import(d, &src, domains_now_ms());
	cr_assert_eq(r, 0, "%s", strerror(-r));
	i = get(d, DOMAINS_HOST, "imp.test");
	cr_assert_eq(i.status, DOMAINS_OK, "still within the TTL");
	cr_assert_eq(i.naddrs, 1);
	cr_assert_str_eq(i.error, "A imp.test: timeout");
	cr_assert_str_eq(i.node, "n9");
	/* older than ours: refused */
	src.resolved_ms = i.resolved_ms - 5000;
	cr_assert_eq(domains_mirror_import(d, &src, domains_now_ms()), -EALREADY);
	/* newer addresses: taken */
	src = (struct domains_info){ .name = "imp.test",
				     .kind = DOMAINS_HOST,
				     .status = DOMAINS_OK,
				     .error = "",
				     .node = "n9",
				     .targets = &t,
				     .ntargets = 1,
				     .addrs = &a,
				     .naddrs = 1,
				     .ttl = 60,
				     .resolved_ms = now + 1,
				     .expires_ms = now + 60001,
				     .stale_until_ms = now + 63001,
				     .next_refresh_ms = now + 50000 };
	cr_assert_eq(domains_mirror_import(d, &src, domains_now_ms()), 0);
	cr_assert(has_ip(d, DOMAINS_HOST, "imp.test", "192.0.2.90"));
	i = get(d, DOMAINS_HOST, "imp.test");
	cr_assert_eq(i.resolved_ms, now + 1, "the times as given");
	cr_assert_eq(i.expires_ms, now + 60001);
	cr_assert(i.next_refresh_ms >= now + 50000 && i.next_refresh_ms <= now + 53000);
	/* past its TTL: stale at once */
	src.resolved_ms = now + 2;
	src.expires_ms = real_now() - 10;
	cr_assert_eq(domains_mirror_import(d, &src, domains_now_ms()), 0);
	cr_assert_eq(status(d, DOMAINS_HOST, "imp.test"), DOMAINS_STALE);
	/* NXDOMAIN is an answer: the addresses go */
	src = (struct domains_info){ .name = "imp.test",
				     .kind = DOMAINS_HOST,
				     .status = DOMAINS_NXDOMAIN,
				     .error = "A imp.test: NXDOMAIN",
				     .node = "n9",
				     .ttl = 1,
				     .resolved_ms = now + 3,
				     .expires_ms = now + 1003,
				     .next_refresh_ms = now + 1003 };
	cr_assert_eq(domains_mirror_import(d, &src, domains_now_ms()), 0);
	cr_assert_eq(status(d, DOMAINS_HOST, "imp.test"), DOMAINS_NXDOMAIN);
	cr_assert_eq(get(d, DOMAINS_HOST, "imp.test").naddrs, 0);
	/* inconsistent: refused */
	src = (struct domains_info){ .name = "imp.test",
				     .kind = DOMAINS_HOST,
				     .status = DOMAINS_OK,
				     .targets = &t,
				     .ntargets = 1,
				     .addrs = &a,
				     .naddrs = 1,
				     .resolved_ms = now + 4,
				     .expires_ms = now + 9 };
	a.target = 3;
	cr_assert_eq(domains_mirror_import(d, &src, domains_now_ms()), -EINVAL);
	a.target = 0;
	src.name = "unknown.test";
	cr_assert_eq(domains_mirror_import(d, &src, domains_now_ms()), -ENOENT);
	domains_free(d);
}

Test(domains, servfail_of_one_server_asks_the_next)
{
	struct dns_fixture other;
	struct domains_config c;
	struct domains *d;
	const char *two[2];

	start_dns();
	cr_assert_eq(dns_fixture_start(&other), 0);
	zone("{\"mode\": \"servfail\"}");
	cr_assert_eq(dns_fixture_zone(&other, "{\"records\": [\"two.test. 60 IN A 192.0.2.95\","
					      "\"two2.test. 60 IN A 192.0.2.96\"]}"),
		     0);
	config(&c);
	two[0] = dns.server;
	two[1] = other.server;
	c.servers = two;
	c.nservers = 2;
	d = table_with(&c);
	domains_add(d, DOMAINS_A, "two.test");
	domains_add(d, DOMAINS_A, "two2.test");
	WAIT(d, status(d, DOMAINS_A, "two.test") != DOMAINS_PENDING &&
			status(d, DOMAINS_A, "two2.test") != DOMAINS_PENDING);
	cr_assert_eq(status(d, DOMAINS_A, "two.test"), DOMAINS_OK, "%s",
		     get(d, DOMAINS_A, "two.test").error);
	cr_assert_eq(status(d, DOMAINS_A, "two2.test"), DOMAINS_OK, "%s",
		     get(d, DOMAINS_A, "two2.test").error);
	cr_assert_gt(dns_fixture_count(&dns, "two.test", "A") +
			     dns_fixture_count(&dns, "two2.test", "A"),
		     0, "rotated: the failing server was asked too");
	/* both SERVFAIL: servfail, once each */
	cr_assert_eq(dns_fixture_zone(&other, "{\"mode\": \"servfail\"}"), 0);
	domains_resolve_now(d, DOMAINS_A, NULL);
	WAIT(d, status(d, DOMAINS_A, "two.test") == DOMAINS_STALE ||
			(status(d, DOMAINS_A, "two.test") == DOMAINS_OK &&
			 get(d, DOMAINS_A, "two.test").error[0]));
	cr_assert_not_null(strstr(get(d, DOMAINS_A, "two.test").error, "SERVFAIL"));
	domains_free(d);
	dns_fixture_stop(&other);
}

Test(domains, a_silent_first_server_costs_one_timeout)
{
	struct dns_fixture other;
	struct domains_config c;
	struct domains *d;
	const char *two[2];
	unsigned silent_asked;

	start_dns();
	cr_assert_eq(dns_fixture_start(&other), 0);
	zone("{\"mode\": \"silent\"}");
	cr_assert_eq(dns_fixture_zone(&other, "{\"records\": [\"s1.test. 60 IN A 192.0.2.97\","
					      "\"s2.test. 60 IN A 192.0.2.98\","
					      "\"s3.test. 60 IN A 192.0.2.99\"]}"),
		     0);
	config(&c);
	two[0] = dns.server; /* silent, and first */
	two[1] = other.server;
	c.servers = two;
	c.nservers = 2;
	d = table_with(&c);
	domains_add(d, DOMAINS_A, "s1.test");
	WAIT(d, status(d, DOMAINS_A, "s1.test") != DOMAINS_PENDING);
	cr_assert_eq(status(d, DOMAINS_A, "s1.test"), DOMAINS_OK, "%s",
		     get(d, DOMAINS_A, "s1.test").error);
	cr_assert_eq(get(d, DOMAINS_A, "s1.test").queries, 2, "the first server, then the next");
	silent_asked = dns_fixture_count(&dns, "s1.test", "A");
	cr_assert_eq(silent_asked, 1);
	/* the next names go to the answering server first */
	domains_add(d, DOMAINS_A, "s2.test");
	domains_add(d, DOMAINS_A, "s3.test");
	WAIT(d, status(d, DOMAINS_A, "s2.test") == DOMAINS_OK &&
			status(d, DOMAINS_A, "s3.test") == DOMAINS_OK);
	cr_assert_eq(dns_fixture_count(&dns, "s2.test", NULL) +
			     dns_fixture_count(&dns, "s3.test", NULL),
		     0);
	cr_assert_eq(get(d, DOMAINS_A, "s2.test").queries, 1);
	domains_free(d);
	dns_fixture_stop(&other);
}
