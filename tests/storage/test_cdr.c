/* SPDX-License-Identifier: MIT */
/* Tests of storage/cdr.h: encoding, ids, days, counting rules, stream fields. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "storage/cdr.h"
#include "tests/guard.h"
#include "tests/storage/cdr_gen.h"

static bool sveq(struct sv v, const char *s)
{
	return v.len == strlen(s) && (v.len == 0 || memcmp(v.p, s, v.len) == 0);
}

static void assert_same(const struct cdr *a, const struct cdr *b, const char *what)
{
	cr_assert_eq(a->id.node, b->id.node, "%s", what);
	cr_assert_eq(a->id.boot, b->id.boot, "%s", what);
	cr_assert_eq(a->id.seq, b->id.seq, "%s", what);
	cr_assert_eq(a->setup_ms, b->setup_ms, "%s", what);
	cr_assert_eq(a->ringing_ms, b->ringing_ms, "%s", what);
	cr_assert_eq(a->answer_ms, b->answer_ms, "%s", what);
	cr_assert_eq(a->end_ms, b->end_ms, "%s", what);
	cr_assert_eq(a->cust_billed_s, b->cust_billed_s, "%s", what);
	cr_assert_eq(a->vend_billed_s, b->vend_billed_s, "%s", what);
	cr_assert_eq(a->revenue, b->revenue, "%s", what);
	cr_assert_eq(a->cost, b->cost, "%s", what);
	cr_assert_eq(a->sip_code, b->sip_code, "%s", what);
	cr_assert_eq(a->q850, b->q850, "%s", what);
	cr_assert_eq(a->side, b->side, "%s", what);
	cr_assert_eq(a->attempt, b->attempt, "%s", what);
	cr_assert_eq(a->flags, b->flags, "%s", what);
	cr_assert(sv_eq(a->call_id, b->call_id), "%s", what);
	cr_assert(sv_eq(a->customer, b->customer), "%s", what);
	cr_assert(sv_eq(a->vendor, b->vendor), "%s", what);
	cr_assert(sv_eq(a->gateway, b->gateway), "%s", what);
	cr_assert(sv_eq(a->dialled, b->dialled), "%s", what);
	cr_assert(sv_eq(a->routed, b->routed), "%s", what);
	cr_assert(sv_eq(a->cust_prefix, b->cust_prefix), "%s", what);
	cr_assert(sv_eq(a->vend_prefix, b->vend_prefix), "%s", what);
}

static char longs[8][CDR_MAX_CALL_ID + 2];

static const char *rep(char c, size_t n, int slot)
{
	memset(longs[slot], c, n);
	longs[slot][n] = '\0';
	return longs[slot];
}

Test(cdr, round_trip)
{
	struct cdr t[4];

	memset(t, 0, sizeof(t));
	/* 0: everything zero and empty */
	/* 1: a typical answered call */
	t[1] = (struct cdr){ .id = { 7, 1718101234567890ull, 42 },
			     .setup_ms = 1718101234567,
			     .ringing_ms = 1718101235067,
			     .answer_ms = 1718101239000,
			     .end_ms = 1718101300000,
			     .cust_billed_s = 120,
			     .vend_billed_s = 61,
			     .revenue = 24000,
			     .cost = 12200,
			     .sip_code = 200,
			     .q850 = 16,
			     .side = CDR_SIDE_CALLER,
			     .attempt = 2,
			     .flags = 0,
			     .call_id = SV_LIT("a84b4c76e66710@pc33.example.com"),
			     .customer = SV_LIT("acme"),
			     .vendor = SV_LIT("tier1"),
			     .gateway = SV_LIT("tier1-fra"),
			     .dialled = SV_LIT("00447911123456"),
			     .routed = SV_LIT("+447911123456"),
			     .cust_prefix = SV_LIT("447911"),
			     .vend_prefix = SV_LIT("4479") };
	/* 2: extremes: negative money, max numbers, every string at its maximum */
	t[2] = t[1];
	t[2].id = (struct cdr_id){ UINT16_MAX, UINT64_MAX, UINT64_MAX };
	t[2].revenue = INT64_MIN;
	t[2].cost = INT64_MAX;
	t[2].cust_billed_s = UINT32_MAX;
	t[2].flags = UINT32_MAX;
	t[2].setup_ms = -1;
	t[2].call_id = sv_cstr(rep('c', CDR_MAX_CALL_ID, 0));
	t[2].customer = sv_cstr(rep('u', CDR_MAX_NAME, 1));
	t[2].vendor = sv_cstr(rep('v', CDR_MAX_NAME, 2));
	t[2].gateway = sv_cstr(rep('g', CDR_MAX_NAME, 3));
	t[2].dialled = sv_cstr(rep('1', CDR_MAX_NUMBER, 4));
	t[2].routed = sv_cstr(rep('2', CDR_MAX_NUMBER, 5));
	t[2].cust_prefix = sv_cstr(rep('3', CDR_MAX_PREFIX, 6));
	t[2].vend_prefix = sv_cstr(rep('4', CDR_MAX_PREFIX, 7));
	/* 3: a generated one */
	struct cdr_gen g;
	cdr_gen_init(&g, 3);
	cdr_gen_next(&g, &t[3]);

	for (size_t i = 0; i < 4; i++) {
		uint8_t buf[CDR_ENC_MAX];
		struct cdr d;
		char what[16];
		int n = cdr_encode(&t[i], buf, sizeof(buf));

		snprintf(what, sizeof(what), "case %zu", i);
		cr_assert_gt(n, 0, "%s: %d", what, n);
		cr_assert_leq(n, CDR_ENC_MAX);
		if (i == 2)
			cr_assert_eq(n, CDR_ENC_MAX, "all strings full is the maximum");
		const void *gd = guard_place(buf, (size_t)n);
		cr_assert_eq(cdr_decode(gd, (size_t)n, &d), 0, "%s", what);
		assert_same(&t[i], &d, what);
		struct cdr_id id = cdr_get_id(gd);
		cr_assert_eq(id.seq, t[i].id.seq);
		cr_assert_eq(id.boot, t[i].id.boot);
		cr_assert_eq(id.node, t[i].id.node);
	}
}

Test(cdr, encode_limits)
{
	static const struct {
		size_t off;
		size_t max;
	} t[] = {
		{ offsetof(struct cdr, call_id), CDR_MAX_CALL_ID },
		{ offsetof(struct cdr, customer), CDR_MAX_NAME },
		{ offsetof(struct cdr, vendor), CDR_MAX_NAME },
		{ offsetof(struct cdr, gateway), CDR_MAX_NAME },
		{ offsetof(struct cdr, dialled), CDR_MAX_NUMBER },
		{ offsetof(struct cdr, routed), CDR_MAX_NUMBER },
		{ offsetof(struct cdr, cust_prefix), CDR_MAX_PREFIX },
		{ offsetof(struct cdr, vend_prefix), CDR_MAX_PREFIX },
	};
	uint8_t buf[CDR_ENC_MAX];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cdr c = { 0 };
		struct sv *s = (struct sv *)((char *)&c + t[i].off);

		*s = sv_cstr(rep('x', t[i].max, 0));
		cr_expect_gt(cdr_encode(&c, buf, sizeof(buf)), 0, "field %zu at its maximum", i);
		*s = sv_cstr(rep('x', t[i].max + 1, 0));
		cr_expect_eq(cdr_encode(&c, buf, sizeof(buf)), -EMSGSIZE, "field %zu over", i);
	}
	struct cdr c = { .customer = SV_LIT("acme") };
	int n = cdr_encode(&c, buf, sizeof(buf));
	cr_assert_eq(n, CDR_ENC_FIXED + 8 + 4);
	cr_expect_eq(cdr_encode(&c, buf, (size_t)n - 1), -ENOBUFS);
	cr_expect_eq(cdr_encode(&c, buf, (size_t)n), n);
}

Test(cdr, decode_malformed)
{
	struct cdr_gen g;
	struct cdr c, d;
	uint8_t buf[CDR_ENC_MAX + 1];
	int n;

	cdr_gen_init(&g, 11);
	cdr_gen_next(&g, &c);
	n = cdr_encode(&c, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	/* Every truncation is refused, and none reads past its end (guard page). */
	for (int len = 0; len < n; len++)
		cr_assert_eq(cdr_decode(guard_place(buf, (size_t)len), (size_t)len, &d), -EBADMSG,
			     "length %d", len);
	/* An octet too many. */
	buf[n] = 0;
	cr_assert_eq(cdr_decode(guard_place(buf, (size_t)n + 1), (size_t)n + 1, &d), -EBADMSG);

	static const struct {
		size_t off;
		uint8_t val;
		const char *what;
	} t[] = {
		{ 0, 0, "version 0" },
		{ 0, 2, "version 2" },
		{ 21, 0x20, "reserved octets not 0" },
		{ CDR_ENC_FIXED, CDR_MAX_CALL_ID + 1, "call_id longer than its maximum" },
		{ CDR_ENC_FIXED, 255, "a string running past the end" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint8_t b[CDR_ENC_MAX];
		memcpy(b, buf, (size_t)n);
		b[t[i].off] = t[i].val;
		cr_expect_eq(cdr_decode(guard_place(b, (size_t)n), (size_t)n, &d), -EBADMSG, "%s",
			     t[i].what);
	}
}

Test(cdr, ids)
{
	static const struct {
		struct cdr_id id;
		const char *text;
	} t[] = {
		{ { 0, 0, 0 }, "0-0-0" },
		{ { 7, 1718101234567890ull, 42 }, "7-1718101234567890-42" },
		{ { 65535, UINT64_MAX, UINT64_MAX },
		  "65535-18446744073709551615-18446744073709551615" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char buf[CDR_ID_MAX];
		struct cdr_id id;
		size_t n = cdr_id_format(t[i].id, buf, sizeof(buf));

		cr_expect_eq(n, strlen(t[i].text));
		cr_expect_str_eq(buf, t[i].text);
		cr_assert_eq(cdr_id_parse(sv_cstr(t[i].text), &id), 0, "%s", t[i].text);
		cr_expect(id.node == t[i].id.node && id.boot == t[i].id.boot &&
			  id.seq == t[i].id.seq);
	}
	static const char *const bad[] = {
		"",	  "1",	       "1-2",	  "1-2-",  "-1-2",
		"1--2-3", "65536-1-1", "1-2-3-4", "1-2-x", "1-18446744073709551616-1",
		" 1-2-3",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cdr_id id;
		cr_expect_eq(cdr_id_parse(sv_cstr(bad[i]), &id), -EINVAL, "'%s'", bad[i]);
	}
	/* Distinct ids have distinct texts: a table of near neighbours. */
	static const struct cdr_id near[] = {
		{ 1, 12, 3 },  { 11, 2, 3 },  { 1, 1, 23 },
		{ 1, 12, 30 }, { 11, 23, 0 }, { 1, 123, 0 },
	};
	for (size_t i = 0; i < sizeof(near) / sizeof(near[0]); i++) {
		for (size_t j = i + 1; j < sizeof(near) / sizeof(near[0]); j++) {
			char a[CDR_ID_MAX], b[CDR_ID_MAX];
			cdr_id_format(near[i], a, sizeof(a));
			cdr_id_format(near[j], b, sizeof(b));
			cr_expect_str_neq(a, b);
		}
	}
	/* set_id writes into an encoded record in place. */
	uint8_t buf[CDR_ENC_MAX];
	struct cdr c = { .customer = SV_LIT("x") }, d;
	int n = cdr_encode(&c, buf, sizeof(buf));
	cdr_set_id(buf, (struct cdr_id){ 9, 99, 999 });
	cr_assert_eq(cdr_decode(buf, (size_t)n, &d), 0);
	cr_expect(d.id.node == 9 && d.id.boot == 99 && d.id.seq == 999);
	cr_expect(sveq(d.customer, "x"));
}

Test(cdr, days)
{
	static const struct {
		int64_t ms;
		int32_t day;
		const char *text;
	} t[] = {
		{ 0, 0, "1970-01-01" },
		{ 86399999, 0, "1970-01-01" },
		{ 86400000, 1, "1970-01-02" },
		{ -1, -1, "1969-12-31" },
		{ 951782400000, 11016, "2000-02-29" },
		{ 1718064000000, 19885, "2024-06-11" },
		{ 4107542400000, 47541, "2100-03-01" },
		{ 1709164800000, 19782, "2024-02-29" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char buf[11];
		int32_t d;

		cr_expect_eq(cdr_day(t[i].ms), t[i].day, "%lld: %d", (long long)t[i].ms,
			     cdr_day(t[i].ms));
		cr_expect_eq(cdr_day_format(t[i].day, buf), 10);
		cr_expect_str_eq(buf, t[i].text);
		if (t[i].day >= 0) {
			cr_expect_eq(cdr_day_parse(sv_cstr(buf), &d), 0, "%s", buf);
			cr_expect_eq(d, t[i].day, "%s", buf);
		}
	}
	static const char *const bad[] = {
		"",	      "2024-6-10",   "2024-06-1",  "2024/06/10", "2024-13-01",
		"2024-00-10", "2024-06-00",  "2024-06-31", "2023-02-29", "2100-02-29",
		"1969-12-31", "2024-06-10 ", "20240610",   "x024-06-10",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int32_t d;
		cr_expect_eq(cdr_day_parse(sv_cstr(bad[i]), &d), -EINVAL, "'%s'", bad[i]);
	}
	/* Every day from 1970 to 2200: format and parse are inverse. */
	for (int32_t day = 0; day < 84000; day++) {
		char buf[11];
		int32_t back;

		cdr_day_format(day, buf);
		if (cdr_day_parse(sv_cstr(buf), &back) != 0 || back != day)
			cr_assert_fail("day %d: %s", day, buf);
	}
}

Test(cdr, durations)
{
	static const struct {
		int64_t setup, ringing, answer, end;
		int64_t duration, pdd;
	} t[] = {
		{ 1000, 1500, 3000, 63000, 60000, 500 },
		{ 1000, 0, 3000, 4000, 1000, 2000 }, /* no ringing: PDD to answer */
		{ 1000, 2000, 0, 9000, 0, 1000 },    /* not answered */
		{ 1000, 0, 0, 9000, 0, 0 },
		{ 1000, 500, 3000, 2000, 0, 0 }, /* clocks disagree: no negative time */
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cdr c = { .setup_ms = t[i].setup,
				 .ringing_ms = t[i].ringing,
				 .answer_ms = t[i].answer,
				 .end_ms = t[i].end };
		cr_expect_eq(cdr_duration_ms(&c), t[i].duration, "case %zu", i);
		cr_expect_eq(cdr_pdd_ms(&c), t[i].pdd, "case %zu", i);
	}
}

Test(cdr, count_rules)
{
	static const struct {
		const char *what;
		uint32_t flags;
		bool vendor, answered;
		int64_t fee; /* cost of a failed attempt */
		/* calls expected for customer, vendor, gateway, dest; -1 = not counted */
		int calls[CDR_NDIM];
	} t[] = {
		{ "answered", 0, true, true, 0, { 1, 1, 1, 1 } },
		{ "failed", 0, true, false, 0, { 1, 1, 1, 1 } },
		{ "failed with a setup fee", 0, true, false, 7, { 1, 1, 1, 1 } },
		{ "rerouted with a setup fee", CDR_F_REROUTED, true, false, 7, { 0, 1, 1, 0 } },
		/* free of charge: nothing for the customer's side, the attempt for the vendor's */
		{ "rerouted", CDR_F_REROUTED, true, false, 0, { -1, 1, 1, -1 } },
		{ "no route", 0, false, false, 0, { 1, -1, -1, 1 } },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cdr c = { .setup_ms = 1000,
				 .answer_ms = t[i].answered ? 2000 : 0,
				 .end_ms = 62000,
				 .cust_billed_s = t[i].answered ? 60 : 0,
				 .vend_billed_s = t[i].answered ? 60 : 0,
				 .revenue = t[i].answered ? 1200 : 0,
				 .cost = t[i].answered ? 1000 : t[i].fee,
				 .flags = t[i].flags,
				 .customer = SV_LIT("acme"),
				 .cust_prefix = SV_LIT("44") };
		if (t[i].vendor) {
			c.vendor = SV_LIT("v1");
			c.gateway = SV_LIT("g1");
			c.vend_billed_s = t[i].answered ? 61 : 0;
		}
		for (unsigned d = 0; d < CDR_NDIM; d++) {
			struct cdr_counts k;
			struct sv key;
			bool counted = cdr_count(&c, (enum cdr_dim)d, &key, &k);

			cr_expect_eq(counted, t[i].calls[d] >= 0, "%s dim %u", t[i].what, d);
			if (!counted)
				continue;
			bool cust = d == CDR_DIM_CUSTOMER || d == CDR_DIM_DEST;
			cr_expect(sveq(key, d == CDR_DIM_CUSTOMER  ? "acme"
					    : d == CDR_DIM_VENDOR  ? "v1"
					    : d == CDR_DIM_GATEWAY ? "g1"
								   : "44"));
			cr_expect_eq(k.calls, t[i].calls[d], "%s dim %u", t[i].what, d);
			cr_expect_eq(k.answered, t[i].answered);
			cr_expect_eq(k.seconds, cust ? c.cust_billed_s : c.vend_billed_s);
			cr_expect_eq(k.duration_ms, t[i].answered ? 60000 : 0);
			cr_expect_eq(k.revenue, c.revenue);
			cr_expect_eq(k.cost, c.cost);
			cr_expect_eq(k.profit, c.revenue - c.cost);
		}
	}
	static const struct {
		const char *name;
		int ret;
		enum cdr_dim dim;
	} names[] = {
		{ "customer", 0, CDR_DIM_CUSTOMER },
		{ "vendor", 0, CDR_DIM_VENDOR },
		{ "gateway", 0, CDR_DIM_GATEWAY },
		{ "dest", 0, CDR_DIM_DEST },
		{ "destination", 0, CDR_DIM_DEST },
		{ "Customer", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		enum cdr_dim d = CDR_NDIM;
		cr_expect_eq(cdr_dim_parse(sv_cstr(names[i].name), &d), names[i].ret, "%s",
			     names[i].name);
		if (names[i].ret == 0)
			cr_expect_eq(d, names[i].dim);
	}
}

Test(cdr, stream_fields)
{
	struct cdr c = { .id = { 3, 1000, 5 },
			 .setup_ms = 1718101234567,
			 .ringing_ms = 1718101235067,
			 .answer_ms = 1718101239000,
			 .end_ms = 1718101300000,
			 .cust_billed_s = 120,
			 .vend_billed_s = 61,
			 .revenue = 24000,
			 .cost = 32200,
			 .sip_code = 200,
			 .q850 = 16,
			 .side = CDR_SIDE_CALLEE,
			 .attempt = 1,
			 .flags = CDR_F_REROUTED,
			 .call_id = SV_LIT("cid"),
			 .customer = SV_LIT("acme") };
	static const char *const want[CDR_NFIELDS] = {
		[CDR_FLD_ID] = "3-1000-5",
		[CDR_FLD_CALL_ID] = "cid",
		[CDR_FLD_CUSTOMER] = "acme",
		[CDR_FLD_VENDOR] = "",
		[CDR_FLD_GATEWAY] = "",
		[CDR_FLD_DIALLED] = "",
		[CDR_FLD_ROUTED] = "",
		[CDR_FLD_CUST_PREFIX] = "",
		[CDR_FLD_VEND_PREFIX] = "",
		[CDR_FLD_SETUP] = "1718101234567",
		[CDR_FLD_RINGING] = "1718101235067",
		[CDR_FLD_ANSWER] = "1718101239000",
		[CDR_FLD_END] = "1718101300000",
		[CDR_FLD_DURATION] = "61000",
		[CDR_FLD_PDD] = "500",
		[CDR_FLD_BILLED] = "120",
		[CDR_FLD_VEND_BILLED] = "61",
		[CDR_FLD_REVENUE] = "24000",
		[CDR_FLD_COST] = "32200",
		[CDR_FLD_PROFIT] = "-8200",
		[CDR_FLD_SIP_CODE] = "200",
		[CDR_FLD_Q850] = "16",
		[CDR_FLD_SIDE] = "callee",
		[CDR_FLD_ATTEMPT] = "1",
		[CDR_FLD_FLAGS] = "1",
	};
	char scratch[CDR_FIELDS_SCRATCH];
	struct sv v[CDR_NFIELDS];

	cr_assert_eq(cdr_fields(&c, scratch, sizeof(scratch), v), 0);
	for (unsigned i = 0; i < CDR_NFIELDS; i++) {
		cr_assert_not_null(cdr_field_names[i], "field %u has a name", i);
		cr_expect(sveq(v[i], want[i]), "%s: '%.*s' != '%s'", cdr_field_names[i],
			  (int)v[i].len, v[i].p, want[i]);
	}
	cr_expect_eq(cdr_fields(&c, scratch, CDR_FIELDS_SCRATCH - 1, v), -ENOBUFS);
	/* The longest numbers still fit the scratch. */
	struct cdr m = { .id = { UINT16_MAX, UINT64_MAX, UINT64_MAX },
			 .setup_ms = INT64_MIN,
			 .ringing_ms = INT64_MIN,
			 .answer_ms = INT64_MIN,
			 .end_ms = INT64_MIN,
			 .revenue = INT64_MIN,
			 .cost = INT64_MIN,
			 .cust_billed_s = UINT32_MAX,
			 .vend_billed_s = UINT32_MAX,
			 .flags = UINT32_MAX,
			 .sip_code = UINT16_MAX,
			 .q850 = UINT8_MAX,
			 .attempt = UINT8_MAX };
	cr_assert_eq(cdr_fields(&m, scratch, sizeof(scratch), v), 0);
	cr_expect(sveq(v[CDR_FLD_REVENUE], "-9223372036854775808"));
	cr_expect(sveq(v[CDR_FLD_PROFIT], "0"));
}

/* The reference: cdr_fields() joined by ',' with RFC 4180 quoting, the slow way. */
static size_t csv_ref(const struct cdr *c, char *out)
{
	char scratch[CDR_FIELDS_SCRATCH];
	struct sv v[CDR_NFIELDS];
	size_t n = 0;

	cdr_fields(c, scratch, sizeof(scratch), v);
	for (unsigned i = 0; i < CDR_NFIELDS; i++) {
		bool q = v[i].len &&
			 (memchr(v[i].p, ',', v[i].len) || memchr(v[i].p, '"', v[i].len) ||
			  memchr(v[i].p, '\r', v[i].len) || memchr(v[i].p, '\n', v[i].len));
		if (i)
			out[n++] = ',';
		if (q)
			out[n++] = '"';
		for (size_t k = 0; k < v[i].len; k++) {
			if (v[i].p[k] == '"')
				out[n++] = '"';
			out[n++] = v[i].p[k];
		}
		if (q)
			out[n++] = '"';
	}
	return n;
}

Test(cdr, csv)
{
	static const struct {
		const char *customer, *want;
	} t[] = {
		{ "acme", "acme" },
		{ "a,b", "\"a,b\"" },
		{ "say \"hi\"", "\"say \"\"hi\"\"\"" },
		{ "x\r\ny", "\"x\r\ny\"" },
		{ "", "" },
	};
	char line[CDR_CSV_MAX], ref[CDR_CSV_MAX];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cdr c = { .id = { 1, 2, 3 }, .customer = sv_cstr(t[i].customer) };
		int n = cdr_csv(&c, line, sizeof(line));
		cr_assert_gt(n, 0);
		line[n] = '\0';
		char want[256];
		snprintf(want, sizeof(want), "1-2-3,,%s,,,,,,,0,0,0,0,0,0,0,0,0,0,0,0,0,,0,0",
			 t[i].want);
		cr_expect_str_eq(line, want, "case %zu", i);
	}
	/* Generated records, and one with every string full of quotes: as the reference. */
	struct cdr_gen g;
	cdr_gen_init(&g, 99);
	for (int i = 0; i < 2000; i++) {
		struct cdr c;
		cdr_gen_next(&g, &c);
		c.id = (struct cdr_id){ (uint16_t)i, 1718000000000000ull + (uint64_t)i,
					(uint64_t)i * 977 };
		c.revenue = -c.revenue;
		int n = cdr_csv(&c, line, sizeof(line));
		size_t r = csv_ref(&c, ref);
		cr_assert(n == (int)r && memcmp(line, ref, r) == 0, "record %d", i);
	}
	struct cdr worst = {
		.id = { UINT16_MAX, UINT64_MAX, UINT64_MAX },
		.setup_ms = INT64_MIN,
		.ringing_ms = INT64_MIN,
		.answer_ms = INT64_MIN,
		.end_ms = INT64_MIN,
		.revenue = INT64_MIN,
		.cost = INT64_MIN,
		.cust_billed_s = UINT32_MAX,
		.vend_billed_s = UINT32_MAX,
		.flags = UINT32_MAX,
		.sip_code = UINT16_MAX,
		.q850 = UINT8_MAX,
		.attempt = UINT8_MAX,
		.side = CDR_SIDE_CALLER,
		.call_id = sv_cstr(rep('"', CDR_MAX_CALL_ID, 0)),
		.customer = sv_cstr(rep('"', CDR_MAX_NAME, 1)),
		.vendor = sv_cstr(rep('"', CDR_MAX_NAME, 2)),
		.gateway = sv_cstr(rep('"', CDR_MAX_NAME, 3)),
		.dialled = sv_cstr(rep('"', CDR_MAX_NUMBER, 4)),
		.routed = sv_cstr(rep('"', CDR_MAX_NUMBER, 5)),
		.cust_prefix = sv_cstr(rep('"', CDR_MAX_PREFIX, 6)),
		.vend_prefix = sv_cstr(rep('"', CDR_MAX_PREFIX, 7)),
	};
	int n = cdr_csv(&worst, line, sizeof(line));
	size_t r = csv_ref(&worst, ref);
	cr_assert(n == (int)r && memcmp(line, ref, r) == 0);
	cr_expect_leq(n, CDR_CSV_MAX);
	cr_expect_eq(cdr_csv(&worst, line, CDR_CSV_MAX - 1), -ENOBUFS);
}
