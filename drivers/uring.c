/* SPDX-License-Identifier: MIT */
/*
 * uring.c: the io_uring I/O of one worker (see uring.h for the flow).
 */
#include "uring.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* user_data: op (8 bits) | generation (24 bits) | index (32 bits). */
enum uio_op {
	OP_UDP_RX = 1,
	OP_ACCEPT,
	OP_TCP_RX,
	OP_UDP_TX,
	OP_TCP_TX,
	OP_WAKE,
	OP_IGNORE,	    /* cancellations: their own completion means nothing */
	OP_CONNECT,	    /* idx: connection slot */
	OP_CONNECT_TIMEOUT, /* the link timeout of a connect; idx: connection slot */
};

#define UD(op, gen, idx) \
	(((uint64_t)(op) << 56) | ((uint64_t)((gen)&0xffffff) << 32) | (uint64_t)(uint32_t)(idx))
#define UD_OP(ud)  ((unsigned)((ud) >> 56))
#define UD_GEN(ud) ((uint32_t)(((ud) >> 32) & 0xffffff))
#define UD_IDX(ud) ((uint32_t)(ud))

/* A message to send, copied once: small ones into the slot, larger ones into
 * their own allocation. */
#define UIO_TX_INLINE 1536

struct uio_tx {
	struct uio_tx *next; /* free list, or a connection's queue */
	struct msghdr msg;
	struct iovec iov;
	struct sockaddr_storage to;
	char *buf; /* inline, or malloc'd when len > UIO_TX_INLINE */
	uint32_t len, off;
	uint32_t conn, gen; /* TCP: the connection */
	char inline_buf[UIO_TX_INLINE];
};

static struct io_uring_sqe *get_sqe(struct uio *io)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);
	if (!sqe) {
		/* The SQ is full: hand it to the kernel now and take the next. */
		io_uring_submit(&io->ring);
		sqe = io_uring_get_sqe(&io->ring);
	}
	return sqe;
}

int uio_init(struct uio *io, const struct uio_params *p, const struct uio_ops *ops, void *arg)
{
	memset(io, 0, sizeof(*io));
	io->p = *p;
	io->ops = ops;
	io->arg = arg;
	int ret = uring_queue_init(&io->ring, p->ring_entries, &io->setup_flags);
	if (ret < 0)
		return ret;
	ret = bufring_setup(&io->ring, &io->br, 0, p->rx_buffers, p->rx_buffer_size);
	if (ret < 0) {
		io_uring_queue_exit(&io->ring);
		return ret;
	}
	io->rx_msg.msg_namelen = sizeof(struct sockaddr_storage);

	io->tx = calloc(p->tx_slots, sizeof(*io->tx));
	io->conns = calloc(p->max_conns ? p->max_conns : 1, sizeof(*io->conns));
	io->conn_free = calloc(p->max_conns ? p->max_conns : 1, sizeof(*io->conn_free));
	if (!io->tx || !io->conns || !io->conn_free) {
		uio_fini(io);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < p->tx_slots; i++) {
		io->tx[i].next = io->tx_free;
		io->tx_free = &io->tx[i];
	}
	for (unsigned i = p->max_conns; i-- > 0;) {
		io->conns[i].idx = i;
		io->conns[i].fd = -1;
		io->conn_free[io->nconn_free++] = i;
	}
	if (p->wake_fd >= 0) {
		struct io_uring_sqe *sqe = get_sqe(io);
		io_uring_prep_poll_multishot(sqe, p->wake_fd, POLLIN);
		io_uring_sqe_set_data64(sqe, UD(OP_WAKE, 0, 0));
		io->wake_armed = true;
	}
	return 0;
}

static void conn_free_buffers(struct uio *io, struct uio_conn *c)
{
	while (c->txq_head) {
		struct uio_tx *t = c->txq_head;
		c->txq_head = t->next;
		if (t->buf != t->inline_buf)
			free(t->buf);
		t->next = io->tx_free;
		io->tx_free = t;
		io->tx_used--;
	}
	c->txq_tail = NULL;
	free(c->in);
	c->in = NULL;
	c->inlen = c->incap = 0;
}

void uio_fini(struct uio *io)
{
	if (io->conns) {
		for (unsigned i = 0; i < io->p.max_conns; i++) {
			struct uio_conn *c = &io->conns[i];
			if (c->fd >= 0)
				close(c->fd);
			conn_free_buffers(io, c);
		}
	}
	for (unsigned i = 0; i < io->nudp; i++)
		close(io->udp_fd[i]);
	for (unsigned i = 0; i < io->nlst; i++)
		if (io->lst_fd[i] >= 0)
			close(io->lst_fd[i]);
	if (io->tx)
		for (unsigned i = 0; i < io->p.tx_slots; i++)
			if (io->tx[i].buf && io->tx[i].buf != io->tx[i].inline_buf)
				free(io->tx[i].buf);
	free(io->tx);
	free(io->conns);
	free(io->conn_free);
	if (io->br.br)
		bufring_free(&io->ring, &io->br);
	if (io->ring.ring_fd > 0)
		io_uring_queue_exit(&io->ring);
	memset(io, 0, sizeof(*io));
}

static int arm_udp(struct uio *io, unsigned i)
{
	struct io_uring_sqe *sqe = get_sqe(io);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_recvmsg_multishot(sqe, io->udp_fd[i], &io->rx_msg, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = io->br.bgid;
	io_uring_sqe_set_data64(sqe, UD(OP_UDP_RX, 0, i));
	return 0;
}

int uio_add_udp(struct uio *io, int fd)
{
	if (io->nudp == UIO_MAX_SOCKS)
		return -ENOSPC;
	unsigned i = io->nudp++;
	io->udp_fd[i] = fd;
	int ret = arm_udp(io, i);
	return ret < 0 ? ret : (int)i;
}

static int arm_accept(struct uio *io, unsigned i)
{
	struct io_uring_sqe *sqe = get_sqe(io);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_multishot_accept(sqe, io->lst_fd[i], NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, UD(OP_ACCEPT, 0, i));
	io->lst_armed[i] = true;
	return 0;
}

void uio_tick(struct uio *io)
{
	for (unsigned i = 0; i < io->nlst; i++) {
		if (io->lst_retry[i] && io->lst_fd[i] >= 0 && !io->lst_armed[i]) {
			io->lst_retry[i] = false;
			arm_accept(io, i);
		}
	}
}

int uio_add_listener(struct uio *io, int fd)
{
	if (io->nlst == UIO_MAX_SOCKS)
		return -ENOSPC;
	unsigned i = io->nlst++;
	io->lst_fd[i] = fd;
	int ret = arm_accept(io, i);
	return ret < 0 ? ret : (int)i;
}

void uio_stop_listeners(struct uio *io)
{
	for (unsigned i = 0; i < io->nlst; i++) {
		if (io->lst_fd[i] < 0)
			continue;
		if (io->lst_armed[i]) {
			struct io_uring_sqe *sqe = get_sqe(io);
			if (sqe) {
				io_uring_prep_cancel64(sqe, UD(OP_ACCEPT, 0, i), 0);
				io_uring_sqe_set_data64(sqe, UD(OP_IGNORE, 0, 0));
			}
		}
		/* The accept holds its own reference to the file; closing our fd
		 * stops new connections once the cancellation has run. */
		shutdown(io->lst_fd[i], SHUT_RD);
		close(io->lst_fd[i]);
		io->lst_fd[i] = -1;
	}
}

static struct uio_tx *tx_take(struct uio *io, const struct iovec *iov, unsigned n)
{
	size_t len = 0;
	for (unsigned i = 0; i < n; i++)
		len += iov[i].iov_len;
	if (len > UINT32_MAX)
		return NULL;
	struct uio_tx *t = io->tx_free;
	if (!t) {
		io->cnt.tx_nobufs++;
		return NULL;
	}
	char *buf = t->inline_buf;
	if (len > UIO_TX_INLINE) {
		buf = malloc(len);
		if (!buf) {
			io->cnt.tx_nobufs++;
			return NULL;
		}
	}
	io->tx_free = t->next;
	io->tx_used++;
	t->next = NULL;
	t->buf = buf;
	t->len = (uint32_t)len;
	t->off = 0;
	char *d = buf;
	for (unsigned i = 0; i < n; i++) {
		memcpy(d, iov[i].iov_base, iov[i].iov_len);
		d += iov[i].iov_len;
	}
	return t;
}

static void tx_put(struct uio *io, struct uio_tx *t)
{
	if (t->buf != t->inline_buf)
		free(t->buf);
	t->buf = NULL;
	t->next = io->tx_free;
	io->tx_free = t;
	io->tx_used--;
}

int uio_send_udp(struct uio *io, unsigned sock, const struct sockaddr *to, socklen_t tolen,
		 const struct iovec *iov, unsigned n)
{
	if (sock >= io->nudp || tolen > sizeof(struct sockaddr_storage))
		return -EINVAL;
	size_t len = 0;
	for (unsigned i = 0; i < n; i++)
		len += iov[i].iov_len;
	if (len > 65507)
		return -EMSGSIZE;
	struct uio_tx *t = tx_take(io, iov, n);
	if (!t)
		return -ENOBUFS;
	struct io_uring_sqe *sqe = get_sqe(io);
	if (!sqe) {
		tx_put(io, t);
		io->cnt.tx_nobufs++;
		return -ENOBUFS;
	}
	memcpy(&t->to, to, tolen);
	t->iov = (struct iovec){ t->buf, t->len };
	t->msg = (struct msghdr){
		.msg_name = &t->to, .msg_namelen = tolen, .msg_iov = &t->iov, .msg_iovlen = 1
	};
	io_uring_prep_sendmsg(sqe, io->udp_fd[sock], &t->msg, 0);
	io_uring_sqe_set_data64(sqe, UD(OP_UDP_TX, 0, (uint32_t)(t - io->tx)));
	return 0;
}

/* Start sending the head of c's queue (from its offset). */
static void tcp_send_head(struct uio *io, struct uio_conn *c)
{
	struct uio_tx *t = c->txq_head;
	struct io_uring_sqe *sqe = get_sqe(io);
	if (!sqe) {
		io->cnt.tx_nobufs++;
		uio_close(io, c);
		return;
	}
	io_uring_prep_send(sqe, c->fd, t->buf + t->off, t->len - t->off, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, UD(OP_TCP_TX, c->gen, (uint32_t)(t - io->tx)));
	c->inflight++;
}

int uio_send_tcp(struct uio *io, struct uio_conn *c, const struct iovec *iov, unsigned n)
{
	if (!c->open || c->closing)
		return -EPIPE;
	struct uio_tx *t = tx_take(io, iov, n);
	if (!t)
		return -ENOBUFS;
	t->conn = c->idx;
	t->gen = c->gen;
	bool idle = !c->txq_head;
	if (c->txq_tail)
		c->txq_tail->next = t;
	else
		c->txq_head = t;
	c->txq_tail = t;
	if (idle && !c->connecting)
		tcp_send_head(io, c);
	return 0;
}

struct uio_conn *uio_conn_get(struct uio *io, uint32_t idx, uint32_t gen)
{
	if (idx >= io->p.max_conns)
		return NULL;
	struct uio_conn *c = &io->conns[idx];
	return c->open && (c->gen & 0xffffff) == (gen & 0xffffff) ? c : NULL;
}

static void conn_release(struct uio *io, struct uio_conn *c, int reason)
{
	if (io->ops->tcp_close)
		io->ops->tcp_close(io->arg, c, reason);
	close(c->fd);
	c->fd = -1;
	conn_free_buffers(io, c);
	c->open = c->closing = c->recv_armed = c->aborted = false;
	c->outgoing = c->connecting = false;
	c->gen++;
	io->conn_free[io->nconn_free++] = c->idx;
	io->nconns--;
}

static void conn_maybe_release(struct uio *io, struct uio_conn *c, int reason)
{
	if (c->closing && c->inflight == 0)
		conn_release(io, c, reason);
}

void uio_close(struct uio *io, struct uio_conn *c)
{
	if (!c->open || c->closing)
		return;
	c->closing = true;
	if (c->connecting) {
		/* Abandon the connect: cancelling it (and so its link timeout)
		 * completes it, which releases the slot. When it has completed
		 * already, the cancellation finds nothing and its completion is
		 * on its way. Nothing queued is sent. */
		c->aborted = true;
		struct io_uring_sqe *sqe = get_sqe(io);
		if (sqe) {
			io_uring_prep_cancel64(sqe, UD(OP_CONNECT, c->gen, c->idx), 0);
			io_uring_sqe_set_data64(sqe, UD(OP_IGNORE, 0, 0));
		} else {
			shutdown(c->fd, SHUT_RDWR); /* a SYN_SENT socket: aborts the connect */
		}
		return;
	}
	/* Ends the armed receive (it completes with 0). What is queued is still
	 * sent (a 513 before closing); the write side closes after it. */
	shutdown(c->fd, c->txq_head ? SHUT_RD : SHUT_RDWR);
	conn_maybe_release(io, c, 0);
}

/* A connection in error: stop everything at once. */
static void conn_abort(struct uio *io, struct uio_conn *c, int reason)
{
	if (!c->closing) {
		c->closing = true;
		shutdown(c->fd, SHUT_RDWR);
	}
	c->aborted = true;
	conn_maybe_release(io, c, reason);
}

static int arm_tcp_recv(struct uio *io, struct uio_conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(io);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = io->br.bgid;
	io_uring_sqe_set_data64(sqe, UD(OP_TCP_RX, c->gen, c->idx));
	c->recv_armed = true;
	c->inflight++;
	return 0;
}

/* Connection c is established (accepted, or its connect completed): arm the
 * receive, tell the worker, start what was queued while connecting. */
static void conn_opened(struct uio *io, struct uio_conn *c)
{
	/* Armed before tcp_open: the receive counts as in flight, so a
	 * uio_close() from tcp_open cannot release the slot under our feet. */
	uint32_t gen = c->gen;
	int armed = arm_tcp_recv(io, c);
	if (io->ops->tcp_open)
		io->ops->tcp_open(io->arg, c);
	if (!c->open || c->gen != gen)
		return; /* released from tcp_open (nothing was armed) */
	if (armed < 0)
		uio_close(io, c);
	else if (c->txq_head && !c->aborted)
		tcp_send_head(io, c); /* even if tcp_open closed c: queued sends go first */
}

static void on_accept(struct uio *io, unsigned li, int res, unsigned flags)
{
	if (!(flags & IORING_CQE_F_MORE)) {
		io->lst_armed[li] = false;
		/* After an error (EMFILE, ENFILE, ENOBUFS...) accepting again at
		 * once would spin: uio_tick() re-arms it a little later. */
		if (io->lst_fd[li] >= 0 && res >= 0)
			arm_accept(io, li);
		else if (io->lst_fd[li] >= 0 && res != -ECANCELED)
			io->lst_retry[li] = true;
	}
	if (res < 0) {
		if (res != -ECANCELED)
			io->cnt.accept_errors++;
		return;
	}
	if (io->nconn_free == 0) {
		io->cnt.tcp_refused++;
		close(res);
		return;
	}
	struct uio_conn *c = &io->conns[io->conn_free[--io->nconn_free]];
	io->nconns++;
	c->fd = res;
	c->listener = li;
	c->outgoing = c->connecting = false;
	c->open = true;
	c->closing = false;
	c->inflight = 0;
	c->inlen = 0;
	c->peerlen = sizeof(c->peer);
	if (getpeername(res, (struct sockaddr *)&c->peer, &c->peerlen) < 0)
		c->peerlen = 0;
	int one = 1;
	setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	conn_opened(io, c);
}

/* Keep data[0..len) of c after the callback consumed what it could. */
static int conn_keep(struct uio *io, struct uio_conn *c, const char *data, size_t len)
{
	if (len > io->p.tcp_max_buffer)
		return -EMSGSIZE;
	if (len > c->incap) {
		size_t cap = c->incap ? c->incap : 4096;
		while (cap < len)
			cap *= 2;
		if (cap > io->p.tcp_max_buffer)
			cap = io->p.tcp_max_buffer;
		char *n = malloc(cap);
		if (!n)
			return -ENOMEM;
		memcpy(n, data, len);
		free(c->in);
		c->in = n;
		c->incap = (uint32_t)cap;
	} else {
		memmove(c->in, data, len);
	}
	c->inlen = (uint32_t)len;
	return 0;
}

static void on_tcp_rx(struct uio *io, struct io_uring_cqe *cqe)
{
	struct uio_conn *c = &io->conns[UD_IDX(cqe->user_data)];
	bool more = cqe->flags & IORING_CQE_F_MORE;
	unsigned bid = bufring_bid(cqe);
	bool has_buf = cqe->flags & IORING_CQE_F_BUFFER;
	int res = cqe->res;

	if (!more) {
		c->recv_armed = false;
		c->inflight--;
	}
	if (res <= 0 || c->closing) {
		if (has_buf)
			bufring_recycle(&io->br, bid);
		if (res == -ENOBUFS && !c->closing) {
			io->cnt.rx_nobufs++;
			if (!more && arm_tcp_recv(io, c) == 0)
				return;
		}
		if (!c->closing)
			conn_abort(io, c, res < 0 ? res : 0); /* the peer closed, or an error */
		else
			conn_maybe_release(io, c, 0);
		return;
	}

	char *chunk = (char *)bufring_buf(&io->br, bid);
	ssize_t used;
	int err = 0;
	if (c->inlen == 0) {
		/* The common case: process in place, keep only a partial tail. */
		used = io->ops->tcp(io->arg, c, chunk, (size_t)res);
		if (used >= 0 && (size_t)used < (size_t)res && c->open && !c->closing)
			err = conn_keep(io, c, chunk + used, (size_t)res - (size_t)used);
	} else {
		size_t need = (size_t)c->inlen + (size_t)res;
		if (need > io->p.tcp_max_buffer) {
			err = -EMSGSIZE;
			used = 0;
		} else {
			if (need > c->incap) {
				size_t cap = c->incap * 2 > need ? c->incap * 2 : need;
				if (cap > io->p.tcp_max_buffer)
					cap = io->p.tcp_max_buffer;
				char *n = realloc(c->in, cap);
				if (!n) {
					err = -ENOMEM;
					goto out;
				}
				c->in = n;
				c->incap = (uint32_t)cap;
			}
			memcpy(c->in + c->inlen, chunk, (size_t)res);
			c->inlen = (uint32_t)need;
			used = io->ops->tcp(io->arg, c, c->in, c->inlen);
			if (used >= 0 && c->open && !c->closing)
				err = conn_keep(io, c, c->in + used, c->inlen - (size_t)used);
		}
	}
	if (used < 0)
		err = -EPROTO;
out:
	bufring_recycle(&io->br, bid);
	if (!c->open)
		return; /* closed and released by the callback */
	if (err) {
		if (err == -EMSGSIZE)
			io->cnt.tcp_overflow++;
		uio_close(io, c);
		return;
	}
	if (!more && c->open && !c->closing && arm_tcp_recv(io, c) < 0)
		uio_close(io, c);
}

static void on_udp_rx(struct uio *io, struct io_uring_cqe *cqe)
{
	unsigned i = UD_IDX(cqe->user_data);
	bool more = cqe->flags & IORING_CQE_F_MORE;
	if (cqe->res >= 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
		unsigned bid = bufring_bid(cqe);
		void *buf = bufring_buf(&io->br, bid);
		struct io_uring_recvmsg_out *o =
			io_uring_recvmsg_validate(buf, cqe->res, &io->rx_msg);
		if (o) {
			char *payload = io_uring_recvmsg_payload(o, &io->rx_msg);
			size_t len = io_uring_recvmsg_payload_length(o, cqe->res, &io->rx_msg);
			socklen_t namelen = o->namelen < sizeof(struct sockaddr_storage)
						    ? o->namelen
						    : (socklen_t)sizeof(struct sockaddr_storage);
			io->ops->udp(io->arg, i, io_uring_recvmsg_name(o), namelen, payload, len,
				     (o->flags & MSG_TRUNC) != 0);
		}
		bufring_recycle(&io->br, bid);
	} else if (cqe->res == -ENOBUFS) {
		io->cnt.rx_nobufs++;
	}
	if (!more && cqe->res != -ECANCELED)
		arm_udp(io, i);
}

static void on_tx(struct uio *io, struct io_uring_cqe *cqe, bool tcp)
{
	struct uio_tx *t = &io->tx[UD_IDX(cqe->user_data)];
	if (!tcp) {
		if (cqe->res < 0)
			io->cnt.tx_errors++;
		tx_put(io, t);
		return;
	}
	struct uio_conn *c = &io->conns[t->conn];
	c->inflight--;
	if (cqe->res <= 0 || c->aborted) {
		if (cqe->res < 0 && cqe->res != -ECANCELED)
			io->cnt.tx_errors++;
		conn_abort(io, c, cqe->res < 0 ? cqe->res : 0);
		return;
	}
	t->off += (uint32_t)cqe->res;
	if (t->off < t->len) {
		tcp_send_head(io, c); /* a partial send: the rest */
		return;
	}
	c->txq_head = t->next;
	if (!c->txq_head)
		c->txq_tail = NULL;
	tx_put(io, t);
	if (c->txq_head) {
		tcp_send_head(io, c);
	} else if (c->closing) {
		shutdown(c->fd, SHUT_RDWR); /* the last queued octets are out */
		conn_maybe_release(io, c, 0);
	}
}

static void on_wake(struct uio *io, struct io_uring_cqe *cqe)
{
	if (!(cqe->flags & IORING_CQE_F_MORE))
		io->wake_armed = false;
	uint64_t v;
	while (read(io->p.wake_fd, &v, sizeof(v)) == sizeof(v))
		;
	if (io->ops->wake)
		io->ops->wake(io->arg);
	if (!io->wake_armed) {
		struct io_uring_sqe *sqe = get_sqe(io);
		if (sqe) {
			io_uring_prep_poll_multishot(sqe, io->p.wake_fd, POLLIN);
			io_uring_sqe_set_data64(sqe, UD(OP_WAKE, 0, 0));
			io->wake_armed = true;
		}
	}
}

/* Room for n SQEs in a row (a linked chain must not be cut by a submit). */
static bool sq_reserve(struct uio *io, unsigned n)
{
	if (io_uring_sq_space_left(&io->ring) < n)
		io_uring_submit(&io->ring);
	return io_uring_sq_space_left(&io->ring) >= n;
}

struct uio_conn *uio_connect(struct uio *io, const struct sockaddr *to, socklen_t tolen, int *err)
{
	if (tolen < sizeof(sa_family_t) || tolen > sizeof(struct sockaddr_storage)) {
		*err = -EINVAL;
		return NULL;
	}
	unsigned nsqe = io->p.connect_timeout_ms ? 2 : 1;
	if (io->nconn_free == 0 || !sq_reserve(io, nsqe)) {
		*err = -ENOBUFS;
		return NULL;
	}
	int fd = socket(to->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	struct uio_conn *c = &io->conns[io->conn_free[--io->nconn_free]];
	io->nconns++;
	c->fd = fd;
	c->listener = ~0u;
	c->outgoing = c->connecting = true;
	c->open = true;
	c->closing = c->aborted = c->recv_armed = false;
	c->inflight = 0;
	c->inlen = 0;
	memcpy(&c->peer, to, tolen);
	c->peerlen = tolen;

	/* sq_reserve() made room: these do not fail, and they stay adjacent. */
	struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);
	io_uring_prep_connect(sqe, fd, (struct sockaddr *)&c->peer, c->peerlen);
	io_uring_sqe_set_data64(sqe, UD(OP_CONNECT, c->gen, c->idx));
	c->inflight++;
	if (io->p.connect_timeout_ms) {
		/* Not counted in inflight: its completion carries nothing (the
		 * connect's says how it ended) and may come after the slot was
		 * released; the generation then tells it apart from a reuse. */
		sqe->flags |= IOSQE_IO_LINK;
		c->connect_ts = (struct __kernel_timespec){
			.tv_sec = io->p.connect_timeout_ms / 1000,
			.tv_nsec = (long long)(io->p.connect_timeout_ms % 1000) * 1000000
		};
		sqe = io_uring_get_sqe(&io->ring);
		io_uring_prep_link_timeout(sqe, &c->connect_ts, 0);
		io_uring_sqe_set_data64(sqe, UD(OP_CONNECT_TIMEOUT, c->gen, c->idx));
	}
	io->cnt.tcp_connects++;
	return c;
}

static void on_connect(struct uio *io, struct io_uring_cqe *cqe)
{
	struct uio_conn *c = &io->conns[UD_IDX(cqe->user_data)];
	if (!c->open || !c->connecting || (c->gen & 0xffffff) != UD_GEN(cqe->user_data))
		return; /* cannot happen: the connect holds the slot until it completes */
	c->inflight--;
	int res = cqe->res;
	if (c->closing) {
		/* Abandoned by uio_close() (cancelled, or it completed first). */
		conn_maybe_release(io, c, 0);
		return;
	}
	if (res < 0) {
		/* Nothing but the link timeout cancels a connect we still want. */
		if (res == -ECANCELED)
			res = -ETIMEDOUT;
		io->cnt.tcp_connect_failures++;
		conn_abort(io, c, res); /* drops the queue; released: nothing in flight */
		return;
	}
	c->connecting = false;
	conn_opened(io, c);
}

int uio_wait(struct uio *io, int timeout_ms)
{
	struct io_uring_cqe *cqe;
	int ret;
	if (timeout_ms < 0) {
		ret = io_uring_submit_and_wait(&io->ring, 1);
	} else if (timeout_ms == 0) {
		ret = io_uring_submit(&io->ring);
	} else {
		struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000,
						.tv_nsec =
							(long long)(timeout_ms % 1000) * 1000000 };
		ret = io_uring_submit_and_wait_timeout(&io->ring, &cqe, 1, &ts, NULL);
	}
	if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EBUSY)
		return ret;

	int handled = 0;
	for (;;) {
		unsigned head, n = 0;
		io_uring_for_each_cqe(&io->ring, head, cqe)
		{
			n++;
			uint64_t ud = cqe->user_data;
			switch (UD_OP(ud)) {
			case OP_UDP_RX:
				on_udp_rx(io, cqe);
				break;
			case OP_ACCEPT:
				on_accept(io, UD_IDX(ud), cqe->res, cqe->flags);
				break;
			case OP_TCP_RX:
				on_tcp_rx(io, cqe);
				break;
			case OP_UDP_TX:
				on_tx(io, cqe, false);
				break;
			case OP_TCP_TX:
				on_tx(io, cqe, true);
				break;
			case OP_WAKE:
				on_wake(io, cqe);
				break;
			case OP_CONNECT:
				on_connect(io, cqe);
				break;
			case OP_CONNECT_TIMEOUT:
				/* -ETIME: it fired, and the connect completes with
				 * -ECANCELED; -ECANCELED: the connect ended first.
				 * Either way the connect's completion decides. */
				break;
			default:
				break;
			}
		}
		io_uring_cq_advance(&io->ring, n);
		handled += (int)n;
		/* Completions may have queued sends and re-arms; when more
		 * completions are already waiting, handle them before sleeping. */
		if (n == 0 || !io_uring_cq_ready(&io->ring))
			break;
	}
	return handled;
}
