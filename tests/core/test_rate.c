/* SPDX-License-Identifier: MIT */
/*
 * Tests of core/rate.h: longest-prefix match, versions by effective date,
 * closes, build errors, the cheapest-of rule, and a randomised comparison of the
 * tree against a linear scan (fixed seed, so every run checks the same tables).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rate.h"
#include "tests/guard.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DAY  86400

static struct rate flat(int64_t micro)
{
	return (struct rate){ micro, micro, 0, 60, 60 };
}

struct row {
	const char *prefix;
	int64_t rate; /* -1: a close */
	int64_t from;
	const char *dest;
};

static struct rate_table *build(const struct row *rows, size_t n)
{
	struct rate_builder *b = rate_builder_new();
	struct rate_table *t = NULL;

	cr_assert_not_null(b);
	for (size_t i = 0; i < n; i++) {
		struct rate r = flat(rows[i].rate);
		int ret = rows[i].rate < 0
				  ? rate_builder_close(b, sv_cstr(rows[i].prefix), rows[i].from,
						       (uint32_t)i + 1)
				  : rate_builder_add(b, sv_cstr(rows[i].prefix),
						     sv_cstr(rows[i].dest ? rows[i].dest : ""), &r,
						     rows[i].from, (uint32_t)i + 1);
		cr_assert_eq(ret, 0, "row %zu", i);
	}
	cr_assert_eq(rate_table_build(b, &t, NULL), 0);
	rate_builder_free(b);
	return t;
}

/* Look up a number placed against a guard page: the match must not read past it. */
static int lookup(const struct rate_table *t, const char *num, int64_t at, struct rate_match *m)
{
	size_t n = strlen(num);

	return rate_lookup(t, sv_make(guard_place(num, n), n), at, m);
}

Test(rate, longest_prefix_table)
{
	static const struct row deck[] = {
		{ "4", 90000, RATE_TIME_MIN, "Zone 4" },
		{ "44", 20000, RATE_TIME_MIN, "United Kingdom" },
		{ "447", 60000, RATE_TIME_MIN, "UK Mobile" },
		{ "4478", 55000, RATE_TIME_MIN, "UK Mobile Vodafone" },
		{ "44780", 50000, RATE_TIME_MIN, "UK Mobile Vodafone 0" },
		{ "1", 5000, RATE_TIME_MIN, "USA" },
		{ "1212", 4000, RATE_TIME_MIN, "New York" },
		{ "12125551", 3000, RATE_TIME_MIN, "NY block" },
		{ "99", 1, RATE_TIME_MIN, "Odd" },
		{ "0", 7, RATE_TIME_MIN, "Zero" },
		{ "0000000000000000001", 8, RATE_TIME_MIN, "19 digits" },
		{ "9999999999999999999", 9, RATE_TIME_MIN, "19 nines" },
	};
	static const struct {
		const char *num;
		int ret;
		int64_t rate;
		unsigned len;
		const char *dest;
	} t[] = {
		{ "4", 0, 90000, 1, "Zone 4" },
		{ "41", 0, 90000, 1, "Zone 4" },
		{ "44", 0, 20000, 2, "United Kingdom" },
		{ "4420", 0, 20000, 2, "United Kingdom" },
		{ "447", 0, 60000, 3, "UK Mobile" },
		{ "4479123456", 0, 60000, 3, "UK Mobile" },
		{ "4478", 0, 55000, 4, "UK Mobile Vodafone" },
		{ "44781", 0, 55000, 4, "UK Mobile Vodafone" },
		{ "447801234", 0, 50000, 5, "UK Mobile Vodafone 0" },
		{ "12125551234", 0, 3000, 8, "NY block" },
		{ "1212555", 0, 4000, 4, "New York" },
		{ "12135551234", 0, 5000, 1, "USA" },
		{ "99", 0, 1, 2, "Odd" },
		{ "9", -ENOENT, 0, 0, NULL },
		{ "98", -ENOENT, 0, 0, NULL },
		{ "", -ENOENT, 0, 0, NULL },
		{ "0", 0, 7, 1, "Zero" },
		{ "0000000000000000001", 0, 8, 19, "19 digits" },
		{ "00000000000000000019", 0, 8, 19, "19 digits" },
		{ "000000000000000000", 0, 7, 1, "Zero" },
		{ "99999999999999999999999", 0, 9, 19, "19 nines" },
		/* The match stops at the first non-digit. */
		{ "44;npdi", 0, 20000, 2, "United Kingdom" },
		{ "4478@host", 0, 55000, 4, "UK Mobile Vodafone" },
		{ "+4478", -ENOENT, 0, 0, NULL },
	};
	struct rate_table *tab = build(deck, N(deck));

	for (size_t i = 0; i < N(t); i++) {
		struct rate_match m;
		int ret = lookup(tab, t[i].num, 0, &m);

		cr_assert_eq(ret, t[i].ret, "'%s': %d", t[i].num, ret);
		if (ret)
			continue;
		cr_assert_eq(m.rate->rate, t[i].rate, "'%s'", t[i].num);
		cr_assert_eq(m.prefix_len, t[i].len, "'%s'", t[i].num);
		cr_assert(sv_eq(m.dest, sv_cstr(t[i].dest)), "'%s': '%.*s'", t[i].num,
			  (int)m.dest.len, m.dest.p);
		cr_assert_eq(m.from, RATE_TIME_MIN);
		cr_assert_eq(m.until, RATE_TIME_MAX);
	}
	rate_table_free(tab);
}

/*
 * Edges for any pruning by a number's first digits (a lead filter was tried and
 * measured in docs/rating.md): numbers shorter than a three-digit lead,
 * prefixes shorter than it, one lead with every length from 1 to 19 and a closed
 * version under it, and a deck whose prefixes are all shorter than a lead.
 */
Test(rate, short_numbers_and_busy_lead)
{
	static const struct row deck[] = {
		{ "1", 100, RATE_TIME_MIN, NULL },
		{ "12", 200, RATE_TIME_MIN, NULL },
		{ "123", 300, RATE_TIME_MIN, NULL },
		{ "1234", 400, RATE_TIME_MIN, NULL },
		{ "12345", 500, RATE_TIME_MIN, NULL },
		{ "123456", 600, RATE_TIME_MIN, NULL },
		{ "123456", -1, DAY, NULL },	   /* closed: 12345 answers from then */
		{ "1234567", 700, 2 * DAY, NULL }, /* opens later */
		{ "12345678", 800, RATE_TIME_MIN, NULL },
		{ "123456789", 900, RATE_TIME_MIN, NULL },
		{ "1234567890", 1000, RATE_TIME_MIN, NULL },
		{ "12345678901", 1100, RATE_TIME_MIN, NULL },
		{ "123456789012", 1200, RATE_TIME_MIN, NULL },
		{ "1234567890123", 1300, RATE_TIME_MIN, NULL },
		{ "12345678901234", 1400, RATE_TIME_MIN, NULL },
		{ "123456789012345", 1500, RATE_TIME_MIN, NULL },
		{ "1234567890123456", 1600, RATE_TIME_MIN, NULL },
		{ "12345678901234567", 1700, RATE_TIME_MIN, NULL },
		{ "123456789012345678", 1800, RATE_TIME_MIN, NULL },
		{ "1234567890123456789", 1900, RATE_TIME_MIN, NULL },
		{ "9", 9, RATE_TIME_MIN, NULL }, /* short prefixes, nothing longer */
		{ "98", 98, RATE_TIME_MIN, NULL },
		{ "0", 1, RATE_TIME_MIN, NULL }, /* leading zeros: lead 000 */
		{ "000000", 6, RATE_TIME_MIN, NULL },
		{ "555", 555, RATE_TIME_MIN, NULL }, /* exactly a lead */
		{ "5556", 5556, RATE_TIME_MIN, NULL },
	};
	static const struct {
		const char *num;
		int64_t at;
		int ret;
		int64_t rate;
		unsigned len;
	} t[] = {
		{ "", 0, -ENOENT, 0, 0 },
		{ "1", 0, 0, 100, 1 },
		{ "12", 0, 0, 200, 2 },
		{ "13", 0, 0, 100, 1 },
		{ "1;23", 0, 0, 100, 1 }, /* stops inside the lead */
		{ "12a3", 0, 0, 200, 2 },
		{ "123", 0, 0, 300, 3 },
		{ "124", 0, 0, 200, 2 },
		{ "129999999", 0, 0, 200, 2 },
		{ "1239", 0, 0, 300, 3 },
		{ "1234", 0, 0, 400, 4 },
		{ "1234569", 0, 0, 600, 6 },
		{ "1234569", DAY, 0, 500, 5 },
		{ "1234567", 0, 0, 600, 6 },
		{ "1234567", DAY, 0, 500, 5 },
		{ "1234567", 2 * DAY, 0, 700, 7 },
		{ "12345679", 0, 0, 600, 6 },
		{ "12345678", DAY, 0, 800, 8 },
		{ "1234567890123456", 0, 0, 1600, 16 },
		{ "123456789012345678", 0, 0, 1800, 18 },
		{ "1234567890123456780", 0, 0, 1800, 18 },
		{ "1234567890123456789", 0, 0, 1900, 19 },
		{ "12345678901234567890", 0, 0, 1900, 19 },
		{ "9", 0, 0, 9, 1 },
		{ "97", 0, 0, 9, 1 },
		{ "98", 0, 0, 98, 2 },
		{ "981234", 0, 0, 98, 2 },
		{ "8", 0, -ENOENT, 0, 0 },
		{ "87654", 0, -ENOENT, 0, 0 },
		{ "0", 0, 0, 1, 1 },
		{ "00", 0, 0, 1, 1 },
		{ "00001", 0, 0, 1, 1 },
		{ "000000", 0, 0, 6, 6 },
		{ "0000001", 0, 0, 6, 6 },
		{ "5", 0, -ENOENT, 0, 0 },
		{ "55", 0, -ENOENT, 0, 0 },
		{ "554", 0, -ENOENT, 0, 0 },
		{ "555", 0, 0, 555, 3 },
		{ "5557", 0, 0, 555, 3 },
		{ "55561", 0, 0, 5556, 4 },
	};
	static const struct row shortdeck[] = {
		{ "4", 4, RATE_TIME_MIN, NULL },
		{ "44", 44, RATE_TIME_MIN, NULL },
		{ "7", 7, RATE_TIME_MIN, NULL },
	};
	static const struct {
		const char *num;
		int ret;
		int64_t rate;
		unsigned len;
	} ts[] = {
		{ "4", 0, 4, 1 },      { "44", 0, 44, 2 },     { "441234", 0, 44, 2 },
		{ "45", 0, 4, 1 },     { "4599", 0, 4, 1 },    { "7", 0, 7, 1 },
		{ "77777", 0, 7, 1 },  { "5", -ENOENT, 0, 0 }, { "123", -ENOENT, 0, 0 },
		{ "", -ENOENT, 0, 0 },
	};
	struct rate_table *tab = build(deck, N(deck));

	for (size_t i = 0; i < N(t); i++) {
		struct rate_match m;
		int ret = lookup(tab, t[i].num, t[i].at, &m);

		cr_assert_eq(ret, t[i].ret, "'%s': %d", t[i].num, ret);
		if (ret)
			continue;
		cr_assert_eq(m.rate->rate, t[i].rate, "'%s': %lld", t[i].num,
			     (long long)m.rate->rate);
		cr_assert_eq(m.prefix_len, t[i].len, "'%s'", t[i].num);
	}
	rate_table_free(tab);

	tab = build(shortdeck, N(shortdeck));
	for (size_t i = 0; i < N(ts); i++) {
		struct rate_match m;
		int ret = lookup(tab, ts[i].num, 0, &m);

		cr_assert_eq(ret, ts[i].ret, "'%s': %d", ts[i].num, ret);
		if (ret)
			continue;
		cr_assert_eq(m.rate->rate, ts[i].rate, "'%s'", ts[i].num);
		cr_assert_eq(m.prefix_len, ts[i].len, "'%s'", ts[i].num);
	}
	rate_table_free(tab);
}

Test(rate, versions_by_effective_date)
{
	static const struct row deck[] = {
		{ "44", 20000, 100 * DAY, "UK" },
		{ "44", 21000, 200 * DAY, "UK" },
		{ "44", 19000, 300 * DAY, "UK" },
		{ "447", 60000, 150 * DAY, "UK Mobile" }, /* opens later than 44 */
		{ "447", -1, 250 * DAY, NULL },		  /* closed: 44 answers again */
		{ "447", 58000, 350 * DAY, "UK Mobile" }, /* and reopened */
		{ "33", 10000, RATE_TIME_MIN, "France" },
		{ "33", -1, 400 * DAY, NULL }, /* an end date */
	};
	static const struct {
		const char *num;
		int64_t at;
		int ret;
		int64_t rate, from, until;
		unsigned len;
	} t[] = {
		{ "4471", 99 * DAY, -ENOENT, 0, 0, 0, 0 },
		{ "4471", 100 * DAY, 0, 20000, 100 * DAY, 200 * DAY, 2 },
		{ "4471", 150 * DAY - 1, 0, 20000, 100 * DAY, 200 * DAY, 2 },
		{ "4471", 150 * DAY, 0, 60000, 150 * DAY, 250 * DAY, 3 },
		{ "4471", 249 * DAY, 0, 60000, 150 * DAY, 250 * DAY, 3 },
		{ "4471", 250 * DAY, 0, 21000, 200 * DAY, 300 * DAY, 2 },
		{ "4471", 300 * DAY, 0, 19000, 300 * DAY, RATE_TIME_MAX, 2 },
		{ "4471", 350 * DAY, 0, 58000, 350 * DAY, RATE_TIME_MAX, 3 },
		{ "4420", 250 * DAY, 0, 21000, 200 * DAY, 300 * DAY, 2 },
		{ "331", RATE_TIME_MIN, 0, 10000, RATE_TIME_MIN, 400 * DAY, 2 },
		{ "331", 400 * DAY - 1, 0, 10000, RATE_TIME_MIN, 400 * DAY, 2 },
		{ "331", 400 * DAY, -ENOENT, 0, 0, 0, 0 },
	};
	struct rate_table *tab = build(deck, N(deck));

	for (size_t i = 0; i < N(t); i++) {
		struct rate_match m;
		int ret = lookup(tab, t[i].num, t[i].at, &m);

		cr_assert_eq(ret, t[i].ret, "row %zu: %d", i, ret);
		if (ret)
			continue;
		cr_assert_eq(m.rate->rate, t[i].rate, "row %zu: %lld", i, (long long)m.rate->rate);
		cr_assert_eq(m.from, t[i].from, "row %zu", i);
		cr_assert_eq(m.until, t[i].until, "row %zu", i);
		cr_assert_eq(m.prefix_len, t[i].len, "row %zu", i);
	}
	rate_table_free(tab);
}

Test(rate, build_errors_and_dedup)
{
	struct rate_builder *b = rate_builder_new();
	struct rate r = flat(10000), bad;
	struct rate_build_err err;
	struct rate_table *t = NULL;
	struct rate_stats st;

	static const char *const bad_prefixes[] = {
		"", "4a", "+44", " 44", "00000000000000000000", /* 20 digits */
	};
	for (size_t i = 0; i < N(bad_prefixes); i++)
		cr_assert_eq(rate_builder_add(b, sv_cstr(bad_prefixes[i]), SV_NULL, &r, 0, 1),
			     -EINVAL, "'%s'", bad_prefixes[i]);
	bad = r;
	bad.incr_s = 0;
	cr_assert_eq(rate_builder_add(b, SV_LIT("44"), SV_NULL, &bad, 0, 1), -EINVAL);
	bad = r;
	bad.connect_fee = -1;
	cr_assert_eq(rate_builder_add(b, SV_LIT("44"), SV_NULL, &bad, 0, 1), -EINVAL);

	/* A close and a rate at the same date: the rate wins, in either order. */
	cr_assert_eq(rate_builder_close(b, SV_LIT("44"), 10, 7), 0);
	cr_assert_eq(rate_builder_add(b, SV_LIT("44"), SV_LIT("UK"), &r, 10, 8), 0);
	cr_assert_eq(rate_builder_add(b, SV_LIT("33"), SV_LIT("FR"), &r, 10, 9), 0);
	cr_assert_eq(rate_builder_close(b, SV_LIT("33"), 10, 10), 0);
	cr_assert_eq(rate_table_build(b, &t, &err), 0);
	{
		struct rate_match m;

		cr_assert_eq(rate_lookup(t, SV_LIT("441"), 10, &m), 0);
		cr_assert_eq(rate_lookup(t, SV_LIT("331"), 10, &m), 0);
	}
	/* Same terms and names are stored once. */
	rate_table_stats(t, &st);
	cr_assert_eq(st.prefixes, 2);
	cr_assert_eq(st.versions, 2);
	cr_assert_eq(st.terms, 1);
	cr_assert_gt(st.bytes, 0);
	rate_table_free(t);

	/* Two rates for the same prefix and date: both rows named. */
	cr_assert_eq(rate_builder_add(b, SV_LIT("44"), SV_LIT("UK"), &r, 10, 12), 0);
	cr_assert_eq(rate_table_build(b, &t, &err), -EEXIST);
	cr_assert_eq(err.tag, 12);
	cr_assert_eq(err.other_tag, 8);
	cr_assert_not_null(err.reason);
	rate_builder_free(b);

	/* An empty table answers nothing. */
	b = rate_builder_new();
	cr_assert_eq(rate_table_build(b, &t, NULL), 0);
	{
		struct rate_match m;

		cr_assert_eq(rate_lookup(t, SV_LIT("1"), 0, &m), -ENOENT);
	}
	rate_table_free(t);
	rate_builder_free(b);
}

/* A deterministic generator, so that every run checks the same decks. */
static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

struct ref {
	char prefix[RATE_PREFIX_MAX + 1];
	int64_t from;
	int64_t rate; /* -1 close */
};

/* What a linear scan says: longest prefix with a version in force at `at`. */
static int ref_lookup(const struct ref *r, size_t n, const char *num, int64_t at, int64_t *rate,
		      unsigned *len)
{
	int best = -1;
	size_t bestlen = 0;

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(r[i].prefix);
		int64_t from = RATE_TIME_MIN;
		int found = -1;

		if (l > strlen(num) || memcmp(num, r[i].prefix, l) != 0 ||
		    (best >= 0 && l <= bestlen))
			continue;
		/* The version of this prefix in force at `at`. */
		for (size_t k = 0; k < n; k++) {
			if (strcmp(r[k].prefix, r[i].prefix) == 0 && r[k].from <= at &&
			    (found < 0 || r[k].from >= from)) {
				found = (int)k;
				from = r[k].from;
			}
		}
		if (found >= 0 && r[found].rate >= 0) {
			best = found;
			bestlen = l;
		}
	}
	if (best < 0)
		return -ENOENT;
	*rate = r[best].rate;
	*len = (unsigned)bestlen;
	return 0;
}

Test(rate, random_decks_match_linear_scan)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	for (int round = 0; round < 20; round++) {
		size_t n = 50 + rng(&seed) % 400;
		struct ref *r = calloc(n, sizeof(*r));
		struct rate_builder *b = rate_builder_new();
		struct rate_table *t;
		size_t k = 0;

		/* Short alphabets and lengths make prefixes nest and collide often. */
		while (k < n) {
			size_t len = 1 + rng(&seed) % 7;
			int dup = 0;

			for (size_t j = 0; j < len; j++)
				r[k].prefix[j] = (char)('0' + rng(&seed) % 4);
			r[k].prefix[len] = '\0';
			r[k].from = (int64_t)(rng(&seed) % 5) * DAY;
			r[k].rate = rng(&seed) % 6 == 0 ? -1 : (int64_t)(rng(&seed) % 100000);
			for (size_t j = 0; j < k; j++)
				dup |= strcmp(r[j].prefix, r[k].prefix) == 0 &&
				       r[j].from == r[k].from;
			if (dup)
				continue;
			struct rate x = flat(r[k].rate);
			cr_assert_eq(r[k].rate < 0
					     ? rate_builder_close(b, sv_cstr(r[k].prefix),
								  r[k].from, (uint32_t)k)
					     : rate_builder_add(b, sv_cstr(r[k].prefix), SV_NULL,
								&x, r[k].from, (uint32_t)k),
				     0);
			k++;
		}
		cr_assert_eq(rate_table_build(b, &t, NULL), 0);
		for (int q = 0; q < 400; q++) {
			char num[16];
			size_t len = rng(&seed) % 10;
			int64_t at = (int64_t)(rng(&seed) % 6) * DAY - 1, want = 0;
			unsigned wlen = 0;
			struct rate_match m;
			int ret, wret;

			for (size_t j = 0; j < len; j++)
				num[j] = (char)('0' + rng(&seed) % 4);
			num[len] = '\0';
			wret = ref_lookup(r, n, num, at, &want, &wlen);
			ret = lookup(t, num, at, &m);
			cr_assert_eq(ret, wret, "round %d '%s' at %lld", round, num, (long long)at);
			if (ret == 0) {
				cr_assert_eq(m.rate->rate, want, "round %d '%s'", round, num);
				cr_assert_eq(m.prefix_len, wlen, "round %d '%s'", round, num);
			}
		}
		rate_table_free(t);
		rate_builder_free(b);
		free(r);
	}
}

Test(rate, cheapest_of)
{
	static const struct row group[] = {
		{ "44", 20000, RATE_TIME_MIN, "UK" },
		{ "447", 60000, RATE_TIME_MIN, "UK Mobile" },
		{ "33", 10000, RATE_TIME_MIN, "France" },
		{ "33", 8000, 100 * DAY, "France" }, /* the period rate drops on day 100 */
	};
	static const struct row account[] = {
		{ "447", 55000, RATE_TIME_MIN, "UK Mobile (account)" },
		{ "33", 9000, RATE_TIME_MIN, "France (account)" },
	};
	static const struct row priv[] = {
		{ "4478", 58000, RATE_TIME_MIN, "UK Vodafone (private)" }, /* dearer: not used */
		{ "4479", 40000, RATE_TIME_MIN, "UK O2 (private)" },
		{ "33", 9000, RATE_TIME_MIN, "France (private)" }, /* ties the account rate */
	};
	static const struct {
		const char *num;
		int64_t at;
		int use_acct, use_priv;
		int ret;
		int64_t rate;
		enum rate_source src;
		unsigned len;
	} t[] = {
		{ "4478123", 0, 1, 1, 0, 55000, RATE_SRC_ACCOUNT, 3 },
		{ "4479123", 0, 1, 1, 0, 40000, RATE_SRC_PRIVATE, 4 },
		{ "4471", 0, 1, 1, 0, 55000, RATE_SRC_ACCOUNT, 3 },
		{ "4471", 0, 0, 0, 0, 60000, RATE_SRC_GROUP, 3 },
		{ "4478", 0, 0, 1, 0, 58000, RATE_SRC_PRIVATE, 4 },
		{ "4420", 0, 1, 1, 0, 20000, RATE_SRC_GROUP, 2 },
		{ "331", 0, 1, 1, 0, 9000, RATE_SRC_PRIVATE, 2 }, /* tie: the more specific */
		{ "331", 0, 1, 0, 0, 9000, RATE_SRC_ACCOUNT, 2 },
		{ "331", 100 * DAY, 1, 1, 0, 8000, RATE_SRC_GROUP, 2 },
		{ "49", 0, 1, 1, -ENOENT, 0, 0, 0 },
	};
	struct rate_table *g = build(group, N(group)), *a = build(account, N(account)),
			  *p = build(priv, N(priv));

	for (size_t i = 0; i < N(t); i++) {
		struct rate_account acc = { g, t[i].use_acct ? a : NULL, t[i].use_priv ? p : NULL };
		struct rate_match m;
		enum rate_source src;
		int ret = rate_cheapest(&acc, sv_cstr(t[i].num), t[i].at, 60, &m, &src);

		cr_assert_eq(ret, t[i].ret, "row %zu", i);
		if (ret)
			continue;
		cr_assert_eq(m.rate->rate, t[i].rate, "row %zu: %lld", i, (long long)m.rate->rate);
		cr_assert_eq(src, t[i].src, "row %zu: %s", i, rate_source_str(src));
		cr_assert_eq(m.prefix_len, t[i].len, "row %zu", i);
	}
	rate_table_free(g);
	rate_table_free(a);
	rate_table_free(p);
}

/* "Cheapest" is the charge of a reference call, so increments and fees count. */
Test(rate, cheapest_counts_full_terms)
{
	struct rate_builder *bg = rate_builder_new(), *bp = rate_builder_new();
	/* Group: 0.0100/min 60/60. Private: 0.0090/min but a 0.0050 connect fee. */
	struct rate rg = { 10000, 10000, 0, 60, 60 }, rp = { 9000, 9000, 5000, 60, 60 };
	struct rate_table *g, *p;
	struct rate_account acc;
	struct rate_match m;
	enum rate_source src;

	cr_assert_eq(rate_builder_add(bg, SV_LIT("1"), SV_NULL, &rg, RATE_TIME_MIN, 1), 0);
	cr_assert_eq(rate_builder_add(bp, SV_LIT("1"), SV_NULL, &rp, RATE_TIME_MIN, 1), 0);
	cr_assert_eq(rate_table_build(bg, &g, NULL), 0);
	cr_assert_eq(rate_table_build(bp, &p, NULL), 0);
	acc = (struct rate_account){ g, NULL, p };
	/* A 60 s call: 0.0100 against 0.0140: the group is cheaper. */
	cr_assert_eq(rate_cheapest(&acc, SV_LIT("1555"), 0, 60, &m, &src), 0);
	cr_assert_eq(src, RATE_SRC_GROUP);
	/* A 10 min call: 0.1000 against 0.0950: the private rate is cheaper. */
	cr_assert_eq(rate_cheapest(&acc, SV_LIT("1555"), 0, 600, &m, &src), 0);
	cr_assert_eq(src, RATE_SRC_PRIVATE);
	/* cmp_s 0: the per-minute rate alone. */
	cr_assert_eq(rate_cheapest(&acc, SV_LIT("1555"), 0, 0, &m, &src), 0);
	cr_assert_eq(src, RATE_SRC_PRIVATE);
	rate_table_free(g);
	rate_table_free(p);
	rate_builder_free(bg);
	rate_builder_free(bp);
}

/* A table past 2 MiB lives in its own mapping; every prefix of it must be found. */
Test(rate, large_table_every_prefix)
{
	struct rate_builder *b = rate_builder_new();
	struct rate_table *t;
	struct rate_stats st;
	uint64_t seed = 42;
	char p[16];

	for (uint32_t i = 0; i < 120000; i++) {
		struct rate r = flat(1000 + i % 977);

		/* Dense blocks, as in a NPA-NXX deck: 7 and 8 digits. */
		snprintf(p, sizeof(p), "1%06u%s", 200000 + i % 800000, i >= 60000 ? "5" : "");
		cr_assert_eq(rate_builder_add(b, sv_cstr(p), SV_NULL, &r, RATE_TIME_MIN, i), 0);
	}
	cr_assert_eq(rate_table_build(b, &t, NULL), 0);
	rate_table_stats(t, &st);
	cr_assert_eq(st.prefixes, 120000);
	cr_assert_geq(st.bytes, 2u << 20);
	cr_assert_leq(st.slots, 120000 * 8 / 3 + 64); /* powers of two, load > 3/8 */
	for (uint32_t i = 0; i < 120000; i++) {
		struct rate_match m;
		char num[20];

		snprintf(num, sizeof(num), "1%06u%s%04u", 200000 + i % 800000,
			 i >= 60000 ? "5" : "", (unsigned)(rng(&seed) % 10000));
		cr_assert_eq(rate_lookup(t, sv_cstr(num), 0, &m), 0, "%s", num);
		cr_assert_eq(m.rate->rate, 1000 + i % 977, "%s", num);
		cr_assert_eq(m.prefix_len, i >= 60000 ? 8 : 7, "%s", num);
	}
	rate_table_free(t);
	rate_builder_free(b);
}
