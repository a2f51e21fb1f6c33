/* SPDX-License-Identifier: MIT */
/*
 * sip_uri.c: SIP, SIPS, tel and opaque URIs parsed into views, in one pass
 * plus a memchr() for the '@' that ends a userinfo (see sip_uri.h).
 *
 * Every octet is classified by one lookup in `cls`, whose bits are the
 * character sets of the RFC 3261 §25.1 grammar (user, password, param, header,
 * ...). A scan runs while the octet's class holds the set's bit and stops at the
 * first octet outside it, or at a '%' that is not followed by two hex digits;
 * the caller then decides from that octet what comes next. Every pointer is
 * compared with `e` before it is read.
 */
#include "sip_uri.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/* Character classes (RFC 3261 §25.1, RFC 2396, RFC 3966). */
#define C_ALPHA	   0x0001
#define C_DIGIT	   0x0002
#define C_HEX	   0x0004
#define C_USER	   0x0008 /* unreserved / user-unreserved "&=+$,;?/" */
#define C_PASS	   0x0010 /* unreserved / "&=+$," */
#define C_PARAM	   0x0020 /* unreserved / param-unreserved "[]/:&+$" */
#define C_HDR	   0x0040 /* unreserved / hnv-unreserved "[]/?:+$" */
#define C_URIC	   0x0080 /* reserved / unreserved (RFC 2396 uric) */
#define C_SCHEME   0x0100 /* ALPHA / DIGIT / "+" / "-" / "." */
#define C_TELNUM   0x0200 /* HEXDIG / "*" / "#" / "+" / visual separators "-.()" */
#define C_TOKEN	   0x0400 /* RFC 3261 token */
#define C_RESERVED 0x0800 /* RFC 2396 reserved ";/?:@&=+$," */
#define C_PCT	   0x1000 /* '%': an escape, checked by the scan; in no other class */
#define C_LDH	   0x2000 /* letter, digit, hyphen: a host name label */

/* unreserved = alphanum / mark; mark = "-_.!~*'()" */
#define C_UNRES (C_USER | C_PASS | C_PARAM | C_HDR | C_URIC)
#define C_ALNUM (C_UNRES | C_SCHEME | C_TOKEN | C_LDH)

static const uint16_t cls[256] = {
	['0'] = C_ALNUM | C_DIGIT | C_HEX | C_TELNUM,
	['1'] = C_ALNUM | C_DIGIT | C_HEX | C_TELNUM,
	['2'] = C_ALNUM | C_DIGIT | C_HEX | C_TELNUM,
	['3'] = C_ALNUM | C_DIGIT | C_HEX | C_TELNUM,
	['4'] = C_ALNUM | C_DIGIT | C_HEX | C_TELNUM,
	['5'] = C_ALNUM | C_DIGIT | C_HEX | C_TELNUM,
	['6'] = C_ALNUM | C_DIGIT | C_HEX | C_TELNUM,
	['7'] = C_ALNUM | C_DIGIT | C_HEX | C_TELNUM,
	['8'] = C_ALNUM | C_DIGIT | C_HEX | C_TELNUM,
	['9'] = C_ALNUM | C_DIGIT | C_HEX | C_TELNUM,
	['A'] = C_ALNUM | C_ALPHA | C_HEX | C_TELNUM,
	['B'] = C_ALNUM | C_ALPHA | C_HEX | C_TELNUM,
	['C'] = C_ALNUM | C_ALPHA | C_HEX | C_TELNUM,
	['D'] = C_ALNUM | C_ALPHA | C_HEX | C_TELNUM,
	['E'] = C_ALNUM | C_ALPHA | C_HEX | C_TELNUM,
	['F'] = C_ALNUM | C_ALPHA | C_HEX | C_TELNUM,
	['G'] = C_ALNUM | C_ALPHA,
	['H'] = C_ALNUM | C_ALPHA,
	['I'] = C_ALNUM | C_ALPHA,
	['J'] = C_ALNUM | C_ALPHA,
	['K'] = C_ALNUM | C_ALPHA,
	['L'] = C_ALNUM | C_ALPHA,
	['M'] = C_ALNUM | C_ALPHA,
	['N'] = C_ALNUM | C_ALPHA,
	['O'] = C_ALNUM | C_ALPHA,
	['P'] = C_ALNUM | C_ALPHA,
	['Q'] = C_ALNUM | C_ALPHA,
	['R'] = C_ALNUM | C_ALPHA,
	['S'] = C_ALNUM | C_ALPHA,
	['T'] = C_ALNUM | C_ALPHA,
	['U'] = C_ALNUM | C_ALPHA,
	['V'] = C_ALNUM | C_ALPHA,
	['W'] = C_ALNUM | C_ALPHA,
	['X'] = C_ALNUM | C_ALPHA,
	['Y'] = C_ALNUM | C_ALPHA,
	['Z'] = C_ALNUM | C_ALPHA,
	['a'] = C_ALNUM | C_ALPHA | C_HEX | C_TELNUM,
	['b'] = C_ALNUM | C_ALPHA | C_HEX | C_TELNUM,
	['c'] = C_ALNUM | C_ALPHA | C_HEX | C_TELNUM,
	['d'] = C_ALNUM | C_ALPHA | C_HEX | C_TELNUM,
	['e'] = C_ALNUM | C_ALPHA | C_HEX | C_TELNUM,
	['f'] = C_ALNUM | C_ALPHA | C_HEX | C_TELNUM,
	['g'] = C_ALNUM | C_ALPHA,
	['h'] = C_ALNUM | C_ALPHA,
	['i'] = C_ALNUM | C_ALPHA,
	['j'] = C_ALNUM | C_ALPHA,
	['k'] = C_ALNUM | C_ALPHA,
	['l'] = C_ALNUM | C_ALPHA,
	['m'] = C_ALNUM | C_ALPHA,
	['n'] = C_ALNUM | C_ALPHA,
	['o'] = C_ALNUM | C_ALPHA,
	['p'] = C_ALNUM | C_ALPHA,
	['q'] = C_ALNUM | C_ALPHA,
	['r'] = C_ALNUM | C_ALPHA,
	['s'] = C_ALNUM | C_ALPHA,
	['t'] = C_ALNUM | C_ALPHA,
	['u'] = C_ALNUM | C_ALPHA,
	['v'] = C_ALNUM | C_ALPHA,
	['w'] = C_ALNUM | C_ALPHA,
	['x'] = C_ALNUM | C_ALPHA,
	['y'] = C_ALNUM | C_ALPHA,
	['z'] = C_ALNUM | C_ALPHA,
	/* mark */
	['-'] = C_UNRES | C_SCHEME | C_TOKEN | C_TELNUM | C_LDH,
	['_'] = C_UNRES | C_TOKEN,
	['.'] = C_UNRES | C_SCHEME | C_TOKEN | C_TELNUM,
	['!'] = C_UNRES | C_TOKEN,
	['~'] = C_UNRES | C_TOKEN,
	['*'] = C_UNRES | C_TOKEN | C_TELNUM,
	['\''] = C_UNRES | C_TOKEN,
	['('] = C_UNRES | C_TELNUM,
	[')'] = C_UNRES | C_TELNUM,
	/* reserved */
	[';'] = C_RESERVED | C_URIC | C_USER,
	['/'] = C_RESERVED | C_URIC | C_USER | C_PARAM | C_HDR,
	['?'] = C_RESERVED | C_URIC | C_USER | C_HDR,
	[':'] = C_RESERVED | C_URIC | C_PARAM | C_HDR,
	['@'] = C_RESERVED | C_URIC,
	['&'] = C_RESERVED | C_URIC | C_USER | C_PASS | C_PARAM,
	['='] = C_RESERVED | C_URIC | C_USER | C_PASS,
	['+'] = C_RESERVED | C_URIC | C_USER | C_PASS | C_PARAM | C_HDR | C_SCHEME | C_TOKEN |
		C_TELNUM,
	['$'] = C_RESERVED | C_URIC | C_USER | C_PASS | C_PARAM | C_HDR,
	[','] = C_RESERVED | C_URIC | C_USER | C_PASS,
	/* others */
	['['] = C_PARAM | C_HDR,
	[']'] = C_PARAM | C_HDR,
	['#'] = C_TELNUM,
	['`'] = C_TOKEN,
	['%'] = C_PCT,
};

/* One past the last octet; SV_NULL (NULL + 0 is undefined in C) ends where it starts. */
static inline const char *end_of(struct sv s)
{
	return s.len ? s.p + s.len : s.p;
}

static inline unsigned hexval(char c)
{
	return (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
}

/* A valid "%" HEX HEX at p (p < e, *p == '%'). */
static inline int esc_ok(const char *p, const char *e)
{
	return e - p >= 3 && (cls[(unsigned char)p[1]] & C_HEX) &&
	       (cls[(unsigned char)p[2]] & C_HEX);
}

/*
 * Advance over octets of class `cl` (one C_* bit) and, with `esc`, over valid
 * "%" HEX HEX escapes, setting *esc when there was one. Stops at the first
 * other octet, or at a '%' that starts no valid escape: the caller sees a '%'
 * there and reports it. Four octets are tested at a time: their classes ANDed
 * hold `cl` only if each does, and '%' is in no class but C_PCT.
 */
static inline const char *scan(const char *p, const char *e, uint16_t cl, int *esc)
{
	for (;;) {
		while (e - p >= 4 && (cls[(unsigned char)p[0]] & cls[(unsigned char)p[1]] &
				      cls[(unsigned char)p[2]] & cls[(unsigned char)p[3]] & cl))
			p += 4;
		while (p < e && (cls[(unsigned char)*p] & cl))
			p++;
		if (!esc || p >= e || *p != '%' || !esc_ok(p, e))
			return p;
		*esc = 1;
		p += 3;
	}
}

/*
 * Record a failure at `at`. The octet found there often says more than the
 * caller knows: white space (RFC 4475 lwsruri, badaspec) or a broken escape.
 */
static int fail(struct sip_err *err, const char *b, const char *e, const char *at,
		const char *reason)
{
	if (at < e && sv_is_ws(*at))
		reason = "white space in URI";
	else if (at < e && *at == '%' && !esc_ok(at, e))
		reason = "bad %-escape in URI";
	if (err) {
		err->code = -EBADMSG;
		err->off = (uint32_t)(at - b);
		err->reason = reason;
	}
	return -EBADMSG;
}

/*
 * A dotted quad at p: four dec-octets 0-255 of 1-3 digits joined by '.'.
 * Returns the octet after it, or NULL. Digits are tested by subtraction, one
 * compare each, with the three digits of an octet unrolled.
 */
static inline const char *ipv4_quad(const char *p, const char *e)
{
	for (int part = 0;; part++) {
		unsigned v, d;

		if (p >= e || (v = (unsigned)(unsigned char)*p - '0') > 9)
			return NULL;
		p++;
		if (p < e && (d = (unsigned)(unsigned char)*p - '0') <= 9) {
			v = v * 10 + d;
			p++;
			if (p < e && (d = (unsigned)(unsigned char)*p - '0') <= 9) {
				v = v * 10 + d;
				p++;
				if (v > 255)
					return NULL;
			}
		}
		if (part == 3)
			return p;
		if (p >= e || *p != '.')
			return NULL;
		p++;
	}
}

/* IPv4address: four dec-octets 0-255 of 1-3 digits, exactly [p, e). */
static int ipv4_ok(const char *p, const char *e)
{
	const char *q = ipv4_quad(p, e);
	return q && q == e;
}

/*
 * IPv6reference "[" IPv6address "]" at *pp (RFC 3261 §25.1 as corrected by RFC
 * 5118 §4.3 and RFC 4291 §2.2): eight groups of 1-4 hex digits, or fewer with
 * exactly one "::" standing for one or more zero groups; an IPv4 address may
 * stand for the last two. On success *pp is past the ']' and *host is the
 * address without brackets.
 */
static int ipv6_scan(const char **pp, const char *e, struct sv *host, const char **why)
{
	const char *p = *pp + 1, *a = p;
	int groups = 0, dcolon = 0, after_dc = 0;

	if (p < e && *p == ':') {
		if (e - p < 2 || p[1] != ':') {
			*why = "IPv6 reference starts with a single ':'";
			goto bad;
		}
		dcolon = after_dc = 1;
		p += 2;
	}
	for (;;) {
		const char *g = p;
		if (after_dc && p < e && *p == ']')
			break;
		while (p < e && p - g < 5 && (cls[(unsigned char)*p] & C_HEX))
			p++;
		if (p < e && *p == '.') {
			/* The IPv4 tail: decimal only, and last. */
			const char *q = g;
			while (q < e && ((cls[(unsigned char)*q] & C_DIGIT) || *q == '.'))
				q++;
			if (!ipv4_ok(g, q)) {
				p = g;
				*why = "bad IPv4 address inside IPv6 reference";
				goto bad;
			}
			p = q;
			groups += 2;
			if (p >= e || *p != ']') {
				*why = "IPv4 part not at the end of the IPv6 reference";
				goto bad;
			}
			break;
		}
		if (p == g) {
			*why = p >= e	   ? "IPv6 reference without ']'"
			       : *p == ':' ? "':::' in IPv6 reference"
					   : "empty group in IPv6 reference";
			goto bad;
		}
		if (p - g > 4) {
			p = g;
			*why = "IPv6 group longer than 4 hex digits";
			goto bad;
		}
		groups++;
		after_dc = 0;
		if (p < e && *p == ':') {
			if (e - p >= 2 && p[1] == ':') {
				if (dcolon) {
					*why = "more than one '::' in IPv6 reference";
					goto bad;
				}
				dcolon = after_dc = 1;
				p += 2;
			} else {
				p++;
			}
			continue;
		}
		if (p < e && *p == ']')
			break;
		*why = p < e ? "bad character in IPv6 reference" : "IPv6 reference without ']'";
		goto bad;
	}
	if (dcolon ? groups > 7 : groups != 8) {
		*why = "IPv6 address does not have eight groups";
		p = a;
		goto bad;
	}
	*host = sv_range(a, p);
	*pp = p + 1;
	return 0;
bad:
	*pp = p;
	return -1;
}

/*
 * host = hostname / IPv4address / IPv6reference at *pp. A run of digits and
 * dots is an IPv4 address; anything else with letters or '-' is a hostname whose
 * labels neither start nor end with '-' and whose top label starts with a
 * letter. On failure *pp is where the fault was seen.
 */
static int host_scan(const char **pp, const char *e, struct sv *host, uint8_t *type,
		     const char **why)
{
	const char *p = *pp, *h = p, *label, *top;
	uint16_t all = 0xffff; /* the classes of every label octet ANDed */

	if (p < e && *p == '[') {
		*type = SIP_HOST_IPV6;
		return ipv6_scan(pp, e, host, why);
	}
	/* The usual IPv4 address in one pass: a dotted quad that no host octet
	 * follows is what the label scan below would find and check again. */
	if (p < e && (cls[(unsigned char)*p] & C_DIGIT)) {
		const char *q = ipv4_quad(p, e);
		if (q && (q == e || (!(cls[(unsigned char)*q] & C_LDH) && *q != '.'))) {
			*type = SIP_HOST_IPV4;
			*host = sv_range(h, q);
			*pp = q;
			return 0;
		}
	}
	for (;;) {
		label = p;
		while (e - p >= 4) {
			uint16_t c4 = cls[(unsigned char)p[0]] & cls[(unsigned char)p[1]] &
				      cls[(unsigned char)p[2]] & cls[(unsigned char)p[3]];
			if (!(c4 & C_LDH))
				break;
			all &= c4;
			p += 4;
		}
		while (p < e && (cls[(unsigned char)*p] & C_LDH))
			all &= cls[(unsigned char)*p++];
		if (p == label) {
			*why = p == h ? "missing host" : "empty label in host name";
			goto bad;
		}
		if (*label == '-') {
			p = label;
			*why = "host label starts with '-'";
			goto bad;
		}
		if (p[-1] == '-') {
			*why = "host label ends with '-'";
			goto bad;
		}
		top = label;
		if (p >= e || *p != '.')
			break;
		p++;
		/* A trailing '.' (FQDN) leaves the top label one back. */
		if (p >= e || !(cls[(unsigned char)*p] & C_LDH)) {
			if (p < e && *p == '.') {
				*why = "empty label in host name";
				goto bad;
			}
			break;
		}
	}
	if (all & C_DIGIT) {
		/* Digits and dots only: an IPv4 address or nothing. */
		if (!ipv4_ok(h, p)) {
			/* "2001:db8::1" reads as host "2001" and a port (RFC 5118 §4.1). */
			*why = (p < e && *p == ':') ? "IPv6 address not in brackets"
						    : "bad IPv4 address";
			p = h;
			goto bad;
		}
		*type = SIP_HOST_IPV4;
	} else {
		if (!(cls[(unsigned char)*top] & C_ALPHA)) {
			p = top;
			*why = "top label of host name does not start with a letter";
			goto bad;
		}
		*type = SIP_HOST_NAME;
	}
	*host = sv_range(h, p);
	*pp = p;
	return 0;
bad:
	*pp = p;
	return -1;
}

/* [ ":" port ] at *pp: 1*DIGIT, 1-65535. */
static int port_scan(const char **pp, const char *e, uint16_t *port, const char **why)
{
	const char *p = *pp, *d;
	uint32_t v = 0;

	*port = 0;
	if (p >= e || *p != ':')
		return 0;
	d = ++p;
	while (p < e && (cls[(unsigned char)*p] & C_DIGIT)) {
		v = v * 10 + (uint32_t)(*p++ - '0');
		if (v > 65535) {
			*why = "port larger than 65535";
			*pp = d;
			return -1;
		}
	}
	if (p == d || v == 0) {
		*why = p != d		      ? "port 0"
		       : (p < e && *p == ':') ? "IPv6 address not in brackets"
					      : "port has no digits";
		*pp = d;
		return -1;
	}
	*port = (uint16_t)v;
	*pp = p;
	return 0;
}

int sip_hostport_parse(struct sv s, struct sv *host, uint8_t *host_type, uint16_t *port,
		       struct sip_err *err)
{
	const char *p = s.p, *e = end_of(s), *why = NULL;
	uint8_t type = SIP_HOST_NONE;

	if (host_scan(&p, e, host, &type, &why) < 0 || port_scan(&p, e, port, &why) < 0)
		return fail(err, s.p, e, p, why);
	if (p != e)
		return fail(err, s.p, e, p, "unexpected character after host");
	*host_type = type;
	return 0;
}

/* The parameters sip_uri_parse() exposes, and which §19.1.4 treats apart. */
enum uri_param_kind { P_OTHER = 0, P_TRANSPORT, P_USER, P_METHOD, P_MADDR, P_TTL, P_LR };

/* n octets of s against a lower-case literal of letters, in any case. */
static inline int lit_ieq(const char *s, const char *lit, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((char)(s[i] | 0x20) != lit[i])
			return 0;
	return 1;
}

/* Which parameter a name is; `esc` when the name holds a '%' (RFC 4475 esc01
 * writes "lr" as "%6C%72"). */
static enum uri_param_kind param_kind(struct sv n, int esc)
{
	char buf[9];

	if (esc) {
		int l = sip_unescape(n, buf, sizeof(buf));
		if (l < 0)
			return P_OTHER;
		n = sv_make(buf, (size_t)l);
	}
	switch (n.len) {
	case 2:
		return lit_ieq(n.p, "lr", 2) ? P_LR : P_OTHER;
	case 3:
		return lit_ieq(n.p, "ttl", 3) ? P_TTL : P_OTHER;
	case 4:
		return lit_ieq(n.p, "user", 4) ? P_USER : P_OTHER;
	case 5:
		return lit_ieq(n.p, "maddr", 5) ? P_MADDR : P_OTHER;
	case 6:
		return lit_ieq(n.p, "method", 6) ? P_METHOD : P_OTHER;
	case 9:
		return lit_ieq(n.p, "transport", 9) ? P_TRANSPORT : P_OTHER;
	}
	return P_OTHER;
}

static struct sv *param_slot(struct sip_uri *u, enum uri_param_kind k)
{
	switch (k) {
	case P_TRANSPORT:
		return &u->transport;
	case P_USER:
		return &u->user_param;
	case P_METHOD:
		return &u->method;
	case P_MADDR:
		return &u->maddr;
	case P_TTL:
		return &u->ttl;
	default:
		return NULL;
	}
}

/* Check the value of a well-known parameter against its rule in §25.1. */
static int param_value_ok(enum uri_param_kind k, struct sv v, const char **at, const char **why)
{
	const char *p = v.p, *e = v.p + v.len;
	struct sv h;
	uint8_t t;

	switch (k) {
	case P_TTL: {
		/* ttl = 1*3DIGIT ; 0 to 255 */
		unsigned n = 0;
		for (; p < e && p - v.p < 3 && (cls[(unsigned char)*p] & C_DIGIT); p++)
			n = n * 10 + (unsigned)(*p - '0');
		if (p == v.p || p != e || n > 255) {
			*at = v.p;
			*why = "ttl parameter is not 0-255";
			return -1;
		}
		return 0;
	}
	case P_MADDR:
		if (host_scan(&p, e, &h, &t, why) < 0) {
			*at = p;
			return -1;
		}
		if (p != e) {
			*at = p;
			*why = "maddr parameter is not a host";
			return -1;
		}
		return 0;
	case P_METHOD:
	case P_TRANSPORT:
	case P_USER:
		/* Method / token ('%' is a token octet) */
		while (p < e && (cls[(unsigned char)*p] & (C_TOKEN | C_PCT)))
			p++;
		if (p == v.p || p != e) {
			*at = p;
			*why = "parameter value is not a token";
			return -1;
		}
		return 0;
	default:
		return 0;
	}
}

/*
 * uri-parameters after a ';' at *pp: pname [ "=" pvalue ] *( ";" ... ), each
 * 1*paramchar. ";lr" sets u->lr; with `known` (sip, sips) the values of the
 * other well-known ones are checked and stored in u, the first of each kind.
 */
static int params_scan(const char **pp, const char *b, const char *e, struct sip_uri *u, int known,
		       struct sip_err *err)
{
	const char *p = *pp;
	int dummy;

	for (;;) {
		const char *n = p, *ne, *at = NULL, *why = NULL;
		struct sv val = SV_NULL, *slot;
		enum uri_param_kind k;
		int esc = 0;

		p = scan(p, e, C_PARAM, &esc);
		if (p == n)
			return fail(err, b, e, p, "empty URI parameter name");
		ne = p;
		if (p < e && *p == '=') {
			const char *v = ++p;
			p = scan(p, e, C_PARAM, &dummy);
			if (p == v)
				return fail(err, b, e, p, "empty URI parameter value");
			val = sv_range(v, p);
		}
		k = param_kind(sv_range(n, ne), esc);
		if (k == P_LR) {
			u->lr = true;
		} else if (known && k != P_OTHER && val.p) {
			/* "transport" without "=" is only an other-param by name. */
			if (param_value_ok(k, val, &at, &why) < 0)
				return fail(err, b, e, at, why);
			slot = param_slot(u, k);
			if (!slot->p)
				*slot = val;
		}
		if (p < e && *p == ';') {
			p++;
			continue;
		}
		break;
	}
	*pp = p;
	return 0;
}

/* headers after a '?' at *pp: hname "=" hvalue *( "&" ... ). */
static int headers_scan(const char **pp, const char *b, const char *e, struct sip_err *err)
{
	const char *p = *pp;
	int esc;

	for (;;) {
		const char *n = p;
		p = scan(p, e, C_HDR, &esc);
		if (p == n)
			return fail(err, b, e, p, "empty URI header name");
		if (p >= e || *p != '=')
			return fail(err, b, e, p, "URI header without '='");
		p = scan(p + 1, e, C_HDR, &esc);
		if (p < e && *p == '&') {
			p++;
			continue;
		}
		break;
	}
	*pp = p;
	return 0;
}

/*
 * sip:/sips: after the colon. The userinfo ends at an '@', which may appear
 * nowhere else in a SIP URI: when memchr() finds one, [p, '@') must scan as
 * user (which holds ';' '?' '/', RFC 4475 semiuri) [ ":" password ]; without
 * one, the URI starts with the host. An '@' that does not end a valid userinfo
 * is left for the host scan to trip on.
 */
static int sip_scan(const char *p, const char *b, const char *e, struct sip_uri *u,
		    struct sip_err *err)
{
	const char *at = memchr(p, '@', (size_t)(e - p)), *why = NULL;
	int esc;

	if (at) {
		const char *q = scan(p, at, C_USER, &esc);
		/* A '%' where a scan stops starts no valid escape, and a SIP URI
		 * has no other use for it. */
		if (q < at && *q == '%')
			return fail(err, b, e, q, "bad %-escape in URI");
		if (q == at) {
			u->user = sv_range(p, q);
		} else if (*q == ':') {
			const char *r = scan(q + 1, at, C_PASS, &esc);
			if (r < at && *r == '%')
				return fail(err, b, e, r, "bad %-escape in URI");
			if (r == at) {
				u->user = sv_range(p, q);
				u->password = sv_range(q + 1, r);
				u->has_password = true;
			}
		}
		if (u->user.p) {
			if (u->user.len == 0)
				return fail(err, b, e, p, "empty user part before '@'");
			p = at + 1;
		}
	}
	if (host_scan(&p, e, &u->host, &u->host_type, &why) < 0 ||
	    port_scan(&p, e, &u->port, &why) < 0)
		return fail(err, b, e, p, why);
	if (p < e && *p == ';') {
		const char *ps = ++p;
		if (params_scan(&p, b, e, u, 1, err) < 0)
			return -EBADMSG;
		u->params = sv_range(ps, p);
	}
	if (p < e && *p == '?') {
		const char *hs = ++p;
		if (headers_scan(&p, b, e, err) < 0)
			return -EBADMSG;
		u->headers = sv_range(hs, p);
	}
	if (p != e)
		return fail(err, b, e, p, "unexpected character in URI");
	return 0;
}

/*
 * tel: (RFC 3966): the number (global "+..." with at least one digit, or local
 * digits, hex digits, '*', '#', and visual separators) then parameters.
 */
static int tel_scan(const char *p, const char *b, const char *e, struct sip_uri *u,
		    struct sip_err *err)
{
	const char *a = p;
	uint16_t seen = 0;

	while (p < e) {
		uint16_t c = cls[(unsigned char)*p];
		if (!(c & (C_TELNUM | C_PCT)))
			break;
		if (c & C_PCT) {
			if (!esc_ok(p, e))
				break;
			p += 3;
			continue;
		}
		if (*p == '+' && p != a)
			return fail(err, b, e, p, "'+' inside a telephone number");
		seen |= c;
		p++;
	}
	if (p == a)
		return fail(err, b, e, p, "empty telephone number");
	if (*a == '+' && !(seen & C_DIGIT))
		return fail(err, b, e, a, "global telephone number without digits");
	u->user = sv_range(a, p);
	if (p < e && *p == ';') {
		const char *ps = ++p;
		if (params_scan(&p, b, e, u, 0, err) < 0)
			return -EBADMSG;
		u->params = sv_range(ps, p);
	}
	if (p != e)
		return fail(err, b, e, p, "unexpected character in tel URI");
	return 0;
}

int sip_uri_parse(struct sv s, struct sip_uri *u, struct sip_err *err)
{
	const char *b = s.p, *p = b, *e = end_of(s);
	size_t n;

	*u = (struct sip_uri){ 0 };
	if (p >= e || !(cls[(unsigned char)*p] & C_ALPHA))
		return fail(err, b, e, p,
			    p >= e ? "empty URI" : "URI does not start with a scheme");
	while (p < e && (cls[(unsigned char)*p] & C_SCHEME))
		p++;
	if (p >= e || *p != ':')
		return fail(err, b, e, p, "URI scheme not followed by ':'");
	u->scheme_name = sv_range(b, p);
	n = (size_t)(p - b);
	p++;
	if (n == 3 && lit_ieq(b, "sip", 3)) {
		u->scheme = SIP_URI_SIP;
		return sip_scan(p, b, e, u, err);
	}
	if (n == 4 && lit_ieq(b, "sips", 4)) {
		u->scheme = SIP_URI_SIPS;
		return sip_scan(p, b, e, u, err);
	}
	if (n == 3 && lit_ieq(b, "tel", 3)) {
		u->scheme = SIP_URI_TEL;
		return tel_scan(p, b, e, u, err);
	}
	/* Any other scheme: RFC 2396 hier-part / opaque-part, all uric octets. */
	u->scheme = SIP_URI_OTHER;
	const char *a = p;
	int esc;
	p = scan(p, e, C_URIC, &esc);
	if (p == a)
		return fail(err, b, e, p,
			    p < e ? "bad character in URI" : "empty URI after scheme");
	if (p != e)
		return fail(err, b, e, p, "bad character in URI");
	u->opaque = sv_range(a, e);
	return 0;
}

int sip_unescape(struct sv s, char *out, size_t cap)
{
	const char *p = s.p, *e = end_of(s);
	size_t n = 0;

	while (p < e) {
		char c = *p;
		if (c == '%') {
			if (!esc_ok(p, e))
				return -EBADMSG;
			c = (char)(hexval(p[1]) << 4 | hexval(p[2]));
			p += 3;
		} else {
			p++;
		}
		if (n >= cap || n >= INT_MAX)
			return -ENOBUFS;
		out[n++] = c;
	}
	return (int)n;
}

/*
 * The next octet of an escaped view, decoded. An escaped octet of the RFC 2396
 * reserved set stays distinct from the same octet written plainly (§19.1.4:
 * only characters outside "reserved" equal their escapes), so it comes back
 * with bit 8 set. A '%' that starts no valid escape is read as itself.
 */
static inline unsigned next_oct(const char **pp, const char *e)
{
	const char *p = *pp;
	unsigned c = (unsigned char)*p;

	if (c == '%' && esc_ok(p, e)) {
		c = hexval(p[1]) << 4 | hexval(p[2]);
		*pp = p + 3;
		return (cls[c] & C_RESERVED) ? c | 0x100 : c;
	}
	*pp = p + 1;
	return c;
}

static inline unsigned fold(unsigned c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* Equality of two escaped views after unescaping, case-insensitive with `ci`. */
static int esc_eq(struct sv a, struct sv b, int ci)
{
	if (a.len == 0 || b.len == 0) /* an absent view may be NULL */
		return a.len == b.len;
	if (a.len == b.len && (sv_eq(a, b) || (ci && sv_caseeq(a, b))))
		return 1;

	const char *p = a.p, *pe = a.p + a.len, *q = b.p, *qe = b.p + b.len;

	while (p < pe && q < qe) {
		unsigned x = next_oct(&p, pe), y = next_oct(&q, qe);
		if (ci) {
			x = fold(x);
			y = fold(y);
		}
		if (x != y)
			return 0;
	}
	return p == pe && q == qe;
}

/*
 * Split the next "name[=value]" off a parameter or header list that parsing
 * has already checked. A name without '=' gets an empty value.
 */
static int item_next(struct sv *rest, char sep, struct sv *name, struct sv *val)
{
	if (rest->len == 0)
		return 0;

	const char *p = rest->p, *e = rest->p + rest->len, *n = p;

	while (p < e && *p != sep && *p != '=')
		p++;
	*name = sv_range(n, p);
	if (p < e && *p == '=') {
		const char *v = ++p;
		while (p < e && *p != sep)
			p++;
		*val = sv_range(v, p);
	} else {
		*val = sv_make(p, 0);
	}
	if (p < e)
		p++;
	*rest = sv_range(p, e);
	return 1;
}

static int item_find(struct sv list, char sep, struct sv name, struct sv *value)
{
	struct sv n, v;

	while (item_next(&list, sep, &n, &v))
		if (esc_eq(n, name, 1)) {
			*value = v;
			return 1;
		}
	return 0;
}

/*
 * 1 when list holds an item of this name with an equal value, 0 when it holds
 * the name only with other values, -1 when it lacks the name. Looking at every
 * item of the name, not only the first, keeps comparison reflexive and
 * symmetric when a (malformed) URI repeats a name.
 */
static int item_match(struct sv list, char sep, struct sv name, struct sv value, int ci)
{
	struct sv n, v;
	int r = -1;

	while (item_next(&list, sep, &n, &v))
		if (esc_eq(n, name, 1)) {
			if (esc_eq(v, value, ci))
				return 1;
			r = 0;
		}
	return r;
}

bool sip_uri_param(const struct sip_uri *u, struct sv name, struct sv *value)
{
	struct sv v;

	if (!item_find(u->params, ';', name, &v))
		return false;
	if (value)
		*value = v;
	return true;
}

/* Every item of list a is in list b with an equal value (names always
 * case-insensitive; values with `ci`). */
static int items_in(struct sv a, struct sv b, char sep, int ci)
{
	struct sv n, v;

	while (item_next(&a, sep, &n, &v))
		if (item_match(b, sep, n, v, ci) != 1)
			return 0;
	return 1;
}

static size_t items_count(struct sv list, char sep)
{
	struct sv n, v;
	size_t c = 0;

	while (item_next(&list, sep, &n, &v))
		c++;
	return c;
}

/* The same items in any order (a multiset check for the usual, duplicate-free lists). */
static int items_same(struct sv a, struct sv b, char sep, int ci)
{
	return items_count(a, sep) == items_count(b, sep) && items_in(a, b, sep, ci) &&
	       items_in(b, a, sep, ci);
}

/* Well-known parameters must be in both or neither; equal values either way. */
static int known_eq(struct sv a, struct sv b)
{
	if (!a.p || !b.p)
		return !a.p && !b.p;
	return esc_eq(a, b, 1);
}

/* Other parameters of a count only when b has them too (§19.1.4). */
static int others_in(struct sv a, struct sv b)
{
	struct sv n, v;

	while (item_next(&a, ';', &n, &v)) {
		enum uri_param_kind k = param_kind(n, memchr(n.p, '%', n.len) != NULL);
		if (k != P_OTHER && k != P_LR)
			continue;
		if (item_match(b, ';', n, v, 1) == 0)
			return 0;
	}
	return 1;
}

/* RFC 3966 §4: digits equal once visual separators are dropped, any case. */
#define TEL_END 0x200 /* past the end: no octet, escaped or not, decodes to it */
static int tel_number_eq(struct sv a, struct sv b)
{
	if (a.len == 0 || b.len == 0)
		return a.len == b.len;

	const char *p = a.p, *pe = a.p + a.len, *q = b.p, *qe = b.p + b.len;

	for (;;) {
		unsigned x = TEL_END, y = TEL_END;
		while (p < pe) {
			x = fold(next_oct(&p, pe));
			if (x != '-' && x != '.' && x != '(' && x != ')')
				break;
			x = TEL_END;
		}
		while (q < qe) {
			y = fold(next_oct(&q, qe));
			if (y != '-' && y != '.' && y != '(' && y != ')')
				break;
			y = TEL_END;
		}
		if (x != y)
			return 0;
		if (x == TEL_END)
			return 1;
	}
}

bool sip_uri_equal(const struct sip_uri *a, const struct sip_uri *b)
{
	if (a->scheme != b->scheme)
		return false;
	switch (a->scheme) {
	case SIP_URI_SIP:
	case SIP_URI_SIPS:
		break;
	case SIP_URI_TEL:
		/* Parameters: the same names with the same values, any order, any case. */
		return tel_number_eq(a->user, b->user) && items_same(a->params, b->params, ';', 1);
	default:
		return sv_caseeq(a->scheme_name, b->scheme_name) && esc_eq(a->opaque, b->opaque, 0);
	}
	/* userinfo is case-sensitive; a missing user or password matches no other. */
	if ((a->user.len == 0) != (b->user.len == 0) || !esc_eq(a->user, b->user, 0))
		return false;
	if (a->has_password != b->has_password || !esc_eq(a->password, b->password, 0))
		return false;
	if (!esc_eq(a->host, b->host, 1) || a->port != b->port)
		return false;
	/* transport, user, method, ttl and maddr match only if in both or neither. */
	if (!known_eq(a->transport, b->transport) || !known_eq(a->user_param, b->user_param) ||
	    !known_eq(a->method, b->method) || !known_eq(a->ttl, b->ttl) ||
	    !known_eq(a->maddr, b->maddr))
		return false;
	if ((a->params.len || b->params.len) &&
	    (!others_in(a->params, b->params) || !others_in(b->params, a->params)))
		return false;
	/* Headers are never ignored: the same names and values, in any order. Names
	 * are case-insensitive; values are compared exactly, after unescaping,
	 * because §20 gives each header its own rules. */
	return (!a->headers.len && !b->headers.len) || items_same(a->headers, b->headers, '&', 0);
}
