/* SPDX-License-Identifier: MIT */
/*
 * domain_redis.h: the domain table (domains.h) mirrored in Redis, so that the
 * nodes sharing a Redis resolve each name once between them and portals see
 * the same view.
 *
 * Keys (docs/domains.md, "Redis"); <id> is "<kind>:<name>", e.g.
 * "host:sip.carrier.example", "srv:_sip._udp.carrier.example":
 *
 *   <prefix>domain:<id>       hash {name, kind, status, fail, addresses, ttl,
 *                             resolved_at, checked_at, expires_at,
 *                             stale_until, next_refresh, error, node};
 *                             PEXPIREAT keep_ms after the last of
 *                             stale_until, next_refresh
 *   <prefix>domains           sorted set: member <id>, score the hash's
 *                             expiry (ms); members past it pruned on writes
 *   <prefix>domain:lock:<id>  string: the node refreshing it; PX lock_ms
 *
 * The rules (the mirror hooks the table's refreshes, domains_set_mirror()):
 *
 * 1. An entry is due for a refresh (not forced). One script, atomically: if
 *    the hash's next_refresh is still ahead, the table imports the hash (no
 *    DNS); else if SET lock NX PX succeeds (or the lock is already this
 *    node's), this node asks DNS; else another node is refreshing it: the
 *    table imports the hash when it is newer than its own and asks again
 *    after busy_retry_ms.
 * 2. A resolution by this node ends (any outcome, a forced one too): one
 *    script writes the hash whole (DEL, HSET, PEXPIREAT) unless the hash holds
 *    a newer resolution (resolved_at), updates the index, prunes it, and
 *    releases the lock when it is this node's.
 * 3. A node that dies holding the lock delays the name's refresh by lock_ms at
 *    most; the others serve what they have meanwhile (stale past its TTL).
 * 4. Redis down or slow: the refreshes go on alone, as without a mirror (the
 *    scripts in flight are answered "resolve alone"); on every reconnect the
 *    entries this node resolved are written again.
 * 5. A forced refresh (domains_resolve_now()) asks DNS without the lock; its
 *    result is written as in 2. Other nodes take it at their next refresh.
 * Removing a name from one node touches no key: the hash expires by itself.
 * Times are realtime ms: keep the nodes' clocks in sync (NTP).
 *
 * Connection as in location_redis.h: hiredis 0.14, a non-blocking
 * redisContext without the async layer, polled by the owner's loop; AUTH and
 * SELECT when configured; the two scripts loaded once per connection (SCRIPT
 * LOAD, then EVALSHA; a NOSCRIPT reply reconnects, which loads them again).
 *
 * Threads. Everything belongs to the table's owner thread (the service
 * thread): its loop calls domain_redis_poll_fd() / _poll_timeout() /
 * _process() beside domains_poll_fds() / ... . domain_redis_stats() may be
 * called from any thread (rough figures).
 */
#ifndef SIPRING_DOMAIN_REDIS_H
#define SIPRING_DOMAIN_REDIS_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parsers/sv.h"
#include "storage/domains.h"

enum domain_redis_log_level {
	DOMAIN_REDIS_LOG_ERR = 3,
	DOMAIN_REDIS_LOG_WARNING = 4,
	DOMAIN_REDIS_LOG_INFO = 6
};

typedef void (*domain_redis_log_fn)(void *arg, int level, const char *msg);

/* Zero means "the default" for every number. */
struct domain_redis_config {
	const char *redis_host; /* an IP address; required unless redis_unix */
	uint16_t redis_port;	/* default 6379 */
	const char *redis_unix; /* a unix socket path, instead of host and port */
	const char *redis_password;
	unsigned redis_db;	     /* SELECT when > 0 */
	const char *prefix;	     /* key prefix, default "sipring:" (at most 64 octets) */
	const char *node;	     /* this node's name, 1..64 octets, no ':' (required) */
	uint32_t lock_ms;	     /* the refresh lock's life: default 15000 (longer than a
				      * resolution: dns.timeout × (2^tries - 1) × servers × 3 stages) */
	uint32_t busy_retry_ms;	     /* another node refreshes: ask again after, default 250 */
	uint32_t keep_ms;	     /* a hash outlives its stale_until by: default 60000 */
	uint32_t inflight;	     /* scripts sent and not answered: default 256 */
	uint32_t connect_timeout_ms; /* default 2000 */
	uint32_t reply_timeout_ms;   /* no reply while some are due: default 2000 */
	uint32_t reconnect_min_ms;   /* default 100 */
	uint32_t reconnect_max_ms;   /* default 5000 */
	uint32_t poll_ms;	     /* the longest the owner's loop sleeps: default 50 */
	domain_redis_log_fn log;     /* NULL: "sipring domains redis: ..." lines on stderr */
	void *log_arg;
};

struct domain_redis_stats {
	uint64_t gates;	       /* refreshes asked about */
	uint64_t locked;       /* of those, this node took the lock: it resolved */
	uint64_t imported;     /* of those, the hash was fresh: imported */
	uint64_t busy;	       /* of those, another node held the lock */
	uint64_t alone;	       /* refreshes let go alone (Redis down, queue full) */
	uint64_t writes;       /* hashes written (acknowledged) */
	uint64_t stale_writes; /* writes refused: the hash held a newer resolution */
	uint64_t connects;     /* handshakes completed */
	uint64_t redis_errors; /* connection failures, error replies, timeouts */
	bool connected;
};

struct domain_redis;

/*
 * Create the mirror of table d (copying cfg) and hook it (domains_set_mirror()).
 * Redis is not contacted: the first domain_redis_process() does; until it is
 * ready, refreshes go alone. Returns 0 and *out, -EINVAL (no host nor socket,
 * no node, prefix too long), -ENOMEM.
 */
int domain_redis_create(struct domain_redis **out, const struct domain_redis_config *cfg,
			struct domains *d);

/* Unhook (the entries waiting for an answer resolve alone), close, free. NULL is allowed. */
void domain_redis_destroy(struct domain_redis *dr);

/* ---- driven by the owner's loop ---- */

/* The socket to poll and *events for it, or -1 when there is none right now. */
int domain_redis_poll_fd(struct domain_redis *dr, short *events);

/* The longest the loop may wait before the next domain_redis_process(), in ms. */
int domain_redis_poll_timeout(struct domain_redis *dr);

/*
 * Do the work: the socket's revents (0 when it was not polled or had none),
 * then connect or reconnect, read replies (answering the table), send. Never
 * blocks.
 */
void domain_redis_process(struct domain_redis *dr, short revents);

/* One round of poll() on the socket (at most wait_ms), then process. For tests and tools. */
void domain_redis_run_once(struct domain_redis *dr, int wait_ms);

void domain_redis_stats(const struct domain_redis *dr, struct domain_redis_stats *st);

/* ---- the hash's values, exposed for tests and tools ---- */

/*
 * The `addresses` value of an entry: items joined by ',', each
 * "<ip>:<port>;<priority>;<weight>;<transport>;<target>;<order>;<preference>"
 * (IPv6 as "[2001:db8::1]:5060"; transport "" udp tcp tls). Written into buf
 * (cap octets, with a NUL). Returns its length, -ENOSPC, or -EINVAL (an
 * address's target index out of range).
 */
int domain_redis_encode_addrs(const struct domains_info *e, char *buf, size_t cap);

/* An entry read back from a hash: e's pointers point into the struct. */
struct domain_redis_entry {
	struct domains_info e;
	struct domains_target targets[DOMAINS_TARGETS_MAX];
	struct domains_addr addrs[DOMAINS_ADDRS_MAX];
	char tnames[DOMAINS_TARGETS_MAX][DOMAINS_NAME_MAX + 1];
	char name[DOMAINS_NAME_MAX + 1];
	char error[DOMAINS_ERROR_MAX];
	char node[DOMAINS_NODE_MAX + 1];
};

/*
 * Read a hash (n field/value pairs: kv[2i] the field, kv[2i+1] its value, as
 * HGETALL gives them) into *out. Unknown fields are ignored. Returns 0, or
 * -EBADMSG (a field missing or unreadable).
 */
int domain_redis_decode(const struct sv *kv, unsigned n, struct domain_redis_entry *out);

#endif
