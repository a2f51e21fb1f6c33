/* SPDX-License-Identifier: MIT */
/*
 * Tests of bench/load/load_sip.h (templates, the answer scan, the options and
 * register scenarios, users and passwords) and bench/load/load_hist.h
 * (buckets, percentiles). Scanned inputs
 * are placed against a guard page, so a read past their end faults.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "load_hist.h"
#include "load_sip.h"
#include "tests/guard.h"

#define N(t) (sizeof(t) / sizeof((t)[0]))

static int scan(const char *s, struct load_answer *a)
{
	size_t n = strlen(s);
	return load_answer_scan(guard_place(s, n), n, a);
}

Test(load_sip, id_roundtrip)
{
	static const struct load_id ids[] = {
		{ 0, 0, 1 },
		{ 255, 0xffffff, 0xffffffff },
		{ 3, 4096, 77 },
	};
	for (size_t i = 0; i < N(ids); i++) {
		char text[LOAD_ID_LEN + 1] = { 0 };
		struct load_id back;
		load_id_format(text, &ids[i]);
		cr_assert(load_id_parse(text, &back), "%s", text);
		cr_expect(back.thread == ids[i].thread && back.slot == ids[i].slot &&
				  back.gen == ids[i].gen,
			  "%s", text);
	}
	struct load_id x;
	cr_expect(!load_id_parse("0g-000001-00000001", &x));
	cr_expect(!load_id_parse("00+000001-00000001", &x));
}

/* The options scenario's request: filled holes, and its own answer scans back. */
Test(load_sip, options_template_fill_and_scan)
{
	const struct load_scen *sc = load_scen_find("options");
	cr_assert(sc && sc->steps == 1);
	struct load_req_params rp = {
		.method = "OPTIONS",
		.ruri = "sip:127.0.0.1:5070",
		.from_user = "load",
		.host = "127.0.0.1",
		.port = 40001,
		.run_tag = "abcd0123",
	};
	struct load_tmpl t;
	cr_assert_eq(sc->build(&rp, 0, &t), 0);
	char out[LOAD_MSG_MAX + 1];
	struct load_vars v = { .id = { 2, 0x1234, 9 }, .cseq = 1 };
	size_t n = load_tmpl_fill(&t, out, &v);
	out[n] = 0;
	cr_expect(strstr(out, "OPTIONS sip:127.0.0.1:5070 SIP/2.0\r\n") == out, "%s", out);
	cr_expect(strstr(out,
			 "Via: SIP/2.0/UDP 127.0.0.1:40001;branch=z9hG4bK-02-001234-00000009\r\n"),
		  "%s", out);
	cr_expect(strstr(out, "\r\nCall-ID: 02-001234-00000009-abcd0123@127.0.0.1\r\n"), "%s", out);
	cr_expect(strstr(out, "\r\nCSeq: 1 OPTIONS\r\n"), "%s", out);
	cr_expect(strstr(out, ";tag=02-001234-00000009\r\n"), "%s", out);
	cr_expect(n >= 4 && memcmp(out + n - 4, "\r\n\r\n", 4) == 0);

	/* an echo: the request is its own answer */
	struct load_answer a;
	cr_assert_eq(load_answer_scan(guard_place(out, n), n, &a), 0);
	cr_expect_eq(a.status, 0);
	cr_expect(a.method_len == 7 && memcmp(a.method, "OPTIONS", 7) == 0);
	cr_expect(a.has_id && a.id.thread == 2 && a.id.slot == 0x1234 && a.id.gen == 9);

	/* a wider CSeq changes the length, nothing else */
	v.cseq = 1234567890;
	size_t n2 = load_tmpl_fill(&t, out, &v);
	cr_expect_eq(n2, n + 9);
}

Test(load_sip, answers)
{
	static const struct {
		const char *in;
		int ret, status;
		bool has_id;
		uint32_t slot;
	} cases[] = {
		{ "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-00-000005-00000001\r\n\r\n",
		  0, 200, true, 5 },
		/* compact name, odd case, spaces before the colon, the rport a server adds */
		{ "SIP/2.0 100 Trying\r\nv  : SIP/2.0/UDP "
		  "h;rport=5;branch=z9hG4bK-01-00000a-00000002;received=1.2.3.4\r\n\r\n",
		  0, 100, true, 10 },
		{ "SIP/2.0 486 Busy\r\nFrom: <sip:a@b>\r\nVIA: SIP/2.0/UDP "
		  "h;branch=z9hG4bK-00-000001-00000001\r\n\r\n",
		  0, 486, true, 1 },
		/* a Via not ours on top: only the top one counts */
		{ "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP p;branch=z9hG4bK-proxy\r\nVia: SIP/2.0/UDP "
		  "h;branch=z9hG4bK-00-000001-00000001\r\n\r\n",
		  0, 200, false, 0 },
		/* two values on one line: the first one */
		{ "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP p;branch=z9hG4bKx, SIP/2.0/UDP "
		  "h;branch=z9hG4bK-00-000001-00000001\r\n\r\n",
		  0, 200, false, 0 },
		{ "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-bogus\r\n\r\n", 0, 200,
		  false, 0 },
		/* an identity with more after it is not ours */
		{ "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-00-000001-000000011\r\n\r\n",
		  0, 200, false, 0 },
		/* ends right after the identity, no CRLF */
		{ "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-00-000001-00000001", 0, 200,
		  true, 1 },
		/* no Via before the end of the header */
		{ "SIP/2.0 200 OK\r\nTo: x\r\n\r\nVia: SIP/2.0/UDP "
		  "h;branch=z9hG4bK-00-000001-00000001\r\n",
		  0, 200, false, 0 },
		{ "SIP/2.0 2x0 OK\r\n\r\n", -EBADMSG, 0, false, 0 },
		{ "SIP/2.0 099 Low\r\n\r\n", -EBADMSG, 0, false, 0 },
		{ "hello", -EBADMSG, 0, false, 0 },
		{ "GARBAGE\r\n\r\n", -EBADMSG, 0, false, 0 },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct load_answer a;
		int ret = scan(cases[i].in, &a);
		cr_expect_eq(ret, cases[i].ret, "case %zu: ret %d", i, ret);
		if (ret < 0)
			continue;
		cr_expect_eq(a.status, cases[i].status, "case %zu", i);
		cr_expect_eq(a.has_id, cases[i].has_id, "case %zu", i);
		if (cases[i].has_id)
			cr_expect_eq(a.id.slot, cases[i].slot, "case %zu", i);
	}
}

Test(load_sip, verdicts)
{
	const struct load_scen *sc = load_scen_find("options");
	struct load_answer a = { .status = 100 };
	cr_expect_eq(sc->answer(&a, 0), LOAD_PROVISIONAL);
	a.status = 200;
	cr_expect_eq(sc->answer(&a, 0), LOAD_FINAL);
	a.status = 503;
	cr_expect_eq(sc->answer(&a, 0), LOAD_FINAL);
	cr_expect_null(load_scen_find("nonesuch"));

	/* register: 200 or fail; register-auth: 401 then 200, anything else fails */
	static const struct {
		const char *scen;
		unsigned step;
		int status;
		enum load_verdict v;
	} cases[] = {
		{ "register", 0, 100, LOAD_PROVISIONAL },
		{ "register", 0, 200, LOAD_FINAL },
		{ "register", 0, 401, LOAD_FAILED },
		{ "register", 0, 403, LOAD_FAILED },
		{ "register", 0, 202, LOAD_FAILED },
		{ "register-auth", 0, 100, LOAD_PROVISIONAL },
		{ "register-auth", 0, 401, LOAD_NEXT },
		{ "register-auth", 0, 200, LOAD_FAILED },
		{ "register-auth", 0, 407, LOAD_FAILED },
		{ "register-auth", 0, 503, LOAD_FAILED },
		{ "register-auth", 1, 100, LOAD_PROVISIONAL },
		{ "register-auth", 1, 200, LOAD_FINAL },
		{ "register-auth", 1, 401, LOAD_FAILED },
		{ "register-auth", 1, 403, LOAD_FAILED },
	};
	for (size_t i = 0; i < N(cases); i++) {
		const struct load_scen *r = load_scen_find(cases[i].scen);
		cr_assert(r);
		struct load_answer b = { .status = cases[i].status };
		cr_expect_eq(r->answer(&b, cases[i].step), cases[i].v, "case %zu", i);
	}
}

static const struct load_req_params reg_rp = {
	.method = "REGISTER",
	.ruri = "sip:127.0.0.1:5070",
	.from_user = "load",
	.domain = "example.org",
	.host = "127.0.0.1",
	.port = 40002,
	.run_tag = "0badf00d",
};

/* register-auth: step 0 without credentials, step 1 with the extra lines; the
 * user's name, Call-ID and Contact the same in both, its CSeq in each. */
Test(load_sip, register_templates)
{
	const struct load_scen *sc = load_scen_find("register-auth");
	cr_assert(sc && sc->steps == 2 && (sc->flags & LOAD_SCEN_USERS) &&
		  (sc->flags & LOAD_SCEN_AUTH));
	cr_expect_str_eq(sc->method, "REGISTER");
	struct load_tmpl t0, t1;
	cr_assert_eq(sc->build(&reg_rp, 0, &t0), 0);
	cr_assert_eq(sc->build(&reg_rp, 1, &t1), 0);
	char out[LOAD_MSG_MAX + 1];
	static const char auth[] = "Authorization: Digest username=\"u100042\"\r\n";
	struct load_vars v = { .id = { 1, 7, 3 }, .cseq = 41, .user = 100042 };
	size_t n = load_tmpl_fill(&t0, out, &v);
	out[n] = 0;
	static const char *const want0[] = {
		"REGISTER sip:127.0.0.1:5070 SIP/2.0\r\n",
		"\r\nVia: SIP/2.0/UDP 127.0.0.1:40002;branch=z9hG4bK-01-000007-00000003\r\n",
		"\r\nFrom: <sip:u100042@example.org>;tag=01-000007-00000003\r\n",
		"\r\nTo: <sip:u100042@example.org>\r\n",
		"\r\nCall-ID: u100042-0badf00d@127.0.0.1\r\n",
		"\r\nCSeq: 41 REGISTER\r\n",
		"\r\nContact: <sip:u100042@127.0.0.1:40002>\r\n",
		"\r\nExpires: 3600\r\n",
	};
	for (size_t i = 0; i < N(want0); i++)
		cr_expect(strstr(out, want0[i]), "%s not in\n%s", want0[i], out);
	cr_expect(!strstr(out, "Authorization"), "%s", out);

	v.cseq = 42;
	v.extra = auth;
	v.extra_len = sizeof(auth) - 1;
	size_t n1 = load_tmpl_fill(&t1, out, &v);
	out[n1] = 0;
	cr_expect_eq(n1, n + sizeof(auth) - 1);
	cr_expect(strstr(out, "\r\nCSeq: 42 REGISTER\r\n"), "%s", out);
	cr_expect(strstr(out, "\r\nCall-ID: u100042-0badf00d@127.0.0.1\r\n"), "%s", out);
	cr_expect(
		strstr(out, "\r\nAuthorization: Digest username=\"u100042\"\r\nExpires: 3600\r\n"),
		"%s", out);
	/* no extra lines: step 1's template is step 0's */
	v.extra = NULL;
	cr_expect_eq(load_tmpl_fill(&t1, out, &v), n);

	const struct load_scen *plain = load_scen_find("register");
	cr_assert(plain && plain->steps == 1 && (plain->flags & LOAD_SCEN_USERS) &&
		  !(plain->flags & LOAD_SCEN_AUTH));
}

Test(load_sip, users_and_passwords)
{
	static const struct {
		uint32_t n;
		const char *name, *password;
	} cases[] = {
		/* shared/anchors/kamailio/gen_users.sh writes the same */
		{ 100000, "u100000", "pw00000000" },
		{ 100001, "u100001", "pw9e3779b1" },
		{ 100002, "u100002", "pw3c6ef362" },
		{ 999999, "u999999", "pwf855dfef" },
	};
	for (size_t i = 0; i < N(cases); i++) {
		char name[LOAD_USER_LEN + 1] = { 0 }, pw[LOAD_PASSWORD_LEN + 1] = { 0 };
		load_user_name(name, cases[i].n);
		load_user_password(pw, cases[i].n);
		cr_expect_str_eq(name, cases[i].name);
		cr_expect_str_eq(pw, cases[i].password);
	}
}

/* The challenges of a 401 (or 407): every one, wherever the top Via is. */
Test(load_sip, challenges)
{
	static const struct {
		const char *in;
		int status;
		unsigned n;
		const char *first, *second;
		bool has_id;
	} cases[] = {
		{ "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP "
		  "h;branch=z9hG4bK-00-000005-00000001\r\n"
		  "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=\"auth\"\r\n\r\n",
		  401, 1, "Digest realm=\"r\", nonce=\"n\", qop=\"auth\"", NULL, true },
		/* before the Via, two of them, odd case, space before the colon */
		{ "SIP/2.0 401 Unauthorized\r\nwww-authenticate :  Digest a=1\r\n"
		  "WWW-Authenticate: Digest b=2\r\nv: SIP/2.0/UDP "
		  "h;branch=z9hG4bK-00-000005-00000001\r\n"
		  "\r\n",
		  401, 2, "Digest a=1", "Digest b=2", true },
		{ "SIP/2.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Digest p=1\r\n"
		  "WWW-Authenticate: Digest w=1\r\n\r\n",
		  407, 1, "Digest p=1", NULL, false },
		/* a 200 has none, and a body is not headers */
		{ "SIP/2.0 200 OK\r\nWWW-Authenticate: Digest a=1\r\n\r\n", 200, 0, NULL, NULL,
		  false },
		{ "SIP/2.0 401 Unauthorized\r\n\r\nWWW-Authenticate: Digest a=1\r\n", 401, 0, NULL,
		  NULL, false },
		/* the last line without CRLF */
		{ "SIP/2.0 401 Unauthorized\r\nWWW-Authenticate: Digest z=9", 401, 1, "Digest z=9",
		  NULL, false },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct load_answer a;
		cr_assert_eq(scan(cases[i].in, &a), 0, "case %zu", i);
		cr_expect_eq(a.status, cases[i].status, "case %zu", i);
		cr_expect_eq(a.has_id, cases[i].has_id, "case %zu", i);
		cr_expect_eq(a.nchallenge, cases[i].n, "case %zu: %u", i, a.nchallenge);
		const char *want[2] = { cases[i].first, cases[i].second };
		for (unsigned k = 0; k < a.nchallenge && k < 2; k++)
			cr_expect(want[k] && a.challenge[k].len == strlen(want[k]) &&
					  memcmp(a.challenge[k].p, want[k], a.challenge[k].len) ==
						  0,
				  "case %zu challenge %u: '%.*s'", i, k, (int)a.challenge[k].len,
				  a.challenge[k].p);
	}
	/* more than LOAD_CHALLENGES_MAX: the first ones */
	char many[1024] = "SIP/2.0 401 Unauthorized\r\n";
	for (unsigned k = 0; k < LOAD_CHALLENGES_MAX + 2; k++)
		strcat(many, "WWW-Authenticate: Digest x=1\r\n");
	strcat(many, "\r\n");
	struct load_answer a;
	cr_assert_eq(scan(many, &a), 0);
	cr_expect_eq(a.nchallenge, LOAD_CHALLENGES_MAX);
}

Test(load_sip, template_too_big)
{
	static char big[LOAD_MSG_MAX + 10];
	memset(big, 'x', sizeof(big));
	struct load_tmpl t;
	cr_expect_eq(load_tmpl_compile(&t, big, sizeof(big)), -E2BIG);
	/* fits, but not with its holes filled */
	memset(big, 'x', LOAD_MSG_MAX - 5);
	big[0] = LOAD_MARK_ID[0];
	cr_expect_eq(load_tmpl_compile(&t, big, LOAD_MSG_MAX - 5), -E2BIG);
}

Test(load_hist, buckets)
{
	static const uint64_t vs[] = { 0,	  1,   127,  128,	129,
				       255,	  256, 1000, 123456789, (uint64_t)1 << 40,
				       UINT64_MAX };
	for (size_t i = 0; i < N(vs); i++) {
		unsigned idx = load_hist_index(vs[i]);
		cr_expect(idx < LOAD_HIST_BUCKETS, "%llu", (unsigned long long)vs[i]);
		cr_expect(load_hist_lowest(idx) <= vs[i] && vs[i] <= load_hist_highest(idx),
			  "%llu in [%llu, %llu]", (unsigned long long)vs[i],
			  (unsigned long long)load_hist_lowest(idx),
			  (unsigned long long)load_hist_highest(idx));
		/* a bucket is at most 1/64 of its values */
		uint64_t w = load_hist_highest(idx) - load_hist_lowest(idx);
		cr_expect(w <= load_hist_lowest(idx) / 64, "width %llu", (unsigned long long)w);
	}
	/* consecutive buckets tile the values */
	for (unsigned i = 1; i < LOAD_HIST_BUCKETS; i++)
		cr_expect_eq(load_hist_lowest(i), load_hist_highest(i - 1) + 1, "bucket %u", i);
}

Test(load_hist, percentiles_and_merge)
{
	static struct load_hist a, b;
	load_hist_init(&a);
	load_hist_init(&b);
	cr_expect_eq(load_hist_percentile(&a, 50), 0);
	for (uint64_t v = 1; v <= 1000; v++)
		load_hist_add(v <= 500 ? &a : &b, v * 1000);
	load_hist_merge(&a, &b);
	cr_expect_eq(a.count, 1000);
	cr_expect_eq(a.min, 1000);
	cr_expect_eq(a.max, 1000000);
	uint64_t p50 = load_hist_percentile(&a, 50), p99 = load_hist_percentile(&a, 99);
	cr_expect(p50 >= 500000 && p50 <= 500000 + 500000 / 64, "p50 %llu",
		  (unsigned long long)p50);
	cr_expect(p99 >= 990000 && p99 <= 990000 + 990000 / 64, "p99 %llu",
		  (unsigned long long)p99);
	cr_expect_eq(load_hist_percentile(&a, 100), 1000000);
}
