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
 * the tail, the rare octets the vector tests leave to it, and every other
 * machine. White space is read as LWS
 * wherever the grammar has LWS or SWS: SP, HTAB, and the CR LF of a folded line
 * (sip_msg.c keeps folds inside values, and there a CR or LF can only belong to
 * one).
 *
 * Inside this file a scanner returns the position after what it read, or NULL
 * after filling a `struct fault`; the public functions turn that into a sip_err
 * whose offset is relative to the view they were given (for an iterator, *rest
 * as it was at the call).
 *
 * Via, the addresses (From, To, Contact, Route, ...), CSeq and Call-ID, which
 * every message has, first go through a fast path (the *_quick() functions,
 * after list_sep()) for the shape nearly all of them have: no LWS or fold, no
 * quoted parameter value, no escape in a display name, an IPv4 sent-by read in
 * one pass. A fast path either answers exactly what the general code would or
 * gives up, and the general code then parses the value from its start and is
 * the only one to report errors. tests/parsers/test_sip_hdr.c parses each value
 * both ways (the second time after one SP, which only the general code takes)
 * and compares every field.
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

/* NOINLINE keeps the general code out of line, so that the fast paths
 * inlined into the public functions pay for none of its registers;
 * ALWAYS_INLINE is for the pieces of the fast paths. */
#define NOINLINE      __attribute__((noinline))
#define ALWAYS_INLINE __attribute__((always_inline))

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
static inline ALWAYS_INLINE __m128i in_range(__m128i v, int lo, int hi)
{
	__m128i x = _mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - lo)));
	return _mm_cmplt_epi8(x, _mm_set1_epi8((char)(0x80 + hi - lo + 1)));
}

static inline ALWAYS_INLINE __m128i in_set(__m128i v, char c)
{
	return _mm_cmpeq_epi8(v, _mm_set1_epi8(c));
}

/*
 * A bit per octet of v that ends a run of C_QDTEXT, C_URI or C_ASPEC (cls is a
 * constant once inlined). For C_QDTEXT the mask is wider than the class (HTAB
 * and the CR LF of a fold stop it too): the scans step over such an octet.
 */
static inline ALWAYS_INLINE unsigned stop_mask(__m128i v, unsigned cls)
{
	/* controls, and SP but inside a quoted string */
	__m128i m = in_range(v, 0, cls == C_QDTEXT ? 0x1f : 0x20);

	m = _mm_or_si128(m, in_set(v, 0x7f));
	if (cls == C_QDTEXT) {
		m = _mm_or_si128(m, _mm_or_si128(in_set(v, '"'), in_set(v, '\\')));
	} else { /* C_URI, C_ASPEC; '<' and '>' are the octets that | 2 makes '>' */
		m = _mm_or_si128(m, in_set(_mm_or_si128(v, _mm_set1_epi8(2)), '>'));
		m = _mm_or_si128(m, in_set(v, '"'));
		if (cls == C_ASPEC)
			m = _mm_or_si128(m, _mm_or_si128(in_set(v, ';'), in_set(v, ',')));
	}
	return (unsigned)_mm_movemask_epi8(m);
}

/*
 * Octets of v that are not a letter, a digit, '-' or '.': most of every token,
 * parameter value and Call-ID is made of these, and three range compares test
 * them where an exact token test takes nine (letters in either case are one
 * range once 0x20 is set: no other octet then lands in 'a'..'z'). For the
 * token-like classes (C_TOKEN, C_PVAL, C_WORD) this is the vector test; it is
 * wider than each, and the scans hand a run over to the scalar twin at the
 * first octet it stops at that the class accepts.
 */
static inline ALWAYS_INLINE unsigned alnum_stop(__m128i v)
{
	__m128i m = in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 'z');
	m = _mm_or_si128(m, in_range(v, '0', '9'));
	m = _mm_or_si128(m, in_range(v, '-', '.'));
	return (unsigned)_mm_movemask_epi8(m) ^ 0xffffu;
}

/* Whether every stop of stops() is outside the class (C_URI, C_ASPEC). */
static inline bool exact_stops(unsigned cls)
{
	return cls == C_URI || cls == C_ASPEC;
}

/* The vector stops of class cls in the block v (see above). */
static inline ALWAYS_INLINE unsigned stops(__m128i v, unsigned cls)
{
	if (cls == C_TOKEN || cls == C_PVAL || cls == C_WORD)
		return alnum_stop(v);
	return stop_mask(v, cls);
}
#endif

/*
 * span() with whole 16-octet blocks inside [p, end) tested by SSE2; span() is
 * the scalar twin and does the tail, so nothing past end is loaded. At an
 * octet the vector test stops at but the class accepts, a quoted string (HTAB,
 * a fold) steps over it and goes on by blocks; a token-like run goes on with
 * span(). For the runs that are often long: URIs, quoted strings, parameter
 * values, hosts, Call-IDs.
 */
static inline const char *span_fast(const char *p, const char *end, unsigned cls)
{
#if defined(__SSE2__)
	while (end - p >= 16) {
		unsigned m = stops(_mm_loadu_si128((const __m128i *)(const void *)p), cls);
		if (!m) {
			p += 16;
			continue;
		}
		p += __builtin_ctz(m);
		if (!(cc[(unsigned char)*p] & cls))
			return p;
		if (cls != C_QDTEXT)
			break;
		p++;
	}
#endif
	return span(p, end, cls);
}

/*
 * span_fast() for a p inside a view that starts at lo: when fewer than 16
 * octets are left but the view holds 16, the last block is loaded from end - 16
 * (octets before p masked off) instead of walked one by one. Still nothing
 * outside [lo, end) is loaded.
 */
static inline ALWAYS_INLINE const char *span_in(const char *lo, const char *p, const char *end,
						unsigned cls)
{
#if defined(__SSE2__)
	if (end - lo >= 16) {
		const char *last = end - 16; /* the last block inside the view */
		unsigned m;
		while (p <= last) {
			m = stops(_mm_loadu_si128((const __m128i *)(const void *)p), cls);
			if (!m) {
				p += 16;
				continue;
			}
			p += __builtin_ctz(m);
			if (exact_stops(cls) || !(cc[(unsigned char)*p] & cls))
				return p;
			if (cls != C_QDTEXT)
				return span(p, end, cls);
			p++;
		}
		if (p == end)
			return p;
		m = stops(_mm_loadu_si128((const __m128i *)(const void *)last), cls) >> (p - last);
		if (!m)
			return end;
		p += __builtin_ctz(m);
		if (exact_stops(cls) || !(cc[(unsigned char)*p] & cls))
			return p;
		if (cls == C_QDTEXT)
			p++;
	}
#else
	(void)lo;
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

/*
 * The start of the next element of a comma list at [base, end): skips LWS and
 * returns 1 with *p at the element, 0 at the end of the list (and *rest emptied),
 * or -EBADMSG for an empty element (RFC 4475 badinv01: ",,"). Every list
 * iterator below starts here, so they share one rule for what an element is.
 */
static inline int elem_start(struct sv *rest, const char *base, const char *end, const char **p,
			     struct sip_err *err)
{
	*p = sws(base, end);
	if (*p == end) {
		*rest = sv_make(end, 0);
		return 0;
	}
	if (**p == ',')
		return fail(err, base, *p, -EBADMSG, "empty list element");
	return 1;
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

/*
 * The fast paths. Most header values come in one shape: no white space or fold
 * around separators, no quoted parameter value, no escape in a display name. A
 * *_quick() function reads only that shape and returns NULL (or false) at the
 * first octet of any other, errors included; the caller then parses the value
 * again from its start with the general code, which alone reports errors. So a
 * fast path needs no error handling, and wherever it answers, it answers what
 * the general code would, field for field: it applies the same checks (the
 * same via_param(), contact_param(), sip_hostport_parse()) to the same views.
 */

static inline uint64_t ld64(const char *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	return x;
}

static inline uint32_t ld32(const char *p)
{
	uint32_t x;
	memcpy(&x, p, 4);
	return x;
}

/*
 * param_at() for a list, in the fast shape: at p, a ';' directly followed by
 * a token name, then "=" and a token or host value, or nothing; then ';', ','
 * or the end. Returns the position after the parameter, or NULL.
 */
static inline ALWAYS_INLINE const char *param_quick(const char *lo, const char *p, const char *end,
						    struct sv *name, struct sv *val, int *kind)
{
	const char *n = ++p, *s;

	p = span(p, end, C_TOKEN);
	if (p == n)
		return NULL;
	*name = sv_range(n, p);
	if (p < end && *p == '=') {
		s = ++p;
		p = span_in(lo, p, end, C_TOKEN);
		*kind = PV_TOKEN;
		if (p < end && is(*p, C_PVAL)) {
			p = span_in(lo, p, end, C_PVAL);
			*kind = PV_HOST;
		}
		if (p == s)
			return NULL;
		*val = sv_range(s, p);
	} else {
		*val = sv_make(p, 0);
		*kind = PV_NONE;
	}
	if (p < end && *p != ';' && *p != ',')
		return NULL;
	return p;
}

/*
 * ";branch=" and ";tag=" at p, in any case, by whole loads: among the octets
 * that may stand there, c | 0x20 equals a lower-case letter only when c is
 * that letter in either case; ';' and '=' are compared exactly.
 */
static inline bool at_branch(const char *p, const char *end)
{
	return end - p >= 8 && (ld64(p) | ld64("\0      \0")) == ld64(";branch=");
}

static inline bool at_tag(const char *p, const char *end)
{
	return end - p >= 5 && (ld32(p) | ld32("\0   ")) == ld32(";tag") && p[4] == '=';
}

/*
 * The token value of a parameter at s, in the fast shape: not empty, and
 * followed by ';', ',' or the end (so not a host value, PV_HOST). Returns the
 * position after it, or NULL.
 */
static inline ALWAYS_INLINE const char *token_quick(const char *lo, const char *s, const char *end,
						    struct sv *val)
{
	const char *p = span_in(lo, s, end, C_TOKEN);

	if (p == s || (p < end && *p != ';' && *p != ','))
		return NULL;
	*val = sv_range(s, p);
	return p;
}

/*
 * list_sep() in the fast shape, at p (the end or a ','): the end, or ',' and
 * straight away the next element. Sets *next to what follows and returns true,
 * or returns false.
 */
static inline bool sep_quick(const char *p, const char *end, struct sv *next)
{
	if (p == end) {
		*next = sv_make(end, 0);
		return true;
	}
	if (end - p < 2 || is(p[1], C_WS) || p[1] == ',')
		return false;
	*next = sv_range(p + 1, end);
	return true;
}

/* ---- lists and parameters ---- */

int sip_list_next(struct sv *rest, struct sv *item, struct sip_err *err)
{
	int r0;
	const char *base = rest->p, *end = end_of(*rest), *p, *s, *e;
	struct fault f;

	r0 = elem_start(rest, base, end, &p, err);
	if (r0 <= 0)
		return r0;
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

/*
 * The length of a dotted quad at w (four dec-octets 0-255 of 1-3 digits joined
 * by '.', the IPv4address of sip_hostport_parse()), or 0. Reads no further
 * than w[14], with no bound checks: the caller gives a window it may read.
 */
static inline unsigned ipv4_len(const char *w)
{
	const char *p = w;

	for (int part = 0;; part++) {
		unsigned v = (unsigned)(unsigned char)*p - '0', d;
		if (v > 9)
			return 0;
		p++;
		if ((d = (unsigned)(unsigned char)*p - '0') <= 9) {
			v = v * 10 + d;
			p++;
			if ((d = (unsigned)(unsigned char)*p - '0') <= 9) {
				v = v * 10 + d;
				p++;
				if (v > 255)
					return 0;
			}
		}
		if (part == 3)
			return (unsigned)(p - w);
		if (*p != '.')
			return 0;
		p++;
	}
}

/* The number of digits (at most 5) at w, their value in *val. Reads no
 * further than w[4], with no bound checks. */
static inline unsigned digits5(const char *w, unsigned *val)
{
	unsigned v = 0, d, i;

	for (i = 0; i < 5 && (d = (unsigned)(unsigned char)w[i] - '0') <= 9; i++)
		v = v * 10 + d;
	*val = v;
	return i;
}

/* The separators that may follow a sent-by or a parameter in the fast shape. */
static inline bool at_sep(const char *p, const char *end)
{
	return p == end || *p == ';' || *p == ',';
}

/* ";rport" without a value, in any case, then ';', ',' or the end. */
static inline bool at_rport(const char *p, const char *end)
{
	return end - p >= 6 && (ld32(p) | ld32("\0   ")) == ld32(";rpo") && (p[4] | 0x20) == 'r' &&
	       (p[5] | 0x20) == 't' && at_sep(p + 6, end);
}

/*
 * via_sent_by() in the fast shape: host [ ":" port ] with no white space, then
 * ';', ',' or the end. "IPv4:port" is read here in one pass, with the rules of
 * sip_hostport_parse() (which via_sent_by() would call on the same octets); any
 * other host goes to sip_hostport_parse() itself. Returns the position after
 * the sent-by, or NULL.
 */
static inline const char *sent_by_quick(const char *lo, const char *p, const char *end,
					struct sip_via *v)
{
	const char *w = p, *q;
	char buf[24];
	unsigned n, k, port = 0;
	struct sv host;

	/* "255.255.255.255:65535" and the octet after it: 22 octets at most are
	 * read, from the value or from a zero-padded copy of its end. */
	if (end - p < 24) {
		memset(buf, 0, sizeof(buf));
		memcpy(buf, p, (size_t)(end - p));
		w = buf;
	}
	n = ipv4_len(w);
	if (n) {
		q = p + n;
		if (w[n] == ':') {
			k = digits5(w + n + 1, &port);
			if (k == 0 || port - 1 > 65534)
				goto other;
			q += 1 + k;
		}
		if (!at_sep(q, end))
			goto other;
		v->host = sv_make(p, n);
		v->host_type = SIP_HOST_IPV4;
		v->port = (uint16_t)port;
		return q;
	}
other:
	q = span_in(lo, p, end, C_PVAL);
	if (q == p || q[-1] == ':' || !at_sep(q, end) ||
	    sip_hostport_parse(sv_range(p, q), &host, &v->host_type, &v->port, NULL) < 0)
		return NULL;
	v->host = host;
	return q;
}

/*
 * A via-parm in the fast shape: "SIP/2.0/" transport SP sent-by, then
 * parameters as param_quick() reads them, then the end or ',' and the next
 * element. Fills *v and *rest as the general code would and returns true, or
 * returns false.
 */
static inline bool via_quick(struct sv *rest, struct sip_via *v)
{
	const char *lo = rest->p, *end = end_of(*rest), *p = lo, *s, *first = NULL;
	struct sv name, val;
	struct fault f;
	uint32_t t;
	int kind;

	if (end - p < 12 || ld64(p) != ld64("SIP/2.0/"))
		return false;
	s = p += 8;
	t = ld32(p);
	if (t == ld32("UDP ") || t == ld32("TCP ") || t == ld32("TLS ")) {
		p += 3;
	} else {
		p = span(p, end, C_TOKEN);
		if (p == s || end - p < 2 || *p != ' ')
			return false;
	}
	v->proto = sv_make(lo, 3);
	v->version = sv_make(lo + 4, 3);
	v->transport = sv_range(s, p);
	v->has_rport = false;
	v->rport = 0;
	v->branch = v->received = v->maddr = v->ttl = SV_NULL;
	p = sent_by_quick(lo, p + 1, end, v);
	if (!p)
		return false;
	v->params = sv_make(p, 0);
	while (p < end && *p == ';') {
		s = p + 1;
		if (at_branch(p, end) && !v->branch.p) {
			p = token_quick(lo, p + 8, end, &v->branch);
		} else if (at_rport(p, end) && !v->has_rport) {
			v->has_rport = true;
			p += 6;
		} else {
			p = param_quick(lo, p, end, &name, &val, &kind);
			if (p && !via_param(v, name, val, kind, &f))
				return false;
		}
		if (!p)
			return false;
		if (!first)
			first = s;
	}
	if (first)
		v->params = sv_range(first, p);
	return sep_quick(p, end, rest);
}

/* sip_via_next() in full: any shape, and the errors. */
static NOINLINE int via_next(struct sv *rest, struct sip_via *v, struct sip_err *err)
{
	int r0;
	const char *base = rest->p, *end = end_of(*rest), *p, *s;
	struct sv name, val;
	struct fault f;
	int r, kind;

	r0 = elem_start(rest, base, end, &p, err);
	if (r0 <= 0)
		return r0;
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

int sip_via_next(struct sv *rest, struct sip_via *v, struct sip_err *err)
{
	if (via_quick(rest, v))
		return 1;
	return via_next(rest, v, err);
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

/*
 * addr_head() and addr_params() in the fast shape, at p in a view that starts
 * at lo (*a zeroed): a quoted display name without escapes and at most one SP
 * before "<"; a <URI> without white space inside; or an addr-spec; then
 * parameters as param_quick() reads them, the tag picked out, and Contact's
 * when c is set. Returns the position after them (the end or a ','), or NULL.
 */
static inline ALWAYS_INLINE const char *addr_quick(const char *lo, const char *p, const char *end,
						   struct sip_addr *a, struct sip_contact *c)
{
	const char *q, *s, *first = NULL;
	struct sv name, val;
	struct fault f;
	int kind;

	if (p == end)
		return NULL;
	if (*p == '"') {
		q = span_in(lo, p + 1, end, C_QDTEXT);
		if (q == end || *q != '"')
			return NULL;
		a->display = sv_range(p + 1, q);
		a->quoted = true;
		p = q + 1;
		if (p < end && *p == ' ')
			p++;
		if (p == end || *p != '<')
			return NULL;
	}
	if (*p == '<') {
		q = span_in(lo, p + 1, end, C_URI);
		if (q == p + 1 || q == end || *q != '>')
			return NULL;
		a->uri = sv_range(p + 1, q);
		a->bracketed = true;
		p = q + 1;
	} else {
		q = span(p, end, C_TOKEN);
		if (q == p || q == end || *q != ':')
			return NULL;
		q = span_in(lo, q, end, C_ASPEC);
		if (!at_sep(q, end))
			return NULL;
		a->uri = sv_range(p, q);
		p = q;
	}
	a->params = sv_make(p, 0);
	while (p < end && *p == ';') {
		s = p + 1;
		if (at_tag(p, end) && !a->tag.p) {
			p = token_quick(lo, p + 5, end, &a->tag);
		} else {
			p = param_quick(lo, p, end, &name, &val, &kind);
			if (p &&
			    (TOK_IS(name, "tag") || (c && !contact_param(c, name, val, kind, &f))))
				return NULL;
		}
		if (!p)
			return NULL;
		if (!first)
			first = s;
	}
	if (p < end && *p != ',')
		return NULL;
	if (first)
		a->params = sv_range(first, p);
	return p;
}

/* sip_addr_parse() in full: any shape, and the errors. */
static NOINLINE int addr_parse(struct sv value, struct sip_addr *a, struct sip_err *err)
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

int sip_addr_parse(struct sv value, struct sip_addr *a, struct sip_err *err)
{
	const char *end = end_of(value), *p;

	*a = (struct sip_addr){ 0 };
	p = addr_quick(value.p, value.p, end, a, NULL);
	if (p && p == end)
		return 0;
	return addr_parse(value, a, err);
}

int sip_addr_next(struct sv *rest, struct sip_addr *a, struct sip_err *err)
{
	int r0;
	const char *base = rest->p, *end = end_of(*rest), *p, *q;
	struct fault f;

	r0 = elem_start(rest, base, end, &p, err);
	if (r0 <= 0)
		return r0;
	*a = (struct sip_addr){ 0 };
	q = addr_quick(base, p, end, a, NULL);
	if (q && sep_quick(q, end, rest))
		return 1;
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
	int r0;
	const char *base = rest->p, *end = end_of(*rest), *p, *q;
	struct sv next;
	struct fault f;

	r0 = elem_start(rest, base, end, &p, err);
	if (r0 <= 0)
		return r0;
	*c = (struct sip_contact){ 0 };
	q = addr_quick(base, p, end, &c->addr, c);
	if (q && sep_quick(q, end, &next) && !is_star(next.p, end)) {
		*rest = next;
		return 1;
	}
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

/*
 * sip_cseq_parse() in the fast shape: 1 to 9 digits (so below 2**31 with no
 * check), one SP, and a token method up to the end. Returns true with *c
 * filled, or false.
 */
static inline bool cseq_quick(const char *p, const char *end, struct sip_cseq *c)
{
	const char *s = p;
	uint32_t n = 0;
	unsigned d, i;

	/* 1 to 9 digits and SP: with ten octets to read, no bound checks */
	if (end - p >= 10) {
		for (i = 0; i < 9 && (d = (unsigned)(unsigned char)p[i] - '0') <= 9; i++)
			n = n * 10 + d;
		p += i;
	} else {
		for (; p < end && (d = (unsigned)(unsigned char)*p - '0') <= 9; p++)
			n = n * 10 + d;
		if (p - s > 9)
			return false;
	}
	if (p == s || end - p < 2 || *p != ' ')
		return false;
	c->seq = n;
	c->method_name = sv_range(p + 1, end);
	return true;
}

/* sip_cseq_parse() in full: any shape, and the errors. */
static NOINLINE int cseq_parse(struct sv value, struct sip_cseq *c, struct sip_err *err)
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

int sip_cseq_parse(struct sv value, struct sip_cseq *c, struct sip_err *err)
{
	if (!cseq_quick(value.p, end_of(value), c))
		return cseq_parse(value, c, err);
	/* A known method is a token: only another needs the scan. */
	c->method = (uint8_t)sip_method_lookup(c->method_name);
	if (c->method == SIP_METHOD_OTHER &&
	    span(c->method_name.p, end_of(value), C_TOKEN) != end_of(value))
		return cseq_parse(value, c, err);
	return 0;
}

/*
 * sip_callid_parse() in the fast shape: no white space around the value. Then
 * word [ "@" word ] is one scan: every octet a word octet or '@', at most one
 * '@', and that neither first nor last. Blocks of 16 octets by SSE2, the last
 * one loaded from end - 16 when more than four octets are left and the value
 * is that long, for octets alnum_stop() lets through and the '@'; at any other
 * octet, and for the rest, the table loop, which is the scalar twin. Returns
 * true with *id set, or false.
 */
static inline bool callid_quick(const char *p, const char *end, struct sv *id)
{
	const char *s = p, *at = NULL;

#if defined(__SSE2__)
	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		unsigned m = alnum_stop(v), a;
		if (m) {
			a = (unsigned)_mm_movemask_epi8(in_set(v, '@'));
			if (m & ~a)
				goto scalar;
			if (at || (a & (a - 1)))
				return false;
			at = p + __builtin_ctz(a);
		}
		p += 16;
	}
	/* More than four octets left: one more block, from end - 16. */
	if (end - p > 4 && end - s >= 16) {
		const char *b = end - 16;
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)b);
		unsigned m = alnum_stop(v) >> (p - b), a;
		if (m) {
			a = (unsigned)_mm_movemask_epi8(in_set(v, '@')) >> (p - b);
			if (m & ~a)
				goto scalar;
			if (at || (a & (a - 1)))
				return false;
			at = p + __builtin_ctz(a);
		}
		p = end;
	}
scalar:
#endif
	for (; p < end; p++) {
		if (*p == '@') {
			if (at)
				return false;
			at = p;
		} else if (!is(*p, C_WORD)) {
			return false;
		}
	}
	if (p == s || at == s || (at && at == end - 1))
		return false;
	*id = sv_range(s, end);
	return true;
}

/* sip_callid_parse() in full: any shape, and the errors. */
static NOINLINE int callid_parse(struct sv value, struct sv *id, struct sip_err *err)
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

int sip_callid_parse(struct sv value, struct sv *id, struct sip_err *err)
{
	if (callid_quick(value.p, end_of(value), id))
		return 0;
	return callid_parse(value, id, err);
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
	int r0;
	const char *base = rest->p, *end = end_of(*rest), *p, *s;
	struct fault f;

	r0 = elem_start(rest, base, end, &p, err);
	if (r0 <= 0)
		return r0;
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
