/* SPDX-License-Identifier: MIT */
/*
 * autocreate.h: a customer's rates from a vendor's rates and a desired margin or
 * markup (`sipringctl rates autocreate`).
 *
 * Margin and markup are different numbers and are kept apart:
 *   margin m: price = cost / (1 - m)   (profit is m of the price: 20% -> cost * 1.25)
 *   markup k: price = cost * (1 + k)   (profit is k of the cost:  20% -> cost * 1.20)
 * Each amount of a rate (first-period rate, rate, connect fee) is priced alone,
 * and rounded up to `decimals` decimals, so that the margin or markup reached is
 * never below the one asked for. Free amounts stay free (0 -> 0).
 *
 * Pure functions, thread-safe.
 */
#ifndef SIPRING_AUTOCREATE_H
#define SIPRING_AUTOCREATE_H

#include <stdint.h>

#include "core/rate-t.h"

enum autocreate_mode { AUTOCREATE_MARGIN, AUTOCREATE_MARKUP };

struct autocreate_opts {
	enum autocreate_mode mode;
	int64_t ppm;	  /* the margin (< 100%) or markup (>= -100%), in ppm */
	uint8_t decimals; /* customer amounts rounded up to this many decimals (0..6) */
	uint32_t first_s; /* customer periods; both 0: the vendor's */
	uint32_t incr_s;
};

/*
 * The price of one amount of cost `cost` (micro-units, >= 0). Returns 0, -EDOM for
 * a margin of 100% or more or a markup below -100%, -EINVAL for a negative cost
 * or decimals > 6, -ERANGE on overflow.
 */
int autocreate_price(int64_t cost, const struct autocreate_opts *o, int64_t *price);

/* The customer's rate for a vendor's rate. Returns as autocreate_price(). */
int autocreate_rate(const struct rate *vendor, const struct autocreate_opts *o, struct rate *cust);

#endif
