/* SPDX-License-Identifier: MIT */
/*
 * crc32c.h: CRC-32C (Castagnoli, the iSCSI / ext4 / RFC 3720 polynomial).
 *
 * The spool frames each record with a CRC-32C of its length and payload, so that
 * a torn or damaged record is detected instead of misread. On x86-64 with SSE4.2
 * the CPU's crc32 instruction does the work; elsewhere a table (one octet per
 * step) gives the same value. Both paths are exposed so that a test can check
 * one against the other.
 *
 * Pure functions: no state, no allocation, safe from any thread.
 */
#ifndef SIPRING_CRC32C_H
#define SIPRING_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * Extend `crc` (0 to start) with len octets at p and return the new value. The
 * usual pre- and post-inversion are inside: crc32c(crc32c(0, a), b) equals the
 * CRC of a followed by b. crc32c(0, "123456789", 9) == 0xe3069283.
 */
uint32_t crc32c(uint32_t crc, const void *p, size_t len);

/* The table path alone, whatever the CPU (the scalar twin of crc32c()). */
uint32_t crc32c_sw(uint32_t crc, const void *p, size_t len);

#endif
