/* SPDX-License-Identifier: MIT */
/*
 * load_hist.c: the log-linear latency histogram of sipring-load (see
 * load_hist.h for the bucket layout).
 */
#include "load_hist.h"

#include <string.h>

void load_hist_init(struct load_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

uint64_t load_hist_lowest(unsigned idx)
{
	if (idx < (1u << LOAD_HIST_SUB_BITS))
		return idx;
	/* idx = (shift << (SUB_BITS - 1)) + m with m in [HALF, 2 * HALF) */
	unsigned shift = idx / LOAD_HIST_HALF - 1;
	uint64_t m = idx - (uint64_t)shift * LOAD_HIST_HALF;
	return m << shift;
}

uint64_t load_hist_highest(unsigned idx)
{
	if (idx < (1u << LOAD_HIST_SUB_BITS))
		return idx;
	unsigned shift = idx / LOAD_HIST_HALF - 1;
	return load_hist_lowest(idx) + (((uint64_t)1 << shift) - 1);
}

void load_hist_merge(struct load_hist *into, const struct load_hist *from)
{
	for (unsigned i = 0; i < LOAD_HIST_BUCKETS; i++)
		into->b[i] += from->b[i];
	into->count += from->count;
	into->sum += from->sum;
	if (from->min < into->min)
		into->min = from->min;
	if (from->max > into->max)
		into->max = from->max;
}

uint64_t load_hist_percentile(const struct load_hist *h, double pct)
{
	if (h->count == 0)
		return 0;
	double r = pct / 100.0 * (double)h->count;
	uint64_t rank = r < 1 ? 1 : (uint64_t)r;
	if ((double)rank < r)
		rank++; /* the ceiling, without libm */
	if (rank > h->count)
		rank = h->count;
	uint64_t seen = 0;
	for (unsigned i = 0; i < LOAD_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t v = load_hist_highest(i);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}
