/* SPDX-License-Identifier: MIT */
/*
 * bufring.h: a provided-buffer ring for io_uring receives, and the check that
 * io_uring is usable at all.
 *
 * A multishot receive (IORING_RECV_MULTISHOT, recvmsg or recv with
 * IOSQE_BUFFER_SELECT) takes a buffer from a ring the application registered
 * with the kernel, one per completion; the completion says which (bid, in the
 * cqe flags). The application hands the buffer back when it is done with what
 * was received there (the parsed message points into it).
 *
 * liburing 2.3 (Debian 12) lacks io_uring_setup_buf_ring() (2.4): this is the
 * small helper that does its work with what 2.3 has: mmap the ring memory,
 * io_uring_register_buf_ring(), io_uring_buf_ring_init() and add every buffer.
 *
 *   ring memory (entries x 16 octets, page aligned, shared with the kernel)
 *   ┌──────┬──────┬──────┬─────┐   each entry {addr, len, bid}; the tail is in
 *   │ bid0 │ bid1 │ ...  │     │   entry 0's spare field; the kernel consumes
 *   └──────┴──────┴──────┴─────┘   from its head, we add at the tail
 *   buffers: entries x buf_size octets, one block
 *
 * Ownership: a struct bufring belongs to the thread that owns the io_uring; the
 * buffers are the bufring's, lent to the kernel until a completion names them
 * and to the application until bufring_recycle().
 */
#ifndef SIPRING_BUFRING_H
#define SIPRING_BUFRING_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bufring {
	struct io_uring_buf_ring *br;
	uint8_t *bufs;	   /* entries * buf_size octets */
	uint32_t buf_size; /* octets per buffer */
	uint16_t entries;  /* a power of two, <= 32768 */
	uint16_t bgid;	   /* buffer group id given to the SQEs */
	size_t ring_bytes; /* of the mmap'd ring memory */
};

/*
 * Register a buffer ring of `entries` buffers of `buf_size` octets as group
 * bgid on ring, every buffer given to the kernel. Returns 0, -EINVAL (entries
 * not a power of two or above 32768), -ENOMEM, or the kernel's error
 * (-EINVAL/-ENOENT: provided-buffer rings are unsupported, kernel < 5.19).
 */
int bufring_setup(struct io_uring *ring, struct bufring *b, uint16_t bgid, unsigned entries,
		  uint32_t buf_size);

/* Unregister and free (the ring must have no receive in flight using it). */
void bufring_free(struct io_uring *ring, struct bufring *b);

/* The buffer with id bid. */
static inline uint8_t *bufring_buf(const struct bufring *b, unsigned bid)
{
	return b->bufs + (size_t)bid * b->buf_size;
}

/* The buffer id a completion used (when cqe->flags has IORING_CQE_F_BUFFER). */
static inline unsigned bufring_bid(const struct io_uring_cqe *cqe)
{
	return cqe->flags >> IORING_CQE_BUFFER_SHIFT;
}

/* Give buffer bid back to the kernel. */
static inline void bufring_recycle(struct bufring *b, unsigned bid)
{
	io_uring_buf_ring_add(b->br, bufring_buf(b, bid), b->buf_size, (unsigned short)bid,
			      io_uring_buf_ring_mask(b->entries), 0);
	io_uring_buf_ring_advance(b->br, 1);
}

/*
 * Check that io_uring can be used here and with what this program needs
 * (multishot receive, provided-buffer rings): returns 0, or a negative errno
 * with a sentence for a person in why[0..len): io_uring disabled by the sysctl
 * kernel.io_uring_disabled, refused by seccomp or a container policy (EPERM,
 * ENOSYS), or a kernel too old.
 */
int uring_check(char *why, size_t len);

/*
 * io_uring_queue_init_params() with the flags a per-core loop wants:
 * IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN (kernel 6.1) when the
 * kernel has them, else IORING_SETUP_COOP_TASKRUN, else none. *flags_used says
 * which were kept. Call it on the thread that will submit. Returns 0 or -errno.
 */
int uring_queue_init(struct io_uring *ring, unsigned entries, unsigned *flags_used);

#endif
