/* SPDX-License-Identifier: MIT */
/*
 * sip_uri.h: SIP, SIPS and tel URIs (RFC 3261 §19.1, §25.1; RFC 3966), parsed
 * into views, and compared per RFC 3261 §19.1.4.
 *
 * sip_uri_parse() copies nothing and allocates nothing: every field is a view
 * into the input, still %-escaped as written (the user part of RFC 4475 esc01 is
 * returned as "sips%3Auser%40example.com"). Comparison unescapes on the fly.
 * Any other scheme ("http:", "urn:") parses as SIP_URI_OTHER with only `scheme`
 * and `opaque` set, so that the layer above can answer 416. Thread-safe.
 */
#ifndef SIPRING_SIP_URI_H
#define SIPRING_SIP_URI_H

#include <stdbool.h>
#include <stdint.h>

#include "sip_msg-t.h"
#include "sv.h"

enum sip_uri_scheme { SIP_URI_OTHER = 0, SIP_URI_SIP, SIP_URI_SIPS, SIP_URI_TEL };
enum sip_host_type { SIP_HOST_NONE = 0, SIP_HOST_NAME, SIP_HOST_IPV4, SIP_HOST_IPV6 };

struct sip_uri {
	uint8_t scheme;	   /* enum sip_uri_scheme */
	uint8_t host_type; /* enum sip_host_type */
	uint16_t port;	   /* 0 when absent */
	bool has_password;
	bool lr;	       /* ;lr present */
	struct sv scheme_name; /* as written, e.g. "SIP" */
	struct sv user;	       /* sip/sips userinfo user part (escaped); tel: the number */
	struct sv password;    /* after the ':' in userinfo */
	struct sv host;	       /* as written; IPv6 reference without its brackets */
	struct sv params;      /* everything after the first ';' up to '?' or end, no leading ';' */
	struct sv headers;     /* everything after '?', no leading '?' */
	/* Well-known params: values as written (first of each); .p == NULL when absent. */
	struct sv transport, user_param, method, maddr, ttl;
	struct sv opaque; /* SIP_URI_OTHER: everything after "scheme:" */
};

/*
 * Parse a URI. Returns 0, or -EBADMSG with err->off relative to s.p and a reason
 * (err may be NULL). A sip/sips URI needs a host; an IPv6 reference must be in
 * brackets and well-formed (RFC 5118); a port is 1-65535 digits-only. White
 * space anywhere is an error (RFC 4475 lwsruri, badaspec).
 */
int sip_uri_parse(struct sv s, struct sip_uri *u, struct sip_err *err);

/*
 * hostport = host [ ":" port ] (RFC 3261 §25.1), as in a URI or a Via sent-by:
 * hostname, IPv4address, or IPv6reference in brackets ("[2001:db8::1]:5060").
 * *host is returned without brackets; *port is 0 when absent. Returns 0 or
 * -EBADMSG (bad name, bad IPv4/IPv6 such as ":::" (RFC 5118), port not 1-65535).
 */
int sip_hostport_parse(struct sv s, struct sv *host, uint8_t *host_type, uint16_t *port,
		       struct sip_err *err);

/* Value of a URI parameter by name (case-insensitive). Returns true when present;
 * *value is empty for a parameter without '='. */
bool sip_uri_param(const struct sip_uri *u, struct sv name, struct sv *value);

/*
 * RFC 3261 §19.1.4 equality: scheme equal; user and password case-sensitive,
 * host case-insensitive, both after %-unescaping; port and transport/user/ttl/
 * method/maddr parameters must match if present in either; other parameters
 * compared only when in both; headers compared (unordered) by name and value.
 * tel URIs compare by number ignoring visual separators, plus parameters.
 */
bool sip_uri_equal(const struct sip_uri *a, const struct sip_uri *b);

/* Decode %HH escapes of s into out (at most cap octets). Returns the decoded
 * length, or -EBADMSG for a bad escape, -ENOBUFS when out is too small. */
int sip_unescape(struct sv s, char *out, size_t cap);

#endif
