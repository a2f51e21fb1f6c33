/* SPDX-License-Identifier: MIT */
/*
 * load_auth.c: digest credentials for sipring-load (see load_auth.h).
 */
#include "load_auth.h"

#include <errno.h>
#include <string.h>

#include "core/auth.h"
#include "parsers/sip_hdr.h"
#include "parsers/sv.h"

/* Does the comma-separated qop list (quotes removed) name "auth"? */
static bool qop_has_auth(struct sv list)
{
	const char *p = list.p, *end = list.p + list.len;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		const char *s = p;
		while (p < end && *p != ',' && *p != ' ' && *p != '\t')
			p++;
		if (sv_caseeq_lit(sv_range(s, p), "auth"))
			return true;
	}
	return false;
}

/* The rank of a parsed challenge: 2 SHA-256, 1 MD5, 0 unusable. */
static int rank(const struct sip_auth *c)
{
	enum auth_alg alg = AUTH_MD5;
	if (!c->is_digest || !c->realm.p || !c->nonce.p)
		return 0;
	if (c->algorithm.len && auth_alg_parse(c->algorithm, &alg) < 0)
		return 0;
	if (c->qop.p && !qop_has_auth(c->qop))
		return 0;
	return alg == AUTH_SHA256 ? 2 : 1;
}

/* An output buffer that remembers running out of room. */
struct out {
	char *p;
	size_t len, cap;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || n >= o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void put_sv(struct out *o, struct sv s)
{
	put(o, s.p, s.len);
}

#define PUT_LIT(o, lit) put((o), (lit), sizeof(lit) - 1)

static uint32_t fnv1a(struct sv s)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < s.len; i++)
		h = (h ^ (uint8_t)s.p[i]) * 16777619u;
	return h;
}

/* Point acct at the user's HA1 for alg and realm, computing it if it is not cached. */
static int ha1_cached(struct load_ha1 *c, enum auth_alg alg, struct auth_account *acct)
{
	uint32_t h = fnv1a(acct->realm);
	if (c->realm_hash != h || !c->have) {
		c->realm_hash = h;
		c->have = 0;
	}
	uint8_t *ha1 = alg == AUTH_SHA256 ? c->sha256 : c->md5;
	if (!(c->have & (1u << alg))) {
		int ret = auth_ha1(alg, acct->user, acct->realm, acct->password, ha1);
		if (ret < 0)
			return ret;
		c->have |= (uint8_t)(1u << alg);
	}
	if (alg == AUTH_SHA256)
		acct->ha1_sha256 = ha1;
	else
		acct->ha1_md5 = ha1;
	return 0;
}

int load_auth_line(const struct load_answer *a, const struct load_auth_req *r, char *out,
		   size_t cap)
{
	struct sip_auth best = { 0 }, c;
	struct sip_err err;
	int best_rank = 0, bad = 0;

	for (unsigned i = 0; i < a->nchallenge && best_rank < 2; i++) {
		if (sip_auth_parse(sv_make(a->challenge[i].p, a->challenge[i].len), &c, &err) < 0) {
			bad++;
			continue;
		}
		int k = rank(&c);
		if (k > best_rank) {
			best_rank = k;
			best = c;
		}
	}
	if (best_rank == 0)
		return bad ? -EBADMSG : -ENOTSUP;

	char user[LOAD_USER_LEN], password[LOAD_PASSWORD_LEN];
	load_user_name(user, r->user);
	load_user_password(password, r->user);
	struct auth_account acct = {
		.user = sv_make(user, sizeof(user)),
		.realm = best.realm,
		.password = sv_make(password, sizeof(password)),
	};
	int ret;
	if (r->ha1 &&
	    (ret = ha1_cached(r->ha1, best_rank == 2 ? AUTH_SHA256 : AUTH_MD5, &acct)) < 0)
		return ret;
	/* what the UA sends back: the challenge's nonce and algorithm, our uri, qop,
	 * nc and cnonce */
	bool qop = best.qop.p != NULL;
	const struct sv uri = sv_cstr(r->uri), cnonce = sv_cstr(r->cnonce);
	struct sip_auth cred = {
		.username = acct.user,
		.realm = best.realm,
		.nonce = best.nonce,
		.uri = uri,
		.algorithm = best.algorithm,
		.qop = qop ? SV_LIT("auth") : SV_NULL,
		.nc = qop ? SV_LIT("00000001") : SV_NULL,
		.cnonce = qop ? cnonce : SV_NULL,
	};
	char response[AUTH_HEX_MAX + 1];
	ret = auth_response(&acct, best.realm, sv_cstr(r->method), &cred, response);
	if (ret < 0)
		return ret; /* -ENOTSUP, -ENOMEM: an account with a password has a key */

	struct out o = { out, 0, cap, false };
	PUT_LIT(&o, "Authorization: Digest username=\"");
	put_sv(&o, acct.user);
	PUT_LIT(&o, "\", realm=\"");
	put_sv(&o, best.realm);
	PUT_LIT(&o, "\", nonce=\"");
	put_sv(&o, best.nonce);
	PUT_LIT(&o, "\", uri=\"");
	put_sv(&o, uri);
	PUT_LIT(&o, "\", response=\"");
	put(&o, response, (size_t)ret);
	PUT_LIT(&o, "\"");
	if (best.algorithm.len) {
		PUT_LIT(&o, ", algorithm=");
		put_sv(&o, best.algorithm);
	}
	if (qop) {
		PUT_LIT(&o, ", cnonce=\"");
		put_sv(&o, cnonce);
		PUT_LIT(&o, "\", qop=auth, nc=00000001");
	}
	if (best.opaque.p) {
		PUT_LIT(&o, ", opaque=\"");
		put_sv(&o, best.opaque);
		PUT_LIT(&o, "\"");
	}
	PUT_LIT(&o, "\r\n");
	if (o.full)
		return -ENOBUFS;
	out[o.len] = 0;
	return (int)o.len;
}
