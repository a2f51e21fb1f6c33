/* SPDX-License-Identifier: MIT */
/*
 * Tests of parsers/sip_hdr.h: the typed header parsers, one table per parser,
 * one line per case, each input placed against a guard page. The torture
 * fragments are written after RFC 4475 (wsinv, intmeth, lwsdisp, badinv01,
 * quotbal, baddn, badaspec, regbadct, scalar02, badbranch, transports) and
 * RFC 5118 (received with and without brackets).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "parsers/sip_hdr.h"
#include "parsers/sip_msg.h"
#include "parsers/sip_uri.h"
#include "tests/guard.h"

/* A literal with its length, so that inputs may hold NUL. */
struct lit {
	const char *s;
	size_t n;
};
#define L(x)                       \
	{                          \
		(x), sizeof(x) - 1 \
	}
#define N(t) (sizeof(t) / sizeof((t)[0]))

static struct sv place(struct lit in)
{
	return sv_make(guard_place(in.s, in.n), in.n);
}

static struct sv place_str(const char *s)
{
	return place((struct lit){ s, strlen(s) });
}

/* A view against an expected string; NULL expects an absent or empty view. */
static bool sveq(struct sv v, const char *want)
{
	if (!want)
		return v.len == 0;
	return v.len == strlen(want) && (v.len == 0 || memcmp(v.p, want, v.len) == 0);
}

#define SV_FMT	  "'%.*s'"
#define SV_ARG(v) (int)(v).len, (v).p ? (v).p : ""

/* An error: its code, where (from the start of the whole value; -1: not
 * checked) and a piece of its reason. */
struct want_err {
	int code;
	int off;
	const char *why;
};

static void check_err(const char *what, size_t i, struct lit in, int r, struct sip_err *e,
		      size_t base, struct want_err w)
{
	cr_assert_eq(r, w.code, "%s %zu '%.*s': got %d (%s)", what, i, (int)in.n, in.s, r,
		     r < 0 && e->reason ? e->reason : "-");
	cr_assert_eq(e->code, r, "%s %zu: err.code", what, i);
	cr_assert_not_null(e->reason, "%s %zu: no reason", what, i);
	cr_assert_leq(base + e->off, in.n, "%s %zu: offset out of the value", what, i);
	if (w.off >= 0)
		cr_assert_eq(base + e->off, (size_t)w.off, "%s %zu '%.*s': offset %zu (%s)", what,
			     i, (int)in.n, in.s, base + e->off, e->reason);
	if (w.why)
		cr_assert_not_null(strstr(e->reason, w.why), "%s %zu: reason '%s' lacks '%s'", what,
				   i, e->reason, w.why);
}

/* ---- lists and parameters ---- */

Test(sip_hdr, list_next)
{
	static const struct {
		struct lit in;
		const char *items; /* joined by '|' */
		struct want_err err;
	} t[] = {
		{ L("a, b ,c"), "a|b|c" },
		{ L(""), "" },
		{ L("  \r\n "), "" },
		{ L("one"), "one" },
		{ L("\"x,y\" <sip:a,b>;p=1 , c"), "\"x,y\" <sip:a,b>;p=1|c" },
		{ L("\"a\\\",\" z"), "\"a\\\",\" z" },
		{ L("application/sdp, application/pkcs7-mime,\r\n        multipart/mixed"),
		  "application/sdp|application/pkcs7-mime|multipart/mixed" },
		{ L("a,,b"), "", { -EBADMSG, 2, "empty list element" } },
		{ L(",a"), "", { -EBADMSG, 0, "empty list element" } },
		{ L("a,"), "", { -EBADMSG, 2, "empty list element" } },
		{ L("a , \r\n ,b"), "", { -EBADMSG, 7, "empty list element" } },
		{ L(";;,;,,"), ";;", { -EBADMSG, 5, "empty list element" } },
		{ L("\"open, a"), "", { -EBADMSG, 0, "unterminated quoted string" } },
		{ L("b, <sip:a, b"), "b", { -EBADMSG, 3, "unterminated '<'" } },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sv rest = place(t[i].in), item;
		const char *v0 = rest.p;
		char got[256] = "";
		struct sip_err e = { 0 };
		int r;
		size_t base = 0;
		for (;;) {
			base = (size_t)(rest.p - v0);
			r = sip_list_next(&rest, &item, &e);
			if (r <= 0)
				break;
			if (got[0])
				strcat(got, "|");
			strncat(got, item.p, item.len);
		}
		if (t[i].err.code)
			check_err("list", i, t[i].in, r, &e, base, t[i].err);
		else
			cr_assert_eq(r, 0, "list %zu: %d %s", i, r, e.reason);
		cr_assert_str_eq(got, t[i].items, "list %zu", i);
	}
}

Test(sip_hdr, param_next)
{
	static const struct {
		struct lit in;
		const char *params; /* name or name=value, joined by '|' */
		struct want_err err;
	} t[] = {
		{ L(";lr;transport=tcp"), "lr|transport=tcp" },
		{ L("lr;transport=tcp"), "lr|transport=tcp" },
		{ L(""), "" },
		{ L("tag = 1918 ; x=\"a;b\""), "tag=1918|x=a;b" },
		{ L(" ; a =\r\n b ;\r\n\tc"), "a=b|c" },
		{ L(";received=[2001:db8::1];rport"), "received=[2001:db8::1]|rport" },
		{ L(";received=2001:db8::9:255"), "received=2001:db8::9:255" },
		{ L(";x=\"\""), "x=" },
		{ L(";fromParam''~+*_!.-%=\"\xd1\x80\xd0\xb0\""),
		  "fromParam''~+*_!.-%=\xd1\x80\xd0\xb0" },
		{ L(";;"), "", { -EBADMSG, 1, "empty parameter" } },
		{ L("a;"), "a", { -EBADMSG, 2, "empty parameter" } },
		{ L(";a="), "", { -EBADMSG, 3, "no value" } },
		{ L(";a b"), "", { -EBADMSG, 3, "not followed by ';'" } },
		{ L(";@"), "", { -EBADMSG, 1, "not a token" } },
		{ L(";a=<b>"), "", { -EBADMSG, 3, "no value" } },
		{ L(";a=\"b"), "", { -EBADMSG, 3, "unterminated" } },
		{ L(";a=b,c"), "", { -EBADMSG, 4, "not followed by ';'" } },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sv rest = place(t[i].in), name, val;
		const char *v0 = rest.p;
		char got[256] = "";
		struct sip_err e = { 0 };
		size_t base;
		int r;
		for (;;) {
			base = (size_t)(rest.p - v0);
			r = sip_param_next(&rest, &name, &val, &e);
			if (r <= 0)
				break;
			if (got[0])
				strcat(got, "|");
			strncat(got, name.p, name.len);
			if (val.len || (val.p > v0 && val.p[-1] == '"'))
				strcat(got, "=");
			if (val.len)
				strncat(got, val.p, val.len);
		}
		if (t[i].err.code)
			check_err("param", i, t[i].in, r, &e, base, t[i].err);
		else
			cr_assert_eq(r, 0, "param %zu: %d %s", i, r, e.reason);
		cr_assert_str_eq(got, t[i].params, "param %zu", i);
	}
}

Test(sip_hdr, param_get)
{
	static const struct {
		const char *params, *name;
		bool found;
		const char *value;
	} t[] = {
		{ "tag=abc;lr", "tag", true, "abc" },
		{ "tag=abc;lr", "lr", true, "" },
		{ "tag=abc;lr", "LR", true, "" },
		{ "TAG = abc ; lr", "tag", true, "abc" },
		{ "x=\"q;v\";y=2", "y", true, "2" },
		{ "x=\"q;v\";y=2", "x", true, "q;v" },
		{ "tag=abc", "ta", false, NULL },
		{ "", "tag", false, NULL },
		{ "+sip.instance=\"<urn:uuid:f81d4fae>\"", "+SIP.Instance", true,
		  "<urn:uuid:f81d4fae>" },
		{ "a;;b=1", "b", false, NULL }, /* malformed: stops at the error */
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sv v = SV_NULL;
		bool f = sip_param_get(place_str(t[i].params), t[i].name, &v);
		cr_assert_eq(f, t[i].found, "param_get %zu", i);
		if (f)
			cr_assert(sveq(v, t[i].value), "param_get %zu: " SV_FMT, i, SV_ARG(v));
	}
	struct sv v;
	cr_assert_not(sip_param_get(SV_NULL, "tag", &v));
}

Test(sip_hdr, unquote)
{
	static const struct {
		struct lit in;
		size_t cap;
		int ret;
		struct lit out;
	} t[] = {
		{ L("abc"), 16, 3, L("abc") },
		{ L("J Rosenberg \\\\\\\""), 32, 14, L("J Rosenberg \\\"") },
		{ L("a\\\"b"), 16, 3, L("a\"b") },
		{ L("BEL:\\\x07 NUL:\\\0 DEL:\\\x7f"), 32, 17, L("BEL:\x07 NUL:\0 DEL:\x7f") },
		{ L("a \r\n  b"), 16, 3, L("a b") },
		{ L("a\\ \r\n\tb"), 16, 4, L("a  b") },
		{ L(""), 0, 0, L("") },
		{ L("abcdef"), 3, -ENOBUFS, L("") },
		{ L("ab\\c"), 2, -ENOBUFS, L("") },
	};
	for (size_t i = 0; i < N(t); i++) {
		char out[64];
		int r = sip_unquote(place(t[i].in), out, t[i].cap);
		cr_assert_eq(r, t[i].ret, "unquote %zu: %d", i, r);
		if (r >= 0)
			cr_assert(r == (int)t[i].out.n && memcmp(out, t[i].out.s, t[i].out.n) == 0,
				  "unquote %zu: '%.*s'", i, r, out);
	}
}

/* ---- Via ---- */

Test(sip_hdr, via)
{
	static const struct {
		struct lit in;
		const char *proto, *version, *transport, *host;
		uint8_t type;
		uint16_t port;
		const char *branch, *received;
		int rport; /* -1: absent; else the value, 0 for a bare ;rport */
		const char *maddr, *ttl, *params;
		const char *branches; /* every via-parm's branch, joined by '|' */
	} t[] = {
		{ L("SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"), "SIP", "2.0",
		  "UDP", "pc33.atlanta.example.com", SIP_HOST_NAME, 0, "z9hG4bK776asdhds", NULL, -1,
		  NULL, NULL, "branch=z9hG4bK776asdhds", "z9hG4bK776asdhds" },
		{ L("SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKx"), "SIP", "2.0", "UDP",
		  "192.0.2.1", SIP_HOST_IPV4, 5060, "z9hG4bKx", NULL, 0, NULL, NULL,
		  "rport;branch=z9hG4bKx", "z9hG4bKx" },
		{ L("SIP/2.0/UDP 192.0.2.1;received=192.0.2.9;rport=5070;branch=z9hG4bKx"), "SIP",
		  "2.0", "UDP", "192.0.2.1", SIP_HOST_IPV4, 0, "z9hG4bKx", "192.0.2.9", 5070, NULL,
		  NULL, "received=192.0.2.9;rport=5070;branch=z9hG4bKx", "z9hG4bKx" },
		{ L("SIP/2.0/TCP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111"), "SIP", "2.0", "TCP",
		  "2001:db8::9:1", SIP_HOST_IPV6, 6050, "z9hG4bKas3-111", NULL, -1, NULL, NULL,
		  "branch=z9hG4bKas3-111", "z9hG4bKas3-111" },
		/* RFC 5118 received: IPv6 without and with brackets */
		{ L("SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3"),
		  "SIP", "2.0", "UDP", "2001:db8::9:1", SIP_HOST_IPV6, 0, "z9hG4bKas3",
		  "2001:db8::9:255", -1, NULL, NULL, "received=2001:db8::9:255;branch=z9hG4bKas3",
		  "z9hG4bKas3" },
		{ L("SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3"),
		  "SIP", "2.0", "UDP", "2001:db8::9:1", SIP_HOST_IPV6, 0, "z9hG4bKas3",
		  "[2001:db8::9:255]", -1, NULL, NULL,
		  "received=[2001:db8::9:255];branch=z9hG4bKas3", "z9hG4bKas3" },
		/* RFC 4475 wsinv: LWS and folds around every separator, two via-parms */
		{ L("SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  "
		    ",\r\n"
		    " SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239"),
		  "SIP", "2.0", "TCP", "spindle.example.com", SIP_HOST_NAME, 0, "z9hG4bK9ikj8",
		  NULL, -1, NULL, NULL, "branch  =   z9hG4bK9ikj8", "z9hG4bK9ikj8|z9hG4bK30239" },
		{ L("SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw"), "SIP", "2.0", "UDP",
		  "192.0.2.2", SIP_HOST_IPV4, 0, "390skdjuw", NULL, -1, NULL, NULL,
		  "branch=390skdjuw", "390skdjuw" },
		/* RFC 4475 transports, badbranch, intmeth */
		{ L("SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en"), "SIP", "2.0",
		  "UNKNOWN", "t4.example.com", SIP_HOST_NAME, 0, "z9hG4bKasd0f3en", NULL, -1, NULL,
		  NULL, "branch=z9hG4bKasd0f3en", "z9hG4bKasd0f3en" },
		{ L("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK"), "SIP", "2.0", "UDP", "192.0.2.1",
		  SIP_HOST_IPV4, 0, "z9hG4bK", NULL, -1, NULL, NULL, "branch=z9hG4bK", "z9hG4bK" },
		{ L("SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~"), "SIP", "2.0",
		  "TCP", "host1.example.com", SIP_HOST_NAME, 0, "z9hG4bK-.!%66*_+`'~", NULL, -1,
		  NULL, NULL, "branch=z9hG4bK-.!%66*_+`'~", "z9hG4bK-.!%66*_+`'~" },
		{ L("SIP/2.0/UDP 224.2.0.1;maddr=224.2.0.1;ttl=16;branch=z9hG4bKm"), "SIP", "2.0",
		  "UDP", "224.2.0.1", SIP_HOST_IPV4, 0, "z9hG4bKm", NULL, -1, "224.2.0.1", "16",
		  "maddr=224.2.0.1;ttl=16;branch=z9hG4bKm", "z9hG4bKm" },
		/* COLON = SWS ":" SWS in sent-by */
		{ L("SIP/2.0/UDP host.example.com : 5062;branch=z9hG4bKc"), "SIP", "2.0", "UDP",
		  "host.example.com", SIP_HOST_NAME, 5062, "z9hG4bKc", NULL, -1, NULL, NULL,
		  "branch=z9hG4bKc", "z9hG4bKc" },
		{ L("SIP/2.0/UDP host.example.com:\r\n 5062"), "SIP", "2.0", "UDP",
		  "host.example.com", SIP_HOST_NAME, 5062, NULL, NULL, -1, NULL, NULL, NULL, "" },
		{ L("sip/2.0/tls h.example.com"), "sip", "2.0", "tls", "h.example.com",
		  SIP_HOST_NAME, 0, NULL, NULL, -1, NULL, NULL, NULL, "" },
		{ L("SIP/3.0/UDP h.example.com"), "SIP", "3.0", "UDP", "h.example.com",
		  SIP_HOST_NAME, 0, NULL, NULL, -1, NULL, NULL, NULL, "" },
		{ L("SIP/2.0/UDP erlang.bell-telephone.com:5060;branch=z9hG4bK87asdks7, "
		    "SIP/2.0/UDP "
		    "192.0.2.207:5060;branch=z9hG4bK77asjd"),
		  "SIP", "2.0", "UDP", "erlang.bell-telephone.com", SIP_HOST_NAME, 5060,
		  "z9hG4bK87asdks7", NULL, -1, NULL, NULL, "branch=z9hG4bK87asdks7",
		  "z9hG4bK87asdks7|z9hG4bK77asjd" },
		{ L("SIP/2.0/UDP h.example.com;x=\"a,b\";branch=z9hG4bKq,SIP/2.0/UDP "
		    "g.example.com"),
		  "SIP", "2.0", "UDP", "h.example.com", SIP_HOST_NAME, 0, "z9hG4bKq", NULL, -1,
		  NULL, NULL, "x=\"a,b\";branch=z9hG4bKq", "z9hG4bKq|" },
		{ L("SIP/2.0/UDP h.example.com;BRANCH=z9hG4bKq;Received=10.0.0.1;RPort=1"), "SIP",
		  "2.0", "UDP", "h.example.com", SIP_HOST_NAME, 0, "z9hG4bKq", "10.0.0.1", 1, NULL,
		  NULL, "BRANCH=z9hG4bKq;Received=10.0.0.1;RPort=1", "z9hG4bKq" },
		{ L("SIP/2.0/UDP 255.255.255.255;branch=z9hG4bKb"), "SIP", "2.0", "UDP",
		  "255.255.255.255", SIP_HOST_IPV4, 0, "z9hG4bKb", NULL, -1, NULL, NULL,
		  "branch=z9hG4bKb", "z9hG4bKb" },
		/* RFC 2543 style: no branch at all */
		{ L("SIP/2.0/UDP 192.0.2.1"), "SIP", "2.0", "UDP", "192.0.2.1", SIP_HOST_IPV4, 0,
		  NULL, NULL, -1, NULL, NULL, NULL, "" },
		{ L("  SIP/2.0/UDP h.example.com;unknown;x-y=\"q\"  "), "SIP", "2.0", "UDP",
		  "h.example.com", SIP_HOST_NAME, 0, NULL, NULL, -1, NULL, NULL,
		  "unknown;x-y=\"q\"", "" },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sv rest = place(t[i].in);
		struct sip_via v;
		struct sip_err e = { 0 };
		int r = sip_via_next(&rest, &v, &e);
		cr_assert_eq(r, 1, "via %zu: %d %s at %u", i, r, e.reason, e.off);
		cr_assert(sveq(v.proto, t[i].proto), "via %zu proto " SV_FMT, i, SV_ARG(v.proto));
		cr_assert(sveq(v.version, t[i].version), "via %zu version", i);
		cr_assert(sveq(v.transport, t[i].transport), "via %zu transport", i);
		cr_assert(sveq(v.host, t[i].host), "via %zu host " SV_FMT, i, SV_ARG(v.host));
		cr_assert_eq(v.host_type, t[i].type, "via %zu host_type", i);
		cr_assert_eq(v.port, t[i].port, "via %zu port %u", i, v.port);
		cr_assert(sveq(v.branch, t[i].branch), "via %zu branch " SV_FMT, i,
			  SV_ARG(v.branch));
		cr_assert(sveq(v.received, t[i].received), "via %zu received", i);
		cr_assert_eq(v.has_rport, t[i].rport >= 0, "via %zu has_rport", i);
		cr_assert_eq(v.rport, t[i].rport > 0 ? t[i].rport : 0, "via %zu rport", i);
		cr_assert(sveq(v.maddr, t[i].maddr), "via %zu maddr", i);
		cr_assert(sveq(v.ttl, t[i].ttl), "via %zu ttl", i);
		cr_assert(sveq(v.params, t[i].params), "via %zu params " SV_FMT, i,
			  SV_ARG(v.params));
		char got[256] = "";
		strncat(got, v.branch.p ? v.branch.p : "", v.branch.len);
		while ((r = sip_via_next(&rest, &v, &e)) > 0) {
			strcat(got, "|");
			strncat(got, v.branch.p ? v.branch.p : "", v.branch.len);
		}
		cr_assert_eq(r, 0, "via %zu: later via-parm: %d %s", i, r, e.reason);
		cr_assert_str_eq(got, t[i].branches, "via %zu", i);
	}
}

Test(sip_hdr, via_wsinv_second_parm)
{
	struct sv rest = place_str("SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =  "
				   " z9hG4bK9ikj8  ,\r\n SIP  /    2.0   / UDP  192.168.255.111   ;"
				   " branch=\r\n z9hG4bK30239");
	struct sip_via v;
	cr_assert_eq(sip_via_next(&rest, &v, NULL), 1);
	cr_assert_eq(sip_via_next(&rest, &v, NULL), 1);
	cr_assert(sveq(v.transport, "UDP"));
	cr_assert(sveq(v.host, "192.168.255.111"));
	cr_assert_eq(v.host_type, SIP_HOST_IPV4);
	cr_assert(sveq(v.branch, "z9hG4bK30239"));
	cr_assert(sveq(v.params, "branch=\r\n z9hG4bK30239"));
	cr_assert_eq(sip_via_next(&rest, &v, NULL), 0);
	cr_assert_eq(sip_via_next(&rest, &v, NULL), 0, "the end stays the end");
}

Test(sip_hdr, via_errors)
{
	static const struct {
		struct lit in;
		struct want_err err;
	} t[] = {
		/* RFC 4475 badinv01 */
		{ L("SIP/2.0/UDP 192.0.2.15;;,;,,"), { -EBADMSG, 23, "empty parameter" } },
		{ L("SIP/2.0/UDP 192.0.2.15,,"), { -EBADMSG, 23, "empty list element" } },
		{ L("SIP/2.0/UDP 192.0.2.15,"), { -EBADMSG, 23, "empty list element" } },
		{ L(",SIP/2.0/UDP 192.0.2.15"), { -EBADMSG, 0, "empty list element" } },
		{ L("SIP/2.0/UDP"), { -EBADMSG, 11, "no sent-by" } },
		{ L("SIP/2.0/UDPhost"), { -EBADMSG, 15, "no sent-by" } },
		{ L("SIP/2.0/UDP  "), { -EBADMSG, 13, "no sent-by" } },
		{ L("SIP/2.0/UDP;branch=z9hG4bK1"), { -EBADMSG, 11, "white space" } },
		{ L("SIP/2.0/ h"), { -EBADMSG, 8, "no transport" } },
		{ L("SIP 2.0/UDP h"), { -EBADMSG, 4, "expected '/'" } },
		{ L("SIP/2.0 UDP h"), { -EBADMSG, 8, "expected '/'" } },
		{ L("SIP//UDP h"), { -EBADMSG, 4, "no protocol version" } },
		{ L("/2.0/UDP h"), { -EBADMSG, 0, "does not start with a token" } },
		{ L("SIP/2.0/UDP h x"), { -EBADMSG, 14, "expected ';' or ','" } },
		{ L("SIP/2.0/UDP h<"), { -EBADMSG, 13, "bad character in sent-by" } },
		{ L("SIP/2.0/UDP h;branch=z9hG4bK1;branch=z9hG4bK2"),
		  { -EBADMSG, 30, "duplicate" } },
		{ L("SIP/2.0/UDP h;branch="), { -EBADMSG, 21, "no value" } },
		{ L("SIP/2.0/UDP h;branch=\"z9hG4bK1\""),
		  { -EBADMSG, 22, "branch is not a token" } },
		{ L("SIP/2.0/UDP h;branch=z9:1"), { -EBADMSG, 21, "branch is not a token" } },
		{ L("SIP/2.0/UDP h;received=example.com"), { -EBADMSG, 23, "not an IP address" } },
		{ L("SIP/2.0/UDP h;received=[2001:db8::1]:5060"), { -EBADMSG, 23, "not an IP" } },
		{ L("SIP/2.0/UDP h;received=2001:db8:::1"), { -EBADMSG, 23, "not an IP address" } },
		{ L("SIP/2.0/UDP h;received"), { -EBADMSG, 22, "not an IP address" } },
		{ L("SIP/2.0/UDP h;received=1.2.3.4;received=1.2.3.4"),
		  { -EBADMSG, 31, "duplicate" } },
		{ L("SIP/2.0/UDP h;ttl=256"), { -ERANGE, 18, "ttl over 255" } },
		{ L("SIP/2.0/UDP h;ttl=1000"), { -EBADMSG, 18, "1 to 3 digits" } },
		{ L("SIP/2.0/UDP h;ttl"), { -EBADMSG, 17, "1 to 3 digits" } },
		{ L("SIP/2.0/UDP h;rport=70000"), { -ERANGE, 20, "rport over 65535" } },
		{ L("SIP/2.0/UDP h;rport=x1"), { -EBADMSG, 20, "rport is not a number" } },
		{ L("SIP/2.0/UDP h;rport;rport"), { -EBADMSG, 20, "duplicate" } },
		{ L("SIP/2.0/UDP h;maddr=h:5060"), { -EBADMSG, 20, "maddr is not a host" } },
		{ L("SIP/2.0/UDP h;maddr"), { -EBADMSG, 19, "maddr is not a host" } },
		{ L("SIP/2.0/UDP h;x=\"open"), { -EBADMSG, 16, "unterminated quoted string" } },
		{ L("SIP/2.0/UDP h;x=\"a\\\r\n b\""), { -EBADMSG, 18, "line end" } },
		{ L("SIP/2.0/UDP h;x=\"a\x01\""), { -EBADMSG, 18, "control character" } },
		{ L("SIP/2.0/UDP h :"), { -EBADMSG, 15, "no port" } },
		{ L("SIP/2.0/UDP h: x"), { -EBADMSG, 15, "no port" } },
		{ L("SIP/2.0/UDP h : 0"), { -EBADMSG, 16, "1-65535" } },
		{ L("SIP/2.0/UDP h : 65536"), { -EBADMSG, 16, "1-65535" } },
		{ L("SIP/2.0/UDP h: 5060:"), { -EBADMSG, 19, "bad character in sent-by" } },
		{ L("SIP/2.0/UDP [::1]:5060 : 5061"), { -EBADMSG, 12, "two ports" } },
		/* sip_hostport_parse() judges the host and port: code and place only */
		{ L("SIP/2.0/UDP 2001:db8::1;branch=z9hG4bKx"), { -EBADMSG, -1, NULL } },
		{ L("SIP/2.0/UDP [2001:db8:::1]"), { -EBADMSG, -1, NULL } },
		{ L("SIP/2.0/UDP h:0"), { -EBADMSG, -1, NULL } },
		{ L("SIP/2.0/UDP h:99999"), { -EBADMSG, -1, NULL } },
		{ L("SIP/2.0/UDP [::1"), { -EBADMSG, -1, NULL } },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sv rest = place(t[i].in), before = rest;
		struct sip_via v;
		struct sip_err e = { 0 };
		int r = sip_via_next(&rest, &v, &e);
		check_err("via", i, t[i].in, r, &e, 0, t[i].err);
		cr_assert(rest.p == before.p && rest.len == before.len, "via %zu: rest moved", i);
	}
}

/* ---- addresses ---- */

Test(sip_hdr, addr)
{
	static const struct {
		struct lit in;
		const char *display;
		bool quoted;
		const char *uri;
		bool bracketed;
		const char *tag, *params;
	} t[] = {
		{ L("Bob <sip:bob@biloxi.example.com>"), "Bob", false, "sip:bob@biloxi.example.com",
		  true, NULL, NULL },
		{ L("\"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774"), "Alice", true,
		  "sip:alice@atlanta.example.com", true, "1928301774", "tag=1928301774" },
		{ L("<sip:alice@atlanta.example.com>;tag=88sja8x"), NULL, false,
		  "sip:alice@atlanta.example.com", true, "88sja8x", "tag=88sja8x" },
		{ L("sip:+12125551212@server.phone2net.com;tag=887s"), NULL, false,
		  "sip:+12125551212@server.phone2net.com", false, "887s", "tag=887s" },
		/* RFC 4475 wsinv To and From */
		{ L("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n"), NULL, false,
		  "sip:vivekg@chair-dnrc.example.com", false, "1918181833n",
		  "tag    = 1918181833n" },
		{ L("\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = "
		    "98asjd8"),
		  "J Rosenberg \\\\\\\"", true, "sip:jdrosen@example.com", true, "98asjd8",
		  "tag = 98asjd8" },
		/* RFC 4475 intmeth: display name of tokens, unusual parameters */
		{ L("token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%="
		    "\"\xd1\x80\xd0\xb0\";tag=_token~1'+`*%!-."),
		  "token1~` token2'+_ token3*%!.-", false, "sip:mundane@example.com", true,
		  "_token~1'+`*%!-.",
		  "fromParam''~+*_!.-%=\"\xd1\x80\xd0\xb0\";tag=_token~1'+`*%!-." },
		{ L("\"x\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>"),
		  "x", true, "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com",
		  true, NULL, NULL },
		/* RFC 4475 lwsdisp, longreq: nothing between the display name and '<' */
		{ L("caller<sip:caller@example.com>;tag=323"), "caller", false,
		  "sip:caller@example.com", true, "323", "tag=323" },
		{ L("\"I have a user name\"<sip:user@example.com:6000;unknownparam1=x>"),
		  "I have a user name", true, "sip:user@example.com:6000;unknownparam1=x", true,
		  NULL, NULL },
		/* RFC 4475 regbadct: an addr-spec with a '?' is still an addr-spec */
		{ L("sip:user@example.com?Route=%3Csip:sip.example.com%3E"), NULL, false,
		  "sip:user@example.com?Route=%3Csip:sip.example.com%3E", false, NULL, NULL },
		/* RFC 4475 badaspec: white space just inside < > is skipped */
		{ L("\"Watson, Thomas\" < sip:t.watson@example.org >"), "Watson, Thomas", true,
		  "sip:t.watson@example.org", true, NULL, NULL },
		/* RFC 4475 esc02, unksm2 */
		{ L("\"%Z%45\" <sip:resource@example.com>"), "%Z%45", true,
		  "sip:resource@example.com", true, NULL, NULL },
		{ L("isbn:2983792873"), NULL, false, "isbn:2983792873", false, NULL, NULL },
		{ L("<http://www.example.com>;tag=3234233"), NULL, false, "http://www.example.com",
		  true, "3234233", "tag=3234233" },
		{ L("<name:John_Smith>"), NULL, false, "name:John_Smith", true, NULL, NULL },
		{ L("\"\" <sip:a@b.example.com>"), "", true, "sip:a@b.example.com", true, NULL,
		  NULL },
		{ L("A B\r\n  C <sip:x@y.example.com>"), "A B\r\n  C", false, "sip:x@y.example.com",
		  true, NULL, NULL },
		{ L("<sip:a@b.example.com>;tag=x;x-foo=\"bar;baz\";lr"), NULL, false,
		  "sip:a@b.example.com", true, "x", "tag=x;x-foo=\"bar;baz\";lr" },
		{ L("sip:a@b.example.com;tag=1 ;other"), NULL, false, "sip:a@b.example.com", false,
		  "1", "tag=1 ;other" },
		{ L("<sip:[2001:db8::1]:5060;lr>"), NULL, false, "sip:[2001:db8::1]:5060;lr", true,
		  NULL, NULL },
		{ L("tel:+1-212-555-1212;tag=t"), NULL, false, "tel:+1-212-555-1212", false, "t",
		  "tag=t" },
		{ L("  <sip:a@b.example.com>  "), NULL, false, "sip:a@b.example.com", true, NULL,
		  NULL },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sip_addr a;
		struct sip_err e = { 0 };
		int r = sip_addr_parse(place(t[i].in), &a, &e);
		cr_assert_eq(r, 0, "addr %zu: %d %s at %u", i, r, e.reason, e.off);
		cr_assert(sveq(a.display, t[i].display), "addr %zu display " SV_FMT, i,
			  SV_ARG(a.display));
		cr_assert_eq(a.quoted, t[i].quoted, "addr %zu quoted", i);
		cr_assert(sveq(a.uri, t[i].uri), "addr %zu uri " SV_FMT, i, SV_ARG(a.uri));
		cr_assert_eq(a.bracketed, t[i].bracketed, "addr %zu bracketed", i);
		cr_assert(sveq(a.tag, t[i].tag), "addr %zu tag " SV_FMT, i, SV_ARG(a.tag));
		cr_assert(sveq(a.params, t[i].params), "addr %zu params " SV_FMT, i,
			  SV_ARG(a.params));
		cr_assert_not(a.star, "addr %zu star", i);
	}
}

/* RFC 4475 intmeth: a quoted display name holding escaped BEL, NUL and DEL. */
Test(sip_hdr, addr_escaped_controls)
{
	static const char in[] = "\"BEL:\\\x07 NUL:\\\0 DEL:\\\x7f\" <sip:x@example.com>";
	static const char disp[] = "BEL:\\\x07 NUL:\\\0 DEL:\\\x7f";
	struct sip_addr a;
	char out[32];
	cr_assert_eq(sip_addr_parse(place((struct lit){ in, sizeof(in) - 1 }), &a, NULL), 0);
	cr_assert(a.quoted);
	cr_assert_eq(a.display.len, sizeof(disp) - 1);
	cr_assert_eq(memcmp(a.display.p, disp, a.display.len), 0);
	cr_assert_eq(sip_unquote(a.display, out, sizeof(out)), 17);
	cr_assert_eq(memcmp(out, "BEL:\x07 NUL:\0 DEL:\x7f", 17), 0);
}

Test(sip_hdr, addr_star)
{
	static const struct lit in[] = { L("*"), L("  *  "), L("*\r\n ") };
	for (size_t i = 0; i < N(in); i++) {
		struct sip_addr a;
		cr_assert_eq(sip_addr_parse(place(in[i]), &a, NULL), 0, "star %zu", i);
		cr_assert(a.star, "star %zu", i);
	}
	/* "*" as a display-name token is not a star. */
	struct sip_addr a;
	cr_assert_eq(sip_addr_parse(place_str("* <sip:a@b.example.com>"), &a, NULL), 0);
	cr_assert_not(a.star);
	cr_assert(sveq(a.display, "*"));
}

Test(sip_hdr, addr_errors)
{
	static const struct {
		struct lit in;
		struct want_err err;
	} t[] = {
		/* RFC 4475 quotbal, baddn, badinv01 */
		{ L("\"Mr. J. User <sip:j.user@example.com>"),
		  { -EBADMSG, 0, "unterminated quoted" } },
		{ L("Bell, Alexander <sip:a.g.bell@example.com>;tag=43"),
		  { -EBADMSG, 4, "non-token" } },
		{ L("\"Joe\" <sip:joe@example.org>;;;;"), { -EBADMSG, 28, "empty parameter" } },
		{ L("Bob sip:bob@b.example.com"), { -EBADMSG, 7, "non-token" } },
		{ L("\"Bob\" sip:bob@b.example.com"), { -EBADMSG, 6, "not followed by '<'" } },
		{ L("\"Bob\""), { -EBADMSG, 5, "not followed by '<'" } },
		{ L("Bob"), { -EBADMSG, 3, "not followed by '<'" } },
		{ L("Bob  "), { -EBADMSG, 5, "not followed by '<'" } },
		{ L("<sip:a@b.example.com"), { -EBADMSG, 0, "unterminated '<'" } },
		{ L("<sip:a@b.example.com  "), { -EBADMSG, 0, "unterminated '<'" } },
		{ L("<>"), { -EBADMSG, 1, "empty URI" } },
		{ L("< >"), { -EBADMSG, 2, "empty URI" } },
		{ L("<sip:a b>"), { -EBADMSG, 7, "bad character in the URI" } },
		{ L("<sip:a\"b>"), { -EBADMSG, 6, "bad character in the URI" } },
		{ L("<sip:a<b>"), { -EBADMSG, 6, "bad character in the URI" } },
		{ L("sip:a@b<"), { -EBADMSG, 7, "bad character in the URI" } },
		{ L("sip:a@b\""), { -EBADMSG, 7, "bad character in the URI" } },
		{ L("sip:a@b, sip:c@d"), { -EBADMSG, 7, "more than one address" } },
		{ L("<sip:a@b>, <sip:c@d>"), { -EBADMSG, 9, "more than one address" } },
		{ L("sip:a@b;tag=1;tag=2"), { -EBADMSG, 14, "duplicate tag" } },
		{ L("sip:a@b;tag"), { -EBADMSG, 11, "tag without a value" } },
		{ L("sip:a@b;tag=\"\""), { -EBADMSG, 13, "tag without a value" } },
		{ L("sip:a@b;tag=1 x"), { -EBADMSG, 14, "expected ';' or ','" } },
		{ L("<sip:a@b> x"), { -EBADMSG, 10, "expected ';' or ','" } },
		{ L(""), { -EBADMSG, 0, "no address" } },
		{ L("   "), { -EBADMSG, 3, "no address" } },
		{ L("@host"), { -EBADMSG, 0, "expected a display name" } },
		{ L("user@host"), { -EBADMSG, 4, "non-token" } },
		{ L("*;expires=0"), { -EBADMSG, 1, "stand alone" } },
		{ L("* , *"), { -EBADMSG, 2, "stand alone" } },
		{ L("\"a\\"), { -EBADMSG, 0, "unterminated quoted" } },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sip_addr a;
		struct sip_err e = { 0 };
		int r = sip_addr_parse(place(t[i].in), &a, &e);
		check_err("addr", i, t[i].in, r, &e, 0, t[i].err);
	}
}

Test(sip_hdr, addr_next)
{
	static const struct {
		struct lit in;
		const char *uris; /* joined by '|' */
		struct want_err err;
	} t[] = {
		{ L("<sip:p1.example.com;lr>, <sip:p2.example.com;lr>"),
		  "sip:p1.example.com;lr|sip:p2.example.com;lr" },
		{ L("<sip:p1.example.com;lr>;x=\"a,b\" ,\r\n \"P, 2\" <sip:p2.example.com>"),
		  "sip:p1.example.com;lr|sip:p2.example.com" },
		{ L("sip:a@b.example.com;x=1,sip:c@d.example.com"),
		  "sip:a@b.example.com|sip:c@d.example.com" },
		{ L(""), "" },
		{ L("<sip:a.example.com>,,<sip:b.example.com>"),
		  "",
		  { -EBADMSG, 20, "empty list" } },
		{ L("<sip:a.example.com>,"), "", { -EBADMSG, 20, "empty list element" } },
		{ L(", <sip:a.example.com>"), "", { -EBADMSG, 0, "empty list element" } },
		{ L("<sip:a.example.com>, Bell, A <sip:b.example.com>"),
		  "sip:a.example.com",
		  { -EBADMSG, 25, "non-token" } },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sv rest = place(t[i].in);
		const char *v0 = rest.p;
		struct sip_addr a;
		struct sip_err e = { 0 };
		char got[256] = "";
		size_t base;
		int r;
		for (;;) {
			base = (size_t)(rest.p - v0);
			r = sip_addr_next(&rest, &a, &e);
			if (r <= 0)
				break;
			if (got[0])
				strcat(got, "|");
			strncat(got, a.uri.p, a.uri.len);
		}
		if (t[i].err.code)
			check_err("addr_next", i, t[i].in, r, &e, base, t[i].err);
		else
			cr_assert_eq(r, 0, "addr_next %zu: %d %s", i, r, e.reason);
		cr_assert_str_eq(got, t[i].uris, "addr_next %zu", i);
	}
}

Test(sip_hdr, contact)
{
	static const struct {
		struct lit in;
		int n;
		bool star;
		int q;		 /* -1: absent */
		int64_t expires; /* -1: absent */
		int64_t reg_id;	 /* -1: absent */
		const char *instance, *uri;
	} t[] = {
		{ L("<sip:alice@pc33.atlanta.example.com>"), 1, false, -1, -1, -1, NULL,
		  "sip:alice@pc33.atlanta.example.com" },
		{ L("*"), 1, true, -1, -1, -1, NULL, NULL },
		{ L("  *\r\n "), 1, true, -1, -1, -1, NULL, NULL },
		{ L("\"Mr. Watson\" <sip:watson@worcester.bell-telephone.com>;q=0.7; expires=3600, "
		    "\"Mr. Watson\" <mailto:watson@bell-telephone.com> ;q=0.1"),
		  2, false, 700, 3600, -1, NULL, "sip:watson@worcester.bell-telephone.com" },
		/* RFC 4475 scalar02: expires over 2**32-1 reads as 2**32-1 */
		{ L("<sip:user@host129.example.com>\r\n  ;expires=280297596632815"), 1, false, -1,
		  UINT32_MAX, -1, NULL, "sip:user@host129.example.com" },
		{ L("<sip:a@b.example.com>;expires=4294967295"), 1, false, -1, UINT32_MAX, -1, NULL,
		  "sip:a@b.example.com" },
		{ L("<sip:a@b.example.com>;expires=0"), 1, false, -1, 0, -1, NULL,
		  "sip:a@b.example.com" },
		{ L("<sip:a@b.example.com>;EXPIRES=007"), 1, false, -1, 7, -1, NULL,
		  "sip:a@b.example.com" },
		{ L("<sip:a@b.example.com>;q=1.000"), 1, false, 1000, -1, -1, NULL,
		  "sip:a@b.example.com" },
		{ L("<sip:a@b.example.com>;q=1"), 1, false, 1000, -1, -1, NULL,
		  "sip:a@b.example.com" },
		{ L("<sip:a@b.example.com>;q=1."), 1, false, 1000, -1, -1, NULL,
		  "sip:a@b.example.com" },
		{ L("<sip:a@b.example.com>;q=0"), 1, false, 0, -1, -1, NULL,
		  "sip:a@b.example.com" },
		{ L("<sip:a@b.example.com>;Q=0.5"), 1, false, 500, -1, -1, NULL,
		  "sip:a@b.example.com" },
		{ L("<sip:a@b.example.com>;q=0.001"), 1, false, 1, -1, -1, NULL,
		  "sip:a@b.example.com" },
		/* RFC 5626 */
		{ L("<sip:line1@192.0.2.2;transport=tcp>;reg-id=1;+sip.instance=\"<urn:uuid:"
		    "00000000"
		    "-0000-1000-8000-000A95A0E128>\""),
		  1, false, -1, -1, 1, "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>",
		  "sip:line1@192.0.2.2;transport=tcp" },
		{ L("<sip:a@b.example.com>;reg-id=2147483647"), 1, false, -1, -1, 2147483647, NULL,
		  "sip:a@b.example.com" },
		/* RFC 4475 wsinv */
		{ L("\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n      "
		    "newvalue ;\r\n  secondparam ; q = 0.33"),
		  1, false, 330, -1, -1, NULL, "sip:jdrosen@example.com" },
		/* RFC 4475 cparam01, regbadct */
		{ L("sip:+19725552222@gw1.example.net;unknownparam"), 1, false, -1, -1, -1, NULL,
		  "sip:+19725552222@gw1.example.net" },
		{ L("sip:user@example.com?Route=%3Csip:sip.example.com%3E"), 1, false, -1, -1, -1,
		  NULL, "sip:user@example.com?Route=%3Csip:sip.example.com%3E" },
		{ L("<sip:a@b.example.com>, <sip:c@d.example.com>;q=0.1, sip:e@f.example.com"), 3,
		  false, -1, -1, -1, NULL, "sip:a@b.example.com" },
		{ L(""), 0, false, -1, -1, -1, NULL, NULL },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sv rest = place(t[i].in);
		struct sip_contact c, first = { 0 };
		struct sip_err e = { 0 };
		int n = 0, r;
		while ((r = sip_contact_next(&rest, &c, &e)) > 0)
			if (n++ == 0)
				first = c;
		cr_assert_eq(r, 0, "contact %zu: %d %s at %u", i, r, e.reason, e.off);
		cr_assert_eq(n, t[i].n, "contact %zu: %d contacts", i, n);
		if (n == 0)
			continue;
		cr_assert_eq(first.addr.star, t[i].star, "contact %zu star", i);
		cr_assert(sveq(first.addr.uri, t[i].uri), "contact %zu uri " SV_FMT, i,
			  SV_ARG(first.addr.uri));
		cr_assert_eq(first.has_q, t[i].q >= 0, "contact %zu has_q", i);
		if (t[i].q >= 0)
			cr_assert_eq(first.q, t[i].q, "contact %zu q %u", i, first.q);
		cr_assert_eq(first.has_expires, t[i].expires >= 0, "contact %zu has_expires", i);
		if (t[i].expires >= 0)
			cr_assert_eq(first.expires, (uint32_t)t[i].expires, "contact %zu expires",
				     i);
		cr_assert_eq(first.has_reg_id, t[i].reg_id >= 0, "contact %zu has_reg_id", i);
		if (t[i].reg_id >= 0)
			cr_assert_eq(first.reg_id, (uint32_t)t[i].reg_id, "contact %zu reg_id", i);
		cr_assert(sveq(first.instance, t[i].instance), "contact %zu instance", i);
	}
}

Test(sip_hdr, contact_errors)
{
	static const struct {
		struct lit in;
		struct want_err err;
	} t[] = {
		{ L("<sip:a@b>;q=1.5"), { -ERANGE, 12, "q above 1" } },
		{ L("<sip:a@b>;q=1.001"), { -ERANGE, 12, "q above 1" } },
		{ L("<sip:a@b>;q=2"), { -ERANGE, 12, "q above 1" } },
		{ L("<sip:a@b>;q=10"), { -ERANGE, 12, "q above 1" } },
		{ L("<sip:a@b>;q=0.1234"), { -EBADMSG, 12, "not a qvalue" } },
		{ L("<sip:a@b>;q=.5"), { -EBADMSG, 12, "not a qvalue" } },
		{ L("<sip:a@b>;q=0.5.1"), { -EBADMSG, 15, "not a qvalue" } },
		{ L("<sip:a@b>;q=0.x"), { -EBADMSG, 14, "not a qvalue" } },
		{ L("<sip:a@b>;q=0x"), { -EBADMSG, 12, "not a qvalue" } },
		{ L("<sip:a@b>;q=\"0.5\""), { -EBADMSG, 13, "not a qvalue" } },
		{ L("<sip:a@b>;q"), { -EBADMSG, 11, "not a qvalue" } },
		{ L("<sip:a@b>;q="), { -EBADMSG, 12, "no value" } },
		{ L("<sip:a@b>;q=0.5;q=0.6"), { -EBADMSG, 16, "duplicate q" } },
		{ L("<sip:a@b>;expires=abc"), { -EBADMSG, 18, "delta-seconds" } },
		{ L("<sip:a@b>;expires=-1"), { -EBADMSG, 18, "delta-seconds" } },
		{ L("<sip:a@b>;expires"), { -EBADMSG, 17, "delta-seconds" } },
		{ L("<sip:a@b>;expires=1;expires=2"), { -EBADMSG, 20, "duplicate expires" } },
		{ L("<sip:a@b>;reg-id=0"), { -ERANGE, 17, "reg-id" } },
		{ L("<sip:a@b>;reg-id=2147483648"), { -ERANGE, 17, "reg-id" } },
		{ L("<sip:a@b>;reg-id=x"), { -EBADMSG, 17, "reg-id is not a number" } },
		{ L("<sip:a@b>;reg-id=1;reg-id=1"), { -EBADMSG, 19, "duplicate reg-id" } },
		{ L("<sip:a@b>;+sip.instance=\"<a>\";+sip.instance=\"<b>\""),
		  { -EBADMSG, 30, "duplicate +sip.instance" } },
		{ L("<sip:a@b>;+sip.instance=<urn:uuid:1>"), { -EBADMSG, 24, "no value" } },
		{ L("*, <sip:a@b>"), { -EBADMSG, 1, "only Contact" } },
		{ L("*;expires=0"), { -EBADMSG, 1, "only Contact" } },
		{ L("<sip:a@b>, *"), { -EBADMSG, 11, "mixed" } },
		{ L("<sip:a@b>, * ;q=1"), { -EBADMSG, 11, "mixed" } },
		{ L("\"Joe\" <sip:joe@example.org>;;;;"), { -EBADMSG, 28, "empty parameter" } },
		{ L("<sip:a@b>,"), { -EBADMSG, 10, "empty list element" } },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sv rest = place(t[i].in);
		struct sip_contact c;
		struct sip_err e = { 0 };
		int r = sip_contact_next(&rest, &c, &e);
		check_err("contact", i, t[i].in, r, &e, 0, t[i].err);
	}
}

/* ---- single-value headers ---- */

Test(sip_hdr, cseq)
{
	static const struct {
		struct lit in;
		int code;
		uint32_t seq;
		enum sip_method method;
		const char *name;
		struct want_err err;
	} t[] = {
		{ L("314159 INVITE"), 0, 314159, SIP_METHOD_INVITE, "INVITE" },
		{ L("0009\r\n  INVITE"), 0, 9, SIP_METHOD_INVITE, "INVITE" },
		{ L("1 REGISTER"), 0, 1, SIP_METHOD_REGISTER, "REGISTER" },
		{ L("0 ACK"), 0, 0, SIP_METHOD_ACK, "ACK" },
		{ L("2147483647 BYE"), 0, 2147483647u, SIP_METHOD_BYE, "BYE" },
		{ L("139122385 !interesting-Method0123456789_*+`.%indeed'~"), 0, 139122385,
		  SIP_METHOD_OTHER, "!interesting-Method0123456789_*+`.%indeed'~" },
		{ L(" 4711 \t CANCEL  "), 0, 4711, SIP_METHOD_CANCEL, "CANCEL" },
		{ L("1 invite"), 0, 1, SIP_METHOD_OTHER, "invite" },
		/* RFC 4475 scalar02 */
		{ L("36893488147419103232 REGISTER"),
		  -EBADMSG,
		  0,
		  0,
		  NULL,
		  { -EBADMSG, 0, "below 2**31" } },
		{ L("2147483648 INVITE"), -EBADMSG, 0, 0, NULL, { -EBADMSG, 0, "below 2**31" } },
		{ L("INVITE"),
		  -EBADMSG,
		  0,
		  0,
		  NULL,
		  { -EBADMSG, 0, "does not start with a number" } },
		{ L(""), -EBADMSG, 0, 0, NULL, { -EBADMSG, 0, "does not start with a number" } },
		{ L("-1 INVITE"), -EBADMSG, 0, 0, NULL, { -EBADMSG, 0, "number" } },
		{ L("1"), -EBADMSG, 0, 0, NULL, { -EBADMSG, 1, "no method" } },
		{ L("1INVITE"), -EBADMSG, 0, 0, NULL, { -EBADMSG, 1, "white space" } },
		{ L("1 "), -EBADMSG, 0, 0, NULL, { -EBADMSG, 2, "not a token" } },
		{ L("1 INVITE x"), -EBADMSG, 0, 0, NULL, { -EBADMSG, 9, "after the CSeq method" } },
		{ L("1 IN<VITE"), -EBADMSG, 0, 0, NULL, { -EBADMSG, 4, "after the CSeq method" } },
		{ L("1.5 INVITE"), -EBADMSG, 0, 0, NULL, { -EBADMSG, 1, "white space" } },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sip_cseq c;
		struct sip_err e = { 0 };
		int r = sip_cseq_parse(place(t[i].in), &c, &e);
		if (t[i].code) {
			check_err("cseq", i, t[i].in, r, &e, 0, t[i].err);
			continue;
		}
		cr_assert_eq(r, 0, "cseq %zu: %d %s", i, r, e.reason);
		cr_assert_eq(c.seq, t[i].seq, "cseq %zu", i);
		cr_assert_eq(c.method, t[i].method, "cseq %zu", i);
		cr_assert(sveq(c.method_name, t[i].name), "cseq %zu", i);
	}
}

Test(sip_hdr, callid)
{
	static const struct {
		struct lit in;
		const char *id;
		struct want_err err;
	} t[] = {
		{ L("a84b4c76e66710@pc33.atlanta.example.com"),
		  "a84b4c76e66710@pc33.atlanta.example.com" },
		{ L("f81d4fae-7dec-11d0-a765-00a0c91e6bf6"),
		  "f81d4fae-7dec-11d0-a765-00a0c91e6bf6" },
		/* RFC 4475 intmeth: every word octet */
		{ L("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"),
		  "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{" },
		{ L("  abc@def \r\n "), "abc@def" },
		{ L(""), NULL, { -EBADMSG, 0, "empty Call-ID" } },
		{ L("   "), NULL, { -EBADMSG, 3, "empty Call-ID" } },
		{ L("a@"), NULL, { -EBADMSG, 2, "no word after '@'" } },
		{ L("a@b@c"), NULL, { -EBADMSG, 3, "bad character" } },
		{ L("a b"), NULL, { -EBADMSG, 1, "bad character" } },
		{ L("@b"), NULL, { -EBADMSG, 0, "bad character" } },
		{ L("a;b"), NULL, { -EBADMSG, 1, "bad character" } },
		{ L("a\x01"), NULL, { -EBADMSG, 1, "bad character" } },
		{ L("caf\xc3\xa9"), NULL, { -EBADMSG, 3, "bad character" } },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sv id = SV_NULL;
		struct sip_err e = { 0 };
		int r = sip_callid_parse(place(t[i].in), &id, &e);
		if (t[i].err.code) {
			check_err("callid", i, t[i].in, r, &e, 0, t[i].err);
			continue;
		}
		cr_assert_eq(r, 0, "callid %zu: %d %s", i, r, e.reason);
		cr_assert(sveq(id, t[i].id), "callid %zu: " SV_FMT, i, SV_ARG(id));
	}
}

Test(sip_hdr, uint)
{
	static const struct {
		struct lit in;
		uint32_t max;
		int code;
		uint32_t val;
		int off;
	} t[] = {
		{ L("70"), 255, 0, 70, 0 },
		{ L("0068"), 255, 0, 68, 0 },
		{ L("0"), 255, 0, 0, 0 },
		{ L("255"), 255, 0, 255, 0 },
		{ L(" 7 \r\n "), 255, 0, 7, 0 },
		{ L("4294967295"), UINT32_MAX, 0, UINT32_MAX, 0 },
		{ L("300"), 255, -ERANGE, 0, 0 }, /* RFC 4475 scalar02 Max-Forwards */
		{ L("256"), 255, -ERANGE, 0, 0 },
		{ L("4294967296"), UINT32_MAX, -ERANGE, 0, 0 },
		{ L("100000000000000000000000000000000000000000000"), UINT32_MAX, -ERANGE, 0, 0 },
		{ L(" 99999999999999999999999"), 3600, -ERANGE, 0, 1 },
		{ L(""), 255, -EBADMSG, 0, 0 },
		{ L("-1"), 255, -EBADMSG, 0, 0 },
		{ L("1 2"), 255, -EBADMSG, 0, 1 },
		{ L("7;x"), 255, -EBADMSG, 0, 1 },
		{ L("0x10"), 255, -EBADMSG, 0, 1 },
		{ L("99999999999999999999x"), 255, -EBADMSG, 0, 20 },
	};
	for (size_t i = 0; i < N(t); i++) {
		uint32_t v = 12345;
		struct sip_err e = { 0 };
		int r = sip_uint_parse(place(t[i].in), t[i].max, &v, &e);
		if (t[i].code) {
			struct want_err w = { t[i].code, t[i].off, NULL };
			check_err("uint", i, t[i].in, r, &e, 0, w);
			continue;
		}
		cr_assert_eq(r, 0, "uint %zu: %d %s", i, r, e.reason);
		cr_assert_eq(v, t[i].val, "uint %zu: %u", i, v);
	}
}

Test(sip_hdr, ctype)
{
	static const struct {
		struct lit in;
		const char *type, *subtype, *params;
		struct want_err err;
	} t[] = {
		{ L("application/sdp"), "application", "sdp", NULL },
		{ L("multipart/mixed;boundary=7a9cbec02ceef655"), "multipart", "mixed",
		  "boundary=7a9cbec02ceef655" },
		{ L("text/plain ; charset = \"utf-8\""), "text", "plain", "charset = \"utf-8\"" },
		{ L("Application / SDP"), "Application", "SDP", NULL },
		{ L("message/sipfrag;version=2.0"), "message", "sipfrag", "version=2.0" },
		{ L("application/unknownformat"), "application", "unknownformat", NULL },
		{ L("application"), NULL, NULL, NULL, { -EBADMSG, 11, "expected '/'" } },
		{ L("application/"), NULL, NULL, NULL, { -EBADMSG, 12, "subtype is not a token" } },
		{ L("/sdp"), NULL, NULL, NULL, { -EBADMSG, 0, "media type is not a token" } },
		{ L("text/plain;charset"), NULL, NULL, NULL, { -EBADMSG, 18, "without a value" } },
		{ L("text/plain, text/html"), NULL, NULL, NULL, { -EBADMSG, 10, "expected ';'" } },
		{ L("text/plain;"), NULL, NULL, NULL, { -EBADMSG, 11, "empty parameter" } },
		{ L("text/plain x"), NULL, NULL, NULL, { -EBADMSG, 11, "expected ';'" } },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sip_ctype c;
		struct sip_err e = { 0 };
		int r = sip_ctype_parse(place(t[i].in), &c, &e);
		if (t[i].err.code) {
			check_err("ctype", i, t[i].in, r, &e, 0, t[i].err);
			continue;
		}
		cr_assert_eq(r, 0, "ctype %zu: %d %s", i, r, e.reason);
		cr_assert(sveq(c.type, t[i].type), "ctype %zu", i);
		cr_assert(sveq(c.subtype, t[i].subtype), "ctype %zu", i);
		cr_assert(sveq(c.params, t[i].params), "ctype %zu params " SV_FMT, i,
			  SV_ARG(c.params));
	}
}

Test(sip_hdr, session_expires)
{
	static const struct {
		struct lit in;
		uint32_t delta;
		const char *refresher, *params;
		struct want_err err;
	} t[] = {
		{ L("1800"), 1800, NULL, NULL },
		{ L("1800;refresher=uac"), 1800, "uac", "refresher=uac" },
		{ L("4000 ; refresher = UAS ; x=1"), 4000, "UAS", "refresher = UAS ; x=1" },
		{ L("90;x"), 90, NULL, "x" },
		{ L("4294967295"), UINT32_MAX, NULL, NULL },
		{ L("1800;refresher=both"),
		  0,
		  NULL,
		  NULL,
		  { -EBADMSG, 15, "neither uac nor uas" } },
		{ L("1800;refresher"), 0, NULL, NULL, { -EBADMSG, 14, "neither uac nor uas" } },
		{ L("1800;refresher=uac;refresher=uas"),
		  0,
		  NULL,
		  NULL,
		  { -EBADMSG, 19, "duplicate refresher" } },
		{ L("abc"), 0, NULL, NULL, { -EBADMSG, 0, "not delta-seconds" } },
		{ L("4294967296"), 0, NULL, NULL, { -ERANGE, 0, "over 2**32-1" } },
		{ L("1800 x"), 0, NULL, NULL, { -EBADMSG, 5, "expected ';'" } },
		{ L("1800;;"), 0, NULL, NULL, { -EBADMSG, 5, "empty parameter" } },
		{ L("18x"), 0, NULL, NULL, { -EBADMSG, 2, "expected ';'" } },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sip_session_expires s;
		struct sip_err e = { 0 };
		int r = sip_session_expires_parse(place(t[i].in), &s, &e);
		if (t[i].err.code) {
			check_err("session-expires", i, t[i].in, r, &e, 0, t[i].err);
			continue;
		}
		cr_assert_eq(r, 0, "session-expires %zu: %d %s", i, r, e.reason);
		cr_assert_eq(s.delta, t[i].delta, "session-expires %zu", i);
		cr_assert(sveq(s.refresher, t[i].refresher), "session-expires %zu", i);
		cr_assert(sveq(s.params, t[i].params), "session-expires %zu", i);
	}
}

Test(sip_hdr, min_se)
{
	static const struct {
		struct lit in;
		int code;
		uint32_t delta;
	} t[] = {
		{ L("90"), 0, 90 },
		{ L(" 1800 ; foo=bar ;baz "), 0, 1800 },
		{ L("90;refresher=whatever"), 0, 90 }, /* only Session-Expires has refresher */
		{ L("x"), -EBADMSG, 0 },
		{ L(""), -EBADMSG, 0 },
		{ L("90,91"), -EBADMSG, 0 },
		{ L("90;"), -EBADMSG, 0 },
		{ L("99999999999"), -ERANGE, 0 },
	};
	for (size_t i = 0; i < N(t); i++) {
		uint32_t d = 0;
		struct sip_err e = { 0 };
		int r = sip_min_se_parse(place(t[i].in), &d, &e);
		cr_assert_eq(r, t[i].code, "min-se %zu: %d", i, r);
		if (r == 0)
			cr_assert_eq(d, t[i].delta, "min-se %zu", i);
		else
			cr_assert_not_null(e.reason);
	}
}

Test(sip_hdr, token_next)
{
	static const struct {
		struct lit in;
		const char *tokens;
		struct want_err err;
	} t[] = {
		{ L("100rel, timer , replaces"), "100rel|timer|replaces" },
		{ L(""), "" },
		{ L("nothingSupportsThis, nothingSupportsThisEither"),
		  "nothingSupportsThis|nothingSupportsThisEither" },
		{ L("INVITE, ACK, OPTIONS, CANCEL, BYE"), "INVITE|ACK|OPTIONS|CANCEL|BYE" },
		{ L("path,\r\n outbound"), "path|outbound" },
		{ L("a,,b"), "", { -EBADMSG, 2, "empty list element" } },
		{ L(", a"), "", { -EBADMSG, 0, "empty list element" } },
		{ L("a,"), "", { -EBADMSG, 2, "empty list element" } },
		{ L("a b"), "", { -EBADMSG, 2, "expected ','" } },
		{ L("a/b"), "", { -EBADMSG, 1, "expected ','" } },
		{ L("a, <b>"), "a", { -EBADMSG, 3, "not a token" } },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sv rest = place(t[i].in), tok;
		const char *v0 = rest.p;
		struct sip_err e = { 0 };
		char got[256] = "";
		size_t base;
		int r;
		for (;;) {
			base = (size_t)(rest.p - v0);
			r = sip_token_next(&rest, &tok, &e);
			if (r <= 0)
				break;
			if (got[0])
				strcat(got, "|");
			strncat(got, tok.p, tok.len);
		}
		if (t[i].err.code)
			check_err("token", i, t[i].in, r, &e, base, t[i].err);
		else
			cr_assert_eq(r, 0, "token %zu: %d %s", i, r, e.reason);
		cr_assert_str_eq(got, t[i].tokens, "token %zu", i);
	}
}

Test(sip_hdr, privacy)
{
	static const struct {
		struct lit in;
		unsigned flags;
		struct want_err err;
	} t[] = {
		{ L("id"), SIP_PRIVACY_ID },
		{ L("ID"), SIP_PRIVACY_ID },
		{ L("header;session;user"),
		  SIP_PRIVACY_HEADER | SIP_PRIVACY_SESSION | SIP_PRIVACY_USER },
		{ L("none"), SIP_PRIVACY_NONE },
		{ L("critical ; id"), SIP_PRIVACY_CRITICAL | SIP_PRIVACY_ID },
		{ L("foo;id"), SIP_PRIVACY_OTHER | SIP_PRIVACY_ID },
		{ L(" user \r\n ; header "), SIP_PRIVACY_USER | SIP_PRIVACY_HEADER },
		{ L(""), 0, { -EBADMSG, 0, "empty priv-value" } },
		{ L("id;;"), 0, { -EBADMSG, 3, "empty priv-value" } },
		{ L("id;"), 0, { -EBADMSG, 3, "empty priv-value" } },
		{ L(";id"), 0, { -EBADMSG, 0, "empty priv-value" } },
		{ L("id,header"), 0, { -EBADMSG, 2, "expected ';'" } },
		{ L("id header"), 0, { -EBADMSG, 3, "expected ';'" } },
		{ L("<id>"), 0, { -EBADMSG, 0, "not a token" } },
	};
	for (size_t i = 0; i < N(t); i++) {
		unsigned f = 0xdead;
		struct sip_err e = { 0 };
		int r = sip_privacy_parse(place(t[i].in), &f, &e);
		if (t[i].err.code) {
			check_err("privacy", i, t[i].in, r, &e, 0, t[i].err);
			continue;
		}
		cr_assert_eq(r, 0, "privacy %zu: %d %s", i, r, e.reason);
		cr_assert_eq(f, t[i].flags, "privacy %zu: %#x", i, f);
	}
}

/* ---- authentication ---- */

Test(sip_hdr, auth)
{
	static const struct {
		struct lit in;
		const char *scheme;
		bool digest;
		const char *username, *realm, *nonce, *uri, *response, *algorithm, *cnonce, *opaque,
			*qop, *nc, *stale, *domain, *userhash;
	} t[] = {
		{ L("Digest username=\"bob\", realm=\"biloxi.com\", "
		    "nonce=\"dcd98b7102dd2f0e8b11d0f600"
		    "bfb0c093\", uri=\"sip:bob@biloxi.com\", qop=auth, nc=00000001, "
		    "cnonce=\"0a4f113b"
		    "\", response=\"6629fae49393a05397450978507c4ef1\", "
		    "opaque=\"5ccc069c403ebaf9f017"
		    "1e9517f40e41\", algorithm=SHA-256"),
		  "Digest", true, "bob", "biloxi.com", "dcd98b7102dd2f0e8b11d0f600bfb0c093",
		  "sip:bob@biloxi.com", "6629fae49393a05397450978507c4ef1", "SHA-256", "0a4f113b",
		  "5ccc069c403ebaf9f0171e9517f40e41", "auth", "00000001", NULL, NULL, NULL },
		{ L("Digest "
		    "username=\"488869477bf257147b804c45308cd62ac4e25eb717b12b298c79e62dcea254"
		    "ec\", realm=\"api@example.org\", uri=\"/doe.json\", algorithm=SHA-512-256, "
		    "nonc"
		    "e=\"5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK\", nc=00000001, "
		    "cnonce=\"NTg6Rk"
		    "NzNnQ\", qop=auth, response=\"ae66e67d6b427bd3f120414a82e4acff38e8ecd9\", "
		    "usern"
		    "ame*=UTF-8''J%C3%A4s%C3%B8n%20Doe, userhash=true, "
		    "opaque=\"HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS\""),
		  "Digest", true,
		  "488869477bf257147b804c45308cd62ac4e25eb717b12b298c79e62dcea254ec",
		  "api@example.org", "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", "/doe.json",
		  "ae66e67d6b427bd3f120414a82e4acff38e8ecd9", "SHA-512-256", "NTg6RkNzNnQ",
		  "HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", "auth", "00000001", NULL, NULL,
		  "true" },
		{ L("Digest realm=\"atlanta.com\", domain=\"sip:ss1.carrier.com\", "
		    "qop=\"auth,auth-int\""
		    ", nonce=\"f84f1cec41e6cbe5aea9c8e88d359\", opaque=\"\", stale=TRUE, "
		    "algorithm=MD5"),
		  "Digest", true, NULL, "atlanta.com", "f84f1cec41e6cbe5aea9c8e88d359", NULL, NULL,
		  "MD5", NULL, "", "auth,auth-int", NULL, "TRUE", "sip:ss1.carrier.com", NULL },
		{ L("digest\r\n realm=\"a\\\"b\" ,\r\n\tnonce = \"n\""), "digest", true, NULL,
		  "a\\\"b", "n", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
		{ L("Digest realm=\"a\", x-unknown=\"1,2\", nonce=n"), "Digest", true, NULL, "a",
		  "n", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
		/* RFC 4475 regaut01: an unknown scheme, kept raw */
		{ L("NoOneKnowsThisScheme opaque-data=here"), "NoOneKnowsThisScheme", false },
		{ L("Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln=="), "Bearer", false },
		{ L("Basic"), "Basic", false },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sip_auth a;
		struct sip_err e = { 0 };
		int r = sip_auth_parse(place(t[i].in), &a, &e);
		cr_assert_eq(r, 0, "auth %zu: %d %s at %u", i, r, e.reason, e.off);
		cr_assert(sveq(a.scheme, t[i].scheme), "auth %zu scheme", i);
		cr_assert_eq(a.is_digest, t[i].digest, "auth %zu is_digest", i);
#define F_(f) cr_assert(sveq(a.f, t[i].f), "auth %zu " #f " " SV_FMT, i, SV_ARG(a.f))
		F_(username);
		F_(realm);
		F_(nonce);
		F_(uri);
		F_(response);
		F_(algorithm);
		F_(cnonce);
		F_(qop);
		F_(nc);
		F_(stale);
		F_(domain);
		F_(userhash);
#undef F_
		if (t[i].opaque && !t[i].opaque[0])
			cr_assert(a.opaque.p && a.opaque.len == 0, "auth %zu opaque present", i);
		else
			cr_assert(sveq(a.opaque, t[i].opaque), "auth %zu opaque", i);
	}
	/* The raw params of an unknown scheme. */
	struct sip_auth a;
	cr_assert_eq(
		sip_auth_parse(place_str("NoOneKnowsThisScheme  opaque-data=here  "), &a, NULL), 0);
	cr_assert(sveq(a.params, "opaque-data=here"));
}

Test(sip_hdr, auth_errors)
{
	static const struct {
		struct lit in;
		struct want_err err;
	} t[] = {
		{ L(""), { -EBADMSG, 0, "no auth scheme" } },
		{ L("\"Digest\" realm=a"), { -EBADMSG, 0, "no auth scheme" } },
		{ L("Digest"), { -EBADMSG, 6, "without parameters" } },
		{ L("Digest  "), { -EBADMSG, 8, "without parameters" } },
		{ L("Digest,realm=a"), { -EBADMSG, 6, "white space" } },
		{ L("Digest realm"), { -EBADMSG, 12, "without '='" } },
		{ L("Digest realm nonce=a"), { -EBADMSG, 13, "without '='" } },
		{ L("Digest realm=\"a\",,nonce=\"b\""), { -EBADMSG, 17, "empty list element" } },
		{ L("Digest realm=a,"), { -EBADMSG, 15, "empty list element" } },
		{ L("Digest ,realm=a"), { -EBADMSG, 7, "empty list element" } },
		{ L("Digest realm=\"a\" nonce=\"b\""), { -EBADMSG, 17, "expected ','" } },
		{ L("Digest realm=\"a\", realm=\"b\""), { -EBADMSG, 18, "duplicate" } },
		{ L("Digest REALM=a, realm=b"), { -EBADMSG, 16, "duplicate" } },
		{ L("Digest realm=\"a"), { -EBADMSG, 13, "unterminated" } },
		{ L("Digest realm="), { -EBADMSG, 13, "no value" } },
		{ L("Digest realm=<a>"), { -EBADMSG, 13, "no value" } },
		{ L("Digest @=a"), { -EBADMSG, 7, "not a token" } },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sip_auth a;
		struct sip_err e = { 0 };
		int r = sip_auth_parse(place(t[i].in), &a, &e);
		check_err("auth", i, t[i].in, r, &e, 0, t[i].err);
	}
}

/* ---- the vectorised scans against their definition ---- */

/* The classes as RFC 3261 §25.1 writes them, independently of the parser's table. */
static bool t_token(unsigned c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
	       (c && strchr("-.!%*_+`'~", (int)c));
}

static bool t_ws(unsigned c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool t_uri(unsigned c) /* inside < >: visible ASCII but < > DQUOTE, or non-ASCII */
{
	return c > 0x20 && c != 0x7f && c != '<' && c != '>' && c != '"';
}

static bool t_word(unsigned c)
{
	return t_token(c) || (c && strchr("()<>:\\\"/[]?{}", (int)c));
}

/* in[0..k) against a guard page, after one SP when lead is set (in[-1] is
 * writable and set to SP). */
static struct sv place_lead(char *in, size_t k, unsigned lead)
{
	return place((struct lit){ in - lead, k + lead });
}

/*
 * A run of n valid octets, then octet b, through the parser of each class: the
 * SSE2 blocks (16 octets, the last one loaded from the end of the view) and the
 * scalar tail must agree with the definitions above wherever the run ends, and
 * never read past the view. Then b in the middle of a run (branch, tag, Call-ID):
 * the vector test leaves every octet but letters, digits, '-' and '.' to the
 * scalar twin, which must carry the run on to its end. Each value is parsed by
 * the fast paths and, after one SP, by the general code.
 */
Test(sip_hdr, scans_agree_with_the_grammar)
{
	char buf[136], *in;
	/* lead 0: the fast paths take these values; lead 1: one SP before each,
	 * which only the general code takes. */
	for (unsigned lead = 0; lead < 2; lead++)
		for (unsigned n = 0; n <= 40; n++) {
			for (unsigned b = 0; b < 256; b++) {
				struct sip_addr a;
				struct sv rest, name, val, id;
				struct sip_via v;
				size_t k;
				int r;

				buf[0] = ' ';
				in = buf + 1;

				/* <URI>: C_URI; white space before '>' is skipped */
				k = (size_t)snprintf(in, sizeof(buf) - 1, "<s:%.*s", (int)n,
						     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
				in[k++] = (char)b;
				in[k++] = '>';
				r = sip_addr_parse(place_lead(in, k, lead), &a, NULL);
				if (t_uri(b))
					cr_assert(r == 0 && a.uri.len == n + 3, "<uri> %u %#x: %d",
						  n, b, r);
				else if (t_ws(b))
					cr_assert(r == 0 && a.uri.len == n + 2, "<uri> %u %#x: %d",
						  n, b, r);
				else
					cr_assert_eq(r, -EBADMSG, "<uri> %u %#x", n, b);

				/* addr-spec: C_ASPEC */
				k = (size_t)snprintf(in, sizeof(buf) - 1, "s:%.*s", (int)n,
						     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
				in[k++] = (char)b;
				r = sip_addr_parse(place_lead(in, k, lead), &a, NULL);
				if (t_uri(b) && b != ';' && b != ',')
					cr_assert(r == 0 && a.uri.len == n + 3, "aspec %u %#x: %d",
						  n, b, r);
				else if (t_ws(b))
					cr_assert(r == 0 && a.uri.len == n + 2, "aspec %u %#x: %d",
						  n, b, r);
				else
					cr_assert_eq(r, -EBADMSG, "aspec %u %#x", n, b);

				/* quoted display name: C_QDTEXT */
				k = (size_t)snprintf(in, sizeof(buf) - 1, "\"%.*s", (int)n,
						     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
				in[k++] = (char)b;
				memcpy(in + k, "\" <s:x>", 7);
				k += 7;
				r = sip_addr_parse(place_lead(in, k, lead), &a, NULL);
				if ((b >= 0x20 && b != 0x7f && b != '"' && b != '\\') || t_ws(b))
					cr_assert(r == 0 && a.display.len == n + 1, "qd %u %#x: %d",
						  n, b, r);
				else
					cr_assert_eq(r, -EBADMSG, "qd %u %#x", n, b);

				/* parameter value: C_TOKEN, then C_PVAL */
				k = (size_t)snprintf(in, sizeof(buf) - 1, ";x=%.*s", (int)n,
						     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
				in[k++] = (char)b;
				rest = place_lead(in, k, lead);
				r = sip_param_next(&rest, &name, &val, NULL);
				if (t_token(b) || b == ':' || b == '[' || b == ']')
					cr_assert(r == 1 && val.len == n + 1, "pval %u %#x: %d", n,
						  b, r);
				else if ((t_ws(b) || b == ';') && n > 0)
					cr_assert(r == 1 && val.len == n, "pval %u %#x: %d", n, b,
						  r);
				else
					cr_assert_eq(r, -EBADMSG, "pval %u %#x", n, b);

				/* branch: a token, and only a token */
				k = (size_t)snprintf(in, sizeof(buf) - 1,
						     "SIP/2.0/UDP h;branch=z%.*s", (int)n,
						     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
				in[k++] = (char)b;
				rest = place_lead(in, k, lead);
				r = sip_via_next(&rest, &v, NULL);
				if (t_token(b))
					cr_assert(r == 1 && v.branch.len == n + 2,
						  "branch %u %#x: %d", n, b, r);
				else if (t_ws(b))
					cr_assert(r == 1 && v.branch.len == n + 1,
						  "branch %u %#x: %d", n, b, r);
				else
					cr_assert(r < 0, "branch %u %#x: %d", n, b, r);

				/* Call-ID: C_WORD */
				k = (size_t)snprintf(in, sizeof(buf) - 1, "x%.*s", (int)n,
						     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
				in[k++] = (char)b;
				r = sip_callid_parse(place_lead(in, k, lead), &id, NULL);
				if (t_word(b))
					cr_assert(r == 0 && id.len == n + 2, "word %u %#x: %d", n,
						  b, r);
				else if (t_ws(b))
					cr_assert(r == 0 && id.len == n + 1, "word %u %#x: %d", n,
						  b, r);
				else
					cr_assert_eq(r, -EBADMSG, "word %u %#x", n, b);

				/* The octet in the middle of the run: the vector test hands an
			 * octet outside letters, digits, '-' and '.' to the scalar twin,
			 * which must go on to the end of the run. */
				k = (size_t)snprintf(in, sizeof(buf) - 1,
						     "SIP/2.0/UDP h;branch=z%.*s", (int)n,
						     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
				in[k++] = (char)b;
				memcpy(in + k, "aaaaa", 5);
				k += 5;
				rest = place_lead(in, k, lead);
				r = sip_via_next(&rest, &v, NULL);
				if (t_token(b))
					cr_assert(r == 1 && v.branch.len == n + 7,
						  "branch mid %u %#x: %d", n, b, r);
				else if (b == ';' || b == ',')
					cr_assert(r == 1 && v.branch.len == n + 1,
						  "branch mid %u %#x: %d", n, b, r);
				else
					cr_assert(r < 0, "branch mid %u %#x: %d", n, b, r);

				k = (size_t)snprintf(in, sizeof(buf) - 1, "x%.*s", (int)n,
						     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
				in[k++] = (char)b;
				memcpy(in + k, "aaaaa", 5);
				k += 5;
				r = sip_callid_parse(place_lead(in, k, lead), &id, NULL);
				if (t_word(b) || b == '@')
					cr_assert(r == 0 && id.len == n + 7, "word mid %u %#x: %d",
						  n, b, r);
				else
					cr_assert_eq(r, -EBADMSG, "word mid %u %#x", n, b);

				k = (size_t)snprintf(in, sizeof(buf) - 1, "<s:x>;tag=%.*s", (int)n,
						     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
				in[k++] = (char)b;
				memcpy(in + k, "aaaaa", 5);
				k += 5;
				r = sip_addr_parse(place_lead(in, k, lead), &a, NULL);
				if (t_token(b) || b == ':' || b == '[' || b == ']')
					cr_assert(r == 0 && a.tag.len == n + 6,
						  "tag mid %u %#x: %d", n, b, r);
				else if (b == ';' && n > 0)
					cr_assert(r == 0 && a.tag.len == n, "tag mid %u %#x: %d", n,
						  b, r);
				else if (t_ws(b) && n == 0) /* "tag=\taaaaa": LWS after '=' */
					cr_assert(r == 0 && a.tag.len == 5, "tag mid %u %#x: %d", n,
						  b, r);
				else
					cr_assert(r < 0, "tag mid %u %#x: %d", n, b, r);
			}
		}
}

/* ---- the fast paths against the general code ---- */

/*
 * What a parser made of a value, flattened: every view as (offset from base,
 * length) or (-1, length) when absent, every number, return code and error
 * (code, offset from base, reason), so that two parses can be compared.
 */
struct flat {
	long v[256];
	const char *why[16];
	int n, nwhy;
};

static void put(struct flat *f, long x)
{
	if (f->n < (int)N(f->v))
		f->v[f->n++] = x;
}

static void put_sv(struct flat *f, struct sv s, const char *base)
{
	put(f, s.p ? (long)(s.p - base) : -1);
	put(f, (long)s.len);
}

static void put_err(struct flat *f, int r, const struct sip_err *e, const char *at0,
		    const char *base)
{
	put(f, r);
	if (r < 0) {
		put(f, e->code);
		put(f, (long)(at0 + e->off - base));
		if (f->nwhy < (int)N(f->why))
			f->why[f->nwhy++] = e->reason;
	}
}

/* Every typed parser that has a fast path, on v (base: where offsets count from). */
static void flatten(struct sv v, const char *base, struct flat *f)
{
	struct sip_err e;
	struct sv rest, id;
	struct sip_via via;
	struct sip_addr a;
	struct sip_contact c;
	struct sip_cseq cs;
	int r;

	*f = (struct flat){ .n = 0 };
	rest = v;
	for (int k = 0; k < 8; k++) {
		const char *at0 = rest.p;
		e = (struct sip_err){ 0 };
		r = sip_via_next(&rest, &via, &e);
		put_err(f, r, &e, at0, base);
		if (r >= 0) /* after an error rest stays where it was */
			put_sv(f, rest, base);
		if (r != 1)
			break;
		put_sv(f, via.proto, base);
		put_sv(f, via.version, base);
		put_sv(f, via.transport, base);
		put_sv(f, via.host, base);
		put(f, via.host_type);
		put(f, via.has_rport);
		put(f, via.port);
		put(f, via.rport);
		put_sv(f, via.params, base);
		put_sv(f, via.branch, base);
		put_sv(f, via.received, base);
		put_sv(f, via.maddr, base);
		put_sv(f, via.ttl, base);
	}
	e = (struct sip_err){ 0 };
	r = sip_addr_parse(v, &a, &e);
	put_err(f, r, &e, v.p, base);
	if (r == 0) {
		put_sv(f, a.display, base);
		put_sv(f, a.uri, base);
		put_sv(f, a.params, base);
		put_sv(f, a.tag, base);
		put(f, a.star * 4 + a.quoted * 2 + a.bracketed);
	}
	rest = v;
	for (int k = 0; k < 4; k++) {
		const char *at0 = rest.p;
		e = (struct sip_err){ 0 };
		r = sip_contact_next(&rest, &c, &e);
		put_err(f, r, &e, at0, base);
		if (r >= 0) /* after an error rest stays where it was */
			put_sv(f, rest, base);
		if (r != 1)
			break;
		put_sv(f, c.addr.uri, base);
		put_sv(f, c.addr.params, base);
		put_sv(f, c.addr.tag, base);
		put(f, c.has_q * 4 + c.has_expires * 2 + c.has_reg_id);
		put(f, c.q);
		put(f, c.expires);
		put(f, c.reg_id);
		put_sv(f, c.instance, base);
	}
	rest = v;
	for (int k = 0; k < 4; k++) {
		const char *at0 = rest.p;
		e = (struct sip_err){ 0 };
		r = sip_addr_next(&rest, &a, &e);
		put_err(f, r, &e, at0, base);
		if (r >= 0) /* after an error rest stays where it was */
			put_sv(f, rest, base);
		if (r != 1)
			break;
		put_sv(f, a.display, base);
		put_sv(f, a.uri, base);
		put_sv(f, a.tag, base);
	}
	e = (struct sip_err){ 0 };
	r = sip_cseq_parse(v, &cs, &e);
	put_err(f, r, &e, v.p, base);
	if (r == 0) {
		put(f, cs.seq);
		put(f, cs.method);
		put_sv(f, cs.method_name, base);
	}
	e = (struct sip_err){ 0 };
	r = sip_callid_parse(v, &id, &e);
	put_err(f, r, &e, v.p, base);
	if (r == 0)
		put_sv(f, id, base);
}

/* A value as is (the fast paths take it when it has their shape) and after one
 * SP (only the general code takes that) must parse the same. */
static void check_agree(const char *what, const char *s, size_t n)
{
	char tmp[512];
	struct flat a, b;
	const char *g;

	cr_assert_lt(n + 1, sizeof(tmp));
	g = guard_place(s, n);
	flatten(sv_make(g, n), g, &a);
	tmp[0] = ' ';
	memcpy(tmp + 1, s, n);
	g = guard_place(tmp, n + 1);
	flatten(sv_make(g, n + 1), g + 1, &b);
	cr_assert_eq(a.n, b.n, "%s '%.*s': %d against %d facts", what, (int)n, s, a.n, b.n);
	for (int i = 0; i < a.n; i++)
		cr_assert_eq(a.v[i], b.v[i], "%s '%.*s': fact %d: %ld against %ld", what, (int)n, s,
			     i, a.v[i], b.v[i]);
	cr_assert_eq(a.nwhy, b.nwhy);
	for (int i = 0; i < a.nwhy; i++)
		cr_assert_str_eq(a.why[i], b.why[i], "%s '%.*s'", what, (int)n, s);
}

Test(sip_hdr, fast_and_general_paths_agree)
{
	static const char *const t[] = {
		/* Via: the carrier INVITE's, and each boundary of the fast shape */
		"SIP/2.0/UDP 203.0.113.15:5060;branch=z9hG4bK7a3f1c9e2b4d6a80.1;rport",
		"SIP/2.0/UDP 10.20.30.40;received=192.0.2.44;branch=z9hG4bKf4a2c8e1",
		"SIP/2.0/TCP pc33.atlanta.example.com:5061;branch=z9hG4bK776asdhds;rport=5062",
		"SIP/2.0/TLS [2001:db8::9:1]:5061;branch=z9hG4bKas3-111",
		"SIP/2.0/SCTP 192.0.2.1;branch=z9hG4bK_!%*+`'~x;ttl=16;maddr=224.2.0.1",
		"SIP/2.0/WSS h.example.com;branch=z9hG4bKa,SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKb",
		"SIP/2.0/UDP 192.0.2.1;branch=y, SIP/2.0/UDP h",
		"SIP/2.0/UDP 192.0.2.1;branch=y,",
		"SIP/2.0/UDP 192.0.2.1;branch=y,,SIP/2.0/UDP h",
		"SIP/2.0/UDP 192.0.2.1:05060;branch=x",
		"SIP/2.0/UDP 192.0.2.1:0005060;branch=x",
		"SIP/2.0/UDP 1.2.3.4",
		"SIP/2.0/UDP 1.2.3.4:5",
		"SIP/2.0/UDP 1.2.3.4:65535",
		"SIP/2.0/UDP 1.2.3.4.example.com;branch=x",
		"SIP/2.0/UDP 1.2.3.4x.com",
		"SIP/2.0/UDP 001.002.003.004:1",
		"SIP/2.0/UDP 1.2.3.256;branch=x",
		"SIP/2.0/UDP 1.2.3;branch=x",
		"SIP/2.0/UDP 1.2.3.4.;branch=x",
		"SIP/2.0/UDP 1.2.3.4:65536",
		"SIP/2.0/UDP 1.2.3.4:0",
		"SIP/2.0/UDP 1.2.3.4:",
		"SIP/2.0/UDP 1.2.3.4:50600;branch=x",
		"SIP/2.0/UDP 1.2.3.4 :5060",
		"SIP/2.0/UDP 1.2.3.4: 5060",
		"SIP/2.0/UDP 1.2.3.4;rport;rport",
		"SIP/2.0/UDP 1.2.3.4;RPORT;BRANCH=z9hG4bKq",
		"SIP/2.0/UDP 1.2.3.4;rport=5060;branch=z9hG4bKq",
		"SIP/2.0/UDP 1.2.3.4;rportx;branchy=1;rport",
		"SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1;branch=z9hG4bK2",
		"SIP/2.0/UDP 1.2.3.4;branch=a:b",
		"SIP/2.0/UDP 1.2.3.4;branch=",
		"SIP/2.0/UDP 1.2.3.4;branch=\"x\"",
		"SIP/2.0/UDP 1.2.3.4;branch= x",
		"SIP/2.0/UDP 1.2.3.4;branch=x ",
		"SIP/2.0/UDP 1.2.3.4;x=\"a,b\";branch=y",
		"SIP/2.0/UDP 1.2.3.4;;branch=y",
		"SIP/2.0/UDP h;received=[2001:db8::1];rport=1",
		"SIP/2.0/UDP h:5060 ;branch=x",
		"SIP/2.0/UDP  h",
		"SIP/2.0/UDPX h",
		"SIP/2.0/udp h",
		"SIP/2.0/UDP",
		"SIP/2.0/UDP ",
		"SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_b;rport",
		"SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		/* addresses */
		"\"ACME Sales\" <sip:+12125550199@203.0.113.15;user=phone>;tag=as5f2c1a9b",
		"<sip:+14155550123@198.51.100.20;user=phone>",
		"\"ACME Sales\"<sip:a@b.example.com>;tag=x",
		"\"ACME Sales\"  <sip:a@b.example.com>",
		"\"A\\\"B\" <sip:a@b.example.com>",
		"\"A\tB\" <sip:a@b.example.com>",
		"\"\" <sip:a@b.example.com>",
		"\"a\" sip:a@b.example.com",
		"<sip:a@b.example.com>;tag=1;x-y=\"z\"",
		"<sip:a@b.example.com>;TAG=abc",
		"<sip:a@b.example.com>;tag=a_b!c",
		"<sip:a@b.example.com>;tag=a:b",
		"<sip:a@b.example.com>;tag",
		"<sip:a@b.example.com>;tag=",
		"<sip:a@b.example.com>;tag=1;tag=2",
		"<sip:a@b.example.com>;x=1;tag=2;y",
		"<sip:a@b.example.com>;tag=1 ",
		"<sip:a@b.example.com> ;tag=1",
		"<sip:a@b.example.com>x",
		"< sip:a@b.example.com>",
		"<sip:a@b.example.com >",
		"sip:a@b.example.com;tag=1",
		"sip:a@b.example.com ;tag=1",
		"sip:a@b.example.com?x=<y>",
		"tel:+1-212-555-1212;tag=t",
		"<sip:a@b.example.com>,<sip:c@d.example.com>",
		"<sip:a@b.example.com>, <sip:c@d.example.com>;q=0.5;expires=60",
		"<sip:a@b.example.com>;q=0.5,*",
		"<sip:a@b.example.com>;q=2",
		"<sip:a@b.example.com>;+sip.instance=\"<urn:uuid:1>\";reg-id=1;q=1",
		"<sip:a@b.example.com>;expires=4294967296;reg-id=7",
		"Bob <sip:b@example.com>",
		"*",
		"<>",
		"<sip:a b>",
		"<sip:a@b",
		"<sip:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com>;tag="
		"bbbbbbbbbbbbbbbbbbbbbbb",
		"<sip:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com>;tag=bbbbbbbbbbbbbbbbbbbb_"
		"b",
		/* CSeq */
		"102 INVITE",
		"1 ACK",
		"123456789 BYE",
		"1234567890 INVITE",
		"2147483647 INVITE",
		"2147483648 INVITE",
		"1 FOO-BAR.baz",
		"1 invite",
		"1 INVITE ",
		"1  INVITE",
		"1\tINVITE",
		"1 IN<V",
		"01 INVITE",
		"1",
		"1 ",
		"",
		/* Call-ID */
		"5f0c1b2a3d4e7f81-6a2b@203.0.113.15",
		"a@b",
		"@b",
		"a@",
		"a@b@c",
		"a_b(c)@d",
		"f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com",
		"f81d4fae-7dec-11d0-a765-00a0c91e6bf6@@foo.bar.com",
		"f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com ",
		"f81d4fae-7dec-11d0-a765-00a0c91e6bf6;foo.bar.com",
	};
	for (size_t i = 0; i < N(t); i++)
		check_agree("table", t[i], strlen(t[i]));

	/* Call-IDs of every length to 40 with an '@' (or two, or a bad octet)
	 * anywhere: each SSE2 block boundary and the tail. */
	char s[64];
	for (size_t n = 1; n <= 40; n++) {
		for (size_t at = 0; at <= n; at++) {
			memset(s, 'a', n);
			if (at < n)
				s[at] = '@';
			check_agree("callid", s, n);
			for (size_t j = 0; j < n; j += 5) {
				char o = s[j];
				s[j] = (char)(j % 10 == 0 ? '@' : j % 15 == 0 ? ';' : '_');
				check_agree("callid", s, n);
				s[j] = o;
			}
		}
	}
}

/* ---- robustness ---- */

/* Inputs of every shape above, cut at every length: each parser must stay in its
 * view (the guard page faults otherwise) and answer 0/1 or an error with a reason
 * and an offset inside the view. */
static const char *const corpus[] = {
	"SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n SIP  "
	"/    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239",
	"SIP/2.0/UDP [2001:db8::9:1]:5060;received=[2001:db8::9:255];rport=1;maddr=h;ttl=1",
	"SIP/2.0/UDP h.example.com : 5062;branch=z9hG4bKc;x=\"a\\\"b\"",
	"\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8",
	"token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"x\";tag=_",
	"\"Mr. Watson\" <sip:watson@worcester.bell-telephone.com>;q=0.7; expires=3600, <mailto:a>",
	"<sip:line1@192.0.2.2;transport=tcp>;reg-id=1;+sip.instance=\"<urn:uuid:00000000-0000>\"",
	"sip:user@example.com?Route=%3Csip:sip.example.com%3E;tag=1, *",
	"\"Watson, Thomas\" < sip:t.watson@example.org >",
	"0009\r\n  INVITE",
	"intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{",
	"text/plain ; charset = \"utf-8\"",
	"4000 ; refresher = UAS ; x=1",
	"critical ; id;header",
	"Digest username=\"bob\", realm=\"biloxi.com\", qop=\"auth,auth-int\", nc=00000001, "
	"stale=TRUE",
	"100rel, timer , replaces",
};

static void run_all(struct sv v)
{
	struct sip_err e;
	struct sv rest, a, b;
	struct sip_via via;
	struct sip_addr ad;
	struct sip_contact c;
	struct sip_cseq cs;
	struct sip_ctype ct;
	struct sip_session_expires se;
	struct sip_auth au;
	uint32_t u;
	unsigned f;
	char out[64];
	int r, k;

#define CHECK_(call)                                                                              \
	do {                                                                                      \
		e = (struct sip_err){ 0, 0, NULL };                                               \
		r = (call);                                                                       \
		cr_assert(r == 0 || r == 1 || r == -EBADMSG || r == -ERANGE, "%s: %d", #call, r); \
		if (r < 0) {                                                                      \
			cr_assert_not_null(e.reason, "%s", #call);                                \
			cr_assert_eq(e.code, r);                                                  \
		}                                                                                 \
	} while (0)
#define ITER_(call)                                                              \
	do {                                                                     \
		rest = v;                                                        \
		for (k = 0; k < 64; k++) {                                       \
			const char *b0 = rest.p;                                 \
			CHECK_(call);                                            \
			if (r < 0)                                               \
				cr_assert_leq(e.off, (size_t)(end - b0), #call); \
			if (r <= 0)                                              \
				break;                                           \
			cr_assert_geq(rest.p, b0, "%s: went back", #call);       \
		}                                                                \
		cr_assert_lt(k, 64, "%s: no progress", #call);                   \
	} while (0)

	const char *end = v.p + v.len;
	ITER_(sip_list_next(&rest, &a, &e));
	ITER_(sip_param_next(&rest, &a, &b, &e));
	ITER_(sip_via_next(&rest, &via, &e));
	ITER_(sip_addr_next(&rest, &ad, &e));
	ITER_(sip_contact_next(&rest, &c, &e));
	ITER_(sip_token_next(&rest, &a, &e));
	CHECK_(sip_addr_parse(v, &ad, &e));
	if (r == 0)
		sip_param_get(ad.params, "tag", &a);
	CHECK_(sip_cseq_parse(v, &cs, &e));
	CHECK_(sip_callid_parse(v, &a, &e));
	CHECK_(sip_uint_parse(v, UINT32_MAX, &u, &e));
	CHECK_(sip_ctype_parse(v, &ct, &e));
	CHECK_(sip_session_expires_parse(v, &se, &e));
	CHECK_(sip_min_se_parse(v, &u, &e));
	CHECK_(sip_privacy_parse(v, &f, &e));
	CHECK_(sip_auth_parse(v, &au, &e));
	sip_param_get(v, "x", &a);
	r = sip_unquote(v, out, sizeof(out));
	cr_assert(r == -ENOBUFS || (r >= 0 && (size_t)r <= v.len));
#undef ITER_
#undef CHECK_
}

Test(sip_hdr, every_prefix_stays_in_bounds)
{
	for (size_t i = 0; i < N(corpus); i++) {
		size_t n = strlen(corpus[i]);
		for (size_t len = 0; len <= n; len++)
			run_all(sv_make(guard_place(corpus[i], len), len));
	}
}

Test(sip_hdr, every_two_octets)
{
	char in[2];
	for (unsigned x = 0; x < 256; x++) {
		in[0] = (char)x;
		run_all(sv_make(guard_place(in, 1), 1));
		for (unsigned y = 0; y < 256; y += 3) {
			in[1] = (char)y;
			run_all(sv_make(guard_place(in, 2), 2));
		}
	}
}

Test(sip_hdr, err_may_be_null)
{
	struct sip_addr a;
	struct sip_via v;
	struct sv rest = place_str("SIP/2.0/UDP h;;");
	cr_assert_eq(sip_via_next(&rest, &v, NULL), -EBADMSG);
	cr_assert_eq(sip_addr_parse(place_str("\"open"), &a, NULL), -EBADMSG);
	uint32_t u;
	cr_assert_eq(sip_uint_parse(place_str("300"), 255, &u, NULL), -ERANGE);
}
