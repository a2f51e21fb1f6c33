/* SPDX-License-Identifier: MIT */
/* dns_ttl.c: see dns_ttl.h. */
#include "dns_ttl.h"

#include <errno.h>
#include <stdbool.h>

#define HDR_LEN	  12
#define NAME_MAX_ 255 /* octets of a name on the wire, expanded (RFC 1035 §3.1) */
#define HOPS_MAX  64

static int bad(struct dns_ttl_err *err, size_t off, const char *reason)
{
	if (err) {
		err->off = off;
		err->reason = reason;
	}
	return -EBADMSG;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Check the name at *off and move *off past it (past the first pointer when it
 * is compressed: what follows a pointer is the record, not more name).
 */
static int name_skip(const uint8_t *msg, size_t len, size_t *off, struct dns_ttl_err *err)
{
	size_t at = *off, end = 0, total = 0;
	unsigned hops = 0;
	bool jumped = false;

	for (;;) {
		uint8_t l;

		if (at >= len)
			return bad(err, at, "name runs past the end");
		l = msg[at];
		if (l == 0) {
			total++;
			if (!jumped)
				end = at + 1;
			break;
		}
		if ((l & 0xc0) == 0xc0) {
			size_t to;

			if (at + 1 >= len)
				return bad(err, at, "compression pointer cut short");
			to = (size_t)(l & 0x3f) << 8 | msg[at + 1];
			if (to >= len)
				return bad(err, at, "compression pointer out of the message");
			if (++hops > HOPS_MAX)
				return bad(err, at, "compression pointer loop");
			if (!jumped)
				end = at + 2;
			jumped = true;
			at = to;
			continue;
		}
		if (l & 0xc0)
			return bad(err, at, "extended label type");
		total += 1u + l;
		if (total >= NAME_MAX_)
			return bad(err, at, "name longer than 255 octets");
		if (at + 1 + l >= len)
			return bad(err, at, "label runs past the end");
		at += 1u + l;
	}
	*off = end;
	return 0;
}

int dns_ttl_min(const uint8_t *msg, size_t len, uint16_t type, uint32_t *ttl,
		struct dns_ttl_err *err)
{
	size_t off = HDR_LEN;
	unsigned qd, an;
	uint32_t best = UINT32_MAX;
	int n = 0;

	if (!msg || len < HDR_LEN)
		return bad(err, len, "shorter than a DNS header");
	qd = rd16(msg + 4);
	an = rd16(msg + 6);
	for (unsigned i = 0; i < qd; i++) {
		if (name_skip(msg, len, &off, err))
			return -EBADMSG;
		if (len - off < 4)
			return bad(err, off, "question cut short");
		off += 4;
	}
	for (unsigned i = 0; i < an; i++) {
		uint16_t rtype, rclass, rdlen;
		uint32_t t;

		if (name_skip(msg, len, &off, err))
			return -EBADMSG;
		if (len - off < 10)
			return bad(err, off, "record header cut short");
		rtype = rd16(msg + off);
		rclass = rd16(msg + off + 2);
		t = rd32(msg + off + 4);
		rdlen = rd16(msg + off + 8);
		off += 10;
		if (len - off < rdlen)
			return bad(err, off, "record data runs past the end");
		off += rdlen;
		if (rtype != type || rclass != 1)
			continue;
		if (t & 0x80000000u)
			t = 0;
		if (t < best)
			best = t;
		n++;
	}
	if (n)
		*ttl = best;
	return n;
}
