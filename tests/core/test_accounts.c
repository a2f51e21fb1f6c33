/* SPDX-License-Identifier: MIT */
/*
 * Tests of core/accounts.h: loading tests/core/data/accounts/good.yaml and the
 * shipped examples/accounts.yaml, lookups (user exact, domain in any case),
 * verification of a digest against a loaded account, a generated file of many
 * accounts, and every error with its "FILE:LINE: KEY:" prefix; the builder
 * (accounts given one by one, later duplicates winning). ASan checks that
 * nothing leaks, failed loads included.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/accounts.h"
#include "core/auth.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *src_path(const char *rel, char *buf, size_t cap)
{
	const char *root = getenv("SIPRING_SOURCE_ROOT");

	snprintf(buf, cap, "%s/%s", root ? root : ".", rel);
	return buf;
}

struct tmp {
	char path[64];
};

static void tmp_write(struct tmp *t, const char *text)
{
	size_t len = strlen(text);
	int fd;

	snprintf(t->path, sizeof(t->path), "/tmp/sipring-acc-XXXXXX");
	fd = mkstemp(t->path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static struct accounts *load_ok(const char *text)
{
	struct tmp t;
	struct accounts *tab = NULL;
	char err[512];
	int ret;

	tmp_write(&t, text);
	ret = accounts_load(t.path, &tab, err, sizeof(err));
	unlink(t.path);
	cr_assert_eq(ret, 0, "%s\n--\n%s", err, text);
	cr_assert_not_null(tab);
	return tab;
}

Test(accounts, good_file)
{
	char path[4096], err[512];
	struct accounts *tab;
	const struct auth_account *a;
	uint8_t md5[16];

	cr_assert_eq(
		accounts_load(src_path("tests/core/data/accounts/good.yaml", path, sizeof(path)),
			      &tab, err, sizeof(err)),
		0, "%s", err);
	cr_assert_eq(accounts_count(tab), 4);
	cr_assert_gt(accounts_bytes(tab), 4 * sizeof(struct auth_account));

	a = accounts_find(tab, SV_LIT("1001"), SV_LIT("sip.example.com"));
	cr_assert_not_null(a);
	cr_assert(sv_eq(a->user, SV_LIT("1001")));
	cr_assert(sv_eq(a->realm, SV_LIT("sip.example.com")));
	cr_assert(sv_eq(a->password, SV_LIT("s3cret")));
	cr_assert_null(a->ha1_md5);
	cr_assert_null(a->ha1_sha256);

	/* The domain in any case, stored in lower case; the user exact. */
	a = accounts_find(tab, SV_LIT("1002"), SV_LIT("Sip.EXAMPLE.com"));
	cr_assert_not_null(a);
	cr_assert(sv_eq(a->realm, SV_LIT("sip.example.com")));
	cr_assert_eq(a->password.len, 0);
	cr_assert_not_null(a->ha1_md5);
	cr_assert_eq(
		auth_ha1(AUTH_MD5, SV_LIT("1002"), SV_LIT("sip.example.com"), SV_LIT("pw2"), md5),
		0);
	cr_assert(!memcmp(a->ha1_md5, md5, 16));
	cr_assert_null(accounts_find(tab, SV_LIT("ALICE"), SV_LIT("sip.example.com")));

	a = accounts_find(tab, SV_LIT("1003"), SV_LIT("other.example.net"));
	cr_assert_not_null(a);
	cr_assert(sv_eq(a->password, SV_LIT("with spaces and : colons")));
	a = accounts_find(tab, SV_LIT("alice"), SV_LIT("sip.example.com"));
	cr_assert_not_null(a);
	cr_assert_eq(a->ha1_sha256[0], 0x00);
	cr_assert_eq(a->ha1_sha256[31], 0xff);

	/* Misses. */
	cr_assert_null(accounts_find(tab, SV_LIT("1001"), SV_LIT("other.example.net")));
	cr_assert_null(accounts_find(tab, SV_LIT("100"), SV_LIT("sip.example.com")));
	cr_assert_null(accounts_find(tab, SV_LIT(""), SV_LIT("")));
	accounts_free(tab);
	accounts_free(NULL);
	cr_assert_null(accounts_find(NULL, SV_LIT("1001"), SV_LIT("sip.example.com")));
}

/* The shipped example loads, and its HA1 account verifies a digest. */
Test(accounts, example_verifies)
{
	char path[4096], err[512], nonce[AUTH_NONCE_LEN + 1] = { 0 }, text[1024];
	char resp[AUTH_HEX_MAX + 1];
	struct accounts *tab;
	const struct auth_account *a;
	struct auth_ctx ctx;
	struct auth_nc nc;
	struct sip_auth cred;
	const char *why;
	const struct auth_account pw = { .user = SV_LIT("1002"),
					 .realm = SV_LIT("sip.example.com"),
					 .password = SV_LIT("pw") };
	static const char *algs[] = { "MD5", "SHA-256" };

	cr_assert_eq(accounts_load(src_path("examples/accounts.yaml", path, sizeof(path)), &tab,
				   err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(accounts_count(tab), 2);
	a = accounts_find(tab, SV_LIT("1002"), SV_LIT("sip.example.com"));
	cr_assert_not_null(a);
	cr_assert_eq(auth_init(&ctx, NULL), 0);
	cr_assert_eq(auth_nc_init(&nc, 64), 0);
	cr_assert_eq(auth_nonce(&ctx, SV_LIT("sip.example.com"), 1700000000000ull, nonce), 0);
	for (size_t i = 0; i < N(algs); i++) {
		/* The UA's response, from the password (the table holds only HA1s). */
		snprintf(text, sizeof(text),
			 "Digest username=\"1002\", realm=\"sip.example.com\", nonce=\"%s\", "
			 "uri=\"sip:sip.example.com\", response=\"0\", algorithm=%s, qop=auth, "
			 "nc=0000000%zu, cnonce=\"xyz\"",
			 nonce, algs[i], i + 1);
		cr_assert_eq(sip_auth_parse(sv_cstr(text), &cred, NULL), 0);
		cr_assert_gt(auth_response(&pw, SV_LIT("sip.example.com"), SV_LIT("REGISTER"),
					   &cred, resp),
			     0);
		cred.response = sv_cstr(resp);
		cr_assert_eq(auth_verify(&ctx, &nc, &cred, SV_LIT("REGISTER"),
					 SV_LIT("sip.example.com"), a, 1700000000000ull, &why),
			     AUTH_OK, "%s: %s", algs[i], why);
	}
	auth_nc_free(&nc);
	accounts_free(tab);
}

Test(accounts, empty_files)
{
	static const char *texts[] = { "",	"# nothing\n", "accounts:\n", "accounts: []\n",
				       "---\n", "{}\n" };

	for (size_t i = 0; i < N(texts); i++) {
		struct accounts *tab = load_ok(texts[i]);

		cr_assert_eq(accounts_count(tab), 0, "%s", texts[i]);
		cr_assert_null(accounts_find(tab, SV_LIT("a"), SV_LIT("b")));
		accounts_free(tab);
	}
}

/* Many accounts, in several domains: every one is found. */
Test(accounts, many)
{
	enum { COUNT = 20000 };
	size_t cap = (size_t)COUNT * 80 + 64, used = 0;
	char *text = malloc(cap);
	struct accounts *tab;

	cr_assert_not_null(text);
	used += (size_t)snprintf(text, cap, "accounts:\n");
	for (int i = 0; i < COUNT; i++)
		used += (size_t)snprintf(text + used, cap - used,
					 "  - {user: \"%d\", domain: d%d.example, password: p%d}\n",
					 100000 + i, i / 1000, i);
	tab = load_ok(text);
	free(text);
	cr_assert_eq(accounts_count(tab), COUNT);
	for (int i = 0; i < COUNT; i++) {
		char u[16], d[32], p[16];
		const struct auth_account *a;

		snprintf(u, sizeof(u), "%d", 100000 + i);
		snprintf(d, sizeof(d), "D%d.EXAMPLE", i / 1000);
		snprintf(p, sizeof(p), "p%d", i);
		a = accounts_find(tab, sv_cstr(u), sv_cstr(d));
		cr_assert_not_null(a, "%s@%s", u, d);
		cr_assert(sv_eq(a->password, sv_cstr(p)));
	}
	cr_assert_null(accounts_find(tab, SV_LIT("99999"), SV_LIT("d0.example")));
	accounts_free(tab);
}

/* ---- errors ---- */

static const struct {
	const char *text;
	unsigned line;
	const char *key, *sub;
} bad[] = {
	{ "accounts:\n"
	  "  - user: \"1001\"\n"
	  "    domain: a.example\n"
	  "    password: x\n"
	  "  - user: \"1001\"\n"
	  "    domain: A.EXAMPLE\n"
	  "    password: y\n",
	  5, "accounts[1].user", "1001@a.example is already defined at line 2" },
	{ "accounts:\n"
	  "  - user: \"1001\"\n"
	  "    domain: a.example\n",
	  2, "accounts[0]", "neither password nor ha1_md5 / ha1_sha256" },
	{ "accounts:\n"
	  "  - domain: a.example\n"
	  "    password: x\n",
	  2, "accounts[0]", "no user" },
	{ "accounts:\n"
	  "  - user: u\n"
	  "    password: x\n",
	  2, "accounts[0]", "no domain" },
	{ "accounts:\n"
	  "  - user: u\n"
	  "    domain: a.example\n"
	  "    pasword: x\n",
	  4, "accounts[0].pasword", "unknown key" },
	{ "accounts:\n"
	  "  - user: u\n"
	  "    user: v\n",
	  3, "accounts[0].user", "given twice" },
	{ "accounts:\n"
	  "  - user: u\n"
	  "    domain: a.example\n"
	  "    ha1_md5: 0123\n",
	  4, "accounts[0].ha1_md5", "32 hex digits" },
	{ "accounts:\n"
	  "  - user: u\n"
	  "    domain: a.example\n"
	  "    ha1_sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\n",
	  4, "accounts[0].ha1_sha256", "not hex" },
	{ "accounts:\n"
	  "  - user: \"\"\n",
	  2, "accounts[0].user", "must not be empty" },
	{ "accounts:\n"
	  "  - user: a b\n",
	  2, "accounts[0].user", "has a space" },
	{ "accounts:\n"
	  "  - user: 'a\"b'\n",
	  2, "accounts[0].user", "'\"'" },
	{ "accounts:\n"
	  "  - user: u\n"
	  "    domain: u@a.example\n",
	  3, "accounts[0].domain", "'@'" },
	{ "accounts:\n"
	  "  - user: u\n"
	  "    domain: [a, b]\n",
	  3, "accounts[0].domain", "expected a string, not a list" },
	{ "accounts:\n"
	  "  - user: u\n"
	  "    domain: a.example\n"
	  "    password:\n",
	  4, "accounts[0].password", "must not be empty" },
	{ "accounts:\n"
	  "  - user: u\n"
	  "    domain: a.example\n"
	  "    password: \"a\\tb\"\n",
	  4, "accounts[0].password", "control character" },
	{ "accounts:\n"
	  "  - user: u\n"
	  "    domain: a.example\n"
	  "    password: x\n"
	  "  - just a string\n",
	  5, "accounts[1]", "expected a map" },
	{ "accounts: 7\n", 1, "accounts", "expected a list" },
	{ "accounts: []\naccounts: []\n", 2, "accounts", "given twice" },
	{ "acounts: []\n", 1, "acounts", "unknown key" },
	{ "- user: u\n", 1, "(top)", "expected a map" },
	{ "accounts:\n"
	  "  - &a {user: u, domain: d, password: p}\n"
	  "  - *a\n",
	  3, "accounts[1]", "aliases" },
	{ "accounts:\n"
	  "  - user: u\n"
	  "    domain: x: y\n",
	  3, "(yaml)", "mapping values are not allowed" },
	{ "accounts: []\n---\naccounts: []\n", 2, "(yaml)", "a second document" },
};

Test(accounts, errors)
{
	for (size_t i = 0; i < N(bad); i++) {
		struct tmp t;
		struct accounts *tab = (struct accounts *)1;
		char err[512], want[256];
		int ret;

		tmp_write(&t, bad[i].text);
		ret = accounts_load(t.path, &tab, err, sizeof(err));
		unlink(t.path);
		cr_assert_eq(ret, -EINVAL, "row %zu loaded (%d):\n%s", i, ret, bad[i].text);
		cr_assert_null(tab);
		snprintf(want, sizeof(want), "%s:%u: %s: ", t.path, bad[i].line, bad[i].key);
		cr_assert(!strncmp(err, want, strlen(want)), "row %zu: want prefix '%s', got '%s'",
			  i, want, err);
		if (bad[i].sub)
			cr_assert(strstr(err, bad[i].sub), "row %zu: want '%s' in '%s'", i,
				  bad[i].sub, err);
		cr_assert_null(strchr(err, '\n'), "not one line: '%s'", err);
	}
}

/* A password is never quoted back in a message. */
Test(accounts, error_hides_password)
{
	struct tmp t;
	struct accounts *tab;
	char err[512];

	tmp_write(&t, "accounts:\n  - user: u\n    domain: d\n    password: \"hunter2\\x01\"\n");
	cr_assert_eq(accounts_load(t.path, &tab, err, sizeof(err)), -EINVAL);
	unlink(t.path);
	cr_assert_null(strstr(err, "hunter2"), "%s", err);
}

Test(accounts, missing_file)
{
	struct accounts *tab;
	char err[512];

	cr_assert_eq(accounts_load("/nonexistent/accounts.yaml", &tab, err, sizeof(err)), -ENOENT);
	cr_assert_null(tab);
	cr_assert(!strncmp(err, "/nonexistent/accounts.yaml:0: (file): cannot read: ", 51), "%s",
		  err);
	cr_assert_eq(accounts_load(NULL, &tab, err, sizeof(err)), -EINVAL);
}

/* ---- the builder ---- */

static void add_ok(struct accounts_builder *b, const char *user, const char *domain, const char *pw,
		   const uint8_t *md5, const uint8_t *sha)
{
	char err[256];
	int ret = accounts_builder_add(b, sv_cstr(user), sv_cstr(domain), sv_cstr(pw ? pw : ""),
				       md5, sha, err, sizeof(err));

	cr_assert_eq(ret, 0, "%s@%s: %d %s", user, domain, ret, err);
}

/* Accounts given one by one make the table the file would. */
Test(accounts, builder)
{
	struct accounts_builder *b;
	struct accounts *tab;
	const struct auth_account *a;
	uint8_t md5[16], sha[32];

	cr_assert_eq(
		auth_ha1(AUTH_MD5, SV_LIT("1002"), SV_LIT("sip.example.com"), SV_LIT("pw2"), md5),
		0);
	cr_assert_eq(auth_ha1(AUTH_SHA256, SV_LIT("alice"), SV_LIT("sip.example.com"),
			      SV_LIT("pw3"), sha),
		     0);
	cr_assert_eq(accounts_builder_new(&b), 0);
	add_ok(b, "1001", "sip.example.com", "s3cret", NULL, NULL);
	add_ok(b, "1002", "SIP.Example.COM", NULL, md5, NULL);
	add_ok(b, "alice", "sip.example.com", "pw3", NULL, sha);
	add_ok(b, "a@b", "other.example.net", "with spaces and : colons", NULL, NULL);
	cr_assert_eq(accounts_builder_finish(b, &tab), 0);
	cr_assert_eq(accounts_count(tab), 4);
	cr_assert_gt(accounts_bytes(tab), 4 * sizeof(struct auth_account));

	a = accounts_find(tab, SV_LIT("1001"), SV_LIT("Sip.Example.Com"));
	cr_assert_not_null(a);
	cr_assert(sv_eq(a->password, SV_LIT("s3cret")));
	cr_assert_null(a->ha1_md5);
	cr_assert_null(a->ha1_sha256);
	a = accounts_find(tab, SV_LIT("1002"), SV_LIT("sip.example.com"));
	cr_assert_not_null(a);
	cr_assert(sv_eq(a->realm, SV_LIT("sip.example.com")), "stored in lower case");
	cr_assert_eq(a->password.len, 0);
	cr_assert(!memcmp(a->ha1_md5, md5, 16));
	cr_assert_null(a->ha1_sha256);
	a = accounts_find(tab, SV_LIT("alice"), SV_LIT("sip.example.com"));
	cr_assert_not_null(a);
	cr_assert(sv_eq(a->password, SV_LIT("pw3")));
	cr_assert(!memcmp(a->ha1_sha256, sha, 32));
	cr_assert_not_null(accounts_find(tab, SV_LIT("a@b"), SV_LIT("other.example.net")));
	cr_assert_null(accounts_find(tab, SV_LIT("ALICE"), SV_LIT("sip.example.com")));
	cr_assert_null(accounts_find(tab, SV_LIT("1001"), SV_LIT("other.example.net")));
	accounts_free(tab);

	/* Nothing added: an empty table. */
	cr_assert_eq(accounts_builder_new(&b), 0);
	cr_assert_eq(accounts_builder_finish(b, &tab), 0);
	cr_assert_eq(accounts_count(tab), 0);
	cr_assert_null(accounts_find(tab, SV_LIT("a"), SV_LIT("b")));
	accounts_free(tab);

	/* Freed unfinished, with accounts in it: ASan checks nothing leaks. */
	cr_assert_eq(accounts_builder_new(&b), 0);
	add_ok(b, "1001", "sip.example.com", "s3cret", NULL, NULL);
	accounts_builder_free(b);
	accounts_builder_free(NULL);
}

/* The same user@domain again: the later wins, whatever the domain's case. */
Test(accounts, builder_later_wins)
{
	struct accounts_builder *b;
	struct accounts *tab;
	const struct auth_account *a;
	uint8_t md5[16] = { 1, 2, 3 };

	cr_assert_eq(accounts_builder_new(&b), 0);
	add_ok(b, "1001", "sip.example.com", "old", NULL, NULL);
	add_ok(b, "1002", "sip.example.com", "other", NULL, NULL);
	add_ok(b, "1001", "SIP.example.com", NULL, md5, NULL);
	add_ok(b, "1003", "sip.example.com", "three", NULL, NULL);
	add_ok(b, "1001", "sip.EXAMPLE.com", "newest", NULL, NULL);
	cr_assert_eq(accounts_builder_finish(b, &tab), 0);
	cr_assert_eq(accounts_count(tab), 3);
	a = accounts_find(tab, SV_LIT("1001"), SV_LIT("sip.example.com"));
	cr_assert_not_null(a);
	cr_assert(sv_eq(a->password, SV_LIT("newest")));
	cr_assert_null(a->ha1_md5, "an earlier account's secrets are not merged in");
	cr_assert(sv_eq(accounts_find(tab, SV_LIT("1002"), SV_LIT("sip.example.com"))->password,
			SV_LIT("other")));
	cr_assert(sv_eq(accounts_find(tab, SV_LIT("1003"), SV_LIT("sip.example.com"))->password,
			SV_LIT("three")));
	accounts_free(tab);
}

static const struct {
	const char *user, *domain, *pw;
	bool md5;
	const char *prefix, *sub;
} bad_adds[] = {
	{ "", "d", "p", false, "user: ", "must not be empty" },
	{ "a b", "d", "p", false, "user: ", "has a space" },
	{ "a\"b", "d", "p", false, "user: ", "'\"' or" },
	{ "a\x01", "d", "p", false, "user: ", "control character" },
	{ "u", "", "p", false, "domain: ", "must not be empty" },
	{ "u", "x@d", "p", false, "domain: ", "has an '@'" },
	{ "u", "d d", "p", false, "domain: ", "has a space" },
	{ "u", "d", "hunter2\x01", false, "password: ", "control character" },
	{ "u", "d", "", false, "account: ", "neither password nor" },
	{ "u", "d", NULL, false, "account: ", "neither password nor" },
};

/* Each refusal: -EINVAL, "FIELD: reason", and the builder goes on as before. */
Test(accounts, builder_errors)
{
	struct accounts_builder *b;
	struct accounts *tab;
	char err[256], longs[ACCOUNTS_PASSWORD_MAX + 2];
	uint8_t md5[16] = { 0 };

	cr_assert_eq(accounts_builder_new(&b), 0);
	add_ok(b, "1001", "sip.example.com", "s3cret", NULL, NULL);
	for (size_t i = 0; i < N(bad_adds); i++) {
		int ret = accounts_builder_add(
			b, sv_cstr(bad_adds[i].user), sv_cstr(bad_adds[i].domain),
			bad_adds[i].pw ? sv_cstr(bad_adds[i].pw) : SV_NULL,
			bad_adds[i].md5 ? md5 : NULL, NULL, err, sizeof(err));

		cr_assert_eq(ret, -EINVAL, "row %zu: %d", i, ret);
		cr_assert(!strncmp(err, bad_adds[i].prefix, strlen(bad_adds[i].prefix)),
			  "row %zu: want prefix '%s', got '%s'", i, bad_adds[i].prefix, err);
		cr_assert(strstr(err, bad_adds[i].sub), "row %zu: want '%s' in '%s'", i,
			  bad_adds[i].sub, err);
		cr_assert_null(strstr(err, "hunter2"), "%s", err);
	}
	/* The limits: at the limit accepted, one past refused. */
	memset(longs, 'x', sizeof(longs));
	cr_assert_eq(accounts_builder_add(b, sv_make(longs, ACCOUNTS_USER_MAX), SV_LIT("d"),
					  SV_LIT("p"), NULL, NULL, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(accounts_builder_add(b, sv_make(longs, ACCOUNTS_USER_MAX + 1), SV_LIT("d"),
					  SV_LIT("p"), NULL, NULL, err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "at most 128"), "%s", err);
	cr_assert_eq(accounts_builder_add(b, SV_LIT("u"), sv_make(longs, ACCOUNTS_DOMAIN_MAX + 1),
					  SV_LIT("p"), NULL, NULL, err, sizeof(err)),
		     -EINVAL);
	cr_assert_eq(accounts_builder_add(b, SV_LIT("u"), SV_LIT("d"),
					  sv_make(longs, ACCOUNTS_PASSWORD_MAX + 1), NULL, NULL,
					  err, sizeof(err)),
		     -EINVAL);
	cr_assert_eq(accounts_builder_add(b, SV_LIT("u"), SV_LIT("d"),
					  sv_make(longs, ACCOUNTS_PASSWORD_MAX), NULL, NULL, err,
					  sizeof(err)),
		     0, "%s", err);
	/* HA1 only, and no error buffer at all. */
	cr_assert_eq(accounts_builder_add(b, SV_LIT("h"), SV_LIT("d"), SV_NULL, md5, NULL, NULL, 0),
		     0);
	cr_assert_eq(accounts_builder_add(b, SV_LIT(""), SV_LIT("d"), SV_NULL, md5, NULL, NULL, 0),
		     -EINVAL);
	cr_assert_eq(accounts_builder_finish(b, &tab), 0);
	cr_assert_eq(accounts_count(tab), 4);
	cr_assert_not_null(accounts_find(tab, SV_LIT("1001"), SV_LIT("sip.example.com")));
	cr_assert_not_null(accounts_find(tab, SV_LIT("u"), SV_LIT("d")));
	cr_assert_not_null(accounts_find(tab, SV_LIT("h"), SV_LIT("d")));
	accounts_free(tab);
}

/* Many accounts in several domains, every one found; half given twice. */
Test(accounts, builder_many)
{
	enum { COUNT = 20000 };
	struct accounts_builder *b;
	struct accounts *tab;

	cr_assert_eq(accounts_builder_new(&b), 0);
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < COUNT; i += pass ? 2 : 1) {
			char u[16], d[32], p[24];

			snprintf(u, sizeof(u), "%d", 100000 + i);
			snprintf(d, sizeof(d), "d%d.example", i / 1000);
			snprintf(p, sizeof(p), "%s%d", pass ? "new" : "p", i);
			add_ok(b, u, d, p, NULL, NULL);
		}
	cr_assert_eq(accounts_builder_finish(b, &tab), 0);
	cr_assert_eq(accounts_count(tab), COUNT);
	for (int i = 0; i < COUNT; i++) {
		char u[16], d[32], p[24];
		const struct auth_account *a;

		snprintf(u, sizeof(u), "%d", 100000 + i);
		snprintf(d, sizeof(d), "D%d.EXAMPLE", i / 1000);
		snprintf(p, sizeof(p), "%s%d", i % 2 ? "p" : "new", i);
		a = accounts_find(tab, sv_cstr(u), sv_cstr(d));
		cr_assert_not_null(a, "%s@%s", u, d);
		cr_assert(sv_eq(a->password, sv_cstr(p)), "%s@%s", u, d);
	}
	accounts_free(tab);
}
