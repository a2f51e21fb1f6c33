/* SPDX-License-Identifier: MIT */
/* Tests of core/money.h: exact parsing, rounding modes, muldiv, ratios, display. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/money.h"
#include "tests/guard.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(money, parse_table)
{
	static const struct {
		const char *in;
		int ret;
		int64_t micro;
	} t[] = {
		{ "0", 0, 0 },
		{ "12", 0, 12000000 },
		{ "0.0123", 0, 12300 },
		{ ".5", 0, 500000 },
		{ "5.", 0, 5000000 },
		{ "-0.25", 0, -250000 },
		{ "+1.000001", 0, 1000001 },
		{ "0.000001", 0, 1 },
		{ "0.1000000", 0, 100000 }, /* trailing zeros past the 6th decimal */
		{ "00012.50", 0, 12500000 },
		{ "9223372036854.775807", 0, INT64_MAX },
		{ "9223372036854.775808", -ERANGE, 0 },
		{ "99999999999999999999", -ERANGE, 0 },
		{ "0.0000001", -ERANGE, 0 }, /* not exact in micro-units */
		{ "0.1234567", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ "-", -EINVAL, 0 },
		{ ".", -EINVAL, 0 },
		{ "1e-3", -EINVAL, 0 },
		{ "1,5", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 },
		{ "1.2.3", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
		{ "$1", -EINVAL, 0 },
	};
	for (size_t i = 0; i < N(t); i++) {
		size_t n = strlen(t[i].in);
		/* Against a guard page: no read past the view. */
		const char *g = guard_place(t[i].in, n);
		int64_t v = -42;
		int ret = money_parse(sv_make(g, n), &v);

		cr_assert_eq(ret, t[i].ret, "'%s': ret %d", t[i].in, ret);
		if (ret == 0)
			cr_assert_eq(v, t[i].micro, "'%s': %lld", t[i].in, (long long)v);
	}
}

Test(money, percent_table)
{
	static const struct {
		const char *in;
		int ret;
		int64_t ppm;
	} t[] = {
		{ "20", 0, 200000 },	   { "12.5", 0, 125000 }, { "12.3456%", 0, 123456 },
		{ "12.5 %", 0, 125000 },   { "-3", 0, -30000 },	  { "100", 0, 1000000 },
		{ "0.00001", -ERANGE, 0 }, { "x", -EINVAL, 0 },	  { "%", -EINVAL, 0 },
	};
	for (size_t i = 0; i < N(t); i++) {
		int64_t v = 0;
		int ret = money_parse_percent(sv_cstr(t[i].in), &v);

		cr_assert_eq(ret, t[i].ret, "'%s'", t[i].in);
		if (ret == 0)
			cr_assert_eq(v, t[i].ppm, "'%s': %lld", t[i].in, (long long)v);
	}
}

Test(money, round_table)
{
	static const struct {
		int64_t v;
		unsigned dec;
		enum money_round m;
		int64_t out;
	} t[] = {
		{ 12301, 4, MONEY_ROUND_UP, 12400 },
		{ 12300, 4, MONEY_ROUND_UP, 12300 },
		{ 12349, 4, MONEY_ROUND_HALF_UP, 12300 },
		{ 12350, 4, MONEY_ROUND_HALF_UP, 12400 },
		{ 12399, 4, MONEY_ROUND_DOWN, 12300 },
		{ -12301, 4, MONEY_ROUND_UP, -12400 }, /* away from zero */
		{ -12350, 4, MONEY_ROUND_HALF_UP, -12400 },
		{ -12399, 4, MONEY_ROUND_DOWN, -12300 },
		{ 1, 0, MONEY_ROUND_UP, 1000000 },
		{ 499999, 0, MONEY_ROUND_HALF_UP, 0 },
		{ 500000, 0, MONEY_ROUND_HALF_UP, 1000000 },
		{ 7, 6, MONEY_ROUND_UP, 7 },
		{ 7, 9, MONEY_ROUND_UP, 7 },
		{ 15, 5, MONEY_ROUND_HALF_UP, 20 },
	};
	for (size_t i = 0; i < N(t); i++)
		cr_assert_eq(money_round(t[i].v, t[i].dec, t[i].m), t[i].out, "row %zu", i);
}

Test(money, muldiv_and_ratio)
{
	int64_t v;

	/* 0.0123 per minute for 7 s: 12300 * 7 / 60 = 1435 exactly. */
	cr_assert_eq(money_muldiv(12300, 7, 60, MONEY_ROUND_UP, &v), 0);
	cr_assert_eq(v, 1435);
	/* 0.01 per minute for 1 s: 166.67 micro-units. */
	cr_assert_eq(money_muldiv(10000, 1, 60, MONEY_ROUND_UP, &v), 0);
	cr_assert_eq(v, 167);
	cr_assert_eq(money_muldiv(10000, 1, 60, MONEY_ROUND_DOWN, &v), 0);
	cr_assert_eq(v, 166);
	cr_assert_eq(money_muldiv(10000, 1, 60, MONEY_ROUND_HALF_UP, &v), 0);
	cr_assert_eq(v, 167);
	cr_assert_eq(money_muldiv(-10000, 1, 60, MONEY_ROUND_UP, &v), 0);
	cr_assert_eq(v, -167);
	/* Through 128 bits: INT64_MAX * 2 / 4. */
	cr_assert_eq(money_muldiv(INT64_MAX, 2, 4, MONEY_ROUND_DOWN, &v), 0);
	cr_assert_eq(v, INT64_MAX / 2);
	cr_assert_eq(money_muldiv(INT64_MAX, 2, 1, MONEY_ROUND_DOWN, &v), -ERANGE);
	cr_assert_eq(money_muldiv(1, 1, 0, MONEY_ROUND_DOWN, &v), -EDOM);

	cr_assert_eq(money_ratio_ppm(1, 3, &v), 0);
	cr_assert_eq(v, 333333);
	cr_assert_eq(money_ratio_ppm(2, 3, &v), 0);
	cr_assert_eq(v, 666667);
	cr_assert_eq(money_ratio_ppm(-1, 8, &v), 0);
	cr_assert_eq(v, -125000);
	cr_assert_eq(money_ratio_ppm(5, 0, &v), -EDOM);
}

Test(money, format_table)
{
	static const struct {
		int64_t v;
		unsigned dec;
		const char *out;
	} t[] = {
		{ 12300, 4, "0.0123" },	    { 12345, 4, "0.0123" },
		{ 12350, 4, "0.0124" },	    { -12350, 4, "-0.0124" },
		{ 12300, 0, "0" },	    { 1500000, 0, "2" },
		{ 1, 6, "0.000001" },	    { -1, 4, "0.0000" },
		{ 123456789, 2, "123.46" }, { INT64_MAX, 6, "9223372036854.775807" },
		{ 0, 3, "0.000" },	    { 2000000, 1, "2.0" },
	};
	char buf[MONEY_FMT_MAX];

	for (size_t i = 0; i < N(t); i++) {
		int n = money_format(t[i].v, t[i].dec, buf, sizeof(buf));

		cr_assert_eq(n, (int)strlen(t[i].out), "row %zu: %d", i, n);
		cr_assert_str_eq(buf, t[i].out, "row %zu", i);
	}
	cr_assert_eq(money_format(1, 7, buf, sizeof(buf)), -EINVAL);
	cr_assert_eq(money_format(123456789, 4, buf, 5), -ENOSPC);
	cr_assert_eq(money_format_ppm(166667, 2, buf, sizeof(buf)), 5);
	cr_assert_str_eq(buf, "16.67");
	cr_assert_eq(money_format_ppm(-250000, 0, buf, sizeof(buf)), 3);
	cr_assert_str_eq(buf, "-25");
	cr_assert_eq(money_format_ppm(1, 5, buf, sizeof(buf)), -EINVAL);
}

/* Parse and format are inverse at 6 decimals over a sweep of values. */
Test(money, roundtrip)
{
	char buf[MONEY_FMT_MAX];

	for (int64_t v = -2000003; v <= 2000003; v += 7919) {
		int64_t back;
		int n = money_format(v, 6, buf, sizeof(buf));

		cr_assert_gt(n, 0);
		cr_assert_eq(money_parse(sv_make(buf, (size_t)n), &back), 0, "%s", buf);
		cr_assert_eq(back, v, "%s", buf);
	}
}
