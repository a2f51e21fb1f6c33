/* SPDX-License-Identifier: MIT */
/*
 * registrar.c: REGISTER processing (see registrar.h).
 */
#include "registrar.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/stats.h"
#include "parsers/sip_hdr.h"
#include "parsers/sip_msg.h"
#include "parsers/sip_uri.h"

_Static_assert(REG_OUTCOME__COUNT == STATS_REG__COUNT, "stats.h counts the outcomes");

/* A contact of the request, normalised. */
struct rc {
	struct sv uri;	    /* the URI, without < > */
	struct sv contact;  /* "<uri>;params" (no expires, no q), in r->buf */
	struct sv instance; /* +sip.instance value, as written */
	uint32_t reg_id;
	uint32_t expires; /* seconds, after the rules */
	uint16_t q;
	int match; /* index of the existing binding it names, or -1 */
};

/* A binding of the AOR as the worker saw it, copied out of the read section. */
struct eb {
	struct sv contact, uri, instance, call_id;
	int64_t expires_ms;
	uint32_t cseq, reg_id;
	uint16_t q;
	bool drop; /* removed by this request */
};

#define REG_EB_BUF 16384

/* ---- the reply ---- */

static struct sv rbuf_put(struct reg_reply *r, const char *p, size_t len)
{
	if (r->used + len > sizeof(r->buf))
		return (struct sv){ NULL, 0 };
	char *d = r->buf + r->used;
	memcpy(d, p, len);
	r->used += len;
	return sv_make(d, len);
}

__attribute__((format(printf, 2, 3))) static struct sv rbuf_fmt(struct reg_reply *r,
								const char *fmt, ...)
{
	va_list ap;
	size_t cap = sizeof(r->buf) - r->used;
	va_start(ap, fmt);
	int n = vsnprintf(r->buf + r->used, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap)
		return (struct sv){ NULL, 0 };
	struct sv s = sv_make(r->buf + r->used, (size_t)n);
	r->used += (size_t)n;
	return s;
}

static void field(struct reg_reply *r, struct sv name, struct sv value)
{
	if (r->nf < REG_MAX_FIELDS && value.p)
		r->f[r->nf++] = (struct sip_build_field){ name, value };
}

static void answer(struct reg_reply *r, uint16_t status, const char *reason, enum reg_outcome o)
{
	r->status = status;
	r->reason = reason ? sv_cstr(reason) : (struct sv){ NULL, 0 };
	r->outcome = o;
}

/* 401 with one WWW-Authenticate per offered algorithm, one fresh nonce. */
static void challenge(const struct reg_env *env, struct reg_reply *r, struct sv realm, bool stale,
		      enum reg_outcome o)
{
	char nonce[AUTH_NONCE_LEN];
	if (auth_nonce(env->auth, realm, (uint64_t)env->now_ms, nonce) < 0) {
		answer(r, 500, NULL, REG_ERROR);
		return;
	}
	for (unsigned i = 0; i < env->auth->nalgs; i++) {
		char *d = r->buf + r->used;
		int n = auth_challenge(realm, sv_make(nonce, AUTH_NONCE_LEN), env->auth->algs[i],
				       stale, d, sizeof(r->buf) - r->used);
		if (n < 0)
			break;
		r->used += (size_t)n;
		field(r, SV_LIT("WWW-Authenticate"), sv_make(d, (size_t)n));
	}
	answer(r, 401, NULL, o);
}

/* RFC 1123 date for the Date header (RFC 3261 §10.3 step 8). */
static void date_field(const struct reg_env *env, struct reg_reply *r)
{
	static const char days[] = "SunMonTueWedThuFriSat";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	/* Formatted once per second per thread. */
	static __thread time_t last = -1;
	static __thread char text[32];
	static __thread int len;
	time_t t = (time_t)(env->now_ms / 1000);
	if (t != last) {
		struct tm tm;
		if (!gmtime_r(&t, &tm))
			return;
		len = snprintf(text, sizeof(text), "%.3s, %02d %.3s %04d %02d:%02d:%02d GMT",
			       days + 3 * tm.tm_wday, tm.tm_mday, months + 3 * tm.tm_mon,
			       tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
		if (len <= 0 || (size_t)len >= sizeof(text))
			return;
		last = t;
	}
	field(r, SV_LIT("Date"), rbuf_put(r, text, (size_t)len));
}

/* ---- the request ---- */

bool registrar_has_credentials(const struct sip_msg *m)
{
	return sip_msg_hdr(m, SIP_HDR_AUTHORIZATION) || sip_msg_hdr(m, SIP_HDR_PROXY_AUTHORIZATION);
}

/* "<uri>;params" without expires and q: what the table keeps and the 200 echoes. */
static struct sv contact_norm(struct reg_reply *r, const struct sip_contact *c)
{
	size_t start = r->used;
	if (!rbuf_put(r, "<", 1).p || !rbuf_put(r, c->addr.uri.p, c->addr.uri.len).p ||
	    !rbuf_put(r, ">", 1).p)
		return (struct sv){ NULL, 0 };
	struct sv rest = c->addr.params, n, v;
	while (sip_param_next(&rest, &n, &v, NULL) > 0) {
		if (sv_caseeq_lit(n, "expires") || sv_caseeq_lit(n, "q"))
			continue;
		/* the parameter as written: name[=value] */
		const char *e = v.p ? v.p + v.len : n.p + n.len;
		if (v.p && v.p > n.p && v.p[-1] == '"')
			e++; /* a quoted value: its closing quote, left out of v */
		if (!rbuf_put(r, ";", 1).p || !rbuf_put(r, n.p, (size_t)(e - n.p)).p)
			return (struct sv){ NULL, 0 };
	}
	return sv_make(r->buf + start, r->used - start);
}

/* The URI inside a stored "<uri>;params". */
static struct sv stored_uri(struct sv contact)
{
	if (contact.len >= 2 && contact.p[0] == '<') {
		ptrdiff_t e = sv_find(contact, '>');
		if (e > 0)
			return sv_make(contact.p + 1, (size_t)e - 1);
	}
	return contact;
}

static uint32_t clamp_expires(const struct conf *c, uint32_t e)
{
	return e > c->reg_max_expires_s ? c->reg_max_expires_s : e;
}

/* The worker's own changes not yet applied by the writer, replayed on the
 * copy of the table (location.h's identity rules), so that a worker reads its
 * own writes. */
struct overlay {
	struct eb *eb;
	int n;
};

static void overlay_op(void *ctx, const struct reg_op *op)
{
	struct overlay *o = ctx;
	const struct location_binding *b = &op->b;
	if (op->kind == REG_OP_REMOVE_AOR) {
		o->n = 0;
		return;
	}
	int k = -1;
	for (int i = 0; i < o->n && k < 0; i++) {
		const struct eb *e = &o->eb[i];
		if (b->instance.len ? sv_eq(e->instance, b->instance) && e->reg_id == b->reg_id
				    : !e->instance.len && sv_eq(e->contact, b->contact))
			k = i;
	}
	if (op->kind == REG_OP_REMOVE) {
		if (k >= 0)
			o->eb[k] = o->eb[--o->n];
		return;
	}
	if (op->kind != REG_OP_SET)
		return;
	if (k < 0) {
		if (o->n == LOCATION_AOR_MAX)
			return;
		k = o->n++;
	}
	o->eb[k] = (struct eb){
		.contact = b->contact,
		.uri = stored_uri(b->contact),
		.instance = b->instance,
		.call_id = b->call_id,
		.expires_ms = b->expires_ms,
		.cseq = b->cseq,
		.reg_id = b->reg_id,
		.q = b->q,
	};
}

/* Copy the AOR's bindings out of the table (lock-free read), then replay the
 * worker's pending changes on them. Returns how many, or -1 when they do not
 * fit (then the request gets 500). */
static int existing(const struct reg_env *env, struct sv aor, struct eb *eb, char *buf, size_t cap)
{
	struct location_binding b[LOCATION_AOR_MAX];
	size_t used = 0;
	int n = 0;
	location_read_begin(env->loc, env->reader);
	unsigned got = location_lookup(env->loc, aor, b, LOCATION_AOR_MAX);
	if (got > LOCATION_AOR_MAX)
		got = LOCATION_AOR_MAX;
	for (unsigned i = 0; i < got; i++) {
		size_t need = b[i].contact.len + b[i].instance.len + b[i].call_id.len;
		if (used + need > cap) {
			n = -1;
			break;
		}
		struct eb *e = &eb[n++];
		char *d = buf + used;
		memcpy(d, b[i].contact.p, b[i].contact.len);
		e->contact = sv_make(d, b[i].contact.len);
		d += b[i].contact.len;
		memcpy(d, b[i].instance.p, b[i].instance.len);
		e->instance = sv_make(d, b[i].instance.len);
		d += b[i].instance.len;
		memcpy(d, b[i].call_id.p, b[i].call_id.len);
		e->call_id = sv_make(d, b[i].call_id.len);
		used += need;
		e->uri = stored_uri(e->contact);
		e->expires_ms = b[i].expires_ms;
		e->cseq = b[i].cseq;
		e->reg_id = b[i].reg_id;
		e->q = b[i].q;
		e->drop = false;
	}
	location_read_end(env->loc, env->reader);
	if (n >= 0 && env->pending) {
		struct overlay o = { eb, n };
		env->pending(env->arg, aor, overlay_op, &o);
		n = o.n;
	}
	return n;
}

/* Whether request contact c names existing binding e (RFC 5626 §6 identity
 * when c has an instance, else the URI, RFC 3261 §10.3 step 7). */
static bool same_binding(const struct rc *c, const struct eb *e)
{
	if (c->instance.len || e->instance.len)
		return sv_eq(c->instance, e->instance) && c->reg_id == e->reg_id;
	struct sip_uri a, b;
	if (sv_eq(c->uri, e->uri))
		return true;
	if (sip_uri_parse(c->uri, &a, NULL) < 0 || sip_uri_parse(e->uri, &b, NULL) < 0)
		return false;
	return sip_uri_equal(&a, &b);
}

/* The AOR of To, "user@host" with the user unescaped and the host lowered. */
static int aor_of(const struct sip_msg *m, char *buf, size_t cap, struct sv *aor, struct sv *user,
		  struct sv *host)
{
	const struct sip_hdr *to = sip_msg_hdr(m, SIP_HDR_TO);
	struct sip_addr a;
	struct sip_uri u;
	if (!to || sip_addr_parse(to->value, &a, NULL) < 0 || sip_uri_parse(a.uri, &u, NULL) < 0)
		return -EBADMSG;
	if ((u.scheme != SIP_URI_SIP && u.scheme != SIP_URI_SIPS) || !u.user.len || !u.host.len)
		return -ENOENT;
	int ul = sip_unescape(u.user, buf, cap);
	if (ul < 0 || (size_t)ul + 1 + u.host.len > cap || memchr(buf, '@', (size_t)ul))
		return -EBADMSG;
	buf[ul] = '@';
	for (size_t i = 0; i < u.host.len; i++)
		buf[(size_t)ul + 1 + i] = sv_lower(u.host.p[i]);
	*aor = sv_make(buf, (size_t)ul + 1 + u.host.len);
	*user = sv_make(buf, (size_t)ul);
	*host = sv_make(buf + ul + 1, u.host.len);
	return 0;
}

/* Whether host is a domain this registrar serves for the request's R-URI. */
static bool domain_ok(const struct reg_env *env, const struct sip_msg *m, struct sv host)
{
	struct sip_uri ru;
	if (sip_uri_parse(m->ruri, &ru, NULL) == 0 && sv_caseeq(ru.host, host))
		return true;
	const struct conf *c = env->conf;
	if (c->advertised_host && sv_caseeq(host, sv_cstr(c->advertised_host)))
		return true;
	for (unsigned i = 0; i < c->ndomains; i++)
		if (sv_caseeq(host, sv_cstr(c->domains[i])))
			return true;
	return false;
}

/* Path values of every Path header, comma-joined, in r->buf. */
static struct sv path_of(const struct sip_msg *m, struct reg_reply *r)
{
	size_t start = r->used;
	for (const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_PATH); h;
	     h = sip_msg_hdr_next(m, h)) {
		if (r->used > start && !rbuf_put(r, ",", 1).p)
			return (struct sv){ NULL, 0 };
		if (!rbuf_put(r, h->value.p, h->value.len).p)
			return (struct sv){ NULL, 0 };
	}
	return sv_make(r->buf + start, r->used - start);
}

/* Authenticate. Returns true to go on; false when r holds the answer. */
static bool authenticate(const struct reg_env *env, const struct sip_msg *m, struct sv user,
			 struct sv domain, struct reg_reply *r)
{
	const struct conf *c = env->conf;
	struct sv realm = c->auth_realm && *c->auth_realm ? sv_cstr(c->auth_realm) : domain;
	struct sip_auth cred;
	const char *why = NULL;
	enum auth_status st = auth_find_credentials(m, false, realm, &cred, &why);
	if (st == AUTH_BAD_REQUEST) {
		answer(r, 400, "Bad Authorization", REG_BAD);
		return false;
	}
	if (st != AUTH_OK) {
		challenge(env, r, realm, false, REG_CHALLENGED);
		return false;
	}
	/* The credentials' user is the AOR's user (as Kamailio's
	 * auth_check(..., 1) and VOS3000 require). */
	if (!sv_eq(cred.username, user)) {
		answer(r, 403, "Authentication User Mismatch", REG_REFUSED);
		return false;
	}
	const struct auth_account *acct =
		env->accounts ? accounts_find(env->accounts, user, domain) : NULL;
	if (!acct && env->accounts_redis)
		acct = accounts_find(env->accounts_redis, user, domain);
	st = auth_verify(env->auth, env->nc, &cred, m->method_name, realm, acct,
			 (uint64_t)env->now_ms, &why);
	switch (st) {
	case AUTH_OK:
		if (env->susp)
			suspend_success(env->susp, user, domain, env->from);
		return true;
	case AUTH_STALE:
		challenge(env, r, realm, true, REG_CHALLENGED);
		return false;
	case AUTH_FAIL:
		if (env->susp && c->suspend_time_s &&
		    suspend_failure(env->susp, user, domain, env->from, (uint64_t)env->now_ms)) {
			r->logged_suspend = true;
			if (c->suspend_action == CONF_SUSPEND_DROP)
				answer(r, 0, NULL, REG_SUSPENDED);
			else
				answer(r, 403, "Suspended", REG_SUSPENDED);
			return false;
		}
		challenge(env, r, realm, false, REG_AUTH_FAILED);
		return false;
	case AUTH_BAD_REQUEST:
		answer(r, 400, why ? why : "Bad Authorization", REG_BAD);
		return false;
	case AUTH_ERROR:
		answer(r, 500, NULL, REG_ERROR);
		return false;
	default: /* NO_CREDENTIALS, UNKNOWN_SCHEME, UNSUPPORTED */
		challenge(env, r, realm, false, REG_CHALLENGED);
		return false;
	}
}

/* Emit one change; false (with a 500 in r) when the writer cannot take it. */
static bool emit(const struct reg_env *env, enum reg_op_kind k, const struct location_binding *b,
		 struct reg_reply *r)
{
	if (env->emit(env->arg, k, b) == 0)
		return true;
	answer(r, 500, "Registrar Busy", REG_ERROR);
	return false;
}

void registrar_process(const struct reg_env *env, const struct sip_msg *m, struct reg_reply *r)
{
	const struct conf *c = env->conf;
	char aorbuf[ACCOUNTS_USER_MAX + ACCOUNTS_DOMAIN_MAX + 2];
	struct sv aor, user, domain;
	struct rc rc[LOCATION_AOR_MAX];
	unsigned nrc = 0;
	bool star = false;

	r->status = 0;
	r->reason = (struct sv){ NULL, 0 };
	r->outcome = REG_OK;
	r->logged_suspend = false;
	r->max_expires = 0;
	r->nf = 0;
	r->used = 0;

	/* 1. The address of record (§10.3 step 3). */
	int ret = aor_of(m, aorbuf, sizeof(aorbuf), &aor, &user, &domain);
	if (ret == -ENOENT || (ret == 0 && !domain_ok(env, m, domain))) {
		answer(r, 404, "Not Found", REG_BAD);
		return;
	}
	if (ret < 0) {
		answer(r, 400, "Bad To", REG_BAD);
		return;
	}

	/* 2. Brute-force suspension, then digest (§10.3 step 2, RFC 7616). */
	if (env->susp && c->suspend_time_s &&
	    suspend_check(env->susp, user, domain, env->from, (uint64_t)env->now_ms)) {
		if (c->suspend_action == CONF_SUSPEND_DROP)
			answer(r, 0, NULL, REG_SUSPENDED);
		else
			answer(r, 403, "Suspended", REG_SUSPENDED);
		return;
	}
	if (c->reg_authenticate && !authenticate(env, m, user, domain, r))
		return;

	/* 3. Call-ID, CSeq, Expires header. */
	const struct sip_hdr *hci = sip_msg_hdr(m, SIP_HDR_CALL_ID);
	const struct sip_hdr *hcs = sip_msg_hdr(m, SIP_HDR_CSEQ);
	struct sip_cseq cseq;
	struct sv call_id;
	if (!hci || !hcs || sip_callid_parse(hci->value, &call_id, NULL) < 0 ||
	    sip_cseq_parse(hcs->value, &cseq, NULL) < 0) {
		answer(r, 400, "Bad Call-ID or CSeq", REG_BAD);
		return;
	}
	uint32_t hdr_expires = c->reg_default_expires_s;
	bool has_hdr_expires = false;
	const struct sip_hdr *hex = sip_msg_hdr(m, SIP_HDR_EXPIRES);
	if (hex) {
		ret = sip_uint_parse(hex->value, UINT32_MAX, &hdr_expires, NULL);
		if (ret == -ERANGE)
			hdr_expires = UINT32_MAX;
		else if (ret < 0) {
			answer(r, 400, "Bad Expires", REG_BAD);
			return;
		}
		has_hdr_expires = true;
	}

	/* 4. Contacts (§10.3 step 6). */
	for (const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_CONTACT); h;
	     h = sip_msg_hdr_next(m, h)) {
		struct sv rest = h->value;
		struct sip_contact ct;
		while ((ret = sip_contact_next(&rest, &ct, NULL)) > 0) {
			if (ct.addr.star) {
				star = true;
				continue;
			}
			if (nrc == LOCATION_AOR_MAX) {
				answer(r, 403, "Too Many Contacts", REG_REFUSED);
				return;
			}
			struct rc *x = &rc[nrc++];
			x->uri = ct.addr.uri;
			x->contact = contact_norm(r, &ct);
			x->instance = ct.instance;
			x->reg_id = ct.has_reg_id ? ct.reg_id : 0;
			x->q = ct.has_q ? ct.q : 1000;
			x->expires = ct.has_expires ? ct.expires : hdr_expires;
			x->match = -1;
			if (!x->contact.p) {
				answer(r, 500, "Contact Too Long", REG_ERROR);
				return;
			}
			struct sip_uri u;
			if (sip_uri_parse(x->uri, &u, NULL) < 0) {
				answer(r, 400, "Bad Contact URI", REG_BAD);
				return;
			}
		}
		if (ret < 0) {
			answer(r, 400, "Bad Contact", REG_BAD);
			return;
		}
	}
	if (star && (nrc || !has_hdr_expires || hdr_expires != 0)) {
		answer(r, 400, "Invalid Wildcard Contact", REG_BAD);
		return;
	}
	for (unsigned i = 0; i < nrc; i++) {
		if (rc[i].expires && rc[i].expires < c->reg_min_expires_s) {
			field(r, SV_LIT("Min-Expires"), rbuf_fmt(r, "%u", c->reg_min_expires_s));
			answer(r, 423, NULL, REG_INTERVAL);
			return;
		}
		rc[i].expires = clamp_expires(c, rc[i].expires);
	}

	/* 5. What the AOR has now. */
	struct eb eb[LOCATION_AOR_MAX];
	char ebuf[REG_EB_BUF];
	int neb = existing(env, aor, eb, ebuf, sizeof(ebuf));
	if (neb < 0) {
		answer(r, 500, "Bindings Too Large", REG_ERROR);
		return;
	}
	struct location_binding b = { .aor = aor };

	if (star) {
		/* Remove every binding, unless one is newer (same Call-ID, CSeq
		 * not lower): then the whole request fails (step 6). */
		for (int i = 0; i < neb; i++)
			if (sv_eq(eb[i].call_id, call_id) && cseq.seq <= eb[i].cseq) {
				answer(r, 500, "Out Of Order", REG_BAD);
				return;
			}
		if (neb && !emit(env, REG_OP_REMOVE_AOR, &b, r))
			return;
		date_field(env, r);
		answer(r, 200, NULL, REG_OK);
		return;
	}

	/* 6. Identity and ordering (step 7). */
	unsigned adds = 0;
	for (unsigned i = 0; i < nrc; i++) {
		for (int j = 0; j < neb; j++) {
			if (!same_binding(&rc[i], &eb[j]))
				continue;
			rc[i].match = j;
			if (sv_eq(eb[j].call_id, call_id) && cseq.seq <= eb[j].cseq) {
				answer(r, 500, "Out Of Order", REG_BAD);
				return;
			}
			break;
		}
		bool live = rc[i].match >= 0 && eb[rc[i].match].expires_ms > env->now_ms;
		if (rc[i].expires && !live)
			adds++;
	}

	/* 7. Replace, or refuse while another contact is live; max contacts. */
	unsigned remain = 0;
	for (int j = 0; j < neb; j++) {
		bool named = false;
		for (unsigned i = 0; i < nrc && !named; i++)
			named = rc[i].match == j;
		bool live = eb[j].expires_ms > env->now_ms;
		if (named || !live)
			continue;
		if (adds && c->reg_replace)
			eb[j].drop = true;
		else
			remain++;
	}
	if (adds && !c->reg_replace && remain) {
		answer(r, 403, "Registered From Another Contact", REG_REFUSED);
		return;
	}
	unsigned after = remain;
	for (unsigned i = 0; i < nrc; i++)
		after += rc[i].expires ? 1 : 0;
	if (adds && after > c->reg_max_contacts) {
		answer(r, 403, "Too Many Contacts", REG_REFUSED);
		return;
	}
	if (adds && c->reg_max_bindings) {
		struct location_counts lc; /* a rough figure: the writer checks again */
		location_counts(env->loc, &lc);
		if (lc.bindings + adds > c->reg_max_bindings) {
			field(r, SV_LIT("Retry-After"), SV_LIT("60"));
			answer(r, 503, "Registrar Full", REG_REFUSED);
			return;
		}
	}

	/* 8. The changes, in order: removals first, so that readers never see
	 * more than max contacts. */
	for (int j = 0; j < neb; j++) {
		bool gone = eb[j].drop;
		for (unsigned i = 0; i < nrc && !gone; i++)
			if (rc[i].match == j &&
			    (!rc[i].expires || !sv_eq(rc[i].contact, eb[j].contact)))
				gone = true; /* unregistered, or its stored form changes */
		if (!gone)
			continue;
		eb[j].drop = true;
		b.contact = eb[j].contact;
		b.instance = eb[j].instance;
		b.reg_id = eb[j].reg_id;
		if (!emit(env, REG_OP_REMOVE, &b, r))
			return;
	}
	const struct sip_hdr *hua = sip_msg_hdr(m, SIP_HDR_USER_AGENT);
	struct sv path = path_of(m, r);
	for (unsigned i = 0; i < nrc; i++) {
		if (!rc[i].expires)
			continue;
		b = (struct location_binding){
			.aor = aor,
			.contact = rc[i].contact,
			.call_id = call_id,
			.path = path,
			.instance = rc[i].instance,
			.user_agent = hua ? hua->value : (struct sv){ NULL, 0 },
			.expires_ms = env->now_ms + (int64_t)rc[i].expires * 1000,
			.cseq = cseq.seq,
			.reg_id = rc[i].reg_id,
			.q = rc[i].q,
			.src = env->src,
		};
		if (!emit(env, REG_OP_SET, &b, r))
			return;
		if (rc[i].expires > r->max_expires)
			r->max_expires = rc[i].expires;
	}

	/* 9. The 200: every binding with its expiry (step 8). */
	for (int j = 0; j < neb; j++) {
		if (eb[j].drop || eb[j].expires_ms <= env->now_ms)
			continue;
		bool named = false;
		for (unsigned i = 0; i < nrc && !named; i++)
			named = rc[i].match == j;
		if (named)
			continue;
		int64_t left = (eb[j].expires_ms - env->now_ms + 999) / 1000;
		if (eb[j].q != 1000)
			field(r, SV_LIT("Contact"),
			      rbuf_fmt(r, "%.*s;q=%u.%03u;expires=%lld", (int)eb[j].contact.len,
				       eb[j].contact.p, eb[j].q / 1000, eb[j].q % 1000,
				       (long long)left));
		else
			field(r, SV_LIT("Contact"),
			      rbuf_fmt(r, "%.*s;expires=%lld", (int)eb[j].contact.len,
				       eb[j].contact.p, (long long)left));
	}
	for (unsigned i = 0; i < nrc; i++) {
		if (!rc[i].expires)
			continue;
		if (rc[i].q != 1000)
			field(r, SV_LIT("Contact"),
			      rbuf_fmt(r, "%.*s;q=%u.%03u;expires=%u", (int)rc[i].contact.len,
				       rc[i].contact.p, rc[i].q / 1000, rc[i].q % 1000,
				       rc[i].expires));
		else
			field(r, SV_LIT("Contact"),
			      rbuf_fmt(r, "%.*s;expires=%u", (int)rc[i].contact.len,
				       rc[i].contact.p, rc[i].expires));
	}
	if (path.len)
		field(r, SV_LIT("Path"), path);
	date_field(env, r);
	answer(r, 200, NULL, REG_OK);
}

const char *registrar_outcome_str(enum reg_outcome o)
{
	static const char *const names[REG_OUTCOME__COUNT] = {
		"ok",	   "challenged", "auth_failed", "suspended",
		"refused", "interval",	 "bad",		"error",
	};
	return (unsigned)o < REG_OUTCOME__COUNT ? names[o] : "unknown";
}

/* ---- changes ---- */

struct reg_op *reg_op_new(enum reg_op_kind kind, const struct location_binding *b)
{
	const struct sv *src[] = { &b->aor,  &b->contact,  &b->call_id,
				   &b->path, &b->instance, &b->user_agent };
	size_t len = 0;
	for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++)
		len += src[i]->len;
	struct reg_op *op = malloc(sizeof(*op) + len);
	if (!op)
		return NULL;
	op->kind = (uint8_t)kind;
	op->b = *b;
	struct sv *dst[] = { &op->b.aor,  &op->b.contact,  &op->b.call_id,
			     &op->b.path, &op->b.instance, &op->b.user_agent };
	char *d = op->data;
	for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
		if (src[i]->len)
			memcpy(d, src[i]->p, src[i]->len);
		*dst[i] = sv_make(d, src[i]->len);
		d += src[i]->len;
	}
	return op;
}

int reg_op_apply(struct location *loc, const struct reg_op *op)
{
	const struct location_binding *b = &op->b;
	switch (op->kind) {
	case REG_OP_SET:
		return location_set(loc, b);
	case REG_OP_REMOVE:
		return location_remove(loc, b->aor, b->contact, b->instance, b->reg_id);
	case REG_OP_REMOVE_AOR:
		return location_remove_aor(loc, b->aor);
	default:
		return -EINVAL;
	}
}
