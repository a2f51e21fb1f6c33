/* SPDX-License-Identifier: MIT */
/*
 * rate.c: rate tables and longest-prefix match (see rate.h).
 *
 * A table is one hash table per prefix length (1 .. RATE_PREFIX_MAX digits), all
 * in one memory region that is advised for huge pages. The key of a prefix of L
 * digits is the integer its digits spell; its slot is found by Fibonacci hashing
 * into the table of length L and linear probing, the keys of a run kept in the
 * order of their home slots so that a search for an absent key stops early. A lookup computes the keys of
 * every length the number could match, touches all their slots at once (the
 * loads do not depend on each other, so the CPU overlaps their cache misses),
 * then takes the longest length whose prefix has a version in force. A slot holds
 * its prefix's first version inline: a lookup costs one round of overlapped
 * misses and, for a prefix with one version, no dependent miss after it.
 *
 *   struct rate_slot (32 octets, two per cache line)
 *   +-------------+-------------+--------+--------+--------+--------+
 *   | key + 1     | from        | terms  | dest   | more   | nmore  |
 *   +-------------+-------------+--------+--------+--------+--------+
 *   key + 1 == 0 marks an empty slot. Later versions of the prefix, if any, are
 *   vers[more .. more + nmore), sorted by date. terms indexes the deduplicated
 *   struct rate array (RATE_CLOSED: no rate from `from`), dest the names.
 *
 * Why hashing and not a trie: bench/rate keeps a stride-2 tree bitmap as its
 * peer. At a million prefixes a tree walk makes four to six dependent misses (its
 * top levels stay in cache, the deep ones cannot), and on these machines one miss
 * costs 120-180 ns; the hash probes overlap. docs/rating.md has the figures.
 *
 * The builder sorts its rows by (prefix, date) to find duplicates and to group
 * each prefix's versions; the tables are sized for a load of at most 3/4 and
 * their keys kept in home order (see rate_table_build()).
 */
#include "rate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/charge.h"

#define RATE_CLOSED  UINT32_MAX /* terms index of a close */
#define RATE_KEY_LEN ((RATE_PREFIX_MAX + 1) / 2)
#define RATE_HUGE    (2u << 20) /* huge page size the region is aligned to */

struct rate_slot {
	uint64_t key; /* digits + 1; 0: empty */
	int64_t from;
	uint32_t terms; /* RATE_CLOSED: no rate from `from` */
	uint32_t dest;
	uint32_t more; /* later versions: vers[more .. more + nmore) */
	uint32_t nmore;
};

struct rate_ver {
	int64_t from;
	uint32_t terms;
	uint32_t dest;
};

struct rate_dent {
	uint32_t off;
	uint32_t len;
};

struct rate_table {
	const struct rate_slot *slots;
	const struct rate_ver *vers;
	const struct rate *terms;
	const struct rate_dent *dests;
	const char *pool;
	uint32_t lens; /* bit L: some prefix has L digits */
	uint32_t maxlen;
	uint32_t base[RATE_PREFIX_MAX + 1]; /* first slot of length L's table */
	uint8_t shift[RATE_PREFIX_MAX + 1]; /* 64 - log2(home slots) */
	size_t nslots, nprefixes, nvers, nterms, ndests, pool_len;
	void *region;
	size_t region_len;
	bool mapped;
};

/* One row of a builder: the prefix packed as nibbles (digit + 1, 0 pads). */
struct brow {
	uint8_t key[RATE_KEY_LEN];
	int64_t from;
	uint32_t terms;
	uint32_t dest;
	uint32_t tag;
	uint8_t len;
};

/* An open-addressing set of indices (index + 1; 0 is empty), grown at half full. */
struct hset {
	uint32_t *slot;
	uint32_t cap; /* power of two */
	uint32_t n;
};

struct rate_builder {
	struct brow *rows;
	size_t nrows, caprows;
	struct rate *terms;
	uint32_t nterms, capterms;
	struct hset terms_set;
	struct rate_dent *dests;
	uint32_t ndests, capdests;
	struct hset dests_set;
	char *pool;
	size_t pool_len, pool_cap;
};

static uint64_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *s = p;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	q = realloc(*p, c * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

static int grow32(void **p, uint32_t *cap, size_t need, size_t size)
{
	size_t c = *cap;
	int ret;

	if (need > UINT32_MAX - 1)
		return -E2BIG;
	ret = grow(p, &c, need, size);
	if (ret == 0)
		*cap = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
	return ret;
}

static const char *bdest_p(const struct rate_builder *b, uint32_t i)
{
	return b->pool + b->dests[i].off;
}

/* Find or insert terms; *idx is its index. */
static int intern_terms(struct rate_builder *b, const struct rate *r, uint32_t *idx)
{
	struct hset *h = &b->terms_set;
	uint32_t mask, i;
	int ret;

	if (h->n * 2 >= h->cap) {
		uint32_t ncap = h->cap ? h->cap * 2 : 64;
		uint32_t *ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		for (uint32_t k = 0; k < h->cap; k++) {
			if (!h->slot[k])
				continue;
			i = (uint32_t)hash_bytes(&b->terms[h->slot[k] - 1], sizeof(*r)) &
			    (ncap - 1);
			while (ns[i])
				i = (i + 1) & (ncap - 1);
			ns[i] = h->slot[k];
		}
		free(h->slot);
		h->slot = ns;
		h->cap = ncap;
	}
	mask = h->cap - 1;
	for (i = (uint32_t)hash_bytes(r, sizeof(*r)) & mask; h->slot[i]; i = (i + 1) & mask) {
		if (memcmp(&b->terms[h->slot[i] - 1], r, sizeof(*r)) == 0) {
			*idx = h->slot[i] - 1;
			return 0;
		}
	}
	ret = grow32((void **)&b->terms, &b->capterms, (size_t)b->nterms + 1, sizeof(*r));
	if (ret < 0)
		return ret;
	b->terms[b->nterms] = *r;
	h->slot[i] = ++b->nterms;
	h->n++;
	*idx = b->nterms - 1;
	return 0;
}

static int intern_dest(struct rate_builder *b, struct sv s, uint32_t *idx)
{
	struct hset *h = &b->dests_set;
	uint32_t mask, i;
	int ret;

	if (h->n * 2 >= h->cap) {
		uint32_t ncap = h->cap ? h->cap * 2 : 64;
		uint32_t *ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		for (uint32_t k = 0; k < h->cap; k++) {
			const struct rate_dent *d;

			if (!h->slot[k])
				continue;
			d = &b->dests[h->slot[k] - 1];
			i = (uint32_t)hash_bytes(b->pool + d->off, d->len) & (ncap - 1);
			while (ns[i])
				i = (i + 1) & (ncap - 1);
			ns[i] = h->slot[k];
		}
		free(h->slot);
		h->slot = ns;
		h->cap = ncap;
	}
	mask = h->cap - 1;
	for (i = (uint32_t)hash_bytes(s.p, s.len) & mask; h->slot[i]; i = (i + 1) & mask) {
		uint32_t k = h->slot[i] - 1;

		if (b->dests[k].len == s.len &&
		    (s.len == 0 || memcmp(bdest_p(b, k), s.p, s.len) == 0)) {
			*idx = k;
			return 0;
		}
	}
	ret = grow32((void **)&b->dests, &b->capdests, (size_t)b->ndests + 1, sizeof(*b->dests));
	if (ret < 0)
		return ret;
	if (b->pool_len + s.len > UINT32_MAX)
		return -E2BIG;
	ret = grow((void **)&b->pool, &b->pool_cap, b->pool_len + s.len + 1, 1);
	if (ret < 0)
		return ret;
	if (s.len)
		memcpy(b->pool + b->pool_len, s.p, s.len);
	b->dests[b->ndests] = (struct rate_dent){ (uint32_t)b->pool_len, (uint32_t)s.len };
	b->pool_len += s.len;
	h->slot[i] = ++b->ndests;
	h->n++;
	*idx = b->ndests - 1;
	return 0;
}

struct rate_builder *rate_builder_new(void)
{
	return calloc(1, sizeof(struct rate_builder));
}

void rate_builder_free(struct rate_builder *b)
{
	if (!b)
		return;
	free(b->rows);
	free(b->terms);
	free(b->terms_set.slot);
	free(b->dests);
	free(b->dests_set.slot);
	free(b->pool);
	free(b);
}

static int pack_prefix(struct sv prefix, struct brow *row)
{
	if (prefix.len == 0 || prefix.len > RATE_PREFIX_MAX)
		return -EINVAL;
	memset(row->key, 0, sizeof(row->key));
	for (size_t i = 0; i < prefix.len; i++) {
		unsigned d = (unsigned char)prefix.p[i] - '0';

		if (d > 9)
			return -EINVAL;
		row->key[i / 2] |= (uint8_t)((d + 1) << (i % 2 ? 0 : 4));
	}
	row->len = (uint8_t)prefix.len;
	return 0;
}

static int add_row(struct rate_builder *b, struct brow *row)
{
	int ret = grow((void **)&b->rows, &b->caprows, b->nrows + 1, sizeof(*row));

	if (ret < 0)
		return ret;
	b->rows[b->nrows++] = *row;
	return 0;
}

int rate_builder_add(struct rate_builder *b, struct sv prefix, struct sv dest, const struct rate *r,
		     int64_t from, uint32_t tag)
{
	struct brow row = { .from = from, .tag = tag };
	int ret;

	if (pack_prefix(prefix, &row) < 0 || dest.len > UINT16_MAX)
		return -EINVAL;
	if (r->first_rate < 0 || r->rate < 0 || r->connect_fee < 0 || r->incr_s == 0)
		return -EINVAL;
	ret = intern_terms(b, r, &row.terms);
	if (ret < 0)
		return ret;
	ret = intern_dest(b, dest, &row.dest);
	if (ret < 0)
		return ret;
	return add_row(b, &row);
}

int rate_builder_close(struct rate_builder *b, struct sv prefix, int64_t from, uint32_t tag)
{
	struct brow row = { .from = from, .tag = tag, .terms = RATE_CLOSED };
	int ret;

	if (pack_prefix(prefix, &row) < 0)
		return -EINVAL;
	ret = intern_dest(b, SV_NULL, &row.dest);
	if (ret < 0)
		return ret;
	return add_row(b, &row);
}

/* Sort order: prefix (a prefix before its extensions), date, rates before closes, tag. */
static int brow_cmp(const void *a, const void *b)
{
	const struct brow *x = a, *y = b;
	int c = memcmp(x->key, y->key, sizeof(x->key));

	if (c)
		return c;
	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	if ((x->terms == RATE_CLOSED) != (y->terms == RATE_CLOSED))
		return x->terms == RATE_CLOSED ? 1 : -1;
	return x->tag < y->tag ? -1 : x->tag > y->tag;
}

static unsigned brow_digit(const struct brow *r, unsigned pos)
{
	uint8_t byte = r->key[pos / 2];

	return (unsigned)((pos % 2 ? byte & 15 : byte >> 4) - 1);
}

/* The integer the prefix's digits spell. */
static uint64_t brow_value(const struct brow *r)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < r->len; i++)
		v = v * 10 + brow_digit(r, i);
	return v;
}

/* Fibonacci hashing: the top bits of key * 2^64 / phi. */
static inline uint32_t slot_of(uint64_t key1, unsigned shift)
{
	return (uint32_t)((key1 * 0x9e3779b97f4a7c15ull) >> shift);
}

/* Where a prefix goes: sorted by (length, home slot, prefix). */
struct place {
	uint64_t order; /* length << 32 | home slot */
	uint64_t key1;
	uint32_t k; /* distinct prefix number */
	uint32_t pos;
};

static int place_cmp(const void *a, const void *b)
{
	const struct place *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->k < y->k ? -1 : x->k > y->k;
}

static size_t align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

/*
 * One zeroed region for the whole table: mmap'd and advised for huge pages when
 * it is large (a lookup then misses the TLB far less), plain calloc when small.
 */
static int region_alloc(struct rate_table *t, size_t len)
{
	if (len >= RATE_HUGE) {
		size_t usable = (len + RATE_HUGE - 1) / RATE_HUGE * RATE_HUGE;
		size_t maplen = usable + RATE_HUGE, head;
		char *p = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		char *a;

		if (p == MAP_FAILED)
			return -ENOMEM;
		/* Keep a 2 MiB-aligned run, so that whole huge pages can back it. */
		a = (char *)(((uintptr_t)p + RATE_HUGE - 1) & ~(uintptr_t)(RATE_HUGE - 1));
		head = (size_t)(a - p);
		if (head)
			munmap(p, head);
		if (maplen - head - usable)
			munmap(a + usable, maplen - head - usable);
		t->region = a;
		t->region_len = usable;
		t->mapped = true;
#ifdef MADV_HUGEPAGE
		madvise(t->region, t->region_len, MADV_HUGEPAGE); /* advice: may be refused */
#endif
		return 0;
	}
	t->region = calloc(1, len ? len : 1);
	t->region_len = len;
	return t->region ? 0 : -ENOMEM;
}

int rate_table_build(const struct rate_builder *b, struct rate_table **out,
		     struct rate_build_err *err)
{
	struct rate_build_err dummy;
	struct rate_table *t = NULL;
	struct brow *rows = NULL;
	uint32_t *pfx = NULL;
	size_t n = b->nrows, m = 0, npfx = 0, cnt[RATE_PREFIX_MAX + 1] = { 0 };
	size_t nslots = 0, off_vers, off_terms, off_dests, off_pool, len;
	struct rate_slot *slots;
	struct rate_ver *vers;
	struct place *place = NULL;
	uint32_t nvers = 0;
	int ret = -ENOMEM;

	if (!err)
		err = &dummy;
	*err = (struct rate_build_err){ 0 };
	if (n > UINT32_MAX - 2) {
		err->reason = "too many rows";
		return -E2BIG;
	}
	rows = malloc((n ? n : 1) * sizeof(*rows));
	pfx = malloc((n + 1) * sizeof(*pfx));
	t = calloc(1, sizeof(*t));
	if (!rows || !pfx || !t)
		goto fail;
	if (n)
		memcpy(rows, b->rows, n * sizeof(*rows));
	qsort(rows, n, sizeof(*rows), brow_cmp);

	/* Collapse: one row per (prefix, from); a rate beats a close at the same date. */
	for (size_t i = 0; i < n; i++) {
		struct brow *r = &rows[i];

		if (m && memcmp(rows[m - 1].key, r->key, sizeof(r->key)) == 0) {
			struct brow *p = &rows[m - 1];

			if (p->from == r->from) {
				if (r->terms == RATE_CLOSED)
					continue; /* sorted after the rate or close it meets */
				err->tag = r->tag;
				err->other_tag = p->tag;
				err->reason = "two rates for the same prefix and effective date";
				ret = -EEXIST;
				goto fail;
			}
		} else {
			pfx[npfx++] = (uint32_t)m;
			cnt[r->len]++;
		}
		rows[m++] = *r;
	}
	pfx[npfx] = (uint32_t)m;

	/*
	 * Size each length's table for a load of at most 3/4 (a power of two), and
	 * place its keys in the order of their home slots: each key goes to the first
	 * free slot at or after its home, so the keys of a run stay sorted by home and
	 * a search stops at the first key whose home lies past its own (Robin Hood
	 * order: a miss costs about as few probes as a hit). Runs do not wrap: a
	 * table is as long as its last run needs, plus one empty slot that ends it.
	 */
	for (unsigned l = 1; l <= RATE_PREFIX_MAX; l++) {
		unsigned bits = 2;

		if (!cnt[l])
			continue;
		while (((size_t)3 << bits) / 4 < cnt[l])
			bits++;
		t->lens |= 1u << l;
		t->maxlen = l;
		t->shift[l] = (uint8_t)(64 - bits);
	}
	place = malloc((npfx ? npfx : 1) * sizeof(*place));
	if (!place)
		goto fail;
	for (size_t k = 0; k < npfx; k++) {
		const struct brow *r = &rows[pfx[k]];

		place[k].key1 = brow_value(r) + 1;
		place[k].order = (uint64_t)r->len << 32 | slot_of(place[k].key1, t->shift[r->len]);
		place[k].k = (uint32_t)k;
	}
	qsort(place, npfx, sizeof(*place), place_cmp);
	for (size_t k = 0; k < npfx;) {
		unsigned l = (unsigned)(place[k].order >> 32);
		uint64_t next = 0, size;

		t->base[l] = (uint32_t)nslots;
		for (; k < npfx && place[k].order >> 32 == l; k++) {
			uint32_t home = (uint32_t)place[k].order;

			place[k].pos = home > next ? home : (uint32_t)next;
			next = (uint64_t)place[k].pos + 1;
		}
		size = ((uint64_t)1 << (64 - t->shift[l]));
		size = (next > size ? next : size) + 1;
		nslots += size;
		if (nslots > UINT32_MAX) {
			err->reason = "table too large";
			ret = -E2BIG;
			goto fail;
		}
	}
	off_vers = align64(nslots * sizeof(struct rate_slot));
	off_terms = align64(off_vers + (m - npfx) * sizeof(struct rate_ver));
	off_dests = align64(off_terms + b->nterms * sizeof(struct rate));
	off_pool = align64(off_dests + b->ndests * sizeof(struct rate_dent));
	len = off_pool + b->pool_len;
	if (region_alloc(t, len) < 0)
		goto fail;
	slots = (struct rate_slot *)t->region;
	vers = (struct rate_ver *)((char *)t->region + off_vers);
	if (b->nterms)
		memcpy((char *)t->region + off_terms, b->terms, b->nterms * sizeof(struct rate));
	if (b->ndests)
		memcpy((char *)t->region + off_dests, b->dests,
		       b->ndests * sizeof(struct rate_dent));
	if (b->pool_len)
		memcpy((char *)t->region + off_pool, b->pool, b->pool_len);

	for (size_t p = 0; p < npfx; p++) {
		uint32_t k = place[p].k;
		const struct brow *r = &rows[pfx[k]];

		slots[t->base[r->len] + place[p].pos] =
			(struct rate_slot){ place[p].key1, r->from, r->terms,
					    r->dest,	   nvers,   pfx[k + 1] - pfx[k] - 1 };
		for (uint32_t j = pfx[k] + 1; j < pfx[k + 1]; j++)
			vers[nvers++] =
				(struct rate_ver){ rows[j].from, rows[j].terms, rows[j].dest };
	}
	t->slots = slots;
	t->vers = vers;
	t->terms = (const struct rate *)((char *)t->region + off_terms);
	t->dests = (const struct rate_dent *)((char *)t->region + off_dests);
	t->pool = (const char *)t->region + off_pool;
	t->nslots = nslots;
	t->nprefixes = npfx;
	t->nvers = m;
	t->nterms = b->nterms;
	t->ndests = b->ndests;
	t->pool_len = b->pool_len;
	free(place);
	free(rows);
	free(pfx);
	*out = t;
	return 0;
fail:
	if (ret == -ENOMEM && !err->reason)
		err->reason = "out of memory";
	free(place);
	free(rows);
	free(pfx);
	rate_table_free(t);
	return ret;
}

void rate_table_free(struct rate_table *t)
{
	if (!t)
		return;
	if (t->mapped)
		munmap(t->region, t->region_len);
	else
		free(t->region);
	free(t);
}

/* The version of slot s in force at `at` and when it ends, or false (none yet, or closed). */
static bool in_force(const struct rate_table *t, const struct rate_slot *s, int64_t at,
		     int64_t *from, uint32_t *terms, uint32_t *dest, int64_t *until)
{
	const struct rate_ver *v = t->vers + s->more;

	for (uint32_t j = s->nmore; j > 0; j--) {
		if (v[j - 1].from <= at) {
			if (v[j - 1].terms == RATE_CLOSED)
				return false;
			*from = v[j - 1].from;
			*terms = v[j - 1].terms;
			*dest = v[j - 1].dest;
			*until = j < s->nmore ? v[j].from : RATE_TIME_MAX;
			return true;
		}
	}
	if (s->from > at || s->terms == RATE_CLOSED)
		return false;
	*from = s->from;
	*terms = s->terms;
	*dest = s->dest;
	*until = s->nmore ? v[0].from : RATE_TIME_MAX;
	return true;
}

int rate_lookup(const struct rate_table *t, struct sv number, int64_t at, struct rate_match *m)
{
	uint64_t key[RATE_PREFIX_MAX + 1];
	uint32_t pos[RATE_PREFIX_MAX + 1];
	const unsigned char *s = (const unsigned char *)number.p;
	size_t n = number.len < t->maxlen ? number.len : t->maxlen, l;
	uint64_t k = 0;

	/* Keys of every length the number can match; stop at a non-digit. */
	for (l = 0; l < n; l++) {
		unsigned d = (unsigned)(s[l] - '0');

		if (d > 9)
			break;
		k = k * 10 + d;
		key[l + 1] = k + 1;
	}
	n = l;
	/* Touch every candidate slot first: independent loads, overlapped misses. */
	for (l = n; l > 0; l--) {
		if (!(t->lens & (1u << l)))
			continue;
		pos[l] = slot_of(key[l], t->shift[l]);
		__builtin_prefetch(&t->slots[t->base[l] + pos[l]]);
	}
	for (l = n; l > 0; l--) {
		const struct rate_slot *base = t->slots + t->base[l], *sl;
		uint32_t i, terms, dest;
		int64_t from, until;

		if (!(t->lens & (1u << l)))
			continue;
		/* Keys of a run are in home order: past our home, ours is not there. */
		for (i = pos[l]; base[i].key && base[i].key != key[l] &&
				 slot_of(base[i].key, t->shift[l]) <= pos[l];
		     i++)
			;
		sl = &base[i];
		if (sl->key != key[l] || !in_force(t, sl, at, &from, &terms, &dest, &until))
			continue;
		m->rate = &t->terms[terms];
		m->dest = sv_make(t->pool + t->dests[dest].off, t->dests[dest].len);
		m->from = from;
		m->until = until;
		m->prefix_len = (uint8_t)l;
		return 0;
	}
	return -ENOENT;
}

void rate_table_stats(const struct rate_table *t, struct rate_stats *st)
{
	st->prefixes = t->nprefixes;
	st->versions = t->nvers;
	st->terms = t->nterms;
	st->dests = t->ndests;
	st->slots = t->nslots;
	st->bytes = sizeof(*t) + t->region_len;
}

static int cheaper(const struct rate *a, const struct rate *b, uint32_t cmp_s)
{
	int64_t ca, cb;
	uint64_t billed;

	if (!cmp_s)
		return a->rate < b->rate;
	billed = charge_billed_s(cmp_s, a->first_s, a->incr_s);
	if (charge_amount(a, billed, NULL, &ca) < 0)
		return 0;
	billed = charge_billed_s(cmp_s, b->first_s, b->incr_s);
	if (charge_amount(b, billed, NULL, &cb) < 0)
		return 1;
	return ca < cb;
}

int rate_cheapest(const struct rate_account *a, struct sv number, int64_t at, uint32_t cmp_s,
		  struct rate_match *m, enum rate_source *src)
{
	/* Most specific first, so that a tie keeps it. */
	const struct rate_table *tabs[] = { a->priv, a->account, a->group };
	static const enum rate_source srcs[] = { RATE_SRC_PRIVATE, RATE_SRC_ACCOUNT,
						 RATE_SRC_GROUP };
	bool found = false;

	for (unsigned i = 0; i < 3; i++) {
		struct rate_match c;

		if (!tabs[i] || rate_lookup(tabs[i], number, at, &c) < 0)
			continue;
		if (!found || cheaper(c.rate, m->rate, cmp_s)) {
			*m = c;
			*src = srcs[i];
			found = true;
		}
	}
	return found ? 0 : -ENOENT;
}

const char *rate_source_str(enum rate_source s)
{
	switch (s) {
	case RATE_SRC_GROUP:
		return "group";
	case RATE_SRC_ACCOUNT:
		return "account";
	case RATE_SRC_PRIVATE:
		return "private";
	}
	return "?";
}
