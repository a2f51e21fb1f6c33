/* SPDX-License-Identifier: MIT */
/*
 * accounts_redis.c: see accounts_redis.h.
 *
 * One blocking hiredis 0.14 context (redisConnectWithTimeout, then
 * redisSetTimeout for the replies): SCAN a page of keys, HGETALL them in
 * pipelined batches, hand each account to an accounts builder, which checks it
 * with the file's rules and builds the table once the scan is done.
 */
#define _GNU_SOURCE /* memrchr */
#include "accounts_redis.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#define DEFAULT_PREFIX	"sipring:"
#define DEFAULT_PORT	6379
#define DEFAULT_TIMEOUT 2000
#define BATCH		256 /* HGETALLs sent before their replies are read */
#define SHOW_MAX	96

struct ld {
	redisContext *c;
	struct accounts_builder *b;
	char *err;
	size_t errlen;
	size_t skipped;
};

__attribute__((format(printf, 2, 3))) static void set_err(struct ld *ld, const char *fmt, ...)
{
	va_list ap;

	if (!ld->err || !ld->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ld->err, ld->errlen, fmt, ap);
	va_end(ap);
}

/* A key as quoted in a message: printable, at most SHOW_MAX octets. */
static const char *show(char buf[SHOW_MAX + 4], const char *p, size_t len)
{
	size_t i, n = len < SHOW_MAX ? len : SHOW_MAX;

	for (i = 0; i < n; i++)
		buf[i] = ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) ? '?' : p[i];
	if (n < len)
		memcpy(buf + i, "...", 3), i += 3;
	buf[i] = '\0';
	return buf;
}

/* The context failed (no reply): the errno for it, and the message. */
static int io_err(struct ld *ld, const char *what)
{
	int e = errno;
	int ret = ld->c->err == REDIS_ERR_OOM					  ? -ENOMEM
		  : ld->c->err == REDIS_ERR_IO && (e == EAGAIN || e == ETIMEDOUT) ? -ETIMEDOUT
										  : -ECONNRESET;

	set_err(ld, "redis %s: %s", what, ret == -ETIMEDOUT ? "no reply in time" : ld->c->errstr);
	return ret;
}

/* 0 for a reply that is not an error; else -EPROTO with Redis' text. */
static int reply_ok(struct ld *ld, const redisReply *r, const char *what)
{
	if (r->type != REDIS_REPLY_ERROR)
		return 0;
	set_err(ld, "redis %s: %.*s", what, (int)r->len, r->str);
	return -EPROTO;
}

/* A command whose reply only has to be no error (AUTH, SELECT). */
static int simple_cmd(struct ld *ld, const char *what, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	r = redisvCommand(ld->c, fmt, ap);
	va_end(ap);
	if (!r)
		return io_err(ld, what);
	ret = reply_ok(ld, r, what);
	freeReplyObject(r);
	return ret;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* An HA1 field's hex value into out (want octets); NULL, or the reason. */
static const char *unhex(const redisReply *v, uint8_t *out, size_t want)
{
	if ((size_t)v->len != 2 * want)
		return want == 16 ? "is not 32 hex digits" : "is not 64 hex digits";
	for (size_t i = 0; i < want; i++) {
		int hi = hexval(v->str[2 * i]), lo = hexval(v->str[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return "is not hex";
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return NULL;
}

/* Skip the account of key k: counted, and the first reason kept in err. */
static void skip(struct ld *ld, const redisReply *k, const char *field, const char *why)
{
	char s[SHOW_MAX + 4];

	if (!ld->skipped++)
		set_err(ld, "%s: %s%s%s", show(s, k->str, (size_t)k->len), field ? field : "",
			field ? ": " : "", why);
}

/*
 * One key and its HGETALL reply h: an account added, or a skip. Returns 0, or
 * a fatal error of the builder (-ENOMEM, -E2BIG).
 */
static int one_account(struct ld *ld, size_t plen, const redisReply *k, const redisReply *h)
{
	struct sv user, domain, pw = SV_NULL;
	uint8_t md5[16], sha[32];
	bool has_md5 = false, has_sha = false;
	const char *at, *why;
	char msg[256];
	int ret;

	if (k->type != REDIS_REPLY_STRING || (size_t)k->len <= plen)
		return 0; /* SCAN matched it: cannot happen */
	if (h->type == REDIS_REPLY_ERROR) {
		skip(ld, k, NULL, "not a hash");
		return 0;
	}
	if (h->type != REDIS_REPLY_ARRAY || h->elements % 2) {
		skip(ld, k, NULL, "unexpected reply to HGETALL");
		return 0;
	}
	if (!h->elements)
		return 0; /* deleted since the SCAN */
	at = memrchr(k->str + plen, '@', (size_t)k->len - plen);
	if (!at) {
		skip(ld, k, NULL, "no '@' in the key (<prefix>acct:<user>@<domain>)");
		return 0;
	}
	user = sv_range(k->str + plen, at);
	domain = sv_range(at + 1, k->str + k->len);
	for (size_t i = 0; i < h->elements; i += 2) {
		const redisReply *f = h->element[i], *v = h->element[i + 1];
		struct sv name;

		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
			skip(ld, k, NULL, "unexpected reply to HGETALL");
			return 0;
		}
		name = sv_make(f->str, (size_t)f->len);
		why = NULL;
		if (sv_eq(name, SV_LIT("password"))) {
			pw = sv_make(v->str, (size_t)v->len);
			if (!pw.len)
				why = "must not be empty"; /* the builder would take it as none */
		} else if (sv_eq(name, SV_LIT("ha1_md5"))) {
			why = unhex(v, md5, sizeof(md5));
			has_md5 = true;
		} else if (sv_eq(name, SV_LIT("ha1_sha256"))) {
			why = unhex(v, sha, sizeof(sha));
			has_sha = true;
		} /* other fields belong to whoever wrote them */
		if (why) {
			char s[SHOW_MAX + 4];

			skip(ld, k, show(s, f->str, (size_t)f->len), why);
			return 0;
		}
	}
	ret = accounts_builder_add(ld->b, user, domain, pw, has_md5 ? md5 : NULL,
				   has_sha ? sha : NULL, msg, sizeof(msg));
	if (ret == -EINVAL) {
		skip(ld, k, NULL, msg);
		return 0;
	}
	if (ret) {
		char s[SHOW_MAX + 4];

		set_err(ld, "%s: %s", show(s, k->str, (size_t)k->len), strerror(-ret));
	}
	return ret;
}

/* The keys of one SCAN page: HGETALL them, BATCH at a time. */
static int load_keys(struct ld *ld, size_t plen, const redisReply *keys)
{
	for (size_t base = 0; base < keys->elements; base += BATCH) {
		size_t n = keys->elements - base < BATCH ? keys->elements - base : BATCH;

		for (size_t i = 0; i < n; i++) {
			const redisReply *k = keys->element[base + i];

			if (redisAppendCommand(ld->c, "HGETALL %b", k->str, (size_t)k->len) !=
			    REDIS_OK)
				return io_err(ld, "HGETALL");
		}
		for (size_t i = 0; i < n; i++) {
			redisReply *h = NULL;
			int ret;

			if (redisGetReply(ld->c, (void **)&h) != REDIS_OK || !h)
				return io_err(ld, "HGETALL");
			ret = one_account(ld, plen, keys->element[base + i], h);
			freeReplyObject(h);
			if (ret)
				return ret; /* the context is dropped: the replies left do not matter */
		}
	}
	return 0;
}

static int scan(struct ld *ld, const char *prefix)
{
	char pattern[2 * ACCOUNTS_REDIS_PREFIX_MAX + 16], cursor[32] = "0";
	size_t pl = 0, plen = strlen(prefix) + strlen("acct:");

	/* The prefix with its glob characters escaped, then "acct:*". */
	for (const char *p = prefix; *p; p++) {
		if (strchr("*?[]\\", *p))
			pattern[pl++] = '\\';
		pattern[pl++] = *p;
	}
	memcpy(pattern + pl, "acct:*", sizeof("acct:*"));
	do {
		redisReply *r = redisCommand(ld->c, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
		int ret;

		if (!r)
			return io_err(ld, "SCAN");
		ret = reply_ok(ld, r, "SCAN");
		if (!ret && (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
			     r->element[0]->type != REDIS_REPLY_STRING ||
			     r->element[0]->len >= (int)sizeof(cursor) ||
			     r->element[1]->type != REDIS_REPLY_ARRAY)) {
			set_err(ld, "redis SCAN: unexpected reply");
			ret = -EPROTO;
		}
		if (!ret) {
			memcpy(cursor, r->element[0]->str, (size_t)r->element[0]->len + 1);
			ret = load_keys(ld, plen, r->element[1]);
		}
		freeReplyObject(r);
		if (ret)
			return ret;
	} while (strcmp(cursor, "0"));
	return 0;
}

static int connect_to(struct ld *ld, const struct accounts_redis_config *cfg, uint32_t ms)
{
	struct timeval tv = { ms / 1000, (long)(ms % 1000) * 1000 };
	uint16_t port = cfg->port ? cfg->port : DEFAULT_PORT;
	int e;

	errno = 0;
	ld->c = cfg->unix_path ? redisConnectUnixWithTimeout(cfg->unix_path, tv)
			       : redisConnectWithTimeout(cfg->host, port, tv);
	e = errno;
	if (!ld->c) {
		set_err(ld, "redis: out of memory");
		return -ENOMEM;
	}
	if (ld->c->err) {
		bool late = e == ETIMEDOUT || strstr(ld->c->errstr, "timed out");

		if (cfg->unix_path)
			set_err(ld, "redis %s: connect: %s", cfg->unix_path, ld->c->errstr);
		else
			set_err(ld, "redis %s:%u: connect: %s", cfg->host, port, ld->c->errstr);
		return late ? -ETIMEDOUT : -ECONNREFUSED;
	}
	if (redisSetTimeout(ld->c, tv) != REDIS_OK)
		return io_err(ld, "timeout");
	if (cfg->password) {
		int ret = simple_cmd(ld, "AUTH", "AUTH %s", cfg->password);

		if (ret)
			return ret;
	}
	return cfg->db ? simple_cmd(ld, "SELECT", "SELECT %u", cfg->db) : 0;
}

int accounts_redis_load(const struct accounts_redis_config *cfg, struct accounts **out,
			size_t *skipped, char *err, size_t errlen)
{
	struct ld ld = { .err = err, .errlen = errlen };
	const char *prefix = cfg->prefix ? cfg->prefix : DEFAULT_PREFIX;
	int ret;

	*out = NULL;
	if (skipped)
		*skipped = 0;
	if (err && errlen)
		err[0] = '\0';
	if (!cfg->host && !cfg->unix_path) {
		set_err(&ld, "redis: neither host nor unix_path given");
		return -EINVAL;
	}
	if (strlen(prefix) > ACCOUNTS_REDIS_PREFIX_MAX) {
		set_err(&ld, "redis: the prefix is longer than %u octets",
			ACCOUNTS_REDIS_PREFIX_MAX);
		return -EINVAL;
	}
	ret = accounts_builder_new(&ld.b);
	if (ret) {
		set_err(&ld, "redis: out of memory");
		return ret;
	}
	ret = connect_to(&ld, cfg, cfg->timeout_ms ? cfg->timeout_ms : DEFAULT_TIMEOUT);
	if (!ret)
		ret = scan(&ld, prefix);
	if (ld.c)
		redisFree(ld.c);
	if (ret) {
		accounts_builder_free(ld.b);
		return ret;
	}
	ret = accounts_builder_finish(ld.b, out);
	if (ret) {
		set_err(&ld, "redis: out of memory");
		return ret;
	}
	if (skipped)
		*skipped = ld.skipped;
	return (int)accounts_count(*out);
}
