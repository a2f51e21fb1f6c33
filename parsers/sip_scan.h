/* SPDX-License-Identifier: MIT */
/*
 * sip_scan.h: the byte scans of the hot path, vectorised with a scalar twin.
 *
 * Each scan looks only at [p, end) and returns `end` when nothing is found. The
 * SIMD version (SSE2, part of every x86-64) handles whole 16-octet blocks inside
 * the range and a byte loop the rest, so a message placed against a guard page
 * is never over-read; on other machines the scalar twin does all of it. The
 * SIMD versions are inline: they run once or twice per header line, where a
 * call costs as much as the scan. Tests run both against the same tables.
 */
#ifndef SIPRING_SIP_SCAN_H
#define SIPRING_SIP_SCAN_H

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Scalar twins, for the tests and for machines without SSE2. */
const char *sip_scan_lf_scalar(const char *p, const char *end);
const char *sip_scan_colon_lf_scalar(const char *p, const char *end);
const char *sip_scan_line_scalar(const char *p, const char *end, const char **colon);

/* First '\n' in [p, end), or end. */
static inline const char *sip_scan_lf(const char *p, const char *end)
{
#if defined(__SSE2__)
	const __m128i lf = _mm_set1_epi8('\n');

	/* Two blocks a turn: header lines are 30-100 octets. */
	while (end - p >= 32) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
		unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(a, lf)) |
				((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b, lf)) << 16);
		if (mask)
			return p + __builtin_ctz(mask);
		p += 32;
	}
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

/* First ':' or '\n' in [p, end), or end: where a header name can end. */
static inline const char *sip_scan_colon_lf(const char *p, const char *end)
{
#if defined(__SSE2__)
	const __m128i lf = _mm_set1_epi8('\n'), colon = _mm_set1_epi8(':');

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		unsigned mask = (unsigned)_mm_movemask_epi8(
			_mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, colon)));
		if (mask)
			return p + __builtin_ctz(mask);
		p += 16;
	}
	for (; p < end; p++)
		if (*p == '\n' || *p == ':')
			return p;
	return end;
#else
	return sip_scan_colon_lf_scalar(p, end);
#endif
}

/*
 * A header line in one pass: returns the first '\n' in [p, end) (or end) and
 * sets *colon to the first ':' before it, or NULL. The first 32 octets, which
 * hold the name of nearly every header, are loaded once for both.
 */

static inline const char *sip_scan_line(const char *p, const char *end, const char **colon)
{
#if defined(__SSE2__)
	if (end - p >= 32) {
		const __m128i lf = _mm_set1_epi8('\n'), col = _mm_set1_epi8(':');
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
		unsigned lm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(a, lf)) |
			      ((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b, lf)) << 16);
		unsigned cm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(a, col)) |
			      ((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b, col)) << 16);
		if (lm) {
			cm &= (lm & (0u - lm)) - 1; /* the colons before the first LF */
			*colon = cm ? p + __builtin_ctz(cm) : NULL;
			return p + __builtin_ctz(lm);
		}
		if (cm) {
			*colon = p + __builtin_ctz(cm);
			return sip_scan_lf(p + 32, end);
		}
		p += 32;
	}
	const char *q = sip_scan_colon_lf(p, end);
	if (q < end && *q == ':') {
		*colon = q;
		return sip_scan_lf(q + 1, end);
	}
	*colon = NULL;
	return q;
#else
	return sip_scan_line_scalar(p, end, colon);
#endif
}

#endif
