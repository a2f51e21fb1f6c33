/* SPDX-License-Identifier: MIT */
/*
 * sip_scan.h: the byte scans of the hot path, vectorised with a scalar twin.
 *
 * Each scan looks only at [p, end) and returns `end` when nothing is found. The
 * SIMD version (SSE2, part of every x86-64) handles whole 16-octet blocks inside
 * the range and the scalar twin the rest; on other machines the scalar twin does
 * all of it. Tests run both against the same tables.
 */
#ifndef SIPRING_SIP_SCAN_H
#define SIPRING_SIP_SCAN_H

/* First '\n' in [p, end), or end. */
const char *sip_scan_lf(const char *p, const char *end);
const char *sip_scan_lf_scalar(const char *p, const char *end);

#endif
