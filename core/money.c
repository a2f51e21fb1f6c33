/* SPDX-License-Identifier: MIT */
/*
 * money.c: micro-unit amounts (see money.h).
 *
 * Products of two amounts (a rate times seconds, an amount times a ppm ratio) can
 * pass 2^63, so every multiply-then-divide goes through __int128, and the single
 * rounding happens on the exact quotient and remainder.
 */
#include "money.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

static const int64_t pow10_tab[MONEY_DECIMALS + 1] = {
	1, 10, 100, 1000, 10000, 100000, 1000000,
};

int money_parse(struct sv s, int64_t *out)
{
	const char *p, *end;
	bool neg = false, digits = false;
	unsigned __int128 v = 0;
	unsigned frac = 0;

	if (s.len == 0)
		return -EINVAL;
	p = s.p;
	end = s.p + s.len;
	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > (unsigned __int128)INT64_MAX)
			return -ERANGE;
		digits = true;
	}
	v *= MONEY_SCALE;
	if (p < end && *p == '.') {
		for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
			digits = true;
			if (frac < MONEY_DECIMALS)
				v += (unsigned)(*p - '0') *
				     (unsigned __int128)pow10_tab[MONEY_DECIMALS - 1 - frac++];
			else if (*p != '0')
				return -ERANGE; /* cannot be held exactly */
		}
	}
	if (!digits || p != end)
		return -EINVAL;
	if (v > (unsigned __int128)INT64_MAX)
		return -ERANGE;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

int money_parse_percent(struct sv s, int64_t *ppm)
{
	int64_t micro;
	int ret;

	if (s.len && s.p[s.len - 1] == '%')
		s = sv_trim(sv_make(s.p, s.len - 1));
	ret = money_parse(s, &micro);
	if (ret < 0)
		return ret;
	/* micro is percent * 10^6; ppm is percent * 10^4. */
	if (micro % 100 != 0)
		return -ERANGE;
	*ppm = micro / 100;
	return 0;
}

/* Round the exact quotient q + r/d (q, r, d magnitudes) in mode m. */
static unsigned __int128 round_mag(unsigned __int128 q, unsigned __int128 r, unsigned __int128 d,
				   enum money_round m)
{
	switch (m) {
	case MONEY_ROUND_UP:
		return r ? q + 1 : q;
	case MONEY_ROUND_HALF_UP:
		return r * 2 >= d ? q + 1 : q;
	case MONEY_ROUND_DOWN:
	default:
		return q;
	}
}

static int signed_div(__int128 num, __int128 den, enum money_round m, int64_t *out)
{
	bool neg = (num < 0) != (den < 0);
	unsigned __int128 n = num < 0 ? -(unsigned __int128)num : (unsigned __int128)num;
	unsigned __int128 d = den < 0 ? -(unsigned __int128)den : (unsigned __int128)den;
	unsigned __int128 q;

	if (d == 0)
		return -EDOM;
	q = round_mag(n / d, n % d, d, m);
	if (q > (unsigned __int128)INT64_MAX)
		return -ERANGE;
	*out = neg ? -(int64_t)q : (int64_t)q;
	return 0;
}

int64_t money_round(int64_t v, unsigned decimals, enum money_round m)
{
	int64_t q, r;

	if (decimals >= MONEY_DECIMALS)
		return v;
	q = pow10_tab[MONEY_DECIMALS - decimals];
	if (signed_div(v, q, m, &r) < 0)
		return v;
	/* |r| * q <= |v| + q - 1 < 2^63 + 10^6: saturate the single value that overflows. */
	if (r > INT64_MAX / q)
		return INT64_MAX / q * q;
	if (r < -(INT64_MAX / q))
		return -(INT64_MAX / q * q);
	return r * q;
}

int money_muldiv(int64_t a, int64_t b, int64_t c, enum money_round m, int64_t *out)
{
	return signed_div((__int128)a * b, c, m, out);
}

int money_ratio_ppm(int64_t num, int64_t den, int64_t *ppm)
{
	return money_muldiv(num, MONEY_PPM, den, MONEY_ROUND_HALF_UP, ppm);
}

int money_format(int64_t v, unsigned decimals, char *buf, size_t cap)
{
	unsigned long long mag, ip, fp;
	int n;

	if (decimals > MONEY_DECIMALS)
		return -EINVAL;
	v = money_round(v, decimals, MONEY_ROUND_HALF_UP);
	mag = v < 0 ? -(unsigned long long)v : (unsigned long long)v;
	ip = mag / MONEY_SCALE;
	fp = mag % MONEY_SCALE / (unsigned long long)pow10_tab[MONEY_DECIMALS - decimals];
	if (decimals)
		n = snprintf(buf, cap, "%s%llu.%0*llu", v < 0 ? "-" : "", ip, (int)decimals, fp);
	else
		n = snprintf(buf, cap, "%s%llu", v < 0 ? "-" : "", ip);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

int money_format_ppm(int64_t ppm, unsigned decimals, char *buf, size_t cap)
{
	if (decimals > 4)
		return -EINVAL;
	if (ppm > INT64_MAX / 100 || ppm < -(INT64_MAX / 100))
		return -ERANGE;
	/* ppm * 100 is the percentage in micro-units of a percent. */
	return money_format(ppm * 100, decimals, buf, cap);
}
