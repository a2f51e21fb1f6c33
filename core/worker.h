/* SPDX-License-Identifier: MIT */
/*
 * worker.h: the daemon's threads and what they share.
 *
 *   main thread = service thread (service.c): configuration, signals, HTTP
 *   management, the trace file; it owns `struct daemon` and publishes
 *   configuration snapshots.
 *
 *   worker 0..N-1 (worker.c), one per core, pinned: each owns an io_uring
 *   (drivers/uring.h) with its SO_REUSEPORT share of every public socket and
 *   its private UDP port(s), a timer wheel, its TCP connections, its counters.
 *
 *   worker i ──ring[i][j]──► worker j    the rare message that belongs to
 *                                        another worker (a response whose
 *                                        branch names j), then j's eventfd
 *   worker i ──trace[i]────► service     trace records (when tracing)
 *   service  ──snap (atomic)─► workers   configuration, read once per loop
 *
 * Snapshots are RCU-style: the service thread swaps d->snap and frees the old
 * one once every worker's seen_gen has passed it (workers publish the
 * generation they use at the top of each loop; an idle worker is woken by its
 * eventfd so that it passes quickly).
 */
#ifndef SIPRING_WORKER_H
#define SIPRING_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/accounts.h"
#include "core/auth.h"
#include "core/conf.h"
#include "core/registrar.h"
#include "core/stats.h"
#include "core/suspend.h"
#include "core/txn.h"
#include "core/uplink.h"
#include "core/timer.h"
#include "core/trace.h"
#include "drivers/uring.h"
#include "storage/location.h"
#include "storage/ring.h"

#define SIPRING_VERSION "0.1.0"

/* Branches sipring generates start with this, then the worker id, then '.':
 * a response on the wrong worker is handed to the one its branch names. */
#define WORKER_BRANCH_PREFIX "z9hG4bKsr"

/* One of our own addresses (for "is this Request-URI for us"). */
struct snap_addr {
	int family;
	uint8_t ip[16];
};

/* An immutable configuration snapshot, with what is derived from it. */
struct snap {
	struct conf conf;
	uint64_t gen;
	struct trace_filter trace; /* from conf.trace_* */
	bool tracing;		   /* trace file open and mode != off */
	/* From the running sockets (not reloaded): */
	const struct snap_addr *addrs;
	unsigned naddrs;
	const uint16_t *ports;
	unsigned nports;
	/* The registrar's: loaded with the configuration, replaced on reload. */
	struct accounts *accounts; /* accounts.file, NULL when none */
	struct auth_ctx auth;	   /* from auth.*; the nonce key survives reloads */
	/* The uplinks file (uplinks.file), and its contact users for the workers. */
	struct uplink_defs uplinks;
	struct uplink_index *uplink_ix; /* NULL when there are no uplinks */
};

/* What one socket of a worker is. */
struct wsock {
	uint8_t proto;	 /* CONF_UDP / CONF_TCP */
	bool private_;	 /* the worker's own port */
	unsigned listen; /* index in conf.listen */
	uint16_t port;	 /* bound port */
};

/* A message handed to another worker (malloc'd; the receiver frees it). */
struct handover {
	uint16_t sock; /* UDP socket index: same index on every worker */
	socklen_t srclen;
	struct sockaddr_storage src;
	uint32_t len;
	char data[];
};

struct daemon;
struct location_redis;
struct accounts_redis_config;
struct suspend_redis;

struct worker {
	_Alignas(64) struct stats *stats; /* d->stats[id] */
	struct daemon *d;
	unsigned id;
	int cpu; /* pinned to, or -1 */
	pthread_t thread;
	int wake_fd;
	_Atomic uint64_t seen_gen; /* the snapshot generation this worker uses */
	_Atomic uint64_t acc_seen; /* the d->acc_epoch whose accounts this worker uses */
	_Atomic int state;	   /* 0 starting, 1 running, 2 exited, -1 failed */
	int err;		   /* when state is -1 */

	/* sockets created by the main thread, handed to uio at start */
	int fds[UIO_MAX_SOCKS];
	struct wsock socks[UIO_MAX_SOCKS];
	unsigned nsocks;
	int udp_index[UIO_MAX_SOCKS]; /* fds[k] -> uio UDP index, or -1 */
	int lst_index[UIO_MAX_SOCKS];
	uint16_t private_port; /* of the first private UDP socket */

	struct ring trace;	      /* worker -> service: struct trace_rec * */
	struct ring regq;	      /* worker -> service: struct reg_op * (location changes) */
	_Atomic uint64_t reg_applied; /* ops of regq the service has applied (it writes) */
	/* The ops this worker emitted, oldest first, until the service has
	 * applied them: pend[seq & pend_mask] for pend_tail <= seq < pend_head.
	 * The worker owns them (the service applies, the worker frees): a
	 * REGISTER replays the ones not yet applied (read your own writes). */
	struct reg_op **pend;
	uint32_t pend_mask;
	uint64_t pend_head, pend_tail;
	uint64_t pend_from; /* reg_applied when the current REGISTER began */
	struct ring kaq;    /* service -> worker: struct reg_op * (keepalive OPTIONS to send) */
	struct ring upq;    /* service -> worker: struct uplink_req * (REGISTERs to uplinks) */
	struct ring upres;  /* worker -> service: struct uplink_res * (their outcomes) */

	/* worker thread only */
	struct uio io;
	struct snap *snap;
	const struct accounts *acc_redis; /* d->accounts_redis as of acc_seen */
	struct timer_wheel tw;
	struct timer *conn_timers; /* per connection slot: idle timeout */
	uint64_t *conn_hold;	   /* per connection slot: kept open until (ms): a binding */
	uint64_t now_ms;
	bool stopping;
	bool exiting; /* the loop is over: transactions end without reporting */
	uint64_t cpu_ns0, wall_ns0, last_sample_ns;
	uint64_t to_tag_salt;
	int64_t real_ms;      /* CLOCK_REALTIME of this loop pass (registrations) */
	bool kick_service;    /* regq has new entries: wake the service thread */
	const void *cur;      /* the origin of the request being delivered */
	struct txn_table txn; /* server transactions (REGISTER) */
	struct auth_nc nc;    /* digest nonce-counts seen by this worker */
	struct reg_reply rr;  /* the registrar's answer being built */
	uint64_t branch_ctr;  /* of the branches of requests we send */
	/* Outgoing TCP connections to uplinks, by destination (few: linear). */
	struct upconn {
		struct sockaddr_storage to;
		uint64_t conn; /* conn_id(), 0 = free entry */
	} * upconn;
	unsigned nupconn;
	/* Results that did not fit in upres (the service thread was behind), oldest first. */
	struct uplink_res **upres_wait;
	unsigned nupres_wait;
};

struct daemon {
	_Atomic(struct snap *) snap;
	unsigned nworkers;
	struct worker *workers;
	struct stats *stats;   /* nworkers, contiguous (the management endpoint reads them) */
	struct ring *handover; /* nworkers * nworkers: [from * n + to], struct handover * */
	struct stats_node node;
	_Atomic int stop;     /* 0 run, 1 draining (refuse new work), 2 leave the loops now */
	struct location *loc; /* registrations: the service thread writes, workers read */
	/* Accounts read from Redis, replaced by the service thread: workers load
	 * it with acc_epoch at the top of their loop and publish acc_seen; the
	 * old table is freed once every worker has passed its epoch. */
	_Atomic(struct accounts *) accounts_redis;
	_Atomic uint64_t acc_epoch;
	struct accounts_redis_config *acc_cfg; /* NULL without redis.* (strings owned) */
	struct suspend_redis *susp_redis;      /* suspensions shared through Redis, or NULL */
	struct suspend susp;		       /* brute-force suspension, shared by the workers */
	int service_fd; /* eventfd: a worker has queued work for the service thread */
	struct location_redis *loc_redis; /* the table written behind to Redis, or NULL */
	uint64_t started_ns;
};

/* The thread body of worker w (pthread_create(..., worker_main, w)). */
void *worker_main(void *w);

/* Wake worker w (its eventfd). Any thread. */
void worker_wake(struct worker *w);

/* Whether the worker has nothing left to send (graceful stop). Any thread (a
 * snapshot). */
bool worker_drained(const struct worker *w);

#endif
