/* SPDX-License-Identifier: MIT */
/* suspend_redis.c: see suspend_redis.h. */
#include "suspend_redis.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#define PREFIX_MAX 64
#define DELTAS	   256	  /* taken per batch */
#define INDEX_MAX  100000 /* suspensions read back per round */

/*
 * One key's delta, atomically. KEYS: count, suspension, index. ARGV: reset
 * ("1"/"0"), failures to add, retry, now, suspend ms, window ms, the end if
 * it suspends now, the index member. Returns {count, end (0 = none)}.
 */
static const char script[] = "if ARGV[1] == '1' then redis.call('DEL', KEYS[1]) end\n"
			     "local u = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
			     "if u > tonumber(ARGV[4]) then return {0, u} end\n"
			     "local n = tonumber(ARGV[2])\n"
			     "if n == 0 then return {0, 0} end\n"
			     "local c = redis.call('HINCRBY', KEYS[1], 'failures', n)\n"
			     "redis.call('PEXPIRE', KEYS[1], ARGV[6])\n"
			     "if c < tonumber(ARGV[3]) then return {c, 0} end\n"
			     "redis.call('SET', KEYS[2], ARGV[7], 'PX', ARGV[5])\n"
			     "redis.call('ZADD', KEYS[3], ARGV[7], ARGV[8])\n"
			     "if redis.call('PTTL', KEYS[3]) < tonumber(ARGV[5]) then\n"
			     "  redis.call('PEXPIRE', KEYS[3], ARGV[5])\n"
			     "end\n"
			     "redis.call('DEL', KEYS[1])\n"
			     "return {c, tonumber(ARGV[7])}\n";

struct suspend_redis {
	struct suspend_redis_config cfg;
	struct suspend *s;
	char prefix[PREFIX_MAX + 1];

	pthread_mutex_t lock; /* the context and the failing state */
	redisContext *rc;
	bool failing;

	pthread_mutex_t tlock; /* the thread */
	pthread_cond_t wake;
	pthread_t thread;
	bool running, stopping;

	struct suspend_delta d[DELTAS];
};

static void logf_(struct suspend_redis *sr, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void logf_(struct suspend_redis *sr, int level, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sr->cfg.log)
		sr->cfg.log(sr->cfg.log_arg, level, msg);
	else
		fprintf(stderr, "sipring suspend: %s\n", msg);
}

int suspend_redis_create(struct suspend_redis **out, const struct suspend_redis_config *cfg,
			 struct suspend *s)
{
	*out = NULL;
	if (!cfg || !s || (!cfg->redis_host && !cfg->redis_unix))
		return -EINVAL;
	const char *prefix = cfg->prefix ? cfg->prefix : "sipring:";
	if (strlen(prefix) > PREFIX_MAX)
		return -EINVAL;
	struct suspend_redis *sr = calloc(1, sizeof(*sr));
	if (!sr)
		return -ENOMEM;
	sr->cfg = *cfg;
	sr->s = s;
	strcpy(sr->prefix, prefix);
	sr->cfg.prefix = sr->prefix;
	if (!sr->cfg.redis_port)
		sr->cfg.redis_port = 6379;
	if (!sr->cfg.timeout_ms)
		sr->cfg.timeout_ms = 200;
	if (!sr->cfg.interval_ms)
		sr->cfg.interval_ms = 500;
	pthread_mutex_init(&sr->lock, NULL);
	pthread_mutex_init(&sr->tlock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sr->wake, &ca);
	pthread_condattr_destroy(&ca);
	suspend_track(s, true);
	*out = sr;
	return 0;
}

/* ---- the connection (sr->lock held) ---- */

static void drop(struct suspend_redis *sr)
{
	if (sr->rc)
		redisFree(sr->rc);
	sr->rc = NULL;
}

/* The error of a failed call on rc, read at once (hiredis leaves the
 * system's errno in place for an I/O error). */
static int reply_err(redisContext *rc)
{
	int e = errno;
	if (rc->err == REDIS_ERR_IO && e)
		return e == EAGAIN || e == EWOULDBLOCK || e == EINPROGRESS ? -ETIMEDOUT : -e;
	if (rc->err == REDIS_ERR_EOF)
		return -ECONNRESET;
	return -EIO;
}

/* A command and its reply, for the handshake. */
static int simple(struct suspend_redis *sr, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(sr->rc, fmt, ap);
	va_end(ap);
	if (!r)
		return reply_err(sr->rc);
	int ret = r->type == REDIS_REPLY_ERROR ? -EPROTO : 0;
	freeReplyObject(r);
	return ret;
}

static int connect_(struct suspend_redis *sr)
{
	if (sr->rc)
		return 0;
	struct timeval tv = { .tv_sec = sr->cfg.timeout_ms / 1000,
			      .tv_usec = (sr->cfg.timeout_ms % 1000) * 1000 };
	sr->rc = sr->cfg.redis_unix
			 ? redisConnectUnixWithTimeout(sr->cfg.redis_unix, tv)
			 : redisConnectWithTimeout(sr->cfg.redis_host, sr->cfg.redis_port, tv);
	if (!sr->rc)
		return -ENOMEM;
	int ret = 0;
	if (sr->rc->err)
		ret = reply_err(sr->rc);
	else if (redisSetTimeout(sr->rc, tv) != REDIS_OK)
		ret = -EIO;
	else if (sr->cfg.redis_password)
		ret = simple(sr, "AUTH %s", sr->cfg.redis_password);
	if (!ret && sr->cfg.redis_db)
		ret = simple(sr, "SELECT %u", sr->cfg.redis_db);
	if (ret)
		drop(sr);
	return ret;
}

/* A round's outcome, logged when failing starts and when it ends. */
static int outcome(struct suspend_redis *sr, int ret)
{
	if (ret < 0) {
		drop(sr);
		if (!sr->failing)
			logf_(sr, SUSPEND_REDIS_LOG_WARNING,
			      "redis: %s; suspensions are counted on this node only",
			      strerror(-ret));
		sr->failing = true;
	} else if (sr->failing) {
		logf_(sr, SUSPEND_REDIS_LOG_INFO,
		      "redis: back; suspensions counted in the cluster");
		sr->failing = false;
	}
	return ret;
}

/* ---- a round ---- */

static uint64_t reply_u64(const redisReply *r)
{
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer > 0 ? (uint64_t)r->integer : 0;
	if (r->type == REDIS_REPLY_STRING)
		return (uint64_t)strtod(r->str, NULL); /* scores come as "1.7e12" or digits */
	return 0;
}

/* Send the scripts of n deltas, read their replies, merge them. */
static int push(struct suspend_redis *sr, const struct suspend_conf *c, size_t n, uint64_t now_ms)
{
	uint64_t susp_ms = (uint64_t)c->suspend_s * 1000;
	uint64_t window =
		sr->cfg.window_ms ? sr->cfg.window_ms : (susp_ms > 600000 ? susp_ms : 600000);
	char num[5][24];
	snprintf(num[0], sizeof(num[0]), "%u", c->retry);
	snprintf(num[1], sizeof(num[1]), "%" PRIu64, now_ms);
	snprintf(num[2], sizeof(num[2]), "%" PRIu64, susp_ms ? susp_ms : 1);
	snprintf(num[3], sizeof(num[3]), "%" PRIu64, window);
	snprintf(num[4], sizeof(num[4]), "%" PRIu64, now_ms + susp_ms);
	for (size_t i = 0; i < n; i++) {
		const struct suspend_delta *d = &sr->d[i];
		char fail[16];
		snprintf(fail, sizeof(fail), "%u", d->failures);
		if (redisAppendCommand(sr->rc,
				       "EVAL %s 3 %ssusp:%s %ssuspended:%s %ssuspended "
				       "%s %s %s %s %s %s %s %b",
				       script, sr->prefix, d->key, sr->prefix, d->key, sr->prefix,
				       d->reset ? "1" : "0", fail, num[0], num[1], num[2], num[3],
				       num[4], d->key, strlen(d->key)) != REDIS_OK)
			return -ENOMEM;
	}
	int ret = 0;
	for (size_t i = 0; i < n; i++) {
		redisReply *r = NULL;
		if (redisGetReply(sr->rc, (void **)&r) != REDIS_OK)
			return reply_err(sr->rc);
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
			uint64_t count = reply_u64(r->element[0]);
			uint64_t until = reply_u64(r->element[1]);
			if (count || until)
				suspend_apply_remote(sr->s, sr->d[i].key,
						     count > UINT32_MAX ? UINT32_MAX
									: (unsigned)count,
						     until, now_ms);
		} else if (!ret) {
			ret = -EPROTO;
		}
		freeReplyObject(r);
	}
	return ret;
}

/* Prune the index and merge what it holds; returns how many it holds. */
static int pull(struct suspend_redis *sr, const struct suspend_conf *c, uint64_t now_ms)
{
	if (redisAppendCommand(sr->rc, "ZREMRANGEBYSCORE %ssuspended -inf %" PRIu64, sr->prefix,
			       now_ms) != REDIS_OK ||
	    redisAppendCommand(sr->rc,
			       "ZRANGEBYSCORE %ssuspended (%" PRIu64 " +inf WITHSCORES LIMIT 0 %d",
			       sr->prefix, now_ms, INDEX_MAX) != REDIS_OK)
		return -ENOMEM;
	redisReply *r = NULL;
	if (redisGetReply(sr->rc, (void **)&r) != REDIS_OK)
		return reply_err(sr->rc);
	freeReplyObject(r);
	if (redisGetReply(sr->rc, (void **)&r) != REDIS_OK)
		return reply_err(sr->rc);
	int ret;
	if (r->type != REDIS_REPLY_ARRAY) {
		ret = -EPROTO;
	} else {
		for (size_t i = 0; i + 1 < r->elements; i += 2) {
			const redisReply *m = r->element[i];
			if (m->type != REDIS_REPLY_STRING || m->len > SUSPEND_KEY_MAX ||
			    memchr(m->str, 0, m->len))
				continue;
			suspend_apply_remote(sr->s, m->str, c->retry, reply_u64(r->element[i + 1]),
					     now_ms);
		}
		ret = (int)(r->elements / 2);
	}
	freeReplyObject(r);
	return ret;
}

int suspend_redis_sync(struct suspend_redis *sr, uint64_t now_ms)
{
	struct suspend_conf c;
	suspend_get_conf(sr->s, &c);
	pthread_mutex_lock(&sr->lock);
	errno = 0;
	int ret = connect_(sr);
	size_t n;
	do {
		/* Taken even when Redis is down: the deltas then are dropped,
		 * not piled up. */
		n = suspend_take_pending(sr->s, sr->d, DELTAS);
		if (!ret && n)
			ret = push(sr, &c, n, now_ms);
	} while (n == DELTAS);
	if (!ret)
		ret = pull(sr, &c, now_ms);
	ret = outcome(sr, ret);
	pthread_mutex_unlock(&sr->lock);
	return ret;
}

int suspend_redis_clear(struct suspend_redis *sr, const char *key)
{
	pthread_mutex_lock(&sr->lock);
	errno = 0;
	int ret = connect_(sr);
	if (!ret) {
		size_t len = strlen(key);
		if (redisAppendCommand(sr->rc, "DEL %ssusp:%b %ssuspended:%b", sr->prefix, key, len,
				       sr->prefix, key, len) != REDIS_OK ||
		    redisAppendCommand(sr->rc, "ZREM %ssuspended %b", sr->prefix, key, len) !=
			    REDIS_OK)
			ret = -ENOMEM;
		for (int i = 0; i < 2 && !ret; i++) {
			redisReply *r = NULL;
			if (redisGetReply(sr->rc, (void **)&r) != REDIS_OK) {
				ret = reply_err(sr->rc);
				break;
			}
			if (r->type == REDIS_REPLY_ERROR)
				ret = -EPROTO;
			freeReplyObject(r);
		}
	}
	ret = outcome(sr, ret);
	pthread_mutex_unlock(&sr->lock);
	return ret < 0 ? ret : 0;
}

/* ---- the thread ---- */

static uint64_t realtime_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *run(void *arg)
{
	struct suspend_redis *sr = arg;
	pthread_mutex_lock(&sr->tlock);
	while (!sr->stopping) {
		pthread_mutex_unlock(&sr->tlock);
		suspend_redis_sync(sr, realtime_ms());
		pthread_mutex_lock(&sr->tlock);
		struct timespec at;
		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_sec += sr->cfg.interval_ms / 1000;
		at.tv_nsec += (long)(sr->cfg.interval_ms % 1000) * 1000000;
		if (at.tv_nsec >= 1000000000) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000;
		}
		while (!sr->stopping &&
		       pthread_cond_timedwait(&sr->wake, &sr->tlock, &at) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&sr->tlock);
	return NULL;
}

int suspend_redis_start(struct suspend_redis *sr)
{
	pthread_mutex_lock(&sr->tlock);
	int ret = 0;
	if (sr->running) {
		ret = -EALREADY;
	} else {
		sr->stopping = false;
		ret = -pthread_create(&sr->thread, NULL, run, sr);
		sr->running = ret == 0;
	}
	pthread_mutex_unlock(&sr->tlock);
	return ret;
}

void suspend_redis_stop(struct suspend_redis *sr)
{
	pthread_mutex_lock(&sr->tlock);
	bool running = sr->running;
	sr->stopping = true;
	pthread_cond_signal(&sr->wake);
	pthread_mutex_unlock(&sr->tlock);
	if (running)
		pthread_join(sr->thread, NULL);
	pthread_mutex_lock(&sr->tlock);
	sr->running = false;
	pthread_mutex_unlock(&sr->tlock);
}

void suspend_redis_destroy(struct suspend_redis *sr)
{
	if (!sr)
		return;
	suspend_redis_stop(sr);
	suspend_track(sr->s, false);
	drop(sr);
	pthread_cond_destroy(&sr->wake);
	pthread_mutex_destroy(&sr->tlock);
	pthread_mutex_destroy(&sr->lock);
	free(sr);
}
