/* SPDX-License-Identifier: MIT */
/*
 * sip_hdr.c: typed parsers of header values (see sip_hdr.h).
 *
 * Each parser walks its value once, left to right, with every read checked
 * against `end`. Octets are classified by one 256-entry table (`cc`), so a scan
 * is a tight loop of table lookups, and a separator costs one lookup when no
 * white space surrounds it (the common case). The runs that are often long
 * (URIs, quoted strings, parameter values, hosts, Call-IDs) are scanned 16
 * octets at a time with SSE2, the table loop being the scalar twin that does
 * the tail and every other machine. White space is read as LWS
 * wherever the grammar has LWS or SWS: SP, HTAB, and the CR LF of a folded line
 * (sip_msg.c keeps folds inside values, and there a CR or LF can only belong to
 * one).
 *
 * Inside this file a scanner returns the position after what it read, or NULL
 * after filling a `struct fault`; the public functions turn that into a sip_err
 * whose offset is relative to the view they were given (for an iterator, *rest
 * as it was at the call).
 */
#include "sip_hdr.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "sip_msg.h"
#include "sip_uri.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- octet classes ---- */

enum {
	C_TOKEN = 1 << 0,  /* token (RFC 3261 §25.1) */
	C_WS = 1 << 1,	   /* SP, HTAB, and CR, LF of a fold */
	C_DIGIT = 1 << 2,  /* DIGIT */
	C_PVAL = 1 << 3,   /* gen-value outside quotes: token / host (adds ":" "[" "]") */
	C_QDTEXT = 1 << 4, /* taken as is inside a quoted string */
	C_URI = 1 << 5,	   /* a URI inside < >: visible octets but < > DQUOTE, and non-ASCII */
	C_ASPEC = 1 << 6,  /* a URI in addr-spec form: C_URI but ";" and "," (§20.10) */
	C_WORD = 1 << 7,   /* Call-ID word */
	C_LIST = 1 << 8,   /* what sip_list_next() stops at: "," DQUOTE "<" */
};

#define IS_ALNUM(c) \
	(((c) >= '0' && (c) <= '9') || ((c) >= 'A' && (c) <= 'Z') || ((c) >= 'a' && (c) <= 'z'))
#define IS_TOKEN(c)                                                                           \
	(IS_ALNUM(c) || (c) == '-' || (c) == '.' || (c) == '!' || (c) == '%' || (c) == '*' || \
	 (c) == '_' || (c) == '+' || (c) == '`' || (c) == '\'' || (c) == '~')
#define IS_WS(c)    ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_PVAL(c)  (IS_TOKEN(c) || (c) == ':' || (c) == '[' || (c) == ']')
/* qdtext = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII */
#define IS_QDTEXT(c)                                                                 \
	(((c) >= 0x20 && (c) != '"' && (c) != '\\' && (c) != 0x7f) || (c) == '\t' || \
	 (c) == '\r' || (c) == '\n')
#define IS_URI(c)   ((c) > 0x20 && (c) != 0x7f && (c) != '<' && (c) != '>' && (c) != '"')
#define IS_ASPEC(c) (IS_URI(c) && (c) != ';' && (c) != ',')
#define IS_WORD(c)                                                                            \
	(IS_TOKEN(c) || (c) == '(' || (c) == ')' || (c) == '<' || (c) == '>' || (c) == ':' || \
	 (c) == '\\' || (c) == '"' || (c) == '/' || (c) == '[' || (c) == ']' || (c) == '?' || \
	 (c) == '{' || (c) == '}')
#define IS_LIST(c) ((c) == ',' || (c) == '"' || (c) == '<')

#define CC(c)                                                                                  \
	((IS_TOKEN(c) ? C_TOKEN : 0) | (IS_WS(c) ? C_WS : 0) | (IS_DIGIT(c) ? C_DIGIT : 0) |   \
	 (IS_PVAL(c) ? C_PVAL : 0) | (IS_QDTEXT(c) ? C_QDTEXT : 0) | (IS_URI(c) ? C_URI : 0) | \
	 (IS_ASPEC(c) ? C_ASPEC : 0) | (IS_WORD(c) ? C_WORD : 0) | (IS_LIST(c) ? C_LIST : 0))
#define CC4(c)	CC(c), CC((c) + 1), CC((c) + 2), CC((c) + 3)
#define CC16(c) CC4(c), CC4((c) + 4), CC4((c) + 8), CC4((c) + 12)
#define CC64(c) CC16(c), CC16((c) + 16), CC16((c) + 32), CC16((c) + 48)

static const uint16_t cc[256] = { CC64(0), CC64(64), CC64(128), CC64(192) };

static inline bool is(char c, unsigned cls)
{
	return cc[(unsigned char)c] & cls;
}

/* The longest prefix of [p, end) in class cls. Unrolled: one bound check per
 * four octets. */
static inline const char *span(const char *p, const char *end, unsigned cls)
{
	while (end - p >= 4) {
		if (!(cc[(unsigned char)p[0]] & cls))
			return p;
		if (!(cc[(unsigned char)p[1]] & cls))
			return p + 1;
		if (!(cc[(unsigned char)p[2]] & cls))
			return p + 2;
		if (!(cc[(unsigned char)p[3]] & cls))
			return p + 3;
		p += 4;
	}
	while (p < end && (cc[(unsigned char)*p] & cls))
		p++;
	return p;
}

#if defined(__SSE2__)
/* Octets of v in [lo, hi] (unsigned), as 0xff lanes: shift lo to -128 and
 * compare signed. */
static inline __m128i in_range(__m128i v, int lo, int hi)
{
	__m128i x = _mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - lo)));
	return _mm_cmplt_epi8(x, _mm_set1_epi8((char)(0x80 + hi - lo + 1)));
}

static inline __m128i in_set(__m128i v, char c)
{
	return _mm_cmpeq_epi8(v, _mm_set1_epi8(c));
}

/*
 * A bit per octet of v that may end a run of class cls (cls is a constant once
 * inlined). For C_QDTEXT the mask is wider than the class (HTAB and folds stop
 * it too); span_fast() checks each stop against the table.
 */
static inline unsigned stop_mask(__m128i v, unsigned cls)
{
	__m128i m;

	if (cls == C_TOKEN || cls == C_PVAL) {
		/* ! % ' *+ -. 0-9 A-Z _`a-z ~, and : [ ] for C_PVAL */
		m = _mm_or_si128(in_range(v, '*', '+'), in_range(v, '-', '.'));
		m = _mm_or_si128(m, in_range(v, '0', cls == C_PVAL ? ':' : '9'));
		m = _mm_or_si128(m, in_range(v, 'A', cls == C_PVAL ? '[' : 'Z'));
		m = _mm_or_si128(m, in_range(v, '_', 'z'));
		m = _mm_or_si128(m, _mm_or_si128(in_set(v, '!'), in_set(v, '%')));
		m = _mm_or_si128(m, _mm_or_si128(in_set(v, '\''), in_set(v, '~')));
		if (cls == C_PVAL)
			m = _mm_or_si128(m, in_set(v, ']'));
		return (unsigned)_mm_movemask_epi8(m) ^ 0xffffu;
	}
	/* signed v < 0x21: controls, SP, and (for C_WORD) non-ASCII */
	m = _mm_cmplt_epi8(v, _mm_set1_epi8(0x21));
	if (cls != C_WORD)
		m = _mm_andnot_si128(_mm_cmplt_epi8(v, _mm_setzero_si128()), m);
	m = _mm_or_si128(m, in_set(v, 0x7f));
	if (cls == C_WORD) {
		/* # $ & , ; = @ ^ | */
		m = _mm_or_si128(m, _mm_or_si128(in_range(v, '#', '$'), in_set(v, '&')));
		m = _mm_or_si128(m, _mm_or_si128(in_set(v, ','), in_set(v, ';')));
		m = _mm_or_si128(m, _mm_or_si128(in_set(v, '='), in_set(v, '@')));
		m = _mm_or_si128(m, _mm_or_si128(in_set(v, '^'), in_set(v, '|')));
	} else if (cls == C_QDTEXT) {
		m = _mm_or_si128(m, _mm_or_si128(in_set(v, '"'), in_set(v, '\\')));
	} else { /* C_URI, C_ASPEC */
		m = _mm_or_si128(m, _mm_or_si128(in_set(v, '<'), in_set(v, '>')));
		m = _mm_or_si128(m, in_set(v, '"'));
		if (cls == C_ASPEC)
			m = _mm_or_si128(m, _mm_or_si128(in_set(v, ';'), in_set(v, ',')));
	}
	return (unsigned)_mm_movemask_epi8(m);
}
#endif

/*
 * span() with whole 16-octet blocks inside [p, end) tested by SSE2; span() is
 * the scalar twin and does the tail, so nothing past end is loaded. A block
 * octet the vector test stops at but the class accepts (HTAB or a fold inside
 * a quoted string) is stepped over and the blocks go on. For the runs that are
 * often long: URIs, quoted strings, parameter values, hosts, Call-IDs.
 */
static inline const char *span_fast(const char *p, const char *end, unsigned cls)
{
#if defined(__SSE2__)
	while (end - p >= 16) {
		unsigned m = stop_mask(_mm_loadu_si128((const __m128i *)(const void *)p), cls);
		if (!m) {
			p += 16;
			continue;
		}
		p += __builtin_ctz(m);
		if (!(cc[(unsigned char)*p] & cls))
			return p;
		p++;
	}
#endif
	return span(p, end, cls);
}

/* SWS: skip white space, folds included. */
static inline const char *sws(const char *p, const char *end)
{
	return span(p, end, C_WS);
}

/* End of a view; an empty view may have a NULL p, and NULL + 0 is not C. */
static inline const char *end_of(struct sv s)
{
	return s.len ? s.p + s.len : s.p;
}

/*
 * n octets of a token against a lower-case literal of letters, digits and
 * "-" "." "+": among token octets, c | 0x20 equals such a literal octet exactly
 * when c is that octet in either case (the other octets it could come from are
 * controls, never in a token).
 */
static inline bool tok_eq(const char *p, const char *lit, size_t n)
{
	uint32_t x, y, l, m;
	uint64_t xx, yy, ll, mm;

	/* 4 to 16 octets: two overlapping loads, no loop (the literal's side folds
	 * to constants once inlined). Literal octets all have 0x20 set already. */
	if (n >= 4 && n <= 8) {
		memcpy(&x, p, 4);
		memcpy(&y, p + n - 4, 4);
		memcpy(&l, lit, 4);
		memcpy(&m, lit + n - 4, 4);
		return ((x | 0x20202020u) == l) & ((y | 0x20202020u) == m);
	}
	if (n > 8 && n <= 16) {
		memcpy(&xx, p, 8);
		memcpy(&yy, p + n - 8, 8);
		memcpy(&ll, lit, 8);
		memcpy(&mm, lit + n - 8, 8);
		return ((xx | 0x2020202020202020u) == ll) & ((yy | 0x2020202020202020u) == mm);
	}
	for (size_t i = 0; i < n; i++)
		if ((char)(p[i] | 0x20) != lit[i])
			return false;
	return true;
}

#define TOK_IS(s, lit) ((s).len == sizeof(lit) - 1 && tok_eq((s).p, lit, sizeof(lit) - 1))

/* ---- errors ---- */

struct fault {
	const char *at;
	const char *why;
	int code;
};

static const char *bad(struct fault *f, const char *at, int code, const char *why)
{
	f->at = at;
	f->why = why;
	f->code = code;
	return NULL;
}

/* bad() for the helpers that answer true / false. */
static bool no(struct fault *f, const char *at, int code, const char *why)
{
	bad(f, at, code, why);
	return false;
}

static int report(struct sip_err *err, const struct fault *f, const char *base)
{
	if (err) {
		err->code = f->code;
		err->off = (uint32_t)(f->at - base);
		err->reason = f->why;
	}
	return f->code;
}

static int fail(struct sip_err *err, const char *base, const char *at, int code, const char *why)
{
	struct fault f = { at, why, code };
	return report(err, &f, base);
}

/* ---- numbers ---- */

enum { NUM_OK, NUM_BAD, NUM_BIG };

/*
 * 1*DIGIT of v. NUM_OK with the value; NUM_BIG when over max (*out = max, and
 * every octet is still checked to be a digit); NUM_BAD when empty or not digits.
 */
static inline int num(struct sv v, uint64_t max, uint64_t *out)
{
	const uint64_t lim = max / 10, last = max % 10; /* constants once inlined */
	uint64_t n = 0;
	bool big = false;

	if (v.len == 0)
		return NUM_BAD;
	for (size_t i = 0; i < v.len; i++) {
		unsigned d = (unsigned char)v.p[i] - '0';
		if (d > 9)
			return NUM_BAD;
		if (big || n > lim || (n == lim && d > last))
			big = true;
		else
			n = n * 10 + d;
	}
	*out = big ? max : n;
	return big ? NUM_BIG : NUM_OK;
}

/* ---- the pieces every header is made of ---- */

/*
 * quoted-string = DQUOTE *(qdtext / quoted-pair) DQUOTE, p at the first DQUOTE.
 * quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F): any octet but CR and LF may
 * be escaped, NUL, BEL and DEL included (RFC 4475 intmeth). Returns the octet
 * after the closing DQUOTE.
 */
static const char *quoted(const char *p, const char *end, struct fault *f)
{
	const char *open = p++;

	for (;;) {
		p = span_fast(p, end, C_QDTEXT);
		if (p == end)
			return bad(f, open, -EBADMSG, "unterminated quoted string");
		if (*p == '"')
			return p + 1;
		if (*p != '\\')
			return bad(f, p, -EBADMSG, "control character in a quoted string");
		if (p + 1 == end)
			return bad(f, open, -EBADMSG, "unterminated quoted string");
		if (p[1] == '\r' || p[1] == '\n')
			return bad(f, p, -EBADMSG, "quoted-pair escapes a line end");
		p += 2;
	}
}

/* What a parameter's value was. */
enum { PV_NONE, PV_TOKEN, PV_HOST, PV_QUOTED };

/*
 * generic-param = token [ EQUAL gen-value ], p just after its ';' and SWS.
 * *val is the value without quotes, or an empty view just after the name when
 * there is none; *kind says which (PV_HOST: a token but for ":" "[" "]").
 * Returns the position after the parameter (white space after it not read).
 */
static const char *param(const char *p, const char *end, struct sv *name, struct sv *val, int *kind,
			 struct fault *f)
{
	const char *s = p, *q;

	p = span(p, end, C_TOKEN);
	if (p == s)
		return bad(f, p, -EBADMSG,
			   (p == end || *p == ';' || *p == ',') ? "empty parameter"
								: "parameter name is not a token");
	*name = sv_range(s, p);
	q = p;
	if (q < end && *q != '=')
		q = sws(q, end);
	if (q == end || *q != '=') {
		*val = sv_make(p, 0);
		*kind = PV_NONE;
		return p;
	}
	q = sws(q + 1, end);
	if (q < end && *q == '"') {
		s = q;
		q = quoted(q, end, f);
		if (!q)
			return NULL;
		*val = sv_range(s + 1, q - 1);
		*kind = PV_QUOTED;
		return q;
	}
	s = q;
	q = span_fast(q, end, C_TOKEN);
	*kind = PV_TOKEN;
	if (q < end && is(*q, C_PVAL)) {
		q = span_fast(q, end, C_PVAL);
		*kind = PV_HOST;
	}
	if (q == s)
		return bad(f, q, -EBADMSG, "parameter has '=' but no value");
	*val = sv_range(s, q);
	return q;
}

/*
 * At *pp: SWS, then ";" SWS generic-param. Returns 1 with *pp after the
 * parameter; 0 at the end of the value or, when `list` is set, at a ',' (*pp
 * left there); -1 with f set for anything else (reason `what`).
 */
static inline int param_at(const char **pp, const char *end, bool list, struct sv *name,
			   struct sv *val, int *kind, struct fault *f, const char *what)
{
	const char *p = *pp;

	if (p < end && *p != ';')
		p = sws(p, end);
	if (p == end || (list && *p == ',')) {
		*pp = p;
		return 0;
	}
	if (*p != ';') {
		bad(f, p, -EBADMSG, what);
		return -1;
	}
	p = sws(p + 1, end);
	p = param(p, end, name, val, kind, f);
	if (!p)
		return -1;
	*pp = p;
	return 1;
}

/*
 * After a list element, at p: SWS, then the end of the value, or COMMA and the
 * next element, which must not be empty (RFC 4475 badinv01: ";;,;,,"). Sets
 * *rest to what follows the comma. Returns 0, or -1 with f set.
 */
static int list_sep(struct sv *rest, const char *p, const char *end, struct fault *f)
{
	if (p < end && *p != ',')
		p = sws(p, end);
	if (p == end) {
		*rest = sv_make(end, 0);
		return 0;
	}
	if (*p != ',') {
		bad(f, p, -EBADMSG, "expected ',' or the end of the value");
		return -1;
	}
	p = sws(p + 1, end);
	if (p == end || *p == ',') {
		bad(f, p, -EBADMSG, "empty list element");
		return -1;
	}
	*rest = sv_range(p, end);
	return 0;
}

/* ---- lists and parameters ---- */

int sip_list_next(struct sv *rest, struct sv *item, struct sip_err *err)
{
	const char *base = rest->p, *end = end_of(*rest), *p, *s, *e;
	struct fault f;

	p = sws(base, end);
	if (p == end) {
		*rest = sv_make(end, 0);
		return 0;
	}
	if (*p == ',')
		return fail(err, base, p, -EBADMSG, "empty list element");
	s = p;
	for (;;) {
		while (p < end && !is(*p, C_LIST))
			p++;
		if (p == end || *p == ',')
			break;
		if (*p == '"') {
			p = quoted(p, end, &f);
			if (!p)
				return report(err, &f, base);
		} else {
			const char *gt = memchr(p, '>', (size_t)(end - p));
			if (!gt)
				return fail(err, base, p, -EBADMSG, "unterminated '<'");
			p = gt + 1;
		}
	}
	e = p;
	while (is(e[-1], C_WS))
		e--;
	if (list_sep(rest, p, end, &f) < 0)
		return report(err, &f, base);
	*item = sv_range(s, e);
	return 1;
}

int sip_param_next(struct sv *rest, struct sv *name, struct sv *value, struct sip_err *err)
{
	const char *base = rest->p, *end = end_of(*rest), *p;
	struct fault f;
	int kind;

	p = sws(base, end);
	if (p == end) {
		*rest = sv_make(end, 0);
		return 0;
	}
	if (*p == ';')
		p = sws(p + 1, end);
	p = param(p, end, name, value, &kind, &f);
	if (!p)
		return report(err, &f, base);
	p = sws(p, end);
	if (p < end && *p != ';')
		return fail(err, base, p, -EBADMSG, "parameter not followed by ';'");
	*rest = sv_range(p, end);
	return 1;
}

bool sip_param_get(struct sv params, const char *name, struct sv *value)
{
	struct sv want = sv_cstr(name), k, v;

	while (sip_param_next(&params, &k, &v, NULL) > 0) {
		if (sv_caseeq(k, want)) {
			*value = v;
			return true;
		}
	}
	return false;
}

int sip_unquote(struct sv q, char *out, size_t cap)
{
	size_t n = 0, keep = 0; /* out[0..keep) holds an escaped octet last: fold may not trim it */

	if (cap > INT_MAX)
		cap = INT_MAX;
	for (size_t i = 0; i < q.len; i++) {
		char c = q.p[i];
		if (c == '\\' && i + 1 < q.len) {
			if (n == cap)
				return -ENOBUFS;
			out[n++] = q.p[++i];
			keep = n;
			continue;
		}
		if (c == '\r' || c == '\n') {
			/* A fold and the white space around it read as one SP (§7.3.1). */
			while (n > keep && (out[n - 1] == ' ' || out[n - 1] == '\t'))
				n--;
			while (i + 1 < q.len && IS_WS(q.p[i + 1]))
				i++;
			c = ' ';
		}
		if (n == cap)
			return -ENOBUFS;
		out[n++] = c;
	}
	return (int)n;
}

/* ---- Via ---- */

/* sent-protocol written with LWS or other than "SIP/2.0/": protocol-name SLASH
 * protocol-version SLASH, up to the transport. */
static const char *via_proto(const char *p, const char *end, struct sip_via *v, struct fault *f)
{
	const char *s = p;

	p = span(p, end, C_TOKEN);
	if (p == s)
		return bad(f, p, -EBADMSG, "sent-protocol does not start with a token");
	v->proto = sv_range(s, p);
	p = sws(p, end);
	if (p == end || *p != '/')
		return bad(f, p, -EBADMSG, "expected '/' after the protocol name");
	s = p = sws(p + 1, end);
	p = span(p, end, C_TOKEN);
	if (p == s)
		return bad(f, p, -EBADMSG, "no protocol version in sent-protocol");
	v->version = sv_range(s, p);
	p = sws(p, end);
	if (p == end || *p != '/')
		return bad(f, p, -EBADMSG, "expected '/' after the protocol version");
	return sws(p + 1, end);
}

/* sent-by = host [ COLON port ], where COLON = SWS ":" SWS. The usual
 * "host:port" goes to sip_hostport_parse() whole; a port set off by white space
 * is read here. */
static const char *via_sent_by(const char *p, const char *end, struct sip_via *v, struct fault *f)
{
	const char *s = p, *he, *q;
	struct sip_err e = { 0, 0, NULL };
	uint64_t port = 0;
	bool split = false;

	p = span_fast(p, end, C_PVAL);
	if (p == s)
		return bad(f, p, -EBADMSG, p == end ? "no sent-by" : "bad character in sent-by");
	he = p;
	if (p[-1] == ':' && p - 1 > s) { /* "host: 5060" */
		he = p - 1;
		q = sws(p, end);
		split = true;
	} else {
		q = sws(p, end);
		if (q > p && q < end && *q == ':') { /* "host : 5060" */
			q = sws(q + 1, end);
			split = true;
		}
	}
	if (split) {
		const char *d = q;
		q = span(q, end, C_DIGIT);
		if (q == d)
			return bad(f, q, -EBADMSG, "no port after ':' in sent-by");
		if (num(sv_range(d, q), 65535, &port) != NUM_OK || port == 0)
			return bad(f, d, -EBADMSG, "sent-by port is not 1-65535");
		p = q;
	}
	if (p < end && !is(*p, C_WS) && *p != ';' && *p != ',')
		return bad(f, p, -EBADMSG, "bad character in sent-by");
	if (sip_hostport_parse(sv_range(s, he), &v->host, &v->host_type, &v->port, &e) < 0)
		return bad(f, s + (e.off <= (size_t)(he - s) ? e.off : 0), -EBADMSG,
			   e.reason ? e.reason : "bad sent-by");
	if (split) {
		if (v->port)
			return bad(f, s, -EBADMSG, "two ports in sent-by");
		v->port = (uint16_t)port;
	}
	return p;
}

/* via-received = "received" EQUAL (IPv4address / IPv6address); RFC 5118 §4.5
 * lets the IPv6 address come with or without brackets. */
static bool via_received_ok(struct sv val, int kind)
{
	struct sv host;
	uint8_t type;
	uint16_t port;
	char buf[64];

	if (kind != PV_TOKEN && kind != PV_HOST)
		return false;
	if (val.p[0] != '[' && memchr(val.p, ':', val.len)) {
		/* sip_hostport_parse() reads IPv6 references: put the brackets on. */
		if (val.len > sizeof(buf) - 2)
			return false;
		buf[0] = '[';
		memcpy(buf + 1, val.p, val.len);
		buf[val.len + 1] = ']';
		return sip_hostport_parse(sv_make(buf, val.len + 2), &host, &type, &port, NULL) ==
			       0 &&
		       type == SIP_HOST_IPV6 && port == 0;
	}
	return sip_hostport_parse(val, &host, &type, &port, NULL) == 0 &&
	       (type == SIP_HOST_IPV4 || type == SIP_HOST_IPV6) && port == 0;
}

/* The well-known via-params; the others stay in v->params. */
static bool via_param(struct sip_via *v, struct sv name, struct sv val, int kind, struct fault *f)
{
	uint64_t n;
	int r;

	switch (name.len) {
	case 6:
		if (!TOK_IS(name, "branch"))
			break;
		if (v->branch.p)
			return no(f, name.p, -EBADMSG, "duplicate branch parameter");
		if (kind != PV_TOKEN)
			return no(f, val.p, -EBADMSG, "branch is not a token");
		v->branch = val;
		break;
	case 8:
		if (!TOK_IS(name, "received"))
			break;
		if (v->received.p)
			return no(f, name.p, -EBADMSG, "duplicate received parameter");
		if (!via_received_ok(val, kind))
			return no(f, val.p, -EBADMSG, "received is not an IP address");
		v->received = val;
		break;
	case 5:
		if (TOK_IS(name, "rport")) {
			if (v->has_rport)
				return no(f, name.p, -EBADMSG, "duplicate rport parameter");
			v->has_rport = true;
			if (kind == PV_NONE)
				break;
			r = kind == PV_TOKEN ? num(val, 65535, &n) : NUM_BAD;
			if (r != NUM_OK)
				return no(f, val.p, r == NUM_BIG ? -ERANGE : -EBADMSG,
					  r == NUM_BIG ? "rport over 65535"
						       : "rport is not a number");
			v->rport = (uint16_t)n;
		} else if (TOK_IS(name, "maddr")) {
			struct sv host;
			uint8_t type;
			uint16_t port;
			if (v->maddr.p)
				return no(f, name.p, -EBADMSG, "duplicate maddr parameter");
			if ((kind != PV_TOKEN && kind != PV_HOST) ||
			    sip_hostport_parse(val, &host, &type, &port, NULL) < 0 || port != 0)
				return no(f, val.p, -EBADMSG, "maddr is not a host");
			v->maddr = val;
		}
		break;
	case 3:
		if (!TOK_IS(name, "ttl"))
			break;
		if (v->ttl.p)
			return no(f, name.p, -EBADMSG, "duplicate ttl parameter");
		r = kind == PV_TOKEN ? num(val, 255, &n) : NUM_BAD;
		if (r == NUM_BAD || val.len > 3)
			return no(f, val.p, -EBADMSG, "ttl is not 1 to 3 digits");
		if (r == NUM_BIG)
			return no(f, val.p, -ERANGE, "ttl over 255");
		v->ttl = val;
		break;
	}
	return true;
}

int sip_via_next(struct sv *rest, struct sip_via *v, struct sip_err *err)
{
	const char *base = rest->p, *end = end_of(*rest), *p, *s;
	struct sv name, val;
	struct fault f;
	int r, kind;

	p = sws(base, end);
	if (p == end) {
		*rest = sv_make(end, 0);
		return 0;
	}
	if (*p == ',')
		return fail(err, base, p, -EBADMSG, "empty list element");
	memset(v, 0, sizeof(*v));
	if (end - p > 8 && memcmp(p, "SIP/2.0/", 8) == 0) {
		v->proto = sv_make(p, 3);
		v->version = sv_make(p + 4, 3);
		p += 8;
	} else if (!(p = via_proto(p, end, v, &f))) {
		return report(err, &f, base);
	}
	s = p;
	p = span(p, end, C_TOKEN);
	if (p == s)
		return fail(err, base, p, -EBADMSG, "no transport in sent-protocol");
	v->transport = sv_range(s, p);
	if (p == end)
		return fail(err, base, p, -EBADMSG, "no sent-by");
	if (!is(*p, C_WS))
		return fail(err, base, p, -EBADMSG, "no white space between transport and sent-by");
	p = via_sent_by(sws(p, end), end, v, &f);
	if (!p)
		return report(err, &f, base);
	v->params = sv_make(p, 0);
	s = NULL;
	while ((r = param_at(&p, end, true, &name, &val, &kind, &f,
			     "expected ';' or ',' after sent-by")) > 0) {
		if (!s)
			s = name.p;
		v->params = sv_range(s, p);
		if (!via_param(v, name, val, kind, &f))
			return report(err, &f, base);
	}
	if (r < 0 || list_sep(rest, p, end, &f) < 0)
		return report(err, &f, base);
	return 1;
}

/* ---- addresses ---- */

/*
 * The address of name-addr / addr-spec at p (SWS skipped): display name and URI,
 * or a Contact "*". Returns the position after '>' or after the addr-spec URI.
 */
static const char *addr_head(const char *p, const char *end, struct sip_addr *a, struct fault *f)
{
	const char *s = p, *q;

	if (p == end)
		return bad(f, p, -EBADMSG, "no address");
	if (*p == '"') {
		q = quoted(p, end, f);
		if (!q)
			return NULL;
		a->display = sv_range(p + 1, q - 1);
		a->quoted = true;
		p = sws(q, end);
		if (p == end || *p != '<')
			return bad(f, p, -EBADMSG, "quoted display name not followed by '<'");
	} else if (*p != '<') {
		p = span(p, end, C_TOKEN);
		if (p == s)
			return bad(f, p, -EBADMSG, "expected a display name, '<' or a URI");
		if (p < end && *p == ':') {
			/* addr-spec: the URI ends at ';', ',' or white space (§20.10). */
			q = span_fast(p, end, C_ASPEC);
			if (q < end && !is(*q, C_WS) && *q != ';' && *q != ',')
				return bad(f, q, -EBADMSG, "bad character in the URI");
			a->uri = sv_range(s, q);
			return q;
		}
		if (p - s == 1 && *s == '*') {
			q = sws(p, end);
			if (q == end || *q == ',' || *q == ';') {
				a->star = true;
				return p;
			}
		}
		/* display-name = *(token LWS), then LAQUOT; RFC 4475 lwsdisp has no
		 * LWS before '<', which is read as if it had. */
		for (;;) {
			const char *te = p;
			q = sws(p, end);
			if (q < end && *q == '<') {
				a->display = sv_range(s, te);
				p = q;
				break;
			}
			if (q == end)
				return bad(f, q, -EBADMSG, "display name not followed by '<'");
			if (q == p || !is(*q, C_TOKEN))
				return bad(f, q, -EBADMSG,
					   "unquoted display name holds a non-token character");
			p = span(q, end, C_TOKEN);
		}
	}
	/* p at '<'. White space inside the brackets is skipped (RFC 4475 badaspec)
	 * but not inside the URI. */
	s = p;
	p = sws(p + 1, end);
	q = p;
	p = span_fast(p, end, C_URI);
	a->uri = sv_range(q, p);
	if (p < end && *p != '>')
		p = sws(p, end);
	if (p == end)
		return bad(f, s, -EBADMSG, "unterminated '<'");
	if (*p != '>')
		return bad(f, p, -EBADMSG, "bad character in the URI");
	if (a->uri.len == 0)
		return bad(f, p, -EBADMSG, "empty URI in < >");
	a->bracketed = true;
	return p + 1;
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths. */
static bool qvalue(struct sv val, int kind, uint16_t *out, struct fault *f)
{
	unsigned q, scale = 100;

	if (kind != PV_TOKEN || !IS_DIGIT(val.p[0]))
		return no(f, val.p, -EBADMSG, "q is not a qvalue");
	if (val.len > 1 && IS_DIGIT(val.p[1]))
		return no(f, val.p, -ERANGE, "q above 1");
	if (val.len > 1 && (val.p[1] != '.' || val.len > 5))
		return no(f, val.p, -EBADMSG, "q is not a qvalue");
	q = (unsigned)(val.p[0] - '0') * 1000;
	for (size_t i = 2; i < val.len; i++, scale /= 10) {
		if (!IS_DIGIT(val.p[i]))
			return no(f, val.p + i, -EBADMSG, "q is not a qvalue");
		q += (unsigned)(val.p[i] - '0') * scale;
	}
	if (q > 1000)
		return no(f, val.p, -ERANGE, "q above 1");
	*out = (uint16_t)q;
	return true;
}

static bool contact_param(struct sip_contact *c, struct sv name, struct sv val, int kind,
			  struct fault *f)
{
	uint64_t n;
	int r;

	switch (name.len) {
	case 1:
		if ((name.p[0] | 0x20) != 'q')
			break;
		if (c->has_q)
			return no(f, name.p, -EBADMSG, "duplicate q parameter");
		if (!qvalue(val, kind, &c->q, f))
			return false;
		c->has_q = true;
		break;
	case 7:
		if (!TOK_IS(name, "expires"))
			break;
		if (c->has_expires)
			return no(f, name.p, -EBADMSG, "duplicate expires parameter");
		/* delta-seconds over 2**32-1 read as 2**32-1 rather than fail the
		 * whole Contact (RFC 4475 scalar02's expires=280297596632815). */
		if (kind != PV_TOKEN || num(val, UINT32_MAX, &n) == NUM_BAD)
			return no(f, val.p, -EBADMSG, "expires is not delta-seconds");
		c->expires = (uint32_t)n;
		c->has_expires = true;
		break;
	case 6:
		if (!TOK_IS(name, "reg-id"))
			break;
		if (c->has_reg_id)
			return no(f, name.p, -EBADMSG, "duplicate reg-id parameter");
		/* reg-id = 1*DIGIT ; 1 to (2^31 - 1) (RFC 5626 §10) */
		r = kind == PV_TOKEN ? num(val, INT32_MAX, &n) : NUM_BAD;
		if (r == NUM_BAD)
			return no(f, val.p, -EBADMSG, "reg-id is not a number");
		if (r == NUM_BIG || n == 0)
			return no(f, val.p, -ERANGE, "reg-id not in 1 to 2**31-1");
		c->reg_id = (uint32_t)n;
		c->has_reg_id = true;
		break;
	case 13:
		if (!TOK_IS(name, "+sip.instance"))
			break;
		if (c->instance.p)
			return no(f, name.p, -EBADMSG, "duplicate +sip.instance parameter");
		c->instance = val;
		break;
	}
	return true;
}

/* Header parameters after an address: tag picked out, and Contact's when c is
 * set. Stops at the end of the value or at a ','. */
static const char *addr_params(const char *p, const char *end, struct sip_addr *a,
			       struct sip_contact *c, struct fault *f)
{
	struct sv name, val;
	const char *s = NULL;
	int r, kind;

	a->params = sv_make(p, 0);
	while ((r = param_at(&p, end, true, &name, &val, &kind, f,
			     "expected ';' or ',' after the address")) > 0) {
		if (!s)
			s = name.p;
		a->params = sv_range(s, p);
		if (TOK_IS(name, "tag")) {
			if (a->tag.p)
				return bad(f, name.p, -EBADMSG, "duplicate tag parameter");
			if (val.len == 0)
				return bad(f, val.p, -EBADMSG, "tag without a value");
			a->tag = val;
		} else if (c && !contact_param(c, name, val, kind, f)) {
			return NULL;
		}
	}
	return r < 0 ? NULL : p;
}

int sip_addr_parse(struct sv value, struct sip_addr *a, struct sip_err *err)
{
	const char *base = value.p, *end = end_of(value), *p;
	struct fault f;

	*a = (struct sip_addr){ 0 };
	p = addr_head(sws(base, end), end, a, &f);
	if (!p)
		return report(err, &f, base);
	if (a->star) {
		p = sws(p, end);
		if (p != end)
			return fail(err, base, p, -EBADMSG, "'*' must stand alone");
		return 0;
	}
	p = addr_params(p, end, a, NULL, &f);
	if (!p)
		return report(err, &f, base);
	if (p != end)
		return fail(err, base, p, -EBADMSG, "more than one address in the value");
	return 0;
}

int sip_addr_next(struct sv *rest, struct sip_addr *a, struct sip_err *err)
{
	const char *base = rest->p, *end = end_of(*rest), *p;
	struct fault f;

	p = sws(base, end);
	if (p == end) {
		*rest = sv_make(end, 0);
		return 0;
	}
	if (*p == ',')
		return fail(err, base, p, -EBADMSG, "empty list element");
	*a = (struct sip_addr){ 0 };
	p = addr_head(p, end, a, &f);
	if (p && !a->star)
		p = addr_params(p, end, a, NULL, &f);
	if (!p || list_sep(rest, p, end, &f) < 0)
		return report(err, &f, base);
	return 1;
}

/* A Contact element that is "*" (then SWS and the end, ',' or ';'). */
static bool is_star(const char *p, const char *end)
{
	if (p == end || *p != '*')
		return false;
	p = sws(p + 1, end);
	return p == end || *p == ',' || *p == ';';
}

int sip_contact_next(struct sv *rest, struct sip_contact *c, struct sip_err *err)
{
	const char *base = rest->p, *end = end_of(*rest), *p;
	struct fault f;

	p = sws(base, end);
	if (p == end) {
		*rest = sv_make(end, 0);
		return 0;
	}
	if (*p == ',')
		return fail(err, base, p, -EBADMSG, "empty list element");
	*c = (struct sip_contact){ 0 };
	p = addr_head(p, end, &c->addr, &f);
	if (!p)
		return report(err, &f, base);
	if (c->addr.star) {
		/* Contact = STAR / contact-param *(COMMA contact-param) */
		p = sws(p, end);
		if (p != end)
			return fail(err, base, p, -EBADMSG, "'*' must be the only Contact");
		*rest = sv_make(end, 0);
		return 1;
	}
	p = addr_params(p, end, &c->addr, c, &f);
	if (!p || list_sep(rest, p, end, &f) < 0)
		return report(err, &f, base);
	if (is_star(rest->p, end))
		return fail(err, base, rest->p, -EBADMSG, "'*' mixed with addresses");
	return 1;
}

/* ---- single-value headers ---- */

int sip_cseq_parse(struct sv value, struct sip_cseq *c, struct sip_err *err)
{
	const char *base = value.p, *end = end_of(value), *p, *s;
	uint64_t n;

	s = p = sws(base, end);
	p = span(p, end, C_DIGIT);
	if (p == s)
		return fail(err, base, p, -EBADMSG, "CSeq does not start with a number");
	/* Below 2**31 (§8.1.1.5); leading zeros are fine (RFC 4475 wsinv). */
	if (num(sv_range(s, p), INT32_MAX, &n) != NUM_OK)
		return fail(err, base, s, -EBADMSG, "CSeq number not below 2**31");
	if (p == end)
		return fail(err, base, p, -EBADMSG, "no method in CSeq");
	if (!is(*p, C_WS))
		return fail(err, base, p, -EBADMSG, "CSeq number not followed by white space");
	s = p = sws(p, end);
	p = span(p, end, C_TOKEN);
	if (p == s)
		return fail(err, base, p, -EBADMSG, "CSeq method is not a token");
	c->method_name = sv_range(s, p);
	p = sws(p, end);
	if (p != end)
		return fail(err, base, p, -EBADMSG, "text after the CSeq method");
	c->seq = (uint32_t)n;
	c->method = (uint8_t)sip_method_lookup(c->method_name);
	return 0;
}

int sip_callid_parse(struct sv value, struct sv *id, struct sip_err *err)
{
	const char *base = value.p, *end = end_of(value), *p, *s, *q;

	s = p = sws(base, end);
	while (end > p && is(end[-1], C_WS))
		end--;
	p = span_fast(p, end, C_WORD);
	if (p == s)
		return fail(err, base, p, -EBADMSG,
			    p == end ? "empty Call-ID" : "bad character in Call-ID");
	/* callid = word [ "@" word ] */
	if (p < end && *p == '@') {
		q = ++p;
		p = span_fast(p, end, C_WORD);
		if (p == q)
			return fail(err, base, p, -EBADMSG, "no word after '@' in Call-ID");
	}
	if (p != end)
		return fail(err, base, p, -EBADMSG, "bad character in Call-ID");
	*id = sv_range(s, end);
	return 0;
}

int sip_uint_parse(struct sv value, uint32_t max, uint32_t *out, struct sip_err *err)
{
	const char *base = value.p, *end = end_of(value), *p, *s;
	uint64_t n;

	s = p = sws(base, end);
	p = span(p, end, C_DIGIT);
	if (p == s || sws(p, end) != end)
		return fail(err, base, p, -EBADMSG, "not a decimal number");
	if (num(sv_range(s, p), max, &n) != NUM_OK)
		return fail(err, base, s, -ERANGE, "number over its limit");
	*out = (uint32_t)n;
	return 0;
}

int sip_ctype_parse(struct sv value, struct sip_ctype *c, struct sip_err *err)
{
	const char *base = value.p, *end = end_of(value), *p, *s;
	struct sv name, val;
	struct fault f;
	int r, kind;

	/* media-type = m-type SLASH m-subtype *(SEMI m-parameter) */
	s = p = sws(base, end);
	p = span(p, end, C_TOKEN);
	if (p == s)
		return fail(err, base, p, -EBADMSG, "media type is not a token");
	c->type = sv_range(s, p);
	p = sws(p, end);
	if (p == end || *p != '/')
		return fail(err, base, p, -EBADMSG, "expected '/' in the media type");
	s = p = sws(p + 1, end);
	p = span(p, end, C_TOKEN);
	if (p == s)
		return fail(err, base, p, -EBADMSG, "media subtype is not a token");
	c->subtype = sv_range(s, p);
	c->params = sv_make(p, 0);
	s = NULL;
	while ((r = param_at(&p, end, false, &name, &val, &kind, &f,
			     "expected ';' after the media type")) > 0) {
		if (!s)
			s = name.p;
		c->params = sv_range(s, p);
		/* m-parameter = m-attribute EQUAL m-value */
		if (kind == PV_NONE)
			return fail(err, base, val.p, -EBADMSG, "media parameter without a value");
	}
	return r < 0 ? report(err, &f, base) : 0;
}

/* delta-seconds *(SEMI generic-param), for Session-Expires and Min-SE. */
static int delta_params(struct sv value, uint32_t *delta, struct sv *params, struct sv *refresher,
			struct sip_err *err)
{
	const char *base = value.p, *end = end_of(value), *p, *s;
	struct sv name, val;
	struct fault f;
	uint64_t n;
	int r, kind;

	s = p = sws(base, end);
	p = span(p, end, C_DIGIT);
	if (p == s)
		return fail(err, base, p, -EBADMSG, "not delta-seconds");
	if (num(sv_range(s, p), UINT32_MAX, &n) != NUM_OK)
		return fail(err, base, s, -ERANGE, "delta-seconds over 2**32-1");
	*delta = (uint32_t)n;
	*params = sv_make(p, 0);
	s = NULL;
	while ((r = param_at(&p, end, false, &name, &val, &kind, &f,
			     "expected ';' after delta-seconds")) > 0) {
		if (!s)
			s = name.p;
		*params = sv_range(s, p);
		if (!refresher || !TOK_IS(name, "refresher"))
			continue;
		/* refresher-param = "refresher" EQUAL ("uas" / "uac") (RFC 4028) */
		if (refresher->p)
			return fail(err, base, name.p, -EBADMSG, "duplicate refresher parameter");
		if (kind != PV_TOKEN || (!TOK_IS(val, "uac") && !TOK_IS(val, "uas")))
			return fail(err, base, val.p, -EBADMSG, "refresher is neither uac nor uas");
		*refresher = val;
	}
	return r < 0 ? report(err, &f, base) : 0;
}

int sip_session_expires_parse(struct sv value, struct sip_session_expires *s, struct sip_err *err)
{
	*s = (struct sip_session_expires){ 0 };
	return delta_params(value, &s->delta, &s->params, &s->refresher, err);
}

int sip_min_se_parse(struct sv value, uint32_t *delta, struct sip_err *err)
{
	struct sv params;
	return delta_params(value, delta, &params, NULL, err);
}

int sip_token_next(struct sv *rest, struct sv *token, struct sip_err *err)
{
	const char *base = rest->p, *end = end_of(*rest), *p, *s;
	struct fault f;

	p = sws(base, end);
	if (p == end) {
		*rest = sv_make(end, 0);
		return 0;
	}
	if (*p == ',')
		return fail(err, base, p, -EBADMSG, "empty list element");
	s = p;
	p = span(p, end, C_TOKEN);
	if (p == s)
		return fail(err, base, p, -EBADMSG, "list element is not a token");
	if (list_sep(rest, p, end, &f) < 0)
		return report(err, &f, base);
	*token = sv_range(s, p);
	return 1;
}

int sip_privacy_parse(struct sv value, unsigned *flags, struct sip_err *err)
{
	const char *base = value.p, *end = end_of(value), *p, *s;
	unsigned fl = 0;

	/* Privacy-hdr = "Privacy" HCOLON priv-value *(";" priv-value) */
	p = sws(base, end);
	for (;;) {
		struct sv t;
		s = p;
		p = span(p, end, C_TOKEN);
		if (p == s)
			return fail(err, base, p, -EBADMSG,
				    (p == end || *p == ';') ? "empty priv-value"
							    : "priv-value is not a token");
		t = sv_range(s, p);
		if (TOK_IS(t, "header"))
			fl |= SIP_PRIVACY_HEADER;
		else if (TOK_IS(t, "session"))
			fl |= SIP_PRIVACY_SESSION;
		else if (TOK_IS(t, "user"))
			fl |= SIP_PRIVACY_USER;
		else if (TOK_IS(t, "none"))
			fl |= SIP_PRIVACY_NONE;
		else if (TOK_IS(t, "critical"))
			fl |= SIP_PRIVACY_CRITICAL;
		else if (TOK_IS(t, "id"))
			fl |= SIP_PRIVACY_ID;
		else
			fl |= SIP_PRIVACY_OTHER;
		p = sws(p, end);
		if (p == end)
			break;
		if (*p != ';')
			return fail(err, base, p, -EBADMSG, "expected ';' between priv-values");
		p = sws(p + 1, end);
	}
	*flags = fl;
	return 0;
}

/* ---- authentication ---- */

static const struct {
	const char *name;
	uint8_t len;
	uint16_t off; /* offsetof(struct sip_auth, field) */
} digest_params[] = {
#define DP_(f)                                                   \
	{                                                        \
#f, sizeof(#f) - 1, offsetof(struct sip_auth, f) \
	}
	DP_(username),	DP_(realm),  DP_(nonce),    DP_(uri), DP_(response),
	DP_(algorithm), DP_(cnonce), DP_(opaque),   DP_(qop), DP_(nc),
	DP_(stale),	DP_(domain), DP_(userhash),
#undef DP_
};

int sip_auth_parse(struct sv value, struct sip_auth *a, struct sip_err *err)
{
	const char *base = value.p, *end = end_of(value), *p, *s, *q;
	struct fault f;

	*a = (struct sip_auth){ 0 };
	s = p = sws(base, end);
	p = span(p, end, C_TOKEN);
	if (p == s)
		return fail(err, base, p, -EBADMSG, "no auth scheme");
	a->scheme = sv_range(s, p);
	a->is_digest = TOK_IS(a->scheme, "digest");
	q = sws(p, end);
	a->params = sv_make(q, 0);
	if (q == end)
		return a->is_digest ? fail(err, base, q, -EBADMSG, "Digest without parameters") : 0;
	if (q == p)
		return fail(err, base, p, -EBADMSG, "auth scheme not followed by white space");
	while (end > q && is(end[-1], C_WS))
		end--;
	a->params = sv_range(q, end);
	/* Another scheme's credentials may be a token68 or anything else: its
	 * params are given raw for the layer above to judge. */
	if (!a->is_digest)
		return 0;

	/* digest-response = dig-resp *(COMMA dig-resp); auth-param = name EQUAL
	 * (token / quoted-string), values in either form for leniency. */
	p = q;
	for (;;) {
		struct sv name, val;
		s = p;
		p = span(p, end, C_TOKEN);
		if (p == s)
			return fail(err, base, p, -EBADMSG,
				    (p == end || *p == ',') ? "empty list element"
							    : "auth-param name is not a token");
		name = sv_range(s, p);
		p = sws(p, end);
		if (p == end || *p != '=')
			return fail(err, base, p, -EBADMSG, "auth-param without '='");
		p = sws(p + 1, end);
		if (p < end && *p == '"') {
			s = p;
			p = quoted(p, end, &f);
			if (!p)
				return report(err, &f, base);
			val = sv_range(s + 1, p - 1);
		} else {
			s = p;
			p = span(p, end, C_TOKEN);
			if (p == s)
				return fail(err, base, p, -EBADMSG, "auth-param has no value");
			val = sv_range(s, p);
		}
		for (size_t i = 0; i < sizeof(digest_params) / sizeof(digest_params[0]); i++) {
			if (name.len != digest_params[i].len ||
			    !tok_eq(name.p, digest_params[i].name, name.len))
				continue;
			struct sv *field = (struct sv *)((char *)a + digest_params[i].off);
			if (field->p)
				return fail(err, base, name.p, -EBADMSG, "duplicate auth-param");
			*field = val;
			break;
		}
		p = sws(p, end);
		if (p == end)
			return 0;
		if (*p != ',')
			return fail(err, base, p, -EBADMSG, "expected ',' between auth-params");
		p = sws(p + 1, end);
	}
}
