/* SPDX-License-Identifier: MIT */
/* cdr.c: see cdr.h. */
#include "cdr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The strings of a record, in their encoded order, with their limits. */
static const struct {
	size_t off;
	size_t max;
} cdr_strs[] = {
	{ offsetof(struct cdr, call_id), CDR_MAX_CALL_ID },
	{ offsetof(struct cdr, customer), CDR_MAX_NAME },
	{ offsetof(struct cdr, vendor), CDR_MAX_NAME },
	{ offsetof(struct cdr, gateway), CDR_MAX_NAME },
	{ offsetof(struct cdr, dialled), CDR_MAX_NUMBER },
	{ offsetof(struct cdr, routed), CDR_MAX_NUMBER },
	{ offsetof(struct cdr, cust_prefix), CDR_MAX_PREFIX },
	{ offsetof(struct cdr, vend_prefix), CDR_MAX_PREFIX },
};

#define CDR_NSTR (sizeof(cdr_strs) / sizeof(cdr_strs[0]))

const char *const cdr_count_names[CDR_NCOUNTS] = {
	"calls", "answered", "seconds", "duration_ms", "revenue", "cost", "profit",
};

const char *const cdr_field_names[CDR_NFIELDS] = {
	[CDR_FLD_ID] = "id",
	[CDR_FLD_CALL_ID] = "call_id",
	[CDR_FLD_CUSTOMER] = "customer",
	[CDR_FLD_VENDOR] = "vendor",
	[CDR_FLD_GATEWAY] = "gateway",
	[CDR_FLD_DIALLED] = "dialled",
	[CDR_FLD_ROUTED] = "routed",
	[CDR_FLD_CUST_PREFIX] = "cust_prefix",
	[CDR_FLD_VEND_PREFIX] = "vend_prefix",
	[CDR_FLD_SETUP] = "setup",
	[CDR_FLD_RINGING] = "ringing",
	[CDR_FLD_ANSWER] = "answer",
	[CDR_FLD_END] = "end",
	[CDR_FLD_DURATION] = "duration_ms",
	[CDR_FLD_PDD] = "pdd_ms",
	[CDR_FLD_BILLED] = "billed",
	[CDR_FLD_VEND_BILLED] = "vend_billed",
	[CDR_FLD_REVENUE] = "revenue",
	[CDR_FLD_COST] = "cost",
	[CDR_FLD_PROFIT] = "profit",
	[CDR_FLD_SIP_CODE] = "sip_code",
	[CDR_FLD_Q850] = "q850",
	[CDR_FLD_SIDE] = "side",
	[CDR_FLD_ATTEMPT] = "attempt",
	[CDR_FLD_FLAGS] = "flags",
};

static const char *const cdr_dim_names[CDR_NDIM] = {
	[CDR_DIM_CUSTOMER] = "customer",
	[CDR_DIM_VENDOR] = "vendor",
	[CDR_DIM_GATEWAY] = "gateway",
	[CDR_DIM_DEST] = "dest",
};

static inline struct sv *cdr_str(struct cdr *c, size_t i)
{
	return (struct sv *)((char *)c + cdr_strs[i].off);
}

static inline const struct sv *cdr_cstr(const struct cdr *c, size_t i)
{
	return (const struct sv *)((const char *)c + cdr_strs[i].off);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int cdr_encode(const struct cdr *c, void *buf, size_t cap)
{
	uint8_t *b = buf;
	size_t len = CDR_ENC_FIXED;

	for (size_t i = 0; i < CDR_NSTR; i++) {
		const struct sv *s = cdr_cstr(c, i);

		if (s->len > cdr_strs[i].max)
			return -EMSGSIZE;
		len += 1 + s->len;
	}
	if (len > cap)
		return -ENOBUFS;

	b[0] = CDR_VERSION;
	b[1] = c->side;
	put16(b + 2, c->id.node);
	put16(b + 4, c->sip_code);
	b[6] = c->q850;
	b[7] = c->attempt;
	put32(b + 8, c->flags);
	put32(b + 12, c->cust_billed_s);
	put32(b + 16, c->vend_billed_s);
	put32(b + 20, 0);
	put64(b + 24, c->id.boot);
	put64(b + 32, c->id.seq);
	put64(b + 40, (uint64_t)c->setup_ms);
	put64(b + 48, (uint64_t)c->ringing_ms);
	put64(b + 56, (uint64_t)c->answer_ms);
	put64(b + 64, (uint64_t)c->end_ms);
	put64(b + 72, (uint64_t)c->revenue);
	put64(b + 80, (uint64_t)c->cost);

	uint8_t *p = b + CDR_ENC_FIXED;
	for (size_t i = 0; i < CDR_NSTR; i++) {
		const struct sv *s = cdr_cstr(c, i);

		*p++ = (uint8_t)s->len;
		if (s->len)
			memcpy(p, s->p, s->len);
		p += s->len;
	}
	return (int)len;
}

int cdr_decode(const void *buf, size_t len, struct cdr *c)
{
	const uint8_t *b = buf;

	if (len < CDR_ENC_FIXED + CDR_NSTR || b[0] != CDR_VERSION || get32(b + 20) != 0)
		return -EBADMSG; /* the reserved word is 0 in version 1 */
	memset(c, 0, sizeof(*c));
	c->side = b[1];
	c->id.node = get16(b + 2);
	c->sip_code = get16(b + 4);
	c->q850 = b[6];
	c->attempt = b[7];
	c->flags = get32(b + 8);
	c->cust_billed_s = get32(b + 12);
	c->vend_billed_s = get32(b + 16);
	c->id.boot = get64(b + 24);
	c->id.seq = get64(b + 32);
	c->setup_ms = (int64_t)get64(b + 40);
	c->ringing_ms = (int64_t)get64(b + 48);
	c->answer_ms = (int64_t)get64(b + 56);
	c->end_ms = (int64_t)get64(b + 64);
	c->revenue = (int64_t)get64(b + 72);
	c->cost = (int64_t)get64(b + 80);

	size_t off = CDR_ENC_FIXED;
	for (size_t i = 0; i < CDR_NSTR; i++) {
		size_t n;

		if (off >= len)
			return -EBADMSG;
		n = b[off++];
		if (n > cdr_strs[i].max || n > len - off)
			return -EBADMSG;
		*cdr_str(c, i) = sv_make((const char *)b + off, n);
		off += n;
	}
	return off == len ? 0 : -EBADMSG;
}

void cdr_set_id(void *buf, struct cdr_id id)
{
	uint8_t *b = buf;

	put16(b + 2, id.node);
	put64(b + 24, id.boot);
	put64(b + 32, id.seq);
}

struct cdr_id cdr_get_id(const void *buf)
{
	const uint8_t *b = buf;

	return (struct cdr_id){ .node = get16(b + 2), .boot = get64(b + 24), .seq = get64(b + 32) };
}

/* "00" to "99": decimal two digits at a time. */
static const char digits2[201] = "00010203040506070809101112131415161718192021222324"
				 "25262728293031323334353637383940414243444546474849"
				 "50515253545556575859606162636465666768697071727374"
				 "75767778798081828384858687888990919293949596979899";

/* Decimal of v at p (room for 20 digits); returns the digits written. */
static size_t fmt_u64(char *p, uint64_t v)
{
	char t[20], *q = t + sizeof(t);
	size_t n;

	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		q -= 2;
		memcpy(q, digits2 + 2 * r, 2);
	}
	if (v >= 10) {
		q -= 2;
		memcpy(q, digits2 + 2 * v, 2);
	} else {
		*--q = (char)('0' + v);
	}
	n = (size_t)(t + sizeof(t) - q);
	memcpy(p, q, n);
	return n;
}

static size_t fmt_i64(char *p, int64_t v)
{
	if (v < 0) {
		*p = '-';
		return 1 + fmt_u64(p + 1, -(uint64_t)v);
	}
	return fmt_u64(p, (uint64_t)v);
}

size_t cdr_id_format(struct cdr_id id, char *buf, size_t cap)
{
	char t[CDR_ID_MAX];
	size_t n = fmt_u64(t, id.node);

	t[n++] = '-';
	n += fmt_u64(t + n, id.boot);
	t[n++] = '-';
	n += fmt_u64(t + n, id.seq);
	if (cap == 0)
		return n;
	size_t w = n < cap - 1 ? n : cap - 1;
	memcpy(buf, t, w);
	buf[w] = '\0';
	return n;
}

int cdr_id_parse(struct sv s, struct cdr_id *id)
{
	uint64_t v[3];
	static const uint64_t max[3] = { UINT16_MAX, UINT64_MAX, UINT64_MAX };

	for (int i = 0; i < 3; i++) {
		ptrdiff_t d = i < 2 ? sv_find(s, '-') : (ptrdiff_t)s.len;

		if (d <= 0 || sv_to_u64(sv_make(s.p, (size_t)d), max[i], &v[i]) != 0)
			return -EINVAL;
		s = sv_skip(s, (size_t)d + (i < 2));
	}
	if (s.len)
		return -EINVAL;
	id->node = (uint16_t)v[0];
	id->boot = v[1];
	id->seq = v[2];
	return 0;
}

/* b - a for b > a, without overflow whatever the (damaged) values: clamped. */
static int64_t span(int64_t a, int64_t b)
{
	uint64_t d = (uint64_t)b - (uint64_t)a;

	return d > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)d;
}

int64_t cdr_duration_ms(const struct cdr *c)
{
	if (!c->answer_ms || c->end_ms <= c->answer_ms)
		return 0;
	return span(c->answer_ms, c->end_ms);
}

int64_t cdr_pdd_ms(const struct cdr *c)
{
	int64_t t = c->ringing_ms ? c->ringing_ms : c->answer_ms;

	if (!t || t <= c->setup_ms)
		return 0;
	return span(c->setup_ms, t);
}

const char *cdr_side_name(unsigned side)
{
	switch (side) {
	case CDR_SIDE_CALLER:
		return "caller";
	case CDR_SIDE_CALLEE:
		return "callee";
	case CDR_SIDE_SWITCH:
		return "switch";
	default:
		return "";
	}
}

/* ---- days: H. Hinnant's civil calendar algorithms, proleptic Gregorian ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int32_t cdr_day(int64_t ms)
{
	int64_t d = ms / 86400000;

	if (ms % 86400000 < 0)
		d--;
	return (int32_t)d;
}

size_t cdr_day_format(int32_t day, char buf[11])
{
	int64_t z = (int64_t)day + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;

	y += m <= 2;
	if (y < 0 || y > 9999)
		y = 0; /* outside what cdr_day_parse() accepts: "0000-..." marks it */
	unsigned v[3] = { (unsigned)y, m, d }, w[3] = { 4, 2, 2 };
	char *p = buf;
	for (int i = 0; i < 3; i++) {
		for (unsigned k = w[i]; k-- > 0;) {
			p[k] = (char)('0' + v[i] % 10);
			v[i] /= 10;
		}
		p += w[i];
		if (i < 2)
			*p++ = '-';
	}
	*p = '\0';
	return 10;
}

int cdr_day_parse(struct sv s, int32_t *day)
{
	static const unsigned mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	uint64_t y, m, d;

	if (s.len != 10 || s.p[4] != '-' || s.p[7] != '-')
		return -EINVAL;
	if (sv_to_u64(sv_make(s.p, 4), 9999, &y) || sv_to_u64(sv_make(s.p + 5, 2), 12, &m) ||
	    sv_to_u64(sv_make(s.p + 8, 2), 31, &d))
		return -EINVAL;
	if (y < 1970 || m < 1 || d < 1 || d > mdays[m - 1])
		return -EINVAL;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (m == 2 && d == 29 && !leap)
		return -EINVAL;
	*day = (int32_t)days_from_civil((int64_t)y, (unsigned)m, (unsigned)d);
	return 0;
}

/* ---- counters ---- */

const char *cdr_dim_name(enum cdr_dim dim)
{
	return (unsigned)dim < CDR_NDIM ? cdr_dim_names[dim] : "";
}

int cdr_dim_parse(struct sv s, enum cdr_dim *dim)
{
	for (unsigned i = 0; i < CDR_NDIM; i++) {
		if (sv_eq(s, sv_cstr(cdr_dim_names[i]))) {
			*dim = (enum cdr_dim)i;
			return 0;
		}
	}
	if (sv_eq(s, SV_LIT("destination"))) {
		*dim = CDR_DIM_DEST;
		return 0;
	}
	return -EINVAL;
}

bool cdr_count(const struct cdr *c, enum cdr_dim dim, struct sv *key, struct cdr_counts *delta)
{
	bool cust_side = dim == CDR_DIM_CUSTOMER || dim == CDR_DIM_DEST;

	switch (dim) {
	case CDR_DIM_CUSTOMER:
		*key = c->customer;
		break;
	case CDR_DIM_VENDOR:
		*key = c->vendor;
		break;
	case CDR_DIM_GATEWAY:
		*key = c->gateway;
		break;
	case CDR_DIM_DEST:
		*key = c->cust_prefix;
		break;
	default:
		return false;
	}
	if (key->len == 0)
		return false;
	delta->calls = cust_side && (c->flags & CDR_F_REROUTED) ? 0 : 1;
	delta->answered = cdr_answered(c);
	delta->seconds = cust_side ? c->cust_billed_s : c->vend_billed_s;
	delta->duration_ms = cdr_duration_ms(c);
	delta->revenue = c->revenue;
	delta->cost = c->cost;
	delta->profit = cdr_profit(c);
	/* A rerouted attempt free of charge adds nothing to the customer's side. */
	return delta->calls || delta->answered || delta->seconds || delta->duration_ms ||
	       delta->revenue || delta->cost;
}

/* Wrapping, never undefined: a damaged record must not make a report crash. */
static void add64(int64_t *a, int64_t b)
{
	*a = (int64_t)((uint64_t)*a + (uint64_t)b);
}

void cdr_counts_add(struct cdr_counts *sum, const struct cdr_counts *d)
{
	add64(&sum->calls, d->calls);
	add64(&sum->answered, d->answered);
	add64(&sum->seconds, d->seconds);
	add64(&sum->duration_ms, d->duration_ms);
	add64(&sum->revenue, d->revenue);
	add64(&sum->cost, d->cost);
	add64(&sum->profit, d->profit);
}

/* ---- stream fields ---- */

int cdr_fields(const struct cdr *c, char *scratch, size_t cap, struct sv vals[CDR_NFIELDS])
{
	char *p = scratch;
	const char *side = cdr_side_name(c->side);

	/* At most 268 octets: the id (47), nine int64 (20 each), eight smaller numbers. */
	if (cap < CDR_FIELDS_SCRATCH)
		return -ENOBUFS;
#define NUM(fld, fmt, v)                    \
	do {                                \
		size_t n_ = fmt(p, v);      \
		vals[fld] = sv_make(p, n_); \
		p += n_;                    \
	} while (0)
	{
		size_t n = cdr_id_format(c->id, p, CDR_ID_MAX);
		vals[CDR_FLD_ID] = sv_make(p, n);
		p += n;
	}
	vals[CDR_FLD_CALL_ID] = c->call_id;
	vals[CDR_FLD_CUSTOMER] = c->customer;
	vals[CDR_FLD_VENDOR] = c->vendor;
	vals[CDR_FLD_GATEWAY] = c->gateway;
	vals[CDR_FLD_DIALLED] = c->dialled;
	vals[CDR_FLD_ROUTED] = c->routed;
	vals[CDR_FLD_CUST_PREFIX] = c->cust_prefix;
	vals[CDR_FLD_VEND_PREFIX] = c->vend_prefix;
	NUM(CDR_FLD_SETUP, fmt_i64, c->setup_ms);
	NUM(CDR_FLD_RINGING, fmt_i64, c->ringing_ms);
	NUM(CDR_FLD_ANSWER, fmt_i64, c->answer_ms);
	NUM(CDR_FLD_END, fmt_i64, c->end_ms);
	NUM(CDR_FLD_DURATION, fmt_i64, cdr_duration_ms(c));
	NUM(CDR_FLD_PDD, fmt_i64, cdr_pdd_ms(c));
	NUM(CDR_FLD_BILLED, fmt_u64, c->cust_billed_s);
	NUM(CDR_FLD_VEND_BILLED, fmt_u64, c->vend_billed_s);
	NUM(CDR_FLD_REVENUE, fmt_i64, c->revenue);
	NUM(CDR_FLD_COST, fmt_i64, c->cost);
	NUM(CDR_FLD_PROFIT, fmt_i64, cdr_profit(c));
	NUM(CDR_FLD_SIP_CODE, fmt_u64, c->sip_code);
	NUM(CDR_FLD_Q850, fmt_u64, c->q850);
	vals[CDR_FLD_SIDE] = sv_cstr(side);
	NUM(CDR_FLD_ATTEMPT, fmt_u64, c->attempt);
	NUM(CDR_FLD_FLAGS, fmt_u64, c->flags);
#undef NUM
	return 0;
}

/* The octets that make a CSV value need quotes. */
static const uint8_t csv_special[256] = { [','] = 1, ['"'] = 1, ['\r'] = 1, ['\n'] = 1 };

static char *csv_str(char *p, struct sv s)
{
	size_t k = 0;

	while (k < s.len && !csv_special[(uint8_t)s.p[k]])
		k++;
	if (k == s.len) {
		if (s.len)
			memcpy(p, s.p, s.len);
		return p + s.len;
	}
	*p++ = '"';
	for (k = 0; k < s.len; k++) {
		if (s.p[k] == '"')
			*p++ = '"';
		*p++ = s.p[k];
	}
	*p++ = '"';
	return p;
}

/*
 * Written field by field, straight into buf (the hot path of the export):
 * the order is cdr_field_names', which the tests check against cdr_fields().
 */
int cdr_csv(const struct cdr *c, char *buf, size_t cap)
{
	char *p = buf;

	if (cap < CDR_CSV_MAX)
		return -ENOBUFS;
#define SEP() (*p++ = ',')
	p += cdr_id_format(c->id, p, CDR_ID_MAX);
	SEP();
	p = csv_str(p, c->call_id);
	SEP();
	p = csv_str(p, c->customer);
	SEP();
	p = csv_str(p, c->vendor);
	SEP();
	p = csv_str(p, c->gateway);
	SEP();
	p = csv_str(p, c->dialled);
	SEP();
	p = csv_str(p, c->routed);
	SEP();
	p = csv_str(p, c->cust_prefix);
	SEP();
	p = csv_str(p, c->vend_prefix);
	SEP();
	p += fmt_i64(p, c->setup_ms);
	SEP();
	p += fmt_i64(p, c->ringing_ms);
	SEP();
	p += fmt_i64(p, c->answer_ms);
	SEP();
	p += fmt_i64(p, c->end_ms);
	SEP();
	p += fmt_i64(p, cdr_duration_ms(c));
	SEP();
	p += fmt_i64(p, cdr_pdd_ms(c));
	SEP();
	p += fmt_u64(p, c->cust_billed_s);
	SEP();
	p += fmt_u64(p, c->vend_billed_s);
	SEP();
	p += fmt_i64(p, c->revenue);
	SEP();
	p += fmt_i64(p, c->cost);
	SEP();
	p += fmt_i64(p, cdr_profit(c));
	SEP();
	p += fmt_u64(p, c->sip_code);
	SEP();
	p += fmt_u64(p, c->q850);
	SEP();
	{
		const char *side = cdr_side_name(c->side);
		size_t n = strlen(side);
		memcpy(p, side, n);
		p += n;
	}
	SEP();
	p += fmt_u64(p, c->attempt);
	SEP();
	p += fmt_u64(p, c->flags);
#undef SEP
	return (int)(p - buf);
}
