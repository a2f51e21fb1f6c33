/* SPDX-License-Identifier: MIT */
/*
 * sip_scan.c: vectorised byte scans with their scalar twins (see sip_scan.h).
 *
 * Loads are 16-octet unaligned SSE2 loads that stay inside [p, end): the last
 * partial block goes to the scalar twin, so a message placed against a guard
 * page is never over-read.
 */
#include "sip_scan.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

const char *sip_scan_lf_scalar(const char *p, const char *end)
{
	const char *q = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
	return q ? q : end;
}

const char *sip_scan_lf(const char *p, const char *end)
{
#if defined(__SSE2__)
	const __m128i lf = _mm_set1_epi8('\n');

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf));
		if (mask)
			return p + __builtin_ctz(mask);
		p += 16;
	}
	for (; p < end; p++)
		if (*p == '\n')
			return p;
	return end;
#else
	return sip_scan_lf_scalar(p, end);
#endif
}
