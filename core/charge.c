/* SPDX-License-Identifier: MIT */
/*
 * charge.c: billed seconds, charges, profit, margin and deviation (see charge.h).
 *
 * A charge is computed as one exact fraction, (connect_fee * 60 + first_rate * f +
 * rate * (billed - f)) / 60 micro-units, and rounded once: rounding the connect fee,
 * the first period and the rest separately would let three roundings add up.
 */
#include "charge.h"

#include <errno.h>

const struct charge_policy charge_policy_default = { MONEY_DECIMALS, MONEY_ROUND_UP };

uint64_t charge_billed_s(uint64_t d, uint32_t first_s, uint32_t incr_s)
{
	uint64_t rest;

	if (d == 0)
		return 0;
	if (d <= first_s)
		return first_s;
	if (incr_s == 0)
		incr_s = 1;
	rest = d - first_s;
	return first_s + (rest / incr_s + (rest % incr_s != 0)) * incr_s;
}

int charge_amount(const struct rate *r, uint64_t billed, const struct charge_policy *p,
		  int64_t *out)
{
	static const int64_t unit[MONEY_DECIMALS + 1] = {
		1000000, 100000, 10000, 1000, 100, 10, 1
	};
	uint64_t first = billed < r->first_s ? billed : r->first_s;
	unsigned __int128 num, den, whole, rem;
	int64_t q;

	if (!p)
		p = &charge_policy_default;
	if (r->first_rate < 0 || r->rate < 0 || r->connect_fee < 0)
		return -EINVAL;
	if (billed > (uint64_t)UINT32_MAX * 16)
		return -ERANGE; /* keeps the sum far below 2^127 */
	num = (unsigned __int128)r->connect_fee * 60 + (unsigned __int128)r->first_rate * first +
	      (unsigned __int128)r->rate * (billed - first);
	/* One rounding: the exact fraction num / 60 micro-units, to `decimals` decimals. */
	q = unit[p->decimals > MONEY_DECIMALS ? MONEY_DECIMALS : p->decimals];
	den = (unsigned __int128)60 * (uint64_t)q;
	whole = num / den;
	rem = num % den;
	if (p->round == MONEY_ROUND_UP && rem)
		whole++;
	else if (p->round == MONEY_ROUND_HALF_UP && rem * 2 >= den)
		whole++;
	if (whole > (unsigned __int128)(INT64_MAX / q))
		return -ERANGE;
	*out = (int64_t)whole * q;
	return 0;
}

/* Effective price per minute of `amount` spread over `billed` seconds, half up. */
static int64_t per_min(int64_t amount, uint64_t billed)
{
	int64_t v = 0;

	money_muldiv(amount, 60, (int64_t)billed, MONEY_ROUND_HALF_UP, &v);
	return v;
}

/* The same in nano-units per second: amount * 1000 / billed. */
static int64_t per_s_nano(int64_t amount, uint64_t billed)
{
	int64_t v = 0;

	money_muldiv(amount, 1000, (int64_t)billed, MONEY_ROUND_HALF_UP, &v);
	return v;
}

static int charge_sides(const struct rate *cust, const struct rate *vend, uint64_t d,
			const struct charge_policy *cp, const struct charge_policy *vp,
			struct charge_out *out)
{
	int ret;

	out->duration_s = d;
	if (cust) {
		out->cust_billed_s = charge_billed_s(d, cust->first_s, cust->incr_s);
		ret = charge_amount(cust, out->cust_billed_s, cp, &out->revenue);
		if (ret < 0)
			return ret;
	}
	if (vend) {
		out->vend_billed_s = charge_billed_s(d, vend->first_s, vend->incr_s);
		ret = charge_amount(vend, out->vend_billed_s, vp, &out->cost);
		if (ret < 0)
			return ret;
	}
	out->profit = out->revenue - out->cost;
	if (out->revenue && money_ratio_ppm(out->profit, out->revenue, &out->margin_ppm) == 0)
		out->flags |= CHARGE_HAS_MARGIN;
	if (out->cost && money_ratio_ppm(out->profit, out->cost, &out->markup_ppm) == 0)
		out->flags |= CHARGE_HAS_MARKUP;
	if (cust && vend) {
		out->dev_per_min = cust->rate - vend->rate;
		out->flags |= CHARGE_HAS_DEVIATION;
		if (out->cust_billed_s && out->vend_billed_s) {
			out->dev_eff_per_min = per_min(out->revenue, out->cust_billed_s) -
					       per_min(out->cost, out->vend_billed_s);
			out->dev_eff_nps = per_s_nano(out->revenue, out->cust_billed_s) -
					   per_s_nano(out->cost, out->vend_billed_s);
			out->flags |= CHARGE_HAS_EFFECTIVE;
		}
	}
	return 0;
}

int charge_call(const struct charge_in *in, struct charge_out *out)
{
	*out = (struct charge_out){ 0 };
	if (!in->answered) {
		if (in->cust && in->vend) {
			out->dev_per_min = in->cust->rate - in->vend->rate;
			out->flags |= CHARGE_HAS_DEVIATION;
		}
		return 0;
	}
	return charge_sides(in->cust, in->vend, charge_ms_to_s(in->duration_ms), in->cust_policy,
			    in->vend_policy, out);
}

int charge_expected(const struct rate *cust, const struct rate *vend, uint32_t duration_s,
		    const struct charge_policy *p, struct charge_out *out)
{
	*out = (struct charge_out){ 0 };
	return charge_sides(cust, vend, duration_s, p, p, out);
}
