/* SPDX-License-Identifier: MIT */
/*
 * location_redis.h: the location table (location.h) written behind to Redis,
 * and loaded back from it at start.
 *
 * Keys (docs/redis.md, "Registrations"): one hash per AOR,
 * `<prefix>loc:<aor>`, one field per binding (its identity: the contact URI,
 * or "<+sip.instance>;reg-id=<n>"), the value a CSV line of the binding; the
 * key's PEXPIREAT is the latest expiry of its bindings.
 *
 * Write-behind. The writer listens to the table's changes (it is the table's
 * listener, location_set_listener()) and keeps a set of dirty AORs: repeated
 * changes of an AOR, while Redis is slow or down, are one entry. When Redis is
 * ready it takes dirty AORs, reads their current bindings from the table and
 * sends, per batch of up to `batch` AORs, one transaction: MULTI, then per
 * AOR DEL + HSET + PEXPIREAT (or only DEL when it has no binding left), EXEC;
 * up to `inflight` batches pipelined. Writing an AOR's whole state makes a
 * write idempotent and a replay harmless; the transaction means a portal
 * never sees an AOR half written.
 *
 * Redis down. On a connection failure the AORs of the batches in flight go
 * back to the dirty set; the connection is retried with exponential backoff
 * (reconnect_min_ms doubling to reconnect_max_ms). On every new connection
 * but the first after location_redis_load(), the whole table is written again
 * (a resynchronisation, walking the table a few hundred AORs per round beside
 * the dirty ones): the Redis that comes back may be a restarted one that lost
 * writes it had acknowledged. A failure is logged when it starts and when it
 * ends, not on every retry.
 *
 * Connection as in cdr_flusher.h: hiredis 0.14, a non-blocking redisContext
 * without the async layer, polled by the owner's loop; TCP to an IP address or
 * a unix socket; AUTH and SELECT when configured; writes with
 * send(MSG_NOSIGNAL).
 *
 * Threads. Everything here belongs to the table's owner thread (the service
 * thread): the changes it listens to are made there, and its loop calls
 * location_redis_poll_fd() / _poll_timeout() / _process().
 * location_redis_stats() may be called from any thread (rough figures).
 */
#ifndef SIPRING_LOCATION_REDIS_H
#define SIPRING_LOCATION_REDIS_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "location.h"

enum location_log_level { LOCATION_LOG_ERR = 3, LOCATION_LOG_WARNING = 4, LOCATION_LOG_INFO = 6 };

typedef void (*location_log_fn)(void *arg, int level, const char *msg);

/* Zero means "the default" for every number. */
struct location_redis_config {
	const char *redis_host; /* an IP address; required unless redis_unix */
	uint16_t redis_port;	/* default 6379 */
	const char *redis_unix; /* a unix socket path, instead of host and port */
	const char *redis_password;
	unsigned redis_db;	     /* SELECT when > 0 */
	const char *prefix;	     /* key prefix, default "sipring:" (at most 64 octets) */
	uint32_t batch;		     /* AORs per transaction: default 128 */
	uint32_t inflight;	     /* transactions sent and not yet answered: default 8 */
	uint32_t connect_timeout_ms; /* default 2000 (also of location_redis_load()) */
	uint32_t reply_timeout_ms;   /* no reply while some are due: default 10000 */
	uint32_t reconnect_min_ms;   /* default 100 */
	uint32_t reconnect_max_ms;   /* default 5000 */
	uint32_t poll_ms;	     /* the longest the owner's loop sleeps: default 5 */
	location_log_fn log;	     /* NULL: "sipring location: ..." lines on stderr */
	void *log_arg;
};

struct location_redis_stats {
	uint64_t dirty;	       /* AORs waiting to be written */
	uint64_t written;      /* AOR writes acknowledged (HSET + PEXPIREAT) */
	uint64_t deleted;      /* AOR deletions acknowledged */
	uint64_t batches;      /* transactions acknowledged */
	uint64_t connects;     /* handshakes completed */
	uint64_t resyncs;      /* whole-table writes started */
	uint64_t redis_errors; /* connection failures, error replies, timeouts */
	uint64_t loaded;       /* bindings read by location_redis_load() */
	uint64_t load_expired; /* of those, dropped as expired */
	uint64_t load_bad;     /* values that could not be read: dropped */
	bool connected;	       /* a connection is ready */
	bool synced;	       /* connected, nothing dirty, in flight or left to resync */
};

struct location_redis;

/*
 * Create a writer for table t (copying cfg) and make it t's change listener.
 * Redis is not contacted: location_redis_load() or the first
 * location_redis_process() does. Returns 0 and *out, -EINVAL, -ENOMEM.
 */
int location_redis_create(struct location_redis **out, const struct location_redis_config *cfg,
			  struct location *t);

/*
 * Read every binding under <prefix>loc:* back into the table (SCAN with a
 * pattern, pipelined HGETALLs), dropping those that expired by now_ms
 * (realtime ms) and values that cannot be read; the AORs that had such are
 * marked dirty, so that Redis is cleaned of them. Blocking, with the connect
 * and reply timeouts: call it at start, before the loop runs. Bindings already
 * in the table with the same identity are replaced. Returns the number of
 * bindings loaded, or -errno (-ECONNREFUSED, -ETIMEDOUT, -EPROTO for an error
 * reply, -ENOMEM); the table keeps what was loaded before an error.
 */
int64_t location_redis_load(struct location_redis *lr, int64_t now_ms);

/* ---- driven by the owner's loop ---- */

/* The socket to poll and *events for it, or -1 when there is none right now. */
int location_redis_poll_fd(struct location_redis *lr, short *events);

/* The longest the loop may wait before the next location_redis_process(), in ms. */
int location_redis_poll_timeout(struct location_redis *lr);

/*
 * Do the work: the socket's revents (0 when it was not polled or had none),
 * then connect or reconnect, read replies, send dirty AORs and the
 * resynchronisation. Never blocks.
 */
void location_redis_process(struct location_redis *lr, short revents);

/* One round of poll() on the socket (at most wait_ms), then process. */
void location_redis_run_once(struct location_redis *lr, int wait_ms);

/* Stop listening to the table, close, free. NULL is allowed. Does not flush. */
void location_redis_destroy(struct location_redis *lr);

void location_redis_stats(const struct location_redis *lr, struct location_redis_stats *st);

/*
 * The CSV value of a binding (docs/redis.md): written into buf (cap octets).
 * Returns its length, or -ENOSPC. And back: parse value into *b, whose string
 * views point into scratch (cap octets, at least value's length); aor is the
 * view b->aor gets. Returns 0 or -EBADMSG. Exposed for tests and tools.
 */
int location_redis_encode(const struct location_binding *b, char *buf, size_t cap);
int location_redis_decode(struct sv value, struct sv aor, struct location_binding *b, char *scratch,
			  size_t cap);

#endif
