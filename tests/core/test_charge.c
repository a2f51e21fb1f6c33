/* SPDX-License-Identifier: MIT */
/*
 * Tests of core/charge.h: billed seconds for the usual increments, charges with
 * connect fees and first-period rates, rounding policies, profit, margin versus
 * markup, and the rate deviation of a call.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "core/charge.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(charge, billed_seconds_table)
{
	static const struct {
		uint32_t first, incr;
		uint64_t d, billed;
	} t[] = {
		/* 60/60 */
		{ 60, 60, 0, 0 },
		{ 60, 60, 1, 60 },
		{ 60, 60, 60, 60 },
		{ 60, 60, 61, 120 },
		{ 60, 60, 120, 120 },
		{ 60, 60, 121, 180 },
		/* 6/6 */
		{ 6, 6, 1, 6 },
		{ 6, 6, 6, 6 },
		{ 6, 6, 7, 12 },
		{ 6, 6, 205, 210 },
		/* 1/1 */
		{ 1, 1, 1, 1 },
		{ 1, 1, 59, 59 },
		{ 1, 1, 3600, 3600 },
		/* 30/6 */
		{ 30, 6, 1, 30 },
		{ 30, 6, 30, 30 },
		{ 30, 6, 31, 36 },
		{ 30, 6, 36, 36 },
		{ 30, 6, 37, 42 },
		/* 60/1 and 1/60 */
		{ 60, 1, 61, 61 },
		{ 1, 60, 2, 61 },
		{ 1, 60, 61, 61 },
		{ 1, 60, 62, 121 },
		/* 0/6: no first period, increments from the first second */
		{ 0, 6, 1, 6 },
		{ 0, 6, 6, 6 },
		{ 0, 6, 13, 18 },
		/* an increment of 0 is treated as 1 */
		{ 0, 0, 13, 13 },
	};
	for (size_t i = 0; i < N(t); i++)
		cr_assert_eq(charge_billed_s(t[i].d, t[i].first, t[i].incr), t[i].billed,
			     "%u/%u d=%llu", t[i].first, t[i].incr, (unsigned long long)t[i].d);
}

Test(charge, ms_to_seconds)
{
	cr_assert_eq(charge_ms_to_s(0), 0);
	cr_assert_eq(charge_ms_to_s(1), 1);
	cr_assert_eq(charge_ms_to_s(1000), 1);
	cr_assert_eq(charge_ms_to_s(1001), 2);
	cr_assert_eq(charge_ms_to_s(59999), 60);
}

#define R(fr, r, cf, p, i) ((struct rate){ (fr), (r), (cf), (p), (i) })

Test(charge, amount_table)
{
	static const struct charge_policy four_up = { 4, MONEY_ROUND_UP };
	static const struct charge_policy four_half = { 4, MONEY_ROUND_HALF_UP };
	static const struct charge_policy two_down = { 2, MONEY_ROUND_DOWN };
	static const struct {
		struct rate r;
		uint64_t billed;
		const struct charge_policy *p;
		int64_t out;
	} t[] = {
		/* 0.0123/min for 60 s */
		{ R(12300, 12300, 0, 60, 60), 60, NULL, 12300 },
		/* for 120 s */
		{ R(12300, 12300, 0, 60, 60), 120, NULL, 24600 },
		/* 1/1 at 0.0123/min for 7 s: 1435 exactly */
		{ R(12300, 12300, 0, 1, 1), 7, NULL, 1435 },
		/* 0.01/min for 1 s = 166.67 micro: up to 167 */
		{ R(10000, 10000, 0, 1, 1), 1, NULL, 167 },
		/* the same rounded up at 4 decimals: 0.0002 */
		{ R(10000, 10000, 0, 1, 1), 1, &four_up, 200 },
		/* half up at 4 decimals: 0.000167 -> 0.0002 */
		{ R(10000, 10000, 0, 1, 1), 1, &four_half, 200 },
		/* 0.0004 per minute, 10 s: 66.67 micro; half up at 4 -> 0.0001 */
		{ R(400, 400, 0, 1, 1), 10, &four_half, 100 },
		/* truncate at 2 decimals: 0.0123*600/60 = 0.123 -> 0.12 */
		{ R(12300, 12300, 0, 1, 1), 600, &two_down, 120000 },
		/* connect fee alone (answered, 0 s) */
		{ R(12300, 12300, 50000, 60, 60), 0, NULL, 50000 },
		/* connect fee + 60 s */
		{ R(12300, 12300, 50000, 60, 60), 60, NULL, 62300 },
		/* first period at its own rate: 30 s at 0.06/min + 12 s at 0.03/min */
		{ R(60000, 30000, 0, 30, 6), 42, NULL, 36000 },
		/* first period only */
		{ R(60000, 30000, 0, 30, 6), 30, NULL, 30000 },
		/* one rounding for the whole call: 0.000001 fee + 1 s at 0.01/min = 167.67 -> 168 */
		{ R(10000, 10000, 1, 1, 1), 1, NULL, 168 },
	};
	for (size_t i = 0; i < N(t); i++) {
		int64_t v = -1;

		cr_assert_eq(charge_amount(&t[i].r, t[i].billed, t[i].p, &v), 0, "row %zu", i);
		cr_assert_eq(v, t[i].out, "row %zu: %lld", i, (long long)v);
	}
	{
		struct rate bad = R(-1, 0, 0, 1, 1);
		int64_t v;

		cr_assert_eq(charge_amount(&bad, 1, NULL, &v), -EINVAL);
	}
}

Test(charge, call_margin_markup_deviation)
{
	/* Customer 0.0150/min 60/60, vendor 0.0100/min 1/1; a 61.2 s call. */
	struct rate cust = R(15000, 15000, 0, 60, 60), vend = R(10000, 10000, 0, 1, 1);
	struct charge_in in = { &cust, &vend, 61200, true, NULL, NULL };
	struct charge_out o;

	cr_assert_eq(charge_call(&in, &o), 0);
	cr_assert_eq(o.duration_s, 62);
	cr_assert_eq(o.cust_billed_s, 120);
	cr_assert_eq(o.vend_billed_s, 62);
	cr_assert_eq(o.revenue, 30000);
	cr_assert_eq(o.cost, 10334); /* 10000 * 62 / 60 = 10333.33, up */
	cr_assert_eq(o.profit, 19666);
	cr_assert(o.flags & CHARGE_HAS_MARGIN);
	cr_assert(o.flags & CHARGE_HAS_MARKUP);
	cr_assert_eq(o.margin_ppm, 655533);  /* 19666 / 30000 */
	cr_assert_eq(o.markup_ppm, 1903039); /* 19666 / 10334 = 1.9030385 */
	cr_assert_eq(o.dev_per_min, 5000);
	cr_assert(o.flags & CHARGE_HAS_EFFECTIVE);
	/* Effective: 30000*60/120 = 15000/min; 10334*60/62 = 10000.65 -> 10001/min. */
	cr_assert_eq(o.dev_eff_per_min, 15000 - 10001);
	/* Per second in nano-units: 250000 - 166677.4 -> 166677 */
	cr_assert_eq(o.dev_eff_nps, 250000 - 166677);
}

Test(charge, margin_is_not_markup)
{
	/* Cost 1.00, price 1.25: 20% margin, 25% markup. */
	struct rate cust = R(1250000, 1250000, 0, 60, 60), vend = R(1000000, 1000000, 0, 60, 60);
	struct charge_in in = { &cust, &vend, 60000, true, NULL, NULL };
	struct charge_out o;

	cr_assert_eq(charge_call(&in, &o), 0);
	cr_assert_eq(o.profit, 250000);
	cr_assert_eq(o.margin_ppm, 200000);
	cr_assert_eq(o.markup_ppm, 250000);
}

Test(charge, unanswered_and_zero_length)
{
	struct rate cust = R(15000, 15000, 20000, 60, 60), vend = R(10000, 10000, 10000, 1, 1);
	struct charge_in in = { &cust, &vend, 45000, false, NULL, NULL };
	struct charge_out o;

	/* Unanswered: nothing billed, no connect fee, whatever the duration says. */
	cr_assert_eq(charge_call(&in, &o), 0);
	cr_assert_eq(o.duration_s, 0);
	cr_assert_eq(o.revenue, 0);
	cr_assert_eq(o.cost, 0);
	cr_assert_eq(o.flags & (CHARGE_HAS_MARGIN | CHARGE_HAS_MARKUP), 0);
	cr_assert_eq(o.dev_per_min, 5000);

	/* Answered and hung up within the same millisecond: connect fees only. */
	in.answered = true;
	in.duration_ms = 0;
	cr_assert_eq(charge_call(&in, &o), 0);
	cr_assert_eq(o.cust_billed_s, 0);
	cr_assert_eq(o.revenue, 20000);
	cr_assert_eq(o.cost, 10000);
	cr_assert_eq(o.profit, 10000);
	cr_assert_eq(o.flags & CHARGE_HAS_EFFECTIVE, 0);
}

Test(charge, one_side_and_policies)
{
	static const struct charge_policy four_up = { 4, MONEY_ROUND_UP };
	struct rate cust = R(10000, 10000, 0, 1, 1);
	struct charge_in in = { &cust, NULL, 1000, true, &four_up, NULL };
	struct charge_out o;

	cr_assert_eq(charge_call(&in, &o), 0);
	cr_assert_eq(o.revenue, 200);
	cr_assert_eq(o.cost, 0);
	cr_assert(o.flags & CHARGE_HAS_MARGIN);
	cr_assert_eq(o.margin_ppm, 1000000);
	cr_assert_eq(o.flags & (CHARGE_HAS_MARKUP | CHARGE_HAS_DEVIATION), 0);
}

/* The example of docs/rating.md: 60/60 customer, 1/1 vendor, short calls. */
Test(charge, expected_call_increment_aware)
{
	static const struct {
		uint32_t d;
		int64_t revenue, cost, profit;
	} t[] = {
		{ 10, 10000, 2000, 8000 },   { 20, 10000, 4000, 6000 },
		{ 59, 10000, 11800, -1800 }, { 60, 10000, 12000, -2000 },
		{ 61, 20000, 12200, 7800 },  { 300, 50000, 60000, -10000 },
	};
	struct rate cust = R(10000, 10000, 0, 60, 60), vend = R(12000, 12000, 0, 1, 1);

	for (size_t i = 0; i < N(t); i++) {
		struct charge_out o;

		cr_assert_eq(charge_expected(&cust, &vend, t[i].d, NULL, &o), 0);
		cr_assert_eq(o.revenue, t[i].revenue, "d=%u", t[i].d);
		cr_assert_eq(o.cost, t[i].cost, "d=%u", t[i].d);
		cr_assert_eq(o.profit, t[i].profit, "d=%u", t[i].d);
		cr_assert_eq(o.dev_per_min, -2000);
	}
}
