/* SPDX-License-Identifier: MIT */
/*
 * cdr_flusher.h: the CDR and profit-counter exporter of the service thread.
 *
 * Workers submit CDRs; the flusher gives each its id, writes it to the disk
 * spool, sends it to Redis in pipelined batches (the stream entry and the
 * profit counters, cdr_redis.h) and acknowledges it in the spool when Redis has
 * answered. Nothing a worker does waits on the disk or on Redis.
 *
 *   worker 0 ─ cdr_flusher_submit() ─► ring 0 ─┐
 *   worker 1 ─ cdr_flusher_submit() ─► ring 1 ─┤  service thread (the owner):
 *       ...                                    ├─► id, spool_append ─► spool files
 *   worker N ─ cdr_flusher_submit() ─► ring N ─┘          │ (one write per round)
 *                                                          ▼
 *                       spool reader (from the acked position) ─► EVALSHA batches
 *                                                          │  up to `inflight`
 *                       spool_ack() ◄─ replies, in order ◄─┘  pipelined
 *
 * Redis is always fed from the spool, never from memory, so that "after an
 * outage", "after a restart" and "now" are the same code: the sender reads the
 * spool from the acknowledged position; on a connection failure it forgets what
 * was in flight and reads again from there; the script's high-water mark per
 * (node, boot) and the `prev` each batch carries (cdr_redis.h) make what Redis
 * already had a no-op, and a batch that overlaps it a refusal, after which the
 * flusher sends again only what Redis lacks. Nothing is lost (what is in the
 * spool stays until acknowledged) and nothing is counted twice.
 *
 * Stream entries go in batches of `batch` CDRs, sent as soon as the reader has
 * caught up with the spool; the profit counters are summed here over a stats
 * window (stats_window_ms, default 500 ms) and sent as one counters batch,
 * whose cost in Redis follows the number of distinct (day, dimension, key),
 * not the number of CDRs. Each kind has its own mark in Redis; the spool is
 * acknowledged up to where both kinds are. Counters therefore lag the stream
 * by up to the window.
 *
 * Without Redis configured (redis_host and redis_unix both NULL) the spool is
 * the export and the flusher only writes it.
 *
 * The loss window: a CDR is safe once spooled. A CDR still in a ring or in the
 * spool's memory buffer when the process dies is lost; that is at most what
 * one step of the owner's loop drains (poll_ms), plus, on a machine crash, what
 * the fsync policy allows (spool.h).
 *
 * Redis I/O is hiredis 0.14 used without blocking and without its async layer:
 * a non-blocking redisContext whose socket the owner's loop polls; the flusher
 * writes the pre-built RESP of its batches itself, and takes the replies from
 * hiredis' reader, in order. (The async layer of 0.14 has no connect timeout,
 * the replies of a pipeline map one to one onto the in-flight batches anyway,
 * and hiredis' output buffer moves its remainder after every partial write.)
 * Connection: TCP to an IP address (a host name would block in getaddrinfo())
 * or a unix socket; AUTH and SELECT when configured; SCRIPT LOAD; then
 * batches. On an error, a timeout or a NOSCRIPT reply the connection is
 * dropped and retried with exponential backoff (reconnect_min_ms doubling to
 * reconnect_max_ms).
 *
 * Threads. cdr_flusher_submit() is called by producer i only (one thread per
 * producer index). Everything else is the owner's: the service thread's loop
 * (cdr_flusher_poll_fd() / cdr_flusher_poll_timeout() / cdr_flusher_process()),
 * or the thread cdr_flusher_start() creates, until cdr_flusher_stop().
 * cdr_flusher_stats() may be called from any thread.
 *
 * Logging: the config's log callback, called on the owner's thread; NULL
 * writes "sipring cdr: ..." lines to stderr. A failure is logged when it
 * starts and when it ends, not on every retry.
 */
#ifndef SIPRING_CDR_FLUSHER_H
#define SIPRING_CDR_FLUSHER_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "cdr.h"
#include "cdr_redis.h"
#include "spool.h"

enum cdr_log_level { CDR_LOG_ERR = 3, CDR_LOG_WARNING = 4, CDR_LOG_INFO = 6 };

typedef void (*cdr_log_fn)(void *arg, int level, const char *msg);

/* Zero means "the default" for every number. */
struct cdr_flusher_config {
	uint16_t node; /* this node's id, unique among nodes sharing a Redis */

	/* the spool (spool.h) */
	const char *spool_dir;	   /* required */
	enum spool_fsync fsync;	   /* default SPOOL_FSYNC_ALWAYS */
	uint32_t fsync_ms;	   /* SPOOL_FSYNC_INTERVAL: default 100 */
	uint64_t segment_bytes;	   /* default 64 MiB */
	uint32_t retain_acked_sec; /* default 0: delete acknowledged segments */

	/* producers */
	unsigned producers;  /* rings, one per producer thread: default 1 */
	uint32_t ring_slots; /* per ring, a power of two: default 8192 */

	/* Redis: none when both redis_host and redis_unix are NULL */
	const char *redis_host; /* an IP address */
	uint16_t redis_port;	/* default 6379 */
	const char *redis_unix; /* a unix socket path, instead of host and port */
	const char *redis_password;
	unsigned redis_db;		      /* SELECT when > 0 */
	const char *prefix;		      /* key prefix, default "sipring:" */
	uint32_t stream_maxlen;		      /* XADD MAXLEN ~; default 0 = unbounded */
	enum cdr_stream_format stream_format; /* default CDR_STREAM_CSV (cdr_redis.h) */
	uint32_t stats_ttl_sec;		      /* TTL of the counter hashes; default 0 = none */
	uint32_t batch;			      /* CDRs per stream batch (script call): default 256 */
	uint32_t stats_window_ms;	      /* counters are summed over this long: default 500 */
	uint32_t stats_window_max;	      /* or this many CDRs: default 100000 */
	uint32_t inflight;	     /* batches sent and not yet answered: default 32, at least 4 */
	uint32_t connect_timeout_ms; /* default 2000 */
	uint32_t reply_timeout_ms;   /* no reply while batches are in flight: default 10000 */
	uint32_t reconnect_min_ms;   /* default 100 */
	uint32_t reconnect_max_ms;   /* default 5000 */
	uint32_t ack_interval_ms;    /* how often the ack file is written: default 200 */

	uint32_t poll_ms; /* the longest the owner's loop sleeps: default 5 */

	cdr_log_fn log;
	void *log_arg;
};

struct cdr_flusher_stats {
	uint64_t submitted;	/* accepted by cdr_flusher_submit() */
	uint64_t ring_full;	/* submits refused with -ENOBUFS (the producer kept the CDR) */
	uint64_t spooled;	/* appended to the spool */
	uint64_t sent;		/* records sent in batches (a replay sends again) */
	uint64_t acked;		/* records Redis answered for (a replay counts again) */
	uint64_t applied;	/* records the script applied (new to Redis) */
	uint64_t duplicates;	/* records of batches the script found all in Redis already */
	uint64_t filtered;	/* records not sent again: a partial answer said Redis had them */
	uint64_t refused;	/* batches refused (partial or gap, cdr_redis.h) and sent again */
	uint64_t batches;	/* stream batches answered */
	uint64_t stats_batches; /* counters batches answered */
	uint64_t connects;	/* handshakes completed */
	uint64_t redis_errors;	/* connection failures, error replies, timeouts */
	uint64_t spool_errors;	/* failed spool writes or syncs */
	uint64_t undecodable;	/* spool records that are not CDRs: skipped */
	bool connected;		/* a Redis connection is ready */
	bool synced;		/* nothing submitted is still to spool or to send */
	uint64_t boot;		/* this run's boot epoch (for ids) */
};

struct cdr_flusher;

/*
 * Create a flusher: copy cfg, open the spool (taking its lock), pick the boot
 * epoch (persisted in <spool_dir>/boot), allocate the rings. Redis is not
 * contacted yet: the first cdr_flusher_process() starts connecting. Returns 0
 * and *out, -EINVAL (config), -EBUSY (spool held by another process), -ENOMEM,
 * or -errno from the spool.
 */
int cdr_flusher_create(struct cdr_flusher **out, const struct cdr_flusher_config *cfg);

/*
 * Producer `producer` (0 <= producer < producers) hands over c. The record is
 * encoded into the producer's ring at once (c and its strings may be reused on
 * return); c->id is ignored and assigned later. Returns 0, -EMSGSIZE (a string
 * over its CDR_MAX_*), -ENOBUFS (ring full: the service thread is behind; the
 * record is not taken), -ESHUTDOWN (stopping), -EINVAL (producer index).
 * Lock-free, no system call.
 */
int cdr_flusher_submit(struct cdr_flusher *f, unsigned producer, const struct cdr *c);

/* ---- driven by the owner's loop ---- */

/* The socket to poll and *events for it, or -1 when there is none right now. */
int cdr_flusher_poll_fd(struct cdr_flusher *f, short *events);

/* The longest the loop may wait before the next cdr_flusher_process(), in ms. */
int cdr_flusher_poll_timeout(struct cdr_flusher *f);

/*
 * Do the work: the socket's revents (0 when it was not polled or had none),
 * then drain the rings into the spool, flush it, connect or reconnect, send
 * batches, take replies, persist the ack. Never blocks (the spool's write and
 * fdatasync aside).
 */
void cdr_flusher_process(struct cdr_flusher *f, short revents);

/* One round of poll() on the flusher's socket (at most wait_ms) and process. */
void cdr_flusher_run_once(struct cdr_flusher *f, int wait_ms);

/* ---- its own thread, until the service thread exists ---- */

/* Run the flusher on a thread of its own. Returns 0 or -errno of pthread_create. */
int cdr_flusher_start(struct cdr_flusher *f);

/*
 * Stop accepting (submit returns -ESHUTDOWN), then go on draining, spooling
 * and sending until everything is acknowledged or timeout_ms has passed; then
 * write the ack and stop the thread if there is one. Producers should have
 * stopped submitting before. Call it from the owner's thread, or from any
 * thread when cdr_flusher_start() was used. Returns 0 when all was exported (or
 * spooled, without Redis), -ETIMEDOUT when some is left in the spool for the
 * next start.
 */
int cdr_flusher_stop(struct cdr_flusher *f, uint32_t timeout_ms);

/* Stop (if not yet, with no wait), close the spool and Redis, free. NULL is allowed. */
void cdr_flusher_destroy(struct cdr_flusher *f);

void cdr_flusher_stats(const struct cdr_flusher *f, struct cdr_flusher_stats *st);

#endif
