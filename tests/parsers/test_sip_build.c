/* SPDX-License-Identifier: MIT */
/*
 * Tests of parsers/sip_build.h: pieces and coalescing, relaying with edits,
 * responses, back-pressure (-ENOBUFS at every smaller buffer size) and misuse
 * (-EINVAL). Each built message is flattened, compared octet for octet with the
 * expected text, and parsed again with sip_msg_parse().
 */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "parsers/sip_build.h"
#include "parsers/sip_msg.h"
#include "tests/guard.h"

#define NH   64
#define NIOV 64

static struct sip_hdr hdrs[NH], hdrs2[NH];
static struct iovec iov[NIOV];
static char scratch[2048];
static char flat[8192];

static int sveq(struct sv v, const char *s)
{
	return v.len == strlen(s) && memcmp(v.p, s, v.len) == 0;
}

/* Parse s placed against a guard page; the views live until the next place. */
static void parse_guarded(struct sip_msg *m, const char *s, unsigned flags)
{
	size_t n = strlen(s);
	const char *g = guard_place(s, n);
	sip_msg_init(m, hdrs, NH);
	int r = sip_msg_parse(m, g, n, flags, NULL);
	cr_assert_gt(r, 0, "input does not parse: %s", m->err.reason);
}

/* Flatten b into `flat` and check it is exactly `want`; returns the length. */
static size_t flatten_expect(const struct sip_build *b, const char *want, const char *what)
{
	ssize_t n = sip_build_flatten(b, flat, sizeof(flat));
	cr_assert_geq(n, 0, "%s: flatten %zd", what, n);
	cr_assert_eq((size_t)n, sip_build_len(b), "%s", what);
	cr_assert_eq((size_t)n, strlen(want), "%s: length %zd, want %zu\n--- got\n%.*s--- want\n%s",
		     what, n, strlen(want), (int)n, flat, want);
	cr_assert(memcmp(flat, want, (size_t)n) == 0, "%s:\n--- got\n%.*s--- want\n%s", what,
		  (int)n, flat, want);
	return (size_t)n;
}

/* Re-parse the flattened message (as a stream: Content-Length must be right). */
static void reparse(struct sip_msg *m, size_t n, const char *what)
{
	const char *g = guard_place(flat, n);
	sip_msg_init(m, hdrs2, NH);
	int r = sip_msg_parse(m, g, n, SIP_PARSE_STREAM, NULL);
	cr_assert_eq(r, (int)n, "%s: re-parse %d (%s)", what, r, m->err.reason);
	cr_assert_eq(sip_msg_hdr_count(m, SIP_HDR_CONTENT_LENGTH), 1, "%s", what);
	cr_assert_eq(m->content_length, m->body.len, "%s", what);
}

/* ---- pieces ---- */

Test(sip_build, pieces_and_coalescing)
{
	static const char rx[] = "0123456789abcdef";
	enum { END, VIEW, LIT, COPY, U64, PRINTF, HDR, HDR_U64 };
	static const struct {
		const char *name;
		struct {
			int op;
			size_t off, len; /* VIEW: rx[off, off + len) */
			const char *s;	 /* LIT, COPY, HDR name */
			uint64_t v;	 /* U64, HDR_U64 */
		} ops[6];
		const char *want;
		unsigned niov;
	} t[] = {
		{ "adjacent views are one iovec",
		  { { VIEW, 0, 4, 0, 0 }, { VIEW, 4, 6, 0, 0 }, { VIEW, 10, 6, 0, 0 } },
		  "0123456789abcdef",
		  1 },
		{ "a gap starts a new iovec",
		  { { VIEW, 0, 4, 0, 0 }, { VIEW, 5, 2, 0, 0 } },
		  "012356",
		  2 },
		{ "the same view twice is two iovecs",
		  { { VIEW, 0, 2, 0, 0 }, { VIEW, 0, 2, 0, 0 } },
		  "0101",
		  2 },
		{ "empty views add nothing",
		  { { VIEW, 3, 0, 0, 0 }, { LIT, 0, 0, "", 0 }, { VIEW, 0, 1, 0, 0 } },
		  "0",
		  1 },
		{ "generated pieces coalesce in scratch",
		  { { COPY, 0, 0, "Max-Forwards: ", 0 },
		    { U64, 0, 0, 0, 69 },
		    { COPY, 0, 0, "\r\n", 0 },
		    { PRINTF, 0, 0, "%s", 0 } },
		  "Max-Forwards: 69\r\nx=7",
		  1 },
		{ "views between generated pieces",
		  { { U64, 0, 0, 0, 0 },
		    { VIEW, 10, 3, 0, 0 },
		    { U64, 0, 0, 0, UINT64_MAX },
		    { LIT, 0, 0, "!", 0 } },
		  "0abc18446744073709551615!",
		  4 },
		{ "short header lines are one copy",
		  { { HDR, 0, 0, "Expires", 0 }, { HDR_U64, 0, 0, "Content-Length", 1234 } },
		  "Expires: abc\r\nContent-Length: 1234\r\n",
		  1 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sip_build b;
		sip_build_init(&b, iov, NIOV, scratch, sizeof(scratch));
		for (size_t k = 0; k < 6 && t[i].ops[k].op != END; k++) {
			int r = 0;
			switch (t[i].ops[k].op) {
			case VIEW:
				r = sip_build_sv(&b,
						 sv_make(rx + t[i].ops[k].off, t[i].ops[k].len));
				break;
			case LIT:
				r = sip_build_sv(&b, sv_cstr(t[i].ops[k].s));
				break;
			case COPY:
				r = sip_build_copy(&b, sv_cstr(t[i].ops[k].s));
				break;
			case U64:
				r = sip_build_u64(&b, t[i].ops[k].v);
				break;
			case PRINTF:
				r = sip_build_printf(&b, "x=%d", 7);
				break;
			case HDR:
				r = sip_build_hdr(&b, sv_cstr(t[i].ops[k].s), sv_make(rx + 10, 3));
				break;
			case HDR_U64:
				r = sip_build_hdr_u64(&b, sv_cstr(t[i].ops[k].s), t[i].ops[k].v);
				break;
			}
			cr_assert_eq(r, 0, "%s: op %zu", t[i].name, k);
		}
		flatten_expect(&b, t[i].want, t[i].name);
		cr_assert_eq(b.niov, t[i].niov, "%s: niov %u", t[i].name, b.niov);
	}
}

Test(sip_build, long_header_line_references_its_value)
{
	char value[200];
	struct sip_build b;

	memset(value, 'v', sizeof(value));
	sip_build_init(&b, iov, NIOV, scratch, sizeof(scratch));
	cr_assert_eq(sip_build_hdr(&b, SV_LIT("X-Long"), sv_make(value, sizeof(value))), 0);
	/* "X-Long: " copied, the value referenced, CRLF copied. */
	cr_assert_eq(b.niov, 3);
	cr_assert_eq(b.iov[1].iov_base, value);
	cr_assert_eq(b.iov[1].iov_len, sizeof(value));
	cr_assert_eq(b.used, strlen("X-Long: \r\n"));
	cr_assert_eq(sip_build_len(&b), strlen("X-Long: \r\n") + sizeof(value));
}

Test(sip_build, fmt_gives_a_view_in_scratch)
{
	struct sip_build b;
	struct sv v;

	sip_build_init(&b, iov, NIOV, scratch, sizeof(scratch));
	cr_assert_eq(sip_build_fmt(&b, &v, "SIP/2.0/UDP %s:%u;branch=z9hG4bK%08x", "203.0.113.1",
				   5062u, 0xbeefu),
		     0);
	cr_assert(sveq(v, "SIP/2.0/UDP 203.0.113.1:5062;branch=z9hG4bK0000beef"));
	cr_assert(v.p >= scratch && v.p + v.len <= scratch + sizeof(scratch));
	cr_assert_eq(b.niov, 0, "fmt appends nothing");
	cr_assert_eq(sip_build_len(&b), 0);
	cr_assert_eq(sip_build_fmt(&b, &v, "%s", ""), 0);
	cr_assert_eq(v.len, 0);
}

/* ---- relaying ---- */

#define SDP                                                     \
	"v=0\r\n"                                               \
	"o=alice 2890844526 2890844526 IN IP4 198.51.100.7\r\n" \
	"s=-\r\n"                                               \
	"c=IN IP4 198.51.100.7\r\n"                             \
	"t=0 0\r\n"                                             \
	"m=audio 49170 RTP/AVP 0 8 101\r\n"                     \
	"a=rtpmap:101 telephone-event/8000\r\n"
#define SDP2                                   \
	"v=0\r\n"                              \
	"o=sipring 1 1 IN IP4 203.0.113.1\r\n" \
	"s=-\r\n"                              \
	"c=IN IP4 203.0.113.1\r\n"             \
	"t=0 0\r\n"                            \
	"m=audio 20000 RTP/AVP 0 8 101\r\n"    \
	"a=rtpmap:101 telephone-event/8000\r\n"

#define INV_SL	    "INVITE sip:+15551234567@sbc.example.net;user=phone SIP/2.0\r\n"
#define INV_VIA	    "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-524287-1---a1b2c3;rport\r\n"
#define INV_MF	    "Max-Forwards: 70\r\n"
#define INV_ROUTE   "Route: <sip:sbc.example.net;lr>\r\n"
#define INV_CONTACT "Contact: <sip:alice@198.51.100.7:5060>\r\n"
#define INV_DIALOG                                                            \
	"To: <sip:+15551234567@sbc.example.net>\r\n"                          \
	"From: \"Alice\" <sip:alice@customer.example.com>;tag=9fxced76sl\r\n" \
	"Call-ID: 3848276298220188511@198.51.100.7\r\n"                       \
	"CSeq: 1 INVITE\r\n"                                                  \
	"Content-Type: application/sdp\r\n"
#define INV INV_SL INV_VIA INV_MF INV_ROUTE INV_CONTACT INV_DIALOG "Content-Length: 157\r\n\r\n" SDP

#define NEW_VIA "SIP/2.0/UDP 203.0.113.1:5062;branch=z9hG4bK-sr-0001"
#define NEW_RR	"<sip:203.0.113.1:5062;lr>"
#define NEW_CONTACT                                                         \
	"<sip:gw-4f2a9c1e@203.0.113.1:5062;transport=udp>;+sip.instance=\"" \
	"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\""

#define RESP_SL	  "SIP/2.0 180 Ringing\r\n"
#define RESP_VIA1 "Via: SIP/2.0/UDP 203.0.113.1:5062;branch=z9hG4bK-sr-0001\r\n"
#define RESP_VIA2                                                                         \
	"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-524287-1---a1b2c3;rport=5060;" \
	"received=198.51.100.7\r\n"
#define RESP_REST                                                             \
	"To: <sip:+15551234567@sbc.example.net>;tag=gw77\r\n"                 \
	"From: \"Alice\" <sip:alice@customer.example.com>;tag=9fxced76sl\r\n" \
	"Call-ID: 3848276298220188511@198.51.100.7\r\n"                       \
	"CSeq: 1 INVITE\r\n"                                                  \
	"Content-Length: 0\r\n\r\n"

#define TOP -2 /* INSERT at index 0 */
#define END -1 /* INSERT at index nhdrs */

struct edit_spec {
	uint8_t op;
	int id;	 /* header id, or TOP / END */
	int nth; /* which header of that id */
	const char *name, *value;
};

static const struct {
	const char *name;
	const char *in;
	unsigned pflags;
	const char *ruri;
	struct edit_spec edits[6];
	const char *body; /* NULL: keep */
	const char *want;
	unsigned niov;
} relay_cases[] = {
	{ "unchanged: one iovec", INV, 0, NULL, { { 0 } }, NULL, INV, 1 },
	{ "proxy: Via and Record-Route on top, Max-Forwards, Route consumed",
	  INV,
	  0,
	  NULL,
	  {
		  { SIP_EDIT_INSERT, TOP, 0, "Via", NEW_VIA },
		  { SIP_EDIT_INSERT, TOP, 0, "Record-Route", NEW_RR },
		  { SIP_EDIT_REPLACE, SIP_HDR_MAX_FORWARDS, 0, NULL, "69" },
		  { SIP_EDIT_DROP, SIP_HDR_ROUTE, 0, NULL, NULL },
	  },
	  NULL,
	  INV_SL "Via: " NEW_VIA "\r\nRecord-Route: " NEW_RR "\r\n" INV_VIA
		 "Max-Forwards: 69\r\n" INV_CONTACT INV_DIALOG "Content-Length: 157\r\n\r\n" SDP,
	  /* start line | Via+RR | rx Via | MF | rx Contact..body */
	  5 },
	{ "new Request-URI keeps method and version as views",
	  INV,
	  0,
	  "sip:+15551234567@gw1.carrier.example;user=phone",
	  { { SIP_EDIT_INSERT, SIP_HDR_VIA, 0, "Via", NEW_VIA } },
	  NULL,
	  "INVITE sip:+15551234567@gw1.carrier.example;user=phone SIP/2.0\r\n"
	  "Via: " NEW_VIA "\r\n" INV_VIA INV_MF INV_ROUTE INV_CONTACT INV_DIALOG
	  "Content-Length: 157\r\n\r\n" SDP,
	  5 },
	{ "B2BUA: Contact rewritten (long value referenced), new body, Content-Length",
	  INV,
	  0,
	  NULL,
	  {
		  { SIP_EDIT_REPLACE, SIP_HDR_CONTACT, 0, NULL, NEW_CONTACT },
		  { SIP_EDIT_INSERT, END, 0, "X-Account", "1001" },
	  },
	  SDP2,
	  INV_SL INV_VIA INV_MF INV_ROUTE "Contact: " NEW_CONTACT "\r\n" INV_DIALOG
					  "Content-Length: 139\r\nX-Account: 1001\r\n\r\n" SDP2,
	  /* rx ..Route | "Contact: " | value | CRLF | rx To..CT | CL+X-Account | rx CRLF | body */
	  8 },
	{ "response: top Via dropped",
	  RESP_SL RESP_VIA1 RESP_VIA2 RESP_REST,
	  0,
	  NULL,
	  { { SIP_EDIT_DROP, SIP_HDR_VIA, 0, NULL, NULL } },
	  NULL,
	  RESP_SL RESP_VIA2 RESP_REST,
	  2 },
	{ "response: first of two comma-separated Via values removed",
	  RESP_SL "Via: SIP/2.0/UDP 203.0.113.1:5062;branch=z9hG4bK-sr-0001, "
		  "SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK-1\r\n" RESP_REST,
	  0,
	  NULL,
	  { { SIP_EDIT_REPLACE, SIP_HDR_VIA, 0, NULL,
	      "SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK-1" } },
	  NULL,
	  RESP_SL "Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK-1\r\n" RESP_REST,
	  3 },
	{ "datagram without Content-Length gets one",
	  "OPTIONS sip:sbc.example.net SIP/2.0\r\n"
	  "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
	  "Call-ID: ka-1\r\n"
	  "\r\n"
	  "hi",
	  0,
	  NULL,
	  { { SIP_EDIT_INSERT, END, 0, "Max-Forwards", "70" } },
	  NULL,
	  "OPTIONS sip:sbc.example.net SIP/2.0\r\n"
	  "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
	  "Call-ID: ka-1\r\n"
	  "Max-Forwards: 70\r\n"
	  "Content-Length: 2\r\n"
	  "\r\n"
	  "hi",
	  3 },
	{ "two Content-Length: first rewritten, second dropped",
	  "MESSAGE sip:b@example.net SIP/2.0\r\nl: 4\r\nCall-ID: m1\r\nContent-Length: 4\r\n"
	  "\r\nabcd",
	  0,
	  NULL,
	  { { 0 } },
	  NULL,
	  "MESSAGE sip:b@example.net SIP/2.0\r\nl: 4\r\nCall-ID: m1\r\n\r\nabcd",
	  /* rx start | "l: 4" | rx Call-ID | rx CRLF body */
	  4 },
	{ "octets after the body of a datagram are not relayed",
	  "BYE sip:b@example.net SIP/2.0\r\nContent-Length: 0\r\n\r\nJUNK",
	  0,
	  NULL,
	  { { 0 } },
	  NULL,
	  "BYE sip:b@example.net SIP/2.0\r\nContent-Length: 0\r\n\r\n",
	  1 },
	{ "body removed, Content-Length 0 (compact name kept)",
	  "MESSAGE sip:b@example.net SIP/2.0\r\nl: 4\r\nc: text/plain\r\n\r\nabcd",
	  0,
	  NULL,
	  { { SIP_EDIT_DROP, SIP_HDR_CONTENT_TYPE, 0, NULL, NULL } },
	  "",
	  "MESSAGE sip:b@example.net SIP/2.0\r\nl: 0\r\n\r\n",
	  3 },
	{ "folded header replaced, bare LF lines kept",
	  "NOTIFY sip:b@example.net SIP/2.0\nTO :\n sip:b@example.net ;  tag = 1\n"
	  "Event: dialog\nl: 0\n\n",
	  0,
	  NULL,
	  {
		  { SIP_EDIT_REPLACE, SIP_HDR_TO, 0, NULL, "<sip:b@example.net>;tag=1" },
		  { SIP_EDIT_INSERT, SIP_HDR_EVENT, 0, "Subscription-State", "active" },
	  },
	  NULL,
	  "NOTIFY sip:b@example.net SIP/2.0\nTO: <sip:b@example.net>;tag=1\r\n"
	  "Subscription-State: active\r\nEvent: dialog\nl: 0\n\n",
	  3 },
	{ "inserts at one index keep their order, stream input",
	  "ACK sip:b@example.net SIP/2.0\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
	  SIP_PARSE_STREAM,
	  NULL,
	  {
		  { SIP_EDIT_INSERT, TOP, 0, "Via", "SIP/2.0/TCP h;branch=z9hG4bK2" },
		  { SIP_EDIT_INSERT, SIP_HDR_CSEQ, 0, "Route", "<sip:a;lr>" },
		  { SIP_EDIT_INSERT, SIP_HDR_CSEQ, 0, "Route", "<sip:b;lr>" },
	  },
	  NULL,
	  "ACK sip:b@example.net SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK2\r\n"
	  "Route: <sip:a;lr>\r\nRoute: <sip:b;lr>\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
	  3 },
	{ "no headers at all",
	  "OPTIONS sip:a@b SIP/2.0\r\n\r\n",
	  0,
	  NULL,
	  { { SIP_EDIT_INSERT, END, 0, "Max-Forwards", "70" } },
	  NULL,
	  "OPTIONS sip:a@b SIP/2.0\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
	  3 },
};

static unsigned edit_at(const struct sip_msg *m, const struct edit_spec *e)
{
	if (e->id == TOP)
		return 0;
	if (e->id == END)
		return m->nhdrs;
	const struct sip_hdr *h = sip_msg_hdr(m, (enum sip_hdr_id)e->id);
	for (int k = 0; h && k < e->nth; k++)
		h = sip_msg_hdr_next(m, h);
	cr_assert_not_null(h, "no header %d #%d", e->id, e->nth);
	return (unsigned)(h - m->hdrs);
}

/* Prepare the relay of case i on m (already parsed). */
static void relay_prepare(size_t i, const struct sip_msg *m, struct sip_edit *edits,
			  struct sip_relay *r)
{
	unsigned n = 0;
	memset(r, 0, sizeof(*r));
	for (; n < 6 && relay_cases[i].edits[n].op; n++) {
		const struct edit_spec *s = &relay_cases[i].edits[n];
		edits[n] = (struct sip_edit){
			.op = s->op,
			.at = (uint16_t)edit_at(m, s),
			.name = s->name ? sv_cstr(s->name) : SV_NULL,
			.value = s->value ? sv_cstr(s->value) : SV_NULL,
		};
	}
	r->edits = edits;
	r->nedits = n;
	if (relay_cases[i].ruri)
		r->ruri = sv_cstr(relay_cases[i].ruri);
	if (relay_cases[i].body) {
		r->new_body = true;
		r->body = sv_cstr(relay_cases[i].body);
	}
}

Test(sip_build, relay_table)
{
	for (size_t i = 0; i < sizeof(relay_cases) / sizeof(relay_cases[0]); i++) {
		const char *what = relay_cases[i].name;
		struct sip_msg m, out;
		struct sip_edit edits[6];
		struct sip_relay r;
		struct sip_build b;
		unsigned in_count[SIP_HDR__COUNT];
		char ruri[128], body[256], names[6][32];

		parse_guarded(&m, relay_cases[i].in, relay_cases[i].pflags);
		for (int id = 0; id < SIP_HDR__COUNT; id++)
			in_count[id] = sip_msg_hdr_count(&m, (enum sip_hdr_id)id);
		relay_prepare(i, &m, edits, &r);
		sip_build_init(&b, iov, NIOV, scratch, sizeof(scratch));
		cr_assert_eq(sip_build_relay(&b, &m, &r), 0, "%s", what);
		size_t n = flatten_expect(&b, relay_cases[i].want, what);
		cr_assert_eq(b.niov, relay_cases[i].niov, "%s: niov %u, want %u", what, b.niov,
			     relay_cases[i].niov);

		/* Keep what the checks need: re-parsing reuses the guarded region. */
		snprintf(ruri, sizeof(ruri), "%.*s", (int)m.ruri.len, m.ruri.p);
		if (relay_cases[i].ruri)
			snprintf(ruri, sizeof(ruri), "%s", relay_cases[i].ruri);
		snprintf(body, sizeof(body), "%.*s", (int)m.body.len, m.body.p);
		if (relay_cases[i].body)
			snprintf(body, sizeof(body), "%s", relay_cases[i].body);
		for (unsigned k = 0; k < r.nedits; k++) {
			struct sv name = edits[k].op == SIP_EDIT_INSERT ? edits[k].name
									: m.hdrs[edits[k].at].name;
			snprintf(names[k], sizeof(names[k]), "%.*s", (int)name.len, name.p);
		}

		/* What the next hop parses. */
		reparse(&out, n, what);
		cr_assert_eq(out.type, m.type, "%s", what);
		if (out.type == SIP_MSG_REQUEST)
			cr_assert(sveq(out.ruri, ruri), "%s", what);
		cr_assert(sveq(out.body, body), "%s", what);
		for (unsigned k = 0; k < r.nedits; k++) {
			const struct sip_edit *e = &edits[k];
			if (e->op == SIP_EDIT_DROP) {
				enum sip_hdr_id id = sip_hdr_lookup(names[k], strlen(names[k]));
				cr_assert_eq(sip_msg_hdr_count(&out, id), in_count[id] - 1, "%s",
					     what);
				continue;
			}
			bool found = false;
			for (unsigned j = 0; j < out.nhdrs; j++)
				found |= sveq(out.hdrs[j].name, names[k]) &&
					 sv_eq(out.hdrs[j].value, e->value);
			cr_assert(found, "%s: edit %u not in the output", what, k);
		}
	}
}

/* ---- responses ---- */

#define REG_SL	"REGISTER sip:registrar.example.net SIP/2.0\r\n"
#define REG_VIA "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds7;rport\r\n"
#define REG_TO	"To: Bob <sip:bob@example.net>\r\n"
#define REG_DLG                                          \
	"From: Bob <sip:bob@example.net>;tag=456248\r\n" \
	"Call-ID: 843817637684230@998sdasdh09\r\n"       \
	"CSeq: 1826 REGISTER\r\n"
#define REG                                                     \
	REG_SL REG_VIA "Max-Forwards: 70\r\n" REG_TO REG_DLG    \
		       "Contact: <sip:bob@192.0.2.10:5060>\r\n" \
		       "Expires: 7200\r\nContent-Length: 0\r\n\r\n"
#define CHALLENGE                                                                    \
	"Digest realm=\"example.net\", nonce=\"ea9c8e88df84f1cec4341ae6cbe5a359\", " \
	"algorithm=MD5, qop=\"auth\""

#define OPT                                               \
	"OPTIONS sip:sbc.example.net SIP/2.0\r\n"         \
	"v: SIP/2.0/TCP 192.0.2.20;branch=z9hG4bK-o1\r\n" \
	"Record-Route: <sip:p1.example.net;lr>\r\n"       \
	"v: SIP/2.0/UDP 192.0.2.21;branch=z9hG4bK-o0\r\n" \
	"Max-Forwards: 69\r\n"                            \
	"t: <sip:sbc.example.net>\r\n"                    \
	"f: <sip:mon@example.org>;tag=m1\r\n"             \
	"f: <sip:dup@example.org>;tag=m2\r\n"             \
	"i: opt-77\r\n"                                   \
	"CSeq: 9 OPTIONS\r\n"                             \
	"Accept: application/sdp\r\n"                     \
	"l: 0\r\n\r\n"

static const struct {
	const char *name;
	const char *req;
	uint16_t status;
	const char *reason, *to_tag;
	unsigned flags;
	struct {
		const char *name, *value;
	} hdrs[3];
	const char *body;
	const char *want;
	unsigned niov;
} resp_cases[] = {
	{ "401 with a challenge (long value referenced) and a To-tag",
	  REG,
	  401,
	  NULL,
	  "as9f8",
	  0,
	  { { "WWW-Authenticate", CHALLENGE } },
	  "",
	  "SIP/2.0 401 Unauthorized\r\n" REG_VIA
	  "To: Bob <sip:bob@example.net>;tag=as9f8\r\n" REG_DLG "WWW-Authenticate: " CHALLENGE
	  "\r\nContent-Length: 0\r\n\r\n",
	  /* status | rx Via | To;tag | rx From..CSeq | "WWW-Authenticate: " | value | CRLF CL CRLF */
	  7 },
	{ "100 Trying, no tag, copied lines coalesce",
	  REG,
	  100,
	  NULL,
	  NULL,
	  0,
	  { { 0 } },
	  "",
	  "SIP/2.0 100 Trying\r\n" REG_VIA REG_TO REG_DLG "Content-Length: 0\r\n\r\n",
	  /* status | rx Via | rx To..CSeq | CL CRLF */
	  4 },
	{ "200 with Contact, Expires and a body; reason given",
	  REG,
	  200,
	  "Registered",
	  "reg-1",
	  0,
	  { { "Contact", "<sip:bob@192.0.2.10:5060>;expires=3600" },
	    { "Date", "Sat, 13 Nov 2010 23:29:00 GMT" } },
	  "ok",
	  "SIP/2.0 200 Registered\r\n" REG_VIA "To: Bob <sip:bob@example.net>;tag=reg-1\r\n" REG_DLG
	  "Contact: <sip:bob@192.0.2.10:5060>;expires=3600\r\n"
	  "Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n"
	  "Content-Length: 2\r\n\r\nok",
	  6 },
	{ "To already tagged is kept; compact names; Vias in order; one From",
	  "BYE sip:alice@198.51.100.7 SIP/2.0\r\n"
	  "v: SIP/2.0/UDP 192.0.2.30;branch=z9hG4bK-b1\r\n"
	  "t: \"x;tag=no\" <sip:alice@198.51.100.7;tag=no> ;  TAG = a1\r\n"
	  "f: <sip:bob@example.net>;tag=b1\r\n"
	  "i: bye-1\r\n"
	  "CSeq: 2 BYE\r\n"
	  "l: 0\r\n\r\n",
	  200,
	  NULL,
	  "zzz",
	  0,
	  { { 0 } },
	  "",
	  "SIP/2.0 200 OK\r\n"
	  "v: SIP/2.0/UDP 192.0.2.30;branch=z9hG4bK-b1\r\n"
	  "t: \"x;tag=no\" <sip:alice@198.51.100.7;tag=no> ;  TAG = a1\r\n"
	  "f: <sip:bob@example.net>;tag=b1\r\n"
	  "i: bye-1\r\n"
	  "CSeq: 2 BYE\r\n"
	  "Content-Length: 0\r\n\r\n",
	  3 },
	{ "Record-Route copied on request, duplicate From not",
	  OPT,
	  200,
	  NULL,
	  "t9",
	  SIP_REPLY_RECORD_ROUTE,
	  { { "Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS" } },
	  "",
	  "SIP/2.0 200 OK\r\n"
	  "v: SIP/2.0/TCP 192.0.2.20;branch=z9hG4bK-o1\r\n"
	  "Record-Route: <sip:p1.example.net;lr>\r\n"
	  "v: SIP/2.0/UDP 192.0.2.21;branch=z9hG4bK-o0\r\n"
	  "t: <sip:sbc.example.net>;tag=t9\r\n"
	  "f: <sip:mon@example.org>;tag=m1\r\n"
	  "i: opt-77\r\n"
	  "CSeq: 9 OPTIONS\r\n"
	  "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n"
	  "Content-Length: 0\r\n\r\n",
	  /* status | rx v RR v | t;tag | rx f | rx i CSeq | Allow CL CRLF */
	  6 },
	{ "tag only inside the URI or the quoted name: To gets one",
	  "INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK3\r\n"
	  "To: \"a;tag=1\" <sip:x@y;tag=2>;tagged=3;tag\r\nFrom: <sip:c@d>;tag=f\r\n"
	  "Call-ID: c\r\nCSeq: 1 INVITE\r\n"
	  "Content-Length: 0\r\n\r\n",
	  486,
	  NULL,
	  "b",
	  0,
	  { { "Retry-After", "60" } },
	  "",
	  "SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK3\r\n"
	  "To: \"a;tag=1\" <sip:x@y;tag=2>;tagged=3;tag;tag=b\r\nFrom: <sip:c@d>;tag=f\r\n"
	  "Call-ID: c\r\nCSeq: 1 INVITE\r\n"
	  "Retry-After: 60\r\nContent-Length: 0\r\n\r\n",
	  5 },
};

Test(sip_build, response_table)
{
	for (size_t i = 0; i < sizeof(resp_cases) / sizeof(resp_cases[0]); i++) {
		const char *what = resp_cases[i].name;
		struct sip_build_field f[3];
		struct sip_msg m, out;
		struct sip_build b;
		struct sip_reply r = {
			.status = resp_cases[i].status,
			.reason = resp_cases[i].reason ? sv_cstr(resp_cases[i].reason) : SV_NULL,
			.to_tag = resp_cases[i].to_tag ? sv_cstr(resp_cases[i].to_tag) : SV_NULL,
			.hdrs = f,
			.body = sv_cstr(resp_cases[i].body),
			.flags = resp_cases[i].flags,
		};
		for (; r.nhdrs < 3 && resp_cases[i].hdrs[r.nhdrs].name; r.nhdrs++)
			f[r.nhdrs] = (struct sip_build_field){
				sv_cstr(resp_cases[i].hdrs[r.nhdrs].name),
				sv_cstr(resp_cases[i].hdrs[r.nhdrs].value),
			};

		parse_guarded(&m, resp_cases[i].req, 0);
		unsigned nvia = sip_msg_hdr_count(&m, SIP_HDR_VIA);
		char callid[64], cseq[64];
		snprintf(callid, sizeof(callid), "%.*s",
			 (int)sip_msg_hdr(&m, SIP_HDR_CALL_ID)->value.len,
			 sip_msg_hdr(&m, SIP_HDR_CALL_ID)->value.p);
		snprintf(cseq, sizeof(cseq), "%.*s", (int)sip_msg_hdr(&m, SIP_HDR_CSEQ)->value.len,
			 sip_msg_hdr(&m, SIP_HDR_CSEQ)->value.p);

		sip_build_init(&b, iov, NIOV, scratch, sizeof(scratch));
		cr_assert_eq(sip_build_response(&b, &m, &r), 0, "%s", what);
		size_t n = flatten_expect(&b, resp_cases[i].want, what);
		cr_assert_eq(b.niov, resp_cases[i].niov, "%s: niov %u, want %u", what, b.niov,
			     resp_cases[i].niov);

		reparse(&out, n, what);
		cr_assert_eq(out.type, SIP_MSG_RESPONSE, "%s", what);
		cr_assert_eq(out.status, resp_cases[i].status, "%s", what);
		cr_assert(sveq(out.reason, resp_cases[i].reason
						   ? resp_cases[i].reason
						   : sip_build_reason_phrase(resp_cases[i].status)),
			  "%s", what);
		cr_assert_eq(sip_msg_hdr_count(&out, SIP_HDR_VIA), nvia, "%s", what);
		cr_assert_eq(sip_msg_hdr_count(&out, SIP_HDR_FROM), 1, "%s", what);
		cr_assert(sveq(sip_msg_hdr(&out, SIP_HDR_CALL_ID)->value, callid), "%s", what);
		cr_assert(sveq(sip_msg_hdr(&out, SIP_HDR_CSEQ)->value, cseq), "%s", what);
		cr_assert(sveq(out.body, resp_cases[i].body), "%s", what);
		cr_assert_eq(sip_msg_hdr_count(&out, SIP_HDR_MAX_FORWARDS), 0, "%s", what);
	}
}

Test(sip_build, reason_phrases)
{
	static const struct {
		uint16_t status;
		const char *phrase;
	} t[] = {
		{ 100, "Trying" },
		{ 183, "Session Progress" },
		{ 200, "OK" },
		{ 407, "Proxy Authentication Required" },
		{ 481, "Call/Transaction Does Not Exist" },
		{ 503, "Service Unavailable" },
		{ 199, "Informational" },
		{ 299, "Success" },
		{ 399, "Redirection" },
		{ 499, "Client Error" },
		{ 599, "Server Error" },
		{ 699, "Global Failure" },
		{ 99, "Unknown" },
		{ 700, "Unknown" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_assert_str_eq(sip_build_reason_phrase(t[i].status), t[i].phrase, "%u",
				 t[i].status);
}

/* ---- back-pressure ---- */

/* Build case `which` (relay index, or response index + 1000) into b. */
static int build_case(struct sip_build *b, const struct sip_msg *m, size_t which)
{
	if (which < 1000) {
		static struct sip_edit edits[6];
		struct sip_relay r;
		relay_prepare(which, m, edits, &r);
		return sip_build_relay(b, m, &r);
	}
	size_t i = which - 1000;
	struct sip_build_field f[3];
	struct sip_reply r = {
		.status = resp_cases[i].status,
		.reason = resp_cases[i].reason ? sv_cstr(resp_cases[i].reason) : SV_NULL,
		.to_tag = resp_cases[i].to_tag ? sv_cstr(resp_cases[i].to_tag) : SV_NULL,
		.hdrs = f,
		.body = sv_cstr(resp_cases[i].body),
		.flags = resp_cases[i].flags,
	};
	for (; r.nhdrs < 3 && resp_cases[i].hdrs[r.nhdrs].name; r.nhdrs++)
		f[r.nhdrs] = (struct sip_build_field){ sv_cstr(resp_cases[i].hdrs[r.nhdrs].name),
						       sv_cstr(resp_cases[i].hdrs[r.nhdrs].value) };
	return sip_build_response(b, m, &r);
}

/*
 * For every case: with the exact iovec count and scratch size it needs, the
 * build succeeds with the same output; with one iovec or one scratch octet
 * less at any size, it fails with -ENOBUFS, the error sticks, and flatten
 * reports it.
 */
Test(sip_build, nobufs_at_every_smaller_size)
{
	size_t cases[64], nc = 0;
	for (size_t i = 0; i < sizeof(relay_cases) / sizeof(relay_cases[0]); i++)
		cases[nc++] = i;
	for (size_t i = 0; i < sizeof(resp_cases) / sizeof(resp_cases[0]); i++)
		cases[nc++] = 1000 + i;

	for (size_t c = 0; c < nc; c++) {
		const char *in = cases[c] < 1000 ? relay_cases[cases[c]].in
						 : resp_cases[cases[c] - 1000].req;
		unsigned pflags = cases[c] < 1000 ? relay_cases[cases[c]].pflags : 0;
		struct sip_msg m;
		struct sip_build b;
		char want[4096];

		parse_guarded(&m, in, pflags);
		sip_build_init(&b, iov, NIOV, scratch, sizeof(scratch));
		cr_assert_eq(build_case(&b, &m, cases[c]), 0);
		unsigned need_iov = b.niov;
		size_t need_scratch = b.used;
		ssize_t wn = sip_build_flatten(&b, want, sizeof(want));
		cr_assert_gt(wn, 0);

		for (unsigned cap = 0; cap <= need_iov; cap++) {
			sip_build_init(&b, iov, cap, scratch, sizeof(scratch));
			int r = build_case(&b, &m, cases[c]);
			if (cap < need_iov) {
				cr_assert_eq(r, -ENOBUFS, "case %zu iov cap %u: %d", cases[c], cap,
					     r);
				cr_assert_eq(b.err, -ENOBUFS);
				cr_assert_eq(sip_build_sv(&b, SV_LIT("x")), -ENOBUFS, "sticky");
				cr_assert_eq(sip_build_flatten(&b, flat, sizeof(flat)), -ENOBUFS);
			} else {
				cr_assert_eq(r, 0, "case %zu", cases[c]);
			}
		}
		for (size_t cap = 0; cap <= need_scratch; cap++) {
			sip_build_init(&b, iov, NIOV, scratch, cap);
			int r = build_case(&b, &m, cases[c]);
			if (cap < need_scratch) {
				cr_assert_eq(r, -ENOBUFS, "case %zu scratch cap %zu: %d", cases[c],
					     cap, r);
				cr_assert_eq(sip_build_copy(&b, SV_LIT("x")), -ENOBUFS, "sticky");
				cr_assert(b.used <= cap);
			} else {
				cr_assert_eq(r, 0, "case %zu", cases[c]);
			}
		}
		/* At exactly the sizes needed: the same message; flatten needs all of it. */
		sip_build_init(&b, iov, need_iov, scratch, need_scratch);
		cr_assert_eq(build_case(&b, &m, cases[c]), 0);
		cr_assert_eq(sip_build_flatten(&b, flat, (size_t)wn - 1), -ENOBUFS);
		cr_assert_eq(sip_build_flatten(&b, flat, (size_t)wn), wn);
		cr_assert(memcmp(flat, want, (size_t)wn) == 0, "case %zu", cases[c]);
	}
}

Test(sip_build, nobufs_pieces_and_reset)
{
	struct sip_build b;
	struct sv v;
	char small[8];

	sip_build_init(&b, iov, 1, small, sizeof(small));
	cr_assert_eq(sip_build_copy(&b, SV_LIT("12345678")), 0, "exactly fits");
	cr_assert_eq(sip_build_copy(&b, SV_LIT("9")), -ENOBUFS);
	cr_assert_eq(b.len, 8, "a failed append adds nothing");
	sip_build_reset(&b);
	cr_assert_eq(b.err, 0);
	cr_assert_eq(sip_build_u64(&b, 1234567), 0);
	/* vsnprintf needs room for its NUL: 8 octets of text do not fit in 1 free. */
	cr_assert_eq(sip_build_fmt(&b, &v, "%d", 7), -ENOBUFS);
	sip_build_reset(&b);
	cr_assert_eq(sip_build_printf(&b, "%s", "1234567"), 0);
	cr_assert_eq(b.len, 7);
	cr_assert_eq(sip_build_sv(&b, SV_LIT("x")), -ENOBUFS, "one iovec only");
	sip_build_reset(&b);
	cr_assert_eq(sip_build_u64(&b, UINT64_MAX), -ENOBUFS);
	cr_assert_eq(b.used, 0);

	/* No scratch at all: views still work, generated pieces do not. */
	sip_build_init(&b, iov, 2, NULL, 0);
	cr_assert_eq(sip_build_lit(&b, "view"), 0);
	cr_assert_eq(sip_build_hdr(&b, SV_LIT("To"), SV_LIT("x")), -ENOBUFS);
	cr_assert_eq(sip_build_flatten(&b, flat, sizeof(flat)), -ENOBUFS);
}

/* ---- misuse ---- */

Test(sip_build, einval_leaves_the_builder_unchanged)
{
	static const char req[] =
		"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK4\r\nCSeq: 1 INVITE\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char resp[] = "SIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
	static const struct {
		const char *name;
		int resp;
		struct sip_edit e[2];
		const char *ruri;
	} t[] = {
		{ "insert past the end", 0, { { SIP_EDIT_INSERT, 4, SV_LIT("X"), SV_LIT("y") } } },
		{ "insert without a name", 0, { { SIP_EDIT_INSERT, 0, SV_NULL, SV_LIT("y") } } },
		{ "drop at nhdrs", 0, { { SIP_EDIT_DROP, 3, SV_NULL, SV_NULL } } },
		{ "replace twice",
		  0,
		  { { SIP_EDIT_REPLACE, 1, SV_NULL, SV_LIT("2 INVITE") },
		    { SIP_EDIT_DROP, 1, SV_NULL, SV_NULL } } },
		{ "edit Content-Length", 0, { { SIP_EDIT_REPLACE, 2, SV_NULL, SV_LIT("9") } } },
		{ "unknown op", 0, { { 9, 0, SV_NULL, SV_NULL } } },
		{ "Request-URI on a response", 1, { { 0 } }, "sip:x@y" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sip_msg m;
		struct sip_build b;
		struct sip_relay r = { .edits = t[i].e,
				       .nedits = t[i].e[1].op	? 2
						 : t[i].e[0].op ? 1
								: 0 };
		if (t[i].ruri)
			r.ruri = sv_cstr(t[i].ruri);
		parse_guarded(&m, t[i].resp ? resp : req, 0);
		sip_build_init(&b, iov, NIOV, scratch, sizeof(scratch));
		cr_assert_eq(sip_build_lit(&b, "pre"), 0);
		cr_assert_eq(sip_build_relay(&b, &m, &r), -EINVAL, "%s", t[i].name);
		cr_assert_eq(b.len, 3, "%s", t[i].name);
		cr_assert_eq(b.niov, 1, "%s", t[i].name);
		cr_assert_eq(b.err, 0, "%s", t[i].name);
	}

	struct sip_msg m;
	struct sip_build b;
	sip_build_init(&b, iov, NIOV, scratch, sizeof(scratch));
	parse_guarded(&m, resp, 0);
	cr_assert_eq(sip_build_response(&b, &m, &(struct sip_reply){ .status = 200 }), -EINVAL,
		     "responses are not answered");
	parse_guarded(&m, req, 0);
	cr_assert_eq(sip_build_response(&b, &m, &(struct sip_reply){ .status = 99 }), -EINVAL);
	cr_assert_eq(sip_build_response(&b, &m, &(struct sip_reply){ .status = 700 }), -EINVAL);
	cr_assert_eq(b.len, 0);
	/* A NULL relay relays unchanged. */
	cr_assert_eq(sip_build_relay(&b, &m, NULL), 0);
	flatten_expect(&b, req, "NULL relay");
}

/* RFC 3581: the first Via's value given as pieces replaces that line only. */
Test(sip_build, response_top_via_pieces)
{
	static const char req[] = "OPTIONS sip:sipring@192.0.2.1 SIP/2.0\r\n"
				  "v: SIP/2.0/UDP 10.0.0.1:5062;rport;branch=z9hG4bK-a, "
				  "SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK-z\r\n"
				  "Via: SIP/2.0/UDP 10.0.0.8;branch=z9hG4bK-y\r\n"
				  "To: <sip:sipring@192.0.2.1>\r\nFrom: <sip:m@x>;tag=1\r\n"
				  "Call-ID: v1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
	struct sip_msg m;
	struct sip_build b;
	parse_guarded(&m, req, 0);
	const struct sip_hdr *v = sip_msg_hdr(&m, SIP_HDR_VIA);
	/* The guarded copy has no NUL: search within the value. */
	const char *rport = memmem(v->value.p, v->value.len, ";rport", 6);
	const char *comma = memchr(v->value.p, ',', v->value.len);
	cr_assert(rport && comma);
	const struct sv parts[] = {
		sv_range(v->value.p, rport),
		sv_range(rport + 6, comma),
		SV_LIT(";received=203.0.113.5;rport=40000"),
		sv_range(comma, v->value.p + v->value.len),
	};
	struct sip_reply r = { .status = 200, .to_tag = SV_LIT("t"), .via = parts, .nvia = 4 };
	sip_build_init(&b, iov, NIOV, scratch, sizeof(scratch));
	cr_assert_eq(sip_build_response(&b, &m, &r), 0);
	flatten_expect(&b,
		       "SIP/2.0 200 OK\r\n"
		       "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK-a;received=203.0.113.5;"
		       "rport=40000, SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK-z\r\n"
		       "Via: SIP/2.0/UDP 10.0.0.8;branch=z9hG4bK-y\r\n"
		       "To: <sip:sipring@192.0.2.1>;tag=t\r\nFrom: <sip:m@x>;tag=1\r\n"
		       "Call-ID: v1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		       "top via pieces");
}
