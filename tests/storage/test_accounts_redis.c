/* SPDX-License-Identifier: MIT */
/*
 * Tests of storage/accounts_redis.h against a private redis-server
 * (redis_fixture.h; skipped when redis-server is not installed): accounts with
 * a password, an HA1 only, both, each verifying a digest; malformed keys
 * skipped and counted; keys of another prefix or database not read; 10,000
 * accounts; Redis down, AUTH refused, a server that never answers.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/accounts.h"
#include "core/auth.h"
#include "storage/accounts_redis.h"
#include "tests/storage/redis_fixture.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct redis_fixture rf;

static void teardown(void)
{
	redis_fixture_stop(&rf);
}

TestSuite(accounts_redis, .fini = teardown);

static void start_redis(const char *password)
{
	int r = redis_fixture_start(&rf, false, password);

	if (r == -ENOENT)
		cr_skip_test("redis-server is not installed");
	cr_assert_eq(r, 0, "redis-server: %s", strerror(-r));
}

static struct accounts_redis_config tcp_cfg(void)
{
	return (struct accounts_redis_config){ .host = "127.0.0.1", .port = rf.port };
}

/* One command that must not fail; args as redisCommandArgv (binary-safe). */
static void cmd(redisContext *c, const char *a0, const char *a1, const char *a2, const char *a3)
{
	const char *argv[4] = { a0, a1, a2, a3 };
	size_t lens[4];
	int n = a3 ? 4 : a2 ? 3 : a1 ? 2 : 1;
	redisReply *r;

	for (int i = 0; i < n; i++)
		lens[i] = strlen(argv[i]);
	r = redisCommandArgv(c, n, argv, lens);
	cr_assert_not_null(r, "%s %s: %s", a0, a1, c->errstr);
	cr_assert_neq(r->type, REDIS_REPLY_ERROR, "%s %s: %s", a0, a1, r->str);
	freeReplyObject(r);
}

static void hex(const uint8_t *p, size_t n, bool upper, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, upper ? "%02X" : "%02x", p[i]);
}

/* A UA holding password answers a challenge for realm; acct (loaded) must say OK. */
static enum auth_status verify(const struct auth_account *acct, const char *user, const char *realm,
			       const char *password, enum auth_alg alg)
{
	const struct auth_account ua = { .user = sv_cstr(user),
					 .realm = sv_cstr(realm),
					 .password = sv_cstr(password) };
	char nonce[AUTH_NONCE_LEN + 1] = { 0 }, text[1024], resp[AUTH_HEX_MAX + 1];
	struct auth_ctx ctx;
	struct auth_nc nc;
	struct sip_auth cred;
	enum auth_status st;
	const char *why;

	cr_assert_eq(auth_init(&ctx, NULL), 0);
	cr_assert_eq(auth_nc_init(&nc, 64), 0);
	cr_assert_eq(auth_nonce(&ctx, sv_cstr(realm), 1700000000000ull, nonce), 0);
	snprintf(text, sizeof(text),
		 "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"sip:%s\", "
		 "response=\"0\", algorithm=%s, qop=auth, nc=00000001, cnonce=\"xyz\"",
		 user, realm, nonce, realm, auth_alg_name(alg));
	cr_assert_eq(sip_auth_parse(sv_cstr(text), &cred, NULL), 0);
	cr_assert_gt(auth_response(&ua, sv_cstr(realm), SV_LIT("REGISTER"), &cred, resp), 0);
	cred.response = sv_cstr(resp);
	st = auth_verify(&ctx, &nc, &cred, SV_LIT("REGISTER"), sv_cstr(realm), acct,
			 1700000000000ull, &why);
	auth_nc_free(&nc);
	return st;
}

/* Good accounts load and verify; malformed ones are skipped and counted. */
Test(accounts_redis, load)
{
	uint8_t md5[16], sha[32];
	char md5hex[33], shahex[65], err[512];
	struct accounts_redis_config cfg;
	struct accounts *tab;
	const struct auth_account *a;
	size_t skipped = 99;
	redisContext *c;
	static const struct {
		const char *key, *field, *value;
	} bad[] = {
		{ "sipring:acct:noat", "password", "x" },
		{ "sipring:acct:@sip.example.com", "password", "x" },
		{ "sipring:acct:u@", "password", "x" },
		{ "sipring:acct:bad 1@sip.example.com", "password", "x" },
		{ "sipring:acct:bad2@sip.example.com", "ha1_md5", "abc" },
		{ "sipring:acct:bad3@sip.example.com", "ha1_sha256",
		  "g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
		{ "sipring:acct:bad4@sip.example.com", "note", "no secret" },
		{ "sipring:acct:bad5@sip.example.com", "password", "" },
		{ "sipring:acct:bad6@sip.example.com", "password",
		  "a\x01"
		  "b" },
		{ "sipring:acct:bad7@sip.ex ample.com", "password", "x" },
	};

	start_redis(NULL);
	c = redis_fixture_connect(&rf);
	cr_assert_not_null(c);
	cr_assert_eq(
		auth_ha1(AUTH_MD5, SV_LIT("1002"), SV_LIT("sip.example.com"), SV_LIT("pw2"), md5),
		0);
	cr_assert_eq(auth_ha1(AUTH_SHA256, SV_LIT("alice"), SV_LIT("sip.example.com"),
			      SV_LIT("pw3"), sha),
		     0);
	hex(md5, 16, false, md5hex);
	hex(sha, 32, true, shahex); /* either case */
	cmd(c, "HSET", "sipring:acct:1001@sip.example.com", "password", "s3cret");
	cmd(c, "HSET", "sipring:acct:1002@sip.example.com", "ha1_md5", md5hex);
	cmd(c, "HSET", "sipring:acct:alice@Sip.Example.COM", "password", "pw3");
	cmd(c, "HSET", "sipring:acct:alice@Sip.Example.COM", "ha1_sha256", shahex);
	cmd(c, "HSET", "sipring:acct:a@b@sip.example.com", "password", "at");
	cmd(c, "HSET", "sipring:acct:1005@sip.example.com", "password", "p5");
	cmd(c, "HSET", "sipring:acct:1005@sip.example.com", "display_name", "Five");
	for (size_t i = 0; i < N(bad); i++)
		cmd(c, "HSET", bad[i].key, bad[i].field, bad[i].value);
	cmd(c, "SET", "sipring:acct:string@sip.example.com", "not a hash", NULL);
	/* Not ours: another prefix, another database. */
	cmd(c, "HSET", "other:acct:9@sip.example.com", "password", "x");
	cmd(c, "HSET", "sipring:acctz@sip.example.com", "password", "x");
	cmd(c, "SELECT", "1", NULL, NULL);
	cmd(c, "HSET", "sipring:acct:db1@sip.example.com", "password", "x");
	redisFree(c);

	cfg = tcp_cfg();
	cr_assert_eq(accounts_redis_load(&cfg, &tab, &skipped, err, sizeof(err)), 5, "%s", err);
	cr_assert_eq(skipped, N(bad) + 1);
	cr_assert(!strncmp(err, "sipring:acct:", 13), "the first skip: '%s'", err);
	cr_assert_eq(accounts_count(tab), 5);

	a = accounts_find(tab, SV_LIT("1001"), SV_LIT("sip.example.com"));
	cr_assert_not_null(a);
	cr_assert(sv_eq(a->password, SV_LIT("s3cret")));
	cr_assert_null(a->ha1_md5);
	cr_assert_eq(verify(a, "1001", "sip.example.com", "s3cret", AUTH_SHA256), AUTH_OK);
	cr_assert_eq(verify(a, "1001", "sip.example.com", "wrong", AUTH_MD5), AUTH_FAIL);

	a = accounts_find(tab, SV_LIT("1002"), SV_LIT("SIP.example.com"));
	cr_assert_not_null(a);
	cr_assert_eq(a->password.len, 0);
	cr_assert(!memcmp(a->ha1_md5, md5, 16));
	cr_assert_null(a->ha1_sha256);
	cr_assert_eq(verify(a, "1002", "sip.example.com", "pw2", AUTH_MD5), AUTH_OK);

	a = accounts_find(tab, SV_LIT("alice"), SV_LIT("sip.example.com"));
	cr_assert_not_null(a);
	cr_assert(sv_eq(a->realm, SV_LIT("sip.example.com")), "the domain in lower case");
	cr_assert(sv_eq(a->password, SV_LIT("pw3")));
	cr_assert(!memcmp(a->ha1_sha256, sha, 32));
	cr_assert_eq(verify(a, "alice", "sip.example.com", "pw3", AUTH_SHA256), AUTH_OK);
	cr_assert_eq(verify(a, "alice", "sip.example.com", "pw3", AUTH_MD5), AUTH_OK);

	a = accounts_find(tab, SV_LIT("a@b"), SV_LIT("sip.example.com")); /* the last '@' */
	cr_assert_not_null(a);
	cr_assert(sv_eq(a->password, SV_LIT("at")));
	cr_assert_not_null(accounts_find(tab, SV_LIT("1005"), SV_LIT("sip.example.com")));
	cr_assert_null(accounts_find(tab, SV_LIT("9"), SV_LIT("sip.example.com")));
	cr_assert_null(accounts_find(tab, SV_LIT("db1"), SV_LIT("sip.example.com")));
	cr_assert_null(accounts_find(tab, SV_LIT("bad2"), SV_LIT("sip.example.com")));
	accounts_free(tab);

	/* SELECT: database 1 holds one account; a NULL skipped is allowed. */
	cfg.db = 1;
	cr_assert_eq(accounts_redis_load(&cfg, &tab, NULL, err, sizeof(err)), 1, "%s", err);
	cr_assert_eq(err[0], '\0', "nothing skipped: '%s'", err);
	cr_assert_not_null(accounts_find(tab, SV_LIT("db1"), SV_LIT("sip.example.com")));
	accounts_free(tab);

	/* The unix socket, and another prefix (its glob characters are literal). */
	cfg = (struct accounts_redis_config){ .unix_path = rf.sock, .prefix = "other:" };
	cr_assert_eq(accounts_redis_load(&cfg, &tab, &skipped, err, sizeof(err)), 1, "%s", err);
	cr_assert_eq(skipped, 0);
	cr_assert_not_null(accounts_find(tab, SV_LIT("9"), SV_LIT("sip.example.com")));
	accounts_free(tab);
	cfg.prefix = "o*:";
	cr_assert_eq(accounts_redis_load(&cfg, &tab, &skipped, err, sizeof(err)), 0, "%s", err);
	accounts_free(tab);
}

/* Each malformed account alone: the reason names the key and field, never the password. */
Test(accounts_redis, skip_reasons)
{
	static const struct {
		const char *key, *field, *value, *want;
	} rows[] = {
		{ "sipring:acct:noat", "password", "x", "sipring:acct:noat: no '@'" },
		{ "sipring:acct:u@d", "password", "hunter2\x01",
		  "sipring:acct:u@d: password: has a control character" },
		{ "sipring:acct:u@d", "ha1_md5", "0123",
		  "sipring:acct:u@d: ha1_md5: is not 32 hex" },
		{ "sipring:acct:u@d", "note", "x",
		  "sipring:acct:u@d: account: neither password nor" },
		{ "sipring:acct:u\"@d", "password", "x", "sipring:acct:u\"@d: user: " },
	};
	struct accounts_redis_config cfg;
	struct accounts *tab;
	char err[512];
	size_t skipped;
	redisContext *c;

	start_redis(NULL);
	cfg = tcp_cfg();
	c = redis_fixture_connect(&rf);
	cr_assert_not_null(c);
	for (size_t i = 0; i < N(rows); i++) {
		cmd(c, "FLUSHDB", NULL, NULL, NULL);
		cmd(c, "HSET", rows[i].key, rows[i].field, rows[i].value);
		cr_assert_eq(accounts_redis_load(&cfg, &tab, &skipped, err, sizeof(err)), 0,
			     "row %zu: %s", i, err);
		cr_assert_eq(skipped, 1, "row %zu", i);
		cr_assert(!strncmp(err, rows[i].want, strlen(rows[i].want)),
			  "row %zu: want '%s', got '%s'", i, rows[i].want, err);
		cr_assert_null(strstr(err, "hunter2"), "%s", err);
		accounts_free(tab);
	}
	redisFree(c);
}

Test(accounts_redis, many)
{
	enum { COUNT = 10000 };
	struct accounts_redis_config cfg;
	struct accounts *tab;
	char err[512];
	size_t skipped;
	redisContext *c;

	start_redis(NULL);
	c = redis_fixture_connect(&rf);
	cr_assert_not_null(c);
	for (int i = 0; i < COUNT; i++)
		cr_assert_eq(redisAppendCommand(c, "HSET sipring:acct:%d@d%d.example password p%d",
						100000 + i, i % 7, i),
			     REDIS_OK);
	for (int i = 0; i < COUNT; i++) {
		redisReply *r = NULL;

		cr_assert_eq(redisGetReply(c, (void **)&r), REDIS_OK);
		freeReplyObject(r);
	}
	redisFree(c);
	cfg = tcp_cfg();
	cr_assert_eq(accounts_redis_load(&cfg, &tab, &skipped, err, sizeof(err)), COUNT, "%s", err);
	cr_assert_eq(skipped, 0);
	for (int i = 0; i < COUNT; i++) {
		char u[16], d[32], p[16];
		const struct auth_account *a;

		snprintf(u, sizeof(u), "%d", 100000 + i);
		snprintf(d, sizeof(d), "d%d.example", i % 7);
		snprintf(p, sizeof(p), "p%d", i);
		a = accounts_find(tab, sv_cstr(u), sv_cstr(d));
		cr_assert_not_null(a, "%s@%s", u, d);
		cr_assert(sv_eq(a->password, sv_cstr(p)));
	}
	accounts_free(tab);
}

Test(accounts_redis, down)
{
	struct accounts_redis_config cfg;
	struct accounts *tab = (struct accounts *)1;
	char err[512], path[512];

	start_redis(NULL);
	cfg = tcp_cfg();
	redis_fixture_kill(&rf);
	cr_assert_eq(accounts_redis_load(&cfg, &tab, NULL, err, sizeof(err)), -ECONNREFUSED);
	cr_assert_null(tab);
	cr_assert(strstr(err, "connect: "), "%s", err);
	cr_assert(strstr(err, "127.0.0.1:"), "%s", err);

	snprintf(path, sizeof(path), "%s/none.sock", rf.dir);
	cfg = (struct accounts_redis_config){ .unix_path = path };
	cr_assert_eq(accounts_redis_load(&cfg, &tab, NULL, err, sizeof(err)), -ECONNREFUSED);
	cr_assert(strstr(err, "none.sock: connect: "), "%s", err);

	cfg = (struct accounts_redis_config){ 0 };
	cr_assert_eq(accounts_redis_load(&cfg, &tab, NULL, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "neither host nor unix_path"), "%s", err);
	cfg = tcp_cfg();
	cfg.prefix = "0123456789012345678901234567890123456789012345678901234567890123456789";
	cr_assert_eq(accounts_redis_load(&cfg, &tab, NULL, err, sizeof(err)), -EINVAL);
}

Test(accounts_redis, auth)
{
	struct accounts_redis_config cfg;
	struct accounts *tab;
	char err[512];
	redisContext *c;

	start_redis("open-sesame");
	c = redis_fixture_connect(&rf);
	cr_assert_not_null(c);
	cmd(c, "HSET", "sipring:acct:1001@sip.example.com", "password", "s3cret");
	redisFree(c);

	cfg = tcp_cfg();
	cr_assert_eq(accounts_redis_load(&cfg, &tab, NULL, err, sizeof(err)), -EPROTO);
	cr_assert_null(tab);
	cr_assert(strstr(err, "NOAUTH"), "%s", err);
	cfg.password = "wrong-one";
	cr_assert_eq(accounts_redis_load(&cfg, &tab, NULL, err, sizeof(err)), -EPROTO);
	cr_assert(!strncmp(err, "redis AUTH: ", 12), "%s", err);
	cr_assert_null(strstr(err, "wrong-one"), "%s", err);
	cfg.password = "open-sesame";
	cr_assert_eq(accounts_redis_load(&cfg, &tab, NULL, err, sizeof(err)), 1, "%s", err);
	cr_assert_not_null(accounts_find(tab, SV_LIT("1001"), SV_LIT("sip.example.com")));
	accounts_free(tab);
	cfg = (struct accounts_redis_config){ .unix_path = rf.sock, .password = "open-sesame" };
	cr_assert_eq(accounts_redis_load(&cfg, &tab, NULL, err, sizeof(err)), 1, "%s", err);
	accounts_free(tab);
}

/* A server that accepts the connection and never answers: -ETIMEDOUT. */
Test(accounts_redis, no_answer)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct accounts_redis_config cfg = { .host = "127.0.0.1", .timeout_ms = 200 };
	struct accounts *tab;
	char err[512];

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 8), 0); /* the kernel completes the handshake; nobody reads */
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	cfg.port = ntohs(a.sin_port);
	cr_assert_eq(accounts_redis_load(&cfg, &tab, NULL, err, sizeof(err)), -ETIMEDOUT, "%s",
		     err);
	cr_assert_null(tab);
	cr_assert(strstr(err, "redis SCAN: "), "%s", err);
	close(fd);
}
