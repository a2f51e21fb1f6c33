/* SPDX-License-Identifier: MIT */
/*
 * bench_parse.c: sipring's SIP parser against libosip2 and sofia-sip, on the same
 * corpus, in the same run (docs/benchmarks.md reports and explains the numbers).
 *
 * The corpus is bench/corpus/: a carrier INVITE with SDP, 100/180/200 responses,
 * ACK, BYE, a REGISTER with Digest credentials and an OPTIONS ping, all CRLF and
 * byte-exact. Each parser takes each message to at least the same depth: every
 * header line indexed, the top Via parsed, the From and To tags, CSeq and
 * Call-ID. A peer cannot stop there, so there are three sipring columns:
 *
 *   sr-index   sip_msg_parse() alone: start line, every header as {name, value,
 *              id}, Content-Length, body.
 *   sipring    sr-index, then the top via-parm (sip_via_next: sent-by, branch,
 *              received, rport, ...), From and To (sip_addr_parse: display name,
 *              URI view, params, tag), CSeq and Call-ID. The goal of the issue is
 *              set at this depth.
 *   sr-deep    sipring, then every via-parm of every Via, every header sipring
 *              has a typed parser for (Contact, Route, Record-Route,
 *              P-Asserted-Identity, Max-Forwards, Expires, Content-Length,
 *              Content-Type, Allow, Supported, Require, Session-Expires, Min-SE,
 *              Authorization, ...) and every URI in them, the Request-URI and the
 *              From/To URIs (sip_uri_parse): about what the peers do. This is the
 *              like-with-like column.
 *   sofia-sip  msg_make(sip_default_mclass()): allocates a msg_t, copies the
 *              message into it and parses every header it knows fully (URLs
 *              included; unknown headers kept as name/value), then msg_destroy().
 *   libosip2   osip_message_init + osip_message_parse + osip_message_free: copies
 *              the message, parses every header it knows into allocated structs
 *              (URIs and parameters included), then frees them all.
 *
 * No parser here parses the SDP body. Before timing, every column parses every
 * message once and the results are cross-checked (CSeq, Call-ID, tags, Via count
 * and top branch must agree between sipring, sofia-sip and libosip2), so a parser
 * that silently skips a header is caught. Timing: CLOCK_MONOTONIC around batches
 * of about --batch-ms, --reps batches per (column, message), the columns of a
 * message back to back; the median batch is reported, and each ratio is the
 * median of the per-rep ratios. The process is pinned to one CPU when it can be.
 *
 * Modes:
 *   bench_parse [--quick] [--reps N] [--batch-ms X] [--cpu N] [--corpus DIR]
 *   bench_parse --callgrind-invite N [--depth index|tags|deep] [--corpus DIR]
 * --quick is the smoke test (meson test bench/parse-smoke): few short batches; it
 * fails only when a parser rejects a message or the parsers disagree, never on
 * time. --callgrind-invite parses the INVITE N times with sipring only, for
 * callgrind's instruction count (bench/run-parse.sh runs N and 2N and subtracts).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "parsers/sip_hdr.h"
#include "parsers/sip_msg.h"
#include "parsers/sip_uri.h"
#include "parsers/sv.h"

#include <osipparser2/osip_message.h>
#include <osipparser2/osip_parser.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>

#ifndef BENCH_CORPUS_DIR
#define BENCH_CORPUS_DIR "bench/corpus"
#endif

#define BENCH_MAX_REPS 201
#define BENCH_NHDRS    64

/* The corpus, in the order of the table. */
static const struct corpus_entry {
	const char *file;
	const char *label;
} corpus_files[] = {
	{ "invite.sip", "INVITE+SDP" },
	{ "100-trying.sip", "100 Trying" },
	{ "180-ringing.sip", "180 Ringing" },
	{ "200-ok-sdp.sip", "200 OK+SDP" },
	{ "ack.sip", "ACK" },
	{ "bye.sip", "BYE" },
	{ "register.sip", "REGISTER+auth" },
	{ "options.sip", "OPTIONS" },
};
#define BENCH_NMSG    (sizeof(corpus_files) / sizeof(corpus_files[0]))
#define BENCH_ROW_ALL BENCH_NMSG /* the row of the whole corpus, parsed round-robin */

enum col { COL_SR_INDEX, COL_SR_TAGS, COL_SR_DEEP, COL_SOFIA, COL_OSIP, COL__COUNT };
static const char *const col_name[COL__COUNT] = { "sr-index", "sipring", "sr-deep", "sofia-sip",
						  "libosip2" };

/* One message of the corpus, alone in a cache-line aligned buffer. */
struct msgbuf {
	char *p;
	size_t len;
	const char *label;
};

/* What every parser must agree on, copied out of its result (not timed). */
struct facts {
	unsigned status; /* 0 for a request */
	unsigned nvia;	 /* via-parms in all Via headers (0: not counted) */
	uint32_t cseq;
	char cseq_method[16];
	char callid[96];
	char ftag[48], ttag[48];
	char branch[80]; /* of the top via-parm */
};

/* sipring's results for one message, at the depth of the column. */
struct sr_out {
	unsigned nvia;
	struct sip_via via_top, via;
	struct sip_addr from, to;
	struct sip_cseq cseq;
	struct sv callid;
	/* sr-deep only */
	struct sip_uri uri;
	struct sip_addr addr;
	struct sip_contact contact;
	struct sip_ctype ctype;
	struct sip_auth auth;
	struct sip_session_expires se;
	struct sv token;
	uint32_t u32;
	unsigned privacy;
	uint64_t sum; /* folds results in, so nothing can be elided */
};

/* The state of the run; one per process, passed everywhere. */
struct bench {
	struct msgbuf msgs[BENCH_NMSG];
	size_t total_octets;
	struct sip_msg m;
	struct sip_hdr hdrs[BENCH_NHDRS];
	struct sr_out out;
	msg_mclass_t const *sofia_mclass;
	volatile uint64_t sink;
	int quick;
	unsigned reps;
	double batch_ns;
	double ns[COL__COUNT][BENCH_NMSG + 1][BENCH_MAX_REPS];
	unsigned long batches, preempted; /* timed batches, and those run again */
	int col_ok[COL__COUNT];
};

/* ---- small helpers ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void copy_sv(char *dst, size_t cap, struct sv s)
{
	size_t n = s.len < cap - 1 ? s.len : cap - 1;
	if (n)
		memcpy(dst, s.p, n);
	dst[n] = '\0';
}

static void copy_str(char *dst, size_t cap, const char *s)
{
	copy_sv(dst, cap, s ? sv_cstr(s) : SV_NULL);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(const double *v, unsigned n)
{
	double s[BENCH_MAX_REPS];
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* ---- sipring, at three depths ---- */

static int sr_index(struct bench *b, const struct msgbuf *mb)
{
	int r = sip_msg_parse(&b->m, mb->p, mb->len, 0, NULL);
	if (r < 0)
		return r;
	b->out.sum += (uint64_t)r + b->m.nhdrs;
	return 0;
}

/*
 * The depth of the goal: the index, then the top via-parm, From and To (with
 * their tags), CSeq and Call-ID. With all_vias, every via-parm of every Via, as
 * the peers do (sr-deep).
 */
static int sr_fields(struct bench *b, const struct msgbuf *mb, int all_vias)
{
	struct sip_msg *m = &b->m;
	struct sr_out *o = &b->out;
	const struct sip_hdr *h;
	struct sv rest;
	int r = sip_msg_parse(m, mb->p, mb->len, 0, NULL);

	if (r < 0)
		return r;
	if (!(h = sip_msg_hdr(m, SIP_HDR_VIA)))
		return -EBADMSG;
	rest = h->value;
	if ((r = sip_via_next(&rest, &o->via_top, NULL)) != 1)
		return r < 0 ? r : -EBADMSG;
	o->nvia = 1;
	while (all_vias) {
		while ((r = sip_via_next(&rest, &o->via, NULL)) > 0)
			o->nvia++;
		if (r < 0)
			return r;
		if (!(h = sip_msg_hdr_next(m, h)))
			break;
		rest = h->value;
	}
	if (!(h = sip_msg_hdr(m, SIP_HDR_FROM)) || (r = sip_addr_parse(h->value, &o->from, NULL)))
		return r ? r : -EBADMSG;
	if (!(h = sip_msg_hdr(m, SIP_HDR_TO)) || (r = sip_addr_parse(h->value, &o->to, NULL)))
		return r ? r : -EBADMSG;
	if (!(h = sip_msg_hdr(m, SIP_HDR_CSEQ)) || (r = sip_cseq_parse(h->value, &o->cseq, NULL)))
		return r ? r : -EBADMSG;
	if (!(h = sip_msg_hdr(m, SIP_HDR_CALL_ID)) ||
	    (r = sip_callid_parse(h->value, &o->callid, NULL)))
		return r ? r : -EBADMSG;
	o->sum += o->via_top.branch.len + o->from.tag.len + o->to.tag.len + o->cseq.seq +
		  o->callid.len;
	return 0;
}

static int sr_tags(struct bench *b, const struct msgbuf *mb)
{
	return sr_fields(b, mb, 0);
}

/* The typed parse of one header for sr-deep (Via, From, To, CSeq, Call-ID are done). */
static int sr_deep_hdr(struct sr_out *o, const struct sip_hdr *h)
{
	struct sv rest = h->value;
	int r = 0;

	switch (h->id) {
	case SIP_HDR_CONTACT:
		while ((r = sip_contact_next(&rest, &o->contact, NULL)) > 0)
			if (!o->contact.addr.star &&
			    (r = sip_uri_parse(o->contact.addr.uri, &o->uri, NULL)) < 0)
				return r;
		return r;
	case SIP_HDR_ROUTE:
	case SIP_HDR_RECORD_ROUTE:
	case SIP_HDR_PATH:
	case SIP_HDR_P_ASSERTED_IDENTITY:
	case SIP_HDR_P_PREFERRED_IDENTITY:
		while ((r = sip_addr_next(&rest, &o->addr, NULL)) > 0)
			if ((r = sip_uri_parse(o->addr.uri, &o->uri, NULL)) < 0)
				return r;
		return r;
	case SIP_HDR_MAX_FORWARDS:
		return sip_uint_parse(h->value, 255, &o->u32, NULL);
	case SIP_HDR_EXPIRES:
	case SIP_HDR_MIN_EXPIRES:
	case SIP_HDR_CONTENT_LENGTH:
		return sip_uint_parse(h->value, UINT32_MAX, &o->u32, NULL);
	case SIP_HDR_CONTENT_TYPE:
		return sip_ctype_parse(h->value, &o->ctype, NULL);
	case SIP_HDR_ALLOW:
	case SIP_HDR_SUPPORTED:
	case SIP_HDR_REQUIRE:
	case SIP_HDR_PROXY_REQUIRE:
	case SIP_HDR_UNSUPPORTED:
		while ((r = sip_token_next(&rest, &o->token, NULL)) > 0)
			o->sum += o->token.len;
		return r;
	case SIP_HDR_SESSION_EXPIRES:
		return sip_session_expires_parse(h->value, &o->se, NULL);
	case SIP_HDR_MIN_SE:
		return sip_min_se_parse(h->value, &o->u32, NULL);
	case SIP_HDR_AUTHORIZATION:
	case SIP_HDR_PROXY_AUTHORIZATION:
	case SIP_HDR_WWW_AUTHENTICATE:
	case SIP_HDR_PROXY_AUTHENTICATE:
		return sip_auth_parse(h->value, &o->auth, NULL);
	case SIP_HDR_PRIVACY:
		return sip_privacy_parse(h->value, &o->privacy, NULL);
	default:
		return 0;
	}
}

static int sr_deep(struct bench *b, const struct msgbuf *mb)
{
	struct sip_msg *m = &b->m;
	struct sr_out *o = &b->out;
	int r = sr_fields(b, mb, 1);

	if (r < 0)
		return r;
	if (m->type == SIP_MSG_REQUEST && (r = sip_uri_parse(m->ruri, &o->uri, NULL)) < 0)
		return r;
	if ((r = sip_uri_parse(o->from.uri, &o->uri, NULL)) < 0 ||
	    (r = sip_uri_parse(o->to.uri, &o->uri, NULL)) < 0)
		return r;
	for (uint16_t i = 0; i < m->nhdrs; i++)
		if ((r = sr_deep_hdr(o, &m->hdrs[i])) < 0)
			return r;
	o->sum += o->uri.host.len + o->u32;
	return 0;
}

static void sr_facts(const struct bench *b, struct facts *f, int all_vias)
{
	const struct sr_out *o = &b->out;

	f->status = b->m.status;
	f->nvia = all_vias ? o->nvia : 0;
	f->cseq = o->cseq.seq;
	copy_sv(f->cseq_method, sizeof(f->cseq_method), o->cseq.method_name);
	copy_sv(f->callid, sizeof(f->callid), o->callid);
	copy_sv(f->ftag, sizeof(f->ftag), o->from.tag);
	copy_sv(f->ttag, sizeof(f->ttag), o->to.tag);
	copy_sv(f->branch, sizeof(f->branch), o->via_top.branch);
}

/* ---- sofia-sip ---- */

static int sofia_parse(struct bench *b, const struct msgbuf *mb, struct facts *f)
{
	msg_t *msg = msg_make(b->sofia_mclass, 0, mb->p, (ssize_t)mb->len);
	sip_t *sip;
	int ret = 0;

	if (!msg)
		return -ENOMEM;
	sip = sip_object(msg);
	if (!sip || (sip->sip_flags & MSG_FLG_ERROR) || sip->sip_error || !sip->sip_via ||
	    !sip->sip_from || !sip->sip_to || !sip->sip_cseq || !sip->sip_call_id) {
		ret = -EBADMSG;
	} else {
		b->out.sum += sip->sip_cseq->cs_seq + (uintptr_t)sip->sip_via->v_branch;
		if (f) {
			f->status = sip->sip_status ? (unsigned)sip->sip_status->st_status : 0;
			f->nvia = 0;
			for (sip_via_t *v = sip->sip_via; v; v = v->v_next)
				f->nvia++;
			f->cseq = sip->sip_cseq->cs_seq;
			copy_str(f->cseq_method, sizeof(f->cseq_method),
				 sip->sip_cseq->cs_method_name);
			copy_str(f->callid, sizeof(f->callid), sip->sip_call_id->i_id);
			copy_str(f->ftag, sizeof(f->ftag), sip->sip_from->a_tag);
			copy_str(f->ttag, sizeof(f->ttag), sip->sip_to->a_tag);
			copy_str(f->branch, sizeof(f->branch), sip->sip_via->v_branch);
		}
	}
	msg_destroy(msg);
	return ret;
}

/* ---- libosip2 ---- */

static const char *osip_param(osip_list_t *params, char *name)
{
	osip_generic_param_t *p = NULL;
	return osip_generic_param_get_byname(params, name, &p) == 0 && p ? p->gvalue : NULL;
}

static int osip_parse(struct bench *b, const struct msgbuf *mb, struct facts *f)
{
	osip_message_t *sip;
	int ret = 0;

	if (osip_message_init(&sip) != 0)
		return -ENOMEM;
	if (osip_message_parse(sip, mb->p, mb->len) != 0 || !sip->from || !sip->to || !sip->cseq ||
	    !sip->call_id || osip_list_size(&sip->vias) < 1) {
		ret = -EBADMSG;
	} else {
		osip_via_t *top = osip_list_get(&sip->vias, 0);
		b->out.sum += (uintptr_t)sip->cseq->number + (uintptr_t)top;
		if (f) {
			f->status = sip->status_code > 0 ? (unsigned)sip->status_code : 0;
			f->nvia = (unsigned)osip_list_size(&sip->vias);
			f->cseq = (uint32_t)strtoul(sip->cseq->number, NULL, 10);
			copy_str(f->cseq_method, sizeof(f->cseq_method), sip->cseq->method);
			snprintf(f->callid, sizeof(f->callid), "%s%s%s", sip->call_id->number,
				 sip->call_id->host ? "@" : "",
				 sip->call_id->host ? sip->call_id->host : "");
			copy_str(f->ftag, sizeof(f->ftag),
				 osip_param(&sip->from->gen_params, "tag"));
			copy_str(f->ttag, sizeof(f->ttag), osip_param(&sip->to->gen_params, "tag"));
			copy_str(f->branch, sizeof(f->branch),
				 osip_param(&top->via_params, "branch"));
		}
	}
	osip_message_free(sip);
	return ret;
}

/* ---- one column: parse, and a timed batch ---- */

static int col_parse(struct bench *b, enum col c, const struct msgbuf *mb, struct facts *f)
{
	int r;

	switch (c) {
	case COL_SR_INDEX:
		return sr_index(b, mb);
	case COL_SR_TAGS:
		r = sr_tags(b, mb);
		break;
	case COL_SR_DEEP:
		r = sr_deep(b, mb);
		break;
	case COL_SOFIA:
		return sofia_parse(b, mb, f);
	case COL_OSIP:
		return osip_parse(b, mb, f);
	default:
		return -EINVAL;
	}
	if (r == 0 && f)
		sr_facts(b, f, c == COL_SR_DEEP);
	return r;
}

/*
 * Parse msgs[first, first + n) round-robin, iters times; the parse call of each
 * column is direct, only the batch is reached through the switch. Returns the
 * first error, or 0.
 */
#define BENCH_BATCH(fn, ...)                                                 \
	do {                                                                 \
		for (size_t it = 0; it < iters; it++)                        \
			for (size_t i = first; i < first + n; i++)           \
				if ((r = fn(b, &b->msgs[i], ##__VA_ARGS__))) \
					return r;                            \
	} while (0)

static int col_batch(struct bench *b, enum col c, size_t first, size_t n, size_t iters)
{
	int r = 0;

	switch (c) {
	case COL_SR_INDEX:
		BENCH_BATCH(sr_index);
		break;
	case COL_SR_TAGS:
		BENCH_BATCH(sr_tags);
		break;
	case COL_SR_DEEP:
		BENCH_BATCH(sr_deep);
		break;
	case COL_SOFIA:
		BENCH_BATCH(sofia_parse, NULL);
		break;
	case COL_OSIP:
		BENCH_BATCH(osip_parse, NULL);
		break;
	default:
		return -EINVAL;
	}
	b->sink += b->out.sum;
	return 0;
}

/* Iterations for one batch of about b->batch_ns; the doubling doubles as warm-up. */
static size_t calibrate(struct bench *b, enum col c, size_t first, size_t n)
{
	size_t iters = 1;

	for (;;) {
		uint64_t t0 = now_ns();
		col_batch(b, c, first, n, iters);
		uint64_t t = now_ns() - t0;
		if ((double)t >= b->batch_ns / 4 || iters >= ((size_t)1 << 30)) {
			double k = t ? b->batch_ns * (double)iters / (double)t : (double)iters;
			return k < 1 ? 1 : (size_t)k;
		}
		iters *= 2;
	}
}

/* ---- corpus ---- */

static int load_corpus(struct bench *b, const char *dir)
{
	for (size_t i = 0; i < BENCH_NMSG; i++) {
		char path[4096];
		FILE *fp;
		long sz;

		snprintf(path, sizeof(path), "%s/%s", dir, corpus_files[i].file);
		fp = fopen(path, "rb");
		if (!fp) {
			fprintf(stderr, "bench_parse: %s: %s\n", path, strerror(errno));
			return -errno;
		}
		if (fseek(fp, 0, SEEK_END) || (sz = ftell(fp)) <= 0 || fseek(fp, 0, SEEK_SET)) {
			fprintf(stderr, "bench_parse: %s: empty or unreadable\n", path);
			fclose(fp);
			return -EINVAL;
		}
		/* Its own 64-octet aligned buffer, NUL after the message (for no one). */
		size_t cap = ((size_t)sz + 1 + 63) & ~(size_t)63;
		char *p = aligned_alloc(64, cap);
		if (!p) {
			fclose(fp);
			return -ENOMEM;
		}
		memset(p, 0, cap);
		if (fread(p, 1, (size_t)sz, fp) != (size_t)sz) {
			fprintf(stderr, "bench_parse: %s: short read\n", path);
			fclose(fp);
			free(p);
			return -EIO;
		}
		fclose(fp);
		for (long k = 0; k < sz; k++)
			if (p[k] == '\n' && (k == 0 || p[k - 1] != '\r')) {
				fprintf(stderr,
					"bench_parse: %s: bare LF at %ld; the corpus is CRLF\n",
					path, k);
				free(p);
				return -EINVAL;
			}
		b->msgs[i] = (struct msgbuf){ p, (size_t)sz, corpus_files[i].label };
		b->total_octets += (size_t)sz;
	}
	return 0;
}

static int facts_equal(const struct facts *a, const struct facts *x)
{
	return a->status == x->status && (!a->nvia || !x->nvia || a->nvia == x->nvia) &&
	       a->cseq == x->cseq && !strcmp(a->cseq_method, x->cseq_method) &&
	       !strcmp(a->callid, x->callid) && !strcmp(a->ftag, x->ftag) &&
	       !strcmp(a->ttag, x->ttag) && !strcmp(a->branch, x->branch);
}

static void facts_print(const char *who, const struct facts *f)
{
	fprintf(stderr,
		"    %-9s status=%u vias=%u cseq=%u %s call-id=%s from-tag=%s to-tag=%s "
		"branch=%s\n",
		who, f->status, f->nvia, f->cseq, f->cseq_method, f->callid, f->ftag, f->ttag,
		f->branch);
}

/*
 * Parse every message once with every column and cross-check. A column that
 * rejects a message is not timed. Returns the number of failures.
 */
static int check_corpus(struct bench *b)
{
	int failures = 0;

	for (int c = 0; c < COL__COUNT; c++)
		b->col_ok[c] = 1;
	for (size_t i = 0; i < BENCH_NMSG; i++) {
		const struct msgbuf *mb = &b->msgs[i];
		struct facts f[COL__COUNT];
		int r;

		memset(f, 0, sizeof(f));
		for (int c = 0; c < COL__COUNT; c++) {
			r = col_parse(b, (enum col)c, mb, &f[c]);
			if (r) {
				const char *why = "msg_make() flagged an error or a header it "
						  "could not parse";
				if (c == COL_OSIP)
					why = "osip_message_parse() failed";
				else if (c <= COL_SR_DEEP)
					why = b->m.err.code ? b->m.err.reason
							    : "a typed header parser failed";
				fprintf(stderr, "check: %s rejects %s: %s (%s)\n", col_name[c],
					mb->label, sip_strerror(r), why);
				b->col_ok[c] = 0;
				failures++;
				continue;
			}
			if (c == COL_SR_INDEX &&
			    (b->m.msg_len != mb->len ||
			     (b->m.flags & (SIP_MSGF_NO_CL | SIP_MSGF_TRAILING)))) {
				fprintf(stderr,
					"check: %s: Content-Length does not match the body\n",
					mb->label);
				b->col_ok[c] = 0;
				failures++;
			}
		}
		/* sipring, sr-deep, sofia-sip and libosip2 must agree (the Via count
		 * is compared between sr-deep and the peers). */
		for (int a = COL_SR_TAGS; a <= COL_SR_DEEP; a++)
			for (int c = a + 1; c < COL__COUNT; c++) {
				if (!b->col_ok[a] || !b->col_ok[c] || facts_equal(&f[a], &f[c]))
					continue;
				fprintf(stderr, "check: %s: %s and %s disagree:\n", mb->label,
					col_name[a], col_name[c]);
				facts_print(col_name[a], &f[a]);
				facts_print(col_name[c], &f[c]);
				b->col_ok[c] = 0;
				failures++;
			}
		if (b->col_ok[COL_SR_TAGS] && !*f[COL_SR_TAGS].ftag) {
			fprintf(stderr, "check: %s: no From tag\n", mb->label);
			failures++;
		}
	}
	return failures;
}

/* ---- timing and the table ---- */

static long involuntary_switches(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nivcsw : 0;
}

/*
 * One timed batch, in ns per message. The wall time of a batch during which
 * the scheduler gave the CPU to another process holds that process's time too:
 * such a batch is run again, up to 20 times (the last one counts then).
 */
static double timed_batch(struct bench *b, enum col c, size_t first, size_t n, size_t iters)
{
	double ns = 0;

	for (int attempt = 0; attempt < 20; attempt++) {
		long cs = involuntary_switches();
		uint64_t t0 = now_ns();
		col_batch(b, c, first, n, iters);
		uint64_t t = now_ns() - t0;
		ns = (double)t / (double)(iters * n);
		b->batches++;
		if (involuntary_switches() == cs)
			break;
		b->preempted++;
	}
	return ns;
}

static void run_timing(struct bench *b)
{
	size_t iters[COL__COUNT][BENCH_NMSG + 1];

	for (int c = 0; c < COL__COUNT; c++) {
		if (!b->col_ok[c])
			continue;
		for (size_t i = 0; i < BENCH_NMSG; i++)
			iters[c][i] = calibrate(b, (enum col)c, i, 1);
		iters[c][BENCH_ROW_ALL] = calibrate(b, (enum col)c, 0, BENCH_NMSG);
	}
	/*
	 * Each rep measures one batch per (row, column); the columns of a row run
	 * back to back, in an order rotated each rep, so that a change of machine
	 * speed (a shared host) hits every column of a row alike. The rows rotate
	 * too, so that nothing periodic on the machine always lands on one row.
	 */
	for (unsigned rep = 0; rep < b->reps; rep++) {
		for (size_t r = 0; r <= BENCH_NMSG; r++) {
			size_t i = (r + rep) % (BENCH_NMSG + 1);
			size_t first = i == BENCH_ROW_ALL ? 0 : i;
			size_t n = i == BENCH_ROW_ALL ? BENCH_NMSG : 1;
			for (int k = 0; k < COL__COUNT; k++) {
				int c = (int)((rep + i + (unsigned)k) % COL__COUNT);
				if (b->col_ok[c])
					b->ns[c][i][rep] =
						timed_batch(b, (enum col)c, first, n, iters[c][i]);
			}
		}
	}
}

static double med(const struct bench *b, enum col c, size_t row)
{
	return b->col_ok[c] ? median(b->ns[c][row], b->reps) : 0;
}

/* Median over the reps of num's time / den's time, each rep's pair measured
 * back to back; 0 when either column was not timed. */
static double med_ratio(const struct bench *b, enum col num, enum col den, size_t row)
{
	double r[BENCH_MAX_REPS];

	if (!b->col_ok[num] || !b->col_ok[den])
		return 0;
	for (unsigned k = 0; k < b->reps; k++)
		r[k] = b->ns[num][row][k] / b->ns[den][row][k];
	return median(r, b->reps);
}

static void print_ns(double ns)
{
	if (ns <= 0)
		printf(" %9s", "n/a");
	else if (ns < 1000)
		printf(" %9.1f", ns);
	else
		printf(" %9.0f", ns);
}

static void print_ratio(double ratio)
{
	if (ratio <= 0)
		printf(" %7s", "n/a");
	else
		printf(" %6.1fx", ratio);
}

static void print_goal(const char *what, double v, const char *unit, const char *cmp, double goal)
{
	int met = cmp[0] == '<' ? v <= goal : v >= goal;

	if (v <= 0)
		printf("  %-22s %9s     goal %s %g%s: not measured\n", what, "n/a", cmp, goal,
		       unit);
	else
		printf("  %-22s %9.1f%-4s goal %s %g%s: %s\n", what, v, unit, cmp, goal, unit,
		       met ? "met" : "MISSED");
}

static void print_table(const struct bench *b, const char *cpu)
{
	double row[COL__COUNT];

	printf("sipring bench_parse: %zu messages, %zu octets; median of %u batches of ~%.1f ms "
	       "per cell; %s;\n%lu of %lu batches preempted and run again\n",
	       BENCH_NMSG, b->total_octets, b->reps, b->batch_ns / 1e6, cpu, b->preempted,
	       b->batches);
	printf("depth: sr-index = sip_msg_parse only; sipring = + top Via, From/To tag, CSeq, "
	       "Call-ID;\n       sr-deep = + every typed header and URI; sofia-sip, libosip2 = "
	       "their full parse\n\n");
	printf("%-14s %6s %9s %9s %9s %9s %9s | %7s %7s | %7s %7s\n", "ns/message", "octets",
	       col_name[0], col_name[1], col_name[2], col_name[3], col_name[4], "osip/sr",
	       "osip/dp", "sofia/sr", "sofia/dp");
	for (size_t i = 0; i <= BENCH_NMSG; i++) {
		int all = i == BENCH_ROW_ALL;
		for (int c = 0; c < COL__COUNT; c++)
			row[c] = med(b, (enum col)c, i);
		printf("%-14s %6zu", all ? "corpus (mean)" : b->msgs[i].label,
		       all ? b->total_octets / BENCH_NMSG : b->msgs[i].len);
		for (int c = 0; c < COL__COUNT; c++)
			print_ns(row[c]);
		printf(" |");
		print_ratio(med_ratio(b, COL_OSIP, COL_SR_TAGS, i));
		print_ratio(med_ratio(b, COL_OSIP, COL_SR_DEEP, i));
		printf(" |");
		print_ratio(med_ratio(b, COL_SOFIA, COL_SR_TAGS, i));
		print_ratio(med_ratio(b, COL_SOFIA, COL_SR_DEEP, i));
		printf("\n");
	}
	printf("%-14s %6s", "MB/s (corpus)", "");
	for (int c = 0; c < COL__COUNT; c++) {
		double ns = med(b, (enum col)c, BENCH_ROW_ALL);
		if (ns > 0)
			printf(" %9.0f", (double)b->total_octets / (ns * BENCH_NMSG) * 1e3);
		else
			printf(" %9s", "n/a");
	}
	printf("\n%-14s %6s", "INVITE min", "");
	for (int c = 0; c < COL__COUNT; c++) {
		double lo = 0;
		for (unsigned r = 0; b->col_ok[c] && r < b->reps; r++)
			if (!lo || b->ns[c][0][r] < lo)
				lo = b->ns[c][0][r];
		print_ns(lo);
	}
	printf("\n%-14s %6s", "INVITE max", "");
	for (int c = 0; c < COL__COUNT; c++) {
		double hi = 0;
		for (unsigned r = 0; b->col_ok[c] && r < b->reps; r++)
			if (b->ns[c][0][r] > hi)
				hi = b->ns[c][0][r];
		print_ns(hi);
	}

	printf("\n\ngoals (%s, %zu octets; medians, ratios as the median of per-rep ratios):\n",
	       b->msgs[0].label, b->msgs[0].len);
	print_goal("sipring ns/message", med(b, COL_SR_TAGS, 0), " ns", "<=", 300);
	print_goal("libosip2 / sipring", med_ratio(b, COL_OSIP, COL_SR_TAGS, 0), "x", ">=", 30);
	print_goal("sofia-sip / sipring", med_ratio(b, COL_SOFIA, COL_SR_TAGS, 0), "x", ">=", 15);
	printf("like with like (sr-deep):\n");
	print_goal("libosip2 / sr-deep", med_ratio(b, COL_OSIP, COL_SR_DEEP, 0), "x", ">=", 30);
	print_goal("sofia-sip / sr-deep", med_ratio(b, COL_SOFIA, COL_SR_DEEP, 0), "x", ">=", 15);
}

/* Pin to one CPU: the one given, or the last the process may run on. */
static void pin_cpu(int want, char *desc, size_t cap)
{
	cpu_set_t set;
	int cpu = want;

	if (cpu < 0) {
		if (sched_getaffinity(0, sizeof(set), &set) != 0) {
			snprintf(desc, cap, "not pinned (sched_getaffinity: %s)", strerror(errno));
			return;
		}
		for (int i = CPU_SETSIZE - 1; i >= 0; i--)
			if (CPU_ISSET(i, &set)) {
				cpu = i;
				break;
			}
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (cpu < 0 || sched_setaffinity(0, sizeof(set), &set) != 0)
		snprintf(desc, cap, "not pinned (sched_setaffinity: %s)", strerror(errno));
	else
		snprintf(desc, cap, "pinned to CPU %d", cpu);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_parse [--quick] [--reps N] [--batch-ms X] [--cpu N] [--corpus DIR]\n"
		"       bench_parse --callgrind-invite N [--depth index|tags|deep] [--corpus "
		"DIR]\n");
}

int main(int argc, char **argv)
{
	static struct bench bench;
	struct bench *b = &bench;
	const char *dir = BENCH_CORPUS_DIR, *depth = "tags";
	long callgrind_n = -1;
	int cpu = -1, failures;
	char cpu_desc[128];

	/* Short batches, many of them: on a shared machine most of them run
	 * between two disturbances, and the median is one of those. */
	b->reps = 61;
	b->batch_ns = 5e5;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--quick")) {
			b->quick = 1;
			b->reps = 3;
			b->batch_ns = 1e5;
		} else if (!strcmp(a, "--reps") && v) {
			b->reps = (unsigned)strtoul(v, NULL, 10);
			i++;
		} else if (!strcmp(a, "--batch-ms") && v) {
			b->batch_ns = strtod(v, NULL) * 1e6;
			i++;
		} else if (!strcmp(a, "--cpu") && v) {
			cpu = atoi(v);
			i++;
		} else if (!strcmp(a, "--corpus") && v) {
			dir = v;
			i++;
		} else if (!strcmp(a, "--callgrind-invite") && v) {
			callgrind_n = strtol(v, NULL, 10);
			i++;
		} else if (!strcmp(a, "--depth") && v) {
			depth = v;
			i++;
		} else {
			usage();
			return 2;
		}
	}
	if (b->reps < 1 || b->reps > BENCH_MAX_REPS || !(b->batch_ns > 0)) {
		fprintf(stderr, "bench_parse: --reps is 1..%d, --batch-ms > 0\n", BENCH_MAX_REPS);
		return 2;
	}
	if (strcmp(depth, "index") && strcmp(depth, "tags") && strcmp(depth, "deep")) {
		fprintf(stderr, "bench_parse: --depth is index, tags or deep\n");
		return 2;
	}
	if (load_corpus(b, dir) < 0)
		return 1;
	sip_msg_init(&b->m, b->hdrs, BENCH_NHDRS);

	if (callgrind_n >= 0) {
		/* sipring only, no timing: callgrind counts the instructions. */
		enum col c = !strcmp(depth, "index")  ? COL_SR_INDEX
			     : !strcmp(depth, "deep") ? COL_SR_DEEP
						      : COL_SR_TAGS;
		int r = col_batch(b, c, 0, 1, (size_t)callgrind_n);
		if (r) {
			fprintf(stderr, "bench_parse: %s: %s\n", b->msgs[0].label, sip_strerror(r));
			return 1;
		}
		printf("parsed %s %ld times at depth %s (sink %llu)\n", b->msgs[0].label,
		       callgrind_n, col_name[c], (unsigned long long)b->sink);
		return 0;
	}

	if (parser_init() != 0) {
		fprintf(stderr, "bench_parse: libosip2 parser_init failed\n");
		return 1;
	}
	b->sofia_mclass = sip_default_mclass();
	pin_cpu(cpu, cpu_desc, sizeof(cpu_desc));

	failures = check_corpus(b);
	printf("check: %zu messages x %d parsers: %s\n", BENCH_NMSG, COL__COUNT,
	       failures ? "FAILED (see above; failed columns are not timed)"
			: "all accepted, all agree");
	run_timing(b);
	print_table(b, cpu_desc);
	if (b->quick)
		printf("(--quick: a smoke run; these numbers are not measurements)\n");

	for (size_t i = 0; i < BENCH_NMSG; i++)
		free(b->msgs[i].p);
	return failures ? 1 : 0;
}
