/* SPDX-License-Identifier: MIT */
/*
 * ring.h: a bounded single-producer single-consumer ring of fixed-size slots.
 *
 * How a worker hands something to the service thread without a lock and
 * without waiting: one ring per worker and direction, one thread writes, one
 * thread reads. The producer reserves the next free slot, fills it in place and
 * commits it; the consumer peeks at the oldest committed slot, uses it in place
 * and releases it. Nothing is copied by the ring itself.
 *
 *            tail (consumer)                head (producer)
 *               │                              │
 *   slots: [ free | c0 | c1 | c2 | ... | cN-1 | free ... ]   (mod nslots)
 *                   └──── committed, not yet released ─┘
 *
 * head and tail count slots since creation (64 bits: they never wrap in
 * practice); a slot is (counter & mask). head - tail is the fill level. Each
 * counter sits on its own cache line, with the other side's last-seen value
 * cached beside it, so that the common case touches no line the other thread
 * writes. The producer publishes with a release store of head, the consumer
 * with a release store of tail; each reads the other's with acquire.
 *
 * Ownership: ring_init() allocates the slots, ring_fini() frees them; the ring
 * struct itself is the caller's. ring_reserve/ring_commit belong to the one
 * producer thread, ring_peek/ring_release to the one consumer thread, and
 * ring_count() may be called from either (it is a snapshot).
 */
#ifndef SIPRING_RING_H
#define SIPRING_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define RING_CACHELINE 64

struct ring {
	_Alignas(RING_CACHELINE) _Atomic uint64_t head; /* written by the producer */
	uint64_t tail_seen;				/* producer's last read of tail */
	_Atomic uint64_t drops; /* reservations refused because the ring was full */
	_Alignas(RING_CACHELINE) _Atomic uint64_t tail; /* written by the consumer */
	uint64_t head_seen;				/* consumer's last read of head */
	_Alignas(RING_CACHELINE) uint8_t *slots;	/* read-only after ring_init() */
	size_t slot_size;
	uint32_t mask;
};

/*
 * Allocate nslots slots of slot_size octets each (nslots a power of two >= 2,
 * slot_size > 0; each slot is aligned to RING_CACHELINE). Returns 0, -EINVAL,
 * or -ENOMEM.
 */
int ring_init(struct ring *r, uint32_t nslots, size_t slot_size);

/* Free the slots. The threads must be done with the ring. */
void ring_fini(struct ring *r);

/*
 * Producer: the next free slot (slot_size octets to fill), or NULL when the ring
 * is full (r->drops counts it). The slot is invisible to the consumer until
 * ring_commit(). Calling ring_reserve() again before ring_commit() returns the
 * same slot.
 */
void *ring_reserve(struct ring *r);

/* Producer: publish the slot ring_reserve() returned. */
void ring_commit(struct ring *r);

/* Consumer: the oldest committed slot, or NULL when the ring is empty. */
void *ring_peek(struct ring *r);

/* Consumer: give back the slot ring_peek() returned, to be reused by the producer. */
void ring_release(struct ring *r);

/* Committed and not yet released slots, as seen now (either thread). */
uint64_t ring_count(const struct ring *r);

#endif
