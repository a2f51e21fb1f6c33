/* SPDX-License-Identifier: MIT */
/*
 * auth.c: SIP digest authentication (see auth.h, docs/auth.md).
 *
 * A nonce, before base64url:
 *
 *   0        8        16                       32
 *   ┌────────┬────────┬────────────────────────┐
 *   │ ts (ms)│  rnd   │ HMAC-SHA256(key, ts‖rnd‖realm)[0..16) │
 *   └────────┴────────┴────────────────────────┘
 *
 * Verification order matters: the response is computed and compared before the
 * nonce's freshness decides between OK and STALE, so that stale=true is only
 * ever said to a UA that knows the password (RFC 2617 §3.2.1), and the
 * nonce-count table is written only for a right response, so that a wrong
 * guess cannot burn a legitimate UA's counter.
 */
#include "auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "parsers/sip_msg.h"

#define AUTH_REALM_MAX 255  /* a realm is a domain name */
#define AUTH_SKEW_MS   5000 /* a nonce from a node whose clock is ahead by up to this */
#define NONCE_RAW      32
#define MAC_LEN	       16

static const char *const alg_names[AUTH_ALG_COUNT] = { "MD5", "SHA-256" };

const char *auth_alg_name(enum auth_alg alg)
{
	return (unsigned)alg < AUTH_ALG_COUNT ? alg_names[alg] : "?";
}

int auth_alg_parse(struct sv name, enum auth_alg *alg)
{
	for (unsigned i = 0; i < AUTH_ALG_COUNT; i++) {
		if (sv_caseeq_lit(name, alg_names[i])) {
			*alg = (enum auth_alg)i;
			return 0;
		}
	}
	return -ENOTSUP;
}

size_t auth_alg_len(enum auth_alg alg)
{
	return alg == AUTH_SHA256 ? 32 : 16;
}

const char *auth_status_str(enum auth_status st)
{
	static const char *const names[] = {
		[AUTH_OK] = "ok",
		[AUTH_STALE] = "stale",
		[AUTH_FAIL] = "fail",
		[AUTH_NO_CREDENTIALS] = "no credentials",
		[AUTH_UNKNOWN_SCHEME] = "unknown scheme",
		[AUTH_UNSUPPORTED] = "unsupported",
		[AUTH_BAD_REQUEST] = "bad request",
		[AUTH_ERROR] = "error",
	};
	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

/*
 * The digests, fetched once. EVP_md5()/EVP_sha256() and HMAC() look the
 * algorithm up by name in the provider store on every call; that lookup was
 * a third of the registrar's CPU (bench/registrar). The fetched objects live
 * as long as the process.
 */
static EVP_MD *md_fetched[AUTH_ALG_COUNT];
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void)
{
	md_fetched[AUTH_MD5] = EVP_MD_fetch(NULL, "MD5", NULL);
	md_fetched[AUTH_SHA256] = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *alg_md(enum auth_alg alg)
{
	pthread_once(&md_once, md_fetch);
	if (md_fetched[alg])
		return md_fetched[alg];
	return alg == AUTH_SHA256 ? EVP_sha256() : EVP_md5();
}

/* ---- settings ---- */

int auth_init(struct auth_ctx *ctx, const struct auth_opts *o)
{
	static const struct auth_opts defaults = { 0 };
	unsigned seen = 0;

	if (!o)
		o = &defaults;
	memset(ctx, 0, sizeof(*ctx));
	ctx->nonce_expire = o->nonce_expire ? o->nonce_expire : AUTH_EXPIRE_DEFAULT;
	ctx->refuse_rfc2069 = o->refuse_rfc2069;
	if (o->nalgs > AUTH_ALG_COUNT || (o->nalgs && !o->algs))
		return -EINVAL;
	if (!o->nalgs) {
		/* RFC 8760 §2.4: the preferred algorithm first. */
		ctx->algs[0] = AUTH_SHA256;
		ctx->algs[1] = AUTH_MD5;
		ctx->nalgs = 2;
	} else {
		for (unsigned i = 0; i < o->nalgs; i++) {
			if (o->algs[i] >= AUTH_ALG_COUNT || (seen & (1u << o->algs[i])))
				return -EINVAL;
			seen |= 1u << o->algs[i];
			ctx->algs[i] = o->algs[i];
		}
		ctx->nalgs = (uint8_t)o->nalgs;
	}
	if (o->secret.len) {
		unsigned int n = 0;

		if (o->secret.len < 16)
			return -EINVAL;
		/* Any passphrase becomes a full-size key. */
		if (!EVP_Digest(o->secret.p, o->secret.len, ctx->key, &n, EVP_sha256(), NULL))
			return -EIO;
	} else if (RAND_bytes(ctx->key, sizeof(ctx->key)) != 1) {
		return -EIO;
	}
	return 0;
}

/* ---- hashing ---- */

static void hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* H(parts[0] ":" parts[1] ":" ...) into out. */
static int hash_join(EVP_MD_CTX *c, enum auth_alg alg, const struct sv *parts, size_t n,
		     uint8_t *out)
{
	unsigned int len = 0;

	if (!EVP_DigestInit_ex(c, alg_md(alg), NULL))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (i && !EVP_DigestUpdate(c, ":", 1))
			return -ENOMEM;
		if (parts[i].len && !EVP_DigestUpdate(c, parts[i].p, parts[i].len))
			return -ENOMEM;
	}
	if (!EVP_DigestFinal_ex(c, out, &len))
		return -ENOMEM;
	return 0;
}

int auth_ha1(enum auth_alg alg, struct sv user, struct sv realm, struct sv password, uint8_t *out)
{
	const struct sv parts[] = { user, realm, password };
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ret;

	if (!c)
		return -ENOMEM;
	ret = hash_join(c, alg, parts, 3, out);
	EVP_MD_CTX_free(c);
	return ret;
}

static int response_with(EVP_MD_CTX *c, const struct auth_account *acct, struct sv realm,
			 struct sv method, const struct sip_auth *cred, enum auth_alg alg,
			 char out[AUTH_HEX_MAX + 1])
{
	size_t n = auth_alg_len(alg);
	uint8_t h[AUTH_HASH_MAX];
	char ha1[AUTH_HEX_MAX + 1], ha2[AUTH_HEX_MAX + 1];
	const uint8_t *stored = alg == AUTH_SHA256 ? acct->ha1_sha256 : acct->ha1_md5;
	int ret;

	/* A stored HA1 holds the account's realm; another realm needs the password. */
	if (stored && sv_eq(realm, acct->realm)) {
		hex(stored, n, ha1);
	} else if (acct->password.len) {
		const struct sv p1[] = { acct->user, realm, acct->password };

		ret = hash_join(c, alg, p1, 3, h);
		if (ret)
			return ret;
		hex(h, n, ha1);
	} else {
		return -ENOKEY;
	}
	{
		const struct sv p2[] = { method, cred->uri };

		ret = hash_join(c, alg, p2, 2, h);
		if (ret)
			return ret;
		hex(h, n, ha2);
	}
	if (cred->qop.len) {
		const struct sv p3[] = { sv_make(ha1, 2 * n), cred->nonce, cred->nc,
					 cred->cnonce,	      cred->qop,   sv_make(ha2, 2 * n) };

		ret = hash_join(c, alg, p3, 6, h);
	} else {
		/* RFC 2069 / RFC 2617 without qop: KD(HA1, nonce:HA2). */
		const struct sv p3[] = { sv_make(ha1, 2 * n), cred->nonce, sv_make(ha2, 2 * n) };

		ret = hash_join(c, alg, p3, 3, h);
	}
	if (ret)
		return ret;
	hex(h, n, out);
	return (int)(2 * n);
}

int auth_response(const struct auth_account *acct, struct sv realm, struct sv method,
		  const struct sip_auth *cred, char out[AUTH_HEX_MAX + 1])
{
	enum auth_alg alg = AUTH_MD5;
	EVP_MD_CTX *c;
	int ret;

	if (cred->algorithm.len && auth_alg_parse(cred->algorithm, &alg))
		return -ENOTSUP;
	if (cred->qop.len && !sv_caseeq_lit(cred->qop, "auth"))
		return -ENOTSUP;
	c = EVP_MD_CTX_new();
	if (!c)
		return -ENOMEM;
	ret = response_with(c, acct, realm, method, cred, alg, out);
	EVP_MD_CTX_free(c);
	return ret;
}

/* ---- nonces ---- */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 32 octets to 43 characters (no padding). */
static void b64_encode(const uint8_t in[NONCE_RAW], char out[AUTH_NONCE_LEN])
{
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 3 <= NONCE_RAW; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64url[v >> 18];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
		out[o++] = b64url[v & 63];
	}
	/* 32 = 30 + 2: two octets left, three characters. */
	v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
	out[o++] = b64url[v >> 18];
	out[o++] = b64url[(v >> 12) & 63];
	out[o++] = b64url[(v >> 6) & 63];
}

static int b64_val(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '-')
		return 62;
	if (ch == '_')
		return 63;
	return -1;
}

/* 43 characters back to 32 octets; false for anything else. */
static bool b64_decode(struct sv s, uint8_t out[NONCE_RAW])
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	if (s.len != AUTH_NONCE_LEN)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		int v = b64_val(s.p[i]);

		if (v < 0)
			return false;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* The 2 bits left over must be zero: one nonce, one spelling. */
	return o == NONCE_RAW && (acc & ((1u << bits) - 1)) == 0;
}

/*
 * HMAC-SHA256(key, head || realm) (RFC 2104), written out over the fetched
 * digest and the caller's context c (NULL: one is made for the call): the
 * 32-octet key is shorter than SHA-256's 64-octet block, so it is padded, not
 * hashed. The same octets as OpenSSL's HMAC(); tests/core/test_auth.c checks
 * it against HMAC() through auth_hmac_sha256().
 */
static bool hmac_sha256(EVP_MD_CTX *c, const uint8_t key[AUTH_SECRET_LEN], const uint8_t *a,
			size_t alen, const uint8_t *b, size_t blen, uint8_t out[32])
{
	uint8_t pad[64 + 32];
	unsigned int len = 0;
	EVP_MD_CTX *own = NULL;
	bool ok;

	if (!c && !(c = own = EVP_MD_CTX_new()))
		return false;
	memset(pad, 0x36, 64);
	for (int i = 0; i < AUTH_SECRET_LEN; i++)
		pad[i] ^= key[i];
	ok = EVP_DigestInit_ex(c, alg_md(AUTH_SHA256), NULL) && EVP_DigestUpdate(c, pad, 64) &&
	     (!alen || EVP_DigestUpdate(c, a, alen)) && (!blen || EVP_DigestUpdate(c, b, blen)) &&
	     EVP_DigestFinal_ex(c, pad + 64, &len);
	if (ok) {
		memset(pad, 0x5c, 64);
		for (int i = 0; i < AUTH_SECRET_LEN; i++)
			pad[i] ^= key[i];
		ok = EVP_DigestInit_ex(c, alg_md(AUTH_SHA256), NULL) &&
		     EVP_DigestUpdate(c, pad, sizeof(pad)) && EVP_DigestFinal_ex(c, out, &len);
	}
	EVP_MD_CTX_free(own);
	return ok;
}

int auth_hmac_sha256(const uint8_t key[AUTH_SECRET_LEN], const void *data, size_t len,
		     uint8_t out[32])
{
	return hmac_sha256(NULL, key, data, len, NULL, 0, out) ? 0 : -ENOMEM;
}

static bool nonce_mac(const struct auth_ctx *ctx, EVP_MD_CTX *c, const uint8_t head[16],
		      struct sv realm, uint8_t mac[MAC_LEN])
{
	uint8_t md[32];

	if (realm.len > AUTH_REALM_MAX)
		return false;
	if (!hmac_sha256(c, ctx->key, head, 16, (const uint8_t *)realm.p, realm.len, md))
		return false;
	memcpy(mac, md, MAC_LEN);
	return true;
}

int auth_nonce(const struct auth_ctx *ctx, struct sv realm, uint64_t now_ms,
	       char out[AUTH_NONCE_LEN])
{
	uint8_t raw[NONCE_RAW];

	if (realm.len > AUTH_REALM_MAX)
		return -EINVAL;
	/*
	 * The 8 octets after the time make each nonce unique: a per-thread
	 * counter started at a random value (one RAND_bytes per thread, not one
	 * per challenge, which was 5-7 % of a registration's CPU). Under the
	 * HMAC a nonce cannot be forged whatever these octets are; their job is
	 * that no two nonces of one millisecond collide (the nonce-count table
	 * keys on the MAC).
	 */
	static __thread uint64_t ctr;
	static __thread bool seeded;
	if (!seeded) {
		if (RAND_bytes((unsigned char *)&ctr, sizeof(ctr)) != 1)
			return -EIO;
		seeded = true;
	}
	uint64_t rnd = ctr++ * 0x9e3779b97f4a7c15ull; /* odd: a bijection of the counter */
	for (int i = 0; i < 8; i++) {
		raw[i] = (uint8_t)(now_ms >> (56 - 8 * i));
		raw[8 + i] = (uint8_t)(rnd >> (56 - 8 * i));
	}
	if (!nonce_mac(ctx, NULL, raw, realm, raw + 16))
		return -EIO;
	b64_encode(raw, out);
	return 0;
}

enum nonce_state { NONCE_GOOD, NONCE_EXPIRED, NONCE_FOREIGN };

static enum nonce_state nonce_check(const struct auth_ctx *ctx, EVP_MD_CTX *c, struct sv nonce,
				    struct sv realm, uint64_t now_ms, uint64_t *ts,
				    uint8_t tag[MAC_LEN])
{
	uint8_t raw[NONCE_RAW], mac[MAC_LEN];

	if (!b64_decode(nonce, raw) || !nonce_mac(ctx, c, raw, realm, mac))
		return NONCE_FOREIGN;
	if (CRYPTO_memcmp(mac, raw + 16, MAC_LEN) != 0)
		return NONCE_FOREIGN;
	*ts = 0;
	for (int i = 0; i < 8; i++)
		*ts = *ts << 8 | raw[i];
	memcpy(tag, mac, MAC_LEN);
	if (*ts > now_ms + AUTH_SKEW_MS)
		return NONCE_FOREIGN;
	if (now_ms > *ts && now_ms - *ts > (uint64_t)ctx->nonce_expire * 1000)
		return NONCE_EXPIRED;
	return NONCE_GOOD;
}

/* ---- challenges ---- */

struct out {
	char *p;
	size_t cap, n;
	bool full;
};

static void put(struct out *o, const char *s, size_t len)
{
	if (o->full || o->cap - o->n <= len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->n, s, len);
	o->n += len;
	o->p[o->n] = '\0';
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* A quoted-string's contents: '"' and '\' escaped (RFC 3261 quoted-pair). */
static void put_quoted(struct out *o, struct sv s)
{
	put(o, "\"", 1);
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] == '"' || s.p[i] == '\\')
			put(o, "\\", 1);
		put(o, s.p + i, 1);
	}
	put(o, "\"", 1);
}

static void put_challenge(struct out *o, struct sv realm, struct sv nonce, enum auth_alg alg,
			  bool stale)
{
	put_str(o, "Digest realm=");
	put_quoted(o, realm);
	put_str(o, ", nonce=");
	put_quoted(o, nonce);
	put_str(o, ", algorithm=");
	put_str(o, auth_alg_name(alg));
	put_str(o, ", qop=\"auth\"");
	if (stale)
		put_str(o, ", stale=true");
}

int auth_challenge(struct sv realm, struct sv nonce, enum auth_alg alg, bool stale, char *buf,
		   size_t cap)
{
	struct out o = { buf, cap, 0, cap == 0 };

	if (cap)
		buf[0] = '\0';
	put_challenge(&o, realm, nonce, alg, stale);
	return o.full ? -ENOBUFS : (int)o.n;
}

int auth_challenge_headers(const struct auth_ctx *ctx, bool proxy, struct sv realm, bool stale,
			   uint64_t now_ms, char *buf, size_t cap)
{
	struct out o = { buf, cap, 0, cap == 0 };
	char nonce[AUTH_NONCE_LEN];
	int ret;

	if (cap)
		buf[0] = '\0';
	ret = auth_nonce(ctx, realm, now_ms, nonce);
	if (ret)
		return ret;
	for (unsigned i = 0; i < ctx->nalgs; i++) {
		put_str(&o, proxy ? "Proxy-Authenticate: " : "WWW-Authenticate: ");
		put_challenge(&o, realm, sv_make(nonce, AUTH_NONCE_LEN), ctx->algs[i], stale);
		put_str(&o, "\r\n");
	}
	return o.full ? -ENOBUFS : (int)o.n;
}

/* ---- credentials ---- */

enum auth_status auth_find_credentials(const struct sip_msg *m, bool proxy, struct sv realm,
				       struct sip_auth *cred, const char **reason)
{
	enum sip_hdr_id id = proxy ? SIP_HDR_PROXY_AUTHORIZATION : SIP_HDR_AUTHORIZATION;
	bool other_scheme = false, other_realm = false;
	const char *why;

	for (const struct sip_hdr *h = sip_msg_hdr(m, id); h; h = sip_msg_hdr_next(m, h)) {
		struct sip_err err;

		if (sip_auth_parse(h->value, cred, &err)) {
			why = "malformed credentials";
			goto out_bad;
		}
		if (!cred->is_digest)
			other_scheme = true;
		else if (sv_eq(cred->realm, realm))
			goto out_ok;
		else
			other_realm = true;
	}
	memset(cred, 0, sizeof(*cred));
	if (reason)
		*reason = other_realm	 ? "credentials only for another realm"
			  : other_scheme ? "only an unknown auth scheme"
					 : "no credentials";
	return other_scheme && !other_realm ? AUTH_UNKNOWN_SCHEME : AUTH_NO_CREDENTIALS;
out_ok:
	if (reason)
		*reason = "ok";
	return AUTH_OK;
out_bad:
	if (reason)
		*reason = why;
	return AUTH_BAD_REQUEST;
}

/* nc-value = 8LHEX (RFC 7616 accepts either case in practice). */
static bool nc_parse(struct sv s, uint32_t *nc)
{
	uint32_t v = 0;

	if (s.len != 8)
		return false;
	for (size_t i = 0; i < 8; i++) {
		char ch = sv_lower(s.p[i]);
		unsigned d;

		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*nc = v;
	return v != 0;
}

/* ---- nonce-count table ---- */

int auth_nc_init(struct auth_nc *t, uint32_t slots)
{
	uint32_t n = AUTH_NC_PROBE;

	memset(t, 0, sizeof(*t));
	if (!slots)
		slots = AUTH_NC_DEFAULT;
	if (slots > (1u << 30))
		return -EINVAL;
	while (n < slots)
		n <<= 1;
	t->slot = calloc(n, sizeof(*t->slot));
	t->md = EVP_MD_CTX_new();
	if (!t->slot || !t->md) {
		free(t->slot);
		EVP_MD_CTX_free(t->md);
		memset(t, 0, sizeof(*t));
		return -ENOMEM;
	}
	t->mask = n - 1;
	return 0;
}

void auth_nc_free(struct auth_nc *t)
{
	free(t->slot);
	EVP_MD_CTX_free(t->md);
	memset(t, 0, sizeof(*t));
}

static enum auth_status nc_record(const struct auth_ctx *ctx, struct auth_nc *t,
				  const uint8_t tag[MAC_LEN], uint64_t ts, uint32_t nc,
				  uint64_t now_ms, const char **why)
{
	uint64_t life = (uint64_t)ctx->nonce_expire * 1000;
	uint32_t h, victim = UINT32_MAX;
	struct auth_nc_slot *s;

	memcpy(&h, tag, sizeof(h)); /* the mac is uniform: its first bits are a hash */
	for (uint32_t i = 0; i < AUTH_NC_PROBE; i++) {
		s = &t->slot[(h + i) & t->mask];
		if (s->ts && !memcmp(s->tag, tag, MAC_LEN)) {
			if (nc <= s->nc) {
				*why = "replay: nonce-count not above the last one seen";
				return AUTH_FAIL;
			}
			s->nc = nc;
			*why = "ok";
			return AUTH_OK;
		}
	}
	if (ts <= t->forgot_ts) {
		/* Its record may have been evicted: its counter is unknown. */
		*why = "nonce-count record forgotten (table full): new nonce";
		return AUTH_STALE;
	}
	for (uint32_t i = 0; i < AUTH_NC_PROBE; i++) {
		uint32_t k = (h + i) & t->mask;

		s = &t->slot[k];
		if (!s->ts || now_ms > s->ts + life) {
			victim = k; /* free, or its nonce is stale anyway */
			break;
		}
		if (victim == UINT32_MAX || s->ts < t->slot[victim].ts)
			victim = k;
	}
	s = &t->slot[victim];
	if (s->ts && now_ms <= s->ts + life) {
		if (s->ts > t->forgot_ts)
			t->forgot_ts = s->ts;
		t->evictions++;
	}
	memcpy(s->tag, tag, MAC_LEN);
	s->ts = ts ? ts : 1;
	s->nc = nc;
	*why = "ok";
	return AUTH_OK;
}

/* ---- verification ---- */

static enum auth_status done(const char **reason, enum auth_status st, const char *why)
{
	if (reason)
		*reason = why;
	return st;
}

static bool offered(const struct auth_ctx *ctx, enum auth_alg alg)
{
	for (unsigned i = 0; i < ctx->nalgs; i++)
		if (ctx->algs[i] == alg)
			return true;
	return false;
}

static bool ends_with_sess(struct sv s)
{
	return s.len >= 5 && sv_caseeq_lit(sv_skip(s, s.len - 5), "-sess");
}

enum auth_status auth_verify(const struct auth_ctx *ctx, struct auth_nc *nc,
			     const struct sip_auth *cred, struct sv method, struct sv realm,
			     const struct auth_account *acct, uint64_t now_ms, const char **reason)
{
	enum auth_alg alg = AUTH_MD5;
	enum nonce_state ns;
	uint8_t tag[MAC_LEN];
	uint64_t ts = 0;
	uint32_t count = 0;
	char want[AUTH_HEX_MAX + 1], got[AUTH_HEX_MAX];
	EVP_MD_CTX *c;
	int len;

	if (!cred->is_digest)
		return done(reason, AUTH_UNKNOWN_SCHEME, "not the Digest scheme");
	if (!cred->username.p || !cred->realm.p || !cred->nonce.p || !cred->uri.p ||
	    !cred->response.p)
		return done(reason, AUTH_BAD_REQUEST,
			    "missing username, realm, nonce, uri or response");
	if (cred->algorithm.len && auth_alg_parse(cred->algorithm, &alg))
		return done(reason, AUTH_UNSUPPORTED,
			    ends_with_sess(cred->algorithm)
				    ? "-sess algorithms are not supported"
				    : "unknown algorithm (MD5 and SHA-256 are supported)");
	if (!offered(ctx, alg))
		return done(reason, AUTH_UNSUPPORTED, "algorithm not offered");
	if (!cred->qop.len) {
		if (ctx->refuse_rfc2069)
			return done(reason, AUTH_UNSUPPORTED, "credentials without qop refused");
	} else if (!sv_caseeq_lit(cred->qop, "auth")) {
		return done(reason, AUTH_UNSUPPORTED, "qop not offered (only auth)");
	} else if (!cred->cnonce.len || !nc_parse(cred->nc, &count)) {
		return done(reason, AUTH_BAD_REQUEST, "qop=auth needs cnonce and an 8-hex nc");
	}
	if (!sv_eq(cred->realm, realm))
		return done(reason, AUTH_FAIL, "realm mismatch");
	if (!acct)
		return done(reason, AUTH_FAIL, "unknown user");
	if (!sv_eq(cred->username, acct->user))
		return done(reason, AUTH_FAIL, "username mismatch");

	/* The worker's context (nc's), kept from call to call. */
	c = nc->md ? nc->md : EVP_MD_CTX_new();
	if (!c)
		return done(reason, AUTH_ERROR, "out of memory");
	ns = nonce_check(ctx, c, cred->nonce, realm, now_ms, &ts, tag);
	len = response_with(c, acct, realm, method, cred, alg, want);
	if (c != nc->md)
		EVP_MD_CTX_free(c);
	if (len == -ENOKEY)
		return done(reason, AUTH_FAIL, "account has no password or HA1 for this algorithm");
	if (len < 0)
		return done(reason, AUTH_ERROR, "digest computation failed");
	if (cred->response.len != (size_t)len)
		return done(reason, AUTH_FAIL, "wrong response");
	for (int i = 0; i < len; i++)
		got[i] = sv_lower(cred->response.p[i]);
	if (CRYPTO_memcmp(got, want, (size_t)len) != 0)
		return done(reason, AUTH_FAIL, "wrong response");

	/* The UA knows the password: only the nonce can still be refused. */
	if (ns == NONCE_FOREIGN)
		return done(reason, AUTH_STALE,
			    "nonce not issued here (or before a secret change)");
	if (ns == NONCE_EXPIRED)
		return done(reason, AUTH_STALE, "nonce expired");
	if (!cred->qop.len)
		return done(reason, AUTH_OK, "ok (no qop: no nonce-count check)");
	{
		const char *why = "ok";
		enum auth_status st = nc_record(ctx, nc, tag, ts, count, now_ms, &why);

		return done(reason, st, why);
	}
}
