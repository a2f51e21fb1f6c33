/* SPDX-License-Identifier: MIT */
/* timer.c: see timer.h for the structure and its invariant. */
#include "timer.h"

#include <stdint.h>

#define LEVEL_MASK ((uint64_t)TIMER_SLOTS - 1)
#define RANGE_MASK (((uint64_t)1 << TIMER_RANGE_BITS) - 1)

static void list_init(struct timer_link *h)
{
	h->next = h;
	h->prev = h;
}

static bool list_empty(const struct timer_link *h)
{
	return h->next == h;
}

static void list_append(struct timer_link *h, struct timer_link *l)
{
	l->prev = h->prev;
	l->next = h;
	h->prev->next = l;
	h->prev = l;
}

/* Unlink l from whatever list holds it: only its neighbours are touched. */
static void list_unlink(struct timer_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->next = NULL;
	l->prev = NULL;
}

/* Move all of from onto the empty list to; from becomes empty. */
static void list_splice(struct timer_link *from, struct timer_link *to)
{
	if (list_empty(from)) {
		list_init(to);
		return;
	}
	to->next = from->next;
	to->prev = from->prev;
	to->next->prev = to;
	to->prev->next = to;
	list_init(from);
}

static struct timer *link_timer(struct timer_link *l)
{
	/* link is the first member of struct timer. */
	return (struct timer *)(void *)l;
}

/* File t, with expires >= w->now, at its level and slot (or in overflow). */
static void place(struct timer_wheel *w, struct timer *t)
{
	uint64_t diff = (w->now ^ t->expires) | LEVEL_MASK;
	unsigned level = (unsigned)(63 - __builtin_clzll(diff)) / TIMER_LEVEL_BITS;

	if (level >= TIMER_LEVELS) {
		t->where = TIMER_AT_OVERFLOW;
		t->slot = 0;
		/* A bound left by deleted timers is dropped when the list empties. */
		if (list_empty(&w->overflow) || t->expires < w->overflow_min)
			w->overflow_min = t->expires;
		list_append(&w->overflow, &t->link);
		return;
	}
	unsigned slot = (unsigned)(t->expires >> (level * TIMER_LEVEL_BITS)) & LEVEL_MASK;

	t->where = (uint8_t)level;
	t->slot = (uint8_t)slot;
	list_append(&w->slots[level][slot], &t->link);
	w->occupied[level] |= (uint64_t)1 << slot;
}

/* Unlink a pending t and keep the bitmap true; does not touch count. */
static void unfile(struct timer_wheel *w, struct timer *t)
{
	list_unlink(&t->link);
	if (t->where < TIMER_LEVELS && list_empty(&w->slots[t->where][t->slot]))
		w->occupied[t->where] &= ~((uint64_t)1 << t->slot);
}

void timer_wheel_init(struct timer_wheel *w, uint64_t now_ms)
{
	w->now = now_ms;
	for (unsigned l = 0; l < TIMER_LEVELS; l++) {
		w->occupied[l] = 0;
		for (unsigned s = 0; s < TIMER_SLOTS; s++)
			list_init(&w->slots[l][s]);
	}
	w->count = 0;
	list_init(&w->due);
	list_init(&w->overflow);
	w->overflow_min = UINT64_MAX;
	w->advancing = false;
}

void timer_init(struct timer *t, timer_fn fn, void *arg)
{
	t->link.next = NULL;
	t->link.prev = NULL;
	t->expires = 0;
	t->fn = fn;
	t->arg = arg;
	t->where = 0;
	t->slot = 0;
}

void timer_add(struct timer_wheel *w, struct timer *t, uint64_t expires_ms)
{
	if (t->link.next)
		unfile(w, t);
	else
		w->count++;
	t->expires = expires_ms;
	if (expires_ms <= w->now) {
		t->where = TIMER_AT_DUE;
		t->slot = 0;
		list_append(&w->due, &t->link);
		return;
	}
	place(w, t);
}

void timer_del(struct timer_wheel *w, struct timer *t)
{
	if (!t->link.next)
		return;
	unfile(w, t);
	w->count--;
}

bool timer_pending(const struct timer *t)
{
	return t->link.next != NULL;
}

uint64_t timer_expires(const struct timer *t)
{
	return t->expires;
}

uint64_t timer_wheel_now(const struct timer_wheel *w)
{
	return w->now;
}

size_t timer_wheel_count(const struct timer_wheel *w)
{
	return w->count;
}

/*
 * Stable merge sort by expiry of a NULL-terminated chain linked by ->next; the
 * due list is short in practice but need not be, so not an insertion sort.
 */
static struct timer_link *chain_merge(struct timer_link *a, struct timer_link *b)
{
	struct timer_link head, *tail = &head;

	while (a && b) {
		if (link_timer(b)->expires < link_timer(a)->expires) {
			tail->next = b;
			b = b->next;
		} else {
			tail->next = a;
			a = a->next;
		}
		tail = tail->next;
	}
	tail->next = a ? a : b;
	return head.next;
}

static struct timer_link *chain_sort(struct timer_link *c)
{
	struct timer_link *slow = c, *fast, *second;

	if (!c || !c->next)
		return c;
	for (fast = c->next; fast && fast->next; fast = fast->next->next)
		slow = slow->next;
	second = slow->next;
	slow->next = NULL;
	return chain_merge(chain_sort(c), chain_sort(second));
}

/* Sort the circular list h in place by expiry. */
static void list_sort(struct timer_link *h)
{
	struct timer_link *c, *prev = h;

	if (list_empty(h) || h->next->next == h)
		return;
	h->prev->next = NULL;
	c = chain_sort(h->next);
	h->next = c;
	for (; c; prev = c, c = c->next)
		c->prev = prev;
	prev->next = h;
	h->prev = prev;
}

/* Fire one timer, already unlinked. */
static void fire(struct timer_wheel *w, struct timer *t)
{
	w->count--;
	t->fn(t, t->arg);
}

/*
 * The earliest place that needs attention: the lowest occupied slot of the
 * lowest non-empty level (*level, *slot), else the overflow's block
 * (*level = TIMER_AT_OVERFLOW). Returns its start time, or false if the wheel
 * and the overflow are empty (the due list is not looked at).
 */
static bool next_event(const struct timer_wheel *w, unsigned *level, unsigned *slot, uint64_t *at)
{
	for (unsigned l = 0; l < TIMER_LEVELS; l++) {
		if (!w->occupied[l])
			continue;
		unsigned s = (unsigned)__builtin_ctzll(w->occupied[l]);
		unsigned shift = l * TIMER_LEVEL_BITS;
		uint64_t above = ((uint64_t)1 << (shift + TIMER_LEVEL_BITS)) - 1;

		*level = l;
		*slot = s;
		*at = (w->now & ~above) | ((uint64_t)s << shift);
		return true;
	}
	if (list_empty(&w->overflow))
		return false;
	*level = TIMER_AT_OVERFLOW;
	*slot = 0;
	*at = w->overflow_min & ~RANGE_MASK;
	return true;
}

unsigned timer_wheel_advance(struct timer_wheel *w, uint64_t now_ms)
{
	struct timer_link local;
	unsigned fired = 0, level, slot;
	uint64_t at;

	if (w->advancing)
		return 0;
	w->advancing = true;
	if (now_ms < w->now)
		now_ms = w->now;

	/*
	 * Timers added in the past, oldest expiry first. Callbacks that add in the
	 * past again land in the (now empty) w->due, for the next call.
	 */
	if (!list_empty(&w->due)) {
		list_splice(&w->due, &local);
		list_sort(&local);
		while (!list_empty(&local)) {
			struct timer *t = link_timer(local.next);

			list_unlink(&t->link);
			fire(w, t);
			fired++;
		}
	}

	while (next_event(w, &level, &slot, &at) && at <= now_ms) {
		w->now = at;
		if (level == 0) {
			/*
			 * Every timer here expires at `at`. A callback cannot add to
			 * this slot (an expiry of `at` goes to due), only delete from
			 * it, so pop until empty.
			 */
			struct timer_link *h = &w->slots[0][slot];

			while (!list_empty(h)) {
				struct timer *t = link_timer(h->next);

				unfile(w, t);
				fire(w, t);
				fired++;
			}
			continue;
		}
		/* Cascade: re-file relative to the slot start; no callback runs here. */
		if (level < TIMER_LEVELS) {
			list_splice(&w->slots[level][slot], &local);
			w->occupied[level] &= ~((uint64_t)1 << slot);
		} else {
			list_splice(&w->overflow, &local);
			w->overflow_min = UINT64_MAX;
		}
		while (!list_empty(&local)) {
			struct timer *t = link_timer(local.next);

			list_unlink(&t->link);
			place(w, t);
		}
	}
	/* Nothing is due before now_ms: moving now there keeps every timer's place. */
	w->now = now_ms;
	w->advancing = false;
	return fired;
}

int64_t timer_wheel_next_ms(const struct timer_wheel *w, uint64_t now_ms)
{
	unsigned level, slot;
	uint64_t at;

	if (!list_empty(&w->due))
		return 0;
	if (!next_event(w, &level, &slot, &at))
		return -1;
	if (at <= now_ms)
		return 0;
	if (at - now_ms > (uint64_t)INT64_MAX)
		return INT64_MAX;
	return (int64_t)(at - now_ms);
}
