/* SPDX-License-Identifier: MIT */
/* report.c: see report.h. */
#include "report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "cdr_redis.h"
#include "spool.h"

#define REPORT_MAX_DAYS 3660

static const char *const by_names[] = {
	[REPORT_BY_CUSTOMER] = "customer", [REPORT_BY_VENDOR] = "vendor",
	[REPORT_BY_GATEWAY] = "gateway",   [REPORT_BY_DEST] = "destination",
	[REPORT_BY_DAY] = "day",
};

int report_by_parse(struct sv s, enum report_by *by)
{
	for (unsigned i = 0; i < sizeof(by_names) / sizeof(by_names[0]); i++) {
		if (sv_eq(s, sv_cstr(by_names[i]))) {
			*by = (enum report_by)i;
			return 0;
		}
	}
	if (sv_eq(s, SV_LIT("dest"))) {
		*by = REPORT_BY_DEST;
		return 0;
	}
	return -EINVAL;
}

const char *report_by_name(enum report_by by)
{
	return (unsigned)by < sizeof(by_names) / sizeof(by_names[0]) ? by_names[by] : "";
}

void report_init(struct report *rep)
{
	memset(rep, 0, sizeof(*rep));
}

void report_free(struct report *rep)
{
	free(rep->rows);
	free(rep->idx);
	memset(rep, 0, sizeof(*rep));
}

/* FNV-1a of the day and the key. */
static uint32_t row_hash(int32_t day, struct sv key)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 4; i++)
		h = (h ^ (uint8_t)((uint32_t)day >> (8 * i))) * 16777619u;
	for (size_t i = 0; i < key.len; i++)
		h = (h ^ (uint8_t)key.p[i]) * 16777619u;
	return h;
}

/* Index slots hold row number + 1; 0 is empty. Kept at most half full. */
static int idx_grow(struct report *rep)
{
	size_t nc = rep->idx_cap ? rep->idx_cap * 2 : 256;
	uint32_t *ni = calloc(nc, sizeof(*ni));

	if (!ni)
		return -ENOMEM;
	for (size_t i = 0; i < rep->n; i++) {
		const struct report_row *r = &rep->rows[i];
		size_t s = row_hash(r->day, sv_make(r->key, r->key_len)) & (nc - 1);

		while (ni[s])
			s = (s + 1) & (nc - 1);
		ni[s] = (uint32_t)i + 1;
	}
	free(rep->idx);
	rep->idx = ni;
	rep->idx_cap = nc;
	return 0;
}

int report_add(struct report *rep, int32_t day, struct sv key, const struct cdr_counts *d)
{
	size_t s;

	if (key.len > REPORT_KEY_MAX)
		return -ENAMETOOLONG;
	if ((rep->n + 1) * 2 > rep->idx_cap && idx_grow(rep))
		return -ENOMEM;
	s = row_hash(day, key) & (rep->idx_cap - 1);
	while (rep->idx[s]) {
		struct report_row *r = &rep->rows[rep->idx[s] - 1];

		if (r->day == day && sv_eq(sv_make(r->key, r->key_len), key)) {
			cdr_counts_add(&r->c, d);
			return 0;
		}
		s = (s + 1) & (rep->idx_cap - 1);
	}
	if (rep->n == rep->cap) {
		size_t nc = rep->cap ? rep->cap * 2 : 64;
		struct report_row *nr = realloc(rep->rows, nc * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		rep->rows = nr;
		rep->cap = nc;
	}
	struct report_row *r = &rep->rows[rep->n];
	memset(r, 0, sizeof(*r));
	r->day = day;
	r->key_len = (uint8_t)key.len;
	if (key.len)
		memcpy(r->key, key.p, key.len);
	r->c = *d;
	rep->idx[s] = (uint32_t)++rep->n;
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	c = memcmp(x->key, y->key, n);
	if (c)
		return c;
	return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

void report_finish(struct report *rep)
{
	if (rep->n)
		qsort(rep->rows, rep->n, sizeof(*rep->rows), row_cmp);
	/* The index refers to the unsorted order: drop it. */
	free(rep->idx);
	rep->idx = NULL;
	rep->idx_cap = 0;
	memset(&rep->total, 0, sizeof(rep->total));
	for (size_t i = 0; i < rep->n; i++)
		cdr_counts_add(&rep->total, &rep->rows[i].c);
}

int report_from_spool(struct report *rep, const char *dir, const struct report_query *q)
{
	struct spool_reader *rd;
	enum cdr_dim dim = q->by == REPORT_BY_DAY ? CDR_DIM_CUSTOMER : (enum cdr_dim)q->by;
	int r;

	r = spool_reader_open(&rd, dir, NULL, (struct spool_pos){ 0, 0 });
	if (r)
		return r;
	for (;;) {
		struct spool_pos end;
		struct sv rec, key;
		struct cdr c;
		struct cdr_counts d;
		int32_t day;

		r = spool_reader_next(rd, &rec, &end);
		if (r <= 0)
			break;
		if (cdr_decode(rec.p, rec.len, &c) != 0) {
			rep->skipped++;
			continue;
		}
		day = cdr_day(c.setup_ms);
		if (day < q->from || day > q->to || !cdr_count(&c, dim, &key, &d))
			continue;
		if (q->by == REPORT_BY_DAY)
			key = SV_NULL;
		r = report_add(rep, day, key, &d);
		if (r == -ENAMETOOLONG) {
			rep->skipped++;
			continue;
		}
		if (r)
			break;
	}
	spool_reader_close(rd);
	if (r < 0)
		return r;
	report_finish(rep);
	return 0;
}

/* hiredis 0.14 reports I/O errors as text; map the ones a user acts on. */
static int redis_errno(const redisContext *c)
{
	if (c->err == REDIS_ERR_IO) {
		if (strstr(c->errstr, "refused"))
			return -ECONNREFUSED;
		if (strstr(c->errstr, "timed out") || strstr(c->errstr, "temporarily"))
			return -ETIMEDOUT;
		return -EIO;
	}
	return c->err == REDIS_ERR_EOF ? -EIO : -EPROTO;
}

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

static int add_hash(struct report *rep, const struct report_query *q, int32_t day,
		    const redisReply *h)
{
	/*
	 * Fields come as "<key>:<counter>" pairs in any order: gather the counters
	 * of each key through report_add() one counter at a time.
	 */
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		const redisReply *f = h->element[i], *v = h->element[i + 1];
		struct cdr_counts d = { 0 };
		struct sv key;
		unsigned k;
		uint64_t u;
		int64_t val;
		int r;

		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
		    cdr_redis_field_split(sv_make(f->str, f->len), &key, &k) != 0) {
			rep->skipped++;
			continue;
		}
		struct sv vs = sv_make(v->str, v->len);
		bool neg = vs.len && vs.p[0] == '-';
		if (sv_to_u64(neg ? sv_skip(vs, 1) : vs, INT64_MAX, &u) != 0) {
			rep->skipped++;
			continue;
		}
		val = neg ? -(int64_t)u : (int64_t)u;
		*cdr_counts_at(&d, k) = val;
		if (q->by == REPORT_BY_DAY)
			key = SV_NULL;
		r = report_add(rep, day, key, &d);
		if (r == -ENAMETOOLONG) {
			rep->skipped++;
			continue;
		}
		if (r)
			return r;
	}
	return 0;
}

int report_from_redis(struct report *rep, const struct report_redis *conn,
		      const struct report_query *q, char *err, size_t errlen)
{
	enum cdr_dim dim = q->by == REPORT_BY_DAY ? CDR_DIM_CUSTOMER : (enum cdr_dim)q->by;
	uint32_t to_ms = conn->timeout_ms ? conn->timeout_ms : 5000;
	struct timeval tv = { to_ms / 1000, (suseconds_t)(to_ms % 1000) * 1000 };
	redisContext *c;
	redisReply *rep_r;
	int r = 0;

	if (q->to < q->from || q->to - q->from >= REPORT_MAX_DAYS)
		return fail(err, errlen, -EINVAL, "day range too long (at most %d days)",
			    REPORT_MAX_DAYS);
	if (conn->unix_path)
		c = redisConnectUnixWithTimeout(conn->unix_path, tv);
	else
		c = redisConnectWithTimeout(conn->host ? conn->host : "127.0.0.1",
					    conn->port ? conn->port : 6379, tv);
	if (!c)
		return fail(err, errlen, -ENOMEM, "out of memory");
	if (c->err) {
		r = redis_errno(c);
		fail(err, errlen, r, "redis: %s", c->errstr);
		redisFree(c);
		return r;
	}
	redisSetTimeout(c, tv);
	if (conn->password) {
		rep_r = redisCommand(c, "AUTH %s", conn->password);
		if (!rep_r || rep_r->type == REDIS_REPLY_ERROR) {
			r = rep_r ? -EACCES : redis_errno(c);
			fail(err, errlen, r, "redis AUTH: %s", rep_r ? rep_r->str : c->errstr);
			goto out_reply;
		}
		freeReplyObject(rep_r);
	}
	if (conn->db) {
		rep_r = redisCommand(c, "SELECT %u", conn->db);
		if (!rep_r || rep_r->type == REDIS_REPLY_ERROR) {
			r = rep_r ? -EPROTO : redis_errno(c);
			fail(err, errlen, r, "redis SELECT: %s", rep_r ? rep_r->str : c->errstr);
			goto out_reply;
		}
		freeReplyObject(rep_r);
	}
	/* Pipelined: one HGETALL per day, then the replies in order. */
	for (int32_t day = q->from; day <= q->to; day++) {
		char key[CDR_REDIS_KEY_MAX];

		if (cdr_redis_stats_key(key, sizeof(key), conn->prefix, day, dim) < 0) {
			r = fail(err, errlen, -ENAMETOOLONG, "key prefix too long");
			goto out;
		}
		if (redisAppendCommand(c, "HGETALL %s", key) != REDIS_OK) {
			r = fail(err, errlen, -ENOMEM, "out of memory");
			goto out;
		}
	}
	for (int32_t day = q->from; day <= q->to; day++) {
		void *v = NULL;

		if (redisGetReply(c, &v) != REDIS_OK || !v) {
			r = redis_errno(c);
			fail(err, errlen, r, "redis: %s", c->errstr);
			goto out;
		}
		rep_r = v;
		if (rep_r->type != REDIS_REPLY_ARRAY) {
			r = -EPROTO;
			fail(err, errlen, r, "redis HGETALL: %s",
			     rep_r->type == REDIS_REPLY_ERROR ? rep_r->str : "unexpected reply");
			/* The remaining replies are read and dropped with the context. */
			goto out_reply;
		}
		if (r == 0)
			r = add_hash(rep, q, day, rep_r);
		freeReplyObject(rep_r);
		if (r) {
			fail(err, errlen, r, "out of memory");
			goto out;
		}
	}
	report_finish(rep);
	goto out;
out_reply:
	if (rep_r)
		freeReplyObject(rep_r);
out:
	redisFree(c);
	return r;
}

/* ---- figures ---- */

size_t report_fmt_ratio(int64_t num, int64_t den, int64_t scale, unsigned decimals, char *buf,
			size_t cap)
{
	__int128 n, d = den, p = 1, q, rem;
	bool neg;
	int w;

	if (den == 0) {
		w = snprintf(buf, cap, "-");
		return w > 0 ? (size_t)w : 0;
	}
	if (decimals > 9)
		decimals = 9;
	for (unsigned i = 0; i < decimals; i++)
		p *= 10;
	n = (__int128)num * scale * p;
	neg = (n < 0) != (d < 0);
	if (n < 0)
		n = -n;
	if (d < 0)
		d = -d;
	q = n / d;
	rem = n % d;
	if (rem * 2 >= d)
		q++;
	uint64_t ip = (uint64_t)(q / p), fp = (uint64_t)(q % p);
	neg = neg && q != 0;
	if (decimals)
		w = snprintf(buf, cap, "%s%llu.%0*llu", neg ? "-" : "", (unsigned long long)ip,
			     (int)decimals, (unsigned long long)fp);
	else
		w = snprintf(buf, cap, "%s%llu", neg ? "-" : "", (unsigned long long)ip);
	return w > 0 ? (size_t)w : 0;
}

size_t report_fmt_money(int64_t micro, unsigned precision, char *buf, size_t cap)
{
	if (precision > 6)
		precision = 6;
	return report_fmt_ratio(micro, 1000000, 1, precision, buf, cap);
}

void report_figures(const struct cdr_counts *c, unsigned precision, struct report_figures *fig)
{
	report_fmt_ratio(c->answered, c->calls, 100, 2, fig->asr, sizeof(fig->asr));
	report_fmt_ratio(c->duration_ms, c->answered * 1000, 1, 1, fig->acd, sizeof(fig->acd));
	report_fmt_ratio(c->seconds, 60, 1, 2, fig->minutes, sizeof(fig->minutes));
	report_fmt_money(c->revenue, precision, fig->revenue, sizeof(fig->revenue));
	report_fmt_money(c->cost, precision, fig->cost, sizeof(fig->cost));
	report_fmt_money(c->profit, precision, fig->profit, sizeof(fig->profit));
	report_fmt_ratio(c->profit, c->revenue, 100, 2, fig->margin, sizeof(fig->margin));
}
