/* SPDX-License-Identifier: MIT */
/* Tests of core/autocreate.h: margin against markup, rounding up, limits. */
#include <criterion/criterion.h>
#include <errno.h>

#include "core/autocreate.h"
#include "core/money.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(autocreate, margin_vs_markup_table)
{
	static const struct {
		enum autocreate_mode mode;
		int64_t ppm;
		uint8_t dec;
		int64_t cost, price;
	} t[] = {
		/* 0.0100 at 20%: margin 0.0125, markup 0.0120 */
		{ AUTOCREATE_MARGIN, 200000, 4, 10000, 12500 },
		{ AUTOCREATE_MARKUP, 200000, 4, 10000, 12000 },
		/* 0.0123 at 15%: 0.014470.. up to 0.0145; markup 0.014145 up to 0.0142 */
		{ AUTOCREATE_MARGIN, 150000, 4, 12300, 14500 },
		{ AUTOCREATE_MARKUP, 150000, 4, 12300, 14200 },
		/* at 6 decimals: 14470.588 -> 14471; 14145 exactly */
		{ AUTOCREATE_MARGIN, 150000, 6, 12300, 14471 },
		{ AUTOCREATE_MARKUP, 150000, 6, 12300, 14145 },
		/* 50% margin doubles; 50% markup is 1.5x */
		{ AUTOCREATE_MARGIN, 500000, 4, 10000, 20000 },
		{ AUTOCREATE_MARKUP, 500000, 4, 10000, 15000 },
		/* 0% and free destinations */
		{ AUTOCREATE_MARGIN, 0, 4, 12345, 12400 },
		{ AUTOCREATE_MARKUP, 0, 6, 12345, 12345 },
		{ AUTOCREATE_MARGIN, 300000, 4, 0, 0 },
		/* a negative markup sells below cost */
		{ AUTOCREATE_MARKUP, -100000, 4, 10000, 9000 },
		/* 0 decimals: whole units, up */
		{ AUTOCREATE_MARKUP, 100000, 0, 10000, 1000000 },
	};
	for (size_t i = 0; i < N(t); i++) {
		struct autocreate_opts o = { t[i].mode, t[i].ppm, t[i].dec, 0, 0 };
		int64_t p = -1;

		cr_assert_eq(autocreate_price(t[i].cost, &o, &p), 0, "row %zu", i);
		cr_assert_eq(p, t[i].price, "row %zu: %lld", i, (long long)p);
	}
}

Test(autocreate, limits)
{
	struct autocreate_opts o = { AUTOCREATE_MARGIN, 1000000, 4, 0, 0 };
	int64_t p;

	cr_assert_eq(autocreate_price(10000, &o, &p), -EDOM); /* 100% margin */
	o.ppm = 1200000;
	cr_assert_eq(autocreate_price(10000, &o, &p), -EDOM);
	o = (struct autocreate_opts){ AUTOCREATE_MARKUP, -1000001, 4, 0, 0 };
	cr_assert_eq(autocreate_price(10000, &o, &p), -EDOM);
	o.ppm = 0;
	cr_assert_eq(autocreate_price(-1, &o, &p), -EINVAL);
	o.decimals = 7;
	cr_assert_eq(autocreate_price(1, &o, &p), -EINVAL);
}

/* Rounding up never gives less than was asked, and the price stays on the grid. */
Test(autocreate, reached_ratio_never_below_asked)
{
	static const int64_t ppms[] = { 1, 50000, 123456, 200000, 333333, 750000 };

	for (size_t k = 0; k < N(ppms); k++) {
		for (int mode = 0; mode < 2; mode++) {
			struct autocreate_opts o = { (enum autocreate_mode)mode, ppms[k], 4, 0, 0 };

			for (int64_t cost = 1; cost < 400000; cost += 997) {
				int64_t price, ppm;

				cr_assert_eq(autocreate_price(cost, &o, &price), 0);
				cr_assert_eq(price % 100, 0);
				cr_assert_eq(
					money_ratio_ppm(price - cost,
							mode == AUTOCREATE_MARGIN ? price : cost,
							&ppm),
					0);
				/* half-up ppm rounding can show 1 ppm less than exact */
				cr_assert_geq(ppm + 1, ppms[k], "cost %lld price %lld: %lld",
					      (long long)cost, (long long)price, (long long)ppm);
			}
		}
	}
}

Test(autocreate, rate_terms)
{
	struct rate v = { 20000, 10000, 5000, 30, 6 }, c;
	struct autocreate_opts o = { AUTOCREATE_MARKUP, 100000, 4, 0, 0 };

	cr_assert_eq(autocreate_rate(&v, &o, &c), 0);
	cr_assert_eq(c.first_rate, 22000);
	cr_assert_eq(c.rate, 11000);
	cr_assert_eq(c.connect_fee, 5500);
	cr_assert_eq(c.first_s, 30);
	cr_assert_eq(c.incr_s, 6);
	/* The customer's periods can differ from the vendor's. */
	o.first_s = 60;
	o.incr_s = 60;
	cr_assert_eq(autocreate_rate(&v, &o, &c), 0);
	cr_assert_eq(c.first_s, 60);
	cr_assert_eq(c.incr_s, 60);
}
