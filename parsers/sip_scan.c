/* SPDX-License-Identifier: MIT */
/* sip_scan.c: the scalar twins of the inline SIMD scans (see sip_scan.h). */
#include "sip_scan.h"

#include <string.h>

const char *sip_scan_lf_scalar(const char *p, const char *end)
{
	const char *q = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
	return q ? q : end;
}

const char *sip_scan_colon_lf_scalar(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p == '\n' || *p == ':')
			return p;
	return end;
}

const char *sip_scan_line_scalar(const char *p, const char *end, const char **colon)
{
	const char *q = sip_scan_colon_lf_scalar(p, end);
	if (q < end && *q == ':') {
		*colon = q;
		return sip_scan_lf_scalar(q + 1, end);
	}
	*colon = NULL;
	return q;
}
