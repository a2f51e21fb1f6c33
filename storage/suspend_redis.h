/* SPDX-License-Identifier: MIT */
/*
 * suspend_redis.h: brute-force suspensions (core/suspend.h) counted across
 * the nodes that share a Redis.
 *
 * Keys (docs/redis.md, "Suspensions"); <key> is "user@domain" or an address
 * as text, as suspend_list() shows it:
 *
 *   <prefix>susp:<key>       hash {failures}: the cluster's count, PEXPIRE
 *                            window_ms after each failure added
 *   <prefix>suspended:<key>  string, the end (realtime ms), PX the suspend time
 *   <prefix>suspended        sorted set: member <key>, score its end; the index
 *                            read back each round (no SCAN of the keyspace)
 *
 * One round (suspend_redis_sync()): take the table's deltas
 * (suspend_take_pending()) and, per key, run one script atomically in Redis:
 * a reset (a success) deletes the count; a key suspended in Redis adds
 * nothing (failures while suspended do not extend it, as locally); else the
 * failures are added and, when the count reaches retry, the key is suspended
 * (string + index, the count deleted so that a new count starts when it ends).
 * Then the index is pruned of ended suspensions and read back, and each
 * suspension, and each count returned by the scripts, is merged into the table
 * (suspend_apply_remote()). All pipelined: one round trip for the scripts,
 * one for the index.
 *
 * A clear (suspend_redis_clear()) deletes the three entries of the key in
 * Redis. It does not reach the other nodes' tables: a suspension they already
 * merged lasts there until it ends (or is cleared on each node). A Redis that
 * loses its data forgets the cluster's counts, never a node's own suspensions.
 *
 * Redis down. A round fails with -errno and logs once when failing starts and
 * once when it ends; the deltas it took are dropped (those failures stay
 * counted on their node only); the table keeps working. The next round
 * reconnects.
 *
 * Threads. A blocking hiredis 0.14 context with short timeouts (timeout_ms)
 * under a mutex: suspend_redis_sync() and suspend_redis_clear() may be called
 * from any thread, but block for up to a few timeouts; suspend_redis_start()
 * runs the rounds on a thread of its own every interval_ms, so that no worker
 * or loop ever waits for Redis.
 */
#ifndef SIPRING_SUSPEND_REDIS_H
#define SIPRING_SUSPEND_REDIS_H

#include <stdint.h>

#include "core/suspend.h"

enum suspend_redis_log_level {
	SUSPEND_REDIS_LOG_ERR = 3,
	SUSPEND_REDIS_LOG_WARNING = 4,
	SUSPEND_REDIS_LOG_INFO = 6
};

typedef void (*suspend_redis_log_fn)(void *arg, int level, const char *msg);

/* Zero means "the default" for every number. */
struct suspend_redis_config {
	const char *redis_host; /* an IP address; required unless redis_unix */
	uint16_t redis_port;	/* default 6379 */
	const char *redis_unix; /* a unix socket path, instead of host and port */
	const char *redis_password;
	unsigned redis_db;	  /* SELECT when > 0 */
	const char *prefix;	  /* key prefix, default "sipring:" (at most 64 octets) */
	uint32_t timeout_ms;	  /* connect and each reply: default 200 */
	uint32_t interval_ms;	  /* between rounds of the thread: default 500 */
	uint32_t window_ms;	  /* a count lives this long after its last failure:
				   * default the larger of 10 min and the suspend time */
	suspend_redis_log_fn log; /* NULL: "sipring suspend: ..." lines on stderr */
	void *log_arg;
};

struct suspend_redis;

/*
 * Create a sync for table s (copying cfg; s must outlive it) and turn the
 * table's tracking on (suspend_track()). Redis is not contacted yet. Returns
 * 0 and *out, -EINVAL (no host nor socket, prefix too long), -ENOMEM.
 */
int suspend_redis_create(struct suspend_redis **out, const struct suspend_redis_config *cfg,
			 struct suspend *s);

/*
 * One round at now_ms (CLOCK_REALTIME ms), connecting first when needed.
 * Returns the number of suspensions in force in the cluster, or -errno
 * (-ECONNREFUSED, -ETIMEDOUT, -EIO, -EPROTO for an error reply).
 */
int suspend_redis_sync(struct suspend_redis *sr, uint64_t now_ms);

/*
 * Delete key's count and suspension in Redis (key as suspend_clear() takes
 * it); the caller clears its own table with suspend_clear(). Blocking, up to
 * the timeouts. Returns 0 or -errno.
 */
int suspend_redis_clear(struct suspend_redis *sr, const char *key);

/* Run suspend_redis_sync() every interval_ms on a thread. 0, -EALREADY or -errno. */
int suspend_redis_start(struct suspend_redis *sr);

/* Stop that thread (promptly: it does not wait out the interval) and join it.
 * Safe when not started. */
void suspend_redis_stop(struct suspend_redis *sr);

/* Stop, close, turn tracking off, free. NULL is allowed. */
void suspend_redis_destroy(struct suspend_redis *sr);

#endif
