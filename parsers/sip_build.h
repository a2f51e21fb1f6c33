/* SPDX-License-Identifier: MIT */
/*
 * sip_build.h: compose a SIP request or response as a scatter/gather list.
 *
 * A relay sends what it received with a few pieces changed (a new top Via, a
 * decremented Max-Forwards, a rewritten Contact, ...). The builder expresses the
 * outgoing message as an array of `struct iovec`, ready for sendmsg(): views of
 * the received buffer for everything that is unchanged, plus the few new bytes.
 * When a copy must outlive the receive buffer (a request kept for
 * retransmission or for building a CANCEL), sip_build_flatten() writes the
 * message into one contiguous buffer.
 *
 * Ownership: the iovec array and the scratch buffer belong to the caller, who
 * sizes them; the builder never allocates. An iovec points either into the
 * caller's views (the received buffer, configuration strings, ...) or into the
 * scratch buffer, where the builder writes what it generates (numbers,
 * separators, short header lines); both must live until the message is sent or
 * flattened.
 *
 *   iov[] ─► ┌───────────────┬──────────┬────────────────────────────────┐
 *            │ rx: start line│ scratch: │ rx: Via ... CSeq ... CRLF body │
 *            │ (view)        │ "Via: .."│ (one view: unchanged lines are │
 *            └───────────────┴──────────┴─ contiguous in the rx buffer) ─┘
 *
 * Coalescing: a piece that starts where the previous iovec ends extends that
 * iovec instead of taking a new one. Consecutive unchanged header lines of a
 * parsed message are contiguous (sip_hdr.line), and so are consecutive pieces
 * written into the scratch buffer, so an unedited message relays as one iovec
 * and each edit costs one to three.
 *
 * Errors: -ENOBUFS when the iovec array or the scratch buffer is full; the
 * caller applies back-pressure (drop a datagram, stop reading a stream) or
 * retries with larger buffers. -ENOBUFS is sticky: every later append returns
 * it without doing anything, so a sequence of appends may be checked once at
 * the end (any call's return, or b->err). -EINVAL (a caller's mistake: an
 * edit out of range, a status outside 100-699, ...) is detected before
 * anything is appended and leaves the builder unchanged.
 *
 * Line ends: what the builder writes ends in CRLF; lines copied from a received
 * message keep their own, so a message received with bare LFs (which
 * sip_msg_parse() tolerates) is sent on with a mix of both.
 *
 * A builder is used by one thread at a time; distinct builders are independent.
 */
#ifndef SIPRING_SIP_BUILD_H
#define SIPRING_SIP_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "sip_msg-t.h"
#include "sv.h"

/*
 * A header line of at most this many octets that the builder composes (name,
 * ": ", value, CRLF) is copied whole into the scratch buffer: one short copy is
 * cheaper than three iovecs. Longer values are referenced, not copied.
 */
#define SIP_BUILD_INLINE 96

/*
 * The builder. Fields are read by the caller (iov, niov for sendmsg; len), and
 * written only through the functions below.
 *
 *   scratch: [ used ......................... | free ...... ]
 *            0                               used        scratch_cap
 *   iov:     [ niov entries in order          | free ...... ] iov_cap
 */
struct sip_build {
	struct iovec *iov; /* caller's array, message order */
	unsigned niov;	   /* entries used */
	unsigned iov_cap;  /* entries available (keep <= IOV_MAX for sendmsg) */
	char *scratch;	   /* caller's buffer for generated octets */
	size_t used;	   /* octets of scratch written */
	size_t scratch_cap;
	size_t len; /* total octets of the message so far */
	int err;    /* 0, or -ENOBUFS once something did not fit */
};

/* Start a builder over iov[0..iov_cap) and scratch[0..scratch_cap). */
void sip_build_init(struct sip_build *b, struct iovec *iov, unsigned iov_cap, char *scratch,
		    size_t scratch_cap);

/* Empty the builder (and forget an error) to build another message. */
void sip_build_reset(struct sip_build *b);

/* ---- pieces ---- */

/* Append a view by reference: its octets must live until the message is sent
 * or flattened. An empty view appends nothing. Returns 0 or -ENOBUFS. */
int sip_build_sv(struct sip_build *b, struct sv s);

/* Append a string literal by reference. */
#define sip_build_lit(b, s) sip_build_sv((b), SV_LIT(s))

/* Append a copy of s, written into the scratch buffer (for octets that will
 * not outlive the call). Returns 0 or -ENOBUFS. */
int sip_build_copy(struct sip_build *b, struct sv s);

/* Append an unsigned decimal, written into the scratch buffer. */
int sip_build_u64(struct sip_build *b, uint64_t v);

/* Append printf-formatted text, written into the scratch buffer. */
int sip_build_printf(struct sip_build *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Format into the scratch buffer without appending: *out is set to a view of the
 * text, to be passed later as a value (a Via with its branch, a Max-Forwards
 * count, a rewritten Contact). The view lives as long as the builder's scratch
 * buffer is not reset. Returns 0 or -ENOBUFS (sticky, as for appends);
 * vsnprintf() needs room for its NUL, so the text needs one octet more than
 * its length. sip_build_printf() likewise.
 */
int sip_build_fmt(struct sip_build *b, struct sv *out, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Append a header line "name: value" CRLF. Short lines are copied into the
 * scratch buffer whole; a longer value is referenced. Returns 0 or -ENOBUFS. */
int sip_build_hdr(struct sip_build *b, struct sv name, struct sv value);

/* Append "name: v" CRLF with v written in decimal. */
int sip_build_hdr_u64(struct sip_build *b, struct sv name, uint64_t v);

/* ---- relaying a parsed message ---- */

enum sip_edit_op {
	SIP_EDIT_INSERT = 1, /* add "name: value" before hdrs[at] (at == nhdrs: after the last) */
	SIP_EDIT_DROP,	     /* leave hdrs[at] out */
	SIP_EDIT_REPLACE,    /* keep hdrs[at]'s name as written, with a new value */
};

/*
 * One change to a received message's headers, addressed by the header's index
 * in m->hdrs (for a header found with sip_msg_hdr(): `(uint16_t)(h - m->hdrs)`).
 * A header line holding several comma-separated values is one header here: to
 * remove only the first value of "Via: a, b", replace its value with "b".
 */
struct sip_edit {
	uint8_t op;	 /* enum sip_edit_op */
	uint16_t at;	 /* header index, 0..nhdrs (nhdrs only for INSERT) */
	struct sv name;	 /* INSERT: the header name, e.g. SV_LIT("Record-Route") */
	struct sv value; /* INSERT, REPLACE: the new value, without line end */
};

/* What to change in a relayed message. Zero-initialised, it changes nothing. */
struct sip_relay {
	struct sv ruri; /* requests: a new Request-URI; empty keeps the one received */
	const struct sip_edit *edits; /* in any order */
	unsigned nedits;
	bool new_body;	/* send `body` instead of the received body */
	struct sv body; /* with new_body: the body to send (may be empty) */
};

/*
 * Append message m (parsed by sip_msg_parse(); its buffer must live until the
 * message is sent or flattened) with the changes in r:
 *   - the start line, with r->ruri in place of the Request-URI when set;
 *   - the headers in received order, where at each index the INSERTs for it
 *     come first (in the order of r->edits), then the header itself unless
 *     dropped, with its new value if replaced; then the INSERTs at nhdrs;
 *   - the empty line and the body.
 * Content-Length is the builder's: the output carries exactly one, equal to the
 * body sent. The received one is kept verbatim when it was the only one and
 * equals the length of the body sent; otherwise the first is rewritten in
 * place, others are dropped, and one is added after the last header when there
 * was none (a datagram without it, relayed to a stream, needs it: RFC 3261
 * §18.3). Octets after the body of a datagram (SIP_MSGF_TRAILING) are not
 * relayed.
 *
 * Returns 0, -ENOBUFS, or -EINVAL (nothing appended) when an edit is out of
 * range, DROPs or REPLACEs a header twice or targets a Content-Length, an
 * INSERT has no name, or a Request-URI is given for a response.
 */
int sip_build_relay(struct sip_build *b, const struct sip_msg *m, const struct sip_relay *r);

/* ---- answering a parsed request ---- */

/* An extra header for sip_build_response(). */
struct sip_build_field {
	struct sv name, value;
};

/* Also copy Record-Route (RFC 3261 §12.1.1: 1xx/2xx answers to a dialog-creating
 * request). */
#define SIP_REPLY_RECORD_ROUTE 0x1

struct sip_reply {
	uint16_t status;  /* 100..699 */
	struct sv reason; /* empty: sip_build_reason_phrase(status) */
	struct sv to_tag; /* added as ";tag=" to To when To has no tag (not for 100) */
	const struct sip_build_field *hdrs; /* extra headers, after the copied ones */
	unsigned nhdrs;
	struct sv body; /* may be empty (then write no Content-Type in hdrs) */
	unsigned flags; /* SIP_REPLY_* */
	/* When nvia > 0: the value of the first Via header line, as pieces sent in
	 * order (RFC 3581: the top via-parm with received= and rport= filled in,
	 * then the rest of the line's value as a view). */
	const struct sv *via;
	unsigned nvia;
};

/*
 * Append a response to request m (RFC 3261 §8.2.6): "SIP/2.0 status reason",
 * then by reference, in the order received, every Via, the first From, To,
 * Call-ID and CSeq (and Record-Route with SIP_REPLY_RECORD_ROUTE), the To with
 * ";tag=" r->to_tag appended when r->to_tag is set and To has no tag yet, and
 * the first Via's value replaced by r->via[0..nvia) when given; then
 * the extra headers, Content-Length, the empty line and the body. m's buffer
 * must live until the response is sent or flattened (flatten it to keep it for
 * retransmission).
 *
 * Returns 0, -ENOBUFS, or -EINVAL (nothing appended) when m is not a request or
 * the status is outside 100..699.
 */
int sip_build_response(struct sip_build *b, const struct sip_msg *m, const struct sip_reply *r);

/* The RFC 3261 §21 reason phrase of a status ("Busy Here"), or a generic one for
 * its class ("Client Error") when the status is not listed, "Unknown" outside
 * 100-699. Never NULL. */
const char *sip_build_reason_phrase(uint16_t status);

/* ---- output ---- */

/* Total octets of the message built so far. */
static inline size_t sip_build_len(const struct sip_build *b)
{
	return b->len;
}

/*
 * Copy the message into out[0..cap). Returns its length, b->err if an append
 * failed, or -ENOBUFS (nothing written) when cap is too small.
 */
ssize_t sip_build_flatten(const struct sip_build *b, char *out, size_t cap);

#endif
