/* SPDX-License-Identifier: MIT */
/* Tests of storage/ring.h: bounds, order, wrap-around, and two real threads. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "storage/ring.h"

Test(ring, init_arguments)
{
	static const struct {
		uint32_t nslots;
		size_t slot;
		int ret;
	} t[] = {
		{ 0, 8, -EINVAL }, { 1, 8, -EINVAL }, { 3, 8, -EINVAL },
		{ 6, 8, -EINVAL }, { 4, 0, -EINVAL }, { 2, 1, 0 },
		{ 4, 100, 0 },	   { 1024, 64, 0 },   { 8, 2u << 20, -EINVAL },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ring r;
		int ret = ring_init(&r, t[i].nslots, t[i].slot);
		cr_expect_eq(ret, t[i].ret, "nslots %u slot %zu: %d", t[i].nslots, t[i].slot, ret);
		if (ret == 0) {
			/* Slots are cache-line strided, so a slot never shares a line. */
			cr_expect_eq(r.slot_size % RING_CACHELINE, 0);
			cr_expect_geq(r.slot_size, t[i].slot);
			ring_fini(&r);
		}
	}
}

Test(ring, full_empty_order_wrap)
{
	struct ring r;

	cr_assert_eq(ring_init(&r, 4, sizeof(uint64_t)), 0);
	cr_assert_null(ring_peek(&r));
	uint64_t next_in = 0, next_out = 0;
	/* Many rounds of "fill to full, refuse one, drain some" cross the wrap many times. */
	for (int round = 0; round < 100; round++) {
		while (ring_count(&r) < 4) {
			uint64_t *s = ring_reserve(&r);
			cr_assert_not_null(s);
			/* A second reserve before commit gives the same slot. */
			cr_assert_eq(ring_reserve(&r), s);
			*s = next_in++;
			ring_commit(&r);
		}
		cr_assert_null(ring_reserve(&r), "a full ring refuses");
		cr_assert_eq(atomic_load(&r.drops), (uint64_t)round + 1);
		for (int k = 0; k < 1 + round % 4; k++) {
			uint64_t *s = ring_peek(&r);
			cr_assert_not_null(s);
			cr_assert_eq(*s, next_out, "round %d: %llu != %llu", round,
				     (unsigned long long)*s, (unsigned long long)next_out);
			cr_assert_eq(ring_peek(&r), s, "peek is idempotent");
			ring_release(&r);
			next_out++;
		}
	}
	while (ring_peek(&r)) {
		cr_assert_eq(*(uint64_t *)ring_peek(&r), next_out++);
		ring_release(&r);
	}
	cr_assert_eq(next_out, next_in);
	cr_assert_eq(ring_count(&r), 0);
	ring_fini(&r);
}

#define THREAD_ITEMS 2000000u

static void *producer(void *arg)
{
	struct ring *r = arg;

	for (uint64_t i = 0; i < THREAD_ITEMS;) {
		uint64_t *s = ring_reserve(r);
		if (!s) {
			sched_yield();
			continue;
		}
		s[0] = i;
		s[1] = ~i;
		ring_commit(r);
		i++;
	}
	return NULL;
}

Test(ring, two_threads_in_order)
{
	struct ring r;
	pthread_t t;
	uint64_t want = 0;

	cr_assert_eq(ring_init(&r, 256, 2 * sizeof(uint64_t)), 0);
	cr_assert_eq(pthread_create(&t, NULL, producer, &r), 0);
	while (want < THREAD_ITEMS) {
		uint64_t *s = ring_peek(&r);
		if (!s) {
			sched_yield();
			continue;
		}
		/* Both words must be the producer's: the slot was published whole. */
		if (s[0] != want || s[1] != ~want)
			cr_assert_fail("item %llu: got %llu/%llx", (unsigned long long)want,
				       (unsigned long long)s[0], (unsigned long long)s[1]);
		ring_release(&r);
		want++;
	}
	pthread_join(t, NULL);
	cr_assert_null(ring_peek(&r));
	cr_assert_eq(atomic_load(&r.head), THREAD_ITEMS);
	ring_fini(&r);
}
