/* SPDX-License-Identifier: MIT */
/*
 * Tests of core/registrar.h: REGISTERs parsed from text, checked with
 * sip_msg_check() and decided by registrar_process() over a real location
 * table, whose one writer is the test: emit() copies each change with
 * reg_op_new(), applies it at once with reg_op_apply() and records it, so that
 * a case asserts the answer (status, reason, outcome, header fields), the
 * changes in order, and what the table holds afterwards.
 *
 * Cases: digest (challenge with SHA-256 then MD5, both algorithms accepted,
 * wrong password, user mismatch, replayed nonce-count, stale nonce, RFC 4475
 * regaut01), brute-force suspension (403 or drop, lifted with time, reset by a
 * success), expiry (Contact parameter, Expires header, default, 423 with
 * Min-Expires, clamping, removal, the wildcard), Call-ID/CSeq order, replace on
 * and off, max contacts, RFC 4475 cparam01/cparam02/regescrt, RFC 5626 identity,
 * Path, queries, AOR normalisation, foreign domains, a writer that refuses,
 * and reg_op_new()'s copy.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/accounts.h"
#include "core/auth.h"
#include "core/conf.h"
#include "core/registrar.h"
#include "core/suspend.h"
#include "parsers/sip_check.h"
#include "parsers/sip_hdr.h"
#include "parsers/sip_msg.h"
#include "storage/location.h"
#include "tests/guard.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define T0	1700000000000ll /* a fixed "now", ms */
#define T0_DATE "Tue, 14 Nov 2023 22:13:20 GMT"
#define SEC	1000ll
#define DOM	"sip.example.com"
#define AOR	"1001@" DOM
#define SECRET	"a shared secret of enough length"
#define A_URI	"sip:1001@192.0.2.10:5060"
#define B_URI	"sip:1001@192.0.2.11:5060"
#define C_URI	"sip:1001@192.0.2.12:5060"
#define INST	"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"

/* Contact lines. */
#define CT_A "Contact: <" A_URI ">\r\n"
#define CT_B "Contact: <" B_URI ">\r\n"
#define CT_C "Contact: <" C_URI ">\r\n"

static const char accounts_yaml[] = "accounts:\n"
				    "  - user: \"1001\"\n"
				    "    domain: " DOM "\n"
				    "    password: s3cret\n"
				    "  - user: \"1002\"\n"
				    "    domain: " DOM "\n"
				    "    password: other\n";

/* ---- fixture: a worker's environment, the table's writer ---- */

#define MAX_OPS 16

static struct {
	struct conf conf;
	struct auth_ctx auth;
	struct auth_nc nc;
	struct accounts *acc;
	struct suspend susp;
	struct location *loc;
	struct sockaddr_in from;
	struct reg_env env;
	struct reg_op *op[MAX_OPS]; /* the changes of the last request, in order */
	int ret[MAX_OPS];	    /* reg_op_apply()'s result for each */
	unsigned nops;
	int emit_err; /* non-zero: emit() refuses with it */
	struct sip_hdr hdrs[64];
	struct sip_msg m;
	struct reg_reply r;
} fx;

static int on_emit(void *arg, enum reg_op_kind kind, const struct location_binding *b)
{
	(void)arg;
	if (fx.emit_err)
		return fx.emit_err;
	cr_assert_lt(fx.nops, MAX_OPS);
	struct reg_op *op = reg_op_new(kind, b);
	cr_assert_not_null(op);
	fx.ret[fx.nops] = reg_op_apply(fx.loc, op);
	fx.op[fx.nops++] = op;
	return 0;
}

static void ops_reset(void)
{
	for (unsigned i = 0; i < fx.nops; i++)
		free(fx.op[i]);
	fx.nops = 0;
}

static void setup(void)
{
	struct auth_opts ao = { .secret = SV_LIT(SECRET) };
	struct suspend_conf sc = { .retry = 3, .suspend_s = 60 };
	struct location_config lc = { .initial_aors = 16,
				      .max_per_aor = LOCATION_AOR_MAX,
				      .readers = 1 };
	char path[] = "/tmp/sipring-reg-XXXXXX", err[256];
	int fd;

	cr_assert_eq(conf_defaults(&fx.conf), 0);
	fx.conf.reg_enabled = true;
	fx.conf.reg_authenticate = false; /* the digest cases turn it on */
	fx.conf.reg_min_expires_s = 60;
	fx.conf.reg_max_expires_s = 3600;
	fx.conf.reg_default_expires_s = 1800;
	fx.conf.reg_max_contacts = 10;
	fx.conf.reg_replace = true;
	fx.conf.suspend_retry = sc.retry;
	fx.conf.suspend_time_s = sc.suspend_s;
	fx.conf.suspend_action = CONF_SUSPEND_REJECT;

	cr_assert_eq(auth_init(&fx.auth, &ao), 0);
	cr_assert_eq(auth_nc_init(&fx.nc, 64), 0);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	cr_assert_eq(write(fd, accounts_yaml, sizeof(accounts_yaml) - 1),
		     (ssize_t)sizeof(accounts_yaml) - 1);
	close(fd);
	cr_assert_eq(accounts_load(path, &fx.acc, err, sizeof(err)), 0, "%s", err);
	unlink(path);
	cr_assert_eq(suspend_init(&fx.susp, &sc, 1024), 0);
	cr_assert_eq(location_create(&fx.loc, &lc), 0);

	fx.from.sin_family = AF_INET;
	fx.from.sin_port = htons(5060);
	fx.from.sin_addr.s_addr = htonl(0xc000020a); /* 192.0.2.10 */
	fx.env = (struct reg_env){
		.conf = &fx.conf,
		.auth = &fx.auth,
		.accounts = fx.acc,
		.nc = &fx.nc,
		.susp = &fx.susp,
		.loc = fx.loc,
		.reader = 0,
		.now_ms = T0,
		.from = (const struct sockaddr *)&fx.from,
		.src = { .family = AF_INET,
			 .transport = LOCATION_TP_UDP,
			 .port = 5060,
			 .worker = LOCATION_WORKER_NONE,
			 .addr = { 192, 0, 2, 10 } },
		.emit = on_emit,
	};
}

static void teardown(void)
{
	ops_reset();
	location_destroy(fx.loc);
	suspend_fini(&fx.susp);
	accounts_free(fx.acc);
	auth_nc_free(&fx.nc);
	conf_free(&fx.conf);
}

TestSuite(registrar, .init = setup, .fini = teardown);

/* ---- requests ---- */

/* Parse text as a datagram, check it as a worker does, and decide on it at now. */
static void process_text(int64_t now, const char *text)
{
	struct sip_check ck;
	size_t len = strlen(text);
	const char *g = guard_place(text, len);

	ops_reset();
	sip_msg_init(&fx.m, fx.hdrs, N(fx.hdrs));
	cr_assert_gt(sip_msg_parse(&fx.m, g, len, 0, NULL), 0, "%s", text);
	cr_assert_eq(sip_msg_check(&fx.m, &ck), 0, "%s: %s", ck.reason, text);
	/* Poison the answer: registrar_process() must set what it reports. */
	memset(&fx.r, 0x5a, sizeof(fx.r));
	fx.env.now_ms = now;
	registrar_process(&fx.env, &fx.m, &fx.r);
	location_reclaim(fx.loc);
}

/* A REGISTER of 1001@sip.example.com with more header lines (each ending in CRLF). */
static void reg(int64_t now, const char *call_id, unsigned cseq, const char *lines)
{
	char text[4096];
	int n = snprintf(text, sizeof(text),
			 "REGISTER sip:" DOM " SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK%u\r\n"
			 "Max-Forwards: 70\r\n"
			 "To: <sip:1001@" DOM ">\r\n"
			 "From: <sip:1001@" DOM ">;tag=a73kszlfl\r\n"
			 "Call-ID: %s\r\n"
			 "CSeq: %u REGISTER\r\n"
			 "%s"
			 "Content-Length: 0\r\n\r\n",
			 cseq, call_id, cseq, lines);

	cr_assert(n > 0 && (size_t)n < sizeof(text));
	process_text(now, text);
}

/* ---- the answer ---- */

/* The value of the i-th field called name, as a string (one static buffer), or NULL. */
static const char *field(const char *name, unsigned i)
{
	static char out[2048];

	for (unsigned k = 0; k < fx.r.nf; k++) {
		if (!sv_caseeq(fx.r.f[k].name, sv_cstr(name)) || i--)
			continue;
		snprintf(out, sizeof(out), "%.*s", (int)fx.r.f[k].value.len, fx.r.f[k].value.p);
		return out;
	}
	return NULL;
}

static unsigned nfield(const char *name)
{
	unsigned n = 0;

	for (unsigned k = 0; k < fx.r.nf; k++)
		n += sv_caseeq(fx.r.f[k].name, sv_cstr(name));
	return n;
}

/* Whether some field called name has exactly this value. */
static bool has_field(const char *name, const char *value)
{
	for (unsigned k = 0; k < fx.r.nf; k++)
		if (sv_caseeq(fx.r.f[k].name, sv_cstr(name)) &&
		    sv_eq(fx.r.f[k].value, sv_cstr(value)))
			return true;
	return false;
}

/* Status, reason (NULL: none, the standard phrase) and outcome of the answer. */
#define expect(st, why, oc)                                                                     \
	do {                                                                                    \
		cr_assert_eq(fx.r.status, (st), "status %u (%.*s), want %u", fx.r.status,       \
			     (int)fx.r.reason.len, fx.r.reason.p ? fx.r.reason.p : "", (st));   \
		if (why)                                                                        \
			cr_assert(sv_eq(fx.r.reason, sv_cstr(why)), "reason '%.*s', want '%s'", \
				  (int)fx.r.reason.len, fx.r.reason.p ? fx.r.reason.p : "",     \
				  (const char *)(why));                                         \
		else                                                                            \
			cr_assert_eq(fx.r.reason.len, 0, "reason '%.*s', want none",            \
				     (int)fx.r.reason.len, fx.r.reason.p);                      \
		cr_assert_eq(fx.r.outcome, (oc), "outcome %s, want %s",                         \
			     registrar_outcome_str(fx.r.outcome), registrar_outcome_str(oc));   \
	} while (0)

/* The kinds of the changes, in order: 'S' set, 'R' remove, 'A' remove the AOR. */
static const char *ops_str(void)
{
	static char s[MAX_OPS + 1];
	unsigned i;

	for (i = 0; i < fx.nops; i++)
		s[i] = fx.op[i]->kind == REG_OP_SET	     ? 'S'
		       : fx.op[i]->kind == REG_OP_REMOVE     ? 'R'
		       : fx.op[i]->kind == REG_OP_REMOVE_AOR ? 'A'
							     : '?';
	s[i] = '\0';
	return s;
}

#define expect_ops(kinds) \
	cr_assert_str_eq(ops_str(), (kinds), "changes %s, want %s", ops_str(), (kinds))

static bool op_is(unsigned i, enum reg_op_kind kind, const char *aor, const char *contact)
{
	return i < fx.nops && fx.op[i]->kind == kind && sv_eq(fx.op[i]->b.aor, sv_cstr(aor)) &&
	       sv_eq(fx.op[i]->b.contact, sv_cstr(contact));
}

/* ---- the table ---- */

static unsigned count(const char *aor)
{
	struct location_binding b[LOCATION_AOR_MAX];

	return location_lookup(fx.loc, sv_cstr(aor), b, N(b));
}

/* The binding of aor with this stored contact; fails the test when absent. */
static struct location_binding find(const char *aor, const char *contact)
{
	struct location_binding b[LOCATION_AOR_MAX];
	unsigned n = location_lookup(fx.loc, sv_cstr(aor), b, N(b));

	for (unsigned i = 0; i < n && i < N(b); i++)
		if (sv_eq(b[i].contact, sv_cstr(contact)))
			return b[i];
	cr_assert_fail("%s has no binding %s (%u bindings)", aor, contact, n);
	return b[0];
}

static bool bound(const char *aor, const char *contact)
{
	struct location_binding b[LOCATION_AOR_MAX];
	unsigned n = location_lookup(fx.loc, sv_cstr(aor), b, N(b));

	for (unsigned i = 0; i < n && i < N(b); i++)
		if (sv_eq(b[i].contact, sv_cstr(contact)))
			return true;
	return false;
}

/* ---- the UA's digest ---- */

/* Check the two challenges of a 401 (SHA-256 then MD5, one nonce) and copy the nonce. */
static void challenged(const char *realm, bool stale, char nonce[AUTH_NONCE_LEN + 1])
{
	static const char *const algs[] = { "SHA-256", "MD5" };

	cr_assert_eq(fx.r.status, 401);
	cr_assert_eq(fx.r.nf, 2, "%u fields", fx.r.nf);
	cr_assert_eq(nfield("WWW-Authenticate"), 2);
	for (unsigned i = 0; i < N(algs); i++) {
		const char *v = field("WWW-Authenticate", i);
		struct sip_auth a;

		cr_assert_eq(sip_auth_parse(sv_cstr(v), &a, NULL), 0, "%s", v);
		cr_assert(a.is_digest, "%s", v);
		cr_assert(sv_eq(a.realm, sv_cstr(realm)), "%s", v);
		cr_assert(sv_eq(a.algorithm, sv_cstr(algs[i])), "%s", v);
		cr_assert(sv_eq(a.qop, SV_LIT("auth")), "%s", v);
		cr_assert_eq(sv_caseeq_lit(a.stale, "true"), stale, "%s", v);
		cr_assert_eq(a.nonce.len, AUTH_NONCE_LEN, "%s", v);
		if (i == 0)
			memcpy(nonce, a.nonce.p, AUTH_NONCE_LEN);
		else
			cr_assert(!memcmp(nonce, a.nonce.p, AUTH_NONCE_LEN), "one nonce: %s", v);
	}
	nonce[AUTH_NONCE_LEN] = '\0';
}

/* An Authorization line, as a UA holding user's password pass answers nonce. */
static void authz(char *out, size_t cap, const char *alg, const char *user, const char *pass,
		  const char *nonce, unsigned nc)
{
	char ncs[9], resp[AUTH_HEX_MAX + 1];
	struct auth_account a = {
		.user = sv_cstr(user),
		.realm = SV_LIT(DOM),
		.password = sv_cstr(pass),
	};
	struct sip_auth cred = {
		.scheme = SV_LIT("Digest"),
		.is_digest = true,
		.username = sv_cstr(user),
		.realm = SV_LIT(DOM),
		.nonce = sv_cstr(nonce),
		.uri = SV_LIT("sip:" DOM),
		.algorithm = sv_cstr(alg),
		.cnonce = SV_LIT("0a4f113b"),
		.qop = SV_LIT("auth"),
	};

	snprintf(ncs, sizeof(ncs), "%08x", nc);
	cred.nc = sv_cstr(ncs);
	cr_assert_gt(auth_response(&a, SV_LIT(DOM), SV_LIT("REGISTER"), &cred, resp), 0);
	snprintf(out, cap,
		 "Authorization: Digest username=\"%s\", realm=\"" DOM "\", nonce=\"%s\",\r\n"
		 " uri=\"sip:" DOM "\", response=\"%s\", algorithm=%s, cnonce=\"0a4f113b\",\r\n"
		 " qop=auth, nc=%s\r\n",
		 user, nonce, resp, alg, ncs);
}

/* A REGISTER of contact A with credentials. */
static void reg_auth(int64_t now, unsigned cseq, const char *alg, const char *user,
		     const char *pass, const char *nonce, unsigned nc)
{
	char lines[1024], a[900];

	authz(a, sizeof(a), alg, user, pass, nonce, nc);
	snprintf(lines, sizeof(lines), CT_A "%s", a);
	reg(now, "auth@192.0.2.10", cseq, lines);
}

/* The first 401, for a REGISTER without credentials: its nonce. */
static void first_challenge(char nonce[AUTH_NONCE_LEN + 1])
{
	reg(T0, "auth@192.0.2.10", 1, CT_A);
	expect(401, NULL, REG_CHALLENGED);
	expect_ops("");
	challenged(DOM, false, nonce);
}

/* ---- digest ---- */

Test(registrar, challenge_then_sha256_and_md5)
{
	char nonce[AUTH_NONCE_LEN + 1];

	fx.conf.reg_authenticate = true;
	first_challenge(nonce);
	cr_assert_eq(nfield("Date"), 0);
	cr_assert_eq(count(AOR), 0);
	cr_assert(!registrar_has_credentials(&fx.m));

	reg_auth(T0 + SEC, 2, "SHA-256", "1001", "s3cret", nonce, 1);
	cr_assert(registrar_has_credentials(&fx.m));
	expect(200, NULL, REG_OK);
	expect_ops("S");
	cr_assert(op_is(0, REG_OP_SET, AOR, "<" A_URI ">"));
	cr_assert_eq(fx.ret[0], 1, "added");
	cr_assert_eq(fx.r.nf, 2);
	cr_assert_str_eq(field("Contact", 0), "<" A_URI ">;expires=1800");
	cr_assert_str_eq(field("Date", 0), "Tue, 14 Nov 2023 22:13:21 GMT");
	cr_assert_eq(count(AOR), 1);
	cr_assert_eq(find(AOR, "<" A_URI ">").expires_ms, T0 + SEC + 1800 * SEC);

	/* The same nonce, the next count, the other algorithm. */
	reg_auth(T0 + 2 * SEC, 3, "MD5", "1001", "s3cret", nonce, 2);
	expect(200, NULL, REG_OK);
	expect_ops("S");
	cr_assert_eq(fx.ret[0], 0, "updated");
	cr_assert_str_eq(field("Contact", 0), "<" A_URI ">;expires=1800");
	cr_assert_eq(nfield("Contact"), 1);
	cr_assert_eq(count(AOR), 1);
	cr_assert_eq(find(AOR, "<" A_URI ">").cseq, 3);
}

Test(registrar, wrong_password)
{
	char nonce[AUTH_NONCE_LEN + 1], again[AUTH_NONCE_LEN + 1];

	fx.conf.reg_authenticate = true;
	first_challenge(nonce);
	reg_auth(T0 + SEC, 2, "SHA-256", "1001", "guess", nonce, 1);
	expect(401, NULL, REG_AUTH_FAILED);
	expect_ops("");
	challenged(DOM, false, again);
	cr_assert_eq(count(AOR), 0);
	cr_assert(!fx.r.logged_suspend);
}

Test(registrar, no_accounts)
{
	char nonce[AUTH_NONCE_LEN + 1];

	fx.conf.reg_authenticate = true;
	fx.env.accounts = NULL;
	first_challenge(nonce);
	reg_auth(T0 + SEC, 2, "SHA-256", "1001", "s3cret", nonce, 1);
	expect(401, NULL, REG_AUTH_FAILED);
	expect_ops("");
}

Test(registrar, user_mismatch)
{
	char nonce[AUTH_NONCE_LEN + 1];

	fx.conf.reg_authenticate = true;
	first_challenge(nonce);
	/* 1002's own right credentials, for 1001's AOR. */
	reg_auth(T0 + SEC, 2, "SHA-256", "1002", "other", nonce, 1);
	expect(403, "Authentication User Mismatch", REG_REFUSED);
	expect_ops("");
	cr_assert_eq(fx.r.nf, 0);
	cr_assert_eq(count(AOR), 0);
}

Test(registrar, replayed_nonce_count)
{
	char nonce[AUTH_NONCE_LEN + 1], again[AUTH_NONCE_LEN + 1];

	fx.conf.reg_authenticate = true;
	first_challenge(nonce);
	reg_auth(T0 + SEC, 2, "SHA-256", "1001", "s3cret", nonce, 1);
	expect(200, NULL, REG_OK);
	/* A new request (higher CSeq) that reuses nc=1. */
	reg_auth(T0 + 2 * SEC, 3, "SHA-256", "1001", "s3cret", nonce, 1);
	expect(401, NULL, REG_AUTH_FAILED);
	expect_ops("");
	challenged(DOM, false, again);
	cr_assert_eq(find(AOR, "<" A_URI ">").cseq, 2);
	reg_auth(T0 + 3 * SEC, 4, "SHA-256", "1001", "s3cret", nonce, 2);
	expect(200, NULL, REG_OK);
	expect_ops("S");
}

Test(registrar, stale_nonce)
{
	char nonce[AUTH_NONCE_LEN + 1], fresh[AUTH_NONCE_LEN + 1];
	int64_t later = T0 + (AUTH_EXPIRE_DEFAULT + 1) * SEC;

	fx.conf.reg_authenticate = true;
	first_challenge(nonce);
	reg_auth(later, 2, "SHA-256", "1001", "s3cret", nonce, 1);
	expect(401, NULL, REG_CHALLENGED);
	expect_ops("");
	challenged(DOM, true, fresh);
	cr_assert_str_neq(fresh, nonce);
	/* The UA retries at once with the new nonce. */
	reg_auth(later, 3, "SHA-256", "1001", "s3cret", fresh, 1);
	expect(200, NULL, REG_OK);
	expect_ops("S");
}

/* RFC 4475 §3.1.2.18: an Authorization of a scheme nobody knows is no credentials. */
Test(registrar, rfc4475_regaut01)
{
	char nonce[AUTH_NONCE_LEN + 1];

	fx.conf.reg_authenticate = true;
	process_text(T0, "REGISTER sip:example.com SIP/2.0\r\n"
			 "To: sip:j.user@example.com\r\n"
			 "From: sip:j.user@example.com;tag=87321hj23128\r\n"
			 "Max-Forwards: 8\r\n"
			 "Call-ID: regaut01.0ha0isndaksdj\r\n"
			 "CSeq: 9338 REGISTER\r\n"
			 "Via: SIP/2.0/TCP 192.0.2.253;branch=z9hG4bKkdjuw\r\n"
			 "Authorization: NoOneKnowsThisScheme opaque-data=here\r\n"
			 "Content-Length:0\r\n"
			 "\r\n");
	expect(401, NULL, REG_CHALLENGED);
	expect_ops("");
	challenged("example.com", false, nonce);
	cr_assert_eq(count("j.user@example.com"), 0);
}

/* ---- brute-force suspension ---- */

Test(registrar, suspension_reject)
{
	char nonce[AUTH_NONCE_LEN + 1];
	unsigned cseq = 2, nc = 1;
	int64_t t = T0;

	fx.conf.reg_authenticate = true;
	first_challenge(nonce);
	/* Two failures, a success (the count restarts), two failures: not yet. */
	for (unsigned i = 0; i < 5; i++) {
		bool ok = i == 2;

		t += SEC;
		reg_auth(t, cseq++, "SHA-256", "1001", ok ? "s3cret" : "guess", nonce, nc++);
		if (ok) {
			expect(200, NULL, REG_OK);
			expect_ops("S");
		} else {
			expect(401, NULL, REG_AUTH_FAILED);
			expect_ops("");
		}
		cr_assert(!fx.r.logged_suspend);
	}
	/* The third failure in a row suspends. */
	t += SEC;
	int64_t suspended_at = t;
	reg_auth(t, cseq++, "SHA-256", "1001", "guess", nonce, nc++);
	expect(403, "Suspended", REG_SUSPENDED);
	cr_assert(fx.r.logged_suspend);
	cr_assert_eq(fx.r.nf, 0);
	expect_ops("");

	/* The right password changes nothing while the suspension lasts. */
	const int64_t during[] = { t + SEC, suspended_at + 59 * SEC };
	for (size_t i = 0; i < N(during); i++) {
		reg_auth(during[i], cseq++, "SHA-256", "1001", "s3cret", nonce, nc++);
		expect(403, "Suspended", REG_SUSPENDED);
		cr_assert(!fx.r.logged_suspend);
		expect_ops("");
	}
	/* Without credentials, too. */
	reg(suspended_at + 59 * SEC, "auth@192.0.2.10", cseq++, CT_A);
	expect(403, "Suspended", REG_SUSPENDED);

	/* Over: the nonce is still fresh (under 300 s), the binding is refreshed. */
	reg_auth(suspended_at + 61 * SEC, cseq, "SHA-256", "1001", "s3cret", nonce, nc++);
	expect(200, NULL, REG_OK);
	expect_ops("S");
	cr_assert_eq(find(AOR, "<" A_URI ">").cseq, cseq);
}

Test(registrar, suspension_drop)
{
	char nonce[AUTH_NONCE_LEN + 1];
	unsigned cseq = 2, nc = 1;

	fx.conf.reg_authenticate = true;
	fx.conf.suspend_action = CONF_SUSPEND_DROP;
	first_challenge(nonce);
	for (unsigned i = 0; i < 2; i++) {
		reg_auth(T0 + SEC, cseq++, "MD5", "1001", "guess", nonce, nc++);
		expect(401, NULL, REG_AUTH_FAILED);
	}
	reg_auth(T0 + 2 * SEC, cseq++, "MD5", "1001", "guess", nonce, nc++);
	cr_assert_eq(fx.r.status, 0, "dropped, not %u", fx.r.status);
	cr_assert_eq(fx.r.outcome, REG_SUSPENDED);
	cr_assert(fx.r.logged_suspend);
	cr_assert_eq(fx.r.nf, 0);
	reg_auth(T0 + 3 * SEC, cseq++, "MD5", "1001", "s3cret", nonce, nc++);
	cr_assert_eq(fx.r.status, 0);
	cr_assert_eq(fx.r.outcome, REG_SUSPENDED);
	cr_assert(!fx.r.logged_suspend);
	expect_ops("");
	cr_assert_eq(count(AOR), 0);
}

/* ---- expiry ---- */

Test(registrar, expires_precedence)
{
	static const struct {
		const char *lines;
		const char *contact; /* in the 200 */
		int64_t expires_s;
	} cases[] = {
		/* Contact parameter beats Expires header... */
		{ "Contact: <" A_URI ">;expires=120\r\nExpires: 600\r\n", "<" A_URI ">;expires=120",
		  120 },
		/* ...which beats the default... */
		{ CT_A "Expires: 600\r\n", "<" A_URI ">;expires=600", 600 },
		/* ...which applies alone. */
		{ CT_A, "<" A_URI ">;expires=1800", 1800 },
		/* Above max: clamped, in the table and the answer. */
		{ "Contact: <" A_URI ">;expires=7200\r\n", "<" A_URI ">;expires=3600", 3600 },
		{ CT_A "Expires: 4294967296\r\n", "<" A_URI ">;expires=3600", 3600 },
		/* Exactly min. */
		{ CT_A "Expires: 60\r\n", "<" A_URI ">;expires=60", 60 },
	};

	for (size_t i = 0; i < N(cases); i++) {
		reg(T0, "exp@192.0.2.10", (unsigned)i + 1, cases[i].lines);
		expect(200, NULL, REG_OK);
		expect_ops("S");
		cr_assert_eq(fx.r.nf, 2, "case %zu", i);
		cr_assert_str_eq(field("Contact", 0), cases[i].contact, "case %zu", i);
		cr_assert_str_eq(field("Date", 0), T0_DATE);
		cr_assert_eq(fx.op[0]->b.expires_ms, T0 + cases[i].expires_s * SEC, "case %zu", i);
		cr_assert_eq(find(AOR, "<" A_URI ">").expires_ms, T0 + cases[i].expires_s * SEC);
		cr_assert_eq(count(AOR), 1);
	}
}

Test(registrar, interval_too_brief)
{
	static const char *const lines[] = {
		"Contact: <" A_URI ">;expires=30\r\n",
		CT_A "Expires: 59\r\n",
		/* The parameter decides, even with a good header. */
		"Contact: <" A_URI ">;expires=1\r\nExpires: 600\r\n",
	};

	for (size_t i = 0; i < N(lines); i++) {
		reg(T0, "423@192.0.2.10", (unsigned)i + 1, lines[i]);
		expect(423, NULL, REG_INTERVAL);
		cr_assert_eq(fx.r.nf, 1, "case %zu", i);
		cr_assert_str_eq(field("Min-Expires", 0), "60");
		expect_ops("");
		cr_assert_eq(count(AOR), 0);
	}
}

Test(registrar, unregister)
{
	reg(T0, "un@192.0.2.10", 1, CT_A);
	expect(200, NULL, REG_OK);
	/* expires=0 is no interval below min: the binding goes. */
	reg(T0 + SEC, "un@192.0.2.10", 2, "Contact: <" A_URI ">;expires=0\r\n");
	expect(200, NULL, REG_OK);
	expect_ops("R");
	cr_assert(op_is(0, REG_OP_REMOVE, AOR, "<" A_URI ">"));
	cr_assert_eq(fx.ret[0], 0);
	cr_assert_eq(nfield("Contact"), 0);
	cr_assert_eq(nfield("Date"), 1);
	cr_assert_eq(count(AOR), 0);

	/* Expires: 0 does the same; a contact that is not bound changes nothing. */
	reg(T0 + 2 * SEC, "un@192.0.2.10", 3, CT_A);
	reg(T0 + 3 * SEC, "un@192.0.2.10", 4, CT_A CT_B "Expires: 0\r\n");
	expect(200, NULL, REG_OK);
	expect_ops("R");
	cr_assert_eq(count(AOR), 0);
}

Test(registrar, wildcard)
{
	reg(T0, "all@192.0.2.10", 1, "Contact: <" A_URI ">, <" B_URI ">\r\n");
	expect(200, NULL, REG_OK);
	expect_ops("SS");
	cr_assert_eq(nfield("Contact"), 2);
	cr_assert_eq(count(AOR), 2);

	reg(T0 + SEC, "other@192.0.2.10", 1, "Contact: *\r\nExpires: 0\r\n");
	expect(200, NULL, REG_OK);
	expect_ops("A");
	cr_assert(sv_eq(fx.op[0]->b.aor, SV_LIT(AOR)));
	cr_assert_eq(fx.ret[0], 2, "removed both");
	cr_assert_eq(nfield("Contact"), 0);
	cr_assert_eq(nfield("Date"), 1);
	cr_assert_eq(count(AOR), 0);

	/* Nothing bound: still 200, nothing to change. */
	reg(T0 + 2 * SEC, "other@192.0.2.10", 2, "Contact: *\r\nExpires: 0\r\n");
	expect(200, NULL, REG_OK);
	expect_ops("");
}

Test(registrar, wildcard_invalid)
{
	static const char *const lines[] = {
		"Contact: *\r\nExpires: 3600\r\n",
		"Contact: *\r\n", /* no Expires */
		"Contact: *\r\n" CT_A "Expires: 0\r\n",
		CT_A "Contact: *\r\nExpires: 0\r\n",
	};

	reg(T0, "wc@192.0.2.10", 1, CT_A);
	expect(200, NULL, REG_OK);
	for (size_t i = 0; i < N(lines); i++) {
		reg(T0 + SEC, "wc@192.0.2.10", 2 + (unsigned)i, lines[i]);
		expect(400, "Invalid Wildcard Contact", REG_BAD);
		expect_ops("");
		cr_assert_eq(count(AOR), 1, "case %zu", i);
	}
}

/* The wildcard is refused as a whole when it is older than a binding (step 6). */
Test(registrar, wildcard_out_of_order)
{
	reg(T0, "wo@192.0.2.10", 5, CT_A);
	reg(T0 + SEC, "wo@192.0.2.10", 5, "Contact: *\r\nExpires: 0\r\n");
	expect(500, "Out Of Order", REG_BAD);
	expect_ops("");
	cr_assert_eq(count(AOR), 1);
	reg(T0 + SEC, "wo@192.0.2.10", 6, "Contact: *\r\nExpires: 0\r\n");
	expect(200, NULL, REG_OK);
	expect_ops("A");
}

/* ---- Call-ID / CSeq order (RFC 3261 §10.3 step 7) ---- */

Test(registrar, cseq_order)
{
	reg(T0, "ord@192.0.2.10", 10, CT_A);
	expect(200, NULL, REG_OK);
	cr_assert_eq(fx.ret[0], 1);

	const unsigned stale[] = { 10, 9, 1 };
	for (size_t i = 0; i < N(stale); i++) {
		reg(T0 + SEC, "ord@192.0.2.10", stale[i], "Contact: <" A_URI ">;expires=600\r\n");
		expect(500, "Out Of Order", REG_BAD);
		expect_ops("");
		cr_assert_eq(find(AOR, "<" A_URI ">").expires_ms, T0 + 1800 * SEC);
	}
	/* Removal too must be newer. */
	reg(T0 + SEC, "ord@192.0.2.10", 10, "Contact: <" A_URI ">;expires=0\r\n");
	expect(500, "Out Of Order", REG_BAD);
	cr_assert_eq(count(AOR), 1);

	reg(T0 + SEC, "ord@192.0.2.10", 11, "Contact: <" A_URI ">;expires=600\r\n");
	expect(200, NULL, REG_OK);
	expect_ops("S");
	cr_assert_eq(fx.ret[0], 0, "updated");
	struct location_binding b = find(AOR, "<" A_URI ">");
	cr_assert_eq(b.cseq, 11);
	cr_assert_eq(b.expires_ms, T0 + SEC + 600 * SEC);

	/* Another Call-ID: any CSeq. */
	reg(T0 + 2 * SEC, "reboot@192.0.2.10", 1, CT_A);
	expect(200, NULL, REG_OK);
	expect_ops("S");
	cr_assert_eq(fx.ret[0], 0);
	b = find(AOR, "<" A_URI ">");
	cr_assert_eq(b.cseq, 1);
	cr_assert(sv_eq(b.call_id, SV_LIT("reboot@192.0.2.10")));
	cr_assert_eq(count(AOR), 1);
}

/* ---- replace, refuse, max contacts ---- */

Test(registrar, replace_on)
{
	reg(T0, "a@192.0.2.10", 1, CT_A);
	expect(200, NULL, REG_OK);
	reg(T0 + SEC, "b@192.0.2.11", 1, CT_B);
	expect(200, NULL, REG_OK);
	expect_ops("RS");
	cr_assert(op_is(0, REG_OP_REMOVE, AOR, "<" A_URI ">"));
	cr_assert(op_is(1, REG_OP_SET, AOR, "<" B_URI ">"));
	cr_assert_eq(fx.ret[0], 0);
	cr_assert_eq(fx.ret[1], 1);
	cr_assert_eq(nfield("Contact"), 1);
	cr_assert_str_eq(field("Contact", 0), "<" B_URI ">;expires=1800");
	cr_assert_eq(count(AOR), 1);
	cr_assert(bound(AOR, "<" B_URI ">"));

	/* One new contact replaces every other. */
	reg(T0 + 2 * SEC, "b@192.0.2.11", 2, CT_A CT_B);
	expect(200, NULL, REG_OK);
	cr_assert_eq(count(AOR), 2);
	reg(T0 + 3 * SEC, "c@192.0.2.12", 1, CT_C);
	expect(200, NULL, REG_OK);
	expect_ops("RRS");
	cr_assert(op_is(2, REG_OP_SET, AOR, "<" C_URI ">"));
	cr_assert_eq(nfield("Contact"), 1);
	cr_assert_eq(count(AOR), 1);
	cr_assert(bound(AOR, "<" C_URI ">"));
}

Test(registrar, replace_off)
{
	fx.conf.reg_replace = false;
	reg(T0, "a@192.0.2.10", 1, CT_A);
	expect(200, NULL, REG_OK);

	reg(T0 + SEC, "b@192.0.2.11", 1, CT_B);
	expect(403, "Registered From Another Contact", REG_REFUSED);
	expect_ops("");
	cr_assert_eq(fx.r.nf, 0);
	cr_assert_eq(count(AOR), 1);

	/* A's own refresh is fine. */
	reg(T0 + 2 * SEC, "a@192.0.2.10", 2, CT_A);
	expect(200, NULL, REG_OK);
	expect_ops("S");
	cr_assert_eq(fx.ret[0], 0);
	cr_assert_eq(nfield("Contact"), 1);

	/* Once A has expired, B may register; A is left to expiry. */
	int64_t later = T0 + 2 * SEC + 1800 * SEC;
	reg(later, "b@192.0.2.11", 2, CT_B);
	expect(200, NULL, REG_OK);
	expect_ops("S");
	cr_assert(op_is(0, REG_OP_SET, AOR, "<" B_URI ">"));
	cr_assert_eq(nfield("Contact"), 1);
	cr_assert_str_eq(field("Contact", 0), "<" B_URI ">;expires=1800");

	struct location_binding gone[4];
	cr_assert_eq(location_expire(fx.loc, later, gone, N(gone)), 1);
	cr_assert(sv_eq(gone[0].contact, SV_LIT("<" A_URI ">")));
	location_reclaim(fx.loc);
	cr_assert_eq(count(AOR), 1);
	cr_assert(bound(AOR, "<" B_URI ">"));
}

Test(registrar, max_contacts)
{
	fx.conf.reg_replace = false;
	fx.conf.reg_max_contacts = 2;
	reg(T0, "m@192.0.2.10", 1, CT_A CT_B);
	expect(200, NULL, REG_OK);
	expect_ops("SS");
	cr_assert(has_field("Contact", "<" A_URI ">;expires=1800"));
	cr_assert(has_field("Contact", "<" B_URI ">;expires=1800"));

	/* A third, alone or with the two. */
	reg(T0 + SEC, "m@192.0.2.10", 2, CT_C);
	expect(403, "Registered From Another Contact", REG_REFUSED);
	expect_ops("");
	reg(T0 + SEC, "m@192.0.2.10", 3, CT_A CT_B CT_C);
	expect(403, "Too Many Contacts", REG_REFUSED);
	expect_ops("");
	cr_assert_eq(count(AOR), 2);

	/* Three at once for an empty AOR. */
	reg(T0 + 2 * SEC, "m@192.0.2.10", 4, "Contact: *\r\nExpires: 0\r\n");
	expect(200, NULL, REG_OK);
	reg(T0 + 3 * SEC, "m@192.0.2.10", 5, CT_A CT_B CT_C);
	expect(403, "Too Many Contacts", REG_REFUSED);
	expect_ops("");
	cr_assert_eq(count(AOR), 0);
}

/* registrar.max_bindings: a REGISTER that would add a binding past it gets 503;
 * refreshes and removals still work. */
Test(registrar, max_bindings)
{
	fx.conf.reg_max_bindings = 2;
	reg(T0, "mb@192.0.2.10", 1, CT_A CT_B);
	expect(200, NULL, REG_OK);
	reg(T0 + SEC, "mb@192.0.2.10", 2, CT_A CT_B CT_C);
	expect(503, "Registrar Full", REG_REFUSED);
	expect_ops("");
	cr_assert(has_field("Retry-After", "60"));
	reg(T0 + 2 * SEC, "mb@192.0.2.10", 3, CT_A);
	expect(200, NULL, REG_OK);
	reg(T0 + 3 * SEC, "mb@192.0.2.10", 4, "Contact: *\r\nExpires: 0\r\n");
	expect(200, NULL, REG_OK);
	cr_assert_eq(count(AOR), 0);
}

/* ---- RFC 4475 ---- */

Test(registrar, rfc4475_contacts)
{
	static const struct {
		const char *name, *text, *aor, *stored;
	} cases[] = {
		/* §3.1.2.19 cparam01: addr-spec, so ;unknownparam is a Contact parameter. */
		{ "cparam01",
		  "REGISTER sip:example.com SIP/2.0\r\n"
		  "Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw\r\n"
		  "Max-Forwards: 70\r\n"
		  "From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe\r\n"
		  "To: sip:watson@example.com\r\n"
		  "Call-ID: cparam01.70710@saturn.example.com\r\n"
		  "CSeq: 2 REGISTER\r\n"
		  "Contact: sip:+19725552222@gw1.example.net;unknownparam\r\n"
		  "l: 0\r\n"
		  "\r\n",
		  "watson@example.com", "<sip:+19725552222@gw1.example.net>;unknownparam" },
		/* §3.1.2.20 cparam02: inside < >, ;unknownparam belongs to the URI. */
		{ "cparam02",
		  "REGISTER sip:example.com SIP/2.0\r\n"
		  "Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw\r\n"
		  "Max-Forwards: 70\r\n"
		  "From: sip:watson@example.com;tag=838293\r\n"
		  "To: sip:watson@example.com\r\n"
		  "Call-ID: cparam02.70710@saturn.example.com\r\n"
		  "CSeq: 3 REGISTER\r\n"
		  "Contact: <sip:+19725552222@gw1.example.net;unknownparam>\r\n"
		  "l: 0\r\n"
		  "\r\n",
		  "watson@example.com", "<sip:+19725552222@gw1.example.net;unknownparam>" },
		/* §3.1.2.21 regescrt: the escaped header of the URI is kept as is. */
		{ "regescrt",
		  "REGISTER sip:example.com SIP/2.0\r\n"
		  "To: sip:user@example.com\r\n"
		  "From: sip:user@example.com;tag=8\r\n"
		  "Max-Forwards: 70\r\n"
		  "Call-ID: regescrt.k345asrl3fdbv@192.0.2.1\r\n"
		  "CSeq: 14398234 REGISTER\r\n"
		  "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\r\n"
		  "M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>\r\n"
		  "L:0\r\n"
		  "\r\n",
		  "user@example.com", "<sip:user@example.com?Route=%3Csip:sip.example.com%3E>" },
	};

	for (size_t i = 0; i < N(cases); i++) {
		char want[256];

		process_text(T0, cases[i].text);
		expect(200, NULL, REG_OK);
		expect_ops("S");
		cr_assert(op_is(0, REG_OP_SET, cases[i].aor, cases[i].stored), "%s: %.*s",
			  cases[i].name, (int)fx.op[0]->b.contact.len, fx.op[0]->b.contact.p);
		cr_assert_eq(fx.ret[0], 1, "%s", cases[i].name);
		snprintf(want, sizeof(want), "%s;expires=1800", cases[i].stored);
		cr_assert_eq(nfield("Contact"), 1, "%s", cases[i].name);
		cr_assert_str_eq(field("Contact", 0), want, "%s", cases[i].name);
		cr_assert_eq(count(cases[i].aor), 1, "%s", cases[i].name);
		cr_assert(bound(cases[i].aor, cases[i].stored), "%s", cases[i].name);
		/* cparam01 and cparam02 share an AOR: each case starts empty. */
		location_remove_aor(fx.loc, sv_cstr(cases[i].aor));
	}
}

/* ---- identity, Path, queries ---- */

Test(registrar, instance_reg_id)
{
	const char *c1 =
		"<sip:1001@192.0.2.10:5060;transport=tcp>;+sip.instance=\"" INST "\";reg-id=1";
	const char *c2 =
		"<sip:1001@192.0.2.10:5070;transport=tcp>;+sip.instance=\"" INST "\";reg-id=1";
	char want[512];

	reg(T0, "inst@192.0.2.10", 1,
	    "Contact: <sip:1001@192.0.2.10:5060;transport=tcp>;+sip.instance=\"" INST
	    "\";reg-id=1\r\n"
	    "Path: <sip:edge.example.com;lr>\r\n");
	expect(200, NULL, REG_OK);
	expect_ops("S");
	cr_assert(op_is(0, REG_OP_SET, AOR, c1), "stored %.*s", (int)fx.op[0]->b.contact.len,
		  fx.op[0]->b.contact.p);
	snprintf(want, sizeof(want), "%s;expires=1800", c1);
	cr_assert_str_eq(field("Contact", 0), want);
	cr_assert_str_eq(field("Path", 0), "<sip:edge.example.com;lr>");
	struct location_binding b = find(AOR, c1);
	cr_assert(sv_eq(b.instance, SV_LIT(INST)), "%.*s", (int)b.instance.len, b.instance.p);
	cr_assert_eq(b.reg_id, 1);
	cr_assert(sv_eq(b.path, SV_LIT("<sip:edge.example.com;lr>")));
	cr_assert_eq(b.src.port, 5060);
	cr_assert_eq(b.src.transport, LOCATION_TP_UDP);

	/* The same instance and reg-id from a new address: the flow moves, it is not added. */
	reg(T0 + SEC, "inst@192.0.2.10", 2,
	    "Contact: <sip:1001@192.0.2.10:5070;transport=tcp>;+sip.instance=\"" INST
	    "\";reg-id=1\r\n");
	expect(200, NULL, REG_OK);
	expect_ops("RS");
	cr_assert(op_is(0, REG_OP_REMOVE, AOR, c1));
	cr_assert(sv_eq(fx.op[0]->b.instance, SV_LIT(INST)));
	cr_assert_eq(fx.op[0]->b.reg_id, 1);
	cr_assert(op_is(1, REG_OP_SET, AOR, c2));
	cr_assert_eq(nfield("Contact"), 1);
	snprintf(want, sizeof(want), "%s;expires=1800", c2);
	cr_assert_str_eq(field("Contact", 0), want);
	cr_assert_eq(nfield("Path"), 0);
	cr_assert_eq(count(AOR), 1);
	cr_assert(bound(AOR, c2));
}

/* Path (RFC 3327), User-Agent, the source and Call-ID are stored with the binding. */
Test(registrar, path_and_details)
{
	reg(T0, "path@192.0.2.10", 1,
	    CT_A "Path: <sip:p1.example.com;lr>\r\n"
		 "Path: <sip:p2.example.com;lr>, <sip:p3.example.com;lr>\r\n"
		 "User-Agent: Phone/1.0\r\n");
	expect(200, NULL, REG_OK);
	expect_ops("S");
	const char *joined = "<sip:p1.example.com;lr>,<sip:p2.example.com;lr>, "
			     "<sip:p3.example.com;lr>";
	cr_assert_str_eq(field("Path", 0), joined);
	cr_assert_eq(nfield("Path"), 1);
	cr_assert(sv_eq(fx.op[0]->b.path, sv_cstr(joined)));
	struct location_binding b = find(AOR, "<" A_URI ">");
	cr_assert(sv_eq(b.path, sv_cstr(joined)));
	cr_assert(sv_eq(b.user_agent, SV_LIT("Phone/1.0")));
	cr_assert(sv_eq(b.call_id, SV_LIT("path@192.0.2.10")));
	cr_assert_eq(b.cseq, 1);
	cr_assert_eq(b.q, 1000);
	cr_assert_eq(b.instance.len, 0);
	cr_assert_eq(b.reg_id, 0);
	cr_assert_eq(b.src.family, AF_INET);
	cr_assert_eq(b.src.port, 5060);
	cr_assert(!memcmp(b.src.addr, (uint8_t[]){ 192, 0, 2, 10 }, 4));
}

Test(registrar, query)
{
	/* Nothing bound. */
	reg(T0, "q@192.0.2.10", 1, "");
	expect(200, NULL, REG_OK);
	expect_ops("");
	cr_assert_eq(nfield("Contact"), 0);
	cr_assert_str_eq(field("Date", 0), T0_DATE);

	reg(T0, "q@192.0.2.10", 2, CT_A "Contact: <" B_URI ">;q=0.5;expires=600\r\n");
	expect(200, NULL, REG_OK);
	expect_ops("SS");
	cr_assert_str_eq(field("Contact", 0), "<" A_URI ">;expires=1800");
	cr_assert_str_eq(field("Contact", 1), "<" B_URI ">;q=0.500;expires=600");
	cr_assert_eq(find(AOR, "<" B_URI ">").q, 500);

	/* 100.5 s later: what is left, rounded up; no change. */
	reg(T0 + 100500, "q@192.0.2.10", 3, "");
	expect(200, NULL, REG_OK);
	expect_ops("");
	cr_assert_eq(nfield("Contact"), 2);
	cr_assert(has_field("Contact", "<" A_URI ">;expires=1700"));
	cr_assert(has_field("Contact", "<" B_URI ">;q=0.500;expires=500"));
	cr_assert_eq(nfield("Date"), 1);

	/* After B's expiry only A is listed. */
	reg(T0 + 600 * SEC, "q@192.0.2.10", 4, "");
	expect(200, NULL, REG_OK);
	cr_assert_eq(nfield("Contact"), 1);
	cr_assert_str_eq(field("Contact", 0), "<" A_URI ">;expires=1200");

	/* A refresh of A lists B's remaining binding too (replace only on new contacts). */
	reg(T0 + 10 * SEC, "q@192.0.2.10", 5, CT_A);
	expect(200, NULL, REG_OK);
	expect_ops("S");
	cr_assert_eq(nfield("Contact"), 2);
	cr_assert(has_field("Contact", "<" B_URI ">;q=0.500;expires=590"));
	cr_assert(has_field("Contact", "<" A_URI ">;expires=1800"));
}

/* ---- the AOR ---- */

/* A REGISTER whose To has an escaped user and an upper-case host: cseq, cseq,
 * more lines. */
#define NORM_FMT                                                    \
	"REGISTER sip:SIP.Example.COM SIP/2.0\r\n"                  \
	"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnorm%u\r\n" \
	"Max-Forwards: 70\r\n"                                      \
	"To: <sip:%%31001@SIP.Example.COM>\r\n"                     \
	"From: <sip:%%31001@SIP.Example.COM>;tag=1\r\n"             \
	"Call-ID: norm@192.0.2.10\r\n"                              \
	"CSeq: %u REGISTER\r\n"                                     \
	"Contact: <" A_URI ">\r\n"                                  \
	"%s"                                                        \
	"Content-Length: 0\r\n\r\n"

Test(registrar, aor_normalised)
{
	char buf[2048], a[900], nonce[AUTH_NONCE_LEN + 1];

	/* The realm and the account are those of the normalised AOR. */
	fx.conf.reg_authenticate = true;
	snprintf(buf, sizeof(buf), NORM_FMT, 1u, 1u, "");
	process_text(T0, buf);
	challenged(DOM, false, nonce);
	authz(a, sizeof(a), "SHA-256", "1001", "s3cret", nonce, 1);
	snprintf(buf, sizeof(buf), NORM_FMT, 2u, 2u, a);
	process_text(T0 + SEC, buf);
	expect(200, NULL, REG_OK);
	expect_ops("S");
	cr_assert(op_is(0, REG_OP_SET, AOR, "<" A_URI ">"), "aor %.*s", (int)fx.op[0]->b.aor.len,
		  fx.op[0]->b.aor.p);
	cr_assert_eq(count(AOR), 1);
}

Test(registrar, foreign_domain)
{
	const char *text = "REGISTER sip:" DOM " SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKfor\r\n"
			   "Max-Forwards: 70\r\n"
			   "To: <sip:1001@Other.Example.ORG>\r\n"
			   "From: <sip:1001@other.example.org>;tag=1\r\n"
			   "Call-ID: foreign@192.0.2.10\r\n"
			   "CSeq: 1 REGISTER\r\n"
			   "Contact: <" A_URI ">\r\n"
			   "Content-Length: 0\r\n\r\n";

	process_text(T0, text);
	expect(404, "Not Found", REG_BAD);
	expect_ops("");
	cr_assert_eq(fx.r.nf, 0);
	cr_assert_eq(count("1001@other.example.org"), 0);

	/* Once one of our domains (sip.domains), it registers. */
	fx.conf.domains = calloc(1, sizeof(char *));
	cr_assert_not_null(fx.conf.domains);
	fx.conf.domains[0] = strdup("other.example.org");
	fx.conf.ndomains = 1;
	process_text(T0, text);
	expect(200, NULL, REG_OK);
	expect_ops("S");
	cr_assert_eq(count("1001@other.example.org"), 1);

	/* A tel: To has no AOR here. */
	process_text(T0, "REGISTER sip:" DOM " SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKtel\r\n"
			 "Max-Forwards: 70\r\n"
			 "To: <tel:+19725552222>\r\n"
			 "From: <tel:+19725552222>;tag=1\r\n"
			 "Call-ID: tel@192.0.2.10\r\n"
			 "CSeq: 1 REGISTER\r\n"
			 "Contact: <" A_URI ">\r\n"
			 "Content-Length: 0\r\n\r\n");
	expect(404, "Not Found", REG_BAD);
	expect_ops("");
}

/* ---- the writer ---- */

Test(registrar, writer_refuses)
{
	fx.emit_err = -ENOBUFS;
	reg(T0, "busy@192.0.2.10", 1, CT_A);
	expect(500, "Registrar Busy", REG_ERROR);
	cr_assert_eq(count(AOR), 0);
}

Test(registrar, reg_op_new_copies)
{
	char s[] = "1001@sip.example.com<sip:a@192.0.2.1>cid@h<sip:p;lr>" INST "UA/1.0";
	const char *p = s;
	struct location_binding b = {
		.expires_ms = T0 + 60 * SEC, .cseq = 7, .reg_id = 2, .q = 300, .src = fx.env.src
	};
	struct sv *parts[] = {
		&b.aor, &b.contact, &b.call_id, &b.path, &b.instance, &b.user_agent
	};
	const char *want[] = { AOR, "<sip:a@192.0.2.1>", "cid@h", "<sip:p;lr>", INST, "UA/1.0" };

	for (size_t i = 0; i < N(parts); i++) {
		*parts[i] = sv_make(p, strlen(want[i]));
		p += strlen(want[i]);
	}
	struct reg_op *op = reg_op_new(REG_OP_SET, &b);
	cr_assert_not_null(op);
	memset(s, 'x', sizeof(s) - 1);

	struct sv *got[] = { &op->b.aor,  &op->b.contact,  &op->b.call_id,
			     &op->b.path, &op->b.instance, &op->b.user_agent };
	for (size_t i = 0; i < N(got); i++) {
		cr_assert(sv_eq(*got[i], sv_cstr(want[i])), "field %zu: %.*s", i, (int)got[i]->len,
			  got[i]->p);
		cr_assert(got[i]->p < s || got[i]->p >= s + sizeof(s), "field %zu is a copy", i);
	}
	cr_assert_eq(op->kind, REG_OP_SET);
	cr_assert_eq(op->b.expires_ms, T0 + 60 * SEC);
	cr_assert_eq(op->b.cseq, 7);
	cr_assert_eq(op->b.reg_id, 2);
	cr_assert_eq(op->b.q, 300);
	cr_assert_eq(op->b.src.port, 5060);
	cr_assert_eq(reg_op_apply(fx.loc, op), 1);
	free(op);
	cr_assert_eq(count(AOR), 1);

	/* A removal names the binding by instance and reg-id; empty strings copy as empty. */
	b = (struct location_binding){ .aor = SV_LIT(AOR),
				       .contact = SV_LIT("<sip:other@192.0.2.1>"),
				       .instance = SV_LIT(INST),
				       .reg_id = 2 };
	op = reg_op_new(REG_OP_REMOVE, &b);
	cr_assert_not_null(op);
	cr_assert_eq(op->b.path.len, 0);
	cr_assert_eq(op->b.call_id.len, 0);
	cr_assert_eq(op->b.user_agent.len, 0);
	cr_assert_eq(reg_op_apply(fx.loc, op), 0);
	cr_assert_eq(reg_op_apply(fx.loc, op), -ENOENT);
	free(op);
	cr_assert_eq(count(AOR), 0);

	b.contact = SV_NULL;
	op = reg_op_new(REG_OP_REMOVE_AOR, &b);
	cr_assert_not_null(op);
	cr_assert_eq(reg_op_apply(fx.loc, op), 0);
	op->kind = 0;
	cr_assert_eq(reg_op_apply(fx.loc, op), -EINVAL);
	free(op);
}

Test(registrar, outcome_str)
{
	cr_assert_str_eq(registrar_outcome_str(REG_OK), "ok");
	cr_assert_str_eq(registrar_outcome_str(REG_CHALLENGED), "challenged");
	cr_assert_str_eq(registrar_outcome_str(REG_ERROR), "error");
	cr_assert_str_eq(registrar_outcome_str(REG_OUTCOME__COUNT), "unknown");
}
