/* SPDX-License-Identifier: MIT */
/*
 * Tests of core/auth.h: the RFC 7616 §3.9.1 vectors (SHA-256 and MD5), a REGISTER
 * answered to our own challenge and verified end to end, every refusal with its
 * status (wrong password, tampered, expired and foreign nonces, replayed and
 * increasing nonce-counts, unknown schemes, user and realm mismatches, HA1-only
 * accounts, -sess, auth-int, RFC 2069 form), the replay table's eviction rule,
 * and challenges parsed back with sip_auth_parse(). The UA side is computed here
 * with OpenSSL directly, not with auth_response(), so that it is an oracle.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/auth.h"
#include "parsers/sip_hdr.h"
#include "parsers/sip_msg.h"
#include "tests/guard.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define T0	  1700000000000ull /* a fixed "now", ms */
#define REALM	  "sip.example.com"
#define SECRET	  "a shared secret of enough length"
#define RFC_USER  "Mufasa"
#define RFC_PASS  "Circle of Life"
#define RFC_REALM "http-auth@example.org"

/* ---- the UA side, computed independently ---- */

static void hexh(const char *alg, const char *text, char *out)
{
	const EVP_MD *md = strcmp(alg, "MD5") ? EVP_sha256() : EVP_md5();
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	cr_assert(EVP_Digest(text, strlen(text), h, &n, md, NULL));
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", h[i]);
}

/* The response for qop=auth (qop NULL: RFC 2069 form). */
static void ua_response(const char *alg, const char *user, const char *realm, const char *pass,
			const char *method, const char *uri, const char *nonce, const char *nc,
			const char *cnonce, const char *qop, char out[65])
{
	char ha1[65], ha2[65], buf[1024];

	snprintf(buf, sizeof(buf), "%s:%s:%s", user, realm, pass);
	hexh(alg, buf, ha1);
	snprintf(buf, sizeof(buf), "%s:%s", method, uri);
	hexh(alg, buf, ha2);
	if (qop)
		snprintf(buf, sizeof(buf), "%s:%s:%s:%s:%s:%s", ha1, nonce, nc, cnonce, qop, ha2);
	else
		snprintf(buf, sizeof(buf), "%s:%s:%s", ha1, nonce, ha2);
	hexh(alg, buf, out);
}

/* ---- fixtures ---- */

static struct auth_ctx ctx;
static struct auth_nc nct;

static void setup(void)
{
	struct auth_opts o = { .secret = SV_LIT(SECRET) };

	cr_assert_eq(auth_init(&ctx, &o), 0);
	cr_assert_eq(auth_nc_init(&nct, 0), 0);
}

static void teardown(void)
{
	auth_nc_free(&nct);
}

static const struct auth_account alice = {
	.user = SV_LIT("1001"),
	.realm = SV_LIT(REALM),
	.password = SV_LIT("s3cret"),
};

/* A fresh nonce of ctx for REALM at time t. */
static void nonce_at(uint64_t t, char out[AUTH_NONCE_LEN + 1])
{
	cr_assert_eq(auth_nonce(&ctx, SV_LIT(REALM), t, out), 0);
	out[AUTH_NONCE_LEN] = '\0';
}

/* Credentials text and parsed form; the text must outlive the views. */
struct cred {
	char text[1024];
	struct sip_auth a;
};

static void cred_make(struct cred *c, const char *alg, const char *user, const char *realm,
		      const char *pass, const char *nonce, const char *nc, const char *qop)
{
	char resp[65];
	const char *uri = "sip:" REALM, *cnonce = "0a4f113b";

	ua_response(alg ? alg : "MD5", user, realm, pass, "REGISTER", uri, nonce, nc, cnonce, qop,
		    resp);
	if (qop)
		snprintf(c->text, sizeof(c->text),
			 "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
			 "response=\"%s\"%s%s, qop=%s, nc=%s, cnonce=\"%s\"",
			 user, realm, nonce, uri, resp, alg ? ", algorithm=" : "", alg ? alg : "",
			 qop, nc, cnonce);
	else
		snprintf(c->text, sizeof(c->text),
			 "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
			 "response=\"%s\"%s%s",
			 user, realm, nonce, uri, resp, alg ? ", algorithm=" : "", alg ? alg : "");
	cr_assert_eq(sip_auth_parse(sv_cstr(c->text), &c->a, NULL), 0, "%s", c->text);
}

static enum auth_status verify(const struct cred *c, const struct auth_account *acct, uint64_t now,
			       const char **why)
{
	return auth_verify(&ctx, &nct, &c->a, SV_LIT("REGISTER"), SV_LIT(REALM), acct, now, why);
}

#define expect(c, acct, now, st)                                                                \
	do {                                                                                    \
		const char *why_ = NULL;                                                        \
		enum auth_status got_ = verify(c, acct, now, &why_);                            \
		cr_assert_eq(got_, st, "got %s (%s), want %s: %s", auth_status_str(got_), why_, \
			     auth_status_str(st), (c)->text);                                   \
		cr_assert_not_null(why_);                                                       \
	} while (0)

/* ---- RFC 7616 §3.9.1 ---- */

static const struct {
	const char *alg, *response;
} rfc_vec[] = {
	{ "SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1" },
	{ "MD5", "8ca523f5e9506fed4657c9700eebdbec" },
};

static void rfc_cred(struct cred *c, const char *alg, const char *response)
{
	snprintf(c->text, sizeof(c->text),
		 "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", "
		 "uri=\"/dir/index.html\", algorithm=%s, "
		 "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, "
		 "cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, "
		 "response=\"%s\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
		 alg, response);
	cr_assert_eq(sip_auth_parse(sv_cstr(c->text), &c->a, NULL), 0);
}

Test(auth, rfc7616_vectors, .init = setup, .fini = teardown)
{
	const struct auth_account mufasa = { .user = SV_LIT(RFC_USER),
					     .realm = SV_LIT(RFC_REALM),
					     .password = SV_LIT(RFC_PASS) };

	for (size_t i = 0; i < N(rfc_vec); i++) {
		struct cred c;
		char out[AUTH_HEX_MAX + 1], ua[65];
		enum auth_alg alg;
		uint8_t ha1[AUTH_HASH_MAX];
		const char *why;

		rfc_cred(&c, rfc_vec[i].alg, rfc_vec[i].response);
		/* The oracle agrees with the RFC, and so does the module. */
		ua_response(rfc_vec[i].alg, RFC_USER, RFC_REALM, RFC_PASS, "GET", "/dir/index.html",
			    "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001",
			    "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "auth", ua);
		cr_assert_str_eq(ua, rfc_vec[i].response);
		cr_assert_eq(auth_response(&mufasa, SV_LIT(RFC_REALM), SV_LIT("GET"), &c.a, out),
			     (int)strlen(rfc_vec[i].response));
		cr_assert_str_eq(out, rfc_vec[i].response, "%s", rfc_vec[i].alg);

		/* The same from a stored HA1 only. */
		cr_assert_eq(auth_alg_parse(sv_cstr(rfc_vec[i].alg), &alg), 0);
		cr_assert_eq(
			auth_ha1(alg, SV_LIT(RFC_USER), SV_LIT(RFC_REALM), SV_LIT(RFC_PASS), ha1),
			0);
		struct auth_account h = { .user = SV_LIT(RFC_USER), .realm = SV_LIT(RFC_REALM) };
		if (alg == AUTH_MD5)
			h.ha1_md5 = ha1;
		else
			h.ha1_sha256 = ha1;
		cr_assert_gt(auth_response(&h, SV_LIT(RFC_REALM), SV_LIT("GET"), &c.a, out), 0);
		cr_assert_str_eq(out, rfc_vec[i].response);

		/* Right digest, but the nonce is not ours: stale, never OK. */
		cr_assert_eq(auth_verify(&ctx, &nct, &c.a, SV_LIT("GET"), SV_LIT(RFC_REALM),
					 &mufasa, T0, &why),
			     AUTH_STALE, "%s", why);
		/* Wrong password: fail. */
		const struct auth_account bad = { .user = SV_LIT(RFC_USER),
						  .realm = SV_LIT(RFC_REALM),
						  .password = SV_LIT("Circle Of Life") };
		cr_assert_eq(auth_verify(&ctx, &nct, &c.a, SV_LIT("GET"), SV_LIT(RFC_REALM), &bad,
					 T0, &why),
			     AUTH_FAIL);
		cr_assert_str_eq(why, "wrong response");
	}
}

/* ---- challenges ---- */

Test(auth, challenge_headers_parse_back, .init = setup, .fini = teardown)
{
	char buf[1024];
	int n = auth_challenge_headers(&ctx, false, SV_LIT(REALM), false, T0, buf, sizeof(buf));
	const char *want_alg[] = { "SHA-256", "MD5" };
	const char *p = buf;
	struct sv nonce0 = SV_NULL;

	cr_assert_gt(n, 0);
	cr_assert_eq((size_t)n, strlen(buf));
	for (size_t i = 0; i < N(want_alg); i++) {
		const char *eol = strstr(p, "\r\n");
		struct sip_auth a;

		cr_assert_not_null(eol);
		cr_assert(!strncmp(p, "WWW-Authenticate: ", 18), "%s", p);
		p += 18;
		cr_assert_eq(sip_auth_parse(sv_range(p, eol), &a, NULL), 0, "%.*s", (int)(eol - p),
			     p);
		cr_assert(a.is_digest);
		cr_assert(sv_eq(a.realm, SV_LIT(REALM)));
		cr_assert(sv_eq(a.algorithm, sv_cstr(want_alg[i])), "header %zu", i);
		cr_assert(sv_eq(a.qop, SV_LIT("auth")));
		cr_assert_eq(a.nonce.len, AUTH_NONCE_LEN);
		cr_assert_null(a.stale.p);
		if (i == 0)
			nonce0 = a.nonce;
		else
			cr_assert(sv_eq(a.nonce, nonce0), "one nonce for every algorithm");
		p = eol + 2;
	}
	cr_assert_eq(*p, '\0');

	/* 407, stale, and the configured order. */
	const uint8_t md5_only[] = { AUTH_MD5 };
	struct auth_opts o = { .secret = SV_LIT(SECRET), .algs = md5_only, .nalgs = 1 };
	struct auth_ctx c1;
	cr_assert_eq(auth_init(&c1, &o), 0);
	n = auth_challenge_headers(&c1, true, SV_LIT(REALM), true, T0, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_assert(!strncmp(buf, "Proxy-Authenticate: Digest realm=\"" REALM "\", nonce=\"", 52),
		  "%s", buf);
	cr_assert_not_null(strstr(buf, ", algorithm=MD5, qop=\"auth\", stale=true\r\n"), "%s", buf);
	cr_assert_null(strstr(buf, "SHA-256"));

	/* Too small a buffer. */
	cr_assert_eq(auth_challenge_headers(&ctx, false, SV_LIT(REALM), false, T0, buf, 100),
		     -ENOBUFS);
}

Test(auth, challenge_value)
{
	static const struct {
		const char *realm;
		int alg;
		bool stale;
		const char *want;
	} rows[] = {
		{ "a.example", AUTH_SHA256, false,
		  "Digest realm=\"a.example\", nonce=\"N\", algorithm=SHA-256, qop=\"auth\"" },
		{ "a.example", AUTH_MD5, true,
		  "Digest realm=\"a.example\", nonce=\"N\", algorithm=MD5, qop=\"auth\", "
		  "stale=true" },
		{ "we\"ird\\", AUTH_MD5, false,
		  "Digest realm=\"we\\\"ird\\\\\", nonce=\"N\", algorithm=MD5, qop=\"auth\"" },
	};
	char buf[256];

	for (size_t i = 0; i < N(rows); i++) {
		int n = auth_challenge(sv_cstr(rows[i].realm), SV_LIT("N"),
				       (enum auth_alg)rows[i].alg, rows[i].stale, buf, sizeof(buf));
		cr_assert_eq(n, (int)strlen(rows[i].want));
		cr_assert_str_eq(buf, rows[i].want);
		cr_assert_eq(auth_challenge(sv_cstr(rows[i].realm), SV_LIT("N"),
					    (enum auth_alg)rows[i].alg, rows[i].stale, buf,
					    strlen(rows[i].want)),
			     -ENOBUFS);
	}
	/* The escaped realm reads back. */
	struct sip_auth a;
	char q[32];
	auth_challenge(SV_LIT("we\"ird\\"), SV_LIT("N"), AUTH_MD5, false, buf, sizeof(buf));
	cr_assert_eq(sip_auth_parse(sv_cstr(buf), &a, NULL), 0);
	cr_assert_eq(sip_unquote(a.realm, q, sizeof(q)), 7);
	cr_assert(!memcmp(q, "we\"ird\\", 7));
}

/* ---- a REGISTER, end to end ---- */

static const char *register_text(char *buf, size_t cap, const char *auth_lines)
{
	snprintf(buf, cap,
		 "REGISTER sip:" REALM " SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds\r\n"
		 "Max-Forwards: 70\r\n"
		 "To: <sip:1001@" REALM ">\r\n"
		 "From: <sip:1001@" REALM ">;tag=456248\r\n"
		 "Call-ID: 843817637684230@998sdasdh09\r\n"
		 "CSeq: 1826 REGISTER\r\n"
		 "Contact: <sip:1001@192.0.2.10:5060>\r\n"
		 "%s"
		 "Expires: 3600\r\n"
		 "Content-Length: 0\r\n\r\n",
		 auth_lines);
	return buf;
}

struct parsed {
	char text[2048];
	struct sip_hdr hdrs[32];
	struct sip_msg m;
};

static void parse_msg(struct parsed *p, const char *auth_lines)
{
	const char *g;

	register_text(p->text, sizeof(p->text), auth_lines);
	g = guard_place(p->text, strlen(p->text));
	sip_msg_init(&p->m, p->hdrs, N(p->hdrs));
	cr_assert_gt(sip_msg_parse(&p->m, g, strlen(p->text), 0, NULL), 0, "%s", p->text);
}

/* Challenge, answer as a UA would, verify: the registrar's loop. */
Test(auth, register_roundtrip, .init = setup, .fini = teardown)
{
	static const char *algs[] = { "SHA-256", "MD5" };

	for (size_t k = 0; k < N(algs); k++) {
		char chal[1024], lines[1400], resp[65], nonce[AUTH_NONCE_LEN + 1];
		struct sip_auth ch, cred;
		struct parsed p;
		const char *why, *v;

		cr_assert_gt(auth_challenge_headers(&ctx, false, SV_LIT(REALM), false, T0, chal,
						    sizeof(chal)),
			     0);
		v = chal + strlen("WWW-Authenticate: ");
		cr_assert_eq(sip_auth_parse(sv_range(v, strstr(v, "\r\n")), &ch, NULL), 0);
		memcpy(nonce, ch.nonce.p, AUTH_NONCE_LEN);
		nonce[AUTH_NONCE_LEN] = '\0';

		for (unsigned nc = 1; nc <= 3; nc++) {
			char ncs[9];

			snprintf(ncs, sizeof(ncs), "%08x", nc);
			ua_response(algs[k], "1001", REALM, "s3cret", "REGISTER", "sip:" REALM,
				    nonce, ncs, "0a4f113b", "auth", resp);
			snprintf(lines, sizeof(lines),
				 "Authorization: Digest username=\"1001\",realm=\"" REALM "\",\r\n"
				 " nonce=\"%s\", uri=\"sip:" REALM "\",\r\n"
				 " response=\"%s\", algorithm=%s, cnonce=\"0a4f113b\", qop=auth, "
				 "nc=%s\r\n",
				 nonce, resp, algs[k], ncs);
			parse_msg(&p, lines);
			cr_assert_eq(auth_find_credentials(&p.m, false, SV_LIT(REALM), &cred, &why),
				     AUTH_OK, "%s", why);
			cr_assert_eq(auth_verify(&ctx, &nct, &cred, p.m.method_name, SV_LIT(REALM),
						 &alice, T0 + 1000 * nc, &why),
				     AUTH_OK, "%s nc %u: %s", algs[k], nc, why);
			/* The same request again: a replay. */
			cr_assert_eq(auth_verify(&ctx, &nct, &cred, p.m.method_name, SV_LIT(REALM),
						 &alice, T0 + 1000 * nc, &why),
				     AUTH_FAIL);
			cr_assert(!strncmp(why, "replay", 6), "%s", why);
		}
	}
}

/* ---- refusals ---- */

Test(auth, wrong_credentials, .init = setup, .fini = teardown)
{
	char nonce[AUTH_NONCE_LEN + 1];
	struct cred c;

	nonce_at(T0, nonce);
	cred_make(&c, "SHA-256", "1001", REALM, "guess", nonce, "00000001", "auth");
	expect(&c, &alice, T0, AUTH_FAIL);
	/* A wrong guess does not burn the counter: the right nc=1 still passes. */
	cred_make(&c, "SHA-256", "1001", REALM, "s3cret", nonce, "00000001", "auth");
	expect(&c, &alice, T0, AUTH_OK);

	/* Unknown user, username and realm mismatches. */
	nonce_at(T0, nonce);
	cred_make(&c, "SHA-256", "1001", REALM, "s3cret", nonce, "00000001", "auth");
	expect(&c, NULL, T0, AUTH_FAIL);
	cred_make(&c, "SHA-256", "1002", REALM, "s3cret", nonce, "00000001", "auth");
	expect(&c, &alice, T0, AUTH_FAIL);
	cred_make(&c, "SHA-256", "1001", "other.example.com", "s3cret", nonce, "00000001", "auth");
	expect(&c, &alice, T0, AUTH_FAIL);
	const char *why;
	verify(&c, &alice, T0, &why);
	cr_assert_str_eq(why, "realm mismatch");
}

Test(auth, nonce_tampered_expired_foreign, .init = setup, .fini = teardown)
{
	char nonce[AUTH_NONCE_LEN + 1];
	struct cred c;
	const char *why;

	nonce_at(T0, nonce);
	/* Tampered in transit: the response was for the original nonce. */
	cred_make(&c, "SHA-256", "1001", REALM, "s3cret", nonce, "00000001", "auth");
	c.text[strstr(c.text, nonce) - c.text + 10] ^= 1;
	cr_assert_eq(sip_auth_parse(sv_cstr(c.text), &c.a, NULL), 0);
	expect(&c, &alice, T0, AUTH_FAIL);
	/* Forged by someone with the password: a nonce not ours is only ever stale. */
	nonce[10] = nonce[10] == 'A' ? 'B' : 'A';
	cred_make(&c, "SHA-256", "1001", REALM, "s3cret", nonce, "00000001", "auth");
	expect(&c, &alice, T0, AUTH_STALE);
	/* Malformed nonces: same rule. */
	cred_make(&c, "SHA-256", "1001", REALM, "s3cret", "abc", "00000001", "auth");
	expect(&c, &alice, T0, AUTH_STALE);

	/* Expired: stale with the right password, fail with a wrong one. */
	nonce_at(T0, nonce);
	cred_make(&c, "SHA-256", "1001", REALM, "s3cret", nonce, "00000001", "auth");
	expect(&c, &alice, T0 + 300000, AUTH_OK); /* exactly nonce_expire: still fresh */
	cred_make(&c, "SHA-256", "1001", REALM, "s3cret", nonce, "00000002", "auth");
	cr_assert_eq(verify(&c, &alice, T0 + 300001, &why), AUTH_STALE);
	cr_assert_str_eq(why, "nonce expired");
	cred_make(&c, "SHA-256", "1001", REALM, "nope", nonce, "00000002", "auth");
	expect(&c, &alice, T0 + 300001, AUTH_FAIL);
	/* From the future (beyond the clock skew allowed): not ours. */
	nonce_at(T0 + 60000, nonce);
	cred_make(&c, "SHA-256", "1001", REALM, "s3cret", nonce, "00000001", "auth");
	expect(&c, &alice, T0, AUTH_STALE);

	/* Another realm's nonce. */
	char other[AUTH_NONCE_LEN + 1] = { 0 };
	cr_assert_eq(auth_nonce(&ctx, SV_LIT("b.example"), T0, other), 0);
	cred_make(&c, "SHA-256", "1001", REALM, "s3cret", other, "00000001", "auth");
	expect(&c, &alice, T0, AUTH_STALE);

	/* Another node with the same secret accepts it; one with another secret does not. */
	struct auth_ctx peer;
	struct auth_opts o = { .secret = SV_LIT(SECRET) };
	cr_assert_eq(auth_init(&peer, &o), 0);
	nonce_at(T0, nonce);
	cred_make(&c, "SHA-256", "1001", REALM, "s3cret", nonce, "00000001", "auth");
	cr_assert_eq(
		auth_verify(&peer, &nct, &c.a, SV_LIT("REGISTER"), SV_LIT(REALM), &alice, T0, &why),
		AUTH_OK, "%s", why);
	cr_assert_eq(auth_init(&peer, NULL), 0); /* a random secret */
	cred_make(&c, "SHA-256", "1001", REALM, "s3cret", nonce, "00000002", "auth");
	cr_assert_eq(
		auth_verify(&peer, &nct, &c.a, SV_LIT("REGISTER"), SV_LIT(REALM), &alice, T0, &why),
		AUTH_STALE);
}

Test(auth, nonce_count, .init = setup, .fini = teardown)
{
	char nonce[AUTH_NONCE_LEN + 1];
	struct cred c;
	static const struct {
		const char *nc;
		enum auth_status st;
	} seq[] = {
		{ "00000001", AUTH_OK },   { "00000001", AUTH_FAIL }, { "00000002", AUTH_OK },
		{ "00000005", AUTH_OK },   { "00000003", AUTH_FAIL }, { "0000000A", AUTH_OK },
		{ "0000000a", AUTH_FAIL }, { "ffffffff", AUTH_OK },   { "ffffffff", AUTH_FAIL },
	};

	nonce_at(T0, nonce);
	for (size_t i = 0; i < N(seq); i++) {
		cred_make(&c, "MD5", "1001", REALM, "s3cret", nonce, seq[i].nc, "auth");
		expect(&c, &alice, T0 + i, seq[i].st);
	}
	/* Two nonces keep two counters. */
	char n2[AUTH_NONCE_LEN + 1];
	nonce_at(T0, n2);
	cr_assert_str_neq(n2, nonce, "nonces are unique within one millisecond");
	cred_make(&c, "MD5", "1001", REALM, "s3cret", n2, "00000001", "auth");
	expect(&c, &alice, T0, AUTH_OK);
}

/* A full table forgets its oldest nonces, and those are never trusted as new. */
Test(auth, nonce_count_eviction, .init = setup)
{
	enum { SLOTS = 8, USED = 64 };
	char nonces[USED][AUTH_NONCE_LEN + 1];
	struct cred c;

	auth_nc_free(&nct); /* setup's default size: this one is small */
	cr_assert_eq(auth_nc_init(&nct, SLOTS), 0);
	cr_assert_eq(nct.mask, SLOTS - 1);
	for (int i = 0; i < USED; i++) {
		nonce_at(T0 + (uint64_t)i, nonces[i]);
		cred_make(&c, "MD5", "1001", REALM, "s3cret", nonces[i], "00000001", "auth");
		expect(&c, &alice, T0 + USED, AUTH_OK);
	}
	cr_assert_eq(nct.evictions, USED - SLOTS);
	cr_assert_eq(nct.forgot_ts, T0 + USED - SLOTS - 1);
	/* The first nonce's record is gone: even nc=1 again is stale, not OK. */
	cred_make(&c, "MD5", "1001", REALM, "s3cret", nonces[0], "00000001", "auth");
	expect(&c, &alice, T0 + USED, AUTH_STALE);
	/* The newest ones are still remembered. */
	cred_make(&c, "MD5", "1001", REALM, "s3cret", nonces[USED - 1], "00000001", "auth");
	expect(&c, &alice, T0 + USED, AUTH_FAIL);
	cred_make(&c, "MD5", "1001", REALM, "s3cret", nonces[USED - 1], "00000002", "auth");
	expect(&c, &alice, T0 + USED, AUTH_OK);
	/* Once they expire, their slots are reused without counting evictions. */
	uint64_t later = T0 + 400000, ev = nct.evictions;
	for (int i = 0; i < 3; i++) {
		char n[AUTH_NONCE_LEN + 1];

		nonce_at(later, n);
		cred_make(&c, "MD5", "1001", REALM, "s3cret", n, "00000001", "auth");
		expect(&c, &alice, later, AUTH_OK);
	}
	cr_assert_eq(nct.evictions, ev);
	auth_nc_free(&nct);
}

Test(auth, unsupported_and_malformed, .init = setup, .fini = teardown)
{
	char nonce[AUTH_NONCE_LEN + 1];
	struct cred c;
	const char *why;
	static const struct {
		const char *text; /* %s: the nonce */
		enum auth_status st;
		const char *why;
	} rows[] = {
		{ "Digest username=\"1001\", realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:x\", "
		  "response=\"00\", algorithm=MD5-sess, qop=auth, nc=00000001, cnonce=\"c\"",
		  AUTH_UNSUPPORTED, "-sess algorithms are not supported" },
		{ "Digest username=\"1001\", realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:x\", "
		  "response=\"00\", algorithm=SHA-256-sess, qop=auth, nc=00000001, cnonce=\"c\"",
		  AUTH_UNSUPPORTED, "-sess algorithms are not supported" },
		{ "Digest username=\"1001\", realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:x\", "
		  "response=\"00\", algorithm=SHA-512-256, qop=auth, nc=00000001, cnonce=\"c\"",
		  AUTH_UNSUPPORTED, NULL },
		{ "Digest username=\"1001\", realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:x\", "
		  "response=\"00\", qop=auth-int, nc=00000001, cnonce=\"c\"",
		  AUTH_UNSUPPORTED, "qop not offered (only auth)" },
		{ "Digest username=\"1001\", realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:x\", "
		  "response=\"00\", qop=auth, cnonce=\"c\"",
		  AUTH_BAD_REQUEST, NULL },
		{ "Digest username=\"1001\", realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:x\", "
		  "response=\"00\", qop=auth, nc=00000001",
		  AUTH_BAD_REQUEST, NULL },
		{ "Digest username=\"1001\", realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:x\", "
		  "response=\"00\", qop=auth, nc=0000001, cnonce=\"c\"",
		  AUTH_BAD_REQUEST, NULL },
		{ "Digest username=\"1001\", realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:x\", "
		  "response=\"00\", qop=auth, nc=00000000, cnonce=\"c\"",
		  AUTH_BAD_REQUEST, NULL },
		{ "Digest username=\"1001\", realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:x\", "
		  "response=\"00\", qop=auth, nc=0000000g, cnonce=\"c\"",
		  AUTH_BAD_REQUEST, NULL },
		{ "Digest username=\"1001\", realm=\"" REALM "\", nonce=\"%s\", "
		  "response=\"00\", qop=auth, nc=00000001, cnonce=\"c\"",
		  AUTH_BAD_REQUEST, NULL },
		{ "Digest username=\"1001\", realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:x\", "
		  "qop=auth, nc=00000001, cnonce=\"c\"",
		  AUTH_BAD_REQUEST, NULL },
		{ "Digest realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:x\", response=\"00\"",
		  AUTH_BAD_REQUEST, NULL },
		{ "Digest username=\"1001\", realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:x\", "
		  "response=\"0123\", qop=auth, nc=00000001, cnonce=\"c\"",
		  AUTH_FAIL, "wrong response" },
		{ "Basic MTAwMTpzM2NyZXQ=", AUTH_UNKNOWN_SCHEME, NULL },
		{ "NewScheme opaque-data=here", AUTH_UNKNOWN_SCHEME, NULL },
	};

	nonce_at(T0, nonce);
	for (size_t i = 0; i < N(rows); i++) {
		const char *at = strstr(rows[i].text, "%s");

		if (at)
			snprintf(c.text, sizeof(c.text), "%.*s%s%s", (int)(at - rows[i].text),
				 rows[i].text, nonce, at + 2);
		else
			snprintf(c.text, sizeof(c.text), "%s", rows[i].text);
		cr_assert_eq(sip_auth_parse(sv_cstr(c.text), &c.a, NULL), 0, "%s", c.text);
		cr_assert_eq(verify(&c, &alice, T0, &why), rows[i].st, "row %zu: %s (%s)", i,
			     auth_status_str(verify(&c, &alice, T0, &why)), why);
		if (rows[i].why)
			cr_assert_str_eq(why, rows[i].why);
	}

	/* An algorithm the node does not offer. */
	const uint8_t sha_only[] = { AUTH_SHA256 };
	struct auth_opts o = { .secret = SV_LIT(SECRET), .algs = sha_only, .nalgs = 1 };
	cr_assert_eq(auth_init(&ctx, &o), 0);
	cred_make(&c, "MD5", "1001", REALM, "s3cret", nonce, "00000001", "auth");
	cr_assert_eq(verify(&c, &alice, T0, &why), AUTH_UNSUPPORTED);
	cr_assert_str_eq(why, "algorithm not offered");
	cred_make(&c, NULL, "1001", REALM, "s3cret", nonce, "00000001", "auth"); /* MD5 */
	cr_assert_eq(verify(&c, &alice, T0, &why), AUTH_UNSUPPORTED);
}

/* RFC 2617 without qop (RFC 2069 form): accepted unless refused. */
Test(auth, rfc2069_form, .init = setup, .fini = teardown)
{
	char nonce[AUTH_NONCE_LEN + 1];
	struct cred c;
	const char *why;

	nonce_at(T0, nonce);
	cred_make(&c, NULL, "1001", REALM, "s3cret", nonce, NULL, NULL);
	expect(&c, &alice, T0, AUTH_OK);
	expect(&c, &alice, T0, AUTH_OK); /* no nc: nothing to count */
	cred_make(&c, NULL, "1001", REALM, "wrong", nonce, NULL, NULL);
	expect(&c, &alice, T0, AUTH_FAIL);

	struct auth_opts o = { .secret = SV_LIT(SECRET), .refuse_rfc2069 = true };
	cr_assert_eq(auth_init(&ctx, &o), 0);
	cred_make(&c, NULL, "1001", REALM, "s3cret", nonce, NULL, NULL);
	cr_assert_eq(verify(&c, &alice, T0, &why), AUTH_UNSUPPORTED);
	cr_assert_str_eq(why, "credentials without qop refused");
}

/* Accounts that store HA1 instead of the password. */
Test(auth, ha1_accounts, .init = setup, .fini = teardown)
{
	uint8_t md5[16], sha[32];
	char nonce[AUTH_NONCE_LEN + 1];
	struct cred c;
	const char *why;

	cr_assert_eq(auth_ha1(AUTH_MD5, SV_LIT("1002"), SV_LIT(REALM), SV_LIT("pw2"), md5), 0);
	cr_assert_eq(auth_ha1(AUTH_SHA256, SV_LIT("1002"), SV_LIT(REALM), SV_LIT("pw2"), sha), 0);
	const struct auth_account both = {
		.user = SV_LIT("1002"), .realm = SV_LIT(REALM), .ha1_md5 = md5, .ha1_sha256 = sha
	};
	const struct auth_account md5_only = { .user = SV_LIT("1002"),
					       .realm = SV_LIT(REALM),
					       .ha1_md5 = md5 };

	nonce_at(T0, nonce);
	cred_make(&c, "SHA-256", "1002", REALM, "pw2", nonce, "00000001", "auth");
	expect(&c, &both, T0, AUTH_OK);
	cred_make(&c, "MD5", "1002", REALM, "pw2", nonce, "00000002", "auth");
	expect(&c, &both, T0, AUTH_OK);
	cred_make(&c, "MD5", "1002", REALM, "pw3", nonce, "00000003", "auth");
	expect(&c, &both, T0, AUTH_FAIL);
	/* No SHA-256 HA1 and no password: cannot check SHA-256 credentials. */
	cred_make(&c, "SHA-256", "1002", REALM, "pw2", nonce, "00000004", "auth");
	cr_assert_eq(verify(&c, &md5_only, T0, &why), AUTH_FAIL);
	cr_assert_str_eq(why, "account has no password or HA1 for this algorithm");
	/* A stored HA1 is for its own realm only. */
	char other[AUTH_NONCE_LEN + 1] = { 0 };
	cr_assert_eq(auth_nonce(&ctx, SV_LIT("b.example"), T0, other), 0);
	cred_make(&c, "MD5", "1002", "b.example", "pw2", other, "00000001", "auth");
	cr_assert_eq(auth_verify(&ctx, &nct, &c.a, SV_LIT("REGISTER"), SV_LIT("b.example"),
				 &md5_only, T0, &why),
		     AUTH_FAIL);
	cr_assert_str_eq(why, "account has no password or HA1 for this algorithm");
}

/* ---- picking credentials out of a request ---- */

Test(auth, find_credentials)
{
	static const struct {
		const char *lines;
		bool proxy;
		enum auth_status st;
	} rows[] = {
		{ "", false, AUTH_NO_CREDENTIALS },
		{ "Authorization: Basic MTAwMTpzM2NyZXQ=\r\n", false, AUTH_UNKNOWN_SCHEME },
		{ "Authorization: NewScheme foo=bar\r\n", false, AUTH_UNKNOWN_SCHEME },
		{ "Authorization: Digest username=\"1001\", realm=\"other\", nonce=\"n\", "
		  "uri=\"sip:x\", response=\"0\"\r\n",
		  false, AUTH_NO_CREDENTIALS },
		{ "Authorization: Basic eA==\r\n"
		  "Authorization: Digest username=\"1001\", realm=\"" REALM "\", nonce=\"n\", "
		  "uri=\"sip:x\", response=\"0\"\r\n",
		  false, AUTH_OK },
		{ "Authorization: Digest username=\"1001\", realm=\"" REALM "\", nonce=\"n\", "
		  "uri=\"sip:x\", response=\"0\"\r\n",
		  true, AUTH_NO_CREDENTIALS },
		{ "Proxy-Authorization: Digest username=\"1001\", realm=\"" REALM
		  "\", nonce=\"n\", "
		  "uri=\"sip:x\", response=\"0\"\r\n",
		  true, AUTH_OK },
		{ "Authorization: Digest username=\"1001\", realm=\"" REALM "\"\"\r\n", false,
		  AUTH_BAD_REQUEST },
		{ "Authorization: Digest\r\n", false, AUTH_BAD_REQUEST },
	};

	for (size_t i = 0; i < N(rows); i++) {
		struct parsed p;
		struct sip_auth a;
		const char *why = NULL;

		parse_msg(&p, rows[i].lines);
		cr_assert_eq(auth_find_credentials(&p.m, rows[i].proxy, SV_LIT(REALM), &a, &why),
			     rows[i].st, "row %zu: %s", i, why);
		cr_assert_not_null(why);
		if (rows[i].st == AUTH_OK)
			cr_assert(sv_eq(a.username, SV_LIT("1001")));
	}
}

/* RFC 4475 §3.3.7 regaut01: an unknown scheme is challenged, never accepted. */
Test(auth, rfc4475_regaut01)
{
	const char *dir = getenv("SIPRING_CONFORMANCE");
	char path[4096];
	struct sip_hdr hdrs[32];
	struct sip_msg m;
	struct sip_auth a;
	size_t len;
	const char *buf;

	snprintf(path, sizeof(path), "%s/rfc4475/regaut01.dat",
		 dir ? dir : "../shared/conformance");
	buf = guard_load(path, &len);
	if (!buf)
		cr_skip_test("%s not found (the shared conformance corpus is absent)", path);
	sip_msg_init(&m, hdrs, N(hdrs));
	cr_assert_gt(sip_msg_parse(&m, buf, len, 0, NULL), 0);
	cr_assert_eq(auth_find_credentials(&m, false, SV_LIT("example.com"), &a, NULL),
		     AUTH_UNKNOWN_SCHEME);
}

/* ---- settings ---- */

Test(auth, init_options)
{
	struct auth_ctx c;
	const uint8_t twice[] = { AUTH_MD5, AUTH_MD5 }, bad[] = { 7 };
	const uint8_t three[] = { AUTH_MD5, AUTH_SHA256, AUTH_MD5 };
	const struct auth_opts rows[] = {
		{ .secret = SV_LIT("too short") }, { .algs = twice, .nalgs = 2 },
		{ .algs = bad, .nalgs = 1 },	   { .algs = three, .nalgs = 3 },
		{ .algs = NULL, .nalgs = 1 },
	};

	for (size_t i = 0; i < N(rows); i++)
		cr_assert_eq(auth_init(&c, &rows[i]), -EINVAL, "row %zu", i);
	cr_assert_eq(auth_init(&c, NULL), 0);
	cr_assert_eq(c.nonce_expire, AUTH_EXPIRE_DEFAULT);
	cr_assert_eq(c.nalgs, 2);
	cr_assert_eq(c.algs[0], AUTH_SHA256, "RFC 8760: the preferred first");
	cr_assert_eq(c.algs[1], AUTH_MD5);

	enum auth_alg alg;
	cr_assert_eq(auth_alg_parse(SV_LIT("sha-256"), &alg), 0);
	cr_assert_eq(alg, AUTH_SHA256);
	cr_assert_eq(auth_alg_parse(SV_LIT("md5"), &alg), 0);
	cr_assert_eq(alg, AUTH_MD5);
	cr_assert_eq(auth_alg_parse(SV_LIT("MD5-sess"), &alg), -ENOTSUP);
	cr_assert_str_eq(auth_alg_name(AUTH_SHA256), "SHA-256");

	/* A configured nonce_expire. */
	struct auth_opts o = { .secret = SV_LIT(SECRET), .nonce_expire = 10 };
	struct auth_nc t;
	char nonce[AUTH_NONCE_LEN + 1] = { 0 };
	struct cred cr;
	const char *why;
	cr_assert_eq(auth_init(&c, &o), 0);
	cr_assert_eq(auth_nc_init(&t, 16), 0);
	cr_assert_eq(auth_nonce(&c, SV_LIT(REALM), T0, nonce), 0);
	cred_make(&cr, "MD5", "1001", REALM, "s3cret", nonce, "00000001", "auth");
	cr_assert_eq(auth_verify(&c, &t, &cr.a, SV_LIT("REGISTER"), SV_LIT(REALM), &alice,
				 T0 + 10001, &why),
		     AUTH_STALE);
	cr_assert_eq(auth_verify(&c, &t, &cr.a, SV_LIT("REGISTER"), SV_LIT(REALM), &alice,
				 T0 + 10000, &why),
		     AUTH_OK);
	auth_nc_free(&t);
}

/* The nonce MAC, written out over the fetched digest, is OpenSSL's HMAC-SHA256. */
Test(auth, hmac_matches_openssl)
{
	uint8_t key[AUTH_SECRET_LEN], data[300], got[32], want[32];
	unsigned int wl = 0;

	for (size_t n = 0; n < sizeof(data); n += 37) {
		for (size_t i = 0; i < sizeof(key); i++)
			key[i] = (uint8_t)(i * 7 + n);
		for (size_t i = 0; i < n; i++)
			data[i] = (uint8_t)(i * 13 + 1);
		cr_assert_eq(auth_hmac_sha256(key, data, n, got), 0);
		cr_assert_not_null(HMAC(EVP_sha256(), key, sizeof(key), data, n, want, &wl));
		cr_assert_eq(wl, 32);
		cr_assert_arr_eq(got, want, 32, "HMAC of %zu octets", n);
	}
}
