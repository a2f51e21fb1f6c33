/* SPDX-License-Identifier: MIT */
/*
 * sip_hdr.h: typed parsers of SIP header values (RFC 3261 §20, §25.1 and the
 * extensions named below), run lazily on the `value` views of sip_msg.h.
 *
 * Every parser takes a value view and fills a caller-provided struct with views
 * into the same buffer: nothing is copied or allocated, and nothing is read
 * outside the view. Values may still hold folding (CRLF + WSP), read as LWS.
 * Quoted strings are returned without their quotes but with their backslash
 * escapes (sip_unquote() decodes them when a copy is wanted).
 *
 * Returns: 0 (or 1 for an iterator that produced an item), 0 at the end of an
 * iterator, -EBADMSG with err->off relative to the start of the value given and
 * a reason (err may be NULL), -ERANGE for a number over its limit. Thread-safe.
 */
#ifndef SIPRING_SIP_HDR_H
#define SIPRING_SIP_HDR_H

#include <stdbool.h>
#include <stdint.h>

#include "sip_msg-t.h"
#include "sv.h"

/* ---- lists and parameters ---- */

/*
 * Next element of a comma-separated header value, honouring quoted strings and
 * <...>. *rest is the unread part (start with the whole value). Returns 1 with
 * the trimmed element in *item, 0 when the list is done, -EBADMSG for an empty
 * element (RFC 4475 badinv01: ";;,;,,") or an unterminated quote or '<'.
 */
int sip_list_next(struct sv *rest, struct sv *item, struct sip_err *err);

/*
 * Next ;name[=value] generic parameter (RFC 3261 generic-param) from *rest,
 * which starts at a ';', at a name (as the params views below do, which leave
 * out the first ';'), or is empty. LWS is allowed around ';' and '='; a value
 * is a token, a host, or a quoted string (returned without quotes). Returns 1,
 * 0 at the end, -EBADMSG for an empty or malformed parameter.
 */
int sip_param_next(struct sv *rest, struct sv *name, struct sv *value, struct sip_err *err);

/* Value of a parameter by name (case-insensitive) in a params view as produced
 * by the parsers below. True when present; *value is empty for a bare name. */
bool sip_param_get(struct sv params, const char *name, struct sv *value);

/* Decode a quoted string's contents (backslash escapes) into out. Returns the
 * length, or -ENOBUFS. */
int sip_unquote(struct sv q, char *out, size_t cap);

/* ---- Via (RFC 3261 §20.42, RFC 3581) ---- */
struct sip_via {
	struct sv proto;     /* "SIP" */
	struct sv version;   /* "2.0" */
	struct sv transport; /* "UDP", "TCP", "TLS", or any token (RFC 4475 transports) */
	struct sv host;	     /* sent-by host; IPv6 without brackets */
	uint8_t host_type;   /* enum sip_host_type (sip_uri.h) */
	bool has_rport;	     /* ;rport present, with or without a value */
	uint16_t port;	     /* sent-by port, 0 when absent */
	uint16_t rport;	     /* ;rport=N value, 0 when absent or empty */
	struct sv params;    /* from the first ';' (without it) to the end of this via-parm */
	struct sv branch, received, maddr, ttl; /* values as written ("[2001:db8::1]" keeps
						 * its brackets); empty when absent */
};

/* Next via-parm of a Via value (several may be comma-separated). Returns 1, 0
 * at the end, or an error. */
int sip_via_next(struct sv *rest, struct sip_via *v, struct sip_err *err);

/* ---- name-addr / addr-spec: From, To, Contact, Route, Record-Route, Path,
 * P-Asserted-Identity, Refer-To, Reply-To (RFC 3261 §20.10, §25.1) ---- */
struct sip_addr {
	struct sv display; /* display name: unquoted contents or the tokens; may be empty */
	struct sv uri;	   /* the URI text, without < > */
	struct sv params;  /* header parameters after the address, without the first ';' */
	struct sv tag;	   /* ;tag= value (From/To), empty when absent */
	bool star;	   /* Contact: * */
	bool quoted;	   /* the display name was a quoted string */
	bool bracketed;	   /* the URI was in < > */
};

/*
 * Parse one address. In addr-spec form (no < >) the URI ends at the first ';'
 * and what follows are header parameters, as RFC 3261 §20.10 says. Returns 0 or
 * an error (unbalanced quote or bracket, display name without < >, ...).
 */
int sip_addr_parse(struct sv value, struct sip_addr *a, struct sip_err *err);

/* Next address of a comma-separated list (Contact, Route, Record-Route, Path,
 * P-Asserted-Identity). Returns 1, 0 at the end, or an error. */
int sip_addr_next(struct sv *rest, struct sip_addr *a, struct sip_err *err);

/* Contact (RFC 3261 §20.10, RFC 5626): the address plus its parameters. */
struct sip_contact {
	struct sip_addr addr;
	bool has_expires, has_q, has_reg_id;
	uint32_t expires;   /* ;expires= delta-seconds (clamped to UINT32_MAX) */
	uint16_t q;	    /* ;q= in thousandths, 0..1000 */
	uint32_t reg_id;    /* ;reg-id= (RFC 5626) */
	struct sv instance; /* ;+sip.instance= value, without quotes (e.g. "<urn:uuid:...>") */
};

/* Next Contact of a Contact value; `*` yields one contact with addr.star set.
 * Returns 1, 0 at the end, or an error (e.g. q above 1). */
int sip_contact_next(struct sv *rest, struct sip_contact *c, struct sip_err *err);

/* ---- single-value headers ---- */
struct sip_cseq {
	uint32_t seq;	/* < 2**31 (RFC 3261 §8.1.1.5); larger is -EBADMSG (RFC 4475 scalar02) */
	uint8_t method; /* enum sip_method */
	struct sv method_name;
};
int sip_cseq_parse(struct sv value, struct sip_cseq *c, struct sip_err *err);

/* Call-ID = word [ "@" word ]; *id is the trimmed value. */
int sip_callid_parse(struct sv value, struct sv *id, struct sip_err *err);

/* A delta-seconds or other unsigned scalar header (Max-Forwards with max 255,
 * Expires, Min-Expires, Content-Length, Retry-After's value) with no
 * parameters. -EBADMSG when not digits, -ERANGE over max. */
int sip_uint_parse(struct sv value, uint32_t max, uint32_t *out, struct sip_err *err);

/* Content-Type (RFC 3261 §20.15): type "/" subtype *(;param). */
struct sip_ctype {
	struct sv type, subtype, params;
};
int sip_ctype_parse(struct sv value, struct sip_ctype *c, struct sip_err *err);

/* Session-Expires (RFC 4028): delta-seconds *(;param), refresher=uac|uas. */
struct sip_session_expires {
	uint32_t delta;
	struct sv refresher; /* "uac", "uas" or empty */
	struct sv params;
};
int sip_session_expires_parse(struct sv value, struct sip_session_expires *s, struct sip_err *err);

/* Min-SE (RFC 4028): delta-seconds *(;param). */
int sip_min_se_parse(struct sv value, uint32_t *delta, struct sip_err *err);

/* Next option tag of Require / Proxy-Require / Supported / Unsupported (or of
 * Allow's methods): a token. Returns 1, 0 at the end, or an error. */
int sip_token_next(struct sv *rest, struct sv *token, struct sip_err *err);

/* Privacy (RFC 3323, RFC 3325): priv-values separated by ';'. */
#define SIP_PRIVACY_HEADER   0x01
#define SIP_PRIVACY_SESSION  0x02
#define SIP_PRIVACY_USER     0x04
#define SIP_PRIVACY_NONE     0x08
#define SIP_PRIVACY_CRITICAL 0x10
#define SIP_PRIVACY_ID	     0x20
#define SIP_PRIVACY_OTHER    0x80 /* an unknown token was present */
int sip_privacy_parse(struct sv value, unsigned *flags, struct sip_err *err);

/* ---- authentication (RFC 3261 §20.7, §20.28, §20.44; RFC 7616; RFC 8760) ---- */

/*
 * Authorization, Proxy-Authorization, WWW-Authenticate, Proxy-Authenticate:
 * scheme then comma-separated auth-params. Digest parameters are picked out
 * (quotes removed); an unknown scheme ("NoOneKnowsThisScheme", RFC 4475
 * regaut01) parses with its raw params so the registrar can challenge it.
 */
struct sip_auth {
	struct sv scheme; /* "Digest", or any token */
	bool is_digest;
	struct sv username, realm, nonce, uri, response, algorithm, cnonce, opaque, qop, nc, stale,
		domain, userhash;
	struct sv params; /* everything after the scheme */
};
int sip_auth_parse(struct sv value, struct sip_auth *a, struct sip_err *err);

#endif
