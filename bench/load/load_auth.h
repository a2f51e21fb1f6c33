/* SPDX-License-Identifier: MIT */
/*
 * load_auth.h: the client side of SIP digest authentication in sipring-load:
 * read the challenges of a 401 (parsers/sip_hdr.h's sip_auth_parse()), pick
 * one, compute the response with core/auth.h's auth_response() (OpenSSL) and
 * write the Authorization header line of the next request.
 *
 * Which challenge: the first Digest one with algorithm=SHA-256, else the first
 * with MD5 (or no algorithm, which means MD5); -sess variants, other
 * algorithms and other schemes are passed over. qop=auth when the challenge
 * offers it (nc=00000001 and the caller's cnonce), the RFC 2069 form when it
 * offers no qop; a challenge offering only auth-int is passed over.
 *
 * No I/O, no allocation of our own (OpenSSL allocates a digest context per
 * call); the line is written into the caller's buffer. Thread-safe as long as
 * no two threads share a struct load_ha1.
 */
#ifndef SIPRING_LOAD_AUTH_H
#define SIPRING_LOAD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "load_sip.h"

/*
 * The HA1s of one user (H(user:realm:password)), computed at its first
 * challenge with auth_ha1() and given to auth_response() as stored ones while
 * the realm stays the same: two hashes per answer instead of three. The realm is
 * known by a 32-bit hash only (a benchmark has one): a collision would show as
 * failed registrations, never as a wrong count. Zeroed = empty.
 */
struct load_ha1 {
	uint32_t realm_hash; /* FNV-1a of the realm the HA1s are for */
	uint8_t have;	     /* bit 1 << enum auth_alg: that HA1 is computed */
	uint8_t md5[16];
	uint8_t sha256[32];
};

/* What the credentials are for. */
struct load_auth_req {
	uint32_t user;	      /* its number: name and password by load_sip.h's rule */
	const char *method;   /* "REGISTER" */
	const char *uri;      /* the Request-URI, the digest-uri */
	const char *cnonce;   /* a few characters of [0-9a-zA-Z-]: differs per request */
	struct load_ha1 *ha1; /* the user's HA1 cache (updated here), or NULL for none */
};

/*
 * Write "Authorization: Digest username=..., ...\r\n" answering a challenge
 * of the 401 a (its challenge[] views, from load_answer_scan()) for r into
 * out[0..cap). Returns the line's length, -ENOTSUP when no challenge is usable,
 * -EBADMSG when the one picked does not parse or lacks realm or nonce,
 * -ENOBUFS when cap is too small, -ENOMEM when OpenSSL fails.
 */
int load_auth_line(const struct load_answer *a, const struct load_auth_req *r, char *out,
		   size_t cap);

#endif
