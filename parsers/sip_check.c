/* SPDX-License-Identifier: MIT */
/*
 * sip_check.c: see sip_check.h. The checks run in the order a server needs
 * them: version (505) first, since a SIP/7.0 message may not follow 2.0
 * grammar; then the headers every message must have, exactly once where the
 * grammar allows one; then each of them through its typed parser; then the
 * Request-URI scheme (416).
 */
#include "sip_check.h"

#include <errno.h>

#include "sip_hdr.h"
#include "sip_msg.h"
#include "sip_uri.h"

static int verdict(const struct sip_msg *m, struct sip_check *c, int status, enum sip_hdr_id id,
		   const char *at, const char *reason)
{
	c->action = m->type == SIP_MSG_RESPONSE ? SIP_CHECK_DROP : status;
	c->hdr = (uint16_t)id;
	c->off = at ? (uint32_t)(at - m->buf) : 0;
	c->reason = reason;
	return c->action;
}

static int bad_hdr(const struct sip_msg *m, struct sip_check *c, const struct sip_hdr *h,
		   const struct sip_err *e, const char *fallback)
{
	const char *at = h->value.p + (e->reason ? e->off : 0);
	return verdict(m, c, 400, (enum sip_hdr_id)h->id, at, e->reason ? e->reason : fallback);
}

/* Headers that must appear exactly once (RFC 3261 §7.3.1: not comma lists). */
static const struct {
	enum sip_hdr_id id;
	const char *missing, *repeated;
} single[] = {
	{ SIP_HDR_FROM, "missing From", "more than one From" },
	{ SIP_HDR_TO, "missing To", "more than one To" },
	{ SIP_HDR_CALL_ID, "missing Call-ID", "more than one Call-ID" },
	{ SIP_HDR_CSEQ, "missing CSeq", "more than one CSeq" },
};

static const struct {
	enum sip_hdr_id id;
	const char *repeated;
} at_most_once[] = {
	{ SIP_HDR_MAX_FORWARDS, "more than one Max-Forwards" },
	{ SIP_HDR_CONTENT_TYPE, "more than one Content-Type" },
	{ SIP_HDR_EXPIRES, "more than one Expires" },
};

int sip_msg_check(const struct sip_msg *m, struct sip_check *c)
{
	const struct sip_hdr *h;
	struct sip_err e;
	size_t i;

	*c = (struct sip_check){ 0, SIP_HDR_OTHER, 0, NULL };

	if (m->ver_major != 2 || m->ver_minor != 0)
		return verdict(m, c, 505, SIP_HDR_OTHER, m->version.p, "SIP version not supported");

	if (m->flags & SIP_MSGF_CL_MULTI) {
		h = sip_msg_hdr_next(m, sip_msg_hdr(m, SIP_HDR_CONTENT_LENGTH));
		return verdict(m, c, 400, SIP_HDR_CONTENT_LENGTH, h->name.p,
			       "more than one Content-Length");
	}
	for (i = 0; i < sizeof(single) / sizeof(single[0]); i++) {
		h = sip_msg_hdr(m, single[i].id);
		if (!h)
			return verdict(m, c, 400, single[i].id, m->buf + m->hdr_end,
				       single[i].missing);
		if (h->next != SIP_HDR_NONE)
			return verdict(m, c, 400, single[i].id, m->hdrs[h->next].name.p,
				       single[i].repeated);
	}
	for (i = 0; i < sizeof(at_most_once) / sizeof(at_most_once[0]); i++) {
		h = sip_msg_hdr(m, at_most_once[i].id);
		if (h && h->next != SIP_HDR_NONE)
			return verdict(m, c, 400, at_most_once[i].id, m->hdrs[h->next].name.p,
				       at_most_once[i].repeated);
	}

	/* Via: at least one, every via-parm well-formed. */
	h = sip_msg_hdr(m, SIP_HDR_VIA);
	if (!h)
		return verdict(m, c, 400, SIP_HDR_VIA, m->buf + m->hdr_end, "missing Via");
	for (; h; h = sip_msg_hdr_next(m, h)) {
		struct sv rest = h->value;
		struct sip_via v;
		int r, n = 0;
		e = (struct sip_err){ 0 };
		while ((r = sip_via_next(&rest, &v, &e)) > 0)
			n++;
		if (r < 0 || n == 0)
			return bad_hdr(m, c, h, &e, "empty Via");
	}

	/* From and To: one address each, its URI well-formed. */
	static const enum sip_hdr_id addrs[] = { SIP_HDR_FROM, SIP_HDR_TO };
	for (i = 0; i < 2; i++) {
		struct sip_addr a;
		struct sip_uri u;
		h = sip_msg_hdr(m, addrs[i]);
		e = (struct sip_err){ 0 };
		if (sip_addr_parse(h->value, &a, &e) < 0)
			return bad_hdr(m, c, h, &e, "bad address");
		if (a.star)
			return verdict(m, c, 400, (enum sip_hdr_id)h->id, h->value.p,
				       "'*' is only for Contact");
		e = (struct sip_err){ 0 };
		if (sip_uri_parse(a.uri, &u, &e) < 0)
			return verdict(m, c, 400, (enum sip_hdr_id)h->id, a.uri.p + e.off,
				       e.reason ? e.reason : "bad URI");
	}

	h = sip_msg_hdr(m, SIP_HDR_CALL_ID);
	{
		struct sv id;
		e = (struct sip_err){ 0 };
		if (sip_callid_parse(h->value, &id, &e) < 0)
			return bad_hdr(m, c, h, &e, "bad Call-ID");
	}

	h = sip_msg_hdr(m, SIP_HDR_CSEQ);
	{
		struct sip_cseq cs;
		e = (struct sip_err){ 0 };
		if (sip_cseq_parse(h->value, &cs, &e) < 0)
			return bad_hdr(m, c, h, &e, "bad CSeq");
		/* RFC 3261 §8.1.1.5: the CSeq method matches the request's. ACK and
		 * CANCEL carry the method of their own line too. */
		if (m->type == SIP_MSG_REQUEST && !sv_eq(cs.method_name, m->method_name))
			return verdict(m, c, 400, SIP_HDR_CSEQ, cs.method_name.p,
				       "CSeq method does not match the request method");
	}

	h = sip_msg_hdr(m, SIP_HDR_MAX_FORWARDS);
	if (h) {
		uint32_t mf;
		e = (struct sip_err){ 0 };
		if (sip_uint_parse(h->value, 255, &mf, &e) < 0)
			return bad_hdr(m, c, h, &e, "Max-Forwards is not 0-255");
	}

	for (h = sip_msg_hdr(m, SIP_HDR_CONTACT); h; h = sip_msg_hdr_next(m, h)) {
		struct sv rest = h->value;
		struct sip_contact ct;
		int r;
		e = (struct sip_err){ 0 };
		while ((r = sip_contact_next(&rest, &ct, &e)) > 0) {
			struct sip_uri u;
			struct sip_err ue = { 0 };
			if (!ct.addr.star && sip_uri_parse(ct.addr.uri, &u, &ue) < 0)
				return verdict(m, c, 400, SIP_HDR_CONTACT, ct.addr.uri.p + ue.off,
					       ue.reason ? ue.reason : "bad Contact URI");
		}
		if (r < 0)
			return bad_hdr(m, c, h, &e, "bad Contact");
	}

	if (m->type == SIP_MSG_REQUEST) {
		struct sip_uri u;
		e = (struct sip_err){ 0 };
		if (sip_uri_parse(m->ruri, &u, &e) < 0)
			return verdict(m, c, 400, SIP_HDR_OTHER, m->ruri.p + e.off,
				       e.reason ? e.reason : "bad Request-URI");
		/* RFC 3261 §19.1.1: headers are not allowed in a Request-URI
		 * (RFC 4475 escruri); never turn them into header fields. */
		if (u.headers.len)
			return verdict(m, c, 400, SIP_HDR_OTHER, u.headers.p,
				       "headers in the Request-URI");
		if (u.scheme == SIP_URI_OTHER)
			return verdict(m, c, 416, SIP_HDR_OTHER, m->ruri.p,
				       "unsupported URI scheme");
	}
	return 0;
}
