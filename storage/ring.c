/* SPDX-License-Identifier: MIT */
/* ring.c: see ring.h. */
#include "ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ring_init(struct ring *r, uint32_t nslots, size_t slot_size)
{
	size_t stride;

	memset(r, 0, sizeof(*r));
	if (nslots < 2 || (nslots & (nslots - 1)) || slot_size == 0 || slot_size > (1u << 20))
		return -EINVAL;
	stride = (slot_size + RING_CACHELINE - 1) & ~(size_t)(RING_CACHELINE - 1);
	r->slots = aligned_alloc(RING_CACHELINE, stride * nslots);
	if (!r->slots)
		return -ENOMEM;
	r->slot_size = stride;
	r->mask = nslots - 1;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->drops, 0);
	return 0;
}

void ring_fini(struct ring *r)
{
	free(r->slots);
	r->slots = NULL;
}

void *ring_reserve(struct ring *r)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

	if (head - r->tail_seen > r->mask) {
		r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (head - r->tail_seen > r->mask) {
			atomic_fetch_add_explicit(&r->drops, 1, memory_order_relaxed);
			return NULL;
		}
	}
	return r->slots + (head & r->mask) * r->slot_size;
}

void ring_commit(struct ring *r)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

	atomic_store_explicit(&r->head, head + 1, memory_order_release);
}

void *ring_peek(struct ring *r)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	if (tail == r->head_seen) {
		r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
		if (tail == r->head_seen)
			return NULL;
	}
	return r->slots + (tail & r->mask) * r->slot_size;
}

void ring_release(struct ring *r)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
}

uint64_t ring_count(const struct ring *r)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);

	return head - tail;
}
