/* SPDX-License-Identifier: MIT */
/*
 * sip_msg-t.h: the types of a parsed SIP message (see sip_msg.h).
 *
 * A parsed message is the caller's receive buffer plus an index of views:
 *
 *   buf ─►┌──────────────────────────────┐
 *         │ INVITE sip:a@b SIP/2.0\r\n   │  start line: method, ruri, version
 *         │ Via: SIP/2.0/UDP h;branch=..│  hdrs[0] {name, value, id=VIA, next}
 *         │ v: SIP/2.0/TCP ...\r\n       │  hdrs[k] ... first[VIA] -> 0 -> k
 *         │ ...                          │
 *         │ \r\n                         │  hdr_end
 *         │ v=0 ... (Content-Length)     │  body
 *         └──────────────────────────────┘  msg_len (octets after it ignored)
 *
 * Nothing is copied and nothing is allocated: `hdrs` is an array the caller owns.
 */
#ifndef SIPRING_SIP_MSG_T_H
#define SIPRING_SIP_MSG_T_H

#include <stdint.h>

#include "sv.h"

/*
 * Well-known headers: X(id, long name in lower case, compact form or 0).
 * The parser maps each header name, long or compact, in any case, to its id.
 */
#define SIP_HDR_LIST(X)                                    \
	X(VIA, "via", 'v')                                 \
	X(FROM, "from", 'f')                               \
	X(TO, "to", 't')                                   \
	X(CALL_ID, "call-id", 'i')                         \
	X(CSEQ, "cseq", 0)                                 \
	X(CONTACT, "contact", 'm')                         \
	X(MAX_FORWARDS, "max-forwards", 0)                 \
	X(CONTENT_LENGTH, "content-length", 'l')           \
	X(CONTENT_TYPE, "content-type", 'c')               \
	X(CONTENT_ENCODING, "content-encoding", 'e')       \
	X(CONTENT_DISPOSITION, "content-disposition", 0)   \
	X(EXPIRES, "expires", 0)                           \
	X(MIN_EXPIRES, "min-expires", 0)                   \
	X(ROUTE, "route", 0)                               \
	X(RECORD_ROUTE, "record-route", 0)                 \
	X(PATH, "path", 0)                                 \
	X(AUTHORIZATION, "authorization", 0)               \
	X(PROXY_AUTHORIZATION, "proxy-authorization", 0)   \
	X(WWW_AUTHENTICATE, "www-authenticate", 0)         \
	X(PROXY_AUTHENTICATE, "proxy-authenticate", 0)     \
	X(AUTHENTICATION_INFO, "authentication-info", 0)   \
	X(REQUIRE, "require", 0)                           \
	X(PROXY_REQUIRE, "proxy-require", 0)               \
	X(SUPPORTED, "supported", 'k')                     \
	X(UNSUPPORTED, "unsupported", 0)                   \
	X(ALLOW, "allow", 0)                               \
	X(ACCEPT, "accept", 0)                             \
	X(SESSION_EXPIRES, "session-expires", 'x')         \
	X(MIN_SE, "min-se", 0)                             \
	X(PRIVACY, "privacy", 0)                           \
	X(P_ASSERTED_IDENTITY, "p-asserted-identity", 0)   \
	X(P_PREFERRED_IDENTITY, "p-preferred-identity", 0) \
	X(REMOTE_PARTY_ID, "remote-party-id", 0)           \
	X(EVENT, "event", 'o')                             \
	X(SUBJECT, "subject", 's')                         \
	X(USER_AGENT, "user-agent", 0)                     \
	X(SERVER, "server", 0)                             \
	X(DATE, "date", 0)                                 \
	X(REFER_TO, "refer-to", 'r')                       \
	X(REFERRED_BY, "referred-by", 'b')                 \
	X(RETRY_AFTER, "retry-after", 0)                   \
	X(REASON, "reason", 0)                             \
	X(ALLOW_EVENTS, "allow-events", 'u')               \
	X(SUBSCRIPTION_STATE, "subscription-state", 0)

enum sip_hdr_id {
	SIP_HDR_OTHER = 0, /* any header not in SIP_HDR_LIST, kept verbatim */
#define SIP_HDR_ENUM_(id, name, compact) SIP_HDR_##id,
	SIP_HDR_LIST(SIP_HDR_ENUM_)
#undef SIP_HDR_ENUM_
		SIP_HDR__COUNT
};

enum sip_method {
	SIP_METHOD_OTHER = 0,
	SIP_METHOD_INVITE,
	SIP_METHOD_ACK,
	SIP_METHOD_BYE,
	SIP_METHOD_CANCEL,
	SIP_METHOD_REGISTER,
	SIP_METHOD_OPTIONS,
	SIP_METHOD_INFO,
	SIP_METHOD_PRACK,
	SIP_METHOD_UPDATE,
	SIP_METHOD_SUBSCRIBE,
	SIP_METHOD_NOTIFY,
	SIP_METHOD_REFER,
	SIP_METHOD_MESSAGE,
	SIP_METHOD_PUBLISH,
	SIP_METHOD__COUNT
};

/* No header: the value of first[] and next for "none". */
#define SIP_HDR_NONE UINT16_MAX

/* Header flags. */
#define SIP_HDRF_FOLDED 0x1 /* the value spans folded lines (holds CRLF + WSP) */

/*
 * One header line as received. `value` is trimmed of leading and trailing LWS
 * but otherwise verbatim: a folded value keeps its CRLF + WSP inside, which the
 * typed parsers read as white space. `line` spans the whole header, from the
 * first octet of the name to just after its terminating line end, which is what
 * a relay copies or skips.
 */
struct sip_hdr {
	struct sv name;
	struct sv value;
	struct sv line;
	uint16_t id;	/* enum sip_hdr_id */
	uint16_t next;	/* index of the next header with the same id, or SIP_HDR_NONE */
	uint16_t flags; /* SIP_HDRF_* */
};

/* Why a parse failed: a stable code, where, and a reason for a person. */
struct sip_err {
	int code;	    /* the negative errno the parser returned */
	uint32_t off;	    /* offset in the buffer where the problem was seen */
	const char *reason; /* static string, e.g. "header name has no colon" */
};

/*
 * Limits the parser enforces (sip_msg_limits_default() gives sane values).
 * A message over max_msg or a header over max_hdr_len yields -EMSGSIZE (a server
 * answers 513); more than max_hdrs headers (or more than the caller's array
 * holds) yields -E2BIG.
 */
struct sip_limits {
	uint32_t max_msg;
	uint32_t max_hdr_len;
	uint16_t max_hdrs;
};

enum sip_msg_type { SIP_MSG_REQUEST = 1, SIP_MSG_RESPONSE = 2 };

/* Message flags. */
#define SIP_MSGF_CL_MULTI 0x1 /* Content-Length appeared more than once */
#define SIP_MSGF_NO_CL	  0x2 /* no Content-Length (datagram: body is the rest) */
#define SIP_MSGF_TRAILING 0x4 /* a datagram held octets after Content-Length */

struct sip_msg {
	const char *buf;	      /* the caller's buffer, as given to sip_msg_parse() */
	uint32_t len;		      /* octets of buf given */
	uint8_t type;		      /* enum sip_msg_type */
	uint8_t method;		      /* enum sip_method (request: start line; response: 0) */
	uint16_t status;	      /* response status code, 100..699 */
	uint16_t flags;		      /* SIP_MSGF_* */
	uint8_t ver_major, ver_minor; /* SIP-Version (2.0 unless the layer above answers 505) */

	struct sv method_name; /* request: the method token as written */
	struct sv ruri;	       /* request: the Request-URI, unparsed */
	struct sv version;     /* "SIP/2.0" as written */
	struct sv reason;      /* response: reason phrase (may be empty) */
	struct sv start_line;  /* the whole first line without its line end */

	struct sip_hdr *hdrs;		/* caller's array */
	uint16_t nhdrs;			/* headers found */
	uint16_t cap;			/* size of the caller's array */
	uint16_t first[SIP_HDR__COUNT]; /* index of the first header of each id */

	uint32_t hdr_end;	 /* offset of the first body octet */
	uint32_t msg_len;	 /* offset just past the body: the message's length */
	uint64_t content_length; /* value of the first Content-Length (0 when absent) */
	struct sv body;

	struct sip_err err; /* set when sip_msg_parse() fails */
};

#endif
