/* SPDX-License-Identifier: MIT */
/*
 * The RFC 4475 and RFC 5118 torture messages through the parser and the checks
 * (parsers/sip_msg.h, sip_check.h, with the typed parsers they call).
 *
 * The messages live in ../shared/conformance (not shipped with sipring);
 * SIPRING_CONFORMANCE points there and the tests skip when it is absent. Each
 * file has a row below: what must happen (parse, answer, drop) and, where the
 * RFC's text points at a field, a function asserting it. A last test checks
 * that the rows and the corpus's MANIFEST.tsv files name the same messages.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/sip_check.h"
#include "parsers/sip_hdr.h"
#include "parsers/sip_msg.h"
#include "parsers/sip_uri.h"
#include "tests/guard.h"

enum outcome {
	OK,	    /* parses, checks clean */
	PARSE_FAIL, /* sip_msg_parse() rejects it (-EBADMSG) */
	ANSWER,	    /* parses; sip_msg_check() answers `status` */
	DROP,	    /* a response: rejected by the parser or dropped by the check */
	LENIENT,    /* either answered 400, or accepted and `fn` checks the defect is gone */
};

struct row {
	const char *file;
	enum outcome outcome;
	int status;
	void (*fn)(const struct sip_msg *m);
};

static struct sip_hdr hdrs[256];

static int sveq(struct sv v, const char *s)
{
	return v.len == strlen(s) && memcmp(v.p, s, v.len) == 0;
}

static struct sv sv_of(const char *s)
{
	return sv_make(s, strlen(s));
}

static const struct sip_hdr *hdr(const struct sip_msg *m, enum sip_hdr_id id)
{
	const struct sip_hdr *h = sip_msg_hdr(m, id);
	cr_assert_not_null(h, "header %s missing", sip_hdr_canon(id));
	return h;
}

static struct sip_addr addr_of(const struct sip_msg *m, enum sip_hdr_id id)
{
	struct sip_addr a;
	cr_assert_eq(sip_addr_parse(hdr(m, id)->value, &a, NULL), 0);
	return a;
}

static struct sip_uri uri_of(struct sv s)
{
	struct sip_uri u;
	struct sip_err e = { 0 };
	cr_assert_eq(sip_uri_parse(s, &u, &e), 0, "uri %.*s: %s", (int)s.len, s.p, e.reason);
	return u;
}

static int unescaped_eq(struct sv s, const char *want, size_t wlen)
{
	char buf[256];
	int n = sip_unescape(s, buf, sizeof(buf));
	return n == (int)wlen && memcmp(buf, want, wlen) == 0;
}

/* ---- field assertions, one per message the RFC's text points into ---- */

static void wsinv(const struct sip_msg *m)
{
	uint32_t mf;
	struct sip_cseq cs;
	struct sip_via v;
	struct sv rest;

	cr_assert_eq(sip_uint_parse(hdr(m, SIP_HDR_MAX_FORWARDS)->value, 255, &mf, NULL), 0);
	cr_assert_eq(mf, 68);
	cr_assert_eq(sip_cseq_parse(hdr(m, SIP_HDR_CSEQ)->value, &cs, NULL), 0);
	cr_assert_eq(cs.seq, 9);
	cr_assert_eq(cs.method, SIP_METHOD_INVITE);
	cr_assert(sveq(addr_of(m, SIP_HDR_TO).tag, "1918181833n"));
	struct sip_addr from = addr_of(m, SIP_HDR_FROM);
	cr_assert(sveq(from.tag, "98asjd8"));
	cr_assert(sveq(from.display, "J Rosenberg \\\\\\\""));
	cr_assert_eq(sip_msg_hdr_count(m, SIP_HDR_VIA), 2);
	const struct sip_hdr *h = hdr(m, SIP_HDR_VIA);
	rest = h->value;
	cr_assert_eq(sip_via_next(&rest, &v, NULL), 1);
	cr_assert(sveq(v.transport, "UDP"));
	cr_assert(sveq(v.host, "192.0.2.2"));
	cr_assert(sveq(v.branch, "390skdjuw"));
	h = sip_msg_hdr_next(m, h);
	rest = h->value;
	cr_assert_eq(sip_via_next(&rest, &v, NULL), 1);
	cr_assert(sveq(v.transport, "TCP"));
	cr_assert(sveq(v.host, "spindle.example.com"));
	cr_assert(sveq(v.branch, "z9hG4bK9ikj8"));
	cr_assert_eq(sip_via_next(&rest, &v, NULL), 1);
	cr_assert(sveq(v.host, "192.168.255.111"));
	cr_assert(sveq(v.branch, "z9hG4bK30239"));
	cr_assert_eq(sip_via_next(&rest, &v, NULL), 0);
	cr_assert_eq(m->content_length, 150);
	cr_assert_eq(m->body.len, 150);
	struct sip_contact c;
	rest = hdr(m, SIP_HDR_CONTACT)->value;
	cr_assert_eq(sip_contact_next(&rest, &c, NULL), 1);
	cr_assert(c.has_q);
	cr_assert_eq(c.q, 330);
	struct sv val;
	cr_assert(sip_param_get(c.addr.params, "newparam", &val));
	cr_assert(sveq(val, "newvalue"));
	const struct sip_hdr *nf = sip_msg_hdr_by_name(m, sv_of("NewFangledHeader"));
	cr_assert_not_null(nf);
	cr_assert(nf->flags & SIP_HDRF_FOLDED);
	cr_assert(sveq(hdr(m, SIP_HDR_SUBJECT)->value, ""));
}

static void intmeth(const struct sip_msg *m)
{
	cr_assert(sveq(m->method_name, "!interesting-Method0123456789_*+`.%indeed'~"));
	cr_assert_eq(m->method, SIP_METHOD_OTHER);
	struct sip_uri u = uri_of(m->ruri);
	cr_assert_eq(u.scheme, SIP_URI_SIP);
	cr_assert(sveq(u.host, "example.com"));
	struct sip_addr to = addr_of(m, SIP_HDR_TO);
	cr_assert(to.quoted);
	cr_assert_eq(to.display.len, strlen("BEL:\\\x07 NUL:\\") + 1 + strlen(" DEL:\\\x7f"));
	struct sip_addr from = addr_of(m, SIP_HDR_FROM);
	cr_assert(sveq(from.display, "token1~` token2'+_ token3*%!.-"));
	cr_assert(sveq(from.tag, "_token~1'+`*%!-."));
	cr_assert(sveq(hdr(m, SIP_HDR_CALL_ID)->value,
		       "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"));
	cr_assert_not_null(sip_msg_hdr_by_name(m, sv_of("extensionHeader-!.%*+_`'~")));
}

static void esc01(const struct sip_msg *m)
{
	struct sip_uri u = uri_of(m->ruri);
	cr_assert(unescaped_eq(u.user, "sips:user@example.com", 21));
	cr_assert(sveq(u.host, "example.net"));
	struct sip_uri to = uri_of(addr_of(m, SIP_HDR_TO).uri);
	struct sip_uri plain = uri_of(sv_of("sip:user@example.com"));
	cr_assert(sip_uri_equal(&to, &plain));
	struct sip_uri from = uri_of(addr_of(m, SIP_HDR_FROM).uri);
	cr_assert(unescaped_eq(from.user, "I have spaces", 13));
}

static void escnull(const struct sip_msg *m)
{
	struct sip_uri to = uri_of(addr_of(m, SIP_HDR_TO).uri);
	cr_assert(unescaped_eq(to.user, "null-\0-null", 11));
	cr_assert_eq(sip_msg_hdr_count(m, SIP_HDR_CONTACT), 2);
}

static void esc02(const struct sip_msg *m)
{
	cr_assert(sveq(m->method_name, "RE%47IST%45R"));
	cr_assert(sveq(addr_of(m, SIP_HDR_TO).display, "%Z%45"));
	/* "C%6Fntact" is not Contact: header names are not unescaped. */
	cr_assert_eq(sip_msg_hdr_count(m, SIP_HDR_CONTACT), 2);
	cr_assert_not_null(sip_msg_hdr_by_name(m, sv_of("C%6Fntact")));
}

static void lwsdisp(const struct sip_msg *m)
{
	struct sip_addr a = addr_of(m, SIP_HDR_FROM);
	cr_assert(sveq(a.display, "caller"));
	cr_assert(sveq(a.uri, "sip:caller@example.com"));
	cr_assert(sveq(a.tag, "323"));
}

static void longreq(const struct sip_msg *m)
{
	unsigned n = 0;
	for (const struct sip_hdr *h = hdr(m, SIP_HDR_VIA); h; h = sip_msg_hdr_next(m, h)) {
		struct sv rest = h->value;
		struct sip_via v;
		while (sip_via_next(&rest, &v, NULL) > 0)
			n++;
	}
	cr_assert_geq(n, 30, "vias: %u", n);
	struct sip_addr to = addr_of(m, SIP_HDR_TO);
	struct sip_uri u = uri_of(to.uri);
	cr_assert_eq(u.port, 6000);
	struct sv val;
	cr_assert(sip_uri_param(&u,
				sv_of("longparamnamenamenamenamenamenamenamenamenamenamenamenamenam"
				      "enamenamenamenamenamenamenamenamenamenamenamename"),
				&val));
	cr_assert(sveq(val, "shortvalue"));
}

static void dblreq(const struct sip_msg *m)
{
	cr_assert_eq(m->method, SIP_METHOD_REGISTER);
	cr_assert_eq(m->content_length, 0);
	cr_assert(m->flags & SIP_MSGF_TRAILING);
	cr_assert_lt(m->msg_len, m->len);
}

static void semiuri(const struct sip_msg *m)
{
	struct sip_uri u = uri_of(m->ruri);
	cr_assert(sveq(u.user, "user;par=u%40example.net"));
	cr_assert(sveq(u.host, "example.com"));
	cr_assert_eq(u.params.len, 0);
	unsigned n = 0;
	struct sv rest = hdr(m, SIP_HDR_ACCEPT)->value, item;
	while (sip_list_next(&rest, &item, NULL) > 0)
		n++;
	cr_assert_eq(n, 6);
}

static void transports(const struct sip_msg *m)
{
	static const char *want[] = { "UDP", "SCTP", "TLS", "UNKNOWN", "TCP" };
	size_t i = 0;
	for (const struct sip_hdr *h = hdr(m, SIP_HDR_VIA); h; h = sip_msg_hdr_next(m, h), i++) {
		struct sv rest = h->value;
		struct sip_via v;
		cr_assert_eq(sip_via_next(&rest, &v, NULL), 1);
		cr_assert(sveq(v.transport, want[i]), "via %zu", i);
	}
	cr_assert_eq(i, 5);
}

static void mpart01(const struct sip_msg *m)
{
	struct sip_ctype ct;
	cr_assert_eq(sip_ctype_parse(hdr(m, SIP_HDR_CONTENT_TYPE)->value, &ct, NULL), 0);
	cr_assert(sv_caseeq(ct.type, sv_of("multipart")));
	cr_assert(sv_caseeq(ct.subtype, sv_of("mixed")));
	cr_assert_eq(m->body.len, m->content_length);
}

static void unreason(const struct sip_msg *m)
{
	cr_assert_eq(m->status, 200);
	cr_assert_gt(m->reason.len, 10);
	size_t hi = 0;
	for (size_t i = 0; i < m->reason.len; i++)
		hi += (unsigned char)m->reason.p[i] >= 0x80;
	cr_assert_gt(hi, 10, "UTF-8 reason phrase kept verbatim");
}

static void noreason(const struct sip_msg *m)
{
	cr_assert_eq(m->status, 100);
	cr_assert_eq(m->reason.len, 0);
}

static void badbranch(const struct sip_msg *m)
{
	struct sv rest = hdr(m, SIP_HDR_VIA)->value;
	struct sip_via v;
	cr_assert_eq(sip_via_next(&rest, &v, NULL), 1);
	cr_assert(sveq(v.branch, "z9hG4bK"));
}

static void unksm2(const struct sip_msg *m)
{
	cr_assert_eq(uri_of(addr_of(m, SIP_HDR_TO).uri).scheme, SIP_URI_OTHER);
	cr_assert_eq(uri_of(addr_of(m, SIP_HDR_FROM).uri).scheme, SIP_URI_OTHER);
}

static void bext01(const struct sip_msg *m)
{
	struct sv rest = hdr(m, SIP_HDR_REQUIRE)->value, tok;
	cr_assert_eq(sip_token_next(&rest, &tok, NULL), 1);
	cr_assert(sveq(tok, "nothingSupportsThis"));
	cr_assert_eq(sip_token_next(&rest, &tok, NULL), 1);
	cr_assert(sveq(tok, "nothingSupportsThisEither"));
	cr_assert_eq(sip_token_next(&rest, &tok, NULL), 0);
	rest = hdr(m, SIP_HDR_PROXY_REQUIRE)->value;
	cr_assert_eq(sip_token_next(&rest, &tok, NULL), 1);
	cr_assert(sveq(tok, "noProxiesSupportThis"));
}

static void invut(const struct sip_msg *m)
{
	struct sip_ctype ct;
	cr_assert_eq(sip_ctype_parse(hdr(m, SIP_HDR_CONTENT_TYPE)->value, &ct, NULL), 0);
	cr_assert(sveq(ct.type, "application"));
	cr_assert(sveq(ct.subtype, "unknownformat"));
}

static void regaut01(const struct sip_msg *m)
{
	struct sip_auth a;
	cr_assert_eq(sip_auth_parse(hdr(m, SIP_HDR_AUTHORIZATION)->value, &a, NULL), 0);
	cr_assert(sveq(a.scheme, "NoOneKnowsThisScheme"));
	cr_assert_not(a.is_digest);
}

static void bcast(const struct sip_msg *m)
{
	const struct sip_hdr *h = sip_msg_hdr_next(m, hdr(m, SIP_HDR_VIA));
	cr_assert_not_null(h);
	struct sv rest = h->value;
	struct sip_via v;
	cr_assert_eq(sip_via_next(&rest, &v, NULL), 1);
	cr_assert(sveq(v.host, "255.255.255.255"));
	cr_assert_eq(v.host_type, SIP_HOST_IPV4);
}

static void zeromf(const struct sip_msg *m)
{
	uint32_t mf = 99;
	cr_assert_eq(sip_uint_parse(hdr(m, SIP_HDR_MAX_FORWARDS)->value, 255, &mf, NULL), 0);
	cr_assert_eq(mf, 0);
}

static struct sip_contact contact_of(const struct sip_msg *m)
{
	struct sv rest = hdr(m, SIP_HDR_CONTACT)->value;
	struct sip_contact c;
	cr_assert_eq(sip_contact_next(&rest, &c, NULL), 1);
	return c;
}

static void cparam01(const struct sip_msg *m)
{
	/* addr-spec: ";unknownparam" is a Contact parameter, not a URI one. */
	struct sip_contact c = contact_of(m);
	struct sv val;
	cr_assert(sveq(c.addr.uri, "sip:+19725552222@gw1.example.net"));
	cr_assert(sip_param_get(c.addr.params, "unknownparam", &val));
}

static void cparam02(const struct sip_msg *m)
{
	struct sip_contact c = contact_of(m);
	struct sv val;
	cr_assert(sveq(c.addr.uri, "sip:+19725552222@gw1.example.net;unknownparam"));
	cr_assert_not(sip_param_get(c.addr.params, "unknownparam", &val));
	struct sip_uri u = uri_of(c.addr.uri);
	cr_assert(sip_uri_param(&u, sv_of("unknownparam"), &val));
}

static void regescrt(const struct sip_msg *m)
{
	struct sip_contact c = contact_of(m);
	struct sip_uri u = uri_of(c.addr.uri);
	cr_assert(sveq(u.headers, "Route=%3Csip:sip.example.com%3E"));
}

static void regbadct(const struct sip_msg *m)
{
	/* Accepted: the brackets are inferred, the header stays in the URI. */
	struct sip_contact c = contact_of(m);
	struct sip_uri u = uri_of(c.addr.uri);
	cr_assert(sveq(u.headers, "Route=%3Csip:sip.example.com%3E"));
}

static void badaspec(const struct sip_msg *m)
{
	/* Accepted: the URI inside < > carries no white space. */
	struct sip_addr to = addr_of(m, SIP_HDR_TO);
	cr_assert(sveq(to.uri, "sip:t.watson@example.org"));
}

static void sdp01(const struct sip_msg *m)
{
	cr_assert(sveq(hdr(m, SIP_HDR_ACCEPT)->value, "text/nobodyKnowsThis"));
}

static void inv2543(const struct sip_msg *m)
{
	struct sv rest = hdr(m, SIP_HDR_VIA)->value;
	struct sip_via v;
	cr_assert_eq(sip_via_next(&rest, &v, NULL), 1);
	cr_assert_eq(v.branch.len, 0);
	cr_assert(m->flags & SIP_MSGF_NO_CL);
	cr_assert_null(sip_msg_hdr(m, SIP_HDR_MAX_FORWARDS));
}

static void v6_good(const struct sip_msg *m)
{
	struct sip_uri u = uri_of(m->ruri);
	cr_assert_eq(u.host_type, SIP_HOST_IPV6);
	cr_assert(sveq(u.host, "2001:db8::10"));
}

static void v6_port_unambiguous(const struct sip_msg *m)
{
	struct sip_uri u = uri_of(m->ruri);
	cr_assert(sveq(u.host, "2001:db8::10"));
	cr_assert_eq(u.port, 5070);
}

static void v6_port_ambiguous(const struct sip_msg *m)
{
	struct sip_uri u = uri_of(m->ruri);
	cr_assert(sveq(u.host, "2001:db8::10:5070"));
	cr_assert_eq(u.port, 0);
}

static void v6_received(const struct sip_msg *m)
{
	struct sv rest = hdr(m, SIP_HDR_VIA)->value;
	struct sip_via v;
	cr_assert_eq(sip_via_next(&rest, &v, NULL), 1);
	cr_assert_eq(v.host_type, SIP_HOST_IPV6);
	cr_assert_gt(v.received.len, 0);
	cr_assert_not_null(memchr(v.received.p, ':', v.received.len));
}

static void v4_mapped(const struct sip_msg *m)
{
	struct sv rest = hdr(m, SIP_HDR_VIA)->value;
	struct sip_via v;
	cr_assert_eq(sip_via_next(&rest, &v, NULL), 1);
	cr_assert_eq(v.host_type, SIP_HOST_IPV6);
	cr_assert(sveq(v.host, "::ffff:192.0.2.10"));
	cr_assert_eq(v.port, 19823);
	struct sip_contact c = contact_of(m);
	struct sip_uri u = uri_of(c.addr.uri);
	cr_assert_eq(u.host_type, SIP_HOST_IPV6);
	cr_assert(sveq(u.host, "::ffff:192.0.2.2"));
}

static const struct row rows[] = {
	{ "rfc4475/wsinv.dat", OK, 0, wsinv },
	{ "rfc4475/intmeth.dat", OK, 0, intmeth },
	{ "rfc4475/esc01.dat", OK, 0, esc01 },
	{ "rfc4475/escnull.dat", OK, 0, escnull },
	{ "rfc4475/esc02.dat", OK, 0, esc02 },
	{ "rfc4475/lwsdisp.dat", OK, 0, lwsdisp },
	{ "rfc4475/longreq.dat", OK, 0, longreq },
	{ "rfc4475/dblreq.dat", OK, 0, dblreq },
	{ "rfc4475/semiuri.dat", OK, 0, semiuri },
	{ "rfc4475/transports.dat", OK, 0, transports },
	{ "rfc4475/mpart01.dat", OK, 0, mpart01 },
	{ "rfc4475/unreason.dat", OK, 0, unreason },
	{ "rfc4475/noreason.dat", OK, 0, noreason },
	{ "rfc4475/badinv01.dat", ANSWER, 400, NULL },
	{ "rfc4475/clerr.dat", PARSE_FAIL, 0, NULL },
	{ "rfc4475/ncl.dat", PARSE_FAIL, 0, NULL },
	{ "rfc4475/scalar02.dat", ANSWER, 400, NULL },
	{ "rfc4475/scalarlg.dat", DROP, 0, NULL },
	{ "rfc4475/quotbal.dat", ANSWER, 400, NULL },
	{ "rfc4475/ltgtruri.dat", PARSE_FAIL, 0, NULL },
	{ "rfc4475/lwsruri.dat", PARSE_FAIL, 0, NULL },
	{ "rfc4475/lwsstart.dat", PARSE_FAIL, 0, NULL },
	{ "rfc4475/trws.dat", PARSE_FAIL, 0, NULL },
	{ "rfc4475/escruri.dat", ANSWER, 400, NULL },
	{ "rfc4475/baddate.dat", OK, 0, NULL },
	{ "rfc4475/regbadct.dat", LENIENT, 400, regbadct },
	{ "rfc4475/badaspec.dat", LENIENT, 400, badaspec },
	{ "rfc4475/baddn.dat", ANSWER, 400, NULL },
	{ "rfc4475/badvers.dat", ANSWER, 505, NULL },
	{ "rfc4475/mismatch01.dat", ANSWER, 400, NULL },
	{ "rfc4475/mismatch02.dat", ANSWER, 400, NULL },
	{ "rfc4475/bigcode.dat", DROP, 0, NULL },
	{ "rfc4475/badbranch.dat", OK, 0, badbranch },
	{ "rfc4475/insuf.dat", ANSWER, 400, NULL },
	{ "rfc4475/unkscm.dat", ANSWER, 416, NULL },
	{ "rfc4475/novelsc.dat", ANSWER, 416, NULL },
	{ "rfc4475/unksm2.dat", OK, 0, unksm2 },
	{ "rfc4475/bext01.dat", OK, 0, bext01 },
	{ "rfc4475/invut.dat", OK, 0, invut },
	{ "rfc4475/regaut01.dat", OK, 0, regaut01 },
	{ "rfc4475/multi01.dat", ANSWER, 400, NULL },
	{ "rfc4475/mcl01.dat", ANSWER, 400, NULL },
	{ "rfc4475/bcast.dat", OK, 0, bcast },
	{ "rfc4475/zeromf.dat", OK, 0, zeromf },
	{ "rfc4475/cparam01.dat", OK, 0, cparam01 },
	{ "rfc4475/cparam02.dat", OK, 0, cparam02 },
	{ "rfc4475/regescrt.dat", OK, 0, regescrt },
	{ "rfc4475/sdp01.dat", OK, 0, sdp01 },
	{ "rfc4475/inv2543.dat", OK, 0, inv2543 },
	{ "rfc5118/ipv6-good", OK, 0, v6_good },
	{ "rfc5118/ipv6-correct-abnf-2-colons", OK, 0, NULL },
	{ "rfc5118/port-unambiguous", OK, 0, v6_port_unambiguous },
	{ "rfc5118/port-ambiguous", OK, 0, v6_port_ambiguous },
	{ "rfc5118/via-received-param-with-delim", OK, 0, v6_received },
	{ "rfc5118/via-received-param-no-delim", OK, 0, v6_received },
	{ "rfc5118/mult-ip-in-header", OK, 0, NULL },
	{ "rfc5118/mult-ip-in-sdp", OK, 0, NULL },
	{ "rfc5118/ipv6-in-sdp", OK, 0, NULL },
	{ "rfc5118/ipv4-mapped-ipv6", OK, 0, v4_mapped },
	{ "rfc5118/ipv6-bad", ANSWER, 400, NULL },
	{ "rfc5118/ipv6-bug-abnf-3-colons", ANSWER, 400, NULL },
};

static const char *corpus(void)
{
	const char *d = getenv("SIPRING_CONFORMANCE");
	return d ? d : "../shared/conformance";
}

static const char *load(const char *file, size_t *len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", corpus(), file);
	return guard_load(path, len);
}

/*
 * Criterion runs each parameter in a fresh process of the same executable, at
 * another load address: the parameter is the row's index, never a pointer.
 */
#define NROWS (sizeof(rows) / sizeof(rows[0]))

ParameterizedTestParameters(conformance, message)
{
	static size_t idx[NROWS];
	for (size_t i = 0; i < NROWS; i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, NROWS);
}

ParameterizedTest(size_t *ip, conformance, message)
{
	const struct row *r = &rows[*ip];
	size_t len;
	const char *buf = load(r->file, &len);
	if (!buf)
		cr_skip_test("%s/%s not found (the shared conformance corpus is absent)", corpus(),
			     r->file);

	struct sip_msg m;
	struct sip_check c;
	sip_msg_init(&m, hdrs, sizeof(hdrs) / sizeof(hdrs[0]));
	int ret = sip_msg_parse(&m, buf, len, 0, NULL);

	switch (r->outcome) {
	case PARSE_FAIL:
		cr_assert_eq(ret, -EBADMSG, "%s: parsed (%d)", r->file, ret);
		cr_assert_not_null(m.err.reason);
		cr_assert_leq(m.err.off, len);
		return;
	case DROP:
		if (ret < 0) {
			cr_assert_not_null(m.err.reason, "%s", r->file);
			return;
		}
		cr_assert_eq(m.type, SIP_MSG_RESPONSE, "%s", r->file);
		cr_assert_eq(sip_msg_check(&m, &c), SIP_CHECK_DROP, "%s", r->file);
		return;
	default:
		break;
	}
	cr_assert_gt(ret, 0, "%s: %s at %u", r->file, m.err.reason, m.err.off);
	int action = sip_msg_check(&m, &c);
	switch (r->outcome) {
	case OK:
		cr_assert_eq(action, 0, "%s: %d %s at %u", r->file, action, c.reason, c.off);
		break;
	case ANSWER:
		cr_assert_eq(action, r->status, "%s: %d (%s)", r->file, action, c.reason);
		cr_assert_not_null(c.reason);
		cr_assert_leq(c.off, len);
		return;
	case LENIENT:
		if (action != 0) {
			cr_assert_eq(action, r->status, "%s: %d (%s)", r->file, action, c.reason);
			return;
		}
		break;
	default:
		break;
	}
	if (r->fn)
		r->fn(&m);
}

/* The rows above and the corpus's manifests name the same files. */
Test(conformance, manifest_matches_rows)
{
	static const char *const manifests[] = { "rfc4475", "rfc5118" };
	size_t listed = 0;
	char path[4096], line[1024];

	for (size_t k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), "%s/%s/MANIFEST.tsv", corpus(), manifests[k]);
		FILE *f = fopen(path, "r");
		if (!f)
			cr_skip_test("%s not found", path);
		while (fgets(line, sizeof(line), f)) {
			if (line[0] == '#' || line[0] == '\n')
				continue;
			line[strcspn(line, "\t")] = 0;
			snprintf(path, sizeof(path), "%s/%s", manifests[k], line);
			size_t i;
			for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
				if (strcmp(rows[i].file, path) == 0)
					break;
			cr_assert_lt(i, sizeof(rows) / sizeof(rows[0]), "%s has no row", path);
			listed++;
		}
		fclose(f);
	}
	cr_assert_eq(listed, sizeof(rows) / sizeof(rows[0]));
}
