/* SPDX-License-Identifier: MIT */
/*
 * suspend.h: brute-force suspension of registering users and source addresses.
 *
 * A user (user@domain) that fails digest authentication `retry` times in a row
 * (VOS3000 SS_ENDPOINT_REGISTER_RETRY, default 6) is suspended for
 * `suspend_s` seconds (SS_ENDPOINT_REGISTER_SUSPEND, default 180): its
 * requests are refused (403, or dropped, the registrar's choice) until then.
 * With `by_ip`, the source address is counted and suspended the same way, so
 * that one address guessing many users' passwords is stopped too. A success
 * clears the user's count (and the address's). Suspensions can be listed and
 * cleared (management API).
 *
 * One table per node, shared by every worker: a user's REGISTERs may come to
 * any worker (different source ports land on different SO_REUSEPORT sockets),
 * so per-worker counts would allow workers x retry guesses. The table is split
 * in SUSPEND_SHARDS shards, each an open-addressed array under its own mutex:
 * a check is one hash, one uncontended lock and a few probes, and only
 * REGISTERs with credentials or from a suspended key touch it. Memory is
 * bounded: `capacity` entries in all; when a shard is full, the entry whose
 * last failure is oldest and that is not suspended is reused.
 *
 *   key = "u:" user "@" domain   or   "a:" address (binary, v4 or v6)
 *   entry { key hash, key (up to SUSPEND_KEY_MAX octets), failures,
 *           last failure (ms), suspended until (ms, 0 = not) }
 *
 * Counting across nodes (storage/suspend_redis.h) reads the table's changes
 * since the last sync, not the hot path: with tracking on (suspend_track()),
 * each entry keeps the failures not yet synced (`pending`) and whether a
 * success reset it; suspend_take_pending() hands them over and zeroes them,
 * and suspend_apply_remote() merges the cluster's counts and suspensions back
 * in. Without tracking the table behaves as a plain local one.
 */
#ifndef SIPRING_SUSPEND_H
#define SIPRING_SUSPEND_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "parsers/sv.h"

#define SUSPEND_SHARDS	64
#define SUSPEND_KEY_MAX 128 /* a longer user@domain is counted by its first octets */

struct suspend_conf {
	unsigned retry;	    /* failures that suspend, >= 1 (6) */
	uint32_t suspend_s; /* how long, seconds (180) */
	bool by_ip;	    /* also count and suspend source addresses */
};

struct suspend_entry;

struct suspend_shard {
	_Alignas(64) pthread_mutex_t lock;
	struct suspend_entry *e;
	unsigned cap; /* a power of two */
	unsigned used;
};

struct suspend {
	struct suspend_conf conf;
	struct suspend_shard shards[SUSPEND_SHARDS];
	bool track; /* keep deltas for a sync (suspend_track()); atomic access */
};

/* One suspension, as listed. */
struct suspend_info {
	bool is_addr;		       /* an address, else a user */
	char key[SUSPEND_KEY_MAX + 1]; /* "user@domain", or the address as text */
	unsigned failures;
	uint64_t until_ms; /* suspended until (CLOCK_REALTIME ms) */
};

/* Allocate for about `capacity` keys (at least 64 per shard). Returns 0,
 * -EINVAL or -ENOMEM. */
int suspend_init(struct suspend *s, const struct suspend_conf *c, unsigned capacity);

void suspend_fini(struct suspend *s);

/* Change retry / suspend_s / by_ip (a reload); suspensions in force keep their end. */
void suspend_set_conf(struct suspend *s, const struct suspend_conf *c);

/* Whether user@domain, or (with by_ip) the address `from`, is suspended at now_ms.
 * from may be NULL. Any thread. */
bool suspend_check(struct suspend *s, struct sv user, struct sv domain, const struct sockaddr *from,
		   uint64_t now_ms);

/* An authentication failure. Returns true when it suspended the user or the
 * address (so the caller logs it once). Any thread. */
bool suspend_failure(struct suspend *s, struct sv user, struct sv domain,
		     const struct sockaddr *from, uint64_t now_ms);

/* An authentication success: the counts of the user and the address restart. */
void suspend_success(struct suspend *s, struct sv user, struct sv domain,
		     const struct sockaddr *from);

/* The suspensions in force at now_ms, at most max into out; returns how many
 * there are in all (may exceed max). */
size_t suspend_list(struct suspend *s, uint64_t now_ms, struct suspend_info *out, size_t max);

/* Lift the suspension (and the count) of "user@domain" or of an address given
 * as text ("192.0.2.7", "2001:db8::1"). Returns 0 or -ENOENT. */
int suspend_clear(struct suspend *s, const char *key);

/* ---- the sync with other nodes (storage/suspend_redis.h) ---- */

/* What changed for one key since the last suspend_take_pending(). */
struct suspend_delta {
	bool is_addr;		       /* an address, else a user */
	bool reset;		       /* a success: the count restarts (before adding failures) */
	unsigned failures;	       /* failures to add */
	uint64_t until_ms;	       /* its local suspension (0 = none) */
	char key[SUSPEND_KEY_MAX + 1]; /* as suspend_list() shows it */
};

/* The configuration in force (a copy). Any thread. */
void suspend_get_conf(struct suspend *s, struct suspend_conf *c);

/* Turn delta tracking on (a sync exists) or off. With it on, a success keeps a
 * marker entry until the next suspend_take_pending(), so that the cluster's
 * count is reset too. Any thread. */
void suspend_track(struct suspend *s, bool on);

/* Move up to max keys with unsynced failures or a reset into out and zero
 * them there (reset markers with nothing else left are removed). Returns how
 * many were written; call again while it returns max. Any thread, meant for
 * the sync's. */
size_t suspend_take_pending(struct suspend *s, struct suspend_delta *out, size_t max);

/* Merge the cluster's view of key (text as suspend_clear() takes it): the
 * count becomes max(local, total_failures); the key is suspended until
 * max(local end, until_ms) when until_ms > now_ms, or from now_ms for
 * suspend_s when the count reached retry. Returns 1 when that newly suspended
 * it, 0 when not, -ENOENT for a key that is neither user@domain nor an
 * address, -ENOBUFS when its shard is full of suspended keys. Any thread. */
int suspend_apply_remote(struct suspend *s, const char *key, unsigned total_failures,
			 uint64_t until_ms, uint64_t now_ms);

#endif
