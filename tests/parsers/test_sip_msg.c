/* SPDX-License-Identifier: MIT */
/* Tests of parsers/sip_msg.h and parsers/sip_scan.h: indexing, framing, limits. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "parsers/sip_msg.h"
#include "parsers/sip_scan.h"
#include "tests/guard.h"

#define NH 64

static struct sip_hdr hdrs[NH];

static int parse(struct sip_msg *m, const char *s, unsigned flags)
{
	size_t n = strlen(s);
	const char *g = guard_place(s, n);
	sip_msg_init(m, hdrs, NH);
	return sip_msg_parse(m, g, n, flags, NULL);
}

static int sveq(struct sv v, const char *s)
{
	return v.len == strlen(s) && memcmp(v.p, s, v.len) == 0;
}

static const char invite[] =
	"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
	"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
	"v: SIP/2.0/TCP proxy.example.com;branch=z9hG4bKnashds8, SIP/2.0/UDP x.example.com\r\n"
	"Max-Forwards: 70\r\n"
	"To: Bob <sip:bob@biloxi.example.com>\r\n"
	"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
	"i: a84b4c76e66710@pc33.atlanta.example.com\r\n"
	"CSeq: 314159 INVITE\r\n"
	"X-Custom:   kept verbatim  \r\n"
	"Content-Type: application/sdp\r\n"
	"Content-Length: 4\r\n"
	"\r\n"
	"v=0\n";

Test(sip_msg, request_indexed)
{
	struct sip_msg m;
	int r = parse(&m, invite, 0);
	cr_assert_eq(r, (int)strlen(invite));
	cr_assert_eq(m.type, SIP_MSG_REQUEST);
	cr_assert_eq(m.method, SIP_METHOD_INVITE);
	cr_assert(sveq(m.method_name, "INVITE"));
	cr_assert(sveq(m.ruri, "sip:bob@biloxi.example.com"));
	cr_assert(sveq(m.version, "SIP/2.0"));
	cr_assert_eq(m.ver_major, 2);
	cr_assert_eq(m.ver_minor, 0);
	cr_assert_eq(m.nhdrs, 10);
	cr_assert_eq(sip_msg_hdr_count(&m, SIP_HDR_VIA), 2);
	const struct sip_hdr *v = sip_msg_hdr(&m, SIP_HDR_VIA);
	cr_assert(sveq(v->value, "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"));
	v = sip_msg_hdr_next(&m, v);
	cr_assert(sveq(v->name, "v"));
	cr_assert_null(sip_msg_hdr_next(&m, v));
	cr_assert(sveq(sip_msg_hdr(&m, SIP_HDR_CALL_ID)->value,
		       "a84b4c76e66710@pc33.atlanta.example.com"));
	const struct sip_hdr *x = sip_msg_hdr_by_name(&m, SV_LIT("x-custom"));
	cr_assert_not_null(x);
	cr_assert_eq(x->id, SIP_HDR_OTHER);
	cr_assert(sveq(x->value, "kept verbatim"));
	cr_assert(sveq(x->line, "X-Custom:   kept verbatim  \r\n"));
	cr_assert_eq(m.content_length, 4);
	cr_assert(sveq(m.body, "v=0\n"));
	cr_assert_eq(m.hdr_end, strlen(invite) - 4);
	cr_assert_null(sip_msg_hdr(&m, SIP_HDR_ROUTE));
}

Test(sip_msg, response_and_reasons)
{
	static const struct {
		const char *line;
		uint16_t status;
		const char *reason;
	} t[] = {
		{ "SIP/2.0 200 OK", 200, "OK" },
		{ "SIP/2.0 100 ", 100, "" },
		{ "SIP/2.0 180", 180, "" },
		{ "SIP/2.0 486 Busy Here, really", 486, "Busy Here, really" },
		{ "sip/2.0 699 x", 699, "x" },
	};
	char buf[256];
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sip_msg m;
		snprintf(buf, sizeof(buf), "%s\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
			 t[i].line);
		int r = parse(&m, buf, 0);
		if (strncmp(t[i].line, "sip/", 4) == 0) {
			/* Lower-case version on a status line is not a status line. */
			cr_assert_eq(r, -EBADMSG, "%s", t[i].line);
			continue;
		}
		cr_assert_gt(r, 0, "%s: %s", t[i].line, m.err.reason);
		cr_assert_eq(m.type, SIP_MSG_RESPONSE);
		cr_assert_eq(m.status, t[i].status);
		cr_assert(sveq(m.reason, t[i].reason), "%s", t[i].line);
	}
}

Test(sip_msg, folding_and_lws)
{
	static const char msg[] = "OPTIONS sip:a@b SIP/2.0\r\n"
				  "TO :\r\n sip:vivekg@example.com ;   tag    = 1918\r\n"
				  "NewFangled:   a\r\n\tcontinued b\r\n"
				  "Content-Length   : 0\r\n"
				  "\r\n";
	struct sip_msg m;
	cr_assert_gt(parse(&m, msg, 0), 0);
	const struct sip_hdr *to = sip_msg_hdr(&m, SIP_HDR_TO);
	cr_assert_not_null(to);
	cr_assert(sveq(to->value, "sip:vivekg@example.com ;   tag    = 1918"));
	cr_assert_eq(to->flags & SIP_HDRF_FOLDED, SIP_HDRF_FOLDED);
	cr_assert(sveq(m.hdrs[1].value, "a\r\n\tcontinued b"));
	cr_assert_eq(m.content_length, 0);
}

Test(sip_msg, datagram_body_rules)
{
	struct sip_msg m;
	/* Octets after Content-Length are ignored (RFC 4475 dblreq). */
	static const char extra[] = "OPTIONS sip:a@b SIP/2.0\r\nl: 2\r\n\r\nabEXTRA";
	cr_assert_eq(parse(&m, extra, 0), (int)strlen(extra) - 5);
	cr_assert(sveq(m.body, "ab"));
	cr_assert(m.flags & SIP_MSGF_TRAILING);
	/* No Content-Length on a datagram: the body is the rest. */
	static const char nocl[] = "OPTIONS sip:a@b SIP/2.0\r\nTo: x\r\n\r\nbody";
	cr_assert_eq(parse(&m, nocl, 0), (int)strlen(nocl));
	cr_assert(sveq(m.body, "body"));
	cr_assert(m.flags & SIP_MSGF_NO_CL);
	/* Content-Length larger than what arrived (RFC 4475 clerr). */
	cr_assert_eq(parse(&m, "OPTIONS sip:a@b SIP/2.0\r\nl: 9\r\n\r\nab", 0), -EBADMSG);
	/* Leading CRLFs are skipped. */
	cr_assert_gt(parse(&m, "\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n\r\n", 0), 0);
	cr_assert_eq(m.method, SIP_METHOD_OPTIONS);
	/* Two Content-Length headers are flagged for the layer above (RFC 4475 mcl01). */
	cr_assert_gt(parse(&m, "OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\nContent-Length: 0\r\n\r\n", 0),
		     0);
	cr_assert(m.flags & SIP_MSGF_CL_MULTI);
	/* Bare LF line ends are tolerated. */
	cr_assert_gt(parse(&m, "OPTIONS sip:a@b SIP/2.0\nTo: x\nl: 0\n\n", 0), 0);
	cr_assert(sveq(m.hdrs[0].value, "x"));
}

/* Malformed messages: each fails with its code and a reason at a given offset. */
Test(sip_msg, malformed_table)
{
	static const struct {
		const char *msg;
		int code;
		const char *reason_has;
	} t[] = {
		{ "", -EBADMSG, "empty" },
		{ "\r\n", -EBADMSG, "empty" },
		{ "INVITE sip:a@b SIP/2.0", -EBADMSG, "not terminated" },
		{ "INVITE  sip:a@b SIP/2.0\r\n\r\n", -EBADMSG, "more than one SP" },
		{ "INVITE sip:a@b  SIP/2.0\r\n\r\n", -EBADMSG, "more than one SP" },
		{ "INVITE sip:a@b SIP/2.0 \r\n\r\n", -EBADMSG, "SIP-Version" },
		{ "INVITE <sip:a@b> SIP/2.0\r\n\r\n", -EBADMSG, "scheme" },
		{ "INVITE sip:a@b; lr SIP/2.0\r\n\r\n", -EBADMSG, "white space" },
		{ "INVITE sip:a@b SIP/2.x\r\n\r\n", -EBADMSG, "SIP-Version" },
		{ "INVITE sip:a@b\r\n\r\n", -EBADMSG, "no SIP-Version" },
		{ " INVITE sip:a@b SIP/2.0\r\n\r\n", -EBADMSG, "method" },
		{ "SIP/2.0 4294967301 better not\r\n\r\n", -EBADMSG, "three digits" },
		{ "SIP/2.0 099 low\r\n\r\n", -EBADMSG, "three digits" },
		{ "SIP/2.0 700 high\r\n\r\n", -EBADMSG, "three digits" },
		{ "SIP/2.0200 OK\r\n\r\n", -EBADMSG, "three digits" },
		{ "OPTIONS sip:a@b SIP/2.0\r\nTo x\r\n\r\n", -EBADMSG, "colon" },
		{ "OPTIONS sip:a@b SIP/2.0\r\n: x\r\n\r\n", -EBADMSG, "non-token" },
		{ "OPTIONS sip:a@b SIP/2.0\r\nT@o: x\r\n\r\n", -EBADMSG, "colon" },
		{ "OPTIONS sip:a@b SIP/2.0\r\n x\r\n\r\n", -EBADMSG, "continuation" },
		{ "OPTIONS sip:a@b SIP/2.0\r\nTo: x\r\n", -EBADMSG, "empty line" },
		{ "OPTIONS sip:a@b SIP/2.0\r\nTo: x\r\n\rx", -EBADMSG, "CR not followed" },
		{ "OPTIONS sip:a@b SIP/2.0\r\nl: -999\r\n\r\n", -EBADMSG, "decimal" },
		{ "OPTIONS sip:a@b SIP/2.0\r\nl: 99999999999999999999\r\n\r\n", -EBADMSG,
		  "too large" },
		{ "OPTIONS sip:a@b SIP/2.0\r\nl: 1 2\r\n\r\n", -EBADMSG, "decimal" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sip_msg m;
		int r = parse(&m, t[i].msg, 0);
		cr_assert_eq(r, t[i].code, "case %zu: got %d (%s)", i, r, m.err.reason);
		cr_assert_eq(m.err.code, r);
		cr_assert_not_null(m.err.reason);
		cr_assert_not_null(strstr(m.err.reason, t[i].reason_has), "case %zu: reason '%s'",
				   i, m.err.reason);
		cr_assert_leq(m.err.off, strlen(t[i].msg));
	}
}

Test(sip_msg, error_offset_points_at_fault)
{
	struct sip_msg m;
	static const char msg[] = "OPTIONS sip:a@b SIP/2.0\r\nTo: x\r\nBad Header: y\r\n\r\n";
	cr_assert_eq(parse(&m, msg, 0), -EBADMSG);
	cr_assert_eq(m.err.off, strstr(msg, "Header: y") - msg);
}

Test(sip_msg, limits)
{
	struct sip_msg m;
	struct sip_limits lim = { .max_msg = 100, .max_hdr_len = 30, .max_hdrs = 2 };
	static const char ok[] = "OPTIONS sip:a@b SIP/2.0\r\nTo: x\r\nl: 0\r\n\r\n";
	static const char three[] = "OPTIONS sip:a@b SIP/2.0\r\nTo: x\r\nFrom: y\r\nl: 0\r\n\r\n";
	static const char longh[] =
		"OPTIONS sip:a@b SIP/2.0\r\nTo: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n\r\n";
	char big[200];

	sip_msg_init(&m, hdrs, NH);
	cr_assert_gt(sip_msg_parse(&m, ok, strlen(ok), 0, &lim), 0);
	cr_assert_eq(sip_msg_parse(&m, three, strlen(three), 0, &lim), -E2BIG);
	cr_assert_eq(sip_msg_parse(&m, longh, strlen(longh), 0, &lim), -EMSGSIZE);
	static const char bighdr[] = "OPTIONS sip:a@b SIP/2.0\r\nl: 150\r\n\r\n";
	memset(big, 'a', sizeof(big));
	memcpy(big, bighdr, strlen(bighdr));
	cr_assert_eq(sip_msg_parse(&m, big, sizeof(big), 0, &lim), -EMSGSIZE);
	/* The caller's array bounds the headers too. */
	sip_msg_init(&m, hdrs, 1);
	cr_assert_eq(sip_msg_parse(&m, ok, strlen(ok), 0, NULL), -E2BIG);
	/* A start line can still be read after a limit error: a server answers 513. */
	cr_assert_eq(m.type, SIP_MSG_REQUEST);
}

Test(sip_msg, stream_incremental)
{
	static const char msg[] =
		"OPTIONS sip:a@b SIP/2.0\r\nTo: x\r\n folded\r\nContent-Length: 3\r\n\r\nabc";
	size_t n = strlen(msg);
	struct sip_msg m;
	/* Every proper prefix is incomplete, never malformed. */
	for (size_t i = 0; i < n; i++) {
		const char *g = guard_place(msg, i);
		sip_msg_init(&m, hdrs, NH);
		int r = sip_msg_parse(&m, g, i, SIP_PARSE_STREAM, NULL);
		cr_assert_eq(r, -EAGAIN, "prefix %zu: %d %s", i, r, m.err.reason);
	}
	cr_assert_eq(parse(&m, msg, SIP_PARSE_STREAM), (int)n);
	cr_assert(sveq(m.body, "abc"));
	/* Streams need Content-Length. */
	cr_assert_eq(parse(&m, "OPTIONS sip:a@b SIP/2.0\r\nTo: x\r\n\r\n", SIP_PARSE_STREAM),
		     -EBADMSG);
}

Test(sip_msg, stream_framing)
{
	static const char two[] = "\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nl: 2\r\n\r\nab"
				  "BYE sip:a@b SIP/2.0\r\nContent-Length : 0\r\n\r\n";
	size_t skip, n = strlen(two);
	struct sip_err err = { 0 };
	const char *g = guard_place(two, n);

	ssize_t r = sip_stream_frame(g, n, NULL, &skip, &err);
	cr_assert_eq(skip, 4);
	cr_assert_eq(r, (ssize_t)strlen("OPTIONS sip:a@b SIP/2.0\r\nl: 2\r\n\r\nab"));
	const char *next = g + skip + r;
	r = sip_stream_frame(next, n - (size_t)(next - g), NULL, &skip, &err);
	cr_assert_eq(skip, 0);
	cr_assert_eq(r, (ssize_t)strlen("BYE sip:a@b SIP/2.0\r\nContent-Length : 0\r\n\r\n"));

	/* Every prefix of the first message needs more. */
	size_t first = 4 + strlen("OPTIONS sip:a@b SIP/2.0\r\nl: 2\r\n\r\nab");
	for (size_t i = 0; i < first; i++) {
		g = guard_place(two, i);
		cr_assert_eq(sip_stream_frame(g, i, NULL, &skip, &err), -EAGAIN, "prefix %zu", i);
	}
	/* Framing agrees with the full parser on where the message ends. */
	struct sip_msg m;
	g = guard_place(two + 4, n - 4);
	sip_msg_init(&m, hdrs, NH);
	cr_assert_eq(sip_msg_parse(&m, g, n - 4, SIP_PARSE_STREAM, NULL),
		     sip_stream_frame(g, n - 4, NULL, &skip, &err));

	static const struct {
		const char *s;
		ssize_t r;
	} bad[] = {
		{ "OPTIONS sip:a@b SIP/2.0\r\nTo: x\r\n\r\n", -EBADMSG },
		{ "OPTIONS sip:a@b SIP/2.0\r\nl: x\r\n\r\n", -EBADMSG },
		{ "OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nl: 2\r\n\r\n", -EBADMSG },
		{ "OPTIONS sip:a@b SIP/2.0\r\nLocation: 1\r\nl: 0\r\n\r\n", 46 },
		{ "OPTIONS sip:a@b SIP/2.0\r\nl:\r\n 1\r\n\r\nz", 36 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		g = guard_place(bad[i].s, strlen(bad[i].s));
		cr_assert_eq(sip_stream_frame(g, strlen(bad[i].s), NULL, &skip, &err), bad[i].r,
			     "case %zu", i);
	}
	/* A Content-Length line cut right after its line end may still be folded
	 * (found by fuzz_frame). */
	static const char cut[] = "OPTIONS sip:a@b SIP/2.0\r\nl:\r\n";
	g = guard_place(cut, strlen(cut));
	cr_assert_eq(sip_stream_frame(g, strlen(cut), NULL, &skip, &err), -EAGAIN);

	struct sip_limits lim = { .max_msg = 30, .max_hdr_len = 100, .max_hdrs = 10 };
	g = guard_place(two + 4, n - 4);
	cr_assert_eq(sip_stream_frame(g, 20, &lim, &skip, &err), -EAGAIN);
	cr_assert_eq(sip_stream_frame(g, n - 4, &lim, &skip, &err), -EMSGSIZE);
}

Test(sip_msg, lookup_every_listed_header)
{
	static const struct {
		int id;
		const char *name;
		char compact;
	} t[] = {
#define X(id, name, compact) { SIP_HDR_##id, name, compact },
		SIP_HDR_LIST(X)
#undef X
	};
	char up[64];
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t n = strlen(t[i].name);
		cr_assert_eq(sip_hdr_lookup(t[i].name, n), t[i].id, "%s", t[i].name);
		for (size_t k = 0; k < n; k++)
			up[k] = (char)(t[i].name[k] >= 'a' && t[i].name[k] <= 'z'
					       ? t[i].name[k] - 32
					       : t[i].name[k]);
		cr_assert_eq(sip_hdr_lookup(up, n), t[i].id, "%.*s", (int)n, up);
		cr_assert(sv_caseeq(sv_cstr(sip_hdr_canon(t[i].id)), sv_cstr(t[i].name)));
		if (t[i].compact) {
			char c = t[i].compact, C = (char)(c - 32);
			cr_assert_eq(sip_hdr_lookup(&c, 1), t[i].id);
			cr_assert_eq(sip_hdr_lookup(&C, 1), t[i].id);
		}
	}
	cr_assert_eq(sip_hdr_lookup("vias", 4), SIP_HDR_OTHER);
	cr_assert_eq(sip_hdr_lookup("q", 1), SIP_HDR_OTHER);
	cr_assert_eq(sip_hdr_lookup("call-ie", 7), SIP_HDR_OTHER);
	cr_assert_eq(sip_hdr_lookup("contact-", 8), SIP_HDR_OTHER);
}

Test(sip_msg, methods)
{
	cr_assert_eq(sip_method_lookup(SV_LIT("REGISTER")), SIP_METHOD_REGISTER);
	cr_assert_eq(sip_method_lookup(SV_LIT("register")), SIP_METHOD_OTHER);
	cr_assert_eq(sip_method_lookup(SV_LIT("INVITEX")), SIP_METHOD_OTHER);
	for (int i = 1; i < SIP_METHOD__COUNT; i++)
		cr_assert_eq(sip_method_lookup(sv_cstr(sip_method_str((enum sip_method)i))), i);
}

/* The SIMD scan and its scalar twin agree on every position and length. */
Test(sip_scan, simd_matches_scalar)
{
	char buf[80];
	for (size_t len = 0; len <= sizeof(buf); len++) {
		for (size_t pos = 0; pos <= len; pos++) {
			memset(buf, 'a', sizeof(buf));
			if (pos < len)
				buf[pos] = '\n';
			const char *g = guard_place(buf, len);
			cr_assert_eq(sip_scan_lf(g, g + len), sip_scan_lf_scalar(g, g + len));
			cr_assert_eq(sip_scan_lf(g, g + len) - g, (ptrdiff_t)pos);
		}
	}
	/* Two targets: the first of ':' and '\n' wins, wherever each is. */
	for (size_t len = 0; len <= sizeof(buf); len++) {
		for (size_t c = 0; c <= len; c++) {
			for (size_t l = 0; l <= len; l += 7) {
				memset(buf, 'a', sizeof(buf));
				if (c < len)
					buf[c] = ':';
				if (l < len && l != c)
					buf[l] = '\n';
				size_t want = len;
				if (c < len)
					want = c;
				if (l < len && l != c && l < want)
					want = l;
				const char *g = guard_place(buf, len);
				cr_assert_eq(sip_scan_colon_lf(g, g + len),
					     sip_scan_colon_lf_scalar(g, g + len));
				cr_assert_eq(sip_scan_colon_lf(g, g + len) - g, (ptrdiff_t)want);
				/* The line scan: LF (or end), and the colon before it. */
				const char *cs, *cv;
				const char *ls = sip_scan_line_scalar(g, g + len, &cs);
				const char *lv = sip_scan_line(g, g + len, &cv);
				size_t wl = (l < len && l != c) ? l : len;
				cr_assert_eq(lv, ls);
				cr_assert_eq(cv, cs);
				cr_assert_eq(lv - g, (ptrdiff_t)wl);
				cr_assert_eq(cv, (c < len && c < wl) ? g + c : NULL);
			}
		}
	}
}

Test(sv, to_u64)
{
	uint64_t v;
	cr_assert_eq(sv_to_u64(SV_LIT("0068"), 255, &v), 0);
	cr_assert_eq(v, 68);
	cr_assert_eq(sv_to_u64(SV_LIT("256"), 255, &v), -ERANGE);
	cr_assert_eq(sv_to_u64(SV_LIT("18446744073709551615"), UINT64_MAX, &v), 0);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(sv_to_u64(SV_LIT("18446744073709551616"), UINT64_MAX, &v), -ERANGE);
	cr_assert_eq(sv_to_u64(SV_LIT("7"), 6, &v), -ERANGE);
	cr_assert_eq(sv_to_u64(SV_LIT("6"), 6, &v), 0);
	cr_assert_eq(v, 6);
	cr_assert_eq(sv_to_u64(SV_LIT("1"), 0, &v), -ERANGE);
	cr_assert_eq(sv_to_u64(SV_LIT(""), 10, &v), -EINVAL);
	cr_assert_eq(sv_to_u64(SV_LIT("1a"), 10, &v), -EINVAL);
}
