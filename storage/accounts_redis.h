/* SPDX-License-Identifier: MIT */
/*
 * accounts_redis.h: SIP accounts read from Redis into an accounts table
 * (core/accounts.h), beside or instead of the accounts file.
 *
 * Keys (docs/redis.md, "Accounts"): one hash per account,
 * `<prefix>acct:<user>@<domain>` (split at the last '@', so a user may hold
 * one), with the fields `password`, `ha1_md5` (32 hex digits) and `ha1_sha256`
 * (64 hex digits); at least one of them. Other fields are ignored (a portal may
 * keep its own there). The rules are the accounts file's (docs/auth.md).
 *
 * accounts_redis_load() is blocking: one connection (TCP or a unix socket,
 * AUTH and SELECT when configured), SCAN MATCH <prefix>acct:* COUNT 1000, and
 * the HGETALLs of the keys found pipelined 256 at a time, every call bounded
 * by timeout_ms. It belongs on a loader thread, never on a worker. The table
 * it returns is a new one, owned by the caller, as accounts_load()'s.
 *
 * A malformed account (a key without '@', an empty user or domain, a field
 * that breaks a rule, no secret, a key that is not a hash) is skipped and
 * counted, never fatal: one bad row written by a portal must not empty the
 * table. Keys differing only in the domain's case are one account; which of
 * them wins is unspecified (SCAN order).
 */
#ifndef SIPRING_ACCOUNTS_REDIS_H
#define SIPRING_ACCOUNTS_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "core/accounts.h"

#define ACCOUNTS_REDIS_PREFIX_MAX 64 /* octets */

/* Zero or NULL means "the default" for every field. */
struct accounts_redis_config {
	const char *host;      /* an IP address; required unless unix_path */
	uint16_t port;	       /* default 6379 */
	const char *unix_path; /* a unix socket, instead of host and port */
	const char *password;  /* AUTH when set */
	unsigned db;	       /* SELECT when > 0 */
	const char *prefix;    /* key prefix, default "sipring:" */
	uint32_t timeout_ms;   /* connect, and each reply: default 2000 */
};

/*
 * Read every account under <prefix>acct:* into a new table in *out. Returns
 * the number of accounts in it (>= 0), *skipped (may be NULL) the number of
 * keys skipped as malformed, and, when some were, the reason for the first in
 * err ("KEY: FIELD: reason"; a password is never quoted). Or a negative errno,
 * *out NULL, with one line in err[0..errlen):
 *   -EINVAL        cfg has neither host nor unix_path, or a prefix too long;
 *   -ECONNREFUSED  cannot connect (refused, no such socket, unreachable);
 *   -ETIMEDOUT     the connect or a reply took longer than timeout_ms;
 *   -ECONNRESET    the connection broke during the load;
 *   -EPROTO        an error reply (e.g. NOAUTH, WRONGPASS), its text in err;
 *   -ENOMEM, -E2BIG (more than ACCOUNTS_MAX accounts).
 * Blocking; thread-safe (it shares nothing between calls).
 */
int accounts_redis_load(const struct accounts_redis_config *cfg, struct accounts **out,
			size_t *skipped, char *err, size_t errlen);

#endif
