/* SPDX-License-Identifier: MIT */
/*
 * Tests of storage/location_redis.h against real redis-server children: the
 * bindings appear with their TTL, updates and removals follow; a new table
 * loads them back (expired and unreadable ones dropped, and cleaned from
 * Redis); Redis killed with SIGKILL in the middle of a flush and restarted
 * empty: after the reconnect Redis holds exactly the table again; AUTH and
 * SELECT over a unix socket; the CSV value round trip. Waits are bounded polls
 * (60 s); nothing asserts on time.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "storage/location.h"
#include "storage/location_redis.h"
#include "tests/storage/redis_fixture.h"

#define WAIT_MS 60000

static struct redis_fixture rf;

static void teardown(void)
{
	redis_fixture_stop(&rf);
}

TestSuite(location_redis, .fini = teardown);

static void quiet(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	(void)msg;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void start_redis(bool aof, const char *password)
{
	int r = redis_fixture_start(&rf, aof, password);

	if (r == -ENOENT)
		cr_skip_test("redis-server is not installed");
	cr_assert_eq(r, 0, "redis-server: %s", strerror(-r));
}

static struct location *table(void)
{
	struct location_config c = { .initial_aors = 64 };
	struct location *t = NULL;

	cr_assert_eq(location_create(&t, &c), 0);
	return t;
}

static struct location_redis *writer(struct location *t)
{
	struct location_redis_config c = {
		.redis_host = "127.0.0.1",
		.redis_port = rf.port,
		.batch = 64,
		.reconnect_min_ms = 20,
		.reconnect_max_ms = 200,
		.reply_timeout_ms = 30000,
		.log = quiet,
	};
	struct location_redis *lr = NULL;

	cr_assert_eq(location_redis_create(&lr, &c, t), 0);
	return lr;
}

/* Run the loop until Redis has everything (or fail after WAIT_MS). */
static void sync_all(struct location_redis *lr)
{
	int64_t end = test_now_ms() + WAIT_MS;
	struct location_redis_stats st;

	for (;;) {
		location_redis_run_once(lr, 5);
		location_redis_stats(lr, &st);
		if (st.synced)
			return;
		cr_assert_lt(test_now_ms(), end, "not synced: %llu dirty, connected %d",
			     (unsigned long long)st.dirty, st.connected);
	}
}

static struct location_binding mkb(char *aor, size_t na, char *contact, size_t nc, int a, int k,
				   int64_t exp)
{
	snprintf(aor, na, "user%04d@example.com", a);
	snprintf(contact, nc, "sip:user%04d@10.1.%d.%d:5060;transport=tcp", a, k, a % 250);
	struct location_binding b = {
		.aor = sv_cstr(aor),
		.contact = sv_cstr(contact),
		.call_id = SV_LIT("call,with \"quotes\"@host"),
		.path = a % 3 ? SV_NULL : SV_LIT("<sip:edge1.example.net;lr>,<sip:edge2;lr>"),
		.instance = a % 4 ? SV_NULL : SV_LIT("<urn:uuid:f81d4fae-7dec-11d0-a765>"),
		.reg_id = a % 4 ? 0 : (uint32_t)k + 1,
		.user_agent = SV_LIT("Grandstream GXP2170 1.0.11.3"),
		.expires_ms = exp,
		.cseq = (uint32_t)(a * 10 + k),
		.q = (uint16_t)(k * 100),
		.src = { .family = a % 2 ? AF_INET : AF_INET6,
			 .transport = LOCATION_TP_TCP,
			 .port = (uint16_t)(5000 + a),
			 .worker = 1,
			 .conn = 77,
			 .addr = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				   (uint8_t)a } },
	};
	return b;
}

static void add(struct location *t, int a, int k, int64_t exp)
{
	char aor[64], contact[96];
	struct location_binding b = mkb(aor, sizeof(aor), contact, sizeof(contact), a, k, exp);

	cr_assert_geq(location_set(t, &b), 0);
}

static bool same(const struct location_binding *x, const struct location_binding *y)
{
	return sv_eq(x->aor, y->aor) && sv_eq(x->contact, y->contact) &&
	       sv_eq(x->call_id, y->call_id) && sv_eq(x->path, y->path) &&
	       sv_eq(x->instance, y->instance) && sv_eq(x->user_agent, y->user_agent) &&
	       x->expires_ms == y->expires_ms && x->cseq == y->cseq && x->reg_id == y->reg_id &&
	       x->q == y->q && x->src.family == y->src.family &&
	       x->src.transport == y->src.transport && x->src.port == y->src.port &&
	       !memcmp(x->src.addr, y->src.addr, x->src.family == AF_INET ? 4 : 16);
}

struct cmp {
	struct location *other;
	uint64_t missing;
};

static int cmp_one(void *arg, const struct location_binding *b)
{
	struct cmp *c = arg;
	struct location_binding v[LOCATION_AOR_MAX];
	unsigned n = location_lookup(c->other, b->aor, v, LOCATION_AOR_MAX);

	for (unsigned i = 0; i < n; i++)
		if (same(b, &v[i]))
			return 0;
	c->missing++;
	return 0;
}

/* Load Redis into a new table and check it holds exactly what t holds. */
static void check_redis_equals(struct location *t)
{
	struct location *t2 = table();
	struct location_redis *lr2 = writer(t2);
	struct location_counts c1, c2;
	struct cmp c = { t2, 0 };
	int64_t n = location_redis_load(lr2, now_ms());

	location_counts(t, &c1);
	location_counts(t2, &c2);
	cr_assert_eq(n, (int64_t)c1.bindings, "loaded %lld of %llu", (long long)n,
		     (unsigned long long)c1.bindings);
	cr_assert_eq(c2.bindings, c1.bindings);
	cr_assert_eq(c2.aors, c1.aors);
	location_foreach(t, cmp_one, &c);
	cr_assert_eq(c.missing, 0, "%llu bindings differ", (unsigned long long)c.missing);
	/* and no key of an AOR the table does not have */
	redisContext *rc = redis_fixture_connect(&rf);
	redisReply *rep = redisCommand(rc, "DBSIZE");
	cr_assert_eq(rep->integer, (long long)c1.aors);
	freeReplyObject(rep);
	redisFree(rc);
	location_redis_destroy(lr2);
	location_destroy(t2);
}

Test(location_redis, value_round_trip)
{
	char aor[64], contact[96], buf[1024], scratch[1024];
	struct location_binding b = mkb(aor, sizeof(aor), contact, sizeof(contact), 8, 1, 123456),
				d;
	int n = location_redis_encode(&b, buf, sizeof(buf));

	cr_assert_gt(n, 0);
	cr_assert_eq(
		location_redis_decode(sv_make(buf, (size_t)n), b.aor, &d, scratch, sizeof(scratch)),
		0);
	cr_assert(same(&b, &d), "%.*s", n, buf);
	cr_assert_eq(location_redis_encode(&b, buf, 10), -ENOSPC);
	cr_assert_eq(location_redis_decode(SV_LIT("sip:x,notanumber"), b.aor, &d, scratch,
					   sizeof(scratch)),
		     -EBADMSG);
	/* later versions may add columns at the end */
	cr_assert_eq(location_redis_encode(&b, buf, sizeof(buf)), n);
	memcpy(buf + n, ",future", 7);
	cr_assert_eq(location_redis_decode(sv_make(buf, (size_t)n + 7), b.aor, &d, scratch,
					   sizeof(scratch)),
		     0);
}

Test(location_redis, written_with_ttl_then_updated_and_removed)
{
	struct location *t;
	struct location_redis *lr;
	int64_t now = now_ms();
	redisContext *rc;
	redisReply *rep;

	start_redis(false, NULL);
	t = table();
	lr = writer(t);
	for (int a = 0; a < 100; a++) {
		add(t, a, 0, now + 60000);
		add(t, a, 1, now + 120000);
	}
	sync_all(lr);
	rc = redis_fixture_connect(&rf);
	cr_assert_not_null(rc);
	for (int a = 0; a < 100; a++) {
		rep = redisCommand(rc, "HLEN sipring:loc:user%04d@example.com", a);
		cr_assert_eq(rep->integer, 2);
		freeReplyObject(rep);
		rep = redisCommand(rc, "PTTL sipring:loc:user%04d@example.com", a);
		/* the key lives as long as its latest binding */
		cr_assert(rep->integer > 60000 && rep->integer <= 120000, "PTTL %lld",
			  rep->integer);
		freeReplyObject(rep);
	}
	/* the field is the identity: the contact, or instance;reg-id */
	rep = redisCommand(rc, "HGET sipring:loc:user0001@example.com %s",
			   "sip:user0001@10.1.1.1:5060;transport=tcp");
	cr_assert_eq(rep->type, REDIS_REPLY_STRING);
	freeReplyObject(rep);
	rep = redisCommand(rc, "HGET sipring:loc:user0004@example.com %s",
			   "<urn:uuid:f81d4fae-7dec-11d0-a765>;reg-id=2");
	cr_assert_eq(rep->type, REDIS_REPLY_STRING);
	freeReplyObject(rep);

	/* update, remove one, remove all of one AOR */
	char aor[64], contact[96];
	struct location_binding b =
		mkb(aor, sizeof(aor), contact, sizeof(contact), 1, 1, now + 300000);
	b.cseq = 999;
	cr_assert_eq(location_set(t, &b), 0);
	cr_assert_eq(location_remove(t, b.aor, SV_LIT("sip:user0001@10.1.0.1:5060;transport=tcp"),
				     SV_NULL, 0),
		     0);
	cr_assert_eq(location_remove_aor(t, SV_LIT("user0002@example.com")), 2);
	sync_all(lr);
	rep = redisCommand(rc, "HLEN sipring:loc:user0001@example.com");
	cr_assert_eq(rep->integer, 1);
	freeReplyObject(rep);
	rep = redisCommand(rc, "PTTL sipring:loc:user0001@example.com");
	cr_assert(rep->integer > 120000 && rep->integer <= 300000, "PTTL %lld", rep->integer);
	freeReplyObject(rep);
	rep = redisCommand(rc, "EXISTS sipring:loc:user0002@example.com");
	cr_assert_eq(rep->integer, 0);
	freeReplyObject(rep);
	redisFree(rc);
	check_redis_equals(t);
	location_redis_destroy(lr);
	location_destroy(t);
}

Test(location_redis, loaded_back_without_the_expired)
{
	struct location *t, *t2;
	struct location_redis *lr, *lr2;
	struct location_redis_stats st;
	struct location_binding out[64];
	int64_t now = now_ms();
	redisContext *rc;
	redisReply *rep;

	start_redis(false, NULL);
	t = table();
	lr = writer(t);
	for (int a = 0; a < 500; a++)
		add(t, a, 0, now + 600000);
	for (int a = 0; a < 20; a++)
		add(t, a, 1, now + 1000); /* expires soon, beside a live one */
	sync_all(lr);
	location_redis_destroy(lr); /* "the process stops" without expiring them */
	/* a value nobody can read */
	rc = redis_fixture_connect(&rf);
	rep = redisCommand(rc, "HSET sipring:loc:user0030@example.com sip:junk junk");
	freeReplyObject(rep);
	/* wait until the short ones are past (Redis keeps them: their keys live on) */
	while (now_ms() <= now + 1000)
		test_sleep_ms(50);

	t2 = table();
	lr2 = writer(t2);
	cr_assert_eq(location_redis_load(lr2, now_ms()), 500);
	location_redis_stats(lr2, &st);
	cr_assert_eq(st.loaded, 500);
	cr_assert_eq(st.load_expired, 20);
	cr_assert_eq(st.load_bad, 1);
	cr_assert_eq(st.dirty, 21); /* their AORs are written again */
	while (location_expire(t, now_ms(), out, 64) > 0)
		location_reclaim(t);
	sync_all(lr2);
	rep = redisCommand(rc, "HLEN sipring:loc:user0003@example.com");
	cr_assert_eq(rep->integer, 1);
	freeReplyObject(rep);
	rep = redisCommand(rc, "HLEN sipring:loc:user0030@example.com");
	cr_assert_eq(rep->integer, 1);
	freeReplyObject(rep);
	redisFree(rc);
	location_redis_stats(lr2, &st);
	cr_assert_eq(st.resyncs, 0); /* the first connection after a load writes only the dirty */
	check_redis_equals(t);	     /* t (expired removed) == what t2 loaded == Redis */
	location_redis_destroy(lr2);
	location_destroy(t2);
	location_destroy(t);
}

Test(location_redis, redis_killed_and_restarted_empty, .timeout = 240)
{
	struct location *t;
	struct location_redis *lr;
	struct location_redis_stats st;
	int64_t now = now_ms();

	start_redis(false, NULL); /* no persistence: it comes back empty */
	t = table();
	lr = writer(t);
	for (int a = 0; a < 300; a++)
		add(t, a, 0, now + 600000);
	sync_all(lr);
	/* a big burst, and the server killed while it is being written */
	for (int a = 300; a < 6000; a++)
		add(t, a, a % 2, now + 600000);
	for (int i = 0; i < 3; i++)
		location_redis_run_once(lr, 5);
	redis_fixture_kill(&rf);
	/* changes while Redis is down: updates (repeated), removals, additions */
	for (int round = 0; round < 3; round++)
		for (int a = 0; a < 100; a++)
			add(t, a, 0, now + 700000 + round);
	for (int a = 100; a < 150; a++) {
		char aor[32];
		snprintf(aor, sizeof(aor), "user%04d@example.com", a);
		cr_assert_eq(location_remove_aor(t, sv_cstr(aor)), 1);
	}
	for (int a = 6000; a < 6100; a++)
		add(t, a, 0, now + 600000);
	for (int64_t end = test_now_ms() + 300; test_now_ms() < end;)
		location_redis_run_once(lr, 5);
	location_redis_stats(lr, &st);
	cr_assert_not(st.connected);
	cr_assert_gt(st.redis_errors, 0);
	cr_assert_eq(redis_fixture_restart(&rf), 0);
	sync_all(lr);
	location_redis_stats(lr, &st);
	cr_assert_geq(st.connects, 2);
	cr_assert_geq(st.resyncs, 2);
	check_redis_equals(t);
	location_redis_destroy(lr);
	location_destroy(t);
}

Test(location_redis, auth_select_unix_socket)
{
	struct location *t;
	struct location_redis *lr;
	struct location_redis_config c = {
		.redis_unix = NULL,
		.redis_password = "s3cret",
		.redis_db = 3,
		.prefix = "pbx1:",
		.log = quiet,
	};
	redisContext *rc;
	redisReply *rep;

	start_redis(false, "s3cret");
	c.redis_unix = rf.sock;
	t = table();
	cr_assert_eq(location_redis_create(&lr, &c, t), 0);
	add(t, 5, 0, now_ms() + 60000);
	sync_all(lr);
	rc = redis_fixture_connect(&rf);
	rep = redisCommand(rc, "SELECT 3");
	freeReplyObject(rep);
	rep = redisCommand(rc, "HLEN pbx1:loc:user0005@example.com");
	cr_assert_eq(rep->integer, 1);
	freeReplyObject(rep);
	redisFree(rc);
	/* loaded back through the same path */
	struct location *t2 = table();
	struct location_redis *lr2 = NULL;
	cr_assert_eq(location_redis_create(&lr2, &c, t2), 0);
	cr_assert_eq(location_redis_load(lr2, now_ms()), 1);
	location_redis_destroy(lr2);
	location_destroy(t2);
	location_redis_destroy(lr);
	location_destroy(t);
}

Test(location_redis, load_without_redis)
{
	struct location *t = table();
	struct location_redis *lr;
	struct location_redis_config c = {
		.redis_host = "127.0.0.1",
		.redis_port = 1, /* nothing listens there */
		.log = quiet,
	};

	cr_assert_eq(location_redis_create(&lr, &c, t), 0);
	cr_assert_eq(location_redis_load(lr, now_ms()), -ECONNREFUSED);
	location_redis_destroy(lr);
	location_destroy(t);
}
