/* SPDX-License-Identifier: MIT */
/*
 * Tests of core/txn.h on a fake clock (timer_wheel_advance() driven here,
 * nothing sleeps): the four RFC 3261 §17 machines over UDP and over a reliable
 * transport, every timer, retransmissions absorbed, ACK and CANCEL matching,
 * RFC 2543 matching, generations, a full table, transport errors. Messages are
 * real SIP text parsed with sip_msg_parse().
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define TXN_LEAK_CHECK() __lsan_do_recoverable_leak_check()
#else
#define TXN_LEAK_CHECK() 0
#endif

#include "core/timer.h"
#include "core/txn.h"
#include "parsers/sip_build.h"
#include "parsers/sip_msg.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- a recording TU and transport ---- */

enum ev { EV_REQ = 1, EV_RESP, EV_TIMEOUT, EV_TERR, EV_TERM };

struct sent {
	char buf[1024];
	size_t len;
	uint64_t at;
	uint64_t id;
	uint16_t sock;
};

struct event {
	int ev;
	uint64_t id;
	uint16_t status;
	uint64_t at;
};

static struct timer_wheel wheel;
static struct txn_table tab;
static struct sent sent[128];
static size_t nsent;
static struct event evs[64];
static size_t nevs;
static int send_fail;	       /* send returns this when non-zero */
static struct txn *last;       /* the last transaction given to the TU */
static const char *auto_reply; /* deliver_request answers with this at once */
static size_t auto_reply_len;
static int auto_reply_ret;

static const struct txn_timers timers = {
	.t1 = 500, .t2 = 4000, .t4 = 5000, .timer_b = 32000, .timer_f = 32000
};

static void record(int ev, struct txn *t, uint16_t status)
{
	cr_assert_lt(nevs, N(evs));
	evs[nevs++] = (struct event){ ev, txn_id(t), status, timer_wheel_now(&wheel) };
}

static int on_send(void *arg, struct txn *t, const struct txn_dest *d, const char *buf, size_t len)
{
	cr_assert_eq(arg, &tab);
	cr_assert_eq(d, txn_dest(t));
	if (send_fail)
		return send_fail;
	cr_assert_lt(nsent, N(sent));
	cr_assert_lt(len, sizeof(sent[0].buf));
	memcpy(sent[nsent].buf, buf, len);
	sent[nsent].buf[len] = 0;
	sent[nsent].len = len;
	sent[nsent].at = timer_wheel_now(&wheel);
	sent[nsent].id = txn_id(t);
	sent[nsent].sock = d->sock;
	nsent++;
	return (int)len;
}

static void on_request(void *arg, struct txn *t, const struct sip_msg *m)
{
	(void)arg;
	record(EV_REQ, t, m->method);
	last = t;
	if (auto_reply)
		auto_reply_ret = txn_server_respond(&tab, t, auto_reply, auto_reply_len);
}

static void on_response(void *arg, struct txn *t, const struct sip_msg *m)
{
	(void)arg;
	record(EV_RESP, t, m->status);
	last = t;
}

static void on_timeout(void *arg, struct txn *t)
{
	(void)arg;
	record(EV_TIMEOUT, t, 0);
}

static void on_terr(void *arg, struct txn *t)
{
	(void)arg;
	record(EV_TERR, t, 0);
}

static void on_term(void *arg, struct txn *t)
{
	(void)arg;
	record(EV_TERM, t, 0);
	if (last == t)
		last = NULL;
}

static const struct txn_ops ops = {
	.send = on_send,
	.deliver_request = on_request,
	.deliver_response = on_response,
	.timeout = on_timeout,
	.transport_error = on_terr,
	.terminated = on_term,
};

static const struct txn_dest peer = { .sock = 7, .transport = 1 };

static void setup_cap(uint32_t cap)
{
	nsent = nevs = 0;
	send_fail = 0;
	last = NULL;
	auto_reply = NULL;
	timer_wheel_init(&wheel, 0);
	cr_assert_eq(txn_table_init(&tab, cap, &timers, &ops, &tab, &wheel), 0);
}

static void setup(void)
{
	setup_cap(64);
}

static void teardown(void)
{
	txn_table_fini(&tab);
}

/*
 * The end of every test: the table freed, nothing of it may remain. Criterion
 * ends its test processes without LeakSanitizer's exit check and only warns
 * about a failure in .fini, so the check runs here, in the test.
 */
static void no_leaks(void)
{
	txn_table_fini(&tab);
	cr_assert_eq(TXN_LEAK_CHECK(), 0, "leaks: see the LeakSanitizer report");
}

TestSuite(txn, .init = setup, .fini = teardown);

/* Advance the fake clock to t (absolute ms). */
static void at(uint64_t t)
{
	timer_wheel_advance(&wheel, t);
}

static size_t count_ev(int ev)
{
	size_t n = 0;
	for (size_t i = 0; i < nevs; i++)
		n += evs[i].ev == ev;
	return n;
}

/* The ms at which sends [from, nsent) happened must be exactly times[]. */
static void expect_sends_at(size_t from, const uint64_t *times, size_t n)
{
	cr_assert_eq(nsent - from, n, "%zu sends, expected %zu", nsent - from, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(sent[from + i].at, times[i], "send %zu at %llu, expected %llu", i,
			     (unsigned long long)sent[from + i].at, (unsigned long long)times[i]);
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- messages ---- */

struct pm {
	char buf[1024];
	struct sip_hdr hdrs[32];
	struct sip_msg m;
};

static struct pm pms[16];
static size_t npm;

static const struct sip_msg *parse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const struct sip_msg *parse(const char *fmt, ...)
{
	struct pm *p = &pms[npm++ % N(pms)];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(p->buf, sizeof(p->buf), fmt, ap);
	va_end(ap);
	cr_assert(n > 0 && (size_t)n < sizeof(p->buf));
	sip_msg_init(&p->m, p->hdrs, N(p->hdrs));
	cr_assert_gt(sip_msg_parse(&p->m, p->buf, (size_t)n, 0, NULL), 0, "%s", p->buf);
	return &p->m;
}

/* A request from a peer (server side): method, branch, To tag, CSeq method. */
#define SREQ                                                     \
	"%s sip:bob@example.com SIP/2.0\r\n"                     \
	"Via: SIP/2.0/UDP %s:5060;branch=%s\r\n"                 \
	"Max-Forwards: 70\r\n"                                   \
	"To: Bob <sip:bob@example.com>%s\r\n"                    \
	"From: Alice <sip:alice@example.org>;tag=1928301774\r\n" \
	"Call-ID: a84b4c76e66710@pc33.example.org\r\n"           \
	"CSeq: 314159 %s\r\n"                                    \
	"Content-Length: 0\r\n\r\n"

static const struct sip_msg *sreq(const char *method, const char *branch)
{
	return parse(SREQ, method, "192.0.2.1", branch, "", method);
}

static const struct sip_msg *sack(const char *branch, const char *totag)
{
	return parse(SREQ, "ACK", "192.0.2.1", branch, totag, "ACK");
}

/* The TU's answer to a parsed request, flattened. */
static size_t reply(const struct sip_msg *req, uint16_t status, char *out, size_t cap)
{
	struct iovec iov[32];
	char scratch[512];
	struct sip_build b;
	ssize_t n;

	sip_build_init(&b, iov, N(iov), scratch, sizeof(scratch));
	cr_assert_eq(
		sip_build_response(
			&b, req, &(struct sip_reply){ .status = status, .to_tag = SV_LIT("srv1") }),
		0);
	n = sip_build_flatten(&b, out, cap);
	cr_assert_gt(n, 0);
	return (size_t)n;
}

static int respond(struct txn *t, const struct sip_msg *req, uint16_t status)
{
	char buf[1024];
	size_t len = reply(req, status, buf, sizeof(buf));
	return txn_server_respond(&tab, t, buf, len);
}

/* Client side: our request and the peer's responses. */
#define CBRANCH "z9hG4bKsr3.1a"

#define CREQ                                                     \
	"%s sip:bob@example.com SIP/2.0\r\n"                     \
	"Via: SIP/2.0/UDP 198.51.100.7:5062;branch=%s\r\n"       \
	"Route: <sip:proxy.example.net;lr>\r\n"                  \
	"Max-Forwards: 70\r\n"                                   \
	"To: Bob <sip:bob@example.com>\r\n"                      \
	"From: Alice <sip:alice@example.org>;tag=1928301774\r\n" \
	"Call-ID: c1@198.51.100.7\r\n"                           \
	"CSeq: 1 %s\r\n"                                         \
	"Content-Length: 0\r\n\r\n"

static struct txn *cstart(const char *method, enum sip_method id, const char *branch, bool reliable)
{
	char buf[1024];
	struct txn *t = NULL;
	int n = snprintf(buf, sizeof(buf), CREQ, method, branch, method);

	cr_assert_eq(
		txn_client_start(&tab, buf, (size_t)n, id, sv_cstr(branch), &peer, reliable, &t),
		0);
	cr_assert_not_null(t);
	return t;
}

static const struct sip_msg *cresp(int status, const char *branch, const char *method)
{
	return parse("SIP/2.0 %d Whatever\r\n"
		     "Via: SIP/2.0/UDP 198.51.100.7:5062;branch=%s\r\n"
		     "To: Bob <sip:bob@example.com>;tag=peer9\r\n"
		     "From: Alice <sip:alice@example.org>;tag=1928301774\r\n"
		     "Call-ID: c1@198.51.100.7\r\n"
		     "CSeq: 1 %s\r\n"
		     "Content-Length: 0\r\n\r\n",
		     status, branch, method);
}

/* ---- server INVITE ---- */

Test(txn, server_invite_udp_2xx)
{
	const struct sip_msg *inv = sreq("INVITE", "z9hG4bK776asdhds");
	struct txn *t;

	cr_assert_eq(txn_server_input(&tab, inv, &peer, false), TXN_NEW);
	t = last;
	cr_assert_not_null(t);
	cr_assert(txn_is_server(t));
	cr_assert_eq(txn_method(t), SIP_METHOD_INVITE);
	cr_assert_eq(txn_state(t), TXN_PROCEEDING);
	cr_assert_eq(nsent, 1);
	cr_assert(starts(sent[0].buf, "SIP/2.0 100 Trying\r\n"), "%s", sent[0].buf);
	cr_assert_eq(sent[0].sock, 7);

	/* a retransmission is absorbed and gets the 100 again */
	cr_assert_eq(txn_server_input(&tab, sreq("INVITE", "z9hG4bK776asdhds"), &peer, false),
		     TXN_ABSORBED);
	cr_assert_eq(nsent, 2);
	cr_assert(starts(sent[1].buf, "SIP/2.0 100 "));
	cr_assert_eq(count_ev(EV_REQ), 1);

	cr_assert_eq(respond(t, inv, 180), 0);
	cr_assert(starts(sent[2].buf, "SIP/2.0 180 "));
	cr_assert_eq(txn_state(t), TXN_PROCEEDING);
	cr_assert_eq(txn_server_input(&tab, sreq("INVITE", "z9hG4bK776asdhds"), &peer, false),
		     TXN_ABSORBED);
	cr_assert(starts(sent[3].buf, "SIP/2.0 180 "), "last response resent");

	/* 2xx: sent, and the transaction ends */
	cr_assert_eq(respond(t, inv, 200), 0);
	cr_assert(starts(sent[4].buf, "SIP/2.0 200 "));
	cr_assert_eq(count_ev(EV_TERM), 1);
	cr_assert_eq(tab.stats.active, 0);
	/* the ACK for the 2xx is end-to-end */
	cr_assert_eq(txn_server_input(&tab, sack("z9hG4bK776asdhds", ";tag=srv1"), &peer, false),
		     TXN_ACK_2XX);
	cr_assert_eq(tab.stats.created, 1);
	cr_assert_eq(tab.stats.absorbed, 2);
	no_leaks();
}

Test(txn, server_invite_udp_timer_g_then_ack_then_i)
{
	const struct sip_msg *inv = sreq("INVITE", "z9hG4bKg1");
	struct txn *t;

	cr_assert_eq(txn_server_input(&tab, inv, &peer, false), TXN_NEW);
	t = last;
	at(100);
	cr_assert_eq(respond(t, inv, 486), 0);
	cr_assert_eq(txn_state(t), TXN_COMPLETED);
	size_t base = nsent;
	/* G: T1, 2T1, 4T1, then capped at T2 */
	at(12000);
	static const uint64_t g[] = { 600, 1600, 3600, 7600, 11600 };
	expect_sends_at(base, g, N(g));
	for (size_t i = base; i < nsent; i++)
		cr_assert(starts(sent[i].buf, "SIP/2.0 486 "));
	/* a retransmitted INVITE gets the 486 */
	cr_assert_eq(txn_server_input(&tab, sreq("INVITE", "z9hG4bKg1"), &peer, false),
		     TXN_ABSORBED);
	cr_assert(starts(sent[nsent - 1].buf, "SIP/2.0 486 "));
	/* the ACK (non-2xx: same branch) is absorbed: Confirmed, G stops */
	cr_assert_eq(txn_server_input(&tab, sack("z9hG4bKg1", ";tag=srv1"), &peer, false),
		     TXN_ABSORBED);
	cr_assert_eq(txn_state(t), TXN_CONFIRMED);
	base = nsent;
	cr_assert_eq(txn_server_input(&tab, sack("z9hG4bKg1", ";tag=srv1"), &peer, false),
		     TXN_ABSORBED);
	cr_assert_eq(txn_server_input(&tab, sreq("INVITE", "z9hG4bKg1"), &peer, false),
		     TXN_ABSORBED);
	/* I = T4 from the ACK */
	at(12000 + 4999);
	cr_assert_eq(count_ev(EV_TERM), 0);
	cr_assert_eq(nsent, base, "nothing sent in Confirmed");
	at(12000 + 5000);
	cr_assert_eq(count_ev(EV_TERM), 1);
	cr_assert_eq(count_ev(EV_TIMEOUT), 0);
	cr_assert_eq(tab.stats.active, 0);
	no_leaks();
}

Test(txn, server_invite_timer_h_without_ack)
{
	const struct sip_msg *inv = sreq("INVITE", "z9hG4bKh1");

	cr_assert_eq(txn_server_input(&tab, inv, &peer, false), TXN_NEW);
	cr_assert_eq(respond(last, inv, 503), 0);
	size_t base = nsent;
	at(31999);
	cr_assert_eq(count_ev(EV_TERM), 0);
	static const uint64_t g[] = { 500,   1500,  3500,  7500,  11500,
				      15500, 19500, 23500, 27500, 31500 };
	expect_sends_at(base, g, N(g));
	at(32000);
	cr_assert_eq(count_ev(EV_TIMEOUT), 1);
	cr_assert_eq(count_ev(EV_TERM), 1);
	cr_assert_eq(evs[nevs - 2].ev, EV_TIMEOUT, "timeout before terminated");
	cr_assert_eq(tab.stats.timeouts, 1);
	cr_assert_eq(tab.stats.retransmissions, N(g));
	no_leaks();
}

Test(txn, server_invite_reliable)
{
	const struct sip_msg *inv = sreq("INVITE", "z9hG4bKr1");
	struct txn *t;

	cr_assert_eq(txn_server_input(&tab, inv, &peer, true), TXN_NEW);
	t = last;
	cr_assert(txn_is_reliable(t));
	cr_assert_eq(nsent, 1, "100 Trying over TCP too");
	cr_assert_eq(respond(t, inv, 404), 0);
	at(20000);
	cr_assert_eq(nsent, 2, "no Timer G over a reliable transport");
	cr_assert_eq(txn_server_input(&tab, sack("z9hG4bKr1", ";tag=srv1"), &peer, true),
		     TXN_ABSORBED);
	cr_assert_eq(txn_state(t), TXN_CONFIRMED);
	/* I = 0: ends at the next advance */
	cr_assert_eq(count_ev(EV_TERM), 0);
	at(20000);
	cr_assert_eq(count_ev(EV_TERM), 1);

	/* and H still fires when no ACK comes */
	const struct sip_msg *inv2 = sreq("INVITE", "z9hG4bKr2");
	cr_assert_eq(txn_server_input(&tab, inv2, &peer, true), TXN_NEW);
	cr_assert_eq(respond(last, inv2, 404), 0);
	at(20000 + 32000);
	cr_assert_eq(count_ev(EV_TIMEOUT), 1);
	cr_assert_eq(count_ev(EV_TERM), 2);
	no_leaks();
}

/* ---- server non-INVITE ---- */

Test(txn, server_non_invite_udp)
{
	const struct sip_msg *opt = sreq("OPTIONS", "z9hG4bKn1");
	struct txn *t;

	cr_assert_eq(txn_server_input(&tab, opt, &peer, false), TXN_NEW);
	t = last;
	cr_assert_eq(txn_state(t), TXN_TRYING);
	cr_assert_eq(nsent, 0, "no automatic 100 for a non-INVITE");
	/* Trying: a retransmission is absorbed, nothing to send */
	cr_assert_eq(txn_server_input(&tab, sreq("OPTIONS", "z9hG4bKn1"), &peer, false),
		     TXN_ABSORBED);
	cr_assert_eq(nsent, 0);
	cr_assert_eq(respond(t, opt, 100), 0);
	cr_assert_eq(txn_state(t), TXN_PROCEEDING);
	cr_assert_eq(txn_server_input(&tab, sreq("OPTIONS", "z9hG4bKn1"), &peer, false),
		     TXN_ABSORBED);
	cr_assert_eq(nsent, 2);
	cr_assert(starts(sent[1].buf, "SIP/2.0 100 "));
	at(1000);
	cr_assert_eq(respond(t, opt, 200), 0);
	cr_assert_eq(txn_state(t), TXN_COMPLETED);
	cr_assert_eq(txn_status(t), 200);
	cr_assert_eq(respond(t, opt, 500), -EINVAL, "a second final response");
	cr_assert_eq(txn_server_input(&tab, sreq("OPTIONS", "z9hG4bKn1"), &peer, false),
		     TXN_ABSORBED);
	cr_assert(starts(sent[nsent - 1].buf, "SIP/2.0 200 "));
	size_t base = nsent;
	/* J = 64*T1, no retransmission by timer */
	at(1000 + 31999);
	cr_assert_eq(nsent, base);
	cr_assert_eq(count_ev(EV_TERM), 0);
	at(1000 + 32000);
	cr_assert_eq(count_ev(EV_TERM), 1);
	cr_assert_eq(count_ev(EV_TIMEOUT), 0);
	no_leaks();
}

Test(txn, server_non_invite_reliable)
{
	const struct sip_msg *reg = sreq("REGISTER", "z9hG4bKn2");

	cr_assert_eq(txn_server_input(&tab, reg, &peer, true), TXN_NEW);
	cr_assert_eq(respond(last, reg, 200), 0);
	cr_assert_eq(count_ev(EV_TERM), 0);
	at(0); /* J = 0: the next advance */
	cr_assert_eq(count_ev(EV_TERM), 1);
	cr_assert_eq(tab.stats.active, 0);
	no_leaks();
}

Test(txn, server_respond_from_deliver)
{
	const struct sip_msg *inv = sreq("INVITE", "z9hG4bKd1");
	char buf[1024];

	auto_reply_len = reply(inv, 200, buf, sizeof(buf));
	auto_reply = buf;
	cr_assert_eq(txn_server_input(&tab, inv, &peer, false), TXN_NEW);
	cr_assert_eq(auto_reply_ret, 0);
	cr_assert_eq(count_ev(EV_TERM), 1, "the 2xx ended it inside the callback");
	cr_assert_eq(nsent, 2);
	cr_assert(starts(sent[1].buf, "SIP/2.0 200 "));
	no_leaks();
}

/* ---- ACK and CANCEL ---- */

Test(txn, ack_for_nothing_is_the_callers)
{
	cr_assert_eq(txn_server_input(&tab, sack("z9hG4bKother", ";tag=x"), &peer, false),
		     TXN_ACK_2XX);
	cr_assert_eq(tab.stats.created, 0);
	cr_assert_eq(nevs, 0);
	no_leaks();
}

Test(txn, cancel_matches_its_invite)
{
	const struct sip_msg *inv = sreq("INVITE", "z9hG4bKc1");
	struct txn *ti, *tc;

	cr_assert_eq(txn_server_input(&tab, inv, &peer, false), TXN_NEW);
	ti = last;
	const struct sip_msg *can = sreq("CANCEL", "z9hG4bKc1");
	cr_assert_eq(txn_server_input(&tab, can, &peer, false), TXN_CANCEL);
	tc = last;
	cr_assert_neq(tc, ti);
	cr_assert_eq(txn_method(tc), SIP_METHOD_CANCEL);
	cr_assert_eq(txn_cancel_target(&tab, tc), ti);
	cr_assert_null(txn_cancel_target(&tab, ti));
	/* a retransmitted CANCEL is absorbed by the CANCEL transaction */
	cr_assert_eq(txn_server_input(&tab, sreq("CANCEL", "z9hG4bKc1"), &peer, false),
		     TXN_ABSORBED);
	cr_assert_eq(respond(tc, can, 200), 0);
	cr_assert_eq(respond(ti, inv, 487), 0);
	cr_assert_eq(txn_state(ti), TXN_COMPLETED);
	cr_assert_eq(txn_state(tc), TXN_COMPLETED);

	/* a CANCEL for no INVITE: a plain new transaction (the TU answers 481) */
	cr_assert_eq(txn_server_input(&tab, sreq("CANCEL", "z9hG4bKc2"), &peer, false), TXN_NEW);
	cr_assert_null(txn_cancel_target(&tab, last));
	/* the target goes away: the id no longer resolves */
	txn_terminate(&tab, ti);
	cr_assert_null(txn_cancel_target(&tab, tc));
	no_leaks();
}

Test(txn, same_branch_other_sent_by_is_another_transaction)
{
	cr_assert_eq(txn_server_input(&tab, sreq("INVITE", "z9hG4bKs1"), &peer, false), TXN_NEW);
	cr_assert_eq(txn_server_input(
			     &tab, parse(SREQ, "INVITE", "192.0.2.99", "z9hG4bKs1", "", "INVITE"),
			     &peer, false),
		     TXN_NEW);
	/* same branch, another method: another transaction */
	cr_assert_eq(txn_server_input(&tab, sreq("BYE", "z9hG4bKs1"), &peer, false), TXN_NEW);
	cr_assert_eq(tab.stats.active, 3);
	no_leaks();
}

/* RFC 4475 §3.4.1 inv2543: no branch, no tags, no Max-Forwards. */
#define INV2543                                                  \
	"%s sip:UserB@example.com SIP/2.0\r\n"                   \
	"Via: SIP/2.0/UDP 192.0.2.15\r\n"                        \
	"From: <sip:UserA@example.com>\r\n"                      \
	"To: <sip:UserB@example.com>%s\r\n"                      \
	"Call-ID: 803971c02a8c5baf8184b17a7ca4e2e4@10.0.0.1\r\n" \
	"CSeq: %s %s\r\n"                                        \
	"Content-Length: 0\r\n\r\n"

Test(txn, rfc2543_matching)
{
	const struct sip_msg *inv = parse(INV2543, "INVITE", "", "1", "INVITE");
	struct txn *t;

	cr_assert_eq(txn_server_input(&tab, inv, &peer, false), TXN_NEW);
	t = last;
	cr_assert_eq(
		txn_server_input(&tab, parse(INV2543, "INVITE", "", "1", "INVITE"), &peer, false),
		TXN_ABSORBED);
	cr_assert_eq(nsent, 2, "the 100 resent");
	/* another CSeq: another transaction */
	cr_assert_eq(
		txn_server_input(&tab, parse(INV2543, "INVITE", "", "2", "INVITE"), &peer, false),
		TXN_NEW);
	cr_assert_eq(respond(t, inv, 486), 0);
	/* ACK: To tag of the response, CSeq number of the INVITE */
	cr_assert_eq(txn_server_input(&tab, parse(INV2543, "ACK", ";tag=other", "1", "ACK"), &peer,
				      false),
		     TXN_ACK_2XX, "another To tag does not match");
	cr_assert_eq(txn_server_input(&tab, parse(INV2543, "ACK", ";tag=srv1", "1", "ACK"), &peer,
				      false),
		     TXN_ABSORBED);
	cr_assert_eq(txn_state(t), TXN_CONFIRMED);
	/* a CANCEL matched by the 2543 rules */
	cr_assert_eq(
		txn_server_input(&tab, parse(INV2543, "CANCEL", "", "2", "CANCEL"), &peer, false),
		TXN_CANCEL);
	no_leaks();
}

#define BARE                                            \
	"OPTIONS sip:bob@example.com SIP/2.0\r\n"       \
	"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK\r\n" \
	"To: <sip:bob@example.com>\r\n"                 \
	"From: <sip:a@example.com>;tag=%s\r\n"          \
	"Call-ID: %s\r\n"                               \
	"CSeq: 1 OPTIONS\r\n"                           \
	"Content-Length: 0\r\n\r\n"

Test(txn, bare_cookie_is_no_branch)
{
	/* RFC 4475 badbranch: "branch=z9hG4bK" alone; matched by the 2543 rules, so
	 * two requests that share only that branch are two transactions. */

	cr_assert_eq(txn_server_input(&tab, parse(BARE, "t1", "call-1"), &peer, false), TXN_NEW);
	cr_assert_eq(txn_server_input(&tab, parse(BARE, "t2", "call-2"), &peer, false), TXN_NEW);
	cr_assert_eq(txn_server_input(&tab, parse(BARE, "t1", "call-1"), &peer, false),
		     TXN_ABSORBED);
	cr_assert_eq(tab.stats.active, 2);
	no_leaks();
}

Test(txn, malformed_input)
{
	cr_assert_eq(txn_server_input(&tab,
				      parse("OPTIONS sip:b@example.com SIP/2.0\r\n"
					    "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"),
				      &peer, false),
		     -EBADMSG, "no Via");
	cr_assert_eq(txn_server_input(&tab, cresp(200, "z9hG4bKx", "INVITE"), &peer, false),
		     -EINVAL);
	cr_assert_eq(txn_client_input(&tab, sreq("INVITE", "z9hG4bKx")), -EINVAL);
	cr_assert_eq(txn_client_input(&tab, cresp(200, "z9hG4bKnobody", "INVITE")), -ENOENT);
	cr_assert_eq(tab.stats.created, 0);
	no_leaks();
}

/* ---- client INVITE ---- */

Test(txn, client_invite_timer_a_and_b)
{
	struct txn *t = cstart("INVITE", SIP_METHOD_INVITE, CBRANCH, false);

	cr_assert(!txn_is_server(t));
	cr_assert_eq(txn_state(t), TXN_CALLING);
	at(31999);
	static const uint64_t a[] = { 0, 500, 1500, 3500, 7500, 15500, 31500 };
	expect_sends_at(0, a, N(a));
	for (size_t i = 0; i < nsent; i++)
		cr_assert(starts(sent[i].buf, "INVITE sip:bob@example.com SIP/2.0\r\n"));
	cr_assert_eq(count_ev(EV_TIMEOUT), 0);
	at(32000);
	cr_assert_eq(count_ev(EV_TIMEOUT), 1);
	cr_assert_eq(count_ev(EV_TERM), 1);
	cr_assert_eq(tab.stats.timeouts, 1);
	cr_assert_eq(tab.stats.active, 0);
	no_leaks();
}

Test(txn, client_invite_non2xx_builds_the_ack)
{
	struct txn *t = cstart("INVITE", SIP_METHOD_INVITE, CBRANCH, false);

	at(200);
	cr_assert_eq(txn_client_input(&tab, cresp(180, CBRANCH, "INVITE")), TXN_DELIVERED);
	cr_assert_eq(txn_state(t), TXN_PROCEEDING);
	cr_assert_eq(evs[0].ev, EV_RESP);
	cr_assert_eq(evs[0].status, 180);
	at(40000);
	cr_assert_eq(nsent, 1, "no retransmission nor Timer B in Proceeding");
	cr_assert_eq(count_ev(EV_TIMEOUT), 0);

	cr_assert_eq(txn_client_input(&tab, cresp(486, CBRANCH, "INVITE")), TXN_DELIVERED);
	cr_assert_eq(txn_state(t), TXN_COMPLETED);
	cr_assert_eq(txn_status(t), 486);
	cr_assert_eq(nsent, 2);
	const char *ack = sent[1].buf;
	cr_assert_str_eq(ack, "ACK sip:bob@example.com SIP/2.0\r\n"
			      "Via: SIP/2.0/UDP 198.51.100.7:5062;branch=" CBRANCH "\r\n"
			      "Route: <sip:proxy.example.net;lr>\r\n"
			      "From: Alice <sip:alice@example.org>;tag=1928301774\r\n"
			      "To: Bob <sip:bob@example.com>;tag=peer9\r\n"
			      "Call-ID: c1@198.51.100.7\r\n"
			      "CSeq: 1 ACK\r\n"
			      "Max-Forwards: 70\r\n"
			      "Content-Length: 0\r\n\r\n");
	/* the ACK parses */
	const struct sip_msg *am = parse("%s", ack);
	cr_assert_eq(am->method, SIP_METHOD_ACK);

	/* a retransmitted final: absorbed, the ACK resent, the TU not told */
	cr_assert_eq(txn_client_input(&tab, cresp(486, CBRANCH, "INVITE")), TXN_ABSORBED);
	cr_assert_eq(nsent, 3);
	cr_assert_str_eq(sent[2].buf, sent[1].buf);
	cr_assert_eq(count_ev(EV_RESP), 2);
	/* D */
	at(40000 + TXN_TIMER_D_MS - 1);
	cr_assert_eq(count_ev(EV_TERM), 0);
	at(40000 + TXN_TIMER_D_MS);
	cr_assert_eq(count_ev(EV_TERM), 1);
	cr_assert_eq(txn_client_input(&tab, cresp(486, CBRANCH, "INVITE")), -ENOENT);
	no_leaks();
}

Test(txn, client_invite_2xx_and_its_retransmissions_pass)
{
	struct txn *t = cstart("INVITE", SIP_METHOD_INVITE, CBRANCH, false);

	cr_assert_eq(txn_client_input(&tab, cresp(200, CBRANCH, "INVITE")), TXN_DELIVERED);
	cr_assert_eq(txn_state(t), TXN_ACCEPTED);
	cr_assert_eq(nsent, 1, "no ACK for a 2xx: the TU's");
	at(1000);
	cr_assert_eq(nsent, 1, "Timer A stopped");
	cr_assert_eq(txn_client_input(&tab, cresp(200, CBRANCH, "INVITE")), TXN_DELIVERED);
	cr_assert_eq(count_ev(EV_RESP), 2);
	/* M = 64*T1 */
	at(32000 - 1);
	cr_assert_eq(count_ev(EV_TERM), 0);
	at(32000);
	cr_assert_eq(count_ev(EV_TERM), 1);
	cr_assert_eq(count_ev(EV_TIMEOUT), 0);
	cr_assert_eq(txn_client_input(&tab, cresp(200, CBRANCH, "INVITE")), -ENOENT);
	no_leaks();
}

Test(txn, client_invite_reliable)
{
	struct txn *t = cstart("INVITE", SIP_METHOD_INVITE, CBRANCH, true);

	at(10000);
	cr_assert_eq(nsent, 1, "no Timer A over a reliable transport");
	cr_assert_eq(txn_client_input(&tab, cresp(603, CBRANCH, "INVITE")), TXN_DELIVERED);
	cr_assert_eq(txn_state(t), TXN_COMPLETED);
	cr_assert_eq(nsent, 2);
	cr_assert(starts(sent[1].buf, "ACK "));
	at(10000); /* D = 0 */
	cr_assert_eq(count_ev(EV_TERM), 1);

	/* B still fires */
	cstart("INVITE", SIP_METHOD_INVITE, "z9hG4bKsr3.1b", true);
	at(10000 + 32000);
	cr_assert_eq(count_ev(EV_TIMEOUT), 1);
	cr_assert_eq(nsent, 3);
	no_leaks();
}

/* ---- client non-INVITE ---- */

Test(txn, client_non_invite_timer_e_and_f)
{
	struct txn *t = cstart("OPTIONS", SIP_METHOD_OPTIONS, CBRANCH, false);

	cr_assert_eq(txn_state(t), TXN_TRYING);
	at(31999);
	static const uint64_t e[] = { 0,     500,   1500,  3500,  7500, 11500,
				      15500, 19500, 23500, 27500, 31500 };
	expect_sends_at(0, e, N(e));
	at(32000);
	cr_assert_eq(count_ev(EV_TIMEOUT), 1);
	cr_assert_eq(count_ev(EV_TERM), 1);
	cr_assert_eq(nsent, N(e));
	no_leaks();
}

Test(txn, client_non_invite_proceeding_then_completed)
{
	struct txn *t = cstart("REGISTER", SIP_METHOD_REGISTER, CBRANCH, false);

	at(600);
	cr_assert_eq(txn_client_input(&tab, cresp(100, CBRANCH, "REGISTER")), TXN_DELIVERED);
	cr_assert_eq(txn_state(t), TXN_PROCEEDING);
	/* E keeps its schedule (1500), then every T2 */
	at(10000);
	static const uint64_t e[] = { 0, 500, 1500, 5500, 9500 };
	expect_sends_at(0, e, N(e));
	cr_assert_eq(txn_client_input(&tab, cresp(200, CBRANCH, "REGISTER")), TXN_DELIVERED);
	cr_assert_eq(txn_state(t), TXN_COMPLETED);
	cr_assert_eq(txn_client_input(&tab, cresp(200, CBRANCH, "REGISTER")), TXN_ABSORBED);
	cr_assert_eq(count_ev(EV_RESP), 2);
	/* K = T4, nothing sent meanwhile */
	at(10000 + 4999);
	cr_assert_eq(nsent, N(e));
	cr_assert_eq(count_ev(EV_TERM), 0);
	at(10000 + 5000);
	cr_assert_eq(count_ev(EV_TERM), 1);
	cr_assert_eq(count_ev(EV_TIMEOUT), 0);
	no_leaks();
}

Test(txn, client_non_invite_reliable)
{
	struct txn *t = cstart("BYE", SIP_METHOD_BYE, CBRANCH, true);

	at(20000);
	cr_assert_eq(nsent, 1, "no Timer E over a reliable transport");
	cr_assert_eq(txn_client_input(&tab, cresp(200, CBRANCH, "BYE")), TXN_DELIVERED);
	cr_assert_eq(txn_state(t), TXN_COMPLETED);
	at(20000); /* K = 0 */
	cr_assert_eq(count_ev(EV_TERM), 1);
	cstart("BYE", SIP_METHOD_BYE, "z9hG4bKsr3.1b", true);
	at(20000 + 32000);
	cr_assert_eq(count_ev(EV_TIMEOUT), 1);
	no_leaks();
}

Test(txn, client_matches_branch_and_cseq_method)
{
	struct txn *ti = cstart("INVITE", SIP_METHOD_INVITE, CBRANCH, false);

	cr_assert_eq(txn_client_input(&tab, cresp(200, CBRANCH, "CANCEL")), -ENOENT);
	struct txn *tc = cstart("CANCEL", SIP_METHOD_CANCEL, CBRANCH, false);
	cr_assert_eq(txn_client_start(&tab, "CANCEL x", 8, SIP_METHOD_CANCEL, SV_LIT(CBRANCH),
				      &peer, false, NULL),
		     -EEXIST);
	cr_assert_eq(txn_client_input(&tab, cresp(200, CBRANCH, "CANCEL")), TXN_DELIVERED);
	cr_assert_eq(last, tc);
	cr_assert_eq(txn_client_input(&tab, cresp(487, CBRANCH, "INVITE")), TXN_DELIVERED);
	cr_assert_eq(last, ti);
	cr_assert_eq(txn_state(ti), TXN_COMPLETED);
	cr_assert_eq(txn_state(tc), TXN_COMPLETED);
	no_leaks();
}

/* ---- generations, limits, errors ---- */

Test(txn, stale_timer_of_a_reused_slot_does_not_act)
{
	teardown();
	setup_cap(1);
	struct txn *a = cstart("OPTIONS", SIP_METHOD_OPTIONS, CBRANCH, false);
	uint64_t ida = txn_id(a);

	cr_assert_eq(txn_get(&tab, ida), a);
	txn_terminate(&tab, a);
	cr_assert_null(txn_get(&tab, ida));
	at(100);
	struct txn *b = cstart("OPTIONS", SIP_METHOD_OPTIONS, "z9hG4bKsr3.1b", false);
	cr_assert_eq(b, a, "same slot");
	cr_assert_neq(txn_id(b), ida, "another generation");
	cr_assert_null(txn_get(&tab, ida));
	cr_assert_eq(txn_get(&tab, txn_id(b)), b);
	uint64_t idb = txn_id(b);
	at(599);
	cr_assert_eq(nsent, 2, "a's Timer E (500) did not fire for b");
	at(600);
	cr_assert_eq(nsent, 3);
	cr_assert_eq(sent[2].id, idb);
	at(32000);
	cr_assert_eq(count_ev(EV_TIMEOUT), 0, "a's Timer F did not fire for b");
	at(32100);
	cr_assert_eq(count_ev(EV_TIMEOUT), 1);
	cr_assert_eq(evs[nevs - 1].id, idb);
	cr_assert_null(txn_get(&tab, idb), "b ended");
	cr_assert_eq(tab.stats.stale_timers, 0);
	no_leaks();
}

Test(txn, table_full)
{
	teardown();
	setup_cap(2);
	cstart("OPTIONS", SIP_METHOD_OPTIONS, "z9hG4bKsr0.1", false);
	cr_assert_eq(txn_server_input(&tab, sreq("INVITE", "z9hG4bKf1"), &peer, false), TXN_NEW);
	cr_assert_eq(txn_server_input(&tab, sreq("INVITE", "z9hG4bKf2"), &peer, false), -ENOBUFS);
	cr_assert_eq(txn_client_start(&tab, "OPTIONS x", 9, SIP_METHOD_OPTIONS,
				      SV_LIT("z9hG4bKsr0.2"), &peer, false, NULL),
		     -ENOBUFS);
	cr_assert_eq(tab.stats.full, 2);
	/* retransmissions still work when full */
	cr_assert_eq(txn_server_input(&tab, sreq("INVITE", "z9hG4bKf1"), &peer, false),
		     TXN_ABSORBED);
	cr_assert_eq(tab.stats.active, 2);
	no_leaks();
}

Test(txn, transport_errors)
{
	const struct sip_msg *opt = sreq("OPTIONS", "z9hG4bKt1");

	cr_assert_eq(txn_server_input(&tab, opt, &peer, false), TXN_NEW);
	send_fail = -ECONNREFUSED;
	cr_assert_eq(respond(last, opt, 200), -ECONNREFUSED);
	cr_assert_eq(count_ev(EV_TERR), 1);
	cr_assert_eq(count_ev(EV_TERM), 1);

	/* a client retransmission that fails */
	send_fail = 0;
	cstart("INVITE", SIP_METHOD_INVITE, CBRANCH, false);
	send_fail = -ENETUNREACH;
	at(500);
	cr_assert_eq(count_ev(EV_TERR), 2);
	cr_assert_eq(count_ev(EV_TERM), 2);
	cr_assert_eq(tab.stats.active, 0);
	/* the first send failing: nothing kept, no callback */
	cr_assert_eq(txn_client_start(&tab, "INVITE x", 8, SIP_METHOD_INVITE, SV_LIT(CBRANCH),
				      &peer, false, NULL),
		     -ENETUNREACH);
	cr_assert_eq(tab.stats.active, 0);
	cr_assert_eq(nevs, 5);
	cr_assert_eq(tab.stats.transport_errors, 2);
	no_leaks();
}

Test(txn, fini_with_pending_transactions)
{
	cstart("INVITE", SIP_METHOD_INVITE, CBRANCH, false);
	cr_assert_eq(txn_server_input(&tab, sreq("INVITE", "z9hG4bKp1"), &peer, false), TXN_NEW);
	cr_assert_eq(timer_wheel_count(&wheel), 2);
	txn_table_fini(&tab);
	cr_assert_eq(timer_wheel_count(&wheel), 0, "fini deletes the timers");
	cr_assert_eq(count_ev(EV_TERM), 0);
	cr_assert_eq(txn_table_init(&tab, 4, &timers, &ops, &tab, &wheel), 0); /* for .fini */
	no_leaks();
}

Test(txn, init_rejects)
{
	struct txn_table t2;
	struct txn_timers z = timers;
	struct txn_ops o = ops;

	cr_assert_eq(txn_table_init(&t2, 0, &timers, &ops, NULL, &wheel), -EINVAL);
	z.t1 = 0;
	cr_assert_eq(txn_table_init(&t2, 4, &z, &ops, NULL, &wheel), -EINVAL);
	o.terminated = NULL;
	cr_assert_eq(txn_table_init(&t2, 4, &timers, &o, NULL, &wheel), -EINVAL);
	txn_table_fini(&t2); /* harmless on a failed init */
	no_leaks();
}

Test(txn, branches)
{
	char buf[48];
	int n = txn_branch_make(3, 0x1a, buf, sizeof(buf));

	cr_assert_eq(n, (int)strlen("z9hG4bKsr3.1a"));
	cr_assert_str_eq(buf, "z9hG4bKsr3.1a");
	cr_assert_eq(txn_branch_worker(sv_cstr(buf)), 3);
	n = txn_branch_make(65535, UINT64_MAX, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_assert_eq(txn_branch_worker(sv_make(buf, (size_t)n)), 65535);
	cr_assert_eq(txn_branch_make(1, 1, buf, 8), -ENOBUFS);

	static const char *const foreign[] = { "z9hG4bK776asdhds",    "z9hG4bKsr",
					       "z9hG4bKsr12",	      "z9hG4bKsrx.1",
					       "z9hG4bKsr99999999.1", "" };
	for (size_t i = 0; i < N(foreign); i++)
		cr_assert_eq(txn_branch_worker(sv_cstr(foreign[i])), -ENOENT, "%s", foreign[i]);
	no_leaks();
}

Test(txn, user_pointer_and_message)
{
	struct txn *t = cstart("OPTIONS", SIP_METHOD_OPTIONS, CBRANCH, false);
	size_t len;
	int x;

	cr_assert_null(txn_user(t));
	txn_set_user(t, &x);
	cr_assert_eq(txn_user(t), &x);
	const char *m = txn_message(t, &len);
	cr_assert_eq(len, sent[0].len);
	cr_assert_eq(memcmp(m, sent[0].buf, len), 0);
	cr_assert_eq(txn_dest(t)->sock, 7);
	no_leaks();
}
