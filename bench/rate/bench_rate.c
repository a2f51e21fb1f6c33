/* SPDX-License-Identifier: MIT */
/*
 * bench_rate.c: rate table build time, memory and longest-prefix lookup time.
 *
 *   bench_rate [--prefixes N] [--lookups M] [--kind world|nanp] [--runs R] [--seed S]
 *
 * Generates a deck of N distinct prefixes (default 1,000,000) as CSV text, loads
 * it through the deck reader into a rate table (rateload.h), and times:
 *   - load: CSV text -> rows -> builder -> immutable table;
 *   - lookups: M numbers (default 2,000,000), each a deck prefix extended with
 *     random digits to 11-12 digits, in two loops: independent lookups
 *     (throughput: the CPU overlaps the misses of consecutive lookups) and
 *     dependent ones (latency: the address of the next number depends on the
 *     previous answer, so lookups cannot overlap);
 *   - the same lookups on a peer built in this program, the other classic design
 *     for digit prefixes: a tree walked two digits per node (a stride-2 tree
 *     bitmap, 24-octet nodes). Both must give the same answer for every number
 *     (checked; exit 1 if not), and the ratio is printed.
 * Kinds: "world" spreads prefixes of 3..10 digits under ~230 country codes (an
 * A-Z wholesale deck, sparse); "nanp" is every 1+NPA+NXX and then NPA-NXX-X
 * blocks (a US domestic deck, dense).
 *
 * Lookup times are the median of R runs (default 5) of this thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID: time spent descheduled is not counted); the load is
 * wall time. No timing
 * is asserted anywhere: these machines are small and shared; compare ratios.
 */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/rate.h"
#include "core/rateload.h"

struct opts {
	size_t prefixes;
	size_t lookups;
	unsigned runs;
	uint64_t seed;
	bool nanp;
};

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Wall time, for the load. */
static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/*
 * CPU time of this thread, for lookups: on a shared machine the thread is often
 * descheduled for longer than a lookup takes, and wall time would count that.
 */
static double cpu_s(void)
{
	return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

/* E.164 country codes (a representative set: every zone, 1 to 3 digits). */
static const char *const ccs[] = {
	"1",   "7",   "20",  "27",  "30",  "31",  "32",	 "33",	"34",  "36",  "39",  "40",  "41",
	"43",  "44",  "45",  "46",  "47",  "48",  "49",	 "51",	"52",  "53",  "54",  "55",  "56",
	"57",  "58",  "60",  "61",  "62",  "63",  "64",	 "65",	"66",  "81",  "82",  "84",  "86",
	"90",  "91",  "92",  "93",  "94",  "95",  "98",	 "211", "212", "213", "216", "218", "220",
	"221", "222", "223", "224", "225", "226", "227", "228", "229", "230", "231", "232", "233",
	"234", "235", "236", "237", "238", "239", "240", "241", "242", "243", "244", "245", "246",
	"248", "249", "250", "251", "252", "253", "254", "255", "256", "257", "258", "260", "261",
	"262", "263", "264", "265", "266", "267", "268", "269", "290", "291", "297", "298", "299",
	"350", "351", "352", "353", "354", "355", "356", "357", "358", "359", "370", "371", "372",
	"373", "374", "375", "376", "377", "378", "380", "381", "382", "383", "385", "386", "387",
	"389", "420", "421", "423", "500", "501", "502", "503", "504", "505", "506", "507", "508",
	"509", "590", "591", "592", "593", "594", "595", "596", "597", "598", "599", "670", "672",
	"673", "674", "675", "676", "677", "678", "679", "680", "681", "682", "683", "685", "686",
	"687", "688", "689", "690", "691", "692", "850", "852", "853", "855", "856", "880", "886",
	"960", "961", "962", "963", "964", "965", "966", "967", "968", "970", "971", "972", "973",
	"974", "975", "976", "977", "992", "993", "994", "995", "996", "998",
};

/* A set of prefixes as (length, digits) keys, for generating distinct prefixes. */
struct keyset {
	uint64_t *slot;
	size_t cap;
};

static uint64_t key_of(const char *p, size_t len)
{
	uint64_t k = 0;

	for (size_t i = 0; i < len; i++)
		k = k * 10 + (uint64_t)(p[i] - '0');
	return k * 32 + len; /* up to 17 digits */
}

static size_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (size_t)k;
}

/* Insert k; returns false when it was there. */
static bool keyset_add(struct keyset *s, uint64_t k)
{
	size_t i = mix(k) & (s->cap - 1);

	while (s->slot[i]) {
		if (s->slot[i] == k)
			return false;
		i = (i + 1) & (s->cap - 1);
	}
	s->slot[i] = k;
	return true;
}

/* The deck: prefixes as text, one per row, and the CSV. */
struct deck {
	char (*pfx)[16];
	uint8_t *len;
	size_t n;
	char *csv;
	size_t csv_len;
};

static void gen_deck(const struct opts *o, struct deck *d)
{
	struct keyset set;
	uint64_t s = o->seed;
	size_t cap = 1, pos = 0, csv_cap;

	while (cap < o->prefixes * 2)
		cap *= 2;
	set.cap = cap;
	set.slot = calloc(cap, sizeof(*set.slot));
	d->pfx = malloc(o->prefixes * sizeof(*d->pfx));
	d->len = malloc(o->prefixes);
	d->n = 0;
	if (!set.slot || !d->pfx || !d->len) {
		fprintf(stderr, "bench_rate: out of memory\n");
		exit(2);
	}
	while (d->n < o->prefixes) {
		char *p = d->pfx[d->n];
		size_t len;

		if (o->nanp) {
			/* All NPA-NXX first (7 digits), then NPA-NXX-X blocks (8). */
			bool block = d->n >= 640000;

			p[0] = '1';
			p[1] = (char)('2' + rng(&s) % 8);
			p[2] = (char)('0' + rng(&s) % 10);
			p[3] = (char)('0' + rng(&s) % 10);
			p[4] = (char)('2' + rng(&s) % 8);
			p[5] = (char)('0' + rng(&s) % 10);
			p[6] = (char)('0' + rng(&s) % 10);
			len = 7;
			if (block)
				p[len++] = (char)('0' + rng(&s) % 10);
		} else {
			const char *cc = ccs[rng(&s) % (sizeof(ccs) / sizeof(ccs[0]))];
			size_t extra = 1 + rng(&s) % 7;

			len = strlen(cc);
			memcpy(p, cc, len);
			for (size_t i = 0; i < extra; i++)
				p[len++] = (char)('0' + rng(&s) % 10);
		}
		if (!keyset_add(&set, key_of(p, len)))
			continue;
		d->len[d->n++] = (uint8_t)len;
	}
	free(set.slot);

	/* Prefix, a destination per country code, one of 5000 rates, a period, a date. */
	csv_cap = 128 + o->prefixes * 64;
	d->csv = malloc(csv_cap);
	if (!d->csv) {
		fprintf(stderr, "bench_rate: out of memory\n");
		exit(2);
	}
	pos += (size_t)snprintf(d->csv, csv_cap,
				"prefix,destination,rate,increment,effective_date\n");
	for (size_t i = 0; i < d->n; i++) {
		unsigned r = (unsigned)(rng(&s) % 5000);

		pos += (size_t)snprintf(d->csv + pos, csv_cap - pos,
					"%.*s,Dest %.3s,0.%04u,%s,%s\n", (int)d->len[i], d->pfx[i],
					d->pfx[i], r + 10, r % 3 ? "1/1" : "60/60", "2024-01-01");
	}
	d->csv_len = pos;
}

/*
 * The peer: a tree bitmap (Eatherton et al., 2004) over decimal digits with a
 * stride of two digits, sipring's first design for this table. A node stands for
 * a prefix of 2k digits: 11 "internal" bits say whether the node's own prefix and
 * each one-digit extension exist, 100 "external" bits whether a child exists for
 * each two more digits; children sit side by side from `child`, so a child's
 * index is child + popcount(external bits below it). A lookup walks down one
 * node per two digits: dependent loads.
 */
struct tnode {
	uint64_t lo; /* external 0..63 */
	uint64_t hi; /* external 64..99, internal bits at 36..46 */
	uint32_t child;
	uint32_t res; /* prefix number of the node's first internal prefix */
};

struct peer {
	struct tnode *nodes;
	uint32_t *res; /* result -> prefix length */
	size_t nnodes, cap, nres;
	const struct deck *d;
	const uint32_t *order; /* deck prefixes, sorted */
};

static unsigned popcount64(uint64_t x)
{
	return (unsigned)__builtin_popcountll(x);
}

static unsigned pdigit(const struct peer *p, uint32_t i, unsigned pos)
{
	return (unsigned)(p->d->pfx[p->order[i]][pos] - '0');
}

static unsigned plen(const struct peer *p, uint32_t i)
{
	return p->d->len[p->order[i]];
}

static void tnode_build(struct peer *p, size_t node, uint32_t lo, uint32_t hi, unsigned depth)
{
	uint64_t elo = 0, ehi = 0;
	unsigned intb = 0, k = 0, lens[11];
	size_t base;

	for (uint32_t i = lo; i < hi; i++) {
		unsigned l = plen(p, i);

		if (l == depth) {
			intb |= 1;
			lens[0] = l;
		} else if (l == depth + 1) {
			intb |= 2u << pdigit(p, i, depth);
			lens[1 + pdigit(p, i, depth)] = l;
		} else {
			unsigned e = pdigit(p, i, depth) * 10 + pdigit(p, i, depth + 1);

			if (e < 64)
				elo |= 1ull << e;
			else
				ehi |= 1ull << (e - 64);
		}
	}
	p->nodes[node].lo = elo;
	p->nodes[node].hi = ehi | (uint64_t)intb << 36;
	p->nodes[node].res = (uint32_t)p->nres;
	for (unsigned bit = 0; bit < 11; bit++)
		if (intb & (1u << bit))
			p->res[p->nres++] = lens[bit];
	base = p->nnodes;
	p->nodes[node].child = (uint32_t)base;
	p->nnodes += popcount64(elo) + popcount64(ehi);
	if (p->nnodes > p->cap) {
		fprintf(stderr, "bench_rate: peer node array too small\n");
		exit(2);
	}
	for (uint32_t i = lo; i < hi;) {
		uint32_t j;
		unsigned e;

		if (plen(p, i) <= depth + 1) {
			i++;
			continue;
		}
		e = pdigit(p, i, depth) * 10 + pdigit(p, i, depth + 1);
		for (j = i + 1; j < hi && plen(p, j) > depth + 1 &&
				pdigit(p, j, depth) * 10 + pdigit(p, j, depth + 1) == e;
		     j++)
			;
		tnode_build(p, base + k++, i, j, depth + 2);
		i = j;
	}
}

static int cmp_prefix(const void *a, const void *b, void *arg)
{
	const struct deck *d = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	size_t lx = d->len[x], ly = d->len[y];
	int c = memcmp(d->pfx[x], d->pfx[y], lx < ly ? lx : ly);

	return c ? c : (lx > ly) - (lx < ly);
}

static void peer_build(struct peer *p, const struct deck *d)
{
	uint32_t *order = malloc(d->n * sizeof(*order));

	memset(p, 0, sizeof(*p));
	p->cap = d->n * 3 + 16;
	p->nodes = calloc(p->cap, sizeof(*p->nodes));
	p->res = malloc(d->n * sizeof(*p->res));
	if (!order || !p->nodes || !p->res) {
		fprintf(stderr, "bench_rate: out of memory\n");
		exit(2);
	}
	for (size_t i = 0; i < d->n; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, d->n, sizeof(*order), cmp_prefix, (void *)d);
	p->d = d;
	p->order = order;
	p->nnodes = 1;
	tnode_build(p, 0, 0, (uint32_t)d->n, 0);
	free(order);
	p->order = NULL;
}

static size_t peer_bytes(const struct peer *p)
{
	return p->nnodes * sizeof(*p->nodes) + p->nres * sizeof(*p->res);
}

/* Longest matching length, 0 when none. */
static unsigned peer_lookup(const struct peer *p, const char *num, size_t n)
{
	const struct tnode *node = p->nodes;
	unsigned best = 0;

	for (size_t depth = 0;; depth += 2) {
		unsigned intb = (unsigned)(node->hi >> 36), d1, e;
		uint64_t bit;
		uint32_t rank;

		if (intb & 1)
			best = p->res[node->res];
		if (depth >= n)
			break;
		d1 = (unsigned)(num[depth] - '0');
		if (intb & (2u << d1))
			best = p->res[node->res + popcount64(intb & ((2u << d1) - 1))];
		if (depth + 2 > n)
			break;
		e = d1 * 10 + (unsigned)(num[depth + 1] - '0');
		if (e < 64) {
			bit = 1ull << e;
			if (!(node->lo & bit))
				break;
			rank = popcount64(node->lo & (bit - 1));
		} else {
			bit = 1ull << (e - 64);
			if (!(node->hi & bit))
				break;
			rank = popcount64(node->lo) + popcount64(node->hi & (bit - 1));
		}
		node = &p->nodes[node->child + rank];
	}
	return best;
}

static void peer_free(struct peer *p)
{
	free(p->nodes);
	free(p->res);
}

#define NUMLEN 12

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	struct opts o = { 1000000, 2000000, 5, 0x5eed5eed5eed5eedull, false };
	struct rate_builder *b;
	struct rate_table *t;
	struct rate_stats st;
	struct rateload_stats ls;
	struct deck d;
	struct peer peer;
	struct rusage ru;
	char(*nums)[NUMLEN], err[512];
	double t0, load_s, peer_s, ind[32], dep[32], pind[32], pdep[32];
	uint64_t s, sink = 0;
	const int64_t at = 1735689600; /* 2025-01-01 */
	size_t mismatches = 0;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "--prefixes") == 0 && v)
			o.prefixes = strtoull(v, NULL, 10), i++;
		else if (strcmp(argv[i], "--lookups") == 0 && v)
			o.lookups = strtoull(v, NULL, 10), i++;
		else if (strcmp(argv[i], "--runs") == 0 && v)
			o.runs = (unsigned)strtoul(v, NULL, 10), i++;
		else if (strcmp(argv[i], "--seed") == 0 && v)
			o.seed = strtoull(v, NULL, 0), i++;
		else if (strcmp(argv[i], "--kind") == 0 && v)
			o.nanp = strcmp(v, "nanp") == 0, i++;
		else {
			fprintf(stderr, "usage: bench_rate [--prefixes N] [--lookups M] [--kind "
					"world|nanp] "
					"[--runs R] [--seed S]\n");
			return 2;
		}
	}
	if (o.nanp && o.prefixes > 1280000)
		o.prefixes = 1280000;
	if (!o.prefixes || !o.lookups || !o.runs || o.runs > 32) {
		fprintf(stderr, "bench_rate: prefixes and lookups > 0, runs 1..32\n");
		return 2;
	}

	gen_deck(&o, &d);

	/* Load: CSV text to an immutable table. */
	t0 = now_s();
	b = rate_builder_new();
	if (!b ||
	    rateload_add(b, "bench.csv", d.csv, d.csv_len, NULL, NULL, &ls, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_rate: %s\n", b ? err : "out of memory");
		return 2;
	}
	if (rate_table_build(b, &t, NULL) < 0) {
		fprintf(stderr, "bench_rate: build failed\n");
		return 2;
	}
	load_s = now_s() - t0;
	rate_builder_free(b);
	rate_table_stats(t, &st);

	t0 = now_s();
	peer_build(&peer, &d);
	peer_s = now_s() - t0;

	/* Numbers: a deck prefix and random digits up to NUMLEN. */
	nums = malloc(o.lookups * sizeof(*nums));
	if (!nums)
		return 2;
	s = o.seed ^ 0xabcdef;
	for (size_t i = 0; i < o.lookups; i++) {
		size_t k = rng(&s) % d.n, len = d.len[k];

		memcpy(nums[i], d.pfx[k], len);
		for (size_t j = len; j < NUMLEN; j++)
			nums[i][j] = (char)('0' + rng(&s) % 10);
	}

	/* Same answers from both. */
	for (size_t i = 0; i < o.lookups; i++) {
		struct rate_match m;
		unsigned pl = peer_lookup(&peer, nums[i], NUMLEN);
		unsigned tl =
			rate_lookup(t, sv_make(nums[i], NUMLEN), at, &m) == 0 ? m.prefix_len : 0;

		mismatches += pl != tl;
	}

	for (unsigned r = 0; r < o.runs; r++) {
		size_t idx = 0;

		t0 = cpu_s();
		for (size_t i = 0; i < o.lookups; i++) {
			struct rate_match m;

			if (rate_lookup(t, sv_make(nums[i], NUMLEN), at, &m) == 0)
				sink += (uint64_t)m.rate->rate;
		}
		ind[r] = (cpu_s() - t0) * 1e9 / (double)o.lookups;

		t0 = cpu_s();
		for (size_t i = 0; i + 1 < o.lookups;) {
			struct rate_match m;
			unsigned got = 0;

			if (rate_lookup(t, sv_make(nums[idx], NUMLEN), at, &m) == 0)
				got = m.prefix_len;
			/*
			 * The next number's address depends on this answer (a data
			 * dependency, always +1: no prefix is 100 digits), so lookups
			 * cannot overlap, while the numbers are still read in order.
			 */
			idx = ++i + (got > 100);
		}
		dep[r] = (cpu_s() - t0) * 1e9 / (double)o.lookups;
		sink += idx;

		t0 = cpu_s();
		for (size_t i = 0; i < o.lookups; i++)
			sink += peer_lookup(&peer, nums[i], NUMLEN);
		pind[r] = (cpu_s() - t0) * 1e9 / (double)o.lookups;

		idx = 0;
		t0 = cpu_s();
		for (size_t i = 0; i + 1 < o.lookups;) {
			unsigned got = peer_lookup(&peer, nums[idx], NUMLEN);

			idx = ++i + (got > 100);
		}
		pdep[r] = (cpu_s() - t0) * 1e9 / (double)o.lookups;
		sink += idx;
	}
	getrusage(RUSAGE_SELF, &ru);

	{
		double mi = median(ind, o.runs), md = median(dep, o.runs);
		double pi = median(pind, o.runs), pd = median(pdep, o.runs);

		printf("deck          %s, %zu prefixes (%zu rows), %zu distinct rates, %zu names\n",
		       o.nanp ? "nanp" : "world", st.prefixes, ls.rows, st.terms, st.dests);
		printf("load          %.3f s CSV -> table (%.0f rows/s)\n", load_s,
		       (double)ls.rows / load_s);
		printf("table         %zu bytes, %.1f bytes/prefix, %zu slots (%.2f per prefix)\n",
		       st.bytes, (double)st.bytes / (double)st.prefixes, st.slots,
		       (double)st.slots / (double)st.prefixes);
		printf("peer          tree bitmap: %zu bytes (%.1f bytes/prefix, no rates), %zu "
		       "nodes, "
		       "built in %.3f s\n",
		       peer_bytes(&peer), (double)peer_bytes(&peer) / (double)d.n, peer.nnodes,
		       peer_s);
		printf("lookup        %zu numbers of %d digits, median of %u runs, thread CPU "
		       "time\n",
		       o.lookups, NUMLEN, o.runs);
		printf("  rate_lookup independent %6.1f ns  dependent %6.1f ns\n", mi, md);
		printf("  tree peer   independent %6.1f ns  dependent %6.1f ns\n", pi, pd);
		printf("  ratio peer/tree         %6.2f x               %6.2f x\n", pi / mi,
		       pd / md);
		printf("max rss       %ld MiB\n", ru.ru_maxrss / 1024);
		printf("check         %zu mismatches against the peer (sink %llu)\n", mismatches,
		       (unsigned long long)(sink & 0xff));
	}
	rate_table_free(t);
	peer_free(&peer);
	free(nums);
	free(d.pfx);
	free(d.len);
	free(d.csv);
	return mismatches ? 1 : 0;
}
