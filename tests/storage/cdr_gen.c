/* SPDX-License-Identifier: MIT */
/* cdr_gen.c: see cdr_gen.h. */
#include "cdr_gen.h"

#include <stdio.h>
#include <string.h>

/* splitmix64: small, fast, and the same everywhere. */
static uint64_t rnd(struct cdr_gen *g)
{
	uint64_t z = (g->state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t pick(struct cdr_gen *g, uint64_t n)
{
	return rnd(g) % n;
}

void cdr_gen_init(struct cdr_gen *g, uint64_t seed)
{
	memset(g, 0, sizeof(*g));
	g->seed = seed;
	g->state = seed * 0x2545f4914f6cdd1dull + 1;
}

void cdr_gen_next(struct cdr_gen *g, struct cdr *c)
{
	static const char *const cc[] = { "44", "1", "33", "49", "91", "234", "880", "52" };
	/* The destination: a country code and up to 3 more digits, ~ 400 prefixes. */
	unsigned country = (unsigned)pick(g, 8), extra = (unsigned)pick(g, 4);
	int64_t setup = (int64_t)CDR_GEN_DAY0 * 86400000 +
			(int64_t)pick(g, (uint64_t)CDR_GEN_DAYS * 86400000);
	unsigned vendor = (unsigned)pick(g, 8);
	bool routed = pick(g, 20) != 0; /* 5%: no route, no vendor */
	bool answered = routed && pick(g, 100) < 45;
	bool rerouted = routed && !answered && pick(g, 10) == 0;

	memset(c, 0, sizeof(*c));
	g->n++;
	snprintf(g->cust_prefix, sizeof(g->cust_prefix), "%s", cc[country]);
	for (unsigned i = 0; i < extra; i++) {
		size_t l = strlen(g->cust_prefix);
		g->cust_prefix[l] = (char)('0' + pick(g, 3));
		g->cust_prefix[l + 1] = '\0';
	}
	snprintf(g->vend_prefix, sizeof(g->vend_prefix), "%.*s",
		 (int)(strlen(g->cust_prefix) > 2 ? strlen(g->cust_prefix) - 1 : 2),
		 g->cust_prefix);
	snprintf(g->customer, sizeof(g->customer), "cust-%02u", (unsigned)pick(g, 20));
	snprintf(g->call_id, sizeof(g->call_id), "%016llx-%llu@gen.test",
		 (unsigned long long)g->seed, (unsigned long long)g->n);
	snprintf(g->dialled, sizeof(g->dialled), "00%s%07u", g->cust_prefix,
		 (unsigned)pick(g, 10000000));
	snprintf(g->routed, sizeof(g->routed), "+%s", g->dialled + 2);
	c->call_id = sv_cstr(g->call_id);
	c->customer = sv_cstr(g->customer);
	c->dialled = sv_cstr(g->dialled);
	c->cust_prefix = sv_cstr(g->cust_prefix);
	c->setup_ms = setup;
	c->attempt = (uint8_t)(1 + pick(g, 3));
	if (routed) {
		snprintf(g->vendor, sizeof(g->vendor), "vend-%u", vendor);
		snprintf(g->gateway, sizeof(g->gateway), "gw-%u-%u", vendor, (unsigned)pick(g, 3));
		c->vendor = sv_cstr(g->vendor);
		c->gateway = sv_cstr(g->gateway);
		c->routed = sv_cstr(g->routed);
		c->vend_prefix = sv_cstr(g->vend_prefix);
	}
	if (routed && pick(g, 5))
		c->ringing_ms = setup + 500 + (int64_t)pick(g, 5000);
	if (answered) {
		int64_t dur = 1000 + (int64_t)pick(g, 1200000);
		uint32_t secs = (uint32_t)((dur + 999) / 1000);
		uint64_t sell = 5000 + pick(g, 200000); /* micro-units per minute */
		uint64_t buy = sell * (70 + pick(g, 35)) / 100;

		c->answer_ms =
			(c->ringing_ms ? c->ringing_ms : setup) + 100 + (int64_t)pick(g, 900);
		c->end_ms = c->answer_ms + dur;
		c->cust_billed_s = (secs + 59) / 60 * 60; /* 60/60 */
		c->vend_billed_s = secs;		  /* 1/1 */
		c->revenue = (int64_t)(sell * c->cust_billed_s / 60);
		c->cost = (int64_t)(buy * c->vend_billed_s / 60);
		c->sip_code = 200;
		c->q850 = 16;
		c->side = (uint8_t)(pick(g, 2) ? CDR_SIDE_CALLER : CDR_SIDE_CALLEE);
	} else {
		static const uint16_t codes[] = { 486, 503, 404, 487, 480, 408 };
		c->end_ms = setup + 200 + (int64_t)pick(g, 30000);
		c->sip_code = routed ? codes[pick(g, 6)] : 404;
		c->q850 = routed ? (uint8_t)(17 + pick(g, 3)) : 3;
		c->side = (uint8_t)(routed ? CDR_SIDE_CALLEE : CDR_SIDE_SWITCH);
		if (rerouted)
			c->flags |= CDR_F_REROUTED;
		/* Now and then a vendor bills a failed attempt (a setup fee): cost, no revenue. */
		if (routed && pick(g, 50) == 0)
			c->cost = 1000;
	}
}

int cdr_gen_expect(struct report *rep, uint64_t seed, uint64_t n, enum report_by by)
{
	enum cdr_dim dim = by == REPORT_BY_DAY ? CDR_DIM_CUSTOMER : (enum cdr_dim)by;
	struct cdr_gen g;

	cdr_gen_init(&g, seed);
	for (uint64_t i = 0; i < n; i++) {
		struct cdr c;
		struct cdr_counts d;
		struct sv key;
		int r;

		cdr_gen_next(&g, &c);
		if (!cdr_count(&c, dim, &key, &d))
			continue;
		r = report_add(rep, cdr_day(c.setup_ms), by == REPORT_BY_DAY ? SV_NULL : key, &d);
		if (r)
			return r;
	}
	return 0;
}
