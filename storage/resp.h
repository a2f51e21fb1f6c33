/* SPDX-License-Identifier: MIT */
/*
 * resp.h: the output side of a Redis connection: a buffer of RESP commands not
 * yet written to the socket, the writers that append to it, and the write of
 * it to a non-blocking socket.
 *
 * Shared by the modules that talk to Redis through a non-blocking hiredis
 * redisContext without the async layer (cdr_flusher.c, location_redis.c,
 * domain_redis.c): hiredis reads the replies, but the commands go through
 * this buffer, not hiredis' obuf, which moves its whole remainder after every
 * partial write (quadratic with a deep pipeline). Pending octets are
 * buf[head..len); an append that does not fit first moves them to the front,
 * then grows the buffer (first to first_cap, then doubling).
 *
 * A command is "*<argc>\r\n" (resp_hdr(o, '*', argc)) followed by argc bulk
 * strings "$<len>\r\n<octets>\r\n" (resp_bulk / resp_str / resp_num, or
 * resp_hdr(o, '$', len) and resp_out_append() pieces for one built in place).
 *
 * Ownership: struct resp_out is embedded in its user, zeroed but for
 * first_cap; the buffer is allocated on the first append and freed by
 * resp_out_free(). Not thread-safe: one owner thread.
 *
 * Errors: the appends return 0 or -ENOMEM; a failed resp_out_append() leaves
 * the buffer as it was, but a command can be left partly appended, so the
 * caller drops the connection (and resets the buffer) on any failure.
 * resp_out_send() returns 0 when all is written (the buffer is then empty),
 * -EAGAIN when the socket is full, or -errno from send().
 */
#ifndef SIPRING_RESP_H
#define SIPRING_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct resp_out {
	char *buf;
	size_t head, len, cap;
	size_t first_cap; /* the first allocation, set by the owner */
};

/* Append n octets as they are. */
int resp_out_append(struct resp_out *o, const char *p, size_t n);
/* "<kind><n>\r\n": kind '*' starts a command of n arguments, '$' a bulk string of n octets. */
int resp_hdr(struct resp_out *o, char kind, size_t n);
/* One bulk string argument. */
int resp_bulk(struct resp_out *o, const char *p, size_t n);
int resp_str(struct resp_out *o, const char *s);
int resp_num(struct resp_out *o, int64_t v); /* in decimal */

/* Octets appended and not yet written. */
static inline bool resp_out_pending(const struct resp_out *o)
{
	return o->head < o->len;
}

/* Forget what is not yet written (the connection is gone). */
static inline void resp_out_reset(struct resp_out *o)
{
	o->head = o->len = 0;
}

/* Write what is pending to fd (send(MSG_NOSIGNAL), retried on EINTR). */
int resp_out_send(struct resp_out *o, int fd);

void resp_out_free(struct resp_out *o);

#endif
