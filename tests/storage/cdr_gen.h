/* SPDX-License-Identifier: MIT */
/*
 * cdr_gen.h: deterministic, varied CDRs for the storage tests and tools.
 *
 * A generator seeded with the same value yields the same sequence of CDRs on
 * every machine: 20 customers, 8 vendors with 3 gateways each, a few hundred
 * destination prefixes, setup times over three UTC days, about 45% answered,
 * some attempts rerouted, durations up to 20 minutes, charges in micro-units.
 * The strings of a returned CDR point into the generator and live until the
 * next call.
 *
 * cdr_gen_expect() sums what a list of generators' CDRs must add to the
 * counters of one dimension, by the rules of cdr_count(), into a report (what
 * the tests compare Redis and the spool with).
 */
#ifndef SIPRING_TESTS_CDR_GEN_H
#define SIPRING_TESTS_CDR_GEN_H

#include <stdint.h>

#include "storage/cdr.h"
#include "storage/report.h"

/* The first day the generator uses: 2024-06-10 (UTC). */
#define CDR_GEN_DAY0 19884
#define CDR_GEN_DAYS 3

struct cdr_gen {
	uint64_t state;
	uint64_t seed;
	uint64_t n;
	char call_id[64], customer[16], vendor[16], gateway[24], dialled[32], routed[32],
		cust_prefix[16], vend_prefix[16];
};

void cdr_gen_init(struct cdr_gen *g, uint64_t seed);
void cdr_gen_next(struct cdr_gen *g, struct cdr *c);

/*
 * Add the counters of the first n CDRs of seed to rep for dimension by, for
 * the generator's days (rows are added; call report_finish() after).
 * Returns 0 or -ENOMEM.
 */
int cdr_gen_expect(struct report *rep, uint64_t seed, uint64_t n, enum report_by by);

#endif
