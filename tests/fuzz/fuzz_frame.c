/* SPDX-License-Identifier: MIT */
/*
 * fuzz_frame: stream framing (sip_stream_frame) against the full parser.
 *
 * The input is a TCP byte stream. It is framed message after message twice:
 * once as if only a prefix had arrived (its length taken from the first
 * octet), once whole. A framer that answers from a prefix (a length, or an
 * error other than -EAGAIN) must answer the same when more octets follow. Each
 * framed message is checked against sip_msg_parse(SIP_PARSE_STREAM): when the
 * parser accepts the rest of the stream it ends where the framer says (unless
 * the framer refused conflicting Content-Length values, which the parser only
 * flags), and the parser never asks for more octets than the framer framed.
 */
#include <errno.h>
#include <string.h>

#include "parsers/sip_msg.h"
#include "tests/fuzz/fuzz.h"

#define NH   128
#define NMSG 64

static struct sip_hdr hdrs[NH];

struct frame {
	size_t off, skip;
	ssize_t r; /* length, or the error that ended the walk */
};

/* Frame [buf, buf + len) from the start; returns how many frames were recorded. */
static size_t walk(const char *buf, size_t len, struct frame *f, bool check)
{
	size_t off = 0, n = 0;

	while (n < NMSG) {
		struct sip_err err = { 0 };
		size_t skip = 0;
		ssize_t r = sip_stream_frame(buf + off, len - off, NULL, &skip, &err);

		f[n] = (struct frame){ off, skip, r };
		n++;
		CHECK(skip <= len - off);
		if (r < 0) {
			CHECK(r == -EAGAIN || r == -EBADMSG || r == -EMSGSIZE);
			CHECK(err.reason != NULL && err.off <= len - off);
			break;
		}
		CHECK(r > 0 && (size_t)r <= len - off - skip);
		if (check) {
			const char *msg = buf + off + skip;
			size_t rest = len - off - skip;
			struct sip_msg m;

			/* The parser on the rest of the stream. */
			sip_msg_init(&m, hdrs, NH);
			int p = sip_msg_parse(&m, msg, rest, SIP_PARSE_STREAM, NULL);
			if (p > 0)
				CHECK(p == r);
			/* The parser on exactly the framed octets never needs more. */
			sip_msg_init(&m, hdrs, NH);
			p = sip_msg_parse(&m, msg, (size_t)r, SIP_PARSE_STREAM, NULL);
			CHECK(p != -EAGAIN);
			if (p > 0)
				CHECK(p == r);
		}
		off += skip + (size_t)r;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	static struct frame part[NMSG], whole[NMSG];
	size_t cut = size ? data[0] % (size + 1) : 0;

	size_t np = walk(buf, cut, part, false);
	size_t nw = walk(buf, size, whole, true);

	for (size_t i = 0; i < np; i++) {
		if (part[i].r == -EAGAIN)
			break;
		CHECK(i < nw);
		CHECK(part[i].off == whole[i].off);
		CHECK(part[i].skip == whole[i].skip);
		CHECK(part[i].r == whole[i].r);
	}

	/* Where the parser accepts the stream at its start, the framer agrees. */
	struct sip_msg m;
	sip_msg_init(&m, hdrs, NH);
	int p = sip_msg_parse(&m, buf, size, SIP_PARSE_STREAM, NULL);
	if (p > 0) {
		CHECK(nw > 0);
		if (whole[0].r < 0)
			CHECK(whole[0].r == -EBADMSG && (m.flags & SIP_MSGF_CL_MULTI));
		else
			CHECK((size_t)p == whole[0].skip + (size_t)whole[0].r);
	}
	return 0;
}
