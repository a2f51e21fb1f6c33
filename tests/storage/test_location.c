/* SPDX-License-Identifier: MIT */
/*
 * Tests of storage/location.h, in memory: add, update (by contact, by
 * +sip.instance and reg-id), remove, remove all, expire in order, the errors,
 * a random workload checked against a plain model, the resumable scan, readers
 * on other threads while the owner changes the table (under ASan a reader that
 * touched freed memory fails the test), and the bytes per binding at 1M
 * bindings (printed; asserted only against a loose bound).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "storage/location.h"

static struct location *mk(unsigned readers)
{
	struct location_config c = { .initial_aors = 16, .readers = readers };
	struct location *t = NULL;

	cr_assert_eq(location_create(&t, &c), 0);
	return t;
}

static struct location_binding bnd(const char *aor, const char *contact, int64_t exp)
{
	struct location_binding b = {
		.aor = sv_cstr(aor),
		.contact = sv_cstr(contact),
		.call_id = SV_LIT("cid-1@host"),
		.user_agent = SV_LIT("test-ua/1.0"),
		.expires_ms = exp,
		.cseq = 1,
		.q = 1000,
		.src = { .family = AF_INET,
			 .transport = LOCATION_TP_UDP,
			 .port = 5060,
			 .worker = LOCATION_WORKER_NONE,
			 .addr = { 192, 0, 2, 1 } },
	};
	return b;
}

static bool has(struct location *t, const char *aor, const char *contact, int64_t *exp)
{
	struct location_binding v[LOCATION_AOR_MAX];
	unsigned n = location_lookup(t, sv_cstr(aor), v, LOCATION_AOR_MAX);

	for (unsigned i = 0; i < n; i++)
		if (sv_eq(v[i].contact, sv_cstr(contact))) {
			if (exp)
				*exp = v[i].expires_ms;
			return true;
		}
	return false;
}

Test(location, add_update_remove)
{
	struct location *t = mk(1);
	struct location_binding b = bnd("alice@example.com", "sip:alice@192.0.2.1:5060", 1000);
	struct location_binding v[4];
	struct location_counts c;
	int64_t e = 0;

	cr_assert_eq(location_set(t, &b), 1);
	b.contact = SV_LIT("sip:alice@192.0.2.2:5060");
	b.path = SV_LIT("<sip:p1.example.com;lr>,<sip:p2.example.com;lr>");
	cr_assert_eq(location_set(t, &b), 1);
	cr_assert_eq(location_lookup(t, SV_LIT("alice@example.com"), v, 4), 2);
	cr_assert_eq(location_lookup(t, SV_LIT("bob@example.com"), v, 4), 0);
	/* update: same contact, later CSeq, new expiry */
	b.cseq = 2;
	b.expires_ms = 5000;
	cr_assert_eq(location_set(t, &b), 0);
	cr_assert(has(t, "alice@example.com", "sip:alice@192.0.2.2:5060", &e));
	cr_assert_eq(e, 5000);
	/* an older CSeq of the same Call-ID is refused; another Call-ID is not */
	b.cseq = 1;
	cr_assert_eq(location_set(t, &b), -ESTALE);
	b.call_id = SV_LIT("cid-2@host");
	cr_assert_eq(location_set(t, &b), 0);
	/* every field comes back */
	cr_assert_eq(location_lookup(t, SV_LIT("alice@example.com"), v, 4), 2);
	for (int i = 0; i < 2; i++) {
		if (!sv_eq(v[i].contact, SV_LIT("sip:alice@192.0.2.2:5060")))
			continue;
		cr_assert(sv_eq(v[i].path,
				SV_LIT("<sip:p1.example.com;lr>,<sip:p2.example.com;lr>")));
		cr_assert(sv_eq(v[i].call_id, SV_LIT("cid-2@host")));
		cr_assert(sv_eq(v[i].user_agent, SV_LIT("test-ua/1.0")));
		cr_assert(sv_eq(v[i].aor, SV_LIT("alice@example.com")));
		cr_assert_eq(v[i].q, 1000);
		cr_assert_eq(v[i].src.port, 5060);
		cr_assert_eq(v[i].src.addr[0], 192);
		cr_assert_eq(v[i].src.transport, LOCATION_TP_UDP);
	}
	location_counts(t, &c);
	cr_assert_eq(c.aors, 1);
	cr_assert_eq(c.bindings, 2);
	cr_assert_eq(
		location_remove(t, SV_LIT("alice@example.com"), SV_LIT("sip:nobody@x"), SV_NULL, 0),
		-ENOENT);
	cr_assert_eq(location_remove(t, SV_LIT("alice@example.com"),
				     SV_LIT("sip:alice@192.0.2.1:5060"), SV_NULL, 0),
		     0);
	cr_assert_not(has(t, "alice@example.com", "sip:alice@192.0.2.1:5060", NULL));
	cr_assert_eq(location_remove_aor(t, SV_LIT("alice@example.com")), 1);
	cr_assert_eq(location_remove_aor(t, SV_LIT("alice@example.com")), 0);
	location_counts(t, &c);
	cr_assert_eq(c.aors, 0);
	cr_assert_eq(c.bindings, 0);
	location_reclaim(t);
	location_destroy(t);
}

Test(location, instance_identity)
{
	struct location *t = mk(1);
	struct location_binding b = bnd("carol@example.com", "sip:carol@198.51.100.1:5060", 1000);
	struct location_binding v[4];

	b.instance = SV_LIT("<urn:uuid:00000000-0000-1000-8000-000A95A0E128>");
	b.reg_id = 1;
	cr_assert_eq(location_set(t, &b), 1);
	b.reg_id = 2; /* a second flow of the same instance */
	cr_assert_eq(location_set(t, &b), 1);
	/* the same instance and reg-id from a new address: an update, not a third binding */
	b.contact = SV_LIT("sip:carol@198.51.100.9:5062");
	b.cseq = 2;
	cr_assert_eq(location_set(t, &b), 0);
	cr_assert_eq(location_lookup(t, SV_LIT("carol@example.com"), v, 4), 2);
	cr_assert(has(t, "carol@example.com", "sip:carol@198.51.100.9:5062", NULL));
	/* removal by instance ignores the contact */
	cr_assert_eq(location_remove(t, SV_LIT("carol@example.com"), SV_LIT("sip:whatever"),
				     b.instance, 2),
		     0);
	cr_assert_eq(location_lookup(t, SV_LIT("carol@example.com"), v, 4), 1);
	cr_assert_eq(v[0].reg_id, 1);
	location_destroy(t);
}

Test(location, errors)
{
	struct location_config cfg = { .max_per_aor = 2, .max_bindings = 3 };
	struct location *t = NULL;
	struct location_binding b = bnd("d@example.com", "sip:d@h1", 1000);
	char big[LOCATION_STR_MAX + 2];

	cr_assert_eq(location_create(&t, &cfg), 0);
	b.contact = SV_NULL;
	cr_assert_eq(location_set(t, &b), -EINVAL);
	b.contact = SV_LIT("sip:d@h1");
	b.q = 1001;
	cr_assert_eq(location_set(t, &b), -EINVAL);
	b.q = 500;
	memset(big, 'x', sizeof(big));
	b.user_agent = sv_make(big, sizeof(big));
	cr_assert_eq(location_set(t, &b), -EINVAL);
	b.user_agent = SV_NULL;
	cr_assert_eq(location_set(t, &b), 1);
	b.contact = SV_LIT("sip:d@h2");
	cr_assert_eq(location_set(t, &b), 1);
	b.contact = SV_LIT("sip:d@h3");
	cr_assert_eq(location_set(t, &b), -E2BIG); /* max_per_aor */
	b.aor = SV_LIT("e@example.com");
	cr_assert_eq(location_set(t, &b), 1);
	b.aor = SV_LIT("f@example.com");
	cr_assert_eq(location_set(t, &b), -E2BIG); /* max_bindings */
	location_destroy(t);
	cfg.max_per_aor = LOCATION_AOR_MAX + 1;
	cr_assert_eq(location_create(&t, &cfg), -EINVAL);
}

static int changes;
static void count_change(void *arg, struct sv aor)
{
	(void)arg;
	cr_assert(aor.len > 0);
	changes++;
}

Test(location, expire_in_order)
{
	struct location *t = mk(1);
	struct location_binding out[8];
	char aor[32], contact[64];
	static const int64_t exp[] = { 700, 100, 500, 300, 900, 200, 800, 400, 600, 1000 };

	location_set_listener(t, count_change, NULL);
	for (int i = 0; i < 10; i++) {
		snprintf(aor, sizeof(aor), "u%d@example.com", i % 3);
		snprintf(contact, sizeof(contact), "sip:u%d@192.0.2.%d", i, i);
		struct location_binding b = bnd(aor, contact, exp[i]);
		cr_assert_eq(location_set(t, &b), 1);
	}
	cr_assert_eq(changes, 10);
	cr_assert_eq(location_next_expiry(t), 100);
	cr_assert_eq(location_expire(t, 50, out, 8), 0);
	cr_assert_eq(location_expire(t, 450, out, 8), 4);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(out[i].expires_ms, 100 * (i + 1));
	cr_assert_eq(changes, 14);
	cr_assert_eq(location_next_expiry(t), 500);
	/* cap: the rest in two calls, earliest first */
	cr_assert_eq(location_expire(t, 5000, out, 4), 4);
	cr_assert_eq(out[0].expires_ms, 500);
	cr_assert_eq(out[3].expires_ms, 800);
	cr_assert(sv_eq(out[3].aor, SV_LIT("u0@example.com")) ||
		  sv_eq(out[3].aor, SV_LIT("u1@example.com")) ||
		  sv_eq(out[3].aor, SV_LIT("u2@example.com")));
	cr_assert_eq(location_expire(t, 5000, out, 4), 2);
	cr_assert_eq(location_next_expiry(t), INT64_MAX);
	location_reclaim(t);
	location_destroy(t);
}

/* A model: per AOR, per contact index, the expiry (0 = absent). */
#define M_AORS	   3000
#define M_CONTACTS 4

static int64_t model[M_AORS][M_CONTACTS];

static void name(char *aor, size_t na, char *contact, size_t nc, int a, int k)
{
	snprintf(aor, na, "user%05d@example.com", a);
	snprintf(contact, nc, "sip:user%05d@10.0.%d.%d:5060", a, k, a % 250);
}

static void scan_count(void *arg, struct sv aor)
{
	(void)aor;
	(*(uint64_t *)arg)++;
}

Test(location, random_against_model)
{
	struct location *t = mk(1);
	uint64_t seed = 12345, live = 0;
	char aor[64], contact[64];

	memset(model, 0, sizeof(model));
	for (int step = 0; step < 200000; step++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		int a = (int)((seed >> 33) % M_AORS), k = (int)((seed >> 20) % M_CONTACTS);
		int op = (int)((seed >> 50) % 10);

		name(aor, sizeof(aor), contact, sizeof(contact), a, k);
		if (op < 6) {
			struct location_binding b = bnd(aor, contact, step + 1);
			b.cseq = (uint32_t)step;
			int r = location_set(t, &b);
			cr_assert_eq(r, model[a][k] ? 0 : 1);
			live += !model[a][k];
			model[a][k] = step + 1;
		} else if (op < 9) {
			int r = location_remove(t, sv_cstr(aor), sv_cstr(contact), SV_NULL, 0);
			cr_assert_eq(r, model[a][k] ? 0 : -ENOENT);
			live -= !!model[a][k];
			model[a][k] = 0;
		} else {
			int n = 0;
			for (int j = 0; j < M_CONTACTS; j++) {
				n += !!model[a][j];
				model[a][j] = 0;
			}
			cr_assert_eq(location_remove_aor(t, sv_cstr(aor)), n);
			live -= (uint64_t)n;
		}
		if (step % 1000 == 0)
			location_reclaim(t);
	}
	struct location_counts c;
	uint64_t aors = 0, scanned = 0, cursor = 0;
	location_counts(t, &c);
	cr_assert_eq(c.bindings, live);
	for (int a = 0; a < M_AORS; a++) {
		int n = 0;
		for (int k = 0; k < M_CONTACTS; k++) {
			int64_t e = 0;
			name(aor, sizeof(aor), contact, sizeof(contact), a, k);
			cr_assert_eq(has(t, aor, contact, &e), model[a][k] != 0);
			if (model[a][k]) {
				cr_assert_eq(e, model[a][k]);
				n++;
			}
		}
		aors += n > 0;
	}
	cr_assert_eq(c.aors, aors);
	while (location_scan(t, &cursor, 100, scan_count, &scanned))
		;
	cr_assert_eq(scanned, aors);
	/* expire everything in expiry order */
	struct location_binding out[64];
	int64_t last = 0;
	int n;
	uint64_t gone = 0;
	while ((n = location_expire(t, INT64_MAX - 1, out, 64)) > 0) {
		for (int i = 0; i < n; i++) {
			cr_assert_geq(out[i].expires_ms, last);
			last = out[i].expires_ms;
		}
		gone += (uint64_t)n;
		location_reclaim(t);
	}
	cr_assert_eq(gone, live);
	location_destroy(t);
}

/*
 * Readers: each binding's contact carries its CSeq ("sip:rN@h;v=<cseq>"), so a
 * reader can tell a torn or mixed binding. The owner keeps updating, removing
 * and re-adding, resizing, and reclaiming as fast as it can.
 */
#define R_AORS 2000

struct rd {
	struct location *t;
	unsigned idx;
	_Atomic bool *stop;
	uint64_t lookups, found, bad;
};

static void *reader_main(void *arg)
{
	struct rd *r = arg;
	char aor[32];
	uint64_t i = r->idx;

	while (!atomic_load(r->stop)) {
		struct location_binding v[LOCATION_AOR_MAX];
		unsigned n;

		snprintf(aor, sizeof(aor), "r%llu@example.com", (unsigned long long)(i++ % R_AORS));
		location_read_begin(r->t, r->idx);
		n = location_lookup(r->t, sv_cstr(aor), v, LOCATION_AOR_MAX);
		for (unsigned k = 0; k < n && k < LOCATION_AOR_MAX; k++) {
			char want[64];
			int len = snprintf(want, sizeof(want), "sip:%s;v=%u", aor, v[k].cseq);
			if (!sv_eq(v[k].aor, sv_cstr(aor)) || v[k].contact.len < (size_t)len ||
			    memcmp(v[k].contact.p, want, (size_t)len - 0) != 0 ||
			    v[k].expires_ms != (int64_t)v[k].cseq * 10)
				r->bad++;
		}
		location_read_end(r->t, r->idx);
		r->lookups++;
		r->found += n > 0;
	}
	return NULL;
}

Test(location, readers_while_owner_writes)
{
	struct location *t = mk(2);
	_Atomic bool stop = false;
	struct rd rds[2] = { { t, 0, &stop, 0, 0, 0 }, { t, 1, &stop, 0, 0, 0 } };
	pthread_t th[2];
	uint64_t seed = 7;
	char aor[32], contact[64];

	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, reader_main, &rds[i]), 0);
	for (uint32_t step = 1; step < 300000; step++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		unsigned a = (unsigned)((seed >> 33) % R_AORS);
		int op = (int)((seed >> 55) % 8);

		snprintf(aor, sizeof(aor), "r%u@example.com", a);
		if (op < 6) {
			snprintf(contact, sizeof(contact), "sip:%s;v=%u", aor, step);
			struct location_binding b = bnd(aor, contact, (int64_t)step * 10);
			/* two contacts per AOR: the identity is the part before ";v=" */
			b.instance =
				(seed >> 40) & 1 ? SV_LIT("<urn:uuid:a>") : SV_LIT("<urn:uuid:b>");
			b.cseq = step;
			b.call_id = sv_cstr(contact);
			cr_assert_geq(location_set(t, &b), 0);
		} else if (op < 7) {
			location_remove_aor(t, sv_cstr(aor));
		} else {
			struct location_binding out[16];
			location_expire(t, (int64_t)(step - 20000) * 10, out, 16);
		}
		if (step % 64 == 0)
			location_reclaim(t);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(rds[i].bad, 0, "reader %d saw %llu bad bindings", i,
			     (unsigned long long)rds[i].bad);
		cr_assert_gt(rds[i].lookups, 0);
	}
	cr_log_info("readers: %llu and %llu lookups, %llu and %llu found",
		    (unsigned long long)rds[0].lookups, (unsigned long long)rds[1].lookups,
		    (unsigned long long)rds[0].found, (unsigned long long)rds[1].found);
	cr_assert_eq(location_reclaim(t), 0); /* no reader inside: all freed */
	location_destroy(t);
}

/*
 * Bytes per binding at 1M typical bindings (one per AOR, UDP, no Path, no
 * instance): the table's own account (slots, heap, and each block as glibc's
 * malloc sizes it). Printed for docs/location.md; bound loosely.
 */
Test(location, bytes_per_binding_1m, .timeout = 240)
{
	struct location_config cfg = { .initial_aors = 1024 };
	struct location *t = NULL;
	struct location_counts c;
	char aor[48], contact[80], cid[64];
	const unsigned n = 1000000;

	cr_assert_eq(location_create(&t, &cfg), 0);
	for (unsigned i = 0; i < n; i++) {
		snprintf(aor, sizeof(aor), "u%07u@example.com", i);
		snprintf(contact, sizeof(contact), "sip:u%07u@198.51.%u.%u:5060;transport=udp", i,
			 (i >> 8) & 255, i & 255);
		snprintf(cid, sizeof(cid), "a84b4c76e6%07u@198.51.%u.%u", i, (i >> 8) & 255,
			 i & 255);
		struct location_binding b = bnd(aor, contact, 3600000 + i);
		b.call_id = sv_cstr(cid);
		b.user_agent = SV_LIT("Yealink SIP-T46S 66.85.0.5");
		cr_assert_eq(location_set(t, &b), 1);
	}
	location_reclaim(t);
	location_counts(t, &c);
	cr_assert_eq(c.bindings, n);
	fprintf(stderr,
		"location: %u bindings, %llu bytes, %.1f bytes/binding (strings %zu octets)\n", n,
		(unsigned long long)c.bytes, (double)c.bytes / n,
		strlen(aor) + strlen(contact) + strlen(cid) + 26);
	cr_log_info("%.1f bytes/binding", (double)c.bytes / n);
	cr_assert_leq(c.bytes / n, 300);
	location_destroy(t);
}
