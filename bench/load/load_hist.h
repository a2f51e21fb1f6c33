/* SPDX-License-Identifier: MIT */
/*
 * load_hist.h: a log-linear latency histogram for sipring-load, in the manner
 * of HdrHistogram: values below 2^LOAD_HIST_SUB_BITS each have a bucket; above,
 * every power of two is cut into 2^(LOAD_HIST_SUB_BITS - 1) equal buckets, so a
 * bucket is at most 1/64 (1.6 %) of the values it holds, over the whole 64-bit
 * range, in 30 KB. Adding is a shift and an increment; no allocation.
 *
 *   index:  0 .. 127      | 128 .. 191        | 192 .. 255        | ...
 *   value:  0 .. 127 (1)  | 128 .. 255 (by 2) | 256 .. 511 (by 4) | ...
 *
 * Ownership: a histogram is a plain struct owned by its caller; each load
 * thread fills its own, and the report merges them after the threads joined.
 */
#ifndef SIPRING_LOAD_HIST_H
#define SIPRING_LOAD_HIST_H

#include <stdint.h>

#define LOAD_HIST_SUB_BITS 7
#define LOAD_HIST_HALF	   (1u << (LOAD_HIST_SUB_BITS - 1))
#define LOAD_HIST_BUCKETS  ((64 - LOAD_HIST_SUB_BITS + 2) * LOAD_HIST_HALF)

struct load_hist {
	uint64_t count;
	uint64_t min; /* UINT64_MAX while empty */
	uint64_t max;
	uint64_t sum; /* for the mean; wraps only past 584 years of nanoseconds */
	uint64_t b[LOAD_HIST_BUCKETS];
};

/* The bucket that holds v. */
static inline unsigned load_hist_index(uint64_t v)
{
	if (v < (1u << LOAD_HIST_SUB_BITS))
		return (unsigned)v;
	unsigned shift = (unsigned)(63 - __builtin_clzll(v)) - LOAD_HIST_SUB_BITS + 1;
	return (shift << (LOAD_HIST_SUB_BITS - 1)) + (unsigned)(v >> shift);
}

/* Empty h. */
void load_hist_init(struct load_hist *h);

/* Count one value. */
static inline void load_hist_add(struct load_hist *h, uint64_t v)
{
	h->b[load_hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/* The smallest and the largest value bucket idx holds. */
uint64_t load_hist_lowest(unsigned idx);
uint64_t load_hist_highest(unsigned idx);

/* Add every count of from into into. */
void load_hist_merge(struct load_hist *into, const struct load_hist *from);

/*
 * The value at percentile pct (0 < pct <= 100): the highest value of the
 * bucket where the rank ceil(pct/100 * count) falls, but never above the
 * largest value seen (so p100 is the exact maximum). 0 when h is empty.
 */
uint64_t load_hist_percentile(const struct load_hist *h, double pct);

#endif
