/* SPDX-License-Identifier: MIT */
/*
 * sip_msg.h: the zero-copy SIP message parser (RFC 3261 §7, §20, §25) and stream
 * framing.
 *
 * sip_msg_parse() indexes a message in one pass: start line, then every header
 * line as {name, value, id}, then the body by Content-Length. It never copies and
 * never allocates: views point into the caller's buffer and live until the
 * caller recycles it; the header array belongs to the caller. It never reads
 * outside [buf, buf + len). Typed parsing of a header's value (Via, From, CSeq,
 * ...) is left to sip_hdr.h and sip_uri.h, run lazily by whoever needs it.
 *
 * All functions are reentrant and thread-safe on distinct messages.
 */
#ifndef SIPRING_SIP_MSG_H
#define SIPRING_SIP_MSG_H

#include <stddef.h>
#include <sys/types.h>

#include "sip_msg-t.h"

/* Parse flags. */
#define SIP_PARSE_STREAM 0x1 /* buf is a byte stream (TCP): may be incomplete */

/* Defaults: 64 KiB message, 8 KiB header line, 128 headers. */
extern const struct sip_limits sip_limits_default;

/* Prepare m to index into hdrs[0..cap). */
void sip_msg_init(struct sip_msg *m, struct sip_hdr *hdrs, uint16_t cap);

/*
 * Parse one message at buf.
 *
 * Datagram (flags without SIP_PARSE_STREAM): buf is the whole datagram. CRLFs
 * before the start line are skipped; octets after Content-Length are ignored
 * (RFC 4475 dblreq); without Content-Length the body is the rest.
 * Stream: buf starts at a message (see sip_stream_frame() for keep-alives) and
 * may hold less or more than one; Content-Length is required.
 *
 * Returns the message's length in octets (> 0) on success, and then every field
 * of m is set. On failure returns:
 *   -EAGAIN    stream: the message is not complete yet;
 *   -EBADMSG   malformed (m->err says where and why);
 *   -EMSGSIZE  over lim->max_msg or lim->max_hdr_len (answer 513);
 *   -E2BIG     more headers than lim->max_hdrs or the array holds.
 * On every failure m->err is set; the fields of m are then undefined except that
 * the start line is valid when m->type is non-zero, and every header is indexed
 * when m->hdr_end is non-zero (the failure was about the body: Content-Length
 * beyond a datagram, or the size limit), so that a server can still answer
 * 400 or 513.
 * lim may be NULL for sip_limits_default.
 */
int sip_msg_parse(struct sip_msg *m, const char *buf, size_t len, unsigned flags,
		  const struct sip_limits *lim);

/*
 * Stream framing: find the next message in a byte stream without indexing it.
 * Leading CRLFs (RFC 5626 keep-alives) are counted in *skip; the caller answers
 * a double CRLF ping with a single CRLF pong. Returns the length of the message
 * that starts at buf + *skip, -EAGAIN when more octets are needed (a stream of
 * only CRLFs too), -EBADMSG (err set) or -EMSGSIZE.
 */
ssize_t sip_stream_frame(const char *buf, size_t len, const struct sip_limits *lim, size_t *skip,
			 struct sip_err *err);

/* Header id of a header name (long or compact form, any case), or SIP_HDR_OTHER. */
enum sip_hdr_id sip_hdr_lookup(const char *name, size_t len);

/* Canonical name of a header id ("Call-ID"), or NULL for SIP_HDR_OTHER. */
const char *sip_hdr_canon(enum sip_hdr_id id);

/* Method id of a method token (case-sensitive, RFC 3261 §7.1), or OTHER. */
enum sip_method sip_method_lookup(struct sv name);
const char *sip_method_str(enum sip_method m);

/* First header of an id, the next one after h, or NULL. */
static inline const struct sip_hdr *sip_msg_hdr(const struct sip_msg *m, enum sip_hdr_id id)
{
	uint16_t i = m->first[id];
	return i == SIP_HDR_NONE ? NULL : &m->hdrs[i];
}

static inline const struct sip_hdr *sip_msg_hdr_next(const struct sip_msg *m,
						     const struct sip_hdr *h)
{
	return h->next == SIP_HDR_NONE ? NULL : &m->hdrs[h->next];
}

/* First header with this name (case-insensitive; for unknown headers), or NULL. */
const struct sip_hdr *sip_msg_hdr_by_name(const struct sip_msg *m, struct sv name);

/* How many headers of an id the message holds. */
unsigned sip_msg_hdr_count(const struct sip_msg *m, enum sip_hdr_id id);

/* A readable name for a negative errno returned by the parsers ("EBADMSG"). */
const char *sip_strerror(int code);

#endif
