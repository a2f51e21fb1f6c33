/* SPDX-License-Identifier: MIT */
/*
 * Tests of storage/report.h: exact figures, rows and totals, the spool as a
 * source (day ranges, every dimension), and the Redis counters as a source
 * (foreign fields, keys with colons, errors).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "storage/cdr.h"
#include "storage/report.h"
#include "storage/spool.h"
#include "tests/storage/redis_fixture.h"

static struct redis_fixture rf;
static char dir[256];

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/sipring-report-XXXXXX", tmp && *tmp ? tmp : "/tmp");
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

TestSuite(report, .init = setup, .fini = teardown);

Test(report, ratios_and_money)
{
	static const struct {
		int64_t num, den, scale;
		unsigned dec;
		const char *out;
	} t[] = {
		{ 1, 3, 100, 2, "33.33" },
		{ 2, 3, 100, 2, "66.67" },
		{ 1, 8, 100, 1, "12.5" }, /* exactly */
		{ 1, 16, 100, 1, "6.3" }, /* 6.25: half away from zero */
		{ -1, 16, 100, 1, "-6.3" },
		{ -1, 3000, 1, 2, "0.00" }, /* rounds to zero: no "-0.00" */
		{ 5, 0, 100, 2, "-" },
		{ 0, 7, 100, 2, "0.00" },
		{ 45, 100, 100, 2, "45.00" },
		{ 7, 2, 1, 0, "4" },
		{ 123456789, 1000, 1, 1, "123456.8" },
		{ INT64_MAX, INT64_MAX, 100, 2, "100.00" }, /* no overflow inside */
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char buf[48];
		size_t n = report_fmt_ratio(t[i].num, t[i].den, t[i].scale, t[i].dec, buf,
					    sizeof(buf));
		cr_expect_str_eq(buf, t[i].out, "case %zu", i);
		cr_expect_eq(n, strlen(t[i].out));
	}
	static const struct {
		int64_t micro;
		unsigned prec;
		const char *out;
	} m[] = {
		{ 0, 4, "0.0000" },
		{ 1, 6, "0.000001" },
		{ 1, 4, "0.0000" },
		{ 50, 4, "0.0001" },
		{ 49, 4, "0.0000" },
		{ -50, 4, "-0.0001" },
		{ 12340000, 2, "12.34" },
		{ 12345000, 2, "12.35" },
		{ 1999999, 0, "2" },
		{ -1234567890123, 6, "-1234567.890123" },
		{ 5, 9, "0.000005" } /* at most 6 */,
		{ INT64_MIN, 6, "-9223372036854.775808" },
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		char buf[48];
		report_fmt_money(m[i].micro, m[i].prec, buf, sizeof(buf));
		cr_expect_str_eq(buf, m[i].out, "case %zu", i);
	}
	struct cdr_counts c = { .calls = 3,
				.answered = 2,
				.seconds = 185,
				.duration_ms = 121500,
				.revenue = 2500000,
				.cost = 2000000,
				.profit = 500000 };
	struct report_figures f;
	report_figures(&c, 3, &f);
	cr_expect_str_eq(f.asr, "66.67");
	cr_expect_str_eq(f.acd, "60.8");
	cr_expect_str_eq(f.minutes, "3.08");
	cr_expect_str_eq(f.revenue, "2.500");
	cr_expect_str_eq(f.cost, "2.000");
	cr_expect_str_eq(f.profit, "0.500");
	cr_expect_str_eq(f.margin, "20.00");
	struct cdr_counts z = { 0 };
	report_figures(&z, 2, &f);
	cr_expect_str_eq(f.asr, "-");
	cr_expect_str_eq(f.acd, "-");
	cr_expect_str_eq(f.margin, "-");
	cr_expect_str_eq(f.revenue, "0.00");
}

Test(report, rows_sorted_and_summed)
{
	struct report rep;
	struct cdr_counts one = { 1, 1, 60, 60000, 100, 80, 20 };

	report_init(&rep);
	/* Many keys over a few days, each added twice, out of order. */
	for (int pass = 0; pass < 2; pass++) {
		for (int k = 4999; k >= 0; k--) {
			char key[16];
			snprintf(key, sizeof(key), "k%04d", k);
			cr_assert_eq(report_add(&rep, 100 + k % 3, sv_cstr(key), &one), 0);
		}
	}
	char big[REPORT_KEY_MAX + 2];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_expect_eq(report_add(&rep, 1, sv_cstr(big), &one), -ENAMETOOLONG);
	report_finish(&rep);
	cr_assert_eq(rep.n, 5000);
	for (size_t i = 0; i < rep.n; i++) {
		cr_assert_eq(rep.rows[i].c.calls, 2);
		if (i) {
			const struct report_row *a = &rep.rows[i - 1], *b = &rep.rows[i];
			cr_assert(a->day < b->day ||
				  (a->day == b->day && strcmp(a->key, b->key) < 0));
		}
	}
	cr_expect_eq(rep.total.calls, 10000);
	cr_expect_eq(rep.total.revenue, 1000000);
	cr_expect_eq(rep.total.profit, 200000);
	report_free(&rep);

	static const struct {
		const char *s;
		int ret;
		enum report_by by;
	} t[] = {
		{ "customer", 0, REPORT_BY_CUSTOMER },
		{ "vendor", 0, REPORT_BY_VENDOR },
		{ "gateway", 0, REPORT_BY_GATEWAY },
		{ "destination", 0, REPORT_BY_DEST },
		{ "dest", 0, REPORT_BY_DEST },
		{ "day", 0, REPORT_BY_DAY },
		{ "days", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		enum report_by by = 99;
		cr_expect_eq(report_by_parse(sv_cstr(t[i].s), &by), t[i].ret, "%s", t[i].s);
		if (!t[i].ret)
			cr_expect_eq(by, t[i].by);
	}
}

/* Three calls on 2024-06-10 and one on 2024-06-11, written straight into a spool. */
static void write_spool(void)
{
	static const struct {
		int64_t setup, answer, end;
		const char *cust, *vend, *gw, *pfx;
		uint32_t cb, vb;
		int64_t rev, cost;
		uint32_t flags;
	} t[] = {
		{ 1717977600000 + 1000, 1717977600000 + 5000, 1717977600000 + 65000, "acme", "v1",
		  "g1", "44", 60, 60, 600000, 450000, 0 },
		{ 1717977600000 + 9000, 0, 1717977600000 + 12000, "acme", "v2", "g2", "44", 0, 0, 0,
		  0, CDR_F_REROUTED },
		{ 1717977600000 + 9500, 1717977600000 + 10000, 1717977600000 + 40000, "acme", "v1",
		  "g1", "44", 60, 30, 600000, 225000, 0 },
		{ 1718064000000 + 1, 0, 1718064000000 + 2000, "zeta", "", "", "33", 0, 0, 0, 0, 0 },
	};
	struct spool_config cfg = { .dir = dir, .fsync = SPOOL_FSYNC_NEVER };
	struct spool *sp;

	cr_assert_eq(spool_open(&sp, &cfg), 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cdr c = { .id = { 1, 2, i + 1 },
				 .setup_ms = t[i].setup,
				 .answer_ms = t[i].answer,
				 .end_ms = t[i].end,
				 .customer = sv_cstr(t[i].cust),
				 .vendor = sv_cstr(t[i].vend),
				 .gateway = sv_cstr(t[i].gw),
				 .cust_prefix = sv_cstr(t[i].pfx),
				 .cust_billed_s = t[i].cb,
				 .vend_billed_s = t[i].vb,
				 .revenue = t[i].rev,
				 .cost = t[i].cost,
				 .flags = t[i].flags };
		uint8_t buf[CDR_ENC_MAX];
		int n = cdr_encode(&c, buf, sizeof(buf));
		cr_assert_eq(spool_append(sp, buf, (size_t)n, NULL), 0);
	}
	/* And one record that is not a CDR: skipped, counted. */
	cr_assert_eq(spool_append(sp, "junk", 4, NULL), 0);
	spool_close(sp);
}

Test(report, from_spool)
{
	static const struct {
		enum report_by by;
		int32_t from, to;
		size_t rows;
		const char *key0;
		int64_t calls0, answered0, seconds0, revenue0, cost0;
	} t[] = {
		{ REPORT_BY_CUSTOMER, 19884, 19885, 2, "acme", 2, 2, 120, 1200000, 675000 },
		{ REPORT_BY_CUSTOMER, 19885, 19885, 1, "zeta", 1, 0, 0, 0, 0 },
		{ REPORT_BY_VENDOR, 19884, 19885, 2, "v1", 2, 2, 90, 1200000, 675000 },
		{ REPORT_BY_GATEWAY, 19884, 19884, 2, "g1", 2, 2, 90, 1200000, 675000 },
		{ REPORT_BY_DEST, 19884, 19885, 2, "44", 2, 2, 120, 1200000, 675000 },
		{ REPORT_BY_DAY, 19884, 19885, 2, "", 2, 2, 120, 1200000, 675000 },
		{ REPORT_BY_CUSTOMER, 19886, 19890, 0, NULL, 0, 0, 0, 0, 0 },
	};
	write_spool();
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct report rep;
		struct report_query q = { t[i].by, t[i].from, t[i].to };

		report_init(&rep);
		cr_assert_eq(report_from_spool(&rep, dir, &q), 0);
		cr_expect_eq(rep.n, t[i].rows, "case %zu: %zu rows", i, rep.n);
		cr_expect_eq(rep.skipped, 1);
		if (t[i].rows) {
			const struct report_row *r = &rep.rows[0];
			cr_expect_str_eq(r->key, t[i].key0, "case %zu", i);
			cr_expect_eq(r->day, t[i].from);
			cr_expect_eq(r->c.calls, t[i].calls0, "case %zu", i);
			cr_expect_eq(r->c.answered, t[i].answered0, "case %zu", i);
			cr_expect_eq(r->c.seconds, t[i].seconds0, "case %zu", i);
			cr_expect_eq(r->c.duration_ms, r->c.answered ? 90000 : 0, "case %zu", i);
			cr_expect_eq(r->c.revenue, t[i].revenue0, "case %zu", i);
			cr_expect_eq(r->c.cost, t[i].cost0, "case %zu", i);
			cr_expect_eq(r->c.profit, t[i].revenue0 - t[i].cost0);
		}
		report_free(&rep);
	}
	struct report rep;
	struct report_query q = { REPORT_BY_CUSTOMER, 0, 30000 };
	report_init(&rep);
	cr_expect_eq(report_from_spool(&rep, "/nonexistent/sipring", &q), -ENOENT);
	report_free(&rep);
}

Test(report, from_redis)
{
	int r = redis_fixture_start(&rf, false, "pw");

	if (r == -ENOENT)
		cr_skip_test("redis-server is not installed");
	cr_assert_eq(r, 0);
	redisContext *c = redis_fixture_connect(&rf);
	cr_assert_not_null(c);
	freeReplyObject(redisCommand(c, "SELECT 2"));
	freeReplyObject(redisCommand(
		c, "HSET sipring:stats:2024-06-10:customer acme:calls 3 acme:answered 2 "
		   "acme:revenue 1500000 acme:cost 1000000 acme:profit 500000 "
		   "a:b:calls 1 a:b:profit -7 junk 1 x:bogus 2 y:calls notanumber"));
	freeReplyObject(redisCommand(c, "HSET sipring:stats:2024-06-12:customer zed:calls 1"));
	redisFree(c);

	struct report_redis conn = {
		.host = "127.0.0.1", .port = rf.port, .password = "pw", .db = 2
	};
	struct report_query q = { REPORT_BY_CUSTOMER, 19884, 19886 };
	struct report rep;
	char err[256] = "";

	report_init(&rep);
	cr_assert_eq(report_from_redis(&rep, &conn, &q, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rep.n, 3);
	cr_expect_str_eq(rep.rows[0].key, "a:b");
	cr_expect_eq(rep.rows[0].c.calls, 1);
	cr_expect_eq(rep.rows[0].c.profit, -7);
	cr_expect_str_eq(rep.rows[1].key, "acme");
	cr_expect_eq(rep.rows[1].c.revenue, 1500000);
	cr_expect_eq(rep.rows[1].c.seconds, 0, "a missing field reads as 0");
	cr_expect_str_eq(rep.rows[2].key, "zed");
	cr_expect_eq(rep.rows[2].day, 19886);
	cr_expect_eq(rep.skipped, 3);
	cr_expect_eq(rep.total.calls, 5);
	report_free(&rep);

	q.by = REPORT_BY_DAY;
	report_init(&rep);
	cr_assert_eq(report_from_redis(&rep, &conn, &q, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rep.n, 2);
	cr_expect_eq(rep.rows[0].c.calls, 4);
	cr_expect_str_eq(rep.rows[0].key, "");
	report_free(&rep);

	static const struct {
		const char *password;
		bool kill;
		int ret;
	} e[] = { { "wrong", false, -EACCES }, { "pw", true, -ECONNREFUSED } };
	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		if (e[i].kill)
			redis_fixture_kill(&rf);
		conn.password = e[i].password;
		report_init(&rep);
		err[0] = '\0';
		cr_expect_eq(report_from_redis(&rep, &conn, &q, err, sizeof(err)), e[i].ret,
			     "case %zu: %s", i, err);
		cr_expect_neq(err[0], '\0', "an error message");
		report_free(&rep);
	}
	q.from = 0;
	q.to = 5000;
	report_init(&rep);
	cr_expect_eq(report_from_redis(&rep, &conn, &q, err, sizeof(err)), -EINVAL);
	report_free(&rep);
}
