/* SPDX-License-Identifier: MIT */
/*
 * sip_build.c: scatter/gather composition of SIP messages (see sip_build.h).
 *
 * Everything funnels through push(), which appends one span and extends the last
 * iovec when the span starts where it ends. Generated octets are written at the
 * end of the scratch buffer, so consecutive generated pieces are contiguous and
 * coalesce too. A header line is composed from parts by emit(): a short line is
 * copied whole into scratch, a long one keeps its long parts by reference.
 */
#include "sip_build.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sip_msg.h"

/*
 * In a line longer than SIP_BUILD_INLINE, parts up to this size are still copied
 * (separators, names, numbers); longer ones are referenced. Numbers are
 * formatted on the stack, so every number must be copied: 20 digits is the
 * longest uint64_t.
 */
#define PART_COPY_MAX 32
_Static_assert(PART_COPY_MAX >= 20, "a formatted uint64_t must always be copied");

void sip_build_init(struct sip_build *b, struct iovec *iov, unsigned iov_cap, char *scratch,
		    size_t scratch_cap)
{
	b->iov = iov;
	b->iov_cap = iov_cap;
	b->scratch = scratch;
	b->scratch_cap = scratch_cap;
	sip_build_reset(b);
}

void sip_build_reset(struct sip_build *b)
{
	b->niov = 0;
	b->used = 0;
	b->len = 0;
	b->err = 0;
}

static int nobufs(struct sip_build *b)
{
	b->err = -ENOBUFS;
	return -ENOBUFS;
}

/* Append [p, p + n) by reference, extending the last iovec when contiguous. */
static int push(struct sip_build *b, const char *p, size_t n)
{
	if (b->err)
		return b->err;
	if (n == 0)
		return 0;
	if (b->niov) {
		struct iovec *last = &b->iov[b->niov - 1];
		if ((const char *)last->iov_base + last->iov_len == p) {
			last->iov_len += n;
			b->len += n;
			return 0;
		}
	}
	if (b->niov == b->iov_cap)
		return nobufs(b);
	/* iov_base is not const, but sendmsg() and flatten only read it. */
	b->iov[b->niov].iov_base = (void *)(uintptr_t)p;
	b->iov[b->niov].iov_len = n;
	b->niov++;
	b->len += n;
	return 0;
}

/* Room for n octets at the end of scratch, or NULL (and the sticky error). */
static char *reserve(struct sip_build *b, size_t n)
{
	if (b->err)
		return NULL;
	if (n > b->scratch_cap - b->used) {
		nobufs(b);
		return NULL;
	}
	char *p = b->scratch + b->used;
	b->used += n;
	return p;
}

/* Write v in decimal into d[0..20); returns the number of digits. */
static size_t fmt_u64(char d[20], uint64_t v)
{
	char t[20];
	size_t n = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		d[i] = t[n - 1 - i];
	return n;
}

/*
 * Append a line made of parts: copied whole into scratch when it is at most
 * SIP_BUILD_INLINE octets, else part by part, copying the short parts (which
 * include every number formatted on the stack) and referencing the long ones.
 */
static int emit(struct sip_build *b, const struct sv *parts, unsigned n)
{
	size_t total = 0;
	char *d;

	if (b->err)
		return b->err;
	for (unsigned i = 0; i < n; i++)
		total += parts[i].len;
	if (total <= SIP_BUILD_INLINE) {
		d = reserve(b, total);
		if (!d)
			return b->err;
		for (unsigned i = 0; i < n; i++)
			if (parts[i].len) {
				memcpy(d, parts[i].p, parts[i].len);
				d += parts[i].len;
			}
		return push(b, d - total, total);
	}
	for (unsigned i = 0; i < n; i++) {
		int r = parts[i].len <= PART_COPY_MAX ? sip_build_copy(b, parts[i])
						      : push(b, parts[i].p, parts[i].len);
		if (r < 0)
			return r;
	}
	return 0;
}

int sip_build_sv(struct sip_build *b, struct sv s)
{
	return push(b, s.p, s.len);
}

int sip_build_copy(struct sip_build *b, struct sv s)
{
	char *d;

	if (b->err)
		return b->err;
	if (s.len == 0)
		return 0;
	d = reserve(b, s.len);
	if (!d)
		return b->err;
	memcpy(d, s.p, s.len);
	return push(b, d, s.len);
}

int sip_build_u64(struct sip_build *b, uint64_t v)
{
	char d[20];
	return sip_build_copy(b, sv_make(d, fmt_u64(d, v)));
}

/* vsnprintf into the free scratch; *out is the text, not yet appended. */
static int vfmt(struct sip_build *b, struct sv *out, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static int vfmt(struct sip_build *b, struct sv *out, const char *fmt, va_list ap)
{
	size_t avail;
	int n;

	if (b->err)
		return b->err;
	avail = b->scratch_cap - b->used;
	n = vsnprintf(avail ? b->scratch + b->used : NULL, avail, fmt, ap);
	if (n < 0)
		return -EINVAL;
	/* vsnprintf also writes a NUL, so the text needs one more octet of room. */
	if (n > 0 && (size_t)n >= avail)
		return nobufs(b);
	*out = sv_make(n ? b->scratch + b->used : NULL, (size_t)n);
	b->used += (size_t)n;
	return 0;
}

int sip_build_printf(struct sip_build *b, const char *fmt, ...)
{
	struct sv s;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfmt(b, &s, fmt, ap);
	va_end(ap);
	return r < 0 ? r : push(b, s.p, s.len);
}

int sip_build_fmt(struct sip_build *b, struct sv *out, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfmt(b, out, fmt, ap);
	va_end(ap);
	return r;
}

int sip_build_hdr(struct sip_build *b, struct sv name, struct sv value)
{
	const struct sv parts[] = { name, SV_LIT(": "), value, SV_LIT("\r\n") };
	return emit(b, parts, 4);
}

int sip_build_hdr_u64(struct sip_build *b, struct sv name, uint64_t v)
{
	char d[20];
	const struct sv parts[] = { name, SV_LIT(": "), sv_make(d, fmt_u64(d, v)), SV_LIT("\r\n") };
	return emit(b, parts, 4);
}

/* ---- relaying ---- */

/* Just past the line end (CRLF or LF) that follows s, bounded by the headers. */
static const char *after_eol(const struct sip_msg *m, struct sv s)
{
	const char *p = s.p + s.len, *end = m->buf + m->hdr_end;

	if (p < end && *p == '\r')
		p++;
	if (p < end && *p == '\n')
		p++;
	return p;
}

static const char *line_end(const struct sip_hdr *h)
{
	return h->line.p + h->line.len;
}

/* Where the header lines start (just after the start line). */
static const char *hdrs_start(const struct sip_msg *m)
{
	return m->nhdrs ? m->hdrs[0].line.p : after_eol(m, m->start_line);
}

/* Where the empty line that ends the headers starts. */
static const char *hdrs_end(const struct sip_msg *m)
{
	return m->nhdrs ? line_end(&m->hdrs[m->nhdrs - 1]) : hdrs_start(m);
}

static int relay_check(const struct sip_msg *m, const struct sip_relay *r)
{
	if (r->ruri.len && m->type != SIP_MSG_REQUEST)
		return -EINVAL;
	for (unsigned i = 0; i < r->nedits; i++) {
		const struct sip_edit *e = &r->edits[i];
		switch (e->op) {
		case SIP_EDIT_INSERT:
			if (e->at > m->nhdrs || e->name.len == 0)
				return -EINVAL;
			break;
		case SIP_EDIT_DROP:
		case SIP_EDIT_REPLACE:
			if (e->at >= m->nhdrs || m->hdrs[e->at].id == SIP_HDR_CONTENT_LENGTH)
				return -EINVAL;
			for (unsigned j = 0; j < i; j++)
				if (r->edits[j].at == e->at && r->edits[j].op != SIP_EDIT_INSERT)
					return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

/* The first index >= i where the relay must stop copying: an edited header, a
 * Content-Length being rewritten, or nhdrs. */
static unsigned next_stop(const struct sip_msg *m, const struct sip_relay *r, unsigned i,
			  bool cl_stops)
{
	unsigned nx = m->nhdrs;

	for (unsigned k = 0; k < r->nedits; k++)
		if (r->edits[k].at >= i && r->edits[k].at < nx)
			nx = r->edits[k].at;
	if (cl_stops)
		for (const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_CONTENT_LENGTH); h;
		     h = sip_msg_hdr_next(m, h)) {
			unsigned at = (unsigned)(h - m->hdrs);
			if (at >= i) {
				if (at < nx)
					nx = at;
				break;
			}
		}
	return nx;
}

int sip_build_relay(struct sip_build *b, const struct sip_msg *m, const struct sip_relay *r)
{
	static const struct sip_relay none;
	const unsigned n = m->nhdrs;
	const char *hs = hdrs_start(m);
	struct sv body;
	bool rewrite_cl, cl_done = false;
	int ret;

	if (!r)
		r = &none;
	ret = relay_check(m, r);
	if (ret < 0)
		return ret;
	if (b->err)
		return b->err;
	body = r->new_body ? r->body : m->body;
	rewrite_cl =
		sip_msg_hdr_count(m, SIP_HDR_CONTENT_LENGTH) != 1 || body.len != m->content_length;

	/* Start line: "METHOD " and " SIP/2.0" CRLF stay views around a new URI. */
	if (r->ruri.len) {
		push(b, m->start_line.p, (size_t)(m->ruri.p - m->start_line.p));
		push(b, r->ruri.p, r->ruri.len);
		push(b, m->ruri.p + m->ruri.len, (size_t)(hs - (m->ruri.p + m->ruri.len)));
	} else {
		push(b, m->start_line.p, (size_t)(hs - m->start_line.p));
	}

	for (unsigned i = 0;;) {
		unsigned nx = next_stop(m, r, i, rewrite_cl);
		const struct sip_edit *e = NULL;
		const struct sip_hdr *h;

		/* Unchanged lines [i, nx) are contiguous: one span. */
		if (nx > i)
			push(b, m->hdrs[i].line.p,
			     (size_t)(line_end(&m->hdrs[nx - 1]) - m->hdrs[i].line.p));
		for (unsigned k = 0; k < r->nedits; k++) {
			if (r->edits[k].at != nx)
				continue;
			if (r->edits[k].op == SIP_EDIT_INSERT)
				sip_build_hdr(b, r->edits[k].name, r->edits[k].value);
			else
				e = &r->edits[k];
		}
		if (nx == n)
			break;
		h = &m->hdrs[nx];
		if (h->id == SIP_HDR_CONTENT_LENGTH && rewrite_cl) {
			if (!cl_done)
				sip_build_hdr_u64(b, h->name, body.len);
			cl_done = true;
		} else if (!e) {
			push(b, h->line.p, h->line.len);
		} else if (e->op == SIP_EDIT_REPLACE) {
			sip_build_hdr(b, h->name, e->value);
		}
		i = nx + 1;
	}
	if (rewrite_cl && !cl_done)
		sip_build_hdr_u64(b, SV_LIT("Content-Length"), body.len);

	/* The empty line, then the body (contiguous with it when unchanged). */
	const char *he = hdrs_end(m);
	push(b, he, (size_t)(m->buf + m->hdr_end - he));
	push(b, body.p, body.len);
	return b->err;
}

/* ---- responses ---- */

/*
 * Whether a From/To value has a tag parameter: a ';' outside quotes and < >,
 * then "tag" in any case, then '=' (LWS allowed around both, RFC 4475 lwsdisp).
 * In addr-spec form the URI ends at the first ';' (RFC 3261 §20.10), so a tag
 * there is a header parameter too.
 */
static bool has_tag(struct sv v)
{
	const char *p = v.p, *e = v.p + v.len;
	bool angle = false;

	while (p < e) {
		char c = *p++;
		if (c == '"') {
			while (p < e && *p != '"') {
				if (*p == '\\' && p + 1 < e)
					p++;
				p++;
			}
			if (p < e)
				p++;
		} else if (c == '<') {
			angle = true;
		} else if (c == '>') {
			angle = false;
		} else if (c == ';' && !angle) {
			while (p < e && sv_is_ws(*p))
				p++;
			if (e - p < 3 || (p[0] | 0x20) != 't' || (p[1] | 0x20) != 'a' ||
			    (p[2] | 0x20) != 'g')
				continue;
			const char *q = p + 3;
			while (q < e && sv_is_ws(*q))
				q++;
			if (q < e && *q == '=')
				return true;
		}
	}
	return false;
}

/* RFC 3261 §21 and the extensions sipring answers with (RFC 4028). */
static const struct {
	uint16_t status;
	const char *phrase;
} phrases[] = {
	{ 100, "Trying" },
	{ 180, "Ringing" },
	{ 181, "Call Is Being Forwarded" },
	{ 182, "Queued" },
	{ 183, "Session Progress" },
	{ 200, "OK" },
	{ 202, "Accepted" },
	{ 300, "Multiple Choices" },
	{ 301, "Moved Permanently" },
	{ 302, "Moved Temporarily" },
	{ 305, "Use Proxy" },
	{ 380, "Alternative Service" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 402, "Payment Required" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 406, "Not Acceptable" },
	{ 407, "Proxy Authentication Required" },
	{ 408, "Request Timeout" },
	{ 410, "Gone" },
	{ 413, "Request Entity Too Large" },
	{ 414, "Request-URI Too Long" },
	{ 415, "Unsupported Media Type" },
	{ 416, "Unsupported URI Scheme" },
	{ 420, "Bad Extension" },
	{ 421, "Extension Required" },
	{ 422, "Session Interval Too Small" },
	{ 423, "Interval Too Brief" },
	{ 480, "Temporarily Unavailable" },
	{ 481, "Call/Transaction Does Not Exist" },
	{ 482, "Loop Detected" },
	{ 483, "Too Many Hops" },
	{ 484, "Address Incomplete" },
	{ 485, "Ambiguous" },
	{ 486, "Busy Here" },
	{ 487, "Request Terminated" },
	{ 488, "Not Acceptable Here" },
	{ 491, "Request Pending" },
	{ 493, "Undecipherable" },
	{ 500, "Server Internal Error" },
	{ 501, "Not Implemented" },
	{ 502, "Bad Gateway" },
	{ 503, "Service Unavailable" },
	{ 504, "Server Time-out" },
	{ 505, "Version Not Supported" },
	{ 513, "Message Too Large" },
	{ 600, "Busy Everywhere" },
	{ 603, "Decline" },
	{ 604, "Does Not Exist Anywhere" },
	{ 606, "Not Acceptable" },
};

static const char *const class_phrase[7] = {
	[1] = "Informational", [2] = "Success",	     [3] = "Redirection",
	[4] = "Client Error",  [5] = "Server Error", [6] = "Global Failure",
};

const char *sip_build_reason_phrase(uint16_t status)
{
	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (phrases[i].status == status)
			return phrases[i].phrase;
	return status >= 100 && status <= 699 ? class_phrase[status / 100] : "Unknown";
}

int sip_build_response(struct sip_build *b, const struct sip_msg *m, const struct sip_reply *r)
{
	char d[20];
	struct sv reason;

	if (m->type != SIP_MSG_REQUEST || r->status < 100 || r->status > 699)
		return -EINVAL;
	if (b->err)
		return b->err;
	reason = r->reason.len ? r->reason : sv_cstr(sip_build_reason_phrase(r->status));
	const struct sv status_line[] = { SV_LIT("SIP/2.0 "), sv_make(d, fmt_u64(d, r->status)),
					  SV_LIT(" "), reason, SV_LIT("\r\n") };
	emit(b, status_line, 5);

	/* In the order received, so that adjacent copied lines share one iovec. */
	for (unsigned i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];
		switch (h->id) {
		case SIP_HDR_VIA:
			if (r->nvia && m->first[SIP_HDR_VIA] == i) {
				sip_build_copy(b, SV_LIT("Via: "));
				emit(b, r->via, r->nvia);
				sip_build_copy(b, SV_LIT("\r\n"));
				continue;
			}
			break;
		case SIP_HDR_FROM:
		case SIP_HDR_TO:
		case SIP_HDR_CALL_ID:
		case SIP_HDR_CSEQ:
			if (m->first[h->id] != i)
				continue;
			break;
		case SIP_HDR_RECORD_ROUTE:
			if (!(r->flags & SIP_REPLY_RECORD_ROUTE))
				continue;
			break;
		default:
			continue;
		}
		if (h->id == SIP_HDR_TO && r->to_tag.len && !has_tag(h->value)) {
			/* The line up to its value's end, then ";tag=..." and our CRLF. */
			const struct sv to[] = { sv_range(h->line.p, h->value.p + h->value.len),
						 SV_LIT(";tag="), r->to_tag, SV_LIT("\r\n") };
			emit(b, to, 4);
		} else {
			push(b, h->line.p, h->line.len);
		}
	}
	for (unsigned i = 0; i < r->nhdrs; i++)
		sip_build_hdr(b, r->hdrs[i].name, r->hdrs[i].value);
	sip_build_hdr_u64(b, SV_LIT("Content-Length"), r->body.len);
	sip_build_copy(b, SV_LIT("\r\n"));
	push(b, r->body.p, r->body.len);
	return b->err;
}

/* ---- output ---- */

ssize_t sip_build_flatten(const struct sip_build *b, char *out, size_t cap)
{
	char *d = out;

	if (b->err)
		return b->err;
	if (b->len > cap)
		return -ENOBUFS;
	for (unsigned i = 0; i < b->niov; i++) {
		memcpy(d, b->iov[i].iov_base, b->iov[i].iov_len);
		d += b->iov[i].iov_len;
	}
	return (ssize_t)b->len;
}
