/* SPDX-License-Identifier: MIT */
/* location.c: see location.h. */
#include "location.h"

#include <errno.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define CACHELINE 64

enum { S_AOR, S_CONTACT, S_CALLID, S_PATH, S_INSTANCE, S_UA, S_N };

/*
 * One binding: this head, then the strings in S_* order. Never changed once
 * published, except heap_idx (the owner's only) and next (the chain).
 */
struct blk {
	_Atomic(struct blk *) next; /* the next binding of the same AOR */
	int64_t expires_ms;
	uint64_t conn;
	uint32_t hash; /* of the AOR */
	uint32_t heap_idx;
	uint32_t cseq;
	uint32_t reg_id;
	uint16_t q, port, worker;
	uint8_t family, transport;
	uint8_t addr[16];
	uint16_t len[S_N];
	char data[];
};

/* A slot array. slot[] holds NULL (never used), TOMB (was used) or a chain. */
struct slots {
	uint64_t mask;
	_Atomic(struct blk *) slot[];
};

#define TOMB ((struct blk *)(uintptr_t)1)

struct retired {
	void *p;
	uint64_t epoch;
};

struct reader {
	_Alignas(CACHELINE) _Atomic uint64_t active; /* 0 = outside, else the epoch entered */
};

struct location {
	_Alignas(CACHELINE) _Atomic(struct slots *) tab;
	_Atomic uint64_t epoch;
	struct location_config cfg;
	uint64_t used;	   /* slots holding a chain */
	uint64_t tombs;	   /* TOMB slots */
	uint64_t bindings; /* == heap_n */
	uint64_t blk_bytes;
	uint64_t resizes;
	struct blk **heap;
	uint64_t heap_cap;
	struct retired *lim;
	uint64_t lim_n, lim_cap;
	location_change_fn on_change;
	void *on_change_arg;
	struct reader *readers;
};

static uint32_t hash_aor(struct sv s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < s.len; i++) {
		h ^= (uint8_t)s.p[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 29;
	return (uint32_t)h;
}

static struct sv blk_str(const struct blk *b, int which)
{
	size_t off = 0;

	for (int i = 0; i < which; i++)
		off += b->len[i];
	return sv_make(b->data + off, b->len[which]);
}

static size_t blk_size(const struct blk *b)
{
	size_t n = sizeof(*b);

	for (int i = 0; i < S_N; i++)
		n += b->len[i];
	return n;
}

static void blk_view(const struct blk *b, struct location_binding *o)
{
	const char *p = b->data;
	struct sv *dst[S_N] = { &o->aor,  &o->contact,	&o->call_id,
				&o->path, &o->instance, &o->user_agent };

	for (int i = 0; i < S_N; i++) {
		*dst[i] = sv_make(p, b->len[i]);
		p += b->len[i];
	}
	o->expires_ms = b->expires_ms;
	o->cseq = b->cseq;
	o->reg_id = b->reg_id;
	o->q = b->q;
	o->src.family = b->family;
	o->src.transport = b->transport;
	o->src.port = b->port;
	o->src.worker = b->worker;
	o->src.conn = b->conn;
	memcpy(o->src.addr, b->addr, sizeof(o->src.addr));
}

static bool blk_is_aor(const struct blk *b, uint32_t h, struct sv aor)
{
	return b->hash == h && b->len[S_AOR] == aor.len && !memcmp(b->data, aor.p, aor.len);
}

/* Does b have the identity (instance + reg_id, else contact)? */
static bool blk_is(const struct blk *b, struct sv contact, struct sv instance, uint32_t reg_id)
{
	if (instance.len)
		return b->reg_id == reg_id && sv_eq(blk_str(b, S_INSTANCE), instance);
	return b->len[S_INSTANCE] == 0 && sv_eq(blk_str(b, S_CONTACT), contact);
}

/* ---- retiring and reclaiming ---- */

static int retire(struct location *t, void *p)
{
	if (t->lim_n == t->lim_cap) {
		uint64_t nc = t->lim_cap ? t->lim_cap * 2 : 256;
		struct retired *n = realloc(t->lim, nc * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->lim = n;
		t->lim_cap = nc;
	}
	t->lim[t->lim_n++] =
		(struct retired){ p, atomic_load_explicit(&t->epoch, memory_order_relaxed) };
	return 0;
}

/* Room for k more retirements, so that a change never fails half done. */
static int retire_room(struct location *t, uint64_t k)
{
	while (t->lim_n + k > t->lim_cap) {
		uint64_t nc = t->lim_cap ? t->lim_cap * 2 : 256;
		struct retired *n = realloc(t->lim, nc * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->lim = n;
		t->lim_cap = nc;
	}
	return 0;
}

uint64_t location_reclaim(struct location *t)
{
	uint64_t min = UINT64_MAX, k = 0;

	if (!t->lim_n)
		return 0;
	/*
	 * Everything retired so far was unlinked before this fence; a reader
	 * whose announcement we do not see below will see the unlinking
	 * (its store, fence, loads against our stores, fence, load).
	 */
	atomic_fetch_add_explicit(&t->epoch, 1, memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst);
	for (unsigned i = 0; i < t->cfg.readers; i++) {
		uint64_t a = atomic_load_explicit(&t->readers[i].active, memory_order_seq_cst);
		if (a && a < min)
			min = a;
	}
	for (uint64_t i = 0; i < t->lim_n; i++) {
		if (t->lim[i].epoch < min)
			free(t->lim[i].p);
		else
			t->lim[k++] = t->lim[i];
	}
	t->lim_n = k;
	return k;
}

void location_read_begin(struct location *t, unsigned reader)
{
	struct reader *r = &t->readers[reader];

	atomic_store_explicit(&r->active, atomic_load_explicit(&t->epoch, memory_order_acquire),
			      memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
}

void location_read_end(struct location *t, unsigned reader)
{
	atomic_store_explicit(&t->readers[reader].active, 0, memory_order_release);
}

/* ---- the heap ---- */

static void heap_put(struct location *t, uint64_t i, struct blk *b)
{
	t->heap[i] = b;
	b->heap_idx = (uint32_t)i;
}

static void heap_up(struct location *t, uint64_t i)
{
	struct blk *b = t->heap[i];

	while (i > 0) {
		uint64_t p = (i - 1) / 2;
		if (t->heap[p]->expires_ms <= b->expires_ms)
			break;
		heap_put(t, i, t->heap[p]);
		i = p;
	}
	heap_put(t, i, b);
}

static void heap_down(struct location *t, uint64_t i)
{
	struct blk *b = t->heap[i];
	uint64_t n = t->bindings;

	for (;;) {
		uint64_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && t->heap[c + 1]->expires_ms < t->heap[c]->expires_ms)
			c++;
		if (t->heap[c]->expires_ms >= b->expires_ms)
			break;
		heap_put(t, i, t->heap[c]);
		i = c;
	}
	heap_put(t, i, b);
}

static void heap_fix(struct location *t, struct blk *b)
{
	heap_up(t, b->heap_idx);
	heap_down(t, b->heap_idx);
}

static void heap_del(struct location *t, struct blk *b)
{
	uint64_t i = b->heap_idx;
	struct blk *last = t->heap[--t->bindings];

	if (i == t->bindings)
		return;
	heap_put(t, i, last);
	heap_up(t, i);
	heap_down(t, last->heap_idx);
}

/* ---- creation ---- */

static struct slots *slots_new(uint64_t n)
{
	struct slots *s = calloc(1, sizeof(*s) + n * sizeof(s->slot[0]));

	if (s)
		s->mask = n - 1;
	return s;
}

int location_create(struct location **out, const struct location_config *cfg)
{
	struct location_config c = cfg ? *cfg : (struct location_config){ 0 };
	struct location *t;
	uint64_t n = 16;

	if (!c.initial_aors)
		c.initial_aors = 1024;
	if (!c.max_per_aor)
		c.max_per_aor = 16;
	if (!c.readers)
		c.readers = 1;
	if (c.max_per_aor > LOCATION_AOR_MAX || c.readers > 1024)
		return -EINVAL;
	while (n * 3 / 4 < c.initial_aors)
		n *= 2;
	t = aligned_alloc(CACHELINE, (sizeof(*t) + CACHELINE - 1) / CACHELINE * CACHELINE);
	if (!t)
		return -ENOMEM;
	memset(t, 0, sizeof(*t));
	t->cfg = c;
	atomic_init(&t->epoch, 1);
	t->readers = aligned_alloc(CACHELINE, c.readers * sizeof(*t->readers));
	struct slots *s = slots_new(n);
	if (!t->readers || !s) {
		free(t->readers);
		free(s);
		free(t);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < c.readers; i++)
		atomic_init(&t->readers[i].active, 0);
	atomic_init(&t->tab, s);
	*out = t;
	return 0;
}

void location_destroy(struct location *t)
{
	struct slots *s;

	if (!t)
		return;
	for (uint64_t i = 0; i < t->bindings; i++)
		free(t->heap[i]);
	for (uint64_t i = 0; i < t->lim_n; i++)
		free(t->lim[i].p);
	s = atomic_load_explicit(&t->tab, memory_order_relaxed);
	free(s);
	free(t->heap);
	free(t->lim);
	free(t->readers);
	free(t);
}

void location_set_listener(struct location *t, location_change_fn fn, void *arg)
{
	t->on_change = fn;
	t->on_change_arg = arg;
}

static void changed(struct location *t, struct sv aor)
{
	if (t->on_change)
		t->on_change(t->on_change_arg, aor);
}

/* ---- the slot array ---- */

static struct slots *tab(const struct location *t)
{
	return atomic_load_explicit(&((struct location *)t)->tab, memory_order_acquire);
}

/*
 * The slot of aor's chain, or -1; *headp: the chain's first binding as loaded
 * (a reader must use it, not load the slot again: it may be reused meanwhile);
 * *free_at: the first reusable slot seen (or -1).
 */
static int64_t find_slot(const struct slots *s, uint32_t h, struct sv aor, int64_t *free_at,
			 struct blk **headp)
{
	uint64_t i = h & s->mask;

	if (free_at)
		*free_at = -1;
	for (;;) {
		struct blk *b = atomic_load_explicit(&s->slot[i], memory_order_acquire);

		if (!b) {
			if (free_at && *free_at < 0)
				*free_at = (int64_t)i;
			return -1;
		}
		if (b == TOMB) {
			if (free_at && *free_at < 0)
				*free_at = (int64_t)i;
		} else if (blk_is_aor(b, h, aor)) {
			if (headp)
				*headp = b;
			return (int64_t)i;
		}
		i = (i + 1) & s->mask;
	}
}

/* Publish a new slot array of n slots holding the chains of the old one. */
static int resize(struct location *t, uint64_t n)
{
	struct slots *o = tab(t), *s;

	if (retire_room(t, 1))
		return -ENOMEM;
	s = slots_new(n);
	if (!s)
		return -ENOMEM;
	for (uint64_t i = 0; i <= o->mask; i++) {
		struct blk *b = atomic_load_explicit(&o->slot[i], memory_order_relaxed);
		uint64_t j;

		if (!b || b == TOMB)
			continue;
		for (j = b->hash & s->mask; atomic_load_explicit(&s->slot[j], memory_order_relaxed);
		     j = (j + 1) & s->mask)
			;
		atomic_store_explicit(&s->slot[j], b, memory_order_relaxed);
	}
	atomic_store_explicit(&t->tab, s, memory_order_release);
	retire(t, o);
	t->tombs = 0;
	t->resizes++;
	return 0;
}

/* ---- changes ---- */

static struct blk *blk_new(const struct location_binding *b, uint32_t h)
{
	const struct sv src[S_N] = { b->aor,  b->contact,  b->call_id,
				     b->path, b->instance, b->user_agent };
	size_t n = 0;
	struct blk *k;
	char *p;

	for (int i = 0; i < S_N; i++)
		n += src[i].len;
	k = malloc(offsetof(struct blk, data) + n);
	if (!k)
		return NULL;
	atomic_init(&k->next, NULL);
	k->expires_ms = b->expires_ms;
	k->conn = b->src.conn;
	k->hash = h;
	k->heap_idx = 0;
	k->cseq = b->cseq;
	k->reg_id = b->reg_id;
	k->q = b->q;
	k->port = b->src.port;
	k->worker = b->src.worker;
	k->family = b->src.family;
	k->transport = b->src.transport;
	memcpy(k->addr, b->src.addr, sizeof(k->addr));
	p = k->data;
	for (int i = 0; i < S_N; i++) {
		k->len[i] = (uint16_t)src[i].len;
		if (src[i].len)
			memcpy(p, src[i].p, src[i].len);
		p += src[i].len;
	}
	return k;
}

/*
 * What glibc's malloc holds for a block: the request plus its 8-octet size
 * header, rounded up to 16, at least 32. Computed, not asked of the
 * allocator, so that the figure is the same under the sanitizers.
 */
static uint64_t alloc_size(const struct blk *b)
{
	uint64_t n = (offsetof(struct blk, data) + blk_size(b) - sizeof(*b) + 8 + 15) & ~15ull;

	return n < 32 ? 32 : n;
}

int location_set(struct location *t, const struct location_binding *b)
{
	uint32_t h;
	int64_t at, free_at;
	struct slots *s;
	struct blk *head, *old = NULL, *prev = NULL, *k;
	unsigned n = 0;

	if (!b->aor.len || !b->contact.len || b->q > 1000)
		return -EINVAL;
	{
		const struct sv all[S_N] = { b->aor,  b->contact,  b->call_id,
					     b->path, b->instance, b->user_agent };
		for (int i = 0; i < S_N; i++)
			if (all[i].len > LOCATION_STR_MAX)
				return -EINVAL;
	}
	h = hash_aor(b->aor);
	s = tab(t);
	at = find_slot(s, h, b->aor, &free_at, NULL);
	head = at >= 0 ? atomic_load_explicit(&s->slot[at], memory_order_relaxed) : NULL;
	for (struct blk *c = head; c; c = atomic_load_explicit(&c->next, memory_order_relaxed)) {
		if (!old && blk_is(c, b->contact, b->instance, b->reg_id)) {
			old = c;
		} else if (!old) {
			prev = c;
		}
		n++;
	}
	if (old) {
		if (sv_eq(blk_str(old, S_CALLID), b->call_id) && b->cseq < old->cseq)
			return -ESTALE;
		if (retire_room(t, 1))
			return -ENOMEM;
		k = blk_new(b, h);
		if (!k)
			return -ENOMEM;
		atomic_store_explicit(&k->next,
				      atomic_load_explicit(&old->next, memory_order_relaxed),
				      memory_order_relaxed);
		if (prev)
			atomic_store_explicit(&prev->next, k, memory_order_release);
		else
			atomic_store_explicit(&s->slot[at], k, memory_order_release);
		k->heap_idx = old->heap_idx;
		t->heap[k->heap_idx] = k;
		heap_fix(t, k);
		t->blk_bytes += alloc_size(k);
		t->blk_bytes -= alloc_size(old);
		retire(t, old);
		changed(t, b->aor);
		return 0;
	}
	if (n >= t->cfg.max_per_aor || (t->cfg.max_bindings && t->bindings >= t->cfg.max_bindings))
		return -E2BIG;
	if (t->bindings == t->heap_cap) {
		uint64_t nc = t->heap_cap ? t->heap_cap * 2 : 1024;
		struct blk **nh = realloc(t->heap, nc * sizeof(*nh));

		if (!nh)
			return -ENOMEM;
		t->heap = nh;
		t->heap_cap = nc;
	}
	if (!head && (t->used + t->tombs + 1) * 4 > (s->mask + 1) * 3) {
		/* grow when live chains fill half, else just sweep the tombstones */
		uint64_t n2 = (s->mask + 1) * ((t->used + 1) * 2 > (s->mask + 1) ? 2 : 1);
		int r = resize(t, n2);

		if (r)
			return r;
		s = tab(t);
		find_slot(s, h, b->aor, &free_at, NULL);
	}
	k = blk_new(b, h);
	if (!k)
		return -ENOMEM;
	if (head) {
		/* first in the chain: one release store publishes it */
		atomic_store_explicit(&k->next, head, memory_order_relaxed);
		atomic_store_explicit(&s->slot[at], k, memory_order_release);
	} else {
		if (atomic_load_explicit(&s->slot[free_at], memory_order_relaxed) == TOMB)
			t->tombs--;
		atomic_store_explicit(&s->slot[free_at], k, memory_order_release);
		t->used++;
	}
	t->heap[t->bindings] = k;
	k->heap_idx = (uint32_t)t->bindings++;
	heap_up(t, k->heap_idx);
	t->blk_bytes += alloc_size(k);
	changed(t, b->aor);
	return 1;
}

/* Unlink k (prev before it in the chain at slot `at`, or NULL) and retire it. */
static void unlink_blk(struct location *t, struct slots *s, int64_t at, struct blk *prev,
		       struct blk *k)
{
	struct blk *next = atomic_load_explicit(&k->next, memory_order_relaxed);

	if (prev) {
		atomic_store_explicit(&prev->next, next, memory_order_release);
	} else if (next) {
		atomic_store_explicit(&s->slot[at], next, memory_order_release);
	} else {
		atomic_store_explicit(&s->slot[at], TOMB, memory_order_release);
		t->used--;
		t->tombs++;
	}
	heap_del(t, k);
	t->blk_bytes -= alloc_size(k);
	retire(t, k); /* the callers made room */
}

int location_remove(struct location *t, struct sv aor, struct sv contact, struct sv instance,
		    uint32_t reg_id)
{
	uint32_t h = hash_aor(aor);
	struct slots *s = tab(t);
	int64_t at = find_slot(s, h, aor, NULL, NULL);
	struct blk *prev = NULL;

	if (at < 0)
		return -ENOENT;
	for (struct blk *c = atomic_load_explicit(&s->slot[at], memory_order_relaxed); c;
	     prev = c, c = atomic_load_explicit(&c->next, memory_order_relaxed)) {
		if (!blk_is(c, contact, instance, reg_id))
			continue;
		if (retire_room(t, 1))
			return -ENOMEM;
		unlink_blk(t, s, at, prev, c);
		changed(t, aor);
		return 0;
	}
	return -ENOENT;
}

int location_remove_aor(struct location *t, struct sv aor)
{
	uint32_t h = hash_aor(aor);
	struct slots *s = tab(t);
	int64_t at = find_slot(s, h, aor, NULL, NULL);
	int n = 0;

	if (at < 0)
		return 0;
	if (retire_room(t, LOCATION_AOR_MAX))
		return -ENOMEM;
	/* aor may be a view into a binding retired here: still valid until location_reclaim() */
	for (;;) {
		struct blk *c = atomic_load_explicit(&s->slot[at], memory_order_relaxed);

		if (c == TOMB)
			break;
		unlink_blk(t, s, at, NULL, c);
		n++;
	}
	changed(t, aor);
	return n;
}

int location_expire(struct location *t, int64_t now_ms, struct location_binding *out, unsigned cap)
{
	unsigned n = 0;

	if (retire_room(t, cap))
		return -ENOMEM;
	while (n < cap && t->bindings && t->heap[0]->expires_ms <= now_ms) {
		struct blk *k = t->heap[0];
		struct sv aor = blk_str(k, S_AOR);
		struct slots *s = tab(t);
		int64_t at = find_slot(s, k->hash, aor, NULL, NULL);
		struct blk *prev = NULL;

		for (struct blk *c = atomic_load_explicit(&s->slot[at], memory_order_relaxed);
		     c != k; c = atomic_load_explicit(&c->next, memory_order_relaxed))
			prev = c;
		blk_view(k, &out[n++]);
		unlink_blk(t, s, at, prev, k);
		changed(t, aor); /* k is retired, not freed: aor is still valid */
	}
	return (int)n;
}

int64_t location_next_expiry(const struct location *t)
{
	return t->bindings ? t->heap[0]->expires_ms : INT64_MAX;
}

/* ---- reading ---- */

unsigned location_lookup(struct location *t, struct sv aor, struct location_binding *out,
			 unsigned cap)
{
	uint32_t h = hash_aor(aor);
	struct slots *s = tab(t);
	struct blk *head = NULL;
	unsigned n = 0;

	if (find_slot(s, h, aor, NULL, &head) < 0)
		return 0;
	for (struct blk *c = head; c; c = atomic_load_explicit(&c->next, memory_order_acquire)) {
		if (n < cap)
			blk_view(c, &out[n]);
		n++;
	}
	return n;
}

void location_foreach(struct location *t, int (*fn)(void *arg, const struct location_binding *b),
		      void *arg)
{
	for (uint64_t i = 0; i < t->bindings; i++) {
		struct location_binding v;

		blk_view(t->heap[i], &v);
		if (fn(arg, &v))
			return;
	}
}

bool location_scan(struct location *t, uint64_t *cursor, unsigned max,
		   void (*fn)(void *arg, struct sv aor), void *arg)
{
	struct slots *s = tab(t);
	uint64_t i = *cursor;
	unsigned n = 0;

	for (; i <= s->mask && n < max; i++) {
		struct blk *b = atomic_load_explicit(&s->slot[i], memory_order_relaxed);

		if (!b || b == TOMB)
			continue;
		fn(arg, blk_str(b, S_AOR));
		n++;
	}
	*cursor = i;
	return i <= s->mask;
}

uint64_t location_resizes(const struct location *t)
{
	return t->resizes;
}

void location_counts(const struct location *t, struct location_counts *c)
{
	const struct slots *s = tab(t);

	c->aors = t->used;
	c->bindings = t->bindings;
	c->bytes = t->blk_bytes + (s->mask + 1) * sizeof(s->slot[0]) +
		   t->heap_cap * sizeof(t->heap[0]) + sizeof(*t);
	c->retired = t->lim_n;
}
