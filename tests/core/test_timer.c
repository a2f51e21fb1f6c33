/* SPDX-License-Identifier: MIT */
/*
 * Tests of core/timer.h on a fake clock (nothing sleeps, nothing is timed):
 * exact firing at every level boundary and across the overflow, expiry order,
 * adds in the past, deletes around cascades, moves, callbacks that re-arm and
 * delete, next_ms, and a seeded random run against a reference model.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/timer.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- a timer that records its firings ---- */

struct rec {
	int id;
	uint64_t expires; /* timer_expires() when it fired */
	uint64_t tick;	  /* timer_wheel_now() when it fired */
};

static struct rec recs[8192];
static size_t nrecs;

struct tt {
	struct timer t;
	struct timer_wheel *w;
	int id;
	uint64_t period; /* re-arm at now + period while rearms > 0 */
	int rearms;
	struct tt *victims[4]; /* deleted by the callback */
	struct tt *spawn;      /* added by the callback at now + period */
};

static void on_fire(struct timer *t, void *arg)
{
	struct tt *x = arg;

	cr_assert_eq(t, &x->t);
	cr_assert(!timer_pending(t), "fires unlinked");
	cr_assert_lt(nrecs, N(recs));
	recs[nrecs++] = (struct rec){ x->id, timer_expires(t), timer_wheel_now(x->w) };
	for (size_t i = 0; i < N(x->victims); i++)
		if (x->victims[i])
			timer_del(x->w, &x->victims[i]->t);
	if (x->spawn)
		timer_add(x->w, &x->spawn->t, timer_wheel_now(x->w) + x->period);
	if (x->rearms > 0) {
		x->rearms--;
		timer_add(x->w, t, timer_wheel_now(x->w) + x->period);
	}
}

static void tt_init(struct tt *x, struct timer_wheel *w, int id)
{
	memset(x, 0, sizeof(*x));
	x->w = w;
	x->id = id;
	timer_init(&x->t, on_fire, x);
}

/* The property every caller of next_ms relies on. */
static void check_next(const struct timer_wheel *w, uint64_t now, uint64_t earliest)
{
	int64_t n = timer_wheel_next_ms(w, now);

	if (timer_wheel_count(w) == 0) {
		cr_assert_eq(n, -1);
		return;
	}
	cr_assert_geq(n, 0);
	if (earliest <= now)
		cr_assert_eq(n, 0, "due at %llu, now %llu: %lld", (unsigned long long)earliest,
			     (unsigned long long)now, (long long)n);
	else
		cr_assert_leq((uint64_t)n, earliest - now, "next %lld past expiry %llu (now %llu)",
			      (long long)n, (unsigned long long)earliest, (unsigned long long)now);
}

Test(timer, empty)
{
	static struct timer_wheel w;
	struct tt a;

	timer_wheel_init(&w, 12345);
	tt_init(&a, &w, 1);
	cr_assert_eq(timer_wheel_count(&w), 0);
	cr_assert_eq(timer_wheel_now(&w), 12345);
	cr_assert_eq(timer_wheel_next_ms(&w, 12345), -1);
	cr_assert(!timer_pending(&a.t));
	timer_del(&w, &a.t); /* not pending: no-op */
	timer_del(&w, &a.t);
	cr_assert_eq(timer_wheel_advance(&w, UINT64_MAX / 2), 0);
	cr_assert_eq(timer_wheel_now(&w), UINT64_MAX / 2);
	cr_assert_eq(timer_wheel_advance(&w, 5), 0, "the clock does not go back");
	cr_assert_eq(timer_wheel_now(&w), UINT64_MAX / 2);
	cr_assert_eq((uintptr_t)&w % TIMER_CACHELINE, 0);
	cr_assert_eq(nrecs, 0);
}

/*
 * One timer, started at every interesting offset and expiring at every level
 * boundary (and beyond the 2^36 ms range, into the overflow). Three ways of
 * reaching it: one ms short then exactly, one big jump past it, and a loop that
 * sleeps only what next_ms says.
 */
Test(timer, boundaries)
{
	static const uint64_t starts[] = {
		0,
		1,
		63,
		64,
		4095,
		1000003,
		(1ull << 24) - 1,
		(1ull << 30) + 17,
		(1ull << 36) - 1,
		(1ull << 36) - 100,
		(1ull << 36),
		0x123456789abull,
		UINT64_MAX - (1ull << 20),
	};
	static const uint64_t deltas[] = {
		1,
		2,
		62,
		63,
		64,
		65,
		127,
		128,
		4095,
		4096,
		4097,
		(1ull << 18) - 1,
		1ull << 18,
		(1ull << 18) + 1,
		(1ull << 24) - 1,
		1ull << 24,
		(1ull << 24) + 1,
		(1ull << 30) - 1,
		1ull << 30,
		(1ull << 30) + 1,
		(1ull << 36) - 1,
		1ull << 36,
		(1ull << 36) + 1,
		(1ull << 36) + 4096,
		1ull << 40,
		(1ull << 50) + 7,
		1ull << 62,
	};
	static struct timer_wheel w;
	struct tt a;

	for (size_t i = 0; i < N(starts); i++) {
		for (size_t j = 0; j < N(deltas); j++) {
			uint64_t s = starts[i], d = deltas[j], e = s + d;

			if (e < s)
				continue; /* past UINT64_MAX */
			/* Short by one, then exactly. */
			timer_wheel_init(&w, s);
			tt_init(&a, &w, 1);
			timer_add(&w, &a.t, e);
			cr_assert_eq(timer_wheel_count(&w), 1);
			check_next(&w, s, e);
			cr_assert_gt(timer_wheel_next_ms(&w, s), 0);
			nrecs = 0;
			cr_assert_eq(timer_wheel_advance(&w, e - 1), 0, "start %llu +%llu: early",
				     (unsigned long long)s, (unsigned long long)d);
			cr_assert(timer_pending(&a.t));
			check_next(&w, e - 1, e);
			cr_assert_eq(timer_wheel_advance(&w, e), 1, "start %llu +%llu: not on time",
				     (unsigned long long)s, (unsigned long long)d);
			cr_assert_eq(recs[0].tick, e);
			cr_assert_eq(timer_wheel_count(&w), 0);
			cr_assert_eq(timer_wheel_next_ms(&w, e), -1);

			/* One jump past it: fires once, seeing its own tick. */
			timer_wheel_init(&w, s);
			timer_add(&w, &a.t, e);
			nrecs = 0;
			cr_assert_eq(timer_wheel_advance(&w, e + (e < UINT64_MAX)), 1);
			cr_assert_eq(recs[0].tick, e);
			cr_assert_eq(recs[0].expires, e);

			/* Driven by next_ms alone: wakes at most once per level. */
			timer_wheel_init(&w, s);
			timer_add(&w, &a.t, e);
			nrecs = 0;
			uint64_t now = s;
			unsigned wakeups = 0;
			int64_t n;

			while ((n = timer_wheel_next_ms(&w, now)) >= 0) {
				cr_assert_leq((uint64_t)n, e - now);
				now += (uint64_t)n;
				timer_wheel_advance(&w, now);
				cr_assert_leq(++wakeups, TIMER_LEVELS + 2, "start %llu +%llu",
					      (unsigned long long)s, (unsigned long long)d);
			}
			cr_assert_eq(nrecs, 1);
			cr_assert_eq(now, e, "the loop woke exactly at the expiry");
		}
	}
}

/* Timers on both sides of each boundary, in one wheel, fire in expiry order. */
Test(timer, order_across_levels)
{
	static struct timer_wheel w;
	static struct tt t[3000];
	uint64_t rnd = 0x9e3779b97f4a7c15ull, last = 0;

	timer_wheel_init(&w, 0);
	for (int i = 0; i < (int)N(t); i++) {
		uint64_t e;

		rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
		if (i < 64) /* around each level boundary */
			e = (1ull << (6 * (1 + i / 16 % 4))) + (uint64_t)(i % 16) - 8;
		else
			e = 1 + (rnd >> (64 - 1 - rnd % 38));
		tt_init(&t[i], &w, i);
		timer_add(&w, &t[i].t, e);
	}
	cr_assert_eq(timer_wheel_count(&w), N(t));
	nrecs = 0;
	cr_assert_eq(timer_wheel_advance(&w, 1ull << 40), N(t));
	for (size_t i = 0; i < nrecs; i++) {
		cr_assert_geq(recs[i].expires, last, "out of order at %zu", i);
		cr_assert_eq(recs[i].tick, recs[i].expires);
		last = recs[i].expires;
	}
	cr_assert_eq(timer_wheel_count(&w), 0);
}

Test(timer, add_in_the_past)
{
	static struct timer_wheel w;
	static const uint64_t exp[] = { 500, 1000, 0, 900, 999 };
	static const uint64_t order[] = { 0, 500, 900, 999, 1000 };
	struct tt t[N(exp)], late;

	timer_wheel_init(&w, 1000);
	for (size_t i = 0; i < N(exp); i++) {
		tt_init(&t[i], &w, (int)i);
		timer_add(&w, &t[i].t, exp[i]);
	}
	tt_init(&late, &w, 99);
	timer_add(&w, &late.t, 1001);
	cr_assert_eq(timer_wheel_count(&w), N(exp) + 1);
	cr_assert_eq(timer_wheel_next_ms(&w, 1000), 0);
	cr_assert_eq(timer_wheel_next_ms(&w, 0), 0, "due, whatever the caller's clock");
	nrecs = 0;
	/* The wheel's clock does not move: the past timers still fire. */
	cr_assert_eq(timer_wheel_advance(&w, 1000), N(exp));
	for (size_t i = 0; i < N(order); i++) {
		cr_assert_eq(recs[i].expires, order[i], "expiry order");
		cr_assert_eq(recs[i].tick, 1000);
	}
	cr_assert_eq(timer_wheel_count(&w), 1);
	cr_assert_eq(timer_wheel_next_ms(&w, 1000), 1);
	cr_assert_eq(timer_wheel_advance(&w, 1001), 1);

	/* A due timer can be deleted and moved like any other. */
	timer_add(&w, &t[0].t, 3);
	timer_add(&w, &t[1].t, 4);
	timer_del(&w, &t[0].t);
	timer_add(&w, &t[1].t, 2000);
	cr_assert_eq(timer_wheel_count(&w), 1);
	cr_assert_eq(timer_wheel_advance(&w, 1999), 0);
	cr_assert_eq(timer_wheel_advance(&w, 2000), 1);
}

/*
 * A timer at 5000 from 0 sits at level 2, cascades at 4096 to level 1, at 4992
 * to level 0. Deleting it at any of these points (or between) leaves nothing
 * behind; its neighbour in the same slots still fires on time.
 */
Test(timer, delete_around_cascades)
{
	static const uint64_t stops[] = { 0, 1, 4095, 4096, 4097, 4991, 4992, 4993, 4999 };
	static struct timer_wheel w;
	struct tt a, b;

	for (size_t i = 0; i < N(stops); i++) {
		timer_wheel_init(&w, 0);
		tt_init(&a, &w, 1);
		tt_init(&b, &w, 2);
		timer_add(&w, &a.t, 5000);
		timer_add(&w, &b.t, 5001);
		nrecs = 0;
		cr_assert_eq(timer_wheel_advance(&w, stops[i]), 0);
		timer_del(&w, &a.t);
		cr_assert(!timer_pending(&a.t));
		cr_assert_eq(timer_wheel_count(&w), 1);
		check_next(&w, stops[i], 5001);
		cr_assert_eq(timer_wheel_advance(&w, 5000), 0, "deleted at %llu, fired",
			     (unsigned long long)stops[i]);
		cr_assert_eq(timer_wheel_advance(&w, 1u << 20), 1);
		cr_assert_eq(recs[0].id, 2);
		cr_assert_eq(recs[0].tick, 5001);
		cr_assert_eq(timer_wheel_next_ms(&w, 1u << 20), -1);
	}
}

Test(timer, readd_moves)
{
	static const struct {
		uint64_t first, second; /* from now = 10 */
	} t[] = {
		{ 100, 50 },	    { 100, 300 },
		{ 100, 5 },	    { 1ull << 30, 3 * 64 },
		{ 40, 1ull << 40 }, { 1ull << 40, 1ull << 41 },
		{ 20, 20 },	    { 5, 100 },
	};
	static struct timer_wheel w;
	struct tt a;

	for (size_t i = 0; i < N(t); i++) {
		uint64_t second = t[i].second;

		timer_wheel_init(&w, 10);
		tt_init(&a, &w, 1);
		timer_add(&w, &a.t, t[i].first);
		timer_add(&w, &a.t, second);
		cr_assert_eq(timer_wheel_count(&w), 1);
		cr_assert_eq(timer_expires(&a.t), second);
		nrecs = 0;
		if (second > 10) {
			cr_assert_eq(timer_wheel_advance(&w, second - 1), 0, "row %zu: early", i);
			cr_assert_eq(nrecs, 0);
		}
		cr_assert_eq(timer_wheel_advance(&w, second), 1, "row %zu", i);
		cr_assert_eq(timer_wheel_advance(&w, 1ull << 42), 0, "row %zu: fired twice", i);
		cr_assert_eq(timer_wheel_count(&w), 0);
	}
}

Test(timer, rearm_self_periodic)
{
	static struct timer_wheel w;
	struct tt a;

	timer_wheel_init(&w, 0);
	tt_init(&a, &w, 1);
	a.period = 7;
	a.rearms = 1000000;
	timer_add(&w, &a.t, 7);
	nrecs = 0;
	cr_assert_eq(timer_wheel_advance(&w, 1000), 1000 / 7, "catches up within one advance");
	for (size_t i = 0; i < nrecs; i++)
		cr_assert_eq(recs[i].tick, 7 * (i + 1));
	cr_assert_eq(timer_wheel_count(&w), 1);
	cr_assert_eq(timer_expires(&a.t), 1001);
	cr_assert_eq(timer_wheel_next_ms(&w, 1000), 1);
}

/* Re-arming at the tick being fired (or before it) waits for the next advance. */
Test(timer, rearm_now_defers)
{
	static struct timer_wheel w;
	struct tt a;

	timer_wheel_init(&w, 0);
	tt_init(&a, &w, 1);
	a.period = 0;
	a.rearms = 1000;
	timer_add(&w, &a.t, 10);
	nrecs = 0;
	cr_assert_eq(timer_wheel_advance(&w, 100), 1);
	cr_assert_eq(recs[0].tick, 10);
	cr_assert(timer_pending(&a.t));
	cr_assert_eq(timer_wheel_count(&w), 1);
	cr_assert_eq(timer_wheel_next_ms(&w, 100), 0);
	cr_assert_eq(timer_wheel_advance(&w, 100), 1);
	cr_assert_eq(recs[1].tick, 100);
	cr_assert_eq(timer_wheel_advance(&w, 100), 1);
	cr_assert_eq(timer_wheel_count(&w), 1);
}

/*
 * Callbacks deleting timers due in the same advance: the same millisecond (two
 * partners, whichever fires first deletes the other), a later one, one at a
 * higher level, and in the past list. And adding one within reach.
 */
Test(timer, callback_deletes_and_adds)
{
	static struct timer_wheel w;
	struct tt x, y, later, far, spawned, p, q, bystander;

	timer_wheel_init(&w, 1000);
	tt_init(&x, &w, 1);
	tt_init(&y, &w, 2);
	tt_init(&later, &w, 3);
	tt_init(&far, &w, 4);
	tt_init(&spawned, &w, 5);
	tt_init(&p, &w, 6);
	tt_init(&q, &w, 7);
	tt_init(&bystander, &w, 8);
	x.victims[0] = &y;
	y.victims[0] = &x;
	x.victims[1] = y.victims[1] = &later;
	x.victims[2] = y.victims[2] = &far;
	x.spawn = y.spawn = &spawned;
	x.period = y.period = 3;
	p.victims[0] = &q;
	q.victims[0] = &p;
	timer_add(&w, &x.t, 1010);
	timer_add(&w, &y.t, 1010);
	timer_add(&w, &later.t, 1011);
	timer_add(&w, &far.t, 1000 + 70000);
	timer_add(&w, &bystander.t, 1000 + 100000);
	timer_add(&w, &p.t, 900); /* past */
	timer_add(&w, &q.t, 900);
	cr_assert_eq(timer_wheel_count(&w), 7);
	nrecs = 0;
	cr_assert_eq(timer_wheel_advance(&w, 1000 + 200000), 4);
	cr_assert(recs[0].id == 6 || recs[0].id == 7, "one of p, q");
	cr_assert(recs[1].id == 1 || recs[1].id == 2, "one of x, y");
	cr_assert_eq(recs[1].tick, 1010);
	cr_assert_eq(recs[2].id, 5, "spawned by the callback, fired in the same advance");
	cr_assert_eq(recs[2].tick, 1013);
	cr_assert_eq(recs[3].id, 8);
	cr_assert_eq(timer_wheel_count(&w), 0);
}

struct heap_timer {
	struct timer t;
	unsigned *fired;
};

static void free_self(struct timer *t, void *arg)
{
	struct heap_timer *h = arg;

	(void)t;
	(*h->fired)++;
	free(h);
}

/* A callback may free the struct that embeds its timer (ASan checks). */
Test(timer, callback_frees)
{
	static struct timer_wheel w;
	unsigned fired = 0;

	timer_wheel_init(&w, 0);
	for (unsigned i = 0; i < 500; i++) {
		struct heap_timer *h = calloc(1, sizeof(*h));

		cr_assert_not_null(h);
		h->fired = &fired;
		timer_init(&h->t, free_self, h);
		timer_add(&w, &h->t, (i * 7919u) % 100000u);
	}
	cr_assert_eq(timer_wheel_advance(&w, 100000), 500);
	cr_assert_eq(fired, 500);
	cr_assert_eq(timer_wheel_count(&w), 0);
}

static unsigned nested_ret = 99;

static void nest(struct timer *t, void *arg)
{
	(void)t;
	nested_ret = timer_wheel_advance(arg, 1000);
}

Test(timer, nested_advance_refused)
{
	static struct timer_wheel w;
	struct timer a, b;

	timer_wheel_init(&w, 0);
	timer_init(&a, nest, &w);
	timer_init(&b, nest, &w);
	timer_add(&w, &a, 5);
	timer_add(&w, &b, 500);
	cr_assert_eq(timer_wheel_advance(&w, 10), 1);
	cr_assert_eq(nested_ret, 0);
	cr_assert(timer_pending(&b), "the nested call fired nothing");
	cr_assert_eq(timer_wheel_advance(&w, 500), 1);
}

Test(timer, next_ms)
{
	static struct timer_wheel w;
	struct tt a, b;

	timer_wheel_init(&w, 0);
	tt_init(&a, &w, 1);
	tt_init(&b, &w, 2);
	cr_assert_eq(timer_wheel_next_ms(&w, 0), -1);
	timer_add(&w, &a.t, 5000);
	check_next(&w, 0, 5000);
	check_next(&w, 4999, 5000);
	cr_assert_eq(timer_wheel_next_ms(&w, 5000), 0, "due by the caller's clock");
	cr_assert_eq(timer_wheel_next_ms(&w, 9000), 0);
	timer_add(&w, &b.t, 30);
	cr_assert_eq(timer_wheel_next_ms(&w, 0), 30, "level 0: the exact expiry");
	cr_assert_eq(timer_wheel_next_ms(&w, 10), 20);
	timer_del(&w, &b.t);
	timer_add(&w, &a.t, UINT64_MAX);
	cr_assert_gt(timer_wheel_next_ms(&w, 0), 0);
	cr_assert_leq(timer_wheel_next_ms(&w, 0), INT64_MAX);
	timer_del(&w, &a.t);
	cr_assert_eq(timer_wheel_next_ms(&w, 0), -1);
	timer_add(&w, &a.t, 0);
	cr_assert_eq(timer_wheel_next_ms(&w, 0), 0, "in the past: due");
}

/*
 * The overflow's earliest-expiry bound must not outlive the timers it was
 * taken from: a deleted far timer, then the clock moving past its block, then
 * a new far timer. A stale bound would make next_ms say 0 (a spurious wakeup,
 * and now going back inside the advance); it must not. Both fire on time.
 */
Test(timer, overflow_bound_after_delete)
{
	static struct timer_wheel w;
	const uint64_t base = 1ull << 38;
	struct tt a, b, c;
	uint64_t last;

	timer_wheel_init(&w, 0);
	tt_init(&a, &w, 1);
	tt_init(&b, &w, 2);
	tt_init(&c, &w, 3);
	timer_add(&w, &a.t, 1ull << 37);
	timer_del(&w, &a.t);
	cr_assert_eq(timer_wheel_advance(&w, base + 5), 0);
	timer_add(&w, &b.t, base + (1ull << 37));
	check_next(&w, base + 5, base + (1ull << 37));
	cr_assert_gt(timer_wheel_next_ms(&w, base + 5), 0, "nothing is due");
	timer_add(&w, &c.t, base + 100);
	check_next(&w, base + 5, base + 100);
	nrecs = 0;
	last = timer_wheel_now(&w);
	for (uint64_t now = base + 5; now <= base + (1ull << 37); now += 1ull << 31) {
		timer_wheel_advance(&w, now);
		cr_assert_geq(timer_wheel_now(&w), last);
		last = timer_wheel_now(&w);
	}
	cr_assert_eq(timer_wheel_advance(&w, base + (1ull << 37)), 1);
	cr_assert_eq(nrecs, 2);
	cr_assert_eq(recs[0].id, 3);
	cr_assert_eq(recs[0].tick, base + 100);
	cr_assert_eq(recs[1].id, 2);
	cr_assert_eq(recs[1].tick, base + (1ull << 37));
}

/* ---- a seeded random run against a model that scans every timer ---- */

#define RN 512

struct model {
	bool pending;
	uint64_t exp;
	int rearms;
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd_upto_bits(unsigned maxbits)
{
	unsigned k = (unsigned)(rnd() % (maxbits + 1));

	return k ? rnd() >> (64 - k) : 0;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->tick != y->tick)
		return x->tick < y->tick ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->expires < y->expires ? -1 : x->expires > y->expires;
}

static void random_run(uint64_t seed, uint64_t start, unsigned ops)
{
	static struct timer_wheel w;
	static struct tt t[RN];
	static struct model m[RN];
	static struct rec want[N(recs)];
	size_t nwant;

	rng_state = seed;
	timer_wheel_init(&w, start);
	for (int i = 0; i < RN; i++) {
		tt_init(&t[i], &w, i);
		m[i] = (struct model){ 0 };
	}
	for (unsigned op = 0; op < ops; op++) {
		uint64_t now = timer_wheel_now(&w), r = rnd() % 100;
		int i = (int)(rnd() % RN);

		if (r < 45) {
			uint64_t e, kind = rnd() % 100;

			if (kind < 5)
				e = now - rnd_upto_bits(12) % (now + 1); /* past */
			else if (kind < 8)
				e = now;
			else if (kind < 10)
				e = now + (1ull << 36) + rnd_upto_bits(44); /* overflow */
			else
				e = now + 1 + rnd_upto_bits(37);
			t[i].period = 1 + rnd_upto_bits(20);
			t[i].rearms = rnd() % 4 == 0 ? (int)(rnd() % 4) : 0;
			timer_add(&w, &t[i].t, e);
			m[i] = (struct model){ true, e, t[i].rearms };
		} else if (r < 60) {
			timer_del(&w, &t[i].t);
			m[i].pending = false;
		} else {
			uint64_t to =
				now + (rnd() % 8 == 0 ? rnd_upto_bits(42) : rnd_upto_bits(16));
			bool again = true;

			/* The model: whatever is due fires; re-arms fire again if due. */
			nwant = 0;
			while (again) {
				again = false;
				for (int k = 0; k < RN; k++) {
					if (!m[k].pending || m[k].exp > to)
						continue;
					uint64_t tick = m[k].exp > now ? m[k].exp : now;

					want[nwant++] = (struct rec){ k, m[k].exp, tick };
					if (m[k].rearms > 0) {
						m[k].rearms--;
						m[k].exp = tick + t[k].period;
						again = true;
					} else {
						m[k].pending = false;
					}
				}
			}
			nrecs = 0;
			cr_assert_eq(timer_wheel_advance(&w, to), nwant,
				     "op %u: %zu fired, want %zu", op, nrecs, nwant);
			for (size_t k = 1; k < nrecs; k++) {
				cr_assert_geq(recs[k].expires, recs[k - 1].expires, "op %u: order",
					      op);
				cr_assert_geq(recs[k].tick, recs[k - 1].tick);
			}
			qsort(recs, nrecs, sizeof(recs[0]), rec_cmp);
			qsort(want, nwant, sizeof(want[0]), rec_cmp);
			for (size_t k = 0; k < nwant; k++)
				cr_assert_eq(
					rec_cmp(&recs[k], &want[k]), 0,
					"op %u: fired id %d exp %llu at %llu, want id %d exp %llu "
					"at %llu",
					op, recs[k].id, (unsigned long long)recs[k].expires,
					(unsigned long long)recs[k].tick, want[k].id,
					(unsigned long long)want[k].expires,
					(unsigned long long)want[k].tick);
		}

		size_t pending = 0;
		uint64_t earliest = UINT64_MAX;

		for (int k = 0; k < RN; k++) {
			cr_assert_eq(timer_pending(&t[k].t), m[k].pending, "op %u: timer %d", op,
				     k);
			if (m[k].pending) {
				pending++;
				if (m[k].exp < earliest)
					earliest = m[k].exp;
			}
		}
		cr_assert_eq(timer_wheel_count(&w), pending, "op %u", op);
		now = timer_wheel_now(&w);
		check_next(&w, now, earliest);
		if (pending && earliest > now)
			cr_assert_gt(timer_wheel_next_ms(&w, now), 0, "op %u: 0 but nothing due",
				     op);
	}
}

Test(timer, random_vs_model_from_zero)
{
	random_run(0x5eed0001, 0, 40000);
}

Test(timer, random_vs_model_across_top_block)
{
	random_run(0x5eed0002, (1ull << 36) - 20000, 40000);
}

Test(timer, random_vs_model_large_clock)
{
	random_run(0x5eed0003, 0x0123456789abcdefull, 40000);
}
