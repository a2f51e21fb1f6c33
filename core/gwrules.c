/* SPDX-License-Identifier: MIT */
/*
 * gwrules.c: gateway rules and ordering (see gwrules.h).
 *
 * Every comparison with a limit is exact: a per-second limit L (micro-units) is
 * compared with a per-minute difference D as D >= 60 * L, and with the profit P
 * of an expected call of S seconds as P >= S * L, in 128 bits. The nano-unit
 * figure in gw_choice is for display only.
 */
#include "gwrules.h"

#include <errno.h>

static int64_t nano_per_s(int64_t amount, int64_t seconds)
{
	int64_t v = 0;

	money_muldiv(amount, 1000, seconds, MONEY_ROUND_HALF_UP, &v);
	return v;
}

static void judge(const struct gw *g, const struct rate *cust, const struct gw_policy *p,
		  struct gw_choice *c)
{
	const struct rate *v = c->vend.rate;
	int64_t top = v->first_rate > v->rate ? v->first_rate : v->rate;
	bool have_profit = false, low = false;

	if (cust)
		c->profit_per_min = cust->rate - v->rate;
	if (p->expected_s) {
		if (charge_expected(cust, v, p->expected_s, p->charge, &c->exp) == 0 && cust) {
			c->profit_nps = nano_per_s(c->exp.profit, p->expected_s);
			low = (__int128)c->exp.profit < (__int128)g->min_profit * p->expected_s;
			have_profit = true;
		}
	} else if (cust) {
		c->profit_nps = nano_per_s(c->profit_per_min, 60);
		low = (__int128)c->profit_per_min < (__int128)g->min_profit * 60;
		have_profit = true;
	}
	if ((g->flags & GW_MAX_MINUTE) && top > g->max_minute)
		c->verdict = GW_HIGH_RATE;
	else if ((g->flags & GW_MIN_PROFIT) && !have_profit)
		c->verdict = GW_NO_CUSTOMER_RATE;
	else if ((g->flags & GW_MIN_PROFIT) && low)
		c->verdict = GW_LOW_PROFIT;
	else
		c->verdict = GW_TRY;
}

/* Does a go before b? Both are to be tried. */
static bool before(const struct gw_choice *a, const struct gw_choice *b, const struct rate *cust,
		   const struct gw_policy *p)
{
	int64_t ka, kb;

	if (a->has_rate != b->has_rate)
		return a->has_rate;
	if (!a->has_rate)
		return false;
	if (p->order == GW_ORDER_PROFIT && cust) {
		ka = p->expected_s ? a->exp.profit : a->profit_per_min;
		kb = p->expected_s ? b->exp.profit : b->profit_per_min;
		return ka > kb;
	}
	ka = p->expected_s ? a->exp.cost : a->vend.rate->rate;
	kb = p->expected_s ? b->exp.cost : b->vend.rate->rate;
	return ka < kb;
}

int gw_rank(const struct gw *gws, uint32_t n, const struct rate *cust, struct sv number, int64_t at,
	    const struct gw_policy *p, struct gw_choice *out)
{
	uint32_t ntry = 0, nout = 0, k;

	if (n && (!gws || !out || !p))
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		struct gw_choice c = { .gw = i };
		const struct gw *g = &gws[i];

		c.has_rate = g->rates && rate_lookup(g->rates, number, at, &c.vend) == 0;
		if (c.has_rate)
			judge(g, cust, p, &c);
		else
			c.verdict = (g->flags & GW_CHECK_RATE) ? GW_NO_RATE : GW_TRY;
		if (c.verdict != GW_TRY) {
			/* Not tried: stacked from the end, put back in order below. */
			out[n - 1 - nout++] = c;
			continue;
		}
		/* Insertion keeps the configuration order among equals. */
		for (k = ntry; k > 0 && before(&c, &out[k - 1], cust, p); k--)
			out[k] = out[k - 1];
		out[k] = c;
		ntry++;
	}
	for (uint32_t a = ntry, b = n; a + 1 < b; a++, b--) {
		struct gw_choice t = out[a];

		out[a] = out[b - 1];
		out[b - 1] = t;
	}
	return (int)ntry;
}

const char *gw_verdict_str(enum gw_verdict v)
{
	switch (v) {
	case GW_TRY:
		return "try";
	case GW_NO_RATE:
		return "no rate";
	case GW_HIGH_RATE:
		return "above max minute rate";
	case GW_LOW_PROFIT:
		return "below min profit";
	case GW_NO_CUSTOMER_RATE:
		return "no customer rate";
	}
	return "?";
}
