/* SPDX-License-Identifier: MIT */
/* suspend.c: see suspend.h. */
#include "suspend.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

struct suspend_entry {
	uint64_t hash; /* 0: empty slot */
	uint64_t last_ms;
	uint64_t until_ms;
	uint32_t failures;
	uint32_t pending; /* failures not yet taken by the sync */
	uint8_t keylen;
	bool reset; /* a success not yet taken by the sync */
	char key[SUSPEND_KEY_MAX];
};

/* A key: a kind octet ('u' user, 'a' address) and its bytes. */
struct skey {
	char b[SUSPEND_KEY_MAX];
	size_t len;
};

static uint64_t hash_key(const struct skey *k)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < k->len; i++) {
		h ^= (uint8_t)k->b[i];
		h *= 0x100000001b3ull;
	}
	return h ? h : 1;
}

static void user_key(struct skey *k, struct sv user, struct sv domain)
{
	size_t n = 0;
	k->b[n++] = 'u';
	for (size_t i = 0; i < user.len && n < SUSPEND_KEY_MAX; i++)
		k->b[n++] = user.p[i];
	if (n < SUSPEND_KEY_MAX)
		k->b[n++] = '@';
	/* Domains compare without case (RFC 3261 §19.1.4); users with. */
	for (size_t i = 0; i < domain.len && n < SUSPEND_KEY_MAX; i++) {
		char c = domain.p[i];
		k->b[n++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	k->len = n;
}

static bool addr_key(struct skey *k, const struct sockaddr *sa)
{
	k->b[0] = 'a';
	if (sa->sa_family == AF_INET) {
		memcpy(k->b + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		k->len = 5;
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(k->b + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		k->len = 17;
		return true;
	}
	return false;
}

int suspend_init(struct suspend *s, const struct suspend_conf *c, unsigned capacity)
{
	memset(s, 0, sizeof(*s));
	if (!c || c->retry == 0)
		return -EINVAL;
	s->conf = *c;
	unsigned per = 64;
	while (per * SUSPEND_SHARDS < capacity && per < (1u << 24))
		per <<= 1;
	for (unsigned i = 0; i < SUSPEND_SHARDS; i++) {
		struct suspend_shard *sh = &s->shards[i];
		pthread_mutex_init(&sh->lock, NULL);
		sh->cap = per;
		sh->e = calloc(per, sizeof(*sh->e));
		if (!sh->e) {
			suspend_fini(s);
			return -ENOMEM;
		}
	}
	return 0;
}

void suspend_fini(struct suspend *s)
{
	for (unsigned i = 0; i < SUSPEND_SHARDS; i++) {
		free(s->shards[i].e);
		s->shards[i].e = NULL;
		pthread_mutex_destroy(&s->shards[i].lock);
	}
}

void suspend_set_conf(struct suspend *s, const struct suspend_conf *c)
{
	for (unsigned i = 0; i < SUSPEND_SHARDS; i++)
		pthread_mutex_lock(&s->shards[i].lock);
	if (c->retry)
		s->conf = *c;
	for (unsigned i = SUSPEND_SHARDS; i-- > 0;)
		pthread_mutex_unlock(&s->shards[i].lock);
}

static struct suspend_shard *shard_of(struct suspend *s, uint64_t h)
{
	return &s->shards[(h >> 32) % SUSPEND_SHARDS];
}

/* The entry of k in sh (locked), or NULL. Linear probing, bounded by cap. */
static struct suspend_entry *find(struct suspend_shard *sh, const struct skey *k, uint64_t h)
{
	unsigned mask = sh->cap - 1;
	for (unsigned i = 0, p = (unsigned)h & mask; i < sh->cap; i++, p = (p + 1) & mask) {
		struct suspend_entry *e = &sh->e[p];
		if (e->hash == 0)
			return NULL;
		if (e->hash == h && e->keylen == k->len && !memcmp(e->key, k->b, k->len))
			return e;
	}
	return NULL;
}

/* Remove the entry at e by backward-shift deletion (keeps probe chains whole). */
static void erase(struct suspend_shard *sh, struct suspend_entry *e)
{
	unsigned mask = sh->cap - 1;
	unsigned hole = (unsigned)(e - sh->e);
	for (unsigned p = (hole + 1) & mask;; p = (p + 1) & mask) {
		struct suspend_entry *n = &sh->e[p];
		if (n->hash == 0)
			break;
		unsigned home = (unsigned)n->hash & mask;
		/* n may fill the hole when the hole lies between its home and p. */
		if (((p - home) & mask) >= ((p - hole) & mask)) {
			sh->e[hole] = *n;
			hole = p;
		}
	}
	memset(&sh->e[hole], 0, sizeof(sh->e[hole]));
	sh->used--;
}

/* The entry of k, created when absent; NULL only if the shard is full of
 * suspended keys. */
static struct suspend_entry *get(struct suspend_shard *sh, const struct skey *k, uint64_t h,
				 uint64_t now_ms)
{
	struct suspend_entry *e = find(sh, k, h);
	if (e)
		return e;
	if (sh->used + 1 > sh->cap - sh->cap / 4) {
		/* Full enough: forget the key whose last failure is oldest and
		 * that is not suspended now. */
		struct suspend_entry *old = NULL;
		for (unsigned i = 0; i < sh->cap; i++) {
			struct suspend_entry *c = &sh->e[i];
			if (c->hash && c->until_ms <= now_ms && (!old || c->last_ms < old->last_ms))
				old = c;
		}
		if (!old)
			return NULL;
		erase(sh, old);
	}
	unsigned mask = sh->cap - 1;
	unsigned p = (unsigned)h & mask;
	while (sh->e[p].hash)
		p = (p + 1) & mask;
	e = &sh->e[p];
	memset(e, 0, sizeof(*e));
	e->hash = h;
	e->keylen = (uint8_t)k->len;
	memcpy(e->key, k->b, k->len);
	sh->used++;
	return e;
}

static bool key_suspended(struct suspend *s, const struct skey *k, uint64_t now_ms)
{
	uint64_t h = hash_key(k);
	struct suspend_shard *sh = shard_of(s, h);
	pthread_mutex_lock(&sh->lock);
	struct suspend_entry *e = find(sh, k, h);
	bool on = e && e->until_ms > now_ms;
	pthread_mutex_unlock(&sh->lock);
	return on;
}

bool suspend_check(struct suspend *s, struct sv user, struct sv domain, const struct sockaddr *from,
		   uint64_t now_ms)
{
	struct skey k;
	user_key(&k, user, domain);
	if (key_suspended(s, &k, now_ms))
		return true;
	return s->conf.by_ip && from && addr_key(&k, from) && key_suspended(s, &k, now_ms);
}

static bool key_failure(struct suspend *s, const struct skey *k, uint64_t now_ms)
{
	uint64_t h = hash_key(k);
	struct suspend_shard *sh = shard_of(s, h);
	bool now_suspended = false;
	pthread_mutex_lock(&sh->lock);
	struct suspend_entry *e = get(sh, k, h, now_ms);
	if (e) {
		if (e->until_ms && e->until_ms <= now_ms) {
			/* A suspension that ended starts a new count. */
			e->until_ms = 0;
			e->failures = 0;
		}
		e->failures++;
		if (e->pending < UINT32_MAX)
			e->pending++;
		e->last_ms = now_ms;
		if (!e->until_ms && e->failures >= s->conf.retry) {
			e->until_ms = now_ms + (uint64_t)s->conf.suspend_s * 1000;
			now_suspended = true;
		}
	}
	pthread_mutex_unlock(&sh->lock);
	return now_suspended;
}

bool suspend_failure(struct suspend *s, struct sv user, struct sv domain,
		     const struct sockaddr *from, uint64_t now_ms)
{
	struct skey k;
	user_key(&k, user, domain);
	bool any = key_failure(s, &k, now_ms);
	if (s->conf.by_ip && from && addr_key(&k, from))
		any |= key_failure(s, &k, now_ms);
	return any;
}

static bool tracking(struct suspend *s)
{
	return __atomic_load_n(&s->track, __ATOMIC_RELAXED);
}

static void key_reset(struct suspend *s, const struct skey *k)
{
	uint64_t h = hash_key(k);
	struct suspend_shard *sh = shard_of(s, h);
	pthread_mutex_lock(&sh->lock);
	if (tracking(s)) {
		/* Keep a marker, even for a key this node never saw fail: other
		 * nodes' failures may be counted in the cluster. */
		struct suspend_entry *e = get(sh, k, h, 0);
		if (e) {
			e->failures = 0;
			e->pending = 0;
			e->until_ms = 0;
			e->reset = true;
		}
	} else {
		struct suspend_entry *e = find(sh, k, h);
		if (e)
			erase(sh, e);
	}
	pthread_mutex_unlock(&sh->lock);
}

void suspend_success(struct suspend *s, struct sv user, struct sv domain,
		     const struct sockaddr *from)
{
	struct skey k;
	user_key(&k, user, domain);
	key_reset(s, &k);
	if (s->conf.by_ip && from && addr_key(&k, from))
		key_reset(s, &k);
}

/* The text of an entry's key, as listed: "user@domain" or the address. */
static void key_text(const struct suspend_entry *e, char *out, size_t cap)
{
	if (e->key[0] == 'a') {
		inet_ntop(e->keylen == 5 ? AF_INET : AF_INET6, e->key + 1, out, (socklen_t)cap);
	} else {
		memcpy(out, e->key + 1, (size_t)e->keylen - 1);
		out[e->keylen - 1] = 0;
	}
}

/* Text back to a key: an address, else user@domain. 0 or -ENOENT. */
static int text_key(struct skey *k, const char *key)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, key, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		addr_key(k, (struct sockaddr *)&ss);
	} else if (inet_pton(AF_INET6, key, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		addr_key(k, (struct sockaddr *)&ss);
	} else {
		const char *at = strrchr(key, '@');
		if (!at)
			return -ENOENT;
		user_key(k, sv_make(key, (size_t)(at - key)), sv_cstr(at + 1));
	}
	return 0;
}

size_t suspend_list(struct suspend *s, uint64_t now_ms, struct suspend_info *out, size_t max)
{
	size_t n = 0;
	for (unsigned i = 0; i < SUSPEND_SHARDS; i++) {
		struct suspend_shard *sh = &s->shards[i];
		pthread_mutex_lock(&sh->lock);
		for (unsigned j = 0; j < sh->cap; j++) {
			struct suspend_entry *e = &sh->e[j];
			if (!e->hash || e->until_ms <= now_ms)
				continue;
			if (n < max) {
				struct suspend_info *o = &out[n];
				o->is_addr = e->key[0] == 'a';
				o->failures = e->failures;
				o->until_ms = e->until_ms;
				key_text(e, o->key, sizeof(o->key));
			}
			n++;
		}
		pthread_mutex_unlock(&sh->lock);
	}
	return n;
}

int suspend_clear(struct suspend *s, const char *key)
{
	struct skey k;
	if (text_key(&k, key) < 0)
		return -ENOENT;
	uint64_t h = hash_key(&k);
	struct suspend_shard *sh = shard_of(s, h);
	pthread_mutex_lock(&sh->lock);
	struct suspend_entry *e = find(sh, &k, h);
	if (e)
		erase(sh, e);
	pthread_mutex_unlock(&sh->lock);
	return e ? 0 : -ENOENT;
}

void suspend_get_conf(struct suspend *s, struct suspend_conf *c)
{
	/* suspend_set_conf() holds every shard's lock: one is enough here. */
	pthread_mutex_lock(&s->shards[0].lock);
	*c = s->conf;
	pthread_mutex_unlock(&s->shards[0].lock);
}

void suspend_track(struct suspend *s, bool on)
{
	__atomic_store_n(&s->track, on, __ATOMIC_RELAXED);
}

size_t suspend_take_pending(struct suspend *s, struct suspend_delta *out, size_t max)
{
	size_t n = 0;
	for (unsigned i = 0; i < SUSPEND_SHARDS && n < max; i++) {
		struct suspend_shard *sh = &s->shards[i];
		pthread_mutex_lock(&sh->lock);
		for (unsigned j = 0; j < sh->cap && n < max; j++) {
			struct suspend_entry *e = &sh->e[j];
			if (!e->hash || (!e->pending && !e->reset))
				continue;
			struct suspend_delta *d = &out[n++];
			d->is_addr = e->key[0] == 'a';
			d->reset = e->reset;
			d->failures = e->pending;
			d->until_ms = e->until_ms;
			key_text(e, d->key, sizeof(d->key));
			e->pending = 0;
			e->reset = false;
			if (!e->failures && !e->until_ms) {
				/* A bare reset marker: gone, as without tracking. The
				 * backward shift may move an unvisited entry into
				 * slot j: look at it again. */
				erase(sh, e);
				j--;
			}
		}
		pthread_mutex_unlock(&sh->lock);
	}
	return n;
}

int suspend_apply_remote(struct suspend *s, const char *key, unsigned total_failures,
			 uint64_t until_ms, uint64_t now_ms)
{
	struct skey k;
	if (text_key(&k, key) < 0)
		return -ENOENT;
	uint64_t h = hash_key(&k);
	struct suspend_shard *sh = shard_of(s, h);
	int ret = 0;
	pthread_mutex_lock(&sh->lock);
	struct suspend_entry *e = get(sh, &k, h, now_ms);
	if (!e) {
		ret = -ENOBUFS;
	} else {
		if (e->until_ms && e->until_ms <= now_ms) {
			e->until_ms = 0; /* ended: a new count, as in key_failure() */
			e->failures = 0;
		}
		if (total_failures > e->failures)
			e->failures = total_failures;
		bool was = e->until_ms > now_ms;
		if (until_ms > now_ms) {
			if (until_ms > e->until_ms)
				e->until_ms = until_ms;
		} else if (!was && e->failures >= s->conf.retry) {
			e->until_ms = now_ms + (uint64_t)s->conf.suspend_s * 1000;
		}
		if (!e->last_ms)
			e->last_ms = now_ms;
		ret = !was && e->until_ms > now_ms;
	}
	pthread_mutex_unlock(&sh->lock);
	return ret;
}
