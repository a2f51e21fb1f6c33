/* SPDX-License-Identifier: MIT */
/*
 * Tests of core/gwrules.h: check rate, max minute rate, min profit (negative
 * allowed), the increment-aware expected profit, ordering by cost and by profit,
 * and ties.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/gwrules.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct rate_table *one(const char *prefix, struct rate r)
{
	struct rate_builder *b = rate_builder_new();
	struct rate_table *t = NULL;

	cr_assert_eq(rate_builder_add(b, sv_cstr(prefix), SV_NULL, &r, RATE_TIME_MIN, 1), 0);
	cr_assert_eq(rate_table_build(b, &t, NULL), 0);
	rate_builder_free(b);
	return t;
}

#define PERMIN(x, p, i) ((struct rate){ (x), (x), 0, (p), (i) })

/* Five vendors for 44: A 0.0100 1/1, B 0.0080 60/60, C 0.0120 1/1, D no rate, E 0.0080 1/1. */
static struct rate_table *va, *vb, *vc, *vd, *ve;

static void setup(void)
{
	va = one("44", PERMIN(10000, 1, 1));
	vb = one("44", PERMIN(8000, 60, 60));
	vc = one("447", PERMIN(12000, 1, 1));
	vd = one("33", PERMIN(1000, 1, 1));
	ve = one("4", PERMIN(8000, 1, 1));
}

static void teardown(void)
{
	rate_table_free(va);
	rate_table_free(vb);
	rate_table_free(vc);
	rate_table_free(vd);
	rate_table_free(ve);
}

struct gwcase {
	const char *what;
	struct rate cust;
	int has_cust;
	unsigned flags;
	int64_t min_profit, max_minute;
	enum gw_order order;
	uint32_t expected_s;
	int ntry;
	const char *order_str;	  /* names of the tried gateways, in order */
	const char *verdicts_str; /* verdict initial of all five, in out[] order after the tried */
};

static const char names[] = "ABCDE";

static void run(const struct gwcase *c)
{
	struct gw gws[5];
	struct rate_table *tabs[5] = { va, vb, vc, vd, ve };
	struct gw_choice out[5];
	struct gw_policy p = { c->order, c->expected_s, NULL };
	char got[6] = { 0 }, verd[6] = { 0 };
	int n;

	for (int i = 0; i < 5; i++)
		gws[i] = (struct gw){ sv_make(&names[i], 1), tabs[i], c->flags, c->min_profit,
				      c->max_minute };
	n = gw_rank(gws, 5, c->has_cust ? &c->cust : NULL, SV_LIT("447123"), 0, &p, out);
	cr_assert_eq(n, c->ntry, "%s: %d tried", c->what, n);
	for (int i = 0; i < 5; i++) {
		static const char v[] = "TNHLC"; /* try, no rate, high, low, no customer */

		cr_assert_lt(out[i].gw, 5u);
		if (i < n)
			got[i] = names[out[i].gw];
		verd[i] = v[out[i].verdict];
		cr_assert_eq(out[i].verdict == GW_TRY, i < n, "%s: #%d", c->what, i);
	}
	cr_assert_str_eq(got, c->order_str, "%s: order %s", c->what, got);
	cr_assert_str_eq(verd, c->verdicts_str, "%s: verdicts %s", c->what, verd);
}

TestSuite(gwrules, .init = setup, .fini = teardown);

Test(gwrules, rules_table)
{
	const struct rate cust = PERMIN(11000, 60, 60);
	const struct gwcase t[] = {
		{ "cost order, check rate", cust, 1, GW_CHECK_RATE, 0, 0, GW_ORDER_COST, 0, 4,
		  "BEAC", "TTTTN" },
		{ "no check rate: D tried last", cust, 1, 0, 0, 0, GW_ORDER_COST, 0, 5, "BEACD",
		  "TTTTT" },
		{ "max minute 0.0100", cust, 1, GW_CHECK_RATE | GW_MAX_MINUTE, 0, 10000,
		  GW_ORDER_COST, 0, 3, "BEA", "TTTHN" },
		/* profit per s >= 0: C (0.0110 - 0.0120 < 0) is out */
		{ "min profit 0", cust, 1, GW_CHECK_RATE | GW_MIN_PROFIT, 0, 0, GW_ORDER_COST, 0, 3,
		  "BEA", "TTTLN" },
		/* -0.00002/s = -0.0012/min: C at -0.0010/min is in */
		{ "min profit negative", cust, 1, GW_CHECK_RATE | GW_MIN_PROFIT, -20, 0,
		  GW_ORDER_COST, 0, 4, "BEAC", "TTTTN" },
		/* 0.00004/s = 0.0024/min: only B and E (0.0030/min) pass */
		{ "min profit 0.00004/s", cust, 1, GW_CHECK_RATE | GW_MIN_PROFIT, 40, 0,
		  GW_ORDER_COST, 0, 2, "BE", "TTLLN" },
		{ "profit order", cust, 1, GW_CHECK_RATE, 0, 0, GW_ORDER_PROFIT, 0, 4, "BEAC",
		  "TTTTN" },
		{ "no customer rate, min profit", cust, 0, GW_CHECK_RATE | GW_MIN_PROFIT, 0, 0,
		  GW_ORDER_COST, 0, 0, "", "CCCNC" },
		{ "no customer rate, profit order falls back to cost", cust, 0, GW_CHECK_RATE, 0, 0,
		  GW_ORDER_PROFIT, 0, 4, "BEAC", "TTTTN" },
		/*
		 * Expected call of 20 s, ordered by cost: A 1/1 costs 0.003333.., B 60/60
		 * costs 0.0080, C 0.0040, E 0.002667: E, A, C, B.
		 */
		{ "expected 20 s by cost", cust, 1, GW_CHECK_RATE, 0, 0, GW_ORDER_COST, 20, 4,
		  "EACB", "TTTTN" },
		/*
		 * The 60/60 customer earns 0.0110 on a 20 s call; against C (1/1 at 0.0120)
		 * that is +0.0070: the per-minute rates say -0.0010/min, the call says
		 * +0.00035/s. With min profit 0, C now passes.
		 */
		{ "expected 20 s, min profit 0", cust, 1, GW_CHECK_RATE | GW_MIN_PROFIT, 0, 0,
		  GW_ORDER_PROFIT, 20, 4, "EACB", "TTTTN" },
		/* On a 90 s call (customer billed 120 s = 0.0220): C costs 0.0180, B 0.0160. */
		{ "expected 90 s, min profit 0.00005/s", cust, 1, GW_CHECK_RATE | GW_MIN_PROFIT, 50,
		  0, GW_ORDER_PROFIT, 90, 3, "EAB", "TTTLN" },
	};
	for (size_t i = 0; i < N(t); i++)
		run(&t[i]);
}

Test(gwrules, ties_keep_configuration_order)
{
	struct rate_table *x = one("1", PERMIN(5000, 1, 1)), *y = one("1", PERMIN(5000, 6, 6));
	struct gw gws[3] = {
		{ SV_LIT("y"), y, GW_CHECK_RATE, 0, 0 },
		{ SV_LIT("x"), x, GW_CHECK_RATE, 0, 0 },
		{ SV_LIT("z"), y, GW_CHECK_RATE, 0, 0 },
	};
	struct gw_policy p = { GW_ORDER_COST, 0, NULL };
	struct gw_choice out[3];

	cr_assert_eq(gw_rank(gws, 3, NULL, SV_LIT("1555"), 0, &p, out), 3);
	cr_assert_eq(out[0].gw, 0);
	cr_assert_eq(out[1].gw, 1);
	cr_assert_eq(out[2].gw, 2);
	/* With an expected 1 s call, x (1/1) is cheaper than y and z (6/6). */
	p.expected_s = 1;
	cr_assert_eq(gw_rank(gws, 3, NULL, SV_LIT("1555"), 0, &p, out), 3);
	cr_assert_eq(out[0].gw, 1);
	cr_assert_eq(out[1].gw, 0);
	cr_assert_eq(out[2].gw, 2);
	rate_table_free(x);
	rate_table_free(y);
}

Test(gwrules, figures_and_strings)
{
	struct rate cust = PERMIN(11000, 60, 60);
	struct gw g = { SV_LIT("C"), vc, GW_CHECK_RATE, 0, 0 };
	struct gw_policy p = { GW_ORDER_PROFIT, 20, NULL };
	struct gw_choice out[1];

	cr_assert_eq(gw_rank(&g, 1, &cust, SV_LIT("447"), 0, &p, out), 1);
	cr_assert(out[0].has_rate);
	cr_assert_eq(out[0].vend.prefix_len, 3);
	cr_assert_eq(out[0].profit_per_min, -1000);
	cr_assert_eq(out[0].exp.revenue, 11000);
	cr_assert_eq(out[0].exp.cost, 4000);
	cr_assert_eq(out[0].exp.profit, 7000);
	cr_assert_eq(out[0].profit_nps, 350000); /* 0.0070 / 20 s = 0.00035/s */
	cr_assert_eq(out[0].exp.margin_ppm, 636364);
	p.expected_s = 0;
	cr_assert_eq(gw_rank(&g, 1, &cust, SV_LIT("447"), 0, &p, out), 1);
	cr_assert_eq(out[0].profit_nps, -16667); /* -0.0010/min */
	cr_assert_eq(gw_rank(NULL, 0, NULL, SV_LIT("1"), 0, &p, NULL), 0);
	cr_assert_eq(gw_rank(NULL, 1, NULL, SV_LIT("1"), 0, &p, out), -EINVAL);
	cr_assert_str_eq(gw_verdict_str(GW_LOW_PROFIT), "below min profit");
	cr_assert_str_eq(gw_verdict_str(GW_NO_RATE), "no rate");
}
