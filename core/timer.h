/* SPDX-License-Identifier: MIT */
/*
 * timer.h: a hierarchical timer wheel, one per worker, exact to the millisecond.
 *
 * What the worker loop uses for every deadline it owns: SIP transaction timers
 * (T1 = 500 ms up to 64*T1 = 32 s), TCP idle timeouts (up to a day),
 * registration expiries (hours). There may be millions of them, so add and
 * delete are O(1), nothing is allocated and nothing is locked: a `struct timer`
 * is embedded in the caller's own struct (transaction, connection) and linked
 * into the wheel in place; the wheel is one caller-owned struct.
 *
 * Time is a plain uint64_t of milliseconds on a monotonic clock the caller
 * chooses (CLOCK_MONOTONIC in the daemon, a fake clock in the tests); the wheel
 * never reads a clock itself. It keeps its own `now`: the time of the last
 * timer_wheel_advance() (or of timer_wheel_init()).
 *
 * Where a timer sits is decided by the highest 6-bit group in which its expiry
 * differs from the wheel's now:
 *
 *   expires:  63 ......... 36 | 35..30 | 29..24 | 23..18 | 17..12 | 11..6 | 5..0
 *             └── overflow ──┘ └ lvl 5 ┘└ lvl 4 ┘└ lvl 3 ┘└ lvl 2 ┘└ lvl 1┘└lvl 0┘
 *
 *   level = msb(now ^ expires) / 6,   slot = (expires >> 6 * level) & 63
 *
 *   level  slot width  a slot holds                      reaches from now
 *     0      1 ms      timers of that exact millisecond    < 64 ms
 *     1     64 ms                                          < 4.1 s
 *     2    4.1 s       (transaction timers live here)      < 4.4 min
 *     3    4.4 min                                         < 4.7 h
 *     4    4.7 h       (TCP idle, registrations)           < 12.4 days
 *     5   12.4 days                                        < 2.2 years
 *     overflow: one list, expiry beyond the 2^36 ms block of now
 *     due:      one list, added with expires <= now: fires at the next advance
 *
 *   wheel:  slots[6][64] list heads + occupied[6] (bit s set <=> slot s non-empty)
 *
 *              occupied[l]           slots[l][s]
 *   level 0  ...0011000...  ──►  [s] ⇄ t ⇄ t ⇄ t    (circular, FIFO)
 *   level 1  ...0000100...  ──►  [s] ⇄ t
 *     ...
 *
 * Invariant: every timer at level l shares all bits above level l's group with
 * now, and its own group is above now's (at level 0: at or above). So every
 * timer of level l expires before every timer of level l+1, and within a level
 * the lowest occupied slot (one ctz on the bitmap) holds the earliest timers.
 * Advancing therefore never walks empty ticks: it jumps to the start of that
 * slot; at level 0 it fires the slot (all of it expires at that very ms), at a
 * higher level it re-files the slot's timers relative to the slot start, where
 * they land one level lower or more (cascade; each timer cascades at most 5
 * times in its life). The overflow list is re-filed when now reaches the 2^36 ms
 * block of its earliest timer. So timer_wheel_advance(w, t) fires exactly the
 * timers with expires <= t, in expiry order, and a timer never fires early.
 *
 * Ownership: the wheel and the timers are the caller's memory. A pending timer
 * is linked into the wheel: delete it (timer_del) before freeing or reusing the
 * struct that embeds it, and do not move or copy the wheel after
 * timer_wheel_init() (its list heads point to themselves).
 *
 * Thread-safety: none; a wheel and its timers belong to one thread (a worker).
 */
#ifndef SIPRING_TIMER_H
#define SIPRING_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIMER_CACHELINE	 64
#define TIMER_LEVEL_BITS 6				   /* log2 of the slots per level */
#define TIMER_SLOTS	 (1u << TIMER_LEVEL_BITS)	   /* 64 */
#define TIMER_LEVELS	 6				   /* levels 0..5 */
#define TIMER_RANGE_BITS (TIMER_LEVELS * TIMER_LEVEL_BITS) /* 36: 2^36 ms, 2.2 years */

struct timer;

/*
 * Called from timer_wheel_advance() when t expires. t is no longer pending when
 * this runs: the callback may re-arm it (timer_add), add or delete any other
 * timer of the same wheel, or free the struct embedding t.
 */
typedef void (*timer_fn)(struct timer *t, void *arg);

/* A circular doubly-linked list link; a slot's head is one too. */
struct timer_link {
	struct timer_link *next; /* NULL when the timer is not pending */
	struct timer_link *prev;
};

/*
 * A timer, embedded in the caller's struct. Fields are the wheel's: read them
 * through timer_pending()/timer_expires().
 */
struct timer {
	struct timer_link link; /* first: the lists hold links */
	uint64_t expires;	/* ms, as given to timer_add() */
	timer_fn fn;
	void *arg;
	uint8_t where; /* level 0..5, TIMER_AT_OVERFLOW or TIMER_AT_DUE */
	uint8_t slot;  /* slot within the level */
};

#define TIMER_AT_OVERFLOW TIMER_LEVELS
#define TIMER_AT_DUE	  (TIMER_LEVELS + 1)

/*
 * The wheel. The first cache line holds what every add and every advance reads:
 * now, the occupancy bitmaps, the count.
 */
struct timer_wheel {
	_Alignas(TIMER_CACHELINE) uint64_t now; /* ms; timers <= now have fired, but due's */
	uint64_t occupied[TIMER_LEVELS];	/* bit s of [l]: slots[l][s] is non-empty */
	size_t count;				/* pending timers */
	_Alignas(TIMER_CACHELINE) struct timer_link due; /* added with expires <= now */
	struct timer_link overflow;			 /* beyond now's 2^36 ms block */
	uint64_t overflow_min; /* <= every expiry in overflow (exact after a re-file) */
	bool advancing;	       /* inside timer_wheel_advance(): refuse to nest */
	_Alignas(TIMER_CACHELINE) struct timer_link slots[TIMER_LEVELS][TIMER_SLOTS];
};

/* Start an empty wheel whose current time is now_ms. */
void timer_wheel_init(struct timer_wheel *w, uint64_t now_ms);

/*
 * Prepare a timer (not pending) that will call fn(t, arg). Call once before the
 * first timer_add(); a timer may then be added and deleted any number of times.
 * Must not be called on a pending timer.
 */
void timer_init(struct timer *t, timer_fn fn, void *arg);

/*
 * Arm t to fire at expires_ms. If t is already pending it is moved (its old
 * expiry is forgotten). An expiry at or before the wheel's now (in the past,
 * or the very tick being fired when called from a callback) fires at the next
 * timer_wheel_advance() call, never within the current one: a callback that
 * re-arms itself "now" cannot loop. O(1).
 */
void timer_add(struct timer_wheel *w, struct timer *t, uint64_t expires_ms);

/* Disarm t. A no-op when t is not pending. O(1). */
void timer_del(struct timer_wheel *w, struct timer *t);

/* Whether t is armed and has not fired yet. */
bool timer_pending(const struct timer *t);

/* The expiry t was last armed with. */
uint64_t timer_expires(const struct timer *t);

/*
 * Fire, in expiry order, every pending timer with expires <= now_ms, including
 * timers that callbacks arm within (now, now_ms] during this call; then set the
 * wheel's now to now_ms. Returns how many callbacks ran. Timers of the same
 * millisecond fire in an unspecified order. A now_ms before the wheel's now is
 * taken as the wheel's now (the clock is monotonic). Callbacks may add and
 * delete any timer (a deleted one does not fire); a nested call from a callback
 * returns 0 and does nothing. Cost: one step per non-empty slot reached, plus
 * the callbacks; empty milliseconds are skipped, whatever the jump.
 */
unsigned timer_wheel_advance(struct timer_wheel *w, uint64_t now_ms);

/*
 * How long the loop may sleep, from now_ms: -1 when no timer is pending, 0 when
 * one is due (at or before now_ms, or in the due list), otherwise a positive
 * number of ms that never goes past the earliest expiry. It may stop short of
 * it, at the start of a higher-level slot that has to cascade: the advance
 * there fires nothing and the next call returns the rest. Saturates at
 * INT64_MAX.
 */
int64_t timer_wheel_next_ms(const struct timer_wheel *w, uint64_t now_ms);

/* The wheel's current time: the last advance's now (inside a callback, the tick being fired). */
uint64_t timer_wheel_now(const struct timer_wheel *w);

/* Pending timers. */
size_t timer_wheel_count(const struct timer_wheel *w);

#endif
