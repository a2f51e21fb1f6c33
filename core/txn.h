/* SPDX-License-Identifier: MIT */
/*
 * txn.h: the RFC 3261 §17 transaction layer, one table per worker.
 *
 * A `struct txn_table` belongs to one worker and is passed first to every call:
 * no lock, no global state. It holds a fixed slab of transactions (sized at
 * init; full means -ENOBUFS, the caller's back-pressure), a hash table that
 * matches incoming messages to them (RFC 3261 §17.1.3, §17.2.3, with the RFC
 * 2543 fallback for requests without the magic cookie), and their timers in
 * the worker's timer wheel (core/timer.h), which the worker advances.
 *
 *   four machines (docs/transactions.md has the table of states and timers):
 *   client INVITE      Calling ─1xx─► Proceeding ─300-699─► Completed ─D─► end
 *                         └──────────────2xx──────────────► Accepted ─M─► end
 *   client non-INVITE  Trying ─1xx─► Proceeding ─200-699─► Completed ─K─► end
 *   server INVITE      Proceeding ─300-699─► Completed ─ACK─► Confirmed ─I─► end
 *                         └─2xx─► end                 └─H─► end (timeout)
 *   server non-INVITE  Trying ─1xx─► Proceeding ─200-699─► Completed ─J─► end
 *
 * Ownership:
 *   - Messages given to the input functions are views into the caller's
 *     receive buffer; they are read during the call and never kept.
 *   - What a transaction must retransmit is copied once, at the transaction
 *     boundary, into one allocation per transaction that also holds its
 *     matching key: the request (client; replaced by the ACK it builds after a
 *     300-699), the last response (server).
 *   - The destination is a small `struct txn_dest` copied into the transaction:
 *     the caller's send callback reads it back and knows where to send.
 *   - A `struct txn *` given to the TU is valid until the `terminated` callback
 *     for it returns; a reference kept longer is a `txn_id()` (slot +
 *     generation) checked with txn_get(), which returns NULL once the slot was
 *     freed or reused. Timers carry the generation too: a stale one is dropped.
 *
 * Callbacks (`struct txn_ops`) run synchronously from the calls below and from
 * timer_wheel_advance(). From a callback the TU may call txn_server_respond(),
 * txn_client_start() and txn_terminate(); after `terminated` returns the
 * transaction is gone. Every transaction that was created gets exactly one
 * `terminated` call (txn_table_fini() excepted).
 *
 * Thread-safety: none; a table, its wheel and its transactions belong to one
 * worker thread.
 */
#ifndef SIPRING_TXN_H
#define SIPRING_TXN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/timer.h"
#include "parsers/sip_msg-t.h"
#include "parsers/sv.h"

struct txn;

/* The RFC 3261 §17 timer base values, in ms (core/conf.h: t1_ms, ...). */
struct txn_timers {
	uint32_t t1;	  /* RTT estimate, 500: A, E, G start at T1; H, J, M = 64*T1 */
	uint32_t t2;	  /* 4000: cap of E and G */
	uint32_t t4;	  /* 5000: I, K (unreliable transports) */
	uint32_t timer_b; /* INVITE client timeout, 64*T1 */
	uint32_t timer_f; /* non-INVITE client timeout, 64*T1 */
};

/* Timer D over unreliable transports: "at least 32 seconds" (§17.1.1.2). */
#define TXN_TIMER_D_MS 32000u

/*
 * Where a transaction's messages go, copied into the transaction. The fields
 * are the caller's: sipring's worker puts the peer address, the index of the
 * worker socket (a listen socket's share or the private port) and, for a
 * stream, the connection's id; the transaction layer only hands it back.
 */
struct txn_dest {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} addr;
	uint64_t conn;	   /* stream connection id (slot + generation), 0 for datagrams */
	uint16_t sock;	   /* index of the worker's socket */
	uint8_t transport; /* the caller's transport id */
};

/*
 * What the transaction layer calls. `arg` is the one given to
 * txn_table_init(). Every callback is required (none may be NULL).
 */
struct txn_ops {
	/* Send buf[0..len) to dest. Returns >= 0, or a negative errno: the
	 * transaction then reports transport_error and terminates (§17.1.4,
	 * §17.2.4). buf is valid during the call only. */
	int (*send)(void *arg, struct txn *t, const struct txn_dest *dest, const char *buf,
		    size_t len);
	/* A new server transaction: m is the request (views valid during the
	 * call). The TU answers now or later with txn_server_respond(). */
	void (*deliver_request)(void *arg, struct txn *t, const struct sip_msg *m);
	/* A response for a client transaction: provisional, final, and for an
	 * INVITE every 2xx (retransmissions included) until Timer M. */
	void (*deliver_response)(void *arg, struct txn *t, const struct sip_msg *m);
	/* Timer B or F (client: act as on a 408) or H (server: no ACK came). */
	void (*timeout)(void *arg, struct txn *t);
	/* send returned an error. */
	void (*transport_error)(void *arg, struct txn *t);
	/* The transaction is being freed: drop every pointer to it. */
	void (*terminated)(void *arg, struct txn *t);
};

/* Counters, written by the owning worker only. */
struct txn_stats {
	uint64_t active;	   /* gauge: transactions in the table */
	uint64_t created;	   /* server and client transactions created */
	uint64_t retransmissions;  /* messages sent again (timers, absorbed requests, ACKs) */
	uint64_t absorbed;	   /* retransmitted requests/responses handled here */
	uint64_t timeouts;	   /* Timer B, F, H */
	uint64_t transport_errors; /* send failures */
	uint64_t full;		   /* refused: the table was full */
	uint64_t stale_timers;	   /* timers dropped for a generation mismatch */
};

/*
 * The table, embedded in the worker. Fields are the module's; read `stats`.
 * Must not be moved after txn_table_init() while transactions are pending.
 */
struct txn_table {
	struct txn *slab;  /* cap transactions */
	uint32_t *buckets; /* heads of hash chains: slab index or UINT32_MAX */
	uint32_t mask;	   /* buckets - 1 */
	uint32_t cap;
	uint32_t free_head; /* free list through txn.next */
	uint32_t fresh;	    /* slots [fresh, cap) never used (calloc'd zeros) */
	uint32_t seed;	    /* hash seed (getrandom at init) */
	struct txn_timers tm;
	struct txn_ops ops;
	void *arg;
	struct timer_wheel *wheel;
	struct txn_stats stats;
};

/* States. */
enum txn_state {
	TXN_TRYING = 1, /* non-INVITE, client and server */
	TXN_CALLING,	/* INVITE client */
	TXN_PROCEEDING,
	TXN_COMPLETED,
	TXN_CONFIRMED, /* INVITE server: the ACK came */
	TXN_ACCEPTED,  /* INVITE client after a 2xx (RFC 6026): 2xx retransmissions go up */
};

/* What txn_server_input() and txn_client_input() did with a message. */
enum txn_input {
	TXN_ABSORBED = 0, /* a retransmission, handled here (last response or ACK resent) */
	TXN_NEW,	  /* a new server transaction; deliver_request was called */
	TXN_ACK_2XX,	  /* an ACK that matches no transaction: end-to-end, the caller's */
	TXN_CANCEL,	  /* a new CANCEL transaction that matched an INVITE server
			   * transaction; deliver_request was called, txn_cancel_target()
			   * gives the INVITE */
	TXN_DELIVERED,	  /* a response went to deliver_response */
};

/*
 * Prepare tab for up to cap (1..2^31) transactions, timers on wheel (which must
 * outlive the table), calling ops with arg. Copies *timers and *ops.
 * Returns 0, -EINVAL (cap, a zero timer, a NULL callback) or -ENOMEM.
 */
int txn_table_init(struct txn_table *tab, uint32_t cap, const struct txn_timers *timers,
		   const struct txn_ops *ops, void *arg, struct timer_wheel *wheel);

/* End every transaction now, each with its `terminated` callback (the TU frees
 * what it kept with them); the table stays usable. */
void txn_table_end_all(struct txn_table *tab);

/* Free every transaction (their timers deleted, no callback) and the table. */
void txn_table_fini(struct txn_table *tab);

/*
 * A request received (m parsed by sip_msg_parse(), of type request), from dest,
 * over a reliable transport or not. Matches it per §17.2.3 (RFC 2543 rules
 * when the top Via has no branch starting with the magic cookie, or only the
 * cookie), then:
 *   - a retransmission: resends the last response if any; TXN_ABSORBED;
 *   - an ACK for a 300-699 of an INVITE transaction: Confirmed; TXN_ABSORBED;
 *   - an ACK matching nothing (an ACK for a 2xx): TXN_ACK_2XX, nothing done;
 *   - otherwise a new transaction: an INVITE gets "100 Trying" at once
 *     (§17.2.1, kept as the last response), then deliver_request; TXN_NEW, or
 *     TXN_CANCEL for a CANCEL that matches an INVITE server transaction.
 * Errors: -EINVAL (not a request), -EBADMSG (no or bad top Via or CSeq, From,
 * To), -ENOBUFS (table full), -ENOMEM, -EMSGSIZE (a key over 64 KiB).
 */
int txn_server_input(struct txn_table *tab, const struct sip_msg *m, const struct txn_dest *dest,
		     bool reliable);

/*
 * The TU answers server transaction t with the response buf[0..len) (built
 * with sip_build_response() and flattened, or any bytes starting
 * "SIP/2.0 NNN"). The transaction copies what it must retransmit, sends it
 * and moves: 1xx stays (Proceeding); INVITE 2xx ends the transaction at once
 * (terminated is called before this returns); INVITE 300-699 goes to
 * Completed (Timers G, H); non-INVITE 200-699 to Completed (Timer J).
 * Returns 0; -EINVAL when t is not a server transaction that can still answer
 * (a final response was sent) or buf is not a response; -ENOMEM; or the send
 * error (the transaction has then reported transport_error and terminated).
 */
int txn_server_respond(struct txn_table *tab, struct txn *t, const char *buf, size_t len);

/* The INVITE server transaction that CANCEL server transaction t matched when
 * it was created, if it still exists; else NULL. */
struct txn *txn_cancel_target(struct txn_table *tab, const struct txn *t);

/*
 * Start a client transaction for the request req[0..len) (copied) with the
 * given method and top Via branch (which must be the one in req, from
 * txn_branch_make()), sent at once to dest. Starts Timers A and B (INVITE) or E
 * and F; A and E not over a reliable transport. On success *out (if not NULL)
 * is the transaction. Returns 0, -EINVAL (empty branch or request, method
 * ACK), -EEXIST (that branch and method are in use), -ENOBUFS (full), -ENOMEM,
 * or the send error (nothing kept, no callback).
 */
int txn_client_start(struct txn_table *tab, const char *req, size_t len, enum sip_method method,
		     struct sv branch, const struct txn_dest *dest, bool reliable,
		     struct txn **out);

/*
 * A response received (parsed, of type response). Matched by the top Via's
 * branch and the CSeq method (§17.1.3). Returns TXN_DELIVERED (deliver_response
 * was called), TXN_ABSORBED (a retransmission of a final response; for an
 * INVITE the ACK is resent), -ENOENT (no transaction: the caller drops it or
 * hands it to the worker its branch names), -EINVAL (not a response), -EBADMSG
 * (no or bad top Via or CSeq), -ENOMEM (the ACK could not be kept).
 */
int txn_client_input(struct txn_table *tab, const struct sip_msg *resp);

/* End t now, whatever its state (the TU gives up): timers stopped,
 * terminated called, t freed. */
void txn_terminate(struct txn_table *tab, struct txn *t);

/*
 * Write sipring's branch "z9hG4bKsr<worker>.<counter in hex>" into buf (NUL
 * terminated). The worker id is what the hand-over reads; the counter must be
 * unique per worker and boot (the daemon starts it from a random value).
 * Returns the length, or -ENOBUFS when cap is too small (48 is always enough).
 */
int txn_branch_make(unsigned worker, uint64_t counter, char *buf, size_t cap);

/* The worker id a sipring branch names, or -ENOENT when it is not one of ours. */
int txn_branch_worker(struct sv branch);

/* ---- reading a transaction ---- */

/* Slot and generation: stays unique for the table's life (modulo 2^32 reuses). */
uint64_t txn_id(const struct txn *t);
/* The transaction with that id, or NULL when it ended (its slot freed or reused). */
struct txn *txn_get(struct txn_table *tab, uint64_t id);
enum txn_state txn_state(const struct txn *t);
enum sip_method txn_method(const struct txn *t);
bool txn_is_server(const struct txn *t);
bool txn_is_reliable(const struct txn *t);
/* Status of the last response sent (server) or received (client); 0: none. */
uint16_t txn_status(const struct txn *t);
const struct txn_dest *txn_dest(const struct txn *t);
/* The kept message: the request or the ACK (client), the last response (server,
 * NULL before the first). Valid until the transaction changes state. */
const char *txn_message(const struct txn *t, size_t *len);
/* A pointer the TU keeps with the transaction. */
void *txn_user(const struct txn *t);
void txn_set_user(struct txn *t, void *user);

#endif
