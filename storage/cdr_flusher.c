/* SPDX-License-Identifier: MIT */
/* cdr_flusher.c: see cdr_flusher.h. */
#include "cdr_flusher.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "cdr_redis.h"
#include "resp.h"
#include "ring.h"

/* A ring slot: the encoded length (host order) then the encoded record. */
#define SLOT_SIZE (4 + CDR_ENC_MAX)

/* At most this many records per ring per step, so that one busy worker cannot starve the rest. */
#define DRAIN_PER_RING 4096

enum rstate {
	RS_OFF,	       /* no Redis configured */
	RS_DOWN,       /* waiting for retry_at */
	RS_CONNECTING, /* non-blocking connect in progress */
	RS_HANDSHAKE,  /* AUTH / SELECT / SCRIPT LOAD sent */
	RS_READY,      /* sending batches */
};

enum hs_step { HS_AUTH, HS_SELECT, HS_LOAD };

struct inflight {
	struct spool_pos end; /* the spool position after the batch's last record */
	uint32_t n;	      /* records in the batch */
	uint16_t node;
	uint8_t kind; /* enum cdr_redis_kind */
	uint64_t boot;
};

/*
 * One kind of batch (cdr_redis.h): records for the stream, or counters. Each
 * reads the same spool in the same pass; a record is either in the kind's
 * open batch, sent, or filtered (Redis has it: after a partial answer).
 */
struct lane {
	struct cdr_redis_batch b;
	bool open;		/* b holds records */
	int64_t opened_ms;	/* when its first record was added */
	struct spool_pos end;	/* after the last record added */
	struct spool_pos acked; /* this kind is done up to here */
	uint32_t inflight;	/* batches of this kind sent and not answered */
	bool filter_on;		/* after a partial answer: */
	uint16_t filter_node;	/* records of (node, boot) */
	uint64_t filter_boot;	/* up to seq filter_upto */
	uint64_t filter_upto;	/* are in Redis already */
};

/* Written by the owner only, read by anyone (cdr_flusher_stats). */
struct flusher_counters {
	_Atomic uint64_t spooled, sent, acked, applied, duplicates, filtered, refused, batches;
	_Atomic uint64_t stats_batches, connects;
	_Atomic uint64_t redis_errors, spool_errors, undecodable;
	_Atomic bool connected, synced;
};

struct cdr_flusher {
	struct cdr_flusher_config cfg; /* defaults applied, strings owned */
	struct ring *rings;
	unsigned nrings;
	_Atomic bool accepting;

	struct spool *sp;
	struct spool_reader *rd;
	struct spool_pos rd_pos; /* where the reader is: after the last record taken */
	bool rd_idle;		 /* the reader found nothing more, and nothing was spooled since */
	/*
	 * The boot whose records the reader is in, and the seq of the last one it
	 * read: the `prev` of the next batch (cdr_redis.h). Unknown (cur_valid
	 * false) after a rewind, until the first record.
	 */
	bool cur_valid;
	uint16_t cur_node;
	uint64_t cur_boot;
	int64_t cur_last;
	bool draining; /* stopping: send the counters window without waiting */
	uint64_t boot;
	uint64_t seq; /* the last seq given */
	bool spool_failing;

	enum rstate rs;
	redisContext *rc;
	int64_t deadline_ms; /* of the connect, or of the reply awaited */
	int64_t retry_at_ms;
	uint32_t backoff_ms;
	bool redis_failing; /* a failure was logged and not yet its end */
	bool ever_connected;
	enum hs_step hs[3];
	unsigned hs_head, hs_n;
	char sha[41];
	char *script;
	size_t script_len;
	struct cdr_redis_cfg rcfg;
	struct lane lanes[2]; /* indexed by enum cdr_redis_kind */
	struct inflight *q;   /* ring of cfg.inflight entries */
	struct resp_out out;  /* commands not yet written to the socket (resp.h) */
	uint32_t q_head, q_n;
	int64_t ack_sync_ms;

	pthread_t thr;
	bool thr_on;
	_Atomic bool thr_stop;
	uint32_t stop_timeout_ms;
	int stop_result;

	struct flusher_counters st;
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

static void flog(struct cdr_flusher *f, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void flog(struct cdr_flusher *f, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (f->cfg.log)
		f->cfg.log(f->cfg.log_arg, level, msg);
	else
		fprintf(stderr, "sipring cdr: %s\n", msg);
}

/* ---- creation ---- */

static void free_strs(struct cdr_flusher_config *c)
{
	free((char *)c->spool_dir);
	free((char *)c->redis_host);
	free((char *)c->redis_unix);
	free((char *)c->redis_password);
	free((char *)c->prefix);
}

/*
 * The boot epoch: the wall clock in microseconds, but strictly above the one
 * the last run recorded, so that ids stay unique if the clock went back.
 */
static int boot_pick(struct cdr_flusher *f)
{
	char path[4096], tmp[4096], buf[32];
	struct timespec ts;
	uint64_t last = 0, now;
	int fd, n, r = 0;

	if (snprintf(path, sizeof(path), "%s/boot", f->cfg.spool_dir) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/boot.tmp", f->cfg.spool_dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t got = read(fd, buf, sizeof(buf) - 1);
		uint64_t v;

		close(fd);
		while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
			got--;
		if (got > 0 && sv_to_u64(sv_make(buf, (size_t)got), UINT64_MAX - 1, &v) == 0)
			last = v;
	} else if (errno != ENOENT) {
		return -errno;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	f->boot = now > last ? now : last + 1;

	n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", f->boot);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, (size_t)n) != n)
		r = -EIO;
	if (r == 0 && f->cfg.fsync != SPOOL_FSYNC_NEVER && fsync(fd) != 0)
		r = -errno;
	close(fd);
	if (r == 0 && rename(tmp, path) != 0)
		r = -errno;
	return r;
}

int cdr_flusher_create(struct cdr_flusher **out, const struct cdr_flusher_config *cfg)
{
	struct spool_config scfg;
	struct cdr_flusher *f;
	char script[CDR_REDIS_SCRIPT_MAX];
	int r;

	if (!cfg->spool_dir || !*cfg->spool_dir)
		return -EINVAL;
	if (cfg->ring_slots && (cfg->ring_slots < 2 || (cfg->ring_slots & (cfg->ring_slots - 1))))
		return -EINVAL;
	if (cfg->prefix && strlen(cfg->prefix) > CDR_REDIS_PREFIX_MAX)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->out.first_cap = 256 * 1024;
	f->cfg = *cfg;
	struct cdr_flusher_config *c = &f->cfg;
	/* Owned copies; all NULL first, so that a failure frees only what was copied. */
	c->spool_dir = c->redis_host = c->redis_unix = c->redis_password = c->prefix = NULL;
	if (!(c->spool_dir = strdup(cfg->spool_dir)) ||
	    (cfg->redis_host && !(c->redis_host = strdup(cfg->redis_host))) ||
	    (cfg->redis_unix && !(c->redis_unix = strdup(cfg->redis_unix))) ||
	    (cfg->redis_password && !(c->redis_password = strdup(cfg->redis_password))) ||
	    !(c->prefix = strdup(cfg->prefix && *cfg->prefix ? cfg->prefix : CDR_REDIS_PREFIX))) {
		r = -ENOMEM;
		goto fail;
	}
	if (!c->producers)
		c->producers = 1;
	if (!c->ring_slots)
		c->ring_slots = 8192;
	if (!c->redis_port)
		c->redis_port = 6379;
	if (!c->batch)
		c->batch = 256;
	if (!c->connect_timeout_ms)
		c->connect_timeout_ms = 2000;
	if (!c->reply_timeout_ms)
		c->reply_timeout_ms = 10000;
	if (!c->reconnect_min_ms)
		c->reconnect_min_ms = 100;
	if (!c->reconnect_max_ms)
		c->reconnect_max_ms = 5000;
	if (c->reconnect_max_ms < c->reconnect_min_ms)
		c->reconnect_max_ms = c->reconnect_min_ms;
	if (!c->ack_interval_ms)
		c->ack_interval_ms = 200;
	if (!c->stats_window_ms)
		c->stats_window_ms = 500;
	if (!c->stats_window_max)
		c->stats_window_max = 100000;
	if (c->inflight < 4)
		c->inflight = 4; /* room for a batch of each kind, and more */
	if (!c->poll_ms)
		c->poll_ms = 5;
	atomic_init(&f->accepting, true);
	atomic_init(&f->thr_stop, false);

	f->nrings = c->producers;
	f->rings = aligned_alloc(RING_CACHELINE, sizeof(struct ring) * f->nrings);
	if (!f->rings) {
		r = -ENOMEM;
		goto fail;
	}
	memset(f->rings, 0, sizeof(struct ring) * f->nrings);
	for (unsigned i = 0; i < f->nrings; i++) {
		r = ring_init(&f->rings[i], c->ring_slots, SLOT_SIZE);
		if (r)
			goto fail;
	}

	scfg = (struct spool_config){ .dir = c->spool_dir,
				      .fsync = c->fsync,
				      .fsync_ms = c->fsync_ms,
				      .segment_bytes = c->segment_bytes,
				      .retain_acked_sec = c->retain_acked_sec };
	r = spool_open(&f->sp, &scfg);
	if (r)
		goto fail;
	r = boot_pick(f);
	if (r)
		goto fail;

	f->rs = RS_OFF;
	if (c->redis_host || c->redis_unix) {
		r = cdr_redis_script(script, sizeof(script));
		if (r < 0)
			goto fail;
		f->script_len = (size_t)r;
		f->script = malloc(f->script_len);
		f->q = calloc(c->inflight, sizeof(*f->q));
		if (!f->script || !f->q) {
			r = -ENOMEM;
			goto fail;
		}
		memcpy(f->script, script, f->script_len);
		r = spool_reader_open(&f->rd, c->spool_dir, f->sp, spool_acked(f->sp));
		if (r)
			goto fail;
		f->rd_pos = spool_acked(f->sp);
		f->rcfg = (struct cdr_redis_cfg){ .prefix = c->prefix,
						  .maxlen = c->stream_maxlen,
						  .stats_ttl_sec = c->stats_ttl_sec,
						  .format = c->stream_format };
		for (int k = 0; k < 2; k++) {
			cdr_redis_batch_init(&f->lanes[k].b);
			f->lanes[k].acked = f->rd_pos;
		}
		f->rs = RS_DOWN;
		f->retry_at_ms = 0;
		f->backoff_ms = c->reconnect_min_ms;
	}
	f->ack_sync_ms = mono_ms();
	*out = f;
	return 0;
fail:
	f->thr_on = false;
	cdr_flusher_destroy(f);
	return r;
}

/* ---- producers ---- */

int cdr_flusher_submit(struct cdr_flusher *f, unsigned producer, const struct cdr *c)
{
	uint8_t *slot;
	uint32_t len;
	int n;

	if (producer >= f->nrings)
		return -EINVAL;
	if (!atomic_load_explicit(&f->accepting, memory_order_relaxed))
		return -ESHUTDOWN;
	slot = ring_reserve(&f->rings[producer]);
	if (!slot)
		return -ENOBUFS;
	n = cdr_encode(c, slot + 4, CDR_ENC_MAX);
	if (n < 0)
		return n; /* the slot stays reserved, unpublished: the next call reuses it */
	len = (uint32_t)n;
	memcpy(slot, &len, 4);
	ring_commit(&f->rings[producer]);
	return 0;
}

/* ---- the spool side ---- */

static void spool_failed(struct cdr_flusher *f, const char *what, int r)
{
	cnt_add(&f->st.spool_errors, 1);
	if (!f->spool_failing)
		flog(f, CDR_LOG_ERR, "spool %s: %s (CDRs wait in memory; retrying)", what,
		     strerror(-r));
	f->spool_failing = true;
}

static void drain(struct cdr_flusher *f, int64_t now)
{
	uint64_t n = 0;
	size_t pend;
	int r;

	for (unsigned i = 0; i < f->nrings; i++) {
		struct ring *rg = &f->rings[i];
		uint8_t *slot;

		for (unsigned k = 0; k < DRAIN_PER_RING && (slot = ring_peek(rg)) != NULL; k++) {
			struct cdr_id id = { f->cfg.node, f->boot, f->seq + 1 };
			uint32_t len;

			memcpy(&len, slot, 4);
			cdr_set_id(slot + 4, id);
			r = spool_append(f->sp, slot + 4, len, NULL);
			if (r) {
				/* The record stays in the ring; the same seq is used again. */
				spool_failed(f, "write", r);
				goto flush;
			}
			f->seq++;
			ring_release(rg);
			n++;
		}
	}
flush:
	if (n)
		cnt_add(&f->st.spooled, n);
	pend = spool_pending(f->sp);
	r = spool_flush(f->sp, now);
	/* New octets in the files (appended now, or retried after a failure): read on. */
	if (n || (pend && !r))
		f->rd_idle = false;
	if (r) {
		spool_failed(f, "flush", r);
	} else if (f->spool_failing && spool_pending(f->sp) == 0) {
		flog(f, CDR_LOG_INFO, "spool: writing again");
		f->spool_failing = false;
	}
}

/* ---- the Redis side ---- */

/*
 * Forget the connection and what was in flight, and read the spool again from
 * the acknowledged position: what was in flight may or may not have been
 * applied, the script sorts it out.
 */
static void redis_drop(struct cdr_flusher *f)
{
	if (f->rc)
		redisFree(f->rc);
	f->rc = NULL;
	f->q_n = 0;
	f->q_head = 0;
	f->hs_n = 0;
	resp_out_reset(&f->out);
	f->rs = RS_DOWN;
	atomic_store_explicit(&f->st.connected, false, memory_order_relaxed);
	f->rd_pos = spool_acked(f->sp);
	spool_reader_seek(f->rd, f->rd_pos);
	f->rd_idle = false;
	f->cur_valid = false;
	for (int k = 0; k < 2; k++) {
		f->lanes[k].open = false;
		f->lanes[k].inflight = 0;
		f->lanes[k].acked = f->rd_pos;
	}
}

static void redis_fail(struct cdr_flusher *f, int64_t now, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void redis_fail(struct cdr_flusher *f, int64_t now, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	redis_drop(f);
	f->lanes[0].filter_on = f->lanes[1].filter_on = false;
	cnt_add(&f->st.redis_errors, 1);
	f->retry_at_ms = now + f->backoff_ms;
	if (!f->redis_failing)
		flog(f, CDR_LOG_WARNING, "redis: %s; CDRs go on to the spool, retrying", msg);
	f->redis_failing = true;
	f->backoff_ms = f->backoff_ms * 2 > f->cfg.reconnect_max_ms ? f->cfg.reconnect_max_ms
								    : f->backoff_ms * 2;
}

static void redis_connect(struct cdr_flusher *f, int64_t now)
{
	if (f->cfg.redis_unix)
		f->rc = redisConnectUnixNonBlock(f->cfg.redis_unix);
	else
		f->rc = redisConnectNonBlock(f->cfg.redis_host, f->cfg.redis_port);
	if (!f->rc) {
		redis_fail(f, now, "connect: out of memory");
		return;
	}
	if (f->rc->err) {
		redis_fail(f, now, "connect: %s", f->rc->errstr);
		return;
	}
	f->rs = RS_CONNECTING;
	f->deadline_ms = now + f->cfg.connect_timeout_ms;
}

static void redis_handshake(struct cdr_flusher *f, int64_t now)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(f->rc->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err) {
		redis_fail(f, now, "connect: %s", strerror(err));
		return;
	}
	f->hs_head = f->hs_n = 0;
	for (int step = HS_AUTH; step <= HS_LOAD; step++) {
		char *cmd = NULL;
		int n;

		if (step == HS_AUTH && !f->cfg.redis_password)
			continue;
		if (step == HS_SELECT && !f->cfg.redis_db)
			continue;
		if (step == HS_AUTH)
			n = redisFormatCommand(&cmd, "AUTH %s", f->cfg.redis_password);
		else if (step == HS_SELECT)
			n = redisFormatCommand(&cmd, "SELECT %u", f->cfg.redis_db);
		else
			n = redisFormatCommand(&cmd, "SCRIPT LOAD %b", f->script, f->script_len);
		if (n < 0 || resp_out_append(&f->out, cmd, (size_t)n) != 0) {
			redisFreeCommand(cmd);
			redis_fail(f, now, "out of memory");
			return;
		}
		redisFreeCommand(cmd);
		f->hs[f->hs_n++] = (enum hs_step)step;
	}
	f->rs = RS_HANDSHAKE;
	f->deadline_ms = now + f->cfg.reply_timeout_ms;
}

/* A handshake reply; returns false when the connection was dropped. */
static bool hs_reply(struct cdr_flusher *f, int64_t now, redisReply *rep)
{
	enum hs_step step = f->hs[f->hs_head++];
	static const char *const what[] = { "AUTH", "SELECT", "SCRIPT LOAD" };

	f->hs_n--;
	if (rep->type == REDIS_REPLY_ERROR) {
		redis_fail(f, now, "%s: %s", what[step], rep->str);
		return false;
	}
	if (step == HS_LOAD) {
		if (rep->type != REDIS_REPLY_STRING || rep->len != 40) {
			redis_fail(f, now, "SCRIPT LOAD: unexpected reply");
			return false;
		}
		memcpy(f->sha, rep->str, 40);
		f->sha[40] = '\0';
	}
	if (f->hs_n == 0) {
		f->rs = RS_READY;
		f->backoff_ms = f->cfg.reconnect_min_ms;
		cnt_add(&f->st.connects, 1);
		atomic_store_explicit(&f->st.connected, true, memory_order_relaxed);
		if (f->redis_failing || !f->ever_connected)
			flog(f, CDR_LOG_INFO,
			     "redis: connected; sending from spool segment %" PRIu64
			     " offset %" PRIu64,
			     f->rd_pos.seg, f->rd_pos.off);
		f->redis_failing = false;
		f->ever_connected = true;
	}
	return true;
}

/* A batch's reply; returns false when the connection was dropped. */
static bool batch_reply(struct cdr_flusher *f, int64_t now, redisReply *rep)
{
	struct inflight *b;
	long long code, h;

	if (f->q_n == 0) {
		redis_fail(f, now, "a reply nobody asked for");
		return false;
	}
	b = &f->q[f->q_head];
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER ||
	    rep->element[1]->type != REDIS_REPLY_INTEGER) {
		/*
		 * NOSCRIPT (the script cache was flushed), OOM, a key of the wrong
		 * type, ...: nothing of the batch is applied (a script error aborts
		 * before any write, or the write fails whole). Drop the connection
		 * and replay: accounting data is never skipped.
		 */
		redis_fail(f, now, "batch: %s",
			   rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
		return false;
	}
	code = rep->element[0]->integer;
	h = rep->element[1]->integer;
	if (code == CDR_REDIS_PARTIAL || code == CDR_REDIS_GAP) {
		/*
		 * Refused whole, and so is every later batch of the pipeline
		 * (their prev is above h). Send again from the acked position
		 * (where this batch starts), on a new connection so that the
		 * answers of the rest are not read; after a partial answer,
		 * without the records Redis has (seq <= h of this boot).
		 */
		struct lane *l = &f->lanes[b->kind];

		cnt_add(&f->st.refused, 1);
		redis_drop(f);
		if (code == CDR_REDIS_PARTIAL && h > 0) {
			l->filter_on = true;
			l->filter_node = b->node;
			l->filter_boot = b->boot;
			l->filter_upto = (uint64_t)h;
		}
		f->retry_at_ms = now;
		return false;
	}
	if (code != 0 && code != (long long)b->n) {
		redis_fail(f, now, "batch: applied %lld of %u", code, b->n);
		return false;
	}
	f->lanes[b->kind].acked = b->end;
	f->lanes[b->kind].inflight--;
	if (b->kind == CDR_REDIS_RECORDS) {
		cnt_add(&f->st.acked, b->n);
		cnt_add(code ? &f->st.applied : &f->st.duplicates, b->n);
		cnt_add(&f->st.batches, 1);
	} else {
		cnt_add(&f->st.stats_batches, 1);
	}
	f->q_head = (f->q_head + 1) % f->cfg.inflight;
	f->q_n--;
	f->deadline_ms = now + f->cfg.reply_timeout_ms;
	return true;
}

static void redis_read(struct cdr_flusher *f, int64_t now)
{
	if (redisBufferRead(f->rc) != REDIS_OK) {
		redis_fail(f, now, "read: %s", f->rc->errstr);
		return;
	}
	for (;;) {
		redisReply *rep = NULL;
		bool ok;

		if (redisGetReplyFromReader(f->rc, (void **)&rep) != REDIS_OK) {
			redis_fail(f, now, "protocol: %s", f->rc->errstr);
			return;
		}
		if (!rep)
			return;
		ok = f->hs_n ? hs_reply(f, now, rep) : batch_reply(f, now, rep);
		freeReplyObject(rep);
		if (!ok)
			return;
	}
}

/* Finish lane k's batch and queue it (the caller checked the room). */
static bool lane_send(struct cdr_flusher *f, int64_t now, enum cdr_redis_kind k)
{
	struct lane *l = &f->lanes[k];

	if (cdr_redis_batch_finish(&l->b) != 0 ||
	    resp_out_append(&f->out, l->b.cmd, l->b.cmd_len) != 0) {
		redis_fail(f, now, "out of memory");
		return false;
	}
	if (f->q_n == 0)
		f->deadline_ms = now + f->cfg.reply_timeout_ms;
	f->q[(f->q_head + f->q_n) % f->cfg.inflight] =
		(struct inflight){ l->end, l->b.n, l->b.node, (uint8_t)k, l->b.boot };
	f->q_n++;
	l->inflight++;
	l->open = false;
	if (k == CDR_REDIS_RECORDS)
		cnt_add(&f->st.sent, l->b.n);
	return true;
}

static bool lane_full(const struct cdr_flusher *f, enum cdr_redis_kind k)
{
	const struct lane *l = &f->lanes[k];

	return l->open &&
	       l->b.n >= (k == CDR_REDIS_RECORDS ? f->cfg.batch : f->cfg.stats_window_max);
}

/* Add c (at spool end e) to lane k unless Redis has it; false when the connection was dropped. */
static bool lane_add(struct cdr_flusher *f, int64_t now, enum cdr_redis_kind k, const struct cdr *c,
		     struct spool_pos e)
{
	struct lane *l = &f->lanes[k];
	int r;

	if (l->filter_on && c->id.node == l->filter_node && c->id.boot == l->filter_boot &&
	    c->id.seq <= l->filter_upto) {
		if (k == CDR_REDIS_RECORDS)
			cnt_add(&f->st.filtered, 1);
		return true;
	}
	if (!l->open) {
		r = cdr_redis_batch_begin(&l->b, &f->rcfg, sv_make(f->sha, 40), k, c->id.node,
					  c->id.boot, f->cur_last);
		if (r) {
			redis_fail(f, now, "batch: %s", strerror(-r));
			return false;
		}
		l->open = true;
		l->opened_ms = now;
	}
	r = cdr_redis_batch_add(&l->b, c);
	if (r == -EINVAL)
		return true; /* seq not increasing inside a boot: cannot come from our spool */
	if (r) {
		redis_fail(f, now, "batch: %s", strerror(-r));
		return false;
	}
	l->end = e;
	return true;
}

/*
 * Read the spool and queue batches while the pipeline has room: records
 * batches of cfg.batch, sent at once when the reader has caught up (latency);
 * counters batches over the stats window (cfg.stats_window_ms or _max records),
 * so that their cost follows the number of distinct keys, not of CDRs.
 */
static void redis_fill(struct cdr_flusher *f, int64_t now)
{
	for (;;) {
		struct spool_pos e;
		struct sv rec;
		struct cdr c;
		int r;

		for (int k = 0; k < 2; k++) {
			if (!lane_full(f, (enum cdr_redis_kind)k))
				continue;
			if (f->q_n >= f->cfg.inflight)
				goto idle_sends;
			if (!lane_send(f, now, (enum cdr_redis_kind)k))
				return;
		}
		/* Room for both kinds first: a record of another boot closes both. */
		if (f->q_n + 2 > f->cfg.inflight || f->rd_idle)
			break;
		r = spool_reader_next(f->rd, &rec, &e);
		if (r <= 0) {
			if (r < 0)
				spool_failed(f, "read", r);
			f->rd_idle = true;
			break;
		}
		if (cdr_decode(rec.p, rec.len, &c) != 0) {
			cnt_add(&f->st.undecodable, 1);
			f->rd_pos = e; /* skipped, acknowledged with what follows */
			continue;
		}
		for (int k = 0; k < 2; k++) {
			struct lane *l = &f->lanes[k];
			if (l->open && (l->b.node != c.id.node || l->b.boot != c.id.boot) &&
			    !lane_send(f, now, (enum cdr_redis_kind)k))
				return;
		}
		if (!f->cur_valid || c.id.node != f->cur_node || c.id.boot != f->cur_boot) {
			/*
			 * The first record read after a rewind: what precedes it is
			 * unknown. Another boot's run in the same read: it starts
			 * here, nothing of it precedes.
			 */
			f->cur_last = f->cur_valid ? 0 : -1;
			f->cur_valid = true;
			f->cur_node = c.id.node;
			f->cur_boot = c.id.boot;
		}
		if (!lane_add(f, now, CDR_REDIS_RECORDS, &c, e) ||
		    !lane_add(f, now, CDR_REDIS_COUNTERS, &c, e))
			return;
		f->cur_last = (int64_t)c.id.seq;
		f->rd_pos = e;
	}
idle_sends:
	if (f->lanes[CDR_REDIS_RECORDS].open && f->rd_idle && f->q_n < f->cfg.inflight &&
	    !lane_send(f, now, CDR_REDIS_RECORDS))
		return;
	struct lane *w = &f->lanes[CDR_REDIS_COUNTERS];
	if (w->open && f->q_n < f->cfg.inflight &&
	    (now - w->opened_ms >= (int64_t)f->cfg.stats_window_ms || (f->draining && f->rd_idle)))
		lane_send(f, now, CDR_REDIS_COUNTERS);
}

static void redis_write(struct cdr_flusher *f, int64_t now)
{
	int r;

	if (!f->rc) {
		resp_out_reset(&f->out);
		return;
	}
	r = resp_out_send(&f->out, f->rc->fd);
	if (r < 0 && r != -EAGAIN)
		redis_fail(f, now, "write: %s", strerror(-r));
}

static void redis_step(struct cdr_flusher *f, int64_t now, short revents)
{
	switch (f->rs) {
	case RS_OFF:
		return;
	case RS_DOWN:
		if (now >= f->retry_at_ms)
			redis_connect(f, now);
		return;
	case RS_CONNECTING:
		if (revents & (POLLOUT | POLLERR | POLLHUP))
			redis_handshake(f, now);
		else if (now >= f->deadline_ms)
			redis_fail(f, now, "connect: timed out");
		if (f->rs == RS_HANDSHAKE)
			redis_write(f, now);
		return;
	case RS_HANDSHAKE:
	case RS_READY:
		if (revents & (POLLIN | POLLERR | POLLHUP)) {
			redis_read(f, now);
			if (f->rs == RS_DOWN)
				return;
		}
		if (f->rs == RS_READY)
			redis_fill(f, now);
		if (f->rs != RS_DOWN)
			redis_write(f, now);
		if (f->rs == RS_DOWN)
			return;
		if ((f->hs_n || f->q_n) && now >= f->deadline_ms) {
			redis_fail(f, now, "no reply for %u ms", f->cfg.reply_timeout_ms);
			return;
		}
		/*
		 * A kind with no open batch and nothing in flight is done up to
		 * where the reader is (past skipped records, into new segments).
		 * The spool is acknowledged where both kinds are done.
		 */
		if (f->rs == RS_READY) {
			for (int k = 0; k < 2; k++)
				if (!f->lanes[k].open && !f->lanes[k].inflight)
					f->lanes[k].acked = f->rd_pos;
			spool_ack(f->sp, spool_pos_cmp(f->lanes[0].acked, f->lanes[1].acked) < 0
						 ? f->lanes[0].acked
						 : f->lanes[1].acked);
		}
		return;
	}
}

/* ---- the owner's loop ---- */

static bool rings_empty(const struct cdr_flusher *f)
{
	for (unsigned i = 0; i < f->nrings; i++)
		if (ring_count(&f->rings[i]))
			return false;
	return true;
}

static bool all_synced(const struct cdr_flusher *f)
{
	if (!rings_empty(f) || spool_pending(f->sp))
		return false;
	if (f->rs == RS_OFF)
		return true;
	return f->rs == RS_READY && f->rd_idle && f->q_n == 0 && !f->lanes[0].open &&
	       !f->lanes[1].open;
}

int cdr_flusher_poll_fd(struct cdr_flusher *f, short *events)
{
	if (!f->rc || f->rs < RS_CONNECTING)
		return -1;
	if (f->rs == RS_CONNECTING)
		*events = POLLOUT;
	else
		*events = (short)(POLLIN | (resp_out_pending(&f->out) ? POLLOUT : 0));
	return f->rc->fd;
}

static uint64_t rings_queued(const struct cdr_flusher *f)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < f->nrings; i++)
		n += ring_count(&f->rings[i]);
	return n;
}

int cdr_flusher_poll_timeout(struct cdr_flusher *f)
{
	/*
	 * Spin only when there is something to do now: rings filling up, or
	 * records to send and room to send them. Otherwise wait for a reply (the
	 * socket wakes the loop) or poll_ms: a few records more per round make
	 * larger writes and batches, and the loop does not burn a core.
	 */
	if (rings_queued(f) >= f->cfg.ring_slots / 4)
		return 0;
	if (f->rs == RS_READY && !f->rd_idle && f->q_n + 2 <= f->cfg.inflight)
		return 0;
	if (f->lanes[CDR_REDIS_COUNTERS].open) {
		int64_t left =
			f->lanes[CDR_REDIS_COUNTERS].opened_ms + f->cfg.stats_window_ms - mono_ms();
		if (left < (int64_t)f->cfg.poll_ms)
			return left > 0 ? (int)left : 0;
	}
	return (int)f->cfg.poll_ms;
}

void cdr_flusher_process(struct cdr_flusher *f, short revents)
{
	int64_t now = mono_ms();
	bool read_first = (f->rs == RS_HANDSHAKE || f->rs == RS_READY) &&
			  (revents & (POLLIN | POLLERR | POLLHUP));

	/* Replies first: they make room in the window for what is drained next. */
	if (read_first) {
		redis_read(f, now);
		revents &= (short)~(POLLIN | POLLERR | POLLHUP);
	}
	drain(f, now);
	redis_step(f, now, revents);
	if (now - f->ack_sync_ms >= (int64_t)f->cfg.ack_interval_ms) {
		int r = spool_sync_ack(f->sp);

		if (r)
			spool_failed(f, "ack", r);
		f->ack_sync_ms = now;
	}
	atomic_store_explicit(&f->st.synced, all_synced(f), memory_order_relaxed);
}

void cdr_flusher_run_once(struct cdr_flusher *f, int wait_ms)
{
	struct pollfd pfd = { .fd = -1 };
	int t = cdr_flusher_poll_timeout(f);

	if (t > wait_ms)
		t = wait_ms;
	pfd.fd = cdr_flusher_poll_fd(f, &pfd.events);
	if (pfd.fd >= 0) {
		if (poll(&pfd, 1, t) <= 0)
			pfd.revents = 0;
	} else if (t > 0) {
		struct timespec ts = { t / 1000, (long)(t % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
	cdr_flusher_process(f, pfd.fd >= 0 ? pfd.revents : 0);
}

/* ---- stopping ---- */

static int stop_drain(struct cdr_flusher *f, uint32_t timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	int r;

	f->draining = true;
	for (;;) {
		int64_t left = deadline - mono_ms();

		cdr_flusher_run_once(f, left > 0 ? (int)(left < 5 ? left : 5) : 0);
		if (all_synced(f))
			break;
		if (mono_ms() >= deadline)
			break;
	}
	r = all_synced(f) ? 0 : -ETIMEDOUT;
	if (spool_sync_ack(f->sp) != 0)
		cnt_add(&f->st.spool_errors, 1);
	atomic_store_explicit(&f->st.synced, r == 0, memory_order_relaxed);
	return r;
}

static void *flusher_thread(void *arg)
{
	struct cdr_flusher *f = arg;

	while (!atomic_load_explicit(&f->thr_stop, memory_order_acquire))
		cdr_flusher_run_once(f, (int)f->cfg.poll_ms);
	f->stop_result = stop_drain(f, f->stop_timeout_ms);
	return NULL;
}

int cdr_flusher_start(struct cdr_flusher *f)
{
	int r;

	if (f->thr_on)
		return -EALREADY;
	atomic_store(&f->thr_stop, false);
	r = pthread_create(&f->thr, NULL, flusher_thread, f);
	if (r)
		return -r;
	f->thr_on = true;
	return 0;
}

int cdr_flusher_stop(struct cdr_flusher *f, uint32_t timeout_ms)
{
	atomic_store(&f->accepting, false);
	if (f->thr_on) {
		f->stop_timeout_ms = timeout_ms;
		atomic_store_explicit(&f->thr_stop, true, memory_order_release);
		pthread_join(f->thr, NULL);
		f->thr_on = false;
		return f->stop_result;
	}
	return stop_drain(f, timeout_ms);
}

void cdr_flusher_destroy(struct cdr_flusher *f)
{
	if (!f)
		return;
	if (f->thr_on)
		cdr_flusher_stop(f, 0);
	if (f->rc)
		redisFree(f->rc);
	spool_reader_close(f->rd);
	if (f->sp) {
		int r = spool_close(f->sp);
		if (r)
			flog(f, CDR_LOG_ERR, "spool close: %s", strerror(-r));
	}
	if (f->rings) {
		for (unsigned i = 0; i < f->nrings; i++)
			ring_fini(&f->rings[i]);
		free(f->rings);
	}
	cdr_redis_batch_fini(&f->lanes[0].b);
	cdr_redis_batch_fini(&f->lanes[1].b);
	free(f->q);
	resp_out_free(&f->out);
	free(f->script);
	free_strs(&f->cfg);
	free(f);
}

void cdr_flusher_stats(const struct cdr_flusher *f, struct cdr_flusher_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned i = 0; i < f->nrings; i++) {
		st->submitted += atomic_load_explicit(&f->rings[i].head, memory_order_relaxed);
		st->ring_full += atomic_load_explicit(&f->rings[i].drops, memory_order_relaxed);
	}
#define LD(x) atomic_load_explicit(&f->st.x, memory_order_relaxed)
	st->spooled = LD(spooled);
	st->sent = LD(sent);
	st->acked = LD(acked);
	st->applied = LD(applied);
	st->duplicates = LD(duplicates);
	st->filtered = LD(filtered);
	st->refused = LD(refused);
	st->batches = LD(batches);
	st->stats_batches = LD(stats_batches);
	st->connects = LD(connects);
	st->redis_errors = LD(redis_errors);
	st->spool_errors = LD(spool_errors);
	st->undecodable = LD(undecodable);
	st->connected = LD(connected);
	st->synced = LD(synced);
#undef LD
	st->boot = f->boot;
}
