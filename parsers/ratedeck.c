/* SPDX-License-Identifier: MIT */
/*
 * ratedeck.c: the CSV rate deck reader (see ratedeck.h).
 *
 * A record is split into at most RATEDECK_MAX_COLS field views in one pass
 * (split()); quoted fields keep their doubled quotes, which only a destination
 * name may carry. The header row is found by trying each of the first lines with
 * each delimiter and keeping the first that maps every required column. Each
 * column is then converted by a small function; the first failure names the
 * field.
 */
#include "ratedeck.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/money.h"

/* Accepted header names, normalised (see ratedeck.h). */
static const char *const n_prefix[] = {
	"prefix",	    "prefixes", "code",	     "codes",	    "dialcode",
	"dialcodes",	    "areacode", "areacodes", "dialingcode", "destinationcode",
	"destinationcodes", "npanxx",	"digits",    NULL,
};
static const char *const n_dest[] = {
	"destination", "destinationname", "description", "desc",     "name", "country", "area",
	"areaname",    "codename",	  "region",	 "location", "zone", NULL,
};
static const char *const n_rate[] = {
	"rate",	  "price",	    "newrate",	  "newprice",	    "feerate",
	"cost",	  "rateperminute",  "ratepermin", "costperminute",  "nextrate",
	"tariff", "subsequentrate", "nextprice",  "additionalrate", NULL,
};
static const char *const n_first_rate[] = {
	"firstrate", "initialrate", "firstprice", "initialprice", "firstperiodrate", NULL,
};
static const char *const n_first_s[] = {
	"firstperiod",	 "initialperiod",   "firstincrement", "initialincrement",
	"firstinterval", "initialinterval", "minduration",    "minimumduration",
	"min",		 "initial",	    "duration",	      NULL,
};
static const char *const n_incr_s[] = {
	"nextperiod",	      "nextincrement",	     "nextinterval", "subsequentincrement",
	"subsequentinterval", "additionalincrement", NULL,
};
static const char *const n_increment[] = {
	"increment",	"increments",  "billingincrement", "billing",  "billinginterval",
	"billingcycle", "billingunit", "ratingincrement",  "interval", "period",
	"int",		NULL,
};
static const char *const n_connect[] = {
	"connectionfee",
	"connectfee",
	"connectcharge",
	"connectioncharge",
	"connection",
	"setupfee",
	"setupcharge",
	"setup",
	"sf",
	NULL,
};
static const char *const n_effective[] = {
	"effectivedate",     "effective", "effectivefrom", "effectivetime",
	"effectivedatetime", "startdate", "starttime",	   "validfrom",
	"begindate",	     "begintime", "date",	   NULL,
};
static const char *const n_end[] = {
	"enddate", "endtime",	 "expirydate", "expirationdate", "expires", "expiry",
	"validto", "validuntil", NULL,
};
static const char *const n_status[] = { "status", "change", "changetype", "action", NULL };

#define REQ(c) (1u << (c))

static const struct ratedeck_layout layout_auto = {
	.name = "auto",
	.summary = "any of the known header names for each column",
	.names = {
		[RATEDECK_PREFIX] = n_prefix,
		[RATEDECK_DEST] = n_dest,
		[RATEDECK_RATE] = n_rate,
		[RATEDECK_FIRST_RATE] = n_first_rate,
		[RATEDECK_FIRST_S] = n_first_s,
		[RATEDECK_INCR_S] = n_incr_s,
		[RATEDECK_INCREMENT] = n_increment,
		[RATEDECK_CONNECT_FEE] = n_connect,
		[RATEDECK_EFFECTIVE] = n_effective,
		[RATEDECK_END] = n_end,
		[RATEDECK_STATUS] = n_status,
	},
	.required = REQ(RATEDECK_PREFIX) | REQ(RATEDECK_RATE),
	.date_order = RATEDECK_MDY,
};

static const char *const m_prefix[] = { "prefix", NULL };
static const char *const m_dest[] = { "destination", NULL };
static const char *const m_rate[] = { "rate", NULL };
static const char *const m_effective[] = { "effectivedate", NULL };

static const struct ratedeck_layout layout_minimal = {
	.name = "minimal",
	.summary = "prefix,destination,rate,effective_date",
	.names = {
		[RATEDECK_PREFIX] = m_prefix,
		[RATEDECK_DEST] = m_dest,
		[RATEDECK_RATE] = m_rate,
		[RATEDECK_EFFECTIVE] = m_effective,
	},
	.required = REQ(RATEDECK_PREFIX) | REQ(RATEDECK_DEST) | REQ(RATEDECK_RATE) |
		    REQ(RATEDECK_EFFECTIVE),
	.date_order = RATEDECK_MDY,
};

static const char *const i_dest[] = { "description", NULL };
static const char *const i_connect[] = { "connectionfee", NULL };
static const char *const i_increment[] = { "billingincrement", NULL };

static const struct ratedeck_layout layout_increment = {
	.name = "increment",
	.summary = "Prefix,Description,Rate,Connection Fee,Effective Date,Billing Increment",
	.names = {
		[RATEDECK_PREFIX] = m_prefix,
		[RATEDECK_DEST] = i_dest,
		[RATEDECK_RATE] = m_rate,
		[RATEDECK_CONNECT_FEE] = i_connect,
		[RATEDECK_EFFECTIVE] = m_effective,
		[RATEDECK_INCREMENT] = i_increment,
	},
	.required = REQ(RATEDECK_PREFIX) | REQ(RATEDECK_RATE) | REQ(RATEDECK_INCREMENT),
	.date_order = RATEDECK_MDY,
};

static const char *const v_prefix[] = { "codes", "code", "prefix", "areacode", NULL };
static const char *const v_dest[] = { "destination", "area", "areaname", NULL };
static const char *const v_rate[] = { "rate", "feerate", "newprice", NULL };
static const char *const v_increment[] = { "period", "billingcycle", NULL };

static const struct ratedeck_layout layout_vos3000 = {
	.name = "vos3000",
	.summary = "Destination,Codes,Rate,Effective Date[,Period] (VOS3000 rate template)",
	.names = {
		[RATEDECK_PREFIX] = v_prefix,
		[RATEDECK_DEST] = v_dest,
		[RATEDECK_RATE] = v_rate,
		[RATEDECK_EFFECTIVE] = m_effective,
		[RATEDECK_INCREMENT] = v_increment,
	},
	.required = REQ(RATEDECK_PREFIX) | REQ(RATEDECK_RATE) | REQ(RATEDECK_EFFECTIVE),
	.date_order = RATEDECK_MDY,
};

static const char *const s_first_rate[] = { "firstrate", NULL };
static const char *const s_first_s[] = { "firstperiod", NULL };
static const char *const s_increment[] = { "increment", NULL };
static const char *const s_connect[] = { "connectfee", NULL };
static const char *const s_end[] = { "enddate", NULL };
static const char *const s_status[] = { "status", NULL };

static const struct ratedeck_layout layout_sipring = {
	.name = "sipring",
	.summary = "prefix,destination,first_rate,first_period,rate,increment,connect_fee,"
		   "effective_date,end_date,status (what autocreate writes)",
	.names = {
		[RATEDECK_PREFIX] = m_prefix,
		[RATEDECK_DEST] = m_dest,
		[RATEDECK_RATE] = m_rate,
		[RATEDECK_FIRST_RATE] = s_first_rate,
		[RATEDECK_FIRST_S] = s_first_s,
		[RATEDECK_INCREMENT] = s_increment,
		[RATEDECK_CONNECT_FEE] = s_connect,
		[RATEDECK_EFFECTIVE] = m_effective,
		[RATEDECK_END] = s_end,
		[RATEDECK_STATUS] = s_status,
	},
	.required = REQ(RATEDECK_PREFIX) | REQ(RATEDECK_RATE) | REQ(RATEDECK_FIRST_S) |
		    REQ(RATEDECK_INCREMENT),
	.date_order = RATEDECK_MDY,
};

const struct ratedeck_layout *const ratedeck_layouts[] = {
	&layout_auto, &layout_minimal, &layout_increment, &layout_vos3000, &layout_sipring, NULL,
};

const struct ratedeck_opts ratedeck_opts_default = {
	.delim = 0,
	.first_s = 60,
	.incr_s = 60,
	.effective = RATE_TIME_MIN,
};

static const char *const col_names[RATEDECK__COUNT] = {
	[RATEDECK_PREFIX] = "prefix",
	[RATEDECK_DEST] = "destination",
	[RATEDECK_RATE] = "rate",
	[RATEDECK_FIRST_RATE] = "first rate",
	[RATEDECK_FIRST_S] = "first period",
	[RATEDECK_INCR_S] = "increment seconds",
	[RATEDECK_INCREMENT] = "increment",
	[RATEDECK_CONNECT_FEE] = "connect fee",
	[RATEDECK_EFFECTIVE] = "effective date",
	[RATEDECK_END] = "end date",
	[RATEDECK_STATUS] = "status",
};

const char *ratedeck_col_name(enum ratedeck_col c)
{
	return (unsigned)c < RATEDECK__COUNT ? col_names[c] : "?";
}

const struct ratedeck_layout *ratedeck_layout_find(struct sv name)
{
	for (unsigned i = 0; ratedeck_layouts[i]; i++)
		if (sv_caseeq_lit(name, ratedeck_layouts[i]->name))
			return ratedeck_layouts[i];
	return NULL;
}

struct field {
	struct sv v;
	bool quoted;
	bool escaped;
};

static void set_err(struct ratedeck *d, uint32_t line, int idx, const char *reason)
{
	d->err.line = line;
	d->err.col = (uint16_t)(idx + 1);
	d->err.name = idx >= 0 && idx < RATEDECK_MAX_COLS ? d->hdr[idx] : SV_NULL;
	d->err.reason = reason;
}

/*
 * Split the record at *pp into fields f[0 .. cap) (more are counted in *nf but not
 * stored), and move *pp past its line end; *lines gets the line breaks consumed.
 * Returns 0, or -EBADMSG with *why set.
 */
static int split(const char **pp, const char *end, char delim, struct field *f, unsigned cap,
		 unsigned *nf, uint32_t *lines, const char **why)
{
	const char *p = *pp;
	unsigned n = 0;

	*lines = 0;
	for (;;) {
		struct field x = { 0 };

		while (p < end && (*p == ' ' || (*p == '\t' && delim != '\t')))
			p++;
		if (p < end && *p == '"') {
			const char *q = ++p;

			x.quoted = true;
			for (;;) {
				if (p >= end) {
					*why = "quote not closed";
					*pp = end;
					*nf = n;
					return -EBADMSG;
				}
				if (*p == '"') {
					if (p + 1 < end && p[1] == '"') {
						x.escaped = true;
						p += 2;
						continue;
					}
					break;
				}
				if (*p == '\n')
					(*lines)++;
				p++;
			}
			x.v = sv_range(q, p);
			p++;
			while (p < end &&
			       (*p == ' ' || *p == '\r' || (*p == '\t' && delim != '\t')))
				p++;
			if (p < end && *p != delim && *p != '\n') {
				*why = "text after a closing quote";
				while (p < end && *p != '\n')
					p++;
				*pp = p < end ? p + 1 : p;
				(*lines)++;
				*nf = n;
				return -EBADMSG;
			}
		} else {
			const char *q = p;

			while (p < end && *p != delim && *p != '\n')
				p++;
			x.v = sv_trim(sv_range(q, p));
		}
		if (n < cap)
			f[n] = x;
		n++;
		if (p < end && *p == delim) {
			p++;
			continue;
		}
		if (p < end) /* '\n' */
			p++;
		(*lines)++;
		break;
	}
	*pp = p;
	*nf = n;
	return 0;
}

/* Lower-case letters and digits of a header name, without any "(...)" or "[...]". */
static size_t normalise(struct sv s, char *buf, size_t cap)
{
	size_t n = 0;
	int depth = 0;

	for (size_t i = 0; i < s.len && n + 1 < cap; i++) {
		char c = s.p[i];

		if (c == '(' || c == '[')
			depth++;
		else if ((c == ')' || c == ']') && depth)
			depth--;
		else if (depth)
			continue;
		else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			buf[n++] = c;
		else if (c >= 'A' && c <= 'Z')
			buf[n++] = (char)(c + 32);
	}
	buf[n] = '\0';
	return n;
}

static int name_col(const struct ratedeck_layout *l, const char *name)
{
	for (int c = 0; c < RATEDECK__COUNT; c++) {
		const char *const *names = l->names[c];

		for (; names && *names; names++)
			if (strcmp(*names, name) == 0)
				return c;
	}
	return -1;
}

/*
 * Try the fields of one line as the header. Returns 1 when every required column
 * maps, 0 when not, -EBADMSG when two fields map to the same column.
 */
static int try_header(struct ratedeck *d, const struct field *f, unsigned nf, uint32_t line)
{
	int16_t col[RATEDECK__COUNT];
	uint32_t have = 0;
	char name[64];

	for (int c = 0; c < RATEDECK__COUNT; c++)
		col[c] = -1;
	if (nf > RATEDECK_MAX_COLS)
		nf = RATEDECK_MAX_COLS;
	for (unsigned i = 0; i < nf; i++) {
		int c;

		normalise(f[i].v, name, sizeof(name));
		c = name_col(d->layout, name);
		if (c < 0)
			continue;
		if (col[c] >= 0) {
			/* Only a line that is otherwise a header says so. */
			for (unsigned k = 0; k < nf; k++)
				d->hdr[k] = f[k].v;
			set_err(d, line, (int)i,
				"a second column for the same field (choose a --layout)");
			return -EBADMSG;
		}
		col[c] = (int16_t)i;
		have |= 1u << c;
	}
	if ((have & d->layout->required) != d->layout->required)
		return 0;
	memcpy(d->col, col, sizeof(col));
	d->ncols = (uint16_t)nf;
	for (unsigned i = 0; i < nf; i++)
		d->hdr[i] = f[i].v;
	return 1;
}

static bool blank(const struct field *f, unsigned nf)
{
	unsigned n = nf < RATEDECK_MAX_COLS ? nf : RATEDECK_MAX_COLS;

	for (unsigned i = 0; i < n; i++)
		if (f[i].v.len)
			return false;
	return true;
}

int ratedeck_init(struct ratedeck *d, const char *buf, size_t len,
		  const struct ratedeck_layout *layout, const struct ratedeck_opts *opts)
{
	static const char delims[] = { ',', ';', '\t', '|' };
	struct field f[RATEDECK_MAX_COLS];
	const char *p = buf, *end = buf + len;
	uint32_t line = 1;
	int dup = 0;

	memset(d, 0, sizeof(*d));
	d->layout = layout ? layout : &layout_auto;
	d->opts = opts ? *opts : ratedeck_opts_default;
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	for (unsigned n = 0; p < end && n < RATEDECK_HEADER_SEARCH; n++) {
		const char *next = p, *why = NULL;
		uint32_t lines = 0;
		unsigned nf;

		for (unsigned k = 0; k < sizeof(delims); k++) {
			const char *q = p;
			char c = d->opts.delim ? d->opts.delim : delims[k];
			uint32_t ql;
			int ret;

			if (d->opts.delim && k > 0)
				break;
			if (split(&q, end, c, f, RATEDECK_MAX_COLS, &nf, &ql, &why) < 0) {
				set_err(d, line, -1, why);
				return -EBADMSG;
			}
			if (k == 0) {
				next = q;
				lines = ql;
			}
			if (nf < 2 && !(d->opts.delim && nf == 1))
				continue;
			ret = try_header(d, f, nf, line);
			if (ret == 1) {
				d->delim = c;
				d->p = q;
				d->end = end;
				d->line = line + ql;
				return 0;
			}
			if (ret < 0 && !dup)
				dup = ret;
		}
		if (dup)
			return dup;
		p = next;
		line += lines;
	}
	set_err(d, 1, -1, "no header row naming the required columns (see --layout)");
	return -EBADMSG;
}

bool ratedeck_prefix_next(struct sv *list, struct sv *prefix)
{
	const char *p, *end, *q;

	if (list->len == 0)
		return false;
	p = list->p;
	end = list->p + list->len;
	while (p < end && (*p == ',' || *p == ';' || *p == ' ' || *p == '\t'))
		p++;
	if (p >= end) {
		*list = sv_make(end, 0);
		return false;
	}
	if (*p == '+')
		p++;
	q = p;
	while (p < end && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
		p++;
	*prefix = sv_range(q, p);
	*list = sv_range(p, end);
	return true;
}

size_t ratedeck_unescape(struct sv s, char *buf, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < s.len && n < cap; i++) {
		buf[n++] = s.p[i];
		if (s.p[i] == '"' && i + 1 < s.len && s.p[i + 1] == '"')
			i++;
	}
	return n;
}

static const struct field *field_of(const struct ratedeck *d, const struct field *f, unsigned nf,
				    enum ratedeck_col c)
{
	static const struct field none = { { "", 0 }, false, false };
	int i = d->col[c];

	if (i < 0)
		return NULL;
	return (unsigned)i < nf ? &f[i] : &none;
}

/* Unsigned seconds, 0..RATEDECK_MAX_PERIOD_S. */
static int parse_secs(struct sv s, uint32_t *out)
{
	uint32_t v = 0;

	if (s.len == 0 || s.len > 6)
		return -EINVAL;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint32_t)(s.p[i] - '0');
	}
	if (v > RATEDECK_MAX_PERIOD_S)
		return -ERANGE;
	*out = v;
	return 0;
}

int ratedeck_parse_increment(struct sv s, uint32_t *first_s, uint32_t *incr_s)
{
	ptrdiff_t slash;

	s = sv_trim(s);
	slash = sv_find(s, '/');
	if (slash < 0)
		return -EINVAL;
	if (parse_secs(sv_trim(sv_make(s.p, (size_t)slash)), first_s) < 0 ||
	    parse_secs(sv_trim(sv_skip(s, (size_t)slash + 1)), incr_s) < 0)
		return -EINVAL;
	return *incr_s ? 0 : -EINVAL;
}

/* An amount cell: money_parse(), with a decimal comma accepted when ',' is not the delimiter. */
static int parse_amount(const struct ratedeck *d, struct sv s, int64_t *out)
{
	char tmp[48];
	ptrdiff_t comma = sv_find(s, ',');

	if (comma >= 0 && d->delim != ',' && sv_find(s, '.') < 0 && s.len < sizeof(tmp)) {
		memcpy(tmp, s.p, s.len);
		tmp[comma] = '.';
		return money_parse(sv_make(tmp, s.len), out);
	}
	return money_parse(s, out);
}

static int amount_field(struct ratedeck *d, const struct field *f, int idx, uint32_t line,
			int64_t *out)
{
	int ret;

	if (f->escaped) {
		set_err(d, line, idx, "not a decimal amount");
		return -EBADMSG;
	}
	ret = parse_amount(d, f->v, out);
	if (ret == -ERANGE) {
		set_err(d, line, idx, "more than 6 decimals or too large for micro-units");
		return -EBADMSG;
	}
	if (ret < 0) {
		set_err(d, line, idx, "not a decimal amount");
		return -EBADMSG;
	}
	if (*out < 0) {
		set_err(d, line, idx, "negative amount");
		return -EBADMSG;
	}
	return 0;
}

static int check_prefixes(struct ratedeck *d, struct sv list, int idx, uint32_t line)
{
	struct sv p;
	unsigned n = 0;

	while (ratedeck_prefix_next(&list, &p)) {
		if (p.len == 0 || p.len > RATE_PREFIX_MAX) {
			set_err(d, line, idx,
				p.len ? "prefix longer than 19 digits" : "empty prefix");
			return -EBADMSG;
		}
		for (size_t i = 0; i < p.len; i++) {
			if (p.p[i] < '0' || p.p[i] > '9') {
				set_err(d, line, idx,
					"prefix holds a character that is not a digit");
				return -EBADMSG;
			}
		}
		n++;
	}
	if (!n) {
		set_err(d, line, idx, "no prefix");
		return -EBADMSG;
	}
	return 0;
}

/* Convert the fields of one record into *row. */
static int convert(struct ratedeck *d, const struct field *f, unsigned nf, uint32_t line,
		   struct ratedeck_row *row)
{
	const struct field *x;
	int64_t v;
	uint32_t a, b;

	memset(row, 0, sizeof(*row));
	row->line = line;
	row->until = RATE_TIME_MAX;
	row->rate.first_s = d->opts.first_s;
	row->rate.incr_s = d->opts.incr_s;

	x = field_of(d, f, nf, RATEDECK_PREFIX);
	row->pcol = (uint16_t)(d->col[RATEDECK_PREFIX] + 1);
	if (x->escaped || check_prefixes(d, x->v, d->col[RATEDECK_PREFIX], line) < 0) {
		if (x->escaped)
			set_err(d, line, d->col[RATEDECK_PREFIX],
				"prefix holds a character that is not a digit");
		return -EBADMSG;
	}
	row->prefixes = x->v;

	x = field_of(d, f, nf, RATEDECK_DEST);
	if (x) {
		row->dest = x->v;
		row->dest_escaped = x->escaped;
	}

	x = field_of(d, f, nf, RATEDECK_STATUS);
	if (x && (sv_caseeq_lit(x->v, "deleted") || sv_caseeq_lit(x->v, "closed") ||
		  sv_caseeq_lit(x->v, "removed") || sv_caseeq_lit(x->v, "delete")))
		row->closed = true;

	x = field_of(d, f, nf, RATEDECK_RATE);
	if (x->v.len == 0 && !row->closed) {
		set_err(d, line, d->col[RATEDECK_RATE], "empty rate");
		return -EBADMSG;
	}
	if (x->v.len && amount_field(d, x, d->col[RATEDECK_RATE], line, &row->rate.rate) < 0)
		return -EBADMSG;
	row->rate.first_rate = row->rate.rate;

	x = field_of(d, f, nf, RATEDECK_FIRST_RATE);
	if (x && x->v.len) {
		if (amount_field(d, x, d->col[RATEDECK_FIRST_RATE], line, &v) < 0)
			return -EBADMSG;
		row->rate.first_rate = v;
	}

	x = field_of(d, f, nf, RATEDECK_CONNECT_FEE);
	if (x && x->v.len &&
	    amount_field(d, x, d->col[RATEDECK_CONNECT_FEE], line, &row->rate.connect_fee) < 0)
		return -EBADMSG;

	x = field_of(d, f, nf, RATEDECK_INCREMENT);
	if (x && x->v.len) {
		int idx = d->col[RATEDECK_INCREMENT];

		if (sv_find(x->v, '/') >= 0) {
			if (ratedeck_parse_increment(x->v, &a, &b) < 0) {
				set_err(d, line, idx,
					"not an increment like 60/60 (seconds/seconds)");
				return -EBADMSG;
			}
			row->rate.first_s = a;
			row->rate.incr_s = b;
		} else {
			if (parse_secs(x->v, &b) < 0 || b == 0) {
				set_err(d, line, idx, "not an increment in seconds (1..86400)");
				return -EBADMSG;
			}
			/* One number: the increment; also the first period when no column says it. */
			row->rate.incr_s = b;
			if (d->col[RATEDECK_FIRST_S] < 0)
				row->rate.first_s = b;
		}
	}
	x = field_of(d, f, nf, RATEDECK_FIRST_S);
	if (x && x->v.len) {
		if (parse_secs(x->v, &a) < 0) {
			set_err(d, line, d->col[RATEDECK_FIRST_S],
				"not a first period in seconds (0..86400)");
			return -EBADMSG;
		}
		row->rate.first_s = a;
	}
	x = field_of(d, f, nf, RATEDECK_INCR_S);
	if (x && x->v.len) {
		if (parse_secs(x->v, &b) < 0 || b == 0) {
			set_err(d, line, d->col[RATEDECK_INCR_S],
				"not an increment in seconds (1..86400)");
			return -EBADMSG;
		}
		row->rate.incr_s = b;
	}

	row->from = d->opts.effective;
	x = field_of(d, f, nf, RATEDECK_EFFECTIVE);
	if (x && x->v.len && ratedeck_parse_date(x->v, d->layout->date_order, &row->from) < 0) {
		set_err(d, line, d->col[RATEDECK_EFFECTIVE], "not a date (e.g. 2024-03-01)");
		return -EBADMSG;
	}
	x = field_of(d, f, nf, RATEDECK_END);
	if (x && x->v.len) {
		if (ratedeck_parse_date(x->v, d->layout->date_order, &row->until) < 0) {
			set_err(d, line, d->col[RATEDECK_END], "not a date (e.g. 2024-03-01)");
			return -EBADMSG;
		}
		if (row->until <= row->from) {
			set_err(d, line, d->col[RATEDECK_END],
				"end date not after the effective date");
			return -EBADMSG;
		}
	}
	return 0;
}

int ratedeck_next(struct ratedeck *d, struct ratedeck_row *row)
{
	struct field f[RATEDECK_MAX_COLS];

	while (d->p < d->end) {
		const char *why = NULL;
		uint32_t line = d->line, lines;
		unsigned nf;

		if (*d->p == '#') {
			while (d->p < d->end && *d->p++ != '\n')
				;
			d->line++;
			continue;
		}
		if (split(&d->p, d->end, d->delim, f, RATEDECK_MAX_COLS, &nf, &lines, &why) < 0) {
			d->line += lines;
			set_err(d, line, -1, why);
			return -EBADMSG;
		}
		d->line += lines;
		if (blank(f, nf))
			continue;
		return convert(d, f, nf, line, row) < 0 ? -EBADMSG : 1;
	}
	return 0;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const uint8_t dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dim[m - 1];
}

/* Read 1..max digits at *p; returns the count (0: none). */
static unsigned digits(const char **p, const char *end, unsigned max, unsigned *v)
{
	unsigned n = 0;

	*v = 0;
	while (*p < end && n < max && **p >= '0' && **p <= '9') {
		*v = *v * 10 + (unsigned)(**p - '0');
		(*p)++;
		n++;
	}
	return n;
}

static int month_name(const char **p, const char *end, unsigned *m)
{
	static const char *const names[12] = { "january",   "february", "march",    "april",
					       "may",	    "june",	"july",	    "august",
					       "september", "october",	"november", "december" };
	const char *q = *p;
	size_t n;

	while (q < end && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))
		q++;
	n = (size_t)(q - *p);
	for (unsigned i = 0; i < 12 && n >= 3; i++) {
		size_t full = strlen(names[i]);

		if ((n == 3 || n == full) && n <= full &&
		    sv_caseeq(sv_make(*p, n), sv_make(names[i], n))) {
			*m = i + 1;
			*p = q;
			return 0;
		}
	}
	return -EINVAL;
}

int ratedeck_parse_date(struct sv s, enum ratedeck_date_order order, int64_t *out)
{
	const char *p, *end;
	unsigned a, b, c, na, nb, nc, y, m, d, hh = 0, mi = 0, ss = 0;
	char sep;

	s = sv_trim(s);
	if (s.len == 0)
		return -EINVAL;
	p = s.p;
	end = s.p + s.len;
	na = digits(&p, end, 8, &a);
	if (na == 8) {
		y = a / 10000;
		m = a / 100 % 100;
		d = a % 100;
	} else if (na == 4 && p < end && (*p == '-' || *p == '/' || *p == '.')) {
		sep = *p++;
		y = a;
		if (!digits(&p, end, 2, &m) || p >= end || *p++ != sep || !digits(&p, end, 2, &d))
			return -EINVAL;
	} else if ((na == 1 || na == 2) && p < end) {
		sep = *p++;
		d = a;
		if ((sep == '-' || sep == ' ') && p < end &&
		    ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
			if (month_name(&p, end, &m) < 0 || p >= end || *p++ != sep)
				return -EINVAL;
			nc = digits(&p, end, 4, &c);
			if (nc == 2)
				y = 2000 + c;
			else if (nc == 4)
				y = c;
			else
				return -EINVAL;
		} else if (sep == '.' || sep == '/' || sep == '-') {
			nb = digits(&p, end, 2, &b);
			if (!nb || p >= end || *p++ != sep || digits(&p, end, 4, &c) != 4)
				return -EINVAL;
			y = c;
			if (sep == '.' || a > 12 || (b <= 12 && order == RATEDECK_DMY)) {
				d = a;
				m = b;
			} else {
				m = a;
				d = b;
			}
		} else {
			return -EINVAL;
		}
	} else {
		return -EINVAL;
	}
	if (p < end && (*p == ' ' || *p == 'T')) {
		while (p < end && (*p == ' ' || *p == 'T'))
			p++;
		if (digits(&p, end, 2, &hh) == 0 || p >= end || *p++ != ':' ||
		    digits(&p, end, 2, &mi) != 2)
			return -EINVAL;
		if (p < end && *p == ':') {
			p++;
			if (digits(&p, end, 2, &ss) != 2)
				return -EINVAL;
		}
		if (p < end && *p == 'Z')
			p++;
	}
	if (p != end || y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1 ||
	    d > days_in_month(y, m) || hh > 23 || mi > 59 || ss > 59)
		return -EINVAL;
	*out = days_from_civil(y, m, d) * 86400 + hh * 3600 + mi * 60 + ss;
	return 0;
}

int ratedeck_format_date(int64_t t, char *buf, size_t cap)
{
	int64_t z, era, days, sec;
	unsigned doe, yoe, doy, mp, d, m;
	int64_t y;

	if (t == RATE_TIME_MIN || t == RATE_TIME_MAX)
		return snprintf(buf, cap, "%s", "");
	days = t / 86400;
	sec = t % 86400;
	if (sec < 0) {
		sec += 86400;
		days--;
	}
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	if (sec)
		return snprintf(buf, cap, "%04lld-%02u-%02u %02u:%02u:%02u", (long long)y, m, d,
				(unsigned)(sec / 3600), (unsigned)(sec / 60 % 60),
				(unsigned)(sec % 60));
	return snprintf(buf, cap, "%04lld-%02u-%02u", (long long)y, m, d);
}

int ratedeck_strerror(const struct ratedeck *d, const char *file, char *buf, size_t cap)
{
	const struct ratedeck_err *e = &d->err;
	const char *reason = e->reason ? e->reason : "malformed";

	if (e->col)
		return snprintf(buf, cap, "%s:%u:%u (%.*s): %s", file, e->line, e->col,
				(int)e->name.len, e->name.p ? e->name.p : "", reason);
	return snprintf(buf, cap, "%s:%u: %s", file, e->line, reason);
}
