/* SPDX-License-Identifier: MIT */
/*
 * autocreate.c: customer rates from vendor rates (see autocreate.h).
 *
 * price = cost * num / den with (num, den) = (10^6, 10^6 - margin ppm) or
 * (10^6 + markup ppm, 10^6), computed exactly and rounded up once, straight to
 * the wanted decimals: ceil(cost * num / (den * q)) * q with q = 10^(6 - decimals).
 */
#include "autocreate.h"

#include <errno.h>

#include "core/money.h"

int autocreate_price(int64_t cost, const struct autocreate_opts *o, int64_t *price)
{
	static const int64_t unit[MONEY_DECIMALS + 1] = {
		1000000, 100000, 10000, 1000, 100, 10, 1
	};
	int64_t num, den, q, whole;
	int ret;

	if (cost < 0 || o->decimals > MONEY_DECIMALS)
		return -EINVAL;
	if (o->mode == AUTOCREATE_MARGIN) {
		if (o->ppm >= MONEY_PPM || o->ppm < -1000 * MONEY_PPM)
			return -EDOM;
		num = MONEY_PPM;
		den = MONEY_PPM - o->ppm;
	} else {
		if (o->ppm < -MONEY_PPM || o->ppm > 1000 * MONEY_PPM)
			return -EDOM;
		num = MONEY_PPM + o->ppm;
		den = MONEY_PPM;
	}
	q = unit[o->decimals];
	ret = money_muldiv(cost, num, den * q, MONEY_ROUND_UP, &whole);
	if (ret < 0)
		return ret;
	if (whole > INT64_MAX / q)
		return -ERANGE;
	*price = whole * q;
	return 0;
}

int autocreate_rate(const struct rate *vendor, const struct autocreate_opts *o, struct rate *cust)
{
	struct rate r = *vendor;
	int ret;

	ret = autocreate_price(vendor->first_rate, o, &r.first_rate);
	if (ret == 0)
		ret = autocreate_price(vendor->rate, o, &r.rate);
	if (ret == 0)
		ret = autocreate_price(vendor->connect_fee, o, &r.connect_fee);
	if (ret < 0)
		return ret;
	if (o->first_s || o->incr_s) {
		r.first_s = o->first_s;
		r.incr_s = o->incr_s ? o->incr_s : 1;
	}
	*cust = r;
	return 0;
}
