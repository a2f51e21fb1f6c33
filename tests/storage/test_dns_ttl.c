/* SPDX-License-Identifier: MIT */
/*
 * Tests of storage/dns_ttl.h on hand-built DNS messages: the least TTL of a
 * type among others, compressed and plain owner names, the TTL's top bit,
 * other classes; every truncation of a good message, pointer loops, pointers
 * out of the message, names too long, extended labels; then random mutations
 * of a good message. Inputs are placed against a guard page (tests/guard.h):
 * a read past the end faults.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/dns_ttl.h"
#include "tests/guard.h"

struct pkt {
	uint8_t b[2048];
	size_t n;
};

static void p8(struct pkt *p, unsigned v)
{
	p->b[p->n++] = (uint8_t)v;
}

static void p16(struct pkt *p, unsigned v)
{
	p8(p, v >> 8);
	p8(p, v & 0xff);
}

static void p32(struct pkt *p, uint32_t v)
{
	p16(p, v >> 16);
	p16(p, v & 0xffff);
}

/* "a.b.c" as labels and the root. */
static void pname(struct pkt *p, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		p8(p, (unsigned)l);
		memcpy(p->b + p->n, name, l);
		p->n += l;
		name += l + (dot ? 1 : 0);
	}
	p8(p, 0);
}

static void pptr(struct pkt *p, unsigned off)
{
	p16(p, 0xc000 | off);
}

static void hdr(struct pkt *p, unsigned qd, unsigned an, unsigned ns, unsigned ar)
{
	p->n = 0;
	p16(p, 0x1234);
	p16(p, 0x8180);
	p16(p, qd);
	p16(p, an);
	p16(p, ns);
	p16(p, ar);
}

/* A record's header after its owner name, then rdata of rdlen octets of filler. */
static void rr(struct pkt *p, unsigned type, unsigned cls, uint32_t ttl, unsigned rdlen)
{
	p16(p, type);
	p16(p, cls);
	p32(p, ttl);
	p16(p, rdlen);
	memset(p->b + p->n, 0x2a, rdlen);
	p->n += rdlen;
}

/* SRV rdata: priority, weight, port, target (compressed to off when off > 0). */
static void srv(struct pkt *p, uint32_t ttl, const char *target, unsigned off)
{
	size_t len_at;

	p16(p, DNS_TTL_T_SRV);
	p16(p, 1);
	p32(p, ttl);
	len_at = p->n;
	p16(p, 0);
	p16(p, 10);
	p16(p, 60);
	p16(p, 5060);
	if (off)
		pptr(p, off);
	else
		pname(p, target);
	p->b[len_at] = (uint8_t)((p->n - len_at - 2) >> 8);
	p->b[len_at + 1] = (uint8_t)((p->n - len_at - 2) & 0xff);
}

/* A typical SRV answer: question, two SRV (TTL 300 and 120), one A (TTL 5), an authority NS. */
static void good(struct pkt *p)
{
	hdr(p, 1, 3, 1, 0);
	pname(p, "_sip._udp.example.com"); /* at offset 12 */
	p16(p, DNS_TTL_T_SRV);
	p16(p, 1);
	pptr(p, 12);
	srv(p, 300, "sip1.example.com", 0);
	pptr(p, 12);
	srv(p, 120, NULL, 12 + 10); /* "example.com" inside the question */
	pname(p, "sip1.example.com");
	rr(p, DNS_TTL_T_A, 1, 5, 4);
	pptr(p, 12 + 10);
	rr(p, 2, 1, 86400, 6);
}

static int ttl_of(const struct pkt *p, size_t len, uint16_t type, uint32_t *ttl)
{
	const uint8_t *m = (const uint8_t *)guard_place(p->b, len);

	return dns_ttl_min(m, len, type, ttl, NULL);
}

Test(dns_ttl, least_ttl_of_a_type)
{
	struct pkt p;
	uint32_t ttl = 7777;

	good(&p);
	cr_assert_eq(ttl_of(&p, p.n, DNS_TTL_T_SRV, &ttl), 2);
	cr_assert_eq(ttl, 120);
	cr_assert_eq(ttl_of(&p, p.n, DNS_TTL_T_A, &ttl), 1);
	cr_assert_eq(ttl, 5);
	ttl = 7777;
	cr_assert_eq(ttl_of(&p, p.n, DNS_TTL_T_NAPTR, &ttl), 0);
	cr_assert_eq(ttl, 7777, "untouched when there is no such record");
	/* the authority section is not the answer */
	cr_assert_eq(ttl_of(&p, p.n, 2, &ttl), 0);
}

Test(dns_ttl, top_bit_is_zero_and_other_classes_ignored)
{
	struct pkt p;
	uint32_t ttl = 0;

	hdr(&p, 0, 3, 0, 0);
	pname(&p, "a.example");
	rr(&p, DNS_TTL_T_NAPTR, 1, 0x80000010u, 3);
	pname(&p, "a.example");
	rr(&p, DNS_TTL_T_NAPTR, 3 /* CH */, 1, 3);
	pname(&p, "a.example");
	rr(&p, DNS_TTL_T_NAPTR, 1, 50, 3);
	cr_assert_eq(ttl_of(&p, p.n, DNS_TTL_T_NAPTR, &ttl), 2);
	cr_assert_eq(ttl, 0, "RFC 2181 §8: a TTL with its top bit set is 0");
}

Test(dns_ttl, no_answers)
{
	struct pkt p;
	uint32_t ttl;

	hdr(&p, 1, 0, 0, 0);
	pname(&p, "nothing.example");
	p16(&p, DNS_TTL_T_SRV);
	p16(&p, 1);
	cr_assert_eq(ttl_of(&p, p.n, DNS_TTL_T_SRV, &ttl), 0);
	hdr(&p, 0, 0, 0, 0);
	cr_assert_eq(ttl_of(&p, p.n, DNS_TTL_T_SRV, &ttl), 0);
}

Test(dns_ttl, every_truncation_is_malformed)
{
	struct pkt p;
	uint32_t ttl;
	size_t answers_end;

	good(&p);
	/* the last octet of the answer section: the authority record follows (11 + 6) */
	answers_end = p.n - (2 + 10 + 6);
	for (size_t len = 0; len < answers_end; len++) {
		struct dns_ttl_err err = { 0 };
		const uint8_t *m = (const uint8_t *)guard_place(p.b, len);

		cr_assert_eq(dns_ttl_min(m, len, DNS_TTL_T_SRV, &ttl, &err), -EBADMSG, "cut at %zu",
			     len);
		cr_assert_not_null(err.reason);
		cr_assert_leq(err.off, len);
	}
	/* cut in the authority section: the answers are whole, that is enough */
	for (size_t len = answers_end; len <= p.n; len++)
		cr_assert_eq(ttl_of(&p, len, DNS_TTL_T_SRV, &ttl), 2, "cut at %zu", len);
}

struct bad_case {
	const char *what;
	void (*build)(struct pkt *p);
	const char *reason; /* a part of err.reason */
};

static void loop_self(struct pkt *p)
{
	hdr(p, 0, 1, 0, 0);
	pptr(p, 12); /* points at itself */
	rr(p, DNS_TTL_T_SRV, 1, 1, 0);
}

static void loop_two(struct pkt *p)
{
	hdr(p, 0, 1, 0, 0);
	p8(p, 1);
	p8(p, 'a');
	pptr(p, 16); /* -> the next pointer */
	pptr(p, 12); /* -> back */
	rr(p, DNS_TTL_T_SRV, 1, 1, 0);
}

static void ptr_outside(struct pkt *p)
{
	hdr(p, 0, 1, 0, 0);
	pptr(p, 0x3fff);
	rr(p, DNS_TTL_T_SRV, 1, 1, 0);
}

static void name_too_long(struct pkt *p)
{
	hdr(p, 0, 1, 0, 0);
	for (int i = 0; i < 5; i++) {
		p8(p, 60);
		memset(p->b + p->n, 'x', 60);
		p->n += 60;
	}
	p8(p, 0);
	rr(p, DNS_TTL_T_SRV, 1, 1, 0);
}

static void long_through_pointers(struct pkt *p)
{
	/* 3 × 63-octet labels, then a pointer back to them: 390 octets expanded */
	hdr(p, 0, 1, 0, 0);
	for (int i = 0; i < 3; i++) {
		p8(p, 63);
		memset(p->b + p->n, 'y', 63);
		p->n += 63;
	}
	pptr(p, 12);
	rr(p, DNS_TTL_T_SRV, 1, 1, 0);
}

static void extended_label(struct pkt *p)
{
	hdr(p, 0, 1, 0, 0);
	p8(p, 0x41);
	p8(p, 0);
	rr(p, DNS_TTL_T_SRV, 1, 1, 0);
}

static void rdata_past_end(struct pkt *p)
{
	hdr(p, 0, 1, 0, 0);
	pname(p, "a");
	rr(p, DNS_TTL_T_SRV, 1, 1, 0);
	p->b[p->n - 1] = 200; /* rdlength 200, nothing follows */
}

static void more_answers_than_there(struct pkt *p)
{
	hdr(p, 0, 2, 0, 0);
	pname(p, "a");
	rr(p, DNS_TTL_T_SRV, 1, 1, 0);
}

static void question_cut(struct pkt *p)
{
	hdr(p, 1, 0, 0, 0);
	pname(p, "a");
	p16(p, 1);
}

Test(dns_ttl, malformed)
{
	static const struct bad_case cases[] = {
		{ "a pointer to itself", loop_self, "loop" },
		{ "two pointers in a loop", loop_two, "loop" },
		{ "a pointer out of the message", ptr_outside, "out of the message" },
		{ "a name of 306 octets", name_too_long, "longer than 255" },
		{ "a name made too long by a pointer", long_through_pointers, "longer than 255" },
		{ "an extended label type", extended_label, "extended label" },
		{ "rdata past the end", rdata_past_end, "past the end" },
		{ "ANCOUNT larger than the records", more_answers_than_there, "past the end" },
		{ "a question without its class", question_cut, "question cut short" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt p;
		struct dns_ttl_err err = { 0 };
		uint32_t ttl = 0;
		const uint8_t *m;

		cases[i].build(&p);
		m = (const uint8_t *)guard_place(p.b, p.n);
		cr_assert_eq(dns_ttl_min(m, p.n, DNS_TTL_T_SRV, &ttl, &err), -EBADMSG, "%s",
			     cases[i].what);
		cr_assert_not_null(err.reason, "%s", cases[i].what);
		cr_assert_not_null(strstr(err.reason, cases[i].reason), "%s: \"%s\"", cases[i].what,
				   err.reason);
	}
	cr_assert_eq(dns_ttl_min(NULL, 0, DNS_TTL_T_SRV, NULL, NULL), -EBADMSG);
}

Test(dns_ttl, a_name_of_exactly_255_octets)
{
	struct pkt p;
	uint32_t ttl;

	/* 3 × (1 + 63) + (1 + 61) + 1 = 255 */
	hdr(&p, 0, 1, 0, 0);
	for (int i = 0; i < 3; i++) {
		p8(&p, 63);
		memset(p.b + p.n, 'z', 63);
		p.n += 63;
	}
	p8(&p, 61);
	memset(p.b + p.n, 'z', 61);
	p.n += 61;
	p8(&p, 0);
	rr(&p, DNS_TTL_T_SRV, 1, 9, 0);
	cr_assert_eq(ttl_of(&p, p.n, DNS_TTL_T_SRV, &ttl), 1);
	cr_assert_eq(ttl, 9);
}

/* Random mutations of a good message: no crash, no read past the end, a sane result. */
Test(dns_ttl, mutations)
{
	struct pkt p, m;
	uint64_t x = 88172645463325252ull;

	good(&p);
	for (int round = 0; round < 200000; round++) {
		uint32_t ttl = 0;
		int r;
		size_t len;

		m = p;
		for (int k = 0; k < 1 + round % 4; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			m.b[x % p.n] = (uint8_t)(x >> 32);
		}
		len = round % 7 ? p.n : (size_t)(x >> 40) % (p.n + 1);
		r = dns_ttl_min((const uint8_t *)guard_place(m.b, len), len, DNS_TTL_T_SRV, &ttl,
				NULL);
		cr_assert(r == -EBADMSG || (r >= 0 && r <= 0xffff), "round %d: %d", round, r);
		cr_assert(r <= 0 || ttl <= 0x7fffffffu);
	}
}
