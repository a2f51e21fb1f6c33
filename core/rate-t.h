/* SPDX-License-Identifier: MIT */
/*
 * rate-t.h: the terms of one rate, shared by rate tables (rate.h), charging
 * (charge.h), gateway rules (gwrules.h), auto-create (autocreate.h) and the deck
 * reader (parsers/ratedeck.h). Types only.
 */
#ifndef SIPRING_RATE_T_H
#define SIPRING_RATE_T_H

#include <stdint.h>

#define RATE_PREFIX_MAX 19	  /* digits in a prefix: its key fits 64 bits */
#define RATE_TIME_MIN	INT64_MIN /* effective since always */
#define RATE_TIME_MAX	INT64_MAX /* until further notice */

/*
 * One rate: what an answered call of d seconds costs (docs/rating.md).
 *
 *   billed  = 0                                  if d == 0
 *           = first_s                            if 0 < d <= first_s
 *           = first_s + ceil((d - first_s) / incr_s) * incr_s   otherwise
 *   charge  = connect_fee + first_rate * min(billed, first_s) / 60
 *                         + rate * (billed - min(billed, first_s)) / 60
 *
 * Amounts are micro-units (money.h); rates are per minute. "60/60" is
 * first_s = 60, incr_s = 60; "30/6" is first_s = 30, incr_s = 6. A deck without a
 * first-period rate has first_rate == rate.
 */
struct rate {
	int64_t first_rate;  /* per minute, for the first period */
	int64_t rate;	     /* per minute, after the first period */
	int64_t connect_fee; /* once per answered call */
	uint32_t first_s;    /* first period, seconds (0: none) */
	uint32_t incr_s;     /* increment after it, seconds (>= 1) */
};

#endif
