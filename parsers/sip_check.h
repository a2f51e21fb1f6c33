/* SPDX-License-Identifier: MIT */
/*
 * sip_check.h: the well-formedness checks a SIP element makes on a parsed
 * message before acting on it (RFC 3261 §8.2, §16.3, §18.1.2, §18.2.1), and the
 * answer each failure calls for.
 *
 * sip_msg_parse() indexes a message; sip_msg_check() then runs the typed parsers
 * on what every element needs (Request-URI, Via, From, To, Call-ID, CSeq,
 * Max-Forwards, Contact) and on the rules between them, and says what to do:
 * nothing (0), answer a request with a status code (400, 416, 505), or drop a
 * response. It reads the message only; thread-safe on distinct messages.
 *
 * Application rules that depend on configuration (420 for unknown Require, 415,
 * 483 on Max-Forwards 0 when forwarding, 406) are the caller's.
 */
#ifndef SIPRING_SIP_CHECK_H
#define SIPRING_SIP_CHECK_H

#include <stdint.h>

#include "sip_msg-t.h"

#define SIP_CHECK_DROP 1 /* a malformed response: discard it silently */

struct sip_check {
	int action;	    /* 0: fine; a status code to answer; or SIP_CHECK_DROP */
	uint16_t hdr;	    /* enum sip_hdr_id of the header at fault, or SIP_HDR_OTHER */
	uint32_t off;	    /* offset in the message buffer of the fault */
	const char *reason; /* static text for a person and for the Reason phrase / Warning */
};

/*
 * Check a message that sip_msg_parse() accepted. Returns c->action (0 when the
 * message may be processed) and fills c.
 */
int sip_msg_check(const struct sip_msg *m, struct sip_check *c);

#endif
