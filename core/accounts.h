/* SPDX-License-Identifier: MIT */
/*
 * accounts.h: the SIP accounts file (YAML, read with libyaml), for digest
 * authentication (core/auth.h).
 *
 *   accounts:
 *     - user: "1001"
 *       domain: sip.example.com
 *       password: s3cret
 *     - user: "1002"
 *       domain: sip.example.com
 *       ha1_md5: 0123...        # and/or ha1_sha256: ...
 *
 * accounts_load() reads the file as a stream (libyaml events, never a whole
 * document tree: a million accounts fit in a few hundred MiB less) into an
 * immutable table that owns all its bytes: one hash table over user@domain, one
 * array of entries, one region of strings. Built once, it is read-only: any
 * number of threads may call accounts_find() on it without a lock. The daemon
 * publishes it as a snapshot and replaces it on reload; the old one is freed
 * with accounts_free() once no reader holds it.
 *
 * Errors are one line, "FILE:LINE: KEY: reason", KEY being e.g.
 * "accounts[3].ha1_md5" (the index counts from 0). docs/auth.md has the format,
 * the rules and the bytes per account.
 *
 * The same table can be built from accounts given one by one (another source:
 * storage/accounts_redis.h) with a builder: accounts_builder_new(), _add() per
 * account, _finish(). The rules are the file's; a builder belongs to one thread.
 */
#ifndef SIPRING_ACCOUNTS_H
#define SIPRING_ACCOUNTS_H

#include <stddef.h>

#include "core/auth.h"
#include "parsers/sv.h"

#define ACCOUNTS_USER_MAX     128 /* octets */
#define ACCOUNTS_DOMAIN_MAX   253
#define ACCOUNTS_PASSWORD_MAX 256
#define ACCOUNTS_MAX	      (1u << 26) /* entries in one file */

struct accounts;

/*
 * Load path into a new table in *tab. Returns 0, or a negative errno (-EINVAL
 * for the file's content, -ENOENT and the like for opening it, -ENOMEM, -E2BIG
 * past ACCOUNTS_MAX) with "FILE:LINE: KEY: reason" in err[0..errlen). On failure
 * *tab is NULL and nothing is left allocated. An empty file, or `accounts:`
 * with no items, is an empty table.
 */
int accounts_load(const char *path, struct accounts **tab, char *err, size_t errlen);

/*
 * The account user@domain, or NULL. The user compares octet for octet, the
 * domain without regard to ASCII case. The entry and its views live as long as
 * tab. Thread-safe, lock-free.
 */
const struct auth_account *accounts_find(const struct accounts *tab, struct sv user,
					 struct sv domain);

/* How many accounts tab holds, and the bytes it occupies (for docs/metrics). */
size_t accounts_count(const struct accounts *tab);
size_t accounts_bytes(const struct accounts *tab);

/* Free tab (NULL-safe). No reader may hold it any more. */
void accounts_free(struct accounts *tab);

/* ---- building a table from accounts given one by one ---- */

struct accounts_builder;

/* A new, empty builder in *b. Returns 0 or -ENOMEM. */
int accounts_builder_new(struct accounts_builder **b);

/*
 * Add user@domain with its secrets: password (empty: none) and/or the HA1s
 * ha1_md5 (16 octets) and ha1_sha256 (32 octets), each NULL when absent; at
 * least one secret. The strings are copied (the domain in lower case); the
 * rules and limits are the file's (ACCOUNTS_USER_MAX, ACCOUNTS_DOMAIN_MAX,
 * ACCOUNTS_PASSWORD_MAX, no control characters, ...). Returns 0, -EINVAL with
 * "FIELD: reason" in err[0..errlen) (FIELD: user, domain, password or account;
 * a password is never quoted), -ENOMEM, or -E2BIG past ACCOUNTS_MAX accounts.
 * A refused account leaves the builder as it was: the caller may go on.
 *
 * The same user@domain (domain in any case) added again replaces the earlier
 * one: the later wins, silently. A caller merging sources adds the one that
 * must take precedence last.
 */
int accounts_builder_add(struct accounts_builder *b, struct sv user, struct sv domain,
			 struct sv password, const uint8_t *ha1_md5, const uint8_t *ha1_sha256,
			 char *err, size_t errlen);

/*
 * The table of the accounts added, in *tab (as accounts_load()'s: immutable,
 * freed with accounts_free()). Frees b, whatever the result. Returns 0, or
 * -ENOMEM with *tab NULL.
 */
int accounts_builder_finish(struct accounts_builder *b, struct accounts **tab);

/* Free a builder that will not be finished (NULL-safe). */
void accounts_builder_free(struct accounts_builder *b);

#endif
