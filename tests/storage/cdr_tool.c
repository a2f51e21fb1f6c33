/* SPDX-License-Identifier: MIT */
/*
 * cdr_tool.c: the process that test_kill.py starts, kills and restarts.
 *
 *   cdr_tool produce --spool DIR [--redis-port P] --seed S --n N [--rate R]
 *                    [--hold] [--ack-interval-ms M] [--stop-ms T]
 *       submit N generated CDRs (seed S) at most R per second, print
 *       "spooled N" once all are in the spool; then with --hold run on until
 *       killed, else stop (waiting up to T ms for Redis) and print the stats.
 *   cdr_tool replay --spool DIR --redis-port P [--timeout-ms T]
 *       start on an existing spool and wait until everything is acknowledged.
 *   cdr_tool verify --redis-port P --seed S --n N [--seed S --n N ...]
 *       Redis must hold exactly those CDRs: every counter of every dimension
 *       and the stream length. Prints the first difference.
 *
 * Exit status: 0 done, 1 failed (timeout, mismatch), 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <signal.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "storage/cdr_flusher.h"
#include "storage/report.h"
#include "tests/storage/cdr_gen.h"
#include "tests/storage/redis_fixture.h"

struct args {
	const char *spool;
	unsigned port;
	uint64_t seed[8], n[8];
	unsigned nseeds;
	uint64_t rate;
	bool hold;
	uint32_t ack_ms, stop_ms, timeout_ms;
};

static int usage(void)
{
	fputs("usage: cdr_tool produce|replay|verify [options] (see cdr_tool.c)\n", stderr);
	return 2;
}

static int parse(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->stop_ms = 120000;
	a->timeout_ms = 120000;
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(o, "--hold") == 0) {
			a->hold = true;
			continue;
		}
		if (!v)
			return -1;
		i++;
		if (strcmp(o, "--spool") == 0)
			a->spool = v;
		else if (strcmp(o, "--redis-port") == 0)
			a->port = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(o, "--seed") == 0 && a->nseeds < 8)
			a->seed[a->nseeds] = strtoull(v, NULL, 10);
		else if (strcmp(o, "--n") == 0 && a->nseeds < 8)
			a->n[a->nseeds++] = strtoull(v, NULL, 10);
		else if (strcmp(o, "--rate") == 0)
			a->rate = strtoull(v, NULL, 10);
		else if (strcmp(o, "--ack-interval-ms") == 0)
			a->ack_ms = (uint32_t)strtoul(v, NULL, 10);
		else if (strcmp(o, "--stop-ms") == 0)
			a->stop_ms = (uint32_t)strtoul(v, NULL, 10);
		else if (strcmp(o, "--timeout-ms") == 0)
			a->timeout_ms = (uint32_t)strtoul(v, NULL, 10);
		else
			return -1;
	}
	return 0;
}

static void log_stderr(void *arg, int level, const char *msg)
{
	(void)arg;
	fprintf(stderr, "cdr_tool[%d] %d: %s\n", (int)getpid(), level, msg);
}

static struct cdr_flusher *create(const struct args *a)
{
	struct cdr_flusher_config c = {
		.node = 1,
		.spool_dir = a->spool,
		.fsync = SPOOL_FSYNC_INTERVAL,
		.segment_bytes = 1 << 20,
		.redis_host = a->port ? "127.0.0.1" : NULL,
		.redis_port = (uint16_t)a->port,
		.reconnect_min_ms = 20,
		.reconnect_max_ms = 500,
		.ack_interval_ms = a->ack_ms,
		.log = log_stderr,
	};
	struct cdr_flusher *f = NULL;
	int r = cdr_flusher_create(&f, &c);

	if (r == 0)
		r = cdr_flusher_start(f);
	if (r) {
		fprintf(stderr, "cdr_tool: flusher: %s\n", strerror(-r));
		exit(1);
	}
	return f;
}

static void print_stats(const char *what, struct cdr_flusher *f, int rc)
{
	struct cdr_flusher_stats st;

	cdr_flusher_stats(f, &st);
	printf("%s rc %d spooled %" PRIu64 " acked %" PRIu64 " applied %" PRIu64
	       " duplicates %" PRIu64 " filtered %" PRIu64 " refused %" PRIu64
	       " redis_errors %" PRIu64 "\n",
	       what, rc, st.spooled, st.acked, st.applied, st.duplicates, st.filtered, st.refused,
	       st.redis_errors);
	fflush(stdout);
}

static int produce(const struct args *a)
{
	struct cdr_flusher *f = create(a);
	struct cdr_flusher_stats st;
	struct cdr_gen g;
	struct cdr c;
	uint64_t per_ms = a->rate ? (a->rate + 999) / 1000 : 0;
	int rc;

	cdr_gen_init(&g, a->seed[0]);
	for (uint64_t i = 0; i < a->n[0]; i++) {
		cdr_gen_next(&g, &c);
		while ((rc = cdr_flusher_submit(f, 0, &c)) == -ENOBUFS)
			test_sleep_ms(1);
		if (rc) {
			fprintf(stderr, "cdr_tool: submit: %s\n", strerror(-rc));
			return 1;
		}
		if (per_ms && i % per_ms == per_ms - 1)
			test_sleep_ms(1);
	}
	do {
		test_sleep_ms(2);
		cdr_flusher_stats(f, &st);
	} while (st.spooled < a->n[0]);
	printf("spooled %" PRIu64 "\n", st.spooled);
	fflush(stdout);
	if (a->hold)
		for (;;)
			pause();
	rc = cdr_flusher_stop(f, a->stop_ms);
	print_stats("stopped", f, rc);
	cdr_flusher_destroy(f);
	return rc ? 1 : 0;
}

static int replay(const struct args *a)
{
	struct cdr_flusher *f = create(a);
	struct cdr_flusher_stats st;
	int64_t deadline = test_now_ms() + a->timeout_ms;
	int rc;

	do {
		test_sleep_ms(5);
		cdr_flusher_stats(f, &st);
	} while (!(st.synced && st.connected) && test_now_ms() < deadline);
	rc = cdr_flusher_stop(f, 1000);
	print_stats("replayed", f, rc);
	cdr_flusher_destroy(f);
	return st.synced && rc == 0 ? 0 : 1;
}

static int verify(const struct args *a)
{
	static const enum report_by bys[] = { REPORT_BY_CUSTOMER, REPORT_BY_VENDOR,
					      REPORT_BY_GATEWAY, REPORT_BY_DEST, REPORT_BY_DAY };
	struct report_redis conn = { .host = "127.0.0.1", .port = (uint16_t)a->port };
	struct report_query q = { .from = CDR_GEN_DAY0, .to = CDR_GEN_DAY0 + CDR_GEN_DAYS - 1 };
	uint64_t total = 0;
	int bad = 0;

	for (unsigned i = 0; i < a->nseeds; i++)
		total += a->n[i];
	for (size_t b = 0; b < sizeof(bys) / sizeof(bys[0]) && !bad; b++) {
		struct report want, got;
		char err[256];

		q.by = bys[b];
		report_init(&want);
		report_init(&got);
		for (unsigned i = 0; i < a->nseeds; i++)
			if (cdr_gen_expect(&want, a->seed[i], a->n[i], bys[b]))
				return 1;
		report_finish(&want);
		if (report_from_redis(&got, &conn, &q, err, sizeof(err))) {
			fprintf(stderr, "cdr_tool: %s\n", err);
			return 1;
		}
		if (got.n != want.n) {
			fprintf(stderr, "by %s: %zu rows, want %zu\n", report_by_name(bys[b]),
				got.n, want.n);
			bad = 1;
		}
		for (size_t i = 0; i < want.n && !bad; i++) {
			const struct report_row *x = &got.rows[i], *y = &want.rows[i];
			if (x->day != y->day || strcmp(x->key, y->key) ||
			    memcmp(&x->c, &y->c, sizeof(x->c))) {
				fprintf(stderr,
					"by %s, %s: calls %lld want %lld, answered %lld want %lld, "
					"revenue %lld want %lld, cost %lld want %lld\n",
					report_by_name(bys[b]), y->key, (long long)x->c.calls,
					(long long)y->c.calls, (long long)x->c.answered,
					(long long)y->c.answered, (long long)x->c.revenue,
					(long long)y->c.revenue, (long long)x->c.cost,
					(long long)y->c.cost);
				bad = 1;
			}
		}
		report_free(&want);
		report_free(&got);
	}
	redisContext *c = redisConnect("127.0.0.1", (int)a->port);
	redisReply *r = c && !c->err ? redisCommand(c, "XLEN sipring:cdr") : NULL;
	if (!r || r->type != REDIS_REPLY_INTEGER || (uint64_t)r->integer != total) {
		fprintf(stderr, "XLEN %lld, want %" PRIu64 "\n", r ? r->integer : -1LL, total);
		bad = 1;
	}
	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
	if (!bad)
		printf("verified %" PRIu64 " CDRs: counters exact, stream length exact\n", total);
	return bad;
}

int main(int argc, char **argv)
{
	struct args a;

	/* Die with the test that started us, whatever happens to it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (argc < 2 || parse(argc, argv, &a) != 0)
		return usage();
	if (strcmp(argv[1], "produce") == 0 && a.spool && a.nseeds == 1)
		return produce(&a);
	if (strcmp(argv[1], "replay") == 0 && a.spool && a.port)
		return replay(&a);
	if (strcmp(argv[1], "verify") == 0 && a.port && a.nseeds)
		return verify(&a);
	return usage();
}
