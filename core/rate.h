/* SPDX-License-Identifier: MIT */
/*
 * rate.h: rate tables (one per rate group) and longest-prefix match over digits.
 *
 * A rate table is one rate group: a set of digit prefixes, each with one or more
 * versions by effective date (a version applies from its date until the next
 * version of the same prefix; a "closed" version ends a prefix). Customers and
 * vendors point at the table of their group; many accounts share one table.
 *
 * Life cycle: a builder collects rows (rate_builder_add(), in any order, from a
 * deck or from code), rate_table_build() turns them into an immutable table, and
 * the builder is freed. The table is read-only from then on: any number of
 * threads may call rate_lookup() on it at once without a lock. Reloading a deck
 * builds a new table and publishes the pointer (RCU style, by the snapshot layer);
 * the old one is freed with rate_table_free() once no reader holds it.
 *
 * Lookup at time t is the longest prefix of the number that has a version in
 * force at t: a prefix whose versions all start after t, or whose version in
 * force is closed, does not exist at t, and a shorter prefix answers instead.
 *
 * Layout (rate.c has the diagram): one hash table per prefix length, probed for
 * all lengths at once, with each prefix's first version inline, then the later
 * versions, the deduplicated terms and the destination names, all in one region
 * (huge pages when large). docs/rating.md gives the bytes per prefix and the
 * nanoseconds per lookup measured with bench/rate.
 */
#ifndef SIPRING_RATE_H
#define SIPRING_RATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/rate-t.h"
#include "parsers/sv.h"

struct rate_builder;
struct rate_table;

/* Where a build failed: the tags of the rows involved (deck line numbers, say). */
struct rate_build_err {
	uint32_t tag;	    /* the row that failed */
	uint32_t other_tag; /* for -EEXIST: the row it duplicates */
	const char *reason; /* static string */
};

/* A new empty builder, or NULL when out of memory. Free with rate_builder_free(). */
struct rate_builder *rate_builder_new(void);
void rate_builder_free(struct rate_builder *b);

/*
 * Add one version: `prefix` (1..RATE_PREFIX_MAX digits '0'-'9', 19: an E.164 number
 * has at most 15) is rated by r from
 * time `from` (Unix seconds UTC, RATE_TIME_MIN for always) until the next version
 * of the same prefix. dest (the destination's name, may be empty) is copied.
 * tag is returned in build errors. Returns 0, -EINVAL (bad prefix, a negative
 * amount, incr_s == 0, a name over 65535 octets) or -ENOMEM.
 */
int rate_builder_add(struct rate_builder *b, struct sv prefix, struct sv dest, const struct rate *r,
		     int64_t from, uint32_t tag);

/*
 * Close `prefix` from time `from`: it has no rate from then until a later version
 * opens it again (a deck's end date, or a "deleted" row). A close and a rate at
 * the same (prefix, from) are not a conflict: the rate wins. Returns as above.
 */
int rate_builder_close(struct rate_builder *b, struct sv prefix, int64_t from, uint32_t tag);

/*
 * Build the immutable table from every row added so far. The builder is left as
 * it was (free it after). Returns 0 and *out, or:
 *   -EEXIST  two rates for the same prefix and the same `from` (err->tag and
 *            err->other_tag name them);
 *   -E2BIG   more than 2^32 - 2 prefixes, versions or distinct terms;
 *   -ENOMEM.
 * err may be NULL.
 */
int rate_table_build(const struct rate_builder *b, struct rate_table **out,
		     struct rate_build_err *err);

void rate_table_free(struct rate_table *t);

/* The answer of a lookup. Pointers and views point into the table and live as long as it. */
struct rate_match {
	const struct rate *rate;
	struct sv dest;	    /* destination name */
	int64_t from;	    /* this version applies from ... */
	int64_t until;	    /* ... until the next version (RATE_TIME_MAX: none) */
	uint8_t prefix_len; /* the matched prefix is number[0 .. prefix_len) */
};

/*
 * Longest-prefix match of `number` at time `at`. The number is read digit by
 * digit and stops at its first octet that is not '0'-'9' (strip a '+' or a tech
 * prefix first). Returns 0 and fills *m, or -ENOENT when no prefix is in force.
 * Lock-free, allocation-free, safe from any number of threads on a built table.
 */
int rate_lookup(const struct rate_table *t, struct sv number, int64_t at, struct rate_match *m);

/* Sizes of a table, for capacity planning and the benchmark. */
struct rate_stats {
	size_t prefixes; /* distinct prefixes */
	size_t versions; /* versions (closes included) */
	size_t terms;	 /* distinct struct rate */
	size_t dests;	 /* distinct destination names */
	size_t slots;	 /* hash slots (at most 4/3 per prefix, rounded to powers of two) */
	size_t bytes;	 /* everything the table holds */
};
void rate_table_stats(const struct rate_table *t, struct rate_stats *st);

/*
 * Cheapest of (docs/rating.md): a customer's rate for a number at time t is the
 * cheapest of the rates its tables give: the rate group's ("period rate": the
 * version in force at t), the account's own table and the account's private
 * table, each looked up on its own (longest prefix in that table). Any table
 * may be NULL.
 */
struct rate_account {
	const struct rate_table *group;	  /* the customer's rate group */
	const struct rate_table *account; /* the account rate */
	const struct rate_table *priv;	  /* the account's private rates */
};

enum rate_source { RATE_SRC_GROUP, RATE_SRC_ACCOUNT, RATE_SRC_PRIVATE };

/*
 * "Cheapest" compares what a call of cmp_s seconds would cost under each
 * candidate's full terms (first period, increments, connect fee; charged with
 * charge_policy_default); with cmp_s == 0 it compares the per-minute rate alone.
 * Ties go to the more specific source: private, then account, then group.
 * Returns 0 with *m and *src, or -ENOENT when no table rates the number.
 */
int rate_cheapest(const struct rate_account *a, struct sv number, int64_t at, uint32_t cmp_s,
		  struct rate_match *m, enum rate_source *src);

const char *rate_source_str(enum rate_source s);

#endif
