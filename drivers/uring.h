/* SPDX-License-Identifier: MIT */
/*
 * uring.h: the io_uring I/O of one worker: UDP and TCP sockets, receive, send.
 *
 * One `struct uio` per worker thread, created on that thread (the ring is
 * single-issuer) and used only there. It receives with multishot operations
 * into a provided-buffer ring (bufring.h) and hands each datagram, or each
 * run of stream octets, to the worker's callbacks (struct uio_ops); what the
 * worker sends is copied once into a send slot and queued; everything queued is
 * submitted in one system call at the next uio_wait(). TCP connections are
 * accepted on listeners (uio_add_listener) or opened by the worker
 * (uio_connect); both kinds share the slot table and its limit.
 *
 *   uio_wait(): submit queued SQEs ─► wait (timeout) ─► for each completion:
 *     UDP_RX   datagram in buffer bid ─► ops->udp(...) ─► buffer recycled
 *     ACCEPT   new fd ─► connection slot, multishot recv armed ─► ops->tcp_open
 *     CONNECT  (a uio_connect() done) 0 ─► multishot recv armed ─► ops->tcp_open
 *              ─► the sends queued while connecting start, in order;
 *              -errno ─► queued sends dropped ─► ops->tcp_close(-errno), no
 *              tcp_open (-ECANCELED, the link timeout fired: -ETIMEDOUT)
 *     CONNECT_TIMEOUT   the IORING_OP_LINK_TIMEOUT linked to a connect
 *              (connect_timeout_ms): ignored, the CONNECT completion decides
 *     TCP_RX   chunk in buffer bid ─► appended to what the connection had
 *              left ─► ops->tcp(data, len) returns what it consumed; the
 *              remainder is kept in the connection's buffer (<= tcp_max_buffer)
 *     UDP_TX / TCP_TX   send done: slot freed (TCP: partial sends resumed,
 *              the next queued send started: one send in flight per connection,
 *              so the stream keeps its order)
 *     WAKE     the worker's eventfd was written ─► ops->wake
 *
 * Completions carry operation, slot and generation in user_data (style rule
 * 10): a late completion for a connection slot that was freed and reused is
 * recognised by its generation and ignored.
 *
 * Connections close in two steps: uio_close() shuts the socket's read side
 * down, which ends the armed receive, and its write side once what was queued
 * has been sent; when no operation of the connection is in flight any more the
 * fd is closed, ops->tcp_close is called and the slot is reused. A peer that
 * closes, or a send error, aborts: what is still queued is dropped.
 *
 * An outgoing connection (uio_connect) goes through one more state first:
 *
 *   uio_connect ─► CONNECTING ──connect 0──► OPEN (as an accepted one) ─► ...
 *                  │ sends queue,   ├─connect -errno / timeout─► released:
 *                  │ none in flight │    queue dropped, tcp_close(-errno)
 *                  │                └─uio_close()─► connect cancelled ─►
 *                  │                     released: queue dropped, tcp_close(0)
 *
 * Each connection gets exactly one ops->tcp_close. ops->tcp_open comes before
 * it only when the connection opened; c->connecting is still true in a
 * tcp_close that had no tcp_open before it.
 *
 * Errors are negative errno. -ENOBUFS from a send means no send slot or no
 * room in the submission queue: the caller counts a drop (back-pressure).
 */
#ifndef SIPRING_URING_H
#define SIPRING_URING_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "bufring.h"

struct uio_conn {
	struct sockaddr_storage peer; /* the remote end */
	socklen_t peerlen;
	uint32_t idx; /* slot, 0..max_conns-1: index for the worker's own per-connection state */
	uint32_t gen; /* bumped at each reuse of the slot */
	unsigned listener; /* index of the listener that accepted it; ~0u when outgoing */
	int fd;
	bool outgoing;	 /* opened by uio_connect() */
	bool connecting; /* outgoing, connect not completed: sends queue, none in flight */
	/* driver state (open: the slot is in use, connecting or not) */
	bool open, closing, recv_armed;
	bool aborted;	   /* closing on an error: queued sends are dropped */
	unsigned inflight; /* operations in flight (recv, send, connect) */
	char *in;	   /* octets received and not yet consumed */
	uint32_t inlen, incap;
	struct uio_tx *txq_head, *txq_tail; /* queued sends; the head is in flight */
	/* The connect timeout. The kernel copies it when the linked timeout is
	 * submitted; kept here so that it outlives uio_connect() until then. */
	struct __kernel_timespec connect_ts;
};

/* What a worker does with what arrives. Every pointer is valid for the call only. */
struct uio_ops {
	/* A datagram on UDP socket `sock` (its index from uio_add_udp()). trunc: it
	 * was larger than a receive buffer, and data holds only its head. */
	void (*udp)(void *arg, unsigned sock, const struct sockaddr *from, socklen_t fromlen,
		    char *data, size_t len, bool trunc);
	/* Octets of connection c not yet consumed, in order. Returns how many it
	 * consumed (0..len; the rest is kept and given again with what follows), or
	 * -1 to close the connection. */
	ssize_t (*tcp)(void *arg, struct uio_conn *c, char *data, size_t len);
	/* A connection was accepted, or an outgoing one is connected (may be
	 * NULL). Called once per connection, before any tcp callback. */
	void (*tcp_open)(void *arg, struct uio_conn *c);
	/* A connection is gone (may be NULL); called exactly once per connection,
	 * the slot is reused after it. reason:
	 *   0       closed in order: uio_close() (also of a connection still
	 *           connecting: the connect is abandoned), or the peer's end of
	 *           stream;
	 *   -errno  an error: a receive or send error (-ECONNRESET, -EPIPE...), or
	 *           an outgoing connect that failed (-ECONNREFUSED, -ENETUNREACH,
	 *           -EHOSTUNREACH...) or timed out (-ETIMEDOUT: the kernel's SYN
	 *           retries or connect_timeout_ms).
	 * When c->connecting is still true, tcp_open was never called for c. */
	void (*tcp_close)(void *arg, struct uio_conn *c, int reason);
	/* The wake fd was written (may be NULL). */
	void (*wake)(void *arg);
};

struct uio_params {
	unsigned ring_entries;	 /* SQ size (a power of two) */
	unsigned rx_buffers;	 /* provided buffers (a power of two) */
	uint32_t rx_buffer_size; /* octets each */
	unsigned tx_slots;	 /* sends in flight or queued, at most */
	unsigned max_conns;	 /* TCP connections, at most (more are refused) */
	uint32_t tcp_max_buffer; /* unconsumed octets kept per connection, at most */
	int wake_fd;		 /* an eventfd to watch, or -1 */
	/* uio_connect(): give up after this many ms; 0: no limit but the
	 * kernel's own (its SYN retries, about 2 minutes). */
	unsigned connect_timeout_ms;
};

/* Counters the driver keeps (the worker turns them into its stats). */
struct uio_counters {
	uint64_t rx_nobufs;	       /* receives re-armed after the buffer ring ran dry */
	uint64_t tx_nobufs;	       /* sends refused: no slot / no SQE */
	uint64_t tx_errors;	       /* sends the kernel failed */
	uint64_t tcp_refused;	       /* connections over max_conns, closed at once */
	uint64_t tcp_overflow;	       /* connections closed: more than tcp_max_buffer unconsumed */
	uint64_t accept_errors;	       /* accept failed (EMFILE, ...): retried at the next tick */
	uint64_t tcp_connects;	       /* connects started (uio_connect() returned a connection) */
	uint64_t tcp_connect_failures; /* of those, failed or timed out (not uio_close()d) */
};

#define UIO_MAX_SOCKS 64

struct uio {
	struct io_uring ring;
	struct bufring br;
	const struct uio_ops *ops;
	void *arg;
	struct uio_params p;
	unsigned setup_flags; /* IORING_SETUP_* actually used */

	int udp_fd[UIO_MAX_SOCKS];
	unsigned nudp;
	int lst_fd[UIO_MAX_SOCKS];
	bool lst_armed[UIO_MAX_SOCKS];
	bool lst_retry[UIO_MAX_SOCKS]; /* accept failed: re-arm at the next uio_tick() */
	unsigned nlst;
	struct msghdr rx_msg; /* the template of the multishot recvmsg */

	struct uio_tx *tx; /* tx_slots send slots */
	struct uio_tx *tx_free;
	unsigned tx_used;

	struct uio_conn *conns; /* max_conns slots */
	uint32_t *conn_free;	/* stack of free slot indices */
	unsigned nconn_free;
	unsigned nconns; /* open */

	uint64_t wake_buf;
	bool wake_armed;
	struct uio_counters cnt;
};

/* Set up the ring (single-issuer, deferred task-run when the kernel has them),
 * the buffer ring and the slots. Call on the worker thread. Returns 0 or -errno. */
int uio_init(struct uio *io, const struct uio_params *p, const struct uio_ops *ops, void *arg);

/* Close everything (connections, sockets added) and free. */
void uio_fini(struct uio *io);

/* Receive datagrams on a bound UDP socket (the uio closes it at uio_fini).
 * Returns its index, or -errno. */
int uio_add_udp(struct uio *io, int fd);

/* Accept connections on a listening TCP socket. Returns its index, or -errno. */
int uio_add_listener(struct uio *io, int fd);

/* Re-arm the accepts that failed (call it every so often, e.g. each 100 ms:
 * an accept error such as EMFILE is then retried at that pace, not in a spin). */
void uio_tick(struct uio *io);

/* Stop accepting: cancel the accepts and close the listening sockets.
 * Connections, accepted or outgoing, are left as they are. */
void uio_stop_listeners(struct uio *io);

/* Open a TCP connection to `to` (AF_INET or AF_INET6): a non-blocking socket
 * (TCP_NODELAY) takes a connection slot, c->peer is `to`, c->outgoing and
 * c->connecting are set, and the connect is queued (submitted at the next
 * uio_wait(), timed out after p.connect_timeout_ms when that is not 0).
 * uio_send_tcp() may be called at once: the octets are sent, in order, once the
 * connect completes. The outcome comes as a callback, never from this call:
 * ops->tcp_open on success, or ops->tcp_close(-errno) on failure (see
 * struct uio_ops). Returns the connection, or NULL with *err set: -ENOBUFS (no
 * free slot, max_conns reached, or no room in the submission queue), -EINVAL
 * (tolen), or socket()'s -errno (-EMFILE, -EAFNOSUPPORT...); nothing is
 * called back then. */
struct uio_conn *uio_connect(struct uio *io, const struct sockaddr *to, socklen_t tolen, int *err);

/* Queue a datagram from UDP socket `sock` to `to`: the iovecs are copied.
 * Returns 0, -ENOBUFS, or -EMSGSIZE (over 65507 octets). */
int uio_send_udp(struct uio *io, unsigned sock, const struct sockaddr *to, socklen_t tolen,
		 const struct iovec *iov, unsigned n);

/* Queue octets on connection c (copied), after what is queued already; on a
 * connection still connecting they wait for the connect (and are dropped if it
 * fails). Returns 0, -ENOBUFS, or -EPIPE when c is closing. */
int uio_send_tcp(struct uio *io, struct uio_conn *c, const struct iovec *iov, unsigned n);

/* Close connection c (see the top of this file). Safe to call twice. A
 * connection still connecting is abandoned: the connect is cancelled, what was
 * queued is dropped, and tcp_close (reason 0) comes from a later uio_wait(). */
void uio_close(struct uio *io, struct uio_conn *c);

/* The connection in slot idx if its generation is gen, else NULL (a connection
 * still connecting is returned: sends to it queue). */
struct uio_conn *uio_conn_get(struct uio *io, uint32_t idx, uint32_t gen);

/* Submit what is queued, wait up to timeout_ms (-1: no limit, 0: do not wait)
 * for a completion, and handle every completion there is. Returns how many
 * were handled, or -errno (-EINTR is not an error: 0 is returned). */
int uio_wait(struct uio *io, int timeout_ms);

/* Sends queued or in flight. */
static inline unsigned uio_tx_pending(const struct uio *io)
{
	return io->tx_used;
}

/* Open connections. */
static inline unsigned uio_nconns(const struct uio *io)
{
	return io->nconns;
}

#endif
