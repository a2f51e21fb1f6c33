/* SPDX-License-Identifier: MIT */
/*
 * sip_msg.c: one-pass, zero-copy indexing of a SIP message (see sip_msg.h).
 *
 * The pass: start line, then for each header line the name (token octets up to
 * the colon), the value up to the line end that is not followed by SP/HTAB
 * (folding), then the body by Content-Length. Line ends are found with the SIMD
 * scan of sip_scan.h; each header name is mapped to its id by a switch on its
 * length and first letter. Every pointer is checked against `end` before it is
 * read.
 */
#include "sip_msg.h"

#include <errno.h>
#include <string.h>

#include "sip_scan.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

const struct sip_limits sip_limits_default = {
	.max_msg = 65536,
	.max_hdr_len = 8192,
	.max_hdrs = 128,
};

/* RFC 3261 §25.1 token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" */
static const uint8_t tokchar[256] = {
	['!'] = 1, ['%'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['0'] = 1,
	['1'] = 1, ['2'] = 1, ['3'] = 1,  ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1,
	['9'] = 1, ['A'] = 1, ['B'] = 1,  ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
	['H'] = 1, ['I'] = 1, ['J'] = 1,  ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1,
	['P'] = 1, ['Q'] = 1, ['R'] = 1,  ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1,
	['X'] = 1, ['Y'] = 1, ['Z'] = 1,  ['_'] = 1, ['`'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,
	['d'] = 1, ['e'] = 1, ['f'] = 1,  ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,
	['l'] = 1, ['m'] = 1, ['n'] = 1,  ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,
	['t'] = 1, ['u'] = 1, ['v'] = 1,  ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['~'] = 1,
};

static const uint8_t compact_ids[256] = {
	['v'] = SIP_HDR_VIA,
	['V'] = SIP_HDR_VIA,
	['f'] = SIP_HDR_FROM,
	['F'] = SIP_HDR_FROM,
	['t'] = SIP_HDR_TO,
	['T'] = SIP_HDR_TO,
	['i'] = SIP_HDR_CALL_ID,
	['I'] = SIP_HDR_CALL_ID,
	['m'] = SIP_HDR_CONTACT,
	['M'] = SIP_HDR_CONTACT,
	['l'] = SIP_HDR_CONTENT_LENGTH,
	['L'] = SIP_HDR_CONTENT_LENGTH,
	['c'] = SIP_HDR_CONTENT_TYPE,
	['C'] = SIP_HDR_CONTENT_TYPE,
	['e'] = SIP_HDR_CONTENT_ENCODING,
	['E'] = SIP_HDR_CONTENT_ENCODING,
	['k'] = SIP_HDR_SUPPORTED,
	['K'] = SIP_HDR_SUPPORTED,
	['x'] = SIP_HDR_SESSION_EXPIRES,
	['X'] = SIP_HDR_SESSION_EXPIRES,
	['o'] = SIP_HDR_EVENT,
	['O'] = SIP_HDR_EVENT,
	['s'] = SIP_HDR_SUBJECT,
	['S'] = SIP_HDR_SUBJECT,
	['r'] = SIP_HDR_REFER_TO,
	['R'] = SIP_HDR_REFER_TO,
	['b'] = SIP_HDR_REFERRED_BY,
	['B'] = SIP_HDR_REFERRED_BY,
	['u'] = SIP_HDR_ALLOW_EVENTS,
	['U'] = SIP_HDR_ALLOW_EVENTS,
};

static const char *const hdr_canon[SIP_HDR__COUNT] = {
	[SIP_HDR_VIA] = "Via",
	[SIP_HDR_FROM] = "From",
	[SIP_HDR_TO] = "To",
	[SIP_HDR_CALL_ID] = "Call-ID",
	[SIP_HDR_CSEQ] = "CSeq",
	[SIP_HDR_CONTACT] = "Contact",
	[SIP_HDR_MAX_FORWARDS] = "Max-Forwards",
	[SIP_HDR_CONTENT_LENGTH] = "Content-Length",
	[SIP_HDR_CONTENT_TYPE] = "Content-Type",
	[SIP_HDR_CONTENT_ENCODING] = "Content-Encoding",
	[SIP_HDR_CONTENT_DISPOSITION] = "Content-Disposition",
	[SIP_HDR_EXPIRES] = "Expires",
	[SIP_HDR_MIN_EXPIRES] = "Min-Expires",
	[SIP_HDR_ROUTE] = "Route",
	[SIP_HDR_RECORD_ROUTE] = "Record-Route",
	[SIP_HDR_PATH] = "Path",
	[SIP_HDR_AUTHORIZATION] = "Authorization",
	[SIP_HDR_PROXY_AUTHORIZATION] = "Proxy-Authorization",
	[SIP_HDR_WWW_AUTHENTICATE] = "WWW-Authenticate",
	[SIP_HDR_PROXY_AUTHENTICATE] = "Proxy-Authenticate",
	[SIP_HDR_AUTHENTICATION_INFO] = "Authentication-Info",
	[SIP_HDR_REQUIRE] = "Require",
	[SIP_HDR_PROXY_REQUIRE] = "Proxy-Require",
	[SIP_HDR_SUPPORTED] = "Supported",
	[SIP_HDR_UNSUPPORTED] = "Unsupported",
	[SIP_HDR_ALLOW] = "Allow",
	[SIP_HDR_ACCEPT] = "Accept",
	[SIP_HDR_SESSION_EXPIRES] = "Session-Expires",
	[SIP_HDR_MIN_SE] = "Min-SE",
	[SIP_HDR_PRIVACY] = "Privacy",
	[SIP_HDR_P_ASSERTED_IDENTITY] = "P-Asserted-Identity",
	[SIP_HDR_P_PREFERRED_IDENTITY] = "P-Preferred-Identity",
	[SIP_HDR_REMOTE_PARTY_ID] = "Remote-Party-ID",
	[SIP_HDR_EVENT] = "Event",
	[SIP_HDR_SUBJECT] = "Subject",
	[SIP_HDR_USER_AGENT] = "User-Agent",
	[SIP_HDR_SERVER] = "Server",
	[SIP_HDR_DATE] = "Date",
	[SIP_HDR_REFER_TO] = "Refer-To",
	[SIP_HDR_REFERRED_BY] = "Referred-By",
	[SIP_HDR_RETRY_AFTER] = "Retry-After",
	[SIP_HDR_REASON] = "Reason",
	[SIP_HDR_ALLOW_EVENTS] = "Allow-Events",
	[SIP_HDR_SUBSCRIPTION_STATE] = "Subscription-State",
};

static const char *const method_str[SIP_METHOD__COUNT] = {
	[SIP_METHOD_INVITE] = "INVITE",	    [SIP_METHOD_ACK] = "ACK",
	[SIP_METHOD_BYE] = "BYE",	    [SIP_METHOD_CANCEL] = "CANCEL",
	[SIP_METHOD_REGISTER] = "REGISTER", [SIP_METHOD_OPTIONS] = "OPTIONS",
	[SIP_METHOD_INFO] = "INFO",	    [SIP_METHOD_PRACK] = "PRACK",
	[SIP_METHOD_UPDATE] = "UPDATE",	    [SIP_METHOD_SUBSCRIBE] = "SUBSCRIBE",
	[SIP_METHOD_NOTIFY] = "NOTIFY",	    [SIP_METHOD_REFER] = "REFER",
	[SIP_METHOD_MESSAGE] = "MESSAGE",   [SIP_METHOD_PUBLISH] = "PUBLISH",
};

/*
 * Header-name comparison by words. `lit` is lower case letters and '-'. Bit
 * 0x40 is set in a lower-case letter and not in '-', so (L & 0x40..) >> 1 puts
 * the case bit 0x20 under each letter of the literal: OR-ing it into the name
 * folds A-Z onto a-z, and only A-Z and a-z land on a letter that way, while
 * '-' must match exactly. n is a constant at every call, so the loads below
 * become a few immediate compares; none reads outside [name, name + n).
 */
static inline uint64_t ld8(const char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t ld4(const char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint16_t ld2(const char *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static inline int eq8(const char *p, const char *l)
{
	uint64_t L = ld8(l);
	return (ld8(p) | ((L & 0x4040404040404040ull) >> 1)) == L;
}

static inline int eq4(const char *p, const char *l)
{
	uint32_t L = ld4(l);
	return (ld4(p) | ((L & 0x40404040u) >> 1)) == L;
}

static inline int eq2(const char *p, const char *l)
{
	uint16_t L = ld2(l);
	return (uint16_t)(ld2(p) | ((L & 0x4040u) >> 1)) == L;
}

static inline int name_eq(const char *name, const char *lit, size_t n)
{
	if (n >= 8) {
		size_t i;
		for (i = 0; i + 8 <= n; i += 8)
			if (!eq8(name + i, lit + i))
				return 0;
		return i == n || eq8(name + n - 8, lit + n - 8);
	}
	if (n >= 4)
		return eq4(name, lit) && eq4(name + n - 4, lit + n - 4);
	if (n >= 2)
		return eq2(name, lit) && eq2(name + n - 2, lit + n - 2);
	return n == 1 && (name[0] | 0x20) == lit[0];
}

static inline enum sip_hdr_id hdr_lookup(const char *name, size_t len)
{
	/* Generated from SIP_HDR_LIST by scripts/gen-hdr-lookup.py; the test
	 * test_sip_msg.c:lookup_every_listed_header keeps the two in step. */
	switch (len) {
	case 1:
		return (enum sip_hdr_id)compact_ids[(unsigned char)name[0]];
	case 2:
		switch (name[0] | 0x20) {
		case 't':
			if (name_eq(name, "to", 2))
				return SIP_HDR_TO;
			return SIP_HDR_OTHER;
		}
		return SIP_HDR_OTHER;
	case 3:
		switch (name[0] | 0x20) {
		case 'v':
			if (name_eq(name, "via", 3))
				return SIP_HDR_VIA;
			return SIP_HDR_OTHER;
		}
		return SIP_HDR_OTHER;
	case 4:
		switch (name[0] | 0x20) {
		case 'c':
			if (name_eq(name, "cseq", 4))
				return SIP_HDR_CSEQ;
			return SIP_HDR_OTHER;
		case 'd':
			if (name_eq(name, "date", 4))
				return SIP_HDR_DATE;
			return SIP_HDR_OTHER;
		case 'f':
			if (name_eq(name, "from", 4))
				return SIP_HDR_FROM;
			return SIP_HDR_OTHER;
		case 'p':
			if (name_eq(name, "path", 4))
				return SIP_HDR_PATH;
			return SIP_HDR_OTHER;
		}
		return SIP_HDR_OTHER;
	case 5:
		switch (name[0] | 0x20) {
		case 'a':
			if (name_eq(name, "allow", 5))
				return SIP_HDR_ALLOW;
			return SIP_HDR_OTHER;
		case 'e':
			if (name_eq(name, "event", 5))
				return SIP_HDR_EVENT;
			return SIP_HDR_OTHER;
		case 'r':
			if (name_eq(name, "route", 5))
				return SIP_HDR_ROUTE;
			return SIP_HDR_OTHER;
		}
		return SIP_HDR_OTHER;
	case 6:
		switch (name[0] | 0x20) {
		case 'a':
			if (name_eq(name, "accept", 6))
				return SIP_HDR_ACCEPT;
			return SIP_HDR_OTHER;
		case 'm':
			if (name_eq(name, "min-se", 6))
				return SIP_HDR_MIN_SE;
			return SIP_HDR_OTHER;
		case 'r':
			if (name_eq(name, "reason", 6))
				return SIP_HDR_REASON;
			return SIP_HDR_OTHER;
		case 's':
			if (name_eq(name, "server", 6))
				return SIP_HDR_SERVER;
			return SIP_HDR_OTHER;
		}
		return SIP_HDR_OTHER;
	case 7:
		switch (name[0] | 0x20) {
		case 'c':
			if (name_eq(name, "call-id", 7))
				return SIP_HDR_CALL_ID;
			if (name_eq(name, "contact", 7))
				return SIP_HDR_CONTACT;
			return SIP_HDR_OTHER;
		case 'e':
			if (name_eq(name, "expires", 7))
				return SIP_HDR_EXPIRES;
			return SIP_HDR_OTHER;
		case 'p':
			if (name_eq(name, "privacy", 7))
				return SIP_HDR_PRIVACY;
			return SIP_HDR_OTHER;
		case 'r':
			if (name_eq(name, "require", 7))
				return SIP_HDR_REQUIRE;
			return SIP_HDR_OTHER;
		case 's':
			if (name_eq(name, "subject", 7))
				return SIP_HDR_SUBJECT;
			return SIP_HDR_OTHER;
		}
		return SIP_HDR_OTHER;
	case 8:
		switch (name[0] | 0x20) {
		case 'r':
			if (name_eq(name, "refer-to", 8))
				return SIP_HDR_REFER_TO;
			return SIP_HDR_OTHER;
		}
		return SIP_HDR_OTHER;
	case 9:
		switch (name[0] | 0x20) {
		case 's':
			if (name_eq(name, "supported", 9))
				return SIP_HDR_SUPPORTED;
			return SIP_HDR_OTHER;
		}
		return SIP_HDR_OTHER;
	case 10:
		switch (name[0] | 0x20) {
		case 'u':
			if (name_eq(name, "user-agent", 10))
				return SIP_HDR_USER_AGENT;
			return SIP_HDR_OTHER;
		}
		return SIP_HDR_OTHER;
	case 11:
		switch (name[0] | 0x20) {
		case 'm':
			if (name_eq(name, "min-expires", 11))
				return SIP_HDR_MIN_EXPIRES;
			return SIP_HDR_OTHER;
		case 'r':
			if (name_eq(name, "referred-by", 11))
				return SIP_HDR_REFERRED_BY;
			if (name_eq(name, "retry-after", 11))
				return SIP_HDR_RETRY_AFTER;
			return SIP_HDR_OTHER;
		case 'u':
			if (name_eq(name, "unsupported", 11))
				return SIP_HDR_UNSUPPORTED;
			return SIP_HDR_OTHER;
		}
		return SIP_HDR_OTHER;
	case 12:
		switch (name[0] | 0x20) {
		case 'a':
			if (name_eq(name, "allow-events", 12))
				return SIP_HDR_ALLOW_EVENTS;
			return SIP_HDR_OTHER;
		case 'c':
			if (name_eq(name, "content-type", 12))
				return SIP_HDR_CONTENT_TYPE;
			return SIP_HDR_OTHER;
		case 'm':
			if (name_eq(name, "max-forwards", 12))
				return SIP_HDR_MAX_FORWARDS;
			return SIP_HDR_OTHER;
		case 'r':
			if (name_eq(name, "record-route", 12))
				return SIP_HDR_RECORD_ROUTE;
			return SIP_HDR_OTHER;
		}
		return SIP_HDR_OTHER;
	case 13:
		switch (name[0] | 0x20) {
		case 'a':
			if (name_eq(name, "authorization", 13))
				return SIP_HDR_AUTHORIZATION;
			return SIP_HDR_OTHER;
		case 'p':
			if (name_eq(name, "proxy-require", 13))
				return SIP_HDR_PROXY_REQUIRE;
			return SIP_HDR_OTHER;
		}
		return SIP_HDR_OTHER;
	case 14:
		switch (name[0] | 0x20) {
		case 'c':
			if (name_eq(name, "content-length", 14))
				return SIP_HDR_CONTENT_LENGTH;
			return SIP_HDR_OTHER;
		}
		return SIP_HDR_OTHER;
	case 15:
		switch (name[0] | 0x20) {
		case 'r':
			if (name_eq(name, "remote-party-id", 15))
				return SIP_HDR_REMOTE_PARTY_ID;
			return SIP_HDR_OTHER;
		case 's':
			if (name_eq(name, "session-expires", 15))
				return SIP_HDR_SESSION_EXPIRES;
			return SIP_HDR_OTHER;
		}
		return SIP_HDR_OTHER;
	case 16:
		switch (name[0] | 0x20) {
		case 'c':
			if (name_eq(name, "content-encoding", 16))
				return SIP_HDR_CONTENT_ENCODING;
			return SIP_HDR_OTHER;
		case 'w':
			if (name_eq(name, "www-authenticate", 16))
				return SIP_HDR_WWW_AUTHENTICATE;
			return SIP_HDR_OTHER;
		}
		return SIP_HDR_OTHER;
	case 18:
		switch (name[0] | 0x20) {
		case 'p':
			if (name_eq(name, "proxy-authenticate", 18))
				return SIP_HDR_PROXY_AUTHENTICATE;
			return SIP_HDR_OTHER;
		case 's':
			if (name_eq(name, "subscription-state", 18))
				return SIP_HDR_SUBSCRIPTION_STATE;
			return SIP_HDR_OTHER;
		}
		return SIP_HDR_OTHER;
	case 19:
		switch (name[0] | 0x20) {
		case 'a':
			if (name_eq(name, "authentication-info", 19))
				return SIP_HDR_AUTHENTICATION_INFO;
			return SIP_HDR_OTHER;
		case 'c':
			if (name_eq(name, "content-disposition", 19))
				return SIP_HDR_CONTENT_DISPOSITION;
			return SIP_HDR_OTHER;
		case 'p':
			if (name_eq(name, "proxy-authorization", 19))
				return SIP_HDR_PROXY_AUTHORIZATION;
			if (name_eq(name, "p-asserted-identity", 19))
				return SIP_HDR_P_ASSERTED_IDENTITY;
			return SIP_HDR_OTHER;
		}
		return SIP_HDR_OTHER;
	case 20:
		switch (name[0] | 0x20) {
		case 'p':
			if (name_eq(name, "p-preferred-identity", 20))
				return SIP_HDR_P_PREFERRED_IDENTITY;
			return SIP_HDR_OTHER;
		}
		return SIP_HDR_OTHER;
	}
	return SIP_HDR_OTHER;
}

enum sip_hdr_id sip_hdr_lookup(const char *name, size_t len)
{
	return hdr_lookup(name, len);
}

const char *sip_hdr_canon(enum sip_hdr_id id)
{
	return (unsigned)id < SIP_HDR__COUNT ? hdr_canon[id] : NULL;
}

enum sip_method sip_method_lookup(struct sv name)
{
	/* Methods are case-sensitive (RFC 3261 §7.1): exact compares, which the
	 * compiler turns into word compares for these constant lengths. */
#define M_(s, id)                                  \
	if (memcmp(name.p, s, sizeof(s) - 1) == 0) \
		return SIP_METHOD_##id;
	switch (name.len) {
	case 3:
		M_("ACK", ACK) M_("BYE", BYE) break;
	case 4:
		M_("INFO", INFO) break;
	case 5:
		M_("PRACK", PRACK) M_("REFER", REFER) break;
	case 6:
		M_("INVITE", INVITE)
		M_("CANCEL", CANCEL) M_("UPDATE", UPDATE) M_("NOTIFY", NOTIFY) break;
	case 7:
		M_("OPTIONS", OPTIONS) M_("MESSAGE", MESSAGE) M_("PUBLISH", PUBLISH) break;
	case 8:
		M_("REGISTER", REGISTER) break;
	case 9:
		M_("SUBSCRIBE", SUBSCRIBE) break;
	}
#undef M_
	return SIP_METHOD_OTHER;
}

const char *sip_method_str(enum sip_method m)
{
	return (unsigned)m < SIP_METHOD__COUNT ? method_str[m] : NULL;
}

const char *sip_strerror(int code)
{
	switch (code) {
	case 0:
		return "OK";
	case -EAGAIN:
		return "EAGAIN";
	case -EBADMSG:
		return "EBADMSG";
	case -EMSGSIZE:
		return "EMSGSIZE";
	case -E2BIG:
		return "E2BIG";
	case -EINVAL:
		return "EINVAL";
	case -ERANGE:
		return "ERANGE";
	case -ENOENT:
		return "ENOENT";
	case -ENOBUFS:
		return "ENOBUFS";
	default:
		return "error";
	}
}

void sip_msg_init(struct sip_msg *m, struct sip_hdr *hdrs, uint16_t cap)
{
	memset(m, 0, sizeof(*m));
	m->hdrs = hdrs;
	m->cap = cap;
}

static int fail(struct sip_msg *m, int code, const char *at, const char *reason)
{
	m->err.code = code;
	m->err.off = (uint32_t)(at - m->buf);
	m->err.reason = reason;
	return code;
}

/* SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT ("SIP" in any case). */
static int parse_version(struct sip_msg *m, const char *p, const char *e)
{
	unsigned maj = 0, min = 0;
	const char *d;

	if (e - p == 7 && memcmp(p, "SIP/2.0", 7) == 0) {
		m->ver_major = 2;
		m->ver_minor = 0;
		return 0;
	}

	if (e - p < 7 || (p[0] | 0x20) != 's' || (p[1] | 0x20) != 'i' || (p[2] | 0x20) != 'p' ||
	    p[3] != '/')
		return -1;
	for (d = p + 4; d < e && *d >= '0' && *d <= '9' && maj < 1000; d++)
		maj = maj * 10 + (unsigned)(*d - '0');
	if (d == p + 4 || d >= e || *d != '.')
		return -1;
	p = ++d;
	for (; d < e && *d >= '0' && *d <= '9' && min < 1000; d++)
		min = min * 10 + (unsigned)(*d - '0');
	if (d == p || d != e || maj > 255 || min > 255)
		return -1;
	m->ver_major = (uint8_t)maj;
	m->ver_minor = (uint8_t)min;
	return 0;
}

/* Request-Line or Status-Line in [p, e) (line end excluded). */
static int parse_start_line(struct sip_msg *m, const char *p, const char *e)
{
	const char *s = p, *q;

	m->start_line = sv_range(p, e);
	if (e - p >= 4 && memcmp(p, "SIP/", 4) == 0) {
		/* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase */
		q = memchr(p, ' ', (size_t)(e - p));
		if (!q || parse_version(m, p, q) < 0)
			return fail(m, -EBADMSG, p, "bad SIP-Version in status line");
		m->version = sv_range(p, q);
		p = q + 1;
		if (e - p < 3 || (unsigned)(p[0] - '1') > 5 || (unsigned)(p[1] - '0') > 9 ||
		    (unsigned)(p[2] - '0') > 9)
			return fail(m, -EBADMSG, p, "status code is not three digits 100-699");
		if (e - p > 3 && p[3] != ' ')
			return fail(m, -EBADMSG, p, "status code is not three digits 100-699");
		m->status = (uint16_t)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
		m->reason = e - p > 3 ? sv_range(p + 4, e) : sv_make(e, 0);
		m->type = SIP_MSG_RESPONSE;
		return 0;
	}

	/* Request-Line = Method SP Request-URI SP SIP-Version */
	while (p < e && tokchar[(unsigned char)*p])
		p++;
	if (p == s)
		return fail(m, -EBADMSG, p, "request line does not start with a method token");
	if (p == e || *p != ' ')
		return fail(m, -EBADMSG, p, "method not followed by a single SP");
	m->method_name = sv_range(s, p);
	m->method = (uint8_t)sip_method_lookup(m->method_name);
	s = ++p;
	if (p < e && *p == ' ')
		return fail(m, -EBADMSG, p, "more than one SP before the Request-URI");
	q = memchr(p, ' ', (size_t)(e - p));
	if (!q)
		return fail(m, -EBADMSG, e, "request line has no SIP-Version");
	if (!((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z'))
		return fail(m, -EBADMSG, s, "Request-URI does not start with a scheme");
	m->ruri = sv_range(s, q);
	p = q + 1;
	if (p < e && *p == ' ')
		return fail(m, -EBADMSG, p, "more than one SP before the SIP-Version");
	if (parse_version(m, p, e) < 0)
		return fail(m, -EBADMSG, p,
			    memchr(p, ' ', (size_t)(e - p))
				    ? "white space in the Request-URI or after the SIP-Version"
				    : "bad SIP-Version in request line");
	m->version = sv_range(p, e);
	m->type = SIP_MSG_REQUEST;
	return 0;
}

int sip_msg_parse(struct sip_msg *m, const char *buf, size_t len, unsigned flags,
		  const struct sip_limits *lim)
{
	const char *p = buf, *end = buf + len, *lf, *le;
	const int stream = flags & SIP_PARSE_STREAM;
	uint16_t last[SIP_HDR__COUNT];
	uint16_t maxh;
	int have_cl = 0, ret;

	if (!lim)
		lim = &sip_limits_default;
	maxh = lim->max_hdrs < m->cap ? lim->max_hdrs : m->cap;
	m->buf = buf;
	m->len = (uint32_t)len;
	m->type = 0;
	m->method = 0;
	m->status = 0;
	m->flags = 0;
	m->nhdrs = 0;
	m->hdr_end = 0;
	m->content_length = 0;
	m->err = (struct sip_err){ 0, 0, NULL };
	memset(m->first, 0xff, sizeof(m->first));

	if (len > UINT32_MAX)
		return fail(m, -EMSGSIZE, buf, "message larger than 4 GiB");
	/* RFC 3261 §7.5: CRLFs before the start line are ignored. */
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	if (p == end)
		return stream ? fail(m, -EAGAIN, p, "no message yet")
			      : fail(m, -EBADMSG, p, "empty message");

	lf = sip_scan_lf(p, end);
	if ((size_t)(lf - p) > lim->max_hdr_len)
		return fail(m, -EMSGSIZE, p, "start line longer than the limit");
	if (lf == end)
		return fail(m, stream ? -EAGAIN : -EBADMSG, lf, "start line not terminated");
	le = (lf > p && lf[-1] == '\r') ? lf - 1 : lf;
	ret = parse_start_line(m, p, le);
	if (ret < 0)
		return ret;
	p = lf + 1;

	/*
	 * The header loop. The common line ("Name: value\r\n" followed by another
	 * line that starts with a letter) takes one branch per test; folding,
	 * white space runs, unknown names and the end of the buffer go the slow
	 * way. The array and its count stay in locals: stores through the header
	 * struct would otherwise force them to be reloaded on every line.
	 */
	struct sip_hdr *const hdrs = m->hdrs;
	const size_t max_line = lim->max_hdr_len;
	unsigned nh = 0;

	for (;;) {
		const char *name, *name_end, *vs, *ve, *colon;
		struct sip_hdr *h;
		uint16_t hf = 0;
		enum sip_hdr_id id;

		if (unlikely(p >= end)) {
			m->nhdrs = (uint16_t)nh;
			return fail(m, stream ? -EAGAIN : -EBADMSG, p,
				    "headers not terminated by an empty line");
		}
		if (unlikely((unsigned char)*p <= '\r')) {
			if (*p == '\n') {
				p++;
				break;
			}
			if (*p == '\r' && p + 1 < end && p[1] == '\n') {
				p += 2;
				break;
			}
			if (*p == '\r') {
				m->nhdrs = (uint16_t)nh;
				return fail(m, (p + 1 >= end && stream) ? -EAGAIN : -EBADMSG, p,
					    "CR not followed by LF");
			}
		}
		name = p;
		/*
		 * Fast path: the name runs to the line's first ':', less trailing
		 * SP/HTAB; a known name matched by hdr_lookup() is made of token
		 * octets by construction. Unknown or odd names take the token
		 * loop, which also says what is wrong.
		 */
		id = SIP_HDR_OTHER;
		lf = sip_scan_line(p, end, &colon);
		if (likely(colon != NULL)) {
			name_end = colon;
			if (unlikely((unsigned char)name_end[-1] <= ' '))
				while (name_end > name &&
				       (name_end[-1] == ' ' || name_end[-1] == '\t'))
					name_end--;
			if (name_end - name == 1)
				id = (enum sip_hdr_id)compact_ids[(unsigned char)*name];
			else if (likely(name_end > name))
				id = hdr_lookup(name, (size_t)(name_end - name));
		}
		if (unlikely(id == SIP_HDR_OTHER)) {
			p = name;
			while (p < end && tokchar[(unsigned char)*p])
				p++;
			name_end = p;
			m->nhdrs = (uint16_t)nh;
			if (name_end == name)
				return fail(m, -EBADMSG, p,
					    (*p == ' ' || *p == '\t')
						    ? "continuation line without a header"
						    : "header name holds a non-token character");
			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			if (p >= end)
				return fail(m, stream ? -EAGAIN : -EBADMSG, p,
					    "header line not terminated");
			if (*p != ':')
				return fail(m, -EBADMSG, p, "header name not followed by a colon");
			colon = p;
		}
		/* Usually one SP after the colon, then the value (lf bounds it:
		 * the colon lies before the line's LF, or lf is end). */
		p = colon + 1;
		if (likely(p < lf)) {
			p += *p == ' ';
			if (unlikely(p < lf && (unsigned char)*p <= ' '))
				while (p < lf && (*p == ' ' || *p == '\t'))
					p++;
		}
		vs = p;
		/* The octet after LF says whether the value goes on (folding). */
		while (unlikely(lf + 1 >= end || (unsigned char)lf[1] <= ' ')) {
			if (lf + 1 >= end && (lf == end || stream)) {
				m->nhdrs = (uint16_t)nh;
				if ((size_t)(end - name) > max_line)
					return fail(m, -EMSGSIZE, name,
						    "header longer than the limit");
				return fail(m, stream ? -EAGAIN : -EBADMSG, lf,
					    "header line not terminated");
			}
			if (lf + 1 < end && (lf[1] == ' ' || lf[1] == '\t')) {
				hf = SIP_HDRF_FOLDED;
				lf = sip_scan_lf(lf + 1, end);
				continue;
			}
			break;
		}
		if (unlikely((size_t)(lf + 1 - name) > max_line || nh >= maxh)) {
			m->nhdrs = (uint16_t)nh;
			if ((size_t)(lf + 1 - name) > max_line)
				return fail(m, -EMSGSIZE, name, "header longer than the limit");
			return fail(m, -E2BIG, name, "more headers than the limit");
		}

		h = &hdrs[nh];
		if (likely(!hf)) {
			ve = lf;
			ve -= ve > vs && ve[-1] == '\r';
			if (unlikely(ve > vs && (unsigned char)ve[-1] <= ' '))
				while (ve > vs && (ve[-1] == ' ' || ve[-1] == '\t'))
					ve--;
			h->value = sv_range(vs, ve);
		} else {
			h->value = sv_trim(sv_range(vs, lf));
		}
		h->name = sv_range(name, name_end);
		h->line = sv_range(name, lf + 1);
		h->id = (uint16_t)id;
		h->next = SIP_HDR_NONE;
		h->flags = hf;
		if (id != SIP_HDR_OTHER) {
			if (m->first[id] == SIP_HDR_NONE)
				m->first[id] = (uint16_t)nh;
			else
				hdrs[last[id]].next = (uint16_t)nh;
			last[id] = (uint16_t)nh;
			if (unlikely(id == SIP_HDR_CONTENT_LENGTH)) {
				uint64_t cl;
				int r = sv_to_u64(h->value, UINT32_MAX, &cl);
				if (r < 0) {
					m->nhdrs = (uint16_t)nh;
					return fail(
						m, -EBADMSG, h->value.p,
						r == -ERANGE
							? "Content-Length too large"
							: "Content-Length is not a decimal number");
				}
				if (have_cl)
					m->flags |= SIP_MSGF_CL_MULTI;
				else
					m->content_length = cl;
				have_cl = 1;
			}
		}
		nh++;
		p = lf + 1;
	}
	m->nhdrs = (uint16_t)nh;

	m->hdr_end = (uint32_t)(p - buf);
	if (have_cl) {
		size_t avail = (size_t)(end - p);
		if (m->content_length > avail) {
			if (!stream)
				return fail(m, -EBADMSG, p,
					    "Content-Length larger than the datagram's body");
			if (m->hdr_end + m->content_length > lim->max_msg)
				return fail(m, -EMSGSIZE, buf, "message larger than the limit");
			return fail(m, -EAGAIN, end, "body not complete");
		}
		if (avail > m->content_length && !stream)
			m->flags |= SIP_MSGF_TRAILING;
		m->body = sv_make(p, (size_t)m->content_length);
	} else {
		if (stream)
			return fail(m, -EBADMSG, p, "no Content-Length on a stream transport");
		m->flags |= SIP_MSGF_NO_CL;
		m->body = sv_range(p, end);
	}
	m->msg_len = (uint32_t)(m->body.p + m->body.len - buf);
	if (m->msg_len > lim->max_msg)
		return fail(m, -EMSGSIZE, buf, "message larger than the limit");
	return (int)m->msg_len;
}

const struct sip_hdr *sip_msg_hdr_by_name(const struct sip_msg *m, struct sv name)
{
	for (uint16_t i = 0; i < m->nhdrs; i++)
		if (sv_caseeq(m->hdrs[i].name, name))
			return &m->hdrs[i];
	return NULL;
}

unsigned sip_msg_hdr_count(const struct sip_msg *m, enum sip_hdr_id id)
{
	unsigned n = 0;
	for (const struct sip_hdr *h = sip_msg_hdr(m, id); h; h = sip_msg_hdr_next(m, h))
		n++;
	return n;
}

static int frame_fail(struct sip_err *err, int code, const char *base, const char *at,
		      const char *reason)
{
	if (err) {
		err->code = code;
		err->off = (uint32_t)(at - base);
		err->reason = reason;
	}
	return code;
}

/*
 * Framing reads only what it must: each line's first octets, to spot the
 * Content-Length header (long or compact form), and the empty line that ends the
 * headers. The full syntax is checked later by sip_msg_parse() on the framed
 * message.
 */
ssize_t sip_stream_frame(const char *buf, size_t len, const struct sip_limits *lim, size_t *skip,
			 struct sip_err *err)
{
	const char *p = buf, *end = buf + len, *msg, *lf;
	uint64_t cl = 0;
	int have_cl = 0;

	if (!lim)
		lim = &sip_limits_default;
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	*skip = (size_t)(p - buf);
	msg = p;
	if (p == end)
		return frame_fail(err, -EAGAIN, buf, p, "no message yet");

	/* The start line. */
	lf = sip_scan_lf(p, end);
	for (;;) {
		if (lf == end) {
			if ((size_t)(end - msg) >= lim->max_msg)
				return frame_fail(err, -EMSGSIZE, buf, msg,
						  "headers larger than the limit");
			return frame_fail(err, -EAGAIN, buf, end, "headers not complete");
		}
		p = lf + 1;
		if (p < end && *p == '\n') {
			p++;
			break;
		}
		if (p + 1 < end && p[0] == '\r' && p[1] == '\n') {
			p += 2;
			break;
		}
		lf = sip_scan_lf(p, end);
		if (lf == end)
			continue;
		/* Content-Length or l, then optional white space, then ':'. */
		const char *n = p, *c;
		if (lf - n > 14 && name_eq(n, "content-length", 14))
			c = n + 14;
		else if ((*n | 0x20) == 'l')
			c = n + 1;
		else
			continue;
		while (c < lf && (*c == ' ' || *c == '\t'))
			c++;
		if (c >= lf || *c != ':')
			continue;
		const char *v = c + 1, *ve = lf;
		/* A folded Content-Length is legal but rare: take the lines that follow. */
		while (ve + 1 < end && (ve[1] == ' ' || ve[1] == '\t')) {
			const char *nlf = sip_scan_lf(ve + 1, end);
			if (nlf == end)
				return frame_fail(err, -EAGAIN, buf, end, "headers not complete");
			ve = nlf;
		}
		/* The octet after the line end decides whether the value goes on. */
		if (ve + 1 == end)
			return frame_fail(err, -EAGAIN, buf, end, "headers not complete");
		uint64_t val;
		int r = sv_to_u64(sv_trim(sv_range(v, ve)), UINT32_MAX, &val);
		if (r < 0)
			return frame_fail(err, -EBADMSG, buf, v,
					  r == -ERANGE ? "Content-Length too large"
						       : "Content-Length is not a decimal number");
		if (have_cl && val != cl)
			return frame_fail(err, -EBADMSG, buf, n,
					  "conflicting Content-Length values");
		cl = val;
		have_cl = 1;
		lf = ve;
	}
	if (!have_cl)
		return frame_fail(err, -EBADMSG, buf, p, "no Content-Length on a stream transport");
	if ((size_t)(p - msg) + cl > lim->max_msg)
		return frame_fail(err, -EMSGSIZE, buf, msg, "message larger than the limit");
	if ((size_t)(end - p) < cl)
		return frame_fail(err, -EAGAIN, buf, end, "body not complete");
	return (ssize_t)((size_t)(p - msg) + cl);
}
