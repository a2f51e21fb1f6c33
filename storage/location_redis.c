/* SPDX-License-Identifier: MIT */
/* location_redis.c: see location_redis.h. */
#define _GNU_SOURCE /* memrchr */
#include "location_redis.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "resp.h"

#define PREFIX_MAX 64
#define DTOMB	   ((char *)(uintptr_t)1)

enum rstate { RS_DOWN, RS_CONNECTING, RS_HANDSHAKE, RS_READY };

/* A transaction in flight: the AORs it writes (owned, "u16 length, octets"). */
struct batch {
	char **aors;
	uint32_t naors;
	uint32_t replies; /* still to come, EXEC's last */
	uint32_t writes, dels;
};

struct location_redis {
	struct location_redis_config cfg;
	struct location *t;
	char prefix[PREFIX_MAX + 8]; /* "<prefix>loc:" */
	size_t prefix_len;

	/* the dirty AORs: open addressing, entries "u16 length, octets", NULL or DTOMB */
	char **ds;
	uint64_t ds_cap, ds_n, ds_tombs, ds_cur;
	bool loading;	 /* location_redis_load() is filling the table: not dirty */
	bool lost_dirty; /* a dirty mark could not be kept: resynchronise */

	bool resync_on, skip_resync;
	uint64_t resync_cur, resync_gen;

	enum rstate rs;
	redisContext *rc;
	int64_t deadline_ms, retry_at_ms;
	uint32_t backoff_ms;
	bool failing, ever_connected;
	unsigned hs_n;

	struct batch *q;
	uint32_t q_head, q_n;

	struct resp_out out;
	char *enc; /* scratch for one value */
	size_t enc_cap;

	struct {
		_Atomic uint64_t dirty, written, deleted, batches, connects, resyncs, redis_errors,
			loaded, load_expired, load_bad;
		_Atomic bool connected, synced;
	} st;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cnt_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static void llog(struct location_redis *lr, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void llog(struct location_redis *lr, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (lr->cfg.log)
		lr->cfg.log(lr->cfg.log_arg, level, msg);
	else
		fprintf(stderr, "sipring location: %s\n", msg);
}

/* ---- the dirty set ---- */

static uint32_t hash_sv(struct sv s)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < s.len; i++)
		h = (h ^ (uint8_t)s.p[i]) * 16777619u;
	return h;
}

static struct sv dent_sv(const char *e)
{
	uint16_t n;

	memcpy(&n, e, 2);
	return sv_make(e + 2, n);
}

static char *dent_new(struct sv s)
{
	char *e = malloc(2 + s.len);
	uint16_t n = (uint16_t)s.len;

	if (e) {
		memcpy(e, &n, 2);
		memcpy(e + 2, s.p, s.len);
	}
	return e;
}

static int ds_grow(struct location_redis *lr)
{
	uint64_t nc = lr->ds_cap ? lr->ds_cap : 1024;
	char **n;

	if ((lr->ds_n + 1) * 2 > nc)
		nc *= 2;
	n = calloc(nc, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (uint64_t i = 0; i < lr->ds_cap; i++) {
		char *e = lr->ds[i];
		uint64_t j;

		if (!e || e == DTOMB)
			continue;
		for (j = hash_sv(dent_sv(e)) & (nc - 1); n[j]; j = (j + 1) & (nc - 1))
			;
		n[j] = e;
	}
	free(lr->ds);
	lr->ds = n;
	lr->ds_cap = nc;
	lr->ds_tombs = 0;
	lr->ds_cur = 0;
	return 0;
}

/* Take ownership of e (when not NULL) or copy aor; mark it dirty. */
static int ds_add(struct location_redis *lr, struct sv aor, char *e)
{
	uint64_t i, free_at = UINT64_MAX;

	if ((lr->ds_n + lr->ds_tombs + 1) * 4 > lr->ds_cap * 3 && ds_grow(lr)) {
		free(e);
		return -ENOMEM;
	}
	for (i = hash_sv(aor) & (lr->ds_cap - 1);; i = (i + 1) & (lr->ds_cap - 1)) {
		char *c = lr->ds[i];

		if (!c)
			break;
		if (c == DTOMB) {
			if (free_at == UINT64_MAX)
				free_at = i;
		} else if (sv_eq(dent_sv(c), aor)) {
			free(e);
			return 0;
		}
	}
	if (!e && !(e = dent_new(aor)))
		return -ENOMEM;
	if (free_at != UINT64_MAX) {
		i = free_at;
		lr->ds_tombs--;
	}
	lr->ds[i] = e;
	lr->ds_n++;
	atomic_store_explicit(&lr->st.dirty, lr->ds_n, memory_order_relaxed);
	return 0;
}

/* Take any dirty AOR out of the set (the caller owns it), or NULL. */
static char *ds_take(struct location_redis *lr)
{
	if (!lr->ds_n)
		return NULL;
	for (;; lr->ds_cur = (lr->ds_cur + 1) & (lr->ds_cap - 1)) {
		char *e = lr->ds[lr->ds_cur];

		if (e && e != DTOMB) {
			lr->ds[lr->ds_cur] = DTOMB;
			lr->ds_tombs++;
			lr->ds_n--;
			atomic_store_explicit(&lr->st.dirty, lr->ds_n, memory_order_relaxed);
			return e;
		}
	}
}

static void on_change(void *arg, struct sv aor)
{
	struct location_redis *lr = arg;

	if (lr->loading)
		return;
	if (ds_add(lr, aor, NULL))
		lr->lost_dirty = true;
}

/* ---- the CSV value ---- */

static const char *const tp_names[] = { "", "udp", "tcp", "tls", "ws", "wss", "sctp" };

struct wbuf {
	char *p;
	size_t len, cap;
	bool over;
};

static void w_raw(struct wbuf *w, const char *s, size_t n)
{
	if (!n)
		return;
	if (w->len + n > w->cap) {
		w->over = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void w_str(struct wbuf *w, struct sv s, bool comma)
{
	bool quote = false;

	for (size_t i = 0; i < s.len && !quote; i++)
		quote = s.p[i] == ',' || s.p[i] == '"' || s.p[i] == '\r' || s.p[i] == '\n';
	if (comma)
		w_raw(w, ",", 1);
	if (!quote) {
		w_raw(w, s.p, s.len);
		return;
	}
	w_raw(w, "\"", 1);
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] == '"')
			w_raw(w, "\"", 1);
		w_raw(w, s.p + i, 1);
	}
	w_raw(w, "\"", 1);
}

static void w_num(struct wbuf *w, long long v)
{
	char n[24];
	int k = snprintf(n, sizeof(n), ",%lld", v);

	w_raw(w, n, (size_t)k);
}

int location_redis_encode(const struct location_binding *b, char *buf, size_t cap)
{
	struct wbuf w = { buf, 0, cap, false };
	char ip[INET6_ADDRSTRLEN + 16] = "";

	if (b->src.family == AF_INET || b->src.family == AF_INET6) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(b->src.family, b->src.addr, a, sizeof(a));
		snprintf(ip, sizeof(ip), b->src.family == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
			 b->src.port);
	}
	w_str(&w, b->contact, false);
	w_num(&w, b->expires_ms);
	w_str(&w, b->call_id, true);
	w_num(&w, b->cseq);
	w_num(&w, b->q);
	w_str(&w, sv_cstr(ip), true);
	w_str(&w,
	      sv_cstr(b->src.transport < sizeof(tp_names) / sizeof(tp_names[0])
			      ? tp_names[b->src.transport]
			      : ""),
	      true);
	w_num(&w, b->src.worker);
	w_num(&w, (long long)b->src.conn);
	w_str(&w, b->path, true);
	w_str(&w, b->instance, true);
	w_num(&w, b->reg_id);
	w_str(&w, b->user_agent, true);
	return w.over ? -ENOSPC : (int)w.len;
}

#define NCOLS 13

/* Split an RFC 4180 line into up to NCOLS columns, unquoted into scratch. */
static int csv_split(struct sv v, struct sv *col, char *scratch, size_t cap)
{
	const char *p = v.p, *end = v.p + v.len;
	size_t o = 0;
	int n = 0;

	if (cap < v.len)
		return -EBADMSG;
	for (;;) {
		char *start = scratch + o;

		if (p < end && *p == '"') {
			p++;
			for (;;) {
				if (p >= end)
					return -EBADMSG;
				if (*p == '"') {
					if (p + 1 < end && p[1] == '"') {
						scratch[o++] = '"';
						p += 2;
						continue;
					}
					p++;
					break;
				}
				scratch[o++] = *p++;
			}
		} else {
			while (p < end && *p != ',')
				scratch[o++] = *p++;
		}
		if (n < NCOLS)
			col[n] = sv_make(start, (size_t)(scratch + o - start));
		n++;
		if (p >= end)
			break;
		if (*p != ',')
			return -EBADMSG;
		p++;
	}
	return n;
}

static bool num(struct sv s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s.len || s.len > 19)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s.p[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_src(struct sv s, struct location_source *src)
{
	char a[INET6_ADDRSTRLEN + 1];
	const char *colon;
	struct sv host, port;
	uint64_t pv;

	if (!s.len)
		return true;
	colon = memrchr(s.p, ':', s.len);
	if (!colon)
		return false;
	host = sv_range(s.p, colon);
	port = sv_range(colon + 1, s.p + s.len);
	if (host.len >= 2 && host.p[0] == '[' && host.p[host.len - 1] == ']') {
		host = sv_make(host.p + 1, host.len - 2);
		src->family = AF_INET6;
	} else {
		src->family = AF_INET;
	}
	if (host.len >= sizeof(a) || !num(port, 65535, &pv))
		return false;
	memcpy(a, host.p, host.len);
	a[host.len] = '\0';
	if (inet_pton(src->family, a, src->addr) != 1)
		return false;
	src->port = (uint16_t)pv;
	return true;
}

int location_redis_decode(struct sv value, struct sv aor, struct location_binding *b, char *scratch,
			  size_t cap)
{
	struct sv c[NCOLS];
	uint64_t exp, cseq, q, worker, conn, reg;
	int n = csv_split(value, c, scratch, cap);

	if (n < NCOLS)
		return -EBADMSG;
	memset(b, 0, sizeof(*b));
	if (!num(c[1], INT64_MAX, &exp) || !num(c[3], UINT32_MAX, &cseq) || !num(c[4], 1000, &q) ||
	    !num(c[7], 65535, &worker) || !num(c[8], UINT64_MAX, &conn) ||
	    !num(c[11], UINT32_MAX, &reg) || !parse_src(c[5], &b->src) || !c[0].len)
		return -EBADMSG;
	b->src.transport = LOCATION_TP_NONE;
	for (unsigned i = 1; i < sizeof(tp_names) / sizeof(tp_names[0]); i++)
		if (sv_eq(c[6], sv_cstr(tp_names[i])))
			b->src.transport = (uint8_t)i;
	b->aor = aor;
	b->contact = c[0];
	b->expires_ms = (int64_t)exp;
	b->call_id = c[2];
	b->cseq = (uint32_t)cseq;
	b->q = (uint16_t)q;
	b->src.worker = (uint16_t)worker;
	b->src.conn = conn;
	b->path = c[9];
	b->instance = c[10];
	b->reg_id = (uint32_t)reg;
	b->user_agent = c[12];
	return 0;
}

/* ---- creation ---- */

int location_redis_create(struct location_redis **out, const struct location_redis_config *cfg,
			  struct location *t)
{
	struct location_redis *lr;
	struct location_redis_config c = *cfg;
	const char *prefix = c.prefix ? c.prefix : "sipring:";

	if ((!c.redis_host && !c.redis_unix) || strlen(prefix) > PREFIX_MAX)
		return -EINVAL;
	if (!c.redis_port)
		c.redis_port = 6379;
	if (!c.batch)
		c.batch = 128;
	if (!c.inflight)
		c.inflight = 8;
	if (!c.connect_timeout_ms)
		c.connect_timeout_ms = 2000;
	if (!c.reply_timeout_ms)
		c.reply_timeout_ms = 10000;
	if (!c.reconnect_min_ms)
		c.reconnect_min_ms = 100;
	if (!c.reconnect_max_ms)
		c.reconnect_max_ms = 5000;
	if (c.reconnect_max_ms < c.reconnect_min_ms)
		c.reconnect_max_ms = c.reconnect_min_ms;
	if (!c.poll_ms)
		c.poll_ms = 5;
	lr = calloc(1, sizeof(*lr));
	if (!lr)
		return -ENOMEM;
	lr->out.first_cap = 64 * 1024;
	c.redis_host = c.redis_host ? strdup(c.redis_host) : NULL;
	c.redis_unix = c.redis_unix ? strdup(c.redis_unix) : NULL;
	c.redis_password = c.redis_password ? strdup(c.redis_password) : NULL;
	c.prefix = NULL;
	lr->cfg = c;
	lr->t = t;
	lr->prefix_len = (size_t)snprintf(lr->prefix, sizeof(lr->prefix), "%sloc:", prefix);
	lr->q = calloc(c.inflight, sizeof(*lr->q));
	if ((cfg->redis_host && !c.redis_host) || (cfg->redis_unix && !c.redis_unix) ||
	    (cfg->redis_password && !c.redis_password) || !lr->q || ds_grow(lr)) {
		lr->t = NULL;
		location_redis_destroy(lr);
		return -ENOMEM;
	}
	lr->rs = RS_DOWN;
	lr->backoff_ms = c.reconnect_min_ms;
	location_set_listener(t, on_change, lr);
	*out = lr;
	return 0;
}

static void batch_free(struct batch *b)
{
	for (uint32_t i = 0; i < b->naors; i++)
		free(b->aors[i]);
	free(b->aors);
	*b = (struct batch){ 0 };
}

void location_redis_destroy(struct location_redis *lr)
{
	if (!lr)
		return;
	if (lr->t)
		location_set_listener(lr->t, NULL, NULL);
	if (lr->rc)
		redisFree(lr->rc);
	for (uint32_t i = 0; lr->q && i < lr->q_n; i++)
		batch_free(&lr->q[(lr->q_head + i) % lr->cfg.inflight]);
	for (uint64_t i = 0; i < lr->ds_cap; i++)
		if (lr->ds[i] != DTOMB)
			free(lr->ds[i]);
	free(lr->ds);
	free(lr->q);
	resp_out_free(&lr->out);
	free(lr->enc);
	free((char *)lr->cfg.redis_host);
	free((char *)lr->cfg.redis_unix);
	free((char *)lr->cfg.redis_password);
	free(lr);
}

/* ---- the connection ---- */

static int resp_key(struct location_redis *lr, struct sv aor)
{
	if (resp_hdr(&lr->out, '$', lr->prefix_len + aor.len) ||
	    resp_out_append(&lr->out, lr->prefix, lr->prefix_len) ||
	    resp_out_append(&lr->out, aor.p, aor.len) || resp_out_append(&lr->out, "\r\n", 2))
		return -ENOMEM;
	return 0;
}

/* Forget the connection; the AORs in flight are dirty again. */
static void redis_drop(struct location_redis *lr)
{
	if (lr->rc)
		redisFree(lr->rc);
	lr->rc = NULL;
	while (lr->q_n) {
		struct batch *b = &lr->q[lr->q_head];

		for (uint32_t i = 0; i < b->naors; i++) {
			char *e = b->aors[i];

			b->aors[i] = NULL;
			if (ds_add(lr, dent_sv(e), e))
				lr->lost_dirty = true;
		}
		batch_free(b);
		lr->q_head = (lr->q_head + 1) % lr->cfg.inflight;
		lr->q_n--;
	}
	lr->q_head = 0;
	lr->hs_n = 0;
	resp_out_reset(&lr->out);
	lr->rs = RS_DOWN;
	atomic_store_explicit(&lr->st.connected, false, memory_order_relaxed);
}

static void redis_fail(struct location_redis *lr, int64_t now, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void redis_fail(struct location_redis *lr, int64_t now, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	redis_drop(lr);
	cnt_add(&lr->st.redis_errors, 1);
	lr->retry_at_ms = now + lr->backoff_ms;
	if (!lr->failing)
		llog(lr, LOCATION_LOG_WARNING, "redis: %s; registrations go on in memory, retrying",
		     msg);
	lr->failing = true;
	lr->backoff_ms = lr->backoff_ms * 2 > lr->cfg.reconnect_max_ms ? lr->cfg.reconnect_max_ms
								       : lr->backoff_ms * 2;
}

static void redis_connect(struct location_redis *lr, int64_t now)
{
	if (lr->cfg.redis_unix)
		lr->rc = redisConnectUnixNonBlock(lr->cfg.redis_unix);
	else
		lr->rc = redisConnectNonBlock(lr->cfg.redis_host, lr->cfg.redis_port);
	if (!lr->rc) {
		redis_fail(lr, now, "connect: out of memory");
		return;
	}
	if (lr->rc->err) {
		redis_fail(lr, now, "connect: %s", lr->rc->errstr);
		return;
	}
	lr->rs = RS_CONNECTING;
	lr->deadline_ms = now + lr->cfg.connect_timeout_ms;
}

static void redis_handshake(struct location_redis *lr, int64_t now)
{
	int err = 0, r = 0;
	socklen_t len = sizeof(err);
	char db[16];

	if (getsockopt(lr->rc->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err) {
		redis_fail(lr, now, "connect: %s", strerror(err));
		return;
	}
	lr->hs_n = 0;
	if (lr->cfg.redis_password) {
		r |= resp_hdr(&lr->out, '*', 2) || resp_bulk(&lr->out, "AUTH", 4) ||
		     resp_bulk(&lr->out, lr->cfg.redis_password, strlen(lr->cfg.redis_password));
		lr->hs_n++;
	}
	if (lr->cfg.redis_db) {
		int n = snprintf(db, sizeof(db), "%u", lr->cfg.redis_db);

		r |= resp_hdr(&lr->out, '*', 2) || resp_bulk(&lr->out, "SELECT", 6) ||
		     resp_bulk(&lr->out, db, (size_t)n);
		lr->hs_n++;
	}
	r |= resp_hdr(&lr->out, '*', 1) || resp_bulk(&lr->out, "PING", 4);
	lr->hs_n++;
	if (r) {
		redis_fail(lr, now, "out of memory");
		return;
	}
	lr->rs = RS_HANDSHAKE;
	lr->deadline_ms = now + lr->cfg.reply_timeout_ms;
}

static void resync_start(struct location_redis *lr)
{
	lr->resync_on = true;
	lr->resync_cur = 0;
	lr->resync_gen = location_resizes(lr->t);
	lr->lost_dirty = false;
	cnt_add(&lr->st.resyncs, 1);
}

static void hs_reply(struct location_redis *lr, int64_t now, redisReply *rep)
{
	if (rep->type == REDIS_REPLY_ERROR) {
		redis_fail(lr, now, "handshake: %s", rep->str);
		return;
	}
	if (--lr->hs_n)
		return;
	lr->rs = RS_READY;
	lr->backoff_ms = lr->cfg.reconnect_min_ms;
	cnt_add(&lr->st.connects, 1);
	atomic_store_explicit(&lr->st.connected, true, memory_order_relaxed);
	if (lr->failing || !lr->ever_connected) {
		struct location_counts c;

		location_counts(lr->t, &c);
		llog(lr, LOCATION_LOG_INFO, "redis: connected; %s (%" PRIu64 " AORs)",
		     lr->skip_resync ? "loaded at start" : "writing the whole table", c.aors);
	}
	lr->failing = false;
	lr->ever_connected = true;
	if (lr->skip_resync)
		lr->skip_resync = false;
	else
		resync_start(lr);
}

static void batch_reply(struct location_redis *lr, int64_t now, redisReply *rep)
{
	struct batch *b;

	if (!lr->q_n) {
		redis_fail(lr, now, "a reply nobody asked for");
		return;
	}
	b = &lr->q[lr->q_head];
	if (--b->replies)
		return; /* +OK, +QUEUED (an error here makes EXEC fail) */
	if (rep->type != REDIS_REPLY_ARRAY) {
		redis_fail(lr, now, "EXEC: %s",
			   rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
		return;
	}
	for (size_t i = 0; i < rep->elements; i++) {
		if (rep->element[i]->type == REDIS_REPLY_ERROR) {
			/* DEL comes first, so no WRONGTYPE; count and say once per batch */
			cnt_add(&lr->st.redis_errors, 1);
			llog(lr, LOCATION_LOG_ERR, "redis: %s", rep->element[i]->str);
			break;
		}
	}
	cnt_add(&lr->st.written, b->writes);
	cnt_add(&lr->st.deleted, b->dels);
	cnt_add(&lr->st.batches, 1);
	batch_free(b);
	lr->q_head = (lr->q_head + 1) % lr->cfg.inflight;
	lr->q_n--;
	lr->deadline_ms = now + lr->cfg.reply_timeout_ms;
}

static void redis_read(struct location_redis *lr, int64_t now)
{
	if (redisBufferRead(lr->rc) != REDIS_OK) {
		redis_fail(lr, now, "read: %s", lr->rc->errstr);
		return;
	}
	while (lr->rs == RS_HANDSHAKE || lr->rs == RS_READY) {
		redisReply *rep = NULL;

		if (redisGetReplyFromReader(lr->rc, (void **)&rep) != REDIS_OK) {
			redis_fail(lr, now, "protocol: %s", lr->rc->errstr);
			return;
		}
		if (!rep)
			return;
		if (lr->hs_n)
			hs_reply(lr, now, rep);
		else
			batch_reply(lr, now, rep);
		freeReplyObject(rep);
	}
}

/* ---- sending ---- */

/* The commands of one AOR into out; *cmds += how many. */
static int write_aor(struct location_redis *lr, struct sv aor, struct batch *b, uint32_t *cmds)
{
	struct location_binding v[LOCATION_AOR_MAX];
	unsigned n = location_lookup(lr->t, aor, v, LOCATION_AOR_MAX);
	int64_t max = 0;

	if (n > LOCATION_AOR_MAX)
		n = LOCATION_AOR_MAX;
	if (resp_hdr(&lr->out, '*', 2) || resp_bulk(&lr->out, "DEL", 3) || resp_key(lr, aor))
		return -ENOMEM;
	(*cmds)++;
	if (!n) {
		b->dels++;
		return 0;
	}
	if (resp_hdr(&lr->out, '*', 2 + 2 * (size_t)n) || resp_bulk(&lr->out, "HSET", 4) ||
	    resp_key(lr, aor))
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		size_t need = 256 + 2 * (v[i].contact.len + v[i].call_id.len + v[i].path.len +
					 v[i].instance.len + v[i].user_agent.len);
		int k;

		if (need > lr->enc_cap) {
			char *e = realloc(lr->enc, need);
			if (!e)
				return -ENOMEM;
			lr->enc = e;
			lr->enc_cap = need;
		}
		if (v[i].instance.len) {
			char rid[24];

			k = snprintf(rid, sizeof(rid), ";reg-id=%" PRIu32, v[i].reg_id);
			if (resp_hdr(&lr->out, '$', v[i].instance.len + (size_t)k) ||
			    resp_out_append(&lr->out, v[i].instance.p, v[i].instance.len) ||
			    resp_out_append(&lr->out, rid, (size_t)k) ||
			    resp_out_append(&lr->out, "\r\n", 2))
				return -ENOMEM;
		} else if (resp_bulk(&lr->out, v[i].contact.p, v[i].contact.len)) {
			return -ENOMEM;
		}
		k = location_redis_encode(&v[i], lr->enc, lr->enc_cap);
		if (k < 0 || resp_bulk(&lr->out, lr->enc, (size_t)k))
			return -ENOMEM;
		if (v[i].expires_ms > max)
			max = v[i].expires_ms;
	}
	char ms[24];
	int k = snprintf(ms, sizeof(ms), "%" PRId64, max);
	if (resp_hdr(&lr->out, '*', 3) || resp_bulk(&lr->out, "PEXPIREAT", 9) ||
	    resp_key(lr, aor) || resp_bulk(&lr->out, ms, (size_t)k))
		return -ENOMEM;
	*cmds += 2;
	b->writes++;
	return 0;
}

struct collect {
	struct location_redis *lr;
	struct batch *b;
	bool nomem;
};

static void collect_one(void *arg, struct sv aor)
{
	struct collect *c = arg;
	char *e = dent_new(aor);

	if (!e) {
		c->nomem = true;
		return;
	}
	c->b->aors[c->b->naors++] = e;
}

/* Queue transactions while there is room and something to write. */
static void redis_fill(struct location_redis *lr, int64_t now)
{
	if (lr->lost_dirty && !lr->resync_on)
		resync_start(lr);
	while (lr->q_n < lr->cfg.inflight && (lr->ds_n || lr->resync_on)) {
		struct batch *b = &lr->q[(lr->q_head + lr->q_n) % lr->cfg.inflight];
		uint32_t cmds = 0;
		char *e;

		b->aors = calloc(lr->cfg.batch, sizeof(*b->aors));
		if (!b->aors) {
			redis_fail(lr, now, "out of memory");
			return;
		}
		while (b->naors < lr->cfg.batch && (e = ds_take(lr)))
			b->aors[b->naors++] = e;
		if (b->naors < lr->cfg.batch && lr->resync_on) {
			struct collect c = { lr, b, false };

			if (location_resizes(lr->t) != lr->resync_gen) {
				lr->resync_cur = 0; /* the slots moved: walk again */
				lr->resync_gen = location_resizes(lr->t);
			}
			lr->resync_on = location_scan(lr->t, &lr->resync_cur,
						      lr->cfg.batch - b->naors, collect_one, &c);
			if (c.nomem) {
				lr->lost_dirty = true;
				lr->resync_on = false;
			}
		}
		if (!b->naors) {
			batch_free(b);
			break;
		}
		int r = resp_hdr(&lr->out, '*', 1) || resp_bulk(&lr->out, "MULTI", 5);
		for (uint32_t i = 0; !r && i < b->naors; i++)
			r = write_aor(lr, dent_sv(b->aors[i]), b, &cmds);
		r = r || resp_hdr(&lr->out, '*', 1) || resp_bulk(&lr->out, "EXEC", 4);
		b->replies = cmds + 2;
		lr->q_n++; /* so that a failure puts its AORs back in the dirty set */
		if (r) {
			redis_fail(lr, now, "out of memory");
			return;
		}
		if (lr->q_n == 1)
			lr->deadline_ms = now + lr->cfg.reply_timeout_ms;
	}
}

static void redis_write(struct location_redis *lr, int64_t now)
{
	int r;

	if (!lr->rc) {
		resp_out_reset(&lr->out);
		return;
	}
	r = resp_out_send(&lr->out, lr->rc->fd);
	if (r < 0 && r != -EAGAIN)
		redis_fail(lr, now, "write: %s", strerror(-r));
}

static bool synced(const struct location_redis *lr)
{
	return lr->rs == RS_READY && !lr->ds_n && !lr->q_n && !lr->resync_on && !lr->lost_dirty;
}

void location_redis_process(struct location_redis *lr, short revents)
{
	int64_t now = mono_ms();

	switch (lr->rs) {
	case RS_DOWN:
		if (now >= lr->retry_at_ms)
			redis_connect(lr, now);
		break;
	case RS_CONNECTING:
		if (revents & (POLLOUT | POLLERR | POLLHUP))
			redis_handshake(lr, now);
		else if (now >= lr->deadline_ms)
			redis_fail(lr, now, "connect: timed out");
		if (lr->rs == RS_HANDSHAKE)
			redis_write(lr, now);
		break;
	case RS_HANDSHAKE:
	case RS_READY:
		if (revents & (POLLIN | POLLERR | POLLHUP))
			redis_read(lr, now);
		if (lr->rs == RS_READY)
			redis_fill(lr, now);
		if (lr->rs != RS_DOWN)
			redis_write(lr, now);
		if (lr->rs != RS_DOWN && (lr->hs_n || lr->q_n) && now >= lr->deadline_ms)
			redis_fail(lr, now, "no reply for %u ms", lr->cfg.reply_timeout_ms);
		break;
	}
	atomic_store_explicit(&lr->st.synced, synced(lr), memory_order_relaxed);
}

int location_redis_poll_fd(struct location_redis *lr, short *events)
{
	if (!lr->rc || lr->rs == RS_DOWN)
		return -1;
	if (lr->rs == RS_CONNECTING)
		*events = POLLOUT;
	else
		*events = (short)(POLLIN | (resp_out_pending(&lr->out) ? POLLOUT : 0));
	return lr->rc->fd;
}

int location_redis_poll_timeout(struct location_redis *lr)
{
	if (lr->rs == RS_READY && lr->q_n < lr->cfg.inflight &&
	    (lr->ds_n || lr->resync_on || lr->lost_dirty))
		return 0;
	if (lr->rs == RS_DOWN) {
		int64_t left = lr->retry_at_ms - mono_ms();

		if (left < (int64_t)lr->cfg.poll_ms)
			return left > 0 ? (int)left : 0;
	}
	return (int)lr->cfg.poll_ms;
}

void location_redis_run_once(struct location_redis *lr, int wait_ms)
{
	struct pollfd pfd = { .fd = -1 };
	int t = location_redis_poll_timeout(lr);

	if (t > wait_ms)
		t = wait_ms;
	pfd.fd = location_redis_poll_fd(lr, &pfd.events);
	if (pfd.fd >= 0) {
		if (poll(&pfd, 1, t) <= 0)
			pfd.revents = 0;
	} else if (t > 0) {
		struct timespec ts = { t / 1000, (long)(t % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
	location_redis_process(lr, pfd.fd >= 0 ? pfd.revents : 0);
}

void location_redis_stats(const struct location_redis *lr, struct location_redis_stats *st)
{
#define LD(x) atomic_load_explicit(&lr->st.x, memory_order_relaxed)
	st->dirty = LD(dirty);
	st->written = LD(written);
	st->deleted = LD(deleted);
	st->batches = LD(batches);
	st->connects = LD(connects);
	st->resyncs = LD(resyncs);
	st->redis_errors = LD(redis_errors);
	st->loaded = LD(loaded);
	st->load_expired = LD(load_expired);
	st->load_bad = LD(load_bad);
	st->connected = LD(connected);
	st->synced = LD(synced);
#undef LD
}

/* ---- loading at start ---- */

static int load_key(struct location_redis *lr, struct sv key, redisReply *rep, int64_t now,
		    int64_t *loaded)
{
	struct sv aor;
	bool dirty = false;

	if (key.len <= lr->prefix_len || key.len - lr->prefix_len > LOCATION_STR_MAX)
		return 0;
	aor = sv_make(key.p + lr->prefix_len, key.len - lr->prefix_len);
	if (rep->type != REDIS_REPLY_ARRAY) {
		cnt_add(&lr->st.load_bad, 1);
		return 0; /* not a hash: not ours */
	}
	for (size_t i = 0; i + 1 < rep->elements; i += 2) {
		redisReply *v = rep->element[i + 1];
		struct location_binding b;
		char *scratch;
		int r;

		if (v->type != REDIS_REPLY_STRING) {
			cnt_add(&lr->st.load_bad, 1);
			dirty = true;
			continue;
		}
		scratch = malloc(v->len + 1);
		if (!scratch)
			return -ENOMEM;
		r = location_redis_decode(sv_make(v->str, v->len), aor, &b, scratch, v->len + 1);
		if (r) {
			cnt_add(&lr->st.load_bad, 1);
			dirty = true;
		} else if (b.expires_ms <= now) {
			cnt_add(&lr->st.load_expired, 1);
			dirty = true;
		} else {
			/* the flows of the process that wrote it are gone */
			b.src.worker = LOCATION_WORKER_NONE;
			b.src.conn = 0;
			r = location_set(lr->t, &b);
			if (r == -ENOMEM) {
				free(scratch);
				return r;
			}
			if (r >= 0) {
				cnt_add(&lr->st.loaded, 1);
				(*loaded)++;
			} else {
				dirty = true; /* over max_per_aor, ...: Redis follows memory */
			}
		}
		free(scratch);
	}
	if (dirty && ds_add(lr, aor, NULL))
		lr->lost_dirty = true;
	return 0;
}

static int load_cmd_ok(redisContext *c, redisReply *rep)
{
	if (!rep)
		return c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == ETIMEDOUT)
			       ? -ETIMEDOUT
			       : -ECONNREFUSED;
	return rep->type == REDIS_REPLY_ERROR ? -EPROTO : 0;
}

int64_t location_redis_load(struct location_redis *lr, int64_t now_ms)
{
	struct timeval tv = { lr->cfg.connect_timeout_ms / 1000,
			      (long)(lr->cfg.connect_timeout_ms % 1000) * 1000 };
	struct timeval rtv = { lr->cfg.reply_timeout_ms / 1000,
			       (long)(lr->cfg.reply_timeout_ms % 1000) * 1000 };
	char pattern[2 * PREFIX_MAX + 16];
	size_t pl = 0;
	int64_t loaded = 0;
	redisContext *c;
	redisReply *rep;
	char cursor[32] = "0";
	int r = 0;

	/* the prefix, its glob characters escaped, then "*" */
	for (size_t i = 0; i < lr->prefix_len; i++) {
		if (strchr("*?[]\\", lr->prefix[i]))
			pattern[pl++] = '\\';
		pattern[pl++] = lr->prefix[i];
	}
	pattern[pl++] = '*';
	pattern[pl] = '\0';
	c = lr->cfg.redis_unix
		    ? redisConnectUnixWithTimeout(lr->cfg.redis_unix, tv)
		    : redisConnectWithTimeout(lr->cfg.redis_host, lr->cfg.redis_port, tv);
	if (!c)
		return -ENOMEM;
	if (c->err) {
		llog(lr, LOCATION_LOG_WARNING, "load: connect: %s", c->errstr);
		redisFree(c);
		return -ECONNREFUSED;
	}
	redisSetTimeout(c, rtv);
	if (lr->cfg.redis_password) {
		rep = redisCommand(c, "AUTH %s", lr->cfg.redis_password);
		r = load_cmd_ok(c, rep);
		freeReplyObject(rep);
	}
	if (!r && lr->cfg.redis_db) {
		rep = redisCommand(c, "SELECT %u", lr->cfg.redis_db);
		r = load_cmd_ok(c, rep);
		freeReplyObject(rep);
	}
	lr->loading = true;
	while (!r) {
		redisReply *keys;

		rep = redisCommand(c, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
		r = load_cmd_ok(c, rep);
		if (!r && (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
			   rep->element[0]->type != REDIS_REPLY_STRING ||
			   rep->element[1]->type != REDIS_REPLY_ARRAY))
			r = -EPROTO;
		if (r) {
			freeReplyObject(rep);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
		keys = rep->element[1];
		for (size_t i = 0; i < keys->elements; i++)
			redisAppendCommand(c, "HGETALL %b", keys->element[i]->str,
					   (size_t)keys->element[i]->len);
		for (size_t i = 0; !r && i < keys->elements; i++) {
			redisReply *h = NULL;

			if (redisGetReply(c, (void **)&h) != REDIS_OK) {
				r = load_cmd_ok(c, NULL);
				break;
			}
			r = load_key(lr,
				     sv_make(keys->element[i]->str, (size_t)keys->element[i]->len),
				     h, now_ms, &loaded);
			freeReplyObject(h);
		}
		freeReplyObject(rep);
		if (!strcmp(cursor, "0"))
			break;
	}
	lr->loading = false;
	redisFree(c);
	if (r) {
		llog(lr, LOCATION_LOG_WARNING, "load: %s", strerror(-r));
		return r;
	}
	if (!lr->ever_connected)
		lr->skip_resync = true; /* Redis holds what we hold, the dirty set aside */
	llog(lr, LOCATION_LOG_INFO, "loaded %" PRId64 " bindings from redis", loaded);
	return loaded;
}
