/* SPDX-License-Identifier: MIT */
/* Tests of core/suspend.h: counting, suspending, lifting, listing, limits, threads. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/suspend.h"

static struct sockaddr_in v4(const char *ip)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

#define SA(a) ((const struct sockaddr *)&(a))
#define U(s)  sv_cstr(s)

static const struct suspend_conf vos = { .retry = 6, .suspend_s = 180, .by_ip = false };

Test(suspend, six_failures_suspend_for_the_time_then_allow)
{
	struct suspend s;
	struct sockaddr_in a = v4("192.0.2.7");
	cr_assert_eq(suspend_init(&s, &vos, 1000), 0);
	uint64_t t = 1000000;
	for (int i = 1; i <= 5; i++) {
		cr_assert_not(suspend_failure(&s, U("1001"), U("sip.example.com"), SA(a), t + i));
		cr_assert_not(suspend_check(&s, U("1001"), U("sip.example.com"), SA(a), t + i));
	}
	cr_assert(suspend_failure(&s, U("1001"), U("sip.example.com"), SA(a), t + 6));
	cr_assert(suspend_check(&s, U("1001"), U("sip.example.com"), SA(a), t + 6));
	/* Domains compare without case; users with. */
	cr_assert(suspend_check(&s, U("1001"), U("SIP.Example.COM"), NULL, t + 7));
	cr_assert_not(suspend_check(&s, U("1002"), U("sip.example.com"), NULL, t + 7));
	/* More failures while suspended do not extend it. */
	cr_assert_not(suspend_failure(&s, U("1001"), U("sip.example.com"), NULL, t + 100));
	cr_assert(suspend_check(&s, U("1001"), U("sip.example.com"), NULL, t + 6 + 179999));
	cr_assert_not(suspend_check(&s, U("1001"), U("sip.example.com"), NULL, t + 6 + 180000));
	/* After it ends, a new count starts at one. */
	cr_assert_not(suspend_failure(&s, U("1001"), U("sip.example.com"), NULL, t + 200000));
	cr_assert_not(suspend_check(&s, U("1001"), U("sip.example.com"), NULL, t + 200001));
	suspend_fini(&s);
}

Test(suspend, success_restarts_the_count)
{
	struct suspend s;
	cr_assert_eq(suspend_init(&s, &vos, 100), 0);
	for (int i = 0; i < 5; i++)
		suspend_failure(&s, U("u"), U("d"), NULL, 10);
	suspend_success(&s, U("u"), U("d"), NULL);
	for (int i = 0; i < 5; i++)
		cr_assert_not(suspend_failure(&s, U("u"), U("d"), NULL, 20));
	cr_assert_not(suspend_check(&s, U("u"), U("d"), NULL, 21));
	cr_assert(suspend_failure(&s, U("u"), U("d"), NULL, 22));
	suspend_fini(&s);
}

Test(suspend, by_ip_stops_one_address_guessing_many_users)
{
	struct suspend s;
	struct suspend_conf c = vos;
	struct sockaddr_in bad = v4("198.51.100.9"), good = v4("198.51.100.10");
	struct sockaddr_in6 six = { .sin6_family = AF_INET6 };
	inet_pton(AF_INET6, "2001:db8::9", &six.sin6_addr);
	char user[16];

	cr_assert_eq(suspend_init(&s, &c, 1000), 0);
	for (int i = 0; i < 6; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		suspend_failure(&s, U(user), U("d"), SA(bad), 100);
	}
	/* by_ip off: the address is not suspended, no user reached 6. */
	cr_assert_not(suspend_check(&s, U("u7"), U("d"), SA(bad), 101));
	suspend_fini(&s);

	c.by_ip = true;
	cr_assert_eq(suspend_init(&s, &c, 1000), 0);
	for (int i = 0; i < 6; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		cr_assert_eq(suspend_failure(&s, U(user), U("d"), SA(bad), 100), i == 5);
	}
	cr_assert(suspend_check(&s, U("u7"), U("d"), SA(bad), 101));
	cr_assert_not(suspend_check(&s, U("u7"), U("d"), SA(good), 101));
	for (int i = 0; i < 6; i++)
		suspend_failure(&s, U("x"), U("d"), SA(six), 100);
	cr_assert(suspend_check(&s, U("y"), U("d"), SA(six), 101));

	struct suspend_info info[8];
	size_t n = suspend_list(&s, 102, info, 8);
	cr_assert_eq(n, 3); /* the address, user x, the IPv6 address */
	bool saw4 = false, saw6 = false, sawx = false;
	for (size_t i = 0; i < n; i++) {
		saw4 |= info[i].is_addr && !strcmp(info[i].key, "198.51.100.9");
		saw6 |= info[i].is_addr && !strcmp(info[i].key, "2001:db8::9");
		sawx |= !info[i].is_addr && !strcmp(info[i].key, "x@d");
		cr_assert_eq(info[i].until_ms, 100 + 180000);
	}
	cr_assert(saw4 && saw6 && sawx);
	cr_assert_eq(suspend_list(&s, 102, info, 1), 3,
		     "the count is of all, not of those written");

	cr_assert_eq(suspend_clear(&s, "198.51.100.9"), 0);
	cr_assert_not(suspend_check(&s, U("u7"), U("d"), SA(bad), 103));
	cr_assert_eq(suspend_clear(&s, "x@d"), 0);
	cr_assert_not(suspend_check(&s, U("x"), U("d"), NULL, 103));
	cr_assert_eq(suspend_clear(&s, "x@d"), -ENOENT);
	cr_assert_eq(suspend_clear(&s, "nobody"), -ENOENT);
	cr_assert_eq(suspend_list(&s, 104, info, 8), 1);
	suspend_fini(&s);
}

Test(suspend, bounded_memory_keeps_suspensions)
{
	struct suspend s;
	struct suspend_conf c = { .retry = 1, .suspend_s = 3600, .by_ip = false };
	char user[32];
	cr_assert_eq(suspend_init(&s, &c, 64 * SUSPEND_SHARDS), 0);
	/* A few suspended users, then far more counted keys than fit. */
	for (int i = 0; i < 10; i++) {
		snprintf(user, sizeof(user), "held%d", i);
		cr_assert(suspend_failure(&s, U(user), U("d"), NULL, 1000));
	}
	c.retry = 1000000; /* from now on failures only count */
	suspend_set_conf(&s, &c);
	for (int i = 0; i < 100000; i++) {
		snprintf(user, sizeof(user), "spray%d", i);
		suspend_failure(&s, U(user), U("d"), NULL, 2000 + (uint64_t)i);
	}
	for (int i = 0; i < 10; i++) {
		snprintf(user, sizeof(user), "held%d", i);
		cr_assert(suspend_check(&s, U(user), U("d"), NULL, 3000), "%s kept", user);
	}
	/* A very long user@domain is counted by its first octets, without overflow. */
	char longu[400];
	memset(longu, 'x', sizeof(longu) - 1);
	longu[sizeof(longu) - 1] = 0;
	suspend_failure(&s, U(longu), U("d"), NULL, 4000);
	suspend_fini(&s);
}

struct worker_arg {
	struct suspend *s;
	int id;
};

static void *hammer(void *p)
{
	struct worker_arg *a = p;
	char user[32];
	for (int i = 0; i < 2000; i++) {
		snprintf(user, sizeof(user), "t%d", i % 50);
		suspend_failure(a->s, U(user), U("d"), NULL, 10);
		suspend_check(a->s, U(user), U("d"), NULL, 10);
	}
	return NULL;
}

Test(suspend, workers_count_together)
{
	struct suspend s;
	struct suspend_conf c = { .retry = 100, .suspend_s = 60, .by_ip = false };
	pthread_t th[4];
	struct worker_arg args[4];
	cr_assert_eq(suspend_init(&s, &c, 1000), 0);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct worker_arg){ &s, i };
		pthread_create(&th[i], NULL, hammer, &args[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	/* 4 threads x 40 failures per user: 160 each, suspended at the 100th. */
	struct suspend_info info[64];
	cr_assert_eq(suspend_list(&s, 11, info, 64), 50);
	/* Counting goes on while suspended (the list shows how hard it was tried). */
	for (int i = 0; i < 50; i++)
		cr_assert_eq(info[i].failures, 160, "%s: %u", info[i].key, info[i].failures);
	suspend_fini(&s);
}

Test(suspend, bad_conf)
{
	struct suspend s;
	struct suspend_conf c = { .retry = 0, .suspend_s = 1 };
	cr_assert_eq(suspend_init(&s, &c, 10), -EINVAL);
}

/* The sync's side: deltas taken once, resets recorded only with tracking. */
Test(suspend, take_pending_hands_over_deltas_once)
{
	struct suspend s;
	struct suspend_conf c = vos;
	c.by_ip = true;
	struct sockaddr_in a = v4("192.0.2.8");
	struct suspend_delta d[8];
	cr_assert_eq(suspend_init(&s, &c, 100), 0);

	/* Without tracking a success leaves nothing behind. */
	suspend_success(&s, U("u"), U("d"), NULL);
	cr_assert_eq(suspend_take_pending(&s, d, 8), 0);

	suspend_track(&s, true);
	for (int i = 0; i < 3; i++)
		suspend_failure(&s, U("u"), U("D"), SA(a), 10);
	cr_assert_eq(suspend_take_pending(&s, d, 8), 2);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(d[i].failures, 3);
		cr_assert_not(d[i].reset);
		cr_assert_str_eq(d[i].key, d[i].is_addr ? "192.0.2.8" : "u@d");
	}
	cr_assert_eq(suspend_take_pending(&s, d, 8), 0, "taken once");
	/* The local count is not touched by taking. */
	for (int i = 0; i < 2; i++)
		suspend_failure(&s, U("u"), U("d"), NULL, 11);
	cr_assert(suspend_failure(&s, U("u"), U("d"), NULL, 12));

	/* A success: a reset delta, even for a key this node never saw fail; the
	 * marker is gone once taken. */
	suspend_take_pending(&s, d, 8);
	suspend_success(&s, U("u"), U("d"), NULL);
	suspend_success(&s, U("v"), U("d"), NULL);
	suspend_failure(&s, U("v"), U("d"), NULL, 13);
	size_t n = suspend_take_pending(&s, d, 8);
	cr_assert_eq(n, 2);
	for (size_t i = 0; i < n; i++) {
		cr_assert(d[i].reset);
		cr_assert_eq(d[i].failures, !strcmp(d[i].key, "v@d") ? 1u : 0u, "%s", d[i].key);
	}
	cr_assert_eq(suspend_clear(&s, "u@d"), -ENOENT, "the bare marker was removed");
	cr_assert_eq(suspend_clear(&s, "v@d"), 0, "v keeps its count");
	cr_assert_not(suspend_check(&s, U("u"), U("d"), NULL, 14));

	/* Taking in batches smaller than the table. */
	char user[16];
	for (int i = 0; i < 50; i++) {
		snprintf(user, sizeof(user), "b%d", i);
		suspend_failure(&s, U(user), U("d"), NULL, 20);
	}
	size_t total = 0, got;
	while ((got = suspend_take_pending(&s, d, 8)) > 0)
		total += got;
	cr_assert_eq(total, 50);
	suspend_fini(&s);
}

Test(suspend, apply_remote_merges_counts_and_suspensions)
{
	struct suspend s;
	struct suspend_info info[4];
	cr_assert_eq(suspend_init(&s, &vos, 100), 0);

	/* The cluster counted 5: the next local failure is the 6th. */
	cr_assert_eq(suspend_apply_remote(&s, "u@d", 5, 0, 100), 0);
	cr_assert_not(suspend_check(&s, U("u"), U("d"), NULL, 101));
	cr_assert(suspend_failure(&s, U("u"), U("d"), NULL, 102));
	/* A lower total does not lower the local count. */
	cr_assert_eq(suspend_apply_remote(&s, "u@d", 1, 0, 103), 0);
	cr_assert_eq(suspend_list(&s, 103, info, 4), 1);
	cr_assert_eq(info[0].failures, 6);
	/* A later end is taken, an earlier one is not. */
	cr_assert_eq(suspend_apply_remote(&s, "u@d", 0, 102 + 180000 + 50, 104), 0);
	cr_assert_eq(suspend_apply_remote(&s, "u@d", 0, 500, 105), 0);
	suspend_list(&s, 105, info, 4);
	cr_assert_eq(info[0].until_ms, 102 + 180000 + 50);

	/* A suspension elsewhere, user or address. */
	cr_assert_eq(suspend_apply_remote(&s, "w@D", 6, 90000, 106), 1);
	cr_assert_eq(suspend_apply_remote(&s, "w@d", 6, 90000, 107), 0, "already");
	cr_assert(suspend_check(&s, U("w"), U("d"), NULL, 108));
	cr_assert_not(suspend_check(&s, U("w"), U("d"), NULL, 90000));
	cr_assert_eq(suspend_apply_remote(&s, "2001:db8::7", 6, 5000, 109), 1);
	/* A total that reached retry, without an end, suspends from now. */
	cr_assert_eq(suspend_apply_remote(&s, "x@d", 6, 0, 110), 1);
	cr_assert(suspend_check(&s, U("x"), U("d"), NULL, 110 + 179999));
	cr_assert_not(suspend_check(&s, U("x"), U("d"), NULL, 110 + 180000));

	cr_assert_eq(suspend_list(&s, 111, info, 4), 4);
	cr_assert_eq(suspend_apply_remote(&s, "nobody", 6, 5000, 112), -ENOENT);
	suspend_fini(&s);
}
