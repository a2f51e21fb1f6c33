/* SPDX-License-Identifier: MIT */
/*
 * Tests of bench/load/load_auth.h: the Authorization line sipring-load sends
 * back, checked against digests computed elsewhere (Python's hashlib) and
 * against sipring's own server side (core/auth.h's auth_verify()). 401s are
 * placed against a guard page.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/auth.h"
#include "load_auth.h"
#include "load_sip.h"
#include "parsers/sip_hdr.h"
#include "tests/guard.h"

#define N(t) (sizeof(t) / sizeof((t)[0]))

static const struct load_auth_req req = {
	.user = 100001, /* u100001, password pw9e3779b1 */
	.method = "REGISTER",
	.uri = "sip:127.0.0.1:5070",
	.cnonce = "01-000007-00000004",
};

/* Scan a 401 whose header lines are `headers`. */
static void scan_401(const char *headers, struct load_answer *a)
{
	static char buf[2048];
	int n = snprintf(buf, sizeof(buf),
			 "SIP/2.0 401 Unauthorized\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK-01-000007-00000003\r\n"
			 "%s\r\n",
			 headers);
	cr_assert(n > 0 && (size_t)n < sizeof(buf));
	cr_assert_eq(load_answer_scan(guard_place(buf, (size_t)n), (size_t)n, a), 0);
}

/* The value of parameter name (quoted or not) in the line, or "". */
static const char *param(const char *line, const char *name)
{
	static char v[256];
	char key[64];
	snprintf(key, sizeof(key), " %s=", name);
	const char *p = strstr(line, key);
	v[0] = 0;
	if (!p)
		return v;
	p += strlen(key);
	bool q = *p == '"';
	p += q;
	size_t n = strcspn(p, q ? "\"" : ",\r");
	snprintf(v, sizeof(v), "%.*s", (int)n, p);
	return v;
}

/* Kamailio's challenge (MD5, qop="auth"); SHA-256 preferred when offered;
 * the RFC 2069 form without qop; opaque echoed. Responses from hashlib. */
Test(load_auth, lines)
{
	static const struct {
		const char *headers;
		const char *response, *algorithm, *qop, *opaque;
	} cases[] = {
		{ "WWW-Authenticate: Digest realm=\"127.0.0.1\", nonce=\"ZdW8mFa1b2c3\", "
		  "qop=\"auth\"\r\n",
		  "90d06422a10a723b449a4e9b0263a1e0", "", "auth", "" },
		{ "WWW-Authenticate: Digest realm=\"127.0.0.1\", nonce=\"ZdW8mFa1b2c3\", "
		  "algorithm=MD5, qop=\"auth\"\r\n"
		  "WWW-Authenticate: Digest realm=\"127.0.0.1\", nonce=\"ZdW8mFa1b2c3\", "
		  "algorithm=SHA-256, qop=\"auth,auth-int\", opaque=\"op1\"\r\n",
		  "d2c71b65d534689e9c6213f7d3fdf12bf8ef95559d87b6850c3af2b2641c13b9", "SHA-256",
		  "auth", "op1" },
		{ "WWW-Authenticate: Digest realm=\"127.0.0.1\", nonce=\"ZdW8mFa1b2c3\"\r\n",
		  "a386a40992a17a3ee6c2d1afbbbefc91", "", "", "" },
		/* unusable ones passed over: -sess, another scheme, auth-int only */
		{ "WWW-Authenticate: Digest realm=\"127.0.0.1\", nonce=\"x\", "
		  "algorithm=MD5-sess\r\n"
		  "WWW-Authenticate: Basic realm=\"127.0.0.1\"\r\n"
		  "WWW-Authenticate: Digest realm=\"127.0.0.1\", nonce=\"x\", qop=\"auth-int\"\r\n"
		  "WWW-Authenticate: Digest realm=\"127.0.0.1\", nonce=\"ZdW8mFa1b2c3\", "
		  "algorithm=MD5, qop=\"auth\"\r\n",
		  "90d06422a10a723b449a4e9b0263a1e0", "MD5", "auth", "" },
	};
	/* each case without a HA1 cache, then twice with one: it fills, then serves */
	static struct load_ha1 cache;
	for (size_t j = 0; j < 3 * N(cases); j++) {
		size_t i = j % N(cases);
		struct load_auth_req r = req;
		r.ha1 = j < N(cases) ? NULL : &cache;
		struct load_answer a;
		char line[LOAD_EXTRA_MAX + 2];
		scan_401(cases[i].headers, &a);
		int n = load_auth_line(&a, &r, line, sizeof(line));
		cr_assert(n > 0, "case %zu: %d", i, n);
		cr_expect_eq((size_t)n, strlen(line), "case %zu", i);
		cr_expect(strncmp(line, "Authorization: Digest ", 22) == 0, "case %zu: %s", i,
			  line);
		cr_expect(n > 2 && strcmp(line + n - 2, "\r\n") == 0, "case %zu", i);
		cr_expect_str_eq(param(line, "username"), "u100001", "case %zu", i);
		cr_expect_str_eq(param(line, "realm"), "127.0.0.1", "case %zu", i);
		cr_expect_str_eq(param(line, "nonce"), "ZdW8mFa1b2c3", "case %zu", i);
		cr_expect_str_eq(param(line, "uri"), "sip:127.0.0.1:5070", "case %zu", i);
		cr_expect_str_eq(param(line, "response"), cases[i].response, "case %zu: %s", i,
				 line);
		cr_expect_str_eq(param(line, "algorithm"), cases[i].algorithm, "case %zu", i);
		cr_expect_str_eq(param(line, "qop"), cases[i].qop, "case %zu", i);
		cr_expect_str_eq(param(line, "nc"), *cases[i].qop ? "00000001" : "", "case %zu", i);
		cr_expect_str_eq(param(line, "cnonce"), *cases[i].qop ? req.cnonce : "", "case %zu",
				 i);
		cr_expect_str_eq(param(line, "opaque"), cases[i].opaque, "case %zu", i);
	}
}

/* A cached HA1 is for one realm: another realm computes it again. */
Test(load_auth, cache_follows_the_realm)
{
	static const char *const realms[] = { "127.0.0.1", "example.org", "127.0.0.1" };
	/* hashlib: MD5, the nonce ZdW8mFa1b2c3, qop=auth, for each realm */
	static const char *const want[] = { "90d06422a10a723b449a4e9b0263a1e0",
					    "4ee803518ccad6047a7a2145dde609cc",
					    "90d06422a10a723b449a4e9b0263a1e0" };
	struct load_ha1 cache = { 0 };
	struct load_auth_req r = req;
	r.ha1 = &cache;
	for (size_t i = 0; i < N(realms); i++) {
		char hdr[200], line[LOAD_EXTRA_MAX + 2];
		snprintf(hdr, sizeof(hdr),
			 "WWW-Authenticate: Digest realm=\"%s\", nonce=\"ZdW8mFa1b2c3\", "
			 "qop=\"auth\"\r\n",
			 realms[i]);
		struct load_answer a;
		scan_401(hdr, &a);
		cr_assert(load_auth_line(&a, &r, line, sizeof(line)) > 0);
		cr_expect_str_eq(param(line, "response"), want[i], "realm %s", realms[i]);
	}
}

Test(load_auth, refusals)
{
	static const struct {
		const char *headers;
		int ret;
	} cases[] = {
		{ "", -ENOTSUP },
		{ "WWW-Authenticate: Basic realm=\"x\"\r\n", -ENOTSUP },
		{ "WWW-Authenticate: Digest realm=\"x\", nonce=\"y\", algorithm=SHA-512-256\r\n",
		  -ENOTSUP },
		{ "WWW-Authenticate: Digest realm=\"x\", nonce=\"y\", qop=\"auth-int\"\r\n",
		  -ENOTSUP },
		/* no nonce: unusable */
		{ "WWW-Authenticate: Digest realm=\"x\"\r\n", -ENOTSUP },
		{ "WWW-Authenticate: Digest realm=\"x, nonce=\"y\"\r\n", -EBADMSG },
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct load_answer a;
		char line[LOAD_EXTRA_MAX + 2];
		scan_401(cases[i].headers, &a);
		cr_expect_eq(load_auth_line(&a, &req, line, sizeof(line)), cases[i].ret, "case %zu",
			     i);
	}
	/* too small a buffer */
	struct load_answer a;
	char small[64];
	scan_401("WWW-Authenticate: Digest realm=\"x\", nonce=\"y\"\r\n", &a);
	cr_expect_eq(load_auth_line(&a, &req, small, sizeof(small)), -ENOBUFS);
}

/* sipring's own registrar side accepts what sipring-load answers to its
 * challenge, for each algorithm; a wrong user fails. */
Test(load_auth, accepted_by_auth_verify)
{
	static const uint8_t algs[][1] = { { AUTH_MD5 }, { AUTH_SHA256 } };
	const struct sv realm = SV_LIT("127.0.0.1");
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	for (size_t i = 0; i < N(algs); i++) {
		struct auth_ctx ctx;
		struct auth_opts o = { .secret = SV_LIT("0123456789abcdef0123"),
				       .algs = algs[i],
				       .nalgs = 1 };
		cr_assert_eq(auth_init(&ctx, &o), 0);
		char hdrs[512];
		cr_assert(auth_challenge_headers(&ctx, false, realm, false, now_ms, hdrs,
						 sizeof(hdrs)) > 0);
		struct load_answer a;
		scan_401(hdrs, &a);
		cr_assert_eq(a.nchallenge, 1, "%s", hdrs);
		char line[LOAD_EXTRA_MAX + 2];
		int n = load_auth_line(&a, &req, line, sizeof(line));
		cr_assert(n > 0, "%d", n);

		/* the value after "Authorization: ", without the CRLF */
		struct sip_auth cred;
		struct sip_err err;
		cr_assert_eq(sip_auth_parse(sv_make(line + 15, (size_t)n - 17), &cred, &err), 0,
			     "%s", line);
		char user[LOAD_USER_LEN], pw[LOAD_PASSWORD_LEN];
		load_user_name(user, req.user);
		load_user_password(pw, req.user);
		struct auth_account acct = {
			.user = sv_make(user, sizeof(user)),
			.realm = realm,
			.password = sv_make(pw, sizeof(pw)),
		};
		struct auth_nc nc;
		cr_assert_eq(auth_nc_init(&nc, 0), 0);
		const char *why = NULL;
		enum auth_status st = auth_verify(&ctx, &nc, &cred, SV_LIT("REGISTER"), realm,
						  &acct, now_ms, &why);
		cr_expect_eq(st, AUTH_OK, "alg %zu: %s (%s)", i, auth_status_str(st), line);

		/* another user's credentials: refused */
		struct load_auth_req other = req;
		other.user = 100002;
		n = load_auth_line(&a, &other, line, sizeof(line));
		cr_assert(n > 0);
		cr_assert_eq(sip_auth_parse(sv_make(line + 15, (size_t)n - 17), &cred, &err), 0);
		cred.username = acct.user; /* claims to be u100001 */
		st = auth_verify(&ctx, &nc, &cred, SV_LIT("REGISTER"), realm, &acct, now_ms, &why);
		cr_expect_eq(st, AUTH_FAIL, "alg %zu: %s", i, auth_status_str(st));
		auth_nc_free(&nc);
	}
}
