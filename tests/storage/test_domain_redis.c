/* SPDX-License-Identifier: MIT */
/*
 * Tests of storage/domain_redis.h against real redis-server and DNS server
 * children (redis_fixture.h, dns_fixture.h; skipped without redis-server or
 * python3-dnslib): the entries appear under the documented keys; a second
 * node imports them without asking DNS; a lock held by another node keeps a
 * node from asking DNS until the hash is written or the lock expires; two
 * nodes refreshing the same names ask DNS once per round between them, every
 * query through the lock; Redis down, then back: the node resolved alone and
 * writes its entries again; a forced re-resolution is written; the
 * `addresses` value round trip and its errors. Waits are bounded polls.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "storage/domain_redis.h"
#include "storage/domains.h"
#include "tests/storage/dns_fixture.h"
#include "tests/storage/redis_fixture.h"

#define WAIT_MS 30000

static struct redis_fixture rf;
static struct dns_fixture dns;
static const char *servers[1];

static void teardown(void)
{
	redis_fixture_stop(&rf);
	dns_fixture_stop(&dns);
}

TestSuite(domain_redis, .fini = teardown, .timeout = 240);

static void quiet(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	if (getenv("DEBUG_DNS"))
		fprintf(stderr, "%lld %s\n", (long long)test_now_ms() % 100000, msg);
}

static void start_both(void)
{
	int r = redis_fixture_start(&rf, false, NULL);

	if (r == -ENOENT)
		cr_skip_test("redis-server is not installed");
	cr_assert_eq(r, 0, "redis-server: %s", strerror(-r));
	r = dns_fixture_start(&dns);
	if (r == -ENOENT)
		cr_skip_test("python3-dnslib is not installed");
	cr_assert_eq(r, 0, "dns_server.py: %s", strerror(-r));
}

struct node {
	struct domains *d;
	struct domain_redis *dr;
};

static struct node node(const char *name)
{
	struct domains_config c;
	struct domain_redis_config rc = {
		.redis_host = "127.0.0.1",
		.redis_port = rf.port,
		.node = name,
		.lock_ms = 5000,
		.busy_retry_ms = 100,
		.reconnect_min_ms = 20,
		.reconnect_max_ms = 200,
		.reply_timeout_ms = 10000,
		.poll_ms = 5,
		.log = quiet,
	};
	struct node n = { 0 };

	domains_config_defaults(&c);
	servers[0] = dns.server;
	c.servers = servers;
	c.nservers = 1;
	c.timeout_ms = 300;
	c.tries = 1;
	c.ttl_floor = 1;
	c.negative_ttl = 1;
	c.stale_grace = 5;
	c.log = quiet;
	cr_assert_eq(domains_new(&n.d, &c), 0);
	cr_assert_eq(domain_redis_create(&n.dr, &rc, n.d), 0);
	return n;
}

static void node_free(struct node *n)
{
	domain_redis_destroy(n->dr);
	domains_free(n->d);
}

/* One turn of each node's loop. */
static void turn(struct node *n, unsigned k)
{
	for (unsigned i = 0; i < k; i++) {
		domains_run_once(n[i].d, 2);
		domain_redis_run_once(n[i].dr, 2);
	}
}

#define WAIT(n, k, cond)                                                                   \
	do {                                                                               \
		int64_t end_ = test_now_ms() + WAIT_MS;                                    \
		while (!(cond)) {                                                          \
			cr_assert_lt(test_now_ms(), end_, "timed out waiting for " #cond); \
			turn(n, k);                                                        \
		}                                                                          \
	} while (0)

static void drive(struct node *n, unsigned k, int ms)
{
	int64_t end = test_now_ms() + ms;

	while (test_now_ms() < end)
		turn(n, k);
}

static struct domains_info info(struct node *n, enum domains_kind kind, const char *name)
{
	struct domains_info i;

	cr_assert_eq(domains_get(n->d, kind, name, &i), 0);
	return i;
}

static enum domains_status status(struct node *n, enum domains_kind kind, const char *name)
{
	return info(n, kind, name).status;
}

static redisContext *rc;

static redisContext *conn(void)
{
	if (!rc)
		rc = redis_fixture_connect(&rf);
	cr_assert_not_null(rc);
	return rc;
}

static void conn_close(void)
{
	if (rc)
		redisFree(rc);
	rc = NULL;
}

/* HGET as a string in buf ("" when absent). */
static const char *hget(const char *key, const char *field, char *buf, size_t cap)
{
	redisReply *r = redisCommand(conn(), "HGET %s %s", key, field);

	cr_assert_not_null(r);
	snprintf(buf, cap, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
	freeReplyObject(r);
	return buf;
}

static long long cmd_int(const char *fmt, const char *a, const char *b)
{
	redisReply *r = b ? redisCommand(conn(), fmt, a, b) : redisCommand(conn(), fmt, a);
	long long v;

	cr_assert_not_null(r);
	v = r->type == REDIS_REPLY_INTEGER ? r->integer
					   : (r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1);
	freeReplyObject(r);
	return v;
}

static void rcmd(const char *fmt, const char *a)
{
	redisReply *r = redisCommand(conn(), fmt, a);

	cr_assert(r && r->type != REDIS_REPLY_ERROR, "%s", r && r->str ? r->str : "no reply");
	freeReplyObject(r);
}

static bool hash_status_is(const char *key, const char *want)
{
	char buf[64];

	return !strcmp(hget(key, "status", buf, sizeof(buf)), want);
}

static int64_t real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(domain_redis, entries_appear_under_the_documented_keys)
{
	struct node n;
	struct domains_info i;
	char buf[1024];
	const char *key = "sipring:domain:host:gw.test";
	const char *skey = "sipring:domain:srv:_sip._udp.s.test";

	start_both();
	cr_assert_eq(dns_fixture_zone(&dns,
				      "{\"records\": [\"gw.test. 60 IN A 192.0.2.1\","
				      "\"gw.test. 60 IN AAAA 2001:db8::1\","
				      "\"_sip._udp.s.test. 60 IN SRV 10 20 5060 gw.test.\"]}"),
		     0);
	n = node("n1");
	domains_add(n.d, DOMAINS_HOST, "gw.test");
	domains_add(n.d, DOMAINS_SRV, "_sip._udp.s.test");
	domains_add(n.d, DOMAINS_HOST, "192.0.2.99"); /* a literal: never written */
	WAIT(&n, 1, hash_status_is(key, "ok") && hash_status_is(skey, "ok"));
	i = info(&n, DOMAINS_HOST, "gw.test");
	cr_assert_str_eq(hget(key, "name", buf, sizeof(buf)), "gw.test");
	cr_assert_str_eq(hget(key, "kind", buf, sizeof(buf)), "host");
	cr_assert_str_eq(hget(key, "fail", buf, sizeof(buf)), "");
	cr_assert_str_eq(hget(key, "addresses", buf, sizeof(buf)),
			 "192.0.2.1:0;0;0;;gw.test;0;0,[2001:db8::1]:0;0;0;;gw.test;0;0");
	cr_assert_str_eq(hget(key, "ttl", buf, sizeof(buf)), "60");
	cr_assert_eq(atoll(hget(key, "resolved_at", buf, sizeof(buf))), i.resolved_ms);
	cr_assert_eq(atoll(hget(key, "expires_at", buf, sizeof(buf))), i.expires_ms);
	cr_assert_eq(atoll(hget(key, "stale_until", buf, sizeof(buf))), i.stale_until_ms);
	cr_assert_eq(atoll(hget(key, "next_refresh", buf, sizeof(buf))), i.next_refresh_ms);
	cr_assert_str_eq(hget(key, "error", buf, sizeof(buf)), "");
	cr_assert_str_eq(hget(key, "node", buf, sizeof(buf)), "n1");
	cr_assert_str_eq(
		hget(skey, "addresses", buf, sizeof(buf)),
		"192.0.2.1:5060;10;20;udp;gw.test;0;0,[2001:db8::1]:5060;10;20;udp;gw.test;0;0");
	/* the key lives past stale_until, not for ever */
	long long pttl = cmd_int("PTTL %s", key, NULL);
	cr_assert_gt(pttl, 0);
	cr_assert_leq(pttl, i.stale_until_ms - real_now() + 60000 + 1000);
	/* the index, and no lock left behind */
	cr_assert_gt(cmd_int("ZSCORE sipring:domains %s", "host:gw.test", NULL), real_now());
	cr_assert_gt(cmd_int("ZSCORE sipring:domains %s", "srv:_sip._udp.s.test", NULL), 0);
	cr_assert_eq(cmd_int("ZCARD %s", "sipring:domains", NULL), 2, "no literal");
	cr_assert_eq(cmd_int("EXISTS %s", "sipring:domain:lock:host:gw.test", NULL), 0);
	/* the hash reads back as the entry */
	redisReply *r = redisCommand(conn(), "HGETALL %s", key);
	struct sv kv[64];
	struct domain_redis_entry *ent = malloc(sizeof(*ent));

	cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements <= 64);
	for (size_t k = 0; k < r->elements; k++)
		kv[k] = sv_make(r->element[k]->str, r->element[k]->len);
	cr_assert_eq(domain_redis_decode(kv, (unsigned)(r->elements / 2), ent), 0);
	cr_assert_eq(ent->e.kind, DOMAINS_HOST);
	cr_assert_eq(ent->e.status, DOMAINS_OK);
	cr_assert_eq(ent->e.naddrs, 2);
	cr_assert_eq(ent->e.ntargets, 1);
	cr_assert_eq(ent->e.resolved_ms, i.resolved_ms);
	cr_assert_eq(memcmp(ent->e.addrs, i.addrs, 2 * sizeof(*i.addrs)), 0);
	free(ent);
	freeReplyObject(r);
	conn_close();
	node_free(&n);
}

Test(domain_redis, a_second_node_imports_without_dns)
{
	struct node n[2];
	struct domains_info i;
	struct domain_redis_stats st;

	start_both();
	cr_assert_eq(dns_fixture_zone(&dns, "{\"records\": [\"gw.test. 60 IN A 192.0.2.1\"]}"), 0);
	n[0] = node("n1");
	n[1] = node("n2");
	domains_add(n[0].d, DOMAINS_HOST, "gw.test");
	WAIT(n, 2, hash_status_is("sipring:domain:host:gw.test", "ok"));
	cr_assert_eq(dns_fixture_count(&dns, "gw.test", "A"), 1);
	domains_add(n[1].d, DOMAINS_HOST, "gw.test");
	WAIT(n, 2, status(&n[1], DOMAINS_HOST, "gw.test") == DOMAINS_OK);
	i = info(&n[1], DOMAINS_HOST, "gw.test");
	cr_assert_str_eq(i.node, "n1", "imported");
	cr_assert_eq(i.naddrs, 1);
	cr_assert_eq(i.resolved_ms, info(&n[0], DOMAINS_HOST, "gw.test").resolved_ms);
	cr_assert_eq(i.queries, 0);
	cr_assert_eq(dns_fixture_count(&dns, "gw.test", "A"), 1, "DNS was not asked again");
	domain_redis_stats(n[1].dr, &st);
	cr_assert_eq(st.imported, 1);
	cr_assert_eq(st.locked, 0);
	/* a forced re-resolution on n2 asks DNS and is written as n2's */
	domains_resolve_now(n[1].d, DOMAINS_HOST, "gw.test");
	char buf[64];
	WAIT(n, 2, !strcmp(hget("sipring:domain:host:gw.test", "node", buf, sizeof(buf)), "n2"));
	cr_assert_eq(dns_fixture_count(&dns, "gw.test", "A"), 2);
	cr_assert_str_eq(info(&n[1], DOMAINS_HOST, "gw.test").node, "");
	conn_close();
	node_free(&n[0]);
	node_free(&n[1]);
}

Test(domain_redis, a_lock_held_elsewhere_keeps_dns_quiet)
{
	struct node n;
	struct domains_info i;
	struct domain_redis_stats st;
	int64_t now;

	start_both();
	cr_assert_eq(dns_fixture_zone(&dns, "{\"records\": [\"l.test. 60 IN A 192.0.2.40\","
					    "\"l2.test. 60 IN A 192.0.2.41\"]}"),
		     0);
	n = node("n1");
	rcmd("SET %s other PX 30000", "sipring:domain:lock:host:l.test");
	domains_add(n.d, DOMAINS_HOST, "l.test");
	drive(&n, 1, 800);
	cr_assert_eq(status(&n, DOMAINS_HOST, "l.test"), DOMAINS_PENDING);
	cr_assert_eq(dns_fixture_count(&dns, "l.test", NULL), 0, "another node is resolving it");
	domain_redis_stats(n.dr, &st);
	cr_assert_gt(st.busy, 1, "asked again while it waits");
	/* the other node writes its result: n1 takes it */
	now = real_now();
	char t[4][24];
	snprintf(t[0], sizeof(t[0]), "%lld", (long long)now);
	snprintf(t[1], sizeof(t[1]), "%lld", (long long)now + 60000);
	snprintf(t[2], sizeof(t[2]), "%lld", (long long)now + 65000);
	snprintf(t[3], sizeof(t[3]), "%lld", (long long)now + 51000);
	redisReply *r =
		redisCommand(conn(),
			     "HSET sipring:domain:host:l.test name l.test kind host status ok "
			     "fail %s addresses %s ttl 60 resolved_at %s expires_at %s "
			     "stale_until %s next_refresh %s error %s node other",
			     "", "192.0.2.50:0;0;0;;l.test;0;0", t[0], t[1], t[2], t[3], "");
	cr_assert(r && r->type == REDIS_REPLY_INTEGER, "%s", r && r->str ? r->str : "");
	freeReplyObject(r);
	WAIT(&n, 1, status(&n, DOMAINS_HOST, "l.test") == DOMAINS_OK);
	i = info(&n, DOMAINS_HOST, "l.test");
	cr_assert_str_eq(i.node, "other");
	cr_assert_eq(i.naddrs, 1);
	cr_assert_eq(i.addrs[0].ip[3], 50);
	cr_assert_eq(i.resolved_ms, now);
	cr_assert_eq(i.next_refresh_ms >= now + 51000 && i.next_refresh_ms <= now + 54000, 1,
		     "the writer's refresh time, a little jitter");
	cr_assert_eq(dns_fixture_count(&dns, "l.test", NULL), 0);
	/* a lock whose holder died: n1 resolves once it expires */
	rcmd("SET %s other PX 1200", "sipring:domain:lock:host:l2.test");
	domains_add(n.d, DOMAINS_HOST, "l2.test");
	drive(&n, 1, 300);
	cr_assert_eq(dns_fixture_count(&dns, "l2.test", NULL), 0);
	WAIT(&n, 1, status(&n, DOMAINS_HOST, "l2.test") == DOMAINS_OK);
	cr_assert_str_eq(info(&n, DOMAINS_HOST, "l2.test").node, "");
	cr_assert_gt(dns_fixture_count(&dns, "l2.test", "A"), 0);
	WAIT(&n, 1, hash_status_is("sipring:domain:host:l2.test", "ok"));
	conn_close();
	node_free(&n);
}

Test(domain_redis, two_nodes_ask_dns_once_per_round)
{
	struct node n[2];
	struct domain_redis_stats s0, s1;
	const char *names[] = { "r1.test", "r2.test", "r3.test" };
	unsigned a = 0;

	start_both();
	cr_assert_eq(dns_fixture_zone(&dns, "{\"records\": [\"r1.test. 2 IN A 192.0.2.61\","
					    "\"r2.test. 2 IN A 192.0.2.62\","
					    "\"r3.test. 2 IN A 192.0.2.63\"]}"),
		     0);
	n[0] = node("n1");
	n[1] = node("n2");
	WAIT(n, 2,
	     (domain_redis_stats(n[0].dr, &s0), domain_redis_stats(n[1].dr, &s1),
	      s0.connected && s1.connected));
	for (int k = 0; k < 3; k++) {
		domains_add(n[0].d, DOMAINS_HOST, names[k]);
		domains_add(n[1].d, DOMAINS_HOST, names[k]);
	}
	WAIT(n, 2,
	     status(&n[0], DOMAINS_HOST, "r3.test") == DOMAINS_OK &&
		     status(&n[1], DOMAINS_HOST, "r3.test") == DOMAINS_OK &&
		     status(&n[0], DOMAINS_HOST, "r1.test") == DOMAINS_OK &&
		     status(&n[1], DOMAINS_HOST, "r1.test") == DOMAINS_OK &&
		     status(&n[0], DOMAINS_HOST, "r2.test") == DOMAINS_OK &&
		     status(&n[1], DOMAINS_HOST, "r2.test") == DOMAINS_OK);
	drive(n, 2, 5000);
	for (int k = 0; k < 3; k++) {
		/* served all along (stale for a moment when a round is late on a busy machine) */
		for (int m = 0; m < 2; m++) {
			struct domains_info i = info(&n[m], DOMAINS_HOST, names[k]);

			cr_assert(i.status == DOMAINS_OK || i.status == DOMAINS_STALE, "%s: %s",
				  names[k], domains_status_name(i.status));
			cr_assert_eq(i.naddrs, 1);
		}
		a += dns_fixture_count(&dns, names[k], "A");
	}
	domain_redis_stats(n[0].dr, &s0);
	domain_redis_stats(n[1].dr, &s1);
	cr_assert_eq(s0.alone + s1.alone, 0);
	/* each query came through a lock (one per name may be in flight): one node per round */
	cr_assert(a <= s0.locked + s1.locked && a + 3 >= s0.locked + s1.locked,
		  "%u A queries, %llu + %llu locks", a, (unsigned long long)s0.locked,
		  (unsigned long long)s1.locked);
	cr_assert_gt(s0.imported + s1.imported, 3);
	/* TTL 2 s, refreshed at ~85%: ~4 rounds in 5+ s per name; two nodes alone ~8 */
	cr_assert_leq(a, 3 * 6, "%u A queries for 3 names", a);
	conn_close();
	node_free(&n[0]);
	node_free(&n[1]);
}

Test(domain_redis, redis_down_then_back)
{
	struct node n;
	struct domain_redis_stats st;

	start_both();
	cr_assert_eq(dns_fixture_zone(&dns, "{\"records\": [\"x.test. 60 IN A 192.0.2.70\"]}"), 0);
	redis_fixture_kill(&rf);
	n = node("n1");
	domains_add(n.d, DOMAINS_HOST, "x.test");
	WAIT(&n, 1, status(&n, DOMAINS_HOST, "x.test") == DOMAINS_OK);
	domain_redis_stats(n.dr, &st);
	cr_assert_gt(st.alone, 0, "resolved alone");
	cr_assert_not(st.connected);
	cr_assert_eq(redis_fixture_restart(&rf), 0);
	WAIT(&n, 1, hash_status_is("sipring:domain:host:x.test", "ok"));
	WAIT(&n, 1, (domain_redis_stats(n.dr, &st), st.writes >= 1));
	cr_assert(st.connected);
	conn_close();
	node_free(&n);
}

Test(domain_redis, addresses_value)
{
	struct domains_target t[2] = {
		{ .name = "a.example",
		  .port = 5060,
		  .priority = 10,
		  .weight = 60,
		  .transport = DOMAINS_TP_TCP,
		  .naddrs = 2,
		  .order = 10,
		  .preference = 50 },
		{ .name = "b.example", .port = 5061, .priority = 20, .weight = 0, .naddrs = 1 },
	};
	struct domains_addr a[3] = {
		{ .family = AF_INET, .target = 0, .port = 5060, .ip = { 192, 0, 2, 1 } },
		{ .family = AF_INET6,
		  .target = 0,
		  .port = 5060,
		  .ip = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } },
		{ .family = AF_INET, .target = 1, .port = 5061, .ip = { 192, 0, 2, 2 } },
	};
	struct domains_info e = {
		.name = "x", .targets = t, .addrs = a, .ntargets = 2, .naddrs = 3
	};
	char buf[1024];
	struct domain_redis_entry *ent = malloc(sizeof(*ent));
	int len = domain_redis_encode_addrs(&e, buf, sizeof(buf));

	cr_assert_gt(len, 0);
	cr_assert_str_eq(buf, "192.0.2.1:5060;10;60;tcp;a.example;10;50,"
			      "[2001:db8::1]:5060;10;60;tcp;a.example;10;50,"
			      "192.0.2.2:5061;20;0;;b.example;0;0");
	cr_assert_eq(domain_redis_encode_addrs(&e, buf, 20), -ENOSPC);
	struct sv kv[] = {
		SV_LIT("name"),
		SV_LIT("x.example"),
		SV_LIT("kind"),
		SV_LIT("naptr"),
		SV_LIT("status"),
		SV_LIT("stale"),
		SV_LIT("fail"),
		SV_LIT("servfail"),
		SV_LIT("resolved_at"),
		SV_LIT("1700000000000"),
		SV_LIT("future"),
		SV_LIT("x"),
		SV_LIT("addresses"),
		SV_LIT("192.0.2.1:5060;10;60;tcp;a.example;10;50,[2001:db8::1]:5060;10;60;tcp;"
		       "a.example;10;50,192.0.2.2:5061;20;0;;b.example;0;0"),
	};
	cr_assert_eq(domain_redis_decode(kv, 7, ent), 0);
	cr_assert_str_eq(ent->e.name, "x.example");
	cr_assert_eq(ent->e.kind, DOMAINS_NAPTR);
	cr_assert_eq(ent->e.status, DOMAINS_STALE);
	cr_assert_eq(ent->e.fail, DOMAINS_SERVFAIL);
	cr_assert_eq(ent->e.resolved_ms, 1700000000000ll);
	cr_assert_eq(ent->e.ntargets, 2);
	cr_assert_eq(ent->e.naddrs, 3);
	cr_assert_eq(memcmp(ent->e.addrs, a, sizeof(a)), 0);
	cr_assert_str_eq(ent->e.targets[0].name, "a.example");
	cr_assert_eq(ent->e.targets[0].naddrs, 2);
	cr_assert_eq(ent->e.targets[0].transport, DOMAINS_TP_TCP);
	cr_assert_eq(ent->e.targets[1].weight, 0);
	/* unreadable values */
	const char *bad[] = { "192.0.2.1;1;1;;a;0;0",
			      "192.0.2.1:70000;1;1;;a;0;0",
			      "192.0.2.1:1;1;1;sctp;a;0;0",
			      "300.0.2.1:1;1;1;;a;0;0",
			      "[::1:1;1;1;;a;0;0",
			      "192.0.2.1:1;x;1;;a;0;0",
			      "," };
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		kv[13] = sv_cstr(bad[k]);
		cr_assert_eq(domain_redis_decode(kv, 7, ent), -EBADMSG, "%s", bad[k]);
	}
	cr_assert_eq(domain_redis_decode(kv, 2, ent), -EBADMSG, "no status");
	free(ent);
}
