/* SPDX-License-Identifier: MIT */
/*
 * Tests of parsers/sip_uri.h: SIP/SIPS/tel/other URIs, hostport, IPv6
 * references (RFC 5118), escapes, and §19.1.4 comparison. Every input is placed
 * against a guard page, so a read past its end faults.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "parsers/sip_uri.h"
#include "tests/guard.h"

#define N(t) (sizeof(t) / sizeof((t)[0]))

static int sveq(struct sv v, const char *s)
{
	return v.len == strlen(s) && (v.len == 0 || memcmp(v.p, s, v.len) == 0);
}

/* "NULL" when the view is absent, else its text (for messages). */
static const char *show(struct sv v)
{
	static char buf[4][256];
	static int i;
	char *b = buf[i++ & 3];
	if (!v.p)
		return "NULL";
	snprintf(b, sizeof(buf[0]), "'%.*s'", (int)v.len, v.p);
	return b;
}

static int parse(const char *s, struct sip_uri *u, struct sip_err *err)
{
	size_t n = strlen(s);
	const char *g = guard_place(s, n);
	*err = (struct sip_err){ 0 };
	return sip_uri_parse(sv_make(g, n), u, err);
}

/* A view lies inside the input that was parsed (zero copy). */
static int inside(struct sv v, struct sv in)
{
	return v.len == 0 || (v.p >= in.p && v.p + v.len <= in.p + in.len);
}

#define SIP  SIP_URI_SIP
#define SIPS SIP_URI_SIPS
#define TEL  SIP_URI_TEL
#define OTH  SIP_URI_OTHER
#define HN   SIP_HOST_NAME
#define H4   SIP_HOST_IPV4
#define H6   SIP_HOST_IPV6
#define H0   SIP_HOST_NONE

/* Valid URIs: every field. pass NULL = no password; user "" = no user. */
Test(sip_uri, valid_fields)
{
	static const struct {
		const char *in;
		uint8_t scheme;
		const char *user, *pass, *host;
		uint8_t ht;
		uint16_t port;
		const char *params, *headers;
	} t[] = {
		/* RFC 3261 §19.1.3 examples */
		{ "sip:alice@atlanta.com", SIP, "alice", NULL, "atlanta.com", HN, 0, "", "" },
		{ "sip:alice:secretword@atlanta.com;transport=tcp", SIP, "alice", "secretword",
		  "atlanta.com", HN, 0, "transport=tcp", "" },
		{ "sips:alice@atlanta.com?subject=project%20x&priority=urgent", SIPS, "alice", NULL,
		  "atlanta.com", HN, 0, "", "subject=project%20x&priority=urgent" },
		{ "sip:+1-212-555-1212:1234@gateway.com;user=phone", SIP, "+1-212-555-1212", "1234",
		  "gateway.com", HN, 0, "user=phone", "" },
		{ "sips:1212@gateway.com", SIPS, "1212", NULL, "gateway.com", HN, 0, "", "" },
		{ "sip:alice@192.0.2.4", SIP, "alice", NULL, "192.0.2.4", H4, 0, "", "" },
		{ "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com", SIP, "", NULL,
		  "atlanta.com", HN, 0, "method=REGISTER", "to=alice%40atlanta.com" },
		{ "sip:alice;day=tuesday@atlanta.com", SIP, "alice;day=tuesday", NULL,
		  "atlanta.com", HN, 0, "", "" },
		/* scheme and host case kept as written */
		{ "SIP:User@EXAMPLE.com:5060", SIP, "User", NULL, "EXAMPLE.com", HN, 5060, "", "" },
		{ "SiPs:u@h:1", SIPS, "u", NULL, "h", HN, 1, "", "" },
		{ "sip:u@h:65535", SIP, "u", NULL, "h", HN, 65535, "", "" },
		{ "sip:u@h:005060", SIP, "u", NULL, "h", HN, 5060, "", "" },
		{ "sip:u:@h", SIP, "u", "", "h", HN, 0, "", "" },
		{ "sip:host.example.com.", SIP, "", NULL, "host.example.com.", HN, 0, "", "" },
		{ "sip:123.example.com", SIP, "", NULL, "123.example.com", HN, 0, "", "" },
		{ "sip:a-1.b-2.x9", SIP, "", NULL, "a-1.b-2.x9", HN, 0, "", "" },
		{ "sip:example.com:5060;transport=tcp", SIP, "", NULL, "example.com", HN, 5060,
		  "transport=tcp", "" },
		/* RFC 4475 Request-URIs and URIs from their headers */
		{ "sip:user;par=u%40example.net@example.com", SIP, "user;par=u%40example.net", NULL,
		  "example.com", HN, 0, "", "" },
		{ "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/"
		  ";;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
		  SIP, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*",
		  "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)", "example.com", HN, 0, "", "" },
		{ "sip:sips%3Auser%40example.com@example.net", SIP, "sips%3Auser%40example.com",
		  NULL, "example.net", HN, 0, "", "" },
		{ "sip:%75se%72@example.com", SIP, "%75se%72", NULL, "example.com", HN, 0, "", "" },
		{ "sip:null-%00-null@example.com", SIP, "null-%00-null", NULL, "example.com", HN, 0,
		  "", "" },
		{ "sip:%00%00@host5.example.com", SIP, "%00%00", NULL, "host5.example.com", HN, 0,
		  "", "" },
		{ "sip:I%20have%20spaces@example.net", SIP, "I%20have%20spaces", NULL,
		  "example.net", HN, 0, "", "" },
		{ "sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31", SIP, "cal%6Cer",
		  NULL, "host5.example.net", HN, 0, "%6C%72;n%61me=v%61lue%25%34%31", "" },
		{ "sip:user@example.com?Route=%3Csip:example.com%3E", SIP, "user", NULL,
		  "example.com", HN, 0, "", "Route=%3Csip:example.com%3E" },
		{ "sip:services.example.com;lr;unknownwith=value;unknown-no-value", SIP, "", NULL,
		  "services.example.com", HN, 0, "lr;unknownwith=value;unknown-no-value", "" },
		{ "sip:+19725552222@gw1.example.net;unknownparam", SIP, "+19725552222", NULL,
		  "gw1.example.net", HN, 0, "unknownparam", "" },
		{ "sip:127.0.0.1:5080", SIP, "", NULL, "127.0.0.1", H4, 5080, "", "" },
		/* RFC 5118 */
		{ "sip:[2001:db8::10]", SIP, "", NULL, "2001:db8::10", H6, 0, "", "" },
		{ "sip:[2001:db8::10]:5070", SIP, "", NULL, "2001:db8::10", H6, 5070, "", "" },
		{ "sip:[2001:db8::10:5070]", SIP, "", NULL, "2001:db8::10:5070", H6, 0, "", "" },
		{ "sip:user@[2001:db8::192.0.2.1]", SIP, "user", NULL, "2001:db8::192.0.2.1", H6, 0,
		  "", "" },
		{ "sip:ted@[::ffff:192.0.2.2]", SIP, "ted", NULL, "::ffff:192.0.2.2", H6, 0, "",
		  "" },
		{ "sip:caller@[2001:db8::9:1];lr", SIP, "caller", NULL, "2001:db8::9:1", H6, 0,
		  "lr", "" },
		{ "sips:[::1]:5061;transport=tls?x=", SIPS, "", NULL, "::1", H6, 5061,
		  "transport=tls", "x=" },
		/* tel (RFC 3966): the number in user, no host */
		{ "tel:+1-201-555-0123", TEL, "+1-201-555-0123", NULL, "", H0, 0, "", "" },
		{ "tel:7042;phone-context=example.com", TEL, "7042", NULL, "", H0, 0,
		  "phone-context=example.com", "" },
		{ "tel:863-1234;phone-context=+1-914-555", TEL, "863-1234", NULL, "", H0, 0,
		  "phone-context=+1-914-555", "" },
		{ "TEL:+1(201)555.0123;ext=42;isub=1", TEL, "+1(201)555.0123", NULL, "", H0, 0,
		  "ext=42;isub=1", "" },
		{ "tel:*21#;phone-context=a.b", TEL, "*21#", NULL, "", H0, 0, "phone-context=a.b",
		  "" },
		/* other schemes: only scheme and opaque (RFC 4475 unkscm, novelsc) */
		{ "nobodyKnowsThisScheme:totallyopaquecontent", OTH, "", NULL, "", H0, 0, "", "" },
		{ "soap.beep://192.0.2.103:3002", OTH, "", NULL, "", H0, 0, "", "" },
		{ "http://www.example.com/a?b=c%20d", OTH, "", NULL, "", H0, 0, "", "" },
		{ "urn:service:sos", OTH, "", NULL, "", H0, 0, "", "" },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sip_uri u;
		struct sip_err err = { 0 };
		size_t n = strlen(t[i].in);
		struct sv in = sv_make(guard_place(t[i].in, n), n);
		int r = sip_uri_parse(in, &u, &err);
		cr_assert_eq(r, 0, "%s: %d %s at %u", t[i].in, r, err.reason, err.off);
		cr_assert_eq(u.scheme, t[i].scheme, "%s", t[i].in);
		cr_assert(sveq(u.user, t[i].user), "%s: user %s", t[i].in, show(u.user));
		cr_assert_eq(u.has_password, t[i].pass != NULL, "%s", t[i].in);
		if (t[i].pass)
			cr_assert(sveq(u.password, t[i].pass), "%s: password %s", t[i].in,
				  show(u.password));
		cr_assert(sveq(u.host, t[i].host), "%s: host %s", t[i].in, show(u.host));
		cr_assert_eq(u.host_type, t[i].ht, "%s", t[i].in);
		cr_assert_eq(u.port, t[i].port, "%s", t[i].in);
		cr_assert(sveq(u.params, t[i].params), "%s: params %s", t[i].in, show(u.params));
		cr_assert(sveq(u.headers, t[i].headers), "%s: headers %s", t[i].in,
			  show(u.headers));
		cr_assert(u.scheme_name.len > 0 && inside(u.scheme_name, in), "%s", t[i].in);
		cr_assert(inside(u.user, in) && inside(u.password, in) && inside(u.host, in) &&
				  inside(u.params, in) && inside(u.headers, in),
			  "%s: a view points outside the input", t[i].in);
		if (t[i].scheme == OTH) {
			const char *colon = strchr(t[i].in, ':');
			cr_assert_eq(u.scheme_name.len, (size_t)(colon - t[i].in), "%s", t[i].in);
			cr_assert(sveq(u.opaque, colon + 1), "%s: opaque %s", t[i].in,
				  show(u.opaque));
		} else {
			cr_assert_null(u.opaque.p, "%s", t[i].in);
		}
	}
}

/* Well-known parameters: values as written (NULL = absent). */
Test(sip_uri, well_known_params)
{
	static const struct {
		const char *in;
		const char *transport, *user, *method, *maddr, *ttl;
		bool lr;
	} t[] = {
		{ "sip:h", NULL, NULL, NULL, NULL, NULL, false },
		{ "sip:h;transport=tcp", "tcp", NULL, NULL, NULL, NULL, false },
		{ "sip:u@h;TRANSPORT=TLS;User=phone;method=INVITE;maddr=239.255.255.1;ttl=15;lr",
		  "TLS", "phone", "INVITE", "239.255.255.1", "15", true },
		{ "sip:h;lr=on", NULL, NULL, NULL, NULL, NULL, true },
		{ "sip:h;LR", NULL, NULL, NULL, NULL, NULL, true },
		{ "sip:h;maddr=[2001:db8::1];ttl=0", NULL, NULL, NULL, "[2001:db8::1]", "0",
		  false },
		{ "sip:h;maddr=mcast.example.net;ttl=255", NULL, NULL, NULL, "mcast.example.net",
		  "255", false },
		{ "sip:h;transport=udp;transport=tcp", "udp", NULL, NULL, NULL, NULL, false },
		{ "sip:h;transport", NULL, NULL, NULL, NULL, NULL, false },
		{ "sip:h;transports=x;users=y;ttls=z", NULL, NULL, NULL, NULL, NULL, false },
		{ "sip:h;transport=%74cp", "%74cp", NULL, NULL, NULL, NULL, false },
		{ "sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31", NULL, NULL, NULL,
		  NULL, NULL, true },
		{ "sip:h;%74ransport=sctp", "sctp", NULL, NULL, NULL, NULL, false },
		{ "sip:h;method=!interesting-Method0123456789_*+.%25indeed'~", NULL, NULL,
		  "!interesting-Method0123456789_*+.%25indeed'~", NULL, NULL, false },
		{ "sip:h;lr?transport=tcp", NULL, NULL, NULL, NULL, NULL, true },
		/* tel: lr is noted, the SIP parameters are not read */
		{ "tel:+1;lr;transport=tcp", NULL, NULL, NULL, NULL, NULL, true },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sip_uri u;
		struct sip_err err;
		int r = parse(t[i].in, &u, &err);
		cr_assert_eq(r, 0, "%s: %s", t[i].in, err.reason);
		const struct sv got[] = { u.transport, u.user_param, u.method, u.maddr, u.ttl };
		const char *want[] = { t[i].transport, t[i].user, t[i].method, t[i].maddr,
				       t[i].ttl };
		for (size_t k = 0; k < N(got); k++) {
			if (want[k])
				cr_assert(got[k].p && sveq(got[k], want[k]), "%s: param %zu is %s",
					  t[i].in, k, show(got[k]));
			else
				cr_assert_null(got[k].p, "%s: param %zu is %s", t[i].in, k,
					       show(got[k]));
		}
		cr_assert_eq(u.lr, t[i].lr, "%s", t[i].in);
	}
}

/* Malformed URIs: -EBADMSG, the offset of the fault from s.p, and a reason. */
Test(sip_uri, invalid)
{
	static const struct {
		const char *in;
		uint32_t off;
		const char *reason_has;
	} t[] = {
		{ "", 0, "empty URI" },
		{ "sip", 3, "scheme" },
		{ ":user@host", 0, "scheme" },
		{ "1sip:a@b", 0, "scheme" },
		{ "<sip:a@b>", 0, "scheme" },
		{ "s_p:a@b", 1, "scheme" },
		{ "sip:", 4, "missing host" },
		{ "sip:@host", 4, "empty user" },
		{ "sip::p@host", 4, "empty user" },
		{ "sip:user@", 9, "missing host" },
		{ "sip:user@;lr", 9, "missing host" },
		/* white space anywhere (RFC 4475 lwsruri, badaspec) */
		{ " sip:u@h", 0, "white space" },
		{ "sip: u@h", 4, "white space" },
		{ "sip:user@example.com; lr", 21, "white space" },
		{ "sip:user @example.com", 8, "white space" },
		{ "sip:user@exa mple.com", 12, "white space" },
		{ "sip:user@example.com\t", 20, "white space" },
		{ "sip:user@example.com\r\n", 20, "white space" },
		{ "sip:u@h;a=b ;c", 11, "white space" },
		{ "sip:u@h?a=b c", 11, "white space" },
		{ "sip:u@h:50 60", 10, "white space" },
		{ "sip:u@[::1 ]", 10, "white space" },
		{ "tel:+1 234", 6, "white space" },
		{ "foo:bar baz", 7, "white space" },
		/* IPv6 (RFC 5118) */
		{ "sip:2001:db8::10", 4, "not in brackets" },
		{ "sip:user@2001:db8::10", 9, "not in brackets" },
		{ "sip:fe80::1", 9, "not in brackets" },
		{ "sip:user@[2001:db8:::192.0.2.1]", 20, "':::'" },
		{ "sip:[:::1]", 7, "':::'" },
		{ "sip:[2001:db8::10", 17, "without ']'" },
		{ "sip:[1::2::3]", 9, "more than one '::'" },
		{ "sip:[12345::1]", 5, "longer than 4" },
		{ "sip:[1:2:3:4:5:6:7:8:9]", 5, "eight groups" },
		{ "sip:[1:2:3:4:5:6:7]", 5, "eight groups" },
		{ "sip:[1:2:3:4:5:6:7::8]", 5, "eight groups" },
		{ "sip:[1.2.3.4]", 5, "eight groups" },
		{ "sip:[::1.2.3.256]", 7, "bad IPv4" },
		{ "sip:[::1.2.3.4:5]", 14, "not at the end" },
		{ "sip:[fe80::1%25eth0]", 12, "bad character" },
		{ "sip:[:1]", 5, "single ':'" },
		{ "sip:[1:]", 7, "empty group" },
		{ "sip:[]", 5, "empty group" },
		{ "sip:[::1]x", 9, "unexpected" },
		{ "sip:[::1]:", 10, "no digits" },
		/* port */
		{ "sip:u@h:0", 8, "port 0" },
		{ "sip:u@h:65536", 8, "larger than 65535" },
		{ "sip:u@h:99999999999999999999", 8, "larger than 65535" },
		{ "sip:u@h:", 8, "no digits" },
		{ "sip:u@h:50a", 10, "unexpected" },
		{ "sip:a:b:c@h", 6, "no digits" },
		/* host names and IPv4 */
		{ "sip:u@-h.com", 6, "starts with '-'" },
		{ "sip:u@h-.com", 8, "ends with '-'" },
		{ "sip:u@h.com-", 12, "ends with '-'" },
		{ "sip:u@a..b", 8, "empty label" },
		{ "sip:u@.a", 6, "missing host" },
		{ "sip:u@1.2.3", 6, "bad IPv4" },
		{ "sip:u@1.2.3.4.5", 6, "bad IPv4" },
		{ "sip:u@256.1.1.1", 6, "bad IPv4" },
		{ "sip:u@1.2.3.0004", 6, "bad IPv4" },
		{ "sip:u@example.123", 14, "top label" },
		{ "sip:u@a_b.com", 7, "unexpected" },
		{ "sip:u@h@i", 7, "unexpected" },
		{ "sip:u@h>", 7, "unexpected" },
		/* parameters and headers */
		{ "sip:u@h;", 8, "empty URI parameter name" },
		{ "sip:u@h;;lr", 8, "empty URI parameter name" },
		{ "sip:u@h;=x", 8, "empty URI parameter name" },
		{ "sip:u@h;a=", 10, "empty URI parameter value" },
		{ "sip:u@h;a==b", 10, "empty URI parameter value" },
		{ "sip:u@h;ttl=256", 12, "ttl" },
		{ "sip:u@h;ttl=abc", 12, "ttl" },
		{ "sip:u@h;ttl=0001", 12, "ttl" },
		{ "sip:u@h;maddr=1.2.3.4:5060", 21, "maddr" },
		{ "sip:u@h;maddr=1.2.3", 14, "bad IPv4" },
		{ "sip:u@h;transport=t[p", 19, "token" },
		{ "sip:u@h;method=IN:VITE", 17, "token" },
		{ "sip:u@h?", 8, "empty URI header name" },
		{ "sip:u@h?a", 9, "without '='" },
		{ "sip:u@h?a=b&", 12, "empty URI header name" },
		{ "sip:u@h?a=b?c=d", 13, "unexpected" },
		{ "sip:u@h?a=b;c", 11, "unexpected" },
		/* escapes */
		{ "sip:u%zz@h", 5, "%-escape" },
		{ "sip:u%4@h", 5, "%-escape" },
		{ "sip:u@h;p=%", 10, "%-escape" },
		{ "sip:u@h;p=%4", 10, "%-escape" },
		{ "sip:u@h?a=%g0", 10, "%-escape" },
		{ "sip:u:p%@h", 7, "%-escape" },
		/* tel */
		{ "tel:", 4, "empty telephone number" },
		{ "tel:;a=b", 4, "empty telephone number" },
		{ "tel:+", 4, "without digits" },
		{ "tel:+-.", 4, "without digits" },
		{ "tel:12+3", 6, "'+' inside" },
		{ "tel:+1;", 7, "empty URI parameter name" },
		{ "tel:+1?x=y", 6, "unexpected" },
		{ "tel:+1@h", 6, "unexpected" },
		/* other schemes */
		{ "foo:", 4, "empty URI after scheme" },
		{ "foo:a<b", 5, "bad character" },
		{ "foo:a#b", 5, "bad character" },
		{ "foo:%", 4, "%-escape" },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sip_uri u;
		struct sip_err err;
		int r = parse(t[i].in, &u, &err);
		cr_assert_eq(r, -EBADMSG, "'%s': got %d", t[i].in, r);
		cr_assert_eq(err.code, -EBADMSG, "'%s'", t[i].in);
		cr_assert_not_null(err.reason, "'%s'", t[i].in);
		cr_assert_not_null(strstr(err.reason, t[i].reason_has), "'%s': reason '%s'",
				   t[i].in, err.reason);
		cr_assert_eq(err.off, t[i].off, "'%s': offset %u, want %u (%s)", t[i].in, err.off,
			     t[i].off, err.reason);
	}
}

/* err may be NULL; an empty view may be SV_NULL. */
Test(sip_uri, null_err_and_empty_input)
{
	struct sip_uri u;
	struct sip_err err;
	struct sv host;
	uint8_t type;
	uint16_t port;
	char out[4];
	const char *g = guard_place("sip:u@h;", 8);
	cr_assert_eq(sip_uri_parse(sv_make(g, 8), &u, NULL), -EBADMSG);
	cr_assert_eq(sip_uri_parse(sv_make(g, 7), &u, NULL), 0);
	cr_assert(sveq(u.host, "h"));
	cr_assert_eq(sip_uri_parse(SV_NULL, &u, &err), -EBADMSG);
	cr_assert_eq(err.off, 0);
	cr_assert_eq(sip_hostport_parse(SV_NULL, &host, &type, &port, NULL), -EBADMSG);
	cr_assert_eq(sip_unescape(SV_NULL, out, sizeof(out)), 0);
}

/*
 * Every prefix of a valid URI is parsed against the guard page: the parser
 * must stop at the end whatever state it is in, and say where it stopped.
 */
Test(sip_uri, every_prefix_stays_in_bounds)
{
	static const char *const t[] = {
		"sips:alice:secret%20word@[2001:db8::192.0.2.1]:5061;transport=tls;maddr=[::1];ttl="
		"1;lr;x=%41?a=b&c=%44",
		"sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/"
		";;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
		"sip:user;par=u%40example.net@example.com:5060;%6C%72",
		"sip:host.example.com.:65535;method=INVITE?to=sip:bob%40biloxi.com",
		"tel:+1-201-555-0123;phone-context=a.b;ext=1%32",
		"soap.beep://192.0.2.103:3002/x%20y",
		"sip:[::ffff:192.0.2.1]",
	};
	for (size_t i = 0; i < N(t); i++) {
		size_t n = strlen(t[i]);
		for (size_t k = 0; k <= n; k++) {
			struct sip_uri u;
			struct sip_err err = { 0 };
			const char *g = guard_place(t[i], k);
			int r = sip_uri_parse(sv_make(g, k), &u, &err);
			cr_assert(r == 0 || r == -EBADMSG, "%s [%zu]: %d", t[i], k, r);
			if (r < 0)
				cr_assert_leq(err.off, k, "%s [%zu]: offset %u", t[i], k, err.off);
		}
		struct sip_uri u;
		struct sip_err err;
		cr_assert_eq(parse(t[i], &u, &err), 0, "%s: %s at %u", t[i], err.reason, err.off);
	}
}

/* hostport, as in a Via sent-by: host without brackets, type, port. */
Test(sip_uri, hostport)
{
	static const struct {
		const char *in;
		int rc;
		const char *host;
		uint8_t type;
		uint16_t port;
	} t[] = {
		{ "example.com", 0, "example.com", HN, 0 },
		{ "EXAMPLE.com:5060", 0, "EXAMPLE.com", HN, 5060 },
		{ "pc33.atlanta.example.com", 0, "pc33.atlanta.example.com", HN, 0 },
		{ "host.example.com.:1", 0, "host.example.com.", HN, 1 },
		{ "x", 0, "x", HN, 0 },
		{ "a-b.c-d.e", 0, "a-b.c-d.e", HN, 0 },
		{ "h:00001", 0, "h", HN, 1 },
		{ "192.0.2.1:5061", 0, "192.0.2.1", H4, 5061 },
		{ "0.0.0.0", 0, "0.0.0.0", H4, 0 },
		{ "255.255.255.255:65535", 0, "255.255.255.255", H4, 65535 },
		/* IPv4 in one pass, and the hosts that only start like one */
		{ "1.2.3.4", 0, "1.2.3.4", H4, 0 },
		{ "01.002.3.04:5060", 0, "01.002.3.04", H4, 5060 },
		{ "10.20.30.40:00005060", 0, "10.20.30.40", H4, 5060 },
		{ "1.2.3.4.example.com", 0, "1.2.3.4.example.com", HN, 0 },
		{ "1.2.3.4x.com:5", 0, "1.2.3.4x.com", HN, 5 },
		{ "1.2.3", -EBADMSG, NULL, 0, 0 },
		{ "1.2.3.4.5", -EBADMSG, NULL, 0, 0 },
		{ "1.2.3.4.", -EBADMSG, NULL, 0, 0 },
		{ "1.2.3.4a", -EBADMSG, NULL, 0, 0 },
		{ "1.2.3.4-5", -EBADMSG, NULL, 0, 0 },
		{ "1.2.3.4_", -EBADMSG, NULL, 0, 0 },
		{ "1.2.3.1000", -EBADMSG, NULL, 0, 0 },
		{ "1234.1.1.1", -EBADMSG, NULL, 0, 0 },
		{ "1..2.3", -EBADMSG, NULL, 0, 0 },
		{ "1.2.3.4:", -EBADMSG, NULL, 0, 0 },
		{ "1.2.3.4:0", -EBADMSG, NULL, 0, 0 },
		{ "1.2.3.4:65536", -EBADMSG, NULL, 0, 0 },
		{ "[2001:db8::1]", 0, "2001:db8::1", H6, 0 },
		{ "[2001:db8::1]:5061", 0, "2001:db8::1", H6, 5061 },
		{ "[::]", 0, "::", H6, 0 },
		{ "[::1]", 0, "::1", H6, 0 },
		{ "[1::]", 0, "1::", H6, 0 },
		{ "[::ffff:192.0.2.1]:5060", 0, "::ffff:192.0.2.1", H6, 5060 },
		{ "[1:2:3:4:5:6:7:8]", 0, "1:2:3:4:5:6:7:8", H6, 0 },
		{ "[1:2:3:4:5:6:7::]", 0, "1:2:3:4:5:6:7::", H6, 0 },
		{ "[::2:3:4:5:6:7:8]", 0, "::2:3:4:5:6:7:8", H6, 0 },
		{ "[1:2:3:4:5:6:1.2.3.4]", 0, "1:2:3:4:5:6:1.2.3.4", H6, 0 },
		{ "[FFFF:abcd:0:00:000:0000:A:b]", 0, "FFFF:abcd:0:00:000:0000:A:b", H6, 0 },
		{ "", -EBADMSG, NULL, 0, 0 },
		{ ":5060", -EBADMSG, NULL, 0, 0 },
		{ "[:::1]", -EBADMSG, NULL, 0, 0 },
		{ "[1:::2]", -EBADMSG, NULL, 0, 0 },
		{ "[1::2::3]", -EBADMSG, NULL, 0, 0 },
		{ "[::1", -EBADMSG, NULL, 0, 0 },
		{ "[", -EBADMSG, NULL, 0, 0 },
		{ "::1", -EBADMSG, NULL, 0, 0 },
		{ "2001:db8::1", -EBADMSG, NULL, 0, 0 },
		{ "[1:2:3:4:5:6:7:8:9]", -EBADMSG, NULL, 0, 0 },
		{ "[1:2:3:4:5:6:7:1.2.3.4]", -EBADMSG, NULL, 0, 0 },
		{ "[1.2.3.4]", -EBADMSG, NULL, 0, 0 },
		{ "[g::1]", -EBADMSG, NULL, 0, 0 },
		{ "[::1]x", -EBADMSG, NULL, 0, 0 },
		{ "h:0", -EBADMSG, NULL, 0, 0 },
		{ "h:65536", -EBADMSG, NULL, 0, 0 },
		{ "h:", -EBADMSG, NULL, 0, 0 },
		{ "h:5060;branch=z9hG4bK", -EBADMSG, NULL, 0, 0 },
		{ "h x", -EBADMSG, NULL, 0, 0 },
		{ "1.2.3.256", -EBADMSG, NULL, 0, 0 },
		{ "a_b", -EBADMSG, NULL, 0, 0 },
		{ "u@h", -EBADMSG, NULL, 0, 0 },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sv host = SV_NULL;
		uint8_t type = 0xff;
		uint16_t port = 0xffff;
		struct sip_err err = { 0 };
		size_t n = strlen(t[i].in);
		const char *g = guard_place(t[i].in, n);
		int r = sip_hostport_parse(sv_make(g, n), &host, &type, &port, &err);
		cr_assert_eq(r, t[i].rc, "'%s': got %d (%s)", t[i].in, r, err.reason);
		if (r < 0) {
			cr_assert_eq(err.code, r);
			cr_assert_not_null(err.reason);
			cr_assert_leq(err.off, n);
			continue;
		}
		cr_assert(sveq(host, t[i].host), "'%s': host %s", t[i].in, show(host));
		cr_assert(host.p >= g && host.p + host.len <= g + n);
		cr_assert_eq(type, t[i].type, "'%s'", t[i].in);
		cr_assert_eq(port, t[i].port, "'%s'", t[i].in);
	}
}

Test(sip_uri, unescape)
{
	static const struct {
		const char *in;
		size_t cap;
		int rc;
		const char *out;
		size_t outlen;
	} t[] = {
		{ "", 8, 0, "", 0 },
		{ "abc", 8, 3, "abc", 3 },
		{ "%41%62c", 8, 3, "Abc", 3 },
		{ "%4a%4A", 8, 2, "JJ", 2 },
		{ "null-%00-null", 16, 11, "null-\0-null", 11 },
		{ "sips%3Auser%40example.com", 64, 21, "sips:user@example.com", 21 },
		{ "v%61lue%25%34%31", 16, 8, "value%41", 8 },
		{ "100%", 8, -EBADMSG, NULL, 0 },
		{ "%4", 8, -EBADMSG, NULL, 0 },
		{ "%zz", 8, -EBADMSG, NULL, 0 },
		{ "%%41", 8, -EBADMSG, NULL, 0 },
		{ "abcd", 3, -ENOBUFS, NULL, 0 },
		{ "%41%42%43", 2, -ENOBUFS, NULL, 0 },
		{ "%41%42%43", 3, 3, "ABC", 3 },
	};
	for (size_t i = 0; i < N(t); i++) {
		char out[64];
		size_t n = strlen(t[i].in);
		const char *g = guard_place(t[i].in, n);
		int r = sip_unescape(sv_make(g, n), out, t[i].cap);
		cr_assert_eq(r, t[i].rc, "'%s': %d", t[i].in, r);
		if (r >= 0)
			cr_assert_eq(memcmp(out, t[i].out, t[i].outlen), 0, "'%s'", t[i].in);
	}
}

/* RFC 3261 §19.1.4 and RFC 3966 §4 equality, both ways round. */
Test(sip_uri, equal)
{
	static const struct {
		const char *a, *b;
		bool eq;
	} t[] = {
		/* RFC 3261 §19.1.4: equivalent */
		{ "sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp",
		  true },
		{ "sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5", true },
		{ "sip:carol@chicago.com", "sip:carol@chicago.com;security=on", true },
		{ "sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on", true },
		{ "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
		  "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com", true },
		{ "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
		  "sip:alice@atlanta.com?priority=urgent&subject=project%20x", true },
		/* RFC 3261 §19.1.4: not equivalent */
		{ "SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP",
		  false },
		{ "sip:bob@biloxi.com", "sip:bob@biloxi.com:5060", false },
		{ "sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp", false },
		{ "sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp", false },
		{ "sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting", false },
		{ "sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4", false },
		{ "sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off",
		  false },
		/* escapes: hex case, unreserved octets equal their escapes (RFC 4475 esc01) */
		{ "sip:sips%3Auser%40example.com@example.net",
		  "sip:sips%3auser%40example.com@EXAMPLE.NET", true },
		{ "sip:%75se%72@example.com", "sip:user@example.com", true },
		{ "sip:null-%00-null@example.com", "sip:null-%00-null@example.com", true },
		{ "sip:null-%00-null@example.com", "sip:null--null@example.com", false },
		{ "sip:u@h;n%61me=v%61lue", "sip:u@h;name=VALUE", true },
		{ "sip:u@h;name=value", "sip:u@h;name=valu", false },
		/* ... but a reserved octet differs from its escape */
		{ "sip:a%3Bb@h", "sip:a;b@h", false },
		{ "sip:a%3Bb@h", "sip:a%3bb@h", true },
		{ "sip:u@h?to=a%2Fb", "sip:u@h?to=a/b", false },
		/* scheme, userinfo, host, port */
		{ "sip:user@h", "sips:user@h", false },
		{ "sip:user@h", "SIP:user@h", true },
		{ "sip:h", "sip:u@h", false },
		{ "sip:u:p@h", "sip:u@h", false },
		{ "sip:u:p@h", "sip:u:P@h", false },
		{ "sip:u:@h", "sip:u@h", false },
		{ "sip:u:p%61ss@h", "sip:u:pass@h", true },
		{ "sip:u@h:5060", "sip:u@h:5060", true },
		{ "sip:u@h:5060", "sip:u@h:5061", false },
		{ "sip:u@[2001:DB8::1]", "sip:u@[2001:db8::1]", true },
		{ "sip:u@h.example.com", "sip:u@h.example.org", false },
		/* transport, user, method, ttl, maddr: in both or neither */
		{ "sip:u@h;ttl=1", "sip:u@h", false },
		{ "sip:u@h;user=phone", "sip:u@h", false },
		{ "sip:u@h;method=INVITE", "sip:u@h", false },
		{ "sip:u@h;maddr=192.0.2.1", "sip:u@h", false },
		{ "sip:u@h;maddr=X.com", "sip:u@h;maddr=x.COM", true },
		{ "sip:u@h;ttl=1", "sip:u@h;ttl=2", false },
		{ "sip:u@h;transport=tcp;x=1", "sip:u@h;y=2;transport=TCP", true },
		{ "sip:u@h;%74ransport=tcp", "sip:u@h;transport=tcp", true },
		/* other parameters count only when in both */
		{ "sip:u@h;lr", "sip:u@h", true },
		{ "sip:u@h;%6C%72", "sip:u@h;lr", true },
		{ "sip:u@h;x=1;y=2", "sip:u@h;y=2", true },
		{ "sip:u@h;x=1;y=2", "sip:u@h;y=3", false },
		/* repeated names (not allowed, but seen): still reflexive and symmetric */
		{ "sip:u@h;x=1;x=2", "sip:u@h;x=2;x=1", true },
		{ "sip:u@h;x=1;x=2", "sip:u@h;x=1", false },
		{ "sip:u@h?a=1&a=2", "sip:u@h?a=2&a=1", true },
		{ "sip:u@h?a=1&a=2", "sip:u@h?a=1&a=1", false },
		/* headers: never ignored, any order, names in any case, values exact */
		{ "sip:u@h?a=b&c=d", "sip:u@h?c=d", false },
		{ "sip:u@h?a=b&c=d", "sip:u@h?c=d&a=b", true },
		{ "sip:u@h?A=b", "sip:u@h?a=b", true },
		{ "sip:u@h?a=B", "sip:u@h?a=b", false },
		{ "sip:u@h?a=%62", "sip:u@h?a=b", true },
		/* tel (RFC 3966 §4) */
		{ "tel:+1-201-555-0123", "tel:+1(201)5550123", true },
		{ "tel:+1-201-555-0123", "tel:+1.201.555.0124", false },
		{ "tel:+12015550123", "tel:12015550123", false },
		{ "tel:7042;phone-context=example.com", "tel:7042;PHONE-CONTEXT=Example.COM",
		  true },
		{ "tel:7042;phone-context=example.com", "tel:7042", false },
		{ "tel:+1234;a=1;b=2", "tel:+1234;b=2;a=1", true },
		{ "tel:+1234;a=1", "tel:+1234;a=2", false },
		{ "tel:+1234;a=1", "tel:+1234;a=1;b=2", false },
		{ "tel:*21#ab", "tel:*21#AB", true },
		{ "tel:1%002", "tel:1", false },
		{ "tel:1%2D2", "tel:12", true },
		{ "tel:+1234", "sip:+1234@h", false },
		/* other schemes: scheme in any case, the rest exact */
		{ "nobodyKnowsThisScheme:totallyopaquecontent",
		  "NOBODYKNOWSTHISSCHEME:totallyopaquecontent", true },
		{ "foo:abc", "foo:ABC", false },
		{ "foo:abc", "bar:abc", false },
	};
	for (size_t i = 0; i < N(t); i++) {
		size_t la = strlen(t[i].a), lb = strlen(t[i].b);
		char buf[512];
		cr_assert_lt(la + lb, sizeof(buf));
		/* Each URI once at the guard page: a then b, then b then a. */
		for (int order = 0; order < 2; order++) {
			const char *x = order ? t[i].b : t[i].a, *y = order ? t[i].a : t[i].b;
			size_t lx = strlen(x), ly = strlen(y);
			struct sip_uri ux, uy;
			struct sip_err err;
			memcpy(buf, x, lx);
			memcpy(buf + lx, y, ly);
			const char *g = guard_place(buf, lx + ly);
			cr_assert_eq(sip_uri_parse(sv_make(g, lx), &ux, &err), 0, "%s: %s", x,
				     err.reason);
			cr_assert_eq(sip_uri_parse(sv_make(g + lx, ly), &uy, &err), 0, "%s: %s", y,
				     err.reason);
			cr_assert_eq(sip_uri_equal(&ux, &uy), t[i].eq, "%s vs %s", x, y);
			cr_assert_eq(sip_uri_equal(&uy, &ux), t[i].eq, "%s vs %s", y, x);
			cr_assert(sip_uri_equal(&ux, &ux), "%s", x);
		}
	}
}

Test(sip_uri, param_lookup)
{
	static const struct {
		const char *in, *name;
		bool found;
		const char *value;
	} t[] = {
		{ "sip:u@h;transport=tcp;lr;x=1", "transport", true, "tcp" },
		{ "sip:u@h;transport=tcp;lr;x=1", "LR", true, "" },
		{ "sip:u@h;transport=tcp;lr;x=1", "X", true, "1" },
		{ "sip:u@h;transport=tcp;lr;x=1", "y", false, NULL },
		{ "sip:u@h;transport=tcp;lr;x=1", "trans", false, NULL },
		{ "sip:u@h;transport=tcp;lr;x=1?y=2", "y", false, NULL },
		{ "sip:u@h;%6C%72;n%61me=v%61lue", "name", true, "v%61lue" },
		{ "sip:u@h;%6C%72", "lr", true, "" },
		{ "sip:u;x=1@h", "x", false, NULL },
		{ "sip:u@h", "x", false, NULL },
		{ "tel:7042;phone-context=example.com", "phone-context", true, "example.com" },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct sip_uri u;
		struct sip_err err;
		struct sv v = SV_NULL;
		cr_assert_eq(parse(t[i].in, &u, &err), 0, "%s", t[i].in);
		bool f = sip_uri_param(&u, sv_cstr(t[i].name), &v);
		cr_assert_eq(f, t[i].found, "%s: %s", t[i].in, t[i].name);
		if (f)
			cr_assert(sveq(v, t[i].value), "%s: %s = %s", t[i].in, t[i].name, show(v));
	}
}
