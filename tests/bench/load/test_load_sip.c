/* SPDX-License-Identifier: MIT */
/*
 * Tests of bench/load/load_sip.h (templates, the answer scan, the options
 * scenario) and bench/load/load_hist.h (buckets, percentiles). Scanned inputs
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
	struct load_id id = { 2, 0x1234, 9 };
	size_t n = load_tmpl_fill(&t, out, &id, 1);
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
	size_t n2 = load_tmpl_fill(&t, out, &id, 1234567890);
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
