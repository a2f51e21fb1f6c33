/* SPDX-License-Identifier: MIT */
/*
 * uring.h: the io_uring I/O of one worker: UDP and TCP sockets, receive, send.
 *
 * One `struct uio` per worker thread, created on that thread (the ring is
 * single-issuer) and used only there. It receives with multishot operations
 * into a provided-buffer ring (bufring.h) and hands each datagram, or each
 * run of stream octets, to the worker's callbacks (struct uio_ops); what the
 * worker sends is copied once into a send slot and queued; everything queued is
 * submitted in one system call at the next uio_wait().
 *
 *   uio_wait(): submit queued SQEs ─► wait (timeout) ─► for each completion:
 *     UDP_RX   datagram in buffer bid ─► ops->udp(...) ─► buffer recycled
 *     ACCEPT   new fd ─► connection slot, multishot recv armed ─► ops->tcp_open
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
	unsigned listener; /* index of the listener that accepted it */
	int fd;
	/* driver state */
	bool open, closing, recv_armed;
	bool aborted;	   /* closing on an error: queued sends are dropped */
	unsigned inflight; /* operations in flight (recv, send) */
	char *in;	   /* octets received and not yet consumed */
	uint32_t inlen, incap;
	struct uio_tx *txq_head, *txq_tail; /* queued sends; the head is in flight */
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
	/* A connection was accepted (may be NULL). */
	void (*tcp_open)(void *arg, struct uio_conn *c);
	/* A connection is gone (may be NULL); reason: 0 closed by us, -errno. */
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
};

/* Counters the driver keeps (the worker turns them into its stats). */
struct uio_counters {
	uint64_t rx_nobufs;	/* receives re-armed after the buffer ring ran dry */
	uint64_t tx_nobufs;	/* sends refused: no slot / no SQE */
	uint64_t tx_errors;	/* sends the kernel failed */
	uint64_t tcp_refused;	/* connections over max_conns, closed at once */
	uint64_t tcp_overflow;	/* connections closed: more than tcp_max_buffer unconsumed */
	uint64_t accept_errors; /* accept failed (EMFILE, ...): retried at the next tick */
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

/* Stop accepting: cancel the accepts and close the listening sockets. */
void uio_stop_listeners(struct uio *io);

/* Queue a datagram from UDP socket `sock` to `to`: the iovecs are copied.
 * Returns 0, -ENOBUFS, or -EMSGSIZE (over 65507 octets). */
int uio_send_udp(struct uio *io, unsigned sock, const struct sockaddr *to, socklen_t tolen,
		 const struct iovec *iov, unsigned n);

/* Queue octets on connection c (copied), after what is queued already.
 * Returns 0, -ENOBUFS, or -EPIPE when c is closing. */
int uio_send_tcp(struct uio *io, struct uio_conn *c, const struct iovec *iov, unsigned n);

/* Close connection c (see the top of this file). Safe to call twice. */
void uio_close(struct uio *io, struct uio_conn *c);

/* The connection in slot idx if its generation is gen, else NULL. */
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
