/* SPDX-License-Identifier: MIT */
/*
 * Tests of storage/suspend_redis.h against a real redis-server child: two
 * tables ("nodes") each with its own sync on one Redis. Failures on both count
 * together; a suspension on one reaches the other; a clear removes the keys
 * (other nodes keep what they merged, as documented); a success resets the
 * cluster's count; Redis down fails the round and leaves the tables working;
 * every key has a TTL; the thread syncs on its own. Rounds are called directly
 * with chosen times except in the thread test (a bounded poll, 60 s).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/suspend.h"
#include "storage/suspend_redis.h"
#include "tests/storage/redis_fixture.h"

#define WAIT_MS 60000
#define U(s)	sv_cstr(s)

static struct redis_fixture rf;

static void teardown(void)
{
	redis_fixture_stop(&rf);
}

TestSuite(suspend_redis, .fini = teardown);

static int logs;

static void count_logs(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	(void)msg;
	logs++;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void start_redis(void)
{
	int r = redis_fixture_start(&rf, false, NULL);
	if (r == -ENOENT)
		cr_skip_test("redis-server is not installed");
	cr_assert_eq(r, 0, "redis-server: %s", strerror(-r));
}

/* A node: its table (retry 6, 180 s, by_ip) and its sync. */
struct node {
	struct suspend s;
	struct suspend_redis *sr;
};

static void node_init(struct node *n, uint32_t interval_ms)
{
	struct suspend_conf c = { .retry = 6, .suspend_s = 180, .by_ip = true };
	struct suspend_redis_config rc = {
		.redis_host = "127.0.0.1",
		.redis_port = rf.port,
		.prefix = "t:",
		.timeout_ms = 2000, /* generous: small shared machines */
		.interval_ms = interval_ms,
		.log = count_logs,
	};
	cr_assert_eq(suspend_init(&n->s, &c, 1000), 0);
	cr_assert_eq(suspend_redis_create(&n->sr, &rc, &n->s), 0);
}

static void node_fini(struct node *n)
{
	suspend_redis_destroy(n->sr);
	suspend_fini(&n->s);
}

static void fail(struct node *n, const char *user, int times, uint64_t t)
{
	for (int i = 0; i < times; i++)
		suspend_failure(&n->s, U(user), U("d"), NULL, t);
}

static bool suspended(struct node *n, const char *user, uint64_t t)
{
	return suspend_check(&n->s, U(user), U("d"), NULL, t);
}

static long long cmd_int(redisContext *c, const char *cmd, const char *key)
{
	redisReply *r = redisCommand(c, "%s %s", cmd, key);
	cr_assert(r && r->type == REDIS_REPLY_INTEGER, "%s %s", cmd, key);
	long long v = r->integer;
	freeReplyObject(r);
	return v;
}

static long long hget_failures(redisContext *c, const char *key)
{
	redisReply *r = redisCommand(c, "HGET %s failures", key);
	cr_assert(r);
	long long v = r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;
	freeReplyObject(r);
	return v;
}

Test(suspend_redis, failures_on_two_nodes_count_together)
{
	start_redis();
	struct node a, b;
	node_init(&a, 0);
	node_init(&b, 0);
	redisContext *c = redis_fixture_connect(&rf);
	cr_assert(c);
	uint64_t t = now_ms();

	fail(&a, "alice", 3, t);
	fail(&b, "alice", 3, t);
	cr_assert_eq(suspend_redis_sync(a.sr, t), 0);
	cr_assert_eq(hget_failures(c, "t:susp:alice@d"), 3);
	long long pttl = cmd_int(c, "PTTL", "t:susp:alice@d");
	cr_assert(pttl > 0 && pttl <= 600000, "the count's window: %lld", pttl);
	cr_assert_not(suspended(&a, "alice", t + 1));

	cr_assert_eq(suspend_redis_sync(b.sr, t + 2), 1, "one suspension in the cluster");
	cr_assert(suspended(&b, "alice", t + 3));
	cr_assert_eq(suspend_redis_sync(a.sr, t + 4), 1);
	cr_assert(suspended(&a, "alice", t + 5));
	/* The same end on both nodes, the one Redis set. */
	struct suspend_info ia, ib;
	cr_assert_eq(suspend_list(&a.s, t + 6, &ia, 1), 1);
	cr_assert_eq(suspend_list(&b.s, t + 6, &ib, 1), 1);
	cr_assert_eq(ia.until_ms, t + 2 + 180000);
	cr_assert_eq(ib.until_ms, ia.until_ms);

	/* Keys: the suspension and the index with TTLs, the count gone. */
	pttl = cmd_int(c, "PTTL", "t:suspended:alice@d");
	cr_assert(pttl > 0 && pttl <= 180000, "%lld", pttl);
	pttl = cmd_int(c, "PTTL", "t:suspended");
	cr_assert(pttl > 0 && pttl <= 180000, "%lld", pttl);
	cr_assert_eq(cmd_int(c, "EXISTS", "t:susp:alice@d"), 0);

	/* Failures while suspended neither count nor extend. */
	fail(&a, "alice", 10, t + 7);
	cr_assert_eq(suspend_redis_sync(a.sr, t + 8), 1);
	cr_assert_eq(cmd_int(c, "EXISTS", "t:susp:alice@d"), 0);
	suspend_list(&a.s, t + 9, &ia, 1);
	cr_assert_eq(ia.until_ms, t + 2 + 180000);

	/* Ended: pruned from the index, not merged again. */
	cr_assert_eq(suspend_redis_sync(a.sr, t + 2 + 180000), 0);
	cr_assert_not(suspended(&a, "alice", t + 2 + 180000));

	redisFree(c);
	node_fini(&a);
	node_fini(&b);
}

Test(suspend_redis, a_suspension_reaches_the_other_node)
{
	start_redis();
	struct node a, b;
	node_init(&a, 0);
	node_init(&b, 0);
	uint64_t t = now_ms();

	/* Suspended on A alone (6 local failures), user and address. */
	struct sockaddr_in bad = { .sin_family = AF_INET };
	inet_pton(AF_INET, "198.51.100.9", &bad.sin_addr);
	char user[16];
	for (int i = 0; i < 6; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		suspend_failure(&a.s, U(user), U("d"), (struct sockaddr *)&bad, t);
	}
	fail(&a, "bob", 6, t);
	cr_assert(suspended(&a, "bob", t));
	cr_assert_not(suspended(&b, "bob", t));

	cr_assert_eq(suspend_redis_sync(a.sr, t + 1), 2);
	cr_assert_eq(suspend_redis_sync(b.sr, t + 2), 2);
	cr_assert(suspended(&b, "bob", t + 3));
	cr_assert(suspend_check(&b.s, U("eve"), U("d"), (struct sockaddr *)&bad, t + 3),
		  "the address too");
	/* B has Redis's end; A took it too, being the later (max of the ends). */
	struct suspend_info i;
	cr_assert_eq(suspend_list(&b.s, t + 3, &i, 1) >= 1, 1);
	cr_assert_eq(i.until_ms, t + 1 + 180000);

	node_fini(&a);
	node_fini(&b);
}

Test(suspend_redis, clear_removes_the_keys)
{
	start_redis();
	struct node a, b;
	node_init(&a, 0);
	node_init(&b, 0);
	redisContext *c = redis_fixture_connect(&rf);
	cr_assert(c);
	uint64_t t = now_ms();

	fail(&a, "carol", 6, t);
	cr_assert_eq(suspend_redis_sync(a.sr, t + 1), 1);
	cr_assert_eq(suspend_redis_sync(b.sr, t + 2), 1);
	cr_assert(suspended(&b, "carol", t + 3));

	cr_assert_eq(suspend_clear(&a.s, "carol@d"), 0);
	cr_assert_eq(suspend_redis_clear(a.sr, "carol@d"), 0);
	cr_assert_eq(cmd_int(c, "EXISTS", "t:suspended:carol@d"), 0);
	cr_assert_eq(cmd_int(c, "EXISTS", "t:susp:carol@d"), 0);
	cr_assert_eq(cmd_int(c, "ZCARD", "t:suspended"), 0);
	cr_assert_eq(suspend_redis_sync(a.sr, t + 4), 0);
	cr_assert_not(suspended(&a, "carol", t + 5), "not merged back");
	/* Documented: B keeps what it merged until it ends or is cleared there. */
	cr_assert_eq(suspend_redis_sync(b.sr, t + 4), 0);
	cr_assert(suspended(&b, "carol", t + 5));
	cr_assert_eq(suspend_clear(&b.s, "carol@d"), 0);
	cr_assert_eq(suspend_redis_clear(b.sr, "carol@d"), 0, "clearing twice is fine");

	redisFree(c);
	node_fini(&a);
	node_fini(&b);
}

Test(suspend_redis, a_success_resets_the_cluster_count)
{
	start_redis();
	struct node a, b;
	node_init(&a, 0);
	node_init(&b, 0);
	redisContext *c = redis_fixture_connect(&rf);
	cr_assert(c);
	uint64_t t = now_ms();

	fail(&a, "dave", 4, t);
	cr_assert_eq(suspend_redis_sync(a.sr, t), 0);
	cr_assert_eq(hget_failures(c, "t:susp:dave@d"), 4);
	/* B learns the count with its next failure's round. */
	fail(&b, "dave", 1, t + 1);
	cr_assert_eq(suspend_redis_sync(b.sr, t + 2), 0);
	cr_assert_eq(hget_failures(c, "t:susp:dave@d"), 5);
	/* A success on B, which counted only one of them, resets Redis. */
	suspend_success(&b.s, U("dave"), U("d"), NULL);
	cr_assert_eq(suspend_redis_sync(b.sr, t + 3), 0);
	cr_assert_eq(cmd_int(c, "EXISTS", "t:susp:dave@d"), 0);
	/* A reset and later failures in one round: reset first. */
	suspend_success(&a.s, U("dave"), U("d"), NULL);
	fail(&a, "dave", 2, t + 4);
	cr_assert_eq(suspend_redis_sync(a.sr, t + 5), 0);
	cr_assert_eq(hget_failures(c, "t:susp:dave@d"), 2);
	fail(&b, "dave", 3, t + 6);
	cr_assert_eq(suspend_redis_sync(b.sr, t + 7), 0, "5 in all: not suspended");
	cr_assert_not(suspended(&b, "dave", t + 8));
	/* B's count is now the cluster's: its next failure is the 6th. */
	cr_assert(suspend_failure(&b.s, U("dave"), U("d"), NULL, t + 9));

	redisFree(c);
	node_fini(&a);
	node_fini(&b);
}

Test(suspend_redis, redis_down_fails_the_round_not_the_table, .timeout = 240)
{
	start_redis();
	struct node a;
	node_init(&a, 0);
	uint64_t t = now_ms();
	logs = 0;

	fail(&a, "erin", 2, t);
	cr_assert_eq(suspend_redis_sync(a.sr, t), 0);
	redis_fixture_kill(&rf);
	fail(&a, "erin", 2, t + 1);
	cr_assert_lt(suspend_redis_sync(a.sr, t + 2), 0);
	cr_assert_lt(suspend_redis_sync(a.sr, t + 3), 0);
	cr_assert_lt(suspend_redis_clear(a.sr, "erin@d"), 0);
	cr_assert_eq(logs, 1, "logged once when failing starts");
	/* Locally everything goes on. */
	fail(&a, "erin", 1, t + 4);
	cr_assert(suspend_failure(&a.s, U("erin"), U("d"), NULL, t + 5));
	cr_assert(suspended(&a, "erin", t + 6));

	cr_assert_eq(redis_fixture_restart(&rf), 0);
	cr_assert_eq(suspend_redis_sync(a.sr, t + 7), 0,
		     "back (the deltas of the down rounds dropped)");
	cr_assert_eq(logs, 2, "and once when it ends");
	cr_assert(suspended(&a, "erin", t + 8));
	node_fini(&a);
}

Test(suspend_redis, the_thread_syncs, .timeout = 240)
{
	start_redis();
	struct node a, b;
	node_init(&a, 20);
	node_init(&b, 20);
	cr_assert_eq(suspend_redis_start(a.sr), 0);
	cr_assert_eq(suspend_redis_start(a.sr), -EALREADY);
	cr_assert_eq(suspend_redis_start(b.sr), 0);

	fail(&a, "frank", 6, now_ms());
	int64_t end = test_now_ms() + WAIT_MS;
	while (!suspended(&b, "frank", now_ms())) {
		cr_assert_lt(test_now_ms(), end, "B never saw it");
		test_sleep_ms(10);
	}
	suspend_redis_stop(a.sr);
	suspend_redis_stop(a.sr);
	node_fini(&a);
	/* b's thread still runs: destroy stops it. */
	node_fini(&b);
}

Test(suspend_redis, bad_config)
{
	struct suspend s;
	struct suspend_conf c = { .retry = 6, .suspend_s = 180 };
	struct suspend_redis *sr;
	struct suspend_redis_config rc = { 0 };
	cr_assert_eq(suspend_init(&s, &c, 10), 0);
	cr_assert_eq(suspend_redis_create(&sr, &rc, &s), -EINVAL);
	rc.redis_host = "127.0.0.1";
	rc.prefix = "0123456789012345678901234567890123456789012345678901234567890123456789";
	cr_assert_eq(suspend_redis_create(&sr, &rc, &s), -EINVAL);
	suspend_redis_destroy(NULL);
	suspend_fini(&s);
}
