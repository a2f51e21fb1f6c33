/* SPDX-License-Identifier: MIT */
/*
 * Tests of storage/cdr_redis.h: the script text, keys, the RESP of a batch
 * (read back with hiredis' reader), and the script run by a real redis-server:
 * exactly-once application, counters, stream fields, MAXLEN, TTL, prefix.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "storage/cdr.h"
#include "storage/cdr_redis.h"
#include "storage/report.h"
#include "tests/storage/cdr_gen.h"
#include "tests/storage/redis_fixture.h"

static struct redis_fixture rf;

static void stop_redis(void)
{
	redis_fixture_stop(&rf);
}

TestSuite(cdr_redis, .fini = stop_redis);

static bool sveq(struct sv v, const char *s)
{
	return v.len == strlen(s) && (v.len == 0 || memcmp(v.p, s, v.len) == 0);
}

Test(cdr_redis, script_text)
{
	char buf[CDR_REDIS_SCRIPT_MAX];
	int n = cdr_redis_script(buf, sizeof(buf));

	cr_assert_gt(n, 0);
	cr_assert_lt(n, CDR_REDIS_SCRIPT_MAX);
	cr_assert_eq(strlen(buf), (size_t)n);
	/* The names table is built from cdr.h, in its order. */
	char names[1024] = "local names = {";
	for (unsigned i = 0; i < CDR_NFIELDS; i++) {
		char one[64];
		snprintf(one, sizeof(one), "%s'%s'", i ? ", " : "", cdr_field_names[i]);
		strcat(names, one);
	}
	strcat(names, "}\n");
	cr_expect_not_null(strstr(buf, names), "%s", buf);
	cr_expect_eq(cdr_redis_script(buf, 100), -ENOBUFS);
}

Test(cdr_redis, keys_and_fields)
{
	static const struct {
		const char *prefix;
		int32_t day;
		enum cdr_dim dim;
		const char *stream, *hwm, *stats;
	} t[] = {
		{ NULL, 19884, CDR_DIM_CUSTOMER, "sipring:cdr", "sipring:cdr:hwm",
		  "sipring:stats:2024-06-10:customer" },
		{ "", 19885, CDR_DIM_DEST, "sipring:cdr", "sipring:cdr:hwm",
		  "sipring:stats:2024-06-11:dest" },
		{ "eu1:", 0, CDR_DIM_GATEWAY, "eu1:cdr", "eu1:cdr:hwm",
		  "eu1:stats:1970-01-01:gateway" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char k[CDR_REDIS_KEY_MAX];
		cr_expect_eq(cdr_redis_stream_key(k, sizeof(k), t[i].prefix),
			     (int)strlen(t[i].stream));
		cr_expect_str_eq(k, t[i].stream);
		cr_expect_gt(cdr_redis_hwm_key(k, sizeof(k), t[i].prefix), 0);
		cr_expect_str_eq(k, t[i].hwm);
		cr_expect_gt(cdr_redis_stats_key(k, sizeof(k), t[i].prefix, t[i].day, t[i].dim), 0);
		cr_expect_str_eq(k, t[i].stats);
	}
	char k[CDR_REDIS_KEY_MAX], longp[CDR_REDIS_PREFIX_MAX + 2];
	memset(longp, 'p', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	cr_expect_eq(cdr_redis_stream_key(k, sizeof(k), longp), -ENAMETOOLONG);

	static const struct {
		const char *field;
		int ret;
		const char *key;
		unsigned counter;
	} f[] = {
		{ "acme:calls", 0, "acme", 0 },		{ "acme:profit", 0, "acme", 6 },
		{ "a:b:c:duration_ms", 0, "a:b:c", 3 }, { ":seconds", 0, "", 2 },
		{ "acme", -EINVAL, NULL, 0 },		{ "acme:bogus", -EINVAL, NULL, 0 },
		{ "acme:calls:", -EINVAL, NULL, 0 },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		struct sv key;
		unsigned c = 99;
		int r = cdr_redis_field_split(sv_cstr(f[i].field), &key, &c);
		cr_expect_eq(r, f[i].ret, "%s", f[i].field);
		if (r == 0) {
			cr_expect(sveq(key, f[i].key), "%s", f[i].field);
			cr_expect_eq(c, f[i].counter, "%s", f[i].field);
		}
	}
}

static const char fake_sha[] = "0123456789abcdef0123456789abcdef01234567";

/* n generated CDRs with ids (node, boot, first..), decoded from their own encoding. */
struct held {
	struct cdr c;
	uint8_t enc[CDR_ENC_MAX];
};

static void gen(struct held *h, unsigned n, uint64_t seed, uint16_t node, uint64_t boot,
		uint64_t first)
{
	struct cdr_gen g;

	cdr_gen_init(&g, seed);
	for (unsigned i = 0; i < n; i++) {
		struct cdr c;
		cdr_gen_next(&g, &c);
		c.id = (struct cdr_id){ node, boot, first + i };
		int len = cdr_encode(&c, h[i].enc, sizeof(h[i].enc));
		cr_assert_gt(len, 0);
		cr_assert_eq(cdr_decode(h[i].enc, (size_t)len, &h[i].c), 0);
	}
}

static bool eq_bulk(const redisReply *e, const char *p, size_t len)
{
	return e->type == REDIS_REPLY_STRING && e->len == len && memcmp(e->str, p, len) == 0;
}

/* The counters of h[0..n) by cdr_count(), as report rows per (day, key) for dimension d. */
static void expect_counts(struct report *want, const struct held *h, unsigned n, unsigned d)
{
	for (unsigned i = 0; i < n; i++) {
		struct cdr_counts k;
		struct sv key;
		if (cdr_count(&h[i].c, (enum cdr_dim)d, &key, &k))
			cr_assert_eq(report_add(want, cdr_day(h[i].c.setup_ms), key, &k), 0);
	}
	report_finish(want);
}

Test(cdr_redis, batch_resp)
{
	static const enum cdr_stream_format formats[] = { CDR_STREAM_CSV, CDR_STREAM_FIELDS };
	static struct held h[200];

	gen(h, 200, 1, 4, 777, 10);
	for (size_t fi = 0; fi < 4; fi++) {
		enum cdr_redis_kind kind = fi < 2 ? CDR_REDIS_RECORDS : CDR_REDIS_COUNTERS;
		struct cdr_redis_cfg cfg = { .prefix = "t:",
					     .maxlen = 1000,
					     .stats_ttl_sec = 60,
					     .format = formats[fi % 2] };
		unsigned per = kind == CDR_REDIS_COUNTERS	 ? 0
			       : cfg.format == CDR_STREAM_FIELDS ? CDR_NFIELDS
								 : 1;
		struct cdr_redis_batch b;
		redisReader *rd;
		void *out = NULL;

		cdr_redis_batch_init(&b);
		cr_assert_eq(cdr_redis_batch_finish(&b), -EINVAL, "an empty batch");
		cr_assert_eq(cdr_redis_batch_begin(&b, &cfg, sv_cstr("abc"), kind, 4, 777, 9),
			     -EINVAL);
		/* Twice: the second batch reuses the buffers of the first. */
		for (int round = 0; round < 2; round++) {
			cr_assert_eq(
				cdr_redis_batch_begin(&b, &cfg, sv_cstr(fake_sha), kind, 4, 777, 9),
				0);
			for (int i = 0; i < 200; i++)
				cr_assert_eq(cdr_redis_batch_add(&b, &h[i].c), 0);
		}
		/* Another boot, another node, or a seq that does not increase: refused. */
		struct cdr other = h[0].c;
		other.id.boot = 778;
		cr_expect_eq(cdr_redis_batch_add(&b, &other), -EXDEV);
		other = h[0].c;
		other.id.node = 5;
		cr_expect_eq(cdr_redis_batch_add(&b, &other), -EXDEV);
		cr_expect_eq(cdr_redis_batch_add(&b, &h[150].c), -EINVAL);
		cr_assert_eq(cdr_redis_batch_finish(&b), 0);
		cr_expect_eq(b.first_seq, 10);
		cr_expect_eq(b.last_seq, 209);
		cr_expect_eq(b.n, 200);

		rd = redisReaderCreate();
		cr_assert_eq(redisReaderFeed(rd, b.cmd, b.cmd_len), REDIS_OK);
		cr_assert_eq(redisReaderGetReply(rd, &out), REDIS_OK);
		cr_assert_not_null(out, "one whole RESP array");
		redisReply *a = out;
		cr_assert_eq(a->type, REDIS_REPLY_ARRAY);
		const char *head[] = { "EVALSHA",
				       fake_sha,
				       "2",
				       "t:cdr",
				       "t:cdr:hwm",
				       "1000",
				       kind == CDR_REDIS_RECORDS ? "4-777" : "4-777:c",
				       "60",
				       cfg.format == CDR_STREAM_CSV ? "csv" : "fields",
				       "9",
				       "10",
				       "209",
				       "200",
				       kind == CDR_REDIS_RECORDS ? "200" : "0" };
		for (int i = 0; i < 14; i++)
			cr_expect_str_eq(a->element[i]->str, head[i], "case %zu argument %d", fi,
					 i);
		size_t at = 14;
		for (int r = 0; r < 200 && per; r++) {
			if (cfg.format == CDR_STREAM_CSV) {
				char line[CDR_CSV_MAX];
				int n = cdr_csv(&h[r].c, line, sizeof(line));
				cr_assert(eq_bulk(a->element[at], line, (size_t)n), "record %d", r);
			} else {
				char scratch[CDR_FIELDS_SCRATCH];
				struct sv v[CDR_NFIELDS];
				cdr_fields(&h[r].c, scratch, sizeof(scratch), v);
				for (unsigned i = 0; i < CDR_NFIELDS; i++)
					cr_assert(eq_bulk(a->element[at + i], v[i].p, v[i].len),
						  "record %d field %s", r, cdr_field_names[i]);
			}
			at += per;
		}
		/* The counters: per hash (day, dimension), "key:counter" and its sum. */
		long long nhash = strtoll(a->element[at++]->str, NULL, 10);
		struct report got[CDR_NDIM], want[CDR_NDIM];
		for (unsigned d = 0; d < CDR_NDIM; d++) {
			report_init(&got[d]);
			report_init(&want[d]);
			expect_counts(&want[d], h, kind == CDR_REDIS_COUNTERS ? 200 : 0, d);
		}
		for (long long k = 0; k < nhash; k++) {
			const char *name = a->element[at++]->str;
			long long nf = strtoll(a->element[at++]->str, NULL, 10);
			int32_t day;
			enum cdr_dim dim;
			/* "t:stats:YYYY-MM-DD:dim" */
			cr_assert_eq(strncmp(name, "t:stats:", 8), 0, "%s", name);
			cr_assert_eq(cdr_day_parse(sv_make(name + 8, 10), &day), 0, "%s", name);
			cr_assert_eq(cdr_dim_parse(sv_cstr(name + 19), &dim), 0, "%s", name);
			for (long long f = 0; f < nf; f++) {
				redisReply *fe = a->element[at++], *ve = a->element[at++];
				struct cdr_counts c = { 0 };
				struct sv key;
				unsigned which;
				cr_assert_eq(cdr_redis_field_split(sv_make(fe->str, fe->len), &key,
								   &which),
					     0);
				*cdr_counts_at(&c, which) = strtoll(ve->str, NULL, 10);
				cr_assert_neq(*cdr_counts_at(&c, which), 0, "no zero sent");
				cr_assert_eq(report_add(&got[dim], day, key, &c), 0);
			}
		}
		cr_assert_eq(at, a->elements, "nothing after the counters");
		for (unsigned d = 0; d < CDR_NDIM; d++) {
			report_finish(&got[d]);
			cr_assert_eq(got[d].n, want[d].n, "case %zu dim %u", fi, d);
			for (size_t i = 0; i < got[d].n; i++)
				cr_assert(memcmp(&got[d].rows[i], &want[d].rows[i],
						 sizeof(got[d].rows[i])) == 0,
					  "dim %u row %zu", d, i);
			report_free(&got[d]);
			report_free(&want[d]);
		}
		freeReplyObject(out);
		out = NULL;
		cr_assert_eq(redisReaderGetReply(rd, &out), REDIS_OK);
		cr_assert_null(out, "nothing after the command");
		redisReaderFree(rd);
		cdr_redis_batch_fini(&b);
	}
}

static redisContext *start(bool aof)
{
	int r = redis_fixture_start(&rf, aof, NULL);

	if (r == -ENOENT)
		cr_skip_test("redis-server is not installed");
	cr_assert_eq(r, 0, "redis-server: %s (see %s/redis.log)", strerror(-r), rf.dir);
	redisContext *c = redis_fixture_connect(&rf);
	cr_assert_not_null(c);
	return c;
}

static void load(redisContext *c, char sha[41])
{
	char script[CDR_REDIS_SCRIPT_MAX];
	int n = cdr_redis_script(script, sizeof(script));
	redisReply *r = redisCommand(c, "SCRIPT LOAD %b", script, (size_t)n);

	cr_assert_not_null(r);
	cr_assert_eq(r->type, REDIS_REPLY_STRING, "%s", r->str);
	memcpy(sha, r->str, 40);
	sha[40] = '\0';
	freeReplyObject(r);
}

/* Send h[from..to) as one batch of kind after prev; the script's answer into code and hwm. */
static void send_one(redisContext *c, const char *sha, const struct cdr_redis_cfg *cfg,
		     enum cdr_redis_kind kind, struct held *h, unsigned from, unsigned to,
		     int64_t prev, long long *code, long long *hwm)
{
	struct cdr_redis_batch b;
	void *out = NULL;

	cdr_redis_batch_init(&b);
	cr_assert_eq(cdr_redis_batch_begin(&b, cfg, sv_make(sha, 40), kind, h[from].c.id.node,
					   h[from].c.id.boot, prev),
		     0);
	for (unsigned i = from; i < to; i++)
		cr_assert_eq(cdr_redis_batch_add(&b, &h[i].c), 0);
	cr_assert_eq(cdr_redis_batch_finish(&b), 0);
	cr_assert_eq(redisAppendFormattedCommand(c, b.cmd, b.cmd_len), REDIS_OK);
	cr_assert_eq(redisGetReply(c, &out), REDIS_OK);
	redisReply *r = out;
	cr_assert_eq(r->type, REDIS_REPLY_ARRAY, "%s", r->type == REDIS_REPLY_ERROR ? r->str : "");
	cr_assert_eq(r->elements, 2);
	*code = r->element[0]->integer;
	*hwm = r->element[1]->integer;
	freeReplyObject(r);
	cdr_redis_batch_fini(&b);
}

/* Both kinds for the same records: each has its own mark, so both answer the same. */
static void send_batch(redisContext *c, const char *sha, const struct cdr_redis_cfg *cfg,
		       struct held *h, unsigned from, unsigned to, int64_t prev, long long *code,
		       long long *hwm)
{
	long long code2, hwm2;

	send_one(c, sha, cfg, CDR_REDIS_RECORDS, h, from, to, prev, code, hwm);
	send_one(c, sha, cfg, CDR_REDIS_COUNTERS, h, from, to, prev, &code2, &hwm2);
	cr_assert_eq(*code, code2, "records %lld, counters %lld", *code, code2);
	cr_assert_eq(*hwm, hwm2);
}

static long long integer(redisContext *c, const char *fmt, const char *arg)
{
	redisReply *r = redisCommand(c, fmt, arg);
	long long v;

	cr_assert_not_null(r);
	if (r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	else if (r->type == REDIS_REPLY_STRING)
		v = strtoll(r->str, NULL, 10);
	else
		v = -1;
	freeReplyObject(r);
	return v;
}

/* What Redis holds for every dimension equals cdr_count() of the records h[i] with take[i]. */
static void check_counters(const char *prefix, const struct held *h, unsigned n, const bool *take)
{
	for (unsigned d = 0; d < CDR_NDIM; d++) {
		struct report want, got;
		struct report_query q = { .by = (enum report_by)d,
					  .from = CDR_GEN_DAY0,
					  .to = CDR_GEN_DAY0 + CDR_GEN_DAYS - 1 };
		struct report_redis conn = { .host = "127.0.0.1",
					     .port = rf.port,
					     .prefix = prefix };
		char err[256];

		report_init(&want);
		report_init(&got);
		for (unsigned i = 0; i < n; i++) {
			struct cdr_counts k;
			struct sv key;
			if ((!take || take[i]) && cdr_count(&h[i].c, (enum cdr_dim)d, &key, &k))
				cr_assert_eq(report_add(&want, cdr_day(h[i].c.setup_ms), key, &k),
					     0);
		}
		report_finish(&want);
		cr_assert_eq(report_from_redis(&got, &conn, &q, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(got.n, want.n, "dim %u: %zu rows != %zu", d, got.n, want.n);
		cr_assert_eq(got.skipped, 0);
		for (size_t i = 0; i < want.n; i++) {
			struct report_row *a = &got.rows[i], *b = &want.rows[i];
			cr_assert(a->day == b->day && strcmp(a->key, b->key) == 0, "dim %u row %zu",
				  d, i);
			cr_assert(memcmp(&a->c, &b->c, sizeof(a->c)) == 0,
				  "dim %u %s: calls %lld/%lld revenue %lld/%lld profit %lld/%lld",
				  d, a->key, (long long)a->c.calls, (long long)b->c.calls,
				  (long long)a->c.revenue, (long long)b->c.revenue,
				  (long long)a->c.profit, (long long)b->c.profit);
		}
		report_free(&want);
		report_free(&got);
	}
}

Test(cdr_redis, idempotence)
{
	static struct held h[610];
	static bool take[610];
	struct cdr_redis_cfg cfg = { 0 };
	redisContext *c = start(false);
	char sha[41];

	load(c, sha);
	gen(h, 610, 42, 1, 1718000000000000ull, 1);
	/* Record seq 605 (h[604]) is lost from the spool: never sent. */
	static const struct {
		const char *what;
		int64_t prev;
		unsigned from, to; /* h[] indices; seq = index + 1 */
		long long code, hwm;
	} t[] = {
		{ "first batch", -1, 0, 100, 100, 100 },
		{ "the same again (a replay)", -1, 0, 100, 0, 100 },
		{ "the next", 100, 100, 200, 100, 200 },
		{ "overlapping what Redis has: refused", -1, 150, 250, CDR_REDIS_PARTIAL, 200 },
		{ "after a refused one in a pipeline", 250, 250, 300, CDR_REDIS_GAP, 200 },
		{ "the rest of the refused one", 200, 200, 250, 50, 250 },
		{ "and on", 250, 250, 300, 50, 300 },
		{ "an old one, prev unknown", -1, 10, 20, 0, 300 },
		{ "an old one, prev known", 9, 10, 20, 0, 300 },
		{ "more", 300, 300, 450, 150, 450 },
		{ "more", 450, 450, 600, 150, 600 },
		{ "601..604", 600, 600, 604, 4, 604 },
		{ "606..610: 605 is known lost (prev 604)", 604, 605, 610, 5, 610 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		long long code, hwm;
		send_batch(c, sha, &cfg, h, t[i].from, t[i].to, t[i].prev, &code, &hwm);
		cr_assert_eq(code, t[i].code, "%s: %lld", t[i].what, code);
		cr_assert_eq(hwm, t[i].hwm, "%s: hwm %lld", t[i].what, hwm);
		if (code > 0)
			for (unsigned k = t[i].from; k < t[i].to; k++)
				take[k] = true;
	}
	cr_assert_eq(integer(c, "XLEN %s", "sipring:cdr"), 609);
	cr_assert_eq(integer(c, "HGET sipring:cdr:hwm %s", "1-1718000000000000"), 610);
	cr_assert_eq(integer(c, "HGET sipring:cdr:hwm %s", "1-1718000000000000:c"), 610);
	check_counters(NULL, h, 610, take);

	/* The stream entries: one field "cdr", the CSV of each record, in order. */
	redisReply *r = redisCommand(c, "XRANGE sipring:cdr - + COUNT 1000");
	cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
	cr_assert_eq(r->elements, 609);
	for (size_t i = 0, k = 0; i < 609; i++, k++) {
		redisReply *kv = r->element[i]->element[1];
		char line[CDR_CSV_MAX];

		if (k == 604)
			k++;
		int n = cdr_csv(&h[k].c, line, sizeof(line));
		cr_assert_eq(kv->elements, 2);
		cr_assert_str_eq(kv->element[0]->str, "cdr");
		cr_assert(eq_bulk(kv->element[1], line, (size_t)n), "entry %zu", i);
	}
	freeReplyObject(r);

	/* Another boot of the same node has its own mark: seq 1 again is new. */
	static struct held h2[10];
	long long code, hwm;
	gen(h2, 10, 43, 1, 1718000000000001ull, 1);
	send_batch(c, sha, &cfg, h2, 0, 10, 0, &code, &hwm);
	cr_assert_eq(code, 10);
	cr_assert_eq(integer(c, "XLEN %s", "sipring:cdr"), 619);
	redisFree(c);
}

Test(cdr_redis, named_fields)
{
	static struct held h[300];
	struct cdr_redis_cfg cfg = { .format = CDR_STREAM_FIELDS };
	redisContext *c = start(false);
	char sha[41];
	long long code, hwm;

	load(c, sha);
	gen(h, 300, 8, 2, 5, 1);
	send_batch(c, sha, &cfg, h, 0, 300, -1, &code, &hwm);
	cr_assert_eq(code, 300);
	check_counters(NULL, h, 300, NULL);
	redisReply *r = redisCommand(c, "XRANGE sipring:cdr - + COUNT 1000");
	cr_assert_eq(r->elements, 300);
	for (size_t i = 0; i < 300; i++) {
		redisReply *kv = r->element[i]->element[1];
		char scratch[CDR_FIELDS_SCRATCH];
		struct sv v[CDR_NFIELDS];

		cdr_fields(&h[i].c, scratch, sizeof(scratch), v);
		cr_assert_eq(kv->elements, 2 * CDR_NFIELDS);
		for (unsigned f = 0; f < CDR_NFIELDS; f++) {
			cr_assert_str_eq(kv->element[2 * f]->str, cdr_field_names[f]);
			cr_assert(eq_bulk(kv->element[2 * f + 1], v[f].p, v[f].len),
				  "entry %zu field %s", i, cdr_field_names[f]);
		}
	}
	freeReplyObject(r);
	redisFree(c);
}

Test(cdr_redis, maxlen_ttl_prefix)
{
	static struct held h[1000];
	struct cdr_redis_cfg cfg = { .prefix = "x1:", .maxlen = 10, .stats_ttl_sec = 3600 };
	redisContext *c = start(false);
	char sha[41], key[CDR_REDIS_KEY_MAX];
	long long code, hwm;

	load(c, sha);
	gen(h, 1000, 5, 2, 99, 1);
	for (unsigned i = 0; i < 1000; i += 100) {
		send_batch(c, sha, &cfg, h, i, i + 100, i, &code, &hwm);
		cr_assert_eq(code, 100);
	}
	long long len = integer(c, "XLEN %s", "x1:cdr");
	/* MAXLEN ~ trims whole stream nodes: at least 10 kept, most of 1000 gone. */
	cr_expect(len >= 10 && len < 1000, "XLEN %lld", len);
	cr_expect_eq(integer(c, "EXISTS %s", "sipring:cdr"), 0, "nothing outside the prefix");
	cdr_redis_stats_key(key, sizeof(key), "x1:", cdr_day(h[0].c.setup_ms), CDR_DIM_CUSTOMER);
	long long ttl = integer(c, "TTL %s", key);
	cr_expect(ttl > 0 && ttl <= 3600, "TTL %lld", ttl);
	/* Trimming the stream never touches the counters. */
	check_counters("x1:", h, 1000, NULL);
	redisFree(c);
}
