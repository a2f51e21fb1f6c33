/* SPDX-License-Identifier: MIT */
/*
 * gwrules.h: which vendor gateways a call may try, and in which order.
 *
 * Given the customer's rate for the number (rate_cheapest()) and the vendor
 * gateways that serve the route, gw_rank() rates the number in each gateway's
 * rate group, applies each gateway's rules, and orders the gateways that pass
 * by cost or by profit. Call control will walk the order on failover; the CLI
 * (`sipringctl rates route`) prints it with each rule's verdict.
 *
 * The rules (docs/rating.md has examples):
 *   check rate      the gateway has no rate for the number: not tried.
 *   max minute rate the gateway's rate per minute (first-period or later, the
 *                   higher) is above the limit: not tried.
 *   min profit      the profit per second is below the gateway's limit (which
 *                   may be negative: "lose at most this much"): not tried.
 *                   Profit per second is (customer rate - vendor rate) / 60, or,
 *                   when an expected call duration is set, the increment-aware
 *                   profit of a call of that duration divided by its seconds:
 *                   a 60/60 customer against a 1/1 vendor earns more on a 20 s
 *                   call than the per-minute rates say.
 * Order: by cost (the vendor's rate per minute, or the cost of the expected
 * call), cheapest first; or by profit (customer minus vendor, per minute or for
 * the expected call), highest first. Ties keep the configuration order. A
 * gateway tried without a rate (check rate off) comes after those with one.
 *
 * Pure: no allocation; safe from any thread on immutable rate tables.
 */
#ifndef SIPRING_GWRULES_H
#define SIPRING_GWRULES_H

#include <stdbool.h>
#include <stdint.h>

#include "core/charge.h"
#include "core/rate.h"
#include "parsers/sv.h"

#define GW_CHECK_RATE 0x1 /* no vendor rate: not tried */
#define GW_MIN_PROFIT 0x2 /* min_profit applies */
#define GW_MAX_MINUTE 0x4 /* max_minute applies */

/* One vendor gateway and its rules. */
struct gw {
	struct sv name;
	const struct rate_table *rates; /* the vendor's rate group (may be NULL) */
	unsigned flags;
	int64_t min_profit; /* micro-units per second, negative allowed */
	int64_t max_minute; /* micro-units per minute */
};

enum gw_order { GW_ORDER_COST, GW_ORDER_PROFIT };

struct gw_policy {
	enum gw_order order;
	uint32_t expected_s;		    /* 0: per-minute rates; else the expected call */
	const struct charge_policy *charge; /* rounding of expected charges (NULL: default) */
};

enum gw_verdict {
	GW_TRY,		     /* passes every rule */
	GW_NO_RATE,	     /* check rate: the gateway does not rate the number */
	GW_HIGH_RATE,	     /* above its max minute rate */
	GW_LOW_PROFIT,	     /* below its min profit */
	GW_NO_CUSTOMER_RATE, /* min profit set but the customer has no rate */
};

/* A gateway's result, for call control and for people. */
struct gw_choice {
	uint32_t gw; /* index in the gateway array */
	enum gw_verdict verdict;
	bool has_rate; /* vend is set */
	struct rate_match vend;
	int64_t profit_per_min; /* customer rate - vendor rate (has_rate and a customer) */
	int64_t profit_nps;	/* profit per second the min-profit rule compared, nano-units */
	struct charge_out exp;	/* the expected call (policy expected_s > 0) */
};

/*
 * Rank gateways gws[0 .. n) for `number` at time `at`. cust is the customer's
 * rate (NULL: none). out receives n entries: first the gateways to try, in
 * order, then the rest in configuration order with their verdicts. Returns how
 * many are to be tried (>= 0), or -EINVAL (n == 0 with a non-NULL out is fine:
 * returns 0).
 */
int gw_rank(const struct gw *gws, uint32_t n, const struct rate *cust, struct sv number, int64_t at,
	    const struct gw_policy *p, struct gw_choice *out);

/* "try", "no rate", "above max minute rate", "below min profit", "no customer rate". */
const char *gw_verdict_str(enum gw_verdict v);

#endif
