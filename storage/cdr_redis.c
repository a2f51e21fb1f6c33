/* SPDX-License-Identifier: MIT */
/* cdr_redis.c: see cdr_redis.h. */
#include "cdr_redis.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The script. The header that cdr_redis_script() writes before it defines
 * `names`, the stream field names of cdr.h, so that the two cannot drift
 * apart. Numbers: seqs are compared as Lua doubles (exact to 2^53, far beyond
 * any boot's count); money never goes through Lua arithmetic: the deltas are
 * the C side's int64 decimals, added by HINCRBY.
 */
static const char script_body[] =
	"local maxlen, tag, ttl, fmt = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), ARGV[4]\n"
	"local prev, a, b, n = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]),"
	" tonumber(ARGV[8])\n"
	"local h = tonumber(redis.call('HGET', KEYS[2], tag) or '0')\n"
	"if b <= h then return {0, h} end\n"
	"if h >= a then return {-2, h} end\n"
	"if prev >= 0 and h < prev then return {-1, h} end\n"
	"local nx = tonumber(ARGV[9])\n"
	"local i = 10\n"
	"if fmt == 'fields' then\n"
	"  local x = {'XADD', KEYS[1]}\n"
	"  if maxlen > 0 then x[3] = 'MAXLEN'; x[4] = '~'; x[5] = ARGV[1] end\n"
	"  x[#x + 1] = '*'\n"
	"  local fb, nf = #x, #names\n"
	"  for j = 1, nf do x[fb + 2 * j - 1] = names[j] end\n"
	"  for r = 1, nx do\n"
	"    for j = 1, nf do x[fb + 2 * j] = ARGV[i + j - 1] end\n"
	"    i = i + nf\n"
	"    redis.call(unpack(x))\n"
	"  end\n"
	"elseif maxlen > 0 then\n"
	"  for r = 1, nx do\n"
	"    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'cdr', ARGV[i])\n"
	"    i = i + 1\n"
	"  end\n"
	"else\n"
	"  for r = 1, nx do\n"
	"    redis.call('XADD', KEYS[1], '*', 'cdr', ARGV[i])\n"
	"    i = i + 1\n"
	"  end\n"
	"end\n"
	"local nh = tonumber(ARGV[i])\n"
	"i = i + 1\n"
	"for k = 1, nh do\n"
	"  local hash, nfld = ARGV[i], tonumber(ARGV[i + 1])\n"
	"  i = i + 2\n"
	"  for f = 1, nfld do\n"
	"    redis.call('HINCRBY', hash, ARGV[i], ARGV[i + 1])\n"
	"    i = i + 2\n"
	"  end\n"
	"  if ttl > 0 then redis.call('EXPIRE', hash, ttl) end\n"
	"end\n"
	"redis.call('HSET', KEYS[2], tag, ARGV[7])\n"
	"return {n, b}\n";

int cdr_redis_script(char *buf, size_t cap)
{
	size_t n = 0;
	int w;

#define OUT(...)                                                           \
	do {                                                               \
		w = snprintf(buf + n, cap > n ? cap - n : 0, __VA_ARGS__); \
		if (w < 0 || (size_t)w >= (cap > n ? cap - n : 0))         \
			return -ENOBUFS;                                   \
		n += (size_t)w;                                            \
	} while (0)

	OUT("-- sipring CDR batch, version 2 (storage/cdr_redis.c, docs/redis.md)\n"
	    "local names = {");
	for (unsigned i = 0; i < CDR_NFIELDS; i++)
		OUT("%s'%s'", i ? ", " : "", cdr_field_names[i]);
	OUT("}\n%s", script_body);
#undef OUT
	return (int)n;
}

static int key_cat(char *buf, size_t cap, const char *prefix, const char *rest)
{
	size_t pl;
	int w;

	if (!prefix || !*prefix)
		prefix = CDR_REDIS_PREFIX;
	pl = strlen(prefix);
	if (pl > CDR_REDIS_PREFIX_MAX)
		return -ENAMETOOLONG;
	w = snprintf(buf, cap, "%s%s", prefix, rest);
	if (w < 0 || (size_t)w >= cap)
		return -ENAMETOOLONG;
	return w;
}

int cdr_redis_stream_key(char *buf, size_t cap, const char *prefix)
{
	return key_cat(buf, cap, prefix, "cdr");
}

int cdr_redis_hwm_key(char *buf, size_t cap, const char *prefix)
{
	return key_cat(buf, cap, prefix, "cdr:hwm");
}

int cdr_redis_stats_key(char *buf, size_t cap, const char *prefix, int32_t day, enum cdr_dim dim)
{
	char rest[40], d[11];

	cdr_day_format(day, d);
	snprintf(rest, sizeof(rest), "stats:%s:%s", d, cdr_dim_name(dim));
	return key_cat(buf, cap, prefix, rest);
}

int cdr_redis_field_split(struct sv field, struct sv *key, unsigned *counter)
{
	size_t i = field.len;

	while (i > 0 && field.p[i - 1] != ':')
		i--;
	if (i == 0)
		return -EINVAL;
	struct sv name = sv_make(field.p + i, field.len - i);
	for (unsigned k = 0; k < CDR_NCOUNTS; k++) {
		if (sv_eq(name, sv_cstr(cdr_count_names[k]))) {
			*key = sv_make(field.p, i - 1);
			*counter = k;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- the batch ---- */

struct cdr_redis_agg {
	bool used;
	uint8_t dim;
	uint8_t klen;
	int32_t day;
	char key[CDR_MAX_NAME];
	struct cdr_counts c;
};

_Static_assert(CDR_MAX_PREFIX <= CDR_MAX_NAME, "a dimension key fits an agg entry");

void cdr_redis_batch_init(struct cdr_redis_batch *b)
{
	memset(b, 0, sizeof(*b));
}

void cdr_redis_batch_fini(struct cdr_redis_batch *b)
{
	free(b->buf);
	free(b->agg);
	memset(b, 0, sizeof(*b));
}

static int reserve(struct cdr_redis_batch *b, size_t more)
{
	size_t nc;
	char *nb;

	if (b->len + more <= b->cap)
		return 0;
	nc = b->cap ? b->cap : 64 * 1024;
	while (nc < b->len + more)
		nc *= 2;
	nb = realloc(b->buf, nc);
	if (!nb)
		return -ENOMEM;
	b->buf = nb;
	b->cap = nc;
	return 0;
}

/* Decimal digits of v into p, returns the count (p has room for 20). */
static size_t put_u64(char *p, uint64_t v)
{
	char t[20];
	size_t n = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		p[i] = t[n - 1 - i];
	return n;
}

static size_t put_i64(char *p, int64_t v)
{
	if (v < 0) {
		*p = '-';
		return 1 + put_u64(p + 1, -(uint64_t)v);
	}
	return put_u64(p, (uint64_t)v);
}

/* One bulk string "$<len>\r\n<octets>\r\n" at p; returns the octets written (len + 26 at most). */
static size_t put_bulk(char *p, const char *s, size_t len)
{
	char *q = p;

	*q++ = '$';
	q += put_u64(q, len);
	*q++ = '\r';
	*q++ = '\n';
	if (len)
		memcpy(q, s, len);
	q += len;
	*q++ = '\r';
	*q++ = '\n';
	return (size_t)(q - p);
}

static int bulk(struct cdr_redis_batch *b, const char *s, size_t len)
{
	int r = reserve(b, len + 26);

	if (r)
		return r;
	b->len += put_bulk(b->buf + b->len, s, len);
	return 0;
}

static int bulk_i64(struct cdr_redis_batch *b, int64_t v)
{
	char num[24];

	return bulk(b, num, put_i64(num, v));
}

int cdr_redis_batch_begin(struct cdr_redis_batch *b, const struct cdr_redis_cfg *cfg, struct sv sha,
			  enum cdr_redis_kind kind, uint16_t node, uint64_t boot, int64_t prev)
{
	const char *prefix = cfg->prefix && *cfg->prefix ? cfg->prefix : CDR_REDIS_PREFIX;

	if (strlen(prefix) > CDR_REDIS_PREFIX_MAX)
		return -ENAMETOOLONG;
	if (sha.len != 40)
		return -EINVAL; /* and the head always fits CDR_REDIS_HEAD (438 octets at most) */
	b->cfg = cfg;
	b->sha = sha;
	b->kind = kind;
	b->node = node;
	b->boot = boot;
	b->prev = prev;
	b->n = 0;
	b->first_seq = b->last_seq = 0;
	b->cmd = NULL;
	b->cmd_len = 0;
	b->len = 0;
	if (b->agg_n) {
		memset(b->agg, 0, b->agg_cap * sizeof(*b->agg));
		b->agg_n = 0;
	}
	if (reserve(b, CDR_REDIS_HEAD))
		return -ENOMEM;
	b->len = CDR_REDIS_HEAD;
	return 0;
}

static uint32_t agg_hash(int32_t day, unsigned dim, struct sv key)
{
	uint32_t h = 2166136261u ^ dim;

	for (int i = 0; i < 4; i++)
		h = (h ^ (uint8_t)((uint32_t)day >> (8 * i))) * 16777619u;
	for (size_t i = 0; i < key.len; i++)
		h = (h ^ (uint8_t)key.p[i]) * 16777619u;
	return h;
}

static struct cdr_redis_agg *agg_slot(struct cdr_redis_agg *t, size_t cap, int32_t day,
				      unsigned dim, struct sv key)
{
	size_t s = agg_hash(day, dim, key) & (cap - 1);

	while (t[s].used && !(t[s].day == day && t[s].dim == dim && t[s].klen == key.len &&
			      memcmp(t[s].key, key.p, key.len) == 0))
		s = (s + 1) & (cap - 1);
	return &t[s];
}

static int agg_grow(struct cdr_redis_batch *b)
{
	size_t nc = b->agg_cap ? b->agg_cap * 2 : 1024;
	struct cdr_redis_agg *t = calloc(nc, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < b->agg_cap; i++) {
		struct cdr_redis_agg *e = &b->agg[i];
		if (e->used)
			*agg_slot(t, nc, e->day, e->dim, sv_make(e->key, e->klen)) = *e;
	}
	free(b->agg);
	b->agg = t;
	b->agg_cap = nc;
	return 0;
}

int cdr_redis_batch_add(struct cdr_redis_batch *b, const struct cdr *c)
{
	int32_t day = cdr_day(c->setup_ms);
	int r;

	if (c->id.node != b->node || c->id.boot != b->boot)
		return -EXDEV;
	if (b->n && c->id.seq <= b->last_seq)
		return -EINVAL;
	if (b->kind == CDR_REDIS_COUNTERS) {
		/* Room for the counters of this record first: nothing is half added. */
		if ((b->agg_n + CDR_NDIM) * 2 > b->agg_cap && agg_grow(b))
			return -ENOMEM;
	} else if (b->cfg->format == CDR_STREAM_FIELDS) {
		char scratch[CDR_FIELDS_SCRATCH];
		struct sv v[CDR_NFIELDS];
		size_t need = 0;

		cdr_fields(c, scratch, sizeof(scratch), v);
		for (unsigned i = 0; i < CDR_NFIELDS; i++)
			need += v[i].len + 26;
		r = reserve(b, need);
		if (r)
			return r;
		for (unsigned i = 0; i < CDR_NFIELDS; i++)
			b->len += put_bulk(b->buf + b->len, v[i].p, v[i].len);
	} else {
		char line[CDR_CSV_MAX];
		int n = cdr_csv(c, line, sizeof(line));

		r = n < 0 ? n : bulk(b, line, (size_t)n);
		if (r)
			return r;
	}
	for (unsigned d = 0; d < CDR_NDIM && b->kind == CDR_REDIS_COUNTERS; d++) {
		struct cdr_counts k;
		struct sv key;

		if (!cdr_count(c, (enum cdr_dim)d, &key, &k))
			continue;
		struct cdr_redis_agg *e = agg_slot(b->agg, b->agg_cap, day, d, key);
		if (!e->used) {
			e->used = true;
			e->day = day;
			e->dim = (uint8_t)d;
			e->klen = (uint8_t)key.len;
			memcpy(e->key, key.p, key.len);
			b->agg_n++;
		}
		cdr_counts_add(&e->c, &k);
	}
	if (!b->n)
		b->first_seq = c->id.seq;
	b->last_seq = c->id.seq;
	b->n++;
	return 0;
}

static int agg_cmp(const void *x, const void *y)
{
	const struct cdr_redis_agg *a = x, *b = y;
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c;

	if (a->day != b->day)
		return a->day < b->day ? -1 : 1;
	if (a->dim != b->dim)
		return a->dim < b->dim ? -1 : 1;
	c = memcmp(a->key, b->key, n);
	return c ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

/* The fields of entry e that are not zero. */
static unsigned nonzero(struct cdr_redis_agg *e)
{
	unsigned n = 0;

	for (unsigned k = 0; k < CDR_NCOUNTS; k++)
		n += *cdr_counts_at(&e->c, k) != 0;
	return n;
}

int cdr_redis_batch_finish(struct cdr_redis_batch *b)
{
	char stream[CDR_REDIS_KEY_MAX], hwm[CDR_REDIS_KEY_MAX], tag[CDR_ID_MAX];
	char head[CDR_REDIS_HEAD], *h = head;
	const char *prefix;
	uint64_t argc, nhash = 0;
	unsigned nx;
	size_t tl;
	int sl, hl, r;

	if (!b->n)
		return -EINVAL;
	prefix = b->cfg->prefix && *b->cfg->prefix ? b->cfg->prefix : CDR_REDIS_PREFIX;
	/* The counters, grouped by hash (day, dimension), in a stable order. */
	for (size_t i = 0, k = 0; i < b->agg_cap && k < b->agg_n; i++)
		if (b->agg[i].used)
			b->agg[k++] = b->agg[i];
	if (b->agg_n)
		qsort(b->agg, b->agg_n, sizeof(*b->agg), agg_cmp);
	for (size_t i = 0; i < b->agg_n; i++)
		if (i == 0 || b->agg[i].day != b->agg[i - 1].day ||
		    b->agg[i].dim != b->agg[i - 1].dim)
			nhash++;
	nx = b->kind == CDR_REDIS_RECORDS ? b->n : 0;
	argc = 14 + (uint64_t)nx * (b->cfg->format == CDR_STREAM_FIELDS ? CDR_NFIELDS : 1) + 1;
	if ((r = bulk_i64(b, (int64_t)nhash)))
		return r;
	for (size_t i = 0; i < b->agg_n;) {
		char key[CDR_REDIS_KEY_MAX];
		size_t j = i;
		unsigned nf = 0;

		while (j < b->agg_n && b->agg[j].day == b->agg[i].day &&
		       b->agg[j].dim == b->agg[i].dim)
			nf += nonzero(&b->agg[j++]);
		sl = cdr_redis_stats_key(key, sizeof(key), prefix, b->agg[i].day,
					 (enum cdr_dim)b->agg[i].dim);
		if ((r = bulk(b, key, (size_t)sl)) || (r = bulk_i64(b, nf)))
			return r;
		argc += 2 + 2 * (uint64_t)nf;
		for (; i < j; i++) {
			struct cdr_redis_agg *e = &b->agg[i];
			for (unsigned k = 0; k < CDR_NCOUNTS; k++) {
				int64_t v = *cdr_counts_at(&e->c, k);
				char field[CDR_MAX_NAME + 16];
				size_t fl;

				if (!v)
					continue;
				memcpy(field, e->key, e->klen);
				field[e->klen] = ':';
				fl = e->klen + 1u + strlen(cdr_count_names[k]);
				memcpy(field + e->klen + 1, cdr_count_names[k], fl - e->klen - 1);
				if ((r = bulk(b, field, fl)) || (r = bulk_i64(b, v)))
					return r;
			}
		}
	}
	/* The agg table is sorted now, no longer a hash table: empty it for the next batch. */
	if (b->agg_n)
		memset(b->agg, 0, b->agg_cap * sizeof(*b->agg));
	b->agg_n = 0;

	/* The head: array header, EVALSHA, KEYS, the fixed ARGV. */
	sl = cdr_redis_stream_key(stream, sizeof(stream), prefix);
	hl = cdr_redis_hwm_key(hwm, sizeof(hwm), prefix);
	tl = put_u64(tag, b->node);
	tag[tl++] = '-';
	tl += put_u64(tag + tl, b->boot);
	if (b->kind == CDR_REDIS_COUNTERS) {
		tag[tl++] = ':';
		tag[tl++] = 'c';
	}
	*h++ = '*';
	h += put_u64(h, argc);
	*h++ = '\r';
	*h++ = '\n';
	h += put_bulk(h, "EVALSHA", 7);
	h += put_bulk(h, b->sha.p, b->sha.len);
	h += put_bulk(h, "2", 1);
	h += put_bulk(h, stream, (size_t)sl);
	h += put_bulk(h, hwm, (size_t)hl);
	{
		char num[24];
		const char *fmt = b->cfg->format == CDR_STREAM_FIELDS ? "fields" : "csv";

		h += put_bulk(h, num, put_u64(num, b->cfg->maxlen));
		h += put_bulk(h, tag, tl);
		h += put_bulk(h, num, put_u64(num, b->cfg->stats_ttl_sec));
		h += put_bulk(h, fmt, strlen(fmt));
		h += put_bulk(h, num, put_i64(num, b->prev));
		h += put_bulk(h, num, put_u64(num, b->first_seq));
		h += put_bulk(h, num, put_u64(num, b->last_seq));
		h += put_bulk(h, num, put_u64(num, b->n));
		h += put_bulk(h, num, put_u64(num, nx));
	}
	size_t hlen = (size_t)(h - head);
	memcpy(b->buf + CDR_REDIS_HEAD - hlen, head, hlen);
	b->cmd = b->buf + CDR_REDIS_HEAD - hlen;
	b->cmd_len = b->len - (CDR_REDIS_HEAD - hlen);
	return 0;
}
