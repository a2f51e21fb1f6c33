/* SPDX-License-Identifier: MIT */
/*
 * Tests of storage/cdr_flusher.h against real redis-server children: N CDRs in
 * gives N stream entries and exact counters; Redis down at the start, killed
 * (SIGKILL) in the middle of a flush and restarted, its script cache flushed;
 * the flusher stopped early and restarted, or its process killed with SIGKILL:
 * the spool replays, nothing is lost or counted twice. Also: the spool as the
 * export without Redis, ids, submit errors, AUTH + SELECT over a unix socket,
 * and the owner-loop API a service thread will use.
 *
 * "Exact" means: the Redis counters (read with report_from_redis()) equal the
 * counters cdr_count() gives for the generated CDRs (cdr_gen_expect()), row by
 * row for every dimension, and XLEN equals the number of CDRs. Waits are
 * bounded polls (60 s and more); nothing asserts on time.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage/cdr_flusher.h"
#include "storage/report.h"
#include "storage/spool.h"
#include "tests/storage/cdr_gen.h"
#include "tests/storage/redis_fixture.h"

#define WAIT_MS 120000

static struct redis_fixture rf;
static char dir[256];

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/sipring-flusher-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	cr_assert_not_null(mkdtemp(dir));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void teardown(void)
{
	redis_fixture_stop(&rf);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(flusher, .init = setup, .fini = teardown);

static void quiet(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	(void)msg;
}

static void start_redis(bool aof, const char *password)
{
	int r = redis_fixture_start(&rf, aof, password);

	if (r == -ENOENT)
		cr_skip_test("redis-server is not installed");
	cr_assert_eq(r, 0, "redis-server: %s", strerror(-r));
}

static struct cdr_flusher_config config(bool redis)
{
	struct cdr_flusher_config c = {
		.node = 3,
		.spool_dir = dir,
		.fsync = SPOOL_FSYNC_NEVER,
		.segment_bytes = 256 * 1024, /* several segments per test */
		.producers = 1,
		.ring_slots = 1024,
		.reconnect_min_ms = 20,
		.reconnect_max_ms = 200,
		.connect_timeout_ms = 5000,
		.reply_timeout_ms = 60000,
		.log = quiet,
	};
	if (redis) {
		c.redis_host = "127.0.0.1";
		c.redis_port = rf.port;
	}
	return c;
}

static struct cdr_flusher *create(const struct cdr_flusher_config *c)
{
	struct cdr_flusher *f = NULL;
	int r = cdr_flusher_create(&f, c);

	cr_assert_eq(r, 0, "cdr_flusher_create: %s", strerror(-r));
	return f;
}

/* Producer p submits n CDRs of seed `seed`, waiting when its ring is full. */
struct producer {
	struct cdr_flusher *f;
	unsigned index;
	uint64_t seed, n;
	unsigned pace; /* sleep 1 ms every `pace` CDRs, 0 = never */
	int err;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	struct cdr_gen g;
	struct cdr c;

	cdr_gen_init(&g, p->seed);
	for (uint64_t i = 0; i < p->n; i++) {
		int r;

		cdr_gen_next(&g, &c);
		while ((r = cdr_flusher_submit(p->f, p->index, &c)) == -ENOBUFS)
			test_sleep_ms(1);
		if (r) {
			p->err = r;
			return NULL;
		}
		if (p->pace && i % p->pace == p->pace - 1)
			test_sleep_ms(1);
	}
	return NULL;
}

static void produce_all(struct cdr_flusher *f, unsigned np, uint64_t seed, uint64_t n,
			unsigned pace)
{
	pthread_t t[8];
	struct producer p[8];

	for (unsigned i = 0; i < np; i++) {
		p[i] = (struct producer){ f, i, seed + i, n, pace, 0 };
		cr_assert_eq(pthread_create(&t[i], NULL, produce, &p[i]), 0);
	}
	for (unsigned i = 0; i < np; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(p[i].err, 0, "producer %u: %s", i, strerror(-p[i].err));
	}
}

static struct cdr_flusher_stats stats(struct cdr_flusher *f)
{
	struct cdr_flusher_stats st;

	cdr_flusher_stats(f, &st);
	return st;
}

/* Poll until cond(f) or the deadline; the flusher runs on its own thread. */
#define WAIT_FOR(f, cond, what)                                                           \
	do {                                                                              \
		int64_t dl_ = test_now_ms() + WAIT_MS;                                    \
		struct cdr_flusher_stats st;                                              \
		for (;;) {                                                                \
			cdr_flusher_stats((f), &st);                                      \
			if (cond)                                                         \
				break;                                                    \
			cr_assert_lt(test_now_ms(), dl_, "waited too long for %s", what); \
			test_sleep_ms(10);                                                \
		}                                                                         \
	} while (0)

/* What was submitted: n CDRs of each seed. */
struct gen_spec {
	uint64_t seed, n;
};

/* Redis holds exactly the CDRs of specs[], once each. */
static void check_exact(const struct gen_spec *specs, unsigned nspecs, const char *password,
			unsigned db, const char *prefix)
{
	static const enum report_by bys[] = { REPORT_BY_CUSTOMER, REPORT_BY_VENDOR,
					      REPORT_BY_GATEWAY, REPORT_BY_DEST, REPORT_BY_DAY };
	struct report_redis conn = { .host = "127.0.0.1",
				     .port = rf.port,
				     .password = password,
				     .db = db,
				     .prefix = prefix };
	struct report_query q = { .from = CDR_GEN_DAY0, .to = CDR_GEN_DAY0 + CDR_GEN_DAYS - 1 };
	uint64_t total = 0;

	for (unsigned i = 0; i < nspecs; i++)
		total += specs[i].n;
	for (size_t b = 0; b < sizeof(bys) / sizeof(bys[0]); b++) {
		struct report want, got;
		char err[256];

		q.by = bys[b];
		report_init(&want);
		report_init(&got);
		for (unsigned i = 0; i < nspecs; i++)
			cr_assert_eq(cdr_gen_expect(&want, specs[i].seed, specs[i].n, bys[b]), 0);
		report_finish(&want);
		cr_assert_eq(report_from_redis(&got, &conn, &q, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(got.n, want.n, "by %s: %zu rows, want %zu", report_by_name(bys[b]),
			     got.n, want.n);
		for (size_t i = 0; i < want.n; i++) {
			const struct report_row *x = &got.rows[i], *y = &want.rows[i];
			cr_assert(x->day == y->day && strcmp(x->key, y->key) == 0);
			cr_assert(memcmp(&x->c, &y->c, sizeof(x->c)) == 0,
				  "by %s, %s: calls %lld want %lld, revenue %lld want %lld",
				  report_by_name(bys[b]), x->key, (long long)x->c.calls,
				  (long long)y->c.calls, (long long)x->c.revenue,
				  (long long)y->c.revenue);
		}
		report_free(&want);
		report_free(&got);
	}
	redisContext *c = redis_fixture_connect(&rf);
	cr_assert_not_null(c);
	if (db)
		freeReplyObject(redisCommand(c, "SELECT %u", db));
	char key[128];
	snprintf(key, sizeof(key), "%scdr", prefix ? prefix : "sipring:");
	redisReply *r = redisCommand(c, "XLEN %s", key);
	cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
	cr_assert_eq((uint64_t)r->integer, total, "XLEN %lld, want %llu", r->integer,
		     (unsigned long long)total);
	freeReplyObject(r);
	redisFree(c);
}

Test(flusher, exports_exactly)
{
	start_redis(false, NULL);
	struct cdr_flusher_config c = config(true);
	c.producers = 3;
	c.retain_acked_sec = 3600; /* keep the spool: compare it with Redis */
	c.batch = 100;
	struct cdr_flusher *f = create(&c);

	cr_assert_eq(cdr_flusher_start(f), 0);
	produce_all(f, 3, 100, 4000, 0);
	cr_assert_eq(cdr_flusher_stop(f, WAIT_MS), 0);
	struct cdr_flusher_stats st = stats(f);
	cr_expect_eq(st.submitted, 12000);
	cr_expect_eq(st.spooled, 12000);
	cr_expect_eq(st.applied, 12000);
	cr_expect_eq(st.duplicates, 0);
	cr_expect(st.synced);
	cr_expect_eq(cdr_flusher_submit(f, 0, &(struct cdr){ 0 }), -ESHUTDOWN);
	cdr_flusher_destroy(f);
	check_exact((struct gen_spec[]){ { 100, 4000 }, { 101, 4000 }, { 102, 4000 } }, 3, NULL, 0,
		    NULL);

	/* The spool, read as an export, says the same as Redis. */
	for (unsigned by = 0; by <= REPORT_BY_DAY; by++) {
		struct report_query q = { (enum report_by)by, CDR_GEN_DAY0,
					  CDR_GEN_DAY0 + CDR_GEN_DAYS - 1 };
		struct report_redis conn = { .host = "127.0.0.1", .port = rf.port };
		struct report a, b;
		report_init(&a);
		report_init(&b);
		cr_assert_eq(report_from_spool(&a, dir, &q), 0);
		cr_assert_eq(report_from_redis(&b, &conn, &q, NULL, 0), 0);
		cr_assert_eq(a.n, b.n);
		cr_assert(memcmp(&a.total, &b.total, sizeof(a.total)) == 0, "by %u", by);
		for (size_t i = 0; i < a.n; i++)
			cr_assert(memcmp(&a.rows[i], &b.rows[i], sizeof(a.rows[i])) == 0);
		report_free(&a);
		report_free(&b);
	}
}

Test(flusher, redis_down_at_start_then_up)
{
	start_redis(false, NULL);
	redis_fixture_kill(&rf); /* the port is known, nobody listens on it */
	struct cdr_flusher_config c = config(true);
	struct cdr_flusher *f = create(&c);

	cr_assert_eq(cdr_flusher_start(f), 0);
	produce_all(f, 1, 7, 5000, 0);
	WAIT_FOR(f, st.spooled == 5000 && st.redis_errors >= 2, "spooling while Redis is down");
	cr_expect(!stats(f).connected);
	cr_expect_eq(stats(f).acked, 0);
	cr_assert_eq(redis_fixture_restart(&rf), 0);
	WAIT_FOR(f, st.synced && st.applied == 5000, "the replay");
	cr_assert_eq(cdr_flusher_stop(f, WAIT_MS), 0);
	cdr_flusher_destroy(f);
	check_exact(&(struct gen_spec){ 7, 5000 }, 1, NULL, 0, NULL);
}

Test(flusher, redis_killed_mid_flush)
{
	const uint64_t n = 40000;

	start_redis(true, NULL); /* append-only, fsync always: it keeps what it answered */
	struct cdr_flusher_config c = config(true);
	c.batch = 64;
	c.inflight = 8;
	struct cdr_flusher *f = create(&c);
	struct producer p = { f, 0, 21, n, 20, 0 }; /* about 20 CDRs per ms at most */
	pthread_t t;

	cr_assert_eq(cdr_flusher_start(f), 0);
	cr_assert_eq(pthread_create(&t, NULL, produce, &p), 0);
	WAIT_FOR(f, st.applied >= n / 5, "a fifth of the CDRs in Redis");
	uint64_t at_kill = stats(f).applied;
	redis_fixture_kill(&rf);
	cr_expect_lt(at_kill, n, "killed in the middle of the flush");
	WAIT_FOR(f, !st.connected, "the flusher to see Redis gone");
	test_sleep_ms(200);
	cr_assert_eq(redis_fixture_restart(&rf), 0);
	pthread_join(t, NULL);
	cr_assert_eq(p.err, 0);
	WAIT_FOR(f, st.spooled == n && st.synced, "everything acknowledged");
	struct cdr_flusher_stats st = stats(f);
	cr_expect_geq(st.redis_errors, 1);
	cr_expect_geq(st.connects, 2);
	cr_assert_eq(cdr_flusher_stop(f, WAIT_MS), 0);
	cdr_flusher_destroy(f);
	check_exact(&(struct gen_spec){ 21, n }, 1, NULL, 0, NULL);
}

Test(flusher, stopped_early_then_restarted)
{
	start_redis(false, NULL);
	redis_fixture_kill(&rf);
	struct cdr_flusher_config c = config(true);
	struct cdr_flusher *f = create(&c);
	uint64_t boot1 = stats(f).boot;

	cr_assert_eq(cdr_flusher_start(f), 0);
	produce_all(f, 1, 5, 3000, 0);
	WAIT_FOR(f, st.spooled == 3000, "spooling");
	cr_assert_eq(cdr_flusher_stop(f, 50), -ETIMEDOUT, "Redis is down: left in the spool");
	cdr_flusher_destroy(f);

	cr_assert_eq(redis_fixture_restart(&rf), 0);
	f = create(&c);
	cr_expect_gt(stats(f).boot, boot1);
	cr_assert_eq(cdr_flusher_start(f), 0);
	produce_all(f, 1, 6, 2000, 0); /* a new boot's CDRs after the old ones */
	WAIT_FOR(f, st.spooled == 2000 && st.synced && st.acked >= 5000, "replay and export");
	cr_assert_eq(cdr_flusher_stop(f, WAIT_MS), 0);
	cdr_flusher_destroy(f);
	check_exact((struct gen_spec[]){ { 5, 3000 }, { 6, 2000 } }, 2, NULL, 0, NULL);
}

/*
 * The process that submits is killed with SIGKILL once everything is spooled
 * (some of it sent, some acknowledged, some perhaps applied and not
 * acknowledged): the next start on the same spool replays, exactly.
 */
Test(flusher, killed_process_replays)
{
	const uint64_t n = 30000;
	int pfd[2];
	pid_t pid;
	char b;

	start_redis(false, NULL);
	cr_assert_eq(pipe(pfd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct cdr_flusher_config c = config(true);
		c.batch = 50;
		c.inflight = 4;
		c.ack_interval_ms = 3600000; /* the ack file is never written: all replays */
		struct cdr_flusher *f = NULL;
		struct cdr_flusher_stats st;

		close(pfd[0]);
		if (cdr_flusher_create(&f, &c) || cdr_flusher_start(f))
			_exit(3);
		struct producer p = { f, 0, 77, n, 0, 0 };
		produce(&p);
		do {
			test_sleep_ms(1);
			cdr_flusher_stats(f, &st);
		} while (st.spooled < n || st.applied == 0);
		(void)!write(pfd[1], "k", 1);
		for (;;)
			pause(); /* the flusher goes on until the parent kills us */
	}
	close(pfd[1]);
	cr_assert_eq(read(pfd[0], &b, 1), 1, "the child spooled everything");
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(pfd[0]);

	struct cdr_flusher_config c = config(true);
	struct cdr_flusher *f = create(&c); /* the lock died with the child */
	cr_assert_eq(cdr_flusher_start(f), 0);
	WAIT_FOR(f, st.synced && st.connected, "the replay");
	struct cdr_flusher_stats st = stats(f);
	/*
	 * Everything was read again (the ack file was never written): what the
	 * child had applied came back as duplicates (whole batches) or was
	 * filtered after a partial answer; only the rest was applied (Redis says
	 * below that it holds each exactly once).
	 */
	cr_expect_gt(st.duplicates + st.filtered, 0);
	cr_expect_lt(st.applied, n, "applied %llu dup %llu filtered %llu",
		     (unsigned long long)st.applied, (unsigned long long)st.duplicates,
		     (unsigned long long)st.filtered);
	cr_assert_eq(cdr_flusher_stop(f, WAIT_MS), 0);
	cdr_flusher_destroy(f);
	check_exact(&(struct gen_spec){ 77, n }, 1, NULL, 0, NULL);
}

Test(flusher, script_cache_flushed)
{
	start_redis(false, NULL);
	struct cdr_flusher_config c = config(true);
	struct cdr_flusher *f = create(&c);
	struct producer p = { f, 0, 31, 20000, 20, 0 };
	pthread_t t;

	cr_assert_eq(cdr_flusher_start(f), 0);
	cr_assert_eq(pthread_create(&t, NULL, produce, &p), 0);
	WAIT_FOR(f, st.applied >= 2000, "some CDRs in Redis");
	redisContext *rc = redis_fixture_connect(&rf);
	freeReplyObject(redisCommand(rc, "SCRIPT FLUSH"));
	redisFree(rc);
	pthread_join(t, NULL);
	WAIT_FOR(f, st.spooled == 20000 && st.synced, "everything acknowledged");
	cr_assert_eq(cdr_flusher_stop(f, WAIT_MS), 0);
	cdr_flusher_destroy(f);
	check_exact(&(struct gen_spec){ 31, 20000 }, 1, NULL, 0, NULL);
}

Test(flusher, auth_select_unix_socket_prefix)
{
	start_redis(false, "s3cret");
	struct cdr_flusher_config c = config(false);
	c.redis_unix = rf.sock;
	c.redis_password = "s3cret";
	c.redis_db = 5;
	c.prefix = "eu:";
	struct cdr_flusher *f = create(&c);

	cr_assert_eq(cdr_flusher_start(f), 0);
	produce_all(f, 1, 9, 3000, 0);
	cr_assert_eq(cdr_flusher_stop(f, WAIT_MS), 0);
	cdr_flusher_destroy(f);
	check_exact(&(struct gen_spec){ 9, 3000 }, 1, "s3cret", 5, "eu:");

	/* A wrong password: refused, retried, nothing sent, nothing lost. */
	c.redis_password = "wrong";
	f = create(&c);
	cr_assert_eq(cdr_flusher_start(f), 0);
	produce_all(f, 1, 10, 100, 0);
	WAIT_FOR(f, st.redis_errors >= 2 && st.spooled == 100, "AUTH refused");
	cr_expect(!stats(f).connected);
	cr_expect_eq(cdr_flusher_stop(f, 0), -ETIMEDOUT);
	cdr_flusher_destroy(f);
	check_exact(&(struct gen_spec){ 9, 3000 }, 1, "s3cret", 5, "eu:");
}

/* The service thread's way: the loop owns the fd and the waits. */
Test(flusher, owner_loop)
{
	start_redis(false, NULL);
	struct cdr_flusher_config c = config(true);
	struct cdr_flusher *f = create(&c);
	struct cdr_gen g;
	struct cdr cdr;
	int64_t deadline = test_now_ms() + WAIT_MS;
	uint64_t sent = 0;

	cdr_gen_init(&g, 55);
	while (!stats(f).synced || sent < 4000) {
		struct pollfd pfd = { .fd = -1 };
		int fd, timeout;

		/* This thread is the producer too: a few CDRs per round. */
		for (int k = 0; k < 50 && sent < 4000; k++) {
			cdr_gen_next(&g, &cdr);
			if (cdr_flusher_submit(f, 0, &cdr) != 0)
				break;
			sent++;
		}
		fd = cdr_flusher_poll_fd(f, &pfd.events);
		timeout = cdr_flusher_poll_timeout(f);
		cr_assert_leq(timeout, (int)c.poll_ms ? (int)c.poll_ms : 5);
		if (fd >= 0) {
			pfd.fd = fd;
			cr_assert_geq(poll(&pfd, 1, timeout), 0);
		} else {
			test_sleep_ms(timeout);
		}
		cdr_flusher_process(f, fd >= 0 ? pfd.revents : 0);
		cr_assert_lt(test_now_ms(), deadline);
	}
	cr_assert_eq(cdr_flusher_stop(f, WAIT_MS), 0);
	cdr_flusher_destroy(f);
	check_exact(&(struct gen_spec){ 55, 4000 }, 1, NULL, 0, NULL);
}

/* Without Redis the spool is the export: every CDR is there once, with a unique id. */
Test(flusher, spool_is_the_export)
{
	struct cdr_flusher_config c = config(false);
	c.producers = 3;
	c.segment_bytes = 64 * 1024;
	struct cdr_flusher *f = create(&c);
	uint64_t boot = stats(f).boot;

	cr_assert_eq(cdr_flusher_start(f), 0);
	produce_all(f, 3, 200, 3000, 0);
	cr_assert_eq(cdr_flusher_stop(f, WAIT_MS), 0);
	cdr_flusher_destroy(f);

	/* Ids: this node, this boot, seq 1..9000 in spool order. */
	struct spool_reader *rd;
	struct spool_pos end;
	struct sv rec;
	uint64_t seq = 0;
	cr_assert_eq(spool_reader_open(&rd, dir, NULL, (struct spool_pos){ 0, 0 }), 0);
	while (spool_reader_next(rd, &rec, &end) == 1) {
		struct cdr d;
		cr_assert_eq(cdr_decode(rec.p, rec.len, &d), 0);
		cr_assert_eq(d.id.node, 3);
		cr_assert_eq(d.id.boot, boot);
		cr_assert_eq(d.id.seq, ++seq);
	}
	spool_reader_close(rd);
	cr_assert_eq(seq, 9000);
	cr_assert_gt(end.seg, 1, "rotated");

	for (unsigned by = 0; by <= REPORT_BY_DAY; by++) {
		struct report_query q = { (enum report_by)by, CDR_GEN_DAY0,
					  CDR_GEN_DAY0 + CDR_GEN_DAYS - 1 };
		struct report got, want;
		report_init(&got);
		report_init(&want);
		cr_assert_eq(report_from_spool(&got, dir, &q), 0);
		for (unsigned p = 0; p < 3; p++)
			cr_assert_eq(cdr_gen_expect(&want, 200 + p, 3000, (enum report_by)by), 0);
		report_finish(&want);
		cr_assert_eq(got.n, want.n);
		for (size_t i = 0; i < got.n; i++)
			cr_assert(memcmp(&got.rows[i], &want.rows[i], sizeof(got.rows[i])) == 0);
		report_free(&got);
		report_free(&want);
	}
	/* Nothing was deleted: no segment is acknowledged without Redis. */
	char path[512];
	struct stat stt;
	snprintf(path, sizeof(path), "%s/%016x.seg", dir, 1);
	cr_expect_eq(stat(path, &stt), 0);
}

Test(flusher, submit_errors_and_config)
{
	struct cdr_flusher_config c = config(false);
	c.ring_slots = 2;
	struct cdr_flusher *f = create(&c), *g = NULL;
	struct cdr ok = { .customer = SV_LIT("acme") };
	char longname[CDR_MAX_NAME + 2];

	cr_expect_eq(cdr_flusher_submit(f, 0, &ok), 0);
	cr_expect_eq(cdr_flusher_submit(f, 0, &ok), 0);
	cr_expect_eq(cdr_flusher_submit(f, 0, &ok), -ENOBUFS, "nobody drains: the ring is full");
	cr_expect_eq(stats(f).ring_full, 1);
	cr_expect_eq(cdr_flusher_submit(f, 1, &ok), -EINVAL, "one producer only");
	cdr_flusher_run_once(f, 0);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	struct cdr bad = { .customer = sv_cstr(longname) };
	cr_expect_eq(cdr_flusher_submit(f, 0, &bad), -EMSGSIZE);
	cr_expect_eq(cdr_flusher_submit(f, 0, &ok), 0, "the refused one left no trace");
	cr_expect_eq(cdr_flusher_create(&g, &c), -EBUSY, "one flusher per spool");
	cr_expect_eq(cdr_flusher_stop(f, WAIT_MS), 0);
	cr_expect_eq(stats(f).spooled, 3);
	cr_expect_eq(cdr_flusher_submit(f, 0, &ok), -ESHUTDOWN);
	cdr_flusher_destroy(f);

	static const struct {
		uint32_t ring_slots;
		const char *dir;
	} bad_cfg[] = { { 3, "x" }, { 1, "x" }, { 0, NULL }, { 0, "" } };
	for (size_t i = 0; i < sizeof(bad_cfg) / sizeof(bad_cfg[0]); i++) {
		struct cdr_flusher_config b = config(false);
		b.ring_slots = bad_cfg[i].ring_slots;
		b.spool_dir = bad_cfg[i].dir;
		cr_expect_eq(cdr_flusher_create(&g, &b), -EINVAL, "case %zu", i);
	}
}

Test(flusher, boot_epochs_only_grow)
{
	char path[512];
	FILE *fp;
	const uint64_t future = 4102444800000000ull; /* 2100-01-01, a clock set far ahead once */

	snprintf(path, sizeof(path), "%s/boot", dir);
	fp = fopen(path, "w");
	fprintf(fp, "%" PRIu64 "\n", future);
	fclose(fp);
	struct cdr_flusher_config c = config(false);
	uint64_t last = future;
	for (int i = 0; i < 3; i++) {
		struct cdr_flusher *f = create(&c);
		uint64_t boot = stats(f).boot;
		cr_expect_gt(boot, last, "run %d: %" PRIu64 " after %" PRIu64, i, boot, last);
		last = boot;
		cdr_flusher_destroy(f);
	}
}
