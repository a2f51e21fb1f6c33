/* SPDX-License-Identifier: MIT */
/*
 * money.h: amounts as integer micro-units, exact decimal parsing, rounding and display.
 *
 * Every amount in sipring (a rate per minute, a connect fee, a call's charge, a
 * profit) is an int64_t count of micro-units: 1 unit of the deck's currency is
 * MONEY_SCALE (10^6) micro-units, so 0.0123 is 12300. No floating point touches an
 * amount: decimals are parsed digit by digit, products go through 128-bit
 * intermediates, and every division rounds in a mode the caller names. int64_t
 * holds +-9.2 * 10^12 units, far beyond any call or invoice.
 *
 * Ratios (margin, markup, a desired percentage) are int64_t parts per million
 * (ppm): 25% is 250000 ppm, 12.3456% is 123456 ppm.
 *
 * Display precision is the caller's (docs/rating.md: 0 to 4 decimals for people,
 * 6 for exact dumps); money_format() rounds half away from zero to it.
 *
 * Everything here is pure: no allocation, no state, thread-safe.
 */
#ifndef SIPRING_MONEY_H
#define SIPRING_MONEY_H

#include <stddef.h>
#include <stdint.h>

#include "parsers/sv.h"

#define MONEY_SCALE    1000000LL /* micro-units per unit */
#define MONEY_DECIMALS 6	 /* decimals a micro-unit holds */
#define MONEY_PPM      1000000LL /* ppm per whole (100%) */

/* How a division or a rounding to fewer decimals treats the remainder. */
enum money_round {
	MONEY_ROUND_UP,	     /* away from zero: 0.00001 -> 0.0001 at 4 decimals */
	MONEY_ROUND_HALF_UP, /* half away from zero: 0.00005 -> 0.0001, 0.000049 -> 0 */
	MONEY_ROUND_DOWN,    /* toward zero (truncate) */
};

/*
 * Parse a decimal amount into micro-units, exactly: an optional sign ('-' or '+'),
 * digits, an optional '.' and up to 6 more significant decimals ("12", "0.0123",
 * ".5", "5.", "-0.25"; trailing zeros past the 6th decimal are accepted: "0.1000000").
 * No exponent, no thousands separator, no surrounding space (trim first).
 * Returns 0, -EINVAL when s is not such a number, -ERANGE when it overflows int64_t
 * micro-units or has a non-zero digit past the 6th decimal (it cannot be held
 * exactly: the caller reports it rather than round an amount silently).
 */
int money_parse(struct sv s, int64_t *out);

/*
 * Parse a percentage into ppm: "20", "12.5", "12.5%", "-3" (up to 4 decimals of a
 * percent, the resolution of ppm). Returns 0, -EINVAL or -ERANGE as money_parse().
 */
int money_parse_percent(struct sv s, int64_t *ppm);

/* Round v (micro-units) to `decimals` (0..6) in mode m. Values of decimals > 6 return v. */
int64_t money_round(int64_t v, unsigned decimals, enum money_round m);

/*
 * *out = a * b / c rounded in mode m, computed exactly through 128 bits.
 * Returns 0, -EDOM when c == 0, -ERANGE when the result does not fit int64_t.
 */
int money_muldiv(int64_t a, int64_t b, int64_t c, enum money_round m, int64_t *out);

/*
 * *ppm = num / den in parts per million, rounded half away from zero. Returns 0 or
 * -EDOM when den == 0 (a margin of a call with no revenue is undefined, not 0).
 */
int money_ratio_ppm(int64_t num, int64_t den, int64_t *ppm);

/*
 * Write v (micro-units) with `decimals` (0..6) decimals, rounded half away from
 * zero, NUL-terminated: "-0.0124", "3", "0.000001". Returns the length written
 * (without the NUL), -EINVAL when decimals > 6, -ENOSPC when cap is too small
 * (MONEY_FMT_MAX always suffices).
 */
#define MONEY_FMT_MAX 32
int money_format(int64_t v, unsigned decimals, char *buf, size_t cap);

/* Write a ppm ratio as a percentage with `decimals` (0..4) decimals: "20.00" for 200000. */
int money_format_ppm(int64_t ppm, unsigned decimals, char *buf, size_t cap);

#endif
