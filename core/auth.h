/* SPDX-License-Identifier: MIT */
/*
 * auth.h: SIP digest authentication, server side (RFC 3261 §22, RFC 7616,
 * RFC 8760), hashed with OpenSSL's EVP (MD5, SHA-256).
 *
 * Three parts, with three owners:
 *
 *   struct auth_ctx   the node's settings and nonce secret. Filled once by
 *                     auth_init() and read-only afterwards: any number of workers
 *                     may use one context at once without a lock.
 *   struct auth_nc    one per worker (the caller owns it): the highest nonce-count
 *                     seen for each recently used nonce, for replay protection.
 *                     Bounded (auth_nc_init() sizes it once); not thread-safe.
 *   struct auth_account   what verification needs of one account: its views
 *                     belong to whoever provides it (core/accounts.h's table).
 *
 * Nonces are stateless: nonce = base64url(ts || rnd || mac), 32 octets = 43
 * characters, where ts is the issue time in milliseconds (8 octets, big endian),
 * rnd 8 octets unique per thread (a counter from a random start, scrambled), and mac = HMAC-SHA256(secret, ts || rnd || realm)[0..16).
 * Any worker or node holding the secret can check one; it is stale after
 * nonce_expire seconds. docs/auth.md says what is accepted and refused, and why.
 *
 * Time is the caller's: `now_ms` is CLOCK_REALTIME in milliseconds (nodes that
 * share a secret share the clock's meaning).
 */
#ifndef SIPRING_AUTH_H
#define SIPRING_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parsers/sip_hdr.h"
#include "parsers/sip_msg-t.h"
#include "parsers/sv.h"

enum auth_alg {
	AUTH_MD5 = 0,
	AUTH_SHA256 = 1,
};
#define AUTH_ALG_COUNT 2

#define AUTH_SECRET_LEN	    32	  /* octets of the HMAC key */
#define AUTH_HASH_MAX	    32	  /* octets of the longest digest (SHA-256) */
#define AUTH_HEX_MAX	    64	  /* its hex form */
#define AUTH_NONCE_LEN	    43	  /* base64url of 32 octets, no padding */
#define AUTH_EXPIRE_DEFAULT 300	  /* seconds a nonce stays fresh */
#define AUTH_NC_DEFAULT	    65536 /* nonce-count slots per worker */

/*
 * What auth_verify() decided. The registrar maps it to an answer:
 *   OK             proceed;
 *   STALE          the digest is right but the nonce is old or not ours
 *                  (expired, issued before a restart, forgotten): 401/407 with
 *                  stale=true, the UA retries without asking its user;
 *   FAIL           wrong credentials (password, user, realm, replayed nc): a new
 *                  challenge, and one count toward brute-force suspension;
 *   NO_CREDENTIALS, UNKNOWN_SCHEME, UNSUPPORTED (an algorithm or qop we do not
 *                  offer): a challenge, no count;
 *   BAD_REQUEST    malformed credentials: 400;
 *   ERROR          OpenSSL failed (out of memory): 500.
 */
enum auth_status {
	AUTH_OK = 0,
	AUTH_STALE,
	AUTH_FAIL,
	AUTH_NO_CREDENTIALS,
	AUTH_UNKNOWN_SCHEME,
	AUTH_UNSUPPORTED,
	AUTH_BAD_REQUEST,
	AUTH_ERROR,
};

/* Settings given to auth_init(); zero fields take their defaults. */
struct auth_opts {
	struct sv secret;      /* empty: 32 random octets (RAND_bytes); else any string
				 * of >= 16 octets, keyed as SHA-256(secret), shared by
				 * every worker and node that must accept the nonces */
	uint32_t nonce_expire; /* seconds, default AUTH_EXPIRE_DEFAULT */
	const uint8_t *algs;   /* enum auth_alg, preferred first; default SHA-256, MD5 */
	unsigned nalgs;	       /* 1..AUTH_ALG_COUNT, no repeats; 0 = the default */
	bool refuse_rfc2069;   /* refuse credentials without qop (RFC 2069 form) */
};

struct auth_ctx {
	uint8_t key[AUTH_SECRET_LEN];
	uint32_t nonce_expire; /* seconds */
	uint8_t algs[AUTH_ALG_COUNT];
	uint8_t nalgs;
	bool refuse_rfc2069;
};

/* What verification needs of an account; the views belong to the provider. */
struct auth_account {
	struct sv user;		   /* as the UA sends it in username= */
	struct sv realm;	   /* the realm stored HA1s were computed for (its domain) */
	struct sv password;	   /* empty when only HA1s are stored */
	const uint8_t *ha1_md5;	   /* 16 octets, or NULL */
	const uint8_t *ha1_sha256; /* 32 octets, or NULL */
};

/* One nonce-count record (32 octets). */
struct auth_nc_slot {
	uint8_t tag[16]; /* the nonce's mac: unique per nonce */
	uint64_t ts;	 /* the nonce's issue time (ms); 0 = free */
	uint32_t nc;	 /* highest nonce-count accepted */
	uint32_t pad_;
};

/*
 * Per-worker replay table: open addressing, a nonce lives in one of
 * AUTH_NC_PROBE slots from its hash. A full window evicts its oldest nonce and
 * raises `forgot_ts`: a later nonce not found and issued at or before forgot_ts
 * may have been forgotten, so it is answered STALE, never trusted as new.
 */
#define AUTH_NC_PROBE 8
struct auth_nc {
	struct auth_nc_slot *slot;
	uint32_t mask;	    /* slots - 1 (a power of two) */
	uint64_t forgot_ts; /* newest issue time evicted while still fresh */
	uint64_t evictions; /* fresh records evicted: a table too small if it grows */
	void *md;	    /* the worker's OpenSSL digest context (EVP_MD_CTX), reused */
};

/* Name of an algorithm as written in algorithm= ("MD5", "SHA-256"). */
const char *auth_alg_name(enum auth_alg alg);

/* Algorithm of a name (case-insensitive). Returns 0, or -ENOTSUP for "-sess"
 * variants and any other name. */
int auth_alg_parse(struct sv name, enum auth_alg *alg);

/* Digest length of an algorithm in octets (16 or 32). */
size_t auth_alg_len(enum auth_alg alg);

/* Readable text of a status ("ok", "stale", ...). */
const char *auth_status_str(enum auth_status st);

/*
 * Fill ctx from o (NULL: all defaults). Returns 0, -EINVAL for a bad option (a
 * secret under 16 octets, an unknown or repeated algorithm, nalgs too large),
 * or -EIO when OpenSSL cannot give random octets. Nothing to free.
 */
int auth_init(struct auth_ctx *ctx, const struct auth_opts *o);

/*
 * Make a nonce for realm at now_ms into out (AUTH_NONCE_LEN characters, no NUL).
 * Returns 0 or -EIO (RAND_bytes failed). Thread-safe.
 */
int auth_nonce(const struct auth_ctx *ctx, struct sv realm, uint64_t now_ms,
	       char out[AUTH_NONCE_LEN]);

/*
 * Write one challenge value into buf:
 *   Digest realm="R", nonce="N", algorithm=SHA-256, qop="auth"[, stale=true]
 * with nonce as given (from auth_nonce()). The realm is quoted with '"' and '\'
 * escaped. Returns the length (buf is also NUL-terminated), or -ENOBUFS. No
 * allocation; thread-safe.
 */
int auth_challenge(struct sv realm, struct sv nonce, enum auth_alg alg, bool stale, char *buf,
		   size_t cap);

/*
 * Write the whole set of challenge header lines for a 401 (proxy false:
 * "WWW-Authenticate: ...\r\n") or a 407 (proxy true: "Proxy-Authenticate:"),
 * one per offered algorithm, preferred first (RFC 8760 §2.4), all with one new
 * nonce. Returns the length written (NUL-terminated too), -ENOBUFS, or -EIO.
 */
int auth_challenge_headers(const struct auth_ctx *ctx, bool proxy, struct sv realm, bool stale,
			   uint64_t now_ms, char *buf, size_t cap);

/*
 * Pick the credentials of a request for realm: the first Authorization (proxy
 * false) or Proxy-Authorization (proxy true) header that is Digest with that
 * realm, parsed into *cred (views into the message). Returns AUTH_OK,
 * AUTH_NO_CREDENTIALS (none, or only for other realms), AUTH_UNKNOWN_SCHEME
 * (only other schemes: RFC 4475 regaut01), or AUTH_BAD_REQUEST (a header that
 * does not parse). *reason (may be NULL) gets a static string.
 */
enum auth_status auth_find_credentials(const struct sip_msg *m, bool proxy, struct sv realm,
				       struct sip_auth *cred, const char **reason);

/*
 * H(user:realm:password) with alg into out (auth_alg_len(alg) octets): the HA1
 * that an accounts file may store instead of the password. Returns 0 or -ENOMEM.
 */
int auth_ha1(enum auth_alg alg, struct sv user, struct sv realm, struct sv password, uint8_t *out);

/*
 * The response a UA holding acct must send for cred (its nonce, uri, qop, nc,
 * cnonce and algorithm) and method, as lowercase hex in out (NUL-terminated).
 * Realm is the one the challenge named. Returns the hex length, -ENOTSUP for an
 * algorithm or qop not supported, -ENOKEY when acct has no password and no HA1
 * usable for alg and realm, -ENOMEM. Used by auth_verify(), by tests, and by a
 * future client side.
 */
int auth_response(const struct auth_account *acct, struct sv realm, struct sv method,
		  const struct sip_auth *cred, char out[AUTH_HEX_MAX + 1]);

/* HMAC-SHA256(key, data) into out, as nonces are signed (exposed for tests).
 * Returns 0 or -ENOMEM. Thread-safe. */
int auth_hmac_sha256(const uint8_t key[AUTH_SECRET_LEN], const void *data, size_t len,
		     uint8_t out[32]);

/* Allocate a replay table of at least `slots` slots (rounded up to a power of
 * two, at least AUTH_NC_PROBE; 0 = AUTH_NC_DEFAULT). Returns 0 or -ENOMEM. */
int auth_nc_init(struct auth_nc *t, uint32_t slots);
void auth_nc_free(struct auth_nc *t);

/*
 * Verify Digest credentials cred (from auth_find_credentials()) of a request
 * with method against acct (NULL: unknown user, FAIL) for realm, at now_ms.
 * The nonce must be ours (MAC) and fresh, the response right; then nc must be
 * above the highest seen for that nonce in nc (a worker's table), which records
 * it. Returns the status and a static reason in *reason (may be NULL).
 * Thread-safety: ctx and acct shared read-only; nc is the calling worker's.
 */
enum auth_status auth_verify(const struct auth_ctx *ctx, struct auth_nc *nc,
			     const struct sip_auth *cred, struct sv method, struct sv realm,
			     const struct auth_account *acct, uint64_t now_ms, const char **reason);

#endif
