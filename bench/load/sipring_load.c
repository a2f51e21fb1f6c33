/* SPDX-License-Identifier: MIT */
/*
 * sipring_load.c: sipring-load, a SIP load generator fast enough to saturate
 * sipring and Kamailio on the machine it runs on (SIPp cannot).
 *
 * Each thread owns an io_uring, a provided-buffer ring and several UDP
 * sockets (distinct source ports, so a server's SO_REUSEPORT group spreads
 * them over its workers). The loop of a thread is the l2fwd shape:
 *
 *   start the due transactions  (template copied and patched, sendmsg SQEs)
 *   fire the due timers         (retransmissions, Timer F / end of grace)
 *   submit + wait               (one io_uring_enter: a completion or a timeout)
 *   handle the completions      (multishot recvmsg: scan, match, count)
 *
 * A transaction lives in a slot of its thread's table; the slot number and a
 * generation travel in the branch (z9hG4bK-TT-SSSSSS-GGGGGGGG), so an answer
 * finds its transaction by index, with no hash and no allocation, and an answer
 * for an older use of the slot counts as a duplicate. Timers are intrusive FIFO
 * lists: every transaction of a list waits the same interval, so each list is
 * sorted by deadline and only its head is looked at (one list for Timer F and
 * one per retransmission interval T1, 2T1, ... T2).
 *
 * At a --rate, a thread starts rate/threads transactions per second, paced by
 * the wait's timeout; at --rate 0 it keeps --window transactions outstanding.
 * Latency is from the first transmission to the final answer, in a log-linear
 * histogram per thread, merged at the end.
 *
 * A chain of requests (register-auth: REGISTER, 401, REGISTER with
 * credentials, 200) lives in one slot: each step is a new transaction (a new
 * generation, so a late 401 is a duplicate), the chain keeps its start time and
 * its place in the timeout list. The register scenarios are per user: user i
 * (u100000 + i) belongs to thread i % threads and always sends from one of its
 * sockets, so its Contact stays the same; a thread keeps each of its users'
 * CSeq and starts a user's chain only when its last one is over (a busy user is
 * passed over, counted as a user wait).
 *
 * Exit status: 0, 1 when a chain was lost or failed (a final answer the
 * scenario does not accept), 2 usage, 3 a system error, 77 io_uring unusable
 * here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <liburing.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/load/cpulist.h"
#include "drivers/bufring.h"
#include "load_auth.h"
#include "load_hist.h"
#include "load_sip.h"

#define LOAD_THREADS_MAX 256
#define LOAD_SOCKETS_MAX 64
#define LOAD_SLOTS_MAX	 (1u << 22)
#define LOAD_STAGES	 16 /* retransmission intervals T1 << k up to T2 */
#define LOAD_NIL	 UINT32_MAX
#define LOAD_SENDBUFS	 2048 /* sends in flight per thread */
#define LOAD_RX_BUFS	 2048 /* provided receive buffers per thread */
#define LOAD_RX_BUF_SIZE 2048
#define LOAD_RING	 4096
#define LOAD_BATCH	 256 /* transactions started per loop at most */
#define LOAD_CODES	 700 /* status codes 100..699; [0] counts echoed requests */

enum { OP_SEND = 1, OP_RECV = 2 };

static inline uint64_t ud_pack(unsigned op, uint32_t idx)
{
	return (uint64_t)op << 32 | idx;
}

/* Set by SIGINT/SIGTERM: stop sending, wait the grace, report. A signal
 * handler has no other way to reach the threads. */
static atomic_int load_stop;

struct load_opts {
	struct sockaddr_storage target;
	socklen_t target_len;
	const char *target_text;
	struct sockaddr_storage local;
	socklen_t local_len;
	bool local_set;
	char host[INET6_ADDRSTRLEN + 2]; /* the local address as Via writes it */

	unsigned threads, sockets, window, slots, burst;
	double rate;	   /* total requests/s; 0 = keep window outstanding */
	double duration_s; /* 0 = until count */
	uint64_t count;	   /* 0 = until duration */
	bool retransmit, echo, json, busy;
	unsigned t1_ms, t2_ms, timeout_ms, grace_ms;
	int cpus[LOAD_THREADS_MAX];
	unsigned ncpus;

	const struct load_scen *scen;
	const char *method, *ruri, *to_uri, *from_user, *domain;
	char ruri_buf[300];
	char domain_buf[260];
	char run_tag[9];
	uint32_t users; /* register scenarios: u100000 .. u100000 + users - 1 */
};

/* What a thread counts; summed by the report. */
struct load_stats {
	uint64_t sent;	  /* transactions started (first transmissions) */
	uint64_t retrans; /* retransmissions */
	uint64_t send_errors;
	uint64_t answered;    /* final answers that matched an open transaction */
	uint64_t completed;   /* chains the scenario accepted (LOAD_FINAL) */
	uint64_t failed;      /* chains ended by an answer it does not accept (LOAD_FAILED) */
	uint64_t challenges;  /* answers that moved a chain to its next step (401) */
	uint64_t auth_errors; /* 401s no credentials could be computed for (failed too) */
	uint64_t user_waits;  /* users passed over: their last chain still open */
	uint64_t provisional;
	uint64_t lost;	     /* no final answer by the timeout or the end of grace */
	uint64_t duplicates; /* answers for a transaction already over */
	uint64_t unexpected; /* anything else received */
	uint64_t truncated;
	uint64_t recv_errors;
	uint64_t rx_nobufs;
	uint64_t slot_waits; /* loops where the rate wanted a slot and none was free */
	uint64_t codes[LOAD_CODES];
	uint64_t last_start_ns;	 /* when the last transaction started, since the run's start */
	uint64_t last_answer_ns; /* when the last final answer came */
	struct load_hist hist;	 /* latency, ns */
};

enum { TXN_FREE = 0, TXN_CALLING, TXN_PROCEEDING };
enum { LINK_TIMEOUT = 0, LINK_RETX = 1 };

/*
 * One transaction. link[LINK_TIMEOUT] chains every open transaction in the
 * order they started (the timeout list); link[LINK_RETX] chains it in the list
 * of its retransmission interval (stage). [k][0] = previous, [k][1] = next.
 */
struct load_txn {
	uint64_t t0;	 /* first transmission, ns since the run's start */
	uint32_t gen;	 /* bumped when the slot is taken; answers carry it */
	uint32_t due_ms; /* next retransmission, ms since the run's start */
	uint32_t user;	 /* register scenarios: the user's index in its thread */
	uint32_t cseq;	 /* the CSeq of step 0; step k sends cseq + k */
	uint32_t link[2][2];
	uint16_t sock;
	uint8_t stage;
	uint8_t state;
	uint8_t step; /* of the scenario */
};

struct load_list {
	uint32_t head, tail;
};

/* The header lines a slot's next step sends (register-auth: its Authorization). */
struct load_extra {
	uint16_t len;
	char text[LOAD_EXTRA_MAX + 2];
};

/* A send buffer: lent to the kernel from the sendmsg SQE to its completion. */
struct load_sendbuf {
	struct msghdr mh;
	struct iovec iov;
	char data[LOAD_MSG_MAX];
};

struct load_sock {
	int fd;
	bool armed; /* a multishot recvmsg is in flight */
	uint16_t port;
	struct load_tmpl *tmpl; /* one per scenario step */
};

/* Shared by every thread: set once before the start, read only after. */
struct load_run {
	const struct load_opts *o;
	pthread_barrier_t ready, go;
	uint64_t t0; /* CLOCK_MONOTONIC ns of the start */
	atomic_int failed;
};

struct load_thread {
	_Alignas(64) struct io_uring ring;
	struct bufring br;
	struct load_run *run;
	const struct load_opts *o;
	unsigned id;
	pthread_t tid;
	int err; /* setup failure, -errno */
	char why[200];

	struct load_sock socks[LOAD_SOCKETS_MAX];
	unsigned nsocks, next_sock;
	struct msghdr rx_mh; /* the shape of every multishot recvmsg */

	struct load_txn *txn;
	uint32_t nslots, nfree;
	uint32_t *free_stack;
	struct load_list tl;		  /* timeout list */
	struct load_list rl[LOAD_STAGES]; /* retransmission lists */
	uint32_t stage_ms[LOAD_STAGES];
	unsigned nstages;
	uint64_t timeout_ns;

	struct load_sendbuf *sb;
	uint32_t *sb_free;
	uint32_t sb_nfree;

	/* register scenarios: this thread's users, index j is user number
	 * LOAD_USER_FIRST + j * threads + id */
	uint32_t nusers, next_user;
	uint32_t *ucseq;	  /* the last CSeq each user sent */
	uint8_t *ubusy;		  /* its chain is open */
	struct load_ha1 *uha1;	  /* its HA1s, when the scenario authenticates */
	struct load_extra *extra; /* per slot, when the scenario authenticates */

	uint64_t quota;	      /* transactions to start; UINT64_MAX = until the duration */
	double rate;	      /* this thread's transactions per second; 0 = window */
	uint64_t tick_ns;     /* the pacing wait at a rate */
	int64_t real_base;    /* CLOCK_REALTIME at the run's start: the kernel's receive
			       * timestamps (SO_TIMESTAMPNS) are in that clock */
	uint64_t started;     /* transactions started */
	uint32_t gen_base;    /* added to every generation on the wire, different per run,
			       * so a late answer to an earlier run cannot match */
	struct load_stats st; /* large (the histogram): last */
};

static uint64_t clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- transaction lists ---- */

static void list_push(struct load_thread *t, struct load_list *l, uint32_t i, int k)
{
	struct load_txn *x = &t->txn[i];
	x->link[k][0] = l->tail;
	x->link[k][1] = LOAD_NIL;
	if (l->tail != LOAD_NIL)
		t->txn[l->tail].link[k][1] = i;
	else
		l->head = i;
	l->tail = i;
}

static void list_unlink(struct load_thread *t, struct load_list *l, uint32_t i, int k)
{
	struct load_txn *x = &t->txn[i];
	uint32_t prev = x->link[k][0], next = x->link[k][1];
	if (prev != LOAD_NIL)
		t->txn[prev].link[k][1] = next;
	else
		l->head = next;
	if (next != LOAD_NIL)
		t->txn[next].link[k][0] = prev;
	else
		l->tail = prev;
}

static uint32_t user_number(const struct load_thread *t, uint32_t j)
{
	return LOAD_USER_FIRST + j * t->o->threads + t->id;
}

static void txn_free(struct load_thread *t, uint32_t i)
{
	struct load_txn *x = &t->txn[i];
	if (t->ubusy)
		t->ubusy[x->user] = 0;
	list_unlink(t, &t->tl, i, LINK_TIMEOUT);
	if (t->o->retransmit)
		list_unlink(t, &t->rl[x->stage], i, LINK_RETX);
	x->state = TXN_FREE; /* gen stays: a later answer is a duplicate */
	t->free_stack[t->nfree++] = i;
}

/* ---- sending ---- */

static struct io_uring_sqe *get_sqe(struct load_thread *t)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&t->ring);
	if (!sqe) {
		io_uring_submit(&t->ring);
		sqe = io_uring_get_sqe(&t->ring);
	}
	return sqe;
}

/* Transmit slot i's current request. The caller checked that a send buffer is free. */
static void txn_transmit(struct load_thread *t, uint32_t i)
{
	struct load_txn *x = &t->txn[i];
	uint32_t b = t->sb_free[--t->sb_nfree];
	struct load_sendbuf *sb = &t->sb[b];
	struct load_vars v = {
		.id = { t->id, i, x->gen + t->gen_base },
		.cseq = x->cseq + x->step,
	};
	if (t->ubusy)
		v.user = user_number(t, x->user);
	if (t->extra && x->step > 0) {
		v.extra = t->extra[i].text;
		v.extra_len = t->extra[i].len;
	}
	struct load_sock *s = &t->socks[x->sock];
	sb->iov.iov_len = load_tmpl_fill(&s->tmpl[x->step], sb->data, &v);
	struct io_uring_sqe *sqe = get_sqe(t);
	io_uring_prep_sendmsg(sqe, s->fd, &sb->mh, 0);
	io_uring_sqe_set_data64(sqe, ud_pack(OP_SEND, b));
}

static void retx_arm(struct load_thread *t, uint32_t i, unsigned stage, uint64_t now)
{
	struct load_txn *x = &t->txn[i];
	x->stage = (uint8_t)stage;
	x->due_ms = (uint32_t)(now / 1000000u) + t->stage_ms[stage];
	list_push(t, &t->rl[stage], i, LINK_RETX);
}

/* The next of this thread's users whose last chain is over, round robin; false
 * when the few looked at are all busy (the loop tries again later). */
static bool user_pick(struct load_thread *t, uint32_t *j)
{
	for (unsigned k = 0; k < t->nusers && k < 64; k++) {
		uint32_t u = t->next_user;
		if (++t->next_user == t->nusers)
			t->next_user = 0;
		if (!t->ubusy[u]) {
			*j = u;
			return true;
		}
		t->st.user_waits++;
	}
	return false;
}

/* Start a chain; false when no user is free (register scenarios). */
static bool txn_start(struct load_thread *t, uint64_t now)
{
	uint32_t j = 0;
	if (t->ubusy && !user_pick(t, &j))
		return false;
	uint32_t i = t->free_stack[--t->nfree];
	struct load_txn *x = &t->txn[i];
	x->gen++;
	if (x->gen == 0)
		x->gen = 1; /* 0 means "never used" */
	x->state = TXN_CALLING;
	x->step = 0;
	x->t0 = now;
	if (t->ubusy) {
		/* the user's socket, so its Contact stays the same */
		x->user = j;
		x->sock = (uint16_t)(j % t->nsocks);
		x->cseq = t->ucseq[j] + 1;
		t->ucseq[j] += t->o->scen->steps;
		t->ubusy[j] = 1;
	} else {
		x->cseq = 1;
		x->sock = (uint16_t)t->next_sock;
		if (++t->next_sock == t->nsocks)
			t->next_sock = 0;
	}
	list_push(t, &t->tl, i, LINK_TIMEOUT);
	if (t->o->retransmit)
		retx_arm(t, i, 0, now);
	txn_transmit(t, i);
	t->started++;
	t->st.sent++;
	t->st.last_start_ns = now;
	return true;
}

/* How many transactions to start now; sets *more when the pace wants more than that. */
static uint64_t due_starts(struct load_thread *t, uint64_t now, bool *more)
{
	uint64_t want;
	*more = false;
	if (t->rate > 0) {
		uint64_t due = (uint64_t)((double)now * t->rate / 1e9) + 1;
		want = due > t->started ? due - t->started : 0;
	} else {
		uint32_t open = t->nslots - t->nfree;
		want = t->o->window > open ? t->o->window - open : 0;
	}
	if (want > t->quota - t->started)
		want = t->quota - t->started;
	if (want > t->nfree) {
		if (t->rate > 0)
			t->st.slot_waits++;
		want = t->nfree;
	}
	uint64_t cap = t->sb_nfree < LOAD_BATCH ? t->sb_nfree : LOAD_BATCH;
	if (want > cap) {
		want = cap;
		*more = true;
	}
	return want;
}

/* ---- timers ---- */

/* Timeouts, then retransmissions. Returns false when out of send buffers. */
static bool timers_fire(struct load_thread *t, uint64_t now)
{
	while (t->tl.head != LOAD_NIL) {
		uint32_t i = t->tl.head;
		if (t->txn[i].t0 + t->timeout_ns > now)
			break;
		t->st.lost++;
		txn_free(t, i);
	}
	if (!t->o->retransmit)
		return true;
	uint32_t now_ms = (uint32_t)(now / 1000000u);
	unsigned last = t->nstages - 1;
	for (unsigned k = 0; k < t->nstages; k++) {
		while (t->rl[k].head != LOAD_NIL) {
			uint32_t i = t->rl[k].head;
			struct load_txn *x = &t->txn[i];
			if ((int32_t)(x->due_ms - now_ms) > 0)
				break;
			if (t->sb_nfree == 0)
				return false;
			list_unlink(t, &t->rl[k], i, LINK_RETX);
			unsigned next = x->state == TXN_PROCEEDING || k == last ? last : k + 1;
			retx_arm(t, i, next, now);
			txn_transmit(t, i);
			t->st.retrans++;
		}
	}
	return true;
}

/* The earliest timer deadline, ns since the start (UINT64_MAX: none). */
static uint64_t timers_next(const struct load_thread *t)
{
	uint64_t next = UINT64_MAX;
	if (t->tl.head != LOAD_NIL)
		next = t->txn[t->tl.head].t0 + t->timeout_ns;
	if (t->o->retransmit)
		for (unsigned k = 0; k < t->nstages; k++)
			if (t->rl[k].head != LOAD_NIL) {
				uint64_t d = (uint64_t)t->txn[t->rl[k].head].due_ms * 1000000u;
				if (d < next)
					next = d;
			}
	return next;
}

/* ---- receiving ---- */

static void answer_handle(struct load_thread *t, const char *p, size_t n, uint64_t now)
{
	struct load_answer a;
	if (load_answer_scan(p, n, &a) < 0 || (a.status == 0 && !t->o->echo) || !a.has_id ||
	    a.id.thread != t->id || a.id.slot >= t->nslots) {
		t->st.unexpected++;
		return;
	}
	uint32_t i = a.id.slot, gen = a.id.gen - t->gen_base;
	struct load_txn *x = &t->txn[i];
	if (x->gen != gen || x->state == TXN_FREE) {
		/* an older use of the slot, or this one already answered; anything
		 * else (a generation not issued yet, another run's) is unexpected */
		if (gen != 0 && x->gen - gen < 1u << 30)
			t->st.duplicates++;
		else
			t->st.unexpected++;
		return;
	}
	enum load_verdict v = a.status == 0 ? LOAD_FINAL : t->o->scen->answer(&a, x->step);
	if (v == LOAD_NEXT && t->extra && x->step + 1u < t->o->scen->steps && t->sb_nfree) {
		/* the credentials of the next step, kept for its retransmissions */
		char cnonce[LOAD_ID_LEN + 1];
		struct load_id cid = { t->id, i, x->gen + t->gen_base };
		load_id_format(cnonce, &cid);
		cnonce[LOAD_ID_LEN] = 0;
		const struct load_auth_req r = {
			.user = user_number(t, x->user),
			.method = t->o->method,
			.uri = t->o->ruri,
			.cnonce = cnonce,
			.ha1 = &t->uha1[x->user],
		};
		int len = load_auth_line(&a, &r, t->extra[i].text, sizeof(t->extra[i].text));
		if (len < 0 || (size_t)len > LOAD_EXTRA_MAX) {
			t->st.auth_errors++;
			v = LOAD_FAILED;
		} else {
			t->extra[i].len = (uint16_t)len;
		}
	}
	switch (v) {
	case LOAD_PROVISIONAL:
		t->st.provisional++;
		if (x->state == TXN_CALLING && t->o->retransmit) {
			/* RFC 3261 17.1.2.2: after a provisional, Timer E fires every T2 */
			list_unlink(t, &t->rl[x->stage], i, LINK_RETX);
			retx_arm(t, i, t->nstages - 1, now);
		}
		x->state = TXN_PROCEEDING;
		return;
	case LOAD_NEXT:
		/* the next request of the chain is a new transaction in the same slot;
		 * the chain keeps its place in the timeout list */
		if (x->step + 1u >= t->o->scen->steps || t->sb_nfree == 0) {
			t->st.unexpected++;
			return;
		}
		x->step++;
		x->gen++;
		x->state = TXN_CALLING;
		t->st.challenges++;
		if (t->o->retransmit) {
			list_unlink(t, &t->rl[x->stage], i, LINK_RETX);
			retx_arm(t, i, 0, now);
		}
		txn_transmit(t, i);
		return;
	case LOAD_FINAL:
	case LOAD_FAILED:
		break;
	}
	t->st.answered++;
	t->st.codes[a.status]++;
	t->st.last_answer_ns = now;
	if (v == LOAD_FAILED) {
		t->st.failed++;
	} else {
		t->st.completed++;
		load_hist_add(&t->st.hist, now > x->t0 ? now - x->t0 : 0);
	}
	txn_free(t, i);
}

static void recv_arm(struct load_thread *t, unsigned s)
{
	struct io_uring_sqe *sqe = get_sqe(t);
	io_uring_prep_recvmsg_multishot(sqe, t->socks[s].fd, &t->rx_mh, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = t->br.bgid;
	io_uring_sqe_set_data64(sqe, ud_pack(OP_RECV, s));
	t->socks[s].armed = true;
}

/*
 * When the kernel received the datagram of o (its SO_TIMESTAMPNS), in ns since
 * the run's start: latency does not depend on when the loop woke up to look.
 * now when there is no timestamp.
 */
static uint64_t rx_time(struct load_thread *t, struct io_uring_recvmsg_out *o, uint64_t now)
{
	struct cmsghdr *cm = io_uring_recvmsg_cmsg_firsthdr(o, &t->rx_mh);
	for (; cm; cm = io_uring_recvmsg_cmsg_nexthdr(o, &t->rx_mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_TIMESTAMPNS)
			continue;
		struct timespec ts;
		memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
		int64_t at = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - t->real_base;
		if (at > 0 && (uint64_t)at < now)
			return (uint64_t)at;
		break;
	}
	return now;
}

static void cqe_handle(struct load_thread *t, const struct io_uring_cqe *cqe, uint64_t now)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	uint32_t idx = (uint32_t)ud;
	if (ud >> 32 == OP_SEND) {
		if (cqe->res < 0)
			t->st.send_errors++;
		t->sb_free[t->sb_nfree++] = idx;
		return;
	}
	if (!(cqe->flags & IORING_CQE_F_MORE))
		t->socks[idx].armed = false;
	if (cqe->res < 0) {
		if (cqe->res == -ENOBUFS)
			t->st.rx_nobufs++;
		else if (cqe->res != -ECANCELED)
			t->st.recv_errors++;
		return;
	}
	if (!(cqe->flags & IORING_CQE_F_BUFFER))
		return;
	unsigned bid = bufring_bid(cqe);
	uint8_t *buf = bufring_buf(&t->br, bid);
	struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, cqe->res, &t->rx_mh);
	if (o) {
		if (o->flags & MSG_TRUNC)
			t->st.truncated++;
		const char *p = io_uring_recvmsg_payload(o, &t->rx_mh);
		size_t n = io_uring_recvmsg_payload_length(o, cqe->res, &t->rx_mh);
		answer_handle(t, p, n, rx_time(t, o, now));
	}
	bufring_recycle(&t->br, bid);
}

/* ---- setup ---- */

static int fail(struct load_thread *t, int err, const char *what)
{
	snprintf(t->why, sizeof(t->why), "thread %u: %s: %s", t->id, what, strerror(-err));
	t->err = err;
	return err;
}

static int sock_open(struct load_thread *t, unsigned s)
{
	const struct load_opts *o = t->o;
	int fd = socket(o->target.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(t, -errno, "socket");
	t->socks[s].fd = fd;
	int sz = 4 << 20, one = 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (bind(fd, (const struct sockaddr *)&o->local, o->local_len) < 0)
		return fail(t, -errno, "bind");
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return fail(t, -errno, "getsockname");
	t->socks[s].port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							  : ((struct sockaddr_in *)&ss)->sin_port);

	struct load_req_params rp = {
		.method = o->method,
		.ruri = o->ruri,
		.to_uri = o->to_uri,
		.from_user = o->from_user,
		.domain = o->domain,
		.host = o->host,
		.port = t->socks[s].port,
		.run_tag = o->run_tag,
	};
	t->socks[s].tmpl = calloc(o->scen->steps, sizeof(struct load_tmpl));
	if (!t->socks[s].tmpl)
		return fail(t, -ENOMEM, "templates");
	for (unsigned k = 0; k < o->scen->steps; k++) {
		int ret = o->scen->build(&rp, k, &t->socks[s].tmpl[k]);
		if (ret < 0)
			return fail(t, ret, "request template");
	}
	return 0;
}

static int thread_setup(struct load_thread *t)
{
	const struct load_opts *o = t->o;
	if (o->ncpus) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(o->cpus[t->id % o->ncpus], &set);
		int ret = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
		if (ret)
			return fail(t, -ret, "pinning to a CPU");
	}
	int ret = uring_queue_init(&t->ring, LOAD_RING, NULL);
	if (ret < 0)
		return fail(t, ret, "io_uring");
	ret = bufring_setup(&t->ring, &t->br, 0, LOAD_RX_BUFS, LOAD_RX_BUF_SIZE);
	if (ret < 0)
		return fail(t, ret, "provided-buffer ring");
	/* a multiple of 8: the control messages that follow the name are aligned */
	t->rx_mh.msg_namelen = sizeof(struct sockaddr_storage);
	t->rx_mh.msg_controllen = CMSG_SPACE(sizeof(struct timespec));

	for (unsigned s = 0; s < o->sockets; s++) {
		t->nsocks = s + 1;
		if ((ret = sock_open(t, s)) < 0)
			return ret;
	}

	t->txn = calloc(t->nslots, sizeof(*t->txn));
	t->free_stack = malloc(t->nslots * sizeof(uint32_t));
	t->sb = calloc(LOAD_SENDBUFS, sizeof(*t->sb));
	t->sb_free = malloc(LOAD_SENDBUFS * sizeof(uint32_t));
	if (!t->txn || !t->free_stack || !t->sb || !t->sb_free)
		return fail(t, -ENOMEM, "transaction table");
	if (o->scen->flags & LOAD_SCEN_USERS) {
		t->nusers = o->users / o->threads + (t->id < o->users % o->threads);
		t->ucseq = calloc(t->nusers, sizeof(*t->ucseq));
		t->ubusy = calloc(t->nusers, sizeof(*t->ubusy));
		if (!t->ucseq || !t->ubusy)
			return fail(t, -ENOMEM, "users");
	}
	if (o->scen->flags & LOAD_SCEN_AUTH) {
		/* calloc: only the pages of slots in use are ever touched */
		t->extra = calloc(t->nslots, sizeof(*t->extra));
		t->uha1 = calloc(t->nusers, sizeof(*t->uha1));
		if (!t->extra || !t->uha1)
			return fail(t, -ENOMEM, "credentials");
	}
	/* slot 0 on top: the busy slots stay few and warm */
	for (uint32_t i = 0; i < t->nslots; i++)
		t->free_stack[i] = t->nslots - 1 - i;
	t->nfree = t->nslots;
	for (uint32_t b = 0; b < LOAD_SENDBUFS; b++) {
		struct load_sendbuf *sb = &t->sb[b];
		sb->iov.iov_base = sb->data;
		sb->mh.msg_iov = &sb->iov;
		sb->mh.msg_iovlen = 1;
		sb->mh.msg_name = (void *)&o->target;
		sb->mh.msg_namelen = o->target_len;
		t->sb_free[b] = LOAD_SENDBUFS - 1 - b;
	}
	t->sb_nfree = LOAD_SENDBUFS;
	t->tl.head = t->tl.tail = LOAD_NIL;
	for (unsigned k = 0; k < LOAD_STAGES; k++)
		t->rl[k].head = t->rl[k].tail = LOAD_NIL;
	/* Timer E: T1, 2T1, 4T1, ... up to T2, then T2 */
	t->nstages = 0;
	for (uint64_t ms = o->t1_ms; t->nstages < LOAD_STAGES; ms *= 2) {
		t->stage_ms[t->nstages++] = (uint32_t)(ms < o->t2_ms ? ms : o->t2_ms);
		if (ms >= o->t2_ms)
			break;
	}
	t->timeout_ns = (uint64_t)o->timeout_ms * 1000000u;
	load_hist_init(&t->st.hist);
	for (unsigned s = 0; s < t->nsocks; s++)
		recv_arm(t, s);
	ret = io_uring_submit(&t->ring);
	if (ret < 0)
		return fail(t, ret, "io_uring_submit");
	return 0;
}

static void thread_teardown(struct load_thread *t)
{
	for (unsigned s = 0; s < t->nsocks; s++) {
		if (t->socks[s].fd > 0)
			close(t->socks[s].fd);
		free(t->socks[s].tmpl);
	}
	if (t->ring.ring_fd > 0) {
		bufring_free(&t->ring, &t->br);
		io_uring_queue_exit(&t->ring);
	}
	free(t->txn);
	free(t->free_stack);
	free(t->sb);
	free(t->sb_free);
	free(t->ucseq);
	free(t->ubusy);
	free(t->extra);
	free(t->uha1);
}

/* ---- the loop ---- */

static void thread_loop(struct load_thread *t)
{
	const struct load_opts *o = t->o;
	const uint64_t base = t->run->t0;
	const uint64_t send_end = o->duration_s > 0 ? (uint64_t)(o->duration_s * 1e9) : UINT64_MAX;
	const uint64_t grace_ns = (uint64_t)o->grace_ms * 1000000u;
	uint64_t grace_end = UINT64_MAX;
	bool sending = true;
	uint64_t now = clock_ns() - base;
	t->real_base = real_ns() - (int64_t)now;

	for (;;) {
		bool more = false;
		now = clock_ns() - base; /* the handling of the completions took time */
		if (sending && (atomic_load_explicit(&load_stop, memory_order_relaxed) ||
				now >= send_end || t->started >= t->quota)) {
			sending = false;
			grace_end = now + grace_ns;
		}
		if (sending) {
			uint64_t n = due_starts(t, now, &more);
			for (uint64_t k = 0; k < n; k++)
				if (!txn_start(t, now))
					break;
		}
		if (!timers_fire(t, now))
			more = true;
		if (!sending && (t->nfree == t->nslots || now >= grace_end))
			break;
		for (unsigned s = 0; s < t->nsocks; s++)
			if (!t->socks[s].armed)
				recv_arm(t, s);

		int ret;
		if (o->busy || more) {
			ret = io_uring_submit_and_get_events(&t->ring);
		} else {
			uint64_t next = timers_next(t);
			if (!sending && grace_end < next)
				next = grace_end;
			if (sending) {
				if (send_end < next)
					next = send_end;
				if (t->rate > 0) {
					uint64_t pace =
						(uint64_t)((double)(t->started) * 1e9 / t->rate);
					if (pace < now + t->tick_ns)
						pace = now + t->tick_ns;
					if (pace < next)
						next = pace;
				}
			}
			if (next > now + 100000000u) /* look at the stop flag 10 times a second */
				next = now + 100000000u;
			if (!sending && t->rate > 0 && next > now + t->tick_ns)
				next = now + t->tick_ns; /* see soon that all is answered */
			uint64_t wait = next > now ? next - now : 0;
			struct __kernel_timespec ts = {
				.tv_sec = (long long)(wait / 1000000000u),
				.tv_nsec = (long long)(wait % 1000000000u),
			};
			/* At a rate, wake up on the pacing timeout only: the answers
			 * of a tick are handled in one batch (their latency comes from
			 * the kernel's timestamps). With a window, every answer makes
			 * room for the next request: wake up on the first. */
			struct io_uring_cqe *cqe;
			unsigned wait_nr = t->rate > 0 ? 1u << 20 : 1;
			ret = io_uring_submit_and_wait_timeout(&t->ring, &cqe, wait_nr, &ts, NULL);
		}
		if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			fail(t, ret, "io_uring_enter");
			atomic_store(&t->run->failed, 1);
			return;
		}

		now = clock_ns() - base;
		unsigned head, seen = 0;
		struct io_uring_cqe *cqe;
		io_uring_for_each_cqe(&t->ring, head, cqe)
		{
			cqe_handle(t, cqe, now);
			seen++;
		}
		io_uring_cq_advance(&t->ring, seen);
	}
	/* the end of the grace: whatever is still open is lost */
	while (t->tl.head != LOAD_NIL) {
		t->st.lost++;
		txn_free(t, t->tl.head);
	}
}

static void *thread_main(void *arg)
{
	struct load_thread *t = arg;
	if (thread_setup(t) < 0)
		atomic_store(&t->run->failed, 1);
	pthread_barrier_wait(&t->run->ready);
	pthread_barrier_wait(&t->run->go); /* the main thread set run->t0 between */
	if (!atomic_load(&t->run->failed))
		thread_loop(t);
	thread_teardown(t);
	return NULL;
}

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sipring-load [options] HOST:PORT\n"
		"Sends SIP requests over UDP at a rate or as fast as answers come back,\n"
		"matches the answers and reports rate, loss and latency.\n"
		"\n"
		"  -t, --threads N      threads, each with its own io_uring (1)\n"
		"  -s, --sockets N      UDP sockets (source ports) per thread (4)\n"
		"  -r, --rate R         transactions per second, all threads together;\n"
		"                       0 = as fast as possible: --window outstanding (0)\n"
		"  -w, --window W       outstanding transactions per thread at --rate 0 (64)\n"
		"      --burst N        at a --rate, wake up to send every N requests' time\n"
		"                       (50 us .. 1 ms) (8)\n"
		"  -d, --duration S     seconds of sending (10 unless --count)\n"
		"  -n, --count N        transactions to start, all threads together\n"
		"  -R, --retransmit     retransmit (RFC 3261 Timer E: T1 doubling to T2)\n"
		"      --t1 MS          T1 (500)\n"
		"      --t2 MS          T2 (4000)\n"
		"      --timeout MS     a transaction with no final answer by then is lost\n"
		"                       (Timer F, 64*T1)\n"
		"  -g, --grace MS       wait for the last answers after sending (1000)\n"
		"  -e, --echo           the target is an echo server: the request coming back\n"
		"                       is its own answer\n"
		"  -l, --local ADDR     local address (default: the one routing to HOST)\n"
		"  -c, --cpu LIST       pin thread i to the i-th CPU of LIST (\"1\", \"0,2-3\")\n"
		"  -j, --json           print one JSON line on stdout (the text goes to stderr)\n"
		"      --busy           poll the ring instead of sleeping in io_uring_enter\n"
		"      --scenario NAME  %s (options)\n"
		"                       register: REGISTER -> 200 per user; register-auth:\n"
		"                       REGISTER -> 401 -> REGISTER with digest -> 200\n"
		"  -m, --method M       the request's method (OPTIONS; register* send REGISTER)\n"
		"      --ruri URI       Request-URI (sip:HOST:PORT)\n"
		"      --to URI         To address (the Request-URI)\n"
		"  -f, --from-user U    From user part (load)\n"
		"  -u, --users N        register*: users u100000 .. u100000+N-1, each\n"
		"                       registered in turn; the password of user n is\n"
		"                       \"pw\" and 8 hex digits of (n-100000)*2654435761 mod 2^32\n"
		"                       (10000)\n"
		"      --domain D       register*: the users' domain in From and To (HOST)\n"
		"      --slots N        transaction slots per thread (from rate x timeout)\n"
		"  -h, --help\n"
		"\n"
		"Exit status: 0; 1 if a request was lost or a chain failed (register*: any\n"
		"final answer but 401 then 200); 2 usage; 3 system error;\n"
		"77 io_uring is not usable here.\n",
		load_scen_names());
}

static int parse_cpus(const char *s, struct load_opts *o)
{
	return cpulist_parse(s, o->cpus, LOAD_THREADS_MAX, &o->ncpus);
}

/* "HOST:PORT", "[V6]:PORT" -> addr. */
static int parse_hostport(const char *text, struct sockaddr_storage *ss, socklen_t *len,
			  bool need_port)
{
	char host[256];
	const char *port = NULL;
	if (text[0] == '[') {
		const char *rb = strchr(text, ']');
		if (!rb || (size_t)(rb - text - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, (size_t)(rb - text - 1));
		host[rb - text - 1] = 0;
		if (rb[1] == ':')
			port = rb + 2;
		else if (rb[1])
			return -EINVAL;
	} else {
		const char *c = strrchr(text, ':');
		size_t hl = c ? (size_t)(c - text) : strlen(text);
		if (hl >= sizeof(host) || (c && strchr(text, ':') != c))
			return -EINVAL;
		memcpy(host, text, hl);
		host[hl] = 0;
		port = c ? c + 1 : NULL;
	}
	if (need_port && (!port || !*port))
		return -EINVAL;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM };
	hints.ai_flags = AI_NUMERICSERV;
	struct addrinfo *res;
	if (getaddrinfo(host, port ? port : "0", &hints, &res) != 0)
		return -EINVAL;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* The local address that routes to the target (connect() picks it). */
static int local_for(struct load_opts *o)
{
	int fd = socket(o->target.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int ret = 0;
	o->local_len = sizeof(o->local);
	if (connect(fd, (const struct sockaddr *)&o->target, o->target_len) < 0 ||
	    getsockname(fd, (struct sockaddr *)&o->local, &o->local_len) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static bool parse_uint(const char *s, uint64_t max, uint64_t *v)
{
	char *e;
	errno = 0;
	unsigned long long n = strtoull(s, &e, 10);
	if (e == s || *e || errno || n > max || s[0] == '-')
		return false;
	*v = n;
	return true;
}

enum {
	OPT_T1 = 256,
	OPT_T2,
	OPT_TIMEOUT,
	OPT_BUSY,
	OPT_SCENARIO,
	OPT_RURI,
	OPT_TO,
	OPT_SLOTS,
	OPT_BURST,
	OPT_DOMAIN,
};

static int parse_opts(int argc, char **argv, struct load_opts *o)
{
	static const struct option longs[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "sockets", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "window", required_argument, NULL, 'w' },
		{ "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "retransmit", no_argument, NULL, 'R' },
		{ "t1", required_argument, NULL, OPT_T1 },
		{ "t2", required_argument, NULL, OPT_T2 },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "grace", required_argument, NULL, 'g' },
		{ "echo", no_argument, NULL, 'e' },
		{ "local", required_argument, NULL, 'l' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "busy", no_argument, NULL, OPT_BUSY },
		{ "scenario", required_argument, NULL, OPT_SCENARIO },
		{ "method", required_argument, NULL, 'm' },
		{ "ruri", required_argument, NULL, OPT_RURI },
		{ "to", required_argument, NULL, OPT_TO },
		{ "from-user", required_argument, NULL, 'f' },
		{ "slots", required_argument, NULL, OPT_SLOTS },
		{ "burst", required_argument, NULL, OPT_BURST },
		{ "users", required_argument, NULL, 'u' },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	memset(o, 0, sizeof(*o));
	o->threads = 1;
	o->sockets = 4;
	o->window = 64;
	o->burst = 8;
	o->t1_ms = 500;
	o->t2_ms = 4000;
	o->grace_ms = 1000;
	o->method = "OPTIONS";
	o->from_user = "load";
	o->scen = load_scen_find("options");
	o->users = 10000;
	const char *local = NULL, *method = NULL;
	uint64_t v;
	int c;
	while ((c = getopt_long(argc, argv, "t:s:r:w:d:n:Rg:el:c:jm:f:u:h", longs, NULL)) != -1) {
		char *e;
		switch (c) {
		case 't':
			if (!parse_uint(optarg, LOAD_THREADS_MAX, &v) || v == 0)
				goto bad;
			o->threads = (unsigned)v;
			break;
		case 's':
			if (!parse_uint(optarg, LOAD_SOCKETS_MAX, &v) || v == 0)
				goto bad;
			o->sockets = (unsigned)v;
			break;
		case 'r':
			o->rate = strtod(optarg, &e);
			if (e == optarg || *e || !(o->rate >= 0) || o->rate > 1e9)
				goto bad;
			break;
		case 'w':
			if (!parse_uint(optarg, LOAD_SLOTS_MAX, &v) || v == 0)
				goto bad;
			o->window = (unsigned)v;
			break;
		case 'd':
			o->duration_s = strtod(optarg, &e);
			if (e == optarg || *e || !(o->duration_s > 0) || o->duration_s > 1e6)
				goto bad;
			break;
		case 'n':
			if (!parse_uint(optarg, UINT64_MAX / 2, &v) || v == 0)
				goto bad;
			o->count = v;
			break;
		case 'R':
			o->retransmit = true;
			break;
		case OPT_T1:
			if (!parse_uint(optarg, 60000, &v) || v == 0)
				goto bad;
			o->t1_ms = (unsigned)v;
			break;
		case OPT_T2:
			if (!parse_uint(optarg, 600000, &v) || v == 0)
				goto bad;
			o->t2_ms = (unsigned)v;
			break;
		case OPT_TIMEOUT:
			if (!parse_uint(optarg, 3600000, &v) || v == 0)
				goto bad;
			o->timeout_ms = (unsigned)v;
			break;
		case 'g':
			if (!parse_uint(optarg, 3600000, &v))
				goto bad;
			o->grace_ms = (unsigned)v;
			break;
		case 'e':
			o->echo = true;
			break;
		case 'l':
			local = optarg;
			break;
		case 'c':
			if (parse_cpus(optarg, o) < 0)
				goto bad;
			break;
		case 'j':
			o->json = true;
			break;
		case OPT_BUSY:
			o->busy = true;
			break;
		case OPT_SCENARIO:
			if (!(o->scen = load_scen_find(optarg)))
				goto bad;
			break;
		case 'm':
			method = optarg;
			break;
		case OPT_RURI:
			o->ruri = optarg;
			break;
		case OPT_TO:
			o->to_uri = optarg;
			break;
		case 'f':
			o->from_user = optarg;
			break;
		case OPT_SLOTS:
			if (!parse_uint(optarg, LOAD_SLOTS_MAX, &v) || v == 0)
				goto bad;
			o->slots = (unsigned)v;
			break;
		case OPT_BURST:
			if (!parse_uint(optarg, LOAD_BATCH, &v) || v == 0)
				goto bad;
			o->burst = (unsigned)v;
			break;
		case 'u':
			if (!parse_uint(optarg, LOAD_USERS_MAX, &v) || v == 0)
				goto bad;
			o->users = (uint32_t)v;
			break;
		case OPT_DOMAIN:
			o->domain = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
		continue;
	bad:
		fprintf(stderr, "sipring-load: bad option value '%s'\n", optarg);
		return -EINVAL;
	}
	if (optind != argc - 1) {
		usage(stderr);
		return -EINVAL;
	}
	o->target_text = argv[optind];
	if (parse_hostport(o->target_text, &o->target, &o->target_len, true) < 0) {
		fprintf(stderr, "sipring-load: cannot read HOST:PORT '%s'\n", o->target_text);
		return -EINVAL;
	}
	if (local) {
		if (parse_hostport(local, &o->local, &o->local_len, false) < 0 ||
		    o->local.ss_family != o->target.ss_family) {
			fprintf(stderr, "sipring-load: bad --local '%s'\n", local);
			return -EINVAL;
		}
		o->local_set = true;
	} else {
		int ret = local_for(o);
		if (ret < 0) {
			fprintf(stderr, "sipring-load: no route to %s: %s\n", o->target_text,
				strerror(-ret));
			return -EINVAL;
		}
	}
	/* the sockets take ephemeral ports */
	if (o->local.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&o->local)->sin6_port = 0;
	else
		((struct sockaddr_in *)&o->local)->sin_port = 0;
	char a[INET6_ADDRSTRLEN];
	if (o->local.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&o->local)->sin6_addr, a, sizeof(a));
		snprintf(o->host, sizeof(o->host), "[%s]", a);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&o->local)->sin_addr, a, sizeof(a));
		snprintf(o->host, sizeof(o->host), "%s", a);
	}
	if (!o->ruri) {
		snprintf(o->ruri_buf, sizeof(o->ruri_buf), "sip:%s", o->target_text);
		o->ruri = o->ruri_buf;
	}
	/* a scenario that names its method sends it whatever --method says */
	o->method = o->scen->method ? o->scen->method : method ? method : "OPTIONS";
	if (!o->domain) {
		/* HOST of HOST:PORT, "[v6]" kept whole */
		const char *hend = o->target_text[0] == '[' ? strchr(o->target_text, ']')
							    : strrchr(o->target_text, ':');
		size_t hl = hend ? (size_t)(hend - o->target_text) + (o->target_text[0] == '[')
				 : strlen(o->target_text);
		if (hl >= sizeof(o->domain_buf))
			hl = sizeof(o->domain_buf) - 1;
		memcpy(o->domain_buf, o->target_text, hl);
		o->domain_buf[hl] = 0;
		o->domain = o->domain_buf;
	}
	if (o->t2_ms < o->t1_ms)
		o->t2_ms = o->t1_ms;
	if (!o->timeout_ms)
		o->timeout_ms = 64 * o->t1_ms;
	if (!o->count && o->duration_s == 0)
		o->duration_s = 10;
	if (o->count && o->count < o->threads)
		o->threads = (unsigned)o->count;
	bool users = o->scen->flags & LOAD_SCEN_USERS;
	if (users && o->users < o->threads)
		o->threads = o->users; /* every thread has a user */
	if (!o->slots) {
		/* room for every transaction that can be open: a window, or a rate
		 * times the timeout (lost ones hold their slot until then) */
		double per = o->rate > 0 ? o->rate / o->threads * (o->timeout_ms / 1000.0 + 1)
					 : 2.0 * o->window;
		if (per < 4.0 * o->window)
			per = 4.0 * o->window;
		if (o->count && per > (double)o->count / o->threads + 1)
			per = (double)o->count / o->threads + 1;
		if (per > LOAD_SLOTS_MAX)
			per = LOAD_SLOTS_MAX;
		o->slots = (unsigned)per;
	}
	/* a user has one chain open at most: no more slots than users */
	if (users && o->slots > (o->users + o->threads - 1) / o->threads)
		o->slots = (o->users + o->threads - 1) / o->threads;
	if (o->rate == 0 && o->window > o->slots)
		o->window = o->slots;
	snprintf(o->run_tag, sizeof(o->run_tag), "%08x",
		 (unsigned)(clock_ns() ^ ((uint64_t)getpid() << 16)));
	return 0;
}

/* ---- the report ---- */

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void report_text(FILE *f, const struct load_opts *o, const struct load_stats *s,
			double window_s, double elapsed_s)
{
	const struct load_hist *h = &s->hist;
	fprintf(f, "sipring-load: %s %s (%s), %u thread%s x %u sockets, ", o->target_text,
		o->scen->name, o->method, o->threads, o->threads > 1 ? "s" : "", o->sockets);
	if (o->rate > 0)
		fprintf(f, "rate %.0f/s", o->rate);
	else
		fprintf(f, "rate max (window %u per thread)", o->window);
	fprintf(f, "%s%s\n", o->retransmit ? ", retransmit" : "", o->echo ? ", echo" : "");
	fprintf(f,
		"  sent         %" PRIu64 " (retransmissions %" PRIu64 ", send errors %" PRIu64
		")\n",
		s->sent, s->retrans, s->send_errors);
	fprintf(f, "  answered     %" PRIu64, s->answered);
	const char *sep = " (";
	for (unsigned c = 0; c < LOAD_CODES; c++)
		if (s->codes[c]) {
			if (c == 0)
				fprintf(f, "%secho: %" PRIu64, sep, s->codes[c]);
			else
				fprintf(f, "%s%u: %" PRIu64, sep, c, s->codes[c]);
			sep = ", ";
		}
	fprintf(f, "%s\n", *sep == ',' ? ")" : "");
	if (o->scen->steps > 1 || o->scen->flags & LOAD_SCEN_USERS)
		fprintf(f,
			"  completed    %" PRIu64 " (failed %" PRIu64 ", challenges %" PRIu64
			", credentials not computed %" PRIu64 ", user waits %" PRIu64 ")\n",
			s->completed, s->failed, s->challenges, s->auth_errors, s->user_waits);
	fprintf(f, "  lost         %" PRIu64 "\n", s->lost);
	fprintf(f, "  duplicates   %" PRIu64 "\n", s->duplicates);
	fprintf(f, "  unexpected   %" PRIu64 "\n", s->unexpected);
	if (s->provisional || s->truncated || s->recv_errors || s->rx_nobufs || s->slot_waits)
		fprintf(f,
			"  other        provisional %" PRIu64 ", truncated %" PRIu64
			", recv errors %" PRIu64 ", rx out of buffers %" PRIu64
			", slot waits %" PRIu64 "\n",
			s->provisional, s->truncated, s->recv_errors, s->rx_nobufs, s->slot_waits);
	fprintf(f,
		"  send window  %.3f s: offered %.0f/s, answered %.0f/s, completed %.0f/s "
		"(elapsed %.3f s)\n",
		window_s, window_s > 0 ? (double)s->sent / window_s : 0,
		window_s > 0 ? (double)s->answered / window_s : 0,
		window_s > 0 ? (double)s->completed / window_s : 0, elapsed_s);
	fprintf(f,
		"  latency us   p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (mean %.1f)\n",
		us(load_hist_percentile(h, 50)), us(load_hist_percentile(h, 90)),
		us(load_hist_percentile(h, 99)), us(load_hist_percentile(h, 99.9)), us(h->max),
		h->count ? us(h->sum / h->count) : 0.0);
}

static void report_json(FILE *f, const struct load_opts *o, const struct load_stats *s,
			double window_s, double elapsed_s)
{
	const struct load_hist *h = &s->hist;
	fprintf(f,
		"{\"target\":\"%s\",\"scenario\":\"%s\",\"method\":\"%s\",\"threads\":%u,"
		"\"sockets\":%u,\"rate\":%.0f,\"window\":%u,\"retransmit\":%s,\"echo_mode\":%s,",
		o->target_text, o->scen->name, o->method, o->threads, o->sockets, o->rate,
		o->window, o->retransmit ? "true" : "false", o->echo ? "true" : "false");
	fprintf(f,
		"\"sent\":%" PRIu64 ",\"retransmissions\":%" PRIu64 ",\"send_errors\":%" PRIu64
		",\"answered\":%" PRIu64 ",\"codes\":{",
		s->sent, s->retrans, s->send_errors, s->answered);
	const char *sep = "";
	for (unsigned c = 0; c < LOAD_CODES; c++)
		if (s->codes[c]) {
			if (c == 0)
				fprintf(f, "%s\"echo\":%" PRIu64, sep, s->codes[c]);
			else
				fprintf(f, "%s\"%u\":%" PRIu64, sep, c, s->codes[c]);
			sep = ",";
		}
	fprintf(f,
		"},\"provisional\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"duplicates\":%" PRIu64
		",\"unexpected\":%" PRIu64 ",\"truncated\":%" PRIu64 ",\"recv_errors\":%" PRIu64
		",\"rx_nobufs\":%" PRIu64 ",\"slot_waits\":%" PRIu64 ",",
		s->provisional, s->lost, s->duplicates, s->unexpected, s->truncated, s->recv_errors,
		s->rx_nobufs, s->slot_waits);
	fprintf(f,
		"\"completed\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"challenges\":%" PRIu64
		",\"auth_errors\":%" PRIu64 ",\"user_waits\":%" PRIu64 ",\"users\":%" PRIu32 ",",
		s->completed, s->failed, s->challenges, s->auth_errors, s->user_waits,
		o->scen->flags & LOAD_SCEN_USERS ? o->users : 0);
	fprintf(f,
		"\"send_window_s\":%.6f,\"elapsed_s\":%.6f,\"offered_per_s\":%.1f,"
		"\"answered_per_s\":%.1f,\"completed_per_s\":%.1f,",
		window_s, elapsed_s, window_s > 0 ? (double)s->sent / window_s : 0,
		window_s > 0 ? (double)s->answered / window_s : 0,
		window_s > 0 ? (double)s->completed / window_s : 0);
	fprintf(f,
		"\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p99_9\":%.1f,"
		"\"max\":%.1f,\"mean\":%.1f}}\n",
		us(load_hist_percentile(h, 50)), us(load_hist_percentile(h, 90)),
		us(load_hist_percentile(h, 99)), us(load_hist_percentile(h, 99.9)), us(h->max),
		h->count ? us(h->sum / h->count) : 0.0);
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&load_stop, 1);
}

int main(int argc, char **argv)
{
	static struct load_opts opts; /* large: the CPU list */
	struct load_opts *o = &opts;
	if (parse_opts(argc, argv, o) < 0)
		return 2;

	char why[256];
	int ret = uring_check(why, sizeof(why));
	if (ret < 0) {
		fprintf(stderr, "sipring-load: %s\n", why);
		return 77;
	}

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct load_run run = { .o = o };
	struct load_thread *ts = calloc(o->threads, sizeof(*ts));
	if (!ts)
		return 3;
	pthread_barrier_init(&run.ready, NULL, o->threads + 1);
	pthread_barrier_init(&run.go, NULL, o->threads + 1);
	for (unsigned i = 0; i < o->threads; i++) {
		struct load_thread *t = &ts[i];
		t->run = &run;
		t->o = o;
		t->id = i;
		t->nslots = o->slots;
		t->quota = UINT64_MAX;
		if (o->count)
			t->quota = o->count / o->threads + (i < o->count % o->threads);
		t->rate = o->rate / o->threads;
		t->gen_base = (uint32_t)(clock_ns() * 2654435761u) ^ (uint32_t)getpid() << 8;
		if (t->rate > 0) {
			/* wake up every --burst requests, 50 us .. 1 ms */
			double tick = 1e9 * o->burst / t->rate;
			t->tick_ns = (uint64_t)(tick < 50000 ? 50000 : tick > 1e6 ? 1e6 : tick);
		}
		if ((ret = pthread_create(&t->tid, NULL, thread_main, t)) != 0) {
			fprintf(stderr, "sipring-load: pthread_create: %s\n", strerror(ret));
			return 3;
		}
	}
	pthread_barrier_wait(&run.ready);
	run.t0 = clock_ns();
	pthread_barrier_wait(&run.go);

	static struct load_stats sums; /* large: the histogram */
	struct load_stats *sum = &sums;
	load_hist_init(&sum->hist);
	uint64_t window_ns = 0, elapsed_ns = 0;
	int status = 0;
	for (unsigned i = 0; i < o->threads; i++) {
		struct load_thread *t = &ts[i];
		pthread_join(t->tid, NULL);
		if (t->err) {
			fprintf(stderr, "sipring-load: %s\n", t->why);
			status = 3;
		}
		const struct load_stats *s = &t->st;
		sum->sent += s->sent;
		sum->retrans += s->retrans;
		sum->send_errors += s->send_errors;
		sum->answered += s->answered;
		sum->completed += s->completed;
		sum->failed += s->failed;
		sum->challenges += s->challenges;
		sum->auth_errors += s->auth_errors;
		sum->user_waits += s->user_waits;
		sum->provisional += s->provisional;
		sum->lost += s->lost;
		sum->duplicates += s->duplicates;
		sum->unexpected += s->unexpected;
		sum->truncated += s->truncated;
		sum->recv_errors += s->recv_errors;
		sum->rx_nobufs += s->rx_nobufs;
		sum->slot_waits += s->slot_waits;
		for (unsigned c = 0; c < LOAD_CODES; c++)
			sum->codes[c] += s->codes[c];
		load_hist_merge(&sum->hist, &s->hist);
		if (s->last_start_ns > window_ns)
			window_ns = s->last_start_ns;
		if (s->last_answer_ns > elapsed_ns)
			elapsed_ns = s->last_answer_ns;
	}
	if (status) {
		free(ts);
		return status;
	}
	/* at a rate, the window runs to the end of the last pacing interval */
	if (o->rate > 0 && sum->sent)
		window_ns += (uint64_t)(1e9 * o->threads / o->rate);
	double window_s = (double)window_ns / 1e9, elapsed_s = (double)elapsed_ns / 1e9;
	report_text(o->json ? stderr : stdout, o, sum, window_s, elapsed_s);
	if (o->json)
		report_json(stdout, o, sum, window_s, elapsed_s);
	status = sum->lost || sum->failed ? 1 : 0;
	pthread_barrier_destroy(&run.ready);
	pthread_barrier_destroy(&run.go);
	free(ts);
	return status;
}
