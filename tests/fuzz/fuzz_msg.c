/* SPDX-License-Identifier: MIT */
/*
 * fuzz_msg: the whole receive path of one message. The input is parsed as a
 * datagram, as a stream, and with a tiny header array; on success every header
 * goes through the typed parser that fits its id (sip_hdr.h), every URI through
 * sip_uri_parse(), and the message is answered (requests) and relayed with
 * edits (sip_build.h), flattened and parsed again.
 *
 * Invariants: every view lies inside what it was parsed from; the index is
 * consistent (header lines contiguous, id chains complete, body where
 * Content-Length says); iterators make progress; a stream parse agrees with a
 * datagram parse of the same octets; what the builder produces parses again,
 * with exactly one, correct, Content-Length.
 */
#include <errno.h>
#include <string.h>

#include "parsers/sip_build.h"
#include "parsers/sip_hdr.h"
#include "parsers/sip_msg.h"
#include "parsers/sip_uri.h"
#include "tests/fuzz/fuzz.h"

#define NH 128

static struct sip_hdr hdrs[NH], hdrs2[NH + 8], few[3];
static struct iovec iov[512];
static char scratch[1 << 16];
static char flat[1 << 18];

/* Every piece the builder is given that is not from the input, so that the
 * iovecs can be checked to point into the input, the scratch or one of these. */
static const char s_via[] = "SIP/2.0/UDP 203.0.113.1:5062;branch=z9hG4bK-fuzz-0001";
static const char s_rr[] = "<sip:203.0.113.1:5062;lr>";
static const char s_contact[] = "<sip:gw@203.0.113.1:5062;transport=udp>;+sip.instance="
				"\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"";
static const char s_ruri[] = "sip:fuzz@gw.example.net";
static const char s_tag[] = "fztag";
static const char s_body[] = "v=0\r\n";
static const char s_mf[] = "69";
static const char s_n_via[] = "Via";
static const char s_n_rr[] = "Record-Route";
static const char s_n_server[] = "Server";
static const char s_server[] = "sipring-fuzz";
static const struct {
	const char *p;
	size_t size;
} lits[] = {
#define L(s)                     \
	{                        \
		s, sizeof(s) - 1 \
	}
	L(s_via), L(s_rr),    L(s_contact), L(s_ruri),	   L(s_tag),	L(s_body),
	L(s_mf),  L(s_n_via), L(s_n_rr),    L(s_n_server), L(s_server),
#undef L
};
#define LIT(s) sv_make((s), sizeof(s) - 1)

static const struct sip_limits roomy = {
	.max_msg = 1 << 20,
	.max_hdr_len = 1 << 17,
	.max_hdrs = NH + 8,
};

/* ---- the index ---- */

static void check_index(const struct sip_msg *m, const char *buf, size_t len, int r)
{
	const struct sv all = sv_make(buf, len);
	const struct sv head = sv_make(buf, m->hdr_end);

	CHECK(r > 0 && (uint32_t)r == m->msg_len);
	CHECK(m->msg_len <= len && m->hdr_end <= m->msg_len);
	CHECK(m->nhdrs <= m->cap);
	CHECK(m->type == SIP_MSG_REQUEST || m->type == SIP_MSG_RESPONSE);
	CHECK_IN(m->start_line, head);
	if (m->type == SIP_MSG_REQUEST) {
		CHECK(m->method_name.len > 0);
		CHECK_IN(m->method_name, m->start_line);
		CHECK_IN(m->ruri, m->start_line);
		CHECK(m->method == sip_method_lookup(m->method_name));
		CHECK(m->ruri.len > 0);
	} else {
		CHECK(m->status >= 100 && m->status <= 699);
		CHECK_IN(m->reason, m->start_line);
	}
	CHECK_IN(m->version, m->start_line);
	CHECK(m->body.p == buf + m->hdr_end);
	CHECK(m->body.p + m->body.len == buf + m->msg_len);
	CHECK_IN(m->body, all);
	if (!(m->flags & SIP_MSGF_NO_CL))
		CHECK(m->body.len == m->content_length);

	for (uint16_t i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];
		CHECK(h->line.len > 0);
		CHECK_IN(h->line, head);
		CHECK_IN(h->name, h->line);
		CHECK(h->name.p == h->line.p && h->name.len > 0);
		CHECK_IN(h->value, h->line);
		CHECK(h->line.p[h->line.len - 1] == '\n');
		if (i + 1 < m->nhdrs)
			CHECK(h->line.p + h->line.len == m->hdrs[i + 1].line.p);
		CHECK(h->id == sip_hdr_lookup(h->name.p, h->name.len));
		CHECK(h->id < SIP_HDR__COUNT);
		if (h->id != SIP_HDR_OTHER)
			CHECK(sip_hdr_canon((enum sip_hdr_id)h->id) != NULL);
	}
	/* Each id's chain visits exactly its headers, in order. */
	for (int id = 1; id < SIP_HDR__COUNT; id++) {
		unsigned n = 0, want = 0;
		int last = -1;
		for (uint16_t i = 0; i < m->nhdrs; i++)
			want += m->hdrs[i].id == id;
		for (const struct sip_hdr *h = sip_msg_hdr(m, (enum sip_hdr_id)id); h;
		     h = sip_msg_hdr_next(m, h)) {
			CHECK(h->id == id && (int)(h - m->hdrs) > last);
			last = (int)(h - m->hdrs);
			CHECK(++n <= want);
		}
		CHECK(n == want && n == sip_msg_hdr_count(m, (enum sip_hdr_id)id));
	}
	if (m->nhdrs)
		CHECK(sip_msg_hdr_by_name(m, m->hdrs[0].name) == &m->hdrs[0]);
}

/* ---- typed parsers ---- */

static void check_err(int r, const struct sip_err *err, struct sv value)
{
	CHECK(r == -EBADMSG || r == -ERANGE || r == -E2BIG || r == -ENOBUFS || r == -EINVAL);
	if (r == -EBADMSG) {
		CHECK(err->off <= value.len);
		CHECK(err->reason != NULL);
	}
}

static void fuzz_uri(struct sv s)
{
	struct sip_uri u;
	struct sip_err err = { 0 };
	struct sv v;
	char out[512];

	int r = sip_uri_parse(s, &u, &err);
	if (r < 0) {
		check_err(r, &err, s);
		return;
	}
	CHECK(r == 0);
	CHECK(u.scheme <= SIP_URI_TEL && u.host_type <= SIP_HOST_IPV6);
	CHECK_IN(u.scheme_name, s);
	CHECK_IN(u.user, s);
	CHECK_IN(u.password, s);
	CHECK_IN(u.host, s);
	CHECK_IN(u.params, s);
	CHECK_IN(u.headers, s);
	CHECK_IN(u.transport, s);
	CHECK_IN(u.user_param, s);
	CHECK_IN(u.method, s);
	CHECK_IN(u.maddr, s);
	CHECK_IN(u.ttl, s);
	CHECK_IN(u.opaque, s);
	CHECK(sip_uri_equal(&u, &u));
	if (sip_uri_param(&u, SV_LIT("transport"), &v))
		CHECK_IN(v, s);
	r = sip_unescape(u.user, out, sizeof(out));
	CHECK(r == -EBADMSG || r == -ENOBUFS || (r >= 0 && (size_t)r <= u.user.len));
}

/* Iterator progress: each item consumes something and rest stays inside. */
#define ITER_STEP(rest, before, outer)            \
	do {                                      \
		CHECK((rest).len < (before).len); \
		CHECK_IN((rest), (outer));        \
	} while (0)

static void check_addr(const struct sip_addr *a, struct sv value, bool uri)
{
	char out[256];

	CHECK_IN(a->display, value);
	CHECK_IN(a->uri, value);
	CHECK_IN(a->params, value);
	CHECK_IN(a->tag, value);
	if (a->quoted) {
		int r = sip_unquote(a->display, out, sizeof(out));
		CHECK(r < 0 || (size_t)r <= a->display.len);
	}
	if (uri && !a->star)
		fuzz_uri(a->uri);
}

static void fuzz_addr_list(struct sv value)
{
	struct sv rest = value, before;
	struct sip_addr a;
	struct sip_err err = { 0 };
	int r;

	for (before = rest; (r = sip_addr_next(&rest, &a, &err)) == 1; before = rest) {
		ITER_STEP(rest, before, value);
		check_addr(&a, value, true);
	}
	if (r < 0)
		check_err(r, &err, value);
}

static void fuzz_generic(struct sv value)
{
	struct sv rest = value, before, item, name, pv;
	struct sip_err err = { 0 };
	int r;

	for (before = rest; (r = sip_list_next(&rest, &item, &err)) == 1; before = rest) {
		ITER_STEP(rest, before, value);
		CHECK_IN(item, value);
		ptrdiff_t semi = sv_find(item, ';');
		if (semi < 0)
			continue;
		struct sv params = sv_skip(item, (size_t)semi), pb;
		int q;
		for (pb = params; (q = sip_param_next(&params, &name, &pv, &err)) == 1;
		     pb = params) {
			ITER_STEP(params, pb, item);
			CHECK_IN(name, item);
			CHECK_IN(pv, item);
		}
		if (q < 0)
			check_err(q, &err, item);
	}
	if (r < 0)
		check_err(r, &err, value);
}

static void fuzz_header(const struct sip_hdr *h)
{
	const struct sv value = h->value;
	struct sip_err err = { 0 };
	struct sv rest = value, before, sv1;
	uint32_t u32;
	unsigned flags;
	int r = 0;

	fuzz_generic(value);
	switch ((enum sip_hdr_id)h->id) {
	case SIP_HDR_VIA: {
		struct sip_via v;
		for (before = rest; (r = sip_via_next(&rest, &v, &err)) == 1; before = rest) {
			ITER_STEP(rest, before, value);
			CHECK_IN(v.proto, value);
			CHECK_IN(v.version, value);
			CHECK_IN(v.transport, value);
			CHECK_IN(v.host, value);
			CHECK_IN(v.params, value);
			CHECK_IN(v.branch, value);
			CHECK_IN(v.received, value);
			CHECK_IN(v.maddr, value);
			CHECK_IN(v.ttl, value);
			CHECK(v.host_type <= SIP_HOST_IPV6);
			if (sip_param_get(v.params, "branch", &sv1))
				CHECK_IN(sv1, value);
		}
		break;
	}
	case SIP_HDR_FROM:
	case SIP_HDR_TO:
	case SIP_HDR_REFER_TO:
	case SIP_HDR_REFERRED_BY: {
		struct sip_addr a;
		r = sip_addr_parse(value, &a, &err);
		if (r == 0)
			check_addr(&a, value, true);
		break;
	}
	case SIP_HDR_ROUTE:
	case SIP_HDR_RECORD_ROUTE:
	case SIP_HDR_PATH:
	case SIP_HDR_P_ASSERTED_IDENTITY:
	case SIP_HDR_P_PREFERRED_IDENTITY:
	case SIP_HDR_REMOTE_PARTY_ID:
		fuzz_addr_list(value);
		return;
	case SIP_HDR_CONTACT: {
		struct sip_contact c;
		for (before = rest; (r = sip_contact_next(&rest, &c, &err)) == 1; before = rest) {
			ITER_STEP(rest, before, value);
			check_addr(&c.addr, value, true);
			CHECK_IN(c.instance, value);
			CHECK(!c.has_q || c.q <= 1000);
		}
		break;
	}
	case SIP_HDR_CSEQ: {
		struct sip_cseq c;
		r = sip_cseq_parse(value, &c, &err);
		if (r == 0) {
			CHECK(c.seq < (1u << 31));
			CHECK(c.method < SIP_METHOD__COUNT);
			CHECK_IN(c.method_name, value);
		}
		break;
	}
	case SIP_HDR_CALL_ID:
		r = sip_callid_parse(value, &sv1, &err);
		if (r == 0)
			CHECK_IN(sv1, value);
		break;
	case SIP_HDR_MAX_FORWARDS:
		r = sip_uint_parse(value, 255, &u32, &err);
		if (r == 0)
			CHECK(u32 <= 255);
		break;
	case SIP_HDR_EXPIRES:
	case SIP_HDR_MIN_EXPIRES:
	case SIP_HDR_CONTENT_LENGTH:
	case SIP_HDR_RETRY_AFTER:
		r = sip_uint_parse(value, UINT32_MAX, &u32, &err);
		break;
	case SIP_HDR_CONTENT_TYPE: {
		struct sip_ctype c;
		r = sip_ctype_parse(value, &c, &err);
		if (r == 0) {
			CHECK_IN(c.type, value);
			CHECK_IN(c.subtype, value);
			CHECK_IN(c.params, value);
		}
		break;
	}
	case SIP_HDR_SESSION_EXPIRES: {
		struct sip_session_expires s;
		r = sip_session_expires_parse(value, &s, &err);
		if (r == 0) {
			CHECK_IN(s.refresher, value);
			CHECK_IN(s.params, value);
		}
		break;
	}
	case SIP_HDR_MIN_SE:
		r = sip_min_se_parse(value, &u32, &err);
		break;
	case SIP_HDR_REQUIRE:
	case SIP_HDR_PROXY_REQUIRE:
	case SIP_HDR_SUPPORTED:
	case SIP_HDR_UNSUPPORTED:
	case SIP_HDR_ALLOW:
		for (before = rest; (r = sip_token_next(&rest, &sv1, &err)) == 1; before = rest) {
			ITER_STEP(rest, before, value);
			CHECK(sv1.len > 0);
			CHECK_IN(sv1, value);
		}
		break;
	case SIP_HDR_PRIVACY:
		r = sip_privacy_parse(value, &flags, &err);
		break;
	case SIP_HDR_AUTHORIZATION:
	case SIP_HDR_PROXY_AUTHORIZATION:
	case SIP_HDR_WWW_AUTHENTICATE:
	case SIP_HDR_PROXY_AUTHENTICATE: {
		struct sip_auth a;
		char out[256];
		r = sip_auth_parse(value, &a, &err);
		if (r == 0) {
			const struct sv *f[] = { &a.scheme, &a.username, &a.realm,     &a.nonce,
						 &a.uri,    &a.response, &a.algorithm, &a.cnonce,
						 &a.opaque, &a.qop,	 &a.nc,	       &a.stale,
						 &a.domain, &a.userhash, &a.params };
			for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
				CHECK_IN(*f[i], value);
			int q = sip_unquote(a.realm, out, sizeof(out));
			CHECK(q < 0 || (size_t)q <= a.realm.len);
			if (a.is_digest && a.uri.len)
				fuzz_uri(a.uri);
		}
		break;
	}
	default:
		return;
	}
	if (r < 0)
		check_err(r, &err, value);
}

/* ---- building ---- */

static bool iov_ok(const struct sip_build *b, const char *buf, size_t len)
{
	const struct sv in = sv_make(buf, len), sc = sv_make(scratch, sizeof(scratch));
	size_t total = 0;

	for (unsigned i = 0; i < b->niov; i++) {
		struct sv v = sv_make(b->iov[i].iov_base, b->iov[i].iov_len);
		bool ok = v.len > 0 && (fuzz_within(v, in) || fuzz_within(v, sc));
		for (size_t k = 0; !ok && k < sizeof(lits) / sizeof(lits[0]); k++)
			ok = fuzz_within(v, sv_make(lits[k].p, lits[k].size));
		if (!ok)
			return false;
		total += v.len;
	}
	return total == sip_build_len(b) && b->niov <= b->iov_cap && b->used <= b->scratch_cap;
}

/* Flatten b and parse it back as a stream; returns the length. */
static size_t flatten_reparse(const struct sip_build *b, struct sip_msg *out)
{
	ssize_t n = sip_build_flatten(b, flat, sizeof(flat));
	CHECK(n > 0 && (size_t)n == sip_build_len(b));
	sip_msg_init(out, hdrs2, NH + 8);
	int r = sip_msg_parse(out, flat, (size_t)n, SIP_PARSE_STREAM, &roomy);
	if (r != n)
		fprintf(stderr, "re-parse: %d %s at %u\n", r, out->err.reason, out->err.off);
	CHECK(r == n);
	CHECK(sip_msg_hdr_count(out, SIP_HDR_CONTENT_LENGTH) == 1);
	CHECK(out->content_length == out->body.len);
	return (size_t)n;
}

static void fuzz_response(const struct sip_msg *m, const char *buf, size_t len)
{
	struct sip_build b;
	struct sip_msg out;
	const struct sip_build_field extra[] = { { LIT(s_n_server), LIT(s_server) } };
	struct sip_reply r = {
		.status = (uint16_t)(100 + len % 600),
		.to_tag = LIT(s_tag),
		.hdrs = extra,
		.nhdrs = 1,
		.body = (len & 1) ? LIT(s_body) : SV_NULL,
		.flags = (len & 2) ? SIP_REPLY_RECORD_ROUTE : 0,
	};

	sip_build_init(&b, iov, sizeof(iov) / sizeof(iov[0]), scratch, sizeof(scratch));
	CHECK(sip_build_response(&b, m, &r) == 0);
	CHECK(iov_ok(&b, buf, len));
	flatten_reparse(&b, &out);
	CHECK(out.type == SIP_MSG_RESPONSE && out.status == r.status);
	CHECK(sip_msg_hdr_count(&out, SIP_HDR_VIA) == sip_msg_hdr_count(m, SIP_HDR_VIA));
	CHECK(sip_msg_hdr_count(&out, SIP_HDR_FROM) == !!sip_msg_hdr(m, SIP_HDR_FROM));
	CHECK(sip_msg_hdr_count(&out, SIP_HDR_CSEQ) == !!sip_msg_hdr(m, SIP_HDR_CSEQ));
	CHECK(out.body.len == r.body.len);
}

static void fuzz_relay(const struct sip_msg *m, const char *buf, size_t len)
{
	struct sip_edit e[6];
	struct sip_relay r = { .edits = e };
	struct sip_build b;
	struct sip_msg out;
	const struct sip_hdr *h;

	if (m->type == SIP_MSG_REQUEST) {
		e[r.nedits++] = (struct sip_edit){ SIP_EDIT_INSERT, 0, LIT(s_n_via), LIT(s_via) };
		e[r.nedits++] = (struct sip_edit){ SIP_EDIT_INSERT, 0, LIT(s_n_rr), LIT(s_rr) };
		if ((h = sip_msg_hdr(m, SIP_HDR_MAX_FORWARDS)))
			e[r.nedits++] =
				(struct sip_edit){ SIP_EDIT_REPLACE, (uint16_t)(h - m->hdrs),
						   SV_NULL, LIT(s_mf) };
		if ((h = sip_msg_hdr(m, SIP_HDR_ROUTE)))
			e[r.nedits++] = (struct sip_edit){ SIP_EDIT_DROP, (uint16_t)(h - m->hdrs),
							   SV_NULL, SV_NULL };
		if ((h = sip_msg_hdr(m, SIP_HDR_CONTACT)))
			e[r.nedits++] =
				(struct sip_edit){ SIP_EDIT_REPLACE, (uint16_t)(h - m->hdrs),
						   SV_NULL, LIT(s_contact) };
		if (len & 1)
			r.ruri = LIT(s_ruri);
	} else if ((h = sip_msg_hdr(m, SIP_HDR_VIA))) {
		e[r.nedits++] = (struct sip_edit){ SIP_EDIT_DROP, (uint16_t)(h - m->hdrs), SV_NULL,
						   SV_NULL };
	}
	e[r.nedits++] =
		(struct sip_edit){ SIP_EDIT_INSERT, m->nhdrs, LIT(s_n_server), LIT(s_server) };
	if (len & 2) {
		r.new_body = true;
		r.body = LIT(s_body);
	}

	sip_build_init(&b, iov, sizeof(iov) / sizeof(iov[0]), scratch, sizeof(scratch));
	CHECK(sip_build_relay(&b, m, &r) == 0);
	CHECK(iov_ok(&b, buf, len));
	flatten_reparse(&b, &out);
	CHECK(out.type == m->type);
	CHECK(out.body.len == (r.new_body ? r.body.len : m->body.len));
	CHECK(sip_msg_hdr_count(&out, SIP_HDR_VIA) ==
	      sip_msg_hdr_count(m, SIP_HDR_VIA) + (m->type == SIP_MSG_REQUEST ? 1u : 0u) -
		      (m->type == SIP_MSG_RESPONSE && sip_msg_hdr(m, SIP_HDR_VIA) ? 1u : 0u));
	if (r.ruri.len)
		CHECK(sv_eq(out.ruri, r.ruri));
	else if (m->type == SIP_MSG_REQUEST)
		CHECK(sv_eq(out.ruri, m->ruri));
}

/* ---- the entry point ---- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct sip_msg m;
	int r, dgram_len = -1;

	for (int mode = 0; mode < 3; mode++) {
		unsigned flags = mode == 1 ? SIP_PARSE_STREAM : 0;
		if (mode == 2)
			sip_msg_init(&m, few, 3);
		else
			sip_msg_init(&m, hdrs, NH);
		r = sip_msg_parse(&m, buf, size, flags, NULL);
		if (r < 0) {
			CHECK(r == -EBADMSG || r == -EAGAIN || r == -EMSGSIZE || r == -E2BIG);
			CHECK(r != -EAGAIN || mode == 1);
			CHECK(m.err.code == r && m.err.reason != NULL && m.err.off <= size);
			if (m.type)
				CHECK_IN(m.start_line, sv_make(buf, size));
			continue;
		}
		check_index(&m, buf, size, r);
		if (mode == 0)
			dgram_len = r;
		if (mode == 1) {
			/* A stream message is also a datagram of exactly its octets. */
			struct sip_msg d;
			sip_msg_init(&d, hdrs2, NH + 8);
			CHECK(sip_msg_parse(&d, buf, (size_t)r, 0, NULL) == r);
			CHECK(d.nhdrs == m.nhdrs && d.hdr_end == m.hdr_end);
			/* And a datagram with Content-Length ends where the stream one does. */
			if (dgram_len > 0)
				CHECK(dgram_len == r);
		}
		if (mode == 2)
			continue;

		if (m.type == SIP_MSG_REQUEST)
			fuzz_uri(m.ruri);
		for (uint16_t i = 0; i < m.nhdrs; i++)
			fuzz_header(&m.hdrs[i]);
		if (m.type == SIP_MSG_REQUEST)
			fuzz_response(&m, buf, size);
		fuzz_relay(&m, buf, size);
	}
	return 0;
}
