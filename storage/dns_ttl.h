/* SPDX-License-Identifier: MIT */
/*
 * dns_ttl.h: the TTL of the answer records of a raw DNS message.
 *
 * c-ares 1.18 parses SRV and NAPTR answers (ares_parse_srv_reply(),
 * ares_parse_naptr_reply()) without their TTL, which the domain cache
 * (domains.h) needs; ares_query()'s callback hands over the whole answer
 * (abuf, alen), so this walks it: header, questions, then the answer section,
 * and returns the least TTL of the records of one type and class IN.
 *
 * A parser in the style of parsers/: no allocation, no I/O, every read checked
 * against the end of the message, so it is safe on any input (a fuzz target
 * feeds it garbage). Names are checked, not just skipped: labels of at most 63
 * octets, no extended label types (0x40, 0x80), compression pointers that land
 * inside the message, at most 255 octets once expanded and at most 64 pointer
 * hops (a loop of pointers is malformed, not an endless walk).
 *
 * Thread-safe (no state).
 */
#ifndef SIPRING_DNS_TTL_H
#define SIPRING_DNS_TTL_H

#include <stddef.h>
#include <stdint.h>

/* Record types, as on the wire. */
enum {
	DNS_TTL_T_A = 1,
	DNS_TTL_T_CNAME = 5,
	DNS_TTL_T_SOA = 6,
	DNS_TTL_T_AAAA = 28,
	DNS_TTL_T_SRV = 33,
	DNS_TTL_T_NAPTR = 35,
};

/* Where and why a message was refused: an offset into it, a static string. */
struct dns_ttl_err {
	size_t off;
	const char *reason;
};

/*
 * The least TTL of the answer-section records of `type` (class IN) in the
 * DNS message msg[0..len). A TTL with its top bit set counts as 0 (RFC 2181
 * §8). Returns the number of such records (> 0) with *ttl set; 0 when there is
 * none (*ttl untouched); -EBADMSG when the message is malformed up to the end
 * of the answer section (the sections after it are not read), with *err (when
 * not NULL) saying where.
 */
int dns_ttl_min(const uint8_t *msg, size_t len, uint16_t type, uint32_t *ttl,
		struct dns_ttl_err *err);

#endif
