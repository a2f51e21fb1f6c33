/* SPDX-License-Identifier: MIT */
/*
 * charge.h: from a call's duration to billed seconds, charges, profit and margin.
 *
 * A call is charged twice: to the customer at the customer's rate (revenue) and
 * by the vendor at the vendor's rate (cost). Each side has its own first period
 * and increment, so the two sides bill different seconds for the same call. The
 * formulas are in core/rate-t.h and, with worked examples, in docs/rating.md:
 *
 *   - a duration in milliseconds is first rounded up to whole seconds (a started
 *     second counts);
 *   - an unanswered call bills 0 seconds and costs nothing, not even the connect
 *     fee; an answered call pays the connect fee even when it lasted 0 s;
 *   - the exact charge (connect fee + per-minute rates * billed / 60) is rounded
 *     once per call, to the policy's decimals in its mode (default: up to the
 *     next micro-unit, so nobody is under-billed by the rounding);
 *   - margin = profit / revenue and markup = profit / cost, kept apart (20%
 *     markup is a 16.67% margin);
 *   - rate deviation = customer rate - vendor rate per minute (nominal), and the
 *     effective deviation: the difference of what each side really paid per
 *     billed second, increments and connect fees included.
 *
 * Pure functions: no allocation, no state, thread-safe.
 */
#ifndef SIPRING_CHARGE_H
#define SIPRING_CHARGE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/money.h"
#include "core/rate-t.h"

/* How one call's charge is rounded: to `decimals` (0..6) in mode `round`. */
struct charge_policy {
	uint8_t decimals;
	enum money_round round;
};

/* Up to the next micro-unit. Carriers invoicing to 4 decimals use { 4, MONEY_ROUND_UP }. */
extern const struct charge_policy charge_policy_default;

/* Whole seconds of a duration in milliseconds, rounded up (1 ms -> 1 s). */
static inline uint64_t charge_ms_to_s(uint64_t ms)
{
	return ms / 1000 + (ms % 1000 != 0);
}

/*
 * Billed seconds of a call of d seconds under first period first_s and increment
 * incr_s (an incr_s of 0 is invalid and treated as 1): 0 when d == 0, first_s when
 * d <= first_s, else first_s + ceil((d - first_s) / incr_s) * incr_s.
 */
uint64_t charge_billed_s(uint64_t d, uint32_t first_s, uint32_t incr_s);

/*
 * The charge of an answered call of `billed` seconds (already billed, see above)
 * under r, rounded by p (NULL for charge_policy_default): connect fee, the first
 * period at first_rate, the rest at rate. Returns 0, or -EINVAL when r has a
 * negative amount, -ERANGE on overflow.
 */
int charge_amount(const struct rate *r, uint64_t billed, const struct charge_policy *p,
		  int64_t *out);

/* What to charge: either side may be NULL (then its outputs stay 0). */
struct charge_in {
	const struct rate *cust;
	const struct rate *vend;
	uint64_t duration_ms; /* from answer to hang-up */
	bool answered;
	const struct charge_policy *cust_policy; /* NULL: charge_policy_default */
	const struct charge_policy *vend_policy;
};

#define CHARGE_HAS_MARGIN    0x1 /* revenue != 0 */
#define CHARGE_HAS_MARKUP    0x2 /* cost != 0 */
#define CHARGE_HAS_DEVIATION 0x4 /* both sides rated */
#define CHARGE_HAS_EFFECTIVE 0x8 /* both sides billed > 0 s */

struct charge_out {
	uint64_t duration_s;	 /* charge_ms_to_s(duration_ms), 0 when unanswered */
	uint64_t cust_billed_s;	 /* customer's billed seconds */
	uint64_t vend_billed_s;	 /* vendor's billed seconds */
	int64_t revenue;	 /* customer charge, micro-units */
	int64_t cost;		 /* vendor cost, micro-units */
	int64_t profit;		 /* revenue - cost */
	int64_t margin_ppm;	 /* profit / revenue (CHARGE_HAS_MARGIN) */
	int64_t markup_ppm;	 /* profit / cost (CHARGE_HAS_MARKUP) */
	int64_t dev_per_min;	 /* cust->rate - vend->rate, per minute (CHARGE_HAS_DEVIATION) */
	int64_t dev_eff_per_min; /* revenue*60/cust_billed - cost*60/vend_billed (EFFECTIVE) */
	int64_t dev_eff_nps;	 /* the same per billed second, in nano-units (10^-9) */
	unsigned flags;
};

/*
 * Charge one call on both sides. Returns 0 and fills *out, or -EINVAL / -ERANGE
 * as charge_amount(). Unanswered calls return 0 with every amount 0.
 */
int charge_call(const struct charge_in *in, struct charge_out *out);

/*
 * Revenue, cost and profit of a call of `duration_s` answered seconds: the
 * increment-aware expectation the gateway rules use (gwrules.h). Returns as
 * charge_call().
 */
int charge_expected(const struct rate *cust, const struct rate *vend, uint32_t duration_s,
		    const struct charge_policy *p, struct charge_out *out);

#endif
